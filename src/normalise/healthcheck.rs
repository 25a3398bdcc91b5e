//! A service's `healthcheck`: the probe in ECS's form (`CMD`, `CMD-SHELL`) and its timings; a
//! disabled one, or one without `test`, is none.

use super::reader::Reader;
use super::Healthcheck;
use crate::diagnostic::{Code, Diagnostic, KeyPath};
use docker_compose_types as dct;
use serde_yaml::Value;

/// `healthcheck`; `None` when it is disabled (`disable: true`, `test: ["NONE"]`) or cannot be read.
pub(super) fn healthcheck(reader: &mut Reader, value: &Value, path: &KeyPath) -> Option<Healthcheck> {
    let Some(map) = value.as_mapping() else {
        reader.wrong_type(path, value, "a mapping with `test`, `interval`, …");
        return None;
    };
    reader.check_keys(map, "services.*.healthcheck", path);
    if map.get("disable").and_then(Value::as_bool) == Some(true) {
        return None;
    }
    let test_path = path.key("test");
    let command = match map
        .get("test")
        .map(|t| serde_yaml::from_value::<dct::HealthcheckTest>(t.clone()))
    {
        None => {
            reader.diagnostics.push(
                Diagnostic::warning(Code::HealthcheckWithoutTest, path.clone(), "a healthcheck without `test` relies on the image's HEALTHCHECK, which ECS does not read; it is left out")
                    .with_help("write the probe in `test`"),
            );
            return None;
        }
        Some(Ok(dct::HealthcheckTest::Single(line))) => vec!["CMD-SHELL".to_string(), line],
        Some(Ok(dct::HealthcheckTest::Multiple(words))) => match words.first().map(String::as_str) {
            Some("NONE") => return None,
            Some("CMD") | Some("CMD-SHELL") => words,
            _ => {
                reader.error(
                    Code::BadHealthcheck,
                    &test_path,
                    "a list `test` starts with `CMD`, `CMD-SHELL` or `NONE`".into(),
                    "for example `[\"CMD\", \"curl\", \"-f\", \"http://localhost\"]`",
                );
                return None;
            }
        },
        Some(Err(_)) => {
            reader.wrong_type(&test_path, &map["test"], "a string or a list of strings");
            return None;
        }
    };
    let mut duration = |key: &str| map.get(key).and_then(|v| reader.duration(v, &path.key(key)));
    let interval = duration("interval");
    let timeout = duration("timeout");
    let start_period = duration("start_period");
    let retries = map
        .get("retries")
        .and_then(|r| reader.count(r, &path.key("retries")))
        .map(u64::from);
    Some(Healthcheck {
        command,
        interval,
        timeout,
        retries,
        start_period,
        path: path.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::testing::{codes, paths, read};
    use std::time::Duration;

    fn check(yaml: &str) -> (Option<Healthcheck>, Vec<Code>) {
        let (found, diagnostics) = read(yaml, |reader, value, path| {
            healthcheck(reader, value, &path.key("healthcheck"))
        });
        (found, codes(&diagnostics))
    }

    #[test]
    fn a_string_test_runs_in_a_shell_and_a_list_keeps_its_form() {
        let (found, codes) =
            check("{test: curl -f http://localhost, interval: 30s, timeout: '5', retries: 3, start_period: 1m}");
        let found = found.expect("a healthcheck");
        assert_eq!(found.command, ["CMD-SHELL", "curl -f http://localhost"]);
        assert_eq!(found.interval, Some(Duration::from_secs(30)));
        assert_eq!(found.timeout, Some(Duration::from_secs(5)));
        assert_eq!(found.retries, Some(3));
        assert_eq!(found.start_period, Some(Duration::from_secs(60)));
        assert!(codes.is_empty());
        let (found, _) = check(r#"{test: ["CMD", "pg_isready", "-U", "app"]}"#);
        assert_eq!(found.unwrap().command, ["CMD", "pg_isready", "-U", "app"]);
    }

    #[test]
    fn a_disabled_healthcheck_is_none() {
        for yaml in [r#"{test: ["NONE"]}"#, "{test: x, disable: true}"] {
            let (found, codes) = check(yaml);
            assert!(found.is_none() && codes.is_empty(), "{yaml}: {codes:?}");
        }
        // Without `test`, the image's HEALTHCHECK would run under Docker; ECS does not read it.
        let (found, codes) = check("{interval: 10s}");
        assert!(found.is_none());
        assert_eq!(codes, [Code::HealthcheckWithoutTest]);
    }

    #[test]
    fn what_cannot_be_read_is_an_error() {
        let (found, diagnostics) = read(r#"{test: ["curl", "-f"], interval: soon}"#, |reader, value, path| {
            healthcheck(reader, value, &path.key("healthcheck"))
        });
        assert!(found.is_none());
        assert_eq!(codes(&diagnostics), [Code::BadHealthcheck]);
        assert_eq!(paths(&diagnostics), ["services.web.healthcheck.test"]);
        assert_eq!(
            check("{test: x, interval: soon, retries: -1}").1,
            [Code::BadDuration, Code::WrongType]
        );
        assert_eq!(check("{test: {a: 1}}").1, [Code::WrongType]);
        assert_eq!(check("curl").1, [Code::WrongType]);
    }
}
