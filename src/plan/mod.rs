//! Plan: every decision about the deployment, made once and recorded with its reason.
//!
//! Grouping (which task each service joins), hostname resolution, ports, sizes, volumes and the
//! values only the deployed stacks know are all decided here; `emit` only renders the Plan.

mod cloud_map;
mod containers;
mod dependencies;
mod deployment;
pub mod fargate;
mod grouping;
pub mod hostnames;
mod images;
pub mod infrastructure;
mod load_balancer;
mod managed;
mod model;
mod mounts;
mod names;
mod network_load_balancer;
mod one_shot;
mod operations;
pub mod passwords;
mod ports;
mod references;
mod role_policies;
mod runtime;
mod secrets;
mod secrets_writer;
mod security_groups;
mod service_connect;
pub mod shell;
mod sizing;
mod stacks;
mod volumes;
pub mod wellknown;

use grouping::{GroupedTask, Grouping};
use names::task_name;
pub use names::{container_name, logical_id};
use ports::port_mapping;
pub use ports::{Exposure, PortPlan};

use crate::diagnostic::{Code, Diagnostic, Diagnostics, KeyPath};
use crate::load::stack_outputs::SavedOutputs;
use crate::normalise::units;
use crate::normalise::{Condition, Project, Protocol, Service};
pub use cloud_map::{CloudMapPlan, CloudMapService};
pub use images::{EcrRepository, ImageBuild};
pub use infrastructure::{AutoscalingPlan, EfsMount, EfsPlan, ScalingMetric, ScalingPolicyPlan, TargetHealthCheck};
pub use load_balancer::{HttpsPlan, Listener, ListenerRule, TargetGroup, SSL_POLICY};
pub use managed::{ConnectionString, ManagedDatabase, ManagedService};
pub use model::*;
pub use network_load_balancer::{NetworkListener, NetworkLoadBalancer, TaskIngress};
pub use operations::{TaskOperations, TaskRole};
pub use stacks::{
    efs_part_has_policy, efs_part_volumes, secrets_part, ParameterSource, StackKind, StackParameter, StackPlan,
    ACCESS_POINTS_PER_STACK,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Values the deployment already knows, by placeholder name (the stacks' outputs).
pub type KnownValues = BTreeMap<String, String>;

/// Plans the project, step by step: each step computes one concern as a value, and each task is
/// assembled once from them at the end. Returns `None` when an error was reported.
pub fn plan(project: &Project, saved: &SavedOutputs, diagnostics: &mut Diagnostics) -> Option<Plan> {
    let cx = &mut Context {
        project,
        known: &saved.values,
        saved,
        diagnostics,
        missing: BTreeSet::new(),
    };

    // 1. Which task each ECS-run service joins, and why; the dependencies between services.
    let grouping = grouping::group(cx)?;
    dependencies::check_dependencies(cx);
    let external = grouping::external_services(cx);
    let mut managed = managed::databases(cx);
    if cx.diagnostics.has_errors() {
        return None;
    }

    // 2. Per task: its containers as compose describes them.
    let mut drafts: Vec<TaskDraft> = grouping
        .tasks()
        .map(|(_, task)| TaskDraft {
            name: task.name.clone(),
            containers: containers::of_task(cx, task, &grouping),
        })
        .collect();

    one_shot::check_one_shots(cx, &grouping);
    let peers = cloud_map::peers(cx, &drafts);

    // 3. Every value that names a service is rewritten to what reaches it on ECS, and every name
    //    of every listening service is offered through Service Connect. Then each task's copies,
    //    size (with its Service Connect proxy) and rollout.
    let references::Resolved {
        references,
        named_in_files,
        service_connect,
    } = references::resolve(cx, &grouping, &mut drafts, &peers, &managed);
    managed::connect(cx, &mut drafts, &references, &mut managed);
    cloud_map::qualify_ellipses(&peers, &mut drafts);
    let shapes: Vec<TaskShape> = grouping
        .tasks()
        .zip(&drafts)
        .zip(&service_connect)
        .map(|(((_, task), draft), connect)| task_shape(cx, task, &draft.containers, connect.is_some()))
        .collect();

    // 4. Secrets: variables that hold one become ECS secrets; files are written by a container;
    //    what ECS takes no secret for stays in plain text, recorded with how the plan shows it.
    let (secrets, plain_secrets) = secrets::secrets(cx, &mut drafts, &shapes);
    let secret_stacks = secrets::stacks(cx, &secrets);

    // 5. What ECS refuses in one task.
    drafts.iter().for_each(|task| check_what_ecs_refuses(cx, task));
    if drafts.is_empty() {
        grouping::nothing_to_run(cx);
        return None;
    }

    // 6. Published ports behind the load balancers; named volumes on EFS.
    let (listeners, network_load_balancer, load_balancing) = load_balancer::listeners(cx, &drafts);
    let https = load_balancer::https_plan(cx, &listeners);
    let (volumes, task_volumes) = volumes::volumes(cx, &drafts);
    let efs = (!volumes.is_empty()).then(|| infrastructure::efs_plan(cx, &volumes));
    let (network_groups, task_network_groups) = security_groups::network_groups(cx, &grouping);
    let (cloud_map, registries) = cloud_map::cloud_map(cx, &peers, &drafts);

    // 7. Each task assembled once.
    let decided = PerTask {
        service_connect,
        load_balancing,
        volumes: task_volumes,
        plain_secrets,
        network_groups: task_network_groups,
        registries,
    };
    let tasks = assemble(project, drafts, shapes, decided);
    check_unique_ids(cx, &tasks, "autoscaling.yaml", |t| {
        t.autoscaling.as_ref().map(|a| a.logical_id.as_str())
    });
    check_unique_ids(cx, &tasks, "base.yaml", |t| {
        t.operations.role.as_ref().map(|r| r.logical_id.as_str())
    });
    infrastructure::check_family_lengths(cx, &tasks);

    // 8. The order to create the services in, and where they run.
    let creation_order = dependencies::creation_order(cx, &tasks, &references, &named_in_files, &grouping);
    let deployment = deployment::deployment(cx, &tasks, network_groups.is_empty());
    if cx.diagnostics.has_errors() {
        return None;
    }
    cx.warn_placeholders();
    let mut plan = Plan {
        project: project.name.clone(),
        load_balanced_ports: load_balancer::load_balanced_ports(&listeners),
        public_ports: load_balancer::load_balancer_ports(&listeners, https.as_ref()),
        creation_order,
        tasks,
        external,
        managed,
        references,
        volumes,
        secrets,
        secret_stacks,
        efs,
        listeners,
        https,
        network_load_balancer,
        cloud_map,
        deployment,
        missing: std::mem::take(&mut cx.missing).into_iter().collect(),
        network_groups,
        stacks: vec![],
        builds: vec![],
        overlays: vec![],
    };
    plan.stacks = stacks::stacks(&plan);
    plan.overlays = stacks::overlays(cx, &mut plan.stacks);
    role_policies::check(cx, &plan);
    plan.builds = images::builds(project, &plan.tasks);
    Some(plan)
}

/// What the steps decided for each task, by task (in the order of the drafts).
struct PerTask {
    service_connect: Vec<Option<ServiceConnect>>,
    load_balancing: Vec<load_balancer::TaskLoadBalancing>,
    volumes: Vec<Vec<TaskVolume>>,
    plain_secrets: Vec<Vec<PlainSecret>>,
    network_groups: Vec<Vec<DeployValue>>,
    registries: Vec<Option<DeployValue>>,
}

/// Each task from its draft, its shape and what the steps decided for it.
fn assemble(project: &Project, drafts: Vec<TaskDraft>, shapes: Vec<TaskShape>, decided: PerTask) -> Vec<TaskGroup> {
    let per_task = decided
        .service_connect
        .into_iter()
        .zip(decided.load_balancing)
        .zip(decided.volumes)
        .zip(decided.plain_secrets)
        .zip(decided.network_groups)
        .zip(decided.registries);
    drafts
        .into_iter()
        .zip(shapes)
        .zip(per_task)
        .map(|((draft, shape), per_task)| {
            let (((((service_connect, load_balancing), volumes), plain_secrets), mut network_groups), service_registry) =
                per_task;
            network_groups.extend(load_balancing.security_groups);
            TaskGroup {
                family: format!("{}-{}", project.name, draft.name),
                service_name: names::ecs_service_name(&project.name, &draft.name),
                name: draft.name,
                containers: draft.containers,
                size: shape.size,
                desired_count: shape.desired_count,
                rollout: shape.rollout,
                volumes,
                tags: shape.tags,
                cpu_architecture: shape.cpu_architecture,
                load_balancers: load_balancing.targets,
                health_check_grace_period: load_balancing.grace_period,
                service_connect,
                network_groups,
                service_registry,
                autoscaling: shape.autoscaling,
                operations: shape.operations,
                plain_secrets,
            }
        })
        .collect()
}

/// Two tasks whose names differ only in characters a logical id drops (`my-api`, `my_api`) would
/// give their resources in `template` (a scalable target, a role) one id: an error.
fn check_unique_ids(cx: &mut Context, tasks: &[TaskGroup], template: &str, id_of: impl Fn(&TaskGroup) -> Option<&str>) {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for task in tasks {
        let Some(id) = id_of(task) else { continue };
        if let Some(other) = seen.insert(id, &task.name) {
            cx.diagnostics.push(
                Diagnostic::error(
                    Code::NameCollision,
                    cx.task_path(&task.containers),
                    format!(
                        "tasks `{other}` and `{}` get the same name in {template} (`{id}`)",
                        task.name
                    ),
                )
                .with_help("rename one of them with `x-ecs.task`"),
            );
        }
    }
}

/// What ECS refuses in one task: two containers on one port, kernel parameters, no essential
/// container, too many containers.
fn check_what_ecs_refuses(cx: &mut Context, task: &TaskDraft) {
    ports::check_port_collisions(cx, task);
    runtime::check_system_controls(cx, task);
    containers::check_essentials(cx, task);
    containers::check_container_count(cx, task);
}

/// A task while its containers are planned: its ECS name and its containers in compose order.
struct TaskDraft {
    name: String,
    containers: Vec<Container>,
}

/// How many copies a task runs, how big each is, and how new ones replace old ones.
struct TaskShape {
    desired_count: u32,
    autoscaling: Option<AutoscalingPlan>,
    size: TaskSize,
    rollout: Rollout,
    cpu_architecture: Option<CpuArchitecture>,
    tags: Vec<(String, String)>,
    operations: TaskOperations,
}

fn task_shape(cx: &mut Context, task: &GroupedTask, containers: &[Container], proxy: bool) -> TaskShape {
    let members = &task.members;
    let mounts_shared_volume = containers.iter().flat_map(|c| &c.mounts).any(|m| !m.task_storage);
    let replicas = sizing::desired_count(cx, members);
    let (autoscaling, desired_count) =
        infrastructure::autoscaling(cx, &task.name, members, replicas, mounts_shared_volume);
    TaskShape {
        size: sizing::size(cx, &task.name, members, proxy),
        rollout: deployment::rollout(cx, &task.name, members, mounts_shared_volume, desired_count),
        desired_count,
        autoscaling,
        cpu_architecture: runtime::cpu_architecture(cx, members),
        tags: runtime::service_tags(cx, members),
        operations: operations::operations(cx, &task.name, members),
    }
}

/// What every step shares: the project, the values the stacks already gave, the diagnostics,
/// and the placeholders the output needs.
struct Context<'p, 'd> {
    project: &'p Project,
    known: &'p KnownValues,
    /// The stacks already deployed, and which gave each value.
    saved: &'p SavedOutputs,
    diagnostics: &'d mut Diagnostics,
    missing: BTreeSet<MissingValue>,
}

/// Where the value of a placeholder comes from.
enum Source {
    /// An output of one of the generated stacks (`base`, `efs`, `alb`).
    Stack(&'static str),
    /// An output of a stack of a kind past its first (`efs-2`).
    StackPart(&'static str, u32),
    /// A top-level `x-ecs` setting, else an output of a stack.
    SettingOrStack(&'static str, &'static str),
    /// Something only the user has, described.
    User(String),
}

impl Context<'_, '_> {
    /// A value from the stacks' outputs, or its placeholder (recorded as missing with where it comes from).
    fn deferred(&mut self, name: &str, from: Source) -> DeployValue {
        match self.known.get(name) {
            Some(value) => DeployValue::Known(value.clone()),
            None => {
                let (stack, setting, note) = match from {
                    Source::Stack(stack) => (Some(stack.to_string()), None, None),
                    Source::StackPart(kind, part) => (Some(stacks::part_label(kind, part)), None, None),
                    Source::SettingOrStack(setting, stack) => (Some(stack.to_string()), Some(setting), None),
                    Source::User(note) => (None, None, Some(note)),
                };
                self.missing.insert(MissingValue {
                    name: name.to_string(),
                    stack,
                    setting: setting.map(str::to_string),
                    note,
                });
                DeployValue::Placeholder(name.to_string())
            }
        }
    }

    /// That a value `deferred` from the first stack of a kind comes from a later one: where it
    /// comes from is known only once every item of the kind is (secrets are found task by task).
    fn defer_to_part(&mut self, name: &str, kind: &'static str, part: u32) {
        let first = MissingValue {
            name: name.to_string(),
            stack: None,
            setting: None,
            note: None,
        };
        let Some(recorded) = self.missing.range(first..).next().filter(|m| m.name == name).cloned() else {
            return; // Known from the saved outputs: no placeholder.
        };
        self.missing.remove(&recorded);
        self.missing.insert(MissingValue {
            stack: Some(stacks::part_label(kind, part)),
            ..recorded
        });
    }

    /// A word on the values only the deployed stacks know.
    fn warn_placeholders(&mut self) {
        if self.missing.is_empty() {
            return;
        }
        // Hundreds of volumes or ports make as many placeholders: a line lists so many.
        let names = crate::quote::placeholders(self.missing.iter().map(|m| m.name.as_str()));
        self.diagnostics.push(
            Diagnostic::warning(
                Code::Placeholder,
                KeyPath::root(),
                format!("the output has placeholders for values that exist only once the stacks are deployed: {names}"),
            )
            .with_help("`compose2ecs deploy` deploys the stacks and fills each placeholder from their outputs (saved in the output folder's `stacks/`, which `convert` reads); `x-ecs` gives region, subnets and security_groups directly"),
        );
    }

    /// Where a diagnostic about a whole task points: its first service.
    fn task_path(&self, containers: &[Container]) -> KeyPath {
        self.project
            .service(&containers[0].service)
            .map_or_else(KeyPath::root, |service| service.path.clone())
    }
}

#[cfg(test)]
pub(super) mod testing {
    //! What the plan's unit tests share: a project from compose text, and a context over it.

    use super::*;
    use crate::source::MemoryFiles;
    use crate::Input;
    use std::path::PathBuf;

    /// The normalised project of `compose`, the `compose.yaml` of a folder named `app`.
    pub(in crate::plan) fn project(compose: &str) -> Project {
        let path = PathBuf::from("compose.yaml");
        let mut files = MemoryFiles::default();
        files.0.insert(path.clone(), compose.as_bytes().to_vec());
        let input = Input {
            compose_files: vec![path],
            directory_name: Some("app".to_string()),
            ..Input::default()
        };
        let mut diagnostics = Diagnostics::default();
        let loaded = crate::load::load(&input, &files, &mut diagnostics).expect("it loads");
        let project = crate::normalise::normalise(&loaded, &[], &files, &mut diagnostics);
        assert!(!diagnostics.has_errors(), "{diagnostics:?}");
        project.expect("it normalises")
    }

    /// Runs `step` over `project` with no known values; returns its result and the codes said.
    pub(in crate::plan) fn run<'p, T>(
        project: &'p Project,
        step: impl FnOnce(&mut Context<'p, '_>) -> T,
    ) -> (T, Vec<Code>) {
        static SAVED: SavedOutputs = SavedOutputs::empty();
        let mut diagnostics = Diagnostics::default();
        let result = {
            let cx = &mut Context {
                project,
                known: &SAVED.values,
                saved: &SAVED,
                diagnostics: &mut diagnostics,
                missing: BTreeSet::new(),
            };
            step(cx)
        };
        (result, diagnostics.iter().map(|d| d.code).collect())
    }
}
