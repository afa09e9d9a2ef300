//! Where the run reports besides the log and the step summary, and how long it may wait for it.

use std::time::Duration;

use super::inputs::Inputs;
use crate::error::{Error, Result};

/// Where the run reports: one type, the reporter's own, so config and report cannot drift.
pub use crate::report::github::ReportTo;

pub(super) fn report_config(inputs: Inputs<'_>) -> Result<ReportTo> {
    Ok(ReportTo {
        // The action's default is an expression the runner fills in; unfilled (on the CLI) it
        // means no token.
        github_token: inputs
            .get("github-token")
            .filter(|t| !t.is_empty() && !t.contains("${{"))
            .map(str::to_string),
        pr_comment: inputs.flag("pr-comment")?,
        commit_status: inputs.flag("commit-status")?,
        environment: inputs.string("environment"),
        environment_url: inputs.string("environment-url"),
    })
}

/// The longest `report-timeout-seconds`: a report that needs more than ten minutes is better
/// read from the step summary.
pub const MAX_REPORT_TIMEOUT_SECONDS: u64 = 600;

pub(super) fn report_timeout(inputs: Inputs<'_>) -> Result<Duration> {
    let name = "report-timeout-seconds";
    let value = inputs.get(name).unwrap_or_default();
    match value.parse::<u64>() {
        Ok(secs) if secs <= MAX_REPORT_TIMEOUT_SECONDS => Ok(Duration::from_secs(secs)),
        _ => Err(Error::input(
            name,
            format!(
                "`{value}` is not a whole number of seconds from 0 to {MAX_REPORT_TIMEOUT_SECONDS}"
            ),
            format!(
                "give a number like `{}` (0: do not wait for GitHub at all)",
                super::inputs::default_of(name).unwrap_or_default()
            ),
        )),
    }
}
