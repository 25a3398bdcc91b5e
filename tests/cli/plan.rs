//! `plan`, which prints and writes nothing, and the stacks' outputs, which fill the placeholders:
//! from `--stack-outputs` files and folders, and from those `deploy` saves in the output folder.

use super::*;

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

/// The goals case's stacks' outputs, saved as `deploy` saves them in `folder` (`ecs/stacks`);
/// `efs` without `AccessPointLogsId` when `partial`, and the base stack in `region`.
fn save_goals_outputs(folder: &Path, region: &str, partial: bool) {
    fs::create_dir_all(folder).unwrap();
    let stacks: [(&str, &[(&str, &str)]); 3] = [
        (
            "goals-base",
            &[
                ("Region", region),
                ("TaskRoleArn", "arn:aws:iam::123456789012:role/task"),
                ("TaskExecutionRoleArn", "arn:aws:iam::123456789012:role/execution"),
                ("TaskSecurityGroupId", "sg-0123456789abcdef0"),
                ("PrivateSubnetIds", "subnet-0aaa,subnet-0bbb"),
            ],
        ),
        (
            "goals-efs",
            if partial {
                &[("FileSystemId", "fs-0123"), ("AccessPointDataId", "fsap-01")]
            } else {
                &[
                    ("FileSystemId", "fs-0123"),
                    ("AccessPointDataId", "fsap-01"),
                    ("AccessPointLogsId", "fsap-02"),
                ]
            },
        ),
        (
            "goals-alb",
            &[
                (
                    "TargetGroupPort80Arn",
                    "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/b/1",
                ),
                (
                    "TargetGroupPort3000Arn",
                    "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/f/2",
                ),
            ],
        ),
    ];
    for (stack, pairs) in stacks {
        let outputs: Vec<serde_json::Value> = pairs
            .iter()
            .map(|(k, v)| serde_json::json!({"OutputKey": k, "OutputValue": v}))
            .collect();
        let text = serde_json::json!({"Stacks": [{"StackName": stack, "Outputs": outputs}]}).to_string();
        fs::write(folder.join(format!("{stack}.json")), text).unwrap();
    }
}

#[test]
fn convert_reads_the_outputs_deploy_saved_and_refuses_to_lose_them() {
    let case = copy_case("goals");
    save_goals_outputs(&case.path().join("ecs/stacks"), "eu-west-1", false);
    let output = compose2ecs(case.path(), &["convert"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stderr(&output).contains("placeholder"), "{}", stderr(&output));
    let service = fs::read_to_string(case.path().join("ecs/services/backend.json")).unwrap();
    assert!(
        service.contains("\"subnet-0bbb\"") && service.contains("targetgroup/b/1"),
        "{service}"
    );
    // The saved outputs are the user's: convert neither lists nor removes them.
    assert!(case.path().join("ecs/stacks/goals-base.json").is_file());
    assert!(!stderr(&output).contains("did not write"), "{}", stderr(&output));
    // What convert wrote, without the saved outputs (the test changes them below).
    let written = || -> Vec<(PathBuf, Vec<u8>)> {
        let mut files = tree(&case.path().join("ecs"));
        files.retain(|(path, _)| !path.starts_with("stacks"));
        files
    };
    let before = written();

    // A folder given to --stack-outputs is read the same way, in another output folder.
    let elsewhere = compose2ecs(
        case.path(),
        &["convert", "--stack-outputs", "ecs/stacks", "-o", "other"],
    );
    assert!(elsewhere.status.success(), "{}", stderr(&elsewhere));
    assert_eq!(
        fs::read(case.path().join("other/services/backend.json")).unwrap(),
        service.as_bytes()
    );

    // A volume added since the efs stack was deployed: its access point is not in the saved
    // outputs, and writing a placeholder over the filled file would undo the deploy.
    save_goals_outputs(&case.path().join("ecs/stacks"), "eu-west-1", true);
    let stale = compose2ecs(case.path(), &["convert"]);
    assert_eq!(stale.status.code(), Some(1), "{}", stderr(&stale));
    assert!(
        stderr(&stale).contains("error[unfilled-placeholder]: `{{AccessPointLogsId}}` is not filled: the saved outputs of stack `goals-efs` have no output `AccessPointLogsId`"),
        "{}",
        stderr(&stale)
    );
    assert!(written() == before, "nothing written");

    // Stacks in another region than x-ecs.region: the tasks could not log.
    save_goals_outputs(&case.path().join("ecs/stacks"), "us-east-1", false);
    let elsewhere = compose2ecs(case.path(), &["convert"]);
    assert_eq!(elsewhere.status.code(), Some(1));
    assert!(
        stderr(&elsewhere).contains(
            "error[region-mismatch]: `x-ecs.region` is `eu-west-1`, but the stacks are deployed in `us-east-1`"
        ),
        "{}",
        stderr(&elsewhere)
    );

    // An outputs file of a stack that is not deployed.
    fs::write(
        case.path().join("ecs/stacks/goals-alb.json"),
        r#"{"Stacks": [{"StackName": "goals-alb", "StackStatus": "CREATE_IN_PROGRESS"}]}"#,
    )
    .unwrap();
    let undeployed = compose2ecs(case.path(), &["convert"]);
    assert_eq!(undeployed.status.code(), Some(1));
    assert!(
        stderr(&undeployed).contains("has no `Outputs` (its status is CREATE_IN_PROGRESS)"),
        "{}",
        stderr(&undeployed)
    );
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
