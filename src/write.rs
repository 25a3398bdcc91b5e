//! Write: the output folder, changed in one step or not at all.
//!
//! compose2ecs owns only the files its manifest in the folder lists. A run builds the whole new
//! output in a staging folder first, so a refused input, a full disk or an interrupted build
//! leaves the folder as it was. Only then it writes a journal, moves the files it replaces or
//! removes into a backup and the new ones into place (renames within one file system), and
//! deletes the journal: that is the commit. A failed commit is rolled back at once; a killed one
//! by the next run, which finds the journal. Files compose2ecs did not write are never touched:
//! it refuses to write over one, and never follows a symbolic link.
//!
//! The folder may come from someone else's pull request, work folder and journal included, so a
//! run trusts a work folder only when the user's state folder, outside the repository, records
//! the run that made it (`RunRecords`); any other work folder is refused, never followed.

use crate::emit::Output;
use crate::source::{read_regular_file, Links};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

/// The list of the files compose2ecs wrote, kept in the output folder and committed with it.
pub const MANIFEST: &str = ".compose2ecs-manifest";
/// Where a run works inside the output folder; it is gone when the run ends.
const WORK: &str = ".compose2ecs-work";
const JOURNAL: &str = "journal";
/// How many names deep compose2ecs writes in the output folder: `taskdefs/web.json`.
const MAXIMUM_OUTPUT_DEPTH: usize = 2;
/// The file in the work folder that names the run that made it.
const RUN: &str = "run";
const MANIFEST_HEADER: &str = "# The files compose2ecs wrote in this folder; it replaces and removes only these.\n";

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the output path `{0}` is a file, not a folder")]
    NotAFolder(PathBuf),
    #[error("another compose2ecs run is writing to `{0}`")]
    Busy(PathBuf),
    #[error("`{0}` is reached through a symbolic link; compose2ecs does not write through links")]
    Link(PathBuf),
    #[error("`{0}` was not written by compose2ecs, and compose2ecs would write there")]
    Conflict(PathBuf),
    #[error("an interrupted run left `{0}` half-changed; run `compose2ecs convert` to put it back")]
    Interrupted(PathBuf),
    #[error("`{0}` was not left by a compose2ecs run on this machine, so compose2ecs does not act on it")]
    Untrusted(PathBuf),
    #[error("cannot put `{path}` back as it was: {source}")]
    NotRestored {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write `{path}`: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl WriteError {
    /// Whether the output folder is as it was before the run (only a failed rollback leaves it not).
    pub fn folder_unchanged(&self) -> bool {
        !matches!(self, WriteError::NotRestored { .. } | WriteError::Interrupted(_))
    }

    /// What the user can do about it.
    pub fn help(&self) -> &'static str {
        match self {
            WriteError::Untrusted(_) => {
                "a work folder that a commit or another machine put there may carry a crafted journal; \
                 check where it came from (`git log --stat -- FOLDER`), then remove it and run again"
            }
            WriteError::NotRestored { .. } | WriteError::Interrupted(_) => {
                "run `compose2ecs convert` again: it finishes putting the folder back first"
            }
            _ => "the output folder is as it was before this run",
        }
    }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// How the files on disk differ from the output, by relative path.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Difference {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    /// Files in a folder compose2ecs generates (`taskdefs/`, …) that it did not write: a loop
    /// over the folder would register them with the output.
    pub unexpected: Vec<String>,
}

impl Difference {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty() && self.unexpected.is_empty()
    }
}

/// `relative` rebuilt from its plain components (`a//b`, `a/./b` → `a/b`); `None` when it leaves
/// the folder, is absolute, or is empty.
fn normal(relative: &str) -> Option<String> {
    let mut parts = Vec::new();
    for component in Path::new(relative).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str()?),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// What is at `dir/relative`, without following links: every folder on the way must be a real
/// folder, and the entry itself a regular file or nothing.
#[derive(Debug, PartialEq, Eq)]
enum Entry {
    Missing,
    File,
    /// A folder or anything else that is not a regular file: never compose2ecs's.
    Other,
}

fn entry(dir: &Path, relative: &str) -> Result<Entry, WriteError> {
    let mut path = dir.to_path_buf();
    let parts: Vec<&str> = relative.split('/').collect();
    for (index, part) in parts.iter().enumerate() {
        path.push(part);
        let metadata = match fs::symlink_metadata(&path) {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Entry::Missing),
            Err(error) => return Err(io_error(&path)(error)),
        };
        if metadata.file_type().is_symlink() {
            return Err(WriteError::Link(path));
        }
        let last = index + 1 == parts.len();
        if !last && !metadata.is_dir() {
            return Err(WriteError::NotAFolder(path));
        }
        if last {
            return Ok(if metadata.is_file() { Entry::File } else { Entry::Other });
        }
    }
    Ok(Entry::Missing)
}

/// The files compose2ecs wrote in `dir` last time, from its manifest (none when there is none).
fn owned_files(dir: &Path) -> Result<BTreeSet<String>, WriteError> {
    let path = dir.join(MANIFEST);
    if entry(dir, MANIFEST)? == Entry::Other {
        return Err(WriteError::Conflict(path));
    }
    match read_regular_file(&path, Links::Refuse) {
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes)
            .lines()
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            // A manifest edited by hand must not lead outside the folder or name the work folder.
            .filter_map(normal)
            // compose2ecs writes `FOLDER/FILE` at most: a deeper line is not its own, and would
            // cost a check of every folder on its way.
            .filter(|line| line.split('/').count() <= MAXIMUM_OUTPUT_DEPTH)
            .filter(|line| line != MANIFEST && line.split('/').next() != Some(WORK))
            .collect()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(BTreeSet::new()),
        Err(error) => Err(io_error(&path)(error)),
    }
}

/// Every file a run writes: the output and the manifest that lists it.
fn with_manifest(output: &Output) -> BTreeMap<String, String> {
    let mut files: BTreeMap<String, String> = output.clone();
    let mut text = String::from(MANIFEST_HEADER);
    for path in output.keys() {
        text.push_str(path);
        text.push('\n');
    }
    files.insert(MANIFEST.to_string(), text);
    files
}

/// The same text, whatever line endings a checkout gave it (Git's `autocrlf` on Windows).
fn same_text(on_disk: &[u8], generated: &str) -> bool {
    on_disk == generated.as_bytes() || String::from_utf8_lossy(on_disk).replace("\r\n", "\n") == generated
}

/// What writing `output` to `dir` would change; writes nothing (`convert --check`).
pub fn compare(dir: &Path, output: &Output) -> Result<Difference, WriteError> {
    refuse_links_on_the_way(dir)?;
    if dir.exists() && !dir.is_dir() {
        return Err(WriteError::NotAFolder(dir.to_path_buf()));
    }
    // Whoever left it, a work folder means the folder is not what a finished run wrote.
    if fs::symlink_metadata(dir.join(WORK)).is_ok() {
        return Err(WriteError::Interrupted(dir.to_path_buf()));
    }
    difference(dir, output)
}

fn difference(dir: &Path, output: &Output) -> Result<Difference, WriteError> {
    let owned = owned_files(dir)?;
    let mut difference = Difference::default();
    for (relative, contents) in with_manifest(output) {
        let path = dir.join(&relative);
        match entry(dir, &relative)? {
            Entry::Missing => difference.added.push(relative),
            Entry::Other => return Err(WriteError::Conflict(path)),
            Entry::File => {
                let bytes = match read_regular_file(&path, Links::Refuse) {
                    Ok(bytes) => bytes,
                    // Larger than anything compose2ecs writes: not its file, and not read whole.
                    Err(error) if error.kind() == io::ErrorKind::FileTooLarge => Vec::new(),
                    Err(error) => return Err(io_error(&path)(error)),
                };
                if same_text(&bytes, &contents) {
                    continue;
                }
                // A file compose2ecs did not write is never written over.
                if !owned.contains(&relative) && relative != MANIFEST {
                    return Err(WriteError::Conflict(path));
                }
                difference.changed.push(relative);
            }
        }
    }
    for relative in &owned {
        if !output.contains_key(relative) && entry(dir, relative)? == Entry::File {
            difference.removed.push(relative.clone());
        }
    }
    difference.unexpected = strangers(dir, output, &owned)?;
    Ok(difference)
}

/// Everything in the folders the output writes into (`taskdefs/`, `services/`, …) that is neither
/// in the output nor a file compose2ecs wrote before: links and folders included, none followed.
fn strangers(dir: &Path, output: &Output, owned: &BTreeSet<String>) -> Result<Vec<String>, WriteError> {
    let generated: BTreeSet<&str> = output.keys().filter_map(|path| Some(path.split_once('/')?.0)).collect();
    let mut found = Vec::new();
    let mut pending: Vec<String> = Vec::new();
    for folder in generated {
        if entry(dir, folder)? == Entry::Other && fs::symlink_metadata(dir.join(folder)).is_ok_and(|m| m.is_dir()) {
            pending.push(folder.to_string());
        }
    }
    while let Some(folder) = pending.pop() {
        let path = dir.join(&folder);
        for item in fs::read_dir(&path).map_err(io_error(&path))? {
            let item = item.map_err(io_error(&path))?;
            let relative = format!("{folder}/{}", item.file_name().to_string_lossy());
            let kind = item.file_type().map_err(io_error(&item.path()))?;
            if kind.is_dir() {
                pending.push(relative);
            } else if !output.contains_key(&relative) && !owned.contains(&relative) {
                found.push(relative);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Refuses an output folder that is a symbolic link, or is reached through one inside the folder
/// the run started in (the repository, in CI): such a link may be committed and point anywhere.
/// Every folder a relative path names counts, also before a `..` (`ecs/x/..` goes through
/// `ecs`); of an absolute path, those below the current folder, else only the last.
fn refuse_links_on_the_way(dir: &Path) -> Result<(), WriteError> {
    let current = std::env::current_dir().ok();
    let inside = match current.as_deref() {
        _ if dir.is_relative() => Some(Path::new("")),
        Some(current) => dir.strip_prefix(current).ok().map(|_| current),
        None => None,
    };
    let (mut path, components): (PathBuf, Vec<Component>) = match inside {
        Some(base) => (
            base.to_path_buf(),
            dir.strip_prefix(base).unwrap_or(dir).components().collect(),
        ),
        None => (
            dir.parent().map(Path::to_path_buf).unwrap_or_default(),
            dir.file_name().map(Component::Normal).into_iter().collect(),
        ),
    };
    for component in components {
        path.push(component);
        let is_link = fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
        if matches!(component, Component::Normal(_)) && is_link {
            return Err(WriteError::Link(path));
        }
    }
    Ok(())
}

/// Where compose2ecs records the runs under way: in the user's state folder, outside any
/// repository, where a pull request cannot put a record. A work folder is trusted only when its
/// run is recorded here for the same output folder.
#[derive(Debug, Clone)]
pub struct RunRecords {
    folder: Option<PathBuf>,
}

impl RunRecords {
    /// `$XDG_STATE_HOME/compose2ecs/runs`, else `~/.local/state/compose2ecs/runs`; none when
    /// neither is set, and then an interrupted run is left for the user to remove.
    pub fn of_user() -> RunRecords {
        let absolute = |name: &str| {
            std::env::var_os(name)
                .map(PathBuf::from)
                .filter(|path| path.is_absolute())
        };
        let state = absolute("XDG_STATE_HOME").or_else(|| absolute("HOME").map(|home| home.join(".local/state")));
        RunRecords {
            folder: state.map(|state| state.join("compose2ecs").join("runs")),
        }
    }

    /// Records kept in `folder`.
    pub fn in_folder(folder: PathBuf) -> RunRecords {
        RunRecords { folder: Some(folder) }
    }

    fn remember(&self, run: &str, dir: &Path) {
        let Some(folder) = &self.folder else { return };
        // Without a record the run still goes on; only its recovery, should it be killed, is
        // left to the user, who is told so.
        let _ = fs::create_dir_all(folder).and_then(|()| fs::write(folder.join(run), record_of(dir)?));
    }

    fn trusts(&self, run: &str, dir: &Path) -> bool {
        let Some(folder) = &self.folder else { return false };
        is_run_id(run)
            && read_regular_file(&folder.join(run), Links::Refuse)
                .is_ok_and(|recorded| record_of(dir).is_ok_and(|expected| recorded == expected.as_bytes()))
    }

    fn forget(&self, run: &str) {
        if let Some(folder) = &self.folder {
            if is_run_id(run) {
                let _ = fs::remove_file(folder.join(run));
            }
        }
    }
}

/// What a record holds: the output folder it is for, so a work folder copied elsewhere is not
/// trusted there.
fn record_of(dir: &Path) -> io::Result<String> {
    Ok(format!("{}\n", dir.canonicalize()?.to_string_lossy()))
}

/// A name for this run that no other run has: 128 bits from the standard library's randomly
/// keyed hasher, the process and the clock.
fn new_run_id() -> String {
    use std::hash::{BuildHasher, RandomState};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    let first = RandomState::new().hash_one((std::process::id(), nanos));
    let second = RandomState::new().hash_one((nanos, first));
    format!("{first:016x}{second:016x}")
}

fn is_run_id(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The rename that changes the output folder, so tests can make one fail midway.
trait Moves {
    fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()>;
}

struct RealMoves;

impl Moves for RealMoves {
    fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }
}

/// Writes `output` into `dir`: its files replace the ones compose2ecs wrote before, those it no
/// longer generates are removed, and everything else in `dir` stays as it is.
pub fn write_output(dir: &Path, output: &Output, records: &RunRecords) -> Result<Difference, WriteError> {
    write_with(dir, output, &mut RealMoves, records)
}

fn write_with(
    dir: &Path,
    output: &Output,
    moves: &mut dyn Moves,
    records: &RunRecords,
) -> Result<Difference, WriteError> {
    refuse_links_on_the_way(dir)?;
    if dir.exists() && !dir.is_dir() {
        return Err(WriteError::NotAFolder(dir.to_path_buf()));
    }
    let made_here = !dir.exists();
    fs::create_dir_all(dir).map_err(io_error(dir))?;
    let result = write_into(dir, output, moves, records);
    if result.is_err() && made_here {
        // A refused run leaves nothing behind, not even the folder it made (it is empty then).
        let _ = fs::remove_dir(dir);
    }
    result
}

fn write_into(
    dir: &Path,
    output: &Output,
    moves: &mut dyn Moves,
    records: &RunRecords,
) -> Result<Difference, WriteError> {
    // One run at a time: a lock on the folder itself, which no run deletes, and which goes with
    // the process, so a killed run does not leave it held.
    let _lock = lock(dir)?;
    recover(dir, records)?;
    let work = dir.join(WORK);
    let run = new_run_id();
    records.remember(&run, dir);
    // A folder of its own, made new: nothing in it was put there by anyone else.
    fs::create_dir(&work).map_err(io_error(&work))?;
    write_file(&work.join(RUN), run.as_bytes(), None)?;
    // Should the folder be committed halfway through a run, its work folder stays out of git.
    write_file(&work.join(".gitignore"), b"*\n", None)?;
    let result = stage_and_commit(dir, output, moves);
    let restored = result.as_ref().err().is_none_or(WriteError::folder_unchanged);
    if restored {
        let _ = fs::remove_dir_all(&work);
        records.forget(&run);
    }
    result
}

#[cfg(unix)]
fn lock(dir: &Path) -> Result<fs::File, WriteError> {
    let folder = fs::File::open(dir).map_err(io_error(dir))?;
    match folder.try_lock() {
        Ok(()) => Ok(folder),
        Err(fs::TryLockError::WouldBlock) => Err(WriteError::Busy(dir.to_path_buf())),
        Err(fs::TryLockError::Error(error)) => Err(io_error(dir)(error)),
    }
}

#[cfg(not(unix))]
fn lock(dir: &Path) -> Result<fs::File, WriteError> {
    let path = dir.join(".compose2ecs-lock");
    let file = fs::File::create(&path).map_err(io_error(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(WriteError::Busy(dir.to_path_buf())),
        Err(fs::TryLockError::Error(error)) => Err(io_error(&path)(error)),
    }
}

fn stage_and_commit(dir: &Path, output: &Output, moves: &mut dyn Moves) -> Result<Difference, WriteError> {
    let difference = difference(dir, output)?;
    let files = with_manifest(output);
    let staging = dir.join(WORK).join("staging");
    let new = staging.join("new");
    let staged: Vec<String> = difference.added.iter().chain(&difference.changed).cloned().collect();
    for relative in &staged {
        // A replaced file keeps its permissions.
        let permissions = fs::metadata(dir.join(relative)).ok().map(|m| m.permissions());
        write_file(&new.join(relative), files[relative].as_bytes(), permissions)?;
    }
    if staged.is_empty() && difference.removed.is_empty() {
        return Ok(difference);
    }
    let journal = Journal {
        backed_up: difference.changed.iter().chain(&difference.removed).cloned().collect(),
        added: staged.clone(),
    };
    write_file(&staging.join(JOURNAL), journal.text().as_bytes(), None)?;
    // The new files and the journal reach the disk before the first rename can.
    let mut written: Vec<PathBuf> = staged.iter().map(|relative| new.join(relative)).collect();
    written.push(staging.join(JOURNAL));
    make_durable(&staging, &written, &parents(&written))?;
    let mut commit = || -> Result<(), WriteError> {
        for relative in &journal.backed_up {
            let to = staging.join("backup").join(relative);
            create_parent(&to)?;
            moves
                .rename(&dir.join(relative), &to)
                .map_err(io_error(&dir.join(relative)))?;
        }
        for relative in &staged {
            let to = dir.join(relative);
            create_parent(&to)?;
            moves.rename(&new.join(relative), &to).map_err(io_error(&to))?;
        }
        Ok(())
    };
    if let Err(error) = commit() {
        roll_back(dir, &staging, &journal)?;
        return Err(error);
    }
    // The commit point: with the journal gone, the new output stands. The renames reach the disk
    // before it goes.
    let moved_in: Vec<PathBuf> = staged.iter().map(|relative| dir.join(relative)).collect();
    make_durable(dir, &[], &parents(&moved_in))?;
    fs::remove_file(staging.join(JOURNAL)).map_err(io_error(&staging))?;
    sync_folder(&staging)?;
    remove_empty_folders(dir, &difference.removed);
    Ok(difference)
}

/// What a commit is about to do, written before it moves anything.
struct Journal {
    /// Files moved from the folder into the backup.
    backed_up: Vec<String>,
    /// Files moved from staging into the folder.
    added: Vec<String>,
}

impl Journal {
    fn text(&self) -> String {
        let mut text = String::new();
        for relative in &self.backed_up {
            text.push_str(&format!("backup {relative}\n"));
        }
        for relative in &self.added {
            text.push_str(&format!("add {relative}\n"));
        }
        text
    }

    fn parse(text: &str) -> Journal {
        let mut journal = Journal {
            backed_up: Vec::new(),
            added: Vec::new(),
        };
        for line in text.lines() {
            match line.split_once(' ') {
                Some(("backup", relative)) => journal.backed_up.extend(normal(relative)),
                Some(("add", relative)) => journal.added.extend(normal(relative)),
                _ => {}
            }
        }
        journal
    }
}

/// Puts the folder back as it was before a commit. It may be repeated (a rollback that is itself
/// interrupted): a new file is removed only while its backup is still there to take its place,
/// or when it had none. Every step is tried; if one fails, the backup and journal stay for the
/// next run.
fn roll_back(dir: &Path, staging: &Path, journal: &Journal) -> Result<(), WriteError> {
    let mut first_failure: Option<WriteError> = None;
    let mut attempt = |step: Result<(), WriteError>| {
        if let Err(error) = step {
            first_failure.get_or_insert(error);
        }
    };
    let backup = staging.join("backup");
    let new = staging.join("new");
    let backed_up: BTreeSet<&String> = journal.backed_up.iter().collect();
    for relative in &journal.added {
        // Neither side is reached through a link, whatever the folder holds by now.
        let step = entry(&backup, relative).and_then(|waiting| Ok((waiting, entry(&new, relative)?)));
        match step {
            Ok((backup_waiting, still_new)) => {
                let moved_in = still_new == Entry::Missing;
                if moved_in && (!backed_up.contains(relative) || backup_waiting == Entry::File) {
                    attempt(remove_owned(dir, relative));
                }
            }
            Err(error) => attempt(Err(error)),
        }
    }
    for relative in &journal.backed_up {
        attempt(restore(dir, &backup, relative));
    }
    match first_failure {
        None => Ok(()),
        Some(WriteError::Io { path, source }) => Err(WriteError::NotRestored { path, source }),
        Some(other) => Err(other),
    }
}

/// Moves `backup/relative` back to `dir/relative`, when both are reached without links and the
/// backup is a regular file.
fn restore(dir: &Path, backup: &Path, relative: &str) -> Result<(), WriteError> {
    if entry(backup, relative)? != Entry::File {
        return Ok(());
    }
    let to = dir.join(relative);
    if entry(dir, relative)? != Entry::Missing {
        return Err(WriteError::Conflict(to));
    }
    create_parent(&to)?;
    // Folders made just now are real folders; check the whole way once more before the move.
    entry(dir, relative)?;
    fs::rename(backup.join(relative), &to).map_err(io_error(&to))
}

/// Removes `dir/relative` when it is a regular file reached without links.
fn remove_owned(dir: &Path, relative: &str) -> Result<(), WriteError> {
    match entry(dir, relative)? {
        Entry::File => fs::remove_file(dir.join(relative)).map_err(io_error(&dir.join(relative))),
        Entry::Missing | Entry::Other => Ok(()),
    }
}

/// Finishes what an earlier, interrupted run left: a journal means its commit did not complete,
/// so the folder is put back as it was; without one, the folder holds a complete output. Only a
/// work folder whose run the user's records know is acted on: one that came with the folder
/// (from a commit, a copy, another machine) is refused and left as it is.
fn recover(dir: &Path, records: &RunRecords) -> Result<(), WriteError> {
    let work = dir.join(WORK);
    let metadata = match fs::symlink_metadata(&work) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(io_error(&work)(error)),
    };
    if metadata.file_type().is_symlink() {
        return Err(WriteError::Link(work));
    }
    if !metadata.is_dir() {
        return Err(WriteError::Untrusted(work));
    }
    let run = match entry(&work, RUN)? {
        Entry::File => read_regular_file(&work.join(RUN), Links::Refuse).map_err(io_error(&work))?,
        Entry::Missing | Entry::Other => return Err(WriteError::Untrusted(work)),
    };
    let run = String::from_utf8_lossy(&run).into_owned();
    if !records.trusts(&run, dir) {
        return Err(WriteError::Untrusted(work));
    }
    let staging = work.join("staging");
    // Neither the backup nor the new files are reached through a link, nor is the journal.
    entry(&work, "staging/backup")?;
    entry(&work, "staging/new")?;
    if entry(&work, &format!("staging/{JOURNAL}"))? == Entry::File {
        let text = read_regular_file(&staging.join(JOURNAL), Links::Refuse).map_err(io_error(&staging))?;
        roll_back(dir, &staging, &Journal::parse(&String::from_utf8_lossy(&text)))?;
    }
    fs::remove_dir_all(&work).map_err(io_error(&work))?;
    records.forget(&run);
    Ok(())
}

fn create_parent(path: &Path) -> Result<(), WriteError> {
    match path.parent() {
        Some(parent) => fs::create_dir_all(parent).map_err(io_error(parent)),
        None => Ok(()),
    }
}

/// Writes a new file in the work folder: never over anything already there, link or not.
fn write_file(path: &Path, contents: &[u8], permissions: Option<fs::Permissions>) -> Result<(), WriteError> {
    create_parent(path)?;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io_error(path))?;
    file.write_all(contents).map_err(io_error(path))?;
    if let Some(permissions) = permissions {
        file.set_permissions(permissions).map_err(io_error(path))?;
    }
    Ok(())
}

/// The folders `files` are in, each once.
fn parents(files: &[PathBuf]) -> BTreeSet<PathBuf> {
    files
        .iter()
        .filter_map(|file| Some(file.parent()?.to_path_buf()))
        .collect()
}

/// Makes `files` and `folders` durable. On Linux one `syncfs` of the file system they are on
/// (they are all within `within`, on one file system, since renames connect them) does it in one
/// call: thousands of files took one `fsync` each, 43 s for 3,000 services. Elsewhere, one
/// `fsync` per file and per folder.
fn make_durable(within: &Path, files: &[PathBuf], folders: &BTreeSet<PathBuf>) -> Result<(), WriteError> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let _ = (files, folders);
        let folder = fs::File::open(within).map_err(io_error(within))?;
        // SAFETY: syncfs takes any open descriptor, which `folder` keeps open for the call.
        if unsafe { libc::syncfs(folder.as_raw_fd()) } != 0 {
            return Err(io_error(within)(io::Error::last_os_error()));
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = within;
        for file in files {
            fs::File::open(file)
                .and_then(|f| f.sync_all())
                .map_err(io_error(file))?;
        }
        for folder in folders {
            sync_folder(folder)?;
        }
        Ok(())
    }
}

/// Makes the renames in a folder durable (a power loss must not keep them and lose the journal).
fn sync_folder(folder: &Path) -> Result<(), WriteError> {
    #[cfg(unix)]
    fs::File::open(folder)
        .and_then(|f| f.sync_all())
        .map_err(io_error(folder))?;
    #[cfg(not(unix))]
    let _ = folder;
    Ok(())
}

/// Removes the folders that removing `removed` left empty (`taskdefs/` of a deleted service).
fn remove_empty_folders(dir: &Path, removed: &[String]) {
    for relative in removed {
        let mut folder = Path::new(relative).parent();
        while let Some(current) = folder.filter(|f| !f.as_os_str().is_empty()) {
            if fs::remove_dir(dir.join(current)).is_err() {
                break; // Not empty: a file of the user's, or of the output, is still there.
            }
            folder = current.parent();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(files: &[(&str, &str)]) -> Output {
        files.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// The run records of a test: beside its output folder, as the user's state folder is
    /// beside (never inside) the repository.
    fn records(out: &Path) -> RunRecords {
        RunRecords::in_folder(out.parent().unwrap().join("state"))
    }

    fn write_output(out: &Path, output: &Output) -> Result<Difference, WriteError> {
        super::write_output(out, output, &records(out))
    }

    /// Every file under `dir` with its contents, the work folder aside.
    fn tree(dir: &Path) -> Vec<(String, String)> {
        let mut files = Vec::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(current) = pending.pop() {
            for item in fs::read_dir(&current).unwrap() {
                let path = item.unwrap().path();
                if path.ends_with(WORK) {
                    continue;
                }
                if path.is_dir() {
                    pending.push(path);
                } else {
                    let relative = path.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                    files.push((relative, fs::read_to_string(&path).unwrap()));
                }
            }
        }
        files.sort();
        files
    }

    /// Fails the rename number `fail_at` (0-based), after doing the ones before it.
    struct FailingMoves {
        done: usize,
        fail_at: usize,
    }

    impl Moves for FailingMoves {
        fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()> {
            if self.done == self.fail_at {
                return Err(io::Error::other("injected failure"));
            }
            self.done += 1;
            fs::rename(from, to)
        }
    }

    #[test]
    fn replaces_and_removes_only_its_own_files() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("ecs");
        write_output(&out, &output(&[("taskdefs/a.json", "a1"), ("taskdefs/b.json", "b1")])).unwrap();
        fs::write(out.join("README.md"), "mine").unwrap();
        let difference = write_output(&out, &output(&[("taskdefs/a.json", "a2")])).unwrap();
        assert_eq!(difference.changed, vec![MANIFEST, "taskdefs/a.json"]);
        assert_eq!(difference.removed, vec!["taskdefs/b.json"]);
        let files: Vec<(String, String)> = tree(&out).into_iter().filter(|(p, _)| p != MANIFEST).collect();
        assert_eq!(
            files,
            vec![
                ("README.md".into(), "mine".into()),
                ("taskdefs/a.json".into(), "a2".into())
            ]
        );
        assert!(!out.join(WORK).exists(), "the work folder is gone");
    }

    #[test]
    fn a_commit_that_fails_midway_leaves_the_folder_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("ecs");
        write_output(&out, &output(&[("taskdefs/a.json", "a1"), ("taskdefs/b.json", "b1")])).unwrap();
        fs::write(out.join("notes.txt"), "mine").unwrap();
        let before = tree(&out);
        let next = output(&[
            ("taskdefs/a.json", "a2"),
            ("taskdefs/c.json", "c2"),
            ("services/a.json", "s"),
        ]);
        let mut failures = 0;
        for fail_at in 0..12 {
            let mut moves = FailingMoves { done: 0, fail_at };
            if write_with(&out, &next, &mut moves, &records(&out)).is_ok() {
                break; // Fewer renames than fail_at: the commit went through.
            }
            failures += 1;
            assert_eq!(tree(&out), before, "after a failure at rename {fail_at}");
        }
        assert!(failures >= 5, "every rename of the commit was made to fail once");
    }

    /// A killed run: its journal written and some of its renames done, then nothing.
    fn half_committed(out: &Path) {
        let run = new_run_id();
        records(out).remember(&run, out);
        write_file(&out.join(WORK).join(RUN), run.as_bytes(), None).unwrap();
        let staging = out.join(WORK).join("staging");
        write_file(&staging.join("new").join("taskdefs/b.json"), b"b", None).unwrap();
        fs::create_dir_all(staging.join("backup/taskdefs")).unwrap();
        fs::rename(out.join("taskdefs/a.json"), staging.join("backup/taskdefs/a.json")).unwrap();
        fs::write(out.join("taskdefs/a.json"), "a2 half-written").unwrap();
        let journal = Journal {
            backed_up: vec!["taskdefs/a.json".into()],
            added: vec!["taskdefs/a.json".into(), "taskdefs/b.json".into()],
        };
        write_file(&staging.join(JOURNAL), journal.text().as_bytes(), None).unwrap();
    }

    #[test]
    fn the_next_run_undoes_a_commit_that_was_killed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("ecs");
        write_output(&out, &output(&[("taskdefs/a.json", "a1")])).unwrap();
        let before = tree(&out);
        half_committed(&out);
        assert_ne!(tree(&out), before);
        assert!(matches!(compare(&out, &output(&[])), Err(WriteError::Interrupted(_))));
        // The next run recovers first; a run that writes nothing new shows the result.
        write_output(&out, &output(&[("taskdefs/a.json", "a1")])).unwrap();
        assert_eq!(tree(&out), before);
    }

    #[test]
    fn a_rollback_may_be_repeated() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("ecs");
        write_output(&out, &output(&[("taskdefs/a.json", "a1")])).unwrap();
        let before = tree(&out);
        half_committed(&out);
        let staging = out.join(WORK).join("staging");
        let journal = Journal::parse(&fs::read_to_string(staging.join(JOURNAL)).unwrap());
        roll_back(&out, &staging, &journal).unwrap();
        // Killed before the journal went: the next run rolls back again.
        roll_back(&out, &staging, &journal).unwrap();
        assert_eq!(tree(&out), before);
    }

    #[test]
    fn compare_reports_what_would_change() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("ecs");
        write_output(&out, &output(&[("a", "1"), ("b", "2")])).unwrap();
        let difference = compare(&out, &output(&[("a", "1"), ("c", "3")])).unwrap();
        assert_eq!(
            difference,
            Difference {
                added: vec!["c".into()],
                changed: vec![MANIFEST.into()],
                removed: vec!["b".into()],
                unexpected: vec![],
            }
        );
        assert!(compare(&out, &output(&[("a", "1"), ("b", "2")])).unwrap().is_empty());
        // A checkout with Windows line endings is the same text.
        fs::write(out.join("a"), "1\r\n").unwrap();
        assert!(compare(&out, &output(&[("a", "1\n"), ("b", "2")]))
            .unwrap()
            .changed
            .is_empty());
        // Without its manifest the folder is not up to date.
        fs::remove_file(out.join(MANIFEST)).unwrap();
        assert_eq!(
            compare(&out, &output(&[("a", "1\r\n"), ("b", "2")])).unwrap().added,
            vec![MANIFEST]
        );
    }

    #[test]
    fn a_file_it_did_not_write_is_never_written_over() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("ecs");
        fs::create_dir_all(out.join("services")).unwrap();
        fs::write(out.join("services/worker.json"), "mine").unwrap();
        let error = write_output(&out, &output(&[("services/worker.json", "generated")])).unwrap_err();
        assert!(matches!(error, WriteError::Conflict(_)), "{error}");
        assert_eq!(fs::read_to_string(out.join("services/worker.json")).unwrap(), "mine");
        // The same bytes are no conflict: the file is taken over.
        fs::write(out.join("services/worker.json"), "generated").unwrap();
        write_output(&out, &output(&[("services/worker.json", "generated")])).unwrap();
    }

    #[test]
    fn the_manifest_cannot_lead_outside_the_folder_or_to_folders() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("ecs");
        fs::create_dir_all(out.join("docs")).unwrap();
        fs::write(out.join("docs/a.md"), "mine").unwrap();
        fs::write(dir.path().join("precious"), "keep").unwrap();
        fs::write(out.join(MANIFEST), "../precious\n/etc/passwd\ndocs\ntaskdefs//a.json\n").unwrap();
        write_output(&out, &output(&[("taskdefs/a.json", "1")])).unwrap();
        assert_eq!(fs::read_to_string(dir.path().join("precious")).unwrap(), "keep");
        assert_eq!(fs::read_to_string(out.join("docs/a.md")).unwrap(), "mine");
        assert_eq!(fs::read_to_string(out.join("taskdefs/a.json")).unwrap(), "1");
    }

    #[cfg(unix)]
    #[test]
    fn it_never_goes_through_a_symbolic_link() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("ecs");
        let elsewhere = dir.path().join("elsewhere");
        fs::create_dir_all(&elsewhere).unwrap();
        fs::write(elsewhere.join("victim"), "keep").unwrap();
        write_output(&out, &output(&[("a", "1")])).unwrap();
        std::os::unix::fs::symlink(&elsewhere, out.join("up")).unwrap();
        fs::write(out.join(MANIFEST), "a\nup/victim\n").unwrap();
        assert!(matches!(
            write_output(&out, &output(&[("a", "1")])),
            Err(WriteError::Link(_))
        ));
        assert_eq!(fs::read_to_string(elsewhere.join("victim")).unwrap(), "keep");
        // A generated folder that is a link is not written through either.
        fs::write(out.join(MANIFEST), "a\n").unwrap();
        std::os::unix::fs::symlink(&elsewhere, out.join("taskdefs")).unwrap();
        assert!(matches!(
            write_output(&out, &output(&[("taskdefs/victim", "x")])),
            Err(WriteError::Link(_))
        ));
        assert_eq!(fs::read_to_string(elsewhere.join("victim")).unwrap(), "keep");
    }

    #[test]
    fn check_fails_on_a_file_it_did_not_write_in_a_generated_folder() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("ecs");
        let generated = output(&[("taskdefs/a.json", "a"), ("cloudformation/base.yaml", "b")]);
        write_output(&out, &generated).unwrap();
        assert!(compare(&out, &generated).unwrap().is_empty());
        // A pull request adds a task definition of its own beside the generated ones.
        fs::write(out.join("taskdefs/zz.json"), "{}").unwrap();
        fs::create_dir_all(out.join("cloudformation/extra")).unwrap();
        fs::write(out.join("cloudformation/extra/x.yaml"), "x").unwrap();
        fs::write(out.join("NOTES.md"), "a file of the user's elsewhere is fine").unwrap();
        let difference = compare(&out, &generated).unwrap();
        assert_eq!(
            difference.unexpected,
            vec!["cloudformation/extra/x.yaml", "taskdefs/zz.json"]
        );
        assert!(!difference.is_empty(), "--check must fail");
        // Writing keeps them (they are not compose2ecs's) and names them.
        let written = write_output(&out, &generated).unwrap();
        assert_eq!(written.unexpected.len(), 2);
        assert!(out.join("taskdefs/zz.json").exists());
    }

    /// What an attacker commits: a work folder whose journal tells the next run to "restore"
    /// a hook through a link into `.git`.
    #[cfg(unix)]
    #[test]
    fn a_committed_journal_is_refused_and_nothing_is_followed() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path();
        let hooks = repo.join(".git/hooks");
        fs::create_dir_all(&hooks).unwrap();
        let out = repo.join("ecs");
        write_output(&out, &output(&[("taskdefs/a.json", "a1")])).unwrap();
        let before = tree(&out);
        symlink("../.git/hooks", out.join("hooks")).unwrap();
        let staging = out.join(WORK).join("staging");
        fs::create_dir_all(staging.join("backup/hooks")).unwrap();
        fs::write(staging.join("backup/hooks/pre-commit"), "#!/bin/sh\necho owned\n").unwrap();
        // Even a well-formed run id, and one that names a record: the record is not this user's.
        fs::write(out.join(WORK).join(RUN), "0123456789abcdef0123456789abcdef").unwrap();
        fs::write(staging.join(JOURNAL), "backup hooks/pre-commit\nadd taskdefs/a.json\n").unwrap();
        let error = write_output(&out, &output(&[("taskdefs/a.json", "a2")])).unwrap_err();
        assert!(matches!(error, WriteError::Untrusted(_)), "{error}");
        assert!(!hooks.join("pre-commit").exists(), "no hook was planted");
        assert_eq!(fs::read_to_string(out.join("taskdefs/a.json")).unwrap(), "a1");
        assert!(
            staging.join(JOURNAL).exists(),
            "the attacker's folder is left for the user to see"
        );
        assert!(matches!(compare(&out, &output(&[])), Err(WriteError::Interrupted(_))));
        fs::remove_dir_all(out.join(WORK)).unwrap();
        fs::remove_file(out.join("hooks")).unwrap();
        assert_eq!(tree(&out), before);
    }

    #[cfg(unix)]
    #[test]
    fn a_journal_moved_from_elsewhere_is_refused() {
        // A real record, for another output folder: the work folder was copied here.
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("ecs");
        let other = dir.path().join("other");
        write_output(&out, &output(&[("a", "1")])).unwrap();
        fs::create_dir_all(&other).unwrap();
        let run = new_run_id();
        records(&out).remember(&run, &other);
        fs::create_dir_all(out.join(WORK)).unwrap();
        fs::write(out.join(WORK).join(RUN), &run).unwrap();
        assert!(matches!(
            write_output(&out, &output(&[("a", "2")])),
            Err(WriteError::Untrusted(_))
        ));
        // Without any record folder (no HOME), no work folder is trusted either.
        let nowhere = RunRecords { folder: None };
        assert!(matches!(
            super::write_output(&out, &output(&[("a", "2")]), &nowhere),
            Err(WriteError::Untrusted(_))
        ));
        assert_eq!(fs::read_to_string(out.join("a")).unwrap(), "1");
    }

    #[cfg(unix)]
    #[test]
    fn work_folders_and_files_that_are_links_are_refused() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("ecs");
        let victim = dir.path().join("victim");
        fs::write(&victim, "keep").unwrap();
        write_output(&out, &output(&[("a", "1")])).unwrap();
        // The work folder itself a link.
        symlink(dir.path(), out.join(WORK)).unwrap();
        assert!(matches!(
            write_output(&out, &output(&[("a", "2")])),
            Err(WriteError::Link(_))
        ));
        fs::remove_file(out.join(WORK)).unwrap();
        // A committed `.gitignore` link in a work folder: refused before anything is written through it.
        fs::create_dir_all(out.join(WORK)).unwrap();
        symlink(&victim, out.join(WORK).join(".gitignore")).unwrap();
        assert!(write_output(&out, &output(&[("a", "2")])).is_err());
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
        // Even a trusted run's folder: its files are created new, never through what is there.
        let error = write_file(&out.join(WORK).join(".gitignore"), b"*\n", None).unwrap_err();
        assert!(matches!(error, WriteError::Io { .. }), "{error}");
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
        fs::remove_dir_all(out.join(WORK)).unwrap();
        // A manifest that is a link is not read through.
        fs::remove_file(out.join(MANIFEST)).unwrap();
        symlink(&victim, out.join(MANIFEST)).unwrap();
        assert!(write_output(&out, &output(&[("a", "1")])).is_err());
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
    }

    #[cfg(unix)]
    #[test]
    fn an_output_folder_that_is_a_link_is_refused() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        fs::create_dir_all(&elsewhere).unwrap();
        symlink(&elsewhere, dir.path().join("ecs")).unwrap();
        let error = write_output(&dir.path().join("ecs"), &output(&[("a", "1")])).unwrap_err();
        assert!(matches!(error, WriteError::Link(_)), "{error}");
        assert!(compare(&dir.path().join("ecs"), &output(&[("a", "1")])).is_err());
        assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
        // So is one reached through a link its relative path names.
        let cwd = std::env::current_dir().unwrap();
        let relative = pathdiff(&dir.path().join("ecs/sub"), &cwd);
        assert!(matches!(refuse_links_on_the_way(&relative), Err(WriteError::Link(_))));
    }

    /// `to` as a path relative to `from` (both absolute), with `..` up to their common part.
    fn pathdiff(to: &Path, from: &Path) -> PathBuf {
        let common = to
            .components()
            .zip(from.components())
            .take_while(|(a, b)| a == b)
            .count();
        let mut relative = PathBuf::new();
        for _ in from.components().skip(common) {
            relative.push("..");
        }
        relative.extend(to.components().skip(common));
        relative
    }

    #[test]
    fn a_trusted_interrupted_run_leaves_no_record_behind() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("ecs");
        write_output(&out, &output(&[("taskdefs/a.json", "a1")])).unwrap();
        half_committed(&out);
        write_output(&out, &output(&[("taskdefs/a.json", "a1")])).unwrap();
        let state = dir.path().join("state");
        assert_eq!(fs::read_dir(&state).unwrap().count(), 0, "every record is forgotten");
    }

    /// A real interrupted run whose folder was changed since (a checkout of another branch over
    /// it): its recovery still goes through no link.
    #[cfg(unix)]
    #[test]
    fn a_trusted_recovery_follows_no_link_either() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("ecs");
        let elsewhere = dir.path().join("elsewhere");
        fs::create_dir_all(elsewhere.join("taskdefs")).unwrap();
        fs::write(elsewhere.join("taskdefs/a.json"), "keep").unwrap();
        write_output(&out, &output(&[("taskdefs/a.json", "a1")])).unwrap();
        half_committed(&out);
        let backup = out.join(WORK).join("staging/backup");
        fs::remove_dir_all(&backup).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &backup).unwrap();
        let error = write_output(&out, &output(&[("taskdefs/a.json", "a1")])).unwrap_err();
        assert!(matches!(error, WriteError::Link(_)), "{error}");
        assert_eq!(fs::read_to_string(elsewhere.join("taskdefs/a.json")).unwrap(), "keep");
    }

    #[test]
    fn a_failed_write_leaves_no_folder_it_made() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("ecs");
        let too_long = format!("taskdefs/{}.json", "s".repeat(300));
        assert!(write_output(&out, &output(&[(too_long.as_str(), "x")])).is_err());
        assert!(!out.exists());
    }

    #[cfg(unix)]
    #[test]
    fn one_run_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("ecs");
        write_output(&out, &output(&[("a", "1")])).unwrap();
        let _held = lock(&out).unwrap();
        assert!(matches!(
            write_output(&out, &output(&[("a", "2")])),
            Err(WriteError::Busy(_))
        ));
        assert_eq!(fs::read_to_string(out.join("a")).unwrap(), "1");
    }
}
