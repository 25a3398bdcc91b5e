//! The key index: where each key and list item of a YAML text is written, from the parser's events.

use crate::diagnostic::{KeyPath, Segment};
use crate::load::yaml_limits::{Event, Kind};
use std::collections::HashMap;

/// Where each mapping key and sequence item of a YAML text is written, from libyaml's events
/// (block and flow style alike), with the links YAML draws between them: an alias to the node
/// its anchor names, a mapping to what its `<<` merge key brings in.
///
/// Built in the parse that checks the text's limits, one entry per node, never expanding an
/// alias: a lookup follows the links lazily, with bounded work per key, so locating many
/// diagnostics stays linear in the text. Only the first document is indexed: serde_yaml refuses
/// a file with more.
#[derive(Clone, Default)]
pub struct KeyIndex {
    /// What each node is, by node id.
    nodes: Vec<Node>,
    /// The document's top node.
    root: Option<u32>,
    /// Each distinct key text (as `interpolate::key_text` writes the loaded document's keys), once.
    key_ids: HashMap<Box<str>, u32>,
    /// (mapping or sequence node, key or item) → where that key or item is written, and its value.
    entries: HashMap<(u32, Step), Entry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    Scalar,
    Mapping,
    Sequence,
    /// An alias, with the node its anchor names (none when no anchor had that name).
    Alias(Option<u32>),
}

/// One step down from a collection: a key (its id in `key_ids`) or an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Step {
    Key(u32),
    Item(u32),
}

/// Where a key or an item is written (1-based line and column, in characters), and its value.
#[derive(Debug, Clone, Copy)]
struct Entry {
    line: u32,
    column: u32,
    value: u32,
}

/// How many entries one key's lookup may read among the mappings merge keys bring in: far beyond
/// real files (a few levels of `<<`, a few mappings each), and a bound on the work per key that a
/// long chain of merges (each `<<: *previous`) cannot pass.
const MAXIMUM_MERGE_PROBES: usize = 256;

/// A key and its text for merges: serde_yaml merges the string key `<<`, however it is quoted.
const MERGE_KEY: &str = "<<";

impl std::fmt::Debug for KeyIndex {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "KeyIndex({} nodes)", self.nodes.len())
    }
}

impl KeyIndex {
    /// The index of `text`, read by a parse of its own: for texts not read by the loader.
    pub fn new(text: &str) -> KeyIndex {
        let mut builder = KeyIndexBuilder::new(text);
        crate::load::yaml_limits::check_observing(text, &mut |event| builder.see(event));
        builder.finish()
    }

    /// The deepest known segment of `path`: (depth, line, column), 1-based. A path through an
    /// alias, or to a key a merge key brings in, is found where its value is written: inside the
    /// anchored node.
    pub fn locate(&self, path: &KeyPath) -> Option<(usize, usize, usize)> {
        let mut node = self.root?;
        let mut found = None;
        for (depth, segment) in path.0.iter().enumerate() {
            let collection = self.resolve(node);
            let entry = match segment {
                Segment::Index(item) => u32::try_from(*item)
                    .ok()
                    .and_then(|item| self.entries.get(&(collection, Step::Item(item)))),
                Segment::Key(key) => self
                    .key_ids
                    .get(key.as_str())
                    .and_then(|&key| self.find_key(collection, key)),
            };
            let Some(entry) = entry else {
                break;
            };
            found = Some((depth + 1, entry.line as usize, entry.column as usize));
            node = entry.value;
        }
        found
    }

    /// The node an alias names; any other node itself. An anchor is never on an alias, so one
    /// step is all there is.
    fn resolve(&self, node: u32) -> u32 {
        match self.nodes.get(node as usize) {
            Some(Node::Alias(Some(target))) => *target,
            _ => node,
        }
    }

    fn kind(&self, node: u32) -> Option<Node> {
        self.nodes.get(node as usize).copied()
    }

    /// What the `<<` key of `mapping` holds, through its alias.
    fn merged_into(&self, mapping: u32) -> Option<u32> {
        let merge = *self.key_ids.get(MERGE_KEY)?;
        let entry = self.entries.get(&(mapping, Step::Key(merge)))?;
        Some(self.resolve(entry.value))
    }

    /// `key` of `mapping`: written there, or brought in by its merge key as the loader applies
    /// them (`load::apply_merge_keys`: serde_yaml's `apply_merge`, repeated until no `<<` is left).
    /// A key written in the mapping wins; then one written in the merged mapping, or in the first
    /// of a merged list of mappings that writes it; then, the same way, the `<<` of that mapping,
    /// or of the first in the list that has one (each pass merges that `<<` in as any other key).
    fn find_key(&self, mapping: u32, key: u32) -> Option<&Entry> {
        let written_in = |mapping: u32| self.entries.get(&(mapping, Step::Key(key)));
        if self.key_ids.get(MERGE_KEY) == Some(&key) {
            // The loaded document has no `<<` left.
            return None;
        }
        if let Some(entry) = written_in(mapping) {
            return Some(entry);
        }
        let mut merged = self.merged_into(mapping)?;
        let mut probes = 0;
        loop {
            match self.kind(merged)? {
                Node::Mapping => {
                    probes += 1;
                    if probes > MAXIMUM_MERGE_PROBES {
                        return None;
                    }
                    if let Some(entry) = written_in(merged) {
                        return Some(entry);
                    }
                    merged = self.merged_into(merged)?;
                }
                Node::Sequence => {
                    let mut next = None;
                    for item in 0.. {
                        probes += 1;
                        if probes > MAXIMUM_MERGE_PROBES {
                            return None;
                        }
                        let Some(entry) = self.entries.get(&(merged, Step::Item(item))) else {
                            break;
                        };
                        let mapping = self.resolve(entry.value);
                        if let Some(entry) = written_in(mapping) {
                            return Some(entry);
                        }
                        if next.is_none() {
                            next = self.merged_into(mapping);
                        }
                    }
                    merged = next?;
                }
                Node::Scalar | Node::Alias(_) => return None,
            }
        }
    }
}

/// Builds a [`KeyIndex`] from the events of one parse, in the order of the text.
pub(crate) struct KeyIndexBuilder<'text> {
    text: &'text str,
    index: KeyIndex,
    /// The collections open at this event, innermost last.
    open: Vec<Open>,
    /// Each anchor's node: the latest of that name, as YAML reads an alias.
    anchors: HashMap<Vec<u8>, u32>,
    /// The key text of each anchored scalar, for an alias used as a key (`*name: value`).
    anchored_keys: HashMap<u32, u32>,
    /// Past the end of the first document.
    done: bool,
    /// The last place computed, from which the next is counted.
    cursor: Cursor,
}

/// A collection being read.
enum Open {
    Sequence {
        node: u32,
        items: u32,
    },
    /// With the key read and waiting for its value: its id and where it is written.
    Mapping {
        node: u32,
        key: Option<(u32, (u32, u32))>,
    },
}

/// A byte offset in the text, and its 0-based line and column (in characters).
#[derive(Default, Clone, Copy)]
struct Cursor {
    offset: usize,
    line: usize,
    column: usize,
}

impl<'text> KeyIndexBuilder<'text> {
    pub fn new(text: &'text str) -> KeyIndexBuilder<'text> {
        KeyIndexBuilder {
            text,
            index: KeyIndex::default(),
            open: Vec::new(),
            anchors: HashMap::new(),
            anchored_keys: HashMap::new(),
            done: false,
            cursor: Cursor::default(),
        }
    }

    pub fn finish(self) -> KeyIndex {
        self.index
    }

    /// Takes in one event.
    pub fn see(&mut self, event: &Event) {
        if self.done {
            return;
        }
        let kind = event.kind();
        let (node, anchor) = match &kind {
            Kind::DocumentEnd => {
                self.done = true;
                return;
            }
            Kind::SequenceEnd | Kind::MappingEnd => {
                self.open.pop();
                return;
            }
            Kind::Scalar(scalar) => (Node::Scalar, scalar.anchor),
            Kind::Alias(anchor) => (Node::Alias(self.anchors.get(*anchor).copied()), None),
            Kind::SequenceStart(anchor) => (Node::Sequence, *anchor),
            Kind::MappingStart(anchor) => (Node::Mapping, *anchor),
            Kind::StreamEnd | Kind::DocumentStart | Kind::Other => return,
        };
        // A file past 4 G nodes is far past the limits on its size; index no more of it.
        let Ok(id) = u32::try_from(self.index.nodes.len()) else {
            self.done = true;
            return;
        };
        self.index.nodes.push(node);
        let place = self.place(event.start());
        // The key text only where it may be needed: for a key, or an anchored scalar.
        let needs_key_text = matches!(self.open.last(), Some(Open::Mapping { key: None, .. }))
            || (anchor.is_some() && node == Node::Scalar);
        let key_text = needs_key_text.then(|| match node {
            Node::Scalar => self.key_id(&event.key_text(self.text).unwrap_or_default()),
            Node::Alias(Some(target)) => match self.anchored_keys.get(&target) {
                Some(&key) => key,
                None => self.key_id("?"),
            },
            // A collection as a key: the loaded document's key text for it.
            _ => self.key_id("?"),
        });
        if let Some(anchor) = anchor {
            self.anchors.insert(anchor.to_vec(), id);
            if let (Node::Scalar, Some(key)) = (node, key_text) {
                self.anchored_keys.insert(id, key);
            }
        }
        match self.open.last_mut() {
            None => {
                self.index.root.get_or_insert(id);
            }
            Some(Open::Sequence { node, items }) => {
                let entry = Entry {
                    line: place.0,
                    column: place.1,
                    value: id,
                };
                self.index.entries.insert((*node, Step::Item(*items)), entry);
                *items = items.saturating_add(1);
            }
            Some(Open::Mapping {
                key: pending @ None, ..
            }) => {
                *pending = key_text.map(|key| (key, place));
            }
            Some(Open::Mapping { node, key: pending }) => {
                if let Some((key, (line, column))) = pending.take() {
                    // serde_yaml refuses a key written twice; the first is where it is.
                    self.index.entries.entry((*node, Step::Key(key))).or_insert(Entry {
                        line,
                        column,
                        value: id,
                    });
                }
            }
        }
        match node {
            Node::Sequence => self.open.push(Open::Sequence { node: id, items: 0 }),
            Node::Mapping => self.open.push(Open::Mapping { node: id, key: None }),
            Node::Scalar | Node::Alias(_) => {}
        }
    }

    fn key_id(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.index.key_ids.get(text) {
            return id;
        }
        let id = u32::try_from(self.index.key_ids.len()).unwrap_or(u32::MAX);
        self.index.key_ids.insert(text.into(), id);
        id
    }

    /// The 1-based line and column of the node that starts at byte `offset`: past its anchor and
    /// tag (`&name !tag key`), at what is written, when that is on the same line.
    fn place(&mut self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.text.len());
        let mut at = offset;
        while let Some(rest) = self.text.get(at..).filter(|rest| rest.starts_with(['&', '!'])) {
            // An anchor or tag ends at a space or, in a flow collection, at a flow indicator: a
            // property is read once, so `[&a,&a,…]` stays linear.
            let property = rest
                .find([' ', '\t', '\r', '\n', ',', '[', ']', '{', '}'])
                .unwrap_or(rest.len());
            let after = rest[property..].trim_start_matches([' ', '\t']);
            if after.is_empty() || after.starts_with(['\r', '\n', '#', ',', ']', '}']) {
                at = offset;
                break;
            }
            at += rest.len() - after.len();
        }
        if !self.text.is_char_boundary(at) {
            return (1, 1);
        }
        // Events come in the order of the text, so counting on from the last place is linear. (A
        // mapping and its first key may start at one anchor, `- &a key: v`, and both are placed
        // past it; were a place ever behind the last, it is counted back from there.)
        if at < self.cursor.offset {
            let between = &self.text[at..self.cursor.offset];
            let lines_back = between.bytes().filter(|b| *b == b'\n').count();
            let line_start = self.text[..at].rfind('\n').map_or(0, |newline| newline + 1);
            self.cursor = Cursor {
                offset: at,
                line: self.cursor.line - lines_back,
                column: self.text[line_start..at].chars().count(),
            };
        }
        for byte in &self.text.as_bytes()[self.cursor.offset..at] {
            if *byte == b'\n' {
                self.cursor.line += 1;
                self.cursor.column = 0;
            } else if byte & 0xC0 != 0x80 {
                self.cursor.column += 1;
            }
        }
        self.cursor.offset = at;
        let number = |n: usize| u32::try_from(n + 1).unwrap_or(u32::MAX);
        (number(self.cursor.line), number(self.cursor.column))
    }
}

#[cfg(test)]
mod tests;
