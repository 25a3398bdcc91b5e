//! Tests of the real binary: files written, exit codes, where diagnostics point, determinism.
//! One test binary (`cargo test --test cli`): each module holds one concern, and this file the
//! helpers they share.

mod conversion;
mod deploy;
mod diagnostics;
mod output_folder;
mod plan;
mod refusals;
mod secrets;
mod tooling;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn compose2ecs(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_compose2ecs"))
        .args(args)
        .current_dir(cwd)
        .env_remove("MONGODB_PASSWORD")
        .output()
        .expect("the binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A copy of `testdata/<case>` in a fresh temporary folder.
fn copy_case(case: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata").join(case),
        dir.path(),
    );
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Every file under `dir`, by relative path, with its bytes.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push((path.strip_prefix(dir).unwrap().to_path_buf(), fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

/// A case folder holding `compose.yaml` with `text`.
fn case_with(text: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("compose.yaml"), text).unwrap();
    dir
}

/// Runs convert on `text` and requires a refusal: exit 1, nothing written, and each of `expected`
/// in the message.
fn refused_with(text: &[u8], expected: &[&str]) {
    let case = case_with(text);
    let output = compose2ecs(case.path(), &["convert", "-o", "out"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    for part in expected {
        assert!(err.contains(part), "expected `{part}` in:\n{err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    assert!(!case.path().join("out").exists(), "nothing is written");
}

#[cfg(unix)]
fn is_root() -> bool {
    fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
    })
}

/// Converts `case` with every note shown and checks none of `values` is in the messages, in any
/// view of the plan or in any written file; returns the messages.
fn assert_values_stay_out(case: &str, values: &[&str]) -> String {
    assert_values_stay_out_of(case, values, &[])
}

/// As [`assert_values_stay_out`], and none of `unwritable` (passwords where ECS reads no secret,
/// which the task definitions must hold) is in the messages or any view of the plan.
fn assert_values_stay_out_of(case: &str, values: &[&str], unwritable: &[&str]) -> String {
    let case = copy_case(case);
    let output = compose2ecs(case.path(), &["convert", "-v"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let messages = stderr(&output) + &String::from_utf8_lossy(&output.stdout);
    let written = tree(&case.path().join("ecs"));
    assert!(written.len() > 4, "the output was written");
    let mut plans = Vec::new();
    for format in ["table", "json", "mermaid"] {
        let plan = compose2ecs(case.path(), &["plan", "-v", "--format", format]);
        assert!(plan.status.success(), "{}", stderr(&plan));
        plans.push((format, stderr(&plan) + &String::from_utf8_lossy(&plan.stdout)));
    }
    for value in values.iter().chain(unwritable) {
        assert!(!messages.contains(value), "{value} in the messages");
        for (format, plan) in &plans {
            assert!(!plan.contains(value), "{value} in the {format} plan");
        }
    }
    for value in values {
        for (path, bytes) in &written {
            assert!(
                !String::from_utf8_lossy(bytes).contains(value),
                "{value} in {}",
                path.display()
            );
        }
    }
    messages
}

/// The JSON lines of `--message-format json` on stderr that are diagnostics.
fn json_diagnostics(output: &Output) -> Vec<serde_json::Value> {
    stderr(output)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|value| value.get("code").is_some())
        .collect()
}
