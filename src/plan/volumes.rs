//! Volumes: an EFS access point per named volume in use, and each task definition's volumes.

use super::*;
use crate::diagnostic::Code;

/// An EFS access point per named volume some task mounts, and each task definition's volumes
/// (by task).
pub(super) fn volumes(cx: &mut Context, tasks: &[TaskDraft]) -> (Vec<VolumePlan>, Vec<Vec<TaskVolume>>) {
    // Each volume's services, in task and compose order, found in one pass.
    let project = cx.project;
    let mut mounted_by: HashMap<&str, Vec<&Service>> = HashMap::new();
    for container in tasks.iter().flat_map(|t| &t.containers) {
        let shared: BTreeSet<&str> = container
            .mounts
            .iter()
            .filter(|m| !m.task_storage)
            .map(|m| m.volume.as_str())
            .collect();
        for volume in shared {
            mounted_by
                .entry(volume)
                .or_default()
                .extend(project.service(&container.service));
        }
    }
    let mut volumes = access_points(cx, &mounted_by);
    assign_stacks(cx, &mut volumes);
    let file_system_id = if volumes.is_empty() {
        None
    } else if let Some((id, _)) = &cx.project.settings.infrastructure.file_system {
        Some(DeployValue::Known(id.clone()))
    } else {
        Some(cx.deferred("FileSystemId", Source::Stack("efs")))
    };
    let efs_mount = infrastructure::efs_mount(cx);
    let by_name: HashMap<&str, &VolumePlan> = volumes.iter().map(|v| (v.ecs_name.as_str(), v)).collect();
    let task_volumes = tasks
        .iter()
        .map(|task| task_volumes(task, &by_name, file_system_id.as_ref(), &efs_mount))
        .collect();
    (volumes, task_volumes)
}

/// Which EFS stack makes each access point (`stacks::assign_parts`); the volumes then sorted by
/// it. An access point never moves between stacks: that would delete it, and its folder's id, in
/// one and make another in the next, under tasks still mounting the first.
fn assign_stacks(cx: &mut Context, volumes: &mut [VolumePlan]) {
    let outputs: Vec<String> = volumes.iter().map(|v| format!("{}Id", v.logical_id)).collect();
    let parts = super::stacks::assign_parts(cx, "efs", &outputs, super::stacks::ACCESS_POINTS_PER_STACK);
    for ((volume, part), output) in volumes.iter_mut().zip(parts).zip(&outputs) {
        volume.stack_part = part;
        volume.access_point_id = cx.deferred(output, Source::StackPart("efs", part));
    }
    volumes.sort_by_key(|v| v.stack_part);
}

/// The EFS stacks the project has, by part (`stacks::parts_of_kind`): a stack whose access points
/// are all gone may hold a policy on the task roles, which would keep them from being deleted.
pub(super) fn efs_stacks(cx: &Context, volumes: &[VolumePlan]) -> Vec<u32> {
    super::stacks::parts_of_kind(cx, "efs", volumes.iter().map(|v| v.stack_part))
}

/// An access point per named volume in use, with the owner its folder gets.
fn access_points(cx: &mut Context, mounted_by: &HashMap<&str, Vec<&Service>>) -> Vec<VolumePlan> {
    let mut volumes: Vec<VolumePlan> = Vec::new();
    let mut ids: BTreeMap<String, &str> = BTreeMap::new();
    for volume in &cx.project.volumes {
        let ecs_name = task_name(&volume.name);
        let Some(mounted_by) = mounted_by.get(ecs_name.as_str()) else {
            continue;
        };
        let logical = format!("AccessPoint{}", logical_id(&volume.name));
        if let Some(other) = ids.insert(logical.clone(), &volume.name) {
            cx.diagnostics.push(
                Diagnostic::error(
                    Code::NameCollision,
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
        // A file system of the user's may hold other projects (or this one's other environments):
        // their folders stay apart under the project's name. A volume that is the file system
        // (`external`, `name: fs-…`) is its root, where its files are.
        let root_directory = match (
            &volume.existing_file_system,
            &cx.project.settings.infrastructure.file_system,
        ) {
            (Some(_), _) => "/".to_string(),
            (None, Some(_)) => format!("/{}/{}", cx.project.name, volume.name),
            (None, None) => format!("/{}", volume.name),
        };
        // An access point's root directory is at most 100 characters.
        let folder_length = root_directory.len();
        if folder_length > MAXIMUM_ACCESS_POINT_PATH {
            cx.diagnostics.push(
                    Diagnostic::error(
                        Code::NameTooLong,
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
        let owner = infrastructure::volume_owner(volume, mounted_by);
        if let (Some(id), false) = (&volume.existing_file_system, owner.posix_user) {
            cx.diagnostics.push(
                Diagnostic::warning(
                    Code::WholeFileSystem,
                    volume.path.clone(),
                    format!("volume `{}` is the file system {id}, mounted from its root: the tasks reach every file on it, as their own users, root included", volume.name),
                )
                .with_help("give the volume `x-ecs: {uid, gid}` to act on it as one user; or, for a folder of its own, leave `external` out and name the file system in `x-ecs.file_system`"),
            );
        }
        volumes.push(VolumePlan {
            owner_uid: owner.uid,
            owner_gid: owner.gid,
            owner_reason: owner.reason,
            posix_user: owner.posix_user,
            // Without a POSIX user the tasks act as their own users, root included.
            root_access: !owner.posix_user,
            name: volume.name.clone(),
            ecs_name,
            root_directory,
            logical_id: logical,
            // Decided once every volume is known (`assign_stacks`).
            access_point_id: DeployValue::Placeholder(String::new()),
            stack_part: 0,
        });
    }
    volumes
}

/// A task definition's volumes: the EFS volumes its containers mount (`access_points` by ECS
/// name), then its task storage.
fn task_volumes(
    task: &TaskDraft,
    access_points: &HashMap<&str, &VolumePlan>,
    file_system_id: Option<&DeployValue>,
    efs_mount: &infrastructure::EfsMount,
) -> Vec<TaskVolume> {
    let shared: BTreeSet<&str> = task
        .containers
        .iter()
        .flat_map(|c| c.mounts.iter().filter(|m| !m.task_storage).map(|m| m.volume.as_str()))
        .collect();
    let mut task_volumes: Vec<TaskVolume> = shared
        .into_iter()
        .filter_map(|name| {
            let volume = access_points.get(name)?;
            Some(TaskVolume {
                name: name.to_string(),
                efs: Some(EfsVolume {
                    file_system_id: file_system_id?.clone(),
                    access_point_id: volume.access_point_id.clone(),
                    transit_encryption: efs_mount.transit_encryption,
                    iam_authorization: efs_mount.iam_authorization,
                }),
            })
        })
        .collect();
    let mut on_task_storage = BTreeSet::new();
    for container in &task.containers {
        for mount in container.mounts.iter().filter(|m| m.task_storage) {
            // The secrets writer mounts each service's secrets volume too; names are
            // unique in the task (`mounts::unique_task_storage_names`).
            if !on_task_storage.insert(mount.volume.clone()) {
                continue;
            }
            task_volumes.push(TaskVolume {
                name: mount.volume.clone(),
                efs: None,
            });
        }
    }
    task_volumes
}

/// The longest path of an EFS access point's root directory.
pub(super) const MAXIMUM_ACCESS_POINT_PATH: usize = 100;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::{project, run};

    type Planned = (Vec<VolumePlan>, Vec<Vec<TaskVolume>>);

    /// The volumes step over every task of `compose`, and the codes said.
    fn volumes_of(compose: &str) -> (Planned, Vec<Code>) {
        let project = project(compose);
        run(&project, |cx| {
            let grouping = grouping::group(cx).expect("groups");
            let drafts: Vec<TaskDraft> = grouping
                .tasks()
                .map(|(_, task)| TaskDraft {
                    name: task.name.clone(),
                    containers: containers::of_task(cx, task, &grouping),
                })
                .collect();
            volumes(cx, &drafts)
        })
    }

    #[test]
    fn an_access_point_per_volume_in_use_and_each_task_its_volumes() {
        let ((plans, tasks), codes) = volumes_of(
            "services:\n  db: {image: postgres, volumes: [\"db.data:/var/lib/postgresql/data\"]}\n  \
             web: {image: nginx, volumes: [\"db.data:/srv:ro\", \"/tmp\"]}\n\
             volumes:\n  db.data: {}\n  unused: {}\n",
        );
        // The anonymous volume lives as long as the task: a note says so.
        assert_eq!(codes, vec![Code::AnonymousOnTaskStorage]);
        let names: Vec<(&str, &str, &str)> = plans
            .iter()
            .map(|v| (v.name.as_str(), v.ecs_name.as_str(), v.root_directory.as_str()))
            .collect();
        assert_eq!(names, vec![("db.data", "db-data", "/db.data")]);
        assert_eq!(plans[0].logical_id, "AccessPointDbData");
        assert_eq!(
            plans[0].access_point_id,
            DeployValue::Placeholder("AccessPointDbDataId".into())
        );
        // Each task mounts the EFS volume; `web` also has task storage for its anonymous volume.
        assert_eq!(tasks.len(), 2);
        assert_eq!(tasks[0].len(), 1);
        assert_eq!(
            tasks[0][0].efs.as_ref().map(|e| &e.file_system_id),
            Some(&DeployValue::Placeholder("FileSystemId".into()))
        );
        assert_eq!(tasks[1][0].name, "db-data");
        assert!(tasks[1].iter().skip(1).all(|v| v.efs.is_none()) && tasks[1].len() == 2);
    }

    #[test]
    fn volumes_that_meet_on_ecs_or_are_too_long_are_refused() {
        let ((plans, _), codes) = volumes_of(
            "services:\n  a: {image: a, volumes: [\"x.y:/a\", \"x-y:/b\"]}\nvolumes:\n  x.y: {}\n  x-y: {}\n",
        );
        assert_eq!(plans.len(), 1);
        assert_eq!(codes, vec![Code::NameCollision]);
        let long = "v".repeat(100);
        let ((plans, _), codes) = volumes_of(&format!(
            "services:\n  a: {{image: a, volumes: [\"{long}:/a\"]}}\nvolumes:\n  {long}: {{}}\n"
        ));
        assert!(plans.is_empty());
        assert_eq!(codes, vec![Code::NameTooLong]);
    }
}
