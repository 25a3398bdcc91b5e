//! Source files: how the core reads them (through `Files`), and where a key path sits in their text.

use crate::diagnostic::{Diagnostic, Diagnostics, KeyPath, Location, Segment};
use crate::load::yaml_limits::{Event, Kind};
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

/// Everything the core reads goes through this, so tests and tools can hand it files from memory.
pub trait Files {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;

    /// Whether anything is at `path`, where compose looks for its default files.
    fn exists(&self, path: &Path) -> bool {
        self.read(path).is_ok()
    }

    /// `path` made absolute with its links resolved, for the name of the project's folder.
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("no folder `{}` here", path.display()),
        ))
    }
}

/// Reads from the file system.
pub struct FileSystem;

/// The largest file compose2ecs reads: far beyond any real compose or env file, and a bound on
/// the memory a hostile one can take.
pub const MAXIMUM_FILE_BYTES: u64 = 16 * 1024 * 1024;

impl Files for FileSystem {
    /// Compose follows symbolic links to the files a project names, so this does too; what it
    /// reaches must still be a regular file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        read_regular_file(path, Links::Follow)
    }

    /// A folder, a FIFO or a broken link counts: it is taken, and reading it is refused.
    fn exists(&self, path: &Path) -> bool {
        std::fs::symlink_metadata(path).is_ok()
    }

    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        std::fs::canonicalize(path)
    }
}

/// Whether a read may go through a symbolic link in the last component of its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// As compose does for the files a project names.
    Follow,
    /// For the files compose2ecs owns in its output folder, which it never reaches through a link.
    Refuse,
}

/// The one way compose2ecs reads a file: a regular file only, at most `MAXIMUM_FILE_BYTES`.
///
/// A FIFO would block the run for ever and a device (`/dev/zero`) never ends, and either can be
/// committed to a repository behind a link, so both are refused before they are opened (and,
/// should the path change in between, again from the opened file, which was opened without
/// blocking). Reading stops one byte past the limit whatever the file claims its size is.
pub fn read_regular_file(path: &Path, links: Links) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let metadata = match links {
        Links::Follow => std::fs::metadata(path)?,
        Links::Refuse => std::fs::symlink_metadata(path)?,
    };
    refuse_irregular(&metadata)?;
    let file = open_without_blocking(path, links)?;
    refuse_irregular(&file.metadata()?)?;
    let mut bytes = Vec::new();
    file.take(MAXIMUM_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAXIMUM_FILE_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("more than {MAXIMUM_FILE_BYTES} bytes"),
        ));
    }
    Ok(bytes)
}

fn refuse_irregular(metadata: &std::fs::Metadata) -> io::Result<()> {
    if metadata.is_dir() {
        return Err(io::Error::new(io::ErrorKind::IsADirectory, "it is a folder"));
    }
    if metadata.file_type().is_symlink() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "it is a symbolic link"));
    }
    if !metadata.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "it is not a regular file (a pipe, socket or device)",
        ));
    }
    Ok(())
}

#[cfg(unix)]
fn open_without_blocking(path: &Path, links: Links) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut flags = libc::O_NONBLOCK | libc::O_NOCTTY;
    if links == Links::Refuse {
        flags |= libc::O_NOFOLLOW;
    }
    std::fs::OpenOptions::new().read(true).custom_flags(flags).open(path)
}

#[cfg(not(unix))]
fn open_without_blocking(path: &Path, _links: Links) -> io::Result<std::fs::File> {
    std::fs::File::open(path)
}

/// The most compose2ecs reads for one project, all its files together: an `include` of many
/// large files (up to 1,024 projects) must not take more memory than one large file may.
pub const MAXIMUM_PROJECT_BYTES: u64 = MAXIMUM_FILE_BYTES;

/// Reads through `inner`, refusing the file that would take the total read past
/// [`MAXIMUM_PROJECT_BYTES`].
pub struct Budgeted<'a> {
    inner: &'a dyn Files,
    left: std::cell::Cell<u64>,
}

impl<'a> Budgeted<'a> {
    pub fn new(inner: &'a dyn Files) -> Budgeted<'a> {
        Budgeted {
            inner,
            left: std::cell::Cell::new(MAXIMUM_PROJECT_BYTES),
        }
    }
}

impl Files for Budgeted<'_> {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let bytes = self.inner.read(path)?;
        let size = bytes.len() as u64;
        if size > self.left.get() {
            return Err(io::Error::new(
                io::ErrorKind::QuotaExceeded,
                format!("more than {MAXIMUM_PROJECT_BYTES} bytes in all"),
            ));
        }
        self.left.set(self.left.get() - size);
        Ok(bytes)
    }

    fn exists(&self, path: &Path) -> bool {
        self.inner.exists(path)
    }

    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        self.inner.canonicalize(path)
    }
}

/// Files held in memory, by path: for tests, benchmarks and fuzzing.
#[derive(Debug, Default)]
pub struct MemoryFiles(pub std::collections::BTreeMap<PathBuf, Vec<u8>>);

impl Files for MemoryFiles {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.0
            .get(path)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "not in memory"))
    }
}

/// One loaded compose file: its path as the user gave it, its text, and where its keys are.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    keys: KeyIndex,
}

impl SourceFile {
    /// A file whose keys are indexed by a parse of their own.
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> SourceFile {
        let text = text.into();
        let keys = KeyIndex::new(&text);
        SourceFile {
            path: path.into(),
            text,
            keys,
        }
    }

    /// A file whose keys were indexed as it was parsed.
    pub(crate) fn indexed(path: impl Into<PathBuf>, text: String, keys: KeyIndex) -> SourceFile {
        SourceFile {
            path: path.into(),
            text,
            keys,
        }
    }

    pub fn display(&self) -> String {
        display_path(&self.path)
    }
}

/// A path as shown to users and written into diagnostics: forward slashes on every machine.
pub fn display_path(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// Where the keys of services that extend others were written, beyond their own definitions.
///
/// After `extends`, a key of `services.web` may be written under `services.base`, in this file or
/// another; the locator follows these links to find it there.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// A service → the service it extends.
    bases: HashMap<ServiceAt, ServiceAt>,
    /// Sources read only for `extends`: found only through `bases`, so that a service there with
    /// the name of one of the project's is not taken for it.
    base_only: Vec<usize>,
}

/// A service definition: in the project's own files (found by its key path), or in one source.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServiceAt {
    /// `None` for the project's files: every source but those read only for `extends`.
    pub source: Option<usize>,
    pub name: String,
}

/// How many `extends` links the locator follows: far beyond real files, and a bound on the work
/// per diagnostic.
const MAXIMUM_BASES_FOLLOWED: usize = 32;

impl Provenance {
    pub fn add_base(&mut self, service: ServiceAt, base: ServiceAt) {
        self.bases.insert(service, base);
    }

    pub fn add_base_only_source(&mut self, source: usize) {
        if !self.base_only.contains(&source) {
            self.base_only.push(source);
        }
    }

    /// A source read for `extends` that is also a part of the project (included): found by path.
    pub fn remove_base_only_source(&mut self, source: usize) {
        self.base_only.retain(|s| *s != source);
    }
}

/// Fills in the location of each diagnostic that has none, from the files' text.
/// Later files win: an override file's key is where the value came from.
pub fn locate_all(diagnostics: &mut Diagnostics, files: &[SourceFile]) {
    locate_all_with(diagnostics, files, &Provenance::default());
}

/// [`locate_all`], also looking for a service's keys in the services it extends: the deepest
/// match wins, and of equally deep ones the service's own definition.
pub fn locate_all_with(diagnostics: &mut Diagnostics, files: &[SourceFile], provenance: &Provenance) {
    let locate_in = |file: usize, path: &KeyPath| -> Option<(usize, Location)> {
        let (depth, line, column) = files[file].keys.locate(path)?;
        let location = Location {
            file: files[file].display(),
            line,
            column,
        };
        Some((depth, location))
    };
    let project_files: Vec<usize> = (0..files.len())
        .rev()
        .filter(|file| !provenance.base_only.contains(file))
        .collect();
    for diagnostic in diagnostics.0.iter_mut().filter(|d| d.location.is_none()) {
        let mut best: Option<(usize, Location)> = None;
        let mut consider = |found: Option<(usize, Location)>| {
            if let Some((depth, location)) = found {
                if best.as_ref().is_none_or(|(best_depth, _)| depth > *best_depth) {
                    best = Some((depth, location));
                }
            }
        };
        for &file in &project_files {
            consider(locate_in(file, &diagnostic.path));
        }
        if let [Segment::Key(services), Segment::Key(name), rest @ ..] = diagnostic.path.0.as_slice() {
            let mut service = ServiceAt {
                source: None,
                name: name.clone(),
            };
            let followed = if services == "services" {
                MAXIMUM_BASES_FOLLOWED
            } else {
                0
            };
            for _ in 0..followed {
                let Some(base) = provenance.bases.get(&service) else {
                    break;
                };
                let mut path = KeyPath::root().key(services.as_str()).key(base.name.as_str());
                path.0.extend(rest.iter().cloned());
                match base.source {
                    Some(file) if file < files.len() => consider(locate_in(file, &path)),
                    Some(_) => {}
                    None => project_files.iter().for_each(|&file| consider(locate_in(file, &path))),
                }
                service = base.clone();
            }
        }
        // What is about the whole project points at the start of its first file.
        let whole_file = || {
            files.first().map(|file| Location {
                file: file.display(),
                line: 1,
                column: 1,
            })
        };
        diagnostic.location = best.map(|(_, location)| location).or_else(whole_file);
    }
}

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
            let property = rest.find([' ', '\t', '\r', '\n']).unwrap_or(rest.len());
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

/// A diagnostic for a file that could not be read at all.
pub fn unreadable(path: &Path, error: &io::Error) -> Diagnostic {
    let shown = display_path(path);
    if error.kind() == io::ErrorKind::FileTooLarge {
        return Diagnostic::error(
            "file-too-large",
            KeyPath::root(),
            format!(
                "`{shown}` is larger than the {} MiB compose2ecs reads",
                MAXIMUM_FILE_BYTES / (1024 * 1024)
            ),
        )
        .at_file(&shown, 1, 1)
        .with_help("a compose file this large is not a compose file; check the path");
    }
    if error.kind() == io::ErrorKind::QuotaExceeded {
        return Diagnostic::error(
            "input-too-large",
            KeyPath::root(),
            format!(
                "reading `{shown}` would take the files of this project past the {} MiB compose2ecs reads in all",
                MAXIMUM_PROJECT_BYTES / (1024 * 1024)
            ),
        )
        .at_file(&shown, 1, 1)
        .with_help("include fewer or smaller files; no app's compose files come near this");
    }
    let reason = match error.kind() {
        io::ErrorKind::NotFound => "no such file".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        io::ErrorKind::IsADirectory => "it is a folder".to_string(),
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
    command: |
      image: not a key
      run
  db:
    # a comment
    image: postgres
    environment: {A: b}
    expose:
    - 5432
    - 5433
x-ecs:
  cluster: prod
";

    /// `path` written as `a.b[1].c` (no key with a dot or a bracket).
    fn path(written: &str) -> KeyPath {
        let mut path = KeyPath::root();
        for part in written.split('.') {
            let mut pieces = part.split('[');
            let key = pieces.next().unwrap_or_default();
            if !key.is_empty() {
                path = path.key(key);
            }
            for item in pieces {
                path = path.index(item.trim_end_matches(']').parse().unwrap());
            }
        }
        path
    }

    /// Where `path` is in `text`, found to its last segment: (line, column).
    fn at_in(text: &str, written: &str) -> Option<(usize, usize)> {
        let path = path(written);
        KeyIndex::new(text)
            .locate(&path)
            .filter(|(depth, _, _)| *depth == path.0.len())
            .map(|(_, line, column)| (line, column))
    }

    fn at(written: &str) -> Option<(usize, usize)> {
        at_in(TEXT, written)
    }

    #[test]
    fn finds_keys_and_items() {
        assert_eq!(at("services.web.image"), Some((3, 5)));
        assert_eq!(at("services.web.ports[0]"), Some((5, 9)));
        assert_eq!(at("services.web.ports[1]"), Some((6, 9)));
        assert_eq!(at("services.web.ports[1].published"), Some((7, 9)));
        assert_eq!(at("services.db.image"), Some((13, 5)));
        assert_eq!(at("services.db.expose[1]"), Some((17, 7)));
        assert_eq!(at("x-ecs.cluster"), Some((19, 3)));
    }

    #[test]
    fn finds_keys_and_items_of_flow_collections() {
        let text = "services: {web: {image: a, ports: [\"80:80\", {target: 443}]},\n  db: {\n    image: b,\n    \"env\": [X=1,\n      Y=2]}}\n";
        assert_eq!(at_in(text, "services.web"), Some((1, 12)));
        assert_eq!(at_in(text, "services.web.image"), Some((1, 18)));
        assert_eq!(at_in(text, "services.web.ports[0]"), Some((1, 36)));
        assert_eq!(at_in(text, "services.web.ports[1].target"), Some((1, 46)));
        assert_eq!(at_in(text, "services.db.image"), Some((3, 5)));
        assert_eq!(at_in(text, "services.db.env"), Some((4, 5)));
        assert_eq!(at_in(text, "services.db.env[1]"), Some((5, 7)));
        assert_eq!(at("services.db.environment.A"), Some((14, 19)));
    }

    #[test]
    fn keys_match_as_the_loaded_document_writes_them() {
        let text = "\
\"web app\": 1
'it''s': 2
\"a\\tb\": 3
80: 4
0x10: 5
~: 6
!!str 012: 7
true: 8
&name anchored: 9
nested: {*name : 10}
? |
  long
: 11
[a, b]: 12
{c: d}: 13
!local x: 14
1.5: 15
? multi
  line
: 16
1e3: 17
";
        assert_eq!(at_in(text, "web app"), Some((1, 1)));
        assert_eq!(at_in(text, "it's"), Some((2, 1)));
        assert_eq!(at_in(text, "a\tb"), Some((3, 1)));
        assert_eq!(at_in(text, "80"), Some((4, 1)));
        assert_eq!(at_in(text, "16"), Some((5, 1)));
        assert_eq!(at_in(text, "null"), Some((6, 1)));
        assert_eq!(at_in(text, "012"), Some((7, 7)), "past the tag");
        assert_eq!(at_in(text, "true"), Some((8, 1)));
        assert_eq!(at_in(text, "anchored"), Some((9, 7)), "past the anchor");
        assert_eq!(at_in(text, "nested.anchored"), Some((10, 10)), "an alias as a key");
        assert_eq!(at_in(text, "long\n"), Some((11, 3)));
        // Complex and locally tagged keys are `?` in the loaded document; the first is found.
        assert_eq!(at_in(text, "?"), Some((14, 1)));
        let index = KeyIndex::new(text);
        assert_eq!(index.locate(&KeyPath::root().key("1.5")), Some((1, 17, 1)));
        assert_eq!(index.locate(&KeyPath::root().key("1000.0")), Some((1, 21, 1)));
        assert_eq!(at_in(text, "multi line"), Some((18, 3)));
        assert_eq!(at_in(text, "x"), None);
    }

    #[test]
    fn a_path_through_an_alias_is_found_inside_the_anchor() {
        let text = "\
x-web: &web
  image: a
  ports: [\"1:1\", \"2:2\"]
x-labels: &labels {a: b}
services:
  web: *web
  api:
    image: b
    labels: *labels
    ports:
      - *web
";
        assert_eq!(at_in(text, "services.web"), Some((6, 3)), "the key itself");
        assert_eq!(at_in(text, "services.web.image"), Some((2, 3)));
        assert_eq!(at_in(text, "services.web.ports[1]"), Some((3, 18)));
        assert_eq!(at_in(text, "services.api.labels.a"), Some((4, 20)));
        assert_eq!(at_in(text, "services.api.ports[0]"), Some((11, 9)), "the item itself");
        assert_eq!(at_in(text, "services.api.ports[0].image"), Some((2, 3)));
    }

    const MERGES: &str = "\
x-a: &a
  image: from-a
  restart: from-a
  ports: [from-a]
x-b: &b
  image: from-b
  user: from-b
  labels: {x: from-b}
x-c: &c
  <<: *a
  user: from-c
x-d: &d
  <<: *b
  hostname: from-d
services:
  one:
    <<: *a
    image: from-one
  two:
    <<: [*b, *a]
  three:
    <<: [*c, *b]
  four:
    <<: [*b, *d]
  five: {\"<<\": {<<: *a, user: from-five}, hostname: from-five}
";

    #[test]
    fn keys_a_merge_key_brings_in_are_found_where_they_are_written() {
        let at = |written| at_in(MERGES, written);
        // What a mapping writes wins over what it merges.
        assert_eq!(at("services.one.image"), Some((18, 5)));
        assert_eq!(at("services.one.restart"), Some((3, 3)));
        assert_eq!(at("services.one.ports[0]"), Some((4, 11)));
        // Of a list, the first mapping that writes a key wins.
        assert_eq!(at("services.two.image"), Some((6, 3)));
        assert_eq!(at("services.two.restart"), Some((3, 3)));
        assert_eq!(at("services.two.labels.x"), Some((8, 12)));
        // A merged mapping's own merge comes after what the list's mappings write.
        assert_eq!(at("services.three.user"), Some((11, 3)));
        assert_eq!(at("services.three.image"), Some((6, 3)));
        assert_eq!(at("services.three.restart"), Some((3, 3)));
        // Only the first merge of a list's mappings is merged (as the loader applies them).
        assert_eq!(at("services.four.hostname"), Some((14, 3)));
        assert_eq!(at("services.four.image"), Some((6, 3)));
        assert_eq!(at("services.five.user"), Some((25, 25)));
        assert_eq!(at("services.five.restart"), Some((3, 3)));
        assert_eq!(at("services.five.hostname"), Some((25, 43)));
        // `<<` itself is no key of the loaded document.
        assert_eq!(at("services.one.<<"), None);
    }

    fn is_quoting(character: char) -> bool {
        matches!(character, '"' | '\'' | '\\')
    }

    /// Every scalar of the document the loader makes of `text` is found on the line where the
    /// text writes it, after its key: the index follows aliases and merge keys as the loader does.
    fn check_against_the_loader(text: &str) -> usize {
        let mut document: serde_yaml::Value = serde_yaml::from_str(text).unwrap();
        crate::load::apply_merge_keys(&mut document).unwrap();
        let index = KeyIndex::new(text);
        let lines: Vec<&str> = text.lines().collect();
        let mut stack = vec![(KeyPath::root(), &document)];
        let mut checked = 0;
        while let Some((at, value)) = stack.pop() {
            match value {
                serde_yaml::Value::Mapping(mapping) => {
                    for (key, value) in mapping {
                        stack.push((at.key(crate::load::interpolate::key_text(key)), value));
                    }
                }
                serde_yaml::Value::Sequence(items) => {
                    stack.extend(items.iter().enumerate().map(|(item, value)| (at.index(item), value)));
                }
                serde_yaml::Value::String(written) => {
                    let found = index.locate(&at);
                    let (depth, line, column) = found.unwrap_or_else(|| panic!("{at} not found"));
                    assert_eq!(depth, at.0.len(), "{at}");
                    let from: String = lines[line - 1]
                        .chars()
                        .skip(column - 1)
                        .filter(|c| !is_quoting(*c))
                        .collect();
                    // A block scalar's value starts on the next line.
                    let shown = if written.contains('\n') { "" } else { written.as_str() };
                    let expected = match at.0.last() {
                        Some(Segment::Key(key)) => format!("{key}: {shown}"),
                        _ => shown.to_string(),
                    };
                    // Quotes and escapes are written, not read.
                    let expected: String = expected.chars().filter(|c| !is_quoting(*c)).collect();
                    assert!(from.starts_with(&expected), "{at} at {line}:{column}: {from:?}");
                    checked += 1;
                }
                _ => {}
            }
        }
        checked
    }

    #[test]
    fn finds_what_the_loader_reads_where_it_is_written() {
        assert!(check_against_the_loader(MERGES) > 0);
        assert!(check_against_the_loader(TEXT) > 0);
        check_against_the_loader(
            "x-base: &base\n  environment: &env {A: from-base, B: from-base}\n  labels: [x, y]\nservices:\n  web:\n    <<: *base\n    environment:\n      <<: *env\n      B: from-web\n  api: {<<: [*base], command: [sh, -c, run]}\n",
        );
    }

    /// The compose files of `testdata/`, as they are: each value where the loader reads it.
    #[test]
    fn finds_every_value_of_the_testdata_files_where_it_is_written() {
        let mut checked = 0;
        let cases = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata")).unwrap();
        for case in cases {
            for file in std::fs::read_dir(case.unwrap().path()).unwrap() {
                let file = file.unwrap().path();
                let yaml = file.extension().is_some_and(|e| e == "yml" || e == "yaml");
                let Some(text) = yaml.then(|| std::fs::read_to_string(&file).unwrap()) else {
                    continue;
                };
                // A case about a file the loader refuses has nothing to find.
                let loads = serde_yaml::from_str::<serde_yaml::Value>(&text)
                    .is_ok_and(|mut document| crate::load::apply_merge_keys(&mut document).is_ok());
                if loads {
                    checked += check_against_the_loader(&text);
                }
            }
        }
        assert!(checked > 500, "{checked} values");
    }

    #[test]
    fn only_the_first_document_is_indexed() {
        let text = "---\nservices:\n  web: {image: a}\n...\n---\nother: 1\n";
        assert_eq!(at_in(text, "services.web.image"), Some((3, 9)));
        assert_eq!(at_in(text, "other"), None);
    }

    /// Neither building the index nor a lookup expands an alias or follows links without end.
    #[test]
    fn deep_anchors_stay_linear() {
        // A billion laughs, as many levels as the limits let through: each level nine aliases of
        // the one before.
        let mut text = String::from("a0: &a0 [x]\n");
        for level in 1..8 {
            let previous = format!("*a{}", level - 1);
            text.push_str(&format!(
                "a{level}: &a{level} [{}]\n",
                [previous.as_str(); 9].join(", ")
            ));
        }
        let started = std::time::Instant::now();
        let index = KeyIndex::new(&text);
        assert!(index.nodes.len() < 8 * 11, "{} nodes", index.nodes.len());
        let deep = format!("a7{}", "[8]".repeat(7));
        assert_eq!(at_in(&text, &format!("{deep}[0]")), Some((1, 10)));
        // A long chain of merges, each bringing in the one before.
        let mut text = String::from("m0: &m0 {k0: v}\n");
        for level in 1..2_000 {
            text.push_str(&format!("m{level}: &m{level} {{<<: *m{}, k{level}: v}}\n", level - 1));
        }
        assert_eq!(crate::load::yaml_limits::check(&text), None, "within the limits");
        let index = KeyIndex::new(&text);
        let far = path("m1999.k0");
        let near = path("m1999.k1990");
        for _ in 0..1_000 {
            assert_eq!(
                index.locate(&far).map(|(depth, _, _)| depth),
                Some(1),
                "given up, not followed to the end"
            );
            assert_eq!(index.locate(&near).map(|(depth, _, _)| depth), Some(2));
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    /// A node's place is past its anchor or tag, where the next event may start again (an item's
    /// mapping and its first key start at `&a`): counting places stays linear.
    #[test]
    fn anchored_keys_stay_linear() {
        let text: String = (0..50_000).map(|i| format!("- &a k{i}: v\n")).collect();
        let started = std::time::Instant::now();
        let index = KeyIndex::new(&text);
        assert_eq!(index.locate(&path("[49999]")), Some((1, 50_000, 6)));
        assert_eq!(index.locate(&path("[49999].k49999")), Some((2, 50_000, 6)));
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        // Counted back, were a place ever behind the last.
        let mut builder = KeyIndexBuilder::new("ab\ncdé f\n");
        assert_eq!(builder.place(8), (2, 5));
        assert_eq!(builder.place(4), (2, 2));
        assert_eq!(builder.place(1), (1, 2));
        assert_eq!(builder.place(9), (2, 6));
    }

    #[test]
    fn follows_extends_into_the_base_and_skips_same_named_services_of_base_files() {
        let files = [
            SourceFile::new(
                "compose.yaml",
                "services:\n  web:\n    extends: {file: base.yml, service: base}\n    image: x\n",
            ),
            SourceFile::new(
                "base.yml",
                "services:\n  web:\n    ports: ['1:1']\n  base:\n    ports: ['2:2']\n",
            ),
        ];
        let mut provenance = Provenance::default();
        provenance.add_base_only_source(1);
        let web = ServiceAt {
            source: None,
            name: "web".into(),
        };
        let base = ServiceAt {
            source: Some(1),
            name: "base".into(),
        };
        provenance.add_base(web, base);
        let web = KeyPath::root().key("services").key("web");
        let mut diagnostics = Diagnostics::default();
        diagnostics.push(Diagnostic::warning(
            "ignored-key",
            web.key("ports").index(0),
            "inherited",
        ));
        diagnostics.push(Diagnostic::warning("ignored-key", web.key("image"), "its own"));
        diagnostics.push(Diagnostic::warning("ignored-key", web.key("nothing"), "nowhere"));
        locate_all_with(&mut diagnostics, &files, &provenance);
        let places: Vec<(String, usize, usize)> = diagnostics
            .iter()
            .map(|d| d.location.as_ref().map(|l| (l.file.clone(), l.line, l.column)).unwrap())
            .collect();
        let expected = [("base.yml", 5, 13), ("compose.yaml", 4, 5), ("compose.yaml", 2, 3)];
        assert_eq!(
            places,
            expected.map(|(file, line, column)| (file.to_string(), line, column))
        );
    }

    #[test]
    fn falls_back_to_the_deepest_known_key() {
        let index = KeyIndex::new(TEXT);
        assert_eq!(index.locate(&path("services.db.environment.B")), Some((3, 14, 5)));
        assert_eq!(index.locate(&path("services.nope")), Some((1, 1, 1)));
        // Lines of a block scalar are not keys.
        assert_eq!(index.locate(&path("services.web.command.image")), Some((3, 8, 5)));
        // Nor is anything of a text that is not YAML, or not a mapping.
        assert_eq!(KeyIndex::new("a: [b\n").locate(&path("a")), Some((1, 1, 1)));
        assert_eq!(KeyIndex::new("- a\n").locate(&path("a")), None);
        assert_eq!(KeyIndex::new("").locate(&path("a")), None);
    }
}
