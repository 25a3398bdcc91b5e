//! One service as a whole: its name, image, build, command and entrypoint, container name and
//! capabilities, each concern read by its own file and assembled here into a `Service`.

use super::reader::Reader;
use super::units::split_words;
use super::{
    depends_on, deploy, environment, foreign, healthcheck, mounts, networks, ports, runtime, secrets, x_ecs,
    InactiveService, Resources, Service,
};
use crate::diagnostic::{Code, Diagnostic, KeyPath};
use crate::load::interpolate::{key_text, Variables};
use docker_compose_types as dct;
use serde_yaml::{Mapping, Value};
use std::collections::HashSet;

/// The active profiles: `--profile` and COMPOSE_PROFILES (comma-separated) together, as in
/// compose; `*` is every one.
pub(super) fn active_profiles(profiles: &[String], variables: &Variables) -> Vec<String> {
    let mut active: Vec<String> = profiles.to_vec();
    if let Some(listed) = variables.get("COMPOSE_PROFILES") {
        active.extend(
            listed
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string),
        );
    }
    active
}

/// The top-level `services`: each service of an active profile, read, and those left out;
/// `None` when there is none.
pub(super) fn services(
    reader: &mut Reader,
    section: &Value,
    services_path: &KeyPath,
    active_profiles: &[String],
    declared_volumes: &HashSet<String>,
) -> Option<(Vec<Service>, Vec<InactiveService>)> {
    let services_map = match section {
        Value::Mapping(map) if !map.is_empty() => map,
        Value::Mapping(_) | Value::Null => {
            reader.error(
                Code::NoServices,
                services_path,
                "`services` is empty".into(),
                "add at least one service",
            );
            return None;
        }
        other => {
            reader.wrong_type(services_path, other, "a mapping of service names to their settings");
            return None;
        }
    };
    let mut services = Vec::with_capacity(services_map.len());
    let mut inactive = Vec::new();
    for (key, value) in services_map {
        let name = key_text(key);
        let path = services_path.key(&name);
        if !key.is_string() {
            reader.error(
                Code::BadServiceName,
                &path,
                format!("the service name `{name}` is not a string"),
                &format!("quote it: `\"{name}\":`"),
            );
            continue;
        }
        if !valid_service_name(&name) {
            reader.error(
                Code::BadServiceName,
                &path,
                format!("`{name}` is not a valid service name"),
                "service names use letters, digits, `.`, `_` and `-`, and start with a letter or digit",
            );
            continue;
        }
        if let Some(profiles) = inactive_profiles(reader, value, &path, active_profiles) {
            reader.diagnostics.push(
                Diagnostic::note(
                    Code::InactiveProfile,
                    path.key("profiles"),
                    format!(
                        "`{name}` belongs to profiles {} that are not active; it is left out",
                        profiles.join(", ")
                    ),
                )
                .with_help(format!(
                    "activate one with `--profile {}` or `COMPOSE_PROFILES`",
                    profiles[0]
                )),
            );
            inactive.push(InactiveService { name, profiles });
            continue;
        }
        match value {
            Value::Mapping(map) => services.push(service(reader, name, map, path, declared_volumes)),
            Value::Null => services.push(service(reader, name, &Mapping::new(), path, declared_volumes)),
            other => reader.wrong_type(&path, other, "a mapping of settings"),
        }
    }
    Some((services, inactive))
}

/// The profiles of a service none of whose profiles is active; `None` when it runs.
fn inactive_profiles(
    reader: &mut Reader,
    service: &Value,
    path: &KeyPath,
    active_profiles: &[String],
) -> Option<Vec<String>> {
    let listed = service.get("profiles")?;
    let profiles = reader.string_list(listed, &path.key("profiles"))?;
    let runs = profiles.is_empty()
        || active_profiles
            .iter()
            .any(|active| active == "*" || profiles.contains(active));
    (!runs).then_some(profiles)
}

/// One service, `map`, each concern read by its own file; `volumes` are the declared volumes.
fn service(reader: &mut Reader, name: String, map: &Mapping, path: KeyPath, volumes: &HashSet<String>) -> Service {
    reader.check_keys(map, "services.*", &path);
    let at = |key: &str| path.key(key);
    let mut service = Service {
        image: map.get("image").and_then(|v| reader.string(v, &at("image"))),
        build_context: map.get("build").map(|build| match build {
            Value::Mapping(long) => long.get("context").map_or_else(|| ".".to_string(), key_text),
            other => key_text(other),
        }),
        command: map.get("command").and_then(|v| command(reader, v, &at("command"))),
        entrypoint: map
            .get("entrypoint")
            .and_then(|v| command(reader, v, &at("entrypoint"))),
        environment: environment::environment(reader, map, &path),
        ports: Vec::new(),
        port_ranges: Vec::new(),
        healthcheck: map
            .get("healthcheck")
            .and_then(|v| healthcheck::healthcheck(reader, v, &at("healthcheck"))),
        depends_on: map
            .get("depends_on")
            .map(|v| depends_on::depends_on(reader, v, &at("depends_on")))
            .unwrap_or_default(),
        mounts: map
            .get("volumes")
            .map(|v| mounts::mounts(reader, v, &at("volumes"), volumes))
            .unwrap_or_default(),
        replicas: None,
        resources: Resources::default(),
        joins: None,
        container_name: map
            .get("container_name")
            .and_then(|v| reader.string(v, &at("container_name"))),
        networks: Vec::new(),
        aliases: Vec::new(),
        links: map
            .get("links")
            .map(|v| networks::links(reader, v, &at("links")))
            .unwrap_or_default(),
        family_label: None,
        tags: Vec::new(),
        cap_add: map
            .get("cap_add")
            .and_then(|v| reader.string_list(v, &at("cap_add")))
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, cap)| (capability(&cap), at("cap_add").index(i)))
            .collect(),
        cap_drop: map
            .get("cap_drop")
            .and_then(|v| reader.string_list(v, &at("cap_drop")))
            .unwrap_or_default()
            .iter()
            .map(|cap| capability(cap))
            .collect(),
        runtime: runtime::runtime(reader, map, &path),
        volumes_from: map
            .get("volumes_from")
            .map(|v| mounts::volumes_from(reader, v, &at("volumes_from")))
            .unwrap_or_default(),
        secrets: map
            .get("secrets")
            .map(|v| secrets::secret_uses(reader, v, &at("secrets")))
            .unwrap_or_default(),
        mounted_files: Vec::new(),
        ecs: map
            .get("x-ecs")
            .map(|v| x_ecs::service_settings(reader, v, &at("x-ecs")))
            .unwrap_or_default(),
        name,
        path: path.clone(),
    };
    foreign::service(reader, map, &path, &mut service.ecs);
    if let Some(ports) = map.get("ports") {
        service.ports = ports::ports(reader, ports, &at("ports"), &mut service.port_ranges);
    }
    if let Some(tmpfs) = map.get("tmpfs") {
        service.mounts.extend(mounts::tmpfs(reader, tmpfs, &at("tmpfs")));
    }
    if let Some(expose) = map.get("expose") {
        let exposed = ports::expose(reader, expose, &at("expose"), &mut service.port_ranges);
        service.ports.extend(exposed);
    }
    ports::keep_each_range_once(&mut service.port_ranges);
    service.joins = networks::network_mode(reader, map, &path);
    let (joined, aliases) = map
        .get("networks")
        .map(|v| networks::networks(reader, v, &at("networks")))
        .unwrap_or_default();
    service.aliases = aliases;
    // Compose puts a service that names no network on `default`; one in another's network has none.
    service.networks = match (&service.joins, joined.is_empty()) {
        (Some(_), _) => Vec::new(),
        (None, true) => vec!["default".to_string()],
        (None, false) => joined,
    };
    deploy::deployment(reader, map, &path, &mut service);
    check_image(reader, map, &service);
    service
}

/// A service runs an image: `image`, not empty, or one `build` makes; or it lives outside ECS.
fn check_image(reader: &mut Reader, map: &Mapping, service: &Service) {
    // With `extends` or `provider` (both refused above) the missing image is not the problem.
    let refused_origin = map.contains_key("extends") || map.contains_key("provider");
    if service.image.as_deref().is_some_and(|image| image.trim().is_empty()) {
        reader.error(
            Code::NoImage,
            &service.path.key("image"),
            format!("the image of `{}` is empty", service.name),
            "name the image the container runs; if it comes from a variable, set it",
        );
    } else if service.image.is_none()
        && service.build_context.is_none()
        && service.ecs.external.is_none()
        && !refused_origin
    {
        reader.error(
            Code::NoImage,
            &service.path,
            format!("service `{}` has neither `image` nor `build`", service.name),
            "name the image the container runs: `image: registry/name:tag`",
        );
    }
}

/// `command` or `entrypoint`: a list of arguments, or a line split into words as a shell would.
fn command(reader: &mut Reader, value: &Value, path: &KeyPath) -> Option<Vec<String>> {
    match serde_yaml::from_value::<dct::Command>(value.clone()) {
        Ok(dct::Command::Args(args)) => Some(args),
        Ok(dct::Command::Simple(line)) => match split_words(&line) {
            Ok(words) => Some(words),
            Err(reason) => {
                reader.error(
                    Code::BadCommand,
                    path,
                    format!("`{path}` cannot be split into words: {reason}"),
                    "close the quote, or write the command as a list of arguments",
                );
                None
            }
        },
        Err(_) if value.is_null() => None,
        Err(_) => {
            reader.wrong_type(path, value, "a string or a list of strings");
            None
        }
    }
}

/// A Linux capability as ECS names it: upper case, without the `CAP_` prefix compose allows.
fn capability(name: &str) -> String {
    let upper = name.trim().to_ascii_uppercase();
    upper.strip_prefix("CAP_").map(str::to_string).unwrap_or(upper)
}

/// Compose's service names: letters, digits, `.`, `_` and `-`, starting with a letter or digit.
pub(super) fn valid_service_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// A task name becomes a family name: letters, digits, `.`, `-` and `_`, starting with a letter
/// or digit, like a service name.
pub(super) fn valid_task_name(reader: &mut Reader, name: &str, path: &KeyPath) -> bool {
    let valid = valid_service_name(name);
    if !valid {
        reader.error(
            Code::BadTaskName,
            path,
            format!("`{name}` cannot name a task"),
            "use letters, digits, `.`, `_` and `-`, starting with a letter or digit",
        );
    }
    valid
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::testing::{codes, normalised, normalised_with, paths};
    use crate::normalise::{MountSource, Project};

    fn service_names(project: &Project) -> Vec<&str> {
        project.services.iter().map(|s| s.name.as_str()).collect()
    }

    /// The service `web` written as `settings` (YAML lines under it), and the codes said.
    fn web(settings: &str) -> (Option<Service>, Vec<Code>) {
        let indented: String = settings.lines().map(|line| format!("    {line}\n")).collect();
        let (project, diagnostics) = normalised(&format!("services:\n  web:\n{indented}"));
        let web = project.and_then(|p| p.service("web").cloned());
        (web, codes(&diagnostics))
    }

    #[test]
    fn a_service_of_no_active_profile_is_left_out_with_a_note() {
        let compose = "services:\n  web:\n    image: a\n  debug:\n    image: b\n    profiles: [tools]\n";
        let (project, diagnostics) = normalised(compose);
        let project = project.expect("it normalises");
        assert_eq!(service_names(&project), ["web"]);
        assert_eq!(project.inactive[0].profiles, ["tools"]);
        assert_eq!(codes(&diagnostics), [Code::InactiveProfile]);
        assert_eq!(
            diagnostics.0[0].help.as_deref(),
            Some("activate one with `--profile tools` or `COMPOSE_PROFILES`")
        );
        // COMPOSE_PROFILES (comma-separated) activates it, and so does `*`.
        for listed in ["x, tools", "*"] {
            let (project, diagnostics) = normalised_with(compose, &[], &[("COMPOSE_PROFILES", listed)]);
            assert_eq!(service_names(&project.expect("it normalises")), ["web", "debug"]);
            assert!(diagnostics.0.is_empty(), "{listed}");
        }
        assert_eq!(
            active_profiles(
                &["a".into()],
                &[("COMPOSE_PROFILES".to_string(), " b,,c ".to_string())].into()
            ),
            ["a", "b", "c"]
        );
    }

    #[test]
    fn services_is_a_mapping_of_valid_names() {
        assert_eq!(codes(&normalised("services: {}\n").1), [Code::NoServices]);
        assert_eq!(codes(&normalised("services:\n").1), [Code::NoServices]);
        assert_eq!(codes(&normalised("services: [web]\n").1), [Code::WrongType]);
        let (project, diagnostics) =
            normalised("services:\n  -web:\n    image: a\n  1:\n    image: b\n  api:\n    image: c\n  db: [x]\n");
        assert!(project.is_none(), "an error refuses the project");
        assert_eq!(
            codes(&diagnostics),
            [Code::BadServiceName, Code::BadServiceName, Code::WrongType]
        );
        assert_eq!(paths(&diagnostics), ["services.-web", "services.1", "services.db"]);
        assert_eq!(diagnostics.0[1].help.as_deref(), Some("quote it: `\"1\":`"));
        for good in ["web", "web.v2", "api_1", "9-lives"] {
            assert!(valid_service_name(good), "{good}");
        }
        for bad in ["", "-web", ".web", "web app", "wéb"] {
            assert!(!valid_service_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_service_runs_an_image_or_one_it_builds() {
        let (service, codes) = web("build: ./api");
        assert_eq!(service.unwrap().build_context.as_deref(), Some("./api"));
        assert!(codes.is_empty());
        let (service, _) = web("build: {dockerfile: Dockerfile.prod}");
        assert_eq!(service.unwrap().build_context.as_deref(), Some("."));
        assert_eq!(web("image: ''").1, [Code::NoImage]);
        assert_eq!(web("container_name: x").1, [Code::NoImage]);
        // A service outside ECS runs no image, and a refused `provider` says enough.
        assert!(web("x-ecs: {external: db.example.com}").1.is_empty());
        assert_eq!(web("provider: {type: model}").1, [Code::UnsupportedKey]);
    }

    #[test]
    fn commands_are_split_as_a_shell_splits_words() {
        let (service, codes) = web("image: a\ncommand: sh -c 'echo \"hi there\"'\nentrypoint: [\"/bin/tini\", \"--\"]");
        let service = service.unwrap();
        assert_eq!(service.command.unwrap(), ["sh", "-c", "echo \"hi there\""]);
        assert_eq!(service.entrypoint.unwrap(), ["/bin/tini", "--"]);
        assert!(codes.is_empty());
        let (service, codes) = web("image: a\ncommand: sh -c 'echo");
        assert!(service.is_none());
        assert_eq!(codes, [Code::BadCommand]);
        assert_eq!(web("image: a\ncommand: {sh: x}").1, [Code::WrongType]);
        assert!(web("image: a\ncommand: null").0.unwrap().command.is_none());
    }

    #[test]
    fn capabilities_as_ecs_names_them() {
        let (service, codes) = web("image: a\ncap_add: [net_admin, CAP_SYS_PTRACE]\ncap_drop: [' cap_chown ']");
        let service = service.unwrap();
        let added: Vec<_> = service
            .cap_add
            .iter()
            .map(|(c, at)| (c.as_str(), at.to_string()))
            .collect();
        assert_eq!(
            added,
            [
                ("NET_ADMIN", "services.web.cap_add[0]".to_string()),
                ("SYS_PTRACE", "services.web.cap_add[1]".to_string())
            ]
        );
        assert_eq!(service.cap_drop, ["CHOWN"]);
        assert!(codes.is_empty());
    }

    #[test]
    fn each_concern_is_read_into_the_service() {
        let settings = "\
image: shop/web:1
container_name: web-1
environment: {PORT: 8080}
ports: ['80:8080', '9000-9001']
expose: ['9000-9001', 3000]
tmpfs: /run
volumes: ['./src:/app']
networks: {front: {aliases: [site]}}
links: ['db:database']
depends_on: [db]
healthcheck: {test: 'curl -f localhost:8080'}
deploy: {replicas: 2}
user: '1000'
x-ecs: {task: shop}";
        let (service, codes) = web(settings);
        let service = service.expect("it normalises");
        assert!(codes.is_empty(), "{codes:?}");
        assert_eq!(service.container_name.as_deref(), Some("web-1"));
        assert_eq!(service.environment[0].value, "8080");
        let targets: Vec<_> = service.ports.iter().map(|p| p.target).collect();
        assert_eq!(targets, [8080, 3000]);
        assert_eq!(service.port_ranges.len(), 1, "one range from `ports` and `expose`");
        let mounts: Vec<_> = service.mounts.iter().map(|m| m.target.as_str()).collect();
        assert_eq!(mounts, ["/app", "/run"]);
        assert!(matches!(service.mounts[1].source, MountSource::Tmpfs { .. }));
        assert_eq!(service.aliases, ["site"]);
        assert_eq!(service.links[0].alias, "database");
        assert_eq!(service.depends_on[0].service, "db");
        assert!(service.healthcheck.is_some());
        assert_eq!(service.replicas.as_ref().map(|r| r.count), Some(2));
        assert_eq!(service.runtime.user.as_deref(), Some("1000"));
        assert_eq!(service.ecs.task.as_ref().map(|(t, _)| t.as_str()), Some("shop"));
    }
}
