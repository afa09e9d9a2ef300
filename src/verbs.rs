//! The operator verbs (`promote`, `abort`, `rollback`, `status`) for every controller. Each
//! finds "the deployment" by `deployment-id` or as the one in flight for the service.

use std::future::Future;

use crate::config::VerbConfig;
use crate::error::{Error, Result};
use crate::report::{Event, Progress};
use crate::stages::deploy::watch::{self, Tracker, WatchEnd, WatchOptions};
use crate::stages::deploy::{self, Controller, ServiceInfo, codedeploy, ecs, poll::Poller};
use crate::stages::task_def;
use crate::{Outputs, aws};

fn external(v: &VerbConfig) -> Error {
    Error::state(
        format!(
            "service `{}` uses the EXTERNAL deployment controller, which greenlight cannot drive",
            v.service
        ),
        "act on it with the tool that owns its task sets",
    )
}

/// `promote`: continue a blue/green deployment waiting for it, then follow it to the end.
pub async fn promote(
    v: &VerbConfig,
    progress: &Progress,
    outputs: &mut Outputs,
    cancel: impl Future<Output = String>,
) -> Result<u8> {
    let clients = aws::Clients::from_env().await?;
    let service = deploy::describe_service(&clients, &v.cluster, &v.service).await?;
    let opts = WatchOptions::from(v);
    let end = match service.controller {
        Controller::CodeDeploy => {
            let id = codedeploy_deployment(&clients, v, outputs).await?;
            codedeploy::promote(&clients, &id, progress).await?;
            codedeploy::watch(&clients, &opts, &id, progress, Poller::from_env(), cancel).await?
        }
        Controller::Ecs if service.strategy == ecs::Strategy::Rolling => {
            return Err(Error::state(
                format!(
                    "service `{}` deploys with rolling updates, which never wait for promotion",
                    v.service
                ),
                "promote applies to blue/green deployments paused for it",
            ));
        }
        Controller::Ecs => {
            let arn = native_deployment(&clients, v, outputs).await?;
            let Some(hook) = ecs::paused_hook(&clients, &arn).await? else {
                return Err(Error::state(
                    format!(
                        "deployment {arn} is not waiting at a lifecycle hook; there is nothing to promote"
                    ),
                    "promote a deployment paused at a PAUSE hook (wait-until: ready)",
                ));
            };
            ecs::continue_paused(&clients, &arn, &hook).await?;
            progress.emit(Event::Info(format!(
                "promoted {arn}: continued past hook {hook}"
            )));
            let mut t = ecs::NativeTracker::following(&clients, &v.cluster, &v.service, &arn);
            watch::watch(&mut t, &opts, progress, Poller::from_env(), cancel).await?
        }
        Controller::External => return Err(external(v)),
    };
    outputs.insert("deployment-status", end.status);
    Ok(end.exit_code)
}

/// The CodeDeploy deployment a verb acts on (`deployment-id`, or the one in flight), named in
/// the outputs.
async fn codedeploy_deployment(
    clients: &aws::Clients,
    v: &VerbConfig,
    outputs: &mut Outputs,
) -> Result<String> {
    let id = codedeploy::find_deployment(clients, v).await?;
    outputs.insert("codedeploy-deployment-id", id.clone());
    outputs.insert("deployment-id", id.clone());
    Ok(id)
}

/// The ECS-native service deployment a verb acts on, named in the outputs.
async fn native_deployment(
    clients: &aws::Clients,
    v: &VerbConfig,
    outputs: &mut Outputs,
) -> Result<String> {
    let arn =
        ecs::find_in_flight(clients, &v.cluster, &v.service, v.deployment_id.as_deref()).await?;
    outputs.insert("deployment-id", arn.clone());
    Ok(arn)
}

/// `abort`: stop the deployment in flight with rollback and follow it back.
pub async fn abort(v: &VerbConfig, progress: &Progress, outputs: &mut Outputs) -> Result<u8> {
    let clients = aws::Clients::from_env().await?;
    let service = deploy::describe_service(&clients, &v.cluster, &v.service).await?;
    let end = stop_in_flight(&clients, v, &service, progress, outputs).await?;
    let aborted = end.status == "Stopped";
    outputs.insert("deployment-status", end.status);
    Ok(if aborted { 0 } else { 1 })
}

/// Stops the deployment in flight with rollback, whatever the controller, and watches it back.
async fn stop_in_flight(
    clients: &aws::Clients,
    v: &VerbConfig,
    service: &ServiceInfo,
    progress: &Progress,
    outputs: &mut Outputs,
) -> Result<WatchEnd> {
    // Already stopping: a cancellation now has nothing more to stop.
    let never = std::future::pending();
    let opts = WatchOptions::from(v);
    let reason = "aborted by the operator; rolling back".to_string();
    match service.controller {
        Controller::CodeDeploy => {
            let id = codedeploy_deployment(clients, v, outputs).await?;
            codedeploy::abort(clients, &id, progress).await?;
            codedeploy::watch(clients, &opts, &id, progress, Poller::from_env(), never).await
        }
        Controller::Ecs => match &service.strategy {
            ecs::Strategy::Rolling => {
                let Some(primary) = ecs::in_flight(&service.deployments) else {
                    return Err(Error::state(
                        format!("no deployment is in flight for {}/{}", v.cluster, v.service),
                        "there is nothing to abort; `rollback` deploys the previous revision",
                    ));
                };
                outputs.insert("deployment-id", primary.id.clone());
                progress.emit(Event::StopRequested { reason });
                let started = ecs::Started::attach(service, &primary.id);
                let mut t = ecs::RollingTracker::new(clients, &v.cluster, &v.service, started);
                t.observe(progress).await?;
                t.stop(true).await?;
                watch::watch(&mut t, &opts, progress, Poller::from_env(), never).await
            }
            ecs::Strategy::Native { .. } => {
                let arn = native_deployment(clients, v, outputs).await?;
                let mut t = ecs::NativeTracker::following(clients, &v.cluster, &v.service, &arn);
                t.stop(true).await?;
                watch::watch(&mut t, &opts, progress, Poller::from_env(), never).await
            }
        },
        Controller::External => Err(external(v)),
    }
}

/// `rollback`: a deployment in flight is stopped with rollback; otherwise the revision the
/// service ran before (or `to`) is deployed through the same controller, reported like any
/// deploy and gated by nothing.
pub async fn rollback(
    v: &VerbConfig,
    progress: &Progress,
    outputs: &mut Outputs,
    cancel: impl Future<Output = String>,
) -> Result<u8> {
    let clients = aws::Clients::from_env().await?;
    let service = deploy::describe_service(&clients, &v.cluster, &v.service).await?;
    let in_flight = match service.controller {
        Controller::CodeDeploy => {
            !codedeploy::in_flight(&clients, &v.application, &v.deployment_group)
                .await?
                .is_empty()
        }
        Controller::Ecs => ecs::in_flight(&service.deployments).is_some(),
        Controller::External => return Err(external(v)),
    };
    if in_flight && v.to.is_none() {
        progress.emit(Event::Info(
            "a deployment is in flight: stopping it with rollback".into(),
        ));
        let end = stop_in_flight(&clients, v, &service, progress, outputs).await?;
        let rolled_back = end.status == "Stopped";
        outputs.insert("deployment-status", end.status);
        return Ok(if rolled_back { 0 } else { 1 });
    }
    let live = service.task_definition.clone().unwrap_or_default();
    let target = match &v.to {
        Some(to) => to.clone(),
        None => previous(&clients, v, &service, &live, progress)
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
    crate::deploy(&d, false, progress, outputs, cancel).await
}

fn short(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// What ran before the live revision: the deployment history first, the family's previous
/// revision as the last resort (said in the log).
async fn previous(
    clients: &aws::Clients,
    v: &VerbConfig,
    service: &ServiceInfo,
    live: &str,
    progress: &Progress,
) -> Result<Option<String>> {
    let from_history = match service.controller {
        Controller::CodeDeploy => {
            codedeploy::previous_task_definition(clients, &v.application, &v.deployment_group, live)
                .await?
        }
        Controller::Ecs => ecs::previous_task_definition(clients, &v.cluster, &v.service)
            .await?
            .filter(|td| td != live),
        Controller::External => None,
    };
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
