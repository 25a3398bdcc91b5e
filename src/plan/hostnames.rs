//! The hostname scanner: finds references to known names in a value, in host positions only.
//!
//! One pass over the value; every candidate token is looked up in the caller's set of names,
//! so the cost is linear in the length of the value whatever the number of services.
//!
//! A URL's authority is read here, its password included, which `passwords` masks.

/// Where in a value a reference stands.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostPosition {
    /// The host of `scheme://[userinfo@]HOST[:port]…`, alone or in a host list.
    Url { scheme: String },
    /// `HOST:PORT` outside a URL.
    HostPort,
    /// The whole value of a variable whose name says it holds a host (`DB_HOST: db`).
    WholeValue,
    /// The value of a `host=`-like key in a connection string or a flag (`host=db port=5432`,
    /// `--host=db`).
    KeyValue,
}

/// One reference found by the scanner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Byte range of the host name in the value.
    pub host: (usize, usize),
    /// Byte range and value of the port written after it, if any.
    pub port: Option<((usize, usize), u16)>,
    pub position: HostPosition,
}

impl Found {
    pub fn name<'v>(&self, value: &'v str) -> &'v str {
        &value[self.host.0..self.host.1]
    }
}

/// Words in a variable name that say its value is a host (or holds one).
const HOST_WORDS: &[&str] = &[
    "HOST", "ADDR", "SERVER", "URL", "URI", "ENDPOINT", "DSN", "BROKER", "UPSTREAM", "PROXY", "REMOTE", "NODES",
    "PEERS", "SEEDS",
];

/// Words in a variable name that say its value names nodes, not hosts: Elasticsearch's
/// `cluster.initial_master_nodes=es01,es02` lists node names.
const NODE_NAME_WORDS: &[&str] = &["MASTER_NODES", "NODE_NAME"];

/// Whether a variable's name says it holds a host name.
pub fn names_a_host(variable: &str) -> bool {
    let upper = variable.to_ascii_uppercase().replace('.', "_");
    HOST_WORDS.iter().any(|word| upper.contains(word)) && !NODE_NAME_WORDS.iter().any(|word| upper.contains(word))
}

fn is_host_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-')
}

/// Characters that may stand right before a `HOST:PORT` token (start of value, separators, quotes).
fn may_precede_host(byte: u8) -> bool {
    matches!(
        byte,
        b' ' | b'\t' | b'\n' | b'=' | b',' | b';' | b'"' | b'\'' | b'(' | b'[' | b'{' | b'@' | b'>' | b'|'
    )
}

/// Keys whose value is a host, in `key=value` connection strings and `--key=value` flags.
const HOST_KEYS: &[&str] = &["host", "hostname", "server", "address", "addr"];

/// Whether `before` ends with `KEY=` for a host key, the key starting a word (`host=`, `--host=`,
/// `;Server=`), so `ghost=` does not count.
fn host_key_before(before: &str) -> bool {
    // Bytes, not characters: the text before may hold any UTF-8, the keys are ASCII. The key is
    // followed by `=` or `:`, with spaces around it or not (`host=db`, a properties line
    // `jobmanager.rpc.address: jobmanager`).
    let trimmed = before.as_bytes().trim_ascii_end();
    let Some(rest) = trimmed.strip_suffix(b"=").or_else(|| trimmed.strip_suffix(b":")) else {
        return false;
    };
    HOST_KEYS.iter().any(|key| key_before(rest.trim_ascii_end(), key))
}

/// Command-line flags whose next argument is a host: `pg_isready -h db`, `redis-cli --host cache`.
pub const HOST_FLAGS: &[&str] = &["-h", "--host", "--hostname", "-host"];

/// Command-line flags whose value is the address a server listens on.
const LISTEN_FLAGS: &[&str] = &[
    "--bind",
    "--bind-addr",
    "--bind-address",
    "--bind_ip",
    "--listen",
    "--listen-addr",
    "--listen-address",
    "--web.listen-address",
];

/// Whether a variable's name says it holds the address its own server listens on
/// (`KAFKA_LISTENERS`, `HTTP_BIND_ADDRESS`, `LISTEN_ADDR`), not the one it tells its peers
/// (`KAFKA_ADVERTISED_LISTENERS`).
pub fn names_a_listen_address(variable: &str) -> bool {
    let upper = variable.to_ascii_uppercase();
    let words: Vec<&str> = upper.split(|c: char| !c.is_ascii_alphanumeric()).collect();
    words.iter().any(|w| {
        matches!(
            *w,
            "LISTEN" | "LISTENER" | "LISTENERS" | "BIND" | "BINDADDR" | "BINDADDRESS"
        )
    }) && !words
        .iter()
        .any(|w| w.starts_with("ADVERTISE") || matches!(*w, "NAME" | "NAMES" | "MAP" | "PROTOCOL" | "SECURITY"))
}

/// Whether a command argument is a listen address: after a listen flag (`--bind broker`), or in
/// one (`--listen-address=broker:9000`).
pub fn is_listen_argument(previous: Option<&str>, argument: &str) -> bool {
    let flag = argument.split_once('=').map(|(flag, _)| flag);
    previous.is_some_and(|p| LISTEN_FLAGS.contains(&p)) || flag.is_some_and(|f| LISTEN_FLAGS.contains(&f))
}

/// Whether `before` ends with a host flag and the spaces after it (`… -h `).
fn follows_host_flag(before: &str) -> bool {
    let Some(flag_end) = before.strip_suffix(' ').map(str::trim_end) else {
        return false;
    };
    let flag = flag_end.rsplit(char::is_whitespace).next().unwrap_or(flag_end);
    HOST_FLAGS.contains(&flag)
}

/// Whether a variable's name says it holds an image reference, whose `name:tag` is not `host:port`.
pub fn names_an_image(variable: &str) -> bool {
    variable.to_ascii_uppercase().contains("IMAGE")
}

/// Where the authority starting at `start` ends: at a character that ends it, or at a comma that
/// starts the next URL of a list (`http://es1:9200,http://es2:9200`).
fn authority_end(value: &str, start: usize) -> usize {
    let bytes = value.as_bytes();
    let mut index = start;
    while index < bytes.len() && !ends_authority(bytes[index]) {
        if bytes[index] == b',' && starts_url(&value[index + 1..]) {
            break;
        }
        index += 1;
    }
    index
}

/// A URL's authority, after its `scheme://`.
pub(super) struct Authority {
    /// The byte range of the password of `user:password@`, when there is one.
    pub(super) password: Option<(usize, usize)>,
    /// Where its hosts start (after any userinfo) and where the authority ends.
    pub(super) hosts: (usize, usize),
}

/// The authority starting at `start`. A password written in a compose value may hold any character
/// (`/ # ? ' "`, spaces, `@`), which would end a well-formed authority: so the userinfo of
/// `user:password@` ends at the `@` before the host, found by [`password_end`]; otherwise, at the
/// last `@` of the well-formed authority (`user@host`).
pub(super) fn authority(value: &str, start: usize) -> Authority {
    let bytes = value.as_bytes();
    let user_end = start
        + bytes[start..]
            .iter()
            .take_while(|b| !(matches!(b, b':' | b',') || ends_authority(**b)))
            .count();
    if bytes.get(user_end) == Some(&b':') {
        if let Some(at) = password_end(value, user_end + 1) {
            return Authority {
                password: Some((user_end + 1, at)),
                hosts: (at + 1, authority_end(value, at + 1)),
            };
        }
    }
    let end = authority_end(value, start);
    let hosts_start = value[start..end].rfind('@').map_or(start, |at| start + at + 1);
    Authority {
        password: None,
        hosts: (hosts_start, end),
    }
}

/// Where the password starting at `from` ends: the `@` before the host, or `None` when there is
/// none. A password may hold `@`, `/`, `#`, `?` and quotes, so the `@` taken is the last one
/// followed by a host name before the word is over: at a space, at the next `scheme://`, or at a
/// line end. A port (digits, or a variable) followed by the end of the authority is a port, not a
/// password (`http://api:8080/invite?to=a@b`, `http://api:$PORT/x -H 'From: ops@db'`).
fn password_end(value: &str, from: usize) -> Option<usize> {
    let bytes = value.as_bytes();
    let port = port_token_length(&bytes[from..]);
    if port > 0 && bytes.get(from + port).is_none_or(|b| *b == b',' || ends_authority(*b)) {
        return None;
    }
    // In a value that is a URL and nothing else, or a URL quoted as one word of a command, a
    // password may hold spaces; otherwise a space ends it, and an `@` after it belongs to what
    // follows (`curl http://api:x -d a@b`).
    let scheme_start = value[..from].rfind("://").map_or(0, |separator| {
        value.as_bytes()[..separator]
            .iter()
            .rposition(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-')))
            .map_or(0, |i| i + 1)
    });
    let whole_value = value[..scheme_start].trim().is_empty()
        || matches!(value.as_bytes()[..scheme_start].last(), Some(b'\'' | b'"'));
    let mut last = None;
    for (index, &byte) in bytes.iter().enumerate().skip(from) {
        match byte {
            b'@' if starts_host(&bytes[index + 1..]) => last = Some(index),
            b'\n' | b'\r' => break,
            b' ' | b'\t' if last.is_some() || !whole_value => break,
            b':' if bytes[index..].starts_with(b"://") => break,
            _ => {}
        }
    }
    last
}

/// The length of a port at the start of `text`: up to five digits, or a variable that will hold
/// one (`$PORT`, `${PORT}`, `${PORT:-8080}`, compose's `$$PORT`); 0 when there is none.
fn port_token_length(text: &[u8]) -> usize {
    let digits = text.iter().take(6).take_while(|b| b.is_ascii_digit()).count();
    if (1..=5).contains(&digits) {
        return digits;
    }
    let dollars = text.iter().take_while(|b| **b == b'$').count();
    let rest = &text[dollars..];
    match rest.first() {
        _ if dollars == 0 => 0,
        Some(b'{') => rest
            .iter()
            .position(|b| *b == b'}')
            .map_or(0, |close| dollars + close + 1),
        _ => {
            let name = rest
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                .count();
            if name == 0 {
                0
            } else {
                dollars + name
            }
        }
    }
}

/// Whether `text` starts with a host name that ends where a host may end.
fn starts_host(text: &[u8]) -> bool {
    // A placeholder the stacks fill (`{{DbEndpoint}}`, a managed database's address) is a host.
    let placeholder = match text.strip_prefix(b"{{") {
        Some(rest) => rest.windows(2).position(|w| w == b"}}").map_or(0, |end| end + 4),
        None => 0,
    };
    let length = placeholder + text[placeholder..].iter().take_while(|b| is_host_char(**b)).count();
    (length > 0 || text.first() == Some(&b'['))
        && text
            .get(length)
            .is_none_or(|b| matches!(b, b':' | b',' | b'[') || ends_authority(*b))
}

/// Whether `text` starts with `scheme://`.
fn starts_url(text: &str) -> bool {
    let scheme = text
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-'))
        .count();
    scheme > 0 && text[scheme..].starts_with("://")
}

/// Characters that end a URL's authority part.
fn ends_authority(byte: u8) -> bool {
    matches!(
        byte,
        b'/' | b'?' | b'#' | b' ' | b'\t' | b'\n' | b'"' | b'\'' | b')' | b';' | b'<' | b'>' | b'`'
    )
}

/// The digits right after `:` at `colon`, if they form a whole port number.
fn port_after(bytes: &[u8], colon: usize) -> Option<((usize, usize), u16)> {
    if bytes.get(colon) != Some(&b':') {
        return None;
    }
    let start = colon + 1;
    let end = start + bytes[start..].iter().take_while(|b| b.is_ascii_digit()).count();
    if end == start || bytes.get(end).is_some_and(|b| is_host_char(*b) && *b != b'.') {
        return None;
    }
    let number: u32 = std::str::from_utf8(&bytes[start..end]).ok()?.parse().ok()?;
    let port = u16::try_from(number).ok().filter(|p| *p > 0)?;
    Some(((start, end), port))
}

/// Finds every reference to a name for which `is_known` holds. `holds_a_host` says the whole value
/// is a host where it stands (a `…_HOST` variable, the argument after `-h`), which enables the
/// whole-value rule.
pub fn scan(value: &str, holds_a_host: bool, is_known: impl Fn(&str) -> bool) -> Vec<Found> {
    let bytes = value.as_bytes();
    let mut found = Vec::new();
    // Byte ranges of URL authorities: their hosts are found here and nowhere else.
    let mut authorities: Vec<(usize, usize)> = Vec::new();

    let mut search_from = 0;
    while let Some(offset) = value[search_from..].find("://") {
        let separator = search_from + offset;
        let scheme_start = bytes[..separator]
            .iter()
            .rposition(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-')))
            .map_or(0, |i| i + 1);
        let scheme = &value[scheme_start..separator];
        let start = separator + 3;
        let Authority {
            hosts: (mut hosts_start, mut end),
            ..
        } = authority(value, start);
        if scheme.eq_ignore_ascii_case("dns") && end == start && bytes.get(start) == Some(&b'/') {
            // gRPC's `dns:///HOST:PORT` names no DNS server: the host follows the third slash.
            (hosts_start, end) = authority(value, start + 1).hosts;
        }
        search_from = end.max(start);
        if scheme.is_empty() {
            continue;
        }
        authorities.push((start, end));
        let mut host_start = hosts_start;
        for part in value[hosts_start..end].split(',') {
            let host_end = host_start + part.bytes().take_while(|b| is_host_char(*b)).count();
            let rest_ok = host_end == host_start + part.len() || bytes[host_end] == b':';
            let name = &value[host_start..host_end];
            if host_end > host_start && rest_ok && is_known(name) {
                found.push(Found {
                    host: (host_start, host_end),
                    port: port_after(bytes, host_end),
                    position: HostPosition::Url {
                        scheme: scheme.to_string(),
                    },
                });
            }
            host_start += part.len() + 1;
        }
    }

    let mut index = 0;
    let mut authority = authorities.iter().peekable();
    while index < bytes.len() {
        if !is_host_char(bytes[index]) {
            index += 1;
            continue;
        }
        let start = index;
        let end = start + bytes[start..].iter().take_while(|b| is_host_char(**b)).count();
        index = end;
        while authority.peek().is_some_and(|(_, a_end)| *a_end <= start) {
            authority.next();
        }
        if authority.peek().is_some_and(|(a_start, _)| *a_start <= start) {
            continue;
        }
        let preceded_ok = start == 0 || may_precede_host(bytes[start - 1]);
        let port = port_after(bytes, end);
        let after_host_key = host_key_before(&value[..start]);
        let ends_word = bytes
            .get(end)
            .is_none_or(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b';' | b',' | b'"' | b'\'' | b':'));
        // `kind|HOST?options` (`STORAGE_CONFIG=minio|minio?accessKey=…`).
        let after_pipe = start > 0 && bytes[start - 1] == b'|' && bytes.get(end) == Some(&b'?');
        let position = match port {
            Some(_) if preceded_ok => HostPosition::HostPort,
            _ if (after_host_key && ends_word) || after_pipe => HostPosition::KeyValue,
            _ if ends_word && follows_host_flag(&value[..start]) => HostPosition::KeyValue,
            _ => continue,
        };
        if is_known(&value[start..end]) {
            found.push(Found {
                host: (start, end),
                port,
                position,
            });
        }
    }

    // A host setting holding a name, or a comma list of names (`MEMCACHED_SERVERS: a,b`).
    if found.is_empty() && holds_a_host {
        let mut offset = 0;
        for item in value.split(',') {
            let start = offset + item.len() - item.trim_start().len();
            let name = item.trim();
            if !name.is_empty() && name.bytes().all(is_host_char) && is_known(name) {
                found.push(Found {
                    host: (start, start + name.len()),
                    port: None,
                    position: HostPosition::WholeValue,
                });
            }
            offset += item.len() + 1;
        }
    }
    found.sort_by_key(|f| f.host);
    found
}

pub use crate::quote::{excerpt, EXCERPT_RADIUS};

/// Whether `before` ends with `key` (any case) that starts a word.
fn key_before(before: &[u8], key: &str) -> bool {
    before.len() >= key.len()
        && before[before.len() - key.len()..].eq_ignore_ascii_case(key.as_bytes())
        && before[..before.len() - key.len()]
            .last()
            .is_none_or(|b| !b.is_ascii_alphanumeric() && *b != b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::passwords::{mask_at, mask_credentials};

    const KNOWN: &[&str] = &["db", "mongodb", "kafka", "kafka-1", "api", "a", "b"];

    fn names(value: &str, variable: Option<&str>) -> Vec<(String, Option<u16>)> {
        scan(value, variable.is_some_and(names_a_host), |name| KNOWN.contains(&name))
            .iter()
            .map(|f| (f.name(value).to_string(), f.port.map(|p| p.1)))
            .collect()
    }

    fn one(name: &str, port: Option<u16>) -> Vec<(String, Option<u16>)> {
        vec![(name.to_string(), port)]
    }

    #[test]
    fn url_hosts_not_schemes() {
        assert_eq!(
            names(
                "mongodb://max:secret@mongodb:27017/goals?authSource=admin",
                Some("MONGODB_URL")
            ),
            one("mongodb", Some(27017))
        );
        assert_eq!(names("jdbc:postgresql://db:5432/app", None), one("db", Some(5432)));
        assert_eq!(names("http://api/v1", None), one("api", None));
        assert_eq!(
            names("mongodb://a:27017,b:27017/db", None),
            vec![("a".to_string(), Some(27017)), ("b".to_string(), Some(27017))]
        );
    }

    #[test]
    fn host_port_lists() {
        assert_eq!(
            names("kafka:9092,kafka-1:9093", Some("BOOTSTRAP")),
            vec![("kafka".to_string(), Some(9092)), ("kafka-1".to_string(), Some(9093))]
        );
        assert_eq!(names("--broker=kafka:9092", None), one("kafka", Some(9092)));
    }

    #[test]
    fn whole_values_only_under_host_names() {
        assert_eq!(names("db", Some("DB_HOST")), one("db", None));
        assert_eq!(names("mongodb", Some("MONGODB_URL")), one("mongodb", None));
        assert!(names("db", Some("DB_NAME")).is_empty());
        assert!(names("db", None).is_empty());
    }

    #[test]
    fn host_lists_and_spaces_under_host_settings() {
        assert_eq!(
            names("kafka, db", Some("BOOTSTRAP_SERVERS")),
            vec![("kafka".to_string(), None), ("db".to_string(), None)]
        );
        assert_eq!(names(" db ", Some("DB_HOST")), one("db", None));
        assert!(names("kafka, db", Some("TOPICS")).is_empty());
    }

    #[test]
    fn traps() {
        assert!(names("db.example.com:5432", None).is_empty());
        assert!(names("mongodb2:27017", None).is_empty());
        assert!(names("hello db world", Some("GREETING")).is_empty());
        assert!(names("/api/v1", Some("API_URL")).is_empty());
        assert!(names("/data/db:5432", None).is_empty());
        assert!(names("postgres://user:pw@db.internal:5432/x", None).is_empty());
        assert!(names("db:5432x", None).is_empty());
        assert_eq!(names("db:99999", None), vec![]);
    }

    #[test]
    fn host_keys_in_connection_strings_and_flags() {
        assert_eq!(names("host=db port=5432 user=app", Some("DB_DSN")), one("db", None));
        assert_eq!(names("Server=db;Database=app", None), one("db", None));
        assert_eq!(names("--host=db --verbose", None), one("db", None));
        assert!(names("ghost=db", None).is_empty());
        assert!(names("host=db.example.com", None).is_empty());
        assert!(names("user_host=db", None).is_empty());
    }

    #[test]
    fn a_port_variable_or_a_space_in_a_command_ends_no_password() {
        for value in [
            "wget -q http://localhost:$PORT/health || echo fail@db",
            "curl http://api:${API_PORT:-80}/ -H 'From: ops@db'",
            "curl http://api:x -d a@db",
        ] {
            assert_eq!(mask_credentials(value), value);
        }
        assert_eq!(
            names("curl http://api:${API_PORT}/ -H 'From: ops@db'", None),
            one("api", None)
        );
        assert!(names("wget http://localhost:$$PORT/ || echo fail@db", None).is_empty());
    }

    #[test]
    fn passwords_may_hold_any_character() {
        let cases = [
            (
                "postgres://app:pa/ss#w?rd@db:5432/app",
                "postgres://app:***@db:5432/app",
            ),
            ("redis://:it's \"a\" pass@kafka:6379/0", "redis://:***@kafka:6379/0"),
            ("amqp://u:p@ss@kafka/vhost", "amqp://u:***@kafka/vhost"),
            ("mongodb://u:a b@mongodb:27017/x", "mongodb://u:***@mongodb:27017/x"),
            ("postgres://u:5432@db/app", "postgres://u:***@db/app"),
        ];
        for (value, masked) in cases {
            assert_eq!(mask_credentials(value), masked);
            let hosts = names(value, None);
            assert_eq!(hosts.len(), 1, "{value}: {hosts:?}");
            assert!(KNOWN.contains(&hosts[0].0.as_str()), "{value}: {hosts:?}");
        }
        assert_eq!(
            names("postgres://app:pa/ss#w?rd@db:5432/app", None),
            one("db", Some(5432))
        );
        // A port and a path are no password, and an `@` after a URL's end is not its userinfo's.
        let value = "curl http://api:8080/invite?to=a@b && curl http://u:x@db/ && echo \"me@kafka\"";
        assert_eq!(
            mask_credentials(value),
            "curl http://api:8080/invite?to=a@b && curl http://u:***@db/ && echo \"me@kafka\""
        );
        assert_eq!(
            names(value, None),
            vec![("api".to_string(), Some(8080)), ("db".to_string(), None)]
        );
        assert_eq!(
            mask_credentials("password='a b;c' PWD=\"x y\" next"),
            "password='***' PWD=\"***\" next"
        );
        assert_eq!(mask_credentials("password=password=x y"), "password=*** y");
    }

    #[test]
    fn url_lists_and_image_tags() {
        assert_eq!(
            names("http://a:9200,http://b:9200", Some("ELASTICSEARCH_HOSTS")),
            vec![("a".to_string(), Some(9200)), ("b".to_string(), Some(9200))]
        );
        assert!(names("kafka:18-alpine", None).is_empty());
        assert!(names("kafka:7_x", None).is_empty());
    }

    /// Every split point of values with multi-byte characters next to the places the scanner looks.
    #[test]
    fn any_utf8_text_is_scanned_without_panic() {
        let pieces = [
            "größe=",
            "host=",
            "\u{a0}-h ",
            " -h ",
            "db",
            ":5432",
            "://",
            "@",
            "ü",
            "€,",
            "=",
            "é:1",
            "u:p",
            "password='",
            "PWD=\"",
            "$ü",
            " ",
        ];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let value = format!("{a}{b}{c}");
                    let _ = scan(&value, true, |name| KNOWN.contains(&name));
                    let long = value.repeat(8);
                    let masked = mask_at(&long, &[0, long.len() / 2, long.len()]);
                    for place in masked.places {
                        let _ = excerpt(&masked.text, place);
                    }
                }
            }
        }
    }

    #[test]
    fn arguments_of_host_flags() {
        assert_eq!(names("pg_isready -U app -h db", None), one("db", None));
        assert_eq!(names("redis-cli --host  kafka ping", None), one("kafka", None));
        assert!(
            names("grep -h db file", None).len() == 1,
            "a host flag is taken at its word"
        );
        assert!(names("echo -x db", None).is_empty());
    }

    #[test]
    fn inside_shell_strings() {
        assert_eq!(
            names(
                "until nc -z db:5432; do sleep 1; done && curl http://api:8080/health",
                None
            ),
            vec![("db".to_string(), Some(5432)), ("api".to_string(), Some(8080))]
        );
    }

    #[test]
    fn more_shapes_of_hosts() {
        // gRPC's resolver syntax.
        assert_eq!(names("dns:///api:9095", None), one("api", Some(9095)));
        // A properties line in a multi-line value (Flink), and `key = host`.
        assert_eq!(
            names("jobmanager.rpc.address: api\ntaskmanager.numberOfTaskSlots: 2", None),
            one("api", None)
        );
        assert_eq!(names("server = db", None), one("db", None));
        // `kind|host?options`.
        assert_eq!(names("minio|a?accessKey=x&secretKey=y", None), one("a", None));
        assert!(names("mail|a", None).is_empty(), "a list of words is no host");
        // Listener names are no addresses.
        assert!(names_a_listen_address("KAFKA_LISTENERS") && names_a_listen_address("HTTP_BIND_ADDRESS"));
        assert!(!names_a_listen_address("KAFKA_INTER_BROKER_LISTENER_NAME"));
        assert!(!names_a_listen_address("KAFKA_CONTROLLER_LISTENER_NAMES"));
        assert!(!names_a_listen_address("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"));
        assert!(!names_a_listen_address("KAFKA_ADVERTISED_LISTENERS"));
        // Seeds and peers are hosts; master node names are not.
        assert!(names_a_host("CASSANDRA_SEEDS") && names_a_host("discovery.seed_hosts"));
        assert!(!names_a_host("cluster.initial_master_nodes"));
    }
}
