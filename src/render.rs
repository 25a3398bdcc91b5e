//! Diagnostics for people, rendered as rustc renders its own (with annotate-snippets, the renderer
//! cargo uses): the line of the file it points at, a caret under the key or value, the help.

use crate::diagnostic::{printable, Diagnostic, Segment, Severity};
use annotate_snippets::{Level, Renderer, Snippet};
use std::ops::Range;

/// The longest source line shown; a longer one (minified, or hostile) is not worth a snippet.
const LONGEST_SHOWN_LINE: usize = 200;

/// `diagnostic` as text for a terminal or a log. `source_line` is the text of the line its
/// location points at, when the file could be read again; without it, the place is given as
/// `file:line:column (key path)`. `styled` adds colour.
pub fn human(diagnostic: &Diagnostic, source_line: Option<&str>, styled: bool) -> String {
    let line = source_line.filter(|line| {
        // The caret's column must be the file's: only a short line of plain characters is shown.
        line.chars().count() <= LONGEST_SHOWN_LINE && printable(line) == *line
    });
    // The whole document has no line of its own to show.
    let (Some(location), Some(line), false) = (&diagnostic.location, line, diagnostic.path.is_root()) else {
        return diagnostic.to_string();
    };
    let level = match diagnostic.severity {
        Severity::Error => Level::Error,
        Severity::Warning => Level::Warning,
        Severity::Note => Level::Note,
    };
    // A key is a name; an item of a list is a value (`- PASSWORD=…`), shown as `…`. A key that
    // is not where the location says (a place the locator could only guess) is not shown.
    let start = byte_of_column(line, location.column);
    let key = match diagnostic.path.0.last() {
        Some(Segment::Key(key)) => match written_key_at(line, start, key) {
            Some(token) => Some(token),
            None => return diagnostic.to_string(),
        },
        _ => None,
    };
    let (line, span) = names_only(line, start, key);
    let message = printable(&diagnostic.message);
    let file = printable(&location.file);
    let path = if diagnostic.path.is_root() {
        String::new()
    } else {
        printable(&diagnostic.path.to_string()).into_owned()
    };
    let help = diagnostic.help.as_deref().map(printable);
    let also = diagnostic.also_note();
    let mut report = level.title(&message).id(diagnostic.code.as_str()).snippet(
        Snippet::source(&line)
            .line_start(location.line)
            .origin(&file)
            .annotation(level.span(span).label(&path)),
    );
    if let Some(also) = &also {
        report = report.footer(Level::Note.title(also));
    }
    if let Some(help) = &help {
        report = report.footer(Level::Help.title(help));
    }
    let renderer = if styled { Renderer::styled() } else { Renderer::plain() };
    format!("{}\n", renderer.render(report))
}

/// The lines of the compose files a conversion read, to show the line a diagnostic is about (as
/// [`human`] takes it). Only those: a location in another file (an env file) is shown without its
/// line.
pub struct SourceLines<'a> {
    files: std::collections::HashMap<String, (&'a str, Vec<usize>)>,
}

impl<'a> SourceLines<'a> {
    pub fn new(sources: &'a [crate::source::SourceFile]) -> SourceLines<'a> {
        let files = sources
            .iter()
            .map(|source| {
                let starts = std::iter::once(0)
                    .chain(source.text.match_indices('\n').map(|(at, _)| at + 1))
                    .collect();
                (source.display(), (source.text.as_str(), starts))
            })
            .collect();
        SourceLines { files }
    }

    /// Line `number` (1-based) of `file`.
    pub fn line(&self, file: &str, number: usize) -> Option<&'a str> {
        let (text, starts) = self.files.get(file)?;
        let start = *starts.get(number.checked_sub(1)?)?;
        let end = starts.get(number).map_or(text.len(), |next| next - 1);
        Some(text[start..end].trim_end_matches('\r'))
    }
}

/// What of `line` is shown, and where its caret goes: the key `token` (or, without one, `…` for a
/// value) at byte `start`, in its column, and nothing else of the line. The file may be anything
/// a link led to (a kubeconfig, a credentials file), and what stands around the key may be a
/// value: a message names places, never values (`    image: …`).
fn names_only(line: &str, start: usize, token: Option<Range<usize>>) -> (String, Range<usize>) {
    let before = line[..start].chars().count();
    let mut shown = " ".repeat(before);
    let span_start = shown.len();
    let Some(token) = token else {
        shown.push('…');
        let span = span_start..shown.len();
        return (shown, span);
    };
    shown.push_str(&line[token.clone()]);
    let span = span_start..shown.len();
    let rest = &line[token.end..];
    if rest.starts_with(':') {
        shown.push(':');
    }
    if !rest.trim_start_matches(':').trim().is_empty() {
        shown.push_str(" …");
    }
    (shown, span)
}

/// The byte offset in `line` of 1-based character `column`, or the end of the line.
fn byte_of_column(line: &str, column: usize) -> usize {
    line.char_indices()
        .nth(column.saturating_sub(1))
        .map_or(line.len(), |(index, _)| index)
}

/// The byte range of the key `key` as written at byte `start` of `line`: plain, up to its `:`
/// (`web:`, `aws:cost-center:`, `{image: a}`), or quoted (`"web app":`, `'it''s':`). `None`
/// when something else is written there.
fn written_key_at(line: &str, start: usize, key: &str) -> Option<Range<usize>> {
    let rest = line.get(start..)?;
    if let Some(length) = quoted_length(rest) {
        return is_quoted_key(&rest[..length], key).then(|| start..start + length);
    }
    // A plain key ends where `: ` or a flow collection's punctuation follows, not at any colon.
    let ends = |after: &str| after.is_empty() || after.starts_with([' ', '\t', ',', ']', '}']);
    let after = rest.strip_prefix(key)?;
    let ended = ends(after) || after.strip_prefix(':').is_some_and(ends);
    (!key.is_empty() && ended).then(|| start..start + key.len())
}

/// The length in bytes of the quoted scalar `text` starts with, quotes included, when it closes on
/// this line: `"a b"`, `'it''s'`, `"say \"hi\""`.
fn quoted_length(text: &str) -> Option<usize> {
    let quote = text.chars().next().filter(|c| matches!(c, '"' | '\''))?;
    let mut characters = text.char_indices().skip(1);
    while let Some((index, character)) = characters.next() {
        match character {
            '\\' if quote == '"' => {
                characters.next();
            }
            // Two single quotes are one, inside single quotes.
            '\'' if quote == '\'' && text[index + 1..].starts_with('\'') => {
                characters.next();
            }
            _ if character == quote => return Some(index + 1),
            _ => {}
        }
    }
    None
}

/// Whether the quoted scalar `token` is the key `key`. One with an escape (`"a\tb"`) is not
/// recognised, and is then given as text.
fn is_quoted_key(token: &str, key: &str) -> bool {
    if let Some(inner) = token.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
        return inner.replace("''", "'") == key;
    }
    if let Some(inner) = token.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        return !inner.contains('\\') && inner == key;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{Code, KeyPath, Location};

    fn diagnostic(column: usize) -> Diagnostic {
        let mut diagnostic = Diagnostic::error(
            Code::UnknownKey,
            KeyPath::root().key("services").key("web").key("prots"),
            "unknown key `prots` in `services.web`",
        )
        .with_help("did you mean `ports`?");
        diagnostic.location = Some(Location {
            file: "compose.yaml".into(),
            line: 4,
            column,
        });
        diagnostic
    }

    #[test]
    fn the_line_and_a_caret_under_the_key() {
        let shown = human(&diagnostic(5), Some("    prots: []"), false);
        let expected = "\
error[unknown-key]: unknown key `prots` in `services.web`
 --> compose.yaml:4:5
  |
4 |     prots: …
  |     ^^^^^ services.web.prots
  |
  = help: did you mean `ports`?
";
        assert_eq!(shown, expected);
    }

    #[test]
    fn long_lines_and_lines_with_controls_are_not_shown() {
        let long = format!("{} bad: {}", "x".repeat(500), "y".repeat(500));
        let with_escape = "  \u{1b}[2J bad: 1";
        for line in [long.as_str(), with_escape] {
            let shown = human(&diagnostic(5), Some(line), false);
            assert!(shown.contains("--> compose.yaml:4:5 (services.web.prots)"), "{shown}");
            assert!(!shown.contains('\u{1b}') && shown.lines().count() == 3, "{shown}");
        }
        assert!(human(&diagnostic(5), None, false).contains("--> compose.yaml:4:5 (services.web.prots)"));
    }

    #[test]
    fn no_value_of_the_line_is_shown() {
        let line = "users: [{name: a, token: eyJsecret}]";
        let (shown, span) = names_only(line, 18, written_key_at(line, 18, "token"));
        assert_eq!(shown, "                  token: …");
        assert_eq!(&shown[span], "token");
        let (shown, _) = names_only("      - PASSWORD=hunter2", 8, None);
        assert_eq!(shown, "        …");
    }

    #[test]
    fn keys_as_written_plain_or_quoted() {
        let key = |line: &str, column: usize, key: &str| {
            let token = written_key_at(line, byte_of_column(line, column), key);
            token.map(|token| line[token].to_string())
        };
        assert_eq!(key("    image: 42", 5, "image").as_deref(), Some("image"));
        assert_eq!(key("  web:", 3, "web").as_deref(), Some("web"));
        assert_eq!(key("  café: x", 3, "café").as_deref(), Some("café"));
        assert_eq!(
            key("  aws:cost-center: x", 3, "aws:cost-center").as_deref(),
            Some("aws:cost-center")
        );
        assert_eq!(key("  aws:cost-center: x", 3, "aws"), None);
        assert_eq!(key("  web-app: x", 3, "web"), None);
        assert_eq!(key("{web: {image: a}}", 8, "image").as_deref(), Some("image"));
        assert_eq!(key("[{a}]", 3, "a").as_deref(), Some("a"));
        assert_eq!(key("  \"web app\": x", 3, "web app").as_deref(), Some("\"web app\""));
        assert_eq!(key("  'it''s': x", 3, "it's").as_deref(), Some("'it''s'"));
        assert_eq!(key("  {\"a\":1}", 4, "a").as_deref(), Some("\"a\""));
        assert_eq!(key("  \"a\\tb\": x", 3, "a\tb"), None);
        assert_eq!(key("  \"open", 3, "open"), None);
        assert_eq!(key("  image: x", 40, "image"), None);
    }

    /// The snippet `human` shows for `path` at `line`:`column` of `text`: its two lines, the
    /// source and the caret, or the plain form's second line.
    fn snippet(text: &str, line: usize, column: usize, path: KeyPath) -> String {
        let mut diagnostic = Diagnostic::error(Code::UnknownKey, path, "wrong");
        diagnostic.location = Some(Location {
            file: "compose.yaml".into(),
            line,
            column,
        });
        let source_line = text.lines().nth(line - 1);
        let shown = human(&diagnostic, source_line, false);
        let lines: Vec<&str> = shown.lines().collect();
        match lines.iter().position(|l| l.starts_with(&format!("{line} |"))) {
            Some(at) => format!("{}\n{}", lines[at], lines[at + 1]),
            None => lines[1].to_string(),
        }
    }

    #[test]
    fn the_caret_under_keys_and_items_of_flow_collections_and_anchors() {
        let services = KeyPath::root().key("services");
        let web = services.key("web");
        let text = "services: {web: {image: a, ports: [\"80:80\", \"443:443\"]}}";
        assert_eq!(
            snippet(text, 1, 18, web.key("image")),
            "1 |                  image: …\n  |                  ^^^^^ services.web.image"
        );
        assert_eq!(
            snippet(text, 1, 46, web.key("ports").index(1)),
            // annotate-snippets cuts a long margin of blanks, as rustc does.
            "1 | ...                   …\n  |                       ^ services.web.ports[1]"
        );
        let text = "x-base: &base {image: a}\nservices:\n  \"web app\": {<<: *base}";
        assert_eq!(
            snippet(text, 1, 16, services.key("web app").key("image")),
            "1 |                image: …\n  |                ^^^^^ services.web app.image"
        );
        assert_eq!(
            snippet(text, 3, 3, services.key("web app")),
            "3 |   \"web app\": …\n  |   ^^^^^^^^^ services.web app"
        );
        // A place that is not the key's (the deepest key found instead) is given as text.
        assert_eq!(
            snippet(text, 3, 3, services.key("web app").key("user")),
            "  --> compose.yaml:3:3 (services.web app.user)"
        );
    }
}
