//! How long a conversion takes on a large synthetic project, whole and stage by stage:
//! `cargo bench`, at 500, 5,000 and 20,000 services of `synthetic::compose` (the project
//! `.ci/whole_process` times as a whole process too). `one_large_value` is one value of a megabyte.

mod synthetic;

use compose2ecs::diagnostic::Diagnostics;
use compose2ecs::load::stack_outputs::SavedOutputs;
use compose2ecs::source::MemoryFiles;
use compose2ecs::{convert, emit, load, normalise, plan, Input};
use std::path::PathBuf;

/// The allocator the binary uses, so the benchmark measures what users run.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    divan::main();
}

fn setup(count: usize) -> (Input, MemoryFiles) {
    let path = PathBuf::from("compose.yaml");
    let mut files = MemoryFiles::default();
    files.0.insert(path.clone(), synthetic::compose(count).into_bytes());
    let input = Input {
        compose_files: vec![path],
        directory_name: Some("bench".to_string()),
        ..Input::default()
    };
    (input, files)
}

#[divan::bench(args = [500, 5000, 20000], sample_count = 10)]
fn whole_conversion(bencher: divan::Bencher, count: usize) {
    let (input, files) = setup(count);
    bencher.bench_local(|| {
        let conversion = convert(&input, &files).unwrap();
        assert!(conversion.plan.is_some(), "the synthetic project converts");
        conversion
    });
}

/// One service whose environment variable and `sh -c` command each hold a value of `kib` KiB full
/// of references and passwords: the time must grow with the value's length, not its square.
#[divan::bench(args = [1024], sample_count = 10)]
fn one_large_value(bencher: divan::Bencher, kib: usize) {
    let piece = "db:5432 postgres://app:s3cret@db/app password=x ";
    let value = piece.repeat(kib * 1024 / piece.len());
    let compose = format!(
        "name: bench\nservices:\n  db:\n    image: postgres:16\n  app:\n    image: app:1\n    command: [\"sh\", \"-c\", \"{value}\"]\n    environment:\n      DATABASE_URL: \"{value}\"\n"
    );
    let path = PathBuf::from("compose.yaml");
    let mut files = MemoryFiles::default();
    files.0.insert(path.clone(), compose.into_bytes());
    let input = Input {
        compose_files: vec![path],
        directory_name: Some("bench".to_string()),
        ..Input::default()
    };
    bencher.bench_local(|| {
        let conversion = convert(&input, &files).unwrap();
        assert!(conversion.plan.is_some(), "the large value converts");
        conversion
    });
}

/// Each stage alone, on inputs the stage before made outside the measurement.
mod stages {
    use super::*;
    use compose2ecs::load::Loaded;
    use compose2ecs::normalise::Project;

    fn loaded(count: usize) -> (Loaded, MemoryFiles) {
        let (input, files) = setup(count);
        let loaded = load::load(&input, &files, &mut Diagnostics::default());
        (loaded.expect("the synthetic project loads"), files)
    }

    fn project(count: usize) -> Project {
        let (loaded, files) = loaded(count);
        normalise::normalise(&loaded, &[], &files, &mut Diagnostics::default()).expect("it normalises")
    }

    #[divan::bench(args = [500, 5000], sample_count = 10)]
    fn load(bencher: divan::Bencher, count: usize) {
        let (input, files) = setup(count);
        bencher.bench_local(|| load::load(&input, &files, &mut Diagnostics::default()));
    }

    #[divan::bench(args = [500, 5000], sample_count = 10)]
    fn normalise(bencher: divan::Bencher, count: usize) {
        let (loaded, files) = loaded(count);
        bencher.bench_local(|| normalise::normalise(&loaded, &[], &files, &mut Diagnostics::default()));
    }

    #[divan::bench(args = [500, 5000], sample_count = 10)]
    fn plan(bencher: divan::Bencher, count: usize) {
        let project = project(count);
        bencher.bench_local(|| plan::plan(&project, &SavedOutputs::empty(), &mut Diagnostics::default()));
    }

    /// Pointing every diagnostic of a run at its line in the file.
    #[divan::bench(args = [500, 5000], sample_count = 10)]
    fn locate(bencher: divan::Bencher, count: usize) {
        let (input, files) = setup(count);
        let mut diagnostics = convert(&input, &files).unwrap().diagnostics;
        for diagnostic in &mut diagnostics.0 {
            diagnostic.location = None;
        }
        let (loaded, _) = loaded(count);
        bencher.bench_local(|| {
            let mut again = diagnostics.clone();
            compose2ecs::source::locate_all(&mut again, &loaded.sources);
            again
        });
    }

    #[divan::bench(args = [500, 5000], sample_count = 10)]
    fn emit(bencher: divan::Bencher, count: usize) {
        let planned = plan::plan(&project(count), &SavedOutputs::empty(), &mut Diagnostics::default()).unwrap();
        bencher.bench_local(|| emit::emit(&planned));
    }
}
