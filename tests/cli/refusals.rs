//! Input the binary refuses, writing nothing: usage errors, located refusals with the code of
//! their meaning, and files too large, unreadable, or too complex to load (alias bombs, includes).

use super::*;

#[test]
fn refused_input_exits_1_points_at_the_place_and_writes_nothing() {
    let case = copy_case("err-unknown-key");
    let output = compose2ecs(case.path(), &["convert", "-o", "out"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("error[unknown-key]: unknown key `enviroment` in `services.web`"),
        "{err}"
    );
    assert!(
        err.contains("--> docker-compose.yml:5:5") && err.contains("^^^^^^^^^^ services.web.enviroment"),
        "{err}"
    );
    assert!(err.contains("= help: did you mean `environment`?"), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    assert!(!case.path().join("out").exists());
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        compose2ecs(dir.path(), &["convert", "--no-such-flag"]).status.code(),
        Some(2)
    );
    assert_eq!(compose2ecs(dir.path(), &["convert", "-o"]).status.code(), Some(2));
    assert_eq!(compose2ecs(dir.path(), &[]).status.code(), Some(2));
}

#[test]
fn no_compose_file_is_a_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let output = compose2ecs(dir.path(), &["convert"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("no compose file"), "{}", stderr(&output));
    let missing = compose2ecs(dir.path(), &["convert", "-f", "nope.yml"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("cannot read `nope.yml`: no such file"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn strict_refuses_warnings() {
    let case = copy_case("goals");
    let output = compose2ecs(case.path(), &["convert", "--strict", "-o", "out"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("with --strict; nothing was written"),
        "{}",
        stderr(&output)
    );
    assert!(!case.path().join("out").exists());
}

#[test]
fn bad_input_gets_a_located_refusal() {
    refused_with(
        b"services:\n  web:\n    image: a\n   ports: []\n",
        &["yaml-syntax", "compose.yaml:4:4", "indentation"],
    );
    refused_with(
        b"services:\n  web:\n   image: a\n  bad: [\n",
        &["yaml-syntax", "compose.yaml:"],
    );
    refused_with(
        b"services:\n  web:\n    image: \"unclosed\n",
        &["yaml-syntax", "compose.yaml:"],
    );
    refused_with(
        b"services:\n  web:\n\timage: nginx\n",
        &["yaml-syntax", "compose.yaml:3:1", "has a tab"],
    );
    refused_with(b"", &["empty-file", "compose.yaml:1:1"]);
    refused_with(b"\x00\x01\x02\xff\xfe binary", &["not-utf8", "compose.yaml:1:"]);
    refused_with(
        b"services:\n  web:\n    image: caf\xe9\n",
        &["not-utf8", "compose.yaml:3:"],
    );
    refused_with(
        b"services: [web, db]\n",
        &["wrong-type", "compose.yaml:1:1", "^ services\n"],
    );
    refused_with(
        b"services:\n  web:\n    image: 42\n",
        &["wrong-type", "compose.yaml:3:5", "^ services.web.image"],
    );
    refused_with(
        b"services:\n  web:\n    image: a\n    ports: {a: b}\n",
        &["wrong-type", "^ services.web.ports"],
    );
    refused_with(
        b"services:\n  web:\n    image: a\n    ports: [\"abc:80\"]\n",
        &["bad-port", "compose.yaml:4:"],
    );
    refused_with(
        b"services:\n  web:\n    image: a\n    ports: [70000]\n",
        &["bad-port", "outside 1"],
    );
    refused_with(
        b"services:\n  web:\n    image: a\n    depends_on: [db]\n",
        &["unknown-service", "^ services.web.depends_on[0]"],
    );
    refused_with(
        b"services:\n  web:\n    image: \"${TAG:?set TAG first}\"\n",
        &["required-variable", "set TAG first", "compose.yaml:3:5"],
    );
    refused_with(b"servics:\n  web:\n    image: a\n", &["no-services"]);
}

/// A code says what is wrong: a missing key, a relative folder or an empty name is not a value
/// of the wrong type.
#[test]
fn each_refusal_has_the_code_of_its_meaning() {
    refused_with(
        b"services:\n  web:\n    image: a\n    extends: {file: other.yml}\n",
        &["error[missing-key]: `services.web.extends` has no `service`"],
    );
    refused_with(
        b"include:\n  - project_directory: .\nservices:\n  web:\n    image: a\n",
        &["error[missing-key]: `include[0]` has no `path`"],
    );
    refused_with(
        b"include:\n  - path: []\nservices:\n  web:\n    image: a\n",
        &["error[missing-key]: `include[0].path` lists no file"],
    );
    refused_with(
        b"services:\n  web:\n    image: a\n    ulimits:\n      nofile: {soft: 1}\n",
        &["error[missing-key]: `services.web.ulimits.nofile` needs both"],
    );
    refused_with(
        b"services:\n  web:\n    image: a\n    working_dir: app\n",
        &["error[bad-working-dir]: `app` is not an absolute path"],
    );
    refused_with(
        b"services:\n  web:\n    image: a\n    deploy:\n      labels:\n        ecs.task.family: \" , \"\n",
        &["error[bad-task-name]: `ecs.task.family` is empty"],
    );
}

/// An alias bomb (9^10 nodes once expanded) and nesting 5,000 deep are refused as too complex.
/// Expanded or recursed into whole, either would exhaust memory or the stack, so finishing is the
/// proof; speed is for the benchmarks.
#[test]
fn alias_bombs_and_deep_nesting_are_refused_as_too_complex() {
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
    for level in 1..10 {
        bomb.push_str(&format!(
            "{}: &{} [*{}, *{}, *{}, *{}, *{}, *{}, *{}, *{}, *{}]\n",
            (b'a' + level) as char,
            (b'a' + level) as char,
            (b'a' + level - 1) as char,
            (b'a' + level - 1) as char,
            (b'a' + level - 1) as char,
            (b'a' + level - 1) as char,
            (b'a' + level - 1) as char,
            (b'a' + level - 1) as char,
            (b'a' + level - 1) as char,
            (b'a' + level - 1) as char,
            (b'a' + level - 1) as char
        ));
    }
    bomb.push_str("services:\n  web:\n    image: a\n    command: *j\n");
    refused_with(bomb.as_bytes(), &["error[yaml-too-complex]", "through aliases"]);
    let deep = format!(
        "services:\n  web:\n    image: a\n    labels: {}{}\n",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    refused_with(deep.as_bytes(), &["error[yaml-too-complex]", "levels deep"]);
}

#[test]
fn a_very_large_file_is_refused_without_reading_it_all() {
    let case = tempfile::tempdir().unwrap();
    let file = fs::File::create(case.path().join("compose.yaml")).unwrap();
    file.set_len(50 * 1024 * 1024).unwrap();
    let output = compose2ecs(case.path(), &["convert", "-o", "out"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("file-too-large"), "{}", stderr(&output));
    assert!(!case.path().join("out").exists());
}

#[test]
fn an_unreadable_file_is_refused() {
    let case = case_with(b"services:\n  web:\n    image: a\n");
    let output = compose2ecs(case.path(), &["convert", "-f", "missing.yaml", "-o", "out"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("cannot read `missing.yaml`: no such file"),
        "{}",
        stderr(&output)
    );
    let folder_as_file = compose2ecs(case.path(), &["convert", "-f", ".", "-o", "out"]);
    assert_eq!(folder_as_file.status.code(), Some(1), "{}", stderr(&folder_as_file));
    assert!(!case.path().join("out").exists());
}

/// Files that each include the next one twice would double the work at every level (2^24 loads
/// of the last one): the load stops at a bound on the entries it follows, with one error.
#[test]
fn includes_that_double_at_each_level_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let levels = 25;
    for level in 0..levels {
        let text = if level + 1 < levels {
            format!(
                "include:\n  - f{next}.yml\n  - path: f{next}.yml\n    project_directory: .\nservices:\n  s{level}:\n    image: x\n",
                next = level + 1
            )
        } else {
            "services:\n  last:\n    image: x\n".to_string()
        };
        fs::write(dir.path().join(format!("f{level}.yml")), text).unwrap();
    }
    let output = compose2ecs(dir.path(), &["plan", "-f", "f0.yml"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert_eq!(err.matches("error[too-many-includes]").count(), 1, "{err}");
    assert!(err.contains("more than 1024 projects"), "{err}");
}

/// A chain of includes deeper than the bound is refused with its own code, not as a cycle.
#[test]
fn includes_nested_past_the_bound_are_refused_as_too_deep() {
    let dir = tempfile::tempdir().unwrap();
    let levels = 40;
    for level in 0..levels {
        let text = if level + 1 < levels {
            format!("include: [f{}.yml]\nservices:\n  s{level}:\n    image: x\n", level + 1)
        } else {
            "services:\n  last:\n    image: x\n".to_string()
        };
        fs::write(dir.path().join(format!("f{level}.yml")), text).unwrap();
    }
    let output = compose2ecs(dir.path(), &["plan", "-f", "f0.yml"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert_eq!(err.matches("error[include-too-deep]").count(), 1, "{err}");
    assert!(!err.contains("include-cycle"), "{err}");
}
