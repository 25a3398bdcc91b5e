//! How each container runs on Fargate: its runtime settings (ulimits, kernel parameters, restart
//! policy), the services' tags and the task's CPU architecture; each compose setting Fargate cannot
//! honour gets a diagnostic saying so.

use super::passwords::{mask_credentials, names_a_secret};
use super::{ContainerRuntime, Context, CpuArchitecture, RestartPolicy, TaskDraft, UlimitPlan};
use crate::diagnostic::{Code, Diagnostic};
use crate::normalise::Service;
use std::collections::BTreeMap;

/// The IPC namespace kernel parameters ECS sets (the API's list), besides `fs.mqueue.*`.
const ECS_IPC_SYSCTLS: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];
/// ECS's least `restartAttemptPeriod` (its default is 300): the closest to compose, which restarts
/// a container however soon it exits.
const RESTART_ATTEMPT_PERIOD_SECONDS: u32 = 60;
/// AWS's 50 tags a resource, less compose2ecs's own `compose-project`.
const MAXIMUM_SERVICE_TAGS: usize = 49;
/// Fargate's bounds on `stopTimeout`, in seconds.
const STOP_TIMEOUT_SECONDS: (u64, u64) = (2, 120);
/// The most open files Fargate lets a container have.
const FARGATE_MAXIMUM_NOFILE: i64 = 1_048_576;
/// The resource limits ECS knows (the API's `UlimitName`).
const ECS_ULIMITS: &[&str] = &[
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

pub(super) fn runtime(cx: &mut Context, service: &Service) -> ContainerRuntime {
    let runtime = &service.runtime;
    ContainerRuntime {
            user: runtime.user.clone(),
            working_directory: runtime.working_dir.clone(),
            readonly_root_filesystem: runtime.read_only,
            init_process_enabled: runtime.init,
            stop_timeout: runtime.stop_grace_period.as_ref().map(|(period, path)| {
                let seconds = period.as_secs() + u64::from(period.subsec_nanos() > 0);
                let (low, high) = STOP_TIMEOUT_SECONDS;
                let clamped = seconds.clamp(low, high);
                if clamped != seconds {
                    cx.diagnostics.push(
                        Diagnostic::note(
                            Code::StopTimeoutClamped,
                            path.clone(),
                            format!("`stop_grace_period` of {seconds} s becomes {clamped} s: Fargate waits between {low} and {high} s before it kills a container"),
                        ),
                    );
                }
                u32::try_from(clamped).unwrap_or(u32::MAX)
            }),
            docker_labels: runtime.labels.clone(),
            log_options: runtime.log_options.clone(),
            ulimits: ulimits(cx, service),
            system_controls: system_controls(cx, service),
            restart_policy: restart_policy(cx, service),
            interactive: runtime.stdin_open,
            pseudo_terminal: runtime.tty,
        }
}

fn ulimits(cx: &mut Context, service: &Service) -> Vec<UlimitPlan> {
    let mut ulimits = Vec::new();
    for ulimit in &service.runtime.ulimits {
        if !ECS_ULIMITS.contains(&ulimit.name.as_str()) {
            cx.diagnostics.push(
                Diagnostic::warning(
                    Code::UnknownUlimit,
                    ulimit.path.clone(),
                    format!("ECS has no `{}` limit; it is left out", ulimit.name),
                )
                .with_help(format!("ECS knows {}", ECS_ULIMITS.join(", "))),
            );
            continue;
        }
        let unlimited = |n: i64| if n == -1 { i64::MAX } else { n };
        if unlimited(ulimit.soft) > unlimited(ulimit.hard) {
            cx.diagnostics.push(
                Diagnostic::error(
                    Code::BadUlimit,
                    ulimit.path.clone(),
                    format!(
                        "the soft `{}` limit ({}) is above its hard limit ({})",
                        ulimit.name, ulimit.soft, ulimit.hard
                    ),
                )
                .with_help("a soft limit can be at most the hard limit"),
            );
            continue;
        }
        let (mut soft, mut hard) = (ulimit.soft, ulimit.hard);
        if ulimit.name == "nofile" {
            let capped = |n: i64| {
                if n == -1 {
                    FARGATE_MAXIMUM_NOFILE
                } else {
                    n.min(FARGATE_MAXIMUM_NOFILE)
                }
            };
            if (capped(soft), capped(hard)) != (soft, hard) {
                cx.diagnostics.push(Diagnostic::note(
                        Code::NofileCapped,
                        ulimit.path.clone(),
                        format!("Fargate lets a container open at most {FARGATE_MAXIMUM_NOFILE} files; the `nofile` limit is capped there"),
                    ));
            }
            (soft, hard) = (capped(soft), capped(hard));
        }
        ulimits.push(UlimitPlan {
            name: ulimit.name.clone(),
            soft,
            hard,
        });
    }
    ulimits
}

fn system_controls(cx: &mut Context, service: &Service) -> Vec<(String, String)> {
    let mut controls = Vec::new();
    for sysctl in &service.runtime.sysctls {
        let name = sysctl.name.as_str();
        if name.starts_with("net.") || name.starts_with("fs.mqueue.") || ECS_IPC_SYSCTLS.contains(&name) {
            controls.push((sysctl.name.clone(), sysctl.value.clone()));
        } else {
            cx.diagnostics.push(
                    Diagnostic::warning(
                        Code::FargateSysctl,
                        sysctl.path.clone(),
                        format!(
                            "`{name}` is left out: ECS sets only namespaced kernel parameters (`net.*`, `fs.mqueue.*`, and kernel.msg*/sem/shm*)"
                        ),
                    )
                    .with_help("if the container cannot work without it, it needs ECS on EC2, not Fargate"),
                );
        }
    }
    controls
}

fn restart_policy(cx: &mut Context, service: &Service) -> Option<RestartPolicy> {
    let (restart, path) = service.runtime.restart.as_ref()?;
    let (mode, attempts) = restart.split_once(':').unwrap_or((restart.as_str(), ""));
    match mode {
        "no" | "false" => None,
        "always" | "unless-stopped" => Some(RestartPolicy {
            ignored_exit_codes: Vec::new(),
            attempt_period: RESTART_ATTEMPT_PERIOD_SECONDS,
        }),
        "on-failure" if !attempts.is_empty() && attempts.parse::<u32>().is_err() => {
            cx.diagnostics.push(
                Diagnostic::error(
                    Code::BadRestart,
                    path.clone(),
                    format!("`{attempts}` is not a number of attempts"),
                )
                .with_help("write `on-failure` or `on-failure:3`"),
            );
            None
        }
        "on-failure" => {
            if !attempts.is_empty() {
                cx.diagnostics.push(Diagnostic::note(
                    Code::RestartAttempts,
                    path.clone(),
                    format!(
                        "ECS has no limit on restart attempts; `{restart}` restarts the container after every failure"
                    ),
                ));
            }
            Some(RestartPolicy {
                ignored_exit_codes: vec![0],
                attempt_period: RESTART_ATTEMPT_PERIOD_SECONDS,
            })
        }
        other => {
            cx.diagnostics.push(
                Diagnostic::error(
                    Code::BadRestart,
                    path.clone(),
                    format!("`{other}` is not a restart policy"),
                )
                .with_help("write `no`, `always`, `unless-stopped` or `on-failure[:N]`"),
            );
            None
        }
    }
}

/// A task's containers share their namespaces on awsvpc: a kernel parameter set to two values
/// in one task takes the value of the container that starts last.
pub(super) fn check_system_controls(cx: &mut Context, task: &TaskDraft) {
    let mut first: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
    for container in &task.containers {
        for (name, value) in &container.runtime.system_controls {
            match first.get(name.as_str()) {
                Some((other, other_value)) if other_value != value => {
                    let path = cx
                        .project
                        .service(&container.service)
                        .and_then(|s| s.runtime.sysctls.iter().find(|c| &c.name == name))
                        .map_or_else(|| cx.task_path(&task.containers), |c| c.path.clone());
                    cx.diagnostics.push(
                            Diagnostic::warning(
                                Code::SysctlConflict,
                                path,
                                format!(
                                    "`{}` sets `{name}` to {value} and `{other}` to {other_value}, in task `{}`: one task has one value, that of the container that starts last",
                                    container.service, task.name
                                ),
                            )
                            .with_help("give both the same value, or put the services in separate tasks"),
                        );
                }
                Some(_) => {}
                None => {
                    first.insert(name, (&container.service, value));
                }
            }
        }
    }
}

/// The ECS service's tags: the `deploy.labels` of its compose services, as AWS takes tags.
/// A message shows a tag's value (at most 256 characters) with its passwords masked, and not at
/// all when its key says it is a secret.
pub(super) fn service_tags(cx: &mut Context, members: &[&Service]) -> Vec<(String, String)> {
    let mut tags: Vec<(String, String)> = Vec::new();
    for service in members {
        for (key, value, path) in &service.tags {
            let allowed = |text: &str| {
                text.chars()
                    .all(|c| c.is_alphanumeric() || c.is_whitespace() || "+-=._:/@".contains(c))
            };
            let problem = if key.is_empty() || key.chars().count() > 128 || value.chars().count() > 256 {
                Some("a tag key has 1 to 128 characters and a value up to 256")
            } else if key.to_ascii_lowercase().starts_with("aws:") || key == "compose-project" {
                Some("`aws:` keys are AWS's own, and compose2ecs sets `compose-project`")
            } else if !allowed(key) || !allowed(value) {
                Some("tags allow letters, digits, spaces and + - = . _ : / @")
            } else if tags.len() >= MAXIMUM_SERVICE_TAGS {
                Some("an ECS service takes 50 tags, one of them compose2ecs's `compose-project`")
            } else {
                None
            };
            match (problem, tags.iter().find(|(k, _)| k == key)) {
                    (Some(why), _) => cx.diagnostics.push(
                        Diagnostic::warning(
                            Code::BadTag,
                            path.clone(),
                            format!("the deploy label `{key}` cannot be a tag of the ECS service: {why}; it is left out"),
                        )
                        .with_help("change the label, or keep it out of the ECS variant of the file"),
                    ),
                    (None, Some((_, other))) if other != value => cx.diagnostics.push(
                        Diagnostic::warning(
                            Code::TagConflict,
                            path.clone(),
                            format!("the deploy label `{key}` of `{}` differs from another service's in its task, which ECS service tag `{key}` keeps (`{}`)", service.name, shown_tag(key, other)),
                        )
                        .with_help("give the services of a task the same value"),
                    ),
                    (None, Some(_)) => {}
                    (None, None) => tags.push((key.clone(), value.clone())),
                }
        }
    }
    tags
}

/// The task's CPU architecture: what its containers' `platform` names, which must agree.
pub(super) fn cpu_architecture(cx: &mut Context, members: &[&Service]) -> Option<CpuArchitecture> {
    let mut chosen: Option<(CpuArchitecture, &str)> = None;
    for service in members {
        let Some((platform, path)) = &service.runtime.platform else {
            continue;
        };
        let architecture = match platform.trim().to_ascii_lowercase().as_str() {
            "linux/amd64" | "linux/x86_64" | "amd64" | "x86_64" => CpuArchitecture::X86_64,
            "linux/arm64" | "linux/arm64/v8" | "linux/aarch64" | "arm64" | "aarch64" => CpuArchitecture::Arm64,
            _ => {
                cx.diagnostics.push(
                        Diagnostic::error(
                            Code::UnsupportedPlatform,
                            path.clone(),
                            format!("Fargate cannot run `{platform}`: it runs Linux containers on `linux/amd64` and `linux/arm64`"),
                        )
                        .with_help("build the image for linux/amd64 or linux/arm64, and name that platform"),
                    );
                continue;
            }
        };
        match chosen {
                Some((other, other_service)) if other != architecture => cx.diagnostics.push(
                    Diagnostic::error(
                        Code::PlatformConflict,
                        path.clone(),
                        format!(
                            "`{}` wants `{platform}` but `{other_service}`, in the same task, wants another CPU architecture; a Fargate task has one",
                            service.name
                        ),
                    )
                    .with_help("use one platform for the services of a task, or put them in different tasks with `x-ecs.task`"),
                ),
                Some(_) => {}
                None => chosen = Some((architecture, &service.name)),
            }
    }
    chosen.map(|(architecture, _)| architecture)
}

/// A tag's value as a message may show it.
fn shown_tag(key: &str, value: &str) -> String {
    if names_a_secret(key) {
        "***".to_string()
    } else {
        mask_credentials(value)
    }
}
