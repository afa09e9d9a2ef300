//! greenlight: ship a container image to Amazon ECS safely.
//!
//! `run` executes one command from a validated `Config`. Every check that needs no AWS write
//! happens before the first write (DESIGN.md §3).

pub mod aws;
pub mod cli;
pub mod config;
pub mod error;
pub mod gha;
pub mod report;
pub mod stages;

use std::collections::BTreeMap;
use std::future::Future;

use config::{Config, DeployConfig, Job, WaitUntil};
use error::{Error, Result};
use report::{Event, Progress};
use stages::appspec::AppSpec;
use stages::deploy::{self, Controller, codedeploy, poll::Poller};
use stages::task_def;

/// Every output greenlight sets; a test keeps action.yml identical.
pub const OUTPUT_NAMES: &[&str] = &[
    "task-definition-arn",
    "codedeploy-deployment-id",
    "deployment-status",
    "image",
    "image-tag",
    "image-digest",
    "scan-critical",
    "scan-high",
    "scan-medium",
    "scan-low",
    "sarif-file",
];

/// Outputs gathered during the run; written even when the run fails part-way, so a workflow
/// still learns the task definition ARN or deployment id that was created.
pub type Outputs = BTreeMap<&'static str, String>;

/// The (container, image) pairs to gate and pin, parsed before any AWS call.
fn images_to_deploy(
    d: &DeployConfig,
    td: &task_def::TaskDef,
) -> Result<Vec<(String, stages::image::ImageRef)>> {
    task_def::effective_images(td, d)?
        .into_iter()
        .map(|(container, image)| {
            let parsed = stages::image::ImageRef::parse(&image).map_err(|e| {
                Error::input(
                    "image",
                    e.to_string(),
                    "give a reference like `123456789012.dkr.ecr.us-east-1.amazonaws.com/web:20261123120000-abc1234`",
                )
            })?;
            Ok((container, parsed))
        })
        .collect()
}

/// Shows what this deployment changes against the revision the service runs now, and says
/// whether they are the same revision in substance. A diff is a report: failing to read the
/// live revision only warns (and then nothing counts as unchanged).
async fn report_diff(
    clients: &aws::Clients,
    live_arn: &str,
    td: &task_def::TaskDef,
    progress: &Progress,
) -> bool {
    let live = match task_def::describe_live(clients, live_arn).await {
        Ok((_, live)) => live,
        Err(e) => {
            progress.emit(Event::Warning(format!(
                "no diff against the live task definition: {e}"
            )));
            return false;
        }
    };
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

/// `status`: the service's controller, live revision and images, and the deployment in flight
/// with its traffic split. Reads only.
async fn status(v: &config::VerbConfig, progress: &Progress, outputs: &mut Outputs) -> Result<u8> {
    let clients = aws::Clients::from_env().await?;
    let service = deploy::describe_service(&clients, &v.cluster, &v.service).await?;
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
    for (k, val) in &rows {
        progress.emit(Event::Info(format!("{k}: {val}")));
    }
    progress.emit(Event::ServiceState { rows });
    Ok(0)
}

/// Runs the command. Returns the exit code for a run that reached a verdict (0 or 1); errors
/// carry their own exit code.
pub async fn run(
    cfg: &Config,
    progress: &Progress,
    outputs: &mut Outputs,
    cancel: impl Future<Output = ()>,
) -> Result<u8> {
    for w in &cfg.warnings {
        progress.emit(Event::Warning(w.clone()));
    }
    if let Some((cluster, service)) = cfg.job.target() {
        progress.emit(Event::Target {
            command: cfg.command.name().to_string(),
            cluster: cluster.to_string(),
            service: service.to_string(),
        });
    }
    match &cfg.job {
        Job::Deploy(d) => deploy(d, false, progress, outputs, cancel).await,
        Job::Plan(d) => deploy(d, true, progress, outputs, cancel).await,
        Job::Tag(t) => stages::image::run_tag(t, progress, outputs).await,
        Job::Promote(v) => {
            let clients = aws::Clients::from_env().await?;
            let id = codedeploy::find_deployment(&clients, v).await?;
            outputs.insert("codedeploy-deployment-id", id.clone());
            codedeploy::promote(&clients, &id, progress).await?;
            let opts = codedeploy::WatchOptions::from(v);
            let end = codedeploy::watch(&clients, &opts, &id, progress, Poller::from_env(), cancel)
                .await?;
            outputs.insert("deployment-status", end.status);
            Ok(end.exit_code)
        }
        Job::Status(v) => status(v, progress, outputs).await,
        Job::Abort(v) => {
            let clients = aws::Clients::from_env().await?;
            let id = codedeploy::find_deployment(&clients, v).await?;
            outputs.insert("codedeploy-deployment-id", id.clone());
            codedeploy::abort(&clients, &id, progress).await?;
            // Already stopping: a cancellation now has nothing more to stop.
            let opts = codedeploy::WatchOptions::from(v);
            let end = codedeploy::watch(
                &clients,
                &opts,
                &id,
                progress,
                Poller::from_env(),
                std::future::pending(),
            )
            .await?;
            let aborted = end.status == "Stopped";
            outputs.insert("deployment-status", end.status);
            Ok(if aborted { 0 } else { 1 })
        }
    }
}

/// `deploy`, or with `plan` every check and the diff and then a stop before the first write.
async fn deploy(
    d: &DeployConfig,
    plan: bool,
    progress: &Progress,
    outputs: &mut Outputs,
    cancel: impl Future<Output = ()>,
) -> Result<u8> {
    // Files first: a typo in them must not cost a single AWS call.
    let source = task_def::prepare(d)?;
    let user_appspec = d.appspec.as_deref().map(AppSpec::load).transpose()?;

    let clients = aws::Clients::from_env().await?;
    // A registered task definition is deployed as it is, or used as the base of a new revision
    // when there is something to render into it.
    let (mut td, mut reuse_arn) = match source {
        task_def::Source::File(td) => (td, None),
        task_def::Source::Registered(reference) => {
            let (arn, doc) = task_def::describe_live(&clients, &reference).await.map_err(|e| match e {
                Error::Aws { message, .. } if message.starts_with("ClientException") => Error::input(
                    "task-definition",
                    format!("`{reference}` is neither a file nor a registered task definition ({message})"),
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
            let untouched = task_def::effective_images(&td, d)?.is_empty() && d.render.is_empty();
            (td, untouched.then_some(arn))
        }
    };
    let images = images_to_deploy(d, &td)?;
    for note in &td.notes {
        progress.emit(Event::Info(format!("task definition: {note}")));
    }
    let service = deploy::describe_service(&clients, &d.cluster, &d.service).await?;
    match service.controller {
        Controller::CodeDeploy => {}
        Controller::Ecs => {
            return Err(Error::state(
                format!(
                    "service `{}` uses the ECS deployment controller; this release deploys CODE_DEPLOY services only",
                    d.service
                ),
                "deploy a service whose deploymentController is CODE_DEPLOY",
            ));
        }
        Controller::External => {
            return Err(Error::state(
                format!(
                    "service `{}` uses the EXTERNAL deployment controller, which greenlight cannot drive",
                    d.service
                ),
                "deploy it with the tool that owns its task sets",
            ));
        }
    }
    let appspec = match (user_appspec, &service.load_balancer) {
        (Some(spec), _) => {
            spec.check_against(
                &format!(
                    "AppSpec {}",
                    d.appspec
                        .as_deref()
                        .unwrap_or_else(|| "".as_ref())
                        .display()
                ),
                &td,
            )?;
            spec
        }
        (None, Some((name, port))) => {
            let spec = AppSpec::generate(name, *port);
            spec.check_against(
                &format!("the load balancer of service `{}`", d.service),
                &td,
            )?;
            spec
        }
        (None, None) => {
            return Err(Error::input(
                "codedeploy-appspec",
                format!(
                    "service `{}` has no load balancer to derive an AppSpec from",
                    d.service
                ),
                "give an AppSpec file with LoadBalancerInfo.ContainerName and ContainerPort",
            ));
        }
    };
    let checked = codedeploy::precheck(&clients, d).await?;
    progress.emit(Event::Info(format!(
        "deployment config {} ({})",
        checked.config_name, checked.routing
    )));
    if d.wait_until == WaitUntil::Ready && !checked.waits_at_ready {
        progress.emit(Event::Warning(format!(
            "wait-until: ready, but deployment group `{}` shifts traffic without waiting (deploymentReadyOption is not STOP_DEPLOYMENT); waiting until complete instead",
            d.deployment_group
        )));
    }
    // The gate reads ECR only; the image that passed is pinned by digest into the container.
    for (container, image) in &images {
        let gated = stages::scan_gate::gate_image(
            &clients,
            image,
            &d.gate,
            task_def::cpu_architecture(&td),
            progress,
            outputs,
        )
        .await?;
        task_def::pin_image(&mut td, container, &gated.pinned, &image.to_string());
        outputs.entry("image").or_insert(gated.pinned);
    }

    if let Some(live_arn) = &service.task_definition {
        let unchanged = report_diff(&clients, live_arn, &td, progress).await;
        if unchanged && reuse_arn.is_none() && !d.force_new_deployment {
            progress.emit(Event::Info(format!(
                "not registering a copy of {live_arn}; set force-new-deployment to register one anyway"
            )));
            reuse_arn = Some(live_arn.clone());
        }
    }

    if plan {
        let what = match &reuse_arn {
            Some(arn) => format!("deploy the registered {arn}"),
            None => format!("register a new `{}` revision and deploy it", td.family),
        };
        progress.emit(Event::Planned {
            what: format!(
                "merging this will {what} to {}/{} with {} ({})",
                d.cluster, d.service, checked.config_name, checked.routing
            ),
        });
        outputs.insert("deployment-status", "Planned".into());
        return Ok(0);
    }

    // Writes start here.
    let arn = match reuse_arn {
        Some(arn) => {
            progress.emit(Event::Info(format!(
                "deploying the registered {arn} as it is"
            )));
            arn
        }
        None => {
            let arn = task_def::register(&clients, &td).await?;
            progress.emit(Event::TaskDefinitionRegistered { arn: arn.clone() });
            arn
        }
    };
    outputs.insert("task-definition-arn", arn.clone());

    let id = codedeploy::start(&clients, d, &checked, appspec.render(&arn)).await?;
    outputs.insert("codedeploy-deployment-id", id.clone());
    progress.emit(Event::DeploymentCreated {
        id: id.clone(),
        config: checked.config_name.clone(),
        console_url: codedeploy::console_url(&clients.region, &id),
    });

    if d.wait_until == WaitUntil::None {
        let snap = codedeploy::read(&clients, &id, &mut None).await?;
        outputs.insert("deployment-status", snap.status);
        return Ok(0);
    }
    let end = codedeploy::watch(
        &clients,
        &codedeploy::WatchOptions::from(d),
        &id,
        progress,
        Poller::from_env(),
        cancel,
    )
    .await?;
    outputs.insert("deployment-status", end.status);
    Ok(end.exit_code)
}
