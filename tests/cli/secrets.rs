//! Secret values, passwords and volume driver options stay out of the written files, the plan and
//! the messages.

use super::*;

/// The values of compose secrets (a file, a variable) and of environment secrets reach neither
/// the written files, the plan nor the messages, even with every note shown.
#[test]
fn secret_values_stay_out_of_the_output_and_the_messages() {
    let messages = assert_values_stay_out(
        "secrets",
        &[
            "sentinel-db-password-7d1f",
            "sentinel-api-key-93b2",
            "sentinel-url-password-5e0c",
            "sentinel-stripe-key-1a2b",
            "sentinel-smtp-password-77aa",
            "sentinel-seed-3c3c",
        ],
    );
    assert!(
        messages.contains("vault/app/DATABASE_URL"),
        "the secrets are named: {messages}"
    );
}

/// A password in each place compose allows one, holding `/ # ? ' "`, spaces and `@`: variables
/// become ECS secrets; commands, entrypoints, health checks and labels, where ECS reads none, keep
/// theirs with a warning each. None reaches a message or the plan.
#[test]
fn passwords_in_every_place_stay_out_of_the_messages_and_the_plan() {
    let messages = assert_values_stay_out_of(
        "secrets-everywhere",
        &[
            "sentinel-env-a1",
            "sentinel-env-z1",
            "sentinel-dsn-a2",
            "sentinel-dsn-z2",
        ],
        &[
            "sentinel-cmd-a3",
            "sentinel-cmd-z3",
            "sentinel-ep-a4",
            "sentinel-ep-z4",
            "sentinel-hc-a5",
            "sentinel-hc-b11",
            "sentinel-label-a6",
            "sentinel-label-z6",
            "sentinel-label-token-7",
            "sentinel-tag-8",
            "sentinel-tag-9",
            "/#?'",
            "x;y",
        ],
    );
    for place in [
        "`command[2]` of `app` holds a password",
        "`entrypoint[1]` of `app` holds a password",
        "`healthcheck.test[1]` of `app` holds a password",
        "the label `com.example.backup` of `app` holds a secret",
        "the label `com.example.api-token` of `app` holds a secret",
        "the deploy label `com.example.db` of `app` holds a secret",
        "the deploy label `com.example.db` of `db` holds a secret",
        "which ECS service tag `com.example.db` keeps (`postgres://u:***@db/x`)",
        "the references in `APP_CREDENTIALS` are rewritten; its value is not shown",
        "everywhere/app/DATABASE_URL",
        "everywhere/app/DB_DSN",
    ] {
        assert!(messages.contains(place), "{place} is not named: {messages}");
    }
    assert_eq!(messages.matches("warning[plain-secret]").count(), 7, "{messages}");
}

/// The options of a volume's `driver_opts.o` may hold a password (a CIFS share): warnings name the
/// options compose2ecs does not read, never their values, and no value reaches the output.
#[test]
fn driver_option_values_stay_out_of_the_output_and_the_messages() {
    let messages = assert_values_stay_out(
        "volume-driver-opts",
        &["s3cret", "username=gallery", "//files.example.com/share"],
    );
    assert!(
        messages.contains("`username`, `password` are not converted"),
        "the unread options are named: {messages}"
    );
}
