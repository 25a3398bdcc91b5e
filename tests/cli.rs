//! Tests of the real binary: files written, exit codes, where diagnostics point, determinism.

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

#[test]
fn converts_the_seed_app_found_in_the_current_folder() {
    let case = copy_case("goals");
    let output = compose2ecs(case.path(), &["convert"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let written: Vec<PathBuf> = tree(&case.path().join("ecs")).into_iter().map(|(p, _)| p).collect();
    let expected = [
        ".compose2ecs-manifest",
        "cloudformation/alb.yaml",
        "cloudformation/base.yaml",
        "cloudformation/efs.yaml",
        "services/backend.json",
        "services/frontend.json",
        "taskdefs/backend.json",
        "taskdefs/frontend.json",
    ];
    assert_eq!(written, expected.iter().map(PathBuf::from).collect::<Vec<_>>());
    let err = stderr(&output);
    // `./backend:/app` into a built service is a development mount: a note, not a warning.
    assert!(!err.contains("bind-mount"), "{err}");
    assert!(
        err.lines()
            .any(|line| line.trim_start().starts_with("{{TaskExecutionRoleArn}}")
                && line.ends_with("from output `TaskExecutionRoleArn` of the `base` stack")),
        "{err}"
    );
    // Notes are shown only with -v.
    assert!(!err.contains("note[hostname-rewritten]"), "{err}");
    let verbose = compose2ecs(case.path(), &["convert", "-v", "-o", "again"]);
    let verbose = stderr(&verbose);
    assert!(verbose.contains("note[hostname-rewritten]"), "{verbose}");
    assert!(
        verbose.contains("note[dev-only-mount]")
            && verbose.contains("--> docker-compose.yml:26:9")
            && verbose.contains(" services.backend.volumes[1]\n"),
        "{verbose}"
    );
}

/// The CLI writes the library's bytes: a case run in its folder, which finds the compose file and
/// its override file there and names the project after the folder, writes exactly the files
/// `compose2ecs::convert` gives for both files, and a manifest of them. One run: that every case
/// converts the same twice and from either path form is proven in-process (tests/testdata.rs),
/// where it is cheap; each run of the binary makes the file system durable (`syncfs`), which waits
/// for whatever else the machine is writing.
#[test]
fn the_cli_writes_the_bytes_the_library_converts() {
    let name = "override";
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata").join(name);
    let files = ["docker-compose.yml", "docker-compose.override.yml"];
    let input = compose2ecs::Input {
        compose_files: files.iter().map(|file| case.join(file)).collect(),
        directory_name: Some(name.to_string()),
        // The binary gets this environment (see `compose2ecs`), and `${VAR}` reads it.
        environment: std::env::vars()
            .filter(|(variable, _)| variable != "MONGODB_PASSWORD")
            .collect(),
        ..compose2ecs::Input::default()
    };
    let conversion = compose2ecs::convert(&input, &compose2ecs::source::FileSystem).expect("no program failure");
    assert!(!conversion.is_refused(false), "{name} converts");
    assert!(conversion.output.len() > 3, "{name} gives several files");

    // The copy keeps the case's folder name, after which the project is named.
    let copies = tempfile::tempdir().unwrap();
    let copy = copies.path().join(name);
    copy_dir(&case, &copy);
    let run = compose2ecs(&copy, &["convert", "-o", "out"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let mut written = tree(&copy.join("out"));
    // The writer's manifest lists the files it wrote (src/write/ tests the rest of it).
    let manifest = written
        .iter()
        .position(|(path, _)| path == Path::new(".compose2ecs-manifest"))
        .map(|at| written.remove(at).1)
        .expect("a manifest");
    let listed: Vec<&str> = std::str::from_utf8(&manifest)
        .unwrap()
        .lines()
        .filter(|line| !line.starts_with('#'))
        .collect();
    assert_eq!(listed, conversion.output.keys().map(String::as_str).collect::<Vec<_>>());
    let mut converted: Vec<(PathBuf, Vec<u8>)> = conversion
        .output
        .iter()
        .map(|(path, contents)| (PathBuf::from(path), contents.as_bytes().to_vec()))
        .collect();
    converted.sort();
    // As text first, so that a failure shows the difference.
    let text = |files: &[(PathBuf, Vec<u8>)]| -> Vec<(PathBuf, String)> {
        files
            .iter()
            .map(|(path, bytes)| (path.clone(), String::from_utf8_lossy(bytes).into_owned()))
            .collect()
    };
    assert_eq!(text(&written), text(&converted));
    assert!(
        written == converted,
        "the CLI wrote other bytes than the library converts"
    );
}

#[test]
fn output_is_byte_identical_across_runs_and_working_directories() {
    let case = copy_case("goals");
    let first = compose2ecs(case.path(), &["convert", "-o", "first"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let elsewhere = tempfile::tempdir().unwrap();
    let compose = case.path().join("docker-compose.yml");
    let second = compose2ecs(
        elsewhere.path(),
        &["convert", "-f", compose.to_str().unwrap(), "-o", "second"],
    );
    assert!(second.status.success(), "{}", stderr(&second));
    let first_tree = tree(&case.path().join("first"));
    assert!(!first_tree.is_empty());
    assert_eq!(first_tree, tree(&elsewhere.path().join("second")));
    for (path, bytes) in &first_tree {
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.ends_with('\n') && !text.ends_with("\n\n"),
            "{} ends with one newline",
            path.display()
        );
        assert!(
            !text.contains('\r') && !text.contains(case.path().to_str().unwrap()),
            "{}",
            path.display()
        );
    }
}

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
fn later_files_override_earlier_ones() {
    let case = copy_case("goals-external");
    fs::write(
        case.path().join("ecs.prod.yml"),
        "services:\n  backend:\n    deploy:\n      replicas: 3\nx-ecs:\n  cluster: prod\n  subnets: [subnet-0aaa, subnet-0bbb]\n  security_groups: [sg-0ccc]\n",
    )
    .unwrap();
    let output = compose2ecs(
        case.path(),
        &["convert", "-f", "docker-compose.yml", "-f", "ecs.prod.yml"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let service: serde_json::Value =
        serde_json::from_slice(&fs::read(case.path().join("ecs/services/backend.json")).unwrap()).unwrap();
    assert_eq!(service["cluster"], "prod");
    assert_eq!(service["desiredCount"], 3);
    assert_eq!(
        service["networkConfiguration"]["awsvpcConfiguration"]["subnets"][1],
        "subnet-0bbb"
    );
    assert_eq!(
        service["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"][0],
        "sg-0ccc"
    );
}

#[test]
fn the_process_environment_wins_over_dot_env() {
    let case = copy_case("goals");
    let output = Command::new(env!("CARGO_BIN_EXE_compose2ecs"))
        .args(["convert"])
        .current_dir(case.path())
        .env("MONGODB_PASSWORD", "from-the-shell")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let taskdef = fs::read_to_string(case.path().join("ecs/taskdefs/backend.json")).unwrap();
    assert!(
        taskdef.contains("mongodb://max:from-the-shell@localhost:27017/course-goals"),
        "{taskdef}"
    );
}

#[test]
fn an_output_path_that_is_a_file_is_refused() {
    let case = copy_case("goals");
    fs::write(case.path().join("ecs"), "not a folder").unwrap();
    let output = compose2ecs(case.path(), &["convert"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("is a file, not a folder"),
        "{}",
        stderr(&output)
    );
    assert_eq!(fs::read_to_string(case.path().join("ecs")).unwrap(), "not a folder");
}

#[test]
fn stack_outputs_fill_every_placeholder() {
    let case = copy_case("goals");
    let outputs = |stack: &str, pairs: &[(&str, &str)]| {
        let outputs: Vec<serde_json::Value> = pairs
            .iter()
            .map(|(k, v)| serde_json::json!({"OutputKey": k, "OutputValue": v}))
            .collect();
        let text = serde_json::json!({"Stacks": [{"StackName": stack, "Outputs": outputs}]}).to_string();
        fs::write(case.path().join(format!("{stack}.json")), text).unwrap();
    };
    outputs(
        "base",
        &[
            ("TaskRoleArn", "arn:aws:iam::123456789012:role/task"),
            ("TaskExecutionRoleArn", "arn:aws:iam::123456789012:role/execution"),
            ("TaskSecurityGroupId", "sg-0123456789abcdef0"),
            ("PrivateSubnetIds", "subnet-0aaa,subnet-0bbb"),
        ],
    );
    outputs(
        "efs",
        &[
            ("FileSystemId", "fs-0123"),
            ("AccessPointDataId", "fsap-01"),
            ("AccessPointLogsId", "fsap-02"),
        ],
    );
    outputs(
        "alb",
        &[
            (
                "TargetGroupPort80Arn",
                "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/b/1",
            ),
            (
                "TargetGroupPort3000Arn",
                "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/f/2",
            ),
        ],
    );
    let args = [
        "convert",
        "--stack-outputs",
        "base.json",
        "--stack-outputs",
        "efs.json",
        "--stack-outputs",
        "alb.json",
    ];
    let output = compose2ecs(case.path(), &args);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stderr(&output).contains("placeholder"), "{}", stderr(&output));
    for (path, bytes) in tree(&case.path().join("ecs")) {
        assert!(
            !String::from_utf8(bytes).unwrap().contains("\"{{"),
            "{} keeps a placeholder",
            path.display()
        );
    }
    let service = fs::read_to_string(case.path().join("ecs/services/backend.json")).unwrap();
    assert!(service.contains("\"subnet-0bbb\""), "{service}");

    fs::write(case.path().join("bad.json"), "{\"Stacks\": 3}").unwrap();
    let bad = compose2ecs(
        case.path(),
        &["convert", "--stack-outputs", "bad.json", "-o", "bad-out"],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("is not what `aws cloudformation describe-stacks` prints"),
        "{}",
        stderr(&bad)
    );
    assert!(!case.path().join("bad-out").exists());
}

#[test]
fn plan_prints_and_writes_nothing() {
    let case = copy_case("three-outcomes");
    let before = tree(case.path());
    for format in ["table", "json", "mermaid"] {
        let output = compose2ecs(case.path(), &["plan", "--format", format]);
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(!output.stdout.is_empty());
    }
    let table = String::from_utf8(compose2ecs(case.path(), &["plan"]).stdout).unwrap();
    assert!(table.contains("Service Connect alias api:8080"), "{table}");
    assert_eq!(tree(case.path()), before, "plan wrote files");
    let refused = copy_case("err-depends-cycle");
    let output = compose2ecs(refused.path(), &["plan"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert_eq!(
        compose2ecs(case.path(), &["plan", "--format", "yaml"]).status.code(),
        Some(2)
    );
}

#[test]
fn profiles_are_activated_by_flag_or_environment() {
    let case = copy_case("profiles");
    let output = compose2ecs(case.path(), &["convert", "--profile", "debug", "-o", "debug"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(case.path().join("debug/taskdefs/adminer.json").is_file());
    assert!(!case.path().join("debug/taskdefs/seed.json").exists());
    let from_env = Command::new(env!("CARGO_BIN_EXE_compose2ecs"))
        .args(["convert", "-o", "all"])
        .current_dir(case.path())
        .env("COMPOSE_PROFILES", "*")
        .output()
        .unwrap();
    assert!(from_env.status.success(), "{}", stderr(&from_env));
    assert!(case.path().join("all/taskdefs/seed.json").is_file());
    assert!(case.path().join("all/taskdefs/adminer.json").is_file());
}

#[test]
fn compose_file_from_dot_env_picks_the_files() {
    let case = copy_case("override");
    fs::write(
        case.path().join("ecs.prod.yml"),
        "services:\n  web:\n    deploy:\n      replicas: 5\n",
    )
    .unwrap();
    fs::write(
        case.path().join(".env"),
        "COMPOSE_FILE=docker-compose.yml:ecs.prod.yml\n",
    )
    .unwrap();
    let output = compose2ecs(case.path(), &["convert"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let service = fs::read_to_string(case.path().join("ecs/services/web.json")).unwrap();
    // ecs.prod.yml was merged, and docker-compose.override.yml was not (COMPOSE_FILE names the files).
    assert!(service.contains("\"desiredCount\": 5"), "{service}");
    assert!(!service.contains("production"), "{service}");
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

#[test]
fn the_output_folder_keeps_what_is_not_ours_and_drops_what_is_gone() {
    let case = copy_case("three-outcomes");
    let first = compose2ecs(case.path(), &["convert"]);
    assert!(first.status.success(), "{}", stderr(&first));
    fs::write(case.path().join("ecs/README.md"), "our notes").unwrap();
    fs::write(case.path().join("ecs/taskdefs/hand-written.json"), "{}").unwrap();
    // The web service goes away from the compose file: its files go from the output.
    let compose = fs::read_to_string(case.path().join("docker-compose.yml")).unwrap();
    let start = compose.find("  web:").unwrap();
    let end = compose.find("  api:").unwrap();
    fs::write(
        case.path().join("docker-compose.yml"),
        format!("{}{}", &compose[..start], &compose[end..]),
    )
    .unwrap();
    let second = compose2ecs(case.path(), &["convert"]);
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(!case.path().join("ecs/taskdefs/web.json").exists());
    assert!(!case.path().join("ecs/services/web.json").exists());
    assert!(case.path().join("ecs/taskdefs/api.json").exists());
    assert_eq!(
        fs::read_to_string(case.path().join("ecs/README.md")).unwrap(),
        "our notes"
    );
    assert_eq!(
        fs::read_to_string(case.path().join("ecs/taskdefs/hand-written.json")).unwrap(),
        "{}"
    );
}

#[test]
fn check_compares_without_writing() {
    let case = copy_case("goals");
    let missing = compose2ecs(case.path(), &["convert", "--check"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("new  taskdefs/backend.json"),
        "{}",
        stderr(&missing)
    );
    assert!(!case.path().join("ecs").exists(), "--check writes nothing");
    assert!(compose2ecs(case.path(), &["convert"]).status.success());
    let fresh = compose2ecs(case.path(), &["convert", "--check"]);
    assert!(fresh.status.success(), "{}", stderr(&fresh));
    assert!(stderr(&fresh).contains("is up to date"));
    fs::write(case.path().join("ecs/services/frontend.json"), "edited by hand").unwrap();
    let before = tree(&case.path().join("ecs"));
    let stale = compose2ecs(case.path(), &["convert", "--check"]);
    assert_eq!(stale.status.code(), Some(1));
    assert!(
        stderr(&stale).contains("changed  services/frontend.json"),
        "{}",
        stderr(&stale)
    );
    assert_eq!(tree(&case.path().join("ecs")), before, "--check writes nothing");
}

#[test]
fn a_refused_run_leaves_the_previous_output_intact() {
    let case = copy_case("goals");
    assert!(compose2ecs(case.path(), &["convert"]).status.success());
    let before = tree(&case.path().join("ecs"));
    fs::write(
        case.path().join("docker-compose.yml"),
        "services:\n  web:\n    image: [\n",
    )
    .unwrap();
    let output = compose2ecs(case.path(), &["convert"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(tree(&case.path().join("ecs")), before);
}

#[test]
fn a_write_that_fails_leaves_the_previous_output_intact() {
    let case = copy_case("goals");
    assert!(compose2ecs(case.path(), &["convert"]).status.success());
    let out = case.path().join("ecs");
    let before = tree(&out);
    fs::write(
        case.path().join(".env"),
        "MONGODB_USERNAME=max\nMONGODB_PASSWORD=changed\n",
    )
    .unwrap();
    // Something of no run of this machine's in the work folder's place: refused before anything moves.
    fs::write(out.join(".compose2ecs-work"), "in the way").unwrap();
    let output = compose2ecs(case.path(), &["convert"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("was not left by a compose2ecs run"),
        "{}",
        stderr(&output)
    );
    fs::remove_file(out.join(".compose2ecs-work")).unwrap();
    assert_eq!(tree(&out), before);
}

#[cfg(unix)]
#[test]
fn a_read_only_output_folder_is_refused_and_left_alone() {
    use std::os::unix::fs::PermissionsExt;
    if is_root() {
        return; // Root writes anywhere; the test above covers a failing write for root too.
    }
    let case = copy_case("goals");
    assert!(compose2ecs(case.path(), &["convert"]).status.success());
    let out = case.path().join("ecs");
    let before = tree(&out);
    fs::write(
        case.path().join(".env"),
        "MONGODB_USERNAME=max\nMONGODB_PASSWORD=changed\n",
    )
    .unwrap();
    fs::set_permissions(&out, fs::Permissions::from_mode(0o555)).unwrap();
    let output = compose2ecs(case.path(), &["convert"]);
    fs::set_permissions(&out, fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("cannot write"), "{}", stderr(&output));
    assert_eq!(tree(&out), before);
}

#[cfg(unix)]
fn is_root() -> bool {
    fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
    })
}

#[test]
fn env_files_replace_dot_env_in_order() {
    let case = copy_case("interpolation");
    fs::write(case.path().join("base.env"), "TAG=9.9\nREPLICAS=1\nAPI_PORT=8080\n").unwrap();
    fs::write(case.path().join("prod.env"), "TAG=10.0\n").unwrap();
    let output = compose2ecs(
        case.path(),
        &[
            "convert",
            "--env-file",
            "base.env",
            "--env-file",
            "prod.env",
            "-o",
            "out",
        ],
    );
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    let taskdef = fs::read_to_string(case.path().join("out/taskdefs/api.json")).unwrap();
    // The later file wins; `.env` is not read, so its FROM_DOTENV is unset.
    assert!(taskdef.contains("registry.example.com/api:10.0"), "{taskdef}");
    assert!(!taskdef.contains("read from .env"), "{taskdef}");
    let missing = compose2ecs(case.path(), &["plan", "--env-file", "missing.env"]);
    assert_eq!(missing.status.code(), Some(1));
    let err = stderr(&missing);
    assert!(
        err.contains("error[unreadable-file]: cannot read `missing.env` (`--env-file`)"),
        "{err}"
    );
}

#[test]
fn the_project_name_flag_wins_over_the_environment_and_the_file() {
    let case = copy_case("override");
    fs::write(
        case.path().join("docker-compose.yml"),
        format!(
            "name: written\n{}",
            fs::read_to_string(case.path().join("docker-compose.yml")).unwrap()
        ),
    )
    .unwrap();
    let run = |args: &[&str], environment: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_compose2ecs"));
        command.args(args).current_dir(case.path());
        match environment {
            Some(name) => command.env("COMPOSE_PROJECT_NAME", name),
            None => command.env_remove("COMPOSE_PROJECT_NAME"),
        };
        let output = command.output().unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        String::from_utf8(output.stdout).unwrap()
    };
    let family = |plan: &str| {
        plan.lines()
            .find_map(|l| l.split("(family ").nth(1)?.split(',').next().map(str::to_string))
    };
    assert_eq!(family(&run(&["plan"], None)).as_deref(), Some("written-web"));
    assert_eq!(
        family(&run(&["plan"], Some("from-env"))).as_deref(),
        Some("from-env-web")
    );
    let flagged = run(&["plan", "-p", "shop"], Some("from-env"));
    assert_eq!(family(&flagged).as_deref(), Some("shop-web"));
    assert_eq!(
        family(&run(&["plan", "--project-name", "shop2"], None)).as_deref(),
        Some("shop2-web")
    );
    let bad = compose2ecs(case.path(), &["plan", "-p", "Not Valid"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("`Not Valid` is not a valid project name"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn included_and_extended_files_are_read_from_their_folders() {
    // From another folder: paths written in included and extended files still resolve.
    let elsewhere = tempfile::tempdir().unwrap();
    for case in ["include", "extends"] {
        let copy = copy_case(case);
        let file = copy.path().join("docker-compose.yml");
        let output = compose2ecs(elsewhere.path(), &["plan", "-f", file.to_str().unwrap()]);
        assert!(output.status.success(), "{case}: {}", stderr(&output));
    }
    let refused = copy_case("err-include-conflict");
    let output = compose2ecs(refused.path(), &["convert", "-o", "out"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("--> docker-compose.yml:7:3") && stderr(&output).contains("^ services.db"),
        "{}",
        stderr(&output)
    );
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

/// The values of compose secrets (a file, a variable) and of environment secrets reach neither
/// the written files, the plan nor the messages, even with every note shown.
#[test]
fn secret_values_stay_out_of_the_output_and_the_messages() {
    let messages = assert_values_stay_out(
        "secrets",
        &[
            "sentinel-db-password-7d1f",
            "sentinel-api-key-93b2",
            "sentinel-url-password-5e0c",
            "sentinel-stripe-key-1a2b",
            "sentinel-smtp-password-77aa",
            "sentinel-seed-3c3c",
        ],
    );
    assert!(
        messages.contains("vault/app/DATABASE_URL"),
        "the secrets are named: {messages}"
    );
}

/// A password in each place compose allows one, holding `/ # ? ' "`, spaces and `@`: variables
/// become ECS secrets; commands, entrypoints, health checks and labels, where ECS reads none, keep
/// theirs with a warning each. None reaches a message or the plan.
#[test]
fn passwords_in_every_place_stay_out_of_the_messages_and_the_plan() {
    let messages = assert_values_stay_out_of(
        "secrets-everywhere",
        &[
            "sentinel-env-a1",
            "sentinel-env-z1",
            "sentinel-dsn-a2",
            "sentinel-dsn-z2",
        ],
        &[
            "sentinel-cmd-a3",
            "sentinel-cmd-z3",
            "sentinel-ep-a4",
            "sentinel-ep-z4",
            "sentinel-hc-a5",
            "sentinel-hc-b11",
            "sentinel-label-a6",
            "sentinel-label-z6",
            "sentinel-label-token-7",
            "sentinel-tag-8",
            "sentinel-tag-9",
            "/#?'",
            "x;y",
        ],
    );
    for place in [
        "`command[2]` of `app` holds a password",
        "`entrypoint[1]` of `app` holds a password",
        "`healthcheck.test[1]` of `app` holds a password",
        "the label `com.example.backup` of `app` holds a secret",
        "the label `com.example.api-token` of `app` holds a secret",
        "the deploy label `com.example.db` of `app` holds a secret",
        "the deploy label `com.example.db` of `db` holds a secret",
        "which ECS service tag `com.example.db` keeps (`postgres://u:***@db/x`)",
        "the references in `APP_CREDENTIALS` are rewritten; its value is not shown",
        "everywhere/app/DATABASE_URL",
        "everywhere/app/DB_DSN",
    ] {
        assert!(messages.contains(place), "{place} is not named: {messages}");
    }
    assert_eq!(messages.matches("warning[plain-secret]").count(), 7, "{messages}");
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

/// compose's project name rules: the file's `name:` is normalised; an empty COMPOSE_PROJECT_NAME
/// (or `-p ""`) is unset.
#[test]
fn project_name_is_normalised_and_empty_names_are_unset() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("compose.yaml"),
        "name: My.App\nservices:\n  web:\n    image: nginx:1.27\n",
    )
    .unwrap();
    for args in [&["plan"][..], &["plan", "-p", ""][..]] {
        let output = Command::new(env!("CARGO_BIN_EXE_compose2ecs"))
            .args(args)
            .current_dir(dir.path())
            .env("COMPOSE_PROJECT_NAME", "")
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(String::from_utf8_lossy(&output.stdout).starts_with("project myapp"));
    }
}

/// The options of a volume's `driver_opts.o` may hold a password (a CIFS share): warnings name the
/// options compose2ecs does not read, never their values, and no value reaches the output.
#[test]
fn driver_option_values_stay_out_of_the_output_and_the_messages() {
    let messages = assert_values_stay_out(
        "volume-driver-opts",
        &["s3cret", "username=gallery", "//files.example.com/share"],
    );
    assert!(
        messages.contains("`username`, `password` are not converted"),
        "the unread options are named: {messages}"
    );
}

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
}

/// The JSON lines of `--message-format json` on stderr that are diagnostics.
fn json_diagnostics(output: &Output) -> Vec<serde_json::Value> {
    stderr(output)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|value| value.get("code").is_some())
        .collect()
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

#[test]
fn a_bind_mounts_recursive_option_has_no_effect() {
    let case = case_with(
        b"services:\n  web:\n    image: a\n    volumes:\n      - type: bind\n        source: ./conf\n        target: /conf\n        bind: {recursive: enabled}\n",
    );
    let output = compose2ecs(case.path(), &["convert", "-v", "-o", "out"]);
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert!(
        err.contains("note[no-effect]") && err.contains("services.web.volumes[0].bind.recursive"),
        "{err}"
    );
}
