//! `greenlight plan`: every check of deploy and the diff, and no AWS write at all — asked of
//! the emulator's call log, not assumed.

mod common;

use assert_cmd::Command as AssertCommand;
use common::{Seeded, fixture, outputs, seeded};
use predicates::str::contains;
use serde_json::json;

impl Seeded {
    fn plan(&self, taskdef: &std::path::Path) -> AssertCommand {
        let mut cmd = self.emu.greenlight(&self.dir.path().join("outputs"));
        cmd.args(["plan", "--cluster", "demo", "--service", "web", "--image"])
            .arg(self.seed["image"].as_str().unwrap())
            .arg("--task-definition")
            .arg(taskdef);
        AssertCommand::from_std(cmd)
    }

    fn assert_no_write(&self) {
        let calls = self.emu.calls();
        assert!(!calls.is_empty(), "plan reads AWS");
        assert!(self.emu.write_calls().is_empty(), "plan wrote: {calls:?}");
    }
}

#[test]
fn a_clean_plan_shows_the_diff_and_writes_nothing() {
    let s = seeded(&[]);
    s.plan(&fixture("taskdef.json"))
        .assert()
        .code(0)
        .stdout(contains("scan gate: passed"))
        .stdout(contains("task definition changes against the live web:1"))
        .stdout(contains("+  env APP_VERSION = 1.42.0"))
        .stdout(contains(
            "plan: ready; merging this will register a new `web` revision and deploy it",
        ));
    s.assert_no_write();
    let o = outputs(&s.dir.path().join("outputs"));
    assert_eq!(
        o.get("deployment-status").map(String::as_str),
        Some("Planned")
    );
    assert_eq!(o.get("task-definition-arn"), None, "nothing was registered");
}

#[test]
fn a_blocked_image_plans_exit_3_and_writes_nothing() {
    let s = seeded(&["--scan", "critical"]);
    s.plan(&fixture("taskdef.json"))
        .assert()
        .code(3)
        .stderr(contains("blocked by"));
    s.assert_no_write();
}

#[test]
fn a_missing_scan_is_not_started_by_plan() {
    let s = seeded(&["--scan", "none"]);
    s.plan(&fixture("taskdef.json"))
        .assert()
        .code(3)
        .stderr(contains("plan does not start one"));
    s.assert_no_write();
}

#[test]
fn an_invalid_task_definition_plans_exit_2_without_any_call() {
    let s = seeded(&[]);
    s.plan(&fixture("taskdef-typos.json")).assert().code(2);
    assert!(s.emu.calls().is_empty());
}

#[test]
fn an_overlapping_deployment_is_reported_by_plan() {
    let s = seeded(&[]);
    s.emu.fault(json!({"kind": "never_ready"}));
    let mut cmd = s.emu.greenlight(&s.dir.path().join("deploy-outputs"));
    cmd.args([
        "deploy",
        "--cluster",
        "demo",
        "--service",
        "web",
        "--wait-until",
        "none",
        "--image",
    ])
    .arg(s.seed["image"].as_str().unwrap())
    .arg("--task-definition")
    .arg(fixture("taskdef.json"));
    AssertCommand::from_std(cmd).assert().code(0);
    s.emu.clear_calls();
    s.plan(&fixture("taskdef.json"))
        .assert()
        .code(2)
        .stderr(contains("still in flight"));
    s.assert_no_write();
}

#[test]
fn empty_values_in_the_file_are_dropped_as_the_aws_action_drops_them() {
    let s = seeded(&[]);
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("taskdef.json")).unwrap()).unwrap();
    doc["taskRoleArn"] = json!("");
    doc["volumes"] = json!([]);
    doc["containerDefinitions"][0]["portMappings"][0]["hostPort"] = json!(null);
    let path = s.dir.path().join("with-empties.json");
    std::fs::write(&path, doc.to_string()).unwrap();
    s.plan(&path)
        .assert()
        .code(0)
        .stdout(contains(
            "dropped empty values, as the AWS deploy action does (keep-null-value-keys keeps a key): `containerDefinitions[0].portMappings[0].hostPort`, `taskRoleArn`, `volumes`",
        ));
    s.assert_no_write();
}
