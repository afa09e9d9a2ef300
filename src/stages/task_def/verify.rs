//! What the task definition references, checked to exist before any write (`verify`): the
//! execution and task roles (and that they trust `ecs-tasks.amazonaws.com`), each secret's SSM
//! parameter or Secrets Manager secret (names and metadata only, never a value), the `awslogs`
//! log groups ECS will not create, and the sidecar images in ECR. A missing one is exit 2
//! naming the field; a read refused for lack of permission is a warning naming the permission
//! (deploy roles are least-privilege), as is a read that did not answer in time.
//!
//! `references` is the pure part: what the document names. `check_all` asks AWS, every
//! reference at once, in the deploy's first wave of reads.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::aws::Clients;
use crate::error::{Error, Problem, Result, sdk_error_code};
use crate::event::{Event, Progress};
use crate::stages::image::ImageRef;

/// The longest one verification read may take before it is a warning rather than a verdict.
pub const READ_BUDGET: Duration = Duration::from_secs(10);
/// The service principal a task's roles must trust.
const ECS_TASKS: &str = "ecs-tasks.amazonaws.com";

/// One resource the task definition names, with the field that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// `executionRoleArn` / `taskRoleArn`.
    Role { field: String, arn: String },
    /// An SSM parameter, by the names it may have (an ARN's name may be written with or
    /// without its leading slash).
    Parameter {
        field: String,
        names: Vec<String>,
        region: Option<String>,
    },
    /// A Secrets Manager secret, by its ARN without the JSON key and version suffix.
    Secret {
        field: String,
        id: String,
        region: Option<String>,
    },
    LogGroup {
        field: String,
        group: String,
        region: Option<String>,
    },
    /// An ECR image of a container whose image the run does not replace.
    Image { field: String, image: ImageRef },
}

impl Reference {
    pub fn field(&self) -> &str {
        match self {
            Reference::Role { field, .. }
            | Reference::Parameter { field, .. }
            | Reference::Secret { field, .. }
            | Reference::LogGroup { field, .. }
            | Reference::Image { field, .. } => field,
        }
    }

    /// The permission the read needs, named in the warning when it is refused.
    fn permission(&self) -> &'static str {
        match self {
            Reference::Role { .. } => "iam:GetRole",
            Reference::Parameter { .. } => "ssm:DescribeParameters",
            Reference::Secret { .. } => "secretsmanager:DescribeSecret",
            Reference::LogGroup { .. } => "logs:DescribeLogGroups",
            Reference::Image { .. } => "ecr:DescribeImages",
        }
    }
}

/// How one check came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Exists,
    /// It is not there (or not usable): the message and the fix.
    Missing {
        message: String,
        fix: String,
    },
    /// The read was refused.
    Denied,
    /// No verdict (no answer in time, an unexpected error): said, not failed on.
    Unknown(String),
}

/// `arn:aws:<service>:<region>:…`'s region, when the ARN names one.
fn arn_region(arn: &str) -> Option<String> {
    arn.split(':')
        .nth(3)
        .filter(|r| !r.is_empty())
        .map(str::to_string)
}

/// Where a secret's `valueFrom` points.
fn secret_reference(field: String, value_from: &str) -> Option<Reference> {
    if let Some(rest) = value_from.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.split(':').collect();
        return match parts.get(1).copied() {
            Some("secretsmanager") if parts.len() >= 6 => Some(Reference::Secret {
                field,
                // arn:partition:secretsmanager:region:account:secret:name[:key:stage:id]
                id: format!("arn:{}", parts[..6].join(":")),
                region: arn_region(value_from),
            }),
            Some("ssm") => {
                let name = parts.get(4)?.strip_prefix("parameter")?;
                let bare = name.trim_start_matches('/');
                let mut names = vec![format!("/{bare}")];
                if !bare.contains('/') {
                    names.push(bare.to_string());
                }
                Some(Reference::Parameter {
                    field,
                    names,
                    region: arn_region(value_from),
                })
            }
            _ => None,
        };
    }
    Some(Reference::Parameter {
        field,
        names: vec![value_from.to_string()],
        region: None,
    })
}

/// Everything the document references that can be checked, in document order. `replaced` are
/// the containers whose image the run resolves and gates itself.
pub fn references(doc: &Map<String, Value>, replaced: &[&str]) -> Vec<Reference> {
    let mut out = Vec::new();
    for key in ["executionRoleArn", "taskRoleArn"] {
        if let Some(arn) = doc
            .get(key)
            .and_then(Value::as_str)
            .filter(|a| !a.is_empty())
        {
            out.push(Reference::Role {
                field: key.to_string(),
                arn: arn.to_string(),
            });
        }
    }
    let containers = doc
        .get("containerDefinitions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (i, c) in containers.iter().enumerate() {
        let at = format!("containerDefinitions[{i}]");
        let name = c.get("name").and_then(Value::as_str).unwrap_or_default();
        for (j, s) in c
            .get("secrets")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(from) = s.get("valueFrom").and_then(Value::as_str) {
                out.extend(secret_reference(
                    format!("{at}.secrets[{j}].valueFrom"),
                    from,
                ));
            }
        }
        let log = c.get("logConfiguration");
        if log.and_then(|l| l.get("logDriver")).and_then(Value::as_str) == Some("awslogs") {
            let options = log.and_then(|l| l.get("options"));
            let opt = |k: &str| options.and_then(|o| o.get(k)).and_then(Value::as_str);
            let created =
                opt("awslogs-create-group").is_some_and(|v| v.eq_ignore_ascii_case("true"));
            if let (Some(group), false) = (opt("awslogs-group"), created) {
                out.push(Reference::LogGroup {
                    field: format!("{at}.logConfiguration.options.awslogs-group"),
                    group: group.to_string(),
                    region: opt("awslogs-region").map(str::to_string),
                });
            }
        }
        if !replaced.contains(&name) {
            let image = c.get("image").and_then(Value::as_str).unwrap_or_default();
            if let Ok(image) = ImageRef::parse(image)
                && image.ecr().is_some()
            {
                out.push(Reference::Image {
                    field: format!("{at}.image"),
                    image,
                });
            }
        }
    }
    out
}

/// Whether a role's trust policy lets ECS tasks assume it. IAM answers the document URL-encoded.
pub fn trusts_ecs_tasks(document: &str) -> Option<bool> {
    let decoded = percent_decode(document);
    let doc: Value = serde_json::from_str(document)
        .or_else(|_| serde_json::from_str(&decoded))
        .ok()?;
    let statements = match doc.get("Statement")? {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    };
    let names_ecs = |v: &Value| match v {
        Value::String(s) => s == ECS_TASKS,
        Value::Array(a) => a.iter().any(|s| s.as_str() == Some(ECS_TASKS)),
        _ => false,
    };
    Some(statements.iter().any(|s| {
        s.get("Effect").and_then(Value::as_str) == Some("Allow")
            && s.get("Principal")
                .and_then(|p| p.get("Service"))
                .is_some_and(names_ecs)
    }))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push(((hex(h).unwrap_or(0) << 4) | hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b'+', ..) => {
                out.push(b' ');
                i += 1;
            }
            (b, ..) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether an error code means the credentials may not make the call.
pub fn denied(code: Option<&str>) -> bool {
    code.is_some_and(|c| c.starts_with("AccessDenied") || c == "UnauthorizedOperation")
}

/// One check against AWS.
async fn check(clients: &Clients, r: &Reference) -> Outcome {
    let region_of = |region: &Option<String>| region.clone().unwrap_or(clients.region.clone());
    match r {
        Reference::Role { arn, .. } => {
            let name = arn.rsplit('/').next().unwrap_or(arn);
            match clients.iam.get_role().role_name(name).send().await {
                Ok(out) => {
                    let doc = out
                        .role()
                        .and_then(|r| r.assume_role_policy_document())
                        .unwrap_or_default();
                    match trusts_ecs_tasks(doc) {
                        Some(true) => Outcome::Exists,
                        Some(false) => Outcome::Missing {
                            message: format!(
                                "role `{name}` exists but does not trust `{ECS_TASKS}`, so ECS cannot assume it"
                            ),
                            fix: format!(
                                "add a statement allowing sts:AssumeRole to the service principal `{ECS_TASKS}` to its trust policy"
                            ),
                        },
                        None => Outcome::Unknown(format!(
                            "the trust policy of role `{name}` could not be read"
                        )),
                    }
                }
                Err(e) if sdk_error_code(&e) == Some("NoSuchEntity") => Outcome::Missing {
                    message: format!("role `{name}` does not exist"),
                    fix: "create the role, or correct the ARN".into(),
                },
                Err(e) if denied(sdk_error_code(&e)) => Outcome::Denied,
                Err(e) => Outcome::Unknown(Error::aws("GetRole", &e).to_string()),
            }
        }
        Reference::Parameter { names, region, .. } => {
            let ssm = clients.ssm_in(&region_of(region));
            let filter = aws_sdk_ssm::types::ParameterStringFilter::builder()
                .key("Name")
                .option("Equals")
                .set_values(Some(names.clone()))
                .build();
            let Ok(filter) = filter else {
                return Outcome::Unknown("the parameter filter could not be built".into());
            };
            match ssm
                .describe_parameters()
                .parameter_filters(filter)
                .send()
                .await
            {
                Ok(out) if !out.parameters().is_empty() => Outcome::Exists,
                Ok(_) => Outcome::Missing {
                    message: format!(
                        "SSM parameter `{}` does not exist in {}",
                        names[0],
                        region_of(region)
                    ),
                    fix: "create it (aws ssm put-parameter), or correct `valueFrom`".into(),
                },
                Err(e) if denied(sdk_error_code(&e)) => Outcome::Denied,
                Err(e) => Outcome::Unknown(Error::aws("DescribeParameters", &e).to_string()),
            }
        }
        Reference::Secret { id, region, .. } => {
            let sm = clients.secrets_in(&region_of(region));
            match sm.describe_secret().secret_id(id).send().await {
                Ok(out) if out.deleted_date().is_some() => Outcome::Missing {
                    message: format!("secret `{id}` is scheduled for deletion"),
                    fix: "restore it (aws secretsmanager restore-secret), or point `valueFrom` at another".into(),
                },
                Ok(_) => Outcome::Exists,
                Err(e) if sdk_error_code(&e) == Some("ResourceNotFoundException") => {
                    Outcome::Missing {
                        message: format!("Secrets Manager secret `{id}` does not exist"),
                        fix: "create it, or correct `valueFrom` (the secret's full ARN)".into(),
                    }
                }
                Err(e) if denied(sdk_error_code(&e)) => Outcome::Denied,
                Err(e) => Outcome::Unknown(Error::aws("DescribeSecret", &e).to_string()),
            }
        }
        Reference::LogGroup { group, region, .. } => {
            let logs = clients.logs_in(&region_of(region));
            match logs
                .describe_log_groups()
                .log_group_name_prefix(group)
                .send()
                .await
            {
                Ok(out)
                    if out
                        .log_groups()
                        .iter()
                        .any(|g| g.log_group_name() == Some(group.as_str())) =>
                {
                    Outcome::Exists
                }
                Ok(_) => Outcome::Missing {
                    message: format!(
                        "log group `{group}` does not exist in {}, and ECS does not create it: the tasks would fail to start",
                        region_of(region)
                    ),
                    fix: "create it (aws logs create-log-group), or set the option `awslogs-create-group: \"true\"` (the execution role then needs logs:CreateLogGroup)".into(),
                },
                Err(e) if denied(sdk_error_code(&e)) => Outcome::Denied,
                Err(e) => Outcome::Unknown(Error::aws("DescribeLogGroups", &e).to_string()),
            }
        }
        Reference::Image { image, .. } => {
            let Some(registry) = image.ecr() else {
                return Outcome::Exists;
            };
            let id = aws_sdk_ecr::types::ImageIdentifier::builder()
                .set_image_tag(image.tag.clone())
                .set_image_digest(image.digest.clone())
                .build();
            let id = if image.tag.is_none() && image.digest.is_none() {
                aws_sdk_ecr::types::ImageIdentifier::builder()
                    .image_tag("latest")
                    .build()
            } else {
                id
            };
            match clients
                .ecr_in(&registry.region)
                .describe_images()
                .registry_id(&registry.account)
                .repository_name(&image.repository)
                .image_ids(id)
                .send()
                .await
            {
                Ok(_) => Outcome::Exists,
                Err(e)
                    if matches!(
                        sdk_error_code(&e),
                        Some("ImageNotFoundException" | "RepositoryNotFoundException")
                    ) =>
                {
                    Outcome::Missing {
                        message: format!(
                            "image `{image}` is not in ECR ({})",
                            sdk_error_code(&e).unwrap_or_default()
                        ),
                        fix: "push it, or correct the reference".into(),
                    }
                }
                Err(e) if denied(sdk_error_code(&e)) => Outcome::Denied,
                Err(e) => Outcome::Unknown(Error::aws("DescribeImages", &e).to_string()),
            }
        }
    }
}

/// Checks every reference at once, each within `READ_BUDGET`.
pub async fn check_all(clients: &Clients, refs: &[Reference]) -> Vec<(Reference, Outcome)> {
    futures_util::future::join_all(refs.iter().map(|r| async move {
        let outcome = match tokio::time::timeout(READ_BUDGET, check(clients, r)).await {
            Ok(o) => o,
            Err(_) => Outcome::Unknown(format!("no answer within {} s", READ_BUDGET.as_secs())),
        };
        (r.clone(), outcome)
    }))
    .await
}

/// What the checks mean for the run: every missing reference at once is exit 2 naming the
/// file and the field; a refused or unanswered read is a warning.
pub fn judge(
    path: &std::path::Path,
    results: Vec<(Reference, Outcome)>,
    progress: &Progress,
) -> Result<()> {
    let mut problems = Vec::new();
    for (r, outcome) in results {
        match outcome {
            Outcome::Exists => {}
            Outcome::Missing { message, fix } => problems.push(Problem {
                field: r.field().to_string(),
                line: None,
                message: format!("{message}. Fix: {fix}"),
            }),
            Outcome::Denied => progress.emit(Event::Warning(format!(
                "`{}` was not verified: the credentials lack {} (verification is skipped for it; grant the permission, or set `verify: false`)",
                r.field(),
                r.permission()
            ))),
            Outcome::Unknown(why) => progress.emit(Event::Warning(format!(
                "`{}` was not verified: {why}",
                r.field()
            ))),
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::FileProblems {
        path: path.to_path_buf(),
        problems,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn references_name_their_fields_and_skip_what_ecs_creates_or_the_run_replaces() {
        let doc = json!({
            "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
            "taskRoleArn": "arn:aws:iam::123456789012:role/path/web-task",
            "containerDefinitions": [
                {"name": "web", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1",
                 "secrets": [
                    {"name": "A", "valueFrom": "arn:aws:ssm:eu-west-1:123456789012:parameter/web/db"},
                    {"name": "B", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:web/stripe-Ab12Cd:key::"},
                    {"name": "C", "valueFrom": "/web/plain"}
                 ],
                 "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web"}}},
                {"name": "proxy", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/envoy:v1",
                 "logConfiguration": {"logDriver": "awslogs", "options": {
                    "awslogs-group": "/ecs/proxy", "awslogs-create-group": "true"}}},
                {"name": "hub", "image": "nginx:1.27"}
            ]
        });
        let refs = references(doc.as_object().unwrap(), &["web"]);
        let fields: Vec<&str> = refs.iter().map(Reference::field).collect();
        assert_eq!(
            fields,
            [
                "executionRoleArn",
                "taskRoleArn",
                "containerDefinitions[0].secrets[0].valueFrom",
                "containerDefinitions[0].secrets[1].valueFrom",
                "containerDefinitions[0].secrets[2].valueFrom",
                "containerDefinitions[0].logConfiguration.options.awslogs-group",
                "containerDefinitions[1].image",
            ]
        );
        assert_eq!(
            refs[2],
            Reference::Parameter {
                field: "containerDefinitions[0].secrets[0].valueFrom".into(),
                names: vec!["/web/db".into()],
                region: Some("eu-west-1".into()),
            }
        );
        let Reference::Secret { id, .. } = &refs[3] else {
            panic!("{:?}", refs[3])
        };
        assert_eq!(
            id,
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:web/stripe-Ab12Cd"
        );
    }

    #[test]
    fn a_trust_policy_must_allow_ecs_tasks_url_encoded_or_not() {
        let ok = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["ec2.amazonaws.com","ecs-tasks.amazonaws.com"]},"Action":"sts:AssumeRole"}]}"#;
        assert_eq!(trusts_ecs_tasks(ok), Some(true));
        let encoded = "%7B%22Statement%22%3A%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22ecs-tasks.amazonaws.com%22%7D%7D%7D";
        assert_eq!(trusts_ecs_tasks(encoded), Some(true));
        let other =
            r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"}}]}"#;
        assert_eq!(trusts_ecs_tasks(other), Some(false));
        assert_eq!(trusts_ecs_tasks("not json"), None);
    }
}
