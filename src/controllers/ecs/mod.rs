//! The ECS deployment controller: a rolling update, or the ECS-native BLUE_GREEN, LINEAR and
//! CANARY strategies. Both start with UpdateService. A rolling update is followed through the
//! service's PRIMARY deployment and its events (circuit breaker, placement failures); a native
//! one through DescribeServiceDeployments (lifecycle stages, hooks, traffic, rollback).

use std::collections::HashSet;

use aws_sdk_ecs::types::{
    DeploymentConfiguration, DeploymentLifecycleHookStatus, DeploymentLifecycleHookTargetType,
    DeploymentStrategy, EbsResourceType, EbsTagSpecification, PropagateTags,
    ServiceManagedEbsVolumeConfiguration, ServiceVolumeConfiguration,
    StopServiceDeploymentStopType, TaskFilesystemType,
};

use crate::aws::Clients;
use crate::config::DeployConfig;
use crate::controllers::watch::{Observation, Phase, Stop, Tracker, WatchEnd};
use crate::error::{Error, Result, sdk_error_code};
use crate::event::{Event, Progress};

pub mod native;
pub mod rolling;
pub mod verbs;

pub use native::{NativeTracker, continue_paused, find_in_flight, paused_hook};
pub use rolling::RollingTracker;

/// How an ECS-controller service deploys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    Rolling,
    /// BLUE_GREEN, LINEAR or CANARY, with its traffic routing in words.
    Native {
        kind: String,
        routing: String,
    },
}

impl Strategy {
    pub fn of(conf: &DeploymentConfiguration) -> Strategy {
        let bake = conf
            .bake_time_in_minutes()
            .map(|m| format!("; {m} min bake"))
            .unwrap_or_default();
        match conf.strategy() {
            Some(DeploymentStrategy::BlueGreen) => Strategy::Native {
                kind: "BLUE_GREEN".into(),
                routing: format!("all production traffic at once{bake}"),
            },
            Some(DeploymentStrategy::Canary) => Strategy::Native {
                kind: "CANARY".into(),
                routing: conf
                    .canary_configuration()
                    .map(|c| {
                        format!(
                            "canary: {}% first, the rest after {} min{bake}",
                            c.canary_percent().unwrap_or(0.0),
                            c.canary_bake_time_in_minutes().unwrap_or(0)
                        )
                    })
                    .unwrap_or_else(|| format!("canary{bake}")),
            },
            Some(DeploymentStrategy::Linear) => Strategy::Native {
                kind: "LINEAR".into(),
                routing: conf
                    .linear_configuration()
                    .map(|l| {
                        format!(
                            "linear: {}% more every {} min{bake}",
                            l.step_percent().unwrap_or(0.0),
                            l.step_bake_time_in_minutes().unwrap_or(0)
                        )
                    })
                    .unwrap_or_else(|| format!("linear{bake}")),
            },
            _ => Strategy::Rolling,
        }
    }

    pub fn name(&self) -> String {
        match self {
            Strategy::Rolling => "ECS rolling update".into(),
            Strategy::Native { kind, .. } => format!("ECS {kind}"),
        }
    }
}

/// One entry of the service's `deployments`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeploymentView {
    pub id: String,
    /// PRIMARY, ACTIVE or INACTIVE.
    pub status: String,
    pub task_definition: Option<String>,
    /// IN_PROGRESS, COMPLETED or FAILED.
    pub rollout_state: Option<String>,
    pub reason: Option<String>,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    pub failed: i32,
}

pub fn views(deployments: &[aws_sdk_ecs::types::Deployment]) -> Vec<DeploymentView> {
    deployments
        .iter()
        .map(|d| DeploymentView {
            id: d.id().unwrap_or_default().to_string(),
            status: d.status().unwrap_or_default().to_string(),
            task_definition: d.task_definition().map(str::to_string),
            rollout_state: d.rollout_state().map(|r| r.as_str().to_string()),
            reason: d.rollout_state_reason().map(str::to_string),
            desired: d.desired_count(),
            running: d.running_count(),
            pending: d.pending_count(),
            failed: d.failed_tasks(),
        })
        .collect()
}

/// The deployment in flight, if any: a PRIMARY still rolling out, or old tasks still draining.
pub fn in_flight(deployments: &[DeploymentView]) -> Option<&DeploymentView> {
    let primary = deployments.iter().find(|d| d.status == "PRIMARY")?;
    let rolling = primary.rollout_state.as_deref() == Some("IN_PROGRESS");
    (rolling || deployments.len() > 1).then_some(primary)
}

pub fn console_url(region: &str, cluster: &str, service: &str) -> String {
    let cluster = cluster.rsplit('/').next().unwrap_or(cluster);
    format!(
        "https://{region}.console.aws.amazon.com/ecs/v2/clusters/{cluster}/services/{service}/deployments?region={region}"
    )
}

/// What UpdateService started.
#[derive(Debug, Clone)]
pub struct Started {
    /// The new PRIMARY deployment (`ecs-svc/…`).
    pub deployment_id: String,
    /// False when ECS saw nothing to change and started no deployment.
    pub new: bool,
    previous_task_definition: Option<String>,
    seen_events: HashSet<String>,
    seen_service_deployments: HashSet<String>,
    /// Following a deployment started elsewhere: its past events are history, not news.
    quiet_first_read: bool,
}

impl Started {
    /// What a rolling stop goes back to: the revision the deployment replaces.
    pub fn previous_task_definition(&self) -> Option<&str> {
        self.previous_task_definition.as_deref()
    }

    /// A deployment in flight that greenlight did not start (`on-conflict: attach`).
    pub fn attach(service: &super::ServiceInfo, id: &str) -> Started {
        Started {
            deployment_id: id.to_string(),
            new: true,
            previous_task_definition: service
                .deployments
                .iter()
                .find(|v| v.status == "ACTIVE")
                .and_then(|v| v.task_definition.clone()),
            seen_events: HashSet::new(),
            seen_service_deployments: HashSet::new(),
            quiet_first_read: true,
        }
    }
}

/// UpdateService to the task definition. For native strategies the service deployments that
/// exist before are noted, so the one this call starts can be told apart.
pub async fn start(
    clients: &Clients,
    d: &DeployConfig,
    service: &super::ServiceInfo,
    task_definition_arn: &str,
) -> Result<Started> {
    let seen_service_deployments = match service.strategy {
        Strategy::Rolling => HashSet::new(),
        Strategy::Native { .. } => list_service_deployments(clients, &d.cluster, &d.service)
            .await?
            .into_iter()
            .map(|(arn, _)| arn)
            .collect(),
    };
    let mut req = clients
        .ecs
        .update_service()
        .cluster(&d.cluster)
        .service(&d.service)
        .task_definition(task_definition_arn)
        .force_new_deployment(d.force_new_deployment);
    if let Some(n) = d.desired_count {
        req = req.desired_count(n);
    }
    if let Some(p) = &d.propagate_tags {
        req = req.propagate_tags(PropagateTags::from(p.as_str()));
    }
    if let Some(b) = d.enable_ecs_managed_tags {
        req = req.enable_ecs_managed_tags(b);
    }
    if let Some(v) = &d.volume {
        req = req.volume_configurations(volume_configuration(v)?);
    }
    let out = req
        .send()
        .await
        .map_err(|e| Error::aws("UpdateService", &e))?;
    let svc = out
        .service()
        .ok_or_else(|| Error::aws_reply("ECS", "UpdateService", "the response has no service"))?;
    let after = views(svc.deployments());
    let primary = after
        .iter()
        .find(|v| v.status == "PRIMARY")
        .ok_or_else(|| {
            Error::aws_reply(
                "ECS",
                "UpdateService",
                "the service has no PRIMARY deployment",
            )
        })?;
    Ok(Started {
        deployment_id: primary.id.clone(),
        new: !service.deployments.iter().any(|v| v.id == primary.id),
        previous_task_definition: service.task_definition.clone(),
        seen_events: svc
            .events()
            .iter()
            .filter_map(|e| e.id().map(str::to_string))
            .collect(),
        seen_service_deployments,
        quiet_first_read: false,
    })
}

/// `service-managed-ebs-volume` as UpdateService takes it (checked when the inputs were read).
fn volume_configuration(v: &crate::config::ServiceVolume) -> Result<ServiceVolumeConfiguration> {
    let e = &v.ebs;
    let bad = |what: &str, err: aws_sdk_ecs::error::BuildError| {
        Error::input(
            "service-managed-ebs-volume",
            format!("{what}: {err}"),
            "give roleArn and each tag specification's resourceType",
        )
    };
    let tag_specifications = tag_specifications(e, "service-managed-ebs-volume")?;
    let ebs = ServiceManagedEbsVolumeConfiguration::builder()
        .role_arn(&e.role_arn)
        .set_encrypted(e.encrypted)
        .set_kms_key_id(e.kms_key_id.clone())
        .set_volume_type(e.volume_type.clone())
        .set_size_in_gib(e.size_in_gib)
        .set_snapshot_id(e.snapshot_id.clone())
        .set_volume_initialization_rate(e.volume_initialization_rate)
        .set_iops(e.iops)
        .set_throughput(e.throughput)
        .set_tag_specifications(tag_specifications)
        .set_filesystem_type(e.filesystem_type.as_deref().map(TaskFilesystemType::from))
        .build()
        .map_err(|err| bad("roleArn", err))?;
    ServiceVolumeConfiguration::builder()
        .name(&v.name)
        .managed_ebs_volume(ebs)
        .build()
        .map_err(|err| bad("name", err))
}

/// A managed EBS volume's tag specifications as ECS takes them (none: `None`).
pub(crate) fn tag_specifications(
    e: &crate::config::ManagedEbsVolume,
    input: &'static str,
) -> Result<Option<Vec<EbsTagSpecification>>> {
    let specs = e
        .tag_specifications
        .iter()
        .flatten()
        .map(|t| {
            EbsTagSpecification::builder()
                .resource_type(EbsResourceType::from(t.resource_type.as_str()))
                .set_tags(t.tags.as_ref().map(|tags| {
                    tags.iter()
                        .map(|tag| {
                            aws_sdk_ecs::types::Tag::builder()
                                .key(&tag.key)
                                .set_value(tag.value.clone())
                                .build()
                        })
                        .collect()
                }))
                .set_propagate_tags(t.propagate_tags.as_deref().map(PropagateTags::from))
                .build()
                .map_err(|err| {
                    Error::input(
                        input,
                        format!("tagSpecifications: {err}"),
                        "give each tag specification's resourceType",
                    )
                })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((!specs.is_empty()).then_some(specs))
}

/// (ARN, created at) of the service's recent service deployments.
async fn list_service_deployments(
    clients: &Clients,
    cluster: &str,
    service: &str,
) -> Result<Vec<(String, Option<aws_smithy_types::DateTime>)>> {
    let out = clients
        .ecs
        .list_service_deployments()
        .cluster(cluster)
        .service(service)
        .max_results(20)
        .send()
        .await
        .map_err(|e| Error::aws("ListServiceDeployments", &e))?;
    Ok(out
        .service_deployments()
        .iter()
        .filter_map(|b| {
            Some((
                b.service_deployment_arn()?.to_string(),
                b.created_at().copied(),
            ))
        })
        .collect())
}

fn short_task_definition(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The task definition the service ran before its last successful deployment, from the
/// service-deployment history.
pub async fn previous_task_definition(
    clients: &Clients,
    cluster: &str,
    service: &str,
) -> Result<Option<String>> {
    let out = clients
        .ecs
        .list_service_deployments()
        .cluster(cluster)
        .service(service)
        .status(aws_sdk_ecs::types::ServiceDeploymentStatus::Successful)
        .send()
        .await
        .map_err(|e| Error::aws("ListServiceDeployments", &e))?;
    let mut briefs: Vec<_> = out.service_deployments().to_vec();
    briefs.sort_by_key(|b| b.created_at().map(|t| (t.secs(), t.subsec_nanos())));
    let Some(arn) = briefs.last().and_then(|b| b.service_deployment_arn()) else {
        return Ok(None);
    };
    let sd = clients
        .ecs
        .describe_service_deployments()
        .service_deployment_arns(arn)
        .send()
        .await
        .map_err(|e| Error::aws("DescribeServiceDeployments", &e))?;
    let Some(source) = sd
        .service_deployments()
        .first()
        .and_then(|d| d.source_service_revisions().first())
        .and_then(|r| r.arn())
    else {
        return Ok(None);
    };
    let revs = clients
        .ecs
        .describe_service_revisions()
        .service_revision_arns(source)
        .send()
        .await
        .map_err(|e| Error::aws("DescribeServiceRevisions", &e))?;
    Ok(revs
        .service_revisions()
        .first()
        .and_then(|r| r.task_definition())
        .map(str::to_string))
}

/// A service deployment that has been made, as `rollback` needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Past {
    pub arn: String,
    pub status: String,
    /// The task definitions it deployed and replaced.
    pub target: Option<String>,
    pub source: Option<String>,
}

/// The service's two newest service deployments, newest first.
pub async fn last_deployments(
    clients: &Clients,
    cluster: &str,
    service: &str,
) -> Result<Vec<Past>> {
    let mut listed = list_service_deployments(clients, cluster, service).await?;
    listed.sort_by_key(|(_, at)| std::cmp::Reverse(at.map(|t| (t.secs(), t.subsec_nanos()))));
    let arns: Vec<String> = listed.into_iter().take(2).map(|(arn, _)| arn).collect();
    describe_past(clients, arns).await
}

/// The given service deployments with the task definitions they deploy and replace, in the
/// order given.
pub async fn describe_past(clients: &Clients, arns: Vec<String>) -> Result<Vec<Past>> {
    if arns.is_empty() {
        return Ok(Vec::new());
    }
    let out = clients
        .ecs
        .describe_service_deployments()
        .set_service_deployment_arns(Some(arns.clone()))
        .send()
        .await
        .map_err(|e| Error::aws("DescribeServiceDeployments", &e))?;
    let deployments = out.service_deployments();
    let revisions: Vec<String> = deployments
        .iter()
        .flat_map(|d| {
            d.target_service_revision()
                .and_then(|t| t.arn())
                .into_iter()
                .chain(d.source_service_revisions().first().and_then(|r| r.arn()))
                .map(str::to_string)
        })
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut task_definitions = std::collections::HashMap::new();
    if !revisions.is_empty() {
        let revs = clients
            .ecs
            .describe_service_revisions()
            .set_service_revision_arns(Some(revisions))
            .send()
            .await
            .map_err(|e| Error::aws("DescribeServiceRevisions", &e))?;
        for r in revs.service_revisions() {
            if let (Some(arn), Some(td)) = (r.service_revision_arn(), r.task_definition()) {
                task_definitions.insert(arn.to_string(), td.to_string());
            }
        }
    }
    let td_of = |arn: Option<&str>| arn.and_then(|a| task_definitions.get(a)).cloned();
    Ok(arns
        .iter()
        .filter_map(|arn| {
            let d = deployments
                .iter()
                .find(|d| d.service_deployment_arn() == Some(arn.as_str()))?;
            Some(Past {
                arn: arn.clone(),
                status: d
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                target: td_of(d.target_service_revision().and_then(|t| t.arn())),
                source: td_of(d.source_service_revisions().first().and_then(|r| r.arn())),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(id: &str, status: &str, rollout: &str) -> DeploymentView {
        DeploymentView {
            id: id.into(),
            status: status.into(),
            rollout_state: Some(rollout.into()),
            ..Default::default()
        }
    }

    #[test]
    fn in_flight_means_rolling_or_draining() {
        assert_eq!(in_flight(&[view("a", "PRIMARY", "COMPLETED")]), None);
        assert!(in_flight(&[view("a", "PRIMARY", "IN_PROGRESS")]).is_some());
        assert_eq!(
            in_flight(&[
                view("b", "PRIMARY", "COMPLETED"),
                view("a", "ACTIVE", "COMPLETED")
            ])
            .map(|d| d.id.as_str()),
            Some("b")
        );
    }

    #[test]
    fn strategy_routing_in_words() {
        let conf = DeploymentConfiguration::builder()
            .strategy(DeploymentStrategy::Canary)
            .bake_time_in_minutes(5)
            .canary_configuration(
                aws_sdk_ecs::types::CanaryConfiguration::builder()
                    .canary_percent(10.0)
                    .canary_bake_time_in_minutes(2)
                    .build(),
            )
            .build();
        assert_eq!(
            Strategy::of(&conf),
            Strategy::Native {
                kind: "CANARY".into(),
                routing: "canary: 10% first, the rest after 2 min; 5 min bake".into()
            }
        );
        assert_eq!(
            Strategy::of(&DeploymentConfiguration::builder().build()),
            Strategy::Rolling
        );
    }
}
