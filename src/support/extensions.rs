//! Other tools' extension keys: Docker's ECS integration (`x-aws-*`), ECS ComposeX and Defang
//! (`x-defang-*`). Compose leaves `x-` keys to their owners, so a user's own (`x-common: &common`)
//! stay silent; these belong to tools whose users come to compose2ecs, so each one is converted
//! (it then has a row in the support table) or gets a warning naming its tool and what to write
//! instead. The README's migration table is generated from this list.

use super::{verdict, Verdict};

/// The tool an extension key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    DockerEcs,
    ComposeX,
    Defang,
}

impl Tool {
    pub const fn name(self) -> &'static str {
        match self {
            Tool::DockerEcs => "Docker's ECS integration",
            Tool::ComposeX => "ECS ComposeX",
            Tool::Defang => "Defang",
        }
    }
}

/// One extension key of another tool, where that tool reads it (a support-table pattern, `""` for
/// the top level), and what to write for compose2ecs when it is not converted.
#[derive(Debug, Clone, Copy)]
pub struct Extension {
    pub key: &'static str,
    pub at: &'static str,
    pub tool: Tool,
    pub instead: &'static str,
}

const fn docker(key: &'static str, at: &'static str, instead: &'static str) -> Extension {
    Extension {
        key,
        at,
        tool: Tool::DockerEcs,
        instead,
    }
}
const fn composex(key: &'static str, at: &'static str, instead: &'static str) -> Extension {
    Extension {
        key,
        at,
        tool: Tool::ComposeX,
        instead,
    }
}
const fn defang(key: &'static str, at: &'static str, instead: &'static str) -> Extension {
    Extension {
        key,
        at,
        tool: Tool::Defang,
        instead,
    }
}

const OWN_RESOURCE: &str = "compose2ecs does not create this AWS resource: create it with your own CloudFormation or Terraform and give its address to the services as an environment variable (or a compose `secrets:` entry for a credential)";
const MANAGED_DATABASE: &str = "write `x-ecs: {managed: true}` on the database service";
const COMPOSEX_DATABASE: &str = "not converted: ECS ComposeX's database is no compose service; compose2ecs makes a managed one from a database service: add it (`image: postgres:16`, `mongo:5.0`, `redis:7`) with `x-ecs: {managed: true}`, and its clients reach it by the service's name";

/// Every extension key compose2ecs knows the owner of. A converted one also has a row in the
/// support table at `at.key`, and its `instead` is not shown.
pub const EXTENSIONS: &[Extension] = &[
    // Docker's ECS integration (`docker compose up` on an ECS context, retired in 2023).
    docker("x-aws-cluster", "", "write `x-ecs.cluster`"),
    docker("x-aws-vpc", "", "write `x-ecs.vpc` (and `x-ecs.subnets` for the tasks' subnets)"),
    docker(
        "x-aws-loadbalancer",
        "",
        "not converted yet: compose2ecs makes its own load balancer (`cloudformation/alb.yaml`); to keep an existing one, register the generated target groups with its listeners yourself",
    ),
    docker(
        "x-aws-cloudformation",
        "",
        "put it at the top level, or write `x-ecs.cloudformation` keyed by the template it patches (`alb.yaml`, `base.yaml`, …)",
    ),
    docker("x-aws-logs_retention", "", "write `x-ecs.log_retention_days`"),
    docker(
        "x-aws-pull_credentials",
        "services.*",
        "write `x-ecs.registry_credentials` on the service",
    ),
    docker(
        "x-aws-policies",
        "services.*",
        "write `x-ecs.policies` on the service",
    ),
    docker(
        "x-aws-role",
        "services.*",
        "write `x-ecs.policies` on the service",
    ),
    docker("x-aws-autoscaling", "services.*.deploy", "write `x-ecs.autoscaling: {min, max, cpu or memory}` on the service"),
    docker("x-aws-min_percent", "services.*.deploy.update_config", "write `x-ecs.rollout.minimum_healthy_percent` on the service"),
    docker("x-aws-max_percent", "services.*.deploy.update_config", "write `x-ecs.rollout.maximum_percent` on the service"),
    docker(
        "x-aws-protocol",
        "services.*.ports[]",
        "write `app_protocol: http` on the port",
    ),
    docker(
        "x-aws-keys",
        "secrets.*",
        "put it on a top-level secret that exists (`external: true`, its ARN as `name:`)",
    ),
    docker(
        "x-aws-securitygroup",
        "networks.*",
        "write `external: true` and `name: sg-…` on the network",
    ),
    // ECS ComposeX: service level.
    composex("x-aws-logs_retention", "services.*", "write `x-ecs.log_retention_days` at the top level"),
    composex("x-aws-min_percent", "services.*", "write `x-ecs.rollout.minimum_healthy_percent` on the service"),
    composex("x-aws-max_percent", "services.*", "write `x-ecs.rollout.maximum_percent` on the service"),
    composex(
        "x-iam",
        "services.*",
        "write `x-ecs.policies` on the service",
    ),
    composex("x-scaling", "services.*", "write `x-ecs.autoscaling: {min, max, cpu or memory}` on the service"),
    composex(
        "x-network",
        "services.*",
        "write compose `networks:` (a security group each); Service Connect aliases come from service names, `container_name` and network aliases",
    ),
    composex(
        "x-logging",
        "services.*",
        "write compose `logging.options` for the `awslogs` driver, `x-ecs.log_retention_days` for the retention",
    ),
    composex(
        "x-xray",
        "services.*",
        "nothing to convert: add the X-Ray daemon as a service in the same `x-ecs.task`",
    ),
    composex(
        "x-prometheus",
        "services.*",
        "nothing to convert: add a collector as a service in the same `x-ecs.task`",
    ),
    composex("x-monitoring", "services.*", "nothing to convert: set CloudWatch alarms up yourself"),
    composex("x-alarms", "services.*", "nothing to convert: set CloudWatch alarms up yourself"),
    composex(
        "x-configs",
        "services.*",
        "nothing to convert: compose `configs` cannot reach an ECS container either; bake the files into the image",
    ),
    composex("x-docker_opts", "services.*", "nothing to convert: `docker compose build` options stay in `build:`"),
    composex("x-ecr", "services.*", "nothing to convert: image scanning is a setting of the ECR repository"),
    composex("x-codeguru-profiler", "services.*", OWN_RESOURCE),
    // ECS ComposeX's own keys in a service's `x-ecs`, the name compose2ecs reads too.
    composex(
        "CapacityProviderStrategy",
        "services.*.x-ecs",
        "write `x-ecs.spot: true` on the service",
    ),
    composex(
        "EnableExecuteCommand",
        "services.*.x-ecs",
        "write `x-ecs.exec: true` on the service",
    ),
    composex(
        "CpuArchitecture",
        "services.*.x-ecs",
        "write compose `platform: linux/arm64` on the service (the task's `runtimePlatform`); the default is `linux/amd64`",
    ),
    composex(
        "OperatingSystemFamily",
        "services.*.x-ecs",
        "nothing to convert: compose2ecs runs Linux containers",
    ),
    // ECS ComposeX: top level (its AWS resources, and its settings).
    composex("x-cluster", "", "write `x-ecs.cluster`"),
    composex(
        "x-configs",
        "",
        "nothing to convert: ECS ComposeX's own settings (its IAM and Spot defaults); `x-ecs.spot` and `x-ecs.policies` are set per service",
    ),
    composex("x-vpc", "", "write `x-ecs.vpc`, `x-ecs.subnets` and `x-ecs.public_subnets`"),
    composex(
        "x-elbv2",
        "",
        "write published `ports:` (a load balancer is made for them), with `x-ecs.load_balancer` rules (`path`, `host`) where services share a port",
    ),
    composex("x-acm", "", "write `x-ecs.certificate`"),
    composex("x-cloudmap", "", "nothing to convert: compose2ecs makes a Service Connect namespace for the project"),
    composex("x-tags", "", "not converted yet: tag the stacks when you deploy them"),
    composex("x-rds", "", COMPOSEX_DATABASE),
    composex("x-docdb", "", COMPOSEX_DATABASE),
    composex("x-elasticache", "", COMPOSEX_DATABASE),
    composex("x-dynamodb", "", OWN_RESOURCE),
    composex("x-s3", "", OWN_RESOURCE),
    composex("x-sqs", "", OWN_RESOURCE),
    composex("x-sns", "", OWN_RESOURCE),
    composex("x-kms", "", OWN_RESOURCE),
    composex("x-kinesis", "", OWN_RESOURCE),
    composex("x-kinesis_firehose", "", OWN_RESOURCE),
    composex("x-cognito_userpool", "", OWN_RESOURCE),
    composex("x-route53", "", "nothing to convert: point your DNS name at the load balancer (`deploy` prints its address)"),
    composex("x-wafv2_webacl", "", OWN_RESOURCE),
    composex("x-alarms", "", "nothing to convert: set CloudWatch alarms up yourself"),
    composex("x-ssm_parameter", "", OWN_RESOURCE),
    composex("x-events", "", OWN_RESOURCE),
    composex("x-neptune", "", OWN_RESOURCE),
    composex("x-opensearch", "", OWN_RESOURCE),
    composex("x-efs", "", "named `volumes:` (an EFS file system is made for them), or `x-ecs.file_system` for an existing one"),
    composex("x-secrets", "secrets.*", "write `external: true` and the secret's ARN as `name:` on a top-level secret"),
    composex("x-vpc", "networks.*", "write `x-ecs.vpc` and `x-ecs.subnets` at the top level"),
    // Defang.
    defang("x-defang-postgres", "services.*", MANAGED_DATABASE),
    defang("x-defang-mongodb", "services.*", MANAGED_DATABASE),
    defang("x-defang-redis", "services.*", MANAGED_DATABASE),
    defang("x-defang-autoscaling", "services.*", "write `x-ecs.autoscaling: {min, max, cpu or memory}`"),
    defang("x-defang-llm", "services.*", "write `x-ecs.policies` with the Bedrock actions the app calls (`bedrock:InvokeModel` on the models it uses)"),
    defang("x-defang-static-files", "services.*", "nothing to convert: serve the files from the container, or from S3 and CloudFront of your own"),
    defang("x-defang-dns-role", "services.*", "nothing to convert: point your DNS name at the load balancer (`deploy` prints its address)"),
];

/// What is known of an `x-` key `name` found at the key pattern `at`, when it is another tool's
/// and not converted there: its row here, or, for a key with a tool's own prefix that is not
/// listed, that tool alone. `None` for a user's own key (or a converted one).
pub fn foreign(at: &str, name: &str) -> Option<(Tool, Option<&'static Extension>)> {
    if let Some(row) = EXTENSIONS.iter().find(|row| row.at == at && row.key == name) {
        return Some((row.tool, Some(row)));
    }
    // Prefixed keys are the tools' own wherever they appear; ComposeX's names are plain words a
    // user may hold anchors under, so only their own places count.
    let tool = if name.starts_with("x-aws-") {
        Tool::DockerEcs
    } else if name.starts_with("x-defang-") {
        Tool::Defang
    } else {
        return None;
    };
    Some((tool, EXTENSIONS.iter().find(|row| row.key == name)))
}

/// The README's migration table, in Markdown: each key of each tool and what it becomes.
pub fn markdown_table() -> String {
    let mut out = String::from("| tool | key | where | in compose2ecs |\n| --- | --- | --- | --- |\n");
    for row in EXTENSIONS {
        let place = if row.at.is_empty() { "top level" } else { row.at };
        let becomes = match converted(row) {
            Some(to) => format!("converted: {to}"),
            None => format!("warning: {}", row.instead),
        };
        out.push_str(&format!(
            "| {} | `{}` | `{place}` | {becomes} |\n",
            row.tool.name(),
            row.key
        ));
    }
    out
}

/// What a converted extension becomes, from its support-table row.
fn converted(row: &Extension) -> Option<&'static str> {
    let pattern = if row.at.is_empty() {
        row.key.to_string()
    } else {
        format!("{}.{}", row.at, row.key)
    };
    match verdict(&pattern) {
        Some(Verdict::Converted(to)) => Some(to),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_is_listed_once_where_its_tool_reads_it() {
        let mut seen = std::collections::BTreeSet::new();
        for row in EXTENSIONS {
            assert!(row.key.starts_with("x-") || row.at.ends_with(".x-ecs"), "{}", row.key);
            assert!(seen.insert((row.at, row.key)), "{} at {} twice", row.key, row.at);
            assert!(
                row.at.is_empty() || verdict(row.at.trim_end_matches("[]")).is_some() || row.at == "services.*",
                "{} is read at {}, which the support table does not know",
                row.key,
                row.at
            );
        }
    }

    #[test]
    fn prefixed_keys_are_their_tool_s_anywhere_and_plain_words_only_in_their_place() {
        assert_eq!(
            foreign("services.*", "x-aws-role").map(|(tool, _)| tool),
            Some(Tool::DockerEcs)
        );
        // Misplaced, it still names its tool and the row that says what to write.
        let (tool, row) = foreign("", "x-aws-role").unwrap();
        assert_eq!((tool, row.map(|r| r.key)), (Tool::DockerEcs, Some("x-aws-role")));
        assert_eq!(
            foreign("services.*", "x-defang-gpu").map(|(tool, row)| (tool, row.is_none())),
            Some((Tool::Defang, true))
        );
        assert_eq!(foreign("", "x-rds").map(|(tool, _)| tool), Some(Tool::ComposeX));
        // A top-level `x-logging: &logging` holds an anchor; ComposeX reads `x-logging` in a service.
        assert!(foreign("", "x-logging").is_none());
        assert!(foreign("", "x-common").is_none());
        assert!(foreign("services.*", "x-logging").is_some());
    }
}
