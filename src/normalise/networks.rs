//! Networks: the top-level ones (which make nothing on ECS), a service's aliases on them, its
//! `links`, and `network_mode: service:NAME`, which puts it in NAME's task.

use super::reader::Reader;
use super::Link;
use crate::diagnostic::{Code, Diagnostic, KeyPath};
use crate::load::interpolate::key_text;
use serde_yaml::{Mapping, Value};
use std::collections::BTreeMap;

/// Top-level networks make nothing on ECS, but each of their settings still gets its verdict.
pub(super) fn check_networks(reader: &mut Reader, networks: &Mapping, path: &KeyPath) -> BTreeMap<String, String> {
    let mut existing = BTreeMap::new();
    for (name, settings) in networks {
        let name = key_text(name);
        if let Value::Mapping(settings) = settings {
            let network_path = path.key(&name);
            reader.check_keys(settings, "networks.*", &network_path);
            if let Some(group) = existing_group(reader, settings, &network_path) {
                existing.insert(name, group);
            }
        }
    }
    existing
}

/// The security group a network is on ECS when it exists: Docker's ECS integration read
/// `x-aws-securitygroup: sg-…`, and `external: true` with `name: sg-…` (or the group's ARN).
fn existing_group(reader: &mut Reader, settings: &Mapping, path: &KeyPath) -> Option<String> {
    let (named, at) = match settings.get("x-aws-securitygroup") {
        Some(group) => (key_text(group), path.key("x-aws-securitygroup")),
        None => {
            // `external: {name: N}` is the older form of `external: true` with `name: N`.
            let (external, name, name_path) = match settings.get("external") {
                Some(Value::Mapping(legacy)) => (true, legacy.get("name"), path.key("external").key("name")),
                Some(flag) => (
                    reader.boolean(flag, &path.key("external")) == Some(true),
                    settings.get("name"),
                    path.key("name"),
                ),
                None => return None,
            };
            match name.map(key_text) {
                Some(name) if external && (name.starts_with("sg-") || name.starts_with("arn:")) => (name, name_path),
                _ => return None,
            }
        }
    };
    let id = named
        .rsplit_once(":security-group/")
        .map_or(named.as_str(), |(_, id)| id);
    // EC2's ids: `sg-` and 8 or 17 hexadecimal digits.
    let valid = id
        .strip_prefix("sg-")
        .is_some_and(|hex| matches!(hex.len(), 8 | 17) && hex.bytes().all(|b| b.is_ascii_hexdigit()));
    if !valid {
        reader.error(
            Code::BadSetting,
            &at,
            format!("`{}` is not a security group's id", crate::quote::shown(&named)),
            "give the group's id, `sg-` and 8 or 17 hexadecimal digits (`aws ec2 describe-security-groups` lists them)",
        );
        return None;
    }
    Some(id.to_string())
}

#[cfg(test)]
mod existing_group_tests {
    use super::*;
    use crate::normalise::testing::{codes, read};

    #[test]
    fn a_network_that_exists_is_named_by_its_group_s_id() {
        let (found, diagnostics) = read(
            "{a: {external: true, name: sg-0a1b2c3d}, b: {x-aws-securitygroup: 'arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0123456789abcdef0'}, \
             c: {external: true, name: shared-net}, d: {x-aws-securitygroup: web-group}, e: {external: true, name: sg-123abc}, \
             f: {external: {name: sg-0f0f0f0f}}, g: {external: {name: shared}}}",
            |reader, value, path| check_networks(reader, value.as_mapping().unwrap(), path),
        );
        let found: Vec<_> = found.iter().map(|(n, g)| (n.as_str(), g.as_str())).collect();
        assert_eq!(
            found,
            [
                ("a", "sg-0a1b2c3d"),
                ("b", "sg-0123456789abcdef0"),
                ("f", "sg-0f0f0f0f")
            ],
            "the older `external: {{name}}` too"
        );
        assert_eq!(
            codes(&diagnostics),
            [Code::BadSetting, Code::BadSetting],
            "a name where an id belongs, and an id too short"
        );
    }
}

/// `networks: [NAME, ...]` or `networks: {NAME: {aliases: [...]}}`: the networks a service
/// joins, in the order written, and its aliases on them.
pub(super) fn networks(reader: &mut Reader, value: &Value, path: &KeyPath) -> (Vec<String>, Vec<String>) {
    let mut names = Vec::new();
    let mut aliases = Vec::new();
    match value {
        Value::Null => {}
        Value::Sequence(_) => names = reader.string_list(value, path).unwrap_or_default(),
        Value::Mapping(networks) => {
            for (network, settings) in networks {
                names.push(key_text(network));
                let network_path = path.key(key_text(network));
                let Some(settings) = settings.as_mapping() else {
                    continue;
                };
                reader.check_keys(settings, "services.*.networks.*", &network_path);
                let Some(list) = settings.get("aliases") else {
                    continue;
                };
                if let Some(list) = reader.string_list(list, &network_path.key("aliases")) {
                    for name in list {
                        if !aliases.contains(&name) {
                            aliases.push(name);
                        }
                    }
                }
            }
        }
        other => reader.wrong_type(path, other, "a list of network names or a mapping of networks"),
    }
    (names, aliases)
}

/// `links: ["db", "db:pg"]`.
pub(super) fn links(reader: &mut Reader, value: &Value, path: &KeyPath) -> Vec<Link> {
    let Some(items) = reader.string_list(value, path) else {
        return Vec::new();
    };
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            let (service, alias) = item.split_once(':').unwrap_or((&item, &item));
            Link {
                alias: alias.to_string(),
                service: service.to_string(),
                path: path.index(index),
            }
        })
        .collect()
}

/// `network_mode` of the service `map`: the service it joins (`service:NAME`), and where that was
/// written. Any other mode is ignored with a warning; beside `networks`, it is an error, as in
/// compose.
pub(super) fn network_mode(reader: &mut Reader, map: &Mapping, path: &KeyPath) -> Option<(String, KeyPath)> {
    let at = |key: &str| path.key(key);
    if let (Some(_), Some(_)) = (map.get("network_mode"), map.get("networks")) {
        reader.error(
            Code::ConflictingKeys,
            &at("networks"),
            "`network_mode` and `networks` cannot be used together".into(),
            "keep one of them, as compose requires",
        );
    }
    let mode = map.get("network_mode")?;
    let mode_path = at("network_mode");
    let mode = reader.string(mode, &mode_path)?;
    match mode.strip_prefix("service:") {
        Some(target) => Some((target.to_string(), mode_path)),
        None => {
            reader.diagnostics.push(
                Diagnostic::warning(
                    Code::IgnoredKey,
                    mode_path,
                    format!("`network_mode: {mode}` is not converted: Fargate tasks always use awsvpc networking"),
                )
                .with_help(
                    "only `network_mode: service:NAME` has a meaning on ECS: it puts this service in NAME's task",
                ),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::testing::{codes, paths, read};

    #[test]
    fn top_level_networks_make_nothing_but_their_keys_are_checked() {
        let (_, diagnostics) = read(
            "{front: {driver: overlay}, back: null, db: {drivr: x}}",
            |reader, value, _| check_networks(reader, value.as_mapping().unwrap(), &KeyPath::root().key("networks")),
        );
        assert_eq!(codes(&diagnostics), [Code::NoEffect, Code::UnknownKey]);
        assert_eq!(paths(&diagnostics), ["networks.front.driver", "networks.db.drivr"]);
    }

    #[test]
    fn networks_in_order_and_aliases_on_every_network_once_each() {
        let yaml = "{front: {aliases: [api, web-api]}, back: {aliases: [api], mac_address: x}, other: null}";
        let ((names, aliases), diagnostics) = read(yaml, |reader, value, path| {
            networks(reader, value, &path.key("networks"))
        });
        assert_eq!(names, ["front", "back", "other"]);
        assert_eq!(aliases, ["api", "web-api"]);
        assert_eq!(codes(&diagnostics), [Code::IgnoredKey]);
        let ((names, aliases), diagnostics) = read("[front, back]", networks);
        assert_eq!(names, ["front", "back"]);
        assert!(aliases.is_empty() && diagnostics.0.is_empty());
        assert_eq!(codes(&read("front", networks).1), [Code::WrongType]);
    }

    #[test]
    fn links_name_a_service_by_itself_or_by_an_alias() {
        let (found, diagnostics) = read("[db, 'db:pg']", |reader, value, path| {
            links(reader, value, &path.key("links"))
        });
        let found: Vec<_> = found
            .iter()
            .map(|l| (l.service.as_str(), l.alias.as_str(), l.path.to_string()))
            .collect();
        assert_eq!(
            found,
            [
                ("db", "db", "services.web.links[0]".to_string()),
                ("db", "pg", "services.web.links[1]".to_string())
            ]
        );
        assert!(diagnostics.0.is_empty());
        assert_eq!(codes(&read("db", links).1), [Code::WrongType]);
    }

    #[test]
    fn network_mode_service_joins_its_task() {
        let mode = |yaml| {
            read(yaml, |reader, value, path| {
                network_mode(reader, value.as_mapping().unwrap(), path)
            })
        };
        let (joins, diagnostics) = mode("{network_mode: 'service:db'}");
        let (name, at) = joins.expect("it joins db");
        assert_eq!(
            (name.as_str(), at.to_string().as_str()),
            ("db", "services.web.network_mode")
        );
        assert!(diagnostics.0.is_empty());
        let (joins, diagnostics) = mode("{network_mode: host}");
        assert!(joins.is_none());
        assert_eq!(codes(&diagnostics), [Code::IgnoredKey]);
        let (joins, diagnostics) = mode("{network_mode: 'service:db', networks: [front]}");
        assert!(joins.is_some());
        assert_eq!(codes(&diagnostics), [Code::ConflictingKeys]);
        assert_eq!(codes(&mode("{network_mode: [bridge]}").1), [Code::WrongType]);
        assert!(mode("{networks: [front]}").0.is_none());
    }
}
