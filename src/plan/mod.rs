//! Plan: every decision about the deployment, made once and recorded with its reason.
//!
//! Grouping (which task each service joins), hostname resolution, ports, sizes, volumes and the
//! values only the deployed stacks know are all decided here; `emit` only renders the Plan.

pub mod fargate;
pub mod hostnames;
pub mod infrastructure;
mod load_balancer;
mod model;
mod references;
mod runtime;
mod secrets;
mod shell;
pub mod wellknown;

use crate::diagnostic::{Diagnostic, Diagnostics, KeyPath};
use crate::normalise::units;
use crate::normalise::{Condition, Project, Protocol, Service};
use indexmap::IndexMap;
pub use infrastructure::{AutoscalingPlan, EfsPlan, TargetHealthCheck};
pub use load_balancer::{HttpsPlan, Listener, ListenerRule, TargetGroup, SSL_POLICY};
pub use model::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The longest path of an EFS access point's root directory.
const MAXIMUM_ACCESS_POINT_PATH: usize = 100;

/// Values the deployment already knows, by placeholder name (the stacks' outputs).
pub type KnownValues = BTreeMap<String, String>;

/// Plans the project. Returns `None` when an error was reported.
pub fn plan(project: &Project, known: &KnownValues, diagnostics: &mut Diagnostics) -> Option<Plan> {
    let mut planner = Planner {
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

struct Planner<'a> {
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

impl Planner<'_> {
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
        let tasks_of = self.group()?;
        self.check_dependencies();
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
            self.warn_unused_keys_of_external(service);
        }

        let mut tasks: Vec<TaskGroup> = Vec::new();
        for (task_name, members) in members_of {
            let containers: Vec<Container> = members
                .iter()
                .map(|s| self.container(s, tasks_of[&s.name].1.clone(), &tasks_of))
                .collect();
            let mounts_shared_volume = containers.iter().flat_map(|c| &c.mounts).any(|m| !m.task_storage);
            let replicas = self.desired_count(&members);
            let (autoscaling, desired_count) = self.autoscaling(task_name, &members, replicas, mounts_shared_volume);
            tasks.push(TaskGroup {
                name: task_name.to_string(),
                family: format!("{}-{}", project.name, task_name),
                service_name: format!("{}-{}", project.name, task_name),
                size: self.size(task_name, &members),
                rollout: self.rollout(task_name, &members, mounts_shared_volume, desired_count),
                desired_count,
                containers,
                volumes: Vec::new(),
                cpu_architecture: self.cpu_architecture(&members),
                tags: self.service_tags(&members),
                load_balancers: Vec::new(),
                health_check_grace_period: None,
                service_connect: None,
                autoscaling,
            });
        }
        self.check_autoscaling_names(&tasks);
        self.check_family_lengths(&tasks);

        let references = references::resolve(self, &mut tasks, &tasks_of);
        for task in &mut tasks {
            runtime::unique_task_storage_names(task);
        }
        let secrets = self.secrets(&mut tasks);
        for task in &mut tasks {
            self.check_port_collisions(task);
            self.check_system_controls(task);
            self.essentials(task);
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
        let (creation_order, circle) = creation_order(&tasks, &references, &tasks_of);
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
        let listeners = self.listeners(&mut tasks);
        let https = self.https_plan(&listeners);
        let volumes = self.volumes(&mut tasks);
        let efs = (!volumes.is_empty()).then(|| self.efs_plan());
        let deployment = self.deployment(&tasks);
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

    /// The task of every ECS-run service, with the rule that put it there.
    fn group(&mut self) -> Option<HashMap<String, (String, GroupReason)>> {
        let mut tasks: HashMap<String, (String, GroupReason)> = HashMap::new();
        let mut spellings: HashMap<String, String> = HashMap::new();
        let mut containers: HashMap<String, &str> = HashMap::new();
        for service in &self.project.services {
            if service.ecs.external.is_some() {
                if let Some((_, path, _)) = explicit_task(service) {
                    self.diagnostics.push(
                        Diagnostic::error(
                            "conflicting-grouping",
                            path.clone(),
                            format!("`{}` is `x-ecs.external`, so it has no task to join", service.name),
                        )
                        .with_help("remove the task name, or `x-ecs.external`"),
                    );
                }
                continue;
            }
            let Some(written) = self.follow_network_mode(service) else {
                continue;
            };
            // ECS names drop the dots compose allows, so two spellings may meet: `a.b` and `a-b`.
            let task = task_name(&written);
            let task_clash = spellings.get(&task).is_some_and(|other| *other != written);
            if task_clash {
                self.diagnostics.push(
                    Diagnostic::error(
                        "name-collision",
                        service.path.clone(),
                        format!(
                            "tasks `{}` and `{written}` get the same ECS name `{task}`",
                            spellings[&task]
                        ),
                    )
                    .with_help("rename one of them; ECS names use letters, digits, `-` and `_`"),
                );
            } else {
                spellings.insert(task.clone(), written);
            }
            let container = container_name(&service.name);
            let other = containers.insert(container.clone(), &service.name);
            if let Some(other) = other.filter(|_| !task_clash) {
                self.diagnostics.push(
                    Diagnostic::error(
                        "name-collision",
                        service.path.clone(),
                        format!(
                            "services `{other}` and `{}` get the same ECS container name `{container}`",
                            service.name
                        ),
                    )
                    .with_help("rename one of them; ECS names use letters, digits, `-` and `_`"),
                );
            }
            let reason = match (explicit_task(service), &service.joins) {
                (Some((_, _, reason)), _) => reason,
                (None, Some((target, _))) => GroupReason::NetworkMode {
                    service: target.clone(),
                },
                (None, None) => GroupReason::Alone,
            };
            tasks.insert(service.name.clone(), (task, reason));
        }
        // A service that names its task and also shares another's network must name that one's task.
        for service in &self.project.services {
            let (Some((name, path, _)), Some((target, _))) = (explicit_task(service), &service.joins) else {
                continue;
            };
            let joined = tasks.get(target).map(|(task, _)| task.as_str());
            if joined.is_some_and(|joined| joined != task_name(name)) {
                self.diagnostics.push(
                    Diagnostic::error(
                        "conflicting-grouping",
                        path.clone(),
                        format!(
                            "`{}` shares the network of `{target}` (task `{}`), but its task name `{name}` puts it in another task",
                            service.name,
                            joined.unwrap_or_default()
                        ),
                    )
                    .with_help(format!("name the same task for both, or remove `network_mode: service:{target}`")),
                );
            }
        }
        if self.diagnostics.has_errors() {
            return None;
        }
        Some(tasks)
    }

    /// The task of `service` as written (not yet an ECS name): its own name for it, else the task of
    /// the service whose network it shares (through a chain of `network_mode: service:X`), else
    /// its own name.
    fn follow_network_mode(&mut self, service: &Service) -> Option<String> {
        let mut chain = vec![service.name.as_str()];
        let mut current = service;
        loop {
            if let Some((task, _, _)) = explicit_task(current) {
                return Some(task.clone());
            }
            let Some((target, path)) = &current.joins else {
                return Some(current.name.clone());
            };
            let Some(next) = self.project.service(target) else {
                self.diagnostics.push(
                    Diagnostic::error(
                        "unknown-service",
                        path.clone(),
                        format!("`network_mode: service:{target}` names no service of this project"),
                    )
                    .with_help("name a service defined under `services:`"),
                );
                return None;
            };
            if next.ecs.external.is_some() {
                self.diagnostics.push(
                    Diagnostic::error(
                        "conflicting-grouping",
                        path.clone(),
                        format!(
                            "`{}` shares the network of `{target}`, which is `x-ecs.external` and has no task",
                            current.name
                        ),
                    )
                    .with_help(format!("remove `network_mode: service:{target}`")),
                );
                return None;
            }
            let seen = chain.iter().position(|name| *name == next.name);
            chain.push(&next.name);
            if let Some(first) = seen {
                // Each member of the circle finds it: report it once, from its first member.
                let circle = &chain[first..chain.len() - 1];
                let reporter = self.project.services.iter().find(|s| circle.contains(&s.name.as_str()));
                if reporter.is_none_or(|r| r.name != service.name) {
                    return None;
                }
                self.diagnostics.push(
                    Diagnostic::error(
                        "network-mode-cycle",
                        path.clone(),
                        format!("`network_mode: service:` goes round in a circle: {}", chain.join(" → ")),
                    )
                    .with_help("one service of the group must own the network; remove `network_mode` from it"),
                );
                return None;
            }
            current = next;
        }
    }

    fn check_dependencies(&mut self) {
        let project = self.project;
        for service in &project.services {
            for link in &service.links {
                if project.service(&link.service).is_none() {
                    self.diagnostics.push(
                        Diagnostic::error(
                            "unknown-service",
                            link.path.clone(),
                            format!(
                                "`{}` links to `{}`, which is not a service of this project",
                                service.name, link.service
                            ),
                        )
                        .with_help("write `SERVICE` or `SERVICE:ALIAS` with a service defined under `services:`"),
                    );
                }
            }
            for dependency in &service.depends_on {
                let inactive = project.inactive.iter().find(|i| i.name == dependency.service);
                if let (Some(inactive), true) = (inactive, dependency.required) {
                    self.diagnostics.push(
                        Diagnostic::error(
                            "inactive-dependency",
                            dependency.path.clone(),
                            format!(
                                "`{}` depends on `{}`, whose profiles ({}) are not active",
                                service.name,
                                dependency.service,
                                inactive.profiles.join(", ")
                            ),
                        )
                        .with_help(format!(
                            "activate its profile with `--profile {}`",
                            inactive.profiles[0]
                        )),
                    );
                } else if project.service(&dependency.service).is_none() && !dependency.required {
                    self.diagnostics.push(Diagnostic::note(
                        "optional-dependency",
                        dependency.path.clone(),
                        format!(
                            "`{}` depends on `{}` with `required: false`; {}, so the dependency is left out",
                            service.name,
                            dependency.service,
                            if inactive.is_some() {
                                "its profiles are not active"
                            } else {
                                "there is no such service"
                            }
                        ),
                    ));
                } else if project.service(&dependency.service).is_none() {
                    self.diagnostics.push(
                        Diagnostic::error(
                            "unknown-service",
                            dependency.path.clone(),
                            format!(
                                "`{}` depends on `{}`, which is not a service of this project",
                                service.name, dependency.service
                            ),
                        )
                        .with_help("name a service defined under `services:`"),
                    );
                }
            }
        }
        // Depth-first search for a cycle; each service is finished once, so this is linear.
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Open,
            Done,
        }
        let index: HashMap<&str, usize> = project
            .services
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), i))
            .collect();
        let mut marks = vec![Mark::New; project.services.len()];
        for start in 0..project.services.len() {
            if marks[start] != Mark::New {
                continue;
            }
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            marks[start] = Mark::Open;
            while let Some((node, edge)) = stack.last().copied() {
                let dependencies = &project.services[node].depends_on;
                if edge == dependencies.len() {
                    marks[node] = Mark::Done;
                    stack.pop();
                    continue;
                }
                stack.last_mut().expect("not empty").1 += 1;
                let Some(&next) = index.get(dependencies[edge].service.as_str()) else {
                    continue;
                };
                match marks[next] {
                    Mark::New => {
                        marks[next] = Mark::Open;
                        stack.push((next, 0));
                    }
                    Mark::Open => {
                        let from = stack.iter().position(|(n, _)| *n == next).unwrap_or(0);
                        let mut cycle: Vec<&str> = stack[from..]
                            .iter()
                            .map(|(n, _)| project.services[*n].name.as_str())
                            .collect();
                        cycle.push(&project.services[next].name);
                        self.diagnostics.push(
                            Diagnostic::error(
                                "depends-cycle",
                                dependencies[edge].path.clone(),
                                format!("`depends_on` goes round in a circle: {}", cycle.join(" → ")),
                            )
                            .with_help("remove one of these dependencies; nothing could start first"),
                        );
                    }
                    Mark::Done => {}
                }
            }
        }
    }

    fn warn_unused_keys_of_external(&mut self, service: &Service) {
        let settings = [
            service
                .ecs
                .autoscaling
                .as_ref()
                .map(|a| ("autoscaling", a.path.clone())),
            service
                .ecs
                .load_balancer
                .as_ref()
                .map(|r| ("load_balancer", r.path.clone())),
        ];
        for (key, path) in settings.into_iter().flatten() {
            self.diagnostics.push(
                Diagnostic::warning(
                    "unused-setting",
                    path,
                    format!(
                        "`x-ecs.{key}` of `{}` is not used: the service runs outside ECS (`x-ecs.external`)",
                        service.name
                    ),
                )
                .with_help(format!(
                    "remove `{key}`, or `external` if the service should run on ECS"
                )),
            );
        }
        if !service.ports.is_empty() || !service.mounts.is_empty() {
            self.diagnostics.push(Diagnostic::note(
                "external-service",
                service.path.key("x-ecs").key("external"),
                format!(
                    "`{}` runs outside ECS: no container is made for it, and its ports and volumes are not converted",
                    service.name
                ),
            ));
        }
    }

    fn container(
        &mut self,
        service: &Service,
        grouping: GroupReason,
        tasks_of: &HashMap<String, (String, GroupReason)>,
    ) -> Container {
        let image = match (&service.image, &self.project.settings.registry) {
            (Some(image), _) => DeployValue::Known(image.clone()),
            (None, Some(registry)) => {
                let tag = self.project.settings.image_tag.as_deref().unwrap_or("latest");
                // Compose names a built image `PROJECT-SERVICE`; the registry is where it is pushed.
                // Repository names are lower case; compose's project names are already.
                let repository = format!("{}-{}", self.project.name, service.name.to_ascii_lowercase());
                let image = format!("{registry}/{repository}:{tag}");
                let image_word = shell::word(&image);
                let ecr_repository = match registry.split_once('/') {
                    Some((_, prefix)) => format!("{prefix}/{repository}"),
                    None => repository.clone(),
                };
                self.diagnostics.push(
                    Diagnostic::note(
                        "built-image",
                        service.path.key("build"),
                        format!("`{}` is built locally; the task runs `{image}`", service.name),
                    )
                    .with_help(format!(
                        "before you register the task definition, create the repository `{ecr_repository}` (`aws ecr create-repository --repository-name {}`) and push the image: `docker compose build {} && docker tag {} {image_word} && docker push {image_word}`",
                        shell::word(&ecr_repository),
                        shell::word(&service.name),
                        shell::word(&format!("{}-{}", self.project.name, service.name)),
                    )),
                );
                DeployValue::Known(image)
            }
            (None, None) => {
                let name = format!("{}Image", logical_id(&service.name));
                self.diagnostics.push(
                    Diagnostic::warning(
                        "build-without-image",
                        service.path.key("build"),
                        format!(
                            "`{}` is built locally and names no image; ECS needs an image in a registry",
                            service.name
                        ),
                    )
                    .with_help("name the registry the images are pushed to in the top-level `x-ecs: {registry: ACCOUNT.dkr.ecr.REGION.amazonaws.com/APP}`, or the image in `image:`"),
                );
                self.deferred(
                    &name,
                    Source::User(format!("the image of `{}` after you push it", service.name)),
                )
            }
        };
        let mut port_mappings: Vec<PortMapping> = Vec::new();
        for port in &service.ports {
            let mapping = port_mapping(&service.name, port.target, port.protocol);
            if !port_mappings.contains(&mapping) {
                port_mappings.push(mapping);
            }
        }
        let own_task = &tasks_of[&service.name].0;
        let mut depends_on = Vec::new();
        for dependency in &service.depends_on {
            let Some(target) = self.project.service(&dependency.service) else {
                continue;
            };
            match tasks_of.get(&target.name) {
                Some((task, _)) if task == own_task => {
                    let condition = if dependency.condition == Condition::ServiceHealthy && target.healthcheck.is_none() {
                        self.diagnostics.push(Diagnostic::warning(
                            "healthy-without-healthcheck",
                            dependency.path.clone(),
                            format!("`{}` waits for `{}` to be healthy, but `{}` has no healthcheck; it waits for it to start instead", service.name, target.name, target.name),
                        ).with_help(format!("give `{}` a `healthcheck`", target.name)));
                        Condition::ServiceStarted
                    } else {
                        dependency.condition
                    };
                    depends_on.push((container_name(&target.name), condition));
                }
                Some((task, _)) if dependency.condition == Condition::ServiceCompletedSuccessfully => {
                    self.diagnostics.push(
                        Diagnostic::warning(
                            "one-shot-alone",
                            dependency.path.clone(),
                            format!(
                                "`{}` runs to completion before `{}` starts, but it is in task `{task}` of its own; an ECS service restarts a container that exits, forever",
                                target.name, service.name
                            ),
                        )
                        .with_help(format!(
                            "put `{}` in the task of `{}` with `x-ecs: {{task: {own_task}}}`, so it runs once each time that task starts",
                            target.name, service.name
                        )),
                    )
                }
                Some((task, _)) => self.diagnostics.push(Diagnostic::note(
                    "cross-task-dependency",
                    dependency.path.clone(),
                    format!("`{}` depends on `{}` in task `{task}`; ECS starts services independently, so this order is not kept", service.name, target.name),
                ).with_help("make the app retry its connections, or put both services in one task with `x-ecs.task`")),
                None => self.diagnostics.push(Diagnostic::note(
                    "cross-task-dependency",
                    dependency.path.clone(),
                    format!("`{}` depends on `{}`, which runs outside ECS; the order is not kept", service.name, target.name),
                )),
            }
        }
        let (mounts, tmpfs) = self.mounts(service);
        let volumes_from = self.volumes_from(service, tasks_of);
        let health_check = service.healthcheck.as_ref().map(|h| self.health_check(h));
        let mut capabilities_add = Vec::new();
        for (capability, path) in &service.cap_add {
            if capability == FARGATE_ADDABLE_CAPABILITY {
                capabilities_add.push(capability.clone());
            } else {
                self.diagnostics.push(
                    Diagnostic::warning(
                        "fargate-capability",
                        path.clone(),
                        format!(
                            "Fargate lets a container add only the `SYS_PTRACE` capability; `{capability}` is left out"
                        ),
                    )
                    .with_help("if the container cannot work without it, it cannot run on Fargate"),
                );
            }
        }
        let resources = service.resources;
        Container {
            name: container_name(&service.name),
            service: service.name.clone(),
            grouping,
            image,
            command: service.command.clone(),
            entrypoint: service.entrypoint.clone(),
            environment: service
                .environment
                .iter()
                .map(|v| (v.name.clone(), v.value.clone()))
                .collect(),
            secrets: Vec::new(),
            port_mappings,
            port_ranges: service
                .port_ranges
                .iter()
                .map(|r| PortRangeMapping {
                    first: r.first,
                    last: r.last,
                    protocol: r.protocol,
                })
                .collect(),
            health_check,
            depends_on,
            essential: service.ecs.essential.unwrap_or(true),
            mounts,
            tmpfs,
            volumes_from,
            capabilities_add,
            capabilities_drop: service.cap_drop.clone(),
            cpu: resources.cpu_limit.map(|c| units::round_u32(c * 1024.0)),
            memory: resources.memory_limit_mib.map(|m| u32::try_from(m).unwrap_or(u32::MAX)),
            memory_reservation: resources
                .memory_reservation_mib
                .map(|m| u32::try_from(m).unwrap_or(u32::MAX)),
            runtime: self.runtime(service),
        }
    }

    fn health_check(&mut self, check: &crate::normalise::Healthcheck) -> HealthCheck {
        let mut clamp = |field: &str, value: Option<u64>, low: u64, high: u64| {
            let value = value?;
            let clamped = value.clamp(low, high);
            if clamped != value {
                self.diagnostics.push(
                    Diagnostic::warning(
                        "healthcheck-clamped",
                        check.path.key(field),
                        format!("ECS takes a health check `{field}` from {low} to {high}; {value} becomes {clamped}"),
                    )
                    .with_help(format!("write a value from {low} to {high}")),
                );
            }
            Some(clamped)
        };
        let seconds = |d: Option<std::time::Duration>| d.map(|d| units::ceil_u64(d.as_secs_f64()));
        HealthCheck {
            command: check.command.clone(),
            interval: clamp("interval", seconds(check.interval), 5, 300),
            timeout: clamp("timeout", seconds(check.timeout), 2, 60),
            retries: clamp("retries", check.retries, 1, 10),
            start_period: clamp("start_period", seconds(check.start_period), 0, 300),
        }
    }

    fn desired_count(&mut self, members: &[&Service]) -> u32 {
        let counts: Vec<(u32, &KeyPath, &str)> = members
            .iter()
            .filter_map(|s| s.replicas.as_ref().map(|r| (r.count, &r.path, s.name.as_str())))
            .collect();
        let highest = counts.iter().map(|(c, _, _)| *c).max().unwrap_or(1);
        if let Some((_, path, _)) = counts.iter().find(|(c, _, _)| *c != highest) {
            let names: Vec<String> = counts.iter().map(|(c, _, n)| format!("{n}: {c}")).collect();
            self.diagnostics.push(
                Diagnostic::warning(
                    "replicas-differ",
                    (*path).clone(),
                    format!(
                        "services in one task run the same number of copies; the task runs {highest} ({})",
                        names.join(", ")
                    ),
                )
                .with_help("give the services of a task the same `deploy.replicas`, or put them in separate tasks"),
            );
        }
        if highest > 1 {
            let scaled_by = counts
                .iter()
                .find(|(c, _, _)| *c == highest)
                .map(|(_, path, name)| (*path, *name));
            for service in members
                .iter()
                .filter(|s| s.image.as_deref().is_some_and(wellknown::is_stateful_image))
            {
                let (path, why) = match scaled_by {
                    Some((_, name)) if name != service.name => (
                        service.path.key("image"),
                        format!("it shares a task with `{name}`, which runs {highest} copies"),
                    ),
                    Some((path, _)) => (path.clone(), format!("it runs {highest} copies")),
                    None => (service.path.key("image"), format!("its task runs {highest} copies")),
                };
                self.diagnostics.push(
                    Diagnostic::warning(
                        "stateful-scaled",
                        path,
                        format!(
                            "`{}` runs `{}`, which keeps state, and {why}: each copy gets a database of its own",
                            service.name,
                            service.image.as_deref().unwrap_or_default()
                        ),
                    )
                    .with_help(format!(
                        "run `{}` in a task of its own with one copy, or use a managed database with `x-ecs: {{external: \"host:port\"}}`",
                        service.name
                    )),
                );
            }
        }
        highest
    }

    /// awsvpc gives a task one network namespace: two containers cannot listen on one port.
    fn check_port_collisions(&mut self, task: &TaskGroup) {
        let mut owners: BTreeMap<(u16, Protocol), &str> = BTreeMap::new();
        for container in &task.containers {
            for mapping in &container.port_mappings {
                match owners.get(&(mapping.container_port, mapping.protocol)) {
                    Some(owner) => {
                        // Every container with ports is a compose service's (the secrets writer has none).
                        let path = self.project.service(&container.service).map_or_else(
                            || self.task_path(task),
                            |service| {
                                service
                                    .ports
                                    .iter()
                                    .find(|p| p.target == mapping.container_port && p.protocol == mapping.protocol)
                                    .map_or_else(|| service.path.clone(), |p| p.path.clone())
                            },
                        );
                        self.diagnostics.push(Diagnostic::error(
                            "port-collision",
                            path,
                            format!("`{owner}` and `{}` both listen on port {} in task `{}`; containers of one task share one network", container.service, mapping.container_port, task.name),
                        ).with_help("change one port, or put the services in separate tasks"));
                    }
                    None => {
                        owners.insert((mapping.container_port, mapping.protocol), &container.service);
                    }
                }
            }
        }
        // ECS refuses a port in two mappings, and overlapping ranges.
        let ranges: Vec<(&Container, &PortRangeMapping)> = task
            .containers
            .iter()
            .flat_map(|c| c.port_ranges.iter().map(move |r| (c, r)))
            .collect();
        for (index, (container, range)) in ranges.iter().enumerate() {
            let overlapping_range = ranges[..index]
                .iter()
                .find(|(_, other)| {
                    other.protocol == range.protocol && other.first <= range.last && range.first <= other.last
                })
                .map(|(other_container, other)| {
                    (
                        other_container.service.as_str(),
                        format!("the ports {}-{}", other.first, other.last),
                    )
                });
            let single_port = owners
                .range((range.first, range.protocol)..=(range.last, range.protocol))
                .find(|((_, protocol), _)| *protocol == range.protocol)
                .map(|((port, _), owner)| (*owner, format!("port {port}")));
            let Some((owner, what)) = overlapping_range.or(single_port) else {
                continue;
            };
            let path = self
                .project
                .service(&container.service)
                .and_then(|s| {
                    s.port_ranges
                        .iter()
                        .find(|r| r.first == range.first && r.last == range.last)
                })
                .map_or_else(|| self.task_path(task), |r| r.path.clone());
            self.diagnostics.push(
                Diagnostic::error(
                    "port-collision",
                    path,
                    format!(
                        "the ports {}-{} of `{}` overlap {what} of `{owner}` in task `{}`; ECS takes a port in one mapping only",
                        range.first, range.last, container.service, task.name
                    ),
                )
                .with_help("split the range around the port, or put the services in separate tasks"),
            );
        }
    }

    /// Where a diagnostic about a whole task points: its first service.
    fn task_path(&self, task: &TaskGroup) -> KeyPath {
        self.project
            .service(&task.containers[0].service)
            .map_or_else(KeyPath::root, |service| service.path.clone())
    }

    /// A one-shot container that others wait for to complete must be allowed to exit.
    fn essentials(&mut self, task: &mut TaskGroup) {
        let one_shots: BTreeSet<String> = task
            .containers
            .iter()
            .flat_map(|c| c.depends_on.iter())
            .filter(|(_, condition)| *condition == Condition::ServiceCompletedSuccessfully)
            .map(|(name, _)| name.clone())
            .collect();
        for container in &mut task.containers {
            if one_shots.contains(&container.name) {
                container.essential = false;
            }
        }
        if !task.containers.iter().any(|c| c.essential) {
            self.diagnostics.push(
                Diagnostic::error(
                    "no-essential-container",
                    self.task_path(task),
                    format!(
                        "every container of task `{}` may stop, but ECS needs at least one essential container",
                        task.name
                    ),
                )
                .with_help("remove `x-ecs.essential: false` from the container the task lives for"),
            );
        }
    }

    /// The smallest Fargate size that holds what the containers ask for (the larger of limit and
    /// reservation; a container with neither counts for nothing).
    fn size(&mut self, task: &str, members: &[&Service]) -> TaskSize {
        let cpu: f64 = members
            .iter()
            .map(|s| s.resources.cpu_limit.or(s.resources.cpu_reservation).unwrap_or(0.0))
            .sum();
        let memory: u64 = members
            .iter()
            .map(|s| {
                let r = &s.resources;
                r.memory_limit_mib.max(r.memory_reservation_mib).unwrap_or(0)
            })
            .sum();
        let cpu_units = units::ceil_u32(cpu * 1024.0);
        let memory = u32::try_from(memory).unwrap_or(u32::MAX);
        match fargate::smallest_fit(cpu_units, memory) {
            Some((task_cpu, task_memory)) => {
                let reason = if cpu_units == 0 && memory == 0 {
                    "no deploy.resources: the smallest Fargate size".to_string()
                } else {
                    format!("the containers ask for {cpu_units} CPU units and {memory} MiB: the smallest Fargate size that fits")
                };
                TaskSize {
                    cpu: task_cpu,
                    memory: task_memory,
                    reason,
                }
            }
            None => {
                self.diagnostics.push(Diagnostic::error(
                    "too-big-for-fargate",
                    members[0].path.key("deploy").key("resources"),
                    format!("task `{task}` asks for {cpu_units} CPU units and {memory} MiB; the largest Fargate task has 16384 units and 122880 MiB"),
                ).with_help("lower `deploy.resources`, or split the services into separate tasks"));
                TaskSize {
                    cpu: 0,
                    memory: 0,
                    reason: "too big for Fargate".to_string(),
                }
            }
        }
    }

    /// How ECS replaces the task's copies; with volumes, never two at once on the same files.
    fn rollout(&mut self, task: &str, members: &[&Service], mounts_volumes: bool, copies: u32) -> Rollout {
        if !mounts_volumes {
            return Rollout {
                maximum_percent: 200,
                minimum_healthy_percent: 100,
                reason: "new tasks start before old ones stop".into(),
            };
        }
        if copies > 1 {
            let service = members.iter().find(|s| s.replicas.is_some()).unwrap_or(&members[0]);
            let path = service
                .replicas
                .as_ref()
                .map_or_else(|| service.path.clone(), |r| r.path.clone());
            self.diagnostics.push(
                Diagnostic::warning(
                    "shared-volume-copies",
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
        }
    }

    /// An EFS access point per named volume some task mounts, and the task definitions' volumes.
    fn volumes(&mut self, tasks: &mut [TaskGroup]) -> Vec<VolumePlan> {
        let shared_by = |task: &TaskGroup| -> BTreeSet<String> {
            task.containers
                .iter()
                .flat_map(|c| c.mounts.iter().filter(|m| !m.task_storage).map(|m| m.volume.clone()))
                .collect()
        };
        let used: BTreeSet<String> = tasks.iter().flat_map(shared_by).collect();
        let mut volumes: Vec<VolumePlan> = Vec::new();
        let mut ids: BTreeMap<String, &str> = BTreeMap::new();
        for volume in &self.project.volumes {
            let ecs_name = task_name(&volume.name);
            if !used.contains(&ecs_name) {
                continue;
            }
            let logical = format!("AccessPoint{}", logical_id(&volume.name));
            if let Some(other) = ids.insert(logical.clone(), &volume.name) {
                self.diagnostics.push(
                    Diagnostic::error(
                        "name-collision",
                        volume.path.clone(),
                        format!(
                            "volumes `{other}` and `{}` get the same name on ECS (`{logical}`)",
                            volume.name
                        ),
                    )
                    .with_help("rename one of them"),
                );
                continue;
            }
            // An access point's root directory is at most 100 characters.
            let folder_length = match &self.project.settings.infrastructure.file_system {
                Some(_) => self.project.name.len() + volume.name.len() + 2,
                None => volume.name.len() + 1,
            };
            if folder_length > MAXIMUM_ACCESS_POINT_PATH {
                self.diagnostics.push(
                    Diagnostic::error(
                        "name-too-long",
                        volume.path.clone(),
                        format!(
                            "volume `{}` would be a folder of {folder_length} characters on EFS, longer than the {MAXIMUM_ACCESS_POINT_PATH} of an access point's path",
                            volume.name
                        ),
                    )
                    .with_help("give the volume a shorter name"),
                );
                continue;
            }
            let access_point_id = self.deferred(&format!("{logical}Id"), Source::Stack("efs"));
            let mounted_by: Vec<&Service> = tasks
                .iter()
                .flat_map(|t| &t.containers)
                .filter(|c| c.mounts.iter().any(|m| !m.task_storage && m.volume == ecs_name))
                .filter_map(|c| self.project.service(&c.service))
                .collect();
            let owner = infrastructure::volume_owner(volume, &mounted_by);
            volumes.push(VolumePlan {
                owner_uid: owner.uid,
                owner_gid: owner.gid,
                owner_reason: owner.reason,
                posix_user: owner.posix_user,
                root_access: volume.ecs.root_access,
                name: volume.name.clone(),
                ecs_name,
                // A file system of the user's may hold other projects (or this one's other
                // environments): their folders stay apart under the project's name.
                root_directory: match &self.project.settings.infrastructure.file_system {
                    Some(_) => format!("/{}/{}", self.project.name, volume.name),
                    None => format!("/{}", volume.name),
                },
                logical_id: logical,
                access_point_id,
            });
        }
        let file_system_id = if volumes.is_empty() {
            None
        } else if let Some((id, _)) = &self.project.settings.infrastructure.file_system {
            Some(DeployValue::Known(id.clone()))
        } else {
            Some(self.deferred("FileSystemId", Source::Stack("efs")))
        };
        let by_name: HashMap<&str, &VolumePlan> = volumes.iter().map(|v| (v.ecs_name.as_str(), v)).collect();
        for task in tasks.iter_mut() {
            let shared = shared_by(task);
            let mut task_volumes: Vec<TaskVolume> = shared
                .iter()
                .filter_map(|name| {
                    let volume = by_name.get(name.as_str())?;
                    Some(TaskVolume {
                        name: name.clone(),
                        efs: Some(EfsVolume {
                            file_system_id: file_system_id.clone()?,
                            access_point_id: volume.access_point_id.clone(),
                        }),
                    })
                })
                .collect();
            let mut on_task_storage = BTreeSet::new();
            for container in &task.containers {
                for mount in container.mounts.iter().filter(|m| m.task_storage) {
                    // The secrets writer mounts each service's secrets volume too; names are
                    // unique in the task (`runtime::unique_task_storage_names`).
                    if !on_task_storage.insert(mount.volume.clone()) {
                        continue;
                    }
                    task_volumes.push(TaskVolume {
                        name: mount.volume.clone(),
                        efs: None,
                    });
                }
            }
            task.volumes = task_volumes;
        }
        volumes
    }

    fn deployment(&mut self, tasks: &[TaskGroup]) -> Deployment {
        let settings = &self.project.settings;
        let region = match &settings.region {
            Some(region) => DeployValue::Known(region.clone()),
            None => self.deferred("Region", Source::SettingOrStack("region", "base")),
        };
        let subnets = match &settings.subnets {
            Some(subnets) => subnets.iter().cloned().map(DeployValue::Known).collect(),
            // The base stack gives its subnet list as one comma-separated output.
            None => match self.deferred("PrivateSubnetIds", Source::SettingOrStack("subnets", "base")) {
                DeployValue::Known(list) => list
                    .split(',')
                    .map(|s| DeployValue::Known(s.trim().to_string()))
                    .collect(),
                placeholder => vec![placeholder],
            },
        };
        let security_groups = match &settings.security_groups {
            Some(groups) => groups.iter().cloned().map(DeployValue::Known).collect(),
            None => vec![self.deferred("TaskSecurityGroupId", Source::SettingOrStack("security_groups", "base"))],
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
            self.diagnostics.push(
                Diagnostic::warning(
                    "connect-ingress",
                    KeyPath::root().key("x-ecs").key("security_groups"),
                    format!(
                        "tasks reach each other through Service Connect on TCP {}; the security groups in `x-ecs.security_groups` must admit that from themselves",
                        ports.join(", ")
                    ),
                )
                .with_help("add those ingress rules to your security groups, or leave `security_groups` out and use the base stack's"),
            );
        }
        let namespace = tasks
            .iter()
            .any(|t| t.service_connect.is_some())
            .then(|| self.project.name.clone());

        Deployment {
            cluster: settings.cluster.clone().unwrap_or_else(|| self.project.name.clone()),
            create_cluster: settings.cluster.is_none(),
            region,
            subnets,
            security_groups,
            assign_public_ip: settings.assign_public_ip,
            execution_role_arn: self.deferred("TaskExecutionRoleArn", Source::Stack("base")),
            task_role_arn: self.deferred("TaskRoleArn", Source::Stack("base")),
            log_group: format!("/ecs/{}", self.project.name),
            log_retention_days: self.log_retention_days(),
            namespace,
            connect_ports,
        }
    }
}

/// The order to create the ECS services in: a service that others reach through Service Connect
/// before them, since a task resolves only the endpoints that existed when it started. Otherwise
/// compose order; services that reach each other in a circle keep compose order among themselves.
fn creation_order(
    tasks: &[TaskGroup],
    references: &[Reference],
    tasks_of: &HashMap<String, (String, GroupReason)>,
) -> (Vec<String>, Option<Vec<String>>) {
    let position: HashMap<&str, usize> = tasks.iter().enumerate().map(|(i, t)| (t.name.as_str(), i)).collect();
    // servers[i]: the tasks task i reaches through Service Connect.
    let mut servers: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); tasks.len()];
    for reference in references
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::ServiceConnect { .. }))
    {
        let client = tasks_of
            .get(&reference.service)
            .and_then(|(t, _)| position.get(t.as_str()));
        let server = tasks_of
            .get(&reference.target)
            .and_then(|(t, _)| position.get(t.as_str()));
        if let (Some(&client), Some(&server)) = (client, server) {
            if client != server {
                servers[client].insert(server);
            }
        }
    }
    // Depth-first, servers before their clients; a server met again while still open closes a
    // circle, which is reported once and otherwise left in compose order.
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        New,
        Open,
        Placed,
    }
    let mut order = Vec::with_capacity(tasks.len());
    let mut circle = None;
    let mut state = vec![State::New; tasks.len()];
    for start in 0..tasks.len() {
        if state[start] != State::New {
            continue;
        }
        let mut path: Vec<(usize, Vec<usize>)> = vec![(start, servers[start].iter().rev().copied().collect())];
        state[start] = State::Open;
        while let Some((task, pending)) = path.last_mut() {
            let task = *task;
            match pending.pop() {
                Some(server) if state[server] == State::New => {
                    state[server] = State::Open;
                    path.push((server, servers[server].iter().rev().copied().collect()));
                }
                Some(server) if state[server] == State::Open && circle.is_none() => {
                    let from = path.iter().position(|(t, _)| *t == server).unwrap_or(0);
                    let mut names: Vec<String> = path[from..]
                        .iter()
                        .map(|(t, _)| tasks[*t].service_name.clone())
                        .collect();
                    names.push(tasks[server].service_name.clone());
                    circle = Some(names);
                }
                Some(_) => {}
                None => {
                    state[task] = State::Placed;
                    order.push(tasks[task].service_name.clone());
                    path.pop();
                }
            }
        }
    }
    (order, circle)
}

/// The most containers ECS allows in one task definition.
const MAXIMUM_CONTAINERS: usize = 10;

/// The one Linux capability Fargate lets a container add.
const FARGATE_ADDABLE_CAPABILITY: &str = "SYS_PTRACE";

/// The task a service names for itself: `x-ecs.task`, else the `ecs.task.family` deploy label.
fn explicit_task(service: &Service) -> Option<(&String, &KeyPath, GroupReason)> {
    if let Some((task, path)) = &service.ecs.task {
        return Some((task, path, GroupReason::XEcsTask { task: task.clone() }));
    }
    let (family, path) = service.family_label.as_ref()?;
    Some((family, path, GroupReason::FamilyLabel { family: family.clone() }))
}

/// A name ECS accepts for a task family, a container or a volume: letters, digits, `-` and `_`
/// (compose also allows `.`, which becomes `-`; `plan` reports names that collide this way).
fn task_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// An ECS container name: letters, digits, `-` and `_` (compose also allows `.`).
pub fn container_name(service: &str) -> String {
    task_name(service)
}

/// A port mapping's name, which Service Connect refers to: lowercase, digits, `-` and `_`.
fn port_mapping(service: &str, port: u16, protocol: Protocol) -> PortMapping {
    // ECS allows 64 characters; `-65535-udp` needs 10. Within a task a port and protocol name one
    // mapping, so a shortened name stays unique there.
    let base: String = service
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '-' })
        .take(54)
        .collect();
    let name = match protocol {
        Protocol::Tcp => format!("{base}-{port}"),
        Protocol::Udp => format!("{base}-{port}-udp"),
    };
    PortMapping {
        name,
        container_port: port,
        protocol,
    }
}

/// A CloudFormation logical id part: `my-app.db` → `MyAppDb`.
pub fn logical_id(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase()).into_iter();
            first.chain(chars).collect::<String>()
        })
        .collect()
}
