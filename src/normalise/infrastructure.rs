//! The `x-ecs` keys that shape the CloudFormation stacks rather than the containers: the EFS file
//! system and its mount targets, log retention, autoscaling, and the load balancer's health
//! checks, listener rules and certificate. They are read here, apart from the service keys, so
//! each set grows on its own. The AWS quotas on their values are checked here too, each in a
//! function of its own (`within_aws_limits`, `accepted_log_retention`, the ALB rule quotas).

use super::model::{AutoscalingSettings, InfrastructureSettings, ListenerRouting, LoadBalancerType, ServiceSettings};
use super::reader::Reader;
use crate::diagnostic::{Code, KeyPath};
use crate::load::interpolate::key_text;
use serde_yaml::Value;

/// The retention periods CloudWatch Logs accepts, in days.
pub const LOG_RETENTION_DAYS: &[u32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/// The most tasks one ECS service runs (the "tasks per service" quota, which AWS does not raise).
pub const MAXIMUM_SERVICE_TASKS: u32 = 5_000;

/// The most mount targets a template makes: one per availability zone, and no region has more
/// than six.
pub const MAXIMUM_MOUNT_TARGETS: u32 = 6;

/// The longest grace period ECS accepts, in seconds.
const MAXIMUM_GRACE_PERIOD: u32 = 2_147_483_647;

/// The priorities a listener rule may have.
pub const MAXIMUM_RULE_PRIORITY: u32 = 50_000;

/// ALB's limits on a rule's conditions: values of one condition, values of a rule, wildcards of a
/// rule, and characters of one path pattern or host.
const VALUES_PER_CONDITION: usize = 3;
const VALUES_PER_RULE: usize = 5;
const WILDCARDS_PER_RULE: usize = 5;
const CONDITION_VALUE_LENGTH: usize = 128;

/// Reads the top-level key `name` into `settings` when it is read here; the caller checked
/// every key against the support table.
pub(super) fn infrastructure_setting(
    reader: &mut Reader,
    name: &str,
    item: &Value,
    path: &KeyPath,
    settings: &mut InfrastructureSettings,
) {
    match name {
        "file_system" => {
            settings.file_system = reader
                .string(item, path)
                .filter(|id| {
                    let valid = is_file_system_id(id);
                    if !valid {
                        reader.error(
                            Code::BadSetting,
                            path,
                            format!("`{id}` is not an EFS file system id"),
                            "give the id of an existing file system, `fs-` and 8 to 40 hex digits (`fs-0123abcd`), as `aws efs describe-file-systems` shows it; leave the key out to create one",
                        );
                    }
                    valid
                })
                .map(|id| (id, path.clone()))
        }
        "mount_targets" => {
            settings.mount_targets = reader
                .count(item, path)
                .filter(|n| {
                    within_aws_limits(
                        reader,
                        *n,
                        1,
                        MAXIMUM_MOUNT_TARGETS,
                        path,
                        "one per availability zone of the tasks",
                    )
                })
                .map(|n| (n, path.clone()))
        }
        "log_retention_days" => {
            settings.log_retention_days = reader
                .count(item, path)
                .filter(|days| accepted_log_retention(reader, *days, path))
        }
        "certificate" => {
            settings.certificate = reader.string(item, path).filter(|arn| {
                let valid = is_certificate_arn(arn);
                if !valid {
                    reader.error(
                        Code::BadCertificate,
                        path,
                        format!("`{arn}` is not the ARN of an ACM certificate"),
                        "give the certificate's ARN as `aws acm list-certificates` shows it: `arn:aws:acm:REGION:ACCOUNT:certificate/ID`",
                    );
                }
                valid
            }).map(|arn| (arn, path.clone()))
        }
        _ => {}
    }
}

/// Reads the per-service key `name` into `settings` when it is read here; the caller checked
/// every key against the support table.
pub(super) fn service_infrastructure_setting(
    reader: &mut Reader,
    name: &str,
    item: &Value,
    path: &KeyPath,
    settings: &mut ServiceSettings,
) {
    match name {
        "grace_period" => {
            settings.health_check.grace_period = reader
                .count(item, path)
                .filter(|s| within_aws_limits(reader, *s, 0, MAXIMUM_GRACE_PERIOD, path, "seconds"))
        }
        "health_check" => health_check_settings(reader, item, path, settings),
        "autoscaling" => {
            settings.autoscaling = autoscaling_settings(reader, item, path, "services.*.x-ecs.autoscaling")
        }
        "load_balancer" => {
            settings.load_balancer_type = load_balancer_type(reader, item, path);
            settings.load_balancer = listener_routing(reader, item, path);
        }
        _ => {}
    }
}

/// `x-ecs.autoscaling: {min, max, cpu, memory}`: `max` and one target at least; `min` is 1
/// unless given. Docker's ECS integration wrote the same under `deploy.x-aws-autoscaling`, with
/// `mem` for `memory` (`pattern` is where the keys are checked).
pub(super) fn autoscaling_settings(
    reader: &mut Reader,
    value: &Value,
    path: &KeyPath,
    pattern: &str,
) -> Option<AutoscalingSettings> {
    let Some(map) = value.as_mapping() else {
        reader.wrong_type(path, value, "a mapping (`min`, `max`, `cpu`, `memory`)");
        return None;
    };
    let (mut min, mut max, mut cpu, mut memory) = (None, None, None, None);
    let mut valid = reader.check_keys(map, pattern, path);
    for (key, item) in map {
        let name = key_text(key);
        let item_path = path.key(&name);
        let (slot, low, high, unit) = match name.as_str() {
            "min" => (&mut min, 1, MAXIMUM_SERVICE_TASKS, "copies of the task"),
            "max" => (&mut max, 1, MAXIMUM_SERVICE_TASKS, "copies of the task"),
            "cpu" => (&mut cpu, 1, 100, "percent of the task's CPU, averaged over its copies"),
            "memory" | "mem" => (
                &mut memory,
                1,
                100,
                "percent of the task's memory, averaged over its copies",
            ),
            _ => continue,
        };
        // Each value is checked on its own, so one run names every bad one.
        match reader.count(item, &item_path) {
            Some(n) if within_aws_limits(reader, n, low, high, &item_path, unit) => *slot = Some((n, item_path)),
            _ => valid = false,
        }
    }
    let Some((max, _)) = max else {
        if valid {
            reader.error(
                Code::BadSetting,
                path,
                format!("`{path}` has no `max`: how many copies the service may scale out to"),
                "give `max`, and a target: `autoscaling: {min: 1, max: 4, cpu: 70}`",
            );
        }
        return None;
    };
    let min = min.map_or(1, |(n, min_path)| {
        if n > max {
            reader.error(
                Code::BadSetting,
                &min_path,
                format!("`{min_path}` is {n}, more than `max` ({max})"),
                "give a `min` from 1 to `max`",
            );
            valid = false;
        }
        n
    });
    let (cpu, memory) = (cpu.map(|(n, _)| n), memory.map(|(n, _)| n));
    if cpu.is_none() && memory.is_none() && valid {
        reader.error(
            Code::BadSetting,
            path,
            format!("`{path}` has no target: `cpu` or `memory`, the average use in percent to keep"),
            "give `cpu: 70` (or `memory: 80`, or both)",
        );
        valid = false;
    }
    valid.then(|| AutoscalingSettings {
        min,
        max,
        cpu,
        memory,
        path: path.clone(),
    })
}

/// `x-ecs.load_balancer.type`: `application` or `network`; rules need the application one.
fn load_balancer_type(reader: &mut Reader, value: &Value, path: &KeyPath) -> Option<(LoadBalancerType, KeyPath)> {
    let map = value.as_mapping()?;
    let item = map.get("type")?;
    let at = path.key("type");
    let kind = match reader.string(item, &at)?.as_str() {
        "application" => LoadBalancerType::Application,
        "network" => LoadBalancerType::Network,
        other => {
            reader.error(
                Code::BadSetting,
                &at,
                format!("`{other}` is no load balancer type"),
                "write `application` (HTTP, with rules and HTTP health checks) or `network` (any TCP or UDP)",
            );
            return None;
        }
    };
    if kind == LoadBalancerType::Network && (map.contains_key("path") || map.contains_key("host")) {
        reader.error(
            Code::BadListenerRule,
            &at,
            "`path` and `host` rules need the application load balancer; a network load balancer passes connections through".into(),
            "remove the rules, or write `type: application`",
        );
    }
    Some((kind, at))
}

/// `x-ecs.load_balancer: {path, host, priority}`: the listener rule of a service that shares a
/// published port. Each value is checked against ALB's rules, so a deploy cannot fail on it.
fn listener_routing(reader: &mut Reader, value: &Value, path: &KeyPath) -> Option<ListenerRouting> {
    let Some(map) = value.as_mapping() else {
        reader.wrong_type(path, value, "a mapping (`type`, `path`, `host`, `priority`)");
        return None;
    };
    reader.check_keys(map, "services.*.x-ecs.load_balancer", path);
    let mut routing = ListenerRouting {
        paths: Vec::new(),
        hosts: Vec::new(),
        priority: None,
        path: path.clone(),
    };
    let mut valid = true;
    for (key, item) in map {
        let name = key_text(key);
        let item_path = path.key(&name);
        match name.as_str() {
            "path" | "host" => {
                let Some(values) = one_or_more_strings(reader, item, &item_path) else {
                    valid = false;
                    continue;
                };
                if !condition_within_alb_quota(reader, values.len(), &item_path) {
                    valid = false;
                }
                for (index, text) in values.iter().enumerate() {
                    let at = if matches!(item, Value::Sequence(_)) {
                        item_path.index(index)
                    } else {
                        item_path.clone()
                    };
                    let problem = if name == "path" {
                        path_pattern_problem(text)
                    } else {
                        host_pattern_problem(text)
                    };
                    if let Some(problem) = problem {
                        let help = if name == "path" {
                            "a path pattern starts with `/`, has at most 128 of the characters A–Z, a–z, 0–9, `_-.$/~\"'@:+&`, and the wildcards `*` and `?`: `/api/*`"
                        } else {
                            "a host has at most 128 of the characters A–Z, a–z, 0–9, `-` and `.`, at least one `.`, letters only after the last `.`, and the wildcards `*` and `?`: `api.example.com`, `*.example.com`"
                        };
                        reader.error(Code::BadListenerRule, &at, format!("`{text}` {problem}"), help);
                        valid = false;
                    }
                }
                if name == "path" {
                    routing.paths = values;
                } else {
                    // Host conditions match in any case.
                    routing.hosts = values.iter().map(|h| h.to_ascii_lowercase()).collect();
                }
            }
            "priority" => {
                routing.priority = reader
                    .count(item, &item_path)
                    .filter(|p| within_aws_limits(reader, *p, 1, MAXIMUM_RULE_PRIORITY, &item_path, "lowest first"))
                    .map(|p| (p, item_path.clone()))
            }
            _ => {}
        }
    }
    if !valid {
        return None;
    }
    if routing.paths.is_empty() && routing.hosts.is_empty() && routing.priority.is_none() && map.contains_key("type") {
        return None; // Only the type: no rule.
    }
    if routing.paths.is_empty() && routing.hosts.is_empty() {
        reader.error(
            Code::BadListenerRule,
            path,
            format!("`{path}` has neither `path` nor `host`, so no request would match it"),
            "give `path: /api/*` or `host: api.example.com`; a service without `load_balancer` takes the requests no rule matches",
        );
        return None;
    }
    rule_within_alb_quotas(reader, &routing, path).then_some(routing)
}

/// A decision (plan's to take, one day): ALB's quota of 1 to [`VALUES_PER_CONDITION`] values in
/// one condition of a rule (`path` or `host`).
fn condition_within_alb_quota(reader: &mut Reader, values: usize, path: &KeyPath) -> bool {
    let within = (1..=VALUES_PER_CONDITION).contains(&values);
    if !within {
        reader.error(
            Code::BadListenerRule,
            path,
            format!("`{path}` has {values} values; a rule condition takes 1 to {VALUES_PER_CONDITION}"),
            "give one value, or a list of up to three; a request matches when it matches any of them",
        );
    }
    within
}

/// A decision (plan's to take, one day): ALB's quotas on one rule, at most [`VALUES_PER_RULE`]
/// values and [`WILDCARDS_PER_RULE`] wildcards in all its conditions together.
fn rule_within_alb_quotas(reader: &mut Reader, routing: &ListenerRouting, path: &KeyPath) -> bool {
    let values = routing.paths.len() + routing.hosts.len();
    let wildcards = routing
        .paths
        .iter()
        .chain(&routing.hosts)
        .flat_map(|v| v.chars())
        .filter(|c| matches!(c, '*' | '?'))
        .count();
    let within = values <= VALUES_PER_RULE && wildcards <= WILDCARDS_PER_RULE;
    if !within {
        reader.error(
            Code::BadListenerRule,
            path,
            format!("`{path}` has {values} values with {wildcards} wildcards; an ALB rule takes at most {VALUES_PER_RULE} values and {WILDCARDS_PER_RULE} wildcards"),
            "match fewer paths and hosts, or give the service a port of its own",
        );
    }
    within
}

/// A string, or a list of strings.
fn one_or_more_strings(reader: &mut Reader, value: &Value, path: &KeyPath) -> Option<Vec<String>> {
    match value {
        Value::Sequence(_) => reader.string_list(value, path),
        other => reader.string(other, path).map(|text| vec![text]),
    }
}

/// `x-ecs.health_check: {path, codes}`: how the load balancer checks the service.
fn health_check_settings(reader: &mut Reader, value: &Value, path: &KeyPath, settings: &mut ServiceSettings) {
    let settings = &mut settings.health_check;
    let Some(map) = value.as_mapping() else {
        reader.wrong_type(path, value, "a mapping (`path`, `codes`)");
        return;
    };
    reader.check_keys(map, "services.*.x-ecs.health_check", path);
    for (key, item) in map {
        let name = key_text(key);
        let item_path = path.key(&name);
        match name.as_str() {
            "path" => {
                settings.path = reader.string(item, &item_path).filter(|p| {
                    let valid = is_health_check_path(p);
                    if !valid {
                        reader.error(
                            Code::BadSetting,
                            &item_path,
                            format!("`{p}` is not a path the load balancer can check"),
                            "give a URL path that starts with `/`, at most 1024 characters, with no spaces, quotes, `\\`, `{`, `}` or other characters a URL escapes: `/health`",
                        );
                    }
                    valid
                })
            }
            "codes" => {
                let text = match item {
                    Value::Number(n) => Some(n.to_string()),
                    other => reader.string(other, &item_path),
                };
                settings.codes = text.filter(|codes| {
                    let valid = valid_success_codes(codes);
                    if !valid {
                        reader.error(
                            Code::BadSetting,
                            &item_path,
                            format!("`{codes}` is not a list of HTTP success codes"),
                            "give codes from 200 to 499, as `200`, `200,302` or a range `200-299`",
                        );
                    }
                    valid
                })
            }
            _ => {}
        }
    }
}

/// A decision (plan's to take, one day): an `x-ecs` number outside what AWS accepts (the quotas
/// above: mount targets, tasks per service, grace period, rule priority; and the percentages a
/// scaling target can be) is refused here, before a deploy would fail on it.
fn within_aws_limits(reader: &mut Reader, value: u32, low: u32, high: u32, path: &KeyPath, unit: &str) -> bool {
    let inside = (low..=high).contains(&value);
    if !inside {
        reader.error(
            Code::BadSetting,
            path,
            format!("`{path}` is {value}; it must be from {low} to {high} ({unit})"),
            &format!("give a whole number from {low} to {high}"),
        );
    }
    inside
}

/// A decision (plan's to take, one day): CloudWatch Logs keeps logs for one of
/// [`LOG_RETENTION_DAYS`] only.
fn accepted_log_retention(reader: &mut Reader, days: u32, path: &KeyPath) -> bool {
    let accepted = LOG_RETENTION_DAYS.contains(&days);
    if !accepted {
        let listed: Vec<String> = LOG_RETENTION_DAYS.iter().map(u32::to_string).collect();
        reader.error(
            Code::BadSetting,
            path,
            format!("CloudWatch Logs cannot keep logs for {days} days"),
            &format!("use one of {}", listed.join(", ")),
        );
    }
    accepted
}

/// The shape of an EFS file system id in AWS's API: `fs-` and 8 to 40 lowercase hex digits.
pub(super) fn is_file_system_id(id: &str) -> bool {
    id.strip_prefix("fs-").is_some_and(|digits| {
        (8..=40).contains(&digits.len()) && digits.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// A path (and query) the load balancer can request: the characters a URL path has unescaped
/// (RFC 3986), so nothing the templates or CloudFormation would read otherwise (`${`).
fn is_health_check_path(path: &str) -> bool {
    path.starts_with('/')
        && path.len() <= 1024
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/?%".contains(c))
}

/// Whether `arn` is an ACM certificate's ARN: `arn:PARTITION:acm:REGION:ACCOUNT:certificate/ID`.
fn is_certificate_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [arn_prefix, partition, service, region, account, resource] = parts[..] else {
        return false;
    };
    let id = resource.strip_prefix("certificate/").unwrap_or_default();
    arn_prefix == "arn"
        && matches!(partition, "aws" | "aws-cn" | "aws-us-gov")
        && service == "acm"
        && !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && account.len() == 12
        && account.chars().all(|c| c.is_ascii_digit())
        && !id.is_empty()
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// What is wrong with `pattern` as an ALB path-pattern value, if anything.
fn path_pattern_problem(pattern: &str) -> Option<&'static str> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_-.$/~\"'@:+&*?".contains(c);
    if !pattern.starts_with('/') {
        Some("does not start with `/`, so no request path would match it")
    } else if pattern.len() > CONDITION_VALUE_LENGTH {
        Some("is longer than the 128 characters of an ALB path pattern")
    } else if !pattern.chars().all(allowed) {
        Some("has a character an ALB path pattern cannot hold")
    } else {
        None
    }
}

/// What is wrong with `host` as an ALB host-header value, if anything.
fn host_pattern_problem(host: &str) -> Option<&'static str> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '*' | '?');
    let top_level = host.rsplit_once('.').map(|(_, last)| last);
    if host.len() > CONDITION_VALUE_LENGTH {
        Some("is longer than the 128 characters of an ALB host condition")
    } else if !host.chars().all(allowed) {
        Some("has a character an ALB host condition cannot hold")
    } else if !top_level.is_some_and(|last| !last.is_empty() && last.chars().all(|c| c.is_ascii_alphabetic())) {
        Some("is not a host name with a domain (`api.example.com`)")
    } else {
        None
    }
}

/// What an ALB target group accepts as `Matcher.HttpCode`: codes from 200 to 499, separated by
/// commas, each a code or a range `low-high`.
fn valid_success_codes(codes: &str) -> bool {
    let code = |text: &str| text.parse::<u16>().ok().filter(|c| (200..=499).contains(c));
    !codes.is_empty()
        && codes.split(',').all(|part| match part.split_once('-') {
            Some((low, high)) => matches!((code(low), code(high)), (Some(l), Some(h)) if l <= h),
            None => code(part).is_some(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    // The quotas are tested through `x_ecs`, which reads every `x-ecs` key into its settings.

    #[test]
    fn file_system_ids() {
        for good in ["fs-0123abcd", "fs-0123456789abcdef0"] {
            assert!(is_file_system_id(good), "{good}");
        }
        for bad in [
            "",
            "fs-",
            "fs-0123abc",
            "fs-0123ABCD",
            "0123abcd",
            "fs-0123abcg",
            "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-0123abcd",
        ] {
            assert!(!is_file_system_id(bad), "{bad}");
        }
    }

    #[test]
    fn health_check_paths() {
        for good in ["/", "/health", "/api/v1/ready?full=1", "/a-b_c.d~e%20f"] {
            assert!(is_health_check_path(good), "{good}");
        }
        let long = format!("/{}", "a".repeat(1024));
        for bad in [
            "health",
            "/a b",
            "/${AWS::Region}",
            "/a\"b",
            "/a\\b",
            "/ä",
            "/a\u{7f}",
            long.as_str(),
        ] {
            assert!(!is_health_check_path(bad), "{bad}");
        }
    }

    #[test]
    fn success_codes() {
        for good in ["200", "200-299", "200,302", "200-204,301"] {
            assert!(valid_success_codes(good), "{good}");
        }
        for bad in ["", "2xx", "100", "500", "299-200", "200,", "200-", "-200"] {
            assert!(!valid_success_codes(bad), "{bad}");
        }
    }

    #[test]
    fn certificate_arns() {
        for good in [
            "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012",
            "arn:aws-cn:acm:cn-north-1:123456789012:certificate/abc",
        ] {
            assert!(is_certificate_arn(good), "{good}");
        }
        for bad in [
            "",
            "arn:aws:iam::123456789012:server-certificate/site",
            "arn:aws:acm:us-east-1:12345:certificate/abc",
            "arn:aws:acm:us-east-1:123456789012:certificate/",
            "arn:aws:acm:us-east-1:123456789012:key/abc",
            "arn:aws:acm::123456789012:certificate/abc",
            "arn:other:acm:us-east-1:123456789012:certificate/abc",
            "arn:aws:acm:us-east-1:123456789012:certificate/a b",
        ] {
            assert!(!is_certificate_arn(bad), "{bad}");
        }
    }

    #[test]
    fn path_patterns() {
        for good in ["/", "/api/*", "/img/?.png", "/a-b_c.d$~'@:+&\"/x"] {
            assert_eq!(path_pattern_problem(good), None, "{good}");
        }
        let long = format!("/{}", "a".repeat(128));
        for bad in ["api/*", "*", "/a b", "/ä", "/a#b", long.as_str()] {
            assert!(path_pattern_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn host_patterns() {
        for good in ["api.example.com", "*.example.com", "API.Example.COM", "a-1.b?.io"] {
            assert_eq!(host_pattern_problem(good), None, "{good}");
        }
        let long = format!("{}.com", "a".repeat(125));
        for bad in [
            "localhost",
            "example.",
            "example.c0m",
            "a_b.example.com",
            "api.example.*",
            long.as_str(),
        ] {
            assert!(host_pattern_problem(bad).is_some(), "{bad}");
        }
    }
}
