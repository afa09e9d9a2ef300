//! An ECS-native BLUE_GREEN, LINEAR or CANARY deployment, followed through
//! DescribeServiceDeployments (lifecycle stages, hooks, traffic, rollback), and the verbs' reads
//! and writes of it (the one in flight, its PAUSE hook, continuing past it).

use std::future::Future;

use super::*;
use crate::config::VerbConfig;
use crate::controllers::ServiceInfo;
use crate::controllers::poll::Poller;
use crate::controllers::watch::{self, WatchOptions};
use crate::outputs::Outputs;

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
            return Err(Error::aws_reply(
                "ECS",
                "DescribeServiceDeployments",
                format!(
                    "{arn}: {}",
                    out.failures()
                        .first()
                        .and_then(|f| f.reason())
                        .unwrap_or("not found")
                ),
            ));
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

    fn promotion(&self) -> Option<crate::controllers::watch::Promotion> {
        Some(crate::controllers::watch::Promotion {
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
///
/// Whether one is in flight is decided as for every ECS service, from the service's own
/// deployments (`ecs::in_flight`, what the deploy's route reads too). Only its ARN, which the
/// deployment id does not give, is looked up in ListServiceDeployments.
pub async fn find_in_flight(
    clients: &Clients,
    service: &ServiceInfo,
    (cluster, name): (&str, &str),
    given: Option<&str>,
    verb: &str,
) -> Result<String> {
    use aws_sdk_ecs::types::ServiceDeploymentStatus as S;
    if let Some(arn) = given.filter(|g| g.starts_with("arn:")) {
        return Ok(arn.to_string());
    }
    if super::in_flight(&service.deployments).is_none() {
        return Err(Error::state(
            format!("no deployment is in flight for {cluster}/{name}"),
            "start one with `deploy`",
        ));
    }
    let mut listing = clients
        .ecs
        .list_service_deployments()
        .cluster(cluster)
        .service(name);
    for status in [
        S::Pending,
        S::InProgress,
        S::StopRequested,
        S::RollbackRequested,
        S::RollbackInProgress,
    ] {
        listing = listing.status(status);
    }
    let out = listing
        .send()
        .await
        .map_err(|e| Error::aws("ListServiceDeployments", &e))?;
    let listed: Vec<(String, S)> = out
        .service_deployments()
        .iter()
        .filter_map(|b| Some((b.service_deployment_arn()?.to_string(), b.status()?.clone())))
        .collect();
    let (actionable, ending): (Vec<_>, Vec<_>) = listed
        .into_iter()
        .partition(|(_, status)| matches!(status, S::Pending | S::InProgress));
    match (actionable.as_slice(), ending.as_slice()) {
        ([(one, _)], _) => Ok(one.clone()),
        ([], [(arn, status), ..]) => Err(Error::state(
            format!(
                "deployment {arn} is {}: it is already ending, there is nothing to {verb}",
                status.as_str()
            ),
            "wait for it to end; `status` shows where the service stands",
        )),
        ([], []) => Err(Error::state(
            format!(
                "a deployment is in flight for {cluster}/{name}, but ECS lists no service deployment for it yet"
            ),
            "run again in a moment, or name it with `deployment-id` (its service-deployment ARN)",
        )),
        (many, _) => Err(Error::state(
            format!(
                "{} deployments are in flight for {cluster}/{name}: {}",
                many.len(),
                many.iter()
                    .map(|(arn, _)| arn.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
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

/// The service deployment a verb acts on, named in the outputs.
async fn deployment(
    clients: &Clients,
    v: &VerbConfig,
    service: &ServiceInfo,
    verb: &str,
    outputs: &mut Outputs,
) -> Result<String> {
    let arn = find_in_flight(
        clients,
        service,
        (&v.cluster, &v.service),
        v.deployment_id.as_deref(),
        verb,
    )
    .await?;
    outputs.insert("deployment-id", arn.clone());
    Ok(arn)
}

/// `promote`: continue past the PAUSE hook the deployment waits at, then follow it to its end.
pub async fn promote(
    clients: &Clients,
    v: &VerbConfig,
    service: &ServiceInfo,
    opts: &WatchOptions,
    progress: &Progress,
    outputs: &mut Outputs,
    cancel: impl Future<Output = String>,
) -> Result<WatchEnd> {
    let arn = deployment(clients, v, service, "promote", outputs).await?;
    let Some(hook) = paused_hook(clients, &arn).await? else {
        return Err(Error::state(
            format!(
                "deployment {arn} is not waiting at a lifecycle hook; there is nothing to promote"
            ),
            "promote a deployment paused at a PAUSE hook (wait-until: ready)",
        ));
    };
    continue_paused(clients, &arn, &hook).await?;
    progress.emit(Event::Info(format!(
        "promoted {arn}: continued past hook {hook}"
    )));
    let mut t = NativeTracker::following(clients, &v.cluster, &v.service, &arn);
    watch::watch(&mut t, opts, progress, Poller::from_env(), cancel).await
}

/// `abort`: StopServiceDeployment with rollback, followed to its end; the end and the revision
/// the rollback takes traffic back to.
pub async fn abort(
    clients: &Clients,
    v: &VerbConfig,
    service: &ServiceInfo,
    opts: &WatchOptions,
    progress: &Progress,
    outputs: &mut Outputs,
) -> Result<(WatchEnd, Option<String>)> {
    let arn = deployment(clients, v, service, "abort", outputs).await?;
    // The revision the deployment replaces is where its rollback takes traffic.
    let expected = describe_past(clients, vec![arn.clone()])
        .await?
        .into_iter()
        .next()
        .and_then(|p| p.source);
    let mut t = NativeTracker::following(clients, &v.cluster, &v.service, &arn);
    t.stop(true).await?;
    // Already stopping: a cancellation now has nothing more to stop.
    let never = std::future::pending();
    let end = watch::watch(&mut t, opts, progress, Poller::from_env(), never).await?;
    Ok((end, expected))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
