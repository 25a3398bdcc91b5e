//! Plan: every decision about the deployment, made once and recorded with its reason.
//!
//! Grouping (which task each service joins), hostname resolution, ports, sizes, volumes and the
//! values only the deployed stacks know are all decided here; `emit` only renders the Plan.

mod containers;
mod dependencies;
mod deployment;
pub mod fargate;
mod grouping;
pub mod hostnames;
pub mod infrastructure;
mod load_balancer;
mod model;
mod names;
mod ports;
mod references;
mod runtime;
mod secrets;
mod shell;
mod sizing;
mod volumes;
pub mod wellknown;

use names::task_name;
pub use names::{container_name, logical_id};
use ports::port_mapping;

use crate::diagnostic::{Diagnostic, Diagnostics, KeyPath};
use crate::normalise::units;
use crate::normalise::{Condition, Project, Protocol, Service};
use indexmap::IndexMap;
pub use infrastructure::{AutoscalingPlan, EfsPlan, TargetHealthCheck};
pub use load_balancer::{HttpsPlan, Listener, ListenerRule, TargetGroup, SSL_POLICY};
pub use model::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Values the deployment already knows, by placeholder name (the stacks' outputs).
pub type KnownValues = BTreeMap<String, String>;

/// Plans the project. Returns `None` when an error was reported.
pub fn plan(project: &Project, known: &KnownValues, diagnostics: &mut Diagnostics) -> Option<Plan> {
    let mut planner = Context {
        project,
        known,
        diagnostics,
        missing: BTreeSet::new(),
    };
    let plan = planner.plan();
    if planner.diagnostics.has_errors() {
        return None;
    }
    plan
}

struct Context<'a> {
    project: &'a Project,
    known: &'a KnownValues,
    diagnostics: &'a mut Diagnostics,
    missing: BTreeSet<MissingValue>,
}

/// Where the value of a placeholder comes from.
enum Source {
    /// An output of one of the generated stacks (`base`, `efs`, `alb`).
    Stack(&'static str),
    /// A top-level `x-ecs` setting, else an output of a stack.
    SettingOrStack(&'static str, &'static str),
    /// Something only the user has, described.
    User(String),
}

impl Context<'_> {
    /// A value from the stacks' outputs, or its placeholder (recorded as missing with where it comes from).
    fn deferred(&mut self, name: &str, from: Source) -> DeployValue {
        match self.known.get(name) {
            Some(value) => DeployValue::Known(value.clone()),
            None => {
                let (stack, setting, note) = match from {
                    Source::Stack(stack) => (Some(stack), None, None),
                    Source::SettingOrStack(setting, stack) => (Some(stack), Some(setting), None),
                    Source::User(note) => (None, None, Some(note)),
                };
                self.missing.insert(MissingValue {
                    name: name.to_string(),
                    stack: stack.map(str::to_string),
                    setting: setting.map(str::to_string),
                    note,
                });
                DeployValue::Placeholder(name.to_string())
            }
        }
    }

    fn plan(&mut self) -> Option<Plan> {
        let project = self.project;
        let tasks_of = grouping::group(self)?;
        dependencies::check_dependencies(self);
        if self.diagnostics.has_errors() {
            return None;
        }

        // Tasks in the order of their first service; containers in compose order.
        let mut members_of: IndexMap<&str, Vec<&Service>> = IndexMap::new();
        for service in &project.services {
            if let Some((task, _)) = tasks_of.get(&service.name) {
                members_of.entry(task.as_str()).or_default().push(service);
            }
        }
        let external: Vec<ExternalService> = project
            .services
            .iter()
            .filter_map(|s| {
                s.ecs.external.as_ref().map(|e| ExternalService {
                    service: s.name.clone(),
                    host: e.host.clone(),
                    port: e.port,
                })
            })
            .collect();
        for service in project.services.iter().filter(|s| s.ecs.external.is_some()) {
            grouping::warn_unused_keys_of_external(self, service);
        }

        let mut tasks: Vec<TaskGroup> = Vec::new();
        for (task_name, members) in members_of {
            let containers: Vec<Container> = members
                .iter()
                .map(|s| containers::container(self, s, tasks_of[&s.name].1.clone(), &tasks_of))
                .collect();
            let mounts_shared_volume = containers.iter().flat_map(|c| &c.mounts).any(|m| !m.task_storage);
            let replicas = sizing::desired_count(self, &members);
            let (autoscaling, desired_count) =
                infrastructure::autoscaling(self, task_name, &members, replicas, mounts_shared_volume);
            tasks.push(TaskGroup {
                name: task_name.to_string(),
                family: format!("{}-{}", project.name, task_name),
                service_name: format!("{}-{}", project.name, task_name),
                size: sizing::size(self, task_name, &members),
                rollout: deployment::rollout(self, task_name, &members, mounts_shared_volume, desired_count),
                desired_count,
                containers,
                volumes: Vec::new(),
                cpu_architecture: runtime::cpu_architecture(self, &members),
                tags: runtime::service_tags(self, &members),
                load_balancers: Vec::new(),
                health_check_grace_period: None,
                service_connect: None,
                autoscaling,
            });
        }
        infrastructure::check_autoscaling_names(self, &tasks);
        infrastructure::check_family_lengths(self, &tasks);

        let references = references::resolve(self, &mut tasks, &tasks_of);
        for task in &mut tasks {
            runtime::unique_task_storage_names(task);
        }
        let secrets = secrets::secrets(self, &mut tasks);
        for task in &mut tasks {
            ports::check_port_collisions(self, task);
            runtime::check_system_controls(self, task);
            containers::essentials(self, task);
            if task.containers.len() > MAXIMUM_CONTAINERS {
                self.diagnostics.push(
                    Diagnostic::error(
                        "too-many-containers",
                        self.task_path(task),
                        format!(
                            "task `{}` has {} containers; ECS allows {MAXIMUM_CONTAINERS} in a task definition",
                            task.name,
                            task.containers.len()
                        ),
                    )
                    .with_help("split the services into more tasks with `x-ecs.task`"),
                );
            }
        }
        if tasks.is_empty() {
            let why = if project.inactive.is_empty() {
                "every service runs outside ECS (`x-ecs.external`)".to_string()
            } else {
                let names: Vec<&str> = project.inactive.iter().map(|s| s.name.as_str()).collect();
                format!("every service is behind an inactive profile ({})", names.join(", "))
            };
            self.diagnostics.push(
                Diagnostic::error(
                    "nothing-to-run",
                    KeyPath::root().key("services"),
                    format!("there is nothing to run on ECS: {why}"),
                )
                .with_help("activate a profile with `--profile NAME`, or convert the file that defines the services"),
            );
            return None;
        }
        let (creation_order, circle) = dependencies::creation_order(&tasks, &references, &tasks_of);
        if let Some(circle) = circle {
            self.diagnostics.push(
                Diagnostic::warning(
                    "connect-cycle",
                    KeyPath::root().key("services"),
                    format!("services reach each other in a circle through Service Connect ({}); whichever starts first cannot resolve the others", circle.join(" → ")),
                )
                .with_help(format!("after creating them all, run `aws ecs update-service --force-new-deployment` on `{}`", circle[0])),
            );
        }
        let listeners = load_balancer::listeners(self, &mut tasks);
        let https = load_balancer::https_plan(self, &listeners);
        let volumes = volumes::volumes(self, &mut tasks);
        let efs = (!volumes.is_empty()).then(|| infrastructure::efs_plan(self));
        let deployment = deployment::deployment(self, &tasks);
        if self.diagnostics.has_errors() {
            return None;
        }
        if !self.missing.is_empty() {
            let names: Vec<String> = self.missing.iter().map(|m| format!("{{{{{}}}}}", m.name)).collect();
            self.diagnostics.push(
                Diagnostic::warning(
                    "placeholder",
                    KeyPath::root(),
                    format!("the output has placeholders for values that exist only once the stacks are deployed: {}", names.join(", ")),
                )
                .with_help("deploy the CloudFormation stacks, then fill each placeholder from their outputs, as the README's deploy walk-through shows; `x-ecs` gives region, subnets and security_groups directly"),
            );
        }
        let load_balanced_ports = listeners
            .iter()
            .flat_map(|l| std::iter::once(&l.default_target).chain(l.rules.iter().map(|r| &r.target)))
            .map(|t| t.container_port)
            .collect::<BTreeSet<u16>>()
            .into_iter()
            .collect();
        Some(Plan {
            project: project.name.clone(),
            load_balanced_ports,
            creation_order,
            tasks,
            external,
            references,
            volumes,
            secrets,
            efs,
            listeners,
            https,
            deployment,
            missing: std::mem::take(&mut self.missing).into_iter().collect(),
        })
    }

    /// Where a diagnostic about a whole task points: its first service.
    fn task_path(&self, task: &TaskGroup) -> KeyPath {
        self.project
            .service(&task.containers[0].service)
            .map_or_else(KeyPath::root, |service| service.path.clone())
    }
}

/// The most containers ECS allows in one task definition.
const MAXIMUM_CONTAINERS: usize = 10;
