//! Progress events from the stages, and the reporters that consume them. Stages only emit;
//! what the user sees (log lines now, PR comment and summary later) is decided here.

use std::time::Instant;

use tokio::sync::mpsc;

pub mod github;
pub mod markdown;

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Info(String),
    Warning(String),
    /// A warning about a line of a user's file (an expired ignore entry, say).
    FileWarning {
        file: String,
        line: Option<usize>,
        message: String,
    },
    /// What the run is about: set first, before anything else happens.
    Target {
        command: String,
        cluster: String,
        service: String,
    },
    ImageResolved {
        image: String,
        digest: String,
    },
    GateVerdict {
        passed: bool,
        summary: String,
        table: String,
    },
    /// The rendered diff against the live revision (empty: no change).
    TaskDefinitionDiff {
        live: String,
        diff: String,
    },
    /// Plan mode ended clean: what merging would do.
    Planned {
        what: String,
    },
    /// `status`: what the service looks like now, as label/value rows.
    ServiceState {
        rows: Vec<(String, String)>,
    },
    /// The run ended with an error (printed by the caller; recorded for the summary).
    RunFailed {
        message: String,
    },
    TaskDefinitionRegistered {
        arn: String,
    },
    DeploymentCreated {
        id: String,
        config: String,
        console_url: String,
    },
    /// CodeDeploy's deployment status changed (Created, InProgress, Ready, Succeeded …).
    Status {
        status: String,
    },
    Lifecycle {
        name: String,
        status: String,
        /// Seconds it took by AWS's own start and end times, once it has ended and AWS gives
        /// both: right even when the whole event fell between two reads.
        took: Option<f64>,
    },
    /// Percent of production traffic on the replacement (green) and original (blue) task sets.
    Traffic {
        green: f64,
        blue: f64,
    },
    /// Task counts of the new revision (ECS deployments).
    Tasks {
        running: i32,
        desired: i32,
        pending: i32,
        failed: i32,
    },
    Failed {
        reason: String,
    },
    StopRequested {
        reason: String,
    },
    RolledBack {
        message: String,
    },
    /// The command ended with this `deployment-status` and exit code.
    Ended {
        status: String,
        exit_code: u8,
    },
    /// An event of one service of several (`config`): logged with its name, summarised apart.
    Scoped {
        scope: String,
        event: Box<Event>,
    },
}

/// The sending side the stages hold. Sending never fails a deployment: if the reporter is gone
/// the event is dropped.
#[derive(Debug, Clone)]
pub struct Progress {
    tx: mpsc::UnboundedSender<Event>,
    scope: Option<String>,
}

/// A progress sender and the receiving end, for callers (and tests) that consume events
/// themselves.
pub fn channel() -> (Progress, mpsc::UnboundedReceiver<Event>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Progress { tx, scope: None }, rx)
}

impl Progress {
    pub fn emit(&self, event: Event) {
        let event = match &self.scope {
            Some(scope) => Event::Scoped {
                scope: scope.clone(),
                event: Box::new(event),
            },
            None => event,
        };
        let _ = self.tx.send(event);
    }

    /// A sender whose events belong to one service of several.
    pub fn scoped(&self, scope: impl Into<String>) -> Progress {
        Progress {
            tx: self.tx.clone(),
            scope: Some(scope.into()),
        }
    }
}

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
        .filter(|s| !s.service.is_empty())
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
