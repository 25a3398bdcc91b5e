//! Locating diagnostics: each key path found in the file that wrote it, following `extends`.

use super::SourceFile;
use crate::diagnostic::{Diagnostics, KeyPath, Location, Segment};
use std::collections::HashMap;

/// Where the keys of services that extend others were written, beyond their own definitions.
///
/// After `extends`, a key of `services.web` may be written under `services.base`, in this file or
/// another; the locator follows these links to find it there.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// A service → the service it extends.
    bases: HashMap<ServiceAt, ServiceAt>,
    /// Sources read only for `extends`: found only through `bases`, so that a service there with
    /// the name of one of the project's is not taken for it.
    base_only: Vec<usize>,
}

/// A service definition: in the project's own files (found by its key path), or in one source.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServiceAt {
    /// `None` for the project's files: every source but those read only for `extends`.
    pub source: Option<usize>,
    pub name: String,
}

/// How many `extends` links the locator follows: far beyond real files, and a bound on the work
/// per diagnostic.
const MAXIMUM_BASES_FOLLOWED: usize = 32;

impl Provenance {
    pub fn add_base(&mut self, service: ServiceAt, base: ServiceAt) {
        self.bases.insert(service, base);
    }

    pub fn add_base_only_source(&mut self, source: usize) {
        if !self.base_only.contains(&source) {
            self.base_only.push(source);
        }
    }

    /// A source read for `extends` that is also a part of the project (included): found by path.
    pub fn remove_base_only_source(&mut self, source: usize) {
        self.base_only.retain(|s| *s != source);
    }
}

/// Fills in the location of each diagnostic that has none, from the files' text.
/// Later files win: an override file's key is where the value came from.
pub fn locate_all(diagnostics: &mut Diagnostics, files: &[SourceFile]) {
    locate_all_with(diagnostics, files, &Provenance::default());
}

/// [`locate_all`], also looking for a service's keys in the services it extends: the deepest
/// match wins, and of equally deep ones the service's own definition.
pub fn locate_all_with(diagnostics: &mut Diagnostics, files: &[SourceFile], provenance: &Provenance) {
    let locate_in = |file: usize, path: &KeyPath| -> Option<(usize, Location)> {
        let (depth, line, column) = files[file].keys.locate(path)?;
        let location = Location {
            file: files[file].display(),
            line,
            column,
        };
        Some((depth, location))
    };
    let project_files: Vec<usize> = (0..files.len())
        .rev()
        .filter(|file| !provenance.base_only.contains(file))
        .collect();
    for diagnostic in diagnostics.0.iter_mut().filter(|d| d.location.is_none()) {
        let mut best: Option<(usize, Location)> = None;
        let mut consider = |found: Option<(usize, Location)>| {
            if let Some((depth, location)) = found {
                if best.as_ref().is_none_or(|(best_depth, _)| depth > *best_depth) {
                    best = Some((depth, location));
                }
            }
        };
        for &file in &project_files {
            consider(locate_in(file, &diagnostic.path));
        }
        if let [Segment::Key(services), Segment::Key(name), rest @ ..] = diagnostic.path.0.as_slice() {
            let mut service = ServiceAt {
                source: None,
                name: name.clone(),
            };
            let followed = if services == "services" {
                MAXIMUM_BASES_FOLLOWED
            } else {
                0
            };
            for _ in 0..followed {
                let Some(base) = provenance.bases.get(&service) else {
                    break;
                };
                let mut path = KeyPath::root().key(services.as_str()).key(base.name.as_str());
                path.0.extend(rest.iter().cloned());
                match base.source {
                    Some(file) if file < files.len() => consider(locate_in(file, &path)),
                    Some(_) => {}
                    None => project_files.iter().for_each(|&file| consider(locate_in(file, &path))),
                }
                service = base.clone();
            }
        }
        // What is about the whole project points at the start of its first file.
        let whole_file = || {
            files.first().map(|file| Location {
                file: file.display(),
                line: 1,
                column: 1,
            })
        };
        diagnostic.location = best.map(|(_, location)| location).or_else(whole_file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{Code, Diagnostic};

    #[test]
    fn follows_extends_into_the_base_and_skips_same_named_services_of_base_files() {
        let files = [
            SourceFile::new(
                "compose.yaml",
                "services:\n  web:\n    extends: {file: base.yml, service: base}\n    image: x\n",
            ),
            SourceFile::new(
                "base.yml",
                "services:\n  web:\n    ports: ['1:1']\n  base:\n    ports: ['2:2']\n",
            ),
        ];
        let mut provenance = Provenance::default();
        provenance.add_base_only_source(1);
        let web = ServiceAt {
            source: None,
            name: "web".into(),
        };
        let base = ServiceAt {
            source: Some(1),
            name: "base".into(),
        };
        provenance.add_base(web, base);
        let web = KeyPath::root().key("services").key("web");
        let mut diagnostics = Diagnostics::default();
        diagnostics.push(Diagnostic::warning(
            Code::IgnoredKey,
            web.key("ports").index(0),
            "inherited",
        ));
        diagnostics.push(Diagnostic::warning(Code::IgnoredKey, web.key("image"), "its own"));
        diagnostics.push(Diagnostic::warning(Code::IgnoredKey, web.key("nothing"), "nowhere"));
        locate_all_with(&mut diagnostics, &files, &provenance);
        let places: Vec<(String, usize, usize)> = diagnostics
            .iter()
            .map(|d| d.location.as_ref().map(|l| (l.file.clone(), l.line, l.column)).unwrap())
            .collect();
        let expected = [("base.yml", 5, 13), ("compose.yaml", 4, 5), ("compose.yaml", 2, 3)];
        assert_eq!(
            places,
            expected.map(|(file, line, column)| (file.to_string(), line, column))
        );
    }
}
