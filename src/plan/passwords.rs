//! Passwords in values: where they are (a URL's `user:password@`, `password=` keys, the flags of
//! common clients), shown as `***` in everything compose2ecs prints, and the variable names that
//! say their value is a secret.

use super::hostnames::authority;

/// Whether a variable's name says it holds a secret, whose value no message may show.
/// A `…_FILE` variable names a file that holds the secret, which is not a secret itself.
pub fn names_a_secret(variable: &str) -> bool {
    let upper = variable.to_ascii_uppercase();
    let secret_word = [
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "TOKEN",
        "CREDENTIAL",
        "API_KEY",
        "ACCESS_KEY",
        "PRIVATE_KEY",
    ]
    .iter()
    .any(|word| upper.contains(word));
    (secret_word || upper.ends_with("_KEY") || upper == "KEY") && !upper.ends_with("_FILE")
}

/// Words that name a secret when they end a variable's name (`DB_PASSWORD`, `JWT_SECRET`,
/// `GITHUB_TOKEN`, `STRIPE_API_KEY`, `AWS_CREDENTIALS`).
const SECRET_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "PWD",
    "PASS",
    "PASSPHRASE",
    "SECRET",
    "TOKEN",
    "CREDENTIAL",
    "CREDENTIALS",
    "KEY",
    "APIKEY",
    "SALT",
];

/// Secret words that also end a word run together (`ADMINPASSWORD`, `BOTTOKEN`).
const JOINED_SECRET_WORDS: &[&str] = &["PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "APIKEY"];

/// Words that may follow a secret word in a name that still holds the secret itself
/// (`SECRET_KEY_BASE`, `API_TOKEN_VALUE`).
const SECRET_SUFFIXES: &[&str] = &["BASE", "VALUE", "B64", "BASE64", "HEX", "RAW"];

/// Whether a value is a file's path rather than the secret itself: absolute or `./`-relative, or
/// a name of a key or certificate file (`certs/es01/es01.key`).
fn is_a_file_path(value: &str) -> bool {
    const KEY_FILES: &[&str] = &[".key", ".pem", ".crt", ".cer", ".p12", ".pfx", ".jks", ".keystore"];
    !value.contains(char::is_whitespace)
        && (value.starts_with('/')
            || value.starts_with("./")
            || value.starts_with("../")
            || KEY_FILES
                .iter()
                .any(|extension| value.to_ascii_lowercase().ends_with(extension)))
}

/// Whether a variable holds a secret value, judged by the words of its name and by its value, for
/// the `plain-secret` warning and `x-ecs.environment_secrets`: its name ends with a word that
/// names a secret (`DB_PASSWORD`, `SECRET_KEY_BASE`), not with a setting about one
/// (`ACCESS_TOKEN_LIFETIME`, `API_KEY_RATE_LIMIT`, `PASSWORD_MIN_LENGTH`) and not a public key
/// (`STRIPE_PUBLIC_KEY`); and its value is not empty, a boolean (`ALLOW_EMPTY_PASSWORD: yes`) or
/// a file's path (`/certs/redis.key`). Messages mask more: `names_a_secret`.
pub fn holds_a_secret(variable: &str, value: &str) -> bool {
    let value = value.trim();
    let not_a_secret_value = value.is_empty()
        || matches!(
            value.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off"
        )
        || is_a_file_path(value);
    if not_a_secret_value || variable.to_ascii_uppercase().ends_with("_FILE") {
        return false;
    }
    let upper = variable.to_ascii_uppercase();
    let words: Vec<&str> = upper
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let is_secret_word =
        |word: &&str| SECRET_WORDS.contains(word) || JOINED_SECRET_WORDS.iter().any(|s| word.ends_with(s));
    let Some(last_secret) = words.iter().rposition(is_secret_word) else {
        return false;
    };
    let after = &words[last_secret + 1..];
    let public = last_secret > 0 && matches!(words[last_secret - 1], "PUBLIC" | "PUB");
    !public && after.iter().all(|w| SECRET_SUFFIXES.contains(w))
}

/// Whether a value carries a password: in a URL (`scheme://user:password@host`) or after
/// `password=` in a connection string.
pub fn holds_a_password(value: &str) -> bool {
    mask_credentials(value) != value
}

/// Whether `before` ends with a key whose value is a password, the key being the word before `=`
/// (letters, digits, `_`, `-`, `.`): `password`, `passwd`, `pwd` or `pass` (`;Pwd=`, `--pass=`),
/// or a name ending in `PASSWORD`, `PASSWD`, `_PWD` or `_PASS` in any case (`PGPASSWORD=`,
/// `MYSQL_PWD=`, `--db-password=`, `-Ddb.password=`).
fn password_key_before(before: &[u8]) -> bool {
    let length = before
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        .count();
    let word = before[before.len() - length..].to_ascii_uppercase();
    let word = word.as_slice();
    let bare = word
        .strip_prefix(b"--")
        .or_else(|| word.strip_prefix(b"-"))
        .unwrap_or(word);
    matches!(bare, b"PWD" | b"PASS")
        || [&b"PASSWORD"[..], b"PASSWD", b"_PWD", b"-PWD", b"_PASS", b"-PASS"]
            .iter()
            .any(|end| word.ends_with(end))
}

/// Whether a password's text is a shell variable (`$DB_PASSWORD`, `${DB_PASSWORD}`): the way to
/// keep a password out of a command, which a mask must not take for the password itself.
fn is_a_variable(text: &[u8]) -> bool {
    let text = text.trim_ascii();
    let text = match text {
        [quote @ (b'"' | b'\''), inner @ .., last] if last == quote => inner,
        [quote @ (b'"' | b'\''), inner @ ..] if !inner.contains(quote) => inner,
        _ => text,
    };
    match text {
        // `${VAR}`, `${VAR:-default}`, `$(cat /run/secrets/x)`: what the shell reads at run time.
        // (a command substitution may go on past this word: `"$(cat /run/secrets/x)"`).
        [b'$', b'{', .., b'}'] | [b'$', b'(', ..] => true,
        [b'$', name @ ..] => !name.is_empty() && name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_'),
        _ => false,
    }
}

/// Whether a setting's value says yes or no (`MYSQL_ALLOW_EMPTY_PASSWORD=yes`): no password.
fn is_a_switch(text: &[u8]) -> bool {
    let text = text.trim_ascii();
    ["yes", "no", "true", "false", "on", "off", "0", "1"]
        .iter()
        .any(|word| text.eq_ignore_ascii_case(word.as_bytes()))
}

/// The byte ranges of every password in `text`, in order and apart: a URL's `user:password@`, and
/// the value of `password=` (`pwd=`, …) in a connection string, a query string or a flag, up to
/// its separator or inside its quotes (`password='a b'`).
pub(super) fn password_ranges(text: &str) -> Vec<(usize, usize)> {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let mut search_from = 0;
    while let Some(offset) = text[search_from..].find("://") {
        let start = search_from + offset + 3;
        let found = authority(text, start);
        search_from = found.hosts.1.max(start);
        ranges.extend(found.password);
    }
    let bytes = text.as_bytes();
    // A value already masked is not searched again, so `password=password=…` costs its length once.
    let mut masked_until = 0;
    for (equals, _) in text.match_indices('=') {
        // `Password = s3cret` as connection strings allow: spaces around the `=`.
        let key_end = equals
            - bytes[..equals]
                .iter()
                .rev()
                .take_while(|b| matches!(b, b' ' | b'\t'))
                .count();
        if equals < masked_until || !password_key_before(&bytes[..key_end]) {
            continue;
        }
        let value_at = equals
            + 1
            + bytes[equals + 1..]
                .iter()
                .take_while(|b| matches!(b, b' ' | b'\t'))
                .count();
        let (start, end) = match bytes.get(value_at) {
            Some(quote @ (b'"' | b'\'')) => {
                let start = value_at + 1;
                (start, start + bytes[start..].iter().take_while(|b| *b != quote).count())
            }
            _ => {
                let start = value_at;
                let length = bytes[start..]
                    .iter()
                    .take_while(|b| !matches!(b, b' ' | b'\t' | b'\n' | b';' | b'&' | b'"' | b'\''))
                    .count();
                (start, start + length)
            }
        };
        masked_until = end;
        if end > start {
            ranges.push((start, end));
        }
    }
    ranges.extend(flag_password_ranges(text));
    ranges.retain(|(start, end)| !is_a_variable(&bytes[*start..*end]) && !is_a_switch(&bytes[*start..*end]));
    ranges.sort_unstable();
    let mut apart: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match apart.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => apart.push((start, end)),
        }
    }
    apart
}

/// Flags whose next word is always a password: Redis's `--requirepass s3cret`. (`--password`
/// takes no value in psql and asks for one in MySQL's clients, so a word after it is not read.)
const PASSWORD_FLAGS: &[&str] = &["--requirepass", "--masterauth"];
/// Words that end one command and start the next in a shell line.
const COMMAND_SEPARATORS: &[&str] = &["&&", "||", ";", "|", "&"];
/// MySQL's clients, which take a password attached to `-p`: `mysql -ps3cret`.
const MYSQL_CLIENTS: &[&str] = &[
    "mysql",
    "mysqladmin",
    "mysqldump",
    "mysqlcheck",
    "mariadb",
    "mariadb-admin",
    "mariadb-dump",
];

/// Passwords that command-line flags give, word by word: after a password flag, after `-a` of
/// `redis-cli`, after the `USER:` of curl's `-u`/`--user`, and attached to `-p` of a MySQL
/// client, within one command of a shell line (`mysqladmin ping && tar -pczf …` is two). A
/// word that is itself a flag is no password. One pass over the words of `text`.
fn flag_password_ranges(text: &str) -> Vec<(usize, usize)> {
    let is_quote = |c: char| c == '"' || c == '\'';
    let words: Vec<(usize, &str)> = text
        .split([' ', '\t', '\n'])
        .scan(0, |offset, word| {
            let at = *offset;
            *offset += word.len() + 1;
            Some((at, word))
        })
        .filter(|(_, word)| !word.is_empty())
        .collect();
    let mut ranges = Vec::new();
    let mut program = "";
    let mut previous = "";
    for (at, word) in words {
        let bare = word.trim_matches(is_quote);
        let start = at + (word.len() - word.trim_start_matches(is_quote).len());
        let end = start + bare.len();
        if COMMAND_SEPARATORS.contains(&bare) || word.ends_with(';') {
            program = "";
            previous = "";
            continue;
        }
        match previous {
            _ if bare.starts_with('-') => {}
            flag if PASSWORD_FLAGS.contains(&flag) => ranges.push((start, end)),
            "-a" if program == "redis-cli" => ranges.push((start, end)),
            "-u" | "--user" if program == "curl" => {
                if let Some(colon) = bare.find(':') {
                    ranges.push((start + colon + 1, end));
                }
            }
            _ => {}
        }
        if MYSQL_CLIENTS.contains(&program) && bare.len() > 2 && bare.starts_with("-p") {
            ranges.push((start + 2, end));
        }
        let name = bare.rsplit('/').next().unwrap_or(bare);
        if MYSQL_CLIENTS.contains(&name) || matches!(name, "redis-cli" | "curl") {
            program = name;
        }
        previous = bare;
    }
    ranges.retain(|(start, end)| start < end);
    ranges
}

/// A command's arguments with every password shown as `***`, read as one command line: a flag
/// and its password are often two arguments (`["redis-cli", "-a", "s3cret"]`).
pub fn mask_arguments(arguments: &[String]) -> Vec<String> {
    let line = arguments.join(" ");
    // Sorted and apart, so one pointer walks them beside the arguments.
    let ranges = password_ranges(&line);
    let mut next = 0;
    let mut masked = Vec::with_capacity(arguments.len());
    let mut offset = 0;
    for argument in arguments {
        let end = offset + argument.len();
        while next < ranges.len() && ranges[next].1 <= offset {
            next += 1;
        }
        let mut shown = String::with_capacity(argument.len());
        let mut copied = 0;
        let mut index = next;
        while index < ranges.len() && ranges[index].0 < end {
            let (start, stop) = (ranges[index].0.max(offset) - offset, ranges[index].1.min(end) - offset);
            shown.push_str(&argument[copied..start]);
            shown.push_str("***");
            copied = stop;
            index += 1;
        }
        shown.push_str(&argument[copied..]);
        masked.push(shown);
        offset = end + 1;
    }
    masked
}

/// A value with its passwords shown as `***`, and where given places of the value are in it.
pub struct Masked {
    pub text: String,
    /// Each place asked for, as a byte offset into `text` (a place inside a password is its `***`).
    pub places: Vec<usize>,
}

/// `text` with every password shown as `***`, and where `places` (byte offsets into `text`, in
/// order) are in the result. One pass over `text`.
pub fn mask_at(text: &str, places: &[usize]) -> Masked {
    let ranges = password_ranges(text);
    let mut masked = String::with_capacity(text.len());
    let mut mapped = Vec::with_capacity(places.len());
    let mut copied = 0;
    let mut pending = places.iter().copied().peekable();
    for (start, end) in ranges.iter().copied().chain(std::iter::once((text.len(), text.len()))) {
        while let Some(place) = pending.next_if(|place| *place < end.max(start + 1)) {
            mapped.push(masked.len() + place.min(start).saturating_sub(copied));
        }
        masked.push_str(&text[copied..start]);
        if start < end {
            masked.push_str("***");
        }
        copied = end;
    }
    mapped.extend(pending.map(|_| masked.len()));
    Masked {
        text: masked,
        places: mapped,
    }
}

/// `text` with every password shown as `***`. Messages and the plan must not repeat a password
/// written in the compose file.
pub fn mask_credentials(text: &str) -> String {
    mask_at(text, &[]).text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_held_by_the_words_of_a_name_and_its_value() {
        let secret = [
            ("DB_PASSWORD", "hunter2"),
            ("POSTGRES_PASSWORD", "x"),
            ("MYSQL_ROOT_PASSWORD", "x"),
            ("JWT_SECRET", "x"),
            ("SECRET_KEY", "x"),
            ("DJANGO_SECRET_KEY", "x"),
            ("SECRET_KEY_BASE", "x"),
            ("GITHUB_TOKEN", "ghp_x"),
            ("SLACK_BOT_TOKEN", "xoxb"),
            ("STRIPE_API_KEY", "sk_live"),
            ("AWS_SECRET_ACCESS_KEY", "x"),
            ("OPENAI_APIKEY", "x"),
            ("REDIS_PASS", "x"),
            ("smtp.password", "x"),
            ("ENCRYPTION_KEY", "base64:abc"),
            ("PASSWORD_SALT", "x"),
            ("DATABASE_PASSWORD", "123456"),
            ("ME_CONFIG_MONGODB_ADMINPASSWORD", "x"),
            ("WEBPASSWORD", "x"),
        ];
        let plain = [
            ("ACCESS_TOKEN_LIFETIME", "10"),
            ("ACCESS_TOKEN_LIFETIME", "10m"),
            ("API_KEY_RATE_LIMIT", "60/minute"),
            ("PASSWORD_MIN_LENGTH", "8"),
            ("TOKEN_EXPIRY", "3600s"),
            ("REDIS_TLS_KEY", "/certs/redis.key"),
            ("xpack.security.http.ssl.key", "certs/es01/es01.key"),
            ("STRIPE_PUBLIC_KEY", "pk_live_abc"),
            ("JWT_PUBLIC_KEY", "abc"),
            ("DB_PASSWORD_FILE", "/run/secrets/db"),
            ("SECRET_KEY", ""),
            ("API_KEY_HEADER", "X-Api-Key"),
            ("KEY_ID", "abc"),
            ("DISABLE_PASSWORD", "true"),
            ("SESSION_SECRET_ENABLED", "yes"),
            ("MONKEY", "banana"),
            ("PASSWORDLESS_LOGIN", "on"),
            ("MYSQL_ALLOW_EMPTY_PASSWORD", "yes"),
            ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
        ];
        for (name, value) in secret {
            assert!(holds_a_secret(name, value), "{name}={value} holds a secret");
        }
        for (name, value) in plain {
            assert!(!holds_a_secret(name, value), "{name}={value} holds no secret");
        }
    }

    #[test]
    fn passwords_that_flags_give_are_masked() {
        let masked = |text: &str| mask_credentials(text);
        assert_eq!(masked("Server=db;Password = S3CRET;"), "Server=db;Password = ***;");
        assert_eq!(masked("mysql -h db -pS3CRET app"), "mysql -h db -p*** app");
        assert_eq!(
            masked("redis-cli -h cache -a 'S3CRET' ping"),
            "redis-cli -h cache -a '***' ping"
        );
        assert_eq!(
            masked("curl -fsu admin x; curl -u admin:S3CRET http://api/"),
            "curl -fsu admin x; curl -u admin:*** http://api/"
        );
        assert_eq!(
            masked("redis-server --requirepass S3CRET --port 6379"),
            "redis-server --requirepass *** --port 6379"
        );
        // The same flags elsewhere are not passwords.
        assert_eq!(
            masked("docker run -u 1000:1000 -p 80:80 x -a b"),
            "docker run -u 1000:1000 -p 80:80 x -a b"
        );
        assert_eq!(masked("mysql -p"), "mysql -p", "-p alone asks for the password");
        // What the shell reads at run time, switches, other commands and other flags are none.
        for text in [
            "mysqladmin ping -u root -p\"$MYSQL_ROOT_PASSWORD\"",
            "redis-server --requirepass ${REDIS_PASSWORD:-x}",
            "redis-cli -a \"$(cat /run/secrets/redis)\" ping",
            "psql --password -h db",
            "mysqladmin ping && tar -pczf x.tgz /data",
            "redis-cli ping && ls -a /data",
            "redis-cli -a --no-auth-warning ping",
            "MYSQL_ALLOW_EMPTY_PASSWORD=yes --skip-password=true",
        ] {
            assert_eq!(masked(text), text);
        }
        let arguments = |list: &[&str]| mask_arguments(&list.iter().map(|a| a.to_string()).collect::<Vec<_>>());
        assert_eq!(
            arguments(&["redis-cli", "-a", "S3CRET", "ping"]),
            ["redis-cli", "-a", "***", "ping"]
        );
        assert_eq!(
            arguments(&["mysqladmin", "ping", "-pS3CRET"]),
            ["mysqladmin", "ping", "-p***"]
        );
        assert_eq!(
            arguments(&["sh", "-c", "psql postgres://u:S3CRET@db/x"]),
            ["sh", "-c", "psql postgres://u:***@db/x"]
        );
    }

    #[test]
    fn passwords_are_masked() {
        assert_eq!(
            mask_credentials("mongodb://max:secret@mongodb:27017/db and redis://:pw@cache:6379"),
            "mongodb://max:***@mongodb:27017/db and redis://:***@cache:6379"
        );
        assert_eq!(
            mask_credentials("http://user@api/x?a=b:c@d"),
            "http://user@api/x?a=b:c@d"
        );
        assert_eq!(
            mask_credentials("host=db password=hunter2 user=app; Server=x;Password=s3;"),
            "host=db password=*** user=app; Server=x;Password=***;"
        );
        assert_eq!(
            mask_credentials("redis://cache/0?password=s3cr3t&db=1"),
            "redis://cache/0?password=***&db=1"
        );
        assert_eq!(mask_credentials("passport=123 bypass=1"), "passport=123 bypass=1");
    }

    #[test]
    fn password_variables_in_commands() {
        assert_eq!(
            mask_credentials("PGPASSWORD=hunter2 psql; MYSQL_PWD=a --db-password=b -Ddb.password=c"),
            "PGPASSWORD=*** psql; MYSQL_PWD=*** --db-password=*** -Ddb.password=***"
        );
        for kept in [
            "PASSWORD_FILE=/run/secrets/db BYPASS=1 passport=2",
            "PGPASSWORD=$DB_PASSWORD psql",
            "postgres://u:${PW}@db/x?password=$PW",
        ] {
            assert_eq!(mask_credentials(kept), kept);
            assert!(!holds_a_password(kept), "{kept}");
        }
    }

    #[test]
    fn masked_places() {
        let value = "a postgres://u:secret@db:5432 b";
        let masked = mask_at(value, &[0, 17, 22, value.len()]);
        assert_eq!(masked.text, "a postgres://u:***@db:5432 b");
        assert_eq!(masked.places, vec![0, 15, 19, masked.text.len()]);
    }
}
