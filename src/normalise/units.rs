//! Compose's small value syntaxes: durations, byte sizes, command lines and ports.

use std::time::Duration;

/// `1m30s`, `10s`, `1.5s`, `500ms`, `1h`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).ok();
    }
    let mut total = 0.0f64;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_length = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..number_length].parse().ok()?;
        rest = &rest[number_length..];
        let unit_length = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_length] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += number * scale;
        rest = &rest[unit_length..];
    }
    Duration::try_from_secs_f64(total).ok()
}

/// `512M`, `1.5g`, `1gb`, `2048k`, `100b`, or a number of bytes.
pub fn parse_bytes(text: &str) -> Option<u64> {
    let lower = text.trim().to_ascii_lowercase();
    let number_length = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let number: f64 = lower[..number_length].parse().ok()?;
    let scale: f64 = match lower[number_length..].trim() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let bytes = number * scale;
    (bytes.is_finite() && bytes >= 0.0 && bytes < u64::MAX as f64).then(|| ceil_u64(bytes.round()))
}

/// Splits a command line as a POSIX shell would split words: quotes group, backslash escapes.
/// Compose does this for the string form of `command` and `entrypoint`.
pub fn split_words(text: &str) -> Result<Vec<String>, &'static str> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(inner) => word.push(inner),
                        None => return Err("a single quote is not closed"),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(escaped @ ('"' | '\\' | '$' | '`')) => word.push(escaped),
                            Some(other) => {
                                word.push('\\');
                                word.push(other);
                            }
                            None => return Err("a double quote is not closed"),
                        },
                        Some(inner) => word.push(inner),
                        None => return Err("a double quote is not closed"),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(escaped) = chars.next() {
                    word.push(escaped);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// A parsed short-syntax port: `[HOST_IP:][PUBLISHED:]TARGET[/PROTOCOL]`.
#[derive(Debug, PartialEq, Eq)]
pub struct ShortPort {
    pub host_ip: Option<String>,
    pub published: Option<PortSpec>,
    pub target: PortSpec,
    pub protocol: Option<String>,
}

/// One port or a range `A-B`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortSpec {
    One(u16),
    Range(u16, u16),
}

/// Parses `"8080"`, `"80:8080"`, `"127.0.0.1:80:8080"`, `"[::1]:80:8080/udp"`, `"9000-9010:9000-9010"`.
pub fn parse_short_port(text: &str) -> Result<ShortPort, String> {
    let (rest, protocol) = match text.rsplit_once('/') {
        Some((rest, protocol)) => (rest, Some(protocol.to_string())),
        None => (text, None),
    };
    let (host_ip, rest) = if let Some(bracketed) = rest.strip_prefix('[') {
        let (ip, after) = bracketed
            .split_once("]:")
            .ok_or("an IPv6 host address needs `]:` after it")?;
        (Some(ip.to_string()), after)
    } else {
        match rest.matches(':').count() {
            0 | 1 => (None, rest),
            2 => {
                let (ip, after) = rest.split_once(':').unwrap_or_default();
                (Some(ip.to_string()), after)
            }
            _ => return Err("too many `:`; write an IPv6 host address in brackets, `[::1]:80:80`".into()),
        }
    };
    let (published, target) = match rest.split_once(':') {
        Some(("", target)) => (None, target),
        Some((published, target)) => (Some(parse_port_spec(published)?), target),
        None => (None, rest),
    };
    Ok(ShortPort {
        host_ip: host_ip.filter(|ip| !ip.is_empty()),
        published,
        target: parse_port_spec(target)?,
        protocol,
    })
}

/// `8080` or `9000-9010`, each between 1 and 65535.
pub fn parse_port_spec(text: &str) -> Result<PortSpec, String> {
    let one = |t: &str| -> Result<u16, String> {
        if t.trim().is_empty() {
            return Err("the port is empty (is a variable unset?)".to_string());
        }
        match t.trim().parse::<u32>() {
            Ok(port @ 1..=65535) => Ok(u16::try_from(port).expect("within 1–65535")),
            Ok(port) => Err(format!("port {port} is outside 1–65535")),
            Err(_) => Err(format!("`{}` is not a port number", crate::quote::shown(t))),
        }
    };
    match text.split_once('-') {
        Some((low, high)) => {
            let (low, high) = (one(low)?, one(high)?);
            if low > high {
                return Err(format!("the range {low}-{high} runs backwards"));
            }
            Ok(if low == high {
                PortSpec::One(low)
            } else {
                PortSpec::Range(low, high)
            })
        }
        None => Ok(PortSpec::One(one(text)?)),
    }
}

/// `value` rounded up to a whole number, within `0..=u32::MAX` (`as` saturates floats; this says so
/// once, where the lint against truncating casts is answered).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub fn ceil_u32(value: f64) -> u32 {
    value.ceil().clamp(0.0, f64::from(u32::MAX)) as u32
}

/// `value` rounded to the nearest whole number, within `0..=u32::MAX`.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub fn round_u32(value: f64) -> u32 {
    value.round().clamp(0.0, f64::from(u32::MAX)) as u32
}

/// `value` rounded up to a whole number, within `0..=u64::MAX`.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]
pub fn ceil_u64(value: f64) -> u64 {
    value.ceil().clamp(0.0, u64::MAX as f64) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("15"), Some(Duration::from_secs(15)));
        assert_eq!(parse_duration("ten"), None);
        assert_eq!(parse_duration("10x"), None);
        assert_eq!(parse_duration("1e30"), None);
        assert_eq!(parse_duration("99999999999999999999h"), None);
        assert_eq!(parse_duration("-5s"), None);
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(parse_bytes("512M"), Some(512 * 1024 * 1024));
        assert_eq!(parse_bytes("1.5g"), Some(1536 * 1024 * 1024));
        assert_eq!(parse_bytes("1gb"), Some(1024 * 1024 * 1024));
        assert_eq!(parse_bytes("2048"), Some(2048));
        assert_eq!(parse_bytes("lots"), None);
    }

    #[test]
    fn words() {
        assert_eq!(
            split_words(r#"sh -c "npm run migrate && node 'app.js'" x\ y"#).unwrap(),
            vec!["sh", "-c", "npm run migrate && node 'app.js'", "x y"]
        );
        assert_eq!(split_words("a ''").unwrap(), vec!["a", ""]);
        assert!(split_words("echo 'open").is_err());
    }

    #[test]
    fn short_ports() {
        let port = parse_short_port("127.0.0.1:80:8080/udp").unwrap();
        assert_eq!(port.host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(port.published, Some(PortSpec::One(80)));
        assert_eq!(port.target, PortSpec::One(8080));
        assert_eq!(port.protocol.as_deref(), Some("udp"));
        assert_eq!(parse_short_port("3000").unwrap().published, None);
        assert_eq!(parse_short_port("[::1]:80:80").unwrap().host_ip.as_deref(), Some("::1"));
        assert_eq!(
            parse_short_port("9000-9001:9000-9001").unwrap().target,
            PortSpec::Range(9000, 9001)
        );
        assert!(parse_short_port("abc:80").is_err());
        assert!(parse_short_port("70000").is_err());
    }
}
