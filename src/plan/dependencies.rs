//! Dependencies: `links` and `depends_on` checked, and the order the ECS services are created in.

use super::*;
use crate::diagnostic::Code;

/// Every `links` and `depends_on` entry names a service that runs, and no dependencies go round.
pub(super) fn check_dependencies(cx: &mut Context) {
    check_named_services(cx);
    check_depends_cycle(cx);
}

fn check_named_services(cx: &mut Context) {
    let project = cx.project;
    for service in &project.services {
        for link in &service.links {
            if project.service(&link.service).is_none() {
                cx.diagnostics.push(
                    Diagnostic::error(
                        Code::UnknownService,
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
                cx.diagnostics.push(
                    Diagnostic::error(
                        Code::InactiveDependency,
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
                cx.diagnostics.push(Diagnostic::note(
                    Code::OptionalDependency,
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
                cx.diagnostics.push(
                    Diagnostic::error(
                        Code::UnknownService,
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
}

/// Depth-first search for a cycle; each service is finished once, so this is linear.
fn check_depends_cycle(cx: &mut Context) {
    let project = cx.project;
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
                    cx.diagnostics.push(
                        Diagnostic::error(
                            Code::DependsCycle,
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

/// The order to create the ECS services in: a service that others reach through Service Connect
/// before them, since a task resolves only the endpoints that existed when it started. Otherwise
/// compose order. A circle (services that reach each other) is broken where the search closes it:
/// the member written first is created after the others, and a `connect-cycle` warning says how to
/// let it resolve them.
pub(super) fn creation_order(
    cx: &mut Context,
    tasks: &[TaskGroup],
    references: &[Reference],
    named_in_files: &[(String, String)],
    grouping: &Grouping,
) -> Vec<String> {
    // servers[i]: the tasks task i reaches through Service Connect, or waits for (`depends_on`):
    // a client started before its server's endpoints exist does not know them.
    let mut servers: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); tasks.len()];
    let reached = references
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::ServiceConnect { .. }))
        .map(|r| (r.service.as_str(), r.target.as_str()));
    let awaited = cx
        .project
        .services
        .iter()
        .flat_map(|s| s.depends_on.iter().map(move |d| (s.name.as_str(), d.service.as_str())));
    let in_files = named_in_files.iter().map(|(c, t)| (c.as_str(), t.as_str()));
    for (client, server) in reached.chain(awaited).chain(in_files) {
        let client = grouping.task_of(client).map(|id| id.0);
        let server = grouping.task_of(server).map(|id| id.0);
        if let (Some(client), Some(server)) = (client, server) {
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
    // Where nothing says who reaches whom (a name baked into an image), data stores come first and
    // public front ends last, compose order between: a task knows only the Service Connect
    // endpoints that exist when it starts.
    let mut starts: Vec<usize> = (0..tasks.len()).collect();
    starts.sort_by_key(|&t| start_rank(cx, &tasks[t]));
    for start in starts {
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
    if let Some(circle) = circle {
        cx.diagnostics.push(
            Diagnostic::warning(
                Code::ConnectCycle,
                KeyPath::root().key("services"),
                format!("services reach each other in a circle through Service Connect ({}); whichever starts first cannot resolve the others", circle.join(" → ")),
            )
            .with_help(format!("after creating them all, run `aws ecs update-service --force-new-deployment` on `{}`", circle[0])),
        );
    }
    order
}

/// 0 for a task that runs a data store, 2 for one behind a load balancer, 1 for the others.
fn start_rank(cx: &Context, task: &TaskGroup) -> u8 {
    let stateful = task.containers.iter().any(|c| {
        cx.project
            .service(&c.service)
            .and_then(|s| s.image.as_deref())
            .is_some_and(wellknown::is_stateful_image)
    });
    match (stateful, task.load_balancers.is_empty()) {
        (true, _) => 0,
        (false, true) => 1,
        (false, false) => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::{project, run};

    #[test]
    fn dependencies_name_services_that_run_and_go_round_nowhere() {
        let project = project(
            "services:\n  web: {image: a, depends_on: [api, ghost], links: [nobody]}\n  \
             api: {image: b, depends_on: {web: {condition: service_started}}}\n  \
             opt: {image: c, depends_on: {gone: {condition: service_started, required: false}}}\n",
        );
        let ((), codes) = run(&project, check_dependencies);
        assert_eq!(
            codes,
            vec![
                Code::UnknownService,
                Code::UnknownService,
                Code::OptionalDependency,
                Code::DependsCycle
            ]
        );
    }

    #[test]
    fn servers_are_created_before_their_clients() {
        // `web` reaches `api`, which reaches `db`, each in a task of its own.
        let reaching = project(
            "services:\n  web: {image: a, environment: {API_URL: \"http://api:8080\"}}\n  \
             api: {image: b, expose: [\"8080\"], environment: {DB_HOST: db}}\n  \
             db: {image: postgres, expose: [\"5432\"]}\n",
        );
        let mut diagnostics = Diagnostics::default();
        let planned = plan(
            &reaching,
            &crate::load::stack_outputs::SavedOutputs::empty(),
            &mut diagnostics,
        )
        .expect("it plans");
        assert_eq!(planned.creation_order, vec!["app-db", "app-api", "app-web"]);
        // `depends_on` orders them too: a name baked into the image is reached all the same.
        let waiting = project(
            "services:\n  web: {image: a, depends_on: [api]}\n  \
             api: {image: b, depends_on: {db: {condition: service_healthy}}}\n  \
             db: {image: postgres, healthcheck: {test: [\"CMD\", \"pg_isready\"]}}\n",
        );
        let planned = plan(
            &waiting,
            &crate::load::stack_outputs::SavedOutputs::empty(),
            &mut diagnostics,
        )
        .expect("it plans");
        assert_eq!(planned.creation_order, vec!["app-db", "app-api", "app-web"]);
    }

    #[test]
    fn a_circle_through_service_connect_is_broken_at_its_first_member_with_a_warning() {
        let project = project(
            "services:\n  a: {image: a, expose: [\"80\"], environment: {B_URL: \"http://b:80\"}}\n  \
             b: {image: b, expose: [\"80\"], environment: {A_URL: \"http://a:80\"}}\n",
        );
        let mut diagnostics = Diagnostics::default();
        let plan = plan(
            &project,
            &crate::load::stack_outputs::SavedOutputs::empty(),
            &mut diagnostics,
        )
        .expect("it plans");
        assert_eq!(plan.creation_order, vec!["app-b", "app-a"]);
        assert!(diagnostics.iter().any(|d| d.code == Code::ConnectCycle));
    }
}
