//! Durability: the staged files and the journal reach the disk before the first rename does, and
//! the renames before the journal goes.

use super::{io_error, WriteError};
use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The folders `files` are in, each once.
pub(super) fn parents(files: &[PathBuf]) -> BTreeSet<PathBuf> {
    files
        .iter()
        .filter_map(|file| Some(file.parent()?.to_path_buf()))
        .collect()
}

/// Makes `files` and `folders` durable. On Linux one `syncfs` of the file system they are on
/// (they are all within `within`, on one file system, since renames connect them) does it in one
/// call: thousands of files took one `fsync` each, 43 s for 3,000 services. Elsewhere, one
/// `fsync` per file and per folder.
pub(super) fn make_durable(within: &Path, files: &[PathBuf], folders: &BTreeSet<PathBuf>) -> Result<(), WriteError> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let _ = (files, folders);
        let folder = fs::File::open(within).map_err(io_error(within))?;
        // SAFETY: syncfs takes any open descriptor, which `folder` keeps open for the call.
        if unsafe { libc::syncfs(folder.as_raw_fd()) } != 0 {
            return Err(io_error(within)(io::Error::last_os_error()));
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = within;
        for file in files {
            fs::File::open(file)
                .and_then(|f| f.sync_all())
                .map_err(io_error(file))?;
        }
        for folder in folders {
            sync_folder(folder)?;
        }
        Ok(())
    }
}

/// Makes the renames in a folder durable (a power loss must not keep them and lose the journal).
pub(super) fn sync_folder(folder: &Path) -> Result<(), WriteError> {
    #[cfg(unix)]
    fs::File::open(folder)
        .and_then(|f| f.sync_all())
        .map_err(io_error(folder))?;
    #[cfg(not(unix))]
    let _ = folder;
    Ok(())
}
