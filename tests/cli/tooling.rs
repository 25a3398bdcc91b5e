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
    let colored = stderr(&compose2ecs(
        warned.path(),
        &["convert", "--color", "always", "-o", "out"],
    ));
    assert!(colored.contains("\u{1b}["), "{colored}");
    let plain = stderr(&compose2ecs(warned.path(), &["--color=never", "convert", "-o", "out"]));
    assert!(
        plain.contains("warning[bind-mount]") && !plain.contains('\u{1b}'),
        "{plain}"
    );
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
