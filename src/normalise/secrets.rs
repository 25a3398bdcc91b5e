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
            let external = settings
                .get("external")
                .and_then(|v| self.boolean(v, &secret_path.key("external")))
                .unwrap_or(false);
            let source = if external {
                let reference = match settings.get("name") {
                    Some(v) => self.string(v, &secret_path.key("name")),
                    None => Some(name.clone()),
                };
                let Some(reference) = reference else { continue };
                SecretSource::External { reference }
            } else if settings.contains_key("file") || settings.contains_key("environment") {
                SecretSource::Local
            } else {
                self.error(
                    "bad-secret",
                    &secret_path,
                    format!("secret `{name}` says neither where its value is (`file`, `environment`) nor that it exists (`external: true`)"),
                    "add `file: ./path`, or `external: true` with `name:` the secret's ARN",
                );
                continue;
            };
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
                    // YAML reads `0440` as the decimal number 440: compose means octal digits.
                    Value::Number(number) => number.as_u64().map(|n| n.to_string()),
                    Value::String(text) => Some(text.trim_start_matches("0o").to_string()),
                    _ => None,
                }
                .filter(|digits| digits.len() <= 4 && u32::from_str_radix(digits, 8).is_ok());
                if mode.is_none() {
                    self.wrong_type(&path.key("mode"), value, "a file mode in octal digits, such as `0440`");
                }
                mode
            }
        };
        Some(SecretUse {
            secret,
            target,
            uid: long.get("uid").and_then(|v| self.scalar_text(v, &path.key("uid"))),
            gid: long.get("gid").and_then(|v| self.scalar_text(v, &path.key("gid"))),
            mode,
            path: path.clone(),
        })
    }

    /// Every secret a service uses is defined at the top level (`defined`: the names written there).
    pub(super) fn check_secret_uses(&mut self, uses: &[SecretUse], defined: &[String]) {
        for secret_use in uses {
            if defined.contains(&secret_use.secret) {
                continue;
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
