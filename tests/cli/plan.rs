//! `plan`, which prints and writes nothing, and `--stack-outputs`, which fill the placeholders.

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
