//! The clients of a managed database: each reference (already its endpoint) gets what the engine
//! needs, a connection string with a password becomes a secret the data stack builds, each
//! variable that holds the database's compose password reads the generated one, and a password
//! in an argument, where ECS gives no secret, is taken out.

use super::{ConnectionString, ManagedDatabase, ManagedService};
use crate::diagnostic::{Code, Diagnostic, KeyPath};
use crate::normalise::Service;
use crate::plan::hostnames::authority;
use crate::plan::passwords::{holds_a_secret, names_a_secret, password_ranges};
use crate::plan::{logical_id, Context, DeployValue, Outcome, Reference, ReferenceSite, Source, TaskDraft};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Connects every client to its managed databases; records on each database its clients, the
/// variables that read its secret and the connection strings the data stack builds.
pub(in crate::plan) fn connect(
    cx: &mut Context,
    tasks: &mut [TaskDraft],
    references: &[Reference],
    databases: &mut [ManagedDatabase],
) {
    for database in databases.iter_mut() {
        // In the order they reference it, each once; looked up in a set, as a project may have
        // thousands of clients.
        let mut seen = HashSet::new();
        for reference in managed_references(references, &database.service) {
            if seen.insert(reference.service.as_str()) {
                database.clients.push(reference.service.clone());
            }
        }
        warn_unnamed_dependents(cx, database, &seen);
    }
    if !passwords_tell_databases_apart(cx, databases) {
        return;
    }
    // Every logical id of `data.yaml`, so a connection string's cannot take one.
    let mut ids: BTreeSet<String> = databases.iter().flat_map(resource_ids).collect();
    for database in databases.iter_mut() {
        read_passwords_from_secret(cx, tasks, database);
        give_users_the_master(cx, tasks, database);
        warn_password_files(cx, database);
        for reference in managed_references(references, &database.service.clone()) {
            match &reference.site {
                ReferenceSite::Environment { variable } => {
                    connect_variable(cx, tasks, (reference, variable), database, &mut ids)
                }
                _ => warn_argument_without_tls(cx, reference, database),
            }
        }
        strip_argument_passwords(cx, tasks, database);
        cx.diagnostics
            .push(what_changes(database, cx.project.service(&database.service)));
        // An endpoint no client names, or a secret none reads, leaves no placeholder to fill.
        let unused = [
            (database.clients.is_empty(), format!("{}Endpoint", database.logical_id)),
            (!database.secret_is_read(), format!("{}SecretArn", database.logical_id)),
        ];
        for (_, name) in unused.iter().filter(|(unused, _)| *unused) {
            cx.missing.retain(|missing| missing.name != *name);
        }
    }
}

fn managed_references<'r>(references: &'r [Reference], service: &str) -> Vec<&'r Reference> {
    references
        .iter()
        .filter(|r| r.target == service && matches!(r.outcome, Outcome::Managed { .. }))
        .collect()
}

/// The logical ids a database's resources have in `data.yaml`.
fn resource_ids(database: &ManagedDatabase) -> Vec<String> {
    let id = &database.logical_id;
    ["SecurityGroup", "Secret", "SubnetGroup", "SecretAttachment"]
        .iter()
        .map(|suffix| format!("{id}{suffix}"))
        .chain([
            database.endpoint_resource.clone(),
            "ReadDatabaseSecretsPolicy".to_string(),
        ])
        .chain(database.instances.iter().cloned())
        .collect()
}

/// A client that reaches two managed databases with one compose password cannot be told which
/// generated password each variable holding it reads: an error.
fn passwords_tell_databases_apart(cx: &mut Context, databases: &[ManagedDatabase]) -> bool {
    let mut by_client: BTreeMap<&str, Vec<&ManagedDatabase>> = BTreeMap::new();
    for database in databases {
        for client in &database.clients {
            by_client.entry(client).or_default().push(database);
        }
    }
    let mut apart = true;
    for (client, reached) in by_client {
        for (i, first) in reached.iter().enumerate() {
            for second in &reached[i + 1..] {
                if first.passwords.iter().any(|p| second.passwords.contains(p)) {
                    let path = cx
                        .project
                        .service(client)
                        .map_or_else(KeyPath::root, |s| s.path.clone());
                    cx.diagnostics.push(
                        Diagnostic::error(
                            Code::ManagedConnection,
                            path,
                            format!(
                                "`{client}` reaches the managed `{}` and `{}`, which have one compose password: which generated password a variable holding it reads cannot be told",
                                first.service, second.service
                            ),
                        )
                        .with_help("give the databases different passwords in compose"),
                    );
                    apart = false;
                }
            }
        }
    }
    apart
}

/// The containers of the database's clients.
fn client_containers<'t>(
    tasks: &'t mut [TaskDraft],
    database: &ManagedDatabase,
) -> impl Iterator<Item = &'t mut crate::plan::Container> {
    let clients: HashSet<String> = database.clients.iter().cloned().collect();
    tasks
        .iter_mut()
        .flat_map(|task| task.containers.iter_mut())
        .filter(move |c| clients.contains(&c.service))
}

/// `ARN:password::`: ECS reads the generated secret's password.
fn password_of(secret: &DeployValue) -> DeployValue {
    DeployValue::Known(format!("{}:password::", secret.text()))
}

/// Each client variable whose value is one of the database's compose passwords (`DB_PASSWORD:
/// secret` beside `POSTGRES_PASSWORD: secret`) reads the generated secret's password instead.
fn read_passwords_from_secret(cx: &mut Context, tasks: &mut [TaskDraft], database: &mut ManagedDatabase) {
    let Some(secret) = database.secret.clone() else {
        return;
    };
    let project = cx.project;
    let passwords = database.passwords.clone();
    let mut read = Vec::new();
    for container in client_containers(tasks, database) {
        let holds_password = |(name, value): &(String, String)| {
            passwords.contains(value) && (names_a_secret(name) || holds_a_secret(name, value))
        };
        let (moved, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut container.environment)
            .into_iter()
            .partition(holds_password);
        container.environment = kept;
        for (name, _) in moved {
            let path = project
                .service(&container.service)
                .and_then(|service| service.environment.iter().find(|v| v.name == name))
                .map_or_else(KeyPath::root, |v| v.path.clone());
            cx.diagnostics.push(Diagnostic::note(
                Code::ManagedSecret,
                path,
                format!(
                    "`{name}` of `{}` reads the generated password of the managed `{}`",
                    container.service, database.service
                ),
            ));
            container.secrets.push((name.clone(), password_of(&secret)));
            read.push((container.service.clone(), name));
        }
    }
    database.password_variables.extend(read);
}

/// A compose password read from a file (`POSTGRES_PASSWORD_FILE`): the clients reading the same
/// file get the compose password, not the generated one.
fn warn_password_files(cx: &mut Context, database: &ManagedDatabase) {
    if database.password_files.is_empty() || database.clients.is_empty() {
        return;
    }
    let path = cx
        .project
        .service(&database.service)
        .map_or_else(KeyPath::root, |s| s.path.key("environment"));
    cx.diagnostics.push(
        Diagnostic::warning(
            Code::ManagedConnection,
            path,
            format!(
                "`{}` reads its password from a file ({}); the managed one's is generated, and clients that read the same file get the compose password",
                database.service,
                crate::quote::names(&database.password_files)
            ),
        )
        .with_help("give the clients the password in a variable (`DB_PASSWORD`): compose2ecs makes it read the generated secret"),
    );
}

/// Where the generated password goes in a value on its way to becoming a connection string.
const PASSWORD_MARK: &str = "\u{1}";

/// The value of a client's variable that reaches the database: adjusted for the engine, with the
/// database's login in a URL and the generated password wherever the compose one stood; a secret
/// the data stack builds when it carries the password.
fn connect_variable(
    cx: &mut Context,
    tasks: &mut [TaskDraft],
    (reference, variable): (&Reference, &str),
    database: &mut ManagedDatabase,
    ids: &mut BTreeSet<String>,
) {
    let Some(container) = tasks
        .iter_mut()
        .flat_map(|task| task.containers.iter_mut())
        .find(|c| c.service == reference.service)
    else {
        return;
    };
    let Some(index) = container.environment.iter().position(|(name, _)| name == variable) else {
        return;
    };
    let value = container.environment[index].1.clone();
    let said = |what: String| format!("`{variable}` of `{}` {what}", reference.service);
    let text = connected_text(cx, &value, (reference, variable), database);
    let Some(secret) = database
        .secret_resource
        .clone()
        .filter(|_| text.contains(PASSWORD_MARK))
    else {
        container.environment[index].1 = text;
        return;
    };
    let logical = format!(
        "{}{}",
        logical_id(&reference.service),
        logical_id(&variable.to_ascii_lowercase())
    );
    if !ids.insert(logical.clone()) {
        cx.diagnostics.push(
            Diagnostic::error(
                Code::NameCollision,
                reference.path.clone(),
                said(format!(
                    "would be the secret `{logical}` of data.yaml, which another resource is"
                )),
            )
            .with_help("rename the variable or the service"),
        );
        return;
    }
    let arn = cx.deferred(&format!("{logical}Arn"), Source::Stack("data"));
    let attribute = format!("{}.{}", database.endpoint_resource, database.endpoint_attribute);
    let template = text
        .replace("${", "${!")
        .replace(&database.endpoint.text(), &format!("${{{attribute}}}"))
        .replace(
            PASSWORD_MARK,
            &format!("{{{{resolve:secretsmanager:${{{secret}}}:SecretString:password}}}}"),
        );
    container.environment.remove(index);
    container.secrets.push((variable.to_string(), arn.clone()));
    cx.diagnostics.push(Diagnostic::note(
        Code::ManagedSecret,
        reference.path.clone(),
        said(format!(
            "is read from a secret the data stack builds: the connection string with `{}`'s endpoint and generated password",
            database.service
        )),
    ));
    database.connection_strings.push(ConnectionString {
        service: reference.service.clone(),
        variable: variable.to_string(),
        logical_id: logical,
        template,
        arn,
    });
}

/// A client's value as the managed database needs it: a URL adjusted for the engine, with the
/// database's login; the generated password's place marked wherever the compose one stood.
fn connected_text(
    cx: &mut Context,
    value: &str,
    (reference, variable): (&Reference, &str),
    database: &ManagedDatabase,
) -> String {
    let said = |what: String| format!("`{variable}` of `{}` {what}", reference.service);
    let login = database.username.clone().filter(|_| database.secret.is_some());
    let mut text = match Url::parse(value) {
        Some(url) => {
            let (mut url, mut changes) = url.adjusted(database.runs_on);
            changes.extend(url.for_celery(variable));
            for (kind, text) in changes {
                let diagnostic = match kind {
                    ChangeKind::Made => Diagnostic::note(Code::ManagedConnection, reference.path.clone(), said(text)),
                    ChangeKind::Warned => {
                        Diagnostic::warning(Code::ManagedConnection, reference.path.clone(), said(text)).with_help(
                            "ElastiCache Serverless has database 0 only: keep the app's keys apart by a prefix",
                        )
                    }
                };
                cx.diagnostics.push(diagnostic);
            }
            // The managed database takes a login, whatever the compose one took (none, `trust`).
            if let Some(master) = &login {
                let differs = match url.user.as_deref() {
                    None => Some(format!(
                        "has no login; the managed `{}` needs one: the connection string logs in as its user `{master}`",
                        database.service
                    )),
                    Some(user) if user != master => Some(format!(
                        "connects as `{user}`; the managed `{}` has the user `{master}`, which the connection string uses",
                        database.service
                    )),
                    Some(_) => None,
                };
                if let Some(text) = differs {
                    cx.diagnostics.push(Diagnostic::note(
                        Code::ManagedConnection,
                        reference.path.clone(),
                        said(text),
                    ));
                }
                url.user = Some(master.clone());
                url.password = Some(PASSWORD_MARK.to_string());
            }
            url.text()
        }
        None => {
            if database.runs_on.tls_only() {
                cx.diagnostics.push(
                    Diagnostic::warning(
                        Code::ManagedConnection,
                        reference.path.clone(),
                        said(format!(
                            "reaches {} of `{}`, which takes TLS connections only",
                            database.runs_on.describe(),
                            database.service
                        )),
                    )
                    .with_help(tls_help(database.runs_on)),
                );
            }
            value.to_string()
        }
    };
    // The compose password where a connection string keeps one (`Password=…;`, `&password=…`).
    if login.is_some() {
        for (start, end) in password_ranges(&text).into_iter().rev() {
            if database.passwords.iter().any(|p| *p == text[start..end]) {
                text.replace_range(start..end, PASSWORD_MARK);
            }
        }
    }
    if let Some(secure) = require_tls_of_postgres(&text, database) {
        cx.diagnostics.push(Diagnostic::note(
            Code::ManagedConnection,
            reference.path.clone(),
            said("gets `sslmode=require`: RDS for PostgreSQL 15 and later takes TLS connections only".to_string()),
        ));
        text = secure;
    }
    text
}

/// `sslmode=disable` made `require` for PostgreSQL on RDS (15 and later refuse plain connections);
/// `None` when there is nothing to change.
fn require_tls_of_postgres(text: &str, database: &ManagedDatabase) -> Option<String> {
    let postgres = matches!(database.engine, "postgres" | "aurora-postgresql");
    (postgres && text.contains("sslmode=disable")).then(|| text.replace("sslmode=disable", "sslmode=require"))
}

/// Each client user variable (`DB_USER`, `MYSQL_USER`) that holds a user compose connected as
/// (`POSTGRES_USER`'s value, MySQL's `root`) becomes the managed database's user, the one it has.
fn give_users_the_master(cx: &mut Context, tasks: &mut [TaskDraft], database: &ManagedDatabase) {
    let Some(master) = database.username.clone() else {
        return;
    };
    let users = database.compose_users.clone();
    let project = cx.project;
    for container in client_containers(tasks, database) {
        for (name, value) in container.environment.iter_mut() {
            let upper = name.to_ascii_uppercase();
            let names_a_user = ["USER", "USERNAME", "_USR", "_LOGIN"]
                .iter()
                .any(|end| upper.ends_with(end));
            if !names_a_user || *value == master || !users.contains(value) {
                continue;
            }
            let path = project
                .service(&container.service)
                .and_then(|service| service.environment.iter().find(|v| v.name == *name))
                .map_or_else(KeyPath::root, |v| v.path.clone());
            cx.diagnostics.push(Diagnostic::note(
                Code::ManagedConnection,
                path,
                format!(
                    "`{name}` of `{}` was `{value}`; the managed `{}` has the user `{master}`, which it becomes",
                    container.service, database.service
                ),
            ));
            *value = master.clone();
        }
    }
}

/// A service that depends on the managed database but names it in no value reaches it by a name
/// of its own (WordPress's default `WORDPRESS_DB_HOST: mysql`), which is no endpoint on ECS: a
/// warning; its password variables are moved all the same.
fn warn_unnamed_dependents(cx: &mut Context, database: &mut ManagedDatabase, referencing: &HashSet<&str>) {
    let project = cx.project;
    for service in &project.services {
        let depends = service.depends_on.iter().any(|d| d.service == database.service);
        if !depends || referencing.contains(service.name.as_str()) || service.outside_ecs().is_some() {
            continue;
        }
        cx.diagnostics.push(
            Diagnostic::warning(
                Code::ManagedConnection,
                service.path.key("depends_on"),
                format!(
                    "`{}` depends on the managed `{}` but names it in no value: a host name the app assumes (its image's default) reaches nothing on ECS",
                    service.name, database.service
                ),
            )
            .with_help(format!(
                "set the app's host variable to `{}` (compose2ecs writes its endpoint there)",
                database.service
            )),
        );
        database.clients.push(service.name.clone());
    }
}

fn tls_help(runs_on: ManagedService) -> &'static str {
    match runs_on {
        ManagedService::DocumentDb => "connect with TLS and without retryable writes (`tls=true&retryWrites=false` in a mongodb:// URL), trusting the RDS CA bundle (https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem, put in the image, `tlsCAFile=`)",
        _ => "turn TLS on in the client (a `rediss://` URL, or its TLS setting); ElastiCache's certificate is publicly trusted",
    }
}

/// A reference in a command or health check to an engine that takes TLS only: a warning, since
/// an argument's flags are the program's own.
fn warn_argument_without_tls(cx: &mut Context, reference: &Reference, database: &ManagedDatabase) {
    if !database.runs_on.tls_only() {
        return;
    }
    cx.diagnostics.push(
        Diagnostic::warning(
            Code::ManagedConnection,
            reference.path.clone(),
            format!(
                "`{}` reaches {} of `{}` in an argument; it takes TLS connections only",
                reference.service,
                database.runs_on.describe(),
                database.service
            ),
        )
        .with_help(tls_help(database.runs_on)),
    );
}

/// Every argument of a client's command, entrypoint and health check, without the database's
/// compose password (wrong for the managed one, and no secret can stand there) nor the password
/// of a URL to it; the container gets the generated one in the variable the engine's clients read
/// (`PGPASSWORD`, `MYSQL_PWD`).
fn strip_argument_passwords(cx: &mut Context, tasks: &mut [TaskDraft], database: &mut ManagedDatabase) {
    let endpoint = database.endpoint.text();
    let variable = match database.engine {
        "postgres" | "aurora-postgresql" => Some("PGPASSWORD"),
        "mysql" | "mariadb" | "aurora-mysql" => Some("MYSQL_PWD"),
        _ => None,
    };
    let project = cx.project;
    let mut given = Vec::new();
    for container in client_containers(tasks, database) {
        let service = project.service(&container.service);
        let mut stripped = Vec::new();
        let lists = [
            ("command", container.command.as_mut()),
            ("entrypoint", container.entrypoint.as_mut()),
            ("healthcheck", container.health_check.as_mut().map(|h| &mut h.command)),
        ];
        for (key, arguments) in lists {
            for argument in arguments.into_iter().flatten() {
                let without = without_passwords(argument, &database.passwords, &endpoint);
                if without != *argument {
                    *argument = without;
                    if !stripped.contains(&key) {
                        stripped.push(key);
                    }
                }
            }
        }
        for key in &stripped {
            let path = service.map_or_else(KeyPath::root, |s| argument_path(s, key));
            let help = match variable {
                Some(variable) => format!("the container reads the generated password from `{variable}`, as the engine's clients do; or read the whole URL from a variable, which compose2ecs makes a secret"),
                None => "read the URL from a variable instead (`$DATABASE_URL`): compose2ecs makes a variable's connection string a secret with the generated password".to_string(),
            };
            cx.diagnostics.push(
                Diagnostic::warning(
                    Code::ManagedConnection,
                    path,
                    format!(
                        "`{}` passed the password of the managed `{}` in its {key}, where ECS can give no secret: it is taken out",
                        container.service, database.service
                    ),
                )
                .with_help(help),
            );
        }
        let (Some(variable), Some(secret), false) = (variable, database.secret.as_ref(), stripped.is_empty()) else {
            continue;
        };
        let taken = container.environment.iter().any(|(name, _)| name == variable)
            || container.secrets.iter().any(|(name, _)| name == variable);
        if !taken {
            container.secrets.push((variable.to_string(), password_of(secret)));
            given.push((container.service.clone(), variable.to_string()));
        }
    }
    database.password_variables.extend(given);
}

fn argument_path(service: &Service, key: &str) -> KeyPath {
    match key {
        "healthcheck" => service.path.key("healthcheck").key("test"),
        other => service.path.key(other),
    }
}

/// `argument` without each of `passwords` and each password of a URL to `endpoint`, with what
/// names it: `user:password@` becomes `user@`, `PGPASSWORD=…` and `password='…'` go whole, and
/// MySQL's `-p…` too.
fn without_passwords(argument: &str, passwords: &[String], endpoint: &str) -> String {
    let mut ranges: Vec<(usize, usize)> = password_ranges(argument)
        .into_iter()
        .filter(|(start, end)| passwords.iter().any(|p| *p == argument[*start..*end]))
        .collect();
    let mut from = 0;
    while let Some(separator) = argument[from..].find("://") {
        let start = from + separator + 3;
        let found = authority(argument, start);
        if let Some(password) = found.password {
            if argument[found.hosts.0..found.hosts.1].contains(endpoint) {
                ranges.push(password);
            }
        }
        from = found.hosts.1.max(start);
    }
    ranges.sort_unstable();
    ranges.dedup();
    let mut out = argument.to_string();
    for (start, end) in ranges.into_iter().rev() {
        let (start, end) = with_its_key(&out, start, end);
        out.replace_range(start..end, "");
    }
    out
}

/// The bytes to take out with a password at `start..end`: its URL's `:`, its quotes, its
/// `key=`, or MySQL's `-p`.
fn with_its_key(text: &str, start: usize, end: usize) -> (usize, usize) {
    let bytes = text.as_bytes();
    if start > 0 && bytes[start - 1] == b':' && bytes.get(end) == Some(&b'@') {
        return (start - 1, end);
    }
    let (mut start, mut end) = (start, end);
    if start > 0 && matches!(bytes[start - 1], b'"' | b'\'') && bytes.get(end) == Some(&bytes[start - 1]) {
        start -= 1;
        end += 1;
    }
    let before = bytes[..start].trim_ascii_end();
    if let Some(key_end) = before.strip_suffix(b"=").map(|b| b.trim_ascii_end().len()) {
        let key_start = bytes[..key_end]
            .iter()
            .rposition(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')))
            .map_or(0, |i| i + 1);
        return (key_start, end);
    }
    if before.len() == start && start >= 2 && &bytes[start - 2..start] == b"-p" {
        return (start - 2, end);
    }
    (start, end)
}

/// What changes for the app, said once per database: its data is not copied, its volumes are not
/// made, and the engine's own differences.
fn what_changes(database: &ManagedDatabase, service: Option<&Service>) -> Diagnostic {
    let path = service
        .and_then(|s| s.ecs.managed.as_ref())
        .map_or_else(KeyPath::root, |m| m.path.clone());
    let volumes = if database.dropped_volumes.is_empty() {
        String::new()
    } else {
        format!(
            "; its volume {} is not made, and what it holds is not copied",
            crate::quote::names(&database.dropped_volumes)
        )
    };
    let migrate = match database.engine {
        "postgres" | "aurora-postgresql" => "copy the data with `pg_dump -Fc` from the compose database and `pg_restore -d` into the endpoint (from a task or a host in the VPC); init scripts (`/docker-entrypoint-initdb.d`) do not run: run them with `psql -f`; PostgreSQL 15 and later on RDS refuse connections without TLS: a client that does not try TLS by itself (node-postgres) needs `sslmode=require`",
        "mysql" if database.version == "8.0" => "copy the data with `mysqldump` from the compose database and `mysql` into the endpoint (from a task or a host in the VPC); init scripts (`/docker-entrypoint-initdb.d`) do not run: run them with `mysql <`; MySQL 8.0 is in RDS Extended Support, which AWS charges for: test the app on 8.4 (`x-ecs.managed.version: \"8.4\"`)",
        "mysql" | "mariadb" | "aurora-mysql" => "copy the data with `mysqldump` from the compose database and `mysql` into the endpoint (from a task or a host in the VPC); init scripts (`/docker-entrypoint-initdb.d`) do not run: run them with `mysql <`",
        "docdb" => "copy the data with `mongodump` and `mongorestore --ssl --sslCAFile global-bundle.pem` into the endpoint; DocumentDB is not MongoDB: no `$where` or server-side JavaScript, no `mapReduce`, no retryable writes, no change streams unless turned on, some aggregation stages and index types missing; clients need TLS with the RDS CA bundle",
        _ => "a cache starts empty; ElastiCache Serverless takes TLS connections only, has one database (no `SELECT n`), and keys of one multi-key command must share a hash slot",
    };
    Diagnostic::warning(
        Code::ManagedDatabase,
        path,
        format!(
            "`{}` runs on {} ({} {}), made by the data stack{volumes}",
            database.service,
            database.runs_on.describe(),
            database.engine,
            database.version
        ),
    )
    .with_help(migrate.to_string())
}

/// Whether a change to a URL is a note (made) or a warning (the app must act).
enum ChangeKind {
    Made,
    Warned,
}

/// A URL whose authority holds the managed endpoint, in its parts:
/// `scheme://[user[:password]@]hosts[path][?query][#fragment]`, with what came before it.
struct Url {
    lead: String,
    scheme: String,
    user: Option<String>,
    password: Option<String>,
    hosts: String,
    path: String,
    query: Option<String>,
    fragment: Option<String>,
}

impl Url {
    /// The URL a value is, its userinfo found as everywhere else (a password may hold `/ # ? @`).
    fn parse(value: &str) -> Option<Url> {
        let start = value.len() - value.trim_start().len();
        let separator = start + value[start..].find("://")?;
        let scheme = &value[start..separator];
        let valid = !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !valid {
            return None;
        }
        let authority_start = separator + 3;
        let found = authority(value, authority_start);
        let (user, password) = match found.password {
            Some((from, to)) => (
                Some(value[authority_start..from - 1].to_string()),
                Some(value[from..to].to_string()),
            ),
            None if found.hosts.0 > authority_start => {
                (Some(value[authority_start..found.hosts.0 - 1].to_string()), None)
            }
            None => (None, None),
        };
        let rest = &value[found.hosts.1..];
        let (before_fragment, fragment) = match rest.split_once('#') {
            Some((before, fragment)) => (before, Some(fragment.to_string())),
            None => (rest, None),
        };
        let (path, query) = match before_fragment.split_once('?') {
            Some((path, query)) => (path, Some(query.to_string())),
            None => (before_fragment, None),
        };
        Some(Url {
            lead: value[..start].to_string(),
            scheme: scheme.to_string(),
            user,
            password,
            hosts: value[found.hosts.0..found.hosts.1].to_string(),
            path: path.to_string(),
            query,
            fragment,
        })
    }

    fn text(&self) -> String {
        let mut text = format!("{}{}://", self.lead, self.scheme);
        if let Some(user) = &self.user {
            text.push_str(user);
            if let Some(password) = &self.password {
                text.push(':');
                text.push_str(password);
            }
            text.push('@');
        }
        text.push_str(&self.hosts);
        text.push_str(&self.path);
        if let Some(query) = &self.query {
            text.push('?');
            text.push_str(query);
        }
        if let Some(fragment) = &self.fragment {
            text.push('#');
            text.push_str(fragment);
        }
        text
    }

    /// The URL as the engine needs it, and each change said: ElastiCache takes `rediss://` and no
    /// password; DocumentDB takes `tls=true` and `retryWrites=false`.
    fn adjusted(mut self, runs_on: ManagedService) -> (Url, Vec<(ChangeKind, String)>) {
        let mut changes = Vec::new();
        match runs_on {
            ManagedService::ElastiCache => {
                if self.scheme.eq_ignore_ascii_case("redis") {
                    self.scheme = "rediss".to_string();
                    changes.push((
                        ChangeKind::Made,
                        "gets `rediss://`: ElastiCache Serverless takes TLS only".to_string(),
                    ));
                }
                if self.user.take().is_some() {
                    self.password = None;
                    changes.push((ChangeKind::Made, "loses its user and password: ElastiCache Serverless admits the tasks' security group, without AUTH".to_string()));
                }
                let number = self.path.trim_start_matches('/');
                if !number.is_empty() && number != "0" && number.bytes().all(|b| b.is_ascii_digit()) {
                    changes.push((
                        ChangeKind::Warned,
                        format!("names database {number}, which ElastiCache Serverless does not have"),
                    ));
                }
            }
            ManagedService::DocumentDb => {
                let mut pairs: Vec<String> = self
                    .query
                    .iter()
                    .flat_map(|query| query.split('&'))
                    .filter(|pair| !pair.is_empty())
                    .map(str::to_string)
                    .collect();
                let (mut tls, mut retry) = (false, false);
                for pair in &mut pairs {
                    let (key, value) = pair.split_once('=').unwrap_or((pair.as_str(), ""));
                    let lower = key.to_ascii_lowercase();
                    if (lower == "tls" || lower == "ssl") && !value.eq_ignore_ascii_case("true") {
                        *pair = format!("{key}=true");
                    } else if lower == "retrywrites" && !value.eq_ignore_ascii_case("false") {
                        *pair = format!("{key}=false");
                    }
                    tls |= lower == "tls" || lower == "ssl";
                    retry |= lower == "retrywrites";
                }
                if !tls {
                    pairs.push("tls=true".to_string());
                }
                if !retry {
                    pairs.push("retryWrites=false".to_string());
                }
                let query = pairs.join("&");
                if self.query.as_deref() != Some(query.as_str()) {
                    changes.push((
                        ChangeKind::Made,
                        "gets `tls=true` and `retryWrites=false`: DocumentDB takes TLS only, and no retryable writes"
                            .to_string(),
                    ));
                    if self.path.is_empty() {
                        self.path = "/".to_string();
                    }
                    self.query = Some(query);
                }
            }
            ManagedService::Rds | ManagedService::Aurora => {}
        }
        (self, changes)
    }

    /// For a Celery variable (`CELERY_BROKER_URL`, `CELERY_RESULT_BACKEND`), a `rediss://` URL
    /// that says how to check the certificate, which Celery refuses to start without.
    fn for_celery(&mut self, variable: &str) -> Option<(ChangeKind, String)> {
        let upper = variable.to_ascii_uppercase();
        let celery = upper.contains("CELERY") || upper.starts_with("BROKER") || upper.ends_with("RESULT_BACKEND");
        let said = self.query.as_deref().is_some_and(|q| q.contains("ssl_cert_reqs"));
        if !celery || said || self.scheme != "rediss" {
            return None;
        }
        self.query = Some(match self.query.take() {
            Some(query) if !query.is_empty() => format!("{query}&ssl_cert_reqs=required"),
            _ => "ssl_cert_reqs=required".to_string(),
        });
        Some((
            ChangeKind::Made,
            "gets `ssl_cert_reqs=required`, which Celery needs with `rediss://`".to_string(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adjusted(value: &str, on: ManagedService) -> String {
        Url::parse(value).unwrap().adjusted(on).0.text()
    }

    #[test]
    fn urls_get_what_documentdb_and_elasticache_need() {
        assert_eq!(
            adjusted(
                "mongodb://max:pw@db.example.com:27017/app?authSource=admin",
                ManagedService::DocumentDb
            ),
            "mongodb://max:pw@db.example.com:27017/app?authSource=admin&tls=true&retryWrites=false"
        );
        assert_eq!(
            adjusted("mongodb://db.example.com:27017", ManagedService::DocumentDb),
            "mongodb://db.example.com:27017/?tls=true&retryWrites=false"
        );
        assert_eq!(
            adjusted(
                "mongodb://h:27017/app?retrywrites=TRUE&ssl=false",
                ManagedService::DocumentDb
            ),
            "mongodb://h:27017/app?retrywrites=false&ssl=true"
        );
        // A password may hold `/ # ? @`: the query goes after the host, not into the password.
        assert_eq!(
            adjusted("mongodb://app:p#w/?d@h:27017/app", ManagedService::DocumentDb),
            "mongodb://app:p#w/?d@h:27017/app?tls=true&retryWrites=false"
        );
        assert_eq!(
            adjusted(
                "redis://default:pw@cache.example.com:6379/0",
                ManagedService::ElastiCache
            ),
            "rediss://cache.example.com:6379/0"
        );
        assert_eq!(
            adjusted("postgres://u:p@h:5432/app", ManagedService::Rds),
            "postgres://u:p@h:5432/app"
        );
        assert!(Url::parse("db.example.com").is_none());
    }

    #[test]
    fn an_argument_loses_the_password_with_what_names_it() {
        let passwords = ["pw".to_string()];
        let strip = |argument: &str| without_passwords(argument, &passwords, "{{DbEndpoint}}");
        assert_eq!(
            strip("mysqladmin ping -h {{DbEndpoint}} -uapp -ppw"),
            "mysqladmin ping -h {{DbEndpoint}} -uapp "
        );
        assert_eq!(strip("PGPASSWORD=pw psql -h {{DbEndpoint}}"), " psql -h {{DbEndpoint}}");
        assert_eq!(
            strip("psql \"host={{DbEndpoint}} password='pw'\""),
            "psql \"host={{DbEndpoint}} \""
        );
        assert_eq!(
            strip("psql postgres://app:other/#@{{DbEndpoint}}:5432/app"),
            "psql postgres://app@{{DbEndpoint}}:5432/app"
        );
        assert_eq!(
            strip("psql postgres://app:kept@elsewhere/app"),
            "psql postgres://app:kept@elsewhere/app"
        );
    }
}
