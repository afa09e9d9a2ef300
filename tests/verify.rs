//! `verify`, end to end: what the task definition references is checked against the emulator
//! before any write; a missing role, secret, log group or sidecar image is exit 2 naming the
//! field, with nothing written; a refused read is a warning and the run goes on.

mod common;

use common::{Ran, Seeded, fixture, ran, seeded};
use serde_json::{Value, json};

fn base() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("taskdef.json")).expect("fixture"))
        .expect("JSON")
}

impl Seeded {
    /// `plan` (or `command`) of the seeded image with the task definition `td`.
    fn with_td(&self, command: &str, td: &Value, extra: &[&str]) -> Ran {
        let path = self.dir.path().join("taskdef-verify.json");
        std::fs::write(&path, td.to_string()).expect("write");
        ran(self
            .emu
            .greenlight(&self.out_file())
            .args([command, "--cluster", "demo", "--service", "web"])
            .arg("--task-definition")
            .arg(&path)
            .arg("--codedeploy-appspec")
            .arg(fixture("appspec.yml"))
            .args(["--container-name", "web", "--image", &self.image])
            .args(extra))
    }

    /// Both a plan and a deploy refuse it, naming the field, with nothing written.
    fn refused(&self, td: &Value, field: &str, says: &str) {
        for command in ["plan", "deploy"] {
            self.emu.clear_calls();
            let r = self.with_td(command, td, &[]);
            assert_eq!(r.code, Some(2), "{command}: {}", r.log);
            assert!(
                r.log.contains(field),
                "{command} names `{field}`: {}",
                r.log
            );
            assert!(r.log.contains(says), "{command} says `{says}`: {}", r.log);
            assert!(
                self.emu.write_calls().is_empty(),
                "{command} wrote nothing: {:?}",
                self.emu.write_calls()
            );
        }
    }
}

#[test]
fn the_seeded_references_all_exist_and_the_plan_passes() {
    let s = seeded(&[]);
    let r = s.with_td("plan", &base(), &[]);
    assert_eq!(r.code, Some(0), "{}", r.log);
    assert!(!r.log.contains("was not verified"), "{}", r.log);
    let calls = s.emu.calls();
    for action in ["iam:GetRole", "logs:DescribeLogGroups"] {
        assert!(calls.iter().any(|c| c == action), "{action}: {calls:?}");
    }
}

#[test]
fn a_missing_or_untrusting_role_is_refused_naming_the_field() {
    let s = seeded(&[]);
    let mut td = base();
    td["taskRoleArn"] = json!("arn:aws:iam::123456789012:role/web-task");
    s.refused(&td, "taskRoleArn", "role `web-task` does not exist");
    // A role CodeDeploy assumes is not one ECS tasks may assume.
    td["taskRoleArn"] = json!("arn:aws:iam::123456789012:role/ecsCodeDeployRole");
    s.refused(
        &td,
        "taskRoleArn",
        "does not trust `ecs-tasks.amazonaws.com`",
    );
    // verify: false skips the checks.
    let r = s.with_td("plan", &td, &["--verify", "false"]);
    assert_eq!(r.code, Some(0), "{}", r.log);
}

#[test]
fn a_missing_secret_is_refused_until_it_exists_and_its_value_is_never_read() {
    let s = seeded(&[]);
    let mut td = base();
    td["containerDefinitions"][0]["secrets"] = json!([
        {"name": "DB_PASSWORD", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/web/db-password"},
    ]);
    s.refused(
        &td,
        "containerDefinitions[0].secrets[0].valueFrom",
        "SSM parameter `/web/db-password` does not exist",
    );
    s.emu.aws(
        "AmazonSSM.PutParameter",
        json!({"Name": "/web/db-password", "Value": "hunter2-very-secret", "Type": "SecureString"}),
    );
    s.emu.clear_calls();
    let r = s.with_td("plan", &td, &[]);
    assert_eq!(r.code, Some(0), "{}", r.log);
    let calls = s.emu.calls();
    assert!(
        calls.iter().any(|c| c == "ssm:DescribeParameters"),
        "{calls:?}"
    );
    assert!(
        !calls.iter().any(|c| c.starts_with("ssm:GetParameter")),
        "never a value: {calls:?}"
    );

    td["containerDefinitions"][0]["secrets"] = json!([
        {"name": "STRIPE", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:web/stripe-Ab12Cd:api_key::"},
    ]);
    s.refused(
        &td,
        "containerDefinitions[0].secrets[0].valueFrom",
        "Secrets Manager secret `arn:aws:secretsmanager:us-east-1:123456789012:secret:web/stripe-Ab12Cd` does not exist",
    );
}

#[test]
fn a_log_group_ecs_will_not_create_and_a_missing_sidecar_image_are_refused() {
    let s = seeded(&[]);
    let mut td = base();
    td["containerDefinitions"][0]["logConfiguration"]["options"]["awslogs-group"] =
        json!("/ecs/nope");
    s.refused(
        &td,
        "containerDefinitions[0].logConfiguration.options.awslogs-group",
        "log group `/ecs/nope` does not exist",
    );
    td["containerDefinitions"][0]["logConfiguration"]["options"]["awslogs-create-group"] =
        json!("true");
    let r = s.with_td("plan", &td, &[]);
    assert_eq!(r.code, Some(0), "ECS creates it: {}", r.log);

    let mut td = base();
    let repo = s.seed["repositoryUri"].as_str().expect("repositoryUri");
    td["containerDefinitions"]
        .as_array_mut()
        .expect("containers")
        .push(json!({"name": "proxy", "image": format!("{repo}:no-such-tag"), "essential": false}));
    s.refused(
        &td,
        "containerDefinitions[1].image",
        "is not in ECR (ImageNotFoundException)",
    );
}

#[test]
fn a_refused_verification_read_is_a_warning_naming_the_permission() {
    let s = seeded(&[]);
    s.emu.fault(json!({
        "kind": "http_error",
        "action": "GetRole",
        "status": 403,
        "errorCode": "AccessDenied",
        "message": "User is not authorized to perform: iam:GetRole",
        "count": 5,
    }));
    let r = s.with_td("plan", &base(), &[]);
    assert_eq!(r.code, Some(0), "{}", r.log);
    assert!(
        r.log
            .contains("`executionRoleArn` was not verified: the credentials lack iam:GetRole"),
        "{}",
        r.log
    );
}

#[test]
fn a_deployment_group_whose_target_group_is_gone_is_refused() {
    let s = seeded(&[]);
    let group = s.emu.aws(
        "CodeDeploy_20141006.GetDeploymentGroup",
        json!({"applicationName": "AppECS-demo-web", "deploymentGroupName": "DgpECS-demo-web"}),
    )["deploymentGroupInfo"]
        .clone();
    let mut lb = group["loadBalancerInfo"].clone();
    lb["targetGroupPairInfoList"][0]["targetGroups"][1] = json!({"name": "web-green-gone"});
    // A second group of the same service, whose green target group does not exist.
    let mut created = json!({"applicationName": "AppECS-demo-web", "deploymentGroupName": "Dgp-gone", "loadBalancerInfo": lb});
    for key in [
        "serviceRoleArn",
        "deploymentConfigName",
        "ecsServices",
        "deploymentStyle",
        "blueGreenDeploymentConfiguration",
    ] {
        created[key] = group[key].clone();
    }
    s.emu
        .aws("CodeDeploy_20141006.CreateDeploymentGroup", created);
    for command in ["plan", "deploy"] {
        s.emu.clear_calls();
        let r = s.with_td(
            command,
            &base(),
            &["--codedeploy-deployment-group", "Dgp-gone"],
        );
        assert_eq!(r.code, Some(2), "{command}: {}", r.log);
        assert!(
            r.log
                .contains("deployment group `Dgp-gone` shifts traffic between target groups")
                && r.log.contains("web-green-gone"),
            "{command}: {}",
            r.log
        );
        assert!(s.emu.write_calls().is_empty(), "{:?}", s.emu.write_calls());
    }
}
