//! Each cause is reported once: a mistake or a decision that several services share (a secret
//! they use, a port they reach) is one diagnostic that names them all, not one per service.

mod common;

use compose2ecs::diagnostic::{Code, Diagnostic};
use compose2ecs::Conversion;

fn conversion(compose: &str) -> Conversion {
    common::conversion("once", compose)
}

/// The diagnostics of `code`.
fn found(conversion: &Conversion, code: Code) -> Vec<&Diagnostic> {
    conversion.diagnostics.iter().filter(|d| d.code == code).collect()
}

#[test]
fn a_secret_without_a_value_is_reported_once_with_its_services() {
    let compose = "\
services:
  api:
    image: api
    secrets: [token]
  worker:
    image: worker
    secrets: [token]
  web:
    image: web
secrets:
  token: {}
";
    let conversion = conversion(compose);
    let bad = found(&conversion, Code::BadSecret);
    assert_eq!(bad.len(), 1, "{bad:#?}");
    assert!(
        bad[0].message.ends_with("; `api` and `worker` use it"),
        "{}",
        bad[0].message
    );
    assert_eq!(bad[0].path.to_string(), "secrets.token");
}
