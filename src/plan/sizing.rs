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
                        "run `{}` in a task of its own with one copy, or use a managed database with `x-ecs: {{external: \"host:port\"}}`",
                        service.name
                    )),
                );
        }
    }
    highest
}

/// The smallest Fargate size that holds what the containers ask for (the larger of limit and
/// reservation; a container with neither counts for nothing).
pub(super) fn size(cx: &mut Context, task: &str, members: &[&Service]) -> TaskSize {
    let cpu: f64 = members
        .iter()
        .map(|s| s.resources.cpu_limit.or(s.resources.cpu_reservation).unwrap_or(0.0))
        .sum();
    let memory: u64 = members
        .iter()
        .map(|s| {
            let r = &s.resources;
            r.memory_limit_mib.max(r.memory_reservation_mib).unwrap_or(0)
        })
        .sum();
    let cpu_units = units::ceil_u32(cpu * 1024.0);
    let memory = u32::try_from(memory).unwrap_or(u32::MAX);
    match fargate::smallest_fit(cpu_units, memory) {
        Some((task_cpu, task_memory)) => {
            let reason = if cpu_units == 0 && memory == 0 {
                "no deploy.resources: the smallest Fargate size".to_string()
            } else {
                format!("the containers ask for {cpu_units} CPU units and {memory} MiB: the smallest Fargate size that fits")
            };
            TaskSize {
                cpu: task_cpu,
                memory: task_memory,
                reason,
            }
        }
        None => {
            cx.diagnostics.push(Diagnostic::error(
                    Code::TooBigForFargate,
                    members[0].path.key("deploy").key("resources"),
                    format!("task `{task}` asks for {cpu_units} CPU units and {memory} MiB; the largest Fargate task has 16384 units and 122880 MiB"),
                ).with_help("lower `deploy.resources`, or split the services into separate tasks"));
            TaskSize {
                cpu: 0,
                memory: 0,
                reason: "too big for Fargate".to_string(),
            }
        }
    }
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
        let (fit, codes) = run(&project, |cx| size(cx, "t", &members(&project)));
        // 512 units and 1,300 MiB: 0.5 vCPU takes 1, 2, 3 or 4 GiB.
        assert_eq!((fit.cpu, fit.memory), (512, 2048));
        assert!(fit.reason.contains("512 CPU units and 1300 MiB"), "{}", fit.reason);
        assert!(codes.is_empty());

        let bare = crate::plan::testing::project("services:\n  a: {image: a}\n");
        let (smallest, _) = run(&bare, |cx| size(cx, "t", &members(&bare)));
        assert_eq!((smallest.cpu, smallest.memory), (256, 512));
    }

    #[test]
    fn more_than_fargate_has_is_refused() {
        let project = project("services:\n  a: {image: a, deploy: {resources: {limits: {cpus: '32'}}}}\n");
        let (_, codes) = run(&project, |cx| size(cx, "t", &members(&project)));
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
