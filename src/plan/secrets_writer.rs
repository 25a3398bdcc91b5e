//! The secrets writer: the container that writes each service's compose secrets as files, with
//! compose's owner and mode, into a volume of that service mounted read-only at `/run/secrets`.

use super::secrets::{plan_secret, variable_name};
use super::shell;
use super::{Container, ContainerRuntime, Context, DeployValue, GroupReason, MountPoint, SecretPlan, TaskDraft};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::normalise::{Condition, SecretUse, SECRETS_FOLDER};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The container that writes the secrets' files.
pub const SECRETS_CONTAINER: &str = "compose2ecs-secrets";
/// A small image with a POSIX shell, from ECR Public (no Docker Hub pull limits); `x-ecs.secrets_image`
/// names another (a copy in a private registry, for subnets that reach ECR through VPC endpoints).
const SECRETS_IMAGE: &str = "public.ecr.aws/docker/library/busybox:1.37";
/// Where the writer sees each service's secrets volume: `/secrets/CONTAINER`.
const WRITER_FOLDER: &str = "/secrets";
/// Compose's default mode for a secret's file.
const DEFAULT_MODE: &str = "0444";

/// Mounts a secrets volume read-only at `/run/secrets` in each container of the task whose
/// service uses compose secrets, and adds the container that writes their files, which those
/// containers wait for.
pub(super) fn add_secrets_writer(
    cx: &mut Context,
    task: &mut TaskDraft,
    used: &mut BTreeMap<String, SecretPlan>,
    used_ids: &mut HashMap<String, String>,
) {
    // (secret, JSON key) → variable: a secret with `x-aws-keys` has a variable per key.
    let mut variables: BTreeMap<(String, Option<String>), String> = BTreeMap::new();
    let mut script = vec!["set -eu".to_string()];
    let mut writer_mounts = Vec::new();
    for container in task.containers.iter_mut() {
        let Some(service) = cx.project.service(&container.service) else {
            continue;
        };
        if service.secrets.is_empty() {
            continue;
        }
        let volume = format!("{}-secrets", container.name);
        let folder = format!("{WRITER_FOLDER}/{}", container.name);
        let mut written = BTreeSet::new();
        for secret_use in &service.secrets {
            if !plan_secret(cx, &secret_use.secret, used, used_ids) {
                continue;
            }
            let relative = secret_file(cx, secret_use);
            let keys: Vec<Option<String>> = match cx.project.secret(&secret_use.secret) {
                Some(definition) if !definition.json_keys.is_empty() => {
                    definition.json_keys.iter().cloned().map(Some).collect()
                }
                _ => vec![None],
            };
            for key in keys {
                let file = match &key {
                    Some(key) => format!("{relative}/{key}"),
                    None => relative.clone(),
                };
                let variable = match variables.get(&(secret_use.secret.clone(), key.clone())) {
                    Some(variable) => variable.clone(),
                    None => {
                        let named = match &key {
                            Some(key) => format!("{}_{key}", secret_use.secret),
                            None => secret_use.secret.clone(),
                        };
                        let variable = variable_name(&named, variables.values());
                        variables.insert((secret_use.secret.clone(), key), variable.clone());
                        variable
                    }
                };
                write_once(
                    cx.diagnostics,
                    &mut script,
                    (&folder, &file),
                    &variable,
                    secret_use,
                    &mut written,
                    &service.name,
                );
            }
        }
        container.mounts.push(MountPoint {
            volume: volume.clone(),
            container_path: SECRETS_FOLDER.to_string(),
            read_only: true,
            task_storage: true,
        });
        container.depends_on.insert(
            0,
            (SECRETS_CONTAINER.to_string(), Condition::ServiceCompletedSuccessfully),
        );
        writer_mounts.push(MountPoint {
            volume,
            container_path: folder,
            read_only: false,
            task_storage: true,
        });
    }
    if variables.is_empty() {
        return;
    }
    if task.containers.iter().any(|c| c.name == SECRETS_CONTAINER) {
        cx.diagnostics.push(
            Diagnostic::error(
                Code::NameCollision,
                cx.task_path(&task.containers),
                format!(
                    "a service named `{SECRETS_CONTAINER}` takes the name of the container that writes the secrets"
                ),
            )
            .with_help("rename that service"),
        );
        return;
    }
    // A JSON key of a secret is ECS's `ARN:KEY::` (`x-aws-keys` takes existing secrets by ARN only).
    let secrets = variables
        .iter()
        .filter_map(|((secret, key), variable)| {
            let value_from = used.get(secret)?.value_from.clone();
            let value_from = match (key, value_from) {
                (Some(key), DeployValue::Known(arn)) => DeployValue::Known(format!("{arn}:{key}::")),
                (_, value_from) => value_from,
            };
            Some((variable.clone(), value_from))
        })
        .collect();
    task.containers
        .push(secrets_writer(cx, &script, secrets, writer_mounts));
}

/// Appends the commands that write one file (`relative` in `folder`) of a service's secrets, unless
/// another secret of the service is written there already (an error).
fn write_once(
    diagnostics: &mut Diagnostics,
    script: &mut Vec<String>,
    (folder, relative): (&str, &str),
    variable: &str,
    secret_use: &SecretUse,
    written: &mut BTreeSet<String>,
    service: &str,
) {
    // A file where another is, or a file where another's folder is (`keys` beside `keys/stripe`),
    // would stop the writer, and the containers that wait for it.
    let clash = written.iter().find(|other| {
        *other == relative || other.starts_with(&format!("{relative}/")) || relative.starts_with(&format!("{other}/"))
    });
    if let Some(other) = clash {
        diagnostics.push(
            Diagnostic::error(
                Code::BadSecret,
                secret_use.path.clone(),
                format!("`{SECRETS_FOLDER}/{relative}` of `{service}` is written where another of its secrets is, `{SECRETS_FOLDER}/{other}`"),
            )
            .with_help(format!("give this secret a target under `{SECRETS_FOLDER}` of its own")),
        );
        return;
    }
    written.insert(relative.to_string());
    write_secret_file(script, folder, relative, variable, secret_use);
}

/// Where a secret's file goes, relative to `/run/secrets`: its target there, or, with a warning,
/// the last part of a target elsewhere (ECS mounts only the whole folder).
fn secret_file(cx: &mut Context, secret_use: &SecretUse) -> String {
    match secret_use.target.strip_prefix(&format!("{SECRETS_FOLDER}/")) {
        Some(relative) if !relative.split('/').any(|part| part.is_empty() || part == "..") => relative.to_string(),
        _ => {
            let file = secret_use.target.rsplit('/').next().unwrap_or_default();
            let file = if file.is_empty() {
                secret_use.secret.as_str()
            } else {
                file
            };
            cx.diagnostics.push(
                    Diagnostic::warning(
                        Code::SecretTarget,
                        secret_use.path.clone(),
                        format!(
                            "ECS can mount the secrets' folder only as a whole: `{}` is written to `{SECRETS_FOLDER}/{file}` instead",
                            secret_use.target
                        ),
                    )
                    .with_help(format!("read the secret from `{SECRETS_FOLDER}/{file}`, or give a target under `{SECRETS_FOLDER}`")),
                );
            file.to_string()
        }
    }
}

/// Appends to the writer's script the commands that write a secret's file, `relative` in
/// `folder`, from its variable, with compose's owner and mode.
fn write_secret_file(script: &mut Vec<String>, folder: &str, relative: &str, variable: &str, secret_use: &SecretUse) {
    let file = shell::quote(&format!("{folder}/{relative}"));
    if let Some((parent, _)) = relative.rsplit_once('/') {
        script.push(format!("mkdir -p {}", shell::quote(&format!("{folder}/{parent}"))));
    }
    script.push(format!("printf '%s' \"${variable}\" > {file}"));
    let owner = secret_use.uid.as_deref().unwrap_or("0");
    let group = secret_use.gid.as_deref().unwrap_or("0");
    script.push(format!("chown {}:{} {file}", shell::quote(owner), shell::quote(group)));
    script.push(format!(
        "chmod {} {file}",
        secret_use.mode.as_deref().unwrap_or(DEFAULT_MODE)
    ));
}

/// The container that runs `script` once with the secrets as variables, writing their files
/// into the services' secrets volumes, mounted at `mounts`.
fn secrets_writer(
    cx: &Context,
    script: &[String],
    secrets: Vec<(String, DeployValue)>,
    mounts: Vec<MountPoint>,
) -> Container {
    Container {
        name: SECRETS_CONTAINER.to_string(),
        service: SECRETS_CONTAINER.to_string(),
        grouping: GroupReason::SecretsWriter,
        image: DeployValue::Known(
            cx.project
                .settings
                .secrets_image
                .clone()
                .unwrap_or_else(|| SECRETS_IMAGE.to_string()),
        ),
        command: None,
        entrypoint: Some(vec!["sh".to_string(), "-c".to_string(), script.join("\n")]),
        environment: Vec::new(),
        secrets,
        port_mappings: Vec::new(),
        ports: Vec::new(),
        port_ranges: Vec::new(),
        health_check: None,
        depends_on: Vec::new(),
        essential: false,
        mounts,
        tmpfs: Vec::new(),
        volumes_from: Vec::new(),
        capabilities_add: Vec::new(),
        capabilities_drop: Vec::new(),
        cpu: None,
        memory: None,
        memory_reservation: None,
        runtime: ContainerRuntime::default(),
        repository_credentials: None,
    }
}
