//! Fuzz target: any bytes as a compose file. A conversion either refuses them with diagnostics or
//! produces output; it never panics, and what it produces parses back.
#![no_main]

use compose2ecs::source::MemoryFiles;
use compose2ecs::{convert, Input};
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;

fuzz_target!(|bytes: &[u8]| {
    let path = PathBuf::from("compose.yaml");
    let mut files = MemoryFiles::default();
    files.0.insert(path.clone(), bytes.to_vec());
    let input = Input {
        compose_files: vec![path],
        directory_name: Some("fuzz".to_string()),
        ..Input::default()
    };
    let conversion = convert(&input, &files).expect("templates always render");
    for (name, text) in &conversion.output {
        if name.ends_with(".json") {
            serde_json::from_str::<serde_json::Value>(text).expect("emitted JSON parses");
        } else {
            serde_yaml::from_str::<serde_yaml::Value>(text).expect("emitted YAML parses");
        }
    }
});
