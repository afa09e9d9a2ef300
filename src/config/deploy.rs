//! `deploy` and `plan`: the task definition, the images and what is rendered into the
//! containers, the service and its CodeDeploy names, and how to wait.

use std::path::PathBuf;

use super::gate::{GateConfig, gate_config};
use super::inputs::{Inputs, check_name};
use crate::error::{Error, Result};

/// The longest wait the AWS action allows; kept so migrated workflows behave the same.
pub const MAX_WAIT_MINUTES: u32 = 360;
const DESCRIPTION_LIMIT: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitUntil {
    /// Return as soon as the deployment is created.
    None,
    /// Return when the replacement serves test traffic and waits for ContinueDeployment.
    Ready,
    /// Return at the terminal state.
    Complete,
}

/// Overrides written into the named containers, like amazon-ecs-render-task-definition.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Render {
    pub environment: Vec<(String, String)>,
    /// Name → `valueFrom` (an SSM parameter or Secrets Manager ARN, or a parameter name).
    pub secrets: Vec<(String, String)>,
    pub log_driver: Option<String>,
    pub log_options: Vec<(String, String)>,
    pub docker_labels: Vec<(String, String)>,
    /// S3 object ARNs for the containers' `environmentFiles` (`env-files`).
    pub env_files: Vec<String>,
    /// The containers' `command` (`container-command`).
    pub command: Option<Vec<String>>,
    /// The task definition's `taskRoleArn` and `executionRoleArn`: task-level, so they need no
    /// container to go into.
    pub task_role_arn: Option<String>,
    pub execution_role_arn: Option<String>,
}

impl Render {
    pub fn is_empty(&self) -> bool {
        self == &Render::default()
    }

    /// Nothing to write into a container (the role ARNs may still be set).
    pub fn containers_untouched(&self) -> bool {
        self == &Render {
            task_role_arn: self.task_role_arn.clone(),
            execution_role_arn: self.execution_role_arn.clone(),
            ..Render::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployConfig {
    pub gate: GateConfig,
    pub task_definition: PathBuf,
    /// Empty when no service is deployed to (`deploy` without `service`, `run` without one).
    pub service: String,
    pub cluster: String,
    /// Containers whose image is replaced, each paired with its image.
    pub images: Vec<(String, String)>,
    /// The image when no container is named: applies to the only container.
    pub sole_image: Option<String>,
    /// `imagedefinitions.json` (CodePipeline's format) as the image source.
    pub image_definitions: Option<PathBuf>,
    /// Containers named in `container-name`: where the render options apply.
    pub containers: Vec<String>,
    pub render: Render,
    /// Lets containers keep `latest`/untagged images (sidecars the gate does not cover).
    pub allow_mutable_images: bool,
    /// Keys whose empty values stay in the task definition (`keep-null-value-keys`); other
    /// empty values are dropped, as the AWS deploy action drops them.
    pub keep_empty: Vec<String>,
    /// Tags for the registered revision, on top of the file's own `tags`.
    pub tags: Vec<(String, String)>,
    /// Register a new revision even when it equals the live one.
    pub force_new_deployment: bool,
    pub appspec: Option<PathBuf>,
    pub application: String,
    pub deployment_group: String,
    pub deployment_config: Option<String>,
    pub description: Option<String>,
    pub wait_until: WaitUntil,
    pub wait_minutes: u32,
    /// The longest wait between two reads while waiting (`wait-max-delay-seconds`).
    pub poll_max: Option<std::time::Duration>,
    pub rollback_on_timeout: bool,
    /// CodeDeploy: also wait out the original task set's termination wait.
    pub wait_for_stability: bool,
    /// What to do when a deployment is already in flight for the service.
    pub on_conflict: OnConflict,
    /// ECS-controller services: UpdateService's desiredCount, propagateTags and
    /// enableECSManagedTags (CodeDeploy owns these for CODE_DEPLOY services).
    pub desired_count: Option<i32>,
    pub propagate_tags: Option<String>,
    pub enable_ecs_managed_tags: Option<bool>,
    /// ECS-controller services: UpdateService's `volumeConfigurations`.
    pub volume: Option<super::ServiceVolume>,
    /// After a deploy that succeeded, deregister the family's ACTIVE revisions beyond the N
    /// newest (`keep-task-definition-revisions`).
    pub keep_revisions: Option<u32>,
    /// Run the new revision as a one-off task before the service is updated (`run-task`, and
    /// the `run` command).
    pub run_task: Option<super::RunTask>,
    /// Lines of each failed container's log the diagnosis of a failed deploy shows (0: none).
    pub diagnose_log_lines: u32,
    /// Check before any write that what the task definition references exists (`verify`).
    pub verify: bool,
}

/// When another deployment of the same service is in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConflict {
    /// Refuse, naming it (the default: two deployments would fight over the traffic).
    Fail,
    /// Wait for it to end (bounded by `wait-for-minutes`), then deploy.
    Wait,
    /// Follow it instead of starting another, when it deploys this very image.
    Attach,
}

/// Cluster, service, CodeDeploy application and group (defaults as the ECS console names them).
pub(super) fn target(
    inputs: Inputs<'_>,
    command: &str,
) -> Result<(String, String, String, String)> {
    let service = inputs.required("service", "the name of the ECS service", command)?;
    let cluster = inputs.string("cluster").unwrap_or_default();
    check_name("service", &service)?;
    check_name("cluster", &cluster)?;
    let application = inputs
        .string("codedeploy-application")
        .unwrap_or_else(|| format!("AppECS-{cluster}-{service}"));
    let deployment_group = inputs
        .string("codedeploy-deployment-group")
        .unwrap_or_else(|| format!("DgpECS-{cluster}-{service}"));
    Ok((cluster, service, application, deployment_group))
}

/// The most `wait-max-delay-seconds` may be: a read at least every ten minutes.
pub const MAX_POLL_DELAY_SECONDS: u64 = 600;

/// `wait-max-delay-seconds`: the AWS action's cap on the delay between two polls.
pub(super) fn poll_max(inputs: Inputs<'_>) -> Result<Option<std::time::Duration>> {
    let name = "wait-max-delay-seconds";
    inputs
        .get(name)
        .map(|value| match value.parse::<u64>() {
            Ok(secs) if (1..=MAX_POLL_DELAY_SECONDS).contains(&secs) => {
                Ok(std::time::Duration::from_secs(secs))
            }
            _ => Err(Error::input(
                name,
                format!(
                    "`{value}` is not a whole number of seconds from 1 to {MAX_POLL_DELAY_SECONDS}"
                ),
                "give a number like `15`, or leave it out for greenlight's own 2 s to 15 s backoff",
            )),
        })
        .transpose()
}

/// The most `diagnose-log-lines` may be: a report, not the log archive.
pub const MAX_DIAGNOSE_LOG_LINES: u32 = 200;

fn diagnose_log_lines(inputs: Inputs<'_>) -> Result<u32> {
    let name = "diagnose-log-lines";
    let value = inputs.get(name).unwrap_or_default();
    match value.parse::<u32>() {
        Ok(n) if n <= MAX_DIAGNOSE_LOG_LINES => Ok(n),
        _ => Err(Error::input(
            name,
            format!("`{value}` is not a whole number of lines from 0 to {MAX_DIAGNOSE_LOG_LINES}"),
            "give a number like `20`, or `0` to show no log lines",
        )),
    }
}

/// `wait-for-minutes`, capped as the AWS action caps it.
pub(super) fn wait_minutes(inputs: Inputs<'_>, warnings: &mut Vec<String>) -> Result<u32> {
    let minutes = inputs.minutes("wait-for-minutes")?;
    if minutes == 0 {
        return Err(Error::input(
            "wait-for-minutes",
            "0 minutes leaves no time to deploy",
            "give at least 1, or use `wait-until: none` to return right after the start",
        ));
    }
    if minutes > MAX_WAIT_MINUTES {
        warnings.push(format!(
            "wait-for-minutes {minutes} is above the maximum; waiting {MAX_WAIT_MINUTES} minutes"
        ));
        return Ok(MAX_WAIT_MINUTES);
    }
    Ok(minutes)
}

/// The deploy settings `command` reads. Without `needs_service`, `service` may be left out:
/// the revision is then registered (and run as a one-off task when asked), nothing deployed.
pub(super) fn deploy_config(
    inputs: Inputs<'_>,
    command: super::Command,
    needs_service: bool,
    warnings: &mut Vec<String>,
) -> Result<DeployConfig> {
    let task_definition = inputs.required(
        "task-definition",
        "the path to your task definition JSON or YAML file, e.g. `task-definition: taskdef.json`",
        "deploy",
    )?;
    let (cluster, service, application, deployment_group) =
        if needs_service || inputs.given("service") {
            target(inputs, command.name())?
        } else {
            let cluster = inputs.string("cluster").unwrap_or_default();
            check_name("cluster", &cluster)?;
            (cluster, String::new(), String::new(), String::new())
        };

    let containers = inputs.list("container-name");
    for (i, c) in containers.iter().enumerate() {
        if containers[..i].contains(c) {
            return Err(Error::input(
                "container-name",
                format!("names container `{c}` twice"),
                "name each container once (with its image in the same position in `image`)",
            ));
        }
    }
    let containers_named = containers.clone();
    let image_list = inputs.list("image");
    let (images, sole_image) = match (containers.len(), image_list.len()) {
        (0, 0) => (Vec::new(), None),
        (0, 1) => (Vec::new(), image_list.into_iter().next()),
        (0, _) => {
            return Err(Error::input(
                "image",
                "several images were given but no `container-name`",
                "name the containers in `container-name`, in the same order as the images",
            ));
        }
        (_, 0) => {
            return Err(Error::input(
                "container-name",
                "a container is named but no `image` is given for it",
                "set `image` to the reference to deploy, or drop `container-name`",
            ));
        }
        (n, 1) if n > 1 => {
            return Err(Error::input(
                "image",
                format!("{n} containers are named but only one image is given"),
                "give one image per container, comma-separated, in the same order",
            ));
        }
        (n, m) if n != m => {
            return Err(Error::input(
                "image",
                format!("{m} images for {n} containers"),
                "give exactly one image per container named in `container-name`",
            ));
        }
        _ => (containers.into_iter().zip(image_list).collect(), None),
    };
    for (_, image) in images
        .iter()
        .map(|(c, i)| (c, i))
        .chain(sole_image.iter().map(|i| (i, i)))
    {
        if image.contains(char::is_whitespace) {
            return Err(Error::input(
                "image",
                format!("`{image}` contains whitespace"),
                "give a reference like `123456789012.dkr.ecr.us-east-1.amazonaws.com/web:20261123120000-abc1234`",
            ));
        }
        // Checked here, so the message names this input rather than the task definition file
        // the image would otherwise be rendered into first.
        if let Err(e) = crate::stages::image::ImageRef::parse(image) {
            return Err(Error::input(
                "image",
                e.to_string(),
                "give a reference like `123456789012.dkr.ecr.us-east-1.amazonaws.com/web:20261123120000-abc1234`",
            ));
        }
    }

    let description = inputs.get("codedeploy-deployment-description").map(|d| {
        if d.chars().count() > DESCRIPTION_LIMIT {
            warnings.push(format!(
                "codedeploy-deployment-description is longer than {DESCRIPTION_LIMIT} characters; it was cut to fit CodeDeploy's limit"
            ));
            d.chars().take(DESCRIPTION_LIMIT).collect()
        } else {
            d.to_string()
        }
    });

    let wait_until = inputs.choice(
        "wait-until",
        &[
            ("none", WaitUntil::None),
            ("ready", WaitUntil::Ready),
            ("complete", WaitUntil::Complete),
        ],
        "use `none` (return after start), `ready` (return when test traffic is served) or `complete` (the default)",
    )?;
    let stability = inputs.flag("wait-for-service-stability")?;
    if stability && wait_until == WaitUntil::None && inputs.given("wait-until") {
        return Err(Error::input(
            "wait-until",
            "`wait-until: none` contradicts `wait-for-service-stability: true`",
            "drop one of the two; `wait-until: complete` is what `wait-for-service-stability: true` means",
        ));
    }

    let wait_minutes = wait_minutes(inputs, warnings)?;
    let rollback_on_timeout = inputs.flag("rollback-on-timeout")?;

    let render = Render {
        environment: inputs.pairs("environment-variables")?,
        secrets: inputs.pairs("secrets")?,
        log_driver: inputs.string("log-configuration-log-driver"),
        log_options: inputs.pairs("log-configuration-options")?,
        docker_labels: inputs.pairs("docker-labels")?,
        env_files: super::extras::env_files(inputs)?,
        command: super::extras::container_command(inputs)?,
        task_role_arn: super::extras::role_arn(inputs, "task-role-arn")?,
        execution_role_arn: super::extras::role_arn(inputs, "execution-role-arn")?,
    };
    for (name, from) in &render.secrets {
        if let Some(problem) = crate::stages::task_def::refs::secret_reference_problem(from) {
            return Err(Error::input(
                "secrets",
                format!("the `valueFrom` of `{name}` {problem}"),
                "write one NAME=valueFrom per line; the secret's value itself never goes here",
            ));
        }
    }
    if !render.log_options.is_empty() && render.log_driver.is_none() {
        return Err(Error::input(
            "log-configuration-options",
            "options are given without `log-configuration-log-driver`",
            "set the log driver too, e.g. `awslogs`",
        ));
    }
    let image_definitions = inputs.path("image-definitions");
    if image_definitions.is_some() && (sole_image.is_some() || !images.is_empty()) {
        return Err(Error::input(
            "image-definitions",
            "both `image` and `image-definitions` name the images",
            "use one image source",
        ));
    }
    if !containers_named.is_empty()
        && images.is_empty()
        && render.is_empty()
        && image_definitions.is_none()
    {
        return Err(Error::input(
            "container-name",
            "a container is named but nothing is given to change in it",
            "set `image` (or environment-variables, secrets, docker-labels, env-files, container-command …), or drop `container-name`",
        ));
    }
    Ok(DeployConfig {
        tags: inputs.pairs("tags")?,
        keep_empty: inputs.list("keep-null-value-keys"),
        force_new_deployment: inputs.flag("force-new-deployment")?,
        allow_mutable_images: inputs.flag("allow-mutable-images")?,
        image_definitions,
        containers: containers_named,
        render,
        gate: gate_config(inputs)?,
        task_definition: PathBuf::from(task_definition),
        service,
        cluster,
        images,
        sole_image,
        appspec: inputs.path("codedeploy-appspec"),
        application,
        deployment_group,
        deployment_config: inputs.string("codedeploy-deployment-config"),
        description,
        wait_until,
        wait_minutes,
        poll_max: poll_max(inputs)?,
        rollback_on_timeout,
        wait_for_stability: stability,
        on_conflict: inputs.choice(
            "on-conflict",
            &[
                ("fail", OnConflict::Fail),
                ("wait", OnConflict::Wait),
                ("attach", OnConflict::Attach),
            ],
            "use `fail` (refuse), `wait` (wait for the deployment in flight to end) or `attach` (follow it when it deploys this image)",
        )?,
        desired_count: inputs
            .get("desired-count")
            .map(|v| {
                v.parse::<i32>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                    Error::input(
                        "desired-count",
                        format!("`{v}` is not a whole number of tasks"),
                        "give a number like `2`, or leave it out to keep the service's count",
                    )
                })
            })
            .transpose()?,
        propagate_tags: inputs
            .opt_choice(
                "propagate-tags",
                &[
                    ("SERVICE", "SERVICE"),
                    ("TASK_DEFINITION", "TASK_DEFINITION"),
                    ("NONE", "NONE"),
                ],
                "use the exact upper-case value ECS expects",
            )?
            .map(str::to_string),
        enable_ecs_managed_tags: inputs.opt_flag("enable-ecs-managed-tags")?,
        volume: super::extras::service_volume(inputs, warnings)?,
        keep_revisions: super::extras::keep_revisions(inputs)?,
        run_task: super::run_task::run_task(inputs, command == super::Command::Run, warnings)?,
        diagnose_log_lines: diagnose_log_lines(inputs)?,
        verify: inputs.flag("verify")?,
    })
}
