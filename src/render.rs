//! Diagnostics for people, rendered as rustc renders its own (with annotate-snippets, the renderer
//! cargo uses): the line of the file it points at, a caret under the key or value, the help.

use crate::diagnostic::{printable, Diagnostic, Segment, Severity};
use annotate_snippets::{Level, Renderer, Snippet};

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
    let at_a_key = match diagnostic.path.0.last() {
        Some(Segment::Key(key)) => {
            let token = &line[token_at(line, location.column)];
            if !is_written_key(token, key) {
                return diagnostic.to_string();
            }
            true
        }
        _ => false,
    };
    let (line, span) = names_only(line, location.column, at_a_key);
    let message = printable(&diagnostic.message);
    let file = printable(&location.file);
    let path = if diagnostic.path.is_root() {
        String::new()
    } else {
        printable(&diagnostic.path.to_string()).into_owned()
    };
    let help = diagnostic.help.as_deref().map(printable);
    let mut report = level.title(&message).id(diagnostic.code).snippet(
        Snippet::source(&line)
            .line_start(location.line)
            .origin(&file)
            .annotation(level.span(span).label(&path)),
    );
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

/// What of `line` is shown, and where its caret goes: the token the diagnostic points at, in its
/// column, and nothing else of the line. The file may be anything a link led to (a kubeconfig,
/// a credentials file), and what stands around the token may be a value: a message names
/// places, never values (`    image: …`).
fn names_only(line: &str, column: usize, show_token: bool) -> (String, std::ops::Range<usize>) {
    let token = token_at(line, column);
    let before = line[..token.start].chars().count();
    let mut shown = " ".repeat(before);
    let start = shown.len();
    if !show_token {
        shown.push('…');
        let span = start..shown.len();
        return (shown, span);
    }
    shown.push_str(&line[token.clone()]);
    let span = start..shown.len();
    let rest = &line[token.end..];
    if rest.starts_with(':') {
        shown.push(':');
    }
    if !rest.trim_start_matches(':').trim().is_empty() {
        shown.push_str(" …");
    }
    (shown, span)
}

/// The byte range in `line` of the token at 1-based character `column`: a key up to its `:` (a
/// quoted one up to its closing quote, spaces and all), or a value up to the end of its word, in
/// a block or a flow collection (`{image: a}`, `[a, b]`); at least one character, or the end of
/// the line.
fn token_at(line: &str, column: usize) -> std::ops::Range<usize> {
    let start = line
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(line.len(), |(index, _)| index);
    if let Some(length) = quoted_length(&line[start..]) {
        return start..start + length;
    }
    let length: usize = line[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, ':' | ',' | ']' | '}' | '#'))
        .map(char::len_utf8)
        .sum();
    let end = if length == 0 {
        line[start..].chars().next().map_or(start, |c| start + c.len_utf8())
    } else {
        start + length
    };
    start..end
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

/// Whether `token`, as written in the file, is the key `key`: plain, or quoted (`"web app"`,
/// `'it''s'`).
fn is_written_key(token: &str, key: &str) -> bool {
    if let Some(inner) = token.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
        return inner.replace("''", "'") == key;
    }
    if let Some(inner) = token.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        return inner == key;
    }
    token == key
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{KeyPath, Location};

    fn diagnostic(column: usize) -> Diagnostic {
        let mut diagnostic = Diagnostic::error(
            "unknown-key",
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
        let (shown, span) = names_only("users: [{name: a, token: eyJsecret}]", 19, true);
        assert_eq!(shown, "                  token: …");
        assert_eq!(&shown[span], "token");
        let (shown, _) = names_only("      - PASSWORD=hunter2", 9, false);
        assert_eq!(shown, "        …");
    }

    #[test]
    fn the_caret_under_a_value_or_past_the_end_of_the_line() {
        assert_eq!(token_at("    image: 42", 12), 11..13);
        assert_eq!(token_at("  web:", 7), 6..6);
        assert_eq!(token_at("  café: x", 3), 2..7);
        assert_eq!(token_at("  \"web app\": x", 3), 2..11);
        assert_eq!(token_at("  'it''s': x", 3), 2..9);
        assert_eq!(token_at("  \"a\\\"b\": x", 3), 2..8);
        assert_eq!(token_at("  \"open", 3), 2..7);
    }

    /// The snippet `human` shows for `path` at `line`:`column` of `text`: its two lines, the
    /// source and the caret, or the plain form's second line.
    fn snippet(text: &str, line: usize, column: usize, path: KeyPath) -> String {
        let mut diagnostic = Diagnostic::error("unknown-key", path, "wrong");
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
