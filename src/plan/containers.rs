//! Containers: each service's container definition (image, dependencies, health check, capabilities).

use super::*;
use crate::diagnostic::Code;
use std::collections::HashSet;

/// The containers of one task, in compose order. A container that another of the task waits
/// for to complete (`service_completed_successfully`) runs once and exits, so it is not essential.
pub(super) fn of_task(cx: &mut Context, task: &GroupedTask, grouping: &Grouping) -> Vec<Container> {
    let mut containers: Vec<Container> = task
        .members
        .iter()
        .map(|service| container(cx, service, grouping))
        .collect();
    let one_shots: BTreeSet<String> = containers
        .iter()
        .flat_map(|c| c.depends_on.iter())
        .filter(|(_, condition)| *condition == Condition::ServiceCompletedSuccessfully)
        .map(|(name, _)| name.clone())
        .collect();
    for container in &mut containers {
        if one_shots.contains(&container.name) {
            container.essential = false;
        }
    }
    mounts::unique_task_storage_names(&mut containers);
    containers
}

fn container(cx: &mut Context, service: &Service, grouping: &Grouping) -> Container {
    let image = image(cx, service);
    ports::check_published_ranges(cx, service);
    // One mapping per container port and protocol, however often compose lists it.
    let mut mapped: HashSet<(u16, Protocol)> = HashSet::new();
    let port_mappings: Vec<PortMapping> = service
        .ports
        .iter()
        .filter(|port| mapped.insert((port.target, port.protocol)))
        .map(|port| port_mapping(&service.name, port.target, port.protocol))
        .collect();
    let depends_on = depends_on(cx, service, grouping);
    let (mounts, tmpfs) = mounts::mounts(cx, service);
    let volumes_from = mounts::volumes_from(cx, service, grouping);
    let health_check = service.healthcheck.as_ref().map(|h| health_check(cx, h));
    let capabilities_add = capabilities_add(cx, service);
    let resources = service.resources;
    Container {
        name: container_name(&service.name),
        service: service.name.clone(),
        grouping: grouping.reason(&service.name),
        image,
        command: service.command.clone(),
        entrypoint: service.entrypoint.clone(),
        environment: service
            .environment
            .iter()
            .map(|v| (v.name.clone(), v.value.clone()))
            .collect(),
        secrets: Vec::new(),
        port_mappings,
        ports: ports::port_plans(cx, service),
        port_ranges: service
            .port_ranges
            .iter()
            .map(|r| PortRangeMapping {
                first: r.first,
                last: r.last,
                protocol: r.protocol,
            })
            .collect(),
        health_check,
        depends_on,
        essential: service.ecs.essential.unwrap_or(true),
        mounts,
        tmpfs,
        volumes_from,
        capabilities_add,
        capabilities_drop: service.cap_drop.clone(),
        cpu: resources.cpu_limit.map(|c| units::round_u32(c * 1024.0)),
        memory: resources.memory_limit_mib.map(|m| u32::try_from(m).unwrap_or(u32::MAX)),
        memory_reservation: resources
            .memory_reservation_mib
            .map(|m| u32::try_from(m).unwrap_or(u32::MAX)),
        runtime: runtime::runtime(cx, service),
        repository_credentials: service.ecs.registry_credentials.as_ref().map(|(arn, _)| arn.clone()),
    }
}

/// The image the container runs: as written, else where the built image is pushed.
fn image(cx: &mut Context, service: &Service) -> DeployValue {
    match (&service.image, &cx.project.settings.registry) {
        (Some(image), _) => DeployValue::Known(image.clone()),
        (None, Some(registry)) => {
            let tag = cx.project.settings.image_tag.as_deref().unwrap_or("latest");
            // Compose names a built image `PROJECT-SERVICE`; the registry is where it is pushed.
            // Repository names are lower case; compose's project names are already.
            let repository = format!("{}-{}", cx.project.name, service.name.to_ascii_lowercase());
            let image = format!("{registry}/{repository}:{tag}");
            let image_word = shell::word(&image);
            let ecr_repository = match registry.split_once('/') {
                Some((_, prefix)) => format!("{prefix}/{repository}"),
                None => repository.clone(),
            };
            cx.diagnostics.push(
                    Diagnostic::note(
                        Code::BuiltImage,
                        service.path.key("build"),
                        format!("`{}` is built locally; the task runs `{image}`", service.name),
                    )
                    .with_help(format!(
                        "before you register the task definition, create the repository `{ecr_repository}` (`aws ecr create-repository --repository-name {}`) and push the image: `docker compose build {} && docker tag {} {image_word} && docker push {image_word}`",
                        shell::word(&ecr_repository),
                        shell::word(&service.name),
                        shell::word(&format!("{}-{}", cx.project.name, service.name)),
                    )),
                );
            DeployValue::Known(image)
        }
        (None, None) => {
            let name = format!("{}Image", logical_id(&service.name));
            cx.diagnostics.push(
                    Diagnostic::warning(
                        Code::BuildWithoutImage,
                        service.path.key("build"),
                        format!(
                            "`{}` is built locally and names no image; ECS needs an image in a registry",
                            service.name
                        ),
                    )
                    .with_help("name the registry the images are pushed to in the top-level `x-ecs: {registry: ACCOUNT.dkr.ecr.REGION.amazonaws.com/APP}`, or the image in `image:`"),
                );
            cx.deferred(
                &name,
                Source::User(format!("the image of `{}` after you push it", service.name)),
            )
        }
    }
}

/// The containers of its own task this one waits for, with the condition; a word on the others.
fn depends_on(cx: &mut Context, service: &Service, grouping: &Grouping) -> Vec<(String, Condition)> {
    let mut depends_on = Vec::new();
    for dependency in &service.depends_on {
        let Some(target) = cx.project.service(&dependency.service) else {
            continue;
        };
        match grouping.task_name(&target.name) {
                Some(_) if grouping.together(&service.name, &target.name) => {
                    let condition = if dependency.condition == Condition::ServiceHealthy && target.healthcheck.is_none() {
                        cx.diagnostics.push(Diagnostic::warning(
                            Code::HealthyWithoutHealthcheck,
                            dependency.path.clone(),
                            format!("`{}` waits for `{}` to be healthy, but `{}` has no healthcheck; it waits for it to start instead", service.name, target.name, target.name),
                        ).with_help(format!("give `{}` a `healthcheck`", target.name)));
                        Condition::ServiceStarted
                    } else {
                        dependency.condition
                    };
                    depends_on.push((container_name(&target.name), condition));
                }
                // Waiting for a one-shot container in another task: `one_shot` says what becomes of it.
                Some(_) if dependency.condition == Condition::ServiceCompletedSuccessfully => {}
                Some(task) => cx.diagnostics.push(Diagnostic::note(
                    Code::CrossTaskDependency,
                    dependency.path.clone(),
                    format!("`{}` depends on `{}` in task `{task}`; ECS starts services independently, so this order is not kept", service.name, target.name),
                ).with_help("make the app retry its connections, or put both services in one task with `x-ecs.task`")),
                None => cx.diagnostics.push(Diagnostic::note(
                    Code::CrossTaskDependency,
                    dependency.path.clone(),
                    format!("`{}` depends on `{}`, which runs outside ECS; the order is not kept", service.name, target.name),
                )),
            }
    }
    depends_on
}

/// The capabilities Fargate lets a container add; a word on each it does not.
fn capabilities_add(cx: &mut Context, service: &Service) -> Vec<String> {
    let mut capabilities_add = Vec::new();
    for (capability, path) in &service.cap_add {
        if capability == FARGATE_ADDABLE_CAPABILITY {
            capabilities_add.push(capability.clone());
        } else {
            cx.diagnostics.push(
                Diagnostic::warning(
                    Code::FargateCapability,
                    path.clone(),
                    format!(
                        "Fargate lets a container add only the `SYS_PTRACE` capability; `{capability}` is left out"
                    ),
                )
                .with_help("if the container cannot work without it, it cannot run on Fargate"),
            );
        }
    }
    capabilities_add
}

fn health_check(cx: &mut Context, check: &crate::normalise::Healthcheck) -> HealthCheck {
    let mut clamp = |field: &str, value: Option<u64>, low: u64, high: u64| {
        let value = value?;
        let clamped = value.clamp(low, high);
        if clamped != value {
            cx.diagnostics.push(
                Diagnostic::warning(
                    Code::HealthcheckClamped,
                    check.path.key(field),
                    format!("ECS takes a health check `{field}` from {low} to {high}; {value} becomes {clamped}"),
                )
                .with_help(format!("write a value from {low} to {high}")),
            );
        }
        Some(clamped)
    };
    let seconds = |d: Option<std::time::Duration>| d.map(|d| units::ceil_u64(d.as_secs_f64()));
    HealthCheck {
        command: check.command.clone(),
        interval: clamp("interval", seconds(check.interval), 5, 300),
        timeout: clamp("timeout", seconds(check.timeout), 2, 60),
        retries: clamp("retries", check.retries, 1, 10),
        start_period: clamp("start_period", seconds(check.start_period), 0, 300),
    }
}

/// ECS needs a container the task lives for.
pub(super) fn check_essentials(cx: &mut Context, task: &TaskDraft) {
    if !task.containers.iter().any(|c| c.essential) {
        cx.diagnostics.push(
            Diagnostic::error(
                Code::NoEssentialContainer,
                cx.task_path(&task.containers),
                format!(
                    "every container of task `{}` may stop, but ECS needs at least one essential container",
                    task.name
                ),
            )
            .with_help("remove `x-ecs.essential: false` from the container the task lives for"),
        );
    }
}

/// ECS takes at most this many containers in a task definition.
pub(super) fn check_container_count(cx: &mut Context, task: &TaskDraft) {
    if task.containers.len() > MAXIMUM_CONTAINERS {
        cx.diagnostics.push(
            Diagnostic::error(
                Code::TooManyContainers,
                cx.task_path(&task.containers),
                format!(
                    "task `{}` has {} containers; ECS allows {MAXIMUM_CONTAINERS} in a task definition",
                    task.name,
                    task.containers.len()
                ),
            )
            .with_help("split the services into more tasks with `x-ecs.task`"),
        );
    }
}

/// The most containers ECS allows in one task definition.
const MAXIMUM_CONTAINERS: usize = 10;

/// The one Linux capability Fargate lets a container add.
pub(super) const FARGATE_ADDABLE_CAPABILITY: &str = "SYS_PTRACE";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::{project, run};

    fn containers_of(compose: &str) -> (Vec<Vec<Container>>, Vec<Code>) {
        let project = project(compose);
        let (containers, codes) = run(&project, |cx| {
            let grouping = grouping::group(cx).expect("groups");
            grouping
                .tasks()
                .map(|(_, task)| of_task(cx, task, &grouping))
                .collect::<Vec<_>>()
        });
        (containers, codes)
    }

    #[test]
    fn a_one_shot_container_in_the_task_is_not_essential() {
        let (tasks, codes) = containers_of(
            "services:\n  app: {image: a, x-ecs: {task: t}, depends_on: {init: {condition: service_completed_successfully}, db: {condition: service_healthy}}}\n  \
             init: {image: b, x-ecs: {task: t}}\n  db: {image: postgres, x-ecs: {task: t}}\n",
        );
        let essential: Vec<(&str, bool)> = tasks[0].iter().map(|c| (c.name.as_str(), c.essential)).collect();
        assert_eq!(essential, vec![("app", true), ("init", false), ("db", true)]);
        // `db` has no healthcheck: `app` waits for it to start instead, with a word.
        assert_eq!(
            tasks[0][0].depends_on,
            vec![
                ("init".to_string(), Condition::ServiceCompletedSuccessfully),
                ("db".to_string(), Condition::ServiceStarted)
            ]
        );
        assert_eq!(codes, vec![Code::HealthyWithoutHealthcheck]);
    }

    #[test]
    fn dependencies_across_tasks_are_notes() {
        let (tasks, codes) = containers_of(
            "services:\n  app: {image: a, depends_on: {db: {condition: service_started}, migrate: {condition: service_completed_successfully}}}\n  \
             db: {image: postgres}\n  migrate: {image: m}\n",
        );
        assert!(tasks[0][0].depends_on.is_empty());
        // Waiting for a one-shot container elsewhere is `one_shot`'s to judge, once.
        assert_eq!(codes, vec![Code::CrossTaskDependency]);
    }

    #[test]
    fn a_built_image_is_the_registry_s_and_fargate_adds_one_capability() {
        let (tasks, codes) = containers_of(
            "x-ecs: {registry: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop, image_tag: v2}\n\
             services:\n  api: {build: ., cap_add: [SYS_PTRACE, NET_ADMIN]}\n",
        );
        assert_eq!(
            tasks[0][0].image,
            DeployValue::Known("123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/app-api:v2".into())
        );
        assert_eq!(tasks[0][0].capabilities_add, vec!["SYS_PTRACE"]);
        assert_eq!(codes, vec![Code::BuiltImage, Code::FargateCapability]);
    }

    #[test]
    fn more_containers_than_ecs_takes_and_none_essential_are_refused() {
        let project = project("services:\n  a: {image: a}\n");
        let container = |name: &str, essential: bool| Container {
            essential,
            ..containers_of(&format!("services:\n  {name}: {{image: a}}\n")).0[0][0].clone()
        };
        let draft = TaskDraft {
            name: "t".into(),
            containers: (0..11).map(|i| container(&format!("c{i}"), false)).collect(),
        };
        let ((), codes) = run(&project, |cx| {
            check_container_count(cx, &draft);
            check_essentials(cx, &draft);
        });
        assert_eq!(codes, vec![Code::TooManyContainers, Code::NoEssentialContainer]);
    }
}
