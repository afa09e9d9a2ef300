//! One-off tasks of the new revision: `run-task: true` on a deploy (the AWS deploy action's
//! inputs, with its names, defaults and meaning) and the `run` command. Every JSON input is
//! parsed here, so a typo is an exit 2 naming the input before anything is written.

use serde::Deserialize;

use super::ServiceVolume;
use super::extras::managed_volume;
use super::inputs::Inputs;
use crate::error::{Error, Result};

/// The most containers one task definition may have (ECS's limit), and so the most overrides.
const MAX_OVERRIDES: usize = 10;
/// ECS's limit on a RunTask's tags.
const MAX_TAGS: usize = 50;
/// ECS's limit on `startedBy`.
const STARTED_BY_LIMIT: usize = 128;

/// What RunTask is asked for, beyond the cluster and the revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunTask {
    pub container_overrides: Vec<ContainerOverride>,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    /// Sent only with subnets or security groups, as the AWS action sends it.
    pub assign_public_ip: Option<String>,
    pub capacity_provider_strategy: Vec<CapacityProvider>,
    /// Sent only without a capacity provider strategy (ECS refuses both).
    pub launch_type: Option<String>,
    pub started_by: String,
    pub tags: Vec<(String, String)>,
    pub volume: Option<ServiceVolume>,
    /// Watch the task to STOPPED and fail on a non-zero exit (`wait-for-task-stopped`).
    pub wait: bool,
    /// ECS managed tags (`enable-ecs-managed-tags`), as the AWS action passes it to RunTask.
    pub managed_tags: Option<bool>,
}

/// One entry of `run-task-container-overrides`: ECS's ContainerOverride. Unknown keys are
/// refused, where the AWS action's SDK would drop a typo'd `comand` and run the default.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ContainerOverride {
    pub name: String,
    pub command: Option<Vec<String>>,
    pub environment: Option<Vec<NameValue>>,
    pub environment_files: Option<Vec<TypedValue>>,
    pub cpu: Option<i32>,
    pub memory: Option<i32>,
    pub memory_reservation: Option<i32>,
    pub resource_requirements: Option<Vec<TypedValue>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameValue {
    pub name: String,
    pub value: String,
}

/// `{"type": …, "value": …}`: an environment file (`s3`) or a resource requirement (`GPU`,
/// `InferenceAccelerator`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypedValue {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CapacityProvider {
    pub capacity_provider: String,
    pub weight: Option<i32>,
    pub base: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Tag {
    key: String,
    value: Option<String>,
}

/// A JSON input, with serde's own message (line, column, the unknown key and what is known).
fn json<T: serde::de::DeserializeOwned>(
    inputs: Inputs<'_>,
    name: &str,
    example: &str,
) -> Result<Option<T>> {
    let Some(value) = inputs.get(name).map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    serde_json::from_str(value).map(Some).map_err(|e| {
        Error::input(
            name,
            format!("is not valid: {e}"),
            format!("give a JSON array such as {example}"),
        )
    })
}

/// Ids such as `subnet-…` or `sg-…`, comma-separated as the AWS action reads them.
fn ids(inputs: Inputs<'_>, name: &str, prefix: &str) -> Result<Vec<String>> {
    let list = inputs.list(name);
    for id in &list {
        if !id.starts_with(prefix) || id.contains(char::is_whitespace) {
            return Err(Error::input(
                name,
                format!("`{id}` is not a `{prefix}…` id"),
                format!("give ids like `{prefix}0123456789abcdef0`, comma-separated"),
            ));
        }
    }
    Ok(list)
}

/// The one-off task settings, when `run-task` (or the `run` command, `always`) asks for one.
pub(super) fn run_task(
    inputs: Inputs<'_>,
    always: bool,
    warnings: &mut Vec<String>,
) -> Result<Option<RunTask>> {
    if !always && !inputs.flag("run-task")? {
        return Ok(None);
    }
    let container_overrides: Vec<ContainerOverride> = json(
        inputs,
        "run-task-container-overrides",
        r#"[{"name": "web", "command": ["./migrate"]}]"#,
    )?
    .unwrap_or_default();
    if container_overrides.len() > MAX_OVERRIDES {
        return Err(Error::input(
            "run-task-container-overrides",
            format!(
                "has {} entries; a task has at most {MAX_OVERRIDES} containers",
                container_overrides.len()
            ),
            "give one entry per container to change",
        ));
    }
    for (i, o) in container_overrides.iter().enumerate() {
        if container_overrides[..i].iter().any(|p| p.name == o.name) {
            return Err(Error::input(
                "run-task-container-overrides",
                format!("names container `{}` twice", o.name),
                "give one entry per container",
            ));
        }
    }
    let capacity_provider_strategy: Vec<CapacityProvider> = json(
        inputs,
        "run-task-capacity-provider-strategy",
        r#"[{"capacityProvider": "FARGATE_SPOT", "weight": 1}]"#,
    )?
    .unwrap_or_default();
    let tags: Vec<Tag> = json(
        inputs,
        "run-task-tags",
        r#"[{"key": "purpose", "value": "migration"}]"#,
    )?
    .unwrap_or_default();
    if tags.len() > MAX_TAGS {
        return Err(Error::input(
            "run-task-tags",
            format!("has {} tags; ECS takes at most {MAX_TAGS}", tags.len()),
            "drop some tags",
        ));
    }
    let subnets = ids(inputs, "run-task-subnets", "subnet-")?;
    let security_groups = ids(inputs, "run-task-security-groups", "sg-")?;
    let assign = inputs.choice(
        "run-task-assign-public-ip",
        &[("ENABLED", "ENABLED"), ("DISABLED", "DISABLED")],
        "use `ENABLED` or `DISABLED`, in upper case as ECS expects",
    )?;
    let launch_type = inputs.choice(
        "run-task-launch-type",
        &[
            ("FARGATE", "FARGATE"),
            ("EC2", "EC2"),
            ("EXTERNAL", "EXTERNAL"),
            ("MANAGED_INSTANCES", "MANAGED_INSTANCES"),
        ],
        "use `FARGATE`, `EC2`, `EXTERNAL` or `MANAGED_INSTANCES`",
    )?;
    if !capacity_provider_strategy.is_empty() && inputs.given("run-task-launch-type") {
        warnings.push(
            "run-task-launch-type is not sent with run-task-capacity-provider-strategy: ECS takes one or the other".into(),
        );
    }
    let started_by = inputs
        .get("run-task-started-by")
        .unwrap_or_default()
        .to_string();
    if started_by.chars().count() > STARTED_BY_LIMIT
        || !started_by
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::input(
            "run-task-started-by",
            format!("`{started_by}` is not a valid startedBy"),
            format!(
                "use up to {STARTED_BY_LIMIT} letters, digits, hyphens and underscores, e.g. `GitHub-Actions`"
            ),
        ));
    }
    let networked = !subnets.is_empty() || !security_groups.is_empty();
    let wait = match inputs.opt_flag("wait-for-task-stopped")? {
        Some(wait) if inputs.given("wait-for-task-stopped") => wait,
        // `run` exists to know how the task ended; a deploy's run-task keeps the AWS
        // action's default.
        _ => always,
    };
    Ok(Some(RunTask {
        container_overrides,
        subnets,
        security_groups,
        assign_public_ip: networked.then(|| assign.to_string()),
        launch_type: capacity_provider_strategy
            .is_empty()
            .then(|| launch_type.to_string()),
        capacity_provider_strategy,
        started_by,
        tags: tags
            .into_iter()
            .map(|t| (t.key, t.value.unwrap_or_default()))
            .collect(),
        volume: managed_volume(
            inputs,
            (
                "run-task-managed-ebs-volume-name",
                "run-task-managed-ebs-volume",
            ),
            "RunTask",
            warnings,
        )?,
        wait,
        managed_tags: inputs.opt_flag("enable-ecs-managed-tags")?,
    }))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn read(pairs: &[(&str, &str)], always: bool) -> Result<Option<RunTask>> {
        let raw: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        run_task(Inputs::new(&raw), always, &mut Vec::new())
    }

    #[test]
    fn the_aws_action_defaults_apply() {
        assert_eq!(read(&[], false).unwrap(), None);
        let t = read(&[("run-task", "true")], false).unwrap().unwrap();
        assert_eq!(t.launch_type.as_deref(), Some("FARGATE"));
        assert_eq!(t.started_by, "GitHub-Actions");
        assert_eq!(t.assign_public_ip, None, "only sent with subnets or groups");
        assert!(!t.wait);
        let t = read(&[("run-task-subnets", "subnet-1,subnet-2")], true)
            .unwrap()
            .unwrap();
        assert_eq!(t.subnets, ["subnet-1", "subnet-2"]);
        assert_eq!(t.assign_public_ip.as_deref(), Some("DISABLED"));
        assert!(t.wait, "`run` waits unless told not to");
        let t = read(&[("wait-for-task-stopped", "false")], true)
            .unwrap()
            .unwrap();
        assert!(!t.wait);
    }

    #[test]
    fn a_capacity_provider_strategy_replaces_the_launch_type() {
        let t = read(
            &[(
                "run-task-capacity-provider-strategy",
                r#"[{"capacityProvider":"FARGATE_SPOT","weight":1}]"#,
            )],
            true,
        )
        .unwrap()
        .unwrap();
        assert_eq!(t.launch_type, None);
        assert_eq!(
            t.capacity_provider_strategy[0].capacity_provider,
            "FARGATE_SPOT"
        );
    }

    #[test]
    fn bad_json_names_the_input_and_the_json_error() {
        let e = read(
            &[(
                "run-task-container-overrides",
                r#"[{"name": "web", "comand": ["x"]}]"#,
            )],
            true,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("run-task-container-overrides"), "{e}");
        assert!(e.contains("unknown field `comand`"), "{e}");
        let e = read(&[("run-task-tags", "[{key: 1}]")], true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("run-task-tags") && e.contains("line 1"), "{e}");
        let e = read(&[("run-task-subnets", "subnet-1,sg-2")], true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`sg-2` is not a `subnet-…` id"), "{e}");
        let e = read(&[("run-task-assign-public-ip", "enabled")], true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("run-task-assign-public-ip"), "{e}");
    }
}
