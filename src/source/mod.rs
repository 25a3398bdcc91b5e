//! Source files: how the core reads them (through `Files`), and where a key path sits in their text.

mod key_index;
mod locate;

pub use key_index::KeyIndex;
pub(crate) use key_index::KeyIndexBuilder;
pub use locate::{locate_all, locate_all_with, Provenance, ServiceAt};

use crate::diagnostic::{Code, Diagnostic, KeyPath};
use std::io;
use std::path::{Path, PathBuf};

/// Everything the core reads goes through this, so tests and tools can hand it files from memory.
pub trait Files {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;

    /// Whether anything is at `path`, where compose looks for its default files.
    fn exists(&self, path: &Path) -> bool {
        self.read(path).is_ok()
    }

    /// A file a service bind-mounts (a config file), read to find the services it names: a
    /// regular file of at most `limit` bytes, never through a link, and outside the project's
    /// input budget (the caller bounds what it reads in all).
    fn read_mounted(&self, path: &Path, limit: u64) -> io::Result<Vec<u8>> {
        let bytes = self.read(path)?;
        if bytes.len() as u64 > limit {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                format!("more than {limit} bytes"),
            ));
        }
        Ok(bytes)
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
    /// As compose's `os.Stat`: a link counts by what it points to, so a broken one is no file
    /// and the next default name is looked for. The reader still refuses what is not a file.
    fn exists(&self, path: &Path) -> bool {
        std::fs::metadata(path).is_ok()
    }

    fn read_mounted(&self, path: &Path, limit: u64) -> io::Result<Vec<u8>> {
        read_regular_file_within(path, Links::Refuse, limit)
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
    read_regular_file_within(path, links, MAXIMUM_FILE_BYTES)
}

/// [`read_regular_file`], with a limit of `limit` bytes.
fn read_regular_file_within(path: &Path, links: Links, limit: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let metadata = match links {
        Links::Follow => std::fs::metadata(path)?,
        Links::Refuse => std::fs::symlink_metadata(path)?,
    };
    refuse_irregular(&metadata)?;
    let file = open_without_blocking(path, links)?;
    refuse_irregular(&file.metadata()?)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("more than {limit} bytes"),
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

    fn read_mounted(&self, path: &Path, limit: u64) -> io::Result<Vec<u8>> {
        self.inner.read_mounted(path, limit)
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

/// A diagnostic for a file that could not be read at all.
pub fn unreadable(path: &Path, error: &io::Error) -> Diagnostic {
    let shown = display_path(path);
    if error.kind() == io::ErrorKind::FileTooLarge {
        return Diagnostic::error(
            Code::FileTooLarge,
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
            Code::InputTooLarge,
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
        Code::UnreadableFile,
        KeyPath::root(),
        format!("cannot read `{shown}`: {reason}"),
    )
    .at_file(&shown, 1, 1)
}
