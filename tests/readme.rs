//! The README stays true to the code: its conversion table is the support table, and every
//! diagnostic code the code can emit is listed in it.

use std::fs;
use std::path::Path;

const START: &str = "<!-- conversion-table:start -->\n";
const END: &str = "<!-- conversion-table:end -->";

#[test]
fn conversion_table_matches_the_support_table() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = fs::read_to_string(&path).unwrap();
    let start = readme.find(START).expect("README has the table start marker") + START.len();
    let end = readme.find(END).expect("README has the table end marker");
    let table = compose2ecs::support::markdown_table();
    if readme[start..end] != table {
        if std::env::var_os("UPDATE_README").is_some() {
            fs::write(&path, format!("{}{table}{}", &readme[..start], &readme[end..])).unwrap();
        } else {
            panic!(
                "README's conversion table differs from src/support/table.rs; run `UPDATE_README=1 cargo test --test readme`"
            );
        }
    }
}

/// The kebab-case codes in `Diagnostic::error("code", …)`-like calls in the sources.
fn emitted_codes() -> Vec<String> {
    const CALLS: &[&str] = &[
        "Diagnostic::error(",
        "Diagnostic::warning(",
        "Diagnostic::note(",
        "self.error(",
        "reader.error(",
        "eprintln!(\"error[",
    ];
    let mut codes = Vec::new();
    let mut pending = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let text = fs::read_to_string(&path).unwrap();
            for call in CALLS {
                for (at, _) in text.match_indices(call) {
                    let rest = text[at + call.len()..].trim_start();
                    let quoted = if call.ends_with('[') {
                        rest
                    } else {
                        let Some(quoted) = rest.strip_prefix('"') else { continue };
                        quoted
                    };
                    let Some(end) = quoted.find(['"', ']']) else { continue };
                    let code = &quoted[..end];
                    let kebab = code
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
                    if kebab && !codes.iter().any(|c| c == code) {
                        codes.push(code.to_string());
                    }
                }
            }
        }
    }
    codes.sort();
    codes
}

#[test]
fn every_diagnostic_code_is_documented() {
    let readme = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let codes = emitted_codes();
    assert!(codes.len() > 30, "the scan finds the codes: {codes:?}");
    let missing: Vec<&String> = codes
        .iter()
        .filter(|code| !readme.contains(&format!("| `{code}` |")))
        .collect();
    assert!(
        missing.is_empty(),
        "codes missing from the README's diagnostics table: {missing:?}"
    );
    let table = readme
        .split_once("| code | severity | meaning |")
        .and_then(|(_, rest)| rest.split_once("\n\n"))
        .expect("README has the diagnostics table")
        .0;
    let stale: Vec<&str> = table
        .lines()
        .filter_map(|line| line.strip_prefix("| `")?.split_once("` | ").map(|(code, _)| code))
        .filter(|code| !codes.iter().any(|c| c == code))
        .collect();
    assert!(stale.is_empty(), "the README documents codes nothing emits: {stale:?}");
}
