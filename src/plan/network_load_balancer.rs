//! The public network load balancer: published ports that are not HTTP (or that nothing says
//! are), each a TCP, UDP or TCP_UDP listener that passes connections through to one container,
//! checked over TCP, which any listening server passes.

use super::{Context, Exposure, LoadBalancerTarget, Source, TaskDraft};
use crate::diagnostic::{Code, Diagnostic, KeyPath};
use crate::normalise::Protocol;
use indexmap::IndexMap;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// A network load balancer's default quota of listeners (AWS raises it on request).
const LISTENERS_PER_LOAD_BALANCER: usize = 50;
/// CloudFormation's most resources and outputs in a stack.
const STACK_RESOURCES: usize = 500;
const STACK_OUTPUTS: usize = 200;

/// The network load balancer, when some published port goes behind it.
#[derive(Debug, Clone, Serialize)]
pub struct NetworkLoadBalancer {
    pub listeners: Vec<NetworkListener>,
    /// What the tasks' group admits from the load balancer, and the clients' group from anywhere.
    pub task_ingress: Vec<TaskIngress>,
    /// Whether some task is behind a UDP (or TCP_UDP) listener: it joins a group of its own,
    /// `NetworkClientsSecurityGroup`, which admits the clients on those ports.
    pub clients_group: bool,
}

/// A listener: connections on `port` go to one container's port, as they come.
#[derive(Debug, Clone, Serialize)]
pub struct NetworkListener {
    pub port: u16,
    /// `TCP`, `UDP`, or `TCP_UDP` when the port is published for both.
    pub protocol: &'static str,
    pub logical_id: String,
    pub target_group_logical_id: String,
    pub container: String,
    pub container_port: u16,
    /// The container's TCP port the health check connects to: the traffic port, or for a UDP
    /// listener a TCP port of the same container.
    pub health_check_port: u16,
}

/// A port the tasks' security group opens for the network load balancer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct TaskIngress {
    /// `tcp` or `udp`, as a security group rule writes it.
    pub ip_protocol: &'static str,
    pub port: u16,
    /// UDP (and TCP_UDP) target groups keep the client's address, so the rule cannot name the load
    /// balancer's group: it admits the port from anywhere, on the clients' group, which only the
    /// tasks behind such listeners join (without public addresses only the load balancer reaches
    /// them). TCP target groups do not keep it: the tasks' own group admits the load balancer's.
    pub from_anywhere: bool,
}

/// A published port behind the network load balancer, before listeners are decided.
struct Published {
    task: usize,
    container: String,
    container_port: u16,
    protocol: Protocol,
    /// A TCP port the container listens on, for a UDP port's health check.
    tcp_port: Option<u16>,
    path: KeyPath,
}

/// The listeners of the network load balancer, and the target groups each task registers with
/// (added to `targets`, by task, with where each port is published).
pub(super) fn network_load_balancer(
    cx: &mut Context,
    tasks: &[TaskDraft],
    targets: &mut BTreeMap<usize, Vec<(LoadBalancerTarget, KeyPath)>>,
) -> (Option<NetworkLoadBalancer>, BTreeSet<usize>) {
    let by_port = published_ports(tasks);
    let mut clients_group_tasks = BTreeSet::new();
    if by_port.is_empty() {
        return (None, clients_group_tasks);
    }
    let mut listeners = Vec::new();
    let mut task_ingress: BTreeSet<(bool, &'static str, u16)> = BTreeSet::new();
    for (port, published) in by_port {
        let first = &published[0];
        if let Some(other) = published
            .iter()
            .find(|p| p.container != first.container || p.container_port != first.container_port)
        {
            cx.diagnostics.push(
                Diagnostic::error(
                    Code::ListenerCollision,
                    other.path.clone(),
                    format!(
                        "`{}` ({}) and `{}` ({}) are both published on {port} behind the network load balancer, whose listener forwards to one",
                        first.container, first.container_port, other.container, other.container_port
                    ),
                )
                .with_help("publish them on different ports"),
            );
            continue;
        }
        let tcp = published.iter().any(|p| p.protocol == Protocol::Tcp);
        let udp = published.iter().any(|p| p.protocol == Protocol::Udp);
        let protocol = match (tcp, udp) {
            (true, true) => "TCP_UDP",
            (false, true) => "UDP",
            _ => "TCP",
        };
        let health_check_port = if tcp {
            first.container_port
        } else {
            first.tcp_port.unwrap_or(first.container_port)
        };
        // A UDP or TCP_UDP target group keeps the client's address (TCP too): its task joins the
        // group that admits clients from anywhere on those ports; the health check comes from the
        // load balancer.
        if tcp {
            task_ingress.insert((udp, "tcp", first.container_port));
        }
        if udp {
            task_ingress.insert((true, "udp", first.container_port));
            if !tcp {
                task_ingress.insert((false, "tcp", health_check_port));
            }
            clients_group_tasks.insert(first.task);
        }
        let target_group_logical_id = format!("NetworkTargetGroupPort{port}");
        let arn = cx.deferred(&format!("{target_group_logical_id}Arn"), Source::Stack("nlb"));
        targets.entry(first.task).or_default().push((
            LoadBalancerTarget {
                target_group_arn: arn,
                container: first.container.clone(),
                container_port: first.container_port,
            },
            first.path.clone(),
        ));
        listeners.push(NetworkListener {
            port,
            protocol,
            logical_id: format!("NetworkListenerPort{port}"),
            target_group_logical_id,
            container: first.container.clone(),
            container_port: first.container_port,
            health_check_port,
        });
    }
    check_quotas(cx, &listeners, task_ingress.len());
    if !clients_group_tasks.is_empty() && cx.project.settings.assign_public_ip {
        cx.diagnostics.push(
            Diagnostic::warning(
                Code::PublicTaskPort,
                KeyPath::root().key("x-ecs").key("assign_public_ip"),
                "the tasks behind UDP listeners admit their clients from anywhere (UDP keeps the client's address), and with public addresses they are reached on those ports directly too, not only through the network load balancer",
            )
            .with_help("leave `assign_public_ip` out and give the private subnets a NAT gateway or VPC endpoints"),
        );
    }
    let task_ingress = task_ingress
        .into_iter()
        .map(|(from_anywhere, ip_protocol, port)| TaskIngress {
            ip_protocol,
            port,
            from_anywhere,
        })
        .collect();
    let network = NetworkLoadBalancer {
        listeners,
        task_ingress,
        clients_group: !clients_group_tasks.is_empty(),
    };
    (Some(network), clients_group_tasks)
}

/// The ports behind the network load balancer, by listener port, in the order of the tasks.
fn published_ports(tasks: &[TaskDraft]) -> IndexMap<u16, Vec<Published>> {
    let mut by_port: IndexMap<u16, Vec<Published>> = IndexMap::new();
    for (task, draft) in tasks.iter().enumerate() {
        for container in &draft.containers {
            let tcp_port = container
                .port_mappings
                .iter()
                .find(|m| m.protocol == Protocol::Tcp)
                .map(|m| m.container_port);
            for plan in &container.ports {
                if let Exposure::Network { listener_port, .. } = plan.exposure {
                    by_port.entry(listener_port).or_default().push(Published {
                        task,
                        container: container.name.clone(),
                        container_port: plan.port,
                        protocol: plan.protocol,
                        tcp_port,
                        path: plan.path.clone(),
                    });
                }
            }
        }
    }
    by_port
}

/// CloudFormation's limits on the stack are hard (an error); the listener quota is AWS's default,
/// which an account can have raised (a warning).
fn check_quotas(cx: &mut Context, listeners: &[NetworkListener], ingress_rules: usize) {
    let at = KeyPath::root().key("services");
    // The load balancer and its security group, a listener and a target group per port, and the
    // tasks' ingress rules; an output per target group, and the DNS name.
    let resources = 2 + listeners.len() * 2 + ingress_rules;
    let outputs = listeners.len() + 1;
    if resources > STACK_RESOURCES || outputs > STACK_OUTPUTS {
        cx.diagnostics.push(
            Diagnostic::error(
                Code::StackTooLarge,
                at,
                format!("the network load balancer's stack would have {resources} resources and {outputs} outputs; CloudFormation takes {STACK_RESOURCES} and {STACK_OUTPUTS}"),
            )
            .with_help("publish fewer ports"),
        );
    } else if listeners.len() > LISTENERS_PER_LOAD_BALANCER {
        cx.diagnostics.push(
            Diagnostic::warning(
                Code::LoadBalancerQuota,
                at,
                format!(
                    "the network load balancer has {} listeners; an account's default quota is {LISTENERS_PER_LOAD_BALANCER}",
                    listeners.len()
                ),
            )
            .with_help("ask AWS to raise the quota (Service Quotas, Elastic Load Balancing) before deploying, or publish fewer ports"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::project;
    use crate::plan::{plan, DeployValue, Plan};

    fn planned(compose: &str) -> (Option<Plan>, Vec<Code>) {
        let project = project(compose);
        let mut diagnostics = crate::diagnostic::Diagnostics::default();
        let plan = plan(
            &project,
            &crate::load::stack_outputs::SavedOutputs::empty(),
            &mut diagnostics,
        );
        (plan, diagnostics.iter().map(|d| d.code).collect())
    }

    #[test]
    fn tcp_and_udp_on_one_port_are_one_listener_and_udp_is_checked_over_tcp() {
        let (plan, _) = planned(
            "services:\n  \
             call: {image: call, ports: [\"8443:8443/udp\", \"8443:8443/tcp\"]}\n  \
             voice: {image: voice, ports: [\"9987:9987/udp\"], expose: [\"10011\"]}\n",
        );
        let plan = plan.expect("it plans");
        let network = plan.network_load_balancer.expect("a network load balancer");
        let listeners: Vec<(u16, &str, u16)> = network
            .listeners
            .iter()
            .map(|l| (l.port, l.protocol, l.health_check_port))
            .collect();
        assert_eq!(listeners, [(8443, "TCP_UDP", 8443), (9987, "UDP", 10011)]);
        let ingress: Vec<(&str, u16, bool)> = network
            .task_ingress
            .iter()
            .map(|r| (r.ip_protocol, r.port, r.from_anywhere))
            .collect();
        // UDP keeps the client's address (TCP_UDP for TCP too): those ports are open from
        // anywhere on the clients' group; a UDP port's health check comes from the load balancer.
        assert_eq!(
            ingress,
            [
                ("tcp", 10011, false),
                ("tcp", 8443, true),
                ("udp", 8443, true),
                ("udp", 9987, true)
            ]
        );
        assert!(network.clients_group);
        let voice = plan.tasks.iter().find(|t| t.name == "voice").expect("voice");
        assert_eq!(voice.load_balancers.len(), 1);
        assert_eq!(voice.load_balancers[0].container_port, 9987);
        assert_eq!(
            voice.network_groups,
            [DeployValue::Placeholder("NetworkClientsSecurityGroupId".into())],
            "only the tasks behind UDP listeners are in the clients' group"
        );
    }

    #[test]
    fn tasks_with_public_addresses_behind_udp_get_a_warning() {
        let (_, codes) = planned(
            "x-ecs: {assign_public_ip: true}\nservices:\n  voice: {image: v, ports: [\"9987:9987/udp\"], expose: [\"10011\"]}\n",
        );
        assert!(codes.contains(&Code::PublicTaskPort), "{codes:?}");
        let (_, codes) =
            planned("x-ecs: {assign_public_ip: true}\nservices:\n  game: {image: g, ports: [\"25565:25565\"]}\n");
        assert!(
            !codes.contains(&Code::PublicTaskPort),
            "TCP comes from the load balancer: {codes:?}"
        );
    }

    #[test]
    fn two_services_on_one_port_are_refused() {
        let (plan, codes) = planned(
            "services:\n  a: {image: a, ports: [\"25565:25565\"]}\n  b: {image: b, ports: [\"25565:25566\"]}\n",
        );
        assert!(plan.is_none());
        assert!(codes.contains(&Code::ListenerCollision), "{codes:?}");
    }
}
