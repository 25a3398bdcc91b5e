//! Grouping: which ECS task each service joins, and why; the services that run outside ECS.

use super::*;

/// The task of every ECS-run service, with the rule that put it there.
pub(super) fn group(cx: &mut Context) -> Option<HashMap<String, (String, GroupReason)>> {
    let mut tasks: HashMap<String, (String, GroupReason)> = HashMap::new();
    let mut spellings: HashMap<String, String> = HashMap::new();
    let mut containers: HashMap<String, &str> = HashMap::new();
    for service in &cx.project.services {
        if service.ecs.external.is_some() {
            if let Some((_, path, _)) = explicit_task(service) {
                cx.diagnostics.push(
                    Diagnostic::error(
                        "conflicting-grouping",
                        path.clone(),
                        format!("`{}` is `x-ecs.external`, so it has no task to join", service.name),
                    )
                    .with_help("remove the task name, or `x-ecs.external`"),
                );
            }
            continue;
        }
        let Some(written) = follow_network_mode(cx, service) else {
            continue;
        };
        // ECS names drop the dots compose allows, so two spellings may meet: `a.b` and `a-b`.
        let task = task_name(&written);
        let task_clash = spellings.get(&task).is_some_and(|other| *other != written);
        if task_clash {
            cx.diagnostics.push(
                Diagnostic::error(
                    "name-collision",
                    service.path.clone(),
                    format!(
                        "tasks `{}` and `{written}` get the same ECS name `{task}`",
                        spellings[&task]
                    ),
                )
                .with_help("rename one of them; ECS names use letters, digits, `-` and `_`"),
            );
        } else {
            spellings.insert(task.clone(), written);
        }
        let container = container_name(&service.name);
        let other = containers.insert(container.clone(), &service.name);
        if let Some(other) = other.filter(|_| !task_clash) {
            cx.diagnostics.push(
                Diagnostic::error(
                    "name-collision",
                    service.path.clone(),
                    format!(
                        "services `{other}` and `{}` get the same ECS container name `{container}`",
                        service.name
                    ),
                )
                .with_help("rename one of them; ECS names use letters, digits, `-` and `_`"),
            );
        }
        let reason = match (explicit_task(service), &service.joins) {
            (Some((_, _, reason)), _) => reason,
            (None, Some((target, _))) => GroupReason::NetworkMode {
                service: target.clone(),
            },
            (None, None) => GroupReason::Alone,
        };
        tasks.insert(service.name.clone(), (task, reason));
    }
    // A service that names its task and also shares another's network must name that one's task.
    for service in &cx.project.services {
        let (Some((name, path, _)), Some((target, _))) = (explicit_task(service), &service.joins) else {
            continue;
        };
        let joined = tasks.get(target).map(|(task, _)| task.as_str());
        if joined.is_some_and(|joined| joined != task_name(name)) {
            cx.diagnostics.push(
                    Diagnostic::error(
                        "conflicting-grouping",
                        path.clone(),
                        format!(
                            "`{}` shares the network of `{target}` (task `{}`), but its task name `{name}` puts it in another task",
                            service.name,
                            joined.unwrap_or_default()
                        ),
                    )
                    .with_help(format!("name the same task for both, or remove `network_mode: service:{target}`")),
                );
        }
    }
    if cx.diagnostics.has_errors() {
        return None;
    }
    Some(tasks)
}

/// The task of `service` as written (not yet an ECS name): its own name for it, else the task of
/// the service whose network it shares (through a chain of `network_mode: service:X`), else
/// its own name.
fn follow_network_mode(cx: &mut Context, service: &Service) -> Option<String> {
    let mut chain = vec![service.name.as_str()];
    let mut current = service;
    loop {
        if let Some((task, _, _)) = explicit_task(current) {
            return Some(task.clone());
        }
        let Some((target, path)) = &current.joins else {
            return Some(current.name.clone());
        };
        let Some(next) = cx.project.service(target) else {
            cx.diagnostics.push(
                Diagnostic::error(
                    "unknown-service",
                    path.clone(),
                    format!("`network_mode: service:{target}` names no service of this project"),
                )
                .with_help("name a service defined under `services:`"),
            );
            return None;
        };
        if next.ecs.external.is_some() {
            cx.diagnostics.push(
                Diagnostic::error(
                    "conflicting-grouping",
                    path.clone(),
                    format!(
                        "`{}` shares the network of `{target}`, which is `x-ecs.external` and has no task",
                        current.name
                    ),
                )
                .with_help(format!("remove `network_mode: service:{target}`")),
            );
            return None;
        }
        let seen = chain.iter().position(|name| *name == next.name);
        chain.push(&next.name);
        if let Some(first) = seen {
            // Each member of the circle finds it: report it once, from its first member.
            let circle = &chain[first..chain.len() - 1];
            let reporter = cx.project.services.iter().find(|s| circle.contains(&s.name.as_str()));
            if reporter.is_none_or(|r| r.name != service.name) {
                return None;
            }
            cx.diagnostics.push(
                Diagnostic::error(
                    "network-mode-cycle",
                    path.clone(),
                    format!("`network_mode: service:` goes round in a circle: {}", chain.join(" → ")),
                )
                .with_help("one service of the group must own the network; remove `network_mode` from it"),
            );
            return None;
        }
        current = next;
    }
}

pub(super) fn warn_unused_keys_of_external(cx: &mut Context, service: &Service) {
    let settings = [
        service
            .ecs
            .autoscaling
            .as_ref()
            .map(|a| ("autoscaling", a.path.clone())),
        service
            .ecs
            .load_balancer
            .as_ref()
            .map(|r| ("load_balancer", r.path.clone())),
    ];
    for (key, path) in settings.into_iter().flatten() {
        cx.diagnostics.push(
            Diagnostic::warning(
                "unused-setting",
                path,
                format!(
                    "`x-ecs.{key}` of `{}` is not used: the service runs outside ECS (`x-ecs.external`)",
                    service.name
                ),
            )
            .with_help(format!(
                "remove `{key}`, or `external` if the service should run on ECS"
            )),
        );
    }
    if !service.ports.is_empty() || !service.mounts.is_empty() {
        cx.diagnostics.push(Diagnostic::note(
            "external-service",
            service.path.key("x-ecs").key("external"),
            format!(
                "`{}` runs outside ECS: no container is made for it, and its ports and volumes are not converted",
                service.name
            ),
        ));
    }
}

/// The task a service names for itself: `x-ecs.task`, else the `ecs.task.family` deploy label.
fn explicit_task(service: &Service) -> Option<(&String, &KeyPath, GroupReason)> {
    if let Some((task, path)) = &service.ecs.task {
        return Some((task, path, GroupReason::XEcsTask { task: task.clone() }));
    }
    let (family, path) = service.family_label.as_ref()?;
    Some((family, path, GroupReason::FamilyLabel { family: family.clone() }))
}
