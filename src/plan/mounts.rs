//! A container's mounts on Fargate: named volumes on EFS, tmpfs in memory, anonymous volumes on the
//! task's storage, `volumes_from` within a task; bind mounts are left out, each with a diagnostic
//! (a note for the ones only development needs).

use super::{container_name, task_name, Container, Context, Grouping, MountPoint, TmpfsMount};
use crate::diagnostic::{Code, Diagnostic};
use crate::normalise::{Mount, MountSource, Service};
use std::collections::BTreeSet;

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
    for mount in &service.mounts {
        match &mount.source {
            MountSource::Named(volume) => mounts.push(MountPoint {
                volume: task_name(volume),
                container_path: mount.target.clone(),
                read_only: mount.read_only,
                task_storage: false,
            }),
            MountSource::Tmpfs { size, options } => tmpfs.push(tmpfs_mount(cx, mount, *size, options)),
            MountSource::Anonymous
                if under_any(&mount.target, &code_mounts) || mount.target.ends_with("/node_modules") =>
            {
                cx.diagnostics.push(Diagnostic::note(
                    Code::DevOnlyMount,
                    mount.path.clone(),
                    format!("the anonymous volume `{}` only keeps the image's files from being hidden by a development mount; it is left out, and the image's files are used", mount.target),
                ));
            }
            MountSource::Anonymous => mounts.push(anonymous_volume(cx, service, &container, mount)),
            MountSource::Bind(dir) => {
                cx.diagnostics.push(bind_mount_left_out(service, mount, dir));
                // The container's root file system is read-only: where it writes into the dropped
                // bind mount, it needs a writable folder still.
                if service.runtime.read_only && !mount.read_only && !dir.ends_with("docker.sock") {
                    cx.diagnostics.push(Diagnostic::note(
                        Code::AnonymousOnTaskStorage,
                        mount.path.clone(),
                        format!("`{}` is a folder on the task's own storage instead, as the container's root file system is read-only (`read_only: true`): it starts empty and is emptied when the task stops", mount.target),
                    ));
                    mounts.push(MountPoint {
                        volume: format!("{container}-{}", slug(&mount.target)),
                        container_path: mount.target.clone(),
                        read_only: false,
                        task_storage: true,
                    });
                }
            }
        }
    }
    (mounts, tmpfs)
}

/// A tmpfs mount in ECS's terms: its size in MiB (a default, with a note, when compose gives
/// none), and the options ECS takes (each other one left out with a warning).
fn tmpfs_mount(cx: &mut Context, mount: &Mount, size: Option<u64>, options: &[String]) -> TmpfsMount {
    let size_mib = match size {
        Some(bytes) => u32::try_from(bytes.div_ceil(1024 * 1024)).unwrap_or(u32::MAX),
        None => {
            cx.diagnostics.push(Diagnostic::note(
                Code::TmpfsSize,
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
                    Code::TmpfsOption,
                    mount.path.clone(),
                    format!("ECS does not take the tmpfs option `{option}`; it is left out"),
                )
                .with_help(format!("ECS takes {}", ECS_TMPFS_OPTIONS.join(", "))),
            );
        }
    }
    TmpfsMount {
        container_path: mount.target.clone(),
        size_mib,
        mount_options,
    }
}

/// An anonymous volume as a folder on the task's storage, with a note of what that means (a
/// warning when the container's user, not being root, cannot write it).
fn anonymous_volume(cx: &mut Context, service: &Service, container: &str, mount: &Mount) -> MountPoint {
    let what = format!(
        "the anonymous volume `{}` is a folder on the task's own storage: it starts empty unless the image declares it a `VOLUME`, and is emptied when the task stops",
        mount.target
    );
    let diagnostic = match service.runtime.user.as_deref().filter(|u| !is_root(u)) {
        // Fargate makes such folders writable by root only.
        Some(user) => Diagnostic::warning(
            Code::TaskStorageOwner,
            mount.path.clone(),
            format!("{what}; it is owned by root, so the container's user `{user}` cannot write it"),
        )
        .with_help(format!(
            "use `tmpfs: {}` (writable by every user), or a named volume with `x-ecs: {{uid, gid}}`",
            mount.target
        )),
        None => Diagnostic::note(Code::AnonymousOnTaskStorage, mount.path.clone(), what)
            .with_help("use a named volume (it becomes EFS) if the data must outlive the task"),
    };
    cx.diagnostics.push(diagnostic);
    // A first name; `unique_task_storage_names` makes the names of the whole task unique.
    MountPoint {
        volume: format!("{container}-{}", slug(&mount.target)),
        container_path: mount.target.clone(),
        read_only: mount.read_only,
        task_storage: true,
    }
}

/// Why the bind mount of `dir` is left out: a note for a development mount of the source code, a
/// warning for the Docker socket or any other local path.
fn bind_mount_left_out(service: &Service, mount: &Mount, dir: &str) -> Diagnostic {
    if is_dev_code_mount(service.build_context.as_deref(), dir) {
        Diagnostic::note(
            Code::DevOnlyMount,
            mount.path.clone(),
            format!("`{dir}:{}` mounts the source code for development; it is left out, and the image built from `build` is used", mount.target),
        )
    } else if dir.ends_with("docker.sock") {
        Diagnostic::warning(
            Code::BindMount,
            mount.path.clone(),
            format!("`{dir}` is the Docker API socket; Fargate has none, so it is left out"),
        )
        .with_help("a container that drives Docker (a CI runner, a log collector, a proxy reading labels) cannot work on Fargate; keep it out of ECS")
    } else {
        Diagnostic::warning(
            Code::BindMount,
            mount.path.clone(),
            format!(
                "`{dir}:{}` is a bind mount of a local path; Fargate has no host folders, so it is left out",
                mount.target
            ),
        )
        .with_help(
            "copy the files into the image (a `COPY` line in a Dockerfile), or use a named volume (it becomes EFS)",
        )
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
                    Code::UnknownService,
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
                    Code::BadVolumesFrom,
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
                        Code::VolumesFromOtherTask,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_writable_bind_mount_of_a_read_only_container_becomes_task_storage() {
        let project = crate::plan::testing::project(
            "services:\n  web:\n    image: nginx\n    read_only: true\n    \
             volumes: [\"./cache:/var/cache/nginx\", \"./nginx.conf:/etc/nginx/nginx.conf:ro\", \"/var/run/docker.sock:/var/run/docker.sock\"]\n  \
             app:\n    image: nginx\n    volumes: [\"./cache:/var/cache/nginx\"]\n",
        );
        let ((read_only, writable), _) = crate::plan::testing::run(&project, |cx| {
            (mounts(cx, &project.services[0]).0, mounts(cx, &project.services[1]).0)
        });
        let paths: Vec<(&str, bool)> = read_only
            .iter()
            .map(|m| (m.container_path.as_str(), m.task_storage))
            .collect();
        // Only the writable folder: a read-only file and the Docker socket stay left out.
        assert_eq!(paths, [("/var/cache/nginx", true)]);
        // A container that may write its root file system needs nothing in their place.
        assert!(writable.is_empty());
    }

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
