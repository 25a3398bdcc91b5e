//! Relative paths written in another folder (an included or extended file), rebased onto the project folder.
//!
//! Normalise reads `env_file` from the project folder, and every relative path of the merged
//! document is taken from there, as compose does for `-f` files. A file that `include` or
//! `extends` brings in from another folder wrote its paths relative to that folder, so they are
//! rewritten here, before that file's services join the project, to keep meaning what they meant.
//! The work is lexical (`a/b/../c` is `a/c`), as compose's own `filepath.Join` is: the core reads
//! no file system beyond the files it is given.

use crate::source::display_path;
use serde_yaml::{Mapping, Value};
use std::path::{Component, Path, PathBuf};

/// `path` without `.` components and with each `name/..` pair removed.
pub fn lexical(path: &Path) -> PathBuf {
    let mut kept: Vec<Component<'_>> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match kept.last() {
                Some(Component::Normal(_)) => {
                    kept.pop();
                }
                // `/..` is `/`.
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => kept.push(component),
            },
            other => kept.push(other),
        }
    }
    kept.iter().collect()
}

/// `target` relative to the folder `base`, when the text of both allows it: both relative to the
/// same folder, or both absolute, and no `..` of `base` left to climb back down through.
fn relative_to(target: &Path, base: &Path) -> Option<PathBuf> {
    let target = lexical(target);
    let base = lexical(base);
    if target.is_absolute() != base.is_absolute() {
        return None;
    }
    let target: Vec<Component<'_>> = target.components().collect();
    let base: Vec<Component<'_>> = base.components().collect();
    let common = target.iter().zip(&base).take_while(|(a, b)| a == b).count();
    // Climbing back down from `../x` needs the name of the folder `..` left, which the text lacks.
    if base[common..].contains(&Component::ParentDir) {
        return None;
    }
    let mut relative = PathBuf::new();
    for _ in common..base.len() {
        relative.push("..");
    }
    relative.extend(&target[common..]);
    Some(relative)
}

/// Whether `written` is a local path relative to the folder of the file that holds it: not
/// absolute, not under the home folder (`~`), not a URL.
fn is_relative_path(written: &str) -> bool {
    let windows_drive = written.as_bytes().get(1) == Some(&b':') && written.as_bytes()[0].is_ascii_alphabetic();
    !(written.is_empty()
        || written.starts_with(['/', '\\', '~'])
        || windows_drive
        || written.contains("://")
        || written.starts_with("git@"))
}

/// Moves relative paths from one folder to another: what a path written relative to `from`
/// is, written relative to `project`.
#[derive(Debug, Clone)]
pub struct Rebase {
    from: PathBuf,
    project: PathBuf,
}

impl Rebase {
    /// `None` when the two folders are one: nothing needs rewriting.
    pub fn new(from: &Path, project: &Path) -> Option<Self> {
        let (from, project) = (lexical(from), lexical(project));
        (from != project).then_some(Rebase { from, project })
    }

    /// `written` (relative to `from`) relative to `project` where the text allows it, else the
    /// joined path (absolute when `from` is). Paths that are not relative are left as written.
    pub fn path(&self, written: &str) -> Option<String> {
        if !is_relative_path(written) {
            return None;
        }
        let full = self.from.join(written);
        Some(match relative_to(&full, &self.project) {
            // `./` keeps a bind mount source a path: `data:/x` would be a named volume.
            Some(relative) if relative.as_os_str().is_empty() => ".".to_string(),
            Some(relative) if relative.starts_with("..") => display_path(&relative),
            Some(relative) => format!("./{}", display_path(&relative)),
            None => display_path(&lexical(&full)),
        })
    }

    fn value(&self, value: &mut Value) {
        if let Some(rebased) = value.as_str().and_then(|written| self.path(written)) {
            *value = Value::String(rebased);
        }
    }

    /// Rewrites the relative paths of one service: `env_file` (each form), bind mount sources in
    /// `volumes` (short and long form), the `build` context, and `extends.file`.
    pub fn service(&self, service: &mut Mapping) {
        if let Some(env_file) = service.get_mut("env_file") {
            match env_file {
                Value::Sequence(items) => {
                    for item in items {
                        match item {
                            Value::Mapping(long) => long.get_mut("path").into_iter().for_each(|p| self.value(p)),
                            other => self.value(other),
                        }
                    }
                }
                other => self.value(other),
            }
        }
        if let Some(Value::Sequence(volumes)) = service.get_mut("volumes") {
            for volume in volumes {
                self.volume(volume);
            }
        }
        match service.get_mut("build") {
            Some(Value::Mapping(build)) => match build.get_mut("context") {
                Some(context) => self.value(context),
                // The context defaults to the folder of the file.
                None => {
                    if let Some(context) = self.path(".") {
                        build.insert("context".into(), context.into());
                    }
                }
            },
            Some(context) => self.value(context),
            None => {}
        }
        if let Some(Value::Mapping(extends)) = service.get_mut("extends") {
            extends.get_mut("file").into_iter().for_each(|file| self.value(file));
        }
    }

    fn volume(&self, volume: &mut Value) {
        match volume {
            Value::String(short) => {
                let Some((source, rest)) = short.split_once(':') else {
                    return; // An anonymous volume: no source.
                };
                // As compose reads the short form: a source that looks like a path is a bind mount.
                let is_bind = source.starts_with('.') || source.contains('/');
                if let Some(rebased) = self.path(source).filter(|_| is_bind) {
                    *short = format!("{rebased}:{rest}");
                }
            }
            Value::Mapping(long) if long.get("type").and_then(Value::as_str) == Some("bind") => {
                long.get_mut("source").into_iter().for_each(|source| self.value(source));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rebase(from: &str, project: &str) -> Rebase {
        Rebase::new(Path::new(from), Path::new(project)).expect("two folders")
    }

    #[test]
    fn lexical_paths() {
        assert_eq!(lexical(Path::new("a/./b/../c")), Path::new("a/c"));
        assert_eq!(lexical(Path::new("../a/..")), Path::new(".."));
        assert_eq!(lexical(Path::new("/../x")), Path::new("/x"));
        assert_eq!(lexical(Path::new("./")), Path::new(""));
    }

    #[test]
    fn paths_move_to_the_project_folder() {
        let sub = rebase("app/common", "app");
        assert_eq!(sub.path("web.env").as_deref(), Some("./common/web.env"));
        assert_eq!(sub.path("../shared.env").as_deref(), Some("./shared.env"));
        assert_eq!(sub.path("../../up.env").as_deref(), Some("../up.env"));
        assert_eq!(sub.path(".").as_deref(), Some("./common"));
        assert_eq!(sub.path("/etc/app.env"), None);
        assert_eq!(sub.path("~/app.env"), None);
        assert_eq!(sub.path("https://github.com/x/y.git"), None);
        assert_eq!(rebase("app", "app/sub").path("x.env").as_deref(), Some("../x.env"));
        assert_eq!(rebase("app/sub", "").path("x.env").as_deref(), Some("./app/sub/x.env"));
        assert!(Rebase::new(Path::new("app/sub/.."), Path::new("app")).is_none());
    }

    #[test]
    fn folders_the_text_cannot_relate_give_joined_paths() {
        // From an absolute folder to a relative project: absolute.
        assert_eq!(
            rebase("/srv/common", "app").path("a.env").as_deref(),
            Some("/srv/common/a.env")
        );
        // The project is `../../p`: going to `../x` needs the name of the folder above this one,
        // which the text lacks; the path stays relative to the current folder (a known limit).
        assert_eq!(rebase("../x", "../../p").path("a.env").as_deref(), Some("../x/a.env"));
    }

    #[test]
    fn service_paths_in_every_form() {
        let mut service: Mapping = serde_yaml::from_str(
            "env_file: [a.env, {path: b.env, required: false}]\n\
             volumes: ['./data:/data:ro', 'named:/n', '/abs:/abs', '/anonymous', 'sub/x:/x', \
             {type: bind, source: ./src, target: /src}, {type: volume, source: v, target: /v}]\n\
             build: {dockerfile: Dockerfile}\n\
             extends: {file: base.yml, service: base}\n",
        )
        .unwrap();
        rebase("proj/inc", "proj").service(&mut service);
        let expected: Mapping = serde_yaml::from_str(
            "env_file: [./inc/a.env, {path: ./inc/b.env, required: false}]\n\
             volumes: ['./inc/data:/data:ro', 'named:/n', '/abs:/abs', '/anonymous', './inc/sub/x:/x', \
             {type: bind, source: ./inc/src, target: /src}, {type: volume, source: v, target: /v}]\n\
             build: {dockerfile: Dockerfile, context: ./inc}\n\
             extends: {file: ./inc/base.yml, service: base}\n",
        )
        .unwrap();
        assert_eq!(service, expected);
        let mut short: Mapping = serde_yaml::from_str("env_file: one.env\nbuild: ../api\n").unwrap();
        rebase("proj/inc", "proj").service(&mut short);
        assert_eq!(short["env_file"], "./inc/one.env");
        assert_eq!(short["build"], "./api");
    }
}
