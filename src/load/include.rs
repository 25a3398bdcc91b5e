//! The top-level `include`: other compose applications loaded into this one, as the Compose
//! Specification defines it.
//!
//! Each entry is a project of its own: its files (one, or several merged in order) are read
//! relative to the including project's folder, interpolated with its own `.env` (or the entry's
//! `env_file`) under the including project's variables, which win, and their relative paths keep
//! meaning what they meant (see [`super::paths`]). Its resources (services, volumes, networks,
//! secrets, configs, models) are then copied into the including file. A name both define is an
//! error (the Compose Specification says compose does not merge them), unless both definitions are
//! the same, as when two included projects include one common file. Includes nest; a file that
//! includes itself, directly or not, is an error.
//!
//! Each compose file given with `-f` resolves its own `include` before the files are merged, as
//! compose does, so an override file may still change an included service.

use super::merge::{self, merge_documents};
use super::paths::{lexical, Rebase};
use super::{dotenv, Reader, Reference, Variables};
use crate::diagnostic::{Code, Diagnostic, KeyPath};
use crate::load::interpolate::key_text;
use crate::load::kind_of;
use crate::source::display_path;
use serde_yaml::{Mapping, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The top-level sections whose entries an included project brings in.
const RESOURCES: &[(&str, &str)] = &[
    ("services", "service"),
    ("volumes", "volume"),
    ("networks", "network"),
    ("secrets", "secret"),
    ("configs", "config"),
    ("models", "model"),
];

/// How deep includes may nest: far beyond real projects.
const MAXIMUM_DEPTH: usize = 32;
/// How many `include` entries one load may follow in all.
const MAXIMUM_ENTRIES: usize = 1024;

/// One `include` entry, read.
struct Entry {
    /// The compose files, relative to the including project's folder, each with its key path.
    paths: Vec<(String, KeyPath)>,
    project_directory: Option<(String, KeyPath)>,
    env_files: Vec<(String, KeyPath)>,
}

/// Where an include happens: the including file and its project.
pub(super) struct Including<'a> {
    /// The source index of the file that has the `include` key.
    pub source: usize,
    /// The folder the file's relative paths start from.
    pub project_dir: &'a Path,
    /// The variables the file was interpolated with: they win over an included project's.
    pub variables: &'a Variables,
    /// The files being included, outermost first, to tell a cycle.
    pub chain: &'a [PathBuf],
}

/// Resolves the `include` key of `root` (a file read as `including.source`), copying the included
/// resources into `root` and removing the key.
pub(super) fn include(reader: &mut Reader<'_>, root: &mut Mapping, including: &Including<'_>) {
    let Some(list) = root.remove("include") else {
        return;
    };
    let at = KeyPath::root().key("include");
    let items = match list {
        Value::Sequence(items) => items,
        Value::Null => return,
        other => {
            let found = kind_of(&other);
            reader.report_in(
                including.source,
                Diagnostic::error(Code::WrongType, at, format!("`include` must be a list, found {found}"))
                    .with_help("list the compose files to include: `include: [other/compose.yaml]`"),
            );
            return;
        }
    };
    let mut imported_by = ImportedBy::new();
    for (index, item) in items.iter().enumerate() {
        let item_at = at.index(index);
        let Some(entry) = read_entry(reader, including.source, item, &item_at) else {
            continue;
        };
        let Some(imported) = load_entry(reader, &entry, &item_at, including) else {
            continue;
        };
        let file = entry.paths[0].0.as_str();
        import(
            reader,
            root,
            imported,
            (&item_at, file),
            including.source,
            &mut imported_by,
        );
    }
}

/// Reads one entry: a path, or `{path, project_directory, env_file}`.
fn read_entry(reader: &mut Reader<'_>, source: usize, item: &Value, at: &KeyPath) -> Option<Entry> {
    let long = match item {
        Value::String(path) => {
            return Some(Entry {
                paths: vec![(path.clone(), at.clone())],
                project_directory: None,
                env_files: Vec::new(),
            })
        }
        Value::Mapping(long) => long,
        other => {
            reader.wrong_type(source, at, other, "a file path or `{path: FILE, env_file: FILE}`");
            return None;
        }
    };
    let mut valid = true;
    for key in long.keys().map(key_text) {
        if crate::support::verdict(&format!("include[].{key}")).is_none() {
            reader.report_in(source, crate::support::unknown_key(&key, "include[]", at));
            valid = false;
        }
    }
    let paths = match long.get("path") {
        Some(path) => reader.strings(source, path, &at.key("path"))?,
        None => {
            reader.report_in(
                source,
                Diagnostic::error(Code::MissingKey, at.clone(), format!("`{at}` has no `path`"))
                    .with_help("name the compose file to include: `path: other/compose.yaml`"),
            );
            return None;
        }
    };
    let project_directory = match long.get("project_directory") {
        Some(Value::String(folder)) => Some((folder.clone(), at.key("project_directory"))),
        Some(other) => {
            reader.wrong_type(source, &at.key("project_directory"), other, "a folder path");
            valid = false;
            None
        }
        None => None,
    };
    let env_files = match long.get("env_file") {
        Some(files) => reader.strings(source, files, &at.key("env_file"))?,
        None => Vec::new(),
    };
    if paths.is_empty() {
        reader.report_in(
            source,
            Diagnostic::error(Code::MissingKey, at.key("path"), format!("`{at}.path` lists no file"))
                .with_help("name the compose file to include: `path: other/compose.yaml`"),
        );
        return None;
    }
    valid.then_some(Entry {
        paths,
        project_directory,
        env_files,
    })
}

/// Loads the project one entry names: its files read, interpolated, their own includes resolved,
/// merged in order, and their paths rebased onto the main project's folder.
fn load_entry(reader: &mut Reader<'_>, entry: &Entry, at: &KeyPath, including: &Including<'_>) -> Option<Mapping> {
    let paths: Vec<PathBuf> = entry
        .paths
        .iter()
        .map(|(path, _)| lexical(&including.project_dir.join(path)))
        .collect();
    for (path, (_, path_at)) in paths.iter().zip(&entry.paths) {
        if !including.chain.contains(path) {
            continue;
        }
        let shown: Vec<String> = including
            .chain
            .iter()
            .chain([path])
            .map(|path| display_path(path))
            .collect();
        reader.report_in(
            including.source,
            Diagnostic::error(
                Code::IncludeCycle,
                path_at.clone(),
                format!("`include` goes round in a circle: {}", shown.join(" → ")),
            )
            .with_help("a compose file cannot include itself, directly or through the files it includes"),
        );
        return None;
    }
    reader.included_entries += 1;
    if reader.included_entries > MAXIMUM_ENTRIES + 1 {
        return None; // Said once, below.
    }
    if reader.included_entries > MAXIMUM_ENTRIES {
        reader.report_in(
            including.source,
            Diagnostic::error(
                Code::TooManyIncludes,
                at.clone(),
                format!("the files include more than {MAXIMUM_ENTRIES} projects in all"),
            )
            .with_help("include each file once, from fewer places"),
        );
        return None;
    }
    if including.chain.len() >= MAXIMUM_DEPTH {
        reader.report_in(
            including.source,
            Diagnostic::error(
                Code::IncludeTooDeep,
                at.clone(),
                format!("`include` nests more than {MAXIMUM_DEPTH} files deep"),
            )
            .with_help("include the files from fewer levels"),
        );
        return None;
    }
    let project_dir = match &entry.project_directory {
        Some((folder, _)) => lexical(&including.project_dir.join(folder)),
        None => paths[0].parent().map(Path::to_path_buf).unwrap_or_default(),
    };
    let variables = entry_variables(reader, entry, &project_dir, including)?;
    let mut project: Option<Mapping> = None;
    for (path, (_, path_at)) in paths.iter().zip(&entry.paths) {
        let mut chain = including.chain.to_vec();
        chain.push(path.clone());
        let reference = Reference {
            source: Some(including.source),
            at: path_at,
            help: "an included path is relative to the folder of the file that includes it",
        };
        let (source, mut root) = reader.read_document(path, &variables, Some(reference))?;
        reader.provenance.remove_base_only_source(source);
        if reader.refuse_version_1(source, &root) || !is_compose_file(reader, source, &root) {
            return None;
        }
        let nested = Including {
            source,
            project_dir: &project_dir,
            variables: &variables,
            chain: &chain,
        };
        include(reader, &mut root, &nested);
        match &mut project {
            None => project = Some(root),
            Some(base) => merge_documents(base, root),
        }
    }
    let mut project = project?;
    if let Some(rebase) = Rebase::new(&project_dir, &reader.project_dir) {
        if let Some(Value::Mapping(services)) = project.get_mut("services") {
            for service in services.values_mut() {
                if let Value::Mapping(service) = service {
                    rebase.service(service);
                }
            }
        }
    }
    // The included project's `extends` read its own variables, as compose-go loads it whole.
    if !reader.has_errors() {
        super::extends::resolve(reader, &mut project, &variables);
    }
    Some(project)
}

/// Whether an included file's top level is a compose file's: only what the main file may hold,
/// else an error per key. Without this, a file that is not a compose file at all (a
/// `package.json`, a path that went astray) would bring nothing in, silently.
fn is_compose_file(reader: &mut Reader<'_>, source: usize, root: &Mapping) -> bool {
    let known: Vec<&str> = crate::support::children("").collect();
    let mut compose = true;
    for key in root.keys().map(key_text) {
        if key.starts_with("x-") || known.contains(&key.as_str()) {
            continue;
        }
        compose = false;
        reader.report_in(source, crate::support::unknown_key(&key, "", &KeyPath::root()));
    }
    compose
}

/// The variables an included project is interpolated with: its env files (`.env` in its folder
/// when the entry names none), under the including project's variables, which win.
fn entry_variables(
    reader: &mut Reader<'_>,
    entry: &Entry,
    project_dir: &Path,
    including: &Including<'_>,
) -> Option<Variables> {
    let mut own = Variables::new();
    let files: Vec<(PathBuf, KeyPath, bool)> = if entry.env_files.is_empty() {
        vec![(project_dir.join(".env"), KeyPath::root(), false)]
    } else {
        entry
            .env_files
            .iter()
            .map(|(file, at)| (lexical(&including.project_dir.join(file)), at.clone(), true))
            .collect()
    };
    for (file, at, required) in files {
        // Values in an env file may use the variables above them and the including project's.
        let mut known = own.clone();
        known.extend(including.variables.iter().map(|(k, v)| (k.clone(), v.clone())));
        match dotenv::read(&file, &at, reader.files, &known) {
            Ok(Some(entries)) => own.extend(entries.into_iter().filter_map(|entry| Some((entry.name, entry.value?)))),
            Ok(None) if !required => {}
            Ok(None) => {
                reader.report_in(
                    including.source,
                    Diagnostic::error(
                        Code::UnreadableFile,
                        at,
                        format!("cannot read `{}`: no such file", display_path(&file)),
                    )
                    .with_help("an include's `env_file` is relative to the folder of the file that includes it"),
                );
                return None;
            }
            Err(diagnostic) if diagnostic.location.is_some() => {
                reader.diagnostics.push(*diagnostic);
                return None;
            }
            Err(diagnostic) => {
                reader.report_in(including.source, *diagnostic);
                return None;
            }
        }
    }
    own.extend(including.variables.iter().map(|(k, v)| (k.clone(), v.clone())));
    Some(own)
}

/// An included resource: the entry that brought it, and the file that entry names.
type ImportedBy = HashMap<(&'static str, String), (KeyPath, String)>;

/// Copies an included project's resources into `root`; a name defined twice, differently, is an
/// error, located at the including file's own definition, or at the second entry when two
/// included files define it.
fn import(
    reader: &mut Reader<'_>,
    root: &mut Mapping,
    mut imported: Mapping,
    entry: (&KeyPath, &str),
    source: usize,
    imported_by: &mut ImportedBy,
) {
    let (at, file) = entry;
    for &(section, kind) in RESOURCES {
        let Some(Value::Mapping(entries)) = imported.remove(section) else {
            continue; // None, or not a mapping: normalise says so if it matters.
        };
        let target = root
            .entry(Value::from(section))
            .or_insert_with(|| Value::Mapping(Mapping::new()));
        if target.is_null() {
            *target = Value::Mapping(Mapping::new());
        }
        let Value::Mapping(target) = target else {
            continue; // The including file's section is not a mapping: normalise reports it.
        };
        for (key, definition) in entries {
            let name = key_text(&key);
            match target.get(&key) {
                None => {
                    target.insert(key, definition);
                    imported_by.insert((section, name), (at.clone(), file.to_string()));
                }
                Some(existing) if *existing == definition => {}
                // The including file's own definition is merged over the included one, as
                // Compose does since compose-go 2.10 (Compose 2.x before it refused it).
                Some(_) => {
                    let Some((first_at, first_file)) = imported_by.get(&(section, name.clone())) else {
                        let own = target.remove(&key).unwrap_or_default();
                        let mut merged = definition;
                        merge::merge_resource(section, &mut merged, own);
                        target.insert(key, merged);
                        reader.report_in(
                            source,
                            Diagnostic::note(
                                Code::IncludeOverride,
                                KeyPath::root().key(section).key(&name),
                                format!("{kind} `{name}` of the included `{file}` (`{at}`) is merged with its definition here, which wins"),
                            )
                            .with_help("Compose merges them since compose-go 2.10; an older `docker compose` refuses the file"),
                        );
                        continue;
                    };
                    let diagnostic = Diagnostic::error(
                        Code::IncludeConflict,
                        at.clone(),
                        format!("{kind} `{name}` is defined by both `{first_file}` (`{first_at}`) and `{file}`, differently"),
                    );
                    reader.report_in(
                        source,
                        diagnostic.with_help(format!(
                            "compose does not merge the resources of two included files: rename one {kind}, or change it in the including file, whose definition is merged over the included one"
                        )),
                    );
                }
            }
        }
    }
}
