//! The operator verbs' reads shared by both ECS strategies: what is in flight, what `rollback`
//! would go back to, and the `status` rows.

use super::*;
use crate::config::VerbConfig;
use crate::controllers::standing::same_revision;
use crate::controllers::{ServiceInfo, Undone};
use crate::outputs::Outputs;

/// Whether a deployment of the service is in flight.
pub fn any_in_flight(service: &ServiceInfo) -> bool {
    in_flight(&service.deployments).is_some()
}

/// The service's last deployment when it did not go through and something undid it.
pub async fn undone(clients: &Clients, v: &VerbConfig, live: &str) -> Result<Option<Undone>> {
    let recent = last_deployments(clients, &v.cluster, &v.service).await?;
    Ok(match recent.as_slice() {
        // A native stop with rollback: the deployment itself ended ROLLBACK_*.
        [last, ..] if last.status != "SUCCESSFUL" => last.target.clone().map(|td| Undone {
            id: last.arn.clone(),
            task_definition: td,
            status: last.status.clone(),
            by: None,
        }),
        // A rolling abort: a deployment back to the revision a stopped one replaced.
        [undo, last, ..]
            if last.status != "SUCCESSFUL"
                && undo
                    .target
                    .as_deref()
                    .is_some_and(|t| same_revision(live, t))
                && undo.source.is_some()
                && undo.source == last.target =>
        {
            last.target.clone().map(|td| Undone {
                id: last.arn.clone(),
                task_definition: td,
                status: last.status.clone(),
                by: Some(format!("undone by {}", undo.arn)),
            })
        }
        _ => None,
    })
}

/// What ran before `live`, from the service-deployment history.
pub async fn previous(clients: &Clients, v: &VerbConfig, live: &str) -> Result<Option<String>> {
    Ok(previous_task_definition(clients, &v.cluster, &v.service)
        .await?
        .filter(|td| td != live))
}

/// `status`: the strategy and the deployment in flight with its task counts.
pub fn status_rows(
    v: &VerbConfig,
    service: &ServiceInfo,
    outputs: &mut Outputs,
) -> Vec<(String, String)> {
    let flight = match in_flight(&service.deployments) {
        Some(d) => {
            outputs.insert("deployment-id", d.id.clone());
            outputs.insert(
                "deployment-status",
                d.rollout_state
                    .clone()
                    .unwrap_or_else(|| "IN_PROGRESS".into()),
            );
            format!(
                "`{}` {} · {}/{} tasks running",
                d.id,
                d.rollout_state.as_deref().unwrap_or("?"),
                d.running,
                d.desired
            )
        }
        None => format!("no deployment is in flight for {}/{}", v.cluster, v.service),
    };
    vec![
        ("Strategy".into(), service.strategy.name()),
        ("In flight".into(), flight),
    ]
}
