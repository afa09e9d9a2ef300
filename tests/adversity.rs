//! The promises on a bad day, end to end: frozen and dead endpoints, throttling, a signal in
//! each phase of a deploy, and a GitHub that hangs or refuses. Each test asks the emulator's
//! call log what was written, never assumes it.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{STEPS, Seeded, Streaming, deployment_status, outputs, seeded, seeded_at};
use serde_json::json;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn deploy(s: &Seeded, extra: &[&str]) -> Command {
    s.deploy_command(extra)
}

/// Waits (polling the call log, at most `within`) until the emulator has received `call`.
fn wait_for_call(s: &Seeded, call: &str, within: Duration) {
    let start = Instant::now();
    while !s.emu.calls().iter().any(|c| c == call) {
        assert!(
            start.elapsed() < within,
            "{call} never came: {:?}",
            s.emu.calls()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGTERM once `call` reached the emulator; the exit code, the log and how long the exit took.
fn cancel_at(s: &Seeded, cmd: &mut Command, call: &str) -> (Option<i32>, String, Duration) {
    let run = Streaming::start(cmd);
    wait_for_call(s, call, Duration::from_secs(60));
    let at = Instant::now();
    run.terminate();
    let (code, log) = run.finish();
    (code, log, at.elapsed())
}

#[test]
fn sigterm_while_a_read_hangs_ends_within_seconds_and_writes_nothing() {
    let s = seeded(&[]);
    s.emu
        .fault(json!({"kind": "hang", "action": "DescribeServices", "service": "ecs"}));
    let (code, log, took) = cancel_at(&s, &mut deploy(&s, &[]), "ecs:DescribeServices");
    assert_eq!(code, Some(1), "{log}");
    assert!(
        took < Duration::from_secs(10),
        "exit {took:?} after SIGTERM"
    );
    assert!(log.contains("cancelled before any change"), "{log}");
    assert_eq!(s.emu.write_calls(), Vec::<String>::new());
    assert_eq!(
        deployment_status(&s.out_file()).as_deref(),
        Some("Cancelled")
    );
}

#[test]
fn sigterm_during_the_scan_wait_writes_nothing() {
    let s = seeded(&["--scan", "in-progress"]);
    let (code, log, took) = cancel_at(&s, &mut deploy(&s, &[]), "ecr:DescribeImageScanFindings");
    assert_eq!(code, Some(1), "{log}");
    assert!(
        took < Duration::from_secs(10),
        "exit {took:?} after SIGTERM"
    );
    assert!(log.contains("cancelled before any change"), "{log}");
    assert_eq!(s.emu.write_calls(), Vec::<String>::new());
}

#[test]
fn sigterm_while_a_started_scan_runs_writes_only_the_scan() {
    let s = seeded(&["--scan", "none"]);
    s.emu
        .control_post("/_greenlight/ecr/config", json!({"scan_seconds": 100000}));
    let (code, log, took) = cancel_at(&s, &mut deploy(&s, &[]), "ecr:StartImageScan");
    assert_eq!(code, Some(1), "{log}");
    assert!(
        took < Duration::from_secs(10),
        "exit {took:?} after SIGTERM"
    );
    assert!(log.contains("only the scan was started"), "{log}");
    assert_eq!(s.emu.write_calls(), vec!["ecr:StartImageScan".to_string()]);
}

#[test]
fn sigterm_while_registering_starts_no_deployment() {
    let s = seeded(&[]);
    // The registration is held a moment, so the signal lands while it is in flight.
    s.emu
        .fault(json!({"kind": "hang", "action": "RegisterTaskDefinition", "seconds": 1.0}));
    let (code, log, took) = cancel_at(&s, &mut deploy(&s, &[]), "ecs:RegisterTaskDefinition");
    assert_eq!(code, Some(1), "{log}");
    assert!(
        took < Duration::from_secs(10),
        "exit {took:?} after SIGTERM"
    );
    assert!(log.contains("no deployment was started"), "{log}");
    assert_eq!(
        s.emu.write_calls(),
        vec!["ecs:RegisterTaskDefinition".to_string()]
    );
    assert_eq!(s.emu.service_task_definition("demo", "web"), s.initial_td);
    assert!(outputs(&s.out_file()).contains_key("task-definition-arn"));
}

#[test]
fn sigterm_while_traffic_shifts_rolls_back() {
    let s = seeded_at(STEPS, &[]);
    let mut cmd = deploy(
        &s,
        &[
            "--codedeploy-deployment-config",
            "CodeDeployDefault.ECSCanary10Percent5Minutes",
        ],
    );
    let run = Streaming::until(&mut cmd, "traffic: green 10%");
    let at = Instant::now();
    run.terminate();
    let (code, log) = run.finish();
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains("stopping the deployment: the run was cancelled; rolling back"),
        "{log}"
    );
    assert!(at.elapsed() < Duration::from_secs(60), "{:?}", at.elapsed());
    assert_eq!(s.emu.service_task_definition("demo", "web"), s.initial_td);
}

#[test]
fn a_cancelled_deploy_ends_once_codedeploys_rollback_has_ended() {
    let s = seeded_at(STEPS, &[]);
    // CodeDeploy's rollback takes 600 AWS seconds (5 s here) to move the traffic back.
    s.emu
        .fault(json!({"kind": "slow_rollback", "seconds": 600, "count": 1}));
    let mut cmd = deploy(
        &s,
        &[
            "--codedeploy-deployment-config",
            "CodeDeployDefault.ECSCanary10Percent5Minutes",
        ],
    );
    let run = Streaming::until(&mut cmd, "traffic: green 10%");
    run.terminate();
    let (code, log) = run.finish();
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("back with deployment d-"), "{log}");
    assert!(
        log.contains("Succeeded: demo/web runs web:1"),
        "the step says where the service stands: {log}"
    );
    // Read the moment the step ended: the rollback has ended, not merely begun.
    assert_eq!(s.emu.service_task_definition("demo", "web"), s.initial_td);
    assert_eq!(deployment_status(&s.out_file()).as_deref(), Some("Stopped"));
}

#[test]
fn a_second_signal_while_the_stop_is_followed_ends_the_step_saying_where_it_stands() {
    let s = seeded_at(STEPS, &[]);
    // The rollback takes 36000 AWS seconds (5 minutes here): the step is still following it.
    s.emu
        .fault(json!({"kind": "slow_rollback", "seconds": 36000, "count": 1}));
    let mut cmd = deploy(
        &s,
        &[
            "--codedeploy-deployment-config",
            "CodeDeployDefault.ECSCanary10Percent5Minutes",
        ],
    );
    let mut run = Streaming::until(&mut cmd, "traffic: green 10%");
    run.terminate();
    run.wait_for("back with deployment d-");
    let at = Instant::now();
    run.terminate();
    let (code, log) = run.finish();
    assert_eq!(code, Some(1), "{log}");
    assert!(at.elapsed() < Duration::from_secs(5), "{:?}", at.elapsed());
    assert!(log.contains("cancelled a second time"), "{log}");
    assert_eq!(
        deployment_status(&s.out_file()).as_deref(),
        Some("Stopping")
    );
    assert!(
        s.emu
            .write_calls()
            .contains(&"codedeploy:StopDeployment".to_string())
    );
}

#[test]
fn a_dead_endpoint_is_reported_within_seconds() {
    let s = seeded(&[]);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let start = Instant::now();
    let out = deploy(&s, &[])
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(4), "{log}");
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "{:?}",
        start.elapsed()
    );
    assert!(log.contains("AWS DescribeServices failed"), "{log}");
}

#[test]
fn throttled_reads_while_watching_do_not_delay_the_end() {
    let s = seeded(&[]);
    for action in ["GetDeployment", "BatchGetDeploymentTargets"] {
        s.emu
            .fault(json!({"kind": "throttle", "action": action, "count": 9}));
    }
    let start = Instant::now();
    let out = deploy(&s, &[]).output().unwrap();
    let took = start.elapsed();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Nine throttled answers per read once took minutes of SDK backoff.
    assert!(took < Duration::from_secs(30), "{took:?}");
}

/// greenlight's own clock is real time: these wait out a one-minute deadline.
fn frozen_watch(s: &Seeded) -> Streaming {
    s.emu.fault(json!({"kind": "never_ready"}));
    let mut cmd = deploy(s, &["--wait-for-minutes", "1"]);
    cmd.env("GREENLIGHT_AWS_ATTEMPT_TIMEOUT_MS", "1000")
        .env("GREENLIGHT_AWS_OPERATION_TIMEOUT_MS", "3000");
    Streaming::until(&mut cmd, "created deployment")
}

#[test]
fn a_frozen_endpoint_ends_the_run_at_the_deadline_naming_the_stop_that_failed() {
    let s = seeded(&[]);
    let start = Instant::now();
    let run = frozen_watch(&s);
    s.emu
        .fault(json!({"kind": "hang", "action": "*", "service": "codedeploy"}));
    let (code, log) = run.finish();
    let took = start.elapsed();
    assert_eq!(code, Some(4), "{log}");
    assert!(took < Duration::from_secs(80), "ended after {took:?}");
    assert!(log.contains("no end state after 1 minutes"), "{log}");
    assert!(log.contains("and stopping deployment d-"), "{log}");
    assert!(log.contains("may still be in progress"), "{log}");
}

#[test]
fn frozen_reads_still_end_with_the_deployment_stopped_when_the_stop_is_answered() {
    let s = seeded(&[]);
    let start = Instant::now();
    let run = frozen_watch(&s);
    for action in [
        "GetDeployment",
        "BatchGetDeploymentTargets",
        "ListDeploymentTargets",
    ] {
        s.emu.fault(json!({"kind": "hang", "action": action}));
    }
    wait_for_call(&s, "codedeploy:StopDeployment", Duration::from_secs(90));
    s.emu.clear_faults();
    let (code, log) = run.finish();
    assert_eq!(code, Some(1), "{log}");
    assert!(
        start.elapsed() < Duration::from_secs(90),
        "{:?}",
        start.elapsed()
    );
    assert!(log.contains("deployment status: Stopped"), "{log}");
    assert_eq!(deployment_status(&s.out_file()).as_deref(), Some("Stopped"));
    assert_eq!(s.emu.service_task_definition("demo", "web"), s.initial_td);
}

/// The action in a workflow reporting to `github` within `budget` seconds.
fn action(s: &Seeded, github: &str, budget: &str) -> Command {
    let mut cmd = s.action_command(github);
    cmd.env("INPUT_GITHUB-TOKEN", "ghs_adversity_token")
        .env("INPUT_REPORT-TIMEOUT-SECONDS", budget);
    cmd
}

/// A deployment reported to a GitHub that answers every request with `answer`: how long the
/// step went on after its outputs were written (the end state known), and its log.
async fn against_github(answer: ResponseTemplate, budget: &str) -> (Seeded, Duration, String) {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(answer).mount(&server).await;
    against_github_at(server.uri(), budget).await
}

/// `against_github` for a GitHub API at `uri`.
async fn against_github_at(uri: String, budget: &str) -> (Seeded, Duration, String) {
    let budget = budget.to_string();
    tokio::task::spawn_blocking(move || {
        let s = seeded(&[]);
        let run = Streaming::start(&mut action(&s, &uri, &budget));
        let start = Instant::now();
        while deployment_status(&s.out_file()).is_none() {
            assert!(start.elapsed() < Duration::from_secs(60), "no outputs");
            std::thread::sleep(Duration::from_millis(20));
        }
        let ended = Instant::now();
        let (code, log) = run.finish();
        let after_end = ended.elapsed();
        assert_eq!(code, Some(0), "{log}");
        assert_eq!(
            deployment_status(&s.out_file()).as_deref(),
            Some("Succeeded")
        );
        assert!(
            std::fs::read_to_string(s.dir.path().join("summary.md"))
                .unwrap_or_default()
                .contains("<!-- greenlight:demo/web -->"),
            "the step summary carries the report"
        );
        (s, after_end, log)
    })
    .await
    .unwrap()
}

/// The 2 s budget the tests give, and what the exit may take on top of it.
const AFTER_END: Duration = Duration::from_secs(2 + 3);

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_github_adds_at_most_the_reporting_budget() {
    let hang = ResponseTemplate::new(200).set_delay(Duration::from_secs(600));
    let (_s, took, log) = against_github(hang, "2").await;
    assert!(took < AFTER_END, "{took:?}");
    assert!(
        log.contains("GitHub reporting did not finish within 2 s"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rate_limited_github_adds_at_most_the_reporting_budget() {
    let limited = ResponseTemplate::new(429)
        .insert_header("retry-after", "60")
        .set_body_json(json!({"message": "slow down"}));
    let (_s, took, _log) = against_github(limited, "2").await;
    assert!(took < AFTER_END, "{took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_github_adds_at_most_the_reporting_budget() {
    // Unbounded, the 5xx retries (1, 2, 4 s backoff per request) add about 12 s.
    let failing = ResponseTemplate::new(502).set_body_string("bad gateway");
    let (_s, took, _log) = against_github(failing, "2").await;
    assert!(took < AFTER_END, "{took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_github_that_drops_every_connection_adds_at_most_the_reporting_budget() {
    // Accepts each connection and closes it before answering, as a resetting proxy does.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            drop(conn);
        }
    });
    let (_s, took, _log) = against_github_at(uri, "2").await;
    assert!(took < AFTER_END, "{took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_after_the_end_cuts_a_hanging_report_and_the_outputs_are_written() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(600)))
        .mount(&server)
        .await;
    let uri = server.uri();
    tokio::task::spawn_blocking(move || {
        let s = seeded(&[]);
        let run = Streaming::start(&mut action(&s, &uri, "600"));
        // The outputs are written as soon as the end state is known, before any report.
        let start = Instant::now();
        while deployment_status(&s.out_file()).is_none() {
            assert!(start.elapsed() < Duration::from_secs(60), "no outputs");
            std::thread::sleep(Duration::from_millis(20));
        }
        let at = Instant::now();
        run.terminate();
        let (code, log) = run.finish();
        assert_eq!(code, Some(0), "{log}");
        assert!(
            at.elapsed() < Duration::from_secs(5),
            "{:?} {log}",
            at.elapsed()
        );
        assert_eq!(
            deployment_status(&s.out_file()).as_deref(),
            Some("Succeeded")
        );
    })
    .await
    .unwrap();
}

#[test]
fn max_retries_sets_the_attempts_per_aws_call() {
    // Two throttled answers: the default three attempts get through, a single one does not.
    let s = seeded(&[]);
    s.emu
        .fault(json!({"kind": "throttle", "action": "DescribeServices", "count": 2}));
    let out = deploy(&s, &["--wait-until", "none"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    s.emu.clear_calls();
    s.emu
        .fault(json!({"kind": "throttle", "action": "DescribeServices", "count": 2}));
    let out = deploy(&s, &["--wait-until", "none", "--max-retries", "1"])
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(4), "{log}");
    assert!(log.contains("DescribeServices"), "{log}");
    let described = s
        .emu
        .calls()
        .iter()
        .filter(|c| *c == "ecs:DescribeServices")
        .count();
    assert_eq!(described, 1, "one attempt only");
    assert!(s.emu.write_calls().is_empty(), "{:?}", s.emu.write_calls());
}
