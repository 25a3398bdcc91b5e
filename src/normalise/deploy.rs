//! How a service is deployed: its replicas (`scale`, `deploy.replicas`), `deploy.labels` (the
//! task family label and the service's tags), and its resources (`deploy.resources` and the
//! service-level `cpus`, `mem_limit`, `mem_reservation`), with what ECS asks of memory.

use super::reader::Reader;
use super::service::valid_task_name;
use super::units::parse_bytes;
use super::{Replicas, Resources, Service};
use crate::diagnostic::{Code, KeyPath};
use crate::load::interpolate::key_text;
use serde_yaml::{Mapping, Value};

/// The label of ECS ComposeX's grouping: the task family the service joins.
const FAMILY: &str = "ecs.task.family";

/// `scale`, `deploy`, and the service-level `cpus`, `mem_limit` and `mem_reservation` of the
/// service `map`, into `service`; `deploy.replicas` wins over `scale`, `deploy.resources` over
/// the service-level keys.
pub(super) fn deployment(reader: &mut Reader, map: &Mapping, path: &KeyPath, service: &mut Service) {
    let at = |key: &str| path.key(key);
    if let Some(scale) = map.get("scale") {
        service.replicas = reader.count(scale, &at("scale")).map(|count| Replicas {
            count,
            path: at("scale"),
        });
    }
    if let Some(settings) = map.get("deploy") {
        deploy(reader, settings, &at("deploy"), service);
    }
    service_level_resources(reader, map, path, &mut service.resources);
    check_memory(reader, map, path, service.resources);
}

/// `deploy`: its labels, replicas and resources.
fn deploy(reader: &mut Reader, value: &Value, path: &KeyPath, service: &mut Service) {
    let Some(map) = value.as_mapping() else {
        reader.wrong_type(path, value, "a mapping");
        return;
    };
    reader.check_keys(map, "services.*.deploy", path);
    if let Some(update_config) = map.get("update_config").and_then(Value::as_mapping) {
        reader.check_keys(
            update_config,
            "services.*.deploy.update_config",
            &path.key("update_config"),
        );
    }
    if let Some(labels) = map.get("labels") {
        (service.family_label, service.tags) = deploy_labels(reader, labels, &path.key("labels"));
    }
    if let Some(replicas) = map.get("replicas") {
        let replicas_path = path.key("replicas");
        service.replicas = reader.count(replicas, &replicas_path).map(|count| Replicas {
            count,
            path: replicas_path,
        });
    }
    let Some(resources) = map.get("resources") else { return };
    let resources_path = path.key("resources");
    let Some(resources) = resources.as_mapping() else {
        reader.wrong_type(&resources_path, resources, "a mapping with `limits` and `reservations`");
        return;
    };
    reader.check_keys(resources, "services.*.deploy.resources", &resources_path);
    for kind in ["limits", "reservations"] {
        let Some(value) = resources.get(kind) else { continue };
        let kind_path = resources_path.key(kind);
        let Some(limits) = value.as_mapping() else {
            reader.wrong_type(&kind_path, value, "a mapping with `cpus` and `memory`");
            continue;
        };
        reader.check_keys(limits, &format!("services.*.deploy.resources.{kind}"), &kind_path);
        let cpus = limits
            .get("cpus")
            .and_then(|v| number_of_cpus(reader, v, &kind_path.key("cpus")));
        let memory = limits
            .get("memory")
            .and_then(|v| memory_mib(reader, v, &kind_path.key("memory")));
        if kind == "limits" {
            service.resources.cpu_limit = cpus;
            service.resources.memory_limit_mib = memory;
        } else {
            service.resources.cpu_reservation = cpus;
            service.resources.memory_reservation_mib = memory;
        }
    }
}

/// `deploy.labels` (map or `KEY=VALUE` list): the `ecs.task.family` label (ECS ComposeX's
/// grouping), and the others, the service's labels, as (key, value, where).
#[allow(clippy::type_complexity)]
fn deploy_labels(
    reader: &mut Reader,
    value: &Value,
    path: &KeyPath,
) -> (Option<(Vec<String>, KeyPath)>, Vec<(String, String, KeyPath)>) {
    let pairs: Vec<(String, String, KeyPath)> = match value {
        Value::Mapping(map) => map
            .iter()
            .map(|(k, v)| (key_text(k), key_text(v), path.key(key_text(k))))
            .collect(),
        Value::Sequence(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let text = key_text(item);
                let (k, v) = text.split_once('=').unwrap_or((&text, ""));
                (k.to_string(), v.to_string(), path.index(i))
            })
            .collect(),
        other => {
            reader.wrong_type(path, other, "a mapping of labels or a list of `KEY=VALUE`");
            return (None, Vec::new());
        }
    };
    let mut family = None;
    let mut tags = Vec::new();
    for (key, value, label_path) in pairs {
        if key != FAMILY {
            // The service's own labels: tags of the ECS service (and, propagated, its tasks).
            tags.push((key, value, label_path));
            continue;
        }
        family = listed_families(reader, &value, label_path);
    }
    (family, tags)
}

/// The families an `ecs.task.family` label lists (`a, b`, as ECS ComposeX allows), the first a
/// valid task name (the one a service joins, as plan decides). An empty label is an error.
fn listed_families(reader: &mut Reader, value: &str, label_path: KeyPath) -> Option<(Vec<String>, KeyPath)> {
    let families: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect();
    if families.is_empty() {
        reader.error(
            Code::BadTaskName,
            &label_path,
            format!("`{FAMILY}` is empty"),
            "name the task family the service joins",
        );
        return None;
    }
    // The service joins the first (plan says so); only that one must name a task.
    valid_task_name(reader, &families[0], &label_path).then_some((families, label_path))
}

/// `cpus`, `mem_limit` and `mem_reservation`: the service-level forms of `deploy.resources`,
/// which wins when both are given (as in compose).
fn service_level_resources(reader: &mut Reader, map: &Mapping, path: &KeyPath, resources: &mut Resources) {
    if let Some(v) = map.get("cpus").filter(|_| resources.cpu_limit.is_none()) {
        resources.cpu_limit = number_of_cpus(reader, v, &path.key("cpus"));
    }
    if let Some(v) = map.get("mem_limit").filter(|_| resources.memory_limit_mib.is_none()) {
        resources.memory_limit_mib = memory_mib(reader, v, &path.key("mem_limit"));
    }
    if let Some(v) = map
        .get("mem_reservation")
        .filter(|_| resources.memory_reservation_mib.is_none())
    {
        resources.memory_reservation_mib = memory_mib(reader, v, &path.key("mem_reservation"));
    }
}

/// A number of CPUs, more than 0 (`0.5`, `"2"`).
fn number_of_cpus(reader: &mut Reader, value: &Value, path: &KeyPath) -> Option<f64> {
    let text = key_text(value);
    let parsed = text.trim().parse::<f64>().ok().filter(|c| *c > 0.0 && c.is_finite());
    if parsed.is_none() {
        reader.error(
            Code::BadCpus,
            path,
            format!("`{}` is not a number of CPUs", crate::quote::shown(&text)),
            "write a number such as `0.5` or `2`",
        );
    }
    parsed
}

/// A memory size in MiB, rounded up.
fn memory_mib(reader: &mut Reader, value: &Value, path: &KeyPath) -> Option<u64> {
    let text = key_text(value);
    let parsed = parse_bytes(&text).filter(|b| *b > 0);
    if parsed.is_none() {
        reader.error(
            Code::BadMemory,
            path,
            format!("`{}` is not a memory size", crate::quote::shown(&text)),
            "write a size such as `512M` or `1.5G`",
        );
    }
    parsed.map(|bytes| bytes.div_ceil(1024 * 1024))
}

/// What ECS asks of a container's memory, once `deploy.resources` and the service-level keys
/// are merged; each error points where the value was written.
fn check_memory(reader: &mut Reader, map: &Mapping, path: &KeyPath, resources: Resources) {
    let written = |deploy_kind: &str, service_key: &str| {
        let deploy = map
            .get("deploy")
            .and_then(|d| d.get("resources"))
            .and_then(|r| r.get(deploy_kind))
            .and_then(|k| k.get("memory"));
        match deploy {
            Some(_) => path.key("deploy").key("resources").key(deploy_kind).key("memory"),
            None => path.key(service_key),
        }
    };
    if let Some(limit) = resources.memory_limit_mib {
        check_ecs_memory_minimum(reader, limit, &written("limits", "mem_limit"));
        if let Some(reservation) = resources.memory_reservation_mib.filter(|r| *r > limit) {
            reader.error(
                Code::BadMemory,
                &written("reservations", "mem_reservation"),
                format!("the memory reservation ({reservation} MiB) is larger than the limit ({limit} MiB)"),
                "reserve at most the limit",
            );
        }
    }
}

/// The least memory ECS gives a container, in MiB.
const MINIMUM_CONTAINER_MEMORY_MIB: u64 = 6;

/// A decision (plan's to take, one day): ECS gives a container at least 6 MiB of memory, so a
/// smaller limit is refused.
fn check_ecs_memory_minimum(reader: &mut Reader, limit_mib: u64, path: &KeyPath) {
    if limit_mib < MINIMUM_CONTAINER_MEMORY_MIB {
        reader.error(
            Code::BadMemory,
            path,
            format!("ECS gives a container at least {MINIMUM_CONTAINER_MEMORY_MIB} MiB of memory"),
            "write a limit of 6M or more",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::testing::{codes, paths, read, service_path};

    /// Reads the service `yaml`'s deployment into an empty service.
    fn deployed(yaml: &str) -> (Service, Vec<Code>, Vec<String>) {
        let (service, diagnostics) = read(yaml, |reader, value, path| {
            let mut service = blank_service();
            deployment(reader, value.as_mapping().unwrap(), path, &mut service);
            service
        });
        (service, codes(&diagnostics), paths(&diagnostics))
    }

    fn blank_service() -> Service {
        Service {
            name: "web".into(),
            path: service_path(),
            image: None,
            build_context: None,
            command: None,
            entrypoint: None,
            environment: vec![],
            ports: vec![],
            port_ranges: vec![],
            healthcheck: None,
            depends_on: vec![],
            mounts: vec![],
            replicas: None,
            resources: Resources::default(),
            joins: None,
            container_name: None,
            networks: vec![],
            aliases: vec![],
            links: vec![],
            family_label: None,
            tags: vec![],
            cap_add: vec![],
            cap_drop: vec![],
            runtime: Default::default(),
            volumes_from: vec![],
            secrets: vec![],
            mounted_files: vec![],
            ecs: Default::default(),
        }
    }

    fn replicas(service: &Service) -> Option<(u32, String)> {
        service.replicas.as_ref().map(|r| (r.count, r.path.to_string()))
    }

    #[test]
    fn deploy_replicas_win_over_scale() {
        assert_eq!(
            replicas(&deployed("{scale: 2}").0),
            Some((2, "services.web.scale".into()))
        );
        let (service, codes, _) = deployed("{scale: 2, deploy: {replicas: '3'}}");
        assert_eq!(replicas(&service), Some((3, "services.web.deploy.replicas".into())));
        assert!(codes.is_empty());
        assert_eq!(deployed("{deploy: {replicas: -1}}").1, [Code::WrongType]);
    }

    #[test]
    fn resources_from_deploy_win_over_the_service_level_keys() {
        let yaml = "{cpus: 4, mem_reservation: 1.5m, deploy: {resources: {limits: {cpus: '0.5', memory: 512M}, reservations: {cpus: 0.25}}}}";
        let (service, codes, _) = deployed(yaml);
        assert!(codes.is_empty(), "{codes:?}");
        let r = service.resources;
        assert_eq!((r.cpu_limit, r.memory_limit_mib), (Some(0.5), Some(512)));
        // 1.5 MiB is rounded up to whole MiB.
        assert_eq!((r.cpu_reservation, r.memory_reservation_mib), (Some(0.25), Some(2)));
        let r = deployed("{cpus: 2, mem_limit: 1g}").0.resources;
        assert_eq!((r.cpu_limit, r.memory_limit_mib), (Some(2.0), Some(1024)));
    }

    #[test]
    fn ecs_gives_a_container_six_mib_at_least() {
        assert!(deployed("{mem_limit: 6m}").1.is_empty());
        let (_, codes, paths) = deployed("{mem_limit: 5m}");
        assert_eq!(
            (codes, paths),
            (vec![Code::BadMemory], vec!["services.web.mem_limit".to_string()])
        );
        // The error points where the limit was written.
        let (_, _, paths) = deployed("{mem_limit: 1g, deploy: {resources: {limits: {memory: 4M}}}}");
        assert_eq!(paths, ["services.web.deploy.resources.limits.memory"]);
    }

    #[test]
    fn a_reservation_above_the_limit_and_values_that_are_not_sizes() {
        let (_, codes, paths) = deployed("{mem_limit: 256m, mem_reservation: 512m}");
        assert_eq!(
            (codes, paths),
            (vec![Code::BadMemory], vec!["services.web.mem_reservation".to_string()])
        );
        let (service, codes, _) = deployed("{cpus: 0, mem_limit: lots, deploy: {resources: {limits: {cpus: x}}}}");
        assert_eq!(codes, [Code::BadCpus, Code::BadCpus, Code::BadMemory]);
        assert_eq!(service.resources.cpu_limit, None);
        assert_eq!(
            deployed("{deploy: {resources: {limits: {pids: 1}}}}").1,
            [Code::IgnoredKey]
        );
        assert_eq!(deployed("{deploy: {resources: [cpus]}}").1, [Code::WrongType]);
    }

    #[test]
    fn every_listed_task_family_is_kept() {
        let yaml = "{deploy: {labels: {ecs.task.family: 'app, other', team: web}}}";
        let (service, codes, _) = deployed(yaml);
        let (families, at) = service.family_label.expect("a family");
        assert_eq!(
            (families, at.to_string().as_str()),
            (
                vec!["app".to_string(), "other".to_string()],
                "services.web.deploy.labels.ecs.task.family"
            )
        );
        // Which one the service joins is plan's to say (`plan::grouping`).
        assert!(codes.is_empty());
        let tags: Vec<_> = service.tags.iter().map(|(k, v, _)| (k.as_str(), v.as_str())).collect();
        assert_eq!(tags, [("team", "web")]);
    }

    #[test]
    fn labels_as_a_list_and_families_that_cannot_name_a_task() {
        let (service, codes, _) = deployed("{deploy: {labels: [ecs.task.family=app, team=web, bare]}}");
        assert_eq!(service.family_label.map(|(f, _)| f), Some(vec!["app".to_string()]));
        assert!(codes.is_empty());
        let tags: Vec<_> = service
            .tags
            .iter()
            .map(|(k, v, at)| (k.as_str(), v.as_str(), at.to_string()))
            .collect();
        assert_eq!(
            tags,
            [
                ("team", "web", "services.web.deploy.labels[1]".to_string()),
                ("bare", "", "services.web.deploy.labels[2]".to_string())
            ]
        );
        let (service, codes, _) = deployed("{deploy: {labels: {ecs.task.family: ' , '}}}");
        assert!(service.family_label.is_none());
        assert_eq!(codes, [Code::BadTaskName]);
        assert_eq!(
            deployed("{deploy: {labels: {ecs.task.family: -app}}}").1,
            [Code::BadTaskName]
        );
        // Only the family the service joins must name a task; the others are not used.
        assert!(deployed("{deploy: {labels: {ecs.task.family: 'app, legacy app'}}}")
            .1
            .is_empty());
        assert_eq!(deployed("{deploy: {labels: team}}").1, [Code::WrongType]);
    }
}
