//! Normalise: the merged YAML document → a typed `Project`, every key checked against the support table.
//!
//! Where docker-compose-types models a field the way compose does (command, entrypoint,
//! environment, depends_on, the healthcheck test) its types are used; its serde errors are never
//! shown (they read "data did not match any variant of untagged enum"), each field says what
//! forms it takes instead. Everything else is read from the YAML value.
//!
//! Each concern has its file of free functions, which take the shared `reader::Reader`
//! (diagnostics, variables, files, the support-table check and the plain value readers):
//! `service` (the services, names, profiles, image, command, capabilities), `ports`, `mounts`,
//! `volumes` (top-level), `environment`, `healthcheck`, `depends_on`, `networks`, `deploy`
//! (replicas, labels, resources), `runtime`, `secrets`, `x_ecs` (both `x-ecs` levels) and
//! `infrastructure` (the `x-ecs` keys that shape the stacks). `model` holds the types.

mod depends_on;
mod deploy;
mod environment;
mod foreign;
mod healthcheck;
mod infrastructure;
pub mod model;
mod mounted_files;
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

use crate::diagnostic::{Code, Diagnostic, Diagnostics, KeyPath};
use crate::load::interpolate::key_text;
use crate::load::Loaded;
use crate::source::Files;
pub use infrastructure::MAXIMUM_MOUNT_TARGETS;
pub use model::*;
use reader::Reader;
pub use secrets::{is_secrets_manager_name_char, SECRETS_FOLDER, SECRETS_MANAGER_NAME_LENGTH};
use serde_yaml::{Mapping, Value};
use std::collections::{HashMap, HashSet};
pub use x_ecs::TEMPLATES;

/// Builds the Project, named as load decided: the top-level sections, then each service.
pub fn normalise(
    loaded: &Loaded,
    profiles: &[String],
    files: &dyn Files,
    diagnostics: &mut Diagnostics,
) -> Option<Project> {
    let active_profiles = service::active_profiles(profiles, &loaded.variables);
    let mut reader = Reader {
        variables: &loaded.variables,
        project_dir: &loaded.project_dir,
        files,
        diagnostics,
    };
    let project = project(&mut reader, &loaded.document, &loaded.project_name, &active_profiles);
    if reader.diagnostics.has_errors() {
        return None;
    }
    project
}

/// The steps, in the order their diagnostics are found.
fn project(reader: &mut Reader, document: &Mapping, project_name: &str, active_profiles: &[String]) -> Option<Project> {
    let root = KeyPath::root();
    reader.check_keys(document, "", &root);
    // A version 1 file (services at the top level) is refused by the loader, with its own code.
    let Some(services_section) = document.get("services") else {
        reader.error(
            Code::NoServices,
            &root,
            "there is no `services:` section".to_string(),
            "a compose file lists its containers under `services:`",
        );
        return None;
    };
    if let Some(version) = document.get("version") {
        reader.diagnostics.push(Diagnostic::note(
            Code::ObsoleteVersion,
            root.key("version"),
            format!(
                "`version: {}` is obsolete in the Compose Specification and is ignored",
                key_text(version)
            ),
        ));
    }
    let mut settings = x_ecs::deploy_settings(reader, document.get("x-ecs"), &root.key("x-ecs"));
    foreign::top_level(reader, document, &mut settings);
    let volumes = volumes::named_volumes(reader, document.get("volumes"), &root.key("volumes"));
    one_file_system(reader, &mut settings, &volumes);
    let secrets = secrets::secret_definitions(reader, document.get("secrets"), &root.key("secrets"));
    if let Some(Value::Mapping(networks)) = document.get("networks") {
        settings.network_security_groups = networks::check_networks(reader, networks, &root.key("networks"));
    }
    let declared_volumes: HashSet<String> = volumes.iter().map(|v| v.name.clone()).collect();
    let (mut services, inactive) = service::services(
        reader,
        services_section,
        &root.key("services"),
        active_profiles,
        &declared_volumes,
    )?;
    secrets::check_services_uses(reader, document.get("secrets"), &services, &secrets);
    let volumes = unbind(volumes, &mut services);
    ports::publish_bare_ports(reader, &mut services);
    mounted_files::read_mounted_files(reader, &mut services);
    Some(Project::new(
        project_name.to_string(),
        services,
        inactive,
        volumes,
        secrets,
        settings,
    ))
}

/// The project's volumes are on one EFS file system: a volume that is an existing one
/// (`external: true`, `name: fs-…`) makes it the project's, as `x-ecs.file_system` would.
fn one_file_system(reader: &mut Reader, settings: &mut DeploySettings, volumes: &[NamedVolume]) {
    for volume in volumes {
        let Some(id) = &volume.existing_file_system else {
            continue;
        };
        let name_path = volume.path.key("name");
        match &settings.infrastructure.file_system {
            None => settings.infrastructure.file_system = Some((id.clone(), name_path)),
            Some((other, _)) if other == id => {}
            Some((other, at)) => reader.error(
                Code::BadSetting,
                &name_path,
                format!(
                    "volume `{}` is the file system {id}, but the project's volumes are on {other} (`{at}`)",
                    volume.name
                ),
                "compose2ecs puts every named volume on one EFS file system: give the volumes the same one",
            ),
        }
    }
}

/// Each use of a volume that binds a local folder becomes the bind mount it is, and the volume is
/// no EFS folder: mounted as a volume, an empty folder would hide the files the app expects.
fn unbind(volumes: Vec<NamedVolume>, services: &mut [Service]) -> Vec<NamedVolume> {
    let mut binds = HashMap::new();
    let mut kept = Vec::with_capacity(volumes.len());
    for mut volume in volumes {
        match volume.bind_device.take() {
            Some(device) => {
                binds.insert(volume.name, device);
            }
            None => kept.push(volume),
        }
    }
    for mount in services.iter_mut().flat_map(|service| service.mounts.iter_mut()) {
        if let MountSource::Named(name) = &mount.source {
            if let Some(device) = binds.get(name) {
                mount.source = MountSource::Bind(device.clone());
            }
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use testing::{codes, normalised, paths};

    #[test]
    fn a_port_listed_without_a_published_one_is_published_on_its_own_unless_shared() {
        let compose = "services:\n  web: {image: a, ports: ['3000', '9000']}\n  admin: {image: b, ports: ['9000', '8080:3001']}\n  \
                       api: {image: c, ports: [{target: 3001}], expose: ['4000']}\n";
        let (project, diagnostics) = normalised(compose);
        let project = project.expect("it converts");
        let published: Vec<(&str, u16, Option<u16>)> = project
            .services
            .iter()
            .flat_map(|s| s.ports.iter().map(move |p| (s.name.as_str(), p.target, p.published)))
            .collect();
        assert_eq!(
            published,
            [
                ("web", 3000, Some(3000)),
                ("web", 9000, None),
                ("admin", 9000, None),
                ("admin", 3001, Some(8080)),
                ("api", 3001, Some(3001)),
                ("api", 4000, None)
            ],
            "9000 is listed twice: private; 3001 is published on 8080 by admin, not on 3001"
        );
        assert_eq!(
            codes(&diagnostics),
            [
                Code::PublishedOnTarget,
                Code::PublishedOnTarget,
                Code::PublishedOnTarget,
                Code::PublishedOnTarget
            ]
        );
    }

    #[test]
    fn an_external_file_system_is_the_project_s_and_there_is_one() {
        let compose = "services:\n  a: {image: a, volumes: ['data:/data']}\nvolumes:\n  data: {external: true, name: fs-0123abcd}\n";
        let (project, diagnostics) = normalised(compose);
        assert!(codes(&diagnostics).is_empty(), "{:?}", codes(&diagnostics));
        let project = project.unwrap();
        let (id, at) = project.settings.infrastructure.file_system.as_ref().unwrap();
        assert_eq!(
            (id.as_str(), at.to_string().as_str()),
            ("fs-0123abcd", "volumes.data.name")
        );
        let two = format!("x-ecs: {{file_system: fs-9999aaaa}}\n{compose}");
        let (project, diagnostics) = normalised(&two);
        assert!(project.is_none());
        assert_eq!(
            (codes(&diagnostics), paths(&diagnostics)),
            (vec![Code::BadSetting], vec!["volumes.data.name".to_string()])
        );
    }

    #[test]
    fn a_file_without_services_is_refused() {
        let (project, diagnostics) = normalised("volumes: {data: {}}\n");
        assert!(project.is_none());
        assert_eq!(codes(&diagnostics), [Code::NoServices]);
        assert_eq!(paths(&diagnostics), ["(document)"]);
    }

    #[test]
    fn the_top_level_sections_are_read_in_order_then_the_services() {
        let compose = "\
name: shop
version: '3.8'
x-ecs: {cluster: 'a b'}
volumes: {.data: {}}
secrets: {key: [x]}
networks: {front: {drivr: x}}
services:
  web: {image: a, imgae: b}
";
        let (project, diagnostics) = normalised(compose);
        assert!(project.is_none(), "errors refuse the project");
        assert_eq!(
            codes(&diagnostics),
            [
                Code::ObsoleteVersion,
                Code::BadSetting,
                Code::BadVolumeName,
                Code::WrongType,
                Code::UnknownKey,
                Code::UnknownKey
            ]
        );
        assert_eq!(
            paths(&diagnostics),
            [
                "version",
                "x-ecs.cluster",
                "volumes..data",
                "secrets.key",
                "networks.front.drivr",
                "services.web.imgae"
            ]
        );
    }

    #[test]
    fn a_project_with_warnings_only_is_kept() {
        let compose =
            "services:\n  web:\n    image: a\n    cpu_quota: 5\nvolumes:\n  data: {}\nsecrets:\n  key: {file: ./key}\n";
        let (project, diagnostics) = normalised(compose);
        let project = project.expect("a warning refuses nothing");
        assert_eq!(codes(&diagnostics), [Code::IgnoredKey]);
        assert_eq!(project.name, "app");
        assert_eq!(project.volumes[0].name, "data");
        assert_eq!(
            project.secret("key").map(|s| &s.source),
            Some(&SecretSource::Local {
                value: Some(SecretValue::File("./key".into()))
            })
        );
        assert!(project.service("web").is_some());
    }
}
