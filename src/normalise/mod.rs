//! Normalise: the merged YAML document → a typed `Project`, every key checked against the support table.
//!
//! Where docker-compose-types models a field the way compose does (command, entrypoint,
//! environment, depends_on, the healthcheck test) its types are used; its serde errors are never
//! shown (they read "data did not match any variant of untagged enum"), each field says what
//! forms it takes instead. Everything else is read from the YAML value here.

mod depends_on;
mod deploy;
mod environment;
mod healthcheck;
mod infrastructure;
pub mod model;
mod mounts;
mod networks;
mod ports;
mod reader;
mod runtime;
mod secrets;
mod service;
#[cfg(test)]
mod testing;
pub mod units;
mod volumes;
mod x_ecs;

use crate::diagnostic::{Diagnostic, Diagnostics, KeyPath};
use crate::load::interpolate::key_text;
use crate::load::Loaded;
use crate::source::Files;
use docker_compose_types as dct;
pub use infrastructure::MAXIMUM_MOUNT_TARGETS;
pub use model::*;
use reader::{one_or_many, Reader};
pub use secrets::{is_secrets_manager_name_char, SECRETS_FOLDER, SECRETS_MANAGER_NAME_LENGTH};
use serde_yaml::{Mapping, Value};
use std::collections::HashSet;
use units::split_words;

/// Builds the Project, named as load decided.
pub fn normalise(
    loaded: &Loaded,
    profiles: &[String],
    files: &dyn Files,
    diagnostics: &mut Diagnostics,
) -> Option<Project> {
    // `--profile` and COMPOSE_PROFILES (comma-separated) together, as in compose; `*` is every one.
    let mut active: Vec<String> = profiles.to_vec();
    if let Some(listed) = loaded.variables.get("COMPOSE_PROFILES") {
        active.extend(
            listed
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string),
        );
    }
    let mut reader = Reader {
        variables: &loaded.variables,
        project_dir: &loaded.project_dir,
        files,
        diagnostics,
    };
    let project = reader.project(&loaded.document, &loaded.project_name, &active);
    if reader.diagnostics.has_errors() {
        return None;
    }
    project
}

impl Reader<'_> {
    fn project(&mut self, document: &Mapping, project_name: &str, active_profiles: &[String]) -> Option<Project> {
        let root = KeyPath::root();
        self.check_keys(document, "", &root);
        // A version 1 file (services at the top level) is refused by the loader, with its own code.
        if !document.contains_key("services") {
            self.error(
                "no-services",
                &root,
                "there is no `services:` section".to_string(),
                "a compose file lists its containers under `services:`",
            );
            return None;
        }
        if let Some(version) = document.get("version") {
            self.diagnostics.push(Diagnostic::note(
                "obsolete-version",
                root.key("version"),
                format!(
                    "`version: {}` is obsolete in the Compose Specification and is ignored",
                    key_text(version)
                ),
            ));
        }
        let settings = x_ecs::deploy_settings(self, document.get("x-ecs"), &root.key("x-ecs"));
        let volumes = volumes::named_volumes(self, document.get("volumes"), &root.key("volumes"));
        let secrets = self.secret_definitions(document.get("secrets"), &root.key("secrets"));
        if let Some(Value::Mapping(networks)) = document.get("networks") {
            networks::check_networks(self, networks, &root.key("networks"));
        }
        let services_path = root.key("services");
        let services_map = match document.get("services") {
            Some(Value::Mapping(map)) if !map.is_empty() => map,
            Some(Value::Mapping(_)) | Some(Value::Null) => {
                self.error(
                    "no-services",
                    &services_path,
                    "`services` is empty".into(),
                    "add at least one service",
                );
                return None;
            }
            Some(other) => {
                self.wrong_type(&services_path, other, "a mapping of service names to their settings");
                return None;
            }
            None => unreachable!("checked above"),
        };
        let declared: HashSet<String> = volumes.iter().map(|v| v.name.clone()).collect();
        let mut services = Vec::new();
        let mut inactive = Vec::new();
        for (key, value) in services_map {
            let name = key_text(key);
            let path = services_path.key(&name);
            if !key.is_string() {
                self.error(
                    "bad-service-name",
                    &path,
                    format!("the service name `{name}` is not a string"),
                    &format!("quote it: `\"{name}\":`"),
                );
                continue;
            }
            if !service::valid_service_name(&name) {
                self.error(
                    "bad-service-name",
                    &path,
                    format!("`{name}` is not a valid service name"),
                    "service names use letters, digits, `.`, `_` and `-`, and start with a letter or digit",
                );
                continue;
            }
            if let Some(profiles) = self.inactive_profiles(value, &path, active_profiles) {
                self.diagnostics.push(
                    Diagnostic::note(
                        "inactive-profile",
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
                Value::Mapping(map) => services.push(self.service(name, map, path, &declared)),
                Value::Null => services.push(self.service(name, &Mapping::new(), path, &declared)),
                other => self.wrong_type(&path, other, "a mapping of settings"),
            }
        }
        let name = project_name.to_string();
        let defined_secrets: Vec<String> = match document.get("secrets") {
            Some(Value::Mapping(map)) => map.keys().map(key_text).collect(),
            _ => Vec::new(),
        };
        for service in &services {
            self.check_secret_uses(&service.secrets, &defined_secrets, &secrets);
            self.check_secret_targets(&service.secrets);
        }
        Some(Project::new(name, services, inactive, volumes, secrets, settings))
    }

    /// The profiles of a service none of whose profiles is active; `None` when it runs.
    fn inactive_profiles(
        &mut self,
        service: &Value,
        path: &KeyPath,
        active_profiles: &[String],
    ) -> Option<Vec<String>> {
        let listed = service.get("profiles")?;
        let profiles = self.string_list(listed, &path.key("profiles"))?;
        let runs = profiles.is_empty()
            || active_profiles
                .iter()
                .any(|active| active == "*" || profiles.contains(active));
        (!runs).then_some(profiles)
    }

    fn service(&mut self, name: String, map: &Mapping, path: KeyPath, volumes: &HashSet<String>) -> Service {
        self.check_keys(map, "services.*", &path);
        let at = |key: &str| path.key(key);
        let mut service = Service {
            image: map.get("image").and_then(|v| self.string(v, &at("image"))),
            build_context: map.get("build").map(|build| match build {
                Value::Mapping(long) => long.get("context").map_or_else(|| ".".to_string(), key_text),
                other => key_text(other),
            }),
            command: map.get("command").and_then(|v| self.command(v, &at("command"))),
            entrypoint: map.get("entrypoint").and_then(|v| self.command(v, &at("entrypoint"))),
            environment: environment::environment(self, map, &path),
            ports: Vec::new(),
            port_ranges: Vec::new(),
            healthcheck: map
                .get("healthcheck")
                .and_then(|v| healthcheck::healthcheck(self, v, &at("healthcheck"))),
            depends_on: map
                .get("depends_on")
                .map(|v| depends_on::depends_on(self, v, &at("depends_on")))
                .unwrap_or_default(),
            mounts: map
                .get("volumes")
                .map(|v| mounts::mounts(self, v, &at("volumes"), volumes))
                .unwrap_or_default(),
            replicas: None,
            resources: Resources::default(),
            joins: None,
            container_name: map
                .get("container_name")
                .and_then(|v| self.string(v, &at("container_name"))),
            aliases: map
                .get("networks")
                .map(|v| networks::network_aliases(self, v, &at("networks")))
                .unwrap_or_default(),
            links: map
                .get("links")
                .map(|v| networks::links(self, v, &at("links")))
                .unwrap_or_default(),
            family_label: None,
            tags: Vec::new(),
            cap_add: map
                .get("cap_add")
                .and_then(|v| self.string_list(v, &at("cap_add")))
                .unwrap_or_default()
                .into_iter()
                .enumerate()
                .map(|(i, cap)| (capability(&cap), at("cap_add").index(i)))
                .collect(),
            cap_drop: map
                .get("cap_drop")
                .and_then(|v| self.string_list(v, &at("cap_drop")))
                .unwrap_or_default()
                .iter()
                .map(|cap| capability(cap))
                .collect(),
            runtime: self.runtime(map, &path),
            volumes_from: map
                .get("volumes_from")
                .map(|v| mounts::volumes_from(self, v, &at("volumes_from")))
                .unwrap_or_default(),
            secrets: map
                .get("secrets")
                .map(|v| self.secret_uses(v, &at("secrets")))
                .unwrap_or_default(),
            ecs: map
                .get("x-ecs")
                .map(|v| x_ecs::service_settings(self, v, &at("x-ecs")))
                .unwrap_or_default(),
            name,
            path: path.clone(),
        };
        if let Some(ports) = map.get("ports") {
            service.ports = ports::ports(self, ports, &at("ports"), &mut service.port_ranges);
        }
        if let Some(tmpfs) = map.get("tmpfs") {
            service.mounts.extend(mounts::tmpfs(self, tmpfs, &at("tmpfs")));
        }
        if let Some(expose) = map.get("expose") {
            let exposed = ports::expose(self, expose, &at("expose"), &mut service.port_ranges);
            service.ports.extend(exposed);
        }
        ports::keep_each_range_once(&mut service.port_ranges);
        service.joins = networks::network_mode(self, map, &path);
        deploy::deployment(self, map, &path, &mut service);
        // With `extends` or `provider` (both refused above) the missing image is not the problem.
        let refused_origin = map.contains_key("extends") || map.contains_key("provider");
        if service.image.as_deref().is_some_and(|image| image.trim().is_empty()) {
            self.error(
                "no-image",
                &path.key("image"),
                format!("the image of `{}` is empty", service.name),
                "name the image the container runs; if it comes from a variable, set it",
            );
        } else if service.image.is_none()
            && service.build_context.is_none()
            && service.ecs.external.is_none()
            && !refused_origin
        {
            self.error(
                "no-image",
                &path,
                format!("service `{}` has neither `image` nor `build`", service.name),
                "name the image the container runs: `image: registry/name:tag`",
            );
        }
        service
    }

    fn command(&mut self, value: &Value, path: &KeyPath) -> Option<Vec<String>> {
        match serde_yaml::from_value::<dct::Command>(value.clone()) {
            Ok(dct::Command::Args(args)) => Some(args),
            Ok(dct::Command::Simple(line)) => match split_words(&line) {
                Ok(words) => Some(words),
                Err(reason) => {
                    self.error(
                        "bad-command",
                        path,
                        format!("`{path}` cannot be split into words: {reason}"),
                        "close the quote, or write the command as a list of arguments",
                    );
                    None
                }
            },
            Err(_) if value.is_null() => None,
            Err(_) => {
                self.wrong_type(path, value, "a string or a list of strings");
                None
            }
        }
    }
}

/// A Linux capability as ECS names it: upper case, without the `CAP_` prefix compose allows.
fn capability(name: &str) -> String {
    let upper = name.trim().to_ascii_uppercase();
    upper.strip_prefix("CAP_").map(str::to_string).unwrap_or(upper)
}

#[cfg(test)]
mod tests {
    use super::*;
    use testing::{codes, normalised, normalised_with};

    fn service_names(project: &Project) -> Vec<&str> {
        project.services.iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn a_service_of_no_active_profile_is_left_out_with_a_note() {
        let compose = "services:\n  web:\n    image: a\n  debug:\n    image: b\n    profiles: [tools]\n";
        let (project, diagnostics) = normalised(compose);
        let project = project.expect("it normalises");
        assert_eq!(service_names(&project), ["web"]);
        assert_eq!(project.inactive[0].profiles, ["tools"]);
        assert_eq!(codes(&diagnostics), ["inactive-profile"]);
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
    }

    #[test]
    fn the_project_needs_services_with_valid_names() {
        assert_eq!(codes(&normalised("services: {}\n").1), ["no-services"]);
        let (project, diagnostics) = normalised("services:\n  -web:\n    image: a\n  api:\n    image: b\n");
        assert!(project.is_none(), "an error refuses the project");
        assert_eq!(codes(&diagnostics), ["bad-service-name"]);
        let (project, diagnostics) = normalised("version: \"3.8\"\nservices:\n  web:\n    image: a\n");
        assert_eq!(service_names(&project.expect("a note refuses nothing")), ["web"]);
        assert_eq!(codes(&diagnostics), ["obsolete-version"]);
    }
}
