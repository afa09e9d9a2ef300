//! One-off tasks and register-only, end to end: the real binary against the emulator, with the
//! AWS deploy action's inputs (`run-task`, `wait-for-task-stopped`, …) and `greenlight run`,
//! read back through the call log and the emulator's task record.

mod common;

use common::{Ran, Seeded, Streaming, fixture, outputs, ran, seeded, seeded_at};
use serde_json::{Value, json};

impl Seeded {
    /// greenlight `command` with the seeded image in container `web` of the fixture, plus `extra`.
    fn go(&self, command: &str, extra: &[&str]) -> Ran {
        ran(self
            .emu
            .greenlight(&self.out_file())
            .env("GITHUB_STEP_SUMMARY", self.summary_file())
            .args([command, "--cluster", "demo"])
            .arg("--task-definition")
            .arg(fixture("taskdef.json"))
            .args(["--container-name", "web", "--image", &self.image])
            .args(extra))
    }

    fn summary_file(&self) -> std::path::PathBuf {
        self.dir.path().join("summary.md")
    }

    fn summary(&self) -> String {
        std::fs::read_to_string(self.summary_file()).unwrap_or_default()
    }

    /// The one-off tasks the emulator ran, as its control endpoint shows them.
    fn tasks(&self) -> Vec<Value> {
        let v = self.emu.control("GET", "/_greenlight/tasks", None);
        v.get("tasks")
            .and_then(Value::as_array)
            .or_else(|| v.as_array())
            .cloned()
            .unwrap_or_default()
    }

    fn task_arns_output(&self) -> Vec<String> {
        let out = outputs(&self.out_file());
        let text = out.get("run-task-arn").cloned().unwrap_or_default();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("run-task-arn `{text}`: {e}"))
    }
}

fn ecs_service() -> Seeded {
    seeded(&["--controller", "ECS"])
}

fn position(calls: &[String], action: &str) -> usize {
    calls
        .iter()
        .position(|c| c.ends_with(&format!(":{action}")))
        .unwrap_or_else(|| panic!("no {action} in {calls:?}"))
}

#[test]
fn without_a_service_the_revision_is_registered_and_nothing_deployed() {
    let s = ecs_service();
    let r = s.go("deploy", &[]);
    assert_eq!(r.code, Some(0), "{}", r.log);
    let out = outputs(&s.out_file());
    assert_eq!(
        out.get("deployment-status").map(String::as_str),
        Some("Registered")
    );
    assert!(
        out.get("task-definition-arn")
            .is_some_and(|a| a.contains(":task-definition/web:2")),
        "{out:?}"
    );
    assert_eq!(s.emu.write_calls(), ["ecs:RegisterTaskDefinition"]);
    assert_eq!(s.emu.service_task_definition("demo", "web"), s.initial_td);
    assert!(r.log.contains("nothing is deployed"), "{}", r.log);

    // plan says what merging would do, and writes nothing.
    s.emu.clear_calls();
    let r = s.go("plan", &[]);
    assert_eq!(r.code, Some(0), "{}", r.log);
    assert!(
        r.log
            .contains("merging this will register a new `web` revision; no service is deployed to"),
        "{}",
        r.log
    );
    assert!(s.emu.write_calls().is_empty(), "{:?}", s.emu.write_calls());
}

#[test]
fn a_migration_task_runs_to_its_exit_before_the_service_is_updated() {
    let s = ecs_service();
    let r = s.go(
        "deploy",
        &[
            "--service",
            "web",
            "--run-task",
            "--wait-for-task-stopped",
            "--run-task-container-overrides",
            r#"[{"name": "web", "command": ["./migrate", "--apply"], "environment": [{"name": "STEP", "value": "migrate"}]}]"#,
            "--run-task-tags",
            r#"[{"key": "purpose", "value": "migration"}]"#,
        ],
    );
    assert_eq!(r.code, Some(0), "{}", r.log);
    let calls = s.emu.calls();
    assert!(
        position(&calls, "RunTask") < position(&calls, "UpdateService"),
        "the task runs before the service is updated: {calls:?}"
    );
    assert!(position(&calls, "DescribeTasks") < position(&calls, "UpdateService"));
    let arns = s.task_arns_output();
    assert_eq!(arns.len(), 1, "{arns:?}");
    let tasks = s.tasks();
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    let t = &tasks[0];
    assert_eq!(t["taskArn"], json!(arns[0]));
    assert_eq!(t["lastStatus"], "STOPPED");
    assert_eq!(t["startedBy"], "GitHub-Actions");
    assert_eq!(
        t["overrides"]["containerOverrides"][0]["command"],
        json!(["./migrate", "--apply"])
    );
    assert_eq!(
        t["tags"],
        json!([{"key": "purpose", "value": "migration"}]),
        "{t}"
    );
    // No subnets were given: the task borrowed the service's network.
    let seeded_net = s.emu.aws(
        "AmazonEC2ContainerServiceV20141113.DescribeServices",
        json!({"cluster": "demo", "services": ["web"]}),
    )["services"][0]["networkConfiguration"]["awsvpcConfiguration"]["subnets"]
        .clone();
    assert_eq!(
        t["networkConfiguration"]["awsvpcConfiguration"]["subnets"], seeded_net,
        "{t}"
    );
    assert!(
        r.log.contains("uses the service's network configuration"),
        "{}",
        r.log
    );
    // Its log was streamed, then how it ended.
    assert!(r.log.contains("web | web: starting"), "{}", r.log);
    assert!(r.log.contains("container web exited 0"), "{}", r.log);
    assert_eq!(
        outputs(&s.out_file())
            .get("deployment-status")
            .map(String::as_str),
        Some("Succeeded")
    );
    assert_ne!(s.emu.service_task_definition("demo", "web"), s.initial_td);
}

#[test]
fn a_failing_migration_fails_the_run_and_starts_no_deployment() {
    let s = ecs_service();
    s.emu.fault(json!({
        "kind": "container_exits",
        "container": "web",
        "exitCode": 3,
        "reason": "migration 0042 failed",
        "log": ["Applying migration 0042...", "ERROR: column \"email\" already exists"],
    }));
    let r = s.go(
        "deploy",
        &["--service", "web", "--run-task", "--wait-for-task-stopped"],
    );
    assert_eq!(r.code, Some(1), "{}", r.log);
    let writes = s.emu.write_calls();
    assert!(
        !writes.iter().any(|c| c.ends_with(":UpdateService")),
        "no deployment: {writes:?}"
    );
    assert_eq!(s.emu.service_task_definition("demo", "web"), s.initial_td);
    assert_eq!(
        outputs(&s.out_file())
            .get("deployment-status")
            .map(String::as_str),
        Some("TaskFailed")
    );
    assert!(
        r.log.contains("container `web` of task")
            && r.log.contains("exited 3 (migration 0042 failed)"),
        "{}",
        r.log
    );
    assert!(
        r.log
            .contains("web | ERROR: column \"email\" already exists"),
        "{}",
        r.log
    );
    assert!(
        r.log
            .contains("no deployment was started: demo/web still runs"),
        "{}",
        r.log
    );
    // The summary has the exit code, the reason and the last log line.
    let summary = s.summary();
    assert!(
        summary.contains("one-off task failed, nothing deployed"),
        "{summary}"
    );
    assert!(
        summary.contains("| `web` | ❌ 3 | migration 0042 failed |"),
        "{summary}"
    );
    assert!(
        summary.contains("web | ERROR: column \"email\" already exists"),
        "{summary}"
    );
}

#[test]
fn without_waiting_the_task_is_started_and_the_deploy_goes_on() {
    let s = ecs_service();
    let r = s.go("deploy", &["--service", "web", "--run-task"]);
    assert_eq!(r.code, Some(0), "{}", r.log);
    assert_eq!(s.task_arns_output().len(), 1);
    assert!(
        r.log.contains("not waiting for the one-off task"),
        "{}",
        r.log
    );
    let calls = s.emu.calls();
    assert!(
        !calls.iter().any(|c| c.ends_with(":DescribeTasks")),
        "{calls:?}"
    );
    assert_ne!(s.emu.service_task_definition("demo", "web"), s.initial_td);
}

#[test]
fn greenlight_run_waits_for_the_task_and_changes_no_service() {
    let s = ecs_service();
    let subnets = s.emu.aws(
        "AmazonEC2ContainerServiceV20141113.DescribeServices",
        json!({"cluster": "demo", "services": ["web"]}),
    )["services"][0]["networkConfiguration"]["awsvpcConfiguration"]["subnets"][0]
        .as_str()
        .expect("a seeded subnet")
        .to_string();
    let r = s.go(
        "run",
        &[
            "--run-task-subnets",
            &subnets,
            "--run-task-security-groups",
            "sg-0123456789abcdef0",
            "--run-task-started-by",
            "migrations",
        ],
    );
    assert_eq!(r.code, Some(0), "{}", r.log);
    let writes = s.emu.write_calls();
    assert_eq!(
        writes,
        ["ecs:RegisterTaskDefinition", "ecs:RunTask"],
        "{}",
        r.log
    );
    let t = &s.tasks()[0];
    assert_eq!(t["startedBy"], "migrations");
    assert_eq!(
        t["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"], "DISABLED",
        "{t}"
    );
    assert_eq!(
        outputs(&s.out_file())
            .get("deployment-status")
            .map(String::as_str),
        Some("TaskSucceeded")
    );
    assert!(
        s.summary().contains("one-off task succeeded"),
        "{}",
        s.summary()
    );
}

#[test]
fn bad_run_task_inputs_are_exit_2_before_any_write() {
    let s = ecs_service();
    for (extra, says) in [
        (
            vec![
                "--service",
                "web",
                "--run-task",
                "--run-task-container-overrides",
                r#"[{"name": "web", "comand": ["x"]}]"#,
            ],
            "unknown field `comand`",
        ),
        (
            vec![
                "--service",
                "web",
                "--run-task",
                "--run-task-container-overrides",
                r#"[{"name": "wbe"}]"#,
            ],
            "names container `wbe`",
        ),
        // An awsvpc revision with no subnets and no service to borrow them from.
        (vec![], "run-task-subnets"),
        (
            vec![
                "--run-task-launch-type",
                "EC2",
                "--run-task-subnets",
                "subnet-1",
            ],
            "run-task-launch-type: FARGATE",
        ),
    ] {
        s.emu.clear_calls();
        let r = s.go("run", &extra);
        assert_eq!(r.code, Some(2), "{extra:?}: {}", r.log);
        assert!(r.log.contains(says), "{extra:?}: {}", r.log);
        assert!(
            s.emu.write_calls().is_empty(),
            "{extra:?}: {:?}",
            s.emu.write_calls()
        );
    }
}

#[test]
fn a_cancelled_run_stops_the_task_and_deploys_nothing() {
    // AWS time at 2x: the task runs for about 5 s, long enough to be cancelled mid-way.
    let s = seeded_at(2.0, &["--controller", "ECS"]);
    let mut cmd = s.emu.greenlight(&s.out_file());
    cmd.args(["deploy", "--cluster", "demo", "--service", "web"])
        .arg("--task-definition")
        .arg(fixture("taskdef.json"))
        .args(["--container-name", "web", "--image", &s.image])
        .args(["--run-task", "--wait-for-task-stopped"]);
    let run = Streaming::until(&mut cmd, ": RUNNING");
    run.terminate();
    let (code, log) = run.finish();
    assert_ne!(code, Some(0), "{log}");
    assert!(log.contains("(StopTask)"), "{log}");
    assert!(log.contains("no deployment was started"), "{log}");
    let writes = s.emu.write_calls();
    assert!(
        writes.iter().any(|c| c.ends_with(":StopTask")),
        "{writes:?}"
    );
    assert!(
        !writes.iter().any(|c| c.ends_with(":UpdateService")),
        "{writes:?}"
    );
    let t = &s.tasks()[0];
    assert!(
        matches!(
            t["lastStatus"].as_str(),
            Some("STOPPED" | "STOPPING" | "DEPROVISIONING")
        ),
        "{t}"
    );
    assert_eq!(
        outputs(&s.out_file())
            .get("deployment-status")
            .map(String::as_str),
        Some("Cancelled")
    );
}
