//! The outputs of deployed stacks, as `aws cloudformation describe-stacks` prints them: the values
//! that fill the output's placeholders. `deploy` saves them in the output folder's `stacks/`,
//! which every later `convert` reads.

use crate::plan::KnownValues;
use crate::source::{read_regular_file, Links};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Where `deploy` saves the stacks' outputs, inside the output folder.
pub const SAVED_STACKS: &str = "stacks";

/// The most files one folder of saved outputs may hold: a project has six stacks.
const MAXIMUM_FILES: usize = 64;

/// `describe-stacks`' answer, the part compose2ecs reads; also the shape it saves.
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStacks {
    pub stacks: Vec<Stack>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Stack {
    pub stack_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_status: Option<String>,
    /// Absent while a stack is created, or when it failed: its outputs are not known.
    #[serde(default)]
    pub outputs: Option<Vec<StackOutput>>,
    /// The values it was deployed with.
    #[serde(default)]
    pub parameters: Vec<StackParameterValue>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StackParameterValue {
    pub parameter_key: String,
    #[serde(default)]
    pub parameter_value: String,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StackOutput {
    pub output_key: String,
    pub output_value: String,
}

/// The outputs read so far, and the stacks they came from.
#[derive(Debug, Default, Clone)]
pub struct SavedOutputs {
    pub values: KnownValues,
    /// The names of the stacks whose outputs were read, and count: a placeholder they lack is an
    /// error (`pending` empties it).
    pub stacks: BTreeSet<String>,
    /// The names of every stack whose outputs were read, `pending` or not: the stacks deployed.
    pub deployed: BTreeSet<String>,
    /// The parameters they were deployed with (`VpcId`, `PrivateSubnetIds`, …), by name: what
    /// `deploy` passes again when it is not told otherwise.
    pub parameters: KnownValues,
    /// The stack each output value came from: a stack read again replaces its own values.
    owners: BTreeMap<String, String>,
}

impl SavedOutputs {
    /// No stack's outputs: the project is not deployed.
    pub const fn empty() -> Self {
        SavedOutputs {
            values: BTreeMap::new(),
            stacks: BTreeSet::new(),
            deployed: BTreeSet::new(),
            parameters: BTreeMap::new(),
            owners: BTreeMap::new(),
        }
    }

    /// The stack whose saved outputs gave `key`.
    pub fn owner(&self, key: &str) -> Option<&str> {
        self.owners.get(key).map(String::as_str)
    }

    /// Adds the outputs in `text` (from the file `shown`). Two stacks giving one output key
    /// different values is an error: the placeholder would be filled by whichever came last. A
    /// stack read again (deployed again by `deploy`) replaces the values it gave before.
    pub fn add(&mut self, shown: &str, text: &str) -> Result<(), String> {
        let described: DescribeStacks = serde_json::from_str(text)
            .map_err(|error| format!("`{shown}` is not what `aws cloudformation describe-stacks` prints: {error}"))?;
        for stack in described.stacks {
            let Some(outputs) = stack.outputs else {
                let status = stack
                    .stack_status
                    .map(|s| format!(" (its status is {s})"))
                    .unwrap_or_default();
                return Err(format!(
                    "stack `{}` in `{shown}` has no `Outputs`{status}: it is not deployed, so its outputs are not known",
                    stack.stack_name
                ));
            };
            let before: Vec<String> = self
                .owners
                .iter()
                .filter(|(_, owner)| **owner == stack.stack_name)
                .map(|(key, _)| key.clone())
                .collect();
            for key in before {
                self.values.remove(&key);
                self.owners.remove(&key);
            }
            for output in outputs {
                match self.values.get(&output.output_key) {
                    Some(value) if *value != output.output_value => {
                        return Err(format!(
                            "output `{}` of stack `{}` in `{shown}` is `{}`, but an earlier stack gave `{value}`",
                            output.output_key, stack.stack_name, output.output_value
                        ))
                    }
                    _ => {
                        self.owners.insert(output.output_key.clone(), stack.stack_name.clone());
                        self.values.insert(output.output_key, output.output_value);
                    }
                }
            }
            for parameter in stack.parameters {
                self.parameters
                    .insert(parameter.parameter_key, parameter.parameter_value);
            }
            self.deployed.insert(stack.stack_name.clone());
            self.stacks.insert(stack.stack_name);
        }
        Ok(())
    }

    /// The same values, with no stack counted as deployed: for a conversion before the stacks
    /// are deployed again, when an output their saved files lack is not an error yet.
    pub fn pending(&self) -> SavedOutputs {
        SavedOutputs {
            stacks: BTreeSet::new(),
            ..self.clone()
        }
    }

    /// Reads `path`: a file, or every `*.json` file of a folder, in name order. `links` says
    /// whether the last component of each path may be a link (not in the output folder, which
    /// compose2ecs owns).
    pub fn read(&mut self, path: &Path, links: Links) -> Result<(), String> {
        let shown = path.display().to_string();
        let folder = match links {
            Links::Follow => std::fs::metadata(path),
            Links::Refuse => std::fs::symlink_metadata(path),
        }
        .map_err(|error| format!("cannot read `{shown}`: {error}"))?
        .is_dir();
        let files = if folder {
            json_files(path)?
        } else {
            vec![path.to_path_buf()]
        };
        for file in files {
            let shown = file.display().to_string();
            let text = read_regular_file(&file, links)
                .and_then(|bytes| String::from_utf8(bytes).map_err(|_| std::io::ErrorKind::InvalidData.into()))
                .map_err(|error| format!("cannot read `{shown}`: {error}"))?;
            self.add(&shown, &text)?;
        }
        Ok(())
    }

    /// Reads the outputs `deploy` saved in the output folder `output`, when it has any. The folder
    /// may come from a pull request: `stacks/` is read only when it is a folder, not a link.
    pub fn read_saved(&mut self, output: &Path) -> Result<(), String> {
        let saved = output.join(SAVED_STACKS);
        match std::fs::symlink_metadata(&saved) {
            Ok(metadata) if metadata.is_dir() => self.read(&saved, Links::Refuse),
            Ok(_) => Err(format!(
                "`{}` is not a folder; compose2ecs keeps the stacks' outputs there",
                saved.display()
            )),
            // No output folder yet, or a file where it would be (which the writer refuses).
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                Ok(())
            }
            Err(error) => Err(format!("cannot read `{}`: {error}", saved.display())),
        }
    }
}

/// The `*.json` files of `folder`, sorted; at most `MAXIMUM_FILES`.
fn json_files(folder: &Path) -> Result<Vec<PathBuf>, String> {
    let shown = folder.display();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(folder).map_err(|error| format!("cannot read `{shown}`: {error}"))? {
        let entry = entry.map_err(|error| format!("cannot read `{shown}`: {error}"))?;
        if entry.file_name().to_string_lossy().ends_with(".json") {
            files.push(entry.path());
            if files.len() > MAXIMUM_FILES {
                return Err(format!("`{shown}` has more than {MAXIMUM_FILES} .json files"));
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_describe_stacks_output() {
        let text = r#"{"Stacks": [{"StackName": "goals-base", "StackStatus": "CREATE_COMPLETE",
            "Outputs": [{"OutputKey": "TaskRoleArn", "OutputValue": "arn:aws:iam::1:role/r", "Description": "x"},
                        {"OutputKey": "Region", "OutputValue": "eu-west-1"}]}]}"#;
        let mut saved = SavedOutputs::default();
        saved.add("base.json", text).unwrap();
        assert_eq!(saved.values["TaskRoleArn"], "arn:aws:iam::1:role/r");
        assert_eq!(saved.values["Region"], "eu-west-1");
        assert!(saved.stacks.contains("goals-base"));
        let conflicting =
            r#"{"Stacks": [{"StackName": "other", "Outputs": [{"OutputKey": "Region", "OutputValue": "us-east-1"}]}]}"#;
        assert!(saved
            .add("other.json", conflicting)
            .unwrap_err()
            .contains("earlier stack gave"));
        assert!(saved.add("bad.json", "{}").is_err());
        // The same stack deployed again with a new value (a replaced resource): the new one.
        let again = r#"{"Stacks": [{"StackName": "goals-base", "Outputs": [{"OutputKey": "Region", "OutputValue": "eu-west-1"},
            {"OutputKey": "TaskRoleArn", "OutputValue": "arn:aws:iam::1:role/new"}]}]}"#;
        saved.add("base.json", again).unwrap();
        assert_eq!(saved.values["TaskRoleArn"], "arn:aws:iam::1:role/new");
    }

    #[test]
    fn a_stack_without_outputs_is_not_deployed() {
        let text = r#"{"Stacks": [{"StackName": "goals-efs", "StackStatus": "ROLLBACK_COMPLETE"}]}"#;
        let error = SavedOutputs::default().add("efs.json", text).unwrap_err();
        assert!(
            error.contains("no `Outputs` (its status is ROLLBACK_COMPLETE)"),
            "{error}"
        );
    }

    #[test]
    fn a_folder_is_read_in_name_order_and_a_linked_stacks_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let stacks = dir.path().join(SAVED_STACKS);
        std::fs::create_dir(&stacks).unwrap();
        let stack = |name: &str, value: &str| {
            format!(
                r#"{{"Stacks": [{{"StackName": "{name}", "Outputs": [{{"OutputKey": "{name}Id", "OutputValue": "{value}"}}]}}]}}"#
            )
        };
        std::fs::write(stacks.join("b.json"), stack("b", "2")).unwrap();
        std::fs::write(stacks.join("a.json"), stack("a", "1")).unwrap();
        std::fs::write(stacks.join("notes.txt"), "not read").unwrap();
        let mut saved = SavedOutputs::default();
        saved.read_saved(dir.path()).unwrap();
        assert_eq!(saved.stacks.iter().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(saved.values["bId"], "2");
        // No saved outputs: nothing read, no error.
        let empty = tempfile::tempdir().unwrap();
        SavedOutputs::default().read_saved(empty.path()).unwrap();
        #[cfg(unix)]
        {
            let linked = tempfile::tempdir().unwrap();
            std::os::unix::fs::symlink(&stacks, linked.path().join(SAVED_STACKS)).unwrap();
            assert!(SavedOutputs::default().read_saved(linked.path()).is_err());
            let file_link = tempfile::tempdir().unwrap();
            std::fs::create_dir(file_link.path().join(SAVED_STACKS)).unwrap();
            std::os::unix::fs::symlink(stacks.join("a.json"), file_link.path().join("stacks/a.json")).unwrap();
            assert!(SavedOutputs::default().read_saved(file_link.path()).is_err());
        }
    }
}
