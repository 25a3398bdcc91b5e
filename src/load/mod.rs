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
pub mod paths;
pub mod stack_outputs;
pub(crate) mod yaml_limits;

use crate::diagnostic::{Diagnostic, Diagnostics, KeyPath};
use crate::source::{display_path, locate_all, unreadable, Files, KeyIndexBuilder, Provenance, SourceFile};
use crate::Input;
use interpolate::{interpolate_document, key_text, Variables};
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
        Diagnostic::error("bad-project-name", at, format!("`{name}` is not a valid project name"))
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
                "bad-project-name",
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
                (Some(position), Diagnostic::note("project-name-normalised", at, message))
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
                "legacy-v1-format",
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
        "wrong-type",
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
                        "unreadable-file",
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

/// Parses a compose file's bytes into its text and its top-level mapping, merge keys applied.
/// With `empty_is_nothing`, a file with no document (blank, or only comments) is an empty mapping.
fn parse_text(path: &Path, bytes: Vec<u8>, empty_is_nothing: bool) -> Result<(SourceFile, Mapping), Box<Diagnostic>> {
    let shown = display_path(path);
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
            let column = valid.iter().rev().take_while(|b| **b != b'\n').count() + 1;
            return Err(Box::new(
                Diagnostic::error("not-utf8", KeyPath::root(), format!("`{shown}` is not UTF-8 text"))
                    .at_file(&shown, line, column)
                    .with_help("a compose file is YAML text; save it as UTF-8"),
            ));
        }
    };
    if text.trim().is_empty() && !empty_is_nothing {
        return Err(Box::new(
            Diagnostic::error("empty-file", KeyPath::root(), format!("`{shown}` is empty"))
                .at_file(&shown, 1, 1)
                .with_help("a compose file needs at least a `services:` section"),
        ));
    }
    // One parse checks the limits and indexes the keys, to locate what is said about them.
    let mut keys = KeyIndexBuilder::new(&text);
    if let Some(exceeded) = yaml_limits::check_observing(&text, &mut |event| keys.see(event)) {
        let message = match exceeded.limit {
            yaml_limits::Limit::Depth => {
                format!("`{shown}` nests more than {} levels deep", yaml_limits::MAXIMUM_DEPTH)
            }
            yaml_limits::Limit::Expansion => format!(
                "`{shown}` repeats so much through aliases that it would hold more than {} MiB",
                yaml_limits::MAXIMUM_EXPANDED / (1024 * 1024)
            ),
        };
        return Err(Box::new(
            Diagnostic::error("yaml-syntax", KeyPath::root(), message)
                .at_file(&shown, exceeded.line, exceeded.column)
                .with_help("no compose file needs this; check where this file came from"),
        ));
    }
    let keys = keys.finish();
    let mut value: Value = match serde_yaml::from_str(&text) {
        Ok(value) => value,
        Err(error) => {
            let (line, column) = error.location().map_or((1, 1), |at| (at.line(), at.column()));
            let message = error.to_string();
            let message = message.split(" at line ").next().unwrap_or(&message).to_string();
            let has_tab = text
                .lines()
                .nth(line.saturating_sub(1))
                .is_some_and(|l| l.contains('\t'));
            let help = if has_tab {
                format!("line {line} has a tab; YAML indents with spaces only")
            } else {
                "check the indentation and the quotes around this place".to_string()
            };
            return Err(Box::new(
                Diagnostic::error(
                    "yaml-syntax",
                    KeyPath::root(),
                    format!("`{shown}` is not valid YAML: {message}"),
                )
                .at_file(&shown, line, column)
                .with_help(help),
            ));
        }
    };
    if let Err(error) = apply_merge_keys(&mut value) {
        return Err(Box::new(
            Diagnostic::error(
                "yaml-merge",
                KeyPath::root(),
                format!("`{shown}`: a `<<` merge key failed: {error}"),
            )
            .at_file(&shown, 1, 1)
            .with_help("`<<:` takes an alias of a mapping (`<<: *defaults`) or a list of them"),
        ));
    }
    let source = SourceFile::indexed(path, text, keys);
    match value {
        Value::Mapping(root) => Ok((source, root)),
        Value::Null if empty_is_nothing => Ok((source, Mapping::new())),
        other => {
            let found = kind_of(&other);
            Err(Box::new(
                Diagnostic::error(
                    "not-a-mapping",
                    KeyPath::root(),
                    format!("`{shown}` holds {found}, not a compose document"),
                )
                .at_file(&shown, 1, 1)
                .with_help("a compose file is a mapping with a `services:` key"),
            ))
        }
    }
}

/// Applies `<<` merge keys, also nested ones (a merged mapping that merges another): serde_yaml's
/// `apply_merge` resolves one level per pass and leaves the inner `<<` in place, so this repeats it
/// until none is left. Each pass resolves at least one level, so the loop ends.
pub(crate) fn apply_merge_keys(value: &mut Value) -> Result<(), serde_yaml::Error> {
    loop {
        value.apply_merge()?;
        if !has_merge_key(value) {
            return Ok(());
        }
    }
}

fn has_merge_key(value: &Value) -> bool {
    match value {
        Value::Mapping(map) => map.contains_key("<<") || map.values().any(has_merge_key),
        Value::Sequence(items) => items.iter().any(has_merge_key),
        Value::Tagged(tagged) => has_merge_key(&tagged.value),
        _ => false,
    }
}

/// A YAML value's kind in words, for messages.
pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemoryFiles;

    /// Loads `files` (path, text), the first being the compose file, with `environment`.
    fn load_files(files: &[(&str, &str)], environment: &[(&str, &str)]) -> (Option<Loaded>, Diagnostics) {
        let memory = MemoryFiles(
            files
                .iter()
                .map(|(path, text)| (PathBuf::from(path), text.as_bytes().to_vec()))
                .collect(),
        );
        let input = Input {
            compose_files: vec![PathBuf::from(files[0].0)],
            directory_name: Some("app".to_string()),
            environment: environment
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Input::default()
        };
        let mut diagnostics = Diagnostics::default();
        let loaded = load(&input, &memory, &mut diagnostics).ok();
        (loaded, diagnostics)
    }

    /// The project name `compose.yaml` with `name_line` gets, and the codes said about it.
    fn named(name_line: &str, environment: &[(&str, &str)]) -> (Option<String>, Vec<&'static str>) {
        let text = format!(
            "{name_line}\nservices:\n  web:\n    image: a\n    environment: [\"P=${{COMPOSE_PROJECT_NAME}}\"]\n"
        );
        let (loaded, diagnostics) = load_files(&[("compose.yaml", &text)], environment);
        if let Some(loaded) = &loaded {
            // Interpolation sees the same name the project gets.
            let web = &loaded.document["services"]["web"]["environment"][0];
            assert_eq!(web.as_str(), Some(format!("P={}", loaded.project_name).as_str()));
        }
        let codes = diagnostics.iter().map(|d| d.code).collect();
        (loaded.map(|l| l.project_name), codes)
    }

    #[test]
    fn the_project_name_is_decided_once_as_compose_does() {
        assert_eq!(named("", &[]), (Some("app".into()), vec![]));
        assert_eq!(named("name: shop", &[]), (Some("shop".into()), vec![]));
        assert_eq!(
            named("name: My.Shop", &[]),
            (Some("myshop".into()), vec!["project-name-normalised"])
        );
        assert_eq!(named("name: \"\"", &[]), (Some("app".into()), vec![]));
        assert_eq!(named("name: ${UNSET-}", &[]), (Some("app".into()), vec![]));
        assert_eq!(
            named("name: ${N}", &[("N", "fromvar")]),
            (Some("fromvar".into()), vec![])
        );
        assert_eq!(
            named("name: shop", &[("COMPOSE_PROJECT_NAME", "ci")]),
            (Some("ci".into()), vec![])
        );
        assert_eq!(
            named("name: shop", &[("COMPOSE_PROJECT_NAME", "")]),
            (Some("shop".into()), vec![])
        );
        assert_eq!(
            named("name: shop", &[("COMPOSE_PROJECT_NAME", "Bad Name")]),
            (None, vec!["bad-project-name"])
        );
        assert_eq!(named("name: \"---\"", &[]), (None, vec!["bad-project-name"]));
        assert_eq!(named("name: 42", &[]), (None, vec!["wrong-type"]));
    }

    #[test]
    fn a_name_diagnostic_points_into_the_file_that_writes_the_name() {
        let memory = MemoryFiles(
            [
                ("a.yaml", "services:\n  web:\n    image: a\n"),
                ("b.yaml", "name: Shop\n"),
            ]
            .iter()
            .map(|(path, text)| (PathBuf::from(path), text.as_bytes().to_vec()))
            .collect(),
        );
        let input = Input {
            compose_files: vec![PathBuf::from("a.yaml"), PathBuf::from("b.yaml")],
            directory_name: Some("app".to_string()),
            ..Input::default()
        };
        let mut diagnostics = Diagnostics::default();
        let loaded = load(&input, &memory, &mut diagnostics).expect("it loads");
        assert_eq!(loaded.project_name, "shop");
        crate::source::locate_all_with(&mut diagnostics, &loaded.sources, &loaded.provenance);
        let note = diagnostics
            .iter()
            .find(|d| d.code == "project-name-normalised")
            .expect("a note");
        assert_eq!(
            note.location.as_ref().map(|at| (at.file.as_str(), at.line)),
            Some(("b.yaml", 1))
        );
    }

    fn service<'l>(loaded: &'l Loaded, name: &str) -> &'l Value {
        &loaded.document["services"][name]
    }

    /// The only error, as `code: message @ file:line`.
    fn only_error(diagnostics: &Diagnostics) -> String {
        let errors: Vec<String> = diagnostics
            .iter()
            .filter(|d| d.severity == crate::diagnostic::Severity::Error)
            .map(|d| {
                let at = d
                    .location
                    .as_ref()
                    .map_or("?".to_string(), |l| format!("{}:{}", l.file, l.line));
                format!("{}: {} @ {at}", d.code, d.message)
            })
            .collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        errors[0].clone()
    }

    #[test]
    fn extends_chains_across_files_with_paths_rebased() {
        let (loaded, diagnostics) = load_files(
            &[
                (
                    "app/compose.yaml",
                    "services:\n  web:\n    extends: {file: lib/base.yml, service: http}\n    environment: {MODE: web}\n    ports: ['80:80']\n",
                ),
                (
                    "app/lib/base.yml",
                    "services:\n  http:\n    extends: {file: ../shared/root.yml, service: root}\n    env_file: http.env\n    ports: ['8080:80']\n",
                ),
                (
                    "app/shared/root.yml",
                    "services:\n  root:\n    image: nginx\n    environment: {MODE: root, TZ: utc}\n    volumes: ['./html:/usr/share/nginx/html']\n",
                ),
            ],
            &[],
        );
        let loaded = loaded.unwrap_or_else(|| panic!("{diagnostics:?}"));
        let web = service(&loaded, "web");
        let expected: Value = serde_yaml::from_str(
            "image: nginx\nenvironment: {MODE: web, TZ: utc}\nvolumes: ['./shared/html:/usr/share/nginx/html']\n\
             env_file: ./lib/http.env\nports: ['8080:80', '80:80']\n",
        )
        .unwrap();
        assert_eq!(*web, expected);
        let read: Vec<String> = loaded.sources.iter().map(SourceFile::display).collect();
        assert_eq!(read, ["app/compose.yaml", "app/lib/base.yml", "app/shared/root.yml"]);
    }

    #[test]
    fn extends_cycle_across_files_names_the_chain() {
        let (loaded, diagnostics) = load_files(
            &[
                (
                    "compose.yaml",
                    "services:\n  web:\n    extends: {file: other.yml, service: a}\n",
                ),
                (
                    "other.yml",
                    "services:\n  a:\n    extends: b\n  b:\n    image: x\n    extends: a\n",
                ),
            ],
            &[],
        );
        assert!(loaded.is_none());
        assert_eq!(
            only_error(&diagnostics),
            "extends-cycle: `extends` goes round in a circle: a (other.yml) → b (other.yml) → a (other.yml) @ other.yml:3"
        );
    }

    #[test]
    fn extends_of_a_missing_service_suggests_one() {
        let (_, diagnostics) = load_files(
            &[(
                "compose.yaml",
                "services:\n  base:\n    image: x\n  web:\n    extends: bsae\n",
            )],
            &[],
        );
        assert_eq!(
            only_error(&diagnostics),
            "unknown-service: `web` extends `bsae`, which is not a service of this project @ compose.yaml:5"
        );
        assert_eq!(diagnostics.0[0].help.as_deref(), Some("did you mean `base`?"));
    }

    #[test]
    fn an_included_project_has_its_own_env_under_the_including_one() {
        let (loaded, diagnostics) = load_files(
            &[
                (
                    "compose.yaml",
                    "include: [db/compose.yaml]\nservices:\n  web: {image: 'web:${TAG}'}\n",
                ),
                (".env", "TAG=1\n"),
                (
                    "db/compose.yaml",
                    "services:\n  db:\n    image: 'postgres:${TAG}'\n    environment: {NAME: '${DB_NAME}'}\n",
                ),
                ("db/.env", "TAG=16\nDB_NAME=app\n"),
            ],
            &[],
        );
        let loaded = loaded.unwrap_or_else(|| panic!("{diagnostics:?}"));
        // The including project's TAG wins; DB_NAME only the included .env has.
        assert_eq!(service(&loaded, "db")["image"], "postgres:1");
        assert_eq!(service(&loaded, "db")["environment"]["NAME"], "app");
        assert_eq!(service(&loaded, "web")["image"], "web:1");
        assert!(loaded.document.get("include").is_none());
    }

    #[test]
    fn include_cycles_are_refused_and_a_shared_file_is_not_a_conflict() {
        let (_, diagnostics) = load_files(
            &[
                (
                    "compose.yaml",
                    "include: [a/compose.yaml]\nservices:\n  web: {image: x}\n",
                ),
                (
                    "a/compose.yaml",
                    "include: [../compose.yaml]\nservices:\n  a: {image: x}\n",
                ),
            ],
            &[],
        );
        assert_eq!(
            only_error(&diagnostics),
            "include-cycle: `include` goes round in a circle: compose.yaml → a/compose.yaml → compose.yaml @ a/compose.yaml:1"
        );
        // Two included projects that both include one file bring the same definitions: no conflict.
        let (loaded, diagnostics) = load_files(
            &[
                (
                    "compose.yaml",
                    "include: [a.yaml, b.yaml]\nservices:\n  web: {image: x}\n",
                ),
                ("a.yaml", "include: [common.yaml]\nservices:\n  a: {image: x}\n"),
                ("b.yaml", "include: [common.yaml]\nservices:\n  b: {image: x}\n"),
                (
                    "common.yaml",
                    "services:\n  cache: {image: redis}\nvolumes:\n  data: {}\n",
                ),
            ],
            &[],
        );
        let loaded = loaded.unwrap_or_else(|| panic!("{diagnostics:?}"));
        let names: Vec<&str> = loaded.document["services"]
            .as_mapping()
            .unwrap()
            .keys()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(names, ["web", "a", "cache", "b"]);
    }

    #[test]
    fn two_included_files_defining_one_volume_differently_conflict() {
        let (_, diagnostics) = load_files(
            &[
                (
                    "compose.yaml",
                    "include:\n  - a.yaml\n  - path: b.yaml\nservices:\n  web: {image: x}\n",
                ),
                ("a.yaml", "volumes:\n  data: {driver: local}\n"),
                ("b.yaml", "volumes:\n  data: {}\n"),
            ],
            &[],
        );
        assert_eq!(
            only_error(&diagnostics),
            "include-conflict: volume `data` is defined by both `a.yaml` (`include[0]`) and `b.yaml`, differently @ compose.yaml:3"
        );
    }

    #[test]
    fn a_version_1_file_is_refused_at_its_first_service() {
        let (_, diagnostics) = load_files(&[("compose.yaml", "x-common: {image: x}\nweb:\n  image: nginx\n")], &[]);
        assert!(only_error(&diagnostics).starts_with("legacy-v1-format: `web` is a service at the top level"));
        assert_eq!(diagnostics.0[0].location.as_ref().map(|l| l.line), Some(2));
    }

    #[test]
    fn env_files_replace_dotenv_and_the_project_name_flag_wins() {
        let memory = MemoryFiles(
            [
                (
                    "compose.yaml",
                    "name: written\nservices:\n  web: {image: 'web:${TAG}'}\n",
                ),
                (".env", "TAG=dotenv\n"),
                ("one.env", "TAG=one\nOTHER=1\n"),
                ("two.env", "TAG=two\n"),
            ]
            .iter()
            .map(|(path, text)| (PathBuf::from(path), text.as_bytes().to_vec()))
            .collect(),
        );
        let mut input = Input {
            compose_files: vec![PathBuf::from("compose.yaml")],
            env_files: vec![PathBuf::from("one.env"), PathBuf::from("two.env")],
            project_name: Some("flag".to_string()),
            environment: [(PROJECT_NAME_VARIABLE.to_string(), "environment".to_string())].into(),
            ..Input::default()
        };
        let mut diagnostics = Diagnostics::default();
        let loaded = load(&input, &memory, &mut diagnostics).expect("it loads");
        assert_eq!(service(&loaded, "web")["image"], "web:two");
        assert_eq!(loaded.variables["OTHER"], "1");
        assert_eq!(loaded.variables[PROJECT_NAME_VARIABLE], "flag");
        input.env_files.push(PathBuf::from("missing.env"));
        assert!(load(&input, &memory, &mut diagnostics).is_err());
        assert_eq!(diagnostics.0.last().map(|d| d.code), Some("unreadable-file"));
    }

    #[test]
    fn nested_merge_keys_are_applied() {
        let mut value: Value = serde_yaml::from_str(
            "x-a: &a\n  restart: always\nx-b: &b\n  <<: *a\n  image: nginx\nservices:\n  web:\n    <<: *b\n    image: own\n",
        )
        .unwrap();
        apply_merge_keys(&mut value).unwrap();
        let web = &value["services"]["web"];
        assert_eq!(web["restart"], "always");
        assert_eq!(web["image"], "own");
        assert!(!has_merge_key(&value));
    }
}
