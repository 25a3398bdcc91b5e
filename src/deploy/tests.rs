//! `deploy` and `down` against a small model of AWS: stacks with a status and the outputs their
//! templates declare, task definition families with revisions and tags, services with a status
//! and tags, subnets in VPCs and zones. What matters is what AWS would have after each run.

use super::*;
use crate::load::stack_outputs::SavedOutputs;
use std::collections::BTreeMap;

#[derive(Default)]
struct FakeAws {
    run: Vec<CliCommand>,
    /// Stack name → (status, outputs).
    stacks: BTreeMap<String, (String, Vec<(String, String)>)>,
    /// Family → revisions' tags (revision n at index n - 1), and whether each is active.
    families: BTreeMap<String, Vec<(Value, bool)>>,
    /// Service name → (status, tags, the revision it runs).
    services: BTreeMap<String, (String, Value, String)>,
    /// Whether an update's new tasks fail, so that ECS rolls the service back.
    rolls_back: bool,
    /// Secret name → its value, when it has one.
    secrets: BTreeMap<String, Option<String>>,
    /// Subnet → (VPC, zone).
    subnets: BTreeMap<String, (String, String)>,
    no_credentials: bool,
    /// ECR repositories, with the digest each tag was last pushed with.
    repositories: BTreeMap<String, BTreeMap<String, String>>,
    /// Whether `docker compose build` makes a new image (the sources changed) or the same.
    sources_change: bool,
    builds: u32,
    no_docker: bool,
    /// Appended to every output value a stack deploy gives: resources replaced since.
    replaced: String,
    /// An operation that fails (`"create-service"`).
    failing: Option<&'static str>,
}

impl FakeAws {
    fn with_network() -> Self {
        let mut aws = FakeAws::default();
        for (subnet, zone) in [
            ("subnet-a", "a"),
            ("subnet-b", "b"),
            ("subnet-c", "a"),
            ("subnet-d", "b"),
        ] {
            aws.subnets
                .insert(subnet.into(), ("vpc-1".into(), format!("eu-west-1{zone}")));
        }
        aws
    }

    fn value_of<'c>(command: &'c CliCommand, option: &str) -> Option<&'c str> {
        let at = command.args.iter().position(|a| a == &format!("--{option}"))?;
        command.args.get(at + 1).map(String::as_str)
    }

    /// The operations that changed something, as `service operation`.
    fn changes(&self) -> Vec<String> {
        self.run
            .iter()
            .filter(|c| !c.reads_only)
            .map(|c| format!("{} {}", c.args[0], c.args[1]))
            .collect()
    }

    fn failure(stderr: &str) -> ToolFailure {
        ToolFailure::Failed {
            code: Some(255),
            stderr: stderr.to_string(),
        }
    }
}

impl Tools for FakeAws {
    fn run(&mut self, command: &CliCommand) -> Result<String, ToolFailure> {
        self.run.push(command.clone());
        if command.program == tools::Program::Docker {
            return self.docker(command);
        }
        let operation = command.args[1].as_str();
        if self.failing == Some(operation) {
            return Err(FakeAws::failure(&format!(
                "An error occurred (InvalidParameterException) when calling {operation}"
            )));
        }
        match (command.args[0].as_str(), operation) {
            ("sts", _) if self.no_credentials => Err(FakeAws::failure("Unable to locate credentials")),
            ("sts", _) => Ok(r#"{"Account": "123456789012"}"#.into()),
            ("ec2", "describe-subnets") => {
                let wanted = &command.args[3..];
                let subnets: Vec<Value> = wanted
                    .iter()
                    .filter_map(|id| {
                        self.subnets
                            .get(id)
                            .map(|(vpc, zone)| json!({"SubnetId": id, "VpcId": vpc, "AvailabilityZone": zone}))
                    })
                    .collect();
                Ok(json!({"Subnets": subnets}).to_string())
            }
            ("secretsmanager", "describe-secret") => {
                let id = FakeAws::value_of(command, "secret-id").unwrap();
                match self.secrets.get(id) {
                    None => Err(FakeAws::failure("Secrets Manager can't find the specified secret.")),
                    Some(None) => Ok(json!({"Name": id}).to_string()),
                    Some(Some(_)) => Ok(json!({"Name": id, "VersionIdsToStages": {"v1": ["AWSCURRENT"]}}).to_string()),
                }
            }
            ("secretsmanager", "put-secret-value") => {
                assert_eq!(FakeAws::value_of(command, "secret-string"), Some("file:///dev/stdin"));
                let id = FakeAws::value_of(command, "secret-id").unwrap().to_string();
                let value = command.stdin.as_ref().expect("the value on stdin").0.clone();
                *self.secrets.get_mut(&id).expect("the stack made it") = Some(value);
                Ok("{}".into())
            }
            ("ecr", "get-login-password") => Ok("token\n".into()),
            ("ecr", "describe-repositories") => {
                let name = &command.args[command.args.iter().position(|a| a == "--repository-names").unwrap() + 1];
                if self.repositories.contains_key(name) {
                    Ok("{}".into())
                } else {
                    Err(FakeAws::failure(
                        "The repository with name 'x' does not exist in the registry",
                    ))
                }
            }
            ("ecr", "create-repository") => {
                self.repositories
                    .entry(FakeAws::value_of(command, "repository-name").unwrap().into())
                    .or_default();
                Ok("{}".into())
            }
            ("ecr", "describe-images") => {
                let repository = FakeAws::value_of(command, "repository-name").unwrap();
                let tag = command.args.last().unwrap().trim_start_matches("imageTag=");
                match self.repositories.get(repository).and_then(|tags| tags.get(tag)) {
                    Some(digest) => Ok(json!({"imageDetails": [{"imageDigest": digest}]}).to_string()),
                    None => Err(FakeAws::failure("ImageNotFoundException")),
                }
            }
            ("cloudformation", _) => self.cloudformation(command),
            ("ecs", _) => self.ecs(command),
            other => panic!("the model has no {other:?}"),
        }
    }
}

impl FakeAws {
    /// docker: a build makes a new image when the sources changed; a push gives the ECR tag the
    /// digest of the last build.
    fn docker(&mut self, command: &CliCommand) -> Result<String, ToolFailure> {
        if self.no_docker {
            return Err(ToolFailure::NoCli("No such file or directory (os error 2)".into()));
        }
        match command.args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
            ["version", ..] => Ok("27.0.1".into()),
            ["login", .., registry] => {
                assert_eq!(
                    command.stdin.as_ref().map(|t| t.0.as_str()),
                    Some("token"),
                    "the token on stdin"
                );
                assert!(registry.contains(".dkr.ecr."));
                Ok(String::new())
            }
            ["compose", .., "build", _] => {
                if self.sources_change || self.builds == 0 {
                    self.builds += 1;
                }
                Ok(String::new())
            }
            ["tag", _, _] => Ok(String::new()),
            ["push", image] => {
                let (path, tag) = image.split_once('/').unwrap().1.rsplit_once(':').unwrap();
                let tags = self
                    .repositories
                    .get_mut(path)
                    .expect("the repository exists before the push");
                tags.insert(tag.to_string(), format!("sha256:{}", self.builds));
                Ok(String::new())
            }
            other => panic!("the model has no docker {other:?}"),
        }
    }

    fn cloudformation(&mut self, command: &CliCommand) -> Result<String, ToolFailure> {
        let option = |name| FakeAws::value_of(command, name).unwrap_or_default().to_string();
        match command.args[1].as_str() {
            "describe-stacks" => match self.stacks.get(&option("stack-name")) {
                None => Err(FakeAws::failure("Stack with id x does not exist")),
                Some((status, outputs)) => {
                    let outputs: Vec<Value> = outputs
                        .iter()
                        .map(|(k, v)| json!({"OutputKey": k, "OutputValue": v}))
                        .collect();
                    let mut stack = json!({"StackName": option("stack-name"), "StackStatus": status,
                        "Parameters": [{"ParameterKey": "VpcId", "ParameterValue": "vpc-1"}]});
                    // AWS leaves `Outputs` out when a stack has none.
                    if !outputs.is_empty() {
                        stack["Outputs"] = json!(outputs);
                    }
                    Ok(json!({"Stacks": [stack]}).to_string())
                }
            },
            "deploy" => {
                let template = std::fs::read_to_string(option("template-file")).expect("the template exists");
                let template: serde_yaml::Value = serde_yaml::from_str(&template).unwrap();
                // CloudFormation refuses IAM resources without the capability.
                let iam = template["Resources"]
                    .as_mapping()
                    .unwrap()
                    .values()
                    .any(|r| r["Type"].as_str().unwrap().starts_with("AWS::IAM::"));
                if iam && option("capabilities") != "CAPABILITY_IAM" {
                    return Err(FakeAws::failure("Requires capabilities : [CAPABILITY_IAM]"));
                }
                let outputs = template["Outputs"]
                    .as_mapping()
                    .into_iter()
                    .flatten()
                    .map(|(key, _)| {
                        let key = key.as_str().unwrap().to_string();
                        let value = match key.as_str() {
                            "Region" => "eu-west-1".to_string(),
                            "PrivateSubnetIds" => "subnet-a,subnet-b".to_string(),
                            _ => format!("{key}-value{}", self.replaced),
                        };
                        (key, value)
                    })
                    .collect();
                for resource in template["Resources"].as_mapping().unwrap().values() {
                    if resource["Type"] == "AWS::SecretsManager::Secret" {
                        let name = resource["Properties"]["Name"].as_str().unwrap().to_string();
                        self.secrets.entry(name).or_insert(None);
                    }
                }
                let name = option("stack-name");
                let unchanged = self.stacks.get(&name).is_some_and(|(_, old)| *old == outputs);
                self.stacks.insert(name.clone(), ("CREATE_COMPLETE".into(), outputs));
                Ok(if unchanged {
                    format!("No changes to deploy. Stack {name} is up to date")
                } else {
                    String::new()
                })
            }
            "delete-stack" => {
                self.stacks.remove(&option("stack-name"));
                Ok(String::new())
            }
            "wait" => Ok(String::new()),
            other => panic!("the model has no cloudformation {other}"),
        }
    }

    /// `describe-services` of up to ten services: those that exist, and a failure for each other.
    fn describe_services(&self, command: &CliCommand) -> String {
        let at = command.args.iter().position(|a| a == "--services").unwrap() + 1;
        let names = command.args[at..].iter().take_while(|a| !a.starts_with("--"));
        assert!(names.clone().count() <= 10, "describe-services takes 10 services");
        let (found, missing): (Vec<&String>, Vec<&String>) = names.partition(|n| self.services.contains_key(*n));
        let services: Vec<Value> = found
            .iter()
            .map(|name| {
                let (status, tags, running) = &self.services[*name];
                json!({"serviceName": name, "serviceArn": format!("arn:svc/{name}"), "status": status, "tags": tags,
                    "taskDefinition": running})
            })
            .collect();
        let failures: Vec<Value> = missing.iter().map(|_| json!({"reason": "MISSING"})).collect();
        json!({"services": services, "failures": failures}).to_string()
    }

    fn ecs(&mut self, command: &CliCommand) -> Result<String, ToolFailure> {
        let option = |name| FakeAws::value_of(command, name).unwrap_or_default().to_string();
        match command.args[1].as_str() {
            "describe-task-definition" => {
                let family = option("task-definition");
                match self.families.get(&family).and_then(|r| r.iter().rposition(|(_, active)| *active).map(|i| (i, &r[i]))) {
                    None => Err(FakeAws::failure("Unable to describe task definition.")),
                    Some((index, (tags, _))) => Ok(json!({"taskDefinition": {"taskDefinitionArn": format!("arn:td/{family}:{}", index + 1)}, "tags": tags}).to_string()),
                }
            }
            "register-task-definition" => {
                let file = option("cli-input-json");
                let definition: Value =
                    serde_json::from_str(&std::fs::read_to_string(file.trim_start_matches("file://")).unwrap())
                        .unwrap();
                let family = definition["family"].as_str().unwrap().to_string();
                let tags: Value = serde_json::from_str(&option("tags")).unwrap();
                let revisions = self.families.entry(family.clone()).or_default();
                revisions.push((tags, true));
                Ok(
                    json!({"taskDefinition": {"taskDefinitionArn": format!("arn:td/{family}:{}", revisions.len())}})
                        .to_string(),
                )
            }
            "list-task-definitions" => {
                let prefix = option("family-prefix");
                let arns: Vec<String> = self
                    .families
                    .iter()
                    .filter(|(family, _)| family.starts_with(&prefix))
                    .flat_map(|(family, revisions)| {
                        revisions
                            .iter()
                            .enumerate()
                            .filter(|(_, (_, active))| *active)
                            .map(move |(i, _)| format!("arn:aws:ecs:eu-west-1:1:task-definition/{family}:{}", i + 1))
                    })
                    .collect();
                Ok(json!({"taskDefinitionArns": arns}).to_string())
            }
            "deregister-task-definition" => {
                let arn = option("task-definition");
                let (family, revision) = arn.rsplit_once("task-definition/").unwrap().1.rsplit_once(':').unwrap();
                self.families.get_mut(family).unwrap()[revision.parse::<usize>().unwrap() - 1].1 = false;
                Ok(String::new())
            }
            "describe-services" => Ok(self.describe_services(command)),
            "create-service" => {
                let file = option("cli-input-json");
                let service: Value =
                    serde_json::from_str(&std::fs::read_to_string(file.trim_start_matches("file://")).unwrap())
                        .unwrap();
                let tags: Value = serde_json::from_str(&option("tags")).unwrap();
                self.services.insert(
                    service["serviceName"].as_str().unwrap().into(),
                    ("ACTIVE".into(), tags, option("task-definition")),
                );
                Ok("{}".into())
            }
            "update-service" => {
                let input = option("cli-input-json");
                if !input.is_empty() {
                    let input: Value = serde_json::from_str(&input).unwrap();
                    // What update-service refuses: the keys only create-service takes.
                    for key in ["serviceName", "launchType", "tags", "schedulingStrategy"] {
                        assert!(input.get(key).is_none(), "update-service got {key}");
                    }
                    let service = self
                        .services
                        .get_mut(input["service"].as_str().unwrap())
                        .expect("it exists");
                    // The circuit breaker rolls a failing deployment back to the revision before.
                    if !self.rolls_back {
                        service.2 = input["taskDefinition"].as_str().unwrap().to_string();
                    }
                }
                Ok("{}".into())
            }
            "tag-resource" => {
                let name = option("resource-arn").trim_start_matches("arn:svc/").to_string();
                let tags: Value = serde_json::from_str(&option("tags")).unwrap();
                self.services.get_mut(&name).unwrap().1 = tags;
                Ok("{}".into())
            }
            "delete-service" => {
                self.services.get_mut(&option("service")).unwrap().0 = "INACTIVE".into();
                Ok("{}".into())
            }
            "wait" => Ok(String::new()),
            other => panic!("the model has no ecs {other}"),
        }
    }
}

const APP: &str = "x-ecs: {region: eu-west-1}\nservices:\n  web:\n    image: nginx:1.27\n    ports: ['80:80']\n    volumes: [data:/data]\n    secrets: [key]\n    x-ecs: {autoscaling: {max: 3, cpu: 70}}\n  api:\n    image: api:1\n    expose: ['8080']\nvolumes:\n  data: {}\nsecrets:\n  key: {environment: KEY}\n";

fn network() -> Network {
    Network {
        vpc: Some("vpc-1".into()),
        private_subnets: Some(vec!["subnet-a".into(), "subnet-b".into()]),
        public_subnets: Some(vec!["subnet-c".into(), "subnet-d".into()]),
    }
}

/// What `compose2ecs deploy` does, on `compose` in the output folder `output`.
fn deploy(
    aws: &mut FakeAws,
    compose: &str,
    output: &Path,
    force: bool,
) -> Result<Vec<String>, (DeployError, Vec<String>)> {
    let mut saved = SavedOutputs::default();
    saved.read_saved(output).unwrap();
    let first = with_outputs(compose, saved.pending());
    let plan = first.plan.clone().unwrap();
    write_files(output, &first.output);
    let mut say = |_: &str| {};
    let mut deployer = Deployer::new(aws, output, &mut say, None);
    let mut steps = || -> Result<Vec<String>, DeployError> {
        deployer.preflight(&plan, &network())?;
        let mut forced = deployer.build_images(&plan, &["compose".to_string(), "-p".to_string(), "app".to_string()])?;
        if force {
            forced.extend(plan.tasks.iter().map(|t| t.service_name.clone()));
        }
        deployer.deploy_stacks(&plan, &network(), &mut saved, false)?;
        deployer.put_secret_values(&plan)?;
        let second = with_outputs(compose, saved.clone());
        let plan = second.plan.unwrap();
        assert!(plan.missing.is_empty(), "{:?}", plan.missing);
        write_files(output, &second.output);
        deployer.release(&plan, &second.output, &forced)?;
        deployer.deploy_stacks(&plan, &network(), &mut saved, true)?;
        deployer.wait(&plan)?;
        Ok(urls(&plan, &saved))
    };
    let result = steps();
    result.map_err(|error| (error, deployer.done.clone()))
}

fn with_outputs(compose: &str, outputs: SavedOutputs) -> crate::Conversion {
    let mut files = crate::source::MemoryFiles::default();
    files.0.insert("compose.yaml".into(), compose.as_bytes().to_vec());
    let input = crate::Input {
        compose_files: vec!["compose.yaml".into()],
        directory_name: Some("app".into()),
        stack_outputs: outputs,
        environment: [("KEY".to_string(), "k".to_string())].into_iter().collect(),
        ..crate::Input::default()
    };
    let conversion = crate::convert(&input, &files).unwrap();
    assert!(!conversion.is_refused(false), "{:?}", conversion.diagnostics);
    conversion
}

fn write_files(output: &Path, files: &Output) {
    for (path, text) in files {
        let path = output.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

#[test]
fn a_first_deploy_makes_everything_in_order_with_the_capability_iam_needs() {
    let dir = tempfile::tempdir().unwrap();
    let mut aws = FakeAws::with_network();
    let urls = deploy(&mut aws, APP, dir.path(), false).unwrap();
    assert_eq!(
        aws.changes(),
        [
            "cloudformation deploy", // base
            "cloudformation deploy", // efs
            "cloudformation deploy", // alb
            "cloudformation deploy", // secrets
            "secretsmanager put-secret-value",
            "ecs register-task-definition",
            "ecs register-task-definition",
            "ecs create-service",
            "ecs create-service",
            "cloudformation deploy", // autoscaling, once its services exist
        ]
    );
    let deployed: Vec<&str> = aws
        .run
        .iter()
        .filter(|c| c.args[1] == "deploy")
        .map(|c| FakeAws::value_of(c, "stack-name").unwrap())
        .collect();
    assert_eq!(
        deployed,
        ["app-base", "app-efs", "app-alb", "app-secrets", "app-autoscaling"]
    );
    // The parameters come from the network and the stacks before.
    let efs = aws
        .run
        .iter()
        .find(|c| FakeAws::value_of(c, "stack-name") == Some("app-efs") && c.args[1] == "deploy")
        .unwrap();
    assert!(
        efs.args.contains(&"TaskRoleNames=TaskRoleNames-value".to_string()),
        "{efs:?}"
    );
    assert!(
        efs.args.contains(&"PrivateSubnetIds=subnet-a,subnet-b".to_string()),
        "{efs:?}"
    );
    // Each stack's outputs are saved in the output folder, where convert finds them.
    let mut saved = SavedOutputs::default();
    saved.read_saved(dir.path()).unwrap();
    assert_eq!(saved.stacks.len(), 5);
    assert_eq!(saved.values["TaskRoleArn"], "TaskRoleArn-value");
    // The services' files name the stacks' values, and no placeholder.
    let service = std::fs::read_to_string(dir.path().join("services/web.json")).unwrap();
    assert!(
        service.contains("TargetGroupPort80Arn-value") && !service.contains("{{"),
        "{service}"
    );
    assert_eq!(urls, ["http://LoadBalancerDnsName-value/"]);
}

#[test]
fn a_deploy_with_nothing_changed_changes_nothing_and_a_change_changes_only_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut aws = FakeAws::with_network();
    deploy(&mut aws, APP, dir.path(), false).unwrap();
    aws.run.clear();
    deploy(&mut aws, APP, dir.path(), false).unwrap();
    // The stacks are deployed again (CloudFormation finds no change), nothing else.
    assert!(
        aws.changes().iter().all(|c| c == "cloudformation deploy"),
        "{:?}",
        aws.changes()
    );
    assert_eq!(aws.families["app-web"].len(), 1);

    // A new image tag: a new revision of that task, and its service updated; the other untouched.
    aws.run.clear();
    let released = APP.replace("image: api:1", "image: api:2");
    deploy(&mut aws, &released, dir.path(), false).unwrap();
    let changed: Vec<String> = aws.changes().into_iter().filter(|c| c.starts_with("ecs")).collect();
    assert_eq!(
        changed,
        ["ecs register-task-definition", "ecs update-service", "ecs tag-resource"]
    );
    assert_eq!(aws.families["app-api"].len(), 2);
    assert_eq!(aws.families["app-web"].len(), 1);
    let update = aws.run.iter().find(|c| c.args[1] == "update-service").unwrap();
    let input: Value = serde_json::from_str(FakeAws::value_of(update, "cli-input-json").unwrap()).unwrap();
    assert_eq!(input["taskDefinition"], "arn:td/app-api:2");
    assert_eq!(input["service"], "app-api");
    assert!(
        input.get("desiredCount").is_some(),
        "a service without autoscaling keeps its count"
    );

    // --force-new-deployment: every service updated with a new deployment, no new revision.
    aws.run.clear();
    deploy(&mut aws, &released, dir.path(), true).unwrap();
    let updates: Vec<Value> = aws
        .run
        .iter()
        .filter(|c| c.args[1] == "update-service")
        .map(|c| serde_json::from_str(FakeAws::value_of(c, "cli-input-json").unwrap()).unwrap())
        .collect();
    assert_eq!(updates.len(), 2);
    assert!(updates.iter().all(|u| u["forceNewDeployment"] == true));
    let web = updates.iter().find(|u| u["service"] == "app-web").unwrap();
    assert!(web.get("desiredCount").is_none(), "autoscaling owns the count of web");
    assert!(!aws.changes().contains(&"ecs register-task-definition".to_string()));
}

#[test]
fn deploy_puts_each_secret_value_once_and_never_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut aws = FakeAws::with_network();
    deploy(&mut aws, APP, dir.path(), false).unwrap();
    // The compose secret's variable (KEY=k) is its value, put through stdin, not the command line.
    assert_eq!(aws.secrets["app/key"].as_deref(), Some("k"));
    let put = aws.run.iter().find(|c| c.args[1] == "put-secret-value").unwrap();
    assert!(!put.args.iter().any(|a| a.contains('k') && a.len() == 1));
    assert_eq!(format!("{:?}", put.stdin), "Some(<withheld>)");
    // A value put (or rotated) since is kept.
    aws.secrets.insert("app/key".into(), Some("rotated".into()));
    aws.run.clear();
    deploy(&mut aws, APP, dir.path(), false).unwrap();
    assert_eq!(aws.secrets["app/key"].as_deref(), Some("rotated"));
    assert!(!aws.changes().contains(&"secretsmanager put-secret-value".to_string()));
}

#[test]
fn the_network_comes_from_the_flags_then_x_ecs_then_the_saved_parameters() {
    let mut saved = SavedOutputs::default();
    saved.parameters.insert("VpcId".into(), "vpc-saved".into());
    saved
        .parameters
        .insert("PrivateSubnetIds".into(), "subnet-s1,subnet-s2".into());
    saved
        .values
        .insert("PrivateSubnetIds".into(), "subnet-s1,subnet-s2".into());
    let plan = with_outputs(
        "x-ecs: {subnets: [subnet-x1, subnet-x2]}\nservices:\n  a: {image: nginx}\n",
        saved.clone(),
    )
    .plan
    .unwrap();
    let network = Network::resolve(Network::default(), &plan, &saved);
    assert_eq!(network.vpc.as_deref(), Some("vpc-saved"));
    assert_eq!(
        network.private_subnets,
        Some(vec!["subnet-x1".to_string(), "subnet-x2".to_string()])
    );
    assert_eq!(network.public_subnets, None);
    let flags = Network {
        vpc: Some("vpc-flag".into()),
        ..Network::default()
    };
    assert_eq!(Network::resolve(flags, &plan, &saved).vpc.as_deref(), Some("vpc-flag"));
    let bare = with_outputs("services:\n  a: {image: nginx}\n", saved.clone())
        .plan
        .unwrap();
    assert_eq!(
        Network::resolve(Network::default(), &bare, &saved).private_subnets,
        Some(vec!["subnet-s1".to_string(), "subnet-s2".to_string()])
    );
}

#[test]
fn images_with_a_moving_tag_are_named() {
    let plan = with_outputs(
        "services:\n  a: {image: nginx}\n  b: {image: 'reg.example.com:5000/b:latest'}\n  c: {image: 'redis:7'}\n  d: {image: 'x@sha256:0123'}\n",
        SavedOutputs::default(),
    )
    .plan
    .unwrap();
    assert_eq!(moving_tags(&plan), ["nginx", "reg.example.com:5000/b:latest"]);
}

const BUILT: &str = "x-ecs: {registry: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/goals, image_tag: v1}\nservices:\n  backend:\n    build: ./backend\n    ports: ['80:80']\n";

/// The seed's release: build, tag v2, push, a new task definition revision, a new deployment.
#[test]
fn images_are_built_tagged_and_pushed_before_their_revision_and_deployment() {
    let dir = tempfile::tempdir().unwrap();
    let mut aws = FakeAws::with_network();
    deploy(&mut aws, BUILT, dir.path(), false).unwrap();
    assert!(
        aws.repositories.contains_key("goals/app-backend"),
        "the repository is made"
    );
    let plan = with_outputs(BUILT, SavedOutputs::default()).plan.unwrap();
    let kept = down::kept(&plan, &SavedOutputs::default());
    assert!(
        kept.iter()
            .any(|k| k.starts_with("ECR repository goals/app-backend") && k.contains("--region eu-west-1")),
        "{kept:?}"
    );
    aws.run.clear();
    deploy(
        &mut aws,
        &BUILT.replace("image_tag: v1", "image_tag: v2"),
        dir.path(),
        false,
    )
    .unwrap();
    let steps: Vec<String> = aws
        .run
        .iter()
        .filter(|c| !c.reads_only && !matches!(c.args[0].as_str(), "cloudformation" | "version" | "login"))
        .map(|c| c.shown(&[]))
        .collect();
    let image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/goals/app-backend:v2";
    assert_eq!(
        steps[0],
        "DOCKER_DEFAULT_PLATFORM=linux/amd64 docker compose -p app build backend"
    );
    assert_eq!(steps[1], format!("docker tag app-backend {image}"));
    assert_eq!(steps[2], format!("docker push {image}"));
    assert!(steps[3].starts_with("aws ecs register-task-definition"), "{steps:?}");
    assert!(steps[4].starts_with("aws ecs update-service"), "{steps:?}");
    assert_eq!(aws.families["app-backend"].len(), 2);

    // Pushed again under the same tag with the same image: nothing to deploy. A changed image
    // under the same tag: a new deployment of its service, no new revision.
    aws.run.clear();
    let v2 = BUILT.replace("image_tag: v1", "image_tag: v2");
    deploy(&mut aws, &v2, dir.path(), false).unwrap();
    assert!(
        !aws.changes().iter().any(|c| c.starts_with("ecs ")),
        "{:?}",
        aws.changes()
    );
    aws.sources_change = true;
    aws.run.clear();
    deploy(&mut aws, &v2, dir.path(), false).unwrap();
    let update = aws
        .run
        .iter()
        .find(|c| c.args[1] == "update-service")
        .expect("a new deployment");
    assert!(FakeAws::value_of(update, "cli-input-json")
        .unwrap()
        .contains(r#""forceNewDeployment":true"#));
    assert_eq!(aws.families["app-backend"].len(), 2, "no new revision");

    // Without docker, nothing changes.
    let mut aws = FakeAws::with_network();
    aws.no_docker = true;
    let (error, done) = deploy(&mut aws, BUILT, tempfile::tempdir().unwrap().path(), false).unwrap_err();
    assert!(error.message.starts_with("docker is missing"), "{error:?}");
    assert!(error.help.contains("--no-build"), "{error:?}");
    assert!(done.is_empty() && aws.changes().is_empty(), "{:?}", aws.changes());
}

#[test]
fn replaced_resources_and_stacks_without_outputs_deploy_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut aws = FakeAws::with_network();
    // Only an existing secret: the secrets stack has no outputs, as AWS shows it.
    let external = APP.replace(
        "key: {environment: KEY}",
        "key: {external: true, name: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:key-AbCdEf'}",
    );
    deploy(&mut aws, &external, dir.path(), false).unwrap();
    assert!(aws.stacks["app-secrets"].1.is_empty());
    assert!(dir.path().join("stacks/app-secrets.json").is_file());
    // Every resource replaced: the stacks give new values, and the files are filled with them.
    aws.replaced = "-2".into();
    deploy(&mut aws, &external, dir.path(), false).unwrap();
    let service = std::fs::read_to_string(dir.path().join("services/web.json")).unwrap();
    assert!(service.contains("TargetGroupPort80Arn-value-2"), "{service}");
    let changed: Vec<String> = aws
        .changes()
        .into_iter()
        .filter(|c| c == "ecs update-service")
        .collect();
    assert_eq!(changed.len(), 2, "both services run the new values");
}

#[test]
fn a_release_ecs_rolled_back_fails_and_is_deployed_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut aws = FakeAws::with_network();
    deploy(&mut aws, APP, dir.path(), false).unwrap();
    aws.rolls_back = true;
    let released = APP.replace("image: api:1", "image: api:2");
    let (error, _) = deploy(&mut aws, &released, dir.path(), false).unwrap_err();
    assert!(
        error
            .message
            .contains("service `app-api` did not start `arn:td/app-api:2`"),
        "{error:?}"
    );
    // Fixed, run again: the service is updated again, although its tag says it was.
    aws.rolls_back = false;
    aws.run.clear();
    deploy(&mut aws, &released, dir.path(), false).unwrap();
    assert!(
        aws.changes().contains(&"ecs update-service".to_string()),
        "{:?}",
        aws.changes()
    );
    assert_eq!(aws.services["app-api"].2, "arn:td/app-api:2");
}

#[test]
fn bad_states_are_refused_before_anything_changes() {
    let dir = tempfile::tempdir().unwrap();
    // A stack left in ROLLBACK_COMPLETE by a failed creation.
    let mut aws = FakeAws::with_network();
    aws.stacks
        .insert("app-base".into(), ("ROLLBACK_COMPLETE".into(), vec![]));
    let (error, done) = deploy(&mut aws, APP, dir.path(), false).unwrap_err();
    assert!(error.message.contains("ROLLBACK_COMPLETE"), "{error:?}");
    assert!(
        error
            .help
            .contains("aws cloudformation delete-stack --stack-name app-base"),
        "{error:?}"
    );
    assert!(done.is_empty() && aws.changes().is_empty());
    // A later stack that CloudFormation cannot update is found before the first one changes.
    let mut aws = FakeAws::with_network();
    aws.stacks
        .insert("app-alb".into(), ("UPDATE_ROLLBACK_FAILED".into(), vec![]));
    let (error, _) = deploy(&mut aws, APP, dir.path(), false).unwrap_err();
    assert!(
        error.help.contains("continue-update-rollback --stack-name app-alb"),
        "{error:?}"
    );
    assert!(aws.changes().is_empty(), "{:?}", aws.changes());

    // No credentials.
    let mut aws = FakeAws::with_network();
    aws.no_credentials = true;
    let (error, _) = deploy(&mut aws, APP, dir.path(), false).unwrap_err();
    assert!(error.message.contains("no working credentials"), "{error:?}");
    assert!(aws.changes().is_empty());

    // A subnet of another VPC, and public subnets in one zone.
    let mut aws = FakeAws::with_network();
    aws.subnets
        .insert("subnet-b".into(), ("vpc-2".into(), "eu-west-1b".into()));
    let (error, _) = deploy(&mut aws, APP, dir.path(), false).unwrap_err();
    assert_eq!(error.message, "subnet `subnet-b` is not in VPC `vpc-1`");
    let mut aws = FakeAws::with_network();
    aws.subnets
        .insert("subnet-d".into(), ("vpc-1".into(), "eu-west-1a".into()));
    let (error, _) = deploy(&mut aws, APP, dir.path(), false).unwrap_err();
    assert!(
        error.message.contains("1 availability zone(s); the stacks need 2"),
        "{error:?}"
    );
    assert!(aws.changes().is_empty());
}

#[test]
fn a_failed_step_stops_there_and_says_what_was_done() {
    let dir = tempfile::tempdir().unwrap();
    let mut aws = FakeAws::with_network();
    aws.failing = Some("create-service");
    let (error, done) = deploy(&mut aws, APP, dir.path(), false).unwrap_err();
    assert!(
        error.message.starts_with("service `app-api` was not created"),
        "{error:?}"
    );
    assert!(error.help.contains("run `compose2ecs deploy` again"), "{error:?}");
    assert!(
        done.iter().any(|d| d.starts_with("stack app-secrets: deployed")),
        "{done:?}"
    );
    assert!(
        done.iter()
            .any(|d| d.starts_with("task definition app-web: registered")),
        "{done:?}"
    );
    // Run again: what was done is skipped, the rest is done.
    aws.failing = None;
    aws.run.clear();
    deploy(&mut aws, APP, dir.path(), false).unwrap();
    let changed: Vec<String> = aws.changes().into_iter().filter(|c| c.starts_with("ecs")).collect();
    assert_eq!(changed, ["ecs create-service", "ecs create-service"]);
}

#[test]
fn down_removes_what_deploy_made_and_names_what_it_keeps() {
    let dir = tempfile::tempdir().unwrap();
    let mut aws = FakeAws::with_network();
    deploy(&mut aws, APP, dir.path(), false).unwrap();
    deploy(&mut aws, &APP.replace("api:1", "api:2"), dir.path(), false).unwrap();
    // Another project's family that starts with the same name is not touched.
    aws.families.insert("app-api-old".into(), vec![(json!([]), true)]);
    aws.run.clear();
    let mut saved = SavedOutputs::default();
    saved.read_saved(dir.path()).unwrap();
    let plan = with_outputs(APP, saved.clone()).plan.unwrap();
    let mut say = |_: &str| {};
    let mut deployer = Deployer::new(&mut aws, dir.path(), &mut say, None);
    let kept = down(&mut deployer, &plan, &saved).unwrap();
    assert!(aws.stacks.is_empty(), "{:?}", aws.stacks.keys());
    assert!(aws.services.values().all(|(status, ..)| status == "INACTIVE"));
    assert!(aws.families["app-api"].iter().all(|(_, active)| !active));
    assert!(aws.families["app-api-old"][0].1, "another family stays");
    // Scaled to 0 before each deletion; the autoscaling stack goes first, the base stack last.
    let changes = aws.changes();
    assert_eq!(changes[0], "cloudformation delete-stack");
    assert_eq!(changes[1..3], ["ecs update-service", "ecs delete-service"]);
    let deleted: Vec<&str> = aws
        .run
        .iter()
        .filter(|c| c.args[1] == "delete-stack")
        .map(|c| FakeAws::value_of(c, "stack-name").unwrap())
        .collect();
    assert_eq!(
        deleted,
        ["app-autoscaling", "app-secrets", "app-alb", "app-efs", "app-base"]
    );
    // The saved outputs go with their stacks; what the templates retain is named.
    assert!(!dir.path().join("stacks/app-base.json").exists());
    assert!(kept[0].starts_with("log group /ecs/app"), "{kept:?}");
    assert!(kept.iter().any(|k| k.contains("FileSystemId-value")), "{kept:?}");
    assert!(kept.iter().any(|k| k.starts_with("secret app/key")), "{kept:?}");
    // Down again: nothing left to remove, nothing fails.
    aws.run.clear();
    let mut deployer = Deployer::new(&mut aws, dir.path(), &mut say, None);
    down(&mut deployer, &plan, &saved).unwrap();
    assert!(aws.changes().is_empty(), "{:?}", aws.changes());
}

/// An EFS stack past the first whose volumes are all gone is deployed again, empty (its access
/// points and its policy on the task roles go), and `down` deletes it.
#[test]
fn an_emptied_efs_stack_is_deployed_empty_and_taken_down() {
    let compose = |count: usize| {
        let mut compose = String::from("services:\n");
        for i in 0..count {
            compose.push_str(&format!("  app{i:02}: {{image: a, volumes: [\"v{i:02}:/data\"]}}\n"));
        }
        compose.push_str("volumes:\n");
        for i in 0..count {
            // The last one gives root: `efs-2.yaml` has a policy on the task roles for it.
            let settings = if i == 60 { "{x-ecs: {root_access: true}}" } else { "{}" };
            compose.push_str(&format!("  v{i:02}: {settings}\n"));
        }
        compose
    };
    let emptied = EmptiedStack {
        stack: "efs-2",
        output: "AccessPointV60Id",
        policy: ("TaskRoleEfsPolicy", "AWS::IAM::Policy"),
    };
    emptied.deployed_empty_then_taken_down(&compose(61), &compose(60));
}

/// A secrets stack past the first whose secrets are all gone is deployed again, empty (its
/// managed policy on the execution role goes), and `down` deletes it, naming the secrets it
/// keeps.
#[test]
fn an_emptied_secrets_stack_is_deployed_empty_and_taken_down() {
    // Every value from `KEY`, the one variable the conversions here have.
    let compose = |count: usize| -> String {
        crate::compose_with_secrets(count, 0, 4)
            .lines()
            .map(|line| match line.split_once("{environment: ") {
                Some((secret, _)) => format!("{secret}{{environment: KEY}}\n"),
                None => format!("{line}\n"),
            })
            .collect()
    };
    let emptied = EmptiedStack {
        stack: "secrets-2",
        output: "SecretS050Arn",
        policy: ("ReadSecretsPolicy", "AWS::IAM::ManagedPolicy"),
    };
    let kept = emptied.deployed_empty_then_taken_down(&compose(51), &compose(50));
    // The secrets are retained, as the template says: down names those the compose file still
    // has with how to delete them.
    assert!(kept.iter().any(|k| k.starts_with("secret app/s049")), "{kept:?}");
}

/// A later stack of a kind, whose one item (its `output`) goes.
struct EmptiedStack {
    stack: &'static str,
    output: &'static str,
    /// The policy it has while it holds the item: (logical id, type).
    policy: (&'static str, &'static str),
}

impl EmptiedStack {
    /// Deploys `full`, then `emptied`, which lacks the stack's item: the stack is deployed again
    /// without its output or policy. Then `down` deletes every stack; returns what it keeps.
    fn deployed_empty_then_taken_down(&self, full: &str, emptied: &str) -> Vec<String> {
        let name = format!("app-{}", self.stack);
        let path = format!("cloudformation/{}.yaml", self.stack);
        let policy = |dir: &Path| {
            let template = std::fs::read_to_string(dir.join(&path)).unwrap();
            let template: serde_yaml::Value = serde_yaml::from_str(&template).unwrap();
            template["Resources"][self.policy.0]["Type"]
                .as_str()
                .map(str::to_string)
        };
        let dir = tempfile::tempdir().unwrap();
        let mut aws = FakeAws::with_network();
        deploy(&mut aws, full, dir.path(), false).unwrap();
        assert!(aws.stacks[&name].1.iter().any(|(key, _)| key == self.output));
        assert_eq!(policy(dir.path()).as_deref(), Some(self.policy.1));
        aws.run.clear();
        deploy(&mut aws, emptied, dir.path(), false).unwrap();
        let deployed: Vec<&str> = aws
            .run
            .iter()
            .filter(|c| c.args[1] == "deploy")
            .map(|c| FakeAws::value_of(c, "stack-name").unwrap())
            .collect();
        assert!(deployed.contains(&name.as_str()), "{deployed:?}");
        assert!(aws.stacks[&name].1.is_empty(), "its item and output are gone");
        assert_eq!(policy(dir.path()), None, "no policy is left on the roles");
        let mut saved = SavedOutputs::default();
        saved.read_saved(dir.path()).unwrap();
        let plan = with_outputs(emptied, saved.pending()).plan.unwrap();
        let mut say = |_: &str| {};
        let mut deployer = Deployer::new(&mut aws, dir.path(), &mut say, None);
        let kept = down(&mut deployer, &plan, &saved).unwrap();
        assert!(aws.stacks.is_empty(), "{:?}", aws.stacks.keys());
        kept
    }
}

/// A managed database with deletion protection (the default) stops `down` before it changes anything.
#[test]
fn down_keeps_a_protected_database_and_changes_nothing() {
    let compose = APP.replace(
        "  api:\n",
        "  db:\n    image: postgres:16\n    x-ecs: {managed: true}\n  api:\n",
    );
    let mut aws = FakeAws::with_network();
    let dir = tempfile::tempdir().unwrap();
    let plan = with_outputs(&compose, SavedOutputs::default()).plan.unwrap();
    let mut say = |_: &str| {};
    let mut deployer = Deployer::new(&mut aws, dir.path(), &mut say, None);
    let refused = down(&mut deployer, &plan, &SavedOutputs::default()).unwrap_err();
    assert!(refused.message.contains("`db`"), "{}", refused.message);
    assert!(aws.run.is_empty(), "{:?}", aws.run);
}

/// A change of ECS Exec or of the capacity (Spot) reaches running tasks only with a new
/// deployment, and turning either off is said explicitly: update-service keeps what it is not given.
#[test]
fn an_update_says_exec_and_the_capacity_either_way_and_deploys_their_change() {
    let on_spot = json!({"enableExecuteCommand": true, "capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]});
    let plain = json!({"launchType": "FARGATE"});
    let described_spot = json!({"enableExecuteCommand": true, "capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}]});
    // The same settings as described: no new deployment.
    let same = super::update_input(&on_spot, &described_spot, "s", "t:2", false, false);
    assert_eq!(same.get("forceNewDeployment"), None, "{same}");
    // Onto Spot with Exec: both given, and deployed.
    let onto = super::update_input(&on_spot, &plain, "s", "t:2", false, false);
    assert_eq!(onto["capacityProviderStrategy"][0]["capacityProvider"], "FARGATE_SPOT");
    assert_eq!(
        (onto["enableExecuteCommand"].clone(), onto["forceNewDeployment"].clone()),
        (json!(true), json!(true))
    );
    // Off Spot and Exec: an empty strategy (back to the launch type), Exec false, deployed.
    let off = super::update_input(&plain, &described_spot, "s", "t:2", false, false);
    assert_eq!(off["capacityProviderStrategy"], json!([]));
    assert_eq!(
        (off["enableExecuteCommand"].clone(), off["forceNewDeployment"].clone()),
        (json!(false), json!(true))
    );
    // On the launch type, as described: nothing about a strategy, no new deployment.
    let unchanged = super::update_input(&plain, &json!({"launchType": "FARGATE"}), "s", "t:2", false, false);
    assert_eq!(
        (
            unchanged.get("capacityProviderStrategy"),
            unchanged.get("forceNewDeployment")
        ),
        (None, None)
    );
}
