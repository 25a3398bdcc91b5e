//! Managed databases: a database or cache service with `x-ecs.managed` runs on an AWS service in
//! the data stack (PostgreSQL, MySQL and MariaDB on RDS or Aurora, MongoDB on DocumentDB, Redis,
//! Valkey and memcached on ElastiCache Serverless) instead of in a container. Its version comes
//! from the image's tag, its user and database from the compose environment, its password is
//! generated in Secrets Manager; every reference to it becomes its endpoint, and every password
//! compose wired to it by hand is read from that secret.

use super::passwords::names_a_secret;
use super::{logical_id, wellknown, Context, DeployValue, Outcome, Reference, ReferenceSite, Source, TaskDraft};
use crate::diagnostic::{Code, Diagnostic, KeyPath};
use crate::normalise::{ManagedSettings, Service};
use serde::Serialize;

/// The AWS service a managed database runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ManagedService {
    Rds,
    Aurora,
    DocumentDb,
    ElastiCache,
}

impl ManagedService {
    pub fn describe(self) -> &'static str {
        match self {
            ManagedService::Rds => "RDS",
            ManagedService::Aurora => "Aurora Serverless v2",
            ManagedService::DocumentDb => "DocumentDB",
            ManagedService::ElastiCache => "ElastiCache Serverless",
        }
    }
}

/// A database or cache made by AWS in the data stack, in place of a compose service's container.
#[derive(Debug, Clone, Serialize)]
pub struct ManagedDatabase {
    pub service: String,
    pub runs_on: ManagedService,
    /// CloudFormation's name of the engine (`postgres`, `aurora-postgresql`, `docdb`, `redis`, …).
    pub engine: &'static str,
    /// `EngineVersion` (`MajorEngineVersion` for ElastiCache).
    pub version: String,
    /// Where the version comes from.
    pub version_from: String,
    pub port: u16,
    /// The prefix of its resources' logical ids in `data.yaml` (`Mongodb`).
    pub logical_id: String,
    /// The master user, from the compose environment; none for a cache.
    pub username: Option<String>,
    /// The database created with it, from the compose environment.
    pub database_name: Option<String>,
    pub instance_class: Option<String>,
    /// RDS storage in GiB.
    pub storage: Option<u32>,
    pub multi_az: bool,
    pub backup_retention_days: u32,
    pub deletion_protection: bool,
    /// The address the clients reach it at: the data stack's output.
    pub endpoint: DeployValue,
    /// The generated secret (`{"username", "password"}`) the clients read the password from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<DeployValue>,
    /// Connection strings with the password in them, each a secret the data stack builds.
    pub connection_strings: Vec<ConnectionString>,
    /// (service, variable) for each client variable read from the generated secret's password.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub password_variables: Vec<(String, String)>,
    /// The services that reference it.
    pub clients: Vec<String>,
    /// The named volumes of the service, which are no longer made.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dropped_volumes: Vec<String>,
    /// The password compose gives the database, to find the clients' copies of it. Never shown.
    #[serde(skip)]
    password: Option<String>,
}

impl ManagedDatabase {
    /// Whether the clients read anything from the generated secret: the execution role may then.
    pub fn secret_is_read(&self) -> bool {
        !self.password_variables.is_empty()
    }
}

/// A connection string with the generated password in it, built by the data stack as a secret of
/// its own (`Fn::Sub` with a dynamic reference to the password), read into the client's variable.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionString {
    pub service: String,
    pub variable: String,
    pub logical_id: String,
    /// The `Fn::Sub` text: the value with the endpoint and the password as references.
    pub template: String,
    pub arn: DeployValue,
}

/// The engines AWS runs, by the software an image is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Software {
    Postgres,
    Mysql,
    Mariadb,
    Mongo,
    Redis,
    Valkey,
    Memcached,
}

/// The images `x-ecs.managed` takes, for the error that lists them.
const MANAGED_IMAGES: &str = "postgres (and bitnami/postgresql, postgis, pgvector), mysql, mariadb, mongo (and bitnami/mongodb), redis, valkey, memcached";

fn software(image: &str) -> Option<Software> {
    Some(match wellknown::image_name(image).as_str() {
        "postgres" | "postgresql" | "postgis" | "pgvector" => Software::Postgres,
        "mysql" => Software::Mysql,
        "mariadb" => Software::Mariadb,
        "mongo" | "mongodb" => Software::Mongo,
        "redis" => Software::Redis,
        "valkey" => Software::Valkey,
        "memcached" => Software::Memcached,
        _ => return None,
    })
}

/// The versions a managed engine offers, oldest first: (version as compared, version as written).
/// RDS takes a major version (`16`, `8.0`) and picks its newest minor; these are the majors in
/// standard support (RDS, December 2026).
fn offered(software: Software, aurora: bool) -> &'static [(&'static [u32], &'static str)] {
    match (software, aurora) {
        (Software::Postgres, false) => &[
            (&[14], "14"),
            (&[15], "15"),
            (&[16], "16"),
            (&[17], "17"),
            (&[18], "18"),
        ],
        (Software::Postgres, true) => &[(&[14], "14"), (&[15], "15"), (&[16], "16"), (&[17], "17")],
        (Software::Mysql, _) => &[(&[8, 0], "8.0"), (&[8, 4], "8.4")],
        (Software::Mariadb, _) => &[
            (&[10, 6], "10.6"),
            (&[10, 11], "10.11"),
            (&[11, 4], "11.4"),
            (&[11, 8], "11.8"),
        ],
        (Software::Mongo, _) => &[(&[4, 0], "4.0.0"), (&[5, 0], "5.0.0"), (&[8, 0], "8.0.0")],
        (Software::Redis, _) => &[(&[7], "7")],
        (Software::Valkey, _) => &[(&[7], "7"), (&[8], "8")],
        (Software::Memcached, _) => &[(&[1, 6], "1.6")],
    }
}

/// The numbers a tag starts with: `16.2-alpine` → [16, 2], `pg16` → [16], `latest` → none.
fn tag_version(tag: &str) -> Vec<u32> {
    let tag = tag.strip_prefix("pg").unwrap_or(tag);
    let numbers: String = tag.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    numbers.split('.').map_while(|part| part.parse().ok()).take(3).collect()
}

/// The image's tag: what follows the last `:` of its last part, before a digest.
fn image_tag(image: &str) -> Option<&str> {
    let name = image.split('@').next().unwrap_or(image);
    let last = name.rsplit('/').next().unwrap_or(name);
    last.split_once(':').map(|(_, tag)| tag)
}

/// Whether `version` (as many numbers as the tag gives) is covered by `offered`, a major (and
/// minor) version: `16.2` by `16`, `8` by `8.0` and `8.4`.
fn covers(offered: &[u32], version: &[u32]) -> bool {
    offered.iter().zip(version).all(|(a, b)| a == b)
}

/// The version the managed engine runs: the one the tag names when offered; the oldest offered
/// newer one when the tag is older (a warning); an error naming the nearest when it is newer
/// than every one offered.
fn version(
    cx: &mut Context,
    service: &Service,
    software: Software,
    settings: &ManagedSettings,
    runs_on: ManagedService,
) -> Option<(String, String)> {
    let offers = offered(software, settings.aurora);
    let written: Vec<&str> = offers.iter().map(|(_, v)| *v).collect();
    if let Some((version, path)) = &settings.version {
        // Aurora MySQL's versions are full ones (`8.0.mysql_aurora.3.08.2`), taken as written.
        let known =
            written.contains(&version.as_str()) || (runs_on == ManagedService::Aurora && software == Software::Mysql);
        if !known {
            cx.diagnostics.push(
                Diagnostic::error(
                    Code::ManagedVersion,
                    path.clone(),
                    format!(
                        "{} offers no version `{version}` of `{}`",
                        runs_on.describe(),
                        service.name
                    ),
                )
                .with_help(format!("give one of {}", written.join(", "))),
            );
            return None;
        }
        return Some((version.clone(), format!("`{path}`")));
    }
    if runs_on == ManagedService::Aurora && software == Software::Mysql {
        cx.diagnostics.push(
            Diagnostic::error(
                Code::ManagedVersion,
                settings.path.clone(),
                format!("Aurora MySQL of `{}` needs its version written: it has no major versions to pick from", service.name),
            )
            .with_help("give `version: 8.0.mysql_aurora.3.08.2` (one `aws rds describe-db-engine-versions --engine aurora-mysql` lists), or leave `engine` out for MySQL on RDS"),
        );
        return None;
    }
    let image = service.image.as_deref().unwrap_or_default();
    let tag = image_tag(image).unwrap_or("latest");
    let numbers = tag_version(tag);
    let newest = offers.last().expect("every engine offers a version");
    if numbers.is_empty() {
        return Some((
            newest.1.to_string(),
            format!("the newest {} offers (the tag `{tag}` names none)", runs_on.describe()),
        ));
    }
    if let Some((_, version)) = offers.iter().rev().find(|(offered, _)| covers(offered, &numbers)) {
        return Some((version.to_string(), format!("the image's tag `{tag}`")));
    }
    let shown = numbers.iter().map(u32::to_string).collect::<Vec<_>>().join(".");
    match offers.iter().find(|(offered, _)| offered > &numbers.as_slice()) {
        Some((_, version)) => {
            cx.diagnostics.push(
                Diagnostic::warning(
                    Code::ManagedVersion,
                    service.path.key("image"),
                    format!(
                        "{} offers no {shown} of `{}`: it runs {version}, the oldest newer one",
                        runs_on.describe(),
                        service.name
                    ),
                )
                .with_help(format!(
                    "test the app against {version} (clients of {shown} work with it, as a rule); `x-ecs.managed.version` picks another of {}",
                    written.join(", ")
                )),
            );
            Some((
                version.to_string(),
                format!("the image's tag `{tag}`, raised to one offered"),
            ))
        }
        None => {
            cx.diagnostics.push(
                Diagnostic::error(
                    Code::ManagedVersion,
                    service.path.key("image"),
                    format!(
                        "`{}` runs {shown}, newer than {} offers: the nearest is {}",
                        service.name,
                        runs_on.describe(),
                        newest.1
                    ),
                )
                .with_help(format!(
                    "give `x-ecs.managed.version: \"{}\"` if the app works with it, or keep the service in a container (remove `managed`)",
                    newest.1
                )),
            );
            None
        }
    }
}

/// The first of `names` the service's environment sets, with its value.
fn environment<'s>(service: &'s Service, names: &[&str]) -> Option<&'s str> {
    names.iter().find_map(|name| {
        service
            .environment
            .iter()
            .find(|variable| variable.name == *name)
            .map(|variable| variable.value.as_str())
            .filter(|value| !value.is_empty())
    })
}

/// (user variables, password variables, database variables, default user) of an engine's images.
type Credentials = (
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
    &'static str,
);

fn credential_variables(software: Software, service: &Service) -> Option<Credentials> {
    let mysql_user = environment(service, &["MYSQL_USER", "MARIADB_USER"]).is_some();
    Some(match software {
        Software::Postgres => (
            &["POSTGRES_USER", "POSTGRESQL_USERNAME"],
            &["POSTGRES_PASSWORD", "POSTGRESQL_PASSWORD"],
            &["POSTGRES_DB", "POSTGRESQL_DATABASE"],
            "postgres",
        ),
        Software::Mysql | Software::Mariadb if mysql_user => (
            &["MYSQL_USER", "MARIADB_USER"],
            &["MYSQL_PASSWORD", "MARIADB_PASSWORD"],
            &["MYSQL_DATABASE", "MARIADB_DATABASE"],
            "admin",
        ),
        Software::Mysql | Software::Mariadb => (
            &[],
            &["MYSQL_ROOT_PASSWORD", "MARIADB_ROOT_PASSWORD"],
            &["MYSQL_DATABASE", "MARIADB_DATABASE"],
            "admin",
        ),
        Software::Mongo => (
            &["MONGO_INITDB_ROOT_USERNAME", "MONGODB_ROOT_USER"],
            &["MONGO_INITDB_ROOT_PASSWORD", "MONGODB_ROOT_PASSWORD"],
            &[],
            "docdbadmin",
        ),
        Software::Redis | Software::Valkey | Software::Memcached => return None,
    })
}

/// A name RDS and DocumentDB take for a master user or a database: a letter, then letters, digits
/// and `_`, up to `longest`.
fn valid_name(name: &str, longest: usize) -> bool {
    name.len() <= longest
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Every service with `x-ecs.managed`, planned: its engine, version, credentials and endpoint.
/// Errors for an image AWS runs no engine of, a version it does not offer, or a cache with a
/// password (ElastiCache Serverless admits by security group and TLS, not by a password).
pub(super) fn databases(cx: &mut Context) -> Vec<ManagedDatabase> {
    let project = cx.project;
    let mut databases = Vec::new();
    for service in &project.services {
        let Some(settings) = &service.ecs.managed else {
            continue;
        };
        if service.ecs.external.is_some() {
            cx.diagnostics.push(
                Diagnostic::error(
                    Code::ConflictingGrouping,
                    settings.path.clone(),
                    format!("`{}` is both `x-ecs.external` and `x-ecs.managed`", service.name),
                )
                .with_help("keep `external` for a database that exists, or `managed` for one the data stack makes"),
            );
            continue;
        }
        super::grouping::warn_unused_keys_of_external(cx, service);
        if let Some(database) = database(cx, service, settings) {
            databases.push(database);
        }
    }
    databases
}

fn database(cx: &mut Context, service: &Service, settings: &ManagedSettings) -> Option<ManagedDatabase> {
    let image = service.image.as_deref().unwrap_or_default();
    let Some(software) = software(image) else {
        cx.diagnostics.push(
            Diagnostic::error(
                Code::ManagedImage,
                settings.path.clone(),
                format!(
                    "`{}` runs `{}`, which AWS runs no managed engine of",
                    service.name,
                    crate::quote::shown(image)
                ),
            )
            .with_help(format!(
                "`managed` takes the images {MANAGED_IMAGES}; remove it to keep the service in a container"
            )),
        );
        return None;
    };
    let (runs_on, port) = match software {
        Software::Postgres if settings.aurora => (ManagedService::Aurora, 5432),
        Software::Postgres => (ManagedService::Rds, 5432),
        Software::Mysql if settings.aurora => (ManagedService::Aurora, 3306),
        Software::Mysql | Software::Mariadb => (ManagedService::Rds, 3306),
        Software::Mongo => (ManagedService::DocumentDb, 27017),
        Software::Redis | Software::Valkey => (ManagedService::ElastiCache, 6379),
        Software::Memcached => (ManagedService::ElastiCache, 11211),
    };
    if settings.aurora && !matches!(software, Software::Postgres | Software::Mysql) {
        cx.diagnostics.push(
            Diagnostic::error(
                Code::ManagedImage,
                settings.path.key("engine"),
                format!("Aurora runs PostgreSQL and MySQL, not the engine of `{}`", service.name),
            )
            .with_help("remove `engine: aurora`"),
        );
        return None;
    }
    let (version, version_from) = version(cx, service, software, settings, runs_on)?;
    let engine = match (software, settings.aurora) {
        (Software::Postgres, true) => "aurora-postgresql",
        (Software::Postgres, false) => "postgres",
        (Software::Mysql, true) => "aurora-mysql",
        (Software::Mysql, false) => "mysql",
        (Software::Mariadb, _) => "mariadb",
        (Software::Mongo, _) => "docdb",
        (Software::Redis, _) => "redis",
        (Software::Valkey, _) => "valkey",
        (Software::Memcached, _) => "memcached",
    };
    let id = logical_id(&service.name);
    let (username, password, database_name) = credentials(cx, service, software, settings, runs_on)?;
    warn_unused_settings(cx, service, settings, runs_on);
    let cache = runs_on == ManagedService::ElastiCache;
    let dropped_volumes = service
        .mounts
        .iter()
        .filter_map(|mount| match &mount.source {
            crate::normalise::MountSource::Named(name) => Some(name.clone()),
            _ => None,
        })
        .collect();
    Some(ManagedDatabase {
        service: service.name.clone(),
        runs_on,
        engine,
        version,
        version_from,
        port,
        username,
        database_name: database_name.filter(|name| valid_name(name, 63) && name != "postgres"),
        instance_class: match runs_on {
            ManagedService::Rds => Some(class(settings, "db.t4g.micro")),
            ManagedService::DocumentDb => Some(class(settings, "db.t4g.medium")),
            // Aurora Serverless v2 sizes itself: its instances are of the class that does.
            ManagedService::Aurora => Some("db.serverless".to_string()),
            ManagedService::ElastiCache => None,
        },
        storage: (runs_on == ManagedService::Rds).then(|| settings.storage.unwrap_or(20)),
        multi_az: settings.multi_az.unwrap_or(false),
        backup_retention_days: settings.backup_retention_days.unwrap_or(7),
        deletion_protection: settings.deletion_protection.unwrap_or(true),
        endpoint: cx.deferred(&format!("{id}Endpoint"), Source::Stack("data")),
        secret: (!cache).then(|| cx.deferred(&format!("{id}SecretArn"), Source::Stack("data"))),
        logical_id: id,
        connection_strings: Vec::new(),
        password_variables: Vec::new(),
        clients: Vec::new(),
        dropped_volumes,
        password,
    })
}

/// (master user, compose password, database name) from the compose environment: none for a cache,
/// which is an error when it has a password.
fn credentials(
    cx: &mut Context,
    service: &Service,
    software: Software,
    settings: &ManagedSettings,
    runs_on: ManagedService,
) -> Option<(Option<String>, Option<String>, Option<String>)> {
    Some(match credential_variables(software, service) {
        Some((users, passwords, names, default_user)) => {
            let user = environment(service, users).unwrap_or(default_user).to_string();
            let longest = if matches!(software, Software::Mysql | Software::Mariadb) {
                16
            } else {
                63
            };
            if !valid_name(&user, longest) {
                cx.diagnostics.push(
                    Diagnostic::error(
                        Code::ManagedImage,
                        service.path.key("environment"),
                        format!(
                            "the user `{}` of `{}` is not a master user name {} takes",
                            crate::quote::shown(&user),
                            service.name,
                            runs_on.describe()
                        ),
                    )
                    .with_help(format!(
                        "a letter, then letters, digits and `_`, up to {longest}: set `{}` so",
                        users.first().copied().unwrap_or("the user variable")
                    )),
                );
                return None;
            }
            let database_name = environment(service, names).map(str::to_string);
            (
                Some(user),
                environment(service, passwords).map(str::to_string),
                database_name,
            )
        }
        None => {
            let password = environment(service, &["REDIS_PASSWORD", "VALKEY_PASSWORD"]).is_some()
                || service
                    .command
                    .iter()
                    .flatten()
                    .any(|argument| argument.contains("requirepass"));
            if password {
                cx.diagnostics.push(
                    Diagnostic::error(
                        Code::ManagedConnection,
                        settings.path.clone(),
                        format!("`{}` has a password, which ElastiCache Serverless does not take from compose", service.name),
                    )
                    .with_help("the cache admits only the tasks' security group, over TLS: remove the password from the cache and its clients, or keep it in a container (remove `managed`)"),
                );
                return None;
            }
            (None, None, None)
        }
    })
}

fn class(settings: &ManagedSettings, default: &str) -> String {
    settings
        .instance_class
        .as_ref()
        .map_or_else(|| default.to_string(), |(class, _)| class.clone())
}

/// A setting the engine has no use for: Aurora Serverless and ElastiCache Serverless size
/// themselves, and only RDS has storage to give.
fn warn_unused_settings(cx: &mut Context, service: &Service, settings: &ManagedSettings, runs_on: ManagedService) {
    let unused = [
        settings
            .instance_class
            .as_ref()
            .filter(|_| matches!(runs_on, ManagedService::Aurora | ManagedService::ElastiCache))
            .map(|(_, path)| path.clone()),
        settings
            .storage
            .filter(|_| runs_on != ManagedService::Rds)
            .map(|_| settings.path.key("storage")),
        settings
            .multi_az
            .filter(|_| runs_on == ManagedService::ElastiCache)
            .map(|_| settings.path.key("multi_az")),
    ];
    for path in unused.into_iter().flatten() {
        cx.diagnostics.push(
            Diagnostic::warning(
                Code::UnusedSetting,
                path.clone(),
                format!(
                    "`{path}` is not used: {} of `{}` sizes itself",
                    runs_on.describe(),
                    service.name
                ),
            )
            .with_help("remove it"),
        );
    }
}

/// The clients' side: each reference to a managed database (already its endpoint) gets what the
/// engine needs (TLS for DocumentDB and ElastiCache, no retryable writes on DocumentDB), a
/// connection string with a password becomes a secret the data stack builds, and each variable
/// that holds the database's compose password is read from the generated secret.
pub(super) fn connect(
    cx: &mut Context,
    tasks: &mut [TaskDraft],
    references: &[Reference],
    databases: &mut [ManagedDatabase],
) {
    for database in databases.iter_mut() {
        let service = database.service.clone();
        read_passwords_from_secret(cx, tasks, database);
        for reference in references
            .iter()
            .filter(|r| r.target == service && matches!(r.outcome, Outcome::Managed { .. }))
        {
            if !database.clients.contains(&reference.service) {
                database.clients.push(reference.service.clone());
            }
            match &reference.site {
                ReferenceSite::Environment { variable } => {
                    connect_variable(cx, tasks, reference, variable, database);
                }
                _ => connect_argument(cx, tasks, reference, database),
            }
        }
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

/// The value of a client's variable that reaches the database: adjusted for TLS, and a secret of
/// its own when it carries a password.
fn connect_variable(
    cx: &mut Context,
    tasks: &mut [TaskDraft],
    reference: &Reference,
    variable: &str,
    database: &mut ManagedDatabase,
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
    let endpoint = database.endpoint.text();
    let Some(url) = Url::parse(&value) else {
        if matches!(
            database.runs_on,
            ManagedService::DocumentDb | ManagedService::ElastiCache
        ) {
            cx.diagnostics.push(
                Diagnostic::warning(
                    Code::ManagedConnection,
                    reference.path.clone(),
                    format!(
                        "`{variable}` of `{}` reaches {} of `{}`, which takes TLS connections only",
                        reference.service,
                        database.runs_on.describe(),
                        database.service
                    ),
                )
                .with_help(tls_help(database.runs_on)),
            );
        }
        return;
    };
    let adjusted = url.adjusted(database.runs_on);
    if adjusted.text != value {
        let change = match database.runs_on {
            ManagedService::DocumentDb => {
                "`tls=true` and `retryWrites=false` (DocumentDB takes TLS only, and no retryable writes)"
            }
            _ => "`rediss://` (ElastiCache Serverless takes TLS only)",
        };
        cx.diagnostics.push(Diagnostic::note(
            Code::ManagedConnection,
            reference.path.clone(),
            format!("`{variable}` of `{}` gets {change}", reference.service),
        ));
    }
    if adjusted.password.is_none() {
        container.environment[index].1 = adjusted.text;
        return;
    }
    if let (Some(user), Some(master)) = (&adjusted.user, &database.username) {
        if user != master {
            cx.diagnostics.push(
                Diagnostic::warning(
                    Code::ManagedConnection,
                    reference.path.clone(),
                    format!(
                        "`{variable}` of `{}` connects as `{user}`, but the managed `{}` has the user `{master}` only",
                        reference.service, database.service
                    ),
                )
                .with_help("set the database's user variable (`POSTGRES_USER`, `MYSQL_USER`, `MONGO_INITDB_ROOT_USERNAME`) to the user the app connects as"),
            );
        }
    }
    let Some(secret_id) = database
        .secret
        .as_ref()
        .map(|_| format!("{}Secret", database.logical_id))
    else {
        return;
    };
    let logical = format!(
        "{}{}",
        logical_id(&reference.service),
        logical_id(&variable.to_ascii_lowercase())
    );
    let arn = cx.deferred(&format!("{logical}Arn"), Source::Stack("data"));
    let template = adjusted.template(&endpoint, &endpoint_attribute(database), &secret_id);
    container.environment.remove(index);
    container.secrets.push((variable.to_string(), arn.clone()));
    cx.diagnostics.push(
        Diagnostic::note(
            Code::ManagedSecret,
            reference.path.clone(),
            format!(
                "`{variable}` of `{}` is read from a secret the data stack builds: the connection string with `{}`'s endpoint and generated password",
                reference.service, database.service
            ),
        ),
    );
    database.connection_strings.push(ConnectionString {
        service: reference.service.clone(),
        variable: variable.to_string(),
        logical_id: logical,
        template,
        arn,
    });
}

/// The `Fn::Sub` name of the database's address in `data.yaml`.
fn endpoint_attribute(database: &ManagedDatabase) -> String {
    let id = &database.logical_id;
    match database.runs_on {
        ManagedService::Rds => format!("{id}Database.Endpoint.Address"),
        ManagedService::Aurora => format!("{id}Cluster.Endpoint.Address"),
        ManagedService::DocumentDb => format!("{id}Cluster.Endpoint"),
        ManagedService::ElastiCache => format!("{id}Cache.Endpoint.Address"),
    }
}

fn tls_help(runs_on: ManagedService) -> &'static str {
    match runs_on {
        ManagedService::DocumentDb => "connect with TLS and without retryable writes (`tls=true&retryWrites=false` in a mongodb:// URL), trusting the RDS CA bundle (https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem, put in the image, `tlsCAFile=`)",
        _ => "turn TLS on in the client (a `rediss://` URL, or its TLS setting); ElastiCache's certificate is publicly trusted",
    }
}

/// A reference in a command or health check, where ECS gives no secret: the compose password
/// (wrong for the managed database anyway) is taken out of the argument, and the container gets
/// the generated one in the variable its engine's clients read (`PGPASSWORD`, `MYSQL_PWD`).
fn connect_argument(cx: &mut Context, tasks: &mut [TaskDraft], reference: &Reference, database: &mut ManagedDatabase) {
    let carries_password = super::passwords::holds_a_password(&reference.before) || reference.before.contains("***");
    let tls = matches!(
        database.runs_on,
        ManagedService::DocumentDb | ManagedService::ElastiCache
    );
    if !carries_password && !tls {
        return;
    }
    let (message, help) = if carries_password {
        let variable = strip_argument_password(tasks, reference, database);
        (
            format!(
                "`{}` passed a password to the managed `{}` in an argument, where ECS can give no secret: it is taken out",
                reference.service, database.service
            ),
            match variable {
                Some(variable) => format!("the container reads the generated password from `{variable}`, as the engine's clients do; or read the whole URL from a variable (`$DATABASE_URL`), which compose2ecs makes a secret"),
                None => "read the URL from a variable instead (`$DATABASE_URL`): compose2ecs makes a variable's connection string a secret with the generated password".to_string(),
            },
        )
    } else {
        (
            format!(
                "`{}` reaches {} of `{}` in an argument; it takes TLS connections only",
                reference.service,
                database.runs_on.describe(),
                database.service
            ),
            tls_help(database.runs_on).to_string(),
        )
    };
    cx.diagnostics
        .push(Diagnostic::warning(Code::ManagedConnection, reference.path.clone(), message).with_help(help));
}

/// The argument of `reference` without its password; returns the variable the engine's clients
/// read a password from (`PGPASSWORD`, `MYSQL_PWD`), given the generated one when the container
/// sets none.
fn strip_argument_password(
    tasks: &mut [TaskDraft],
    reference: &Reference,
    database: &mut ManagedDatabase,
) -> Option<&'static str> {
    let container = tasks
        .iter_mut()
        .flat_map(|task| task.containers.iter_mut())
        .find(|c| c.service == reference.service)?;
    let (arguments, index) = match reference.site {
        ReferenceSite::Command { argument } => (container.command.as_mut()?, argument),
        ReferenceSite::Entrypoint { argument } => (container.entrypoint.as_mut()?, argument),
        ReferenceSite::Healthcheck { argument } => (&mut container.health_check.as_mut()?.command, argument),
        ReferenceSite::Environment { .. } => return None,
    };
    let argument = arguments.get_mut(index)?;
    let start = argument.find("://").and_then(|separator| {
        argument[..separator]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(Some(0), |i| Some(i + 1))
    });
    let password = start.and_then(|start| {
        Url::parse(&argument[start..])
            .and_then(|url| url.password)
            .map(|(a, b)| (start + a, start + b))
    });
    *argument = match password {
        // `user:password@` becomes `user@`.
        Some((a, b)) => format!("{}{}", &argument[..a - 1], &argument[b..]),
        None => super::passwords::mask_credentials(argument),
    };
    let variable = match database.engine {
        "postgres" | "aurora-postgresql" => "PGPASSWORD",
        "mysql" | "mariadb" | "aurora-mysql" => "MYSQL_PWD",
        _ => return None,
    };
    let secret = database.secret.as_ref()?;
    let taken = container.environment.iter().any(|(name, _)| name == variable)
        || container.secrets.iter().any(|(name, _)| name == variable);
    if !taken {
        container.secrets.push((
            variable.to_string(),
            DeployValue::Known(format!("{}:password::", secret.text())),
        ));
        database
            .password_variables
            .push((container.service.clone(), variable.to_string()));
    }
    Some(variable)
}

/// Each client variable whose value is the database's compose password (`DB_PASSWORD: secret`
/// beside `POSTGRES_PASSWORD: secret`) is read from the generated secret's `password` key.
fn read_passwords_from_secret(cx: &mut Context, tasks: &mut [TaskDraft], database: &mut ManagedDatabase) {
    let (Some(password), Some(secret)) = (database.password.clone(), database.secret.clone()) else {
        return;
    };
    let project = cx.project;
    for container in tasks.iter_mut().flat_map(|task| task.containers.iter_mut()) {
        let mut index = 0;
        while index < container.environment.len() {
            let (name, value) = &container.environment[index];
            if !(names_a_secret(name) && *value == password) {
                index += 1;
                continue;
            }
            let (name, _) = container.environment.remove(index);
            let path = project
                .service(&container.service)
                .and_then(|service| service.environment.iter().find(|v| v.name == name))
                .map_or_else(KeyPath::root, |v| v.path.clone());
            cx.diagnostics.push(Diagnostic::note(
                Code::ManagedSecret,
                path,
                format!(
                    "`{name}` of `{}` is read from the generated password of the managed `{}`",
                    container.service, database.service
                ),
            ));
            container.secrets.push((
                name.clone(),
                DeployValue::Known(format!("{}:password::", secret.text())),
            ));
            database.password_variables.push((container.service.clone(), name));
        }
    }
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

/// A URL whose authority holds the managed endpoint: `scheme://[user[:password]@]host…`.
struct Url<'v> {
    value: &'v str,
    scheme: (usize, usize),
    user: Option<(usize, usize)>,
    password: Option<(usize, usize)>,
    query: Option<usize>,
}

/// A URL adjusted for the engine, with where its user and password stand.
struct Adjusted {
    text: String,
    user: Option<String>,
    password: Option<(usize, usize)>,
}

impl<'v> Url<'v> {
    fn parse(value: &'v str) -> Option<Self> {
        let start = value.len() - value.trim_start().len();
        let scheme_end = start + value[start..].find("://")?;
        let scheme = &value[start..scheme_end];
        if scheme.is_empty()
            || !scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        {
            return None;
        }
        let authority_start = scheme_end + 3;
        let authority_end = value[authority_start..]
            .find(['/', '?', '#'])
            .map_or(value.len(), |end| authority_start + end);
        let authority = &value[authority_start..authority_end];
        let (user, password) = match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                match userinfo.find(':') {
                    Some(colon) => (
                        Some((authority_start, authority_start + colon)),
                        Some((authority_start + colon + 1, authority_start + at)),
                    ),
                    None => (Some((authority_start, authority_start + at)), None),
                }
            }
            None => (None, None),
        };
        Some(Url {
            value,
            scheme: (start, scheme_end),
            user,
            password,
            query: value[authority_end..].find('?').map(|q| authority_end + q),
        })
    }

    /// The URL as the engine needs it: `rediss://` for ElastiCache; `tls=true` and
    /// `retryWrites=false` for DocumentDB.
    fn adjusted(&self, runs_on: ManagedService) -> Adjusted {
        let value = self.value;
        let scheme = &value[self.scheme.0..self.scheme.1];
        let mut text = String::with_capacity(value.len() + 32);
        let mut shift: isize = 0;
        text.push_str(&value[..self.scheme.0]);
        if runs_on == ManagedService::ElastiCache && scheme.eq_ignore_ascii_case("redis") {
            text.push_str("rediss");
            shift += 1;
        } else {
            text.push_str(scheme);
        }
        text.push_str(&value[self.scheme.1..]);
        if runs_on == ManagedService::DocumentDb {
            let query = self.query.map(|q| &value[q + 1..]).unwrap_or_default();
            let query = query.split('#').next().unwrap_or_default();
            let has = |key: &str| {
                query
                    .split('&')
                    .any(|pair| pair.split('=').next().is_some_and(|k| k.eq_ignore_ascii_case(key)))
            };
            let mut added = Vec::new();
            if !has("tls") && !has("ssl") {
                added.push("tls=true");
            }
            if !has("retryWrites") {
                added.push("retryWrites=false");
            } else {
                text = text.replace("retryWrites=true", "retryWrites=false");
            }
            if !added.is_empty() {
                let fragment = text.find('#').filter(|f| self.query.is_none_or(|q| *f > q));
                let insert_at = fragment.unwrap_or(text.len());
                let separator = match self.query {
                    None => "?",
                    Some(_) if text[..insert_at].ends_with(['?', '&']) => "",
                    Some(_) => "&",
                };
                // A URL without a path needs one before its query.
                let slash = if self.query.is_none() && !text[self.scheme.1 + 3..insert_at].contains('/') {
                    "/"
                } else {
                    ""
                };
                text.insert_str(insert_at, &format!("{slash}{separator}{}", added.join("&")));
            }
        }
        let moved = |(a, b): (usize, usize)| ((a as isize + shift) as usize, (b as isize + shift) as usize);
        Adjusted {
            user: self.user.map(|(a, b)| value[a..b].to_string()),
            password: self.password.map(moved),
            text,
        }
    }
}

impl Adjusted {
    /// The `Fn::Sub` text of the connection string: `${…}` written as `${!…}`, the endpoint as its
    /// attribute, the password as a dynamic reference to the generated secret.
    fn template(&self, endpoint: &str, attribute: &str, secret: &str) -> String {
        let escape = |text: &str| {
            text.replace("${", "${!")
                .replace(endpoint, &format!("${{{attribute}}}"))
        };
        let (start, end) = self.password.expect("a connection string has a password");
        format!(
            "{}{{{{resolve:secretsmanager:${{{secret}}}:SecretString:password}}}}{}",
            escape(&self.text[..start]),
            escape(&self.text[end..])
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No password of the compose file, and no generated one, reaches a written file, a message or
    /// the plan, for each engine and each place a client wires the password.
    #[test]
    fn no_password_reaches_the_output_or_a_message() {
        let compose = "services:
  pg:
    image: postgres:16
    environment: {POSTGRES_USER: app, POSTGRES_PASSWORD: sentinel-pg, POSTGRES_DB: app}
    x-ecs: {managed: true}
  my:
    image: mysql:8.0
    environment: {MYSQL_USER: app, MYSQL_PASSWORD: sentinel-my, MYSQL_ROOT_PASSWORD: sentinel-root}
    x-ecs: {managed: {engine: aurora, version: 8.0.mysql_aurora.3.08.2}}
  mongo:
    image: mongo:5.0
    environment: {MONGO_INITDB_ROOT_USERNAME: app, MONGO_INITDB_ROOT_PASSWORD: sentinel-mongo}
    x-ecs: {managed: true}
  app:
    image: app:1
    command: [\"psql\", \"postgres://app:sentinel-pg@pg:5432/app\"]
    environment:
      DATABASE_URL: postgres://app:sentinel-pg@pg/app
      PGPASSWORD: sentinel-pg
      MYSQL_URL: mysql://app:sentinel-my@my:3306/app
      DB_PASSWORD: sentinel-my
      MONGO_URL: mongodb://app:sentinel-mongo@mongo:27017/app
      MONGO_PASSWORD: sentinel-mongo
x-ecs: {region: eu-west-1}
";
        let conversion = crate::test_conversion(compose);
        let plan = conversion.plan.as_ref().expect("it converts");
        let mut seen: Vec<String> = conversion.output.values().cloned().collect();
        seen.push(crate::report::json(plan));
        seen.push(crate::report::table(plan));
        for diagnostic in conversion.diagnostics.iter() {
            seen.push(diagnostic.message.clone());
            seen.extend(diagnostic.help.clone());
        }
        for text in &seen {
            assert!(!text.contains("sentinel"), "a password in: {text}");
        }
        assert_eq!(plan.managed.len(), 3);
        let app = plan
            .tasks
            .iter()
            .flat_map(|t| &t.containers)
            .find(|c| c.service == "app")
            .unwrap();
        let secrets: Vec<&str> = app.secrets.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            secrets,
            [
                "PGPASSWORD",
                "DATABASE_URL",
                "DB_PASSWORD",
                "MYSQL_URL",
                "MONGO_PASSWORD",
                "MONGO_URL"
            ]
        );
        // The argument is a warning: ECS gives no secret there; its value stays the user's.
        assert!(conversion
            .diagnostics
            .iter()
            .any(|d| d.code == Code::ManagedConnection && d.path.to_string().starts_with("services.app.command")));
        // The execution role reads exactly the secrets the clients use.
        let data = &conversion.output["cloudformation/data.yaml"];
        let policy = &data[data.find("ReadDatabaseSecretsPolicy").unwrap()..];
        assert_eq!(policy.matches("- Ref: ").count(), 1 + 6, "{policy}");
    }

    #[test]
    fn versions_come_from_the_tag() {
        assert_eq!(tag_version("16.2-alpine"), [16, 2]);
        assert_eq!(tag_version("pg16"), [16]);
        assert_eq!(tag_version("7.0.5-jammy"), [7, 0, 5]);
        assert!(tag_version("latest").is_empty());
        assert_eq!(image_tag("registry:5000/team/postgres:16@sha256:ab"), Some("16"));
        assert_eq!(image_tag("registry:5000/team/postgres"), None);
        assert!(covers(&[8, 0], &[8, 0, 36]));
        assert!(covers(&[8, 4], &[8]));
        assert!(!covers(&[8, 0], &[8, 4]));
    }

    #[test]
    fn urls_get_tls_for_documentdb_and_elasticache() {
        let adjusted = |value: &str, on| Url::parse(value).unwrap().adjusted(on).text;
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
                "mongodb://h:27017/app?retryWrites=true&tls=true",
                ManagedService::DocumentDb
            ),
            "mongodb://h:27017/app?retryWrites=false&tls=true"
        );
        assert_eq!(
            adjusted("redis://cache.example.com:6379/0", ManagedService::ElastiCache),
            "rediss://cache.example.com:6379/0"
        );
        assert_eq!(
            adjusted("postgres://u:p@h:5432/app", ManagedService::Rds),
            "postgres://u:p@h:5432/app"
        );
        assert!(Url::parse("db.example.com").is_none());
    }

    #[test]
    fn a_connection_string_reads_its_password_from_the_secret() {
        let url = Url::parse("redis://u:p4ss@{{CacheEndpoint}}:6379/${X}").unwrap();
        let adjusted = url.adjusted(ManagedService::ElastiCache);
        assert_eq!(adjusted.user.as_deref(), Some("u"));
        assert_eq!(
            adjusted.template("{{CacheEndpoint}}", "CacheCache.Endpoint.Address", "CacheSecret"),
            "rediss://u:{{resolve:secretsmanager:${CacheSecret}:SecretString:password}}@${CacheCache.Endpoint.Address}:6379/${!X}"
        );
    }
}
