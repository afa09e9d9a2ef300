//! The CLI front door. Flags mirror the action inputs one to one (`--cluster` = `cluster`), and
//! are turned into the same input map the action reads from `INPUT_*`, so `Config` has a single
//! parser for both.

use std::collections::BTreeMap;

use clap::{ArgMatches, Args, CommandFactory, Parser, Subcommand};

use crate::config;

#[derive(Debug, Parser)]
#[command(
    name = "greenlight",
    version,
    about = "Ship a container image to Amazon ECS safely: validate, register, deploy (CodeDeploy blue/green), watch, roll back.",
    long_about = None,
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<CliCommand>,
}

// One value per process: boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Register the task definition and deploy it to the service, watching to the end.
    Deploy(DeployArgs),
    /// Every check `deploy` makes, and the diff against the live service, with no AWS write.
    Plan(DeployArgs),
    /// Continue a blue/green deployment waiting at READY, then watch it to the end.
    Promote(VerbArgs),
    /// Stop the in-flight deployment with rollback.
    Abort(AbortArgs),
    /// Stop the in-flight deployment with rollback; or, when none is in flight, deploy the
    /// revision the service ran before (or --to).
    Rollback(RollbackArgs),
    /// Show the service's controller, live revision and images, and the deployment in flight.
    Status(StatusArgs),
    /// Print the unique image reference this build should push (outputs `image`, `image-tag`).
    Tag(TagArgs),
    /// Register the task definition and run it as a one-off task (a migration, say), watched to
    /// its exit with its log streamed; no service is changed. With --service, the task uses the
    /// service's network. The deployment flags are read but not used.
    Run(DeployArgs),
}

/// Which service, and where the report goes: what every command about a service reads.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// ECS service.
    #[arg(long)]
    pub service: Option<String>,
    /// ECS cluster.
    #[arg(long)]
    pub cluster: Option<String>,
    /// CodeDeploy application [default: AppECS-{cluster}-{service}].
    #[arg(long)]
    pub codedeploy_application: Option<String>,
    /// CodeDeploy deployment group [default: DgpECS-{cluster}-{service}].
    #[arg(long)]
    pub codedeploy_deployment_group: Option<String>,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// `status` reads nothing beyond which service.
pub type StatusArgs = TargetArgs;

#[derive(Debug, Args)]
pub struct VerbArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The deployment to act on [default: the one in flight for the group].
    #[arg(long, value_name = "ID")]
    pub deployment_id: Option<String>,
    /// Minutes to follow the deployment, at most 360.
    #[arg(long, value_name = "MINUTES")]
    pub wait_for_minutes: Option<String>,
    /// The longest wait between two reads, in seconds (1 to 600) [default: 2 s backing off to 15 s].
    #[arg(long, value_name = "SECONDS")]
    pub wait_max_delay_seconds: Option<String>,
    /// Stop with rollback on timeout or cancellation.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub rollback_on_timeout: Option<String>,
}

#[derive(Debug, Args)]
pub struct AbortArgs {
    #[command(flatten)]
    pub verb: VerbArgs,
    /// Stop CodeDeploy's own rollback deployment named by --deployment-id instead of waiting
    /// for it; traffic stays where it is then.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub force_stop_rollback: Option<String>,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub verb: VerbArgs,
    /// Stop CodeDeploy's own rollback deployment named by --deployment-id instead of waiting
    /// for it; traffic stays where it is then.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub force_stop_rollback: Option<String>,
    /// The revision to go back to (family:revision or ARN) [default: the one that ran before].
    #[arg(long, value_name = "REVISION")]
    pub to: Option<String>,
}

/// Where the report goes besides the log and the step summary.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Token for the PR comment, commit status and GitHub Deployment [default: none on the CLI].
    #[arg(long, value_name = "TOKEN")]
    pub github_token: Option<String>,
    /// Post the report as a sticky pull-request comment.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub pr_comment: Option<String>,
    /// Set a commit status `greenlight/{cluster}/{service}`.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub commit_status: Option<String>,
    /// Most seconds GitHub reporting may add once the end state is known.
    #[arg(long, value_name = "SECONDS")]
    pub report_timeout_seconds: Option<String>,
    /// Attempts per AWS API call, the first included (1 to 10).
    #[arg(long, value_name = "N")]
    pub max_retries: Option<String>,
}

#[derive(Debug, Args)]
pub struct TagArgs {
    /// ECR repository name (resolved to this account's registry) or full repository URI.
    #[arg(long, value_name = "REPO")]
    pub image: Option<String>,
    /// Tag template; placeholders {sha} {sha7} {date} {run_number}
    /// {run_attempt} {ref_slug} {pr}.
    #[arg(long, value_name = "TEMPLATE")]
    pub image_tag_template: Option<String>,
    /// Attempts per AWS API call, the first included (1 to 10).
    #[arg(long, value_name = "N")]
    pub max_retries: Option<String>,
}

/// Booleans accept `--flag`, `--flag true` and `--flag false`, like the action's `true`/`false`.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Task definition file (JSON or YAML, with or without the `taskDefinition` wrapper).
    #[arg(long, value_name = "FILE")]
    pub task_definition: Option<String>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Container(s) whose image is replaced, comma-separated.
    #[arg(long, value_name = "NAMES")]
    pub container_name: Option<String>,
    /// Image reference(s) to write, comma-separated in the order of --container-name.
    #[arg(long, value_name = "REF")]
    pub image: Option<String>,
    /// imagedefinitions.json ([{"name","imageUri"}], as CodePipeline writes it) as the image source.
    #[arg(long, value_name = "FILE")]
    pub image_definitions: Option<String>,
    /// Environment variables to set in the named containers, one KEY=value per line.
    #[arg(long, value_name = "LINES")]
    pub environment_variables: Option<String>,
    /// Secrets to set in the named containers, one NAME=valueFrom (SSM/Secrets Manager ARN) per line.
    #[arg(long, value_name = "LINES")]
    pub secrets: Option<String>,
    /// Log driver to set in the named containers, e.g. awslogs.
    #[arg(long, value_name = "DRIVER")]
    pub log_configuration_log_driver: Option<String>,
    /// Log driver options, one KEY=value per line.
    #[arg(long, value_name = "LINES")]
    pub log_configuration_options: Option<String>,
    /// Docker labels to set in the named containers, one KEY=value per line.
    #[arg(long, value_name = "LINES")]
    pub docker_labels: Option<String>,
    /// AppSpec file (YAML or JSON) [default: appspec.yaml in the working directory, else generated
    /// from the service's load balancer].
    #[arg(long, value_name = "FILE")]
    pub codedeploy_appspec: Option<String>,
    /// Deployment config, e.g. CodeDeployDefault.ECSCanary10Percent5Minutes [default: the group's].
    #[arg(long, value_name = "NAME")]
    pub codedeploy_deployment_config: Option<String>,
    /// Deployment description (at most 512 characters).
    #[arg(long, value_name = "TEXT")]
    pub codedeploy_deployment_description: Option<String>,
    /// ECS-controller services: the number of tasks to run [default: the service's].
    #[arg(long, value_name = "N")]
    pub desired_count: Option<String>,
    /// ECS-controller services: SERVICE | TASK_DEFINITION | NONE [default: the service's].
    #[arg(long, value_name = "FROM")]
    pub propagate_tags: Option<String>,
    /// ECS-controller services: turn Amazon ECS managed tags on or off [default: the service's].
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub enable_ecs_managed_tags: Option<String>,
    /// YAML file listing several services (`services:` entries with the deploy inputs' names).
    #[arg(long, value_name = "FILE")]
    pub config: Option<String>,
    /// With --config: one service failing rolls the others back.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub all_or_nothing: Option<String>,
    /// A deployment already in flight: fail | wait | attach.
    #[arg(long, value_name = "WHAT")]
    pub on_conflict: Option<String>,
    /// none | ready | complete.
    #[arg(long, value_name = "WHEN")]
    pub wait_until: Option<String>,
    /// CodeDeploy: also wait out the original task set's termination wait.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub wait_for_service_stability: Option<String>,
    /// Minutes to wait before stopping the deployment, at most 360.
    #[arg(long, value_name = "MINUTES")]
    pub wait_for_minutes: Option<String>,
    /// The longest wait between two reads, in seconds (1 to 600) [default: 2 s backing off to 15 s].
    #[arg(long, value_name = "SECONDS")]
    pub wait_max_delay_seconds: Option<String>,
    /// Stop with rollback on timeout or cancellation.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub rollback_on_timeout: Option<String>,
    /// GitHub Deployment environment to record this deploy in, e.g. production [default: none].
    #[arg(long, value_name = "NAME")]
    pub environment: Option<String>,
    /// URL shown for the environment on GitHub.
    #[arg(long, value_name = "URL")]
    pub environment_url: Option<String>,

    /// Tags refused because they move between images, comma-separated.
    #[arg(long, value_name = "TAGS")]
    pub mutable_tags: Option<String>,
    /// Let task definition containers keep `latest` or untagged images.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub allow_mutable_images: Option<String>,
    /// Tags for the registered task definition revision, one KEY=value per line.
    #[arg(long, value_name = "LINES")]
    pub tags: Option<String>,
    /// Keys whose empty values stay in the task definition, comma-separated [default: none;
    /// other empty values are dropped, as the AWS deploy action drops them].
    #[arg(long, value_name = "KEYS")]
    pub keep_null_value_keys: Option<String>,
    /// Register a new revision even when it equals the live one.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub force_new_deployment: Option<String>,
    /// Gate on the ECR scan findings of the image digest.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub scan_gate: Option<String>,
    /// Most findings allowed per severity, e.g. CRITICAL=0,HIGH=0.
    #[arg(long, value_name = "LIST")]
    pub severity_thresholds: Option<String>,
    /// YAML list of findings to ignore: id, until (YYYY-MM-DD), reason.
    #[arg(long, value_name = "FILE")]
    pub scan_ignore_file: Option<String>,
    /// Count only findings with a fix available against the thresholds.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub scan_fixable_only: Option<String>,
    /// Minutes to wait for a scan to complete.
    #[arg(long, value_name = "MINUTES")]
    pub scan_wait_minutes: Option<String>,
    /// start | fail: what to do when the image has no scan.
    #[arg(long, value_name = "WHAT")]
    pub scan_on_missing: Option<String>,
    /// Write the findings as SARIF 2.1.0 to this file.
    #[arg(long, value_name = "FILE")]
    pub sarif_file: Option<String>,
    /// The task definition's taskRoleArn (an IAM role ARN).
    #[arg(long, value_name = "ARN")]
    pub task_role_arn: Option<String>,
    /// The task definition's executionRoleArn (an IAM role ARN).
    #[arg(long, value_name = "ARN")]
    pub execution_role_arn: Option<String>,
    /// S3 environment files (object ARNs ending in .env) for the named containers, one per line.
    #[arg(long, value_name = "LINES")]
    pub env_files: Option<String>,
    /// The named containers' command: words separated by spaces, or a JSON array of strings.
    #[arg(long, value_name = "COMMAND")]
    pub container_command: Option<String>,
    /// ECS-controller services: the configuredAtLaunch volume the EBS configuration is for.
    #[arg(long, value_name = "NAME")]
    pub service_managed_ebs_volume_name: Option<String>,
    /// ECS-controller services: the ServiceManagedEBSVolumeConfiguration, as JSON (roleArn required).
    #[arg(long, value_name = "JSON")]
    pub service_managed_ebs_volume: Option<String>,
    /// After a successful deploy, deregister the family's ACTIVE revisions beyond the N newest
    /// (1 to 1000) [default: keep all].
    #[arg(long, value_name = "N")]
    pub keep_task_definition_revisions: Option<String>,
    /// Run the new revision as a one-off task before the service is updated (`run` always does).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub run_task: Option<String>,
    /// The one-off task's container overrides: a JSON array of ECS ContainerOverride objects.
    #[arg(long, value_name = "JSON")]
    pub run_task_container_overrides: Option<String>,
    /// The one-off task's security groups, comma-separated [default: the service's, if named].
    #[arg(long, value_name = "IDS")]
    pub run_task_security_groups: Option<String>,
    /// The one-off task's subnets, comma-separated [default: the service's, if named].
    #[arg(long, value_name = "IDS")]
    pub run_task_subnets: Option<String>,
    /// ENABLED or DISABLED: a public IP for the one-off task (sent only with subnets or groups).
    #[arg(long, value_name = "ENABLED|DISABLED")]
    pub run_task_assign_public_ip: Option<String>,
    /// The one-off task's capacity provider strategy, a JSON array (replaces the launch type).
    #[arg(long, value_name = "JSON")]
    pub run_task_capacity_provider_strategy: Option<String>,
    /// The one-off task's launch type: FARGATE, EC2, EXTERNAL or MANAGED_INSTANCES.
    #[arg(long, value_name = "TYPE")]
    pub run_task_launch_type: Option<String>,
    /// The one-off task's startedBy.
    #[arg(long, value_name = "NAME")]
    pub run_task_started_by: Option<String>,
    /// The one-off task's tags, a JSON array of {"key", "value"}.
    #[arg(long, value_name = "JSON")]
    pub run_task_tags: Option<String>,
    /// The one-off task's configuredAtLaunch volume the EBS configuration is for.
    #[arg(long, value_name = "NAME")]
    pub run_task_managed_ebs_volume_name: Option<String>,
    /// The one-off task's TaskManagedEBSVolumeConfiguration, as JSON (roleArn required).
    #[arg(long, value_name = "JSON")]
    pub run_task_managed_ebs_volume: Option<String>,
    /// Watch the one-off task to STOPPED and fail on a non-zero exit (`run` waits unless false).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub wait_for_task_stopped: Option<String>,
    /// Lines of each failed container's log shown when a deploy fails (0 to 200; 0: none).
    #[arg(long, value_name = "N")]
    pub diagnose_log_lines: Option<String>,
    /// Check before any write that the roles, secrets, log groups and sidecar images the task
    /// definition references exist.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub verify: Option<String>,
}

/// The CLI as users see it: each flag's help ends with the default `INPUTS` declares for its
/// input, so a default is written in one place. The doc comments above give a default only
/// where the table has none (one that depends on the service, say).
pub fn command() -> clap::Command {
    let mut cli = Cli::command();
    for name in config::Command::ALL.iter().map(|c| c.name()) {
        cli = cli.mut_subcommand(name, with_table_defaults);
    }
    cli
}

/// The default shown for a flag: the table's, unless it is an expression only a workflow fills
/// in (`${{ github.token }}`).
fn shown_default(flag: &str) -> Option<&'static str> {
    config::default_of(flag).filter(|d| !d.contains("${{"))
}

fn with_table_defaults(sub: clap::Command) -> clap::Command {
    let flags: Vec<(String, &'static str)> = sub
        .get_arguments()
        .filter_map(|a| {
            let default = shown_default(a.get_long()?)?;
            Some((a.get_id().to_string(), default))
        })
        .collect();
    flags.into_iter().fold(sub, |sub, (id, default)| {
        sub.mut_arg(id, |arg| {
            let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
            arg.help(format!("{help} [default: {default}]"))
        })
    })
}

/// Turns a subcommand's matches into kebab-case inputs, plus `command`.
pub fn inputs_from_matches(command: &str, matches: &ArgMatches) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert("command".to_string(), command.to_string());
    for id in matches.ids() {
        if let Ok(Some(value)) = matches.try_get_one::<String>(id.as_str()) {
            let value = value.trim();
            if !value.is_empty() {
                out.insert(id.as_str().replace('_', "-"), value.to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Command, Config, INPUTS};

    fn cli_inputs(args: &[&str]) -> BTreeMap<String, String> {
        let matches = command().try_get_matches_from(args).unwrap();
        let (name, sub) = matches.subcommand().unwrap();
        inputs_from_matches(name, sub)
    }

    #[test]
    fn flags_and_env_give_the_same_config() {
        let from_cli = cli_inputs(&[
            "greenlight",
            "deploy",
            "--task-definition",
            "td.json",
            "--service",
            "web",
            "--cluster",
            "prod",
            "--container-name",
            "web",
            "--image",
            "repo/web:1",
            "--wait-until",
            "ready",
            "--rollback-on-timeout",
            "false",
            "--wait-for-service-stability",
        ]);
        let env = vec![
            ("INPUT_COMMAND", "deploy"),
            ("INPUT_TASK-DEFINITION", "td.json"),
            ("INPUT_SERVICE", "web"),
            ("INPUT_CLUSTER", "prod"),
            ("INPUT_CONTAINER-NAME", "web"),
            ("INPUT_IMAGE", "repo/web:1"),
            ("INPUT_WAIT-UNTIL", "ready"),
            ("INPUT_ROLLBACK-ON-TIMEOUT", "false"),
            ("INPUT_WAIT-FOR-SERVICE-STABILITY", "true"),
            ("INPUT_CODEDEPLOY-APPSPEC", ""),
        ];
        let from_env = crate::gha::inputs_from_env(
            env.into_iter().map(|(k, v)| (k.to_string(), v.to_string())),
        );
        assert_eq!(from_cli, from_env);
        assert_eq!(
            Config::from_inputs(&from_cli).unwrap(),
            Config::from_inputs(&from_env).unwrap()
        );
    }

    #[test]
    fn each_command_has_a_flag_for_exactly_its_inputs() {
        let cmd = command();
        for &command in Command::ALL {
            let sub = cmd.find_subcommand(command.name()).unwrap();
            let mut flags: Vec<&str> = sub
                .get_arguments()
                .filter_map(|a| a.get_long())
                .filter(|l| *l != "help")
                .collect();
            let mut inputs: Vec<&str> = INPUTS
                .iter()
                .filter(|i| i.name != "command" && i.commands.contains(&command))
                .map(|i| i.name)
                .collect();
            flags.sort_unstable();
            inputs.sort_unstable();
            assert_eq!(flags, inputs, "{}", command.name());
        }
    }

    /// The help shows the table's default for every flag that has one, and no flag's own text
    /// restates (or contradicts) it.
    #[test]
    fn flag_defaults_come_from_the_inputs_table() {
        let written = Cli::command();
        let shown = command();
        for command in Command::ALL {
            let own = written.find_subcommand(command.name()).unwrap();
            let sub = shown.find_subcommand(command.name()).unwrap();
            for arg in sub.get_arguments() {
                let Some(long) = arg.get_long().filter(|l| *l != "help") else {
                    continue;
                };
                let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
                let own_help = own
                    .get_arguments()
                    .find(|a| a.get_long() == Some(long))
                    .and_then(|a| a.get_help())
                    .map(ToString::to_string)
                    .unwrap_or_default();
                match shown_default(long) {
                    Some(default) => {
                        assert!(
                            help.ends_with(&format!("[default: {default}]")),
                            "--{long}: {help}"
                        );
                        assert!(
                            !own_help.contains("[default:"),
                            "--{long} restates its default in its doc comment: {own_help}"
                        );
                    }
                    None => assert_eq!(help, own_help, "--{long}"),
                }
            }
        }
        let help = shown
            .find_subcommand("deploy")
            .unwrap()
            .get_arguments()
            .find(|a| a.get_long() == Some("wait-for-minutes"))
            .and_then(|a| a.get_help())
            .unwrap()
            .to_string();
        assert_eq!(
            help,
            "Minutes to wait before stopping the deployment, at most 360 [default: 30]"
        );
    }

    #[test]
    fn unknown_flag_is_a_usage_error() {
        let err = command()
            .try_get_matches_from(["greenlight", "deploy", "--servce", "web"])
            .unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("--service"), "{err}");
    }
}
