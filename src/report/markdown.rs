//! The whole run as one markdown document: the step summary now, the sticky PR comment later.
//! It is re-rendered from the accumulated state, never appended to, so it always reads as the
//! current truth.

use super::{Event, bar, duration};
use crate::event::TaskReport;

/// The last lines of a one-off task's log the report keeps.
pub const TASK_LOG_LINES: usize = 20;

/// One lifecycle event as the report shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LifecycleRow {
    pub name: String,
    pub status: String,
    /// When the run saw it start and end, in seconds into the run.
    pub started: Option<f64>,
    pub ended: Option<f64>,
    /// What it took by AWS's own start and end times.
    pub took: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunState {
    pub command: String,
    pub cluster: String,
    pub service: String,
    pub image: Option<String>,
    pub digest: Option<String>,
    pub gate: Option<(bool, String, String)>,
    pub live_task_definition: Option<String>,
    pub diff: Option<String>,
    pub registered: Option<String>,
    pub deployment: Option<(String, String, String)>,
    /// Lifecycle events in order.
    pub lifecycle: Vec<LifecycleRow>,
    pub traffic: Option<(f64, f64)>,
    /// Running and desired tasks of the new revision (ECS deployments).
    pub tasks: Option<(i32, i32)>,
    pub status: Option<String>,
    pub failure: Option<String>,
    pub stop: Option<String>,
    pub rollback: Option<String>,
    pub planned: Option<String>,
    pub error: Option<String>,
    pub service_state: Vec<(String, String)>,
    /// One-off tasks (`run-task`, `run`), as last seen.
    pub one_off: Vec<TaskReport>,
    /// Why it failed: the new revision's stopped tasks, and failed containers' last lines
    /// (task, container, lines, console link).
    pub diagnosis: Vec<TaskReport>,
    /// The CloudWatch alarms watching the deployment, as last read.
    pub alarms: Vec<crate::event::AlarmState>,
    /// Targets that were not healthy: (target group, target, state, reason, description).
    pub target_health: Vec<(String, String, String, String, String)>,
    pub diagnosis_logs: Vec<(String, String, Vec<String>, String)>,
    /// The last lines of their logs: (container, line).
    pub task_log: std::collections::VecDeque<(String, String)>,
    /// The workflow run, linked from the footer.
    pub run_url: Option<String>,
    /// How the command ended: the `deployment-status` it reported and its exit code.
    pub end: Option<(String, u8)>,
    pub elapsed: f64,
}

/// Where a run stands, in the terms of a GitHub commit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pending,
    Success,
    Failure,
    Error,
}

impl Outcome {
    pub fn commit_state(self) -> &'static str {
        match self {
            Outcome::Pending => "pending",
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Error => "error",
        }
    }
}

/// The hidden first line the sticky comment is found by.
pub fn marker(key: &str) -> String {
    format!("<!-- greenlight:{key} -->")
}

impl RunState {
    /// Folds one event in; `at` is seconds since the run started.
    pub fn apply(&mut self, event: &Event, at: f64) {
        self.elapsed = at;
        match event {
            Event::Target {
                command,
                cluster,
                service,
            } => {
                self.command = command.clone();
                self.cluster = cluster.clone();
                self.service = service.clone();
            }
            Event::ImageResolved { image, digest } => {
                self.image = Some(image.clone());
                self.digest = Some(digest.clone());
            }
            Event::GateVerdict {
                passed,
                summary,
                table,
            } => {
                self.gate = Some((*passed, summary.clone(), table.clone()));
            }
            Event::TaskDefinitionDiff { live, diff } => {
                self.live_task_definition = Some(live.clone());
                self.diff = Some(diff.clone());
            }
            Event::TaskDefinitionRegistered { arn } => self.registered = Some(arn.clone()),
            Event::DeploymentCreated {
                id,
                config,
                console_url,
            } => {
                self.deployment = Some((id.clone(), config.clone(), console_url.clone()));
            }
            Event::Status { status } => self.status = Some(status.clone()),
            Event::Lifecycle { name, status, took } => {
                let done = matches!(status.as_str(), "Succeeded" | "Failed" | "Skipped");
                match self.lifecycle.iter_mut().find(|r| &r.name == name) {
                    Some(row) => {
                        row.status = status.clone();
                        if status == "InProgress" && row.started.is_none() {
                            row.started = Some(at);
                        }
                        if done {
                            row.ended = Some(at);
                        }
                        row.took = took.or(row.took);
                    }
                    None => self.lifecycle.push(LifecycleRow {
                        name: name.clone(),
                        status: status.clone(),
                        started: (status == "InProgress").then_some(at),
                        ended: done.then_some(at),
                        took: *took,
                    }),
                }
            }
            Event::Traffic { green, blue } => self.traffic = Some((*green, *blue)),
            Event::Tasks {
                running, desired, ..
            } => self.tasks = Some((*running, *desired)),
            Event::Failed { reason } => self.failure = Some(reason.clone()),
            Event::StopRequested { reason } => self.stop = Some(reason.clone()),
            Event::RolledBack { message } => self.rollback = Some(message.clone()),
            Event::Planned { what } => self.planned = Some(what.clone()),
            Event::RunFailed { message } => self.error = Some(message.clone()),
            Event::ServiceState { rows } => self.service_state = rows.clone(),
            Event::Ended { status, exit_code } => self.end = Some((status.clone(), *exit_code)),
            Event::OneOffTask(t) => match self.one_off.iter_mut().find(|o| o.arn == t.arn) {
                Some(o) => *o = t.clone(),
                None => self.one_off.push(t.clone()),
            },
            Event::Diagnosis(t) => self.diagnosis.push(t.clone()),
            Event::Alarms(a) => self.alarms = a.clone(),
            Event::TargetHealth {
                target_group,
                targets,
            } => self
                .target_health
                .extend(targets.iter().map(|(t, s, r, d)| {
                    (
                        target_group.clone(),
                        t.clone(),
                        s.clone(),
                        r.clone(),
                        d.clone(),
                    )
                })),
            Event::DiagnosisLog {
                task,
                container,
                lines,
                url,
            } => self.diagnosis_logs.push((
                task.clone(),
                container.clone(),
                lines.clone(),
                url.clone(),
            )),
            Event::TaskLog {
                container, line, ..
            } => {
                if self.task_log.len() == TASK_LOG_LINES {
                    self.task_log.pop_front();
                }
                self.task_log.push_back((container.clone(), line.clone()));
            }
            Event::Info(_)
            | Event::Warning(_)
            | Event::FileWarning { .. }
            | Event::Scoped { .. } => {}
        }
    }

    /// The run's verdict so far (`Pending` until it has ended).
    pub fn outcome(&self) -> Outcome {
        if self.gate.as_ref().is_some_and(|g| !g.0) {
            return Outcome::Failure;
        }
        if self.error.is_some() {
            return Outcome::Error;
        }
        match &self.end {
            Some((_, 0)) => Outcome::Success,
            Some(_) => Outcome::Failure,
            None => Outcome::Pending,
        }
    }

    /// One plain line for a commit status or deployment status.
    pub fn description(&self) -> String {
        let head = self.headline();
        let plain = head
            .split(" · ")
            .skip(2)
            .collect::<Vec<_>>()
            .join(" · ")
            .replace('`', "");
        let why = self
            .failure
            .as_deref()
            .or(self.error.as_deref())
            .or(self.stop.as_deref())
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        let line = format!("{plain}{why}");
        if line.chars().count() > 140 {
            format!("{}…", line.chars().take(139).collect::<String>())
        } else {
            line
        }
    }

    /// `cluster/service`.
    pub fn key(&self) -> String {
        if self.service.is_empty() {
            return self.cluster.clone();
        }
        format!("{}/{}", self.cluster, self.service)
    }

    fn headline(&self) -> String {
        let target = if self.service.is_empty() {
            format!("`{}`", self.cluster)
        } else {
            format!("`{}/{}`", self.cluster, self.service)
        };
        if self.error.is_some() {
            let gated = self.gate.as_ref().is_some_and(|g| !g.0);
            let what = if gated {
                "blocked by the scan gate"
            } else {
                "stopped before deploying"
            };
            return format!("⛔ greenlight · {target} · {what}");
        }
        if self.planned.is_some() {
            return format!("✅ greenlight plan · {target} · ready to deploy");
        }
        if self.command == "status" {
            let busy = self.end.as_ref().is_some_and(|(s, _)| !s.is_empty());
            let what = if busy {
                "a deployment is in flight"
            } else {
                "idle"
            };
            return format!("ℹ️ greenlight status · {target} · {what}");
        }
        let status = self
            .end
            .as_ref()
            .map(|(s, _)| s.as_str())
            .or(self.status.as_deref());
        match status {
            Some("Succeeded") => format!("✅ greenlight · {target} · deployed"),
            Some("TrafficShifted") => format!(
                "✅ greenlight · {target} · deployed, original tasks kept for the termination wait"
            ),
            Some("Failed") => format!("❌ greenlight · {target} · deployment failed"),
            Some("Stopped") => format!("⏹️ greenlight · {target} · deployment stopped"),
            Some("Ready") => format!("⏸️ greenlight · {target} · ready, waiting for promotion"),
            Some("Registered") => format!("✅ greenlight · {target} · task definition registered"),
            Some("TaskStarted") => format!("✅ greenlight · {target} · one-off task started"),
            Some("TaskSucceeded") => format!("✅ greenlight · {target} · one-off task succeeded"),
            Some("TaskFailed") if !self.service.is_empty() => {
                format!("❌ greenlight · {target} · one-off task failed, nothing deployed")
            }
            Some("TaskFailed") => format!("❌ greenlight · {target} · one-off task failed"),
            Some("TaskStopped") => format!("⏹️ greenlight · {target} · one-off task stopped"),
            Some(_) if self.traffic.is_some_and(|t| t.0 > 0.0) => {
                format!("🚦 greenlight · {target} · shifting traffic")
            }
            Some(_) => format!("🚦 greenlight · {target} · deployment in progress"),
            None => format!(
                "🚦 greenlight · {target} · {}",
                if self.command.is_empty() {
                    "checking"
                } else {
                    &self.command
                }
            ),
        }
    }
}

fn short_digest(d: &str) -> String {
    let hex = d.strip_prefix("sha256:").unwrap_or(d);
    if hex.len() > 12 {
        format!("sha256:{}…{}", &hex[..4], &hex[hex.len() - 4..])
    } else {
        d.to_string()
    }
}

/// The document, starting with the hidden marker the sticky comment is found by.
pub fn render(state: &RunState) -> String {
    let mut out = format!(
        "{}\n### {}\n\n| | |\n|---|---|\n",
        marker(&state.key()),
        state.headline()
    );
    if let Some(image) = &state.image {
        let digest = state
            .digest
            .as_deref()
            .map(|d| format!(" → `{}`", short_digest(d)))
            .unwrap_or_default();
        out.push_str(&format!("| **Image** | `{image}`{digest} |\n"));
    }
    if let Some((passed, summary, _)) = &state.gate {
        let icon = if *passed { "✅" } else { "⛔" };
        out.push_str(&format!("| **Scan gate** | {icon} {summary} |\n"));
    }
    if let Some(live) = &state.live_task_definition {
        let to = state
            .registered
            .as_deref()
            .map(|a| a.rsplit('/').next().unwrap_or(a).to_string())
            .unwrap_or_else(|| "new revision".into());
        let changed = if state.diff.as_deref().is_some_and(|d| !d.is_empty()) {
            "[diff](#diff)"
        } else {
            "no change"
        };
        out.push_str(&format!(
            "| **Task definition** | `{live}` → `{to}` · {changed} |\n"
        ));
    }
    if let Some((id, config, url)) = &state.deployment {
        out.push_str(&format!(
            "| **Deployment** | [`{id}`]({url}) · `{config}` |\n"
        ));
    }
    for (label, value) in &state.service_state {
        out.push_str(&format!("| **{label}** | {value} |\n"));
    }
    if !state.alarms.is_empty() {
        let shown: Vec<String> = state
            .alarms
            .iter()
            .map(|a| {
                let icon = match a.state.as_str() {
                    "OK" => "✅",
                    "ALARM" => "🔔",
                    _ => "·",
                };
                format!("`{}` {icon} {}", a.name, a.state)
            })
            .collect();
        out.push_str(&format!("| **Alarms** | {} |\n", shown.join(" · ")));
    }
    for t in &state.one_off {
        let why = t
            .stopped_reason
            .as_deref()
            .map(|r| format!(" · {r}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "| **One-off task** | [`{}`]({}) · {}{why} |\n",
            t.id(),
            t.console_url,
            t.status
        ));
    }
    if let Some(what) = &state.planned {
        out.push_str(&format!("| **Plan** | {what}. Nothing was changed. |\n"));
    }
    if let Some((green, blue)) = state.traffic {
        out.push_str(&format!(
            "\n**Traffic** &nbsp; green {} {green:.0}% · blue {blue:.0}%\n",
            bar(green, 20)
        ));
    }
    if let Some((running, desired)) = state.tasks {
        out.push_str(&format!(
            "\n**Tasks** &nbsp; {running}/{desired} of the new revision running\n"
        ));
    }
    if !state.lifecycle.is_empty() {
        out.push_str("\n| lifecycle event | status | time |\n|---|---|---|\n");
        for LifecycleRow {
            name,
            status,
            started,
            ended,
            took,
        } in &state.lifecycle
        {
            let icon = match status.as_str() {
                "Succeeded" => "✅",
                "Failed" => "❌",
                "InProgress" => "⏳",
                "Skipped" => "⏭️",
                _ => "·",
            };
            let time = match (took, started, ended) {
                (Some(t), ..) => duration(*t),
                (None, Some(s), Some(e)) => duration(e - s),
                (None, Some(s), None) => duration(state.elapsed - s),
                _ => String::new(),
            };
            out.push_str(&format!("| {name} | {icon} | {time} |\n"));
        }
    }
    for (label, text) in [
        ("Failed", &state.failure),
        ("Stopped", &state.stop),
        ("Rolled back", &state.rollback),
        ("Error", &state.error),
    ] {
        if let Some(t) = text {
            out.push_str(&format!("\n**{label}:** {t}\n"));
        }
    }
    let ends: Vec<_> = state
        .one_off
        .iter()
        .flat_map(|t| t.containers.iter())
        .collect();
    if !ends.is_empty() {
        out.push_str("\n| container | exit code | reason |\n|---|---|---|\n");
        for c in ends {
            let icon = if c.failed() { "❌" } else { "✅" };
            let code = c
                .exit_code
                .map_or_else(|| "none".to_string(), |c| c.to_string());
            let essential = if c.essential { "" } else { " (not essential)" };
            out.push_str(&format!(
                "| `{}`{essential} | {icon} {code} | {} |\n",
                c.name,
                c.reason.as_deref().unwrap_or("")
            ));
        }
    }
    if !state.task_log.is_empty() {
        let open = if state
            .one_off
            .iter()
            .any(|t| t.containers.iter().any(|c| c.failed()))
        {
            " open"
        } else {
            ""
        };
        let lines: String = state
            .task_log
            .iter()
            // A fence in a log line must not end the block early.
            .map(|(c, l)| format!("{c} | {}\n", l.replace("```", "ʼʼʼ")))
            .collect();
        out.push_str(&format!(
            "\n<details{open}><summary>One-off task: last log lines</summary>\n\n```text\n{lines}```\n</details>\n"
        ));
    }
    let fired: Vec<_> = state.alarms.iter().filter(|a| a.state == "ALARM").collect();
    let failed = state.end.as_ref().is_some_and(|(_, code)| *code != 0);
    if !state.diagnosis.is_empty() || (failed && !fired.is_empty()) {
        out.push_str("\n#### Why it failed\n");
        for a in &fired {
            out.push_str(&format!(
                "\n🔔 CloudWatch alarm `{}` is in ALARM: {}\n",
                a.name,
                a.reason.as_deref().unwrap_or("no reason given")
            ));
        }
    }
    if !state.diagnosis.is_empty() {
        out.push_str(
            "\n| task | stopped | container | exit code | reason |\n|---|---|---|---|---|\n",
        );
        for t in &state.diagnosis {
            let stopped = match (&t.stopped_reason, &t.stop_code) {
                (Some(r), Some(c)) => format!("{r} (`{c}`)"),
                (Some(r), None) => r.clone(),
                (None, Some(c)) => format!("`{c}`"),
                (None, None) => String::new(),
            };
            for c in &t.containers {
                let icon = if c.failed() { "❌" } else { "·" };
                let code = c
                    .exit_code
                    .map_or_else(|| "none".to_string(), |c| c.to_string());
                out.push_str(&format!(
                    "| [`{}`]({}) | {} | `{}` | {icon} {code} | {} |\n",
                    t.id(),
                    t.console_url,
                    stopped.replace('|', "\\|"),
                    c.name,
                    c.reason.as_deref().unwrap_or("").replace('|', "\\|")
                ));
            }
        }
        if !state.target_health.is_empty() {
            out.push_str("\n| target group | target | state | reason |\n|---|---|---|---|\n");
            for (group, target, st, reason, description) in &state.target_health {
                let why = [reason.as_str(), description.as_str()]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(": ");
                out.push_str(&format!(
                    "| `{group}` | `{target}` | {st} | {} |\n",
                    why.replace('|', "\\|")
                ));
            }
        }
        for (task, container, lines, url) in &state.diagnosis_logs {
            let text: String = lines
                .iter()
                .map(|l| format!("{}\n", l.replace("```", "ʼʼʼ")))
                .collect();
            out.push_str(&format!(
                "\n<details open><summary>The last {} lines of <code>{container}</code> in task <code>{task}</code></summary>\n\n```text\n{text}```\n\n[The whole stream in CloudWatch Logs]({url})\n</details>\n",
                lines.len()
            ));
        }
    }
    if let Some((false, _, table)) = &state.gate {
        out.push_str(&format!(
            "\n<details open><summary>Findings</summary>\n\n{table}\n</details>\n"
        ));
    }
    if let Some(diff) = state.diff.as_deref().filter(|d| !d.is_empty()) {
        out.push_str(&format!("\n<details><summary id=\"diff\">Task definition diff</summary>\n\n```diff\n{diff}```\n</details>\n"));
    }
    let run = state
        .run_url
        .as_deref()
        .map(|u| format!(" · [workflow run]({u})"))
        .unwrap_or_default();
    out.push_str(&format!(
        "\n<sub>{} elapsed{run}</sub>\n",
        duration(state.elapsed)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_seen_only_at_its_end_shows_what_aws_says_it_took() {
        let mut state = RunState::default();
        state.apply(
            &Event::Lifecycle {
                name: "Install".into(),
                status: "Succeeded".into(),
                took: Some(75.0),
            },
            3.0,
        );
        state.apply(
            &Event::Lifecycle {
                name: "AfterInstall".into(),
                status: "Succeeded".into(),
                took: None,
            },
            3.0,
        );
        let doc = render(&state);
        assert!(doc.contains("| Install | ✅ | 1m 15s |"), "{doc}");
        assert!(doc.contains("| AfterInstall | ✅ |  |"), "{doc}");
    }

    fn base() -> Vec<(f64, Event)> {
        vec![
            (
                0.0,
                Event::Target {
                    command: "deploy".into(),
                    cluster: "prod".into(),
                    service: "web".into(),
                },
            ),
            (
                0.4,
                Event::ImageResolved {
                    image:
                        "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:20261123120000-abc1234"
                            .into(),
                    digest:
                        "sha256:3f1e5c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d9b2c"
                            .into(),
                },
            ),
        ]
    }

    fn passed() -> Vec<(f64, Event)> {
        let mut v = base();
        v.push((
            1.0,
            Event::GateVerdict {
                passed: true,
                summary: "passed · 0 critical · 0 high · 4 medium · 11 low · 2 ignored".into(),
                table: String::new(),
            },
        ));
        v.push((
            1.2,
            Event::TaskDefinitionDiff {
                live: "web:42".into(),
                diff: " container web\n-  env APP_VERSION = 1.41.0\n+  env APP_VERSION = 1.42.0\n"
                    .into(),
            },
        ));
        v.push((
            1.5,
            Event::TaskDefinitionRegistered {
                arn: "arn:aws:ecs:us-east-1:123456789012:task-definition/web:43".into(),
            },
        ));
        v.push((1.6, Event::DeploymentCreated {
            id: "d-7XK2M1QZB".into(),
            config: "CodeDeployDefault.ECSCanary10Percent5Minutes".into(),
            console_url: "https://us-east-1.console.aws.amazon.com/codesuite/codedeploy/deployments/d-7XK2M1QZB?region=us-east-1".into(),
        }));
        v.push((
            2.0,
            Event::Status {
                status: "InProgress".into(),
            },
        ));
        for (t, name) in [
            (2.0, "BeforeInstall"),
            (6.0, "Install"),
            (66.0, "AfterInstall"),
            (68.0, "AllowTestTraffic"),
            (71.0, "AfterAllowTestTraffic"),
            (92.0, "BeforeAllowTraffic"),
        ] {
            v.push((
                t,
                Event::Lifecycle {
                    name: name.into(),
                    status: "InProgress".into(),
                    took: None,
                },
            ));
            v.push((
                t + if name == "Install" { 60.0 } else { 2.0 },
                Event::Lifecycle {
                    name: name.into(),
                    status: "Succeeded".into(),
                    took: None,
                },
            ));
        }
        v
    }

    fn canary_10() -> Vec<(f64, Event)> {
        let mut v = passed();
        v.push((
            95.0,
            Event::Lifecycle {
                name: "AllowTraffic".into(),
                status: "InProgress".into(),
                took: None,
            },
        ));
        v.push((
            95.0,
            Event::Traffic {
                green: 10.0,
                blue: 90.0,
            },
        ));
        v.push((203.0, Event::Info("waiting".into())));
        v
    }

    fn state(events: &[(f64, Event)]) -> RunState {
        let mut s = RunState::default();
        for (at, e) in events {
            s.apply(e, *at);
        }
        s
    }

    #[test]
    fn gated_out() {
        let mut v = base();
        v.push((1.0, Event::GateVerdict {
            passed: false,
            summary: "blocked by 2 findings above threshold · 1 critical · 1 high · 0 medium · 0 low".into(),
            table: "| | severity | id |\n|---|---|---|\n| 🟥 | CRITICAL | CVE-2026-10001 |\n| 🟧 | HIGH | CVE-2026-10002 |\n".into(),
        }));
        v.push((
            1.0,
            Event::RunFailed {
                message: "scan gate: blocked by 2 findings above threshold".into(),
            },
        ));
        insta::assert_snapshot!(render(&state(&v)));
    }

    #[test]
    fn canary_in_progress_at_10_percent() {
        insta::assert_snapshot!(render(&state(&canary_10())));
    }

    #[test]
    fn ready_waiting_for_promotion() {
        let mut v = passed();
        v.push((
            93.0,
            Event::Status {
                status: "Ready".into(),
            },
        ));
        insta::assert_snapshot!(render(&state(&v)));
    }

    #[test]
    fn succeeded() {
        let mut v = canary_10();
        v.push((
            395.0,
            Event::Traffic {
                green: 100.0,
                blue: 0.0,
            },
        ));
        v.push((
            395.0,
            Event::Lifecycle {
                name: "AllowTraffic".into(),
                status: "Succeeded".into(),
                took: None,
            },
        ));
        v.push((
            396.0,
            Event::Lifecycle {
                name: "AfterAllowTraffic".into(),
                status: "InProgress".into(),
                took: None,
            },
        ));
        v.push((
            398.0,
            Event::Lifecycle {
                name: "AfterAllowTraffic".into(),
                status: "Succeeded".into(),
                took: None,
            },
        ));
        v.push((
            398.0,
            Event::Status {
                status: "Succeeded".into(),
            },
        ));
        insta::assert_snapshot!(render(&state(&v)));
    }

    #[test]
    fn failed_at_a_hook() {
        let mut v = base();
        v.push((
            1.0,
            Event::DeploymentCreated {
                id: "d-FAIL00001".into(),
                config: "CodeDeployDefault.ECSAllAtOnce".into(),
                console_url: "https://console.example/d-FAIL00001".into(),
            },
        ));
        v.push((
            70.0,
            Event::Lifecycle {
                name: "AfterAllowTestTraffic".into(),
                status: "InProgress".into(),
                took: None,
            },
        ));
        v.push((
            91.0,
            Event::Lifecycle {
                name: "AfterAllowTestTraffic".into(),
                status: "Failed".into(),
                took: None,
            },
        ));
        v.push((
            91.0,
            Event::Status {
                status: "Failed".into(),
            },
        ));
        v.push((
            91.0,
            Event::Failed {
                reason: "AfterAllowTestTraffic: smoke-test returned Failed: GET /health 503".into(),
            },
        ));
        v.push((
            92.0,
            Event::RolledBack {
                message: "rolled back to web:42".into(),
            },
        ));
        insta::assert_snapshot!(render(&state(&v)));
    }

    #[test]
    fn why_it_failed() {
        use crate::event::{AlarmState, ContainerEnd, TaskReport};
        let mut v = base();
        v.push((
            1.0,
            Event::Alarms(vec![AlarmState {
                name: "web-5xx".into(),
                state: "OK".into(),
                reason: None,
            }]),
        ));
        v.push((
            1.0,
            Event::DeploymentCreated {
                id: "ecs-svc/123".into(),
                config: "ECS rolling update".into(),
                console_url: "https://console.example/ecs-svc".into(),
            },
        ));
        v.push((
            40.0,
            Event::Failed {
                reason: "CloudWatch alarm(s) web-5xx in ALARM state.".into(),
            },
        ));
        v.push((
            41.0,
            Event::RolledBack {
                message: "the service runs web:42 again".into(),
            },
        ));
        v.push((
            41.0,
            Event::Ended {
                status: "Failed".into(),
                exit_code: 1,
            },
        ));
        v.push((
            42.0,
            Event::Diagnosis(TaskReport {
                arn: "arn:aws:ecs:us-east-1:123456789012:task/prod/4830eaca".into(),
                revision: Some("web:43".into()),
                status: "STOPPED".into(),
                stopped_reason: Some("Essential container in task exited".into()),
                stop_code: Some("EssentialContainerExited".into()),
                containers: vec![
                    ContainerEnd {
                        name: "web".into(),
                        essential: true,
                        exit_code: Some(137),
                        reason: Some(
                            "OutOfMemoryError: Container killed due to memory usage".into(),
                        ),
                    },
                    ContainerEnd {
                        name: "envoy".into(),
                        essential: false,
                        exit_code: Some(0),
                        reason: None,
                    },
                ],
                console_url: "https://console.example/task/4830eaca".into(),
            }),
        ));
        v.push((
            42.0,
            Event::DiagnosisLog {
                task: "4830eaca".into(),
                container: "web".into(),
                lines: vec!["Allocating cache...".into(), "Killed | ```".into()],
                url: "https://console.example/logs".into(),
            },
        ));
        v.push((
            42.0,
            Event::Alarms(vec![AlarmState {
                name: "web-5xx".into(),
                state: "ALARM".into(),
                reason: Some("Threshold Crossed: 1 datapoint [7.0] was >= 1.0".into()),
            }]),
        ));
        insta::assert_snapshot!(render(&state(&v)));
    }

    #[test]
    fn rolled_back_after_timeout() {
        let mut v = base();
        v.push((
            1.0,
            Event::DeploymentCreated {
                id: "d-SLOW00001".into(),
                config: "CodeDeployDefault.ECSAllAtOnce".into(),
                console_url: "https://console.example/d-SLOW00001".into(),
            },
        ));
        v.push((
            2.0,
            Event::Lifecycle {
                name: "Install".into(),
                status: "InProgress".into(),
                took: None,
            },
        ));
        v.push((
            1800.0,
            Event::StopRequested {
                reason: "no end state after 30 minutes; rolling back".into(),
            },
        ));
        v.push((
            1802.0,
            Event::Lifecycle {
                name: "Install".into(),
                status: "Failed".into(),
                took: None,
            },
        ));
        v.push((
            1802.0,
            Event::Status {
                status: "Stopped".into(),
            },
        ));
        v.push((
            1810.0,
            Event::RolledBack {
                message: "Deployment was stopped and rolled back to the original task set".into(),
            },
        ));
        insta::assert_snapshot!(render(&state(&v)));
    }

    #[test]
    fn plan_mode() {
        let mut v = passed();
        v.truncate(4);
        v[0].1 = Event::Target {
            command: "plan".into(),
            cluster: "prod".into(),
            service: "web".into(),
        };
        v.push((1.3, Event::Planned { what: "merging this will register a new `web` revision and deploy it with `CodeDeployDefault.ECSCanary10Percent5Minutes`".into() }));
        insta::assert_snapshot!(render(&state(&v)));
    }
}
