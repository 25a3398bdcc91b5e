//! The output folder: what is not ours stays, `--check` writes nothing, and a refused or failed
//! write leaves the previous output intact.

use super::*;

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
