//! The CLI front door. Flags mirror the action inputs one to one (`--cluster` = `cluster`), and
//! are turned into the same input map the action reads from `INPUT_*`, so `Config` has a single
//! parser for both.

use std::collections::BTreeMap;

use clap::{ArgMatches, Args, Parser, Subcommand};

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

#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Register the task definition and deploy it to the service, watching to the end.
    Deploy(DeployArgs),
}

/// Booleans accept `--flag`, `--flag true` and `--flag false`, like the action's `true`/`false`.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Task definition file (JSON or YAML, with or without the `taskDefinition` wrapper).
    #[arg(long, value_name = "FILE")]
    pub task_definition: Option<String>,
    /// ECS service to deploy to.
    #[arg(long)]
    pub service: Option<String>,
    /// ECS cluster [default: default].
    #[arg(long)]
    pub cluster: Option<String>,
    /// Container(s) whose image is replaced, comma-separated.
    #[arg(long, value_name = "NAMES")]
    pub container_name: Option<String>,
    /// Image reference(s) to write, comma-separated in the order of --container-name.
    #[arg(long, value_name = "REF")]
    pub image: Option<String>,
    /// AppSpec file (YAML or JSON) [default: generated from the service's load balancer].
    #[arg(long, value_name = "FILE")]
    pub codedeploy_appspec: Option<String>,
    /// CodeDeploy application [default: AppECS-{cluster}-{service}].
    #[arg(long)]
    pub codedeploy_application: Option<String>,
    /// CodeDeploy deployment group [default: DgpECS-{cluster}-{service}].
    #[arg(long)]
    pub codedeploy_deployment_group: Option<String>,
    /// Deployment config, e.g. CodeDeployDefault.ECSCanary10Percent5Minutes [default: the group's].
    #[arg(long, value_name = "NAME")]
    pub codedeploy_deployment_config: Option<String>,
    /// Deployment description (at most 512 characters).
    #[arg(long, value_name = "TEXT")]
    pub codedeploy_deployment_description: Option<String>,
    /// none | ready | complete [default: complete].
    #[arg(long, value_name = "WHEN")]
    pub wait_until: Option<String>,
    /// Same as --wait-until complete (kept for aws-actions/amazon-ecs-deploy-task-definition users).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub wait_for_service_stability: Option<String>,
    /// Minutes to wait before stopping the deployment [default: 30, max 360].
    #[arg(long, value_name = "MINUTES")]
    pub wait_for_minutes: Option<String>,
    /// Stop with rollback on timeout or cancellation [default: true].
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub rollback_on_timeout: Option<String>,
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
    use crate::config::{Config, INPUTS};
    use clap::CommandFactory;

    fn cli_inputs(args: &[&str]) -> BTreeMap<String, String> {
        let matches = Cli::command().try_get_matches_from(args).unwrap();
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
    fn every_input_has_a_flag() {
        let cmd = Cli::command();
        let deploy = cmd.find_subcommand("deploy").unwrap();
        for input in INPUTS.iter().filter(|i| i.name != "command") {
            assert!(
                deploy
                    .get_arguments()
                    .any(|a| a.get_long() == Some(input.name)),
                "input `{}` has no --{} flag",
                input.name,
                input.name
            );
        }
    }

    #[test]
    fn unknown_flag_is_a_usage_error() {
        let err = Cli::command()
            .try_get_matches_from(["greenlight", "deploy", "--servce", "web"])
            .unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("--service"), "{err}");
    }
}
