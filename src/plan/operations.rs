//! How a task runs beyond its containers: the IAM role it runs with, ECS Exec into it, the size of
//! its own storage, and the Fargate capacity (Spot or not) it runs on. Each is asked for by a
//! service and holds for its task.

use super::*;
use crate::diagnostic::Code;
use crate::normalise::CapacityShare;
use serde::Serialize;
use std::collections::HashSet;

/// What the services of a task ask of how it runs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TaskOperations {
    /// ECS Exec (`enableExecuteCommand`), and why: the services that ask for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exec: Option<String>,
    /// The task's own storage in GiB (`ephemeralStorage`): the most any of its services asks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ephemeral_storage_gib: Option<u32>,
    /// The capacity providers the ECS service runs the task on; empty: the `FARGATE` launch type.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capacity: Vec<CapacityShare>,
    /// The task's own IAM role, when its services ask for policies; else the project's shared one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<TaskRole>,
}

/// An IAM role the containers of tasks run with: the project's shared one, or a task's own with
/// the policies its services ask for.
#[derive(Debug, Clone, Serialize)]
pub struct TaskRole {
    /// Its resource in the base stack (`TaskRole`, `TaskRoleOfApi`); its outputs add `Arn` and `Name`.
    pub logical_id: String,
    /// The task it is the role of; `None` for the shared one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    pub arn: DeployValue,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub managed_policies: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub statements: Vec<serde_yaml::Value>,
    /// Whether a task running with it uses ECS Exec: it may then open the SSM channels.
    pub exec: bool,
    /// The `x-ecs.policies` it was made for (the first service's); `None` for the shared role.
    #[serde(skip)]
    pub policies_path: Option<KeyPath>,
}

/// The most managed policies IAM attaches to a role (its quota, raised from the default 10).
const MANAGED_POLICIES_PER_ROLE: usize = 20;
/// The default quota, which an account may have raised.
const DEFAULT_MANAGED_POLICIES_PER_ROLE: usize = 10;

impl TaskOperations {
    /// Whether no service asks anything of how the task runs.
    pub fn is_default(&self) -> bool {
        self.exec.is_none() && self.ephemeral_storage_gib.is_none() && self.capacity.is_empty() && self.role.is_none()
    }
}

pub(super) fn operations(cx: &mut Context, task: &str, members: &[&Service]) -> TaskOperations {
    let asking: Vec<&str> = members.iter().filter(|s| s.ecs.exec).map(|s| s.name.as_str()).collect();
    let exec = (!asking.is_empty()).then(|| format!("`x-ecs.exec` on {}", quoted_list(&asking)));
    if let (Some(_), Some(read_only)) = (&exec, members.iter().find(|s| s.runtime.read_only)) {
        cx.diagnostics.push(
            Diagnostic::warning(
                Code::ExecReadOnly,
                read_only.path.key("read_only"),
                format!("task `{task}` has ECS Exec on, and `{}` has a read-only root file system, where ECS Exec's agent cannot run: `aws ecs execute-command` into it fails", read_only.name),
            )
            .with_help("turn `read_only` off for the time you need ECS Exec"),
        );
    }
    let ephemeral_storage_gib = members
        .iter()
        .filter_map(|s| s.ecs.ephemeral_storage.as_ref().map(|(gib, _)| *gib))
        .max();
    let mut setters = members
        .iter()
        .filter_map(|s| s.ecs.capacity.as_ref().map(|c| (s.name.as_str(), c)));
    let capacity = match setters.next() {
        None => Vec::new(),
        Some((service, (shares, path))) => {
            for (other, (other_shares, other_path)) in setters {
                if other_shares != shares {
                    cx.diagnostics.push(
                        Diagnostic::error(
                            Code::TaskSettingConflict,
                            other_path.clone(),
                            format!("`{other}` and `{service}` ask for different capacity (Fargate Spot or not), and they run in one task (`{task}`)"),
                        )
                        .with_help(format!("set `spot` on one service of task `{task}`")),
                    );
                }
            }
            if shares.iter().any(|share| share.provider == "FARGATE_SPOT") {
                let cluster = if cx.project.settings.cluster.is_some() {
                    "; the cluster named in `x-ecs.cluster` must have the FARGATE_SPOT capacity provider (`aws ecs put-cluster-capacity-providers`)"
                } else {
                    ""
                };
                cx.diagnostics.push(
                    Diagnostic::note(
                        Code::FargateSpot,
                        path.clone(),
                        format!("task `{task}` runs on Fargate Spot: AWS may stop a copy with two minutes' notice when it needs the capacity back, and the ECS service starts another{cluster}"),
                    )
                    .with_help("keep a copy on `FARGATE` with ECS ComposeX's `CapacityProviderStrategy` (a `Base`) if the app must not pause"),
                );
            }
            shares.clone()
        }
    };
    let role = task_role(cx, task, members, exec.is_some());
    TaskOperations {
        exec,
        ephemeral_storage_gib,
        capacity,
        role,
    }
}

/// The task's own role when a service of it has `x-ecs.policies`: their managed policies (each
/// once, sorted) and statements (in the services' order), within IAM's quotas.
fn task_role(cx: &mut Context, task: &str, members: &[&Service], exec: bool) -> Option<TaskRole> {
    let asking: Vec<_> = members.iter().filter_map(|s| s.ecs.policies.as_ref()).collect();
    let first = asking.first()?;
    let managed: BTreeSet<String> = asking.iter().flat_map(|p| p.managed.iter().cloned()).collect();
    // Services of one task often ask for the same statement: each once, as IAM takes a `Sid` once.
    let mut seen = HashSet::new();
    let statements: Vec<serde_yaml::Value> = asking
        .iter()
        .flat_map(|p| &p.statements)
        .filter(|statement| seen.insert(*statement))
        .cloned()
        .collect();
    let mut sids = BTreeSet::new();
    if let Some(sid) = statements
        .iter()
        .filter_map(|s| s.get("Sid").and_then(serde_yaml::Value::as_str))
        .find(|sid| !sids.insert(*sid))
    {
        cx.diagnostics.push(
            Diagnostic::error(
                Code::BadSetting,
                first.path.clone(),
                format!("two statements of task `{task}` have the `Sid` `{sid}`, which IAM takes once in a policy"),
            )
            .with_help("give each statement a `Sid` of its own, or none"),
        );
    }
    if managed.len() > MANAGED_POLICIES_PER_ROLE {
        cx.diagnostics.push(
            Diagnostic::error(
                Code::BadSetting,
                first.path.clone(),
                format!("task `{task}` asks for {} managed policies; IAM attaches at most {MANAGED_POLICIES_PER_ROLE} to a role", managed.len()),
            )
            .with_help("combine them into a policy of your own, or into statements"),
        );
    } else if managed.len() > DEFAULT_MANAGED_POLICIES_PER_ROLE {
        cx.diagnostics.push(
            Diagnostic::warning(
                Code::IamQuota,
                first.path.clone(),
                format!("task `{task}` asks for {} managed policies; IAM attaches {DEFAULT_MANAGED_POLICIES_PER_ROLE} to a role unless the account's quota was raised", managed.len()),
            )
            .with_help("ask for a higher quota (Service Quotas, IAM), or combine policies"),
        );
    }
    let logical_id = format!("TaskRoleOf{}", logical_id(task));
    Some(TaskRole {
        arn: cx.deferred(&format!("{logical_id}Arn"), Source::Stack("base")),
        logical_id,
        task: Some(task.to_string()),
        managed_policies: managed.into_iter().collect(),
        statements,
        exec,
        policies_path: Some(first.path.clone()),
    })
}

fn quoted_list(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::{project, run};

    fn of(compose: &str) -> (TaskOperations, Vec<Code>) {
        let project = project(compose);
        let members: Vec<&Service> = project.services.iter().collect();
        run(&project, |cx| operations(cx, "app", &members))
    }

    #[test]
    fn a_task_holds_what_its_services_ask() {
        let (ops, codes) = of("services:\n  a: {image: a, x-ecs: {exec: true, ephemeral_storage: 30, spot: true}}\n  b: {image: b, x-ecs: {ephemeral_storage: 50}}\n");
        assert_eq!(ops.exec.as_deref(), Some("`x-ecs.exec` on `a`"));
        assert_eq!(ops.ephemeral_storage_gib, Some(50), "the most any service asks");
        assert_eq!(
            ops.capacity.iter().map(|s| s.provider.as_str()).collect::<Vec<_>>(),
            ["FARGATE_SPOT"]
        );
        assert_eq!(codes, [Code::FargateSpot]);
        let (ops, codes) = of("services:\n  a: {image: a}\n");
        assert!(ops.exec.is_none() && ops.capacity.is_empty() && codes.is_empty());
        let (_, codes) = of("services:\n  a: {image: a, read_only: true, x-ecs: {exec: true}}\n");
        assert_eq!(codes, [Code::ExecReadOnly]);
    }

    #[test]
    fn a_task_whose_services_ask_for_policies_has_its_own_role() {
        let (ops, codes) = of("services:\n  a: {image: a, x-ecs: {policies: ['arn:aws:iam::aws:policy/B', {Effect: Allow, Action: 's3:*', Resource: '*'}]}}\n  b: {image: b, x-ecs: {exec: true, policies: ['arn:aws:iam::aws:policy/A', 'arn:aws:iam::aws:policy/B']}}\n");
        assert!(codes.is_empty(), "{codes:?}");
        let role = ops.role.expect("its own role");
        assert_eq!(role.logical_id, "TaskRoleOfApp");
        assert_eq!(role.arn, DeployValue::Placeholder("TaskRoleOfAppArn".into()));
        assert_eq!(
            role.managed_policies,
            ["arn:aws:iam::aws:policy/A", "arn:aws:iam::aws:policy/B"],
            "each once, sorted"
        );
        assert_eq!(role.statements.len(), 1);
        assert!(role.exec, "ECS Exec's channels go on the role the task runs with");
        let many: Vec<String> = (0..11).map(|i| format!("'arn:aws:iam::aws:policy/P{i}'")).collect();
        let (_, codes) = of(&format!(
            "services:\n  a: {{image: a, x-ecs: {{policies: [{}]}}}}\n",
            many.join(", ")
        ));
        assert_eq!(codes, [Code::IamQuota]);
        let many: Vec<String> = (0..21).map(|i| format!("'arn:aws:iam::aws:policy/P{i}'")).collect();
        let (_, codes) = of(&format!(
            "services:\n  a: {{image: a, x-ecs: {{policies: [{}]}}}}\n",
            many.join(", ")
        ));
        assert_eq!(codes, [Code::BadSetting]);
    }

    #[test]
    fn a_statement_two_services_ask_for_is_written_once_and_a_sid_is_one_iam_takes() {
        let statement = "{Sid: ReadUploads, Effect: Allow, Action: 's3:GetObject', Resource: '*'}";
        let (ops, codes) = of(&format!(
            "services:\n  a: {{image: a, x-ecs: {{policies: [{statement}]}}}}\n  b: {{image: b, x-ecs: {{policies: [{statement}]}}}}\n"
        ));
        assert!(codes.is_empty(), "{codes:?}");
        assert_eq!(ops.role.expect("a role").statements.len(), 1);
        let other = "{Sid: ReadUploads, Effect: Deny, Action: 's3:DeleteObject', Resource: '*'}";
        let (_, codes) = of(&format!(
            "services:\n  a: {{image: a, x-ecs: {{policies: [{statement}, {other}]}}}}\n"
        ));
        assert_eq!(codes, [Code::BadSetting], "one Sid twice");
    }

    #[test]
    fn two_tasks_whose_roles_would_share_a_name_are_refused() {
        let conversion = crate::test_conversion(
            "services:\n  my-api: {image: a, x-ecs: {policies: ['arn:aws:iam::aws:policy/A']}}\n  my_api: {image: b, x-ecs: {policies: ['arn:aws:iam::aws:policy/A']}}\n",
        );
        let codes: Vec<Code> = conversion
            .diagnostics
            .iter()
            .filter(|d| d.severity == crate::diagnostic::Severity::Error)
            .map(|d| d.code)
            .collect();
        assert_eq!(codes, [Code::NameCollision]);
    }

    #[test]
    fn composex_s_strategy_and_a_conflict() {
        let (ops, _) = of("services:\n  a:\n    image: a\n    x-ecs:\n      EnableExecuteCommand: true\n      CapacityProviderStrategy:\n        - {CapacityProvider: FARGATE, Base: 1, Weight: 1}\n        - {CapacityProvider: FARGATE_SPOT, Weight: 3}\n");
        assert!(ops.exec.is_some());
        let shares: Vec<_> = ops
            .capacity
            .iter()
            .map(|s| (s.provider.as_str(), s.weight, s.base))
            .collect();
        assert_eq!(shares, [("FARGATE", 1, 1), ("FARGATE_SPOT", 3, 0)]);
        let (_, codes) = of("services:\n  a: {image: a, x-ecs: {spot: true}}\n  b: {image: b, x-ecs: {CapacityProviderStrategy: [{CapacityProvider: FARGATE, Weight: 1}]}}\n");
        assert_eq!(codes, [Code::TaskSettingConflict, Code::FargateSpot]);
    }
}
