//! The operator verbs' side of CodeDeploy: promote a deployment waiting at READY, abort one
//! (following CodeDeploy's own rollback deployment to its end), and the history `rollback`
//! and `status` read.

use std::future::Future;

use super::*;
use crate::config::VerbConfig;
use crate::controllers::standing::{ended_where, same_revision, stands};
use crate::controllers::{ServiceInfo, Undone};
use crate::outputs::Outputs;

/// The deployment a verb acts on (`deployment-id`, or the one in flight), named in the
/// outputs.
async fn deployment(clients: &Clients, v: &VerbConfig, outputs: &mut Outputs) -> Result<String> {
    let id = find_deployment(clients, v).await?;
    outputs.insert("codedeploy-deployment-id", id.clone());
    outputs.insert("deployment-id", id.clone());
    Ok(id)
}

/// `promote`: ContinueDeployment, then the deployment to its end.
pub async fn promote_in_flight(
    clients: &Clients,
    v: &VerbConfig,
    opts: &WatchOptions,
    progress: &Progress,
    outputs: &mut Outputs,
    cancel: impl Future<Output = String>,
) -> Result<WatchEnd> {
    let id = deployment(clients, v, outputs).await?;
    promote(clients, &id, progress).await?;
    watch(
        clients,
        opts,
        &id,
        (&v.cluster, &v.service),
        progress,
        Poller::from_env(),
        cancel,
    )
    .await
}

/// `abort`: the deployment in flight (or named), stopped with rollback.
pub async fn abort_in_flight(
    clients: &Clients,
    v: &VerbConfig,
    service: &ServiceInfo,
    opts: &WatchOptions,
    progress: &Progress,
    outputs: &mut Outputs,
) -> Result<WatchEnd> {
    let id = deployment(clients, v, outputs).await?;
    abort_deployment(clients, v, service, &id, opts, progress).await
}

/// CodeDeploy: StopDeployment with rollback, then CodeDeploy's rollback deployment to its end.
/// CodeDeploy's own rollback deployments are never stopped (stopped, they leave production
/// traffic wherever it is); they are followed instead, unless named by `deployment-id` with
/// `force-stop-rollback`.
pub async fn abort_deployment(
    clients: &Clients,
    v: &VerbConfig,
    service: &ServiceInfo,
    id: &str,
    opts: &WatchOptions,
    progress: &Progress,
) -> Result<WatchEnd> {
    let target = (v.cluster.as_str(), v.service.as_str());
    let snap = describe(clients, id).await?;
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
            let expected = task_definition_of(clients, id).await?;
            return follow_rollback_to_its_end(clients, v, opts, id, expected, progress).await;
        }
        progress.emit(Event::StopRequested {
            reason: format!(
                "stopping CodeDeploy's rollback deployment {id} (force-stop-rollback: true); production traffic stays wherever it is when it stops"
            ),
        });
        if stop_deployment(clients, id, false).await? == Stop::AlreadyEnded {
            return Err(Error::state(
                format!("deployment {id} has already ended; there is nothing to stop"),
                "`status` shows the revision the service runs",
            ));
        }
        let end = follow(clients, opts, id, target, progress, Following::OurStop).await?;
        stands(clients, v, None, progress).await?;
        let code = if end.status == "Stopped" { 0 } else { 1 };
        return Ok(WatchEnd::new(end.status, code));
    }

    // Stopped before production traffic moved, the service keeps what it runs now; the
    // rollback deployment, when there is one, names its target itself.
    let own = task_definition_of(clients, id).await?;
    let before = service
        .task_definition
        .clone()
        .filter(|live| own.as_deref().is_none_or(|own| !same_revision(live, own)));
    abort(clients, id, progress).await?;
    let end = follow(clients, opts, id, target, progress, Following::OurStop).await?;
    if end.status != "Stopped" {
        stands(clients, v, None, progress).await?;
        return Ok(WatchEnd::new(end.status, 1));
    }
    let Some(rollback_id) = describe(clients, id).await?.rollback_id else {
        // No rollback deployment: it stopped before the replacement took any traffic.
        let stopped = WatchEnd::new("Stopped", 1);
        return ended_where(clients, v, stopped, "Stopped", before.as_deref(), progress).await;
    };
    progress.emit(Event::Info(format!(
        "CodeDeploy rolls {id} back with deployment {rollback_id}: following it to its end"
    )));
    let expected = task_definition_of(clients, &rollback_id).await?.or(before);
    let end =
        follow_rollback_to_its_end(clients, v, opts, &rollback_id, expected, progress).await?;
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
async fn follow_rollback_to_its_end(
    clients: &Clients,
    v: &VerbConfig,
    opts: &WatchOptions,
    id: &str,
    expected: Option<String>,
    progress: &Progress,
) -> Result<WatchEnd> {
    let end = follow(
        clients,
        opts,
        id,
        (&v.cluster, &v.service),
        progress,
        Following::Rollback,
    )
    .await?;
    ended_where(clients, v, end, "Succeeded", expected.as_deref(), progress).await
}

/// Whether a deployment of the group is in flight.
pub async fn any_in_flight(clients: &Clients, v: &VerbConfig) -> Result<bool> {
    Ok(!in_flight(clients, &v.application, &v.deployment_group)
        .await?
        .is_empty())
}

/// The group's last deployment when it did not go through (stopped or failed).
pub async fn undone(clients: &Clients, v: &VerbConfig) -> Result<Option<Undone>> {
    Ok(
        last_deployment(clients, &v.application, &v.deployment_group)
            .await?
            .filter(|last| matches!(last.status.as_str(), "Stopped" | "Failed"))
            .and_then(|last| {
                Some(Undone {
                    id: last.id,
                    task_definition: last.task_definition?,
                    status: last.status,
                    by: last.rollback_id.map(|rb| format!("rolled back by {rb}")),
                })
            }),
    )
}

/// `status`: the deployment in flight (or named) and its traffic split.
pub async fn status_rows(
    clients: &Clients,
    v: &VerbConfig,
    outputs: &mut Outputs,
) -> Result<Vec<(String, String)>> {
    let row = match find_deployment(clients, v).await {
        Ok(id) => {
            let snap = read(clients, &id, &mut None).await?;
            outputs.insert("codedeploy-deployment-id", id.clone());
            outputs.insert("deployment-status", snap.status.clone());
            let traffic = snap
                .traffic
                .map(|(g, b)| format!(" · green {g:.0}% / blue {b:.0}%"))
                .unwrap_or_default();
            format!("`{id}` {}{traffic}", snap.status)
        }
        Err(Error::State { problem, .. }) => problem,
        Err(e) => return Err(e),
    };
    Ok(vec![("In flight".into(), row)])
}
