//! Snapshot tests over `testdata/<case>/`: each case's diagnostics, plan (its table view) and every
//! emitted file in one snapshot. Cases named `err-*` must be refused; the others must convert.
//! Each converts the same twice, from a relative and from an absolute path.

use compose2ecs::diagnostic::Severity;
use compose2ecs::source::FileSystem;
use compose2ecs::{convert, render, Conversion, Input};
use std::fmt::Write;
use std::path::Path;

/// The files a case converts: its compose file, then its override file if it has one (as the CLI
/// picks them), as the CLI does when run in the case folder.
fn compose_files(case: &Path) -> Vec<std::path::PathBuf> {
    ["docker-compose.yml", "docker-compose.override.yml"]
        .iter()
        .map(|name| case.join(name))
        .filter(|path| path.is_file())
        .collect()
}

/// Converts the case in the folder `case` (a path in any form) as the CLI would there.
fn convert_case(case: &Path) -> Conversion {
    let input = Input {
        compose_files: compose_files(case),
        directory_name: Some(case.file_name().unwrap().to_string_lossy().into_owned()),
        environment: [("COMPOSE2ECS_TEST", "set")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Input::default()
    };
    convert(&input, &FileSystem).expect("no program failure")
}

/// The diagnostics as the CLI prints them with `-v` (notes too), without colour: each with the
/// line of the file it points at and a caret under the key, or else its place as text.
fn diagnostics_text(conversion: &Conversion) -> String {
    let sources = render::SourceLines::new(&conversion.sources);
    let mut text = String::new();
    for diagnostic in conversion.diagnostics.iter() {
        let line = diagnostic
            .location
            .as_ref()
            .and_then(|at| sources.line(&at.file, at.line));
        writeln!(text, "{}", render::human(diagnostic, line, false)).unwrap();
    }
    text
}

/// Converts one case into the snapshot text.
pub fn render_case(case: &Path) -> (String, bool) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let relative = case.strip_prefix(root).unwrap_or(case);
    let conversion = convert_case(relative);
    let mut text = String::from("--- diagnostics ---\n");
    text.push_str(&diagnostics_text(&conversion));
    // The plan as `compose2ecs plan` shows it; the files below hold everything else it decides.
    if let Some(plan) = &conversion.plan {
        text.push_str("--- table ---\n");
        text.push_str(&compose2ecs::report::table(plan));
    }
    for (path, contents) in &conversion.output {
        writeln!(text, "--- {path} ---").unwrap();
        text.push_str(contents);
    }
    if let Some(plan) = &conversion.plan {
        check_cross_references(plan, &conversion.output);
    }
    let refused = conversion.is_refused(false);
    assert_eq!(
        conversion.diagnostics.has_errors(),
        conversion.diagnostics.count(Severity::Error) > 0,
        "error count and has_errors agree"
    );
    (text, refused)
}

#[test]
fn testdata_cases() {
    // Tests run in the package folder, so case paths (and the paths in diagnostics) are relative.
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    insta::glob!("../testdata", "*/docker-compose.yml", |compose| {
        let case = compose.parent().unwrap();
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let (text, refused) = render_case(case);
        assert_eq!(
            refused,
            name.starts_with("err-"),
            "case {name}: refused = {refused}\n{text}"
        );
        insta::assert_snapshot!(text);
    });
}

/// Conversion depends on the files alone, not on the run or the form of their path: each case,
/// converted twice, once from a relative and once from an absolute path, gives the same plan and
/// files, and the same diagnostics but for the path they name the files by. Whatever varies from
/// run to run (an iteration order, a counter) shows between any two conversions, so one pair
/// proves both. In-process, as running the binary for each case took most of `cargo test`'s
/// time; tests/cli/conversion.rs proves the CLI writes these bytes.
#[test]
fn every_case_converts_the_same_twice_from_a_relative_and_an_absolute_path() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::env::set_current_dir(root).unwrap();
    let mut cases: Vec<String> = std::fs::read_dir(root.join("testdata"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| root.join("testdata").join(name).join("docker-compose.yml").is_file())
        .collect();
    cases.sort();
    let prefix = format!("{}/", root.display());
    for name in &cases {
        let relative = Path::new("testdata").join(name);
        let first = convert_case(&relative);
        let absolute = convert_case(&root.join(&relative));
        assert_eq!(
            diagnostics_text(&first),
            diagnostics_text(&absolute).replace(&prefix, ""),
            "{name}: diagnostics"
        );
        let plan = |c: &Conversion| c.plan.as_ref().map(compose2ecs::report::json);
        assert_eq!(plan(&first), plan(&absolute), "{name}: plan");
        assert_eq!(first.output, absolute.output, "{name}: files");
    }
    assert!(
        cases.iter().filter(|name| !name.starts_with("err-")).count() >= 10,
        "the testdata cases were found"
    );
}

/// What no AWS checker verifies: every name one part of the output uses exists where it points.
/// A `loadBalancers` container and port, a Service Connect `portName`, a `dependsOn` container, a
/// `volumesFrom` container and a mount's volume must be in the task (each volume declared once); each placeholder must be listed as missing, and each missing
/// stack output must be an output of that stack's template. Every template must parse as YAML.
fn check_cross_references(plan: &compose2ecs::plan::Plan, output: &compose2ecs::emit::Output) {
    for task in &plan.tasks {
        check_task_references(task, output);
    }
    check_connect_names(plan, output);
    check_placeholders(plan, output);
    check_stacks(plan, output);
}

/// What `deploy` reads from the plan matches the templates: one template per planned stack, each
/// with exactly the parameters the plan fills (an output read from a stack that has it), and IAM
/// resources only where the plan acknowledges `CAPABILITY_IAM`.
fn check_stacks(plan: &compose2ecs::plan::Plan, output: &compose2ecs::emit::Output) {
    use compose2ecs::plan::ParameterSource;
    let templates: Vec<&String> = output.keys().filter(|p| p.starts_with("cloudformation/")).collect();
    let mut planned: Vec<String> = plan.stacks.iter().map(|s| s.template()).collect();
    planned.sort();
    assert_eq!(templates, planned.iter().collect::<Vec<_>>(), "a template per stack");
    let parse = |path: &str| -> serde_yaml::Value { serde_yaml::from_str(&output[path]).unwrap() };
    for stack in &plan.stacks {
        let template = parse(&stack.template());
        let mut declared: Vec<&str> = template["Parameters"]
            .as_mapping()
            .map(|m| m.keys().map(|k| k.as_str().unwrap()).collect())
            .unwrap_or_default();
        let mut filled: Vec<&str> = stack.parameters.iter().map(|p| p.name).collect();
        declared.sort_unstable();
        filled.sort_unstable();
        assert_eq!(declared, filled, "{}: parameters", stack.name);
        for parameter in &stack.parameters {
            if let ParameterSource::Output { stack: from, key } = parameter.source {
                let source = plan
                    .stacks
                    .iter()
                    .find(|s| s.kind == from)
                    .expect("the stack deployed before");
                assert!(
                    !parse(&source.template())["Outputs"][key].is_null(),
                    "{}: {key} is not an output of {}",
                    stack.name,
                    source.name
                );
            }
        }
        let iam = template["Resources"].as_mapping().is_some_and(|resources| {
            resources
                .values()
                .any(|r| r["Type"].as_str().is_some_and(|t| t.starts_with("AWS::IAM::")))
        });
        assert_eq!(
            iam, stack.creates_iam,
            "{}: IAM resources and CAPABILITY_IAM",
            stack.name
        );
    }
}

/// The parsed JSON file `path` of the output.
fn output_json(output: &compose2ecs::emit::Output, path: &str) -> serde_json::Value {
    serde_json::from_str(&output[path]).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Within one task: containers, volumes, ports and Service Connect port names used are declared.
fn check_task_references(task: &compose2ecs::plan::TaskGroup, output: &compose2ecs::emit::Output) {
    use serde_json::Value;
    let json = |path: &str| output_json(output, path);
    let taskdef = json(&format!("taskdefs/{}.json", task.name));
    let service = json(&format!("services/{}.json", task.name));
    assert_eq!(service["taskDefinition"], taskdef["family"]);
    let containers = taskdef["containerDefinitions"].as_array().unwrap();
    let names: Vec<&str> = containers.iter().map(|c| c["name"].as_str().unwrap()).collect();
    let port_names: Vec<&Value> = containers
        .iter()
        .flat_map(|c| c["portMappings"].as_array().into_iter().flatten())
        .map(|m| &m["name"])
        .collect();
    let volumes: Vec<&str> = taskdef["volumes"]
        .as_array()
        .map(|v| v.iter().map(|v| v["name"].as_str().unwrap()).collect())
        .unwrap_or_default();
    for container in containers {
        for dependency in container["dependsOn"].as_array().into_iter().flatten() {
            assert!(
                names.contains(&dependency["containerName"].as_str().unwrap()),
                "{dependency}"
            );
        }
        for mount in container["mountPoints"].as_array().into_iter().flatten() {
            assert!(volumes.contains(&mount["sourceVolume"].as_str().unwrap()), "{mount}");
        }
        for source in container["volumesFrom"].as_array().into_iter().flatten() {
            let source_name = source["sourceContainer"].as_str().unwrap();
            assert!(
                names.contains(&source_name) && source_name != container["name"],
                "{source}"
            );
        }
        // Each task volume is declared once.
        let mut declared = volumes.clone();
        declared.sort_unstable();
        declared.dedup();
        assert_eq!(
            declared.len(),
            volumes.len(),
            "a volume declared twice in {}",
            task.name
        );
    }
    for balancer in service["loadBalancers"].as_array().into_iter().flatten() {
        let container = containers
            .iter()
            .find(|c| c["name"] == balancer["containerName"])
            .expect("lb container");
        let ports = container["portMappings"].as_array().expect("lb container has ports");
        assert!(
            ports.iter().any(|p| p["containerPort"] == balancer["containerPort"]),
            "{balancer}"
        );
    }
    let connect = &service["serviceConnectConfiguration"];
    for offered in connect["services"].as_array().into_iter().flatten() {
        assert!(port_names.contains(&&offered["portName"]), "{offered}");
    }
    assert_eq!(connect.is_null(), task.service_connect.is_none());
}

/// In one namespace, each Cloud Map name and each client alias (name and port) is unique, and a
/// Service Connect service has exactly one client alias.
fn check_connect_names(plan: &compose2ecs::plan::Plan, output: &compose2ecs::emit::Output) {
    let json = |path: &str| output_json(output, path);
    let mut discovery_names = std::collections::BTreeSet::new();
    let mut aliases = std::collections::BTreeSet::new();
    for task in &plan.tasks {
        let service = json(&format!("services/{}.json", task.name));
        for offered in service["serviceConnectConfiguration"]["services"]
            .as_array()
            .into_iter()
            .flatten()
        {
            assert!(
                discovery_names.insert(offered["discoveryName"].to_string()),
                "{offered}"
            );
            let client_aliases = offered["clientAliases"].as_array().unwrap();
            assert_eq!(client_aliases.len(), 1, "{offered}");
            assert!(aliases.insert(client_aliases[0].to_string()), "{offered}");
        }
    }
}

/// Every template parses and its `Ref`s resolve; each placeholder is listed as missing, and each
/// missing stack output is an output of that stack's template.
fn check_placeholders(plan: &compose2ecs::plan::Plan, output: &compose2ecs::emit::Output) {
    let outputs_of = |stack: &str| -> Vec<String> {
        let template: serde_yaml::Value =
            serde_yaml::from_str(&output[&format!("cloudformation/{stack}.yaml")]).unwrap();
        template["Outputs"]
            .as_mapping()
            .unwrap()
            .keys()
            .map(|k| k.as_str().unwrap().to_string())
            .collect()
    };
    for (path, text) in output {
        if path.ends_with(".yaml") {
            let template: serde_yaml::Value = serde_yaml::from_str(text).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert!(template["Resources"].is_mapping(), "{path} has resources");
            check_template_references(path, &template);
        }
        let mut rest = text.as_str();
        while let Some(start) = rest.find("\"{{") {
            // A placeholder may start a value (`{{DbSecretArn}}:password::`).
            let end = rest[start..].find("}}").expect("closed placeholder") + start;
            let name = &rest[start + 3..end];
            rest = &rest[end..];
            // A CloudFormation dynamic reference (`{{resolve:secretsmanager:…}}`) is no placeholder.
            if name.starts_with("resolve:secretsmanager:") {
                continue;
            }
            assert!(
                plan.missing.iter().any(|m| m.name == name),
                "{path}: placeholder {name} is not listed as missing"
            );
        }
    }
    for missing in &plan.missing {
        if let Some(stack) = &missing.stack {
            assert!(
                outputs_of(stack).contains(&missing.name),
                "{} is not an output of {stack}.yaml",
                missing.name
            );
        }
    }
}

/// Every `Ref` of a template names one of its parameters or resources (or a pseudo parameter),
/// every `Fn::GetAtt` one of its resources, and the rules of one listener have different priorities.
fn check_template_references(path: &str, template: &serde_yaml::Value) {
    use serde_yaml::Value;
    let names = |section: &str| -> Vec<String> {
        template[section]
            .as_mapping()
            .map(|m| m.keys().filter_map(|k| k.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    let resources = names("Resources");
    let mut referable = names("Parameters");
    referable.extend(resources.iter().cloned());
    fn walk(value: &Value, visit: &mut dyn FnMut(&str, &Value)) {
        match value {
            Value::Mapping(map) => {
                for (key, item) in map {
                    if let Some(key) = key.as_str() {
                        visit(key, item);
                    }
                    walk(item, visit);
                }
            }
            Value::Sequence(items) => items.iter().for_each(|item| walk(item, visit)),
            _ => {}
        }
    }
    walk(&template["Resources"], &mut |key, item| match key {
        "Ref" => {
            let name = item.as_str().unwrap_or_default();
            assert!(
                name.starts_with("AWS::") || referable.iter().any(|r| r == name),
                "{path}: Ref {name} names nothing"
            );
        }
        "Fn::GetAtt" => {
            let name = item[0].as_str().unwrap_or_default();
            assert!(
                resources.iter().any(|r| r == name),
                "{path}: GetAtt {name} names no resource"
            );
        }
        _ => {}
    });
    let mut priorities = std::collections::BTreeSet::new();
    for resource in template["Resources"].as_mapping().into_iter().flat_map(|m| m.values()) {
        if resource["Type"].as_str() == Some("AWS::ElasticLoadBalancingV2::ListenerRule") {
            let properties = &resource["Properties"];
            let listener = properties["ListenerArn"]["Ref"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let priority = properties["Priority"].as_u64().expect("a numeric priority");
            assert!(
                priorities.insert((listener, priority)),
                "{path}: priority {priority} twice"
            );
        }
    }
}

/// The `plan` command's three views, on cases that show every grouping rule and outcome.
#[test]
fn plan_views() {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    for case in ["three-outcomes", "aliases", "network-mode", "autoscaling"] {
        let path = Path::new("testdata").join(case);
        let input = Input {
            compose_files: compose_files(&path),
            directory_name: Some(case.to_string()),
            ..Input::default()
        };
        let conversion = convert(&input, &FileSystem).expect("no program failure");
        let plan = conversion.plan.expect("the case converts");
        insta::assert_snapshot!(format!("{case}-table"), compose2ecs::report::table(&plan));
        insta::assert_snapshot!(format!("{case}-mermaid"), compose2ecs::report::mermaid(&plan));
        let json = compose2ecs::report::json(&plan);
        let parsed: serde_json::Value = serde_json::from_str(&json).expect("the JSON view parses");
        assert_eq!(parsed["version"], 1);
        assert_eq!(parsed["plan"]["tasks"].as_array().map(Vec::len), Some(plan.tasks.len()));
        insta::assert_snapshot!(format!("{case}-json"), json);
    }
}
