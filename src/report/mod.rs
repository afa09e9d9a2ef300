//! Progress events from the stages, and the reporters that consume them. Stages only emit;
//! what the user sees (log lines now, PR comment and summary later) is decided here.

use std::time::Instant;

use tokio::sync::mpsc;

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
}

/// The sending side the stages hold. Sending never fails a deployment: if the reporter is gone
/// the event is dropped.
#[derive(Debug, Clone)]
pub struct Progress {
    tx: mpsc::UnboundedSender<Event>,
}

/// A progress sender and the receiving end, for callers (and tests) that consume events
/// themselves.
pub fn channel() -> (Progress, mpsc::UnboundedReceiver<Event>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Progress { tx }, rx)
}

impl Progress {
    pub fn emit(&self, event: Event) {
        let _ = self.tx.send(event);
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
        Event::Lifecycle { name, status } => format!("  {name}: {status}"),
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
    }
}

/// A text bar of `width` cells, filled for `percent`.
pub fn bar(percent: f64, width: usize) -> String {
    let filled = ((percent.clamp(0.0, 100.0) / 100.0) * width as f64).round() as usize;
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

/// Starts the reporter: one log line per event, and at the end the whole run as markdown in
/// the step summary. Drop every `Progress` and await the handle to flush it.
pub fn start(runner: crate::gha::Runner) -> (Progress, tokio::task::JoinHandle<()>) {
    let (progress, mut rx) = channel();
    let handle = tokio::spawn(async move {
        let start = Instant::now();
        let mut state = markdown::RunState::default();
        while let Some(event) = rx.recv().await {
            let secs = start.elapsed().as_secs_f64();
            state.apply(&event, secs);
            match &event {
                Event::Warning(msg) => {
                    runner.annotate(crate::gha::Level::Warning, &Default::default(), msg);
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
                    runner.annotate(crate::gha::Level::Warning, &loc, message);
                }
                _ => {
                    let line = log_line(&event);
                    if !line.is_empty() {
                        println!("[{secs:6.1}s] {line}");
                    }
                }
            }
        }
        if !state.service.is_empty() {
            // The summary is a report, not the deployment: a write failure only warns.
            if let Err(e) = runner.append_summary(&markdown::render(&state)) {
                runner.annotate(
                    crate::gha::Level::Warning,
                    &Default::default(),
                    &e.to_string(),
                );
            }
        }
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
                status: "Succeeded".into()
            }),
            "  Install: Succeeded"
        );
    }
}
