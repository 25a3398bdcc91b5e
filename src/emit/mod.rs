//! Emit: the Plan rendered as files — ECS JSON from API-shaped structs, CloudFormation from templates.
//! Nothing is decided here: every value comes from the Plan.

mod cloudformation;
pub mod ecs;

use crate::normalise::{Condition, Protocol};
use crate::plan::{Container, Plan, TaskGroup, TaskVolume};
use ecs::*;
use serde::Serialize;
use std::collections::BTreeMap;

/// Relative path in the output folder → file contents.
pub type Output = BTreeMap<String, String>;

/// A program failure while rendering (a template bug), never a user's mistake.
#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    #[error("template {name} failed to render: {source}")]
    Template {
        name: &'static str,
        #[source]
        source: minijinja::Error,
    },
    /// A template rendered text that YAML cannot read: it is refused here, never written.
    #[error("template {name} rendered YAML that does not parse: {source}")]
    Yaml {
        name: &'static str,
        #[source]
        source: serde_yaml::Error,
    },
    #[error("could not serialise {path}: {source}")]
    Json {
        path: String,
        #[source]
        source: serde_json::Error,
    },
}

pub fn emit(plan: &Plan) -> Result<Output, EmitError> {
    let mut output = Output::new();
    let mut scratch = Vec::new();
    for task in &plan.tasks {
        let path = format!("taskdefs/{}.json", task.name);
        let body = json(&path, &task_definition(plan, task), &mut scratch)?;
        output.insert(path, body);
        let path = format!("services/{}.json", task.name);
        let body = json(&path, &service(plan, task), &mut scratch)?;
        output.insert(path, body);
    }
    for (name, text) in cloudformation::templates(plan)? {
        output.insert(format!("cloudformation/{name}"), text);
    }
    Ok(output)
}

/// Pretty JSON with two-space indents and one trailing newline, the same bytes on every machine.
/// Written in `scratch`, then copied into a string of its exact length: thousands of files are
/// held until they are written, and a string grown while writing is up to twice its length.
fn json(path: &str, value: &impl Serialize, scratch: &mut Vec<u8>) -> Result<String, EmitError> {
    scratch.clear();
    serde_json::to_writer_pretty(&mut *scratch, value).map_err(|source| EmitError::Json {
        path: path.to_string(),
        source,
    })?;
    scratch.push(b'\n');
    // serde_json writes UTF-8: the text is borrowed as it is, then copied once.
    Ok(String::from_utf8_lossy(scratch).into_owned())
}

/// The project's tag, then the task's own (its services' `deploy.labels`).
fn tags(plan: &Plan, task: &TaskGroup) -> Vec<Tag> {
    let project = Tag {
        key: "compose-project".to_string(),
        value: plan.project.clone(),
    };
    std::iter::once(project)
        .chain(task.tags.iter().map(|(key, value)| Tag {
            key: key.clone(),
            value: value.clone(),
        }))
        .collect()
}

fn log_configuration(plan: &Plan, prefix: &str, passed: &[(String, String)]) -> LogConfiguration {
    LogConfiguration {
        log_driver: "awslogs",
        options: LogOptions {
            group: plan.deployment.log_group.clone(),
            region: plan.deployment.region.text(),
            stream_prefix: prefix.to_string(),
            passed: passed.iter().cloned().collect(),
        },
    }
}

/// A switch in ECS's words.
fn enabled(on: bool) -> &'static str {
    if on {
        "ENABLED"
    } else {
        "DISABLED"
    }
}

fn protocol(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
    }
}

fn condition(condition: Condition) -> &'static str {
    match condition {
        Condition::ServiceStarted => "START",
        Condition::ServiceHealthy => "HEALTHY",
        Condition::ServiceCompletedSuccessfully => "SUCCESS",
    }
}

/// The task's `RegisterTaskDefinition`: its size, roles, containers and volumes.
fn task_definition(plan: &Plan, task: &TaskGroup) -> RegisterTaskDefinition {
    RegisterTaskDefinition {
        family: task.family.clone(),
        network_mode: "awsvpc",
        requires_compatibilities: vec!["FARGATE"],
        cpu: task.size.cpu.to_string(),
        memory: task.size.memory.to_string(),
        execution_role_arn: plan.deployment.execution_role_arn.text(),
        task_role_arn: task
            .operations
            .role
            .as_ref()
            .map_or(&plan.deployment.task_role_arn, |role| &role.arn)
            .text(),
        container_definitions: task
            .containers
            .iter()
            .map(|container| container_definition(plan, task, container))
            .collect(),
        volumes: task.volumes.iter().map(volume).collect(),
        runtime_platform: task.cpu_architecture.map(|cpu_architecture| RuntimePlatform {
            cpu_architecture,
            operating_system_family: "LINUX",
        }),
        ephemeral_storage: task
            .operations
            .ephemeral_storage_gib
            .map(|size_in_gib| EphemeralStorage { size_in_gib }),
        tags: tags(plan, task),
    }
}

/// One container of the task in ECS's words; its logs go to the task's stream prefix.
fn container_definition(plan: &Plan, task: &TaskGroup, c: &Container) -> ContainerDefinition {
    ContainerDefinition {
        name: c.name.clone(),
        image: c.image.text(),
        repository_credentials: c.repository_credentials.as_ref().map(|arn| RepositoryCredentials {
            credentials_parameter: arn.clone(),
        }),
        essential: c.essential,
        cpu: c.cpu,
        memory: c.memory,
        memory_reservation: c.memory_reservation,
        user: c.runtime.user.clone(),
        working_directory: c.runtime.working_directory.clone(),
        entry_point: c.entrypoint.clone(),
        command: c.command.clone(),
        environment: c
            .environment
            .iter()
            .map(|(name, value)| KeyValuePair {
                name: name.clone(),
                value: value.clone(),
            })
            .collect(),
        secrets: c
            .secrets
            .iter()
            .map(|(name, value_from)| Secret {
                name: name.clone(),
                value_from: value_from.text(),
            })
            .collect(),
        port_mappings: port_mappings(c),
        mount_points: c
            .mounts
            .iter()
            .map(|m| MountPoint {
                source_volume: m.volume.clone(),
                container_path: m.container_path.clone(),
                read_only: m.read_only,
            })
            .collect(),
        volumes_from: c
            .volumes_from
            .iter()
            .map(|(source, read_only)| VolumeFrom {
                source_container: source.clone(),
                read_only: *read_only,
            })
            .collect(),
        depends_on: c
            .depends_on
            .iter()
            .map(|(name, cond)| ContainerDependency {
                container_name: name.clone(),
                condition: condition(*cond),
            })
            .collect(),
        health_check: c.health_check.as_ref().map(|h| HealthCheck {
            command: h.command.clone(),
            interval: h.interval,
            timeout: h.timeout,
            retries: h.retries,
            start_period: h.start_period,
        }),
        linux_parameters: linux_parameters(c),
        readonly_root_filesystem: c.runtime.readonly_root_filesystem,
        stop_timeout: c.runtime.stop_timeout,
        restart_policy: c.runtime.restart_policy.as_ref().map(|policy| ContainerRestartPolicy {
            enabled: true,
            ignored_exit_codes: policy.ignored_exit_codes.clone(),
            restart_attempt_period: policy.attempt_period,
        }),
        ulimits: c
            .runtime
            .ulimits
            .iter()
            .map(|u| Ulimit {
                name: u.name.clone(),
                soft_limit: u.soft,
                hard_limit: u.hard,
            })
            .collect(),
        system_controls: c
            .runtime
            .system_controls
            .iter()
            .map(|(namespace, value)| SystemControl {
                namespace: namespace.clone(),
                value: value.clone(),
            })
            .collect(),
        interactive: c.runtime.interactive,
        pseudo_terminal: c.runtime.pseudo_terminal,
        docker_labels: c.runtime.docker_labels.iter().cloned().collect(),
        log_configuration: log_configuration(plan, &task.name, &c.runtime.log_options),
    }
}

/// The container's named single-port mappings, then its unnamed port ranges.
fn port_mappings(container: &Container) -> Vec<PortMapping> {
    container
        .port_mappings
        .iter()
        .map(|m| PortMapping {
            name: Some(m.name.clone()),
            container_port: Some(m.container_port),
            container_port_range: None,
            protocol: protocol(m.protocol),
        })
        .chain(container.port_ranges.iter().map(|r| PortMapping {
            name: None,
            container_port: None,
            container_port_range: Some(format!("{}-{}", r.first, r.last)),
            protocol: protocol(r.protocol),
        }))
        .collect()
}

/// A task volume, with its EFS file system and access point when it has one.
fn volume(task_volume: &TaskVolume) -> Volume {
    Volume {
        name: task_volume.name.clone(),
        efs_volume_configuration: task_volume.efs.as_ref().map(|efs| EfsVolumeConfiguration {
            file_system_id: efs.file_system_id.text(),
            transit_encryption: enabled(efs.transit_encryption),
            authorization_config: EfsAuthorizationConfig {
                access_point_id: efs.access_point_id.text(),
                iam: enabled(efs.iam_authorization),
            },
        }),
    }
}

fn linux_parameters(container: &Container) -> Option<LinuxParameters> {
    let capabilities = (!container.capabilities_add.is_empty() || !container.capabilities_drop.is_empty()).then(|| {
        KernelCapabilities {
            add: container.capabilities_add.clone(),
            drop: container.capabilities_drop.clone(),
        }
    });
    let init_process_enabled = container.runtime.init_process_enabled.then_some(true);
    let tmpfs: Vec<Tmpfs> = container
        .tmpfs
        .iter()
        .map(|t| Tmpfs {
            container_path: t.container_path.clone(),
            size: t.size_mib,
            mount_options: t.mount_options.clone(),
        })
        .collect();
    (capabilities.is_some() || init_process_enabled.is_some() || !tmpfs.is_empty()).then_some(LinuxParameters {
        capabilities,
        init_process_enabled,
        tmpfs,
    })
}

fn service(plan: &Plan, task: &TaskGroup) -> CreateService {
    let deployment = &plan.deployment;
    let service_connect = match (&task.service_connect, &deployment.namespace) {
        (Some(connect), Some(namespace)) => Some(ServiceConnectConfiguration {
            enabled: true,
            namespace: namespace.clone(),
            services: connect
                .services
                .iter()
                .map(|s| ServiceConnectService {
                    port_name: s.port_name.clone(),
                    discovery_name: s.discovery_name.clone(),
                    client_aliases: vec![ServiceConnectClientAlias {
                        port: s.client_alias.port,
                        dns_name: s.client_alias.dns_name.clone(),
                    }],
                })
                .collect(),
            log_configuration: log_configuration(plan, &connect.log_stream_prefix, &[]),
        }),
        _ => None,
    };
    CreateService {
        cluster: deployment.cluster.clone(),
        service_name: task.service_name.clone(),
        task_definition: task.family.clone(),
        desired_count: task.desired_count,
        launch_type: task.operations.capacity.is_empty().then_some("FARGATE"),
        capacity_provider_strategy: task
            .operations
            .capacity
            .iter()
            .map(|share| CapacityProviderStrategyItem {
                capacity_provider: share.provider.clone(),
                weight: share.weight,
                base: share.base,
            })
            .collect(),
        network_configuration: NetworkConfiguration {
            awsvpc_configuration: AwsVpcConfiguration {
                subnets: deployment.subnets.iter().map(|s| s.text()).collect(),
                security_groups: deployment
                    .security_groups
                    .iter()
                    .chain(&task.network_groups)
                    .map(|s| s.text())
                    .collect(),
                assign_public_ip: enabled(deployment.assign_public_ip),
            },
        },
        load_balancers: task
            .load_balancers
            .iter()
            .map(|lb| LoadBalancer {
                target_group_arn: lb.target_group_arn.text(),
                container_name: lb.container.clone(),
                container_port: lb.container_port,
            })
            .collect(),
        health_check_grace_period_seconds: task.health_check_grace_period,
        service_connect_configuration: service_connect,
        service_registries: task
            .service_registry
            .iter()
            .map(|arn| ServiceRegistry {
                registry_arn: arn.text(),
            })
            .collect(),
        deployment_configuration: DeploymentConfiguration {
            maximum_percent: task.rollout.maximum_percent,
            minimum_healthy_percent: task.rollout.minimum_healthy_percent,
            deployment_circuit_breaker: DeploymentCircuitBreaker {
                enable: task.rollout.circuit_breaker.enable,
                rollback: task.rollout.circuit_breaker.rollback,
            },
        },
        enable_execute_command: task.operations.exec.is_some(),
        propagate_tags: deployment.tag_propagation.from,
        tags: tags(plan, task),
    }
}
