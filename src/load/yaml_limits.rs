//! Limits on a YAML text, checked on libyaml's own events before serde_yaml builds values from it.
//!
//! serde_yaml refuses more than 128 levels of nesting and alias bombs, but only after libyaml has
//! parsed the whole document: deep flow nesting costs time quadratic in the depth there (200 KB of
//! `[` took 40 s), and an anchored megabyte repeated through nested aliases took gigabytes before
//! the refusal. A guess at the syntax from the text can be fooled (a quote that YAML reads as
//! part of a plain scalar hid every bracket after it), so this reads the events of the same
//! parser serde_yaml uses and stops at the first one past a limit: below the depth limit each
//! event costs at most that depth, so the check is linear in the text.

use std::collections::HashMap;
use std::mem::MaybeUninit;

/// How deep collections may nest: serde_yaml's own limit, so no valid file is refused here.
pub const MAXIMUM_DEPTH: usize = 128;

/// How much a document may hold once its aliases are expanded, counting each scalar's bytes and
/// one per node: far beyond any compose file (the largest real ones hold well under a megabyte),
/// short of what makes building the values take gigabytes.
pub const MAXIMUM_EXPANDED: u64 = 32 * 1024 * 1024;

/// Which limit a text goes past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Depth,
    Expansion,
}

/// Where a text first goes past a limit: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exceeded {
    pub limit: Limit,
    pub line: usize,
    pub column: usize,
}

/// One collection being read: its anchor, and how much it holds so far.
struct Open {
    anchor: Option<Vec<u8>>,
    expanded: u64,
}

/// The first place `text` goes past a limit; `None` when it stays within them or is not valid
/// YAML (serde_yaml then says what is wrong, and where).
pub fn check(text: &str) -> Option<Exceeded> {
    let mut parser = Parser::new(text)?;
    let mut open: Vec<Open> = Vec::new();
    // What each anchor's node holds, expanded: an alias to it holds as much again.
    let mut anchored: HashMap<Vec<u8>, u64> = HashMap::new();
    let mut document: u64 = 0;
    while let Some(event) = parser.next() {
        let at = |limit| Exceeded {
            limit,
            line: event.line + 1,
            column: event.column + 1,
        };
        let finished = match event.kind {
            Kind::End => break,
            Kind::DocumentStart => {
                document = 0;
                None
            }
            Kind::Other => None,
            Kind::Scalar { anchor, bytes } => Some((anchor, bytes.saturating_add(1))),
            Kind::Alias(anchor) => Some((None, anchored.get(&anchor).copied().unwrap_or(1))),
            Kind::CollectionStart(anchor) => {
                open.push(Open { anchor, expanded: 1 });
                if open.len() > MAXIMUM_DEPTH {
                    return Some(at(Limit::Depth));
                }
                None
            }
            Kind::CollectionEnd => open.pop().map(|done| (done.anchor, done.expanded)),
        };
        let Some((anchor, expanded)) = finished else {
            continue;
        };
        if let Some(anchor) = anchor {
            anchored.insert(anchor, expanded);
        }
        let holder = open.last_mut().map_or(&mut document, |parent| &mut parent.expanded);
        *holder = holder.saturating_add(expanded);
        if *holder > MAXIMUM_EXPANDED {
            return Some(at(Limit::Expansion));
        }
    }
    None
}

/// What the check needs of one libyaml event.
struct Event {
    kind: Kind,
    /// 0-based, as libyaml counts.
    line: usize,
    column: usize,
}

enum Kind {
    Scalar { anchor: Option<Vec<u8>>, bytes: u64 },
    Alias(Vec<u8>),
    CollectionStart(Option<Vec<u8>>),
    CollectionEnd,
    DocumentStart,
    Other,
    End,
}

/// libyaml's event parser over a borrowed text, freed when dropped.
struct Parser<'text> {
    sys: Box<MaybeUninit<unsafe_libyaml::yaml_parser_t>>,
    _text: &'text str,
    failed: bool,
}

impl<'text> Parser<'text> {
    fn new(text: &'text str) -> Option<Parser<'text>> {
        let mut sys = Box::new(MaybeUninit::<unsafe_libyaml::yaml_parser_t>::uninit());
        // SAFETY: libyaml initialises the boxed parser in place (it stays at this address: the
        // box is never moved out of); the input pointer stays valid as long as `'text`, which
        // the parser does not outlive.
        unsafe {
            if unsafe_libyaml::yaml_parser_initialize(sys.as_mut_ptr()).fail {
                return None;
            }
            unsafe_libyaml::yaml_parser_set_encoding(sys.as_mut_ptr(), unsafe_libyaml::YAML_UTF8_ENCODING);
            unsafe_libyaml::yaml_parser_set_input_string(sys.as_mut_ptr(), text.as_ptr(), text.len() as u64);
        }
        Some(Parser {
            sys,
            _text: text,
            failed: false,
        })
    }

    /// The next event; `None` after the end of the stream or an error.
    fn next(&mut self) -> Option<Event> {
        if self.failed {
            return None;
        }
        let mut event = MaybeUninit::<unsafe_libyaml::yaml_event_t>::uninit();
        // SAFETY: the parser was initialised in `new`; a successful parse initialises `event`,
        // whose fields are read per its type (as serde_yaml reads them) and copied out before
        // `yaml_event_delete` frees it.
        unsafe {
            if unsafe_libyaml::yaml_parser_parse(self.sys.as_mut_ptr(), event.as_mut_ptr()).fail {
                self.failed = true;
                return None;
            }
            let raw = &*event.as_ptr();
            let anchor = |pointer: *const u8| {
                (!pointer.is_null()).then(|| std::ffi::CStr::from_ptr(pointer.cast()).to_bytes().to_vec())
            };
            let kind = match raw.type_ {
                unsafe_libyaml::YAML_STREAM_END_EVENT => Kind::End,
                unsafe_libyaml::YAML_DOCUMENT_START_EVENT => Kind::DocumentStart,
                unsafe_libyaml::YAML_SCALAR_EVENT => Kind::Scalar {
                    anchor: anchor(raw.data.scalar.anchor),
                    bytes: raw.data.scalar.length,
                },
                unsafe_libyaml::YAML_ALIAS_EVENT => Kind::Alias(anchor(raw.data.alias.anchor).unwrap_or_default()),
                unsafe_libyaml::YAML_SEQUENCE_START_EVENT => {
                    Kind::CollectionStart(anchor(raw.data.sequence_start.anchor))
                }
                unsafe_libyaml::YAML_MAPPING_START_EVENT => {
                    Kind::CollectionStart(anchor(raw.data.mapping_start.anchor))
                }
                unsafe_libyaml::YAML_SEQUENCE_END_EVENT | unsafe_libyaml::YAML_MAPPING_END_EVENT => Kind::CollectionEnd,
                _ => Kind::Other,
            };
            let line = usize::try_from(raw.start_mark.line).unwrap_or(usize::MAX);
            let column = usize::try_from(raw.start_mark.column).unwrap_or(usize::MAX);
            unsafe_libyaml::yaml_event_delete(event.as_mut_ptr());
            Some(Event { kind, line, column })
        }
    }
}

impl Drop for Parser<'_> {
    fn drop(&mut self) {
        // SAFETY: the parser was initialised in `new` and is deleted once.
        unsafe { unsafe_libyaml::yaml_parser_delete(self.sys.as_mut_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_files_are_within_the_limits() {
        let text = "x-base: &base\n  image: a\n  labels: [a, {b: c}]\nservices:\n  web:\n    <<: *base\n    command: [\"sh\", \"-c\", \"echo '[x'\"]\n  api: *base\n";
        assert_eq!(check(text), None);
        assert_eq!(check("a: [unclosed"), None, "a syntax error is serde_yaml's to report");
    }

    #[test]
    fn nesting_past_the_limit_is_found_where_it_goes_past() {
        let deep = format!("a: {}{}\n", "[".repeat(200), "]".repeat(200));
        let found = check(&deep).expect("too deep");
        assert_eq!(
            (found.limit, found.line, found.column),
            (Limit::Depth, 1, 4 + MAXIMUM_DEPTH - 1)
        );
        assert_eq!(check(&format!("a: {}{}\n", "[".repeat(120), "]".repeat(120))), None);
    }

    /// A quote that YAML reads as part of a plain scalar fooled a scan of the text.
    #[test]
    fn no_quote_or_comment_hides_nesting() {
        for before in ["x-a: it 's\n", "x-a: |\n  '\n", "x-a: it\n  \"s\n", "# '\n"] {
            let text = format!("{before}x-b: {}{}\n", "[".repeat(200), "]".repeat(200));
            assert_eq!(check(&text).map(|e| e.limit), Some(Limit::Depth), "{before:?}");
        }
    }

    #[test]
    fn aliases_that_multiply_a_value_are_refused_before_they_are_built() {
        let mut text = format!("a0: &a0 \"{}\"\n", "x".repeat(100_000));
        for level in 1..6 {
            let previous = format!("*a{}", level - 1);
            text.push_str(&format!(
                "a{level}: &a{level} [{}]\n",
                [previous.as_str(); 9].join(", ")
            ));
        }
        let found = check(&text).expect("too large once expanded");
        assert_eq!(found.limit, Limit::Expansion);
    }
}
