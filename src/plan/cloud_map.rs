//! Cloud Map DNS names for clustered peers. Software that must tell its own address from its
//! peers' (MinIO's distributed mode, Elasticsearch and Cassandra seeds) cannot use a Service
//! Connect alias, which resolves to a proxy on the task's loopback: each peer gets
//! `NAME.NAMESPACE`, an A record of its task's own address, and its peers' references become it,
//! MinIO's `minio{1...4}` ellipses included.

use super::hostnames::{names_a_host, scan};
use super::{logical_id, wellknown, Context, DeployValue, Source, TaskDraft};
use crate::diagnostic::{Code, Diagnostic};
use crate::normalise::Service;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};

/// The most names one ellipsis expands to: MinIO's erasure sets are at most 16 drives, on at
/// most a few dozen servers.
const ELLIPSIS_NAMES: u32 = 64;

/// The peers that get DNS names, and the namespace those names are in.
#[derive(Debug, Default)]
pub(super) struct Peers {
    pub(super) namespace: String,
    pub(super) services: BTreeSet<String>,
}

impl Peers {
    /// The DNS name of a peer (`minio1.app.internal`), for a reference from another peer.
    pub(super) fn dns_name(&self, referrer: &str, target: &str) -> Option<String> {
        (self.services.contains(referrer) && self.services.contains(target))
            .then(|| format!("{}.{}", target.to_ascii_lowercase(), self.namespace))
    }
}

/// The Cloud Map names of the plan: a private DNS namespace in the VPC, a Cloud Map service per
/// peer (its ECS service registers its tasks' addresses there).
#[derive(Debug, Clone, Serialize)]
pub struct CloudMapPlan {
    pub namespace: String,
    pub services: Vec<CloudMapService>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CloudMapService {
    pub service: String,
    /// Its DNS label: `NAME` of `NAME.NAMESPACE`.
    pub name: String,
    pub logical_id: String,
    /// The base stack's output with its ARN, which the ECS service's registry names.
    pub output: String,
}

/// The services of well-known clustered software that name a peer of the same software (or an
/// ellipsis over such peers): they, and the peers they name, get DNS names; and every service
/// with `x-ecs.peer_dns`.
pub(super) fn peers(cx: &Context, tasks: &[TaskDraft]) -> Peers {
    let project = cx.project;
    let mut peers = BTreeSet::new();
    for container in tasks.iter().flat_map(|t| &t.containers) {
        let Some(service) = project.service(&container.service) else {
            continue;
        };
        let image = service.image.as_deref().unwrap_or_default();
        if !(service.ecs.peer_dns || wellknown::is_clustered_image(image)) {
            continue;
        }
        // A peer: a service of the same well-known clustered software, or one that asks for
        // `x-ecs.peer_dns` as this one does.
        let same_software = |name: &str| {
            project
                .service(name)
                .filter(|s| s.outside_ecs().is_none())
                .is_some_and(|other| {
                    (service.ecs.peer_dns && other.ecs.peer_dns)
                        || (wellknown::is_clustered_image(image)
                            && other
                                .image
                                .as_deref()
                                .is_some_and(|o| wellknown::same_software(image, o)))
                })
        };
        // (value, whether it is a host where it stands: `discovery.seed_hosts: es02`)
        let values = container
            .environment
            .iter()
            .map(|(variable, value)| (value, names_a_host(variable)))
            .chain(container.command.iter().flatten().map(|a| (a, false)))
            .chain(container.entrypoint.iter().flatten().map(|a| (a, false)));
        let mut named = BTreeSet::new();
        for (value, holds_a_host) in values {
            for hit in scan(value, holds_a_host, same_software) {
                named.insert(hit.name(value).to_string());
            }
            for (_, names) in ellipses(value) {
                named.extend(names.into_iter().filter(|n| same_software(n)));
            }
        }
        if named.iter().any(|n| *n != service.name) || service.ecs.peer_dns {
            peers.insert(service.name.clone());
            peers.extend(named);
        }
    }
    Peers {
        namespace: format!("{}.internal", cx.project.name),
        services: peers,
    }
}

/// Each `NAME{A...B}` in `value` (MinIO's ellipsis, `minio{1...4}`): its byte range, and the names
/// it expands to, when it expands to at most [`ELLIPSIS_NAMES`].
fn ellipses(value: &str) -> Vec<((usize, usize), Vec<String>)> {
    let bytes = value.as_bytes();
    let is_name = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(offset) = value[from..].find("...") {
        let dots = from + offset;
        from = dots + 3;
        let Some(open) = value[..dots].rfind('{') else { continue };
        let Some(close) = value[dots..].find('}').map(|c| dots + c) else {
            continue;
        };
        let (Ok(first), Ok(last)) = (
            value[open + 1..dots].parse::<u32>(),
            value[dots + 3..close].parse::<u32>(),
        ) else {
            continue;
        };
        let start = bytes[..open].iter().rposition(|b| !is_name(*b)).map_or(0, |i| i + 1);
        let end = close + 1 + bytes[close + 1..].iter().take_while(|b| is_name(**b)).count();
        if start == open || first > last || last - first >= ELLIPSIS_NAMES {
            continue;
        }
        let (prefix, suffix) = (&value[start..open], &value[close + 1..end]);
        let names = (first..=last).map(|n| format!("{prefix}{n}{suffix}")).collect();
        found.push(((start, end), names));
        from = end;
    }
    found
}

/// Each ellipsis over peers in the values of peers gets the namespace: `minio{1...4}` becomes
/// `minio{1...4}.app.internal`, which MinIO expands to the peers' DNS names.
pub(super) fn qualify_ellipses(peers: &Peers, tasks: &mut [TaskDraft]) {
    let qualify = |value: &mut String| {
        let mut qualified = String::with_capacity(value.len());
        let mut copied = 0;
        for ((_, end), names) in ellipses(value) {
            if names.iter().all(|n| peers.services.contains(n)) {
                qualified.push_str(&value[copied..end]);
                qualified.push('.');
                qualified.push_str(&peers.namespace);
                copied = end;
            }
        }
        if copied > 0 {
            qualified.push_str(&value[copied..]);
            *value = qualified;
        }
    };
    for container in tasks.iter_mut().flat_map(|t| &mut t.containers) {
        if !peers.services.contains(&container.service) {
            continue;
        }
        container.environment.iter_mut().for_each(|(_, value)| qualify(value));
        container.command.iter_mut().flatten().for_each(qualify);
        container.entrypoint.iter_mut().flatten().for_each(qualify);
    }
}

/// The Cloud Map services, and by task the registry its ECS service registers with (one per ECS
/// service: a second peer in one task gets a warning).
pub(super) fn cloud_map(
    cx: &mut Context,
    peers: &Peers,
    tasks: &[TaskDraft],
) -> (Option<CloudMapPlan>, Vec<Option<DeployValue>>) {
    let mut registries = vec![None; tasks.len()];
    if peers.services.is_empty() {
        return (None, registries);
    }
    let mut services = Vec::new();
    let mut ids: HashMap<String, usize> = HashMap::new();
    for (index, task) in tasks.iter().enumerate() {
        for container in &task.containers {
            if !peers.services.contains(&container.service) {
                continue;
            }
            let service: Option<&Service> = cx.project.service(&container.service);
            let Some(service) = service else { continue };
            if registries[index].is_some() {
                cx.diagnostics.push(
                    Diagnostic::warning(
                        Code::SharedRegistry,
                        service.path.clone(),
                        format!(
                            "`{}` shares task `{}` with another peer, and an ECS service registers one Cloud Map name: `{}` gets none",
                            service.name, task.name, service.name
                        ),
                    )
                    .with_help("put each peer in a task of its own"),
                );
                continue;
            }
            let base = format!("CloudMap{}", logical_id(&service.name));
            let count = ids.entry(base.clone()).or_insert(0);
            *count += 1;
            let logical = if *count == 1 { base } else { format!("{base}{count}") };
            let output = format!("{logical}Arn");
            registries[index] = Some(cx.deferred(&output, Source::Stack("base")));
            services.push(CloudMapService {
                service: service.name.clone(),
                name: service.name.to_ascii_lowercase(),
                logical_id: logical,
                output,
            });
        }
    }
    let plan = CloudMapPlan {
        namespace: peers.namespace.clone(),
        services,
    };
    (Some(plan), registries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ellipses_expand_within_bounds() {
        let value = "server http://minio{1...4}/data{1...2} http://x{9...200}/d";
        let found = ellipses(value);
        assert_eq!(found.len(), 2, "{found:?}");
        let ((start, end), names) = &found[0];
        assert_eq!(&value[*start..*end], "minio{1...4}");
        assert_eq!(names, &["minio1", "minio2", "minio3", "minio4"]);
        assert_eq!(found[1].1, ["data1", "data2"]);
        assert!(ellipses("a{3...1} {1...2} b{x...y}").is_empty());
    }

    #[test]
    fn minio_peers_get_dns_names_and_their_ellipsis_the_namespace() {
        let project = crate::plan::testing::project(
            "x-minio: &minio\n  image: minio/minio\n  command: server http://minio{1...2}/data{1...2}\n\
             services:\n  minio1: *minio\n  minio2: *minio\n  \
             app: {image: app, environment: {S3: \"http://minio1:9000\"}}\n",
        );
        let mut diagnostics = crate::diagnostic::Diagnostics::default();
        let plan = crate::plan::plan(
            &project,
            &crate::load::stack_outputs::SavedOutputs::empty(),
            &mut diagnostics,
        )
        .expect("it plans");
        let cloud_map = plan.cloud_map.expect("peers");
        assert_eq!(cloud_map.namespace, "app.internal");
        let names: Vec<&str> = cloud_map.services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["minio1", "minio2"], "the app is a client, not a peer");
        let minio1 = &plan.tasks[0];
        assert_eq!(
            minio1.containers[0].command.as_deref().map(|c| c.join(" ")).as_deref(),
            Some("server http://minio{1...2}.app.internal/data{1...2}")
        );
        assert!(minio1.service_registry.is_some());
        assert!(plan.tasks[2].service_registry.is_none());
        assert!(plan
            .references
            .iter()
            .all(|r| matches!(r.outcome, crate::plan::Outcome::ServiceConnect { .. })));
    }

    #[test]
    fn peers_of_other_software_ask_with_x_ecs() {
        let project = crate::plan::testing::project(
            "services:\n  \
             node1: {image: rqlite/rqlite, command: [\"-join\", \"node2:4002\"], x-ecs: {peer_dns: true}}\n  \
             node2: {image: rqlite/rqlite, x-ecs: {peer_dns: true}}\n  \
             app: {image: app, environment: {DB: \"http://node1:4001\"}}\n",
        );
        let mut diagnostics = crate::diagnostic::Diagnostics::default();
        let plan = crate::plan::plan(
            &project,
            &crate::load::stack_outputs::SavedOutputs::empty(),
            &mut diagnostics,
        )
        .expect("it plans");
        let names: Vec<&str> = plan
            .cloud_map
            .iter()
            .flat_map(|m| &m.services)
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(names, ["node1", "node2"]);
        assert_eq!(
            plan.tasks[0].containers[0].command.as_deref().map(|c| c[1].as_str()),
            Some("node2.app.internal:4002")
        );
        let app = plan
            .references
            .iter()
            .find(|r| r.service == "app")
            .expect("the app's reference");
        assert!(
            matches!(app.outcome, crate::plan::Outcome::ServiceConnect { .. }),
            "a client keeps Service Connect"
        );
    }

    #[test]
    fn two_peers_in_one_task_share_one_registry_with_a_warning() {
        let project = crate::plan::testing::project(
            "services:\n  \
             es01: {image: elasticsearch:8.15.0, environment: {discovery.seed_hosts: es02}, x-ecs: {task: search}}\n  \
             es02: {image: elasticsearch:8.15.0, environment: {discovery.seed_hosts: es01}, x-ecs: {task: search}}\n",
        );
        let mut diagnostics = crate::diagnostic::Diagnostics::default();
        let plan = crate::plan::plan(
            &project,
            &crate::load::stack_outputs::SavedOutputs::empty(),
            &mut diagnostics,
        )
        .expect("it plans");
        assert_eq!(plan.cloud_map.expect("peers").services.len(), 1);
        assert!(diagnostics.iter().any(|d| d.code == Code::SharedRegistry));
    }
}
