//! `tag`: which repository, and the template of the unique tag.

use super::inputs::Inputs;
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagConfig {
    /// A repository name, or a full repository reference without tag.
    pub image: String,
    pub template: String,
}

pub(super) fn tag_config(inputs: Inputs<'_>) -> Result<TagConfig> {
    let image = inputs.required(
        "image",
        "the ECR repository name (e.g. `web`) or its full URI",
        "tag",
    )?;
    if image.contains('@')
        || image
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains(':'))
    {
        return Err(Error::input(
            "image",
            format!("`{image}` already has a tag or digest"),
            "give the repository only; `tag` computes the tag from `image-tag-template`",
        ));
    }
    Ok(TagConfig {
        image,
        template: inputs.string("image-tag-template").unwrap_or_default(),
    })
}
