//! AWS clients from the standard credential/region chain. `AWS_ENDPOINT_URL` (honoured by
//! aws-config itself) points them at the emulator.
//!
//! Every request is bounded (promise 3, a known end state in bounded time): a connection
//! attempt by `CONNECT_TIMEOUT`, one attempt by `ATTEMPT_TIMEOUT`, a whole operation with its
//! retries by `OPERATION_TIMEOUT`. Retries are the SDK's standard ones with a short backoff cap:
//! the adaptive mode's client-side rate limiter once stretched a throttled watch to minutes.

use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};

use crate::error::{Error, Result};

pub mod bounds;

pub use bounds::{Settings, retry_config, timeout_config};

#[derive(Debug, Clone)]
pub struct Clients {
    pub ecs: aws_sdk_ecs::Client,
    pub codedeploy: aws_sdk_codedeploy::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub sts: aws_sdk_sts::Client,
    /// CloudWatch Logs: a one-off task's `awslogs` lines, log groups to verify.
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// ELBv2: the deployment group's target groups and listeners, and target health.
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    /// CloudWatch: the alarms that watch a deployment.
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// What `verify` reads: roles, SSM parameters, Secrets Manager secrets (metadata only).
    pub iam: aws_sdk_iam::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub region: String,
    conf: SdkConfig,
}

impl Clients {
    pub async fn from_env(settings: Settings) -> Result<Clients> {
        let conf = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(retry_config(settings))
            .timeout_config(timeout_config())
            .stalled_stream_protection(
                aws_config::stalled_stream_protection::StalledStreamProtectionConfig::enabled()
                    .grace_period(Duration::from_secs(5))
                    .build(),
            )
            .load()
            .await;
        if conf.region().is_none() {
            return Err(Error::state(
                "no AWS region is configured",
                "set AWS_REGION (aws-actions/configure-aws-credentials does this) or a profile region",
            ));
        }
        Ok(Clients::from_sdk_config(conf))
    }

    /// Clients from an explicit config (tests swap single clients for mocks afterwards).
    pub fn from_sdk_config(conf: SdkConfig) -> Clients {
        Clients {
            ecs: aws_sdk_ecs::Client::new(&conf),
            codedeploy: aws_sdk_codedeploy::Client::new(&conf),
            ecr: aws_sdk_ecr::Client::new(&conf),
            sts: aws_sdk_sts::Client::new(&conf),
            logs: aws_sdk_cloudwatchlogs::Client::new(&conf),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&conf),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(&conf),
            iam: aws_sdk_iam::Client::new(&conf),
            ssm: aws_sdk_ssm::Client::new(&conf),
            secrets: aws_sdk_secretsmanager::Client::new(&conf),
            region: conf.region().map(ToString::to_string).unwrap_or_default(),
            conf,
        }
    }

    /// An ECR client for the registry's own region, which may differ from the deploy region.
    pub fn ecr_in(&self, region: &str) -> aws_sdk_ecr::Client {
        if region == self.region {
            return self.ecr.clone();
        }
        let conf = aws_sdk_ecr::config::Builder::from(&self.conf)
            .region(aws_sdk_ecr::config::Region::new(region.to_string()))
            .build();
        aws_sdk_ecr::Client::from_conf(conf)
    }

    /// A CloudWatch Logs client for a log group's own region (`awslogs-region`).
    pub fn logs_in(&self, region: &str) -> aws_sdk_cloudwatchlogs::Client {
        if region == self.region {
            return self.logs.clone();
        }
        let conf = aws_sdk_cloudwatchlogs::config::Builder::from(&self.conf)
            .region(aws_sdk_cloudwatchlogs::config::Region::new(
                region.to_string(),
            ))
            .build();
        aws_sdk_cloudwatchlogs::Client::from_conf(conf)
    }

    /// An SSM client for a parameter's own region.
    pub fn ssm_in(&self, region: &str) -> aws_sdk_ssm::Client {
        if region == self.region {
            return self.ssm.clone();
        }
        let conf = aws_sdk_ssm::config::Builder::from(&self.conf)
            .region(aws_sdk_ssm::config::Region::new(region.to_string()))
            .build();
        aws_sdk_ssm::Client::from_conf(conf)
    }

    /// A Secrets Manager client for a secret's own region.
    pub fn secrets_in(&self, region: &str) -> aws_sdk_secretsmanager::Client {
        if region == self.region {
            return self.secrets.clone();
        }
        let conf = aws_sdk_secretsmanager::config::Builder::from(&self.conf)
            .region(aws_sdk_secretsmanager::config::Region::new(
                region.to_string(),
            ))
            .build();
        aws_sdk_secretsmanager::Client::from_conf(conf)
    }

    /// The caller's account id (STS GetCallerIdentity).
    pub async fn account_id(&self) -> Result<String> {
        let out = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| Error::aws("GetCallerIdentity", &e))?;
        out.account().map(str::to_string).ok_or_else(|| {
            Error::aws_reply("STS", "GetCallerIdentity", "the response has no account")
        })
    }
}
