//! The watch loop's time-driven paths with mocked CodeDeploy and paused time: no real waiting.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_codedeploy::Client;
use aws_sdk_codedeploy::operation::batch_get_deployment_targets::BatchGetDeploymentTargetsOutput;
use aws_sdk_codedeploy::operation::get_deployment::GetDeploymentOutput;
use aws_sdk_codedeploy::operation::list_deployment_targets::ListDeploymentTargetsOutput;
use aws_sdk_codedeploy::operation::stop_deployment::StopDeploymentOutput;
use aws_sdk_codedeploy::types::{
    DeploymentInfo, DeploymentStatus, DeploymentTarget, DeploymentTargetType, EcsTarget,
    EcsTaskSet, LifecycleEvent, LifecycleEventStatus, RollbackInfo, TargetLabel, TargetStatus,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use greenlight::aws::Clients;
use greenlight::controllers::codedeploy::{WatchEnd, WatchOptions, watch};
use greenlight::controllers::poll::Poller;
use greenlight::event::Event;

fn cfg(pairs: &[(&str, &str)]) -> WatchOptions {
    WatchOptions::from(&common::deploy_config(pairs))
}

fn info(status: DeploymentStatus, rolled_back: bool) -> GetDeploymentOutput {
    let mut b = DeploymentInfo::builder()
        .deployment_id("d-TEST12345")
        .status(status);
    if rolled_back {
        b = b.rollback_info(
            RollbackInfo::builder()
                .rollback_message("Deployment was stopped and rolled back to the original task set")
                .build(),
        );
    }
    GetDeploymentOutput::builder()
        .deployment_info(b.build())
        .build()
}

fn target(green: f64) -> BatchGetDeploymentTargetsOutput {
    target_in(None, green)
}

/// A target as AWS reports it: with its own status and a fixed update time.
fn target_in(status: Option<TargetStatus>, green: f64) -> BatchGetDeploymentTargetsOutput {
    let set = |label: TargetLabel, weight: f64| {
        EcsTaskSet::builder()
            .task_set_label(label)
            .traffic_weight(weight)
            .build()
    };
    BatchGetDeploymentTargetsOutput::builder()
        .deployment_targets(
            DeploymentTarget::builder()
                .deployment_target_type(DeploymentTargetType::EcsTarget)
                .ecs_target(
                    EcsTarget::builder()
                        .target_id("demo:web")
                        .set_status(status)
                        .last_updated_at(aws_smithy_types::DateTime::from_secs(1_795_000_000))
                        .lifecycle_events(
                            LifecycleEvent::builder()
                                .lifecycle_event_name("Install")
                                .status(LifecycleEventStatus::InProgress)
                                .build(),
                        )
                        .task_sets_info(set(TargetLabel::Blue, 100.0 - green))
                        .task_sets_info(set(TargetLabel::Green, green))
                        .build(),
                )
                .build(),
        )
        .build()
}

/// A deployment that stays InProgress until StopDeployment, then reads as Stopped.
struct Stuck {
    stopped: Arc<AtomicBool>,
    stop_rollback: Arc<Mutex<Option<bool>>>,
    stopped_at: Arc<Mutex<Option<tokio::time::Instant>>>,
    reads: Arc<AtomicUsize>,
}

fn stuck_client() -> (Clients, Stuck) {
    let stuck = Stuck {
        stopped: Arc::default(),
        stop_rollback: Arc::default(),
        stopped_at: Arc::default(),
        reads: Arc::default(),
    };
    let (stopped, reads) = (stuck.stopped.clone(), stuck.reads.clone());
    let get = mock!(Client::get_deployment).then_compute_output(move |_| {
        reads.fetch_add(1, Ordering::SeqCst);
        if stopped.load(Ordering::SeqCst) {
            info(DeploymentStatus::Stopped, true)
        } else {
            info(DeploymentStatus::InProgress, false)
        }
    });
    let list = mock!(Client::list_deployment_targets).then_output(|| {
        ListDeploymentTargetsOutput::builder()
            .target_ids("demo:web")
            .build()
    });
    let batch = mock!(Client::batch_get_deployment_targets).then_output(|| target(0.0));
    let (stopped, rollback, at) = (
        stuck.stopped.clone(),
        stuck.stop_rollback.clone(),
        stuck.stopped_at.clone(),
    );
    let stop = mock!(Client::stop_deployment)
        .match_requests(|r| r.deployment_id() == Some("d-TEST12345"))
        .then_compute_output(move |r| {
            *rollback.lock().unwrap() = r.auto_rollback_enabled();
            *at.lock().unwrap() = Some(tokio::time::Instant::now());
            stopped.store(true, Ordering::SeqCst);
            StopDeploymentOutput::builder().build()
        });
    let codedeploy = mock_client!(
        aws_sdk_codedeploy,
        RuleMode::MatchAny,
        [&get, &list, &batch, &stop]
    );
    (clients_with(codedeploy), stuck)
}

fn clients_with(codedeploy: Client) -> Clients {
    let conf = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .build();
    let mut clients = Clients::from_sdk_config(conf);
    clients.codedeploy = codedeploy;
    clients
}

fn channel() -> (
    greenlight::event::Progress,
    tokio::sync::mpsc::UnboundedReceiver<Event>,
) {
    greenlight::event::channel()
}

fn drain(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Event>) -> Vec<Event> {
    let mut out = Vec::new();
    while let Ok(e) = rx.try_recv() {
        out.push(e);
    }
    out
}

#[tokio::test(start_paused = true)]
async fn timeout_stops_with_rollback_after_wait_for_minutes() {
    let (clients, stuck) = stuck_client();
    let (progress, mut rx) = channel();
    let start = tokio::time::Instant::now();
    let end = watch(
        &clients,
        &cfg(&[("wait-for-minutes", "2")]),
        "d-TEST12345",
        ("demo", "web"),
        &progress,
        Poller::new(Duration::from_secs(2), Duration::from_secs(15)),
        std::future::pending(),
    )
    .await
    .unwrap();
    assert_eq!(
        end,
        WatchEnd {
            status: "Stopped".into(),
            exit_code: 1
        }
    );
    let stopped_after = stuck.stopped_at.lock().unwrap().unwrap() - start;
    assert!(
        stopped_after >= Duration::from_secs(120),
        "stopped after {stopped_after:?}"
    );
    assert!(
        stopped_after < Duration::from_secs(121),
        "stopped late: {stopped_after:?}"
    );
    assert_eq!(*stuck.stop_rollback.lock().unwrap(), Some(true));
    // Backing off: far fewer reads than one every 2 s over two minutes.
    let reads = stuck.reads.load(Ordering::SeqCst);
    assert!((8..=20).contains(&reads), "{reads} reads");
    let events = drain(&mut rx);
    assert!(events.contains(&Event::StopRequested {
        reason: "no end state after 2 minutes; rolling back".into()
    }));
    assert!(events.iter().any(|e| matches!(e, Event::RolledBack { .. })));
}

#[tokio::test(start_paused = true)]
async fn timeout_without_rollback_when_disabled() {
    let (clients, stuck) = stuck_client();
    let (progress, _rx) = channel();
    let end = watch(
        &clients,
        &cfg(&[("wait-for-minutes", "1"), ("rollback-on-timeout", "false")]),
        "d-TEST12345",
        ("demo", "web"),
        &progress,
        Poller::new(Duration::from_secs(2), Duration::from_secs(15)),
        std::future::pending(),
    )
    .await
    .unwrap();
    assert_eq!(end.exit_code, 1);
    assert_eq!(*stuck.stop_rollback.lock().unwrap(), Some(false));
}

#[tokio::test(start_paused = true)]
async fn cancellation_stops_at_once() {
    let (clients, stuck) = stuck_client();
    let (progress, _rx) = channel();
    let start = tokio::time::Instant::now();
    let end = watch(
        &clients,
        &cfg(&[]),
        "d-TEST12345",
        ("demo", "web"),
        &progress,
        Poller::new(Duration::from_secs(2), Duration::from_secs(15)),
        async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            "the run was cancelled".to_string()
        },
    )
    .await
    .unwrap();
    assert_eq!(end.status, "Stopped");
    let at = stuck.stopped_at.lock().unwrap().unwrap() - start;
    assert_eq!(at, Duration::from_secs(10));
    assert_eq!(*stuck.stop_rollback.lock().unwrap(), Some(true));
}

#[tokio::test(start_paused = true)]
async fn throttled_reads_are_retried_and_the_watch_goes_on() {
    let throttled = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
    let get = mock!(Client::get_deployment)
        .sequence()
        .http_status(400, Some(throttled.to_string()))
        .times(3)
        .output(|| info(DeploymentStatus::Succeeded, false))
        .repeatedly()
        .build();
    let list = mock!(Client::list_deployment_targets).then_output(|| {
        ListDeploymentTargetsOutput::builder()
            .target_ids("demo:web")
            .build()
    });
    let batch = mock!(Client::batch_get_deployment_targets).then_output(|| target(100.0));
    let codedeploy = mock_client!(
        aws_sdk_codedeploy,
        RuleMode::MatchAny,
        [&get, &list, &batch],
        |c| c.retry_config(
            aws_sdk_codedeploy::config::retry::RetryConfig::standard().with_max_attempts(5)
        )
    );
    let (progress, mut rx) = channel();
    let end = watch(
        &clients_with(codedeploy),
        &cfg(&[]),
        "d-TEST12345",
        ("demo", "web"),
        &progress,
        Poller::new(Duration::from_secs(2), Duration::from_secs(15)),
        std::future::pending(),
    )
    .await
    .unwrap();
    assert_eq!(
        end,
        WatchEnd {
            status: "Succeeded".into(),
            exit_code: 0
        }
    );
    assert_eq!(get.num_calls(), 4, "three throttled attempts, then success");
    let events = drain(&mut rx);
    assert!(events.contains(&Event::Traffic {
        green: 100.0,
        blue: 0.0
    }));
    assert!(
        !events.iter().any(|e| matches!(e, Event::Warning(_))),
        "SDK retries absorbed it: {events:?}"
    );
}

/// A canary's second step is expected one interval after the first: the watch reads just after
/// it instead of up to a whole backed-off poll interval later.
#[tokio::test(start_paused = true)]
async fn the_read_after_a_canary_interval_comes_right_after_it() {
    let start = tokio::time::Instant::now();
    let shifted_at = Arc::new(Mutex::new(None::<tokio::time::Instant>));
    let reads = Arc::new(Mutex::new(Vec::new()));
    let (seen, log) = (shifted_at.clone(), reads.clone());
    let interval = Duration::from_secs(300);
    let get = mock!(Client::get_deployment).then_compute_output(move |_| {
        let now = tokio::time::Instant::now();
        log.lock().unwrap().push(now);
        let first = *seen.lock().unwrap().get_or_insert(now);
        if now.duration_since(first) >= interval {
            info(DeploymentStatus::Succeeded, false)
        } else {
            info(DeploymentStatus::InProgress, false)
        }
    });
    let list = mock!(Client::list_deployment_targets).then_output(|| {
        ListDeploymentTargetsOutput::builder()
            .target_ids("demo:web")
            .build()
    });
    let seen = shifted_at.clone();
    let batch = mock!(Client::batch_get_deployment_targets).then_compute_output(move |_| {
        let first = seen
            .lock()
            .unwrap()
            .unwrap_or_else(tokio::time::Instant::now);
        target(if first.elapsed() >= interval {
            100.0
        } else {
            10.0
        })
    });
    let codedeploy = mock_client!(
        aws_sdk_codedeploy,
        RuleMode::MatchAny,
        [&get, &list, &batch]
    );
    let mut opts = cfg(&[]);
    opts.step_interval = Some(interval);
    let (progress, _rx) = channel();
    let end = watch(
        &clients_with(codedeploy),
        &opts,
        "d-TEST12345",
        ("demo", "web"),
        &progress,
        Poller::new(Duration::from_secs(2), Duration::from_secs(15)),
        std::future::pending(),
    )
    .await
    .unwrap();
    assert_eq!(end.status, "Succeeded");
    let first = shifted_at.lock().unwrap().unwrap();
    let after: Vec<Duration> = reads
        .lock()
        .unwrap()
        .iter()
        .map(|t| t.duration_since(first))
        .filter(|d| *d >= interval)
        .collect();
    assert!(
        after[0] <= interval + Duration::from_secs(1),
        "read {:?} after the step began; reads: {:?}",
        after[0],
        reads
            .lock()
            .unwrap()
            .iter()
            .map(|t| t.duration_since(start))
            .collect::<Vec<_>>()
    );
}

/// Reads of a deployment whose target reports its status; the deployment's own status is
/// `status(elapsed)`, the target's `target(elapsed)`.
struct Scripted {
    get: aws_smithy_mocks::Rule,
    batch: aws_smithy_mocks::Rule,
    clients: Clients,
}

fn scripted(
    status: impl Fn(Duration) -> DeploymentStatus + Send + Sync + 'static,
    target: impl Fn(Duration) -> (TargetStatus, f64) + Send + Sync + 'static,
) -> Scripted {
    let start = tokio::time::Instant::now();
    let get = mock!(Client::get_deployment)
        .then_compute_output(move |_| info(status(start.elapsed()), false));
    let list = mock!(Client::list_deployment_targets).then_output(|| {
        ListDeploymentTargetsOutput::builder()
            .target_ids("demo:web")
            .build()
    });
    let batch = mock!(Client::batch_get_deployment_targets).then_compute_output(move |_| {
        let (s, green) = target(start.elapsed());
        target_in(Some(s), green)
    });
    let codedeploy = mock_client!(
        aws_sdk_codedeploy,
        RuleMode::MatchAny,
        [&get, &list, &batch]
    );
    Scripted {
        get,
        batch,
        clients: clients_with(codedeploy),
    }
}

/// `before` until `when` has passed since the start, `after` from then on.
fn switch<T: Clone + Send + Sync + 'static>(
    when: Duration,
    before: T,
    after: T,
) -> impl Fn(Duration) -> T + Send + Sync + 'static {
    move |t| {
        if t >= when {
            after.clone()
        } else {
            before.clone()
        }
    }
}

async fn watch_scripted(s: &Scripted, pairs: &[(&str, &str)]) -> (WatchEnd, Duration) {
    let start = tokio::time::Instant::now();
    let (progress, _rx) = channel();
    let end = watch(
        &s.clients,
        &cfg(pairs),
        "d-TEST12345",
        ("demo", "web"),
        &progress,
        Poller::new(Duration::from_secs(2), Duration::from_secs(15)),
        std::future::pending(),
    )
    .await
    .unwrap();
    (end, start.elapsed())
}

/// While the target stands still only the target is read: one request per poll, not two.
#[tokio::test(start_paused = true)]
async fn a_quiet_target_costs_one_read_per_poll() {
    let done = Duration::from_secs(300);
    let s = scripted(
        switch(
            done,
            DeploymentStatus::InProgress,
            DeploymentStatus::Succeeded,
        ),
        switch(
            done,
            (TargetStatus::InProgress, 10.0),
            (TargetStatus::Succeeded, 100.0),
        ),
    );
    let (end, took) = watch_scripted(&s, &[("wait-for-minutes", "30")]).await;
    assert_eq!(end.status, "Succeeded");
    assert!(took <= done + Duration::from_secs(17), "took {took:?}");
    let (gets, batches) = (s.get.num_calls(), s.batch.num_calls());
    // The first read, one a minute, and the end.
    assert!(
        gets <= 8 && batches >= 2 * gets,
        "GetDeployment {gets}, BatchGetDeploymentTargets {batches}"
    );
}

/// A stop from elsewhere need not show on the target: the deployment is still read once a
/// minute, so it ends the watch within a minute and a poll.
#[tokio::test(start_paused = true)]
async fn a_stop_the_target_does_not_show_is_seen_within_a_minute() {
    let stopped = Duration::from_secs(100);
    let s = scripted(
        switch(
            stopped,
            DeploymentStatus::InProgress,
            DeploymentStatus::Stopped,
        ),
        |_| (TargetStatus::InProgress, 10.0),
    );
    let (end, took) = watch_scripted(&s, &[("wait-for-minutes", "30")]).await;
    assert_eq!(end.status, "Stopped");
    assert!(
        took <= stopped + Duration::from_secs(60 + 17),
        "seen {took:?} after the start"
    );
}

/// The target's own move (here to Ready) brings a read of the deployment on the same poll.
#[tokio::test(start_paused = true)]
async fn a_target_that_moves_brings_the_deployment_read_at_once() {
    let ready = Duration::from_secs(40);
    let s = scripted(
        switch(ready, DeploymentStatus::InProgress, DeploymentStatus::Ready),
        switch(
            ready,
            (TargetStatus::InProgress, 0.0),
            (TargetStatus::Ready, 0.0),
        ),
    );
    let (end, took) = watch_scripted(&s, &[("wait-until", "ready")]).await;
    assert_eq!(end.status, "Ready");
    // Seen on the first poll after the move: at most one backed-off interval late.
    assert!(took <= ready + Duration::from_secs(17), "{took:?}");
    assert!(s.get.num_calls() < s.batch.num_calls());
}

/// A lifecycle event that began and ended between two reads still reports what it took, by
/// AWS's own start and end times.
#[tokio::test(start_paused = true)]
async fn a_lifecycle_event_reports_its_own_duration() {
    let at = |secs| aws_smithy_types::DateTime::from_secs(1_795_000_000 + secs);
    let get =
        mock!(Client::get_deployment).then_output(|| info(DeploymentStatus::Succeeded, false));
    let list = mock!(Client::list_deployment_targets).then_output(|| {
        ListDeploymentTargetsOutput::builder()
            .target_ids("demo:web")
            .build()
    });
    let batch = mock!(Client::batch_get_deployment_targets).then_output(move || {
        let event = |name: &str, start: i64, end: i64| {
            LifecycleEvent::builder()
                .lifecycle_event_name(name)
                .status(LifecycleEventStatus::Succeeded)
                .start_time(at(start))
                .end_time(at(end))
                .build()
        };
        BatchGetDeploymentTargetsOutput::builder()
            .deployment_targets(
                DeploymentTarget::builder()
                    .deployment_target_type(DeploymentTargetType::EcsTarget)
                    .ecs_target(
                        EcsTarget::builder()
                            .target_id("demo:web")
                            .status(TargetStatus::Succeeded)
                            .lifecycle_events(event("Install", 0, 75))
                            .lifecycle_events(event("AfterInstall", 75, 78))
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let codedeploy = mock_client!(
        aws_sdk_codedeploy,
        RuleMode::MatchAny,
        [&get, &list, &batch]
    );
    let (progress, mut rx) = channel();
    let end = watch(
        &clients_with(codedeploy),
        &cfg(&[]),
        "d-TEST12345",
        ("demo", "web"),
        &progress,
        Poller::new(Duration::from_secs(2), Duration::from_secs(15)),
        std::future::pending(),
    )
    .await
    .unwrap();
    assert_eq!(end.status, "Succeeded");
    let took: Vec<(String, Option<f64>)> = drain(&mut rx)
        .into_iter()
        .filter_map(|e| match e {
            Event::Lifecycle { name, took, .. } => Some((name, took)),
            _ => None,
        })
        .collect();
    assert_eq!(
        took,
        vec![
            ("Install".to_string(), Some(75.0)),
            ("AfterInstall".to_string(), Some(3.0))
        ]
    );
}

/// After greenlight's own stop the deployment is read on the very next poll, though the target
/// (here) never shows the stop.
#[tokio::test(start_paused = true)]
async fn our_own_stop_is_read_back_at_once() {
    let stopped_at = Arc::new(Mutex::new(None::<tokio::time::Instant>));
    let seen = stopped_at.clone();
    let get = mock!(Client::get_deployment).then_compute_output(move |_| {
        if seen.lock().unwrap().is_some() {
            info(DeploymentStatus::Stopped, true)
        } else {
            info(DeploymentStatus::InProgress, false)
        }
    });
    let list = mock!(Client::list_deployment_targets).then_output(|| {
        ListDeploymentTargetsOutput::builder()
            .target_ids("demo:web")
            .build()
    });
    let batch = mock!(Client::batch_get_deployment_targets)
        .then_output(|| target_in(Some(TargetStatus::InProgress), 10.0));
    let at = stopped_at.clone();
    let stop = mock!(Client::stop_deployment).then_compute_output(move |_| {
        *at.lock().unwrap() = Some(tokio::time::Instant::now());
        StopDeploymentOutput::builder().build()
    });
    let codedeploy = mock_client!(
        aws_sdk_codedeploy,
        RuleMode::MatchAny,
        [&get, &list, &batch, &stop]
    );
    let (progress, _rx) = channel();
    let end = watch(
        &clients_with(codedeploy),
        &cfg(&[("wait-for-minutes", "2")]),
        "d-TEST12345",
        ("demo", "web"),
        &progress,
        Poller::new(Duration::from_secs(2), Duration::from_secs(15)),
        async {
            tokio::time::sleep(Duration::from_secs(75)).await;
            "the run was cancelled".to_string()
        },
    )
    .await
    .unwrap();
    assert_eq!(end.status, "Stopped");
    let stop_at = stopped_at.lock().unwrap().unwrap();
    // The first poll after the stop, not the once-a-minute read.
    assert!(
        stop_at.elapsed() <= Duration::from_secs(3),
        "seen {:?} after the stop",
        stop_at.elapsed()
    );
}

/// CodeDeploy's rollback of a stopped deployment that never ends: the deploy waits for it up to
/// the grace it is given, reading only, then says it goes on and was not stopped.
#[tokio::test(start_paused = true)]
async fn a_rollback_that_outlasts_the_grace_is_left_running_and_said_so() {
    let rollback_reads = Arc::new(AtomicUsize::new(0));
    let reads = rollback_reads.clone();
    let get = mock!(Client::get_deployment).then_compute_output(move |r| {
        if r.deployment_id() == Some("d-RB") {
            reads.fetch_add(1, Ordering::SeqCst);
            let info = DeploymentInfo::builder()
                .deployment_id("d-RB")
                .status(DeploymentStatus::InProgress)
                .creator(aws_sdk_codedeploy::types::DeploymentCreator::CodeDeployRollback)
                .build();
            return GetDeploymentOutput::builder().deployment_info(info).build();
        }
        let info = DeploymentInfo::builder()
            .deployment_id("d-TEST12345")
            .status(DeploymentStatus::Stopped)
            .rollback_info(
                RollbackInfo::builder()
                    .rollback_deployment_id("d-RB")
                    .build(),
            )
            .build();
        GetDeploymentOutput::builder().deployment_info(info).build()
    });
    let stop =
        mock!(Client::stop_deployment).then_output(|| StopDeploymentOutput::builder().build());
    let codedeploy = mock_client!(aws_sdk_codedeploy, RuleMode::MatchAny, [&get, &stop]);
    let clients = clients_with(codedeploy);
    let (progress, mut rx) = channel();
    let start = tokio::time::Instant::now();
    let grace = Duration::from_secs(300);
    tokio::time::timeout(
        Duration::from_secs(3600),
        greenlight::controllers::codedeploy::await_rollback(
            &clients,
            "d-TEST12345",
            ("demo", "web"),
            grace,
            &progress,
            Poller::new(Duration::from_secs(2), Duration::from_secs(15)),
        ),
    )
    .await
    .expect("the wait is bounded by its grace");
    assert!(start.elapsed() <= grace, "{:?}", start.elapsed());
    assert_eq!(
        stop.num_calls(),
        0,
        "a rollback deployment is never stopped"
    );
    let n = rollback_reads.load(Ordering::SeqCst);
    assert!(
        (5..=40).contains(&n),
        "read on the poll schedule: {n} reads"
    );
    let events = drain(&mut rx);
    assert!(
        events.contains(&Event::Info(
            "CodeDeploy rolls d-TEST12345 back with deployment d-RB: waiting for it to end".into()
        )),
        "{events:?}"
    );
    assert!(
        events.iter().any(|e| matches!(e, Event::Warning(w)
            if w.contains("rollback deployment d-RB had not ended 300 s after d-TEST12345")
                && w.contains("never stops a rollback"))),
        "{events:?}"
    );
}
