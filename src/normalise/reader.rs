//! What every concern of normalise reads with: the diagnostics, the project's variables and files
//! (for `env_file` and `label_file`), the check of keys against the support table, and the readers
//! of plain YAML values (a string, a list of strings, a boolean, a count, a duration) that report
//! a value of the wrong kind where it was written.

use super::units::parse_duration;
use crate::diagnostic::{Code, Diagnostic, Diagnostics, KeyPath};
use crate::load::interpolate::{key_text, Variables};
use crate::load::wrong_type;
use crate::source::Files;
use crate::support::extensions::{Extension, Tool};
use crate::support::{self, Verdict};
use serde_yaml::{Mapping, Value};
use std::path::Path;
use std::time::Duration;

/// The shared state of one normalisation; each concern keeps its own state in its own file.
pub(super) struct Reader<'a> {
    /// What `${VAR}` and a bare `environment: [VAR]` read.
    pub variables: &'a Variables,
    /// The folder relative paths (`env_file`, `label_file`) start from.
    pub project_dir: &'a Path,
    pub files: &'a dyn Files,
    pub diagnostics: &'a mut Diagnostics,
}

impl Reader<'_> {
    /// An error at `path`, with how to fix it.
    pub(super) fn error(&mut self, code: Code, path: &KeyPath, message: String, help: &str) {
        self.diagnostics
            .push(Diagnostic::error(code, path.clone(), message).with_help(help));
    }

    /// `path` holds `value`, which is not `expected`.
    pub(super) fn wrong_type(&mut self, path: &KeyPath, value: &Value, expected: &str) {
        self.diagnostics.push(wrong_type(path, value, expected));
    }

    /// Checks each key of `map` against the support table under `pattern` (`services.*.ports[]`):
    /// a note for a key with no effect on ECS, a warning for an ignored one, an error for a
    /// refused or unknown one. Returns whether every key may stay (none refused or unknown).
    pub(super) fn check_keys(&mut self, map: &Mapping, pattern: &str, path: &KeyPath) -> bool {
        let mut accepted = true;
        for key in map.keys() {
            let name = key_text(key);
            let row = if pattern.is_empty() {
                name.clone()
            } else {
                format!("{pattern}.{name}")
            };
            let key_path = path.key(&name);
            // A key written with compose's default asks for nothing: it is silent.
            let default = match map.get(key) {
                Some(Value::String(text)) => support::is_default(&row, text),
                Some(Value::Bool(flag)) => support::is_default(&row, if *flag { "true" } else { "false" }),
                _ => false,
            };
            if default {
                continue;
            }
            match support::verdict(&row) {
                Some(Verdict::Converted(_)) => {}
                Some(Verdict::NoEffect(why)) => self.diagnostics.push(Diagnostic::note(
                    Code::NoEffect,
                    key_path.clone(),
                    format!("`{key_path}` has no effect on ECS: {why}"),
                )),
                Some(Verdict::Ignored(why)) => self.diagnostics.push(
                    Diagnostic::warning(Code::IgnoredKey, key_path.clone(), format!("`{key_path}` is not converted: {why}"))
                        .with_help("remove it from the ECS variant of the file (an override file), or accept that ECS will not see it"),
                ),
                Some(Verdict::Refused(why)) => {
                    self.error(
                        Code::UnsupportedKey,
                        &key_path,
                        format!("`{key_path}` cannot be converted: {why}"),
                        "remove it, or keep this service out of ECS with `x-ecs: {external: \"host:port\"}`",
                    );
                    accepted = false;
                }
                None => match support::extensions::foreign(pattern, &name) {
                    Some((tool, row)) => self.diagnostics.push(foreign_extension(&key_path, tool, row, pattern)),
                    // A user's own extension keys are theirs, as in compose.
                    None if name.starts_with("x-") => {}
                    None => {
                        self.diagnostics.push(support::unknown_key(&name, pattern, path));
                        accepted = false;
                    }
                },
            }
        }
        accepted
    }

    /// A string, and nothing else (a number is not taken for one).
    pub(super) fn string(&mut self, value: &Value, path: &KeyPath) -> Option<String> {
        match value {
            Value::String(text) => Some(text.clone()),
            other => {
                self.wrong_type(path, other, "a string");
                None
            }
        }
    }

    /// A list of strings; one item of another kind refuses the list.
    pub(super) fn string_list(&mut self, value: &Value, path: &KeyPath) -> Option<Vec<String>> {
        match value {
            Value::Sequence(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| self.string(item, &path.index(i)))
                .collect(),
            other => {
                self.wrong_type(path, other, "a list of strings");
                None
            }
        }
    }

    /// `true` or `false`, also as YAML 1.1 wrote them.
    pub(super) fn boolean(&mut self, value: &Value, path: &KeyPath) -> Option<bool> {
        match value {
            Value::Bool(flag) => Some(*flag),
            // YAML 1.1's `yes`/`no`/`on`/`off` still appear in compose files; compose reads them too.
            Value::String(text) => match text.to_ascii_lowercase().as_str() {
                "true" | "yes" | "y" | "on" => Some(true),
                "false" | "no" | "n" | "off" => Some(false),
                _ => {
                    self.wrong_type(path, value, "`true` or `false`");
                    None
                }
            },
            other => {
                self.wrong_type(path, other, "`true` or `false`");
                None
            }
        }
    }

    /// A non-negative whole number, also when written as a string (`replicas: ${N}`).
    pub(super) fn count(&mut self, value: &Value, path: &KeyPath) -> Option<u32> {
        let parsed = match value {
            Value::Number(number) => number.as_u64().and_then(|n| u32::try_from(n).ok()),
            Value::String(text) => text.trim().parse::<u32>().ok(),
            _ => None,
        };
        if parsed.is_none() {
            self.wrong_type(path, value, "a whole number, 0 or more");
        }
        parsed
    }

    /// A duration (`1m30s`, `500ms`), or a number of seconds.
    pub(super) fn duration(&mut self, value: &Value, path: &KeyPath) -> Option<Duration> {
        let text = key_text(value);
        let parsed = parse_duration(&text);
        if parsed.is_none() {
            self.error(
                Code::BadDuration,
                path,
                format!("`{}` is not a duration", crate::quote::shown(&text)),
                "write durations such as `30s`, `1m30s` or `500ms`",
            );
        }
        parsed
    }

    /// A scalar as text: environment values may be numbers or booleans.
    pub(super) fn scalar_text(&mut self, value: &Value, path: &KeyPath) -> Option<String> {
        match value {
            Value::String(text) => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            Value::Bool(flag) => Some(flag.to_string()),
            other => {
                self.wrong_type(path, other, "a string, number or boolean");
                None
            }
        }
    }
}

/// A value that compose takes alone or in a list (`env_file`, `tmpfs`), as items with their paths.
pub(super) fn one_or_many(value: &Value, path: &KeyPath) -> Vec<(Value, KeyPath)> {
    match value {
        Value::Sequence(items) => items
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, v)| (v, path.index(i)))
            .collect(),
        other => vec![(other.clone(), path.clone())],
    }
}

/// The warning for another tool's extension key at `path` (`pattern` as the support table writes
/// it), with what to write instead when the key is known.
fn foreign_extension(path: &KeyPath, tool: Tool, row: Option<&Extension>, pattern: &str) -> Diagnostic {
    let owner = tool.name();
    let (message, help) = match row {
        Some(row) if row.at == pattern => (
            format!("`{path}` is a key of {owner}; compose2ecs does not convert it"),
            row.instead.to_string(),
        ),
        Some(row) => {
            let place = if row.at.is_empty() { "the top level" } else { row.at };
            (
                format!("`{path}` is a key of {owner}, read there at {place}; compose2ecs does not convert it here"),
                row.instead.to_string(),
            )
        }
        None => (
            format!("`{path}` is a key of {owner} that compose2ecs does not know"),
            "see the README's migration table for what each of its keys becomes".to_string(),
        ),
    };
    Diagnostic::warning(Code::ForeignExtension, path.clone(), message).with_help(help)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::testing::{codes, paths, read, service_path};

    #[test]
    fn a_key_written_with_compose_s_default_is_silent() {
        let check = |yaml: &str, pattern: &str| {
            let (_, diagnostics) = read(yaml, |reader, value, path| {
                reader.check_keys(value.as_mapping().unwrap(), pattern, path)
            });
            codes(&diagnostics)
        };
        assert!(check("{mode: replicated, endpoint_mode: vip}", "services.*.deploy").is_empty());
        assert_eq!(check("{mode: global}", "services.*.deploy"), [Code::IgnoredKey]);
        assert!(check("{driver: local, external: false}", "volumes.*").is_empty());
        // `external: true` is read by `volumes`, which says what becomes of it.
        assert_eq!(
            check("{driver: rexray, external: true}", "volumes.*"),
            [Code::IgnoredKey]
        );
        // Only the value compose takes by default: a string `\"false\"` is one too, as compose reads it.
        assert!(check("{internal: false, enable_ipv6: 'false', driver: bridge}", "networks.*").is_empty());
        assert_eq!(check("{internal: true}", "networks.*"), [Code::IgnoredKey]);
    }

    #[test]
    fn each_key_gets_its_verdict_from_the_support_table() {
        let yaml = "{image: a, cpu_quota: 1, provider: {type: x}, x-mine: 1, imgae: b}";
        let (accepted, diagnostics) = read(yaml, |reader, value, path| {
            reader.check_keys(value.as_mapping().unwrap(), "services.*", path)
        });
        assert!(!accepted, "a refused or unknown key refuses the mapping");
        assert_eq!(
            codes(&diagnostics),
            [Code::IgnoredKey, Code::UnsupportedKey, Code::UnknownKey]
        );
        assert_eq!(
            paths(&diagnostics),
            ["services.web.cpu_quota", "services.web.provider", "services.web.imgae"]
        );
        assert_eq!(diagnostics.0[2].help.as_deref(), Some("did you mean `image`?"));
    }

    #[test]
    fn a_key_without_effect_is_a_note_and_the_mapping_stays() {
        let (accepted, diagnostics) = read("{target: 80, mode: host}", |reader, value, path| {
            reader.check_keys(value.as_mapping().unwrap(), "services.*.ports[]", path)
        });
        assert!(accepted);
        assert_eq!(codes(&diagnostics), [Code::NoEffect]);
    }

    #[test]
    fn booleans_as_compose_reads_them() {
        for (yaml, expected) in [
            ("true", Some(true)),
            ("'yes'", Some(true)),
            ("off", Some(false)),
            ("'N'", Some(false)),
        ] {
            let (flag, diagnostics) = read(yaml, |reader, value, path| reader.boolean(value, path));
            assert_eq!(flag, expected, "{yaml}");
            assert!(codes(&diagnostics).is_empty(), "{yaml}");
        }
        for yaml in ["maybe", "1", "[true]"] {
            let (flag, diagnostics) = read(yaml, |reader, value, path| reader.boolean(value, path));
            assert_eq!(flag, None, "{yaml}");
            assert_eq!(codes(&diagnostics), [Code::WrongType], "{yaml}");
        }
    }

    #[test]
    fn counts_are_whole_numbers_also_written_as_strings() {
        let count = |yaml| read(yaml, |reader, value, path| reader.count(value, path));
        assert_eq!(count("3").0, Some(3));
        assert_eq!(count("' 7 '").0, Some(7));
        for bad in ["-1", "1.5", "'many'", "4294967296"] {
            let (parsed, diagnostics) = count(bad);
            assert_eq!(parsed, None, "{bad}");
            assert_eq!(codes(&diagnostics), [Code::WrongType], "{bad}");
        }
    }

    #[test]
    fn durations_and_scalars() {
        let (parsed, diagnostics) = read("1m30s", |reader, value, path| reader.duration(value, path));
        assert_eq!(parsed, Some(Duration::from_secs(90)));
        assert!(diagnostics.0.is_empty());
        let (parsed, diagnostics) = read("soon", |reader, value, path| reader.duration(value, path));
        assert_eq!(parsed, None);
        assert_eq!(codes(&diagnostics), [Code::BadDuration]);
        let (texts, diagnostics) = read("[8080, true, x, {a: 1}]", |reader, value, path| {
            let items = value.as_sequence().unwrap();
            items
                .iter()
                .enumerate()
                .map(|(i, item)| reader.scalar_text(item, &path.index(i)))
                .collect::<Vec<_>>()
        });
        assert_eq!(
            texts,
            [Some("8080".into()), Some("true".into()), Some("x".into()), None]
        );
        assert_eq!(paths(&diagnostics), ["services.web[3]"]);
    }

    #[test]
    fn a_list_of_strings_refuses_any_other_item() {
        let (list, diagnostics) = read("[a, 1]", |reader, value, path| reader.string_list(value, path));
        assert_eq!(list, None);
        assert_eq!(paths(&diagnostics), ["services.web[1]"]);
        let (items, _) = read("a.env", |_, value, path| one_or_many(value, path));
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].1, service_path());
    }
}
