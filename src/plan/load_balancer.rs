//! The public load balancer: which published ports become listeners, the service each listener
//! forwards to when no rule matches, the rules (`x-ecs.load_balancer`) that send some requests
//! to other services on a shared port, and HTTPS with a redirect from port 80 when the top-level
//! `x-ecs.certificate` is given.

use super::{
    infrastructure, logical_id, network_load_balancer, Container, Context, DeployValue, Exposure, LoadBalancerTarget,
    NetworkLoadBalancer, Source, TargetHealthCheck, TaskDraft,
};
use crate::diagnostic::{Code, Diagnostic, KeyPath};
use crate::normalise::{ListenerRouting, Service};
use indexmap::IndexMap;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// The TLS policy of HTTPS listeners: TLS 1.3, and TLS 1.2 with forward-secret (ECDHE) ciphers
/// only, the console's default for new listeners.
/// CloudFormation's most resources and outputs in a stack.
const STACK_RESOURCES: usize = 500;
const STACK_OUTPUTS: usize = 200;
/// An Application Load Balancer's default quotas (AWS raises them on request).
const LISTENERS_PER_LOAD_BALANCER: usize = 50;
const RULES_PER_LOAD_BALANCER: usize = 100;
const TARGET_GROUPS_PER_LOAD_BALANCER: usize = 100;

pub const SSL_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06";

/// The plain HTTP port that redirects to HTTPS when a certificate is given.
pub(super) const REDIRECT_PORT: u16 = 80;

/// The HTTPS port the certificate serves.
pub(super) const HTTPS_PORT: u16 = 443;

/// The most target groups one ECS service can register with.
const TARGET_GROUPS_PER_SERVICE: usize = 5;

/// Implicit rule priorities are this far apart, so a user can slot an explicit one between two.
const PRIORITY_STEP: u32 = 10;

/// A listener of the public load balancer.
#[derive(Debug, Clone, Serialize)]
pub struct Listener {
    pub port: u16,
    /// Its logical id in `alb.yaml`: one listener per port.
    pub logical_id: String,
    /// `HTTP`, or `HTTPS` with the certificate of `x-ecs.certificate`.
    pub protocol: &'static str,
    /// Where requests go when no rule matches: the one service on the port without rules.
    #[serde(flatten)]
    pub default_target: TargetGroup,
    /// The services with `x-ecs.load_balancer` on this port, lowest priority first.
    pub rules: Vec<ListenerRule>,
}

/// A target group: one container port of one service, registered by its ECS service.
#[derive(Debug, Clone, Serialize)]
pub struct TargetGroup {
    pub container: String,
    pub container_port: u16,
    /// How the load balancer talks to the container: `HTTP`, or `HTTPS` to a container serving TLS.
    pub target_protocol: &'static str,
    pub target_group_logical_id: String,
    pub health_check: TargetHealthCheck,
}

/// A listener rule: requests whose path and host match go to `target`.
#[derive(Debug, Clone, Serialize)]
pub struct ListenerRule {
    /// Its logical id in `alb.yaml`: priorities differ within a listener.
    pub logical_id: String,
    pub priority: u32,
    pub priority_reason: String,
    /// Path patterns; empty: any path.
    pub paths: Vec<String>,
    /// Host names; empty: any host.
    pub hosts: Vec<String>,
    #[serde(flatten)]
    pub target: TargetGroup,
}

/// HTTPS on 443 with the user's certificate, and 80 redirecting to it.
#[derive(Debug, Clone, Serialize)]
pub struct HttpsPlan {
    pub certificate_arn: String,
    pub ssl_policy: &'static str,
    /// The plain HTTP port whose listener answers every request with a redirect to HTTPS.
    pub redirect_port: u16,
    /// The logical id in `alb.yaml` of that listener (no other listener is on its port: with a
    /// certificate, a service published on it is served on the HTTPS port).
    pub redirect_logical_id: String,
    /// The port it redirects to: the HTTPS listener's.
    pub redirect_to_port: u16,
}

/// A published port that goes behind the load balancer, before listeners are decided.
struct PublicPort<'p> {
    /// The listener port: the published port, or 443 for 80 and 443 with a certificate.
    listener_port: u16,
    published: u16,
    service: &'p Service,
    container: String,
    container_port: u16,
    target_protocol: &'static str,
    task: usize,
    path: KeyPath,
}

/// HTTPS, when `x-ecs.certificate` is given and some service publishes 80 or 443.
pub(super) fn https_plan(cx: &mut Context, listeners: &[Listener]) -> Option<HttpsPlan> {
    let (arn, path) = cx.project.settings.infrastructure.certificate.as_ref()?;
    if let Some(secure) = listeners.iter().find(|l| l.protocol == "HTTPS") {
        return Some(HttpsPlan {
            certificate_arn: arn.clone(),
            ssl_policy: SSL_POLICY,
            redirect_port: REDIRECT_PORT,
            redirect_logical_id: listener_logical_id(REDIRECT_PORT),
            redirect_to_port: secure.port,
        });
    }
    cx.diagnostics.push(
        Diagnostic::warning(
            Code::UnusedSetting,
            path.clone(),
            "`x-ecs.certificate` is given, but no service publishes port 80 or 443, so no listener serves HTTPS",
        )
        .with_help("publish the web service on 80 or 443 (`\"80:8080\"`), or remove the certificate"),
    );
    None
}

/// The ports the load balancer admits from anywhere: each listener's, then the redirect's. No
/// other port is public: a published port that is not a listener's stays private (`public_ports`
/// warns or notes why).
pub(super) fn load_balancer_ports(listeners: &[Listener], https: Option<&HttpsPlan>) -> Vec<u16> {
    listeners
        .iter()
        .map(|l| l.port)
        .chain(https.map(|h| h.redirect_port))
        .collect()
}

/// What a task's ECS service registers with the load balancer.
pub(super) struct TaskLoadBalancing {
    pub(super) targets: Vec<LoadBalancerTarget>,
    /// Security groups its ECS service joins for the load balancer: the network load balancer's
    /// clients' group, behind a UDP listener.
    pub(super) security_groups: Vec<DeployValue>,
    /// Seconds ECS ignores the load balancer's health checks after a task starts.
    pub(super) grace_period: Option<u32>,
}

/// Published ports become listeners of the public load balancer, and each task registers
/// its containers with the target groups behind them (by task).
pub(super) fn listeners(
    cx: &mut Context,
    tasks: &[TaskDraft],
) -> (Vec<Listener>, Option<NetworkLoadBalancer>, Vec<TaskLoadBalancing>) {
    let https = cx.project.settings.infrastructure.certificate.is_some();
    let mut ports: IndexMap<u16, Vec<PublicPort>> = IndexMap::new();
    for (index, task) in tasks.iter().enumerate() {
        for container in &task.containers {
            // The secrets writer is no compose service, and publishes nothing.
            let Some(service) = cx.project.service(&container.service) else {
                continue;
            };
            for public in public_ports(service, container, index) {
                ports.entry(public.listener_port).or_default().push(public);
            }
        }
    }
    let mut used_ids: HashSet<String> = HashSet::new();
    let mut routed: HashSet<&str> = HashSet::new();
    let mut listeners = Vec::new();
    // Per task: its target groups, and where the port of each is published.
    let mut targets: BTreeMap<usize, Vec<(LoadBalancerTarget, KeyPath)>> = BTreeMap::new();
    let order: HashMap<&str, usize> = cx
        .project
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    for (port, mut candidates) in ports {
        candidates.iter().for_each(|c| {
            if c.service.ecs.load_balancer.is_some() {
                routed.insert(c.service.name.as_str());
            }
        });
        // Rules without an explicit priority are numbered in the order the services are written.
        candidates.sort_by_key(|c| order.get(c.service.name.as_str()).copied().unwrap_or(usize::MAX));
        let Some(listener) = listener(cx, port, &candidates, https, &mut used_ids) else {
            continue;
        };
        let groups = std::iter::once(&listener.default_target).chain(listener.rules.iter().map(|r| &r.target));
        for group in groups {
            // A listener has each container once (`listener` refuses more).
            let Some(owner) = candidates.iter().find(|c| c.container == group.container) else {
                continue;
            };
            let arn = cx.deferred(&format!("{}Arn", group.target_group_logical_id), Source::Stack("alb"));
            let target = LoadBalancerTarget {
                target_group_arn: arn,
                container: group.container.clone(),
                container_port: group.container_port,
            };
            targets
                .entry(owner.task)
                .or_default()
                .push((target, owner.path.clone()));
        }
        listeners.push(listener);
    }
    for service in &cx.project.services {
        if let Some(routing) = &service.ecs.load_balancer {
            if !routed.contains(service.name.as_str()) && service.outside_ecs().is_none() {
                cx.diagnostics.push(
                    Diagnostic::warning(
                        Code::UnusedSetting,
                        routing.path.clone(),
                        format!(
                            "`{}` has `x-ecs.load_balancer` rules, but no port of it goes behind the load balancer",
                            service.name
                        ),
                    )
                    .with_help(
                        "publish the port the rules are for (`ports: [\"80:3000\"]`), or remove `load_balancer`",
                    ),
                );
            }
        }
    }
    let (network, clients_group_tasks) = network_load_balancer::network_load_balancer(cx, tasks, &mut targets);
    let mut load_balancing = Vec::with_capacity(tasks.len());
    for (index, task) in tasks.iter().enumerate() {
        let (task_targets, paths): (Vec<LoadBalancerTarget>, Vec<KeyPath>) =
            targets.remove(&index).unwrap_or_default().into_iter().unzip();
        check_target_group_count(cx, &task.name, &paths);
        // Time for the app to start before the load balancer's health checks count.
        let project = cx.project;
        let services = task.containers.iter().filter_map(|c| project.service(&c.service));
        let security_groups = if clients_group_tasks.contains(&index) {
            vec![cx.deferred("NetworkClientsSecurityGroupId", Source::Stack("nlb"))]
        } else {
            Vec::new()
        };
        load_balancing.push(TaskLoadBalancing {
            grace_period: (!task_targets.is_empty()).then(|| infrastructure::grace_period(services)),
            targets: task_targets,
            security_groups,
        });
    }
    check_load_balancer_limits(cx, &listeners, https);
    (listeners, network, load_balancing)
}

/// An ECS service registers with at most [`TARGET_GROUPS_PER_SERVICE`] target groups (`paths`:
/// where each of the task's is published).
fn check_target_group_count(cx: &mut Context, task: &str, paths: &[KeyPath]) {
    if let Some(path) = paths.get(TARGET_GROUPS_PER_SERVICE) {
        cx.diagnostics.push(
            Diagnostic::error(
                Code::TooManyTargetGroups,
                path.clone(),
                format!(
                    "task `{task}` is behind {} target groups (one per public port and listener rule of its containers, on both load balancers); an ECS service registers with at most {TARGET_GROUPS_PER_SERVICE}",
                    paths.len()
                ),
            )
            .with_help("publish fewer ports, or move some of the services into tasks of their own with `x-ecs.task`"),
        );
    }
}

/// The container ports some listener or rule sends traffic to.
pub(super) fn load_balanced_ports(listeners: &[Listener]) -> Vec<u16> {
    listeners
        .iter()
        .flat_map(|l| std::iter::once(&l.default_target).chain(l.rules.iter().map(|r| &r.target)))
        .map(|t| t.container_port)
        .collect::<BTreeSet<u16>>()
        .into_iter()
        .collect()
}

/// CloudFormation's limits on the stack are hard: over them, `alb.yaml` cannot deploy. The
/// load balancer's quotas are AWS's defaults, which an account can have raised: a warning.
fn check_load_balancer_limits(cx: &mut Context, listeners: &[Listener], https: bool) {
    let rules: usize = listeners.iter().map(|l| l.rules.len()).sum();
    let target_groups = listeners.len() + rules;
    let listener_count = listeners.len() + usize::from(https && listeners.iter().any(|l| l.protocol == "HTTPS"));
    // The stack's own resources beside these: load balancer, its security group, the tasks'
    // ingress rules (one per container port at most); outputs beside the target groups: two.
    let resources = 2 + listener_count + rules + target_groups * 2;
    let outputs = target_groups + 2;
    let at = KeyPath::root().key("services");
    if resources > STACK_RESOURCES || outputs > STACK_OUTPUTS {
        cx.diagnostics.push(
                Diagnostic::error(
                    Code::StackTooLarge,
                    at.clone(),
                    format!("the load balancer's stack would have {resources} resources and {outputs} outputs; CloudFormation takes {STACK_RESOURCES} and {STACK_OUTPUTS}"),
                )
                .with_help("publish fewer ports and rules: put services behind a load balancer of their own"),
            );
        return;
    }
    for (count, quota, what) in [
        (listener_count, LISTENERS_PER_LOAD_BALANCER, "listeners"),
        (rules, RULES_PER_LOAD_BALANCER, "listener rules"),
        (target_groups, TARGET_GROUPS_PER_LOAD_BALANCER, "target groups"),
    ] {
        if count > quota {
            cx.diagnostics.push(
                    Diagnostic::warning(
                        Code::LoadBalancerQuota,
                        at.clone(),
                        format!("the load balancer has {count} {what}; an account's default quota is {quota}"),
                    )
                    .with_help("ask AWS to raise the quota (Service Quotas, Elastic Load Balancing) before deploying, or publish fewer ports and rules"),
                );
        }
    }
}

/// The ports of `container` that go behind the load balancer, as its port plans decided.
fn public_ports<'p>(service: &'p Service, container: &Container, task: usize) -> Vec<PublicPort<'p>> {
    container
        .ports
        .iter()
        .filter_map(|plan| match plan.exposure {
            Exposure::Public {
                listener_port,
                published,
                target_protocol,
            } => Some(PublicPort {
                listener_port,
                published,
                service,
                container: container.name.clone(),
                container_port: plan.port,
                target_protocol,
                task,
                path: plan.path.clone(),
            }),
            Exposure::Network { .. } | Exposure::Private => None,
        })
        .collect()
}

/// The listener on `port` for the services publishing it: exactly one without rules is the
/// default; the others need rules that differ and priorities that differ.
fn listener(
    cx: &mut Context,
    port: u16,
    candidates: &[PublicPort],
    https: bool,
    used_ids: &mut HashSet<String>,
) -> Option<Listener> {
    let served = if https && port == HTTPS_PORT {
        " (with `x-ecs.certificate`, ports 80 and 443 are both served on 443)"
    } else {
        ""
    };
    let mut published_by: HashMap<&str, (u16, u16)> = HashMap::new();
    for candidate in candidates {
        let this = (candidate.published, candidate.container_port);
        if let Some((published, container_port)) = published_by.insert(&candidate.container, this) {
            cx.diagnostics.push(
                    Diagnostic::error(
                        Code::ListenerCollision,
                        candidate.path.clone(),
                        format!(
                            "`{}` publishes container ports {container_port} (as {published}) and {} (as {}), which become one listener on {port}{served}; it forwards to one",
                            candidate.container, candidate.container_port, candidate.published
                        ),
                    )
                    .with_help("publish one of them"),
                );
            return None;
        }
    }
    let defaults: Vec<&PublicPort> = candidates
        .iter()
        .filter(|c| c.service.ecs.load_balancer.is_none())
        .collect();
    let mut failed = false;
    if let [first, second, ..] = defaults[..] {
        cx.diagnostics.push(
                Diagnostic::error(
                    Code::ListenerCollision,
                    second.path.clone(),
                    format!(
                        "`{}` and `{}` both publish port {port} without `x-ecs.load_balancer` rules{served}; a listener forwards the requests no rule matches to one service",
                        first.container, second.container
                    ),
                )
                .with_help("give all but one of them rules, `x-ecs: {load_balancer: {path: \"/api/*\"}}` or `{host: api.example.com}`; the one without rules takes the rest. Or publish different ports"),
            );
        failed = true;
    }
    let ruled: Vec<(&PublicPort, &ListenerRouting)> = candidates
        .iter()
        .filter_map(|c| c.service.ecs.load_balancer.as_ref().map(|r| (c, r)))
        .collect();
    if let (true, Some((_, routing))) = (defaults.is_empty(), ruled.first()) {
        let names: Vec<&str> = ruled.iter().map(|(c, _)| c.container.as_str()).collect();
        cx.diagnostics.push(
                Diagnostic::error(
                    Code::ListenerNoDefault,
                    routing.path.clone(),
                    format!(
                        "every service on port {port} ({}) has `x-ecs.load_balancer` rules{served}, so the listener has no service for the requests no rule matches",
                        names.join(", ")
                    ),
                )
                .with_help(format!("remove `load_balancer` from the one service that should take the requests no rule matches (often the web front end), or publish another service on port {port} without rules")),
            );
        failed = true;
    }
    let mut seen: HashMap<(Vec<&str>, Vec<&str>), &str> = HashMap::new();
    for (candidate, routing) in &ruled {
        let mut paths: Vec<&str> = routing.paths.iter().map(String::as_str).collect();
        let mut hosts: Vec<&str> = routing.hosts.iter().map(String::as_str).collect();
        paths.sort_unstable();
        hosts.sort_unstable();
        if let Some(other) = seen.insert((paths, hosts), &candidate.container) {
            cx.diagnostics.push(
                    Diagnostic::error(
                        Code::ListenerSameRule,
                        routing.path.clone(),
                        format!(
                            "`{other}` and `{}` have the same rule on port {port} ({}){served}; the load balancer would send every request it matches to one of them",
                            candidate.container,
                            describe(routing)
                        ),
                    )
                    .with_help("change the `path` or `host` of one of them"),
                );
            failed = true;
        }
    }
    let priorities = priorities(cx, port, &ruled);
    if failed {
        return None;
    }
    let priorities = priorities?;
    let default = defaults.first()?;
    let default_target = target_group(cx, default, format!("TargetGroupPort{port}"), used_ids)?;
    let mut rules = Vec::new();
    for ((candidate, routing), (priority, priority_reason)) in ruled.iter().zip(priorities) {
        let id = format!("TargetGroupPort{port}{}", logical_id(&candidate.container));
        let target = target_group(cx, candidate, id, used_ids)?;
        rules.push(ListenerRule {
            logical_id: format!("{}Rule{priority}", listener_logical_id(port)),
            priority,
            priority_reason,
            paths: routing.paths.clone(),
            hosts: routing.hosts.clone(),
            target,
        });
    }
    rules.sort_by_key(|r| r.priority);
    Some(Listener {
        port,
        logical_id: listener_logical_id(port),
        protocol: if https && port == HTTPS_PORT { "HTTPS" } else { "HTTP" },
        default_target,
        rules,
    })
}

/// The logical id of the listener on `port`.
fn listener_logical_id(port: u16) -> String {
    format!("Listener{port}")
}

/// Each rule's priority and why: the one it gives, else the next free multiple of ten in the
/// order the services are written. `None` (with an error) when two give the same.
fn priorities(cx: &mut Context, port: u16, ruled: &[(&PublicPort, &ListenerRouting)]) -> Option<Vec<(u32, String)>> {
    let mut explicit: HashMap<u32, &str> = HashMap::new();
    let mut clash = false;
    for (candidate, routing) in ruled {
        let Some((priority, path)) = &routing.priority else {
            continue;
        };
        if let Some(other) = explicit.insert(*priority, &candidate.container) {
            cx.diagnostics.push(
                    Diagnostic::error(
                        Code::ListenerSamePriority,
                        path.clone(),
                        format!("`{other}` and `{}` both have priority {priority} on port {port}; the rules of a listener need different priorities", candidate.container),
                    )
                    .with_help("give one of them another `priority`, or leave it out: rules without one are numbered 10, 20, … in the order the services are written"),
                );
            clash = true;
        }
    }
    if clash {
        return None;
    }
    let mut next = 0;
    let assigned = ruled
        .iter()
        .map(|(_, routing)| match &routing.priority {
            Some((priority, _)) => (*priority, "`x-ecs.load_balancer.priority`".to_string()),
            None => {
                next += PRIORITY_STEP;
                while explicit.contains_key(&next) {
                    next += PRIORITY_STEP;
                }
                (next, "the order the services are written in".to_string())
            }
        })
        .collect();
    Some(assigned)
}

/// The target group of `candidate`, named `id`; `None` (with an error) when another target
/// group of the listener already has that id.
fn target_group(
    cx: &mut Context,
    candidate: &PublicPort,
    id: String,
    used_ids: &mut HashSet<String>,
) -> Option<TargetGroup> {
    if !used_ids.insert(id.clone()) {
        cx.diagnostics.push(
            Diagnostic::error(
                Code::NameCollision,
                candidate.path.clone(),
                format!(
                    "the target group of `{}` on port {} would be named `{id}`, as another is",
                    candidate.container, candidate.listener_port
                ),
            )
            .with_help("rename one of the services: CloudFormation ids keep only letters and digits"),
        );
        return None;
    }
    Some(TargetGroup {
        container: candidate.container.clone(),
        container_port: candidate.container_port,
        target_protocol: candidate.target_protocol,
        health_check: infrastructure::target_health_check(candidate.service, candidate.container_port),
        target_group_logical_id: id,
    })
}

/// A rule's conditions in words: `path /api/*, host api.example.com`.
fn describe(routing: &ListenerRouting) -> String {
    let mut parts = Vec::new();
    if !routing.paths.is_empty() {
        parts.push(format!("path {}", routing.paths.join(" or ")));
    }
    if !routing.hosts.is_empty() {
        parts.push(format!("host {}", routing.hosts.join(" or ")));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use crate::plan::Plan;

    fn plan(compose: &str) -> Plan {
        crate::test_conversion(compose).plan.expect("it converts")
    }

    /// The web on 80, the api beside it with a path rule, and grafana on 3001.
    const SHOP: &str = "services:\n  web:\n    image: nginx\n    ports: [\"80:8080\"]\n  api:\n    image: api\n    ports: [\"80:3000\"]\n    x-ecs:\n      load_balancer: {path: /api/*}\n  grafana:\n    image: grafana/grafana\n    ports: [\"3001:3000\"]\n";

    const CERTIFICATE: &str =
        "x-ecs:\n  certificate: arn:aws:acm:us-east-1:123456789012:certificate/0f6a4b1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b\n";

    #[test]
    fn listeners_and_rules_get_their_logical_ids_here() {
        let plan = plan(SHOP);
        let ids: Vec<(&str, Vec<&str>)> = plan
            .listeners
            .iter()
            .map(|l| {
                (
                    l.logical_id.as_str(),
                    l.rules.iter().map(|r| r.logical_id.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            ids,
            [("Listener80", vec!["Listener80Rule10"]), ("Listener3001", vec![])]
        );
    }

    #[test]
    fn with_a_certificate_port_80_redirects_to_the_https_listener() {
        let plan = plan(&format!("{SHOP}{CERTIFICATE}"));
        let https = plan.https.as_ref().expect("HTTPS");
        assert_eq!(
            (
                https.redirect_port,
                https.redirect_logical_id.as_str(),
                https.redirect_to_port
            ),
            (80, "Listener80", 443)
        );
        let secure: Vec<u16> = plan
            .listeners
            .iter()
            .filter(|l| l.protocol == "HTTPS")
            .map(|l| l.port)
            .collect();
        assert_eq!(secure, [443]);
        assert!(
            plan.listeners.iter().all(|l| l.logical_id != https.redirect_logical_id),
            "no listener shares the redirect's id"
        );
    }

    #[test]
    fn public_ports_are_the_listeners_and_the_redirect() {
        assert_eq!(plan(SHOP).public_ports, [80, 3001]);
        // With a certificate, the web's 80 is served on 443, and 80 only redirects.
        assert_eq!(plan(&format!("{SHOP}{CERTIFICATE}")).public_ports, [443, 3001, 80]);
        // A port published on the loopback address, or one that is not HTTP, stays private.
        let private = "services:\n  web:\n    image: nginx\n    ports: [\"127.0.0.1:8080:80\"]\n  db:\n    image: postgres:16\n    ports: [\"5432:5432\"]\n";
        assert!(plan(private).public_ports.is_empty());
    }
}
