//! A service's environment: `env_file` files, then `environment` over them, each variable with
//! where it was written; a variable named without a value takes the project's variable.

use super::reader::{one_or_many, Reader};
use super::EnvVar;
use crate::diagnostic::{Code, Diagnostic, KeyPath};
use crate::load::dotenv;
use crate::source::display_path;
use docker_compose_types as dct;
use indexmap::IndexMap;
use serde_yaml::{Mapping, Value};

/// `env_file` and `environment` of the service `map`, merged: `environment` wins.
pub(super) fn environment(reader: &mut Reader, map: &Mapping, path: &KeyPath) -> Vec<EnvVar> {
    let mut variables: IndexMap<String, EnvVar> = IndexMap::new();
    if let Some(env_file) = map.get("env_file") {
        for var in env_files(reader, env_file, &path.key("env_file")) {
            variables.insert(var.name.clone(), var);
        }
    }
    let Some(value) = map.get("environment") else {
        return exactly(variables);
    };
    let env_path = path.key("environment");
    let entries: Vec<(String, Option<String>, KeyPath)> =
        match serde_yaml::from_value::<dct::Environment>(value.clone()) {
            Ok(dct::Environment::List(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| match item.split_once('=') {
                    Some((name, value)) => (name.to_string(), Some(value.to_string()), env_path.index(i)),
                    None => (item, None, env_path.index(i)),
                })
                .collect(),
            Ok(dct::Environment::KvPair(pairs)) => {
                let mut entries = Vec::new();
                for (name, item) in pairs {
                    let item_path = env_path.key(&name);
                    let text = match item {
                        None => None,
                        Some(_) => map
                            .get("environment")
                            .and_then(|v| v.get(name.as_str()))
                            .and_then(|raw| reader.scalar_text(raw, &item_path)),
                    };
                    entries.push((name, text, item_path));
                }
                entries
            }
            Err(_) if value.is_null() => Vec::new(),
            Err(_) => {
                reader.wrong_type(&env_path, value, "a mapping `NAME: value` or a list of `NAME=value`");
                Vec::new()
            }
        };
    for (name, text, item_path) in entries {
        let from_variable = text.is_none();
        match text.or_else(|| reader.variables.get(&name).cloned()) {
            Some(value) => {
                if from_variable {
                    reader.diagnostics.withhold(&value);
                }
                variables.insert(
                    name.clone(),
                    EnvVar {
                        name,
                        value,
                        path: item_path,
                    },
                );
            }
            None => {
                reader.diagnostics.push(
                    Diagnostic::warning(
                        Code::UnsetVariable,
                        item_path,
                        format!("`{name}` has no value here and is not set in the environment; the container will not have it"),
                    )
                    .with_help(format!("give it a value (`{name}: value`) or set `{name}` when you run compose2ecs")),
                );
                variables.shift_remove(&name);
            }
        }
    }
    exactly(variables)
}

/// The variables in a vector of their own length: collected from the map's, which is larger
/// (each entry has its name as a key too), the vector would keep the map's allocation, a third
/// unused, for as long as the project lives.
fn exactly(variables: IndexMap<String, EnvVar>) -> Vec<EnvVar> {
    let mut exact = Vec::with_capacity(variables.len());
    exact.extend(variables.into_values());
    exact
}

/// The variables of the `env_file` files, in order; a missing file is an error unless optional.
fn env_files(reader: &mut Reader, value: &Value, path: &KeyPath) -> Vec<EnvVar> {
    let items = one_or_many(value, path);
    let mut variables = Vec::new();
    for (item, item_path) in items {
        let (file, required) = match &item {
            Value::String(file) => (file.clone(), true),
            Value::Mapping(long) => match long.get("path") {
                Some(Value::String(file)) => {
                    reader.check_keys(long, "services.*.env_file[]", &item_path);
                    let required = long
                        .get("required")
                        .map(|r| reader.boolean(r, &item_path.key("required")).unwrap_or(true))
                        .unwrap_or(true);
                    (file.clone(), required)
                }
                _ => {
                    reader.wrong_type(&item_path, &item, "a file path, or `{path: FILE, required: BOOL}`");
                    continue;
                }
            },
            other => {
                reader.wrong_type(&item_path, other, "a file path or a list of them");
                continue;
            }
        };
        let full = reader.project_dir.join(&file);
        let entries = match dotenv::read(&full, &item_path, reader.files, reader.variables) {
            Ok(Some(entries)) => entries,
            Ok(None) if !required => continue,
            Ok(None) => {
                reader.error(
                    Code::UnreadableFile,
                    &item_path,
                    format!("cannot read `{}`: no such file", display_path(&full)),
                    "create the file, or mark it optional: `env_file: [{path: FILE, required: false}]`",
                );
                continue;
            }
            Err(diagnostic) => {
                reader.diagnostics.push(*diagnostic);
                continue;
            }
        };
        for entry in entries {
            // A bare `NAME` line takes the value from the environment, if it has one.
            if let Some(value) = entry.value.or_else(|| reader.variables.get(&entry.name).cloned()) {
                reader.diagnostics.withhold(&value);
                variables.push(EnvVar {
                    name: entry.name,
                    value,
                    path: item_path.clone(),
                });
            }
        }
    }
    variables
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::testing::{codes, paths, read_with};

    /// The service `yaml`'s variables as (name, value), with `files` and `variables`, and the codes.
    fn variables_of(
        yaml: &str,
        files: &[(&str, &str)],
        variables: &[(&str, &str)],
    ) -> (Vec<(String, String)>, Vec<Code>) {
        let (found, diagnostics) = read_with(files, variables, yaml, |reader, value, path| {
            environment(reader, value.as_mapping().unwrap(), path)
        });
        (
            found.into_iter().map(|v| (v.name, v.value)).collect(),
            codes(&diagnostics),
        )
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_mapping_or_a_list_and_values_from_the_project_variables() {
        let yaml = "environment: {PORT: 8080, DEBUG: true, NAME: web, TOKEN: null, GONE: null}";
        let (found, codes) = variables_of(yaml, &[], &[("TOKEN", "from-the-environment")]);
        assert_eq!(
            found,
            pairs(&[
                ("PORT", "8080"),
                ("DEBUG", "true"),
                ("NAME", "web"),
                ("TOKEN", "from-the-environment")
            ])
        );
        assert_eq!(codes, [Code::UnsetVariable]);
        let (found, codes) = variables_of("environment: [A=1, B==2, TOKEN, C=]", &[], &[("TOKEN", "t")]);
        assert_eq!(found, pairs(&[("A", "1"), ("B", "=2"), ("TOKEN", "t"), ("C", "")]));
        assert!(codes.is_empty());
        assert_eq!(variables_of("environment: A=1", &[], &[]).1, [Code::WrongType]);
        assert_eq!(variables_of("environment: {A: [1]}", &[], &[]).1, [Code::WrongType]);
    }

    #[test]
    fn environment_wins_over_env_files_which_come_first() {
        let files = [("a.env", "A=from-a\nB=from-a\nBARE\n"), ("b.env", "B=from-b\n")];
        let yaml = "env_file: [a.env, b.env]\nenvironment: {A: mine, Z: last}";
        let (found, codes) = variables_of(yaml, &files, &[("BARE", "bare-value")]);
        assert!(codes.is_empty(), "{codes:?}");
        // A later file wins over an earlier one, and `environment` over both, each in its first place.
        assert_eq!(
            found,
            pairs(&[("A", "mine"), ("B", "from-b"), ("BARE", "bare-value"), ("Z", "last")])
        );
        // `environment: [NAME]` with no value anywhere drops what an env file gave.
        let (found, codes) = variables_of("env_file: a.env\nenvironment: [B]", &files, &[]);
        assert_eq!(found, pairs(&[("A", "from-a")]));
        assert_eq!(codes, [Code::UnsetVariable]);
    }

    #[test]
    fn a_missing_env_file_is_an_error_unless_optional() {
        let yaml = "env_file: [{path: missing.env, required: false}, {path: there.env}, gone.env]";
        let (found, diagnostics) = read_with(&[("there.env", "X=1")], &[], yaml, |reader, value, path| {
            environment(reader, value.as_mapping().unwrap(), path)
        });
        assert_eq!(found.len(), 1);
        assert_eq!(codes(&diagnostics), [Code::UnreadableFile]);
        assert_eq!(paths(&diagnostics), ["services.web.env_file[2]"]);
        let (_, codes) = variables_of(
            "env_file: [{required: false}, 7, {path: a.env, requird: no}]",
            &[("a.env", "")],
            &[],
        );
        assert_eq!(codes, [Code::WrongType, Code::WrongType, Code::UnknownKey]);
    }

    #[test]
    fn values_from_variables_and_env_files_are_never_shown() {
        let yaml = "env_file: a.env\nenvironment: [TOKEN]";
        let ((), mut diagnostics) = read_with(
            &[("a.env", "PASSWORD=hunter2-from-file")],
            &[("TOKEN", "s3cr3t-from-ci")],
            yaml,
            |reader, value, path| {
                environment(reader, value.as_mapping().unwrap(), path);
                let message = "`s3cr3t-from-ci` and `hunter2-from-file` are quoted here";
                reader
                    .diagnostics
                    .push(Diagnostic::error(Code::WrongType, path.clone(), message));
            },
        );
        diagnostics.hide_withheld_values([]);
        assert_eq!(diagnostics.0[0].message, "`***` and `***` are quoted here");
    }
}
