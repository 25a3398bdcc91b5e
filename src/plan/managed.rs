//! Managed databases: a database or cache service with `x-ecs.managed` runs on an AWS service in
//! the data stack (PostgreSQL, MySQL and MariaDB on RDS or Aurora, MongoDB on DocumentDB, Redis,
//! Valkey and memcached on ElastiCache Serverless) instead of in a container. Its version comes
//! from the image's tag, its user and database from the compose environment, its password is
//! generated in Secrets Manager; every reference to it becomes its endpoint, and every password
//! compose wired to it by hand is read from that secret.

mod clients;

use super::{logical_id, wellknown, Context, DeployValue, Source};
use crate::diagnostic::{Code, Diagnostic};
use crate::normalise::{ManagedSettings, Service};
pub(super) use clients::connect;
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
    /// Whether the service takes TLS connections only: DocumentDB (as made) and ElastiCache
    /// Serverless.
    pub fn tls_only(self) -> bool {
        matches!(self, ManagedService::DocumentDb | ManagedService::ElastiCache)
    }

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
    /// The last port its security group admits the tasks on: a serverless Redis or Valkey also
    /// serves reads from replicas on the next one (6380).
    pub last_port: u16,
    /// The prefix of its resources' logical ids in `data.yaml` (`Mongodb`).
    pub logical_id: String,
    /// The resource the endpoint is an attribute of (`MongodbCluster`), and the attribute.
    pub endpoint_resource: String,
    pub endpoint_attribute: &'static str,
    /// The instances of a cluster (Aurora, DocumentDB): a writer, and a reader in another zone
    /// with `multi_az`.
    pub instances: Vec<String>,
    /// ElastiCache's name of a serverless cache (`PROJECT-SERVICE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_name: Option<String>,
    /// The security groups its own group admits: the tasks' (`x-ecs.security_groups`); empty for
    /// the base stack's `TaskSecurityGroupId`.
    pub admitted_groups: Vec<String>,
    /// The master user, from the compose environment; none for a cache.
    pub username: Option<String>,
    /// The database created with it, from the compose environment.
    pub database_name: Option<String>,
    pub instance_class: Option<String>,
    /// RDS storage in GiB, and the most it may grow to (ten times that, within RDS's 65,536).
    pub storage: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_storage: Option<u32>,
    pub multi_az: bool,
    pub backup_retention_days: u32,
    pub deletion_protection: bool,
    /// The address the clients reach it at: the data stack's output.
    pub endpoint: DeployValue,
    /// The generated secret (`{"username", "password"}`) the clients read the password from, and
    /// its logical id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<DeployValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_resource: Option<String>,
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
    /// The passwords compose gives the database (its user's and root's), to find the clients'
    /// copies of them. Never shown.
    #[serde(skip)]
    passwords: Vec<String>,
    /// Its compose variables that name a file holding the password (`POSTGRES_PASSWORD_FILE`).
    #[serde(skip)]
    password_files: Vec<String>,
    /// The users compose connects its clients as (`POSTGRES_USER`'s value, MySQL's `root`), which
    /// the clients' user variables may hold.
    #[serde(skip)]
    compose_users: Vec<String>,
}

impl ManagedDatabase {
    /// Whether the clients read anything from the generated secret: the execution role may then.
    pub fn secret_is_read(&self) -> bool {
        !self.password_variables.is_empty()
    }

    /// The logical ids in `data.yaml` of the secrets the execution role reads for the clients:
    /// the generated one when a variable reads its password, and each connection string.
    pub fn secrets_read(&self) -> Vec<String> {
        let generated = self.secret_resource.clone().filter(|_| self.secret_is_read());
        generated
            .into_iter()
            .chain(self.connection_strings.iter().map(|c| c.logical_id.clone()))
            .collect()
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
/// RDS takes a major version (`16`, `8.0`) and picks its newest minor; these are the majors it
/// creates (December 2026), MySQL 8.0 in Extended Support, which AWS charges for (the
/// `managed-database` warning says so), since 8.4 turns off the password plugin older clients use.
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

/// Whether an Aurora MySQL version runs Serverless v2: 3.02.0 and later.
fn aurora_mysql_serverless(version: &str) -> bool {
    version
        .strip_prefix("8.0.mysql_aurora.3.")
        .and_then(|rest| rest.split('.').next())
        .and_then(|minor| minor.parse::<u32>().ok())
        .is_some_and(|minor| minor >= 2)
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
        // Aurora MySQL's versions are full ones, taken as written: Serverless v2 needs version 3.
        let known = written.contains(&version.as_str())
            || (runs_on == ManagedService::Aurora && software == Software::Mysql && aurora_mysql_serverless(version));
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

/// Where the first of `names` the service's environment sets is written; its `environment` when
/// none is.
fn variable_path(service: &Service, names: &[&str]) -> crate::diagnostic::KeyPath {
    names
        .iter()
        .find_map(|name| service.environment.iter().find(|variable| variable.name == *name))
        .map_or_else(|| service.path.key("environment"), |variable| variable.path.clone())
}

/// (user variables, password variables, database variables, default user) of an engine's images.
type CredentialVariables = (
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
    &'static str,
);

fn credential_variables(software: Software, service: &Service) -> Option<CredentialVariables> {
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
            &[
                "MYSQL_PASSWORD",
                "MARIADB_PASSWORD",
                "MYSQL_ROOT_PASSWORD",
                "MARIADB_ROOT_PASSWORD",
            ],
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
        let Some(database) = database(cx, service, settings) else {
            continue;
        };
        // `my-db` and `my_db` would name one set of resources in `data.yaml`.
        if let Some(other) = databases
            .iter()
            .find(|d: &&ManagedDatabase| d.logical_id == database.logical_id)
        {
            cx.diagnostics.push(
                Diagnostic::error(
                    Code::NameCollision,
                    settings.path.clone(),
                    format!(
                        "the managed `{}` and `{}` get the same name in data.yaml (`{}`)",
                        other.service, database.service, database.logical_id
                    ),
                )
                .with_help("rename one of the services"),
            );
            continue;
        }
        databases.push(database);
    }
    // A DB subnet group spans two availability zones: with the tasks' subnets given, two at least.
    let subnets = project.settings.subnets.as_ref().map_or(2, Vec::len);
    if subnets < 2 {
        if let Some(database) = databases.iter().find(|d| d.runs_on != ManagedService::ElastiCache) {
            cx.diagnostics.push(
                Diagnostic::error(
                    Code::ManagedImage,
                    crate::diagnostic::KeyPath::root().key("x-ecs").key("subnets"),
                    format!(
                        "{} of `{}` needs subnets in two availability zones; `x-ecs.subnets` gives one",
                        database.runs_on.describe(),
                        database.service
                    ),
                )
                .with_help("give the tasks' subnets in two zones (or more)"),
            );
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
    let (runs_on, default_port, engine) = engine(software, settings.aurora);
    // The port compose's clients dial, which RDS and DocumentDB can listen on too.
    let port = match runs_on {
        ManagedService::ElastiCache => default_port,
        _ => compose_port(service).unwrap_or(default_port),
    };
    let (version, version_from) = version(cx, service, software, settings, runs_on)?;
    let id = logical_id(&service.name);
    let credentials = credentials(cx, service, software, settings, runs_on)?;
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
    let multi_az = settings.multi_az.unwrap_or(false);
    let (endpoint_resource, endpoint_attribute, instances) = layout(&id, runs_on, multi_az);
    Some(ManagedDatabase {
        service: service.name.clone(),
        runs_on,
        engine,
        version,
        version_from,
        port,
        last_port: if matches!(engine, "redis" | "valkey") {
            port + 1
        } else {
            port
        },
        username: credentials.username,
        database_name: credentials.database_name,
        instance_class: match runs_on {
            ManagedService::Rds => Some(class(settings, "db.t4g.micro")),
            ManagedService::DocumentDb => Some(class(settings, "db.t4g.medium")),
            // Aurora Serverless v2 sizes itself: its instances are of the class that does.
            ManagedService::Aurora => Some("db.serverless".to_string()),
            ManagedService::ElastiCache => None,
        },
        storage: (runs_on == ManagedService::Rds).then(|| settings.storage.unwrap_or(20)),
        max_storage: (runs_on == ManagedService::Rds).then(|| (settings.storage.unwrap_or(20) * 10).min(65536)),
        multi_az,
        backup_retention_days: settings.backup_retention_days.unwrap_or(7),
        // A serverless cache has no deletion protection: it holds nothing a snapshot must keep.
        deletion_protection: !cache && settings.deletion_protection.unwrap_or(true),
        endpoint: cx.deferred(&format!("{id}Endpoint"), Source::Stack("data")),
        secret: (!cache).then(|| cx.deferred(&format!("{id}SecretArn"), Source::Stack("data"))),
        secret_resource: (!cache).then(|| format!("{id}Secret")),
        endpoint_resource,
        endpoint_attribute,
        instances,
        cache_name: cache.then(|| cache_name(&cx.project.name, &service.name)),
        admitted_groups: cx.project.settings.security_groups.clone().unwrap_or_default(),
        logical_id: id,
        connection_strings: Vec::new(),
        password_variables: Vec::new(),
        clients: Vec::new(),
        dropped_volumes,
        passwords: credentials.passwords,
        compose_users: credentials.compose_users,
        password_files: credentials.password_files,
    })
}

/// The resource a database's endpoint is an attribute of, the attribute, and a cluster's
/// instances: a writer, and with `multi_az` a reader in another zone.
fn layout(id: &str, runs_on: ManagedService, multi_az: bool) -> (String, &'static str, Vec<String>) {
    let (resource, attribute) = match runs_on {
        ManagedService::Rds => (format!("{id}Database"), "Endpoint.Address"),
        ManagedService::Aurora => (format!("{id}Cluster"), "Endpoint.Address"),
        ManagedService::DocumentDb => (format!("{id}Cluster"), "Endpoint"),
        ManagedService::ElastiCache => (format!("{id}Cache"), "Endpoint.Address"),
    };
    let clustered = matches!(runs_on, ManagedService::Aurora | ManagedService::DocumentDb);
    let instances = match (clustered, multi_az) {
        (false, _) => vec![],
        (true, false) => vec![format!("{id}Instance")],
        (true, true) => vec![format!("{id}Instance"), format!("{id}Replica")],
    };
    (resource, attribute, instances)
}

/// The port a database's compose service listens on, when not its engine's: its first TCP port
/// (`ports`, `expose`), or the one its command gives (`postgres -p 5433`, `mongod --port 27018`).
fn compose_port(service: &Service) -> Option<u16> {
    if let Some(port) = service
        .ports
        .iter()
        .find(|p| p.protocol == crate::normalise::Protocol::Tcp)
    {
        return Some(port.target);
    }
    let command = service.command.as_deref().unwrap_or_default();
    command.iter().enumerate().find_map(|(i, argument)| {
        let value = match argument.as_str() {
            "-p" | "--port" => command.get(i + 1).map(String::as_str),
            other => other.strip_prefix("--port="),
        };
        value.and_then(|v| v.parse().ok())
    })
}

/// The service that runs the software, its port, and CloudFormation's name of the engine.
fn engine(software: Software, aurora: bool) -> (ManagedService, u16, &'static str) {
    use ManagedService::*;
    match (software, aurora) {
        (Software::Postgres, true) => (Aurora, 5432, "aurora-postgresql"),
        (Software::Postgres, false) => (Rds, 5432, "postgres"),
        (Software::Mysql, true) => (Aurora, 3306, "aurora-mysql"),
        (Software::Mysql, false) => (Rds, 3306, "mysql"),
        (Software::Mariadb, _) => (Rds, 3306, "mariadb"),
        (Software::Mongo, _) => (DocumentDb, 27017, "docdb"),
        (Software::Redis, _) => (ElastiCache, 6379, "redis"),
        (Software::Valkey, _) => (ElastiCache, 6379, "valkey"),
        (Software::Memcached, _) => (ElastiCache, 11211, "memcached"),
    }
}

/// A serverless cache's name: `PROJECT-SERVICE` in lowercase letters, digits and `-`, starting
/// with a letter, without `--` or a trailing `-`, up to 40 (what ElastiCache takes).
fn cache_name(project: &str, service: &str) -> String {
    let mut name = String::new();
    for c in format!("{project}-{service}").chars() {
        let c = if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '-'
        };
        if !(c == '-' && (name.is_empty() || name.ends_with('-'))) {
            name.push(c);
        }
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name.insert_str(0, "c-");
    }
    let mut name: String = name.chars().take(40).collect();
    while name.ends_with('-') {
        name.pop();
    }
    name
}

/// What the compose environment says of a database's credentials.
#[derive(Default)]
struct Credentials {
    compose_users: Vec<String>,
    username: Option<String>,
    database_name: Option<String>,
    passwords: Vec<String>,
    password_files: Vec<String>,
}

/// The master user, the database and the compose passwords, from the compose environment: none
/// for a cache, which is an error when it has a password. A user AWS refuses is an error.
fn credentials(
    cx: &mut Context,
    service: &Service,
    software: Software,
    settings: &ManagedSettings,
    runs_on: ManagedService,
) -> Option<Credentials> {
    let Some((users, passwords, names, default_user)) = credential_variables(software, service) else {
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
        return Some(Credentials::default());
    };
    let user = environment(service, users).unwrap_or(default_user).to_string();
    let mysql = matches!(software, Software::Mysql | Software::Mariadb);
    let longest = if mysql { 16 } else { 63 };
    // Names each engine keeps for itself (RDS's own user, DocumentDB's roles).
    let reserved: &[&str] = match software {
        Software::Postgres => &["admin", "rdsadmin", "rds_superuser", "rdsrepladmin"],
        Software::Mongo => &["admin", "root", "serviceadmin"],
        _ => &["rdsadmin", "rdsrepladmin", "mysql.sys", "mysql.session"],
    };
    let refused = if !valid_name(&user, longest) {
        Some(format!("a letter, then letters, digits and `_`, up to {longest}"))
    } else if reserved.contains(&user.to_ascii_lowercase().as_str()) {
        Some(format!("{} keeps `{user}` for itself", runs_on.describe()))
    } else {
        None
    };
    if let Some(why) = refused {
        let variable = users.first().copied().unwrap_or("the user variable");
        cx.diagnostics.push(
            Diagnostic::error(
                Code::ManagedImage,
                variable_path(service, users),
                format!(
                    "the user `{}` of `{}` is not a master user {} takes: {why}",
                    crate::quote::shown(&user),
                    service.name,
                    runs_on.describe()
                ),
            )
            .with_help(format!(
                "set `{variable}` to another name, and the user the clients connect as with it"
            )),
        );
        return None;
    }
    // PostgreSQL's image creates a database named as its user when `POSTGRES_DB` is not set.
    let database_name = environment(service, names)
        .or(if software == Software::Postgres {
            environment(service, users)
        } else {
            None
        })
        .map(str::to_string);
    // A name RDS does not create at start (`my-app`) is made by hand; `postgres` exists already.
    let created = database_name.filter(|name| name != "postgres");
    if let Some(name) = created
        .as_ref()
        .filter(|name| !valid_name(name, if mysql { 64 } else { 63 }))
    {
        cx.diagnostics.push(
            Diagnostic::warning(
                Code::ManagedDatabase,
                variable_path(service, if environment(service, names).is_some() { names } else { users }),
                format!(
                    "{} creates no database `{}` with `{}`: the name is not one it takes at creation",
                    runs_on.describe(),
                    crate::quote::shown(name),
                    service.name
                ),
            )
            .with_help("create it once the database exists (`CREATE DATABASE \"…\"`), or give the database a name of letters, digits and `_`"),
        );
    }
    let password_files = passwords
        .iter()
        .map(|variable| format!("{variable}_FILE"))
        .filter(|variable| environment(service, &[variable.as_str()]).is_some())
        .collect();
    Some(Credentials {
        compose_users: environment(service, users)
            .into_iter()
            .chain(mysql.then_some("root"))
            .map(str::to_string)
            .collect(),
        username: Some(user),
        database_name: created.filter(|name| valid_name(name, if mysql { 64 } else { 63 })),
        passwords: passwords
            .iter()
            .filter_map(|variable| environment(service, &[*variable]))
            .map(str::to_string)
            .collect(),
        password_files,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// No password of the compose file reaches a written file, a message or the plan, for each
    /// engine and each place a client wires one: passwords with the characters URLs and shells
    /// treat apart, variables named `…_PASS`, arguments, a health check.
    #[test]
    fn no_password_reaches_the_output_or_a_message() {
        let compose = r#"services:
  pg:
    image: postgres:16
    environment: {POSTGRES_USER: app, POSTGRES_PASSWORD: "sentinel/pg#1?@x", POSTGRES_DB: app}
    x-ecs: {managed: true}
  my:
    image: mysql:8.0
    environment: {MYSQL_USER: app, MYSQL_PASSWORD: sentinel-my, MYSQL_ROOT_PASSWORD: sentinel-root}
    x-ecs: {managed: {engine: aurora, version: 8.0.mysql_aurora.3.08.2}}
  mongo:
    image: mongo:5.0
    environment: {MONGO_INITDB_ROOT_USERNAME: app, MONGO_INITDB_ROOT_PASSWORD: "sentinel$$mongo"}
    x-ecs: {managed: true}
  cache:
    image: redis:7
    x-ecs: {managed: true}
  app:
    image: app:1
    command: ["sh", "-c", "PGPASSWORD='sentinel/pg#1?@x' psql -h pg && psql postgres://app:sentinel/pg#1?@x@pg:5432/app"]
    healthcheck:
      test: ["CMD-SHELL", "mysqladmin ping -h my -uapp -psentinel-my"]
    environment:
      DATABASE_URL: "postgres://app:sentinel/pg#1?@x@pg/app"
      PG_PASS: "sentinel/pg#1?@x"
      MYSQL_URL: mysql://root:sentinel-root@my:3306/app
      DB_PWD: sentinel-my
      ROOT_PASSWORD: sentinel-root
      MONGO_URL: "mongodb://app:sentinel$$mongo@mongo:27017/app"
      MONGO_PASSWORD: "sentinel$$mongo"
      REDIS_URL: redis://default:sentinel-cache@cache:6379/0
x-ecs: {region: eu-west-1}
"#;
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
        assert_eq!(plan.managed.len(), 4);
        let app = plan
            .tasks
            .iter()
            .flat_map(|t| &t.containers)
            .find(|c| c.service == "app")
            .unwrap();
        let mut secrets: Vec<&str> = app.secrets.iter().map(|(name, _)| name.as_str()).collect();
        secrets.sort_unstable();
        assert_eq!(
            secrets,
            [
                "DATABASE_URL",
                "DB_PWD",
                "MONGO_PASSWORD",
                "MONGO_URL",
                "MYSQL_PWD",
                "MYSQL_URL",
                "PGPASSWORD",
                "PG_PASS",
                "ROOT_PASSWORD"
            ]
        );
        // The arguments keep working: their clients read the generated password from the variable.
        let command = app.command.as_ref().unwrap().join(" ");
        assert!(
            command.contains(" psql -h {{PgEndpoint}} && psql postgres://app@{{PgEndpoint}}:5432/app"),
            "{command}"
        );
        // A connection string connects as the database's user, whatever the URL said.
        let data = &conversion.output["cloudformation/data.yaml"];
        assert!(data.contains("mysql://app:{{resolve:secretsmanager:${MySecret}:SecretString:password}}@${MyCluster.Endpoint.Address}:3306/app"), "{data}");
        // The execution role reads exactly the secrets the clients use: three databases' and
        // three connection strings.
        let policy = &data[data.find("ReadDatabaseSecretsPolicy").unwrap()..];
        assert_eq!(policy.matches("- Ref: ").count(), 1 + 6, "{policy}");
    }

    /// What AWS would refuse at deploy time is refused at conversion, each at its key.
    #[test]
    fn what_aws_refuses_is_refused_where_it_is_written() {
        let refused = |compose: &str| -> Vec<(Code, String)> {
            let conversion = crate::test_conversion(compose);
            assert!(conversion.plan.is_none(), "{compose} is refused");
            conversion
                .diagnostics
                .iter()
                .filter(|d| d.severity == crate::diagnostic::Severity::Error)
                .map(|d| (d.code, d.path.to_string()))
                .collect()
        };
        let reserved = refused("services:\n  db:\n    image: postgres:16\n    environment: {POSTGRES_USER: admin}\n    x-ecs: {managed: true}\n");
        assert_eq!(
            reserved,
            [(Code::ManagedImage, "services.db.environment.POSTGRES_USER".into())]
        );
        let cache = refused("services:\n  cache:\n    image: redis:7\n    command: [redis-server, --requirepass, x]\n    x-ecs: {managed: true}\n");
        assert_eq!(
            cache,
            [(Code::ManagedConnection, "services.cache.x-ecs.managed".into())]
        );
        let aurora_mysql = refused("services:\n  db:\n    image: mysql:8.0\n    x-ecs: {managed: {engine: aurora, version: 8.0.mysql_aurora.3.01.1}}\n");
        assert_eq!(
            aurora_mysql,
            [(Code::ManagedVersion, "services.db.x-ecs.managed.version".into())]
        );
        let one_subnet = refused("x-ecs: {subnets: [subnet-1]}\nservices:\n  db:\n    image: mongo:5.0\n    x-ecs: {managed: true}\n  app: {image: app}\n");
        assert_eq!(one_subnet, [(Code::ManagedImage, "x-ecs.subnets".into())]);
        let same_name = refused("services:\n  my-db:\n    image: redis:7\n    x-ecs: {managed: true}\n  my_db:\n    image: redis:7\n    x-ecs: {managed: true}\n  app: {image: app}\n");
        assert_eq!(
            same_name,
            [(Code::NameCollision, "services.my_db.x-ecs.managed".into())]
        );
        let shared = refused("services:\n  pg:\n    image: postgres:16\n    environment: {POSTGRES_PASSWORD: same}\n    x-ecs: {managed: true}\n  my:\n    image: mysql:8.0\n    environment: {MYSQL_ROOT_PASSWORD: same}\n    x-ecs: {managed: true}\n  app:\n    image: app\n    environment: {PG_HOST: pg, MY_HOST: my}\n");
        assert_eq!(shared, [(Code::ManagedConnection, "services.app".into())]);
        // A database name RDS does not create is a warning, at the variable.
        let named = crate::test_conversion("services:\n  db:\n    image: postgres:16\n    environment: {POSTGRES_DB: my-app}\n    x-ecs: {managed: true}\n  app: {image: app}\n");
        assert!(named
            .diagnostics
            .iter()
            .any(|d| d.code == Code::ManagedDatabase && d.path.to_string() == "services.db.environment.POSTGRES_DB"));
        let data = &named.output["cloudformation/data.yaml"];
        assert!(!data.contains("DBName"), "{data}");
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
}
