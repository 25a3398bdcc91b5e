//! The key index's tests: block and flow style, aliases, merge keys, the loader's own reading, and limits.

use super::*;

const TEXT: &str = "\
services:
  web:
    image: nginx
    ports:
      - \"80:80\"
      - target: 443
        published: 443
    command: |
      image: not a key
      run
  db:
    # a comment
    image: postgres
    environment: {A: b}
    expose:
    - 5432
    - 5433
x-ecs:
  cluster: prod
";

/// `path` written as `a.b[1].c` (no key with a dot or a bracket).
fn path(written: &str) -> KeyPath {
    let mut path = KeyPath::root();
    for part in written.split('.') {
        let mut pieces = part.split('[');
        let key = pieces.next().unwrap_or_default();
        if !key.is_empty() {
            path = path.key(key);
        }
        for item in pieces {
            path = path.index(item.trim_end_matches(']').parse().unwrap());
        }
    }
    path
}

/// Where `path` is in `text`, found to its last segment: (line, column).
fn at_in(text: &str, written: &str) -> Option<(usize, usize)> {
    let path = path(written);
    KeyIndex::new(text)
        .locate(&path)
        .filter(|(depth, _, _)| *depth == path.0.len())
        .map(|(_, line, column)| (line, column))
}

fn at(written: &str) -> Option<(usize, usize)> {
    at_in(TEXT, written)
}

#[test]
fn finds_keys_and_items() {
    assert_eq!(at("services.web.image"), Some((3, 5)));
    assert_eq!(at("services.web.ports[0]"), Some((5, 9)));
    assert_eq!(at("services.web.ports[1]"), Some((6, 9)));
    assert_eq!(at("services.web.ports[1].published"), Some((7, 9)));
    assert_eq!(at("services.db.image"), Some((13, 5)));
    assert_eq!(at("services.db.expose[1]"), Some((17, 7)));
    assert_eq!(at("x-ecs.cluster"), Some((19, 3)));
}

#[test]
fn finds_keys_and_items_of_flow_collections() {
    let text = "services: {web: {image: a, ports: [\"80:80\", {target: 443}]},\n  db: {\n    image: b,\n    \"env\": [X=1,\n      Y=2]}}\n";
    assert_eq!(at_in(text, "services.web"), Some((1, 12)));
    assert_eq!(at_in(text, "services.web.image"), Some((1, 18)));
    assert_eq!(at_in(text, "services.web.ports[0]"), Some((1, 36)));
    assert_eq!(at_in(text, "services.web.ports[1].target"), Some((1, 46)));
    assert_eq!(at_in(text, "services.db.image"), Some((3, 5)));
    assert_eq!(at_in(text, "services.db.env"), Some((4, 5)));
    assert_eq!(at_in(text, "services.db.env[1]"), Some((5, 7)));
    assert_eq!(at("services.db.environment.A"), Some((14, 19)));
}

#[test]
fn keys_match_as_the_loaded_document_writes_them() {
    let text = "\
\"web app\": 1
'it''s': 2
\"a\\tb\": 3
80: 4
0x10: 5
~: 6
!!str 012: 7
true: 8
&name anchored: 9
nested: {*name : 10}
? |
  long
: 11
[a, b]: 12
{c: d}: 13
!local x: 14
1.5: 15
? multi
  line
: 16
1e3: 17
";
    assert_eq!(at_in(text, "web app"), Some((1, 1)));
    assert_eq!(at_in(text, "it's"), Some((2, 1)));
    assert_eq!(at_in(text, "a\tb"), Some((3, 1)));
    assert_eq!(at_in(text, "80"), Some((4, 1)));
    assert_eq!(at_in(text, "16"), Some((5, 1)));
    assert_eq!(at_in(text, "null"), Some((6, 1)));
    assert_eq!(at_in(text, "012"), Some((7, 7)), "past the tag");
    assert_eq!(at_in(text, "true"), Some((8, 1)));
    assert_eq!(at_in(text, "anchored"), Some((9, 7)), "past the anchor");
    assert_eq!(at_in(text, "nested.anchored"), Some((10, 10)), "an alias as a key");
    assert_eq!(at_in(text, "long\n"), Some((11, 3)));
    // Complex and locally tagged keys are `?` in the loaded document; the first is found.
    assert_eq!(at_in(text, "?"), Some((14, 1)));
    let index = KeyIndex::new(text);
    assert_eq!(index.locate(&KeyPath::root().key("1.5")), Some((1, 17, 1)));
    assert_eq!(index.locate(&KeyPath::root().key("1000.0")), Some((1, 21, 1)));
    assert_eq!(at_in(text, "multi line"), Some((18, 3)));
    assert_eq!(at_in(text, "x"), None);
}

#[test]
fn a_path_through_an_alias_is_found_inside_the_anchor() {
    let text = "\
x-web: &web
  image: a
  ports: [\"1:1\", \"2:2\"]
x-labels: &labels {a: b}
services:
  web: *web
  api:
    image: b
    labels: *labels
    ports:
      - *web
";
    assert_eq!(at_in(text, "services.web"), Some((6, 3)), "the key itself");
    assert_eq!(at_in(text, "services.web.image"), Some((2, 3)));
    assert_eq!(at_in(text, "services.web.ports[1]"), Some((3, 18)));
    assert_eq!(at_in(text, "services.api.labels.a"), Some((4, 20)));
    assert_eq!(at_in(text, "services.api.ports[0]"), Some((11, 9)), "the item itself");
    assert_eq!(at_in(text, "services.api.ports[0].image"), Some((2, 3)));
}

const MERGES: &str = "\
x-a: &a
  image: from-a
  restart: from-a
  ports: [from-a]
x-b: &b
  image: from-b
  user: from-b
  labels: {x: from-b}
x-c: &c
  <<: *a
  user: from-c
x-d: &d
  <<: *b
  hostname: from-d
services:
  one:
    <<: *a
    image: from-one
  two:
    <<: [*b, *a]
  three:
    <<: [*c, *b]
  four:
    <<: [*b, *d]
  five: {\"<<\": {<<: *a, user: from-five}, hostname: from-five}
";

#[test]
fn keys_a_merge_key_brings_in_are_found_where_they_are_written() {
    let at = |written| at_in(MERGES, written);
    // What a mapping writes wins over what it merges.
    assert_eq!(at("services.one.image"), Some((18, 5)));
    assert_eq!(at("services.one.restart"), Some((3, 3)));
    assert_eq!(at("services.one.ports[0]"), Some((4, 11)));
    // Of a list, the first mapping that writes a key wins.
    assert_eq!(at("services.two.image"), Some((6, 3)));
    assert_eq!(at("services.two.restart"), Some((3, 3)));
    assert_eq!(at("services.two.labels.x"), Some((8, 12)));
    // A merged mapping's own merge comes after what the list's mappings write.
    assert_eq!(at("services.three.user"), Some((11, 3)));
    assert_eq!(at("services.three.image"), Some((6, 3)));
    assert_eq!(at("services.three.restart"), Some((3, 3)));
    // Only the first merge of a list's mappings is merged (as the loader applies them).
    assert_eq!(at("services.four.hostname"), Some((14, 3)));
    assert_eq!(at("services.four.image"), Some((6, 3)));
    assert_eq!(at("services.five.user"), Some((25, 25)));
    assert_eq!(at("services.five.restart"), Some((3, 3)));
    assert_eq!(at("services.five.hostname"), Some((25, 43)));
    // `<<` itself is no key of the loaded document.
    assert_eq!(at("services.one.<<"), None);
}

fn is_quoting(character: char) -> bool {
    matches!(character, '"' | '\'' | '\\')
}

/// Every scalar of the document the loader makes of `text` is found on the line where the
/// text writes it, after its key: the index follows aliases and merge keys as the loader does.
fn check_against_the_loader(text: &str) -> usize {
    let mut document: serde_yaml::Value = serde_yaml::from_str(text).unwrap();
    crate::load::apply_merge_keys(&mut document).unwrap();
    let index = KeyIndex::new(text);
    let lines: Vec<&str> = text.lines().collect();
    let mut stack = vec![(KeyPath::root(), &document)];
    let mut checked = 0;
    while let Some((at, value)) = stack.pop() {
        match value {
            serde_yaml::Value::Mapping(mapping) => {
                for (key, value) in mapping {
                    stack.push((at.key(crate::load::interpolate::key_text(key)), value));
                }
            }
            serde_yaml::Value::Sequence(items) => {
                stack.extend(items.iter().enumerate().map(|(item, value)| (at.index(item), value)));
            }
            serde_yaml::Value::String(written) => {
                let found = index.locate(&at);
                let (depth, line, column) = found.unwrap_or_else(|| panic!("{at} not found"));
                assert_eq!(depth, at.0.len(), "{at}");
                let from: String = lines[line - 1]
                    .chars()
                    .skip(column - 1)
                    .filter(|c| !is_quoting(*c))
                    .collect();
                // A block scalar's value starts on the next line.
                let shown = if written.contains('\n') { "" } else { written.as_str() };
                let expected = match at.0.last() {
                    Some(Segment::Key(key)) => format!("{key}: {shown}"),
                    _ => shown.to_string(),
                };
                // Quotes and escapes are written, not read.
                let expected: String = expected.chars().filter(|c| !is_quoting(*c)).collect();
                assert!(from.starts_with(&expected), "{at} at {line}:{column}: {from:?}");
                checked += 1;
            }
            _ => {}
        }
    }
    checked
}

#[test]
fn finds_what_the_loader_reads_where_it_is_written() {
    assert!(check_against_the_loader(MERGES) > 0);
    assert!(check_against_the_loader(TEXT) > 0);
    check_against_the_loader(
            "x-base: &base\n  environment: &env {A: from-base, B: from-base}\n  labels: [x, y]\nservices:\n  web:\n    <<: *base\n    environment:\n      <<: *env\n      B: from-web\n  api: {<<: [*base], command: [sh, -c, run]}\n",
        );
}

/// The compose files of `testdata/`, as they are: each value where the loader reads it.
#[test]
fn finds_every_value_of_the_testdata_files_where_it_is_written() {
    let mut checked = 0;
    let cases = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata")).unwrap();
    for case in cases {
        for file in std::fs::read_dir(case.unwrap().path()).unwrap() {
            let file = file.unwrap().path();
            let yaml = file.extension().is_some_and(|e| e == "yml" || e == "yaml");
            let Some(text) = yaml.then(|| std::fs::read_to_string(&file).unwrap()) else {
                continue;
            };
            // A case about a file the loader refuses has nothing to find.
            let loads = serde_yaml::from_str::<serde_yaml::Value>(&text)
                .is_ok_and(|mut document| crate::load::apply_merge_keys(&mut document).is_ok());
            if loads {
                checked += check_against_the_loader(&text);
            }
        }
    }
    assert!(checked > 500, "{checked} values");
}

#[test]
fn only_the_first_document_is_indexed() {
    let text = "---\nservices:\n  web: {image: a}\n...\n---\nother: 1\n";
    assert_eq!(at_in(text, "services.web.image"), Some((3, 9)));
    assert_eq!(at_in(text, "other"), None);
}

/// Neither building the index nor a lookup expands an alias or follows links without end.
#[test]
fn deep_anchors_stay_linear() {
    // A billion laughs, as many levels as the limits let through: each level nine aliases of
    // the one before.
    let mut text = String::from("a0: &a0 [x]\n");
    for level in 1..8 {
        let previous = format!("*a{}", level - 1);
        text.push_str(&format!(
            "a{level}: &a{level} [{}]\n",
            [previous.as_str(); 9].join(", ")
        ));
    }
    let started = std::time::Instant::now();
    let index = KeyIndex::new(&text);
    assert!(index.nodes.len() < 8 * 11, "{} nodes", index.nodes.len());
    let deep = format!("a7{}", "[8]".repeat(7));
    assert_eq!(at_in(&text, &format!("{deep}[0]")), Some((1, 10)));
    // A long chain of merges, each bringing in the one before.
    let mut text = String::from("m0: &m0 {k0: v}\n");
    for level in 1..2_000 {
        text.push_str(&format!("m{level}: &m{level} {{<<: *m{}, k{level}: v}}\n", level - 1));
    }
    assert_eq!(crate::load::yaml_limits::check(&text), None, "within the limits");
    let index = KeyIndex::new(&text);
    let far = path("m1999.k0");
    let near = path("m1999.k1990");
    for _ in 0..1_000 {
        assert_eq!(
            index.locate(&far).map(|(depth, _, _)| depth),
            Some(1),
            "given up, not followed to the end"
        );
        assert_eq!(index.locate(&near).map(|(depth, _, _)| depth), Some(2));
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// A node's place is past its anchor or tag, where the next event may start again (an item's
/// mapping and its first key start at `&a`): counting places stays linear.
#[test]
fn anchored_keys_stay_linear() {
    let text: String = (0..50_000).map(|i| format!("- &a k{i}: v\n")).collect();
    let started = std::time::Instant::now();
    let index = KeyIndex::new(&text);
    assert_eq!(index.locate(&path("[49999]")), Some((1, 50_000, 6)));
    assert_eq!(index.locate(&path("[49999].k49999")), Some((2, 50_000, 6)));
    // Anchors and tags in one flow line, each property read once (each scan used to run to the
    // line's end).
    let flow = format!(
        "x: [{}]\ny: [{}]\n",
        "&a 1,".repeat(50_000).replace(' ', ""),
        "!t,".repeat(50_000)
    );
    let index = KeyIndex::new(&flow);
    assert_eq!(index.locate(&path("y")), Some((1, 2, 1)));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // Counted back, were a place ever behind the last.
    let mut builder = KeyIndexBuilder::new("ab\ncdé f\n");
    assert_eq!(builder.place(8), (2, 5));
    assert_eq!(builder.place(4), (2, 2));
    assert_eq!(builder.place(1), (1, 2));
    assert_eq!(builder.place(9), (2, 6));
}

#[test]
fn falls_back_to_the_deepest_known_key() {
    let index = KeyIndex::new(TEXT);
    assert_eq!(index.locate(&path("services.db.environment.B")), Some((3, 14, 5)));
    assert_eq!(index.locate(&path("services.nope")), Some((1, 1, 1)));
    // Lines of a block scalar are not keys.
    assert_eq!(index.locate(&path("services.web.command.image")), Some((3, 8, 5)));
    // Nor is anything of a text that is not YAML, or not a mapping.
    assert_eq!(KeyIndex::new("a: [b\n").locate(&path("a")), Some((1, 1, 1)));
    assert_eq!(KeyIndex::new("- a\n").locate(&path("a")), None);
    assert_eq!(KeyIndex::new("").locate(&path("a")), None);
}
