//! The `.env` / `env_file` format: `KEY=VALUE` lines, comments, quotes and `export`.

use super::interpolate::{interpolate, Variables};
use crate::diagnostic::{Code, Diagnostic, KeyPath};
use crate::source::{display_path, unreadable, Files};
use std::io;
use std::path::Path;

/// Reads and parses the env file at `path`; `Ok(None)` when there is no such file. A diagnostic
/// names the key path `referenced_at` that led to the file, and points at the line in it.
pub fn read(
    path: &Path,
    referenced_at: &KeyPath,
    files: &dyn Files,
    variables: &Variables,
) -> Result<Option<Vec<Entry>>, Box<Diagnostic>> {
    let shown = display_path(path);
    let bytes = match files.read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            let mut diagnostic = unreadable(path, &error);
            diagnostic.path = referenced_at.clone();
            return Err(Box::new(diagnostic));
        }
    };
    let text = String::from_utf8(bytes).map_err(|_| {
        Box::new(
            Diagnostic::error(
                Code::NotUtf8,
                referenced_at.clone(),
                format!("`{shown}` is not UTF-8 text"),
            )
            .at_file(&shown, 1, 1)
            .with_help("save the env file as UTF-8"),
        )
    })?;
    parse(&text, variables).map(Some).map_err(|bad| {
        Box::new(
            Diagnostic::error(
                Code::BadEnvFile,
                referenced_at.clone(),
                // Not the line itself: an env file may be anything (`~/.git-credentials`).
                format!("`{shown}` line {} is not `KEY=VALUE`", bad.line),
            )
            .at_file(&shown, bad.line, 1)
            .with_help("each line of an env file is `NAME=value`, `# comment`, or blank"),
        )
    })
}

/// One `KEY=VALUE` entry and the 1-based line it was on.
#[derive(Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    /// `None` for a bare `KEY` line: the value comes from the environment, as in compose.
    pub value: Option<String>,
    pub line: usize,
}

/// A line that is not `KEY=VALUE`; only its number is kept, so no message can repeat it.
#[derive(Debug, PartialEq, Eq)]
pub struct BadLine {
    pub line: usize,
}

/// Parses a dotenv text. Unquoted and double-quoted values are interpolated against `variables`
/// and the entries above them; single-quoted values are taken literally.
pub fn parse(text: &str, variables: &Variables) -> Result<Vec<Entry>, BadLine> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut seen = variables.clone();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let (name, value) = match line.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim())),
            None => (line, None),
        };
        let valid_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !valid_name {
            return Err(BadLine { line: index + 1 });
        }
        let value = value.map(|value| unquote(value, &seen));
        // A later line of the file redefines a name; the process environment still wins.
        if let Some(value) = value.as_ref().filter(|_| !variables.contains_key(name)) {
            seen.insert(name.to_string(), value.clone());
        }
        entries.push(Entry {
            name: name.to_string(),
            value,
            line: index + 1,
        });
    }
    Ok(entries)
}

/// A value as written after `=`: a quoted value ends at its closing quote (a ` # comment` may follow);
/// an unquoted one at ` #`.
fn unquote(value: &str, variables: &Variables) -> String {
    if let Some(rest) = value.strip_prefix('\'') {
        let end = rest.find('\'').unwrap_or(rest.len());
        return rest[..end].to_string();
    }
    let text = if let Some(rest) = value.strip_prefix('"') {
        let mut inner = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next() {
                    Some('n') => inner.push('\n'),
                    Some(escaped) => inner.push(escaped),
                    None => inner.push('\\'),
                },
                c => inner.push(c),
            }
        }
        inner
    } else {
        value.split(" #").next().unwrap_or_default().trim_end().to_string()
    };
    interpolate(&text, variables).map_or(text, |done| done.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_common_forms() {
        let text = "# comment\nA=1\nexport B = two # note\nC='lit $A'\nD=\"x${A}y\"\nE\n\nF=\nG=\"s3cret\" # the password\nH='a b' # c\n";
        let entries = parse(text, &Variables::new()).unwrap();
        let got: Vec<(&str, Option<&str>)> = entries.iter().map(|e| (e.name.as_str(), e.value.as_deref())).collect();
        assert_eq!(
            got,
            vec![
                ("A", Some("1")),
                ("B", Some("two")),
                ("C", Some("lit $A")),
                ("D", Some("x1y")),
                ("E", None),
                ("F", Some("")),
                ("G", Some("s3cret")),
                ("H", Some("a b"))
            ]
        );
    }

    #[test]
    fn refuses_lines_that_are_not_assignments() {
        assert_eq!(parse("A=1\nnot valid here\n", &Variables::new()).unwrap_err().line, 2);
    }
}
