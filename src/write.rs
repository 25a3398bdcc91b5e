//! Write: the output files on disk. Each file is written beside its final name and renamed into
//! place, so a reader never sees half a file; files compose2ecs did not generate are never touched.

use crate::emit::Output;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the output path `{0}` is a file, not a folder")]
    NotAFolder(PathBuf),
    #[error("cannot write `{path}`: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Writes every file of `output` under `dir`, creating folders as needed.
pub fn write_output(dir: &Path, output: &Output) -> Result<(), WriteError> {
    if dir.exists() && !dir.is_dir() {
        return Err(WriteError::NotAFolder(dir.to_path_buf()));
    }
    for (relative, contents) in output {
        let path = dir.join(relative);
        let io_error = |source| WriteError::Io {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io_error)?;
        }
        let staged = path.with_extension("compose2ecs-tmp");
        let mut file = fs::File::create(&staged).map_err(io_error)?;
        file.write_all(contents.as_bytes()).map_err(io_error)?;
        file.sync_all().map_err(io_error)?;
        fs::rename(&staged, &path).map_err(io_error)?;
    }
    Ok(())
}
