//! Parsing: a compose file's bytes into its text, its key index and its top-level mapping, within
//! the YAML limits and with merge keys applied.

use super::yaml_limits;
use crate::diagnostic::{Code, Diagnostic, KeyPath};
use crate::source::{display_path, KeyIndexBuilder, SourceFile};
use serde_yaml::{Mapping, Value};
use std::path::Path;

/// Parses a compose file's bytes into its text and its top-level mapping, merge keys applied.
/// With `empty_is_nothing`, a file with no document (blank, or only comments) is an empty mapping.
pub(super) fn parse_text(
    path: &Path,
    bytes: Vec<u8>,
    empty_is_nothing: bool,
) -> Result<(SourceFile, Mapping), Box<Diagnostic>> {
    let shown = display_path(path);
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
            let column = valid.iter().rev().take_while(|b| **b != b'\n').count() + 1;
            return Err(Box::new(
                Diagnostic::error(Code::NotUtf8, KeyPath::root(), format!("`{shown}` is not UTF-8 text"))
                    .at_file(&shown, line, column)
                    .with_help("a compose file is YAML text; save it as UTF-8"),
            ));
        }
    };
    if text.trim().is_empty() && !empty_is_nothing {
        return Err(Box::new(
            Diagnostic::error(Code::EmptyFile, KeyPath::root(), format!("`{shown}` is empty"))
                .at_file(&shown, 1, 1)
                .with_help("a compose file needs at least a `services:` section"),
        ));
    }
    // One parse checks the limits and indexes the keys, to locate what is said about them.
    let mut keys = KeyIndexBuilder::new(&text);
    if let Some(exceeded) = yaml_limits::check_observing(&text, &mut |event| keys.see(event)) {
        let message = match exceeded.limit {
            yaml_limits::Limit::Depth => {
                format!("`{shown}` nests more than {} levels deep", yaml_limits::MAXIMUM_DEPTH)
            }
            yaml_limits::Limit::Expansion => format!(
                "`{shown}` repeats so much through aliases that it would hold more than {} MiB",
                yaml_limits::MAXIMUM_EXPANDED / (1024 * 1024)
            ),
        };
        return Err(Box::new(
            Diagnostic::error(Code::YamlTooComplex, KeyPath::root(), message)
                .at_file(&shown, exceeded.line, exceeded.column)
                .with_help("no compose file needs this; check where this file came from"),
        ));
    }
    let keys = keys.finish();
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
            return Err(Box::new(
                Diagnostic::error(
                    Code::YamlSyntax,
                    KeyPath::root(),
                    format!("`{shown}` is not valid YAML: {message}"),
                )
                .at_file(&shown, line, column)
                .with_help(help),
            ));
        }
    };
    if let Err(error) = apply_merge_keys(&mut value) {
        return Err(Box::new(
            Diagnostic::error(
                Code::YamlMerge,
                KeyPath::root(),
                format!("`{shown}`: a `<<` merge key failed: {error}"),
            )
            .at_file(&shown, 1, 1)
            .with_help("`<<:` takes an alias of a mapping (`<<: *defaults`) or a list of them"),
        ));
    }
    let source = SourceFile::indexed(path, text, keys);
    match value {
        Value::Mapping(root) => Ok((source, root)),
        Value::Null if empty_is_nothing => Ok((source, Mapping::new())),
        other => {
            let found = kind_of(&other);
            Err(Box::new(
                Diagnostic::error(
                    Code::NotAMapping,
                    KeyPath::root(),
                    format!("`{shown}` holds {found}, not a compose document"),
                )
                .at_file(&shown, 1, 1)
                .with_help("a compose file is a mapping with a `services:` key"),
            ))
        }
    }
}

/// Applies `<<` merge keys, also nested ones (a merged mapping that merges another): serde_yaml's
/// `apply_merge` resolves one level per pass and leaves the inner `<<` in place, so this repeats it
/// until none is left. Each pass resolves at least one level, so the loop ends.
pub(crate) fn apply_merge_keys(value: &mut Value) -> Result<(), serde_yaml::Error> {
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
