//! `deploy` and `down` as a user runs them: the commands `--dry-run` prints, and the refusals that
//! come before anything changes. (src/deploy/tests.rs runs the steps against a model of AWS;
//! .ci/deploy_proof runs the binary against moto.)

use super::*;

/// The binary with a PATH that has no `aws` on it, unless `aws` is given.
fn deploy_command(cwd: &Path, args: &[&str], aws: Option<&Path>) -> Output {
    let path = aws.map_or_else(|| "/nonexistent".into(), |dir| dir.display().to_string());
    Command::new(env!("CARGO_BIN_EXE_compose2ecs"))
        .args(args)
        .current_dir(cwd)
        .env("PATH", path)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .output()
        .expect("the binary runs")
}

/// The commands with each digest tag's value (a SHA-256 of the files, which any change of the
/// output changes) shown as `<digest>`, so the snapshots change when the commands do.
fn without_digests(commands: &str) -> String {
    let tag = r#""key":"compose2ecs-digest","value":""#;
    let mut shown = String::new();
    let mut rest = commands;
    while let Some(at) = rest.find(tag) {
        let value = at + tag.len();
        assert!(rest[value..].starts_with(|c: char| c.is_ascii_hexdigit()), "{rest}");
        shown.push_str(&rest[..value]);
        shown.push_str("<digest>");
        rest = &rest[value + 64..];
    }
    shown.push_str(rest);
    shown
}

const NETWORK: [&str; 6] = [
    "--vpc",
    "vpc-0123",
    "--subnets",
    "subnet-0aaa,subnet-0bbb",
    "--public-subnets",
    "subnet-0ccc,subnet-0ddd",
];

#[test]
fn dry_run_prints_every_command_in_order_and_runs_none() {
    let case = copy_case("goals");
    let before = tree(case.path());
    let mut args = vec!["deploy", "--dry-run"];
    args.extend(NETWORK);
    let output = deploy_command(case.path(), &args, None);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(tree(case.path()), before, "a dry run writes nothing");
    let commands = without_digests(&String::from_utf8(output.stdout).unwrap());
    // The base and EFS stacks declare IAM resources (roles, the volumes' policy): CloudFormation
    // deploys them only with the capability acknowledged; the load balancer's stack declares none.
    for line in commands.lines().filter(|l| l.starts_with("aws cloudformation deploy")) {
        let iam = line.contains("goals-base") || line.contains("goals-efs");
        assert_eq!(line.contains("--capabilities CAPABILITY_IAM"), iam, "{line}");
    }
    insta::assert_snapshot!("deploy_dry_run_goals", commands);

    let down = deploy_command(case.path(), &["down", "--dry-run"], None);
    assert!(down.status.success(), "{}", stderr(&down));
    insta::assert_snapshot!("down_dry_run_goals", String::from_utf8(down.stdout).unwrap());
}

#[test]
fn dry_run_of_a_project_with_autoscaling() {
    let case = copy_case("autoscaling");
    let mut args = vec!["deploy", "--dry-run"];
    args.extend(NETWORK);
    let output = deploy_command(case.path(), &args, None);
    assert!(output.status.success(), "{}", stderr(&output));
    let commands = without_digests(&String::from_utf8(output.stdout).unwrap());
    // The autoscaling stack comes once its services exist.
    let last_service = commands.rfind("aws ecs create-service").unwrap();
    let autoscaling = commands.find("deploy --stack-name store-autoscaling").unwrap();
    assert!(last_service < autoscaling, "{commands}");
    insta::assert_snapshot!("deploy_dry_run_autoscaling", commands);
}

#[test]
fn what_deploy_refuses_changes_nothing() {
    let case = copy_case("goals");
    let before = tree(case.path());
    // No aws CLI on PATH.
    let mut args = vec!["deploy"];
    args.extend(NETWORK);
    let missing = deploy_command(case.path(), &args, None);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("error: the aws CLI is missing: it cannot be run"),
        "{}",
        stderr(&missing)
    );
    assert!(stderr(&missing).contains("nothing was changed"), "{}", stderr(&missing));
    // A region that is not the app's.
    let mut elsewhere = args.clone();
    elsewhere.extend(["--region", "us-east-1"]);
    let region = deploy_command(case.path(), &elsewhere, None);
    assert_eq!(region.status.code(), Some(1));
    assert!(
        stderr(&region).contains("--region is `us-east-1`, but the app is in `eu-west-1`"),
        "{}",
        stderr(&region)
    );
    // No VPC: the flag and the setting are named.
    let no_vpc = deploy_command(case.path(), &["deploy", "--dry-run"], None);
    assert_eq!(no_vpc.status.code(), Some(1));
    assert!(
        stderr(&no_vpc).contains("stacks `goals-base`, `goals-efs`, `goals-alb` need a VPC, and none is given"),
        "{}",
        stderr(&no_vpc)
    );
    assert!(stderr(&no_vpc).contains("`--vpc vpc-…`"), "{}", stderr(&no_vpc));
    assert_eq!(tree(case.path()), before, "nothing written");
}

/// A fake `aws` on PATH that answers `sts` and refuses the rest, as AWS refuses a user without
/// permissions: deploy stops at the first refusal, before anything changed, and says so.
/// (A failure after some steps is in src/deploy/tests.rs, against a model that keeps state.)
#[cfg(unix)]
#[test]
fn a_refused_check_stops_deploy_before_anything_changes() {
    use std::os::unix::fs::PermissionsExt;
    let case = copy_case("three-outcomes");
    let bin = tempfile::tempdir().unwrap();
    let aws = bin.path().join("aws");
    fs::write(
        &aws,
        "#!/bin/sh\ncase \"$1 $2\" in\n  'sts get-caller-identity') echo '{\"Account\": \"1\"}' ;;\n  *) echo \"An error occurred (AccessDenied) when calling $2\" >&2; exit 255 ;;\nesac\n",
    )
    .unwrap();
    fs::set_permissions(&aws, fs::Permissions::from_mode(0o755)).unwrap();
    let mut args = vec!["deploy"];
    args.extend(NETWORK);
    let output = deploy_command(case.path(), &args, Some(bin.path()));
    assert_eq!(output.status.code(), Some(1));
    let said = stderr(&output);
    assert!(
        said.contains("error: the subnets cannot be read: it failed (exit 255): An error occurred (AccessDenied)"),
        "{said}"
    );
    assert!(said.contains("nothing was changed"), "{said}");
    assert!(
        !case.path().join("ecs").exists(),
        "nothing written before the checks pass"
    );
}
