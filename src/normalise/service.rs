//! One service as a whole: its name, image, build, command and entrypoint, container name and
//! capabilities, each concern read by its own file and assembled here into a `Service`.

use super::reader::Reader;
use crate::diagnostic::KeyPath;

/// A task name becomes a family name: letters, digits, `.`, `-` and `_`, starting with a letter
/// or digit, like a service name.
pub(super) fn valid_task_name(reader: &mut Reader, name: &str, path: &KeyPath) -> bool {
    let valid = valid_service_name(name);
    if !valid {
        reader.error(
            "bad-task-name",
            path,
            format!("`{name}` cannot name a task"),
            "use letters, digits, `.`, `_` and `-`, starting with a letter or digit",
        );
    }
    valid
}

/// Compose's service names: letters, digits, `.`, `_` and `-`, starting with a letter or digit.
pub(super) fn valid_service_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}
