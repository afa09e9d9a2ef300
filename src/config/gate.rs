//! The scan gate's settings. The policy types come from the gate's pure core, which reads no
//! configuration, so the arrow runs config → policy only.

use std::path::PathBuf;

use super::inputs::Inputs;
use crate::error::Result;
use crate::stages::scan_gate::policy::{Policy, Thresholds, load_ignore_file};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnMissingScan {
    Start,
    Fail,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateConfig {
    pub enabled: bool,
    pub policy: Policy,
    pub wait_minutes: u32,
    pub on_missing: OnMissingScan,
    pub sarif_file: Option<PathBuf>,
    /// Tags that may point at different images over time; refused besides `latest`.
    pub mutable_tags: Vec<String>,
    /// Plan mode: never start a scan (StartImageScan is a write); a missing scan blocks.
    pub read_only: bool,
}

pub(super) fn gate_config(inputs: Inputs<'_>) -> Result<GateConfig> {
    let ignore_file = inputs.path("scan-ignore-file");
    let ignore = match &ignore_file {
        Some(path) => load_ignore_file(path)?,
        None => Vec::new(),
    };
    Ok(GateConfig {
        enabled: inputs.flag("scan-gate")?,
        policy: Policy {
            thresholds: Thresholds::parse(inputs.get("severity-thresholds").unwrap_or(""))?,
            fixable_only: inputs.flag("scan-fixable-only")?,
            ignore,
            ignore_file,
        },
        wait_minutes: inputs.minutes("scan-wait-minutes")?,
        on_missing: inputs.choice(
            "scan-on-missing",
            &[
                ("start", OnMissingScan::Start),
                ("fail", OnMissingScan::Fail),
            ],
            "use `start` (start a basic scan and wait) or `fail` (block the deploy)",
        )?,
        sarif_file: inputs.path("sarif-file"),
        mutable_tags: inputs.list("mutable-tags"),
        read_only: false,
    })
}
