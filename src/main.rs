//! The compose2ecs command line: parses arguments, runs the conversion, prints diagnostics, writes files.

mod cli_deploy;

/// mimalloc rather than the system's: a conversion makes millions of small strings, and with glibc's
/// allocator the time a service takes grew 1.8 times from 500 to 20,000 services (its free lists
/// outgrow the caches), with mimalloc 1.2 to 1.35 times, and it takes about 30% less CPU at 5,000
/// (the README, under "Install, run, test"). Transparent huge pages are off (`no_thp`): with them
/// a 500-service run touched 48 MiB instead of 28.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use compose2ecs::diagnostic::{printable, printable_json, printable_lines, Code, Diagnostic, KeyPath, Severity};
use compose2ecs::load::discover;
use compose2ecs::load::interpolate::Variables;
use compose2ecs::load::stack_outputs::SavedOutputs;
use compose2ecs::source::{FileSystem, Links, SourceFile};
use compose2ecs::{convert, render, report, write, Conversion, Input};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::OnceLock;

/// Convert a docker-compose project into AWS ECS Fargate task definitions, services and CloudFormation.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Colour in diagnostics and clap's own messages: `auto` when stderr is a terminal and
    /// `NO_COLOR` is not set.
    #[arg(long, value_enum, default_value = "auto", global = true)]
    color: ColorMode,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorMode {
    Auto,
    Always,
    Never,
}

/// Whether diagnostics are printed in colour, decided once from `--color`, the terminal and
/// `NO_COLOR`.
static STYLED: OnceLock<bool> = OnceLock::new();

fn styled() -> bool {
    *STYLED.get_or_init(color_from_terminal)
}

fn color_from_terminal() -> bool {
    std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
}

#[derive(Subcommand)]
enum Command {
    /// Convert the compose files and write the ECS JSON and CloudFormation templates.
    Convert {
        #[command(flatten)]
        input: InputArgs,
        /// The output folder.
        #[arg(short = 'o', long = "output", value_name = "DIR", default_value = "ecs")]
        output: PathBuf,
        /// Refuse the input on any warning (for CI).
        #[arg(long)]
        strict: bool,
        /// Write nothing; exit 1 with a summary when the output folder differs from what
        /// would be written (for CI's "generated files are up to date" step).
        #[arg(long)]
        check: bool,
    },
    /// Convert, then deploy with your aws CLI: the stacks (their outputs saved in the output
    /// folder's `stacks/`), the task definitions and the services; each step is skipped when AWS
    /// has it already, so running it again goes on where a failed run stopped.
    Deploy(cli_deploy::DeployArgs),
    /// Remove what `deploy` made: the services (scaled to zero first), the task definitions'
    /// revisions and the stacks; what the templates retain (logs, volumes' data, secrets) stays.
    Down(cli_deploy::DownArgs),
    /// Print the completion script of a shell: `compose2ecs completions bash >
    /// ~/.local/share/bash-completion/completions/compose2ecs` (zsh: into a folder of `$fpath`, as
    /// `_compose2ecs`; fish: `~/.config/fish/completions/compose2ecs.fish`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the manual pages, one per command (`compose2ecs.1`, `compose2ecs-convert.1`, …),
    /// into a folder: `man -l man/compose2ecs.1`, or install them under `share/man/man1`.
    Man {
        /// The folder to write them into; made when missing.
        #[arg(short = 'o', long = "output", value_name = "DIR", default_value = "man")]
        output: PathBuf,
    },
    /// Print the JSON Schema of the `x-ecs` settings, for editors: the README says how to point
    /// yours at it (the repository's `x-ecs.schema.json` is this).
    Schema,
    /// Show what would run where and what each reference becomes, without writing files.
    Plan {
        #[command(flatten)]
        input: InputArgs,
        /// How to show the plan: a table for people, JSON for scripts, a Mermaid diagram.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

/// What every command reads.
#[derive(Args)]
pub(crate) struct InputArgs {
    /// A compose file; repeat to merge several in order. Default: the files `COMPOSE_FILE` lists,
    /// else compose.yaml, compose.yml, docker-compose.yml or docker-compose.yaml in the current
    /// folder, with its override file.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub(crate) files: Vec<PathBuf>,
    /// A deployed stack's outputs, as `aws cloudformation describe-stacks --stack-name S` prints
    /// them, or a folder of such `.json` files; they fill the placeholders. Repeat for each.
    /// `convert` also reads those `deploy` saved in the output folder's `stacks/`.
    #[arg(long = "stack-outputs", value_name = "FILE")]
    stack_outputs: Vec<PathBuf>,
    /// Activate a profile: services with it are converted (with COMPOSE_PROFILES; `*` for all).
    #[arg(long = "profile", value_name = "NAME")]
    pub(crate) profiles: Vec<String>,
    /// An env file to read instead of the `.env` beside the first compose file, relative to the
    /// current folder; repeat to read several in order (later ones win). It must exist.
    #[arg(long = "env-file", value_name = "FILE")]
    pub(crate) env_files: Vec<PathBuf>,
    /// The project name, over COMPOSE_PROJECT_NAME, the top-level `name` and the folder's name.
    #[arg(short = 'p', long = "project-name", value_name = "NAME")]
    project_name: Option<String>,
    /// Also show notes: every decision, such as each hostname rewrite.
    #[arg(short, long, conflicts_with = "quiet")]
    pub(crate) verbose: bool,
    /// Print errors only: no warnings, notes or progress (the exit code still says what happened).
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// How diagnostics are printed on stderr: for people, or one JSON object a line (code,
    /// severity, message, key path, file, line, column, help, other places) for CI and editors.
    #[arg(long = "message-format", value_enum, default_value = "human")]
    message_format: MessageFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum MessageFormat {
    Human,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
    Mermaid,
}

fn main() -> ExitCode {
    // `--color` reaches clap's own messages (usage errors, help) too, so it is read first.
    let arguments: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let mode = color_argument(&arguments);
    let color = match mode {
        Some(ColorMode::Always) => clap::ColorChoice::Always,
        Some(ColorMode::Never) => clap::ColorChoice::Never,
        _ => clap::ColorChoice::Auto,
    };
    let cli = match Cli::command()
        .color(color)
        .try_get_matches_from(&arguments)
        .and_then(|matches| Cli::from_arg_matches(&matches))
    {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    let _ = STYLED.set(match cli.color {
        ColorMode::Always => true,
        ColorMode::Never => false,
        ColorMode::Auto => color_from_terminal(),
    });
    match cli.command {
        Command::Convert {
            input,
            output,
            strict,
            check,
        } => run_convert(&input, &output, strict, check),
        Command::Plan { input, format } => run_plan(&input, format),
        Command::Deploy(args) => cli_deploy::run_deploy(&args),
        Command::Down(args) => cli_deploy::run_down(&args),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "compose2ecs", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::Man { output } => run_man(&output),
        Command::Schema => {
            let schema = compose2ecs::support::schema::x_ecs_schema();
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).expect("a schema always serialises")
            );
            ExitCode::SUCCESS
        }
    }
}

/// The `--color` given (`--color never`, `--color=never`), read before clap parses the rest.
fn color_argument(arguments: &[std::ffi::OsString]) -> Option<ColorMode> {
    let texts: Vec<&str> = arguments.iter().filter_map(|a| a.to_str()).collect();
    texts.iter().enumerate().rev().find_map(|(i, argument)| {
        let value = match argument.strip_prefix("--color") {
            Some("") => texts.get(i + 1).copied(),
            Some(rest) => rest.strip_prefix('='),
            None => None,
        }?;
        ColorMode::from_str(value, false).ok()
    })
}

/// A roff page per command, from the clap definitions: `compose2ecs.1`, then
/// `compose2ecs-SUBCOMMAND.1`. A page that is a link is refused, not written through.
fn run_man(output: &Path) -> ExitCode {
    let command = Cli::command();
    let mut pages = vec![("compose2ecs.1".to_string(), command.clone())];
    for sub in command.get_subcommands() {
        let name = format!("compose2ecs-{}", sub.get_name());
        pages.push((format!("{name}.1"), sub.clone().name(name)));
    }
    let write = |file: &str, page: clap::Command| -> std::io::Result<()> {
        let mut text = Vec::new();
        clap_mangen::Man::new(page).render(&mut text)?;
        let path = output.join(file);
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(std::io::Error::other(format!("{} is a link", path.display())));
        }
        std::fs::write(&path, text)
    };
    let written = std::fs::create_dir_all(output)
        .and_then(|()| pages.iter().try_for_each(|(file, page)| write(file, page.clone())));
    match written {
        Ok(()) => {
            eprintln!("wrote {} manual pages to {}", pages.len(), output.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            print_failure(
                &format!("the manual pages were not written: {error}"),
                "give a folder you may write to (`-o DIR`)",
            );
            ExitCode::from(1)
        }
    }
}

fn run_convert(input: &InputArgs, output: &Path, strict: bool, check: bool) -> ExitCode {
    let conversion =
        match read_outputs(input, Some(output)).and_then(|outputs| run_pipeline(input, outputs, Severity::Note)) {
            Ok(conversion) => conversion,
            Err(code) => return code,
        };
    let warnings = conversion.diagnostics.count(Severity::Warning);
    if conversion.is_refused(strict) {
        refused(&conversion, strict);
        return ExitCode::from(1);
    }
    if check {
        return match write::compare(output, &conversion.output) {
            Ok(difference) if difference.is_empty() => {
                if !input.quiet {
                    eprintln!("{} is up to date", output.display());
                }
                ExitCode::SUCCESS
            }
            Ok(difference) => {
                print_diagnostics(input, &[], &difference.not_ours(output, Severity::Error));
                if difference.is_stale() {
                    eprintln!(
                        "{} is not up to date; run `compose2ecs convert` and commit the result:",
                        output.display()
                    );
                    let lines = [
                        ("new", &difference.added),
                        ("changed", &difference.changed),
                        ("to remove", &difference.removed),
                    ];
                    for (what, files) in lines {
                        for file in files {
                            eprintln!("  {what:>9}  {}", printable(file));
                        }
                    }
                    if !input.quiet {
                        eprint!("{}", printable_lines(&changes(&difference, &conversion.output)));
                    }
                }
                ExitCode::from(1)
            }
            Err(error) => {
                print_failure(&error.to_string(), error.help());
                ExitCode::from(1)
            }
        };
    }
    let difference = match write::write_output(output, &conversion.output, &write::RunRecords::of_user()) {
        Ok(difference) => difference,
        Err(error) => {
            print_failure(&error.to_string(), error.help());
            return ExitCode::from(1);
        }
    };
    // The process ends next: freeing thousands of services' plan and output would take a tenth of
    // its CPU, for nothing.
    let conversion = std::mem::ManuallyDrop::new(conversion);
    let not_ours = difference.not_ours(output, Severity::Warning);
    print_diagnostics(input, &[], &not_ours);
    if input.quiet {
        return ExitCode::SUCCESS;
    }
    if let Some(plan) = &conversion.plan {
        eprint!("{}", deploy_notes(plan));
    }
    eprintln!(
        "wrote {} files to {} ({} warning(s))",
        conversion.output.len(),
        output.display(),
        warnings + not_ours.len()
    );
    ExitCode::SUCCESS
}

/// What `convert` says after writing: the placeholders `deploy` fills, and the order to create the
/// services in. A project of thousands of services would print thousands of names: each list
/// names the first 20.
fn deploy_notes(plan: &compose2ecs::plan::Plan) -> String {
    const NAMED: usize = 20;
    let mut notes = String::new();
    if !plan.missing.is_empty() {
        notes.push_str(
            "placeholders `compose2ecs deploy` fills once the stacks are deployed (see the README's Deploying):\n",
        );
        let shown = &plan.missing[..plan.missing.len().min(NAMED)];
        let width = shown.iter().map(|m| m.name.len()).max().unwrap_or(0) + 4;
        for missing in shown {
            let _ = writeln!(
                notes,
                "  {:width$}  from {}",
                format!("{{{{{}}}}}", missing.name),
                missing.source()
            );
        }
        if plan.missing.len() > NAMED {
            let _ = writeln!(
                notes,
                "  and {} more (every one: `compose2ecs plan --format json`, its `missing`)",
                plan.missing.len() - NAMED
            );
        }
    }
    let order = &plan.creation_order;
    let more = match order.len().saturating_sub(NAMED) {
        0 => String::new(),
        left => {
            format!(", and {left} more (every one in order: `compose2ecs plan --format json`, its `creation_order`)")
        }
    };
    let _ = writeln!(
        notes,
        "create the services in this order: {}{more}",
        printable_lines(&order[..order.len().min(NAMED)].join(", "))
    );
    notes
}

fn run_plan(input: &InputArgs, format: Format) -> ExitCode {
    let conversion = match read_outputs(input, None).and_then(|outputs| run_pipeline(input, outputs, Severity::Note)) {
        Ok(conversion) => conversion,
        Err(code) => return code,
    };
    let Some(plan) = conversion.plan.as_ref().filter(|_| !conversion.is_refused(false)) else {
        refused(&conversion, false);
        return ExitCode::from(1);
    };
    // What the plan shows comes from the compose file; it reaches the terminal escaped.
    let text = match format {
        Format::Table => printable_lines(&report::table(plan)).into_owned(),
        Format::Json => printable_json(&report::json(plan)).into_owned(),
        Format::Mermaid => printable_lines(&report::mermaid(plan)).into_owned(),
    };
    print!("{text}");
    ExitCode::SUCCESS
}

/// At most this many lines of diff per changed file, and in all: enough to see what changed in a
/// CI log, not a copy of the output.
const DIFF_LINES_PER_FILE: usize = 60;
const DIFF_LINES: usize = 600;

/// A unified diff of each changed file (what is there, then what compose2ecs would write), each
/// and all capped; the manifest's is left out, its change is the list of files above.
fn changes(difference: &write::Difference, output: &compose2ecs::emit::Output) -> String {
    let mut text = String::new();
    let mut left = DIFF_LINES;
    for path in difference
        .changed
        .iter()
        .filter(|path| path.as_str() != write::MANIFEST)
    {
        let (Some(before), Some(after)) = (difference.before.get(path), output.get(path)) else {
            continue;
        };
        let (before, after) = (shown_in_diff(path, before), shown_in_diff(path, after));
        let diff = similar::TextDiff::from_lines(before.as_str(), after.as_str());
        let unified = diff
            .unified_diff()
            .context_radius(2)
            .header(&format!("a/{path}"), &format!("b/{path}"))
            .to_string();
        let lines: Vec<&str> = unified.lines().collect();
        let shown = lines.len().min(DIFF_LINES_PER_FILE).min(left);
        for line in &lines[..shown] {
            text.push_str(line);
            text.push('\n');
        }
        if shown < lines.len() {
            text.push_str(&format!("… {} more lines of diff in {path}\n", lines.len() - shown));
        }
        left -= shown;
        if left == 0 {
            text.push_str("… the diff stops here; `compose2ecs convert` and `git diff` show it all\n");
            break;
        }
    }
    text
}

/// A file as `--check` shows it, since a CI log is read by more people than the repository: in a
/// task definition or service (JSON), each value that holds a secret (by its variable's, label's or
/// tag's name, or a password in it) is `***`, and arguments are masked as a command line; in any
/// file, a URL's password and a `password=` value.
fn shown_in_diff(path: &str, text: &str) -> String {
    use compose2ecs::plan::passwords::mask_credentials;
    if path.ends_with(".json") {
        if let Ok(mut value) = serde_json::from_str::<serde_json::Value>(text) {
            mask_secrets(&mut value);
            if let Ok(shown) = serde_json::to_string_pretty(&value) {
                return shown + "\n";
            }
        }
    }
    text.lines().map(|line| mask_credentials(line) + "\n").collect()
}

fn mask_secrets(value: &mut serde_json::Value) {
    use compose2ecs::plan::passwords::{holds_a_secret, mask_arguments, mask_credentials, names_a_secret};
    use serde_json::Value;
    let secret = |name: &str, value: &str| names_a_secret(name) || holds_a_secret(name, value);
    match value {
        Value::Object(map) => {
            // `{name, value}` (environment) and `{key, value}` (tags) pairs.
            let name = map
                .get("name")
                .or_else(|| map.get("key"))
                .and_then(Value::as_str)
                .map(str::to_string);
            if let (Some(name), Some(Value::String(text))) = (name, map.get_mut("value")) {
                if secret(&name, text) {
                    *text = "***".to_string();
                }
            }
            for (key, item) in map.iter_mut() {
                match (key.as_str(), item) {
                    ("command" | "entryPoint", Value::Array(arguments)) => {
                        let texts: Vec<String> = arguments
                            .iter()
                            .filter_map(|a| a.as_str().map(str::to_string))
                            .collect();
                        if texts.len() == arguments.len() {
                            *arguments = mask_arguments(&texts).into_iter().map(Value::String).collect();
                        }
                    }
                    ("dockerLabels", Value::Object(labels)) => {
                        for (label, text) in labels.iter_mut() {
                            if let Value::String(text) = text {
                                *text = if secret(label, text) {
                                    "***".to_string()
                                } else {
                                    mask_credentials(text)
                                };
                            }
                        }
                    }
                    (_, item) => mask_secrets(item),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_secrets),
        Value::String(text) => *text = mask_credentials(text),
        _ => {}
    }
}

pub(crate) fn refused(conversion: &Conversion, strict: bool) {
    let errors = conversion.diagnostics.count(Severity::Error);
    let warnings = conversion.diagnostics.count(Severity::Warning);
    if errors == 0 && strict {
        eprintln!("refused: {warnings} warning(s) with --strict; nothing was written");
    } else {
        eprintln!("refused: {errors} error(s); nothing was written");
    }
}

/// The stacks' outputs: those `deploy` saved in the output folder `saved_in`, then each
/// `--stack-outputs` file or folder.
pub(crate) fn read_outputs(args: &InputArgs, saved_in: Option<&Path>) -> Result<SavedOutputs, ExitCode> {
    let mut outputs = SavedOutputs::default();
    let read = saved_in
        .map_or(Ok(()), |folder| outputs.read_saved(folder))
        .and_then(|()| {
            args.stack_outputs
                .iter()
                .try_for_each(|path| outputs.read(path, Links::Follow))
        });
    if let Err(message) = read {
        let unread = Diagnostic::error(Code::StackOutputs, KeyPath::root(), message).with_help(
            "`compose2ecs deploy` saves each stack's outputs; by hand: `aws cloudformation describe-stacks --stack-name STACK > FILE` once the stack is deployed",
        );
        print_diagnostics(args, &[], [&unread]);
        return Err(ExitCode::from(1));
    }
    Ok(outputs)
}

/// Finds the files, converts with the stacks' outputs, and prints the diagnostics from `least`
/// up (`deploy` converts twice, and says the warnings once).
pub(crate) fn run_pipeline(
    args: &InputArgs,
    stack_outputs: SavedOutputs,
    least: Severity,
) -> Result<Conversion, ExitCode> {
    let environment: Variables = std::env::vars().collect();
    let compose_files = match discover::compose_files(&args.files, &args.env_files, &environment, &FileSystem) {
        Ok(files) => files,
        Err(missing) => {
            let none =
                Diagnostic::error(Code::NoComposeFile, KeyPath::root(), missing.to_string()).with_help(missing.help());
            print_diagnostics(args, &[], [&none]);
            return Err(ExitCode::from(1));
        }
    };
    let input = Input {
        compose_files,
        directory_name: None,
        environment,
        stack_outputs,
        profiles: args.profiles.clone(),
        env_files: args.env_files.clone(),
        project_name: args.project_name.clone(),
    };
    let conversion = convert(&input, &FileSystem).map_err(|error| {
        print_failure(
            &error.to_string(),
            "this is a bug in compose2ecs; please report it with the compose file",
        );
        ExitCode::from(1)
    })?;
    let shown = conversion.diagnostics.iter().filter(|d| d.severity >= least);
    print_diagnostics(args, &conversion.sources, shown);
    Ok(conversion)
}

/// A failure of the run rather than a mistake in its input (the output folder cannot be written,
/// a bug): it has no code, and is text in every message format.
pub(crate) fn print_failure(message: &str, help: &str) {
    eprintln!("error: {}", printable(message));
    eprintln!("   = help: {help}");
}

/// How many diagnostics of one code and severity are printed one by one without `-v`; the rest
/// are counted in one line, so a project of thousands of services says each kind of thing once.
const SHOWN_PER_CODE: usize = 10;

/// Prints `diagnostics` on stderr as `--message-format` asks, notes only with `-v`: every
/// diagnostic reaches the user through here, in one buffered write. Without `-v`, past
/// `SHOWN_PER_CODE` of one code the rest are counted, not printed. `sources` are the files whose
/// lines they may show.
fn print_diagnostics<'a>(
    args: &InputArgs,
    sources: &[SourceFile],
    diagnostics: impl IntoIterator<Item = &'a Diagnostic>,
) {
    use std::io::Write;
    let sources = render::SourceLines::new(sources);
    let styled = styled();
    let mut out = std::io::BufWriter::new(std::io::stderr().lock());
    let mut printed: std::collections::BTreeMap<(Severity, Code), usize> = std::collections::BTreeMap::new();
    // A closed stderr is nothing to report on: the writes' errors are dropped, as eprintln's are not.
    for diagnostic in diagnostics {
        let shown = match diagnostic.severity {
            Severity::Error => true,
            Severity::Warning => !args.quiet,
            Severity::Note => args.verbose,
        };
        if !shown {
            continue;
        }
        match args.message_format {
            MessageFormat::Human => {
                let count = printed.entry((diagnostic.severity, diagnostic.code)).or_default();
                *count += 1;
                if !args.verbose && *count > SHOWN_PER_CODE {
                    continue;
                }
                let line = diagnostic
                    .location
                    .as_ref()
                    .and_then(|at| sources.line(&at.file, at.line));
                let _ = writeln!(out, "{}", render::human(diagnostic, line, styled));
            }
            MessageFormat::Json => {
                let _ = writeln!(out, "{}", printable_json(&report::diagnostic_json(diagnostic)));
            }
        }
    }
    for ((severity, code), count) in printed.into_iter().filter(|(_, count)| *count > SHOWN_PER_CODE) {
        if !args.verbose {
            let _ = writeln!(
                out,
                "{}[{}]: {} more like these, not shown (`-v` shows every one)\n",
                severity.as_str(),
                code.as_str(),
                count - SHOWN_PER_CODE
            );
        }
    }
    let _ = out.flush();
}
