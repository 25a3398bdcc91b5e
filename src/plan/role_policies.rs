//! IAM's limit that no checker sees before deploying: the inline policies of one role hold at most
//! 10,240 characters together, counted once CloudFormation has resolved the ARNs they name. The
//! templates put policies on the execution role (registry credentials, secrets, managed
//! databases' secrets) and on every task role (`x-ecs.policies`, ECS Exec, EFS); each role's sum
//! is estimated here, with the longest commercial region, and refused past the limit.

use super::{efs_part_has_policy, efs_part_volumes, secrets_part, Context, Plan, PolicyResource, TaskRole};
use crate::diagnostic::{Code, Diagnostic, KeyPath};

/// The most characters a role's inline policies hold together (IAM does not count white space).
pub(super) const INLINE_POLICY_CHARACTERS: usize = 10_240;

/// The most characters of one managed policy (white space not counted).
const MANAGED_POLICY_CHARACTERS: usize = 6_144;
/// The most managed policies IAM attaches to a role unless the account's quota is raised. The
/// execution role has AWS's `AmazonECSTaskExecutionRolePolicy`, and each secrets stack past the
/// first one of its own.
const MANAGED_POLICIES_PER_ROLE: usize = 10;

/// A statement's own text: `{"Effect":"Allow","Action":[…],"Resource":[…],"Condition":{…}}` with
/// its actions and condition keys, beside the ARNs it lists.
const STATEMENT: usize = 260;
/// The statement that lets the task roles use any access point on the project's own file system:
/// 325 characters once resolved.
const OWN_FILE_SYSTEM_STATEMENT: usize = 340;
/// A policy's own text on a role: its name and `{"Version":"2012-10-17","Statement":[…]}`.
const POLICY: usize = 80;
/// What an ARN adds to a list besides itself: its quotes and comma.
const LISTED: usize = 3;
/// `arn:aws:SERVICE:ap-southeast-5:123456789012:` without the service: the longest commercial
/// region, and an account. (GovCloud's partition, `aws-us-gov`, is 7 characters longer: an
/// estimate for it would refuse what deploys elsewhere.)
const ARN_PREFIX: usize = "arn:aws:".len() + ":ap-southeast-5:123456789012:".len();
/// An access point's ARN after the prefix: `access-point/fsap-` and 17 hexadecimal digits.
const ACCESS_POINT: usize = "elasticfilesystem".len() + "access-point/fsap-0123456789abcdef0".len();
/// A secret CloudFormation names (`LogicalId-` and a random part, then `-` and six characters):
/// the names of `data.yaml`'s secrets.
const GENERATED_SECRET_NAME: usize = 64;

fn arn(service_and_resource: usize) -> usize {
    ARN_PREFIX + service_and_resource + LISTED
}

/// A Secrets Manager secret's ARN by its name, with the six characters Secrets Manager appends.
fn secret_arn(name: usize) -> usize {
    arn("secretsmanager".len() + "secret:".len() + name + "-abcdef".len())
}

/// The ARN of a secret a secrets stack creates, named `PROJECT/NAME`.
fn created_secret_arn(plan: &Plan, secret: &super::SecretPlan) -> usize {
    secret_arn(plan.project.len() + 1 + secret.name.len())
}

/// The parts of one role's inline policies, in characters, with what each part is.
struct RolePolicies {
    parts: Vec<(usize, &'static str)>,
}

impl RolePolicies {
    fn total(&self) -> usize {
        self.parts.iter().map(|(characters, _)| characters).sum()
    }

    fn describe(&self) -> String {
        let parts: Vec<String> = self
            .parts
            .iter()
            .filter(|(characters, _)| *characters > 0)
            .map(|(characters, what)| format!("{what} {characters}"))
            .collect();
        parts.join(", ")
    }
}

pub(super) fn check(cx: &mut Context, plan: &Plan) {
    check_execution_role(cx, plan);
    let efs = efs_policy(plan);
    if efs > INLINE_POLICY_CHARACTERS - POLICY - STATEMENT {
        // The EFS policy is on every task role: one error, at the volumes that fill it.
        cx.diagnostics.push(
            Diagnostic::error(
                Code::RolePolicySize,
                KeyPath::root().key("volumes"),
                format!(
                    "the task roles' EFS policies would hold about {efs} characters once their ARNs are resolved, naming each of {}; IAM takes at most {INLINE_POLICY_CHARACTERS} for a role's inline policies",
                    named_access_points(plan)
                ),
            )
            .with_help(if plan.efs.as_ref().is_some_and(|efs| efs.existing_file_system.is_some()) {
                "leave `x-ecs.file_system` out to let compose2ecs create the project's own file system, whose access points the roles reach without naming each; or use fewer volumes"
            } else {
                "give volumes an owner (`x-ecs: {uid, gid}`) in place of `root_access`: the roles reach those access points without naming each"
            }),
        );
        return;
    }
    for role in &plan.deployment.task_roles {
        let policies = task_role_policies(role, efs);
        if policies.total() <= INLINE_POLICY_CHARACTERS {
            continue;
        }
        let at = role
            .policies_path
            .clone()
            .unwrap_or_else(|| KeyPath::root().key("volumes"));
        let name = role.task.as_deref().map_or_else(
            || "the shared task role".to_string(),
            |task| format!("the role of task `{task}`"),
        );
        cx.diagnostics.push(
            Diagnostic::error(
                Code::RolePolicySize,
                at,
                format!(
                    "{name} would hold about {} characters of inline policies once their ARNs are resolved ({}); IAM takes at most {INLINE_POLICY_CHARACTERS}",
                    policies.total(),
                    policies.describe()
                ),
            )
            .with_help("move statements into a managed policy of your own and give its ARN in `x-ecs.policies`"),
        );
    }
}

fn check_execution_role(cx: &mut Context, plan: &Plan) {
    check_secrets_managed_policies(cx, plan);
    let policies = execution_role_policies(plan);
    if policies.total() > INLINE_POLICY_CHARACTERS {
        let at = if plan.secrets.is_empty() {
            KeyPath::root().key("services")
        } else {
            KeyPath::root().key("secrets")
        };
        let read: usize = plan.managed.iter().map(|database| database.secrets_read().len()).sum();
        cx.diagnostics.push(
            Diagnostic::error(
                Code::RolePolicySize,
                at,
                format!(
                    "the task execution role would hold about {} characters of inline policies once their ARNs are resolved ({}, from {} secrets); IAM takes at most {INLINE_POLICY_CHARACTERS}",
                    policies.total(),
                    policies.describe(),
                    secrets_part(plan, 1).count() + read
                ),
            )
            .with_help(SECRETS_HELP),
        );
    }
}

/// The secrets stacks past the first put a managed policy each on the execution role, naming
/// their secrets: IAM takes 6,144 characters a policy, and 10 policies on a role.
fn check_secrets_managed_policies(cx: &mut Context, plan: &Plan) {
    let later: Vec<u32> = plan
        .secret_stacks
        .iter()
        .copied()
        .filter(|part| *part > 1 && secrets_part(plan, *part).next().is_some())
        .collect();
    let attached = 1 + later.len();
    if attached > MANAGED_POLICIES_PER_ROLE {
        cx.diagnostics.push(
            Diagnostic::error(
                Code::RolePolicySize,
                KeyPath::root().key("secrets"),
                format!(
                    "the task execution role would have {attached} managed policies: AWS's, and one for each of {} secrets stacks past the first ({} secrets each); IAM attaches at most {MANAGED_POLICIES_PER_ROLE} to a role",
                    later.len(),
                    super::stacks::SECRETS_PER_STACK
                ),
            )
            .with_help(SECRETS_HELP),
        );
        return;
    }
    for part in later {
        let characters = secrets_managed_policy(plan, part);
        if characters > MANAGED_POLICY_CHARACTERS {
            cx.diagnostics.push(
                Diagnostic::error(
                    Code::RolePolicySize,
                    KeyPath::root().key("secrets"),
                    format!(
                        "the managed policy of `secrets-{part}.yaml` would hold about {characters} characters once the ARNs of its secrets are resolved; IAM takes at most {MANAGED_POLICY_CHARACTERS} for a managed policy"
                    ),
                )
                .with_help(format!("give the secrets shorter names, or {SECRETS_HELP}")),
            );
        }
    }
}

/// What the execution role's errors advise: fewer secrets.
const SECRETS_HELP: &str = "keep related values in one secret: a Secrets Manager secret holds JSON keys, which a container reads one by one (`arn:…:secret:NAME:KEY::`)";

/// The managed policy of a secrets stack past the first: one statement naming each secret it
/// creates.
fn secrets_managed_policy(plan: &Plan, part: u32) -> usize {
    let arns: usize = secrets_part(plan, part)
        .map(|secret| created_secret_arn(plan, secret))
        .sum();
    POLICY + STATEMENT + arns
}

/// The execution role reads the images' registry credentials, the compose secrets of the first
/// secrets stack (the later ones' are in managed policies), and the secrets of managed databases
/// that clients read.
fn execution_role_policies(plan: &Plan) -> RolePolicies {
    let listed = |arns: usize, entries: usize| if entries == 0 { 0 } else { POLICY + STATEMENT + arns };
    let registry: usize = plan
        .deployment
        .registry_credentials
        .iter()
        .map(|a| a.len() + LISTED)
        .sum();
    let first: Vec<&super::SecretPlan> = secrets_part(plan, 1).collect();
    let secrets: usize = first
        .iter()
        .map(|secret| match &secret.policy_resource {
            PolicyResource::Created => created_secret_arn(plan, secret),
            PolicyResource::SecretsManager(arn) | PolicyResource::SsmParameterArn(arn) => arn.len() + LISTED,
            PolicyResource::SsmParameterName(name) => arn("ssm".len() + "parameter/".len() + name.len()),
        })
        .sum();
    let read: usize = plan.managed.iter().map(|database| database.secrets_read().len()).sum();
    RolePolicies {
        parts: vec![
            (
                listed(registry, plan.deployment.registry_credentials.len()),
                "registry credentials",
            ),
            // Secrets Manager and SSM: two statements.
            (
                listed(secrets, first.len()) + STATEMENT * usize::from(!first.is_empty()),
                "compose secrets",
            ),
            (
                listed(read * secret_arn(GENERATED_SECRET_NAME), read),
                "managed databases' secrets",
            ),
        ],
    }
}

/// What the EFS policies name one by one: access points on an existing file system, and those
/// that give root.
fn named_access_points(plan: &Plan) -> String {
    let existing = plan.efs.as_ref().is_some_and(|efs| efs.existing_file_system.is_some());
    let root = plan.volumes.iter().filter(|v| v.root_access).count();
    let mut parts = Vec::new();
    if existing {
        parts.push(format!(
            "{} access points on the existing file system",
            plan.volumes.len()
        ));
    }
    if root > 0 {
        parts.push(format!("{root} access points that give root (`root_access`)"));
    }
    parts.join(" and ")
}

/// The EFS stacks' policies on the task roles. On the project's own file system the first names
/// the file system alone, and each the access points that give root; on an existing one, each
/// names its access points.
fn efs_policy(plan: &Plan) -> usize {
    let Some(efs) = &plan.efs else {
        return 0;
    };
    let existing = efs.existing_file_system.is_some();
    efs.stacks
        .iter()
        .copied()
        .filter(|part| efs_part_has_policy(plan, *part))
        .map(|part| {
            let volumes = efs_part_volumes(plan, part);
            let named = if existing { volumes.len() } else { 0 };
            let root = volumes.iter().filter(|v| v.root_access).count();
            // The first stack's statement on the project's own file system is longer: its
            // condition names access points by a pattern.
            let general = match (part, existing) {
                (1, false) => OWN_FILE_SYSTEM_STATEMENT,
                (_, true) => STATEMENT,
                _ => 0,
            };
            POLICY + general + STATEMENT * usize::from(root > 0) + (named + root) * arn(ACCESS_POINT)
        })
        .sum()
}

fn task_role_policies(role: &TaskRole, efs: usize) -> RolePolicies {
    let statements: usize = role
        .statements
        .iter()
        .map(|s| serde_json::to_string(s).map_or(0, |text| text.len()))
        .sum();
    RolePolicies {
        parts: vec![
            (if statements == 0 { 0 } else { POLICY + statements }, "x-ecs.policies"),
            (if role.exec { POLICY + STATEMENT } else { 0 }, "ECS Exec"),
            (efs, "EFS"),
        ],
    }
}

#[cfg(test)]
mod tests {
    use crate::diagnostic::{Code, Severity};

    fn errors(compose: &str) -> Vec<(String, String)> {
        crate::test_conversion(compose)
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| (d.code.as_str().to_string(), d.path.to_string()))
            .collect()
    }

    /// A service per volume: a task definition holds only so many.
    fn volumes(count: usize, top: &str) -> String {
        let mut compose = String::from("services:\n");
        for i in 0..count {
            compose.push_str(&format!("  app{i}: {{image: a, volumes: [\"v{i}:/data\"]}}\n"));
        }
        compose.push_str(top);
        compose.push_str("volumes:\n");
        for i in 0..count {
            compose.push_str(&format!("  v{i}: {{}}\n"));
        }
        compose
    }

    #[test]
    fn an_existing_file_system_s_access_points_are_each_named_and_counted() {
        let existing = "x-ecs:\n  file_system: fs-0123456789abcdef0\n";
        // About 93 characters an access point: 80 fit, 120 do not.
        assert_eq!(errors(&volumes(80, existing)), []);
        assert_eq!(
            errors(&volumes(120, existing)),
            [(Code::RolePolicySize.as_str().to_string(), "volumes".to_string())]
        );
        // On the project's own file system the policy names the file system: 180 fit.
        assert_eq!(errors(&volumes(180, "")), []);
    }

    /// The characters of the policies on a role (by its parameter) in a rendered template, once
    /// CloudFormation resolves them in `ap-southeast-5`, as IAM counts them: compact JSON.
    fn resolved_policy_characters(template: &str, role: &str) -> usize {
        let template: serde_yaml::Value = serde_yaml::from_str(template).unwrap();
        let resources = template["Resources"].as_mapping().unwrap();
        let reference = |name: &str| -> String {
            let resource = &template["Resources"][name];
            match resource["Type"].as_str() {
                Some("AWS::SecretsManager::Secret") => {
                    let secret = resource["Properties"]["Name"]
                        .as_str()
                        .map_or_else(|| format!("{name}-AbCdEfGhIjKl"), str::to_string);
                    format!("arn:aws:secretsmanager:ap-southeast-5:123456789012:secret:{secret}-AbCdEf")
                }
                Some("AWS::EFS::AccessPoint") => "fsap-0123456789abcdef0".to_string(),
                // The file system, or the later EFS stacks' parameter for it.
                Some("AWS::EFS::FileSystem") => "fs-0123456789abcdef0".to_string(),
                None if name == "FileSystemId" => "fs-0123456789abcdef0".to_string(),
                _ => panic!("no stand-in for {name}"),
            }
        };
        fn resolve(value: &serde_yaml::Value, reference: &dyn Fn(&str) -> String) -> serde_json::Value {
            if let Some(name) = value["Ref"].as_str() {
                return reference(name).into();
            }
            if let Some(text) = value["Fn::Sub"].as_str() {
                let mut out = text
                    .replace("${AWS::Partition}", "aws")
                    .replace("${AWS::Region}", "ap-southeast-5")
                    .replace("${AWS::AccountId}", "123456789012");
                while let Some(start) = out.find("${") {
                    let end = start + out[start..].find('}').unwrap();
                    out.replace_range(start..=end, &reference(&out[start + 2..end]));
                }
                return out.into();
            }
            match value {
                serde_yaml::Value::Mapping(map) => map
                    .iter()
                    .map(|(k, v)| (k.as_str().unwrap().to_string(), resolve(v, reference)))
                    .collect::<serde_json::Map<_, _>>()
                    .into(),
                serde_yaml::Value::Sequence(items) => items.iter().map(|v| resolve(v, reference)).collect(),
                other => serde_json::to_value(other).unwrap(),
            }
        }
        resources
            .values()
            .filter(|r| r["Type"] == "AWS::IAM::Policy" || r["Type"] == "AWS::IAM::ManagedPolicy")
            .filter(|r| serde_yaml::to_string(&r["Properties"]["Roles"]).unwrap().contains(role))
            .map(|r| {
                serde_json::to_string(&resolve(&r["Properties"]["PolicyDocument"], &reference))
                    .unwrap()
                    .len()
            })
            .sum()
    }

    #[test]
    fn the_estimates_are_at_least_what_the_resolved_templates_hold() {
        let close = |estimate: usize, resolved: usize| {
            assert!(
                resolved > 0 && estimate >= resolved,
                "estimate {estimate}, resolved {resolved}"
            );
            assert!(
                estimate * 100 <= resolved * 115,
                "estimate {estimate}, resolved {resolved}"
            );
        };
        // Both EFS stacks' policies on the task roles.
        let efs_resolved = |conversion: &crate::Conversion| -> usize {
            ["efs.yaml", "efs-2.yaml"]
                .iter()
                .map(|name| {
                    resolved_policy_characters(&conversion.output[&format!("cloudformation/{name}")], "TaskRoleNames")
                })
                .sum()
        };
        let existing = volumes(90, "x-ecs:\n  file_system: fs-0123456789abcdef0\n");
        let conversion = crate::test_conversion(&existing);
        let plan = conversion.plan.as_ref().unwrap();
        // 90 access points: two EFS stacks, a policy each.
        close(super::efs_policy(plan), efs_resolved(&conversion));

        // On the project's own file system, with volumes that give root: the general statement,
        // and the root ones named (70 volumes, 20 of them root: in both stacks).
        let mut own = volumes(70, "");
        for i in 50..70 {
            own = own.replace(
                &format!("  v{i}: {{}}"),
                &format!("  v{i}: {{x-ecs: {{root_access: true}}}}"),
            );
        }
        let conversion = crate::test_conversion(&own);
        let plan = conversion.plan.as_ref().unwrap();
        assert_eq!(plan.volumes.iter().filter(|v| v.root_access).count(), 20);
        close(super::efs_policy(plan), efs_resolved(&conversion));

        // 100 secrets: 50 and 40 existing ones in the first stack's inline policy, 50 in the
        // second's managed policy.
        let conversion = crate::test_conversion(&crate::compose_with_secrets(100, 40, 12));
        let plan = conversion.plan.as_ref().unwrap();
        let resolved = |name: &str| {
            resolved_policy_characters(
                &conversion.output[&format!("cloudformation/{name}")],
                "TaskExecutionRoleName",
            )
        };
        close(super::execution_role_policies(plan).total(), resolved("secrets.yaml"));
        close(super::secrets_managed_policy(plan, 2), resolved("secrets-2.yaml"));
    }

    #[test]
    fn the_execution_role_s_secrets_are_counted() {
        let refused = [(Code::RolePolicySize.as_str().to_string(), "secrets".to_string())];
        // Created secrets past the first stack's 50 are named by a managed policy a stack: 500
        // fit (AWS's policy and nine of them), 501 do not.
        assert_eq!(errors(&crate::compose_with_secrets(500, 0, 4)), []);
        assert_eq!(errors(&crate::compose_with_secrets(501, 0, 4)), refused);
        // A managed policy holds 6,144 characters: 50 secrets of 40 characters fit, of 60 not.
        assert_eq!(errors(&crate::compose_with_secrets(100, 0, 40)), []);
        assert_eq!(errors(&crate::compose_with_secrets(100, 0, 60)), refused);
        // Existing secrets are all named by the first stack's inline policy, with the first 50
        // created: about 100 characters each, 80 fit, 120 do not.
        assert_eq!(errors(&crate::compose_with_secrets(50, 80, 4)), []);
        assert_eq!(errors(&crate::compose_with_secrets(50, 120, 4)), refused);
    }

    #[test]
    fn a_task_role_counts_its_statements_and_ecs_exec() {
        let statement = |i: usize| {
            format!("        - {{Effect: Allow, Action: [s3:GetObject], Resource: \"arn:aws:s3:::bucket-with-a-long-name-{i:04}/uploads/*\"}}\n")
        };
        let compose = |count: usize| {
            let mut compose =
                String::from("services:\n  api:\n    image: a\n    x-ecs:\n      exec: true\n      policies:\n");
            for i in 0..count {
                compose.push_str(&statement(i));
            }
            compose
        };
        assert_eq!(errors(&compose(50)), []);
        assert_eq!(
            errors(&compose(150)),
            [(
                Code::RolePolicySize.as_str().to_string(),
                "services.api.x-ecs.policies".to_string()
            )]
        );
    }
}
