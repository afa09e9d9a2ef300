//! The operator verbs against the emulator: promote a deployment waiting at READY, abort one in
//! flight, and the errors when there is nothing to act on.

mod common;

use assert_cmd::Command as AssertCommand;
use common::{Seeded, deployment_status, fixture, outputs, seeded};
use predicates::str::contains;
use serde_json::json;

impl Seeded {
    fn start(&self, wait_until: &str) -> String {
        let mut cmd = self.emu.greenlight(&self.dir.path().join("deploy-outputs"));
        cmd.args([
            "deploy",
            "--cluster",
            "demo",
            "--service",
            "web",
            "--wait-until",
            wait_until,
            "--image",
        ])
        .arg(&self.image)
        .arg("--task-definition")
        .arg(fixture("taskdef.json"));
        AssertCommand::from_std(cmd).assert().code(0);
        outputs(&self.dir.path().join("deploy-outputs"))["deployment-id"].clone()
    }

    fn verb(&self, verb: &str, extra: &[&str]) -> AssertCommand {
        let mut cmd = self.emu.greenlight(&self.out_file());
        cmd.args([verb, "--cluster", "demo", "--service", "web"])
            .args(extra);
        AssertCommand::from_std(cmd)
    }
}

#[test]
fn promote_continues_a_ready_deployment_to_success() {
    let s = seeded(&["--deployment-ready-option", "STOP_DEPLOYMENT"]);
    let id = s.start("ready");
    assert_eq!(
        s.emu.service_task_definition("demo", "web"),
        s.initial_td,
        "still waiting"
    );
    s.emu.clear_calls();
    s.verb("promote", &[])
        .assert()
        .code(0)
        .stdout(contains(format!("promoted {id}")))
        .stdout(contains("deployment status: Succeeded"));
    let o = outputs(&s.out_file());
    assert_eq!(o.get("codedeploy-deployment-id"), Some(&id));
    assert_eq!(
        o.get("deployment-status").map(String::as_str),
        Some("Succeeded")
    );
    assert_ne!(s.emu.service_task_definition("demo", "web"), s.initial_td);
    assert_eq!(s.emu.write_calls(), vec!["codedeploy:ContinueDeployment"]);
}

#[test]
fn promote_refuses_a_deployment_that_is_not_waiting() {
    let s = seeded(&[]);
    s.emu.fault(json!({"kind": "never_ready"}));
    let id = s.start("none");
    s.emu.clear_calls();
    s.verb("promote", &["--deployment-id", &id])
        .assert()
        .code(2)
        .stderr(contains("not waiting at READY"));
    assert!(s.emu.write_calls().is_empty());
}

#[test]
fn abort_stops_the_deployment_in_flight_with_rollback() {
    let s = seeded(&[]);
    s.emu.fault(json!({"kind": "never_ready"}));
    let id = s.start("none");
    s.verb("abort", &[]).assert().code(0).stdout(contains(
        "stopping the deployment: aborted by the operator; rolling back",
    ));
    let o = outputs(&s.out_file());
    assert_eq!(o.get("codedeploy-deployment-id"), Some(&id));
    assert_eq!(
        o.get("deployment-status").map(String::as_str),
        Some("Stopped")
    );
    assert_eq!(s.emu.service_task_definition("demo", "web"), s.initial_td);
}

#[test]
fn verbs_without_a_deployment_in_flight_exit_2() {
    let s = seeded(&[]);
    for verb in ["promote", "abort"] {
        s.verb(verb, &[])
            .assert()
            .code(2)
            .stderr(contains("no deployment is in flight for `DgpECS-demo-web`"));
    }
    s.verb("abort", &["--deployment-id", "not-an-id"])
        .assert()
        .code(2)
        .stderr(contains("is neither a CodeDeploy nor an ECS deployment id"));
    assert!(s.emu.write_calls().is_empty());
}

#[test]
fn status_reports_the_live_revision_and_the_deployment_in_flight() {
    let s = seeded(&[]);
    s.verb("status", &[])
        .assert()
        .code(0)
        .stdout(contains("Controller: CodeDeploy"))
        .stdout(contains("Task definition: `web:1`"))
        .stdout(contains("In flight: no deployment is in flight"));
    s.emu.fault(json!({"kind": "never_ready"}));
    let id = s.start("none");
    s.emu.clear_calls();
    let summary = s.dir.path().join("summary.md");
    let mut cmd = s.emu.greenlight(&s.out_file());
    cmd.args(["status", "--cluster", "demo", "--service", "web"])
        .env("GITHUB_STEP_SUMMARY", &summary);
    AssertCommand::from_std(cmd)
        .assert()
        .code(0)
        .stdout(contains(format!("In flight: `{id}` InProgress")));
    assert!(s.emu.write_calls().is_empty(), "status only reads");
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.contains(&format!("| **In flight** | `{id}` InProgress")),
        "{md}"
    );
    assert_eq!(
        outputs(&s.out_file()).get("codedeploy-deployment-id"),
        Some(&id)
    );
    let stable: String = md
        .replace(&id, "d-<id>")
        .lines()
        .map(|l| {
            if l.starts_with("<sub>") {
                "<sub><elapsed></sub>"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!("status_summary", stable);
}

#[test]
fn rollback_of_a_finished_deployment_restores_the_revision_that_ran_before() {
    let s = seeded(&[]);
    s.start("complete");
    let second = s.emu.service_task_definition("demo", "web");
    // A second deploy: history now says web:2 ran before web:3.
    let mut cmd = s.emu.greenlight(&s.dir.path().join("deploy-outputs"));
    cmd.args(["deploy", "--cluster", "demo", "--service", "web"])
        .args(["--image", &s.image, "--force-new-deployment", "true"])
        .arg("--task-definition")
        .arg(fixture("taskdef.json"));
    AssertCommand::from_std(cmd).assert().code(0);
    let third = s.emu.service_task_definition("demo", "web");
    assert_ne!(third, second);

    s.verb("rollback", &[])
        .assert()
        .code(0)
        .stdout(contains("rolling back demo/web: web:3 → web:2"))
        .stdout(contains("deployment status: Succeeded"));
    assert_eq!(s.emu.service_task_definition("demo", "web"), second);

    // An explicit revision: back to the very first.
    s.verb("rollback", &["--to", "web:1"])
        .assert()
        .code(0)
        .stdout(contains("rolling back demo/web: web:2 → web:1"));
    assert_eq!(s.emu.service_task_definition("demo", "web"), s.initial_td);
}

#[test]
fn rollback_with_a_deployment_in_flight_stops_it_with_rollback() {
    let s = seeded(&[]);
    s.emu.fault(json!({"kind": "never_ready"}));
    s.start("none");
    s.verb("rollback", &[]).assert().code(0).stdout(contains(
        "a deployment is in flight: stopping it with rollback",
    ));
    assert_eq!(deployment_status(&s.out_file()).as_deref(), Some("Stopped"));
    assert_eq!(s.emu.service_task_definition("demo", "web"), s.initial_td);
}

#[test]
fn ecs_verbs_promote_abort_and_roll_back() {
    // Native blue/green paused at its hook: promote continues it to the end.
    let s = seeded(&[
        "--controller",
        "ECS",
        "--strategy",
        "BLUE_GREEN",
        "--pause-hook",
        "POST_TEST_TRAFFIC_SHIFT",
    ]);
    s.start("ready");
    s.verb("promote", &[])
        .assert()
        .code(0)
        .stdout(contains("promoted arn:aws:ecs:"))
        .stdout(contains("deployment status: SUCCESSFUL"));
    let deployed = s.emu.service_task_definition("demo", "web");
    assert_ne!(deployed, s.initial_td);

    // Paused again: abort stops it and traffic goes back to the revision that served it.
    let mut cmd = s.emu.greenlight(&s.dir.path().join("deploy-outputs"));
    cmd.args(["deploy", "--cluster", "demo", "--service", "web"])
        .args(["--image", &s.image, "--force-new-deployment", "true"])
        .args(["--wait-until", "ready"])
        .arg("--task-definition")
        .arg(fixture("taskdef.json"));
    AssertCommand::from_std(cmd).assert().code(0);
    s.verb("abort", &[])
        .assert()
        .code(0)
        .stdout(contains("deployment status: ROLLBACK_SUCCESSFUL"));
    assert_eq!(deployment_status(&s.out_file()).as_deref(), Some("Stopped"));
    assert_eq!(s.emu.service_task_definition("demo", "web"), deployed);

    // A rolling service: rollback after a finished deploy goes back through UpdateService.
    let r = seeded(&["--controller", "ECS"]);
    r.start("complete");
    assert_ne!(r.emu.service_task_definition("demo", "web"), r.initial_td);
    r.verb("rollback", &[])
        .assert()
        .code(0)
        .stdout(contains("rolling back demo/web: web:2 → web:1"));
    assert_eq!(r.emu.service_task_definition("demo", "web"), r.initial_td);
}

#[test]
fn status_of_an_ecs_service_names_its_strategy_and_what_is_in_flight() {
    let s = seeded(&["--controller", "ECS", "--strategy", "CANARY"]);
    s.verb("status", &[])
        .assert()
        .code(0)
        .stdout(contains("Controller: Ecs"))
        .stdout(contains("Strategy: ECS CANARY"))
        .stdout(contains(
            "In flight: no deployment is in flight for demo/web",
        ));
    assert!(s.emu.write_calls().is_empty(), "status only reads");
}
