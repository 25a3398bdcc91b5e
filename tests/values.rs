//! Values from an untrusted compose file: a value of any length converts in time and space
//! linear in its length, and what quotes a value (messages, the plan) stays small.

mod common;

use compose2ecs::diagnostic::Code;
use compose2ecs::{report, Conversion};
use std::time::{Duration, Instant};

fn conversion(compose: &str) -> Conversion {
    common::conversion("values", compose)
}

/// Guards against quadratic blow-up, not for speed (the `convert` benchmark measures that): every
/// reference of a value used to copy the whole value, so 200 KB of `db:5432 ` took minutes and
/// tens of GB. The bounds are loose: 5 s in a debug build, and the plan and the messages at most a
/// few times the input.
#[test]
fn a_value_full_of_references_converts_in_linear_time_and_space() {
    let value = "db:5432 http://u:pw@cache:6379/0 ".repeat(200 * 1024 / 33);
    let compose = format!(
        "services:\n  db:\n    image: postgres:16\n  cache:\n    image: redis:7\n    x-ecs:\n      task: app\n  app:\n    image: app:1\n    command: [\"sh\", \"-c\", \"{value}\"]\n    environment:\n      DATABASE_URL: \"{value}\"\n"
    );
    let started = Instant::now();
    let result = conversion(&compose);
    let plan = result.plan.as_ref().expect("it converts");
    let json = report::json(plan);
    let table = report::table(plan);
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    // The value is in the plan twice (environment and command), rewritten; the references add little.
    assert!(json.len() < 4 * compose.len(), "a plan of {} bytes", json.len());
    assert!(table.len() < 10_000, "a table of {} bytes", table.len());
    assert_eq!(
        plan.references.len(),
        4,
        "one reference per name and outcome of each value"
    );
    for reference in &plan.references {
        assert!(reference.before.chars().count() < 200, "{}", reference.before);
        assert!(!reference.before.contains("pw@"), "{}", reference.before);
    }
    for diagnostic in result.diagnostics.iter() {
        let shown = diagnostic.to_string();
        assert!(shown.len() < 1000, "a message of {} bytes", shown.len());
        assert!(!shown.contains(":pw@"), "{shown}");
    }
    let rewritten = result
        .diagnostics
        .iter()
        .find(|d| d.code == Code::HostnameRewritten)
        .expect("the rewrite is reported");
    assert!(
        rewritten.message.contains("localhost:6379") && rewritten.message.contains('…'),
        "{}",
        rewritten.message
    );
}

/// A message that quotes a refused value shows its start, not the whole of it.
#[test]
fn refused_values_are_quoted_in_part() {
    let long = "x".repeat(600 * 1024);
    let compose = format!(
        "services:\n  app:\n    image: app:1\n    ports: [\"{long}\"]\n    working_dir: \"{long}\"\n    cpus: \"{long}\"\n    mem_limit: \"{long}\"\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n      interval: \"{long}\"\n"
    );
    let result = conversion(&compose);
    let codes: Vec<_> = result.diagnostics.iter().map(|d| d.code).collect();
    assert!(codes.len() >= 5, "each value is refused: {codes:?}");
    for diagnostic in result.diagnostics.iter() {
        let shown = diagnostic.to_string();
        assert!(
            shown.len() < 1000,
            "a message of {} bytes: {}",
            shown.len(),
            &shown[..200]
        );
    }
}
