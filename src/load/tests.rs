//! The loader's tests: the project name, extends, include, env files and merge keys, end to end.

use super::*;
use crate::source::MemoryFiles;

/// Loads `files` (path, text), the first being the compose file, with `environment`.
fn load_files(files: &[(&str, &str)], environment: &[(&str, &str)]) -> (Option<Loaded>, Diagnostics) {
    let memory = MemoryFiles(
        files
            .iter()
            .map(|(path, text)| (PathBuf::from(path), text.as_bytes().to_vec()))
            .collect(),
    );
    let input = Input {
        compose_files: vec![PathBuf::from(files[0].0)],
        directory_name: Some("app".to_string()),
        environment: environment
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Input::default()
    };
    let mut diagnostics = Diagnostics::default();
    let loaded = load(&input, &memory, &mut diagnostics).ok();
    (loaded, diagnostics)
}

/// The project name `compose.yaml` with `name_line` gets, and the codes said about it.
fn named(name_line: &str, environment: &[(&str, &str)]) -> (Option<String>, Vec<Code>) {
    let text =
        format!("{name_line}\nservices:\n  web:\n    image: a\n    environment: [\"P=${{COMPOSE_PROJECT_NAME}}\"]\n");
    let (loaded, diagnostics) = load_files(&[("compose.yaml", &text)], environment);
    if let Some(loaded) = &loaded {
        // Interpolation sees the same name the project gets.
        let web = &loaded.document["services"]["web"]["environment"][0];
        assert_eq!(web.as_str(), Some(format!("P={}", loaded.project_name).as_str()));
    }
    let codes = diagnostics.iter().map(|d| d.code).collect();
    (loaded.map(|l| l.project_name), codes)
}

#[test]
fn the_project_name_is_decided_once_as_compose_does() {
    assert_eq!(named("", &[]), (Some("app".into()), vec![]));
    assert_eq!(named("name: shop", &[]), (Some("shop".into()), vec![]));
    assert_eq!(
        named("name: My.Shop", &[]),
        (Some("myshop".into()), vec![Code::ProjectNameNormalised])
    );
    assert_eq!(named("name: \"\"", &[]), (Some("app".into()), vec![]));
    assert_eq!(named("name: ${UNSET-}", &[]), (Some("app".into()), vec![]));
    assert_eq!(
        named("name: ${N}", &[("N", "fromvar")]),
        (Some("fromvar".into()), vec![])
    );
    assert_eq!(
        named("name: shop", &[("COMPOSE_PROJECT_NAME", "ci")]),
        (Some("ci".into()), vec![])
    );
    assert_eq!(
        named("name: shop", &[("COMPOSE_PROJECT_NAME", "")]),
        (Some("shop".into()), vec![])
    );
    assert_eq!(
        named("name: shop", &[("COMPOSE_PROJECT_NAME", "Bad Name")]),
        (None, vec![Code::BadProjectName])
    );
    assert_eq!(named("name: \"---\"", &[]), (None, vec![Code::BadProjectName]));
    assert_eq!(named("name: 42", &[]), (None, vec![Code::WrongType]));
}

#[test]
fn a_name_diagnostic_points_into_the_file_that_writes_the_name() {
    let memory = MemoryFiles(
        [
            ("a.yaml", "services:\n  web:\n    image: a\n"),
            ("b.yaml", "name: Shop\n"),
        ]
        .iter()
        .map(|(path, text)| (PathBuf::from(path), text.as_bytes().to_vec()))
        .collect(),
    );
    let input = Input {
        compose_files: vec![PathBuf::from("a.yaml"), PathBuf::from("b.yaml")],
        directory_name: Some("app".to_string()),
        ..Input::default()
    };
    let mut diagnostics = Diagnostics::default();
    let loaded = load(&input, &memory, &mut diagnostics).expect("it loads");
    assert_eq!(loaded.project_name, "shop");
    crate::source::locate_all_with(&mut diagnostics, &loaded.sources, &loaded.provenance);
    let note = diagnostics
        .iter()
        .find(|d| d.code == Code::ProjectNameNormalised)
        .expect("a note");
    assert_eq!(
        note.location.as_ref().map(|at| (at.file.as_str(), at.line)),
        Some(("b.yaml", 1))
    );
}

fn service<'l>(loaded: &'l Loaded, name: &str) -> &'l Value {
    &loaded.document["services"][name]
}

/// The only error, as `code: message @ file:line`.
fn only_error(diagnostics: &Diagnostics) -> String {
    let errors: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.severity == crate::diagnostic::Severity::Error)
        .map(|d| {
            let at = d
                .location
                .as_ref()
                .map_or("?".to_string(), |l| format!("{}:{}", l.file, l.line));
            format!("{}: {} @ {at}", d.code, d.message)
        })
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    errors[0].clone()
}

#[test]
fn extends_chains_across_files_with_paths_rebased() {
    let (loaded, diagnostics) = load_files(
            &[
                (
                    "app/compose.yaml",
                    "services:\n  web:\n    extends: {file: lib/base.yml, service: http}\n    environment: {MODE: web}\n    ports: ['80:80']\n",
                ),
                (
                    "app/lib/base.yml",
                    "services:\n  http:\n    extends: {file: ../shared/root.yml, service: root}\n    env_file: http.env\n    ports: ['8080:80']\n",
                ),
                (
                    "app/shared/root.yml",
                    "services:\n  root:\n    image: nginx\n    environment: {MODE: root, TZ: utc}\n    volumes: ['./html:/usr/share/nginx/html']\n",
                ),
            ],
            &[],
        );
    let loaded = loaded.unwrap_or_else(|| panic!("{diagnostics:?}"));
    let web = service(&loaded, "web");
    let expected: Value = serde_yaml::from_str(
        "image: nginx\nenvironment: {MODE: web, TZ: utc}\nvolumes: ['./shared/html:/usr/share/nginx/html']\n\
             env_file: ./lib/http.env\nports: ['8080:80', '80:80']\n",
    )
    .unwrap();
    assert_eq!(*web, expected);
    let read: Vec<String> = loaded.sources.iter().map(SourceFile::display).collect();
    assert_eq!(read, ["app/compose.yaml", "app/lib/base.yml", "app/shared/root.yml"]);
}

#[test]
fn extends_cycle_across_files_names_the_chain() {
    let (loaded, diagnostics) = load_files(
        &[
            (
                "compose.yaml",
                "services:\n  web:\n    extends: {file: other.yml, service: a}\n",
            ),
            (
                "other.yml",
                "services:\n  a:\n    extends: b\n  b:\n    image: x\n    extends: a\n",
            ),
        ],
        &[],
    );
    assert!(loaded.is_none());
    assert_eq!(
        only_error(&diagnostics),
        "extends-cycle: `extends` goes round in a circle: a (other.yml) → b (other.yml) → a (other.yml) @ other.yml:3"
    );
}

#[test]
fn extends_of_a_missing_service_suggests_one() {
    let (_, diagnostics) = load_files(
        &[(
            "compose.yaml",
            "services:\n  base:\n    image: x\n  web:\n    extends: bsae\n",
        )],
        &[],
    );
    assert_eq!(
        only_error(&diagnostics),
        "unknown-service: `web` extends `bsae`, which is not a service of this project @ compose.yaml:5"
    );
    assert_eq!(diagnostics.0[0].help.as_deref(), Some("did you mean `base`?"));
}

#[test]
fn an_included_project_has_its_own_env_under_the_including_one() {
    let (loaded, diagnostics) = load_files(
        &[
            (
                "compose.yaml",
                "include: [db/compose.yaml]\nservices:\n  web: {image: 'web:${TAG}'}\n",
            ),
            (".env", "TAG=1\n"),
            (
                "db/compose.yaml",
                "services:\n  db:\n    image: 'postgres:${TAG}'\n    environment: {NAME: '${DB_NAME}'}\n",
            ),
            ("db/.env", "TAG=16\nDB_NAME=app\n"),
        ],
        &[],
    );
    let loaded = loaded.unwrap_or_else(|| panic!("{diagnostics:?}"));
    // The including project's TAG wins; DB_NAME only the included .env has.
    assert_eq!(service(&loaded, "db")["image"], "postgres:1");
    assert_eq!(service(&loaded, "db")["environment"]["NAME"], "app");
    assert_eq!(service(&loaded, "web")["image"], "web:1");
    assert!(loaded.document.get("include").is_none());
}

#[test]
fn include_cycles_are_refused_and_a_shared_file_is_not_a_conflict() {
    let (_, diagnostics) = load_files(
        &[
            (
                "compose.yaml",
                "include: [a/compose.yaml]\nservices:\n  web: {image: x}\n",
            ),
            (
                "a/compose.yaml",
                "include: [../compose.yaml]\nservices:\n  a: {image: x}\n",
            ),
        ],
        &[],
    );
    assert_eq!(
            only_error(&diagnostics),
            "include-cycle: `include` goes round in a circle: compose.yaml → a/compose.yaml → compose.yaml @ a/compose.yaml:1"
        );
    // Two included projects that both include one file bring the same definitions: no conflict.
    let (loaded, diagnostics) = load_files(
        &[
            (
                "compose.yaml",
                "include: [a.yaml, b.yaml]\nservices:\n  web: {image: x}\n",
            ),
            ("a.yaml", "include: [common.yaml]\nservices:\n  a: {image: x}\n"),
            ("b.yaml", "include: [common.yaml]\nservices:\n  b: {image: x}\n"),
            (
                "common.yaml",
                "services:\n  cache: {image: redis}\nvolumes:\n  data: {}\n",
            ),
        ],
        &[],
    );
    let loaded = loaded.unwrap_or_else(|| panic!("{diagnostics:?}"));
    let names: Vec<&str> = loaded.document["services"]
        .as_mapping()
        .unwrap()
        .keys()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(names, ["web", "a", "cache", "b"]);
}

#[test]
fn two_included_files_defining_one_volume_differently_conflict() {
    let (_, diagnostics) = load_files(
        &[
            (
                "compose.yaml",
                "include:\n  - a.yaml\n  - path: b.yaml\nservices:\n  web: {image: x}\n",
            ),
            ("a.yaml", "volumes:\n  data: {driver: local}\n"),
            ("b.yaml", "volumes:\n  data: {}\n"),
        ],
        &[],
    );
    assert_eq!(
            only_error(&diagnostics),
            "include-conflict: volume `data` is defined by both `a.yaml` (`include[0]`) and `b.yaml`, differently @ compose.yaml:3"
        );
}

#[test]
fn a_version_1_file_is_refused_at_its_first_service() {
    let (_, diagnostics) = load_files(&[("compose.yaml", "x-common: {image: x}\nweb:\n  image: nginx\n")], &[]);
    assert!(only_error(&diagnostics).starts_with("legacy-v1-format: `web` is a service at the top level"));
    assert_eq!(diagnostics.0[0].location.as_ref().map(|l| l.line), Some(2));
}

#[test]
fn env_files_replace_dotenv_and_the_project_name_flag_wins() {
    let memory = MemoryFiles(
        [
            (
                "compose.yaml",
                "name: written\nservices:\n  web: {image: 'web:${TAG}'}\n",
            ),
            (".env", "TAG=dotenv\n"),
            ("one.env", "TAG=one\nOTHER=1\n"),
            ("two.env", "TAG=two\n"),
        ]
        .iter()
        .map(|(path, text)| (PathBuf::from(path), text.as_bytes().to_vec()))
        .collect(),
    );
    let mut input = Input {
        compose_files: vec![PathBuf::from("compose.yaml")],
        env_files: vec![PathBuf::from("one.env"), PathBuf::from("two.env")],
        project_name: Some("flag".to_string()),
        environment: [(PROJECT_NAME_VARIABLE.to_string(), "environment".to_string())].into(),
        ..Input::default()
    };
    let mut diagnostics = Diagnostics::default();
    let loaded = load(&input, &memory, &mut diagnostics).expect("it loads");
    assert_eq!(service(&loaded, "web")["image"], "web:two");
    assert_eq!(loaded.variables["OTHER"], "1");
    assert_eq!(loaded.variables[PROJECT_NAME_VARIABLE], "flag");
    input.env_files.push(PathBuf::from("missing.env"));
    assert!(load(&input, &memory, &mut diagnostics).is_err());
    assert_eq!(diagnostics.0.last().map(|d| d.code), Some(Code::UnreadableFile));
}
