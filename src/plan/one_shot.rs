//! One-shot containers: a service that runs to completion — one that another waits for
//! (`service_completed_successfully`), or one with `restart: "no"` or `on-failure` — runs once each
//! time the task that holds it starts. Alone in a task of its own, it would be restarted by its
//! ECS service forever, so it gets one warning, with a fix that works.

use super::*;

/// One `one-shot-alone` warning per one-shot service that no service of its own task waits for.
pub(super) fn check_one_shots(cx: &mut Context, grouping: &Grouping) {
    let project = cx.project;
    // Each service's waiters: the services that wait for it to complete, with where they say so.
    let mut waiters: HashMap<&str, Vec<(&Service, &KeyPath)>> = HashMap::new();
    for service in &project.services {
        for dependency in &service.depends_on {
            if dependency.condition == Condition::ServiceCompletedSuccessfully {
                waiters
                    .entry(dependency.service.as_str())
                    .or_default()
                    .push((service, &dependency.path));
            }
        }
    }
    for (_, task) in grouping.tasks() {
        for one_shot in &task.members {
            let waiting = waiters
                .get(one_shot.name.as_str())
                .map(Vec::as_slice)
                .unwrap_or_default();
            if waiting
                .iter()
                .any(|(waiter, _)| grouping.together(&waiter.name, &one_shot.name))
            {
                // It runs once each time that task starts, before the waiters there.
                note_waiters_elsewhere(cx, grouping, one_shot, &task.name, waiting);
                continue;
            }
            if let Some((first, path)) = waiting
                .iter()
                .find(|(waiter, _)| grouping.task_of(&waiter.name).is_some())
            {
                let names: Vec<&str> = waiting.iter().map(|(waiter, _)| waiter.name.as_str()).collect();
                warn_waited_for_alone(cx, grouping, one_shot, &task.name, &names, (first, path));
            } else if task.members.len() == 1 {
                warn_restart_once_alone(cx, one_shot);
            }
        }
    }
}

/// Waiters of another task than the one-shot container's cannot wait for it on ECS.
fn note_waiters_elsewhere(
    cx: &mut Context,
    grouping: &Grouping,
    one_shot: &Service,
    task: &str,
    waiting: &[(&Service, &KeyPath)],
) {
    for (waiter, path) in waiting {
        if grouping.together(&waiter.name, &one_shot.name) || grouping.task_of(&waiter.name).is_none() {
            continue;
        }
        cx.diagnostics.push(
            Diagnostic::note(
                Code::CrossTaskDependency,
                (*path).clone(),
                format!(
                    "`{}` waits for `{}` to complete, which runs in task `{task}`; ECS starts services independently, so this order is not kept",
                    waiter.name, one_shot.name
                ),
            )
            .with_help(format!(
                "make `{}` wait for what `{}` does itself, or put it in task `{task}` too",
                waiter.name, one_shot.name
            )),
        );
    }
}

/// A one-shot container that services of other tasks wait for, in a task none of them is in.
fn warn_waited_for_alone(
    cx: &mut Context,
    grouping: &Grouping,
    one_shot: &Service,
    task: &str,
    waiters: &[&str],
    (first, path): (&Service, &KeyPath),
) {
    let verb = if waiters.len() == 1 { "starts" } else { "start" };
    let first_task = grouping.task_name(&first.name).unwrap_or_default();
    cx.diagnostics.push(
        Diagnostic::warning(
            Code::OneShotAlone,
            path.clone(),
            format!(
                "`{}` runs to completion before {} {verb}, but it is in task `{task}`, where nothing waits for it; an ECS service restarts a container that exits, forever",
                one_shot.name,
                crate::quote::names(waiters)
            ),
        )
        .with_help(format!(
            "put `{}` in the task of `{}` with `x-ecs: {{task: {first_task}}}`, so it runs once each time that task starts (services of other tasks cannot wait for it on ECS)",
            one_shot.name, first.name
        )),
    );
}

/// A service that says it runs once (`restart: "no"` or `on-failure`), alone in its task, that
/// nobody waits for: its ECS service would run it again each time it exits.
fn warn_restart_once_alone(cx: &mut Context, one_shot: &Service) {
    let Some((restart, path)) = &one_shot.runtime.restart else {
        return;
    };
    if !(restart == "no" || restart.starts_with("on-failure")) {
        return;
    }
    cx.diagnostics.push(
        Diagnostic::warning(
            Code::OneShotAlone,
            path.clone(),
            format!(
                "`{}` has `restart: {restart}`: it runs to completion, but alone in a task its ECS service runs it again each time it exits, forever",
                one_shot.name
            ),
        )
        .with_help(format!(
            "put `{0}` in the task of the service that needs it done (`x-ecs: {{task: …}}`) and make that one wait for it: `depends_on: {{{0}: {{condition: service_completed_successfully}}}}`; or run it yourself with `aws ecs run-task`",
            one_shot.name
        )),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::{project, run};

    fn one_shot_warnings(compose: &str) -> Vec<String> {
        let project = project(compose);
        let (messages, _) = run(&project, |cx| {
            let grouping = grouping::group(cx).expect("groups");
            check_one_shots(cx, &grouping);
            cx.diagnostics.iter().map(|d| d.message.clone()).collect::<Vec<_>>()
        });
        messages
    }

    const WAITS: &str = "{condition: service_completed_successfully}";

    #[test]
    fn a_one_shot_alone_is_warned_once_naming_every_waiter() {
        let warnings = one_shot_warnings(&format!(
            "services:\n  init: {{image: i}}\n  a: {{image: a, depends_on: {{init: {WAITS}}}}}\n  \
             b: {{image: b, depends_on: {{init: {WAITS}}}}}\n"
        ));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("before `a` and `b` start"), "{}", warnings[0]);
    }

    #[test]
    fn following_the_help_silences_the_warning() {
        // `init` in the task of `a`, as the help says: `b`, in another task, gets no false warning,
        // only a note that its order is not kept.
        let warnings = one_shot_warnings(&format!(
            "services:\n  init: {{image: i, x-ecs: {{task: a}}}}\n  a: {{image: a, depends_on: {{init: {WAITS}}}}}\n  \
             b: {{image: b, depends_on: {{init: {WAITS}}}}}\n"
        ));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with("`b` waits for `init` to complete, which runs in task `a`"),
            "{}",
            warnings[0]
        );
    }

    #[test]
    fn a_service_that_runs_once_alone_and_awaited_by_none_is_warned() {
        let warnings = one_shot_warnings(
            "services:\n  migrator: {image: m, restart: on-failure}\n  api: {image: a, restart: always}\n  \
             job: {image: j, restart: \"no\", x-ecs: {task: api}}\n",
        );
        // `job` shares a task with `api`: it runs once each time that task starts.
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with("`migrator` has `restart: on-failure`"),
            "{}",
            warnings[0]
        );
    }
}
