//! compose2ecs: a docker-compose project in, ECS task definitions, services and CloudFormation out.
//!
//! The pipeline is `load → normalise → plan → emit`, run by [`convert`]; the CLI writes the
//! result with [`write`]. The core reads only what it is given through [`source::Files`] and
//! never prints.
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod deploy;
pub mod diagnostic;
pub mod emit;
pub mod load;
pub mod normalise;
pub mod plan;
pub mod quote;
pub mod render;
pub mod report;
pub mod source;
pub mod support;
pub mod write;

use diagnostic::{Code, Diagnostic, Diagnostics, KeyPath, Severity};
use load::interpolate::Variables;
use plan::Plan;
use std::path::PathBuf;

/// What a conversion reads.
#[derive(Debug, Clone, Default)]
pub struct Input {
    /// The compose files, merged in order ([`load::discover::compose_files`] finds them as
    /// compose does).
    pub compose_files: Vec<PathBuf>,
    /// The name of the project's folder, which names the project when nothing else does; `None`:
    /// the name of the first file's folder.
    pub directory_name: Option<String>,
    /// The process environment, for `${VAR}` interpolation (it wins over `.env`).
    pub environment: Variables,
    /// The deployed stacks' outputs: values by placeholder name, and the stacks they came from.
    pub stack_outputs: load::stack_outputs::SavedOutputs,
    /// Active profiles (`--profile`); COMPOSE_PROFILES adds to them.
    pub profiles: Vec<String>,
    /// `--env-file`: read instead of the `.env` beside the first compose file, in order (later
    /// files win); each must exist.
    pub env_files: Vec<PathBuf>,
    /// `-p`: the project name, over `COMPOSE_PROJECT_NAME` and the top-level `name`.
    pub project_name: Option<String>,
}

/// What a conversion produced: diagnostics always; a plan and files unless refused.
#[derive(Debug)]
pub struct Conversion {
    pub diagnostics: Diagnostics,
    pub plan: Option<Plan>,
    pub output: emit::Output,
    /// The compose files read (included and extended ones too), to show the lines diagnostics
    /// point at.
    pub sources: Vec<source::SourceFile>,
}

impl Conversion {
    /// Whether the input is refused: an error, or with `strict` a warning too.
    pub fn is_refused(&self, strict: bool) -> bool {
        self.plan.is_none()
            || self.diagnostics.has_errors()
            || (strict && self.diagnostics.count(Severity::Warning) > 0)
    }
}

/// Runs the pipeline. `Err` is a program failure (a template bug), never a user's mistake.
pub fn convert(input: &Input, files: &dyn source::Files) -> Result<Conversion, emit::EmitError> {
    let files = &source::Budgeted::new(files);
    let mut diagnostics = Diagnostics::default();
    let refused = |diagnostics, sources| {
        Ok(Conversion {
            diagnostics,
            plan: None,
            output: emit::Output::new(),
            sources,
        })
    };
    let mut loaded = match load::load(input, files, &mut diagnostics) {
        Ok(loaded) => loaded,
        Err(sources) => {
            diagnostics.hide_withheld_values([]);
            diagnostics.sort_by_location();
            diagnostics.merge_repeated();
            return refused(diagnostics, sources);
        }
    };
    let project = normalise::normalise(&loaded, &input.profiles, files, &mut diagnostics);
    let names = loaded.release_tree();
    let plan = project.and_then(|project| plan::plan(&project, &input.stack_outputs, &mut diagnostics));
    let output = match &plan {
        Some(plan) => {
            let output = emit::emit(plan)?;
            check_task_definition_sizes(plan, &output, &mut diagnostics);
            check_patched_templates(plan, &output, &mut diagnostics);
            check_template_limits(&output, &mut diagnostics);
            check_output_size(&output, &mut diagnostics);
            check_unfilled(plan, &input.stack_outputs, &mut diagnostics);
            output
        }
        None => emit::Output::new(),
    };
    diagnostics.hide_withheld_values(names.iter().map(String::as_str));
    source::locate_all_with(&mut diagnostics, &loaded.sources, &loaded.provenance);
    diagnostics.sort_by_location();
    diagnostics.merge_repeated();
    let Some(plan) = plan else {
        return refused(diagnostics, loaded.sources);
    };
    Ok(Conversion {
        diagnostics,
        plan: Some(plan),
        output,
        sources: loaded.sources,
    })
}

/// The most bytes all the output files may hold together: thousands of services write tens of
/// megabytes; past this, a file is multiplying itself, and the output would fill disks and
/// pull requests.
const MAXIMUM_OUTPUT_BYTES: usize = 256 * 1024 * 1024;

fn check_output_size(output: &emit::Output, diagnostics: &mut Diagnostics) {
    let total: usize = output.values().map(String::len).sum();
    if total > MAXIMUM_OUTPUT_BYTES {
        diagnostics.push(
            Diagnostic::error(
                Code::OutputTooLarge,
                KeyPath::root(),
                format!(
                    "the output would be {} MiB; compose2ecs writes at most {} MiB",
                    total.div_ceil(1024 * 1024),
                    MAXIMUM_OUTPUT_BYTES / (1024 * 1024)
                ),
            )
            .with_help("convert fewer services at a time, or shorten what each repeats"),
        );
    }
}

/// The most bytes ECS takes for one task definition (RegisterTaskDefinition's request).
const MAXIMUM_TASK_DEFINITION_BYTES: usize = 64 * 1024;

/// CloudFormation's quotas on one template, which no AWS checker run before deploying sees:
/// resources, outputs and parameters by count, and the body by size (through S3, which `deploy`
/// uses with `--s3-bucket`). Checked on what is about to be written (the plan cannot count a
/// template's resources); located at what grows each part most.
fn check_template_limits(output: &emit::Output, diagnostics: &mut Diagnostics) {
    const PARTS: &[(&str, usize)] = &[("Resources", 500), ("Outputs", 200), ("Parameters", 200)];
    const BODY_BYTES: usize = 1024 * 1024;
    for (path, text) in output.iter().filter(|(path, _)| path.starts_with("cloudformation/")) {
        let name = path.trim_start_matches("cloudformation/");
        // Named volumes fill `efs.yaml`, published ports the load balancers', secrets theirs.
        let at = match name {
            _ if name.starts_with("efs") => KeyPath::root().key("volumes"),
            _ if name.starts_with("secrets") => KeyPath::root().key("secrets"),
            _ => KeyPath::root().key("services"),
        };
        let mut push = |what: String| {
            diagnostics.push(
                Diagnostic::error(Code::TemplateLimit, at.clone(), format!("`{name}` would have {what}")).with_help(
                    "split the project into smaller ones (each its own stacks), or use fewer of what fills it",
                ),
            );
        };
        if text.len() > BODY_BYTES {
            push(format!(
                "{} bytes; CloudFormation takes a template of at most {BODY_BYTES}",
                text.len()
            ));
        }
        let Ok(template) = serde_yaml::from_str::<serde_yaml::Value>(text) else {
            continue;
        };
        for (part, most) in PARTS {
            let count = template[*part].as_mapping().map_or(0, serde_yaml::Mapping::len);
            if count > *most {
                push(format!(
                    "{count} {}; CloudFormation takes at most {most}",
                    part.to_lowercase()
                ));
            }
        }
    }
}

/// A patch that names a resource the template does not have makes one with no `Type`, which
/// CloudFormation refuses (a resource compose2ecs names otherwise, or a typo): an error at the
/// patch's resource, checked on the merged template (plan cannot know the template's resources).
fn check_patched_templates(plan: &Plan, output: &emit::Output, diagnostics: &mut Diagnostics) {
    if plan.overlays.is_empty() {
        return;
    }
    let templates: Vec<(&str, serde_yaml::Value)> = output
        .iter()
        .filter_map(|(path, text)| Some((path.strip_prefix("cloudformation/")?, serde_yaml::from_str(text).ok()?)))
        .collect();
    for overlay in &plan.overlays {
        // Docker's one document may patch any template; a template's own patch, that template.
        let mine: Vec<&serde_yaml::Value> = templates
            .iter()
            .filter(|(name, _)| overlay.template.is_empty() || *name == overlay.template)
            .map(|(_, template)| template)
            .collect();
        if mine.is_empty() {
            continue;
        }
        // A resource patched to `null` is removed, as the patch says.
        let patched = overlay.patch["Resources"]
            .as_mapping()
            .into_iter()
            .flatten()
            .filter(|(_, resource)| !resource.is_null())
            .map(|(id, _)| id);
        for id in patched.filter_map(serde_yaml::Value::as_str) {
            if mine.iter().all(|template| template["Resources"][id]["Type"].is_null()) {
                let message = match overlay.template.as_str() {
                    "" => format!("no generated template has a resource `{id}`, and the patch gives it no `Type`"),
                    template => format!("`{template}` has no resource `{id}`, and the patch gives it no `Type`"),
                };
                diagnostics.push(
                    Diagnostic::error(Code::BadSetting, overlay.path.key("Resources").key(id), message).with_help(
                        "patch a resource by the name the generated template gives it, or give a new one its `Type`",
                    ),
                );
            }
        }
    }
}

/// ECS's limit on what is about to be written, checked on the rendered JSON (plan cannot know its
/// size): `extends` and long values can make a task definition larger than ECS takes. An error at
/// the task's first service.
fn check_task_definition_sizes(plan: &Plan, output: &emit::Output, diagnostics: &mut Diagnostics) {
    use diagnostic::{Diagnostic, KeyPath};
    for task in &plan.tasks {
        let size = output
            .get(&format!("taskdefs/{}.json", task.name))
            .map_or(0, String::len);
        if size > MAXIMUM_TASK_DEFINITION_BYTES {
            let at = task
                .containers
                .first()
                .map_or_else(KeyPath::root, |c| KeyPath::root().key("services").key(&c.service));
            diagnostics.push(
                Diagnostic::error(
                    Code::TaskDefinitionTooLarge,
                    at,
                    format!(
                        "the task definition of `{}` would be {} KiB; ECS takes at most 64 KiB",
                        task.name,
                        size.div_ceil(1024)
                    ),
                )
                .with_help("put long values (environment, command, labels) in the image or in fewer services per task"),
            );
        }
    }
}

/// A placeholder whose stack's outputs were read, and lack it: the saved outputs are older than
/// the compose file (a volume or a port added since), and writing it would undo the filled output.
fn check_unfilled(plan: &Plan, saved: &load::stack_outputs::SavedOutputs, diagnostics: &mut Diagnostics) {
    use diagnostic::{Diagnostic, KeyPath};
    for missing in &plan.missing {
        let Some(stack) = missing.stack.as_deref().and_then(|kind| plan.stack(kind)) else {
            continue;
        };
        let stack = &stack.name;
        if saved.stacks.contains(stack) {
            diagnostics.push(
                Diagnostic::error(
                    Code::UnfilledPlaceholder,
                    KeyPath::root(),
                    format!("`{{{{{}}}}}` is not filled: the saved outputs of stack `{stack}` have no output `{}`", missing.name, missing.name),
                )
                .with_help("the stack is older than the compose file: `compose2ecs deploy` deploys it again and saves its outputs"),
            );
        }
    }
}

/// A compose text with `created` secrets from variables (`s000`, …) and `existing` SSM
/// parameters by ARN (`e000`, …), with names of at least `length` characters, used by services of
/// 50 each (a task definition holds only so many): for the unit tests of secrets stacks.
#[cfg(test)]
pub(crate) fn compose_with_secrets(created: usize, existing: usize, length: usize) -> String {
    let pad = "x".repeat(length.saturating_sub(4));
    let names: Vec<String> = (0..created)
        .map(|i| format!("s{pad}{i:03}"))
        .chain((0..existing).map(|i| format!("e{pad}{i:03}")))
        .collect();
    let mut compose = String::from("services:\n");
    for (i, chunk) in names.chunks(50).enumerate() {
        compose.push_str(&format!(
            "  app{i}:\n    image: a\n    secrets: [{}]\n",
            chunk.join(", ")
        ));
    }
    compose.push_str("secrets:\n");
    for (i, name) in names.iter().enumerate() {
        if i < created {
            compose.push_str(&format!("  {name}: {{environment: S{i}}}\n"));
        } else {
            let arn = format!("arn:aws:ssm:us-east-1:123456789012:parameter/app/{name}");
            compose.push_str(&format!("  {name}: {{external: true, name: \"{arn}\"}}\n"));
        }
    }
    compose
}

/// The conversion of one compose text, as the `compose.yaml` of a folder named `app`: for the
/// unit tests of the stages.
#[cfg(test)]
pub(crate) fn test_conversion(compose: &str) -> Conversion {
    test_conversion_deployed(compose, load::stack_outputs::SavedOutputs::default())
}

/// The same, with the outputs of stacks deployed before.
#[cfg(test)]
pub(crate) fn test_conversion_deployed(compose: &str, stack_outputs: load::stack_outputs::SavedOutputs) -> Conversion {
    let mut files = source::MemoryFiles::default();
    files
        .0
        .insert(PathBuf::from("compose.yaml"), compose.as_bytes().to_vec());
    let input = Input {
        compose_files: vec![PathBuf::from("compose.yaml")],
        directory_name: Some("app".to_string()),
        stack_outputs,
        ..Input::default()
    };
    convert(&input, &files).expect("no program failure")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where each error of a conversion is.
    fn error_paths(conversion: &Conversion) -> Vec<String> {
        conversion
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| d.path.to_string())
            .collect()
    }

    #[test]
    fn a_template_past_cloudformation_s_quotas_is_refused() {
        // A patch that adds 501 resources to `base.yaml`.
        let mut compose = String::from(
            "services:\n  app:\n    image: a\nx-ecs:\n  cloudformation:\n    base.yaml:\n      Resources:\n",
        );
        for i in 0..501 {
            compose.push_str(&format!("        Topic{i}: {{Type: 'AWS::SNS::Topic'}}\n"));
        }
        let conversion = test_conversion(&compose);
        let found: Vec<(Code, String)> = conversion
            .diagnostics
            .iter()
            .filter(|d| d.code == Code::TemplateLimit)
            .map(|d| (d.code, d.path.to_string()))
            .collect();
        assert_eq!(
            found,
            [(Code::TemplateLimit, "services".to_string())],
            "{:?}",
            conversion.diagnostics
        );
        assert!(conversion.is_refused(false));
    }

    #[test]
    fn docker_s_document_goes_to_the_template_that_has_each_resource() {
        let compose = "services:\n  web: {image: nginx, ports: ['80:80']}\nx-aws-cloudformation:\n  Resources:\n    \
                       LoadBalancer: {Properties: {Scheme: internal}}\n    Alerts: {Type: 'AWS::SNS::Topic'}\n    \
                       WebTCP80TargetGroup: {Properties: {HealthCheckPath: /health}}\n";
        let conversion = test_conversion(compose);
        let errors = error_paths(&conversion);
        assert_eq!(
            errors,
            ["x-aws-cloudformation.Resources.WebTCP80TargetGroup"],
            "Docker's name for it"
        );
        let removed = test_conversion(&compose.replace(
            "WebTCP80TargetGroup: {Properties: {HealthCheckPath: /health}}",
            "Alerts2: null",
        ));
        assert!(
            removed.plan.is_some(),
            "a resource patched to null is removed, not refused"
        );
        let fine = test_conversion(&compose.replace(
            "    WebTCP80TargetGroup: {Properties: {HealthCheckPath: /health}}\n",
            "",
        ));
        let alb = &fine.output["cloudformation/alb.yaml"];
        let base = &fine.output["cloudformation/base.yaml"];
        assert!(alb.contains("Scheme: \"internal\""), "{alb}");
        assert!(
            base.contains("Alerts:") && !alb.contains("Alerts:"),
            "a new resource is the base stack's"
        );
    }

    #[test]
    fn a_patch_of_a_resource_the_template_does_not_have_is_refused() {
        let compose = "services:\n  web: {image: nginx, ports: ['80:80']}\nx-ecs:\n  cloudformation:\n    alb.yaml:\n      Resources:\n        \
                       WebTCP80TargetGroup: {Properties: {HealthCheckPath: /health}}\n        \
                       Alerts: {Type: 'AWS::SNS::Topic'}\n        TargetGroupPort80: {Properties: {HealthCheckIntervalSeconds: 60}}\n";
        let conversion = test_conversion(compose);
        let errors = error_paths(&conversion);
        assert_eq!(
            errors,
            ["x-ecs.cloudformation.alb.yaml.Resources.WebTCP80TargetGroup"],
            "Docker's name for the target group; a new resource with a Type and a patch of an existing one are fine"
        );
    }

    #[test]
    fn output_past_the_limit_is_refused() {
        let mut diagnostics = Diagnostics::default();
        let mut output = emit::Output::new();
        output.insert("taskdefs/a.json".into(), "x".repeat(MAXIMUM_OUTPUT_BYTES / 2));
        check_output_size(&output, &mut diagnostics);
        assert!(!diagnostics.has_errors());
        output.insert("taskdefs/b.json".into(), "x".repeat(MAXIMUM_OUTPUT_BYTES / 2 + 1));
        check_output_size(&output, &mut diagnostics);
        assert_eq!(
            diagnostics.iter().map(|d| d.code).collect::<Vec<_>>(),
            [Code::OutputTooLarge]
        );
    }
}
