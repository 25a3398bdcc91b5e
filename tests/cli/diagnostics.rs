//! How the binary prints diagnostics: JSON lines with `--message-format json`, and its own
//! diagnostics as the conversion's.

use super::*;

#[test]
fn diagnostics_as_json_lines_for_ci_and_editors() {
    let case = case_with(b"services:\n  web:\n    image: a\n    prots: []\n");
    let output = compose2ecs(case.path(), &["convert", "--message-format", "json", "-o", "out"]);
    assert_eq!(output.status.code(), Some(1));
    let line = stderr(&output).lines().next().unwrap_or_default().to_string();
    let diagnostic: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
    assert_eq!(diagnostic["code"], "unknown-key");
    assert_eq!(diagnostic["severity"], "error");
    assert_eq!(diagnostic["path"], "services.web.prots");
    assert_eq!(diagnostic["location"]["line"], 4);
    assert_eq!(diagnostic["location"]["column"], 5);
    assert_eq!(diagnostic["help"], "did you mean `ports`?");
    // Every field is there on every line: `also` empty, a whole-document path empty.
    assert_eq!(diagnostic["also"], serde_json::json!([]));
    let empty = tempfile::tempdir().unwrap();
    let none = compose2ecs(empty.path(), &["convert", "--message-format", "json"]);
    let line = stderr(&none).lines().next().unwrap_or_default().to_string();
    let diagnostic: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
    assert_eq!(
        (diagnostic["code"].as_str(), diagnostic["path"].as_str()),
        (Some("no-compose-file"), Some(""))
    );
}

/// What the CLI finds itself (no compose file, an unreadable `--stack-outputs` file, a file in
/// the output folder that is not compose2ecs's) is a diagnostic like the conversion's: printed by
/// the same renderer, and a JSON line with `--message-format json`.
#[test]
fn the_clis_own_diagnostics_are_printed_as_the_conversions_are() {
    let json = ["--message-format", "json"];
    let empty = tempfile::tempdir().unwrap();
    let none = compose2ecs(empty.path(), &["convert", json[0], json[1]]);
    assert_eq!(none.status.code(), Some(1));
    let found = json_diagnostics(&none);
    assert_eq!(found.len(), 1, "{}", stderr(&none));
    assert_eq!(found[0]["code"], "no-compose-file");
    assert_eq!(found[0]["severity"], "error");
    assert!(found[0]["help"].as_str().unwrap().contains("compose.yaml"));

    let case = case_with(b"services:\n  web:\n    image: nginx\n");
    let unread = compose2ecs(
        case.path(),
        &["convert", "--stack-outputs", "missing.json", json[0], json[1]],
    );
    assert_eq!(unread.status.code(), Some(1));
    let found = json_diagnostics(&unread);
    assert_eq!(found.len(), 1, "{}", stderr(&unread));
    assert_eq!(found[0]["code"], "stack-outputs");
    assert!(found[0]["message"].as_str().unwrap().contains("missing.json"));

    assert!(compose2ecs(case.path(), &["convert"]).status.success());
    fs::write(case.path().join("ecs/taskdefs/stray.json"), "{}").unwrap();
    let human = stderr(&compose2ecs(case.path(), &["convert"]));
    assert!(
        human.contains("warning[not-ours]: `ecs/taskdefs/stray.json` is in a folder compose2ecs generates")
            && human.contains("= help: the manifest"),
        "{human}"
    );
    let converted = compose2ecs(case.path(), &["convert", json[0], json[1]]);
    assert!(converted.status.success(), "{}", stderr(&converted));
    let found = json_diagnostics(&converted);
    let not_ours: Vec<_> = found.iter().filter(|d| d["code"] == "not-ours").collect();
    assert_eq!(not_ours.len(), 1, "{}", stderr(&converted));
    assert_eq!(not_ours[0]["severity"], "warning");
    let checked = compose2ecs(case.path(), &["convert", "--check", json[0], json[1]]);
    assert_eq!(checked.status.code(), Some(1));
    let found = json_diagnostics(&checked);
    let not_ours: Vec<_> = found.iter().filter(|d| d["code"] == "not-ours").collect();
    assert_eq!(not_ours.len(), 1, "{}", stderr(&checked));
    assert_eq!(not_ours[0]["severity"], "error");
}

/// Past ten of one code, a project's diagnostics are counted in one line (every one with `-v`,
/// and in JSON), and a long creation order names its first services and says where the rest are.
#[test]
fn many_diagnostics_of_one_code_are_counted_and_a_long_order_is_cut() {
    let mut compose = String::from("x-ecs: {region: eu-west-1}\nservices:\n");
    for i in 0..25 {
        // Each its own message: the same message in several places is one diagnostic already.
        compose.push_str(&format!(
            "  s{i:02}:\n    image: app:1\n    environment: {{S{i:02}_API_TOKEN: value-{i}}}\n"
        ));
    }
    let case = case_with(compose.as_bytes());
    let plain = stderr(&compose2ecs(case.path(), &["convert", "-o", "out"]));
    assert_eq!(plain.matches("warning[plain-secret]: `S").count(), 10, "{plain}");
    assert!(
        plain.contains("warning[plain-secret]: 15 more like these, not shown"),
        "{plain}"
    );
    assert!(
        plain.contains(", and 5 more (every one in order: `compose2ecs plan --format json`"),
        "{plain}"
    );
    let verbose = stderr(&compose2ecs(case.path(), &["convert", "-v", "-o", "out"]));
    assert_eq!(verbose.matches("warning[plain-secret]: `S").count(), 25);
    assert!(!verbose.contains("more like these"));
    let json = compose2ecs(case.path(), &["convert", "--message-format", "json", "-o", "out"]);
    let secrets = json_diagnostics(&json)
        .into_iter()
        .filter(|d| d["code"] == "plain-secret")
        .count();
    assert_eq!(secrets, 25);
}
