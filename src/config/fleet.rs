//! A `config` file of several services: each entry a full deploy of its own, taking the deploy
//! inputs' names and overriding the step's inputs for that service.

use std::collections::BTreeMap;
use std::path::Path;

use super::Command;
use super::deploy::{DeployConfig, deploy_config};
use super::inputs::{INPUTS, Inputs, spec};
use super::workspace::check_paths_in;
use crate::error::{Error, Result};

/// The services of a `config` file, each a full deploy of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fleet {
    pub plan: bool,
    pub services: Vec<DeployConfig>,
    /// One service failing rolls the others back.
    pub all_or_nothing: bool,
}

/// Inputs a `config` entry may not set: they are about the run, not one service.
const RUN_ONLY: &[&str] = &[
    "command",
    "config",
    "all-or-nothing",
    "github-token",
    "pr-comment",
    "commit-status",
    "report-timeout-seconds",
    "environment",
    "environment-url",
    "max-retries",
];

/// Reads the `config` file: a `services` list whose entries take the same names as the action
/// inputs (`cluster`, `service`, `task-definition`, `container-name`, `image` …) and override
/// the step's own inputs for that service.
pub(super) fn fleet(
    raw: &BTreeMap<String, String>,
    plan: bool,
    warnings: &mut Vec<String>,
    workspace: Option<&Path>,
) -> Result<Fleet> {
    let inputs = Inputs::new(raw);
    let path = inputs.path("config").unwrap_or_default();
    let (_, doc) = crate::stages::read_document(&path, "services config")?;
    let file_error = |field: String, problem: String, fix: &str| Error::File {
        path: path.clone(),
        line: None,
        field: Some(field),
        problem,
        fix: fix.into(),
    };
    let entries = doc
        .get("services")
        .and_then(serde_json::Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            file_error(
                "services".into(),
                "needs a non-empty `services` list".into(),
                "list the services, each with at least `service` and `task-definition`",
            )
        })?;
    let mut base = raw.clone();
    for name in RUN_ONLY {
        base.remove(*name);
    }
    let mut services = Vec::new();
    let mut seen = BTreeMap::new();
    for (i, entry) in entries.iter().enumerate() {
        let at = format!("services[{i}]");
        let map = entry.as_object().ok_or_else(|| {
            file_error(
                at.clone(),
                "is not a mapping".into(),
                "write `key: value` pairs",
            )
        })?;
        let mut entry_inputs = base.clone();
        for (key, value) in map {
            let spec = spec(key);
            if spec.is_none_or(|s| {
                RUN_ONLY.contains(&s.name) || !s.commands.contains(&Command::Deploy)
            }) {
                let hint = crate::stages::did_you_mean(key, INPUTS.iter().map(|s| s.name))
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| "use the names of the deploy inputs".into());
                return Err(file_error(
                    format!("{at}.{key}"),
                    "is not a deploy input a service entry can set".into(),
                    &hint,
                ));
            }
            let text = match value {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Bool(_) | serde_json::Value::Number(_) => value.to_string(),
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                _ => {
                    return Err(file_error(
                        format!("{at}.{key}"),
                        "must be a string, number, boolean or list".into(),
                        "write the value as the action input would take it",
                    ));
                }
            };
            entry_inputs.insert(key.clone(), text);
        }
        let checked = match workspace {
            Some(ws) => check_paths_in(&entry_inputs, ws),
            None => Ok(()),
        };
        let mut d = checked
            .and_then(|()| {
                deploy_config(Inputs::new(&entry_inputs), Command::Deploy, true, warnings)
            })
            .map_err(|e| match e {
                Error::Input {
                    input,
                    problem,
                    fix,
                } => file_error(format!("{at}.{input}"), problem, &fix),
                other => other,
            })?;
        if d.run_task.is_some() {
            return Err(file_error(
                format!("{at}.run-task"),
                "one-off tasks are not run for the services of a `config` file".into(),
                "run the task in a step of its own (`command: run`) before this one",
            ));
        }
        d.gate.read_only = plan;
        let (cluster, service) = service_identity(&d.cluster, &d.service);
        if let Some(first) = seen.get(&(cluster.clone(), service.clone())) {
            return Err(file_error(
                at,
                format!(
                    "lists {cluster}/{service} a second time (services[{first}] is the same service, however its cluster is written)"
                ),
                "deploy each service once per run",
            ));
        }
        seen.insert((cluster, service), i);
        services.push(d);
    }
    Ok(Fleet {
        plan,
        services,
        all_or_nothing: inputs.flag("all-or-nothing")?,
    })
}

/// The (cluster name, service name) a service entry means, whether cluster and service are
/// written as names or ARNs (`arn:aws:ecs:REGION:ACCOUNT:cluster/NAME`,
/// `…:service/CLUSTER/NAME`).
fn service_identity(cluster: &str, service: &str) -> (String, String) {
    let after = |arn: &str, kind: &str| {
        arn.starts_with("arn:")
            .then(|| {
                arn.split_once(&format!(":{kind}/"))
                    .map(|(_, rest)| rest.to_string())
            })
            .flatten()
    };
    let cluster_name = after(cluster, "cluster").unwrap_or_else(|| cluster.to_string());
    match after(service, "service") {
        Some(rest) => match rest.split_once('/') {
            Some((c, s)) => (c.to_string(), s.to_string()),
            None => (cluster_name, rest),
        },
        None => (cluster_name, service.to_string()),
    }
}
