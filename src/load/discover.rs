//! Which compose files are the project when no `-f` names them, as compose finds them: the files
//! `COMPOSE_FILE` lists, else the first of compose's default names in the current folder with its
//! override file; and the name of the project's folder, which names the project by default.

use super::dotenv;
use super::interpolate::Variables;
use crate::source::Files;
use std::path::{Path, PathBuf};

/// Compose's own search order for the main file, and for the override file merged after it
/// (compose-go's `DefaultFileNames` and `DefaultOverrideFileNames`, in their order).
pub const DEFAULT_FILES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];
pub const OVERRIDE_FILES: &[&str] = &[
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];

/// The variable that lists the compose files, and the one that separates them (default `:`).
const COMPOSE_FILE: &str = "COMPOSE_FILE";
const COMPOSE_PATH_SEPARATOR: &str = "COMPOSE_PATH_SEPARATOR";

/// Nothing names the compose files, and none of compose's default names is in the folder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no compose file in this folder")]
pub struct NoComposeFile;

impl NoComposeFile {
    pub fn help(&self) -> String {
        format!("looked for {}; name one with `-f FILE`", DEFAULT_FILES.join(", "))
    }
}

/// The compose files to merge, in order: the ones `-f` names (`named`); else the ones
/// `COMPOSE_FILE` lists; else the first of [`DEFAULT_FILES`] in the current folder, then the
/// first of [`OVERRIDE_FILES`]. Whatever is at a default name is taken, as compose does, and the
/// reader refuses what is not a file.
pub fn compose_files(
    named: &[PathBuf],
    env_files: &[PathBuf],
    environment: &Variables,
    files: &dyn Files,
) -> Result<Vec<PathBuf>, NoComposeFile> {
    if !named.is_empty() {
        return Ok(named.to_vec());
    }
    let listed = compose_file_setting(env_files, environment, files);
    if !listed.is_empty() {
        return Ok(listed);
    }
    let first_present = |names: &[&str]| names.iter().map(PathBuf::from).find(|path| files.exists(path));
    let found = first_present(DEFAULT_FILES).ok_or(NoComposeFile)?;
    Ok(std::iter::once(found).chain(first_present(OVERRIDE_FILES)).collect())
}

/// `COMPOSE_FILE` from the environment, else from `.env` in the current folder (or the
/// `--env-file` files, later ones winning): the files it lists, separated by
/// `COMPOSE_PATH_SEPARATOR` (default `:`), as in compose. The `.env` beside the compose files is
/// read once they are known; an env file that cannot be read here is the conversion's to report.
fn compose_file_setting(env_files: &[PathBuf], environment: &Variables, files: &dyn Files) -> Vec<PathBuf> {
    let default_env_file = [PathBuf::from(".env")];
    let env_files = if env_files.is_empty() {
        &default_env_file[..]
    } else {
        env_files
    };
    let mut dotenv = Variables::new();
    for file in env_files {
        let entries = files
            .read(file)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| dotenv::parse(&text, environment).ok())
            .unwrap_or_default();
        dotenv.extend(entries.into_iter().filter_map(|entry| Some((entry.name, entry.value?))));
    }
    let setting = |name: &str| environment.get(name).or_else(|| dotenv.get(name)).cloned();
    let Some(list) = setting(COMPOSE_FILE).filter(|list| !list.is_empty()) else {
        return Vec::new();
    };
    // An empty separator is unset, as in compose (splitting on it would split every character).
    let separator = setting(COMPOSE_PATH_SEPARATOR)
        .filter(|separator| !separator.is_empty())
        .unwrap_or_else(|| ":".to_string());
    list.split(separator.as_str())
        .filter(|file| !file.is_empty())
        .map(PathBuf::from)
        .collect()
}

/// The name of the folder `first_file` is in, links resolved (`.` is the current folder's
/// name); empty when it cannot be found, which the project name then reports.
pub fn folder_name(first_file: &Path, files: &dyn Files) -> String {
    let folder = match first_file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    files
        .canonicalize(folder)
        .ok()
        .and_then(|path| path.file_name().map(|name| name.to_string_lossy().into_owned()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemoryFiles;

    fn folder(files: &[(&str, &str)]) -> MemoryFiles {
        MemoryFiles(
            files
                .iter()
                .map(|(path, text)| (PathBuf::from(path), text.as_bytes().to_vec()))
                .collect(),
        )
    }

    fn variables(pairs: &[(&str, &str)]) -> Variables {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn found(
        files: &MemoryFiles,
        env_files: &[&str],
        environment: &[(&str, &str)],
    ) -> Result<Vec<String>, NoComposeFile> {
        let env_files: Vec<PathBuf> = env_files.iter().map(PathBuf::from).collect();
        compose_files(&[], &env_files, &variables(environment), files)
            .map(|paths| paths.iter().map(|p| p.display().to_string()).collect())
    }

    #[test]
    fn the_default_names_are_taken_in_compose_order_with_the_first_override() {
        let all = folder(&[
            ("compose.yml", ""),
            ("docker-compose.yaml", ""),
            ("docker-compose.yml", ""),
            ("compose.override.yml", ""),
            ("docker-compose.override.yaml", ""),
        ]);
        assert_eq!(found(&all, &[], &[]).unwrap(), ["compose.yml", "compose.override.yml"]);
        let classic = folder(&[("docker-compose.yml", ""), ("docker-compose.override.yml", "")]);
        assert_eq!(
            found(&classic, &[], &[]).unwrap(),
            ["docker-compose.yml", "docker-compose.override.yml"]
        );
        // The newest name wins; of the classic names, `.yml` before `.yaml` (compose-go's order),
        // and an override file alone is no project.
        let both = folder(&[("compose.yaml", ""), ("docker-compose.yml", "")]);
        assert_eq!(found(&both, &[], &[]).unwrap(), ["compose.yaml"]);
        let classic_both = folder(&[
            ("docker-compose.yaml", ""),
            ("docker-compose.yml", ""),
            ("compose.override.yaml", ""),
            ("compose.override.yml", ""),
        ]);
        assert_eq!(
            found(&classic_both, &[], &[]).unwrap(),
            ["docker-compose.yml", "compose.override.yml"]
        );
        let override_only = folder(&[("compose.override.yaml", "")]);
        assert_eq!(found(&override_only, &[], &[]), Err(NoComposeFile));
        assert!(NoComposeFile
            .help()
            .contains("compose.yaml, compose.yml, docker-compose.yml, docker-compose.yaml"));
    }

    #[test]
    fn named_files_win_over_compose_file_and_the_default_names() {
        let files = folder(&[("compose.yaml", ""), (".env", "COMPOSE_FILE=a.yml\n")]);
        let named = [PathBuf::from("x.yml"), PathBuf::from("y.yml")];
        assert_eq!(compose_files(&named, &[], &Variables::new(), &files).unwrap(), named);
    }

    #[test]
    fn compose_file_lists_the_files_from_the_environment_or_dot_env() {
        let files = folder(&[("compose.yaml", ""), (".env", "COMPOSE_FILE=base.yml:prod.yml\n")]);
        assert_eq!(found(&files, &[], &[]).unwrap(), ["base.yml", "prod.yml"]);
        // The environment wins over `.env`; empty entries are skipped.
        assert_eq!(
            found(&files, &[], &[("COMPOSE_FILE", "one.yml::two.yml:")]).unwrap(),
            ["one.yml", "two.yml"]
        );
        // An empty COMPOSE_FILE is unset.
        let empty = folder(&[("compose.yaml", ""), (".env", "COMPOSE_FILE=\n")]);
        assert_eq!(found(&empty, &[], &[]).unwrap(), ["compose.yaml"]);
    }

    #[test]
    fn compose_path_separator_splits_compose_file() {
        let files = folder(&[(".env", "COMPOSE_PATH_SEPARATOR=;\nCOMPOSE_FILE=a.yml;b:c.yml\n")]);
        assert_eq!(found(&files, &[], &[]).unwrap(), ["a.yml", "b:c.yml"]);
        assert_eq!(
            found(&files, &[], &[("COMPOSE_PATH_SEPARATOR", ",")]).unwrap(),
            ["a.yml;b:c.yml"]
        );
        // An empty separator is unset: the default `:`.
        let empty = folder(&[(".env", "COMPOSE_PATH_SEPARATOR=\nCOMPOSE_FILE=a.yml:b.yml\n")]);
        assert_eq!(found(&empty, &[], &[]).unwrap(), ["a.yml", "b.yml"]);
    }

    #[test]
    fn env_files_replace_dot_env_for_compose_file() {
        let files = folder(&[
            (".env", "COMPOSE_FILE=from-dot-env.yml\n"),
            ("ci.env", "COMPOSE_FILE=first.yml\n"),
            ("prod.env", "COMPOSE_FILE=prod.yml\n"),
            ("docker-compose.yml", ""),
        ]);
        assert_eq!(found(&files, &["ci.env"], &[]).unwrap(), ["first.yml"]);
        assert_eq!(found(&files, &["ci.env", "prod.env"], &[]).unwrap(), ["prod.yml"]);
        // An env file that is missing or unreadable names no files; the conversion reports it.
        assert_eq!(found(&files, &["missing.env"], &[]).unwrap(), ["docker-compose.yml"]);
        let broken = folder(&[(".env", "not a line\nCOMPOSE_FILE=x.yml\n"), ("compose.yaml", "")]);
        assert_eq!(found(&broken, &[], &[]).unwrap(), ["compose.yaml"]);
    }

    #[test]
    fn the_folder_name_is_the_first_files_folder() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("my-shop");
        std::fs::create_dir(&project).unwrap();
        let file = project.join("compose.yaml");
        assert_eq!(folder_name(&file, &crate::source::FileSystem), "my-shop");
        // A folder that is not there has no name; in memory, no folder has one.
        assert_eq!(
            folder_name(&dir.path().join("gone/compose.yaml"), &crate::source::FileSystem),
            ""
        );
        assert_eq!(folder_name(Path::new("compose.yaml"), &MemoryFiles::default()), "");
    }
}
