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
    /// The stack's name: `PROJECT-KIND`.
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
    /// The planned stack of a kind, by its name in placeholders (`base`, `efs`, …).
    pub fn stack(&self, kind: &str) -> Option<&StackPlan> {
        self.stacks.iter().find(|stack| stack.kind.as_str() == kind)
    }
}

impl StackPlan {
    /// The template's path in the output folder.
    pub fn template(&self) -> String {
        format!("cloudformation/{}.yaml", self.kind.as_str())
    }
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
    let stack = |kind: StackKind, parameters, creates_iam, reason: &str| StackPlan {
        kind,
        name: stack_name(&plan.project, kind.as_str()),
        parameters,
        creates_iam,
        names_iam: false,
        after_services: false,
        reason: reason.to_string(),
    };
    let mut stacks = vec![stack(
        Base,
        vec![parameter("VpcId", Vpc), parameter("PrivateSubnetIds", PrivateSubnets)],
        true,
        "the cluster, log group, security groups and roles every task uses",
    )];
    if let Some(efs) = &plan.efs {
        // A file system the stack creates has a policy that admits the task roles by ARN.
        let parameters = if efs.existing_file_system.is_some() {
            vec![
                parameter("MountTargetSecurityGroupId", MountTargetSecurityGroup),
                from_base("TaskSecurityGroupId"),
                from_base("TaskRoleNames"),
            ]
        } else {
            vec![
                parameter("VpcId", Vpc),
                parameter("PrivateSubnetIds", PrivateSubnets),
                from_base("TaskSecurityGroupId"),
                from_base("TaskRoleNames"),
                from_base("TaskRoleArns"),
            ]
        };
        stacks.push(stack(Efs, parameters, true, "named volumes: EFS access points"));
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
    if !plan.secrets.is_empty() {
        stacks.push(stack(
            Secrets,
            vec![from_base("TaskExecutionRoleName")],
            true,
            "secrets: created in Secrets Manager, readable by the execution role",
        ));
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

/// A stack name CloudFormation takes (a letter, then letters, digits and `-`), from a compose
/// project name (lowercase letters, digits, `-` and `_`, any first).
fn stack_name(project: &str, kind: &str) -> String {
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
            .find(|stack| format!("{}.yaml", stack.kind.as_str()) == template)
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
