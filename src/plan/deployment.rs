//! Deployment: the cluster, network and roles the services run with, and how a task is rolled out.

use super::*;
use crate::diagnostic::Code;

/// How ECS replaces the task's copies: with volumes, never two at once on the same files; the
/// percents a service of the task sets (`x-ecs.rollout`) in place of those.
pub(super) fn rollout(
    cx: &mut Context,
    task: &str,
    members: &[&Service],
    mounts_volumes: bool,
    copies: u32,
) -> Rollout {
    let chosen = chosen_rollout(cx, task, members, mounts_volumes, copies);
    let mut setters = members
        .iter()
        .filter_map(|s| s.ecs.rollout.as_ref().map(|r| (s.name.as_str(), r)));
    let Some((service, settings)) = setters.next() else {
        return chosen;
    };
    for (other, other_settings) in setters {
        cx.diagnostics.push(
            Diagnostic::error(
                Code::TaskSettingConflict,
                other_settings.path.clone(),
                format!("`{other}` and `{service}` both set the rollout, and they run in one task (`{task}`), which deploys as one ECS service"),
            )
            .with_help(format!("keep `rollout` on one service of task `{task}`")),
        );
    }
    let minimum_healthy_percent = settings
        .minimum_healthy_percent
        .unwrap_or(chosen.minimum_healthy_percent);
    let maximum_percent = settings.maximum_percent.unwrap_or(chosen.maximum_percent);
    // ECS rounds the copies it keeps up and the copies it may run down: with none to stop and
    // none to add, a deployment never moves.
    // With autoscaling, at every count it may scale to.
    let scaled = members
        .iter()
        .find_map(|s| s.ecs.autoscaling.as_ref())
        .map_or(copies..=copies, |a| a.min..=a.max);
    let stuck = std::iter::once(copies)
        .chain(scaled)
        .filter(|c| *c > 0)
        .find_map(|count| {
            let kept = (u64::from(count) * u64::from(minimum_healthy_percent)).div_ceil(100);
            let most = u64::from(count) * u64::from(maximum_percent) / 100;
            (most <= kept).then_some((count, kept, most))
        });
    if let Some((count, kept, most)) = stuck {
        cx.diagnostics.push(
            Diagnostic::error(
                Code::BadSetting,
                settings.path.clone(),
                format!("with {count} cop{}, task `{task}` keeps {kept} running ({minimum_healthy_percent}%, rounded up) and runs at most {most} ({maximum_percent}%, rounded down): ECS can neither stop one nor start one, so a deployment never moves", if count == 1 { "y" } else { "ies" }),
            )
            .with_help("lower `minimum_healthy_percent` or raise `maximum_percent` until one copy can be replaced at every count the task runs (with 1 copy: 0 and 100, or 100 and 200)"),
        );
    }
    if mounts_volumes && maximum_percent > 100 {
        cx.diagnostics.push(
            Diagnostic::warning(
                Code::SharedVolumeCopies,
                settings.path.clone(),
                format!("task `{task}` mounts volumes, and its rollout starts new copies before old ones stop: during a deploy two copies write the same files"),
            )
            .with_help("keep `maximum_percent` at 100 for a task that owns its data, unless the app can share its files"),
        );
    }
    Rollout {
        maximum_percent,
        minimum_healthy_percent,
        reason: format!("the percents `{service}` sets"),
        circuit_breaker: chosen.circuit_breaker,
    }
}

/// The rollout the plan chooses from what the task mounts.
fn chosen_rollout(cx: &mut Context, task: &str, members: &[&Service], mounts_volumes: bool, copies: u32) -> Rollout {
    if !mounts_volumes {
        return Rollout {
            maximum_percent: 200,
            minimum_healthy_percent: 100,
            reason: "new tasks start before old ones stop".into(),
            circuit_breaker: circuit_breaker(),
        };
    }
    if copies > 1 {
        let service = members.iter().find(|s| s.replicas.is_some()).unwrap_or(&members[0]);
        let path = service
            .replicas
            .as_ref()
            .map_or_else(|| service.path.clone(), |r| r.path.clone());
        cx.diagnostics.push(
                Diagnostic::warning(
                    Code::SharedVolumeCopies,
                    path,
                    format!("task `{task}` runs {copies} copies that mount the same volumes: they all read and write the same files at once"),
                )
                .with_help("run one copy of a task that owns its data, or make sure the app can share its files"),
            );
    }
    Rollout {
            maximum_percent: 100,
            minimum_healthy_percent: 0,
            reason: "the task mounts volumes: old tasks stop before new ones start, so two copies never write the same files during a deploy".into(),
            circuit_breaker: circuit_breaker(),
        }
}

/// Every rollout stops and rolls back when its new tasks keep failing: without the circuit
/// breaker ECS goes on starting them for hours, and a task whose old copies were stopped first
/// (it mounts volumes) stays down all that time.
fn circuit_breaker() -> CircuitBreaker {
    CircuitBreaker {
        enable: true,
        rollback: true,
        reason: "a deployment whose new tasks keep failing stops and goes back to the revision that ran, instead of retrying for hours".into(),
    }
}

pub(super) fn deployment(cx: &mut Context, tasks: &[TaskGroup], one_network: bool) -> Deployment {
    let settings = &cx.project.settings;
    let region = match &settings.region {
        Some(region) => {
            check_stacks_region(cx, region);
            DeployValue::Known(region.clone())
        }
        None => cx.deferred("Region", Source::SettingOrStack("region", "base")),
    };
    let subnets = match &settings.subnets {
        Some(subnets) => subnets.iter().cloned().map(DeployValue::Known).collect(),
        // The base stack gives its subnet list as one comma-separated output.
        None => match cx.deferred("PrivateSubnetIds", Source::SettingOrStack("subnets", "base")) {
            DeployValue::Known(list) => list
                .split(',')
                .map(|s| DeployValue::Known(s.trim().to_string()))
                .collect(),
            placeholder => vec![placeholder],
        },
    };
    let security_groups = match &settings.security_groups {
        Some(groups) => groups.iter().cloned().map(DeployValue::Known).collect(),
        None => vec![cx.deferred("TaskSecurityGroupId", Source::SettingOrStack("security_groups", "base"))],
    };
    let connect_ports: Vec<u16> = tasks
        .iter()
        .filter_map(|t| t.service_connect.as_ref().map(|c| (t, c)))
        .flat_map(|(t, c)| {
            c.services.iter().filter_map(move |offered| {
                t.containers
                    .iter()
                    .flat_map(|c| &c.port_mappings)
                    .find(|m| m.name == offered.port_name)
                    .map(|m| m.container_port)
            })
        })
        .collect::<BTreeSet<u16>>()
        .into_iter()
        .collect();
    if settings.security_groups.is_some() && !connect_ports.is_empty() {
        let ports: Vec<String> = connect_ports.iter().map(u16::to_string).collect();
        cx.diagnostics.push(
                Diagnostic::warning(
                    Code::ConnectIngress,
                    KeyPath::root().key("x-ecs").key("security_groups"),
                    format!(
                        "tasks reach each other through Service Connect on TCP {} (and compose lets them use any port); the security groups in `x-ecs.security_groups` must admit traffic from themselves",
                        ports.join(", ")
                    ),
                )
                .with_help("add those ingress rules to your security groups, or leave `security_groups` out and use the base stack's"),
            );
    }
    let namespace = tasks
        .iter()
        .any(|t| t.service_connect.is_some())
        .then(|| cx.project.name.clone());
    let task_role_arn = cx.deferred("TaskRoleArn", Source::Stack("base"));

    Deployment {
        cluster: settings.cluster.clone().unwrap_or_else(|| cx.project.name.clone()),
        create_cluster: settings.cluster.is_none(),
        region,
        vpc: settings.vpc.clone(),
        private_subnets: settings.subnets.clone(),
        public_subnets: settings.public_subnets.clone(),
        subnets,
        security_groups,
        assign_public_ip: settings.assign_public_ip,
        execution_role_arn: cx.deferred("TaskExecutionRoleArn", Source::Stack("base")),
        task_role_arn: task_role_arn.clone(),
        log_group: format!("/ecs/{}", cx.project.name),
        log_retention_days: infrastructure::log_retention_days(cx),
        namespace,
        task_group_admits_itself: one_network
            && (!connect_ports.is_empty()
                || tasks.len() > 1
                || tasks
                    .iter()
                    .any(|t| t.desired_count > 1 || t.autoscaling.as_ref().is_some_and(|a| a.max > 1))),
        connect_ports,
        tag_propagation: TagPropagation {
            from: TagSource::Service,
            reason: "the ECS service's tags (the project's, and its services' `deploy.labels`) reach its tasks, so a search or a cost report by tag finds the tasks too".into(),
        },
        registry_credentials: registry_credentials(tasks),
        task_roles: task_roles(&task_role_arn, tasks),
    }
}

/// The project's shared task role (ECS Exec's channels when a task using it has it on), then the
/// roles of the tasks that have their own.
fn task_roles(shared_arn: &DeployValue, tasks: &[TaskGroup]) -> Vec<TaskRole> {
    let shared = TaskRole {
        logical_id: "TaskRole".into(),
        task: None,
        arn: shared_arn.clone(),
        managed_policies: Vec::new(),
        statements: Vec::new(),
        exec: tasks
            .iter()
            .any(|t| t.operations.role.is_none() && t.operations.exec.is_some()),
        policies_path: None,
    };
    std::iter::once(shared)
        .chain(tasks.iter().filter_map(|t| t.operations.role.clone()))
        .collect()
}

/// The secrets the containers pull their images with, as the execution role's policy names them
/// (a secret's ARN without its random suffix matches any suffix), sorted and each once.
fn registry_credentials(tasks: &[TaskGroup]) -> Vec<String> {
    let resources: BTreeSet<String> = tasks
        .iter()
        .flat_map(|t| &t.containers)
        .filter_map(|c| c.repository_credentials.as_deref())
        .filter_map(|arn| match secrets::policy_resource(arn) {
            PolicyResource::SecretsManager(resource) => Some(resource),
            _ => None,
        })
        .collect();
    resources.into_iter().collect()
}

/// The tasks log to `x-ecs.region`, and the base stack made their log group in its own region
/// (its `Region` output): two regions mean tasks that cannot start.
fn check_stacks_region(cx: &mut Context, region: &str) {
    let Some(deployed) = cx.known.get("Region").filter(|deployed| *deployed != region) else {
        return;
    };
    cx.diagnostics.push(
        Diagnostic::error(
            Code::RegionMismatch,
            KeyPath::root().key("x-ecs").key("region"),
            format!("`x-ecs.region` is `{region}`, but the stacks are deployed in `{deployed}` (their `Region` output)"),
        )
        .with_help("set `x-ecs.region` to the stacks' region, or deploy the stacks in that region (and remove the saved outputs of the others)"),
    );
}

#[cfg(test)]
mod rollout_tests {
    use super::*;
    use crate::plan::testing::{project, run};

    #[test]
    fn a_task_with_volumes_stops_old_copies_first() {
        let project = project("services:\n  db: {image: postgres, deploy: {replicas: 2}}\n");
        let members: Vec<&Service> = project.services.iter().collect();
        let (free, codes) = run(&project, |cx| rollout(cx, "db", &members, false, 2));
        assert_eq!((free.maximum_percent, free.minimum_healthy_percent), (200, 100));
        assert!(codes.is_empty());
        let (bound, codes) = run(&project, |cx| rollout(cx, "db", &members, true, 2));
        assert_eq!((bound.maximum_percent, bound.minimum_healthy_percent), (100, 0));
        assert_eq!(codes, vec![Code::SharedVolumeCopies]);
    }

    #[test]
    fn a_rollout_a_service_sets_wins_and_is_checked() {
        let rollout_of = |compose: &str, volumes: bool| {
            let project = project(compose);
            let members: Vec<&Service> = project.services.iter().collect();
            let (rollout, codes) = run(&project, |cx| rollout(cx, "app", &members, volumes, 1));
            ((rollout.minimum_healthy_percent, rollout.maximum_percent), codes)
        };
        let set = "services:\n  a: {image: a, x-ecs: {rollout: {minimum_healthy_percent: 50}}}\n";
        assert_eq!(
            rollout_of(set, false),
            ((50, 200), vec![]),
            "the other percent stays the plan's"
        );
        // Docker's ECS integration's percents, under update_config.
        let docker =
            "services:\n  a: {image: a, deploy: {update_config: {x-aws-min_percent: 50, x-aws-max_percent: 200}}}\n";
        assert_eq!(rollout_of(docker, false), ((50, 200), vec![]));
        assert_eq!(
            rollout_of(docker, true).1,
            [Code::SharedVolumeCopies],
            "new copies beside old ones on the same files"
        );
        let stuck =
            "services:\n  a: {image: a, x-ecs: {rollout: {minimum_healthy_percent: 100, maximum_percent: 100}}}\n";
        assert_eq!(rollout_of(stuck, false).1, [Code::BadSetting]);
        // With one copy, 25% keeps 1 (rounded up) and 125% allows 1 (rounded down): stuck too.
        let rounded =
            "services:\n  a: {image: a, deploy: {update_config: {x-aws-min_percent: 25, x-aws-max_percent: 125}}}\n";
        assert_eq!(rollout_of(rounded, false).1, [Code::BadSetting]);
        // Fine at 2 copies, stuck at 1, which autoscaling may scale down to.
        let scaled = "services:\n  a: {image: a, x-ecs: {autoscaling: {min: 1, max: 4, cpu: 70}, rollout: {minimum_healthy_percent: 50, maximum_percent: 150}}}\n";
        let with_copies = |compose: &str, copies: u32| {
            let project = project(compose);
            let members: Vec<&Service> = project.services.iter().collect();
            run(&project, |cx| rollout(cx, "app", &members, false, copies)).1
        };
        assert_eq!(with_copies(scaled, 2), [Code::BadSetting]);
        assert_eq!(with_copies(&scaled.replace("min: 1", "min: 2"), 2), []);
        let two = "services:\n  a: {image: a, x-ecs: {rollout: {maximum_percent: 200}}}\n  b: {image: b, x-ecs: {rollout: {maximum_percent: 100}}}\n";
        assert_eq!(rollout_of(two, false), ((100, 200), vec![Code::TaskSettingConflict]));
    }

    #[test]
    fn settings_win_over_the_base_stack_and_known_values_fill_placeholders() {
        let project = project(
            "x-ecs: {region: eu-west-1, subnets: [subnet-1, subnet-2], cluster: shared}\nservices:\n  a: {image: a}\n",
        );
        let (deployment, _) = run(&project, |cx| deployment(cx, &[], true));
        assert_eq!(deployment.region, DeployValue::Known("eu-west-1".into()));
        assert_eq!(deployment.subnets.len(), 2);
        assert_eq!(deployment.cluster, "shared");
        assert!(!deployment.create_cluster);
        assert_eq!(
            deployment.security_groups,
            vec![DeployValue::Placeholder("TaskSecurityGroupId".into())]
        );
        assert_eq!(deployment.namespace, None);
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::Plan;

    fn plan(compose: &str) -> Plan {
        crate::test_conversion(compose).plan.expect("it converts")
    }

    #[test]
    fn every_rollout_rolls_a_failed_deployment_back() {
        let plan = plan(
            "services:\n  web:\n    image: nginx\n  db:\n    image: postgres:16\n    volumes: [\"data:/var/lib/postgresql/data\"]\nvolumes:\n  data: {}\n",
        );
        let rollouts: Vec<_> = plan.tasks.iter().map(|t| (t.name.as_str(), &t.rollout)).collect();
        assert_eq!(rollouts.len(), 2);
        for (task, rollout) in rollouts {
            let breaker = &rollout.circuit_breaker;
            assert!(breaker.enable && breaker.rollback, "{task}: {breaker:?}");
            assert!(!breaker.reason.is_empty());
        }
        // The task with volumes stops its old copy first: the breaker is what brings it back.
        let db = plan.tasks.iter().find(|t| t.name == "db").unwrap();
        assert_eq!(db.rollout.minimum_healthy_percent, 0);
    }

    #[test]
    fn tasks_get_the_tags_of_their_service() {
        let plan = plan("services:\n  web:\n    image: nginx\n    deploy:\n      labels: {team: shop}\n");
        let propagation = &plan.deployment.tag_propagation;
        assert_eq!(propagation.from, super::TagSource::Service);
        assert!(propagation.reason.contains("deploy.labels"), "{}", propagation.reason);
    }
}
