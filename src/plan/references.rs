//! Hostname resolution: every reference from one service to another becomes what reaches the peer
//! on ECS (localhost, a Service Connect alias, or an external endpoint), recorded with its reason.

use super::hostnames::{
    excerpt, is_listen_argument, names_a_host, names_a_listen_address, names_an_image, scan, Found, HostPosition,
    HOST_FLAGS,
};
use super::passwords::{mask_at, names_a_secret};
use super::{
    wellknown, ClientAlias, Context, Grouping, ManagedDatabase, Outcome, Reference, ReferenceSite, ServiceConnect,
    TaskDraft,
};
use crate::diagnostic::{Code, Diagnostic, KeyPath};
use crate::normalise::{Project, Protocol, Service};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::cloud_map::Peers;
use super::service_connect::{self, Offered, Slot};

/// A value to scan, where it is, and how to write it back.
struct Site {
    /// The whole value is a host where it stands: a `…_HOST` variable, the argument after `-h`.
    holds_a_host: bool,
    /// The value is an image reference, whose `name:tag` is no `host:port` (`CACHE_IMAGE`).
    holds_an_image: bool,
    /// The value is where the container's own server listens (`KAFKA_LISTENERS`, `--bind`).
    holds_a_listen_address: bool,
    slot: Slot,
    /// Its index in the container's environment, or its argument's in its list.
    entry: usize,
    site: ReferenceSite,
    path: KeyPath,
    variable: Option<String>,
    value: String,
}

/// Every reference resolved, and what Service Connect must do for it.
pub(super) struct Resolved {
    pub(super) references: Vec<Reference>,
    /// (client, target) for each service a bind-mounted file of the client names.
    pub(super) named_in_files: Vec<(String, String)>,
    /// By task: its Service Connect configuration, when it reaches other tasks or is reached.
    pub(super) service_connect: Vec<Option<ServiceConnect>>,
}

/// Resolves every reference to a service in the containers' values: each value that names a
/// service is rewritten to what reaches it on ECS, and a container reached through Service
/// Connect gets a port mapping for each port it is reached on.
pub(super) fn resolve(
    cx: &mut Context,
    grouping: &Grouping,
    tasks: &mut [TaskDraft],
    peers: &Peers,
    managed: &[ManagedDatabase],
) -> Resolved {
    let project = cx.project;
    let mut names = Names {
        network: network_names(cx),
        linked: (None, HashMap::new()),
        peers,
        managed,
    };
    let mut references = Vec::new();
    let mut rewrites: Vec<(Site, String)> = Vec::new();
    let mut offers = Offers::default();

    for site in sites(cx, tasks) {
        let referrer = &tasks[site.slot.0].containers[site.slot.1];
        names.link_for(project, site.slot, &referrer.service);
        let mut found = scan(&site.value, site.holds_a_host, |name| names.get(name).is_some());
        if site.holds_an_image {
            found.retain(|hit| hit.position != HostPosition::HostPort); // `redis:7` is an image tag.
        }
        if found.is_empty() {
            references.extend(left_alone(cx, &site, &referrer.service, names.get(site.value.trim())));
            continue;
        }
        let recorded = references.len();
        let rewritten = rewrite_value(
            cx,
            &site,
            &found,
            &names,
            &referrer.service,
            (grouping, tasks),
            &mut offers,
            &mut references,
        );
        if show_references(cx, &site, &rewritten, &mut references[recorded..]) {
            rewrites.push((site, rewritten.value));
        }
    }

    let named_in_files = names_in_mounted_files(cx, grouping, tasks, &mut names, &mut offers);
    note_added_ports(cx, tasks, offers.dialled);
    apply_rewrites(tasks, rewrites);
    service_connect::contract(cx, tasks, &names.network, &mut offers.offered);
    let service_connect = service_connect::offered(cx, tasks, offers.offered);
    Resolved {
        references,
        named_in_files,
        service_connect,
    }
}

/// The most names and ports of one mounted file that are served: a file naming more is not a
/// config file a proxy reads.
const NAMES_PER_MOUNTED_FILE: usize = 32;

/// The services each bind-mounted file names (`proxy_pass http://app:9000;` in nginx.conf):
/// Fargate cannot mount the file, so it must go into the image as it is, and every name and port
/// it dials is offered through Service Connect (a port the target declares nowhere gets a port
/// mapping). A note per file lists them. Returns (client, target) for each service named.
fn names_in_mounted_files<'p>(
    cx: &mut Context<'p, '_>,
    grouping: &Grouping,
    tasks: &[TaskDraft],
    names: &mut Names<'p, '_>,
    offers: &mut Offers,
) -> Vec<(String, String)> {
    let project = cx.project;
    let mut named_in_files = Vec::new();
    for (t, task) in tasks.iter().enumerate() {
        for (c, container) in task.containers.iter().enumerate() {
            let Some(service) = project.service(&container.service) else {
                continue;
            };
            names.link_for(project, (t, c), &service.name);
            for file in &service.mounted_files {
                let mut named = BTreeSet::new();
                let mut more = BTreeSet::new();
                // Each name and port once, however often the file repeats it.
                let mut seen: HashSet<(&str, Option<u16>, bool)> = HashSet::new();
                for hit in scan(&file.text, false, |name| names.get(name).is_some()) {
                    let url = matches!(hit.position, HostPosition::Url { .. });
                    if !seen.insert((hit.name(&file.text), hit.port.map(|(_, port)| port), url)) {
                        continue;
                    }
                    let name = hit.name(&file.text).to_ascii_lowercase();
                    let target = names.get(&name).expect("the scanner found only known names");
                    let scheme_port = match &hit.position {
                        HostPosition::Url { scheme } => wellknown::scheme_port(scheme),
                        _ => None,
                    };
                    let port = hit.port.map(|(_, port)| port).or(scheme_port);
                    let shown = port.map_or_else(|| name.clone(), |port| format!("{name}:{port}"));
                    if named.len() == NAMES_PER_MOUNTED_FILE && !named.contains(&shown) {
                        more.insert(shown);
                        continue;
                    }
                    named.insert(shown);
                    let (Some(port), Some((target_task, index))) = (port, grouping.slot_of(&target.name)) else {
                        continue;
                    };
                    if target.name == service.name || target.outside_ecs().is_some() {
                        continue;
                    }
                    let edge = (service.name.clone(), target.name.clone());
                    if !named_in_files.contains(&edge) {
                        named_in_files.push(edge);
                    }
                    let slot = (target_task.0, index);
                    let target_container = &tasks[slot.0].containers[slot.1];
                    let listens = |p: u16| {
                        target_container
                            .port_mappings
                            .iter()
                            .any(|m| m.container_port == p && m.protocol == Protocol::Tcp)
                    };
                    // A URL without a port dials its scheme's; the target's own port takes it.
                    let own = target_container
                        .port_mappings
                        .iter()
                        .find(|m| m.protocol == Protocol::Tcp);
                    let container_port = match (listens(port), hit.port, own) {
                        (true, _, _) => port,
                        (false, None, Some(own)) => own.container_port,
                        _ => {
                            offers
                                .dialled
                                .entry((slot, port))
                                .or_default()
                                .insert(service.name.clone());
                            port
                        }
                    };
                    offers.offer(slot, ClientAlias { dns_name: name, port }, container_port);
                }
                if !named.is_empty() {
                    let mut named: Vec<String> = named.into_iter().collect();
                    if !more.is_empty() {
                        named.push(format!("{} more names, which are not served", more.len()));
                    }
                    cx.diagnostics.push(
                        Diagnostic::note(
                            Code::MountedFileNames,
                            file.path.clone(),
                            format!(
                                "`{}`, which `{}` mounts, names {}: Service Connect serves those names on ECS",
                                file.source,
                                service.name,
                                crate::quote::names(&named)
                            ),
                        )
                        .with_help("Fargate cannot mount the file: build it into the image, as it is"),
                    );
                }
            }
        }
    }
    named_in_files
}

/// The variable that holds the port beside a host variable: `SMTP_HOST` → `SMTP_PORT`,
/// `REDIS_HOSTNAME` → `REDIS_PORT`, `host` → `port`.
fn port_variable(host_variable: &str) -> Option<String> {
    let upper = host_variable.to_ascii_uppercase();
    let stem_length = ["HOSTNAME", "HOST"]
        .iter()
        .find(|suffix| upper.ends_with(*suffix))
        .map(|suffix| host_variable.len() - suffix.len())?;
    let stem = &host_variable[..stem_length];
    let port = if host_variable[stem_length..].starts_with('h') {
        "port"
    } else {
        "PORT"
    };
    Some(format!("{stem}{port}"))
}

/// The port a host variable's sibling names (`SMTP_HOST` beside `SMTP_PORT: 1025`), in the
/// environment of the container the value is in.
fn sibling_port(site: &Site, tasks: &[TaskDraft]) -> Option<u16> {
    let variable = port_variable(site.variable.as_deref()?)?;
    tasks[site.slot.0].containers[site.slot.1]
        .environment
        .iter()
        .find(|(name, _)| *name == variable)
        .and_then(|(_, value)| value.trim().parse().ok())
}

/// One name found in a value, and whose value it is.
#[derive(Clone, Copy)]
struct Hit<'a> {
    site: &'a Site,
    found: &'a Found,
    name: &'a str,
    target: &'a Service,
    referrer: &'a str,
}

/// What Service Connect must offer for the references: by target container, each alias it is
/// reached by with the container port it reaches; and each port a target gets a mapping for,
/// with the services that dial it.
#[derive(Default)]
struct Offers {
    offered: Offered,
    dialled: BTreeMap<(Slot, u16), BTreeSet<String>>,
}

impl Offers {
    /// The container in `slot` is reached as `alias` on `container_port`: the first reference
    /// that uses an alias decides the port it reaches.
    fn offer(&mut self, slot: Slot, alias: ClientAlias, container_port: u16) {
        self.offered
            .entry(slot)
            .or_default()
            .entry(alias)
            .or_insert(container_port);
    }
}

/// What the names in a value are: the project's network names, and the `links` aliases of the
/// container whose values are scanned (names for the linking service alone, which win).
struct Names<'p, 'n> {
    network: HashMap<String, &'p Service>,
    linked: (Option<Slot>, HashMap<String, &'p Service>),
    /// Clustered peers, which reach each other by Cloud Map DNS names.
    peers: &'n Peers,
    /// The services AWS runs (`x-ecs.managed`), reached at their endpoints.
    managed: &'n [ManagedDatabase],
}

impl<'p> Names<'p, '_> {
    /// Makes the `links` aliases those of `service`, in `slot`; once per container, as its sites
    /// come one after another.
    fn link_for(&mut self, project: &'p Project, slot: Slot, service: &str) {
        if self.linked.0 == Some(slot) {
            return;
        }
        let links = project.service(service).map(|s| s.links.as_slice()).unwrap_or_default();
        self.linked = (
            Some(slot),
            links
                .iter()
                .filter_map(|link| Some((link.alias.to_ascii_lowercase(), project.service(&link.service)?)))
                .collect(),
        );
    }

    /// The service a name reaches (DNS names ignore case).
    fn get(&self, name: &str) -> Option<&'p Service> {
        let lowered;
        let key = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            lowered = name.to_ascii_lowercase();
            lowered.as_str()
        } else {
            name
        };
        self.linked.1.get(key).or_else(|| self.network.get(key)).copied()
    }
}

/// A value with each name in it rewritten, and where each recorded name stands before and after.
struct Rewritten {
    value: String,
    places_before: Vec<usize>,
    places_after: Vec<usize>,
}

/// The value of `site` with each name `found` in it rewritten to what reaches that service; each
/// name written the same way is decided and recorded (in `references`) once.
#[allow(clippy::too_many_arguments)]
fn rewrite_value(
    cx: &mut Context,
    site: &Site,
    found: &[Found],
    names: &Names,
    referrer: &str,
    (grouping, tasks): (&Grouping, &[TaskDraft]),
    offers: &mut Offers,
    references: &mut Vec<Reference>,
) -> Rewritten {
    let mut after = String::with_capacity(site.value.len());
    // Where each recorded name stands in the value, before and after: each reference is shown
    // around its place.
    let mut places_before = Vec::new();
    let mut places_after = Vec::new();
    // A name written the same way twice in one value becomes the same thing: it is decided,
    // reported and recorded once (a value may repeat one name a hundred thousand times).
    let mut decided: HashMap<(&str, Option<u16>, &HostPosition), Outcome> = HashMap::new();
    let mut copied = 0;
    for hit in found {
        let name = hit.name(&site.value);
        let target = names.get(name).expect("the scanner found only known names");
        let key = (name, hit.port.map(|(_, port)| port), &hit.position);
        let first = !decided.contains_key(&key);
        if first {
            let reference = Hit {
                site,
                found: hit,
                name,
                target,
                referrer,
            };
            let outcome = outcome(cx, &reference, names, (grouping, tasks), offers);
            decided.insert(key, outcome);
        }
        let outcome = decided[&key].clone();
        let (host, port) = match &outcome {
            Outcome::Localhost => (Some("localhost".to_string()), None),
            Outcome::AllInterfaces => (Some("0.0.0.0".to_string()), None),
            Outcome::External { host, port } | Outcome::Managed { host, port } => (Some(host.clone()), *port),
            Outcome::CloudMap { host } => (Some(host.clone()), None),
            Outcome::ServiceConnect { .. } | Outcome::LeftAlone { .. } => (None, None),
        };
        after.push_str(&site.value[copied..hit.host.0]);
        if first {
            places_before.push(hit.host.0);
            places_after.push(after.len());
        }
        after.push_str(host.as_deref().unwrap_or(name));
        copied = hit.host.1;
        match (port, hit.port) {
            (Some(new_port), Some(((start, end), _))) => {
                after.push_str(&site.value[copied..start]);
                after.push_str(&new_port.to_string());
                copied = end;
            }
            (Some(new_port), None) => after.push_str(&format!(":{new_port}")),
            (None, _) => {}
        }
        if !first {
            continue;
        }
        references.push(Reference {
            service: referrer.to_string(),
            site: site.site.clone(),
            path: site.path.clone(),
            name: name.to_string(),
            target: target.name.clone(),
            outcome,
            before: String::new(),
            after: String::new(),
        });
    }
    after.push_str(&site.value[copied..]);
    Rewritten {
        value: after,
        places_before,
        places_after,
    }
}

/// A whole value that is a service's name, under a variable that does not say it holds a host:
/// left as written, with a note and a reference that says why. A secret's value is never
/// repeated in a message, even when it happens to be a name.
fn left_alone(cx: &mut Context, site: &Site, referrer: &str, target: Option<&Service>) -> Option<Reference> {
    let variable = site.variable.as_ref().filter(|v| !names_a_secret(v))?;
    let target = target?;
    let name = site.value.trim();
    cx.diagnostics.push(Diagnostic::note(
        Code::NotAReference,
        site.path.clone(),
        format!("`{variable}: {name}` names service `{}`, but `{variable}` does not look like a host setting; it is left alone", target.name),
    ).with_help("if it is a host, name the variable so (`…_HOST`, `…_URL`, `…_ADDR`), or write `host:port`"));
    let shown = excerpt(&site.value, site.value.len() - site.value.trim_start().len());
    Some(Reference {
        service: referrer.to_string(),
        site: site.site.clone(),
        path: site.path.clone(),
        name: name.to_string(),
        target: target.name.clone(),
        outcome: Outcome::LeftAlone {
            why: format!("`{variable}` does not name a host setting"),
        },
        before: shown.clone(),
        after: shown,
    })
}

/// Each new reference of `site` shown around its place, before and after (masked, or not at
/// all under a variable whose name says it holds a secret), and a note when the value changed.
/// Returns whether it changed.
fn show_references(cx: &mut Context, site: &Site, rewritten: &Rewritten, references: &mut [Reference]) -> bool {
    let after = rewritten.value.as_str();
    // Each value is masked once, and each reference keeps only the part around it: a value
    // with N references would otherwise be copied N times.
    let before = mask_at(&site.value, &rewritten.places_before);
    let masked_after = mask_at(after, &rewritten.places_after);
    // A variable whose name says it holds a secret is not quoted at all: its whole value may
    // be the secret, in a form no mask knows (`SECRET_KEY`, `…_CREDENTIALS`).
    let secret = site.variable.as_deref().filter(|variable| names_a_secret(variable));
    for (index, reference) in references.iter_mut().enumerate() {
        (reference.before, reference.after) = match secret {
            Some(_) => ("***".to_string(), "***".to_string()),
            None => (
                excerpt(&before.text, before.places[index]),
                excerpt(&masked_after.text, masked_after.places[index]),
            ),
        };
    }
    if after == site.value {
        return false;
    }
    let message = match secret {
        Some(variable) => format!(
            "the references in `{variable}` are rewritten; its value is not shown, as its name says it holds a secret"
        ),
        None => format!(
            "`{}` becomes `{}`",
            excerpt(&before.text, before.places[0]),
            excerpt(&masked_after.text, masked_after.places[0])
        ),
    };
    cx.diagnostics
        .push(Diagnostic::note(Code::HostnameRewritten, site.path.clone(), message));
    true
}

/// Every name a service answers to, in lower case (DNS names ignore case): its service name,
/// its container_name and its network aliases. A service name wins over another's alias.
fn network_names<'p>(cx: &mut Context<'p, '_>) -> HashMap<String, &'p Service> {
    let project = cx.project;
    let mut names: HashMap<String, &Service> = HashMap::new();
    for service in &project.services {
        if let Some(other) = names.insert(service.name.to_ascii_lowercase(), service) {
            cx.diagnostics.push(
                Diagnostic::error(
                    Code::NameCollision,
                    service.path.clone(),
                    format!(
                        "`{}` and `{}` are one name on the network: DNS names ignore case",
                        other.name, service.name
                    ),
                )
                .with_help("rename one of them"),
            );
        }
    }
    for service in &project.services {
        // An empty name (an unset variable) names nothing.
        let aliases = service
            .container_name
            .iter()
            .chain(&service.aliases)
            .filter(|a| !a.is_empty());
        for alias in aliases {
            match names.get(alias.to_ascii_lowercase().as_str()) {
                Some(owner) if owner.name != service.name => warn_shared_alias(cx, alias, owner, service),
                Some(_) => {}
                None => {
                    names.insert(alias.to_ascii_lowercase(), service);
                }
            }
        }
    }
    names
}

/// A name two services answer to: compose spreads requests between them; on ECS one name
/// reaches one service, the one that had it first (a service's own name before any alias, then
/// the first in the file).
fn warn_shared_alias(cx: &mut Context, alias: &str, owner: &Service, other: &Service) {
    cx.diagnostics.push(
        Diagnostic::warning(
            Code::SharedAlias,
            other.path.clone(),
            format!(
                "`{alias}` names both `{}` and `{}` on the network, and compose spreads requests between them; on ECS it reaches `{}` only",
                owner.name, other.name, owner.name
            ),
        )
        .with_help(format!(
            "give `{}` a name of its own, or put both behind one service that spreads the requests",
            other.name
        )),
    );
}

/// Each rewritten value back in its place.
fn apply_rewrites(tasks: &mut [TaskDraft], rewrites: Vec<(Site, String)>) {
    for (site, after) in rewrites {
        let container = &mut tasks[site.slot.0].containers[site.slot.1];
        match site.site {
            ReferenceSite::Environment { .. } => container.environment[site.entry].1 = after,
            ReferenceSite::Command { argument } => container.command.as_mut().expect("scanned")[argument] = after,
            ReferenceSite::Entrypoint { argument } => container.entrypoint.as_mut().expect("scanned")[argument] = after,
            ReferenceSite::Healthcheck { argument } => {
                container.health_check.as_mut().expect("scanned").command[argument] = after
            }
        }
    }
}

/// A note for each port a target gets a mapping for (`dialled`: each with the services that dial
/// it), naming those services: one note, however many of them and however many references.
fn note_added_ports(cx: &mut Context, tasks: &[TaskDraft], dialled: BTreeMap<(Slot, u16), BTreeSet<String>>) {
    for ((slot, port), referrers) in dialled {
        let target = &tasks[slot.0].containers[slot.1].service;
        let path = cx.project.service(target).map(|s| s.path.clone()).unwrap_or_default();
        let referrers: Vec<String> = referrers.into_iter().collect();
        let verb = if referrers.len() == 1 { "uses" } else { "use" };
        cx.diagnostics.push(Diagnostic::note(
            Code::PortAdded,
            path,
            format!(
                "`{target}` gets a port mapping for {port}, the port {} {verb} to reach it",
                crate::quote::names(&referrers)
            ),
        ));
    }
}

/// Every value of every container that may hold a reference.
fn sites(cx: &Context, tasks: &[TaskDraft]) -> Vec<Site> {
    let mut sites = Vec::new();
    for (t, task) in tasks.iter().enumerate() {
        for (c, container) in task.containers.iter().enumerate() {
            let service = cx
                .project
                .service(&container.service)
                .expect("planned from the project");
            for (index, (variable, value)) in container.environment.iter().enumerate() {
                sites.push(Site {
                    holds_a_host: names_a_host(variable) || names_a_listen_address(variable),
                    holds_an_image: names_an_image(variable),
                    holds_a_listen_address: names_a_listen_address(variable),
                    slot: (t, c),
                    entry: index,
                    site: ReferenceSite::Environment {
                        variable: variable.clone(),
                    },
                    path: service.environment[index].path.clone(),
                    variable: Some(variable.clone()),
                    value: value.clone(),
                });
            }
            let lists = [
                (container.command.as_deref(), "command"),
                (container.entrypoint.as_deref(), "entrypoint"),
                (
                    container.health_check.as_ref().map(|h| h.command.as_slice()),
                    "healthcheck",
                ),
            ];
            for (arguments, key) in lists {
                for (argument, value) in arguments.unwrap_or_default().iter().enumerate() {
                    let (site, path) = match key {
                        "command" => (ReferenceSite::Command { argument }, service.path.key("command")),
                        "entrypoint" => (ReferenceSite::Entrypoint { argument }, service.path.key("entrypoint")),
                        _ if argument == 0 => continue, // CMD or CMD-SHELL
                        _ => (
                            ReferenceSite::Healthcheck { argument },
                            service.path.key("healthcheck").key("test"),
                        ),
                    };
                    let previous = argument
                        .checked_sub(1)
                        .map(|p| arguments.unwrap_or_default()[p].as_str());
                    let listen = is_listen_argument(previous, value);
                    sites.push(Site {
                        holds_a_host: listen || previous.is_some_and(|p| HOST_FLAGS.contains(&p)),
                        holds_an_image: false,
                        holds_a_listen_address: listen,
                        slot: (t, c),
                        entry: argument,
                        site,
                        path,
                        variable: None,
                        value: value.clone(),
                    });
                }
            }
        }
    }
    sites
}

fn outcome(
    cx: &mut Context,
    reference: &Hit,
    names: &Names,
    (grouping, tasks): (&Grouping, &[TaskDraft]),
    offers: &mut Offers,
) -> Outcome {
    let Hit {
        site,
        found: hit,
        name,
        target,
        referrer,
    } = *reference;
    if let Some(database) = names.managed.iter().find(|d| d.service == target.name) {
        // A URL without a port gets the engine's; a bare host value has no place for one.
        let has_place = hit.port.is_some() || matches!(hit.position, HostPosition::Url { .. });
        return Outcome::Managed {
            host: database.endpoint.text(),
            port: has_place.then_some(database.port),
        };
    }
    if let Some(external) = &target.ecs.external {
        // A URL without a port gets the endpoint's; a bare host value has no place for one.
        let has_place = hit.port.is_some() || matches!(hit.position, HostPosition::Url { .. });
        // Worth a word only when the endpoint's port is not the one the service used anyway.
        let usual = target
            .ports
            .first()
            .map(|p| p.target)
            .or_else(|| target.image.as_deref().and_then(wellknown::image_port));
        if let (Some(port), false, true) = (external.port, has_place, usual != external.port) {
            cx.diagnostics.push(
                Diagnostic::warning(
                    Code::ExternalPort,
                    site.path.clone(),
                    format!(
                        "`{name}` becomes `{}`, but its port {port} has no place here",
                        external.host
                    ),
                )
                .with_help(format!(
                    "set the port where the app reads it (often a `…_PORT` variable) to {port}"
                )),
            );
        }
        return Outcome::External {
            host: external.host.clone(),
            port: external.port.filter(|_| has_place),
        };
    }
    // A clustered peer reaches its peers (itself too) at their tasks' own addresses.
    if let Some(host) = names
        .peers
        .dns_name(referrer, &target.name)
        .filter(|_| !matches!(site.site, ReferenceSite::Healthcheck { .. }))
    {
        return Outcome::CloudMap { host };
    }
    if target.name == referrer {
        return own_name(cx, reference, grouping, offers);
    }
    let (Some(own_task), Some((target_task, target_index))) =
        (grouping.task_of(referrer), grouping.slot_of(&target.name))
    else {
        return Outcome::LeftAlone {
            why: "not a service run on ECS".into(),
        };
    };
    if own_task == target_task {
        return Outcome::Localhost;
    }
    warn_no_common_network(cx, reference);
    across_tasks(cx, reference, (target_task.0, target_index), tasks, offers)
}

/// A service's own name in its values. A health check probes its own container, and a listen
/// address binds every interface (the name is a Service Connect alias on ECS, whose address is
/// the proxy's). Anything else is most often what it tells its peers (`KAFKA_ADVERTISED_LISTENERS`,
/// a quorum voter `1@broker:29093`), which stays, served by an alias on the port it names.
fn own_name(cx: &mut Context, reference: &Hit, grouping: &Grouping, offers: &mut Offers) -> Outcome {
    let Hit {
        site,
        found: hit,
        name,
        referrer,
        ..
    } = *reference;
    if matches!(site.site, ReferenceSite::Healthcheck { .. }) {
        return Outcome::Localhost;
    }
    if site.holds_a_listen_address {
        return Outcome::AllInterfaces;
    }
    if let (Some((_, port)), Some((task, index))) = (hit.port, grouping.slot_of(referrer)) {
        let alias = ClientAlias {
            dns_name: name.to_ascii_lowercase(),
            port,
        };
        offers.offer((task.0, index), alias, port);
    }
    cx.diagnostics.push(
        Diagnostic::note(
            Code::SelfReference,
            site.path.clone(),
            format!("`{referrer}` names itself; the name is left as written, for the peers it is told to"),
        )
        .with_help("if the service connects to itself here, write `localhost`"),
    );
    Outcome::LeftAlone {
        why: "the service's own name, as its peers know it".into(),
    }
}

/// A name of a service on no network the referrer is on: compose does not resolve it, and on ECS
/// the security groups keep the two apart.
fn warn_no_common_network(cx: &mut Context, reference: &Hit) {
    let project = cx.project;
    let Some(referrer) = project.service(reference.referrer) else {
        return;
    };
    let mut owners = HashMap::new();
    let own = &service_connect::network_owner(project, referrer, &mut owners).to_string();
    let theirs = service_connect::network_owner(project, reference.target, &mut owners);
    let (Some(own), Some(theirs)) = (project.service(own), project.service(theirs)) else {
        return;
    };
    if own.networks.iter().any(|n| theirs.networks.contains(n)) {
        return;
    }
    cx.diagnostics.push(
        Diagnostic::warning(
            Code::NoCommonNetwork,
            reference.site.path.clone(),
            format!(
                "`{}` names `{}`, which is on no network `{}` is on: compose does not resolve it, and on ECS the security groups keep them apart",
                reference.referrer, reference.name, reference.referrer
            ),
        )
        .with_help(format!("put `{}` on a network of `{}`", reference.referrer, reference.target.name)),
    );
}

/// The port a client dials, and where it comes from.
struct DialledPort {
    port: Option<u16>,
    /// Written in the reference, or in a sibling setting (`SMTP_HOST: mail` beside
    /// `SMTP_PORT: 1025`).
    named: Option<u16>,
    /// Its URL scheme's (`postgres://` 5432).
    scheme: Option<u16>,
}

/// What the client dials: the port it names, else its URL scheme's, else what the target
/// declares (`declared`), else its image's.
fn dialled_port(reference: &Hit, declared: &[u16], tasks: &[TaskDraft]) -> DialledPort {
    let Hit {
        site,
        found: hit,
        target,
        ..
    } = *reference;
    let scheme = match &hit.position {
        HostPosition::Url { scheme } => wellknown::scheme_port(scheme),
        _ => None,
    };
    let named = hit.port.map(|(_, port)| port).or_else(|| sibling_port(site, tasks));
    let port = named
        .or(scheme)
        .or(declared.first().copied())
        .or_else(|| target.image.as_deref().and_then(wellknown::image_port));
    DialledPort { port, named, scheme }
}

/// A reference to a service in another task: a Service Connect alias on the port the client
/// dials (a word when no port, or several, could be meant), offered by the target's container
/// in `slot`.
fn across_tasks(cx: &mut Context, reference: &Hit, slot: Slot, tasks: &[TaskDraft], offers: &mut Offers) -> Outcome {
    let Hit {
        site,
        name,
        target,
        referrer,
        ..
    } = *reference;
    let declared: Vec<u16> = tasks[slot.0].containers[slot.1]
        .port_mappings
        .iter()
        .filter(|m| m.protocol == Protocol::Tcp)
        .map(|m| m.container_port)
        .collect();
    let DialledPort {
        port,
        named: named_port,
        scheme: scheme_port,
    } = dialled_port(reference, &declared, tasks);
    let udp_only = tasks[slot.0].containers[slot.1]
        .port_mappings
        .iter()
        .any(|m| m.protocol == Protocol::Udp && Some(m.container_port) == port)
        && port.is_some_and(|p| !declared.contains(&p));
    if udp_only {
        cx.diagnostics.push(
            Diagnostic::warning(
                Code::UdpReference,
                site.path.clone(),
                format!(
                    "`{}` listens on UDP {} only, and Service Connect carries TCP; the reference is left as written",
                    target.name,
                    port.unwrap_or_default()
                ),
            )
            .with_help(format!(
                "put `{referrer}` and `{}` in one task (`x-ecs.task`) to reach it on localhost",
                target.name
            )),
        );
        return Outcome::LeftAlone {
            why: "Service Connect does not carry UDP".into(),
        };
    }
    let Some(port) = port else {
        cx.diagnostics.push(Diagnostic::warning(
            Code::NoPort,
            site.path.clone(),
            format!("`{name}` is in another task, and neither the reference nor `{}` says which port it listens on; the reference is left as written", target.name),
        ).with_help(format!("add the port to the reference (`{name}:PORT`), or list it under `expose` of `{}`", target.name)));
        return Outcome::LeftAlone {
            why: "no port known for a Service Connect alias".into(),
        };
    };
    if named_port.is_none() && scheme_port.is_none() && declared.len() > 1 {
        // A bare host setting takes no port: the app reads it from a setting of its own.
        let help = match site.variable.as_deref().and_then(port_variable) {
            Some(variable) if site.holds_a_host => {
                format!("set the port where the app reads it (often `{variable}`); write `{name}:PORT` here only if this setting takes a port")
            }
            _ => format!("write the port in the reference: `{name}:PORT`"),
        };
        cx.diagnostics.push(
            Diagnostic::warning(
                Code::AmbiguousPort,
                site.path.clone(),
                format!(
                    "`{name}` names no port and `{}` listens on several; the Service Connect alias uses {port}",
                    target.name
                ),
            )
            .with_help(help),
        );
    }
    // Where the target listens: the port dialled when it declares it; when the reference names no
    // port, the target's own (the Service Connect proxy carries the alias port to it); else the
    // port dialled, which the target then gets a port mapping for.
    let container_port = if declared.contains(&port) {
        port
    } else if let (None, Some(&own)) = (named_port, declared.first()) {
        own
    } else {
        offers
            .dialled
            .entry((slot, port))
            .or_default()
            .insert(referrer.to_string());
        port
    };
    let alias = ClientAlias {
        dns_name: name.to_ascii_lowercase(),
        port,
    };
    offers.offer(slot, alias, container_port);
    Outcome::ServiceConnect {
        alias: name.to_ascii_lowercase(),
        port,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::plan;
    use crate::plan::testing::project;

    #[test]
    fn a_host_variable_takes_its_port_from_its_sibling() {
        assert_eq!(port_variable("PENPOT_SMTP_HOST").as_deref(), Some("PENPOT_SMTP_PORT"));
        assert_eq!(port_variable("REDIS_HOSTNAME").as_deref(), Some("REDIS_PORT"));
        assert_eq!(port_variable("db_host").as_deref(), Some("db_port"));
        assert_eq!(port_variable("DATABASE_URL"), None);
        // penpot: the SMTP server listens on 1025, which mailcatch does not publish; 1080 is its web.
        let project = project(
            "services:\n  backend:\n    image: penpotapp/backend\n    environment:\n      \
             PENPOT_SMTP_HOST: mailcatch\n      PENPOT_SMTP_PORT: \"1025\"\n  \
             mailcatch:\n    image: sj26/mailcatcher\n    ports: [\"1080:1080\"]\n",
        );
        let mut diagnostics = crate::diagnostic::Diagnostics::default();
        let plan = plan(
            &project,
            &crate::load::stack_outputs::SavedOutputs::empty(),
            &mut diagnostics,
        )
        .expect("it plans");
        let reference = plan
            .references
            .iter()
            .find(|r| r.target == "mailcatch")
            .expect("a reference");
        assert!(
            matches!(&reference.outcome, Outcome::ServiceConnect { port: 1025, .. }),
            "{:?}",
            reference.outcome
        );
        let offered = plan
            .tasks
            .iter()
            .find(|t| t.name == "mailcatch")
            .and_then(|t| t.service_connect.as_ref())
            .expect("mailcatch offers Service Connect");
        assert_eq!(offered.services[0].client_alias.port, 1025);
        assert!(diagnostics.iter().all(|d| d.code != Code::AmbiguousPort));
    }

    #[test]
    fn its_own_name_where_a_server_listens_binds_every_interface_and_what_it_advertises_is_served() {
        let project = project(
            "services:\n  broker:\n    image: confluentinc/cp-server:8.2.0\n    environment:\n      \
             KAFKA_LISTENERS: PLAINTEXT://broker:29092,CONTROLLER://broker:29093,PLAINTEXT_HOST://0.0.0.0:9092\n      \
             KAFKA_ADVERTISED_LISTENERS: PLAINTEXT://broker:29092,PLAINTEXT_HOST://localhost:9092\n      \
             KAFKA_CONTROLLER_QUORUM_VOTERS: 1@broker:29093\n  \
             api:\n    image: api\n    command: [\"serve\", \"--bind\", \"api\", \"--listen-address=api:8080\"]\n",
        );
        let mut diagnostics = crate::diagnostic::Diagnostics::default();
        let plan = plan(
            &project,
            &crate::load::stack_outputs::SavedOutputs::empty(),
            &mut diagnostics,
        )
        .expect("it plans");
        let broker = &plan.tasks[0].containers[0];
        let variable = |name: &str| {
            broker
                .environment
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(
            variable("KAFKA_LISTENERS"),
            Some("PLAINTEXT://0.0.0.0:29092,CONTROLLER://0.0.0.0:29093,PLAINTEXT_HOST://0.0.0.0:9092")
        );
        assert_eq!(
            variable("KAFKA_ADVERTISED_LISTENERS"),
            Some("PLAINTEXT://broker:29092,PLAINTEXT_HOST://localhost:9092")
        );
        assert_eq!(variable("KAFKA_CONTROLLER_QUORUM_VOTERS"), Some("1@broker:29093"));
        let offered: Vec<String> = plan.tasks[0]
            .service_connect
            .as_ref()
            .expect("the broker is reached")
            .services
            .iter()
            .map(|s| format!("{}:{}", s.client_alias.dns_name, s.client_alias.port))
            .collect();
        assert_eq!(offered, ["broker:9092", "broker:29092", "broker:29093"]);
        let api = &plan.tasks[1].containers[0];
        assert_eq!(
            api.command.as_deref(),
            Some(&["serve", "--bind", "0.0.0.0", "--listen-address=0.0.0.0:8080"].map(String::from)[..])
        );
    }

    #[test]
    fn peers_reach_each_other_by_dns_and_clients_by_alias() {
        let peers = project(
            "services:\n  es01:\n    image: elasticsearch:8.15.0\n    environment:\n      \
             discovery.seed_hosts: es02\n      cluster.initial_master_nodes: es01,es02\n  \
             es02:\n    image: elasticsearch:8.15.0\n    expose: [\"9200\"]\n",
        );
        let mut diagnostics = crate::diagnostic::Diagnostics::default();
        let planned = plan(
            &peers,
            &crate::load::stack_outputs::SavedOutputs::empty(),
            &mut diagnostics,
        )
        .expect("it plans");
        let outcomes: Vec<&Outcome> = planned.references.iter().map(|r| &r.outcome).collect();
        assert_eq!(
            outcomes,
            [&Outcome::CloudMap {
                host: "es02.app.internal".into()
            }],
            "node names are no hosts"
        );
        let es01 = &planned.tasks[0].containers[0];
        assert!(es01
            .environment
            .contains(&("discovery.seed_hosts".into(), "es02.app.internal".into())));

        // A client of the cluster (Temporal's `ES_SEEDS`) dials the client port through Service Connect.
        let client = project(
            "services:\n  temporal:\n    image: temporalio/auto-setup:1.20.0\n    environment:\n      \
             ES_SEEDS: elasticsearch\n  elasticsearch:\n    image: elasticsearch:8.15.0\n",
        );
        let planned = plan(
            &client,
            &crate::load::stack_outputs::SavedOutputs::empty(),
            &mut diagnostics,
        )
        .expect("it plans");
        assert!(
            matches!(
                planned.references[0].outcome,
                Outcome::ServiceConnect { port: 9200, .. }
            ),
            "{:?}",
            planned.references[0].outcome
        );
    }
}
