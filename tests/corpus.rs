//! The shared corpus of real compose files (`../shared/corpus`, when it is there): every file either
//! converts or is refused with a located diagnostic, and none panics. Prints the numbers and the
//! slowest files; the README keeps the numbers. The corpus is not part of the project (its files
//! have their own licences).
//!
//! Ignored by `cargo test`, of whose time it took about a third: `.ci/corpus_check` (run by
//! `.ci/run`) runs it with `--ignored`, or run `cargo test --test corpus -- --ignored --nocapture`.
//!
//! With `COMPOSE2ECS_CORPUS_OUT=DIR`, each converted output is written by the CLI's own writer to
//! `DIR/<corpus path>/`, and `DIR/results.tsv` gets one line per file as soon as it is done, so
//! `.ci/corpus_check` can check every output with AWS's models and name a file that hangs.

use compose2ecs::diagnostic::{Diagnostic, Severity};
use compose2ecs::source::FileSystem;
use compose2ecs::write::{write_output, RunRecords};
use compose2ecs::{convert, Conversion, Input};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

/// The environment variable naming the folder the outputs go to.
const OUT_VARIABLE: &str = "COMPOSE2ECS_CORPUS_OUT";
/// The header of `results.tsv`; `.ci/corpus_check` reads the columns by these names.
const RESULTS_HEADER: &str = "path\toutcome\tcode\tlocation\tmessage\tmilliseconds";
/// How many of the slowest files are printed.
const SLOWEST_SHOWN: usize = 5;

/// Converts one corpus file as the CLI would in its folder, timed; a panic is caught so that
/// every file that panics is named, not only the first.
fn convert_file(path: &Path) -> (Duration, Result<Conversion, String>) {
    let input = Input {
        compose_files: vec![path.to_path_buf()],
        directory_name: Some(
            path.parent()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ),
        ..Input::default()
    };
    let started = Instant::now();
    let conversion = catch_unwind(AssertUnwindSafe(|| convert(&input, &FileSystem)));
    let elapsed = started.elapsed();
    let conversion = match conversion {
        Ok(Ok(conversion)) => Ok(conversion),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("panicked (the message is above)".to_string()),
    };
    (elapsed, conversion)
}

#[test]
#[ignore = "converts the shared corpus; .ci/corpus_check runs it"]
fn every_corpus_file_converts_or_is_refused_with_a_place() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let Ok(index) = fs::read_to_string(corpus.join("index.tsv")) else {
        // Written past the test harness's capture, which hides what a passing test prints: a run
        // that checked nothing must say so.
        let _ = writeln!(
            std::io::stderr(),
            "corpus: no {} here: skipped, nothing checked",
            corpus.join("index.tsv").display()
        );
        return;
    };
    let out = std::env::var_os(OUT_VARIABLE).map(PathBuf::from);
    let records = RunRecords::of_user();
    let mut results = out.as_ref().map(|out| {
        fs::create_dir_all(out).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
        let mut results = File::create(out.join("results.tsv")).expect("results.tsv can be created");
        writeln!(results, "{RESULTS_HEADER}").expect("results.tsv can be written");
        results
    });
    // Locations are shown relative to the corpus, as its index names the files.
    let corpus_prefix = format!("{}/", corpus.display());
    let mut converted = 0;
    let mut refused: BTreeMap<_, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut times = Vec::new();
    for line in index.lines().skip(1) {
        let Some(relative) = line.split('\t').next().filter(|r| !r.is_empty()) else {
            continue;
        };
        // The path names a folder under `out` too, so it must stay inside it.
        assert!(
            Path::new(relative)
                .components()
                .all(|c| matches!(c, Component::Normal(_))),
            "{relative}: index.tsv paths are relative, without `..`"
        );
        let (elapsed, conversion) = convert_file(&corpus.join(relative));
        times.push((elapsed, relative));
        let conversion = match conversion {
            Ok(conversion) => conversion,
            Err(problem) => {
                failures.push(format!("{relative}: {problem}"));
                continue;
            }
        };
        let result = if conversion.is_refused(false) {
            match check_refusal(&conversion) {
                Ok(first) => {
                    *refused.entry(first.code).or_default() += 1;
                    Outcome::Refused(first)
                }
                Err(problem) => {
                    failures.push(format!("{relative}: {problem}"));
                    continue;
                }
            }
        } else if conversion.output.is_empty() {
            failures.push(format!("{relative}: converted to nothing"));
            continue;
        } else {
            converted += 1;
            if let Some(out) = &out {
                if let Err(e) = write_output(&out.join(relative), &conversion.output, &records) {
                    failures.push(format!("{relative}: the output could not be written: {e}"));
                }
            }
            Outcome::Converted
        };
        if let Some(results) = &mut results {
            writeln!(
                results,
                "{relative}\t{}\t{}",
                result.columns(&corpus_prefix),
                elapsed.as_millis()
            )
            .expect("results.tsv can be written");
        }
    }
    let total = converted + refused.values().sum::<usize>() + failures.len();
    eprintln!(
        "corpus: {total} files, {converted} converted, {} refused",
        refused.values().sum::<usize>()
    );
    for (code, count) in &refused {
        eprintln!("  refused, first error {code}: {count}");
    }
    print_slowest(&mut times);
    assert!(
        failures.is_empty(),
        "{} files failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(total > 1000, "the corpus index was read");
}

/// What became of one file, as `results.tsv` records it.
enum Outcome<'a> {
    Converted,
    Refused(&'a Diagnostic),
}

impl Outcome<'_> {
    /// The `outcome`, `code`, `location` and `message` columns, tab-separated; file names lose
    /// `corpus_prefix`.
    fn columns(&self, corpus_prefix: &str) -> String {
        match self {
            Outcome::Converted => "converted\t\t\t".to_string(),
            Outcome::Refused(error) => {
                let location = match &error.location {
                    Some(at) => {
                        let file = at.file.strip_prefix(corpus_prefix).unwrap_or(&at.file);
                        format!("{file}:{}:{} ({})", at.line, at.column, error.path)
                    }
                    None => error.path.to_string(),
                };
                format!(
                    "refused\t{}\t{}\t{}",
                    error.code,
                    one_cell(&location),
                    one_cell(&error.message)
                )
            }
        }
    }
}

/// A refusal must say why (an error) and where (every error and warning has a location).
/// Returns the first error.
fn check_refusal(conversion: &Conversion) -> Result<&Diagnostic, String> {
    let first = conversion.diagnostics.iter().find(|d| d.severity == Severity::Error);
    let first = first.ok_or("refused without an error")?;
    match conversion
        .diagnostics
        .iter()
        .find(|d| d.severity != Severity::Note && d.location.is_none())
    {
        Some(unlocated) => Err(format!("no location for {unlocated}")),
        None => Ok(first),
    }
}

/// Text for one TSV cell: tabs and line breaks become spaces.
fn one_cell(text: &str) -> String {
    text.replace(['\t', '\n', '\r'], " ")
}

/// Prints the slowest conversions: a file that nearly hangs shows here (speed itself is for the
/// benchmarks, so nothing is asserted).
fn print_slowest(times: &mut [(Duration, &str)]) {
    times.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let total: Duration = times.iter().map(|(elapsed, _)| *elapsed).sum();
    eprintln!("  conversion time: {} ms in all; the slowest:", total.as_millis());
    for (elapsed, relative) in times.iter().take(SLOWEST_SHOWN) {
        eprintln!("    {:>6} ms  {relative}", elapsed.as_millis());
    }
}
