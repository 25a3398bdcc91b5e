//! Paths in the output folder, reached without following a link, and new files made without
//! writing through one.

use super::{io_error, WriteError};
use std::fs;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

/// `relative` rebuilt from its plain components (`a//b`, `a/./b` → `a/b`); `None` when it leaves
/// the folder, is absolute, or is empty.
pub(super) fn normal(relative: &str) -> Option<String> {
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
pub(super) enum Entry {
    Missing,
    File,
    /// A folder or anything else that is not a regular file: never compose2ecs's.
    Other,
}

pub(super) fn entry(dir: &Path, relative: &str) -> Result<Entry, WriteError> {
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

/// Refuses an output folder that is a symbolic link, or is reached through one inside the folder
/// the run started in (the repository, in CI): such a link may be committed and point anywhere.
/// Every folder a relative path names counts, also before a `..` (`ecs/x/..` goes through
/// `ecs`); of an absolute path, those below the current folder, else only the last.
pub(super) fn refuse_links_on_the_way(dir: &Path) -> Result<(), WriteError> {
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

pub(super) fn create_parent(path: &Path) -> Result<(), WriteError> {
    match path.parent() {
        Some(parent) => fs::create_dir_all(parent).map_err(io_error(parent)),
        None => Ok(()),
    }
}

/// Writes a new file in the work folder: never over anything already there, link or not.
pub(super) fn write_file(path: &Path, contents: &[u8], permissions: Option<fs::Permissions>) -> Result<(), WriteError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::testing::{output, write_output};
    use crate::write::{compare, MANIFEST, WORK};

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
}
