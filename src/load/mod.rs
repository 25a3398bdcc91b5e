//! Load: compose files as text → YAML values (syntax errors located) → interpolated → merged into one document.
//!
//! The loader works on `serde_yaml::Value`, not on docker-compose-types: that crate rejects a third
//! of real compose files (merge keys, `platform`, map-form `deploy.labels`, …; see the project's
//! notes on dependencies), so merge keys, interpolation and the merge of `-f` files happen here and
//! the typed model is built afterwards, in `normalise`.

pub mod discover;
pub mod dotenv;
mod extends;
mod include;
pub mod interpolate;
pub mod merge;
mod parse;
pub mod paths;
pub mod stack_outputs;
pub(crate) mod yaml_limits;

use crate::diagnostic::{Code, Diagnostic, Diagnostics, KeyPath};
use crate::source::{display_path, locate_all, unreadable, Files, Provenance, SourceFile};
use crate::Input;
use interpolate::{interpolate_document, key_text, Variables};
#[cfg(test)]
pub(crate) use parse::apply_merge_keys;
pub use parse::kind_of;
use parse::parse_text;
use serde_yaml::{Mapping, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// The variable that names the project, and that every value may use.
pub const PROJECT_NAME_VARIABLE: &str = "COMPOSE_PROJECT_NAME";

/// The compose files merged into one document, with what normalise needs to read beside them.
#[derive(Debug)]
pub struct Loaded {
    /// Every file read: the `-f` files, then included and extended ones, in the order read.
    pub sources: Vec<SourceFile>,
    /// Where the settings of services that extend others were written.
    pub provenance: Provenance,
    pub document: Mapping,
    /// The `.env` file (or the `--env-file` files) under the process environment, with the
    /// `-p` project name: what `${VAR}` and a bare `environment: [VAR]` read.
    pub variables: Variables,
    /// The folder of the first compose file: relative paths (`env_file`) start there.
    pub project_dir: PathBuf,
    /// The project's name: the prefix of every family, service and stack.
    pub project_name: String,
}

impl Loaded {
    /// The names the project gives itself and its services, volumes, networks, secrets and configs.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        ["services", "volumes", "networks", "secrets", "configs"]
            .into_iter()
            .filter_map(|section| self.document.get(section)?.as_mapping())
            .flat_map(|section| section.keys().filter_map(Value::as_str))
            .chain(std::iter::once(self.project_name.as_str()))
    }

    /// The names (`names`), kept, and the YAML tree dropped: once normalised it is the project,
    /// and at thousands of services it is tens of megabytes no later stage reads.
    pub fn release_tree(&mut self) -> Vec<String> {
        let names = self.names().map(str::to_string).collect();
        self.document = Mapping::new();
        names
    }
}

/// Compose's project name rule: lowercase letters, digits, `-` and `_`, starting with a letter or digit.
pub fn normalised_project_name(raw: &str) -> String {
    let lowered: String = raw
        .to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect();
    lowered.trim_start_matches(['-', '_']).to_string()
}

/// A diagnostic about the project name, with the position among the `-f` files of the file whose
/// `name:` it is about (`None`: it is about `-p`, COMPOSE_PROJECT_NAME or the folder).
type NameDiagnostic = (Option<usize>, Diagnostic);

/// The project's name, as compose decides it: `-p` or COMPOSE_PROJECT_NAME, which must already be
/// valid (an empty one is unset); else the last file's `name:`, interpolated (empty is unset) and
/// normalised, with a note when that changes it; else the folder's name, normalised. `None` when
/// there is no valid name; the diagnostic says why.
fn decide_project_name(
    variables: &Variables,
    parsed: &[(SourceFile, Mapping)],
    directory_name: &str,
) -> (Option<String>, Option<NameDiagnostic>) {
    let invalid = |name: &str, at: KeyPath| {
        Diagnostic::error(
            Code::BadProjectName,
            at,
            format!("`{name}` is not a valid project name"),
        )
        .with_help("a project name has lowercase letters, digits, `-` and `_`, and starts with a letter or digit")
    };
    if let Some(name) = variables.get(PROJECT_NAME_VARIABLE).filter(|n| !n.is_empty()) {
        if normalised_project_name(name) == *name {
            return (Some(name.clone()), None);
        }
        return (None, Some((None, invalid(name, KeyPath::root()))));
    }
    let written = parsed
        .iter()
        .enumerate()
        .rev()
        .find_map(|(position, (_, root))| Some((position, root.get("name")?)));
    let at = KeyPath::root().key("name");
    let from_folder = || {
        let name = normalised_project_name(directory_name);
        if name.is_empty() {
            let diagnostic = Diagnostic::error(
                Code::BadProjectName,
                KeyPath::root(),
                format!("the folder name `{directory_name}` cannot be a project name"),
            )
            .with_help("give the project a name with a top-level `name:` key");
            return (None, Some((None, diagnostic)));
        }
        (Some(name), None)
    };
    match written {
        None => from_folder(),
        Some((position, Value::String(written))) => {
            // An interpolation error is reported where every value's is; the folder names it then.
            let Ok(interpolated) = interpolate::interpolate(written, variables).map(|done| done.value) else {
                return from_folder();
            };
            if interpolated.is_empty() {
                return from_folder();
            }
            let name = normalised_project_name(&interpolated);
            if name.is_empty() {
                return (None, Some((Some(position), invalid(&interpolated, at))));
            }
            let note = (name != interpolated).then(|| {
                let message = format!("the project name `{interpolated}` is `{name}`, as compose writes it");
                (
                    Some(position),
                    Diagnostic::note(Code::ProjectNameNormalised, at, message),
                )
            });
            (Some(name), note)
        }
        Some((position, other)) => (None, Some((Some(position), wrong_type(&at, other, "a string")))),
    }
}

/// Reads, parses and interpolates the compose files of `input`, resolves each one's `include` and
/// `extends`, and merges them in order. When an error was reported, returns the files it read, so
/// that what points into them can be shown.
pub fn load(input: &Input, files: &dyn Files, diagnostics: &mut Diagnostics) -> Result<Loaded, Vec<SourceFile>> {
    let paths = &input.compose_files;
    let project_dir = paths
        .first()
        .and_then(|p| p.parent())
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let Some(variables) = project_variables(input, &project_dir, files, diagnostics) else {
        return Err(Vec::new());
    };
    let parsed: Vec<(SourceFile, Mapping)> = paths
        .iter()
        .filter_map(|path| {
            let read = files.read(path).map_err(|error| Box::new(unreadable(path, &error)));
            match read.and_then(|bytes| parse_text(path, bytes, false)) {
                Ok(parsed) => Some(parsed),
                Err(diagnostic) => {
                    diagnostics.push(*diagnostic);
                    None
                }
            }
        })
        .collect();
    // The project's name, decided here once; every value may use it as `${COMPOSE_PROJECT_NAME}`.
    let directory_name = match (&input.directory_name, paths.first()) {
        (Some(name), _) => name.clone(),
        (None, Some(first)) => discover::folder_name(first, files),
        (None, None) => String::new(),
    };
    let (project_name, mut name_diagnostic) = decide_project_name(&variables, &parsed, &directory_name);
    if let Some((None, diagnostic)) = name_diagnostic.take_if(|(file, _)| file.is_none()) {
        diagnostics.push(diagnostic);
    }
    let mut interpolation = variables.clone();
    interpolation.insert(
        PROJECT_NAME_VARIABLE.to_string(),
        project_name.clone().unwrap_or_default(),
    );

    let mut reader = Reader {
        files,
        project_dir: project_dir.clone(),
        sources: Vec::new(),
        source_by_path: HashMap::new(),
        provenance: Provenance::default(),
        found_in: BTreeMap::new(),
        included_entries: 0,
        diagnostics,
    };
    let mut document: Option<Mapping> = None;
    for (position, (source, mut root)) in parsed.into_iter().enumerate() {
        let chain = vec![paths::lexical(&source.path)];
        let index = reader.add_source(source);
        if let Some((_, diagnostic)) = name_diagnostic.take_if(|(file, _)| *file == Some(position)) {
            reader.report_in(index, diagnostic);
        }
        reader.interpolate(index, &mut root, &interpolation);
        reader.refuse_version_1(index, &root);
        let including = include::Including {
            source: index,
            project_dir: &project_dir,
            variables: &interpolation,
            chain: &chain,
        };
        include::include(&mut reader, &mut root, &including);
        // Each file's `extends` is resolved before the files are merged, as compose-go does: a
        // later file that changes a base does not change the services extending it in this one.
        if !reader.has_errors() {
            extends::resolve(&mut reader, &mut root, &interpolation);
        }
        match &mut document {
            None => document = Some(root),
            Some(base) => merge::merge_documents(base, root),
        }
    }
    let document = document.unwrap_or_default();
    let (sources, provenance) = reader.finish();
    let (false, false, Some(project_name)) = (diagnostics.has_errors(), paths.is_empty(), project_name) else {
        // What was found about the merged document points into the project's files.
        crate::source::locate_all_with(diagnostics, &sources, &provenance);
        return Err(sources);
    };
    let mut document = Value::Mapping(document);
    merge::apply_merge_tags(&mut document);
    let Value::Mapping(document) = document else {
        unreachable!("a mapping stays a mapping")
    };
    Ok(Loaded {
        sources,
        provenance,
        document,
        variables,
        project_dir,
        project_name,
    })
}

/// What loading collects on its way through the files: every file read, and what it found there.
struct Reader<'a> {
    files: &'a dyn Files,
    /// The folder of the first compose file, where every relative path of the document starts.
    project_dir: PathBuf,
    sources: Vec<SourceFile>,
    source_by_path: HashMap<PathBuf, usize>,
    provenance: Provenance,
    /// Diagnostics about key paths of one source, by source: located in its text alone, since a
    /// key path of an included or extended file is not a path of the merged document.
    found_in: BTreeMap<usize, Diagnostics>,
    /// How many `include` entries were loaded: a file that includes the next one twice, and so on,
    /// doubles the work at each level, so the total is bounded, not only the depth.
    included_entries: usize,
    diagnostics: &'a mut Diagnostics,
}

/// Where a file to read was named: a key path in one source, or (`source: None`) a key path of
/// the project's document, located among the project's files.
struct Reference<'p> {
    source: Option<usize>,
    at: &'p KeyPath,
    /// What a missing file's error says about where the path starts.
    help: &'static str,
}

impl Reader<'_> {
    fn has_errors(&self) -> bool {
        self.diagnostics.has_errors() || self.found_in.values().any(Diagnostics::has_errors)
    }

    /// Reports a diagnostic about a key path of one source.
    fn report_in(&mut self, source: usize, diagnostic: Diagnostic) {
        self.found_in.entry(source).or_default().push(diagnostic);
    }

    fn wrong_type(&mut self, source: usize, path: &KeyPath, value: &Value, expected: &str) {
        self.report_in(source, wrong_type(path, value, expected));
    }

    /// A string or a list of strings, each with its key path; `None` after an error.
    fn strings(&mut self, source: usize, value: &Value, at: &KeyPath) -> Option<Vec<(String, KeyPath)>> {
        match value {
            Value::String(one) => Some(vec![(one.clone(), at.clone())]),
            Value::Sequence(items) => items
                .iter()
                .enumerate()
                .map(|(index, item)| match item {
                    Value::String(one) => Some((one.clone(), at.index(index))),
                    other => {
                        self.wrong_type(source, &at.index(index), other, "a file path");
                        None
                    }
                })
                .collect(),
            other => {
                self.wrong_type(source, at, other, "a file path or a list of them");
                None
            }
        }
    }

    /// The index of a source already read from `path`.
    fn source_index(&self, path: &Path) -> Option<usize> {
        self.source_by_path.get(&paths::lexical(path)).copied()
    }

    /// Adds a source, or finds it when that file was read before (a file included twice).
    fn add_source(&mut self, source: SourceFile) -> usize {
        let key = paths::lexical(&source.path);
        if let Some(&index) = self.source_by_path.get(&key) {
            return index;
        }
        self.sources.push(source);
        self.source_by_path.insert(key, self.sources.len() - 1);
        self.sources.len() - 1
    }

    fn interpolate(&mut self, source: usize, root: &mut Mapping, variables: &Variables) {
        let found = self.found_in.entry(source).or_default();
        let mut value = Value::Mapping(std::mem::take(root));
        interpolate_document(&mut value, &KeyPath::root(), variables, found);
        if let Value::Mapping(interpolated) = value {
            *root = interpolated;
        }
    }

    /// Reads, parses and interpolates a file that another one names; `None` after an error.
    fn read_document(
        &mut self,
        path: &Path,
        variables: &Variables,
        reference: Option<Reference<'_>>,
    ) -> Option<(usize, Mapping)> {
        let bytes = match self.files.read(path) {
            Ok(bytes) => bytes,
            Err(error) => {
                let mut diagnostic = unreadable(path, &error);
                match reference {
                    Some(reference) => {
                        diagnostic.path = reference.at.clone();
                        diagnostic.location = None;
                        diagnostic.help = Some(reference.help.to_string());
                        match reference.source {
                            Some(source) => self.report_in(source, diagnostic),
                            None => self.diagnostics.push(diagnostic),
                        }
                    }
                    None => self.diagnostics.push(diagnostic),
                }
                return None;
            }
        };
        // compose reads an included or extended file with nothing in it as no settings.
        let (source, mut root) = match parse_text(path, bytes, true) {
            Ok(parsed) => parsed,
            Err(diagnostic) => {
                self.diagnostics.push(*diagnostic);
                return None;
            }
        };
        let index = self.add_source(source);
        self.interpolate(index, &mut root, variables);
        Some((index, root))
    }

    /// Refuses a file in the version 1 format (services at the top level, no `services:`), which
    /// compose no longer reads. Returns whether it did.
    fn refuse_version_1(&mut self, source: usize, root: &Mapping) -> bool {
        if root.contains_key("services") {
            return false;
        }
        let known: Vec<&str> = crate::support::children("").collect();
        let service = root.iter().find_map(|(key, value)| {
            let name = key_text(key);
            let looks_like_a_service = !name.starts_with("x-")
                && !known.contains(&name.as_str())
                && value
                    .as_mapping()
                    .is_some_and(|m| m.contains_key("image") || m.contains_key("build"));
            looks_like_a_service.then_some(name)
        });
        let Some(service) = service else {
            return false;
        };
        self.report_in(
            source,
            Diagnostic::error(
                Code::LegacyV1Format,
                KeyPath::root().key(&service),
                format!(
                    "`{service}` is a service at the top level: this is the version 1 compose format, which compose no longer reads"
                ),
            )
            .with_help("put the services under a top-level `services:` key, indented one level below it"),
        );
        true
    }

    /// Locates the diagnostics found in each source in that source, and hands back the sources.
    fn finish(self) -> (Vec<SourceFile>, Provenance) {
        for (source, mut found) in self.found_in {
            if let Some(file) = self.sources.get(source) {
                locate_all(&mut found, std::slice::from_ref(file));
            }
            self.diagnostics.append(found);
        }
        (self.sources, self.provenance)
    }
}

/// `path` must be `expected`, and is not.
pub(crate) fn wrong_type(path: &KeyPath, value: &Value, expected: &str) -> Diagnostic {
    let found = kind_of(value);
    Diagnostic::error(
        Code::WrongType,
        path.clone(),
        format!("`{path}` must be {expected}, found {found}"),
    )
    .with_help(format!("write `{path}` as {expected}"))
}

/// The project's variables: the `.env` file beside the first compose file, or instead the
/// `--env-file` files in order (later ones win), under the process environment, which wins; then
/// the `-p` project name, which wins over everything.
fn project_variables(
    input: &Input,
    project_dir: &Path,
    files: &dyn Files,
    diagnostics: &mut Diagnostics,
) -> Option<Variables> {
    let env_files: Vec<(PathBuf, bool)> = if input.env_files.is_empty() {
        vec![(project_dir.join(".env"), false)]
    } else {
        input.env_files.iter().map(|file| (file.clone(), true)).collect()
    };
    let mut variables = Variables::new();
    for (file, required) in env_files {
        let mut known = variables.clone();
        known.extend(input.environment.iter().map(|(k, v)| (k.clone(), v.clone())));
        match dotenv::read(&file, &KeyPath::root(), files, &known) {
            Ok(Some(entries)) => {
                variables.extend(entries.into_iter().filter_map(|entry| Some((entry.name, entry.value?))))
            }
            Ok(None) if !required => {}
            Ok(None) => {
                let shown = display_path(&file);
                diagnostics.push(
                    Diagnostic::error(
                        Code::UnreadableFile,
                        KeyPath::root(),
                        format!("cannot read `{shown}` (`--env-file`): no such file"),
                    )
                    .at_file(&shown, 1, 1)
                    .with_help("`--env-file` is relative to the current folder"),
                );
                return None;
            }
            Err(diagnostic) => {
                diagnostics.push(*diagnostic);
                return None;
            }
        }
    }
    // The process environment wins over `.env`, as in compose.
    variables.extend(input.environment.iter().map(|(k, v)| (k.clone(), v.clone())));
    if let Some(name) = &input.project_name {
        variables.insert(PROJECT_NAME_VARIABLE.to_string(), name.clone());
    }
    Some(variables)
}

#[cfg(test)]
mod tests;
