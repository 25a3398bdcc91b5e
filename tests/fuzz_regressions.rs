//! Every input that ever crashed compose2ecs (found by fuzzing or by review) stays a test: it must
//! convert or be refused, never panic. The inputs live in `fuzz/regressions/`.

use compose2ecs::source::MemoryFiles;
use compose2ecs::{convert, Input};
use std::fs;
use std::path::{Path, PathBuf};

#[test]
fn past_crashes_do_not_crash() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut inputs: Vec<PathBuf> = fs::read_dir(&folder).unwrap().map(|e| e.unwrap().path()).collect();
    inputs.sort();
    assert!(inputs.len() >= 3, "the regression inputs are found");
    for input_path in inputs {
        let path = PathBuf::from("compose.yaml");
        let mut files = MemoryFiles::default();
        files.0.insert(path.clone(), fs::read(&input_path).unwrap());
        let input = Input {
            compose_files: vec![path],
            directory_name: Some("regression".to_string()),
            ..Input::default()
        };
        let conversion = convert(&input, &files).expect("templates always render");
        assert!(
            conversion.plan.is_some() || conversion.diagnostics.has_errors(),
            "{}: refused without saying why",
            input_path.display()
        );
    }
}
