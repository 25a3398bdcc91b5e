//! How long a conversion takes on a large synthetic project, whole and stage by stage:
//! `cargo bench`. The project has the shape of `../shared/tools/gen_compose.py --deployable`, so
//! it stays within what AWS deploys (a stack's 500 resources, a load balancer's 50 listeners): each
//! service has 10 environment variables (4 of them URLs naming other services), 2 ports, a volume,
//! a health check and 2 dependencies; one service in 100 publishes its port, one in 40 has a named
//! volume, the others a private port and an anonymous volume. `one_large_value` is one value of a
//! megabyte.

use compose2ecs::diagnostic::Diagnostics;
use compose2ecs::source::MemoryFiles;
use compose2ecs::{convert, emit, load, normalise, plan, Input};
use std::fmt::Write;
use std::path::PathBuf;

fn main() {
    divan::main();
}

const KINDS: &[&str] = &["api", "web", "worker", "auth", "billing", "search", "orders", "cart"];
const REFERENCES: &[(&str, &str)] = &[
    ("UPSTREAM_URL", "http://{}:8080/v1"),
    ("DATABASE_URL", "postgres://app:s3cret@{}:5432/app?sslmode=disable"),
    ("MONGODB_URL", "mongodb://max:secret@{}:27017/goals?authSource=admin"),
    ("CACHE_URL", "redis://{}:6379/0"),
];

/// A deterministic compose file of `count` services.
fn compose(count: usize) -> String {
    let name = |i: usize| format!("{}-{i:04}", KINDS[i % KINDS.len()]);
    let mut text = String::from("name: bench\nservices:\n");
    for i in 0..count {
        let me = name(i);
        writeln!(
            text,
            "  {me}:\n    image: registry.example.com/acme/{}:1.{i}",
            KINDS[i % KINDS.len()]
        )
        .unwrap();
        text.push_str("    environment:\n");
        writeln!(
            text,
            "      SERVICE_NAME: {me}\n      LOG_LEVEL: info\n      PORT: \"8080\""
        )
        .unwrap();
        for (j, (variable, template)) in REFERENCES.iter().enumerate() {
            let target = name((i * 7 + j * 13 + 1) % count);
            writeln!(text, "      {variable}: \"{}\"", template.replace("{}", &target)).unwrap();
        }
        writeln!(
            text,
            "      FEATURE_FLAGS: audit-log\n      REQUEST_TIMEOUT_MS: \"5000\"\n      AWS_REGION: us-east-1"
        )
        .unwrap();
        if i % 100 == 0 {
            writeln!(
                text,
                "    ports:\n      - \"{}:8080\"\n    expose: [\"9100\"]",
                10000 + i
            )
            .unwrap();
        } else {
            text.push_str("    expose: [\"8080\", \"9100\"]\n");
        }
        if i % 40 == 0 {
            writeln!(text, "    volumes:\n      - \"data-{me}:/var/lib/app\"").unwrap();
        } else {
            text.push_str("    volumes:\n      - /var/lib/app\n");
        }
        text.push_str("    healthcheck:\n      test: [\"CMD-SHELL\", \"curl -fsS http://localhost:8080/health || exit 1\"]\n      interval: 30s\n      retries: 5\n");
        if i >= 2 {
            writeln!(text, "    depends_on: [{}, {}]", name(i - 1), name(i / 2)).unwrap();
        }
    }
    text.push_str("volumes:\n");
    for i in (0..count).step_by(40) {
        writeln!(text, "  data-{}: {{}}", name(i)).unwrap();
    }
    text
}

fn setup(count: usize) -> (Input, MemoryFiles) {
    let path = PathBuf::from("compose.yaml");
    let mut files = MemoryFiles::default();
    files.0.insert(path.clone(), compose(count).into_bytes());
    let input = Input {
        compose_files: vec![path],
        directory_name: Some("bench".to_string()),
        ..Input::default()
    };
    (input, files)
}

#[divan::bench(args = [500, 5000], sample_count = 10)]
fn whole_conversion(bencher: divan::Bencher, count: usize) {
    let (input, files) = setup(count);
    bencher.bench_local(|| {
        let conversion = convert(&input, &files).unwrap();
        assert!(conversion.plan.is_some(), "the synthetic project converts");
        conversion
    });
}

/// One service whose environment variable and `sh -c` command each hold a value of `kib` KiB full
/// of references and passwords: the time must grow with the value's length, not its square.
#[divan::bench(args = [1024], sample_count = 10)]
fn one_large_value(bencher: divan::Bencher, kib: usize) {
    let piece = "db:5432 postgres://app:s3cret@db/app password=x ";
    let value = piece.repeat(kib * 1024 / piece.len());
    let compose = format!(
        "name: bench\nservices:\n  db:\n    image: postgres:16\n  app:\n    image: app:1\n    command: [\"sh\", \"-c\", \"{value}\"]\n    environment:\n      DATABASE_URL: \"{value}\"\n"
    );
    let path = PathBuf::from("compose.yaml");
    let mut files = MemoryFiles::default();
    files.0.insert(path.clone(), compose.into_bytes());
    let input = Input {
        compose_files: vec![path],
        directory_name: Some("bench".to_string()),
        ..Input::default()
    };
    bencher.bench_local(|| {
        let conversion = convert(&input, &files).unwrap();
        assert!(conversion.plan.is_some(), "the large value converts");
        conversion
    });
}

/// Each stage alone, on inputs the stage before made outside the measurement.
mod stages {
    use super::*;
    use compose2ecs::load::Loaded;
    use compose2ecs::normalise::Project;

    fn loaded(count: usize) -> (Loaded, MemoryFiles) {
        let (input, files) = setup(count);
        let loaded = load::load(&input, &files, &mut Diagnostics::default());
        (loaded.expect("the synthetic project loads"), files)
    }

    fn project(count: usize) -> Project {
        let (loaded, files) = loaded(count);
        normalise::normalise(&loaded, &[], &files, &mut Diagnostics::default()).expect("it normalises")
    }

    #[divan::bench(args = [500, 5000], sample_count = 10)]
    fn load(bencher: divan::Bencher, count: usize) {
        let (input, files) = setup(count);
        bencher.bench_local(|| load::load(&input, &files, &mut Diagnostics::default()));
    }

    #[divan::bench(args = [500, 5000], sample_count = 10)]
    fn normalise(bencher: divan::Bencher, count: usize) {
        let (loaded, files) = loaded(count);
        bencher.bench_local(|| normalise::normalise(&loaded, &[], &files, &mut Diagnostics::default()));
    }

    #[divan::bench(args = [500, 5000], sample_count = 10)]
    fn plan(bencher: divan::Bencher, count: usize) {
        let project = project(count);
        bencher.bench_local(|| plan::plan(&project, &Default::default(), &mut Diagnostics::default()));
    }

    /// Pointing every diagnostic of a run at its line in the file.
    #[divan::bench(args = [500, 5000], sample_count = 10)]
    fn locate(bencher: divan::Bencher, count: usize) {
        let (input, files) = setup(count);
        let mut diagnostics = convert(&input, &files).unwrap().diagnostics;
        for diagnostic in &mut diagnostics.0 {
            diagnostic.location = None;
        }
        let (loaded, _) = loaded(count);
        bencher.bench_local(|| {
            let mut again = diagnostics.clone();
            compose2ecs::source::locate_all(&mut again, &loaded.sources);
            again
        });
    }

    #[divan::bench(args = [500, 5000], sample_count = 10)]
    fn emit(bencher: divan::Bencher, count: usize) {
        let planned = plan::plan(&project(count), &Default::default(), &mut Diagnostics::default()).unwrap();
        bencher.bench_local(|| emit::emit(&planned));
    }
}
