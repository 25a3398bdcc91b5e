//! The journal of a commit, and putting the folder back as it was from it: at once when a commit
//! fails, by the next run when one was killed.

use super::paths::{create_parent, entry, normal, Entry};
use super::records::RunRecords;
use super::{io_error, WriteError, JOURNAL, RUN, WORK};
use crate::source::{read_regular_file, Links};
use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::Path;

/// What a commit is about to do, written before it moves anything.
pub(super) struct Journal {
    /// Files moved from the folder into the backup.
    pub(super) backed_up: Vec<String>,
    /// Files moved from staging into the folder.
    pub(super) added: Vec<String>,
}

impl Journal {
    pub(super) fn text(&self) -> String {
        let mut text = String::new();
        for relative in &self.backed_up {
            text.push_str(&format!("backup {relative}\n"));
        }
        for relative in &self.added {
            text.push_str(&format!("add {relative}\n"));
        }
        text
    }

    pub(super) fn parse(text: &str) -> Journal {
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
pub(super) fn roll_back(dir: &Path, staging: &Path, journal: &Journal) -> Result<(), WriteError> {
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
pub(super) fn recover(dir: &Path, records: &RunRecords) -> Result<(), WriteError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::compare;
    use crate::write::testing::{half_committed, output, tree, write_output};

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
}
