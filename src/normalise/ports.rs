//! A service's container ports: `ports` (maybe published) and `expose` (never published), each a
//! single port or a range of ports.

use super::reader::Reader;
use super::units::{parse_port_spec, parse_short_port, PortSpec};
use super::{Port, PortRange, Protocol, Service};
use crate::diagnostic::{Code, Diagnostic, KeyPath};
use crate::load::interpolate::key_text;
use serde_yaml::{Mapping, Value};
use std::collections::{HashMap, HashSet};

/// `ports`; port ranges go to `ranges`.
pub(super) fn ports(reader: &mut Reader, value: &Value, path: &KeyPath, ranges: &mut Vec<PortRange>) -> Vec<Port> {
    let Some(items) = value.as_sequence() else {
        reader.wrong_type(
            path,
            value,
            "a list of ports (`\"80:8080\"` or `{target: 8080, published: 80}`)",
        );
        return Vec::new();
    };
    let mut ports = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let item_path = path.index(index);
        let parsed = match item {
            Value::String(_) | Value::Number(_) => {
                let text = key_text(item);
                match parse_short_port(&text) {
                    Ok(short) => Some((short.target, short.published, short.host_ip, short.protocol, None)),
                    Err(reason) => {
                        reader.error(Code::BadPort, &item_path, format!("`{}` is not a port: {reason}", crate::quote::shown(&text)), "write `\"PUBLISHED:TARGET\"` such as `\"80:8080\"`, or the long form `{target: 8080, published: 80}`");
                        None
                    }
                }
            }
            Value::Mapping(long) => long_port(reader, long, &item_path),
            other => {
                reader.wrong_type(&item_path, other, "a port string or a mapping with `target`");
                None
            }
        };
        let Some((target, published, host_ip, protocol, app_protocol)) = parsed else {
            continue;
        };
        let Some(protocol) = port_protocol(reader, protocol.as_deref(), &item_path) else {
            continue;
        };
        let target = match target {
            PortSpec::One(target) => target,
            PortSpec::Range(first, last) => {
                ranges.push(PortRange {
                    first,
                    last,
                    protocol,
                    path: item_path,
                    published: published.is_some(),
                });
                continue;
            }
        };
        let bare = published.is_none();
        let published = match published {
            None => None,
            Some(PortSpec::One(port)) => Some(port),
            Some(PortSpec::Range(first, _)) => Some(published_on_the_first_of_a_range(reader, first, &item_path)),
        };
        ports.push(Port {
            target,
            published,
            host_ip,
            protocol,
            app_protocol,
            path: item_path,
            bare,
        });
    }
    ports
}

#[allow(clippy::type_complexity)]
fn long_port(
    reader: &mut Reader,
    long: &Mapping,
    path: &KeyPath,
) -> Option<(
    PortSpec,
    Option<PortSpec>,
    Option<String>,
    Option<String>,
    Option<String>,
)> {
    reader.check_keys(long, "services.*.ports[]", path);
    let spec = |key: &str, reader: &mut Reader| -> Result<Option<PortSpec>, ()> {
        let Some(value) = long.get(key) else { return Ok(None) };
        let text = key_text(value);
        parse_port_spec(&text).map(Some).map_err(|reason| {
            reader.error(
                Code::BadPort,
                &path.key(key),
                format!("`{}` is not a port: {reason}", crate::quote::shown(&text)),
                "ports are numbers from 1 to 65535",
            );
        })
    };
    let target = spec("target", reader).ok()?;
    let published = spec("published", reader).ok()?;
    let Some(target) = target else {
        reader.error(
            Code::BadPort,
            path,
            "a long-form port needs `target`".into(),
            "`target` is the port the container listens on",
        );
        return None;
    };
    let text = |key: &str| long.get(key).map(key_text);
    let app_protocol = text("app_protocol").or_else(|| docker_protocol(reader, long, path));
    Some((target, published, text("host_ip"), text("protocol"), app_protocol))
}

/// Docker's ECS integration's `x-aws-protocol`: `http` and `https` say what `app_protocol` says;
/// its other values (the network load balancer's `tcp`, `tls`, `udp`) have no port-level setting
/// here, so a warning names the service-level one.
fn docker_protocol(reader: &mut Reader, long: &Mapping, path: &KeyPath) -> Option<String> {
    let protocol = long.get("x-aws-protocol").map(key_text)?.to_ascii_lowercase();
    if matches!(protocol.as_str(), "http" | "https") {
        return Some(protocol);
    }
    let at = path.key("x-aws-protocol");
    reader.diagnostics.push(
        Diagnostic::warning(
            Code::ForeignExtension,
            at.clone(),
            format!("`{at}` is `{}`, which is not converted", crate::quote::shown(&protocol)),
        )
        .with_help("a port nothing says speaks HTTP goes behind the network load balancer; `x-ecs: {load_balancer: {type: network}}` makes every published port of the service go there"),
    );
    None
}

/// A port's protocol, in any case as Docker reads it: ECS maps tcp and udp only, so another
/// (`sctp`) is refused rather than mapped as something it is not.
fn port_protocol(reader: &mut Reader, protocol: Option<&str>, path: &KeyPath) -> Option<Protocol> {
    match protocol.map(str::to_ascii_lowercase).as_deref() {
        None | Some("tcp") => Some(Protocol::Tcp),
        Some("udp") => Some(Protocol::Udp),
        Some(_) => {
            let other = protocol.unwrap_or_default();
            reader.error(
                Code::BadPort,
                path,
                format!("protocol `{other}` is not `tcp` or `udp`"),
                "ECS port mappings are tcp or udp",
            );
            None
        }
    }
}

/// `expose`; port ranges go to `ranges`.
pub(super) fn expose(reader: &mut Reader, value: &Value, path: &KeyPath, ranges: &mut Vec<PortRange>) -> Vec<Port> {
    let Some(items) = value.as_sequence() else {
        reader.wrong_type(path, value, "a list of ports");
        return Vec::new();
    };
    let mut ports = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let item_path = path.index(index);
        let text = key_text(item);
        let (number, protocol) = text.split_once('/').unwrap_or((&text, "tcp"));
        let Some(protocol) = port_protocol(reader, Some(protocol), &item_path) else {
            continue;
        };
        match parse_port_spec(number) {
            Ok(PortSpec::One(target)) => ports.push(Port {
                target,
                published: None,
                host_ip: None,
                protocol,
                app_protocol: None,
                path: item_path,
                bare: false,
            }),
            Ok(PortSpec::Range(first, last)) => ranges.push(PortRange {
                first,
                last,
                protocol,
                path: item_path,
                published: false,
            }),
            Err(reason) => reader.error(
                Code::BadPort,
                &item_path,
                format!("`{}` is not a port: {reason}", crate::quote::shown(&text)),
                "`expose` lists container ports such as `\"3000\"`",
            ),
        }
    }
    ports
}

/// A decision (plan's to take, one day): compose publishes a port listed without a published one
/// (`- "3000"`) on a random port of the host, which is no address anyone could be given; on ECS it
/// is published on its own port, as Docker's ECS integration did (a data store's stays private, as
/// any), with a note. Compose's random ports let several services list one port: a port that
/// another service lists too, or publishes, stays private with a warning, as a load balancer
/// listens on a port once.
pub(super) fn publish_bare_ports(reader: &mut Reader, services: &mut [Service]) {
    let mut published: HashSet<(u16, Protocol)> = HashSet::new();
    let mut bare: HashMap<(u16, Protocol), usize> = HashMap::new();
    for service in services.iter() {
        let mut listed = HashSet::new();
        for port in &service.ports {
            match port.published {
                Some(number) => {
                    published.insert((number, port.protocol));
                }
                None if port.bare && listed.insert((port.target, port.protocol)) => {
                    *bare.entry((port.target, port.protocol)).or_default() += 1;
                }
                None => {}
            }
        }
    }
    for service in services.iter_mut() {
        for port in service.ports.iter_mut().filter(|p| p.bare) {
            let key = (port.target, port.protocol);
            let target = port.target;
            if published.contains(&key) || bare.get(&key).is_some_and(|n| *n > 1) {
                reader.diagnostics.push(
                    Diagnostic::warning(
                        Code::PublishedOnTarget,
                        port.path.clone(),
                        format!("compose publishes port {target} of `{}` on a random port of the host; on ECS it would be published on {target}, which another service publishes or lists too: it stays private", service.name),
                    )
                    .with_help("publish it on a port of its own (`\"8081:8080\"`), or list it under `expose` to say it is private"),
                );
                continue;
            }
            reader.diagnostics.push(
                Diagnostic::note(
                    Code::PublishedOnTarget,
                    port.path.clone(),
                    format!("compose publishes port {target} of `{}` on a random port of the host; on ECS it is published on {target}", service.name),
                )
                .with_help("to keep it private, list it under `expose` instead; to publish it on another port, write `\"PUBLISHED:TARGET\"`"),
            );
            port.published = Some(target);
        }
    }
}

/// A decision (plan's to take, one day): compose publishes a port on any free port of a published
/// range (`"8000-8010:80"`); on ECS it is published on the range's first, with a note.
fn published_on_the_first_of_a_range(reader: &mut Reader, first: u16, path: &KeyPath) -> u16 {
    reader.diagnostics.push(Diagnostic::note(
        Code::HostPortRange,
        path.clone(),
        format!("compose publishes the port on any free port of a range; on ECS it is published on {first}, the range's first"),
    ));
    first
}

/// The same range in `ports` and `expose` is one range.
pub(super) fn keep_each_range_once(ranges: &mut Vec<PortRange>) {
    let mut seen = HashSet::new();
    ranges.retain(|r| seen.insert((r.first, r.last, r.protocol)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::testing::{codes, paths, read};

    /// Reads `yaml` as `ports`: (target, published, protocol) of each port, the ranges, the codes.
    #[allow(clippy::type_complexity)]
    fn read_ports(yaml: &str) -> (Vec<(u16, Option<u16>, Protocol)>, Vec<(u16, u16)>, Vec<Code>) {
        let ((found, ranges), diagnostics) = read(yaml, |reader, value, path| {
            let mut ranges = Vec::new();
            let found = ports(reader, value, &path.key("ports"), &mut ranges);
            (found, ranges)
        });
        (
            found.iter().map(|p| (p.target, p.published, p.protocol)).collect(),
            ranges.iter().map(|r| (r.first, r.last)).collect(),
            codes(&diagnostics),
        )
    }

    #[test]
    fn short_and_long_ports() {
        let yaml = r#"["80:8080", 3000, "127.0.0.1:5432:5432", "53:53/UDP", {target: 9000, published: "90", protocol: udp, app_protocol: http}]"#;
        let (found, ranges, codes) = read_ports(yaml);
        assert_eq!(
            found,
            [
                (8080, Some(80), Protocol::Tcp),
                (3000, None, Protocol::Tcp),
                (5432, Some(5432), Protocol::Tcp),
                (53, Some(53), Protocol::Udp),
                (9000, Some(90), Protocol::Udp),
            ]
        );
        assert!(ranges.is_empty() && codes.is_empty(), "{codes:?}");
        let (long, _) = read(
            r#"[{target: 80, host_ip: 127.0.0.1, app_protocol: grpc}]"#,
            |reader, value, path| ports(reader, value, path, &mut Vec::new()),
        );
        assert_eq!(long[0].host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(long[0].app_protocol.as_deref(), Some("grpc"));
    }

    #[test]
    fn docker_s_protocol_says_what_app_protocol_says() {
        let (long, diagnostics) = read(
            "[{target: 8080, published: 80, x-aws-protocol: http}, {target: 9000, published: 9000, x-aws-protocol: tcp}]",
            |reader, value, path| ports(reader, value, path, &mut Vec::new()),
        );
        assert_eq!(long[0].app_protocol.as_deref(), Some("http"));
        assert_eq!(long[1].app_protocol, None);
        assert_eq!(codes(&diagnostics), [Code::ForeignExtension]);
    }

    #[test]
    fn a_port_that_cannot_be_read_is_left_out_with_an_error() {
        let yaml = r#"["80:http", "0", {published: 80}, {target: 80, protocol: sctp}, [80], "8080"]"#;
        let (found, _, codes) = read_ports(yaml);
        assert_eq!(found, [(8080, None, Protocol::Tcp)]);
        assert_eq!(
            codes,
            [
                Code::BadPort,
                Code::BadPort,
                Code::BadPort,
                Code::BadPort,
                Code::WrongType
            ]
        );
        assert_eq!(read_ports("\"80:80\"").2, [Code::WrongType]);
        // A long form's keys are checked: `mode` is Swarm's, and only noted.
        let (found, _, codes) = read_ports("[{target: 80, published: 80, mode: host}]");
        assert_eq!((found.len(), codes), (1, vec![Code::NoEffect]));
    }

    #[test]
    fn ranges_are_read_with_whether_they_are_published() {
        let (found, ranges, codes) = read_ports(r#"["9000-9010", "7000-7002:7000-7002"]"#);
        assert!(found.is_empty() && codes.is_empty());
        assert_eq!(ranges, [(9000, 9010), (7000, 7002)]);
        // What becomes of a published range is plan's to decide (`plan::ports`).
        let (ranges, _) = read(r#"["9000-9010", "7000-7002:7000-7002"]"#, |reader, value, path| {
            let mut ranges = Vec::new();
            ports(reader, value, &path.key("ports"), &mut ranges);
            ranges
        });
        let published: Vec<bool> = ranges.iter().map(|r| r.published).collect();
        assert_eq!(published, [false, true]);
    }

    #[test]
    fn a_published_range_publishes_its_first_port() {
        let (found, ranges, codes) = read_ports(r#"["8000-8010:80"]"#);
        assert_eq!(found, [(80, Some(8000), Protocol::Tcp)]);
        assert!(ranges.is_empty());
        assert_eq!(codes, [Code::HostPortRange]);
    }

    #[test]
    fn expose_lists_private_ports_and_ranges() {
        let ((found, ranges), diagnostics) = read(
            r#"["3000", 4000/udp, "5000-5010", 9/sctp, "x", 70000]"#,
            |reader, value, path| {
                let mut ranges = Vec::new();
                let found = expose(reader, value, &path.key("expose"), &mut ranges);
                (found, ranges)
            },
        );
        let found: Vec<_> = found.iter().map(|p| (p.target, p.published, p.protocol)).collect();
        assert_eq!(found, [(3000, None, Protocol::Tcp), (4000, None, Protocol::Udp)]);
        assert_eq!(
            ranges.iter().map(|r| (r.first, r.last)).collect::<Vec<_>>(),
            [(5000, 5010)]
        );
        assert_eq!(codes(&diagnostics), [Code::BadPort, Code::BadPort, Code::BadPort]);
        assert_eq!(
            paths(&diagnostics),
            [
                "services.web.expose[3]",
                "services.web.expose[4]",
                "services.web.expose[5]"
            ]
        );
    }

    #[test]
    fn a_range_in_ports_and_expose_is_one_range() {
        let range = |first, protocol| PortRange {
            first,
            last: 9010,
            protocol,
            path: KeyPath::root(),
            published: false,
        };
        let mut ranges = vec![
            range(9000, Protocol::Tcp),
            range(9000, Protocol::Udp),
            range(9000, Protocol::Tcp),
            range(9001, Protocol::Tcp),
        ];
        keep_each_range_once(&mut ranges);
        let kept: Vec<_> = ranges.iter().map(|r| (r.first, r.protocol)).collect();
        assert_eq!(
            kept,
            [(9000, Protocol::Tcp), (9000, Protocol::Udp), (9001, Protocol::Tcp)]
        );
    }
}
