//! How a task runs beyond its containers: ECS Exec into it, the size of its own storage, and the
//! Fargate capacity (Spot or not) it runs on. Each is asked for by a service and holds for its task.

use super::*;
use crate::diagnostic::Code;
use crate::normalise::CapacityShare;
use serde::Serialize;

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
}

impl TaskOperations {
    /// Whether no service asks anything of how the task runs.
    pub fn is_default(&self) -> bool {
        self.exec.is_none() && self.ephemeral_storage_gib.is_none() && self.capacity.is_empty()
    }

    /// Whether the task may run on Fargate Spot.
    pub fn on_spot(&self) -> bool {
        self.capacity.iter().any(|share| share.provider == "FARGATE_SPOT")
    }
}

pub(super) fn operations(cx: &mut Context, task: &str, members: &[&Service]) -> TaskOperations {
    let asking: Vec<&str> = members.iter().filter(|s| s.ecs.exec).map(|s| s.name.as_str()).collect();
    let exec = (!asking.is_empty()).then(|| format!("`x-ecs.exec` on {}", quoted_list(&asking)));
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
    TaskOperations {
        exec,
        ephemeral_storage_gib,
        capacity,
    }
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
        assert!(ops.on_spot());
        assert_eq!(codes, [Code::FargateSpot]);
        let (ops, codes) = of("services:\n  a: {image: a}\n");
        assert!(ops.exec.is_none() && ops.capacity.is_empty() && codes.is_empty());
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
