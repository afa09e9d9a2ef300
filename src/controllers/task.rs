//! One-off tasks of the new revision (`run-task`, the `run` command): RunTask, and the watch to
//! STOPPED on the same loop as deployments, streaming the containers' `awslogs` lines, then each
//! container's exit. An essential container that did not exit 0 fails the run; a timeout or a
//! cancellation stops the task (StopTask).

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, ContainerOverride,
    EnvironmentFile, EnvironmentFileType, KeyValuePair, LaunchType, NetworkConfiguration,
    ResourceRequirement, ResourceType, Tag, TaskFilesystemType, TaskManagedEbsVolumeConfiguration,
    TaskOverride, TaskVolumeConfiguration,
};
use serde_json::Value;

use crate::aws::Clients;
use crate::config::{DeployConfig, RunTask, ServiceVolume, WaitUntil};
use crate::controllers::AwsVpc;
use crate::controllers::poll::Poller;
use crate::controllers::watch::{self, Observation, Phase, Stop, Tracker, WatchEnd, WatchOptions};
use crate::error::{Error, Result};
use crate::event::{ContainerEnd, Event, Progress, TaskReport};
use crate::outputs::Outputs;

/// Log pages read per stream and poll: a chatty task is caught up over the next polls rather
/// than holding one read for long.
const LOG_PAGES_PER_READ: usize = 3;
/// Log pages read per stream once the task has stopped, so its last lines are in the log.
const LOG_PAGES_AT_END: usize = 20;
/// The reason StopTask records (ECS keeps at most 255 characters).
const STOP_REASON: &str = "Stopped by greenlight: the run timed out or was cancelled";

/// The task's network: the inputs' subnets and groups, else the service's own awsvpc network.
fn network(rt: &RunTask, service: Option<&AwsVpc>) -> Option<AwsVpc> {
    if !rt.subnets.is_empty() || !rt.security_groups.is_empty() {
        return Some(AwsVpc {
            subnets: rt.subnets.clone(),
            security_groups: rt.security_groups.clone(),
            assign_public_ip: rt.assign_public_ip.clone(),
        });
    }
    service.filter(|n| !n.subnets.is_empty()).cloned()
}

fn bad(input: &'static str, what: &str, err: aws_sdk_ecs::error::BuildError) -> Error {
    Error::input(
        input,
        format!("{what}: {err}"),
        "give every field ECS requires",
    )
}

fn overrides(rt: &RunTask) -> Result<TaskOverride> {
    const INPUT: &str = "run-task-container-overrides";
    let containers = rt
        .container_overrides
        .iter()
        .map(|o| {
            let files = o
                .environment_files
                .iter()
                .flatten()
                .map(|f| {
                    EnvironmentFile::builder()
                        .value(&f.value)
                        .r#type(EnvironmentFileType::from(f.kind.as_str()))
                        .build()
                        .map_err(|e| bad(INPUT, "environmentFiles", e))
                })
                .collect::<Result<Vec<_>>>()?;
            let requirements = o
                .resource_requirements
                .iter()
                .flatten()
                .map(|r| {
                    ResourceRequirement::builder()
                        .value(&r.value)
                        .r#type(ResourceType::from(r.kind.as_str()))
                        .build()
                        .map_err(|e| bad(INPUT, "resourceRequirements", e))
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(ContainerOverride::builder()
                .name(&o.name)
                .set_command(o.command.clone())
                .set_environment(o.environment.as_ref().map(|env| {
                    env.iter()
                        .map(|kv| {
                            KeyValuePair::builder()
                                .name(&kv.name)
                                .value(&kv.value)
                                .build()
                        })
                        .collect()
                }))
                .set_environment_files((!files.is_empty()).then_some(files))
                .set_cpu(o.cpu)
                .set_memory(o.memory)
                .set_memory_reservation(o.memory_reservation)
                .set_resource_requirements((!requirements.is_empty()).then_some(requirements))
                .build())
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(TaskOverride::builder()
        .set_container_overrides(Some(containers))
        .build())
}

fn volume(v: &ServiceVolume) -> Result<TaskVolumeConfiguration> {
    const INPUT: &str = "run-task-managed-ebs-volume";
    let e = &v.ebs;
    let ebs = TaskManagedEbsVolumeConfiguration::builder()
        .role_arn(&e.role_arn)
        .set_encrypted(e.encrypted)
        .set_kms_key_id(e.kms_key_id.clone())
        .set_volume_type(e.volume_type.clone())
        .set_size_in_gib(e.size_in_gib)
        .set_snapshot_id(e.snapshot_id.clone())
        .set_volume_initialization_rate(e.volume_initialization_rate)
        .set_iops(e.iops)
        .set_throughput(e.throughput)
        .set_tag_specifications(super::ecs::tag_specifications(e, INPUT)?)
        .set_filesystem_type(e.filesystem_type.as_deref().map(TaskFilesystemType::from))
        .build()
        .map_err(|err| bad(INPUT, "roleArn", err))?;
    TaskVolumeConfiguration::builder()
        .name(&v.name)
        .managed_ebs_volume(ebs)
        .build()
        .map_err(|err| bad(INPUT, "name", err))
}

/// Checks what RunTask would refuse, before anything is written: a network for an awsvpc
/// revision, and a launch type the revision is compatible with.
pub fn check(
    rt: &RunTask,
    doc: &serde_json::Map<String, Value>,
    service: Option<&AwsVpc>,
) -> Result<()> {
    let awsvpc = doc.get("networkMode").and_then(Value::as_str) == Some("awsvpc");
    if awsvpc && network(rt, service).is_none() {
        return Err(Error::input(
            "run-task-subnets",
            "the task definition uses the `awsvpc` network mode, and the one-off task has no subnets (no `run-task-subnets`, and no service network to borrow)",
            "give `run-task-subnets` (and `run-task-security-groups`), or name the `service` whose network the task should use",
        ));
    }
    if let Some(launch) = &rt.launch_type {
        let compatible: Vec<&str> = doc
            .get("requiresCompatibilities")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if !compatible.is_empty() && !compatible.contains(&launch.as_str()) {
            return Err(Error::input(
                "run-task-launch-type",
                format!(
                    "is `{launch}`, but the task definition's requiresCompatibilities is {}",
                    compatible.join(", ")
                ),
                format!("set `run-task-launch-type: {}`", compatible[0]),
            ));
        }
    }
    let names: Vec<&str> = containers(doc).map(|(name, _)| name).collect();
    for o in &rt.container_overrides {
        if !names.contains(&o.name.as_str()) {
            return Err(Error::input(
                "run-task-container-overrides",
                format!(
                    "names container `{}`, which the task definition does not have ({})",
                    o.name,
                    names.join(", ")
                ),
                "use a container name from the task definition",
            ));
        }
    }
    Ok(())
}

fn containers(doc: &serde_json::Map<String, Value>) -> impl Iterator<Item = (&str, &Value)> {
    doc.get("containerDefinitions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| Some((c.get("name")?.as_str()?, c)))
}

/// Starts the one-off task of `task_definition`; returns the task ARNs.
pub async fn start(
    clients: &Clients,
    cluster: &str,
    task_definition: &str,
    rt: &RunTask,
    service: Option<&AwsVpc>,
    progress: &Progress,
) -> Result<Vec<String>> {
    let net = network(rt, service);
    if rt.subnets.is_empty() && rt.security_groups.is_empty() && net.is_some() {
        progress.emit(Event::Info(
            "the one-off task uses the service's network configuration (its subnets and security groups)".into(),
        ));
    }
    let network_configuration = net
        .map(|n| {
            AwsVpcConfiguration::builder()
                .set_subnets(Some(n.subnets))
                .set_security_groups((!n.security_groups.is_empty()).then_some(n.security_groups))
                .set_assign_public_ip(n.assign_public_ip.as_deref().map(AssignPublicIp::from))
                .build()
                .map(|v| {
                    NetworkConfiguration::builder()
                        .awsvpc_configuration(v)
                        .build()
                })
                .map_err(|e| bad("run-task-subnets", "awsvpcConfiguration", e))
        })
        .transpose()?;
    let strategy = rt
        .capacity_provider_strategy
        .iter()
        .map(|c| {
            CapacityProviderStrategyItem::builder()
                .capacity_provider(&c.capacity_provider)
                .set_weight(c.weight)
                .set_base(c.base)
                .build()
                .map_err(|e| bad("run-task-capacity-provider-strategy", "capacityProvider", e))
        })
        .collect::<Result<Vec<_>>>()?;
    let tags = rt
        .tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Vec<_>>();
    let out = clients
        .ecs
        .run_task()
        .cluster(cluster)
        .task_definition(task_definition)
        .started_by(&rt.started_by)
        .overrides(overrides(rt)?)
        .set_capacity_provider_strategy((!strategy.is_empty()).then_some(strategy))
        .set_launch_type(rt.launch_type.as_deref().map(LaunchType::from))
        .set_network_configuration(network_configuration)
        .set_enable_ecs_managed_tags(rt.managed_tags)
        .set_tags((!tags.is_empty()).then_some(tags))
        .set_volume_configurations(rt.volume.as_ref().map(volume).transpose()?.map(|v| vec![v]))
        .send()
        .await
        .map_err(|e| Error::aws("RunTask", &e))?;
    let arns: Vec<String> = out
        .tasks()
        .iter()
        .filter_map(|t| t.task_arn().map(str::to_string))
        .collect();
    if let Some(f) = out.failures().first() {
        return Err(Error::state(
            format!(
                "RunTask did not start the one-off task: {} {}{}",
                f.arn().unwrap_or(task_definition),
                f.reason().unwrap_or("failed"),
                f.detail().map(|d| format!(" ({d})")).unwrap_or_default()
            ),
            "check the cluster's capacity and the launch type; nothing was deployed",
        ));
    }
    if arns.is_empty() {
        return Err(Error::aws_reply(
            "ECS",
            "RunTask",
            "the response has no task",
        ));
    }
    for arn in &arns {
        progress.emit(Event::OneOffTask(TaskReport {
            arn: arn.clone(),
            status: "PROVISIONING".into(),
            console_url: console_url(&clients.region, cluster, arn),
            ..TaskReport::default()
        }));
    }
    Ok(arns)
}

pub fn console_url(region: &str, cluster: &str, arn: &str) -> String {
    let cluster = cluster.rsplit('/').next().unwrap_or(cluster);
    let id = arn.rsplit('/').next().unwrap_or(arn);
    format!(
        "https://{region}.console.aws.amazon.com/ecs/v2/clusters/{cluster}/tasks/{id}/configuration?region={region}"
    )
}

/// How long a one-off task is watched: `wait-for-minutes` from now, or the run's deadline when
/// its clock already started. Whatever the rollback setting, a task still running at the
/// deadline is stopped: a known end state.
pub fn watch_options(d: &DeployConfig, deadline: Option<Instant>) -> WatchOptions {
    WatchOptions {
        wait_minutes: d.wait_minutes,
        rollback_on_timeout: true,
        wait_until: WaitUntil::Complete,
        wait_for_stability: false,
        step_interval: None,
        poll_max: d.poll_max,
        deadline: Some(deadline.unwrap_or_else(|| {
            Instant::now() + Duration::from_secs(u64::from(d.wait_minutes) * 60)
        })),
    }
}

/// Runs the one-off task and, with `wait-for-task-stopped`, follows it to STOPPED. The
/// `run-task-arn` output is written as soon as RunTask answers (a JSON array, as the AWS
/// action writes it).
#[allow(clippy::too_many_arguments)]
pub async fn run(
    clients: &Clients,
    cluster: &str,
    task_definition: &str,
    rt: &RunTask,
    doc: &serde_json::Map<String, Value>,
    service: Option<&AwsVpc>,
    opts: &WatchOptions,
    progress: &Progress,
    outputs: &mut Outputs,
    cancel: impl Future<Output = String>,
) -> Result<WatchEnd> {
    let arns = start(clients, cluster, task_definition, rt, service, progress).await?;
    outputs.insert(
        "run-task-arn",
        serde_json::to_string(&arns).unwrap_or_default(),
    );
    if !rt.wait {
        progress.emit(Event::Info(
            "not waiting for the one-off task to stop (wait-for-task-stopped: false)".into(),
        ));
        return Ok(WatchEnd::new("TaskStarted", 0));
    }
    let mut tracker = TaskTracker::new(clients, cluster, arns, doc);
    watch::watch(&mut tracker, opts, progress, Poller::from_env(), cancel).await
}

/// Where one container's `awslogs` lines are, and how far they have been read.
#[derive(Debug, Clone)]
pub struct LogStream {
    pub task: String,
    pub container: String,
    pub group: String,
    pub stream: String,
    pub region: Option<String>,
    pub token: Option<String>,
}

/// Each container's `essential` (ECS's default: true).
pub fn essential_containers(doc: &serde_json::Map<String, Value>) -> HashMap<String, bool> {
    containers(doc)
        .map(|(name, c)| {
            let essential = c.get("essential").and_then(Value::as_bool).unwrap_or(true);
            (name.to_string(), essential)
        })
        .collect()
}

/// A described task as the reports show it; its containers' ends once it has stopped.
pub fn report_of(
    t: &aws_sdk_ecs::types::Task,
    region: &str,
    cluster: &str,
    essential: &HashMap<String, bool>,
) -> TaskReport {
    let arn = t.task_arn().unwrap_or_default().to_string();
    let status = t.last_status().unwrap_or("UNKNOWN").to_string();
    TaskReport {
        console_url: console_url(region, cluster, &arn),
        arn,
        revision: t.task_definition_arn().map(str::to_string),
        stopped_reason: t.stopped_reason().map(str::to_string),
        stop_code: t.stop_code().map(|c| c.as_str().to_string()),
        containers: if status == "STOPPED" {
            t.containers()
                .iter()
                .map(|c| {
                    let name = c.name().unwrap_or_default().to_string();
                    ContainerEnd {
                        essential: essential.get(&name).copied().unwrap_or(true),
                        name,
                        exit_code: c.exit_code(),
                        reason: c.reason().map(str::to_string),
                    }
                })
                .collect()
        } else {
            Vec::new()
        },
        status,
    }
}

/// The last `n` lines of a stream (GetLogEvents from the end).
pub async fn read_last_lines(clients: &Clients, s: &LogStream, n: u32) -> Result<Vec<String>> {
    let client = clients.logs_in(s.region.as_deref().unwrap_or(&clients.region));
    let out = client
        .get_log_events()
        .log_group_name(&s.group)
        .log_stream_name(&s.stream)
        .start_from_head(false)
        .limit(i32::try_from(n).unwrap_or(i32::MAX))
        .send()
        .await
        .map_err(|e| Error::aws("GetLogEvents", &e))?;
    Ok(out
        .events()
        .iter()
        .map(|e| e.message().unwrap_or_default().trim_end().to_string())
        .collect())
}

/// The `awslogs` streams of a task's containers: `{prefix}/{container}/{task id}`, as ECS names
/// them. A container without a stream prefix has a stream named after its runtime id, which
/// no one knows in advance: it is not streamed.
pub fn log_streams(doc: &serde_json::Map<String, Value>, arn: &str) -> Vec<LogStream> {
    let id = arn.rsplit('/').next().unwrap_or(arn);
    containers(doc)
        .filter_map(|(name, c)| {
            let log = c.get("logConfiguration")?;
            if log.get("logDriver")?.as_str()? != "awslogs" {
                return None;
            }
            let options = log.get("options")?;
            let opt = |k: &str| options.get(k).and_then(Value::as_str).map(str::to_string);
            Some(LogStream {
                task: id.to_string(),
                container: name.to_string(),
                group: opt("awslogs-group")?,
                stream: format!("{}/{name}/{id}", opt("awslogs-stream-prefix")?),
                region: opt("awslogs-region"),
                token: None,
            })
        })
        .collect()
}

/// The one-off tasks being followed through DescribeTasks.
pub struct TaskTracker<'a> {
    clients: &'a Clients,
    cluster: String,
    arns: Vec<String>,
    essential: HashMap<String, bool>,
    last: HashMap<String, String>,
    logs: Vec<LogStream>,
    log_clients: HashMap<String, aws_sdk_cloudwatchlogs::Client>,
    /// Set once greenlight asked ECS to stop them.
    stopped_by_us: bool,
}

impl<'a> TaskTracker<'a> {
    pub fn new(
        clients: &'a Clients,
        cluster: &str,
        arns: Vec<String>,
        doc: &serde_json::Map<String, Value>,
    ) -> Self {
        let essential = essential_containers(doc);
        let logs = arns.iter().flat_map(|a| log_streams(doc, a)).collect();
        TaskTracker {
            clients,
            cluster: cluster.to_string(),
            arns,
            essential,
            last: HashMap::new(),
            logs,
            log_clients: HashMap::new(),
            stopped_by_us: false,
        }
    }

    fn logs_client(&mut self, region: Option<&str>) -> aws_sdk_cloudwatchlogs::Client {
        match region.filter(|r| *r != self.clients.region) {
            None => self.clients.logs.clone(),
            Some(r) => self
                .log_clients
                .entry(r.to_string())
                .or_insert_with(|| self.clients.logs_in(r))
                .clone(),
        }
    }

    /// Reads the new log lines of every stream, at most `pages` pages each. A stream not there
    /// yet (the container has not started) or a read refused is left for the next poll: logs
    /// are a report, never a reason to fail.
    async fn read_logs(&mut self, pages: usize, progress: &Progress) -> bool {
        let mut changed = false;
        for i in 0..self.logs.len() {
            let cursor = self.logs[i].clone();
            let client = self.logs_client(cursor.region.as_deref());
            let mut token = cursor.token.clone();
            for _ in 0..pages {
                let Ok(out) = client
                    .get_log_events()
                    .log_group_name(&cursor.group)
                    .log_stream_name(&cursor.stream)
                    .start_from_head(true)
                    .set_next_token(token.clone())
                    .send()
                    .await
                else {
                    break;
                };
                for e in out.events() {
                    changed = true;
                    progress.emit(Event::TaskLog {
                        task: cursor.task.clone(),
                        container: cursor.container.clone(),
                        line: e.message().unwrap_or_default().trim_end().to_string(),
                    });
                }
                let next = out.next_forward_token().map(str::to_string);
                // The same token back means the end of the stream for now.
                let at_end = next == token || out.events().is_empty();
                token = next;
                if at_end {
                    break;
                }
            }
            self.logs[i].token = token;
        }
        changed
    }
}

impl Tracker for TaskTracker<'_> {
    async fn observe(&mut self, progress: &Progress) -> Result<Observation> {
        let out = self
            .clients
            .ecs
            .describe_tasks()
            .cluster(&self.cluster)
            .set_tasks(Some(self.arns.clone()))
            .send()
            .await
            .map_err(|e| Error::aws("DescribeTasks", &e))?;
        let mut changed = false;
        let mut reports = Vec::new();
        for t in out.tasks() {
            reports.push(report_of(
                t,
                &self.clients.region,
                &self.cluster,
                &self.essential,
            ));
        }
        if let Some(f) = out.failures().first() {
            return Err(Error::aws_reply(
                "ECS",
                "DescribeTasks",
                format!(
                    "task {} is {}",
                    f.arn().unwrap_or_default(),
                    f.reason().unwrap_or("missing")
                ),
            ));
        }
        let all_stopped = !reports.is_empty()
            && reports.len() == self.arns.len()
            && reports.iter().all(|r| r.status == "STOPPED");
        // The last lines first, so the log reads in order: lines, then the exit.
        let pages = if all_stopped {
            LOG_PAGES_AT_END
        } else {
            LOG_PAGES_PER_READ
        };
        changed |= self.read_logs(pages, progress).await;
        for r in &reports {
            if self.last.get(&r.arn) != Some(&r.status) {
                changed = true;
                self.last.insert(r.arn.clone(), r.status.clone());
                progress.emit(Event::OneOffTask(r.clone()));
            }
        }
        if !all_stopped {
            return Ok(Observation {
                changed,
                phase: Phase::Running,
                due: None,
            });
        }
        let failed: Vec<String> = reports
            .iter()
            .flat_map(|r| {
                r.containers
                    .iter()
                    .filter(|c| c.failed())
                    .map(move |c| (r, c))
            })
            .map(|(r, c)| {
                format!(
                    "container `{}` of task {} {}",
                    c.name,
                    r.id(),
                    match c.exit_code {
                        Some(code) => format!("exited {code}"),
                        None => "never ran".into(),
                    }
                ) + &c
                    .reason
                    .as_ref()
                    .map(|w| format!(" ({w})"))
                    .unwrap_or_default()
            })
            .collect();
        let end = if self.stopped_by_us {
            progress.emit(Event::Failed {
                reason: format!("one-off task {} was stopped (StopTask)", self.name()),
            });
            WatchEnd::new("TaskStopped", 1)
        } else if failed.is_empty() {
            progress.emit(Event::Info(format!(
                "one-off task {}: every essential container exited 0",
                self.name()
            )));
            WatchEnd::new("TaskSucceeded", 0)
        } else {
            let why = reports
                .iter()
                .find_map(|r| r.stopped_reason.clone())
                .map(|w| format!("; the task stopped: {w}"))
                .unwrap_or_default();
            progress.emit(Event::Failed {
                reason: format!("one-off task failed: {}{why}", failed.join(", ")),
            });
            WatchEnd::new("TaskFailed", 1)
        };
        Ok(Observation {
            changed: true,
            phase: Phase::Ended(end),
            due: None,
        })
    }

    async fn stop(&mut self, _rollback: bool) -> Result<Stop> {
        self.stopped_by_us = true;
        for arn in &self.arns {
            if self.last.get(arn).map(String::as_str) == Some("STOPPED") {
                continue;
            }
            self.clients
                .ecs
                .stop_task()
                .cluster(&self.cluster)
                .task(arn)
                .reason(STOP_REASON)
                .send()
                .await
                .map_err(|e| Error::aws("StopTask", &e))?;
        }
        Ok(Stop::Requested)
    }

    fn name(&self) -> String {
        self.arns
            .iter()
            .map(|a| a.rsplit('/').next().unwrap_or(a))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn stop_event(&self, reason: String, _rollback: bool) -> Event {
        Event::Warning(format!(
            "{reason}: stopping one-off task {} (StopTask)",
            self.name()
        ))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rt() -> RunTask {
        RunTask {
            container_overrides: Vec::new(),
            subnets: Vec::new(),
            security_groups: Vec::new(),
            assign_public_ip: None,
            capacity_provider_strategy: Vec::new(),
            launch_type: Some("FARGATE".into()),
            started_by: "GitHub-Actions".into(),
            tags: Vec::new(),
            volume: None,
            wait: true,
            managed_tags: None,
        }
    }

    fn doc(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn an_awsvpc_task_needs_subnets_or_a_service_network() {
        let td = doc(json!({"networkMode": "awsvpc", "containerDefinitions": [{"name": "web"}]}));
        let e = check(&rt(), &td, None).unwrap_err().to_string();
        assert!(e.contains("run-task-subnets"), "{e}");
        let service = AwsVpc {
            subnets: vec!["subnet-1".into()],
            ..AwsVpc::default()
        };
        check(&rt(), &td, Some(&service)).unwrap();
        let mut given = rt();
        given.subnets = vec!["subnet-2".into()];
        check(&given, &td, None).unwrap();
        assert_eq!(
            network(&given, Some(&service)).unwrap().subnets,
            ["subnet-2"]
        );
    }

    #[test]
    fn the_launch_type_and_overrides_must_fit_the_revision() {
        let td = doc(json!({
            "requiresCompatibilities": ["EC2"],
            "containerDefinitions": [{"name": "web"}]
        }));
        let e = check(&rt(), &td, None).unwrap_err().to_string();
        assert!(e.contains("run-task-launch-type: EC2"), "{e}");
        let mut r = rt();
        r.launch_type = None;
        r.container_overrides = serde_json::from_value(json!([{"name": "wbe"}])).unwrap();
        let e = check(&r, &td, None).unwrap_err().to_string();
        assert!(e.contains("`wbe`") && e.contains("(web)"), "{e}");
    }

    #[test]
    fn awslogs_streams_are_named_as_ecs_names_them() {
        let td = doc(json!({"containerDefinitions": [
            {"name": "web", "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": "/ecs/web", "awslogs-stream-prefix": "ecs"}}},
            {"name": "side", "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": "/ecs/web"}}},
            {"name": "plain"}
        ]}));
        let c = log_streams(&td, "arn:aws:ecs:us-east-1:1:task/demo/abc123");
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].stream, "ecs/web/abc123");
        assert_eq!(c[0].group, "/ecs/web");
    }
}
