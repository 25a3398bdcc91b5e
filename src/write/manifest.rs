//! The manifest of the files compose2ecs wrote, and what writing an output would change: the
//! files added, changed and removed, and those in its folders that are not its own.

use super::paths::{entry, normal, refuse_links_on_the_way, Entry};
use super::{io_error, Difference, WriteError, MANIFEST, WORK};
use crate::emit::Output;
use crate::source::{read_regular_file, Links};
use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::Path;

/// How many names deep compose2ecs writes in the output folder: `taskdefs/web.json`.
const MAXIMUM_OUTPUT_DEPTH: usize = 2;
const MANIFEST_HEADER: &str = "# The files compose2ecs wrote in this folder; it replaces and removes only these.\n";

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

/// The manifest that lists every file of the output.
pub(super) fn manifest_text(output: &Output) -> String {
    let mut text = String::from(MANIFEST_HEADER);
    for path in output.keys() {
        text.push_str(path);
        text.push('\n');
    }
    text
}

/// The text a run writes at `relative`: the output's file, or the manifest (`manifest`), without
/// a copy of the output.
pub(super) fn written_text<'o>(output: &'o Output, manifest: &'o str, relative: &str) -> &'o str {
    if relative == MANIFEST {
        manifest
    } else {
        &output[relative]
    }
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
    difference(dir, output, true)
}

/// What writing `output` to `dir` changes; with `keep_before`, what each changed file holds now
/// (for `--check`'s diff; a write has no use for it).
pub(super) fn difference(dir: &Path, output: &Output, keep_before: bool) -> Result<Difference, WriteError> {
    let owned = owned_files(dir)?;
    let mut difference = Difference::default();
    let manifest = manifest_text(output);
    // In path order, as before: the manifest's `.` name sorts before the output's folders.
    let files = [(MANIFEST, manifest.as_str())].into_iter().chain(
        output
            .iter()
            .map(|(relative, contents)| (relative.as_str(), contents.as_str())),
    );
    for (relative, contents) in files {
        let relative = relative.to_string();
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
                if same_text(&bytes, contents) {
                    continue;
                }
                // A file compose2ecs did not write is never written over.
                if !owned.contains(&relative) && relative != MANIFEST {
                    return Err(WriteError::Conflict(path));
                }
                if keep_before {
                    // As `same_text` reads it: a Windows checkout's line endings are no change.
                    let text = String::from_utf8_lossy(&bytes).replace("\r\n", "\n");
                    difference.before.insert(relative.clone(), text);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::testing::{output, write_output};

    #[test]
    fn compare_reports_what_would_change() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("ecs");
        write_output(&out, &output(&[("a", "1"), ("b", "2")])).unwrap();
        let difference = compare(&out, &output(&[("a", "1"), ("c", "3")])).unwrap();
        let before_manifest = format!("{MANIFEST_HEADER}a\nb\n");
        assert_eq!(
            difference,
            Difference {
                added: vec!["c".into()],
                changed: vec![MANIFEST.into()],
                before: [(MANIFEST.to_string(), before_manifest)].into(),
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
}
