//! `promote`: continue a blue/green deployment waiting for it, then follow it to the end.

use std::future::Future;

use crate::aws;
use crate::config::VerbConfig;
use crate::controllers::{Controller, describe_service};
use crate::error::Result;
use crate::event::Progress;
use crate::outputs::Outputs;

/// The fix when the service's controller is EXTERNAL, for every verb.
pub const EXTERNAL_FIX: &str = "act on it with the tool that owns its task sets";

pub async fn promote(
    v: &VerbConfig,
    settings: aws::Settings,
    progress: &Progress,
    outputs: &mut Outputs,
    cancel: impl Future<Output = String>,
) -> Result<u8> {
    let clients = aws::Clients::from_env(settings).await?;
    let service = describe_service(&clients, &v.cluster, &v.service).await?;
    let controller = Controller::require(&service, &v.service, EXTERNAL_FIX)?;
    let end = controller
        .promote(&clients, v, &service, progress, outputs, cancel)
        .await?;
    outputs.insert("deployment-status", end.status);
    Ok(end.exit_code)
}
