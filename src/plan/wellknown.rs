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
