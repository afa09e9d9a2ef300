//! The ECS deployment controller: a rolling update, or the ECS-native BLUE_GREEN, LINEAR and
//! CANARY strategies. Both start with UpdateService. A rolling update is followed through the
//! service's PRIMARY deployment and its events (circuit breaker, placement failures); a native
//! one through DescribeServiceDeployments (lifecycle stages, hooks, traffic, rollback).

use std::collections::HashSet;

use aws_sdk_ecs::types::{
    DeploymentConfiguration, DeploymentLifecycleHookStatus, DeploymentLifecycleHookTargetType,
    DeploymentStrategy, PropagateTags, StopServiceDeploymentStopType,
};

use crate::aws::Clients;
use crate::config::DeployConfig;
use crate::error::{Error, Result, sdk_error_code};
use crate::event::{Event, Progress};
use crate::stages::deploy::watch::{Observation, Phase, Stop, Tracker, WatchEnd};

/// How an ECS-controller service deploys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    Rolling,
    /// BLUE_GREEN, LINEAR or CANARY, with its traffic routing in words.
    Native {
        kind: String,
        routing: String,
    },
}

impl Strategy {
    pub fn of(conf: &DeploymentConfiguration) -> Strategy {
        let bake = conf
            .bake_time_in_minutes()
            .map(|m| format!("; {m} min bake"))
            .unwrap_or_default();
        match conf.strategy() {
            Some(DeploymentStrategy::BlueGreen) => Strategy::Native {
                kind: "BLUE_GREEN".into(),
                routing: format!("all production traffic at once{bake}"),
            },
            Some(DeploymentStrategy::Canary) => Strategy::Native {
                kind: "CANARY".into(),
                routing: conf
                    .canary_configuration()
                    .map(|c| {
                        format!(
                            "canary: {}% first, the rest after {} min{bake}",
                            c.canary_percent().unwrap_or(0.0),
                            c.canary_bake_time_in_minutes().unwrap_or(0)
                        )
                    })
                    .unwrap_or_else(|| format!("canary{bake}")),
            },
            Some(DeploymentStrategy::Linear) => Strategy::Native {
                kind: "LINEAR".into(),
                routing: conf
                    .linear_configuration()
                    .map(|l| {
                        format!(
                            "linear: {}% more every {} min{bake}",
                            l.step_percent().unwrap_or(0.0),
                            l.step_bake_time_in_minutes().unwrap_or(0)
                        )
                    })
                    .unwrap_or_else(|| format!("linear{bake}")),
            },
            _ => Strategy::Rolling,
        }
    }

    pub fn name(&self) -> String {
        match self {
            Strategy::Rolling => "ECS rolling update".into(),
            Strategy::Native { kind, .. } => format!("ECS {kind}"),
        }
    }
}

/// One entry of the service's `deployments`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeploymentView {
    pub id: String,
    /// PRIMARY, ACTIVE or INACTIVE.
    pub status: String,
    pub task_definition: Option<String>,
    /// IN_PROGRESS, COMPLETED or FAILED.
    pub rollout_state: Option<String>,
    pub reason: Option<String>,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    pub failed: i32,
}

pub fn views(deployments: &[aws_sdk_ecs::types::Deployment]) -> Vec<DeploymentView> {
    deployments
        .iter()
        .map(|d| DeploymentView {
            id: d.id().unwrap_or_default().to_string(),
            status: d.status().unwrap_or_default().to_string(),
            task_definition: d.task_definition().map(str::to_string),
            rollout_state: d.rollout_state().map(|r| r.as_str().to_string()),
            reason: d.rollout_state_reason().map(str::to_string),
            desired: d.desired_count(),
            running: d.running_count(),
            pending: d.pending_count(),
            failed: d.failed_tasks(),
        })
        .collect()
}

/// The deployment in flight, if any: a PRIMARY still rolling out, or old tasks still draining.
pub fn in_flight(deployments: &[DeploymentView]) -> Option<&DeploymentView> {
    let primary = deployments.iter().find(|d| d.status == "PRIMARY")?;
    let rolling = primary.rollout_state.as_deref() == Some("IN_PROGRESS");
    (rolling || deployments.len() > 1).then_some(primary)
}

pub fn console_url(region: &str, cluster: &str, service: &str) -> String {
    let cluster = cluster.rsplit('/').next().unwrap_or(cluster);
    format!(
        "https://{region}.console.aws.amazon.com/ecs/v2/clusters/{cluster}/services/{service}/deployments?region={region}"
    )
}

/// What UpdateService started.
#[derive(Debug, Clone)]
pub struct Started {
    /// The new PRIMARY deployment (`ecs-svc/…`).
    pub deployment_id: String,
    /// False when ECS saw nothing to change and started no deployment.
    pub new: bool,
    previous_task_definition: Option<String>,
    seen_events: HashSet<String>,
    seen_service_deployments: HashSet<String>,
    /// Following a deployment started elsewhere: its past events are history, not news.
    quiet_first_read: bool,
}

impl Started {
    /// What a rolling stop goes back to: the revision the deployment replaces.
    pub fn previous_task_definition(&self) -> Option<&str> {
        self.previous_task_definition.as_deref()
    }

    /// A deployment in flight that greenlight did not start (`on-conflict: attach`).
    pub fn attach(service: &super::ServiceInfo, id: &str) -> Started {
        Started {
            deployment_id: id.to_string(),
            new: true,
            previous_task_definition: service
                .deployments
                .iter()
                .find(|v| v.status == "ACTIVE")
                .and_then(|v| v.task_definition.clone()),
            seen_events: HashSet::new(),
            seen_service_deployments: HashSet::new(),
            quiet_first_read: true,
        }
    }
}

/// UpdateService to the task definition. For native strategies the service deployments that
/// exist before are noted, so the one this call starts can be told apart.
pub async fn start(
    clients: &Clients,
    d: &DeployConfig,
    service: &super::ServiceInfo,
    task_definition_arn: &str,
) -> Result<Started> {
    let seen_service_deployments = match service.strategy {
        Strategy::Rolling => HashSet::new(),
        Strategy::Native { .. } => list_service_deployments(clients, &d.cluster, &d.service)
            .await?
            .into_iter()
            .map(|(arn, _)| arn)
            .collect(),
    };
    let mut req = clients
        .ecs
        .update_service()
        .cluster(&d.cluster)
        .service(&d.service)
        .task_definition(task_definition_arn)
        .force_new_deployment(d.force_new_deployment);
    if let Some(n) = d.desired_count {
        req = req.desired_count(n);
    }
    if let Some(p) = &d.propagate_tags {
        req = req.propagate_tags(PropagateTags::from(p.as_str()));
    }
    if let Some(b) = d.enable_ecs_managed_tags {
        req = req.enable_ecs_managed_tags(b);
    }
    let out = req
        .send()
        .await
        .map_err(|e| Error::aws("UpdateService", &e))?;
    let svc = out.service().ok_or_else(|| Error::Aws {
        operation: "UpdateService",
        message: "the response has no service".into(),
    })?;
    let after = views(svc.deployments());
    let primary = after
        .iter()
        .find(|v| v.status == "PRIMARY")
        .ok_or_else(|| Error::Aws {
            operation: "UpdateService",
            message: "the service has no PRIMARY deployment".into(),
        })?;
    Ok(Started {
        deployment_id: primary.id.clone(),
        new: !service.deployments.iter().any(|v| v.id == primary.id),
        previous_task_definition: service.task_definition.clone(),
        seen_events: svc
            .events()
            .iter()
            .filter_map(|e| e.id().map(str::to_string))
            .collect(),
        seen_service_deployments,
        quiet_first_read: false,
    })
}

/// (ARN, created at) of the service's recent service deployments.
async fn list_service_deployments(
    clients: &Clients,
    cluster: &str,
    service: &str,
) -> Result<Vec<(String, Option<aws_smithy_types::DateTime>)>> {
    let out = clients
        .ecs
        .list_service_deployments()
        .cluster(cluster)
        .service(service)
        .max_results(20)
        .send()
        .await
        .map_err(|e| Error::aws("ListServiceDeployments", &e))?;
    Ok(out
        .service_deployments()
        .iter()
        .filter_map(|b| {
            Some((
                b.service_deployment_arn()?.to_string(),
                b.created_at().copied(),
            ))
        })
        .collect())
}

fn short_task_definition(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// Service event messages that mean the new tasks will not run without someone acting.
fn is_placement_failure(message: &str) -> bool {
    message.contains("unable to place a task")
}

/// The circuit breaker's reason from its service event, in the words of the deployment's
/// `rolloutStateReason`: "(service web) (deployment ecs-svc/1) deployment failed: tasks failed
/// to start." reads "ECS deployment circuit breaker: tasks failed to start.".
fn breaker_reason(event: &str, deployment_id: &str) -> Option<String> {
    let marker = format!("(deployment {deployment_id}) deployment failed: ");
    let (_, why) = event.split_once(&marker)?;
    Some(format!("ECS deployment circuit breaker: {why}"))
}

fn is_task_failure(message: &str) -> bool {
    message.contains("failed to start")
        || message.contains("deployment failed")
        || message.contains("is unable to consistently start tasks")
}

/// A rollback under way: the deployment that restores the previous revision.
#[derive(Debug, Clone)]
struct RollingBack {
    id: String,
    /// Asked for by greenlight (timeout, cancellation, tasks that cannot be placed) rather
    /// than by the circuit breaker.
    requested: bool,
}

/// A rolling update being followed through DescribeServices.
pub struct RollingTracker<'a> {
    clients: &'a Clients,
    cluster: String,
    service: String,
    started: Started,
    last: Option<DeploymentView>,
    rolling_back: Option<RollingBack>,
    /// Why it failed, as the service events and the rollout state tell it.
    failure: Option<String>,
    last_problem: Option<String>,
    /// The first task failure: usually the cause (an image that cannot be pulled …).
    first_problem: Option<String>,
}

impl<'a> RollingTracker<'a> {
    pub fn new(clients: &'a Clients, cluster: &str, service: &str, started: Started) -> Self {
        RollingTracker {
            clients,
            cluster: cluster.to_string(),
            service: service.to_string(),
            started,
            last: None,
            rolling_back: None,
            failure: None,
            last_problem: None,
            first_problem: None,
        }
    }

    fn rollback_phase(
        &mut self,
        rb: &RollingBack,
        all: &[DeploymentView],
        progress: &Progress,
    ) -> Phase {
        let Some(r) = all.iter().find(|v| v.id == rb.id) else {
            progress.emit(Event::Failed {
                reason: format!("the rollback deployment {} disappeared", rb.id),
            });
            return Phase::Ended(WatchEnd::new("Failed", 1));
        };
        match r.rollout_state.as_deref() {
            Some("COMPLETED") => {
                let reason = self
                    .failure
                    .clone()
                    .unwrap_or_else(|| "stopped before it completed".into());
                progress.emit(Event::Failed { reason });
                progress.emit(Event::RolledBack {
                    message: format!(
                        "the service runs {} again",
                        r.task_definition
                            .as_deref()
                            .map(short_task_definition)
                            .unwrap_or("the previous revision")
                    ),
                });
                Phase::Ended(WatchEnd::new(
                    if rb.requested { "Stopped" } else { "Failed" },
                    1,
                ))
            }
            Some("FAILED") => {
                progress.emit(Event::Failed {
                    reason: format!(
                        "{}; the rollback failed too: {}",
                        self.failure.as_deref().unwrap_or("the deployment failed"),
                        r.reason.as_deref().unwrap_or("no reason given")
                    ),
                });
                Phase::Ended(WatchEnd::new("Failed", 1))
            }
            _ => Phase::Running,
        }
    }
}

impl Tracker for RollingTracker<'_> {
    async fn observe(&mut self, progress: &Progress) -> Result<Observation> {
        let out = self
            .clients
            .ecs
            .describe_services()
            .cluster(&self.cluster)
            .services(&self.service)
            .send()
            .await
            .map_err(|e| Error::aws("DescribeServices", &e))?;
        let svc = out.services().first().ok_or_else(|| Error::Aws {
            operation: "DescribeServices",
            message: format!("service `{}` is gone", self.service),
        })?;
        let mut changed = false;
        let mut doom = None;
        if std::mem::take(&mut self.started.quiet_first_read) {
            self.started.seen_events.extend(
                svc.events()
                    .iter()
                    .filter_map(|e| e.id().map(str::to_string)),
            );
        }
        // Events come newest first; the log reads oldest first.
        for ev in svc.events().iter().rev() {
            let (Some(id), Some(msg)) = (ev.id(), ev.message()) else {
                continue;
            };
            if !self.started.seen_events.insert(id.to_string()) {
                continue;
            }
            progress.emit(Event::Info(format!("  ecs: {msg}")));
            changed = true;
            if is_placement_failure(msg) {
                doom = Some(msg.to_string());
            }
            if is_task_failure(msg) || is_placement_failure(msg) {
                self.last_problem = Some(msg.to_string());
                self.first_problem.get_or_insert_with(|| msg.to_string());
            }
        }
        let all = views(svc.deployments());
        let ours = all
            .iter()
            .find(|v| v.id == self.started.deployment_id)
            .cloned();
        if let Some(o) = &ours
            && self.last.as_ref() != Some(o)
        {
            let before = self.last.as_ref();
            if before.map(|b| (b.running, b.desired, b.pending, b.failed))
                != Some((o.running, o.desired, o.pending, o.failed))
            {
                progress.emit(Event::Tasks {
                    running: o.running,
                    desired: o.desired,
                    pending: o.pending,
                    failed: o.failed,
                });
            }
            if before.and_then(|b| b.rollout_state.clone()) != o.rollout_state {
                progress.emit(Event::Status {
                    status: o.rollout_state.clone().unwrap_or_default(),
                });
            }
            self.last = Some(o.clone());
            changed = true;
        }

        if let Some(rb) = self.rolling_back.clone() {
            return Ok(Observation {
                changed,
                phase: self.rollback_phase(&rb, &all, progress),
                due: None,
            });
        }
        let phase = match &ours {
            Some(o) if o.status == "PRIMARY" && o.rollout_state.as_deref() == Some("COMPLETED") => {
                Phase::Ended(WatchEnd::new("Succeeded", 0))
            }
            Some(o) if o.rollout_state.as_deref() == Some("FAILED") => {
                let mut reason = o
                    .reason
                    .clone()
                    .unwrap_or_else(|| "the rollout failed".into());
                if let Some(p) = self.first_problem.as_ref().or(self.last_problem.as_ref()) {
                    reason = format!("{reason} ({p})");
                }
                self.failure = Some(reason.clone());
                match all
                    .iter()
                    .find(|v| v.status == "PRIMARY" && v.id != self.started.deployment_id)
                {
                    Some(p) => {
                        progress.emit(Event::Info(format!(
                            "the deployment circuit breaker rolls back to {}",
                            p.task_definition
                                .as_deref()
                                .map(short_task_definition)
                                .unwrap_or("the previous revision")
                        )));
                        self.rolling_back = Some(RollingBack {
                            id: p.id.clone(),
                            requested: false,
                        });
                        Phase::Running
                    }
                    None => {
                        progress.emit(Event::Failed { reason });
                        Phase::Ended(WatchEnd::new("Failed", 1))
                    }
                }
            }
            Some(_) => match doom {
                Some(reason) => {
                    self.failure = Some(reason.clone());
                    Phase::Doomed(reason)
                }
                None => Phase::Running,
            },
            None => match all.iter().find(|v| v.status == "PRIMARY") {
                // Replaced by someone else's deployment, or failed and rolled back between two
                // reads: the events tell which.
                Some(p) => {
                    let breaker = self
                        .last_problem
                        .as_deref()
                        .and_then(|e| breaker_reason(e, &self.started.deployment_id));
                    self.failure = match (&self.last_problem, &self.first_problem) {
                        // Worded as when the failed deployment is still listed, so the reason
                        // reads the same however the reads fell.
                        (Some(last), Some(first)) if breaker.is_some() => breaker.map(|b| {
                            if last == first {
                                b
                            } else {
                                format!("{b} ({first})")
                            }
                        }),
                        (Some(last), Some(first)) if last != first => {
                            Some(format!("{last} ({first})"))
                        }
                        (Some(last), _) => Some(last.clone()),
                        _ => Some(format!(
                            "deployment {} was replaced by {}",
                            self.started.deployment_id, p.id
                        )),
                    };
                    self.rolling_back = Some(RollingBack {
                        id: p.id.clone(),
                        requested: false,
                    });
                    Phase::Running
                }
                None => {
                    progress.emit(Event::Failed {
                        reason: format!("deployment {} vanished", self.started.deployment_id),
                    });
                    Phase::Ended(WatchEnd::new("Failed", 1))
                }
            },
        };
        Ok(Observation {
            changed,
            phase,
            due: None,
        })
    }

    async fn stop(&mut self, rollback: bool) -> Result<Stop> {
        let status = self
            .last
            .as_ref()
            .and_then(|l| l.rollout_state.clone())
            .unwrap_or_else(|| "IN_PROGRESS".into());
        if !rollback {
            // A rolling update has no stop without going back: leave it to ECS.
            return Ok(Stop::Abandoned(WatchEnd::new(status, 1)));
        }
        let Some(previous) = self.started.previous_task_definition.clone() else {
            return Ok(Stop::Abandoned(WatchEnd::new(status, 1)));
        };
        let out = self
            .clients
            .ecs
            .update_service()
            .cluster(&self.cluster)
            .service(&self.service)
            .task_definition(&previous)
            .send()
            .await
            .map_err(|e| Error::aws("UpdateService", &e))?;
        let primary = out
            .service()
            .map(|s| views(s.deployments()))
            .unwrap_or_default()
            .into_iter()
            .find(|v| v.status == "PRIMARY")
            .ok_or_else(|| Error::Aws {
                operation: "UpdateService",
                message: "the rollback started no PRIMARY deployment".into(),
            })?;
        self.rolling_back = Some(RollingBack {
            id: primary.id,
            requested: true,
        });
        Ok(Stop::Requested)
    }

    fn name(&self) -> String {
        self.started.deployment_id.clone()
    }
}

/// The lifecycle stages of a native deployment, in the order ECS runs them.
const STAGES: &[&str] = &[
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
    "BAKE_TIME",
    "CLEAN_UP",
];

/// The stages strictly between two known stages, when the second comes later.
fn stages_between(from: Option<&str>, to: Option<&str>) -> &'static [&'static str] {
    let at = |s: Option<&str>| s.and_then(|s| STAGES.iter().position(|x| *x == s));
    match (at(from), at(to)) {
        (Some(a), Some(b)) if b > a + 1 => &STAGES[a + 1..b],
        _ => &[],
    }
}

/// One read of a native service deployment.
#[derive(Debug, Clone, Default, PartialEq)]
struct NativeView {
    status: String,
    stage: Option<String>,
    reason: Option<String>,
    rollback_reason: Option<String>,
    /// Percent of production traffic (target, sources).
    traffic: Option<(f64, f64)>,
    tasks: Option<(i32, i32, i32)>,
    /// (hook id, stage) of PAUSE hooks waiting for ContinueServiceDeployment.
    awaiting: Vec<String>,
    hook_failures: Vec<String>,
}

/// An ECS-native BLUE_GREEN, LINEAR or CANARY deployment being followed.
pub struct NativeTracker<'a> {
    clients: &'a Clients,
    cluster: String,
    service: String,
    started: Started,
    arn: Option<String>,
    last: NativeView,
    stop_requested: bool,
}

impl<'a> NativeTracker<'a> {
    pub fn new(clients: &'a Clients, cluster: &str, service: &str, started: Started) -> Self {
        NativeTracker {
            clients,
            cluster: cluster.to_string(),
            service: service.to_string(),
            started,
            arn: None,
            last: NativeView::default(),
            stop_requested: false,
        }
    }

    /// The service deployment UpdateService started: the newest one not there before.
    async fn find(&mut self) -> Result<Option<String>> {
        if self.arn.is_none() {
            let mut fresh: Vec<_> =
                list_service_deployments(self.clients, &self.cluster, &self.service)
                    .await?
                    .into_iter()
                    .filter(|(arn, _)| !self.started.seen_service_deployments.contains(arn))
                    .collect();
            fresh.sort_by_key(|(_, at)| at.map(|t| (t.secs(), t.subsec_nanos())));
            self.arn = fresh.pop().map(|(arn, _)| arn);
        }
        Ok(self.arn.clone())
    }
}

fn native_view(sd: &aws_sdk_ecs::types::ServiceDeployment) -> NativeView {
    let target = sd.target_service_revision();
    let target_weight = target.and_then(|t| t.requested_production_traffic_weight());
    let source_weight: Option<f64> = sd
        .source_service_revisions()
        .iter()
        .map(|s| s.requested_production_traffic_weight())
        .sum();
    NativeView {
        status: sd
            .status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        stage: sd.lifecycle_stage().map(|s| s.as_str().to_string()),
        reason: sd.status_reason().map(str::to_string),
        rollback_reason: sd.rollback().and_then(|r| r.reason()).map(str::to_string),
        traffic: target_weight.map(|g| (g, source_weight.unwrap_or(100.0 - g))),
        tasks: target.map(|t| {
            (
                t.running_task_count(),
                t.requested_task_count(),
                t.pending_task_count(),
            )
        }),
        awaiting: sd
            .lifecycle_hook_details()
            .iter()
            .filter(|h| {
                h.status() == Some(&DeploymentLifecycleHookStatus::AwaitingAction)
                    && h.target_type() == Some(&DeploymentLifecycleHookTargetType::Pause)
            })
            .filter_map(|h| h.hook_id().map(str::to_string))
            .collect(),
        hook_failures: sd
            .lifecycle_hook_details()
            .iter()
            .filter(|h| {
                matches!(
                    h.status(),
                    Some(
                        DeploymentLifecycleHookStatus::Failed
                            | DeploymentLifecycleHookStatus::TimedOut
                    )
                )
            })
            .map(|h| {
                format!(
                    "lifecycle hook {} {}",
                    h.target_arn().or(h.hook_id()).unwrap_or("?"),
                    h.status().map(|s| s.as_str()).unwrap_or("failed")
                )
            })
            .collect(),
    }
}

impl Tracker for NativeTracker<'_> {
    async fn observe(&mut self, progress: &Progress) -> Result<Observation> {
        let Some(arn) = self.find().await? else {
            // Not listed yet: ECS creates the service deployment asynchronously.
            return Ok(Observation {
                changed: false,
                phase: Phase::Running,
                due: None,
            });
        };
        let out = self
            .clients
            .ecs
            .describe_service_deployments()
            .service_deployment_arns(&arn)
            .send()
            .await
            .map_err(|e| Error::aws("DescribeServiceDeployments", &e))?;
        let Some(sd) = out.service_deployments().first() else {
            return Err(Error::Aws {
                operation: "DescribeServiceDeployments",
                message: format!(
                    "{arn}: {}",
                    out.failures()
                        .first()
                        .and_then(|f| f.reason())
                        .unwrap_or("not found")
                ),
            });
        };
        let next = native_view(sd);
        let prev = std::mem::take(&mut self.last);
        let mut changed = false;
        if next.stage != prev.stage {
            if let Some(s) = &prev.stage {
                progress.emit(Event::Lifecycle {
                    name: s.clone(),
                    status: "Succeeded".into(),
                    took: None,
                });
            }
            // Stages run in a fixed order: those passed between two reads were passed.
            for s in stages_between(prev.stage.as_deref(), next.stage.as_deref()) {
                progress.emit(Event::Lifecycle {
                    name: s.to_string(),
                    status: "Succeeded".into(),
                    took: None,
                });
            }
            if let Some(s) = &next.stage {
                progress.emit(Event::Lifecycle {
                    name: s.clone(),
                    status: "InProgress".into(),
                    took: None,
                });
            }
            changed = true;
        }
        let rounded = |t: Option<(f64, f64)>| t.map(|(g, b)| (g.round() as i64, b.round() as i64));
        if let Some((green, blue)) = next.traffic
            && rounded(prev.traffic) != rounded(next.traffic)
            && (green > 0.0 || prev.traffic.is_some())
        {
            progress.emit(Event::Traffic { green, blue });
            changed = true;
        }
        if let Some((running, desired, pending)) = next.tasks
            && prev.tasks != next.tasks
        {
            progress.emit(Event::Tasks {
                running,
                desired,
                pending,
                failed: 0,
            });
            changed = true;
        }
        for hook in next.awaiting.iter().filter(|h| !prev.awaiting.contains(h)) {
            progress.emit(Event::Info(format!(
                "lifecycle hook {hook} at {} waits for ContinueServiceDeployment (greenlight promote)",
                next.stage.as_deref().unwrap_or("?")
            )));
        }
        if next.status != prev.status {
            progress.emit(Event::Status {
                status: next.status.clone(),
            });
            changed = true;
        }
        let phase = match next.status.as_str() {
            "SUCCESSFUL" => Phase::Ended(WatchEnd::new("Succeeded", 0)),
            "ROLLBACK_SUCCESSFUL" | "ROLLBACK_FAILED" | "STOPPED" => {
                let mut reasons = next.hook_failures.clone();
                reasons.extend(next.reason.clone());
                if reasons.is_empty() {
                    reasons.push(format!("the deployment ended {}", next.status));
                }
                progress.emit(Event::Failed {
                    reason: reasons.join("; "),
                });
                if next.status == "ROLLBACK_SUCCESSFUL" {
                    progress.emit(Event::RolledBack {
                        message: next
                            .rollback_reason
                            .clone()
                            .unwrap_or_else(|| "traffic is back on the previous revision".into()),
                    });
                }
                let status = if self.stop_requested && next.status != "ROLLBACK_FAILED" {
                    "Stopped"
                } else {
                    "Failed"
                };
                Phase::Ended(WatchEnd::new(status, 1))
            }
            _ if !next.awaiting.is_empty() => Phase::Ready,
            _ => Phase::Running,
        };
        self.last = next;
        Ok(Observation {
            changed,
            phase,
            due: None,
        })
    }

    async fn stop(&mut self, rollback: bool) -> Result<Stop> {
        let Some(arn) = self.find().await? else {
            return Ok(Stop::Abandoned(WatchEnd::new("Unknown", 1)));
        };
        let stop_type = if rollback {
            StopServiceDeploymentStopType::Rollback
        } else {
            StopServiceDeploymentStopType::Abort
        };
        self.stop_requested = true;
        match self
            .clients
            .ecs
            .stop_service_deployment()
            .service_deployment_arn(&arn)
            .stop_type(stop_type)
            .send()
            .await
        {
            Ok(_) => Ok(Stop::Requested),
            Err(e) if sdk_error_code(&e) == Some("ConflictException") => Ok(Stop::AlreadyEnded),
            Err(e) => Err(Error::aws("StopServiceDeployment", &e)),
        }
    }

    fn name(&self) -> String {
        self.arn
            .clone()
            .unwrap_or_else(|| self.started.deployment_id.clone())
    }

    fn promotion(&self) -> Option<super::watch::Promotion> {
        Some(super::watch::Promotion {
            cluster: self.cluster.clone(),
            service: self.service.clone(),
            deployment_id: self.name(),
        })
    }
}

impl<'a> NativeTracker<'a> {
    /// Follows a known service deployment (the operator verbs).
    pub fn following(clients: &'a Clients, cluster: &str, service: &str, arn: &str) -> Self {
        let mut t = NativeTracker::new(
            clients,
            cluster,
            service,
            Started {
                deployment_id: arn.to_string(),
                new: false,
                previous_task_definition: None,
                seen_events: HashSet::new(),
                seen_service_deployments: HashSet::new(),
                quiet_first_read: false,
            },
        );
        t.arn = Some(arn.to_string());
        t
    }
}

/// The native service deployment a verb acts on: the given ARN, or the one in flight.
pub async fn find_in_flight(
    clients: &Clients,
    cluster: &str,
    service: &str,
    given: Option<&str>,
) -> Result<String> {
    if let Some(arn) = given.filter(|g| g.starts_with("arn:")) {
        return Ok(arn.to_string());
    }
    let out = clients
        .ecs
        .list_service_deployments()
        .cluster(cluster)
        .service(service)
        .status(aws_sdk_ecs::types::ServiceDeploymentStatus::Pending)
        .status(aws_sdk_ecs::types::ServiceDeploymentStatus::InProgress)
        .send()
        .await
        .map_err(|e| Error::aws("ListServiceDeployments", &e))?;
    let arns: Vec<String> = out
        .service_deployments()
        .iter()
        .filter_map(|b| b.service_deployment_arn().map(str::to_string))
        .collect();
    match arns.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(Error::state(
            format!("no deployment is in flight for {cluster}/{service}"),
            "start one with `deploy`",
        )),
        many => Err(Error::state(
            format!(
                "{} deployments are in flight for {cluster}/{service}: {}",
                many.len(),
                many.join(", ")
            ),
            "name the one to act on with `deployment-id`",
        )),
    }
}

/// The PAUSE hook a native deployment waits at, if it does.
pub async fn paused_hook(clients: &Clients, arn: &str) -> Result<Option<String>> {
    let out = clients
        .ecs
        .describe_service_deployments()
        .service_deployment_arns(arn)
        .send()
        .await
        .map_err(|e| Error::aws("DescribeServiceDeployments", &e))?;
    Ok(out
        .service_deployments()
        .first()
        .map(native_view)
        .and_then(|v| v.awaiting.into_iter().next()))
}

/// The task definition the service ran before its last successful deployment, from the
/// service-deployment history.
pub async fn previous_task_definition(
    clients: &Clients,
    cluster: &str,
    service: &str,
) -> Result<Option<String>> {
    let out = clients
        .ecs
        .list_service_deployments()
        .cluster(cluster)
        .service(service)
        .status(aws_sdk_ecs::types::ServiceDeploymentStatus::Successful)
        .send()
        .await
        .map_err(|e| Error::aws("ListServiceDeployments", &e))?;
    let mut briefs: Vec<_> = out.service_deployments().to_vec();
    briefs.sort_by_key(|b| b.created_at().map(|t| (t.secs(), t.subsec_nanos())));
    let Some(arn) = briefs.last().and_then(|b| b.service_deployment_arn()) else {
        return Ok(None);
    };
    let sd = clients
        .ecs
        .describe_service_deployments()
        .service_deployment_arns(arn)
        .send()
        .await
        .map_err(|e| Error::aws("DescribeServiceDeployments", &e))?;
    let Some(source) = sd
        .service_deployments()
        .first()
        .and_then(|d| d.source_service_revisions().first())
        .and_then(|r| r.arn())
    else {
        return Ok(None);
    };
    let revs = clients
        .ecs
        .describe_service_revisions()
        .service_revision_arns(source)
        .send()
        .await
        .map_err(|e| Error::aws("DescribeServiceRevisions", &e))?;
    Ok(revs
        .service_revisions()
        .first()
        .and_then(|r| r.task_definition())
        .map(str::to_string))
}

/// A service deployment that has been made, as `rollback` needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Past {
    pub arn: String,
    pub status: String,
    /// The task definitions it deployed and replaced.
    pub target: Option<String>,
    pub source: Option<String>,
}

/// The service's two newest service deployments, newest first.
pub async fn last_deployments(
    clients: &Clients,
    cluster: &str,
    service: &str,
) -> Result<Vec<Past>> {
    let mut listed = list_service_deployments(clients, cluster, service).await?;
    listed.sort_by_key(|(_, at)| std::cmp::Reverse(at.map(|t| (t.secs(), t.subsec_nanos()))));
    let arns: Vec<String> = listed.into_iter().take(2).map(|(arn, _)| arn).collect();
    describe_past(clients, arns).await
}

/// The given service deployments with the task definitions they deploy and replace, in the
/// order given.
pub async fn describe_past(clients: &Clients, arns: Vec<String>) -> Result<Vec<Past>> {
    if arns.is_empty() {
        return Ok(Vec::new());
    }
    let out = clients
        .ecs
        .describe_service_deployments()
        .set_service_deployment_arns(Some(arns.clone()))
        .send()
        .await
        .map_err(|e| Error::aws("DescribeServiceDeployments", &e))?;
    let deployments = out.service_deployments();
    let revisions: Vec<String> = deployments
        .iter()
        .flat_map(|d| {
            d.target_service_revision()
                .and_then(|t| t.arn())
                .into_iter()
                .chain(d.source_service_revisions().first().and_then(|r| r.arn()))
                .map(str::to_string)
        })
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut task_definitions = std::collections::HashMap::new();
    if !revisions.is_empty() {
        let revs = clients
            .ecs
            .describe_service_revisions()
            .set_service_revision_arns(Some(revisions))
            .send()
            .await
            .map_err(|e| Error::aws("DescribeServiceRevisions", &e))?;
        for r in revs.service_revisions() {
            if let (Some(arn), Some(td)) = (r.service_revision_arn(), r.task_definition()) {
                task_definitions.insert(arn.to_string(), td.to_string());
            }
        }
    }
    let td_of = |arn: Option<&str>| arn.and_then(|a| task_definitions.get(a)).cloned();
    Ok(arns
        .iter()
        .filter_map(|arn| {
            let d = deployments
                .iter()
                .find(|d| d.service_deployment_arn() == Some(arn.as_str()))?;
            Some(Past {
                arn: arn.clone(),
                status: d
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                target: td_of(d.target_service_revision().and_then(|t| t.arn())),
                source: td_of(d.source_service_revisions().first().and_then(|r| r.arn())),
            })
        })
        .collect())
}

/// Continues a native deployment paused at a PAUSE lifecycle hook.
pub async fn continue_paused(clients: &Clients, arn: &str, hook_id: &str) -> Result<()> {
    clients
        .ecs
        .continue_service_deployment()
        .service_deployment_arn(arn)
        .hook_id(hook_id)
        .send()
        .await
        .map_err(|e| Error::aws("ContinueServiceDeployment", &e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(id: &str, status: &str, rollout: &str) -> DeploymentView {
        DeploymentView {
            id: id.into(),
            status: status.into(),
            rollout_state: Some(rollout.into()),
            ..Default::default()
        }
    }

    #[test]
    fn in_flight_means_rolling_or_draining() {
        assert_eq!(in_flight(&[view("a", "PRIMARY", "COMPLETED")]), None);
        assert!(in_flight(&[view("a", "PRIMARY", "IN_PROGRESS")]).is_some());
        assert_eq!(
            in_flight(&[
                view("b", "PRIMARY", "COMPLETED"),
                view("a", "ACTIVE", "COMPLETED")
            ])
            .map(|d| d.id.as_str()),
            Some("b")
        );
    }

    #[test]
    fn stages_passed_between_reads_are_filled_in() {
        assert_eq!(
            stages_between(Some("SCALE_UP"), Some("BAKE_TIME")),
            &[
                "POST_SCALE_UP",
                "TEST_TRAFFIC_SHIFT",
                "POST_TEST_TRAFFIC_SHIFT",
                "PRODUCTION_TRAFFIC_SHIFT",
                "POST_PRODUCTION_TRAFFIC_SHIFT"
            ]
        );
        assert!(stages_between(Some("SCALE_UP"), Some("POST_SCALE_UP")).is_empty());
        assert!(stages_between(Some("BAKE_TIME"), Some("SCALE_UP")).is_empty());
        assert!(stages_between(None, Some("BAKE_TIME")).is_empty());
    }

    #[test]
    fn placement_and_task_failures_are_recognised() {
        assert!(is_placement_failure(
            "(service web) was unable to place a task because no container instance met all of its requirements."
        ));
        assert!(is_task_failure(
            "(service web) (deployment ecs-svc/1) deployment failed: tasks failed to start."
        ));
        assert!(!is_task_failure(
            "(service web) has reached a steady state."
        ));
    }

    #[test]
    fn a_breaker_event_reads_like_the_rollout_reason() {
        let event =
            "(service web) (deployment ecs-svc/1) deployment failed: tasks failed to start.";
        assert_eq!(
            breaker_reason(event, "ecs-svc/1").as_deref(),
            Some("ECS deployment circuit breaker: tasks failed to start.")
        );
        assert_eq!(breaker_reason(event, "ecs-svc/2"), None);
        assert_eq!(
            breaker_reason("(service web) has reached a steady state.", "ecs-svc/1"),
            None
        );
    }

    #[test]
    fn strategy_routing_in_words() {
        let conf = DeploymentConfiguration::builder()
            .strategy(DeploymentStrategy::Canary)
            .bake_time_in_minutes(5)
            .canary_configuration(
                aws_sdk_ecs::types::CanaryConfiguration::builder()
                    .canary_percent(10.0)
                    .canary_bake_time_in_minutes(2)
                    .build(),
            )
            .build();
        assert_eq!(
            Strategy::of(&conf),
            Strategy::Native {
                kind: "CANARY".into(),
                routing: "canary: 10% first, the rest after 2 min; 5 min bake".into()
            }
        );
        assert_eq!(
            Strategy::of(&DeploymentConfiguration::builder().build()),
            Strategy::Rolling
        );
    }
}
