//! How long an AWS call may take and how often it is tried: every request is bounded (a known
//! end state in bounded time). A module of its own, depending on nothing of ours, so that
//! errors can name these bounds without depending on the clients.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;

/// Time to open a connection: a dead endpoint is noticed in seconds.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// One attempt, from sending the request to the end of the answer. ECS, CodeDeploy and ECR
/// answer in well under a second; an attempt this long is a frozen endpoint.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// One operation with all its retries: the most a single AWS call can add to a run.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts per operation by default (the first and two retries), as the AWS deploy action's
/// `max-retries` default. However many are allowed, `OPERATION_TIMEOUT` bounds them all.
pub const MAX_ATTEMPTS: u32 = 3;
/// The most `max-retries` may ask for: beyond this, retries only wait out the operation timeout.
pub const MAX_ATTEMPTS_LIMIT: u32 = 10;

/// What the run's inputs say about calling AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Attempts per operation (`max-retries`).
    pub max_attempts: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_attempts: MAX_ATTEMPTS,
        }
    }
}
/// The longest backoff between two attempts: below the watch's 15 s poll cap, so a throttled
/// read never waits longer than the next poll would.
pub const MAX_BACKOFF: Duration = Duration::from_secs(4);

/// The timeouts, with `GREENLIGHT_AWS_ATTEMPT_TIMEOUT_MS` and `GREENLIGHT_AWS_OPERATION_TIMEOUT_MS`
/// to shorten them against the emulator (tests that freeze it).
pub fn timeout_config() -> TimeoutConfig {
    let ms = |name: &str, default: Duration| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(default, Duration::from_millis)
    };
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(ms("GREENLIGHT_AWS_ATTEMPT_TIMEOUT_MS", ATTEMPT_TIMEOUT))
        .operation_attempt_timeout(ms("GREENLIGHT_AWS_ATTEMPT_TIMEOUT_MS", ATTEMPT_TIMEOUT))
        .operation_timeout(ms("GREENLIGHT_AWS_OPERATION_TIMEOUT_MS", OPERATION_TIMEOUT))
        .build()
}

pub fn retry_config(settings: Settings) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(settings.max_attempts)
        .with_initial_backoff(Duration::from_millis(500))
        .with_max_backoff(MAX_BACKOFF)
}
