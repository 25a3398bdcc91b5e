//! Deploy: the converted output put on AWS through the user's own aws CLI (and docker, for the
//! images it builds) — the images, the stacks, the secrets' values, the task definitions, the
//! services — each step skipped when AWS already has what it would make, so a run with nothing
//! changed changes nothing, and a run that stopped resumes where it stopped.
//!
//! What is deployed is the committed output: the templates and JSON files as `convert` wrote
//! them, passed by path. A task definition and an ECS service carry a tag with the digest of the
//! files they were made from; a file whose digest AWS already has is not deployed again.

mod down;
mod saved;
pub mod tools;

pub use down::down;
pub use tools::{CliCommand, DryRun, Globals, ToolFailure, Tools, UserTools};

use crate::emit::Output;
use crate::load::stack_outputs::SavedOutputs;
use crate::plan::{ParameterSource, Plan, StackPlan};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The tag whose value is the digest of the files a task definition or service was made from.
pub const DIGEST_TAG: &str = "compose2ecs-digest";

/// The largest template `aws cloudformation deploy` sends inline; larger ones go through S3.
const MAXIMUM_INLINE_TEMPLATE_BYTES: usize = 51_200;

/// The keys of an ECS service file that `update-service` takes too (the rest are create-only:
/// `serviceName`, `launchType`, `tags`, `schedulingStrategy`, `role`, `clientToken`).
const UPDATE_SERVICE_KEYS: &[&str] = &[
    "cluster",
    "desiredCount",
    "taskDefinition",
    "capacityProviderStrategy",
    "deploymentConfiguration",
    "availabilityZoneRebalancing",
    "networkConfiguration",
    "placementConstraints",
    "placementStrategy",
    "platformVersion",
    "healthCheckGracePeriodSeconds",
    "deploymentController",
    "enableExecuteCommand",
    "enableECSManagedTags",
    "loadBalancers",
    "propagateTags",
    "serviceRegistries",
    "serviceConnectConfiguration",
    "volumeConfigurations",
    "vpcLatticeConfigurations",
];

/// Where the app runs: the VPC and the subnets, from `deploy`'s flags, else `x-ecs`, else the
/// parameters the stacks were last deployed with.
#[derive(Debug, Clone, Default)]
pub struct Network {
    pub vpc: Option<String>,
    pub private_subnets: Option<Vec<String>>,
    pub public_subnets: Option<Vec<String>>,
}

impl Network {
    /// The flags' values over `x-ecs`'s over the saved parameters'.
    pub fn resolve(flags: Network, plan: &Plan, saved: &SavedOutputs) -> Network {
        let saved_list = |key: &str| {
            saved
                .parameters
                .get(key)
                .map(|list| list.split(',').map(str::to_string).collect())
        };
        Network {
            vpc: flags
                .vpc
                .or_else(|| plan.deployment.vpc.clone())
                .or_else(|| saved.parameters.get("VpcId").cloned()),
            private_subnets: flags
                .private_subnets
                .or_else(|| plan.deployment.private_subnets.clone())
                .or_else(|| saved_list("PrivateSubnetIds")),
            public_subnets: flags
                .public_subnets
                .or_else(|| plan.deployment.public_subnets.clone())
                .or_else(|| saved_list("PublicSubnetIds")),
        }
    }
}

/// A step that failed: what went wrong and what to do; what was done before it is in
/// [`Deployer::done`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployError {
    pub message: String,
    pub help: String,
}

impl DeployError {
    pub fn new(message: impl Into<String>, help: impl Into<String>) -> Self {
        DeployError {
            message: message.into(),
            help: help.into(),
        }
    }

    fn failed(what: &str, failure: &ToolFailure) -> Self {
        let help = match failure {
            ToolFailure::NoCli(_) => "install the aws CLI (https://docs.aws.amazon.com/cli/) and put it on PATH",
            _ => "fix what AWS said, then run `compose2ecs deploy` again: it goes on from here",
        };
        DeployError::new(format!("{what}: {}", failure.said()), help)
    }
}

/// Runs the steps of a deploy, and remembers what they did.
pub struct Deployer<'a> {
    pub aws: &'a mut dyn Tools,
    /// The output folder, as the user named it (the commands name its files through it).
    pub output: &'a Path,
    /// Tells the user what a step did.
    pub say: &'a mut dyn FnMut(&str),
    /// Where `cloudformation deploy` uploads templates too large to send inline.
    pub s3_bucket: Option<String>,
    /// What was done, in order: said again when a later step fails.
    pub done: Vec<String>,
    /// The ECS services created or updated, with the revision each must run once stable.
    pub changed_services: Vec<(String, String)>,
}

impl<'a> Deployer<'a> {
    /// A deployer that has done nothing yet.
    pub fn new(
        aws: &'a mut dyn Tools,
        output: &'a Path,
        say: &'a mut dyn FnMut(&str),
        s3_bucket: Option<String>,
    ) -> Self {
        Deployer {
            aws,
            output,
            say,
            s3_bucket,
            done: Vec::new(),
            changed_services: Vec::new(),
        }
    }

    fn did(&mut self, what: String) {
        (self.say)(&what);
        self.done.push(what);
    }

    /// The aws CLI runs and has credentials; the network has what the stacks need, and its
    /// subnets are in its VPC. Nothing is changed.
    pub fn preflight(&mut self, plan: &Plan, network: &Network) -> Result<(), DeployError> {
        match self.aws.run(&CliCommand::read("sts", "get-caller-identity")) {
            Ok(_) | Err(ToolFailure::NotRun) => {}
            Err(failure @ ToolFailure::NoCli(_)) => {
                return Err(DeployError::failed("the aws CLI is missing", &failure))
            }
            Err(failure) => return Err(DeployError::new(
                format!("the aws CLI has no working credentials: {}", failure.said()),
                "sign in as the aws CLI expects (`aws configure`, `aws sso login`, or AWS_PROFILE), or pass --profile",
            )),
        }
        let needs = |source: ParameterSource| {
            plan.stacks
                .iter()
                .filter(|stack| stack.parameters.iter().any(|p| p.source == source))
                .map(|stack| stack.name.as_str())
                .collect::<Vec<_>>()
        };
        let missing = [
            (
                ParameterSource::Vpc,
                network.vpc.is_none(),
                "a VPC",
                "--vpc vpc-…",
                "x-ecs: {vpc: vpc-…}",
            ),
            (
                ParameterSource::PrivateSubnets,
                network.private_subnets.is_none(),
                "the tasks' subnets (private, in two availability zones)",
                "--subnets subnet-a,subnet-b",
                "x-ecs: {subnets: [subnet-a, subnet-b]}",
            ),
            (
                ParameterSource::PublicSubnets,
                network.public_subnets.is_none(),
                "public subnets in two availability zones for the load balancer",
                "--public-subnets subnet-c,subnet-d",
                "x-ecs: {public_subnets: [subnet-c, subnet-d]}",
            ),
        ];
        for (source, absent, what, flag, setting) in missing {
            let stacks = needs(source);
            if absent && !stacks.is_empty() {
                let (noun, verb) = if stacks.len() == 1 {
                    ("stack", "needs")
                } else {
                    ("stacks", "need")
                };
                return Err(DeployError::new(
                    format!("{noun} `{}` {verb} {what}, and none is given", stacks.join("`, `")),
                    format!("pass `{flag}`, or set `{setting}` at the top level of the compose file (an override file per environment)"),
                ));
            }
        }
        self.check_subnets(plan, network)?;
        // Every stack CloudFormation cannot update now is found before the first change.
        for stack in &plan.stacks {
            self.check_stack_state(stack)?;
        }
        Ok(())
    }

    /// Each subnet is in the VPC, and each kind spans the availability zones its stacks need
    /// (one `describe-subnets` for all of them).
    fn check_subnets(&mut self, plan: &Plan, network: &Network) -> Result<(), DeployError> {
        let Some(vpc) = &network.vpc else { return Ok(()) };
        let needed = |parameter: &str| {
            plan.stacks
                .iter()
                .any(|s| s.parameters.iter().any(|p| p.name == parameter))
        };
        let kinds: Vec<(&str, &Vec<String>, u32)> = [
            (
                "PrivateSubnetIds",
                &network.private_subnets,
                plan.efs.as_ref().map_or(1, |e| e.mount_targets.max(1)),
            ),
            ("PublicSubnetIds", &network.public_subnets, 2),
        ]
        .into_iter()
        .filter_map(|(parameter, subnets, zones)| Some((parameter, subnets.as_ref()?, zones)))
        .filter(|(parameter, _, _)| needed(parameter))
        .collect();
        let mut ids: Vec<&String> = kinds.iter().flat_map(|(_, subnets, _)| subnets.iter()).collect();
        ids.sort();
        ids.dedup();
        if ids.is_empty() {
            return Ok(());
        }
        let command = CliCommand::read("ec2", "describe-subnets")
            .words(["--subnet-ids"])
            .words(ids.into_iter().cloned());
        let answer = match self.aws.run(&command) {
            Ok(answer) => answer,
            Err(ToolFailure::NotRun) => return Ok(()),
            Err(failure) => {
                return Err(DeployError::new(
                    format!("the subnets cannot be read: {}", failure.said()),
                    "give subnets that exist in the region the aws CLI uses (`aws ec2 describe-subnets`)",
                ))
            }
        };
        let described: Value = serde_json::from_str(&answer).unwrap_or(Value::Null);
        let zone_of = |id: &str| -> Result<String, DeployError> {
            let subnet = described["Subnets"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|s| s["SubnetId"] == id)
                .ok_or_else(|| {
                    DeployError::new(
                        format!("subnet `{id}` does not exist"),
                        "give subnets of the VPC the app runs in",
                    )
                })?;
            if subnet["VpcId"].as_str() != Some(vpc) {
                return Err(DeployError::new(
                    format!("subnet `{id}` is not in VPC `{vpc}`"),
                    "give the subnets of the VPC the app runs in (`aws ec2 describe-subnets --filters Name=vpc-id,Values=VPC`)",
                ));
            }
            Ok(subnet["AvailabilityZone"].as_str().unwrap_or_default().to_string())
        };
        for (parameter, subnets, zones) in kinds {
            let mut in_zones = std::collections::BTreeSet::new();
            for id in subnets {
                in_zones.insert(zone_of(id)?);
            }
            if in_zones.len() < zones as usize {
                return Err(DeployError::new(
                    format!(
                        "the subnets of `{parameter}` are in {} availability zone(s); the stacks need {zones}",
                        in_zones.len()
                    ),
                    "give one subnet in each of that many availability zones (a load balancer needs two; each EFS mount target one)",
                ));
            }
        }
        Ok(())
    }

    /// Deploys the stacks (those deployed before the services, or after them), each with its
    /// parameters, and saves each one's outputs in the output folder and in `saved`.
    pub fn deploy_stacks(
        &mut self,
        plan: &Plan,
        network: &Network,
        saved: &mut SavedOutputs,
        after_services: bool,
    ) -> Result<(), DeployError> {
        for stack in plan.stacks.iter().filter(|s| s.after_services == after_services) {
            let template = self.output.join(stack.template());
            let size = std::fs::metadata(&template).map_or(0, |m| m.len());
            if size > MAXIMUM_INLINE_TEMPLATE_BYTES as u64 && self.s3_bucket.is_none() {
                return Err(DeployError::new(
                    format!(
                        "`{}` has {size} bytes; CloudFormation takes at most {MAXIMUM_INLINE_TEMPLATE_BYTES} inline",
                        template.display()
                    ),
                    "pass `--s3-bucket BUCKET` (a bucket in the stacks' region): the template is uploaded there",
                ));
            }
            let mut parameters = Vec::new();
            for parameter in &stack.parameters {
                let value = self.parameter_value(plan, network, saved, &parameter.source)?;
                parameters.push(format!("{}={value}", parameter.name));
            }
            let mut command = CliCommand::change("cloudformation", "deploy")
                .option("stack-name", &stack.name)
                .option("template-file", template.display().to_string())
                .words(["--no-fail-on-empty-changeset"]);
            if stack.names_iam {
                command = command.words(["--capabilities", "CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]);
            } else if stack.creates_iam {
                command = command.option("capabilities", "CAPABILITY_IAM");
            }
            if let Some(bucket) = &self.s3_bucket {
                command = command.option("s3-bucket", bucket);
            }
            if !parameters.is_empty() {
                command = command.words(["--parameter-overrides"]).words(parameters);
            }
            let deployed = match self.aws.run(&command) {
                Ok(answer) => answer,
                Err(ToolFailure::NotRun) => continue,
                // What `update-stack` (and moto's change sets) answer when nothing changed.
                Err(ToolFailure::Failed { stderr, .. }) if stderr.contains("No updates are to be performed") => {
                    "No changes to deploy".to_string()
                }
                Err(failure) => {
                    return Err(DeployError::new(
                        format!("stack `{}` was not deployed: {}", stack.name, failure.said()),
                        format!(
                            "see why in its events (`aws cloudformation describe-stack-events --stack-name {}`), fix it, and run `compose2ecs deploy` again",
                            stack.name
                        ),
                    ))
                }
            };
            self.save_outputs(stack, saved)?;
            let how = if deployed.contains("No changes to deploy") {
                "up to date"
            } else {
                "deployed"
            };
            self.did(format!("stack {}: {how} ({})", stack.name, stack.reason));
        }
        Ok(())
    }

    /// A stack CloudFormation cannot update now is an error before anything is changed.
    fn check_stack_state(&mut self, stack: &StackPlan) -> Result<(), DeployError> {
        let command = CliCommand::read("cloudformation", "describe-stacks").option("stack-name", &stack.name);
        let status = match self.aws.run(&command) {
            Ok(answer) => saved::described(&answer).and_then(|s| s.stack_status),
            Err(failure) if failure.is_absent() => None,
            Err(ToolFailure::NotRun) => None,
            Err(failure) => {
                return Err(DeployError::failed(
                    &format!("stack `{}` cannot be read", stack.name),
                    &failure,
                ))
            }
        };
        let Some(status) = status else { return Ok(()) };
        let name = &stack.name;
        match status.as_str() {
            "ROLLBACK_COMPLETE" | "ROLLBACK_FAILED" | "CREATE_FAILED" | "DELETE_FAILED" => Err(DeployError::new(
                format!("stack `{name}` is in {status}: its creation failed, and CloudFormation cannot update it"),
                format!(
                    "see why in `aws cloudformation describe-stack-events --stack-name {name}`; then delete it (`aws cloudformation delete-stack --stack-name {name}` and `aws cloudformation wait stack-delete-complete --stack-name {name}`) and run `compose2ecs deploy` again"
                ),
            )),
            "UPDATE_ROLLBACK_FAILED" => Err(DeployError::new(
                format!("stack `{name}` is in {status}"),
                format!("recover it with `aws cloudformation continue-update-rollback --stack-name {name}`, then run `compose2ecs deploy` again"),
            )),
            // What a first change set that failed leaves: `cloudformation deploy` creates it anew.
            "REVIEW_IN_PROGRESS" => Ok(()),
            in_progress if in_progress.ends_with("_IN_PROGRESS") => Err(DeployError::new(
                format!("stack `{name}` is in {status}: another change of it is under way"),
                "wait until it ends (`aws cloudformation describe-stacks`), then run `compose2ecs deploy` again",
            )),
            _ => Ok(()),
        }
    }

    fn parameter_value(
        &mut self,
        plan: &Plan,
        network: &Network,
        saved: &SavedOutputs,
        source: &ParameterSource,
    ) -> Result<String, DeployError> {
        let dry = self.aws.dry();
        let given = |value: Option<String>, what: &str| {
            value.ok_or_else(|| DeployError::new(format!("no {what} is given"), "see `compose2ecs deploy --help`"))
        };
        match source {
            ParameterSource::Vpc => given(network.vpc.clone(), "VPC"),
            ParameterSource::PrivateSubnets => given(network.private_subnets.as_ref().map(|s| s.join(",")), "subnets"),
            ParameterSource::PublicSubnets => {
                given(network.public_subnets.as_ref().map(|s| s.join(",")), "public subnets")
            }
            ParameterSource::Output { stack, key } => match saved.values.get(*key) {
                Some(value) => Ok(value.clone()),
                None if dry => Ok(format!("{{{{{key}}}}}")),
                None => Err(DeployError::new(
                    format!(
                        "output `{key}` of stack `{}` is not known",
                        plan.stack(stack.as_str()).map_or(stack.as_str(), |s| s.name.as_str())
                    ),
                    "run `compose2ecs deploy` again: it deploys that stack first",
                )),
            },
            ParameterSource::MountTargetSecurityGroup => self.mount_target_group(plan),
        }
    }

    /// The security group of the existing file system's first mount target, which the EFS stack
    /// opens to the tasks; empty when it has none (its mount targets must admit them already).
    fn mount_target_group(&mut self, plan: &Plan) -> Result<String, DeployError> {
        let Some(file_system) = plan.efs.as_ref().and_then(|e| e.existing_file_system.clone()) else {
            return Ok(String::new());
        };
        let targets = CliCommand::read("efs", "describe-mount-targets").option("file-system-id", &file_system);
        let answer = match self.aws.run(&targets) {
            Ok(answer) => answer,
            Err(ToolFailure::NotRun) => return Ok("{{MountTargetSecurityGroupId}}".to_string()),
            Err(failure) => {
                return Err(DeployError::failed(
                    &format!("file system `{file_system}` cannot be read"),
                    &failure,
                ))
            }
        };
        let targets: Value = serde_json::from_str(&answer).unwrap_or(Value::Null);
        let Some(target) = targets["MountTargets"][0]["MountTargetId"].as_str() else {
            return Err(DeployError::new(
                format!("file system `{file_system}` (`x-ecs.file_system`) has no mount target"),
                "give it a mount target in each of the tasks' subnets (`aws efs create-mount-target`), then run `compose2ecs deploy` again",
            ));
        };
        let groups = CliCommand::read("efs", "describe-mount-target-security-groups").option("mount-target-id", target);
        match self.aws.run(&groups) {
            Ok(answer) => Ok(
                serde_json::from_str::<Value>(&answer).unwrap_or(Value::Null)["SecurityGroups"][0]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            ),
            Err(failure) => Err(DeployError::failed(
                &format!("mount target `{target}` cannot be read"),
                &failure,
            )),
        }
    }

    /// Reads the deployed stack's outputs and keeps them: in `saved`, and in the output folder.
    fn save_outputs(&mut self, stack: &StackPlan, saved: &mut SavedOutputs) -> Result<(), DeployError> {
        let command = CliCommand::read("cloudformation", "describe-stacks").option("stack-name", &stack.name);
        let answer = match self.aws.run(&command) {
            Ok(answer) => answer,
            Err(ToolFailure::NotRun) => return Ok(()),
            Err(failure) => {
                return Err(DeployError::failed(
                    &format!("stack `{}` cannot be read", stack.name),
                    &failure,
                ))
            }
        };
        let described = saved::described(&answer).ok_or_else(|| {
            DeployError::new(
                format!("`describe-stacks` gave no stack `{}`", stack.name),
                "run `compose2ecs deploy` again",
            )
        })?;
        // Saved with `Outputs` even when the stack has none (a secrets stack of existing secrets
        // only, which `describe-stacks` shows without the key): it is deployed, with none.
        let text = saved::saved_text(&described);
        let path = saved::path(self.output, &stack.name);
        saved.add(&path.display().to_string(), &text).map_err(|message| {
            DeployError::new(message, "the stacks disagree: delete the saved outputs of stacks that are gone, then run `compose2ecs deploy` again")
        })?;
        saved::write(self.output, &stack.name, &text).map_err(|error| {
            DeployError::new(
                format!(
                    "the outputs of stack `{}` cannot be saved in `{}`: {error}",
                    stack.name,
                    path.display()
                ),
                "make the output folder writable, then run `compose2ecs deploy` again",
            )
        })
    }

    /// Puts the value of each secret the secrets stacks made and that has none yet: from the file
    /// or variable compose reads it from. A secret with a value keeps it (it may have been
    /// rotated since); a value that is not on this machine is an error before any service runs.
    pub fn put_secret_values(&mut self, plan: &Plan) -> Result<(), DeployError> {
        use crate::normalise::SecretValue;
        for secret in plan
            .secrets
            .iter()
            .filter(|s| s.policy_resource == crate::plan::PolicyResource::Created)
        {
            let id = format!("{}/{}", plan.project, secret.name);
            let describe = CliCommand::read("secretsmanager", "describe-secret").option("secret-id", &id);
            match self.aws.run(&describe) {
                Ok(answer) => {
                    let answer: Value = serde_json::from_str(&answer).unwrap_or(Value::Null);
                    if answer["VersionIdsToStages"].as_object().is_some_and(|v| !v.is_empty()) {
                        self.did(format!("secret {id}: has a value"));
                        continue;
                    }
                }
                Err(ToolFailure::NotRun) => {}
                Err(failure) => return Err(DeployError::failed(&format!("secret `{id}` cannot be read"), &failure)),
            }
            let text = match &secret.value {
                Some(SecretValue::Text(text)) => text.clone(),
                Some(SecretValue::File(path)) => {
                    let read = crate::source::read_regular_file(path, crate::source::Links::Follow)
                        .map_err(|error| error.to_string())
                        .and_then(|bytes| String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_string()));
                    match read {
                        Ok(text) => crate::normalise::Withheld(text),
                        Err(error) => {
                            return Err(DeployError::new(
                                format!("the value of secret `{id}` cannot be read from `{}`: {error}", path.display()),
                                format!("put it yourself (`aws secretsmanager put-secret-value --secret-id {id} --secret-string file://FILE`), then run `compose2ecs deploy` again"),
                            ))
                        }
                    }
                }
                None => {
                    return Err(DeployError::new(
                        format!("secret `{id}` has no value in Secrets Manager, and its variable is not set here"),
                        format!("set the variable compose reads it from, or put it yourself (`aws secretsmanager put-secret-value --secret-id {id} --secret-string file://FILE`), then run `compose2ecs deploy` again"),
                    ))
                }
            };
            let mut put = CliCommand::change("secretsmanager", "put-secret-value")
                .option("secret-id", &id)
                .option("secret-string", "file:///dev/stdin");
            put.stdin = Some(text);
            match self.aws.run(&put) {
                Ok(_) => self.did(format!("secret {id}: value put")),
                Err(ToolFailure::NotRun) => {}
                Err(failure) => {
                    return Err(DeployError::failed(
                        &format!("the value of secret `{id}` was not put"),
                        &failure,
                    ))
                }
            }
        }
        Ok(())
    }

    /// Builds the images of the services with `build:` (`docker compose` with `compose`, the
    /// options that name the project's files), tags and pushes each where its task runs it,
    /// signing in to ECR and creating its repository when missing. Returns the ECS services whose
    /// image changed under the same tag, which need a new deployment to run it.
    pub fn build_images(&mut self, plan: &Plan, compose: &[String]) -> Result<BTreeSet<String>, DeployError> {
        let mut changed = BTreeSet::new();
        if plan.builds.is_empty() {
            return Ok(changed);
        }
        // Without docker, nothing is changed: the check comes before the first repository.
        let mut version = CliCommand::docker(["version", "--format", "{{.Client.Version}}"]);
        version.reads_only = true;
        self.docker(&version, "docker does not run")?;
        let mut signed_in = BTreeSet::new();
        for build in &plan.builds {
            let Some(ecr) = &build.ecr else { continue };
            if signed_in.insert(build.registry.clone()) {
                self.ecr_login(&build.registry, &ecr.region)?;
            }
            self.ecr_repository(ecr)?;
        }
        let services = plan.builds.iter().map(|b| b.service.clone());
        let mut command = CliCommand::docker(compose.iter().cloned().chain(["build".to_string()]).chain(services));
        // Fargate runs x86-64 unless a task asks for ARM: an image built on an ARM machine (an
        // Apple silicon Mac) would not start. A service's own `platform:` still wins.
        command
            .env
            .push(("DOCKER_DEFAULT_PLATFORM".into(), "linux/amd64".into()));
        self.docker(&command, "the images were not built")?;
        let task_of = |service: &str| {
            plan.tasks
                .iter()
                .find(|t| t.containers.iter().any(|c| c.service == service))
                .map(|t| t.service_name.clone())
        };
        for build in &plan.builds {
            let before = self.pushed_digest(build);
            if build.built_as != build.image {
                self.docker(
                    &CliCommand::docker(["tag", &build.built_as, &build.image]),
                    "the image was not tagged",
                )?;
            }
            self.docker(&CliCommand::docker(["push", &build.image]), "the image was not pushed")?;
            let after = self.pushed_digest(build);
            // A new digest under an unchanged name changes no task definition: its service is
            // deployed again to run it. Outside ECR the digest is not read: a moving tag is.
            let moved = match (&build.ecr, before, after) {
                (Some(_), before, after) => before != after,
                (None, ..) => build
                    .image
                    .rsplit(':')
                    .next()
                    .is_none_or(|tag| tag == "latest" || tag.contains('/')),
            };
            if moved && !self.aws.dry() {
                changed.extend(task_of(&build.service));
            }
            self.did(format!("image {}: built and pushed", build.image));
        }
        Ok(changed)
    }

    fn docker(&mut self, command: &CliCommand, what: &str) -> Result<(), DeployError> {
        match self.aws.run(command) {
            Ok(_) | Err(ToolFailure::NotRun) => Ok(()),
            Err(failure @ ToolFailure::NoCli(_)) => Err(DeployError::new(
                format!("docker is missing: {}", failure.said()),
                "install docker, or push the images yourself and pass --no-build",
            )),
            Err(failure) => Err(DeployError::failed(what, &failure)),
        }
    }

    /// Signs docker in to an ECR registry with a token the aws CLI gets (passed on stdin).
    fn ecr_login(&mut self, registry: &str, region: &str) -> Result<(), DeployError> {
        let token = CliCommand::read("ecr", "get-login-password").option("region", region);
        let password = match self.aws.run(&token) {
            Ok(password) => password.trim().trim_matches('"').to_string(),
            Err(ToolFailure::NotRun) => String::new(),
            Err(failure) => return Err(DeployError::failed(&format!("no ECR token for `{registry}`"), &failure)),
        };
        let mut login = CliCommand::docker(["login", "--username", "AWS", "--password-stdin", registry]);
        login.stdin = Some(crate::normalise::Withheld(password));
        self.docker(&login, "docker could not sign in to ECR")
    }

    /// The ECR repository, made when it does not exist.
    fn ecr_repository(&mut self, ecr: &crate::plan::EcrRepository) -> Result<(), DeployError> {
        let describe = CliCommand::read("ecr", "describe-repositories")
            .option("region", &ecr.region)
            .words(["--repository-names", &ecr.repository]);
        match self.aws.run(&describe) {
            Ok(_) => return Ok(()),
            Err(failure) if failure.is_absent() || failure == ToolFailure::NotRun => {}
            Err(failure) => {
                return Err(DeployError::failed(
                    &format!("ECR repository `{}` cannot be read", ecr.repository),
                    &failure,
                ))
            }
        }
        let create = CliCommand::change("ecr", "create-repository")
            .option("region", &ecr.region)
            .option("repository-name", &ecr.repository);
        match self.aws.run(&create) {
            Ok(_) => {
                self.did(format!("ECR repository {}: created", ecr.repository));
                Ok(())
            }
            Err(ToolFailure::NotRun) => Ok(()),
            Err(failure) => Err(DeployError::failed(
                &format!("ECR repository `{}` was not created", ecr.repository),
                &failure,
            )),
        }
    }

    /// The digest ECR has under the build's tag, when it is an ECR image that exists there.
    fn pushed_digest(&mut self, build: &crate::plan::ImageBuild) -> Option<String> {
        let ecr = build.ecr.as_ref()?;
        let command = CliCommand::read("ecr", "describe-images")
            .option("region", &ecr.region)
            .option("repository-name", &ecr.repository)
            .words(["--image-ids", &format!("imageTag={}", ecr.tag)]);
        let answer: Value = serde_json::from_str(&self.aws.run(&command).ok()?).ok()?;
        answer["imageDetails"][0]["imageDigest"].as_str().map(str::to_string)
    }

    /// Registers each task definition whose file changed, then creates or updates each ECS
    /// service, in the plan's creation order. `force` names the ECS services to start a new
    /// deployment of even when their files did not change (`--force-new-deployment`, or an image
    /// pushed again under the same tag).
    /// (to pull an image again under the same tag).
    pub fn release(&mut self, plan: &Plan, files: &Output, force: &BTreeSet<String>) -> Result<(), DeployError> {
        let mut revisions = BTreeMap::new();
        for task in &plan.tasks {
            let revision = self.register(task, files)?;
            revisions.insert(task.service_name.as_str(), (task, revision));
        }
        let mut existing = self.services(&plan.deployment.cluster, &plan.creation_order, true)?;
        for name in &plan.creation_order {
            let Some((task, (arn, task_digest))) = revisions.remove(name.as_str()) else {
                continue;
            };
            let found = existing.remove(name);
            self.create_or_update(task, files, (&arn, &task_digest), found, force.contains(name))?;
        }
        Ok(())
    }

    /// The ECS services of `names` that exist (not `INACTIVE`), by name: `describe-services`
    /// for ten at a time, with their tags when `tags`. None in a dry run, or without the cluster.
    pub(super) fn services(
        &mut self,
        cluster: &str,
        names: &[String],
        tags: bool,
    ) -> Result<BTreeMap<String, Value>, DeployError> {
        let mut found = BTreeMap::new();
        for chunk in names.chunks(10) {
            let mut describe = CliCommand::read("ecs", "describe-services")
                .option("cluster", cluster)
                .words(["--services"])
                .words(chunk.iter().cloned());
            if tags {
                describe = describe.option("include", "TAGS");
            }
            let answer = match self.aws.run(&describe) {
                Ok(answer) => answer,
                Err(ToolFailure::NotRun) => continue,
                Err(failure) if failure.is_absent() || down::cluster_gone(&failure) => continue,
                Err(failure) => {
                    return Err(DeployError::failed(
                        &format!("the services of cluster `{cluster}` cannot be read"),
                        &failure,
                    ))
                }
            };
            let answer: Value = serde_json::from_str(&answer).unwrap_or(Value::Null);
            for service in answer["services"].as_array().into_iter().flatten() {
                if let (Some(name), false) = (service["serviceName"].as_str(), service["status"] == "INACTIVE") {
                    found.insert(name.to_string(), service.clone());
                }
            }
        }
        Ok(found)
    }

    /// The revision to run: the latest one when it was made from this file, else a new one.
    /// Returns its ARN (the family in a dry run) and the file's digest.
    fn register(&mut self, task: &crate::plan::TaskGroup, files: &Output) -> Result<(String, String), DeployError> {
        let path = format!("taskdefs/{}.json", task.name);
        let text = files.get(&path).map(String::as_str).unwrap_or_default();
        let digest = digest(&[text]);
        let definition: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let family = definition["family"].as_str().unwrap_or(&task.service_name).to_string();
        let latest = CliCommand::read("ecs", "describe-task-definition")
            .option("task-definition", &family)
            .option("include", "TAGS");
        match self.aws.run(&latest) {
            Ok(answer) => {
                let answer: Value = serde_json::from_str(&answer).unwrap_or(Value::Null);
                let arn = answer["taskDefinition"]["taskDefinitionArn"]
                    .as_str()
                    .unwrap_or_default();
                if tag(&answer["tags"], DIGEST_TAG) == Some(&digest) && !arn.is_empty() {
                    self.did(format!("task definition {family}: up to date ({arn})"));
                    return Ok((arn.to_string(), digest));
                }
            }
            Err(failure) if failure.is_absent() || failure == ToolFailure::NotRun => {}
            Err(failure) => {
                return Err(DeployError::failed(
                    &format!("task definition `{family}` cannot be read"),
                    &failure,
                ))
            }
        }
        let register = CliCommand::change("ecs", "register-task-definition")
            .option(
                "cli-input-json",
                format!("file://{}", self.output.join(&path).display()),
            )
            .option("tags", tags_with_digest(&definition["tags"], &digest));
        match self.aws.run(&register) {
            Ok(answer) => {
                let answer: Value = serde_json::from_str(&answer).unwrap_or(Value::Null);
                let arn = answer["taskDefinition"]["taskDefinitionArn"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                self.did(format!("task definition {family}: registered {arn}"));
                Ok((arn, digest))
            }
            Err(ToolFailure::NotRun) => Ok((family, digest)),
            Err(failure) => Err(DeployError::failed(
                &format!("task definition `{family}` was not registered"),
                &failure,
            )),
        }
    }

    fn create_or_update(
        &mut self,
        task: &crate::plan::TaskGroup,
        files: &Output,
        (task_definition, task_digest): (&str, &str),
        existing: Option<Value>,
        force: bool,
    ) -> Result<(), DeployError> {
        let path = format!("services/{}.json", task.name);
        let text = files.get(&path).map(String::as_str).unwrap_or_default();
        let service: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let digest = digest(&[text, task_digest]);
        let name = &task.service_name;
        let Some(existing) = existing else {
            let create = CliCommand::change("ecs", "create-service")
                .option(
                    "cli-input-json",
                    format!("file://{}", self.output.join(&path).display()),
                )
                .option("task-definition", task_definition)
                .option("tags", tags_with_digest(&service["tags"], &digest));
            return match self.aws.run(&create) {
                Ok(_) => {
                    self.changed_services.push((name.clone(), task_definition.to_string()));
                    self.did(format!("service {name}: created"));
                    Ok(())
                }
                Err(ToolFailure::NotRun) => {
                    self.changed_services.push((name.clone(), task_definition.to_string()));
                    Ok(())
                }
                Err(failure) => Err(DeployError::failed(
                    &format!("service `{name}` was not created"),
                    &failure,
                )),
            };
        };
        if existing["status"] == "DRAINING" {
            return Err(DeployError::new(
                format!("service `{name}` is being deleted"),
                "wait until it is gone (`aws ecs describe-services`), then run `compose2ecs deploy` again",
            ));
        }
        // Up to date when made from these files and running this revision: a deployment the
        // circuit breaker rolled back keeps the tag but runs the revision before.
        let running = existing["taskDefinition"].as_str() == Some(task_definition);
        if tag(&existing["tags"], DIGEST_TAG) == Some(&digest) && running && !force {
            self.did(format!("service {name}: up to date"));
            return Ok(());
        }
        let input = update_input(
            &service,
            &existing,
            name,
            task_definition,
            task.autoscaling.is_some(),
            force,
        );
        let update = CliCommand::change("ecs", "update-service").option("cli-input-json", input.to_string());
        if let Err(failure) = self.aws.run(&update) {
            return Err(DeployError::failed(
                &format!("service `{name}` was not updated"),
                &failure,
            ));
        }
        let arn = existing["serviceArn"].as_str().unwrap_or_default();
        let retag = CliCommand::change("ecs", "tag-resource")
            .option("resource-arn", arn)
            .option("tags", json!([{"key": DIGEST_TAG, "value": digest}]).to_string());
        if let Err(failure) = self.aws.run(&retag) {
            return Err(DeployError::failed(
                &format!("service `{name}` was updated but not tagged"),
                &failure,
            ));
        }
        self.changed_services.push((name.clone(), task_definition.to_string()));
        self.did(format!(
            "service {name}: updated{}",
            if force { " (new deployment forced)" } else { "" }
        ));
        Ok(())
    }

    /// Waits until the services created or updated run their new tasks (ECS's own waiter: up to
    /// 10 services a call, each checked for 10 minutes), then checks each runs its new revision:
    /// a service whose deployment failed and was rolled back is stable too, on the old one.
    pub fn wait(&mut self, plan: &Plan) -> Result<(), DeployError> {
        let changed = std::mem::take(&mut self.changed_services);
        for chunk in changed.chunks(10) {
            let names: Vec<String> = chunk.iter().map(|(name, _)| name.clone()).collect();
            let command = CliCommand::read("ecs", "wait")
                .words(["services-stable"])
                .option("cluster", &plan.deployment.cluster)
                .words(["--services"])
                .words(names.iter().cloned());
            match self.aws.run(&command) {
                Ok(_) => {}
                Err(ToolFailure::NotRun) => continue,
                Err(failure) => {
                    return Err(DeployError::new(
                        format!("the services {} did not become stable: {}", names.join(", "), failure.said()),
                        "see why in the services' events (`aws ecs describe-services --cluster CLUSTER --services NAME`) and their tasks' logs; fix it and run `compose2ecs deploy` again",
                    ))
                }
            }
            let running = self.services(&plan.deployment.cluster, &names, false)?;
            for (name, revision) in chunk {
                let service = running.get(name);
                let failed = service
                    .and_then(|s| s["deployments"].as_array())
                    .is_some_and(|deployments| {
                        deployments
                            .iter()
                            .any(|d| d["status"] == "PRIMARY" && d["rolloutState"] == "FAILED")
                    });
                if failed || service.is_some_and(|s| s["taskDefinition"].as_str() != Some(revision)) {
                    return Err(DeployError::new(
                        format!("service `{name}` did not start `{revision}`: its deployment failed and ECS rolled it back"),
                        format!("see why in its events (`aws ecs describe-services --cluster {} --services {name}`) and its tasks' logs; fix it and run `compose2ecs deploy` again: it deploys that revision again", plan.deployment.cluster),
                    ));
                }
            }
            self.did(format!("stable: {}", names.join(", ")));
        }
        Ok(())
    }
}

/// Where the app answers: each listener of the load balancers, from their DNS names.
pub fn urls(plan: &Plan, saved: &SavedOutputs) -> Vec<String> {
    let mut urls = Vec::new();
    if let Some(dns) = saved.values.get("LoadBalancerDnsName") {
        for listener in &plan.listeners {
            let scheme = listener.protocol.to_ascii_lowercase();
            let default = matches!((scheme.as_str(), listener.port), ("http", 80) | ("https", 443));
            let port = if default {
                String::new()
            } else {
                format!(":{}", listener.port)
            };
            urls.push(format!("{scheme}://{dns}{port}/"));
        }
    }
    if let (Some(dns), Some(network)) = (
        saved.values.get("NetworkLoadBalancerDnsName"),
        &plan.network_load_balancer,
    ) {
        for listener in &network.listeners {
            urls.push(format!("{} {dns}:{}", listener.protocol, listener.port));
        }
    }
    urls
}

/// The images with a moving tag (none, or `latest`), each once: a new image pushed under such a
/// tag changes no file, so deploy cannot see it (`--force-new-deployment` starts new tasks).
pub fn moving_tags(plan: &Plan) -> Vec<String> {
    let mut images: Vec<String> = plan
        .tasks
        .iter()
        .flat_map(|task| &task.containers)
        .filter_map(|container| match &container.image {
            crate::plan::DeployValue::Known(image) => Some(image.clone()),
            crate::plan::DeployValue::Placeholder(_) => None,
        })
        .filter(|image| {
            let name = image.rsplit('/').next().unwrap_or(image);
            !image.contains('@') && name.split_once(':').is_none_or(|(_, tag)| tag == "latest")
        })
        .collect();
    images.sort();
    images.dedup();
    images
}

/// The input of `update-service` from a service file and the service as it is (`existing`): what
/// update-service takes, the revision to run, and no `desiredCount` when autoscaling sets it (an
/// update would undo its scaling). A file leaves out what is off, and update-service keeps what it
/// is not given: ECS Exec is given either way, and a strategy the file no longer has is an empty
/// one, ECS's way back to the launch type. A change of either reaches running tasks only with a
/// new deployment, which ECS requires for a strategy.
fn update_input(
    service: &Value,
    existing: &Value,
    name: &str,
    task_definition: &str,
    autoscaled: bool,
    force: bool,
) -> Value {
    let mut input = serde_json::Map::new();
    input.insert("service".into(), json!(name));
    for key in UPDATE_SERVICE_KEYS {
        if let Some(value) = service.get(*key) {
            input.insert((*key).to_string(), value.clone());
        }
    }
    input.insert("taskDefinition".into(), json!(task_definition));
    if autoscaled {
        input.remove("desiredCount");
    }
    let strategy = capacity_shares(service);
    let strategy_changed = strategy != capacity_shares(existing);
    if strategy_changed && strategy.is_empty() {
        input.insert("capacityProviderStrategy".into(), json!([]));
    }
    let exec = service["enableExecuteCommand"].as_bool().unwrap_or(false);
    input.insert("enableExecuteCommand".into(), json!(exec));
    let exec_changed = existing["enableExecuteCommand"].as_bool().unwrap_or(false) != exec;
    if force || strategy_changed || exec_changed {
        input.insert("forceNewDeployment".into(), json!(true));
    }
    Value::Object(input)
}

/// A service's capacity provider strategy as (provider, weight, base), `base` 0 when not given
/// (ECS describes it, a file leaves it out); empty for the launch type.
fn capacity_shares(service: &Value) -> Vec<(String, u64, u64)> {
    service["capacityProviderStrategy"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|share| {
            (
                share["capacityProvider"].as_str().unwrap_or_default().to_string(),
                share["weight"].as_u64().unwrap_or(0),
                share["base"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// The value of tag `key` in a `[{"key", "value"}]` list.
fn tag<'v>(tags: &'v Value, key: &str) -> Option<&'v str> {
    tags.as_array()?
        .iter()
        .find(|t| t["key"] == key)
        .and_then(|t| t["value"].as_str())
}

/// A file's tags with the digest tag set, as the JSON `--tags` takes.
fn tags_with_digest(tags: &Value, digest: &str) -> String {
    let mut list: Vec<Value> = tags
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["key"] != DIGEST_TAG)
        .cloned()
        .collect();
    list.push(json!({"key": DIGEST_TAG, "value": digest}));
    Value::Array(list).to_string()
}

/// The SHA-256 of the parts, each followed by a zero byte, in hexadecimal.
fn digest(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests;
