//! CloudFormation templates, rendered by minijinja from typed contexts. Rust computes every name
//! and id; the templates only loop and branch, and pass each user string through `json_string`.

use super::EmitError;
use crate::plan::{
    EfsPlan, ManagedDatabase, ManagedService, Plan, PolicyResource, ScalingMetric, StackKind, TargetGroup,
};
use minijinja::{Environment, ErrorKind, UndefinedBehavior, Value};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

const BASE: &str = include_str!("../../templates/base.yaml.j2");
const EFS: &str = include_str!("../../templates/efs.yaml.j2");
const ALB: &str = include_str!("../../templates/alb.yaml.j2");
const NLB: &str = include_str!("../../templates/nlb.yaml.j2");
const DATA: &str = include_str!("../../templates/data.yaml.j2");
const SECRETS: &str = include_str!("../../templates/secrets.yaml.j2");
const AUTOSCALING: &str = include_str!("../../templates/autoscaling.yaml.j2");

#[derive(Serialize)]
struct BaseContext<'a> {
    project: &'a str,
    cluster: &'a str,
    create_cluster: bool,
    log_group: &'a str,
    log_retention_days: u32,
    namespace: Option<&'a str>,
    /// Whether the tasks' group admits itself.
    task_group_admits_itself: bool,
    /// With several compose networks, a group each that admits its members instead.
    network_groups: &'a [crate::plan::NetworkGroup],
    /// DNS names for clustered peers.
    cloud_map: Option<&'a crate::plan::CloudMapPlan>,
    /// The secrets the execution role may read to pull images (IAM policy resources).
    registry_credentials: &'a [String],
    /// The roles the tasks run with: the shared one, then each task's own.
    task_roles: Vec<RoleContext<'a>>,
}

/// A task role of `base.yaml`: its policies, the statements already written as YAML list items.
#[derive(Serialize)]
struct RoleContext<'a> {
    logical_id: &'a str,
    description: String,
    managed_policies: &'a [String],
    statements: String,
    exec: bool,
}

/// The listeners, target groups and security group rules of `nlb.yaml`.
#[derive(Serialize)]
struct NlbContext<'a> {
    project: &'a str,
    listeners: &'a [crate::plan::NetworkListener],
    task_ingress: &'a [crate::plan::TaskIngress],
    clients_group: bool,
}

#[derive(Serialize)]
struct EfsContext<'a> {
    project: &'a str,
    /// The id of an existing file system (`x-ecs.file_system`): no file system, security group or
    /// mount targets are made.
    existing_file_system: Option<&'a str>,
    /// How the policies' `Fn::Sub` names the file system: the created one's `${FileSystem}` (or
    /// `${FileSystemId}`, the parameter of the stacks past the first), or the existing one's id
    /// (`fs-` and hex digits: nothing `Fn::Sub` would read).
    file_system_in_arn: String,
    /// The first EFS stack (it makes the file system, or admits the tasks into an existing one's
    /// mount targets); those past it make more access points on the same file system.
    first: bool,
    /// `""` for the first stack, `-2` for the second, …: its policy's name on the roles is its own.
    part_suffix: String,
    /// Whether it puts a policy on the task roles (the stacks past the first only for access
    /// points they name).
    policy: bool,
    /// Whether it reads the project's own file system from the first stack's output (a later
    /// stack with access points to make).
    file_system_parameter: bool,
    /// How many private subnets the template needs: each of the first this many gets a mount target.
    subnet_count: u32,
    mount_targets: Vec<EfsMountTarget<'a>>,
    volumes: Vec<EfsVolume<'a>>,
    /// Access points on which the task role may act as root.
    root_access_points: Vec<&'a str>,
}

#[derive(Serialize)]
struct EfsMountTarget<'a> {
    logical_id: &'a str,
    /// Its subnet's position in `PrivateSubnetIds`.
    subnet_index: u32,
}

#[derive(Serialize)]
struct EfsVolume<'a> {
    logical_id: &'a str,
    name: &'a str,
    root: &'a str,
    owner_uid: u32,
    owner_gid: u32,
    posix_user: bool,
}

#[derive(Serialize)]
struct AlbContext<'a> {
    project: &'a str,
    /// Ports the load balancer admits from anywhere: its listeners', the redirect's included.
    public_ports: &'a [u16],
    listeners: Vec<AlbListener<'a>>,
    /// The plain HTTP listener that redirects to HTTPS, when a certificate is given.
    redirect: Option<AlbRedirect<'a>>,
    /// Whether a certificate is given (some other listeners may still be plain HTTP).
    https: bool,
    /// Container ports the tasks' security group admits from the load balancer, each once.
    task_ports: Vec<u16>,
}

#[derive(Serialize)]
struct AlbListener<'a> {
    logical_id: &'a str,
    port: u16,
    protocol: &'a str,
    /// With HTTPS: the certificate and the TLS policy.
    certificate_arn: Option<&'a str>,
    ssl_policy: Option<&'a str>,
    default_target_group: AlbTargetGroup<'a>,
    rules: Vec<AlbRule<'a>>,
}

#[derive(Serialize)]
struct AlbTargetGroup<'a> {
    logical_id: &'a str,
    target_protocol: &'a str,
    container_port: u16,
    health_check_path: &'a str,
    health_check_codes: &'a str,
}

#[derive(Serialize)]
struct AlbRule<'a> {
    logical_id: &'a str,
    priority: u32,
    paths: &'a [String],
    hosts: &'a [String],
    target_group: AlbTargetGroup<'a>,
}

#[derive(Serialize)]
struct AlbRedirect<'a> {
    logical_id: &'a str,
    port: u16,
    /// A string: `RedirectConfig.Port` is one.
    to_port: String,
}

#[derive(Serialize)]
struct SecretsContext<'a> {
    project: &'a str,
    /// Whether it names secrets the execution role reads: a stack whose secrets are all gone is
    /// kept, empty, until `down`.
    policy: bool,
    /// `secrets.yaml`, whose policy on the execution role is inline; past it, `secrets-2.yaml`, …
    /// each with a managed policy (the role's inline policies hold 10,240 characters in all).
    first: bool,
    /// `-2`, `-3`, … past the first stack: in its description.
    part_suffix: String,
    created: Vec<CreatedSecret<'a>>,
    /// Existing secrets, by ARN.
    secrets_manager_arns: Vec<String>,
    /// Existing SSM parameters, by ARN.
    ssm_parameter_arns: Vec<String>,
    /// Existing SSM parameters of the stack's region and account, by name (without a leading `/`).
    ssm_parameter_names: Vec<String>,
}

#[derive(Serialize)]
struct CreatedSecret<'a> {
    logical_id: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
struct AutoscalingContext<'a> {
    project: &'a str,
    targets: Vec<ScalableTarget<'a>>,
}

#[derive(Serialize)]
struct ScalableTarget<'a> {
    logical_id: &'a str,
    /// `service/CLUSTER/SERVICE`, Application Auto Scaling's name of an ECS service.
    resource_id: String,
    min: u32,
    max: u32,
    policies: Vec<ScalingPolicy<'a>>,
}

#[derive(Serialize)]
struct ScalingPolicy<'a> {
    logical_id: &'a str,
    name: &'a str,
    /// `ECSServiceAverageCPUUtilization` or `ECSServiceAverageMemoryUtilization`.
    metric: ScalingMetric,
    target: u32,
}

/// (file name, text) of each template of the stacks the plan deploys.
pub fn templates(plan: &Plan) -> Result<Vec<(String, String)>, EmitError> {
    let environment = environment();
    let mut out = Vec::new();
    for stack in &plan.stacks {
        let text = match stack.kind {
            StackKind::Base => render(&environment, "base.yaml", BASE, &base_context(plan))?,
            StackKind::Efs => match &plan.efs {
                Some(efs) => render(&environment, "efs.yaml", EFS, &efs_context(plan, efs, stack))?,
                None => continue,
            },
            StackKind::Data => render(&environment, "data.yaml", DATA, &data_context(plan))?,
            StackKind::Alb => render(&environment, "alb.yaml", ALB, &alb_context(plan))?,
            StackKind::Nlb => match &plan.network_load_balancer {
                Some(network) => {
                    let context = NlbContext {
                        project: &plan.project,
                        listeners: &network.listeners,
                        task_ingress: &network.task_ingress,
                        clients_group: network.clients_group,
                    };
                    render(&environment, "nlb.yaml", NLB, &context)?
                }
                None => continue,
            },
            StackKind::Secrets => render(&environment, "secrets.yaml", SECRETS, &secrets_context(plan, stack))?,
            StackKind::Autoscaling => {
                let context = AutoscalingContext {
                    project: &plan.project,
                    targets: scalable_targets(plan),
                };
                render(&environment, "autoscaling.yaml", AUTOSCALING, &context)?
            }
        };
        out.push((format!("{}.yaml", stack.label()), text));
    }
    // Docker's one document first, in pieces by template; then `x-ecs.cloudformation`'s patches.
    let mut pieces = match plan.overlays.iter().find(|overlay| overlay.template.is_empty()) {
        Some(routed) => routed_pieces(&routed.patch, &out)?,
        None => BTreeMap::new(),
    };
    for (name, text) in &mut out {
        let named = plan.overlays.iter().find(|overlay| overlay.template == *name);
        for patch in pieces.remove(name.as_str()).iter().chain(named.map(|o| &o.patch)) {
            *text = overlaid(text, patch)?;
        }
    }
    Ok(out)
}

/// Docker's `x-aws-cloudformation`, one document for every template, split by template: each
/// entry of its `Resources`, `Outputs`, `Conditions` and `Mappings` goes to the template that has
/// one of that name, anything else (a new resource, `Metadata`) to `base.yaml`.
fn routed_pieces(
    patch: &serde_yaml::Value,
    rendered: &[(String, String)],
) -> Result<BTreeMap<String, serde_yaml::Value>, EmitError> {
    use serde_yaml::{Mapping, Value};
    let parsed: Vec<(&str, Value)> = rendered
        .iter()
        .map(|(name, text)| {
            serde_yaml::from_str(text)
                .map(|doc| (name.as_str(), doc))
                .map_err(|source| EmitError::Yaml {
                    name: "a rendered template",
                    source,
                })
        })
        .collect::<Result<_, _>>()?;
    let mut pieces: BTreeMap<String, Value> = BTreeMap::new();
    let mut put = |template: &str, part: &Value, key: Option<&Value>, value: &Value| {
        let piece = pieces
            .entry(template.to_string())
            .or_insert_with(|| Value::Mapping(Mapping::new()));
        let Value::Mapping(piece) = piece else { return };
        match key {
            Some(key) => {
                let section = piece
                    .entry(part.clone())
                    .or_insert_with(|| Value::Mapping(Mapping::new()));
                if let Value::Mapping(section) = section {
                    section.insert(key.clone(), value.clone());
                }
            }
            None => {
                piece.insert(part.clone(), value.clone());
            }
        }
    };
    for (part, value) in patch.as_mapping().into_iter().flatten() {
        let entries = matches!(part.as_str(), Some("Resources" | "Outputs" | "Conditions" | "Mappings"));
        match value.as_mapping().filter(|_| entries) {
            Some(section) => {
                for (key, entry) in section {
                    let home = parsed
                        .iter()
                        .find(|(_, doc)| {
                            !doc[part.as_str().unwrap_or_default()][key.as_str().unwrap_or_default()].is_null()
                        })
                        .map_or("base.yaml", |(name, _)| *name);
                    put(home, part, Some(key), entry);
                }
            }
            None => put("base.yaml", part, None, value),
        }
    }
    Ok(pieces)
}

/// The template environment: undefined variables are errors, and `json_string` replaces `tojson`.
fn environment() -> Environment<'static> {
    let mut environment = Environment::new();
    environment.set_undefined_behavior(UndefinedBehavior::Strict);
    environment.set_trim_blocks(true);
    environment.set_lstrip_blocks(true);
    // minijinja's `tojson` leaves characters unescaped that YAML refuses or reads as line breaks;
    // with it gone, a template that still uses it fails its tests.
    environment.remove_filter("tojson");
    environment.add_filter("json_string", |value: Value| match value.as_str() {
        Some(text) => Ok(json_string(text)),
        None => Err(minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!("json_string takes a string, not {}", value.kind()),
        )),
    });
    environment
}

/// The cluster, log group and namespace of `base.yaml`.
fn base_context(plan: &Plan) -> BaseContext<'_> {
    BaseContext {
        project: &plan.project,
        cluster: &plan.deployment.cluster,
        create_cluster: plan.deployment.create_cluster,
        log_group: &plan.deployment.log_group,
        log_retention_days: plan.deployment.log_retention_days,
        namespace: plan.deployment.namespace.as_deref(),
        task_group_admits_itself: plan.deployment.task_group_admits_itself,
        network_groups: &plan.network_groups,
        cloud_map: plan.cloud_map.as_ref(),
        registry_credentials: &plan.deployment.registry_credentials,
        task_roles: plan
            .deployment
            .task_roles
            .iter()
            .map(|role| RoleContext {
                logical_id: &role.logical_id,
                description: match &role.task {
                    Some(task) => format!("The role the containers of task {task} of {} run with", plan.project),
                    None => format!("The role the containers of {} run with", plan.project),
                },
                managed_policies: &role.managed_policies,
                statements: statement_items(&role.statements),
                exec: role.exec,
            })
            .collect(),
    }
}

/// The file system, mount targets and access points of `efs.yaml`.
/// The stack's own parameters say what it reads: `FileSystemId` (a later stack with access points
/// to make) and `TaskRoleNames` (a policy on the task roles).
fn efs_context<'a>(plan: &'a Plan, efs: &'a EfsPlan, stack: &crate::plan::StackPlan) -> EfsContext<'a> {
    let part = stack.part;
    let existing = efs.existing_file_system.as_deref();
    let first = part == 1;
    let volumes = crate::plan::efs_part_volumes(plan, part);
    EfsContext {
        project: &plan.project,
        existing_file_system: existing,
        file_system_in_arn: match existing {
            Some(id) => id.to_string(),
            None if first => "${FileSystem}".to_string(),
            None => "${FileSystemId}".to_string(),
        },
        first,
        part_suffix: if first { String::new() } else { format!("-{part}") },
        policy: stack.takes("TaskRoleNames"),
        file_system_parameter: !first && stack.takes("FileSystemId"),
        subnet_count: efs.mount_targets,
        mount_targets: (0..)
            .zip(&efs.mount_target_logical_ids)
            .map(|(subnet_index, logical_id)| EfsMountTarget {
                logical_id,
                subnet_index,
            })
            .collect(),
        root_access_points: volumes
            .iter()
            .filter(|v| v.root_access)
            .map(|v| v.logical_id.as_str())
            .collect(),
        volumes: volumes
            .iter()
            .map(|v| EfsVolume {
                logical_id: &v.logical_id,
                name: &v.name,
                root: &v.root_directory,
                owner_uid: v.owner_uid,
                owner_gid: v.owner_gid,
                posix_user: v.posix_user,
            })
            .collect(),
    }
}

/// The listeners, rules, target groups and HTTPS redirect of `alb.yaml`.
fn alb_context(plan: &Plan) -> AlbContext<'_> {
    let https = plan.https.as_ref();
    let listeners = plan
        .listeners
        .iter()
        .map(|l| {
            let secure = l.protocol == "HTTPS";
            AlbListener {
                logical_id: &l.logical_id,
                port: l.port,
                protocol: l.protocol,
                certificate_arn: https.filter(|_| secure).map(|h| h.certificate_arn.as_str()),
                ssl_policy: https.filter(|_| secure).map(|h| h.ssl_policy),
                default_target_group: alb_target_group(&l.default_target),
                rules: l
                    .rules
                    .iter()
                    .map(|r| AlbRule {
                        logical_id: &r.logical_id,
                        priority: r.priority,
                        paths: &r.paths,
                        hosts: &r.hosts,
                        target_group: alb_target_group(&r.target),
                    })
                    .collect(),
            }
        })
        .collect();
    let redirect = https.map(|h| AlbRedirect {
        logical_id: &h.redirect_logical_id,
        port: h.redirect_port,
        to_port: h.redirect_to_port.to_string(),
    });
    AlbContext {
        project: &plan.project,
        public_ports: &plan.public_ports,
        listeners,
        redirect,
        https: https.is_some(),
        task_ports: plan.load_balanced_ports.clone(),
    }
}

/// The target group a listener or rule forwards to, with its health check.
fn alb_target_group(target: &TargetGroup) -> AlbTargetGroup<'_> {
    AlbTargetGroup {
        logical_id: &target.target_group_logical_id,
        target_protocol: target.target_protocol,
        container_port: target.container_port,
        health_check_path: &target.health_check.path,
        health_check_codes: &target.health_check.codes,
    }
}

/// The managed databases and caches of `data.yaml`.
#[derive(Serialize)]
struct DataContext<'a> {
    project: &'a str,
    databases: Vec<DataDatabase<'a>>,
    /// The logical ids of the secrets the execution role reads: each database's secret whose
    /// password a client reads, and each connection string.
    read_secrets: Vec<String>,
    /// Whether a database admits the base stack's `TaskSecurityGroupId` (no `x-ecs.security_groups`).
    admits_task_group: bool,
}

#[derive(Serialize)]
struct DataDatabase<'a> {
    #[serde(flatten)]
    database: &'a ManagedDatabase,
    /// `rds`, `aurora`, `docdb` or `cache`.
    kind: &'static str,
    describe: &'static str,
    /// The generated secret's JSON before the password is added.
    secret_template: String,
    /// `MasterUserPassword`, a dynamic reference to the secret (in `Fn::Sub`).
    master_password: String,
    /// `TargetType` of the secret's attachment, which adds the host and port to it.
    target_type: &'static str,
}

fn data_context(plan: &Plan) -> DataContext<'_> {
    let read_secrets = plan.managed.iter().flat_map(ManagedDatabase::secrets_read).collect();
    let databases = plan
        .managed
        .iter()
        .map(|database| {
            let secret = database.secret_resource.as_deref().unwrap_or_default();
            let (kind, target_type) = match database.runs_on {
                ManagedService::Rds => ("rds", "AWS::RDS::DBInstance"),
                ManagedService::Aurora => ("aurora", "AWS::RDS::DBCluster"),
                ManagedService::DocumentDb => ("docdb", "AWS::DocDB::DBCluster"),
                ManagedService::ElastiCache => ("cache", ""),
            };
            let username = database.username.as_deref().unwrap_or_default();
            DataDatabase {
                database,
                kind,
                describe: database.runs_on.describe(),
                secret_template: serde_json::json!({ "username": username }).to_string(),
                master_password: format!("{{{{resolve:secretsmanager:${{{secret}}}:SecretString:password}}}}"),
                target_type,
            }
        })
        .collect();
    DataContext {
        project: &plan.project,
        databases,
        read_secrets,
        admits_task_group: plan.managed.iter().any(|d| d.admitted_groups.is_empty()),
    }
}

/// The secrets `secrets.yaml` creates, and those it lets the execution role read, by kind.
fn secrets_context<'a>(plan: &'a Plan, stack: &crate::plan::StackPlan) -> SecretsContext<'a> {
    let part = stack.part;
    let mut context = SecretsContext {
        project: &plan.project,
        policy: stack.takes("TaskExecutionRoleName"),
        first: part == 1,
        part_suffix: if part == 1 { String::new() } else { format!("-{part}") },
        created: Vec::new(),
        secrets_manager_arns: Vec::new(),
        ssm_parameter_arns: Vec::new(),
        ssm_parameter_names: Vec::new(),
    };
    for secret in crate::plan::secrets_part(plan, part) {
        match &secret.policy_resource {
            PolicyResource::Created => context.created.push(CreatedSecret {
                logical_id: &secret.logical_id,
                name: &secret.name,
            }),
            PolicyResource::SecretsManager(arn) => context.secrets_manager_arns.push(arn.clone()),
            PolicyResource::SsmParameterArn(arn) => context.ssm_parameter_arns.push(arn.clone()),
            // `${` is literal in `Fn::Sub` when written `${!`.
            PolicyResource::SsmParameterName(name) => context.ssm_parameter_names.push(name.replace("${", "${!")),
        }
    }
    context
}

/// The scalable target and policies of each autoscaled task's service, for `autoscaling.yaml`.
fn scalable_targets(plan: &Plan) -> Vec<ScalableTarget<'_>> {
    plan.tasks
        .iter()
        .filter_map(|task| task.autoscaling.as_ref().map(|a| (task, a)))
        .map(|(task, autoscaling)| ScalableTarget {
            logical_id: &autoscaling.logical_id,
            resource_id: format!("service/{}/{}", plan.deployment.cluster, task.service_name),
            min: autoscaling.min,
            max: autoscaling.max,
            policies: autoscaling
                .policies
                .iter()
                .map(|p| ScalingPolicy {
                    logical_id: &p.logical_id,
                    name: &p.name,
                    metric: p.metric,
                    target: p.target,
                })
                .collect(),
        })
        .collect()
}

/// `text` as a JSON string, which is also a YAML double-quoted scalar that YAML 1.1 and 1.2 read
/// back as `text`: besides `"` and `\\`, every character JSON or YAML would not keep as it is in
/// quotes is escaped as `\\uXXXX`: C0 controls, DEL and C1 controls (NEL among them), the line and
/// paragraph separators (line breaks to YAML 1.1), the byte order mark, and U+FFFE and U+FFFF.
fn json_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            '\u{0}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{feff}'
            | '\u{fffe}'
            | '\u{ffff}' => {
                let _ = write!(quoted, "\\u{:04x}", u32::from(c));
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// The template `text` with `patch` merged in (JSON merge patch, RFC 7386), written again as YAML:
/// the generated keys in their order, the patch's new ones after them. The template's comments
/// are lost with the rewrite; its first line says it was patched.
fn overlaid(text: &str, patch: &serde_yaml::Value) -> Result<String, EmitError> {
    let mut template: serde_yaml::Value = serde_yaml::from_str(text).map_err(|source| EmitError::Yaml {
        name: "an overlaid template",
        source,
    })?;
    merge_patch(&mut template, patch);
    let header = text.lines().next().unwrap_or_default();
    let mut out =
        format!("{header}\n# A patch (x-ecs.cloudformation, x-aws-cloudformation) is merged into this template: its own comments are left out.\n");
    match &template {
        serde_yaml::Value::Mapping(parts) => write_mapping(parts, 0, false, &mut out),
        other => write_node(other, 0, &mut out),
    }
    Ok(out)
}

/// IAM statements as the list items of a policy document's `Statement` in `base.yaml` (14 spaces
/// in), every string quoted; empty for none.
fn statement_items(statements: &[serde_yaml::Value]) -> String {
    if statements.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    write_node(&serde_yaml::Value::Sequence(statements.to_vec()), 12, &mut out);
    out.trim_matches('\n').to_string()
}

/// A mapping's entries, each on its own line at `indent` (the first one after what the line
/// holds already, `- `, when `inline`).
fn write_mapping(mapping: &serde_yaml::Mapping, indent: usize, inline: bool, out: &mut String) {
    for (index, (key, value)) in mapping.iter().enumerate() {
        if !(inline && index == 0) {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(&yaml_key(key));
        out.push(':');
        write_node(value, indent, out);
    }
}

/// What follows `key:` or `-`: a scalar on the same line, or the entries below it, indented.
fn write_node(value: &serde_yaml::Value, indent: usize, out: &mut String) {
    use serde_yaml::Value;
    match value {
        Value::Mapping(mapping) if !mapping.is_empty() => {
            out.push('\n');
            write_mapping(mapping, indent + 2, false, out);
        }
        Value::Sequence(items) if !items.is_empty() => {
            out.push('\n');
            for item in items {
                out.push_str(&" ".repeat(indent + 2));
                match item {
                    Value::Mapping(mapping) if !mapping.is_empty() => {
                        out.push_str("- ");
                        write_mapping(mapping, indent + 4, true, out);
                    }
                    other => {
                        out.push('-');
                        write_node(other, indent + 2, out);
                    }
                }
            }
        }
        scalar => {
            out.push(' ');
            out.push_str(&yaml_scalar(scalar));
            out.push('\n');
        }
    }
}

/// A scalar any YAML parser reads as written: every string in JSON quotes (a plain `on`, `no` or
/// `12:30` is a boolean or a number to YAML 1.1, which CloudFormation reads).
fn yaml_scalar(value: &serde_yaml::Value) -> String {
    use serde_yaml::Value;
    match value {
        Value::Null => "null".into(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => yaml_number(number),
        Value::String(text) => json_string(text),
        Value::Sequence(_) => "[]".into(),
        Value::Mapping(_) => "{}".into(),
        // Normalise refuses tags (`!Ref`) in a patch.
        Value::Tagged(tagged) => yaml_scalar(&tagged.value),
    }
}

/// A number YAML 1.1 reads as one: its floats have a `.` and a signed exponent (`1.0e+20`, where
/// `1e20` would be a string to it).
fn yaml_number(number: &serde_yaml::Number) -> String {
    let text = number.to_string();
    if !number.is_f64() {
        return text;
    }
    match text.split_once('e') {
        Some((mantissa, exponent)) => {
            let mantissa = if mantissa.contains('.') {
                mantissa.to_string()
            } else {
                format!("{mantissa}.0")
            };
            let exponent = if exponent.starts_with(['-', '+']) {
                exponent.to_string()
            } else {
                format!("+{exponent}")
            };
            format!("{mantissa}e{exponent}")
        }
        None => text,
    }
}

/// A key as written when it is a plain word no YAML reads as anything but a string
/// (`Fn::GetAtt`, `aws:SourceAccount`), else quoted.
fn yaml_key(key: &serde_yaml::Value) -> String {
    let text = match key {
        serde_yaml::Value::String(text) => text.clone(),
        other => return yaml_scalar(other),
    };
    let plain = text.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && text.chars().all(|c| c.is_ascii_alphanumeric() || "_.:/-".contains(c))
        && !matches!(
            text.to_ascii_lowercase().as_str(),
            "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
        );
    if plain {
        text
    } else {
        json_string(&text)
    }
}

/// RFC 7386: a mapping patch merges key by key (`null` removes the key), anything else replaces.
fn merge_patch(target: &mut serde_yaml::Value, patch: &serde_yaml::Value) {
    let serde_yaml::Value::Mapping(changes) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_mapping() {
        *target = serde_yaml::Value::Mapping(serde_yaml::Mapping::new());
    }
    let serde_yaml::Value::Mapping(fields) = target else {
        return;
    };
    for (key, change) in changes {
        if change.is_null() {
            fields.remove(key);
        } else {
            merge_patch(fields.entry(key.clone()).or_insert(serde_yaml::Value::Null), change);
        }
    }
}

fn render(
    environment: &Environment,
    name: &'static str,
    source: &str,
    context: &impl Serialize,
) -> Result<String, EmitError> {
    let rendered = environment
        .render_str(source, context)
        .map_err(|source| EmitError::Template { name, source })?;
    let mut text = rendered.trim_end().to_string();
    text.push('\n');
    // Every template is read back before anything is written: a string the templates failed to
    // quote must stop the run, not reach CloudFormation (or a reviewer's diff) unreadable.
    serde_yaml::from_str::<serde_yaml::Value>(&text).map_err(|source| EmitError::Yaml { name, source })?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_merges_key_by_key_removes_with_null_and_replaces_lists() {
        let text = "# Generated by compose2ecs.\n# A comment.\nResources:\n  Group:\n    Type: A\n    Properties:\n      Port: 80\n      Tags: [a, b]\n      Old: x\n";
        let patch: serde_yaml::Value = serde_yaml::from_str(
            "Resources:\n  Group:\n    Properties:\n      HealthCheckPath: /health\n      Tags: [c]\n      Old: null\n  Extra:\n    Type: B\n",
        )
        .unwrap();
        let merged = overlaid(text, &patch).unwrap();
        assert_eq!(
            merged,
            "# Generated by compose2ecs.\n# A patch (x-ecs.cloudformation, x-aws-cloudformation) is merged into this template: its own comments are left out.\n\
             Resources:\n  Group:\n    Type: \"A\"\n    Properties:\n      Port: 80\n      Tags:\n        - \"c\"\n      HealthCheckPath: \"/health\"\n  Extra:\n    Type: \"B\"\n"
        );
    }

    #[test]
    fn floats_are_written_as_yaml_1_1_reads_them() {
        let number = |text: &str| yaml_number(&serde_yaml::from_str(text).unwrap());
        assert_eq!(number("1e20"), "1.0e+20");
        assert_eq!(number("1.5e-7"), "1.5e-7");
        assert_eq!(number("0.25"), "0.25");
        assert_eq!(number("42"), "42");
    }

    #[test]
    fn an_overlaid_template_reads_back_as_it_was_merged() {
        let text = "# Generated.\nResources:\n  A:\n    Properties:\n      Flag: \"on\"\n      When: \"12:30\"\n      List: [{Key: a, Value: \"no\"}, [1, 2], {}, []]\n      \"on\": yes-key\n      Empty: {}\n";
        let patch: serde_yaml::Value = serde_yaml::from_str("Resources: {A: {Properties: {Added: 1.5}}}").unwrap();
        let merged = overlaid(text, &patch).unwrap();
        let mut expected: serde_yaml::Value = serde_yaml::from_str(text).unwrap();
        merge_patch(&mut expected, &patch);
        assert_eq!(
            serde_yaml::from_str::<serde_yaml::Value>(&merged).unwrap(),
            expected,
            "{merged}"
        );
        assert!(
            merged.contains("\"on\": \"yes-key\"") && merged.contains("Flag: \"on\""),
            "{merged}"
        );
    }

    #[test]
    fn a_template_that_renders_unreadable_yaml_is_an_error() {
        let environment = Environment::new();
        let context = minijinja::context! { name => "ab" };
        let broken = render(&environment, "broken.yaml", "Name: [{{ name }}\n", &context);
        assert!(
            matches!(
                broken,
                Err(EmitError::Yaml {
                    name: "broken.yaml",
                    ..
                })
            ),
            "{broken:?}"
        );
        let fine = render(&environment, "fine.yaml", "Name: [{{ name }}]\n", &context).unwrap();
        assert_eq!(fine, "Name: [ab]\n");
    }

    #[test]
    fn json_strings_read_back_in_json_and_yaml() {
        let awkward: String = (0u32..0x100)
            .chain([0x2028, 0x2029, 0xfeff, 0xfffd, 0xfffe, 0xffff, 0x1f600])
            .filter_map(char::from_u32)
            .collect();
        for text in [
            "",
            "plain",
            "quote \" and \\ back",
            "${AWS::Region}",
            "a: b # c",
            awkward.as_str(),
        ] {
            let quoted = json_string(text);
            assert_eq!(serde_json::from_str::<String>(&quoted).unwrap(), text, "{quoted}");
            let yaml = format!("key: {quoted}\n");
            let parsed: std::collections::BTreeMap<String, String> =
                serde_yaml::from_str(&yaml).unwrap_or_else(|e| panic!("{quoted}: {e}"));
            assert_eq!(parsed["key"], text, "{quoted}");
            // Nothing YAML 1.1 reads as a line break or refuses is left in the text.
            assert!(
                !quoted.contains(
                    |c: char| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{fffe}' | '\u{ffff}')
                ),
                "{quoted}"
            );
        }
    }
}
