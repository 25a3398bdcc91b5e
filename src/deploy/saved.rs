//! The stacks' outputs `deploy` keeps in the output folder's `stacks/`: written so that a link
//! put there (the folder may come from a pull request) is never followed, and removed by `down`.

use crate::load::stack_outputs::{DescribeStacks, Stack, StackOutput, StackParameterValue, SAVED_STACKS};
use serde::Serialize;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// What is saved of a deployed stack: its name, id, outputs and parameters, each sorted by key,
/// so that the committed file changes only when they do.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SavedStacks<'a> {
    stacks: [SavedStack<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SavedStack<'a> {
    stack_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    stack_id: Option<&'a str>,
    outputs: Vec<&'a StackOutput>,
    parameters: Vec<&'a StackParameterValue>,
}

/// The text saved for `stack`.
pub(super) fn saved_text(stack: &Stack) -> String {
    let parameters = &stack.parameters;
    let mut outputs: Vec<&StackOutput> = stack.outputs.iter().flatten().collect();
    outputs.sort_by(|a, b| a.output_key.cmp(&b.output_key));
    let mut parameters: Vec<&StackParameterValue> = parameters.iter().collect();
    parameters.sort_by(|a, b| a.parameter_key.cmp(&b.parameter_key));
    let saved = SavedStacks {
        stacks: [SavedStack {
            stack_name: &stack.stack_name,
            stack_id: stack.stack_id.as_deref(),
            outputs,
            parameters,
        }],
    };
    let mut text = serde_json::to_string_pretty(&saved).unwrap_or_default();
    text.push('\n');
    text
}

/// The saved file of stack `name` in the output folder `output`.
pub(super) fn path(output: &Path, name: &str) -> PathBuf {
    output.join(SAVED_STACKS).join(format!("{name}.json"))
}

/// Writes `text` as the saved outputs of stack `name`: into a new file beside it, then renamed
/// over it, so that a reader sees the old or the new file and a link at either path is replaced,
/// not written through. `stacks/` must be a folder, not a link; it is made when missing.
pub(super) fn write(output: &Path, name: &str, text: &str) -> io::Result<()> {
    let folder = output.join(SAVED_STACKS);
    match std::fs::symlink_metadata(&folder) {
        Ok(metadata) if metadata.is_dir() => {}
        Ok(_) => return Err(io::Error::other(format!("`{}` is not a folder", folder.display()))),
        Err(error) if error.kind() == io::ErrorKind::NotFound => std::fs::create_dir_all(&folder)?,
        Err(error) => return Err(error),
    }
    let target = path(output, name);
    let staged = folder.join(format!(".{name}.json.new"));
    match std::fs::remove_file(&staged) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
        _ => {}
    }
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&staged)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&staged, &target)
}

/// Removes the saved outputs of stack `name`, when there are any (not through a link).
pub(super) fn remove(output: &Path, name: &str) -> io::Result<bool> {
    let folder = output.join(SAVED_STACKS);
    match std::fs::symlink_metadata(&folder) {
        Ok(metadata) if metadata.is_dir() => {}
        _ => return Ok(false),
    }
    match std::fs::remove_file(path(output, name)) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(error),
    }
}

/// The stack `describe-stacks` answered about, from its JSON answer.
pub(super) fn described(answer: &str) -> Option<Stack> {
    serde_json::from_str::<DescribeStacks>(answer)
        .ok()
        .and_then(|described| described.stacks.into_iter().next())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_outputs_are_sorted_and_never_written_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let stack = described(
            r#"{"Stacks": [{"StackName": "goals-base", "StackId": "arn:aws:cloudformation:eu-west-1:1:stack/goals-base/x",
                "StackStatus": "UPDATE_COMPLETE", "LastUpdatedTime": "2026-12-05T06:00:00Z",
                "Parameters": [{"ParameterKey": "VpcId", "ParameterValue": "vpc-1"}],
                "Outputs": [{"OutputKey": "Region", "OutputValue": "eu-west-1"}, {"OutputKey": "ClusterName", "OutputValue": "goals"}]}]}"#,
        )
        .unwrap();
        let text = saved_text(&stack);
        assert!(
            !text.contains("LastUpdatedTime") && !text.contains("StackStatus"),
            "{text}"
        );
        assert!(
            text.find("ClusterName").unwrap() < text.find("Region").unwrap(),
            "{text}"
        );
        write(dir.path(), "goals-base", &text).unwrap();
        assert_eq!(std::fs::read_to_string(path(dir.path(), "goals-base")).unwrap(), text);
        let mut read = crate::load::stack_outputs::SavedOutputs::default();
        read.read_saved(dir.path()).unwrap();
        assert_eq!(read.values["Region"], "eu-west-1");
        assert_eq!(read.parameters["VpcId"], "vpc-1");
        #[cfg(unix)]
        {
            let elsewhere = tempfile::tempdir().unwrap();
            let victim = elsewhere.path().join("victim");
            std::fs::write(&victim, "keep").unwrap();
            let file = path(dir.path(), "goals-efs");
            std::os::unix::fs::symlink(&victim, &file).unwrap();
            write(dir.path(), "goals-efs", &text).unwrap();
            assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
            assert!(!std::fs::symlink_metadata(&file).unwrap().file_type().is_symlink());
            let linked = tempfile::tempdir().unwrap();
            std::os::unix::fs::symlink(elsewhere.path(), linked.path().join(SAVED_STACKS)).unwrap();
            assert!(write(linked.path(), "goals-base", &text).is_err());
            assert!(!elsewhere.path().join("goals-base.json").exists());
        }
        assert!(remove(dir.path(), "goals-base").unwrap());
        assert!(!remove(dir.path(), "goals-base").unwrap());
    }
}
