//! The operator verbs against the emulator: promote a deployment waiting at READY, abort one in
//! flight, and the errors when there is nothing to act on.

mod common;

use assert_cmd::Command as AssertCommand;
use common::{Seeded, deployment_status, fixture, outputs, seeded};
use predicates::prelude::PredicateBooleanExt;
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
    // The promote must come before CodeDeploy's own ready timeout, also on a loaded machine.
    let s = seeded(&[
        "--deployment-ready-option",
        "STOP_DEPLOYMENT",
        "--ready-wait-minutes",
        "2880",
    ]);
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
    s.verb("abort", &[])
        .assert()
        .code(0)
        .stdout(contains(
            "stopping the deployment: aborted by the operator; rolling back",
        ))
        .stdout(contains("the deployment stopped, as requested"))
        // The stop was ours: its end is what was asked, not a failure.
        .stdout(contains("deployment failed").not());
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
        .stdout(contains("deployment status: ROLLBACK_SUCCESSFUL"))
        .stdout(contains(
            "demo/web runs web:2, the revision it ran before the deployment",
        ));
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

/// GetDeployment through the emulator, as the AWS console would read it.
fn get_deployment(s: &Seeded, id: &str) -> serde_json::Value {
    s.emu.aws(
        "CodeDeploy_20141006.GetDeployment",
        json!({ "deploymentId": id }),
    )["deploymentInfo"]
        .clone()
}

/// Reads the deployment until `until` holds for it (the emulator moves AWS time on with each
/// request), failing after a few seconds.
fn read_until(
    s: &Seeded,
    id: &str,
    until: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let info = get_deployment(s, id);
        if until(&info) {
            return info;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "deployment {id} never got there: {info}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A group that waits at READY, and a rollback that takes 3 s of wall time (1800 AWS seconds).
fn ready_group_with_a_slow_rollback() -> Seeded {
    let s = seeded(&[
        "--deployment-ready-option",
        "STOP_DEPLOYMENT",
        "--ready-wait-minutes",
        "6000",
    ]);
    s.emu
        .fault(json!({"kind": "slow_rollback", "seconds": 1800, "count": 1}));
    s
}

#[test]
fn abort_at_ready_follows_codedeploys_rollback_deployment_to_its_end() {
    let s = ready_group_with_a_slow_rollback();
    let id = s.start("ready");
    s.emu.clear_calls();
    s.verb("abort", &[])
        .assert()
        .code(0)
        .stdout(contains(format!(
            "CodeDeploy rolls {id} back with deployment d-"
        )))
        .stdout(contains(
            "demo/web runs web:1, the revision it ran before the deployment",
        ))
        .stdout(contains("deployment failed").not());
    // Read the moment abort returned: the rollback has ended, not merely begun.
    let rollback_id = get_deployment(&s, &id)["rollbackInfo"]["rollbackDeploymentId"]
        .as_str()
        .expect("CodeDeploy rolled back with a deployment")
        .to_string();
    let rollback = get_deployment(&s, &rollback_id);
    assert_eq!(rollback["creator"], "codeDeployRollback");
    assert_eq!(rollback["status"], "Succeeded", "{rollback}");
    assert_eq!(s.emu.service_task_definition("demo", "web"), s.initial_td);
    assert_eq!(deployment_status(&s.out_file()).as_deref(), Some("Stopped"));
    assert_eq!(s.emu.write_calls(), vec!["codedeploy:StopDeployment"]);
}

/// Stops `id` as the console does and returns the rollback deployment CodeDeploy creates.
fn stopped_elsewhere(s: &Seeded, id: &str) -> String {
    s.emu.aws(
        "CodeDeploy_20141006.StopDeployment",
        json!({ "deploymentId": id, "autoRollbackEnabled": true }),
    );
    let info = read_until(s, id, |d| d["status"] == "Stopped");
    let rollback_id = info["rollbackInfo"]["rollbackDeploymentId"]
        .as_str()
        .expect("a rollback deployment")
        .to_string();
    assert_eq!(get_deployment(s, &rollback_id)["status"], "InProgress");
    rollback_id
}

#[test]
fn abort_never_stops_codedeploys_own_rollback_but_waits_for_it() {
    let s = ready_group_with_a_slow_rollback();
    let id = s.start("ready");
    let rollback_id = stopped_elsewhere(&s, &id);
    s.emu.clear_calls();
    s.verb("abort", &[])
        .assert()
        .code(0)
        .stdout(contains(format!(
            "{rollback_id} is CodeDeploy's own rollback of {id}: it is not stopped"
        )))
        .stdout(contains("deployment status: Succeeded"))
        .stdout(contains("demo/web runs web:1"));
    assert!(s.emu.write_calls().is_empty(), "{:?}", s.emu.write_calls());
    assert_eq!(get_deployment(&s, &rollback_id)["status"], "Succeeded");
    assert_eq!(s.emu.service_task_definition("demo", "web"), s.initial_td);
    assert_eq!(
        deployment_status(&s.out_file()).as_deref(),
        Some("Succeeded")
    );
}

#[test]
fn a_rollback_deployment_is_stopped_only_when_named_with_force_stop_rollback() {
    let s = ready_group_with_a_slow_rollback();
    let id = s.start("ready");
    let rollback_id = stopped_elsewhere(&s, &id);
    s.emu.clear_calls();
    s.verb("abort", &["--force-stop-rollback"])
        .assert()
        .code(2)
        .stderr(contains("force-stop-rollback"))
        .stderr(contains("deployment-id"));
    assert!(s.emu.write_calls().is_empty());

    s.verb(
        "rollback",
        &[
            "--deployment-id",
            &rollback_id,
            "--force-stop-rollback",
            "true",
        ],
    )
    .assert()
    .code(0)
    .stdout(contains(format!(
        "stopping CodeDeploy's rollback deployment {rollback_id} (force-stop-rollback: true)"
    )))
    .stdout(contains("demo/web runs "));
    assert_eq!(s.emu.write_calls(), vec!["codedeploy:StopDeployment"]);
    assert_eq!(get_deployment(&s, &rollback_id)["status"], "Stopped");
}

#[test]
fn rollback_right_after_an_abort_has_nothing_to_do_and_writes_nothing() {
    let s = seeded(&[]);
    s.emu.fault(json!({"kind": "never_ready"}));
    let id = s.start("none");
    s.verb("abort", &[]).assert().code(0);
    assert_eq!(s.emu.service_task_definition("demo", "web"), s.initial_td);
    s.emu.clear_calls();
    s.verb("rollback", &[])
        .assert()
        .code(0)
        .stdout(contains(format!(
            "demo/web runs web:1: its last deployment {id} (of web:2) ended Stopped and was rolled back by d-"
        )))
        .stdout(contains("there is nothing to go back to"));
    assert!(s.emu.write_calls().is_empty(), "{:?}", s.emu.write_calls());
    assert_eq!(
        deployment_status(&s.out_file()).as_deref(),
        Some("Unchanged")
    );
}

/// The promote command a waiting deploy printed, as arguments.
fn printed_promote(log: &str) -> Vec<String> {
    let line = log
        .lines()
        .find_map(|l| l.split_once("greenlight promote ").map(|(_, args)| args))
        .unwrap_or_else(|| panic!("no promote command in:\n{log}"));
    std::iter::once("promote")
        .chain(line.split_whitespace())
        .map(str::to_string)
        .collect()
}

#[test]
fn a_deploy_waiting_to_complete_says_at_once_it_waits_for_promotion_and_how() {
    for seed in [
        // A minute of wall time at READY before CodeDeploy gives up on the promotion.
        &[
            "--deployment-ready-option",
            "STOP_DEPLOYMENT",
            "--ready-wait-minutes",
            "600",
        ][..],
        &[
            "--controller",
            "ECS",
            "--strategy",
            "BLUE_GREEN",
            "--pause-hook",
            "POST_TEST_TRAFFIC_SHIFT",
        ][..],
    ] {
        let s = seeded(seed);
        let mut cmd = s.emu.greenlight(&s.dir.path().join("deploy-outputs"));
        cmd.args(["deploy", "--cluster", "demo", "--service", "web"])
            .args(["--image", &s.image, "--wait-until", "complete"])
            .arg("--task-definition")
            .arg(fixture("taskdef.json"));
        // The workflow form ends with the deployment id: everything is said by then.
        let run = common::Streaming::until(&mut cmd, "        deployment-id: ");
        assert!(run.log.contains("waits for promotion"), "{}", run.log);
        assert!(run.log.contains("command: promote"), "{}", run.log);
        assert!(
            run.log.contains("- uses: your-org/greenlight@v1"),
            "{}",
            run.log
        );
        let args = printed_promote(&run.log);
        let mut promote = s.emu.greenlight(&s.out_file());
        promote.args(&args);
        AssertCommand::from_std(promote).assert().code(0);
        let (code, log) = run.finish();
        assert_eq!(code, Some(0), "{log}");
        assert_ne!(s.emu.service_task_definition("demo", "web"), s.initial_td);
    }
}

#[test]
fn ecs_native_rollback_right_after_an_abort_has_nothing_to_do() {
    let s = seeded(&[
        "--controller",
        "ECS",
        "--strategy",
        "BLUE_GREEN",
        "--pause-hook",
        "POST_TEST_TRAFFIC_SHIFT",
    ]);
    s.start("ready");
    s.verb("abort", &[])
        .assert()
        .code(0)
        .stdout(contains("deployment status: ROLLBACK_SUCCESSFUL"))
        .stdout(contains(
            "demo/web runs web:1, the revision it ran before the deployment",
        ));
    assert_eq!(s.emu.service_task_definition("demo", "web"), s.initial_td);
    s.emu.clear_calls();
    s.verb("rollback", &[])
        .assert()
        .code(0)
        .stdout(contains(
            "demo/web runs web:1: its last deployment arn:aws:ecs:",
        ))
        .stdout(contains("(of web:2) ended ROLLBACK_SUCCESSFUL"))
        .stdout(contains("there is nothing to go back to"));
    assert!(s.emu.write_calls().is_empty(), "{:?}", s.emu.write_calls());
    assert_eq!(s.emu.service_task_definition("demo", "web"), s.initial_td);
}

#[test]
fn ecs_rolling_abort_says_where_the_service_stands_and_a_rollback_then_has_nothing_to_do() {
    // AWS time at 4x: the rolling update (about 34 AWS seconds) is still in flight when abort
    // reads it.
    let s = common::seeded_at(4.0, &["--controller", "ECS"]);
    s.start("none");
    s.emu.clear_calls();
    s.verb("abort", &[]).assert().code(0).stdout(contains(
        "demo/web runs web:1, the revision it ran before the deployment",
    ));
    assert_eq!(s.emu.service_task_definition("demo", "web"), s.initial_td);
    assert_eq!(deployment_status(&s.out_file()).as_deref(), Some("Stopped"));
    assert_eq!(s.emu.write_calls(), vec!["ecs:UpdateService"]);

    s.emu.clear_calls();
    s.verb("rollback", &[])
        .assert()
        .code(0)
        .stdout(contains("there is nothing to go back to"));
    assert!(s.emu.write_calls().is_empty(), "{:?}", s.emu.write_calls());
    assert_eq!(
        deployment_status(&s.out_file()).as_deref(),
        Some("Unchanged")
    );
    assert_eq!(s.emu.service_task_definition("demo", "web"), s.initial_td);
}

#[test]
fn ecs_native_verbs_on_a_deployment_already_rolling_back_say_so_and_write_nothing() {
    // AWS time at real pace: the rollback (about 17 AWS seconds) is still under way when the
    // verbs read it.
    let s = common::seeded_at(
        1.0,
        &[
            "--controller",
            "ECS",
            "--strategy",
            "BLUE_GREEN",
            "--pause-hook",
            "POST_TEST_TRAFFIC_SHIFT",
        ],
    );
    s.start("ready");
    let listed = s.emu.aws(
        "AmazonEC2ContainerServiceV20141113.ListServiceDeployments",
        json!({"cluster": "demo", "service": "web", "status": ["IN_PROGRESS"]}),
    );
    let arn = listed["serviceDeployments"][0]["serviceDeploymentArn"]
        .as_str()
        .unwrap_or_else(|| panic!("{listed}"))
        .to_string();
    // Someone else (the console, another run) stops it with rollback.
    s.emu.aws(
        "AmazonEC2ContainerServiceV20141113.StopServiceDeployment",
        json!({"serviceDeploymentArn": arn, "stopType": "ROLLBACK"}),
    );
    s.emu.clear_calls();
    for verb in ["abort", "promote"] {
        s.verb(verb, &[])
            .assert()
            .code(2)
            .stderr(contains(format!("deployment {arn} is ROLLBACK_")))
            .stderr(contains(format!("there is nothing to {verb}")));
    }
    assert!(s.emu.write_calls().is_empty(), "{:?}", s.emu.write_calls());
}
