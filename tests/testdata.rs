//! Snapshot tests over `testdata/<case>/`: each case's diagnostics, plan and every emitted file in one
//! snapshot. Cases named `err-*` must be refused; the others must convert.

use compose2ecs::diagnostic::Severity;
use compose2ecs::source::FileSystem;
use compose2ecs::{convert, Input};
use std::fmt::Write;
use std::path::Path;

/// The files a case converts: its compose file, then its override file if it has one (as the CLI
/// picks them), as the CLI does when run in the case folder.
fn compose_files(case: &Path) -> Vec<std::path::PathBuf> {
    ["docker-compose.yml", "docker-compose.override.yml"]
        .iter()
        .map(|name| case.join(name))
        .filter(|path| path.is_file())
        .collect()
}

/// Converts one case into the snapshot text.
pub fn render_case(case: &Path) -> (String, bool) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let relative = case.strip_prefix(root).unwrap_or(case).to_path_buf();
    let name = relative.file_name().unwrap().to_string_lossy().into_owned();
    let input = Input {
        compose_files: compose_files(&relative),
        directory_name: name,
        environment: [("COMPOSE2ECS_TEST", "set")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        known_values: Default::default(),
    };
    let conversion = convert(&input, &FileSystem).expect("no program failure");
    let mut text = String::from("--- diagnostics ---\n");
    for diagnostic in conversion.diagnostics.iter() {
        writeln!(text, "{diagnostic}").unwrap();
    }
    if let Some(plan) = &conversion.plan {
        text.push_str("--- plan ---\n");
        text.push_str(&serde_yaml::to_string(plan).unwrap());
    }
    for (path, contents) in &conversion.output {
        writeln!(text, "--- {path} ---").unwrap();
        text.push_str(contents);
    }
    let refused = conversion.is_refused(false);
    assert_eq!(
        conversion.diagnostics.has_errors(),
        conversion.diagnostics.count(Severity::Error) > 0,
        "error count and has_errors agree"
    );
    (text, refused)
}

#[test]
fn testdata_cases() {
    // Tests run in the package folder, so case paths (and the paths in diagnostics) are relative.
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    insta::glob!("../testdata", "*/docker-compose.yml", |compose| {
        let case = compose.parent().unwrap();
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let (text, refused) = render_case(case);
        assert_eq!(
            refused,
            name.starts_with("err-"),
            "case {name}: refused = {refused}\n{text}"
        );
        insta::assert_snapshot!(text);
    });
}
