//! Facts about well-known software, kept in one place: URL schemes' default ports, ports that do
//! not speak HTTP, and images that keep state.

/// The port a URL scheme implies when the URL names none.
pub fn scheme_port(scheme: &str) -> Option<u16> {
    Some(match scheme.to_ascii_lowercase().as_str() {
        "http" | "ws" => 80,
        "https" | "wss" => 443,
        "postgres" | "postgresql" => 5432,
        "mysql" | "mariadb" => 3306,
        "mongodb" => 27017,
        "redis" | "rediss" => 6379,
        "amqp" => 5672,
        "amqps" => 5671,
        "nats" => 4222,
        "memcached" => 11211,
        "kafka" => 9092,
        "sqlserver" | "mssql" => 1433,
        _ => return None,
    })
}

/// Ports of servers that do not speak HTTP: an Application Load Balancer cannot front them.
pub fn is_non_http_port(port: u16) -> bool {
    matches!(
        port,
        1433 | 1521 | 2181 | 3306 | 4222 | 5432 | 5671 | 5672 | 6379 | 9042 | 9092 | 11211 | 27017
    )
}

/// Images of servers that keep state (databases, queues, search indexes): several copies of one
/// are several separate databases, not one bigger database.
const STATEFUL_IMAGES: &[&str] = &[
    "cassandra",
    "clickhouse",
    "clickhouse-server",
    "couchdb",
    "elasticsearch",
    "etcd",
    "influxdb",
    "kafka",
    "mariadb",
    "minio",
    "mongo",
    "mongodb",
    "mssql-server",
    "mysql",
    "neo4j",
    "opensearch",
    "postgres",
    "postgis",
    "postgresql",
    "rabbitmq",
    "timescaledb",
    "redis",
    "valkey",
    "zookeeper",
];

/// The port a well-known server image listens on by default, for references that name none:
/// the first of its ports.
pub fn image_port(image: &str) -> Option<u16> {
    image_ports(image).first().copied()
}

/// Every TCP port a well-known image listens on by default, its main one first: peers dial them
/// by the service's name whether or not the compose file lists them.
pub fn image_ports(image: &str) -> &'static [u16] {
    match image_name(image).as_str() {
        "postgres" | "postgresql" | "postgis" | "timescaledb" => &[5432],
        "mysql" => &[3306, 33060],
        "mariadb" => &[3306],
        "mongo" | "mongodb" => &[27017],
        "redis" | "valkey" | "keydb" => &[6379],
        "rabbitmq" => &[5672, 15672],
        "memcached" => &[11211],
        "elasticsearch" => &[9200, 9300],
        "opensearch" => &[9200, 9300, 9600],
        "cassandra" => &[9042, 7000],
        "zookeeper" | "cp-zookeeper" => &[2181],
        "nats" => &[4222, 8222],
        "couchdb" => &[5984],
        "influxdb" => &[8086],
        "clickhouse" | "clickhouse-server" => &[8123, 9000, 9009],
        "etcd" => &[2379, 2380],
        "mssql-server" => &[1433],
        "minio" => &[9000, 9001],
        "kafka" | "cp-kafka" | "cp-server" | "cp-enterprise-kafka" => &[9092],
        "cp-schema-registry" => &[8081],
        "cp-kafka-rest" => &[8082],
        "cp-kafka-connect" | "cp-server-connect" => &[8083],
        "cp-ksqldb-server" => &[8088],
        "mailhog" | "mailpit" => &[1025, 8025],
        "loki" => &[3100, 9095, 7946],
        "grafana" => &[3000],
        "prometheus" => &[9090],
        "immich-server" => &[2283],
        "immich-machine-learning" => &[3003],
        "redash" => &[5000],
        _ => &[],
    }
}

/// Whether an image is clustered software whose servers must tell their own address from their
/// peers': a Service Connect alias (a proxy on loopback) cannot stand for a peer.
pub fn is_clustered_image(image: &str) -> bool {
    matches!(
        image_name(image).as_str(),
        "minio" | "elasticsearch" | "opensearch" | "cassandra" | "etcd"
    )
}

/// Whether two images are the same software (`elasticsearch:8` and `docker.elastic.co/…/elasticsearch:8.15`).
pub fn same_software(a: &str, b: &str) -> bool {
    image_name(a) == image_name(b)
}

/// The bare name of an image: `registry:5000/team/postgres:16@sha256:…` → `postgres`.
pub(super) fn image_name(image: &str) -> String {
    let without_digest = image.split('@').next().unwrap_or(image);
    let name = without_digest.rsplit('/').next().unwrap_or(without_digest);
    name.split(':').next().unwrap_or(name).to_ascii_lowercase()
}

/// Whether an image reference (`postgres:16`, `bitnami/postgresql`, `registry/x/mongo@sha256:…`)
/// names a server that keeps state.
/// The user (uid, gid) a well-known server image runs as, which must own its data folder: its
/// entrypoint `chown`s the folder to it, or the server refuses a folder it does not own.
pub fn image_user(image: &str) -> Option<(u32, u32)> {
    let name = image_name(image);
    let tag = image.rsplit_once(':').map(|(_, tag)| tag).unwrap_or_default();
    match name.as_str() {
        // The Alpine variant's `postgres` user is 70; the Debian one's is 999.
        "postgres" | "postgis" | "timescaledb" if tag.contains("alpine") => Some((70, 70)),
        "postgres" | "postgis" | "timescaledb" | "mysql" | "mariadb" | "mongo" | "redis" | "valkey" | "rabbitmq" => {
            Some((999, 999))
        }
        _ => None,
    }
}

pub fn is_stateful_image(image: &str) -> bool {
    // Whole names only: `redis-commander`, `mongo-express` and `postgres-exporter` keep no state.
    STATEFUL_IMAGES.contains(&image_name(image).as_str())
}

/// The memory (MiB) a well-known image documents as its minimum, or whose default JVM heap needs,
/// for an image whose container declares no memory.
pub fn image_memory_mib(image: &str) -> Option<u32> {
    Some(match image_name(image).as_str() {
        // Elasticsearch and OpenSearch size their heap to half of the container's memory, and
        // document at least 2 GiB in production; Kafka's default heap is 1 GiB.
        "elasticsearch" | "opensearch" | "logstash" => 2048,
        "kafka" | "cp-kafka" | "cp-server" | "cp-enterprise-kafka" => 2048,
        "cp-schema-registry" | "cp-kafka-rest" | "cp-ksqldb-server" | "cp-kafka-connect" | "cp-server-connect" => 1536,
        "zookeeper" | "cp-zookeeper" => 1024,
        "clickhouse" | "clickhouse-server" => 2048,
        "sonarqube" => 3072,
        "keycloak" => 1024,
        "jenkins" => 1024,
        "nexus3" => 2048,
        "cassandra" => 2048,
        "neo4j" => 1024,
        "kibana" | "opensearch-dashboards" => 1024,
        _ => return None,
    })
}

/// The health endpoint a well-known image documents, for its container port `port`: a path that
/// answers 200 when the server is up, without credentials.
pub fn image_health_path(image: &str, port: u16) -> Option<&'static str> {
    Some(match (image_name(image).as_str(), port) {
        ("minio", 9000) => "/minio/health/live",
        ("grafana", 3000) => "/api/health",
        ("prometheus", 9090) | ("alertmanager", 9093) => "/-/healthy",
        ("elasticsearch" | "opensearch", 9200) => "/_cluster/health",
        ("kibana", 5601) => "/api/status",
        ("vault", 8200) => "/v1/sys/health",
        ("consul", 8500) => "/v1/status/leader",
        ("gitea", 3000) => "/api/healthz",
        ("mattermost-team-edition" | "mattermost-enterprise-edition", 8065) => "/api/v4/system/ping",
        ("metabase", 3000) => "/api/health",
        ("n8n", 5678) => "/healthz",
        ("superset", 8088) => "/health",
        ("jenkins", 8080) => "/login",
        ("sonarqube", 9000) => "/api/system/status",
        ("nextcloud", 80) => "/status.php",
        ("kong", 8000) => "/status",
        ("traefik", 8080) => "/ping",
        ("keycloak", 8080) => "/realms/master",
        ("portainer-ce" | "portainer", 9000) => "/api/system/status",
        ("immich-server", 2283) => "/api/server/ping",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_paths_of_images_on_their_ports() {
        assert_eq!(
            image_health_path("minio/minio:latest", 9000),
            Some("/minio/health/live")
        );
        assert_eq!(
            image_health_path("quay.io/minio/minio", 9001),
            None,
            "the console has none"
        );
        assert_eq!(image_health_path("grafana/grafana:11", 3000), Some("/api/health"));
        assert_eq!(image_health_path("nginx", 80), None);
    }

    #[test]
    fn users_of_server_images() {
        assert_eq!(image_user("postgres:16"), Some((999, 999)));
        assert_eq!(image_user("postgres:16-alpine"), Some((70, 70)));
        assert_eq!(image_user("registry:5000/team/mongo:7"), Some((999, 999)));
        assert_eq!(image_user("nginx:1.27"), None);
    }

    #[test]
    fn stateful_images() {
        assert!(is_stateful_image("postgres:16"));
        assert!(is_stateful_image("bitnami/postgresql:16.2.0"));
        assert!(is_stateful_image("docker.io/library/mongo@sha256:abc"));
        assert!(is_stateful_image("redis"));
        assert!(is_stateful_image("registry.example.com:5000/team/mysql:8"));
        assert!(!is_stateful_image("registry.example.com/redis-commander:1"));
        assert!(!is_stateful_image("mongo-express"));
        assert!(!is_stateful_image("nginx:1.27"));
        assert!(!is_stateful_image("myapp-postgres-client"));
    }
}
