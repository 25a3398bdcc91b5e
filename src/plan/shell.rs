//! Shell words for the commands compose2ecs writes into a script or suggests in a message: a name
//! from the compose file must stay one word when the command is run or pasted into a terminal.

/// `text` as one single-quoted shell word, always quoted.
pub fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// `text` as one shell word, left bare when no shell reads anything in it (as Python's
/// `shlex.quote` does), so the usual names read as typed.
pub fn word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c));
    if plain {
        text.to_string()
    } else {
        quote(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_stay_words() {
        assert_eq!(quote("/secrets/web/it's"), r"'/secrets/web/it'\''s'");
        assert_eq!(word("shop/web/DATABASE_URL"), "shop/web/DATABASE_URL");
        assert_eq!(
            word("registry.example.com/shop-web:1.0"),
            "registry.example.com/shop-web:1.0"
        );
        assert_eq!(word("a$(touch /tmp/x)"), "'a$(touch /tmp/x)'");
        assert_eq!(word("a;b"), "'a;b'");
        assert_eq!(word("it's"), r"'it'\''s'");
        assert_eq!(word("~root"), "'~root'");
        assert_eq!(word(""), "''");
    }
}
