//! The README stays true to the code: its conversion table is the support table, its table of
//! diagnostic codes is the `Code` enum, and each code is reported as the table says.

use compose2ecs::diagnostic::{code, Code, Severity};
use std::fs;
use std::path::Path;

/// Checks that the part of README.md between `name`'s markers is `generated`; with
/// `UPDATE_README` set, rewrites it instead.
fn generated_part(name: &str, generated: &str, source: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = fs::read_to_string(&path).unwrap();
    let start_marker = format!("<!-- {name}:start -->\n");
    let end_marker = format!("<!-- {name}:end -->");
    let start = readme.find(&start_marker).expect("README has the start marker") + start_marker.len();
    let end = readme.find(&end_marker).expect("README has the end marker");
    if readme[start..end] != *generated {
        if std::env::var_os("UPDATE_README").is_some() {
            fs::write(&path, format!("{}{generated}{}", &readme[..start], &readme[end..])).unwrap();
        } else {
            panic!("README's {name} table differs from {source}; run `UPDATE_README=1 cargo test --test readme`");
        }
    }
}

#[test]
fn conversion_table_matches_the_support_table() {
    generated_part(
        "conversion-table",
        &compose2ecs::support::markdown_table(),
        "src/support/table.rs",
    );
}

#[test]
fn migration_table_matches_the_extensions_list() {
    generated_part(
        "migration-table",
        &compose2ecs::support::extensions::markdown_table(),
        "src/support/extensions.rs",
    );
}

#[test]
fn diagnostic_codes_table_matches_the_code_enum() {
    generated_part("diagnostic-codes", &code::markdown_table(), "src/diagnostic/code.rs");
}

/// Every Rust source file under `src`, with its path, without its tests (which may report any
/// code as anything).
fn sources() -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut pending = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = fs::read_to_string(&path).unwrap();
                let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
                files.push((path.display().to_string(), code.to_string()));
            }
        }
    }
    files.sort();
    files
}

/// The code `text` starts with, `Code::Variant`.
fn code_at(text: &str) -> Option<Code> {
    let rest = text.trim_start().strip_prefix("Code::")?;
    let name: String = rest.chars().take_while(char::is_ascii_alphanumeric).collect();
    Code::ALL.iter().copied().find(|code| format!("{code:?}") == name)
}

/// What the sources report: each code given to a call that says its severity.
fn reported() -> Vec<(Code, Severity, String)> {
    const CALLS: &[(&str, Severity)] = &[
        ("Diagnostic::error(", Severity::Error),
        ("Diagnostic::warning(", Severity::Warning),
        ("Diagnostic::note(", Severity::Note),
        ("self.error(", Severity::Error),
        ("reader.error(", Severity::Error),
    ];
    let mut found = Vec::new();
    for (path, text) in sources() {
        for (call, severity) in CALLS {
            for (at, _) in text.match_indices(call) {
                if let Some(code) = code_at(&text[at + call.len()..]) {
                    let line = text[..at].lines().count();
                    found.push((code, *severity, format!("{path}:{line}")));
                }
            }
        }
    }
    found
}

#[test]
fn every_code_is_reported_with_a_severity_the_table_gives() {
    let reported = reported();
    assert!(reported.len() > 150, "the scan finds the calls: {}", reported.len());
    let wrong: Vec<String> = reported
        .iter()
        .filter(|(code, severity, _)| !code.severities().contains(severity))
        .map(|(code, severity, at)| format!("{at}: {code} as {}", severity.as_str()))
        .collect();
    assert!(
        wrong.is_empty(),
        "reported with a severity src/diagnostic/code.rs does not give: {wrong:#?}"
    );
    // A code may be reported with a severity decided at run time (`Diagnostic::new`).
    let named: Vec<Code> = sources()
        .iter()
        .filter(|(path, _)| !path.ends_with("code.rs"))
        .flat_map(|(_, text)| text.match_indices("Code::").filter_map(|(at, _)| code_at(&text[at..])))
        .collect();
    let unused: Vec<&str> = Code::ALL
        .iter()
        .filter(|code| !named.contains(code))
        .map(|code| code.as_str())
        .collect();
    assert!(unused.is_empty(), "codes nothing reports: {unused:?}");
}

/// The GitHub Actions workflow of "In CI": it parses, it deploys from the main branch with OIDC
/// credentials, and each `compose2ecs` command in it is one the CLI takes (clap checks every
/// argument before it sees `--help`, and then prints the help and exits 0).
#[test]
fn the_ci_workflow_parses_and_its_commands_exist() {
    let readme = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = &readme[readme.find("### In CI").expect("the CI section")..];
    let start = section.find("```yaml\n").expect("a workflow") + "```yaml\n".len();
    let workflow = &section[start..start + section[start..].find("```").unwrap()];
    let parsed: serde_yaml::Value = serde_yaml::from_str(workflow).expect("the workflow parses");
    assert_eq!(parsed["permissions"]["id-token"], "write", "OIDC needs id-token: write");
    let steps = parsed["jobs"]["ecs"]["steps"].as_sequence().expect("steps");
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    let commands: Vec<Vec<&str>> = runs
        .iter()
        .flat_map(|run| run.lines())
        .map(|line| line.split('#').next().unwrap().split_whitespace().collect::<Vec<_>>())
        .filter(|words| words.first() == Some(&"compose2ecs"))
        .collect();
    let subcommands: Vec<&str> = commands.iter().map(|words| words[1]).collect();
    assert_eq!(subcommands, ["convert", "deploy"]);
    let deploy = steps
        .iter()
        .find(|s| s["run"].as_str().is_some_and(|r| r.starts_with("compose2ecs deploy")))
        .unwrap();
    assert_eq!(
        deploy["if"], "github.ref == 'refs/heads/main'",
        "deploy runs on main only"
    );
    for words in commands {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_compose2ecs"))
            .args(&words[1..])
            .arg("--help")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "`{}`: {}",
            words.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
