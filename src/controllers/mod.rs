//! Deploy: read the live service, dispatch by its deployment controller.

pub mod alarms;
pub mod codedeploy;
pub mod diagnose;
pub mod ecs;
pub mod poll;
pub mod route;
pub mod standing;
pub mod task;
pub mod watch;

use std::future::Future;

use aws_sdk_ecs::types::DeploymentControllerType;

use crate::aws::Clients;
use crate::config::VerbConfig;
use crate::error::{Error, Result, sdk_error_code};
use crate::event::Progress;
use crate::outputs::Outputs;
use watch::{WatchEnd, WatchOptions};

/// What greenlight needs to know of the live service before touching anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceInfo {
    pub arn: String,
    pub controller: Kind,
    pub task_definition: Option<String>,
    /// The first load balancer's container and port: where CodeDeploy shifts traffic.
    pub load_balancer: Option<(String, i64)>,
    pub desired_count: i32,
    /// ECS controller: how the service deploys.
    pub strategy: ecs::Strategy,
    /// ECS controller: the deployment circuit breaker, `Some(rollback)` when enabled.
    pub circuit_breaker: Option<bool>,
    /// ECS-native strategies: a PAUSE lifecycle hook makes the deployment wait for promotion.
    pub pause_hook: bool,
    /// ECS controller: the service's deployments, PRIMARY first.
    pub deployments: Vec<ecs::DeploymentView>,
    /// The service's awsvpc network (its primary task set's, for CodeDeploy services): where a
    /// one-off task runs when no subnets are given.
    pub network: Option<AwsVpc>,
    /// ECS controller: the CloudWatch alarms of `deploymentConfiguration.alarms`, when enabled.
    pub alarms: Vec<String>,
    /// The target groups of the service's load balancers (and the alternate ones of an
    /// ECS-native blue/green), by ARN: whose health a diagnosis shows.
    pub target_group_arns: Vec<String>,
}

/// An awsvpc network configuration, as the one-off task needs it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AwsVpc {
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: Option<String>,
}

impl AwsVpc {
    fn of(n: &aws_sdk_ecs::types::NetworkConfiguration) -> Option<AwsVpc> {
        let v = n.awsvpc_configuration()?;
        Some(AwsVpc {
            subnets: v.subnets().to_vec(),
            security_groups: v.security_groups().to_vec(),
            assign_public_ip: v.assign_public_ip().map(|a| a.as_str().to_string()),
        })
    }
}

/// The deployment controller ECS reports for a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    CodeDeploy,
    Ecs,
    External,
}

/// How greenlight drives a service's deployments, chosen once from the described service: the
/// one place the commands learn what differs between controllers. Adding a controller is a
/// module beside these and an arm in each match below; no command changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Controller {
    /// CodeDeploy blue/green (canary, linear, all at once).
    CodeDeploy,
    /// An ECS rolling update.
    Rolling,
    /// ECS-native blue/green, linear or canary.
    Native,
}

/// A deployment that did not go through, and what undid it, as `rollback` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undone {
    pub id: String,
    /// What it deployed.
    pub task_definition: String,
    /// How it ended.
    pub status: String,
    /// What undid it, in words ("rolled back by d-…").
    pub by: Option<String>,
}

impl Controller {
    /// `None` for the EXTERNAL controller, which greenlight cannot drive.
    pub fn of(service: &ServiceInfo) -> Option<Controller> {
        match service.controller {
            Kind::CodeDeploy => Some(Controller::CodeDeploy),
            Kind::Ecs if service.strategy == ecs::Strategy::Rolling => Some(Controller::Rolling),
            Kind::Ecs => Some(Controller::Native),
            Kind::External => None,
        }
    }

    /// `of`, with the EXTERNAL controller refused; `fix` says what to do instead.
    pub fn require(service: &ServiceInfo, name: &str, fix: &str) -> Result<Controller> {
        Controller::of(service).ok_or_else(|| {
            Error::state(
                format!(
                    "service `{name}` uses the EXTERNAL deployment controller, which greenlight cannot drive"
                ),
                fix,
            )
        })
    }

    /// `promote`: continue the deployment waiting for it, then follow it to its end.
    pub async fn promote(
        self,
        clients: &Clients,
        v: &VerbConfig,
        service: &ServiceInfo,
        progress: &Progress,
        outputs: &mut Outputs,
        cancel: impl Future<Output = String>,
    ) -> Result<WatchEnd> {
        let opts = WatchOptions::from(v);
        match self {
            Controller::CodeDeploy => {
                codedeploy::verbs::promote_in_flight(clients, v, &opts, progress, outputs, cancel)
                    .await
            }
            Controller::Rolling => ecs::rolling::promote(v),
            Controller::Native => {
                ecs::native::promote(clients, v, service, &opts, progress, outputs, cancel).await
            }
        }
    }

    /// `abort`: stops the deployment in flight with rollback and follows it back to its end.
    /// The exit code is the verb's: 0 only when it ended where the stop said it would.
    pub async fn abort(
        self,
        clients: &Clients,
        v: &VerbConfig,
        service: &ServiceInfo,
        progress: &Progress,
        outputs: &mut Outputs,
    ) -> Result<WatchEnd> {
        let opts = WatchOptions::from(v);
        let (end, expected) = match self {
            Controller::CodeDeploy => {
                return codedeploy::verbs::abort_in_flight(
                    clients, v, service, &opts, progress, outputs,
                )
                .await;
            }
            Controller::Rolling => {
                ecs::rolling::abort(clients, v, service, &opts, progress, outputs).await?
            }
            Controller::Native => {
                ecs::native::abort(clients, v, service, &opts, progress, outputs).await?
            }
        };
        standing::ended_where(clients, v, end, "Stopped", expected.as_deref(), progress).await
    }

    /// Whether a deployment of the service is in flight.
    pub async fn any_in_flight(
        self,
        clients: &Clients,
        v: &VerbConfig,
        service: &ServiceInfo,
    ) -> Result<bool> {
        match self {
            Controller::CodeDeploy => codedeploy::verbs::any_in_flight(clients, v).await,
            Controller::Rolling | Controller::Native => Ok(ecs::verbs::any_in_flight(service)),
        }
    }

    /// The service's last deployment, when it did not go through and was undone.
    pub async fn undone(
        self,
        clients: &Clients,
        v: &VerbConfig,
        live: &str,
    ) -> Result<Option<Undone>> {
        match self {
            Controller::CodeDeploy => codedeploy::verbs::undone(clients, v).await,
            Controller::Rolling | Controller::Native => ecs::verbs::undone(clients, v, live).await,
        }
    }

    /// What ran before `live`, from the controller's deployment history.
    pub async fn previous(
        self,
        clients: &Clients,
        v: &VerbConfig,
        live: &str,
    ) -> Result<Option<String>> {
        match self {
            Controller::CodeDeploy => {
                codedeploy::previous_task_definition(
                    clients,
                    &v.application,
                    &v.deployment_group,
                    live,
                )
                .await
            }
            Controller::Rolling | Controller::Native => {
                ecs::verbs::previous(clients, v, live).await
            }
        }
    }

    /// `status` rows for the deployment in flight.
    pub async fn status_rows(
        self,
        clients: &Clients,
        v: &VerbConfig,
        service: &ServiceInfo,
        outputs: &mut Outputs,
    ) -> Result<Vec<(String, String)>> {
        match self {
            Controller::CodeDeploy => codedeploy::verbs::status_rows(clients, v, outputs).await,
            Controller::Rolling | Controller::Native => {
                Ok(ecs::verbs::status_rows(v, service, outputs))
            }
        }
    }
}

/// DescribeServices, with every "cannot deploy here" case turned into an exit-2 error.
pub async fn describe_service(
    clients: &Clients,
    cluster: &str,
    service_name: &str,
) -> Result<ServiceInfo> {
    let out = clients
        .ecs
        .describe_services()
        .cluster(cluster)
        .services(service_name)
        .send()
        .await
        .map_err(|e| match sdk_error_code(&e) {
            Some("ClusterNotFoundException") => Error::state(
                format!("cluster `{}` does not exist in {}", cluster, clients.region),
                "check the `cluster` input and the AWS region",
            ),
            _ => Error::aws("DescribeServices", &e),
        })?;
    let Some(service) = out.services().first() else {
        let reason = out
            .failures()
            .first()
            .and_then(|f| f.reason())
            .unwrap_or("MISSING");
        return Err(Error::state(
            format!(
                "service `{}` was not found in cluster `{}` ({reason})",
                service_name, cluster
            ),
            "check the `service` and `cluster` inputs; create the service before deploying to it",
        ));
    };
    if service.status() != Some("ACTIVE") {
        return Err(Error::state(
            format!(
                "service `{}` is {}, not ACTIVE",
                service_name,
                service.status().unwrap_or("in an unknown state")
            ),
            "deploy to an active service",
        ));
    }
    let controller = match service.deployment_controller().map(|d| d.r#type()) {
        Some(DeploymentControllerType::CodeDeploy) => Kind::CodeDeploy,
        Some(DeploymentControllerType::External) => Kind::External,
        _ => Kind::Ecs,
    };
    let load_balancer = service.load_balancers().first().and_then(|lb| {
        Some((
            lb.container_name()?.to_string(),
            i64::from(lb.container_port()?),
        ))
    });
    let conf = service.deployment_configuration();
    Ok(ServiceInfo {
        arn: service.service_arn().unwrap_or_default().to_string(),
        controller,
        task_definition: service.task_definition().map(str::to_string),
        load_balancer,
        desired_count: service.desired_count(),
        strategy: conf
            .map(ecs::Strategy::of)
            .unwrap_or(ecs::Strategy::Rolling),
        circuit_breaker: conf
            .and_then(|c| c.deployment_circuit_breaker())
            .filter(|cb| cb.enable())
            .map(|cb| cb.rollback()),
        pause_hook: conf.is_some_and(|c| {
            c.lifecycle_hooks().iter().any(|h| {
                h.target_type()
                    == Some(&aws_sdk_ecs::types::DeploymentLifecycleHookTargetType::Pause)
            })
        }),
        deployments: ecs::views(service.deployments()),
        target_group_arns: service
            .load_balancers()
            .iter()
            .flat_map(|lb| {
                lb.target_group_arn().into_iter().chain(
                    lb.advanced_configuration()
                        .and_then(|a| a.alternate_target_group_arn()),
                )
            })
            .map(str::to_string)
            .collect(),
        alarms: conf
            .and_then(|c| c.alarms())
            .filter(|a| a.enable())
            .map(|a| a.alarm_names().to_vec())
            .unwrap_or_default(),
        network: service
            .network_configuration()
            .or_else(|| {
                let sets = service.task_sets();
                sets.iter()
                    .find(|t| t.status() == Some("PRIMARY"))
                    .or(sets.first())
                    .and_then(|t| t.network_configuration())
            })
            .and_then(AwsVpc::of),
    })
}
