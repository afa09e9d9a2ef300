//! The ECS controllers' watch with mocked ECS and paused time: rolling success, a placement
//! failure stopped fast, a circuit-breaker rollback, and native deployments to success, to READY
//! and through a timeout.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::operation::describe_service_deployments::DescribeServiceDeploymentsOutput;
use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
use aws_sdk_ecs::operation::list_service_deployments::ListServiceDeploymentsOutput;
use aws_sdk_ecs::operation::stop_service_deployment::StopServiceDeploymentOutput;
use aws_sdk_ecs::operation::update_service::UpdateServiceOutput;
use aws_sdk_ecs::types::{
    Deployment, DeploymentLifecycleHookDetail, DeploymentLifecycleHookStatus,
    DeploymentLifecycleHookTargetType, DeploymentRolloutState, Rollback, Service,
    ServiceDeployment, ServiceDeploymentBrief, ServiceDeploymentLifecycleStage,
    ServiceDeploymentStatus, ServiceEvent, ServiceRevisionSummary, StopServiceDeploymentStopType,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use greenlight::aws::Clients;
use greenlight::controllers::ecs::{self, DeploymentView, Strategy};
use greenlight::controllers::poll::Poller;
use greenlight::controllers::watch::{WatchEnd, WatchOptions, watch};
use greenlight::controllers::{Kind, ServiceInfo};
use greenlight::event::{Event, Progress};

const OLD: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1";
const NEW: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2";
const PLACEMENT: &str = "(service web) was unable to place a task because no container instance met all of its requirements. Reason: No Container Instances were found in your cluster.";

fn dep(
    id: &str,
    status: &str,
    td: &str,
    rollout: DeploymentRolloutState,
    running: i32,
) -> Deployment {
    Deployment::builder()
        .id(id)
        .status(status)
        .task_definition(td)
        .rollout_state(rollout)
        .desired_count(2)
        .running_count(running)
        .pending_count(2 - running)
        .build()
}

fn event(id: &str, message: &str) -> ServiceEvent {
    ServiceEvent::builder().id(id).message(message).build()
}

fn service(deployments: Vec<Deployment>, events: Vec<ServiceEvent>) -> Service {
    Service::builder()
        .service_name("web")
        .status("ACTIVE")
        .set_deployments(Some(deployments))
        .set_events(Some(events))
        .build()
}

fn described(s: Service) -> DescribeServicesOutput {
    DescribeServicesOutput::builder().services(s).build()
}

fn updated(s: Service) -> UpdateServiceOutput {
    UpdateServiceOutput::builder().service(s).build()
}

fn clients_with(ecs: Client) -> Clients {
    let conf = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .build();
    let mut clients = Clients::from_sdk_config(conf);
    clients.ecs = ecs;
    clients
}

fn live(strategy: Strategy) -> ServiceInfo {
    ServiceInfo {
        arn: "arn:aws:ecs:us-east-1:123456789012:service/demo/web".into(),
        controller: Kind::Ecs,
        task_definition: Some(OLD.into()),
        load_balancer: None,
        desired_count: 2,
        strategy,
        circuit_breaker: Some(true),
        pause_hook: false,
        deployments: vec![DeploymentView {
            id: "ecs-svc/1".into(),
            status: "PRIMARY".into(),
            task_definition: Some(OLD.into()),
            rollout_state: Some("COMPLETED".into()),
            ..Default::default()
        }],
        network: None,
        alarms: Vec::new(),
        target_group_arns: Vec::new(),
    }
}

fn native() -> Strategy {
    Strategy::Native {
        kind: "CANARY".into(),
        routing: "canary".into(),
    }
}

fn opts(wait_until: &str) -> WatchOptions {
    WatchOptions::from(&common::deploy_config(&[("wait-until", wait_until)]))
}

fn poller() -> Poller {
    Poller::new(Duration::from_secs(2), Duration::from_secs(15))
}

fn drain(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Event>) -> Vec<Event> {
    let mut out = Vec::new();
    while let Ok(e) = rx.try_recv() {
        out.push(e);
    }
    out
}

fn failed_reason(events: &[Event]) -> String {
    events
        .iter()
        .find_map(|e| match e {
            Event::Failed { reason } => Some(reason.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

/// UpdateService to web:2 answers with the new PRIMARY `ecs-svc/2` and the old one ACTIVE.
fn start_update() -> aws_smithy_mocks::Rule {
    mock!(Client::update_service)
        .match_requests(|r| r.task_definition() == Some(NEW))
        .then_output(|| {
            updated(service(
                vec![
                    dep(
                        "ecs-svc/2",
                        "PRIMARY",
                        NEW,
                        DeploymentRolloutState::InProgress,
                        0,
                    ),
                    dep(
                        "ecs-svc/1",
                        "ACTIVE",
                        OLD,
                        DeploymentRolloutState::Completed,
                        2,
                    ),
                ],
                vec![event("e1", "(service web) has reached a steady state.")],
            ))
        })
}

async fn start_and_watch(
    clients: &Clients,
    strategy: Strategy,
    opts: &WatchOptions,
    progress: &Progress,
) -> WatchEnd {
    let d = common::deploy_config(&[]);
    let info = live(strategy.clone());
    let started = ecs::start(clients, &d, &info, NEW).await.unwrap();
    assert!(started.new);
    match strategy {
        Strategy::Rolling => {
            let mut t = ecs::RollingTracker::new(clients, &d.cluster, &d.service, started);
            watch(&mut t, opts, progress, poller(), std::future::pending()).await
        }
        Strategy::Native { .. } => {
            let mut t = ecs::NativeTracker::new(clients, &d.cluster, &d.service, started);
            watch(&mut t, opts, progress, poller(), std::future::pending()).await
        }
    }
    .unwrap()
}

#[tokio::test(start_paused = true)]
async fn rolling_succeeds_at_completed_and_logs_only_new_events() {
    let update = start_update();
    let describe = mock!(Client::describe_services)
        .sequence()
        .output(|| {
            described(service(
                vec![
                    dep(
                        "ecs-svc/2",
                        "PRIMARY",
                        NEW,
                        DeploymentRolloutState::InProgress,
                        1,
                    ),
                    dep(
                        "ecs-svc/1",
                        "ACTIVE",
                        OLD,
                        DeploymentRolloutState::Completed,
                        1,
                    ),
                ],
                vec![
                    event(
                        "e2",
                        "(service web) has started 2 tasks: (task a) (task b).",
                    ),
                    event("e1", "(service web) has reached a steady state."),
                ],
            ))
        })
        .output(|| {
            described(service(
                vec![dep(
                    "ecs-svc/2",
                    "PRIMARY",
                    NEW,
                    DeploymentRolloutState::InProgress,
                    2,
                )],
                vec![event(
                    "e2",
                    "(service web) has started 2 tasks: (task a) (task b).",
                )],
            ))
        })
        .output(|| {
            described(service(
                vec![dep(
                    "ecs-svc/2",
                    "PRIMARY",
                    NEW,
                    DeploymentRolloutState::Completed,
                    2,
                )],
                vec![event(
                    "e3",
                    "(service web) (deployment ecs-svc/2) deployment completed.",
                )],
            ))
        })
        .build();
    let clients = clients_with(mock_client!(
        aws_sdk_ecs,
        RuleMode::MatchAny,
        [&update, &describe]
    ));
    let (progress, mut rx) = greenlight::event::channel();
    let end = start_and_watch(&clients, Strategy::Rolling, &opts("complete"), &progress).await;
    assert_eq!(end, WatchEnd::new("Succeeded", 0));
    assert_eq!(describe.num_calls(), 3);
    let events = drain(&mut rx);
    let infos: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::Info(s) => Some(s.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        infos,
        vec![
            "  ecs: (service web) has started 2 tasks: (task a) (task b).",
            "  ecs: (service web) (deployment ecs-svc/2) deployment completed.",
        ],
        "the steady-state event from before the update is not news"
    );
    assert!(events.contains(&Event::Tasks {
        running: 2,
        desired: 2,
        pending: 0,
        failed: 0
    }));
    assert!(events.contains(&Event::Status {
        status: "COMPLETED".into()
    }));
}

#[tokio::test(start_paused = true)]
async fn tasks_that_cannot_be_placed_stop_the_rollout_at_once_and_roll_back() {
    let rolled_back = Arc::new(AtomicBool::new(false));
    let flag = rolled_back.clone();
    let rollback = mock!(Client::update_service)
        .match_requests(|r| r.task_definition() == Some(OLD))
        .then_compute_output(move |_| {
            flag.store(true, Ordering::SeqCst);
            updated(service(
                vec![
                    dep(
                        "ecs-svc/3",
                        "PRIMARY",
                        OLD,
                        DeploymentRolloutState::InProgress,
                        0,
                    ),
                    dep(
                        "ecs-svc/2",
                        "ACTIVE",
                        NEW,
                        DeploymentRolloutState::InProgress,
                        0,
                    ),
                ],
                vec![],
            ))
        });
    let flag = rolled_back.clone();
    let describe = mock!(Client::describe_services).then_compute_output(move |_| {
        if flag.load(Ordering::SeqCst) {
            described(service(
                vec![dep(
                    "ecs-svc/3",
                    "PRIMARY",
                    OLD,
                    DeploymentRolloutState::Completed,
                    2,
                )],
                vec![],
            ))
        } else {
            described(service(
                vec![
                    dep(
                        "ecs-svc/2",
                        "PRIMARY",
                        NEW,
                        DeploymentRolloutState::InProgress,
                        0,
                    ),
                    dep(
                        "ecs-svc/1",
                        "ACTIVE",
                        OLD,
                        DeploymentRolloutState::Completed,
                        2,
                    ),
                ],
                vec![event("p1", PLACEMENT)],
            ))
        }
    });
    let update = start_update();
    let clients = clients_with(mock_client!(
        aws_sdk_ecs,
        RuleMode::MatchAny,
        [&update, &rollback, &describe]
    ));
    let (progress, mut rx) = greenlight::event::channel();
    let t0 = tokio::time::Instant::now();
    let end = start_and_watch(&clients, Strategy::Rolling, &opts("complete"), &progress).await;
    assert_eq!(end, WatchEnd::new("Stopped", 1));
    assert_eq!(rollback.num_calls(), 1, "one UpdateService back to web:1");
    assert!(
        t0.elapsed() < Duration::from_secs(30),
        "stopped at the first placement failure, not at the 30-minute timeout: {:?}",
        t0.elapsed()
    );
    let events = drain(&mut rx);
    assert!(
        failed_reason(&events).contains("unable to place a task"),
        "{events:?}"
    );
    assert!(events.contains(&Event::RolledBack {
        message: "the service runs web:1 again".into()
    }));
}

#[tokio::test(start_paused = true)]
async fn a_circuit_breaker_rollback_fails_the_run_with_the_reason() {
    let describe = mock!(Client::describe_services)
        .sequence()
        .output(|| {
            let mut d = dep("ecs-svc/2", "PRIMARY", NEW, DeploymentRolloutState::InProgress, 0);
            d.failed_tasks = 2;
            described(service(
                vec![d, dep("ecs-svc/1", "ACTIVE", OLD, DeploymentRolloutState::Completed, 2)],
                vec![event(
                    "f1",
                    "(service web) (task abc) failed to start: CannotPullContainerError: pull image manifest has been retried 5 time(s)",
                )],
            ))
        })
        .output(|| {
            let mut failed = dep("ecs-svc/2", "ACTIVE", NEW, DeploymentRolloutState::Failed, 0);
            failed.rollout_state_reason =
                Some("ECS deployment circuit breaker: tasks failed to start.".into());
            described(service(
                vec![
                    dep("ecs-svc/3", "PRIMARY", OLD, DeploymentRolloutState::InProgress, 1),
                    failed,
                ],
                vec![event("f2", "(service web) rolling back to deployment ecs-svc/3.")],
            ))
        })
        .output(|| {
            described(service(
                vec![dep("ecs-svc/3", "PRIMARY", OLD, DeploymentRolloutState::Completed, 2)],
                vec![],
            ))
        })
        .build();
    let update = start_update();
    let clients = clients_with(mock_client!(
        aws_sdk_ecs,
        RuleMode::MatchAny,
        [&update, &describe]
    ));
    let (progress, mut rx) = greenlight::event::channel();
    let end = start_and_watch(&clients, Strategy::Rolling, &opts("complete"), &progress).await;
    assert_eq!(end, WatchEnd::new("Failed", 1));
    assert_eq!(update.num_calls(), 1, "ECS rolled back; greenlight did not");
    let events = drain(&mut rx);
    let reason = failed_reason(&events);
    assert!(
        reason.starts_with("ECS deployment circuit breaker: tasks failed to start."),
        "{reason}"
    );
    assert!(reason.contains("CannotPullContainerError"), "{reason}");
    assert!(events.contains(&Event::RolledBack {
        message: "the service runs web:1 again".into()
    }));
}

const OLD_SD: &str = "arn:aws:ecs:us-east-1:123456789012:service-deployment/demo/web/old";
const NEW_SD: &str = "arn:aws:ecs:us-east-1:123456789012:service-deployment/demo/web/new";

fn brief(arn: &str, secs: i64) -> ServiceDeploymentBrief {
    ServiceDeploymentBrief::builder()
        .service_deployment_arn(arn)
        .created_at(aws_smithy_types::DateTime::from_secs(secs))
        .build()
}

/// The first ListServiceDeployments (before UpdateService) sees only the old deployment.
fn listing() -> aws_smithy_mocks::Rule {
    mock!(Client::list_service_deployments)
        .sequence()
        .output(|| {
            ListServiceDeploymentsOutput::builder()
                .service_deployments(brief(OLD_SD, 100))
                .build()
        })
        .output(|| {
            ListServiceDeploymentsOutput::builder()
                .service_deployments(brief(NEW_SD, 200))
                .service_deployments(brief(OLD_SD, 100))
                .build()
        })
        .repeatedly()
        .build()
}

fn sd(
    status: ServiceDeploymentStatus,
    stage: ServiceDeploymentLifecycleStage,
    green: f64,
) -> ServiceDeployment {
    let revision = |weight: f64, running: i32| {
        ServiceRevisionSummary::builder()
            .requested_production_traffic_weight(weight)
            .requested_task_count(2)
            .running_task_count(running)
            .pending_task_count(2 - running)
            .build()
    };
    ServiceDeployment::builder()
        .service_deployment_arn(NEW_SD)
        .status(status)
        .lifecycle_stage(stage)
        .target_service_revision(revision(green, 2))
        .source_service_revisions(revision(100.0 - green, 2))
        .build()
}

fn described_sd(s: ServiceDeployment) -> DescribeServiceDeploymentsOutput {
    DescribeServiceDeploymentsOutput::builder()
        .service_deployments(s)
        .build()
}

#[tokio::test(start_paused = true)]
async fn a_native_canary_shows_its_stages_and_traffic_steps_to_success() {
    use ServiceDeploymentLifecycleStage as L;
    use ServiceDeploymentStatus as S;
    let describe = mock!(Client::describe_service_deployments)
        .match_requests(|r| r.service_deployment_arns() == [NEW_SD.to_string()])
        .sequence()
        .output(|| described_sd(sd(S::InProgress, L::ScaleUp, 0.0)))
        .output(|| described_sd(sd(S::InProgress, L::ProductionTrafficShift, 10.0)))
        .output(|| described_sd(sd(S::InProgress, L::ProductionTrafficShift, 100.0)))
        .output(|| described_sd(sd(S::InProgress, L::BakeTime, 100.0)))
        .output(|| described_sd(sd(S::Successful, L::CleanUp, 100.0)))
        .build();
    let (update, list) = (start_update(), listing());
    let clients = clients_with(mock_client!(
        aws_sdk_ecs,
        RuleMode::MatchAny,
        [&update, &list, &describe]
    ));
    let (progress, mut rx) = greenlight::event::channel();
    let end = start_and_watch(&clients, native(), &opts("complete"), &progress).await;
    assert_eq!(end, WatchEnd::new("Succeeded", 0));
    let events = drain(&mut rx);
    let traffic: Vec<(f64, f64)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Traffic { green, blue } => Some((*green, *blue)),
            _ => None,
        })
        .collect();
    assert_eq!(traffic, vec![(10.0, 90.0), (100.0, 0.0)]);
    let stages: Vec<(String, String)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Lifecycle { name, status, .. } => Some((name.clone(), status.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        stages.first(),
        Some(&("SCALE_UP".to_string(), "InProgress".to_string()))
    );
    assert!(stages.contains(&("BAKE_TIME".to_string(), "Succeeded".to_string())));
}

#[tokio::test(start_paused = true)]
async fn a_native_deployment_paused_at_a_hook_is_ready() {
    let describe = mock!(Client::describe_service_deployments).then_output(|| {
        let mut s = sd(
            ServiceDeploymentStatus::InProgress,
            ServiceDeploymentLifecycleStage::PostTestTrafficShift,
            0.0,
        );
        s.lifecycle_hook_details = Some(vec![
            DeploymentLifecycleHookDetail::builder()
                .hook_id("hook-1")
                .target_type(DeploymentLifecycleHookTargetType::Pause)
                .status(DeploymentLifecycleHookStatus::AwaitingAction)
                .build(),
        ]);
        described_sd(s)
    });
    let (update, list) = (start_update(), listing());
    let clients = clients_with(mock_client!(
        aws_sdk_ecs,
        RuleMode::MatchAny,
        [&update, &list, &describe]
    ));
    let (progress, mut rx) = greenlight::event::channel();
    let end = start_and_watch(&clients, native(), &opts("ready"), &progress).await;
    assert_eq!(end, WatchEnd::new("Ready", 0));
    assert!(drain(&mut rx).iter().any(|e| matches!(
        e,
        Event::Info(s) if s.contains("hook-1 at POST_TEST_TRAFFIC_SHIFT waits for ContinueServiceDeployment")
    )));
}

#[tokio::test(start_paused = true)]
async fn a_native_deployment_that_overruns_is_stopped_with_rollback() {
    let stop_type = Arc::new(Mutex::new(None));
    let stopped = Arc::new(AtomicBool::new(false));
    let (seen, flag) = (stop_type.clone(), stopped.clone());
    let stop = mock!(Client::stop_service_deployment)
        .match_requests(|r| r.service_deployment_arn() == Some(NEW_SD))
        .then_compute_output(move |r| {
            *seen.lock().unwrap() = r.stop_type().cloned();
            flag.store(true, Ordering::SeqCst);
            StopServiceDeploymentOutput::builder()
                .service_deployment_arn(NEW_SD)
                .build()
        });
    let flag = stopped.clone();
    let describe = mock!(Client::describe_service_deployments).then_compute_output(move |_| {
        if flag.load(Ordering::SeqCst) {
            let mut s = sd(
                ServiceDeploymentStatus::RollbackSuccessful,
                ServiceDeploymentLifecycleStage::CleanUp,
                0.0,
            );
            s.status_reason =
                Some("Service deployment rolled back because of a stop request".into());
            s.rollback = Some(Rollback::builder().reason("stop requested").build());
            described_sd(s)
        } else {
            described_sd(sd(
                ServiceDeploymentStatus::InProgress,
                ServiceDeploymentLifecycleStage::BakeTime,
                100.0,
            ))
        }
    });
    let (update, list) = (start_update(), listing());
    let clients = clients_with(mock_client!(
        aws_sdk_ecs,
        RuleMode::MatchAny,
        [&update, &list, &describe, &stop]
    ));
    let (progress, mut rx) = greenlight::event::channel();
    let t0 = tokio::time::Instant::now();
    let end = start_and_watch(&clients, native(), &opts("complete"), &progress).await;
    assert_eq!(end, WatchEnd::new("Stopped", 1));
    assert_eq!(
        *stop_type.lock().unwrap(),
        Some(StopServiceDeploymentStopType::Rollback)
    );
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_secs(30 * 60) && waited < Duration::from_secs(31 * 60),
        "stopped at wait-for-minutes: {waited:?}"
    );
    let events = drain(&mut rx);
    assert!(events.contains(&Event::RolledBack {
        message: "stop requested".into()
    }));
}
