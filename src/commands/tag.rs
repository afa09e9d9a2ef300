//! `tag`: the unique, immutable image reference a build should push and deploy.

use crate::aws::Clients;
use crate::config::TagConfig;
use crate::error::Result;
use crate::event::{Event, Progress};
use crate::outputs::Outputs;
use crate::stages::image::{ImageRef, TagContext, render_tag, repository_uri};

/// `greenlight tag`: the unique, immutable reference this build should push and deploy.
pub async fn run(
    cfg: &TagConfig,
    settings: crate::aws::Settings,
    progress: &Progress,
    outputs: &mut Outputs,
) -> Result<u8> {
    let pr = std::env::var_os("GITHUB_EVENT_PATH")
        .and_then(|p| crate::gha::event::read(std::path::Path::new(&p)).ok())
        .and_then(|e| e.pr_number);
    let ctx = TagContext::from_env(time::OffsetDateTime::now_utc(), pr);
    let tag = render_tag(&cfg.template, &ctx)?;
    // A full reference needs no AWS call at all; only a bare repository name asks STS.
    let needs_aws = ImageRef::parse(&cfg.image)
        .map(|r| r.registry.is_none())
        .unwrap_or(false);
    let clients = if needs_aws {
        Some(Clients::from_env(settings).await?)
    } else {
        None
    };
    let repo = repository_uri(&cfg.image, clients.as_ref()).await?;
    let image = format!("{repo}:{tag}");
    progress.emit(Event::Info(format!("image {image}")));
    outputs.insert("image", image);
    outputs.insert("image-tag", tag);
    Ok(0)
}
