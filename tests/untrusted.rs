//! What a compose file from an untrusted pull request cannot do to the output: widen IAM
//! permissions, or make a template that does not parse. The testdata cases show whole outputs;
//! these tests check each property on the parsed templates.

mod common;

use compose2ecs::Conversion;
use serde_yaml::Value;

fn conversion(compose: &str) -> Conversion {
    common::conversion("shop", compose)
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

/// `text` as a YAML double-quoted scalar of the compose file, with `$` doubled so compose's
/// interpolation gives it back as written.
fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '$' => out.push_str("$$"),
            c if c.is_ascii_graphic() || c == ' ' => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", u32::from(c))),
        }
    }
    out.push('"');
    out
}

/// Characters that break a template (YAML refuses them, YAML 1.1 reads them as line breaks, or
/// CloudFormation reads a substitution), and names that climb out of a folder.
const HOSTILE: &[&str] = &[
    "a\u{7f}b",
    "a\u{85}b",
    "a\u{9f}b",
    "a\u{2028}b",
    "a\u{2029}b",
    "a\u{fffe}b",
    "a\u{1b}b",
    "a${AWS::Region}b",
    "a\"b: c",
    "..",
    ".",
];

/// Every user string that reaches a template, in a compose file that converts with a plain value.
fn compose_with(slot: &str, value: &str) -> String {
    let plain = |name: &str| {
        if name == slot {
            quoted(value)
        } else {
            format!("\"{name}\"")
        }
    };
    format!(
        "services:
  web:
    image: nginx:1.27
    ports: [\"80:80\"]
    environment:
      {variable}: sentinel-password-1234
    volumes:
      - type: volume
        source: {volume}
        target: /data
    secrets: [{secret}, {external}]
    x-ecs:
      health_check: {{path: {health}}}
volumes:
  {volume}: {{}}
secrets:
  {secret}:
    file: ./secret.txt
  {external}:
    external: true
    name: {reference}
x-ecs:
  cluster: {cluster}
  environment_secrets: true
",
        variable = plain("DB_PASSWORD"),
        volume = plain("data"),
        secret = plain("token"),
        external = plain("shared"),
        reference = plain("/shop/shared"),
        health = plain("/health"),
        cluster = plain("prod"),
    )
}

#[test]
fn a_user_string_is_refused_or_its_templates_parse() {
    for slot in [
        "DB_PASSWORD",
        "data",
        "token",
        "shared",
        "/shop/shared",
        "/health",
        "prod",
    ] {
        let plain = conversion(&compose_with(slot, slot));
        assert!(!plain.is_refused(false), "{slot}: {:?}", plain.diagnostics);
        for value in HOSTILE {
            let hostile = format!("{slot}{value}");
            let conversion = conversion(&compose_with(slot, &hostile));
            if conversion.is_refused(false) {
                assert!(conversion.output.is_empty(), "{slot} = {hostile:?}");
                continue;
            }
            for (path, text) in conversion.output.iter().filter(|(p, _)| p.ends_with(".yaml")) {
                serde_yaml::from_str::<Value>(text).unwrap_or_else(|e| panic!("{slot} = {hostile:?}: {path}: {e}"));
                assert!(
                    !text
                        .contains(|c: char| (c.is_control() && c != '\n')
                            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{fffe}')),
                    "{slot} = {hostile:?}: {path} holds a raw control or separator"
                );
                assert!(
                    !text.contains("${AWS::Region}b"),
                    "{slot} = {hostile:?}: {path} passes a substitution through"
                );
            }
        }
    }
}
