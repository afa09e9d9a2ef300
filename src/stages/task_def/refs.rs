//! What a reference in the inputs names, by its syntax alone: a registered task definition, a
//! task definition family, a secret. Pure, so the configuration can check its inputs with the
//! same rules the task definition checks use, without depending on them.

use std::path::Path;

/// A `task-definition` value that names a registered task definition rather than a file: an
/// ARN, or `family[:revision]` when no such file exists.
pub fn registered_reference(value: &Path) -> Option<String> {
    let s = value.to_str()?;
    if s.starts_with("arn:") && s.contains(":task-definition/") {
        return Some(s.to_string());
    }
    let (family, revision) = s.split_once(':').unwrap_or((s, ""));
    let revision_ok = revision.is_empty() || revision.bytes().all(|b| b.is_ascii_digit());
    (!value.exists() && is_valid_family(family) && revision_ok).then(|| s.to_string())
}

pub fn is_valid_family(f: &str) -> bool {
    !f.is_empty()
        && f.len() <= 255
        && f.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Why a secret's `valueFrom` cannot name a secret, if it cannot: it is an SSM parameter or
/// Secrets Manager ARN, or an SSM parameter name in the same region. The value is never
/// repeated: a mistyped entry may be the secret itself.
pub fn secret_reference_problem(from: &str) -> Option<String> {
    if from.starts_with("arn:") {
        return (!is_secret_arn(from)).then(|| {
            "is an ARN but not of an SSM parameter or Secrets Manager secret; use arn:aws:ssm:REGION:ACCOUNT:parameter/NAME or arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME".to_string()
        });
    }
    let fix = "give the parameter's name (letters, digits and _ . - /, e.g. `/web/db-password`) or the full ARN";
    if from.is_empty() {
        return Some(format!("is empty; {fix}"));
    }
    if from.len() > 2048 {
        return Some(format!(
            "is {} characters long; a parameter name has at most 2048. {fix}",
            from.len()
        ));
    }
    if let Some(bad) = from
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/')))
    {
        let what = if bad.is_whitespace() {
            "whitespace".to_string()
        } else {
            format!("the character `{}`", bad.escape_default())
        };
        return Some(format!(
            "is neither an ARN nor an SSM parameter name: it contains {what}. {fix}"
        ));
    }
    if from.contains('/') {
        if !from.starts_with('/') {
            return Some(format!(
                "is a parameter path without its leading `/`; hierarchical names start with `/`. {fix}"
            ));
        }
        if from.ends_with('/') || from.contains("//") {
            return Some(format!(
                "has an empty level (`//` or a trailing `/`); every level of a parameter path needs a name. {fix}"
            ));
        }
        if from.matches('/').count() > 15 {
            return Some(format!(
                "is nested more than 15 levels; SSM allows at most 15. {fix}"
            ));
        }
    }
    None
}

fn is_secret_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && matches!(parts[2], "ssm" | "secretsmanager")
        && !parts[3].is_empty()
        && parts[4].len() == 12
        && (parts[5].starts_with("parameter/") || parts[5].starts_with("secret:"))
}
