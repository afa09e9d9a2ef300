//! One typed, validated `Config` from two front doors: action inputs (`INPUT_*`) and CLI flags.
//! Both are first turned into the same map of kebab-case input names, so every rule below
//! applies to both alike.

use std::collections::BTreeMap;
use std::path::PathBuf;

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
const DEPLOY: &[Command] = &[Command::Deploy, Command::Plan];
const TAG: &[Command] = &[Command::Tag];
/// The operator verbs act on a deployment that exists.
const VERBS: &[Command] = &[Command::Promote, Command::Abort, Command::Rollback];
const SERVICE: &[Command] = &[
    Command::Deploy,
    Command::Plan,
    Command::Promote,
    Command::Abort,
    Command::Rollback,
];
const IMAGE: &[Command] = &[Command::Deploy, Command::Plan, Command::Tag];
/// `status` only reads: it needs to know which service, nothing else.
const STATUS: &[Command] = &[
    Command::Deploy,
    Command::Plan,
    Command::Promote,
    Command::Abort,
    Command::Rollback,
    Command::Status,
];
const ALL: &[Command] = &[
    Command::Deploy,
    Command::Plan,
    Command::Tag,
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
    input_for("command", Some("deploy"), ALL),
    input("task-definition", None),
    input_for("service", None, STATUS),
    input_for("cluster", Some("default"), STATUS),
    input("container-name", None),
    input_for("image", None, IMAGE),
    input_for("image-tag-template", Some("{date}-{sha7}"), TAG),
    input("mutable-tags", Some("latest")),
    input("allow-mutable-images", Some("false")),
    input("tags", None),
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
    input_for("rollback-on-timeout", Some("true"), SERVICE),
    input_for("github-token", Some("${{ github.token }}"), STATUS),
    input_for("pr-comment", Some("true"), STATUS),
    input_for("commit-status", Some("true"), STATUS),
    input_for("report-timeout-seconds", Some("15"), STATUS),
    input("environment", None),
    input("environment-url", None),
];

/// The longest wait the AWS action allows; kept so migrated workflows behave the same.
pub const MAX_WAIT_MINUTES: u32 = 360;
const DESCRIPTION_LIMIT: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Deploy,
    Plan,
    Tag,
    Promote,
    Abort,
    Rollback,
    Status,
}

impl Command {
    pub fn name(self) -> &'static str {
        match self {
            Command::Deploy => "deploy",
            Command::Plan => "plan",
            Command::Tag => "tag",
            Command::Promote => "promote",
            Command::Abort => "abort",
            Command::Rollback => "rollback",
            Command::Status => "status",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitUntil {
    /// Return as soon as the deployment is created.
    None,
    /// Return when the replacement serves test traffic and waits for ContinueDeployment.
    Ready,
    /// Return at the terminal state.
    Complete,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub command: Command,
    pub job: Job,
    pub report: ReportConfig,
    /// The most GitHub reporting may add to the run once its end state is known.
    pub report_timeout: std::time::Duration,
    /// Notes produced while reading inputs (e.g. a capped value) to print as warnings.
    pub warnings: Vec<String>,
}

/// Where the run reports besides the log and the step summary.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ReportConfig {
    /// Absent outside a workflow unless given: then nothing is posted to GitHub.
    pub github_token: Option<String>,
    pub pr_comment: bool,
    pub commit_status: bool,
    /// A GitHub Deployment in this environment (deploy only).
    pub environment: Option<String>,
    pub environment_url: Option<String>,
}

// The token never reaches a log, not even a debug print.
impl std::fmt::Debug for ReportConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportConfig")
            .field("github_token", &self.github_token.as_ref().map(|_| "***"))
            .field("pr_comment", &self.pr_comment)
            .field("commit_status", &self.commit_status)
            .field("environment", &self.environment)
            .field("environment_url", &self.environment_url)
            .finish()
    }
}

fn report_config(raw: &BTreeMap<String, String>) -> Result<ReportConfig> {
    let get = |name: &str| lookup(raw, name);
    Ok(ReportConfig {
        // The action's default is an expression the runner fills in; unfilled (on the CLI) it
        // means no token.
        github_token: get("github-token")
            .filter(|t| !t.is_empty() && !t.contains("${{"))
            .map(str::to_string),
        pr_comment: parse_bool("pr-comment", get("pr-comment").unwrap_or("true"))?,
        commit_status: parse_bool("commit-status", get("commit-status").unwrap_or("true"))?,
        environment: get("environment").map(str::to_string),
        environment_url: get("environment-url").map(str::to_string),
    })
}

/// The longest `report-timeout-seconds`: a report that needs more than ten minutes is better
/// read from the step summary.
pub const MAX_REPORT_TIMEOUT_SECONDS: u64 = 600;

fn report_timeout(raw: &BTreeMap<String, String>) -> Result<std::time::Duration> {
    let value = lookup(raw, "report-timeout-seconds").unwrap_or("15");
    match value.parse::<u64>() {
        Ok(secs) if secs <= MAX_REPORT_TIMEOUT_SECONDS => Ok(std::time::Duration::from_secs(secs)),
        _ => Err(Error::input(
            "report-timeout-seconds",
            format!(
                "`{value}` is not a whole number of seconds from 0 to {MAX_REPORT_TIMEOUT_SECONDS}"
            ),
            "give a number like `15` (0: do not wait for GitHub at all)",
        )),
    }
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
}

/// The services of a `config` file, each a full deploy of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fleet {
    pub plan: bool,
    pub services: Vec<DeployConfig>,
    /// One service failing rolls the others back.
    pub all_or_nothing: bool,
}

/// What the operator verbs need: which service, which deployment, how long to follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerbConfig {
    pub cluster: String,
    pub service: String,
    pub application: String,
    pub deployment_group: String,
    /// Absent: the one deployment in flight for the service.
    pub deployment_id: Option<String>,
    /// `rollback`: the task definition to go back to (`family:revision` or ARN); absent: the
    /// revision the service ran before the last deployment.
    pub to: Option<String>,
    pub wait_minutes: u32,
    pub rollback_on_timeout: bool,
    /// `abort`/`rollback`: stop CodeDeploy's own rollback deployment named by `deployment-id`
    /// instead of waiting for it.
    pub force_stop_rollback: bool,
}

impl Job {
    /// The cluster and service the run is about, when it is about one.
    pub fn target(&self) -> Option<(&str, &str)> {
        match self {
            Job::Deploy(d) | Job::Plan(d) => Some((&d.cluster, &d.service)),
            Job::Promote(v) | Job::Abort(v) | Job::Rollback(v) | Job::Status(v) => {
                Some((&v.cluster, &v.service))
            }
            Job::Tag(_) | Job::Fleet(_) => None,
        }
    }

    /// The deploy settings; `None` for other commands.
    pub fn deploy(&self) -> Option<&DeployConfig> {
        match self {
            Job::Deploy(d) | Job::Plan(d) => Some(d),
            Job::Tag(_)
            | Job::Promote(_)
            | Job::Abort(_)
            | Job::Rollback(_)
            | Job::Status(_)
            | Job::Fleet(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagConfig {
    /// A repository name, or a full repository reference without tag.
    pub image: String,
    pub template: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnMissingScan {
    Start,
    Fail,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateConfig {
    pub enabled: bool,
    pub policy: crate::stages::scan_gate::policy::Policy,
    pub wait_minutes: u32,
    pub on_missing: OnMissingScan,
    pub sarif_file: Option<PathBuf>,
    /// Tags that may point at different images over time; refused besides `latest`.
    pub mutable_tags: Vec<String>,
    /// Plan mode: never start a scan (StartImageScan is a write); a missing scan blocks.
    pub read_only: bool,
}

/// Overrides written into the named containers, like amazon-ecs-render-task-definition.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Render {
    pub environment: Vec<(String, String)>,
    /// Name → `valueFrom` (an SSM parameter or Secrets Manager ARN, or a parameter name).
    pub secrets: Vec<(String, String)>,
    pub log_driver: Option<String>,
    pub log_options: Vec<(String, String)>,
    pub docker_labels: Vec<(String, String)>,
}

impl Render {
    pub fn is_empty(&self) -> bool {
        self == &Render::default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployConfig {
    pub gate: GateConfig,
    pub task_definition: PathBuf,
    pub service: String,
    pub cluster: String,
    /// Containers whose image is replaced, each paired with its image.
    pub images: Vec<(String, String)>,
    /// The image when no container is named: applies to the only container.
    pub sole_image: Option<String>,
    /// `imagedefinitions.json` (CodePipeline's format) as the image source.
    pub image_definitions: Option<PathBuf>,
    /// Containers named in `container-name`: where the render options apply.
    pub containers: Vec<String>,
    pub render: Render,
    /// Lets containers keep `latest`/untagged images (sidecars the gate does not cover).
    pub allow_mutable_images: bool,
    /// Tags for the registered revision, on top of the file's own `tags`.
    pub tags: Vec<(String, String)>,
    /// Register a new revision even when it equals the live one.
    pub force_new_deployment: bool,
    pub appspec: Option<PathBuf>,
    pub application: String,
    pub deployment_group: String,
    pub deployment_config: Option<String>,
    pub description: Option<String>,
    pub wait_until: WaitUntil,
    pub wait_minutes: u32,
    pub rollback_on_timeout: bool,
    /// CodeDeploy: also wait out the original task set's termination wait.
    pub wait_for_stability: bool,
    /// What to do when a deployment is already in flight for the service.
    pub on_conflict: OnConflict,
    /// ECS-controller services: UpdateService's desiredCount, propagateTags and
    /// enableECSManagedTags (CodeDeploy owns these for CODE_DEPLOY services).
    pub desired_count: Option<i32>,
    pub propagate_tags: Option<String>,
    pub enable_ecs_managed_tags: Option<bool>,
}

/// When another deployment of the same service is in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConflict {
    /// Refuse, naming it (the default: two deployments would fight over the traffic).
    Fail,
    /// Wait for it to end (bounded by `wait-for-minutes`), then deploy.
    Wait,
    /// Follow it instead of starting another, when it deploys this very image.
    Attach,
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
            if !INPUTS.iter().any(|i| i.name == name) {
                return Err(unknown_input(name));
            }
        }
        if let Some(ws) = workspace {
            check_paths_in(raw, ws)?;
        }
        let mut warnings = Vec::new();
        let command = match lookup(raw, "command").unwrap_or("deploy") {
            "deploy" => Command::Deploy,
            "plan" => Command::Plan,
            "tag" => Command::Tag,
            "promote" => Command::Promote,
            "abort" => Command::Abort,
            "rollback" => Command::Rollback,
            "status" => Command::Status,
            other => {
                return Err(Error::input(
                    "command",
                    format!("`{other}` is not a command of this release"),
                    "use `deploy`, `plan`, `tag`, `promote`, `rollback`, `abort` or `status`",
                ));
            }
        };
        let job = match command {
            Command::Deploy | Command::Plan if raw.contains_key("config") => Job::Fleet(fleet(
                raw,
                command == Command::Plan,
                &mut warnings,
                workspace,
            )?),
            Command::Deploy => Job::Deploy(deploy_config(raw, &mut warnings)?),
            Command::Plan => {
                let mut d = deploy_config(raw, &mut warnings)?;
                d.gate.read_only = true;
                Job::Plan(d)
            }
            Command::Tag => Job::Tag(tag_config(raw)?),
            Command::Promote => Job::Promote(verb_config(raw, "promote", &mut warnings)?),
            Command::Abort => Job::Abort(verb_config(raw, "abort", &mut warnings)?),
            Command::Rollback => Job::Rollback(verb_config(raw, "rollback", &mut warnings)?),
            Command::Status => Job::Status(verb_config(raw, "status", &mut warnings)?),
        };
        Ok(Config {
            command,
            job,
            report: report_config(raw)?,
            report_timeout: report_timeout(raw)?,
            warnings,
        })
    }
}

impl VerbConfig {
    /// The deploy that puts `task_definition` (a registered revision) back on the service:
    /// the same service and CodeDeploy names, no gate (the revision ran before), deployed as
    /// it is.
    pub fn redeploy(&self, task_definition: &str) -> Result<DeployConfig> {
        let mut raw = BTreeMap::new();
        for (k, v) in [
            ("task-definition", task_definition),
            ("service", self.service.as_str()),
            ("cluster", self.cluster.as_str()),
            ("codedeploy-application", self.application.as_str()),
            (
                "codedeploy-deployment-group",
                self.deployment_group.as_str(),
            ),
            ("scan-gate", "false"),
            ("force-new-deployment", "true"),
        ] {
            raw.insert(k.to_string(), v.to_string());
        }
        raw.insert("wait-for-minutes".into(), self.wait_minutes.to_string());
        raw.insert(
            "rollback-on-timeout".into(),
            self.rollback_on_timeout.to_string(),
        );
        let mut d = deploy_config(&raw, &mut Vec::new())?;
        d.description = Some(format!("greenlight rollback to {task_definition}"));
        Ok(d)
    }
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
];

/// Reads the `config` file: a `services` list whose entries take the same names as the action
/// inputs (`cluster`, `service`, `task-definition`, `container-name`, `image` …) and override
/// the step's own inputs for that service.
fn fleet(
    raw: &BTreeMap<String, String>,
    plan: bool,
    warnings: &mut Vec<String>,
    workspace: Option<&std::path::Path>,
) -> Result<Fleet> {
    let path = PathBuf::from(lookup(raw, "config").unwrap_or_default());
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
        let mut inputs = base.clone();
        for (key, value) in map {
            let spec = INPUTS.iter().find(|s| s.name == key);
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
            inputs.insert(key.clone(), text);
        }
        let checked = match workspace {
            Some(ws) => check_paths_in(&inputs, ws),
            None => Ok(()),
        };
        let mut d = checked
            .and_then(|()| deploy_config(&inputs, warnings))
            .map_err(|e| match e {
                Error::Input {
                    input,
                    problem,
                    fix,
                } => file_error(format!("{at}.{input}"), problem, &fix),
                other => other,
            })?;
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
        all_or_nothing: parse_bool(
            "all-or-nothing",
            lookup(raw, "all-or-nothing").unwrap_or("false"),
        )?,
    })
}

/// The input's value, or the default action.yml declares.
fn lookup<'a>(raw: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    raw.get(name).map(String::as_str).or_else(|| {
        INPUTS
            .iter()
            .find(|i| i.name == name)
            .and_then(|i| i.default)
    })
}

fn tag_config(raw: &BTreeMap<String, String>) -> Result<TagConfig> {
    let image = required(
        raw,
        "image",
        "the ECR repository name (e.g. `web`) or its full URI",
        "tag",
    )?;
    if image.contains('@')
        || image
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains(':'))
    {
        return Err(Error::input(
            "image",
            format!("`{image}` already has a tag or digest"),
            "give the repository only; `tag` computes the tag from `image-tag-template`",
        ));
    }
    Ok(TagConfig {
        image,
        template: lookup(raw, "image-tag-template")
            .unwrap_or("{date}-{sha7}")
            .to_string(),
    })
}

fn gate_config(raw: &BTreeMap<String, String>) -> Result<GateConfig> {
    use crate::stages::scan_gate::policy::{Policy, Thresholds, load_ignore_file};
    let get = |name: &str| lookup(raw, name);
    let enabled = parse_bool("scan-gate", get("scan-gate").unwrap_or("true"))?;
    let thresholds = Thresholds::parse(get("severity-thresholds").unwrap_or(""))?;
    let ignore_file = get("scan-ignore-file").map(PathBuf::from);
    let ignore = match &ignore_file {
        Some(path) => load_ignore_file(path)?,
        None => Vec::new(),
    };
    let wait_raw = get("scan-wait-minutes").unwrap_or("10");
    let wait_minutes: u32 = wait_raw.parse().map_err(|_| {
        Error::input(
            "scan-wait-minutes",
            format!("`{wait_raw}` is not a whole number of minutes"),
            "give a number like `10`",
        )
    })?;
    let on_missing = match get("scan-on-missing").unwrap_or("start") {
        "start" => OnMissingScan::Start,
        "fail" => OnMissingScan::Fail,
        other => {
            return Err(Error::input(
                "scan-on-missing",
                format!("`{other}` is not one of start, fail"),
                "use `start` (start a basic scan and wait) or `fail` (block the deploy)",
            ));
        }
    };
    Ok(GateConfig {
        enabled,
        policy: Policy {
            thresholds,
            fixable_only: parse_bool(
                "scan-fixable-only",
                get("scan-fixable-only").unwrap_or("false"),
            )?,
            ignore,
            ignore_file,
        },
        wait_minutes,
        on_missing,
        sarif_file: get("sarif-file").map(PathBuf::from),
        mutable_tags: split_list(get("mutable-tags")),
        read_only: false,
    })
}

/// Cluster, service, CodeDeploy application and group (defaults as the ECS console names them).
fn target(
    raw: &BTreeMap<String, String>,
    command: &str,
) -> Result<(String, String, String, String)> {
    let get = |name: &str| lookup(raw, name);
    let service = required(raw, "service", "the name of the ECS service", command)?;
    let cluster = get("cluster").unwrap_or("default").to_string();
    check_name("service", &service)?;
    check_name("cluster", &cluster)?;
    let application = get("codedeploy-application")
        .map(str::to_string)
        .unwrap_or_else(|| format!("AppECS-{cluster}-{service}"));
    let deployment_group = get("codedeploy-deployment-group")
        .map(str::to_string)
        .unwrap_or_else(|| format!("DgpECS-{cluster}-{service}"));
    Ok((cluster, service, application, deployment_group))
}

fn wait_minutes(raw: &BTreeMap<String, String>, warnings: &mut Vec<String>) -> Result<u32> {
    let wait_raw = lookup(raw, "wait-for-minutes").unwrap_or("30");
    let minutes: u32 = wait_raw.parse().map_err(|_| {
        Error::input(
            "wait-for-minutes",
            format!("`{wait_raw}` is not a whole number of minutes"),
            "give a number like `30`",
        )
    })?;
    if minutes == 0 {
        return Err(Error::input(
            "wait-for-minutes",
            "0 minutes leaves no time to deploy",
            "give at least 1, or use `wait-until: none` to return right after the start",
        ));
    }
    if minutes > MAX_WAIT_MINUTES {
        warnings.push(format!(
            "wait-for-minutes {minutes} is above the maximum; waiting {MAX_WAIT_MINUTES} minutes"
        ));
        return Ok(MAX_WAIT_MINUTES);
    }
    Ok(minutes)
}

fn verb_config(
    raw: &BTreeMap<String, String>,
    command: &str,
    warnings: &mut Vec<String>,
) -> Result<VerbConfig> {
    let (cluster, service, application, deployment_group) = target(raw, command)?;
    let deployment_id = lookup(raw, "deployment-id").map(str::to_string);
    let codedeploy_id = |id: &str| {
        id.starts_with("d-") && id.len() == 11 && id[2..].bytes().all(|b| b.is_ascii_alphanumeric())
    };
    let ecs_id = |id: &str| {
        id.strip_prefix("ecs-svc/")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            || (id.starts_with("arn:") && id.contains(":service-deployment/"))
    };
    if let Some(id) = &deployment_id
        && !codedeploy_id(id)
        && !ecs_id(id)
    {
        return Err(Error::input(
            "deployment-id",
            format!("`{id}` is neither a CodeDeploy nor an ECS deployment id"),
            "give an id like `d-7XK2M1QZB`, `ecs-svc/1234567890123456789` or a service-deployment ARN, or leave it out to act on the deployment in flight",
        ));
    }
    let force_stop_rollback = parse_bool(
        "force-stop-rollback",
        lookup(raw, "force-stop-rollback").unwrap_or("false"),
    )?;
    if force_stop_rollback && deployment_id.is_none() {
        return Err(Error::input(
            "force-stop-rollback",
            "`force-stop-rollback: true` needs the rollback deployment named with `deployment-id`",
            "set `deployment-id` to the id of CodeDeploy's rollback deployment to stop it, or leave `force-stop-rollback` out to wait for it",
        ));
    }
    Ok(VerbConfig {
        force_stop_rollback,
        cluster,
        service,
        application,
        deployment_group,
        deployment_id,
        to: lookup(raw, "to").map(str::to_string),
        wait_minutes: wait_minutes(raw, warnings)?,
        rollback_on_timeout: parse_bool(
            "rollback-on-timeout",
            lookup(raw, "rollback-on-timeout").unwrap_or("true"),
        )?,
    })
}

fn deploy_config(
    raw: &BTreeMap<String, String>,
    warnings: &mut Vec<String>,
) -> Result<DeployConfig> {
    let get = |name: &str| lookup(raw, name);
    let task_definition = required(
        raw,
        "task-definition",
        "the path to your task definition JSON or YAML file, e.g. `task-definition: taskdef.json`",
        "deploy",
    )?;
    let (cluster, service, application, deployment_group) = target(raw, "deploy")?;

    let containers = split_list(get("container-name"));
    for (i, c) in containers.iter().enumerate() {
        if containers[..i].contains(c) {
            return Err(Error::input(
                "container-name",
                format!("names container `{c}` twice"),
                "name each container once (with its image in the same position in `image`)",
            ));
        }
    }
    let containers_named = containers.clone();
    let image_list = split_list(get("image"));
    let (images, sole_image) = match (containers.len(), image_list.len()) {
        (0, 0) => (Vec::new(), None),
        (0, 1) => (Vec::new(), image_list.into_iter().next()),
        (0, _) => {
            return Err(Error::input(
                "image",
                "several images were given but no `container-name`",
                "name the containers in `container-name`, in the same order as the images",
            ));
        }
        (_, 0) => {
            return Err(Error::input(
                "container-name",
                "a container is named but no `image` is given for it",
                "set `image` to the reference to deploy, or drop `container-name`",
            ));
        }
        (n, 1) if n > 1 => {
            return Err(Error::input(
                "image",
                format!("{n} containers are named but only one image is given"),
                "give one image per container, comma-separated, in the same order",
            ));
        }
        (n, m) if n != m => {
            return Err(Error::input(
                "image",
                format!("{m} images for {n} containers"),
                "give exactly one image per container named in `container-name`",
            ));
        }
        _ => (containers.into_iter().zip(image_list).collect(), None),
    };
    for (_, image) in images
        .iter()
        .map(|(c, i)| (c, i))
        .chain(sole_image.iter().map(|i| (i, i)))
    {
        if image.contains(char::is_whitespace) {
            return Err(Error::input(
                "image",
                format!("`{image}` contains whitespace"),
                "give a reference like `123456789012.dkr.ecr.us-east-1.amazonaws.com/web:20261123120000-abc1234`",
            ));
        }
        // Checked here, so the message names this input rather than the task definition file
        // the image would otherwise be rendered into first.
        if let Err(e) = crate::stages::image::ImageRef::parse(image) {
            return Err(Error::input(
                "image",
                e.to_string(),
                "give a reference like `123456789012.dkr.ecr.us-east-1.amazonaws.com/web:20261123120000-abc1234`",
            ));
        }
    }

    let description = get("codedeploy-deployment-description").map(|d| {
        if d.chars().count() > DESCRIPTION_LIMIT {
            warnings.push(format!(
                "codedeploy-deployment-description is longer than {DESCRIPTION_LIMIT} characters; it was cut to fit CodeDeploy's limit"
            ));
            d.chars().take(DESCRIPTION_LIMIT).collect()
        } else {
            d.to_string()
        }
    });

    let wait_until = match get("wait-until").unwrap_or("complete") {
        "none" => WaitUntil::None,
        "ready" => WaitUntil::Ready,
        "complete" => WaitUntil::Complete,
        other => {
            return Err(Error::input(
                "wait-until",
                format!("`{other}` is not one of none, ready, complete"),
                "use `none` (return after start), `ready` (return when test traffic is served) or `complete` (the default)",
            ));
        }
    };
    let stability = parse_bool(
        "wait-for-service-stability",
        get("wait-for-service-stability").unwrap_or("false"),
    )?;
    if stability && wait_until == WaitUntil::None && raw.contains_key("wait-until") {
        return Err(Error::input(
            "wait-until",
            "`wait-until: none` contradicts `wait-for-service-stability: true`",
            "drop one of the two; `wait-until: complete` is what `wait-for-service-stability: true` means",
        ));
    }

    let wait_minutes = wait_minutes(raw, warnings)?;
    let rollback_on_timeout = parse_bool(
        "rollback-on-timeout",
        get("rollback-on-timeout").unwrap_or("true"),
    )?;

    let render = Render {
        environment: key_values("environment-variables", get("environment-variables"))?,
        secrets: key_values("secrets", get("secrets"))?,
        log_driver: get("log-configuration-log-driver").map(str::to_string),
        log_options: key_values(
            "log-configuration-options",
            get("log-configuration-options"),
        )?,
        docker_labels: key_values("docker-labels", get("docker-labels"))?,
    };
    for (name, from) in &render.secrets {
        if let Some(problem) = crate::stages::task_def::refs::secret_reference_problem(from) {
            return Err(Error::input(
                "secrets",
                format!("the `valueFrom` of `{name}` {problem}"),
                "write one NAME=valueFrom per line; the secret's value itself never goes here",
            ));
        }
    }
    if !render.log_options.is_empty() && render.log_driver.is_none() {
        return Err(Error::input(
            "log-configuration-options",
            "options are given without `log-configuration-log-driver`",
            "set the log driver too, e.g. `awslogs`",
        ));
    }
    let image_definitions = get("image-definitions").map(PathBuf::from);
    if image_definitions.is_some() && (sole_image.is_some() || !images.is_empty()) {
        return Err(Error::input(
            "image-definitions",
            "both `image` and `image-definitions` name the images",
            "use one image source",
        ));
    }
    if !containers_named.is_empty()
        && images.is_empty()
        && render.is_empty()
        && image_definitions.is_none()
    {
        return Err(Error::input(
            "container-name",
            "a container is named but nothing is given to change in it",
            "set `image` (or environment-variables, secrets, docker-labels …), or drop `container-name`",
        ));
    }
    Ok(DeployConfig {
        tags: key_values("tags", get("tags"))?,
        force_new_deployment: parse_bool(
            "force-new-deployment",
            get("force-new-deployment").unwrap_or("false"),
        )?,
        allow_mutable_images: parse_bool(
            "allow-mutable-images",
            get("allow-mutable-images").unwrap_or("false"),
        )?,
        image_definitions,
        containers: containers_named,
        render,
        gate: gate_config(raw)?,
        task_definition: PathBuf::from(task_definition),
        service,
        cluster,
        images,
        sole_image,
        appspec: get("codedeploy-appspec").map(PathBuf::from),
        application,
        deployment_group,
        deployment_config: get("codedeploy-deployment-config").map(str::to_string),
        description,
        wait_until,
        wait_minutes,
        rollback_on_timeout,
        wait_for_stability: stability,
        on_conflict: match get("on-conflict").unwrap_or("fail") {
            "fail" => OnConflict::Fail,
            "wait" => OnConflict::Wait,
            "attach" => OnConflict::Attach,
            other => {
                return Err(Error::input(
                    "on-conflict",
                    format!("`{other}` is not one of fail, wait, attach"),
                    "use `fail` (refuse), `wait` (wait for the deployment in flight to end) or `attach` (follow it when it deploys this image)",
                ));
            }
        },
        desired_count: get("desired-count")
            .map(|v| {
                v.parse::<i32>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                    Error::input(
                        "desired-count",
                        format!("`{v}` is not a whole number of tasks"),
                        "give a number like `2`, or leave it out to keep the service's count",
                    )
                })
            })
            .transpose()?,
        propagate_tags: get("propagate-tags")
            .map(|v| match v {
                "SERVICE" | "TASK_DEFINITION" | "NONE" => Ok(v.to_string()),
                other => Err(Error::input(
                    "propagate-tags",
                    format!("`{other}` is not one of SERVICE, TASK_DEFINITION, NONE"),
                    "use the exact upper-case value ECS expects",
                )),
            })
            .transpose()?,
        enable_ecs_managed_tags: get("enable-ecs-managed-tags")
            .map(|v| parse_bool("enable-ecs-managed-tags", v))
            .transpose()?,
    })
}

/// The inputs that name a file greenlight reads or writes.
const PATH_INPUTS: &[&str] = &[
    "task-definition",
    "codedeploy-appspec",
    "config",
    "scan-ignore-file",
    "image-definitions",
    "sarif-file",
];

/// On a runner, every file input must stay inside the workspace: not absolute elsewhere, not
/// escaping with `..`, not through a symlink pointing out.
fn check_paths_in(raw: &BTreeMap<String, String>, workspace: &std::path::Path) -> Result<()> {
    let root = normalize(&std::fs::canonicalize(workspace).unwrap_or_else(|_| workspace.into()));
    let cwd = std::env::current_dir()
        .and_then(std::fs::canonicalize)
        .unwrap_or_else(|_| root.clone());
    for name in PATH_INPUTS {
        let Some(value) = raw.get(*name) else {
            continue;
        };
        // A registered task definition (ARN or family:revision) is not a file.
        if *name == "task-definition"
            && crate::stages::task_def::refs::registered_reference(std::path::Path::new(value))
                .is_some()
        {
            continue;
        }
        let joined = normalize(&cwd.join(value));
        let real = std::fs::canonicalize(&joined).map_or(joined, |p| normalize(&p));
        if !real.starts_with(&root) {
            return Err(Error::input(
                name,
                format!(
                    "`{value}` is outside the workspace {}; in a workflow greenlight reads and writes only files of the checked-out repository",
                    root.display()
                ),
                "give a path inside the workspace, relative to it (e.g. `deploy/taskdef.json`)",
            ));
        }
    }
    Ok(())
}

/// `a/./b/../c` as `a/c`, without touching the file system.
fn normalize(path: &std::path::Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
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

fn required(
    raw: &BTreeMap<String, String>,
    name: &str,
    what: &str,
    command: &str,
) -> Result<String> {
    raw.get(name).cloned().ok_or_else(|| {
        Error::input(
            name,
            format!("is required for `{command}`"),
            format!("set `{name}` to {what}"),
        )
    })
}

fn check_name(input_name: &str, value: &str) -> Result<()> {
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

fn unknown_input(name: &str) -> Error {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![("task-definition", "taskdef.json"), ("service", "web")]
    }

    fn fleet_from(yaml: &str, extra: &[(&str, &str)]) -> Result<Fleet> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("services.yml");
        std::fs::write(&path, yaml).unwrap();
        let mut pairs = vec![("config", path.to_str().unwrap())];
        pairs.extend_from_slice(extra);
        match Config::from_inputs(&inputs(&pairs))?.job {
            Job::Fleet(f) => Ok(f),
            other => panic!("not a fleet: {other:?}"),
        }
    }

    #[test]
    fn a_config_file_lists_services_that_override_the_step_inputs() {
        let f = fleet_from(
            "services:\n  - service: web\n    task-definition: web.json\n  - service: api\n    cluster: other\n    task-definition: api.json\n    wait-for-minutes: 5\n    container-name: [api, proxy]\n    image: [a:1, b:2]\n",
            &[("cluster", "prod"), ("all-or-nothing", "true")],
        )
        .unwrap();
        assert!(f.all_or_nothing && !f.plan);
        let names: Vec<(&str, &str)> = f
            .services
            .iter()
            .map(|d| (d.cluster.as_str(), d.service.as_str()))
            .collect();
        assert_eq!(names, vec![("prod", "web"), ("other", "api")]);
        assert_eq!(f.services[1].wait_minutes, 5);
        assert_eq!(f.services[0].wait_minutes, 30);
        assert_eq!(f.services[1].deployment_group, "DgpECS-other-api");
        assert_eq!(
            f.services[1].images,
            vec![("api".into(), "a:1".into()), ("proxy".into(), "b:2".into())]
        );
    }

    #[test]
    fn config_entries_are_checked_with_their_place_in_the_file() {
        let typo = fleet_from(
            "services:\n  - service: web\n    task-defintion: web.json\n",
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(typo.contains("services[0].task-defintion"), "{typo}");
        assert!(typo.contains("did you mean `task-definition`?"), "{typo}");
        let run_only = fleet_from(
            "services:\n  - service: web\n    task-definition: a.json\n    command: plan\n",
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(run_only.contains("services[0].command"), "{run_only}");
        let missing = fleet_from("services:\n  - service: web\n", &[])
            .unwrap_err()
            .to_string();
        assert!(missing.contains("services[0].task-definition"), "{missing}");
        let twice = fleet_from(
            "services:\n  - {service: web, task-definition: a.json}\n  - {service: web, task-definition: b.json}\n",
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(twice.contains("lists default/web a second time"), "{twice}");
        let empty = fleet_from("services: []\n", &[]).unwrap_err();
        assert_eq!(empty.exit_code(), 2);
    }

    #[test]
    fn defaults_follow_the_aws_action() {
        let c = Config::from_inputs(&inputs(&base()))
            .unwrap()
            .job
            .deploy()
            .cloned()
            .unwrap();
        assert_eq!(c.cluster, "default");
        assert_eq!(c.application, "AppECS-default-web");
        assert_eq!(c.deployment_group, "DgpECS-default-web");
        assert_eq!(c.wait_minutes, 30);
        assert_eq!(c.wait_until, WaitUntil::Complete);
        assert!(c.rollback_on_timeout);
    }

    #[test]
    fn unknown_input_suggests_the_right_one() {
        let mut i = base();
        i.push(("wait_until", "ready"));
        let e = Config::from_inputs(&inputs(&i)).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("did you mean `wait-until`?"), "{e}");
        let mut i = base();
        i.push(("taskdefinition", "x"));
        let e = Config::from_inputs(&inputs(&i)).unwrap_err();
        assert!(
            e.to_string().contains("did you mean `task-definition`?"),
            "{e}"
        );
    }

    #[test]
    fn missing_required_input() {
        let e = Config::from_inputs(&inputs(&[("service", "web")])).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("input `task-definition`: is required"),
            "{e}"
        );
    }

    #[test]
    fn contradictory_waits() {
        let mut i = base();
        i.push(("wait-until", "none"));
        i.push(("wait-for-service-stability", "true"));
        let e = Config::from_inputs(&inputs(&i)).unwrap_err();
        assert!(e.to_string().contains("contradicts"), "{e}");
    }

    #[test]
    fn bad_values_are_named() {
        for (k, v, needle) in [
            ("wait-until", "soon", "not one of none, ready, complete"),
            ("wait-for-minutes", "ten", "not a whole number"),
            ("wait-for-minutes", "0", "leaves no time"),
            ("rollback-on-timeout", "yes", "not a boolean"),
            ("command", "launch", "not a command"),
            ("service", "web app", "not a valid ECS service name"),
            ("container-name", "web", "no `image`"),
        ] {
            let mut i = base();
            i.retain(|(name, _)| *name != k);
            i.push((k, v));
            let e = Config::from_inputs(&inputs(&i)).unwrap_err();
            assert!(e.to_string().contains(needle), "{k}={v}: {e}");
            assert!(e.to_string().starts_with(&format!("input `{k}`")), "{e}");
        }
    }

    #[test]
    fn images_pair_with_containers() {
        let mut i = base();
        i.push(("container-name", "web, sidecar"));
        i.push(("image", "repo/web:1,repo/side:2"));
        let c = deploy_of(&i);
        assert_eq!(
            c.images,
            vec![
                ("web".into(), "repo/web:1".into()),
                ("sidecar".into(), "repo/side:2".into())
            ]
        );
        let mut i = base();
        i.push(("container-name", "web,sidecar"));
        i.push(("image", "repo/web:1"));
        assert!(Config::from_inputs(&inputs(&i)).is_err());
    }

    #[test]
    fn long_wait_is_capped_with_a_warning() {
        let mut i = base();
        i.push(("wait-for-minutes", "1000"));
        let c = Config::from_inputs(&inputs(&i)).unwrap();
        assert_eq!(c.warnings.len(), 1);
        assert_eq!(deploy_of(&i).wait_minutes, MAX_WAIT_MINUTES);
    }

    #[test]
    fn long_description_is_cut_to_512() {
        let long = "x".repeat(600);
        let mut i = base();
        i.push(("codedeploy-deployment-description", long.as_str()));
        assert_eq!(deploy_of(&i).description.map(|d| d.len()), Some(512));
    }

    fn deploy_of(i: &[(&str, &str)]) -> DeployConfig {
        Config::from_inputs(&inputs(i))
            .unwrap()
            .job
            .deploy()
            .cloned()
            .unwrap()
    }

    #[test]
    fn gate_defaults_fail_closed() {
        let g = deploy_of(&base()).gate;
        assert!(g.enabled);
        assert_eq!(
            g.policy.thresholds,
            crate::stages::scan_gate::policy::Thresholds::parse("CRITICAL=0,HIGH=0").unwrap()
        );
        assert_eq!(g.on_missing, OnMissingScan::Start);
        assert_eq!(g.mutable_tags, vec!["latest".to_string()]);
    }

    #[test]
    fn gate_input_errors() {
        for (k, v, needle) in [
            ("severity-thresholds", "CRIT=0", "not a severity"),
            ("scan-on-missing", "ignore", "not one of start, fail"),
            ("scan-wait-minutes", "soon", "not a whole number"),
            ("scan-gate", "maybe", "not a boolean"),
        ] {
            let mut i = base();
            i.push((k, v));
            let e = Config::from_inputs(&inputs(&i)).unwrap_err().to_string();
            assert!(
                e.contains(needle) && e.starts_with(&format!("input `{k}`")),
                "{k}: {e}"
            );
        }
        let mut i = base();
        i.push(("scan-ignore-file", "does-not-exist.yml"));
        let e = Config::from_inputs(&inputs(&i)).unwrap_err().to_string();
        assert!(
            e.starts_with("does-not-exist.yml: cannot read the scan ignore file"),
            "{e}"
        );
    }

    #[test]
    fn tag_needs_only_a_repository() {
        let c = Config::from_inputs(&inputs(&[("command", "tag"), ("image", "web")])).unwrap();
        assert_eq!(
            c.job,
            Job::Tag(TagConfig {
                image: "web".into(),
                template: "{date}-{sha7}".into()
            })
        );
        let e =
            Config::from_inputs(&inputs(&[("command", "tag"), ("image", "web:1")])).unwrap_err();
        assert!(e.to_string().contains("already has a tag"), "{e}");
        let e = Config::from_inputs(&inputs(&[("command", "tag")])).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("input `image`: is required for `tag`"),
            "{e}"
        );
    }
}
