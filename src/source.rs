//! Source files: how the core reads them (through `Files`), and where a key path sits in their text.

use crate::diagnostic::{Diagnostic, Diagnostics, KeyPath, Location, Segment};
use std::io;
use std::path::{Path, PathBuf};

/// Everything the core reads goes through this, so tests and tools can hand it files from memory.
pub trait Files {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
}

/// Reads from the file system.
pub struct FileSystem;

impl Files for FileSystem {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }
}

/// One loaded compose file: its path as the user gave it, and its text for locating keys.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

impl SourceFile {
    pub fn display(&self) -> String {
        display_path(&self.path)
    }
}

/// A path as shown to users and written into diagnostics: forward slashes on every machine.
pub fn display_path(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// Fills in the location of each diagnostic that has none, from the files' text.
/// Later files win: an override file's key is where the value came from.
pub fn locate_all(diagnostics: &mut Diagnostics, files: &[SourceFile]) {
    for diagnostic in diagnostics.0.iter_mut().filter(|d| d.location.is_none()) {
        diagnostic.location = locate(&diagnostic.path, files);
    }
}

fn locate(path: &KeyPath, files: &[SourceFile]) -> Option<Location> {
    let mut best: Option<(usize, Location)> = None;
    for file in files.iter().rev() {
        let Some((depth, line, column)) = locate_in_text(&file.text, path) else {
            continue;
        };
        if best.as_ref().is_none_or(|(best_depth, _)| depth > *best_depth) {
            let location = Location {
                file: file.display(),
                line,
                column,
            };
            best = Some((depth, location));
        }
    }
    best.map(|(_, location)| location)
}

/// A block of lines to search: from `column` of line `first` up to (not including) line `end`.
struct Region {
    first: usize,
    column: usize,
    end: usize,
}

/// Finds the deepest segment of `path` in block-style YAML text; returns (depth, line, column), 1-based.
/// This is a locator, not a parser: flow collections, anchors and merge keys end the search at the
/// deepest key it could see, which is still a useful place to point at.
pub fn locate_in_text(text: &str, path: &KeyPath) -> Option<(usize, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut region = Region {
        first: 0,
        column: 0,
        end: lines.len(),
    };
    let mut found = None;
    for (depth, segment) in path.0.iter().enumerate() {
        let Some((line, column, next)) = find_in_region(&lines, &region, segment) else {
            break;
        };
        found = Some((depth + 1, line + 1, column + 1));
        region = next;
    }
    found
}

/// The column where a line's content starts, or None for blank and comment lines.
fn content_column(line: &str, from: usize) -> Option<usize> {
    let rest = line.get(from..)?;
    let trimmed = rest.trim_start_matches(' ');
    if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("---") {
        return None;
    }
    Some(from + rest.len() - trimmed.len())
}

fn find_in_region(lines: &[&str], region: &Region, segment: &Segment) -> Option<(usize, usize, Region)> {
    // The block's indentation is that of its first content line.
    let block_column = (region.first..region.end).find_map(|index| {
        let from = if index == region.first { region.column } else { 0 };
        content_column(lines[index], from)
    })?;
    let mut item_count = 0;
    for index in region.first..region.end {
        let from = if index == region.first { region.column } else { 0 };
        let Some(column) = content_column(lines[index], from) else {
            continue;
        };
        if column < block_column {
            break;
        }
        if column > block_column {
            continue;
        }
        let content = &lines[index][column..];
        let matched = match segment {
            Segment::Key(key) => key_length(content, key).map(|length| column + length),
            Segment::Index(wanted) => {
                let is_item = content == "-" || content.starts_with("- ");
                if is_item {
                    item_count += 1;
                }
                (is_item && item_count == wanted + 1).then_some(column + 2)
            }
        };
        if let Some(inner_column) = matched {
            let end = (index + 1..region.end)
                .find(|&later| content_column(lines[later], 0).is_some_and(|c| c <= block_column))
                .unwrap_or(region.end);
            let point_column = match segment {
                Segment::Key(_) => column,
                Segment::Index(_) => (column + 2).min(lines[index].len()),
            };
            let next = Region {
                first: index,
                column: inner_column.min(lines[index].len()),
                end,
            };
            return Some((index, point_column, next));
        }
    }
    None
}

/// If `content` starts with the mapping key `key` (plain or quoted) and its colon, the length up to
/// and including the colon.
fn key_length(content: &str, key: &str) -> Option<usize> {
    for quote in ["", "\"", "'"] {
        let spelled = format!("{quote}{key}{quote}:");
        if let Some(rest) = content.strip_prefix(&spelled) {
            if rest.is_empty() || rest.starts_with([' ', '\t']) {
                return Some(spelled.len());
            }
        }
    }
    None
}

/// A diagnostic for a file that could not be read at all.
pub fn unreadable(path: &Path, error: &io::Error) -> Diagnostic {
    let shown = display_path(path);
    let reason = match error.kind() {
        io::ErrorKind::NotFound => "no such file".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => error.to_string(),
    };
    Diagnostic::error(
        "unreadable-file",
        KeyPath::root(),
        format!("cannot read `{shown}`: {reason}"),
    )
    .at_file(&shown, 1, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
services:
  web:
    image: nginx
    ports:
      - \"80:80\"
      - target: 443
        published: 443
  db:
    # a comment
    image: postgres
    environment: {A: b}
";

    fn at(path: KeyPath) -> Option<(usize, usize)> {
        locate_in_text(TEXT, &path).map(|(_, line, column)| (line, column))
    }

    #[test]
    fn finds_keys_and_items() {
        let services = KeyPath::root().key("services");
        assert_eq!(at(services.key("web").key("image")), Some((3, 5)));
        assert_eq!(at(services.key("web").key("ports").index(1)), Some((6, 9)));
        assert_eq!(
            at(services.key("web").key("ports").index(1).key("published")),
            Some((7, 9))
        );
        assert_eq!(at(services.key("db").key("image")), Some((10, 5)));
    }

    #[test]
    fn stops_at_the_deepest_visible_key() {
        let path = KeyPath::root().key("services").key("db").key("environment").key("A");
        assert_eq!(locate_in_text(TEXT, &path), Some((3, 11, 5)));
        assert_eq!(at(KeyPath::root().key("services").key("nope")), Some((1, 1)));
    }
}
