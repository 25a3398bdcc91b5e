//! Write: the output folder, changed in one step or not at all.
//!
//! compose2ecs owns only the files it lists in the folder's manifest. A run builds the whole new
//! output in a staging folder first, so a refused input, a full disk or an interrupted build
//! leaves the folder as it was. Only then it moves the files it replaces or removes into a backup
//! and the new ones into place, all renames within one file system, after writing a journal of
//! them; if that is interrupted, the next run finds the journal and puts the backup back. Files
//! compose2ecs did not write are never touched.

use crate::emit::Output;
use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The list of the files compose2ecs wrote, kept in the output folder and committed with it.
pub const MANIFEST: &str = ".compose2ecs-manifest";
/// Where a run works inside the output folder; it is gone when the run ends.
const WORK: &str = ".compose2ecs-work";
const MANIFEST_HEADER: &str = "# The files compose2ecs wrote in this folder; it replaces and removes only these.\n";

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the output path `{0}` is a file, not a folder")]
    NotAFolder(PathBuf),
    #[error("another compose2ecs run is writing to `{0}`")]
    Busy(PathBuf),
    #[error("cannot write `{path}`: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
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

/// The files compose2ecs wrote in `dir` last time, from its manifest (none when there is none).
fn owned_files(dir: &Path) -> Result<BTreeSet<String>, WriteError> {
    let path = dir.join(MANIFEST);
    match fs::read_to_string(&path) {
        Ok(text) => Ok(text
            .lines()
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            // A manifest edited by hand must not lead outside the folder.
            .filter(|line| is_plain_relative(line))
            .map(str::to_string)
            .collect()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(BTreeSet::new()),
        Err(error) => Err(io_error(&path)(error)),
    }
}

fn is_plain_relative(path: &str) -> bool {
    let path = Path::new(path);
    path.is_relative() && path.components().all(|c| matches!(c, std::path::Component::Normal(_)))
}

fn manifest_text(output: &Output) -> String {
    let mut text = String::from(MANIFEST_HEADER);
    for path in output.keys() {
        text.push_str(path);
        text.push('\n');
    }
    text
}

/// What writing `output` to `dir` would change; writes nothing (`convert --check`).
pub fn compare(dir: &Path, output: &Output) -> Result<Difference, WriteError> {
    if dir.exists() && !dir.is_dir() {
        return Err(WriteError::NotAFolder(dir.to_path_buf()));
    }
    let mut difference = Difference::default();
    for (relative, contents) in output {
        let path = dir.join(relative);
        match fs::read(&path) {
            Ok(bytes) if bytes == contents.as_bytes() => {}
            Ok(_) => difference.changed.push(relative.clone()),
            Err(error) if error.kind() == io::ErrorKind::NotFound => difference.added.push(relative.clone()),
            Err(error) => return Err(io_error(&path)(error)),
        }
    }
    for relative in owned_files(dir)? {
        if !output.contains_key(&relative) && dir.join(&relative).exists() {
            difference.removed.push(relative);
        }
    }
    Ok(difference)
}

/// The file system calls that change the output folder, so tests can make one fail midway.
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
    let work = dir.join(WORK);
    fs::create_dir_all(&work).map_err(io_error(&work))?;
    // One run at a time; the lock goes with the process, so a killed run does not leave it held.
    let lock_path = work.join("lock");
    let lock = fs::File::create(&lock_path).map_err(io_error(&lock_path))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => return Err(WriteError::Busy(dir.to_path_buf())),
        Err(fs::TryLockError::Error(error)) => return Err(io_error(&lock_path)(error)),
    }
    recover(dir)?;
    let result = stage_and_commit(dir, output, moves);
    // The staging area goes whatever happened: a failed commit has been rolled back by now.
    let _ = fs::remove_dir_all(work.join("staging"));
    drop(lock);
    let _ = fs::remove_dir_all(&work);
    result
}

fn stage_and_commit(dir: &Path, output: &Output, moves: &mut dyn Moves) -> Result<Difference, WriteError> {
    let difference = compare(dir, output)?;
    let staging = dir.join(WORK).join("staging");
    let new = staging.join("new");
    let mut staged: Vec<String> = Vec::new();
    for (relative, contents) in output
        .iter()
        .filter(|(relative, _)| difference.added.contains(relative) || difference.changed.contains(relative))
    {
        write_file(&new.join(relative), contents.as_bytes())?;
        staged.push(relative.clone());
    }
    let manifest = manifest_text(output);
    let manifest_changed = fs::read_to_string(dir.join(MANIFEST)).ok().as_deref() != Some(manifest.as_str());
    if manifest_changed {
        write_file(&new.join(MANIFEST), manifest.as_bytes())?;
        staged.push(MANIFEST.to_string());
    }
    if staged.is_empty() && difference.removed.is_empty() {
        return Ok(difference);
    }
    // What the commit moves out of the way: the files it replaces or removes.
    let backed_up: Vec<String> = staged
        .iter()
        .chain(&difference.removed)
        .filter(|relative| dir.join(relative).exists())
        .cloned()
        .collect();
    let journal = Journal {
        backed_up: backed_up.clone(),
        added: staged.clone(),
    };
    write_file(&staging.join(JOURNAL), journal.text().as_bytes())?;
    let mut commit = || -> Result<(), WriteError> {
        for relative in &backed_up {
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
    remove_empty_folders(dir, &difference.removed);
    Ok(difference)
}

const JOURNAL: &str = "journal";

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
                Some(("backup", relative)) if is_plain_relative(relative) => {
                    journal.backed_up.push(relative.to_string())
                }
                Some(("add", relative)) if is_plain_relative(relative) => journal.added.push(relative.to_string()),
                _ => {}
            }
        }
        journal
    }
}

/// Puts the folder back as it was before an interrupted commit: the new files out, the backup in.
fn roll_back(dir: &Path, staging: &Path, journal: &Journal) -> Result<(), WriteError> {
    for relative in &journal.added {
        let path = dir.join(relative);
        if staging.join("new").join(relative).exists() {
            continue; // Never moved in.
        }
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(io_error(&path)(error)),
        }
    }
    for relative in &journal.backed_up {
        let from = staging.join("backup").join(relative);
        if from.exists() {
            let to = dir.join(relative);
            create_parent(&to)?;
            fs::rename(&from, &to).map_err(io_error(&to))?;
        }
    }
    Ok(())
}

/// Finishes what an earlier, interrupted run left: a journal means its commit started, so the
/// folder is put back as it was; without one, nothing in the folder was changed.
fn recover(dir: &Path) -> Result<(), WriteError> {
    let staging = dir.join(WORK).join("staging");
    if let Ok(text) = fs::read_to_string(staging.join(JOURNAL)) {
        roll_back(dir, &staging, &Journal::parse(&text))?;
    }
    match fs::remove_dir_all(&staging) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(io_error(&staging)(error)),
    }
}

fn create_parent(path: &Path) -> Result<(), WriteError> {
    match path.parent() {
        Some(parent) => fs::create_dir_all(parent).map_err(io_error(parent)),
        None => Ok(()),
    }
}

fn write_file(path: &Path, contents: &[u8]) -> Result<(), WriteError> {
    create_parent(path)?;
    let mut file = fs::File::create(path).map_err(io_error(path))?;
    file.write_all(contents).map_err(io_error(path))?;
    file.sync_all().map_err(io_error(path))
}

/// Removes the folders that removing `removed` left empty (`taskdefs/` of a deleted service).
fn remove_empty_folders(dir: &Path, removed: &[String]) {
    for relative in removed {
        let mut folder = Path::new(relative).parent();
        while let Some(current) = folder.filter(|f| !f.as_os_str().is_empty()) {
            if fs::remove_dir(dir.join(current)).is_err() {
                break; // Not empty, or not ours to judge.
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
            for entry in fs::read_dir(&current).unwrap() {
                let path = entry.unwrap().path();
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
        assert_eq!(difference.changed, vec!["taskdefs/a.json"]);
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
        for fail_at in 0..8 {
            let mut moves = FailingMoves { done: 0, fail_at };
            let result = write_with(&out, &next, &mut moves);
            if result.is_ok() {
                break; // Fewer renames than fail_at: the commit went through.
            }
            assert_eq!(tree(&out), before, "after a failure at rename {fail_at}");
        }
    }

    #[test]
    fn the_next_run_undoes_a_commit_that_was_killed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("ecs");
        write_output(&out, &output(&[("taskdefs/a.json", "a1")])).unwrap();
        let before = tree(&out);
        // A killed run: its journal written and half of its renames done, then nothing.
        let staging = out.join(WORK).join("staging");
        write_file(&staging.join("new").join("taskdefs/b.json"), b"b").unwrap();
        fs::create_dir_all(staging.join("backup/taskdefs")).unwrap();
        fs::rename(out.join("taskdefs/a.json"), staging.join("backup/taskdefs/a.json")).unwrap();
        fs::write(out.join("taskdefs/a.json"), "a2 half-written").unwrap();
        let journal = Journal {
            backed_up: vec!["taskdefs/a.json".into()],
            added: vec!["taskdefs/a.json".into(), "taskdefs/b.json".into()],
        };
        write_file(&staging.join(JOURNAL), journal.text().as_bytes()).unwrap();
        assert_ne!(tree(&out), before);
        // The next run recovers first; a run that writes nothing new shows the result.
        write_output(&out, &output(&[("taskdefs/a.json", "a1")])).unwrap();
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
                changed: vec![],
                removed: vec!["b".into()]
            }
        );
        assert!(compare(&out, &output(&[("a", "1"), ("b", "2")])).unwrap().is_empty());
    }

    #[test]
    fn a_manifest_cannot_lead_outside_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("ecs");
        fs::create_dir_all(&out).unwrap();
        fs::write(dir.path().join("precious"), "keep").unwrap();
        fs::write(out.join(MANIFEST), "../precious\n/etc/passwd\n").unwrap();
        write_output(&out, &output(&[("a", "1")])).unwrap();
        assert_eq!(fs::read_to_string(dir.path().join("precious")).unwrap(), "keep");
    }
}
