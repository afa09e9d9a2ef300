//! A rolling update, followed through the service's PRIMARY deployment and its events
//! (circuit breaker, placement failures).

use super::*;
use crate::config::VerbConfig;
use crate::controllers::ServiceInfo;
use crate::controllers::poll::Poller;
use crate::controllers::watch::{self, WatchOptions};
use crate::outputs::Outputs;

/// Service event messages that mean the new tasks will not run without someone acting.
fn is_placement_failure(message: &str) -> bool {
    message.contains("unable to place a task")
}

/// The circuit breaker's reason from its service event, in the words of the deployment's
/// `rolloutStateReason`: "(service web) (deployment ecs-svc/1) deployment failed: tasks failed
/// to start." reads "ECS deployment circuit breaker: tasks failed to start.".
/// A failure an alarm caused ("… deployment failed: alarm(s) web-5xx in ALARM state.") is named
/// as such, not as the circuit breaker.
fn breaker_reason(event: &str, deployment_id: &str) -> Option<String> {
    let marker = format!("(deployment {deployment_id}) deployment failed: ");
    let (_, why) = event.split_once(&marker)?;
    if why.starts_with("alarm") {
        return Some(format!("CloudWatch {why}"));
    }
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
        let svc = out.services().first().ok_or_else(|| {
            Error::aws_reply(
                "ECS",
                "DescribeServices",
                format!("service `{}` is gone", self.service),
            )
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
            .ok_or_else(|| {
                Error::aws_reply(
                    "ECS",
                    "UpdateService",
                    "the rollback started no PRIMARY deployment",
                )
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

/// `promote`: a rolling update never waits for it.
pub fn promote(v: &VerbConfig) -> Result<WatchEnd> {
    Err(Error::state(
        format!(
            "service `{}` deploys with rolling updates, which never wait for promotion",
            v.service
        ),
        "promote applies to blue/green deployments paused for it",
    ))
}

/// `abort`: the rolling update in flight, rolled back to the revision it replaces; the
/// service's revision when it ended and the one it was to go back to.
pub async fn abort(
    clients: &Clients,
    v: &VerbConfig,
    service: &ServiceInfo,
    opts: &WatchOptions,
    progress: &Progress,
    outputs: &mut Outputs,
) -> Result<(WatchEnd, Option<String>)> {
    let Some(primary) = in_flight(&service.deployments) else {
        return Err(Error::state(
            format!("no deployment is in flight for {}/{}", v.cluster, v.service),
            "there is nothing to abort; `rollback` deploys the previous revision",
        ));
    };
    outputs.insert("deployment-id", primary.id.clone());
    progress.emit(Event::StopRequested {
        reason: "aborted by the operator; rolling back".to_string(),
    });
    let started = Started::attach(service, &primary.id);
    let expected = started.previous_task_definition().map(str::to_string);
    let mut t = RollingTracker::new(clients, &v.cluster, &v.service, started);
    t.observe(progress).await?;
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
        let alarm = "(service web) (deployment ecs-svc/1) deployment failed: alarm(s) web-5xx in ALARM state.";
        assert_eq!(
            breaker_reason(alarm, "ecs-svc/1").as_deref(),
            Some("CloudWatch alarm(s) web-5xx in ALARM state.")
        );
        assert_eq!(
            breaker_reason("(service web) has reached a steady state.", "ecs-svc/1"),
            None
        );
    }
}
