//! The support table's rows: every compose key compose2ecs knows and its verdict, by area (the
//! top level, services, networks, secrets, named volumes).

use super::{Row, Verdict};

const fn converted(key: &'static str, to: &'static str) -> Row {
    Row {
        key,
        verdict: Verdict::Converted(to),
        default: None,
    }
}
const fn ignored(key: &'static str, why: &'static str) -> Row {
    Row {
        key,
        verdict: Verdict::Ignored(why),
        default: None,
    }
}
const fn no_effect(key: &'static str, why: &'static str) -> Row {
    Row {
        key,
        verdict: Verdict::NoEffect(why),
        default: None,
    }
}
const fn refused(key: &'static str, why: &'static str) -> Row {
    Row {
        key,
        verdict: Verdict::Refused(why),
        default: None,
    }
}

const NOT_YET: &str = "not converted yet by compose2ecs";
const NO_FARGATE: &str = "Fargate does not offer this";

/// Every key path compose2ecs knows. `*` stands for a name (a service, a volume, …), `[]` for
/// each entry of a list (`services.*.ports[].mode`).
pub const TABLE: &[Row] = &[
    converted("version", "nothing: obsolete in the Compose Specification (a note)"),
    converted("name", "the project name: prefix of task families, services and stacks"),
    converted("services", "one ECS container per service, grouped into tasks"),
    converted(
        "volumes",
        "named volumes: an EFS access point each, in `cloudformation/efs.yaml` (past 60, in `efs-2.yaml`, …)",
    ),
    converted(
        "networks",
        "with several, a security group each that admits the tasks of its services (see the network contract); with one, the tasks' own group admits itself",
    ),
    converted(
        "secrets",
        "Secrets Manager secrets (`cloudformation/secrets.yaml`, past 50 in `secrets-2.yaml`, …; you put each value), or existing ones with `external: true`",
    ),
    ignored(
        "configs",
        "ECS cannot put a file into a container: copy the file into the image (`COPY` in a Dockerfile), or make it a secret if it is one",
    ),
    ignored("jobs", NOT_YET),
    ignored("models", "Docker Model Runner models do not exist on ECS"),
    converted(
        "include",
        "the included files' services, volumes and networks join the project, each file with its own folder and `.env` (see the README's include section)",
    ),
    converted("include[].path", "the included compose file, or several merged"),
    converted(
        "include[].project_directory",
        "the folder the included file's relative paths start from",
    ),
    converted("include[].env_file", "the included file's variables, instead of its `.env`"),
    converted("x-aws-cluster", "Docker's ECS integration's cluster (name or ARN): as `x-ecs.cluster`"),
    converted("x-aws-vpc", "Docker's ECS integration's VPC (id or ARN): as `x-ecs.vpc`"),
    converted(
        "x-aws-cloudformation",
        "Docker's ECS integration's document merged into the generated templates, as `x-ecs.cloudformation` merges one: each resource, output, condition or mapping into the template that has one of that name, else `base.yaml`",
    ),
    converted(
        "x-aws-logs_retention",
        "Docker's ECS integration's log retention: as `x-ecs.log_retention_days`, the nearest period CloudWatch Logs offers (a note when it differs)",
    ),
    converted(
        "x-cluster",
        "ECS ComposeX's `Lookup: NAME` (an existing cluster): as `x-ecs.cluster`; creating one (`Properties`) gets a warning",
    ),
    converted("x-ecs", "deployment settings (see the README's `x-ecs` section)"),
    converted("x-ecs.cluster", "the ECS cluster the services run in"),
    converted("x-ecs.region", "the region of the `awslogs` log configuration"),
    converted("x-ecs.vpc", "the VPC `deploy` deploys the stacks into"),
    converted("x-ecs.subnets", "the tasks' subnets"),
    converted("x-ecs.public_subnets", "the subnets `deploy` puts the load balancers in"),
    converted("x-ecs.security_groups", "the tasks' security groups"),
    converted("x-ecs.assign_public_ip", "`assignPublicIp` of the tasks"),
    converted("x-ecs.registry", "where the images of services with `build` and no `image` are pushed"),
    converted("x-ecs.image_tag", "the tag of those images"),
    converted("x-ecs.secrets_image", "the image of the container that writes the secrets' files"),
    converted(
        "x-ecs.environment_secrets",
        "environment variables that hold secrets are read from Secrets Manager",
    ),
    converted("x-ecs.file_system", "an existing EFS file system for the named volumes"),
    converted("x-ecs.mount_targets", "how many subnets get an EFS mount target"),
    converted("x-ecs.log_retention_days", "the log group's retention"),
    converted("x-ecs.certificate", "the ACM certificate of the HTTPS listener"),
    converted(
        "x-ecs.cloudformation",
        "documents merged into the generated templates by name (`alb.yaml: {Resources: …}`), as JSON merge patches: a mapping merges key by key, `null` removes a key, a list or value replaces",
    ),
    // Services.
    ignored(
        "services.*.annotations",
        "ECS has no annotations; `labels` become the container's `dockerLabels`",
    ),
    ignored(
        "services.*.attach",
        "log attachment is a local `docker compose up` behaviour",
    ),
    ignored("services.*.blkio_config", NO_FARGATE),
    converted(
        "services.*.build",
        "not built: ECS runs `image`; with no `image`, `REGISTRY/PROJECT-SERVICE:TAG` from `x-ecs.registry` (a note), else a placeholder image and a warning",
    ),
    converted(
        "services.*.cap_add",
        "`linuxParameters.capabilities.add`; Fargate adds only `SYS_PTRACE`, others get a warning",
    ),
    converted("services.*.cap_drop", "`linuxParameters.capabilities.drop`"),
    ignored("services.*.cgroup", NO_FARGATE),
    ignored("services.*.cgroup_parent", NO_FARGATE),
    converted("services.*.command", "container `command`"),
    ignored(
        "services.*.configs",
        "ECS cannot put a file into a container: copy the file into the image (`COPY` in a Dockerfile), or make it a secret if it is one",
    ),
    converted(
        "services.*.container_name",
        "another name of the service in references, and a Service Connect alias of it",
    ),
    ignored("services.*.cpu_count", "use `deploy.resources.limits.cpus`"),
    ignored("services.*.cpu_percent", "use `deploy.resources.limits.cpus`"),
    ignored("services.*.cpu_period", NO_FARGATE),
    ignored("services.*.cpu_quota", "use `deploy.resources.limits.cpus`"),
    ignored("services.*.cpu_rt_period", NO_FARGATE),
    ignored("services.*.cpu_rt_runtime", NO_FARGATE),
    ignored("services.*.cpu_shares", "use `deploy.resources.limits.cpus`"),
    converted("services.*.cpus", "like `deploy.resources.limits.cpus`, which wins when both are given"),
    ignored("services.*.cpuset", NO_FARGATE),
    ignored("services.*.credential_spec", NO_FARGATE),
    converted(
        "services.*.depends_on",
        "container `dependsOn` inside a task; across tasks it cannot order ECS services (a note)",
    ),
    converted(
        "services.*.depends_on.*.condition",
        "the `dependsOn` condition: `START`, `HEALTHY` or `SUCCESS`",
    ),
    converted(
        "services.*.depends_on.*.required",
        "`false`: the dependency may be missing from the project",
    ),
    ignored(
        "services.*.depends_on.*.restart",
        "ECS never restarts a container because another one restarted or was updated (`restart: false`, what ECS does, gets no warning)",
    ),
    converted("services.*.deploy", "see its keys"),
    ignored("services.*.deploy.endpoint_mode", "Swarm only").unless_default("vip"),
    converted(
        "services.*.deploy.labels",
        "`ecs.task.family` groups services into tasks, as in ECS ComposeX; the other labels: tags of the ECS service and (propagated) its tasks",
    ),
    ignored(
        "services.*.deploy.mode",
        "an ECS service on Fargate is replicated (`deploy.replicas` copies); Fargate has no daemon (`global`) services",
    )
    .unless_default("replicated"),
    ignored("services.*.deploy.placement", "Fargate chooses where tasks run"),
    converted("services.*.deploy.replicas", "service `desiredCount`"),
    converted("services.*.deploy.resources", "see its keys"),
    converted("services.*.deploy.resources.limits", "see its keys"),
    converted(
        "services.*.deploy.resources.limits.cpus",
        "container `cpu` (1 CPU = 1024 units) and the task's Fargate size",
    ),
    converted(
        "services.*.deploy.resources.limits.memory",
        "container `memory` (MiB) and the task's Fargate size",
    ),
    ignored("services.*.deploy.resources.limits.pids", NO_FARGATE),
    converted("services.*.deploy.resources.reservations", "see its keys"),
    converted(
        "services.*.deploy.resources.reservations.cpus",
        "the task's Fargate size when no limit is given",
    ),
    converted(
        "services.*.deploy.resources.reservations.memory",
        "container `memoryReservation` (MiB) and the task's Fargate size",
    ),
    ignored(
        "services.*.deploy.resources.reservations.devices",
        "Fargate has no GPUs or devices",
    ),
    ignored("services.*.deploy.resources.reservations.generic_resources", NO_FARGATE),
    converted(
        "services.*.deploy.x-aws-autoscaling",
        "Docker's ECS integration's autoscaling: as `x-ecs.autoscaling`",
    ),
    converted("services.*.deploy.x-aws-autoscaling.min", "the least copies"),
    converted("services.*.deploy.x-aws-autoscaling.max", "the most copies"),
    converted("services.*.deploy.x-aws-autoscaling.cpu", "the average CPU use to keep, in percent"),
    converted("services.*.deploy.x-aws-autoscaling.mem", "the average memory use to keep, in percent"),
    ignored(
        "services.*.deploy.restart_policy",
        "an ECS service replaces every task that stops",
    ),
    ignored(
        "services.*.deploy.rollback_config",
        "ECS rolls a failed deployment back with its circuit breaker, which compose2ecs turns on",
    ),
    converted(
        "services.*.deploy.update_config",
        "see its keys: ECS replaces tasks as the plan's rollout says (`compose2ecs plan` shows it and why)",
    ),
    ignored(
        "services.*.deploy.update_config.parallelism",
        "ECS replaces as many copies at once as the rollout's percents allow",
    ),
    ignored(
        "services.*.deploy.update_config.delay",
        "ECS goes on as soon as the new copies are healthy",
    ),
    ignored(
        "services.*.deploy.update_config.failure_action",
        "a failed deployment rolls back: ECS's circuit breaker, which compose2ecs turns on",
    ),
    ignored(
        "services.*.deploy.update_config.monitor",
        "ECS watches new copies through their health checks",
    ),
    ignored(
        "services.*.deploy.update_config.max_failure_ratio",
        "ECS's circuit breaker decides when a deployment failed",
    ),
    ignored(
        "services.*.deploy.update_config.order",
        "the plan starts new copies first unless the task mounts volumes; `x-ecs.rollout` sets the percents (`start-first` is `maximum_percent: 200`, `stop-first` `minimum_healthy_percent: 0` and `maximum_percent: 100`)",
    ),
    converted(
        "services.*.deploy.update_config.x-aws-min_percent",
        "Docker's ECS integration's: as `x-ecs.rollout.minimum_healthy_percent`",
    ),
    converted(
        "services.*.deploy.update_config.x-aws-max_percent",
        "Docker's ECS integration's: as `x-ecs.rollout.maximum_percent`",
    ),
    ignored("services.*.develop", "development-only (compose watch)"),
    ignored("services.*.device_cgroup_rules", NO_FARGATE),
    ignored("services.*.devices", NO_FARGATE),
    ignored("services.*.dns", "awsvpc tasks use the VPC's resolver"),
    ignored("services.*.dns_opt", "awsvpc tasks use the VPC's resolver"),
    ignored("services.*.dns_search", "awsvpc tasks use the VPC's resolver"),
    ignored("services.*.domainname", "a Fargate task's host and domain names are set by ECS"),
    ignored(
        "services.*.driver_opts",
        "Docker network driver options have no equivalent on awsvpc",
    ),
    converted("services.*.entrypoint", "container `entryPoint`"),
    converted(
        "services.*.env_file",
        "its variables become container `environment`, under `environment`'s own",
    ),
    converted("services.*.env_file[].path", "the file read"),
    converted("services.*.env_file[].required", "`false`: a missing file is skipped"),
    ignored(
        "services.*.env_file[].format",
        "every env file is read in compose's default format, quotes and `${…}` interpreted: `raw` values may differ",
    ),
    converted(
        "services.*.environment",
        "container `environment`, with service references resolved",
    ),
    converted(
        "services.*.expose",
        "container `portMappings` (a range: `containerPortRange`), offered to the other tasks through Service Connect; never public",
    ),
    converted(
        "services.*.extends",
        "the extended service's settings, from this file or another, merged under this service's own as compose merges files",
    ),
    converted("services.*.extends.service", "the service extended"),
    converted("services.*.extends.file", "the file it is in, when not this one"),
    ignored(
        "services.*.external_links",
        "links to containers outside the project do not exist on ECS",
    ),
    ignored(
        "services.*.extra_hosts",
        "Fargate tasks (awsvpc) do not accept `extraHosts`",
    ),
    ignored("services.*.gpus", "Fargate has no GPUs"),
    ignored(
        "services.*.group_add",
        "ECS has no supplementary groups: `user: UID:GID` sets the primary one",
    ),
    converted("services.*.healthcheck", "container `healthCheck`"),
    converted(
        "services.*.healthcheck.test",
        "`healthCheck.command` (a string becomes `CMD-SHELL`)",
    ),
    converted(
        "services.*.healthcheck.interval",
        "`healthCheck.interval` (seconds, 5–300)",
    ),
    converted(
        "services.*.healthcheck.timeout",
        "`healthCheck.timeout` (seconds, 2–60)",
    ),
    converted("services.*.healthcheck.retries", "`healthCheck.retries` (1–10)"),
    converted(
        "services.*.healthcheck.start_period",
        "`healthCheck.startPeriod` (seconds, 0–300)",
    ),
    ignored("services.*.healthcheck.start_interval", "ECS has no start interval"),
    converted("services.*.healthcheck.disable", "no `healthCheck`"),
    ignored("services.*.hostname", "a Fargate task's hostname is set by ECS"),
    converted("services.*.image", "container `image`"),
    converted("services.*.init", "`linuxParameters.initProcessEnabled`"),
    ignored("services.*.ipc", NO_FARGATE),
    ignored("services.*.isolation", "Windows containers only"),
    converted(
        "services.*.label_file",
        "container `dockerLabels`, under `labels`' own",
    ),
    converted("services.*.labels", "container `dockerLabels`"),
    converted(
        "services.*.links",
        "`SERVICE:ALIAS`: another name of SERVICE in this service's references, and a Service Connect alias of SERVICE",
    ),
    converted(
        "services.*.logging",
        "every container logs to CloudWatch (`awslogs`, the project's log group); local drivers' options are dropped, another driver gets a warning",
    ),
    converted("services.*.logging.driver", "`awslogs` always; another driver gets a warning"),
    converted(
        "services.*.logging.options",
        "with `awslogs` (or no driver): `awslogs-datetime-format`, `awslogs-multiline-pattern`, `mode` and `max-buffer-size` are passed on; the log group, region and stream prefix are the project's (a warning). A local driver's options (rotation) are not needed: CloudWatch Logs keeps the logs (`x-ecs.log_retention_days`); another driver's options go with it",
    ),
    ignored("services.*.mac_address", NO_FARGATE),
    converted(
        "services.*.mem_limit",
        "like `deploy.resources.limits.memory`, which wins when both are given",
    ),
    converted(
        "services.*.mem_reservation",
        "like `deploy.resources.reservations.memory`, which wins when both are given",
    ),
    ignored("services.*.mem_swappiness", NO_FARGATE),
    ignored("services.*.models", "Docker Model Runner models do not exist on ECS"),
    ignored("services.*.memswap_limit", NO_FARGATE),
    converted(
        "services.*.network_mode",
        "`service:X` puts the service in X's task; other modes are ignored (Fargate is always awsvpc)",
    ),
    converted(
        "services.*.networks",
        "the compose networks whose security groups the task joins (with several); aliases are more names of the service",
    ),
    converted(
        "services.*.networks.*.aliases",
        "more names of the service in references, and Service Connect aliases of it",
    ),
    ignored(
        "services.*.networks.*.ipv4_address",
        "a Fargate task gets its address from its subnet (awsvpc)",
    ),
    ignored(
        "services.*.networks.*.ipv6_address",
        "a Fargate task gets its address from its subnet (awsvpc)",
    ),
    ignored(
        "services.*.networks.*.link_local_ips",
        "a Fargate task gets its addresses from its subnet (awsvpc)",
    ),
    ignored("services.*.networks.*.mac_address", NO_FARGATE),
    ignored(
        "services.*.networks.*.driver_opts",
        "Docker network driver options have no equivalent on awsvpc",
    ),
    ignored(
        "services.*.networks.*.interface_name",
        "ECS names the task's network interface",
    ),
    no_effect(
        "services.*.networks.*.priority",
        "a Fargate task has one network interface (awsvpc): there is no order of networks to choose",
    ),
    no_effect(
        "services.*.networks.*.gw_priority",
        "a Fargate task has one network interface (awsvpc): there is no default gateway to choose",
    ),
    ignored("services.*.oom_kill_disable", NO_FARGATE).unless_default("false"),
    ignored("services.*.oom_score_adj", NO_FARGATE),
    ignored("services.*.pid", NO_FARGATE),
    ignored("services.*.pids_limit", NO_FARGATE),
    converted(
        "services.*.platform",
        "the task's `runtimePlatform.cpuArchitecture` (`linux/amd64` → X86_64, `linux/arm64` → ARM64; one per task); other platforms are refused",
    ),
    converted(
        "services.*.ports",
        "container `portMappings` (a range: `containerPortRange`, private); a published HTTP port becomes an ALB listener, shared by services through `x-ecs.load_balancer` rules (with `x-ecs.certificate`, 80 and 443 are HTTPS on 443); another published port a Network Load Balancer listener; a data store's stays private",
    ),
    converted("services.*.ports[].target", "`containerPort` (a range: `containerPortRange`)"),
    converted(
        "services.*.ports[].published",
        "a load balancer listener's port; without it (`- \"3000\"`, or only `target`), the container port, where compose picks a random port of the host (a note)",
    ),
    converted(
        "services.*.ports[].host_ip",
        "a loopback address keeps the port private (a note); others change nothing",
    ),
    converted("services.*.ports[].protocol", "`tcp` or `udp`; others are refused"),
    converted(
        "services.*.ports[].x-aws-protocol",
        "Docker's ECS integration's: `http` and `https` as `app_protocol`; its other values get a warning",
    ),
    converted(
        "services.*.ports[].app_protocol",
        "`http`, `https`: the application load balancer, talking HTTP or HTTPS to the container; `http2`, `grpc`: the network load balancer, passing them through",
    ),
    no_effect(
        "services.*.ports[].mode",
        "Swarm's publishing mode; a Fargate task has its own network interface (awsvpc), and a published port is reached through the load balancer",
    ),
    no_effect(
        "services.*.ports[].name",
        "a port's name documents it; compose2ecs names each port mapping itself (`SERVICE-PORT`, `SERVICE-PORT-udp`), the names Service Connect uses",
    ),
    ignored(
        "services.*.post_start",
        "ECS has no lifecycle hooks: run the command from the entrypoint, or in a one-shot container of the task",
    ),
    ignored(
        "services.*.pre_start",
        "ECS has no lifecycle hooks: run the command from the entrypoint, or in a one-shot container of the task",
    ),
    ignored(
        "services.*.pre_stop",
        "ECS has no lifecycle hooks: trap SIGTERM in the entrypoint (ECS waits `stopTimeout` before SIGKILL)",
    ),
    converted(
        "services.*.privileged",
        "`false`: nothing; `true` is refused: Fargate does not run privileged containers",
    ),
    converted(
        "services.*.profiles",
        "a service none of whose profiles is active (`--profile`, `COMPOSE_PROFILES`) is left out",
    ),
    refused(
        "services.*.provider",
        "a provider service is made by a compose plugin, not a container; describe it with `x-ecs: {external: \"host:port\"}` instead",
    ),
    ignored("services.*.pull_policy", "ECS pulls the image when a task starts"),
    ignored("services.*.pull_refresh_after", "ECS pulls the image when a task starts"),
    converted("services.*.read_only", "container `readonlyRootFilesystem`"),
    converted(
        "services.*.restart",
        "container `restartPolicy` (restarts in place once it ran 60 s, ECS's least; `on-failure` ignores exit code 0; ECS has no attempt limit); `no`: none, ECS replaces a task whose essential container stops",
    ),
    ignored("services.*.runtime", NO_FARGATE),
    converted("services.*.scale", "service `desiredCount`, like `deploy.replicas`"),
    converted(
        "services.*.secrets",
        "files under `/run/secrets`, written at task start by a `compose2ecs-secrets` container from ECS `secrets`",
    ),
    converted("services.*.secrets[].source", "the secret"),
    converted("services.*.secrets[].target", "the file's path, under `/run/secrets` unless absolute"),
    converted("services.*.secrets[].uid", "the file's owner"),
    converted("services.*.secrets[].gid", "the file's group"),
    converted("services.*.secrets[].mode", "the file's mode"),
    ignored("services.*.security_opt", NO_FARGATE),
    ignored("services.*.shm_size", NO_FARGATE),
    converted("services.*.stdin_open", "container `interactive`"),
    converted(
        "services.*.stop_grace_period",
        "container `stopTimeout`, in seconds, clamped to Fargate's 2–120 (a note)",
    ),
    ignored(
        "services.*.stop_signal",
        "ECS has no stop signal setting: set `STOPSIGNAL` in the image's Dockerfile",
    ),
    ignored("services.*.storage_opt", NO_FARGATE),
    converted(
        "services.*.sysctls",
        "container `systemControls` for the namespaced ones ECS sets (`net.*`, `fs.mqueue.*`, kernel.msg*/sem/shm*); others get a warning",
    ),
    converted(
        "services.*.tmpfs",
        "`linuxParameters.tmpfs` (its `size`, 64 MiB when not given, and mount options)",
    ),
    converted("services.*.tty", "container `pseudoTerminal`"),
    converted(
        "services.*.ulimits",
        "container `ulimits` (`nofile` capped at Fargate's 1048576)",
    ),
    converted("services.*.ulimits.*.soft", "the ulimit's `softLimit`"),
    converted("services.*.ulimits.*.hard", "the ulimit's `hardLimit`"),
    ignored(
        "services.*.umask",
        "ECS has no umask setting: set it in the image's entrypoint",
    ),
    ignored("services.*.use_api_socket", "there is no Docker API socket on Fargate"),
    converted("services.*.user", "container `user`"),
    ignored("services.*.userns_mode", NO_FARGATE),
    ignored("services.*.uts", NO_FARGATE),
    converted(
        "services.*.volumes",
        "named volumes: EFS `mountPoints`; `type: tmpfs`: `linuxParameters.tmpfs`; anonymous volumes: a volume on the task's storage; bind mounts: left out with a warning (a note for a development mount of the source into a built service, and its `node_modules` volume)",
    ),
    converted(
        "services.*.volumes[].type",
        "`volume` and `tmpfs`; a `bind` mount is left out with a warning, as are other types",
    ),
    converted("services.*.volumes[].source", "the named volume, or the bind mount's folder"),
    converted("services.*.volumes[].target", "`containerPath`"),
    converted("services.*.volumes[].read_only", "`readOnly`"),
    no_effect(
        "services.*.volumes[].consistency",
        "it tunes Docker Desktop's file sharing on macOS; Linux, and so ECS, has no such setting",
    ),
    converted("services.*.volumes[].bind", "see its keys"),
    no_effect(
        "services.*.volumes[].bind.recursive",
        "a bind mount is left out (see `services.*.volumes`), its options with it",
    ),
    no_effect(
        "services.*.volumes[].bind.propagation",
        "a bind mount is left out (see `services.*.volumes`), its options with it",
    ),
    no_effect(
        "services.*.volumes[].bind.create_host_path",
        "a bind mount is left out (see `services.*.volumes`), its options with it",
    ),
    no_effect(
        "services.*.volumes[].bind.selinux",
        "a bind mount is left out (see `services.*.volumes`), its options with it",
    ),
    converted("services.*.volumes[].volume", "see its keys"),
    no_effect(
        "services.*.volumes[].volume.nocopy",
        "ECS does not fill an EFS volume (a named volume) from the image: it behaves as `nocopy` anyway",
    ),
    refused(
        "services.*.volumes[].volume.subpath",
        "compose2ecs does not mount a part of a volume yet: the container would see the whole volume",
    ),
    converted("services.*.volumes[].tmpfs", "see its keys"),
    converted("services.*.volumes[].tmpfs.size", "the tmpfs `size`, 64 MiB when not given"),
    converted("services.*.volumes[].tmpfs.mode", "the tmpfs `mode` mount option"),
    ignored(
        "services.*.volumes[].image",
        "an image mount is not converted yet: it is left out",
    ),
    converted(
        "services.*.volumes_from",
        "container `volumesFrom` within a task; from another task: left out with a warning",
    ),
    converted("services.*.working_dir", "container `workingDirectory`"),
    converted(
        "services.*.x-ecs",
        "per-service settings (see the README's `x-ecs` section)",
    ),
    converted("services.*.x-ecs.task", "the task the service runs in"),
    converted("services.*.x-ecs.external", "no container: references point at this endpoint"),
    converted(
        "services.*.x-ecs.managed",
        "no container: the database or cache is made by AWS in `data.yaml` (RDS, Aurora, DocumentDB, ElastiCache); references point at its endpoint, passwords at its generated secret",
    ),
    converted(
        "services.*.x-ecs.managed.engine",
        "`aurora`: Aurora Serverless v2 in place of an RDS instance (PostgreSQL, MySQL)",
    ),
    converted(
        "services.*.x-ecs.managed.version",
        "the engine version, in place of the one read from the image's tag",
    ),
    converted(
        "services.*.x-ecs.managed.instance_class",
        "`DBInstanceClass` of the RDS or DocumentDB instance (default `db.t4g.micro`, DocumentDB `db.t4g.medium`)",
    ),
    converted(
        "services.*.x-ecs.managed.storage",
        "`AllocatedStorage` in GiB of the RDS instance (default 20, growing to 10 times that)",
    ),
    converted(
        "services.*.x-ecs.managed.multi_az",
        "a standby in a second zone (RDS `MultiAZ`, a second DocumentDB or Aurora instance); default off",
    ),
    converted(
        "services.*.x-ecs.managed.backup_retention_days",
        "days of automated backups, 1 to 35 (default 7)",
    ),
    converted(
        "services.*.x-ecs.managed.deletion_protection",
        "`DeletionProtection` (default on; `down` refuses while it is)",
    ),
    converted("services.*.x-ecs.essential", "container `essential`"),
    converted(
        "services.*.x-ecs.peer_dns",
        "`true`: a Cloud Map DNS name (the task's own address) for a clustered server, and its references to other such peers use theirs",
    ),
    converted(
        "services.*.x-ecs.secret_variables",
        "these environment variables are read from Secrets Manager",
    ),
    converted("services.*.x-ecs.health_check", "the load balancer's health check of the service"),
    converted("services.*.x-ecs.health_check.path", "the target group's `HealthCheckPath`"),
    converted("services.*.x-ecs.health_check.codes", "the target group's `Matcher.HttpCode`"),
    converted(
        "services.*.x-ecs.grace_period",
        "service `healthCheckGracePeriodSeconds`",
    ),
    converted(
        "services.*.x-defang-postgres",
        "Defang's managed PostgreSQL: as `x-ecs.managed`",
    ),
    converted(
        "services.*.x-defang-mongodb",
        "Defang's managed MongoDB: as `x-ecs.managed` (DocumentDB)",
    ),
    converted(
        "services.*.x-defang-redis",
        "Defang's managed Redis: as `x-ecs.managed` (ElastiCache)",
    ),
    converted(
        "services.*.x-scaling",
        "ECS ComposeX's `Range` and `TargetScaling` (`CpuTarget`, `MemoryTarget`): as `x-ecs.autoscaling`; its other policies get a warning",
    ),
    converted("services.*.x-ecs.autoscaling", "target tracking of the service's task"),
    converted("services.*.x-ecs.autoscaling.min", "the least copies"),
    converted("services.*.x-ecs.autoscaling.max", "the most copies"),
    converted("services.*.x-ecs.autoscaling.cpu", "the average CPU use to keep, in percent"),
    converted("services.*.x-ecs.autoscaling.memory", "the average memory use to keep, in percent"),
    converted(
        "services.*.x-ecs.exec",
        "`true`: ECS Exec into the task's containers (`enableExecuteCommand`; the task role may open the SSM channels it needs)",
    ),
    converted(
        "services.*.x-ecs.EnableExecuteCommand",
        "ECS ComposeX's spelling of `exec`",
    ),
    converted(
        "services.*.x-ecs.ephemeral_storage",
        "the task's `ephemeralStorage.sizeInGiB` (21 to 200; Fargate gives 20 without it)",
    ),
    converted(
        "services.*.x-ecs.spot",
        "`true`: the task runs on Fargate Spot (a `capacityProviderStrategy` of `FARGATE_SPOT`), cheaper and stopped when AWS needs the capacity back",
    ),
    converted(
        "services.*.x-ecs.CapacityProviderStrategy",
        "ECS ComposeX's: the ECS service's `capacityProviderStrategy` (`FARGATE`, `FARGATE_SPOT`)",
    ),
    converted(
        "services.*.x-ecs.policies",
        "the task's own IAM role, with these managed policies (ARNs) and statements (`{Effect, Action, Resource}`); tasks without get the project's shared role",
    ),
    converted(
        "services.*.x-aws-policies",
        "Docker's ECS integration's managed policies: as `x-ecs.policies`",
    ),
    converted(
        "services.*.x-aws-role",
        "Docker's ECS integration's policy document: its statements, as `x-ecs.policies`",
    ),
    converted(
        "services.*.x-iam",
        "ECS ComposeX's `ManagedPolicyArns` and `Policies[].PolicyDocument`: as `x-ecs.policies`; its other keys get a warning",
    ),
    converted(
        "services.*.x-ecs.registry_credentials",
        "the container's `repositoryCredentials`: the Secrets Manager secret (ARN) with the private registry's user and password; the execution role may read it",
    ),
    converted(
        "services.*.x-aws-pull_credentials",
        "Docker's ECS integration's: as `x-ecs.registry_credentials`",
    ),
    converted(
        "services.*.x-ecs.rollout",
        "the ECS service's deployment percents, each in place of the one the plan chooses",
    ),
    converted(
        "services.*.x-ecs.rollout.minimum_healthy_percent",
        "`deploymentConfiguration.minimumHealthyPercent` (0 to 100)",
    ),
    converted(
        "services.*.x-ecs.rollout.maximum_percent",
        "`deploymentConfiguration.maximumPercent` (100 to 200)",
    ),
    converted(
        "services.*.x-aws-min_percent",
        "ECS ComposeX's: as `x-ecs.rollout.minimum_healthy_percent`",
    ),
    converted("services.*.x-aws-max_percent", "ECS ComposeX's: as `x-ecs.rollout.maximum_percent`"),
    converted(
        "services.*.x-ecs.load_balancer",
        "the listener rule of a service that shares a published port",
    ),
    converted("services.*.x-ecs.load_balancer.path", "a `path-pattern` condition"),
    converted("services.*.x-ecs.load_balancer.host", "a `host-header` condition"),
    converted("services.*.x-ecs.load_balancer.priority", "the rule's priority"),
    converted(
        "services.*.x-ecs.load_balancer.type",
        "`application` or `network`: the load balancer the service's published ports go behind",
    ),
    // Networks.
    converted(
        "networks.*",
        "a name for services' `networks`; no network is made: every task has its own network interface (awsvpc)",
    ),
    no_effect("networks.*.driver", "Fargate has one network mode, awsvpc").unless_default("bridge"),
    ignored(
        "networks.*.driver_opts",
        "Docker network driver options have no equivalent on awsvpc",
    ),
    no_effect("networks.*.attachable", "no network is made for containers to attach to").unless_default("false"),
    converted(
        "networks.*.external",
        "with `name: sg-…`, the network is that existing security group, which its services' tasks join (as Docker's ECS integration read it); otherwise no effect: no network is made either way",
    )
    .unless_default("false"),
    converted(
        "networks.*.name",
        "with `external: true`, the existing security group it names (`sg-…`); otherwise no effect: no network is made to name",
    ),
    converted(
        "networks.*.x-aws-securitygroup",
        "Docker's ECS integration's: the existing security group the network is, as `external: true` with `name: sg-…`",
    ),
    no_effect("networks.*.labels", "no network is made to label"),
    ignored(
        "networks.*.internal",
        "tasks reach what their subnets and security groups allow: keep them off the internet with private subnets without a NAT gateway",
    )
    .unless_default("false"),
    ignored(
        "networks.*.ipam",
        "tasks take their addresses from their subnets (`x-ecs.subnets`)",
    ),
    ignored(
        "networks.*.enable_ipv4",
        "a task has the address families of its subnet",
    ),
    ignored(
        "networks.*.enable_ipv6",
        "a task has the address families of its subnet",
    )
    .unless_default("false"),
    // Secrets.
    converted("secrets.*", "a Secrets Manager secret, or an existing secret or SSM parameter"),
    converted(
        "secrets.*.x-aws-keys",
        "Docker's ECS integration's JSON keys of an existing Secrets Manager secret (by ARN): each key's value is a file of its own, `/run/secrets/SECRET/KEY`",
    ),
    converted(
        "secrets.*.x-secrets",
        "ECS ComposeX's existing secret: `Name`, its ARN, is the secret, as `external: true` with `name:` (a bare name is refused: ECS would read it as an SSM parameter's); its `JsonKeys` are variables of the services that use it (ECS reads each key, `ARN:KEY::`); its other keys get a warning",
    ),
    converted(
        "secrets.*.file",
        "the value stays on your machine: put it with `aws secretsmanager put-secret-value`",
    ),
    converted(
        "secrets.*.environment",
        "the value stays on your machine: put it with `aws secretsmanager put-secret-value`",
    ),
    converted("secrets.*.external", "`true`: an existing secret, named by `name`"),
    converted(
        "secrets.*.name",
        "with `external`: the secret's ARN, or an SSM parameter name",
    ),
    ignored("secrets.*.driver", "Secrets Manager holds every secret"),
    ignored("secrets.*.driver_opts", "Secrets Manager holds every secret"),
    ignored("secrets.*.labels", "Secrets Manager secrets get no labels from compose"),
    ignored("secrets.*.template_driver", "Secrets Manager holds every secret"),
    // Named volumes.
    converted("volumes.*", "an EFS access point"),
    ignored("volumes.*.driver", "every named volume becomes EFS").unless_default("local"),
    converted(
        "volumes.*.driver_opts",
        "with the local driver, `uid=` and `gid=` in `o` own the volume's folder where `x-ecs` names none; other options (`type`, `device`, the rest of `o`) get a warning: the volume is EFS. A volume that binds a folder (`o: bind`, `device: ./app`) is a bind mount: each use is left out with the bind-mount warning, and no EFS folder is made",
    ),
    converted(
        "volumes.*.external",
        "with `name: fs-…` (an EFS file system id or ARN, as Docker's ECS integration read it), that existing file system, mounted from its root (it becomes `x-ecs.file_system`); with another name, a warning, and a new EFS folder",
    )
    .unless_default("false"),
    ignored("volumes.*.labels", NOT_YET),
    converted(
        "volumes.*.name",
        "with `external: true`, the EFS file system it is; otherwise no effect: the folder on EFS is named after the volume's key",
    ),
    converted("volumes.*.x-ecs", "the owner of the volume's folder on EFS (see the README's `x-ecs` section)"),
    converted("volumes.*.x-ecs.uid", "the access point's POSIX user and the folder's owner"),
    converted("volumes.*.x-ecs.gid", "the access point's POSIX group and the folder's group"),
    converted(
        "volumes.*.x-ecs.root_access",
        "tasks keep their own users on the volume: `ClientRootAccess`",
    ),
];
