//! Other tools' extension keys that mean what an `x-ecs` setting means (Docker's ECS integration's
//! `x-aws-*`, ECS ComposeX's), read into the same settings. `x-ecs` wins where both are written,
//! with a warning naming the key it overrides; the keys no setting matches get their warning from
//! the support table's check (`support::extensions`).

use super::infrastructure::{self, LOG_RETENTION_DAYS};
use super::reader::Reader;
use super::x_ecs;
use super::{AutoscalingSettings, DeploySettings, RolloutSettings, ServiceSettings, TaskPolicies, TemplateOverlay};
use crate::diagnostic::{Code, Diagnostic, KeyPath};
use crate::load::interpolate::key_text;
use serde_yaml::{Mapping, Value};

/// The top-level keys: `x-aws-cluster`, `x-aws-vpc`, `x-aws-logs_retention`, and ComposeX's
/// `x-cluster: {Lookup: NAME}` (an existing cluster).
pub(super) fn top_level(reader: &mut Reader, document: &Mapping, settings: &mut DeploySettings) {
    let root = KeyPath::root();
    // What gives the cluster so far, for the warning about a second key that gives it too.
    let mut cluster_from = settings.cluster.as_ref().map(|_| "x-ecs.cluster".to_string());
    if let Some(value) = document.get("x-aws-cluster") {
        let path = root.key("x-aws-cluster");
        let cluster = x_ecs::cluster(reader, value, &path);
        if overridden(reader, cluster_from.clone(), &path) {
            cluster_from = cluster.as_ref().map(|_| path.to_string());
            settings.cluster = cluster;
        }
    }
    if let Some(composex) = document.get("x-cluster") {
        let path = root.key("x-cluster");
        match composex.as_mapping().and_then(|cluster| cluster.get("Lookup")) {
            // A lookup by name; ComposeX also looks clusters up by tags, which is no name.
            Some(lookup @ Value::String(_)) => {
                let path = path.key("Lookup");
                let cluster = x_ecs::cluster(reader, lookup, &path);
                if overridden(reader, cluster_from, &path) {
                    settings.cluster = cluster;
                }
            }
            _ => reader.diagnostics.push(
                Diagnostic::warning(
                    Code::ForeignExtension,
                    path.clone(),
                    format!("`{path}` is a key of ECS ComposeX; compose2ecs converts its `Lookup` of an existing cluster by name only"),
                )
                .with_help("the base stack creates the project's cluster; `x-ecs.cluster` names it, or an existing one"),
            ),
        }
    }
    if let Some(value) = document.get("x-aws-vpc") {
        let path = root.key("x-aws-vpc");
        // Docker's ECS integration took the VPC's ARN too.
        let vpc = match value {
            Value::String(arn) if arn.starts_with("arn:") => {
                let id = arn.rsplit_once(":vpc/").map_or(arn.as_str(), |(_, id)| id);
                x_ecs::prefixed_id(reader, &Value::String(id.to_string()), &path, "vpc-", "a VPC")
            }
            other => x_ecs::prefixed_id(reader, other, &path, "vpc-", "a VPC"),
        };
        if overridden(reader, settings.vpc.as_ref().map(|_| "x-ecs.vpc".into()), &path) {
            settings.vpc = vpc;
        }
    }
    if let Some(patch) = document.get("x-aws-cloudformation") {
        let path = root.key("x-aws-cloudformation");
        if x_ecs::patchable(reader, patch, &path) {
            settings.cloudformation.push(TemplateOverlay {
                template: String::new(),
                patch: patch.clone(),
                path,
            });
        }
    }
    if let Some(value) = document.get("x-aws-logs_retention") {
        let path = root.key("x-aws-logs_retention");
        let days = reader
            .count(value, &path)
            .map(|days| nearest_retention(reader, days, &path));
        let written = settings.infrastructure.log_retention_days.is_some();
        if overridden(reader, written.then(|| "x-ecs.log_retention_days".into()), &path) {
            settings.infrastructure.log_retention_days = days;
        }
    }
}

/// A service's keys: Docker's `deploy.x-aws-autoscaling` and ComposeX's `x-scaling` (its range
/// and target tracking) become `x-ecs.autoscaling`; their deployment percents `x-ecs.rollout`.
pub(super) fn service(reader: &mut Reader, map: &Mapping, path: &KeyPath, settings: &mut ServiceSettings) {
    if let Some(value) = map.get("deploy").and_then(|deploy| deploy.get("x-aws-autoscaling")) {
        let at = path.key("deploy").key("x-aws-autoscaling");
        let scaling = infrastructure::autoscaling_settings(reader, value, &at, "services.*.deploy.x-aws-autoscaling");
        if overridden(reader, settings.autoscaling.as_ref().map(|a| a.path.to_string()), &at) {
            settings.autoscaling = scaling;
        }
    }
    rollout(reader, map, path, settings);
    if let Some(value) = map.get("x-aws-pull_credentials") {
        let at = path.key("x-aws-pull_credentials");
        let arn = x_ecs::registry_credentials(reader, value, &at);
        if overridden(
            reader,
            settings.registry_credentials.as_ref().map(|(_, p)| p.to_string()),
            &at,
        ) {
            settings.registry_credentials = arn.map(|arn| (arn, at));
        }
    }
    let others = other_tools_policies(reader, map, path);
    if let Some(others) = others {
        if overridden(
            reader,
            settings.policies.as_ref().map(|p| p.path.to_string()),
            &others.path,
        ) {
            settings.policies = Some(others);
        }
    }
    for key in ["x-defang-postgres", "x-defang-mongodb", "x-defang-redis"] {
        let Some(value) = map.get(key) else { continue };
        let at = path.key(key);
        // Defang's switch, on when written (`x-defang-postgres:` with no value too); its settings
        // are its own (`allow-downtime`, …), read as on.
        let on = match value {
            Value::Null | Value::Mapping(_) => true,
            other => reader.boolean(other, &at).unwrap_or(false),
        };
        if on && overridden(reader, settings.managed.as_ref().map(|m| m.path.to_string()), &at) {
            settings.managed = Some(super::ManagedSettings {
                path: at,
                ..super::ManagedSettings::default()
            });
        }
    }
    if let Some(value) = map.get("x-scaling") {
        let at = path.key("x-scaling");
        let scaling = composex_scaling(reader, value, &at);
        if overridden(reader, settings.autoscaling.as_ref().map(|a| a.path.to_string()), &at) {
            settings.autoscaling = scaling;
        }
    }
}

/// Docker's `deploy.update_config.x-aws-min_percent`/`x-aws-max_percent` (ComposeX's at the
/// service level): the deployment percents, as `x-ecs.rollout` gives them.
fn rollout(reader: &mut Reader, map: &Mapping, path: &KeyPath, settings: &mut ServiceSettings) {
    let update_config = path.key("deploy").key("update_config");
    let places = [
        (
            map.get("deploy")
                .and_then(|d| d.get("update_config"))
                .and_then(Value::as_mapping),
            update_config,
        ),
        (Some(map), path.clone()),
    ];
    for (holder, at) in places {
        let Some(holder) = holder else { continue };
        let minimum = holder.get("x-aws-min_percent");
        let maximum = holder.get("x-aws-max_percent");
        if minimum.is_none() && maximum.is_none() {
            continue;
        }
        let first = at.key(if minimum.is_some() {
            "x-aws-min_percent"
        } else {
            "x-aws-max_percent"
        });
        let found = RolloutSettings {
            minimum_healthy_percent: minimum
                .and_then(|v| x_ecs::rollout_percent(reader, v, &at.key("x-aws-min_percent"), 0..=100)),
            maximum_percent: maximum
                .and_then(|v| x_ecs::rollout_percent(reader, v, &at.key("x-aws-max_percent"), 100..=200)),
            path: first.clone(),
        };
        if overridden(reader, settings.rollout.as_ref().map(|r| r.path.to_string()), &first) {
            settings.rollout = Some(found);
        }
    }
}

/// Docker's `x-aws-policies` (managed ARNs) and `x-aws-role` (a policy document), and ComposeX's
/// `x-iam` (`ManagedPolicyArns`, `Policies[].PolicyDocument`), together: the task role's policies.
fn other_tools_policies(reader: &mut Reader, map: &Mapping, path: &KeyPath) -> Option<TaskPolicies> {
    let mut found: Option<TaskPolicies> = None;
    let mut add = |managed: Vec<String>, statements: Vec<Value>, at: &KeyPath| {
        let policies = found.get_or_insert_with(|| TaskPolicies {
            path: at.clone(),
            ..TaskPolicies::default()
        });
        policies.managed.extend(managed);
        policies.statements.extend(statements);
    };
    if let Some(value) = map.get("x-aws-policies") {
        let at = path.key("x-aws-policies");
        let managed = arns(reader, value, &at);
        add(managed, Vec::new(), &at);
    }
    if let Some(value) = map.get("x-aws-role") {
        let at = path.key("x-aws-role");
        let statements = document_statements(reader, value, &at);
        add(Vec::new(), statements, &at);
    }
    if let Some(value) = map.get("x-iam") {
        let at = path.key("x-iam");
        let Some(iam) = value.as_mapping() else {
            reader.wrong_type(
                &at,
                value,
                "ECS ComposeX's mapping with `Policies` and `ManagedPolicyArns`",
            );
            return found;
        };
        let mut managed = Vec::new();
        let mut statements = Vec::new();
        for (key, item) in iam {
            let name = key_text(key);
            let item_path = at.key(&name);
            match name.as_str() {
                "ManagedPolicyArns" => managed.extend(arns(reader, item, &item_path)),
                "Policies" => {
                    for (index, policy) in item.as_sequence().into_iter().flatten().enumerate() {
                        let document_path = item_path.index(index).key("PolicyDocument");
                        match policy.get("PolicyDocument") {
                            Some(document) => statements.extend(document_statements(reader, document, &document_path)),
                            None => not_converted(
                                reader,
                                &item_path.index(index),
                                "a policy is converted from its `PolicyDocument`",
                            ),
                        }
                    }
                }
                _ => not_converted(
                    reader,
                    &item_path,
                    "`x-ecs.policies` takes managed policies' ARNs and statements",
                ),
            }
        }
        add(managed, statements, &at);
    }
    found
}

/// A list of managed policies' ARNs.
fn arns(reader: &mut Reader, value: &Value, path: &KeyPath) -> Vec<String> {
    let Some(items) = value.as_sequence() else {
        reader.wrong_type(path, value, "a list of managed policies' ARNs");
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(index, item)| x_ecs::managed_policy(reader, item, &path.index(index)))
        .collect()
}

/// The statements of an IAM policy document (`{Version, Statement: [...]}`; one statement may
/// stand alone).
fn document_statements(reader: &mut Reader, document: &Value, path: &KeyPath) -> Vec<Value> {
    let statement_path = path.key("Statement");
    match document.get("Statement") {
        Some(Value::Sequence(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(index, item)| x_ecs::statement(reader, item, &statement_path.index(index)))
            .collect(),
        Some(single @ Value::Mapping(_)) => x_ecs::statement(reader, single, &statement_path).into_iter().collect(),
        _ => {
            reader.wrong_type(path, document, "an IAM policy document with `Statement`");
            Vec::new()
        }
    }
}

/// ComposeX's `x-scaling: {Range: "MIN-MAX", TargetScaling: {CpuTarget, MemoryTarget}}`, read as
/// `x-ecs.autoscaling: {min, max, cpu, memory}` is; its other policies get a warning.
fn composex_scaling(reader: &mut Reader, value: &Value, path: &KeyPath) -> Option<AutoscalingSettings> {
    let Some(map) = value.as_mapping() else {
        reader.wrong_type(path, value, "ECS ComposeX's mapping with `Range` and `TargetScaling`");
        return None;
    };
    let mut same = Mapping::new();
    for (key, item) in map {
        let name = key_text(key);
        let item_path = path.key(&name);
        match (name.as_str(), item) {
            ("Range", Value::String(range)) => {
                let (min, max) = range.split_once('-').unwrap_or(("1", range.as_str()));
                same.insert("min".into(), Value::String(min.trim().to_string()));
                same.insert("max".into(), Value::String(max.trim().to_string()));
            }
            ("TargetScaling", Value::Mapping(targets)) => {
                for (target, percent) in targets {
                    let target_name = key_text(target);
                    match target_name.as_str() {
                        "CpuTarget" => {
                            same.insert("cpu".into(), percent.clone());
                        }
                        "MemoryTarget" => {
                            same.insert("memory".into(), percent.clone());
                        }
                        _ => not_converted(
                            reader,
                            &item_path.key(&target_name),
                            "x-ecs.autoscaling tracks CPU and memory",
                        ),
                    }
                }
            }
            _ => not_converted(
                reader,
                &item_path,
                "x-ecs.autoscaling tracks CPU and memory between `min` and `max`",
            ),
        }
    }
    infrastructure::autoscaling_settings(reader, &Value::Mapping(same), path, "services.*.x-ecs.autoscaling")
}

/// A warning for a part of another tool's key that no setting matches.
fn not_converted(reader: &mut Reader, path: &KeyPath, help: &str) {
    reader.diagnostics.push(
        Diagnostic::warning(
            Code::ForeignExtension,
            path.clone(),
            format!("`{path}` is not converted"),
        )
        .with_help(help),
    );
}

/// Whether the other tool's key at `path` is used: not when a key read before it (`x-ecs`'s, or
/// another tool's) gives the same setting (`winner`, where it is written), and a warning says so.
fn overridden(reader: &mut Reader, winner: Option<String>, path: &KeyPath) -> bool {
    let Some(winner) = winner else { return true };
    reader.diagnostics.push(
        Diagnostic::warning(
            Code::ForeignExtension,
            path.clone(),
            format!("`{path}` is not used: `{winner}` gives the same setting"),
        )
        .with_help(format!("remove `{path}`, or `{winner}` to use it")),
    );
    false
}

/// The retention CloudWatch Logs accepts nearest to `days` (Docker's ECS integration passed any
/// number on, and CloudFormation refused most); a note says when it differs.
fn nearest_retention(reader: &mut Reader, days: u32, path: &KeyPath) -> u32 {
    let nearest = LOG_RETENTION_DAYS
        .iter()
        .copied()
        .min_by_key(|accepted| (accepted.abs_diff(days), *accepted))
        .unwrap_or(days);
    if nearest != days {
        reader.diagnostics.push(
            Diagnostic::note(
                Code::ForeignExtension,
                path.clone(),
                format!("CloudWatch Logs cannot keep logs for {days} days: they are kept for {nearest}"),
            )
            .with_help("write `x-ecs.log_retention_days` with one of the periods CloudWatch Logs offers"),
        );
    }
    nearest
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::testing::{codes, paths, read};

    fn settings(yaml: &str) -> (DeploySettings, Vec<Code>, Vec<String>) {
        let (found, diagnostics) = read(yaml, |reader, value, _| {
            let mut settings = x_ecs::deploy_settings(reader, value.get("x-ecs"), &KeyPath::root().key("x-ecs"));
            top_level(reader, value.as_mapping().unwrap(), &mut settings);
            settings
        });
        (found, codes(&diagnostics), paths(&diagnostics))
    }

    #[test]
    fn docker_s_keys_become_the_settings() {
        let (found, codes, _) = settings(
            "{x-aws-cluster: 'arn:aws:ecs:eu-west-1:123456789012:cluster/shop', \
             x-aws-vpc: 'arn:aws:ec2:us-west-1:123456789012:vpc/vpc-1234acbd', x-aws-logs_retention: 30}",
        );
        assert!(codes.is_empty(), "{codes:?}");
        assert_eq!(found.cluster.as_deref(), Some("shop"));
        assert_eq!(found.vpc.as_deref(), Some("vpc-1234acbd"));
        assert_eq!(found.infrastructure.log_retention_days, Some(30));
        let (found, _, _) = settings("{x-cluster: {Lookup: shop}}");
        assert_eq!(found.cluster.as_deref(), Some("shop"), "ComposeX's existing cluster");
    }

    /// `min`, `max`, `cpu` and `memory`.
    type Scaling = (u32, u32, Option<u32>, Option<u32>);

    fn scaling(yaml: &str) -> (Option<Scaling>, Vec<Code>, Vec<String>) {
        let (found, diagnostics) = read(yaml, |reader, value, path| {
            let mut settings = ServiceSettings::default();
            service(reader, value.as_mapping().unwrap(), path, &mut settings);
            settings.autoscaling.map(|s| (s.min, s.max, s.cpu, s.memory))
        });
        (found, codes(&diagnostics), paths(&diagnostics))
    }

    #[test]
    fn docker_s_and_composex_s_autoscaling() {
        let (found, codes, _) = scaling("{deploy: {x-aws-autoscaling: {max: 10, mem: 75}}}");
        assert!(codes.is_empty(), "{codes:?}");
        assert_eq!(found, Some((1, 10, None, Some(75))));
        let (found, codes, paths) = scaling(
            "{x-scaling: {Range: '2-6', TargetScaling: {CpuTarget: 70, DisableScaleIn: true}, ScheduledActions: []}}",
        );
        assert_eq!(found, Some((2, 6, Some(70), None)));
        assert_eq!(codes, [Code::ForeignExtension, Code::ForeignExtension]);
        assert_eq!(
            paths,
            [
                "services.web.x-scaling.TargetScaling.DisableScaleIn",
                "services.web.x-scaling.ScheduledActions"
            ]
        );
        // Without a target, nothing scales: the same error as `x-ecs.autoscaling` gives.
        assert_eq!(scaling("{x-scaling: {Range: '1-4'}}").1, [Code::BadSetting]);
        assert_eq!(
            scaling("{deploy: {x-aws-autoscaling: {cpu: 75}}}").1,
            [Code::BadSetting]
        );
    }

    #[test]
    fn docker_s_and_composex_s_policies_become_the_task_role_s() {
        let policies = |yaml: &str| {
            let (found, diagnostics) = read(yaml, |reader, value, path| {
                let mut settings = value
                    .get("x-ecs")
                    .map(|v| x_ecs::service_settings(reader, v, &path.key("x-ecs")))
                    .unwrap_or_default();
                service(reader, value.as_mapping().unwrap(), path, &mut settings);
                settings
                    .policies
                    .map(|p| (p.managed, p.statements.len(), p.path.to_string()))
            });
            (found, codes(&diagnostics))
        };
        let docker = "{x-aws-policies: ['arn:aws:iam::aws:policy/AmazonS3FullAccess'], \
                      x-aws-role: {Version: '2012-10-17', Statement: [{Effect: Allow, Action: 'sqs:*', Resource: '*'}]}}";
        let (found, codes) = policies(docker);
        assert!(codes.is_empty(), "{codes:?}");
        assert_eq!(
            found,
            Some((
                vec!["arn:aws:iam::aws:policy/AmazonS3FullAccess".to_string()],
                1,
                "services.web.x-aws-policies".to_string()
            ))
        );
        let composex = "{x-iam: {ManagedPolicyArns: ['arn:aws:iam::123456789012:policy/shop'], \
                        Policies: [{PolicyName: a, PolicyDocument: {Statement: {Effect: Allow, Action: 's3:*', Resource: '*'}}}], \
                        PermissionsBoundary: x}}";
        let (found, codes) = policies(composex);
        assert_eq!(found.map(|(m, s, _)| (m.len(), s)), Some((1, 1)));
        assert_eq!(codes, [Code::ForeignExtension], "the boundary is not converted");
        let (found, codes) = policies("{x-ecs: {policies: []}, x-aws-policies: ['arn:aws:iam::aws:policy/A']}");
        assert_eq!(
            (found.map(|(m, ..)| m.len()), codes),
            (Some(0), vec![Code::ForeignExtension]),
            "x-ecs wins"
        );
    }

    #[test]
    fn a_retention_cloudwatch_does_not_offer_becomes_the_nearest() {
        for (days, kept) in [(10, 7), (11, 14), (4, 3), (5000, 3653), (0, 1)] {
            let (found, codes, _) = settings(&format!("{{x-aws-logs_retention: {days}}}"));
            assert_eq!(found.infrastructure.log_retention_days, Some(kept), "{days}");
            assert_eq!(codes, [Code::ForeignExtension], "a note: {days}");
        }
    }

    #[test]
    fn x_ecs_wins_and_says_so() {
        let (found, codes, paths) = settings("{x-ecs: {cluster: own}, x-aws-cluster: theirs, x-aws-vpc: main}");
        assert_eq!(found.cluster.as_deref(), Some("own"));
        assert_eq!(codes, [Code::ForeignExtension, Code::BadSetting]);
        assert_eq!(paths, ["x-aws-cluster", "x-aws-vpc"]);
    }
}
