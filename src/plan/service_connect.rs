//! Service Connect: the names and ports each task offers to the others, each checked against
//! the namespace's rules, and the port plans that record who reaches a port by which name.

use super::{
    port_mapping, ClientAlias, Container, Context, Exposure, PortPlan, ServiceConnect, ServiceConnectService, TaskDraft,
};
use crate::diagnostic::{Code, Diagnostic, KeyPath};
use crate::normalise::Protocol;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Where a container is: (task index, container index).
pub(super) type Slot = (usize, usize);

/// By task: its Service Connect configuration. A reached container offers one Service Connect
/// service per name and port it is reached on (with a port mapping for it); a client has an
/// empty one.
pub(super) fn offered(
    cx: &mut Context,
    tasks: &mut [TaskDraft],
    offered: BTreeMap<Slot, BTreeMap<ClientAlias, u16>>,
    clients: &BTreeSet<usize>,
) -> Vec<Option<ServiceConnect>> {
    let project = cx.project;
    let mut service_connect: Vec<Option<ServiceConnect>> = vec![None; tasks.len()];
    // In one namespace each Cloud Map name and each client alias belongs to one service.
    let mut discovery_owners: HashMap<String, (String, ClientAlias)> = HashMap::new();
    let mut alias_owners: HashMap<ClientAlias, String> = HashMap::new();
    for ((task, index), ports) in offered {
        let container = &mut tasks[task].containers[index];
        let target_path = project
            .service(&container.service)
            .map(|s| s.path.clone())
            .unwrap_or_default();
        let mut services = Vec::new();
        // ECS takes one client alias per Service Connect service: a service per name used, each
        // on the port mapping it reaches, each with its own Cloud Map name.
        for (alias, port) in ports {
            let mapping = match container
                .port_mappings
                .iter()
                .find(|m| m.container_port == port && m.protocol == Protocol::Tcp)
            {
                Some(mapping) => mapping.clone(),
                None => {
                    let mapping = port_mapping(&container.service, port, Protocol::Tcp);
                    container.port_mappings.push(mapping.clone());
                    mapping
                }
            };
            let discovery = discovery_name(&alias);
            let owner = container.service.clone();
            let clash = match (alias_owners.get(&alias), discovery_owners.get(&discovery)) {
                (Some(other), _) if *other != owner => Some(format!(
                    "`{other}` and `{owner}` are both reached as `{}:{}`",
                    alias.dns_name, alias.port
                )),
                (_, Some((other, other_alias))) if *other_alias != alias => Some(format!(
                    "`{}:{}` of `{owner}` and `{}:{}` of `{other}` get the same Cloud Map name `{discovery}`",
                    alias.dns_name, alias.port, other_alias.dns_name, other_alias.port
                )),
                _ => None,
            };
            if let Some(message) = clash {
                cx.diagnostics.push(
                    Diagnostic::error(
                        Code::NameCollision,
                        target_path.clone(),
                        format!("{message} (Service Connect names ignore case, and Cloud Map names dots)"),
                    )
                    .with_help("rename one of them"),
                );
                continue;
            }
            if discovery.len() > 64 {
                cx.diagnostics.push(
                    Diagnostic::error(
                        Code::NameTooLong,
                        target_path.clone(),
                        format!(
                            "the Service Connect name `{discovery}` is longer than the 64 characters Cloud Map allows"
                        ),
                    )
                    .with_help("use a shorter service name or alias"),
                );
                continue;
            }
            reached_as(container, port, &alias, &target_path);
            alias_owners.insert(alias.clone(), owner.clone());
            discovery_owners.insert(discovery.clone(), (owner, alias.clone()));
            services.push(ServiceConnectService {
                discovery_name: discovery,
                port_name: mapping.name.clone(),
                client_alias: alias,
            });
        }
        service_connect[task]
            .get_or_insert_with(|| ServiceConnect::for_task(&tasks[task].name))
            .services
            .extend(services);
    }
    for &task in clients {
        service_connect[task].get_or_insert_with(|| ServiceConnect::for_task(&tasks[task].name));
    }
    service_connect
}

/// Records on the plans of the container's TCP `port` that other tasks reach it as `alias`; a
/// port no entry declares gets a plan of its own, at the service.
fn reached_as(container: &mut Container, port: u16, alias: &ClientAlias, service_path: &KeyPath) {
    let name = format!("{}:{}", alias.dns_name, alias.port);
    let mut declared = container
        .ports
        .iter_mut()
        .filter(|p| p.port == port && p.protocol == Protocol::Tcp)
        .peekable();
    if declared.peek().is_none() {
        container.ports.push(PortPlan {
            port,
            protocol: Protocol::Tcp,
            path: service_path.clone(),
            exposure: Exposure::Private,
            reason: "declared nowhere: a peer dials it, so Service Connect offers it".into(),
            service_connect: vec![name],
        });
        return;
    }
    for plan in declared {
        plan.service_connect.push(name.clone());
    }
}

/// The Cloud Map service name of an alias: lowercase letters, digits, `_` and `-`, with the port,
/// so `search.internal:9200` becomes `search-internal-9200`.
fn discovery_name(alias: &ClientAlias) -> String {
    let name: String = alias
        .dns_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("{}-{}", name.trim_start_matches('-'), alias.port)
}
