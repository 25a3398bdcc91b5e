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

mod commit;
mod manifest;
mod paths;
mod records;
mod recovery;
mod sync;
#[cfg(test)]
mod testing;

pub use commit::write_output;
pub use manifest::compare;
pub use records::RunRecords;

use crate::diagnostic::{Code, Diagnostic, KeyPath, Severity};
use std::io;
use std::path::{Path, PathBuf};

/// The list of the files compose2ecs wrote, kept in the output folder and committed with it.
pub const MANIFEST: &str = ".compose2ecs-manifest";
/// Where a run works inside the output folder; it is gone when the run ends.
const WORK: &str = ".compose2ecs-work";
const JOURNAL: &str = "journal";
/// The file in the work folder that names the run that made it.
const RUN: &str = "run";

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
    /// What each changed file holds now, by path (read as UTF-8, lossily), for `--check` to show
    /// how it differs; empty when writing.
    pub before: std::collections::BTreeMap<String, String>,
    pub removed: Vec<String>,
    /// Files in a folder compose2ecs generates (`taskdefs/`, …) that it did not write: a loop
    /// over the folder would register them with the output.
    pub unexpected: Vec<String>,
}

/// What to do about a file in `taskdefs/`, `services/` or `cloudformation/` that compose2ecs did
/// not write.
const NOT_OURS_HELP: &str = "the manifest (.compose2ecs-manifest) lists what compose2ecs wrote, and only those \
     are deployed; move other files out of these folders, or remove them if a pull request added them";

impl Difference {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty() && self.unexpected.is_empty()
    }

    /// Whether writing again would change the folder: a file to add, change or remove (the files
    /// that are not compose2ecs's stay, whatever it writes).
    pub fn is_stale(&self) -> bool {
        !(self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty())
    }

    /// One diagnostic for each file in `dir` that is not compose2ecs's: a warning when the output
    /// was written beside it, an error for `--check`, where nothing may be there but the output.
    pub fn not_ours(&self, dir: &Path, severity: Severity) -> Vec<Diagnostic> {
        self.unexpected
            .iter()
            .map(|file| {
                let message = format!(
                    "`{}` is in a folder compose2ecs generates, but compose2ecs did not write it",
                    dir.join(file).display()
                );
                Diagnostic::new(severity, Code::NotOurs, KeyPath::root(), message).with_help(NOT_OURS_HELP)
            })
            .collect()
    }
}
