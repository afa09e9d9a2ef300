//! The action's outputs: their names, and the values a run gathers for them.

use std::collections::BTreeMap;

/// Every output greenlight sets; a test keeps action.yml identical.
pub const OUTPUT_NAMES: &[&str] = &[
    "task-definition-arn",
    "run-task-arn",
    "codedeploy-deployment-id",
    "deployment-id",
    "deployment-status",
    "image",
    "image-tag",
    "image-digest",
    "scan-critical",
    "scan-high",
    "scan-medium",
    "scan-low",
    "sarif-file",
    "comment-url",
];

/// Outputs gathered during the run; written even when the run fails part-way, so a workflow
/// still learns the task definition ARN or deployment id that was created.
pub type Outputs = BTreeMap<&'static str, String>;
