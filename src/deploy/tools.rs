//! The tools `deploy` runs — the user's aws CLI, and docker for the images it builds: each
//! command as data (shown the same way it is run), and the runners — the programs on PATH, or a
//! dry run that only prints.

use crate::normalise::Withheld;
use crate::plan::shell;
use std::io::Write;
use std::process::{Command, Stdio};

/// The programs `deploy` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    Aws,
    Docker,
}

impl Program {
    pub fn name(self) -> &'static str {
        match self {
            Program::Aws => "aws",
            Program::Docker => "docker",
        }
    }
}

/// One command line: `aws SERVICE OPERATION ...` (without the options every aws command gets),
/// or `docker ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliCommand {
    pub program: Program,
    pub args: Vec<String>,
    /// Whether it only reads: a dry run may not run it either, but a failed read changed nothing.
    pub reads_only: bool,
    /// What the command reads on its standard input (`file:///dev/stdin`): a secret's value,
    /// which is never shown, and never on a command line that `ps` lists.
    pub stdin: Option<Withheld>,
    /// Environment variables set for it (shown before it, as a shell sets them).
    pub env: Vec<(String, String)>,
}

impl CliCommand {
    /// A command that changes something on AWS.
    pub fn change(service: &str, operation: &str) -> Self {
        CliCommand {
            program: Program::Aws,
            args: vec![service.to_string(), operation.to_string()],
            reads_only: false,
            stdin: None,
            env: Vec::new(),
        }
    }

    /// A docker command (`docker push IMAGE`).
    pub fn docker<I: IntoIterator<Item = S>, S: Into<String>>(args: I) -> Self {
        CliCommand {
            program: Program::Docker,
            args: args.into_iter().map(Into::into).collect(),
            reads_only: false,
            stdin: None,
            env: Vec::new(),
        }
    }

    /// A command that only reads.
    pub fn read(service: &str, operation: &str) -> Self {
        CliCommand {
            reads_only: true,
            ..CliCommand::change(service, operation)
        }
    }

    /// Adds `--name value`.
    pub fn option(mut self, name: &str, value: impl Into<String>) -> Self {
        self.args.push(format!("--{name}"));
        self.args.push(value.into());
        self
    }

    /// Adds words as they are (`--no-fail-on-empty-changeset`, the values of a list option).
    pub fn words<I: IntoIterator<Item = S>, S: Into<String>>(mut self, words: I) -> Self {
        self.args.extend(words.into_iter().map(Into::into));
        self
    }

    /// The words after the program: its arguments, then for aws the options every command gets
    /// (name and value pairs) but the region when the command names its own (an ECR registry's).
    fn words_with<'a>(&'a self, globals: &'a [String]) -> impl Iterator<Item = &'a String> {
        let own_region = self.args.iter().any(|a| a == "--region");
        let globals: Vec<&String> = match self.program {
            Program::Aws => globals
                .chunks(2)
                .filter(|pair| !(own_region && pair[0] == "--region"))
                .flatten()
                .collect(),
            Program::Docker => Vec::new(),
        };
        self.args.iter().chain(globals)
    }

    /// The command as a shell reads it back: `aws cloudformation deploy --stack-name goals-base …`.
    pub fn shown(&self, globals: &[String]) -> String {
        self.env
            .iter()
            .map(|(name, value)| format!("{name}={}", shell::word(value)))
            .chain(std::iter::once(self.program.name().to_string()))
            .chain(self.words_with(globals).map(|word| shell::word(word)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Why a command did not give an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolFailure {
    /// The program is not on PATH, or cannot be started.
    NoCli(String),
    /// It ran and failed: its exit code and what it printed on stderr.
    Failed { code: Option<i32>, stderr: String },
    /// A dry run: nothing was run, so nothing is known.
    NotRun,
}

impl ToolFailure {
    /// Whether AWS said the thing asked about does not exist.
    pub fn is_absent(&self) -> bool {
        matches!(self, ToolFailure::Failed { stderr, .. }
            if stderr.contains("does not exist") || stderr.contains("Unable to describe task definition"))
    }

    /// What AWS said, for a message.
    pub fn said(&self) -> String {
        match self {
            ToolFailure::NoCli(error) => format!("it cannot be run: {error}"),
            ToolFailure::Failed { code, stderr } => {
                let said = stderr.trim();
                let code = code.map_or_else(|| "a signal".to_string(), |c| format!("exit {c}"));
                if said.is_empty() {
                    format!("it failed ({code})")
                } else {
                    format!("it failed ({code}): {said}")
                }
            }
            ToolFailure::NotRun => "not run (dry run)".to_string(),
        }
    }
}

/// Runs commands and gives their answers (aws's in JSON).
pub trait Tools {
    fn run(&mut self, command: &CliCommand) -> Result<String, ToolFailure>;
    /// Whether commands only print (`--dry-run`).
    fn dry(&self) -> bool {
        false
    }
}

/// The options every command gets: the user's profile, region and endpoint, passed through.
#[derive(Debug, Clone, Default)]
pub struct Globals {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

impl Globals {
    pub fn words(&self) -> Vec<String> {
        let mut words = Vec::new();
        for (name, value) in [
            ("--profile", &self.profile),
            ("--region", &self.region),
            ("--endpoint-url", &self.endpoint_url),
        ] {
            if let Some(value) = value {
                words.push(name.to_string());
                words.push(value.clone());
            }
        }
        words
    }
}

/// The user's `aws` and `docker` on PATH, with their credentials and configuration.
pub struct UserTools {
    pub globals: Globals,
    /// Called with each command before it runs (to show progress).
    pub show: Box<dyn FnMut(&str)>,
}

impl Tools for UserTools {
    fn run(&mut self, command: &CliCommand) -> Result<String, ToolFailure> {
        let globals = self.globals.words();
        (self.show)(&command.shown(&globals));
        let json: &[&str] = if command.program == Program::Aws {
            &["--output", "json"]
        } else {
            &[]
        };
        let mut child = Command::new(command.program.name())
            .args(command.words_with(&globals))
            .args(json)
            // The user's pager would wait for a key; their CLI's answers are read here.
            .env("AWS_PAGER", "")
            .envs(command.env.iter().map(|(name, value)| (name, value)))
            .stdin(if command.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| ToolFailure::NoCli(error.to_string()))?;
        if let (Some(input), Some(mut pipe)) = (&command.stdin, child.stdin.take()) {
            // A failed write shows as the command's own failure to read it.
            let _ = pipe.write_all(input.0.as_bytes());
        }
        let output = child
            .wait_with_output()
            .map_err(|error| ToolFailure::NoCli(error.to_string()))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(ToolFailure::Failed {
                code: output.status.code(),
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            })
        }
    }
}

/// `--dry-run`: every command is printed, in order, and none is run.
pub struct DryRun {
    pub globals: Globals,
    pub print: Box<dyn FnMut(&str)>,
}

impl Tools for DryRun {
    fn run(&mut self, command: &CliCommand) -> Result<String, ToolFailure> {
        (self.print)(&command.shown(&self.globals.words()));
        Err(ToolFailure::NotRun)
    }

    fn dry(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_shown_as_a_shell_reads_them() {
        let command = CliCommand::change("ecs", "update-service")
            .option("cli-input-json", r#"{"service": "a b"}"#)
            .words(["--no-fail-on-empty-changeset"]);
        let globals = Globals {
            region: Some("eu-west-1".into()),
            ..Globals::default()
        };
        assert_eq!(
            command.shown(&globals.words()),
            r#"aws ecs update-service --cli-input-json '{"service": "a b"}' --no-fail-on-empty-changeset --region eu-west-1"#
        );
        // A command in another region keeps its own; docker gets none of aws's options.
        let globals = Globals {
            region: Some("eu-west-1".into()),
            profile: Some("prod".into()),
            ..Globals::default()
        };
        let token = CliCommand::read("ecr", "get-login-password").option("region", "us-east-1");
        assert_eq!(
            token.shown(&globals.words()),
            "aws ecr get-login-password --region us-east-1 --profile prod"
        );
        let push = CliCommand::docker(["push", "reg.example.com/a:1"]);
        assert_eq!(push.shown(&globals.words()), "docker push reg.example.com/a:1");
    }

    #[test]
    fn absent_things_are_told_from_failures() {
        let absent = ToolFailure::Failed {
            code: Some(255),
            stderr: "An error occurred (ValidationError) when calling the DescribeStacks operation: Stack with id goals-base does not exist".into(),
        };
        assert!(absent.is_absent());
        let denied = ToolFailure::Failed {
            code: Some(255),
            stderr: "An error occurred (AccessDenied)".into(),
        };
        assert!(!denied.is_absent());
        assert!(denied.said().contains("AccessDenied"));
    }
}
