use std::path::Path;

use super::*;
use crate::config::Config;
use crate::config::DeployConfig;
use crate::error::{Error, Result};
use std::collections::BTreeMap;

const SEED_LIKE: &str = r#"{
 "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
 "containerDefinitions": [{
  "name": "web",
  "image": "<IMAGE>",
  "essential": true,
  "environment": [{"name": "EMPTY", "value": ""}],
  "portMappings": [{"protocol": "tcp", "containerPort": 80}]
 }],
 "requiresCompatibilities": ["FARGATE"],
 "networkMode": "awsvpc",
 "cpu": "256",
 "memory": "512",
 "family": "web"
}"#;

fn parse(src: &str) -> Result<TaskDef> {
    from_value(
        Path::new("taskdef.json"),
        src,
        serde_json::from_str(src).unwrap(),
    )
}

fn cfg(pairs: &[(&str, &str)]) -> DeployConfig {
    let mut m: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    m.insert("task-definition".into(), "taskdef.json".into());
    m.insert("service".into(), "web".into());
    Config::from_inputs(&m)
        .unwrap()
        .job
        .deploy()
        .cloned()
        .unwrap()
}

#[test]
fn accepts_a_plain_definition_and_keeps_empty_values() {
    let td = parse(SEED_LIKE).unwrap();
    assert_eq!(td.family, "web");
    assert_eq!(td.container_names(), vec!["web"]);
    assert_eq!(td.container_ports("web"), vec![80]);
    let json: Value = serde_json::from_slice(&td.to_json()).unwrap();
    assert_eq!(
        json["containerDefinitions"][0]["environment"][0]["value"],
        ""
    );
}

#[test]
fn unwraps_describe_output_and_cleans_read_only_fields() {
    let src = r#"{"taskDefinition": {"family": "web", "revision": 7, "status": "ACTIVE",
        "taskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/web:7",
        "compatibilities": ["EC2"], "registeredAt": 1.7e9,
        "containerDefinitions": [{"name": "web", "image": "x"}]},
        "tags": [{"key": "team", "value": "shop"}]}"#;
    let td = parse(src).unwrap();
    for key in [
        "revision",
        "status",
        "taskDefinitionArn",
        "compatibilities",
        "registeredAt",
    ] {
        assert!(!td.doc.contains_key(key), "{key} kept");
        assert!(
            td.notes.iter().any(|n| n.contains(key)),
            "no note for {key}"
        );
    }
    assert_eq!(td.doc["tags"][0]["key"], "team");
}

#[test]
fn reports_every_problem_at_once_with_lines() {
    // The seeds' own taskdef.json: a doubled "s" and a quoted boolean.
    let src = r#"{
 "containerDefinitions": [{
  "name": "task-td-ctn",
  "image": "<IMAGE>",
  "essential": "true"
 }],
 "requiresCompatibilitiess": ["EC2"],
 "cpu": 512,
 "family": "skills-td"
}"#;
    let Err(Error::FileProblems { problems, .. }) = parse(src) else {
        panic!("expected problems");
    };
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        vec![
            "line 5, `containerDefinitions[0].essential`: must be true or false (without quotes), not the string \"true\"",
            "line 7, `requiresCompatibilitiess`: unknown key; did you mean `requiresCompatibilities`?",
            "line 8, `cpu`: must be a string, not the number 512",
        ]
    );
}

#[test]
fn missing_and_duplicate_containers() {
    let Err(Error::FileProblems { problems, .. }) = parse(r#"{"family": "web"}"#) else {
        panic!()
    };
    assert_eq!(problems[0].field, "containerDefinitions");
    let src = r#"{"family": "web", "containerDefinitions": [{"name": "a", "image": "x"}, {"name": "a", "image": "y"}]}"#;
    let Err(Error::FileProblems { problems, .. }) = parse(src) else {
        panic!()
    };
    assert!(problems[0].message.contains("unique"));
}

#[test]
fn renders_the_sole_container() {
    let mut td = parse(SEED_LIKE).unwrap();
    render(&mut td, SEED_LIKE, &cfg(&[("image", "repo/web:2")])).unwrap();
    assert_eq!(td.image_of("web"), Some("repo/web:2"));
    assert!(
        td.notes
            .iter()
            .any(|n| n == "container `web`: image <IMAGE> → repo/web:2")
    );
}

#[test]
fn unknown_container_suggests_names() {
    let mut td = parse(SEED_LIKE).unwrap();
    let err = render(
        &mut td,
        SEED_LIKE,
        &cfg(&[("container-name", "wbe"), ("image", "r:1")]),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("no container named `wbe`"), "{msg}");
    assert!(msg.contains("did you mean `web`?"), "{msg}");
}

#[test]
fn ambiguous_image_target() {
    let src = r#"{"family": "web", "containerDefinitions": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}"#;
    let mut td = parse(src).unwrap();
    let err = render(&mut td, src, &cfg(&[("image", "r:1")])).unwrap_err();
    assert!(err.to_string().contains("2 containers (a, b)"), "{err}");
    assert_eq!(err.exit_code(), 2);
}

#[test]
fn fargate_and_cross_field_rules() {
    let src = r#"{"family": "web", "requiresCompatibilities": ["FARGATE"], "networkMode": "bridge",
        "cpu": "256", "memory": "4096",
        "containerDefinitions": [{"name": "web", "image": "x", "essential": false,
          "portMappings": [{"containerPort": 70000}],
          "secrets": [{"name": "DB", "valueFrom": "arn:aws:s3:::bucket/key"},
                      {"name": "OK", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/web/db"},
                      {"name": "SM", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:web-db-AbCdEf"}]}]}"#;
    let Err(Error::FileProblems { problems, .. }) = parse(src) else {
        panic!()
    };
    let text: Vec<String> = problems
        .iter()
        .map(|p| format!("{}: {}", p.field, p.message))
        .collect();
    let mut text = text;
    text.sort();
    assert_eq!(
        text,
        vec![
            "containerDefinitions: has no essential container; mark at least one `\"essential\": true`",
            "containerDefinitions[0].portMappings[0].containerPort: 70000 is not a port (1-65535)",
            "containerDefinitions[0].secrets[0].valueFrom: is an ARN but not of an SSM parameter or Secrets Manager secret; use arn:aws:ssm:REGION:ACCOUNT:parameter/NAME or arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME",
            "cpu: FARGATE does not offer cpu 256 with memory 4096 MiB; see the task size table in the ECS developer guide",
            "networkMode: must be `awsvpc` for FARGATE (requiresCompatibilities includes FARGATE)",
        ]
    );
}

#[test]
fn containers_must_fit_in_the_task() {
    let src = r#"{"family": "web", "cpu": "1024", "memory": "2048",
        "containerDefinitions": [
          {"name": "a", "image": "x", "cpu": 768, "memory": 1024},
          {"name": "b", "image": "x", "cpu": 512, "memory": 4096, "memoryReservation": 1536}]}"#;
    let Err(Error::FileProblems { problems, .. }) = parse(src) else {
        panic!()
    };
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|t| t.contains("reserve 1280 CPU units together, more than the task's 1024")),
        "{text:#?}"
    );
    assert!(
        text.iter().any(|t| t.contains("reserve 2560 MiB together")),
        "{text:#?}"
    );
    let fits = r#"{"family": "web", "cpu": "1 vCPU", "memory": "2 GB",
        "containerDefinitions": [{"name": "a", "image": "x", "cpu": 1024, "memoryReservation": 2048, "memory": 4096}]}"#;
    parse(fits).unwrap();
}

#[test]
fn fargate_sizes() {
    assert_eq!(fargate_size_problem("256", "512"), None);
    assert_eq!(fargate_size_problem("1 vCPU", "2 GB"), None);
    assert_eq!(fargate_size_problem("4096", "30720"), None);
    assert!(fargate_size_problem("512", "512").is_some());
    assert!(fargate_size_problem("300", "512").is_some());
}

#[test]
fn awsvpc_host_port_must_match() {
    let src = r#"{"family": "web", "networkMode": "awsvpc",
        "containerDefinitions": [{"name": "web", "image": "x", "portMappings": [{"containerPort": 80, "hostPort": 8080}]}]}"#;
    let Err(Error::FileProblems { problems, .. }) = parse(src) else {
        panic!()
    };
    assert!(
        problems[0]
            .message
            .contains("with networkMode awsvpc they must be equal"),
        "{problems:?}"
    );
}

#[test]
fn overrides_are_rendered_into_the_container() {
    let mut td = parse(SEED_LIKE).unwrap();
    let c = cfg(&[
        ("image", "repo/web:7"),
        (
            "environment-variables",
            "APP_VERSION=1.42.0\n# comment\nEMPTY=\n",
        ),
        (
            "secrets",
            "DB_PASSWORD=arn:aws:ssm:us-east-1:123456789012:parameter/web/db",
        ),
        ("log-configuration-log-driver", "awslogs"),
        (
            "log-configuration-options",
            "awslogs-group=/ecs/web\nawslogs-region=us-east-1",
        ),
        ("docker-labels", "team=shop"),
    ]);
    render(&mut td, SEED_LIKE, &c).unwrap();
    let web = &td.doc["containerDefinitions"][0];
    assert_eq!(
        web["environment"],
        serde_json::json!([{"name": "EMPTY", "value": ""}, {"name": "APP_VERSION", "value": "1.42.0"}])
    );
    assert_eq!(
        web["secrets"][0]["valueFrom"],
        "arn:aws:ssm:us-east-1:123456789012:parameter/web/db"
    );
    assert_eq!(
        web["logConfiguration"]["options"]["awslogs-group"],
        "/ecs/web"
    );
    assert_eq!(web["dockerLabels"]["team"], "shop");
    for (secret, needle) in [
        ("X=arn:aws:s3:::bucket", "not of an SSM parameter"),
        ("X=hunter2 is my password", "contains whitespace"),
        ("X=web/db", "without its leading `/`"),
    ] {
        let m: BTreeMap<String, String> = [
            ("task-definition", "taskdef.json"),
            ("service", "web"),
            ("image", "repo/web:7"),
            ("secrets", secret),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let e = Config::from_inputs(&m).unwrap_err().to_string();
        assert!(
            e.starts_with("input `secrets`") && e.contains(needle),
            "{e}"
        );
        assert!(!e.contains("hunter2") && !e.contains("bucket"), "{e}");
    }
}

#[test]
fn image_definitions_are_an_image_source() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("imagedefinitions.json");
    std::fs::write(
        &path,
        r#"[{"name": "web", "imageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:7"}]"#,
    )
    .unwrap();
    let mut td = parse(SEED_LIKE).unwrap();
    render(
        &mut td,
        SEED_LIKE,
        &cfg(&[("image-definitions", path.to_str().unwrap())]),
    )
    .unwrap();
    assert_eq!(
        td.image_of("web"),
        Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/web:7")
    );
    std::fs::write(&path, r#"{"name": "web"}"#).unwrap();
    let e = render(
        &mut td,
        SEED_LIKE,
        &cfg(&[("image-definitions", path.to_str().unwrap())]),
    )
    .unwrap_err();
    assert!(e.to_string().contains("must be a list"), "{e}");
}

#[test]
fn mutable_and_placeholder_images_are_refused_unless_allowed() {
    let src = r#"{"family": "web", "containerDefinitions": [
        {"name": "web", "image": "<IMAGE>"},
        {"name": "proxy", "image": "envoyproxy/envoy"},
        {"name": "xray", "image": "amazon/aws-xray-daemon:latest"},
        {"name": "ok", "image": "public.ecr.aws/nginx/nginx:1.27"}]}"#;
    let mut td = parse(src).unwrap();
    let Err(Error::FileProblems { problems, .. }) = render(&mut td, src, &cfg(&[])) else {
        panic!()
    };
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(
        fields,
        vec![
            "containerDefinitions[0].image",
            "containerDefinitions[1].image",
            "containerDefinitions[2].image"
        ]
    );
    assert!(problems[0].message.contains("placeholder"));
    assert!(problems[1].message.contains("untagged"));
    assert!(problems[2].message.contains("mutable tag `latest`"));
    let mut td = parse(src).unwrap();
    let allowed = cfg(&[
        ("allow-mutable-images", "true"),
        ("container-name", "web"),
        ("image", "repo/web:7"),
    ]);
    render(&mut td, src, &allowed).unwrap();
}

#[test]
fn tags_input_adds_and_replaces() {
    let src = r#"{"family": "web", "tags": [{"key": "team", "value": "old"}],
        "containerDefinitions": [{"name": "web", "image": "repo/web:1"}]}"#;
    let mut td = parse(src).unwrap();
    render(&mut td, src, &cfg(&[("tags", "team=shop\ncost-center=42")])).unwrap();
    assert_eq!(
        td.doc["tags"],
        serde_json::json!([{"key": "team", "value": "shop"}, {"key": "cost-center", "value": "42"}])
    );
}

#[test]
fn registered_references() {
    assert_eq!(
        registered_reference(Path::new(
            "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7"
        ))
        .as_deref(),
        Some("arn:aws:ecs:us-east-1:123456789012:task-definition/web:7")
    );
    assert_eq!(
        registered_reference(Path::new("web:7")).as_deref(),
        Some("web:7")
    );
    assert_eq!(
        registered_reference(Path::new("web")).as_deref(),
        Some("web")
    );
    assert_eq!(registered_reference(Path::new("taskdef.json")), None);
    assert_eq!(registered_reference(Path::new("web:latest")), None);
}

#[test]
fn container_names_and_dependencies_are_checked() {
    let src = r#"{"family": "web", "containerDefinitions": [
        {"name": "my app", "image": "repo/web:1"},
        null,
        {"name": "web", "image": "repo/web:1", "dependsOn": [{"containerName": "envoy", "condition": "HEALTHY"}]}]}"#;
    let Err(Error::FileProblems { problems, .. }) = parse(src) else {
        panic!()
    };
    let text: Vec<String> = problems
        .iter()
        .map(|p| format!("{}: {}", p.field, p.message))
        .collect();
    assert!(
        text.iter().any(|t| t
            .starts_with("containerDefinitions[0].name: `my app` is not a valid container name")),
        "{text:#?}"
    );
    assert!(
        text.iter().any(
            |t| t.starts_with("containerDefinitions[1]: must be a container definition object")
        ),
        "{text:#?}"
    );
    assert!(
        text.iter().any(|t| t.starts_with(
            "containerDefinitions[2].dependsOn[0].containerName: `envoy` is not a container"
        )),
        "{text:#?}"
    );
}

const TWO_CONTAINERS: &str = r#"{
 "family": "web",
 "containerDefinitions": [
  {"name": "web", "image": "repo/web:1",
   "environmentFiles": [{"value": "arn:aws:s3:::cfg/base.env", "type": "s3"}]},
  {"name": "proxy", "image": "repo/proxy:1"}
 ]
}"#;

#[test]
fn the_render_extras_go_into_the_named_containers_and_the_task() {
    let mut td = parse(TWO_CONTAINERS).unwrap();
    let c = cfg(&[
        ("container-name", "web"),
        ("image", "repo/web:2"),
        ("task-role-arn", "arn:aws:iam::123456789012:role/web-task"),
        (
            "execution-role-arn",
            "arn:aws:iam::123456789012:role/web-exec",
        ),
        (
            "env-files",
            "arn:aws:s3:::cfg/base.env\narn:aws:s3:::cfg/prod.env",
        ),
        ("container-command", r#"["sh", "-c", "exec web --port 80"]"#),
    ]);
    render(&mut td, TWO_CONTAINERS, &c).unwrap();
    assert_eq!(
        td.doc["taskRoleArn"],
        "arn:aws:iam::123456789012:role/web-task"
    );
    assert_eq!(
        td.doc["executionRoleArn"],
        "arn:aws:iam::123456789012:role/web-exec"
    );
    let web = &td.doc["containerDefinitions"][0];
    // The file's own env file stays, once; the new one follows it.
    assert_eq!(
        web["environmentFiles"],
        serde_json::json!([
            {"value": "arn:aws:s3:::cfg/base.env", "type": "s3"},
            {"value": "arn:aws:s3:::cfg/prod.env", "type": "s3"}
        ])
    );
    assert_eq!(
        web["command"],
        serde_json::json!(["sh", "-c", "exec web --port 80"])
    );
    let proxy = &td.doc["containerDefinitions"][1];
    assert!(proxy.get("command").is_none() && proxy.get("environmentFiles").is_none());
}

#[test]
fn role_arns_alone_need_no_container_name() {
    // Task-level: two containers and no container-name is no ambiguity for them.
    let mut td = parse(TWO_CONTAINERS).unwrap();
    render(
        &mut td,
        TWO_CONTAINERS,
        &cfg(&[("task-role-arn", "arn:aws:iam::123456789012:role/web-task")]),
    )
    .unwrap();
    assert_eq!(
        td.doc["taskRoleArn"],
        "arn:aws:iam::123456789012:role/web-task"
    );
    // A container-level extra still needs one.
    let mut td = parse(TWO_CONTAINERS).unwrap();
    let e = render(
        &mut td,
        TWO_CONTAINERS,
        &cfg(&[("container-command", "web --serve")]),
    )
    .unwrap_err();
    assert!(e.to_string().contains("container-name"), "{e}");
}

#[test]
fn bad_render_extras_are_input_errors() {
    for (input, value, needle) in [
        ("task-role-arn", "web-task", "not an IAM role ARN"),
        (
            "execution-role-arn",
            "arn:aws:iam::123:role/x",
            "12-digit account",
        ),
        ("env-files", "arn:aws:s3:::cfg/prod.json", "`.env`"),
        (
            "container-command",
            r#"["sh", -c]"#,
            "JSON array of strings",
        ),
    ] {
        let m: BTreeMap<String, String> = [
            ("task-definition", "taskdef.json"),
            ("service", "web"),
            (input, value),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let e = Config::from_inputs(&m).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{e}");
        let e = e.to_string();
        assert!(
            e.starts_with(&format!("input `{input}`")) && e.contains(needle),
            "{e}"
        );
    }
}
