//! Fuzz target, structure-aware: compose files built from the pieces that make conversions hard
//! (services referring to each other by name, alias and URL; tasks, external endpoints, ports,
//! volumes, dependencies), so the fuzzer spends its time past the YAML parser. A conversion never
//! panics, and converting the same input twice gives the same bytes.
#![no_main]

use arbitrary::Arbitrary;
use compose2ecs::source::MemoryFiles;
use compose2ecs::{convert, Input};
use libfuzzer_sys::fuzz_target;
use std::fmt::Write;
use std::path::PathBuf;

const NAMES: &[&str] = &["web", "api", "db", "Db", "cache", "a.b", "a-b", "kafka", "worker"];
const VALUE_SHAPES: &[&str] = &[
    "{}", "{}:5432", "http://{}/v1", "postgres://u:p@{}:5432/app", "mongodb://{},{}:27017/x",
    "host={} password=x", "-h {}", "{}.example.com", "{}2", "hello {} world", "redis://:pw@{}",
    "${MISSING:-{}}", "$${}", "{}:99999", "ünï {} ©",
];

#[derive(Arbitrary, Debug)]
struct Project {
    services: Vec<Service>,
}

#[derive(Arbitrary, Debug)]
struct Service {
    name: u8,
    task: Option<u8>,
    external: Option<(u8, Option<u16>)>,
    network_mode: Option<u8>,
    ports: Vec<(Option<u16>, u16, bool)>,
    environment: Vec<(u8, u8, u8)>,
    depends_on: Vec<(u8, u8)>,
    volume: Option<u8>,
    replicas: Option<u8>,
    healthcheck: Option<u8>,
    alias: Option<u8>,
}

fn pick<'a>(list: &'a [&'a str], index: u8) -> &'a str {
    list[usize::from(index) % list.len()]
}

fn yaml(project: &Project) -> String {
    let mut text = String::from("services:\n");
    let mut volumes = Vec::new();
    for service in project.services.iter().take(12) {
        let name = pick(NAMES, service.name);
        writeln!(text, "  \"{name}\":\n    image: registry.example.com/{}:1", name.to_ascii_lowercase()).unwrap();
        if let Some(task) = service.task {
            writeln!(text, "    x-ecs: {{task: \"{}\"}}", pick(NAMES, task)).unwrap();
        } else if let Some((host, port)) = service.external {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            writeln!(text, "    x-ecs: {{external: \"{}.example.com{port}\"}}", pick(NAMES, host)).unwrap();
        }
        if let Some(target) = service.network_mode {
            writeln!(text, "    network_mode: \"service:{}\"", pick(NAMES, target)).unwrap();
        } else if let Some(alias) = service.alias {
            writeln!(text, "    networks: {{default: {{aliases: [\"{}.internal\"]}}}}", pick(NAMES, alias)).unwrap();
        }
        if !service.ports.is_empty() {
            text.push_str("    ports:\n");
            for (published, target, udp) in service.ports.iter().take(4) {
                let protocol = if *udp { "/udp" } else { "" };
                match published {
                    Some(published) => writeln!(text, "      - \"{published}:{target}{protocol}\"").unwrap(),
                    None => writeln!(text, "      - \"{target}{protocol}\"").unwrap(),
                }
            }
        }
        if !service.environment.is_empty() {
            text.push_str("    environment:\n");
            for (index, (variable, shape, target)) in service.environment.iter().take(6).enumerate() {
                let variable = ["HOST", "URL", "NAME", "DSN", "PASSWORD", "IMAGE"][usize::from(*variable) % 6];
                let value = pick(VALUE_SHAPES, *shape).replace("{}", pick(NAMES, *target));
                writeln!(text, "      {variable}_{index}: {:?}", value).unwrap();
            }
        }
        if !service.depends_on.is_empty() {
            text.push_str("    depends_on:\n");
            for (target, condition) in service.depends_on.iter().take(3) {
                let condition = ["service_started", "service_healthy", "service_completed_successfully"][usize::from(*condition) % 3];
                writeln!(text, "      \"{}\": {{condition: {condition}}}", pick(NAMES, *target)).unwrap();
            }
        }
        if let Some(volume) = service.volume {
            let volume = format!("data{}", volume % 3);
            writeln!(text, "    volumes: [\"{volume}:/data\"]").unwrap();
            volumes.push(volume);
        }
        if let Some(replicas) = service.replicas {
            writeln!(text, "    deploy: {{replicas: {}}}", replicas % 4).unwrap();
        }
        if let Some(probe) = service.healthcheck {
            writeln!(text, "    healthcheck: {{test: \"pg_isready -h {}\", interval: {}s}}", pick(NAMES, probe), probe).unwrap();
        }
    }
    if !volumes.is_empty() {
        text.push_str("volumes:\n");
        volumes.sort();
        volumes.dedup();
        for volume in volumes {
            writeln!(text, "  {volume}: {{}}").unwrap();
        }
    }
    text
}

fuzz_target!(|project: Project| {
    let path = PathBuf::from("compose.yaml");
    let mut files = MemoryFiles::default();
    files.0.insert(path.clone(), yaml(&project).into_bytes());
    let input = Input {
        compose_files: vec![path],
        directory_name: Some("fuzz".to_string()),
        ..Input::default()
    };
    let first = convert(&input, &files).expect("templates always render");
    let second = convert(&input, &files).expect("templates always render");
    assert_eq!(first.output, second.output, "the same input gives the same output");
});
