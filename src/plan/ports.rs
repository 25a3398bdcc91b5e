//! Ports: the port mappings of a container and the collisions ECS refuses inside one task.

use super::*;

/// awsvpc gives a task one network namespace: two containers cannot listen on one port.
pub(super) fn check_port_collisions(cx: &mut Context, task: &TaskDraft) {
    let mut owners: BTreeMap<(u16, Protocol), &str> = BTreeMap::new();
    for container in &task.containers {
        for mapping in &container.port_mappings {
            match owners.get(&(mapping.container_port, mapping.protocol)) {
                Some(owner) => {
                    // Every container with ports is a compose service's (the secrets writer has none).
                    let path = cx.project.service(&container.service).map_or_else(
                        || cx.task_path(&task.containers),
                        |service| {
                            service
                                .ports
                                .iter()
                                .find(|p| p.target == mapping.container_port && p.protocol == mapping.protocol)
                                .map_or_else(|| service.path.clone(), |p| p.path.clone())
                        },
                    );
                    cx.diagnostics.push(Diagnostic::error(
                            "port-collision",
                            path,
                            format!("`{owner}` and `{}` both listen on port {} in task `{}`; containers of one task share one network", container.service, mapping.container_port, task.name),
                        ).with_help("change one port, or put the services in separate tasks"));
                }
                None => {
                    owners.insert((mapping.container_port, mapping.protocol), &container.service);
                }
            }
        }
    }
    // ECS refuses a port in two mappings, and overlapping ranges.
    let ranges: Vec<(&Container, &PortRangeMapping)> = task
        .containers
        .iter()
        .flat_map(|c| c.port_ranges.iter().map(move |r| (c, r)))
        .collect();
    for (index, (container, range)) in ranges.iter().enumerate() {
        let overlapping_range = ranges[..index]
            .iter()
            .find(|(_, other)| {
                other.protocol == range.protocol && other.first <= range.last && range.first <= other.last
            })
            .map(|(other_container, other)| {
                (
                    other_container.service.as_str(),
                    format!("the ports {}-{}", other.first, other.last),
                )
            });
        let single_port = owners
            .range((range.first, range.protocol)..=(range.last, range.protocol))
            .find(|((_, protocol), _)| *protocol == range.protocol)
            .map(|((port, _), owner)| (*owner, format!("port {port}")));
        let Some((owner, what)) = overlapping_range.or(single_port) else {
            continue;
        };
        let path = cx
            .project
            .service(&container.service)
            .and_then(|s| {
                s.port_ranges
                    .iter()
                    .find(|r| r.first == range.first && r.last == range.last)
            })
            .map_or_else(|| cx.task_path(&task.containers), |r| r.path.clone());
        cx.diagnostics.push(
                Diagnostic::error(
                    "port-collision",
                    path,
                    format!(
                        "the ports {}-{} of `{}` overlap {what} of `{owner}` in task `{}`; ECS takes a port in one mapping only",
                        range.first, range.last, container.service, task.name
                    ),
                )
                .with_help("split the range around the port, or put the services in separate tasks"),
            );
    }
}

/// A port mapping's name, which Service Connect refers to: lowercase, digits, `-` and `_`.
pub(super) fn port_mapping(service: &str, port: u16, protocol: Protocol) -> PortMapping {
    // ECS allows 64 characters; `-65535-udp` needs 10. Within a task a port and protocol name one
    // mapping, so a shortened name stays unique there.
    let base: String = service
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '-' })
        .take(54)
        .collect();
    let name = match protocol {
        Protocol::Tcp => format!("{base}-{port}"),
        Protocol::Udp => format!("{base}-{port}-udp"),
    };
    PortMapping {
        name,
        container_port: port,
        protocol,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::{project, run};

    #[test]
    fn port_mapping_names_are_lower_case_and_short() {
        assert_eq!(port_mapping("Web.App", 80, Protocol::Tcp).name, "web-app-80");
        assert_eq!(port_mapping("dns", 53, Protocol::Udp).name, "dns-53-udp");
        let long = port_mapping(&"x".repeat(100), 65535, Protocol::Udp);
        assert!(long.name.len() <= 64, "{}", long.name);
    }

    #[test]
    fn two_containers_of_a_task_cannot_listen_on_one_port() {
        let project = project(
            "services:\n  a: {image: a, ports: [\"8080:80\"], x-ecs: {task: t}}\n  \
             b: {image: b, ports: [\"8081:80\", \"9000-9010:9000-9010\"], x-ecs: {task: t}}\n  \
             c: {image: c, ports: [\"9005:9005\", \"53:53/udp\"], x-ecs: {task: t}}\n",
        );
        let (codes, _) = run(&project, |cx| {
            let grouping = grouping::group(cx).expect("groups");
            let task = &grouping.tasks[0];
            let draft = TaskDraft {
                name: task.name.clone(),
                containers: containers::of_task(cx, task, &grouping),
            };
            let before = cx.diagnostics.iter().count();
            check_port_collisions(cx, &draft);
            cx.diagnostics
                .iter()
                .skip(before)
                .map(|d| d.message.clone())
                .collect::<Vec<_>>()
        });
        assert_eq!(codes.len(), 2, "{codes:?}");
        assert!(codes[0].contains("`a` and `b` both listen on port 80"), "{}", codes[0]);
        assert!(
            codes[1].contains("9000-9010 of `b` overlap port 9005 of `c`"),
            "{}",
            codes[1]
        );
    }
}
