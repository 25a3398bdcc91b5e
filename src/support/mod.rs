//! The support table: every compose key compose2ecs knows, with what becomes of it on ECS.
//!
//! Normalise checks each key of the document against this table, nested keys included, so a key
//! is converted, of no effect on ECS (a note says why), ignored with a warning that says why, or
//! refused with an error; never silently dropped. A key with no row is unknown, and
//! [`unknown_key`] says so. The README's conversion table is generated from the table
//! (`UPDATE_README=1 cargo test --test readme`), and that test keeps them equal.
//!
//! The rows are in `table`; what a row is, and the questions asked of the table, are here.

pub mod extensions;
pub mod schema;
mod table;

pub use table::TABLE;

use crate::diagnostic::{did_you_mean, Code, Diagnostic, KeyPath};
use serde::Serialize;

/// What compose2ecs does with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", content = "note", rename_all = "lowercase")]
pub enum Verdict {
    /// Converted; the text says to what.
    Converted(&'static str),
    /// Not converted: a warning with this reason, and the output is still written.
    Ignored(&'static str),
    /// Not converted, and nothing is lost: the key has no effect on ECS (a note says why).
    #[serde(rename = "no-effect")]
    NoEffect(&'static str),
    /// The input is refused with this reason: nothing is written.
    Refused(&'static str),
}

/// One key path pattern (`services.*.ports`) and its verdict.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Row {
    pub key: &'static str,
    pub verdict: Verdict,
    /// Compose's default value of the key: written with it, the key asks for nothing, so it is
    /// accepted in silence whatever its verdict.
    pub default: Option<&'static str>,
}

impl Row {
    /// The row, silent when the key holds compose's default `value`.
    const fn unless_default(self, value: &'static str) -> Row {
        Row {
            default: Some(value),
            ..self
        }
    }
}

/// Whether `value` (a scalar as text) is compose's default for the key pattern: such a key is
/// accepted in silence (`deploy.mode: replicated`, `driver: local`, `external: false`).
pub fn is_default(pattern: &str, value: &str) -> bool {
    TABLE
        .iter()
        .any(|row| row.key == pattern && row.default.is_some_and(|default| default == value))
}

/// The verdict for a key path pattern such as `services.*.ports`.
pub fn verdict(pattern: &str) -> Option<Verdict> {
    TABLE.iter().find(|row| row.key == pattern).map(|row| row.verdict)
}

/// The known keys directly under a pattern (`services.*` → `image`, `ports`, …), for "did you mean".
pub fn children(parent: &str) -> impl Iterator<Item = &'static str> + '_ {
    TABLE.iter().filter_map(move |row| {
        let rest = if parent.is_empty() {
            Some(row.key)
        } else {
            row.key.strip_prefix(parent).and_then(|r| r.strip_prefix('.'))
        }?;
        (!rest.contains('.')).then_some(rest)
    })
}

/// The error for a key `name` that has no row under `pattern`, in the mapping at `parent`: the
/// known key it is closest to, else the keys there when they are few enough to read.
pub fn unknown_key(name: &str, pattern: &str, parent: &KeyPath) -> Diagnostic {
    const LISTED: usize = 16;
    let known: Vec<&str> = children(pattern).collect();
    let help = match did_you_mean(name, known.iter().copied()) {
        Some(close) => format!("did you mean `{close}`?"),
        None if known.len() <= LISTED => format!("the keys here are {}", known.join(", ")),
        None => "see the conversion table in the README for the keys compose2ecs knows".to_string(),
    };
    let place = if parent.is_root() {
        "at the top level".to_string()
    } else {
        format!("in `{parent}`")
    };
    Diagnostic::error(
        Code::UnknownKey,
        parent.key(name),
        format!("unknown key `{name}` {place}"),
    )
    .with_help(help)
}

/// The README's conversion table, in Markdown.
pub fn markdown_table() -> String {
    let mut out = String::from("| compose key | verdict | what becomes of it |\n| --- | --- | --- |\n");
    for row in TABLE {
        let (verdict, note) = match row.verdict {
            Verdict::Converted(note) => ("converted", note),
            Verdict::Ignored(note) => ("ignored (warning)", note),
            Verdict::NoEffect(note) => ("no effect (note)", note),
            Verdict::Refused(note) => ("refused (error)", note),
        };
        match row.default {
            Some(default) => out.push_str(&format!(
                "| `{}` | {verdict} | {note}; with compose's default (`{default}`) it is silent |\n",
                row.key
            )),
            None => out.push_str(&format!("| `{}` | {verdict} | {note} |\n", row.key)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_parents_exist() {
        let mut seen = std::collections::BTreeSet::new();
        for row in TABLE {
            assert!(seen.insert(row.key), "{} twice", row.key);
            if let Some((parent, _)) = row.key.rsplit_once('.') {
                let parent = parent
                    .strip_suffix(".*")
                    .or_else(|| parent.strip_suffix("[]"))
                    .unwrap_or(parent);
                assert!(
                    verdict(parent).is_some() || parent == "services",
                    "{} has no parent row",
                    row.key
                );
            }
        }
    }

    /// The service keys of the Compose Specification's JSON schema (as vendored by
    /// check-jsonschema 0.39): each must have a verdict.
    #[test]
    fn covers_every_service_key_of_the_compose_spec() {
        const SPEC: &str = "annotations attach blkio_config build cap_add cap_drop cgroup cgroup_parent command configs \
            container_name cpu_count cpu_percent cpu_period cpu_quota cpu_rt_period cpu_rt_runtime cpu_shares cpus cpuset \
            credential_spec depends_on deploy develop device_cgroup_rules devices dns dns_opt dns_search domainname \
            entrypoint env_file environment expose extends external_links extra_hosts gpus group_add healthcheck hostname \
            image init ipc isolation label_file labels links logging mac_address mem_limit mem_reservation mem_swappiness \
            memswap_limit models network_mode networks oom_kill_disable oom_score_adj pid pids_limit platform ports \
            post_start pre_start pre_stop privileged profiles provider pull_policy pull_refresh_after read_only restart \
            runtime scale secrets security_opt shm_size stdin_open stop_grace_period stop_signal storage_opt sysctls tmpfs \
            tty ulimits umask use_api_socket user userns_mode uts volumes volumes_from working_dir";
        let missing: Vec<&str> = SPEC
            .split_whitespace()
            .filter(|key| verdict(&format!("services.*.{key}")).is_none())
            .collect();
        assert!(missing.is_empty(), "no verdict for {missing:?}");
        for key in "configs include jobs models name networks secrets services version volumes".split(' ') {
            assert!(verdict(key).is_some(), "no verdict for top-level {key}");
        }
    }

    #[test]
    fn unknown_keys_get_the_closest_known_key_or_the_list() {
        let port = KeyPath::root().key("services").key("web").key("ports").index(0);
        let typo = unknown_key("publised", "services.*.ports[]", &port);
        assert_eq!(typo.message, "unknown key `publised` in `services.web.ports[0]`");
        assert_eq!(typo.help.as_deref(), Some("did you mean `published`?"));
        let far = unknown_key("zzz", "services.*.depends_on.*", &KeyPath::root());
        assert_eq!(
            far.help.as_deref(),
            Some("the keys here are condition, required, restart")
        );
        let many = unknown_key("zzz", "services.*", &KeyPath::root());
        assert!(many.help.unwrap().contains("conversion table"));
    }

    /// A pattern misspelt in a `check_keys` call would make every key under it unknown.
    #[test]
    fn every_checked_pattern_has_rows_under_it() {
        let sources = [
            include_str!("../normalise/mod.rs"),
            include_str!("../normalise/depends_on.rs"),
            include_str!("../normalise/deploy.rs"),
            include_str!("../normalise/environment.rs"),
            include_str!("../normalise/healthcheck.rs"),
            include_str!("../normalise/infrastructure.rs"),
            include_str!("../normalise/mounts.rs"),
            include_str!("../normalise/networks.rs"),
            include_str!("../normalise/ports.rs"),
            include_str!("../normalise/reader.rs"),
            include_str!("../normalise/runtime.rs"),
            include_str!("../normalise/secrets.rs"),
            include_str!("../normalise/service.rs"),
            include_str!("../normalise/volumes.rs"),
            include_str!("../normalise/x_ecs.rs"),
        ];
        let mut checked = 0;
        for source in sources {
            for (at, _) in source.match_indices(".check_keys(") {
                let call = &source[at..source[at..].find(';').map_or(source.len(), |end| at + end)];
                let Some(pattern) = call.split('"').nth(1) else {
                    continue;
                };
                checked += 1;
                // The two patterns built with `format!`, each as it is built.
                let patterns: Vec<String> = match pattern {
                    "services.*.deploy.resources.{kind}" => ["limits", "reservations"]
                        .map(|kind| format!("services.*.deploy.resources.{kind}"))
                        .into(),
                    _ => vec![pattern.to_string()],
                };
                for pattern in patterns {
                    assert!(children(&pattern).next().is_some(), "no rows under `{pattern}`");
                }
            }
        }
        assert!(checked >= 20, "the scan finds the calls: {checked}");
        for kind in ["volume", "bind", "tmpfs"] {
            assert!(children(&format!("services.*.volumes[].{kind}")).next().is_some());
        }
    }

    #[test]
    fn children_of_a_pattern() {
        let under_limits: Vec<_> = children("services.*.deploy.resources.limits").collect();
        assert_eq!(under_limits, vec!["cpus", "memory", "pids"]);
        assert!(children("").any(|k| k == "services"));
    }
}
