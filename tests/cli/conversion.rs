//! What the binary converts and from which input: the seed app, the library's bytes, the same
//! output from any run or folder, and the files, overrides, `.env` and env files, `COMPOSE_FILE`,
//! profiles and project name it reads.

use super::*;

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
        stderr(&output).contains("--> docker-compose.yml:4:5") && stderr(&output).contains("^ include[1]"),
        "{}",
        stderr(&output)
    );
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

/// A file a service bind-mounts is read for the services it names only inside the project's folder:
/// not through a folder that is a link out of it.
#[cfg(unix)]
#[test]
fn mounted_files_are_read_inside_the_project_only() {
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("app");
    let outside = root.path().join("outside");
    fs::create_dir_all(project.join("conf")).unwrap();
    fs::create_dir_all(&outside).unwrap();
    fs::write(project.join("conf/nginx.conf"), "proxy_pass http://api:9000;\n").unwrap();
    fs::write(outside.join("nginx.conf"), "proxy_pass http://api:9999;\n").unwrap();
    std::os::unix::fs::symlink(&outside, project.join("linked")).unwrap();
    fs::write(
        project.join("compose.yaml"),
        "services:\n  proxy:\n    image: nginx\n    volumes:\n      - ./conf/nginx.conf:/etc/nginx/nginx.conf\n      \
         - ./linked/nginx.conf:/etc/nginx/other.conf\n  api:\n    image: api\n",
    )
    .unwrap();
    let output = compose2ecs(&project, &["plan", "-v"]);
    let text = stderr(&output);
    assert!(text.contains("names `api:9000`"), "{text}");
    assert!(!text.contains("9999"), "the file outside was read: {text}");
    assert!(text.contains("a link leads out of the project's folder"), "{text}");
}
