//! Views of the Plan for the `plan` command: a table for people, JSON for scripts, and a Mermaid
//! diagram for a README or a pull request.

use crate::plan::passwords::{mask_arguments, mask_credentials, names_a_secret};
use crate::plan::{GroupReason, Outcome, Plan, ReferenceSite};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;

/// The version of the JSON view; it changes only when a field changes meaning or goes away.
const JSON_VERSION: u32 = 1;

#[derive(Serialize)]
struct JsonView<'a> {
    version: u32,
    plan: &'a Plan,
}

/// One diagnostic as one line of JSON (`--message-format json`): severity, code, message, key
/// path, location (file, line, column) and help.
pub fn diagnostic_json(diagnostic: &crate::diagnostic::Diagnostic) -> String {
    serde_json::to_string(diagnostic).expect("a diagnostic always serialises")
}

/// The plan as pretty JSON with one trailing newline, its secrets masked.
pub fn json(plan: &Plan) -> String {
    let masked = masked(plan);
    let view = JsonView {
        version: JSON_VERSION,
        plan: &masked,
    };
    let mut text = serde_json::to_string_pretty(&view).expect("a plan always serialises");
    text.push('\n');
    text
}

/// The plan with every value that holds a secret shown as `***`: a variable or label whose name
/// says it is a secret, whole; a password in any value (a URL's, `password=`), in place. The task
/// definitions keep the values; a view of the plan is printed, to a CI log as often as not.
fn masked(plan: &Plan) -> Plan {
    let value = |(name, value): &(String, String)| {
        let shown = if names_a_secret(name) && !value.is_empty() {
            "***".to_string()
        } else {
            mask_credentials(value)
        };
        (name.clone(), shown)
    };
    let arguments = |list: &mut [String]| {
        let masked = mask_arguments(list);
        for (argument, shown) in list.iter_mut().zip(masked) {
            *argument = shown;
        }
    };
    let mut plan = plan.clone();
    for task in &mut plan.tasks {
        task.tags = task.tags.iter().map(value).collect();
        for container in &mut task.containers {
            container.environment = container.environment.iter().map(value).collect();
            container.runtime.docker_labels = container.runtime.docker_labels.iter().map(value).collect();
            let health_check = container.health_check.as_mut().map(|h| h.command.as_mut_slice());
            for list in [
                container.command.as_deref_mut(),
                container.entrypoint.as_deref_mut(),
                health_check,
            ] {
                arguments(list.unwrap_or_default());
            }
        }
    }
    plan
}

fn grouping(reason: &GroupReason) -> String {
    match reason {
        GroupReason::Alone => "its own task".to_string(),
        GroupReason::XEcsTask { task } => format!("x-ecs.task: {task}"),
        GroupReason::FamilyLabel { family } => format!("ecs.task.family: {family}"),
        GroupReason::NetworkMode { service } => format!("network_mode: service:{service}"),
        GroupReason::SecretsWriter => "writes the secrets' files".to_string(),
    }
}

fn site(site: &ReferenceSite) -> String {
    match site {
        ReferenceSite::Environment { variable } => variable.clone(),
        ReferenceSite::Command { argument } => format!("command[{argument}]"),
        ReferenceSite::Entrypoint { argument } => format!("entrypoint[{argument}]"),
        ReferenceSite::Healthcheck { argument } => format!("healthcheck.test[{argument}]"),
    }
}

fn outcome(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Localhost => "localhost (same task)".to_string(),
        Outcome::ServiceConnect { alias, port } => format!("Service Connect alias {alias}:{port}"),
        Outcome::External { host, port: Some(port) } => format!("external {host}:{port}"),
        Outcome::External { host, port: None } => format!("external {host}"),
        Outcome::LeftAlone { why } => format!("left alone: {why}"),
    }
}

/// Rows padded into columns.
fn columns(rows: &[Vec<String>], indent: &str, out: &mut String) {
    let count = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..count)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let mut line = indent.to_string();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

/// Tasks with their containers and why each is there, public ports and rollout, the load
/// balancer's public ports, external services, and every reference with its outcome.
pub fn table(plan: &Plan) -> String {
    let mut out = format!("project {}\n", plan.project);
    for task in &plan.tasks {
        let copies = if task.desired_count == 1 { "copy" } else { "copies" };
        let scaling = task.autoscaling.as_ref().map_or_else(String::new, |a| {
            let targets: Vec<String> = [("CPU", a.cpu_target), ("memory", a.memory_target)]
                .iter()
                .filter_map(|(what, target)| target.map(|t| format!("{what} {t}%")))
                .collect();
            format!(", autoscaling {}–{} on {}", a.min, a.max, targets.join(" and "))
        });
        writeln!(
            out,
            "\ntask {} (family {}, {} CPU units, {} MiB, {} {copies}{scaling})",
            task.name, task.family, task.size.cpu, task.size.memory, task.desired_count
        )
        .unwrap();
        let rows: Vec<Vec<String>> = task
            .containers
            .iter()
            .map(|c| {
                let public: Vec<String> = plan
                    .listeners
                    .iter()
                    .flat_map(|l| {
                        let default = (l.default_target.container == c.name)
                            .then(|| format!("{}→{}", l.port, l.default_target.container_port));
                        let rules = l.rules.iter().filter(|r| r.target.container == c.name).map(|r| {
                            let conditions: Vec<&str> = r.paths.iter().chain(&r.hosts).map(String::as_str).collect();
                            format!("{}→{} ({})", l.port, r.target.container_port, conditions.join(" "))
                        });
                        default.into_iter().chain(rules)
                    })
                    .collect();
                vec![
                    c.name.clone(),
                    grouping(&c.grouping),
                    if c.essential { "essential" } else { "may stop" }.to_string(),
                    if public.is_empty() {
                        String::new()
                    } else {
                        format!("public {}", public.join(", "))
                    },
                ]
            })
            .collect();
        columns(&rows, "  ", &mut out);
        let breaker = &task.rollout.circuit_breaker;
        let failed = match (breaker.enable, breaker.rollback) {
            (true, true) => "; a failed deployment rolls back",
            (true, false) => "; a failed deployment stops",
            (false, _) => "",
        };
        writeln!(out, "  rollout: {}{failed}", task.rollout.reason).unwrap();
    }
    if !plan.public_ports.is_empty() {
        let ports: Vec<String> = plan
            .public_ports
            .iter()
            .map(|port| {
                let https = plan.listeners.iter().any(|l| l.port == *port && l.protocol == "HTTPS");
                match &plan.https {
                    Some(h) if h.redirect_port == *port => format!("{port} (redirects to {})", h.redirect_to_port),
                    _ if https => format!("{port} (HTTPS)"),
                    _ => port.to_string(),
                }
            })
            .collect();
        writeln!(out, "\npublic ports: {}", ports.join(", ")).unwrap();
    }
    writeln!(
        out,
        "\ncreate the services in this order: {}",
        plan.creation_order.join(", ")
    )
    .unwrap();
    if !plan.external.is_empty() {
        out.push_str("\noutside ECS\n");
        let rows: Vec<Vec<String>> = plan
            .external
            .iter()
            .map(|e| {
                let endpoint = match e.port {
                    Some(port) => format!("{}:{port}", e.host),
                    None => e.host.clone(),
                };
                vec![e.service.clone(), endpoint]
            })
            .collect();
        columns(&rows, "  ", &mut out);
    }
    if !plan.references.is_empty() {
        out.push_str("\nreferences\n");
        let rows: Vec<Vec<String>> = plan
            .references
            .iter()
            .map(|r| {
                vec![
                    r.service.clone(),
                    site(&r.site),
                    if r.name == r.target {
                        r.name.clone()
                    } else {
                        format!("{} (= {})", r.name, r.target)
                    },
                    outcome(&r.outcome),
                ]
            })
            .collect();
        columns(&rows, "  ", &mut out);
    }
    out
}

/// Tasks as boxes holding their containers, external services as databases, references as arrows.
/// Nodes are numbered, since names such as `a-b` and `a_b` must stay apart.
pub fn mermaid(plan: &Plan) -> String {
    let mut out = String::from("flowchart LR\n");
    let mut ids: HashMap<&str, String> = HashMap::new();
    for (t, task) in plan.tasks.iter().enumerate() {
        writeln!(out, "  subgraph task{t}[\"task {}\"]", task.name).unwrap();
        for container in &task.containers {
            let id = format!("c{}", ids.len());
            writeln!(out, "    {id}[\"{}\"]", container.name).unwrap();
            ids.insert(&container.service, id);
        }
        out.push_str("  end\n");
    }
    for external in &plan.external {
        let id = format!("c{}", ids.len());
        writeln!(out, "  {id}[(\"{} (external)\")]", external.service).unwrap();
        ids.insert(&external.service, id);
    }
    let mut edges = BTreeSet::new();
    for reference in plan.references.iter().filter(|r| r.service != r.target) {
        let label = match &reference.outcome {
            Outcome::Localhost => "localhost".to_string(),
            Outcome::ServiceConnect { alias, port } => format!("{alias}:{port}"),
            Outcome::External { .. } => "external".to_string(),
            Outcome::LeftAlone { .. } => continue,
        };
        if let (Some(from), Some(to)) = (ids.get(reference.service.as_str()), ids.get(reference.target.as_str())) {
            edges.insert((from.clone(), to.clone(), label));
        }
    }
    for (from, to, label) in edges {
        writeln!(out, "  {from} -->|\"{label}\"| {to}").unwrap();
    }
    out
}
