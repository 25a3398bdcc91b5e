//! Other tools' extension keys in their own test fixtures (`../shared/corpus`'s folders of Docker's
//! ECS integration, ECS ComposeX and Defang, when the corpus is there): each one is converted or
//! reported where it is written; none is dropped in silence.

use compose2ecs::diagnostic::Code;
use compose2ecs::source::FileSystem;
use compose2ecs::support::extensions::foreign;
use compose2ecs::support::{verdict, Verdict};
use compose2ecs::{convert, Input};
use serde_yaml::Value;
use std::fs;
use std::io::Write;
use std::path::Path;

/// The corpus folders written for those tools.
const FOLDERS: &[&str] = &[
    "docker__compose-cli/",
    "compose-x__ecs_composex/",
    "DefangLabs__defang/",
];

/// `x-` keys of the fixtures that are a user's own, as compose leaves them: silent.
const USERS_OWN: &[&str] = &["x-unsupported"];

/// Each `x-` key of `document` where compose2ecs reads keys (and every key of a service's `x-ecs`,
/// where ComposeX writes its own), as (its dotted path, its parent's support-table pattern, name).
fn extension_keys(document: &Value) -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    let mut keys_of = |value: &Value, path: &str, pattern: &str, every: bool| {
        for key in value.as_mapping().into_iter().flat_map(|m| m.keys()) {
            let name = key.as_str().unwrap_or_default().to_string();
            if every || name.starts_with("x-") {
                let at = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                };
                found.push((at, pattern.to_string(), name));
            }
        }
    };
    keys_of(document, "", "", false);
    for section in ["secrets", "networks", "volumes"] {
        for (name, item) in document[section].as_mapping().into_iter().flatten() {
            let name = name.as_str().unwrap_or_default();
            keys_of(item, &format!("{section}.{name}"), &format!("{section}.*"), false);
        }
    }
    for (name, service) in document["services"].as_mapping().into_iter().flatten() {
        let at = format!("services.{}", name.as_str().unwrap_or_default());
        keys_of(service, &at, "services.*", false);
        keys_of(&service["deploy"], &format!("{at}.deploy"), "services.*.deploy", false);
        keys_of(
            &service["deploy"]["update_config"],
            &format!("{at}.deploy.update_config"),
            "services.*.deploy.update_config",
            false,
        );
        keys_of(&service["x-ecs"], &format!("{at}.x-ecs"), "services.*.x-ecs", true);
        for (index, port) in service["ports"].as_sequence().into_iter().flatten().enumerate() {
            keys_of(port, &format!("{at}.ports[{index}]"), "services.*.ports[]", false);
        }
    }
    found
}

#[test]
fn no_extension_key_of_another_tool_is_dropped_in_silence() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let Ok(index) = fs::read_to_string(corpus.join("index.tsv")) else {
        let _ = writeln!(
            std::io::stderr(),
            "extensions: no corpus here: skipped, nothing checked"
        );
        return;
    };
    let (mut checked, mut keys, mut silent, mut unowned) = (0, 0, Vec::new(), Vec::new());
    for line in index.lines().skip(1) {
        let path = line.split('\t').next().unwrap_or_default();
        if !FOLDERS.iter().any(|folder| path.starts_with(folder)) {
            continue;
        }
        let file = corpus.join(path);
        let Ok(document) = fs::read_to_string(&file).map(|text| serde_yaml::from_str::<Value>(&text)) else {
            continue;
        };
        let Ok(document) = document else { continue };
        let input = Input {
            compose_files: vec![file.clone()],
            ..Input::default()
        };
        let Ok(conversion) = convert(&input, &FileSystem) else {
            continue;
        };
        // A file refused before its keys were read (a syntax error, a missing file) says nothing of them.
        let said: Vec<String> = conversion.diagnostics.iter().map(|d| d.path.to_string()).collect();
        // A service whose profiles are not active is left out, its keys unread (a note says so).
        let left_out: Vec<String> = conversion
            .diagnostics
            .iter()
            .filter(|d| d.code == Code::InactiveProfile)
            .map(|d| {
                let path = d.path.to_string();
                let service: Vec<&str> = path.splitn(3, '.').take(2).collect();
                format!("{}.", service.join("."))
            })
            .collect();
        if said.iter().any(|p| p == "(document)") && conversion.plan.is_none() {
            continue;
        }
        checked += 1;
        for (at, parent, name) in extension_keys(&document) {
            let pattern = if parent.is_empty() {
                name.clone()
            } else {
                format!("{parent}.{name}")
            };
            if matches!(verdict(&pattern), Some(Verdict::Converted(_))) {
                continue;
            }
            // In these tools' own fixtures, an `x-` key no tool is known to own is one the table
            // misses, but for a user's own key a fixture tests (Defang's `x-unsupported`).
            if foreign(&parent, &name).is_none() {
                if !USERS_OWN.contains(&name.as_str()) {
                    unowned.push(format!("{path}: {at}"));
                }
                continue;
            }
            if left_out.iter().any(|service| at.starts_with(service.as_str())) {
                continue;
            }
            keys += 1;
            if !said.iter().any(|p| *p == at || p.starts_with(&format!("{at}."))) {
                silent.push(format!("{path}: {at}"));
            }
        }
    }
    let _ = writeln!(
        std::io::stderr(),
        "extensions: {checked} files, {keys} keys of other tools not converted, each reported"
    );
    assert!(checked > 50, "the tools' folders were found: {checked} files");
    assert!(silent.is_empty(), "dropped in silence: {silent:#?}");
    assert!(unowned.is_empty(), "no owner in support::extensions: {unowned:#?}");
}
