//! The Project: a compose project in compose's own words, each part with the key path it came from.

use crate::diagnostic::KeyPath;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

#[derive(Debug, Clone, Serialize)]
pub struct Project {
    pub name: String,
    pub services: Vec<Service>,
    /// Services left out because none of their profiles is active.
    pub inactive: Vec<InactiveService>,
    pub volumes: Vec<NamedVolume>,
    pub secrets: Vec<SecretDefinition>,
    pub settings: DeploySettings,
    /// Service name → position in `services`, so looking a service up is not a scan.
    #[serde(skip)]
    index: HashMap<String, usize>,
    /// Secret name → position in `secrets`, likewise.
    #[serde(skip)]
    secret_index: HashMap<String, usize>,
}

impl Project {
    pub fn new(
        name: String,
        services: Vec<Service>,
        inactive: Vec<InactiveService>,
        volumes: Vec<NamedVolume>,
        secrets: Vec<SecretDefinition>,
        settings: DeploySettings,
    ) -> Self {
        let index = services.iter().enumerate().map(|(i, s)| (s.name.clone(), i)).collect();
        let secret_index = secrets.iter().enumerate().map(|(i, s)| (s.name.clone(), i)).collect();
        Project {
            name,
            services,
            inactive,
            volumes,
            secrets,
            settings,
            index,
            secret_index,
        }
    }

    pub fn service(&self, name: &str) -> Option<&Service> {
        self.index.get(name).map(|&i| &self.services[i])
    }

    pub fn secret(&self, name: &str) -> Option<&SecretDefinition> {
        self.secret_index.get(name).map(|&i| &self.secrets[i])
    }
}

/// A service whose profiles are all inactive.
#[derive(Debug, Clone, Serialize)]
pub struct InactiveService {
    pub name: String,
    pub profiles: Vec<String>,
}

/// A top-level named volume.
#[derive(Debug, Clone, Serialize)]
pub struct NamedVolume {
    pub name: String,
    pub path: KeyPath,
    pub ecs: VolumeSettings,
    pub driver_owner: DriverOwner,
    /// `external: true` with `name: fs-…` (as Docker's ECS integration read it): the volume is
    /// that existing EFS file system, mounted from its root.
    pub existing_file_system: Option<String>,
    /// The local folder a local-driver volume binds (`driver_opts: {o: bind, device: ./app}`):
    /// a bind mount in disguise, which each use becomes.
    pub bind_device: Option<String>,
}

/// A top-level secret.
#[derive(Debug, Clone, Serialize)]
pub struct SecretDefinition {
    pub name: String,
    pub source: SecretSource,
    pub path: KeyPath,
    /// Docker's `x-aws-keys`: the keys of the secret's JSON, each written to a file of its own
    /// (`/run/secrets/NAME/KEY`) instead of the whole secret to one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub json_keys: Vec<String>,
    /// ECS ComposeX's `JsonKeys`: (key of the secret's JSON, variable) for each environment
    /// variable of the services that use the secret, read by ECS from that key.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub key_variables: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SecretSource {
    /// `file:` or `environment:`: the value is on this machine; `deploy` puts it into Secrets
    /// Manager, and it never goes into the output.
    Local { value: Option<SecretValue> },
    /// `external: true`: it exists; `reference` is its ARN or an SSM parameter name.
    External { reference: String },
    /// Neither: an error if a service uses it.
    Undeclared,
}

/// Where `deploy` reads a secret's value from on this machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretValue {
    /// A compose secret's `file:`, from the project folder.
    File(std::path::PathBuf),
    /// A compose secret's `environment:` variable, or a variable that holds a secret.
    Text(Withheld),
}

/// A secret's text: never printed, serialised or shown in a debug dump.
#[derive(Clone, PartialEq, Eq)]
pub struct Withheld(pub String);

impl std::fmt::Debug for Withheld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<withheld>")
    }
}

impl Serialize for Withheld {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("<withheld>")
    }
}

/// A service's use of a secret: the file it reads.
#[derive(Debug, Clone, Serialize)]
pub struct SecretUse {
    pub secret: String,
    /// Absolute path of the file in the container.
    pub target: String,
    pub uid: Option<String>,
    pub gid: Option<String>,
    /// Octal digits (`0440`).
    pub mode: Option<String>,
    pub path: KeyPath,
}

/// Top-level `x-ecs`: what only the deployment knows. Each field is documented in the README.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeploySettings {
    pub cluster: Option<String>,
    pub region: Option<String>,
    /// The VPC `deploy` deploys the stacks into (its `--vpc` wins).
    pub vpc: Option<String>,
    pub subnets: Option<Vec<String>>,
    /// The subnets `deploy` puts the load balancers in (its `--public-subnets` wins).
    pub public_subnets: Option<Vec<String>>,
    pub security_groups: Option<Vec<String>>,
    pub assign_public_ip: bool,
    /// Where the images of services with `build` and no `image` are pushed (`…dkr.ecr….amazonaws.com/app`).
    pub registry: Option<String>,
    /// Their tag; `latest` when not given.
    pub image_tag: Option<String>,
    /// The image of the container that writes the secrets' files (busybox from ECR Public when
    /// not given; a copy in the user's registry for subnets without a way to ECR Public).
    pub secrets_image: Option<String>,
    /// `environment_secrets: true`: variables that hold secrets are read from Secrets Manager.
    pub environment_secrets: bool,
    pub infrastructure: InfrastructureSettings,
    /// `cloudformation`: documents merged into the generated templates, by template name.
    pub cloudformation: Vec<TemplateOverlay>,
    /// Compose networks that are existing security groups (`external: true` with `name: sg-…`,
    /// or Docker's `x-aws-securitygroup`): network name → group id.
    pub network_security_groups: BTreeMap<String, String>,
}

/// `x-ecs.cloudformation.<template>`: a document merged into a generated template (JSON merge
/// patch: a mapping merges key by key, `null` removes, anything else replaces).
#[derive(Debug, Clone, Serialize)]
pub struct TemplateOverlay {
    /// `base.yaml`, `alb.yaml`, …; empty for Docker's `x-aws-cloudformation`, one document for
    /// every template: each of its entries goes to the template that has it, else `base.yaml`.
    pub template: String,
    pub patch: serde_yaml::Value,
    pub path: KeyPath,
}

/// Top-level `x-ecs` keys that shape the stacks (`normalise::infrastructure`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct InfrastructureSettings {
    /// `file_system`: the id of an existing EFS file system to put the access points on, and where it was written.
    pub file_system: Option<(String, KeyPath)>,
    /// `mount_targets`: how many of the private subnets get an EFS mount target, and where it was written.
    pub mount_targets: Option<(u32, KeyPath)>,
    /// `log_retention_days`: how long CloudWatch keeps the containers' logs.
    pub log_retention_days: Option<u32>,
    /// `certificate`: the ACM certificate ARN of the load balancer's HTTPS listener, and where it
    /// was written.
    pub certificate: Option<(String, KeyPath)>,
}

/// `volumes.<name>.x-ecs`: who owns the volume's folder on EFS.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VolumeSettings {
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// `root_access: true`: the tasks act on the volume as their own users, root included.
    pub root_access: bool,
}

/// `uid=` and `gid=` in a local-driver volume's `driver_opts.o` (`o: "uid=1000,gid=1000"`): the
/// owner the volume had under compose, used where `x-ecs` names none.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DriverOwner {
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

/// Per-service `x-ecs` keys for the load balancer's health checks of the service.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HealthCheckSettings {
    pub path: Option<String>,
    /// ALB success codes: `200`, `200,302`, `200-299`.
    pub codes: Option<String>,
    /// Seconds ECS ignores the load balancer's health checks after a task starts.
    pub grace_period: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Service {
    pub name: String,
    pub path: KeyPath,
    pub image: Option<String>,
    /// `build`'s context folder (`.` when `build` names none); `None` without `build`.
    pub build_context: Option<String>,
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub environment: Vec<EnvVar>,
    pub ports: Vec<Port>,
    /// Container port ranges (`"9000-9010"`), from `ports` and `expose`.
    pub port_ranges: Vec<PortRange>,
    pub healthcheck: Option<Healthcheck>,
    pub depends_on: Vec<Dependency>,
    pub mounts: Vec<Mount>,
    pub replicas: Option<Replicas>,
    pub resources: Resources,
    /// `network_mode: service:X`: the X, and where it was written.
    pub joins: Option<(String, KeyPath)>,
    pub container_name: Option<String>,
    /// The compose networks it joins (`default` when it names none); none when it is in another
    /// service's network (`joins`).
    pub networks: Vec<String>,
    /// `networks.<n>.aliases`: more names of this service on the networks.
    pub aliases: Vec<String>,
    /// `links: ["db:pg"]`: names only this service uses for others, as (alias, service).
    pub links: Vec<Link>,
    /// `deploy.labels` `ecs.task.family` (ECS ComposeX's grouping label): the task families it
    /// lists (one or more, the first a valid task name), and where.
    pub family_label: Option<(Vec<String>, KeyPath)>,
    /// The other `deploy.labels`, as written: tags of the ECS service.
    pub tags: Vec<(String, String, KeyPath)>,
    /// `cap_add` and `cap_drop`, without a `CAP_` prefix.
    pub cap_add: Vec<(String, KeyPath)>,
    pub cap_drop: Vec<String>,
    pub runtime: Runtime,
    pub volumes_from: Vec<VolumesFrom>,
    pub secrets: Vec<SecretUse>,
    /// The files it bind-mounts from the project's folder, read for the services they name.
    #[serde(skip)]
    pub mounted_files: Vec<MountedFile>,
    pub ecs: ServiceSettings,
}

/// A file a service bind-mounts (Fargate cannot), as written, where, and its text.
#[derive(Debug, Clone)]
pub struct MountedFile {
    pub source: String,
    pub path: KeyPath,
    pub text: String,
}

/// How the container runs, as compose wrote it; plan decides what ECS makes of each.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Runtime {
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub read_only: bool,
    pub init: bool,
    pub stop_grace_period: Option<(Duration, KeyPath)>,
    /// `labels`, in the order written.
    pub labels: Vec<(String, String)>,
    /// `logging.options` the `awslogs` driver takes and compose2ecs passes on, sorted by name.
    pub log_options: Vec<(String, String)>,
    pub ulimits: Vec<Ulimit>,
    pub sysctls: Vec<Sysctl>,
    /// `platform: linux/arm64`, as written.
    pub platform: Option<(String, KeyPath)>,
    /// `restart: always` and the like, as written.
    pub restart: Option<(String, KeyPath)>,
    pub tty: bool,
    pub stdin_open: bool,
}

/// A resource limit; `-1` is unlimited, as in compose and ECS.
#[derive(Debug, Clone, Serialize)]
pub struct Ulimit {
    pub name: String,
    pub soft: i64,
    pub hard: i64,
    pub path: KeyPath,
}

/// A kernel parameter (`net.core.somaxconn=1024`).
#[derive(Debug, Clone, Serialize)]
pub struct Sysctl {
    pub name: String,
    pub value: String,
    pub path: KeyPath,
}

/// A `volumes_from` entry: the volumes of another service (`service:NAME`, or a bare name) or of
/// a container by its `container_name` (`container:NAME`).
#[derive(Debug, Clone, Serialize)]
pub struct VolumesFrom {
    pub name: String,
    pub by_container_name: bool,
    pub read_only: bool,
    pub path: KeyPath,
}

/// A `links` entry: `alias` means `service` for the linking service.
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub alias: String,
    pub service: String,
    pub path: KeyPath,
}

/// A replica count and where it was written.
#[derive(Debug, Clone, Serialize)]
pub struct Replicas {
    pub count: u32,
    pub path: KeyPath,
}

/// Per-service `x-ecs`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServiceSettings {
    /// `x-ecs.task`: services with the same name share one task.
    pub task: Option<(String, KeyPath)>,
    /// `x-ecs.external`: the service lives outside ECS at this endpoint.
    pub external: Option<ExternalEndpoint>,
    /// `x-ecs.essential: false`: the task may lose this container.
    pub essential: Option<bool>,
    /// `x-ecs.peer_dns: true`: a clustered server that must tell its own address from its peers'
    /// gets a Cloud Map DNS name, as well-known clustered images do.
    pub peer_dns: bool,
    /// `x-ecs.health_check` and `x-ecs.grace_period`.
    pub health_check: HealthCheckSettings,
    /// `x-ecs.secret_variables`: environment variables read from Secrets Manager, and where each
    /// name was written.
    pub secret_variables: Vec<(String, KeyPath)>,
    /// `x-ecs.autoscaling`: the service's task scales between `min` and `max` copies.
    pub autoscaling: Option<AutoscalingSettings>,
    /// `x-ecs.load_balancer.type`: the load balancer its published ports go behind, whatever
    /// their protocol seems to be, and where it is written.
    pub load_balancer_type: Option<(LoadBalancerType, KeyPath)>,
    /// `x-ecs.load_balancer`: the listener rule that sends requests to this service on a port it
    /// shares with others.
    pub load_balancer: Option<ListenerRouting>,
    /// `x-ecs.rollout`: how many of the task's copies ECS keeps and adds while it deploys.
    pub rollout: Option<RolloutSettings>,
    /// `x-ecs.exec: true`: ECS Exec (`aws ecs execute-command`) into the task's containers.
    pub exec: bool,
    /// `x-ecs.ephemeral_storage`: the task's own storage in GiB (21 to 200), and where it is written.
    pub ephemeral_storage: Option<(u32, KeyPath)>,
    /// `x-ecs.spot: true` (or ComposeX's `CapacityProviderStrategy`): the Fargate capacity
    /// providers the task runs on, and where it is written.
    pub capacity: Option<(Vec<CapacityShare>, KeyPath)>,
    /// `x-ecs.registry_credentials`: the Secrets Manager secret (ARN) with the user and password
    /// of the private registry the image is pulled from.
    pub registry_credentials: Option<(String, KeyPath)>,
    /// `x-ecs.policies`: what the containers may do in AWS, given to their task's own role.
    pub policies: Option<TaskPolicies>,
    /// `x-ecs.managed` (or Defang's `x-defang-postgres`, …): the database or cache runs on an AWS
    /// service instead of in a container.
    pub managed: Option<ManagedSettings>,
}

/// `x-ecs.managed`: the service's database or cache is made by AWS (RDS, Aurora, DocumentDB,
/// ElastiCache) in the data stack; each setting given changes one of the safe defaults.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ManagedSettings {
    /// `engine: aurora`: Aurora Serverless v2 in place of an RDS instance.
    pub aurora: bool,
    /// `version`: the engine version, in place of the one read from the image's tag.
    pub version: Option<(String, KeyPath)>,
    /// `instance_class`: the RDS or DocumentDB instance class (`db.t4g.micro`, …).
    pub instance_class: Option<(String, KeyPath)>,
    /// `storage`: the RDS instance's storage in GiB.
    pub storage: Option<u32>,
    pub multi_az: Option<bool>,
    pub backup_retention_days: Option<u32>,
    pub deletion_protection: Option<bool>,
    /// Where it is written (`x-ecs.managed`, or the other tool's key).
    pub path: KeyPath,
}

impl Service {
    /// The setting that runs the service outside ECS, with no container: `x-ecs.external` (it
    /// exists) or `x-ecs.managed` (the data stack makes it).
    pub fn outside_ecs(&self) -> Option<&'static str> {
        if self.ecs.external.is_some() {
            Some("x-ecs.external")
        } else if self.ecs.managed.is_some() {
            Some("x-ecs.managed")
        } else {
            None
        }
    }
}

/// `x-ecs.policies`: managed policies (ARNs) and IAM policy statements for the task role.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TaskPolicies {
    pub managed: Vec<String>,
    /// Each an IAM statement (`Effect`, `Action`, `Resource`, …) as written.
    pub statements: Vec<serde_yaml::Value>,
    pub path: KeyPath,
}

/// One capacity provider of a task's strategy: `FARGATE` or `FARGATE_SPOT`, its weight, and the
/// copies it runs first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CapacityShare {
    pub provider: String,
    pub weight: u32,
    pub base: u32,
}

/// `x-ecs.rollout: {minimum_healthy_percent, maximum_percent}`: the ECS service's deployment
/// percents, each in place of the one the plan would choose.
#[derive(Debug, Clone, Serialize)]
pub struct RolloutSettings {
    pub minimum_healthy_percent: Option<u32>,
    pub maximum_percent: Option<u32>,
    pub path: KeyPath,
}

/// `x-ecs.autoscaling: {min, max, cpu, memory}`: target tracking on the ECS service's average CPU
/// and/or memory use, in percent.
#[derive(Debug, Clone, Serialize)]
pub struct AutoscalingSettings {
    pub min: u32,
    pub max: u32,
    pub cpu: Option<u32>,
    pub memory: Option<u32>,
    pub path: KeyPath,
}

/// The kind of load balancer a published port goes behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoadBalancerType {
    /// HTTP(S): the Application Load Balancer, with listener rules and health checks over HTTP.
    Application,
    /// Any TCP or UDP: the Network Load Balancer, passing connections through.
    Network,
}

/// `x-ecs.load_balancer`: which requests of a shared listener go to this service. A request
/// matches when its path matches one of `paths` (if any) and its host one of `hosts` (if any).
#[derive(Debug, Clone, Serialize)]
pub struct ListenerRouting {
    /// Path patterns (`/api/*`), case-sensitive.
    pub paths: Vec<String>,
    /// Host names (`api.example.com`, `*.example.com`), in lower case: hosts match in any case.
    pub hosts: Vec<String>,
    /// The rule's priority, lowest first, when the service gives one, and where.
    pub priority: Option<(u32, KeyPath)>,
    /// Where `x-ecs.load_balancer` is written.
    pub path: KeyPath,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExternalEndpoint {
    pub host: String,
    pub port: Option<u16>,
}

/// One environment variable after interpolation, `env_file` and `environment` merged.
#[derive(Debug, Clone, Serialize)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
    pub path: KeyPath,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

/// A container port from `ports` (maybe published) or `expose` (never published).
#[derive(Debug, Clone, Serialize)]
pub struct Port {
    pub target: u16,
    pub published: Option<u16>,
    pub host_ip: Option<String>,
    pub protocol: Protocol,
    pub app_protocol: Option<String>,
    pub path: KeyPath,
    /// Listed in `ports` without a published port (`- "3000"`): compose publishes it on a random
    /// port of the host; `publish_bare_ports` decides what it is on ECS.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub bare: bool,
}

/// A range of container ports, never published.
#[derive(Debug, Clone, Serialize)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
    pub protocol: Protocol,
    pub path: KeyPath,
    /// `ports` publishes it; plan decides what becomes of that.
    pub published: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Healthcheck {
    /// Already in ECS form: `["CMD", …]` or `["CMD-SHELL", "…"]`.
    pub command: Vec<String>,
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub retries: Option<u64>,
    pub start_period: Option<Duration>,
    pub path: KeyPath,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    ServiceStarted,
    ServiceHealthy,
    ServiceCompletedSuccessfully,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dependency {
    pub service: String,
    pub condition: Condition,
    /// `required: false`: a missing service is not an error.
    pub required: bool,
    pub path: KeyPath,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MountSource {
    Named(String),
    Bind(String),
    Anonymous,
    /// `tmpfs` (the key, or a `type: tmpfs` volume): its size in bytes and its mount options
    /// (`mode=1777`, `noexec`, …) when given.
    Tmpfs {
        size: Option<u64>,
        options: Vec<String>,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct Mount {
    pub source: MountSource,
    pub target: String,
    pub read_only: bool,
    pub path: KeyPath,
}

/// `deploy.resources`: CPUs as a fraction of one, memory in MiB.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Resources {
    pub cpu_limit: Option<f64>,
    pub memory_limit_mib: Option<u64>,
    pub cpu_reservation: Option<f64>,
    pub memory_reservation_mib: Option<u64>,
}
