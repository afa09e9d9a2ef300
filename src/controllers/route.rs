//! Which controller deploys the service, checked before any write, and the three things a
//! deploy asks of it: what is in flight, start, and follow.

use std::future::Future;

use tokio::time::Instant;

use crate::aws::Clients;
use crate::config::{DeployConfig, WaitUntil};
use crate::controllers::watch::{self, WatchEnd, WatchOptions};
use crate::controllers::{Controller, ServiceInfo, codedeploy, ecs, poll::Poller};
use crate::error::{Error, Result};
use crate::event::{Event, Progress};
use crate::outputs::Outputs;
use crate::stages::appspec::{AppSpec, UserFile};
use crate::stages::task_def::TaskDef;

/// How this service deploys.
#[derive(Debug, Clone)]
pub enum Route {
    CodeDeploy {
        appspec: AppSpec,
        checked: Box<codedeploy::Checked>,
    },
    Ecs {
        strategy: ecs::Strategy,
        circuit_breaker: Option<bool>,
    },
}

/// A deployment of the same service that has not ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InFlight {
    pub id: String,
    pub task_definition: Option<String>,
    pub url: String,
}

/// Checks the controller and everything it needs (AppSpec, deployment group and config), and
/// says in the log how the deployment will go. `read` is CodeDeploy's first-wave reads, made
/// before the controller was known; another controller drops them.
pub async fn route(
    clients: &Clients,
    d: &DeployConfig,
    service: &ServiceInfo,
    user_appspec: Option<UserFile>,
    td: &TaskDef,
    read: codedeploy::Prefetched,
    progress: &Progress,
) -> Result<Route> {
    let controller = Controller::require(
        service,
        &d.service,
        "deploy it with the tool that owns its task sets",
    )?;
    match controller {
        Controller::CodeDeploy => {
            if d.volume.is_some() {
                // The AWS action drops it silently here; a volume the user asked for and did
                // not get is worse than a refusal.
                return Err(Error::input(
                    "service-managed-ebs-volume",
                    format!(
                        "service `{}` uses the CODE_DEPLOY deployment controller, where UpdateService cannot change its volume configuration",
                        d.service
                    ),
                    "drop service-managed-ebs-volume(-name) for this service; its volume configuration is set on the service itself",
                ));
            }
            if let Some(f) = user_appspec.as_ref().filter(|f| f.by_default) {
                progress.emit(Event::Info(format!(
                    "AppSpec: {} (found in the working directory, as the AWS deploy action reads it; set codedeploy-appspec to use another)",
                    f.path.display()
                )));
            }
            let appspec = appspec_for(d, service, user_appspec, td)?;
            let checked = codedeploy::precheck(clients, d, read).await?;
            for w in &checked.warnings {
                progress.emit(Event::Warning(w.clone()));
            }
            progress.emit(Event::Info(format!(
                "deployment config {} ({})",
                checked.config_name, checked.routing
            )));
            if d.wait_until == WaitUntil::Ready && !checked.waits_at_ready {
                progress.emit(Event::Warning(format!(
                    "wait-until: ready, but deployment group `{}` shifts traffic without waiting (deploymentReadyOption is not STOP_DEPLOYMENT); waiting until complete instead",
                    d.deployment_group
                )));
            }
            Ok(Route::CodeDeploy {
                appspec,
                checked: Box::new(checked),
            })
        }
        Controller::Rolling | Controller::Native => {
            let route = Route::Ecs {
                strategy: service.strategy.clone(),
                circuit_breaker: service.circuit_breaker,
            };
            progress.emit(Event::Info(format!("deploys with {}", route.describe())));
            if let Some(v) = &d.volume {
                let at_launch = td.volumes_configured_at_launch();
                if !at_launch.contains(&v.name.as_str()) {
                    return Err(Error::input(
                        "service-managed-ebs-volume-name",
                        format!(
                            "`{}` is not a volume of the task definition with `configuredAtLaunch: true`",
                            v.name
                        ),
                        if at_launch.is_empty() {
                            "add the volume to the task definition's `volumes` with `configuredAtLaunch: true`".to_string()
                        } else {
                            format!("volumes configured at launch: {}", at_launch.join(", "))
                        },
                    ));
                }
                progress.emit(Event::Info(format!(
                    "volume `{}`: a managed EBS volume for each task (UpdateService volumeConfigurations)",
                    v.name
                )));
            }
            if d.appspec.is_some() {
                progress.emit(Event::Warning(format!(
                    "codedeploy-appspec is ignored: service `{}` uses the ECS deployment controller",
                    d.service
                )));
            }
            if d.wait_until == WaitUntil::Ready {
                let why = match &service.strategy {
                    ecs::Strategy::Rolling => Some("a rolling update has no test-traffic stage"),
                    ecs::Strategy::Native { .. } if !service.pause_hook => Some(
                        "the service has no PAUSE lifecycle hook, so the deployment never waits for promotion",
                    ),
                    ecs::Strategy::Native { .. } => None,
                };
                if let Some(why) = why {
                    progress.emit(Event::Warning(format!(
                        "wait-until: ready, but {why}; waiting until complete instead"
                    )));
                }
            }
            Ok(route)
        }
    }
}

fn appspec_for(
    d: &DeployConfig,
    service: &ServiceInfo,
    user_appspec: Option<UserFile>,
    td: &TaskDef,
) -> Result<AppSpec> {
    match (user_appspec, &service.load_balancer) {
        (Some(file), _) => {
            let spec = file.spec?;
            spec.check_against(&format!("AppSpec {}", file.path.display()), td)?;
            Ok(spec)
        }
        (None, Some((name, port))) => {
            let spec = AppSpec::generate(name, *port);
            spec.check_against(&format!("the load balancer of service `{}`", d.service), td)?;
            Ok(spec)
        }
        (None, None) => Err(Error::input(
            "codedeploy-appspec",
            format!(
                "service `{}` has no load balancer to derive an AppSpec from",
                d.service
            ),
            "give an AppSpec file with LoadBalancerInfo.ContainerName and ContainerPort",
        )),
    }
}

impl Route {
    /// The controller and its traffic routing, in words.
    /// The CloudWatch alarms that stop or roll back this service's deployment.
    pub fn alarms<'a>(&'a self, service: &'a ServiceInfo) -> &'a [String] {
        match self {
            Route::CodeDeploy { checked, .. } => &checked.alarms,
            Route::Ecs { .. } => &service.alarms,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Route::CodeDeploy { checked, .. } => {
                format!("{} ({})", checked.config_name, checked.routing)
            }
            Route::Ecs {
                strategy: ecs::Strategy::Native { kind, routing },
                ..
            } => format!("ECS {kind} ({routing})"),
            Route::Ecs {
                strategy: ecs::Strategy::Rolling,
                circuit_breaker,
            } => format!(
                "an ECS rolling update ({})",
                match circuit_breaker {
                    Some(true) => "circuit breaker on, rolls back",
                    Some(false) => "circuit breaker on, no rollback",
                    None => "no circuit breaker",
                }
            ),
        }
    }

    /// The deployment of this service that has not ended, if any.
    pub async fn conflict(
        &self,
        clients: &Clients,
        d: &DeployConfig,
        service: &ServiceInfo,
    ) -> Result<Option<InFlight>> {
        match self {
            Route::CodeDeploy { checked, .. } => match checked.in_flight.first() {
                Some(id) => Ok(Some(InFlight {
                    id: id.clone(),
                    task_definition: codedeploy::task_definition_of(clients, id).await?,
                    url: codedeploy::console_url(&clients.region, id),
                })),
                None => Ok(None),
            },
            Route::Ecs { .. } => Ok(ecs::in_flight(&service.deployments).map(|p| InFlight {
                id: p.id.clone(),
                task_definition: p.task_definition.clone(),
                url: ecs::console_url(&clients.region, &d.cluster, &d.service),
            })),
        }
    }

    /// Whether a deployment of the service is still in flight (for `on-conflict: wait`).
    pub async fn busy(&self, clients: &Clients, d: &DeployConfig) -> Result<bool> {
        match self {
            Route::CodeDeploy { .. } => {
                Ok(
                    !codedeploy::in_flight(clients, &d.application, &d.deployment_group)
                        .await?
                        .is_empty(),
                )
            }
            Route::Ecs { .. } => {
                let service = super::describe_service(clients, &d.cluster, &d.service).await?;
                Ok(ecs::in_flight(&service.deployments).is_some())
            }
        }
    }

    /// Starts the deployment of `arn` and follows it as `wait-until` says, within `deadline`
    /// when the run's clock already started.
    #[allow(clippy::too_many_arguments)]
    pub async fn start(
        &self,
        clients: &Clients,
        d: &DeployConfig,
        service: &ServiceInfo,
        arn: &str,
        progress: &Progress,
        outputs: &mut Outputs,
        deadline: Option<Instant>,
        cancel: impl Future<Output = String>,
    ) -> Result<WatchEnd> {
        let opts = WatchOptions {
            deadline,
            ..WatchOptions::from(d)
        };
        match self {
            Route::CodeDeploy { appspec, checked } => {
                let opts = WatchOptions {
                    step_interval: checked.step_interval,
                    ..opts
                };
                let id = codedeploy::start(clients, d, checked, appspec.render(arn)).await?;
                outputs.insert("codedeploy-deployment-id", id.clone());
                outputs.insert("deployment-id", id.clone());
                progress.emit(Event::DeploymentCreated {
                    id: id.clone(),
                    config: checked.config_name.clone(),
                    console_url: codedeploy::console_url(&clients.region, &id),
                });
                // CreateDeployment's answer is all `none` waits for: reading the deployment
                // back would only cost round trips to learn it was created.
                if d.wait_until == WaitUntil::None {
                    return Ok(WatchEnd::new("Created", 0));
                }
                let end = codedeploy::watch(
                    clients,
                    &opts,
                    &id,
                    (&d.cluster, &d.service),
                    progress,
                    Poller::from_env(),
                    cancel,
                )
                .await?;
                Ok(after_codedeploy(clients, d, &id, end, progress).await)
            }
            Route::Ecs { strategy, .. } => {
                let started = ecs::start(clients, d, service, arn).await?;
                outputs.insert("deployment-id", started.deployment_id.clone());
                if !started.new {
                    progress.emit(Event::Info(format!(
                        "ECS started no deployment: the service already runs {arn}; set force-new-deployment to replace its tasks anyway"
                    )));
                    return Ok(WatchEnd::new("Succeeded", 0));
                }
                progress.emit(Event::DeploymentCreated {
                    id: started.deployment_id.clone(),
                    config: strategy.name(),
                    console_url: ecs::console_url(&clients.region, &d.cluster, &d.service),
                });
                if d.wait_until == WaitUntil::None {
                    return Ok(WatchEnd::new("InProgress", 0));
                }
                follow_ecs(clients, d, strategy, started, &opts, progress, cancel).await
            }
        }
    }

    /// Follows a deployment someone else started (`on-conflict: attach`).
    #[allow(clippy::too_many_arguments)]
    pub async fn follow(
        &self,
        clients: &Clients,
        d: &DeployConfig,
        c: &InFlight,
        service: &ServiceInfo,
        progress: &Progress,
        deadline: Option<Instant>,
        cancel: impl Future<Output = String>,
    ) -> Result<WatchEnd> {
        let opts = WatchOptions {
            deadline,
            ..WatchOptions::from(d)
        };
        match self {
            Route::CodeDeploy { .. } => {
                let end = codedeploy::watch(
                    clients,
                    &opts,
                    &c.id,
                    (&d.cluster, &d.service),
                    progress,
                    Poller::from_env(),
                    cancel,
                )
                .await?;
                Ok(after_codedeploy(clients, d, &c.id, end, progress).await)
            }
            Route::Ecs { strategy, .. } => {
                let started = ecs::Started::attach(service, &c.id);
                follow_ecs(clients, d, strategy, started, &opts, progress, cancel).await
            }
        }
    }
}

/// A CodeDeploy deployment that ended stopped or failed is rolled back by a deployment of
/// CodeDeploy's own: the step ends once that one has (within the stop grace), saying where the
/// service stands. A stop that got no end state has nothing more to wait for.
async fn after_codedeploy(
    clients: &Clients,
    d: &DeployConfig,
    id: &str,
    end: WatchEnd,
    progress: &Progress,
) -> WatchEnd {
    if end.exit_code != 0 && end.status != "Stopping" {
        codedeploy::await_rollback(
            clients,
            id,
            (&d.cluster, &d.service),
            watch::STOP_GRACE,
            progress,
            Poller::from_env(),
        )
        .await;
    }
    end
}

async fn follow_ecs(
    clients: &Clients,
    d: &DeployConfig,
    strategy: &ecs::Strategy,
    started: ecs::Started,
    opts: &WatchOptions,
    progress: &Progress,
    cancel: impl Future<Output = String>,
) -> Result<WatchEnd> {
    match strategy {
        ecs::Strategy::Rolling => {
            let mut t = ecs::RollingTracker::new(clients, &d.cluster, &d.service, started);
            watch::watch(&mut t, opts, progress, Poller::from_env(), cancel).await
        }
        ecs::Strategy::Native { .. } => {
            let mut t = ecs::NativeTracker::new(clients, &d.cluster, &d.service, started);
            watch::watch(&mut t, opts, progress, Poller::from_env(), cancel).await
        }
    }
}
