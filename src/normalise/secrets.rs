//! Compose secrets: the top-level definitions (where each value lives) and each service's uses
//! (which file it reads, with what owner and mode).

use super::{Reader, SecretDefinition, SecretSource, SecretUse};
use crate::diagnostic::{did_you_mean, KeyPath};
use crate::load::interpolate::key_text;
use serde_yaml::{Mapping, Value};

/// Where compose puts a secret whose target is not an absolute path.
pub const SECRETS_FOLDER: &str = "/run/secrets";

impl Reader<'_> {
    /// Top-level `secrets`: `file:` or `environment:` (values the user puts into Secrets Manager),
    /// or `external: true` with a `name` (an ARN, or an SSM parameter name).
    pub(super) fn secret_definitions(&mut self, value: Option<&Value>, path: &KeyPath) -> Vec<SecretDefinition> {
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return Vec::new();
        };
        let Some(map) = value.as_mapping() else {
            self.wrong_type(path, value, "a mapping of secret names");
            return Vec::new();
        };
        let mut definitions = Vec::new();
        for (key, settings) in map {
            let name = key_text(key);
            let secret_path = path.key(&name);
            let Some(settings) = settings.as_mapping() else {
                self.wrong_type(
                    &secret_path,
                    settings,
                    "a mapping with `file`, `environment` or `external`",
                );
                continue;
            };
            self.check_keys(settings, "secrets.*", &secret_path);
            // `external: {name: N}` is the older form of `external: true` with `name: N`.
            let (external, external_name) = match settings.get("external") {
                Some(Value::Mapping(legacy)) => (true, legacy.get("name").cloned()),
                Some(value) => (self.boolean(value, &secret_path.key("external")).unwrap_or(false), None),
                None => (false, None),
            };
            let source = if external {
                let reference = match external_name.as_ref().or(settings.get("name")) {
                    Some(v) => self.string(v, &secret_path.key("name")),
                    None => Some(name.clone()),
                };
                let Some(reference) = reference else { continue };
                if reference.starts_with("arn:") && !is_arn(&reference) {
                    self.error(
                        "bad-secret",
                        &secret_path.key("name"),
                        format!("`{}` is not an ARN", crate::quote::shown(&reference)),
                        "an ARN reads `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`, the account being 12 digits",
                    );
                    continue;
                }
                SecretSource::External { reference }
            } else if settings.contains_key("file") || settings.contains_key("environment") {
                SecretSource::Local
            } else {
                // Compose minds this only when a service uses the secret, and so does check_secret_uses.
                SecretSource::Undeclared
            };
            // Secrets Manager names allow these; the secret is `PROJECT/NAME` there.
            let valid_name = name.chars().all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c));
            if source == SecretSource::Local && !valid_name {
                self.error(
                    "bad-secret",
                    &secret_path,
                    format!("`{name}` cannot name a Secrets Manager secret"),
                    "use letters, digits and / _ + = . @ -",
                );
                continue;
            }
            definitions.push(SecretDefinition {
                name,
                source,
                path: secret_path,
            });
        }
        definitions
    }

    /// A service's `secrets`: `- NAME` or `- {source, target, uid, gid, mode}`.
    pub(super) fn secret_uses(&mut self, value: &Value, path: &KeyPath) -> Vec<SecretUse> {
        let Some(items) = value.as_sequence() else {
            self.wrong_type(path, value, "a list of secret names or `{source, target}` mappings");
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
                Value::Mapping(long) => match self.long_secret_use(long, &item_path) {
                    Some(secret_use) => secret_use,
                    None => continue,
                },
                other => {
                    self.wrong_type(&item_path, other, "a secret name or a `{source, target}` mapping");
                    continue;
                }
            };
            uses.push(secret_use);
        }
        uses
    }

    fn long_secret_use(&mut self, long: &Mapping, path: &KeyPath) -> Option<SecretUse> {
        const KEYS: &[&str] = &["source", "target", "uid", "gid", "mode"];
        for key in long.keys().map(key_text) {
            if !KEYS.contains(&key.as_str()) {
                self.unknown_extension_key(&key, &path.key(&key), KEYS);
            }
        }
        let Some(secret) = long.get("source").and_then(|v| self.string(v, &path.key("source"))) else {
            self.error(
                "bad-secret",
                path,
                "a long-form secret needs `source`".into(),
                "`source` is the name of a top-level secret",
            );
            return None;
        };
        let target = match long.get("target").and_then(|v| self.string(v, &path.key("target"))) {
            Some(target) if target.starts_with('/') => target,
            Some(target) => format!("{SECRETS_FOLDER}/{target}"),
            None => format!("{SECRETS_FOLDER}/{secret}"),
        };
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
                    self.wrong_type(&path.key("mode"), value, "a file mode in octal digits, such as `0440`");
                }
                mode
            }
        };
        Some(SecretUse {
            secret,
            target,
            uid: long.get("uid").and_then(|v| self.numeric_id(v, &path.key("uid"))),
            gid: long.get("gid").and_then(|v| self.numeric_id(v, &path.key("gid"))),
            mode,
            path: path.clone(),
        })
    }

    /// A `uid` or `gid`: digits, since the file is written before the service's image is there
    /// to turn a user name into a number.
    fn numeric_id(&mut self, value: &Value, path: &KeyPath) -> Option<String> {
        let text = self.scalar_text(value, path)?;
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            return Some(text);
        }
        self.error(
            "bad-secret",
            path,
            format!("`{}` is not a numeric id", crate::quote::shown(&text)),
            "write the number (`id -u NAME` in the image tells it)",
        );
        None
    }

    /// Two secrets of a service written to one file would overwrite each other.
    pub(super) fn check_secret_targets(&mut self, uses: &[SecretUse]) {
        for (index, secret_use) in uses.iter().enumerate() {
            if let Some(earlier) = uses[..index].iter().find(|u| u.target == secret_use.target) {
                self.error(
                    "bad-secret",
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

    /// Every secret a service uses is defined at the top level (`defined`: the names written there),
    /// and says where its value is.
    pub(super) fn check_secret_uses(
        &mut self,
        uses: &[SecretUse],
        defined: &[String],
        definitions: &[SecretDefinition],
    ) {
        for secret_use in uses {
            if let Some(definition) = definitions.iter().find(|d| d.name == secret_use.secret) {
                if definition.source == SecretSource::Undeclared {
                    self.error(
                        "bad-secret",
                        &definition.path,
                        format!("secret `{}` says neither where its value is (`file`, `environment`) nor that it exists (`external: true`)", definition.name),
                        "add `file: ./path`, or `external: true` with `name:` the secret's ARN",
                    );
                }
                continue;
            }
            if defined.contains(&secret_use.secret) {
                continue; // Its definition had an error of its own.
            }
            let help = match did_you_mean(&secret_use.secret, defined.iter().map(String::as_str)) {
                Some(known) => format!("did you mean `{known}`?"),
                None => "define it under the top-level `secrets:`".to_string(),
            };
            self.error(
                "unknown-secret",
                &secret_use.path,
                format!("the secret `{}` is not defined", secret_use.secret),
                &help,
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

/// `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`, the shape IAM policies accept.
fn is_arn(text: &str) -> bool {
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", partition, service, _, account, resource]
        if !partition.is_empty() && !service.is_empty() && !resource.is_empty()
            && (account.is_empty() || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_modes_as_compose_reads_them() {
        assert_eq!(file_mode(0o440).as_deref(), Some("0440"));
        assert_eq!(file_mode(493).as_deref(), Some("0755"));
        assert_eq!(file_mode(644).as_deref(), Some("0644"));
        assert_eq!(file_mode(99999), None);
    }

    #[test]
    fn arns() {
        assert!(is_arn("arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"));
        assert!(is_arn("arn:aws:s3:::bucket"));
        assert!(!is_arn("arn:aws:secretsmanager:eu-west-3:xxx:secret:foo_bar"));
    }
}
