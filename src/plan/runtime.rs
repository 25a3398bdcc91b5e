//! How each container runs on Fargate: its runtime settings, its mounts, and the task's CPU
//! architecture; each compose setting Fargate cannot honour gets a diagnostic saying so.

use super::passwords::{mask_credentials, names_a_secret};
use super::{
    container_name, task_name, Container, ContainerRuntime, Context, CpuArchitecture, Grouping, MountPoint,
    RestartPolicy, TaskDraft, TmpfsMount, UlimitPlan,
};
use crate::diagnostic::Diagnostic;
use crate::normalise::{Mount, MountSource, Service};
use std::collections::{BTreeMap, BTreeSet};

/// A tmpfs's size when compose gives none (Docker's would be half the memory; ECS needs a number).
const DEFAULT_TMPFS_MIB: u32 = 64;
/// The tmpfs mount options ECS takes (the API's list), each maybe with `=value`.
const ECS_TMPFS_OPTIONS: &[&str] = &[
    "defaults",
    "ro",
    "rw",
    "suid",
    "nosuid",
    "dev",
    "nodev",
    "exec",
    "noexec",
    "sync",
    "async",
    "dirsync",
    "remount",
    "mand",
    "nomand",
    "atime",
    "noatime",
    "diratime",
    "nodiratime",
    "bind",
    "rbind",
    "unbindable",
    "runbindable",
    "private",
    "rprivate",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "relatime",
    "norelatime",
    "strictatime",
    "nostrictatime",
    "mode",
    "uid",
    "gid",
    "nr_inodes",
    "nr_blocks",
    "mpol",
];
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
                            "stop-timeout-clamped",
                            path.clone(),
                            format!("`stop_grace_period` of {seconds} s becomes {clamped} s: Fargate waits between {low} and {high} s before it kills a container"),
                        ),
                    );
                }
                u32::try_from(clamped).unwrap_or(u32::MAX)
            }),
            docker_labels: runtime.labels.clone(),
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
                    "unknown-ulimit",
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
                    "bad-ulimit",
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
                        "nofile-capped",
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
                        "fargate-sysctl",
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
                    "bad-restart",
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
                    "restart-attempts",
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
                    "bad-restart",
                    path.clone(),
                    format!("`{other}` is not a restart policy"),
                )
                .with_help("write `no`, `always`, `unless-stopped` or `on-failure[:N]`"),
            );
            None
        }
    }
}

/// The container's mounts: named volumes on EFS, tmpfs in memory, anonymous volumes on the
/// task's storage; bind mounts left out, with the fix (or, for dev-only mounts, a note).
pub(super) fn mounts(cx: &mut Context, service: &Service) -> (Vec<MountPoint>, Vec<TmpfsMount>) {
    let container = container_name(&service.name);
    let code_mounts: Vec<&str> = service
        .mounts
        .iter()
        .filter(
            |m| matches!(&m.source, MountSource::Bind(dir) if is_dev_code_mount(service.build_context.as_deref(), dir)),
        )
        .map(|m| m.target.trim_end_matches('/'))
        .collect();
    let mut mounts = Vec::new();
    let mut tmpfs = Vec::new();
    // A first name; `unique_task_storage_names` makes the names of the whole task unique.
    let on_task_storage = |mount: &Mount| MountPoint {
        volume: format!("{container}-{}", slug(&mount.target)),
        container_path: mount.target.clone(),
        read_only: mount.read_only,
        task_storage: true,
    };
    for mount in &service.mounts {
        match &mount.source {
                MountSource::Named(volume) => mounts.push(MountPoint {
                    volume: task_name(volume),
                    container_path: mount.target.clone(),
                    read_only: mount.read_only,
                    task_storage: false,
                }),
                MountSource::Tmpfs { size, options } => {
                    let size_mib = match size {
                        Some(bytes) => u32::try_from(bytes.div_ceil(1024 * 1024)).unwrap_or(u32::MAX),
                        None => {
                            cx.diagnostics.push(Diagnostic::note(
                                "tmpfs-size",
                                mount.path.clone(),
                                format!("ECS needs a size for the tmpfs `{}`: {DEFAULT_TMPFS_MIB} MiB, taken from the container's memory", mount.target),
                            ).with_help(format!("give one: `{}:size=256m`", mount.target)));
                            DEFAULT_TMPFS_MIB
                        }
                    };
                    let mut mount_options = Vec::new();
                    for option in options {
                        let name = option.split('=').next().unwrap_or_default();
                        if ECS_TMPFS_OPTIONS.contains(&name) {
                            mount_options.push(option.clone());
                        } else {
                            cx.diagnostics.push(
                                Diagnostic::warning(
                                    "tmpfs-option",
                                    mount.path.clone(),
                                    format!("ECS does not take the tmpfs option `{option}`; it is left out"),
                                )
                                .with_help(format!("ECS takes {}", ECS_TMPFS_OPTIONS.join(", "))),
                            );
                        }
                    }
                    tmpfs.push(TmpfsMount {
                        container_path: mount.target.clone(),
                        size_mib,
                        mount_options,
                    });
                }
                MountSource::Anonymous if under_any(&mount.target, &code_mounts) || mount.target.ends_with("/node_modules") => {
                    cx.diagnostics.push(Diagnostic::note(
                        "dev-only-mount",
                        mount.path.clone(),
                        format!("the anonymous volume `{}` only keeps the image's files from being hidden by a development mount; it is left out, and the image's files are used", mount.target),
                    ));
                }
                MountSource::Anonymous => {
                    let what = format!(
                        "the anonymous volume `{}` is a folder on the task's own storage: it starts empty unless the image declares it a `VOLUME`, and is emptied when the task stops",
                        mount.target
                    );
                    let diagnostic = match service.runtime.user.as_deref().filter(|u| !is_root(u)) {
                        // Fargate makes such folders writable by root only.
                        Some(user) => Diagnostic::warning(
                            "task-storage-owner",
                            mount.path.clone(),
                            format!("{what}; it is owned by root, so the container's user `{user}` cannot write it"),
                        )
                        .with_help(format!("use `tmpfs: {}` (writable by every user), or a named volume with `x-ecs: {{uid, gid}}`", mount.target)),
                        None => Diagnostic::note("anonymous-on-task-storage", mount.path.clone(), what)
                            .with_help("use a named volume (it becomes EFS) if the data must outlive the task"),
                    };
                    cx.diagnostics.push(diagnostic);
                    mounts.push(on_task_storage(mount));
                }
                MountSource::Bind(dir) if is_dev_code_mount(service.build_context.as_deref(), dir) => cx.diagnostics.push(
                    Diagnostic::note(
                        "dev-only-mount",
                        mount.path.clone(),
                        format!("`{dir}:{}` mounts the source code for development; it is left out, and the image built from `build` is used", mount.target),
                    ),
                ),
                MountSource::Bind(dir) if dir.ends_with("docker.sock") => cx.diagnostics.push(
                    Diagnostic::warning(
                        "bind-mount",
                        mount.path.clone(),
                        format!("`{dir}` is the Docker API socket; Fargate has none, so it is left out"),
                    )
                    .with_help("a container that drives Docker (a CI runner, a log collector, a proxy reading labels) cannot work on Fargate; keep it out of ECS"),
                ),
                MountSource::Bind(dir) => cx.diagnostics.push(
                    Diagnostic::warning(
                        "bind-mount",
                        mount.path.clone(),
                        format!("`{dir}:{}` is a bind mount of a local path; Fargate has no host folders, so it is left out", mount.target),
                    )
                    .with_help("copy the files into the image (a `COPY` line in a Dockerfile), or use a named volume (it becomes EFS)"),
                ),
            }
    }
    (mounts, tmpfs)
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
                                "sysctl-conflict",
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

/// `volumes_from`: ECS `volumesFrom` within a task; across tasks there is nothing to share.
pub(super) fn volumes_from(cx: &mut Context, service: &Service, grouping: &Grouping) -> Vec<(String, bool)> {
    let mut sources = Vec::new();
    for entry in &service.volumes_from {
        let source = if entry.by_container_name {
            cx.project
                .services
                .iter()
                .find(|s| s.container_name.as_deref() == Some(entry.name.as_str()))
        } else {
            cx.project.service(&entry.name)
        };
        let Some(source) = source else {
            let kind = if entry.by_container_name {
                "container"
            } else {
                "service"
            };
            cx.diagnostics.push(
                Diagnostic::error(
                    "unknown-service",
                    entry.path.clone(),
                    format!(
                        "`volumes_from` names the {kind} `{}`, which the project does not have",
                        entry.name
                    ),
                )
                .with_help("name a service of this file (`service:NAME`), or a `container_name` (`container:NAME`)"),
            );
            continue;
        };
        if source.name == service.name {
            cx.diagnostics.push(
                Diagnostic::error(
                    "bad-volumes-from",
                    entry.path.clone(),
                    format!("`{}` takes the volumes of itself", service.name),
                )
                .with_help("name another service"),
            );
            continue;
        }
        match grouping.task_of(&source.name) {
                Some(_) if grouping.together(&service.name, &source.name) => sources.push((container_name(&source.name), entry.read_only)),
                _ => cx.diagnostics.push(
                    Diagnostic::warning(
                        "volumes-from-other-task",
                        entry.path.clone(),
                        format!(
                            "`{}` mounts the volumes of `{}`, which runs in another task (or outside ECS); tasks share no volumes, so this is left out",
                            service.name, source.name
                        ),
                    )
                    .with_help(format!(
                        "put `{}` in the task of `{}` with `x-ecs: {{task: ...}}`, or share a named volume (EFS) instead",
                        service.name, source.name
                    )),
                ),
            }
    }
    sources
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
                            "bad-tag",
                            path.clone(),
                            format!("the deploy label `{key}` cannot be a tag of the ECS service: {why}; it is left out"),
                        )
                        .with_help("change the label, or keep it out of the ECS variant of the file"),
                    ),
                    (None, Some((_, other))) if other != value => cx.diagnostics.push(
                        Diagnostic::warning(
                            "bad-tag",
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
                            "unsupported-platform",
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
                        "platform-conflict",
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

/// Gives each task-storage volume of the task a name no other volume of the task has: not an
/// EFS volume's, not another container's, and not a `CONTAINER-secrets` (the secrets writer's).
pub(super) fn unique_task_storage_names(containers: &mut [Container]) {
    let mut taken: BTreeSet<String> = containers
        .iter()
        .flat_map(|c| {
            let efs = c.mounts.iter().filter(|m| !m.task_storage).map(|m| m.volume.clone());
            efs.chain(std::iter::once(format!("{}-secrets", c.name)))
        })
        .collect();
    for container in containers.iter_mut() {
        for mount in container.mounts.iter_mut().filter(|m| m.task_storage) {
            let base = mount.volume.clone();
            let mut number = 1;
            while !taken.insert(mount.volume.clone()) {
                number += 1;
                mount.volume = format!("{base}-{number}");
            }
        }
    }
}

/// Folder names that hold source code, the ones a development setup mounts over the image's copy.
const CODE_FOLDERS: &[&str] = &[
    "src",
    "app",
    "lib",
    "public",
    "static",
    "templates",
    "views",
    "components",
    "pages",
    "server",
    "client",
];

/// A bind mount of the service's own build context (or a source-code folder inside it) into a
/// service built from it: the image already holds the files, and the mount only serves live
/// reloading while developing. Anything else (data, a config file) is not.
fn is_dev_code_mount(build_context: Option<&str>, source: &str) -> bool {
    let Some(context) = build_context else { return false };
    let clean = |path: &str| -> String {
        let trimmed = path.trim_end_matches('/');
        let trimmed = trimmed.strip_prefix("./").unwrap_or(trimmed);
        if trimmed == "." {
            String::new()
        } else {
            trimmed.to_string()
        }
    };
    let (source, context) = (clean(source), clean(context));
    if source == context {
        return true;
    }
    let inside = if context.is_empty() {
        !source.starts_with(['.', '/']) && !source.is_empty()
    } else {
        source.strip_prefix(&context).is_some_and(|rest| rest.starts_with('/'))
    };
    let folder = source.rsplit('/').next().unwrap_or_default();
    inside && CODE_FOLDERS.contains(&folder)
}

/// `user: root`, `0`, `0:0`, `root:root`.
fn is_root(user: &str) -> bool {
    let name = user.split(':').next().unwrap_or_default();
    name == "0" || name == "root"
}

fn under_any(path: &str, folders: &[&str]) -> bool {
    folders
        .iter()
        .any(|folder| path.strip_prefix(folder).is_some_and(|rest| rest.starts_with('/')))
}

/// A path as part of a task volume name (ECS allows letters, digits, `-` and `_`).
fn slug(path: &str) -> String {
    let words: Vec<&str> = path
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        "root".to_string()
    } else {
        words.join("-")
    }
}

/// A tag's value as a message may show it.
fn shown_tag(key: &str, value: &str) -> String {
    if names_a_secret(key) {
        "***".to_string()
    } else {
        mask_credentials(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn development_mounts_are_the_build_context_or_its_code() {
        assert!(is_dev_code_mount(Some("./backend"), "./backend"));
        assert!(is_dev_code_mount(Some("./frontend"), "./frontend/src"));
        assert!(is_dev_code_mount(Some("."), "."));
        assert!(is_dev_code_mount(Some("."), "./app"));
        assert!(!is_dev_code_mount(Some("."), "./data"));
        assert!(!is_dev_code_mount(Some("."), "./init.sql"));
        assert!(!is_dev_code_mount(Some("./api"), "../shared"));
        assert!(!is_dev_code_mount(None, "./src"));
    }

    #[test]
    fn task_storage_names() {
        assert_eq!(slug("/var/cache/nginx"), "var-cache-nginx");
        assert_eq!(slug("/"), "root");
        assert!(is_root("0:0") && is_root("root") && !is_root("1000:1000") && !is_root("node"));
        assert!(under_any("/app/node_modules", &["/app"]) && !under_any("/application", &["/app"]));
    }
}
