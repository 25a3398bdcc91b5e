//! Grouping: which ECS task each service joins, and why; the services that run outside ECS.

use super::*;
use crate::diagnostic::Code;
use std::collections::HashSet;

/// A task's place in the plan: tasks are in the order of their first service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct TaskId(pub(super) usize);

/// Which task each ECS-run service joins, and the rule that put it there.
pub(super) struct Grouping<'p> {
    /// Each task's ECS name and its services in compose order, by `TaskId`.
    pub(super) tasks: Vec<GroupedTask<'p>>,
    /// Service name → its task, its place among the task's containers, and why it is there.
    placement: HashMap<&'p str, Placement>,
}

/// A task of the grouping: its ECS name and its services in compose order.
pub(super) struct GroupedTask<'p> {
    pub(super) name: String,
    pub(super) members: Vec<&'p Service>,
}

struct Placement {
    task: TaskId,
    container: usize,
    reason: GroupReason,
}

impl<'p> Grouping<'p> {
    /// The task of an ECS-run service; `None` for a service outside ECS or of no such name.
    pub(super) fn task_of(&self, service: &str) -> Option<TaskId> {
        self.placement.get(service).map(|p| p.task)
    }

    /// The task of an ECS-run service and its container's index in the task.
    pub(super) fn slot_of(&self, service: &str) -> Option<(TaskId, usize)> {
        self.placement.get(service).map(|p| (p.task, p.container))
    }

    /// Why an ECS-run service is in its task.
    pub(super) fn reason(&self, service: &str) -> GroupReason {
        self.placement
            .get(service)
            .map_or(GroupReason::Alone, |p| p.reason.clone())
    }

    /// The ECS name of an ECS-run service's task.
    pub(super) fn task_name(&self, service: &str) -> Option<&str> {
        self.task_of(service).map(|id| self.tasks[id.0].name.as_str())
    }

    /// Whether two services run in the same task (both on ECS).
    pub(super) fn together(&self, a: &str, b: &str) -> bool {
        matches!((self.task_of(a), self.task_of(b)), (Some(x), Some(y)) if x == y)
    }

    /// The tasks with their ids.
    pub(super) fn tasks(&self) -> impl Iterator<Item = (TaskId, &GroupedTask<'p>)> {
        self.tasks.iter().enumerate().map(|(index, task)| (TaskId(index), task))
    }
}

/// The task of every ECS-run service, with the rule that put it there.
pub(super) fn group<'p>(cx: &mut Context<'p, '_>) -> Option<Grouping<'p>> {
    let mut tasks: HashMap<String, (String, GroupReason)> = HashMap::new();
    let mut spellings: HashMap<String, String> = HashMap::new();
    let mut containers: HashMap<String, &str> = HashMap::new();
    // Each service's task as written, once found: a chain of `network_mode` is walked once.
    let mut followed: HashMap<String, Option<String>> = HashMap::new();
    for service in &cx.project.services {
        warn_several_families(cx, service);
        if let Some(outside) = service.outside_ecs() {
            if let Some((_, path, _)) = explicit_task(service) {
                cx.diagnostics.push(
                    Diagnostic::error(
                        Code::ConflictingGrouping,
                        path.clone(),
                        format!("`{}` is `{outside}`, so it has no task to join", service.name),
                    )
                    .with_help(format!("remove the task name, or `{outside}`")),
                );
            }
            continue;
        }
        let Some(written) = follow_network_mode(cx, service, &mut followed) else {
            continue;
        };
        // ECS names drop the dots compose allows, so two spellings may meet: `a.b` and `a-b`.
        let task = task_name(&written);
        let task_clash = spellings.get(&task).is_some_and(|other| *other != written);
        if task_clash {
            cx.diagnostics.push(
                Diagnostic::error(
                    Code::NameCollision,
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
            cx.diagnostics.push(
                Diagnostic::error(
                    Code::NameCollision,
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
    check_joined_tasks(cx, &tasks);
    if cx.diagnostics.has_errors() {
        return None;
    }
    Some(Grouping::new(cx.project, tasks))
}

/// A service that names its task and also shares another's network must name that one's task.
fn check_joined_tasks(cx: &mut Context, tasks: &HashMap<String, (String, GroupReason)>) {
    for service in &cx.project.services {
        let (Some((name, path, _)), Some((target, _))) = (explicit_task(service), &service.joins) else {
            continue;
        };
        let joined = tasks.get(target).map(|(task, _)| task.as_str());
        if joined.is_some_and(|joined| joined != task_name(name)) {
            cx.diagnostics.push(
                    Diagnostic::error(
                        Code::ConflictingGrouping,
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
}

impl<'p> Grouping<'p> {
    /// Tasks in the order of their first service; containers in compose order.
    fn new(project: &'p Project, mut tasks: HashMap<String, (String, GroupReason)>) -> Self {
        let mut grouping = Grouping {
            tasks: Vec::new(),
            placement: HashMap::new(),
        };
        let mut ids: HashMap<String, TaskId> = HashMap::new();
        for service in &project.services {
            let Some((task, reason)) = tasks.remove(&service.name) else {
                continue;
            };
            let id = match ids.get(&task) {
                Some(id) => *id,
                None => {
                    let id = TaskId(grouping.tasks.len());
                    ids.insert(task.clone(), id);
                    grouping.tasks.push(GroupedTask {
                        name: task,
                        members: Vec::new(),
                    });
                    id
                }
            };
            grouping.tasks[id.0].members.push(service);
            grouping.placement.insert(
                &service.name,
                Placement {
                    task: id,
                    container: grouping.tasks[id.0].members.len() - 1,
                    reason,
                },
            );
        }
        grouping
    }
}

/// The task of `service` as written (not yet an ECS name): its own name for it, else the task of
/// the service whose network it shares (through a chain of `network_mode: service:X`), else
/// its own name.
fn follow_network_mode(
    cx: &mut Context,
    service: &Service,
    followed: &mut HashMap<String, Option<String>>,
) -> Option<String> {
    let project = cx.project;
    let mut chain = vec![service.name.as_str()];
    let mut on_chain: HashMap<&str, usize> = HashMap::from([(service.name.as_str(), 0)]);
    let mut current = service;
    let found = loop {
        if let Some(known) = followed.get(&current.name) {
            break known.clone();
        }
        if let Some((task, _, _)) = explicit_task(current) {
            break Some(task.clone());
        }
        let Some((target, path)) = &current.joins else {
            break Some(current.name.clone());
        };
        let Some(next) = project.service(target) else {
            cx.diagnostics.push(
                Diagnostic::error(
                    Code::UnknownService,
                    path.clone(),
                    format!("`network_mode: service:{target}` names no service of this project"),
                )
                .with_help("name a service defined under `services:`"),
            );
            break None;
        };
        if let Some(outside) = next.outside_ecs() {
            cx.diagnostics.push(
                Diagnostic::error(
                    Code::ConflictingGrouping,
                    path.clone(),
                    format!(
                        "`{}` shares the network of `{target}`, which is `{outside}` and has no task",
                        current.name
                    ),
                )
                .with_help(format!("remove `network_mode: service:{target}`")),
            );
            break None;
        }
        if let Some(&first) = on_chain.get(next.name.as_str()) {
            report_network_mode_circle(cx, &chain[first..]);
            break None;
        }
        on_chain.insert(&next.name, chain.len());
        chain.push(&next.name);
        current = next;
    };
    for name in chain {
        followed.insert(name.to_string(), found.clone());
    }
    found
}

/// A circle of `network_mode: service:` (each member sharing the next one's network), reported
/// once, from its member written first, at the `network_mode` that leads back to it.
fn report_network_mode_circle(cx: &mut Context, circle: &[&str]) {
    let project = cx.project;
    let members: HashSet<&str> = circle.iter().copied().collect();
    let Some(reporter) = project.services.iter().find(|s| members.contains(s.name.as_str())) else {
        return;
    };
    let mut names = vec![reporter.name.as_str()];
    let mut current = reporter;
    while let Some((target, path)) = &current.joins {
        names.push(target);
        let Some(next) = project.service(target).filter(|_| target != &reporter.name) else {
            cx.diagnostics.push(
                Diagnostic::error(
                    Code::NetworkModeCycle,
                    path.clone(),
                    format!("`network_mode: service:` goes round in a circle: {}", names.join(" → ")),
                )
                .with_help("one service of the group must own the network; remove `network_mode` from it"),
            );
            return;
        };
        current = next;
    }
}

/// The settings of a service outside ECS (`x-ecs.external` or `x-ecs.managed`) that have no task
/// to apply to.
pub(super) fn warn_unused_keys_of_external(cx: &mut Context, service: &Service) {
    let outside = service.outside_ecs().unwrap_or("x-ecs.external");
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
        cx.diagnostics.push(
            Diagnostic::warning(
                Code::UnusedSetting,
                path,
                format!(
                    "`x-ecs.{key}` of `{}` is not used: the service runs outside ECS (`{outside}`)",
                    service.name
                ),
            )
            .with_help(format!(
                "remove `{key}`, or `{outside}` if the service should run on ECS"
            )),
        );
    }
    let managed = service.ecs.managed.is_some(); // its own warning says what is not made
    if !managed && (!service.ports.is_empty() || !service.port_ranges.is_empty() || !service.mounts.is_empty()) {
        cx.diagnostics.push(Diagnostic::note(
            Code::ExternalService,
            service.path.key("x-ecs").key("external"),
            format!(
                "`{}` runs outside ECS: no container is made for it, and its ports and volumes are not converted",
                service.name
            ),
        ));
    }
}

/// The services that run outside ECS (`x-ecs.external`), each with a word on what of it is unused.
pub(super) fn external_services(cx: &mut Context) -> Vec<ExternalService> {
    let project = cx.project;
    let mut external = Vec::new();
    for service in &project.services {
        let Some(endpoint) = &service.ecs.external else {
            continue;
        };
        external.push(ExternalService {
            service: service.name.clone(),
            host: endpoint.host.clone(),
            port: endpoint.port,
        });
        warn_unused_keys_of_external(cx, service);
    }
    external
}

/// Every service is outside ECS or behind an inactive profile.
pub(super) fn nothing_to_run(cx: &mut Context) {
    let project = cx.project;
    let why = if project.inactive.is_empty() {
        "every service runs outside ECS (`x-ecs.external` or `x-ecs.managed`)".to_string()
    } else {
        let names: Vec<&str> = project.inactive.iter().map(|s| s.name.as_str()).collect();
        format!("every service is behind an inactive profile ({})", names.join(", "))
    };
    cx.diagnostics.push(
        Diagnostic::error(
            Code::NothingToRun,
            KeyPath::root().key("services"),
            format!("there is nothing to run on ECS: {why}"),
        )
        .with_help("activate a profile with `--profile NAME`, or convert the file that defines the services"),
    );
}

/// The task a service names for itself: `x-ecs.task`, else the `ecs.task.family` deploy label.
fn explicit_task(service: &Service) -> Option<(&String, &KeyPath, GroupReason)> {
    if let Some((task, path)) = &service.ecs.task {
        return Some((task, path, GroupReason::XEcsTask { task: task.clone() }));
    }
    let (families, path) = service.family_label.as_ref()?;
    let family = &families[0];
    Some((family, path, GroupReason::FamilyLabel { family: family.clone() }))
}

/// The `ecs.task.family` label may list several families (`a, b`), as ECS ComposeX allows; a
/// container runs in one task here, so the service joins the first, with a warning.
fn warn_several_families(cx: &mut Context, service: &Service) {
    let Some((families, path)) = &service.family_label else {
        return;
    };
    if families.len() > 1 {
        cx.diagnostics.push(
            Diagnostic::warning(
                Code::SeveralFamilies,
                path.clone(),
                format!(
                    "`ecs.task.family` lists several task families; the service joins the first, `{}`",
                    families[0]
                ),
            )
            .with_help("a container runs in one ECS task here; keep one family in the label"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::{project, run};

    fn tasks(grouping: &Grouping) -> Vec<(String, Vec<String>)> {
        grouping
            .tasks()
            .map(|(_, t)| (t.name.clone(), t.members.iter().map(|s| s.name.clone()).collect()))
            .collect()
    }

    #[test]
    fn each_service_alone_unless_a_rule_groups_it() {
        let project = project(
            "services:\n  web: {image: a, x-ecs: {task: front}}\n  db: {image: b}\n  \
             proxy: {image: c, x-ecs: {task: front}}\n  sidecar: {image: d, network_mode: \"service:db\"}\n  \
             cache: {image: e, x-ecs: {external: \"cache.example.com:6379\"}}\n",
        );
        let (grouping, codes) = run(&project, |cx| group(cx).expect("groups"));
        assert!(codes.is_empty(), "{codes:?}");
        // Tasks in the order of their first service, containers in compose order.
        assert_eq!(
            tasks(&grouping),
            vec![
                ("front".to_string(), vec!["web".to_string(), "proxy".to_string()]),
                ("db".to_string(), vec!["db".to_string(), "sidecar".to_string()]),
            ]
        );
        assert!(grouping.together("web", "proxy") && grouping.together("db", "sidecar"));
        assert!(!grouping.together("web", "db"));
        assert_eq!(grouping.task_of("cache"), None);
        assert_eq!(grouping.slot_of("sidecar"), Some((TaskId(1), 1)));
        assert_eq!(
            grouping.reason("sidecar"),
            GroupReason::NetworkMode { service: "db".into() }
        );
        assert_eq!(grouping.reason("web"), GroupReason::XEcsTask { task: "front".into() });
        assert_eq!(grouping.reason("db"), GroupReason::Alone);
    }

    #[test]
    fn names_that_meet_on_ecs_and_contradicting_rules_are_refused() {
        let dotted = project("services:\n  a.b: {image: a}\n  a-b: {image: b}\n");
        let (grouping, codes) = run(&dotted, group);
        assert!(grouping.is_none());
        assert_eq!(codes, vec![Code::NameCollision]);

        let project = project(
            "services:\n  db: {image: b}\n  side: {image: d, network_mode: \"service:db\", x-ecs: {task: other}}\n",
        );
        let (grouping, codes) = run(&project, group);
        assert!(grouping.is_none());
        assert_eq!(codes, vec![Code::ConflictingGrouping]);
    }

    #[test]
    fn a_family_label_listing_several_joins_the_first_with_a_word() {
        let project = project(
            "services:\n  web: {image: a, deploy: {labels: {ecs.task.family: 'front, other'}}}\n  \
             api: {image: b, deploy: {labels: {ecs.task.family: front}}}\n",
        );
        let (grouping, codes) = run(&project, |cx| group(cx).expect("groups"));
        assert_eq!(
            tasks(&grouping),
            vec![("front".to_string(), vec!["web".to_string(), "api".to_string()])]
        );
        assert_eq!(
            grouping.reason("web"),
            GroupReason::FamilyLabel { family: "front".into() }
        );
        assert_eq!(codes, vec![Code::SeveralFamilies]);
    }

    #[test]
    fn a_network_mode_circle_is_reported_once() {
        let project = project(
            "services:\n  a: {image: a, network_mode: \"service:b\"}\n  b: {image: b, network_mode: \"service:a\"}\n",
        );
        let (grouping, codes) = run(&project, group);
        assert!(grouping.is_none());
        assert_eq!(codes, vec![Code::NetworkModeCycle]);
    }

    #[test]
    fn nothing_on_ecs_is_an_error_that_says_why() {
        let project = project("services:\n  db: {image: b, x-ecs: {external: \"db.example.com:5432\"}}\n");
        let (external, codes) = run(&project, external_services);
        assert_eq!(external.len(), 1);
        assert_eq!(external[0].host, "db.example.com");
        assert_eq!(external[0].port, Some(5432));
        assert!(codes.is_empty());
        let ((), codes) = run(&project, nothing_to_run);
        assert_eq!(codes, vec![Code::NothingToRun]);
    }
}
