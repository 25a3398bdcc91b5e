//! The outputs of deployed stacks, as `aws cloudformation describe-stacks` prints them: the values
//! that fill the output's placeholders.

use crate::plan::KnownValues;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeStacks {
    stacks: Vec<Stack>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Stack {
    stack_name: String,
    #[serde(default)]
    outputs: Vec<StackOutput>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StackOutput {
    output_key: String,
    output_value: String,
}

/// Adds the outputs in `text` (from the file `shown`) to `known`. Two stacks giving one output key
/// different values is an error: the placeholder would be filled by whichever came last.
pub fn read_stack_outputs(shown: &str, text: &str, known: &mut KnownValues) -> Result<(), String> {
    let described: DescribeStacks = serde_json::from_str(text)
        .map_err(|error| format!("`{shown}` is not what `aws cloudformation describe-stacks` prints: {error}"))?;
    for stack in described.stacks {
        for output in stack.outputs {
            match known.get(&output.output_key) {
                Some(value) if *value != output.output_value => {
                    return Err(format!(
                        "output `{}` of stack `{}` in `{shown}` is `{}`, but an earlier stack gave `{value}`",
                        output.output_key, stack.stack_name, output.output_value
                    ))
                }
                _ => {
                    known.insert(output.output_key, output.output_value);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_describe_stacks_output() {
        let text = r#"{"Stacks": [{"StackName": "goals-base", "StackStatus": "CREATE_COMPLETE",
            "Outputs": [{"OutputKey": "TaskRoleArn", "OutputValue": "arn:aws:iam::1:role/r", "Description": "x"},
                        {"OutputKey": "Region", "OutputValue": "eu-west-1"}]}]}"#;
        let mut known = KnownValues::new();
        read_stack_outputs("base.json", text, &mut known).unwrap();
        assert_eq!(known["TaskRoleArn"], "arn:aws:iam::1:role/r");
        assert_eq!(known["Region"], "eu-west-1");
        let conflicting =
            r#"{"Stacks": [{"StackName": "other", "Outputs": [{"OutputKey": "Region", "OutputValue": "us-east-1"}]}]}"#;
        assert!(read_stack_outputs("other.json", conflicting, &mut known)
            .unwrap_err()
            .contains("earlier stack gave"));
        assert!(read_stack_outputs("bad.json", "{}", &mut known).is_err());
    }
}
