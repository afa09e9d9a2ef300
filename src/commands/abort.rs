//! `abort`: stop the deployment in flight with rollback and follow it back.

use crate::aws;
use crate::config::VerbConfig;
use crate::controllers::{Controller, describe_service};
use crate::error::Result;
use crate::event::Progress;
use crate::outputs::Outputs;

use super::promote::EXTERNAL_FIX;

pub async fn abort(
    v: &VerbConfig,
    settings: aws::Settings,
    progress: &Progress,
    outputs: &mut Outputs,
) -> Result<u8> {
    let clients = aws::Clients::from_env(settings).await?;
    let service = describe_service(&clients, &v.cluster, &v.service).await?;
    let controller = Controller::require(&service, &v.service, EXTERNAL_FIX)?;
    let end = controller
        .abort(&clients, v, &service, progress, outputs)
        .await?;
    outputs.insert("deployment-status", end.status);
    Ok(end.exit_code)
}
