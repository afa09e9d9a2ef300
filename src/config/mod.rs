//! One typed, validated `Config` from two front doors: action inputs (`INPUT_*`) and CLI flags.
//! Both are first turned into the same map of kebab-case input names, so every rule applies to
//! both alike. `inputs` holds the table of every input and its default and the parsers that read
//! through it; each other module reads what one command (or one concern) needs.

mod deploy;
mod extras;
mod fleet;
mod gate;
mod inputs;
mod report;
mod run_task;
mod tag;
mod verbs;
mod workspace;

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use deploy::deploy_config;
pub use deploy::{DeployConfig, MAX_WAIT_MINUTES, OnConflict, Render, WaitUntil};
pub use extras::{
    EbsTag, EbsTagSpecification, MAX_KEEP_REVISIONS, ManagedEbsVolume, ServiceVolume,
    env_file_problem, parse_command, role_arn_problem,
};
pub use fleet::Fleet;
use fleet::fleet;
pub use gate::{GateConfig, OnMissingScan};
pub use inputs::{INPUTS, InputSpec, default_of, spec};
use inputs::{Inputs, unknown_input};
pub use report::{MAX_REPORT_TIMEOUT_SECONDS, ReportTo};
use report::{report_config, report_timeout};
pub use run_task::{CapacityProvider, ContainerOverride, NameValue, RunTask, TypedValue};
pub use tag::TagConfig;
use tag::tag_config;
pub use verbs::VerbConfig;
use verbs::verb_config;
use workspace::check_paths_in;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Deploy,
    Plan,
    Tag,
    Promote,
    Abort,
    Rollback,
    Status,
    Run,
}

impl Command {
    pub const ALL: &'static [Command] = &[
        Command::Deploy,
        Command::Plan,
        Command::Tag,
        Command::Promote,
        Command::Abort,
        Command::Rollback,
        Command::Status,
        Command::Run,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Command::Deploy => "deploy",
            Command::Plan => "plan",
            Command::Tag => "tag",
            Command::Promote => "promote",
            Command::Abort => "abort",
            Command::Rollback => "rollback",
            Command::Status => "status",
            Command::Run => "run",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub command: Command,
    pub job: Job,
    pub report: ReportTo,
    /// The most GitHub reporting may add to the run once its end state is known.
    pub report_timeout: std::time::Duration,
    /// How AWS is called (`max-retries`).
    pub aws: crate::aws::Settings,
    /// Notes produced while reading inputs (e.g. a capped value) to print as warnings.
    pub warnings: Vec<String>,
}

/// What the command needs, and nothing the other commands need.
// One value per run: boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    Deploy(DeployConfig),
    /// Every check of `deploy` and the diff, with no AWS write.
    Plan(DeployConfig),
    Tag(TagConfig),
    /// Continue a blue/green deployment waiting at READY, then watch it to the end.
    Promote(VerbConfig),
    /// Stop the in-flight deployment with rollback.
    Abort(VerbConfig),
    /// Stop the in-flight deployment with rollback, or deploy the revision that ran before.
    Rollback(VerbConfig),
    /// Report the service's current state; reads only.
    Status(VerbConfig),
    /// Several services from a `config` file: all checked first, then deployed concurrently
    /// (or, with `plan`, only checked).
    Fleet(Fleet),
    /// No service to deploy to: register the revision, and run it as a one-off task when
    /// `d.run_task` says so (`deploy` without `service`, and `run`); with `plan`, only checked.
    Task {
        d: DeployConfig,
        plan: bool,
    },
}

impl Job {
    /// The cluster and service the run is about, when it is about one.
    pub fn target(&self) -> Option<(&str, &str)> {
        match self {
            Job::Deploy(d) | Job::Plan(d) | Job::Task { d, .. } => Some((&d.cluster, &d.service)),
            Job::Promote(v) | Job::Abort(v) | Job::Rollback(v) | Job::Status(v) => {
                Some((&v.cluster, &v.service))
            }
            Job::Tag(_) | Job::Fleet(_) => None,
        }
    }

    /// The deploy settings; `None` for other commands.
    pub fn deploy(&self) -> Option<&DeployConfig> {
        match self {
            Job::Deploy(d) | Job::Plan(d) | Job::Task { d, .. } => Some(d),
            Job::Tag(_)
            | Job::Promote(_)
            | Job::Abort(_)
            | Job::Rollback(_)
            | Job::Status(_)
            | Job::Fleet(_) => None,
        }
    }
}

impl Config {
    /// Builds the config from kebab-case inputs (already stripped of empty values).
    pub fn from_inputs(raw: &BTreeMap<String, String>) -> Result<Config> {
        Config::from_inputs_in(raw, None)
    }

    /// `from_inputs`, with every file input confined to `workspace` when there is one (on a
    /// runner: GITHUB_WORKSPACE), so a workflow cannot be made to read or write elsewhere.
    pub fn from_inputs_in(
        raw: &BTreeMap<String, String>,
        workspace: Option<&std::path::Path>,
    ) -> Result<Config> {
        for name in raw.keys() {
            if spec(name).is_none() {
                return Err(unknown_input(name));
            }
        }
        if let Some(ws) = workspace {
            check_paths_in(raw, ws)?;
        }
        let inputs = Inputs::new(raw);
        let mut warnings = Vec::new();
        let name = inputs.get("command").unwrap_or_default();
        let Some(&command) = Command::ALL.iter().find(|c| c.name() == name) else {
            return Err(Error::input(
                "command",
                format!("`{name}` is not a command of this release"),
                "use `deploy`, `plan`, `run`, `tag`, `promote`, `rollback`, `abort` or `status`",
            ));
        };
        let job = match command {
            Command::Deploy | Command::Plan if raw.contains_key("config") => Job::Fleet(fleet(
                raw,
                command == Command::Plan,
                &mut warnings,
                workspace,
            )?),
            Command::Run if raw.contains_key("config") => {
                return Err(Error::input(
                    "config",
                    "`run` runs one task definition; `config` lists services to deploy",
                    "drop `config`, or use `deploy` / `plan` with it",
                ));
            }
            Command::Deploy | Command::Plan | Command::Run => {
                let plan = command == Command::Plan;
                let mut d = deploy_config(inputs, command, false, &mut warnings)?;
                d.gate.read_only = plan;
                match command {
                    Command::Run => Job::Task { d, plan: false },
                    _ if d.service.is_empty() => Job::Task { d, plan },
                    Command::Plan => Job::Plan(d),
                    _ => Job::Deploy(d),
                }
            }
            Command::Tag => Job::Tag(tag_config(inputs)?),
            Command::Promote => Job::Promote(verb_config(inputs, "promote", &mut warnings)?),
            Command::Abort => Job::Abort(verb_config(inputs, "abort", &mut warnings)?),
            Command::Rollback => Job::Rollback(verb_config(inputs, "rollback", &mut warnings)?),
            Command::Status => Job::Status(verb_config(inputs, "status", &mut warnings)?),
        };
        Ok(Config {
            command,
            job,
            report: report_config(inputs)?,
            report_timeout: report_timeout(inputs)?,
            aws: aws_settings(inputs)?,
            warnings,
        })
    }
}

/// `max-retries`: attempts per AWS operation, as the AWS deploy action counts them (its
/// value is the SDK's `maxAttempts`, the first attempt included).
fn aws_settings(inputs: Inputs<'_>) -> Result<crate::aws::Settings> {
    use crate::aws::bounds::MAX_ATTEMPTS_LIMIT;
    let value = inputs.get("max-retries").unwrap_or_default();
    match value.parse::<u32>() {
        Ok(n) if (1..=MAX_ATTEMPTS_LIMIT).contains(&n) => {
            Ok(crate::aws::Settings { max_attempts: n })
        }
        _ => Err(Error::input(
            "max-retries",
            format!("`{value}` is not a whole number of attempts from 1 to {MAX_ATTEMPTS_LIMIT}"),
            "give a number like `3` (each AWS call is tried that many times at most, within its 30 s bound)",
        )),
    }
}

#[cfg(test)]
mod tests;
