//! Sizing: how many copies a task runs and the Fargate size that holds its containers.

use super::*;
use crate::diagnostic::Code;

/// How many copies of the task run: the most any of its services asks for, with a word when
/// they differ and when a stateful image would be copied.
pub(super) fn desired_count(cx: &mut Context, members: &[&Service]) -> u32 {
    let counts: Vec<(u32, &KeyPath, &str)> = members
        .iter()
        .filter_map(|s| s.replicas.as_ref().map(|r| (r.count, &r.path, s.name.as_str())))
        .collect();
    let highest = counts.iter().map(|(c, _, _)| *c).max().unwrap_or(1);
    if let Some((_, path, _)) = counts.iter().find(|(c, _, _)| *c != highest) {
        let names: Vec<String> = counts.iter().map(|(c, _, n)| format!("{n}: {c}")).collect();
        cx.diagnostics.push(
            Diagnostic::warning(
                Code::ReplicasDiffer,
                (*path).clone(),
                format!(
                    "services in one task run the same number of copies; the task runs {highest} ({})",
                    names.join(", ")
                ),
            )
            .with_help("give the services of a task the same `deploy.replicas`, or put them in separate tasks"),
        );
    }
    if highest > 1 {
        let scaled_by = counts
            .iter()
            .find(|(c, _, _)| *c == highest)
            .map(|(_, path, name)| (*path, *name));
        for service in members
            .iter()
            .filter(|s| s.image.as_deref().is_some_and(wellknown::is_stateful_image))
        {
            let (path, why) = match scaled_by {
                Some((_, name)) if name != service.name => (
                    service.path.key("image"),
                    format!("it shares a task with `{name}`, which runs {highest} copies"),
                ),
                Some((path, _)) => (path.clone(), format!("it runs {highest} copies")),
                None => (service.path.key("image"), format!("its task runs {highest} copies")),
            };
            cx.diagnostics.push(
                    Diagnostic::warning(
                        Code::StatefulScaled,
                        path,
                        format!(
                            "`{}` runs `{}`, which keeps state, and {why}: each copy gets a database of its own",
                            service.name,
                            service.image.as_deref().unwrap_or_default()
                        ),
                    )
                    .with_help(format!(
                        "run `{}` in a task of its own with one copy, or make it a managed database with `x-ecs: {{managed: true}}` (see the README's \"Databases in production\")",
                        service.name
                    )),
                );
        }
    }
    highest
}

/// The smallest Fargate size that holds what the containers need: what each declares (the larger
/// of limit and reservation), else its JVM heap with the JVM's overhead, else its image's
/// documented minimum, else a default share; a note says which containers declared nothing.
/// ECS's Service Connect proxy runs in the task beside the containers, from the task's memory:
/// ECS asks for at least 64 MiB for it (and 256 CPU units, which are not added here: short of CPU
/// the task is slower, short of memory it is killed).
pub const PROXY_MIB: u64 = 64;

/// The task's size: the smallest Fargate size that holds what its containers need, and its
/// Service Connect proxy when it has one.
pub(super) fn size(cx: &mut Context, task: &str, members: &[&Service], proxy: bool) -> TaskSize {
    let cpu: f64 = members
        .iter()
        .map(|s| s.resources.cpu_limit.or(s.resources.cpu_reservation).unwrap_or(0.0))
        .sum();
    let needs: Vec<MemoryNeed> = members.iter().map(|s| memory_need(cx, s)).collect();
    let memory: u64 = needs.iter().map(|n| n.mib).sum::<u64>() + if proxy { PROXY_MIB } else { 0 };
    let cpu_units = units::ceil_u32(cpu * 1024.0);
    let memory = u32::try_from(memory).unwrap_or(u32::MAX);
    let Some((task_cpu, task_memory)) = fargate::smallest_fit(cpu_units, memory) else {
        cx.diagnostics.push(Diagnostic::error(
                Code::TooBigForFargate,
                members[0].path.key("deploy").key("resources"),
                format!("task `{task}` asks for {cpu_units} CPU units and {memory} MiB; the largest Fargate task has 16384 units and 122880 MiB"),
            ).with_help("lower `deploy.resources`, or split the services into separate tasks"));
        return TaskSize {
            cpu: 0,
            memory: 0,
            reason: "too big for Fargate".to_string(),
        };
    };
    let guessed: Vec<String> = members
        .iter()
        .zip(&needs)
        .filter(|(_, need)| need.source != NeedSource::Declared)
        .map(|(service, need)| format!("`{}` {} MiB ({})", service.name, need.mib, need.source.words()))
        .collect();
    if !guessed.is_empty() {
        cx.diagnostics.push(
            Diagnostic::note(
                Code::SizeDefault,
                members[0].path.clone(),
                format!(
                    "task `{task}` is {task_cpu} CPU units and {task_memory} MiB, from what its containers need; without `deploy.resources`: {}{}",
                    guessed.join(", "),
                    if proxy { format!("; and {PROXY_MIB} MiB for the Service Connect proxy") } else { String::new() }
                ),
            )
            .with_help("give each service `deploy.resources.limits` (`cpus`, `memory`) to size the task yourself"),
        );
    }
    let smallest = fargate::smallest_fit(0, 0) == Some((task_cpu, task_memory));
    let with_proxy = if proxy {
        format!(" (with {PROXY_MIB} MiB for the Service Connect proxy)")
    } else {
        String::new()
    };
    let reason = if cpu_units == 0 && guessed.len() == members.len() && smallest {
        format!("no deploy.resources: the smallest Fargate size{with_proxy}")
    } else {
        format!("the containers need {cpu_units} CPU units and {memory} MiB{with_proxy}: the smallest Fargate size that fits")
    };
    TaskSize {
        cpu: task_cpu,
        memory: task_memory,
        reason,
    }
}

/// The memory (MiB) a container that declares none counts for: a share of the smallest Fargate
/// task, so that several of them make the task bigger.
const DEFAULT_CONTAINER_MIB: u64 = 256;

/// The JVM's memory beyond its heap (metaspace, threads, code cache, buffers), in MiB: a quarter of
/// the heap, and at least this much.
const JVM_OVERHEAD_MIB: u64 = 256;

/// Environment variables whose value holds JVM options.
const JVM_OPTION_VARIABLES: &[&str] = &[
    "JAVA_OPTS",
    "JAVA_OPTIONS",
    "_JAVA_OPTIONS",
    "JAVA_TOOL_OPTIONS",
    "JVM_OPTS",
    "ES_JAVA_OPTS",
    "OPENSEARCH_JAVA_OPTS",
    "LS_JAVA_OPTS",
    "KAFKA_HEAP_OPTS",
    "KAFKA_OPTS",
    "CATALINA_OPTS",
    "SONAR_WEB_JAVAOPTS",
    "MAX_HEAP_SIZE",
];

/// How much memory a container needs, and how that was found.
struct MemoryNeed {
    mib: u64,
    source: NeedSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NeedSource {
    Declared,
    /// The largest `-Xmx`/`-Xms` it is given, plus the JVM's overhead.
    Heap(u64),
    Image,
    Default,
}

impl NeedSource {
    fn words(self) -> String {
        match self {
            NeedSource::Declared => "declared".to_string(),
            NeedSource::Heap(heap) => format!("a {heap} MiB JVM heap and its overhead"),
            NeedSource::Image => "its image's documented minimum".to_string(),
            NeedSource::Default => "a default share".to_string(),
        }
    }
}

/// What `service` needs; a heap larger than its declared limit is an error, at the heap's flag.
fn memory_need(cx: &mut Context, service: &Service) -> MemoryNeed {
    let resources = &service.resources;
    let declared = resources.memory_limit_mib.max(resources.memory_reservation_mib);
    let heap = largest_heap(service);
    if let (Some((heap, path)), Some(limit)) = (&heap, resources.memory_limit_mib) {
        if *heap > limit {
            cx.diagnostics.push(
                Diagnostic::error(
                    Code::HeapOverLimit,
                    path.clone(),
                    format!("`{}` gives the JVM a {heap} MiB heap, more than its {limit} MiB memory limit: the container is killed when the heap fills", service.name),
                )
                .with_help("lower `-Xmx`, or raise the memory limit to the heap plus a quarter (the JVM's own memory)"),
            );
        }
    }
    if let Some(mib) = declared {
        return MemoryNeed {
            mib,
            source: NeedSource::Declared,
        };
    }
    if let Some((heap, _)) = heap {
        return MemoryNeed {
            mib: heap + (heap / 4).max(JVM_OVERHEAD_MIB),
            source: NeedSource::Heap(heap),
        };
    }
    if let Some(mib) = service.image.as_deref().and_then(wellknown::image_memory_mib) {
        return MemoryNeed {
            mib: u64::from(mib),
            source: NeedSource::Image,
        };
    }
    MemoryNeed {
        mib: DEFAULT_CONTAINER_MIB,
        source: NeedSource::Default,
    }
}

/// The largest JVM heap (`-Xmx`, else `-Xms`; `MAX_HEAP_SIZE=2G` as Cassandra writes it) in the
/// service's JVM option variables and command, in MiB, with where it is written.
fn largest_heap(service: &Service) -> Option<(u64, KeyPath)> {
    let from_variables = service
        .environment
        .iter()
        .filter(|v| JVM_OPTION_VARIABLES.contains(&v.name.as_str()))
        .filter_map(|v| {
            let heap = if v.name == "MAX_HEAP_SIZE" {
                heap_mib(v.value.trim())
            } else {
                heap_in(&v.value)
            };
            heap.map(|h| (h, v.path.clone()))
        });
    let from_command = service
        .command
        .iter()
        .flatten()
        .enumerate()
        .filter_map(|(index, argument)| heap_in(argument).map(|h| (h, service.path.key("command").index(index))));
    from_variables.chain(from_command).max_by_key(|(heap, _)| *heap)
}

/// The heap that JVM options set: the largest `-Xmx`, else the largest `-Xms`.
fn heap_in(options: &str) -> Option<u64> {
    let flag = |prefix: &str| {
        options
            .split_whitespace()
            .filter_map(|word| word.strip_prefix(prefix).and_then(heap_mib))
            .max()
    };
    flag("-Xmx").or_else(|| flag("-Xms"))
}

/// A JVM memory size (`1024m`, `2g`, `512M`, `1048576k`, bytes) in MiB, rounded up.
fn heap_mib(size: &str) -> Option<u64> {
    let (digits, unit) = size.split_at(size.find(|c: char| !c.is_ascii_digit()).unwrap_or(size.len()));
    let number: u64 = digits.parse().ok()?;
    let bytes = match unit.to_ascii_lowercase().as_str() {
        "" => number,
        "k" | "kb" => number.checked_mul(1024)?,
        "m" | "mb" => number.checked_mul(1024 * 1024)?,
        "g" | "gb" => number.checked_mul(1024 * 1024 * 1024)?,
        _ => return None,
    };
    Some(bytes.div_ceil(1024 * 1024))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::{project, run};

    fn members(project: &Project) -> Vec<&Service> {
        project.services.iter().collect()
    }

    #[test]
    fn the_smallest_fargate_size_that_holds_the_containers() {
        let project = project(
            "services:\n  a: {image: a, deploy: {resources: {limits: {cpus: '0.5', memory: 700M}}}}\n  \
             b: {image: b, deploy: {resources: {reservations: {memory: 600M}}}}\n",
        );
        let (fit, codes) = run(&project, |cx| size(cx, "t", &members(&project), false));
        // 512 units and 1,300 MiB: 0.5 vCPU takes 1, 2, 3 or 4 GiB.
        assert_eq!((fit.cpu, fit.memory), (512, 2048));
        assert!(fit.reason.contains("512 CPU units and 1300 MiB"), "{}", fit.reason);
        assert!(codes.is_empty());

        let bare = crate::plan::testing::project("services:\n  a: {image: a}\n");
        let (smallest, _) = run(&bare, |cx| size(cx, "t", &members(&bare), false));
        assert_eq!((smallest.cpu, smallest.memory), (256, 512));

        // The Service Connect proxy's 64 MiB tip a task of two containers over 512 MiB.
        let pair = crate::plan::testing::project("services:\n  a: {image: a}\n  b: {image: b}\n");
        let (alone, _) = run(&pair, |cx| size(cx, "t", &members(&pair), false));
        assert_eq!((alone.cpu, alone.memory), (256, 512));
        let (proxied, _) = run(&pair, |cx| size(cx, "t", &members(&pair), true));
        assert_eq!((proxied.cpu, proxied.memory), (256, 1024));
        assert!(
            proxied.reason.contains("64 MiB for the Service Connect proxy"),
            "{}",
            proxied.reason
        );
    }

    #[test]
    fn jvm_heaps_are_read_from_options_and_commands() {
        assert_eq!(heap_in("-Xms1024m -Xmx2g -Dx=y"), Some(2048));
        assert_eq!(heap_in("-Xms512M"), Some(512));
        assert_eq!(heap_in("-Xmx1048576k"), Some(1024));
        assert_eq!(heap_in("-Xss1m -XX:+UseG1GC"), None);
        assert_eq!(heap_in("-Xmx99999999999999999999g"), None);
        assert_eq!(heap_mib("2G"), Some(2048));
    }

    #[test]
    fn a_task_without_resources_is_sized_from_heaps_images_and_a_default_share() {
        let project = project(
            "services:\n  es: {image: elasticsearch:7.14.2, environment: [discovery.type=single-node, \"ES_JAVA_OPTS=-Xms1024m -Xmx1024m\"], x-ecs: {task: t}}\n  \
             kafka: {image: confluentinc/cp-server:8.2.0, x-ecs: {task: t}}\n  \
             web: {image: nginx, x-ecs: {task: t}}\n  \
             app: {image: app, command: [java, -Xmx3g, -jar, app.jar], x-ecs: {task: t}}\n",
        );
        let (fit, codes) = run(&project, |cx| size(cx, "t", &members(&project), false));
        // 1024 + 256 (es) + 2048 (cp-server) + 256 (nginx) + 3072 + 768 (app) = 7424 MiB.
        assert!(fit.reason.contains("7424 MiB"), "{}", fit.reason);
        assert_eq!((fit.cpu, fit.memory), (1024, 8192));
        assert_eq!(codes, [Code::SizeDefault]);
    }

    #[test]
    fn a_heap_over_the_memory_limit_is_refused_at_the_flag() {
        let project = project(
            "services:\n  es:\n    image: elasticsearch:8\n    mem_limit: 1g\n    environment:\n      ES_JAVA_OPTS: -Xmx2g\n",
        );
        let (_, diagnostics) = {
            let known = crate::load::stack_outputs::SavedOutputs::empty();
            let mut diagnostics = Diagnostics::default();
            let _ = plan(&project, &known, &mut diagnostics);
            ((), diagnostics)
        };
        let heap = diagnostics
            .iter()
            .find(|d| d.code == Code::HeapOverLimit)
            .expect("an error");
        assert_eq!(heap.path.to_string(), "services.es.environment.ES_JAVA_OPTS");
    }

    #[test]
    fn more_than_fargate_has_is_refused() {
        let project = project("services:\n  a: {image: a, deploy: {resources: {limits: {cpus: '32'}}}}\n");
        let (_, codes) = run(&project, |cx| size(cx, "t", &members(&project), false));
        assert_eq!(codes, vec![Code::TooBigForFargate]);
    }

    #[test]
    fn a_task_runs_the_most_copies_any_service_asks_for() {
        let project = project(
            "services:\n  web: {image: nginx, deploy: {replicas: 3}}\n  db: {image: postgres:16, deploy: {replicas: 1}}\n",
        );
        let (count, codes) = run(&project, |cx| desired_count(cx, &members(&project)));
        assert_eq!(count, 3);
        assert_eq!(codes, vec![Code::ReplicasDiffer, Code::StatefulScaled]);
    }
}
