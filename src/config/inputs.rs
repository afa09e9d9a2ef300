//! The table of inputs, and `Inputs`: the raw values of one run read through that table, so a
//! default is written in exactly one place (`INPUTS`, which a test keeps equal to action.yml).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::Command;
use crate::error::{Error, Result};

/// An input greenlight understands, with the default action.yml declares for it and the
/// commands that read it (the CLI offers it as a flag on exactly those).
#[derive(Debug, Clone, Copy)]
pub struct InputSpec {
    pub name: &'static str,
    pub default: Option<&'static str>,
    pub commands: &'static [Command],
}

/// `plan` reads exactly what `deploy` reads: it is a deploy that stops before the first write.
/// `run` reads it too: the revision is built the same way, and the service (when given) lends
/// its network to the one-off task.
const DEPLOY: &[Command] = &[Command::Deploy, Command::Plan, Command::Run];
const TAG: &[Command] = &[Command::Tag];
/// The operator verbs act on a deployment that exists.
const VERBS: &[Command] = &[Command::Promote, Command::Abort, Command::Rollback];
const SERVICE: &[Command] = &[
    Command::Deploy,
    Command::Plan,
    Command::Run,
    Command::Promote,
    Command::Abort,
    Command::Rollback,
];
const IMAGE: &[Command] = &[Command::Deploy, Command::Plan, Command::Run, Command::Tag];
/// `status` only reads: it needs to know which service, nothing else.
const STATUS: &[Command] = &[
    Command::Deploy,
    Command::Plan,
    Command::Run,
    Command::Promote,
    Command::Abort,
    Command::Rollback,
    Command::Status,
];

const fn input(name: &'static str, default: Option<&'static str>) -> InputSpec {
    InputSpec {
        name,
        default,
        commands: DEPLOY,
    }
}

const fn input_for(
    name: &'static str,
    default: Option<&'static str>,
    commands: &'static [Command],
) -> InputSpec {
    InputSpec {
        name,
        default,
        commands,
    }
}

/// Every input of this release. A test keeps action.yml and this list identical.
pub const INPUTS: &[InputSpec] = &[
    input_for("command", Some("deploy"), Command::ALL),
    input("task-definition", None),
    input_for("service", None, STATUS),
    input_for("cluster", Some("default"), STATUS),
    input("container-name", None),
    input_for("image", None, IMAGE),
    input_for("image-tag-template", Some("{date}-{sha7}"), TAG),
    input("mutable-tags", Some("latest")),
    input("allow-mutable-images", Some("false")),
    input("tags", None),
    input("keep-null-value-keys", None),
    input("force-new-deployment", Some("false")),
    input("desired-count", None),
    input("propagate-tags", None),
    input("enable-ecs-managed-tags", None),
    input("on-conflict", Some("fail")),
    input("config", None),
    input("all-or-nothing", Some("false")),
    input("scan-gate", Some("true")),
    input("severity-thresholds", Some("CRITICAL=0,HIGH=0")),
    input("scan-ignore-file", None),
    input("scan-fixable-only", Some("false")),
    input("scan-wait-minutes", Some("10")),
    input("scan-on-missing", Some("start")),
    input("sarif-file", None),
    input("image-definitions", None),
    input("environment-variables", None),
    input("secrets", None),
    input("log-configuration-log-driver", None),
    input("log-configuration-options", None),
    input("docker-labels", None),
    input("codedeploy-appspec", None),
    input_for("codedeploy-application", None, STATUS),
    input_for("codedeploy-deployment-group", None, STATUS),
    input("codedeploy-deployment-config", None),
    input("codedeploy-deployment-description", None),
    input("wait-until", Some("complete")),
    input_for("deployment-id", None, VERBS),
    input_for("to", None, &[Command::Rollback]),
    input_for(
        "force-stop-rollback",
        Some("false"),
        &[Command::Abort, Command::Rollback],
    ),
    input("wait-for-service-stability", Some("false")),
    input_for("wait-for-minutes", Some("30"), SERVICE),
    input_for("wait-max-delay-seconds", None, SERVICE),
    input_for("rollback-on-timeout", Some("true"), SERVICE),
    input_for("github-token", Some("${{ github.token }}"), STATUS),
    input_for("pr-comment", Some("true"), STATUS),
    input_for("commit-status", Some("true"), STATUS),
    input_for("report-timeout-seconds", Some("15"), STATUS),
    input("environment", None),
    input("environment-url", None),
    input_for("max-retries", Some("3"), Command::ALL),
    input("task-role-arn", None),
    input("execution-role-arn", None),
    input("env-files", None),
    input("container-command", None),
    input("service-managed-ebs-volume-name", None),
    input("service-managed-ebs-volume", None),
    input("keep-task-definition-revisions", None),
    input("run-task", Some("false")),
    input("run-task-container-overrides", None),
    input("run-task-security-groups", None),
    input("run-task-subnets", None),
    input("run-task-assign-public-ip", Some("DISABLED")),
    input("run-task-capacity-provider-strategy", None),
    input("run-task-launch-type", Some("FARGATE")),
    input("run-task-started-by", Some("GitHub-Actions")),
    input("run-task-tags", None),
    input("run-task-managed-ebs-volume-name", None),
    input("run-task-managed-ebs-volume", None),
    input("wait-for-task-stopped", Some("false")),
    input("diagnose-log-lines", Some("20")),
    input("verify", Some("true")),
];

/// The input of that name in the table.
pub fn spec(name: &str) -> Option<&'static InputSpec> {
    INPUTS.iter().find(|i| i.name == name)
}

/// The default action.yml declares for the input.
pub fn default_of(name: &str) -> Option<&'static str> {
    spec(name).and_then(|i| i.default)
}

/// The raw values of one run (or of one `config` entry) read through `INPUTS`: what was given,
/// else the default the table declares. Every parser below reports errors by input name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Inputs<'a> {
    raw: &'a BTreeMap<String, String>,
}

impl<'a> Inputs<'a> {
    pub(crate) fn new(raw: &'a BTreeMap<String, String>) -> Self {
        Inputs { raw }
    }

    /// Whether the run set the input itself (a default does not count).
    pub(crate) fn given(&self, name: &str) -> bool {
        self.raw.contains_key(name)
    }

    /// The value given, or the default action.yml declares.
    pub(crate) fn get(&self, name: &str) -> Option<&'a str> {
        debug_assert!(spec(name).is_some(), "`{name}` is not in INPUTS");
        self.raw
            .get(name)
            .map(String::as_str)
            .or_else(|| default_of(name))
    }

    pub(crate) fn string(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_string)
    }

    pub(crate) fn path(&self, name: &str) -> Option<PathBuf> {
        self.get(name).map(PathBuf::from)
    }

    /// A value the command cannot go without; only what the run gave counts.
    pub(crate) fn required(&self, name: &str, what: &str, command: &str) -> Result<String> {
        self.raw.get(name).cloned().ok_or_else(|| {
            Error::input(
                name,
                format!("is required for `{command}`"),
                format!("set `{name}` to {what}"),
            )
        })
    }

    /// A value that always has one: given, or declared as the default.
    fn defaulted(&self, name: &str) -> Result<&'a str> {
        self.get(name).ok_or_else(|| {
            Error::input(name, "has no value and no default", format!("set `{name}`"))
        })
    }

    pub(crate) fn flag(&self, name: &str) -> Result<bool> {
        parse_bool(name, self.defaulted(name)?)
    }

    /// A boolean that may be left unset (then the service's own setting stays).
    pub(crate) fn opt_flag(&self, name: &str) -> Result<Option<bool>> {
        self.get(name).map(|v| parse_bool(name, v)).transpose()
    }

    /// A whole number of minutes; the fix quotes the input's own default as the example.
    pub(crate) fn minutes(&self, name: &str) -> Result<u32> {
        let value = self.defaulted(name)?;
        value.parse().map_err(|_| {
            Error::input(
                name,
                format!("`{value}` is not a whole number of minutes"),
                match default_of(name) {
                    Some(default) => format!("give a number like `{default}`"),
                    None => "give a whole number of minutes".to_string(),
                },
            )
        })
    }

    /// One of a closed set of words; `fix` says what each means.
    pub(crate) fn choice<T: Copy>(
        &self,
        name: &str,
        options: &[(&str, T)],
        fix: &str,
    ) -> Result<T> {
        let value = self.defaulted(name)?;
        one_of(name, value, options, fix)
    }

    pub(crate) fn opt_choice<T: Copy>(
        &self,
        name: &str,
        options: &[(&str, T)],
        fix: &str,
    ) -> Result<Option<T>> {
        self.get(name)
            .map(|v| one_of(name, v, options, fix))
            .transpose()
    }

    /// A comma-separated list (blanks dropped).
    pub(crate) fn list(&self, name: &str) -> Vec<String> {
        split_list(self.get(name))
    }

    /// Multi-line `KEY=value` pairs.
    pub(crate) fn pairs(&self, name: &str) -> Result<Vec<(String, String)>> {
        key_values(name, self.get(name))
    }
}

fn one_of<T: Copy>(name: &str, value: &str, options: &[(&str, T)], fix: &str) -> Result<T> {
    options
        .iter()
        .find(|(word, _)| *word == value)
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            let words: Vec<&str> = options.iter().map(|(w, _)| *w).collect();
            Error::input(
                name,
                format!("`{value}` is not one of {}", words.join(", ")),
                fix,
            )
        })
}

pub(crate) fn check_name(input_name: &str, value: &str) -> Result<()> {
    // ECS names are letters, digits, hyphens and underscores; an ARN is accepted as well.
    let ok = value.starts_with("arn:")
        || (value.len() <= 255
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    if ok {
        Ok(())
    } else {
        Err(Error::input(
            input_name,
            format!("`{value}` is not a valid ECS {input_name} name"),
            "use up to 255 letters, digits, hyphens and underscores, or the full ARN",
        ))
    }
}

/// Multi-line `KEY=value` input (blank lines and `#` comments skipped); errors name the line.
fn key_values(input_name: &str, value: Option<&str>) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (i, line) in value.unwrap_or("").lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                out.push((k.trim().to_string(), v.trim().to_string()))
            }
            _ => {
                // The line itself is not echoed: it may well be `DB_PASSWORD: hunter2`.
                return Err(Error::input(
                    input_name,
                    format!("line {} is not KEY=value", i + 1),
                    "write one KEY=value per line",
                ));
            }
        }
    }
    Ok(out)
}

fn split_list(value: Option<&str>) -> Vec<String> {
    value
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn parse_bool(name: &str, value: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Error::input(
            name,
            format!("`{value}` is not a boolean"),
            "use `true` or `false`",
        )),
    }
}

pub(crate) fn unknown_input(name: &str) -> Error {
    let best = INPUTS
        .iter()
        .map(|i| {
            (
                strsim::jaro_winkler(i.name, &name.replace('_', "-")),
                i.name,
            )
        })
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let fix = match best {
        Some((score, candidate)) if score > 0.8 => format!("did you mean `{candidate}`?"),
        _ => format!(
            "remove it; known inputs are {}",
            INPUTS.iter().map(|i| i.name).collect::<Vec<_>>().join(", ")
        ),
    };
    Error::input(name, "is not an input of greenlight", fix)
}
