//! Ports: each port a container declares, who reaches it on ECS and why; the port mappings of a
//! container and the collisions ECS refuses inside one task.

use super::*;
use crate::diagnostic::Code;
use crate::normalise::{LoadBalancerType, Port};
use load_balancer::{HTTPS_PORT, REDIRECT_PORT};
use serde::Serialize;

/// Who reaches a declared container port on ECS, and why: decided once per `ports` or `expose`
/// entry (or port a peer dials), then read by the load balancer and shown by `plan`.
#[derive(Debug, Clone, Serialize)]
pub struct PortPlan {
    pub port: u16,
    pub protocol: Protocol,
    /// Where compose declares it; the service, for a port only a peer's reference names.
    pub path: KeyPath,
    #[serde(flatten)]
    pub exposure: Exposure,
    pub reason: String,
    /// The names other tasks reach it by through Service Connect (`api:8080`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub service_connect: Vec<String>,
}

/// Whether a container port is public.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "exposure", rename_all = "kebab-case")]
pub enum Exposure {
    /// Behind the public load balancer's listener on `listener_port`, which talks
    /// `target_protocol` to the container.
    Public {
        listener_port: u16,
        published: u16,
        target_protocol: &'static str,
    },
    /// Behind the public network load balancer's listener on `listener_port`, which passes its
    /// connections through (`protocol`: `TCP` or `UDP`).
    Network { listener_port: u16, protocol: &'static str },
    /// Reached inside the VPC only: from its own task, and from other tasks through Service Connect.
    Private,
}

/// Ports web servers are usually published on: behind the application load balancer unless
/// something says otherwise. 8443 is not one: it is most often TLS the container serves itself.
const WEB_PORTS: &[u16] = &[
    80, 443, 3000, 3001, 4000, 4200, 5000, 5173, 8000, 8001, 8008, 8080, 8081, 8088, 8888,
];

/// The plan of each port `service` declares, in compose order: public behind the load balancer,
/// or private with the reason (and a word when compose would have published it).
pub(super) fn port_plans(cx: &mut Context, service: &Service) -> Vec<PortPlan> {
    let https = cx.project.settings.infrastructure.certificate.is_some();
    service
        .ports
        .iter()
        .map(|port| {
            let (exposure, reason) = exposure(cx, service, port, https);
            PortPlan {
                port: port.target,
                protocol: port.protocol,
                path: port.path.clone(),
                exposure,
                reason,
                service_connect: Vec::new(),
            }
        })
        .collect()
}

/// A range of container ports that `ports` publishes stays private: a load balancer listens on
/// single ports, not ranges.
pub(super) fn check_published_ranges(cx: &mut Context, service: &Service) {
    for range in service.port_ranges.iter().filter(|r| r.published) {
        cx.diagnostics.push(
            Diagnostic::warning(
                Code::PortRange,
                range.path.clone(),
                format!(
                    "the ports {}-{} stay private: a load balancer listens on single ports, not ranges",
                    range.first, range.last
                ),
            )
            .with_help("publish the ports that must be public one by one"),
        );
    }
}

fn exposure(cx: &mut Context, service: &Service, port: &Port, https: bool) -> (Exposure, String) {
    let private = |reason: String| (Exposure::Private, reason);
    let Some(published) = port.published else {
        return private("not published: only tasks reach it".into());
    };
    if port
        .host_ip
        .as_deref()
        .is_some_and(|ip| ip.starts_with("127.") || ip == "::1" || ip == "localhost")
    {
        cx.diagnostics.push(Diagnostic::note(
            Code::LocalPort,
            port.path.clone(),
            format!("port {published} is published on the loopback address only; on ECS it stays private"),
        ));
        return private("published on the loopback address only".into());
    }
    let network = |reason: String| {
        let protocol = match port.protocol {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        };
        let exposure = Exposure::Network {
            listener_port: published,
            protocol,
        };
        (exposure, reason)
    };
    let chosen = service.ecs.load_balancer_type.as_ref().map(|(kind, _)| *kind);
    if port.protocol == Protocol::Udp {
        // The network load balancer checks a UDP target's health over TCP, on another port.
        if !service.ports.iter().any(|p| p.protocol == Protocol::Tcp) {
            cx.diagnostics.push(
                Diagnostic::warning(
                    Code::NotHttpPort,
                    port.path.clone(),
                    format!("UDP port {published} of `{}` stays private: a network load balancer checks a UDP target's health over TCP, and the service listens on no TCP port", service.name),
                )
                .with_help("declare a TCP port the service answers on (`expose`), or reach it from inside the VPC"),
            );
            return private("UDP, with no TCP port for the load balancer's health check".into());
        }
        return network(format!(
            "published on {published}/udp: the network load balancer passes it through"
        ));
    }
    if chosen == Some(LoadBalancerType::Network) {
        return network(format!("published on {published}, `x-ecs.load_balancer.type: network`"));
    }
    // gRPC and HTTP/2 pass through a network load balancer untouched; the application load
    // balancer compose2ecs makes speaks HTTP/1.1 to its targets.
    if let Some(protocol @ ("grpc" | "http2")) = port.app_protocol.as_deref() {
        return network(format!(
            "`app_protocol: {protocol}`: the network load balancer passes it through"
        ));
    }
    tcp_exposure(cx, service, port, published, https)
}

/// A published TCP port that is neither a data store's nor asked for elsewhere: behind the
/// application load balancer when something says it speaks HTTP, else behind the network one.
fn tcp_exposure(cx: &mut Context, service: &Service, port: &Port, published: u16, https: bool) -> (Exposure, String) {
    let private = |reason: String| (Exposure::Private, reason);
    let chosen = service.ecs.load_balancer_type.as_ref().map(|(kind, _)| *kind);
    // Listener rules and an HTTP health check path are the application load balancer's.
    let http = matches!(port.app_protocol.as_deref(), Some("http" | "https"))
        || chosen == Some(LoadBalancerType::Application)
        || service.ecs.load_balancer.is_some()
        || service.ecs.health_check.path.is_some();
    if !http && (wellknown::is_non_http_port(port.target) || wellknown::is_non_http_port(published)) {
        cx.diagnostics.push(Diagnostic::warning(
                Code::NotHttpPort,
                port.path.clone(),
                format!("port {published} of `{}` is a data store's, so it is not made public; it stays private", service.name),
            ).with_help("other tasks still reach it inside the VPC; to serve it on the internet, write `x-ecs: {load_balancer: {type: network}}`"));
        return private(format!(
            "published on {published}, a data store's port: not made public"
        ));
    }
    let probed_over_http = infrastructure::probes_http(service, port.target);
    let documented = service
        .image
        .as_deref()
        .is_some_and(|image| wellknown::image_health_path(image, port.target).is_some());
    let web_port = WEB_PORTS.contains(&published) || WEB_PORTS.contains(&port.target);
    if !(http || probed_over_http || documented || web_port) {
        cx.diagnostics.push(
            Diagnostic::note(
                Code::NetworkLoadBalanced,
                port.path.clone(),
                format!("nothing says port {published} of `{}` speaks HTTP, so it goes behind the network load balancer, which passes any TCP through (HTTP too)", service.name),
            )
            .with_help("if it speaks HTTP and should get the application load balancer's rules and HTTP health checks, write `app_protocol: http` (long port syntax) or `x-ecs: {load_balancer: {type: application}}`"),
        );
        let exposure = Exposure::Network {
            listener_port: published,
            protocol: "TCP",
        };
        let reason = format!(
            "published on {published}, a port nothing says speaks HTTP: the network load balancer passes TCP through"
        );
        return (exposure, reason);
    }
    // A container on 443 (or saying https) serves TLS itself: the load balancer talks
    // HTTPS to it, whatever the public side speaks.
    let target_protocol =
        if port.app_protocol.as_deref() == Some("https") || (port.target == 443 && port.app_protocol.is_none()) {
            "HTTPS"
        } else {
            "HTTP"
        };
    if published == HTTPS_PORT && !https {
        cx.diagnostics.push(
                Diagnostic::warning(
                    Code::NoCertificate,
                    port.path.clone(),
                    "port 443 is published, but no certificate is given: the load balancer listens on 443 with plain HTTP",
                )
                .with_help("give the ARN of an ACM certificate as the top-level `x-ecs: {certificate: \"arn:aws:acm:…\"}`, or publish port 80 for now"),
            );
    }
    // With a certificate, the web's port 80 is served on 443; 80 only redirects there.
    let listener_port = if https && matches!(published, REDIRECT_PORT | HTTPS_PORT) {
        HTTPS_PORT
    } else {
        published
    };
    let reason = if listener_port == published {
        format!("published on {published}: the load balancer listens there")
    } else {
        format!("published on {published}: served on {listener_port} with the certificate")
    };
    (
        Exposure::Public {
            listener_port,
            published,
            target_protocol,
        },
        reason,
    )
}

/// awsvpc gives a task one network namespace: two containers cannot listen on one port.
pub(super) fn check_port_collisions(cx: &mut Context, task: &TaskDraft) {
    let mut owners: BTreeMap<(u16, Protocol), &str> = BTreeMap::new();
    for container in &task.containers {
        for mapping in &container.port_mappings {
            match owners.get(&(mapping.container_port, mapping.protocol)) {
                Some(owner) => {
                    // Each mapping has its port plan, which keeps where the port is written.
                    let path = container
                        .ports
                        .iter()
                        .find(|p| p.port == mapping.container_port && p.protocol == mapping.protocol)
                        .map_or_else(|| cx.task_path(&task.containers), |p| p.path.clone());
                    cx.diagnostics.push(Diagnostic::error(
                            Code::PortCollision,
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
                    Code::PortCollision,
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
    fn a_published_range_stays_private_with_a_word() {
        let project = project("services:\n  a: {image: a, ports: [\"9000-9010\", \"7000-7002:7000-7002\"]}\n");
        let ((), codes) = run(&project, |cx| check_published_ranges(cx, &project.services[0]));
        // The unpublished range was private anyway.
        assert_eq!(codes, [Code::PortRange]);
    }

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

    /// Where each published port of `compose`'s services goes: `alb`, `nlb/TCP`, `nlb/UDP` or
    /// `private`, by service and port, with the codes said.
    fn exposures(compose: &str) -> (Vec<String>, Vec<Code>) {
        let project = project(compose);
        run(&project, |cx| {
            project
                .services
                .iter()
                .flat_map(|service| {
                    port_plans(cx, service)
                        .into_iter()
                        .map(move |p| (service.name.clone(), p))
                })
                .map(|(service, plan)| {
                    let kind = match plan.exposure {
                        Exposure::Public { .. } => "alb".to_string(),
                        Exposure::Network { protocol, .. } => format!("nlb/{protocol}"),
                        Exposure::Private => "private".to_string(),
                    };
                    format!("{service} {}: {kind}", plan.port)
                })
                .collect()
        })
    }

    #[test]
    fn each_published_port_goes_behind_the_load_balancer_that_suits_it() {
        let (found, codes) = exposures(
            "services:\n  \
             web: {image: nginx, ports: [\"80:80\", \"8443:8443\"]}\n  \
             probed: {image: app, ports: [\"7000:7000\"], healthcheck: {test: [\"CMD\", \"curl\", \"-f\", \"http://localhost:7000/health\"]}}\n  \
             minio: {image: minio/minio, ports: [\"9000:9000\"]}\n  \
             rpc: {image: temporal, ports: [{target: 7233, published: \"7233\", app_protocol: grpc}]}\n  \
             call: {image: call, ports: [\"3478:3478/udp\", \"3478:3478/tcp\"]}\n  \
             dns: {image: coredns, ports: [\"53:53/udp\"]}\n  \
             db: {image: postgres, ports: [\"5432:5432\"]}\n  \
             open_db: {image: postgres, ports: [\"5433:5432\"], x-ecs: {load_balancer: {type: network}}}\n  \
             forced: {image: app, ports: [\"9999:9999\"], x-ecs: {load_balancer: {type: application}}}\n  \
             routed: {image: app, ports: [\"9998:9998\"], x-ecs: {load_balancer: {path: /api/*}}}\n  \
             local: {image: app, ports: [\"127.0.0.1:6000:6000\"]}\n",
        );
        assert_eq!(
            found,
            [
                "web 80: alb",
                "web 8443: nlb/TCP",
                "probed 7000: alb",
                "minio 9000: alb",
                "rpc 7233: nlb/TCP",
                "call 3478: nlb/UDP",
                "call 3478: nlb/TCP",
                "dns 53: private",
                "db 5432: private",
                "open_db 5432: nlb/TCP",
                "forced 9999: alb",
                "routed 9998: alb",
                "local 6000: private",
            ]
        );
        assert_eq!(
            codes,
            [
                Code::NetworkLoadBalanced, // web 8443
                Code::NetworkLoadBalanced, // call 3478/tcp
                Code::NotHttpPort,         // dns: UDP with no TCP port
                Code::NotHttpPort,         // db
                Code::LocalPort
            ]
        );
    }
}
