//! Mounted files: the files services bind-mount from the project's folder (nginx.conf, kong.yml,
//! a Caddyfile), which Fargate cannot mount, read at convert time so that plan can find the
//! services they name. Bounded: each file and all together; regular files inside the project's
//! folder only, never through a link.

use super::reader::Reader;
use super::{MountSource, MountedFile, Service};
use crate::diagnostic::{Code, Diagnostic};
use std::io::ErrorKind;
use std::path::{Component, Path};

/// The most compose2ecs reads of one mounted file, and of all of them together.
pub const MOUNTED_FILE_BYTES: u64 = 1024 * 1024;
pub const MOUNTED_FILES_BYTES: u64 = 4 * 1024 * 1024;

/// Reads the text of each file a service bind-mounts from inside the project's folder.
pub(super) fn read_mounted_files(reader: &mut Reader, services: &mut [Service]) {
    let mut left = MOUNTED_FILES_BYTES;
    for service in services.iter_mut() {
        let mut found = Vec::new();
        for mount in &service.mounts {
            let MountSource::Bind(source) = &mount.source else {
                continue;
            };
            let Some(relative) = inside_project(source) else {
                continue;
            };
            let path = reader.project_dir.join(relative);
            // A folder on the way may be a link out of the project: the file's real place must
            // still be inside the project's real folder.
            let real = reader.files.canonicalize(&path);
            let project_dir = match reader.project_dir.as_os_str().is_empty() {
                true => Path::new("."),
                false => reader.project_dir,
            };
            let project = reader.files.canonicalize(project_dir);
            let (Ok(real), Ok(project)) = (real, project) else {
                continue;
            };
            if !real.starts_with(&project) {
                reader.diagnostics.push(Diagnostic::note(
                    Code::UnreadMountedFile,
                    mount.path.clone(),
                    format!(
                        "`{source}` is not read for the services it names: a link leads out of the project's folder"
                    ),
                ));
                continue;
            }
            let why = match reader.files.read_mounted(&path, MOUNTED_FILE_BYTES) {
                // A folder (`./src:/app`) or a file not in the repository: nothing to read.
                Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::IsADirectory) => continue,
                Err(e) if e.kind() == ErrorKind::FileTooLarge => {
                    format!("it is larger than {MOUNTED_FILE_BYTES} bytes")
                }
                Err(e) => e.to_string(),
                Ok(bytes) if bytes.len() as u64 > left => {
                    format!("the mounted files read already hold {MOUNTED_FILES_BYTES} bytes")
                }
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(text) if !text.contains('\0') => {
                        left -= text.len() as u64;
                        found.push(MountedFile {
                            source: source.clone(),
                            path: mount.path.clone(),
                            text,
                        });
                        continue;
                    }
                    _ => "it is not text".to_string(),
                },
            };
            reader.diagnostics.push(Diagnostic::note(
                Code::UnreadMountedFile,
                mount.path.clone(),
                format!("`{source}` is not read for the services it names: {why}"),
            ));
        }
        service.mounted_files = found;
    }
}

/// The path of a bind source inside the project's folder: relative, with no `..` (`./nginx.conf`,
/// `conf/kong.yml`); `None` for an absolute path, `~`, or one that leaves the folder.
fn inside_project(source: &str) -> Option<&Path> {
    let path = Path::new(source);
    let inside = !source.starts_with('~')
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    inside.then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_inside_the_project_are_read() {
        assert!(inside_project("./nginx.conf").is_some());
        assert!(inside_project("conf/kong.yml").is_some());
        assert!(inside_project("../secrets/x").is_none());
        assert!(inside_project("./conf/../../x").is_none());
        assert!(inside_project("/etc/passwd").is_none());
        assert!(inside_project("~/.ssh/id_rsa").is_none());
    }
}
