//! Source files: how the core reads them (through `Files`), and where a key path sits in their text.

use crate::diagnostic::{Diagnostic, Diagnostics, KeyPath, Location, Segment};
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

/// Everything the core reads goes through this, so tests and tools can hand it files from memory.
pub trait Files {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
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
    let mut indexes: Vec<Option<KeyIndex<'_>>> = files.iter().map(|_| None).collect();
    let mut locate_in = |file: usize, path: &KeyPath| -> Option<(usize, Location)> {
        let index = indexes[file].get_or_insert_with(|| KeyIndex::new(&files[file].text));
        let (depth, line, column) = index.locate(path)?;
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

/// Where each key and list item of a block-style YAML text starts: a tree of the text's keys and
/// items, built in one pass over the lines without copying any key, so locating many diagnostics
/// stays linear in the size of the text.
///
/// This is a locator, not a parser: keys inside flow collections (`{a: b}`, `[x, y]`) or brought
/// in by anchors and merge keys are not indexed, and a lookup falls back to the deepest enclosing
/// key it knows, which is still a useful place to point at.
pub struct KeyIndex<'a> {
    /// (parent node, step) → child node; node 0 is the document.
    children: HashMap<(usize, Step<'a>), usize>,
    /// Where each node starts (line, column), by node; the document has none.
    places: Vec<(usize, usize)>,
}

/// One step down the tree, borrowing keys from the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// An open node while indexing: a mapping key or a list item, at the column its content starts.
struct Frame {
    column: usize,
    is_item: bool,
    node: usize,
    items: usize,
}

impl<'a> KeyIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut index = KeyIndex {
            children: HashMap::new(),
            places: vec![(0, 0)],
        };
        let mut stack: Vec<Frame> = Vec::new();
        // A block scalar (`|` or `>`) owns every deeper line after its key.
        let mut block_scalar_at: Option<usize> = None;
        for (number, line) in text.lines().enumerate() {
            let Some(mut column) = content_column(line) else {
                continue;
            };
            if let Some(owner) = block_scalar_at {
                if column > owner {
                    continue;
                }
                block_scalar_at = None;
            }
            let mut content = &line[column..];
            // A list item, and maybe a key on the same line after its dash.
            if content == "-" || content.starts_with("- ") {
                while stack
                    .last()
                    .is_some_and(|f| f.column > column || (f.column == column && f.is_item))
                {
                    stack.pop();
                }
                let (parent, item) = match stack.last_mut() {
                    Some(frame) => {
                        frame.items += 1;
                        (frame.node, frame.items - 1)
                    }
                    None => (0, 0),
                };
                let rest = content[1..].trim_start_matches(' ');
                let item_column = line.len() - rest.len();
                let node = index.add(parent, Step::Index(item), (number + 1, item_column + 1));
                stack.push(Frame {
                    column,
                    is_item: true,
                    node,
                    items: 0,
                });
                if rest.is_empty() || rest.starts_with('#') {
                    continue;
                }
                column = item_column;
                content = rest;
            }
            let Some((key, value)) = split_key(content) else {
                continue;
            };
            while stack.last().is_some_and(|f| f.column >= column) {
                stack.pop();
            }
            let parent = stack.last().map_or(0, |f| f.node);
            let node = index.add(parent, Step::Key(key), (number + 1, column + 1));
            let value = value.trim_start();
            if value.starts_with('|') || value.starts_with('>') {
                block_scalar_at = Some(column);
            }
            stack.push(Frame {
                column,
                is_item: false,
                node,
                items: 0,
            });
        }
        index
    }

    /// The node for `step` under `parent`; the first place a key is written is where it is.
    fn add(&mut self, parent: usize, step: Step<'a>, place: (usize, usize)) -> usize {
        let next = self.places.len();
        let node = *self.children.entry((parent, step)).or_insert(next);
        if node == next {
            self.places.push(place);
        }
        node
    }

    /// The deepest known segment of `path`: (depth, line, column), 1-based.
    pub fn locate(&self, path: &KeyPath) -> Option<(usize, usize, usize)> {
        let mut node = 0;
        let mut depth = 0;
        for segment in &path.0 {
            let step = match segment {
                Segment::Key(key) => Step::Key(key.as_str()),
                Segment::Index(item) => Step::Index(*item),
            };
            match self.children.get(&(node, step)) {
                Some(&child) => {
                    node = child;
                    depth += 1;
                }
                None => break,
            }
        }
        (depth > 0).then(|| (depth, self.places[node].0, self.places[node].1))
    }
}

/// The column where a line's content starts, or None for blank, comment and document-marker lines.
fn content_column(line: &str) -> Option<usize> {
    let trimmed = line.trim_start_matches(' ');
    if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("---") || trimmed.starts_with("...") {
        return None;
    }
    Some(line.len() - trimmed.len())
}

/// `key: value` (plain or quoted key) → (key, value); None when the line is not a mapping entry.
fn split_key(content: &str) -> Option<(&str, &str)> {
    for quote in ['"', '\''] {
        if let Some(rest) = content.strip_prefix(quote) {
            let end = rest.find(quote)?;
            let after = rest[end + 1..].strip_prefix(':')?;
            return (after.is_empty() || after.starts_with([' ', '\t'])).then(|| (&rest[..end], after));
        }
    }
    if content.starts_with(['{', '[', '&', '*', '!', '|', '>']) {
        return None;
    }
    let mut search = 0;
    while let Some(offset) = content[search..].find(':') {
        let colon = search + offset;
        let after = &content[colon + 1..];
        if after.is_empty() || after.starts_with([' ', '\t']) {
            return Some((content[..colon].trim_end(), after));
        }
        search = colon + 1;
    }
    None
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

    fn at(path: KeyPath) -> Option<(usize, usize)> {
        KeyIndex::new(TEXT)
            .locate(&path)
            .map(|(_, line, column)| (line, column))
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
        assert_eq!(at(services.key("db").key("image")), Some((13, 5)));
        assert_eq!(at(services.key("db").key("expose").index(1)), Some((17, 7)));
        assert_eq!(at(KeyPath::root().key("x-ecs").key("cluster")), Some((19, 3)));
    }

    #[test]
    fn follows_extends_into_the_base_and_skips_same_named_services_of_base_files() {
        let files = [
            SourceFile {
                path: "compose.yaml".into(),
                text: "services:\n  web:\n    extends: {file: base.yml, service: base}\n    image: x\n".into(),
            },
            SourceFile {
                path: "base.yml".into(),
                text: "services:\n  web:\n    ports: ['1:1']\n  base:\n    ports: ['2:2']\n".into(),
            },
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
        let places: Vec<(String, usize)> = diagnostics
            .iter()
            .map(|d| d.location.as_ref().map(|l| (l.file.clone(), l.line)).unwrap())
            .collect();
        let expected = [("base.yml", 5), ("compose.yaml", 4), ("compose.yaml", 2)];
        assert_eq!(places, expected.map(|(file, line)| (file.to_string(), line)));
    }

    #[test]
    fn falls_back_to_the_deepest_known_key() {
        let path = KeyPath::root().key("services").key("db").key("environment").key("A");
        assert_eq!(KeyIndex::new(TEXT).locate(&path), Some((3, 14, 5)));
        assert_eq!(at(KeyPath::root().key("services").key("nope")), Some((1, 1)));
        // Lines of a block scalar are not keys.
        assert_eq!(
            at(KeyPath::root().key("services").key("web").key("command").key("image")),
            Some((8, 5))
        );
    }
}
