//! `promote`, `abort`, `rollback` and `status`: which service, which deployment, how long to
//! follow it.

use std::collections::BTreeMap;

use super::deploy::{DeployConfig, deploy_config, poll_max, target, wait_minutes};
use super::inputs::Inputs;
use crate::error::{Error, Result};

/// What the operator verbs need: which service, which deployment, how long to follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerbConfig {
    pub cluster: String,
    pub service: String,
    pub application: String,
    pub deployment_group: String,
    /// Absent: the one deployment in flight for the service.
    pub deployment_id: Option<String>,
    /// `rollback`: the task definition to go back to (`family:revision` or ARN); absent: the
    /// revision the service ran before the last deployment.
    pub to: Option<String>,
    pub wait_minutes: u32,
    /// The longest wait between two reads while following (`wait-max-delay-seconds`).
    pub poll_max: Option<std::time::Duration>,
    pub rollback_on_timeout: bool,
    /// `abort`/`rollback`: stop CodeDeploy's own rollback deployment named by `deployment-id`
    /// instead of waiting for it.
    pub force_stop_rollback: bool,
}

impl VerbConfig {
    /// The deploy that puts `task_definition` (a registered revision) back on the service:
    /// the same service and CodeDeploy names, no gate (the revision ran before), deployed as
    /// it is.
    pub fn redeploy(&self, task_definition: &str) -> Result<DeployConfig> {
        // Only what a deploy requires goes in as text; everything this verb already holds
        // typed is set on the result, so nothing is printed and parsed back.
        let raw: BTreeMap<String, String> = [
            ("task-definition", task_definition),
            ("service", self.service.as_str()),
            ("cluster", self.cluster.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let mut d = deploy_config(
            Inputs::new(&raw),
            super::Command::Deploy,
            true,
            &mut Vec::new(),
        )?;
        d.application = self.application.clone();
        d.deployment_group = self.deployment_group.clone();
        d.gate.enabled = false;
        d.force_new_deployment = true;
        d.wait_minutes = self.wait_minutes;
        d.poll_max = self.poll_max;
        d.rollback_on_timeout = self.rollback_on_timeout;
        d.description = Some(format!("greenlight rollback to {task_definition}"));
        Ok(d)
    }
}

fn is_codedeploy_id(id: &str) -> bool {
    id.starts_with("d-") && id.len() == 11 && id[2..].bytes().all(|b| b.is_ascii_alphanumeric())
}

fn is_ecs_id(id: &str) -> bool {
    id.strip_prefix("ecs-svc/")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        || (id.starts_with("arn:") && id.contains(":service-deployment/"))
}

pub(super) fn verb_config(
    inputs: Inputs<'_>,
    command: &str,
    warnings: &mut Vec<String>,
) -> Result<VerbConfig> {
    let (cluster, service, application, deployment_group) = target(inputs, command)?;
    let deployment_id = inputs.string("deployment-id");
    if let Some(id) = &deployment_id
        && !is_codedeploy_id(id)
        && !is_ecs_id(id)
    {
        return Err(Error::input(
            "deployment-id",
            format!("`{id}` is neither a CodeDeploy nor an ECS deployment id"),
            "give an id like `d-7XK2M1QZB`, `ecs-svc/1234567890123456789` or a service-deployment ARN, or leave it out to act on the deployment in flight",
        ));
    }
    let force_stop_rollback = inputs.flag("force-stop-rollback")?;
    if force_stop_rollback && deployment_id.is_none() {
        return Err(Error::input(
            "force-stop-rollback",
            "`force-stop-rollback: true` needs the rollback deployment named with `deployment-id`",
            "set `deployment-id` to the id of CodeDeploy's rollback deployment to stop it, or leave `force-stop-rollback` out to wait for it",
        ));
    }
    Ok(VerbConfig {
        force_stop_rollback,
        cluster,
        service,
        application,
        deployment_group,
        deployment_id,
        to: inputs.string("to"),
        wait_minutes: wait_minutes(inputs, warnings)?,
        poll_max: poll_max(inputs)?,
        rollback_on_timeout: inputs.flag("rollback-on-timeout")?,
    })
}
