//! The operator verbs (`promote`, `abort`, `rollback`, `status`) for every controller. Each
//! finds "the deployment" by `deployment-id` or as the one in flight for the service.

use std::future::Future;

use crate::aws;
use crate::config::VerbConfig;
use crate::controllers::watch::{self, Stop, Tracker, WatchEnd, WatchOptions};
use crate::controllers::{self, Controller, ServiceInfo, codedeploy, ecs, poll::Poller};
use crate::error::{Error, Result};
use crate::event::{Event, Progress};
use crate::outputs::Outputs;
use crate::stages::task_def;

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
    let service = controllers::describe_service(&clients, &v.cluster, &v.service).await?;
    let opts = WatchOptions::from(v);
    let end = match service.controller {
        Controller::CodeDeploy => {
            let id = codedeploy_deployment(&clients, v, outputs).await?;
            codedeploy::promote(&clients, &id, progress).await?;
            codedeploy::watch(
                &clients,
                &opts,
                &id,
                (&v.cluster, &v.service),
                progress,
                Poller::from_env(),
                cancel,
            )
            .await?
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
    let service = controllers::describe_service(&clients, &v.cluster, &v.service).await?;
    let end = stop_in_flight(&clients, v, &service, progress, outputs).await?;
    outputs.insert("deployment-status", end.status);
    Ok(end.exit_code)
}

/// Stops the deployment in flight with rollback, whatever the controller, and follows it back
/// to its end. The exit code is the verb's: 0 only when it ended where the stop said it would.
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
    let end = match service.controller {
        Controller::CodeDeploy => {
            let id = codedeploy_deployment(clients, v, outputs).await?;
            return abort_codedeploy(clients, v, service, &id, &opts, progress).await;
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
                let expected = started.previous_task_definition().map(str::to_string);
                let mut t = ecs::RollingTracker::new(clients, &v.cluster, &v.service, started);
                t.observe(progress).await?;
                t.stop(true).await?;
                let end = watch::watch(&mut t, &opts, progress, Poller::from_env(), never).await?;
                (end, expected)
            }
            ecs::Strategy::Native { .. } => {
                let arn = native_deployment(clients, v, outputs).await?;
                // The revision the deployment replaces is where its rollback takes traffic.
                let expected = ecs::describe_past(clients, vec![arn.clone()])
                    .await?
                    .into_iter()
                    .next()
                    .and_then(|p| p.source);
                let mut t = ecs::NativeTracker::following(clients, &v.cluster, &v.service, &arn);
                t.stop(true).await?;
                let end = watch::watch(&mut t, &opts, progress, Poller::from_env(), never).await?;
                (end, expected)
            }
        },
        Controller::External => return Err(external(v)),
    };
    let (end, expected) = end;
    ended_where(clients, v, end, "Stopped", expected.as_deref(), progress).await
}

/// CodeDeploy: StopDeployment with rollback, then CodeDeploy's rollback deployment to its end.
/// CodeDeploy's own rollback deployments are never stopped (stopped, they leave production
/// traffic wherever it is); they are followed instead, unless named by `deployment-id` with
/// `force-stop-rollback`.
async fn abort_codedeploy(
    clients: &aws::Clients,
    v: &VerbConfig,
    service: &ServiceInfo,
    id: &str,
    opts: &WatchOptions,
    progress: &Progress,
) -> Result<WatchEnd> {
    let target = (v.cluster.as_str(), v.service.as_str());
    let snap = codedeploy::describe(clients, id).await?;
    if snap.is_rollback() {
        let named = v.deployment_id.as_deref() == Some(id);
        if !(named && v.force_stop_rollback) {
            progress.emit(Event::Info(format!(
                "{id} is CodeDeploy's own rollback{}: it is not stopped, since that would leave production traffic wherever it is now; following it to its end instead{}",
                snap.rollback_of
                    .as_deref()
                    .map(|of| format!(" of {of}"))
                    .unwrap_or_default(),
                if named {
                    " (`force-stop-rollback: true` stops it)"
                } else {
                    ""
                }
            )));
            let expected = codedeploy::task_definition_of(clients, id).await?;
            return follow_rollback(clients, v, opts, id, expected, progress).await;
        }
        progress.emit(Event::StopRequested {
            reason: format!(
                "stopping CodeDeploy's rollback deployment {id} (force-stop-rollback: true); production traffic stays wherever it is when it stops"
            ),
        });
        if codedeploy::stop_deployment(clients, id, false).await? == Stop::AlreadyEnded {
            return Err(Error::state(
                format!("deployment {id} has already ended; there is nothing to stop"),
                "`status` shows the revision the service runs",
            ));
        }
        let end = codedeploy::follow_stop(clients, opts, id, target, progress, Poller::from_env())
            .await?;
        stands(clients, v, None, progress).await?;
        let code = if end.status == "Stopped" { 0 } else { 1 };
        return Ok(WatchEnd::new(end.status, code));
    }

    // Stopped before production traffic moved, the service keeps what it runs now; the
    // rollback deployment, when there is one, names its target itself.
    let own = codedeploy::task_definition_of(clients, id).await?;
    let before = service
        .task_definition
        .clone()
        .filter(|live| own.as_deref().is_none_or(|own| !same_revision(live, own)));
    codedeploy::abort(clients, id, progress).await?;
    let end =
        codedeploy::follow_stop(clients, opts, id, target, progress, Poller::from_env()).await?;
    if end.status != "Stopped" {
        stands(clients, v, None, progress).await?;
        return Ok(WatchEnd::new(end.status, 1));
    }
    let Some(rollback_id) = codedeploy::describe(clients, id).await?.rollback_id else {
        // No rollback deployment: it stopped before the replacement took any traffic.
        let stopped = WatchEnd::new("Stopped", 1);
        return ended_where(clients, v, stopped, "Stopped", before.as_deref(), progress).await;
    };
    progress.emit(Event::Info(format!(
        "CodeDeploy rolls {id} back with deployment {rollback_id}: following it to its end"
    )));
    let expected = codedeploy::task_definition_of(clients, &rollback_id)
        .await?
        .or(before);
    let end = follow_rollback(clients, v, opts, &rollback_id, expected, progress).await?;
    Ok(if end.exit_code == 0 {
        WatchEnd::new("Stopped", 0)
    } else if end.status == "RollbackInProgress" {
        end
    } else {
        WatchEnd::new(format!("Rollback{}", end.status), 1)
    })
}

/// Follows CodeDeploy's rollback deployment `id` to its end and says where the service stands;
/// exit 0 when it succeeded and the service runs `expected` (when known).
async fn follow_rollback(
    clients: &aws::Clients,
    v: &VerbConfig,
    opts: &WatchOptions,
    id: &str,
    expected: Option<String>,
    progress: &Progress,
) -> Result<WatchEnd> {
    let end = codedeploy::follow_rollback(
        clients,
        opts,
        id,
        (&v.cluster, &v.service),
        progress,
        Poller::from_env(),
    )
    .await?;
    ended_where(clients, v, end, "Succeeded", expected.as_deref(), progress).await
}

/// Says where the service stands after `end`; exit 0 only when `end` has the status that
/// means the verb did what it said (`done`) and the service runs `expected` (when known).
async fn ended_where(
    clients: &aws::Clients,
    v: &VerbConfig,
    end: WatchEnd,
    done: &str,
    expected: Option<&str>,
    progress: &Progress,
) -> Result<WatchEnd> {
    let there = stands(clients, v, expected, progress).await?;
    let code = if end.status == done && there { 0 } else { 1 };
    Ok(WatchEnd::new(end.status, code))
}

/// Says which task definition the service runs now; true when that is `expected` (or
/// nothing was expected).
async fn stands(
    clients: &aws::Clients,
    v: &VerbConfig,
    expected: Option<&str>,
    progress: &Progress,
) -> Result<bool> {
    let now = controllers::describe_service(clients, &v.cluster, &v.service).await?;
    let live = now.task_definition.unwrap_or_default();
    let (c, s) = (&v.cluster, &v.service);
    Ok(match expected {
        Some(e) if !same_revision(&live, e) => {
            progress.emit(Event::Failed {
                reason: format!(
                    "{c}/{s} runs {}, not {}, the revision the rollback was to restore",
                    short(&live),
                    short(e)
                ),
            });
            false
        }
        Some(_) => {
            progress.emit(Event::Info(format!(
                "{c}/{s} runs {}, the revision it ran before the deployment",
                short(&live)
            )));
            true
        }
        None => {
            progress.emit(Event::Info(format!("{c}/{s} runs {}", short(&live))));
            true
        }
    })
}

/// The same registered revision, named by ARN or by `family:revision`.
fn same_revision(a: &str, b: &str) -> bool {
    a == b || short(a) == short(b)
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
    let service = controllers::describe_service(&clients, &v.cluster, &v.service).await?;
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
        outputs.insert("deployment-status", end.status);
        return Ok(end.exit_code);
    }
    let live = service.task_definition.clone().unwrap_or_default();
    if v.to.is_none()
        && let Some(why) = nothing_to_go_back_to(&clients, v, &service, &live).await?
    {
        progress.emit(Event::Info(why));
        outputs.insert("deployment-status", "Unchanged".to_string());
        return Ok(0);
    }
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
    super::deploy::deploy(&d, false, progress, outputs, cancel).await
}

/// Why there is nothing to roll back when the service's last deployment did not go through and
/// the service runs the revision it ran before it (after an abort, say); `None` otherwise.
async fn nothing_to_go_back_to(
    clients: &aws::Clients,
    v: &VerbConfig,
    service: &ServiceInfo,
    live: &str,
) -> Result<Option<String>> {
    let (c, s) = (&v.cluster, &v.service);
    // (the deployment that did not go through, what it deployed, how it ended, what undid it)
    let undone = match service.controller {
        Controller::CodeDeploy => {
            codedeploy::last_deployment(clients, &v.application, &v.deployment_group)
                .await?
                .filter(|last| matches!(last.status.as_str(), "Stopped" | "Failed"))
                .and_then(|last| {
                    let td = last.task_definition?;
                    let by = last.rollback_id.map(|rb| format!("rolled back by {rb}"));
                    Some((last.id, td, last.status, by))
                })
        }
        Controller::Ecs => {
            let recent = ecs::last_deployments(clients, &v.cluster, &v.service).await?;
            match recent.as_slice() {
                // A native stop with rollback: the deployment itself ended ROLLBACK_*.
                [last, ..] if last.status != "SUCCESSFUL" => last
                    .target
                    .clone()
                    .map(|td| (last.arn.clone(), td, last.status.clone(), None)),
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
                    last.target.clone().map(|td| {
                        let by = Some(format!("undone by {}", undo.arn));
                        (last.arn.clone(), td, last.status.clone(), by)
                    })
                }
                _ => None,
            }
        }
        Controller::External => None,
    };
    let Some((id, td, status, by)) = undone else {
        return Ok(None);
    };
    if same_revision(live, &td) {
        return Ok(None);
    }
    let how = by.map(|b| format!(" and was {b}")).unwrap_or_default();
    Ok(Some(format!(
        "{c}/{s} runs {}: its last deployment {id} (of {}) ended {status}{how}, so the service already runs the revision it ran before that deployment; there is nothing to go back to, and nothing was changed (name an older revision with `to` to go further back)",
        short(live),
        short(&td),
    )))
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
