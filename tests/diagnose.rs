//! "Why it failed", end to end: a deployment whose new tasks exit is diagnosed from the stopped
//! tasks and their logs, in the log and the step summary, without changing the exit code.

mod common;

use common::{Seeded, fixture, outputs, seeded};
use serde_json::json;

const OOM: &str = "OutOfMemoryError: Container killed due to memory usage";

fn exits(s: &Seeded) {
    s.emu.fault(json!({
        "kind": "container_exits",
        "container": "web",
        "exitCode": 137,
        "reason": OOM,
        "log": ["Starting web on :80", "Allocating cache...", "Killed"],
        "count": 1,
    }));
}

fn deploy(s: &Seeded, extra: &[&str]) -> (Option<i32>, String, String) {
    let summary = s.dir.path().join("summary.md");
    let mut cmd = s.emu.greenlight(&s.out_file());
    cmd.env("GITHUB_STEP_SUMMARY", &summary)
        .args(["deploy", "--cluster", "demo", "--service", "web"])
        .arg("--task-definition")
        .arg(fixture("taskdef.json"))
        .args(["--container-name", "web", "--image", &s.image])
        .args(extra);
    let out = cmd.output().expect("run greenlight");
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        std::fs::read_to_string(summary).unwrap_or_default(),
    )
}

#[test]
fn a_rolling_update_whose_tasks_exit_137_says_why_with_the_last_log_line() {
    let s = seeded(&["--controller", "ECS"]);
    exits(&s);
    let (code, log, summary) = deploy(&s, &[]);
    assert_eq!(code, Some(1), "{log}");
    assert_eq!(
        outputs(&s.out_file())
            .get("deployment-status")
            .map(String::as_str),
        Some("Failed")
    );
    assert!(
        log.contains("why it failed: task ")
            && log.contains("Essential container in task exited (EssentialContainerExited)")
            && log.contains(&format!("container web exited 137 ({OOM})")),
        "{log}"
    );
    assert!(log.contains("    web | Killed"), "{log}");
    // The load balancer's view: the failed revision's targets are gone or going.
    assert!(
        log.contains("why it failed: target group ") && log.contains("(Target."),
        "{log}"
    );
    assert!(
        summary.contains("| target group | target | state | reason |"),
        "{summary}"
    );
    assert!(summary.contains("#### Why it failed\n"), "{summary}");
    assert!(
        summary.contains(&format!("| `web` | ❌ 137 | {OOM} |")),
        "{summary}"
    );
    assert!(
        summary.contains("The last 3 lines of <code>web</code>"),
        "{summary}"
    );
    assert!(
        summary.contains("Allocating cache...\nKilled\n"),
        "{summary}"
    );
    assert!(
        summary.contains("log-group/$252Fecs$252Fweb/log-events/web$252Fweb$252F"),
        "{summary}"
    );
}

#[test]
fn a_codedeploy_deployment_whose_replacement_exits_is_diagnosed_too() {
    let s = seeded(&[]);
    exits(&s);
    let (code, log, summary) = deploy(
        &s,
        &[
            "--codedeploy-appspec",
            fixture("appspec.yml").to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains(&format!("container web exited 137 ({OOM})")),
        "{log}"
    );
    assert!(
        summary.contains(&format!("| `web` | ❌ 137 | {OOM} |")),
        "{summary}"
    );
}

#[test]
fn no_log_lines_when_told_none_and_a_success_is_not_diagnosed() {
    let s = seeded(&["--controller", "ECS"]);
    exits(&s);
    let (code, log, summary) = deploy(&s, &["--diagnose-log-lines", "0"]);
    assert_eq!(code, Some(1), "{log}");
    assert!(summary.contains("#### Why it failed\n"), "{summary}");
    assert!(!summary.contains("The last"), "{summary}");
    // The fault was used up: this deploy succeeds, and nothing is diagnosed.
    s.emu.clear_calls();
    let (code, log, _) = deploy(&s, &["--force-new-deployment", "true"]);
    assert_eq!(code, Some(0), "{log}");
    assert!(!log.contains("why it failed"), "{log}");
    assert!(
        !s.emu.calls().iter().any(|c| c.ends_with(":GetLogEvents")),
        "{:?}",
        s.emu.calls()
    );
}

#[test]
fn an_alarm_that_rolls_back_an_ecs_deployment_is_named_not_the_circuit_breaker() {
    let s = seeded(&["--controller", "ECS", "--alarm", "web-5xx"]);
    s.emu
        .fault(json!({"kind": "alarm", "alarmName": "web-5xx", "after_seconds": 5}));
    let (code, log, summary) = deploy(&s, &[]);
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains("watched by CloudWatch alarms: web-5xx OK"),
        "{log}"
    );
    // As the service event or the rollout state reason tells it, depending on which is read
    // first: either way the alarm, by name.
    assert!(
        log.lines()
            .any(|l| l.contains("deployment failed:")
                && l.contains("alarm(s) web-5xx in ALARM state.")),
        "{log}"
    );
    assert!(!log.contains("circuit breaker: alarm"), "{log}");
    assert!(
        log.contains("why it failed: CloudWatch alarm web-5xx is in ALARM: Threshold Crossed"),
        "{log}"
    );
    assert!(
        summary.contains("| **Alarms** | `web-5xx` 🔔 ALARM |"),
        "{summary}"
    );
    assert!(
        summary.contains("🔔 CloudWatch alarm `web-5xx` is in ALARM: Threshold Crossed"),
        "{summary}"
    );
}

#[test]
fn an_alarm_that_stops_a_codedeploy_deployment_is_named_with_its_reason() {
    let s = seeded(&["--alarm", "web-5xx"]);
    s.emu
        .fault(json!({"kind": "alarm", "alarmName": "web-5xx", "after_seconds": 5}));
    let (code, log, summary) = deploy(
        &s,
        &[
            "--codedeploy-appspec",
            fixture("appspec.yml").to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains("watched by CloudWatch alarms: web-5xx OK"),
        "{log}"
    );
    assert!(log.contains("Activated alarms: <web-5xx>"), "{log}");
    assert!(
        log.contains("why it failed: CloudWatch alarm web-5xx is in ALARM"),
        "{log}"
    );
    assert!(summary.contains("#### Why it failed\n"), "{summary}");
}
