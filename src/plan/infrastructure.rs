//! Decisions about the stacks themselves: how many EFS mount targets, who owns each volume's
//! folder, what the load balancer checks on each target, and how long logs are kept. Each is
//! recorded with its reason, for `compose2ecs plan` and the snapshots.

use super::names::ecs_service_name;
use super::{logical_id, wellknown, Context, TaskGroup, VolumePlan};
use crate::diagnostic::{Code, Diagnostic, KeyPath};
use crate::normalise::{NamedVolume, Service, MAXIMUM_MOUNT_TARGETS};
use serde::Serialize;

/// Mount targets when `x-ecs.mount_targets` is not given: two availability zones, the fewest a
/// highly available VPC has.
const DEFAULT_MOUNT_TARGETS: u32 = 2;
/// The longest task family (and ECS service name) ECS takes.
const MAXIMUM_FAMILY: usize = 255;

/// The owner of a volume's folder, and the user every task acts as on it, unless `x-ecs` says:
/// the first user account of most Linux images.
pub const DEFAULT_VOLUME_USER: u32 = 1000;

/// Days CloudWatch keeps the logs unless `x-ecs.log_retention_days` says.
const DEFAULT_LOG_RETENTION_DAYS: u32 = 30;

/// Seconds ECS ignores the load balancer's health checks after a task starts, unless
/// `x-ecs.grace_period` says: time for an app to start.
const DEFAULT_GRACE_PERIOD: u32 = 60;

/// The project's EFS file system.
#[derive(Debug, Clone, Serialize)]
pub struct EfsPlan {
    /// `x-ecs.file_system`: the id of an existing file system; the stack then creates none, and
    /// no mount targets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_file_system: Option<String>,
    /// Mount targets in the first this many private subnets (none on an existing file system).
    pub mount_targets: u32,
    pub mount_targets_reason: String,
    /// The mount targets' logical ids in `efs.yaml`, in the order of the subnets they are in.
    pub mount_target_logical_ids: Vec<String>,
    /// How the tasks mount it.
    pub mount: EfsMount,
    /// The EFS stacks that make its access points, by part (1: `efs.yaml`, 2: `efs-2.yaml`, …), in
    /// order: those the access points fill, and every one deployed before.
    #[serde(skip_serializing_if = "super::stacks::only_the_first")]
    pub stacks: Vec<u32>,
}

/// How a task mounts the file system: each EFS volume of a task definition says the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EfsMount {
    /// TLS between the task and the mount target.
    pub transit_encryption: bool,
    /// The task mounts as its task role, so that EFS applies the IAM policies.
    pub iam_authorization: bool,
    pub reason: String,
}

/// Target tracking for one ECS service, from `x-ecs.autoscaling`: `autoscaling.yaml` registers
/// the service as a scalable target and keeps its average CPU and/or memory use at the targets.
#[derive(Debug, Clone, Serialize)]
pub struct AutoscalingPlan {
    /// The compose service whose `x-ecs.autoscaling` it is.
    pub service: String,
    pub min: u32,
    pub max: u32,
    /// Average CPU use to keep, in percent (`ECSServiceAverageCPUUtilization`).
    pub cpu_target: Option<u32>,
    /// Average memory use to keep, in percent (`ECSServiceAverageMemoryUtilization`).
    pub memory_target: Option<u32>,
    /// The scalable target's logical id in `autoscaling.yaml`.
    pub logical_id: String,
    /// A target tracking policy for each target given.
    pub policies: Vec<ScalingPolicyPlan>,
}

/// A target tracking policy of a scalable target.
#[derive(Debug, Clone, Serialize)]
pub struct ScalingPolicyPlan {
    /// Its logical id in `autoscaling.yaml`.
    pub logical_id: String,
    /// Its name: the ECS service's and the metric's.
    pub name: String,
    pub metric: ScalingMetric,
    /// The average use to keep, in percent.
    pub target: u32,
}

/// What a policy keeps at its target, in Application Auto Scaling's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ScalingMetric {
    #[serde(rename = "ECSServiceAverageCPUUtilization")]
    Cpu,
    #[serde(rename = "ECSServiceAverageMemoryUtilization")]
    Memory,
}

/// What the load balancer asks a target to learn whether it is healthy.
#[derive(Debug, Clone, Serialize)]
pub struct TargetHealthCheck {
    pub path: String,
    /// ALB `Matcher.HttpCode`.
    pub codes: String,
    pub reason: String,
}

/// The file system of the volumes, and the EFS stacks their access points are in.
pub(super) fn efs_plan(cx: &mut Context, volumes: &[VolumePlan]) -> EfsPlan {
    let stacks = super::volumes::efs_stacks(cx, volumes);
    let settings = &cx.project.settings.infrastructure;
    let (existing_file_system, mount_targets, mount_targets_reason) = if let Some((id, _)) = &settings.file_system {
        // A file system takes one mount target per availability zone, and one that is in use
        // has them already: making more would fail (`MountTargetConflict`), and its security
        // groups are its owner's to change; the stack only lets the tasks in (see efs.yaml).
        if let Some((_, path)) = &settings.mount_targets {
            cx.diagnostics.push(
                    Diagnostic::warning(
                        Code::UnusedSetting,
                        path.clone(),
                        format!("`x-ecs.mount_targets` is not used: `x-ecs.file_system` names an existing file system ({id}), and its mount targets are the ones it has"),
                    )
                    .with_help("remove `mount_targets`, or remove `file_system` to have the stack create a file system with that many mount targets"),
                );
        }
        (
            Some(id.clone()),
            0,
            "`x-ecs.file_system` names an existing file system, which has its mount targets",
        )
    } else {
        // A task in a subnet whose zone has no mount target cannot mount the volumes.
        let task_subnets = cx.project.settings.subnets.as_ref().map(Vec::len);
        let (count, reason) = match (&settings.mount_targets, task_subnets) {
            (Some((count, path)), Some(subnets)) if (*count as usize) < subnets => {
                cx.diagnostics.push(
                    Diagnostic::error(
                        Code::BadSetting,
                        path.clone(),
                        format!("`x-ecs.mount_targets` is {count}, but the tasks run in {subnets} subnets (`x-ecs.subnets`): tasks in the others could not mount the volumes"),
                    )
                    .with_help(format!("give `mount_targets: {subnets}`, one per subnet, or remove it")),
                );
                (*count, "`x-ecs.mount_targets`")
            }
            (Some((count, _)), _) => (*count, "`x-ecs.mount_targets`"),
            (None, Some(subnets)) => (
                u32::try_from(subnets)
                    .unwrap_or(u32::MAX)
                    .clamp(1, MAXIMUM_MOUNT_TARGETS),
                "one for each subnet of `x-ecs.subnets`",
            ),
            (None, None) => (DEFAULT_MOUNT_TARGETS, "the default: two availability zones"),
        };
        (None, count, reason)
    };
    EfsPlan {
        existing_file_system,
        mount_targets,
        mount_targets_reason: mount_targets_reason.into(),
        mount_target_logical_ids: (0..mount_targets).map(mount_target_logical_id).collect(),
        mount: efs_mount(cx),
        stacks,
    }
}

/// The logical id in `efs.yaml` of the mount target in the subnet at `index`: `MountTargetA`,
/// `MountTargetB`, … (there are a handful at most).
fn mount_target_logical_id(index: u32) -> String {
    let letter = char::from_u32(u32::from('A') + index).unwrap_or('Z');
    format!("MountTarget{letter}")
}

/// Tasks mount over TLS as their task role, on a file system of the user's as on the one the efs
/// stack creates: the role's policy is what keeps them to the project's access points.
pub(super) fn efs_mount(cx: &Context) -> EfsMount {
    let reason = if cx.project.settings.infrastructure.file_system.is_some() {
        "the task role's policy (efs.yaml) lets the tasks in only through the project's access points, which EFS checks for a task that mounts as its role; TLS keeps the files encrypted between the task and the file system"
    } else {
        "the file system's policy (efs.yaml) refuses any client that does not use TLS, and admits only the task role, through the project's access points"
    };
    EfsMount {
        transit_encryption: true,
        iam_authorization: true,
        reason: reason.into(),
    }
}

/// The task's autoscaling (one of its services may set `x-ecs.autoscaling`), and the count it
/// starts with: its `replicas` within `min..=max`. Copies an autoscaled service may reach
/// share its volumes and its databases' data, as replicas do: warned here when the replica
/// count alone did not warn.
pub(super) fn autoscaling(
    cx: &mut Context,
    task: &str,
    members: &[&Service],
    replicas: u32,
    mounts_volumes: bool,
) -> (Option<AutoscalingPlan>, u32) {
    let mut setters = members
        .iter()
        .filter_map(|s| s.ecs.autoscaling.as_ref().map(|a| (s.name.as_str(), a)));
    let Some((service, settings)) = setters.next() else {
        return (None, replicas);
    };
    for (other, other_settings) in setters {
        cx.diagnostics.push(
                Diagnostic::error(
                    Code::AutoscalingConflict,
                    other_settings.path.clone(),
                    format!("`{other}` and `{service}` both set `x-ecs.autoscaling`, and they run in one task (`{task}`), which scales as one ECS service"),
                )
                .with_help(format!("keep `autoscaling` on one service of task `{task}`")),
            );
    }
    let desired = replicas.clamp(settings.min, settings.max);
    if desired != replicas {
        cx.diagnostics.push(
                Diagnostic::note(
                    Code::DesiredCountAdjusted,
                    settings.path.clone(),
                    format!(
                        "task `{task}` starts with {desired} copies, not {replicas}: `x-ecs.autoscaling` keeps it from {} to {}",
                        settings.min, settings.max
                    ),
                )
                .with_help("give `deploy.replicas` within `min` and `max` to start with another count"),
            );
    }
    let max_path = settings.path.key("max");
    if settings.max > 1 && replicas <= 1 {
        for stateful in members
            .iter()
            .filter(|s| s.image.as_deref().is_some_and(wellknown::is_stateful_image))
        {
            cx.diagnostics.push(
                    Diagnostic::warning(
                        Code::StatefulScaled,
                        max_path.clone(),
                        format!(
                            "`{}` runs `{}`, which keeps state, in task `{task}`, which autoscaling may run in {} copies: each copy gets a database of its own",
                            stateful.name,
                            stateful.image.as_deref().unwrap_or_default(),
                            settings.max
                        ),
                    )
                    .with_help(format!(
                        "run `{}` in a task of its own without autoscaling, or make it a managed database with `x-ecs: {{managed: true}}` (see the README's \"Databases in production\")",
                        stateful.name
                    )),
                );
        }
    }
    if settings.max > 1 && desired <= 1 && mounts_volumes {
        cx.diagnostics.push(
                Diagnostic::warning(
                    Code::SharedVolumeCopies,
                    max_path,
                    format!(
                        "task `{task}` mounts volumes, and autoscaling may run {} copies of it: they all read and write the same files at once",
                        settings.max
                    ),
                )
                .with_help("autoscale only tasks whose app can share its files, or keep the data out of the scaled task"),
            );
    }
    let target_id = format!("ScalableTarget{}", logical_id(task));
    let service_name = ecs_service_name(&cx.project.name, task);
    let policy = |suffix: &str, metric: ScalingMetric, target: Option<u32>| {
        target.map(|target| ScalingPolicyPlan {
            logical_id: format!("{target_id}{suffix}Policy"),
            name: format!("{service_name}-{}", suffix.to_ascii_lowercase()),
            metric,
            target,
        })
    };
    let policies = [
        policy("Cpu", ScalingMetric::Cpu, settings.cpu),
        policy("Memory", ScalingMetric::Memory, settings.memory),
    ]
    .into_iter()
    .flatten()
    .collect();
    let plan = AutoscalingPlan {
        service: service.to_string(),
        min: settings.min,
        max: settings.max,
        cpu_target: settings.cpu,
        memory_target: settings.memory,
        logical_id: target_id,
        policies,
    };
    (Some(plan), desired)
}

/// A task's family and ECS service name (`PROJECT-TASK`) take at most 255 characters in ECS;
/// the task's file name (`TASK.json`), shorter, then fits every file system too.
pub(super) fn check_family_lengths(cx: &mut Context, tasks: &[TaskGroup]) {
    for task in tasks.iter().filter(|task| task.family.chars().count() > MAXIMUM_FAMILY) {
        let at = task
            .containers
            .first()
            .map_or_else(KeyPath::root, |c| KeyPath::root().key("services").key(&c.service));
        cx.diagnostics.push(
            Diagnostic::error(
                Code::NameTooLong,
                at,
                format!(
                    "the task family `{}` is {} characters; ECS takes at most {MAXIMUM_FAMILY}",
                    crate::quote::shown(&task.family),
                    task.family.chars().count()
                ),
            )
            .with_help("use a shorter service name, `x-ecs.task`, or a shorter project name (`-p`)"),
        );
    }
}

pub(super) fn log_retention_days(cx: &Context) -> u32 {
    cx.project
        .settings
        .infrastructure
        .log_retention_days
        .unwrap_or(DEFAULT_LOG_RETENTION_DAYS)
}

/// The grace period of a service behind the load balancer: the longest its services ask for.
pub(super) fn grace_period<'s>(services: impl Iterator<Item = &'s Service>) -> u32 {
    services
        .filter_map(|s| s.ecs.health_check.grace_period)
        .max()
        .unwrap_or(DEFAULT_GRACE_PERIOD)
}

/// The load balancer's health check of `service` on `container_port`: `x-ecs.health_check`,
/// else what the compose healthcheck probes over HTTP on localhost at that port, else `/`.
pub(super) fn target_health_check(service: &Service, container_port: u16) -> TargetHealthCheck {
    let settings = &service.ecs.health_check;
    let with_codes = |path: String, default_codes: &str, reason: String| TargetHealthCheck {
        path,
        codes: settings.codes.clone().unwrap_or_else(|| default_codes.into()),
        reason,
    };
    if let Some(path) = &settings.path {
        return with_codes(path.clone(), KNOWN_PATH_CODES, "`x-ecs.health_check.path`".into());
    }
    if let Some(path) = compose_probe_path(service, container_port) {
        let reason = "the path the compose healthcheck probes on localhost".into();
        return with_codes(path, KNOWN_PATH_CODES, reason);
    }
    let documented = service
        .image
        .as_deref()
        .and_then(|image| wellknown::image_health_path(image, container_port));
    if let Some(path) = documented {
        let reason = "the health endpoint the image documents".into();
        return with_codes(path.to_string(), KNOWN_PATH_CODES, reason);
    }
    // Nothing says where the app answers: any answer but a server error proves it is up (an app
    // may answer `/` with 401, 403 or 404), where 200-399 would have ECS replace a healthy task
    // forever.
    with_codes(
        "/".into(),
        ANY_ANSWER_CODES,
        "nothing says where the app answers (no `x-ecs.health_check.path`, no compose healthcheck over HTTP on this port, no endpoint the image documents): any answer but a server error proves it is up; set `x-ecs.health_check.path` to check more".into(),
    )
}

/// The path the compose healthcheck probes over HTTP on localhost at `container_port`.
fn compose_probe_path(service: &Service, container_port: u16) -> Option<String> {
    service.healthcheck.as_ref().and_then(|h| {
        h.command
            .iter()
            .flat_map(|argument| argument.split_whitespace())
            .find_map(|word| local_http_path(word, container_port))
    })
}

/// Whether the compose healthcheck probes `container_port` over HTTP: the port speaks HTTP.
pub(super) fn probes_http(service: &Service, container_port: u16) -> bool {
    compose_probe_path(service, container_port).is_some()
}

/// The answers that prove a path meant for health checks is healthy.
const KNOWN_PATH_CODES: &str = "200-399";
/// The answers that prove a server is up when nothing says where it answers.
const ANY_ANSWER_CODES: &str = "200-499";

/// The owner of a volume's folder, and whether every task acts as that user on it (an access
/// point POSIX user). With `root_access`, tasks keep their own users, root included.
pub(super) struct VolumeOwner {
    pub uid: u32,
    pub gid: u32,
    pub posix_user: bool,
    pub reason: String,
}

/// Each of uid and gid from the volume's `x-ecs`, else its local driver's `driver_opts.o`, else
/// the user the services that mount it run as (their numeric `user:`, else the user a well-known
/// server image runs as: postgres's 999), else the default (1000, or 0 with `root_access`).
pub(super) fn volume_owner(volume: &NamedVolume, mounted_by: &[&Service]) -> VolumeOwner {
    let settings = &volume.ecs;
    // A volume that is an existing file system has files with owners of their own: unless an
    // owner is named, the tasks act on them as their own users, as they did before.
    let named = [
        settings.uid,
        settings.gid,
        volume.driver_owner.uid,
        volume.driver_owner.gid,
    ];
    if volume.existing_file_system.is_some() && !settings.root_access && named.iter().all(Option::is_none) {
        return VolumeOwner {
            uid: 0,
            gid: 0,
            posix_user: false,
            reason: "the volume is an existing file system: its files keep their owners, and the tasks act as their own users".into(),
        };
    }
    let fallback = if settings.root_access { 0 } else { DEFAULT_VOLUME_USER };
    let (service_user, service_user_from) = services_user(mounted_by);
    let pick = |ecs: Option<u32>, driver: Option<u32>, service: Option<u32>| match (ecs, driver, service) {
        (Some(id), _, _) => (id, "`x-ecs`"),
        (None, Some(id), _) => (id, "`driver_opts`"),
        (None, None, Some(id)) => (id, service_user_from),
        (None, None, None) => (fallback, "the default"),
    };
    let (uid, uid_from) = pick(settings.uid, volume.driver_owner.uid, service_user.map(|u| u.0));
    let (gid, gid_from) = pick(settings.gid, volume.driver_owner.gid, service_user.map(|u| u.1));
    let reason = if uid_from == gid_from {
        format!("uid and gid from {uid_from}")
    } else {
        format!("uid from {uid_from}, gid from {gid_from}")
    };
    VolumeOwner {
        uid,
        gid,
        posix_user: !settings.root_access,
        reason,
    }
}

/// The one user the services mounting a volume run as, and where it was found: every numeric
/// `user: UID[:GID]` among them agreeing, else every well-known image's user agreeing.
fn services_user(mounted_by: &[&Service]) -> (Option<(u32, u32)>, &'static str) {
    let numeric = |user: &str| -> Option<(u32, u32)> {
        let (uid, gid) = user.split_once(':').unwrap_or((user, user));
        Some((uid.parse().ok()?, gid.parse().ok()?))
    };
    let agreed = |users: Vec<(u32, u32)>| -> Option<(u32, u32)> {
        let first = *users.first()?;
        users.iter().all(|u| *u == first).then_some(first)
    };
    let declared: Vec<(u32, u32)> = mounted_by
        .iter()
        .filter_map(|s| s.runtime.user.as_deref().and_then(numeric))
        .collect();
    if let Some(user) = agreed(declared) {
        return (Some(user), "the `user` of the services that mount it");
    }
    let images: Vec<(u32, u32)> = mounted_by
        .iter()
        .filter(|s| s.runtime.user.is_none())
        .filter_map(|s| s.image.as_deref().and_then(wellknown::image_user))
        .collect();
    match agreed(images) {
        Some(user) => (Some(user), "the user the service's image runs as"),
        None => (None, ""),
    }
}

/// A character of a URL path as the load balancer checks it (printable ASCII, no query, no shell
/// operator or quote).
fn is_url_path_char(c: char) -> bool {
    c.is_ascii_graphic()
        && !matches!(
            c,
            '?' | '#' | '|' | ';' | '&' | '<' | '>' | '(' | ')' | '`' | '"' | '\'' | '$'
        )
}

/// The path of `word` when it is an HTTP(S) URL on localhost at `port` (no port: 80 or 443).
fn local_http_path(word: &str, port: u16) -> Option<String> {
    let word = word.trim_matches(|c| c == '"' || c == '\'');
    let (rest, default_port) = if let Some(rest) = word.strip_prefix("http://") {
        (rest, 80)
    } else {
        (word.strip_prefix("https://")?, 443)
    };
    let (authority, path) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, "/"),
    };
    let (host, probed_port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, port.parse::<u16>().ok()?),
        None => (authority, default_port),
    };
    let local = matches!(host, "localhost" | "127.0.0.1" | "[::1]" | "0.0.0.0");
    // The path ends where the URL does: at its query, or at a shell operator or quote that the
    // healthcheck's shell would read (`/healthz||exit 1`).
    let path: String = path.chars().take_while(|c| is_url_path_char(*c)).collect();
    (local && probed_port == port && !path.is_empty()).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Plan;

    fn plan(compose: &str) -> Plan {
        crate::test_conversion(compose).plan.expect("it converts")
    }

    const WITH_VOLUME: &str =
        "services:\n  db:\n    image: postgres:16\n    volumes: [\"data:/var/lib/postgresql/data\"]\nvolumes:\n  data: {}\n";

    #[test]
    fn tasks_mount_efs_over_tls_as_their_role() {
        for compose in [
            WITH_VOLUME.to_string(),
            format!("{WITH_VOLUME}x-ecs:\n  file_system: fs-0123456789abcdef0\n"),
        ] {
            let plan = plan(&compose);
            let efs = plan.efs.as_ref().expect("a file system");
            assert!(efs.mount.transit_encryption && efs.mount.iam_authorization, "{compose}");
            let volume = plan.tasks[0].volumes[0].efs.as_ref().expect("an EFS volume");
            assert_eq!(
                (volume.transit_encryption, volume.iam_authorization),
                (efs.mount.transit_encryption, efs.mount.iam_authorization),
                "each volume mounts as the plan says"
            );
        }
        let created = plan(WITH_VOLUME).efs.unwrap().mount.reason;
        assert!(created.contains("file system's policy"), "{created}");
    }

    #[test]
    fn scaling_policies_get_their_ids_and_names_here() {
        let plan = plan("services:\n  web:\n    image: nginx\n    x-ecs:\n      autoscaling: {min: 1, max: 4, cpu: 60, memory: 70}\n  api:\n    image: api\n    x-ecs:\n      autoscaling: {min: 1, max: 2, memory: 80}\n");
        let policies: Vec<Vec<(&str, &str, ScalingMetric, u32)>> = plan
            .tasks
            .iter()
            .map(|t| {
                let autoscaling = t.autoscaling.as_ref().expect("autoscaling");
                autoscaling
                    .policies
                    .iter()
                    .map(|p| (p.logical_id.as_str(), p.name.as_str(), p.metric, p.target))
                    .collect()
            })
            .collect();
        assert_eq!(
            policies,
            [
                vec![
                    ("ScalableTargetWebCpuPolicy", "app-web-cpu", ScalingMetric::Cpu, 60),
                    (
                        "ScalableTargetWebMemoryPolicy",
                        "app-web-memory",
                        ScalingMetric::Memory,
                        70
                    ),
                ],
                vec![(
                    "ScalableTargetApiMemoryPolicy",
                    "app-api-memory",
                    ScalingMetric::Memory,
                    80
                )],
            ]
        );
    }

    #[test]
    fn each_mount_target_gets_its_logical_id_here() {
        let ids = |compose: &str| plan(compose).efs.unwrap().mount_target_logical_ids;
        assert_eq!(ids(WITH_VOLUME), ["MountTargetA", "MountTargetB"]);
        assert_eq!(
            ids(&format!("{WITH_VOLUME}x-ecs:\n  mount_targets: 3\n")),
            ["MountTargetA", "MountTargetB", "MountTargetC"]
        );
        // An existing file system has its mount targets: the stack makes none.
        assert!(ids(&format!("{WITH_VOLUME}x-ecs:\n  file_system: fs-0123456789abcdef0\n")).is_empty());
    }

    #[test]
    fn finds_the_path_a_healthcheck_probes() {
        assert_eq!(
            local_http_path("http://localhost:3000/health", 3000).as_deref(),
            Some("/health")
        );
        assert_eq!(
            local_http_path("'http://127.0.0.1/ready?full=1'", 80).as_deref(),
            Some("/ready")
        );
        assert_eq!(local_http_path("http://localhost:8080", 8080).as_deref(), Some("/"));
        assert_eq!(local_http_path("https://localhost/up", 443).as_deref(), Some("/up"));
        assert_eq!(
            local_http_path("http://localhost:9090/metrics", 3000),
            None,
            "another port"
        );
        assert_eq!(local_http_path("http://api:3000/health", 3000), None, "not localhost");
        assert_eq!(local_http_path("localhost:3000", 3000), None, "not a URL");
        assert_eq!(local_http_path("http://localhost:x/", 3000), None);
        assert_eq!(
            local_http_path("http://localhost:8080/healthz||exit", 8080).as_deref(),
            Some("/healthz"),
            "a shell operator ends the URL"
        );
    }
}
