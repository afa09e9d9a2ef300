//! The scan gate: the pure policy (what the configuration reads), the ECR edge that feeds it,
//! the reports (markdown table, SARIF), and the step that runs them for one image.

pub mod ecr;
pub mod policy;
pub mod reports;
mod step;

pub use policy::{
    Finding, IgnoreEntry, Policy, Severity, Thresholds, Verdict, evaluate, load_ignore_file,
    parse_ignore,
};
pub use reports::{markdown_table, sarif};
pub use step::{Gated, Resolution, Scanned, judge, resolve_image, scan_findings, verdict};
