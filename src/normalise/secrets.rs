//! Compose secrets: the top-level definitions (where each value lives) and each service's uses
//! (which file it reads, with what owner and mode).

use super::reader::Reader;
use super::{SecretDefinition, SecretSource, SecretUse, SecretValue, Service, Withheld};
use crate::diagnostic::{did_you_mean, Code, Diagnostic, KeyPath};
use crate::load::interpolate::key_text;
use serde_yaml::{Mapping, Value};
use std::collections::{HashMap, HashSet};

/// Where compose puts a secret whose target is not an absolute path.
pub const SECRETS_FOLDER: &str = "/run/secrets";

/// Where a local secret's value is: its file, from the project folder, or its variable's value
/// (`None` when the variable is not set).
fn local_value(reader: &Reader, settings: &Mapping) -> Option<SecretValue> {
    match (
        settings.get("file").and_then(Value::as_str),
        settings.get("environment").and_then(Value::as_str),
    ) {
        (Some(file), _) => Some(SecretValue::File(reader.project_dir.join(file))),
        (None, Some(variable)) => reader
            .variables
            .get(variable)
            .map(|v| SecretValue::Text(Withheld(v.clone()))),
        (None, None) => None,
    }
}

/// Top-level `secrets`: `file:` or `environment:` (values the user puts into Secrets Manager),
/// or `external: true` with a `name` (an ARN, or an SSM parameter name).
pub(super) fn secret_definitions(reader: &mut Reader, value: Option<&Value>, path: &KeyPath) -> Vec<SecretDefinition> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Vec::new();
    };
    let Some(map) = value.as_mapping() else {
        reader.wrong_type(path, value, "a mapping of secret names");
        return Vec::new();
    };
    let mut definitions = Vec::new();
    for (key, settings) in map {
        let name = key_text(key);
        let secret_path = path.key(&name);
        let Some(settings) = settings.as_mapping() else {
            reader.wrong_type(
                &secret_path,
                settings,
                "a mapping with `file`, `environment` or `external`",
            );
            continue;
        };
        reader.check_keys(settings, "secrets.*", &secret_path);
        // `external: {name: N}` is the older form of `external: true` with `name: N`.
        let mut key_variables = Vec::new();
        let (external, external_name) = match settings.get("external") {
            Some(Value::Mapping(legacy)) => (true, legacy.get("name").cloned()),
            Some(value) => (
                reader.boolean(value, &secret_path.key("external")).unwrap_or(false),
                None,
            ),
            None => (false, None),
        };
        let source = if external {
            let (reference, reference_path) = match external_name.as_ref().or(settings.get("name")) {
                Some(v) => (reader.string(v, &secret_path.key("name")), secret_path.key("name")),
                None => (Some(name.clone()), secret_path.clone()),
            };
            let Some(reference) = reference else { continue };
            if let Some((problem, help)) = external_reference_problem(&reference) {
                reader.error(
                    Code::BadSecret,
                    &reference_path,
                    format!("`{}` {problem}", crate::quote::shown(&reference)),
                    help,
                );
                continue;
            }
            SecretSource::External { reference }
        } else if settings.contains_key("file") || settings.contains_key("environment") {
            SecretSource::Local {
                value: local_value(reader, settings),
            }
        } else if let Some(composex) = settings.get("x-secrets") {
            let Some((reference, variables)) = composex_secret(reader, composex, &secret_path.key("x-secrets")) else {
                continue;
            };
            key_variables = variables;
            SecretSource::External { reference }
        } else {
            // Compose minds this only when a service uses the secret, and so does check_secret_uses.
            SecretSource::Undeclared
        };
        // The secret is `PROJECT/NAME` in Secrets Manager; plan checks the whole name's length.
        let valid_name = name.chars().all(is_secrets_manager_name_char);
        // The name becomes CloudFormation logical ids, which take at most 255 characters.
        if name.chars().count() > MAXIMUM_SECRET_NAME {
            reader.error(
                Code::BadSecret,
                &secret_path,
                format!(
                    "the secret name `{}` is longer than {MAXIMUM_SECRET_NAME} characters",
                    crate::quote::shown(&name)
                ),
                "give the secret a shorter name",
            );
            continue;
        }
        if matches!(source, SecretSource::Local { .. }) && !valid_name {
            reader.error(
                Code::BadSecret,
                &secret_path,
                format!("`{name}` cannot name a Secrets Manager secret"),
                "use letters, digits and / _ + = . @ -",
            );
            continue;
        }
        let json_keys = match settings.get("x-aws-keys") {
            Some(keys) => json_keys(reader, keys, &source, &secret_path.key("x-aws-keys")),
            None => Vec::new(),
        };
        definitions.push(SecretDefinition {
            name,
            source,
            path: secret_path,
            json_keys,
            key_variables,
        });
    }
    definitions
}

/// A service's `secrets`: `- NAME` or `- {source, target, uid, gid, mode}`.
pub(super) fn secret_uses(reader: &mut Reader, value: &Value, path: &KeyPath) -> Vec<SecretUse> {
    let Some(items) = value.as_sequence() else {
        reader.wrong_type(path, value, "a list of secret names or `{source, target}` mappings");
        return Vec::new();
    };
    let mut uses = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let item_path = path.index(index);
        let secret_use = match item {
            Value::String(name) => SecretUse {
                secret: name.clone(),
                target: format!("{SECRETS_FOLDER}/{name}"),
                uid: None,
                gid: None,
                mode: None,
                path: item_path,
            },
            Value::Mapping(long) => match long_secret_use(reader, long, &item_path) {
                Some(secret_use) => secret_use,
                None => continue,
            },
            other => {
                reader.wrong_type(&item_path, other, "a secret name or a `{source, target}` mapping");
                continue;
            }
        };
        uses.push(secret_use);
    }
    uses
}

fn long_secret_use(reader: &mut Reader, long: &Mapping, path: &KeyPath) -> Option<SecretUse> {
    reader.check_keys(long, "services.*.secrets[]", path);
    let Some(secret) = long.get("source").and_then(|v| reader.string(v, &path.key("source"))) else {
        reader.error(
            Code::BadSecret,
            path,
            "a long-form secret needs `source`".into(),
            "`source` is the name of a top-level secret",
        );
        return None;
    };
    let target = match long.get("target").and_then(|v| reader.string(v, &path.key("target"))) {
        Some(target) if target.starts_with('/') => target,
        Some(target) => format!("{SECRETS_FOLDER}/{target}"),
        None => format!("{SECRETS_FOLDER}/{secret}"),
    };
    // The secrets writer creates this path: a `..` would reach another service's secrets.
    if target.split('/').skip(1).any(|part| matches!(part, "" | "." | "..")) || target.contains(char::is_control) {
        reader.error(
            Code::BadSecret,
            &path.key("target"),
            format!("the target `{}` is not a plain file path", crate::quote::shown(&target)),
            "give a file name, or an absolute path without `.`, `..` or an empty part",
        );
        return None;
    }
    let mode = match long.get("mode") {
        None => None,
        Some(value) => {
            let mode = match value {
                Value::Number(number) => number.as_u64().and_then(file_mode),
                // `0440` reaches here as text (YAML 1.2 has no leading-zero octal).
                Value::String(text) => {
                    let digits = text.trim().trim_start_matches("0o");
                    u32::from_str_radix(digits, 8)
                        .ok()
                        .filter(|mode| *mode <= 0o7777)
                        .map(|mode| format!("{mode:04o}"))
                }
                _ => None,
            };
            if mode.is_none() {
                reader.wrong_type(&path.key("mode"), value, "a file mode in octal digits, such as `0440`");
            }
            mode
        }
    };
    Some(SecretUse {
        secret,
        target,
        uid: long.get("uid").and_then(|v| numeric_id(reader, v, &path.key("uid"))),
        gid: long.get("gid").and_then(|v| numeric_id(reader, v, &path.key("gid"))),
        mode,
        path: path.clone(),
    })
}

/// A `uid` or `gid`: digits, since the file is written before the service's image is there
/// to turn a user name into a number.
fn numeric_id(reader: &mut Reader, value: &Value, path: &KeyPath) -> Option<String> {
    let text = reader.scalar_text(value, path)?;
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return Some(text);
    }
    reader.error(
        Code::BadSecret,
        path,
        format!("`{}` is not a numeric id", crate::quote::shown(&text)),
        "write the number (`id -u NAME` in the image tells it)",
    );
    None
}

/// Each service's secrets: defined at the top level (`section`), and each written to a file
/// of its own.
/// The most JSON keys of one secret read as files or variables: each is an ECS secret of the
/// container, and a task definition holds 64 KiB.
const MAXIMUM_JSON_KEYS: usize = 100;

/// A Secrets Manager secret's ARN, `arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME`, with
/// no JSON key, stage or version after it: ECS's `ARN:KEY::` takes a key in their place.
fn is_whole_secret_arn(reference: &str) -> bool {
    let parts: Vec<&str> = reference.split(':').collect();
    parts.len() == 7 && parts[0] == "arn" && parts[2] == "secretsmanager" && parts[5] == "secret"
}

/// Docker's `x-aws-keys: [KEY, …]`: the JSON keys of an existing Secrets Manager secret, each read
/// by ECS on its own (`ARN:KEY::`). `*` (every key) cannot be known without reading the secret.
fn json_keys(reader: &mut Reader, value: &Value, source: &SecretSource, path: &KeyPath) -> Vec<String> {
    let Some(keys) = reader.string_list(value, path) else {
        return Vec::new();
    };
    let problem = match source {
        SecretSource::External { reference } if is_whole_secret_arn(reference) => {
            if keys.len() > MAXIMUM_JSON_KEYS {
                Some((
                    "it lists more keys than the 100 compose2ecs writes as files",
                    "read the secret's JSON in the app, or split it",
                ))
            } else if keys.iter().any(|key| key == "*") {
                Some((
                    "`*` (every key) cannot be known without reading the secret",
                    "list the keys: `x-aws-keys: [stripe, mailgun]`",
                ))
            } else if keys
                .iter()
                .any(|key| key.is_empty() || key == "." || key == ".." || key.contains([':', '/']) || key.chars().any(char::is_control))
            {
                Some((
                    "a key is empty, `.` or `..`, or holds `:`, `/` or a control character: each is a file's name",
                    "list the JSON keys of the secret as they are",
                ))
            } else {
                None
            }
        }
        _ => Some((
            "ECS reads the keys of an existing Secrets Manager secret only, named by its ARN (without a key, stage or version of its own)",
            "give the secret `external: true` and its ARN as `name:`, or make one secret per value",
        )),
    };
    if let Some((problem, help)) = problem {
        reader.error(
            Code::BadSecret,
            path,
            format!("`{path}` cannot be read: {problem}"),
            help,
        );
        return Vec::new();
    }
    keys
}

/// ECS ComposeX's `x-secrets: {Name: …}`: an existing Secrets Manager secret, as `external: true`
/// with `name:` says it, and its `JsonKeys` (a variable per key of its JSON, in each service that
/// uses it). A secret found by `Lookup` (tags) has no name to use; its other keys are warned about.
fn composex_secret(reader: &mut Reader, value: &Value, path: &KeyPath) -> Option<(String, Vec<(String, String)>)> {
    let Some(settings) = value.as_mapping() else {
        reader.wrong_type(path, value, "ECS ComposeX's mapping with `Name`");
        return None;
    };
    let Some(name) = settings.get("Name") else {
        reader.error(
            Code::BadSecret,
            path,
            format!("`{path}` names no secret (`Name`): compose2ecs cannot look a secret up by its tags"),
            "give the secret's name or ARN as `external: true` with `name:`",
        );
        return None;
    };
    let reference = reader.string(name, &path.key("Name"))?;
    // compose2ecs reads a bare name as an SSM parameter's; ComposeX's is a Secrets Manager secret's.
    if !reference.starts_with("arn:") {
        reader.error(
            Code::BadSecret,
            &path.key("Name"),
            format!("`{path}.Name` names a Secrets Manager secret, which ECS finds by its ARN"),
            "write `external: true` and `name:` with the secret's ARN, as `aws secretsmanager describe-secret --secret-id NAME --query ARN` prints it",
        );
        return None;
    }
    if let Some((problem, help)) = external_reference_problem(&reference) {
        reader.error(
            Code::BadSecret,
            &path.key("Name"),
            format!("`{}` {problem}", crate::quote::shown(&reference)),
            help,
        );
        return None;
    }
    let mut variables = Vec::new();
    for key in settings.keys().map(key_text).filter(|key| key != "Name") {
        let key_path = path.key(&key);
        if key == "JsonKeys" {
            if !is_whole_secret_arn(&reference) {
                reader.error(
                    Code::BadSecret,
                    &key_path,
                    format!("`{key_path}` needs a Secrets Manager secret's ARN (without a key, stage or version of its own) as `Name`"),
                    "ECS reads a JSON key as `ARN:KEY::`",
                );
                return None;
            }
            variables = json_key_variables(reader, &settings[key.as_str()], &key_path);
            continue;
        }
        reader.diagnostics.push(
            Diagnostic::warning(
                Code::ForeignExtension,
                key_path.clone(),
                format!("`{key_path}` is a key of ECS ComposeX's `x-secrets` that compose2ecs does not convert"),
            )
            .with_help("the secret is used as it is in Secrets Manager"),
        );
    }
    Some((reference, variables))
}

/// ComposeX's `JsonKeys: [{SecretKey, VarName}]`: the variable (`VarName`, else the key) each key
/// of the secret's JSON becomes. ComposeX's `TransformTo` changes the variable's case.
fn json_key_variables(reader: &mut Reader, value: &Value, path: &KeyPath) -> Vec<(String, String)> {
    let Some(items) = value.as_sequence() else {
        reader.wrong_type(path, value, "a list of `{SecretKey, VarName}`");
        return Vec::new();
    };
    if items.len() > MAXIMUM_JSON_KEYS {
        reader.error(
            Code::BadSecret,
            path,
            format!(
                "`{path}` lists {} keys, more than the {MAXIMUM_JSON_KEYS} compose2ecs reads as variables",
                items.len()
            ),
            "read the secret's JSON in the app, or split it",
        );
        return Vec::new();
    }
    let mut variables = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let item_path = path.index(index);
        let key = item.get("SecretKey").map(key_text).unwrap_or_default();
        let mut variable = item.get("VarName").map(key_text).unwrap_or_else(|| key.clone());
        match item.get("TransformTo").map(key_text).as_deref() {
            Some("uppercase") => variable = variable.to_uppercase(),
            Some("lowercase") => variable = variable.to_lowercase(),
            _ => {}
        }
        let unknown = item.as_mapping().and_then(|m| {
            m.keys()
                .map(key_text)
                .find(|k| !["SecretKey", "VarName", "TransformTo"].contains(&k.as_str()))
        });
        let valid_variable = variable
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && variable.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if key.is_empty()
            || key.contains(':')
            || key.chars().any(char::is_control)
            || !valid_variable
            || unknown.is_some()
        {
            reader.error(
                Code::BadSecret,
                &item_path,
                format!("`{item_path}` is not a key of the secret's JSON and the variable it becomes"),
                "write `{SecretKey: token, VarName: API_TOKEN}`: a key without `:`, and a variable of letters, digits and `_`",
            );
            continue;
        }
        variables.push((key, variable));
    }
    variables
}

pub(super) fn check_services_uses(
    reader: &mut Reader,
    section: Option<&Value>,
    services: &[Service],
    definitions: &[SecretDefinition],
) {
    let defined: Vec<String> = match section {
        Some(Value::Mapping(map)) => map.keys().map(key_text).collect(),
        _ => Vec::new(),
    };
    check_secret_uses(reader, services, &defined, definitions);
    for service in services {
        check_secret_targets(reader, &service.secrets);
    }
}

/// Two secrets of a service written to one file would overwrite each other.
fn check_secret_targets(reader: &mut Reader, uses: &[SecretUse]) {
    for (index, secret_use) in uses.iter().enumerate() {
        if let Some(earlier) = uses[..index].iter().find(|u| u.target == secret_use.target) {
            reader.error(
                Code::BadSecret,
                &secret_use.path,
                format!(
                    "`{}` and `{}` are both written to `{}`",
                    earlier.secret, secret_use.secret, secret_use.target
                ),
                "give one of them another `target`",
            );
        }
    }
}

/// Every secret the services use is defined at the top level (`defined`: the names written
/// there), and says where its value is; a secret that does not is reported once, with the
/// services that use it.
fn check_secret_uses(reader: &mut Reader, services: &[Service], defined: &[String], definitions: &[SecretDefinition]) {
    let defined_here: HashSet<&str> = defined.iter().map(String::as_str).collect();
    let mut users: HashMap<&str, Vec<&str>> = definitions.iter().map(|d| (d.name.as_str(), Vec::new())).collect();
    for service in services {
        for secret_use in &service.secrets {
            if let Some(using) = users.get_mut(secret_use.secret.as_str()) {
                if using.last() != Some(&service.name.as_str()) {
                    using.push(&service.name);
                }
                continue;
            }
            if defined_here.contains(secret_use.secret.as_str()) {
                continue; // Its definition had an error of its own.
            }
            let help = match did_you_mean(&secret_use.secret, defined.iter().map(String::as_str)) {
                Some(known) => format!("did you mean `{known}`?"),
                None => "define it under the top-level `secrets:`".to_string(),
            };
            reader.error(
                Code::UnknownSecret,
                &secret_use.path,
                format!("the secret `{}` is not defined", secret_use.secret),
                &help,
            );
        }
    }
    for definition in definitions {
        let using = &users[definition.name.as_str()];
        if definition.source == SecretSource::Undeclared && !using.is_empty() {
            reader.error(
                Code::BadSecret,
                &definition.path,
                format!(
                    "secret `{}` says neither where its value is (`file`, `environment`) nor that it exists (`external: true`); {} {} it",
                    definition.name,
                    crate::quote::names(using),
                    if using.len() == 1 { "uses" } else { "use" }
                ),
                "add `file: ./path`, or `external: true` with `name:` the secret's ARN",
            );
        }
    }
}

/// A numeric `mode` as octal digits. Compose reads the number as the mode itself (`0o440` is 288,
/// `493` is 0755); above 0o777, a number written in octal digits (`644`) can only mean those digits.
fn file_mode(number: u64) -> Option<String> {
    let octal_digits = number.to_string().bytes().all(|b| b <= b'7');
    let mode = if number > 0o777 && octal_digits {
        u64::from_str_radix(&number.to_string(), 8).ok()?
    } else {
        number
    };
    (mode <= 0o7777).then(|| format!("{mode:04o}"))
}

/// The longest compose secret name: it becomes logical ids of its own length and more, which
/// CloudFormation takes up to 255 characters.
const MAXIMUM_SECRET_NAME: usize = 200;

/// The longest name a Secrets Manager secret may have.
pub const SECRETS_MANAGER_NAME_LENGTH: usize = 512;
/// The longest name an SSM parameter may have.
const SSM_PARAMETER_NAME_LENGTH: usize = 1011;
/// The random suffix Secrets Manager puts after a secret's name in its ARN: `-AbCdEf`.
const SECRET_ARN_SUFFIX_LENGTH: usize = 7;

/// A character Secrets Manager allows in a secret's name.
pub fn is_secrets_manager_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "/_+=.@-".contains(c)
}

/// A character SSM allows in a parameter's name (`/` separates a hierarchy's levels).
fn is_ssm_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_.-/".contains(c)
}

/// What is wrong with `reference` as an existing secret's `name:`, with a help line. It goes into
/// the task execution role's policy, where `*` and `?` are wildcards: `secret:*` would let the
/// tasks of an untrusted compose file read every secret of the account. So only one Secrets Manager
/// secret or SSM parameter, by a name AWS would accept, passes.
pub(super) fn external_reference_problem(reference: &str) -> Option<(&'static str, &'static str)> {
    const ARN_HELP: &str = "give `arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME` or `arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME`, the account being 12 digits, or an SSM parameter name";
    const SECRET_HELP: &str =
        "a Secrets Manager secret's name has at most 512 of the characters A–Z, a–z, 0–9 and `/_+=.@-`";
    const PARAMETER_HELP: &str = "an SSM parameter's name has at most 1011 of the characters A–Z, a–z, 0–9 and `_.-`, its levels separated by single `/`: `/prod/db/password`";
    if reference.contains(['*', '?']) {
        return Some((
            "has a wildcard (`*` or `?`): the task execution role would be allowed to read every secret it matches",
            "name one secret or parameter, without wildcards",
        ));
    }
    let Some(arn) = reference.strip_prefix("arn:") else {
        return (!is_ssm_parameter_name(reference)).then_some(("cannot name an SSM parameter", PARAMETER_HELP));
    };
    let parts: Vec<&str> = arn.split(':').collect();
    let [partition, service, region, account, resource @ ..] = parts.as_slice() else {
        return Some((
            "is not the ARN of a Secrets Manager secret or an SSM parameter",
            ARN_HELP,
        ));
    };
    if !matches!(*service, "secretsmanager" | "ssm") {
        return Some((
            "is not the ARN of a Secrets Manager secret or an SSM parameter, the two places ECS reads secrets from",
            ARN_HELP,
        ));
    }
    // `aws`, `aws-cn`, `aws-us-gov`, `aws-iso-b`, …
    let partition_valid = *partition == "aws"
        || partition.strip_prefix("aws-").is_some_and(|rest| {
            rest.split('-')
                .all(|word| !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase()))
        });
    let region_valid = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let account_valid = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    if !partition_valid || !region_valid || !account_valid {
        return Some((
            "is not the ARN of a Secrets Manager secret or an SSM parameter",
            ARN_HELP,
        ));
    }
    match (*service, resource) {
        // ECS reads `secret:NAME` and optionally `:JSON-KEY:VERSION-STAGE:VERSION-ID` after it.
        ("secretsmanager", ["secret", name, rest @ ..]) if rest.len() <= 3 => {
            let name_valid = !name.is_empty()
                && name.len() <= SECRETS_MANAGER_NAME_LENGTH + SECRET_ARN_SUFFIX_LENGTH
                && name.chars().all(is_secrets_manager_name_char);
            let rest_valid = rest.iter().all(|part| part.chars().all(|c| c.is_ascii_graphic()));
            (!name_valid || !rest_valid).then_some(("cannot name a Secrets Manager secret", SECRET_HELP))
        }
        ("ssm", [parameter]) => match parameter.strip_prefix("parameter") {
            Some(name) if name.starts_with('/') && is_ssm_parameter_name(name) => None,
            _ => Some(("cannot name an SSM parameter", PARAMETER_HELP)),
        },
        _ => Some((
            "is not the ARN of a Secrets Manager secret or an SSM parameter",
            ARN_HELP,
        )),
    }
}

/// An SSM parameter name, with or without its leading `/`.
fn is_ssm_parameter_name(name: &str) -> bool {
    let levels = name.strip_prefix('/').unwrap_or(name);
    !levels.is_empty()
        && name.len() <= SSM_PARAMETER_NAME_LENGTH
        && levels.split('/').all(|level| !level.is_empty())
        && levels.chars().all(is_ssm_name_char)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::testing::{codes, normalised, paths, read, read_with};

    #[test]
    fn docker_s_json_keys_of_an_existing_secret() {
        let arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:keys-AbCdEf";
        let yaml = format!(
            "{{a: {{external: true, name: '{arn}', x-aws-keys: [stripe, mailgun]}}, b: {{external: true, name: '{arn}', x-aws-keys: ['*']}}, \
              c: {{external: true, name: /prod/keys, x-aws-keys: [x]}}, d: {{external: true, name: '{arn}', x-aws-keys: ['..']}}}}"
        );
        let (found, diagnostics) = read(&yaml, |reader, value, _| {
            secret_definitions(reader, Some(value), &KeyPath::root().key("secrets"))
        });
        let keys: Vec<_> = found.iter().map(|d| (d.name.as_str(), d.json_keys.len())).collect();
        assert_eq!(keys, [("a", 2), ("b", 0), ("c", 0), ("d", 0)]);
        assert_eq!(
            paths(&diagnostics),
            ["secrets.b.x-aws-keys", "secrets.c.x-aws-keys", "secrets.d.x-aws-keys"],
            "every key, an SSM parameter and a path out of the folder are refused"
        );
    }

    #[test]
    fn an_ecs_composex_secret_is_an_existing_one() {
        let yaml = "{a: {x-secrets: {Name: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/token-AbCdEf', JsonKeys: [{SecretKey: t}, {SecretKey: u, VarName: API_U}, {SecretKey: v, VarName: 'not a var'}]}}, \
                    b: {x-secrets: {Lookup: {Tags: [a: b]}}}, c: {x-secrets: {Name: /shop/token}}}";
        let (found, diagnostics) = read(yaml, |reader, value, _| {
            secret_definitions(reader, Some(value), &KeyPath::root().key("secrets"))
        });
        let sources: Vec<_> = found.iter().map(|d| (d.name.as_str(), d.source.clone())).collect();
        assert_eq!(
            sources,
            [(
                "a",
                SecretSource::External {
                    reference: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/token-AbCdEf".into()
                }
            )]
        );
        assert_eq!(
            found[0].key_variables,
            [
                ("t".to_string(), "t".to_string()),
                ("u".to_string(), "API_U".to_string())
            ]
        );
        assert_eq!(
            (codes(&diagnostics), paths(&diagnostics)),
            (
                vec![Code::BadSecret, Code::BadSecret, Code::BadSecret],
                vec![
                    "secrets.a.x-secrets.JsonKeys[2]".to_string(),
                    "secrets.b.x-secrets".to_string(),
                    "secrets.c.x-secrets.Name".to_string()
                ]
            )
        );
    }

    #[test]
    fn where_each_secret_s_value_is() {
        let yaml = r#"{a: {file: ./a.txt}, b: {environment: B}, c: {external: true, name: /prod/db},
            d: {external: {name: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"}}, e: {}}"#;
        let (found, diagnostics) = read_with(&[], &[("B", "b-value")], yaml, |reader, value, _| {
            secret_definitions(reader, Some(value), &KeyPath::root().key("secrets"))
        });
        assert!(diagnostics.0.is_empty());
        let external = |reference: &str| SecretSource::External {
            reference: reference.to_string(),
        };
        let sources: Vec<_> = found.iter().map(|d| (d.name.as_str(), d.source.clone())).collect();
        assert_eq!(
            sources,
            [
                (
                    "a",
                    SecretSource::Local {
                        value: Some(SecretValue::File("./a.txt".into()))
                    }
                ),
                (
                    "b",
                    SecretSource::Local {
                        value: Some(SecretValue::Text(Withheld("b-value".into())))
                    }
                ),
                ("c", external("/prod/db")),
                (
                    "d",
                    external("arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf")
                ),
                ("e", SecretSource::Undeclared),
            ]
        );
    }

    #[test]
    fn each_use_is_a_file_with_its_owner_and_mode() {
        let yaml =
            r#"[a, {source: b, target: b.txt, uid: "1000", gid: 50, mode: "0440"}, {source: c, target: /etc/c}]"#;
        let (uses, diagnostics) = read(yaml, |reader, value, path| {
            secret_uses(reader, value, &path.key("secrets"))
        });
        assert!(diagnostics.0.is_empty());
        let found: Vec<_> = uses
            .iter()
            .map(|u| (u.target.as_str(), u.uid.as_deref(), u.gid.as_deref(), u.mode.as_deref()))
            .collect();
        assert_eq!(
            found,
            [
                ("/run/secrets/a", None, None, None),
                ("/run/secrets/b.txt", Some("1000"), Some("50"), Some("0440")),
                ("/etc/c", None, None, None)
            ]
        );
        let yaml = r#"[{target: x}, {source: a, target: ../../x}, {source: b, uid: alice}, {source: c, mode: rw}, 7]"#;
        let (uses, diagnostics) = read(yaml, |reader, value, path| {
            secret_uses(reader, value, &path.key("secrets"))
        });
        // A bad owner or mode is left out; a use without a source or with a bad target is.
        let kept: Vec<_> = uses
            .iter()
            .map(|u| (u.secret.as_str(), u.uid.as_deref(), u.mode.as_deref()))
            .collect();
        assert_eq!(kept, [("b", None, None), ("c", None, None)]);
        assert_eq!(
            codes(&diagnostics),
            [
                Code::BadSecret,
                Code::BadSecret,
                Code::BadSecret,
                Code::WrongType,
                Code::WrongType
            ]
        );
    }

    #[test]
    fn every_use_is_defined_and_written_to_a_file_of_its_own() {
        let compose = "services:\n  web:\n    image: a\n    secrets: [db_pasword, key, {source: token, target: key}]\nsecrets:\n  db_password: {file: ./pw}\n  key: {}\n  token: {environment: TOKEN}\n";
        let (project, diagnostics) = normalised(compose);
        assert!(project.is_none());
        assert_eq!(
            codes(&diagnostics),
            [Code::UnknownSecret, Code::BadSecret, Code::BadSecret]
        );
        assert_eq!(
            paths(&diagnostics),
            ["services.web.secrets[0]", "secrets.key", "services.web.secrets[2]"]
        );
        assert_eq!(diagnostics.0[0].help.as_deref(), Some("did you mean `db_password`?"));
    }

    #[test]
    fn file_modes_as_compose_reads_them() {
        assert_eq!(file_mode(0o440).as_deref(), Some("0440"));
        assert_eq!(file_mode(493).as_deref(), Some("0755"));
        assert_eq!(file_mode(644).as_deref(), Some("0644"));
        assert_eq!(file_mode(99999), None);
    }

    #[test]
    fn existing_secret_references() {
        for good in [
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/api",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf:password::",
            "arn:aws-cn:ssm:cn-north-1:123456789012:parameter/prod/db",
            "arn:aws-us-gov:ssm:us-gov-west-1:123456789012:parameter/db",
            "/prod/db-password",
            "db_password.v2",
        ] {
            assert_eq!(external_reference_problem(good), None, "{good}");
        }
        let long_name = format!("/{}", "a".repeat(SSM_PARAMETER_NAME_LENGTH));
        let long_secret = format!(
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:{}",
            "a".repeat(520)
        );
        for bad in [
            // Wildcards: every secret, or every parameter, of the account.
            "arn:aws:secretsmanager:*:*:secret:*",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:*",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-??????",
            "arn:aws:ssm:eu-west-1:123456789012:parameter/*",
            "/prod/*",
            "*",
            // Another service, or not an ARN.
            "arn:aws:s3:::bucket",
            "arn:aws:kms:eu-west-1:123456789012:key/abc",
            "arn:aws:secretsmanager:eu-west-3:xxx:secret:foo_bar",
            "arn:aws:secretsmanager::123456789012:secret:db",
            "arn:evil:secretsmanager:eu-west-1:123456789012:secret:db",
            "arn:aws:secretsmanager:eu-west-1:123456789012:db",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db:a:b:c:d",
            "arn:aws:ssm:eu-west-1:123456789012:parameter",
            "arn:aws:ssm:eu-west-1:123456789012:parameter/",
            "arn:aws:ssm:eu-west-1:123456789012:parametername",
            // Names AWS refuses.
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:a b",
            "arn:aws:ssm:eu-west-1:123456789012:parameter/a${AWS::Region}",
            "key with spaces",
            "/prod//db",
            "",
            "/",
            "prod\u{7f}",
            long_name.as_str(),
            long_secret.as_str(),
        ] {
            assert!(external_reference_problem(bad).is_some(), "{bad}");
        }
    }
}
