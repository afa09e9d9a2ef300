//! `deploy`/`plan` of several services from a `config` file, and the fleet's revert.

use std::future::Future;

use futures_util::FutureExt;

use super::deploy::*;
use crate::aws;
use crate::config::{self, DeployConfig, OnConflict};
use crate::controllers::{self};
use crate::error::{Error, Result};
use crate::event::{Event, Progress};
use crate::outputs::Outputs;

/// Several services from a `config` file. Every file of every service is read first, then
/// every service is checked (concurrently); only when all pass does any deploy start, and then
/// they all deploy concurrently. With `all-or-nothing`, the first failure stops the others
/// with rollback and rolls back those that had already finished.
pub async fn fleet(
    f: &config::Fleet,
    settings: aws::Settings,
    progress: &Progress,
    outputs: &mut Outputs,
    afterwards: &mut crate::Afterwards,
    cancel: impl Future<Output = String>,
) -> Result<u8> {
    let label = |d: &DeployConfig| format!("{}/{}", d.cluster, d.service);
    let mut files = Vec::new();
    for d in &f.services {
        files.push(load_files(d)?);
    }
    let cancel = cancel.shared();
    let clients = before_any_change(aws::Clients::from_env(settings), cancel.clone()).await?;
    let scopes: Vec<Progress> = f
        .services
        .iter()
        .map(|d| {
            let p = progress.scoped(label(d));
            p.emit(Event::Target {
                command: if f.plan { "plan" } else { "deploy" }.into(),
                cluster: d.cluster.clone(),
                service: d.service.clone(),
            });
            p
        })
        .collect();
    let checks = futures_util::future::join_all(f.services.iter().zip(files).zip(&scopes).map(
        |((d, files), scope)| {
            let clients = &clients;
            async move {
                let mut outs = Outputs::new();
                let r = prepare(clients, d, files, scope, &mut outs).await;
                if let Err(e) = &r {
                    scope.emit(Event::RunFailed {
                        message: e.to_string(),
                    });
                }
                r
            }
        },
    ));
    let checks = before_any_change(checks.map(Ok), cancel.clone()).await?;
    let mut prepared = Vec::new();
    let mut first_error = None;
    for (r, d) in checks.into_iter().zip(&f.services) {
        match r {
            Ok(p) => prepared.push(p),
            Err(e) => {
                progress.emit(Event::Warning(format!("{}: {e}", label(d))));
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        progress.emit(Event::Info(format!(
            "{} of {} services failed their checks; nothing was deployed",
            f.services.len() - prepared.len(),
            f.services.len()
        )));
        return Err(e);
    }
    if f.plan {
        for (p, scope) in prepared.iter().zip(&scopes) {
            report_plan(p, scope);
            scope.emit(Event::Ended {
                status: "Planned".into(),
                exit_code: 0,
            });
        }
        outputs.insert("deployment-status", "Planned".into());
        return Ok(0);
    }
    // `on-conflict: wait` is the last check: each deployment in flight ends first, so a wait
    // that times out or is cancelled leaves nothing written, not even a scan.
    let waits = futures_util::future::join_all(prepared.iter().zip(&scopes).map(|(p, scope)| {
        let clients = &clients;
        async move {
            match (&p.conflict, p.d.on_conflict) {
                (Some(c), OnConflict::Wait) => wait_for_clear(clients, p.d, &p.route, c, scope)
                    .await
                    .map(Some),
                _ => Ok(None),
            }
        }
    }));
    let waits = before_any_change(waits.map(Ok), cancel.clone()).await?;
    let deadlines = match waits.into_iter().collect::<Result<Vec<_>>>() {
        Ok(deadlines) => deadlines,
        Err(e) => {
            progress.emit(Event::Info(
                "a deployment in flight did not end in time; nothing was deployed".into(),
            ));
            return Err(e);
        }
    };
    for (p, deadline) in prepared.iter_mut().zip(deadlines) {
        if p.d.on_conflict == OnConflict::Wait {
            p.conflict = None;
        }
        p.deadline = deadline;
    }
    // Missing scans start only now that every service has passed its checks.
    let scans =
        futures_util::future::join_all(prepared.iter().zip(&scopes).map(|(p, scope)| async move {
            let mut outs = Outputs::new();
            let r = scan_unscanned(p, scope, &mut outs).await;
            if let Err(e) = &r {
                scope.emit(Event::RunFailed {
                    message: e.to_string(),
                });
            }
            r
        }));
    let scans = tokio::select! {
        biased;
        reason = cancel.clone() => return Err(Error::Cancelled {
            problem: format!(
                "{reason}: cancelled while waiting for image scans; only the scans were started, nothing else was written to AWS"
            ),
        }),
        r = scans => r,
    };
    if let Some(e) = scans.into_iter().find_map(Result::err) {
        progress.emit(Event::Info(
            "an image scan did not pass; nothing was deployed".into(),
        ));
        return Err(e);
    }

    // A failure (with all-or-nothing) or a cancellation tells every deploy to stop.
    // The reason goes with it, so each stopped service says why.
    let (stop_all, stopped) = tokio::sync::watch::channel(None::<String>);
    // The first reason stands: a later one would re-word a stop already under way.
    let stop_all = &move |reason: String| {
        stop_all.send_if_modified(|r| {
            let first = r.is_none();
            if first {
                *r = Some(reason);
            }
            first
        });
    };
    let runs = futures_util::future::join_all(prepared.iter().zip(&scopes).map(|(p, scope)| {
        let clients = &clients;
        let mut stopped = stopped.clone();
        async move {
            let mut outs = Outputs::new();
            let told_to_stop = async move {
                match stopped.wait_for(Option::is_some).await {
                    Ok(reason) => reason.clone().unwrap_or_default(),
                    // The sender lives as long as the runs: not reached, and never a reason
                    // to stop.
                    Err(_) => std::future::pending().await,
                }
            };
            let r = execute(clients, p, scope, &mut outs, told_to_stop).await;
            // `keep-task-definition-revisions` of this service, decided once the run is over.
            let cleanup = r.as_ref().ok().and_then(|end| cleanup_after(p, end, &outs));
            match &r {
                Ok(end) => scope.emit(Event::Ended {
                    status: end.status.clone(),
                    exit_code: end.exit_code,
                }),
                Err(e) => scope.emit(Event::RunFailed {
                    message: e.to_string(),
                }),
            }
            let failed = !matches!(&r, Ok(end) if end.exit_code == 0);
            if failed && f.all_or_nothing {
                stop_all(format!("{} failed (all-or-nothing)", label(p.d)));
            }
            (r, cleanup.map(|c| (c, scope.clone())))
        }
    }));
    tokio::pin!(runs);
    let results = tokio::select! {
        r = &mut runs => r,
        reason = cancel => {
            stop_all(reason);
            runs.await
        }
    };

    let (results, cleanups): (Vec<_>, Vec<_>) = results.into_iter().unzip();
    let any_failed = results
        .iter()
        .any(|r| !matches!(r, Ok(end) if end.exit_code == 0));
    // A service put back by all-or-nothing keeps every revision; the others clean up after
    // the outputs are written.
    if !(any_failed && f.all_or_nothing) {
        for (c, scope) in cleanups.into_iter().flatten() {
            afterwards.push(Box::pin(crate::stages::task_def::prune::after_deploy(
                clients.clone(),
                c,
                scope,
            )));
        }
    }
    if any_failed && f.all_or_nothing {
        let why = stopped
            .borrow()
            .clone()
            .unwrap_or_else(|| "another service failed (all-or-nothing)".into());
        for ((p, r), scope) in prepared.iter().zip(&results).zip(&scopes) {
            if matches!(r, Ok(end) if end.exit_code == 0) {
                revert(&clients, p, scope, &why).await;
            }
        }
    }
    let mut code = 0;
    for (r, d) in results.into_iter().zip(&f.services) {
        match r {
            Ok(end) => {
                progress.emit(Event::Info(format!("{}: {}", label(d), end.status)));
                code = code.max(end.exit_code);
            }
            Err(e) => {
                progress.emit(Event::Warning(format!("{}: {e}", label(d))));
                code = code.max(e.exit_code());
            }
        }
    }
    outputs.insert(
        "deployment-status",
        if code == 0 { "Succeeded" } else { "Failed" }.into(),
    );
    Ok(code)
}

/// All-or-nothing: a service that finished while another failed goes back to the revision it
/// ran before, through its own controller.
async fn revert(clients: &aws::Clients, p: &Prepared<'_>, progress: &Progress, why: &str) {
    let Some(previous) = &p.service.task_definition else {
        return;
    };
    progress.emit(Event::StopRequested {
        reason: format!(
            "{why}; deploying {} again",
            previous.rsplit('/').next().unwrap_or(previous)
        ),
    });
    let result = async {
        let now = controllers::describe_service(clients, &p.d.cluster, &p.d.service).await?;
        let mut outs = Outputs::new();
        p.route
            .start(
                clients,
                p.d,
                &now,
                previous,
                progress,
                &mut outs,
                // Putting a service back is a deployment of its own, with its own clock.
                None,
                std::future::pending(),
            )
            .await
    }
    .await;
    match result {
        Ok(end) if end.exit_code == 0 => progress.emit(Event::RolledBack {
            message: format!("the service runs {previous} again"),
        }),
        Ok(end) => progress.emit(Event::Warning(format!(
            "rolling back to {previous} ended {}",
            end.status
        ))),
        Err(e) => progress.emit(Event::Warning(format!(
            "rolling back to {previous} failed: {e}"
        ))),
    }
}
