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

#[test]
fn a_port_added_for_several_services_is_one_note_naming_them() {
    let compose = "\
services:
  api:
    image: api
    environment:
      DB_URL: postgres://db:5433/shop
      DB_ADDR: db:5433
  worker:
    image: worker
    environment:
      DB_ADDR: db:5433
  db:
    image: postgres:16
";
    let conversion = conversion(compose);
    let added = found(&conversion, Code::PortAdded);
    assert_eq!(added.len(), 1, "{added:#?}");
    assert_eq!(
        added[0].message,
        "`db` gets a port mapping for 5433, the port `api` and `worker` use to reach it"
    );
    assert_eq!(added[0].path.to_string(), "services.db");
}

/// A diagnostic whose message names no service (a variable not set, a mount left out) is the
/// same for each service it is found in: it is kept once, at its first place, with the others.
#[test]
fn the_same_diagnostic_in_several_services_is_kept_once_with_its_places() {
    let compose = "\
services:
  api:
    image: api
    environment: [REGION, \"URL=https://${HOST}/\"]
    volumes: [/var/run/docker.sock:/var/run/docker.sock]
  worker:
    image: worker
    environment: [REGION, \"URL=https://${HOST}/${HOST}\"]
    volumes: [/var/run/docker.sock:/var/run/docker.sock]
";
    let conversion = conversion(compose);
    let places = |code: Code| -> Vec<Vec<String>> {
        found(&conversion, code)
            .iter()
            .map(|d| {
                std::iter::once(d.path.to_string())
                    .chain(d.also.iter().map(|place| place.path.to_string()))
                    .collect()
            })
            .collect()
    };
    assert_eq!(
        places(Code::BindMount),
        [["services.api.volumes[0]", "services.worker.volumes[0]"]]
    );
    // A variable used twice in one value is one place.
    let mut unset = places(Code::UnsetVariable);
    unset.sort();
    assert_eq!(
        unset,
        [
            ["services.api.environment[0]", "services.worker.environment[0]"],
            ["services.api.environment[1]", "services.worker.environment[1]"]
        ]
    );
    let mount = found(&conversion, Code::BindMount)[0];
    assert_eq!(mount.also[0].location.as_ref().map(|at| at.line), Some(9));
    let json = compose2ecs::report::diagnostic_json(mount);
    assert!(
        json.contains(r#""also":[{"path":"services.worker.volumes[0]","location":{"file":"compose.yaml","line":9,"#),
        "{json}"
    );
}
