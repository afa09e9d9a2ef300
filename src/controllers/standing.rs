//! Where the service stands after a verb: which revision it runs, said in the log, and the
//! verb's exit rule built on it. Shared by every controller's verbs.

use crate::aws::Clients;
use crate::config::VerbConfig;
use crate::controllers::describe_service;
use crate::controllers::watch::WatchEnd;
use crate::error::Result;
use crate::event::{Event, Progress};

/// Says where the service stands after `end`; exit 0 only when `end` has the status that
/// means the verb did what it said (`done`) and the service runs `expected` (when known).
pub async fn ended_where(
    clients: &Clients,
    v: &VerbConfig,
    end: WatchEnd,
    done: &str,
    expected: Option<&str>,
    progress: &Progress,
) -> Result<WatchEnd> {
    let there = stands(clients, v, expected, progress).await?;
    let code = if end.status == done && there { 0 } else { 1 };
    Ok(WatchEnd::new(end.status, code))
}

/// Says which task definition the service runs now; true when that is `expected` (or
/// nothing was expected).
pub async fn stands(
    clients: &Clients,
    v: &VerbConfig,
    expected: Option<&str>,
    progress: &Progress,
) -> Result<bool> {
    let now = describe_service(clients, &v.cluster, &v.service).await?;
    let live = now.task_definition.unwrap_or_default();
    let (c, s) = (&v.cluster, &v.service);
    Ok(match expected {
        Some(e) if !same_revision(&live, e) => {
            progress.emit(Event::Failed {
                reason: format!(
                    "{c}/{s} runs {}, not {}, the revision the rollback was to restore",
                    short(&live),
                    short(e)
                ),
            });
            false
        }
        Some(_) => {
            progress.emit(Event::Info(format!(
                "{c}/{s} runs {}, the revision it ran before the deployment",
                short(&live)
            )));
            true
        }
        None => {
            progress.emit(Event::Info(format!("{c}/{s} runs {}", short(&live))));
            true
        }
    })
}

/// The same registered revision, named by ARN or by `family:revision`.
pub fn same_revision(a: &str, b: &str) -> bool {
    a == b || short(a) == short(b)
}

/// `family:revision` of a task definition ARN.
pub fn short(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}
