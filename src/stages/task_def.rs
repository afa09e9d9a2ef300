//! Task definition: load, clean read-only fields, substitute images, check the shape, register.
//!
//! The document is kept as JSON and sent to RegisterTaskDefinition as written (after cleaning
//! and rendering), so no field the user wrote is silently dropped by a typed model that does not
//! know it; instead unknown keys are refused up front with a suggestion.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::aws::Clients;
use crate::config::DeployConfig;
use crate::error::{Error, Problem, Result};
use crate::stages::{did_you_mean, line_of_key, read_document};

/// The members of the RegisterTaskDefinition request (ECS API reference).
pub const REGISTER_KEYS: &[&str] = &[
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "containerDefinitions",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "tags",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "inferenceAccelerators",
    "ephemeralStorage",
    "runtimePlatform",
    "enableFaultInjection",
];

/// Fields DescribeTaskDefinition returns that RegisterTaskDefinition refuses.
pub const READ_ONLY_KEYS: &[&str] = &[
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
];

/// ECS allows at most this many containers in one task definition.
const MAX_CONTAINERS: usize = 10;

#[derive(Debug, Clone, PartialEq)]
pub struct TaskDef {
    pub path: PathBuf,
    pub family: String,
    /// The cleaned, rendered RegisterTaskDefinition request.
    pub doc: Map<String, Value>,
    /// What cleaning and rendering did, one line each, for the log.
    pub notes: Vec<String>,
}

impl TaskDef {
    pub fn container_names(&self) -> Vec<&str> {
        containers(&self.doc)
            .iter()
            .filter_map(|c| c.get("name").and_then(Value::as_str))
            .collect()
    }

    /// The container's `portMappings[].containerPort` values.
    pub fn container_ports(&self, name: &str) -> Vec<i64> {
        containers(&self.doc)
            .iter()
            .filter(|c| c.get("name").and_then(Value::as_str) == Some(name))
            .flat_map(|c| {
                c.get("portMappings")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|p| p.get("containerPort").and_then(Value::as_i64))
            .collect()
    }

    pub fn image_of(&self, name: &str) -> Option<&str> {
        containers(&self.doc)
            .iter()
            .find(|c| c.get("name").and_then(Value::as_str) == Some(name))
            .and_then(|c| c.get("image").and_then(Value::as_str))
    }

    pub fn to_json(&self) -> Vec<u8> {
        // Serialising a map of JSON values cannot fail.
        serde_json::to_vec(&self.doc).unwrap_or_default()
    }
}

fn containers(doc: &Map<String, Value>) -> &[Value] {
    doc.get("containerDefinitions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// Loads, cleans, renders and checks the task definition file; no AWS involved.
pub fn prepare(cfg: &DeployConfig) -> Result<TaskDef> {
    let (src, value) = read_document(&cfg.task_definition, "task definition")?;
    let mut td = from_value(&cfg.task_definition, &src, value)?;
    render_images(&mut td, &src, cfg)?;
    Ok(td)
}

/// Cleans and checks a parsed document. `src` is the file text, used for line numbers.
pub fn from_value(path: &Path, src: &str, value: Value) -> Result<TaskDef> {
    let Value::Object(mut top) = value else {
        return Err(Error::file(
            path,
            "must be a JSON/YAML object with `family` and `containerDefinitions`",
            "see the output of `aws ecs describe-task-definition` for the expected shape",
        ));
    };
    let mut notes = Vec::new();
    // `aws ecs describe-task-definition` output wraps the definition; its tags sit beside it.
    if let Some(Value::Object(inner)) = top.get("taskDefinition").cloned() {
        let tags = top.get("tags").cloned();
        top = inner;
        if let Some(tags @ Value::Array(_)) = tags
            && !tags.as_array().is_some_and(Vec::is_empty)
        {
            top.entry("tags").or_insert(tags);
        }
        notes
            .push("unwrapped the `taskDefinition` object (describe-task-definition output)".into());
    }
    for key in READ_ONLY_KEYS {
        if top.remove(*key).is_some() {
            notes.push(format!("removed read-only field `{key}`"));
        }
    }

    let mut problems = Vec::new();
    let problem = |field: String, key: &str, message: String| Problem {
        line: line_of_key(src, key),
        field,
        message,
    };
    for key in top.keys() {
        if !REGISTER_KEYS.contains(&key.as_str()) {
            let message = match did_you_mean(key, REGISTER_KEYS.iter().copied()) {
                Some(s) => format!("unknown key; did you mean `{s}`?"),
                None => "unknown key; RegisterTaskDefinition does not accept it".to_string(),
            };
            problems.push(problem(key.clone(), key, message));
        }
    }
    let family = match top.get("family") {
        Some(Value::String(f)) if is_valid_family(f) => f.clone(),
        Some(Value::String(f)) => {
            problems.push(problem(
                "family".into(),
                "family",
                format!("`{f}` is not a valid family: use 1-255 letters, digits, hyphens and underscores"),
            ));
            String::new()
        }
        Some(_) => {
            problems.push(problem(
                "family".into(),
                "family",
                "must be a string".into(),
            ));
            String::new()
        }
        None => {
            problems.push(Problem {
                field: "family".into(),
                line: None,
                message: "is missing; every task definition needs a family name".into(),
            });
            String::new()
        }
    };
    match top.get("containerDefinitions") {
        Some(Value::Array(defs)) if defs.is_empty() => problems.push(problem(
            "containerDefinitions".into(),
            "containerDefinitions",
            "is empty; at least one container is needed".into(),
        )),
        Some(Value::Array(defs)) => check_containers(defs, src, &mut problems),
        Some(_) => problems.push(problem(
            "containerDefinitions".into(),
            "containerDefinitions",
            "must be a list of container definitions".into(),
        )),
        None => problems.push(Problem {
            field: "containerDefinitions".into(),
            line: None,
            message: "is missing; list the task's containers here".into(),
        }),
    }
    for key in ["cpu", "memory"] {
        if let Some(v) = top.get(key)
            && !v.is_string()
        {
            problems.push(problem(
                    key.into(),
                    key,
                    format!("must be a string such as \"512\" (task-level `{key}` is a string in the ECS API)"),
                ));
        }
    }
    if !problems.is_empty() {
        return Err(Error::FileProblems {
            path: path.to_path_buf(),
            problems,
        });
    }
    Ok(TaskDef {
        path: path.to_path_buf(),
        family,
        doc: top,
        notes,
    })
}

fn is_valid_family(f: &str) -> bool {
    !f.is_empty()
        && f.len() <= 255
        && f.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn check_containers(defs: &[Value], src: &str, problems: &mut Vec<Problem>) {
    if defs.len() > MAX_CONTAINERS {
        problems.push(Problem {
            field: "containerDefinitions".into(),
            line: line_of_key(src, "containerDefinitions"),
            message: format!(
                "has {} containers; ECS allows at most {MAX_CONTAINERS}",
                defs.len()
            ),
        });
    }
    let mut seen = Vec::new();
    for (i, def) in defs.iter().enumerate() {
        let at = |field: &str| format!("containerDefinitions[{i}].{field}");
        let Some(obj) = def.as_object() else {
            problems.push(Problem {
                field: format!("containerDefinitions[{i}]"),
                line: None,
                message: "must be an object".into(),
            });
            continue;
        };
        match obj.get("name").and_then(Value::as_str) {
            Some(name) if seen.contains(&name) => problems.push(Problem {
                field: at("name"),
                line: None,
                message: format!("`{name}` is used by two containers; names must be unique"),
            }),
            Some(name) => seen.push(name),
            None => problems.push(Problem {
                field: at("name"),
                line: None,
                message: "is missing or not a string".into(),
            }),
        }
        if !obj.get("image").is_some_and(Value::is_string) {
            problems.push(Problem {
                field: at("image"),
                line: None,
                message: "is missing or not a string".into(),
            });
        }
        for key in [
            "essential",
            "readonlyRootFilesystem",
            "privileged",
            "interactive",
            "pseudoTerminal",
        ] {
            if let Some(v) = obj.get(key)
                && !v.is_boolean()
            {
                problems.push(Problem {
                    field: at(key),
                    line: line_of_key(src, key),
                    message: format!("must be true or false without quotes, not {v}"),
                });
            }
        }
    }
}

/// Writes the configured images into their containers.
fn render_images(td: &mut TaskDef, src: &str, cfg: &DeployConfig) -> Result<()> {
    let names: Vec<String> = td
        .container_names()
        .into_iter()
        .map(str::to_string)
        .collect();
    let mut wanted = cfg.images.clone();
    if let Some(image) = &cfg.sole_image {
        match names.as_slice() {
            [only] => wanted.push((only.clone(), image.clone())),
            _ => {
                return Err(Error::input(
                    "container-name",
                    format!(
                        "{} has {} containers ({}) and it is not clear which gets the image",
                        td.path.display(),
                        names.len(),
                        names.join(", ")
                    ),
                    "set `container-name` to the container to update",
                ));
            }
        }
    }
    for (container, image) in wanted {
        let Some(def) = td
            .doc
            .get_mut("containerDefinitions")
            .and_then(Value::as_array_mut)
            .and_then(|defs| {
                defs.iter_mut()
                    .find(|d| d.get("name").and_then(Value::as_str) == Some(container.as_str()))
            })
            .and_then(Value::as_object_mut)
        else {
            let hint = did_you_mean(&container, names.iter().map(String::as_str))
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            return Err(Error::File {
                path: td.path.clone(),
                line: line_of_key(src, "containerDefinitions"),
                field: Some("containerDefinitions".into()),
                problem: format!("has no container named `{container}` (input `container-name`)"),
                fix: format!("{hint}containers in this file: {}", names.join(", ")),
            });
        };
        let old = def.insert("image".into(), Value::String(image.clone()));
        td.notes.push(format!(
            "container `{container}`: image {} → {image}",
            old.as_ref().and_then(Value::as_str).unwrap_or("(none)")
        ));
    }
    Ok(())
}

/// Registers the task definition and returns its ARN.
///
/// The SDK's typed request cannot carry fields it does not model, and has no serde support, so
/// the request body is replaced with the checked document just before signing. The SDK still
/// signs, retries, and parses the response.
pub async fn register(clients: &Clients, td: &TaskDef) -> Result<String> {
    use aws_sdk_ecs::types::ContainerDefinition;
    let body = td.to_json();
    let placeholder = ContainerDefinition::builder().name("placeholder").build();
    let out = clients
        .ecs
        .register_task_definition()
        .family(&td.family)
        .container_definitions(placeholder)
        .customize()
        .mutate_request(move |req| {
            *req.body_mut() = aws_smithy_types::body::SdkBody::from(body.clone());
            req.headers_mut()
                .insert("content-length", body.len().to_string());
        })
        .send()
        .await
        .map_err(|e| Error::aws("RegisterTaskDefinition", &e))?;
    out.task_definition()
        .and_then(|t| t.task_definition_arn())
        .map(str::to_string)
        .ok_or_else(|| Error::Aws {
            operation: "RegisterTaskDefinition",
            message: "the response has no taskDefinitionArn".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
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
        Config::from_inputs(&m).unwrap().deploy
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
                "line 7, `requiresCompatibilitiess`: unknown key; did you mean `requiresCompatibilities`?",
                "line 5, `containerDefinitions[0].essential`: must be true or false without quotes, not \"true\"",
                "line 8, `cpu`: must be a string such as \"512\" (task-level `cpu` is a string in the ECS API)",
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
        render_images(&mut td, SEED_LIKE, &cfg(&[("image", "repo/web:2")])).unwrap();
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
        let err = render_images(
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
        let err = render_images(&mut td, src, &cfg(&[("image", "r:1")])).unwrap_err();
        assert!(err.to_string().contains("2 containers (a, b)"), "{err}");
        assert_eq!(err.exit_code(), 2);
    }
}
