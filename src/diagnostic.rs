//! Diagnostics: a user's mistake (or a decision worth telling) as data, rendered once by the CLI.

pub mod code;

pub use code::Code;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;

/// The most characters of one field of a message that reach the terminal: a value in a hostile
/// compose file may be megabytes long, and a message names what is wrong, not all of it.
const MAXIMUM_SHOWN_CHARACTERS: usize = 400;

/// Whether a character, printed raw, can change what a terminal or a CI log shows: control
/// characters (an ESC starts escape sequences, CR rewrites the line, OSC 52 sets the clipboard),
/// line and paragraph separators, and the bidirectional controls that reorder a line.
fn is_hidden_control(character: char) -> bool {
    character.is_control()
        || matches!(
            character,
            '\u{2028}' | '\u{2029}' | '\u{061c}' | '\u{200e}' | '\u{200f}'
        )
        || ('\u{202a}'..='\u{202e}').contains(&character)
        || ('\u{2066}'..='\u{2069}').contains(&character)
        || matches!(character, '\u{fffe}' | '\u{ffff}')
}

/// `text` as it may be printed on one line: each control character shown as its escape
/// (`\u{1b}`), and no more than a bounded number of characters, the rest counted.
pub fn printable(text: &str) -> Cow<'_, str> {
    if text.chars().count() <= MAXIMUM_SHOWN_CHARACTERS && !text.chars().any(is_hidden_control) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::new();
    let mut characters = text.chars();
    for character in characters.by_ref().take(MAXIMUM_SHOWN_CHARACTERS) {
        if is_hidden_control(character) {
            shown.extend(character.escape_unicode());
        } else {
            shown.push(character);
        }
    }
    let rest = characters.count();
    if rest > 0 {
        shown.push_str(&format!("… ({rest} more characters)"));
    }
    Cow::Owned(shown)
}

/// A text of several lines (the plan table, a diagram) as it may reach a terminal: its line
/// breaks kept, every other control character escaped as `printable` does, lines not shortened.
pub fn printable_lines(text: &str) -> Cow<'_, str> {
    escape_controls(text, |character, shown| shown.extend(character.escape_unicode()))
}

/// JSON text as it may reach a terminal: the characters JSON leaves raw but a terminal acts on
/// (DEL, C1 controls, separators, bidirectional controls) written as `\uXXXX` escapes, which
/// mean the same string. They can only stand inside strings, where such an escape is valid.
pub fn printable_json(text: &str) -> Cow<'_, str> {
    escape_controls(text, |character, shown| {
        shown.push_str(&format!("\\u{:04x}", u32::from(character)))
    })
}

/// `text` with each hidden control but the line break replaced by what `escape` writes.
fn escape_controls(text: &str, escape: impl Fn(char, &mut String)) -> Cow<'_, str> {
    let hidden = |character: char| character != '\n' && is_hidden_control(character);
    if !text.chars().any(hidden) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len());
    for character in text.chars() {
        if hidden(character) {
            escape(character, &mut shown);
        } else {
            shown.push(character);
        }
    }
    Cow::Owned(shown)
}

/// How a diagnostic affects the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A decision, shown with `-v` (and recorded in the plan); never changes the exit code.
    Note,
    /// Output is written, exit 0 (a refusal with `--strict`).
    Warning,
    /// Nothing is written, exit 1.
    Error,
}

impl Severity {
    /// The severity as it is printed: `error[…]`, and in the README's table of codes.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One step of a path into the compose document.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// A path into the compose document, shown as `services.web.ports[1]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyPath(pub Vec<Segment>);

impl KeyPath {
    pub fn root() -> Self {
        KeyPath(Vec::new())
    }

    pub fn key(&self, key: impl Into<String>) -> Self {
        self.with(Segment::Key(key.into()))
    }

    pub fn index(&self, index: usize) -> Self {
        self.with(Segment::Index(index))
    }

    /// This path and one more step, in a vector of its exact length: a clone and a push would
    /// double its capacity, and a large project keeps hundreds of thousands of paths.
    fn with(&self, segment: Segment) -> Self {
        let mut segments = Vec::with_capacity(self.0.len() + 1);
        segments.extend_from_slice(&self.0);
        segments.push(segment);
        KeyPath(segments)
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(document)");
        }
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if i == 0 => write!(f, "{key}")?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// A key path in JSON: as shown (`services.web.ports[1]`), the whole document as `""` (what is
/// shown as `(document)` is for people, not a path).
impl Serialize for KeyPath {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.is_root() {
            return serializer.serialize_str("");
        }
        serializer.collect_str(self)
    }
}

/// Where in which file a key path was found.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

/// A message about the user's input, with where it points and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// What it is about: one meaning each, printed as its stable kebab-case text.
    pub code: Code,
    pub message: String,
    pub path: KeyPath,
    /// Filled by the locator after each stage; `None` when the text has no such key.
    pub location: Option<Location>,
    pub help: Option<String>,
    /// The other places with the same severity, code, message and help: one cause that several
    /// services share, or that several stages found. The diagnostic is printed once, with these
    /// (in JSON always, `[]` when there are none).
    pub also: Vec<Place>,
}

/// A place a diagnostic points at: a key path, and where the locator found it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Place {
    pub path: KeyPath,
    pub location: Option<Location>,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.location, self.path.is_root()) {
            (Some(at), false) => write!(f, "{}:{}:{} ({})", at.file, at.line, at.column, self.path),
            (Some(at), true) => write!(f, "{}:{}:{}", at.file, at.line, at.column),
            (None, _) => write!(f, "{}", self.path),
        }
    }
}

/// How many of the other places of a repeated diagnostic are listed before the rest are counted.
const MOST_PLACES_LISTED: usize = 3;

impl Diagnostic {
    pub fn new(severity: Severity, code: Code, path: KeyPath, message: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            code,
            message: message.into(),
            path,
            location: None,
            help: None,
            also: Vec::new(),
        }
    }

    pub fn error(code: Code, path: KeyPath, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, code, path, message)
    }

    pub fn warning(code: Code, path: KeyPath, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, code, path, message)
    }

    pub fn note(code: Code, path: KeyPath, message: impl Into<String>) -> Self {
        Self::new(Severity::Note, code, path, message)
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The line that lists the other places of a repeated diagnostic, without its `note:` label;
    /// `None` when it has none. Every renderer shows it so.
    pub fn also_note(&self) -> Option<String> {
        let (listed, rest) = self.also.split_at(self.also.len().min(MOST_PLACES_LISTED));
        let listed: Vec<String> = listed.iter().map(Place::to_string).collect();
        let note = match rest.len() {
            0 if listed.is_empty() => return None,
            0 => format!("also at {}", listed.join(", ")),
            1 => format!("also at {} and 1 more place", listed.join(", ")),
            more => format!("also at {} and {more} more places", listed.join(", ")),
        };
        Some(printable(&note).into_owned())
    }

    /// A diagnostic about a whole file rather than a key in it (unreadable, not YAML, ...).
    pub fn at_file(mut self, file: &str, line: usize, column: usize) -> Self {
        self.location = Some(Location {
            file: file.to_string(),
            line,
            column,
        });
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = self.severity.as_str();
        // Every part may hold what a hostile file wrote: a name, a key, a path.
        writeln!(f, "{severity}[{}]: {}", self.code, printable(&self.message))?;
        let path = self.path.to_string();
        match (&self.location, self.path.is_root()) {
            (Some(at), false) => writeln!(
                f,
                "  --> {}:{}:{} ({})",
                printable(&at.file),
                at.line,
                at.column,
                printable(&path)
            )?,
            (Some(at), true) => writeln!(f, "  --> {}:{}:{}", printable(&at.file), at.line, at.column)?,
            (None, false) => writeln!(f, "  --> {}", printable(&path))?,
            (None, true) => {}
        }
        if let Some(also) = self.also_note() {
            writeln!(f, "   = note: {also}")?;
        }
        if let Some(help) = &self.help {
            writeln!(f, "   = help: {}", printable(help))?;
        }
        Ok(())
    }
}

/// The diagnostics of one run, in the order they were found, and the values none may show.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(transparent)]
pub struct Diagnostics(pub Vec<Diagnostic>, #[serde(skip)] Withheld);

/// Values that came into the project from variables or env files: the process environment of a
/// CI job holds its secrets, and a `.env` may lead anywhere, so no message shows them.
#[derive(Debug, Clone, Default)]
pub struct Withheld(std::collections::BTreeSet<String>);

/// Shorter values are withheld too rarely to matter and too often to read a message (`true`,
/// `8080`, `prod`); secrets are longer.
const SHORTEST_WITHHELD: usize = 6;

impl Diagnostics {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    /// Says that `value` came from a variable or an env file: no message may show it, whole or
    /// as the start a message quotes of a long value.
    pub fn withhold(&mut self, value: &str) {
        if value.chars().count() < SHORTEST_WITHHELD {
            return;
        }
        let mut quoted = value.len().min(2 * crate::quote::EXCERPT_RADIUS);
        while !value.is_char_boundary(quoted) {
            quoted -= 1;
        }
        self.1 .0.insert(value[..quoted].to_string());
        self.1 .0.insert(value.to_string());
    }

    /// Takes `other`'s diagnostics after these, and what it withholds.
    pub fn append(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
        self.1 .0.extend(other.1 .0);
    }

    /// Shows every withheld value in the messages and helps as `***`: once, when all are found.
    /// One pass over each text, whatever the number of values. `names` (the project's services,
    /// volumes, …) are written in the compose file and named by messages: a value equal to one
    /// (`POSTGRES_USER=postgres` beside a service `postgres`) is no secret to hide.
    pub fn hide_withheld_values<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) {
        for name in names {
            self.1 .0.remove(name);
        }
        if self.1 .0.is_empty() {
            return;
        }
        let Ok(finder) = aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostLongest)
            .build(&self.1 .0)
        else {
            // Too many values to search for: no message is worth showing one of them.
            for diagnostic in &mut self.0 {
                diagnostic.message = "(not shown: it may hold a value from a variable)".to_string();
                diagnostic.help = None;
            }
            return;
        };
        for diagnostic in &mut self.0 {
            diagnostic.message = hide_in_quotes(&diagnostic.message, &finder);
            if let Some(help) = &mut diagnostic.help {
                *help = hide_in_quotes(help, &finder);
            }
        }
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.0.iter().filter(|d| d.severity == severity).count()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    /// Makes each diagnostic appear once: one with the same severity, code, message and help as
    /// an earlier one becomes a place of that one (`also`). Run after sorting, so the place shown
    /// is the first in the files. Linear in the diagnostics.
    pub fn merge_repeated(&mut self) {
        // Decided on borrowed texts first, then the diagnostics are moved: nothing is cloned, as
        // a large project has tens of thousands of notes.
        let mut first: HashMap<(Severity, Code, &str, Option<&str>), usize> = HashMap::new();
        let mut places: HashSet<(usize, &KeyPath, Option<&Location>)> = HashSet::new();
        // For each diagnostic, the one it repeats (itself when it is the first), and for each of
        // its places, whether that place is new to the first one.
        let mut repeats: Vec<usize> = Vec::with_capacity(self.0.len());
        let mut new_places: Vec<bool> = Vec::new();
        for (index, diagnostic) in self.0.iter().enumerate() {
            let said = (
                diagnostic.severity,
                diagnostic.code,
                diagnostic.message.as_str(),
                diagnostic.help.as_deref(),
            );
            let original = *first.entry(said).or_insert(index);
            repeats.push(original);
            let own = std::iter::once((&diagnostic.path, diagnostic.location.as_ref()));
            if original == index {
                places.extend(own.map(|(path, location)| (index, path, location)));
                continue;
            }
            let also = diagnostic
                .also
                .iter()
                .map(|place| (&place.path, place.location.as_ref()));
            for (path, location) in own.chain(also) {
                new_places.push(places.insert((original, path, location)));
            }
        }
        drop((first, places));
        let mut kept_at: Vec<usize> = vec![usize::MAX; self.0.len()];
        let mut kept: Vec<Diagnostic> = Vec::new();
        let mut is_new = new_places.into_iter();
        for (index, diagnostic) in std::mem::take(&mut self.0).into_iter().enumerate() {
            let original = repeats[index];
            if original == index {
                kept_at[index] = kept.len();
                kept.push(diagnostic);
                continue;
            }
            let own = Place {
                path: diagnostic.path,
                location: diagnostic.location,
            };
            let target = &mut kept[kept_at[original]];
            for place in std::iter::once(own).chain(diagnostic.also) {
                if is_new.next() == Some(true) {
                    target.also.push(place);
                }
            }
        }
        self.0 = kept;
    }

    /// Orders diagnostics by where they point (file, line, column), those without a place last;
    /// the sort is stable, so diagnostics at one place keep the order they were found in.
    pub fn sort_by_location(&mut self) {
        self.0.sort_by(|a, b| match (&a.location, &b.location) {
            (Some(x), Some(y)) => (&x.file, x.line, x.column).cmp(&(&y.file, y.line, y.column)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        });
    }
}

/// `text` with each value `finder` finds shown as `***` where a message quotes what it read:
/// between backticks, as a whole word (so a password `secret` leaves the prose "holds a secret"
/// and the setting `environment_secrets` as they are).
fn hide_in_quotes(text: &str, finder: &aho_corasick::AhoCorasick) -> String {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut shown = String::with_capacity(text.len());
    let mut copied = 0;
    let quotes: Vec<usize> = text.match_indices('`').map(|(at, _)| at).collect();
    for pair in quotes.chunks_exact(2) {
        let (start, end) = (pair[0] + 1, pair[1]);
        for found in finder.find_iter(&text[start..end]) {
            let (from, to) = (start + found.start(), start + found.end());
            let alone = !text[..from].chars().next_back().is_some_and(is_word)
                && !text[to..].chars().next().is_some_and(is_word);
            if alone && from >= copied {
                shown.push_str(&text[copied..from]);
                shown.push_str("***");
                copied = to;
            }
        }
    }
    shown.push_str(&text[copied..]);
    shown
}

/// The closest known word, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        // Optimal string alignment: a swap of two neighbours (`tsak`) is one edit, as typos make them.
        .map(|candidate| (strsim::osa_distance(word, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.len().max(word.len()) / 3).max(1))
        .min()
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn withheld_values_are_hidden_where_messages_quote_them() {
        let mut diagnostics = Diagnostics::default();
        diagnostics.withhold("secret");
        diagnostics.withhold("abc"); // too short to withhold
        diagnostics.push(
            Diagnostic::error(
                Code::BadCpus,
                KeyPath::root(),
                "`secret` holds a secret; `my-secret-2` and `abc`",
            )
            .with_help("set `environment_secrets`, not `secret`"),
        );
        diagnostics.hide_withheld_values([]);
        let shown = &diagnostics.0[0];
        assert_eq!(shown.message, "`***` holds a secret; `my-***-2` and `abc`");
        assert_eq!(shown.help.as_deref(), Some("set `environment_secrets`, not `***`"));
    }

    #[test]
    fn a_repeated_diagnostic_is_kept_once_with_its_other_places() {
        let at = |service: &str| KeyPath::root().key("services").key(service).key("volumes").index(0);
        let said = |service: &str| Diagnostic::warning(Code::BindMount, at(service), "left out").with_help("copy");
        let mut diagnostics = Diagnostics::default();
        for service in ["a", "b", "b", "c", "d", "e"] {
            diagnostics.push(said(service));
        }
        diagnostics.push(said("f").with_help("another help"));
        diagnostics.push(Diagnostic::note(Code::BindMount, at("a"), "left out").with_help("copy"));
        diagnostics.merge_repeated();
        let kept: Vec<(Severity, String, usize)> = diagnostics
            .iter()
            .map(|d| (d.severity, d.path.to_string(), d.also.len()))
            .collect();
        assert_eq!(
            kept,
            [
                (Severity::Warning, "services.a.volumes[0]".to_string(), 4),
                (Severity::Warning, "services.f.volumes[0]".to_string(), 0),
                (Severity::Note, "services.a.volumes[0]".to_string(), 0),
            ]
        );
        let shown = diagnostics.0[0].to_string();
        assert!(
            shown.contains(
                "   = note: also at services.b.volumes[0], services.c.volumes[0], services.d.volumes[0] and 1 more place\n"
            ),
            "{shown}"
        );
        assert_eq!(diagnostics.0[1].also_note(), None);
    }

    #[test]
    fn key_path_display() {
        let path = KeyPath::root().key("services").key("web").key("ports").index(1);
        assert_eq!(path.to_string(), "services.web.ports[1]");
    }

    #[test]
    fn suggests_close_keys_only() {
        assert_eq!(did_you_mean("servics", ["services", "volumes"]), Some("services"));
        assert_eq!(
            did_you_mean("enviroment", ["environment", "entrypoint"]),
            Some("environment")
        );
        assert_eq!(did_you_mean("tsak", ["task", "external"]), Some("task"));
        assert_eq!(did_you_mean("zzz", ["services", "volumes"]), None);
    }
}
