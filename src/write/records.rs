//! The runs under way, recorded in the user's state folder: a work folder is trusted only when
//! its run is recorded there, for the same output folder.

use crate::source::{read_regular_file, Links};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

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

    pub(super) fn remember(&self, run: &str, dir: &Path) {
        let Some(folder) = &self.folder else { return };
        // Without a record the run still goes on; only its recovery, should it be killed, is
        // left to the user, who is told so.
        let _ = fs::create_dir_all(folder).and_then(|()| fs::write(folder.join(run), record_of(dir)?));
    }

    pub(super) fn trusts(&self, run: &str, dir: &Path) -> bool {
        let Some(folder) = &self.folder else { return false };
        is_run_id(run)
            && read_regular_file(&folder.join(run), Links::Refuse)
                .is_ok_and(|recorded| record_of(dir).is_ok_and(|expected| recorded == expected.as_bytes()))
    }

    pub(super) fn forget(&self, run: &str) {
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
pub(super) fn new_run_id() -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::testing::{half_committed, output, records, write_output};
    use crate::write::{WriteError, RUN, WORK};

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
            crate::write::write_output(&out, &output(&[("a", "2")]), &nowhere),
            Err(WriteError::Untrusted(_))
        ));
        assert_eq!(fs::read_to_string(out.join("a")).unwrap(), "1");
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
}
