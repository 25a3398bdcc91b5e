//! `${VAR}` interpolation as the Compose Specification defines it, over every string value of a document.

use crate::diagnostic::{Code, Diagnostic, Diagnostics, KeyPath};
use serde_yaml::Value;
use std::collections::BTreeMap;

/// The variables interpolation reads: the process environment over the `.env` file.
pub type Variables = BTreeMap<String, String>;

/// Why a string could not be interpolated.
#[derive(Debug, PartialEq, Eq)]
pub enum InterpolationError {
    /// `${VAR:?message}` or `${VAR?message}` with VAR missing.
    Required { variable: String, message: String },
    /// `${` with no closing brace, or a name that is not a variable name.
    Syntax(String),
}

/// The result of interpolating one string.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Interpolated {
    pub value: String,
    /// Variables used without a default that are not set: they became empty strings.
    pub unset: Vec<String>,
    /// The values of variables put into `value`: no message may show them.
    pub substituted: Vec<String>,
}

impl Interpolated {
    fn push_variable(&mut self, value: &str) {
        self.value.push_str(value);
        if !value.is_empty() {
            self.substituted.push(value.to_string());
        }
    }
}

/// Interpolates every string scalar below `value` (mapping keys are left as written, as compose does).
pub fn interpolate_document(value: &mut Value, path: &KeyPath, variables: &Variables, diagnostics: &mut Diagnostics) {
    match value {
        Value::String(text) => {
            if !text.contains('$') {
                return;
            }
            match interpolate(text, variables) {
                Ok(done) => {
                    for value in &done.substituted {
                        diagnostics.withhold(value);
                    }
                    for name in done.unset {
                        diagnostics.push(
                            Diagnostic::warning(
                                Code::UnsetVariable,
                                path.clone(),
                                format!("variable `{name}` is not set; it becomes an empty string"),
                            )
                            .with_help(format!(
                                "set `{name}` in the environment or in `.env`, or give a default: `${{{name}:-value}}`"
                            )),
                        );
                    }
                    *text = done.value;
                }
                Err(InterpolationError::Required { variable, message }) => {
                    let shown = if message.is_empty() {
                        format!("required variable `{variable}` is not set")
                    } else {
                        format!("required variable `{variable}` is not set: {message}")
                    };
                    diagnostics.push(
                        Diagnostic::error(Code::RequiredVariable, path.clone(), shown)
                            .with_help(format!("set `{variable}` in the environment or in `.env`")),
                    );
                }
                Err(InterpolationError::Syntax(reason)) => diagnostics.push(
                    Diagnostic::error(
                        Code::BadInterpolation,
                        path.clone(),
                        // Not the value: it may hold a password.
                        format!("invalid interpolation: {reason}"),
                    )
                    .with_help("write `$$` for a literal `$`"),
                ),
            }
        }
        Value::Sequence(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                interpolate_document(item, &path.index(index), variables, diagnostics);
            }
        }
        Value::Mapping(map) => {
            for (key, item) in map.iter_mut() {
                let key = key_text(key);
                interpolate_document(item, &path.key(key), variables, diagnostics);
            }
        }
        Value::Tagged(tagged) => interpolate_document(&mut tagged.value, path, variables, diagnostics),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// A mapping key as text, whatever YAML type it was written as.
pub fn key_text(key: &Value) -> String {
    match key {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        Value::Null => "null".to_string(),
        _ => "?".to_string(),
    }
}

/// How deep `${A:-${B:-…}}` may nest: far beyond real files, short of the stack's end.
const MAXIMUM_NESTING: usize = 32;

/// Interpolates one string.
pub fn interpolate(text: &str, variables: &Variables) -> Result<Interpolated, InterpolationError> {
    interpolate_nested(text, variables, 0)
}

fn interpolate_nested(text: &str, variables: &Variables, depth: usize) -> Result<Interpolated, InterpolationError> {
    if depth > MAXIMUM_NESTING {
        return Err(InterpolationError::Syntax(format!(
            "`${{…}}` nests more than {MAXIMUM_NESTING} levels deep"
        )));
    }
    let mut out = Interpolated::default();
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.value.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.value.push('$');
            rest = tail;
        } else if let Some(body_and_tail) = after.strip_prefix('{') {
            let close = matching_brace(body_and_tail)
                .ok_or_else(|| InterpolationError::Syntax("`${` has no closing `}`".to_string()))?;
            expand_braced(&body_and_tail[..close], variables, &mut out, depth)?;
            rest = &body_and_tail[close + 1..];
        } else {
            let name_length = variable_name_length(after);
            if name_length == 0 {
                // A lone `$` before a non-name character stays as written, as compose does.
                out.value.push('$');
                rest = after;
            } else {
                let name = &after[..name_length];
                match variables.get(name) {
                    Some(value) => out.push_variable(value),
                    None => out.unset.push(name.to_string()),
                }
                rest = &after[name_length..];
            }
        }
    }
    out.value.push_str(rest);
    Ok(out)
}

fn variable_name_length(text: &str) -> usize {
    let mut chars = text.char_indices();
    match chars.next() {
        Some((_, c)) if c == '_' || c.is_ascii_alphabetic() => {}
        _ => return 0,
    }
    chars
        .find(|(_, c)| !(*c == '_' || c.is_ascii_alphanumeric()))
        .map_or(text.len(), |(index, _)| index)
}

/// The index of the `}` closing a `${`, counting nested `${…}` in defaults.
fn matching_brace(text: &str) -> Option<usize> {
    let mut depth = 1usize;
    for (index, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(index);
                }
            }
            _ => {}
        }
    }
    None
}

fn expand_braced(
    body: &str,
    variables: &Variables,
    out: &mut Interpolated,
    depth: usize,
) -> Result<(), InterpolationError> {
    let name_length = variable_name_length(body);
    if name_length == 0 {
        return Err(InterpolationError::Syntax(
            "a `${` is not followed by a variable name".to_string(),
        ));
    }
    let name = &body[..name_length];
    let operator_and_word = &body[name_length..];
    let value = variables.get(name);
    let is_set_nonempty = value.is_some_and(|v| !v.is_empty());
    let (operator, word) = ["-", ":-", "?", ":?", "+", ":+"]
        .iter()
        .filter(|op| operator_and_word.starts_with(**op))
        .max_by_key(|op| op.len())
        .map(|op| (*op, &operator_and_word[op.len()..]))
        .unwrap_or(("", operator_and_word));
    if operator.is_empty() && !word.is_empty() {
        return Err(InterpolationError::Syntax(format!(
            "`${{{name}` is followed by text that is not `:-`, `-`, `:?`, `?`, `:+` or `+`"
        )));
    }
    // The word of a default or replacement is itself interpolated, only when it is used.
    let expand_word = |out: &mut Interpolated| -> Result<(), InterpolationError> {
        let inner = interpolate_nested(word, variables, depth + 1)?;
        out.value.push_str(&inner.value);
        out.unset.extend(inner.unset);
        out.substituted.extend(inner.substituted);
        Ok(())
    };
    match operator {
        "" => match value {
            Some(v) => out.push_variable(v),
            None => out.unset.push(name.to_string()),
        },
        ":-" if !is_set_nonempty => expand_word(out)?,
        "-" if value.is_none() => expand_word(out)?,
        ":-" | "-" => out.push_variable(value.map_or("", String::as_str)),
        ":?" if !is_set_nonempty => return Err(required(name, word)),
        "?" if value.is_none() => return Err(required(name, word)),
        ":?" | "?" => out.push_variable(value.map_or("", String::as_str)),
        ":+" if is_set_nonempty => expand_word(out)?,
        "+" if value.is_some() => expand_word(out)?,
        _ => {}
    }
    Ok(())
}

/// The error for a required variable that is not set; its message as written (`${VAR:?set
/// VAR}`), since one interpolated could show another variable's value.
fn required(name: &str, word: &str) -> InterpolationError {
    InterpolationError::Required {
        variable: name.to_string(),
        message: word.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Variables {
        [("SET", "yes"), ("EMPTY", ""), ("PORT", "8080")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn value(text: &str) -> String {
        interpolate(text, &vars()).unwrap().value
    }

    #[test]
    fn spec_forms() {
        assert_eq!(value("${SET}/$SET/${PORT}"), "yes/yes/8080");
        assert_eq!(value("${EMPTY:-d} ${EMPTY-d} ${MISSING-d} ${MISSING:-d}"), "d  d d");
        assert_eq!(value("${SET:+r}|${EMPTY:+r}|${EMPTY+r}|${MISSING+r}"), "r||r|");
        assert_eq!(value("$$SET costs $$5 and $ 1"), "$SET costs $5 and $ 1");
        assert_eq!(value("${MISSING:-${PORT}}"), "8080");
    }

    #[test]
    fn unset_is_reported_and_empty() {
        let done = interpolate("a${MISSING}b", &vars()).unwrap();
        assert_eq!(done.value, "ab");
        assert_eq!(done.unset, vec!["MISSING".to_string()]);
        // A default that is not used does not report its own variables.
        assert!(interpolate("${SET:-${OTHER}}", &vars()).unwrap().unset.is_empty());
    }

    #[test]
    fn required_and_syntax_errors() {
        assert_eq!(
            interpolate("${DB_PASSWORD:?set the password}", &vars()),
            Err(InterpolationError::Required {
                variable: "DB_PASSWORD".into(),
                message: "set the password".into()
            })
        );
        assert!(matches!(
            interpolate("${EMPTY:?}", &vars()),
            Err(InterpolationError::Required { .. })
        ));
        assert_eq!(value("${EMPTY?x}"), "");
        assert!(matches!(
            interpolate("${SET", &vars()),
            Err(InterpolationError::Syntax(_))
        ));
        assert!(matches!(
            interpolate("${1X}", &vars()),
            Err(InterpolationError::Syntax(_))
        ));
        let deep = format!("{}x{}", "${A:-".repeat(5000), "}".repeat(5000));
        assert!(matches!(
            interpolate(&deep, &vars()),
            Err(InterpolationError::Syntax(_))
        ));
    }
}
