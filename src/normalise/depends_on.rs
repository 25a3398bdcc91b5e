//! A service's `depends_on`: which services it waits for, on what condition, and whether each
//! must exist.

use super::reader::Reader;
use super::{Condition, Dependency};
use crate::diagnostic::{Code, KeyPath};
use crate::load::interpolate::key_text;
use serde_yaml::{Mapping, Value};

/// `depends_on: [a, b]` or `depends_on: {a: {condition: …, required: …, restart: …}}`; the
/// condition defaults to `service_started` and `required` to true, as in compose.
pub(super) fn depends_on(reader: &mut Reader, value: &Value, path: &KeyPath) -> Vec<Dependency> {
    let mut dependencies = Vec::new();
    match value {
        Value::Sequence(_) => {
            for (index, service) in reader
                .string_list(value, path)
                .unwrap_or_default()
                .into_iter()
                .enumerate()
            {
                dependencies.push(Dependency {
                    service,
                    condition: Condition::ServiceStarted,
                    required: true,
                    path: path.index(index),
                });
            }
        }
        Value::Mapping(map) => {
            for (key, detail) in map {
                let service = key_text(key);
                let item_path = path.key(&service);
                let mut detail = match detail {
                    Value::Null => Mapping::new(),
                    Value::Mapping(detail) => detail.clone(),
                    other => {
                        reader.wrong_type(&item_path, other, "a mapping with `condition`");
                        continue;
                    }
                };
                // `restart: false` asks for what ECS does anyway; only `true` warns.
                if detail.get("restart").and_then(Value::as_bool) == Some(false) {
                    detail.remove("restart");
                }
                reader.check_keys(&detail, "services.*.depends_on.*", &item_path);
                let condition = match detail.get("condition").map(key_text).as_deref() {
                    None | Some("service_started") => Condition::ServiceStarted,
                    Some("service_healthy") => Condition::ServiceHealthy,
                    Some("service_completed_successfully") => Condition::ServiceCompletedSuccessfully,
                    Some(other) => {
                        reader.error(
                            Code::BadDependsOn,
                            &item_path.key("condition"),
                            format!("`{other}` is not a depends_on condition"),
                            "use `service_started`, `service_healthy` or `service_completed_successfully`",
                        );
                        continue;
                    }
                };
                let required = match detail.get("required") {
                    Some(flag) => reader.boolean(flag, &item_path.key("required")).unwrap_or(true),
                    None => true,
                };
                dependencies.push(Dependency {
                    service,
                    condition,
                    required,
                    path: item_path,
                });
            }
        }
        Value::Null => {}
        other => reader.wrong_type(
            path,
            other,
            "a list of service names or a mapping `NAME: {condition: …}`",
        ),
    }
    dependencies
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::testing::{codes, paths, read};

    /// Each dependency as (service, condition, required), the codes and the paths of what was said.
    type Read = (Vec<(String, Condition, bool)>, Vec<Code>, Vec<String>);

    fn dependencies(yaml: &str) -> Read {
        let (found, diagnostics) = read(yaml, |reader, value, path| {
            depends_on(reader, value, &path.key("depends_on"))
        });
        let found = found
            .into_iter()
            .map(|d| (d.service, d.condition, d.required))
            .collect();
        (found, codes(&diagnostics), paths(&diagnostics))
    }

    #[test]
    fn a_list_waits_for_each_service_to_start() {
        let (found, codes, _) = dependencies("[db, cache]");
        assert_eq!(
            found,
            [
                ("db".to_string(), Condition::ServiceStarted, true),
                ("cache".to_string(), Condition::ServiceStarted, true)
            ]
        );
        assert!(codes.is_empty());
    }

    #[test]
    fn a_mapping_gives_conditions_and_optional_services() {
        let yaml = "{db: {condition: service_healthy}, init: {condition: service_completed_successfully, restart: false}, cache: {required: false}, log: null}";
        let (found, codes, _) = dependencies(yaml);
        assert_eq!(
            found,
            [
                ("db".to_string(), Condition::ServiceHealthy, true),
                ("init".to_string(), Condition::ServiceCompletedSuccessfully, true),
                ("cache".to_string(), Condition::ServiceStarted, false),
                ("log".to_string(), Condition::ServiceStarted, true),
            ]
        );
        // `restart: false` asks for what ECS does anyway, so it says nothing.
        assert!(codes.is_empty(), "{codes:?}");
    }

    #[test]
    fn what_cannot_be_read_leaves_the_dependency_out() {
        let yaml = "{db: {condition: service_ready}, cache: [x], web: {restart: true}, api: {required: maybe}}";
        let (found, codes, paths) = dependencies(yaml);
        let names: Vec<_> = found.iter().map(|(name, _, _)| name.as_str()).collect();
        assert_eq!(names, ["web", "api"]);
        assert!(found[1].2, "an unreadable `required` is true");
        assert_eq!(
            codes,
            [Code::BadDependsOn, Code::WrongType, Code::IgnoredKey, Code::WrongType]
        );
        assert_eq!(
            paths,
            [
                "services.web.depends_on.db.condition",
                "services.web.depends_on.cache",
                "services.web.depends_on.web.restart",
                "services.web.depends_on.api.required"
            ]
        );
        assert_eq!(dependencies("db").1, [Code::WrongType]);
    }
}
