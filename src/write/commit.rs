//! A run: one at a time, it stages the whole output in a work folder of its own, then commits it
//! by renames, or rolls the folder back.

use super::manifest::{difference, manifest_text, written_text};
use super::paths::{create_parent, refuse_links_on_the_way, write_file};
use super::records::{new_run_id, RunRecords};
use super::recovery::{recover, roll_back, Journal};
use super::sync::{make_durable, parents, sync_folder};
use super::{io_error, Difference, WriteError, JOURNAL, RUN, WORK};
use crate::emit::Output;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

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
    let difference = difference(dir, output, false)?;
    let manifest = manifest_text(output);
    let staging = dir.join(WORK).join("staging");
    let new = staging.join("new");
    let staged: Vec<String> = difference.added.iter().chain(&difference.changed).cloned().collect();
    for relative in &staged {
        // A replaced file keeps its permissions.
        let permissions = fs::metadata(dir.join(relative)).ok().map(|m| m.permissions());
        write_file(
            &new.join(relative),
            written_text(output, &manifest, relative).as_bytes(),
            permissions,
        )?;
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
    use crate::write::testing::{output, records, tree, write_output};
    use crate::write::MANIFEST;

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
