//! Names: the ECS and CloudFormation spellings of compose names.

/// A name ECS accepts for a task family, a container or a volume: letters, digits, `-` and `_`
/// (compose also allows `.`, which becomes `-`; `plan` reports names that collide this way).
pub(super) fn task_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The ECS service that runs a task: `PROJECT-TASK`.
pub(super) fn ecs_service_name(project: &str, task: &str) -> String {
    format!("{project}-{task}")
}

/// An ECS container name: letters, digits, `-` and `_` (compose also allows `.`).
pub fn container_name(service: &str) -> String {
    task_name(service)
}

/// A CloudFormation logical id part: `my-app.db` → `MyAppDb`.
pub fn logical_id(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase()).into_iter();
            first.chain(chars).collect::<String>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_names_in_ecs_and_cloudformation_spelling() {
        assert_eq!(task_name("my.app_1-x"), "my-app_1-x");
        assert_eq!(container_name("web.api"), "web-api");
        assert_eq!(logical_id("my-app.db"), "MyAppDb");
        assert_eq!(logical_id("db_2"), "Db2");
    }
}
