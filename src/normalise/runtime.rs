//! How a service's container runs: user, working folder, init, read-only root, stop, labels,
//! ulimits, sysctls, platform and restart, read from the YAML.

use super::reader::{one_or_many, Reader};
use super::{Runtime, Sysctl, Ulimit};
use crate::diagnostic::{Code, Diagnostic, KeyPath};
use crate::load::dotenv;
use crate::load::interpolate::key_text;
use crate::source::display_path;
use serde_yaml::{Mapping, Value};

pub(super) fn runtime(reader: &mut Reader, map: &Mapping, path: &KeyPath) -> Runtime {
    let at = |key: &str| path.key(key);
    let mut runtime = Runtime {
        // `user: ""` (an unset variable) is the image's user, as in compose.
        user: map
            .get("user")
            .and_then(|v| reader.scalar_text(v, &at("user")))
            .filter(|u| !u.is_empty()),
        working_dir: map
            .get("working_dir")
            .and_then(|v| reader.string(v, &at("working_dir")))
            .filter(|dir| absolute_folder(reader, dir, &at("working_dir"))),
        read_only: map
            .get("read_only")
            .and_then(|v| reader.boolean(v, &at("read_only")))
            .unwrap_or(false),
        init: map
            .get("init")
            .and_then(|v| reader.boolean(v, &at("init")))
            .unwrap_or(false),
        tty: map
            .get("tty")
            .and_then(|v| reader.boolean(v, &at("tty")))
            .unwrap_or(false),
        stdin_open: map
            .get("stdin_open")
            .and_then(|v| reader.boolean(v, &at("stdin_open")))
            .unwrap_or(false),
        ..Runtime::default()
    };
    if let Some(value) = map.get("restart") {
        let restart_path = at("restart");
        runtime.restart = reader.scalar_text(value, &restart_path).map(|r| (r, restart_path));
    }
    if let Some(value) = map.get("stop_grace_period") {
        let period_path = at("stop_grace_period");
        runtime.stop_grace_period = reader.duration(value, &period_path).map(|d| (d, period_path));
    }
    if let Some(value) = map.get("label_file") {
        runtime.labels = label_files(reader, value, &at("label_file"));
    }
    if let Some(value) = map.get("labels") {
        // `labels` win over `label_file`, as compose merges them.
        for (name, text) in labels(reader, value, &at("labels")) {
            runtime.labels.retain(|(other, _)| *other != name);
            runtime.labels.push((name, text));
        }
    }
    if let Some(value) = map.get("ulimits") {
        runtime.ulimits = ulimits(reader, value, &at("ulimits"));
    }
    if let Some(value) = map.get("sysctls") {
        runtime.sysctls = sysctls(reader, value, &at("sysctls"));
    }
    if let Some(value) = map.get("platform") {
        let platform_path = at("platform");
        // An empty platform (`${PLATFORM:-}`) is no platform, as in compose.
        runtime.platform = reader
            .string(value, &platform_path)
            .filter(|p| !p.trim().is_empty())
            .map(|p| (p, platform_path));
    }
    if let Some(value) = map.get("logging") {
        runtime.log_options = logging(reader, value, &at("logging"));
    }
    if let Some(value) = map.get("privileged") {
        if reader.boolean(value, &at("privileged")) == Some(true) {
            reader.error(
                Code::UnsupportedKey,
                &at("privileged"),
                "`privileged: true` cannot be converted: Fargate does not run privileged containers".into(),
                "remove it if the container works without it; otherwise it needs ECS on EC2, not Fargate",
            );
        }
    }
    runtime
}

/// Docker takes a working folder only as an absolute path.
fn absolute_folder(reader: &mut Reader, dir: &str, path: &KeyPath) -> bool {
    let absolute = dir.starts_with('/');
    if !absolute {
        reader.error(
            Code::BadWorkingDir,
            path,
            format!("`{}` is not an absolute path", crate::quote::shown(dir)),
            "write the folder from the root: `/app`",
        );
    }
    absolute
}

/// `awslogs` options a container's log configuration takes as written: how lines are split into
/// events, and whether a slow CloudWatch blocks the app.
const AWSLOGS_PASSED: &[&str] = &[
    "awslogs-datetime-format",
    "awslogs-multiline-pattern",
    "max-buffer-size",
    "mode",
];
/// `awslogs` options compose2ecs sets itself: every container writes to the project's log group.
const AWSLOGS_SET: &[&str] = &[
    "awslogs-create-group",
    "awslogs-endpoint",
    "awslogs-group",
    "awslogs-region",
    "awslogs-stream-prefix",
];

/// `logging`: every container logs to CloudWatch (`awslogs`). The local drivers' settings (rotation)
/// have no meaning there; any other driver is a destination the logs no longer reach, so it warns.
/// With `awslogs` (or no driver, as Docker's ECS integration read it) the options that shape the
/// events are passed on, sorted by name; the others are named in a warning.
fn logging(reader: &mut Reader, value: &Value, path: &KeyPath) -> Vec<(String, String)> {
    let Some(map) = value.as_mapping() else {
        reader.wrong_type(path, value, "a mapping with `driver` and `options`");
        return Vec::new();
    };
    reader.check_keys(map, "services.*.logging", path);
    let driver = map.get("driver").map(key_text).unwrap_or_default();
    if !matches!(driver.as_str(), "" | "json-file" | "local" | "awslogs") {
        reader.diagnostics.push(
            Diagnostic::warning(
                Code::LoggingDriver,
                path.key("driver"),
                format!("the `{driver}` log driver is not used: every container logs to CloudWatch (`awslogs`)"),
            )
            .with_help("to send the logs on from there, subscribe to the log group, or route them with FireLens (not generated by compose2ecs)"),
        );
    }
    let Some(options) = map.get("options").and_then(Value::as_mapping) else {
        return Vec::new();
    };
    if !matches!(driver.as_str(), "" | "awslogs") {
        return Vec::new();
    }
    let options_path = path.key("options");
    let mut passed = Vec::new();
    for (key, value) in options {
        let name = key_text(key);
        let option_path = options_path.key(&name);
        if AWSLOGS_PASSED.contains(&name.as_str()) {
            if let Some(text) = reader.scalar_text(value, &option_path) {
                passed.push((name, text));
            }
            continue;
        }
        let (message, help) = if AWSLOGS_SET.contains(&name.as_str()) {
            (
                format!("`{option_path}` is not used: every container logs to the project's log group, which the base stack makes"),
                "`x-ecs.log_retention_days` sets how long its logs are kept",
            )
        } else if driver.is_empty() && !name.starts_with("awslogs-") {
            // Without a driver, options may be those of compose's default `json-file`: dropped in silence.
            continue;
        } else {
            (
                format!("`{option_path}` is not an option of the `awslogs` driver on ECS; it is left out"),
                "ECS takes awslogs-datetime-format, awslogs-multiline-pattern, mode and max-buffer-size",
            )
        };
        reader
            .diagnostics
            .push(Diagnostic::warning(Code::IgnoredKey, option_path, message).with_help(help));
    }
    passed.sort();
    passed
}

/// `label_file`: one file or a list, `KEY=VALUE` lines as in an env file; later files win.
fn label_files(reader: &mut Reader, value: &Value, path: &KeyPath) -> Vec<(String, String)> {
    let mut labels: Vec<(String, String)> = Vec::new();
    for (item, item_path) in one_or_many(value, path) {
        let Some(file) = reader.string(&item, &item_path) else {
            continue;
        };
        let full = reader.project_dir.join(&file);
        match dotenv::read(&full, &item_path, reader.files, reader.variables) {
            Ok(Some(entries)) => {
                for entry in entries {
                    let value = entry.value.unwrap_or_default();
                    reader.diagnostics.withhold(&value);
                    labels.retain(|(name, _)| *name != entry.name);
                    labels.push((entry.name, value));
                }
            }
            Ok(None) => reader.error(
                Code::UnreadableFile,
                &item_path,
                format!("cannot read `{}`: no such file", display_path(&full)),
                "create the file, or remove it from `label_file`",
            ),
            Err(diagnostic) => reader.diagnostics.push(*diagnostic),
        }
    }
    labels
}

/// `labels` as a mapping or a list of `KEY=VALUE`, in the order written.
fn labels(reader: &mut Reader, value: &Value, path: &KeyPath) -> Vec<(String, String)> {
    match value {
        Value::Mapping(map) => map
            .iter()
            .filter_map(|(key, item)| {
                let name = key_text(key);
                let text = match item {
                    Value::Null => Some(String::new()),
                    other => reader.scalar_text(other, &path.key(&name)),
                }?;
                Some((name, text))
            })
            .collect(),
        Value::Sequence(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| {
                let text = reader.string(item, &path.index(i))?;
                let (name, value) = text.split_once('=').unwrap_or((&text, ""));
                Some((name.to_string(), value.to_string()))
            })
            .collect(),
        Value::Null => Vec::new(),
        other => {
            reader.wrong_type(path, other, "a mapping `key: value` or a list of `key=value`");
            Vec::new()
        }
    }
}

/// `ulimits: {nproc: 65535, nofile: {soft: 20000, hard: 40000}}`.
fn ulimits(reader: &mut Reader, value: &Value, path: &KeyPath) -> Vec<Ulimit> {
    let Some(map) = value.as_mapping() else {
        reader.wrong_type(path, value, "a mapping of limit names");
        return Vec::new();
    };
    let mut ulimits = Vec::new();
    for (key, item) in map {
        let name = key_text(key);
        let item_path = path.key(&name);
        let (soft, hard) = match item {
            Value::Mapping(pair) => {
                reader.check_keys(pair, "services.*.ulimits.*", &item_path);
                let mut limit = |field: &str| match pair.get(field) {
                    Some(v) => ulimit_value(reader, v, &item_path.key(field)),
                    None => {
                        reader.error(
                            Code::MissingKey,
                            &item_path,
                            format!("`{item_path}` needs both `soft` and `hard`"),
                            "write `{soft: N, hard: N}`, or one number for both",
                        );
                        None
                    }
                };
                (limit("soft"), limit("hard"))
            }
            other => {
                let both = ulimit_value(reader, other, &item_path);
                (both, both)
            }
        };
        if let (Some(soft), Some(hard)) = (soft, hard) {
            ulimits.push(Ulimit {
                name,
                soft,
                hard,
                path: item_path,
            });
        }
    }
    ulimits
}

/// One ulimit value: a whole number ECS can hold, or `-1` for unlimited.
fn ulimit_value(reader: &mut Reader, value: &Value, path: &KeyPath) -> Option<i64> {
    let parsed = match value {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse::<i64>().ok(),
        _ => None,
    };
    match parsed {
        Some(n) if n == -1 || (0..=i64::from(i32::MAX)).contains(&n) => Some(n),
        _ => {
            reader.wrong_type(path, value, "a whole number (or -1 for unlimited)");
            None
        }
    }
}

/// `sysctls` as a mapping or a list of `name=value`.
fn sysctls(reader: &mut Reader, value: &Value, path: &KeyPath) -> Vec<Sysctl> {
    let pairs: Vec<(String, Option<String>, KeyPath)> = match value {
        Value::Mapping(map) => map
            .iter()
            .map(|(key, item)| {
                let name = key_text(key);
                let item_path = path.key(&name);
                let text = match item {
                    Value::Null => Some(String::new()),
                    other => reader.scalar_text(other, &item_path),
                };
                (name, text, item_path)
            })
            .collect(),
        // `name` alone sets an empty value, as in compose.
        Value::Sequence(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let item_path = path.index(i);
                let text = reader.string(item, &item_path).unwrap_or_default();
                let (name, value) = text.split_once('=').unwrap_or((&text, ""));
                (name.trim().to_string(), Some(value.trim().to_string()), item_path)
            })
            .collect(),
        other => {
            reader.wrong_type(path, other, "a mapping `name: value` or a list of `name=value`");
            Vec::new()
        }
    };
    pairs
        .into_iter()
        .filter_map(|(name, value, path)| {
            Some(Sysctl {
                name,
                value: value?,
                path,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::testing::{codes, paths, read, read_with};
    use std::time::Duration;

    fn run(yaml: &str) -> (Runtime, Vec<Code>) {
        let (found, diagnostics) = read(yaml, |reader, value, path| {
            runtime(reader, value.as_mapping().unwrap(), path)
        });
        (found, codes(&diagnostics))
    }

    #[test]
    fn how_the_container_runs() {
        let yaml = "{user: 1000, working_dir: /app, read_only: yes, init: true, tty: true, stdin_open: false,
            restart: unless-stopped, stop_grace_period: 1m, platform: linux/arm64}";
        let (found, codes) = run(yaml);
        assert!(codes.is_empty(), "{codes:?}");
        assert_eq!(found.user.as_deref(), Some("1000"));
        assert_eq!(found.working_dir.as_deref(), Some("/app"));
        assert!(found.read_only && found.init && found.tty && !found.stdin_open);
        assert_eq!(found.restart.map(|(r, _)| r).as_deref(), Some("unless-stopped"));
        assert_eq!(found.stop_grace_period.map(|(d, _)| d), Some(Duration::from_secs(60)));
        assert_eq!(found.platform.map(|(p, _)| p).as_deref(), Some("linux/arm64"));
        // Empty values, as unset variables leave them, are the image's own.
        let (found, codes) = run("{user: '', platform: ' '}");
        assert!(found.user.is_none() && found.platform.is_none() && codes.is_empty());
        let (found, codes) = run("{working_dir: app, stop_grace_period: soon}");
        assert!(found.working_dir.is_none());
        assert_eq!(codes, [Code::BadWorkingDir, Code::BadDuration]);
    }

    #[test]
    fn labels_win_over_label_files_which_win_in_order() {
        let files = [("a.labels", "team=a\ntier=web\n"), ("b.labels", "team=b\n")];
        let yaml = "{label_file: [a.labels, b.labels], labels: {tier: api, empty: null, port: 80}}";
        let (found, diagnostics) = read_with(&files, &[], yaml, |reader, value, path| {
            runtime(reader, value.as_mapping().unwrap(), path)
        });
        assert!(diagnostics.0.is_empty());
        let labels: Vec<_> = found.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(labels, [("team", "b"), ("tier", "api"), ("empty", ""), ("port", "80")]);
        let (found, _) = run("{labels: [a=1, b]}");
        assert_eq!(
            found.labels,
            [("a".to_string(), "1".to_string()), ("b".to_string(), String::new())]
        );
        let (_, diagnostics) = read("{label_file: gone.labels}", |reader, value, path| {
            runtime(reader, value.as_mapping().unwrap(), path)
        });
        assert_eq!(codes(&diagnostics), [Code::UnreadableFile]);
        assert_eq!(paths(&diagnostics), ["services.web.label_file"]);
    }

    #[test]
    fn ulimits_and_sysctls() {
        let (found, codes) = run(
            "{ulimits: {nproc: 65535, nofile: {soft: 20000, hard: '40000'}, core: -1},
            sysctls: [net.core.somaxconn=1024, ' net.ipv4.tcp_syncookies = 0 ']}",
        );
        assert!(codes.is_empty(), "{codes:?}");
        let limits: Vec<_> = found
            .ulimits
            .iter()
            .map(|u| (u.name.as_str(), u.soft, u.hard))
            .collect();
        assert_eq!(
            limits,
            [("nproc", 65535, 65535), ("nofile", 20000, 40000), ("core", -1, -1)]
        );
        let sysctls: Vec<_> = found
            .sysctls
            .iter()
            .map(|s| (s.name.as_str(), s.value.as_str()))
            .collect();
        assert_eq!(
            sysctls,
            [("net.core.somaxconn", "1024"), ("net.ipv4.tcp_syncookies", "0")]
        );
        let (found, codes) =
            run("{ulimits: {nofile: {soft: 1}, nproc: 4294967296, stack: -2}, sysctls: {kernel.x: [1]}}");
        assert!(found.ulimits.is_empty() && found.sysctls.is_empty());
        assert_eq!(
            codes,
            [Code::MissingKey, Code::WrongType, Code::WrongType, Code::WrongType]
        );
    }

    #[test]
    fn awslogs_options_are_passed_on_and_the_log_group_stays_the_project_s() {
        let (runtime, codes) = run("{logging: {driver: awslogs, options: {mode: non-blocking, awslogs-multiline-pattern: '^INFO', awslogs-group: mine, tag: x}}}");
        assert_eq!(
            codes,
            [Code::IgnoredKey, Code::IgnoredKey],
            "the group and the unknown option"
        );
        assert_eq!(
            runtime.log_options,
            [
                ("awslogs-multiline-pattern".to_string(), "^INFO".to_string()),
                ("mode".to_string(), "non-blocking".to_string())
            ]
        );
        // Without a driver (Docker's ECS integration), awslogs options still count, and a name
        // the driver does not know is said (Docker's documentation wrote `-pattern`); json-file's
        // options are dropped.
        let (runtime, codes) =
            run("{logging: {options: {awslogs-datetime-format: '%Y', awslogs-datetime-pattern: FOO, max-size: 10m}}}");
        assert_eq!(codes, [Code::IgnoredKey]);
        assert_eq!(
            runtime.log_options,
            [("awslogs-datetime-format".to_string(), "%Y".to_string())]
        );
        assert!(run("{logging: {driver: json-file, options: {mode: non-blocking}}}")
            .0
            .log_options
            .is_empty());
    }

    #[test]
    fn logging_goes_to_cloudwatch_and_privileged_is_refused() {
        assert!(
            run("{logging: {driver: json-file, options: {max-size: 10m}}, privileged: false}")
                .1
                .is_empty()
        );
        assert_eq!(run("{logging: {driver: syslog}}").1, [Code::LoggingDriver]);
        assert_eq!(run("{privileged: true}").1, [Code::UnsupportedKey]);
        assert_eq!(run("{logging: json-file}").1, [Code::WrongType]);
    }
}
