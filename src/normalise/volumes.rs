//! The top-level named volumes: their names (each a folder on EFS), the owner of that folder
//! (`x-ecs: {uid, gid}`, or `uid=`/`gid=` in a local driver's options), and the driver options
//! that have no meaning on EFS.

use super::infrastructure;
use super::reader::Reader;
use super::{DriverOwner, NamedVolume, VolumeSettings};
use crate::diagnostic::{Code, Diagnostic, KeyPath};
use crate::load::interpolate::key_text;
use serde_yaml::{Mapping, Value};

/// Top-level `volumes`: each named volume, with the owner of its folder on EFS.
pub(super) fn named_volumes(reader: &mut Reader, value: Option<&Value>, path: &KeyPath) -> Vec<NamedVolume> {
    let mut volumes = Vec::new();
    match value {
        None | Some(Value::Null) => {}
        Some(Value::Mapping(map)) => {
            for (key, settings) in map {
                let name = key_text(key);
                let volume_path = path.key(&name);
                if !valid_volume_name(&name) {
                    reader.error(
                        Code::BadVolumeName,
                        &volume_path,
                        format!(
                            "`{}` cannot name a volume: it is a folder on EFS",
                            crate::quote::shown(&name)
                        ),
                        "volume names use letters, digits, `.`, `_` and `-`, and do not start with `.`",
                    );
                    // Still declared, so its uses are not reported too; the error stops the
                    // conversion before any folder is planned.
                }
                let mut ecs = VolumeSettings::default();
                let mut driver_owner = DriverOwner::default();
                let mut bind_device = None;
                let mut existing_file_system = None;
                match settings {
                    Value::Null => {}
                    Value::Mapping(settings) => {
                        reader.check_keys(settings, "volumes.*", &volume_path);
                        if let Some(value) = settings.get("x-ecs") {
                            ecs = volume_settings(reader, value, &volume_path.key("x-ecs"));
                        }
                        bind_device = settings.get("driver_opts").and_then(bound_folder);
                        existing_file_system = external_file_system(reader, settings, &volume_path);
                        // A bound folder's options say where it is, which each use's bind-mount
                        // warning shows; none of them configures EFS.
                        if let (Some(options), None) = (settings.get("driver_opts"), &bind_device) {
                            driver_owner =
                                owner_from_driver_options(reader, settings.get("driver"), options, &volume_path);
                        }
                    }
                    other => reader.wrong_type(&volume_path, other, "a mapping of volume settings, or nothing"),
                }
                volumes.push(NamedVolume {
                    name,
                    path: volume_path,
                    ecs,
                    driver_owner,
                    existing_file_system,
                    bind_device,
                });
            }
        }
        Some(other) => reader.wrong_type(path, other, "a mapping of volume names"),
    }
    volumes
}

/// `external: true`: the volume exists. On ECS a volume that exists is an EFS file system, named by
/// its id (`name: fs-…`, or its ARN); with any other name there is nothing to find it by, so a
/// new EFS folder is made, and a warning says so.
fn external_file_system(reader: &mut Reader, settings: &Mapping, path: &KeyPath) -> Option<String> {
    // `external: {name: N}` is the older form of `external: true` with `name: N`.
    let name = match settings.get("external")? {
        Value::Mapping(legacy) => legacy.get("name"),
        flag if reader.boolean(flag, &path.key("external")) == Some(true) => settings.get("name"),
        _ => return None,
    };
    let name = name.map(key_text).unwrap_or_default();
    let id = name.rsplit_once(":file-system/").map_or(name.as_str(), |(_, id)| id);
    if infrastructure::is_file_system_id(id) {
        return Some(id.to_string());
    }
    reader.diagnostics.push(
        Diagnostic::warning(
            Code::IgnoredKey,
            path.key("external"),
            format!("`{path}` is an existing volume, which ECS cannot find by its name: a new, empty EFS folder is made for it"),
        )
        .with_help("to use an existing EFS file system, give its id as the volume's name (`name: fs-0123abcd`), or as `x-ecs.file_system` at the top level for every volume"),
    );
    None
}

/// The folder of a local-driver volume that binds one (`o: bind` or `rbind`, and `device`), as
/// compose users write a bind mount with a name.
fn bound_folder(options: &Value) -> Option<String> {
    let options = options.as_mapping()?;
    let binds = options
        .get("o")
        .map(key_text)
        .is_some_and(|o| o.split(',').any(|option| matches!(option.trim(), "bind" | "rbind")));
    let device = options.get("device").map(key_text).filter(|d| !d.is_empty())?;
    binds.then_some(device)
}

/// A named volume's name is a folder on EFS (`/VOLUME`, `/PROJECT/VOLUME`): compose's characters,
/// and not starting with `.`, which EFS refuses in an access point's path (`..` would climb out).
fn valid_volume_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c != '.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// `volumes.<name>.x-ecs`: who owns the volume's folder on EFS.
fn volume_settings(reader: &mut Reader, value: &Value, path: &KeyPath) -> VolumeSettings {
    let mut settings = VolumeSettings::default();
    let Some(map) = value.as_mapping() else {
        reader.wrong_type(path, value, "a mapping (`uid`, `gid`, `root_access`)");
        return settings;
    };
    reader.check_keys(map, "volumes.*.x-ecs", path);
    for (key, item) in map {
        let name = key_text(key);
        let item_path = path.key(&name);
        match name.as_str() {
            "uid" => settings.uid = reader.count(item, &item_path),
            "gid" => settings.gid = reader.count(item, &item_path),
            "root_access" => settings.root_access = reader.boolean(item, &item_path).unwrap_or(false),
            _ => {}
        }
    }
    settings
}

/// `volumes.<name>.driver_opts`: the owner a local-driver volume had under compose, from `uid=`
/// and `gid=` in `o` (`o: "uid=1000,gid=1000"`, also beside `type: tmpfs`). Every other option
/// configures a local mount (`type: nfs`, `device: /srv/data`, `o: bind`) that the EFS access
/// point replaces: a warning names it. Option values are never shown: `o` may hold a password
/// (`type: cifs`, `o: "username=u,password=p"`).
fn owner_from_driver_options(
    reader: &mut Reader,
    driver: Option<&Value>,
    options: &Value,
    volume: &KeyPath,
) -> DriverOwner {
    let mut owner = DriverOwner::default();
    let path = volume.key("driver_opts");
    let Some(map) = options.as_mapping() else {
        reader.wrong_type(&path, options, "a mapping of driver options");
        return owner;
    };
    let driver = driver.map(key_text).unwrap_or_else(|| "local".to_string());
    if driver != "local" {
        ignored_driver_option(
            reader,
            &path,
            format!("`{path}` configures the `{driver}` driver, which ECS does not run: no option is read"),
        );
        return owner;
    }
    for (key, item) in map {
        let name = key_text(key);
        let item_path = path.key(&name);
        if name != "o" {
            ignored_driver_option(
                reader,
                &item_path,
                format!("`{item_path}` configures the local driver's mount, which the EFS access point replaces"),
            );
            continue;
        }
        let mut unread: Vec<&str> = Vec::new();
        let text = key_text(item);
        for option in text.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            let (option_name, value) = option.split_once('=').unwrap_or((option, ""));
            let field = match option_name {
                "uid" => &mut owner.uid,
                "gid" => &mut owner.gid,
                _ => {
                    if !unread.contains(&option_name) {
                        unread.push(option_name);
                    }
                    continue;
                }
            };
            match value.parse::<u32>() {
                Ok(id) => *field = Some(id),
                Err(_) => reader.error(
                    Code::BadDriverOpts,
                    &item_path,
                    format!("`{option_name}={value}` in `{item_path}` is not a numeric {option_name}"),
                    &format!("give a number, as `{option_name}=1000`, or the owner as the volume's `x-ecs: {{uid: 1000, gid: 1000}}`"),
                ),
            }
        }
        if !unread.is_empty() {
            let names: Vec<String> = unread.iter().map(|o| format!("`{o}`")).collect();
            let verb = if names.len() == 1 { "is" } else { "are" };
            ignored_driver_option(reader,
                &item_path,
                format!(
                    "`{item_path}` is read for `uid` and `gid` only; {} {verb} not converted: the volume is an EFS access point",
                    names.join(", ")
                ),
            );
        }
    }
    owner
}

fn ignored_driver_option(reader: &mut Reader, path: &KeyPath, message: String) {
    reader.diagnostics.push(Diagnostic::warning(Code::IgnoredDriverOpt, path.clone(), message).with_help(
        "on ECS a named volume is an EFS access point on the project's file system: it starts empty, persists and is shared by the tasks; remove the option from the ECS variant of the file (an override file), or accept that ECS will not see it",
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::testing::{codes, paths, read};

    fn volumes(yaml: &str) -> (Vec<NamedVolume>, Vec<Code>, Vec<String>) {
        let (volumes, diagnostics) = read(yaml, |reader, value, _| {
            named_volumes(reader, Some(value), &KeyPath::root().key("volumes"))
        });
        (volumes, codes(&diagnostics), paths(&diagnostics))
    }

    #[test]
    fn a_volume_that_binds_a_folder_is_known_by_its_folder() {
        let (found, codes, _) = volumes(
            "{code: {driver_opts: {type: none, o: bind, device: ./app}}, data: {driver_opts: {o: 'uid=1,rbind', device: /srv}}, \
             nfs: {driver_opts: {type: nfs, o: 'addr=10.0.0.1', device: ':/data'}}}",
        );
        let devices: Vec<_> = found.iter().map(|v| v.bind_device.as_deref()).collect();
        assert_eq!(devices, [Some("./app"), Some("/srv"), None]);
        // Only the NFS volume's options are warned about: the bound folders' are where they are.
        assert_eq!(
            codes,
            [Code::IgnoredDriverOpt, Code::IgnoredDriverOpt, Code::IgnoredDriverOpt]
        );
    }

    #[test]
    fn an_external_volume_is_an_existing_file_system_named_by_its_id() {
        let (found, codes, paths) = volumes(
            "{a: {external: true, name: fs-0123abcd}, \
             b: {external: true, name: 'arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-0123abcd'}, \
             c: {external: true, name: shop_data}, d: {external: false, name: fs-0123abcd}, e: {name: fs-0123abcd}, \
             f: {external: {name: fs-0123abcd}}}",
        );
        let ids: Vec<_> = found.iter().map(|v| v.existing_file_system.as_deref()).collect();
        assert_eq!(
            ids,
            [
                Some("fs-0123abcd"),
                Some("fs-0123abcd"),
                None,
                None,
                None,
                Some("fs-0123abcd")
            ]
        );
        // A name ECS cannot find is a new EFS folder, said once.
        assert_eq!(
            (codes, paths),
            (vec![Code::IgnoredKey], vec!["volumes.c.external".to_string()])
        );
    }

    #[test]
    fn volume_names() {
        for good in ["data", "db_data", "db-data.v2", "1"] {
            assert!(valid_volume_name(good), "{good}");
        }
        for bad in ["", ".", "..", ".hidden", "a/b", "a b", "data\u{2028}"] {
            assert!(!valid_volume_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_refused_name_is_still_declared() {
        let (found, codes, paths) = volumes("{data: null, .hidden: {}}");
        let names: Vec<_> = found.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["data", ".hidden"]);
        assert_eq!(
            (codes, paths),
            (vec![Code::BadVolumeName], vec!["volumes..hidden".to_string()])
        );
        assert_eq!(volumes("[data]").1, [Code::WrongType]);
        assert_eq!(volumes("{data: 1}").1, [Code::WrongType]);
    }

    #[test]
    fn the_owner_of_the_folder_on_efs() {
        let (found, codes, _) = volumes("{db: {x-ecs: {uid: 999, gid: '999', root_access: yes}}}");
        assert!(codes.is_empty(), "{codes:?}");
        let ecs = &found[0].ecs;
        assert_eq!((ecs.uid, ecs.gid, ecs.root_access), (Some(999), Some(999), true));
        let (_, codes, paths) = volumes("{db: {x-ecs: {uid: me, owner: 1}}}");
        assert_eq!(codes, [Code::UnknownKey, Code::WrongType]);
        assert_eq!(paths, ["volumes.db.x-ecs.owner", "volumes.db.x-ecs.uid"]);
    }

    #[test]
    fn a_local_driver_gives_its_owner_and_warns_of_the_rest() {
        let yaml = "{cache: {driver_opts: {type: tmpfs, device: tmpfs, o: 'uid=1000,gid=50,size=1m,mode=0700'}}}";
        let (found, codes, paths) = volumes(yaml);
        let owner = &found[0].driver_owner;
        assert_eq!((owner.uid, owner.gid), (Some(1000), Some(50)));
        assert_eq!(codes, [Code::IgnoredDriverOpt; 3]);
        assert_eq!(
            paths,
            [
                "volumes.cache.driver_opts.type",
                "volumes.cache.driver_opts.device",
                "volumes.cache.driver_opts.o"
            ]
        );
        // The options' values may hold a password: no message quotes them.
        let (_, diagnostics) = read(
            "{s: {driver_opts: {type: cifs, o: 'username=u,password=hunter22'}}}",
            |reader, value, _| named_volumes(reader, Some(value), &KeyPath::root().key("volumes")),
        );
        assert!(diagnostics.iter().all(|d| !d.message.contains("hunter22")));
    }

    #[test]
    fn another_driver_is_not_read_and_a_bad_id_is_refused() {
        let (found, codes, _) = volumes("{data: {driver: rexray/ebs, driver_opts: {o: uid=1}}}");
        assert_eq!(found[0].driver_owner.uid, None);
        // `driver` itself is ignored, and none of its options is read.
        assert_eq!(codes, [Code::IgnoredKey, Code::IgnoredDriverOpt]);
        let (found, codes, _) = volumes("{data: {driver_opts: {o: 'uid=alice,gid=7'}}}");
        assert_eq!((found[0].driver_owner.uid, found[0].driver_owner.gid), (None, Some(7)));
        assert_eq!(codes, [Code::BadDriverOpts]);
    }
}
