//! `deploy` and `plan`: every check before the first write, then register, start and follow;
//! `plan` stops before the first write and shows the diff.

use std::future::Future;

use futures_util::FutureExt;

use crate::aws;
use crate::config::{DeployConfig, OnConflict};
use crate::controllers::{self, poll::Poller};
use crate::error::{Error, Result};
use crate::event::{Event, Progress};
use crate::outputs::Outputs;
use crate::redact;
use crate::stages::{self, task_def};

/// Shows what this deployment changes against the revision the service runs now, and says
/// whether they are the same revision in substance. A diff is a report: failing to read the
/// live revision only warns (and then nothing counts as unchanged).
pub(super) fn report_diff(
    live_arn: &str,
    live: Result<(String, serde_json::Map<String, serde_json::Value>)>,
    td: &task_def::TaskDef,
    progress: &Progress,
) -> bool {
    let live = match live {
        Ok((_, live)) => live,
        Err(e) => {
            progress.emit(Event::Warning(format!(
                "no diff against the live task definition: {e}"
            )));
            return false;
        }
    };
    // The live revision's values show up as the diff's removed lines.
    redact::register_from_task_definition(&live);
    let lines = stages::diff::diff(&live, &td.doc);
    let name = live_arn.rsplit('/').next().unwrap_or(live_arn);
    if lines.is_empty() {
        progress.emit(Event::Info(format!(
            "task definition: same as the live {name}"
        )));
        progress.emit(Event::TaskDefinitionDiff {
            live: name.to_string(),
            diff: String::new(),
        });
        return stages::diff::same(&live, &td.doc);
    }
    progress.emit(Event::Info(format!(
        "task definition changes against the live {name}:"
    )));
    for line in &lines {
        let sign = if line.sign == '~' { ' ' } else { line.sign };
        progress.emit(Event::Info(format!("  {sign}{}", line.text)));
    }
    progress.emit(Event::TaskDefinitionDiff {
        live: name.to_string(),
        diff: stages::diff::render(&lines),
    });
    false
}

/// Whether the deployment in flight deploys the same images as this run (after pinning): the
/// gated containers when images were given, every container otherwise.
pub(super) async fn same_images(
    clients: &aws::Clients,
    theirs: Option<&str>,
    td: &task_def::TaskDef,
    images: &[(String, stages::image::ImageRef)],
) -> bool {
    let Some(arn) = theirs else { return false };
    let Ok((_, live)) = task_def::describe_live(clients, arn).await else {
        return false;
    };
    let image_of = |doc: &serde_json::Map<String, serde_json::Value>, name: &str| {
        doc.get("containerDefinitions")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
            .find(|c| c.get("name").and_then(serde_json::Value::as_str) == Some(name))
            .and_then(|c| c.get("image").and_then(serde_json::Value::as_str))
            .map(str::to_string)
    };
    let names: Vec<String> = if images.is_empty() {
        td.container_names().iter().map(|s| s.to_string()).collect()
    } else {
        images.iter().map(|(c, _)| c.clone()).collect()
    };
    !names.is_empty()
        && names
            .iter()
            .all(|n| image_of(&td.doc, n).is_some() && image_of(&td.doc, n) == image_of(&live, n))
}

/// `on-conflict: wait`: polls until the deployment in flight has ended, within
/// `wait-for-minutes`. That wait starts the run's clock: the deadline it returns is the one the
/// deployment of this run is then watched to, so the two together take `wait-for-minutes` at
/// most.
pub(super) async fn wait_for_clear(
    clients: &aws::Clients,
    d: &DeployConfig,
    route: &controllers::route::Route,
    c: &controllers::route::InFlight,
    progress: &Progress,
) -> Result<tokio::time::Instant> {
    progress.emit(Event::Info(format!(
        "waiting for deployment {} to end (on-conflict: wait)",
        c.id
    )));
    let deadline = tokio::time::Instant::now()
        + std::time::Duration::from_secs(u64::from(d.wait_minutes) * 60);
    let mut poller = Poller::from_env().at_most(d.poll_max);
    while route.busy(clients, d).await? {
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::state(
                format!(
                    "deployment {} was still in flight after {} minutes; nothing was changed",
                    c.id, d.wait_minutes
                ),
                "raise `wait-for-minutes` or stop the deployment in flight",
            ));
        }
        tokio::time::sleep(poller.next(false)).await;
    }
    progress.emit(Event::Info(format!("deployment {} has ended", c.id)));
    Ok(deadline)
}

/// What a deploy has read from disk before any AWS call.
pub(super) struct Files {
    pub(super) source: task_def::Source,
    pub(super) appspec: Option<stages::appspec::UserFile>,
}

/// Files first: a typo in them must not cost a single AWS call.
pub(super) fn load_files(d: &DeployConfig) -> Result<Files> {
    Ok(Files {
        source: task_def::prepare(d)?,
        appspec: stages::appspec::UserFile::find(d.appspec.as_deref())?,
    })
}

/// A deploy that passed every check, ready for its first write.
pub(super) struct Prepared<'a> {
    pub(super) d: &'a DeployConfig,
    pub(super) service: controllers::ServiceInfo,
    pub(super) route: controllers::route::Route,
    pub(super) conflict: Option<controllers::route::InFlight>,
    /// `on-conflict: attach` found the deployment in flight deploys this very image.
    pub(super) attach: Option<controllers::route::InFlight>,
    pub(super) td: task_def::TaskDef,
    pub(super) reuse_arn: Option<String>,
    /// Images with no scan yet, whose scan starts (a write) once every check has passed.
    pub(super) unscanned: Vec<stages::scan_gate::Resolution>,
    /// The run's deadline, once waiting for a deployment in flight has started its clock.
    pub(super) deadline: Option<tokio::time::Instant>,
}

/// `deploy`, or with `plan` every check and the diff and then a stop before the first write.
pub(crate) async fn deploy(
    d: &DeployConfig,
    plan: bool,
    settings: aws::Settings,
    progress: &Progress,
    outputs: &mut Outputs,
    afterwards: &mut crate::Afterwards,
    cancel: impl Future<Output = String>,
) -> Result<u8> {
    let files = load_files(d)?;
    let cancel = cancel.shared();
    let result = async {
        let checked = async {
            let clients = aws::Clients::from_env(settings).await?;
            let p = prepare(&clients, d, files, progress, outputs).await?;
            Ok((clients, p))
        };
        let (clients, mut p) = before_any_change(checked, cancel.clone()).await?;
        if plan {
            controllers::alarms::announce(&clients, p.route.alarms(&p.service), progress).await;
            report_plan(&p, progress);
            if let Some(c) = cleanup(&p, None) {
                task_def::prune::plan(&clients, c, p.reuse_arn.is_none(), progress).await;
            }
            outputs.insert("deployment-status", "Planned".into());
            return Ok(0);
        }
        // `on-conflict: wait` waits before the scan starts: a wait that times out or is
        // cancelled must leave nothing written, not even a scan.
        if let (Some(c), OnConflict::Wait) = (&p.conflict, d.on_conflict) {
            let deadline = before_any_change(
                wait_for_clear(&clients, d, &p.route, c, progress),
                cancel.clone(),
            )
            .await?;
            p.conflict = None;
            p.deadline = Some(deadline);
        }
        scan_while_not_cancelled(&p, progress, outputs, cancel.clone()).await?;
        let end = execute(&clients, &p, progress, outputs, cancel).await?;
        outputs.insert("deployment-status", end.status.clone());
        // Why it failed, once the outputs are out: a report, bounded, never the exit code.
        if let Some(d) = diagnose_after(&clients, &p, &end, outputs) {
            afterwards.push(Box::pin(controllers::diagnose::after_failure(
                d,
                progress.clone(),
            )));
        }
        // A cleanup once the end state is known and good: the new revision is live and the
        // deployment over, so nothing a rollback needs can go. It waits for the outputs.
        if let Some(c) = cleanup_after(&p, &end, outputs) {
            afterwards.push(Box::pin(task_def::prune::after_deploy(
                clients.clone(),
                c,
                progress.clone(),
            )));
        }
        Ok(end.exit_code)
    }
    .await;
    if let Err(Error::Cancelled { .. }) = &result {
        outputs.insert("deployment-status", "Cancelled".into());
    }
    result
}

/// The scans to start, raced against the cancel signal: a cancellation while ECR scans is the
/// last moment nothing but the scan has been written.
pub(super) async fn scan_while_not_cancelled(
    p: &Prepared<'_>,
    progress: &Progress,
    outputs: &mut Outputs,
    cancel: impl Future<Output = String>,
) -> Result<()> {
    scan_all_while_not_cancelled(&p.unscanned, &p.d.gate, progress, outputs, cancel).await
}

/// `scan_all`, raced against the cancel signal.
pub(super) async fn scan_all_while_not_cancelled(
    unscanned: &[stages::scan_gate::Resolution],
    gate: &crate::config::GateConfig,
    progress: &Progress,
    outputs: &mut Outputs,
    cancel: impl Future<Output = String>,
) -> Result<()> {
    if unscanned.is_empty() {
        return Ok(());
    }
    tokio::select! {
        biased;
        reason = cancel => Err(Error::Cancelled {
            problem: format!(
                "{reason}: cancelled while waiting for the image scan; only the scan was started, nothing else was written to AWS"
            ),
        }),
        r = scan_all(unscanned, gate, progress, outputs) => r,
    }
}

/// Every check before the first write: the live service and its controller, the deployment
/// group and config, the scan gate, the diff, and what is already in flight.
pub(super) async fn prepare<'a>(
    clients: &aws::Clients,
    d: &'a DeployConfig,
    files: Files,
    progress: &Progress,
    outputs: &mut Outputs,
) -> Result<Prepared<'a>> {
    let (mut td, mut reuse_arn) = from_source(clients, d, files.source).await?;
    // Before anything can print them: a secret in the task definition is hidden everywhere.
    redact::register_from_task_definition(&td.doc);
    let images = td.images.clone();
    for note in &td.notes {
        progress.emit(Event::Info(format!("task definition: {note}")));
    }
    // Every read that needs nothing but the inputs starts at once (round trips are the cost
    // in a real region): the service, CodeDeploy's group, config and deployments in flight, and
    // each image's digest and findings. What needs an answer (the live revision, the group's
    // own config) follows. Only reads: the first write still waits for every check.
    let arch = task_def::cpu_architecture(&td).map(str::to_string);
    let refs = verify_refs(d, &td);
    let images_read = async {
        tokio::join!(
            read_images(clients, d, &images, arch.as_deref(), progress),
            task_def::verify::check_all(clients, &refs)
        )
    };
    let service_checks = async {
        let (service, codedeploy_read) = tokio::join!(
            controllers::describe_service(clients, &d.cluster, &d.service),
            controllers::codedeploy::prefetch(clients, d)
        );
        let service = service?;
        // The live revision (for the diff) is read while the controller is checked.
        let live_read = async {
            match &service.task_definition {
                Some(arn) => Some(task_def::describe_live(clients, arn).await),
                None => None,
            }
        };
        let (route, live) = tokio::join!(
            controllers::route::route(
                clients,
                d,
                &service,
                files.appspec,
                &td,
                codedeploy_read,
                progress
            ),
            live_read
        );
        Ok::<_, Error>((service, route?, live))
    };
    // The service's checks come first, as they always have; a failure there need not wait
    // for a scan still running.
    let (service, route, live, conflict, read) = {
        tokio::pin!(images_read);
        tokio::pin!(service_checks);
        let mut images_early = None;
        let checked = loop {
            tokio::select! {
                checked = &mut service_checks => break checked,
                read = &mut images_read, if images_early.is_none() => images_early = Some(read),
            }
        };
        let (service, route, live) = checked?;
        let conflict = route.conflict(clients, d, &service).await?;
        if let Some(c) = &conflict {
            if d.on_conflict == OnConflict::Fail {
                return Err(Error::state(
                    format!(
                        "deployment {} is still in flight for {}/{}; starting another would fight it ({})",
                        c.id, d.cluster, d.service, c.url
                    ),
                    "wait for it to end or stop it, or set `on-conflict: wait` (or `attach` when it deploys this image)",
                ));
            }
            progress.emit(Event::Info(format!(
                "deployment {} is in flight ({})",
                c.id, c.url
            )));
        }
        let read = match images_early {
            Some(read) => read,
            None => images_read.await,
        };
        (service, route, live, conflict, read)
    };
    let (read, verified) = read;
    task_def::verify::judge(&td.path, verified, progress)?;
    let resolutions = pin_images(&mut td, d, &images, read, progress, outputs)?;
    if let Some(rt) = &d.run_task {
        controllers::task::check(rt, &td.doc, service.network.as_ref())?;
    }

    if let (Some(live_arn), Some(live)) = (&service.task_definition, live) {
        let unchanged = report_diff(live_arn, live, &td, progress);
        if unchanged && reuse_arn.is_none() && !d.force_new_deployment {
            progress.emit(Event::Info(format!(
                "not registering a copy of {live_arn}; set force-new-deployment to register one anyway"
            )));
            reuse_arn = Some(live_arn.clone());
        }
    }

    let attach = match (&conflict, d.on_conflict) {
        (Some(c), OnConflict::Attach) => {
            if !same_images(clients, c.task_definition.as_deref(), &td, &images).await {
                return Err(Error::state(
                    format!(
                        "deployment {} is in flight for {}/{} with other images than this one; `on-conflict: attach` only follows a deployment of this very image",
                        c.id, d.cluster, d.service
                    ),
                    "wait for it to end (`on-conflict: wait`) or stop it, then run again",
                ));
            }
            Some(c.clone())
        }
        _ => None,
    };
    // The gate last.
    let unscanned = judge_scanned(resolutions, d, progress, outputs)?;
    Ok(Prepared {
        d,
        service,
        route,
        conflict,
        attach,
        td,
        reuse_arn,
        unscanned,
        deadline: None,
    })
}

/// The revision to build on: the file, or a registered task definition, which is deployed as it
/// is (its ARN returned) or used as the base of a new revision when there is something to render
/// into it.
pub(super) async fn from_source(
    clients: &aws::Clients,
    d: &DeployConfig,
    source: task_def::Source,
) -> Result<(task_def::TaskDef, Option<String>)> {
    Ok(match source {
        task_def::Source::File(td) => (td, None),
        task_def::Source::Registered(reference) => {
            let (arn, doc) = task_def::describe_live(clients, &reference).await.map_err(|e| match e {
                Error::Aws { code: Some(code), message, .. } if code == "ClientException" => Error::input(
                    "task-definition",
                    format!("`{reference}` is neither a file nor a registered task definition ({code}: {message})"),
                    "give a task definition file, an ARN, `family:revision` or `family`",
                ),
                other => other,
            })?;
            let mut td = task_def::from_value(
                std::path::Path::new(&reference),
                "",
                serde_json::Value::Object(doc),
            )?;
            task_def::render(&mut td, "", d)?;
            let untouched = td.images.is_empty() && d.render.is_empty();
            (td, untouched.then_some(arn))
        }
    })
}

/// What `verify` checks of the revision (nothing with `verify: false`): all but the images the
/// run replaces, which the gate resolves itself.
pub(super) fn verify_refs(
    d: &DeployConfig,
    td: &task_def::TaskDef,
) -> Vec<task_def::verify::Reference> {
    if !d.verify {
        return Vec::new();
    }
    let replaced: Vec<&str> = td.images.iter().map(|(c, _)| c.as_str()).collect();
    task_def::verify::references(&td.doc, &replaced)
}

/// Each image's digest and scan findings, all at once (reads only).
pub(super) async fn read_images(
    clients: &aws::Clients,
    d: &DeployConfig,
    images: &[(String, stages::image::ImageRef)],
    arch: Option<&str>,
    progress: &Progress,
) -> Vec<Result<ImageRead>> {
    futures_util::future::join_all(images.iter().map(|(_, image)| async move {
        let res = stages::scan_gate::resolve_image(clients, image, &d.gate, arch).await?;
        let scanned = stages::scan_gate::scan_findings(&res, &d.gate, false, progress).await?;
        Ok::<_, Error>((res, scanned))
    }))
    .await
}

/// An image resolved to its digest, with its findings when it has a scan.
pub(super) type ImageRead = (
    stages::scan_gate::Resolution,
    Option<stages::scan_gate::Scanned>,
);

/// Pins each image into its container at the digest it was resolved to; the digest that is
/// judged afterwards is the one pinned (promise 2).
pub(super) fn pin_images(
    td: &mut task_def::TaskDef,
    d: &DeployConfig,
    images: &[(String, stages::image::ImageRef)],
    read: Vec<Result<ImageRead>>,
    progress: &Progress,
    outputs: &mut Outputs,
) -> Result<Vec<ImageRead>> {
    let mut resolutions = Vec::new();
    for ((container, image), read) in images.iter().zip(read) {
        let (res, scanned) = read?;
        res.announce(&d.gate, progress);
        if !res.digest.is_empty() {
            outputs.insert("image-digest", res.digest.clone());
        }
        task_def::pin_image(td, container, &res.pinned, &image.to_string());
        outputs.entry("image").or_insert(res.pinned.clone());
        resolutions.push((res, scanned));
    }
    // Pinning adds a digest and a label per image: the limit is on what will be sent.
    task_def::check_size(td)?;
    Ok(resolutions)
}

/// Judges the images already scanned, so a blocked one fails before any write; returns those
/// with no scan yet (starting one is a write, left for after every check has passed).
pub(super) fn judge_scanned(
    resolutions: Vec<ImageRead>,
    d: &DeployConfig,
    progress: &Progress,
    outputs: &mut Outputs,
) -> Result<Vec<stages::scan_gate::Resolution>> {
    let mut unscanned = Vec::new();
    for (res, scanned) in resolutions {
        match scanned {
            Some(scanned) => {
                record(
                    stages::scan_gate::verdict(&res, scanned, &d.gate, progress)?,
                    outputs,
                )?;
            }
            None => unscanned.push(res),
        }
    }
    Ok(unscanned)
}

/// Judges one image and records the verdict's outputs, which a blocked image sets too before
/// it fails the run (exit 3).
async fn judge(
    res: &stages::scan_gate::Resolution,
    gate: &crate::config::GateConfig,
    may_start: bool,
    progress: &Progress,
    outputs: &mut Outputs,
) -> Result<Option<stages::scan_gate::Gated>> {
    let Some(gated) = stages::scan_gate::judge(res, gate, may_start, progress).await? else {
        return Ok(None);
    };
    record(gated, outputs).map(Some)
}

/// Records a verdict's outputs, which a blocked image sets too before it fails the run.
fn record(
    gated: stages::scan_gate::Gated,
    outputs: &mut Outputs,
) -> Result<stages::scan_gate::Gated> {
    outputs.extend(gated.outputs());
    gated.passed()
}

/// Starts the scans no image had yet (the first write of a deploy) and judges them once they
/// have finished.
pub(super) async fn scan_unscanned(
    p: &Prepared<'_>,
    progress: &Progress,
    outputs: &mut Outputs,
) -> Result<()> {
    scan_all(&p.unscanned, &p.d.gate, progress, outputs).await
}

/// Starts the scans of `unscanned` and judges them once they have finished.
pub(super) async fn scan_all(
    unscanned: &[stages::scan_gate::Resolution],
    gate: &crate::config::GateConfig,
    progress: &Progress,
    outputs: &mut Outputs,
) -> Result<()> {
    for res in unscanned {
        if judge(res, gate, true, progress, outputs).await?.is_none() {
            return Err(Error::Gate {
                message: format!("no scan verdict for {}; failing closed", res.pinned),
            });
        }
    }
    Ok(())
}

/// Runs `work`, the part of a deploy that writes nothing, unless the run is cancelled first.
pub(super) async fn before_any_change<T>(
    work: impl Future<Output = Result<T>>,
    cancel: impl Future<Output = String>,
) -> Result<T> {
    tokio::select! {
        biased;
        reason = cancel => Err(cancelled_before_any_change(&reason)),
        r = work => r,
    }
}

pub(super) fn cancelled_before_any_change(reason: &str) -> Error {
    Error::Cancelled {
        problem: format!("{reason}: cancelled before any change; nothing was written to AWS"),
    }
}

/// Plan mode's verdict: what merging would do.
pub(super) fn report_plan(p: &Prepared<'_>, progress: &Progress) {
    let d = p.d;
    let what = match (&p.attach, &p.reuse_arn) {
        (Some(c), _) => format!("follow deployment {} already deploying this image", c.id),
        (None, Some(arn)) => format!("deploy the registered {arn}"),
        (None, None) => format!("register a new `{}` revision and deploy it", p.td.family),
    };
    let after = match (&p.conflict, d.on_conflict) {
        (Some(c), OnConflict::Wait) => format!(" once deployment {} has ended", c.id),
        _ => String::new(),
    };
    progress.emit(Event::Planned {
        what: format!(
            "merging this will {what} to {}/{} with {}{after}",
            d.cluster,
            d.service,
            p.route.describe()
        ),
    });
}

/// The writes: register (unless reused), start, follow.
pub(super) async fn execute(
    clients: &aws::Clients,
    p: &Prepared<'_>,
    progress: &Progress,
    outputs: &mut Outputs,
    cancel: impl Future<Output = String>,
) -> Result<controllers::watch::WatchEnd> {
    let d = p.d;
    let cancel = cancel.shared();
    if let Some(c) = &p.attach {
        progress.emit(Event::Info(format!(
            "following deployment {}, which already deploys this image (on-conflict: attach)",
            c.id
        )));
        outputs.insert("deployment-id", c.id.clone());
        return p
            .route
            .follow(clients, d, c, &p.service, progress, p.deadline, cancel)
            .await;
    }

    // Writes start here; a cancellation that came in meanwhile is honoured between them.
    if let Some(reason) = cancel.clone().now_or_never() {
        return Err(cancelled_before_any_change(&reason));
    }
    let register = async {
        match &p.reuse_arn {
            Some(arn) => {
                progress.emit(Event::Info(format!(
                    "deploying the registered {arn} as it is"
                )));
                Ok(arn.clone())
            }
            None => {
                let arn = task_def::register(clients, &p.td).await?;
                progress.emit(Event::TaskDefinitionRegistered { arn: arn.clone() });
                Ok::<_, Error>(arn)
            }
        }
    };
    // The alarms that will watch the deployment are read meanwhile: no round trip of its own.
    let (arn, ()) = tokio::join!(
        register,
        controllers::alarms::announce(clients, p.route.alarms(&p.service), progress)
    );
    let arn = arn?;
    outputs.insert("task-definition-arn", arn.clone());
    if let Some(reason) = cancel.clone().now_or_never() {
        let live = p
            .service
            .task_definition
            .as_deref()
            .unwrap_or("its current revision");
        return Err(Error::Cancelled {
            problem: format!(
                "{reason} after {arn} was registered: no deployment was started, so {}/{} still runs {live}",
                d.cluster, d.service
            ),
        });
    }
    let mut deadline = p.deadline;
    if let Some(rt) = &d.run_task {
        // The one-off task (a migration, say) runs before the service is updated, as in the
        // AWS action; its wait starts the run's one deadline, which the deployment keeps.
        let opts = controllers::task::watch_options(d, deadline);
        deadline = opts.deadline;
        let end = controllers::task::run(
            clients,
            &d.cluster,
            &arn,
            rt,
            &p.td.doc,
            p.service.network.as_ref(),
            &opts,
            progress,
            outputs,
            cancel.clone(),
        )
        .await?;
        let live = p
            .service
            .task_definition
            .as_deref()
            .unwrap_or("its current revision");
        if let Some(reason) = cancel.clone().now_or_never() {
            return Err(Error::Cancelled {
                problem: format!(
                    "{reason} while the one-off task ran: it was stopped (StopTask) and no deployment was started, so {}/{} still runs {live}",
                    d.cluster, d.service
                ),
            });
        }
        if end.exit_code != 0 {
            progress.emit(Event::Info(format!(
                "no deployment was started: {}/{} still runs {live}",
                d.cluster, d.service
            )));
            return Ok(end);
        }
    }
    p.route
        .start(
            clients, d, &p.service, &arn, progress, outputs, deadline, cancel,
        )
        .await
}

/// The cleanup a deploy that ended as `end` leaves to do: only after a success, where the new
/// revision is live and the deployment over.
pub(super) fn cleanup_after(
    p: &Prepared<'_>,
    end: &controllers::watch::WatchEnd,
    outputs: &Outputs,
) -> Option<task_def::prune::Cleanup> {
    let succeeded =
        end.exit_code == 0 && matches!(end.status.as_str(), "Succeeded" | "TrafficShifted");
    succeeded
        .then(|| cleanup(p, outputs.get("task-definition-arn")))
        .flatten()
}

/// The diagnosis a deploy that ended as `end` calls for: a deployment of a registered revision
/// that did not succeed (a one-off task's failure has been shown already, and READY is not
/// a failure).
pub(super) fn diagnose_after(
    clients: &aws::Clients,
    p: &Prepared<'_>,
    end: &controllers::watch::WatchEnd,
    outputs: &Outputs,
) -> Option<controllers::diagnose::Diagnose> {
    if end.exit_code == 0 || end.status.starts_with("Task") {
        return None;
    }
    Some(controllers::diagnose::Diagnose {
        clients: clients.clone(),
        cluster: p.d.cluster.clone(),
        service: p.d.service.clone(),
        revision: outputs.get("task-definition-arn")?.clone(),
        doc: p.td.doc.clone(),
        log_lines: p.d.diagnose_log_lines,
        alarms: p.route.alarms(&p.service).to_vec(),
        target_group_names: match &p.route {
            controllers::route::Route::CodeDeploy { checked, .. } => checked.target_groups.clone(),
            controllers::route::Route::Ecs { .. } => Vec::new(),
        },
        target_group_arns: p.service.target_group_arns.clone(),
    })
}

/// `keep-task-definition-revisions`, when set: the family, and the revisions it must keep
/// whatever the service says afterwards (the one deployed, the one it replaced, and any a
/// deployment in flight before this run used).
fn cleanup(p: &Prepared<'_>, deployed: Option<&String>) -> Option<task_def::prune::Cleanup> {
    let keep = p.d.keep_revisions?;
    let protected = deployed
        .into_iter()
        .chain(p.service.task_definition.iter())
        .chain(
            p.service
                .deployments
                .iter()
                .filter_map(|d| d.task_definition.as_ref()),
        )
        .chain(p.attach.iter().filter_map(|c| c.task_definition.as_ref()))
        .cloned()
        .collect();
    Some(task_def::prune::Cleanup {
        cluster: p.d.cluster.clone(),
        service: p.d.service.clone(),
        family: p.td.family.clone(),
        keep,
        protected,
    })
}
