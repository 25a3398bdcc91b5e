//! The diagnostic codes: one variant per code, each with the one thing it means. The code is what
//! a user searches for and CI filters on, so its text never changes; the README's table of codes
//! is generated from this list (`UPDATE_README=1 cargo test --test readme`).

use super::Severity;
use serde::Serialize;
use std::fmt;

/// Declares `Code` from lines `Variant = "kebab-code", Severity | …: "meaning";`. The severities
/// are the ones the code is reported with (the call site decides; tests/readme.rs checks that
/// the calls agree), shown in the README beside the meaning.
macro_rules! codes {
    ($($variant:ident = $code:literal, $($severity:ident)|+ : $meaning:literal;)*) => {
        /// What a diagnostic is about, printed as its kebab-case code (`error[unknown-key]`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $(#[doc = $meaning] $variant,)*
        }

        impl Code {
            /// Every code, in the order of their text (as they are declared; a test checks it).
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The code as it is printed: stable, kebab-case.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $code,)*
                }
            }

            /// What the code means, one sentence or two, whatever the severity it is reported with.
            pub const fn meaning(self) -> &'static str {
                match self {
                    $(Code::$variant => $meaning,)*
                }
            }

            /// The severities the code is reported with.
            pub const fn severities(self) -> &'static [Severity] {
                match self {
                    $(Code::$variant => &[$(Severity::$severity),+],)*
                }
            }
        }
    };
}

codes! {
    AmbiguousPort = "ambiguous-port", Warning:
        "A reference across tasks names no port and the target listens on several.";
    AnonymousOnTaskStorage = "anonymous-on-task-storage", Note:
        "A folder on the task's own storage, emptied when the task stops, stands for an anonymous volume, or for a writable bind mount dropped from a `read_only` container.";
    AutoscalingConflict = "autoscaling-conflict", Error:
        "Two services of one task set `x-ecs.autoscaling`; a task scales as one ECS service.";
    BadCertificate = "bad-certificate", Error:
        "`x-ecs.certificate` is not an ACM certificate ARN (`arn:aws:acm:REGION:ACCOUNT:certificate/ID`).";
    BadCommand = "bad-command", Error:
        "A string `command`/`entrypoint` has an unclosed quote.";
    BadCpus = "bad-cpus", Error:
        "`cpus` is not a positive number.";
    BadDependsOn = "bad-depends-on", Error:
        "An unknown `depends_on` condition.";
    BadDriverOpts = "bad-driver-opts", Error:
        "`uid=` or `gid=` in a volume's `driver_opts.o` is not a number.";
    BadDuration = "bad-duration", Error:
        "A duration such as `1m30s` cannot be read.";
    BadEnvFile = "bad-env-file", Error:
        "A line of an env file is not `KEY=VALUE`.";
    BadExternal = "bad-external", Error:
        "`x-ecs.external` is not `host[:port]`.";
    BadHealthcheck = "bad-healthcheck", Error:
        "A list `healthcheck.test` does not start with `CMD`, `CMD-SHELL` or `NONE`.";
    BadInterpolation = "bad-interpolation", Error:
        "A `${…}` cannot be read.";
    BadListenerRule = "bad-listener-rule", Error:
        "An `x-ecs.load_balancer` rule ALB would refuse: no `path` or `host`, a path not starting with `/`, a value over 128 characters or with a character ALB does not take, a host without a domain, or more than 3 values a condition, 5 values or 5 wildcards a rule.";
    BadMemory = "bad-memory", Error:
        "A memory size such as `512M` (or a tmpfs `size`) cannot be read, a limit is under the 6 MiB ECS gives a container, or a reservation is above its limit.";
    BadPort = "bad-port", Error:
        "A port cannot be read: not a number from 1 to 65535, a wrong syntax, a protocol other than `tcp` and `udp`, or a long form without `target`.";
    BadProjectName = "bad-project-name", Error:
        "The project name has no usable characters.";
    BadRestart = "bad-restart", Error:
        "`restart` is not `no`, `always`, `unless-stopped` or `on-failure[:N]`.";
    BadSecret = "bad-secret", Error:
        "A used secret has neither `file`/`environment` nor `external: true`; a long-form use has no `source`, a non-numeric `uid`/`gid` or a file another secret of the service has; a name Secrets Manager refuses (a secret's, or a variable's read from Secrets Manager); or an external `name` with a wildcard, not one Secrets Manager secret or SSM parameter.";
    BadServiceName = "bad-service-name", Error:
        "A service name is not a string, or has characters compose does not allow.";
    BadSetting = "bad-setting", Error:
        "An `x-ecs` value is out of its range or shape (`cluster`, `log_retention_days`, `mount_targets`, `file_system`, `health_check`, `grace_period`, `autoscaling`, `load_balancer.priority`, `registry`, `image_tag`), or `autoscaling` lacks `max` or a target.";
    BadTag = "bad-tag", Warning:
        "A `deploy.labels` entry cannot be an AWS tag (length, characters, `aws:`, more than 50) and is left out.";
    BadTaskName = "bad-task-name", Error:
        "`x-ecs.task` or `ecs.task.family` is not a usable name, or is empty.";
    BadUlimit = "bad-ulimit", Error:
        "A soft ulimit is above its hard limit.";
    BadVolume = "bad-volume", Error:
        "A volume has no `target`, or its path in the container is not absolute (one word, `db-data`, is an anonymous volume at that path).";
    BadVolumeName = "bad-volume-name", Error:
        "A named volume's name has a character other than letters, digits, `.`, `_` and `-`, or starts with `.` (`..` would be a folder outside the volumes' on EFS).";
    BadVolumesFrom = "bad-volumes-from", Error:
        "A `volumes_from` entry is not `NAME`, `service:NAME` or `container:NAME` (with `:ro` or `:rw`), or names its own service.";
    BadWorkingDir = "bad-working-dir", Error:
        "`working_dir` is not an absolute path.";
    BindMount = "bind-mount", Warning:
        "A bind mount is left out: Fargate has no host folders.";
    BuildWithoutImage = "build-without-image", Warning:
        "A service is only built locally; its image is a placeholder.";
    BuiltImage = "built-image", Note:
        "A service with `build` and no `image` runs the image named after `x-ecs.registry`; the help says how to push it.";
    ConflictingGrouping = "conflicting-grouping", Error:
        "`x-ecs.task`, `network_mode` and `x-ecs.external` disagree.";
    ConflictingKeys = "conflicting-keys", Error:
        "`network_mode` and `networks` together, which compose refuses.";
    ConnectCycle = "connect-cycle", Warning:
        "Services reach each other in a circle through Service Connect: one needs a new deployment once the others exist.";
    ConnectIngress = "connect-ingress", Warning:
        "With your own `x-ecs.security_groups`, they must admit the tasks from themselves, and keep compose networks apart.";
    CrossTaskDependency = "cross-task-dependency", Note:
        "`depends_on` across tasks, or on a service outside ECS, cannot order ECS services.";
    DependsCycle = "depends-cycle", Error:
        "`depends_on` goes round in a circle.";
    DesiredCountAdjusted = "desired-count-adjusted", Note:
        "A service starts with its replicas brought within `x-ecs.autoscaling`'s `min` and `max`.";
    DevOnlyMount = "dev-only-mount", Note:
        "A development mount (the source folder into a built service, or the anonymous `node_modules` volume under it) is left out: the image holds the files.";
    EmptyFile = "empty-file", Error:
        "A compose file is empty.";
    ExecReadOnly = "exec-read-only", Warning:
        "ECS Exec is on for a task with a container whose root file system is read-only, where ECS Exec's agent cannot run.";
    ExtendsCycle = "extends-cycle", Error:
        "`extends` goes round in a circle (`web → base → web`).";
    ExtendsTooLarge = "extends-too-large", Error:
        "With `extends` resolved, the services hold more than 16 MiB of settings: each copies its bases whole, so a small file can grow by the square of its length.";
    ExternalPort = "external-port", Warning:
        "An external endpoint's port has no place in the value that names the service.";
    ExternalService = "external-service", Note:
        "A service outside ECS keeps none of its ports or volumes.";
    FargateCapability = "fargate-capability", Warning:
        "`cap_add` asks for a capability Fargate does not grant (only `SYS_PTRACE`).";
    FargateSpot = "fargate-spot", Note:
        "A task runs on Fargate Spot: cheaper, and AWS may stop a copy with two minutes' notice.";
    FargateSysctl = "fargate-sysctl", Warning:
        "A kernel parameter ECS does not set (not `net.*`, `fs.mqueue.*` or kernel.msg*/sem/shm*) is left out.";
    FileTooLarge = "file-too-large", Error:
        "A file is larger than the 16 MiB compose2ecs reads.";
    ForeignExtension = "foreign-extension", Warning | Note:
        "Another tool's extension key (Docker's ECS integration `x-aws-*`, ECS ComposeX, Defang `x-defang-*`) that compose2ecs does not convert, or not as written (a note: a value adjusted to what AWS takes); the help says what to write instead, and the README's migration table lists them all.";
    HealthcheckClamped = "healthcheck-clamped", Warning:
        "A health check value is outside what ECS accepts.";
    HealthcheckWithoutTest = "healthcheck-without-test", Warning:
        "A health check without `test` is left out.";
    HealthyWithoutHealthcheck = "healthy-without-healthcheck", Warning:
        "`service_healthy` on a service without a health check waits for it to start.";
    HeapOverLimit = "heap-over-limit", Error:
        "A JVM heap (`-Xmx`, `-Xms`) is larger than the container's memory limit.";
    HostPortRange = "host-port-range", Note:
        "A container port published on a range of host ports (`7000-7005:80`) is published on the range's first.";
    HostnameRewritten = "hostname-rewritten", Note:
        "A reference was rewritten.";
    IamQuota = "iam-quota", Warning:
        "A task role has more managed policies than an account's default IAM quota (10).";
    IgnoredDriverOpt = "ignored-driver-opt", Warning:
        "A volume's `driver_opts` option other than `uid`/`gid` in `o` configures a local mount that EFS replaces (its values are never shown).";
    IgnoredKey = "ignored-key", Warning:
        "A key, or a value of it (a `network_mode`, a mount `type`), is not converted; the message or the conversion table says why.";
    InactiveDependency = "inactive-dependency", Error:
        "A service depends on one whose profiles are not active.";
    InactiveProfile = "inactive-profile", Note:
        "A service whose profiles are not active is left out.";
    IncludeConflict = "include-conflict", Error:
        "Two included files define a service, volume, network, secret or config differently.";
    IncludeCycle = "include-cycle", Error:
        "A file includes itself, directly or through the files it includes.";
    IncludeOverride = "include-override", Note:
        "The including file defines a service, volume, network, secret or config an included file defines too: its definition is merged over the included one, as Compose does since compose-go 2.10.";
    IncludeTooDeep = "include-too-deep", Error:
        "`include` nests more than 32 files deep.";
    InputTooLarge = "input-too-large", Error:
        "The project's files (included, extended and env files too) hold more than 16 MiB together.";
    LegacyV1Format = "legacy-v1-format", Error:
        "The file is in the version 1 format (services at the top level, no `services:`), which compose no longer reads.";
    ListenerCollision = "listener-collision", Error:
        "Two services publish the same port and neither has `x-ecs.load_balancer` rules, or one service publishes two ports that become one listener (80 and 443 with a certificate).";
    ListenerNoDefault = "listener-no-default", Error:
        "Every service on a published port has `x-ecs.load_balancer` rules: none takes the requests no rule matches.";
    ListenerSamePriority = "listener-same-priority", Error:
        "Two rules of one listener have the same `x-ecs.load_balancer.priority`.";
    ListenerSameRule = "listener-same-rule", Error:
        "Two services on one port have the same rule (the same paths and hosts).";
    LoadBalancerQuota = "load-balancer-quota", Warning:
        "The load balancer has more listeners, rules or target groups than an account's default quota.";
    LocalPort = "local-port", Note:
        "A port published on the loopback address stays private.";
    LoggingDriver = "logging-driver", Warning:
        "A `logging` driver other than json-file/local is not used: every container logs to CloudWatch.";
    ManagedConnection = "managed-connection", Error | Warning | Note:
        "A client's connection to a managed database: a URL adjusted for the engine (a note), a change the output cannot make (TLS, a password in a command, a user the database lacks: warnings), or a cache with a password (an error).";
    ManagedDatabase = "managed-database", Warning:
        "A service runs on a managed AWS database or cache (`x-ecs.managed`): its data is not copied, and the help says what differs from the image.";
    ManagedImage = "managed-image", Error:
        "`x-ecs.managed` is on an image AWS runs no engine of, or with a user it does not take.";
    ManagedSecret = "managed-secret", Note:
        "A client's password or connection string for a managed database is read from the secret the data stack generates.";
    ManagedVersion = "managed-version", Error | Warning:
        "The image's version is newer than the managed engine offers (an error), or older (a warning: it runs the oldest newer one).";
    MissingKey = "missing-key", Error:
        "A mapping lacks a key it needs, or has it empty: `extends` without `service`, an `include` entry without `path`, a ulimit without `soft` or `hard`.";
    MountedFileNames = "mounted-file-names", Note:
        "A file a service bind-mounts names other services: Service Connect serves those names, and the file must go into the image.";
    NameCollision = "name-collision", Error:
        "Two names become one on ECS (`Api` and `api`; volumes `my-data` and `my_data`), or two services are reached by one Service Connect name and port.";
    NameTooLong = "name-too-long", Error:
        "A generated name is longer than AWS takes: a task family (`PROJECT-TASK`, also the ECS service's name) over 255, a stack output for an environment secret over 255, an EFS access point path over 100.";
    NetworkLoadBalanced = "network-load-balanced", Note:
        "A published port nothing says speaks HTTP goes behind the network load balancer, which passes any TCP through.";
    NetworkModeCycle = "network-mode-cycle", Error:
        "`network_mode: service:` goes round in a circle.";
    NoCertificate = "no-certificate", Warning:
        "Port 443 is published and no `x-ecs.certificate` is given; the load balancer listens there with plain HTTP.";
    NoCommonNetwork = "no-common-network", Warning:
        "A service names another that is on none of its compose networks: compose does not resolve the name, and on ECS the security groups keep them apart.";
    NoComposeFile = "no-compose-file", Error:
        "No compose file in the current folder and no `-f`.";
    NoEffect = "no-effect", Note:
        "A key has no effect on ECS, so nothing is lost (the conversion table says why).";
    NoEssentialContainer = "no-essential-container", Error:
        "Every container of a task is marked non-essential.";
    NoImage = "no-image", Error:
        "A service has neither `image` nor `build`, or its `image` is empty.";
    NoPort = "no-port", Warning:
        "A reference across tasks has no port to give its Service Connect alias.";
    NoServices = "no-services", Error:
        "The file has no services.";
    NofileCapped = "nofile-capped", Note:
        "The `nofile` ulimit is capped at Fargate's 1048576.";
    NotAMapping = "not-a-mapping", Error:
        "The file is not a YAML mapping.";
    NotAReference = "not-a-reference", Note:
        "A value equal to a service name, under a variable that does not name a host, is left alone.";
    NotHttpPort = "not-http-port", Warning:
        "A published port stays private: a data store's port (unless `x-ecs.load_balancer.type: network`), or UDP with no TCP port for the health check.";
    NotOurs = "not-ours", Warning | Error:
        "A file in `taskdefs/`, `services/` or `cloudformation/` of the output folder that compose2ecs did not write: kept, with a warning; an error with `--check`.";
    NotUtf8 = "not-utf8", Error:
        "A file is not UTF-8.";
    NothingToRun = "nothing-to-run", Error:
        "No service is left to run on ECS (all behind inactive profiles, or all external).";
    ObsoleteVersion = "obsolete-version", Note:
        "The top-level `version` is ignored.";
    OneShotAlone = "one-shot-alone", Warning:
        "A container that runs to completion (awaited by others, or `restart: \"no\"`/`on-failure`) is in a task where nothing waits for it; its ECS service would restart it forever.";
    OptionalDependency = "optional-dependency", Note:
        "A `depends_on` with `required: false` names no service and is left out.";
    OutputTooLarge = "output-too-large", Error:
        "The output files would hold more than 256 MiB together.";
    Placeholder = "placeholder", Warning:
        "The output has placeholders to fill once the stacks are deployed.";
    PlainSecret = "plain-secret", Warning:
        "A variable or label holds a secret (its name says so, or a URL or `password=` carries a password), or a command, entrypoint or health check argument a password; it is written in plain text.";
    PlatformConflict = "platform-conflict", Error:
        "Two services of one task name different CPU architectures.";
    PortAdded = "port-added", Note:
        "A target gets a port mapping for the port a reference uses.";
    PortCollision = "port-collision", Error:
        "Two containers of one task listen on one port.";
    PortRange = "port-range", Warning:
        "A published range of container ports stays private: a load balancer listens on single ports.";
    ProjectNameNormalised = "project-name-normalised", Note:
        "The top-level `name` is written as compose writes project names (lower case, without other characters).";
    PublicTaskPort = "public-task-port", Warning:
        "With `x-ecs.assign_public_ip`, tasks behind a UDP listener are reached on that port directly too, not only through the network load balancer.";
    PublishedOnTarget = "published-on-target", Note | Warning:
        "A port listed without a published port (`- \"3000\"`, or only `target`): compose publishes it on a random port of the host; on ECS it is published on its own port (a note), unless another service publishes or lists that port too: then it stays private (a warning).";
    RegionMismatch = "region-mismatch", Error:
        "`x-ecs.region` is not the region the stacks whose outputs were read are deployed in: the tasks would log to a region without their log group.";
    ReplicasDiffer = "replicas-differ", Warning:
        "The services of one task ask for different replica counts.";
    RequiredVariable = "required-variable", Error:
        "`${VAR:?message}` with VAR unset.";
    RestartAttempts = "restart-attempts", Note:
        "`on-failure:N`: ECS has no limit on restart attempts.";
    RolePolicySize = "role-policy-size", Error:
        "A role's policies would be more than IAM takes, once the ARNs they name are resolved: over 10,240 characters of inline policies (too many secrets for the execution role, access points on an existing file system, or `x-ecs.policies` statements), a later secrets stack's managed policy over 6,144 characters (long secret names), or more than 10 managed policies on the execution role (over 500 secrets).";
    SecretTarget = "secret-target", Warning:
        "A secret's `target` is outside `/run/secrets`; it is written there under its file name.";
    SecretVariable = "secret-variable", Note:
        "An environment variable is read from Secrets Manager; the help says how to put its value.";
    SecurityGroupQuota = "security-group-quota", Warning:
        "A task is in more security groups than a network interface takes by default (5), or the project has more compose networks than get a group each.";
    SelfReference = "self-reference", Note:
        "A service names itself; the name is left as written.";
    SeveralFamilies = "several-families", Warning:
        "The `ecs.task.family` label lists several families; the first is used.";
    SharedAlias = "shared-alias", Warning:
        "A name two services answer to on the network (compose spreads requests between them) reaches one of them on ECS.";
    SharedRegistry = "shared-registry", Warning:
        "Two clustered peers share a task, and an ECS service registers one Cloud Map name: the second gets none.";
    SharedVolumeCopies = "shared-volume-copies", Warning:
        "A task with volumes runs several copies (or autoscaling may run several), all on the same files.";
    SizeDefault = "size-default", Note:
        "A task is sized from what its containers need: their heaps, their images' documented minimums, a default for the others.";
    SsmParameter = "ssm-parameter", Note:
        "An external secret named without an ARN is read from the SSM parameter of that name.";
    StackOutputs = "stack-outputs", Error:
        "A `--stack-outputs` file (or a file in the output folder's `stacks/`) cannot be read, has no `Outputs`, or two stacks disagree on an output.";
    StackTooLarge = "stack-too-large", Error:
        "A load balancer's stack (`alb.yaml`, `nlb.yaml`) would have more than the 500 resources or 200 outputs CloudFormation takes in one stack.";
    StatefulScaled = "stateful-scaled", Warning:
        "A database (or other stateful image) runs in a task with several copies (or that autoscaling may scale out): each copy gets its own data.";
    StopTimeoutClamped = "stop-timeout-clamped", Note:
        "`stop_grace_period` is outside Fargate's 2–120 s and is clamped.";
    SysctlConflict = "sysctl-conflict", Warning:
        "Two containers of a task set one kernel parameter to different values; the task has one.";
    TagConflict = "tag-conflict", Warning:
        "Two services of one task give a `deploy.labels` entry different values; the ECS service has one tag, the first service's.";
    TaskDefinitionTooLarge = "task-definition-too-large", Error:
        "A task definition would be larger than the 64 KiB ECS takes.";
    TaskSettingConflict = "task-setting-conflict", Error:
        "Two services of one task set a task-wide setting differently (`x-ecs.rollout` or another tool's deployment percents, Fargate Spot); a task deploys as one ECS service.";
    TaskStorageOwner = "task-storage-owner", Warning:
        "An anonymous volume is on the task's storage, writable by root only, and the container runs as another user.";
    TemplateLimit = "template-limit", Error:
        "A generated CloudFormation template has more resources (500), outputs (200) or parameters (200), or more bytes (1 MiB), than CloudFormation takes.";
    TmpfsOption = "tmpfs-option", Warning:
        "A tmpfs mount option ECS does not take is left out.";
    TmpfsSize = "tmpfs-size", Note:
        "A tmpfs without `size` gets 64 MiB: ECS needs a size.";
    TooBigForFargate = "too-big-for-fargate", Error:
        "A task needs more than the largest Fargate size.";
    TooManyContainers = "too-many-containers", Error:
        "A task has more than the 10 containers ECS allows.";
    TooManyIncludes = "too-many-includes", Error:
        "The files include more than 1024 projects in all, counting a file each time it is included.";
    TooManyTargetGroups = "too-many-target-groups", Error:
        "A task is behind more than the 5 target groups an ECS service registers with (one per public port and listener rule of its containers).";
    UdpReference = "udp-reference", Warning:
        "A reference across tasks to a UDP port, which Service Connect does not carry.";
    UndefinedVolume = "undefined-volume", Error:
        "A service mounts a named volume that is not declared.";
    UnfilledPlaceholder = "unfilled-placeholder", Error:
        "A deployed stack's saved outputs lack a value the output needs: the stack is older than the compose file.";
    UnknownKey = "unknown-key", Error:
        "A key compose2ecs does not know, with a \"did you mean\".";
    UnknownSecret = "unknown-secret", Error:
        "A service uses a secret that is not defined at the top level.";
    UnknownService = "unknown-service", Error:
        "`depends_on`, `links`, `network_mode`, `volumes_from` or `extends` names no service of the project.";
    UnknownUlimit = "unknown-ulimit", Warning:
        "A ulimit ECS does not know is left out.";
    UnknownVariable = "unknown-variable", Warning:
        "`x-ecs.secret_variables` names a variable the service does not have.";
    UnreadMountedFile = "unread-mounted-file", Note:
        "A file a service bind-mounts is not read for the services it names: too large, not text, not a regular file, or a link.";
    UnreadableFile = "unreadable-file", Error:
        "A file cannot be read (a compose, env, label, included or extended file).";
    UnservedName = "unserved-name", Warning:
        "A name of a service (an alias, a `container_name`) is not a valid Service Connect name, so other tasks cannot reach the service by it.";
    UnsetVariable = "unset-variable", Warning:
        "A variable is not set: `${VAR}` becomes an empty string, and a variable listed without a value (`- VAR`) is left out.";
    UnsupportedKey = "unsupported-key", Error:
        "A key that cannot be converted.";
    UnsupportedPlatform = "unsupported-platform", Error:
        "`platform` is not `linux/amd64` or `linux/arm64`, the platforms Fargate runs.";
    UnusedSetting = "unused-setting", Warning:
        "An `x-ecs` setting has nothing to act on: `mount_targets` with an existing `file_system`, `load_balancer` on a service with no public port, `certificate` with no service publishing 80 or 443, any setting of a service outside ECS.";
    VolumesFromOtherTask = "volumes-from-other-task", Warning:
        "`volumes_from` names a service of another task: tasks share no volumes.";
    WholeFileSystem = "whole-file-system", Warning:
        "A volume that is an existing EFS file system is mounted from its root, and the tasks act there as their own users, root included.";
    WrongType = "wrong-type", Error:
        "A value has the wrong type (`image: 42`).";
    YamlMerge = "yaml-merge", Error:
        "A `<<` merge key failed.";
    YamlSyntax = "yaml-syntax", Error:
        "The file is not valid YAML.";
    YamlTooComplex = "yaml-too-complex", Error:
        "A file nests more than 128 levels deep, or repeats so much through aliases that it would hold more than 32 MiB.";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The README's table of diagnostic codes, in Markdown, in the order of the codes' text.
pub fn markdown_table() -> String {
    let mut out = String::from("| code | severity | meaning |\n| --- | --- | --- |\n");
    for code in Code::ALL {
        let severities: Vec<&str> = code.severities().iter().map(|s| s.as_str()).collect();
        out.push_str(&format!(
            "| `{code}` | {} | {} |\n",
            severities.join(" or "),
            code.meaning()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_kebab_case_and_mean_something() {
        let mut seen = std::collections::BTreeSet::new();
        for code in Code::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "`{text}` twice");
            let kebab = text
                .split('-')
                .all(|word| !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
            assert!(kebab, "`{text}` is not kebab-case");
            assert!(code.meaning().ends_with('.'), "`{text}` has no meaning");
            assert!(!code.severities().is_empty());
        }
    }

    #[test]
    fn codes_are_declared_in_the_order_of_their_text() {
        let texts: Vec<&str> = Code::ALL.iter().map(|code| code.as_str()).collect();
        let mut sorted = texts.clone();
        sorted.sort_unstable();
        assert_eq!(texts, sorted, "declare each code in its place in `codes!`");
    }

    #[test]
    fn a_code_is_printed_and_serialised_as_its_text() {
        assert_eq!(Code::UnknownKey.to_string(), "unknown-key");
        assert_eq!(serde_json::to_string(&Code::NotUtf8).unwrap(), "\"not-utf8\"");
    }
}
