//! Why a deployment failed, as the operator would otherwise dig it out of the console: the new
//! revision's stopped tasks (stop code, stopped reason, each container's exit code and reason)
//! and the last lines of the failed containers' `awslogs` streams. Best effort and bounded: it
//! runs once the outputs are written and never changes the exit code.

use std::time::Duration;

use serde_json::Value;

use crate::aws::Clients;
use crate::controllers::task::{LogStream, log_streams, read_last_lines};
use crate::error::{Error, Result};
use crate::event::{ContainerEnd, Event, Progress, TaskReport};

/// The most a diagnosis may take, all its reads together.
pub const BUDGET: Duration = Duration::from_secs(10);
/// Stopped tasks shown: the newest few tell the story; more repeat it.
const MAX_TASKS: usize = 3;

/// What to diagnose: the service's stopped tasks of `revision`.
#[derive(Debug, Clone)]
pub struct Diagnose {
    pub clients: Clients,
    pub cluster: String,
    pub service: String,
    pub revision: String,
    /// The registered revision's document, for its containers' `essential` and `awslogs`.
    pub doc: serde_json::Map<String, Value>,
    /// Lines of each failed container's log to show (`diagnose-log-lines`); 0: none.
    pub log_lines: u32,
    /// The CloudWatch alarms watching the deployment: one in ALARM is named with its reason.
    pub alarms: Vec<String>,
    /// The target groups involved, by name (a CodeDeploy group's) and by ARN (the service's).
    pub target_group_names: Vec<String>,
    pub target_group_arns: Vec<String>,
}

/// Runs the diagnosis within `BUDGET`; a failure to read is a warning.
pub async fn after_failure(d: Diagnose, progress: Progress) {
    let both = async {
        let (r, (), health) = tokio::join!(
            diagnose(&d, &progress),
            super::alarms::after_failure(&d.clients, &d.alarms, &progress),
            target_health(&d, &progress)
        );
        r.and(health)
    };
    match tokio::time::timeout(BUDGET, both).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => progress.emit(Event::Warning(format!(
            "no diagnosis of the failed deployment: {e}"
        ))),
        Err(_) => progress.emit(Event::Warning(format!(
            "the diagnosis of the failed deployment took more than {} s; it was cut short",
            BUDGET.as_secs()
        ))),
    }
}

/// How likely a stopped task shows the cause: an essential container that exited non-zero
/// (2), one that never ran though the scheduler did not stop it (1, a task that failed to
/// start), anything else (0: stopped to scale, say).
fn telling(t: &TaskReport) -> u8 {
    if t.containers
        .iter()
        .any(|c| c.essential && c.exit_code.is_some_and(|code| code != 0))
    {
        2
    } else if t.containers.iter().any(ContainerEnd::failed)
        && t.stop_code.as_deref() != Some("ServiceSchedulerInitiated")
    {
        1
    } else {
        0
    }
}

/// The stopped tasks worth showing: those of the new revision that tell something, the most
/// telling first, then the newest.
pub fn pick(mut tasks: Vec<(f64, TaskReport)>, revision: &str, limit: usize) -> Vec<TaskReport> {
    // A task stopped to scale (or replaced by a rollback) tells nothing of the cause.
    tasks.retain(|(_, t)| t.revision.as_deref() == Some(revision) && telling(t) > 0);
    tasks.sort_by(|(a_at, a), (b_at, b)| {
        telling(b)
            .cmp(&telling(a))
            .then(b_at.partial_cmp(a_at).unwrap_or(std::cmp::Ordering::Equal))
    });
    tasks.into_iter().take(limit).map(|(_, t)| t).collect()
}

async fn diagnose(d: &Diagnose, progress: &Progress) -> Result<()> {
    let listed = d
        .clients
        .ecs
        .list_tasks()
        .cluster(&d.cluster)
        .service_name(&d.service)
        .desired_status(aws_sdk_ecs::types::DesiredStatus::Stopped)
        .max_results(100)
        .send()
        .await
        .map_err(|e| Error::aws("ListTasks", &e))?;
    let arns = listed.task_arns().to_vec();
    if arns.is_empty() {
        progress.emit(Event::Info(
            "diagnosis: the service has no stopped task to show".into(),
        ));
        return Ok(());
    }
    let out = d
        .clients
        .ecs
        .describe_tasks()
        .cluster(&d.cluster)
        .set_tasks(Some(arns))
        .send()
        .await
        .map_err(|e| Error::aws("DescribeTasks", &e))?;
    let essential = super::task::essential_containers(&d.doc);
    let reports: Vec<(f64, TaskReport)> = out
        .tasks()
        .iter()
        .map(|t| {
            let at = t.stopped_at().map_or(0.0, |s| s.as_secs_f64());
            (
                at,
                super::task::report_of(t, &d.clients.region, &d.cluster, &essential),
            )
        })
        .collect();
    let picked = pick(reports, &d.revision, MAX_TASKS);
    if picked.is_empty() {
        progress.emit(Event::Info(format!(
            "diagnosis: no task of {} failed",
            d.revision.rsplit('/').next().unwrap_or(&d.revision)
        )));
        return Ok(());
    }
    for t in &picked {
        progress.emit(Event::Diagnosis(t.clone()));
    }
    if d.log_lines == 0 {
        return Ok(());
    }
    // The logs of the failed containers of the most telling task (the first).
    let Some(t) = picked.first().filter(|t| telling(t) > 0) else {
        return Ok(());
    };
    let failed: Vec<&str> = t
        .containers
        .iter()
        .filter(|c| c.failed())
        .map(|c| c.name.as_str())
        .collect();
    for stream in log_streams(&d.doc, &t.arn)
        .into_iter()
        .filter(|s| failed.contains(&s.container.as_str()))
    {
        let lines = read_last_lines(&d.clients, &stream, d.log_lines).await;
        match lines {
            Ok(lines) if !lines.is_empty() => progress.emit(Event::DiagnosisLog {
                task: t.id().to_string(),
                container: stream.container.clone(),
                lines,
                url: console_log_url(&d.clients.region, &stream),
            }),
            Ok(_) => {}
            Err(e) => progress.emit(Event::Warning(format!(
                "diagnosis: the log of container {} could not be read: {e}",
                stream.container
            ))),
        }
    }
    Ok(())
}

/// The targets of each target group involved that are not healthy, with ELBv2's reason.
async fn target_health(d: &Diagnose, progress: &Progress) -> Result<()> {
    let mut groups: Vec<(String, String)> = Vec::new();
    if !d.target_group_names.is_empty() {
        let out = d
            .clients
            .elb
            .describe_target_groups()
            .set_names(Some(d.target_group_names.clone()))
            .send()
            .await
            .map_err(|e| Error::aws("DescribeTargetGroups", &e))?;
        for g in out.target_groups() {
            if let (Some(arn), Some(name)) = (g.target_group_arn(), g.target_group_name()) {
                groups.push((arn.to_string(), name.to_string()));
            }
        }
    }
    for arn in &d.target_group_arns {
        if !groups.iter().any(|(a, _)| a == arn) {
            let name = arn
                .split(":targetgroup/")
                .nth(1)
                .and_then(|rest| rest.split('/').next())
                .unwrap_or(arn);
            groups.push((arn.clone(), name.to_string()));
        }
    }
    for (arn, name) in groups {
        let out = d
            .clients
            .elb
            .describe_target_health()
            .target_group_arn(&arn)
            .send()
            .await
            .map_err(|e| Error::aws("DescribeTargetHealth", &e))?;
        let targets: Vec<(String, String, String, String)> = out
            .target_health_descriptions()
            .iter()
            .filter_map(|t| {
                let health = t.target_health()?;
                let state = health.state()?.as_str().to_string();
                if state == "healthy" {
                    return None;
                }
                let target = t.target().map_or(String::new(), |x| {
                    format!(
                        "{}:{}",
                        x.id().unwrap_or_default(),
                        x.port().map_or(String::new(), |p| p.to_string())
                    )
                });
                Some((
                    target,
                    state,
                    health
                        .reason()
                        .map_or(String::new(), |r| r.as_str().to_string()),
                    health.description().unwrap_or_default().to_string(),
                ))
            })
            .collect();
        if !targets.is_empty() {
            progress.emit(Event::TargetHealth {
                target_group: name,
                targets,
            });
        }
    }
    Ok(())
}

/// The CloudWatch console's page of a log stream (its path segments are encoded twice, `%`
/// written as `$`).
pub fn console_log_url(region: &str, stream: &LogStream) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("$25{b:02X}")
                }
            })
            .collect::<String>()
    };
    let region = stream.region.as_deref().unwrap_or(region);
    format!(
        "https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logsV2:log-groups/log-group/{}/log-events/{}",
        enc(&stream.group),
        enc(&stream.stream)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(arn: &str, revision: &str, exit: Option<i32>) -> TaskReport {
        TaskReport {
            arn: arn.into(),
            revision: Some(revision.into()),
            status: "STOPPED".into(),
            containers: vec![ContainerEnd {
                name: "web".into(),
                essential: true,
                exit_code: exit,
                reason: None,
            }],
            ..TaskReport::default()
        }
    }

    #[test]
    fn the_new_revisions_failed_tasks_come_first_newest_first() {
        let tasks = vec![
            (1.0, task("t/old", "web:1", Some(143))),
            (2.0, task("t/a", "web:2", Some(137))),
            (5.0, task("t/scaled", "web:2", Some(0))),
            (6.0, task("t/never", "web:2", None)),
            (3.0, task("t/b", "web:2", Some(137))),
        ];
        let picked: Vec<String> = pick(tasks, "web:2", 3).into_iter().map(|t| t.arn).collect();
        assert_eq!(picked, ["t/b", "t/a", "t/never"]);
        let scaled_only = vec![(5.0, task("t/scaled", "web:2", Some(0)))];
        assert!(pick(scaled_only, "web:2", 3).is_empty());
    }

    #[test]
    fn the_console_link_encodes_the_group_and_stream_as_cloudwatch_does() {
        let s = LogStream {
            task: "abc".into(),
            container: "web".into(),
            group: "/ecs/web".into(),
            stream: "ecs/web/abc".into(),
            region: None,
            token: None,
        };
        assert_eq!(
            console_log_url("us-east-1", &s),
            "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:log-groups/log-group/$252Fecs$252Fweb/log-events/ecs$252Fweb$252Fabc"
        );
    }
}
