//! `rollback`: a deployment in flight is stopped with rollback; otherwise the revision the
//! service ran before (or `to`) is deployed through the same controller, reported like any
//! deploy and gated by nothing.

use std::future::Future;

use crate::aws;
use crate::config::VerbConfig;
use crate::controllers::standing::{same_revision, short};
use crate::controllers::{Controller, describe_service};
use crate::error::{Error, Result};
use crate::event::{Event, Progress};
use crate::outputs::Outputs;
use crate::stages::task_def;

use super::promote::EXTERNAL_FIX;

pub async fn rollback(
    v: &VerbConfig,
    settings: aws::Settings,
    progress: &Progress,
    outputs: &mut Outputs,
    cancel: impl Future<Output = String>,
) -> Result<u8> {
    let clients = aws::Clients::from_env(settings).await?;
    let service = describe_service(&clients, &v.cluster, &v.service).await?;
    let controller = Controller::require(&service, &v.service, EXTERNAL_FIX)?;
    let in_flight = controller.any_in_flight(&clients, v, &service).await?;
    if in_flight && v.to.is_none() {
        progress.emit(Event::Info(
            "a deployment is in flight: stopping it with rollback".into(),
        ));
        let end = controller
            .abort(&clients, v, &service, progress, outputs)
            .await?;
        outputs.insert("deployment-status", end.status);
        return Ok(end.exit_code);
    }
    let live = service.task_definition.clone().unwrap_or_default();
    if v.to.is_none()
        && let Some(why) = nothing_to_go_back_to(&clients, v, controller, &live).await?
    {
        progress.emit(Event::Info(why));
        outputs.insert("deployment-status", "Unchanged".to_string());
        return Ok(0);
    }
    let target = match &v.to {
        Some(to) => to.clone(),
        None => previous(&clients, v, controller, &live, progress)
            .await?
            .ok_or_else(|| {
                Error::state(
                    format!(
                        "no revision before {} was found for {}/{}",
                        live, v.cluster, v.service
                    ),
                    "name the revision to go back to with `to` (family:revision or ARN)",
                )
            })?,
    };
    progress.emit(Event::Info(format!(
        "rolling back {}/{}: {} → {}",
        v.cluster,
        v.service,
        short(&live),
        short(&target)
    )));
    let d = v.redeploy(&target)?;
    // A rollback keeps every revision (`keep-task-definition-revisions` is not one of its
    // inputs), so it leaves nothing for afterwards.
    let mut afterwards = crate::Afterwards::new();
    super::deploy::deploy(
        &d,
        false,
        settings,
        progress,
        outputs,
        &mut afterwards,
        cancel,
    )
    .await
}

/// Why there is nothing to roll back when the service's last deployment did not go through and
/// the service runs the revision it ran before it (after an abort, say); `None` otherwise.
async fn nothing_to_go_back_to(
    clients: &aws::Clients,
    v: &VerbConfig,
    controller: Controller,
    live: &str,
) -> Result<Option<String>> {
    let (c, s) = (&v.cluster, &v.service);
    let Some(undone) = controller.undone(clients, v, live).await? else {
        return Ok(None);
    };
    if same_revision(live, &undone.task_definition) {
        return Ok(None);
    }
    let how = undone
        .by
        .map(|b| format!(" and was {b}"))
        .unwrap_or_default();
    Ok(Some(format!(
        "{c}/{s} runs {}: its last deployment {} (of {}) ended {}{how}, so the service already runs the revision it ran before that deployment; there is nothing to go back to, and nothing was changed (name an older revision with `to` to go further back)",
        short(live),
        undone.id,
        short(&undone.task_definition),
        undone.status,
    )))
}

/// What ran before the live revision: the deployment history first, the family's previous
/// revision as the last resort (said in the log).
async fn previous(
    clients: &aws::Clients,
    v: &VerbConfig,
    controller: Controller,
    live: &str,
    progress: &Progress,
) -> Result<Option<String>> {
    let from_history = controller.previous(clients, v, live).await?;
    if from_history.is_some() {
        return Ok(from_history);
    }
    let fallback = task_def::previous_in_family(clients, live).await?;
    if let Some(td) = &fallback {
        progress.emit(Event::Info(format!(
            "no earlier deployment on record; going back to the family's previous revision {}",
            short(td)
        )));
    }
    Ok(fallback)
}
