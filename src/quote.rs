//! User text inside a message or the plan: a compose value may be megabytes long, and what quotes
//! it shows a bounded part of it.

/// How many bytes of a value are shown on each side of the place a message is about.
pub const EXCERPT_RADIUS: usize = 60;

/// The part of `text` within [`EXCERPT_RADIUS`] bytes of byte `at`, cut at character boundaries,
/// with `…` where it was cut; `text` itself when it is short.
pub fn excerpt(text: &str, at: usize) -> String {
    if text.len() <= 2 * EXCERPT_RADIUS {
        return text.to_string();
    }
    let mut start = at.min(text.len()).saturating_sub(EXCERPT_RADIUS);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (start + 2 * EXCERPT_RADIUS).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    let mut shown = String::with_capacity(end - start + 6);
    if start > 0 {
        shown.push('…');
    }
    shown.push_str(&text[start..end]);
    if end < text.len() {
        shown.push('…');
    }
    shown
}

/// The start of `text`, as a message quotes a value it refuses.
pub fn shown(text: &str) -> String {
    excerpt(text, 0)
}

/// How many names a message lists before it counts the rest.
const MOST_NAMES_LISTED: usize = 5;

/// Names as a message lists them: "`a`", "`a` and `b`", "`a`, `b` and `c`"; past a few, the rest
/// are counted ("… and 7 others"), as one message may stand for any number of services.
pub fn names<S: AsRef<str>>(names: &[S]) -> String {
    let quoted = |name: &S| format!("`{}`", name.as_ref());
    match names {
        [] => String::new(),
        [only] => quoted(only),
        _ if names.len() > MOST_NAMES_LISTED => {
            let listed: Vec<String> = names[..MOST_NAMES_LISTED].iter().map(quoted).collect();
            format!("{} and {} others", listed.join(", "), names.len() - MOST_NAMES_LISTED)
        }
        [first @ .., last] => {
            let listed: Vec<String> = first.iter().map(quoted).collect();
            format!("{} and {}", listed.join(", "), quoted(last))
        }
    }
}

/// Placeholders as a message lists them, `{{A}}, {{B}}`: all when they fit in a message (which is
/// cut at 400 characters, and says about 90 of its own), else as many as fit in 280 characters
/// and the rest counted ("… and 312 more").
pub fn placeholders<'a>(names: impl Iterator<Item = &'a str>) -> String {
    const ALL_FIT: usize = 305;
    const LISTED: usize = 280;
    let items: Vec<String> = names.map(|name| format!("{{{{{name}}}}}")).collect();
    let all = items.join(", ");
    if all.len() <= ALL_FIT {
        return all;
    }
    let mut listed = String::new();
    let mut shown = 0;
    for item in &items {
        if !listed.is_empty() && listed.len() + item.len() > LISTED {
            break;
        }
        if !listed.is_empty() {
            listed.push_str(", ");
        }
        listed.push_str(item);
        shown += 1;
    }
    listed.push_str(&format!(" and {} more", items.len() - shown));
    listed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_listed_within_a_message_s_length_and_the_rest_counted() {
        let few = ["Region", "TaskRoleArn"];
        assert_eq!(placeholders(few.into_iter()), "{{Region}}, {{TaskRoleArn}}");
        let many: Vec<String> = (0..500).map(|i| format!("AccessPointV{i:03}Id")).collect();
        let listed = placeholders(many.iter().map(String::as_str));
        assert!(listed.len() < 300, "{listed}");
        assert!(
            listed.starts_with("{{AccessPointV000Id}}, {{AccessPointV001Id}}"),
            "{listed}"
        );
        let shown = listed.matches("{{").count();
        assert!(listed.ends_with(&format!(" and {} more", 500 - shown)), "{listed}");
    }

    #[test]
    fn excerpts_are_bounded_and_cut_between_characters() {
        let long = "é".repeat(100);
        for at in 0..=long.len() {
            let shown = excerpt(&long, at);
            assert!(shown.len() <= 2 * EXCERPT_RADIUS + 8, "{at}: {}", shown.len());
        }
        assert!(excerpt(&long, 0).ends_with('…') && excerpt(&long, 100).starts_with('…'));
        assert_eq!(shown("short"), "short");
    }

    #[test]
    fn names_are_listed_then_counted() {
        assert_eq!(names(&["a"]), "`a`");
        assert_eq!(names(&["a", "b"]), "`a` and `b`");
        assert_eq!(names(&["a", "b", "c"]), "`a`, `b` and `c`");
        let many: Vec<String> = (0..8).map(|i| format!("s{i}")).collect();
        assert_eq!(names(&many), "`s0`, `s1`, `s2`, `s3`, `s4` and 3 others");
    }
}
