//! Every way a run can end badly, each with what went wrong, where, and how to fix it, and the
//! exit code the action and the CLI share (the exit-code table in README.md).

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An action input or CLI flag is missing, malformed or contradicts another.
    #[error("input `{input}`: {problem}{}", fix_suffix(.fix))]
    Input {
        input: String,
        problem: String,
        fix: String,
    },

    /// A file the user gave us is unreadable or wrong; `field` is a JSON path when known.
    #[error("{}: {}{problem}{}", path.display(), field_prefix(.field), fix_suffix(.fix))]
    File {
        path: PathBuf,
        line: Option<usize>,
        field: Option<String>,
        problem: String,
        fix: String,
    },

    /// Several problems in one file, all reported at once.
    #[error("{} has {}:\n{}", path.display(), problem_count(problems.len()), list(problems))]
    FileProblems {
        path: PathBuf,
        problems: Vec<Problem>,
    },

    /// AWS is reachable but the state there forbids going on (service missing, wrong
    /// controller, deployment group absent …). Found before any write.
    #[error("{problem}{}", fix_suffix(.fix))]
    State { problem: String, fix: String },

    /// The scan gate refused the image (or could not get a clean verdict: fail closed).
    #[error("scan gate: {message}")]
    Gate { message: String },

    /// An AWS call failed after the SDK's retries, or answered something unusable. `code` is
    /// AWS's own error code, for callers to match on (never the message text).
    #[error("AWS {operation} failed: {}", code_and_message(.code, .message))]
    Aws {
        /// `ECS`, `CodeDeploy`, `ECR`, `STS`.
        service: &'static str,
        operation: &'static str,
        code: Option<String>,
        message: String,
    },

    /// AWS did not answer in time, could not be reached, or kept asking to slow down (throttling,
    /// 5xx) through every retry: worth trying again later, unlike `Aws`.
    #[error("AWS {operation} failed: {}", code_and_message(.code, .message))]
    AwsUnavailable {
        service: &'static str,
        operation: &'static str,
        code: Option<String>,
        message: String,
    },

    /// The run was cancelled (SIGTERM/SIGINT) before the deployment started; `problem` says
    /// what had been written by then, if anything.
    #[error("{problem}")]
    Cancelled { problem: String },

    #[error(transparent)]
    Runner(#[from] crate::gha::GhaError),
}

/// One problem in a file: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: String,
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}, `{}`: {}", self.field, self.message),
            None => write!(f, "`{}`: {}", self.field, self.message),
        }
    }
}

/// "CODE: message", as AWS's own consoles and CLIs print an error.
fn code_and_message(code: &Option<String>, message: &str) -> String {
    match code {
        Some(code) if message.is_empty() => code.clone(),
        Some(code) => format!("{code}: {message}"),
        None => message.to_string(),
    }
}

fn fix_suffix(fix: &str) -> String {
    if fix.is_empty() {
        String::new()
    } else {
        format!(". Fix: {fix}")
    }
}

fn field_prefix(field: &Option<String>) -> String {
    field
        .as_ref()
        .map(|f| format!("`{f}`: "))
        .unwrap_or_default()
}

/// "1 problem", "3 problems".
pub fn problem_count(n: usize) -> String {
    if n == 1 {
        "1 problem".into()
    } else {
        format!("{n} problems")
    }
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Error {
    pub fn input(input: &str, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Error::Input {
            input: input.to_string(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    pub fn file(
        path: impl Into<PathBuf>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Error::File {
            path: path.into(),
            line: None,
            field: None,
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    pub fn state(problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Error::State {
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    /// Maps any SDK error to `Error::Aws`, keeping AWS's own error code and message, or to
    /// `Error::AwsUnavailable` when AWS did not answer, could not be reached or throttled.
    pub fn aws<E>(operation: &'static str, err: &aws_sdk_ecs::error::SdkError<E>) -> Self
    where
        E: aws_sdk_ecs::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        use aws_sdk_ecs::error::ProvideErrorMetadata;
        let service = service_of::<E>();
        let code = err.code().map(str::to_string);
        // No credentials is not a bad moment of the network: retrying cannot help.
        if let Some(message) = credentials_failure(err) {
            return Error::Aws {
                service,
                operation,
                code,
                message,
            };
        }
        let message = match code {
            Some(_) => err.message().unwrap_or_default().to_string(),
            None => describe_sdk_error(err),
        };
        if is_transient(err) {
            Error::AwsUnavailable {
                service,
                operation,
                code,
                message,
            }
        } else {
            Error::Aws {
                service,
                operation,
                code,
                message,
            }
        }
    }

    /// AWS answered, but not with what the operation promises (a field missing, say).
    pub fn aws_reply(
        service: &'static str,
        operation: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Error::Aws {
            service,
            operation,
            code: None,
            message: message.into(),
        }
    }

    /// AWS's own error code, when the error is AWS's.
    pub fn aws_code(&self) -> Option<&str> {
        match self {
            Error::Aws { code, .. } | Error::AwsUnavailable { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// Whether trying the same read again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::AwsUnavailable { .. })
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Input { .. }
            | Error::File { .. }
            | Error::FileProblems { .. }
            | Error::State { .. } => 2,
            Error::Gate { .. } => 3,
            Error::Cancelled { .. } => 1,
            Error::Aws { .. } | Error::AwsUnavailable { .. } | Error::Runner(_) => 4,
        }
    }
}

/// The service an SDK operation error belongs to, read off its type (each service's SDK is
/// its own crate, `aws_sdk_<service>`), so no call site has to restate it.
fn service_of<E>() -> &'static str {
    let crate_name = std::any::type_name::<E>()
        .split("::")
        .next()
        .unwrap_or_default();
    match crate_name.strip_prefix("aws_sdk_") {
        Some("ecs") => "ECS",
        Some("codedeploy") => "CodeDeploy",
        Some("ecr") => "ECR",
        Some("sts") => "STS",
        Some("cloudwatchlogs") => "CloudWatch Logs",
        Some("cloudwatch") => "CloudWatch",
        Some("elasticloadbalancingv2") => "ELBv2",
        Some("iam") => "IAM",
        Some("ssm") => "SSM",
        Some("secretsmanager") => "Secrets Manager",
        _ => "AWS",
    }
}

/// AWS's throttling error codes across its protocols (the SDK's own list, plus ECR's).
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// Timeouts, connection failures, throttling and 5xx answers: the endpoint or AWS is having a
/// bad moment, and the same request may well succeed on the next poll.
fn is_transient<E>(err: &aws_sdk_ecs::error::SdkError<E>) -> bool
where
    E: aws_sdk_ecs::error::ProvideErrorMetadata,
{
    use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(_) => {
            err.code().is_some_and(|c| THROTTLING_CODES.contains(&c))
                || err
                    .raw_response()
                    .is_some_and(|r| r.status().as_u16() >= 500 || r.status().as_u16() == 429)
        }
        _ => false,
    }
}

/// The messages of an error and its sources, once each: what went wrong, without the SDK's
/// `Debug` dump of the same.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// When the request never left because no credentials could be had: one line saying which
/// sources were tried and how to set one up.
fn credentials_failure<E>(err: &aws_sdk_ecs::error::SdkError<E>) -> Option<String>
where
    E: std::error::Error + 'static,
{
    use aws_credential_types::provider::error::CredentialsError;
    let aws_sdk_ecs::error::SdkError::DispatchFailure(failure) = err else {
        return None;
    };
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(failure.as_connector_error()?);
    while let Some(e) = next {
        if let Some(cred) = e.downcast_ref::<CredentialsError>() {
            let fix = "in a workflow, run aws-actions/configure-aws-credentials before this step (for OIDC the job needs the `id-token` permission set to `write`); on the command line, set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY";
            return Some(match cred {
                CredentialsError::CredentialsNotLoaded(_) => format!(
                    "no AWS credentials were found (tried: environment variables, the shared config and credentials files, web identity, the ECS container endpoint, EC2 instance metadata). Fix: {fix}"
                ),
                _ => format!(
                    "the AWS credentials could not be loaded: {}. Fix: {fix}",
                    chain(cred)
                ),
            });
        }
        next = e.source();
    }
    None
}

/// "CODE: message" from an SDK error, falling back to the error chain for transport failures.
pub fn describe_sdk_error<E>(err: &aws_sdk_ecs::error::SdkError<E>) -> String
where
    E: aws_sdk_ecs::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};
    if let SdkError::TimeoutError(_) = err {
        return format!(
            "no answer within {} s (a frozen endpoint or a network problem between here and AWS)",
            crate::aws::bounds::timeout_config()
                .operation_timeout()
                .unwrap_or(crate::aws::bounds::OPERATION_TIMEOUT)
                .as_secs_f64()
        );
    }
    match (err.code(), err.message()) {
        (Some(code), Some(msg)) => format!("{code}: {msg}"),
        (Some(code), None) => code.to_string(),
        // Something answered that is not AWS: the raw reply's debug dump would fill the screen.
        _ => match err.raw_response() {
            Some(raw) => format!(
                "HTTP {} without an AWS error in the reply (a proxy in the way, or AWS_ENDPOINT_URL not pointing at AWS?)",
                raw.status().as_u16()
            ),
            None => match err {
                SdkError::DispatchFailure(failure) if failure.is_io() || failure.is_timeout() => {
                    let detail = failure
                        .as_connector_error()
                        .map(|e| chain(e))
                        .unwrap_or_else(|| "the connection failed".to_string());
                    let endpoint = std::env::var("AWS_ENDPOINT_URL")
                        .ok()
                        .filter(|v| !v.is_empty())
                        .map(|v| format!("AWS_ENDPOINT_URL is `{v}`: is something listening there?"))
                        .unwrap_or_else(|| {
                            "check the network, DNS and any proxy (HTTPS_PROXY) between here and AWS".to_string()
                        });
                    format!("AWS could not be reached ({detail}). Fix: {endpoint}")
                }
                _ => chain(err),
            },
        },
    }
}

/// The AWS error code of an SDK error, for matching on "does not exist" and similar.
pub fn sdk_error_code<E>(err: &aws_sdk_ecs::error::SdkError<E>) -> Option<&str>
where
    E: aws_sdk_ecs::error::ProvideErrorMetadata,
{
    use aws_sdk_ecs::error::ProvideErrorMetadata;
    err.code()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dispatch_failure(
        source: Box<dyn std::error::Error + Send + Sync>,
        io: bool,
    ) -> aws_sdk_ecs::error::SdkError<
        aws_sdk_ecs::operation::describe_services::DescribeServicesError,
    > {
        use aws_smithy_runtime_api::client::result::ConnectorError;
        let connector = if io {
            ConnectorError::io(source)
        } else {
            ConnectorError::other(source, None)
        };
        aws_sdk_ecs::error::SdkError::dispatch_failure(connector)
    }

    #[test]
    fn no_credentials_is_one_line_with_the_sources_tried_and_a_fix_and_not_retried() {
        let err = dispatch_failure(
            Box::new(
                aws_credential_types::provider::error::CredentialsError::not_loaded(
                    "no providers in chain provided credentials",
                ),
            ),
            false,
        );
        let e = Error::aws("DescribeServices", &err);
        let text = e.to_string();
        assert!(
            text.starts_with("AWS DescribeServices failed: no AWS credentials were found (tried: environment variables"),
            "{text}"
        );
        assert!(
            text.contains("Fix: in a workflow, run aws-actions/configure-aws-credentials"),
            "{text}"
        );
        assert!(
            !text.contains("DispatchFailure") && !text.contains('\n'),
            "{text}"
        );
        assert!(!e.is_transient());
        assert_eq!(e.exit_code(), 4);
    }

    #[test]
    fn an_endpoint_that_refuses_is_named_with_a_fix_and_retried_later() {
        let err = dispatch_failure(
            Box::new(std::io::Error::new(
                std::io::ErrorKind::ConnectionRefused,
                "tcp connect error: Connection refused (os error 111)",
            )),
            true,
        );
        let e = Error::aws("DescribeServices", &err);
        let text = e.to_string();
        assert!(
            text.starts_with("AWS DescribeServices failed: AWS could not be reached (")
                && text.contains("Connection refused"),
            "{text}"
        );
        assert!(text.contains(". Fix: "), "{text}");
        assert!(
            !text.contains("ConnectorError") && !text.contains("DispatchFailure"),
            "{text}"
        );
        assert!(e.is_transient());
    }

    #[test]
    fn a_reply_that_is_not_aws_is_named_by_its_status() {
        use aws_sdk_ecs::operation::describe_services::DescribeServicesError;
        use aws_smithy_runtime_api::http::{Response, StatusCode};
        use aws_smithy_types::body::SdkBody;
        use aws_smithy_types::error::ErrorMetadata;
        let status = StatusCode::try_from(405_u16).unwrap();
        let err = aws_sdk_ecs::error::SdkError::service_error(
            DescribeServicesError::generic(ErrorMetadata::builder().build()),
            Response::new(status, SdkBody::from("<html>method not allowed</html>")),
        );
        let msg = describe_sdk_error(&err);
        assert!(msg.starts_with("HTTP 405 without an AWS error"), "{msg}");
        assert!(!msg.contains("SdkBody"), "{msg}");
    }

    #[test]
    fn messages_name_what_where_and_fix() {
        let e = Error::input(
            "wait-until",
            "`soon` is not one of none, ready, complete",
            "use one of them",
        );
        assert_eq!(
            e.to_string(),
            "input `wait-until`: `soon` is not one of none, ready, complete. Fix: use one of them"
        );
        assert_eq!(e.exit_code(), 2);
        let e = Error::File {
            path: "taskdef.json".into(),
            line: Some(3),
            field: Some("containerDefinitions".into()),
            problem: "must be a list".into(),
            fix: String::new(),
        };
        assert_eq!(
            e.to_string(),
            "taskdef.json: `containerDefinitions`: must be a list"
        );
        let e = Error::aws_reply("ECS", "DescribeServices", "boom");
        assert_eq!(e.exit_code(), 4);
    }

    #[test]
    fn an_aws_error_keeps_its_service_operation_and_code() {
        use aws_sdk_codedeploy::operation::get_deployment::GetDeploymentError;
        use aws_smithy_runtime_api::http::{Response, StatusCode};
        use aws_smithy_types::body::SdkBody;
        use aws_smithy_types::error::ErrorMetadata;
        let err = aws_sdk_codedeploy::error::SdkError::service_error(
            GetDeploymentError::generic(
                ErrorMetadata::builder()
                    .code("DeploymentDoesNotExistException")
                    .message("no such deployment")
                    .build(),
            ),
            Response::new(StatusCode::try_from(400_u16).unwrap(), SdkBody::empty()),
        );
        let e = Error::aws("GetDeployment", &err);
        match &e {
            Error::Aws {
                service,
                operation,
                code,
                message,
            } => {
                assert_eq!(*service, "CodeDeploy");
                assert_eq!(*operation, "GetDeployment");
                assert_eq!(code.as_deref(), Some("DeploymentDoesNotExistException"));
                assert_eq!(message, "no such deployment");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(e.aws_code(), Some("DeploymentDoesNotExistException"));
        assert_eq!(
            e.to_string(),
            "AWS GetDeployment failed: DeploymentDoesNotExistException: no such deployment"
        );
    }

    #[test]
    fn problems_are_listed() {
        let e = Error::FileProblems {
            path: "t.json".into(),
            problems: vec![
                Problem {
                    field: "a".into(),
                    line: Some(2),
                    message: "x".into(),
                },
                Problem {
                    field: "b".into(),
                    line: None,
                    message: "y".into(),
                },
            ],
        };
        assert_eq!(
            e.to_string(),
            "t.json has 2 problems:\n  - line 2, `a`: x\n  - `b`: y"
        );
    }
}
