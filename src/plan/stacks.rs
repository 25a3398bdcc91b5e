//! Stacks: which CloudFormation stacks the app needs, in what order, and where each parameter
//! of each comes from — what `emit` renders and what `deploy` deploys.

use super::Plan;
use crate::diagnostic::{Code, Diagnostic};
use crate::normalise::TemplateOverlay;
use serde::Serialize;

/// One generated template, deployed as one stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackPlan {
    pub kind: StackKind,
    /// Which stack of its kind: 1, or 2, 3, … when what the kind holds is more than one stack
    /// takes (EFS access points).
    #[serde(skip_serializing_if = "is_first_part")]
    pub part: u32,
    /// The stack's name: `PROJECT-KIND`, or `PROJECT-KIND-PART`.
    pub name: String,
    pub parameters: Vec<StackParameter>,
    /// Whether the template declares IAM resources, which CloudFormation deploys only with
    /// `CAPABILITY_IAM` acknowledged.
    pub creates_iam: bool,
    /// Whether an `x-ecs.cloudformation` patch names IAM resources (`RoleName`, …), which
    /// CloudFormation deploys only with `CAPABILITY_NAMED_IAM`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub names_iam: bool,
    /// Deployed once the ECS services exist (a scalable target names its service).
    pub after_services: bool,
    pub reason: String,
}

impl Plan {
    /// The planned stack by its label in placeholders (`base`, `efs`, `efs-2`, …).
    pub fn stack(&self, label: &str) -> Option<&StackPlan> {
        self.stacks.iter().find(|stack| stack.label() == label)
    }
}

impl StackPlan {
    /// The kind, and the part past the first: `efs`, `efs-2`.
    pub fn label(&self) -> String {
        part_label(self.kind.as_str(), self.part)
    }

    /// Whether the stack is deployed with a parameter of this name.
    pub fn takes(&self, parameter: &str) -> bool {
        self.parameters.iter().any(|p| p.name == parameter)
    }

    /// The template's path in the output folder.
    pub fn template(&self) -> String {
        format!("cloudformation/{}.yaml", self.label())
    }
}

/// A stack's label: its kind, and its part past the first (`efs-2`).
pub(super) fn part_label(kind: &str, part: u32) -> String {
    if part == 1 {
        kind.to_string()
    } else {
        format!("{kind}-{part}")
    }
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
pub(super) fn is_first_part(part: &u32) -> bool {
    *part == 1
}

pub(super) fn only_the_first(parts: &[u32]) -> bool {
    parts == [1]
}

/// Whether a kind has no stack past its first: one, or none.
pub(super) fn no_later_part(parts: &[u32]) -> bool {
    parts.iter().all(|part| *part == 1)
}

/// The most access points an EFS stack makes. CloudFormation takes 200 outputs a stack (an access
/// point has one), but 51,200 bytes of template inline, without an S3 bucket: an access point
/// takes about 460 bytes (650 on an existing file system, whose policy names each), so 60 with
/// names of common length stay under it. More deployed in one stack (before stacks were split)
/// stay there.
pub const ACCESS_POINTS_PER_STACK: usize = 60;

/// The most secrets a secrets stack creates. Past the first stack each has a managed policy of its
/// own on the execution role (its inline policies hold 10,240 characters in all), of at most 6,144
/// characters: 50 secrets of names up to about 45 characters. And 50 keep a template under the
/// 51,200 bytes CloudFormation takes without an S3 bucket, and its outputs under 200.
pub const SECRETS_PER_STACK: usize = 50;

/// The part of a stack of a kind by its name: 1 for `first` (`PROJECT-efs`), 2 for `PROJECT-efs-2`, …,
/// as compose2ecs names them (not `-02`), and no more than CloudFormation's 2,000 stacks in a
/// region: the names come from files in `stacks/`, which a pull request may write.
fn part_of(stack: &str, first: &str) -> Option<u32> {
    const MOST_STACKS: u32 = 2000;
    let part: u32 = match stack.strip_prefix(first)? {
        "" => return Some(1),
        rest => rest.strip_prefix('-')?.parse().ok()?,
    };
    (2..=MOST_STACKS)
        .contains(&part)
        .then_some(part)
        .filter(|part| stack == format!("{first}-{part}"))
}

/// Which stack of a kind holds each item, given the output its stack has for it (`…Id`,
/// `…Arn`): the stack whose saved outputs have it, else the first with room for `per_stack`, in
/// the items' order. An item never moves between stacks: a move would delete it in one and make
/// it again in the next.
pub(super) fn assign_parts(cx: &super::Context, kind: &str, outputs: &[String], per_stack: usize) -> Vec<u32> {
    let first = stack_name(&cx.project.name, kind);
    let mut parts: Vec<Option<u32>> = outputs
        .iter()
        .map(|output| part_of(cx.saved.owner(output)?, &first))
        .collect();
    let mut counts: std::collections::BTreeMap<u32, usize> = std::collections::BTreeMap::new();
    for part in parts.iter().flatten() {
        *counts.entry(*part).or_default() += 1;
    }
    let mut open = 1;
    for part in parts.iter_mut().filter(|p| p.is_none()) {
        while counts.get(&open).is_some_and(|count| *count >= per_stack) {
            open += 1;
        }
        *counts.entry(open).or_default() += 1;
        *part = Some(open);
    }
    parts.into_iter().map(|part| part.unwrap_or(1)).collect()
}

/// The stacks of a kind the project has, by part: the first, those its items fill, and every one
/// deployed before. A deployed stack whose items are all gone stays, empty, until `down`.
pub(super) fn parts_of_kind(cx: &super::Context, kind: &str, filled: impl IntoIterator<Item = u32>) -> Vec<u32> {
    let parts: std::collections::BTreeSet<u32> = std::iter::once(1)
        .chain(filled)
        .chain(deployed_parts(cx, kind))
        .collect();
    parts.into_iter().collect()
}

/// The parts of the stacks of a kind the saved outputs say are deployed.
pub(super) fn deployed_parts(cx: &super::Context, kind: &str) -> Vec<u32> {
    let first = stack_name(&cx.project.name, kind);
    cx.saved
        .deployed
        .iter()
        .filter_map(|stack| part_of(stack, &first))
        .collect()
}

/// The volumes whose access points an EFS stack makes (the plan's volumes are in stack order).
pub fn efs_part_volumes(plan: &Plan, part: u32) -> &[super::VolumePlan] {
    let start = plan.volumes.partition_point(|v| v.stack_part < part);
    let end = plan.volumes.partition_point(|v| v.stack_part <= part);
    &plan.volumes[start..end]
}

/// The secrets a secrets stack names: those it creates, and in the first the existing ones too.
pub fn secrets_part(plan: &Plan, part: u32) -> impl Iterator<Item = &super::SecretPlan> {
    plan.secrets.iter().filter(move |secret| secret.stack_part == part)
}

/// Whether an EFS stack puts a policy on the task roles: the first, for the project's own file
/// system; each, on an existing one, that names access points; and each with an access point
/// that gives root.
pub fn efs_part_has_policy(plan: &Plan, part: u32) -> bool {
    let existing = plan.efs.as_ref().is_some_and(|efs| efs.existing_file_system.is_some());
    let volumes = efs_part_volumes(plan, part);
    (part == 1 && !existing) || (existing && !volumes.is_empty()) || volumes.iter().any(|v| v.root_access)
}

/// What a stack holds; its template is `cloudformation/KIND.yaml`, and placeholders name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StackKind {
    Base,
    Efs,
    Data,
    Alb,
    Nlb,
    Secrets,
    Autoscaling,
}

impl StackKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StackKind::Base => "base",
            StackKind::Efs => "efs",
            StackKind::Data => "data",
            StackKind::Alb => "alb",
            StackKind::Nlb => "nlb",
            StackKind::Secrets => "secrets",
            StackKind::Autoscaling => "autoscaling",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackParameter {
    pub name: &'static str,
    pub source: ParameterSource,
}

/// Where a stack's parameter value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum ParameterSource {
    /// The VPC the app runs in (`x-ecs.vpc` or `deploy --vpc`).
    Vpc,
    /// The subnets the tasks run in, comma-separated (`x-ecs.subnets` or `deploy --subnets`).
    PrivateSubnets,
    /// The subnets the load balancers face the internet from (`x-ecs.public_subnets`).
    PublicSubnets,
    /// An output of an earlier stack.
    Output { stack: StackKind, key: &'static str },
    /// The security group of an existing file system's mount targets; empty when they admit the
    /// tasks already.
    MountTargetSecurityGroup,
}

/// The stacks, in the order to deploy them: each one's parameters come from those before it.
pub(super) fn stacks(plan: &Plan) -> Vec<StackPlan> {
    use ParameterSource::*;
    use StackKind::*;
    let parameter = |name, source| StackParameter { name, source };
    let from_base = |key| parameter(key, Output { stack: Base, key });
    let stack = |kind, parameters, creates_iam, reason| new_stack(plan, kind, 1, parameters, creates_iam, reason);
    let mut stacks = vec![stack(
        Base,
        vec![parameter("VpcId", Vpc), parameter("PrivateSubnetIds", PrivateSubnets)],
        true,
        "the cluster, log group, security groups and roles every task uses",
    )];
    if let Some(efs) = &plan.efs {
        stacks.extend(efs_stacks(plan, efs));
    }
    if !plan.managed.is_empty() {
        // The execution role is given leave to read the secrets the clients read, if any.
        let reads_secrets = plan.managed.iter().any(|database| !database.secrets_read().is_empty());
        let mut parameters = vec![parameter("VpcId", Vpc), parameter("PrivateSubnetIds", PrivateSubnets)];
        // Tasks in groups of the user's (`x-ecs.security_groups`) are admitted by those.
        if plan.managed.iter().any(|database| database.admitted_groups.is_empty()) {
            parameters.push(from_base("TaskSecurityGroupId"));
        }
        if reads_secrets {
            parameters.push(from_base("TaskExecutionRoleName"));
        }
        stacks.push(stack(
            Data,
            parameters,
            reads_secrets,
            "managed databases and caches (x-ecs.managed), and their generated passwords",
        ));
    }
    let balancer = || {
        vec![
            parameter("VpcId", Vpc),
            parameter("PublicSubnetIds", PublicSubnets),
            from_base("TaskSecurityGroupId"),
        ]
    };
    if !plan.listeners.is_empty() {
        stacks.push(stack(
            Alb,
            balancer(),
            false,
            "published HTTP ports: the application load balancer",
        ));
    }
    if plan.network_load_balancer.is_some() {
        stacks.push(stack(
            Nlb,
            balancer(),
            false,
            "published ports that are not HTTP: the network load balancer",
        ));
    }
    for &part in &plan.secret_stacks {
        let empty = secrets_part(plan, part).next().is_none();
        let reason = match part {
            _ if empty => "secrets: none left here; kept, empty, until `compose2ecs down`",
            1 => "secrets: created in Secrets Manager, readable by the execution role",
            _ => "secrets: those past the first stack's, and a managed policy that lets the execution role read them",
        };
        let parameters = if empty {
            vec![]
        } else {
            vec![from_base("TaskExecutionRoleName")]
        };
        stacks.push(new_stack(plan, Secrets, part, parameters, !empty, reason));
    }
    if plan.tasks.iter().any(|task| task.autoscaling.is_some()) {
        let mut autoscaling = stack(
            Autoscaling,
            vec![],
            false,
            "autoscaling: a scalable target per ECS service",
        );
        autoscaling.after_services = true;
        stacks.push(autoscaling);
    }
    stacks
}

/// The EFS stacks: the first makes the file system (or admits the tasks into an existing one's
/// mount targets) and its access points; past one stack's worth, the next access points in
/// stacks of their own, on the same file system.
fn efs_stacks(plan: &Plan, efs: &super::EfsPlan) -> Vec<StackPlan> {
    use ParameterSource::*;
    use StackKind::*;
    let parameter = |name, source| StackParameter { name, source };
    let from_base = |key| parameter(key, Output { stack: Base, key });
    // A file system the stack creates has a policy that admits the task roles by ARN.
    let first_policy = efs_part_has_policy(plan, 1);
    let parameters = if efs.existing_file_system.is_some() {
        let mut parameters = vec![
            parameter("MountTargetSecurityGroupId", MountTargetSecurityGroup),
            from_base("TaskSecurityGroupId"),
        ];
        if first_policy {
            parameters.push(from_base("TaskRoleNames"));
        }
        parameters
    } else {
        vec![
            parameter("VpcId", Vpc),
            parameter("PrivateSubnetIds", PrivateSubnets),
            from_base("TaskSecurityGroupId"),
            from_base("TaskRoleNames"),
            from_base("TaskRoleArns"),
        ]
    };
    let mut stacks = vec![new_stack(
        plan,
        Efs,
        1,
        parameters,
        first_policy,
        "named volumes: EFS access points",
    )];
    for &part in efs.stacks.iter().filter(|part| **part > 1) {
        let mut parameters = Vec::new();
        let empty = efs_part_volumes(plan, part).is_empty();
        if efs.existing_file_system.is_none() && !empty {
            parameters.push(parameter(
                "FileSystemId",
                Output {
                    stack: Efs,
                    key: "FileSystemId",
                },
            ));
        }
        let policy = efs_part_has_policy(plan, part);
        if policy {
            parameters.push(from_base("TaskRoleNames"));
        }
        let reason = if empty {
            "named volumes: none left here; kept, empty, until `compose2ecs down`"
        } else {
            "named volumes: the EFS access points past the first stack's"
        };
        stacks.push(new_stack(plan, Efs, part, parameters, policy, reason));
    }
    stacks
}

fn new_stack(
    plan: &Plan,
    kind: StackKind,
    part: u32,
    parameters: Vec<StackParameter>,
    creates_iam: bool,
    reason: &str,
) -> StackPlan {
    StackPlan {
        kind,
        part,
        name: stack_name(&plan.project, &part_label(kind.as_str(), part)),
        parameters,
        creates_iam,
        names_iam: false,
        after_services: false,
        reason: reason.to_string(),
    }
}

/// A stack name CloudFormation takes (a letter, then letters, digits and `-`), from a compose
/// project name (lowercase letters, digits, `-` and `_`, any first).
pub(super) fn stack_name(project: &str, kind: &str) -> String {
    let project: String = project
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let prefix = if project.starts_with(|c: char| c.is_ascii_alphabetic()) {
        ""
    } else {
        "app-"
    };
    format!("{prefix}{project}-{kind}")
}

/// Whether a patch gives an IAM resource a name of its own (`RoleName: …`).
fn names_iam(patch: &serde_yaml::Value) -> bool {
    const NAMES: &[&str] = &[
        "RoleName",
        "ManagedPolicyName",
        "UserName",
        "GroupName",
        "InstanceProfileName",
    ];
    patch["Resources"].as_mapping().is_some_and(|resources| {
        resources.values().any(|resource| {
            resource["Properties"].as_mapping().is_some_and(|properties| {
                properties
                    .keys()
                    .any(|k| k.as_str().is_some_and(|k| NAMES.contains(&k)))
            })
        })
    })
}

/// The patches `x-ecs.cloudformation` gives for the templates the app has; one for a template it
/// does not have (no volumes, no `efs.yaml`) is said to have no effect. A patch that adds IAM
/// resources makes its stack one deployed with `CAPABILITY_IAM`.
pub(super) fn overlays(cx: &mut super::Context, stacks: &mut [StackPlan]) -> Vec<TemplateOverlay> {
    let mut kept = Vec::new();
    for overlay in &cx.project.settings.cloudformation {
        // Docker's one document goes to every template by its entries' names: IAM resources it
        // adds or names are the base stack's (the task roles are there).
        let template = if overlay.template.is_empty() {
            "base.yaml"
        } else {
            overlay.template.as_str()
        };
        if let Some(stack) = stacks
            .iter_mut()
            .find(|stack| format!("{}.yaml", stack.label()) == template)
        {
            let adds_iam = overlay.patch["Resources"].as_mapping().is_some_and(|resources| {
                resources
                    .values()
                    .any(|r| r["Type"].as_str().is_some_and(|t| t.starts_with("AWS::IAM::")))
            });
            stack.creates_iam |= adds_iam;
            stack.names_iam |= names_iam(&overlay.patch);
            kept.push(overlay.clone());
        } else {
            cx.diagnostics.push(
                Diagnostic::warning(
                    Code::IgnoredKey,
                    overlay.path.clone(),
                    format!("the project has no `{}`: this patch is not used", overlay.template),
                )
                .with_help("`compose2ecs plan` lists the stacks the app needs; remove the patch, or the part of the app it was for"),
            );
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_that_names_an_iam_resource_needs_named_iam() {
        let patch = |yaml: &str| names_iam(&serde_yaml::from_str(yaml).unwrap());
        assert!(patch("Resources: {TaskRole: {Properties: {RoleName: shop-tasks}}}"));
        assert!(!patch(
            "Resources: {TaskRole: {Properties: {MaxSessionDuration: 7200}}}"
        ));
        assert!(!patch("Outputs: {X: {Value: y}}"));
    }

    #[test]
    fn the_templates_a_patch_may_name_are_the_stacks_kinds() {
        let kinds = [
            StackKind::Base,
            StackKind::Efs,
            StackKind::Data,
            StackKind::Alb,
            StackKind::Nlb,
            StackKind::Secrets,
            StackKind::Autoscaling,
        ];
        let names: Vec<String> = kinds.iter().map(|k| format!("{}.yaml", k.as_str())).collect();
        assert_eq!(names, crate::normalise::TEMPLATES);
    }

    #[test]
    fn stack_names_are_what_cloudformation_takes() {
        assert_eq!(stack_name("goals", "base"), "goals-base");
        assert_eq!(stack_name("my_app", "efs"), "my-app-efs");
        assert_eq!(stack_name("2048", "alb"), "app-2048-alb");
    }

    /// `count` services with a named volume each; `root` of them (the last) give root access.
    fn volumes(count: usize, root: usize) -> String {
        let mut compose = String::from("services:\n");
        for i in 0..count {
            compose.push_str(&format!("  app{i:03}: {{image: a, volumes: [\"v{i:03}:/data\"]}}\n"));
        }
        compose.push_str("volumes:\n");
        for i in 0..count {
            let root = if i >= count - root {
                "{x-ecs: {root_access: true}}"
            } else {
                "{}"
            };
            compose.push_str(&format!("  v{i:03}: {root}\n"));
        }
        compose
    }

    fn template(conversion: &crate::Conversion, name: &str) -> serde_yaml::Value {
        serde_yaml::from_str(&conversion.output[&format!("cloudformation/{name}")]).unwrap()
    }

    /// The keys of a mapping in a template, in order.
    fn keys(value: &serde_yaml::Value) -> Vec<&str> {
        value
            .as_mapping()
            .unwrap()
            .keys()
            .map(|k| k.as_str().unwrap())
            .collect()
    }

    #[test]
    fn access_points_past_one_stack_s_outputs_go_to_the_next_on_the_same_file_system() {
        let conversion = crate::test_conversion(&volumes(140, 0));
        assert!(!conversion.is_refused(false), "{:?}", conversion.diagnostics);
        let plan = conversion.plan.as_ref().unwrap();
        let labels: Vec<String> = plan.stacks.iter().map(StackPlan::label).collect();
        assert_eq!(labels, ["base", "efs", "efs-2", "efs-3"]);
        assert_eq!(plan.stacks[2].name, "app-efs-2");
        let access_points = |t: &serde_yaml::Value| {
            t["Resources"]
                .as_mapping()
                .unwrap()
                .values()
                .filter(|r| r["Type"] == "AWS::EFS::AccessPoint")
                .count()
        };
        let first = template(&conversion, "efs.yaml");
        let second = template(&conversion, "efs-2.yaml");
        let third = template(&conversion, "efs-3.yaml");
        assert_eq!(
            [access_points(&first), access_points(&second), access_points(&third)],
            [60, 60, 20]
        );
        assert_eq!(
            first["Outputs"].as_mapping().unwrap().len(),
            61,
            "FileSystemId and an id each"
        );
        assert_eq!(second["Outputs"].as_mapping().unwrap().len(), 60);
        // The later stacks make access points on the first one's file system, and no policy:
        // the first one's reaches every access point on it.
        let parameters = keys(&second["Parameters"]);
        assert_eq!(parameters, ["FileSystemId"]);
        assert_eq!(
            second["Resources"]["AccessPointV060"]["Properties"]["FileSystemId"]["Ref"],
            "FileSystemId"
        );
        assert!(second["Resources"]["TaskRoleEfsPolicy"].is_null());
        assert_eq!(
            plan.stacks[2].parameters,
            [StackParameter {
                name: "FileSystemId",
                source: ParameterSource::Output {
                    stack: StackKind::Efs,
                    key: "FileSystemId"
                }
            }]
        );
        assert!(!plan.stacks[2].creates_iam);
        // Each placeholder names the stack that has its output.
        let stack_of = |name: &str| {
            plan.missing
                .iter()
                .find(|m| m.name == name)
                .and_then(|m| m.stack.clone())
        };
        assert_eq!(stack_of("AccessPointV059Id").as_deref(), Some("efs"));
        assert_eq!(stack_of("AccessPointV060Id").as_deref(), Some("efs-2"));
        assert_eq!(stack_of("AccessPointV139Id").as_deref(), Some("efs-3"));
    }

    /// What `aws cloudformation describe-stacks` said of deployed stacks: (name, output keys).
    fn deployed(stacks: &[(&str, Vec<String>)]) -> crate::load::stack_outputs::SavedOutputs {
        let mut saved = crate::load::stack_outputs::SavedOutputs::default();
        for (name, keys) in stacks {
            let outputs: Vec<serde_json::Value> = keys
                .iter()
                .map(|key| serde_json::json!({"OutputKey": key, "OutputValue": format!("fsap-{key}")}))
                .collect();
            let text = serde_json::json!({"Stacks": [{"StackName": name, "Outputs": outputs}]}).to_string();
            saved.add(name, &text).unwrap();
        }
        saved
    }

    #[test]
    fn a_deployed_access_point_stays_in_its_stack_and_new_ones_fill_the_first_with_room() {
        // Deployed before stacks were split: 70 access points in `app-efs`; then 10 in `app-efs-2`.
        let first: Vec<String> = (0..70).map(|i| format!("AccessPointV{i:03}Id")).collect();
        let second: Vec<String> = (70..80).map(|i| format!("AccessPointV{i:03}Id")).collect();
        let saved = deployed(&[("app-efs", first), ("app-efs-2", second)]);
        // v000 is gone, so is v075; 40 new ones come (v080…v119).
        let compose = volumes(120, 0)
            .replace("  app000: {image: a, volumes: [\"v000:/data\"]}\n", "")
            .replace("  app075: {image: a, volumes: [\"v075:/data\"]}\n", "");
        let conversion = crate::test_conversion_deployed(&compose, saved);
        let plan = conversion.plan.as_ref().unwrap();
        let part = |name: &str| plan.volumes.iter().find(|v| v.name == name).map(|v| v.stack_part);
        assert_eq!(part("v001"), Some(1), "deployed in the first, it stays, past 60");
        assert_eq!(part("v069"), Some(1));
        assert_eq!(part("v070"), Some(2));
        assert_eq!(part("v079"), Some(2));
        // The first is past its share; the second has 9 of 60: 51 new ones fit there.
        assert_eq!(part("v080"), Some(2));
        assert_eq!(part("v119"), Some(2));
        assert_eq!(
            plan.stacks.iter().map(StackPlan::label).collect::<Vec<_>>(),
            ["base", "efs", "efs-2"]
        );
        // A deployed one is filled from its stack's outputs; a new one names the stack it is in.
        let missing = |name: &str| {
            plan.missing
                .iter()
                .find(|m| m.name == name)
                .and_then(|m| m.stack.as_deref())
        };
        assert_eq!(missing("AccessPointV001Id"), None);
        assert_eq!(missing("AccessPointV080Id"), Some("efs-2"));
    }

    #[test]
    fn a_deployed_efs_stack_whose_access_points_are_gone_stays_empty_until_down() {
        for existing in ["", "x-ecs:\n  file_system: fs-0123456789abcdef0\n"] {
            let saved = deployed(&[
                ("app-efs", (0..3).map(|i| format!("AccessPointV{i:03}Id")).collect()),
                ("app-efs-2", vec!["AccessPointGoneId".to_string()]),
                // Names compose2ecs does not give its stacks are not this project's EFS stacks.
                ("app-efs-02", vec![]),
                ("app-efs-4294967295", vec![]),
            ]);
            let conversion = crate::test_conversion_deployed(&(volumes(3, 0) + existing), saved);
            let plan = conversion.plan.as_ref().unwrap();
            assert_eq!(
                plan.stacks.iter().map(StackPlan::label).collect::<Vec<_>>(),
                ["base", "efs", "efs-2"]
            );
            let second = template(&conversion, "efs-2.yaml");
            let resources = keys(&second["Resources"]);
            assert_eq!(
                resources,
                ["NoAccessPoints"],
                "a stack needs a resource; no policy is left on the roles"
            );
            // Nothing to declare or read: no `Parameters` (CloudFormation refuses an empty one),
            // no `Outputs`.
            let keys = keys(&second);
            assert_eq!(
                keys,
                ["AWSTemplateFormatVersion", "Description", "Resources"],
                "{existing}"
            );
            assert!(plan.stacks[2].parameters.is_empty());
            assert!(!plan.stacks[2].creates_iam);
        }
    }

    #[test]
    fn efs_stacks_are_known_by_the_names_compose2ecs_gives_them() {
        assert_eq!(part_of("app-efs", "app-efs"), Some(1));
        assert_eq!(part_of("app-efs-2", "app-efs"), Some(2));
        assert_eq!(part_of("app-efs-2000", "app-efs"), Some(2000));
        for other in [
            "app-efs-1",
            "app-efs-02",
            "app-efs-+2",
            "app-efs-2001",
            "app-efs-x",
            "app-efsx",
            "app-base",
        ] {
            assert_eq!(part_of(other, "app-efs"), None, "{other}");
        }
    }

    #[test]
    fn sixty_access_points_with_common_names_deploy_without_an_s3_bucket() {
        for existing in ["", "x-ecs:\n  file_system: fs-0123456789abcdef0\n"] {
            let mut compose = String::from("name: renderfarm\nservices:\n");
            for i in 0..60 {
                compose.push_str(&format!(
                    "  worker-{i:02}: {{image: a, volumes: [\"render-cache-{i:02}:/cache\"]}}\n"
                ));
            }
            compose.push_str(existing);
            compose.push_str("volumes:\n");
            for i in 0..60 {
                compose.push_str(&format!("  render-cache-{i:02}: {{}}\n"));
            }
            let conversion = crate::test_conversion(&compose);
            assert!(!conversion.output.contains_key("cloudformation/efs-2.yaml"));
            let bytes = conversion.output["cloudformation/efs.yaml"].len();
            assert!(bytes < 51_200, "{existing}: {bytes} bytes");
        }
    }

    #[test]
    fn a_later_efs_stack_is_patched_by_its_template_s_name() {
        let compose = format!(
            "{}x-ecs:\n  cloudformation:\n    efs-2.yaml:\n      Resources:\n        AccessPointV060:\n          Properties: {{RootDirectory: {{Path: /cold/v060}}}}\n",
            volumes(61, 0)
        );
        let conversion = crate::test_conversion(&compose);
        assert!(!conversion.is_refused(false), "{:?}", conversion.diagnostics);
        let second = template(&conversion, "efs-2.yaml");
        assert_eq!(
            second["Resources"]["AccessPointV060"]["Properties"]["RootDirectory"]["Path"],
            "/cold/v060"
        );
        // A stack the project does not have: the patch is said to do nothing.
        let compose = compose.replace("efs-2.yaml", "efs-3.yaml");
        let conversion = crate::test_conversion(&compose);
        assert!(conversion
            .diagnostics
            .iter()
            .any(|d| d.code == crate::diagnostic::Code::IgnoredKey && d.message.contains("efs-3.yaml")));
    }

    #[test]
    fn secrets_past_one_stack_s_go_to_the_next_with_a_managed_policy_on_the_execution_role() {
        let conversion = crate::test_conversion(&crate::compose_with_secrets(120, 2, 4));
        assert!(!conversion.is_refused(false), "{:?}", conversion.diagnostics);
        let plan = conversion.plan.as_ref().unwrap();
        let labels: Vec<String> = plan.stacks.iter().map(StackPlan::label).collect();
        assert_eq!(labels, ["base", "secrets", "secrets-2", "secrets-3"]);
        assert_eq!(plan.secret_stacks, [1, 2, 3]);
        for stack in &plan.stacks[1..] {
            assert!(
                stack.takes("TaskExecutionRoleName") && stack.creates_iam,
                "{}",
                stack.label()
            );
        }
        let first = template(&conversion, "secrets.yaml");
        let second = template(&conversion, "secrets-2.yaml");
        let third = template(&conversion, "secrets-3.yaml");
        let created = |template: &serde_yaml::Value| {
            keys(&template["Resources"])
                .into_iter()
                .filter(|key| key.starts_with("Secret"))
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(created(&first).len(), 50);
        assert_eq!(created(&second).len(), 50);
        assert_eq!(
            created(&third),
            [
                "SecretS100",
                "SecretS101",
                "SecretS102",
                "SecretS103",
                "SecretS104",
                "SecretS105",
                "SecretS106",
                "SecretS107",
                "SecretS108",
                "SecretS109",
                "SecretS110",
                "SecretS111",
                "SecretS112",
                "SecretS113",
                "SecretS114",
                "SecretS115",
                "SecretS116",
                "SecretS117",
                "SecretS118",
                "SecretS119"
            ]
        );
        // The first stack's policy is inline, and names the existing secrets too; the later ones'
        // are managed policies naming their own secrets only.
        assert_eq!(first["Resources"]["ReadSecretsPolicy"]["Type"], "AWS::IAM::Policy");
        let first_policy = serde_yaml::to_string(&first["Resources"]["ReadSecretsPolicy"]).unwrap();
        assert!(first_policy.contains("parameter/app/e001") && first_policy.contains("SecretS049"));
        assert!(!first_policy.contains("SecretS050"));
        let policy = &third["Resources"]["ReadSecretsPolicy"];
        assert_eq!(policy["Type"], "AWS::IAM::ManagedPolicy");
        assert_eq!(policy["Properties"]["Roles"][0]["Ref"], "TaskExecutionRoleName");
        let named: Vec<&str> = policy["Properties"]["PolicyDocument"]["Statement"][0]["Resource"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|r| r["Ref"].as_str().unwrap())
            .collect();
        assert_eq!(named, created(&third));
        assert_eq!(keys(&third["Outputs"]).len(), 20);
        // Each placeholder names the stack that has its output; the container reads it there.
        let stack_of = |name: &str| {
            plan.missing
                .iter()
                .find(|m| m.name == name)
                .and_then(|m| m.stack.clone())
        };
        assert_eq!(stack_of("SecretS049Arn").as_deref(), Some("secrets"));
        assert_eq!(stack_of("SecretS050Arn").as_deref(), Some("secrets-2"));
        assert_eq!(stack_of("SecretS119Arn").as_deref(), Some("secrets-3"));
        // A later stack is patched by its template's name.
        let patched = format!(
            "{}x-ecs:\n  cloudformation:\n    secrets-2.yaml:\n      Resources:\n        SecretS050:\n          Properties: {{Description: rotated}}\n",
            crate::compose_with_secrets(120, 0, 4)
        );
        let conversion = crate::test_conversion(&patched);
        assert!(!conversion.is_refused(false), "{:?}", conversion.diagnostics);
        assert_eq!(
            template(&conversion, "secrets-2.yaml")["Resources"]["SecretS050"]["Properties"]["Description"],
            "rotated"
        );
    }

    #[test]
    fn a_deployed_secret_stays_in_its_stack_and_an_emptied_stack_stays_until_down() {
        // Deployed before stacks were split: 60 secrets in `app-secrets`; then 5 in
        // `app-secrets-2`, and one in `app-secrets-3` that is gone now.
        let first: Vec<String> = (0..60).map(|i| format!("SecretS{i:03}Arn")).collect();
        let second: Vec<String> = (60..65).map(|i| format!("SecretS{i:03}Arn")).collect();
        let saved = deployed(&[
            ("app-secrets", first),
            ("app-secrets-2", second),
            ("app-secrets-3", vec!["SecretGoneArn".to_string()]),
            // Not a name compose2ecs gives its stacks.
            ("app-secrets-03", vec![]),
        ]);
        // 80 secrets: the 65 deployed and 15 new ones.
        let conversion = crate::test_conversion_deployed(&crate::compose_with_secrets(80, 0, 4), saved);
        let plan = conversion.plan.as_ref().unwrap();
        let part = |name: &str| plan.secrets.iter().find(|s| s.name == name).map(|s| s.stack_part);
        assert_eq!(part("s059"), Some(1), "deployed in the first, it stays, past 50");
        assert_eq!(part("s060"), Some(2));
        // The first is past its share; the second has room.
        assert_eq!(part("s065"), Some(2));
        assert_eq!(part("s079"), Some(2));
        assert_eq!(
            plan.stacks.iter().map(StackPlan::label).collect::<Vec<_>>(),
            ["base", "secrets", "secrets-2", "secrets-3"]
        );
        let missing = |name: &str| {
            plan.missing
                .iter()
                .find(|m| m.name == name)
                .and_then(|m| m.stack.as_deref())
        };
        assert_eq!(missing("SecretS001Arn"), None, "filled from the saved outputs");
        assert_eq!(missing("SecretS070Arn"), Some("secrets-2"));
        // The emptied stack: a resource CloudFormation needs, no policy, nothing to read.
        let third = template(&conversion, "secrets-3.yaml");
        assert_eq!(keys(&third["Resources"]), ["NoSecrets"]);
        assert_eq!(keys(&third), ["AWSTemplateFormatVersion", "Description", "Resources"]);
        assert!(plan.stacks[3].parameters.is_empty() && !plan.stacks[3].creates_iam);

        // No secret left at all: the deployed stacks stay, empty, for `down` to delete (a policy
        // of theirs on the execution role would keep the base stack from being deleted).
        let saved = deployed(&[
            ("app-secrets", vec!["SecretS000Arn".to_string()]),
            ("app-secrets-2", vec!["SecretS050Arn".to_string()]),
        ]);
        let conversion = crate::test_conversion_deployed("services:\n  app: {image: a}\n", saved);
        let plan = conversion.plan.as_ref().unwrap();
        let labels: Vec<String> = plan.stacks.iter().map(StackPlan::label).collect();
        assert_eq!(labels, ["base", "secrets", "secrets-2"]);
        for name in ["secrets.yaml", "secrets-2.yaml"] {
            assert_eq!(keys(&template(&conversion, name)["Resources"]), ["NoSecrets"], "{name}");
        }
        // Never deployed: no secrets stack.
        let conversion = crate::test_conversion("services:\n  app: {image: a}\n");
        assert!(conversion
            .plan
            .unwrap()
            .stacks
            .iter()
            .all(|s| s.kind != StackKind::Secrets));
    }

    #[test]
    fn a_later_efs_stack_with_root_access_points_has_a_policy_of_its_own_name() {
        let conversion = crate::test_conversion(&volumes(100, 2));
        let plan = conversion.plan.as_ref().unwrap();
        let second = template(&conversion, "efs-2.yaml");
        let policy = &second["Resources"]["TaskRoleEfsPolicy"]["Properties"];
        // Inline policies of one role are told apart by name: a second `efs-client` would
        // replace the first.
        assert_eq!(policy["PolicyName"], "efs-client-2");
        let statements = policy["PolicyDocument"]["Statement"].as_sequence().unwrap();
        assert_eq!(statements.len(), 1);
        assert_eq!(statements[0]["Action"], "elasticfilesystem:ClientRootAccess");
        assert!(plan.stacks[2].creates_iam);
        assert_eq!(plan.stacks[2].parameters.len(), 2, "{:?}", plan.stacks[2].parameters);
    }

    #[test]
    fn each_stack_once_in_dependency_order() {
        let conversion = crate::test_conversion(
            "services:\n  web:\n    image: nginx\n    ports: ['80:80']\n    volumes: [data:/data]\n    secrets: [key]\n    x-ecs: {autoscaling: {max: 3, cpu: 70}}\nvolumes:\n  data: {}\nsecrets:\n  key: {environment: KEY}\n",
        );
        let plan = conversion.plan.expect("a plan");
        let kinds: Vec<&str> = plan.stacks.iter().map(|s| s.kind.as_str()).collect();
        assert_eq!(kinds, ["base", "efs", "alb", "secrets", "autoscaling"]);
        // Every output a stack reads comes from one deployed before it.
        for (i, stack) in plan.stacks.iter().enumerate() {
            for parameter in &stack.parameters {
                if let ParameterSource::Output { stack: from, .. } = parameter.source {
                    assert!(
                        plan.stacks[..i].iter().any(|s| s.kind == from),
                        "{:?} reads {from:?}",
                        stack.kind
                    );
                }
            }
        }
        assert!(plan
            .stacks
            .iter()
            .all(|s| s.after_services == (s.kind == StackKind::Autoscaling)));
    }
}
