//! What a compose file from an untrusted pull request cannot do to the output: widen IAM
//! permissions, or make a template that does not parse. The testdata cases show whole outputs;
//! these tests check each property on the parsed templates.

use compose2ecs::source::MemoryFiles;
use compose2ecs::{convert, Conversion, Input};
use serde_yaml::Value;
use std::path::PathBuf;

fn conversion(compose: &str) -> Conversion {
    let path = PathBuf::from("compose.yaml");
    let mut files = MemoryFiles::default();
    files.0.insert(path.clone(), compose.as_bytes().to_vec());
    let input = Input {
        compose_files: vec![path],
        directory_name: "shop".to_string(),
        ..Input::default()
    };
    convert(&input, &files).expect("no program failure")
}

/// The parsed template `name` (`base`, `efs`, …) of a conversion that must succeed.
fn template(compose: &str, name: &str) -> Value {
    let conversion = conversion(compose);
    assert!(!conversion.is_refused(false), "{:?}", conversion.diagnostics);
    let text = &conversion.output[&format!("cloudformation/{name}.yaml")];
    serde_yaml::from_str(text).unwrap_or_else(|e| panic!("{name}.yaml does not parse: {e}\n{text}"))
}

fn resource<'a>(template: &'a Value, logical_id: &str) -> &'a Value {
    &template["Resources"][logical_id]
}

#[test]
fn only_this_account_s_ecs_tasks_assume_the_roles() {
    let base = template("services:\n  web:\n    image: nginx:1.27\n", "base");
    let account = serde_yaml::from_str::<Value>("{Ref: AWS::AccountId}").unwrap();
    for role in ["TaskRole", "TaskExecutionRole"] {
        let statements = resource(&base, role)["Properties"]["AssumeRolePolicyDocument"]["Statement"]
            .as_sequence()
            .unwrap();
        for statement in statements {
            assert_eq!(
                statement["Condition"]["StringEquals"]["aws:SourceAccount"], account,
                "{role}: {statement:?}"
            );
        }
    }
    let task_role = &resource(&base, "TaskRole")["Properties"]["AssumeRolePolicyDocument"]["Statement"][0];
    assert_eq!(
        task_role["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"].as_str(),
        Some("arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:*")
    );
}

#[test]
fn the_file_system_admits_the_task_role_only_through_an_access_point() {
    let efs = template(
        "services:\n  db:\n    image: postgres:16\n    volumes:\n      - data:/var/lib/postgresql/data\nvolumes:\n  data:\n",
        "efs",
    );
    let policy = &resource(&efs, "FileSystem")["Properties"]["FileSystemPolicy"];
    let allows: Vec<&Value> = policy["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .collect();
    assert!(!allows.is_empty());
    for allow in allows {
        assert_eq!(
            allow["Condition"]["ArnLike"]["elasticfilesystem:AccessPointArn"]["Fn::Sub"].as_str(),
            Some("arn:${AWS::Partition}:elasticfilesystem:${AWS::Region}:${AWS::AccountId}:access-point/*"),
            "{allow:?}"
        );
    }
}
