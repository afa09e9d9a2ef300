//! AWS clients from the standard credential/region chain. `AWS_ENDPOINT_URL` (honoured by
//! aws-config itself) points them at the emulator.

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;

use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct Clients {
    pub ecs: aws_sdk_ecs::Client,
    pub codedeploy: aws_sdk_codedeploy::Client,
    pub region: String,
}

impl Clients {
    pub async fn from_env() -> Result<Clients> {
        let conf = aws_config::defaults(BehaviorVersion::latest())
            // Throttling is routine while polling many services; adaptive retry backs off
            // client-side instead of failing the run.
            .retry_config(RetryConfig::adaptive().with_max_attempts(6))
            .load()
            .await;
        let region = conf.region().map(ToString::to_string).ok_or_else(|| {
            Error::state(
                "no AWS region is configured",
                "set AWS_REGION (aws-actions/configure-aws-credentials does this) or a profile region",
            )
        })?;
        Ok(Clients {
            ecs: aws_sdk_ecs::Client::new(&conf),
            codedeploy: aws_sdk_codedeploy::Client::new(&conf),
            region,
        })
    }
}
