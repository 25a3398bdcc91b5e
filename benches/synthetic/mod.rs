//! A deterministic synthetic compose project of any size, the shape of
//! `../shared/tools/gen_compose.py --deployable`, so it stays within what AWS deploys (a load
//! balancer's 50 listeners): each service has 10 environment variables (4 of them URLs naming
//! other services), 2 ports, a volume, a health check and 2 dependencies; one service in 100
//! publishes its port (fewer past 5,000 services, within that limit) and one in 40 has a named
//! volume (past 60, in more EFS stacks), the others a private port and an anonymous volume. Shared by the
//! benchmark and `examples/synthetic_compose.rs`, which `.ci/whole_process` runs.

use std::fmt::Write;

const KINDS: &[&str] = &["api", "web", "worker", "auth", "billing", "search", "orders", "cart"];
const REFERENCES: &[(&str, &str)] = &[
    ("UPSTREAM_URL", "http://{}:8080/v1"),
    ("DATABASE_URL", "postgres://app:s3cret@{}:5432/app?sslmode=disable"),
    ("MONGODB_URL", "mongodb://max:secret@{}:27017/goals?authSource=admin"),
    ("CACHE_URL", "redis://{}:6379/0"),
];

/// A deterministic compose file of `count` services.
pub fn compose(count: usize) -> String {
    let name = |i: usize| format!("{}-{i:04}", KINDS[i % KINDS.len()]);
    // One in 100 public, but never past 50 listeners; one in 40 with a volume.
    let public_every = 100.max(count.div_ceil(50));
    let volume_every = 40;
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
        if i % public_every == 0 {
            writeln!(
                text,
                "    ports:\n      - \"{}:8080\"\n    expose: [\"9100\"]",
                10000 + i
            )
            .unwrap();
        } else {
            text.push_str("    expose: [\"8080\", \"9100\"]\n");
        }
        if i % volume_every == 0 {
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
    for i in (0..count).step_by(volume_every) {
        writeln!(text, "  data-{}: {{}}", name(i)).unwrap();
    }
    text
}
