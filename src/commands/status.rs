//! `status`: reads only.

use crate::aws;
use crate::config::{self};
use crate::controllers::{self, Controller};
use crate::error::Result;
use crate::event::{Event, Progress};
use crate::outputs::Outputs;
use crate::stages::task_def;

/// `status`: the service's controller, live revision and images, and the deployment in flight
/// with its traffic split. Reads only.
pub async fn status(
    v: &config::VerbConfig,
    settings: aws::Settings,
    progress: &Progress,
    outputs: &mut Outputs,
) -> Result<u8> {
    let clients = aws::Clients::from_env(settings).await?;
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
    // EXTERNAL: nothing more greenlight can read of its deployments.
    if let Some(controller) = Controller::of(&service) {
        rows.extend(
            controller
                .status_rows(&clients, v, &service, outputs)
                .await?,
        );
    }
    for (k, val) in &rows {
        progress.emit(Event::Info(format!("{k}: {val}")));
    }
    progress.emit(Event::ServiceState { rows });
    Ok(0)
}
