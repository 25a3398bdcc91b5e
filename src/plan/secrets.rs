//! Compose secrets on ECS. Compose gives a service each secret as a file under `/run/secrets`; ECS
//! gives secrets only as environment variables. So a task whose services use secrets gets one more
//! container, `compose2ecs-secrets`, that receives them from Secrets Manager (or SSM) through ECS
//! `secrets` and writes each service's files, with compose's owner and mode, into a volume of that
//! service mounted read-only at `/run/secrets`; the services start once it has finished. No value
//! ever passes through compose2ecs or its output.

use super::hostnames::excerpt;
use super::passwords::{holds_a_password, holds_a_secret, mask_arguments, mask_credentials, names_a_secret};
use super::{
    logical_id, Container, Context, DeployValue, PlainSecret, PlainSecretSite, PolicyResource, SecretPlan, Source,
    TaskDraft, TaskShape,
};
use super::{secrets_writer, shell};
use crate::diagnostic::{Code, Diagnostic, KeyPath};
use crate::normalise::{
    is_secrets_manager_name_char, SecretSource, SecretValue, Service, Withheld, SECRETS_MANAGER_NAME_LENGTH,
};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Secret environment variables become ECS `secrets`; compose secrets become files written by
/// the secrets writer of each task whose services use them. Returns every secret used, and by
/// task the values that must stay in plain text although they hold a secret.
pub(super) fn secrets(
    cx: &mut Context,
    tasks: &mut [TaskDraft],
    shapes: &[TaskShape],
) -> (Vec<SecretPlan>, Vec<Vec<PlainSecret>>) {
    let mut used: BTreeMap<String, SecretPlan> = BTreeMap::new();
    // Each used secret's logical id → its name, to find two with one id.
    let mut used_ids: HashMap<String, String> = HashMap::new();
    let mut plain_by_task = Vec::with_capacity(tasks.len());
    for (task, shape) in tasks.iter_mut().zip(shapes) {
        let mut plain_secrets = Vec::new();
        for container in task.containers.iter_mut() {
            secret_variables(cx, container, &mut used, &mut used_ids, &mut plain_secrets);
            json_key_variables(cx, container, &mut used, &mut used_ids);
            secrets_where_ecs_takes_none(cx, container, &shape.tags, &mut plain_secrets);
        }
        plain_by_task.push(plain_secrets);
    }
    for task in tasks.iter_mut() {
        secrets_writer::add_secrets_writer(cx, task, &mut used, &mut used_ids);
    }
    let mut secrets: Vec<SecretPlan> = used.into_values().collect();
    assign_stacks(cx, &mut secrets);
    (secrets, plain_by_task)
}

/// The secrets stacks, by part (`stacks::parts_of_kind`): none for a project without secrets
/// that has none deployed. Once deployed, they stay (empty when their secrets are gone) until
/// `down`: each may have a policy on the execution role, which would keep the base stack from
/// being deleted.
pub(super) fn stacks(cx: &Context, secrets: &[SecretPlan]) -> Vec<u32> {
    if secrets.is_empty() && super::stacks::deployed_parts(cx, "secrets").is_empty() {
        return Vec::new();
    }
    super::stacks::parts_of_kind(cx, "secrets", secrets.iter().map(|secret| secret.stack_part))
}

/// Which secrets stack creates each secret (`stacks::assign_parts`), in name order: a secret
/// never moves between stacks, as the stacks retain their secrets (a move would leave it in
/// Secrets Manager, and the next stack could not create it again under its name).
fn assign_stacks(cx: &mut Context, secrets: &mut [SecretPlan]) {
    let created: Vec<&mut SecretPlan> = secrets
        .iter_mut()
        .filter(|secret| secret.policy_resource == PolicyResource::Created)
        .collect();
    let outputs: Vec<String> = created.iter().map(|s| format!("{}Arn", s.logical_id)).collect();
    let parts = super::stacks::assign_parts(cx, "secrets", &outputs, super::stacks::SECRETS_PER_STACK);
    for ((secret, part), output) in created.into_iter().zip(parts).zip(&outputs) {
        secret.stack_part = part;
        if part > 1 {
            cx.defer_to_part(output, "secrets", part);
        }
    }
}

/// ECS ComposeX's `JsonKeys` of the secrets a service uses: each key of the secret's JSON is an
/// ECS secret (`ARN:KEY::`) read into a variable of the service's container.
fn json_key_variables(
    cx: &mut Context,
    container: &mut Container,
    used: &mut BTreeMap<String, SecretPlan>,
    used_ids: &mut HashMap<String, String>,
) {
    // The project outlives the context's borrow: its services and secrets are read while the
    // context records what is used.
    let project = cx.project;
    let Some(service) = project.service(&container.service) else {
        return;
    };
    for secret_use in &service.secrets {
        let Some(definition) = project.secret(&secret_use.secret) else {
            continue;
        };
        let SecretSource::External { reference } = &definition.source else {
            continue;
        };
        if definition.key_variables.is_empty() || !plan_secret(cx, &secret_use.secret, used, used_ids) {
            continue;
        }
        for (key, variable) in &definition.key_variables {
            let taken = container.environment.iter().any(|(name, _)| name == variable)
                || container.secrets.iter().any(|(name, _)| name == variable);
            if taken {
                cx.diagnostics.push(
                    Diagnostic::error(
                        Code::BadSecret,
                        secret_use.path.clone(),
                        format!(
                            "`{variable}` of `{}` is set twice: by its environment, and from the key `{key}` of secret `{}`",
                            service.name, secret_use.secret
                        ),
                    )
                    .with_help("remove the variable from `environment`, or give the key another `VarName`"),
                );
                continue;
            }
            container
                .secrets
                .push((variable.clone(), DeployValue::Known(format!("{reference}:{key}::"))));
        }
    }
}

/// A variable that holds a secret (by its name, or a password in its value) is written in
/// plain text with a warning, unless the user asked for such values to be referenced
/// (`x-ecs.environment_secrets: true`, or the service's `x-ecs.secret_variables`): then it is an
/// ECS secret read from Secrets Manager `PROJECT/SERVICE/VARIABLE`, created empty by the secrets
/// stack, and its value (after references were resolved) goes nowhere but to the user, masked.
fn secret_variables(
    cx: &mut Context,
    container: &mut Container,
    used: &mut BTreeMap<String, SecretPlan>,
    used_ids: &mut HashMap<String, String>,
    plain_secrets: &mut Vec<PlainSecret>,
) {
    let Some(service) = cx.project.service(&container.service) else {
        return;
    };
    let listed: HashSet<&str> = service
        .ecs
        .secret_variables
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    let mut kept = Vec::new();
    // The container's environment is the service's, entry for entry.
    for (index, (name, value)) in std::mem::take(&mut container.environment).into_iter().enumerate() {
        let path = service
            .environment
            .get(index)
            .filter(|v| v.name == name)
            .map_or_else(|| service.path.key("environment"), |v| v.path.clone());
        let looks_secret = holds_a_secret(&name, &value) || holds_a_password(&value);
        let asked = listed.contains(name.as_str()) || (looks_secret && cx.project.settings.environment_secrets);
        if !asked {
            if looks_secret {
                cx.diagnostics.push(
                        Diagnostic::warning(
                            Code::PlainSecret,
                            path,
                            format!("`{name}` holds a secret; it is written in plain text into the task definition"),
                        )
                        .with_help("set `x-ecs: {environment_secrets: true}` at the top level to read such values from Secrets Manager, or make it a compose secret (a file under `/run/secrets`)"),
                    );
                plain_secrets.push(PlainSecret {
                    shown: masked(&name, &value),
                    site: PlainSecretSite::Environment {
                        container: container.name.clone(),
                        variable: name.clone(),
                    },
                });
            }
            kept.push((name, value));
            continue;
        }
        if let Some(value_from) = secret_variable(cx, service, &name, &value, path, used, used_ids) {
            container.secrets.push((name, value_from));
        }
    }
    container.environment = kept;
    warn_unknown_secret_variables(cx, service);
}

/// Plans the Secrets Manager secret `PROJECT/SERVICE/NAME` that holds the variable `name` of
/// `service`, and returns the ECS secret's `valueFrom`; `None`, with an error, when the secret
/// cannot have that name on AWS.
fn secret_variable(
    cx: &mut Context,
    service: &Service,
    name: &str,
    value: &str,
    path: KeyPath,
    used: &mut BTreeMap<String, SecretPlan>,
    used_ids: &mut HashMap<String, String>,
) -> Option<DeployValue> {
    let secret = format!("{}/{name}", service.name);
    if let Some(problem) = secrets_manager_name_problem(&cx.project.name, &secret) {
        cx.diagnostics.push(
            Diagnostic::error(
                Code::BadSecret,
                path,
                format!(
                    "`{name}` would be read from the Secrets Manager secret `{}/{secret}`, which {problem}",
                    cx.project.name
                ),
            )
            .with_help("rename the variable: letters, digits and `_`, as shells read them"),
        );
        return None;
    }
    // `DATABASE_URL` reads `DatabaseUrl` in the stack's names.
    let logical = format!(
        "Secret{}{}",
        logical_id(&service.name),
        logical_id(&name.to_ascii_lowercase())
    );
    // Its output is `…Arn`, and CloudFormation takes names of at most 255 characters.
    if logical.len() + "Arn".len() > 255 {
        cx.diagnostics.push(
            Diagnostic::error(
                Code::NameTooLong,
                path,
                format!(
                    "`{name}` of `{}` would name a stack output longer than CloudFormation's 255 characters",
                    service.name
                ),
            )
            .with_help("use a shorter variable or service name"),
        );
        return None;
    }
    if let Some(other) = used_ids.get(&logical) {
        cx.diagnostics.push(
            Diagnostic::error(
                Code::NameCollision,
                path,
                format!("secrets `{other}` and `{secret}` get the same name on AWS (`{logical}`)"),
            )
            .with_help("rename one of them"),
        );
        return None;
    }
    let value_from = cx.deferred(&format!("{logical}Arn"), Source::Stack("secrets"));
    cx.diagnostics.push(
            Diagnostic::note(
                Code::SecretVariable,
                path,
                format!(
                    "`{name}` is read from the Secrets Manager secret `{}/{secret}`; its value is not written",
                    cx.project.name
                ),
            )
            .with_help(format!(
                "after deploying the secrets stacks, put the value: `aws secretsmanager put-secret-value --secret-id {} --secret-string …` ({})",
                shell::word(&format!("{}/{secret}", cx.project.name)),
                shown_value(value)
            )),
        );
    used_ids.insert(logical.clone(), secret.clone());
    used.insert(
        secret.clone(),
        SecretPlan {
            name: secret,
            logical_id: logical,
            value_from: value_from.clone(),
            policy_resource: PolicyResource::Created,
            value: Some(SecretValue::Text(Withheld(value.to_string()))),
            stack_part: 1,
        },
    );
    Some(value_from)
}

/// Warns of each name in the service's `x-ecs.secret_variables` that is none of its variables.
fn warn_unknown_secret_variables(cx: &mut Context, service: &Service) {
    let variables: HashSet<&str> = service.environment.iter().map(|v| v.name.as_str()).collect();
    for (listed, path) in &service.ecs.secret_variables {
        if !variables.contains(listed.as_str()) {
            cx.diagnostics.push(
                Diagnostic::warning(
                    Code::UnknownVariable,
                    path.clone(),
                    format!("`{listed}` is not a variable of `{}`", service.name),
                )
                .with_help("list the names of the service's `environment` variables"),
            );
        }
    }
}

/// Passwords in a command, an entrypoint, a health check, a label or a deploy label: ECS reads
/// no secret into these, so each is written as it is, with a `plain-secret` warning that says
/// where (never the value) and how to move the password where ECS can take it as a secret.
fn secrets_where_ecs_takes_none(
    cx: &mut Context,
    container: &Container,
    task_tags: &[(String, String)],
    plain_secrets: &mut Vec<PlainSecret>,
) {
    let Some(service) = cx.project.service(&container.service) else {
        return;
    };
    let health_check = container.health_check.as_ref().map(|h| h.command.as_slice());
    let lists = [
        ("command", container.command.as_deref(), service.path.key("command")),
        (
            "entrypoint",
            container.entrypoint.as_deref(),
            service.path.key("entrypoint"),
        ),
        (
            "healthcheck.test",
            health_check,
            service.path.key("healthcheck").key("test"),
        ),
    ];
    let move_it = if cx.project.settings.environment_secrets {
        "an environment variable, which `environment_secrets` reads from Secrets Manager"
    } else {
        "an environment variable, read from Secrets Manager with `x-ecs: {environment_secrets: true}`"
    };
    for (key, arguments, path) in lists {
        let arguments = arguments.unwrap_or_default();
        let mut holding = Vec::new();
        for (index, (argument, shown)) in arguments.iter().zip(mask_arguments(arguments)).enumerate() {
            if *argument == shown {
                continue;
            }
            holding.push(format!("`{key}[{index}]`"));
            let (container, argument) = (container.name.clone(), index);
            let site = match key {
                "command" => PlainSecretSite::Command { container, argument },
                "entrypoint" => PlainSecretSite::Entrypoint { container, argument },
                _ => PlainSecretSite::Healthcheck { container, argument },
            };
            plain_secrets.push(PlainSecret { site, shown });
        }
        if holding.is_empty() {
            continue;
        }
        cx.diagnostics.push(
                Diagnostic::warning(
                    Code::PlainSecret,
                    path,
                    format!(
                        "{} of `{}` holds a password; ECS reads no secret into `{key}`, so it is written in plain text into the task definition",
                        holding.join(", "),
                        service.name
                    ),
                )
                .with_help(format!(
                    "move the password into {move_it}, and write `$$VARIABLE` in its place, in a shell form (`sh -c`, `CMD-SHELL`) that expands it"
                )),
            );
    }
    let labels = container
        .runtime
        .docker_labels
        .iter()
        .map(|(key, value)| ("label", key, value, service.path.key("labels").key(key.as_str())));
    let tags = service
        .tags
        .iter()
        .map(|(key, value, path)| ("deploy label", key, value, path.clone()));
    let mut warnings = Vec::new();
    for (what, key, value, path) in labels.chain(tags) {
        if holds_a_secret(key, value) || holds_a_password(value) {
            // A deploy label is a tag of the ECS service when it is the one its task kept.
            let site = if what == "label" {
                Some(PlainSecretSite::Label {
                    container: container.name.clone(),
                    key: key.clone(),
                })
            } else {
                let kept = task_tags.iter().any(|(k, v)| k == key && v == value);
                let site = PlainSecretSite::Tag { key: key.clone() };
                (kept && !plain_secrets.iter().any(|p| p.site == site)).then_some(site)
            };
            if let Some(site) = site {
                plain_secrets.push(PlainSecret {
                    site,
                    shown: masked(key, value),
                });
            }
            warnings.push(
                    Diagnostic::warning(
                        Code::PlainSecret,
                        path,
                        format!("the {what} `{key}` of `{}` holds a secret; ECS has no secrets for labels, so it is written in plain text, for anyone who can describe the task or service to read", service.name),
                    )
                    .with_help(format!("keep the secret out of labels: pass it in {move_it}")),
                );
        }
    }
    for warning in warnings {
        cx.diagnostics.push(warning);
    }
}

/// Plans a defined secret once; `false` when it is not defined (normalise reported that).
pub(super) fn plan_secret(
    cx: &mut Context,
    name: &str,
    used: &mut BTreeMap<String, SecretPlan>,
    used_ids: &mut HashMap<String, String>,
) -> bool {
    if !used.contains_key(name) {
        let Some(definition) = cx.project.secret(name) else {
            return false;
        };
        let logical = format!("Secret{}", logical_id(name));
        if let Some(other) = used_ids.get(&logical) {
            cx.diagnostics.push(
                Diagnostic::error(
                    Code::NameCollision,
                    definition.path.clone(),
                    format!("secrets `{other}` and `{name}` get the same name on AWS (`{logical}`)"),
                )
                .with_help("rename one of them"),
            );
            return false;
        }
        let (value_from, policy_resource) = match &definition.source {
            SecretSource::Local { .. } => {
                if let Some(problem) = secrets_manager_name_problem(&cx.project.name, name) {
                    cx.diagnostics.push(
                        Diagnostic::error(
                            Code::BadSecret,
                            definition.path.clone(),
                            format!("the Secrets Manager secret `{}/{name}` {problem}", cx.project.name),
                        )
                        .with_help("give the secret a shorter name"),
                    );
                    return false;
                }
                (
                    cx.deferred(&format!("{logical}Arn"), Source::Stack("secrets")),
                    PolicyResource::Created,
                )
            }
            SecretSource::External { reference } => {
                let resource = policy_resource(reference);
                if let PolicyResource::SsmParameterName(parameter) = &resource {
                    cx.diagnostics.push(
                            Diagnostic::note(
                                Code::SsmParameter,
                                definition.path.clone(),
                                format!("secret `{name}` is read from the SSM parameter `{parameter}` of the task's region and account"),
                            )
                            .with_help("for a Secrets Manager secret, give its ARN in `name:`"),
                        );
                }
                (DeployValue::Known(reference.clone()), resource)
            }
            SecretSource::Undeclared => return false, // Normalise refused its use.
        };
        used_ids.insert(logical.clone(), name.to_string());
        used.insert(
            name.to_string(),
            SecretPlan {
                name: name.to_string(),
                logical_id: logical,
                value_from,
                policy_resource,
                value: match &definition.source {
                    SecretSource::Local { value } => value.clone(),
                    _ => None,
                },
                stack_part: 1,
            },
        );
    }
    true
}

/// The writer's environment variable for a secret: `db-password` → `SECRET_DB_PASSWORD`, with a
/// number after it when another secret of the task already has that name (`db_password`).
pub(super) fn variable_name<'a>(secret: &str, taken: impl Iterator<Item = &'a String> + Clone) -> String {
    let word: String = secret
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    let base = format!("SECRET_{word}");
    let mut candidate = base.clone();
    let mut number = 1;
    while taken.clone().any(|t| *t == candidate) {
        number += 1;
        candidate = format!("{base}_{number}");
    }
    candidate
}

/// What keeps `PROJECT/NAME` from naming a Secrets Manager secret, if anything.
fn secrets_manager_name_problem(project: &str, name: &str) -> Option<String> {
    let full = format!("{project}/{name}");
    if !full.chars().all(is_secrets_manager_name_char) {
        Some("has a character Secrets Manager does not allow (it takes letters, digits and `/_+=.@-`)".to_string())
    } else if full.len() > SECRETS_MANAGER_NAME_LENGTH {
        Some(format!(
            "has {} characters, more than Secrets Manager's {SECRETS_MANAGER_NAME_LENGTH}",
            full.len()
        ))
    } else {
        None
    }
}

/// The IAM resource for an existing secret ECS reads from `reference`. A Secrets Manager
/// `valueFrom` may go on past the secret's ARN (`:json-key:version-stage:version-id`), and a
/// partial ARN lacks the six random characters after the name: IAM needs the secret's whole ARN.
pub(super) fn policy_resource(reference: &str) -> PolicyResource {
    if !reference.starts_with("arn:") {
        return PolicyResource::SsmParameterName(reference.trim_start_matches('/').to_string());
    }
    let parts: Vec<&str> = reference.split(':').collect();
    if parts.get(2) != Some(&"secretsmanager") || parts.len() < 7 {
        return PolicyResource::SsmParameterArn(reference.to_string());
    }
    let arn = parts[..7].join(":");
    let has_suffix = parts[6]
        .rsplit_once('-')
        .is_some_and(|(_, suffix)| suffix.len() == 6 && suffix.bytes().all(|b| b.is_ascii_alphanumeric()));
    PolicyResource::SecretsManager(if has_suffix { arn } else { format!("{arn}-??????") })
}

/// A value that holds a secret as views of the plan show it: all `***` when its name says it is
/// a secret, else with each password in it as `***`.
fn masked(name: &str, value: &str) -> String {
    if names_a_secret(name) && !value.is_empty() {
        "***".to_string()
    } else {
        mask_credentials(value)
    }
}

/// How the user is told what to put: a URL or DSN with its password masked (the host may have
/// been rewritten, so they need its shape), else nothing of the value.
fn shown_value(value: &str) -> String {
    if holds_a_password(value) {
        format!(
            "the value is `{}`, with the real password",
            excerpt(&mask_credentials(value), 0)
        )
    } else {
        "the value compose has".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A service whose environment, command, labels and deploy labels hold secrets in plain text.
    const PLAIN: &str = "services:\n  app:\n    image: app\n    environment:\n      API_TOKEN: sentinel-token\n      DATABASE_URL: postgres://app:sentinel-url@db/app\n      MODE: fast\n    command: [\"redis-cli\", \"-a\", \"sentinel-flag\"]\n    labels:\n      com.example.backup: \"s3://k:sentinel-label@bucket\"\n    deploy:\n      labels:\n        team: shop\n        api_key: sentinel-tag\n";

    #[test]
    fn plain_secrets_are_recorded_with_how_the_plan_shows_them() {
        let plan = crate::test_conversion(PLAIN).plan.expect("it converts");
        let container = || "app".to_string();
        let recorded: Vec<(PlainSecretSite, &str)> = plan.tasks[0]
            .plain_secrets
            .iter()
            .map(|p| (p.site.clone(), p.shown.as_str()))
            .collect();
        assert_eq!(
            recorded,
            [
                (
                    PlainSecretSite::Environment {
                        container: container(),
                        variable: "API_TOKEN".into()
                    },
                    "***"
                ),
                (
                    PlainSecretSite::Environment {
                        container: container(),
                        variable: "DATABASE_URL".into()
                    },
                    "postgres://app:***@db/app"
                ),
                (
                    PlainSecretSite::Command {
                        container: container(),
                        argument: 2
                    },
                    "***"
                ),
                (
                    PlainSecretSite::Label {
                        container: container(),
                        key: "com.example.backup".into()
                    },
                    "s3://k:***@bucket"
                ),
                (PlainSecretSite::Tag { key: "api_key".into() }, "***"),
            ]
        );
    }

    #[test]
    fn a_deploy_label_left_out_of_the_tags_is_no_plain_tag() {
        // Two services of one task give `api_key` different values: the task keeps the first.
        let plan = crate::test_conversion("services:\n  a:\n    image: a\n    deploy:\n      labels: {api_key: one}\n  b:\n    image: b\n    x-ecs: {task: a}\n    deploy:\n      labels: {api_key: two}\n")
            .plan
            .expect("it converts");
        let tags: Vec<&PlainSecretSite> = plan.tasks[0].plain_secrets.iter().map(|p| &p.site).collect();
        assert_eq!(tags, [&PlainSecretSite::Tag { key: "api_key".into() }]);
    }

    #[test]
    fn a_json_key_s_variable_is_a_secret_of_the_container_once() {
        let compose = |environment: &str| {
            format!(
                "services:\n  api: {{image: a, secrets: [token]{environment}}}\nsecrets:\n  token:\n    x-secrets:\n      \
                 Name: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:token-AbCdEf'\n      JsonKeys: [{{SecretKey: value, VarName: API_TOKEN}}]\n"
            )
        };
        let conversion = crate::test_conversion(&compose(""));
        let plan = conversion.plan.expect("it converts");
        let api = plan
            .tasks
            .iter()
            .flat_map(|t| &t.containers)
            .find(|c| c.service == "api")
            .unwrap();
        let secrets: Vec<(&str, String)> = api.secrets.iter().map(|(n, v)| (n.as_str(), v.text())).collect();
        assert_eq!(
            secrets,
            [(
                "API_TOKEN",
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:token-AbCdEf:value::".to_string()
            )]
        );
        let twice = crate::test_conversion(&compose(", environment: {API_TOKEN: x}"));
        assert!(twice.plan.is_none());
        assert!(twice.diagnostics.iter().any(|d| d.code == Code::BadSecret), "set twice");
    }

    #[test]
    fn a_secret_s_file_where_another_s_folder_is_refused() {
        let arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:keys-AbCdEf";
        let compose = format!(
            "services:\n  api:\n    image: a\n    secrets: [keys, {{source: other, target: keys/stripe/x}}]\n\
             secrets:\n  keys: {{external: true, name: '{arn}', x-aws-keys: [stripe]}}\n  other: {{external: true, name: /prod/other}}\n"
        );
        let conversion = crate::test_conversion(&compose);
        assert!(conversion.plan.is_none());
        assert!(
            conversion
                .diagnostics
                .iter()
                .any(|d| d.code == Code::BadSecret && d.message.contains("`/run/secrets/keys/stripe`")),
            "{:?}",
            conversion.diagnostics
        );
    }

    #[test]
    fn policy_resources_name_the_whole_secret() {
        let sm = |arn: &str| PolicyResource::SecretsManager(arn.to_string());
        assert_eq!(
            policy_resource("arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf:password::"),
            sm("arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf")
        );
        assert_eq!(
            policy_resource("arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/api"),
            sm("arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/api-??????")
        );
        assert_eq!(
            policy_resource("/prod/db"),
            PolicyResource::SsmParameterName("prod/db".to_string())
        );
    }

    #[test]
    fn secrets_manager_names() {
        assert_eq!(secrets_manager_name_problem("shop", "web/DATABASE_URL"), None);
        assert!(secrets_manager_name_problem("shop", "web/A B").is_some());
        assert!(secrets_manager_name_problem("shop", "web/A;rm -rf").is_some());
        assert!(secrets_manager_name_problem("shop", "web/A\u{2028}").is_some());
        let long = "A".repeat(SECRETS_MANAGER_NAME_LENGTH - "shop/".len());
        assert_eq!(secrets_manager_name_problem("shop", &long), None);
        assert!(secrets_manager_name_problem("shop", &format!("{long}B")).is_some());
    }

    #[test]
    fn variable_names_are_unique() {
        let taken = ["SECRET_DB_PASSWORD".to_string()];
        assert_eq!(variable_name("db-password", [].iter()), "SECRET_DB_PASSWORD");
        assert_eq!(variable_name("db_password", taken.iter()), "SECRET_DB_PASSWORD_2");
    }
}
