//! The merge of several `-f` files, with the Compose Specification's merge rules.

use super::interpolate::key_text;
use serde_yaml::{Mapping, Value};

/// Keys of a service whose sequences are appended (without duplicates) rather than replaced.
const APPENDED: &[&str] = &[
    "ports",
    "expose",
    "dns",
    "dns_search",
    "dns_opt",
    "external_links",
    "links",
    "tmpfs",
    "cap_add",
    "cap_drop",
    "security_opt",
    "env_file",
    "extra_hosts",
    "profiles",
    "volumes_from",
    "devices",
    "group_add",
    "device_cgroup_rules",
    "label_file",
];
/// Keys whose list form (`KEY=VALUE` items) and map form are merged by name.
const BY_NAME: &[&str] = &["environment", "labels", "sysctls", "annotations"];

/// Merges `overlay` (a later `-f` file) into `base`.
pub fn merge_documents(base: &mut Mapping, overlay: Mapping) {
    for (key, value) in overlay {
        match (key_text(&key).as_str(), base.get_mut(&key)) {
            ("services", Some(Value::Mapping(services))) => {
                let Value::Mapping(overlay_services) = value else {
                    base.insert(key, value);
                    continue;
                };
                for (name, service) in overlay_services {
                    match (services.get_mut(&name), service) {
                        (Some(Value::Mapping(existing)), Value::Mapping(overlay_service)) => {
                            merge_service(existing, overlay_service)
                        }
                        // `web:` with nothing under it adds nothing to an existing service.
                        (Some(_), Value::Null) => {}
                        (_, service) => {
                            services.insert(name, service);
                        }
                    }
                }
            }
            (_, Some(existing)) => merge_value(existing, value),
            (_, None) => {
                base.insert(key, value);
            }
        }
    }
}

/// Merges `overlay` (a later file's service, or a service over the one it extends) into `base`.
pub(super) fn merge_service(base: &mut Mapping, overlay: Mapping) {
    for (key, value) in overlay {
        if reset_or_override(base, &key, &value) {
            continue;
        }
        let name = key_text(&key);
        let Some(existing) = base.get_mut(&key) else {
            base.insert(key, value);
            continue;
        };
        match name.as_str() {
            _ if APPENDED.contains(&name.as_str()) => append_unique(existing, value),
            _ if BY_NAME.contains(&name.as_str()) => {
                let mut merged = named_map(existing);
                for (k, v) in named_map(&value) {
                    merged.insert(k, v);
                }
                *existing = Value::Mapping(merged);
            }
            "depends_on" => {
                let mut merged = depends_on_map(existing);
                for (k, v) in depends_on_map(&value) {
                    merged.insert(k, v);
                }
                *existing = Value::Mapping(merged);
            }
            "volumes" => merge_by(existing, value, volume_target),
            // Compose keeps one secret or config per file it is written to.
            "secrets" | "configs" => merge_by(existing, value, file_target),
            // command, entrypoint and healthcheck.test replace; other maps merge by key.
            _ => merge_value(existing, value),
        }
    }
}

/// Merges `overlay` into `base`, a resource of `section` (`services`, `volumes`, …), as a later
/// `-f` file's definition merges into an earlier one's.
pub(super) fn merge_resource(section: &str, base: &mut Value, overlay: Value) {
    match (section, base, overlay) {
        ("services", Value::Mapping(base), Value::Mapping(overlay)) => merge_service(base, overlay),
        (_, base, overlay) => merge_value(base, overlay),
    }
}

/// Maps merge by key; anything else is replaced by the overlay.
fn merge_value(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Mapping(base), Value::Mapping(overlay)) => {
            for (key, value) in overlay {
                if reset_or_override(base, &key, &value) {
                    continue;
                }
                match base.get_mut(&key) {
                    Some(existing) => merge_value(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, overlay) => *base = overlay,
    }
}

/// Compose's `!reset` (drop the key) and `!override` (replace the value, no merge) tags.
fn reset_or_override(base: &mut Mapping, key: &Value, value: &Value) -> bool {
    let Value::Tagged(tagged) = value else { return false };
    if tagged.tag == "reset" {
        base.remove(key);
    } else if tagged.tag == "override" {
        base.insert(key.clone(), tagged.value.clone());
    } else {
        return false;
    }
    true
}

/// Applies the `!reset` and `!override` tags left after the merge (in a single file, or on keys
/// no earlier file had): a reset key is dropped, an overriding value is the value.
pub fn apply_merge_tags(value: &mut Value) {
    match value {
        Value::Mapping(map) => {
            map.retain(|_, v| !matches!(v, Value::Tagged(t) if t.tag == "reset"));
            for item in map.values_mut() {
                if let Value::Tagged(tagged) = item {
                    if tagged.tag == "override" {
                        *item = std::mem::take(&mut tagged.value);
                    }
                }
                apply_merge_tags(item);
            }
        }
        Value::Sequence(items) => items.iter_mut().for_each(apply_merge_tags),
        _ => {}
    }
}

/// A sequence's items; a lone string (`env_file: .env`) is a list of one.
fn as_list(value: Value) -> Value {
    match value {
        Value::String(_) => Value::Sequence(vec![value]),
        other => other,
    }
}

fn append_unique(base: &mut Value, overlay: Value) {
    if base.is_string() {
        *base = as_list(std::mem::take(base));
    }
    match (base, as_list(overlay)) {
        (Value::Sequence(items), Value::Sequence(more)) => {
            for item in more {
                if !items.contains(&item) {
                    items.push(item);
                }
            }
        }
        (base, overlay) => *base = overlay,
    }
}

/// Sequences of items keyed by `key_of` (volumes by target): an overlay item replaces the base item
/// with the same key, others are appended.
fn merge_by(base: &mut Value, overlay: Value, key_of: fn(&Value) -> Option<String>) {
    match (base, overlay) {
        (Value::Sequence(items), Value::Sequence(more)) => {
            for item in more {
                let key = key_of(&item);
                match items
                    .iter_mut()
                    .find(|existing| key.is_some() && key_of(existing) == key)
                {
                    Some(existing) => *existing = item,
                    None => items.push(item),
                }
            }
        }
        (base, overlay) => *base = overlay,
    }
}

fn volume_target(item: &Value) -> Option<String> {
    match item {
        Value::String(short) => {
            let parts: Vec<&str> = short.split(':').collect();
            Some(if parts.len() >= 2 { parts[1] } else { parts[0] }.to_string())
        }
        Value::Mapping(long) => long.get("target").map(key_text),
        _ => None,
    }
}

/// The file a `secrets`/`configs` item is written to: its `target`, else its source's name.
fn file_target(item: &Value) -> Option<String> {
    match item {
        Value::String(name) => Some(name.clone()),
        Value::Mapping(long) => long.get("target").or_else(|| long.get("source")).map(key_text),
        _ => None,
    }
}

/// `[KEY=VALUE, …]` or `{KEY: VALUE}` as one map form.
fn named_map(value: &Value) -> Mapping {
    match value {
        Value::Mapping(map) => map.clone(),
        Value::Sequence(items) => items
            .iter()
            .map(|item| {
                let text = key_text(item);
                match text.split_once('=') {
                    Some((k, v)) => (Value::from(k), Value::from(v)),
                    None => (Value::from(text), Value::Null),
                }
            })
            .collect(),
        _ => Mapping::new(),
    }
}

fn depends_on_map(value: &Value) -> Mapping {
    match value {
        Value::Mapping(map) => map.clone(),
        Value::Sequence(items) => items
            .iter()
            .map(|item| {
                let mut condition = Mapping::new();
                condition.insert("condition".into(), "service_started".into());
                (item.clone(), Value::Mapping(condition))
            })
            .collect(),
        _ => Mapping::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Mapping {
        serde_yaml::from_str(text).unwrap()
    }

    #[test]
    fn reset_override_and_scalar_lists() {
        let mut base = yaml(
            "services:\n  web:\n    image: a\n    environment: {A: '1', B: '2'}\n    ports: ['80:80']\n    env_file: base.env\n    labels: {x: y}\n  db: {image: pg}\n",
        );
        let overlay = yaml(
            "services:\n  web:\n    environment: !reset {}\n    ports: !override ['8080:80']\n    env_file: [prod.env]\n  db:\n",
        );
        merge_documents(&mut base, overlay);
        let mut merged = Value::Mapping(base);
        apply_merge_tags(&mut merged);
        let expected: Value = serde_yaml::from_str(
            "services:\n  web:\n    image: a\n    ports: ['8080:80']\n    env_file: [base.env, prod.env]\n    labels: {x: y}\n  db: {image: pg}\n",
        )
        .unwrap();
        assert_eq!(merged, expected);
    }

    #[test]
    fn compose_merge_rules() {
        let mut base = yaml(
            "services:\n  web:\n    image: a\n    ports: ['80:80']\n    environment: [A=1, B=2]\n    command: [x, y]\n    volumes: ['data:/data', './src:/app']\n    depends_on: [db]\n  db: {image: pg}\nx-ecs: {cluster: dev, region: eu-west-1}\n",
        );
        let overlay = yaml(
            "services:\n  web:\n    image: b\n    ports: ['80:80', '443:443']\n    environment: {B: three}\n    command: [z]\n    volumes: ['other:/app']\n    depends_on: {db: {condition: service_healthy}}\nx-ecs: {cluster: prod}\n",
        );
        merge_documents(&mut base, overlay);
        let expected = yaml(
            "services:\n  web:\n    image: b\n    ports: ['80:80', '443:443']\n    environment: {A: '1', B: three}\n    command: [z]\n    volumes: ['data:/data', 'other:/app']\n    depends_on: {db: {condition: service_healthy}}\n  db: {image: pg}\nx-ecs: {cluster: prod, region: eu-west-1}\n",
        );
        assert_eq!(base, expected);
    }

    #[test]
    fn secrets_merge_by_file_and_other_lists_append() {
        let mut base = yaml(
            "services:\n  web:\n    secrets: [a, {source: b, target: key}]\n    volumes_from: [db]\n    group_add: [audio]\n",
        );
        let overlay = yaml(
            "services:\n  web:\n    secrets: [c, {source: d, target: key}]\n    volumes_from: [cache]\n    group_add: [audio, video]\n",
        );
        merge_documents(&mut base, overlay);
        let expected = yaml(
            "services:\n  web:\n    secrets: [a, {source: d, target: key}, c]\n    volumes_from: [db, cache]\n    group_add: [audio, video]\n",
        );
        assert_eq!(base, expected);
    }
}
