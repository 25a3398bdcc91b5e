//! The shared corpus of real compose files (`../shared/corpus`, when it is there): every file either
//! converts or is refused with a located diagnostic, and none panics. Prints the numbers; the
//! README keeps them. The corpus is not part of the project (its files have their own licences).

use compose2ecs::diagnostic::Severity;
use compose2ecs::source::FileSystem;
use compose2ecs::{convert, Input};
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

#[test]
fn every_corpus_file_converts_or_is_refused_with_a_place() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let Ok(index) = fs::read_to_string(corpus.join("index.tsv")) else {
        eprintln!("no ../shared/corpus here: skipped");
        return;
    };
    let mut converted = 0;
    let mut refused: BTreeMap<&'static str, usize> = BTreeMap::new();
    for line in index.lines().skip(1) {
        let Some(relative) = line.split('\t').next().filter(|r| !r.is_empty()) else {
            continue;
        };
        let path = corpus.join(relative);
        let input = Input {
            compose_files: vec![path.clone()],
            directory_name: path
                .parent()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            ..Input::default()
        };
        let conversion = convert(&input, &FileSystem).unwrap_or_else(|e| panic!("{relative}: {e}"));
        if conversion.is_refused(false) {
            let first = conversion.diagnostics.iter().find(|d| d.severity == Severity::Error);
            let first = first.unwrap_or_else(|| panic!("{relative}: refused without an error"));
            for diagnostic in conversion.diagnostics.iter().filter(|d| d.severity != Severity::Note) {
                assert!(
                    diagnostic.location.is_some(),
                    "{relative}: no location for {diagnostic}"
                );
            }
            *refused.entry(first.code).or_default() += 1;
        } else {
            assert!(!conversion.output.is_empty(), "{relative}: converted to nothing");
            converted += 1;
        }
    }
    let total = converted + refused.values().sum::<usize>();
    eprintln!(
        "corpus: {total} files, {converted} converted, {} refused",
        total - converted
    );
    for (code, count) in &refused {
        eprintln!("  refused, first error {code}: {count}");
    }
    assert!(total > 1000, "the corpus index was read");
}
