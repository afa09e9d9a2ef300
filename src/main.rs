use std::process::ExitCode;
use std::time::Duration;

use clap::FromArgMatches;
use futures_util::FutureExt;

use greenlight::cli::{self, Cli, inputs_from_matches};
use greenlight::config::{Command, Config, Job};
use greenlight::error::Error;
use greenlight::gha::{self, Level, Location, Runner};
use greenlight::report;

fn main() -> ExitCode {
    let runner = Runner::from_env();
    runner.mask_registered_secrets();
    let matches = cli::command().get_matches();
    let inputs = match matches.subcommand() {
        Some((name, sub)) => inputs_from_matches(name, sub),
        None if runner.in_actions => gha::inputs_from_env(std::env::vars()),
        None => {
            let _ = Cli::from_arg_matches(&matches);
            let _ = cli::command().print_help();
            return ExitCode::from(2);
        }
    };
    // On a runner, files come from the checked-out repository only; the CLI reads any path.
    let workspace = runner.in_actions.then(|| {
        std::env::var_os("GITHUB_WORKSPACE")
            .filter(|w| !w.is_empty())
            .map(std::path::PathBuf::from)
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_default()
    });
    let code = match Config::from_inputs_in(&inputs, workspace.as_deref()) {
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
    // A GitHub Deployment is of a service: registering or running a task deploys nothing.
    let deploys = matches!(cfg.command, Command::Deploy) && !matches!(cfg.job, Job::Task { .. });
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
    let code = rt.block_on(async {
        let cancel = cancelled()?.shared();
        let again = second_signal()?;
        let (progress, reporter) = report::start(runner.clone(), github_client(cfg, runner));
        let mut outputs = greenlight::outputs::Outputs::new();
        let mut afterwards = greenlight::Afterwards::new();
        // A runner that cancels a job signals twice before it kills the step (SIGINT, then
        // SIGTERM 7.5 s later, SIGKILL 2.5 s after that): the first stops the deployment, the
        // second ends the step while it can still write its outputs and say where things stand.
        let ran = tokio::select! {
            biased;
            r = greenlight::run(cfg, &progress, &mut outputs, &mut afterwards, cancel.clone()) => Some(r),
            () = again => None,
        };
        let result = ran.unwrap_or_else(|| Err(cancelled_again(&mut outputs)));
        match &result {
            Err(e) => progress.emit(greenlight::event::Event::RunFailed {
                message: e.to_string(),
            }),
            Ok(code) => progress.emit(greenlight::event::Event::Ended {
                status: outputs
                    .get("deployment-status")
                    .cloned()
                    .unwrap_or_default(),
                exit_code: *code,
            }),
        }
        // Whether the run itself was cancelled, decided before the outputs go out: a signal
        // that comes once they are out (a job cancelled while reporting) is a new one, and
        // cuts what is left short rather than being taken for the first.
        let cancelled_in_run = cancel.clone().now_or_never().is_some();
        // The end state is known: the outputs go out now, before any report is flushed, so the
        // next step has them even when GitHub is slow or the job is cancelled meanwhile.
        for (name, value) in &outputs {
            if let Err(e) = runner.set_output(name, value) {
                runner.annotate(Level::Warning, &Location::default(), &e.to_string());
            }
        }
        // What the command left for now (each bounded by its own budget); a further signal
        // drops it.
        if !afterwards.is_empty() {
            tokio::select! {
                _ = futures_util::future::join_all(afterwards) => {}
                () = signal_after(cancel.clone(), cancelled_in_run) => {}
            }
        }
        drop(progress);
        // The log and the step summary are local and quick; GitHub gets a bounded time on top.
        let publisher = reporter.await.ok().flatten();
        let code = match &result {
            Ok(code) => *code,
            Err(e) => {
                report_error(runner, e);
                e.exit_code()
            }
        };
        if let Some(publisher) = publisher {
            let budget = cfg.report_timeout;
            let published = tokio::select! {
                r = tokio::time::timeout(budget, publisher) => match r {
                    Ok(p) => p.ok(),
                    Err(_) => {
                        runner.annotate(
                            Level::Warning,
                            &Location::default(),
                            &format!(
                                "GitHub reporting did not finish within {} s (report-timeout-seconds); the step summary has the report",
                                budget.as_secs()
                            ),
                        );
                        None
                    }
                },
                // Cancelled after the end: the report is not worth holding the job for.
                _ = signal_after(cancel, cancelled_in_run) => {
                    runner.annotate(
                        Level::Warning,
                        &Location::default(),
                        "the run was cancelled while reporting to GitHub; the step summary has the report",
                    );
                    None
                }
            };
            if let Some(url) = published.and_then(|p| p.comment_url)
                && let Err(e) = runner.set_output("comment-url", &url)
            {
                runner.annotate(Level::Warning, &Location::default(), &e.to_string());
            }
        }
        Ok::<u8, anyhow::Error>(code)
    });
    // Whatever is still in flight (a GitHub request, a DNS lookup on a blocking thread) is
    // abandoned, not waited for: the exit must not depend on it.
    rt.shutdown_background();
    code
}

/// A signal that arrives from now on. A run that ended because it was cancelled has used up
/// the first one: reporting it is the point, so only a further signal cuts the report short.
async fn signal_after(
    first: impl std::future::Future<Output = String> + Clone,
    first_came_during_the_run: bool,
) {
    if !first_came_during_the_run {
        first.await;
        return;
    }
    match cancelled() {
        Ok(next) => {
            next.await;
        }
        Err(_) => std::future::pending().await,
    }
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

/// Resolves on the second SIGINT/SIGTERM of the run (installed at start-up, so it counts the
/// first one too).
#[cfg(unix)]
fn second_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        for _ in 0..2 {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
    })
}

#[cfg(not(unix))]
fn second_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(std::future::pending())
}

/// The run cut short by a second signal: what is known of where it stands.
fn cancelled_again(outputs: &mut greenlight::outputs::Outputs) -> greenlight::error::Error {
    let started = outputs.contains_key("deployment-id");
    outputs.insert(
        "deployment-status",
        if started { "Stopping" } else { "Cancelled" }.to_string(),
    );
    let problem = if started {
        "cancelled a second time before the end state was known: the stop (with rollback unless rollback-on-timeout is false) was requested and may still be under way; `greenlight status` tells where the service stands"
    } else {
        "cancelled a second time before any deployment was started"
    };
    greenlight::error::Error::Cancelled {
        problem: problem.into(),
    }
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
                // The location names the file already (the runner shows it beside the
                // message, the terminal before it).
                runner.annotate(Level::Error, &loc, &p.to_string());
            }
            runner.annotate(
                Level::Error,
                &Location::default(),
                &format!(
                    "{} has {}; nothing was changed in AWS",
                    path.display(),
                    greenlight::error::problem_count(problems.len())
                ),
            );
        }
        _ => runner.annotate(Level::Error, &Location::default(), &e.to_string()),
    }
}
