//! Down: what `deploy` made, removed in the reverse order — the autoscaling stack, the services
//! (scaled to zero first), the task definitions' active revisions, then the other stacks — keeping
//! what the templates retain (logs, file system, secrets), which it names with how to delete it.

use super::tools::{CliCommand, ToolFailure};
use super::{saved, DeployError, Deployer};
use crate::load::stack_outputs::SavedOutputs;
use crate::plan::{Plan, PolicyResource, StackPlan};
use serde_json::Value;

/// Removes the app; returns what was kept, each with the command that deletes it.
pub fn down(deployer: &mut Deployer, plan: &Plan, saved: &SavedOutputs) -> Result<Vec<String>, DeployError> {
    // A database the user protected is not deleted: down refuses before it changes anything.
    let protected: Vec<&str> = plan
        .managed
        .iter()
        .filter(|database| database.deletion_protection)
        .map(|database| database.service.as_str())
        .collect();
    if !protected.is_empty() {
        return Err(DeployError::new(
            format!(
                "the managed {} {} deletion protection on: nothing was removed",
                crate::quote::names(&protected),
                if protected.len() == 1 { "has" } else { "have" }
            ),
            "to remove the app with its databases, set `x-ecs.managed.deletion_protection: false` on each, run `compose2ecs deploy`, then `compose2ecs down`: each database leaves a final snapshot and its secret",
        ));
    }
    for stack in plan.stacks.iter().rev().filter(|s| s.after_services) {
        delete_stack(deployer, stack)?;
    }
    delete_services(deployer, plan)?;
    for task in &plan.tasks {
        deregister(deployer, &task.service_name)?;
    }
    for stack in plan.stacks.iter().rev().filter(|s| !s.after_services) {
        delete_stack(deployer, stack)?;
    }
    Ok(kept(plan, saved))
}

/// Each ECS service scaled to zero, then deleted; then waited for until it is gone.
fn delete_services(deployer: &mut Deployer, plan: &Plan) -> Result<(), DeployError> {
    let cluster = &plan.deployment.cluster;
    let mut order = plan.creation_order.clone();
    order.reverse();
    let existing = deployer.services(cluster, &order, false)?;
    let dry = deployer.aws.dry();
    let mut deleted = Vec::new();
    for name in order
        .iter()
        .filter(|name| dry || existing.get(*name).is_some_and(|s| s["status"] == "ACTIVE"))
    {
        let scale = CliCommand::change("ecs", "update-service")
            .option("cluster", cluster)
            .option("service", name)
            .option("desired-count", "0");
        let delete = CliCommand::change("ecs", "delete-service")
            .option("cluster", cluster)
            .option("service", name);
        for command in [scale, delete] {
            match deployer.aws.run(&command) {
                Ok(_) | Err(ToolFailure::NotRun) => {}
                Err(failure) => {
                    return Err(DeployError::failed(
                        &format!("service `{name}` was not deleted"),
                        &failure,
                    ))
                }
            }
        }
        deployer.did(format!("service {name}: scaled to 0 and deleted"));
        deleted.push(name.clone());
    }
    // A service an interrupted `down` deleted is still draining: the stacks wait for it too.
    deleted.extend(
        existing
            .iter()
            .filter(|(_, s)| s["status"] == "DRAINING")
            .map(|(name, _)| name.clone()),
    );
    for chunk in deleted.chunks(10) {
        let wait = CliCommand::read("ecs", "wait")
            .words(["services-inactive"])
            .option("cluster", cluster)
            .words(["--services"])
            .words(chunk.iter().cloned());
        match deployer.aws.run(&wait) {
            Ok(_) | Err(ToolFailure::NotRun) => {}
            Err(failure) => return Err(DeployError::failed("the services did not finish draining", &failure)),
        }
    }
    Ok(())
}

pub(super) fn cluster_gone(failure: &ToolFailure) -> bool {
    matches!(failure, ToolFailure::Failed { stderr, .. } if stderr.contains("ClusterNotFoundException"))
}

/// Every active revision of the task definition family `family` deregistered (a deregistered
/// revision stays readable, as ECS keeps it, but nothing can run it).
fn deregister(deployer: &mut Deployer, family: &str) -> Result<(), DeployError> {
    let list = CliCommand::read("ecs", "list-task-definitions")
        .option("family-prefix", family)
        .option("status", "ACTIVE");
    let arns: Vec<String> = match deployer.aws.run(&list) {
        Ok(answer) => serde_json::from_str::<Value>(&answer).unwrap_or(Value::Null)["taskDefinitionArns"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            // The prefix also matches longer families (`app-web` matches `app-web-2`).
            .filter(|arn| {
                arn.rsplit_once(":task-definition/")
                    .and_then(|(_, revision)| revision.rsplit_once(':'))
                    .is_some_and(|(name, _)| name == family)
            })
            .map(str::to_string)
            .collect(),
        Err(ToolFailure::NotRun) => vec![format!("{family}:REVISION")],
        Err(failure) => {
            return Err(DeployError::failed(
                &format!("task definitions `{family}` cannot be listed"),
                &failure,
            ))
        }
    };
    for arn in &arns {
        let command = CliCommand::change("ecs", "deregister-task-definition").option("task-definition", arn);
        match deployer.aws.run(&command) {
            Ok(_) | Err(ToolFailure::NotRun) => {}
            Err(failure) => return Err(DeployError::failed(&format!("`{arn}` was not deregistered"), &failure)),
        }
    }
    if !arns.is_empty() && !deployer.aws.dry() {
        deployer.did(format!(
            "task definition {family}: {} revision(s) deregistered",
            arns.len()
        ));
    }
    Ok(())
}

/// The stack deleted and waited for, and its saved outputs removed.
fn delete_stack(deployer: &mut Deployer, stack: &StackPlan) -> Result<(), DeployError> {
    let describe = CliCommand::read("cloudformation", "describe-stacks").option("stack-name", &stack.name);
    match deployer.aws.run(&describe) {
        Ok(_) | Err(ToolFailure::NotRun) => {}
        Err(failure) if failure.is_absent() => {
            remove_saved(deployer, stack)?;
            return Ok(());
        }
        Err(failure) => {
            return Err(DeployError::failed(
                &format!("stack `{}` cannot be read", stack.name),
                &failure,
            ))
        }
    }
    let delete = CliCommand::change("cloudformation", "delete-stack").option("stack-name", &stack.name);
    let wait = CliCommand::read("cloudformation", "wait")
        .words(["stack-delete-complete"])
        .option("stack-name", &stack.name);
    for command in [delete, wait] {
        match deployer.aws.run(&command) {
            Ok(_) | Err(ToolFailure::NotRun) => {}
            Err(failure) => {
                return Err(DeployError::new(
                    format!("stack `{}` was not deleted: {}", stack.name, failure.said()),
                    format!(
                        "see why in `aws cloudformation describe-stack-events --stack-name {}`, then run `compose2ecs down` again",
                        stack.name
                    ),
                ))
            }
        }
    }
    remove_saved(deployer, stack)?;
    if !deployer.aws.dry() {
        deployer.did(format!("stack {}: deleted", stack.name));
    }
    Ok(())
}

fn remove_saved(deployer: &mut Deployer, stack: &StackPlan) -> Result<(), DeployError> {
    if deployer.aws.dry() {
        return Ok(());
    }
    saved::remove(deployer.output, &stack.name)
        .map(|_| ())
        .map_err(|error| {
            DeployError::new(
                format!("the saved outputs of stack `{}` cannot be removed: {error}", stack.name),
                "remove the file by hand: the stack is gone",
            )
        })
}

/// What the templates keep when their stacks are deleted, and how to delete each.
pub(super) fn kept(plan: &Plan, saved: &SavedOutputs) -> Vec<String> {
    let mut kept = vec![format!(
        "log group {0}: `aws logs delete-log-group --log-group-name {0}` (a new deploy cannot create the base stack while it exists)",
        plan.deployment.log_group
    )];
    if let Some(efs) = &plan.efs {
        match (&efs.existing_file_system, saved.values.get("FileSystemId")) {
            (Some(_), _) => {}
            (None, Some(id)) => kept.push(format!(
                "EFS file system {id} (the volumes' data): `aws efs delete-file-system --file-system-id {id}`, or deploy again with `x-ecs: {{file_system: {id}}}` to use its data"
            )),
            (None, None) => kept.push(
                "the EFS file system of the volumes (tagged with the project): `aws efs delete-file-system --file-system-id ID`"
                    .to_string(),
            ),
        }
    }
    for ecr in plan.builds.iter().filter_map(|b| b.ecr.as_ref()) {
        kept.push(format!(
            "ECR repository {0} (the images deploy pushed): `aws ecr delete-repository --region {1} --repository-name {0} --force`",
            ecr.repository, ecr.region
        ));
    }
    for secret in plan
        .secrets
        .iter()
        .filter(|s| s.policy_resource == PolicyResource::Created)
    {
        let id = format!("{}/{}", plan.project, secret.name);
        kept.push(format!(
            "secret {id}: `aws secretsmanager delete-secret --secret-id {id} --force-delete-without-recovery` (a new deploy cannot create it again while it exists)"
        ));
    }
    kept
}
