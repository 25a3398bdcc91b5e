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
    assert!(err.contains("warning[bind-mount]"), "{err}");
    assert!(
        err.contains("--> docker-compose.yml:26:9 (services.backend.volumes[1])"),
        "{err}"
    );
    assert!(
        err.lines()
            .any(|line| line.trim_start().starts_with("{{TaskExecutionRoleArn}}")
                && line.ends_with("from output `TaskExecutionRoleArn` of the `base` stack")),
        "{err}"
    );
    // Notes are shown only with -v.
    assert!(!err.contains("note[hostname-rewritten]"), "{err}");
    let verbose = compose2ecs(case.path(), &["convert", "-v", "-o", "again"]);
    assert!(stderr(&verbose).contains("note[hostname-rewritten]"));
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
        err.contains("--> docker-compose.yml:5:5 (services.web.enviroment)"),
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
