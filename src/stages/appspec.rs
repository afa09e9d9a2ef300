//! The CodeDeploy AppSpec for ECS: load or generate it, check it against the task definition,
//! and put the freshly registered task definition ARN into it.

use std::path::Path;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::error::{Error, Problem, Result};
use crate::stages::read_document;
use crate::stages::task_def::TaskDef;

/// The AppSpec files the AWS deploy action reads when `codedeploy-appspec` is not given, in
/// the order tried (it names `appspec.yaml`; the other spellings are the same file to a user).
pub const DEFAULT_FILES: &[&str] = &["appspec.yaml", "appspec.yml", "appspec.json"];

/// A user's AppSpec file: named by `codedeploy-appspec`, or found under its default name. A
/// file found by default is judged only if the service deploys with CodeDeploy (the AWS action
/// reads it only then), so its error waits until that is known.
#[derive(Debug)]
pub struct UserFile {
    pub path: std::path::PathBuf,
    pub spec: Result<AppSpec>,
    pub by_default: bool,
}

impl UserFile {
    /// The named file (loaded now: a typo in it must not cost an AWS call), or the first
    /// default file that exists in the working directory.
    pub fn find(named: Option<&Path>) -> Result<Option<UserFile>> {
        if let Some(path) = named {
            return Ok(Some(UserFile {
                path: path.to_path_buf(),
                spec: Ok(AppSpec::load(path)?),
                by_default: false,
            }));
        }
        Ok(DEFAULT_FILES
            .iter()
            .map(Path::new)
            // A regular file only: a link found by name alone could point anywhere.
            .find(|p| p.symlink_metadata().is_ok_and(|m| m.file_type().is_file()))
            .map(|path| UserFile {
                path: path.to_path_buf(),
                spec: AppSpec::load(path),
                by_default: true,
            }))
    }
}

/// An AppSpec ready to send, with the container and port the load balancer routes to.
#[derive(Debug, Clone, PartialEq)]
pub struct AppSpec {
    doc: Value,
    pub container_name: String,
    pub container_port: i64,
}

impl AppSpec {
    /// Loads a user's AppSpec file (YAML or JSON).
    pub fn load(path: &Path) -> Result<AppSpec> {
        let (_, doc) = read_document(path, "AppSpec")?;
        from_value(path, doc)
    }

    /// The AppSpec CodeDeploy needs when the user gives none: the service's own load balancer
    /// container and port, so it cannot disagree with the service.
    pub fn generate(container_name: &str, container_port: i64) -> AppSpec {
        AppSpec {
            doc: json!({
                "version": "0.0",
                "Resources": [{
                    "TargetService": {
                        "Type": "AWS::ECS::Service",
                        "Properties": {
                            "TaskDefinition": "",
                            "LoadBalancerInfo": {
                                "ContainerName": container_name,
                                "ContainerPort": container_port,
                            }
                        }
                    }
                }]
            }),
            container_name: container_name.to_string(),
            container_port,
        }
    }

    /// Checks that the load balancer's container exists in the task definition with that port.
    pub fn check_against(&self, origin: &str, td: &TaskDef) -> Result<()> {
        let names = td.container_names();
        if !names.contains(&self.container_name.as_str()) {
            return Err(Error::state(
                format!(
                    "{origin} routes traffic to container `{}`, which {} does not define (it has {})",
                    self.container_name,
                    td.path.display(),
                    names.join(", ")
                ),
                "make LoadBalancerInfo.ContainerName match a container name",
            ));
        }
        let ports = td.container_ports(&self.container_name);
        if !ports.contains(&self.container_port) {
            return Err(Error::state(
                format!(
                    "{origin} routes traffic to port {} of `{}`, but its portMappings expose {}",
                    self.container_port,
                    self.container_name,
                    if ports.is_empty() {
                        "no port".to_string()
                    } else {
                        ports
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ),
                "add the port to the container's portMappings or fix LoadBalancerInfo.ContainerPort",
            ));
        }
        Ok(())
    }

    /// The AppSpec as JSON with `TaskDefinition` set, and its SHA-256 (hex) for CodeDeploy.
    pub fn render(&self, task_definition_arn: &str) -> (String, String) {
        let mut doc = self.doc.clone();
        // The resource's key is the user's choice ("TargetService" by convention).
        let props = doc
            .pointer_mut("/Resources/0")
            .and_then(Value::as_object_mut)
            .and_then(|r| r.values_mut().next())
            .and_then(|t| t.get_mut("Properties"))
            .and_then(Value::as_object_mut);
        if let Some(props) = props {
            props.insert(
                "TaskDefinition".into(),
                Value::String(task_definition_arn.into()),
            );
        }
        let content = doc.to_string();
        let sha = hex::encode(Sha256::digest(content.as_bytes()));
        (content, sha)
    }
}

/// The `TaskDefinition` an AppSpec's content (JSON or YAML) deploys.
pub fn task_definition_in(content: &str) -> Option<String> {
    let doc: Value = serde_json::from_str(content)
        .ok()
        .or_else(|| serde_norway::from_str(content).ok())?;
    doc.pointer("/Resources/0")
        .and_then(Value::as_object)
        .and_then(|r| r.values().next())
        .and_then(|t| t.pointer("/Properties/TaskDefinition"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The lifecycle events CodeDeploy runs hooks for in an ECS deployment.
const ECS_HOOKS: &[&str] = &[
    "BeforeInstall",
    "AfterInstall",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AfterAllowTraffic",
];

/// `Hooks`: a list of `- Event: function` entries naming ECS lifecycle events only.
fn check_hooks(doc: &Value, push: &mut impl FnMut(&str, &str)) {
    let Some(hooks) = doc.get("Hooks") else {
        return;
    };
    let Some(list) = hooks.as_array() else {
        push(
            "Hooks",
            "must be a list of `- EventName: LambdaFunctionArn` entries",
        );
        return;
    };
    for (i, hook) in list.iter().enumerate() {
        let Some(obj) = hook.as_object() else {
            push(
                &format!("Hooks[{i}]"),
                "must be `EventName: LambdaFunctionArn`",
            );
            continue;
        };
        for event in obj.keys() {
            if !ECS_HOOKS.contains(&event.as_str()) {
                let hint = crate::stages::did_you_mean(event, ECS_HOOKS.iter().copied())
                    .map(|s| format!("did you mean `{s}`? "))
                    .unwrap_or_default();
                push(
                    &format!("Hooks[{i}].{event}"),
                    &format!(
                        "is not a lifecycle event of an ECS deployment; {hint}the events are {}",
                        ECS_HOOKS.join(", ")
                    ),
                );
            }
        }
    }
}

fn from_value(path: &Path, doc: Value) -> Result<AppSpec> {
    let mut problems = Vec::new();
    let mut push = |field: &str, message: &str| {
        problems.push(Problem {
            field: field.into(),
            line: None,
            message: message.into(),
        });
    };
    let resources = doc.get("Resources").and_then(Value::as_array);
    // CodeDeploy's ECS AppSpec deploys exactly one service; a second resource would be
    // ignored or refused at CreateDeployment, after the task definition was registered.
    if let Some(list) = resources.filter(|r| r.len() > 1) {
        push(
            "Resources",
            &format!(
                "lists {} resources; an ECS AppSpec has exactly one (the `TargetService`)",
                list.len()
            ),
        );
    }
    if let Some(obj) = resources
        .and_then(|r| r.first())
        .and_then(Value::as_object)
        .filter(|o| o.len() > 1)
    {
        push(
            "Resources[0]",
            &format!(
                "has {} entries ({}); it holds exactly one, the `TargetService`",
                obj.len(),
                obj.keys()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    check_hooks(&doc, &mut push);
    let target = resources
        .and_then(|r| r.first())
        .and_then(|res| res.as_object()?.values().next().cloned());
    let Some(target) = target else {
        push(
            "Resources",
            "must list one resource, e.g. `- TargetService: {Type: AWS::ECS::Service, …}`",
        );
        return Err(Error::FileProblems {
            path: path.to_path_buf(),
            problems,
        });
    };
    if target.get("Type").and_then(Value::as_str) != Some("AWS::ECS::Service") {
        push(
            "Resources[0].*.Type",
            "must be `AWS::ECS::Service` for an ECS deployment",
        );
    }
    if target.pointer("/Properties/TaskDefinition").is_none() {
        push(
            "Resources[0].*.Properties.TaskDefinition",
            "is missing; write a placeholder such as \"<TASK_DEFINITION>\" (greenlight fills it in)",
        );
    }
    let name = target
        .pointer("/Properties/LoadBalancerInfo/ContainerName")
        .and_then(Value::as_str)
        .map(str::to_string);
    let port = target
        .pointer("/Properties/LoadBalancerInfo/ContainerPort")
        .and_then(|p| {
            p.as_i64()
                .or_else(|| p.as_str().and_then(|s| s.parse().ok()))
        });
    if name.is_none() {
        push(
            "Resources[0].*.Properties.LoadBalancerInfo.ContainerName",
            "is missing; name the container behind the load balancer",
        );
    }
    if port.is_none() {
        push(
            "Resources[0].*.Properties.LoadBalancerInfo.ContainerPort",
            "is missing or not a number",
        );
    }
    match (name, port) {
        (Some(container_name), Some(container_port)) if problems.is_empty() => Ok(AppSpec {
            doc,
            container_name,
            container_port,
        }),
        _ => Err(Error::FileProblems {
            path: path.to_path_buf(),
            problems,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_definition_is_read_back_from_rendered_or_yaml_content() {
        let (content, _) =
            AppSpec::generate("web", 80).render("arn:aws:ecs:r:1:task-definition/web:7");
        assert_eq!(
            task_definition_in(&content).as_deref(),
            Some("arn:aws:ecs:r:1:task-definition/web:7")
        );
        let yaml = "version: 0.0\nResources:\n  - TargetService:\n      Properties:\n        TaskDefinition: web:3\n";
        assert_eq!(task_definition_in(yaml).as_deref(), Some("web:3"));
        assert_eq!(task_definition_in("not an appspec"), None);
    }

    fn load_str(yaml: &str) -> Result<AppSpec> {
        let doc: Value = serde_norway::from_str(yaml).unwrap();
        from_value(Path::new("appspec.yml"), doc)
    }

    const SEED_APPSPEC: &str = r#"version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: "<TASK_DEFINITION>"
        LoadBalancerInfo:
          ContainerName: "web"
          ContainerPort: 80
"#;

    #[test]
    fn substitutes_the_task_definition() {
        let spec = load_str(SEED_APPSPEC).unwrap();
        assert_eq!(
            (spec.container_name.as_str(), spec.container_port),
            ("web", 80)
        );
        let (content, sha) =
            spec.render("arn:aws:ecs:us-east-1:123456789012:task-definition/web:8");
        let v: Value = serde_json::from_str(&content).unwrap();
        assert_eq!(
            v.pointer("/Resources/0/TargetService/Properties/TaskDefinition")
                .unwrap(),
            "arn:aws:ecs:us-east-1:123456789012:task-definition/web:8"
        );
        assert_eq!(sha.len(), 64);
    }

    #[test]
    fn generated_matches_loaded() {
        let loaded = load_str(SEED_APPSPEC).unwrap();
        let generated = AppSpec::generate("web", 80);
        assert_eq!(
            loaded.render("x").0.contains("\"ContainerPort\":80"),
            generated.render("x").0.contains("\"ContainerPort\":80")
        );
        assert_eq!(loaded.container_name, generated.container_name);
    }

    #[test]
    fn reports_missing_parts() {
        let Err(Error::FileProblems { problems, .. }) = load_str(
            "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::Lambda::Function\n",
        ) else {
            panic!()
        };
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "Resources[0].*.Type",
                "Resources[0].*.Properties.TaskDefinition",
                "Resources[0].*.Properties.LoadBalancerInfo.ContainerName",
                "Resources[0].*.Properties.LoadBalancerInfo.ContainerPort",
            ]
        );
    }
}
