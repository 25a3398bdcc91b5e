//! What a service mounts: `volumes` (named volumes, anonymous ones, bind mounts and tmpfs, short
//! or long form), `tmpfs`, and `volumes_from`.

use super::reader::{one_or_many, Reader};
use super::units::parse_bytes;
use super::{Mount, MountSource, VolumesFrom};
use crate::diagnostic::{Code, Diagnostic, KeyPath};
use crate::load::interpolate::key_text;
use serde_yaml::Value;
use std::collections::HashSet;

/// A service's `volumes`; each named volume must be one of `volumes`, the declared ones.
pub(super) fn mounts(reader: &mut Reader, value: &Value, path: &KeyPath, volumes: &HashSet<String>) -> Vec<Mount> {
    let Some(items) = value.as_sequence() else {
        reader.wrong_type(
            path,
            value,
            "a list of volumes (`NAME:/path` or `{type: volume, source: NAME, target: /path}`)",
        );
        return Vec::new();
    };
    let mut mounts = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let item_path = path.index(index);
        let mount = match item {
            Value::String(short) => short_mount(short, &item_path),
            Value::Mapping(long) => {
                reader.check_keys(long, "services.*.volumes[]", &item_path);
                let kind = long.get("type").map(key_text).unwrap_or_else(|| "volume".into());
                let source = long.get("source").map(key_text);
                let Some(target) = long.get("target").map(key_text) else {
                    reader.error(
                        Code::BadVolume,
                        &item_path,
                        "a long-form volume needs `target`".into(),
                        "`target` is the path inside the container",
                    );
                    continue;
                };
                let read_only = long.get("read_only").and_then(Value::as_bool).unwrap_or(false);
                let mut accepted = true;
                for key in ["volume", "bind", "tmpfs"] {
                    if let Some(options) = long.get(key).and_then(Value::as_mapping) {
                        let pattern = format!("services.*.volumes[].{key}");
                        accepted &= reader.check_keys(options, &pattern, &item_path.key(key));
                    }
                }
                // A refused option (`volume.subpath`) leaves the mount out: the error says why.
                if !accepted {
                    continue;
                }
                let source = match (kind.as_str(), source) {
                    ("volume", Some(name)) => MountSource::Named(name),
                    ("volume", None) => MountSource::Anonymous,
                    ("bind", Some(dir)) => MountSource::Bind(dir),
                    ("tmpfs", _) => {
                        let options = long.get("tmpfs").and_then(Value::as_mapping);
                        let tmpfs_path = item_path.key("tmpfs");
                        let size = options
                            .and_then(|o| o.get("size"))
                            .and_then(|v| tmpfs_size(reader, &key_text(v), &tmpfs_path.key("size")));
                        // Compose writes the mode in octal digits or as a number.
                        // `mode: 1777` means octal digits, as `chmod` reads them.
                        let mode = options.and_then(|o| o.get("mode")).map(|v| {
                            let text = key_text(v);
                            match v.as_u64() {
                                Some(n) if !text.bytes().all(|b| (b'0'..=b'7').contains(&b)) => format!("{n:o}"),
                                _ => text,
                            }
                        });
                        MountSource::Tmpfs {
                            size,
                            options: mode.map(|m| format!("mode={m}")).into_iter().collect(),
                        }
                    }
                    (other, _) => {
                        reader.diagnostics.push(
                            Diagnostic::warning(
                                Code::IgnoredKey,
                                item_path.clone(),
                                format!("a `{other}` mount is not converted yet; it is left out"),
                            )
                            .with_help("named volumes (`type: volume`) become EFS"),
                        );
                        continue;
                    }
                };
                Mount {
                    source,
                    target,
                    read_only,
                    path: item_path.clone(),
                }
            }
            other => {
                reader.wrong_type(&item_path, other, "a volume string or mapping");
                continue;
            }
        };
        if mountable(reader, &mount, &item_path, volumes) {
            mounts.push(mount);
        }
    }
    mounts
}

/// Whether Docker can mount `mount`: at an absolute path, and from a declared named volume.
fn mountable(reader: &mut Reader, mount: &Mount, item_path: &KeyPath, volumes: &HashSet<String>) -> bool {
    if !mount.target.starts_with('/') {
        let help = match &mount.source {
            MountSource::Anonymous if volumes.contains(&mount.target) => format!(
                "to mount the named volume `{0}`, give the path too: `{0}:/path/in/container`",
                mount.target
            ),
            _ => "give the absolute path inside the container, starting with `/`".to_string(),
        };
        reader.error(
            Code::BadVolume,
            item_path,
            format!(
                "`{}` is not an absolute path in the container: Docker refuses to mount a volume there",
                crate::quote::shown(&mount.target)
            ),
            &help,
        );
        return false;
    }
    if let MountSource::Named(name) = &mount.source {
        if !volumes.contains(name) {
            reader.error(
                Code::UndefinedVolume,
                item_path,
                format!("volume `{name}` is not declared in the top-level `volumes`"),
                &format!("add `volumes: {{{name}: {{}}}}` at the top level of the file"),
            );
            return false;
        }
    }
    true
}

/// A short-syntax volume: `NAME:/path[:ro]`, `./dir:/path`, or an anonymous `/path`.
fn short_mount(short: &str, path: &KeyPath) -> Mount {
    let parts: Vec<&str> = short.splitn(3, ':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [target] => (None, *target, ""),
        [source, target] => (Some(*source), *target, ""),
        [source, target, mode] => (Some(*source), *target, *mode),
        _ => (None, short, ""),
    };
    let source = match source {
        None => MountSource::Anonymous,
        Some(s) if s.starts_with(['.', '/', '~']) || s.contains('/') => MountSource::Bind(s.to_string()),
        Some(name) => MountSource::Named(name.to_string()),
    };
    Mount {
        source,
        target: target.to_string(),
        read_only: mode.split(',').any(|m| m == "ro"),
        path: path.clone(),
    }
}

/// `tmpfs: /run` or a list of paths, each maybe with options (`/run:size=64m`).
pub(super) fn tmpfs(reader: &mut Reader, value: &Value, path: &KeyPath) -> Vec<Mount> {
    let items = one_or_many(value, path);
    items
        .into_iter()
        .filter_map(|(item, item_path)| {
            let text = reader.string(&item, &item_path)?;
            let (target, options) = text.split_once(':').unwrap_or((&text, ""));
            let mut size = None;
            let mut mount_options = Vec::new();
            for option in options.split(',').map(str::trim).filter(|o| !o.is_empty()) {
                match option.split_once('=') {
                    Some(("size", bytes)) => size = tmpfs_size(reader, bytes, &item_path),
                    _ => mount_options.push(option.to_string()),
                }
            }
            Some(Mount {
                source: MountSource::Tmpfs {
                    size,
                    options: mount_options,
                },
                target: target.to_string(),
                read_only: false,
                path: item_path,
            })
        })
        .collect()
}

/// A tmpfs `size`: bytes (`64m`, `1g`, a number).
fn tmpfs_size(reader: &mut Reader, text: &str, path: &KeyPath) -> Option<u64> {
    let size = parse_bytes(text).filter(|b| *b > 0);
    if size.is_none() {
        reader.error(
            Code::BadMemory,
            path,
            format!("`{}` is not a tmpfs size", crate::quote::shown(text)),
            "write a size such as `64m` or `1g`",
        );
    }
    size
}

/// `volumes_from: [web, "service:db:ro", "container:cache"]`.
pub(super) fn volumes_from(reader: &mut Reader, value: &Value, path: &KeyPath) -> Vec<VolumesFrom> {
    let Some(items) = reader.string_list(value, path) else {
        return Vec::new();
    };
    let mut entries = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let item_path = path.index(index);
        let (by_container_name, rest) = match item.split_once(':') {
            Some(("container", rest)) => (true, rest),
            Some(("service", rest)) => (false, rest),
            _ => (false, item.as_str()),
        };
        let (name, mode) = rest.split_once(':').unwrap_or((rest, "rw"));
        if !matches!(mode, "ro" | "rw") || name.is_empty() {
            reader.error(
                Code::BadVolumesFrom,
                &item_path,
                format!(
                    "`{}` is not `[service:|container:]NAME[:ro|:rw]`",
                    crate::quote::shown(&item)
                ),
                "for example `volumes_from: [\"service:db:ro\"]`",
            );
            continue;
        }
        entries.push(VolumesFrom {
            name: name.to_string(),
            by_container_name,
            read_only: mode == "ro",
            path: item_path,
        });
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::testing::{codes, paths, read};

    fn read_mounts(yaml: &str) -> (Vec<Mount>, Vec<Code>, Vec<String>) {
        let declared: HashSet<String> = ["data".to_string()].into();
        let (found, diagnostics) = read(yaml, |reader, value, path| {
            mounts(reader, value, &path.key("volumes"), &declared)
        });
        (found, codes(&diagnostics), paths(&diagnostics))
    }

    fn named(name: &str) -> MountSource {
        MountSource::Named(name.to_string())
    }

    #[test]
    fn short_volumes() {
        let (found, codes, _) =
            read_mounts(r#"["data:/var/lib/data:ro", "./src:/app", "/cache", "~/x:/x:rw,z", "conf/app:/etc/app"]"#);
        assert!(codes.is_empty(), "{codes:?}");
        let sources: Vec<_> = found
            .iter()
            .map(|m| (&m.source, m.target.as_str(), m.read_only))
            .collect();
        assert_eq!(
            sources,
            [
                (&named("data"), "/var/lib/data", true),
                (&MountSource::Bind("./src".into()), "/app", false),
                (&MountSource::Anonymous, "/cache", false),
                (&MountSource::Bind("~/x".into()), "/x", false),
                (&MountSource::Bind("conf/app".into()), "/etc/app", false),
            ]
        );
    }

    #[test]
    fn long_volumes() {
        let yaml = r#"[{source: data, target: /d, read_only: true}, {type: bind, source: ., target: /app},
            {type: volume, target: /anon}, {type: tmpfs, target: /run, tmpfs: {size: 64m, mode: 1777}},
            {type: tmpfs, target: /t, tmpfs: {mode: 4095}}]"#;
        let (found, codes, _) = read_mounts(yaml);
        assert!(codes.is_empty(), "{codes:?}");
        assert_eq!((&found[0].source, found[0].read_only), (&named("data"), true));
        assert_eq!(found[1].source, MountSource::Bind(".".into()));
        assert_eq!(found[2].source, MountSource::Anonymous);
        let tmpfs = |size: Option<u64>, mode: &str| MountSource::Tmpfs {
            size,
            options: vec![format!("mode={mode}")],
        };
        assert_eq!(found[3].source, tmpfs(Some(64 * 1024 * 1024), "1777"));
        // A number that is not octal digits is the mode itself, shown in octal.
        assert_eq!(found[4].source, tmpfs(None, "7777"));
    }

    #[test]
    fn a_mount_that_cannot_be_made_is_left_out() {
        let yaml = r#"["db:/db", {source: data}, {source: data, target: /d, volume: {subpath: x}},
            {type: npipe, source: x, target: /p}, 7, {type: tmpfs, target: /t, tmpfs: {size: lots}}]"#;
        let (found, codes, paths) = read_mounts(yaml);
        assert_eq!(
            codes,
            [
                Code::UndefinedVolume,
                Code::BadVolume,
                Code::UnsupportedKey,
                Code::IgnoredKey,
                Code::WrongType,
                Code::BadMemory
            ]
        );
        assert_eq!(paths[0], "services.web.volumes[0]");
        assert_eq!(paths[2], "services.web.volumes[2].volume.subpath");
        // The tmpfs keeps its place without the size that could not be read.
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].source,
            MountSource::Tmpfs {
                size: None,
                options: vec![]
            }
        );
        assert_eq!(read_mounts("data:/d").1, [Code::WrongType]);
    }

    /// One word is an anonymous volume at that path (not the named volume of that name), and a
    /// relative path in the container is one Docker refuses to mount.
    #[test]
    fn a_relative_path_in_the_container_is_refused() {
        for yaml in [
            "[db-data]",
            "[\"db:data\"]",
            "[{type: volume, source: db, target: data}]",
            "[\"./app:app\"]",
        ] {
            let (found, codes, paths) = read_mounts(yaml);
            assert!(found.is_empty(), "{yaml}");
            assert_eq!(
                (codes, paths),
                (vec![Code::BadVolume], vec!["services.web.volumes[0]".to_string()]),
                "{yaml}"
            );
        }
    }

    #[test]
    fn tmpfs_paths_and_their_options() {
        let (found, diagnostics) = read(
            r#"["/run:size=64m,noexec", "/tmp", "/x:size=0"]"#,
            |reader, value, path| tmpfs(reader, value, &path.key("tmpfs")),
        );
        let found: Vec<_> = found.iter().map(|m| (m.target.as_str(), &m.source)).collect();
        assert_eq!(
            found,
            [
                (
                    "/run",
                    &MountSource::Tmpfs {
                        size: Some(64 * 1024 * 1024),
                        options: vec!["noexec".into()]
                    }
                ),
                (
                    "/tmp",
                    &MountSource::Tmpfs {
                        size: None,
                        options: vec![]
                    }
                ),
                (
                    "/x",
                    &MountSource::Tmpfs {
                        size: None,
                        options: vec![]
                    }
                ),
            ]
        );
        assert_eq!(codes(&diagnostics), [Code::BadMemory]);
        let (one, _) = read("/run", tmpfs);
        assert_eq!(one.len(), 1);
    }

    #[test]
    fn volumes_from_services_and_containers() {
        let (found, diagnostics) = read(
            r#"[web, "service:db:ro", "container:cache", "db:rw", "service:db:rx", ":ro"]"#,
            |reader, value, path| volumes_from(reader, value, &path.key("volumes_from")),
        );
        let found: Vec<_> = found
            .iter()
            .map(|v| (v.name.as_str(), v.by_container_name, v.read_only))
            .collect();
        assert_eq!(
            found,
            [
                ("web", false, false),
                ("db", false, true),
                ("cache", true, false),
                ("db", false, false)
            ]
        );
        assert_eq!(codes(&diagnostics), [Code::BadVolumesFrom, Code::BadVolumesFrom]);
        assert_eq!(
            paths(&diagnostics),
            ["services.web.volumes_from[4]", "services.web.volumes_from[5]"]
        );
    }
}
