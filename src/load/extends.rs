//! `services.*.extends`: a service built on another one's settings, as the Compose Specification
//! defines it.
//!
//! `extends: base` names a service of the same file; `extends: {service: base, file: other.yml}`
//! one of another file, read for the purpose (its own `include` is not followed, and nothing but the
//! named service is taken from it: not its volumes or networks, as the specification says). The
//! base, itself resolved first (chains cross files), is merged under the service with the same
//! rules as the merge of `-f` files ([`super::merge::merge_service`]): the service's own scalars
//! win, mappings merge by key, lists append. Every setting is inherited, `depends_on` and
//! `volumes_from` included, as compose-go does.
//!
//! It runs on the document after interpolation, `include` and the merge of `-f` files, so a base
//! an override file changed is extended as changed. `file` is relative to the project folder for
//! the project's own files (the specification: "relative to the location of the main Compose
//! file") and, in an extended file, to that file's folder: its paths are rebased when it is read.
//!
//! Each service is resolved once, following its chain iteratively, so a long chain costs no
//! stack and the whole is linear in the number of services.

use super::merge::merge_service;
use super::paths::{lexical, Rebase};
use super::{Reader, Reference, Variables};
use crate::diagnostic::{did_you_mean, Code, Diagnostic, KeyPath};
use crate::load::interpolate::key_text;
use crate::source::{display_path, ServiceAt};
use serde_yaml::{Mapping, Value};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Where a service definition is: the project's merged document, or a file read for `extends`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Home {
    Project,
    /// An index into `Extends::files`.
    File(usize),
}

type Node = (Home, String);

/// A file read for `extends`: its source, and its services, interpolated and rebased.
struct ExtendedFile {
    source: usize,
    services: Mapping,
}

struct Extends<'r, 'a> {
    reader: &'r mut Reader<'a>,
    variables: &'r Variables,
    files: Vec<ExtendedFile>,
    /// Files by path, `None` when reading failed (reported once).
    file_by_path: HashMap<PathBuf, Option<usize>>,
    /// Resolved services, `None` when resolving failed (reported).
    resolved: HashMap<Node, Option<Mapping>>,
    /// The text the resolved services hold in all: each base is copied into every service that
    /// extends it, so a small file can grow by the square of its length.
    resolved_bytes: u64,
}

/// The most text the services may hold once extended: the most compose2ecs reads of one file.
/// Past it a file is amplifying itself through `extends`, not describing an app.
const MAXIMUM_RESOLVED_BYTES: u64 = crate::source::MAXIMUM_FILE_BYTES;

/// The bytes of text in a value: its keys and scalars.
fn text_bytes(value: &Value) -> usize {
    match value {
        Value::String(text) => text.len(),
        Value::Number(_) | Value::Bool(_) | Value::Null => 8,
        Value::Sequence(items) => items.iter().map(text_bytes).sum(),
        Value::Mapping(map) => map.iter().map(|(k, v)| text_bytes(k) + text_bytes(v)).sum(),
        Value::Tagged(tagged) => text_bytes(&tagged.value),
    }
}

/// Resolves `extends` in every service of `document`.
pub(super) fn resolve(reader: &mut Reader<'_>, document: &mut Mapping, variables: &Variables) {
    let Some(Value::Mapping(services)) = document.get_mut("services") else {
        return; // No services, or not a mapping: normalise says so.
    };
    // Names that are not strings are refused by normalise.
    let names: Vec<String> = services
        .iter()
        .filter(|(_, service)| service.get("extends").is_some())
        .filter_map(|(name, _)| name.as_str().map(str::to_string))
        .collect();
    if names.is_empty() {
        return;
    }
    let mut extends = Extends {
        reader,
        variables,
        files: Vec::new(),
        file_by_path: HashMap::new(),
        resolved: HashMap::new(),
        resolved_bytes: 0,
    };
    for name in &names {
        extends.resolve_chain(services, name);
        if extends.resolved_bytes > MAXIMUM_RESOLVED_BYTES {
            extends.reader.diagnostics.push(
                Diagnostic::error(
                    Code::ExtendsTooLarge,
                    services_path(name).key("extends"),
                    format!(
                        "with `extends` resolved, the services hold more than {} MiB of settings",
                        MAXIMUM_RESOLVED_BYTES / (1024 * 1024)
                    ),
                )
                .with_help("each service copies the whole of its bases: extend smaller bases, or fewer times"),
            );
            return;
        }
    }
    for name in names {
        if let Some(Some(merged)) = extends.resolved.remove(&(Home::Project, name.clone())) {
            services.insert(Value::from(name), Value::Mapping(merged));
        }
    }
}

impl Extends<'_, '_> {
    /// Follows `name`'s chain of bases to one that extends nothing (or is resolved), then resolves
    /// the chain from there back to `name`.
    fn resolve_chain(&mut self, project: &Mapping, name: &str) {
        let mut chain: Vec<Node> = vec![(Home::Project, name.to_string())];
        let mut on_chain: HashSet<Node> = chain.iter().cloned().collect();
        while let Some(node) = chain.last().cloned() {
            if self.resolved.contains_key(&node) {
                break;
            }
            let Some(extends) = self.service(project, &node).and_then(|s| s.get("extends")).cloned() else {
                break;
            };
            let Some(base) = self.base(project, &node, &extends) else {
                self.fail(&chain);
                return;
            };
            if on_chain.contains(&base) {
                let start = chain.iter().position(|n| *n == base).unwrap_or(0);
                let circle: Vec<String> = chain[start..]
                    .iter()
                    .chain([&base])
                    .map(|node| self.shown(node))
                    .collect();
                let (first_name, source) = (chain[start].1.clone(), self.source_of(chain[start].0));
                self.report(
                    source,
                    Diagnostic::error(
                        Code::ExtendsCycle,
                        services_path(&first_name).key("extends"),
                        format!("`extends` goes round in a circle: {}", circle.join(" → ")),
                    )
                    .with_help("a service cannot extend itself, directly or through its bases"),
                );
                self.fail(&chain);
                return;
            }
            self.reader
                .provenance
                .add_base(self.service_at(&node), self.service_at(&base));
            on_chain.insert(base.clone());
            chain.push(base);
        }
        // From the root base back to `name`: each merges its own settings over its base's.
        for index in (0..chain.len()).rev() {
            let node = &chain[index];
            if self.resolved.contains_key(node) {
                continue;
            }
            let mut own = self.service(project, node).cloned().unwrap_or_default();
            let merged = match own.remove("extends") {
                None => Some(own),
                Some(_) => match self.resolved.get(&chain[index + 1]) {
                    Some(Some(base)) => {
                        let mut merged = base.clone();
                        merge_service(&mut merged, own);
                        self.resolved_bytes +=
                            merged.iter().map(|(k, v)| text_bytes(k) + text_bytes(v)).sum::<usize>() as u64;
                        Some(merged)
                    }
                    _ => None,
                },
            };
            self.resolved.insert(node.clone(), merged);
            if self.resolved_bytes > MAXIMUM_RESOLVED_BYTES {
                return; // Reported by the caller; copying on would cost what the limit prevents.
            }
        }
    }

    /// Marks the unresolved services of a chain as failed (the failure is reported).
    fn fail(&mut self, chain: &[Node]) {
        for node in chain {
            self.resolved.entry(node.clone()).or_insert(None);
        }
    }

    /// The definition of a service, as written (a service written `web:` with nothing is empty).
    fn service<'m>(&'m self, project: &'m Mapping, (home, name): &Node) -> Option<&'m Mapping> {
        let services = match home {
            Home::Project => project,
            Home::File(file) => &self.files[*file].services,
        };
        services.get(name.as_str()).and_then(Value::as_mapping)
    }

    fn source_of(&self, home: Home) -> Option<usize> {
        match home {
            Home::Project => None,
            Home::File(file) => Some(self.files[file].source),
        }
    }

    fn service_at(&self, (home, name): &Node) -> ServiceAt {
        ServiceAt {
            source: self.source_of(*home),
            name: name.clone(),
        }
    }

    /// A service as the cycle message names it: with its file when it is not the project's.
    fn shown(&self, (home, name): &Node) -> String {
        match self.source_of(*home) {
            None => name.clone(),
            Some(source) => format!("{name} ({})", self.reader.sources[source].display()),
        }
    }

    /// Reports a diagnostic about a key path of `source` (`None`: the project's files).
    fn report(&mut self, source: Option<usize>, diagnostic: Diagnostic) {
        match source {
            Some(source) => self.reader.report_in(source, diagnostic),
            None => self.reader.diagnostics.push(diagnostic),
        }
    }

    /// The service `extends` names, read (and its file loaded); `None` after an error.
    fn base(&mut self, project: &Mapping, node: &Node, extends: &Value) -> Option<Node> {
        let (home, name) = node;
        let source = self.source_of(*home);
        let at = services_path(name).key("extends");
        let (base_name, file, name_at) = match extends {
            Value::String(base) => (base.clone(), None, at.clone()),
            Value::Mapping(long) => {
                for key in long.keys().map(key_text) {
                    if crate::support::verdict(&format!("services.*.extends.{key}")).is_none() {
                        let unknown = crate::support::unknown_key(&key, "services.*.extends", &at);
                        self.report(source, unknown);
                        return None;
                    }
                }
                let file = match long.get("file") {
                    None => None,
                    Some(Value::String(file)) => Some(file.clone()),
                    Some(other) => {
                        self.wrong_type(source, &at.key("file"), other, "a file path");
                        return None;
                    }
                };
                match long.get("service") {
                    Some(Value::String(base)) => (base.clone(), file, at.key("service")),
                    Some(other) => {
                        self.wrong_type(source, &at.key("service"), other, "a service name");
                        return None;
                    }
                    None => {
                        self.report(
                            source,
                            Diagnostic::error(Code::MissingKey, at.clone(), format!("`{at}` has no `service`"))
                                .with_help("name the service to extend: `extends: {service: base, file: common.yml}`"),
                        );
                        return None;
                    }
                }
            }
            other => {
                self.wrong_type(source, &at, other, "a service name or `{service: NAME, file: FILE}`");
                return None;
            }
        };
        let base_home = match file {
            None => *home,
            Some(file) => Home::File(self.file(&file, source, &at.key("file"))?),
        };
        let base = (base_home, base_name);
        // `base:` with nothing under it is a service with no settings, as in compose.
        let written = match base_home {
            Home::Project => project.get(base.1.as_str()),
            Home::File(file) => self.files[file].services.get(base.1.as_str()),
        };
        if written.is_some_and(|service| service.is_mapping() || service.is_null()) {
            return Some(base);
        }
        let services = match base_home {
            Home::Project => project,
            Home::File(file) => &self.files[file].services,
        };
        let exists = services.contains_key(base.1.as_str());
        let suggestion = did_you_mean(&base.1, services.keys().filter_map(Value::as_str)).map(str::to_string);
        let help = match suggestion {
            Some(known) => format!("did you mean `{known}`?"),
            None if exists => "the service to extend must be a mapping of settings".to_string(),
            None => "name a service defined in that file".to_string(),
        };
        let place = match base_home {
            Home::Project => "this project".to_string(),
            Home::File(file) => format!("`{}`", self.reader.sources[self.files[file].source].display()),
        };
        let message = if exists {
            format!("`{name}` extends `{}`, which has no settings in {place}", base.1)
        } else {
            format!("`{name}` extends `{}`, which is not a service of {place}", base.1)
        };
        self.report(
            source,
            Diagnostic::error(Code::UnknownService, name_at, message).with_help(help),
        );
        None
    }

    /// Reads a file `extends` names (once), relative to the project folder; `None` after an error.
    fn file(&mut self, file: &str, from: Option<usize>, at: &KeyPath) -> Option<usize> {
        let path = lexical(&self.reader.project_dir.join(file));
        if let Some(known) = self.file_by_path.get(&path) {
            return *known;
        }
        let read = self.read_file(&path, from, at);
        self.file_by_path.insert(path, read);
        read
    }

    fn read_file(&mut self, path: &Path, from: Option<usize>, at: &KeyPath) -> Option<usize> {
        // A file of the project's own (included, or given with `-f`) stays one: found by path.
        let already = self.reader.source_index(path);
        let reference = Reference {
            source: from,
            at,
            help: "`file` is relative to the folder of the first compose file, or of the file that extends",
        };
        let (source, mut root) = self.reader.read_document(path, self.variables, Some(reference))?;
        if already.is_none() {
            self.reader.provenance.add_base_only_source(source);
        }
        let services = match root.remove("services") {
            Some(Value::Mapping(services)) => services,
            _ => {
                let shown = display_path(path);
                self.report(
                    from,
                    Diagnostic::error(
                        Code::UnknownService,
                        at.clone(),
                        format!("`{shown}` has no `services` to extend"),
                    )
                    .with_help("`file` names a compose file with a `services:` section"),
                );
                return None;
            }
        };
        let mut services = services;
        let folder = path.parent().unwrap_or(Path::new(""));
        if let Some(rebase) = Rebase::new(folder, &self.reader.project_dir) {
            for service in services.values_mut() {
                if let Value::Mapping(service) = service {
                    rebase.service(service);
                }
            }
        }
        self.files.push(ExtendedFile { source, services });
        Some(self.files.len() - 1)
    }

    fn wrong_type(&mut self, source: Option<usize>, path: &KeyPath, value: &Value, expected: &str) {
        match source {
            Some(source) => self.reader.wrong_type(source, path, value, expected),
            None => self.reader.diagnostics.push(super::wrong_type(path, value, expected)),
        }
    }
}

fn services_path(name: &str) -> KeyPath {
    KeyPath::root().key("services").key(name)
}
