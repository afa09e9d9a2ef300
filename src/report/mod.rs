//! The reporters: the log, the step summary and GitHub, each rendering the events
//! (`crate::event`) the run emits.

use std::time::Instant;

use crate::event::{Event, Progress, channel};

pub mod github;
pub mod markdown;

/// `42s` or `5m 03s`.
pub(crate) fn duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    if s >= 60 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// One log line per event, as the Actions log and the terminal show it.
pub fn log_line(event: &Event) -> String {
    match event {
        Event::Info(s) => s.clone(),
        Event::Warning(s) => format!("warning: {s}"),
        Event::FileWarning {
            file,
            line,
            message,
        } => match line {
            Some(l) => format!("warning: {file}:{l}: {message}"),
            None => format!("warning: {file}: {message}"),
        },
        Event::Target { .. }
        | Event::Ended { .. }
        | Event::TaskDefinitionDiff { .. }
        | Event::RunFailed { .. }
        | Event::ServiceState { .. } => String::new(),
        Event::ImageResolved { image, digest } => format!("image {image} is {digest}"),
        Event::GateVerdict { summary, .. } => format!("scan gate: {summary}"),
        Event::Planned { what } => format!("plan: ready; {what}. Nothing was changed."),
        Event::TaskDefinitionRegistered { arn } => format!("registered task definition {arn}"),
        Event::DeploymentCreated {
            id,
            config,
            console_url,
        } => {
            format!("created deployment {id} ({config}) {console_url}")
        }
        Event::Status { status } => format!("deployment status: {status}"),
        Event::Lifecycle {
            name,
            status,
            took: None,
        } => format!("  {name}: {status}"),
        Event::Lifecycle {
            name,
            status,
            took: Some(t),
        } => format!("  {name}: {status} ({})", duration(*t)),
        Event::Traffic { green, blue } => format!(
            "  traffic: green {green:.0}% · blue {blue:.0}%  {}",
            bar(*green, 20)
        ),
        Event::Tasks {
            running,
            desired,
            pending,
            failed,
        } => {
            let mut line = format!("  tasks: {running}/{desired} running");
            if *pending > 0 {
                line.push_str(&format!(" · {pending} pending"));
            }
            if *failed > 0 {
                line.push_str(&format!(" · {failed} failed"));
            }
            line
        }
        Event::Failed { reason } => format!("deployment failed: {reason}"),
        Event::StopRequested { reason } => format!("stopping the deployment: {reason}"),
        Event::RolledBack { message } => format!("rolled back: {message}"),
        Event::OneOffTask(t) => format!("one-off task {}", task_line(t)),
        Event::Diagnosis(t) => format!("why it failed: task {}", task_line(t)),
        Event::TargetHealth {
            target_group,
            targets,
        } => format!(
            "why it failed: target group {target_group}: {}",
            targets
                .iter()
                .map(|(t, state, reason, description)| {
                    let why = [reason.as_str(), description.as_str()]
                        .into_iter()
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                        .join(": ");
                    if why.is_empty() {
                        format!("{t} {state}")
                    } else {
                        format!("{t} {state} ({why})")
                    }
                })
                .collect::<Vec<_>>()
                .join("; ")
        ),
        Event::Alarms(alarms) => format!(
            "watched by CloudWatch alarms: {}",
            alarms
                .iter()
                .map(|a| format!("{} {}", a.name, a.state))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Event::DiagnosisLog {
            task,
            container,
            lines,
            url,
        } => {
            let mut out = format!(
                "why it failed: the last {} lines of container {container} in task {task} ({url}):",
                lines.len()
            );
            for l in lines {
                out.push_str(&format!("\n    {container} | {l}"));
            }
            out
        }
        Event::TaskLog {
            container, line, ..
        } => format!("  {container} | {line}"),
        Event::Scoped { scope, event } => {
            let line = log_line(event);
            if line.is_empty() {
                line
            } else {
                format!("[{scope}] {line}")
            }
        }
    }
}

/// A text bar of `width` cells, filled for `percent`.
pub fn bar(percent: f64, width: usize) -> String {
    let filled = ((percent.clamp(0.0, 100.0) / 100.0) * width as f64).round() as usize;
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

/// Every service's document as it stands, for GitHub.
fn documents<'a>(
    scoped: &'a [(String, markdown::RunState)],
    state: &'a markdown::RunState,
) -> impl Iterator<Item = &'a markdown::RunState> {
    scoped
        .iter()
        .map(|(_, s)| s)
        .chain(std::iter::once(state))
        // A run about no service has no report, except one about a cluster (a one-off task).
        .filter(|s| !s.service.is_empty() || !s.cluster.is_empty())
}

fn github_docs(
    scoped: &[(String, markdown::RunState)],
    state: &markdown::RunState,
) -> Vec<github::Doc> {
    documents(scoped, state)
        .map(|s| github::Doc {
            key: s.key(),
            markdown: crate::redact::redact(&markdown::render(s)),
            outcome: s.outcome(),
            description: crate::redact::redact(&s.description()),
            deploying: s.deployment.is_some(),
        })
        .collect()
}

/// A task's id, status and, once stopped, why and how each container ended.
fn task_line(t: &crate::event::TaskReport) -> String {
    if t.containers.is_empty() && t.stopped_reason.is_none() {
        return format!("{}: {} ({})", t.id(), t.status, t.console_url);
    }
    let ends: Vec<String> = t
        .containers
        .iter()
        .map(|c| {
            let code = c
                .exit_code
                .map_or_else(|| "never ran".to_string(), |c| format!("exited {c}"));
            let why = c
                .reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            format!("container {} {code}{why}", c.name)
        })
        .collect();
    format!(
        "{}: {}{}{}; {}",
        t.id(),
        t.status,
        t.stopped_reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default(),
        t.stop_code
            .as_deref()
            .map(|c| format!(" ({c})"))
            .unwrap_or_default(),
        ends.join("; ")
    )
}

/// The GitHub publisher still at work once the log and the step summary are complete.
pub type Publisher = tokio::task::JoinHandle<github::Published>;

/// Starts the reporter: one log line per event, the live report on GitHub when a client is
/// given, and at the end the whole run as markdown in the step summary. Drop every `Progress`
/// and await the handle: it ends once the summary is written, and hands over the GitHub
/// publisher (if any) to await within the run's reporting budget.
pub fn start(
    runner: crate::gha::Runner,
    github: Option<github::Client>,
) -> (Progress, tokio::task::JoinHandle<Option<Publisher>>) {
    let (progress, mut rx) = channel();
    let handle = tokio::spawn(async move {
        let run_url = github.as_ref().and_then(|c| c.run_url());
        let (docs_tx, docs_rx) = tokio::sync::watch::channel(Vec::new());
        let publisher = github.map(|client| tokio::spawn(github::publish(client, docs_rx)));
        let start = Instant::now();
        let mut state = markdown::RunState {
            run_url: run_url.clone(),
            ..Default::default()
        };
        // One state per service of a `config` run, in the order they first spoke.
        let mut scoped: Vec<(String, markdown::RunState)> = Vec::new();
        while let Some(event) = rx.recv().await {
            let secs = start.elapsed().as_secs_f64();
            let (inner, prefix) = match &event {
                Event::Scoped { scope, event } => {
                    let at = match scoped.iter().position(|(s, _)| s == scope) {
                        Some(i) => i,
                        None => {
                            scoped.push((
                                scope.clone(),
                                markdown::RunState {
                                    run_url: run_url.clone(),
                                    ..Default::default()
                                },
                            ));
                            scoped.len() - 1
                        }
                    };
                    scoped[at].1.apply(event, secs);
                    (event.as_ref(), format!("[{scope}] "))
                }
                other => {
                    state.apply(other, secs);
                    (other, String::new())
                }
            };
            match inner {
                Event::Warning(msg) => {
                    runner.annotate(
                        crate::gha::Level::Warning,
                        &Default::default(),
                        &format!("{prefix}{msg}"),
                    );
                }
                Event::FileWarning {
                    file,
                    line,
                    message,
                } => {
                    let loc = crate::gha::Location {
                        file: Some(file.clone()),
                        line: *line,
                        ..Default::default()
                    };
                    runner.annotate(
                        crate::gha::Level::Warning,
                        &loc,
                        &format!("{prefix}{message}"),
                    );
                }
                _ => {
                    let line = crate::redact::redact(&log_line(&event));
                    if !line.is_empty() {
                        println!("[{secs:6.1}s] {line}");
                    }
                }
            }
            if publisher.is_some() {
                let docs = github_docs(&scoped, &state);
                docs_tx.send_if_modified(|old| {
                    let changed = *old != docs;
                    if changed {
                        *old = docs;
                    }
                    changed
                });
            }
        }
        drop(docs_tx);
        for doc in documents(&scoped, &state) {
            // The summary is a report, not the deployment: a write failure only warns.
            if let Err(e) = runner.append_summary(&markdown::render(doc)) {
                runner.annotate(
                    crate::gha::Level::Warning,
                    &Default::default(),
                    &e.to_string(),
                );
            }
        }
        publisher
    });
    (progress, handle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_fills_proportionally() {
        assert_eq!(bar(10.0, 20), "██░░░░░░░░░░░░░░░░░░");
        assert_eq!(bar(100.0, 4), "████");
        assert_eq!(bar(0.0, 4), "░░░░");
        assert_eq!(bar(250.0, 2), "██");
    }

    #[test]
    fn lines() {
        assert_eq!(
            log_line(&Event::Traffic {
                green: 10.0,
                blue: 90.0
            }),
            "  traffic: green 10% · blue 90%  ██░░░░░░░░░░░░░░░░░░"
        );
        assert_eq!(
            log_line(&Event::Lifecycle {
                name: "Install".into(),
                status: "Succeeded".into(),
                took: None,
            }),
            "  Install: Succeeded"
        );
        assert_eq!(
            log_line(&Event::Lifecycle {
                name: "AllowTraffic".into(),
                status: "Succeeded".into(),
                took: Some(305.0),
            }),
            "  AllowTraffic: Succeeded (5m 05s)"
        );
    }
}
