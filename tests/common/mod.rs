//! What the library-level tests share: a conversion of one compose text, held in memory.

use compose2ecs::source::MemoryFiles;
use compose2ecs::{convert, Conversion, Input};
use std::path::PathBuf;

/// Converts `compose` as the `compose.yaml` of a folder named `folder` (the project's name).
pub fn conversion(folder: &str, compose: &str) -> Conversion {
    let path = PathBuf::from("compose.yaml");
    let mut files = MemoryFiles::default();
    files.0.insert(path.clone(), compose.as_bytes().to_vec());
    let input = Input {
        compose_files: vec![path],
        directory_name: Some(folder.to_string()),
        ..Input::default()
    };
    convert(&input, &files).expect("no program failure")
}
