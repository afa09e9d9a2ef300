//! The ECS deployment controller end to end: the real binary against the emulator, for rolling
//! updates (success, circuit breaker, placement failure), the ECS-native strategies (blue/green,
//! canary, linear, a failing hook, READY at a PAUSE hook), overlap handling, and several services
//! in one run.

mod common;

use std::time::{Duration, Instant};

use common::{FAST, STEPS, Seeded, Streaming, deployment_status, fixture, outputs, seeded_at};
use serde_json::json;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

impl Seeded {
    fn ecs_deploy(&self, extra: &[&str]) -> Ran {
        let mut cmd = self.emu.greenlight(&self.out_file());
        cmd.args(["deploy", "--cluster", "demo", "--service", "web"])
            .arg("--task-definition")
            .arg(fixture("taskdef.json"))
            .args(["--container-name", "web", "--image", &self.image])
            .args(extra);
        let t0 = Instant::now();
        let out = cmd.output().unwrap();
        Ran {
            code: out.status.code(),
            stdout: text(&out.stdout),
            stderr: text(&out.stderr),
            took: t0.elapsed(),
        }
    }

    fn status(&self) -> Option<String> {
        deployment_status(&self.out_file())
    }

    fn ecs_calls(&self) -> Vec<String> {
        self.emu.calls()
    }
}

impl std::fmt::Display for Ran {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr)
    }
}

fn ecs(extra: &[&str]) -> Seeded {
    ecs_at(FAST, extra)
}

fn ecs_at(time_scale: f64, extra: &[&str]) -> Seeded {
    let mut args = vec!["--controller", "ECS"];
    args.extend_from_slice(extra);
    seeded_at(time_scale, &args)
}

#[test]
fn a_rolling_update_succeeds_only_at_completed() {
    let s = ecs(&[]);
    let r = s.ecs_deploy(&[]);
    assert_eq!(r.code, Some(0), "{r}");
    assert!(
        r.stdout
            .contains("deploys with an ECS rolling update (circuit breaker on, rolls back)"),
        "{r}"
    );
    assert!(
        r.stdout.contains("ecs: (service web) has started 2 tasks"),
        "{r}"
    );
    assert!(r.stdout.contains("tasks: 2/2 running"), "{r}");
    assert!(r.stdout.contains("deployment status: COMPLETED"), "{r}");
    let o = outputs(&s.out_file());
    assert_eq!(o["deployment-status"], "Succeeded");
    assert!(o["deployment-id"].starts_with("ecs-svc/"), "{o:?}");
    assert_eq!(
        s.emu.service_task_definition("demo", "web"),
        o["task-definition-arn"]
    );
    let calls = s.ecs_calls();
    assert!(calls.iter().any(|c| c == "ecs:UpdateService"), "{calls:?}");
    // CodeDeploy is only asked what the first wave reads before the controller is known.
    assert!(
        calls
            .iter()
            .filter(|c| c.starts_with("codedeploy:"))
            .all(|c| c == "codedeploy:GetDeploymentGroup" || c == "codedeploy:ListDeployments"),
        "{calls:?}"
    );
}

#[test]
fn a_circuit_breaker_rollback_fails_with_its_reason_and_the_old_revision_runs() {
    let s = ecs(&[]);
    s.emu.fault(json!({
        "kind": "circuit_breaker",
        "service": "web",
        "message": "CannotPullContainerError: pull access denied"
    }));
    let r = s.ecs_deploy(&[]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(
        r.stdout
            .contains("deployment failed: ECS deployment circuit breaker"),
        "{r}"
    );
    assert!(
        r.stdout
            .contains("CannotPullContainerError: pull access denied"),
        "{r}"
    );
    assert!(
        r.stdout
            .contains("rolled back: the service runs web:1 again"),
        "{r}"
    );
    assert_eq!(s.status().as_deref(), Some("Failed"));
    assert_eq!(s.emu.service_task_definition("demo", "web"), s.initial_td);
    let updates = s
        .ecs_calls()
        .iter()
        .filter(|c| *c == "ecs:UpdateService")
        .count();
    assert_eq!(updates, 1, "ECS rolled back on its own");
}

#[test]
fn tasks_that_cannot_be_placed_stop_the_deploy_long_before_the_timeout() {
    let s = ecs(&[]);
    s.emu
        .fault(json!({"kind": "placement_failure", "service": "web", "count": 1}));
    // greenlight would wait 30 real minutes for the end: failing fast means seconds.
    let r = s.ecs_deploy(&["--wait-for-minutes", "30"]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(
        r.stdout
            .contains("stopping the deployment: (service web) was unable to place a task"),
        "{r}"
    );
    assert!(
        r.stdout
            .contains("rolled back: the service runs web:1 again"),
        "{r}"
    );
    assert_eq!(s.status().as_deref(), Some("Stopped"));
    assert_eq!(s.emu.service_task_definition("demo", "web"), s.initial_td);
    assert!(r.took < Duration::from_secs(20), "took {:?}", r.took);
}

#[test]
fn native_blue_green_walks_its_stages_to_success() {
    let s = ecs(&["--strategy", "BLUE_GREEN", "--bake-time-minutes", "1"]);
    let r = s.ecs_deploy(&[]);
    assert_eq!(r.code, Some(0), "{r}");
    assert!(
        r.stdout
            .contains("deploys with ECS BLUE_GREEN (all production traffic at once; 1 min bake)"),
        "{r}"
    );
    // However fast the stages pass, each shows as passed, in order.
    let at: Vec<usize> = [
        "SCALE_UP: Succeeded",
        "TEST_TRAFFIC_SHIFT: Succeeded",
        "PRODUCTION_TRAFFIC_SHIFT: Succeeded",
        "BAKE_TIME: Succeeded",
    ]
    .iter()
    .map(|l| r.stdout.find(l).unwrap_or_else(|| panic!("{l}: {r}")))
    .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{r}");
    assert!(r.stdout.contains("traffic: green 100% · blue 0%"), "{r}");
    assert!(r.stdout.contains("deployment status: SUCCESSFUL"), "{r}");
    assert_eq!(s.status().as_deref(), Some("Succeeded"));
    assert_eq!(
        s.emu.service_task_definition("demo", "web"),
        outputs(&s.out_file())["task-definition-arn"]
    );
}

#[test]
fn native_canary_and_linear_show_their_traffic_steps() {
    let s = ecs_at(
        STEPS,
        &[
            "--strategy",
            "CANARY",
            "--canary-percent",
            "10",
            "--canary-bake-minutes",
            "2",
        ],
    );
    let r = s.ecs_deploy(&[]);
    assert_eq!(r.code, Some(0), "{r}");
    let ten = r
        .stdout
        .find("traffic: green 10% · blue 90%")
        .expect("a 10% step");
    let all = r
        .stdout
        .find("traffic: green 100% · blue 0%")
        .expect("a 100% step");
    assert!(ten < all, "{r}");

    let s = ecs_at(
        STEPS,
        &[
            "--strategy",
            "LINEAR",
            "--linear-step-percent",
            "25",
            "--linear-step-bake-minutes",
            "1",
        ],
    );
    let r = s.ecs_deploy(&[]);
    assert_eq!(r.code, Some(0), "{r}");
    let steps: Vec<usize> = ["25%", "50%", "75%", "100%"]
        .iter()
        .map(|p| {
            r.stdout
                .find(&format!("traffic: green {p}"))
                .unwrap_or_else(|| panic!("{p}: {r}"))
        })
        .collect();
    assert!(steps.windows(2).all(|w| w[0] < w[1]), "{r}");
}

#[test]
fn a_failing_native_hook_rolls_back_with_its_message() {
    let s = ecs(&[
        "--strategy",
        "BLUE_GREEN",
        "--lambda-hook",
        "POST_TEST_TRAFFIC_SHIFT",
    ]);
    s.emu.fault(json!({
        "kind": "fail_lifecycle_stage",
        "stage": "POST_TEST_TRAFFIC_SHIFT",
        "message": "smoke test: GET /healthz returned 503"
    }));
    let r = s.ecs_deploy(&[]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(
        r.stdout.contains("smoke test: GET /healthz returned 503"),
        "{r}"
    );
    assert!(
        r.stdout.contains("deployment status: ROLLBACK_SUCCESSFUL"),
        "{r}"
    );
    assert_eq!(s.status().as_deref(), Some("Failed"));
    assert_eq!(s.emu.service_task_definition("demo", "web"), s.initial_td);
}

#[test]
fn native_wait_until_ready_returns_at_the_pause_hook_and_a_cancelled_run_rolls_back() {
    let s = ecs(&[
        "--strategy",
        "BLUE_GREEN",
        "--pause-hook",
        "POST_TEST_TRAFFIC_SHIFT",
    ]);
    let r = s.ecs_deploy(&["--wait-until", "ready"]);
    assert_eq!(r.code, Some(0), "{r}");
    assert!(
        r.stdout.contains("waits for ContinueServiceDeployment"),
        "{r}"
    );
    assert_eq!(s.status().as_deref(), Some("Ready"));
    assert_eq!(
        s.emu.service_task_definition("demo", "web"),
        outputs(&s.out_file())["task-definition-arn"]
    );

    // Nobody promotes it and the run is cancelled: the deployment is stopped with rollback.
    let s = ecs(&[
        "--strategy",
        "BLUE_GREEN",
        "--pause-hook",
        "POST_TEST_TRAFFIC_SHIFT",
    ]);
    let mut cmd = s.emu.greenlight(&s.out_file());
    cmd.args(["deploy", "--cluster", "demo", "--service", "web"])
        .arg("--task-definition")
        .arg(fixture("taskdef.json"))
        .args(["--container-name", "web", "--image", &s.image]);
    let run = Streaming::until(&mut cmd, "waits for ContinueServiceDeployment");
    run.terminate();
    let (code, log) = run.finish();
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains("stopping the deployment: the run was cancelled; rolling back"),
        "{log}"
    );
    assert!(
        log.contains("deployment status: ROLLBACK_SUCCESSFUL"),
        "{log}"
    );
    assert_eq!(s.status().as_deref(), Some("Stopped"));
    assert_eq!(s.emu.service_task_definition("demo", "web"), s.initial_td);
    assert!(
        s.ecs_calls()
            .iter()
            .any(|c| c == "ecs:StopServiceDeployment")
    );
}

#[test]
fn a_deployment_in_flight_is_refused_waited_for_or_followed() {
    let s = ecs(&[
        "--strategy",
        "BLUE_GREEN",
        "--pause-hook",
        "POST_TEST_TRAFFIC_SHIFT",
    ]);
    let first = s.ecs_deploy(&["--wait-until", "ready"]);
    assert_eq!(first.code, Some(0), "{first}");
    let in_flight = outputs(&s.out_file())["deployment-id"].clone();
    s.emu.clear_calls();

    let refused = s.ecs_deploy(&[]);
    assert_eq!(refused.code, Some(2), "{refused}");
    assert!(
        refused.stderr.contains(&format!(
            "deployment {in_flight} is still in flight for demo/web"
        )),
        "{refused}"
    );
    let writes: Vec<String> = s
        .ecs_calls()
        .into_iter()
        .filter(|c| c.contains("Register") || c.contains("Update") || c.contains("Create"))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");

    // The same image: attach follows it (here to READY again) instead of starting another.
    let attached = s.ecs_deploy(&["--on-conflict", "attach", "--wait-until", "ready"]);
    assert_eq!(attached.code, Some(0), "{attached}");
    assert!(
        attached
            .stdout
            .contains(&format!("following deployment {in_flight}")),
        "{attached}"
    );
    assert!(!s.ecs_calls().iter().any(|c| c == "ecs:UpdateService"));
}

#[test]
fn on_conflict_wait_deploys_after_the_one_in_flight_ends() {
    // The first deployment pauses at its hook, so it is surely in flight when the second starts.
    let s = ecs(&[
        "--strategy",
        "BLUE_GREEN",
        "--pause-hook",
        "POST_TEST_TRAFFIC_SHIFT",
    ]);
    let first = s.ecs_deploy(&["--wait-until", "ready"]);
    assert_eq!(first.code, Some(0), "{first}");
    let mut cmd = s.emu.greenlight(&s.dir.path().join("second-outputs"));
    cmd.args(["deploy", "--cluster", "demo", "--service", "web"])
        .arg("--task-definition")
        .arg(fixture("taskdef.json"))
        .args(["--container-name", "web", "--image", &s.image])
        .args(["--on-conflict", "wait", "--force-new-deployment", "true"])
        .args(["--wait-until", "ready"]);
    let run = Streaming::until(&mut cmd, "waiting for deployment");
    // An operator continues the first one past its hook; it then runs to the end.
    let listed = s.emu.aws(
        "AmazonEC2ContainerServiceV20141113.ListServiceDeployments",
        json!({"cluster": "demo", "service": "web", "status": ["IN_PROGRESS"]}),
    );
    let arn = listed["serviceDeployments"][0]["serviceDeploymentArn"]
        .as_str()
        .unwrap_or_else(|| panic!("{listed}"))
        .to_string();
    let described = s.emu.aws(
        "AmazonEC2ContainerServiceV20141113.DescribeServiceDeployments",
        json!({"serviceDeploymentArns": [arn]}),
    );
    let hook = described["serviceDeployments"][0]["lifecycleHookDetails"][0]["hookId"]
        .as_str()
        .unwrap_or_else(|| panic!("{described}"))
        .to_string();
    s.emu.aws(
        "AmazonEC2ContainerServiceV20141113.ContinueServiceDeployment",
        json!({"serviceDeploymentArn": arn, "hookId": hook}),
    );
    let (code, log) = run.finish();
    assert_eq!(code, Some(0), "{log}");
    let ended = log.find("has ended").expect("sees it end");
    let started = log.find("created deployment").expect("then deploys");
    assert!(ended < started, "{log}");
    assert_eq!(
        outputs(&s.dir.path().join("second-outputs"))["deployment-status"],
        "Ready"
    );
}

#[test]
fn three_services_deploy_concurrently_and_one_failure_fails_the_run() {
    let s = ecs(&[]);
    let mut images = vec![("web".to_string(), s.image.clone())];
    for name in ["api", "worker"] {
        let seed = s.emu.seed(&[
            "--cluster",
            "demo",
            "--service",
            name,
            "--family",
            name,
            "--repository",
            name,
            "--controller",
            "ECS",
        ]);
        images.push((
            name.to_string(),
            seed["image"].as_str().unwrap().to_string(),
        ));
    }
    s.emu
        .fault(json!({"kind": "circuit_breaker", "service": "worker"}));
    let config = s.dir.path().join("services.yml");
    let entries: String = images
        .iter()
        .map(|(name, image)| {
            format!(
                "  - service: {name}\n    task-definition: {}\n    container-name: web\n    image: {image}\n",
                fixture("taskdef.json").display()
            )
        })
        .collect();
    std::fs::write(&config, format!("services:\n{entries}")).unwrap();

    let run = |extra: &[&str]| {
        let mut cmd = s.emu.greenlight(&s.out_file());
        cmd.args(["deploy", "--cluster", "demo", "--config"])
            .arg(&config)
            .args(extra);
        let out = cmd.output().unwrap();
        Ran {
            code: out.status.code(),
            stdout: text(&out.stdout),
            stderr: text(&out.stderr),
            took: Duration::ZERO,
        }
    };
    let r = run(&[]);
    assert_eq!(r.code, Some(1), "{r}");
    for name in ["web", "api", "worker"] {
        assert!(
            r.stdout
                .contains(&format!("[demo/{name}] created deployment")),
            "{name}: {r}"
        );
    }
    assert!(
        r.stdout
            .contains("[demo/worker] deployment failed: (service worker) (deployment")
            || r.stdout
                .contains("[demo/worker] deployment failed: ECS deployment circuit breaker"),
        "{r}"
    );
    assert!(
        r.stdout.contains("demo/web: Succeeded") && r.stdout.contains("demo/api: Succeeded"),
        "{r}"
    );
    assert!(r.stdout.contains("demo/worker: Failed"), "{r}");
    let web_td = s.emu.service_task_definition("demo", "web");
    assert_ne!(web_td, s.initial_td);
    assert_eq!(outputs(&s.out_file())["deployment-status"], "Failed");

    // all-or-nothing: the same failure puts the other two back on what they ran.
    let r = run(&["--all-or-nothing", "true", "--force-new-deployment", "true"]);
    assert_eq!(r.code, Some(1), "{r}");
    assert_eq!(s.emu.service_task_definition("demo", "web"), web_td);
    // Stopped while in flight or put back after it finished: either way the log names the
    // service that failed.
    assert!(
        r.stdout
            .contains("[demo/web] stopping the deployment: demo/worker failed (all-or-nothing)"),
        "{r}"
    );
    assert!(!r.stdout.contains("the run was cancelled"), "{r}");
}

/// The service's deployments as DescribeServices gives them: (taskDefinition, status, rolloutState).
fn deployments(s: &Seeded) -> Vec<(String, String, String)> {
    let out = s.emu.aws(
        "AmazonEC2ContainerServiceV20141113.DescribeServices",
        json!({"cluster": "demo", "services": ["web"]}),
    );
    out["services"][0]["deployments"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|d| {
            let field = |k: &str| d[k].as_str().unwrap_or_default().to_string();
            (
                field("taskDefinition"),
                field("status"),
                field("rolloutState"),
            )
        })
        .collect()
}

#[test]
fn a_cancelled_rolling_update_ends_only_once_ecs_has_rolled_the_service_back() {
    // AWS time at 4x: the rolling update (about 34 AWS seconds) is mid-way when the signal lands.
    let s = ecs_at(4.0, &[]);
    let mut cmd = s.emu.greenlight(&s.out_file());
    cmd.args(["deploy", "--cluster", "demo", "--service", "web"])
        .arg("--task-definition")
        .arg(fixture("taskdef.json"))
        .args(["--container-name", "web", "--image", &s.image]);
    let run = Streaming::until(&mut cmd, "deployment status: IN_PROGRESS");
    run.terminate();
    let (code, log) = run.finish();
    // Read the moment the run ended: the rollback has completed, not merely begun.
    let now = deployments(&s);
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains("stopping the deployment: the run was cancelled; rolling back"),
        "{log}"
    );
    assert!(
        log.contains("rolled back: the service runs web:1 again"),
        "{log}"
    );
    assert_eq!(s.status().as_deref(), Some("Stopped"));
    assert_eq!(
        now,
        vec![(s.initial_td.clone(), "PRIMARY".into(), "COMPLETED".into())],
        "{log}"
    );
}
