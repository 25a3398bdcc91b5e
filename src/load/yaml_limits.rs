//! Limits on a YAML text, checked on libyaml's own events before serde_yaml builds values from it;
//! the same events, within the limits, are handed on to whoever else reads the text (the key
//! index of `source`), so one parse serves both.
//!
//! serde_yaml refuses more than 128 levels of nesting and alias bombs, but only after libyaml has
//! parsed the whole document: deep flow nesting costs time quadratic in the depth there (200 KB of
//! `[` took 40 s), and an anchored megabyte repeated through nested aliases took gigabytes before
//! the refusal. A guess at the syntax from the text can be fooled (a quote that YAML reads as
//! part of a plain scalar hid every bracket after it), so this reads the events of the same
//! parser serde_yaml uses and stops at the first one past a limit: below the depth limit each
//! event costs at most that depth, so the check is linear in the text.

use serde_yaml::Value;
use std::borrow::Cow;
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

/// [`check_observing`] with no one else reading the events.
#[cfg(test)]
pub fn check(text: &str) -> Option<Exceeded> {
    check_observing(text, &mut |_| {})
}

/// The first place `text` goes past a limit; `None` when it stays within them or is not valid
/// YAML (serde_yaml then says what is wrong, and where). Each event before that place (or before
/// a syntax error) is handed to `observe`, in the order of the text.
pub fn check_observing(text: &str, observe: &mut dyn FnMut(&Event)) -> Option<Exceeded> {
    let mut parser = Parser::new(text)?;
    let mut open: Vec<Open> = Vec::new();
    // What each anchor's node holds, expanded: an alias to it holds as much again.
    let mut anchored: HashMap<Vec<u8>, u64> = HashMap::new();
    let mut document: u64 = 0;
    while let Some(event) = parser.next() {
        let at = |limit| Exceeded {
            limit,
            line: event.line() + 1,
            column: event.column() + 1,
        };
        let finished = match event.kind() {
            Kind::StreamEnd => break,
            Kind::DocumentStart => {
                document = 0;
                None
            }
            Kind::DocumentEnd | Kind::Other => None,
            Kind::Scalar(scalar) => Some((
                scalar.anchor.map(<[u8]>::to_vec),
                (scalar.value.len() as u64).saturating_add(1),
            )),
            Kind::Alias(anchor) => Some((None, anchored.get(anchor).copied().unwrap_or(1))),
            Kind::SequenceStart(anchor) | Kind::MappingStart(anchor) => {
                open.push(Open {
                    anchor: anchor.map(<[u8]>::to_vec),
                    expanded: 1,
                });
                if open.len() > MAXIMUM_DEPTH {
                    return Some(at(Limit::Depth));
                }
                None
            }
            Kind::SequenceEnd | Kind::MappingEnd => open.pop().map(|done| (done.anchor, done.expanded)),
        };
        if let Some((anchor, expanded)) = finished {
            if let Some(anchor) = anchor {
                anchored.insert(anchor, expanded);
            }
            let holder = open.last_mut().map_or(&mut document, |parent| &mut parent.expanded);
            *holder = holder.saturating_add(expanded);
            if *holder > MAXIMUM_EXPANDED {
                return Some(at(Limit::Expansion));
            }
        }
        observe(&event);
    }
    None
}

/// One libyaml event, freed when dropped.
pub struct Event {
    raw: unsafe_libyaml::yaml_event_t,
}

/// What an event is, borrowing its anchor, tag and value.
pub enum Kind<'e> {
    StreamEnd,
    DocumentStart,
    DocumentEnd,
    Scalar(Scalar<'e>),
    /// The anchor an alias names.
    Alias(&'e [u8]),
    /// A sequence or a mapping starts, with its anchor.
    SequenceStart(Option<&'e [u8]>),
    MappingStart(Option<&'e [u8]>),
    SequenceEnd,
    MappingEnd,
    Other,
}

/// A scalar event's anchor, tag and value (its text as read: quotes and escapes undone).
pub struct Scalar<'e> {
    pub anchor: Option<&'e [u8]>,
    pub tag: Option<&'e [u8]>,
    pub value: &'e [u8],
    /// Unquoted, not a block scalar: its type is read from its text (`80`, `true`, `~`).
    pub plain: bool,
}

impl Event {
    pub fn kind(&self) -> Kind<'_> {
        let raw = &self.raw;
        // SAFETY: the event was initialised by a successful parse and is not yet deleted; each
        // union field is read per the event's type, as serde_yaml reads them, and what the
        // pointers point at lives as long as the event, which the borrows cannot outlive.
        unsafe {
            let text =
                |pointer: *const u8| (!pointer.is_null()).then(|| std::ffi::CStr::from_ptr(pointer.cast()).to_bytes());
            match raw.type_ {
                unsafe_libyaml::YAML_STREAM_END_EVENT => Kind::StreamEnd,
                unsafe_libyaml::YAML_DOCUMENT_START_EVENT => Kind::DocumentStart,
                unsafe_libyaml::YAML_DOCUMENT_END_EVENT => Kind::DocumentEnd,
                unsafe_libyaml::YAML_SCALAR_EVENT => {
                    let scalar = &raw.data.scalar;
                    let length = usize::try_from(scalar.length).unwrap_or(0);
                    let value = if scalar.value.is_null() || length == 0 {
                        &[][..]
                    } else {
                        std::slice::from_raw_parts(scalar.value, length)
                    };
                    Kind::Scalar(Scalar {
                        anchor: text(scalar.anchor),
                        tag: text(scalar.tag),
                        value,
                        plain: scalar.style == unsafe_libyaml::YAML_PLAIN_SCALAR_STYLE,
                    })
                }
                unsafe_libyaml::YAML_ALIAS_EVENT => Kind::Alias(text(raw.data.alias.anchor).unwrap_or_default()),
                unsafe_libyaml::YAML_SEQUENCE_START_EVENT => Kind::SequenceStart(text(raw.data.sequence_start.anchor)),
                unsafe_libyaml::YAML_MAPPING_START_EVENT => Kind::MappingStart(text(raw.data.mapping_start.anchor)),
                unsafe_libyaml::YAML_SEQUENCE_END_EVENT => Kind::SequenceEnd,
                unsafe_libyaml::YAML_MAPPING_END_EVENT => Kind::MappingEnd,
                _ => Kind::Other,
            }
        }
    }

    /// Where the event starts, as a byte offset in the text: at its anchor or tag, if it has one.
    pub fn start(&self) -> usize {
        usize::try_from(self.raw.start_mark.index).unwrap_or(usize::MAX)
    }

    /// Where the event ends, as a byte offset in the text.
    pub fn end(&self) -> usize {
        usize::try_from(self.raw.end_mark.index).unwrap_or(usize::MAX)
    }

    /// 0-based, as libyaml counts.
    fn line(&self) -> usize {
        usize::try_from(self.raw.start_mark.line).unwrap_or(usize::MAX)
    }

    fn column(&self) -> usize {
        usize::try_from(self.raw.start_mark.column).unwrap_or(usize::MAX)
    }

    /// A scalar event of `text` as the loaded document names a mapping key with it: the text of
    /// the value serde_yaml makes of it, as `interpolate::key_text` writes it (`0x50` is `80`,
    /// `~` is `null`, `!!str 80` is `80`, a locally tagged `!x a` is `?`). `None` for other events.
    pub fn key_text(&self, text: &str) -> Option<Cow<'_, str>> {
        let Kind::Scalar(scalar) = self.kind() else {
            return None;
        };
        let value = String::from_utf8_lossy(scalar.value);
        let read = |written: &str| match serde_yaml::from_str::<Value>(written) {
            Ok(read @ (Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) | Value::Tagged(_))) => {
                Some(Cow::Owned(super::interpolate::key_text(&read)))
            }
            _ => None,
        };
        let known = if scalar.tag.is_some() {
            // The tag decides the type: serde_yaml reads the scalar as written, tag and all.
            text.get(self.start()..self.end()).and_then(read)
        } else if scalar.plain && value.is_empty() {
            Some(Cow::Borrowed("null"))
        } else if scalar.plain && may_be_typed(&value) {
            read(&value)
        } else {
            None
        };
        Some(known.unwrap_or(value))
    }
}

/// Whether a plain scalar may be read as something other than a string (a number, a boolean, a
/// null), and can be read alone as it would be where it stands: one word of the characters of
/// numbers and those words, not a document marker or a list's dash. Every other plain scalar is
/// a string, and most keys are, so serde_yaml is asked about few.
fn may_be_typed(value: &str) -> bool {
    let word_characters = value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.' | b'_' | b'~'));
    let starts_typed = value.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | '~'))
        || ["null", "true", "false"]
            .iter()
            .any(|word| value.eq_ignore_ascii_case(word));
    word_characters && starts_typed && !matches!(value, "-" | "---" | "...")
}

impl Drop for Event {
    fn drop(&mut self) {
        // SAFETY: the event was initialised by a successful parse and is deleted once.
        unsafe { unsafe_libyaml::yaml_event_delete(&mut self.raw) }
    }
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
        // which the returned `Event` owns and deletes when dropped.
        unsafe {
            if unsafe_libyaml::yaml_parser_parse(self.sys.as_mut_ptr(), event.as_mut_ptr()).fail {
                self.failed = true;
                return None;
            }
            Some(Event {
                raw: event.assume_init(),
            })
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
