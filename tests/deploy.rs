//! The vertical slice end to end: the real binary against the emulator.

mod common;

use assert_cmd::Command as AssertCommand;
use common::{STEPS, Seeded, Streaming, deployment_status, fixture, outputs, seeded, seeded_at};
use predicates::str::contains;
use serde_json::json;

impl Seeded {
    fn deploy(&self, extra: &[&str]) -> std::process::Command {
        self.deploy_command(extra)
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn canary_shifts_10_then_100_percent_and_the_service_runs_the_new_revision() {
    let s = seeded_at(STEPS, &[]);
    let summary = s.dir.path().join("summary.md");
    let out = s
        .deploy(&[
            "--codedeploy-deployment-config",
            "CodeDeployDefault.ECSCanary10Percent5Minutes",
        ])
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{}",
        text(&out.stderr)
    );

    let ten = stdout
        .find("traffic: green 10% · blue 90%")
        .expect("a 10% step in the log");
    let hundred = stdout
        .find("traffic: green 100% · blue 0%")
        .expect("a 100% step in the log");
    assert!(ten < hundred, "{stdout}");
    assert!(stdout.contains("deployment status: Succeeded"), "{stdout}");
    assert!(
        stdout.contains("AfterAllowTestTraffic: Succeeded"),
        "{stdout}"
    );

    let o = outputs(&s.out_file());
    assert_eq!(
        o.get("deployment-status").map(String::as_str),
        Some("Succeeded")
    );
    let arn = o
        .get("task-definition-arn")
        .expect("task-definition-arn output")
        .clone();
    assert_ne!(arn, s.initial_td);
    assert!(arn.ends_with("task-definition/web:2"), "{arn}");
    assert!(
        o.get("codedeploy-deployment-id")
            .is_some_and(|id| id.starts_with("d-"))
    );
    assert_eq!(s.emu.service_task_definition("demo", "web"), arn);

    // What was registered is the file as written, with the gated image pinned by digest and
    // the empty environment value kept.
    let td = s.emu.aws(
        "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition",
        json!({"taskDefinition": arn}),
    );
    let container = &td["taskDefinition"]["containerDefinitions"][0];
    assert_eq!(container["image"], s.pinned.as_str());
    assert_eq!(
        container["dockerLabels"]["greenlight.image"],
        s.image.as_str()
    );
    assert_eq!(
        container["environment"][1],
        json!({"name": "FEATURE_FLAGS", "value": ""})
    );

    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.starts_with("<!-- greenlight:demo/web -->\n### ✅ greenlight · `demo/web` · deployed"),
        "{md}"
    );
    assert!(md.contains("| AfterAllowTraffic | ✅ |"), "{md}");
    assert!(
        md.contains("green ████████████████████ 100% · blue 0%"),
        "{md}"
    );

    let writes = s.emu.write_calls();
    assert_eq!(
        writes,
        vec!["ecs:RegisterTaskDefinition", "codedeploy:CreateDeployment"]
    );
}

#[test]
fn a_failing_after_allow_test_traffic_hook_fails_the_run_with_exit_1() {
    let s = seeded(&[]);
    s.emu.fault(json!({
        "kind": "fail_lifecycle_event",
        "event": "AfterAllowTestTraffic",
        "message": "smoke test: GET /health returned 503"
    }));
    let out = s.deploy(&[]).output().unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert_eq!(deployment_status(&s.out_file()).as_deref(), Some("Failed"));
    assert!(stdout.contains("AfterAllowTestTraffic: Failed"), "{stdout}");
    assert!(
        stdout.contains("smoke test: GET /health returned 503"),
        "{stdout}"
    );
    assert_eq!(s.emu.service_task_definition("demo", "web"), s.initial_td);
}

#[test]
fn a_malformed_task_definition_exits_2_naming_file_and_problem_with_no_aws_write() {
    let s = seeded(&[]);
    let mut cmd = s.emu.greenlight(&s.out_file());
    cmd.args([
        "deploy",
        "--cluster",
        "demo",
        "--service",
        "web",
        "--container-name",
        "web",
        "--image",
        &s.image,
    ])
    .arg("--task-definition")
    .arg(fixture("taskdef-typos.json"));
    let out = cmd.output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("taskdef-typos.json"), "{stderr}");
    assert!(stderr.contains("line 9, `requiresCompatibilitiess`: unknown key; did you mean `requiresCompatibilities`?"), "{stderr}");
    assert!(
        stderr.contains("`containerDefinitions[0].essential`: must be true or false"),
        "{stderr}"
    );
    assert!(
        s.emu.write_calls().is_empty(),
        "writes: {:?}",
        s.emu.write_calls()
    );
    assert!(
        s.emu.calls().is_empty(),
        "a bad file needs no AWS call at all: {:?}",
        s.emu.calls()
    );
}

#[test]
fn in_actions_problems_become_annotations_on_the_file_line() {
    let s = seeded(&[]);
    let mut cmd = s.emu.greenlight(&s.out_file());
    let td = fixture("taskdef-typos.json");
    cmd.env("GITHUB_ACTIONS", "true")
        .env("INPUT_COMMAND", "deploy")
        .env("INPUT_TASK-DEFINITION", &td)
        .env("INPUT_SERVICE", "web")
        .env("INPUT_CLUSTER", "demo")
        .env("INPUT_IMAGE", &s.image)
        .env("INPUT_WAIT-UNTIL", "complete");
    let out = cmd.output().unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    let expected = format!(
        "::error file={},line=9::",
        td.display()
            .to_string()
            .replace(':', "%3A")
            .replace(',', "%2C")
    );
    assert!(stdout.contains(&expected), "{stdout}");
    assert!(s.emu.calls().is_empty());
}

#[test]
fn action_inputs_deploy_like_the_cli() {
    let s = seeded(&[]);
    let mut cmd = s.emu.greenlight(&s.out_file());
    cmd.env("GITHUB_ACTIONS", "true")
        .env("INPUT_TASK-DEFINITION", fixture("taskdef.json"))
        .env("INPUT_SERVICE", "web")
        .env("INPUT_CLUSTER", "demo")
        .env("INPUT_IMAGE", &s.image)
        .env("INPUT_CODEDEPLOY-APPSPEC", "")
        .env("INPUT_WAIT-FOR-MINUTES", "30");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(
        deployment_status(&s.out_file()).as_deref(),
        Some("Succeeded")
    );
}

#[test]
fn a_misspelt_deployment_config_is_refused_before_any_write() {
    let s = seeded(&[]);
    AssertCommand::from_std(s.deploy(&[
        "--codedeploy-deployment-config",
        "CodeDeployDefault.ECSAllatOnce",
    ]))
    .assert()
    .code(2)
    .stderr(contains(
        "deployment config `CodeDeployDefault.ECSAllatOnce` does not exist",
    ))
    .stderr(contains("did you mean `CodeDeployDefault.ECSAllAtOnce`?"));
    assert!(s.emu.write_calls().is_empty(), "{:?}", s.emu.write_calls());
}

#[test]
fn a_missing_service_is_refused_before_any_write() {
    let s = seeded(&[]);
    let mut cmd = s.emu.greenlight(&s.out_file());
    cmd.args([
        "deploy",
        "--cluster",
        "demo",
        "--service",
        "api",
        "--image",
        &s.image,
    ])
    .arg("--task-definition")
    .arg(fixture("taskdef.json"));
    AssertCommand::from_std(cmd)
        .assert()
        .code(2)
        .stderr(contains("service `api` was not found in cluster `demo`"));
    assert!(s.emu.write_calls().is_empty());
}

#[test]
fn a_deployment_already_in_flight_is_refused_before_any_write() {
    let s = seeded(&[]);
    s.emu.fault(json!({"kind": "never_ready"}));
    AssertCommand::from_std(s.deploy(&["--wait-until", "none"]))
        .assert()
        .code(0);
    s.emu.clear_calls();
    AssertCommand::from_std(s.deploy(&[]))
        .assert()
        .code(2)
        .stderr(contains("is still in flight for demo/web"));
    assert!(s.emu.write_calls().is_empty(), "{:?}", s.emu.write_calls());
}

#[test]
fn an_appspec_yaml_in_the_working_directory_is_used_as_the_aws_action_does() {
    let s = seeded(&[]);
    let work = s.dir.path().join("checkout");
    std::fs::create_dir_all(&work).unwrap();
    let spec = std::fs::read_to_string(fixture("appspec.yml")).unwrap();
    std::fs::write(
        work.join("appspec.yaml"),
        format!(
            "{spec}Hooks:\n  - BeforeAllowTraffic: arn:aws:lambda:us-east-1:123456789012:function:smoke\n"
        ),
    )
    .unwrap();
    // The deploy of `deploy_command`, without naming an AppSpec.
    let mut cmd = s.emu.greenlight(&s.out_file());
    cmd.args(["deploy", "--cluster", "demo", "--service", "web"])
        .arg("--task-definition")
        .arg(fixture("taskdef.json"))
        .args(["--container-name", "web", "--image", &s.image])
        .args(["--wait-until", "none"])
        .current_dir(&work);
    let out = cmd.output().unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("AppSpec: appspec.yaml (found in the working directory"),
        "{stdout}"
    );
    let id = outputs(&s.out_file())["codedeploy-deployment-id"].clone();
    let info = s.emu.aws(
        "CodeDeploy_20141006.GetDeployment",
        json!({ "deploymentId": id }),
    );
    let content = info["deploymentInfo"]["revision"]["appSpecContent"]["content"]
        .as_str()
        .unwrap_or_else(|| panic!("{info}"));
    assert!(content.contains("function:smoke"), "{content}");
}

#[test]
fn wait_until_none_returns_right_after_create_deployment() {
    let s = seeded(&[]);
    AssertCommand::from_std(s.deploy(&["--wait-until", "none"]))
        .assert()
        .code(0);
    let calls = s.emu.calls();
    let created = calls
        .iter()
        .position(|c| c == "codedeploy:CreateDeployment")
        .unwrap_or_else(|| panic!("{calls:?}"));
    assert_eq!(&calls[created + 1..], &[] as &[String], "{calls:?}");
    assert_eq!(deployment_status(&s.out_file()).as_deref(), Some("Created"));
}

#[test]
fn wait_until_ready_returns_at_the_ready_pause() {
    let s = seeded(&["--deployment-ready-option", "STOP_DEPLOYMENT"]);
    let out = s.deploy(&["--wait-until", "ready"]).output().unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(deployment_status(&s.out_file()).as_deref(), Some("Ready"));
    assert_eq!(s.emu.service_task_definition("demo", "web"), s.initial_td);
}

#[test]
fn a_cancelled_run_stops_the_deployment_with_rollback() {
    let s = seeded(&[]);
    s.emu.fault(json!({"kind": "never_ready"}));
    let run = Streaming::until(&mut s.deploy(&[]), "created deployment");
    run.terminate();
    let (code, log) = run.finish();
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains("stopping the deployment: the run was cancelled; rolling back"),
        "{log}"
    );
    assert_eq!(deployment_status(&s.out_file()).as_deref(), Some("Stopped"));
    assert!(
        s.emu
            .calls()
            .iter()
            .any(|c| c == "codedeploy:StopDeployment")
    );
    assert_eq!(s.emu.service_task_definition("demo", "web"), s.initial_td);
}

#[test]
fn a_registered_revision_deploys_as_it_is_without_registering() {
    let s = seeded(&[]);
    let mut cmd = s.emu.greenlight(&s.out_file());
    cmd.args([
        "deploy",
        "--cluster",
        "demo",
        "--service",
        "web",
        "--task-definition",
        "web:1",
    ]);
    AssertCommand::from_std(cmd)
        .assert()
        .code(0)
        .stdout(contains(format!(
            "deploying the registered {} as it is",
            s.initial_td
        )));
    assert_eq!(s.emu.write_calls(), vec!["codedeploy:CreateDeployment"]);
    assert_eq!(
        outputs(&s.out_file()).get("task-definition-arn"),
        Some(&s.initial_td)
    );
}

#[test]
fn a_registered_family_is_the_base_of_a_new_revision_with_image_definitions() {
    let s = seeded(&[]);
    let defs = s.dir.path().join("imagedefinitions.json");
    std::fs::write(
        &defs,
        json!([{"name": "web", "imageUri": s.image}]).to_string(),
    )
    .unwrap();
    let mut cmd = s.emu.greenlight(&s.out_file());
    cmd.args([
        "deploy",
        "--cluster",
        "demo",
        "--service",
        "web",
        "--task-definition",
        "web",
    ])
    .arg("--image-definitions")
    .arg(&defs)
    .args(["--environment-variables", "APP_VERSION=1.42.0"]);
    AssertCommand::from_std(cmd).assert().code(0);
    let arn = outputs(&s.out_file())["task-definition-arn"].clone();
    assert!(arn.ends_with("task-definition/web:2"), "{arn}");
    let td = s.emu.aws(
        "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition",
        json!({"taskDefinition": arn}),
    );
    let c = &td["taskDefinition"]["containerDefinitions"][0];
    assert_eq!(c["image"], s.pinned.as_str());
    let env = c["environment"].as_array().unwrap();
    assert!(
        env.contains(&json!({"name": "APP_VERSION", "value": "1.42.0"})),
        "{env:?}"
    );
}

#[test]
fn an_unknown_registered_task_definition_is_refused() {
    let s = seeded(&[]);
    let mut cmd = s.emu.greenlight(&s.out_file());
    cmd.args([
        "deploy",
        "--cluster",
        "demo",
        "--service",
        "web",
        "--task-definition",
        "api:3",
    ]);
    AssertCommand::from_std(cmd)
        .assert()
        .code(2)
        .stderr(contains(
            "`api:3` is neither a file nor a registered task definition",
        ));
    assert!(s.emu.write_calls().is_empty());
}

#[test]
fn an_unchanged_task_definition_is_not_registered_twice_unless_forced() {
    let s = seeded(&[]);
    AssertCommand::from_std(s.deploy(&[])).assert().code(0);
    let first = outputs(&s.out_file())["task-definition-arn"].clone();
    s.emu.clear_calls();
    AssertCommand::from_std(s.deploy(&[]))
        .assert()
        .code(0)
        .stdout(contains(format!("not registering a copy of {first}")));
    assert_eq!(s.emu.write_calls(), vec!["codedeploy:CreateDeployment"]);
    s.emu.clear_calls();
    AssertCommand::from_std(s.deploy(&["--force-new-deployment"]))
        .assert()
        .code(0);
    assert_eq!(
        s.emu.write_calls(),
        vec!["ecs:RegisterTaskDefinition", "codedeploy:CreateDeployment"]
    );
}

#[test]
fn a_termination_wait_is_awaited_only_when_asked() {
    let s = seeded(&["--termination-wait-minutes", "60"]);
    let out = s.deploy(&[]).output().unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("not waiting out the original task set's 60 min termination wait"),
        "{stdout}"
    );
    let o = outputs(&s.out_file());
    assert_eq!(
        o.get("deployment-status").map(String::as_str),
        Some("TrafficShifted")
    );
    let id = o["codedeploy-deployment-id"].clone();
    let info = s.emu.aws(
        "CodeDeploy_20141006.GetDeployment",
        json!({ "deploymentId": id }),
    );
    assert_eq!(info["deploymentInfo"]["status"], "InProgress", "{info}");

    // The same with wait-for-service-stability: the step ends at Succeeded, after the wait.
    let s = seeded(&["--termination-wait-minutes", "5"]);
    let out = s
        .deploy(&["--wait-for-service-stability", "true"])
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("deployment status: Succeeded"), "{stdout}");
    assert_eq!(
        deployment_status(&s.out_file()).as_deref(),
        Some("Succeeded")
    );
}

#[test]
fn linear_and_all_at_once_show_their_traffic_steps() {
    let s = seeded_at(STEPS, &[]);
    let out = s
        .deploy(&[
            "--codedeploy-deployment-config",
            "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
        ])
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("linear: 10% more every 1 min"),
        "the routing is named: {stdout}"
    );
    let steps: Vec<usize> = ["green 10%", "green 50%", "green 100%"]
        .iter()
        .map(|p| stdout.find(p).unwrap_or_else(|| panic!("{p}: {stdout}")))
        .collect();
    assert!(steps.windows(2).all(|w| w[0] < w[1]), "{stdout}");
    assert!(stdout.contains("tasks: 2/2 running"), "{stdout}");

    let s = seeded(&[]);
    let out = s
        .deploy(&[
            "--codedeploy-deployment-config",
            "CodeDeployDefault.ECSAllAtOnce",
        ])
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("(all at once)"), "{stdout}");
    let traffic: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("traffic: green"))
        .collect();
    assert_eq!(traffic.len(), 1, "one step: {stdout}");
    assert!(traffic[0].contains("green 100% · blue 0%"), "{stdout}");
}

/// greenlight's own clock is real time: the shortest timeout is one minute of waiting.
#[test]
fn a_timeout_stops_with_rollback_and_the_old_revision_runs_again() {
    let s = seeded(&[]);
    s.emu.fault(json!({"kind": "never_ready"}));
    let out = s.deploy(&["--wait-for-minutes", "1"]).output().unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("stopping the deployment: no end state after 1 minutes; rolling back"),
        "{stdout}"
    );
    assert!(stdout.contains("deployment status: Stopped"), "{stdout}");
    assert!(stdout.contains("rolled back:"), "{stdout}");
    assert_eq!(deployment_status(&s.out_file()).as_deref(), Some("Stopped"));
    assert_eq!(s.emu.service_task_definition("demo", "web"), s.initial_td);
}

#[test]
fn on_conflict_waits_for_or_attaches_to_the_codedeploy_deployment_in_flight() {
    // Three runs and a promote happen while the first deployment waits at READY: CodeDeploy's
    // longest ready wait, two AWS days (nearly five minutes here), keeps its own ready timeout
    // out of the way on a loaded machine, where ten AWS hours (a minute) once ran out.
    let s = seeded(&[
        "--deployment-ready-option",
        "STOP_DEPLOYMENT",
        "--ready-wait-minutes",
        "2880",
    ]);
    let out = s.deploy(&["--wait-until", "ready"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let first = outputs(&s.out_file())["codedeploy-deployment-id"].clone();

    // The same image: attach follows the deployment in flight to READY, registering nothing.
    s.emu.clear_calls();
    let out = s
        .deploy(&["--on-conflict", "attach", "--wait-until", "ready"])
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains(&format!("following deployment {first}")),
        "{stdout}"
    );
    let calls = s.emu.calls();
    assert!(
        !calls
            .iter()
            .any(|c| c.ends_with("RegisterTaskDefinition") || c.ends_with("CreateDeployment")),
        "{calls:?}"
    );

    // Waiting: once this run waits, the deployment in flight is promoted; then it deploys.
    let run = Streaming::until(
        &mut s.deploy(&[
            "--on-conflict",
            "wait",
            "--force-new-deployment",
            "true",
            "--wait-until",
            "ready",
        ]),
        &format!("waiting for deployment {first} to end"),
    );
    let promote = s
        .emu
        .greenlight(&s.dir.path().join("promote-outputs"))
        .args(["promote", "--cluster", "demo", "--service", "web"])
        .output()
        .unwrap();
    assert_eq!(promote.status.code(), Some(0), "{}", text(&promote.stdout));
    let (code, log) = run.finish();
    assert_eq!(code, Some(0), "{log}");
    let ended = log
        .find(&format!("deployment {first} has ended"))
        .expect("sees it end");
    let created = log.find("created deployment").expect("then deploys");
    assert!(ended < created, "{log}");
    assert_ne!(
        outputs(&s.out_file())["codedeploy-deployment-id"],
        first,
        "a deployment of its own"
    );
}
