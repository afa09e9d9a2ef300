//! greenlight: ship a container image to Amazon ECS safely.
//!
//! `run` executes one command from a validated `Config`. ARCHITECTURE.md maps the layers below
//! and the direction of their dependencies.

pub mod aws;
pub mod cli;
mod commands;
pub mod config;
pub mod controllers;
pub mod error;
pub mod event;
pub mod files;
pub mod gha;
pub mod outputs;
pub mod redact;
pub mod report;
pub mod stages;

use std::future::Future;

use config::{Config, Job};
use error::Result;
use event::{Event, Progress};
use outputs::Outputs;

/// Work a command leaves for after its outputs are written (a cleanup that must not hold the
/// next step's inputs back): `main` runs it then, and drops it on a further signal.
pub type Afterwards = Vec<futures_util::future::LocalBoxFuture<'static, ()>>;

/// Runs the command. Returns the exit code for a run that reached a verdict (0 or 1); errors
/// carry their own exit code.
pub async fn run(
    cfg: &Config,
    progress: &Progress,
    outputs: &mut Outputs,
    afterwards: &mut Afterwards,
    cancel: impl Future<Output = String>,
) -> Result<u8> {
    for w in &cfg.warnings {
        progress.emit(Event::Warning(w.clone()));
    }
    if let Some((cluster, service)) = cfg.job.target() {
        progress.emit(Event::Target {
            command: cfg.command.name().to_string(),
            cluster: cluster.to_string(),
            service: service.to_string(),
        });
    }
    let aws = cfg.aws;
    match &cfg.job {
        Job::Deploy(d) => {
            commands::deploy::deploy(d, false, aws, progress, outputs, afterwards, cancel).await
        }
        Job::Plan(d) => {
            commands::deploy::deploy(d, true, aws, progress, outputs, afterwards, cancel).await
        }
        Job::Fleet(f) => {
            commands::fleet::fleet(f, aws, progress, outputs, afterwards, cancel).await
        }
        Job::Task { d, plan } => {
            commands::task::task(d, *plan, aws, progress, outputs, cancel).await
        }
        Job::Tag(t) => commands::tag::run(t, aws, progress, outputs).await,
        Job::Promote(v) => commands::promote::promote(v, aws, progress, outputs, cancel).await,
        Job::Status(v) => commands::status::status(v, aws, progress, outputs).await,
        Job::Abort(v) => commands::abort::abort(v, aws, progress, outputs).await,
        Job::Rollback(v) => commands::rollback::rollback(v, aws, progress, outputs, cancel).await,
    }
}
