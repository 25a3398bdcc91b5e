//! What a CLI one adopts is expected to have: shell completions, manual pages, `--color` and
//! `-q`, each generated from or honoured by the same clap definitions.

use super::*;

#[test]
fn completions_for_each_shell_name_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let output = compose2ecs(dir.path(), &["completions", shell]);
        assert!(output.status.success(), "{shell}: {}", stderr(&output));
        let script = String::from_utf8_lossy(&output.stdout);
        for command in ["convert", "deploy", "down", "plan"] {
            assert!(script.contains(command), "{shell} completes no `{command}`");
        }
    }
    let refused = compose2ecs(dir.path(), &["completions", "tcsh"]);
    assert_eq!(refused.status.code(), Some(2), "an unknown shell is a usage error");
}

#[test]
fn a_manual_page_per_command() {
    let dir = tempfile::tempdir().unwrap();
    let output = compose2ecs(dir.path(), &["man", "-o", "pages"]);
    assert!(output.status.success(), "{}", stderr(&output));
    for page in [
        "compose2ecs",
        "compose2ecs-convert",
        "compose2ecs-deploy",
        "compose2ecs-down",
        "compose2ecs-plan",
    ] {
        let text = fs::read_to_string(dir.path().join("pages").join(format!("{page}.1"))).unwrap();
        assert!(text.contains(&format!(".TH {page} 1")), "{page}: {text}");
    }
    let convert = fs::read_to_string(dir.path().join("pages/compose2ecs-convert.1")).unwrap();
    assert!(convert.contains("\\-\\-strict"), "the options are documented");
}

#[test]
fn color_follows_the_flag_and_quiet_keeps_errors_only() {
    let warned =
        case_with(b"services:\n  web:\n    image: nginx:1.27\n    volumes: ['./site:/usr/share/nginx/html']\n");
    // Before the command or after it; stderr is no terminal here, so `auto` is plain.
    for place in [["--color", "always", "convert"], ["convert", "--color", "always"]] {
        let colored = stderr(&compose2ecs(
            warned.path(),
            &[place[0], place[1], place[2], "-o", "out"],
        ));
        assert!(colored.contains("\u{1b}["), "{colored}");
    }
    let plain = stderr(&compose2ecs(warned.path(), &["convert", "-o", "out"]));
    assert!(
        plain.contains("warning[bind-mount]") && !plain.contains('\u{1b}'),
        "{plain}"
    );
    let forced = Command::new(env!("CARGO_BIN_EXE_compose2ecs"))
        .args(["--color=never", "convert", "-o", "out"])
        .current_dir(warned.path())
        .env("CLICOLOR_FORCE", "1")
        .output()
        .unwrap();
    assert!(!stderr(&forced).contains('\u{1b}'), "--color=never wins");
    let quiet = compose2ecs(warned.path(), &["convert", "-q", "-o", "out"]);
    assert!(quiet.status.success());
    assert_eq!(stderr(&quiet), "", "a warning and the summary are not printed");
    let broken = case_with(b"services:\n  web:\n    image: nginx:1.27\n    prots: []\n");
    let refused = compose2ecs(broken.path(), &["convert", "-q", "--color", "never", "-o", "out"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("error[unknown-key]"), "{}", stderr(&refused));
    let both = compose2ecs(warned.path(), &["convert", "-q", "-v"]);
    assert_eq!(both.status.code(), Some(2), "-q and -v contradict each other");
}

/// `--check` shows how a changed file differs, every value that holds a secret masked (a
/// variable's, an argument's, a label's), and no more than a screenful or so of each file.
#[test]
fn check_shows_a_capped_diff_of_what_changed() {
    let compose = |tag: &str| {
        format!(
            "services:\n  web:\n    image: nginx:{tag}\n    command: [\"redis-cli\", \"-a\", \"flag-{tag}\"]\n    labels: {{api_token: label-{tag}}}\n    environment:\n      DATABASE_URL: postgres://app:hunter2-{tag}@db.example.com/app\n      DB_PASSWORD: plain-{tag}\n"
        )
    };
    let case = case_with(compose("1.27").as_bytes());
    assert!(compose2ecs(case.path(), &["convert", "-q", "-o", "out"])
        .status
        .success());
    fs::write(case.path().join("compose.yaml"), compose("1.28")).unwrap();
    let check = compose2ecs(case.path(), &["convert", "--check", "-o", "out"]);
    assert_eq!(check.status.code(), Some(1));
    let said = stderr(&check);
    assert!(
        said.contains("--- a/taskdefs/web.json") && said.contains("+++ b/taskdefs/web.json"),
        "{said}"
    );
    assert!(
        said.contains("-      \"image\": \"nginx:1.27\"") && said.contains("+      \"image\": \"nginx:1.28\""),
        "{said}"
    );
    for value in ["hunter2", "plain-1", "flag-1", "label-1"] {
        assert!(!said.contains(value), "{value} in {said}");
    }
    assert!(
        !said.contains("a/.compose2ecs-manifest"),
        "the manifest's change is the list of files"
    );
    // A long change is cut.
    let many: String = (0..200).map(|i| format!("      V{i:03}: value-{i}\n")).collect();
    fs::write(case.path().join("compose.yaml"), format!("{}{many}", compose("1.28"))).unwrap();
    let long = stderr(&compose2ecs(case.path(), &["convert", "--check", "-o", "out"]));
    assert!(long.contains("more lines of diff in taskdefs/web.json"), "{long}");
}

/// `compose2ecs schema` prints the schema the repository keeps for editors (`x-ecs.schema.json`):
/// regenerate that file with `compose2ecs schema > x-ecs.schema.json` when a key changes.
#[test]
fn the_schema_printed_is_the_one_in_the_repository() {
    let dir = tempfile::tempdir().unwrap();
    let output = compose2ecs(dir.path(), &["schema"]);
    assert!(output.status.success());
    let kept = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("x-ecs.schema.json")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        kept,
        "run `compose2ecs schema > x-ecs.schema.json`"
    );
    let schema: serde_json::Value = serde_json::from_str(&kept).unwrap();
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
}
