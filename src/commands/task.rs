//! `run`, and `deploy` without a service: the revision is built, gated and registered as a
//! deploy's is, then (when asked) run as a one-off task and watched to its exit; no service is
//! changed. With `plan`, every check and a stop before the first write.

use std::future::Future;

use futures_util::FutureExt;

use super::deploy::{
    before_any_change, cancelled_before_any_change, from_source, judge_scanned, pin_images,
    read_images, scan_all_while_not_cancelled, verify_refs,
};
use crate::aws;
use crate::config::DeployConfig;
use crate::controllers::{self, AwsVpc};
use crate::error::{Error, Result};
use crate::event::{Event, Progress};
use crate::outputs::Outputs;
use crate::redact;
use crate::stages::{self, task_def};

/// A revision that passed every check, ready to be registered.
struct Checked {
    td: task_def::TaskDef,
    reuse_arn: Option<String>,
    unscanned: Vec<stages::scan_gate::Resolution>,
    /// The service's network, when a service was named: the one-off task's default.
    network: Option<AwsVpc>,
}

pub(crate) async fn task(
    d: &DeployConfig,
    plan: bool,
    settings: aws::Settings,
    progress: &Progress,
    outputs: &mut Outputs,
    cancel: impl Future<Output = String>,
) -> Result<u8> {
    let source = task_def::prepare(d)?;
    let cancel = cancel.shared();
    let result = async {
        let checked = async {
            let clients = aws::Clients::from_env(settings).await?;
            let c = check(&clients, d, source, progress, outputs).await?;
            Ok((clients, c))
        };
        let (clients, c) = before_any_change(checked, cancel.clone()).await?;
        if plan {
            let what = match &c.reuse_arn {
                Some(arn) => format!("use the registered {arn}"),
                None => format!("register a new `{}` revision", c.td.family),
            };
            let run = if d.run_task.is_some() {
                format!(" and run it as a one-off task in cluster `{}`", d.cluster)
            } else {
                String::new()
            };
            progress.emit(Event::Planned {
                what: format!("merging this will {what}{run}; no service is deployed to"),
            });
            outputs.insert("deployment-status", "Planned".into());
            return Ok(0);
        }
        scan_all_while_not_cancelled(&c.unscanned, &d.gate, progress, outputs, cancel.clone())
            .await?;
        if let Some(reason) = cancel.clone().now_or_never() {
            return Err(cancelled_before_any_change(&reason));
        }
        let arn = match &c.reuse_arn {
            Some(arn) => arn.clone(),
            None => {
                let arn = task_def::register(&clients, &c.td).await?;
                progress.emit(Event::TaskDefinitionRegistered { arn: arn.clone() });
                arn
            }
        };
        outputs.insert("task-definition-arn", arn.clone());
        let Some(rt) = &d.run_task else {
            progress.emit(Event::Info(
                "no `service` is given: the task definition is registered, and nothing is deployed".into(),
            ));
            outputs.insert("deployment-status", "Registered".into());
            return Ok(0);
        };
        let opts = controllers::task::watch_options(d, None);
        let end = controllers::task::run(
            &clients,
            &d.cluster,
            &arn,
            rt,
            &c.td.doc,
            c.network.as_ref(),
            &opts,
            progress,
            outputs,
            cancel.clone(),
        )
        .await?;
        if let Some(reason) = cancel.clone().now_or_never() {
            return Err(Error::Cancelled {
                problem: format!(
                    "{reason} while the one-off task ran: it was stopped (StopTask); {arn} stays registered"
                ),
            });
        }
        outputs.insert("deployment-status", end.status.clone());
        Ok(end.exit_code)
    }
    .await;
    if let Err(Error::Cancelled { .. }) = &result {
        outputs.insert("deployment-status", "Cancelled".into());
    }
    result
}

/// Every check before the first write: the rendered revision, its images resolved, pinned and
/// judged, the service's network when a service is named, and what RunTask would refuse.
async fn check(
    clients: &aws::Clients,
    d: &DeployConfig,
    source: task_def::Source,
    progress: &Progress,
    outputs: &mut Outputs,
) -> Result<Checked> {
    let (mut td, reuse_arn) = from_source(clients, d, source).await?;
    redact::register_from_task_definition(&td.doc);
    for note in &td.notes {
        progress.emit(Event::Info(format!("task definition: {note}")));
    }
    let images = td.images.clone();
    let arch = task_def::cpu_architecture(&td).map(str::to_string);
    let service = async {
        if d.service.is_empty() {
            return Ok(None);
        }
        controllers::describe_service(clients, &d.cluster, &d.service)
            .await
            .map(Some)
    };
    let refs = verify_refs(d, &td);
    let (read, verified, service) = tokio::join!(
        read_images(clients, d, &images, arch.as_deref(), progress),
        task_def::verify::check_all(clients, &refs),
        service
    );
    let network = service?.and_then(|s| s.network);
    task_def::verify::judge(&td.path, verified, progress)?;
    let resolutions = pin_images(&mut td, d, &images, read, progress, outputs)?;
    if let Some(rt) = &d.run_task {
        controllers::task::check(rt, &td.doc, network.as_ref())?;
    }
    let unscanned = judge_scanned(resolutions, d, progress, outputs)?;
    Ok(Checked {
        td,
        reuse_arn,
        unscanned,
        network,
    })
}
