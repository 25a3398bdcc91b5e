//! The Plan: what will run where on ECS and why, computed before anything is emitted.

use crate::diagnostic::KeyPath;
use crate::normalise::Condition;
use serde::{Serialize, Serializer};

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub project: String,
    /// The ECS services in the order to create them: Service Connect servers before their clients.
    pub creation_order: Vec<String>,
    pub tasks: Vec<TaskGroup>,
    /// Services that live outside ECS (`x-ecs.external`).
    pub external: Vec<ExternalService>,
    /// Databases and caches the data stack makes (`x-ecs.managed`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub managed: Vec<super::ManagedDatabase>,
    /// Every reference to another service, with what it became.
    pub references: Vec<Reference>,
    /// Named volumes used by a container: an EFS access point each.
    pub volumes: Vec<VolumePlan>,
    /// Compose secrets the services use.
    pub secrets: Vec<SecretPlan>,
    /// The secrets stacks, by part (1: `secrets.yaml`, 2: `secrets-2.yaml`, …), in order: those
    /// the created secrets fill, and every one deployed before; empty without secrets.
    #[serde(skip_serializing_if = "super::stacks::no_later_part")]
    pub secret_stacks: Vec<u32>,
    /// The file system that holds them, when there are any.
    pub efs: Option<super::EfsPlan>,
    /// Public ports: an ALB listener each.
    pub listeners: Vec<super::Listener>,
    /// HTTPS on 443 and the redirect from 80, when `x-ecs.certificate` is given.
    pub https: Option<super::HttpsPlan>,
    /// DNS names for clustered peers, when the project has any.
    pub cloud_map: Option<super::CloudMapPlan>,
    /// Public ports that are not HTTP: a network load balancer's listener each.
    pub network_load_balancer: Option<super::NetworkLoadBalancer>,
    /// The ports the load balancer admits from anywhere: each listener's, then the redirect's.
    pub public_ports: Vec<u16>,
    /// The container ports behind the listeners, each once: the tasks admit them from the ALB.
    pub load_balanced_ports: Vec<u16>,
    pub deployment: Deployment,
    /// Values that exist only once the stacks are deployed, and where each comes from.
    pub missing: Vec<MissingValue>,
    /// With several compose networks, a security group each (in the base stack) that admits its
    /// members; empty when the tasks' own group admits itself.
    pub network_groups: Vec<NetworkGroup>,
    /// The CloudFormation stacks the app needs, in the order to deploy them.
    pub stacks: Vec<super::StackPlan>,
    /// The images `deploy` builds and pushes.
    pub builds: Vec<super::ImageBuild>,
    /// `x-ecs.cloudformation`: what is merged into each generated template that has a patch.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub overlays: Vec<crate::normalise::TemplateOverlay>,
}

/// A compose network on ECS: a security group that admits the tasks on it from each other, on
/// any port, as the network lets its services reach each other.
#[derive(Debug, Clone, Serialize)]
pub struct NetworkGroup {
    pub network: String,
    /// Its logical id in the base stack (`NetworkBackendSecurityGroup`).
    pub logical_id: String,
    /// The base stack's output with its id, the placeholder the services use.
    pub output: String,
    /// The tasks on it.
    pub tasks: Vec<String>,
}

/// A value known now, or a marked placeholder `{{Name}}` filled once the stacks exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeployValue {
    Known(String),
    Placeholder(String),
}

impl DeployValue {
    pub fn text(&self) -> String {
        match self {
            DeployValue::Known(value) => value.clone(),
            DeployValue::Placeholder(name) => format!("{{{{{name}}}}}"),
        }
    }
}

impl Serialize for DeployValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text())
    }
}

/// A placeholder left in the output, and how the user fills it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct MissingValue {
    pub name: String,
    /// The generated stack with an output of this name.
    pub stack: Option<String>,
    /// The top-level `x-ecs` key that gives the value directly.
    pub setting: Option<String>,
    /// Where the value comes from when it is neither.
    pub note: Option<String>,
}

impl MissingValue {
    /// Where the value comes from, in words.
    pub fn source(&self) -> String {
        let output = self
            .stack
            .as_ref()
            .map(|stack| format!("output `{}` of the `{stack}` stack", self.name));
        match (&self.setting, output, &self.note) {
            (Some(setting), Some(output), _) => format!("`x-ecs.{setting}`, or {output}"),
            (Some(setting), None, _) => format!("`x-ecs.{setting}`"),
            (None, Some(output), _) => output,
            (None, None, Some(note)) => note.clone(),
            (None, None, None) => "the deployment".to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Deployment {
    pub cluster: String,
    /// The base stack creates the cluster unless `x-ecs.cluster` names an existing one.
    pub create_cluster: bool,
    pub region: DeployValue,
    /// The VPC and the subnets `deploy` deploys the stacks with, when `x-ecs` gives them.
    pub vpc: Option<String>,
    pub private_subnets: Option<Vec<String>>,
    pub public_subnets: Option<Vec<String>>,
    pub subnets: Vec<DeployValue>,
    pub security_groups: Vec<DeployValue>,
    pub assign_public_ip: bool,
    pub execution_role_arn: DeployValue,
    pub task_role_arn: DeployValue,
    pub log_group: String,
    pub log_retention_days: u32,
    /// The Service Connect namespace, when any reference crosses tasks.
    pub namespace: Option<String>,
    /// Container ports tasks reach each other on through Service Connect.
    pub connect_ports: Vec<u16>,
    /// Whether the tasks' own security group admits itself, on any port, as one compose network
    /// does: when a task reaches another (or itself through its Service Connect proxy) and the
    /// project has no group per compose network (which then admit their members instead).
    pub task_group_admits_itself: bool,
    /// Where the ECS services' tasks get their tags from (`propagateTags`).
    pub tag_propagation: TagPropagation,
    /// The secrets the execution role may read to pull images from private registries: each as
    /// an IAM policy resource.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub registry_credentials: Vec<String>,
    /// The roles the tasks run with: the project's shared one, then each task's own.
    pub task_roles: Vec<super::TaskRole>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TagPropagation {
    pub from: TagSource,
    pub reason: String,
}

/// What ECS copies tags from onto the tasks it starts, in ECS's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TagSource {
    #[serde(rename = "SERVICE")]
    Service,
    #[serde(rename = "TASK_DEFINITION")]
    TaskDefinition,
}

/// One ECS task definition and the ECS service that runs it.
#[derive(Debug, Clone, Serialize)]
pub struct TaskGroup {
    pub name: String,
    pub family: String,
    pub service_name: String,
    pub containers: Vec<Container>,
    pub size: TaskSize,
    pub desired_count: u32,
    pub rollout: Rollout,
    /// Volumes mounted by the task's containers.
    pub volumes: Vec<TaskVolume>,
    /// Tags of the ECS service (propagated to its tasks), from the services' `deploy.labels`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<(String, String)>,
    /// `Some` when a container's `platform` names one; else ECS's default, X86_64.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_architecture: Option<CpuArchitecture>,
    pub load_balancers: Vec<LoadBalancerTarget>,
    /// Seconds ECS ignores the load balancer's health checks after a task starts.
    pub health_check_grace_period: Option<u32>,
    /// Service Connect: `Some` when the task reaches other tasks or is reached by them.
    pub service_connect: Option<ServiceConnect>,
    /// The Cloud Map service its ECS service registers its tasks' addresses with (a clustered peer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_registry: Option<DeployValue>,
    /// The security groups it is in beside the tasks' own: its compose networks' (with several),
    /// and the network load balancer's clients' group (behind a UDP listener).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub network_groups: Vec<DeployValue>,
    /// `x-ecs.autoscaling` of one of its services: the ECS service scales between min and max.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<super::AutoscalingPlan>,
    /// ECS Exec, its own storage and its capacity, as its services ask.
    #[serde(skip_serializing_if = "super::TaskOperations::is_default")]
    pub operations: super::TaskOperations,
    /// Values the task definition or the ECS service hold in plain text although they hold a
    /// secret, since ECS reads no secret into them (each is warned about, as `plain-secret`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub plain_secrets: Vec<PlainSecret>,
}

/// A value written in plain text that holds a secret: where it is, and how a view of the plan,
/// printed to a CI log as often as not, shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlainSecret {
    #[serde(flatten)]
    pub site: PlainSecretSite,
    /// The value with its secret shown as `***`: all of it when its name says it is a secret,
    /// else each password in it.
    pub shown: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "in", rename_all = "kebab-case")]
pub enum PlainSecretSite {
    Environment {
        container: String,
        variable: String,
    },
    Label {
        container: String,
        key: String,
    },
    Command {
        container: String,
        argument: usize,
    },
    Entrypoint {
        container: String,
        argument: usize,
    },
    Healthcheck {
        container: String,
        argument: usize,
    },
    /// A tag of the ECS service, from a `deploy.labels` entry.
    Tag {
        key: String,
    },
}

/// How ECS replaces the tasks of a service when it deploys a new revision.
#[derive(Debug, Clone, Serialize)]
pub struct Rollout {
    pub maximum_percent: u32,
    pub minimum_healthy_percent: u32,
    pub reason: String,
    /// What ECS does with a deployment whose new tasks keep failing.
    pub circuit_breaker: CircuitBreaker,
}

/// ECS's deployment circuit breaker: it stops a deployment whose new tasks keep failing to start
/// or to become healthy, and with `rollback` goes back to the revision that ran before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CircuitBreaker {
    pub enable: bool,
    pub rollback: bool,
    pub reason: String,
}

/// Why a service is in its task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "rule", rename_all = "kebab-case")]
pub enum GroupReason {
    /// No rule groups it: a task of its own.
    Alone,
    /// `x-ecs.task: NAME`.
    XEcsTask { task: String },
    /// The `ecs.task.family` deploy label (ECS ComposeX).
    FamilyLabel { family: String },
    /// `network_mode: service:X` (possibly through a chain).
    NetworkMode { service: String },
    /// Not a compose service: the container that writes the task's secrets to files.
    SecretsWriter,
}

#[derive(Debug, Clone, Serialize)]
pub struct TaskSize {
    pub cpu: u32,
    pub memory: u32,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Container {
    pub name: String,
    pub service: String,
    pub grouping: GroupReason,
    pub image: DeployValue,
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    /// After every reference was resolved.
    pub environment: Vec<(String, String)>,
    /// ECS `secrets`: environment variable → the secret's ARN (or SSM parameter name).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<(String, DeployValue)>,
    pub port_mappings: Vec<PortMapping>,
    /// Each declared port (and each port a peer dials): who reaches it, and why.
    pub ports: Vec<super::PortPlan>,
    /// Container port ranges: open on the task's network interface, reached by no other task.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub port_ranges: Vec<PortRangeMapping>,
    pub health_check: Option<HealthCheck>,
    pub depends_on: Vec<(String, Condition)>,
    pub essential: bool,
    pub mounts: Vec<MountPoint>,
    /// In-memory file systems (`linuxParameters.tmpfs`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tmpfs: Vec<TmpfsMount>,
    /// `volumesFrom`: containers of the same task whose volumes this one mounts, and read-only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes_from: Vec<(String, bool)>,
    /// Linux capabilities added and dropped (Fargate allows adding `SYS_PTRACE` only).
    pub capabilities_add: Vec<String>,
    pub capabilities_drop: Vec<String>,
    pub cpu: Option<u32>,
    pub memory: Option<u32>,
    pub memory_reservation: Option<u32>,
    pub runtime: ContainerRuntime,
    /// `x-ecs.registry_credentials`: the secret (ARN) ECS pulls the image with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository_credentials: Option<String>,
}

/// How ECS runs the container, from compose's runtime keys.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ContainerRuntime {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub readonly_root_filesystem: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub init_process_enabled: bool,
    /// Seconds between SIGTERM and SIGKILL, within Fargate's 2–120.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub docker_labels: Vec<(String, String)>,
    /// `awslogs` options from `logging.options` (the multiline pattern, the non-blocking mode).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub log_options: Vec<(String, String)>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ulimits: Vec<UlimitPlan>,
    /// Kernel parameters (`net.*`); on awsvpc they apply to every container of the task.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub system_controls: Vec<(String, String)>,
    /// `Some` when compose restarts the container: ECS restarts it in place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<RestartPolicy>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub interactive: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pseudo_terminal: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct UlimitPlan {
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RestartPolicy {
    /// Exit codes that do not restart the container (`on-failure`: 0).
    pub ignored_exit_codes: Vec<i32>,
    /// Seconds a container must have run before ECS restarts it in place; one that fails sooner
    /// stops the task (ECS then replaces it).
    pub attempt_period: u32,
}

/// The task's CPU architecture, from the containers' `platform`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CpuArchitecture {
    #[serde(rename = "X86_64")]
    X86_64,
    #[serde(rename = "ARM64")]
    Arm64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortMapping {
    pub name: String,
    pub container_port: u16,
    pub protocol: crate::normalise::Protocol,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortRangeMapping {
    pub first: u16,
    pub last: u16,
    pub protocol: crate::normalise::Protocol,
}

#[derive(Debug, Clone, Serialize)]
pub struct HealthCheck {
    pub command: Vec<String>,
    pub interval: Option<u64>,
    pub timeout: Option<u64>,
    pub retries: Option<u64>,
    pub start_period: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MountPoint {
    pub volume: String,
    pub container_path: String,
    pub read_only: bool,
    /// The volume is the task's own storage (a `tmpfs` or an anonymous volume), not EFS.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub task_storage: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct TmpfsMount {
    pub container_path: String,
    pub size_mib: u32,
    pub mount_options: Vec<String>,
}

/// A volume of a task definition: an EFS access point on the project's file system, or (with no
/// `efs`) a folder on the task's own storage that lives as long as the task.
#[derive(Debug, Clone, Serialize)]
pub struct TaskVolume {
    pub name: String,
    pub efs: Option<EfsVolume>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EfsVolume {
    pub file_system_id: DeployValue,
    pub access_point_id: DeployValue,
    /// As the project's `EfsPlan.mount` says.
    pub transit_encryption: bool,
    pub iam_authorization: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct LoadBalancerTarget {
    pub target_group_arn: DeployValue,
    pub container: String,
    pub container_port: u16,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceConnect {
    /// Ports this task offers to others; empty for a client only.
    pub services: Vec<ServiceConnectService>,
    /// The log stream prefix of the task's Service Connect proxy.
    pub log_stream_prefix: String,
}

impl ServiceConnect {
    pub fn for_task(task: &str) -> Self {
        ServiceConnect {
            services: Vec::new(),
            log_stream_prefix: format!("{task}-service-connect"),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceConnectService {
    pub port_name: String,
    pub discovery_name: String,
    /// ECS allows exactly one client alias per Service Connect service.
    pub client_alias: ClientAlias,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ClientAlias {
    pub dns_name: String,
    pub port: u16,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExternalService {
    pub service: String,
    pub host: String,
    pub port: Option<u16>,
}

/// Where in a service a reference was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "in", rename_all = "kebab-case")]
pub enum ReferenceSite {
    Environment { variable: String },
    Command { argument: usize },
    Entrypoint { argument: usize },
    Healthcheck { argument: usize },
}

/// What a reference became.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    /// Same task: the containers share a network namespace.
    Localhost,
    /// The service's own name where it binds its listener: every interface, since on ECS its
    /// name is a Service Connect alias, whose address is the proxy's, not its own.
    AllInterfaces,
    /// Another task, reached through a Service Connect client alias of the same name and port.
    ServiceConnect { alias: String, port: u16 },
    /// A clustered peer's Cloud Map DNS name (`minio2.app.internal`): its task's own address.
    CloudMap { host: String },
    /// Outside ECS (`x-ecs.external`).
    External { host: String, port: Option<u16> },
    /// A database or cache made by the data stack (`x-ecs.managed`), at its endpoint.
    Managed { host: String, port: Option<u16> },
    /// Not rewritten, with the reason.
    LeftAlone { why: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct Reference {
    pub service: String,
    pub site: ReferenceSite,
    pub path: KeyPath,
    /// The name as written: a service name, container name or alias.
    pub name: String,
    pub target: String,
    pub outcome: Outcome,
    /// The value before and after, with passwords masked: whole when short, else the part around
    /// the reference (`…` where it is cut), so a reference costs a bounded size whatever the value.
    pub before: String,
    pub after: String,
}

/// A compose secret on AWS.
#[derive(Debug, Clone, Serialize)]
pub struct SecretPlan {
    pub name: String,
    pub logical_id: String,
    /// What ECS reads it from: its ARN, or an SSM parameter name.
    pub value_from: DeployValue,
    /// What the execution role's policy names to let ECS read it; `Created`: the secrets stack
    /// creates the secret (empty: `deploy` puts the value).
    pub policy_resource: PolicyResource,
    /// Where `deploy` reads the value of a secret the stack creates; `None` when it is not on
    /// this machine (a variable that is not set). Not in the plan's JSON: a path there would
    /// depend on where compose2ecs runs.
    #[serde(skip)]
    pub value: Option<crate::normalise::SecretValue>,
    /// Which secrets stack creates it: 1 is `secrets.yaml`, 2 `secrets-2.yaml`, …; 1 for the
    /// existing ones, which only the first stack's policy names.
    #[serde(skip_serializing_if = "super::stacks::is_first_part")]
    pub stack_part: u32,
}

/// The IAM resource of a secret the execution role reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum PolicyResource {
    /// The secret the secrets stack creates (by its logical id).
    Created,
    /// A Secrets Manager secret's ARN, without a JSON key or version, ending in the random
    /// six-character suffix or a `-??????` wildcard for it.
    SecretsManager(String),
    /// An SSM parameter's ARN.
    SsmParameterArn(String),
    /// An SSM parameter of the task's region and account, by name (no leading `/`).
    SsmParameterName(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct VolumePlan {
    /// The compose name.
    pub name: String,
    /// The task definition's name for it (ECS allows no `.`).
    pub ecs_name: String,
    /// Its folder on the shared file system.
    pub root_directory: String,
    pub logical_id: String,
    pub access_point_id: DeployValue,
    /// The owner of its folder.
    pub owner_uid: u32,
    pub owner_gid: u32,
    /// Where the owner comes from: `x-ecs`, `driver_opts`, or the default.
    pub owner_reason: String,
    /// Every task acts on the volume as the owner (an access point POSIX user); otherwise tasks
    /// keep their own users, and root needs `root_access`.
    pub posix_user: bool,
    /// `x-ecs.root_access`: the task role may act as root on this volume.
    pub root_access: bool,
    /// Which EFS stack makes its access point: 1 is `efs.yaml`, 2 `efs-2.yaml`, …
    #[serde(skip_serializing_if = "super::stacks::is_first_part")]
    pub stack_part: u32,
}
