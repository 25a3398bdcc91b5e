//! The real binary on a pull request's files: what an attacker commits must not reach outside the
//! output folder, block the run, or write to the terminal as it likes.
#![cfg(unix)]

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The longest a refusal may take; a read that blocks on a FIFO would take for ever.
const DEADLINE: Duration = Duration::from_secs(30);

/// Runs the binary in `cwd` with its run records in `state` (the user's state folder, outside
/// the repository), killing it at the deadline.
fn run_in(cwd: &Path, state: &Path, args: &[&str]) -> Output {
    run_with(cwd, state, args, &[])
}

/// `run_in` with these variables in the environment, as a CI job has its secrets.
fn run_with(cwd: &Path, state: &Path, args: &[&str], environment: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_compose2ecs"))
        .args(args)
        .current_dir(cwd)
        .envs(environment.iter().copied())
        .env("XDG_STATE_HOME", state)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > DEADLINE {
            child.kill().unwrap();
            panic!("`compose2ecs {}` did not finish within {DEADLINE:?}", args.join(" "));
        }
        // Short: each run waits up to one poll past its end, and the file makes dozens of runs.
        std::thread::sleep(Duration::from_millis(1));
    }
    child.wait_with_output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// What a run that had to be refused printed; it must have exited 1.
fn refused(output: Output) -> String {
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    err
}

/// Runs git in the scratch repository `repo` alone: variables such as `GIT_DIR`, which
/// `git rebase --exec` sets for its command, would point it at the repository under test.
fn git(repo: &Path, args: &[&str]) {
    let mut command = Command::new("git");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("GIT_") {
            command.env_remove(name);
        }
    }
    let status = command
        .env("GIT_CEILING_DIRECTORIES", repo.parent().unwrap_or(repo))
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.invalid",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(repo)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?}");
}

const APP: &str = "services:\n  web:\n    image: nginx\n    ports: [\"80:80\"]\n";

#[test]
fn a_committed_journal_cannot_plant_a_git_hook() {
    let state = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    let repo = repo.path();
    fs::write(repo.join("compose.yaml"), APP).unwrap();
    git(repo, &["init", "-q"]);
    let first = run_in(repo, state.path(), &["convert"]);
    assert!(first.status.success(), "{}", stderr(&first));
    // The pull request: a link to the hooks and a journal that "restores" a hook through it.
    symlink("../.git/hooks", repo.join("ecs/hooks")).unwrap();
    let staging = repo.join("ecs/.compose2ecs-work/staging");
    fs::create_dir_all(staging.join("backup/hooks")).unwrap();
    let hook = format!("#!/bin/sh\ntouch {}\n", repo.join("owned").display());
    fs::write(staging.join("backup/hooks/pre-commit"), hook).unwrap();
    let executable = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    fs::set_permissions(staging.join("backup/hooks/pre-commit"), executable).unwrap();
    fs::write(
        repo.join("ecs/.compose2ecs-work/run"),
        "0123456789abcdef0123456789abcdef",
    )
    .unwrap();
    fs::write(staging.join("journal"), "backup hooks/pre-commit\n").unwrap();
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "pull request"]);

    let check = run_in(repo, state.path(), &["convert", "--check"]);
    assert_eq!(check.status.code(), Some(1), "{}", stderr(&check));
    let err = refused(run_in(repo, state.path(), &["convert"]));
    assert!(
        err.contains("was not left by a compose2ecs run on this machine"),
        "{err}"
    );
    assert!(err.contains("git log"), "the help says how to look: {err}");
    assert!(!repo.join(".git/hooks/pre-commit").exists(), "no hook was planted");
    fs::write(repo.join("compose.yaml"), format!("{APP}# a change\n")).unwrap();
    git(repo, &["commit", "-q", "-am", "next"]);
    assert!(!repo.join("owned").exists(), "no code ran at the commit");
}

#[test]
fn an_output_folder_that_is_a_committed_link_is_not_written_through() {
    let state = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    fs::write(repo.path().join("compose.yaml"), APP).unwrap();
    symlink(elsewhere.path(), repo.path().join("ecs")).unwrap();
    let output = run_in(repo.path(), state.path(), &["convert"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("symbolic link"), "{}", stderr(&output));
    assert_eq!(fs::read_dir(elsewhere.path()).unwrap().count(), 0);
}

#[test]
fn check_fails_on_a_task_definition_the_pull_request_added() {
    let state = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    fs::write(repo.path().join("compose.yaml"), APP).unwrap();
    assert!(run_in(repo.path(), state.path(), &["convert"]).status.success());
    fs::write(repo.path().join("ecs/taskdefs/zz.json"), "{\"family\": \"x-web\"}").unwrap();
    let err = refused(run_in(repo.path(), state.path(), &["convert", "--check"]));
    assert!(err.contains("error[not-ours]: `ecs/taskdefs/zz.json`"), "{err}");
    assert!(
        !err.contains("not up to date"),
        "convert would not change the folder: {err}"
    );
    let convert = run_in(repo.path(), state.path(), &["convert"]);
    assert!(convert.status.success());
    assert!(stderr(&convert).contains("warning[not-ours]"), "{}", stderr(&convert));
}

/// Makes `path` a FIFO, which blocks whoever opens it for reading until a writer comes.
fn fifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo runs");
    assert!(status.success());
}

/// Each way a file reaches compose2ecs, with what it is called there; `{}` is the file.
const READ_PATHS: &[(&str, &str, &[&str])] = &[
    ("compose file found in the folder", "compose.yaml", &["convert"]),
    (
        "compose file given with -f",
        "given.yaml",
        &["convert", "-f", "given.yaml"],
    ),
    ("the .env beside it", ".env", &["convert"]),
    ("an --env-file", "vars.env", &["convert", "--env-file", "vars.env"]),
    ("a service's env_file", "web.env", &["convert"]),
    ("an included file", "included.yaml", &["convert"]),
    (
        "a stack-outputs file",
        "outputs.json",
        &["convert", "--stack-outputs", "outputs.json"],
    ),
];

#[test]
fn every_read_refuses_fifos_and_devices_without_blocking() {
    let app = "include: [included.yaml]\nservices:\n  web:\n    image: nginx\n    env_file: web.env\n";
    for (what, name, args) in READ_PATHS {
        for kind in ["fifo", "/dev/zero"] {
            let state = tempfile::tempdir().unwrap();
            let repo = tempfile::tempdir().unwrap();
            let repo = repo.path();
            fs::write(repo.join("compose.yaml"), app).unwrap();
            fs::write(repo.join("given.yaml"), app).unwrap();
            fs::write(repo.join("web.env"), "A=1\n").unwrap();
            fs::write(repo.join("included.yaml"), "services:\n  db:\n    image: postgres\n").unwrap();
            let target = repo.join(name);
            let _ = fs::remove_file(&target);
            match kind {
                "fifo" => fifo(&target),
                device => symlink(device, &target).unwrap(),
            }
            let output = run_in(repo, state.path(), args);
            let err = stderr(&output);
            assert_eq!(output.status.code(), Some(1), "{what} as a {kind}: {err}");
            assert!(err.contains("not a regular file"), "{what} as a {kind}: {err}");
            assert!(!repo.join("ecs").exists(), "{what} as a {kind}: nothing written");
        }
    }
}

#[test]
fn terminal_escapes_in_the_compose_file_reach_the_terminal_escaped() {
    let state = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    // An unknown key that clears the screen, sets the clipboard (OSC 52) and rewrites its line.
    let text = "services:\n  web:\n    image: nginx\n    \"x\\e[2J\\e]52;c;ZXZpbA==\\a\\rfake\\u202e\": 1\n";
    fs::write(repo.path().join("compose.yaml"), text).unwrap();
    let err = refused(run_in(repo.path(), state.path(), &["convert"]));
    assert!(err.contains("unknown-key"), "{err}");
    for raw in ['\u{1b}', '\u{7}', '\r', '\u{202e}'] {
        assert!(!err.contains(raw), "{raw:?} printed raw: {err:?}");
    }
    assert!(err.contains("\\u{1b}[2J"), "shown escaped: {err}");
    let plan_case = "services:\n  web:\n    image: nginx\n    environment:\n      NOTE: \"a\\e[31mb\"\n";
    fs::write(repo.path().join("compose.yaml"), plan_case).unwrap();
    for format in ["table", "json", "mermaid"] {
        let plan = run_in(repo.path(), state.path(), &["plan", "-v", "--format", format]);
        assert!(plan.status.success(), "{}", stderr(&plan));
        let printed = format!("{}{}", String::from_utf8_lossy(&plan.stdout), stderr(&plan));
        assert!(!printed.contains('\u{1b}'), "{format}: {printed:?}");
    }
}

#[test]
fn messages_name_the_place_not_what_the_file_holds() {
    let state = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    let secret = "https://alice:ghp_s3cretT0ken@github.com";
    fs::write(repo.path().join("credentials"), format!("{secret}\n")).unwrap();
    let app = "services:\n  web:\n    image: nginx\n    env_file: credentials\n";
    fs::write(repo.path().join("compose.yaml"), app).unwrap();
    let err = refused(run_in(repo.path(), state.path(), &["convert"]));
    assert!(err.contains("bad-env-file") && err.contains("credentials:1:1"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
    let app = "services:\n  web:\n    image: nginx\n    environment:\n      DB: \"postgres://u:hunter2@db/${oops x}\"\n      K: \"${:-hunter3}\"\n";
    fs::write(repo.path().join("compose.yaml"), app).unwrap();
    let err = refused(run_in(repo.path(), state.path(), &["convert"]));
    assert!(err.contains("bad-interpolation"), "{err}");
    assert!(!err.contains("hunter2") && !err.contains("hunter3"), "{err}");
}

#[test]
fn extends_cannot_amplify_a_small_file_without_bound() {
    let state = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    let mut text = String::from("services:\n  base:\n    image: a\n    environment:\n");
    for index in 0..200 {
        text.push_str(&format!("      V{index}: \"{}\"\n", "x".repeat(200)));
    }
    for index in 0..500 {
        text.push_str(&format!("  s{index}:\n    extends: base\n"));
    }
    assert!(text.len() < 70_000);
    fs::write(repo.path().join("compose.yaml"), text).unwrap();
    let err = refused(run_in(repo.path(), state.path(), &["convert"]));
    assert!(err.contains("extends-too-large"), "{err}");
    assert!(!repo.path().join("ecs").exists());
}

#[test]
fn a_task_definition_larger_than_ecs_takes_is_refused() {
    let state = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    let mut text = String::from("services:\n  web:\n    image: a\n    environment:\n");
    for index in 0..400 {
        text.push_str(&format!("      V{index}: \"{}\"\n", "x".repeat(200)));
    }
    fs::write(repo.path().join("compose.yaml"), &text).unwrap();
    let err = refused(run_in(repo.path(), state.path(), &["convert"]));
    assert!(err.contains("error[task-definition-too-large]"), "{err}");
    assert!(err.contains("^ services.web\n"), "located: {err}");
    assert!(!repo.path().join("ecs").exists(), "not even an empty folder");
    // A family ECS would refuse: the project's name and a 300-character service name.
    let long_name = "s".repeat(300);
    fs::write(
        repo.path().join("compose.yaml"),
        format!("services:\n  {long_name}:\n    image: a\n"),
    )
    .unwrap();
    let err = refused(run_in(repo.path(), state.path(), &["convert"]));
    assert!(
        err.contains("error[name-too-long]") && err.contains("ECS takes at most 255"),
        "{err}"
    );
    assert!(!repo.path().join("ecs").exists(), "not even an empty folder");
}

#[test]
fn an_included_file_that_is_not_a_compose_file_is_refused() {
    let state = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    let app = "include: [package.json]\nservices:\n  web:\n    image: nginx\n";
    fs::write(repo.path().join("compose.yaml"), app).unwrap();
    let package = "{\"name\": \"app\", \"version\": \"1.0.0\", \"scripts\": {\"start\": \"node .\"}}\n";
    fs::write(repo.path().join("package.json"), package).unwrap();
    let err = refused(run_in(repo.path(), state.path(), &["convert"]));
    assert!(err.contains("unknown key `scripts` at the top level"), "{err}");
    assert!(err.contains("package.json:1:"), "located in the included file: {err}");
}

#[test]
fn a_secret_target_cannot_leave_its_folder() {
    for target in ["..", "../db/password", "/run/secrets/./x", "/run/secrets/"] {
        let state = tempfile::tempdir().unwrap();
        let repo = tempfile::tempdir().unwrap();
        let app = format!(
            "services:\n  web:\n    image: nginx\n    secrets:\n      - source: token\n        target: \"{target}\"\nsecrets:\n  token:\n    file: token.txt\n"
        );
        fs::write(repo.path().join("compose.yaml"), app).unwrap();
        let err = refused(run_in(repo.path(), state.path(), &["convert"]));
        assert!(
            err.contains("error[bad-secret]") && err.contains("not a plain file path"),
            "{target}: {err}"
        );
        assert!(err.contains("^ services.web.secrets[0].target"), "{target}: {err}");
    }
}

#[test]
fn included_files_together_cannot_exceed_what_one_file_may_hold() {
    let state = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    let app = "include: [a.yaml, b.yaml, c.yaml]\nservices:\n  web:\n    image: nginx\n";
    fs::write(repo.path().join("compose.yaml"), app).unwrap();
    for (name, service) in [("a.yaml", "a"), ("b.yaml", "b"), ("c.yaml", "c")] {
        // Each well under the 16 MiB a file may have; the three together over it.
        let padding = format!("# {}\n", "x".repeat(6 * 1024 * 1024));
        fs::write(
            repo.path().join(name),
            format!("{padding}services:\n  {service}:\n    image: a\n"),
        )
        .unwrap();
    }
    let err = refused(run_in(repo.path(), state.path(), &["convert"]));
    assert!(
        err.contains("error[input-too-large]") && err.contains("c.yaml"),
        "{err}"
    );
}

#[test]
fn no_message_shows_a_value_from_a_variable_or_an_env_file() {
    let state = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    let ci_secret = "wJalrXUtnFEMI-K7MDENG-SECRETX";
    fs::write(repo.path().join(".env"), "DOTENV_SECRET=dotenv-s3cret-value\n").unwrap();
    fs::write(repo.path().join("web.env"), "FILE_SECRET=file-s3cret-value\n").unwrap();
    let app = "services:\n  web:\n    image: nginx\n    cpus: \"${CI_SECRET}\"\n    mem_limit: \"${DOTENV_SECRET}\"\n    restart: \"${CI_SECRET}\"\n    ports: [\"${DOTENV_SECRET}\"]\n    stop_grace_period: \"${CI_SECRET}\"\n    depends_on: {db: {condition: \"${CI_SECRET}\"}}\n    env_file: web.env\n    environment: [CI_SECRET]\n  db:\n    image: \"${CI_SECRET:?needs ${DOTENV_SECRET}}\"\n    network_mode: \"service:${DOTENV_SECRET}\"\n";
    fs::write(repo.path().join("compose.yaml"), app).unwrap();
    let output = run_with(repo.path(), state.path(), &["convert"], &[("CI_SECRET", ci_secret)]);
    let err = refused(output);
    assert!(
        err.contains("^ services.web.cpus") && err.contains("^ services.web.mem_limit"),
        "{err}"
    );
    for secret in [ci_secret, "dotenv-s3cret-value", "file-s3cret-value"] {
        assert!(!err.contains(secret), "{secret} in:\n{err}");
    }
    assert!(err.contains("***"), "{err}");
    // A long value, which a message quotes only the start of.
    let long_secret = format!("LONG{}", "k".repeat(300));
    let output = run_with(repo.path(), state.path(), &["convert"], &[("CI_SECRET", &long_secret)]);
    let err = refused(output);
    assert!(!err.contains("LONGkkkkkkkk"), "{err}");
}

#[test]
fn passwords_that_flags_give_are_masked_in_the_plan_and_warned() {
    let state = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    let app = r#"services:
  db:
    image: mysql
    healthcheck:
      test: ["CMD", "mysqladmin", "ping", "-h", "localhost", "-pS3CRETa"]
  cache:
    image: redis
    command: ["redis-server", "--requirepass", "S3CRETb"]
    healthcheck:
      test: ["CMD-SHELL", "redis-cli -a S3CRETc ping"]
  api:
    image: a
    entrypoint: ["curl", "-u", "admin:S3CRETd", "http://cache/"]
    environment:
      DSN: "Server=db;Database=app;Password = S3CRETe;"
"#;
    fs::write(repo.path().join("compose.yaml"), app).unwrap();
    for format in ["json", "table", "mermaid"] {
        let plan = run_in(repo.path(), state.path(), &["plan", "-v", "--format", format]);
        assert!(plan.status.success(), "{}", stderr(&plan));
        let printed = format!("{}{}", String::from_utf8_lossy(&plan.stdout), stderr(&plan));
        assert!(!printed.contains("S3CRET"), "{format}: {printed}");
    }
    let convert = run_in(repo.path(), state.path(), &["convert"]);
    let err = stderr(&convert);
    assert!(convert.status.success(), "{err}");
    for place in [
        "healthcheck.test[5]",
        "command[2]",
        "healthcheck.test[1]",
        "entrypoint[2]",
        "DSN",
    ] {
        assert!(err.contains(place), "plain-secret names {place}: {err}");
    }
    assert!(!err.contains("S3CRET"), "{err}");
}

#[test]
fn no_spelling_of_the_output_folder_goes_through_a_committed_link() {
    let state = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    fs::write(repo.path().join("compose.yaml"), APP).unwrap();
    symlink(elsewhere.path(), repo.path().join("ecs2")).unwrap();
    symlink(elsewhere.path(), repo.path().join("sub")).unwrap();
    let absolute = repo.path().join("sub/ecs").to_string_lossy().into_owned();
    for output in ["ecs2/x/..", "ecs2/..", "./sub/ecs", absolute.as_str()] {
        let err = refused(run_in(repo.path(), state.path(), &["convert", "-o", output]));
        assert!(err.contains("symbolic link"), "{output}: {err}");
        assert_eq!(fs::read_dir(elsewhere.path()).unwrap().count(), 0, "{output}");
    }
}

#[test]
fn a_deep_manifest_costs_no_more_than_its_length() {
    let state = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    fs::write(repo.path().join("compose.yaml"), APP).unwrap();
    assert!(run_in(repo.path(), state.path(), &["convert"]).status.success());
    let deep = "x/".repeat(400);
    fs::create_dir_all(repo.path().join("ecs").join(&deep)).unwrap();
    let mut manifest = fs::read_to_string(repo.path().join("ecs/.compose2ecs-manifest")).unwrap();
    for index in 0..5000 {
        manifest.push_str(&format!("{deep}f{index}\n"));
    }
    fs::write(repo.path().join("ecs/.compose2ecs-manifest"), manifest).unwrap();
    // Lines deeper than compose2ecs writes are not its own: they are ignored, not checked.
    let started = Instant::now();
    let check = run_in(repo.path(), state.path(), &["convert", "--check"]);
    assert_eq!(check.status.code(), Some(1), "{}", stderr(&check));
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
}

#[test]
fn secret_names_fit_cloudformation() {
    let state = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    let long = "s".repeat(300);
    let app = format!(
        "services:\n  web:\n    image: nginx\n    secrets: [{long}]\nsecrets:\n  {long}:\n    file: token.txt\n"
    );
    fs::write(repo.path().join("compose.yaml"), app).unwrap();
    let err = refused(run_in(repo.path(), state.path(), &["convert"]));
    assert!(
        err.contains("error[bad-secret]") && err.contains("longer than 200 characters"),
        "{err}"
    );
    let variable = format!("{}_PASSWORD", "V".repeat(250));
    let app = format!(
        "x-ecs:\n  environment_secrets: true\nservices:\n  web:\n    image: nginx\n    environment:\n      {variable}: hunter22\n"
    );
    fs::write(repo.path().join("compose.yaml"), app).unwrap();
    let err = refused(run_in(repo.path(), state.path(), &["convert"]));
    assert!(err.contains("error[name-too-long]"), "{err}");
}

#[test]
fn a_value_that_is_also_a_name_of_the_project_is_still_shown() {
    let state = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    fs::write(repo.path().join(".env"), "POSTGRES_USER=postgres\n").unwrap();
    let app = "services:\n  postgres:\n    image: postgres\n    environment:\n      POSTGRES_USER: ${POSTGRES_USER}\n    depends_on: [nothere]\n";
    fs::write(repo.path().join("compose.yaml"), app).unwrap();
    let err = refused(run_in(repo.path(), state.path(), &["convert"]));
    assert!(err.contains("services.postgres.depends_on"), "{err}");
    assert!(!err.contains("***"), "a name is no secret: {err}");
}
