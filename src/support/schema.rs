//! The JSON Schema of the `x-ecs` extension, for editors (`# yaml-language-server: $schema=…`):
//! each key with its type, range and the support table's description of what it becomes. A test
//! keeps its keys and the table's equal, and `x-ecs.schema.json` (what `compose2ecs schema`
//! prints) equal to it.

use super::{Verdict, TABLE};
use serde_json::{json, Map, Value};

/// Where `x-ecs` stands in a compose file, with the table's prefix of its keys.
const PLACES: &[(&str, &str)] = &[
    ("project", "x-ecs"),
    ("service", "services.*.x-ecs"),
    ("volume", "volumes.*.x-ecs"),
];

/// A string.
fn text() -> Value {
    json!({"type": "string"})
}

/// A list of strings.
fn texts() -> Value {
    json!({"type": "array", "items": {"type": "string"}})
}

/// A switch: compose2ecs reads YAML 1.1's too (`yes`, `on`), and a `${VAR}` before interpolation.
fn flag() -> Value {
    json!({"oneOf": [
        {"type": "boolean"},
        {"type": "string", "pattern": "^([Tt]rue|TRUE|[Ff]alse|FALSE|[Yy]es|YES|[Nn]o|NO|[Oo]n|ON|[Oo]ff|OFF|y|Y|n|N|\\$\\{.*\\})$"}
    ]})
}

/// A whole number in a range, or written as a string (`"4"`, `${MAX:-4}` before interpolation).
fn count(min: u64, max: u64) -> Value {
    json!({"oneOf": [
        {"type": "integer", "minimum": min, "maximum": max},
        {"type": "string", "pattern": "^\\s*([0-9]+|\\$\\{.*\\})\\s*$"}
    ]})
}

/// The types and ranges of each `x-ecs` key, by the table's key path; descriptions come from the
/// table.
fn shapes() -> Vec<(&'static str, Value)> {
    let mut shapes = project_shapes();
    shapes.extend(service_shapes());
    shapes
}

/// The top level's keys, and a named volume's.
fn project_shapes() -> Vec<(&'static str, Value)> {
    let (text, flag, texts) = (text(), flag(), texts());
    vec![
        ("x-ecs.assign_public_ip", flag.clone()),
        (
            "x-ecs.certificate",
            json!({"type": "string", "pattern": "^arn:aws[a-z-]*:acm:"}),
        ),
        (
            "x-ecs.cloudformation",
            json!({"type": "object", "additionalProperties": {"type": "object"}}),
        ),
        ("x-ecs.cluster", text.clone()),
        ("x-ecs.environment_secrets", flag.clone()),
        (
            "x-ecs.file_system",
            json!({"type": "string", "pattern": "^fs-[0-9a-f]+$"}),
        ),
        ("x-ecs.image_tag", text.clone()),
        (
            "x-ecs.log_retention_days",
            json!({"enum": [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]}),
        ),
        ("x-ecs.mount_targets", count(1, 6)),
        ("x-ecs.public_subnets", texts.clone()),
        (
            "x-ecs.region",
            json!({"type": "string", "pattern": "^[a-z]{2}(-[a-z]+)+-[0-9]+$"}),
        ),
        ("x-ecs.registry", text.clone()),
        ("x-ecs.secrets_image", text.clone()),
        ("x-ecs.security_groups", texts.clone()),
        ("x-ecs.subnets", texts.clone()),
        ("x-ecs.vpc", json!({"type": "string", "pattern": "^vpc-[0-9a-f]+$"})),
        ("volumes.*.x-ecs.uid", count(0, u64::from(u32::MAX))),
        ("volumes.*.x-ecs.gid", count(0, u64::from(u32::MAX))),
        ("volumes.*.x-ecs.root_access", flag),
    ]
}

/// A service's keys.
fn service_shapes() -> Vec<(&'static str, Value)> {
    let (text, flag, texts) = (text(), flag(), texts());
    let one_or_three = json!({"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3}]});
    vec![
        ("services.*.x-ecs.task", text.clone()),
        ("services.*.x-ecs.external", text.clone()),
        ("services.*.x-ecs.essential", flag.clone()),
        ("services.*.x-ecs.peer_dns", flag.clone()),
        ("services.*.x-ecs.secret_variables", texts.clone()),
        ("services.*.x-ecs.health_check", json!({"type": "object"})),
        ("services.*.x-ecs.health_check.path", text.clone()),
        (
            "services.*.x-ecs.health_check.codes",
            json!({"type": ["string", "integer"]}),
        ),
        ("services.*.x-ecs.grace_period", count(0, 2_147_483_647)),
        ("services.*.x-ecs.autoscaling", json!({"type": "object"})),
        ("services.*.x-ecs.autoscaling.min", count(1, 5000)),
        ("services.*.x-ecs.autoscaling.max", count(1, 5000)),
        ("services.*.x-ecs.autoscaling.cpu", count(1, 100)),
        ("services.*.x-ecs.autoscaling.memory", count(1, 100)),
        ("services.*.x-ecs.load_balancer", json!({"type": "object"})),
        ("services.*.x-ecs.load_balancer.path", one_or_three.clone()),
        ("services.*.x-ecs.load_balancer.host", one_or_three),
        ("services.*.x-ecs.load_balancer.priority", count(1, 50000)),
        (
            "services.*.x-ecs.load_balancer.type",
            json!({"enum": ["application", "network"]}),
        ),
        (
            "services.*.x-ecs.policies",
            json!({"type": "array", "items": {"oneOf": [{"type": "string"}, {"type": "object"}]}}),
        ),
        ("services.*.x-ecs.exec", flag.clone()),
        ("services.*.x-ecs.EnableExecuteCommand", flag.clone()),
        ("services.*.x-ecs.ephemeral_storage", count(21, 200)),
        ("services.*.x-ecs.spot", flag.clone()),
        (
            "services.*.x-ecs.CapacityProviderStrategy",
            json!({"type": "array", "items": {"type": "object"}}),
        ),
        (
            "services.*.x-ecs.registry_credentials",
            json!({"type": "string", "pattern": "^arn:aws[a-z-]*:secretsmanager:"}),
        ),
        ("services.*.x-ecs.rollout", json!({"type": "object"})),
        ("services.*.x-ecs.rollout.minimum_healthy_percent", count(0, 100)),
        ("services.*.x-ecs.rollout.maximum_percent", count(100, 200)),
        (
            "services.*.x-ecs.managed",
            json!({"type": ["boolean", "object"], "switch": true}),
        ),
        ("services.*.x-ecs.managed.engine", json!({"enum": ["aurora"]})),
        (
            "services.*.x-ecs.managed.version",
            json!({"type": ["string", "number"]}),
        ),
        (
            "services.*.x-ecs.managed.instance_class",
            json!({"type": "string", "pattern": "^db\\.[a-z0-9-]+\\.[a-z0-9-]+$"}),
        ),
        ("services.*.x-ecs.managed.storage", count(20, 65536)),
        ("services.*.x-ecs.managed.multi_az", flag.clone()),
        ("services.*.x-ecs.managed.backup_retention_days", count(1, 35)),
        ("services.*.x-ecs.managed.deletion_protection", flag.clone()),
    ]
}

/// The schema of `x-ecs` at each place, and of a compose file's `x-ecs` blocks as a whole.
pub fn x_ecs_schema() -> Value {
    let shapes: Vec<(&str, Value)> = shapes();
    let mut definitions = Map::new();
    for (name, prefix) in PLACES {
        definitions.insert(name.to_string(), object_at(prefix, &shapes));
    }
    let x_ecs_of =
        |place: &str| json!({"type": "object", "properties": {"x-ecs": {"$ref": format!("#/$defs/{place}")}}});
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "compose2ecs x-ecs settings",
        "description": "The x-ecs extension of a compose file, as compose2ecs reads it: at the top level, in a service and in a named volume. The rest of the file is the Compose Specification's.",
        "type": "object",
        "properties": {
            "x-ecs": {"$ref": "#/$defs/project"},
            "services": {"type": "object", "additionalProperties": x_ecs_of("service")},
            "volumes": {"type": "object", "additionalProperties": {"oneOf": [{"type": "null"}, x_ecs_of("volume")]}},
        },
        "$defs": definitions,
    })
}

/// The object whose keys are the table's rows directly under `prefix`, nested where a key has
/// keys of its own; other keys are errors, as compose2ecs refuses them.
fn object_at(prefix: &str, shapes: &[(&str, Value)]) -> Value {
    let mut properties = Map::new();
    for row in TABLE.iter().filter(|row| {
        row.key
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('.'))
            .is_some_and(|rest| !rest.contains('.'))
    }) {
        let name = &row.key[prefix.len() + 1..];
        let mut shape = shapes
            .iter()
            .find(|(key, _)| *key == row.key)
            .map_or_else(|| json!({}), |(_, shape)| shape.clone());
        let nested = TABLE
            .iter()
            .any(|other| other.key.starts_with(&format!("{}.", row.key)));
        if nested {
            let inner = object_at(row.key, shapes);
            // `managed: true` or its mapping: the mapping's keys are checked.
            shape = if shape.get("switch").is_some() {
                json!({"oneOf": [flag_shape(), inner]})
            } else {
                inner
            };
        }
        if let Verdict::Converted(becomes) = row.verdict {
            if let Value::Object(map) = &mut shape {
                map.insert("description".to_string(), Value::String(becomes.to_string()));
            }
        }
        properties.insert(name.to_string(), shape);
    }
    // The user's own `x-` keys are accepted, as in compose; any other unknown key is refused.
    json!({"type": "object", "additionalProperties": false, "patternProperties": {"^x-": {}}, "properties": properties})
}

/// A switch, as `shapes` writes one.
fn flag_shape() -> Value {
    shapes()
        .into_iter()
        .find(|(key, _)| *key == "x-ecs.assign_public_ip")
        .map(|(_, shape)| shape)
        .expect("a switch is shaped")
}

/// Every table key of `x-ecs` with no shape, and every shape of no table key: both empty when
/// the two agree.
pub fn disagreements() -> (Vec<&'static str>, Vec<&'static str>) {
    let shapes = shapes();
    let is_x_ecs = |key: &str| PLACES.iter().any(|(_, prefix)| key.starts_with(&format!("{prefix}.")));
    let unshaped = TABLE
        .iter()
        .map(|row| row.key)
        .filter(|key| is_x_ecs(key) && !shapes.iter().any(|(shaped, _)| shaped == key))
        .collect();
    let unlisted = shapes
        .iter()
        .map(|(key, _)| *key)
        .filter(|key| !TABLE.iter().any(|row| row.key == *key))
        .collect();
    (unshaped, unlisted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_x_ecs_key_of_the_table_has_a_shape_and_no_other_does() {
        let (unshaped, unlisted) = disagreements();
        assert!(unshaped.is_empty(), "keys without a shape: {unshaped:?}");
        assert!(unlisted.is_empty(), "shapes of keys the table lacks: {unlisted:?}");
    }

    #[test]
    fn the_schema_nests_the_keys_that_have_keys() {
        let schema = x_ecs_schema();
        let service = &schema["$defs"]["service"]["properties"];
        assert_eq!(
            service["rollout"]["properties"]["maximum_percent"]["oneOf"][0]["maximum"],
            200
        );
        assert_eq!(
            service["managed"]["oneOf"][1]["properties"]["engine"]["enum"][0],
            "aurora"
        );
        assert_eq!(
            schema["$defs"]["volume"]["properties"]["root_access"]["oneOf"][0]["type"],
            "boolean"
        );
        assert_eq!(schema["$defs"]["project"]["additionalProperties"], false);
        assert!(service["task"]["description"].as_str().is_some_and(|d| !d.is_empty()));
    }
}
