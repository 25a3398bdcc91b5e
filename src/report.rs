//! Views of the Plan for the `plan` command: a table for people, JSON for scripts, and a Mermaid
//! diagram for a README or a pull request.

use crate::normalise::Protocol;
use crate::plan::{
    Container, Exposure, GroupReason, NetworkListener, Outcome, PlainSecretSite, Plan, PortPlan, ReferenceSite,
    TaskGroup, VolumePlan,
};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;
use std::hash::Hash;

/// The version of the JSON view; it changes only when a field changes meaning or goes away.
const JSON_VERSION: u32 = 1;

#[derive(Serialize)]
struct JsonView<'a> {
    version: u32,
    plan: &'a Plan,
}

/// One diagnostic as one line of JSON (`--message-format json`): severity, code, message, key
/// path, location (file, line, column), help, and the other places it was found at (`also`).
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

/// The plan with each value that holds a secret as the plan shows it (`PlainSecret::shown`): the
/// task definitions keep the values; a view of the plan is printed, to a CI log as often as not.
fn masked(plan: &Plan) -> Plan {
    let mut masked = plan.clone();
    for (task, original) in masked.tasks.iter_mut().zip(&plan.tasks) {
        // Each task's plain secrets by place, then one pass over its values.
        let mut environment: HashMap<(&str, &str), &str> = HashMap::new();
        let mut labels: HashMap<(&str, &str), &str> = HashMap::new();
        let mut arguments: HashMap<(&str, &str, usize), &str> = HashMap::new();
        let mut tags: HashMap<&str, &str> = HashMap::new();
        for secret in &original.plain_secrets {
            let shown = secret.shown.as_str();
            match &secret.site {
                PlainSecretSite::Environment { container, variable } => {
                    environment.insert((container, variable), shown);
                }
                PlainSecretSite::Label { container, key } => {
                    labels.insert((container, key), shown);
                }
                PlainSecretSite::Command { container, argument } => {
                    arguments.insert((container, "command", *argument), shown);
                }
                PlainSecretSite::Entrypoint { container, argument } => {
                    arguments.insert((container, "entrypoint", *argument), shown);
                }
                PlainSecretSite::Healthcheck { container, argument } => {
                    arguments.insert((container, "healthcheck", *argument), shown);
                }
                PlainSecretSite::Tag { key } => {
                    tags.insert(key, shown);
                }
            }
        }
        for (key, value) in &mut task.tags {
            show(&tags, key.as_str(), value);
        }
        for container in &mut task.containers {
            let name = container.name.as_str();
            for (variable, value) in &mut container.environment {
                show(&environment, (name, variable.as_str()), value);
            }
            for (key, value) in &mut container.runtime.docker_labels {
                show(&labels, (name, key.as_str()), value);
            }
            let lists = [
                ("command", container.command.as_mut()),
                ("entrypoint", container.entrypoint.as_mut()),
                ("healthcheck", container.health_check.as_mut().map(|h| &mut h.command)),
            ];
            for (list, values) in lists {
                for (index, value) in values.into_iter().flatten().enumerate() {
                    show(&arguments, (name, list, index), value);
                }
            }
        }
    }
    masked
}

/// `value` as the plan shows it, when `place` holds a plain secret.
fn show<Place: Eq + Hash>(places: &HashMap<Place, &str>, place: Place, value: &mut String) {
    if let Some(shown) = places.get(&place) {
        *value = (*shown).to_string();
    }
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
        Outcome::AllInterfaces => "0.0.0.0 (its own listen address)".to_string(),
        Outcome::CloudMap { host } => format!("Cloud Map DNS name {host} (its task's own address)"),
        Outcome::ServiceConnect { alias, port } => format!("Service Connect alias {alias}:{port}"),
        Outcome::External { host, port: Some(port) } => format!("external {host}:{port}"),
        Outcome::External { host, port: None } => format!("external {host}"),
        Outcome::Managed { host, port: Some(port) } => format!("managed {host}:{port}"),
        Outcome::Managed { host, port: None } => format!("managed {host}"),
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

/// A port of a container as the table shows it: `web 80/tcp: public on 80 (why)`, with the
/// Service Connect names other tasks reach it by.
fn port_line(container: &str, port: &PortPlan) -> String {
    let protocol = match port.protocol {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
    };
    let exposure = match &port.exposure {
        Exposure::Public { listener_port, .. } => format!("public on {listener_port}"),
        Exposure::Network {
            listener_port,
            protocol,
        } => format!(
            "public on {listener_port}/{} via the network load balancer",
            protocol.to_ascii_lowercase()
        ),
        Exposure::Private => "private".to_string(),
    };
    let mut line = format!("{container} {}/{protocol}: {exposure} ({})", port.port, port.reason);
    if !port.service_connect.is_empty() {
        write!(line, "; Service Connect {}", port.service_connect.join(", ")).unwrap();
    }
    line
}

/// Tasks with their containers and why each is there, public ports and rollout, the load
/// balancer's public ports, external services, and every reference with its outcome.
pub fn table(plan: &Plan) -> String {
    let mut out = format!("project {}\n", plan.project);
    // Each task's mounts find their volume here, not in a scan of every volume.
    let volumes: HashMap<&str, &VolumePlan> = plan.volumes.iter().map(|v| (v.ecs_name.as_str(), v)).collect();
    for task in &plan.tasks {
        task_section(plan, &volumes, task, &mut out);
    }
    let public = public_ports(plan);
    if !public.is_empty() {
        writeln!(out, "\npublic ports: {}", public.join(", ")).unwrap();
    }
    stack_lines(plan, &mut out);
    writeln!(
        out,
        "\ncreate the services in this order: {}",
        plan.creation_order.join(", ")
    )
    .unwrap();
    if !plan.external.is_empty() {
        out.push_str("\noutside ECS\n");
        columns(&external_rows(plan), "  ", &mut out);
    }
    for database in &plan.managed {
        managed_section(database, &mut out);
    }
    if !plan.references.is_empty() {
        out.push_str("\nreferences\n");
        columns(&reference_rows(plan), "  ", &mut out);
    }
    out
}

/// A task's part of the table: its size, copies and autoscaling, a row per container, its
/// containers' ports, and how it rolls out.
fn task_section(plan: &Plan, volumes: &HashMap<&str, &VolumePlan>, task: &TaskGroup, out: &mut String) {
    let copies = if task.desired_count == 1 { "copy" } else { "copies" };
    writeln!(
        out,
        "\ntask {} (family {}, {} CPU units, {} MiB, {} {copies}{})",
        task.name,
        task.family,
        task.size.cpu,
        task.size.memory,
        task.desired_count,
        autoscaling(task)
    )
    .unwrap();
    let rows: Vec<Vec<String>> = task.containers.iter().map(|c| container_row(plan, c)).collect();
    columns(&rows, "  ", out);
    for container in &task.containers {
        for port in &container.ports {
            writeln!(out, "  {}", port_line(&container.name, port)).unwrap();
        }
    }
    for line in health_check_lines(plan, task) {
        writeln!(out, "  {line}").unwrap();
    }
    let registered = plan
        .cloud_map
        .iter()
        .flat_map(|m| m.services.iter().map(move |s| (s, &m.namespace)))
        .find(|(s, _)| task.containers.iter().any(|c| c.service == s.service));
    if let Some((service, namespace)) = registered.filter(|_| task.service_registry.is_some()) {
        writeln!(
            out,
            "  DNS name: {}.{namespace} (Cloud Map: the task's own address, for its clustered peers)",
            service.name
        )
        .unwrap();
    }
    let networks: Vec<&str> = plan
        .network_groups
        .iter()
        .filter(|g| g.tasks.contains(&task.name))
        .map(|g| g.network.as_str())
        .collect();
    if !networks.is_empty() {
        writeln!(
            out,
            "  compose networks: {} (each a security group that admits only the tasks on it)",
            networks.join(", ")
        )
        .unwrap();
    }
    for line in storage_lines(volumes, task) {
        writeln!(out, "  {line}").unwrap();
    }
    let breaker = &task.rollout.circuit_breaker;
    let failed = match (breaker.enable, breaker.rollback) {
        (true, true) => "; a failed deployment rolls back",
        (true, false) => "; a failed deployment stops",
        (false, _) => "",
    };
    let rollout = &task.rollout;
    writeln!(
        out,
        "  rollout: keeps {}%, runs at most {}%: {}{failed}",
        rollout.minimum_healthy_percent, rollout.maximum_percent, rollout.reason
    )
    .unwrap();
    let operations = &task.operations;
    if let Some(why) = &operations.exec {
        writeln!(out, "  ECS Exec: on ({why})").unwrap();
    }
    if let Some(gib) = operations.ephemeral_storage_gib {
        writeln!(out, "  its own storage: {gib} GiB").unwrap();
    }
    if !operations.capacity.is_empty() {
        let shares: Vec<String> = operations
            .capacity
            .iter()
            .map(|s| match s.base {
                0 => format!("{} weight {}", s.provider, s.weight),
                base => format!("{} weight {} (the first {base} copies)", s.provider, s.weight),
            })
            .collect();
        writeln!(out, "  capacity: {}", shares.join(", ")).unwrap();
    }
}

/// `, autoscaling MIN–MAX on CPU N% and memory M%` for a task that scales; empty for one that
/// does not.
fn autoscaling(task: &TaskGroup) -> String {
    task.autoscaling.as_ref().map_or_else(String::new, |a| {
        let targets: Vec<String> = [("CPU", a.cpu_target), ("memory", a.memory_target)]
            .iter()
            .filter_map(|(what, target)| target.map(|t| format!("{what} {t}%")))
            .collect();
        format!(", autoscaling {}–{} on {}", a.min, a.max, targets.join(" and "))
    })
}

/// A container's row: its name, why it is in its task, whether the task stops with it, and the
/// load balancer's routes to it.
fn container_row(plan: &Plan, container: &Container) -> Vec<String> {
    let public = public_routes(plan, &container.name);
    vec![
        container.name.clone(),
        grouping(&container.grouping),
        if container.essential { "essential" } else { "may stop" }.to_string(),
        if public.is_empty() {
            String::new()
        } else {
            format!("public {}", public.join(", "))
        },
    ]
}

/// The load balancer's routes to a container: `LISTENER→PORT` for each listener it is the default
/// target of, then each rule's, with the rule's paths and hosts.
fn public_routes(plan: &Plan, container: &str) -> Vec<String> {
    plan.listeners
        .iter()
        .flat_map(|l| {
            let default = (l.default_target.container == container)
                .then(|| format!("{}→{}", l.port, l.default_target.container_port));
            let rules = l.rules.iter().filter(|r| r.target.container == container).map(|r| {
                let conditions: Vec<&str> = r.paths.iter().chain(&r.hosts).map(String::as_str).collect();
                format!("{}→{} ({})", l.port, r.target.container_port, conditions.join(" "))
            });
            default.into_iter().chain(rules)
        })
        .chain(
            network_listeners(plan)
                .filter(|l| l.container == container)
                .map(|l| format!("{}→{} ({})", l.port, l.container_port, l.protocol)),
        )
        .collect()
}

/// The network load balancer's listeners, if it has any.
fn network_listeners(plan: &Plan) -> impl Iterator<Item = &NetworkListener> {
    plan.network_load_balancer.iter().flat_map(|n| &n.listeners)
}

/// How the load balancer checks each of the task's containers behind it, once per container,
/// port and path: `web 3000 health check: GET / answering 200-499 (why)`.
fn health_check_lines(plan: &Plan, task: &TaskGroup) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let groups = plan
        .listeners
        .iter()
        .flat_map(|l| std::iter::once(&l.default_target).chain(l.rules.iter().map(|r| &r.target)));
    for group in groups.filter(|g| task.containers.iter().any(|c| c.name == g.container)) {
        let check = &group.health_check;
        let line = format!(
            "{} {} health check: GET {} answering {} ({})",
            group.container, group.container_port, check.path, check.codes, check.reason
        );
        if !lines.contains(&line) {
            lines.push(line);
        }
    }
    for listener in network_listeners(plan).filter(|l| task.containers.iter().any(|c| c.name == l.container)) {
        lines.push(format!(
            "{} {} health check: a TCP connection to {} (any server that listens passes)",
            listener.container, listener.container_port, listener.health_check_port
        ));
    }
    lines
}

/// The load balancer's public ports, each HTTPS one and the one that redirects to it marked.
fn public_ports(plan: &Plan) -> Vec<String> {
    plan.public_ports
        .iter()
        .map(|port| {
            let https = plan.listeners.iter().any(|l| l.port == *port && l.protocol == "HTTPS");
            match &plan.https {
                Some(h) if h.redirect_port == *port => format!("{port} (redirects to {})", h.redirect_to_port),
                _ if https => format!("{port} (HTTPS)"),
                _ => port.to_string(),
            }
        })
        .chain(network_listeners(plan).map(|l| format!("{} ({}, network load balancer)", l.port, l.protocol)))
        .collect()
}

/// Where each container's volumes are (an EFS access point and its folder's owner, or the task's
/// own storage), and the secrets it reads, by name.
fn storage_lines(volumes: &HashMap<&str, &VolumePlan>, task: &TaskGroup) -> Vec<String> {
    let mut lines = Vec::new();
    for container in &task.containers {
        for mount in &container.mounts {
            let access = if mount.read_only { ", read-only" } else { "" };
            let place = match volumes.get(mount.volume.as_str()) {
                Some(volume) => format!(
                    "EFS access point {}, folder {} owned by {}:{} ({}){access}",
                    volume.logical_id, volume.root_directory, volume.owner_uid, volume.owner_gid, volume.owner_reason
                ),
                None if mount.task_storage => format!("the task's own storage, emptied when the task stops{access}"),
                None => format!("volume {}{access}", mount.volume),
            };
            lines.push(format!("{} {}: {place}", container.name, mount.container_path));
        }
        if !container.secrets.is_empty() {
            let names: Vec<&str> = container.secrets.iter().map(|(name, _)| name.as_str()).collect();
            lines.push(format!(
                "{} reads from Secrets Manager or SSM (names only): {}",
                container.name,
                names.join(", ")
            ));
        }
    }
    lines
}

/// The stacks in the order `deploy` deploys them, each with what it holds.
fn stack_lines(plan: &Plan, out: &mut String) {
    if plan.stacks.is_empty() {
        return;
    }
    out.push_str("\nstacks, in the order to deploy them\n");
    let rows: Vec<Vec<String>> = plan
        .stacks
        .iter()
        .map(|stack| {
            let when = if stack.after_services {
                " (after the services)"
            } else {
                ""
            };
            vec![
                stack.name.clone(),
                format!("{}{when}", stack.template()),
                stack.reason.clone(),
            ]
        })
        .collect();
    columns(&rows, "  ", out);
}

/// A managed database's part of the table: what runs it, its version and where that comes from,
/// its settings, its clients, and where each credential comes from (names only).
fn managed_section(database: &crate::plan::ManagedDatabase, out: &mut String) {
    writeln!(
        out,
        "\nmanaged {} on {}: {} {} (from {}), data stack",
        database.service,
        database.runs_on.describe(),
        database.engine,
        database.version,
        database.version_from
    )
    .unwrap();
    let mut settings = Vec::new();
    if let Some(class) = &database.instance_class {
        settings.push(class.clone());
    }
    if let Some(storage) = database.storage {
        settings.push(format!("{storage} GiB"));
    }
    if database.runs_on == crate::plan::ManagedService::ElastiCache {
        settings.push("serverless, in every zone of the subnets".to_string());
        settings.push(format!("{} days of snapshots", database.backup_retention_days));
    } else {
        settings.push(if database.multi_az { "two zones" } else { "one zone" }.to_string());
        settings.push(format!("{} days of backups", database.backup_retention_days));
        settings.push(format!(
            "deletion protection {}",
            if database.deletion_protection { "on" } else { "off" }
        ));
    }
    writeln!(out, "  {}", settings.join(", ")).unwrap();
    writeln!(out, "  endpoint {}:{}", database.endpoint.text(), database.port).unwrap();
    match &database.username {
        Some(user) => {
            let name = database
                .database_name
                .as_deref()
                .map_or_else(String::new, |name| format!(", database `{name}`"));
            writeln!(out, "  user `{user}`{name}; password generated in Secrets Manager").unwrap();
        }
        None => writeln!(out, "  no password: the security group admits the tasks only, over TLS").unwrap(),
    }
    let clients = if database.clients.is_empty() {
        "none".to_string()
    } else {
        database.clients.join(", ")
    };
    writeln!(out, "  referenced by {clients}").unwrap();
    for (service, variable) in &database.password_variables {
        writeln!(out, "  {service} {variable}: the generated password").unwrap();
    }
    for connection in &database.connection_strings {
        writeln!(
            out,
            "  {} {}: a connection string the data stack builds with the generated password",
            connection.service, connection.variable
        )
        .unwrap();
    }
}

/// A row per service outside ECS: its name, and the host (and port) it is reached at.
fn external_rows(plan: &Plan) -> Vec<Vec<String>> {
    plan.external
        .iter()
        .map(|e| {
            let endpoint = match e.port {
                Some(port) => format!("{}:{port}", e.host),
                None => e.host.clone(),
            };
            vec![e.service.clone(), endpoint]
        })
        .collect()
}

/// A row per reference: the service that makes it, where, the name it uses (and the service that
/// name stands for), and what became of it.
fn reference_rows(plan: &Plan) -> Vec<Vec<String>> {
    plan.references
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
        .collect()
}

/// Tasks as boxes holding their containers, external services as databases, references as arrows.
/// Nodes are numbered, since names such as `a-b` and `a_b` must stay apart.
pub fn mermaid(plan: &Plan) -> String {
    let mut out = String::from("flowchart LR\n");
    // Each node's own number: the secrets writers of several tasks share a service name, so the
    // map of services to nodes is not a count of them.
    let mut count = 0;
    let mut node = || {
        count += 1;
        format!("c{}", count - 1)
    };
    let mut ids: HashMap<&str, String> = HashMap::new();
    for (t, task) in plan.tasks.iter().enumerate() {
        writeln!(out, "  subgraph task{t}[\"task {}\"]", task.name).unwrap();
        for container in &task.containers {
            let id = node();
            writeln!(out, "    {id}[\"{}\"]", container.name).unwrap();
            ids.insert(&container.service, id);
        }
        out.push_str("  end\n");
    }
    for external in &plan.external {
        let id = node();
        writeln!(out, "  {id}[(\"{} (external)\")]", external.service).unwrap();
        ids.insert(&external.service, id);
    }
    for database in &plan.managed {
        let id = node();
        writeln!(
            out,
            "  {id}[(\"{} ({} {})\")]",
            database.service,
            database.runs_on.describe(),
            database.engine
        )
        .unwrap();
        ids.insert(&database.service, id);
    }
    let mut edges = BTreeSet::new();
    for reference in plan.references.iter().filter(|r| r.service != r.target) {
        let label = match &reference.outcome {
            Outcome::Localhost => "localhost".to_string(),
            Outcome::ServiceConnect { alias, port } => format!("{alias}:{port}"),
            Outcome::External { .. } => "external".to_string(),
            Outcome::Managed { .. } => "managed".to_string(),
            Outcome::CloudMap { host } => host.clone(),
            Outcome::AllInterfaces | Outcome::LeftAlone { .. } => continue,
        };
        if let (Some(from), Some(to)) = (ids.get(reference.service.as_str()), ids.get(reference.target.as_str())) {
            edges.insert((from.clone(), to.clone(), label));
        }
    }
    for (from, to, label) in edges {
        writeln!(out, "  {from} -->|\"{label}\"| {to}").unwrap();
    }
    // The load balancers in front, each public port an arrow to the container behind it.
    let mut public = BTreeSet::new();
    for listener in &plan.listeners {
        let targets = std::iter::once(&listener.default_target).chain(listener.rules.iter().map(|r| &r.target));
        for target in targets {
            public.insert((
                format!("{} {}", listener.protocol, listener.port),
                target.container.clone(),
            ));
        }
    }
    if let Some(network) = &plan.network_load_balancer {
        for listener in &network.listeners {
            public.insert((
                format!("{} {}", listener.protocol, listener.port),
                listener.container.clone(),
            ));
        }
    }
    if !public.is_empty() {
        out.push_str("  lb{{\"load balancer\"}}\n");
    }
    let container_id = |name: &str| {
        plan.tasks
            .iter()
            .flat_map(|t| &t.containers)
            .find(|c| c.name == name)
            .and_then(|c| ids.get(c.service.as_str()))
    };
    for (label, container) in &public {
        if let Some(id) = container_id(container) {
            writeln!(out, "  lb -->|\"{label}\"| {id}").unwrap();
        }
    }
    // The file system the named volumes are on, an arrow from each container that mounts one.
    let mut mounts = BTreeSet::new();
    for container in plan.tasks.iter().flat_map(|t| &t.containers) {
        for mount in container.mounts.iter().filter(|m| !m.task_storage) {
            if let Some(id) = ids.get(container.service.as_str()) {
                mounts.insert((id.clone(), mount.volume.clone()));
            }
        }
    }
    if !mounts.is_empty() {
        out.push_str("  efs[(\"EFS\")]\n");
    }
    for (id, volume) in mounts {
        writeln!(out, "  {id} -.->|\"{volume}\"| efs").unwrap();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_view_shows_plain_secrets_as_the_plan_does() {
        let conversion = crate::test_conversion("services:\n  app:\n    image: app\n    environment:\n      API_TOKEN: sentinel-token\n      DATABASE_URL: postgres://app:sentinel-url@db/app\n    command: [\"redis-cli\", \"-a\", \"sentinel-flag\"]\n    labels:\n      com.example.backup: \"s3://k:sentinel-label@bucket\"\n    deploy:\n      labels:\n        api_key: sentinel-tag\n");
        let plan = conversion.plan.as_ref().expect("it converts");
        let view = json(plan);
        for sentinel in [
            "sentinel-token",
            "sentinel-url",
            "sentinel-flag",
            "sentinel-label",
            "sentinel-tag",
        ] {
            assert!(!view.contains(sentinel), "{sentinel} in {view}");
        }
        assert!(view.contains("postgres://app:***@db/app"), "{view}");
        // The task definition and the service keep the values: ECS reads no secret there.
        let written: String = conversion.output.values().map(String::as_str).collect();
        for sentinel in ["sentinel-token", "sentinel-flag", "sentinel-label", "sentinel-tag"] {
            assert!(written.contains(sentinel), "{sentinel}");
        }
    }

    #[test]
    fn each_container_of_the_diagram_is_a_node_of_its_own() {
        // Two tasks with a secrets writer each: the writers share their service's name.
        let conversion = crate::test_conversion("services:\n  a: {image: a, secrets: [s]}\n  b: {image: b, secrets: [s]}\n  c: {image: c}\nsecrets:\n  s: {environment: S}\n");
        let plan = conversion.plan.as_ref().expect("it converts");
        let diagram = mermaid(plan);
        let nodes: Vec<&str> = diagram
            .lines()
            .filter_map(|line| line.trim().split_once("[\"").map(|(id, _)| id))
            .filter(|id| id.starts_with('c'))
            .collect();
        assert_eq!(nodes, ["c0", "c1", "c2", "c3", "c4"], "{diagram}");
    }
}
