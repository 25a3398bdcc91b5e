//! Load: compose files as text → YAML values (syntax errors located) → interpolated → merged into one document.
//!
//! The loader works on `serde_yaml::Value`, not on docker-compose-types: that crate rejects a third
//! of real compose files (merge keys, `platform`, map-form `deploy.labels`, …; see the project's
//! notes on dependencies), so merge keys, interpolation and the merge of `-f` files happen here and
//! the typed model is built afterwards, in `normalise`.

pub mod dotenv;
pub mod interpolate;
pub mod merge;
pub mod stack_outputs;

use crate::diagnostic::{Diagnostic, Diagnostics, KeyPath};
use crate::source::{display_path, unreadable, Files, SourceFile};
use interpolate::{interpolate_document, Variables};
use serde_yaml::{Mapping, Value};
use std::path::{Path, PathBuf};

/// The variable that names the project, and that every value may use.
pub const PROJECT_NAME_VARIABLE: &str = "COMPOSE_PROJECT_NAME";

/// The compose files merged into one document, with what normalise needs to read beside them.
#[derive(Debug)]
pub struct Loaded {
    pub sources: Vec<SourceFile>,
    pub document: Mapping,
    /// The `.env` file under the process environment: what `${VAR}` and a bare `environment: [VAR]` read.
    pub variables: Variables,
    /// The folder of the first compose file: relative paths (`env_file`) start there.
    pub project_dir: PathBuf,
}

/// Reads, parses, interpolates and merges `paths` in order. Returns `None` when an error was reported.
pub fn load(
    paths: &[PathBuf],
    environment: &Variables,
    directory_name: &str,
    files: &dyn Files,
    diagnostics: &mut Diagnostics,
) -> Option<Loaded> {
    let project_dir = paths
        .first()
        .and_then(|p| p.parent())
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let variables = read_dotenv(&project_dir, environment, files, diagnostics)?;
    let parsed: Vec<(SourceFile, Mapping)> = paths
        .iter()
        .filter_map(|path| parse_file(path, files, diagnostics))
        .collect();
    // Compose lets every value use `${COMPOSE_PROJECT_NAME}`: the name the project gets.
    let mut interpolation = variables.clone();
    if !interpolation.contains_key(PROJECT_NAME_VARIABLE) {
        let written = parsed.iter().rev().find_map(|(_, root)| root.get("name")?.as_str());
        let name = match written {
            Some(name) => interpolate::interpolate(name, &variables)
                .map(|done| done.value)
                .unwrap_or_default(),
            None => crate::normalise::project_name(directory_name),
        };
        interpolation.insert(PROJECT_NAME_VARIABLE.to_string(), name);
    }

    let mut sources = Vec::new();
    let mut document: Option<Mapping> = None;
    for (source, mut root) in parsed {
        let mut found = Diagnostics::default();
        let mut as_value = Value::Mapping(std::mem::take(&mut root));
        interpolate_document(&mut as_value, &KeyPath::root(), &interpolation, &mut found);
        let Value::Mapping(root) = as_value else {
            unreachable!("a mapping stays a mapping")
        };
        crate::source::locate_all(&mut found, std::slice::from_ref(&source));
        diagnostics.0.extend(found.0);
        sources.push(source);
        match &mut document {
            None => document = Some(root),
            Some(base) => merge::merge_documents(base, root),
        }
    }
    if diagnostics.has_errors() {
        return None;
    }
    let mut document = Value::Mapping(document?);
    merge::apply_merge_tags(&mut document);
    let Value::Mapping(document) = document else {
        unreachable!("a mapping stays a mapping")
    };
    Some(Loaded {
        sources,
        document,
        variables,
        project_dir,
    })
}

fn read_dotenv(
    dir: &Path,
    environment: &Variables,
    files: &dyn Files,
    diagnostics: &mut Diagnostics,
) -> Option<Variables> {
    let entries = match dotenv::read(&dir.join(".env"), &KeyPath::root(), files, environment) {
        Ok(entries) => entries.unwrap_or_default(),
        Err(diagnostic) => {
            diagnostics.push(*diagnostic);
            return None;
        }
    };
    let mut variables: Variables = entries
        .into_iter()
        .filter_map(|entry| Some((entry.name, entry.value?)))
        .collect();
    // The process environment wins over `.env`, as in compose.
    variables.extend(environment.iter().map(|(k, v)| (k.clone(), v.clone())));
    Some(variables)
}

fn parse_file(path: &Path, files: &dyn Files, diagnostics: &mut Diagnostics) -> Option<(SourceFile, Mapping)> {
    let shown = display_path(path);
    let bytes = match files.read(path) {
        Ok(bytes) => bytes,
        Err(error) => {
            diagnostics.push(unreadable(path, &error));
            return None;
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
            let column = valid.iter().rev().take_while(|b| **b != b'\n').count() + 1;
            diagnostics.push(
                Diagnostic::error("not-utf8", KeyPath::root(), format!("`{shown}` is not UTF-8 text"))
                    .at_file(&shown, line, column)
                    .with_help("a compose file is YAML text; save it as UTF-8"),
            );
            return None;
        }
    };
    if text.trim().is_empty() {
        diagnostics.push(
            Diagnostic::error("empty-file", KeyPath::root(), format!("`{shown}` is empty"))
                .at_file(&shown, 1, 1)
                .with_help("a compose file needs at least a `services:` section"),
        );
        return None;
    }
    let mut value: Value = match serde_yaml::from_str(&text) {
        Ok(value) => value,
        Err(error) => {
            let (line, column) = error.location().map_or((1, 1), |at| (at.line(), at.column()));
            let message = error.to_string();
            let message = message.split(" at line ").next().unwrap_or(&message).to_string();
            let has_tab = text
                .lines()
                .nth(line.saturating_sub(1))
                .is_some_and(|l| l.contains('\t'));
            let help = if has_tab {
                format!("line {line} has a tab; YAML indents with spaces only")
            } else {
                "check the indentation and the quotes around this place".to_string()
            };
            diagnostics.push(
                Diagnostic::error(
                    "yaml-syntax",
                    KeyPath::root(),
                    format!("`{shown}` is not valid YAML: {message}"),
                )
                .at_file(&shown, line, column)
                .with_help(help),
            );
            return None;
        }
    };
    if let Err(error) = apply_merge_keys(&mut value) {
        diagnostics.push(
            Diagnostic::error(
                "yaml-merge",
                KeyPath::root(),
                format!("`{shown}`: a `<<` merge key failed: {error}"),
            )
            .at_file(&shown, 1, 1)
            .with_help("`<<:` takes an alias of a mapping (`<<: *defaults`) or a list of them"),
        );
        return None;
    }
    let source = SourceFile {
        path: path.to_path_buf(),
        text,
    };
    match value {
        Value::Mapping(root) => Some((source, root)),
        other => {
            let found = kind_of(&other);
            diagnostics.push(
                Diagnostic::error(
                    "not-a-mapping",
                    KeyPath::root(),
                    format!("`{shown}` holds {found}, not a compose document"),
                )
                .at_file(&shown, 1, 1)
                .with_help("a compose file is a mapping with a `services:` key"),
            );
            None
        }
    }
}

/// Applies `<<` merge keys, also nested ones (a merged mapping that merges another): serde_yaml's
/// `apply_merge` resolves one level per pass and leaves the inner `<<` in place, so this repeats it
/// until none is left. Each pass resolves at least one level, so the loop ends.
fn apply_merge_keys(value: &mut Value) -> Result<(), serde_yaml::Error> {
    loop {
        value.apply_merge()?;
        if !has_merge_key(value) {
            return Ok(());
        }
    }
}

fn has_merge_key(value: &Value) -> bool {
    match value {
        Value::Mapping(map) => map.contains_key("<<") || map.values().any(has_merge_key),
        Value::Sequence(items) => items.iter().any(has_merge_key),
        Value::Tagged(tagged) => has_merge_key(&tagged.value),
        _ => false,
    }
}

/// A YAML value's kind in words, for messages.
pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_merge_keys_are_applied() {
        let mut value: Value = serde_yaml::from_str(
            "x-a: &a\n  restart: always\nx-b: &b\n  <<: *a\n  image: nginx\nservices:\n  web:\n    <<: *b\n    image: own\n",
        )
        .unwrap();
        apply_merge_keys(&mut value).unwrap();
        let web = &value["services"]["web"];
        assert_eq!(web["restart"], "always");
        assert_eq!(web["image"], "own");
        assert!(!has_merge_key(&value));
    }
}
