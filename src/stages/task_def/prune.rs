//! `keep-task-definition-revisions`: after a deploy that succeeded, the family's ACTIVE
//! revisions beyond the N newest are deregistered, never one the service runs, the one a
//! rollback would go back to, or one a deployment still uses. The decision is a pure function;
//! the AWS edge lists, describes and deregisters within a budget, and only ever warns.

use std::time::Duration;

use crate::aws::Clients;
use crate::error::{Error, Result};
use crate::event::{Event, Progress};

/// The most the whole cleanup may add to a run once its end state is known; each call is
/// bounded by `aws::bounds` as well.
pub const BUDGET: Duration = Duration::from_secs(30);
/// The most revisions one run deregisters; a family with a longer tail is trimmed over the
/// next runs, so one run never spends its budget on a backlog.
pub const MAX_PER_RUN: usize = 100;
/// ListTaskDefinitions pages read at most (100 revisions a page): enough for the newest 1000
/// to be kept and a run's worth beyond them.
const MAX_PAGES: usize = 12;

/// `family:revision`, however the revision is named (an ARN or already short).
pub fn short(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// Which of the family's ACTIVE revisions (`newest_first`) to deregister so that `keep` newest
/// stay, never one in `protected` (compared as `family:revision`). Oldest first, at most
/// `MAX_PER_RUN`.
pub fn to_deregister<'a>(
    newest_first: &'a [String],
    keep: usize,
    protected: &[String],
) -> Vec<&'a str> {
    let protected: Vec<&str> = protected.iter().map(|p| short(p)).collect();
    let mut out: Vec<&str> = newest_first
        .iter()
        .skip(keep)
        .map(String::as_str)
        .filter(|arn| !protected.contains(&short(arn)))
        .collect();
    out.reverse();
    out.truncate(MAX_PER_RUN);
    out
}

/// The family's ACTIVE revisions, newest first, paged.
async fn list_active(clients: &Clients, family: &str) -> Result<Vec<String>> {
    let mut arns = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let out = clients
            .ecs
            .list_task_definitions()
            .family_prefix(family)
            .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
            .sort(aws_sdk_ecs::types::SortOrder::Desc)
            .max_results(100)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| Error::aws("ListTaskDefinitions", &e))?;
        arns.extend(out.task_definition_arns().iter().cloned());
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    Ok(arns)
}

/// Every task definition the service uses now: the live one, each deployment's and each task
/// set's (a CodeDeploy original kept for its termination wait, say).
async fn in_use(clients: &Clients, cluster: &str, service: &str) -> Result<Vec<String>> {
    let out = clients
        .ecs
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .map_err(|e| Error::aws("DescribeServices", &e))?;
    let Some(s) = out.services().first() else {
        return Err(Error::aws_reply(
            "ECS",
            "DescribeServices",
            "the service is missing",
        ));
    };
    Ok(s.task_definition()
        .into_iter()
        .chain(s.deployments().iter().filter_map(|d| d.task_definition()))
        .chain(s.task_sets().iter().filter_map(|t| t.task_definition()))
        .map(str::to_string)
        .collect())
}

/// What one cleanup is about. Owned: the cleanup runs after the command has returned, once
/// the outputs are out.
pub struct Cleanup {
    pub cluster: String,
    pub service: String,
    pub family: String,
    pub keep: u32,
    /// Revisions never deregistered whatever the service says: the one deployed and the one it
    /// replaced (what a rollback goes back to).
    pub protected: Vec<String>,
}

/// After a deploy that succeeded: deregisters what `to_deregister` says, within `BUDGET`.
/// Every failure is a warning; the run's exit code never changes. It runs once the outputs
/// are written (`crate::Afterwards`), and the caller drops it on a further signal.
pub async fn after_deploy(clients: Clients, c: Cleanup, progress: Progress) {
    let (clients, progress) = (&clients, &progress);
    let work = async {
        let (listed, used) = tokio::join!(
            list_active(clients, &c.family),
            in_use(clients, &c.cluster, &c.service)
        );
        let (listed, used) = (listed?, used?);
        let mut protected = c.protected.clone();
        protected.extend(used);
        let doomed = to_deregister(&listed, c.keep as usize, &protected);
        if doomed.is_empty() {
            progress.emit(Event::Info(format!(
                "keep-task-definition-revisions: {} ACTIVE revisions of `{}`, nothing to deregister",
                listed.len(),
                c.family
            )));
            return Ok(());
        }
        let mut done = Vec::new();
        let mut failed = Vec::new();
        for arn in &doomed {
            match clients
                .ecs
                .deregister_task_definition()
                .task_definition(*arn)
                .send()
                .await
            {
                Ok(_) => done.push(short(arn)),
                Err(e) => failed.push(format!(
                    "{} ({})",
                    short(arn),
                    Error::aws("DeregisterTaskDefinition", &e)
                )),
            }
        }
        if !done.is_empty() {
            progress.emit(Event::Info(format!(
                "keep-task-definition-revisions: deregistered {} (kept the {} newest{})",
                done.join(", "),
                c.keep,
                kept_also(&listed, c.keep as usize, &protected)
            )));
        }
        if !failed.is_empty() {
            progress.emit(Event::Warning(format!(
                "keep-task-definition-revisions: could not deregister {}",
                failed.join("; ")
            )));
        }
        Ok::<_, Error>(())
    };
    let outcome = match tokio::time::timeout(BUDGET, work).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("did not finish within {} s", BUDGET.as_secs())),
    };
    if let Err(why) = outcome {
        progress.emit(Event::Warning(format!(
            "keep-task-definition-revisions: {why}; the deployment is unaffected, older revisions stay ACTIVE"
        )));
    }
}

/// ", and web:2 in use" for the protected revisions older than the newest `keep`.
fn kept_also(newest_first: &[String], keep: usize, protected: &[String]) -> String {
    let protected: Vec<&str> = protected.iter().map(|p| short(p)).collect();
    let also: Vec<&str> = newest_first
        .iter()
        .skip(keep)
        .map(|a| short(a))
        .filter(|a| protected.contains(a))
        .collect();
    if also.is_empty() {
        String::new()
    } else {
        format!(", and {} still in use or to roll back to", also.join(", "))
    }
}

/// Plan mode: what a successful deploy would deregister. `registers` says whether the deploy
/// registers a new revision, which then is one of the newest kept.
pub async fn plan(clients: &Clients, c: Cleanup, registers: bool, progress: &Progress) {
    let keep = (c.keep as usize).saturating_sub(usize::from(registers));
    match list_active(clients, &c.family).await {
        Ok(listed) => {
            let doomed = to_deregister(&listed, keep, &c.protected);
            let what = if doomed.is_empty() {
                "nothing to deregister".to_string()
            } else {
                format!(
                    "would deregister {}",
                    doomed
                        .iter()
                        .map(|a| short(a))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            progress.emit(Event::Info(format!(
                "keep-task-definition-revisions {}: after a successful deploy, {what}",
                c.keep
            )));
        }
        Err(e) => progress.emit(Event::Warning(format!(
            "keep-task-definition-revisions: cannot list the revisions of `{}`: {e}",
            c.family
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revs(family: &str, newest: u32, oldest: u32) -> Vec<String> {
        (oldest..=newest)
            .rev()
            .map(|r| format!("arn:aws:ecs:us-east-1:123456789012:task-definition/{family}:{r}"))
            .collect()
    }

    fn shorts<'a>(arns: &[&'a str]) -> Vec<&'a str> {
        arns.iter().map(|a| short(a)).collect()
    }

    #[test]
    fn the_newest_stay_and_the_rest_go_oldest_first() {
        let listed = revs("web", 6, 1);
        assert_eq!(
            shorts(&to_deregister(&listed, 2, &[])),
            vec!["web:1", "web:2", "web:3", "web:4"]
        );
        assert!(to_deregister(&listed, 6, &[]).is_empty());
        assert!(to_deregister(&listed, 10, &[]).is_empty());
    }

    #[test]
    fn the_live_previous_and_in_flight_revisions_are_never_deregistered() {
        let listed = revs("web", 6, 1);
        // Live web:3 (a rollback went back), previous web:2 as a full ARN, one in flight
        // named short.
        let protected = vec![
            "web:3".to_string(),
            "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2".to_string(),
            "web:4".to_string(),
        ];
        assert_eq!(
            shorts(&to_deregister(&listed, 1, &protected)),
            vec!["web:1", "web:5"]
        );
    }

    #[test]
    fn one_run_deregisters_a_bounded_number() {
        let listed = revs("web", 500, 1);
        let doomed = to_deregister(&listed, 10, &[]);
        assert_eq!(doomed.len(), MAX_PER_RUN);
        assert_eq!(short(doomed[0]), "web:1");
    }

    #[test]
    fn kept_also_names_the_protected_beyond_the_newest() {
        let listed = revs("web", 4, 1);
        assert_eq!(
            kept_also(&listed, 2, &["web:1".into(), "web:4".into()]),
            ", and web:1 still in use or to roll back to"
        );
        assert_eq!(kept_also(&listed, 2, &["web:4".into()]), "");
    }
}
