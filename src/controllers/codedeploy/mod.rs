//! CodeDeploy blue/green: check the application, group and config, start the deployment, and
//! watch it to an end state, stopping it with rollback on timeout or cancellation.

use std::future::Future;

use aws_sdk_codedeploy::types::{
    AppSpecContent, DeploymentReadyAction, DeploymentStatus, RevisionLocation,
    RevisionLocationType, TargetLabel, TrafficRoutingType,
};

use crate::aws::Clients;
use crate::config::{DeployConfig, VerbConfig};
use crate::controllers::poll::Poller;
use crate::controllers::watch::{Observation, Phase, Promotion, Stop, Tracker};
pub use crate::controllers::watch::{WatchEnd, WatchOptions};
use crate::error::{Error, Result, sdk_error_code};
use crate::event::{Event, Progress};
use crate::stages::did_you_mean;

pub mod verbs;

/// CodeDeploy's own default for ECS deployment groups without a config.
pub const DEFAULT_CONFIG: &str = "CodeDeployDefault.ECSAllAtOnce";

pub const PREDEFINED_CONFIGS: &[&str] = &[
    "CodeDeployDefault.ECSAllAtOnce",
    "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
    "CodeDeployDefault.ECSLinear10PercentEvery3Minutes",
    "CodeDeployDefault.ECSCanary10Percent5Minutes",
    "CodeDeployDefault.ECSCanary10Percent15Minutes",
];

/// Everything checked before the first write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub config_name: String,
    pub routing: String,
    /// The group pauses at READY until ContinueDeployment.
    pub waits_at_ready: bool,
    /// The group's deployments that have not ended.
    pub in_flight: Vec<String>,
    /// Canary or linear: the time between two traffic steps.
    pub step_interval: Option<std::time::Duration>,
    /// The CloudWatch alarms that stop the deployment (the group's `alarmConfiguration`,
    /// when enabled).
    pub alarms: Vec<String>,
    /// The group's target groups, by name.
    pub target_groups: Vec<String>,
    /// What `verify` could not check of the group's load balancer, for the log.
    pub warnings: Vec<String>,
}

/// The reads a CodeDeploy deploy needs that depend on nothing but the inputs: the group (its
/// default name is known before the service is described), the deployments in flight, and the
/// config when it is named. Started with the first wave, before the controller is known; for a
/// service CodeDeploy does not deploy they are dropped unread (reads only, never a write).
pub struct Prefetched {
    group: Result<aws_sdk_codedeploy::operation::get_deployment_group::GetDeploymentGroupOutput>,
    in_flight: Result<Vec<String>>,
    named_config: Option<Result<ConfigRead>>,
}

type ConfigRead = aws_sdk_codedeploy::operation::get_deployment_config::GetDeploymentConfigOutput;

/// Starts every read `precheck` needs that needs nothing else, at once.
pub async fn prefetch(clients: &Clients, cfg: &DeployConfig) -> Prefetched {
    let named = async {
        match &cfg.deployment_config {
            Some(name) => Some(read_config(clients, name).await),
            None => None,
        }
    };
    let (group, in_flight, named_config) = tokio::join!(
        read_group(clients, cfg),
        in_flight(clients, &cfg.application, &cfg.deployment_group),
        named
    );
    Prefetched {
        group,
        in_flight,
        named_config,
    }
}

async fn read_group(
    clients: &Clients,
    cfg: &DeployConfig,
) -> Result<aws_sdk_codedeploy::operation::get_deployment_group::GetDeploymentGroupOutput> {
    clients
        .codedeploy
        .get_deployment_group()
        .application_name(&cfg.application)
        .deployment_group_name(&cfg.deployment_group)
        .send()
        .await
        .map_err(|e| match sdk_error_code(&e) {
            Some("ApplicationDoesNotExistException") => Error::state(
                format!(
                    "CodeDeploy application `{}` does not exist",
                    cfg.application
                ),
                "set `codedeploy-application` (default AppECS-{cluster}-{service})",
            ),
            Some("DeploymentGroupDoesNotExistException") => Error::state(
                format!(
                    "deployment group `{}` does not exist in application `{}`",
                    cfg.deployment_group, cfg.application
                ),
                "set `codedeploy-deployment-group` (default DgpECS-{cluster}-{service})",
            ),
            _ => Error::aws("GetDeploymentGroup", &e),
        })
}

async fn read_config(clients: &Clients, config_name: &str) -> Result<ConfigRead> {
    clients
        .codedeploy
        .get_deployment_config()
        .deployment_config_name(config_name)
        .send()
        .await
        .map_err(|e| match sdk_error_code(&e) {
            Some("DeploymentConfigDoesNotExistException") => {
                let hint = did_you_mean(config_name, PREDEFINED_CONFIGS.iter().copied())
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| {
                        format!("predefined ECS configs: {}", PREDEFINED_CONFIGS.join(", "))
                    });
                Error::input(
                    "codedeploy-deployment-config",
                    format!("deployment config `{config_name}` does not exist"),
                    hint,
                )
            }
            _ => Error::aws("GetDeploymentConfig", &e),
        })
}

/// Checks the group, its service and its config from what `prefetch` read; only the group's
/// own config, when none is named, is read now (it is named by the group's answer).
pub async fn precheck(clients: &Clients, cfg: &DeployConfig, read: Prefetched) -> Result<Checked> {
    let group = read.group?;
    let info = group.deployment_group_info().ok_or_else(|| {
        Error::aws_reply(
            "CodeDeploy",
            "GetDeploymentGroup",
            "the response has no deploymentGroupInfo",
        )
    })?;

    let targets_service = info.ecs_services().iter().any(|s| {
        s.service_name() == Some(cfg.service.as_str())
            && s.cluster_name().map(last_segment) == Some(last_segment(&cfg.cluster))
    });
    if !targets_service {
        return Err(Error::state(
            format!(
                "deployment group `{}` does not deploy service `{}` in cluster `{}` (it targets {})",
                cfg.deployment_group,
                cfg.service,
                cfg.cluster,
                info.ecs_services()
                    .iter()
                    .map(|s| format!(
                        "{}/{}",
                        s.cluster_name().unwrap_or("?"),
                        s.service_name().unwrap_or("?")
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "point `codedeploy-deployment-group` at the group of this service",
        ));
    }

    let config_name = cfg
        .deployment_config
        .clone()
        .or_else(|| info.deployment_config_name().map(str::to_string))
        .unwrap_or_else(|| DEFAULT_CONFIG.to_string());
    let config_read = async {
        match read.named_config {
            Some(config) => config,
            None => read_config(clients, &config_name).await,
        }
    };
    // The load balancer is checked meanwhile: no round trip of its own.
    let (config, warnings) = tokio::join!(config_read, check_load_balancer(clients, cfg, info));
    let (config, warnings) = (config?, warnings?);
    let routing = config
        .deployment_config_info()
        .and_then(|i| i.traffic_routing_config())
        .map(|r| match r.r#type() {
            Some(TrafficRoutingType::TimeBasedCanary) => r
                .time_based_canary()
                .map(|c| {
                    format!(
                        "canary: {}% first, the rest after {} min",
                        c.canary_percentage(),
                        c.canary_interval()
                    )
                })
                .unwrap_or_else(|| "canary".into()),
            Some(TrafficRoutingType::TimeBasedLinear) => r
                .time_based_linear()
                .map(|l| {
                    format!(
                        "linear: {}% more every {} min",
                        l.linear_percentage(),
                        l.linear_interval()
                    )
                })
                .unwrap_or_else(|| "linear".into()),
            _ => "all at once".into(),
        })
        .unwrap_or_else(|| "all at once".into());

    let step_interval = config
        .deployment_config_info()
        .and_then(|i| i.traffic_routing_config())
        .and_then(|r| match r.r#type() {
            Some(TrafficRoutingType::TimeBasedCanary) => {
                r.time_based_canary().map(|c| c.canary_interval())
            }
            Some(TrafficRoutingType::TimeBasedLinear) => {
                r.time_based_linear().map(|l| l.linear_interval())
            }
            _ => None,
        })
        .and_then(|minutes| u64::try_from(minutes).ok())
        .map(|minutes| std::time::Duration::from_secs(minutes * 60));
    let waits_at_ready = info
        .blue_green_deployment_configuration()
        .and_then(|b| b.deployment_ready_option())
        .and_then(|r| r.action_on_timeout())
        == Some(&DeploymentReadyAction::StopDeployment);

    let alarms = info
        .alarm_configuration()
        .filter(|a| a.enabled())
        .map(|a| {
            a.alarms()
                .iter()
                .filter_map(|x| x.name().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Ok(Checked {
        config_name,
        routing,
        waits_at_ready,
        in_flight: read.in_flight?,
        step_interval,
        alarms,
        target_groups: target_groups(info),
        warnings,
    })
}

fn target_groups(info: &aws_sdk_codedeploy::types::DeploymentGroupInfo) -> Vec<String> {
    info.load_balancer_info()
        .and_then(|l| l.target_group_pair_info_list().first())
        .map(|p| {
            p.target_groups()
                .iter()
                .filter_map(|t| t.name().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A read's failure as its error code and the error; `None` when it was not made or answered.
fn failed<T, E>(
    read: Option<std::result::Result<T, aws_sdk_ecs::error::SdkError<E>>>,
    operation: &'static str,
) -> Option<(Option<String>, Error)>
where
    E: aws_sdk_ecs::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    let e = read?.err()?;
    Some((
        sdk_error_code(&e).map(str::to_string),
        Error::aws(operation, &e),
    ))
}

/// `verify`: the group's target groups and listeners exist. A missing one is exit 2 naming
/// the group; a read refused or failed is a warning (returned for the log).
async fn check_load_balancer(
    clients: &Clients,
    cfg: &DeployConfig,
    info: &aws_sdk_codedeploy::types::DeploymentGroupInfo,
) -> Result<Vec<String>> {
    use crate::stages::task_def::verify::denied;
    if !cfg.verify {
        return Ok(Vec::new());
    }
    let names = target_groups(info);
    let pair = info
        .load_balancer_info()
        .and_then(|l| l.target_group_pair_info_list().first());
    let listeners: Vec<String> = pair
        .into_iter()
        .flat_map(|p| {
            p.prod_traffic_route()
                .into_iter()
                .chain(p.test_traffic_route())
                .flat_map(|r| r.listener_arns().to_vec())
        })
        .collect();
    let group = &cfg.deployment_group;
    let (tgs, ls) = tokio::join!(
        async {
            if names.is_empty() {
                return None;
            }
            Some(
                clients
                    .elb
                    .describe_target_groups()
                    .set_names(Some(names.clone()))
                    .send()
                    .await,
            )
        },
        async {
            if listeners.is_empty() {
                return None;
            }
            Some(
                clients
                    .elb
                    .describe_listeners()
                    .set_listener_arns(Some(listeners.clone()))
                    .send()
                    .await,
            )
        }
    );
    let tgs = failed(tgs, "DescribeTargetGroups");
    let ls = failed(ls, "DescribeListeners");
    let mut warnings = Vec::new();
    for (failed, not_found, what, permission, problem, fix) in [
        (
            tgs,
            "TargetGroupNotFound",
            "target groups",
            "elasticloadbalancing:DescribeTargetGroups",
            format!("shifts traffic between target groups {}", names.join(", ")),
            "correct the group's loadBalancerInfo.targetGroupPairInfoList, or create the target group",
        ),
        (
            ls,
            "ListenerNotFound",
            "listeners",
            "elasticloadbalancing:DescribeListeners",
            format!("routes traffic through listeners {}", listeners.join(", ")),
            "correct the group's prodTrafficRoute/testTrafficRoute listener ARNs, or create the listener",
        ),
    ] {
        let Some((code, e)) = failed else { continue };
        if code.as_deref() == Some(not_found) {
            return Err(Error::state(
                format!(
                    "deployment group `{group}` {problem}, and ELBv2 does not have them all ({e})"
                ),
                fix,
            ));
        }
        warnings.push(if denied(code.as_deref()) {
            format!(
                "the {what} of deployment group `{group}` were not verified: the credentials lack {permission}"
            )
        } else {
            format!("the {what} of deployment group `{group}` were not verified: {e}")
        });
    }
    Ok(warnings)
}

/// The task definition a deployment deploys, read from its AppSpec content.
pub async fn task_definition_of(clients: &Clients, id: &str) -> Result<Option<String>> {
    let out = clients
        .codedeploy
        .get_deployment()
        .deployment_id(id)
        .send()
        .await
        .map_err(|e| Error::aws("GetDeployment", &e))?;
    Ok(out.deployment_info().and_then(deployed_task_definition))
}

/// The task definition a deployment's AppSpec names.
fn deployed_task_definition(info: &aws_sdk_codedeploy::types::DeploymentInfo) -> Option<String> {
    info.revision()
        .and_then(|r| r.app_spec_content())
        .and_then(|c| c.content())
        .and_then(crate::stages::appspec::task_definition_in)
}

/// The group's newest deployments (ListDeployments' first 25, which hold the ones `rollback`
/// looks for), optionally only those with `status`, each read with GetDeployment.
async fn recent_deployments(
    clients: &Clients,
    application: &str,
    group: &str,
    status: Option<DeploymentStatus>,
) -> Result<Vec<(String, aws_sdk_codedeploy::types::DeploymentInfo)>> {
    let out = clients
        .codedeploy
        .list_deployments()
        .application_name(application)
        .deployment_group_name(group)
        .set_include_only_statuses(status.map(|s| vec![s]))
        .send()
        .await
        .map_err(|e| Error::aws("ListDeployments", &e))?;
    let mut found = Vec::new();
    for id in out.deployments().iter().take(25) {
        let info = clients
            .codedeploy
            .get_deployment()
            .deployment_id(id)
            .send()
            .await
            .map_err(|e| Error::aws("GetDeployment", &e))?;
        if let Some(info) = info.deployment_info() {
            found.push((id.clone(), info.clone()));
        }
    }
    Ok(found)
}

fn last_segment(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

pub fn console_url(region: &str, id: &str) -> String {
    format!(
        "https://{region}.console.aws.amazon.com/codesuite/codedeploy/deployments/{id}?region={region}"
    )
}

/// CreateDeployment with the AppSpec content; returns the deployment id.
pub async fn start(
    clients: &Clients,
    cfg: &DeployConfig,
    checked: &Checked,
    appspec: (String, String),
) -> Result<String> {
    let (content, sha256) = appspec;
    let revision = RevisionLocation::builder()
        .revision_type(RevisionLocationType::AppSpecContent)
        .app_spec_content(
            AppSpecContent::builder()
                .content(content)
                .sha256(sha256)
                .build(),
        )
        .build();
    let mut req = clients
        .codedeploy
        .create_deployment()
        .application_name(&cfg.application)
        .deployment_group_name(&cfg.deployment_group)
        .deployment_config_name(&checked.config_name)
        .revision(revision);
    if let Some(d) = &cfg.description {
        req = req.description(d);
    }
    let out = req
        .send()
        .await
        .map_err(|e| Error::aws("CreateDeployment", &e))?;
    out.deployment_id().map(str::to_string).ok_or_else(|| {
        Error::aws_reply(
            "CodeDeploy",
            "CreateDeployment",
            "the response has no deploymentId",
        )
    })
}

/// One read of the deployment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub status: String,
    pub error: Option<String>,
    pub rollback: Option<String>,
    /// Who created it: `user`, `autoscaling`, `codeDeployRollback` (CodeDeploy's own rollback
    /// of another deployment) …
    pub creator: Option<String>,
    /// The rollback deployment CodeDeploy created for this one.
    pub rollback_id: Option<String>,
    /// For a rollback deployment: the deployment it rolls back.
    pub rollback_of: Option<String>,
    /// Lifecycle events in CodeDeploy's order.
    pub events: Vec<(String, String)>,
    /// Seconds each ended lifecycle event took, by its own start and end times.
    pub took: std::collections::BTreeMap<String, f64>,
    /// Messages of failed lifecycle hooks, verbatim.
    pub hook_failures: Vec<String>,
    /// Percent (green, blue).
    pub traffic: Option<(f64, f64)>,
    /// The replacement (green) task set's running, desired and pending tasks.
    pub tasks: Option<(i64, i64, i64)>,
    /// Minutes the original task set is kept after the traffic shift.
    pub termination_wait_minutes: i32,
    /// The ECS target's own status (Pending, InProgress, Ready, Succeeded, Failed, Skipped).
    pub target_status: Option<String>,
    pub target_updated: Option<aws_smithy_types::DateTime>,
}

/// The `creator` of the deployments CodeDeploy makes to roll another one back.
pub const ROLLBACK_CREATOR: &str = "codeDeployRollback";

impl Snapshot {
    /// CodeDeploy's own rollback of another deployment.
    pub fn is_rollback(&self) -> bool {
        self.creator.as_deref() == Some(ROLLBACK_CREATOR)
    }

    pub fn is_terminal(&self) -> bool {
        matches!(self.status.as_str(), "Succeeded" | "Failed" | "Stopped")
    }

    /// Every bit of production traffic is on the replacement, the last traffic hook passed,
    /// and only a termination wait of the original task set is left.
    pub fn traffic_shifted(&self) -> bool {
        self.status == "InProgress"
            && self.termination_wait_minutes > 0
            && self
                .events
                .iter()
                .any(|(n, s)| n == "AfterAllowTraffic" && s == "Succeeded")
            && self.traffic.is_some_and(|(green, _)| green >= 100.0)
    }
}

/// Reads the deployment and its ECS target (two round trips; the watch mostly needs one).
pub async fn read(clients: &Clients, id: &str, target: &mut Option<String>) -> Result<Snapshot> {
    let mut snap = Snapshot::default();
    read_deployment(clients, id, &mut snap).await?;
    read_target(clients, id, target, &mut snap).await?;
    Ok(snap)
}

/// GetDeployment: the deployment's status, error, rollback and termination wait.
async fn read_deployment(clients: &Clients, id: &str, snap: &mut Snapshot) -> Result<()> {
    let out = clients
        .codedeploy
        .get_deployment()
        .deployment_id(id)
        .send()
        .await
        .map_err(|e| Error::aws("GetDeployment", &e))?;
    if let Some(info) = out.deployment_info() {
        snap.status = info
            .status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        snap.error = info.error_information().and_then(|e| {
            e.message()
                .map(|m| format!("{}: {m}", e.code().map(|c| c.as_str()).unwrap_or("ERROR")))
        });
        snap.termination_wait_minutes = info
            .blue_green_deployment_configuration()
            .and_then(|b| b.terminate_blue_instances_on_deployment_success())
            .map(|t| t.termination_wait_time_in_minutes())
            .unwrap_or(0);
        snap.rollback = info
            .rollback_info()
            .and_then(|r| r.rollback_message())
            .map(str::to_string);
        snap.rollback_id = info
            .rollback_info()
            .and_then(|r| r.rollback_deployment_id())
            .map(str::to_string);
        snap.rollback_of = info
            .rollback_info()
            .and_then(|r| r.rollback_triggering_deployment_id())
            .map(str::to_string);
        snap.creator = info.creator().map(|c| c.as_str().to_string());
    }
    Ok(())
}

/// GetDeployment alone: status, creator and rollback, without the target.
pub async fn describe(clients: &Clients, id: &str) -> Result<Snapshot> {
    let mut snap = Snapshot::default();
    read_deployment(clients, id, &mut snap).await?;
    Ok(snap)
}

/// BatchGetDeploymentTargets (after ListDeploymentTargets finds the target once): lifecycle
/// events, traffic and task sets, replacing what `snap` held of them.
async fn read_target(
    clients: &Clients,
    id: &str,
    target: &mut Option<String>,
    snap: &mut Snapshot,
) -> Result<()> {
    let cd = &clients.codedeploy;
    if target.is_none() {
        match cd.list_deployment_targets().deployment_id(id).send().await {
            Ok(ids) => *target = ids.target_ids().first().cloned(),
            // A Created deployment has no targets yet; the next read asks again.
            Err(e) if sdk_error_code(&e) == Some("DeploymentNotStartedException") => {}
            Err(e) => return Err(Error::aws("ListDeploymentTargets", &e)),
        }
    }
    let Some(t) = target.as_deref() else {
        return Ok(());
    };
    let out = cd
        .batch_get_deployment_targets()
        .deployment_id(id)
        .target_ids(t)
        .send()
        .await
        .map_err(|e| Error::aws("BatchGetDeploymentTargets", &e))?;
    let Some(ecs) = out
        .deployment_targets()
        .first()
        .and_then(|d| d.ecs_target())
    else {
        return Ok(());
    };
    snap.target_status = ecs.status().map(|s| s.as_str().to_string());
    snap.target_updated = ecs.last_updated_at().copied();
    snap.events.clear();
    snap.took.clear();
    snap.hook_failures.clear();
    snap.traffic = None;
    snap.tasks = None;
    for ev in ecs.lifecycle_events() {
        let name = ev.lifecycle_event_name().unwrap_or("?").to_string();
        let status = ev
            .status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        if status == "Failed"
            && let Some(msg) = ev.diagnostics().and_then(|d| d.message())
        {
            snap.hook_failures.push(format!("{name}: {msg}"));
        }
        if let (Some(start), Some(end)) = (ev.start_time(), ev.end_time()) {
            snap.took
                .insert(name.clone(), end.as_secs_f64() - start.as_secs_f64());
        }
        snap.events.push((name, status));
    }
    let sets = ecs.task_sets_info();
    if !sets.is_empty() {
        let weight = |label: TargetLabel| {
            sets.iter()
                .filter(|s| s.task_set_label() == Some(&label))
                .map(|s| s.traffic_weight())
                .sum::<f64>()
        };
        snap.traffic = Some((weight(TargetLabel::Green), weight(TargetLabel::Blue)));
        snap.tasks = sets
            .iter()
            .find(|s| s.task_set_label() == Some(&TargetLabel::Green))
            .map(|s| (s.running_count(), s.desired_count(), s.pending_count()));
    }
    Ok(())
}

/// Emits what changed between two snapshots; true when anything did.
fn emit_changes(prev: &Snapshot, next: &Snapshot, progress: &Progress) -> bool {
    let mut changed = false;
    for (name, status) in &next.events {
        let before = prev
            .events
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s.as_str());
        if before != Some(status.as_str()) && !(before.is_none() && status == "Pending") {
            progress.emit(Event::Lifecycle {
                name: name.clone(),
                status: status.clone(),
                took: next.took.get(name).copied(),
            });
            changed = true;
        }
    }
    if let Some((green, blue)) = next.traffic {
        let rounded = |t: Option<(f64, f64)>| t.map(|(g, b)| (g.round() as i64, b.round() as i64));
        if rounded(prev.traffic) != rounded(next.traffic) && (green > 0.0 || prev.traffic.is_some())
        {
            progress.emit(Event::Traffic { green, blue });
            changed = true;
        }
    }
    if let Some((running, desired, pending)) = next.tasks
        && prev.tasks != next.tasks
    {
        let n = |v: i64| i32::try_from(v).unwrap_or(i32::MAX);
        progress.emit(Event::Tasks {
            running: n(running),
            desired: n(desired),
            pending: n(pending),
            failed: 0,
        });
        changed = true;
    }
    if prev.status != next.status {
        progress.emit(Event::Status {
            status: next.status.clone(),
        });
        changed = true;
    }
    changed
}

/// Ids of the group's deployments that have not ended.
pub async fn in_flight(clients: &Clients, application: &str, group: &str) -> Result<Vec<String>> {
    let out = clients
        .codedeploy
        .list_deployments()
        .application_name(application)
        .deployment_group_name(group)
        .include_only_statuses(DeploymentStatus::Created)
        .include_only_statuses(DeploymentStatus::Queued)
        .include_only_statuses(DeploymentStatus::InProgress)
        .include_only_statuses(DeploymentStatus::Baking)
        .include_only_statuses(DeploymentStatus::Ready)
        .send()
        .await
        .map_err(|e| Error::aws("ListDeployments", &e))?;
    Ok(out.deployments().to_vec())
}

/// The task definition that ran before `live`: that of the group's newest succeeded
/// deployment deploying something else (CodeDeploy keeps no record of what it replaced).
pub async fn previous_task_definition(
    clients: &Clients,
    application: &str,
    group: &str,
    live: &str,
) -> Result<Option<String>> {
    let mut found = Vec::new();
    for (_, info) in recent_deployments(
        clients,
        application,
        group,
        Some(DeploymentStatus::Succeeded),
    )
    .await?
    {
        if let Some(td) = deployed_task_definition(&info) {
            let at = info.create_time().map(|t| (t.secs(), t.subsec_nanos()));
            found.push((at, td));
        }
    }
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    Ok(found
        .into_iter()
        .map(|(_, td)| td)
        .find(|td| td != live && !live.ends_with(td.as_str())))
}

/// A deployment of the group that has ended, as `rollback` needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Past {
    pub id: String,
    pub status: String,
    /// What it deployed, from its AppSpec.
    pub task_definition: Option<String>,
    /// The rollback deployment CodeDeploy created for it.
    pub rollback_id: Option<String>,
}

/// The group's newest deployment that is not one of CodeDeploy's own rollbacks.
pub async fn last_deployment(
    clients: &Clients,
    application: &str,
    group: &str,
) -> Result<Option<Past>> {
    let mut newest: Option<((i64, u32), Past)> = None;
    for (id, info) in recent_deployments(clients, application, group, None).await? {
        if info.creator().map(|c| c.as_str()) == Some(ROLLBACK_CREATOR) {
            continue;
        }
        let at = info
            .create_time()
            .map(|t| (t.secs(), t.subsec_nanos()))
            .unwrap_or_default();
        if newest.as_ref().is_some_and(|(n, _)| *n >= at) {
            continue;
        }
        let past = Past {
            id,
            status: info
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            task_definition: deployed_task_definition(&info),
            rollback_id: info
                .rollback_info()
                .and_then(|r| r.rollback_deployment_id())
                .map(str::to_string),
        };
        newest = Some((at, past));
    }
    Ok(newest.map(|(_, p)| p))
}

/// The deployment a verb acts on: the given id, or the one in flight for the group.
pub async fn find_deployment(clients: &Clients, v: &VerbConfig) -> Result<String> {
    if let Some(id) = &v.deployment_id {
        return Ok(id.clone());
    }
    match in_flight(clients, &v.application, &v.deployment_group)
        .await?
        .as_slice()
    {
        [one] => Ok(one.clone()),
        [] => Err(Error::state(
            format!("no deployment is in flight for `{}`", v.deployment_group),
            "start one with `deploy`, or name a finished one with `deployment-id`",
        )),
        many => Err(Error::state(
            format!(
                "{} deployments are in flight for `{}`: {}",
                many.len(),
                v.deployment_group,
                many.join(", ")
            ),
            "name the one to act on with `deployment-id`",
        )),
    }
}

/// Continues a deployment waiting at READY (ContinueDeployment READY_WAIT).
pub async fn promote(clients: &Clients, id: &str, progress: &Progress) -> Result<()> {
    let snap = read(clients, id, &mut None).await?;
    if snap.status != "Ready" {
        return Err(Error::state(
            format!(
                "deployment {id} is {}, not waiting at READY; there is nothing to promote",
                snap.status
            ),
            "promote a blue/green deployment whose group waits for promotion (deploymentReadyOption STOP_DEPLOYMENT)",
        ));
    }
    clients
        .codedeploy
        .continue_deployment()
        .deployment_id(id)
        .deployment_wait_type(aws_sdk_codedeploy::types::DeploymentWaitType::ReadyWait)
        .send()
        .await
        .map_err(|e| Error::aws("ContinueDeployment", &e))?;
    progress.emit(Event::Info(format!(
        "promoted {id}: shifting production traffic"
    )));
    Ok(())
}

/// Stops a deployment with rollback (an operator's abort, not a timeout).
pub async fn abort(clients: &Clients, id: &str, progress: &Progress) -> Result<()> {
    progress.emit(Event::StopRequested {
        reason: "aborted by the operator; rolling back".into(),
    });
    match stop_deployment(clients, id, true).await? {
        Stop::AlreadyEnded => Err(Error::state(
            format!("deployment {id} has already ended; there is nothing to abort"),
            "deploy the previous revision to go back",
        )),
        _ => Ok(()),
    }
}

/// Watches a CodeDeploy deployment of `service` (cluster, service) to its end (see
/// `watch::watch`).
pub async fn watch(
    clients: &Clients,
    opts: &WatchOptions,
    id: &str,
    service: (&str, &str),
    progress: &Progress,
    poller: Poller,
    cancel: impl Future<Output = String>,
) -> Result<WatchEnd> {
    let mut tracker = CodeDeployTracker::new(clients, opts, id, service);
    super::watch::watch(&mut tracker, opts, progress, poller, cancel).await
}

/// After a deploy's deployment `id` ended stopped or failed: when CodeDeploy rolls it back with
/// a deployment of its own, waits up to `within` for that one to end (reading only, never
/// stopping it) and says how it ended and which revision the service runs, so the step ends
/// saying where the service stands rather than "rollback in progress". The deploy's own end
/// state is already known, so a failed read here is a warning, not an error.
pub async fn await_rollback(
    clients: &Clients,
    id: &str,
    service: (&str, &str),
    within: std::time::Duration,
    progress: &Progress,
    mut poller: Poller,
) {
    let deadline = tokio::time::Instant::now() + within;
    let warn = |what: String| progress.emit(Event::Warning(what));
    let rollback_id = match describe(clients, id).await {
        Ok(snap) => snap.rollback_id,
        Err(e) => {
            warn(format!(
                "could not read whether CodeDeploy rolls {id} back ({e}); check the service in the console"
            ));
            return;
        }
    };
    let Some(rollback_id) = rollback_id else {
        return;
    };
    progress.emit(Event::Info(format!(
        "CodeDeploy rolls {id} back with deployment {rollback_id}: waiting for it to end"
    )));
    let mut last = String::new();
    let status = loop {
        let read = tokio::time::timeout_at(deadline, describe(clients, &rollback_id)).await;
        let changed = match read {
            Err(_) => break None,
            Ok(Err(e)) if !e.is_transient() => {
                warn(format!(
                    "reading rollback deployment {rollback_id} failed ({e})"
                ));
                break None;
            }
            Ok(Err(_)) => false,
            Ok(Ok(snap)) if snap.is_terminal() => break Some(snap.status),
            Ok(Ok(snap)) => {
                let changed = snap.status != last;
                last = snap.status;
                changed
            }
        };
        let wait = poller.next(changed);
        if tokio::time::Instant::now() + wait >= deadline {
            break None;
        }
        tokio::time::sleep(wait).await;
    };
    let (cluster, name) = service;
    let Some(status) = status else {
        warn(format!(
            "rollback deployment {rollback_id} had not ended {} s after {id} did; it goes on (greenlight never stops a rollback): follow it in the console",
            within.as_secs()
        ));
        return;
    };
    let runs = match super::describe_service(clients, cluster, name).await {
        Ok(s) => s
            .task_definition
            .map(|td| td.rsplit('/').next().unwrap_or(&td).to_string())
            .unwrap_or_else(|| "no task definition".into()),
        Err(e) => {
            warn(format!(
                "reading {cluster}/{name} after the rollback failed ({e})"
            ));
            return;
        }
    };
    let line = format!("rollback deployment {rollback_id} {status}: {cluster}/{name} runs {runs}");
    if status == "Succeeded" {
        progress.emit(Event::Info(line));
    } else {
        warn(line);
    }
}

/// Why a verb follows a deployment it will not stop itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Following {
    /// CodeDeploy's own rollback deployment: never stopped, since a stopped rollback leaves
    /// production traffic wherever it is at that moment.
    Rollback,
    /// A deployment we have just asked to stop (`abort`): its end is the outcome asked for.
    OurStop,
}

/// Watches deployment `id` to its end, as `why` says.
pub async fn follow(
    clients: &Clients,
    opts: &WatchOptions,
    id: &str,
    service: (&str, &str),
    progress: &Progress,
    why: Following,
) -> Result<WatchEnd> {
    let mut tracker = CodeDeployTracker::new(clients, opts, id, service);
    match why {
        Following::Rollback => tracker.may_stop = false,
        Following::OurStop => tracker.stop_requested = true,
    }
    super::watch::watch(
        &mut tracker,
        opts,
        progress,
        Poller::from_env(),
        std::future::pending(),
    )
    .await
}

/// A CodeDeploy deployment being followed.
pub struct CodeDeployTracker<'a> {
    clients: &'a Clients,
    id: String,
    target: Option<String>,
    last: Snapshot,
    wait_for_stability: bool,
    step_interval: Option<std::time::Duration>,
    /// When the traffic last moved to a partial split: the next step is one interval later.
    step_seen: Option<tokio::time::Instant>,
    /// When GetDeployment was last read; `None` reads it on the next poll whatever the target
    /// says (at the start, and after our own stop).
    deployment_read: Option<tokio::time::Instant>,
    cluster: String,
    service: String,
    may_stop: bool,
    /// We asked for the stop (a timeout, a cancel, `abort`): its end is the outcome asked for,
    /// and the reason was said when it was asked, so the end is not reported as a failure.
    stop_requested: bool,
}

/// The longest the watch goes on the target alone before reading the deployment again: a stop
/// from elsewhere (the console, another run) need not show on the target.
const DEPLOYMENT_REFRESH: std::time::Duration = std::time::Duration::from_secs(60);

impl<'a> CodeDeployTracker<'a> {
    fn new(clients: &'a Clients, opts: &WatchOptions, id: &str, service: (&str, &str)) -> Self {
        CodeDeployTracker {
            clients,
            id: id.to_string(),
            target: None,
            last: Snapshot::default(),
            wait_for_stability: opts.wait_for_stability,
            step_interval: opts.step_interval,
            step_seen: None,
            deployment_read: None,
            cluster: service.0.to_string(),
            service: service.1.to_string(),
            may_stop: true,
            stop_requested: false,
        }
    }

    fn next_step_due(&self) -> Option<std::time::Duration> {
        let (interval, seen) = (self.step_interval?, self.step_seen?);
        let partial = self.last.traffic.is_some_and(|(g, _)| g > 0.0 && g < 100.0);
        partial.then(|| (seen + interval).saturating_duration_since(tokio::time::Instant::now()))
    }

    /// Whether this poll needs GetDeployment besides the target. The ECS target moves with the
    /// deployment (its status goes Ready, Succeeded or Failed with it, its events and update time
    /// change), so while the target stands still one read per poll is enough: only the traffic
    /// and task counts move, and those are the target's.
    fn deployment_due(&self, next: &Snapshot) -> bool {
        let prev = &self.last;
        self.target.is_none()
            || next.target_status.is_none()
            || self
                .deployment_read
                .is_none_or(|at| at.elapsed() >= DEPLOYMENT_REFRESH)
            || next.target_status != prev.target_status
            || next.target_updated != prev.target_updated
            || next.events != prev.events
            || matches!(
                next.target_status.as_deref(),
                Some("Succeeded" | "Failed" | "Skipped")
            )
    }
}

impl Tracker for CodeDeployTracker<'_> {
    async fn observe(&mut self, progress: &Progress) -> Result<Observation> {
        let mut snap = self.last.clone();
        read_target(self.clients, &self.id, &mut self.target, &mut snap).await?;
        if self.deployment_due(&snap) {
            read_deployment(self.clients, &self.id, &mut snap).await?;
            self.deployment_read = Some(tokio::time::Instant::now());
            // The deployment moved after the target was read: read the target again, so that
            // an end is reported with the lifecycle events and traffic it ended with.
            if snap.status != self.last.status {
                read_target(self.clients, &self.id, &mut self.target, &mut snap).await?;
            }
        }
        let moved = |t: Option<(f64, f64)>| t.map(|(g, _)| g.round() as i64);
        if moved(snap.traffic) != moved(self.last.traffic) {
            self.step_seen = Some(tokio::time::Instant::now());
        }
        let changed = emit_changes(&self.last, &snap, progress);
        self.last = snap;
        let phase = if self.last.is_terminal() {
            Phase::Ended(finish(&self.last, self.stop_requested, progress))
        } else if self.last.status == "Ready" {
            Phase::Ready
        } else if !self.wait_for_stability && self.last.traffic_shifted() {
            progress.emit(Event::Info(format!(
                "all production traffic is on the replacement and AfterAllowTraffic passed; not waiting out the original task set's {} min termination wait (wait-for-service-stability: false)",
                self.last.termination_wait_minutes
            )));
            Phase::Ended(WatchEnd::new("TrafficShifted", 0))
        } else {
            Phase::Running
        };
        let due = self.next_step_due();
        Ok(Observation {
            changed,
            phase,
            due,
        })
    }

    async fn stop(&mut self, rollback: bool) -> Result<Stop> {
        self.deployment_read = None;
        self.stop_requested = true;
        stop_deployment(self.clients, &self.id, rollback).await
    }

    fn name(&self) -> String {
        self.id.clone()
    }

    fn promotion(&self) -> Option<Promotion> {
        Some(Promotion {
            cluster: self.cluster.clone(),
            service: self.service.clone(),
            deployment_id: self.id.clone(),
        })
    }

    fn may_stop(&self) -> bool {
        self.may_stop
    }
}

fn finish(snap: &Snapshot, stop_requested: bool, progress: &Progress) -> WatchEnd {
    let exit_code = if snap.status == "Succeeded" { 0 } else { 1 };
    if stop_requested && snap.status == "Stopped" && snap.hook_failures.is_empty() {
        progress.emit(Event::Info("the deployment stopped, as requested".into()));
    } else if exit_code != 0 {
        let mut reasons: Vec<String> = snap.hook_failures.clone();
        if let Some(e) = &snap.error {
            reasons.push(e.clone());
        }
        if reasons.is_empty() {
            reasons.push(format!("the deployment ended {}", snap.status));
        }
        progress.emit(Event::Failed {
            reason: reasons.join("; "),
        });
    }
    // A rollback deployment's own rollback message only names the deployment it rolls back.
    if let Some(msg) = &snap.rollback
        && !snap.is_rollback()
    {
        progress.emit(Event::RolledBack {
            message: msg.clone(),
        });
    }
    WatchEnd::new(snap.status.clone(), exit_code)
}

/// StopDeployment, with CodeDeploy's rollback when `rollback`.
pub async fn stop_deployment(clients: &Clients, id: &str, rollback: bool) -> Result<Stop> {
    match clients
        .codedeploy
        .stop_deployment()
        .deployment_id(id)
        .auto_rollback_enabled(rollback)
        .send()
        .await
    {
        Ok(_) => Ok(Stop::Requested),
        Err(e) if sdk_error_code(&e) == Some("DeploymentAlreadyCompletedException") => {
            Ok(Stop::AlreadyEnded)
        }
        Err(e) => Err(Error::aws("StopDeployment", &e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(prev: &Snapshot, next: &Snapshot) -> Vec<Event> {
        let (progress, mut rx) = crate::event::channel();
        emit_changes(prev, next, &progress);
        drop(progress);
        let mut out = Vec::new();
        while let Ok(e) = rx.try_recv() {
            out.push(e);
        }
        out
    }

    #[test]
    fn only_changes_are_emitted() {
        let a = Snapshot {
            status: "InProgress".into(),
            events: vec![
                ("BeforeInstall".into(), "Succeeded".into()),
                ("Install".into(), "Pending".into()),
            ],
            traffic: Some((0.0, 100.0)),
            ..Default::default()
        };
        assert_eq!(
            collect(&Snapshot::default(), &a),
            vec![
                Event::Lifecycle {
                    name: "BeforeInstall".into(),
                    status: "Succeeded".into(),
                    took: None,
                },
                Event::Status {
                    status: "InProgress".into()
                },
            ]
        );
        assert!(collect(&a, &a).is_empty());
        let mut b = a.clone();
        b.traffic = Some((10.0, 90.0));
        assert_eq!(
            collect(&a, &b),
            vec![Event::Traffic {
                green: 10.0,
                blue: 90.0
            }]
        );
    }

    #[test]
    fn failure_reason_keeps_hook_message() {
        let (progress, mut rx) = crate::event::channel();
        let snap = Snapshot {
            status: "Failed".into(),
            error: Some("HOOK_EXECUTION_FAILURE: lifecycle hook failed".into()),
            hook_failures: vec!["AfterAllowTestTraffic: smoke-test returned Failed".into()],
            rollback: Some("rolled back to web:7".into()),
            ..Default::default()
        };
        assert_eq!(
            finish(&snap, false, &progress),
            WatchEnd {
                status: "Failed".into(),
                exit_code: 1
            }
        );
        assert_eq!(
            rx.try_recv().unwrap(),
            Event::Failed {
                reason: "AfterAllowTestTraffic: smoke-test returned Failed; HOOK_EXECUTION_FAILURE: lifecycle hook failed".into()
            }
        );
        assert_eq!(
            rx.try_recv().unwrap(),
            Event::RolledBack {
                message: "rolled back to web:7".into()
            }
        );
    }

    #[test]
    fn our_own_stop_is_not_reported_as_a_failure() {
        let snap = Snapshot {
            status: "Stopped".into(),
            error: Some(
                "MANUAL_STOP: The deployment was stopped by a StopDeployment request.".into(),
            ),
            ..Default::default()
        };
        let (progress, mut rx) = crate::event::channel();
        assert_eq!(finish(&snap, true, &progress), WatchEnd::new("Stopped", 1));
        assert_eq!(
            rx.try_recv().unwrap(),
            Event::Info("the deployment stopped, as requested".into())
        );
        assert!(rx.try_recv().is_err());
        // Stopped by someone else (the console, another run), it is the run's failure.
        let (progress, mut rx) = crate::event::channel();
        assert_eq!(finish(&snap, false, &progress), WatchEnd::new("Stopped", 1));
        assert_eq!(
            rx.try_recv().unwrap(),
            Event::Failed {
                reason: "MANUAL_STOP: The deployment was stopped by a StopDeployment request."
                    .into()
            }
        );
    }

    #[test]
    fn console_link() {
        assert_eq!(
            console_url("eu-west-1", "d-ABC"),
            "https://eu-west-1.console.aws.amazon.com/codesuite/codedeploy/deployments/d-ABC?region=eu-west-1"
        );
    }
}
