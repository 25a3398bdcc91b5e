//! What the unit tests of normalise share: one concern's reader run on a YAML value, with files
//! and variables held in memory, and a whole compose text normalised.

use super::reader::Reader;
use super::Project;
use crate::diagnostic::{Code, Diagnostics, KeyPath};
use crate::load::interpolate::Variables;
use crate::source::MemoryFiles;
use crate::Input;
use serde_yaml::Value;
use std::path::{Path, PathBuf};

/// Where the value a test reads stands: the service `web`.
pub fn service_path() -> KeyPath {
    KeyPath::root().key("services").key("web")
}

/// Runs `read` on the YAML `yaml` as the settings of the service `web`, and what it reported.
pub fn read<T>(yaml: &str, read: impl FnOnce(&mut Reader, &Value, &KeyPath) -> T) -> (T, Diagnostics) {
    read_with(&[], &[], yaml, read)
}

/// As [`read`], with `files` (path, text) in the project folder and `variables` set.
pub fn read_with<T>(
    files: &[(&str, &str)],
    variables: &[(&str, &str)],
    yaml: &str,
    read: impl FnOnce(&mut Reader, &Value, &KeyPath) -> T,
) -> (T, Diagnostics) {
    let value: Value = serde_yaml::from_str(yaml).expect("the test's YAML parses");
    let files = memory(files);
    let variables: Variables = variables
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    let mut diagnostics = Diagnostics::default();
    let mut reader = Reader {
        variables: &variables,
        project_dir: Path::new(""),
        files: &files,
        diagnostics: &mut diagnostics,
    };
    let value = read(&mut reader, &value, &service_path());
    (value, diagnostics)
}

/// Loads and normalises `compose`, the `compose.yaml` of a folder `app`, beside `files`, with
/// the process environment `environment`.
pub fn normalised_with(
    compose: &str,
    files: &[(&str, &str)],
    environment: &[(&str, &str)],
) -> (Option<Project>, Diagnostics) {
    let mut all = files.to_vec();
    all.push(("compose.yaml", compose));
    let input = Input {
        compose_files: vec![PathBuf::from("compose.yaml")],
        directory_name: Some("app".to_string()),
        environment: environment
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect(),
        ..Input::default()
    };
    let files = memory(&all);
    let mut diagnostics = Diagnostics::default();
    let Ok(loaded) = crate::load::load(&input, &files, &mut diagnostics) else {
        panic!("the test's compose file loads: {:?}", codes(&diagnostics));
    };
    let project = super::normalise(&loaded, &[], &files, &mut diagnostics);
    (project, diagnostics)
}

/// As [`normalised_with`], with no other file and no environment.
pub fn normalised(compose: &str) -> (Option<Project>, Diagnostics) {
    normalised_with(compose, &[], &[])
}

/// The codes of `diagnostics`, in the order found.
pub fn codes(diagnostics: &Diagnostics) -> Vec<Code> {
    diagnostics.iter().map(|d| d.code).collect()
}

/// The key paths `diagnostics` point at, in the order found.
pub fn paths(diagnostics: &Diagnostics) -> Vec<String> {
    diagnostics.iter().map(|d| d.path.to_string()).collect()
}

fn memory(files: &[(&str, &str)]) -> MemoryFiles {
    MemoryFiles(
        files
            .iter()
            .map(|(path, text)| (PathBuf::from(path), text.as_bytes().to_vec()))
            .collect(),
    )
}
