//! Deploy: read the live service, dispatch by its deployment controller.

pub mod codedeploy;
pub mod ecs;
pub mod poll;
pub mod route;
pub mod watch;

use aws_sdk_ecs::types::DeploymentControllerType;

use crate::aws::Clients;
use crate::error::{Error, Result, sdk_error_code};

/// What greenlight needs to know of the live service before touching anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceInfo {
    pub arn: String,
    pub controller: Controller,
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Controller {
    CodeDeploy,
    Ecs,
    External,
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
        Some(DeploymentControllerType::CodeDeploy) => Controller::CodeDeploy,
        Some(DeploymentControllerType::External) => Controller::External,
        _ => Controller::Ecs,
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
    })
}
