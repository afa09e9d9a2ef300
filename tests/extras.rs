//! The render extras, the service-managed EBS volume and keep-task-definition-revisions end to
//! end: the real binary against the emulator, read back through DescribeTaskDefinition,
//! DescribeServices and ListTaskDefinitions.

mod common;

use std::path::PathBuf;

use common::{Ran, Seeded, Streaming, fixture, outputs, ran, seeded};
use serde_json::{Value, json};

const ECS: &str = "AmazonEC2ContainerServiceV20141113.";

impl Seeded {
    /// `deploy` (or `plan`) of the seeded image to demo/web with `td`.
    fn run(&self, command: &str, td: &std::path::Path, extra: &[&str]) -> Ran {
        ran(self
            .emu
            .greenlight(&self.out_file())
            .args([command, "--cluster", "demo", "--service", "web"])
            .arg("--task-definition")
            .arg(td)
            .args(["--container-name", "web", "--image", &self.image])
            .args(extra))
    }

    fn ecs(&self, action: &str, body: Value) -> Value {
        self.emu.aws(&format!("{ECS}{action}"), body)
    }

    /// Registers `n` more revisions of family `web` (copies of the seeded one).
    fn register_revisions(&self, n: usize) -> Vec<String> {
        let mut td = self.ecs(
            "DescribeTaskDefinition",
            json!({"taskDefinition": self.initial_td}),
        )["taskDefinition"]
            .clone();
        let Some(obj) = td.as_object_mut() else {
            panic!("no task definition: {td}")
        };
        for key in greenlight::stages::task_def::READ_ONLY_KEYS {
            obj.remove(*key);
        }
        (0..n)
            .map(|_| {
                self.ecs("RegisterTaskDefinition", td.clone())["taskDefinition"]
                    ["taskDefinitionArn"]
                    .as_str()
                    .expect("an ARN")
                    .to_string()
            })
            .collect()
    }

    /// The `web:N` revisions of the family with that status, oldest first.
    fn revisions(&self, status: &str) -> Vec<String> {
        self.ecs(
            "ListTaskDefinitions",
            json!({"familyPrefix": "web", "status": status}),
        )["taskDefinitionArns"]
            .as_array()
            .expect("a list")
            .iter()
            .filter_map(Value::as_str)
            .map(|a| a.rsplit('/').next().unwrap_or(a).to_string())
            .collect()
    }
}

fn ecs_service() -> Seeded {
    seeded(&["--controller", "ECS"])
}

/// The fixture task definition with a volume configured at launch, mounted in `web`.
fn with_launch_volume(s: &Seeded) -> PathBuf {
    let mut td: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("taskdef.json")).expect("fixture"))
            .expect("JSON");
    td["volumes"] = json!([{"name": "data", "configuredAtLaunch": true}]);
    td["containerDefinitions"][0]["mountPoints"] =
        json!([{"sourceVolume": "data", "containerPath": "/data"}]);
    let path = s.dir.path().join("taskdef-volume.json");
    std::fs::write(&path, td.to_string()).expect("write");
    path
}

#[test]
fn role_arns_env_files_and_the_command_are_in_the_registered_revision() {
    let s = ecs_service();
    s.emu.create_task_role("web-task");
    s.emu.create_task_role("web-exec");
    let r = s.run(
        "deploy",
        &fixture("taskdef.json"),
        &[
            "--task-role-arn",
            "arn:aws:iam::123456789012:role/web-task",
            "--execution-role-arn",
            "arn:aws:iam::123456789012:role/web-exec",
            "--env-files",
            "arn:aws:s3:::config/web/base.env\narn:aws:s3:::config/web/prod.env",
            "--container-command",
            r#"["sh", "-c", "exec web --port 80"]"#,
        ],
    );
    assert_eq!(r.code, Some(0), "{}", r.log);
    assert!(
        r.log
            .contains("taskRoleArn: (none) → arn:aws:iam::123456789012:role/web-task"),
        "{}",
        r.log
    );
    let arn = outputs(&s.out_file())["task-definition-arn"].clone();
    let td = &s.ecs("DescribeTaskDefinition", json!({"taskDefinition": arn}))["taskDefinition"];
    assert_eq!(td["taskRoleArn"], "arn:aws:iam::123456789012:role/web-task");
    assert_eq!(
        td["executionRoleArn"],
        "arn:aws:iam::123456789012:role/web-exec"
    );
    let web = &td["containerDefinitions"][0];
    assert_eq!(
        web["environmentFiles"],
        json!([
            {"value": "arn:aws:s3:::config/web/base.env", "type": "s3"},
            {"value": "arn:aws:s3:::config/web/prod.env", "type": "s3"}
        ])
    );
    assert_eq!(web["command"], json!(["sh", "-c", "exec web --port 80"]));
}

#[test]
fn the_ebs_volume_configuration_goes_with_update_service() {
    let s = ecs_service();
    let td = with_launch_volume(&s);
    let volume = r#"{"roleArn": "arn:aws:iam::123456789012:role/ecsInfrastructureRole", "sizeInGiB": 30, "volumeType": "gp3", "throughput": 250}"#;
    let r = s.run(
        "deploy",
        &td,
        &[
            "--service-managed-ebs-volume-name",
            "data",
            "--service-managed-ebs-volume",
            volume,
        ],
    );
    assert_eq!(r.code, Some(0), "{}", r.log);
    let service = &s.ecs(
        "DescribeServices",
        json!({"cluster": "demo", "services": ["web"]}),
    )["services"][0];
    let primary = service["deployments"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["status"] == "PRIMARY"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        primary["volumeConfigurations"],
        json!([{"name": "data", "managedEBSVolume": {
            "roleArn": "arn:aws:iam::123456789012:role/ecsInfrastructureRole",
            "sizeInGiB": 30, "volumeType": "gp3", "throughput": 250
        }}]),
        "{service}"
    );
}

#[test]
fn an_ebs_volume_name_alone_warns_and_sends_nothing() {
    let s = ecs_service();
    let r = s.run(
        "deploy",
        &with_launch_volume(&s),
        &["--service-managed-ebs-volume-name", "data"],
    );
    assert_eq!(r.code, Some(0), "{}", r.log);
    assert!(
        r.log.contains("no volume configuration is sent"),
        "{}",
        r.log
    );
    let service = &s.ecs(
        "DescribeServices",
        json!({"cluster": "demo", "services": ["web"]}),
    )["services"][0];
    assert!(
        service["deployments"]
            .as_array()
            .is_some_and(|d| d.iter().all(|d| d.get("volumeConfigurations").is_none())),
        "{service}"
    );
}

#[test]
fn after_a_successful_deploy_only_the_newest_and_the_ones_in_use_stay_active() {
    let s = ecs_service();
    // web:1 runs; web:2 … web:5 were registered and never deployed.
    s.register_revisions(4);
    let r = s.run(
        "deploy",
        &fixture("taskdef.json"),
        &["--keep-task-definition-revisions", "2"],
    );
    assert_eq!(r.code, Some(0), "{}", r.log);
    let o = outputs(&s.out_file());
    assert!(o["task-definition-arn"].ends_with("web:6"), "{o:?}");
    // web:6 is live, web:5 the other of the two newest, web:1 what a rollback goes back to.
    assert_eq!(s.revisions("ACTIVE"), vec!["web:1", "web:5", "web:6"]);
    assert_eq!(s.revisions("INACTIVE"), vec!["web:2", "web:3", "web:4"]);
    assert!(
        r.log.contains(
            "keep-task-definition-revisions: deregistered web:2, web:3, web:4 (kept the 2 newest, and web:1 still in use or to roll back to)"
        ),
        "{}",
        r.log
    );
    assert_eq!(o["deployment-status"], "Succeeded");
}

#[test]
fn the_outputs_are_written_before_the_cleanup_and_a_signal_ends_it() {
    let s = ecs_service();
    s.register_revisions(3);
    // The cleanup's first read never answers.
    s.emu
        .fault(json!({"kind": "hang", "action": "ListTaskDefinitions", "service": "ecs"}));
    let mut cmd = s.emu.greenlight(&s.out_file());
    cmd.args(["deploy", "--cluster", "demo", "--service", "web"])
        .arg("--task-definition")
        .arg(fixture("taskdef.json"))
        .args(["--container-name", "web", "--image", &s.image])
        .args(["--keep-task-definition-revisions", "1"]);
    let run = Streaming::start(&mut cmd);
    // The next step's inputs do not wait for the cleanup: the outputs are there while it hangs.
    // Within less than the cleanup's own 30 s budget, after which outputs written late would
    // show up too.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while common::deployment_status(&s.out_file()).is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "no outputs while the cleanup hangs"
        );
        std::thread::yield_now();
    }
    assert_eq!(
        common::deployment_status(&s.out_file()).as_deref(),
        Some("Succeeded")
    );
    // A cancel now ends the cleanup, not the run: it succeeded, and nothing was deregistered.
    run.terminate();
    let (code, log) = run.finish();
    assert_eq!(code, Some(0), "{log}");
    assert!(
        !s.emu
            .calls()
            .iter()
            .any(|c| c.ends_with("DeregisterTaskDefinition")),
        "{log}"
    );
    // The held ListTaskDefinitions would hold this read too.
    s.emu.clear_faults();
    assert!(s.revisions("INACTIVE").is_empty());
}

#[test]
fn plan_says_what_would_be_deregistered_and_deregisters_nothing() {
    let s = ecs_service();
    s.register_revisions(4);
    s.emu.clear_calls();
    let r = s.run(
        "plan",
        &fixture("taskdef.json"),
        &["--keep-task-definition-revisions", "2"],
    );
    assert_eq!(r.code, Some(0), "{}", r.log);
    // The revision the deploy registers is one of the two kept.
    assert!(
        r.log.contains(
            "keep-task-definition-revisions 2: after a successful deploy, would deregister web:2, web:3, web:4"
        ),
        "{}",
        r.log
    );
    assert_eq!(s.emu.write_calls(), Vec::<String>::new());
    assert!(s.revisions("INACTIVE").is_empty());
}

#[test]
fn a_failed_deploy_deregisters_nothing() {
    let s = ecs_service();
    s.register_revisions(4);
    s.emu.fault(json!({
        "kind": "circuit_breaker",
        "service": "web",
        "message": "CannotPullContainerError: pull access denied"
    }));
    let r = s.run(
        "deploy",
        &fixture("taskdef.json"),
        &["--keep-task-definition-revisions", "1"],
    );
    assert_eq!(r.code, Some(1), "{}", r.log);
    assert!(s.revisions("INACTIVE").is_empty(), "{}", r.log);
    assert!(
        !s.emu
            .calls()
            .iter()
            .any(|c| c.ends_with(":DeregisterTaskDefinition")),
        "{}",
        r.log
    );
}

#[test]
fn wait_until_none_deregisters_nothing() {
    // The deployment has not ended: what it replaces may still be needed.
    let s = ecs_service();
    s.register_revisions(3);
    let r = s.run(
        "deploy",
        &fixture("taskdef.json"),
        &[
            "--keep-task-definition-revisions",
            "1",
            "--wait-until",
            "none",
        ],
    );
    assert_eq!(r.code, Some(0), "{}", r.log);
    assert!(s.revisions("INACTIVE").is_empty(), "{}", r.log);
}
