//! The compose2ecs command line: parses arguments, runs the conversion, prints diagnostics, writes files.

use clap::{Parser, Subcommand};
use compose2ecs::diagnostic::Severity;
use compose2ecs::load::stack_outputs::read_stack_outputs;
use compose2ecs::plan::KnownValues;
use compose2ecs::source::FileSystem;
use compose2ecs::{convert, write, Input};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Convert a docker-compose project into AWS ECS Fargate task definitions, services and CloudFormation.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Convert the compose files and write the ECS JSON and CloudFormation templates.
    Convert {
        /// A compose file; repeat to merge several in order. Default: compose.yaml, compose.yml,
        /// docker-compose.yaml or docker-compose.yml in the current folder, with its override file.
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        files: Vec<PathBuf>,
        /// The output folder.
        #[arg(short = 'o', long = "output", value_name = "DIR", default_value = "ecs")]
        output: PathBuf,
        /// A deployed stack's outputs, as `aws cloudformation describe-stacks --stack-name S` prints
        /// them; they fill the placeholders. Repeat for each stack.
        #[arg(long = "stack-outputs", value_name = "FILE")]
        stack_outputs: Vec<PathBuf>,
        /// Refuse the input on any warning (for CI).
        #[arg(long)]
        strict: bool,
        /// Also show notes: every decision, such as each hostname rewrite.
        #[arg(short, long)]
        verbose: bool,
    },
}

/// Compose's own search order for the main file, and for the override file merged after it.
const DEFAULT_FILES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];
const OVERRIDE_FILES: &[&str] = &[
    "compose.override.yaml",
    "compose.override.yml",
    "docker-compose.override.yaml",
    "docker-compose.override.yml",
];

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Convert {
            files,
            output,
            stack_outputs,
            strict,
            verbose,
        } => run_convert(files, &stack_outputs, &output, strict, verbose),
    }
}

fn run_convert(
    mut files: Vec<PathBuf>,
    stack_outputs: &[PathBuf],
    output: &Path,
    strict: bool,
    verbose: bool,
) -> ExitCode {
    let mut known_values = KnownValues::new();
    for path in stack_outputs {
        let shown = path.display().to_string();
        let read = std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read `{shown}`: {error}"))
            .and_then(|text| read_stack_outputs(&shown, &text, &mut known_values));
        if let Err(message) = read {
            eprintln!("error[stack-outputs]: {message}");
            eprintln!(
                "   = help: save a stack's outputs with `aws cloudformation describe-stacks --stack-name STACK > FILE`"
            );
            return ExitCode::from(1);
        }
    }
    if files.is_empty() {
        let Some(found) = DEFAULT_FILES.iter().map(PathBuf::from).find(|p| p.is_file()) else {
            eprintln!("error[no-compose-file]: no compose file in this folder");
            eprintln!(
                "   = help: looked for {}; name one with `-f FILE`",
                DEFAULT_FILES.join(", ")
            );
            return ExitCode::from(1);
        };
        files.push(found);
        if let Some(overrides) = OVERRIDE_FILES.iter().map(PathBuf::from).find(|p| p.is_file()) {
            files.push(overrides);
        }
    }
    let directory_name = files[0]
        .parent()
        .map(|p| if p.as_os_str().is_empty() { Path::new(".") } else { p })
        .and_then(|p| p.canonicalize().ok())
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let input = Input {
        compose_files: files,
        directory_name,
        environment: std::env::vars().collect(),
        known_values,
    };
    let conversion = match convert(&input, &FileSystem) {
        Ok(conversion) => conversion,
        Err(error) => {
            eprintln!("error: {error}");
            eprintln!("   = help: this is a bug in compose2ecs; please report it with the compose file");
            return ExitCode::from(1);
        }
    };
    for diagnostic in conversion.diagnostics.iter() {
        if verbose || diagnostic.severity != Severity::Note {
            eprintln!("{diagnostic}");
        }
    }
    let errors = conversion.diagnostics.count(Severity::Error);
    let warnings = conversion.diagnostics.count(Severity::Warning);
    if conversion.is_refused(strict) {
        if errors == 0 {
            eprintln!("refused: {warnings} warning(s) with --strict; nothing was written");
        } else {
            eprintln!("refused: {errors} error(s); nothing was written");
        }
        return ExitCode::from(1);
    }
    if let Err(error) = write::write_output(output, &conversion.output) {
        eprintln!("error: {error}");
        return ExitCode::from(1);
    }
    if let Some(plan) = conversion.plan.as_ref().filter(|p| !p.missing.is_empty()) {
        eprintln!("placeholders to fill once the stacks are deployed (see the README's deploy walk-through):");
        let width = plan.missing.iter().map(|m| m.name.len()).max().unwrap_or(0) + 4;
        for missing in &plan.missing {
            eprintln!(
                "  {:width$}  from {}",
                format!("{{{{{}}}}}", missing.name),
                missing.source()
            );
        }
    }
    eprintln!(
        "wrote {} files to {} ({warnings} warning(s))",
        conversion.output.len(),
        output.display()
    );
    ExitCode::SUCCESS
}
