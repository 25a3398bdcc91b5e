//! Security groups: compose networks on ECS. Services that share a compose network reach each
//! other on any port; services on disjoint networks do not. With one network, the tasks' own group
//! admits itself; with several, each network is a group of its own that admits its members.

use super::{logical_id, Context, DeployValue, Grouping, NetworkGroup, Source};
use crate::diagnostic::{Code, Diagnostic, KeyPath};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Security groups a network interface takes by default; the tasks' own group is one of them.
const GROUPS_PER_INTERFACE: usize = 5;

/// Networks beyond which the base stack would come near CloudFormation's 200 outputs.
const MAX_NETWORK_GROUPS: usize = 50;

/// The networks that get a group of their own (none when the project uses one network, or gives
/// its own `x-ecs.security_groups`), and by task the placeholders of the groups it joins.
pub(super) fn network_groups(cx: &mut Context, grouping: &Grouping) -> (Vec<NetworkGroup>, Vec<Vec<DeployValue>>) {
    let (groups, mut per_task) = created_groups(cx, grouping);
    // A network that is an existing security group: its tasks join it, whatever else holds.
    let existing = &cx.project.settings.network_security_groups;
    for ((_, task), groups) in grouping.tasks().zip(&mut per_task) {
        let joined: BTreeSet<&String> = task
            .members
            .iter()
            .flat_map(|s| &s.networks)
            .filter_map(|network| existing.get(network))
            .collect();
        groups.extend(joined.into_iter().map(|id| DeployValue::Known(id.clone())));
    }
    (groups, per_task)
}

/// The groups the base stack creates for the compose networks that are not existing groups.
fn created_groups(cx: &mut Context, grouping: &Grouping) -> (Vec<NetworkGroup>, Vec<Vec<DeployValue>>) {
    let task_count = grouping.tasks().count();
    let existing = &cx.project.settings.network_security_groups;
    // By network, in the order first met: the tasks on it.
    let mut members: BTreeMap<usize, (String, BTreeSet<String>)> = BTreeMap::new();
    let mut order: HashMap<&str, usize> = HashMap::new();
    for (_, task) in grouping.tasks() {
        for service in &task.members {
            for network in &service.networks {
                let next = order.len();
                let index = *order.entry(network.as_str()).or_insert(next);
                members
                    .entry(index)
                    .or_insert_with(|| (network.clone(), BTreeSet::new()))
                    .1
                    .insert(task.name.clone());
            }
        }
    }
    let none = || (Vec::new(), vec![Vec::new(); task_count]);
    if members.len() < 2 {
        return none();
    }
    members.retain(|_, (network, _)| !existing.contains_key(network));
    if cx.project.settings.security_groups.is_some() {
        cx.diagnostics.push(
            Diagnostic::warning(
                Code::ConnectIngress,
                KeyPath::root().key("x-ecs").key("security_groups"),
                format!(
                    "the services are on {} compose networks, which your `x-ecs.security_groups` must keep apart: every task is in all of them",
                    members.len()
                ),
            )
            .with_help("leave `security_groups` out to get a group per compose network from the base stack"),
        );
        return none();
    }
    if members.len() > MAX_NETWORK_GROUPS {
        cx.diagnostics.push(
            Diagnostic::warning(
                Code::SecurityGroupQuota,
                KeyPath::root().key("networks"),
                format!(
                    "the services are on {} compose networks, more than the {MAX_NETWORK_GROUPS} that get a security group each; the tasks share one group, and reach each other across networks",
                    members.len()
                ),
            )
            .with_help("use fewer networks"),
        );
        return none();
    }
    let mut groups = Vec::new();
    let mut taken = HashSet::new();
    let mut of_task: BTreeMap<String, Vec<DeployValue>> = BTreeMap::new();
    for (network, tasks) in members.into_values() {
        // CloudFormation takes logical ids of at most 255 characters, with room for the suffixes.
        let base: String = format!("Network{}", logical_id(&network)).chars().take(200).collect();
        let id = (1..)
            .map(|n| if n == 1 { base.clone() } else { format!("{base}{n}") })
            .find(|id| !taken.contains(id))
            .expect("a free id among the numbered ones");
        taken.insert(id.clone());
        let output = format!("{id}SecurityGroupId");
        let value = cx.deferred(&output, Source::Stack("base"));
        for task in &tasks {
            of_task.entry(task.clone()).or_default().push(value.clone());
        }
        groups.push(NetworkGroup {
            network,
            logical_id: format!("{id}SecurityGroup"),
            output,
            tasks: tasks.into_iter().collect(),
        });
    }
    let per_task: Vec<Vec<DeployValue>> = grouping
        .tasks()
        .map(|(_, task)| of_task.remove(&task.name).unwrap_or_default())
        .collect();
    for ((_, task), groups) in grouping.tasks().zip(&per_task) {
        if groups.len() + 1 > GROUPS_PER_INTERFACE {
            cx.diagnostics.push(
                Diagnostic::warning(
                    Code::SecurityGroupQuota,
                    task.members[0].path.key("networks"),
                    format!(
                        "task `{}` is on {} compose networks: with the tasks' own group, {} security groups, more than the {GROUPS_PER_INTERFACE} a network interface takes by default",
                        task.name,
                        groups.len(),
                        groups.len() + 1
                    ),
                )
                .with_help("ask AWS to raise the quota \"Security groups per network interface\" (up to 16), or put the task on fewer networks"),
            );
        }
    }
    (groups, per_task)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::grouping;
    use crate::plan::testing::{project, run};

    /// Each network with its tasks, each task's group placeholders, and the codes said.
    type Planned = (Vec<(String, Vec<String>)>, Vec<Vec<String>>, Vec<Code>);

    fn groups(compose: &str) -> Planned {
        let project = project(compose);
        let ((groups, per_task), codes) = run(&project, |cx| {
            let grouping = grouping::group(cx).expect("groups");
            network_groups(cx, &grouping)
        });
        let groups = groups.into_iter().map(|g| (g.network, g.tasks)).collect();
        let per_task = per_task
            .into_iter()
            .map(|values| values.iter().map(DeployValue::text).collect())
            .collect();
        (groups, per_task, codes)
    }

    #[test]
    fn each_compose_network_is_a_group_of_the_tasks_on_it() {
        let (networks, per_task, codes) = groups(
            "services:\n  web: {image: web}\n  api: {image: api, networks: [default, back]}\n  \
             db: {image: postgres, networks: [back]}\n  cache: {image: redis, network_mode: \"service:db\"}\n",
        );
        assert_eq!(
            networks,
            [
                ("default".to_string(), vec!["api".to_string(), "web".to_string()]),
                ("back".to_string(), vec!["api".to_string(), "db".to_string()]),
            ]
        );
        assert_eq!(
            per_task,
            [
                vec!["{{NetworkDefaultSecurityGroupId}}"],
                vec!["{{NetworkDefaultSecurityGroupId}}", "{{NetworkBackSecurityGroupId}}"],
                vec!["{{NetworkBackSecurityGroupId}}"],
            ]
        );
        assert!(codes.is_empty(), "{codes:?}");
    }

    #[test]
    fn a_network_that_is_an_existing_group_is_joined_not_made() {
        let (networks, per_task, codes) = groups(
            "services:\n  web: {image: web, networks: [front, back]}\n  db: {image: postgres, networks: [back]}\n\
             networks:\n  front: {external: true, name: sg-0a1b2c3d}\n  back: {}\n",
        );
        assert_eq!(
            networks,
            [("back".to_string(), vec!["db".to_string(), "web".to_string()])]
        );
        assert_eq!(
            per_task,
            [
                vec!["{{NetworkBackSecurityGroupId}}", "sg-0a1b2c3d"],
                vec!["{{NetworkBackSecurityGroupId}}"]
            ]
        );
        assert!(codes.is_empty(), "{codes:?}");
        // Docker's ECS integration's key, on the only network.
        let (networks, per_task, _) =
            groups("services:\n  a: {image: a, networks: [x]}\nnetworks:\n  x: {x-aws-securitygroup: sg-01234567}\n");
        assert!(networks.is_empty());
        assert_eq!(per_task, [vec!["sg-01234567"]]);
    }

    #[test]
    fn one_network_needs_no_group_of_its_own() {
        let (networks, per_task, _) =
            groups("services:\n  a: {image: a, networks: [x]}\n  b: {image: b, networks: [x]}\n");
        assert!(networks.is_empty());
        assert!(per_task.iter().all(Vec::is_empty));
    }

    #[test]
    fn the_users_own_groups_get_a_word_instead() {
        let (networks, _, codes) = groups(
            "x-ecs: {security_groups: [sg-1]}\nservices:\n  a: {image: a, networks: [x]}\n  b: {image: b, networks: [y]}\n",
        );
        assert!(networks.is_empty());
        assert_eq!(codes, [Code::ConnectIngress]);
    }

    #[test]
    fn a_task_on_more_networks_than_an_interface_takes_gets_a_warning() {
        let (_, per_task, codes) =
            groups("services:\n  a: {image: a, networks: [n1, n2, n3, n4, n5]}\n  b: {image: b, networks: [n1]}\n");
        assert_eq!(per_task[0].len(), 5);
        assert_eq!(codes, [Code::SecurityGroupQuota]);
    }
}
