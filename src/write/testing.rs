//! What the write tests share: outputs, run records beside the output folder, the files a folder
//! holds, and a run killed halfway through its commit.

use super::paths::write_file;
use super::records::{new_run_id, RunRecords};
use super::recovery::Journal;
use super::{Difference, WriteError, JOURNAL, RUN, WORK};
use crate::emit::Output;
use std::fs;
use std::path::Path;

pub(super) fn output(files: &[(&str, &str)]) -> Output {
    files.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// The run records of a test: beside its output folder, as the user's state folder is
/// beside (never inside) the repository.
pub(super) fn records(out: &Path) -> RunRecords {
    RunRecords::in_folder(out.parent().unwrap().join("state"))
}

pub(super) fn write_output(out: &Path, output: &Output) -> Result<Difference, WriteError> {
    super::write_output(out, output, &records(out))
}

/// Every file under `dir` with its contents, the work folder aside.
pub(super) fn tree(dir: &Path) -> Vec<(String, String)> {
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

/// A killed run: its journal written and some of its renames done, then nothing.
pub(super) fn half_committed(out: &Path) {
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
