//! A model of name resolution, compose's and ECS's: for every testdata case, every name compose
//! resolves from every service (to a peer, on a port it listens on) must resolve in the written
//! output to the same service and port: a Service Connect alias offered in the namespace the
//! caller is a client of, whose port name maps to the peer container's port, with the security
//! groups admitting the caller's task on that port.
//!
//! The compose side is built here from the normalised project, by compose's rules (names, `links`,
//! `network_mode: service:`), not from the plan; the ECS side is read from the output files alone.

use compose2ecs::diagnostic::{Code, Diagnostics};
use compose2ecs::normalise::{Project, Protocol, Service};
use compose2ecs::plan::{container_name, wellknown};
use compose2ecs::source::FileSystem;
use compose2ecs::{convert, Input};
use serde_json::Value as Json;
use serde_yaml::Value as Yaml;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// What one name reaches in compose: the service listening on `port` behind `name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Expectation {
    client: String,
    name: String,
    port: u16,
    server: String,
}

fn input(case: &Path) -> Input {
    Input {
        compose_files: ["docker-compose.yml", "docker-compose.override.yml"]
            .iter()
            .map(|name| case.join(name))
            .filter(|path| path.is_file())
            .collect(),
        directory_name: Some(case.file_name().unwrap().to_string_lossy().into_owned()),
        environment: [("COMPOSE2ECS_TEST".to_string(), "set".to_string())]
            .into_iter()
            .collect(),
        ..Input::default()
    }
}

fn project(input: &Input) -> Project {
    let mut diagnostics = Diagnostics::default();
    let loaded = compose2ecs::load::load(input, &FileSystem, &mut diagnostics).expect("it loads");
    compose2ecs::normalise::normalise(&loaded, &[], &FileSystem, &mut diagnostics).expect("it normalises")
}

/// The service whose network namespace `service` is in (`network_mode: service:X`, followed).
fn network_owner<'p>(project: &'p Project, service: &'p Service) -> &'p Service {
    let mut current = service;
    for _ in 0..project.services.len() {
        match current.joins.as_ref().and_then(|(target, _)| project.service(target)) {
            Some(next) => current = next,
            None => break,
        }
    }
    current
}

/// Whether two services are on a common compose network (through the services whose network
/// namespace they are in).
fn share_a_network(project: &Project, a: &Service, b: &Service) -> bool {
    let a = &network_owner(project, a).networks;
    network_owner(project, b).networks.iter().any(|n| a.contains(n))
}

/// The TCP ports a service listens on: those compose declares, and its image's well-known ones.
fn listening_ports(service: &Service) -> BTreeSet<u16> {
    let declared = service
        .ports
        .iter()
        .filter(|p| p.protocol == Protocol::Tcp)
        .map(|p| p.target);
    let image = wellknown::image_ports(service.image.as_deref().unwrap_or_default());
    declared.chain(image.iter().copied()).collect()
}

/// Every (client, name, port) compose resolves, and the service that answers. Names two services
/// hold (compose spreads requests between them) and names no DNS label can carry are left out:
/// the conversion warns about those.
fn compose_expectations(project: &Project) -> Vec<Expectation> {
    let on_ecs = |s: &Service| s.outside_ecs().is_none();
    // Network names: each service's own, its container_name and aliases; a service in another's
    // network has none of its own.
    let mut holders: HashMap<String, BTreeSet<&str>> = HashMap::new();
    for service in project.services.iter().filter(|s| s.joins.is_none()) {
        let names = std::iter::once(&service.name)
            .chain(&service.container_name)
            .chain(&service.aliases);
        for name in names.filter(|n| !n.is_empty()) {
            holders
                .entry(name.to_ascii_lowercase())
                .or_default()
                .insert(&service.name);
        }
    }
    let mut expectations = Vec::new();
    for client in project.services.iter().filter(|s| on_ecs(s)) {
        let mut names: BTreeMap<String, &str> = holders
            .iter()
            .filter(|(_, owners)| owners.len() == 1)
            .map(|(name, owners)| (name.clone(), *owners.iter().next().unwrap()))
            .collect();
        for link in &client.links {
            names.insert(link.alias.to_ascii_lowercase(), &link.service);
        }
        for (name, owner) in names {
            let Some(owner) = project.service(owner) else { continue };
            // A name reaches only a service on a network the client is on (a `links` alias too);
            // whoever shares the owner's network namespace listens behind it.
            if !share_a_network(project, client, owner) {
                continue;
            }
            for server in project
                .services
                .iter()
                .filter(|s| network_owner(project, s).name == owner.name)
            {
                if server.name == client.name || !on_ecs(server) {
                    continue;
                }
                for port in listening_ports(server) {
                    expectations.push(Expectation {
                        client: client.name.clone(),
                        name: name.clone(),
                        port,
                        server: server.name.clone(),
                    });
                }
            }
        }
    }
    expectations
}

/// The output, parsed: task definitions by family, ECS services, and the templates by stack
/// (`base`, `nlb`, …).
struct Output {
    task_definitions: HashMap<String, Json>,
    services: Vec<Json>,
    stacks: BTreeMap<String, Yaml>,
}

impl Output {
    fn of(files: &BTreeMap<String, String>) -> Output {
        let mut output = Output {
            task_definitions: HashMap::new(),
            services: Vec::new(),
            stacks: BTreeMap::new(),
        };
        for (path, text) in files {
            if path.starts_with("taskdefs/") {
                let json: Json = serde_json::from_str(text).unwrap();
                output
                    .task_definitions
                    .insert(json["family"].as_str().unwrap().to_string(), json);
            } else if path.starts_with("services/") {
                output.services.push(serde_json::from_str(text).unwrap());
            } else if let Some(stack) = path
                .strip_prefix("cloudformation/")
                .and_then(|p| p.strip_suffix(".yaml"))
            {
                output
                    .stacks
                    .insert(stack.to_string(), serde_yaml::from_str(text).unwrap());
            }
        }
        output
    }

    /// The ECS service whose task runs the container of compose service `service`.
    fn service_running(&self, service: &str) -> Option<&Json> {
        let container = container_name(service);
        self.services.iter().find(|s| {
            let family = s["taskDefinition"].as_str().unwrap_or_default();
            self.task_definitions.get(family).is_some_and(|td| {
                td["containerDefinitions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c["name"] == container.as_str())
            })
        })
    }

    /// Where `name:port` leads from a client of `namespace`: the container and its port, through
    /// the one Service Connect service that offers the alias; and the ECS service offering it.
    fn resolve(&self, namespace: &str, name: &str, port: u16) -> Result<(String, u64, &Json), String> {
        let mut found = Vec::new();
        for service in &self.services {
            let connect = &service["serviceConnectConfiguration"];
            if connect["namespace"] != namespace {
                continue;
            }
            for offered in connect["services"].as_array().into_iter().flatten() {
                let aliases = offered["clientAliases"].as_array().unwrap();
                if aliases.iter().any(|a| a["dnsName"] == name && a["port"] == port) {
                    found.push((service, offered["portName"].as_str().unwrap()));
                }
            }
        }
        let [(service, port_name)] = found[..] else {
            return Err(format!("{} Service Connect services offer {name}:{port}", found.len()));
        };
        let family = service["taskDefinition"].as_str().unwrap();
        for container in self.task_definitions[family]["containerDefinitions"]
            .as_array()
            .unwrap()
        {
            for mapping in container["portMappings"].as_array().into_iter().flatten() {
                if mapping["name"] == port_name {
                    let container_port = mapping["containerPort"].as_u64().unwrap();
                    return Ok((container["name"].as_str().unwrap().to_string(), container_port, service));
                }
            }
        }
        Err(format!("no port mapping is named {port_name} in {family}"))
    }

    /// The group a stack output names (`TaskSecurityGroupId` → `base/TaskSecurityGroup`).
    fn output_group(&self, output: &str) -> Option<String> {
        self.stacks.iter().find_map(|(stack, template)| {
            let group = template["Outputs"][output]["Value"]["Fn::GetAtt"][0].as_str()?;
            Some(format!("{stack}/{group}"))
        })
    }

    /// The groups (`stack/LogicalId`) an ECS service's tasks are in; `None` when a group is none
    /// of the stacks' (given in `x-ecs.security_groups`: the user's to open).
    fn groups(&self, service: &Json) -> Option<BTreeSet<String>> {
        let groups = service["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"].as_array()?;
        groups
            .iter()
            .map(|group| self.output_group(group.as_str()?.strip_prefix("{{")?.strip_suffix("}}")?))
            .collect()
    }

    /// Whether the stacks let tasks in `from` reach tasks in `to` on TCP `port` (on any port when
    /// `None`): a rule on a group of `to` from a group of `from`, or from anywhere.
    fn admits(&self, from: &BTreeSet<String>, to: &BTreeSet<String>, port: Option<u16>) -> bool {
        self.stacks.iter().any(|(stack, template)| {
            let Yaml::Mapping(resources) = &template["Resources"] else {
                return false;
            };
            // A group of this stack, or one a parameter passes in from another's output.
            let group_of = |value: &Yaml| {
                value["Fn::GetAtt"][0]
                    .as_str()
                    .map(|id| format!("{stack}/{id}"))
                    .or_else(|| value["Ref"].as_str().and_then(|parameter| self.output_group(parameter)))
            };
            resources.values().any(|resource| {
                let rule = &resource["Properties"];
                let source_admitted = group_of(&rule["SourceSecurityGroupId"]).is_some_and(|g| from.contains(&g))
                    || rule["CidrIp"] == "0.0.0.0/0";
                resource["Type"] == "AWS::EC2::SecurityGroupIngress"
                    && group_of(&rule["GroupId"]).is_some_and(|g| to.contains(&g))
                    && source_admitted
                    && (rule["IpProtocol"] == "-1"
                        || port.is_none()
                        || port.is_some_and(|port| {
                            rule["IpProtocol"] == "tcp"
                                && rule["FromPort"].as_u64().is_some_and(|p| p <= u64::from(port))
                                && rule["ToPort"].as_u64().is_some_and(|p| p >= u64::from(port))
                        }))
            })
        })
    }
}

/// Checks one case: every expectation resolves on ECS as in compose; returns what does not.
fn check_case(case: &Path) -> Vec<String> {
    let input = input(case);
    let conversion = convert(&input, &FileSystem).expect("no program failure");
    if conversion.plan.is_none() {
        return vec!["it no longer converts".to_string()];
    }
    let codes: BTreeSet<Code> = conversion.diagnostics.iter().map(|d| d.code).collect();
    let project = project(&input);
    let output = Output::of(&conversion.output);
    let mut failures = Vec::new();
    let mut expectations = compose_expectations(&project);
    expectations.sort();
    for expectation in expectations {
        let Expectation {
            client,
            name,
            port,
            server,
        } = &expectation;
        let Some(client_service) = output.service_running(client) else {
            failures.push(format!("{client}: no ECS service runs it"));
            continue;
        };
        let connect = &client_service["serviceConnectConfiguration"];
        if connect["enabled"] != true {
            failures.push(format!(
                "{client} → {name}:{port}: {client} is not a Service Connect client"
            ));
            continue;
        }
        let valid = name.len() <= 127
            && !name.starts_with('-')
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.'));
        if !valid {
            assert!(
                codes.contains(&Code::UnservedName),
                "{name} is no DNS label, and nothing says so"
            );
            continue;
        }
        // A port the server does not declare, which another container of its task listens on, is
        // that container's: one task, one network namespace.
        let server_service = output.service_running(server).expect("the server runs");
        let declares = |service: &Service| {
            service
                .ports
                .iter()
                .any(|p| p.target == *port && p.protocol == Protocol::Tcp)
        };
        let taken_in_task = !project.service(server).is_some_and(declares)
            && project.services.iter().any(|other| {
                other.name != *server
                    && output
                        .service_running(&other.name)
                        .is_some_and(|s| std::ptr::eq(s, server_service))
                    && listening_ports(other).contains(port)
            });
        if taken_in_task {
            continue;
        }
        match output.resolve(connect["namespace"].as_str().unwrap(), name, *port) {
            Err(why) => failures.push(format!("{client} → {name}:{port} (compose: {server}): {why}")),
            Ok((container, container_port, offering)) => {
                if container != container_name(server) || container_port != u64::from(*port) {
                    failures.push(format!(
                        "{client} → {name}:{port} reaches {container}:{container_port}, compose reaches {server}:{port}"
                    ));
                }
                match (output.groups(client_service), output.groups(offering)) {
                    (Some(from), Some(to)) if !output.admits(&from, &to, Some(*port)) => failures.push(format!(
                        "{client} → {name}:{port}: no security group rule admits {client}'s task on TCP {port}"
                    )),
                    (Some(_), Some(_)) => {}
                    _ => assert!(
                        codes.contains(&Code::ConnectIngress),
                        "groups of the user's, and no word that they must admit the tasks"
                    ),
                }
            }
        }
    }
    failures.extend(kept_apart(&project, &output));
    failures
}

/// Tasks whose services share no compose network: compose keeps them apart, so no security group
/// rule may admit one from the other. (Services in one task share its network namespace, whatever
/// their networks: a task is the unit the groups apply to.)
fn kept_apart(project: &Project, output: &Output) -> Vec<String> {
    let mut networks: BTreeMap<String, (BTreeSet<&str>, &Json)> = BTreeMap::new();
    for service in project.services.iter().filter(|s| s.outside_ecs().is_none()) {
        let Some(ecs) = output.service_running(&service.name) else {
            continue;
        };
        let entry = networks
            .entry(ecs["serviceName"].as_str().unwrap().to_string())
            .or_insert((BTreeSet::new(), ecs));
        entry
            .0
            .extend(network_owner(project, service).networks.iter().map(String::as_str));
    }
    let mut failures = Vec::new();
    for (a, (a_networks, a_service)) in &networks {
        for (b, (b_networks, b_service)) in &networks {
            if a == b || !a_networks.is_disjoint(b_networks) {
                continue;
            }
            if let (Some(from), Some(to)) = (output.groups(a_service), output.groups(b_service)) {
                if output.admits(&from, &to, None) {
                    failures.push(format!("{a} reaches {b}, on no common compose network"));
                }
            }
        }
    }
    failures
}

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir() && !path.file_name().unwrap().to_string_lossy().starts_with("err-"))
        .collect();
    cases.sort();
    cases
}

#[test]
fn every_name_compose_resolves_reaches_the_same_service_and_port_on_ecs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut failures = Vec::new();
    for case in cases() {
        let relative = case.strip_prefix(root).unwrap().to_path_buf();
        for failure in check_case(&relative) {
            failures.push(format!("{}: {failure}", relative.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
