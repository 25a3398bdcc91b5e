//! The `deploy` and `down` commands: convert, then drive the user's aws CLI through
//! `compose2ecs::deploy`, saying each step, and on a failure what was done and how to go on.

use crate::{print_failure, read_outputs, refused, run_pipeline, InputArgs};
use clap::Args;
use compose2ecs::deploy::{self, DeployError, Deployer, DryRun, Globals, Network, Tools, UserTools};
use compose2ecs::diagnostic::{printable, printable_lines, Severity};
use compose2ecs::load::stack_outputs::SavedOutputs;
use compose2ecs::plan::{DeployValue, Plan};
use compose2ecs::{write, Conversion};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// What `deploy` and `down` read besides the compose files.
#[derive(Args)]
pub struct AwsArgs {
    /// The output folder: converted into, deployed from, and where the stacks' outputs are saved
    /// (`stacks/`, to commit with the rest).
    #[arg(short = 'o', long = "output", value_name = "DIR", default_value = "ecs")]
    pub output: PathBuf,
    /// The aws CLI profile (else AWS_PROFILE, else its default).
    #[arg(long = "aws-profile", value_name = "NAME")]
    pub aws_profile: Option<String>,
    /// The region (else `x-ecs.region`, else the saved stacks' region, else the aws CLI's).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Another endpoint for every AWS service (a local emulator).
    #[arg(long = "endpoint-url", value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Print every aws command, in order, and run none (nor write any file). It asks AWS
    /// nothing, so it shows a first deploy: where something exists, a real run skips or updates it.
    #[arg(long = "dry-run")]
    pub dry_run: bool,
}

#[derive(Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// The VPC the stacks are deployed into (over `x-ecs.vpc`).
    #[arg(long, value_name = "VPC_ID")]
    pub vpc: Option<String>,
    /// The tasks' subnets, comma-separated, in two availability zones (over `x-ecs.subnets`).
    #[arg(long, value_name = "SUBNET,…", value_delimiter = ',')]
    pub subnets: Option<Vec<String>>,
    /// The load balancers' subnets, comma-separated, in two availability zones (over
    /// `x-ecs.public_subnets`).
    #[arg(long = "public-subnets", value_name = "SUBNET,…", value_delimiter = ',')]
    pub public_subnets: Option<Vec<String>>,
    /// An S3 bucket for templates larger than CloudFormation takes inline (51,200 bytes).
    #[arg(long = "s3-bucket", value_name = "BUCKET")]
    pub s3_bucket: Option<String>,
    /// Start a new deployment of every service even where nothing changed: the way to run an
    /// image pushed again under the same tag (`latest`).
    #[arg(long = "force-new-deployment")]
    pub force_new_deployment: bool,
    /// Do not build and push the images of services with `build:` (they are pushed already).
    #[arg(long = "no-build")]
    pub no_build: bool,
    /// Do not wait for the services to become stable.
    #[arg(long = "no-wait")]
    pub no_wait: bool,
    /// Refuse the input on any warning.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Args)]
pub struct DownArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

pub fn run_deploy(args: &DeployArgs) -> ExitCode {
    let Some(Start {
        mut outputs,
        conversion: first,
        globals,
    }) = start(&args.input, &args.aws, args.strict, Severity::Note)
    else {
        return ExitCode::from(1);
    };
    let Some(plan) = first.plan.as_ref() else {
        return ExitCode::from(1);
    };
    let flags = Network {
        vpc: args.vpc.clone(),
        private_subnets: args.subnets.clone(),
        public_subnets: args.public_subnets.clone(),
    };
    let network = Network::resolve(flags, plan, &outputs);
    let mut aws = runner(&args.aws, globals, args.input.verbose);
    let quiet = args.input.quiet;
    let mut say = |line: &str| {
        if !quiet {
            eprintln!("{}", printable(line));
        }
    };
    let mut deployer = Deployer::new(aws.as_mut(), &args.aws.output, &mut say, args.s3_bucket.clone());
    let dry = args.aws.dry_run;
    let mut steps = || -> Result<Vec<String>, DeployError> {
        deployer.preflight(plan, &network)?;
        let mut force = BTreeSet::new();
        if !args.no_build {
            force = deployer.build_images(plan, &compose_options(&args.input, plan))?;
        }
        if args.force_new_deployment {
            force.extend(plan.tasks.iter().map(|t| t.service_name.clone()));
        }
        written(&args.aws.output, &first, dry, args.input.quiet)?;
        deployer.deploy_stacks(plan, &network, &mut outputs, false)?;
        deployer.put_secret_values(plan)?;
        // With the stacks' outputs, the files are complete: converted again, and deployed.
        let second = converted(&args.input, outputs.clone(), args.strict, Severity::Error).ok_or_else(|| {
            DeployError::new(
                "the output cannot be converted with the stacks' outputs",
                "see the errors above",
            )
        })?;
        let plan = second
            .plan
            .as_ref()
            .ok_or_else(|| DeployError::new("the output cannot be converted", "see the errors above"))?;
        if !dry && !plan.missing.is_empty() {
            let names = compose2ecs::quote::placeholders(plan.missing.iter().map(|m| m.name.as_str()));
            return Err(DeployError::new(
                format!("placeholders are left after the stacks were deployed: {names}"),
                "each comes from `x-ecs` or another stack (see `compose2ecs convert`); give it, then run `compose2ecs deploy` again",
            ));
        }
        written(&args.aws.output, &second, dry, args.input.quiet)?;
        deployer.release(plan, &second.output, &force)?;
        deployer.deploy_stacks(plan, &network, &mut outputs, true)?;
        if !args.no_wait {
            deployer.wait(plan)?;
        }
        Ok(deploy::urls(plan, &outputs))
    };
    match steps() {
        Ok(_) if !dry && args.input.quiet => ExitCode::SUCCESS,
        Ok(urls) if !dry => {
            let moving = deploy::moving_tags(plan);
            if !moving.is_empty() && !args.force_new_deployment {
                eprintln!(
                    "note: {} use a moving tag: deploy cannot see a new image pushed under it; pass --force-new-deployment then, or pin a tag",
                    printable(&moving.join(", "))
                );
            }
            for url in urls {
                eprintln!("the app answers at {}", printable(&url));
            }
            eprintln!(
                "deployed; commit {} (the stacks' outputs are in its stacks/)",
                args.aws.output.display()
            );
            ExitCode::SUCCESS
        }
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => failed(&error, &deployer.done, "deploy"),
    }
}

pub fn run_down(args: &DownArgs) -> ExitCode {
    let Some(Start {
        outputs,
        conversion,
        globals,
    }) = start(&args.input, &args.aws, false, Severity::Error)
    else {
        return ExitCode::from(1);
    };
    let Some(plan) = conversion.plan.as_ref() else {
        return ExitCode::from(1);
    };
    let mut aws = runner(&args.aws, globals, args.input.verbose);
    let quiet = args.input.quiet;
    let mut say = |line: &str| {
        if !quiet {
            eprintln!("{}", printable(line));
        }
    };
    let mut deployer = Deployer::new(aws.as_mut(), &args.aws.output, &mut say, None);
    match deploy::down(&mut deployer, plan, &outputs) {
        Ok(kept) if !args.aws.dry_run => {
            if !quiet {
                eprintln!("removed; kept, as the templates retain them (delete each when you no longer need it):");
                for kept in kept {
                    eprintln!("  {}", printable(&kept));
                }
            }
            // The stacks are gone, and so are their saved outputs: the files get their
            // placeholders back, so they name nothing that was deleted.
            let Some(bare) = converted(&args.input, SavedOutputs::default(), false, Severity::Error) else {
                return ExitCode::from(1);
            };
            if let Err(error) = written(&args.aws.output, &bare, false, quiet) {
                print_failure(&error.message, &error.help);
                return ExitCode::from(1);
            }
            if !quiet {
                eprintln!("{} has its placeholders back; commit it", args.aws.output.display());
            }
            ExitCode::SUCCESS
        }
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => failed(&error, &deployer.done, "down"),
    }
}

/// What `deploy` and `down` start from: the saved outputs, the conversion with them, and the
/// options of every aws command.
struct Start {
    outputs: SavedOutputs,
    conversion: Conversion,
    globals: Globals,
}

/// Reads the saved outputs and converts with them, printing diagnostics from `least` up. The
/// stacks are about to be deployed again (or deleted): an output their saved files lack (the
/// compose file added it since) is not an error yet. `None` when anything is refused (said).
fn start(input: &InputArgs, aws: &AwsArgs, strict: bool, least: Severity) -> Option<Start> {
    let outputs = read_outputs(input, Some(&aws.output)).ok()?;
    let conversion = converted(input, outputs.pending(), strict, least)?;
    let globals = globals(aws, conversion.plan.as_ref()?, &outputs)?;
    Some(Start {
        outputs,
        conversion,
        globals,
    })
}

/// The options of `docker compose` that name the project as compose2ecs read it.
fn compose_options(input: &InputArgs, plan: &Plan) -> Vec<String> {
    let mut options = vec!["compose".to_string()];
    for file in &input.files {
        options.extend(["-f".to_string(), file.display().to_string()]);
    }
    for file in &input.env_files {
        options.extend(["--env-file".to_string(), file.display().to_string()]);
    }
    for profile in &input.profiles {
        options.extend(["--profile".to_string(), profile.clone()]);
    }
    options.extend(["-p".to_string(), plan.project.clone()]);
    options
}

/// The conversion, its diagnostics from `least` up printed; `None` (said why) when it is refused.
fn converted(input: &InputArgs, outputs: SavedOutputs, strict: bool, least: Severity) -> Option<Conversion> {
    let conversion = run_pipeline(input, outputs, least).ok()?;
    if conversion.is_refused(strict) {
        refused(&conversion, strict);
        return None;
    }
    Some(conversion)
}

/// The conversion written to the output folder, as `convert` writes it (not in a dry run).
fn written(output: &Path, conversion: &Conversion, dry: bool, quiet: bool) -> Result<(), DeployError> {
    if dry {
        return Ok(());
    }
    match write::write_output(output, &conversion.output, &write::RunRecords::of_user()) {
        Ok(difference) => {
            for stranger in difference.not_ours(output, Severity::Warning).iter().filter(|_| !quiet) {
                eprintln!("warning: {}", printable(&stranger.message));
            }
            Ok(())
        }
        Err(error) => Err(DeployError::new(error.to_string(), error.help())),
    }
}

/// The options every aws command gets. The region: `--region`, else `x-ecs.region`, else the
/// saved stacks' region; two of them differing is an error, before anything runs.
fn globals(args: &AwsArgs, plan: &Plan, outputs: &SavedOutputs) -> Option<Globals> {
    let setting = match &plan.deployment.region {
        DeployValue::Known(region) => Some(region.clone()),
        DeployValue::Placeholder(_) => None,
    };
    let stacks = outputs.values.get("Region").cloned();
    let region = match (&args.region, setting.or(stacks)) {
        (Some(flag), Some(known)) if *flag != known => {
            print_failure(
                &format!("--region is `{flag}`, but the app is in `{known}` (`x-ecs.region`, or the region of the saved stacks)"),
                "deploy each region from its own output folder (`-o ecs-REGION`) with its own `x-ecs.region` (an override file per region)",
            );
            return None;
        }
        (Some(flag), _) => Some(flag.clone()),
        (None, known) => known,
    };
    Some(Globals {
        profile: args.aws_profile.clone(),
        region,
        endpoint_url: args.endpoint_url.clone(),
    })
}

/// The user's aws CLI, or with `--dry-run` one that prints each command on stdout.
fn runner(args: &AwsArgs, globals: Globals, verbose: bool) -> Box<dyn Tools> {
    if args.dry_run {
        Box::new(DryRun {
            globals,
            print: Box::new(|command| println!("{}", printable_lines(command))),
        })
    } else {
        Box::new(UserTools {
            globals,
            show: Box::new(move |command| {
                if verbose {
                    eprintln!("  $ {}", printable(command));
                }
            }),
        })
    }
}

/// A failed step: what went wrong, what was done before it, and how to go on.
fn failed(error: &DeployError, done: &[String], command: &str) -> ExitCode {
    print_failure(&error.message, &error.help);
    if done.is_empty() {
        eprintln!("nothing was changed");
    } else {
        eprintln!(
            "done before it ({} step(s), each skipped when `compose2ecs {command}` runs again):",
            done.len()
        );
        for step in done {
            eprintln!("  {}", printable(step));
        }
    }
    ExitCode::from(1)
}
