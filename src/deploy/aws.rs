//! The aws CLI as `deploy` runs it: each command as data (shown the same way it is run), and the
//! runners — the user's `aws` on PATH, or a dry run that only prints.

use crate::normalise::Withheld;
use crate::plan::shell;
use std::io::Write;
use std::process::{Command, Stdio};

/// One `aws SERVICE OPERATION ...` command line, without the options every command gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsCommand {
    pub args: Vec<String>,
    /// Whether it only reads: a dry run may not run it either, but a failed read changed nothing.
    pub reads_only: bool,
    /// What the command reads on its standard input (`file:///dev/stdin`): a secret's value,
    /// which is never shown, and never on a command line that `ps` lists.
    pub stdin: Option<Withheld>,
}

impl AwsCommand {
    /// A command that changes something on AWS.
    pub fn change(service: &str, operation: &str) -> Self {
        AwsCommand {
            args: vec![service.to_string(), operation.to_string()],
            reads_only: false,
            stdin: None,
        }
    }

    /// A command that only reads.
    pub fn read(service: &str, operation: &str) -> Self {
        AwsCommand {
            reads_only: true,
            ..AwsCommand::change(service, operation)
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

    /// The command as a shell reads it back: `aws cloudformation deploy --stack-name goals-base …`.
    pub fn shown(&self, globals: &[String]) -> String {
        std::iter::once("aws".to_string())
            .chain(self.args.iter().chain(globals).map(|word| shell::word(word)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Why a command did not give an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AwsFailure {
    /// `aws` is not on PATH, or cannot be started.
    NoCli(String),
    /// It ran and failed: its exit code and what it printed on stderr.
    Failed { code: Option<i32>, stderr: String },
    /// A dry run: nothing was run, so nothing is known.
    NotRun,
}

impl AwsFailure {
    /// Whether AWS said the thing asked about does not exist.
    pub fn is_absent(&self) -> bool {
        matches!(self, AwsFailure::Failed { stderr, .. }
            if stderr.contains("does not exist") || stderr.contains("Unable to describe task definition"))
    }

    /// What AWS said, for a message.
    pub fn said(&self) -> String {
        match self {
            AwsFailure::NoCli(error) => format!("the aws CLI cannot be run: {error}"),
            AwsFailure::Failed { code, stderr } => {
                let said = stderr.trim();
                let code = code.map_or_else(|| "a signal".to_string(), |c| format!("exit {c}"));
                if said.is_empty() {
                    format!("aws failed ({code})")
                } else {
                    format!("aws failed ({code}): {said}")
                }
            }
            AwsFailure::NotRun => "not run (dry run)".to_string(),
        }
    }
}

/// Runs aws commands and gives their JSON answers.
pub trait Aws {
    fn run(&mut self, command: &AwsCommand) -> Result<String, AwsFailure>;
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

/// The user's `aws` on PATH, with their credentials and configuration.
pub struct AwsCli {
    pub globals: Globals,
    /// Called with each command before it runs (to show progress).
    pub show: Box<dyn FnMut(&str)>,
}

impl Aws for AwsCli {
    fn run(&mut self, command: &AwsCommand) -> Result<String, AwsFailure> {
        let globals = self.globals.words();
        (self.show)(&command.shown(&globals));
        let mut child = Command::new("aws")
            .args(&command.args)
            .args(&globals)
            .args(["--output", "json"])
            // The user's pager would wait for a key; their CLI's answers are read here.
            .env("AWS_PAGER", "")
            .stdin(if command.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| AwsFailure::NoCli(error.to_string()))?;
        if let (Some(input), Some(mut pipe)) = (&command.stdin, child.stdin.take()) {
            // A failed write shows as the command's own failure to read it.
            let _ = pipe.write_all(input.0.as_bytes());
        }
        let output = child
            .wait_with_output()
            .map_err(|error| AwsFailure::NoCli(error.to_string()))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(AwsFailure::Failed {
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

impl Aws for DryRun {
    fn run(&mut self, command: &AwsCommand) -> Result<String, AwsFailure> {
        (self.print)(&command.shown(&self.globals.words()));
        Err(AwsFailure::NotRun)
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
        let command = AwsCommand::change("ecs", "update-service")
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
    }

    #[test]
    fn absent_things_are_told_from_failures() {
        let absent = AwsFailure::Failed {
            code: Some(255),
            stderr: "An error occurred (ValidationError) when calling the DescribeStacks operation: Stack with id goals-base does not exist".into(),
        };
        assert!(absent.is_absent());
        let denied = AwsFailure::Failed {
            code: Some(255),
            stderr: "An error occurred (AccessDenied)".into(),
        };
        assert!(!denied.is_absent());
        assert!(denied.said().contains("AccessDenied"));
    }
}
