//! Service Connect: the names and ports each task offers to the others (every name compose gives
//! a service, on every port it listens on), each checked against the namespace's rules, and the
//! port plans that record who reaches a port by which name.

use super::{
    port_mapping, wellknown, ClientAlias, Container, Context, Exposure, PortPlan, ServiceConnect,
    ServiceConnectService, TaskDraft,
};
use crate::diagnostic::{Code, Diagnostic, KeyPath};
use crate::normalise::{Project, Protocol, Service};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Where a container is: (task index, container index).
pub(super) type Slot = (usize, usize);

/// What each container is offered as: by container, each alias (name and port) with the container
/// port it reaches.
pub(super) type Offered = BTreeMap<Slot, BTreeMap<ClientAlias, u16>>;

/// Compose's promise, kept on ECS: every service is reachable from every other under each of its
/// names (service name, `container_name`, network aliases, the `links` aliases its linkers give
/// it) on each TCP port it listens on (`ports`, `expose`, and the ports its image is known to
/// listen on), whether or not a reference to it was seen: names baked into images and config
/// files are dialled too. Adds those offers to what the seen references need (which keep theirs).
pub(super) fn contract<'p>(
    cx: &mut Context<'p, '_>,
    tasks: &mut [TaskDraft],
    network: &HashMap<String, &'p Service>,
    offered: &mut Offered,
) {
    let project = cx.project;
    let services = tasks
        .iter()
        .flat_map(|t| &t.containers)
        .filter(|c| project.service(&c.service).is_some())
        .count();
    if services < 2 {
        return; // Nobody to reach it.
    }
    let names = names_by_service(cx, network);
    for (t, task) in tasks.iter_mut().enumerate() {
        for c in 0..task.containers.len() {
            let Some(names) = names.get(task.containers[c].service.as_str()) else {
                continue; // Not a compose service: the secrets writer.
            };
            let ports = listening_ports(cx, &mut task.containers, c);
            let offers = offered.entry((t, c)).or_default();
            let mut unserved = 0;
            for port in ports {
                for name in names {
                    let alias = ClientAlias {
                        dns_name: name.clone(),
                        port,
                    };
                    if offers.len() < OFFERS_PER_CONTAINER || offers.contains_key(&alias) {
                        offers.entry(alias).or_insert(port);
                    } else {
                        unserved += 1;
                    }
                }
            }
            if unserved > 0 {
                warn_unserved_offers(cx, &task.containers[c].service, unserved);
            }
        }
    }
}

/// The most names and ports one container is offered under: the Service Connect configuration of
/// a service holds one entry per name and port, and a product of hundreds of names and ports is
/// no app's.
const OFFERS_PER_CONTAINER: usize = 256;

fn warn_unserved_offers(cx: &mut Context, service: &str, unserved: usize) {
    let path = cx.project.service(service).map(|s| s.path.clone()).unwrap_or_default();
    cx.diagnostics.push(
        Diagnostic::warning(
            Code::UnservedName,
            path,
            format!(
                "`{service}` is offered under its first {OFFERS_PER_CONTAINER} names and ports; {unserved} more are not served"
            ),
        )
        .with_help("give the service fewer names (aliases) or ports"),
    );
}

/// Each service's names on the network, valid as Service Connect names (a name compose gives two
/// services belongs to the one `network` says), and the `links` aliases its linkers give it.
fn names_by_service<'p>(
    cx: &mut Context<'p, '_>,
    network: &HashMap<String, &'p Service>,
) -> BTreeMap<&'p str, BTreeSet<String>> {
    let mut names: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (name, service) in network {
        names.entry(service.name.as_str()).or_default().insert(name.clone());
    }
    // A link alias is the linker's own name for a service; on ECS it is the namespace's, so one
    // that is another service's name, or that two linkers give two services, reaches the first.
    let mut linked: HashMap<String, &'p Service> = HashMap::new();
    for linker in &cx.project.services {
        for link in &linker.links {
            let alias = link.alias.to_ascii_lowercase();
            let Some(target) = cx.project.service(&link.service) else {
                continue;
            };
            match network.get(&alias).or_else(|| linked.get(&alias)) {
                Some(owner) if owner.name != target.name => {
                    warn_shared_link_alias(cx, &link.alias, owner, target, linker);
                }
                Some(_) => {}
                None => {
                    linked.insert(alias.clone(), target);
                    names.entry(target.name.as_str()).or_default().insert(alias);
                }
            }
        }
    }
    // A service in another's network (`network_mode: service:X`) answers to X's names too: in
    // compose those are the only names that reach it.
    let mut owners: HashMap<&str, &str> = HashMap::new();
    for service in &cx.project.services {
        let owner = network_owner(cx.project, service, &mut owners);
        if owner != service.name {
            let inherited = names.get(owner).cloned().unwrap_or_default();
            names.entry(service.name.as_str()).or_default().extend(inherited);
        }
    }
    names
}

/// A `links` alias that already names another service in the namespace.
fn warn_shared_link_alias(cx: &mut Context, alias: &str, owner: &Service, target: &Service, linker: &Service) {
    cx.diagnostics.push(
        Diagnostic::warning(
            Code::SharedAlias,
            linker.path.key("links"),
            format!(
                "`{}` calls `{}` `{alias}`, but on ECS `{alias}` reaches `{}`: Service Connect names are the whole project's",
                linker.name, target.name, owner.name
            ),
        )
        .with_help(format!("give `{}` a `links` alias of its own", target.name)),
    );
}

/// The service whose network `service` is in: itself, or the end of its `network_mode: service:`
/// chain (circles were refused when grouping); each chain walked once, through `owners`.
pub(super) fn network_owner<'p>(
    project: &'p Project,
    service: &'p Service,
    owners: &mut HashMap<&'p str, &'p str>,
) -> &'p str {
    let mut chain = Vec::new();
    let mut current = service;
    let owner = loop {
        if let Some(owner) = owners.get(current.name.as_str()) {
            break *owner;
        }
        chain.push(current.name.as_str());
        match current.joins.as_ref().and_then(|(target, _)| project.service(target)) {
            Some(next) if chain.len() <= project.services.len() => current = next,
            _ => break current.name.as_str(),
        }
    };
    for name in chain {
        owners.insert(name, owner);
    }
    owner
}

/// Whether ECS takes `name` as a client alias's DNS name: at most 127 characters, lowercase
/// letters, digits, `_`, `-` and `.`, in labels that start with a letter, digit or `_`.
fn is_client_alias(name: &str) -> bool {
    name.len() <= 127
        && name.split('.').all(|label| {
            label
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-'))
        })
}

/// The TCP ports container `index` listens on: those it declares, then those its image is known
/// to listen on (each given a port mapping and a port plan, unless another container of the task
/// maps it: one task, one port).
fn listening_ports(cx: &Context, containers: &mut [Container], index: usize) -> Vec<u16> {
    let mut ports: Vec<u16> = Vec::new();
    for mapping in &containers[index].port_mappings {
        if mapping.protocol == Protocol::Tcp && !ports.contains(&mapping.container_port) {
            ports.push(mapping.container_port);
        }
    }
    let Some(service) = cx.project.service(&containers[index].service) else {
        return ports;
    };
    let image = service.image.as_deref().unwrap_or_default();
    for &port in wellknown::image_ports(image) {
        let mapped = containers.iter().any(|c| {
            c.port_mappings
                .iter()
                .any(|m| m.container_port == port && m.protocol == Protocol::Tcp)
                || c.port_ranges
                    .iter()
                    .any(|r| r.protocol == Protocol::Tcp && r.first <= port && port <= r.last)
        });
        if mapped {
            continue;
        }
        let container = &mut containers[index];
        container
            .port_mappings
            .push(port_mapping(&container.service, port, Protocol::Tcp));
        container.ports.push(PortPlan {
            port,
            protocol: Protocol::Tcp,
            path: service.path.clone(),
            exposure: Exposure::Private,
            reason: format!("the image `{image}` listens on it, so peers may dial it: Service Connect offers it"),
            service_connect: Vec::new(),
        });
        ports.push(port);
    }
    ports
}

/// By task: its Service Connect configuration. A reached container offers one Service Connect
/// service per name and port it is reached on (with a port mapping for it). When any task offers
/// one, every task is a client of the namespace (with an empty configuration when it offers none).
pub(super) fn offered(cx: &mut Context, tasks: &mut [TaskDraft], offered: Offered) -> Vec<Option<ServiceConnect>> {
    let project = cx.project;
    let mut service_connect: Vec<Option<ServiceConnect>> = vec![None; tasks.len()];
    // In one namespace each client alias belongs to one service, and each Cloud Map name to one
    // alias.
    let mut discovery_names = DiscoveryNames::default();
    let mut alias_owners: HashMap<ClientAlias, String> = HashMap::new();
    let mut warned: HashSet<(String, String)> = HashSet::new();
    for ((task, index), ports) in offered {
        let container = &mut tasks[task].containers[index];
        let target_path = project
            .service(&container.service)
            .map(|s| s.path.clone())
            .unwrap_or_default();
        // Where each TCP port is, in the mappings and in the port plans: looked up, not scanned.
        let mut mapping_of: HashMap<u16, usize> = HashMap::new();
        for (i, mapping) in container.port_mappings.iter().enumerate() {
            if mapping.protocol == Protocol::Tcp {
                mapping_of.entry(mapping.container_port).or_insert(i);
            }
        }
        let mut plans_of: HashMap<u16, Vec<usize>> = HashMap::new();
        for (i, plan) in container.ports.iter().enumerate() {
            if plan.protocol == Protocol::Tcp {
                plans_of.entry(plan.port).or_default().push(i);
            }
        }
        let mut services = Vec::new();
        // ECS takes one client alias per Service Connect service: a service per name used, each
        // on the port mapping it reaches, each with its own Cloud Map name.
        for (alias, port) in ports {
            let owner = container.service.clone();
            if !is_client_alias(&alias.dns_name) {
                if warned.insert((owner.clone(), alias.dns_name.clone())) {
                    warn_unserved_name(cx, &target_path, &owner, &alias.dns_name);
                }
                continue;
            }
            if let Some(other) = alias_owners.get(&alias).filter(|other| **other != owner) {
                cx.diagnostics.push(
                    Diagnostic::warning(
                        Code::SharedAlias,
                        target_path.clone(),
                        format!(
                            "`{}:{}` names both `{other}` and `{owner}`; on ECS it reaches `{other}` only (Service Connect names ignore case)",
                            alias.dns_name, alias.port
                        ),
                    )
                    .with_help(format!("give `{owner}` a name of its own")),
                );
                continue;
            }
            let mapping = *mapping_of.entry(port).or_insert_with(|| {
                container
                    .port_mappings
                    .push(port_mapping(&container.service, port, Protocol::Tcp));
                container.port_mappings.len() - 1
            });
            let port_name = container.port_mappings[mapping].name.clone();
            let discovery = discovery_names.take(&alias);
            reached_as(container, &mut plans_of, port, &alias, &target_path);
            alias_owners.insert(alias.clone(), owner);
            services.push(ServiceConnectService {
                discovery_name: discovery,
                port_name,
                client_alias: alias,
            });
        }
        if !services.is_empty() {
            service_connect[task]
                .get_or_insert_with(|| ServiceConnect::for_task(&tasks[task].name))
                .services
                .extend(services);
        }
    }
    if service_connect.iter().any(Option::is_some) {
        for (task, connect) in service_connect.iter_mut().enumerate() {
            connect.get_or_insert_with(|| ServiceConnect::for_task(&tasks[task].name));
        }
    }
    service_connect
}

/// Records on the plans of the container's TCP `port` (found through `plans_of`) that other
/// tasks reach it as `alias`; a port no entry declares gets a plan of its own, at the service.
fn reached_as(
    container: &mut Container,
    plans_of: &mut HashMap<u16, Vec<usize>>,
    port: u16,
    alias: &ClientAlias,
    service_path: &KeyPath,
) {
    let name = format!("{}:{}", alias.dns_name, alias.port);
    let plans = plans_of.entry(port).or_default();
    if plans.is_empty() {
        plans.push(container.ports.len());
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
    for &plan in plans.iter() {
        container.ports[plan].service_connect.push(name.clone());
    }
}

/// A name ECS takes no client alias for.
fn warn_unserved_name(cx: &mut Context, path: &KeyPath, service: &str, name: &str) {
    cx.diagnostics.push(
        Diagnostic::warning(
            Code::UnservedName,
            path.clone(),
            format!("`{service}` is not reachable as `{name}` from other tasks: a Service Connect name has at most 127 of the characters a-z, 0-9, `_`, `-` and `.`, in labels that start with a letter, digit or `_`"),
        )
        .with_help("give the service a network alias that is a valid DNS name, and use it"),
    );
}

/// The Cloud Map names taken in the namespace, and for each first choice the next number to try.
#[derive(Default)]
struct DiscoveryNames {
    taken: HashSet<String>,
    next: HashMap<String, u32>,
}

impl DiscoveryNames {
    /// A free Cloud Map name for `alias`, taken.
    fn take(&mut self, alias: &ClientAlias) -> String {
        let first = discovery_name(alias, 1);
        let mut n = self.next.get(&first).copied().unwrap_or(1);
        let mut name = discovery_name(alias, n);
        while self.taken.contains(&name) {
            n += 1;
            name = discovery_name(alias, n);
        }
        self.next.insert(first, n + 1);
        self.taken.insert(name.clone());
        name
    }
}

/// The Cloud Map service name of an alias, the `n`th choice: lowercase letters, digits, `_` and
/// `-`, with the port, so `search.internal:9200` becomes `search-internal-9200` (`…-9200-2` for
/// the second), shortened to Cloud Map's 64 characters.
fn discovery_name(alias: &ClientAlias, n: u32) -> String {
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
    let name = name.trim_start_matches('-');
    let name = if name.is_empty() { "service" } else { name };
    let suffix = match n {
        1 => format!("-{}", alias.port),
        n => format!("-{}-{n}", alias.port),
    };
    let stem: String = name.chars().take(64 - suffix.len()).collect();
    format!("{stem}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::project;
    use crate::plan::{plan, Plan};

    fn planned(compose: &str) -> (Plan, Vec<Code>) {
        let project = project(compose);
        let mut diagnostics = crate::diagnostic::Diagnostics::default();
        let plan = plan(
            &project,
            &crate::load::stack_outputs::SavedOutputs::empty(),
            &mut diagnostics,
        )
        .expect("it plans");
        (plan, diagnostics.iter().map(|d| d.code).collect())
    }

    /// Every alias the plan offers, as `name:port → service's container port`.
    fn aliases(plan: &Plan) -> Vec<String> {
        let mut aliases: Vec<String> = plan
            .tasks
            .iter()
            .filter_map(|t| t.service_connect.as_ref().map(|c| (t, c)))
            .flat_map(|(task, connect)| {
                connect.services.iter().map(move |offered| {
                    let (container, mapping) = task
                        .containers
                        .iter()
                        .find_map(|c| {
                            c.port_mappings
                                .iter()
                                .find(|m| m.name == offered.port_name)
                                .map(|m| (c, m))
                        })
                        .expect("the port name maps to a container port");
                    let alias = &offered.client_alias;
                    format!(
                        "{}:{} → {}:{}",
                        alias.dns_name, alias.port, container.service, mapping.container_port
                    )
                })
            })
            .collect();
        aliases.sort();
        aliases
    }

    #[test]
    fn every_name_of_a_listening_service_is_offered_on_every_port_it_listens_on() {
        // immich: the server dials `database:5432`, `redis:6379` and the machine learning service
        // by names no compose text spells out; redash's nginx dials its `links` alias.
        let (plan, codes) = planned(
            "services:\n  \
             server: {image: ghcr.io/immich-app/immich-server:release, ports: [\"2283:2283\"]}\n  \
             ml: {image: ghcr.io/immich-app/immich-machine-learning:release, container_name: immich-ml}\n  \
             redis: {image: valkey/valkey:8}\n  \
             database: {image: ghcr.io/immich-app/postgres:14, networks: {default: {aliases: [DB]}}}\n  \
             nginx: {image: redash/nginx, links: [\"server:redash\"]}\n",
        );
        assert_eq!(
            aliases(&plan),
            [
                "database:5432 → database:5432",
                "db:5432 → database:5432",
                "immich-ml:3003 → ml:3003",
                "ml:3003 → ml:3003",
                "redash:2283 → server:2283",
                "redis:6379 → redis:6379",
                "server:2283 → server:2283",
            ]
        );
        assert!(
            plan.tasks.iter().all(|t| t.service_connect.is_some()),
            "every task is a client, nginx too"
        );
        assert!(!codes.contains(&Code::UnservedName), "{codes:?}");
    }

    #[test]
    fn a_service_in_anothers_network_answers_to_its_names() {
        let (plan, _) = planned(
            "services:\n  \
             app: {image: app, ports: [\"80:8080\"]}\n  \
             cache: {image: redis:7, network_mode: \"service:app\"}\n  \
             worker: {image: worker}\n",
        );
        let offered = aliases(&plan);
        assert!(offered.contains(&"app:6379 → cache:6379".to_string()), "{offered:?}");
        assert!(offered.contains(&"app:8080 → app:8080".to_string()), "{offered:?}");
    }

    #[test]
    fn a_lone_service_offers_nothing_and_needs_no_namespace() {
        let (plan, _) = planned("services:\n  db: {image: postgres:16}\n");
        assert!(plan.tasks[0].service_connect.is_none());
        assert_eq!(plan.deployment.namespace, None);
        // A peer that listens on nothing is still a client when another service listens.
        let (plan, _) = planned("services:\n  db: {image: postgres:16}\n  worker: {image: worker}\n");
        assert_eq!(aliases(&plan), ["db:5432 → db:5432"]);
        assert!(plan.tasks.iter().all(|t| t.service_connect.is_some()));
    }

    #[test]
    fn a_well_known_port_another_container_of_the_task_maps_is_left_to_it() {
        // minio and clickhouse both listen on 9000; in one task only one can.
        let (plan, _) = planned(
            "services:\n  \
             minio: {image: minio/minio, expose: [\"9000\"], x-ecs: {task: data}}\n  \
             clickhouse: {image: clickhouse/clickhouse-server, x-ecs: {task: data}}\n",
        );
        let offered = aliases(&plan);
        assert!(
            offered.contains(&"clickhouse:8123 → clickhouse:8123".to_string()),
            "{offered:?}"
        );
        assert!(!offered.iter().any(|a| a.starts_with("clickhouse:9000")), "{offered:?}");
        assert!(offered.contains(&"minio:9000 → minio:9000".to_string()), "{offered:?}");
    }

    #[test]
    fn a_name_service_connect_cannot_take_gets_a_warning() {
        let (plan, codes) = planned(
            "services:\n  \
             api: {image: api, expose: [\"80\"], networks: {default: {aliases: [\"bad name\"]}}}\n  \
             web: {image: web}\n",
        );
        assert_eq!(aliases(&plan), ["api:80 → api:80"]);
        assert_eq!(
            codes.iter().filter(|c| **c == Code::UnservedName).count(),
            1,
            "{codes:?}"
        );
    }

    #[test]
    fn a_links_alias_two_linkers_give_two_services_reaches_the_first_with_a_warning() {
        let (plan, codes) = planned(
            "services:\n  web: {image: w, links: [\"db:database\"]}\n  \
             worker: {image: k, links: [\"db2:database\"]}\n  \
             db: {image: postgres:16}\n  db2: {image: postgres:16}\n",
        );
        let offered = aliases(&plan);
        assert!(offered.contains(&"database:5432 → db:5432".to_string()), "{offered:?}");
        assert!(
            !offered.iter().any(|a| a.starts_with("database:5432 → db2")),
            "{offered:?}"
        );
        assert!(codes.contains(&Code::SharedAlias), "{codes:?}");
    }

    #[test]
    fn an_image_port_inside_a_declared_range_is_the_range_s() {
        let (plan, codes) =
            planned("services:\n  minio: {image: minio/minio, expose: [\"9000-9001\"]}\n  app: {image: a}\n");
        assert!(aliases(&plan).is_empty(), "a range is not offered");
        assert!(!codes.contains(&Code::PortCollision), "{codes:?}");
    }

    #[test]
    fn a_container_is_offered_under_a_bounded_number_of_names_and_ports() {
        let ports: Vec<String> = (10000..10300).map(|p| format!("\"{p}\"")).collect();
        let (plan, codes) = planned(&format!(
            "services:\n  api: {{image: a, expose: [{}]}}\n  web: {{image: w}}\n",
            ports.join(", ")
        ));
        assert_eq!(aliases(&plan).len(), OFFERS_PER_CONTAINER);
        assert!(codes.contains(&Code::UnservedName), "{codes:?}");
    }

    #[test]
    fn cloud_map_names_fit_and_stay_unique() {
        let alias = |name: &str, port| ClientAlias {
            dns_name: name.to_string(),
            port,
        };
        let mut names = DiscoveryNames::default();
        assert_eq!(names.take(&alias("search.internal", 9200)), "search-internal-9200");
        assert_eq!(names.take(&alias("a-b", 80)), "a-b-80");
        assert_eq!(names.take(&alias("a.b", 80)), "a-b-80-2");
        assert_eq!(names.take(&alias("a_b", 80)), "a_b-80");
        let long = names.take(&alias(&"x".repeat(127), 65535));
        assert_eq!(long.len(), 64);
        assert!(long.ends_with("-65535"), "{long}");
        assert!(is_client_alias("search.internal") && is_client_alias("_a-b"));
        assert!(!is_client_alias("...") && !is_client_alias("a..b") && !is_client_alias("-a"));
        assert!(!is_client_alias(&"a".repeat(128)) && !is_client_alias("Api"));
    }
}
