//! Write: the output folder, changed in one step or not at all.
//!
//! compose2ecs owns only the files its manifest in the folder lists. A run builds the whole new
//! output in a staging folder first, so a refused input, a full disk or an interrupted build
//! leaves the folder as it was. Only then it writes a journal, moves the files it replaces or
//! removes into a backup and the new ones into place (renames within one file system), and
//! deletes the journal: that is the commit. A failed commit is rolled back at once; a killed one
//! by the next run, which finds the journal. Files compose2ecs did not write are never touched:
//! it refuses to write over one, and never follows a symbolic link.

use crate::emit::Output;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

/// The list of the files compose2ecs wrote, kept in the output folder and committed with it.
pub const MANIFEST: &str = ".compose2ecs-manifest";
/// Where a run works inside the output folder; it is gone when the run ends.
const WORK: &str = ".compose2ecs-work";
const JOURNAL: &str = "journal";
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
}

impl Difference {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
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
    match fs::read_to_string(&path) {
        Ok(text) => Ok(text
            .lines()
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            // A manifest edited by hand must not lead outside the folder or name the work folder.
            .filter_map(normal)
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
    if dir.exists() && !dir.is_dir() {
        return Err(WriteError::NotAFolder(dir.to_path_buf()));
    }
    if dir.join(WORK).join("staging").join(JOURNAL).exists() {
        return Err(WriteError::Interrupted(dir.to_path_buf()));
    }
    let owned = owned_files(dir)?;
    let mut difference = Difference::default();
    for (relative, contents) in with_manifest(output) {
        let path = dir.join(&relative);
        match entry(dir, &relative)? {
            Entry::Missing => difference.added.push(relative),
            Entry::Other => return Err(WriteError::Conflict(path)),
            Entry::File => {
                let bytes = fs::read(&path).map_err(io_error(&path))?;
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
    for relative in owned {
        if !output.contains_key(&relative) && entry(dir, &relative)? == Entry::File {
            difference.removed.push(relative);
        }
    }
    Ok(difference)
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
pub fn write_output(dir: &Path, output: &Output) -> Result<Difference, WriteError> {
    write_with(dir, output, &mut RealMoves)
}

fn write_with(dir: &Path, output: &Output, moves: &mut dyn Moves) -> Result<Difference, WriteError> {
    if dir.exists() && !dir.is_dir() {
        return Err(WriteError::NotAFolder(dir.to_path_buf()));
    }
    fs::create_dir_all(dir).map_err(io_error(dir))?;
    // One run at a time: a lock on the folder itself, which no run deletes, and which goes with
    // the process, so a killed run does not leave it held.
    let _lock = lock(dir)?;
    let work = dir.join(WORK);
    match fs::symlink_metadata(&work) {
        Ok(metadata) if metadata.file_type().is_symlink() => return Err(WriteError::Link(work)),
        _ => {}
    }
    recover(dir)?;
    fs::create_dir_all(&work).map_err(io_error(&work))?;
    // Should the folder be committed halfway through a run, its work folder stays out of git.
    write_file(&work.join(".gitignore"), b"*\n", None)?;
    let result = stage_and_commit(dir, output, moves);
    let restored = result.as_ref().err().is_none_or(WriteError::folder_unchanged);
    if restored {
        let _ = fs::remove_dir_all(&work);
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
    let difference = compare(dir, output)?;
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
    sync_folder(&staging)?;
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
    // The commit point: with the journal gone, the new output stands.
    for relative in &staged {
        if let Some(parent) = dir.join(relative).parent() {
            sync_folder(parent)?;
        }
    }
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
    let backed_up: BTreeSet<&String> = journal.backed_up.iter().collect();
    for relative in &journal.added {
        let backup_waiting = staging.join("backup").join(relative).exists();
        let moved_in = !staging.join("new").join(relative).exists();
        if moved_in && (!backed_up.contains(relative) || backup_waiting) {
            attempt(remove_owned(dir, relative));
        }
    }
    for relative in &journal.backed_up {
        let from = staging.join("backup").join(relative);
        if from.exists() {
            let to = dir.join(relative);
            attempt(create_parent(&to).and_then(|()| fs::rename(&from, &to).map_err(io_error(&to))));
        }
    }
    match first_failure {
        None => Ok(()),
        Some(WriteError::Io { path, source }) => Err(WriteError::NotRestored { path, source }),
        Some(other) => Err(other),
    }
}

/// Removes `dir/relative` when it is a regular file reached without links.
fn remove_owned(dir: &Path, relative: &str) -> Result<(), WriteError> {
    match entry(dir, relative)? {
        Entry::File => fs::remove_file(dir.join(relative)).map_err(io_error(&dir.join(relative))),
        Entry::Missing | Entry::Other => Ok(()),
    }
}

/// Finishes what an earlier, interrupted run left: a journal means its commit did not complete,
/// so the folder is put back as it was; without one, the folder holds a complete output.
fn recover(dir: &Path) -> Result<(), WriteError> {
    let staging = dir.join(WORK).join("staging");
    match fs::symlink_metadata(&staging) {
        Ok(metadata) if metadata.file_type().is_symlink() => return Err(WriteError::Link(staging)),
        Ok(_) => {}
        Err(_) => return Ok(()),
    }
    if let Ok(text) = fs::read_to_string(staging.join(JOURNAL)) {
        roll_back(dir, &staging, &Journal::parse(&text))?;
    }
    fs::remove_dir_all(&staging).map_err(io_error(&staging))
}

fn create_parent(path: &Path) -> Result<(), WriteError> {
    match path.parent() {
        Some(parent) => fs::create_dir_all(parent).map_err(io_error(parent)),
        None => Ok(()),
    }
}

fn write_file(path: &Path, contents: &[u8], permissions: Option<fs::Permissions>) -> Result<(), WriteError> {
    create_parent(path)?;
    let mut file = fs::File::create(path).map_err(io_error(path))?;
    file.write_all(contents).map_err(io_error(path))?;
    if let Some(permissions) = permissions {
        file.set_permissions(permissions).map_err(io_error(path))?;
    }
    file.sync_all().map_err(io_error(path))
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
            if write_with(&out, &next, &mut moves).is_ok() {
                break; // Fewer renames than fail_at: the commit went through.
            }
            failures += 1;
            assert_eq!(tree(&out), before, "after a failure at rename {fail_at}");
        }
        assert!(failures >= 5, "every rename of the commit was made to fail once");
    }

    /// A killed run: its journal written and some of its renames done, then nothing.
    fn half_committed(out: &Path) {
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
                removed: vec!["b".into()]
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
