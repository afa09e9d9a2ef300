use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches};

use greenlight::cli::{Cli, inputs_from_matches};
use greenlight::config::{Command, Config};
use greenlight::error::Error;
use greenlight::gha::{self, Level, Location, Runner};
use greenlight::report;

fn main() -> ExitCode {
    let runner = Runner::from_env();
    let matches = Cli::command().get_matches();
    let inputs = match matches.subcommand() {
        Some((name, sub)) => inputs_from_matches(name, sub),
        None if runner.in_actions => gha::inputs_from_env(std::env::vars()),
        None => {
            let _ = Cli::from_arg_matches(&matches);
            let _ = Cli::command().print_help();
            return ExitCode::from(2);
        }
    };
    let code = match Config::from_inputs(&inputs) {
        Ok(cfg) => match execute(&cfg, &runner) {
            Ok(code) => code,
            Err(e) => {
                runner.annotate(Level::Error, &Location::default(), &format!("{e:#}"));
                4
            }
        },
        Err(e) => {
            report_error(&runner, &e);
            e.exit_code()
        }
    };
    ExitCode::from(code)
}

/// The GitHub client for the live report, when the run has a token and a repository. The
/// token is masked before anything else can print it.
fn github_client(cfg: &Config, runner: &Runner) -> Option<report::github::Client> {
    if let Some(token) = &cfg.report.github_token {
        runner.mask(token);
    }
    let event = runner
        .event_file
        .as_deref()
        .and_then(|p| match gha::event::read(p) {
            Ok(e) => Some(e),
            Err(e) => {
                runner.annotate(Level::Warning, &Location::default(), &e.to_string());
                None
            }
        });
    let deploys = matches!(cfg.command, Command::Deploy);
    let target = report::github::Target::from_env(&cfg.report, event.as_ref(), deploys, |name| {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    })?;
    let warner = runner.clone();
    report::github::Client::new(
        target,
        Some((Duration::from_secs(10), Duration::from_secs(30))),
        Box::new(move |msg| warner.annotate(Level::Warning, &Location::default(), msg)),
    )
}

fn execute(cfg: &Config, runner: &Runner) -> anyhow::Result<u8> {
    // One thread is plenty: the work is waiting on AWS, and it keeps memory low.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let cancel = cancelled()?;
        let (progress, reporter) = report::start(runner.clone(), github_client(cfg, runner));
        let mut outputs = greenlight::Outputs::new();
        let result = greenlight::run(cfg, &progress, &mut outputs, cancel).await;
        if let Err(e) = &result {
            progress.emit(report::Event::RunFailed {
                message: e.to_string(),
            });
        }
        if let Ok(code) = &result {
            progress.emit(report::Event::Ended {
                status: outputs
                    .get("deployment-status")
                    .cloned()
                    .unwrap_or_default(),
                exit_code: *code,
            });
        }
        drop(progress);
        if let Ok(published) = reporter.await
            && let Some(url) = published.comment_url
        {
            outputs.insert("comment-url", url);
        }
        for (name, value) in &outputs {
            if let Err(e) = runner.set_output(name, value) {
                runner.annotate(Level::Warning, &Location::default(), &e.to_string());
            }
        }
        Ok(match result {
            Ok(code) => code,
            Err(e) => {
                report_error(runner, &e);
                e.exit_code()
            }
        })
    })
}

/// Resolves on SIGINT or SIGTERM (a cancelled workflow run sends SIGTERM to the container).
/// The handlers are installed here, at start-up, not when the future is first polled: a signal
/// that arrives while the deployment is being created must not kill the process outright.
#[cfg(unix)]
fn cancelled() -> std::io::Result<impl std::future::Future<Output = String>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        CANCELLED.to_string()
    })
}

#[cfg(not(unix))]
fn cancelled() -> std::io::Result<impl std::future::Future<Output = String>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        CANCELLED.to_string()
    })
}

/// Why the deployment is stopped when the run is cancelled.
const CANCELLED: &str = "the run was cancelled";

/// Errors become annotations on the file and line when known, one per problem.
fn report_error(runner: &Runner, e: &Error) {
    match e {
        Error::File { path, line, .. } => {
            let loc = Location {
                file: Some(path.display().to_string()),
                line: *line,
                ..Default::default()
            };
            runner.annotate(Level::Error, &loc, &e.to_string());
        }
        Error::FileProblems { path, problems } => {
            for p in problems {
                let loc = Location {
                    file: Some(path.display().to_string()),
                    line: p.line,
                    ..Default::default()
                };
                runner.annotate(Level::Error, &loc, &format!("{}: {p}", path.display()));
            }
            runner.annotate(
                Level::Error,
                &Location::default(),
                &format!(
                    "{} has {} problems; nothing was changed in AWS",
                    path.display(),
                    problems.len()
                ),
            );
        }
        _ => runner.annotate(Level::Error, &Location::default(), &e.to_string()),
    }
}
