//! The `x-ecs` extension: the top-level one (where and how the project is deployed: cluster,
//! region, network, registry, image tag, secrets) and each service's (its task, an external
//! endpoint, essential, secret variables). The keys that shape the stacks are read by
//! `infrastructure`.

use super::infrastructure;
use super::reader::Reader;
use super::service::valid_task_name;
use super::units::{parse_port_spec, PortSpec};
use super::{
    CapacityShare, DeploySettings, ExternalEndpoint, ManagedSettings, RolloutSettings, ServiceSettings, TaskPolicies,
    TemplateOverlay,
};
use crate::diagnostic::{Code, KeyPath};
use crate::load::interpolate::key_text;
use serde_yaml::Value;

/// The top-level `x-ecs`.
pub(super) fn deploy_settings(reader: &mut Reader, value: Option<&Value>, path: &KeyPath) -> DeploySettings {
    let mut settings = DeploySettings::default();
    let Some(value) = value else { return settings };
    let Some(map) = value.as_mapping() else {
        reader.wrong_type(path, value, "a mapping of deployment settings");
        return settings;
    };
    reader.check_keys(map, "x-ecs", path);
    for (key, item) in map {
        let name = key_text(key);
        let item_path = path.key(&name);
        match name.as_str() {
            "cluster" => settings.cluster = cluster(reader, item, &item_path),
            "region" => settings.region = reader.string(item, &item_path),
            "vpc" => settings.vpc = prefixed_id(reader, item, &item_path, "vpc-", "a VPC"),
            "subnets" => settings.subnets = reader.string_list(item, &item_path),
            "public_subnets" => settings.public_subnets = reader.string_list(item, &item_path),
            "security_groups" => settings.security_groups = reader.string_list(item, &item_path),
            "assign_public_ip" => settings.assign_public_ip = reader.boolean(item, &item_path).unwrap_or(false),
            "registry" => settings.registry = registry(reader, item, &item_path),
            "image_tag" => settings.image_tag = image_tag(reader, item, &item_path),
            "secrets_image" => settings.secrets_image = reader.string(item, &item_path),
            "environment_secrets" => settings.environment_secrets = reader.boolean(item, &item_path).unwrap_or(false),
            "cloudformation" => settings.cloudformation = overlays(reader, item, &item_path),
            other => {
                infrastructure::infrastructure_setting(reader, other, item, &item_path, &mut settings.infrastructure)
            }
        }
    }
    settings
}

/// The templates compose2ecs generates, which `x-ecs.cloudformation` may patch.
pub const TEMPLATES: &[&str] = &[
    "base.yaml",
    "efs.yaml",
    "data.yaml",
    "alb.yaml",
    "nlb.yaml",
    "secrets.yaml",
    "autoscaling.yaml",
];

/// A template compose2ecs may generate: one of `TEMPLATES`, or a later EFS or secrets stack's
/// (`efs-2.yaml`, `secrets-2.yaml`).
fn is_template(name: &str) -> bool {
    let later_part = ["efs-", "secrets-"].iter().any(|kind| {
        name.strip_prefix(kind)
            .and_then(|rest| rest.strip_suffix(".yaml"))
            .and_then(|part| part.parse::<u32>().ok())
            .is_some_and(|part| part >= 2)
    });
    TEMPLATES.contains(&name) || later_part
}

/// The parts of a template a patch may change: not its `Parameters`, which `deploy` fills from
/// the plan, nor its format.
const PATCHABLE: &[&str] = &[
    "Description",
    "Metadata",
    "Mappings",
    "Conditions",
    "Resources",
    "Outputs",
];

/// `x-ecs.cloudformation: {TEMPLATE: PATCH}`: each patch a mapping of the template's patchable
/// parts.
fn overlays(reader: &mut Reader, value: &Value, path: &KeyPath) -> Vec<TemplateOverlay> {
    let Some(map) = value.as_mapping() else {
        reader.wrong_type(
            path,
            value,
            "a mapping of template names (`alb.yaml`) to what to merge into them",
        );
        return Vec::new();
    };
    let mut overlays = Vec::new();
    for (key, patch) in map {
        let template = key_text(key);
        let template_path = path.key(&template);
        if !is_template(&template) {
            reader.error(
                Code::BadSetting,
                &template_path,
                format!(
                    "`{}` is not a template compose2ecs generates",
                    crate::quote::shown(&template)
                ),
                &format!(
                    "the templates are {} (and `efs-2.yaml`, … past 60 volumes, `secrets-2.yaml`, … past 50 secrets)",
                    TEMPLATES.join(", ")
                ),
            );
            continue;
        }
        if patchable(reader, patch, &template_path) {
            overlays.push(TemplateOverlay {
                template,
                patch: patch.clone(),
                path: template_path,
            });
        }
    }
    overlays
}

/// The length of the first key of more than 255 characters in `value`, depth first.
fn first_long_key(value: &Value) -> Option<usize> {
    match value {
        Value::Mapping(map) => map.iter().find_map(|(key, item)| {
            let length = key_text(key).chars().count();
            if length > 255 {
                Some(length)
            } else {
                first_long_key(item)
            }
        }),
        Value::Sequence(items) => items.iter().find_map(first_long_key),
        Value::Tagged(tagged) => first_long_key(&tagged.value),
        _ => None,
    }
}

/// The first YAML tag (`!Ref`) in `value`, depth first.
fn first_tag(value: &Value) -> Option<String> {
    match value {
        Value::Tagged(tagged) => Some(tagged.tag.to_string()),
        Value::Sequence(items) => items.iter().find_map(first_tag),
        Value::Mapping(map) => map.values().find_map(first_tag),
        _ => None,
    }
}

/// Whether `patch` (at `path`) may be merged into a generated template: a mapping of its patchable
/// parts, with intrinsic functions in their long form.
pub(super) fn patchable(reader: &mut Reader, patch: &Value, path: &KeyPath) -> bool {
    let Some(parts) = patch.as_mapping() else {
        reader.wrong_type(path, patch, "a mapping of template parts (`Resources`, `Outputs`, …)");
        return false;
    };
    let mut valid = true;
    for part in parts.keys().map(key_text) {
        if !PATCHABLE.contains(&part.as_str()) {
            reader.error(
                Code::BadSetting,
                &path.key(&part),
                format!("`{part}` of a generated template cannot be patched"),
                &format!(
                    "a patch changes {}; `deploy` passes the Parameters the plan lists",
                    PATCHABLE.join(", ")
                ),
            );
            valid = false;
        }
    }
    // YAML parsers take at most 1,024 characters in a key written on its line, and CloudFormation
    // names are far shorter.
    if let Some(long) = first_long_key(patch) {
        reader.error(
            Code::BadSetting,
            path,
            format!(
                "a key of {} characters in a patch is longer than any CloudFormation name",
                long
            ),
            "keys of a patch are resource, property and output names: 255 characters at most",
        );
        valid = false;
    }
    if let Some(tag) = first_tag(patch) {
        reader.error(
            Code::BadSetting,
            path,
            format!("`{tag}` in a patch is YAML's short form of an intrinsic function"),
            "write the long form, as the generated templates do: `Ref: X`, `Fn::GetAtt: [X, Arn]`, `Fn::Sub: …`",
        );
        valid = false;
    }
    valid
}

/// An AWS id that `deploy` passes on (`vpc-0123abcd`): checked for its prefix, so a name given
/// where an id belongs is found before the stacks are deployed.
pub(super) fn prefixed_id(
    reader: &mut Reader,
    value: &Value,
    path: &KeyPath,
    prefix: &str,
    what: &str,
) -> Option<String> {
    let id = reader.string(value, path)?;
    if !id.starts_with(prefix) || !id[prefix.len()..].chars().all(|c| c.is_ascii_hexdigit()) || id.len() == prefix.len()
    {
        reader.error(
            Code::BadSetting,
            path,
            format!("`{}` is not the id of {what}", crate::quote::shown(&id)),
            &format!("give its id, `{prefix}` and hexadecimal digits (`aws ec2 describe-vpcs` lists them)"),
        );
        return None;
    }
    Some(id)
}

/// `x-ecs.cluster`: a cluster's name, or its ARN (then its name is read from it; every use
/// needs the name: autoscaling's `service/CLUSTER/SERVICE` takes no ARN). The name goes into
/// the templates and the ECS services, so it must be one ECS would take.
pub(super) fn cluster(reader: &mut Reader, value: &Value, path: &KeyPath) -> Option<String> {
    let cluster = reader.string(value, path)?;
    let name = if cluster.starts_with("arn:") {
        match cluster.split_once(":cluster/") {
            Some((_, name)) if !name.is_empty() && !name.contains('/') => name,
            _ => {
                reader.error(
                    Code::BadSetting,
                    path,
                    format!("`{}` is not an ECS cluster's ARN", crate::quote::shown(&cluster)),
                    "give the cluster's name, or its ARN `arn:aws:ecs:REGION:ACCOUNT:cluster/NAME`",
                );
                return None;
            }
        }
    } else {
        &cluster
    };
    if !is_cluster_name(name) {
        reader.error(
            Code::BadSetting,
            path,
            format!("`{}` is not an ECS cluster name", crate::quote::shown(name)),
            "a cluster name has 1 to 255 letters, digits, `-` and `_`",
        );
        return None;
    }
    Some(name.to_string())
}

/// ECS's cluster names: 1 to 255 letters, digits, `-` and `_`.
fn is_cluster_name(name: &str) -> bool {
    (1..=255).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

/// `x-ecs.registry`: `HOST[/PATH]` of an image repository, no scheme.
fn registry(reader: &mut Reader, value: &Value, path: &KeyPath) -> Option<String> {
    let registry = reader.string(value, path)?.trim_end_matches('/').to_string();
    let valid = !registry.is_empty()
        && !registry.contains("://")
        && registry
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/:".contains(c));
    if !valid {
        reader.error(
            Code::BadSetting,
            path,
            format!("`{}` is not a registry and repository path", crate::quote::shown(&registry)),
            "write it as an image name starts, without `https://` and in lower case: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop`",
        );
        return None;
    }
    Some(registry)
}

/// `x-ecs.image_tag`: a Docker tag, written as a string (`1.10` as a number would be 1.1).
fn image_tag(reader: &mut Reader, value: &Value, path: &KeyPath) -> Option<String> {
    let Value::String(tag) = value else {
        reader.wrong_type(path, value, "a string (quote it: `\"1.10\"`)");
        return None;
    };
    let valid = tag.len() <= 128
        && tag
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && tag.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !valid {
        reader.error(
            Code::BadSetting,
            path,
            format!("`{}` is not an image tag", crate::quote::shown(tag)),
            "a tag has letters, digits, `_`, `.` and `-`, up to 128, and does not start with `.` or `-`",
        );
        return None;
    }
    Some(tag.clone())
}

/// A service's `x-ecs`.
pub(super) fn service_settings(reader: &mut Reader, value: &Value, path: &KeyPath) -> ServiceSettings {
    let mut settings = ServiceSettings::default();
    let Some(map) = value.as_mapping() else {
        reader.wrong_type(path, value, "a mapping (`task`, `external`, `essential`, …)");
        return settings;
    };
    reader.check_keys(map, "services.*.x-ecs", path);
    for (key, item) in map {
        let name = key_text(key);
        let item_path = path.key(&name);
        match name.as_str() {
            "task" => {
                settings.task = reader
                    .string(item, &item_path)
                    .filter(|task| valid_task_name(reader, task, &item_path))
                    .map(|task| (task, item_path))
            }
            "external" => settings.external = external(reader, item, &item_path),
            "managed" => settings.managed = managed(reader, item, &item_path),
            "essential" => settings.essential = reader.boolean(item, &item_path),
            "peer_dns" => settings.peer_dns = reader.boolean(item, &item_path).unwrap_or(false),
            "rollout" => settings.rollout = rollout(reader, item, &item_path),
            "exec" | "EnableExecuteCommand" => settings.exec = reader.boolean(item, &item_path).unwrap_or(false),
            "ephemeral_storage" => {
                settings.ephemeral_storage = reader
                    .count(item, &item_path)
                    .filter(|gib| within(reader, *gib, 21..=200, &item_path, "GiB, what Fargate gives a task"))
                    .map(|gib| (gib, item_path))
            }
            "spot" => {
                if reader.boolean(item, &item_path) == Some(true) {
                    let spot = CapacityShare {
                        provider: "FARGATE_SPOT".into(),
                        weight: 1,
                        base: 0,
                    };
                    settings.capacity = Some((vec![spot], item_path));
                }
            }
            "CapacityProviderStrategy" => {
                settings.capacity = capacity_strategy(reader, item, &item_path).map(|shares| (shares, item_path))
            }
            "policies" => settings.policies = policies(reader, item, &item_path),
            "registry_credentials" => {
                settings.registry_credentials =
                    registry_credentials(reader, item, &item_path).map(|arn| (arn, item_path))
            }
            "secret_variables" => {
                settings.secret_variables = reader
                    .string_list(item, &item_path)
                    .unwrap_or_default()
                    .into_iter()
                    .enumerate()
                    .map(|(i, name)| (name, item_path.index(i)))
                    .collect()
            }
            other => infrastructure::service_infrastructure_setting(reader, other, item, &item_path, &mut settings),
        }
    }
    settings
}

/// `x-ecs.rollout: {minimum_healthy_percent, maximum_percent}`, within what ECS takes for a
/// replica service: 0 to 100, and 100 to 200.
fn rollout(reader: &mut Reader, value: &Value, path: &KeyPath) -> Option<RolloutSettings> {
    let Some(map) = value.as_mapping() else {
        reader.wrong_type(path, value, "a mapping (`minimum_healthy_percent`, `maximum_percent`)");
        return None;
    };
    reader.check_keys(map, "services.*.x-ecs.rollout", path);
    let mut settings = RolloutSettings {
        minimum_healthy_percent: None,
        maximum_percent: None,
        path: path.clone(),
    };
    for (key, item) in map {
        let name = key_text(key);
        let item_path = path.key(&name);
        match name.as_str() {
            "minimum_healthy_percent" => {
                settings.minimum_healthy_percent = rollout_percent(reader, item, &item_path, 0..=100)
            }
            "maximum_percent" => settings.maximum_percent = rollout_percent(reader, item, &item_path, 100..=200),
            _ => {}
        }
    }
    Some(settings)
}

/// Whether `value` is within `range` of `unit`; an error says the range when it is not.
fn within(reader: &mut Reader, value: u32, range: std::ops::RangeInclusive<u32>, path: &KeyPath, unit: &str) -> bool {
    let inside = range.contains(&value);
    if !inside {
        reader.error(
            Code::BadSetting,
            path,
            format!(
                "`{path}` is {value}; ECS takes {} to {} {unit}",
                range.start(),
                range.end()
            ),
            &format!("give a number from {} to {}", range.start(), range.end()),
        );
    }
    inside
}

/// ECS ComposeX's `CapacityProviderStrategy: [{CapacityProvider, Weight, Base}]`, as the ECS
/// service takes it: Fargate's two providers only, since every task runs on Fargate.
fn capacity_strategy(reader: &mut Reader, value: &Value, path: &KeyPath) -> Option<Vec<CapacityShare>> {
    let Some(items) = value.as_sequence() else {
        reader.wrong_type(path, value, "a list of `{CapacityProvider, Weight, Base}`");
        return None;
    };
    let mut shares = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let item_path = path.index(index);
        let problem = match item.as_mapping() {
            None => Some("an item of a capacity provider strategy is a mapping".to_string()),
            Some(share) => share
                .keys()
                .map(key_text)
                .find(|key| !["CapacityProvider", "Weight", "Base"].contains(&key.as_str()))
                .map(|key| format!("`{key}` is not a key of a capacity provider strategy's item")),
        };
        if let Some(problem) = problem {
            reader.error(
                Code::BadSetting,
                &item_path,
                problem,
                "write `{CapacityProvider: FARGATE_SPOT, Weight: 1, Base: 0}`",
            );
            return None;
        }
        let provider = item.get("CapacityProvider").map(key_text).unwrap_or_default();
        if !matches!(provider.as_str(), "FARGATE" | "FARGATE_SPOT") {
            reader.error(
                Code::BadSetting,
                &item_path,
                format!(
                    "`{}` is not a Fargate capacity provider",
                    crate::quote::shown(&provider)
                ),
                "compose2ecs runs every task on Fargate: `FARGATE` or `FARGATE_SPOT`",
            );
            return None;
        }
        let weight = item
            .get("Weight")
            .and_then(|w| reader.count(w, &item_path.key("Weight")))
            .unwrap_or(0);
        let base = item
            .get("Base")
            .and_then(|b| reader.count(b, &item_path.key("Base")))
            .unwrap_or(0);
        if !within(reader, weight, 0..=1000, &item_path.key("Weight"), "as a weight")
            || !within(reader, base, 0..=100_000, &item_path.key("Base"), "copies as a base")
        {
            return None;
        }
        shares.push(CapacityShare { provider, weight, base });
    }
    // ECS takes a base on one provider only.
    if shares.iter().filter(|share| share.base > 0).count() > 1 {
        reader.error(
            Code::BadSetting,
            path,
            format!("`{path}` gives more than one provider a `Base`"),
            "give a `Base` to one provider only: the copies it runs before the weights apply",
        );
        return None;
    }
    // ECS refuses a strategy in which no provider has weight.
    if shares.iter().all(|share| share.weight == 0) {
        reader.error(
            Code::BadSetting,
            path,
            format!("`{path}` gives no provider a `Weight`"),
            "give `FARGATE_SPOT` (or `FARGATE`) a weight of 1 or more",
        );
        return None;
    }
    Some(shares)
}

/// `x-ecs.registry_credentials`: the ARN of the Secrets Manager secret (`{"username", "password"}`)
/// ECS reads to pull from a private registry.
pub(super) fn registry_credentials(reader: &mut Reader, value: &Value, path: &KeyPath) -> Option<String> {
    let arn = reader.string(value, path)?;
    let secrets_manager = arn.split(':').nth(2) == Some("secretsmanager");
    if !secrets_manager || super::secrets::external_reference_problem(&arn).is_some() {
        reader.error(
            Code::BadSetting,
            path,
            format!("`{}` is not the ARN of a Secrets Manager secret", crate::quote::shown(&arn)),
            "give the ARN of the secret that holds the registry's `username` and `password` (`aws secretsmanager describe-secret --secret-id NAME --query ARN`)",
        );
        return None;
    }
    Some(arn)
}

/// `x-ecs.policies`: a list of managed policy ARNs and IAM statements.
fn policies(reader: &mut Reader, value: &Value, path: &KeyPath) -> Option<TaskPolicies> {
    let Some(items) = value.as_sequence() else {
        reader.wrong_type(path, value, "a list of policy ARNs and IAM statements");
        return None;
    };
    let mut policies = TaskPolicies {
        path: path.clone(),
        ..TaskPolicies::default()
    };
    for (index, item) in items.iter().enumerate() {
        let item_path = path.index(index);
        match item {
            Value::String(_) => policies.managed.extend(managed_policy(reader, item, &item_path)),
            Value::Mapping(_) => policies.statements.extend(statement(reader, item, &item_path)),
            other => reader.wrong_type(&item_path, other, "a managed policy's ARN or an IAM statement"),
        }
    }
    Some(policies)
}

/// A managed policy's ARN: AWS's (`arn:aws:iam::aws:policy/…`) or the account's.
pub(super) fn managed_policy(reader: &mut Reader, value: &Value, path: &KeyPath) -> Option<String> {
    let arn = reader.string(value, path)?;
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let valid = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[5].starts_with("policy/")
        && parts[5].len() > "policy/".len();
    if !valid {
        reader.error(
            Code::BadSetting,
            path,
            format!("`{}` is not a managed policy's ARN", crate::quote::shown(&arn)),
            "give `arn:aws:iam::aws:policy/NAME` for one of AWS's, or `arn:aws:iam::ACCOUNT:policy/NAME`",
        );
        return None;
    }
    Some(arn)
}

/// The keys an IAM statement of an identity policy has.
const STATEMENT_KEYS: &[&str] = &[
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

/// An IAM statement: `Effect` `Allow` or `Deny`, an action and a resource, and nothing an
/// identity policy does not take (`Principal`).
pub(super) fn statement(reader: &mut Reader, value: &Value, path: &KeyPath) -> Option<Value> {
    let Some(map) = value.as_mapping() else {
        reader.wrong_type(path, value, "an IAM statement (`Effect`, `Action`, `Resource`)");
        return None;
    };
    let keys: Vec<String> = map.keys().map(key_text).collect();
    let problem = if let Some(unknown) = keys.iter().find(|k| !STATEMENT_KEYS.contains(&k.as_str())) {
        Some(format!("`{unknown}` is not a key of a role's policy statement"))
    } else if !matches!(map.get("Effect").map(key_text).as_deref(), Some("Allow" | "Deny")) {
        Some("its `Effect` is not `Allow` or `Deny`".to_string())
    } else if !keys.iter().any(|k| k == "Action" || k == "NotAction") {
        Some("it has no `Action`".to_string())
    } else if !keys.iter().any(|k| k == "Resource" || k == "NotResource") {
        Some("it has no `Resource`".to_string())
    } else if map
        .get("Sid")
        .is_some_and(|sid| !key_text(sid).chars().all(|c| c.is_ascii_alphanumeric()))
    {
        Some("its `Sid` has characters other than letters and digits, which IAM refuses".to_string())
    } else {
        None
    };
    if let Some(problem) = problem {
        reader.error(
            Code::BadSetting,
            path,
            format!("`{path}` is not an IAM statement for a role: {problem}"),
            "write `{Effect: Allow, Action: [s3:GetObject], Resource: arn:aws:s3:::BUCKET/*}`",
        );
        return None;
    }
    Some(value.clone())
}

/// One deployment percent, within `range`.
pub(super) fn rollout_percent(
    reader: &mut Reader,
    value: &Value,
    path: &KeyPath,
    range: std::ops::RangeInclusive<u32>,
) -> Option<u32> {
    let percent = reader.count(value, path)?;
    if !range.contains(&percent) {
        reader.error(
            Code::BadSetting,
            path,
            format!("`{path}` is {percent}; ECS takes {} to {} percent here", range.start(), range.end()),
            "`minimum_healthy_percent` is 0 to 100 (the copies kept running), `maximum_percent` 100 to 200 (the copies running at most)",
        );
        return None;
    }
    Some(percent)
}

/// `x-ecs.managed`: `true`, or a mapping of the settings that change the safe defaults.
pub(super) fn managed(reader: &mut Reader, value: &Value, path: &KeyPath) -> Option<ManagedSettings> {
    let mut settings = ManagedSettings {
        path: path.clone(),
        ..ManagedSettings::default()
    };
    if let Value::Bool(on) = value {
        return on.then_some(settings);
    }
    let Some(map) = value.as_mapping() else {
        reader.wrong_type(
            path,
            value,
            "`true`, or a mapping (`engine`, `version`, `instance_class`, `storage`, …)",
        );
        return None;
    };
    reader.check_keys(map, "services.*.x-ecs.managed", path);
    for (key, item) in map {
        let name = key_text(key);
        let item_path = path.key(&name);
        match name.as_str() {
            "engine" => match reader.string(item, &item_path).as_deref() {
                Some("aurora") => settings.aurora = true,
                Some(other) => reader.error(
                    Code::BadSetting,
                    &item_path,
                    format!("`{}` is not an engine compose2ecs makes", crate::quote::shown(other)),
                    "`engine: aurora` makes Aurora Serverless v2 (PostgreSQL or MySQL); without it, the image's own engine on RDS, DocumentDB or ElastiCache",
                ),
                None => {}
            },
            "version" => {
                let valid = |version: &str| {
                    version.len() <= 64
                        && version
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
                };
                let example = "for example `version: \"16\"` (PostgreSQL) or `version: \"8.0\"` (MySQL)";
                settings.version = checked_text(reader, item, &item_path, valid, "an engine version", example);
            }
            "instance_class" => {
                let valid = |class: &str| {
                    let parts: Vec<&str> = class.split('.').collect();
                    parts.len() == 3
                        && parts[0] == "db"
                        && parts[1..]
                            .iter()
                            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
                };
                let example = "for example `instance_class: db.t4g.micro` (RDS) or `db.t4g.medium` (DocumentDB)";
                settings.instance_class =
                    checked_text(reader, item, &item_path, valid, "a database instance class", example);
            }
            "storage" => {
                settings.storage = reader
                    .count(item, &item_path)
                    .filter(|gib| within(reader, *gib, 20..=65536, &item_path, "GiB, what RDS gives an instance"))
            }
            "multi_az" => settings.multi_az = reader.boolean(item, &item_path),
            "backup_retention_days" => {
                settings.backup_retention_days = reader
                    .count(item, &item_path)
                    .filter(|days| within(reader, *days, 1..=35, &item_path, "days of automated backups"))
            }
            "deletion_protection" => settings.deletion_protection = reader.boolean(item, &item_path),
            _ => {}
        }
    }
    Some(settings)
}

/// A text setting `valid` takes, with where it is written; an error saying it is not `what`, with
/// `example` for help, otherwise.
fn checked_text(
    reader: &mut Reader,
    value: &Value,
    path: &KeyPath,
    valid: impl Fn(&str) -> bool,
    what: &str,
    example: &str,
) -> Option<(String, KeyPath)> {
    let text = reader.scalar_text(value, path)?;
    if text.is_empty() || !valid(&text) {
        reader.error(
            Code::BadSetting,
            path,
            format!("`{}` is not {what}", crate::quote::shown(&text)),
            example,
        );
        return None;
    }
    Some((text, path.clone()))
}

/// `x-ecs.external`: `host` or `host:port`, where the service lives outside ECS.
fn external(reader: &mut Reader, value: &Value, path: &KeyPath) -> Option<ExternalEndpoint> {
    let text = reader.string(value, path)?;
    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) => match parse_port_spec(port) {
            Ok(PortSpec::One(port)) => (host.to_string(), Some(port)),
            _ => {
                reader.error(
                    Code::BadExternal,
                    path,
                    format!("`{}` is not `host` or `host:port`", crate::quote::shown(&text)),
                    "for example `x-ecs: {external: \"mydb.abc123.eu-west-1.rds.amazonaws.com:5432\"}`",
                );
                return None;
            }
        },
        None => (text.clone(), None),
    };
    let valid = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if !valid {
        reader.error(
            Code::BadExternal,
            path,
            format!("`{}` is not a host name", crate::quote::shown(&host)),
            "give a DNS name or an IP address, with an optional `:port`",
        );
        return None;
    }
    Some(ExternalEndpoint { host, port })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::testing::{codes, paths, read};
    use crate::normalise::LoadBalancerType;

    fn top_level(yaml: &str) -> (DeploySettings, Vec<Code>) {
        let (settings, diagnostics) = read(yaml, |reader, value, _| {
            deploy_settings(reader, Some(value), &KeyPath::root().key("x-ecs"))
        });
        (settings, codes(&diagnostics))
    }

    fn of_service(yaml: &str) -> (ServiceSettings, Vec<Code>, Vec<String>) {
        let (settings, diagnostics) = read(yaml, |reader, value, path| {
            service_settings(reader, value, &path.key("x-ecs"))
        });
        (settings, codes(&diagnostics), paths(&diagnostics))
    }

    #[test]
    fn managed_takes_a_switch_or_its_settings() {
        let (settings, codes, _) = of_service(
            "{managed: {engine: aurora, version: 16, instance_class: db.t4g.small, storage: 50, multi_az: true, backup_retention_days: 14, deletion_protection: false}}",
        );
        assert!(codes.is_empty(), "{codes:?}");
        let managed = settings.managed.expect("managed");
        assert!(managed.aurora && managed.multi_az == Some(true) && managed.deletion_protection == Some(false));
        assert_eq!(managed.version.map(|(v, _)| v).as_deref(), Some("16"));
        assert_eq!(managed.instance_class.map(|(c, _)| c).as_deref(), Some("db.t4g.small"));
        assert_eq!((managed.storage, managed.backup_retention_days), (Some(50), Some(14)));
        assert!(of_service("{managed: true}").0.managed.is_some());
        assert!(of_service("{managed: false}").0.managed.is_none());
        let (_, codes, paths) = of_service(
            "{managed: {engine: oracle, instance_class: t4g.micro, storage: 5, backup_retention_days: 0, version: 'a b'}}",
        );
        assert_eq!(codes, [Code::BadSetting; 5], "{paths:?}");
    }

    #[test]
    fn the_top_level_settings() {
        let yaml = r#"{cluster: "arn:aws:ecs:eu-west-1:123456789012:cluster/prod", region: eu-west-1,
            subnets: [subnet-1, subnet-2], assign_public_ip: yes, image_tag: "1.10",
            registry: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/, environment_secrets: true,
            log_retention_days: 14}"#;
        let (settings, codes) = top_level(yaml);
        assert!(codes.is_empty(), "{codes:?}");
        assert_eq!(
            settings.cluster.as_deref(),
            Some("prod"),
            "the name is read from the ARN"
        );
        assert_eq!(settings.region.as_deref(), Some("eu-west-1"));
        assert_eq!(settings.subnets, Some(vec!["subnet-1".into(), "subnet-2".into()]));
        assert!(settings.assign_public_ip && settings.environment_secrets);
        assert_eq!(
            settings.registry.as_deref(),
            Some("123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop")
        );
        assert_eq!(settings.image_tag.as_deref(), Some("1.10"));
        // The keys that shape the stacks go to `infrastructure`.
        assert_eq!(settings.infrastructure.log_retention_days, Some(14));
    }

    #[test]
    fn cloudformation_patches_name_a_template_and_its_patchable_parts() {
        let (settings, codes) =
            top_level("{cloudformation: {alb.yaml: {Resources: {LoadBalancer: {Properties: {}}}}}}");
        assert!(codes.is_empty(), "{codes:?}");
        let overlay = &settings.cloudformation[0];
        assert_eq!(
            (overlay.template.as_str(), overlay.path.to_string()),
            ("alb.yaml", "x-ecs.cloudformation.alb.yaml".to_string())
        );
        for yaml in [
            "{cloudformation: {web.yaml: {Resources: {}}}}",
            "{cloudformation: {base.yaml: {Parameters: {VpcId: {Default: vpc-1}}}}}",
            "{cloudformation: {base.yaml: {Resources: {Topic: {Properties: {Name: !Ref Other}}}}}}",
        ] {
            let (settings, codes) = top_level(yaml);
            assert_eq!(codes, [Code::BadSetting], "{yaml}");
            assert!(settings.cloudformation.is_empty(), "{yaml}");
        }
        assert_eq!(top_level("{cloudformation: {base.yaml: [x]}}").1, [Code::WrongType]);
    }

    #[test]
    fn the_network_deploy_uses_and_a_name_where_an_id_belongs() {
        let (settings, codes) = top_level("{vpc: vpc-0a1b2c, public_subnets: [subnet-c, subnet-d]}");
        assert!(codes.is_empty(), "{codes:?}");
        assert_eq!(settings.vpc.as_deref(), Some("vpc-0a1b2c"));
        assert_eq!(
            settings.public_subnets,
            Some(vec!["subnet-c".into(), "subnet-d".into()])
        );
        for wrong in ["main", "vpc-", "vpc-main"] {
            let (settings, codes) = top_level(&format!("{{vpc: {wrong}}}"));
            assert_eq!(codes, [Code::BadSetting], "{wrong}");
            assert_eq!(settings.vpc, None);
        }
    }

    #[test]
    fn top_level_values_ecs_would_refuse() {
        for (yaml, expected) in [
            ("{cluster: 'prod cluster'}", Code::BadSetting),
            (
                "{cluster: 'arn:aws:ecs:eu-west-1:123456789012:service/prod/web'}",
                Code::BadSetting,
            ),
            ("{registry: 'https://registry.example.com'}", Code::BadSetting),
            ("{registry: Registry.Example.com}", Code::BadSetting),
            ("{image_tag: 1.10}", Code::WrongType),
            ("{image_tag: -rc1}", Code::BadSetting),
            ("{subnets: subnet-1}", Code::WrongType),
            ("{clustr: prod}", Code::UnknownKey),
            ("[prod]", Code::WrongType),
        ] {
            assert_eq!(top_level(yaml).1, [expected], "{yaml}");
        }
        assert!(top_level("{cluster: 'prod cluster'}").0.cluster.is_none());
    }

    #[test]
    fn a_service_s_settings() {
        let yaml = "{task: app, essential: false, secret_variables: [DB_PASSWORD], external: 'db.example.com:5432', grace_period: 30}";
        let (settings, codes, _) = of_service(yaml);
        assert!(codes.is_empty(), "{codes:?}");
        assert_eq!(settings.task.map(|(task, _)| task).as_deref(), Some("app"));
        assert_eq!(settings.essential, Some(false));
        let names: Vec<_> = settings
            .secret_variables
            .iter()
            .map(|(n, at)| (n.as_str(), at.to_string()))
            .collect();
        assert_eq!(
            names,
            [("DB_PASSWORD", "services.web.x-ecs.secret_variables[0]".to_string())]
        );
        let external = settings.external.expect("an external endpoint");
        assert_eq!((external.host.as_str(), external.port), ("db.example.com", Some(5432)));
        assert_eq!(settings.health_check.grace_period, Some(30));
        let (settings, _, _) = of_service("{external: 10.0.0.5}");
        assert_eq!(settings.external.map(|e| e.port), Some(None));
    }

    #[test]
    fn service_values_that_cannot_be_used() {
        let (settings, codes, paths) = of_service("{task: -app, external: 'db:5432:1', essential: maybe}");
        assert!(settings.task.is_none() && settings.external.is_none());
        assert_eq!(codes, [Code::BadTaskName, Code::BadExternal, Code::WrongType]);
        assert_eq!(
            paths,
            [
                "services.web.x-ecs.task",
                "services.web.x-ecs.external",
                "services.web.x-ecs.essential"
            ]
        );
        assert_eq!(of_service("{external: 'my db'}").1, [Code::BadExternal]);
        assert_eq!(of_service("{external: ':5432'}").1, [Code::BadExternal]);
        assert_eq!(of_service("app").1, [Code::WrongType]);
    }

    #[test]
    fn cluster_names() {
        for good in ["prod", "shop_prod-2", &"a".repeat(255)] {
            assert!(is_cluster_name(good), "{good}");
        }
        for bad in [
            "",
            "prod\u{7f}",
            "prod-${AWS::Region}",
            "prod cluster",
            "prod/eu",
            &"a".repeat(256),
        ] {
            assert!(!is_cluster_name(bad), "{bad}");
        }
    }

    /// The AWS quotas `infrastructure` checks, on the keys as written.
    #[test]
    fn numbers_past_the_aws_quotas_are_refused() {
        let (settings, codes) = top_level("{mount_targets: 6, log_retention_days: 30}");
        assert!(codes.is_empty(), "{codes:?}");
        assert_eq!(settings.infrastructure.mount_targets.map(|(n, _)| n), Some(6));
        assert_eq!(top_level("{mount_targets: 7}").1, [Code::BadSetting]);
        assert_eq!(top_level("{log_retention_days: 10}").1, [Code::BadSetting]);
        for yaml in [
            "{grace_period: 2147483648}",
            "{autoscaling: {max: 5001, cpu: 70}}",
            "{autoscaling: {max: 4, cpu: 101}}",
            "{load_balancer: {path: /a, priority: 50001}}",
        ] {
            assert_eq!(of_service(yaml).1, [Code::BadSetting], "{yaml}");
        }
    }

    #[test]
    fn policies_are_managed_arns_and_statements_a_role_takes() {
        let yaml = "{policies: ['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess', {Effect: Allow, Action: 'sqs:*', Resource: '*'}]}";
        let (settings, codes, _) = of_service(yaml);
        assert!(codes.is_empty(), "{codes:?}");
        let policies = settings.policies.expect("policies");
        assert_eq!(policies.managed, ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]);
        assert_eq!(policies.statements.len(), 1);
        for (yaml, path) in [
            ("{policies: [AmazonS3ReadOnlyAccess]}", "services.web.x-ecs.policies[0]"),
            (
                "{policies: [{Effect: Allow, Action: 's3:*'}]}",
                "services.web.x-ecs.policies[0]",
            ),
            (
                "{policies: [{Effect: Permit, Action: 's3:*', Resource: '*'}]}",
                "services.web.x-ecs.policies[0]",
            ),
            (
                "{policies: [{Effect: Allow, Principal: '*', Action: 's3:*', Resource: '*'}]}",
                "services.web.x-ecs.policies[0]",
            ),
            (
                "{policies: [{Sid: read-all, Effect: Allow, Action: 's3:*', Resource: '*'}]}",
                "services.web.x-ecs.policies[0]",
            ),
        ] {
            let (_, codes, paths) = of_service(yaml);
            assert_eq!(
                (codes, paths),
                (vec![Code::BadSetting], vec![path.to_string()]),
                "{yaml}"
            );
        }
    }

    #[test]
    fn a_capacity_provider_strategy_ecs_takes() {
        let (settings, codes, _) = of_service(
            "{CapacityProviderStrategy: [{CapacityProvider: FARGATE, Base: 1, Weight: 1}, {CapacityProvider: FARGATE_SPOT, Weight: 4}]}",
        );
        assert!(codes.is_empty(), "{codes:?}");
        assert_eq!(settings.capacity.map(|(shares, _)| shares.len()), Some(2));
        for yaml in [
            "{CapacityProviderStrategy: [{CapacityProvider: FARGATE_SPOT, weight: 1}]}",
            "{CapacityProviderStrategy: [{CapacityProvider: FARGATE_SPOT, Weight: 1001}]}",
            "{CapacityProviderStrategy: [{CapacityProvider: FARGATE, Base: 1, Weight: 1}, {CapacityProvider: FARGATE_SPOT, Base: 1, Weight: 1}]}",
            "{CapacityProviderStrategy: [{CapacityProvider: EC2, Weight: 1}]}",
            "{CapacityProviderStrategy: [{CapacityProvider: FARGATE_SPOT}]}",
        ] {
            let (settings, codes, _) = of_service(yaml);
            assert!(settings.capacity.is_none(), "{yaml}");
            assert_eq!(codes, [Code::BadSetting], "{yaml}");
        }
    }

    #[test]
    fn rollout_percents_within_what_ecs_takes() {
        let (settings, codes, _) = of_service("{rollout: {minimum_healthy_percent: 0, maximum_percent: 200}}");
        assert!(codes.is_empty(), "{codes:?}");
        let rollout = settings.rollout.expect("a rollout");
        assert_eq!(
            (rollout.minimum_healthy_percent, rollout.maximum_percent),
            (Some(0), Some(200))
        );
        for yaml in [
            "{rollout: {minimum_healthy_percent: 101}}",
            "{rollout: {maximum_percent: 99}}",
        ] {
            assert_eq!(of_service(yaml).1, [Code::BadSetting], "{yaml}");
        }
        assert_eq!(of_service("{rollout: {order: start-first}}").1, [Code::UnknownKey]);
    }

    #[test]
    fn a_load_balancer_type_and_peer_dns() {
        let (settings, codes, _) = of_service("{load_balancer: {type: network}, peer_dns: true}");
        assert!(codes.is_empty(), "{codes:?}");
        assert_eq!(
            settings.load_balancer_type.map(|(kind, _)| kind),
            Some(LoadBalancerType::Network)
        );
        assert!(settings.load_balancer.is_none(), "a type alone is no rule");
        assert!(settings.peer_dns);
        let (_, codes, paths) = of_service("{load_balancer: {type: classic}}");
        assert_eq!(
            (codes, paths),
            (
                vec![Code::BadSetting],
                vec!["services.web.x-ecs.load_balancer.type".to_string()]
            )
        );
        let (_, codes, _) = of_service("{load_balancer: {type: network, path: /api/*}}");
        assert_eq!(
            codes,
            [Code::BadListenerRule],
            "rules need the application load balancer"
        );
        assert_eq!(of_service("{peer_dns: maybe}").1, [Code::WrongType]);
    }

    #[test]
    fn autoscaling_and_listener_rules() {
        let yaml = "{autoscaling: {max: 4, memory: 80}, load_balancer: {path: [/api/*, /v2/*], host: API.example.com, priority: 7}}";
        let (settings, codes, _) = of_service(yaml);
        assert!(codes.is_empty(), "{codes:?}");
        let scaling = settings.autoscaling.expect("it scales");
        assert_eq!(
            (scaling.min, scaling.max, scaling.cpu, scaling.memory),
            (1, 4, None, Some(80))
        );
        let routing = settings.load_balancer.expect("a rule");
        assert_eq!((routing.paths.len(), routing.hosts[0].as_str()), (2, "api.example.com"));
        assert_eq!(routing.priority.map(|(p, _)| p), Some(7));
        for yaml in [
            "{autoscaling: {min: 2, cpu: 70}}",
            "{autoscaling: {max: 4}}",
            "{autoscaling: {min: 5, max: 4, cpu: 1}}",
        ] {
            assert_eq!(of_service(yaml).1, [Code::BadSetting], "{yaml}");
        }
        // ALB's quotas: 3 values in a condition, 5 in a rule, 5 wildcards; and a rule matches something.
        for yaml in [
            "{load_balancer: {path: [/a, /b, /c, /d]}}",
            "{load_balancer: {path: [/a, /b, /c], host: [a.io, b.io, c.io]}}",
            "{load_balancer: {path: ['/*/*/*', '/*/*/*']}}",
            "{load_balancer: {priority: 1}}",
        ] {
            assert_eq!(of_service(yaml).1, [Code::BadListenerRule], "{yaml}");
        }
    }
}
