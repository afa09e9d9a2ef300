//! `status`: reads only.

use crate::aws;
use crate::config::{self};
use crate::controllers::{self, Controller, codedeploy};
use crate::error::{Error, Result};
use crate::event::{Event, Progress};
use crate::outputs::Outputs;
use crate::stages::task_def;

/// `status`: the service's controller, live revision and images, and the deployment in flight
/// with its traffic split. Reads only.
pub async fn status(
    v: &config::VerbConfig,
    progress: &Progress,
    outputs: &mut Outputs,
) -> Result<u8> {
    let clients = aws::Clients::from_env().await?;
    let service = controllers::describe_service(&clients, &v.cluster, &v.service).await?;
    let mut rows = vec![(
        "Controller".to_string(),
        format!("{:?}", service.controller),
    )];
    if let Some(arn) = &service.task_definition {
        outputs.insert("task-definition-arn", arn.clone());
        let name = arn.rsplit('/').next().unwrap_or(arn);
        rows.push(("Task definition".into(), format!("`{name}`")));
        if let Ok((_, live)) = task_def::describe_live(&clients, arn).await {
            for c in live
                .get("containerDefinitions")
                .and_then(serde_json::Value::as_array)
                .into_iter()
                .flatten()
            {
                let cname = c
                    .get("name")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("?");
                let image = c
                    .get("image")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("?");
                rows.push((format!("Container `{cname}`"), format!("`{image}`")));
            }
        }
    }
    if service.controller == Controller::CodeDeploy {
        match codedeploy::find_deployment(&clients, v).await {
            Ok(id) => {
                let snap = codedeploy::read(&clients, &id, &mut None).await?;
                outputs.insert("codedeploy-deployment-id", id.clone());
                outputs.insert("deployment-status", snap.status.clone());
                let traffic = snap
                    .traffic
                    .map(|(g, b)| format!(" · green {g:.0}% / blue {b:.0}%"))
                    .unwrap_or_default();
                rows.push((
                    "In flight".into(),
                    format!("`{id}` {}{traffic}", snap.status),
                ));
            }
            Err(Error::State { problem, .. }) => rows.push(("In flight".into(), problem)),
            Err(e) => return Err(e),
        }
    }
    if service.controller == Controller::Ecs {
        rows.push(("Strategy".into(), service.strategy.name()));
        let flight = match controllers::ecs::in_flight(&service.deployments) {
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
        rows.push(("In flight".into(), flight));
    }
    for (k, val) in &rows {
        progress.emit(Event::Info(format!("{k}: {val}")));
    }
    progress.emit(Event::ServiceState { rows });
    Ok(0)
}
