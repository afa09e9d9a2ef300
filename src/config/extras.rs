//! The render action's extras (`task-role-arn`, `execution-role-arn`, `env-files`,
//! `container-command`), the AWS deploy action's service-managed EBS volume, and
//! `keep-task-definition-revisions`: each parsed and checked here, so a bad value is an exit 2
//! naming the input before any AWS call.

use serde::{Deserialize, Serialize};

use super::inputs::Inputs;
use crate::error::{Error, Result};

/// `arn:<partition>:iam::<12 digits>:role/<name>`, the partitions the render action accepts
/// (its `arnRegex`); like it, a bare role name is refused: ECS needs the ARN.
pub fn role_arn_problem(value: &str) -> Option<String> {
    const PARTITIONS: &[&str] = &[
        "aws",
        "aws-cn",
        "aws-us-gov",
        "aws-iso",
        "aws-iso-b",
        "aws-iso-e",
        "aws-iso-f",
    ];
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = parts.as_slice() else {
        return Some(format!("`{value}` is not an IAM role ARN"));
    };
    if *arn != "arn" || !PARTITIONS.contains(partition) || *service != "iam" || !region.is_empty() {
        return Some(format!("`{value}` is not an IAM role ARN"));
    }
    if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
        return Some(format!("`{value}` does not name a 12-digit account"));
    }
    match resource.strip_prefix("role/") {
        Some(name) if !name.is_empty() => None,
        _ => Some(format!("`{value}` does not name a role (`role/<name>`)")),
    }
}

pub(super) fn role_arn(inputs: Inputs<'_>, name: &str) -> Result<Option<String>> {
    let Some(value) = inputs.get(name).map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    match role_arn_problem(value) {
        None => Ok(Some(value.to_string())),
        Some(problem) => Err(Error::input(
            name,
            problem,
            "give the role's full ARN, e.g. `arn:aws:iam::123456789012:role/my-task-role`",
        )),
    }
}

/// An S3 environment file as ECS takes it: `arn:<partition>:s3:::<bucket>/<key>.env`.
pub fn env_file_problem(value: &str) -> Option<String> {
    let Some(rest) = value
        .strip_prefix("arn:")
        .and_then(|r| r.split_once(":s3:::"))
        .filter(|(partition, _)| partition.starts_with("aws"))
        .map(|(_, rest)| rest)
    else {
        return Some(format!("`{value}` is not an S3 object ARN"));
    };
    match rest.split_once('/') {
        Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => {
            // ECS refuses environment files of any other extension.
            (!key.ends_with(".env")).then(|| format!("`{value}` does not end in `.env`"))
        }
        _ => Some(format!("`{value}` names no object (`<bucket>/<key>.env`)")),
    }
}

/// `env-files`: one S3 object ARN per line, as the render action reads it; duplicates dropped.
pub(super) fn env_files(inputs: Inputs<'_>) -> Result<Vec<String>> {
    let name = "env-files";
    let mut out: Vec<String> = Vec::new();
    for (i, line) in inputs.get(name).unwrap_or("").lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(problem) = env_file_problem(line) {
            return Err(Error::input(
                name,
                format!("line {}: {problem}", i + 1),
                "give one S3 object ARN per line, e.g. `arn:aws:s3:::my-bucket/web/prod.env`",
            ));
        }
        if !out.iter().any(|f| f == line) {
            out.push(line.to_string());
        }
    }
    Ok(out)
}

/// `container-command`: words split on whitespace (the render action's `command` splits on
/// spaces), or a JSON array of strings for arguments that contain spaces.
pub fn parse_command(value: &str) -> std::result::Result<Vec<String>, String> {
    let value = value.trim();
    let words: Vec<String> = if value.starts_with('[') {
        serde_json::from_str::<Vec<String>>(value)
            .map_err(|e| format!("is not a JSON array of strings: {e}"))?
    } else {
        value.split_whitespace().map(str::to_string).collect()
    };
    if words.is_empty() {
        return Err("gives no command".into());
    }
    Ok(words)
}

pub(super) fn container_command(inputs: Inputs<'_>) -> Result<Option<Vec<String>>> {
    let name = "container-command";
    let Some(value) = inputs.get(name).filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    parse_command(value).map(Some).map_err(|problem| {
        Error::input(
            name,
            problem,
            r#"give the words separated by spaces (`npm run start`), or a JSON array for arguments with spaces (`["sh", "-c", "echo hi"]`)"#,
        )
    })
}

/// A service-managed EBS volume for UpdateService's `volumeConfigurations`: the name of a
/// task definition volume that is `configuredAtLaunch`, and how ECS creates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceVolume {
    pub name: String,
    pub ebs: ManagedEbsVolume,
}

/// ECS's ServiceManagedEBSVolumeConfiguration. Unknown keys are refused (the AWS action drops
/// them silently, so a typo'd `sizeInGib` would deploy the default size).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ManagedEbsVolume {
    pub role_arn: String,
    pub encrypted: Option<bool>,
    pub kms_key_id: Option<String>,
    pub volume_type: Option<String>,
    #[serde(rename = "sizeInGiB")]
    pub size_in_gib: Option<i32>,
    pub snapshot_id: Option<String>,
    pub volume_initialization_rate: Option<i32>,
    pub iops: Option<i32>,
    pub throughput: Option<i32>,
    pub tag_specifications: Option<Vec<EbsTagSpecification>>,
    pub filesystem_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EbsTagSpecification {
    pub resource_type: String,
    pub tags: Option<Vec<EbsTag>>,
    pub propagate_tags: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EbsTag {
    pub key: String,
    pub value: Option<String>,
}

/// Parses `service-managed-ebs-volume` as the AWS action does (`roleArn` required, `throughput`
/// only with `gp3`), with the JSON error's line and column when it does not parse.
pub fn parse_managed_ebs(
    input: &str,
    value: &str,
    warnings: &mut Vec<String>,
) -> Result<ManagedEbsVolume> {
    let fix = r#"give a JSON object such as {"roleArn": "arn:aws:iam::123456789012:role/ecsInfrastructureRole", "sizeInGiB": 20, "volumeType": "gp3"}"#;
    let mut ebs: ManagedEbsVolume = serde_json::from_str(value).map_err(|e| {
        let problem = if e.to_string().contains("missing field `roleArn`") {
            "has no `roleArn`: ECS needs the infrastructure role that manages the volume".into()
        } else {
            format!("is not a valid managed EBS volume: {e}")
        };
        Error::input(input, problem, fix)
    })?;
    if let Some(problem) = role_arn_problem(&ebs.role_arn) {
        return Err(Error::input(
            input,
            format!("roleArn: {problem}"),
            "give the ECS infrastructure role's full ARN",
        ));
    }
    // The closed sets of the ECS API, so a wrong case fails here and not at UpdateService.
    let closed: [(&str, Option<&str>, &[&str]); 2] = [
        (
            "volumeType",
            ebs.volume_type.as_deref(),
            &["gp2", "gp3", "io1", "io2", "sc1", "st1", "standard"],
        ),
        (
            "filesystemType",
            ebs.filesystem_type.as_deref(),
            &["ext3", "ext4", "xfs", "ntfs"],
        ),
    ];
    let specs = ebs.tag_specifications.iter().flatten();
    let tag_sets = specs.flat_map(|t| {
        [
            (
                "tagSpecifications[].resourceType",
                Some(t.resource_type.as_str()),
                &["volume"][..],
            ),
            (
                "tagSpecifications[].propagateTags",
                t.propagate_tags.as_deref(),
                &["TASK_DEFINITION", "SERVICE", "NONE"][..],
            ),
        ]
    });
    for (field, value, allowed) in closed.into_iter().chain(tag_sets) {
        if let Some(value) = value.filter(|v| !allowed.contains(v)) {
            return Err(Error::input(
                input,
                format!("{field} `{value}` is not one of {}", allowed.join(", ")),
                "use one of the values ECS accepts, spelt exactly",
            ));
        }
    }
    if ebs.throughput.is_some() && ebs.volume_type.as_deref() != Some("gp3") {
        // What the AWS action does, said out loud: throughput is a gp3 setting.
        warnings.push(format!(
            "{input}: `throughput` is only for `volumeType: gp3`; it is not sent"
        ));
        ebs.throughput = None;
    }
    Ok(ebs)
}

/// `service-managed-ebs-volume-name` with `service-managed-ebs-volume`. A name alone is a
/// warning and nothing is sent, as in the AWS action; a volume without a name is refused,
/// because it could attach nowhere.
pub(super) fn service_volume(
    inputs: Inputs<'_>,
    warnings: &mut Vec<String>,
) -> Result<Option<ServiceVolume>> {
    managed_volume(
        inputs,
        (
            "service-managed-ebs-volume-name",
            "service-managed-ebs-volume",
        ),
        "UpdateService",
        warnings,
    )
}

/// A managed EBS volume's name and configuration inputs (`service-…` or `run-task-…`), read
/// alike: a name alone warns that nothing is sent with `call`, a volume alone is refused.
pub(super) fn managed_volume(
    inputs: Inputs<'_>,
    (name_input, volume_input): (&str, &str),
    call: &str,
    warnings: &mut Vec<String>,
) -> Result<Option<ServiceVolume>> {
    let name = inputs
        .get(name_input)
        .map(str::trim)
        .filter(|v| !v.is_empty());
    // `{}` is the AWS action's own "not given".
    let volume = inputs
        .get(volume_input)
        .map(str::trim)
        .filter(|v| !v.is_empty() && *v != "{}");
    match (name, volume) {
        (None, None) => Ok(None),
        (Some(_), None) => {
            warnings.push(format!(
                "{name_input} is given without {volume_input}: no volume configuration is sent with {call}"
            ));
            Ok(None)
        }
        (None, Some(_)) => Err(Error::input(
            volume_input,
            format!("is given without `{name_input}`"),
            format!(
                "set `{name_input}` to the task definition volume (configuredAtLaunch: true) it is for"
            ),
        )),
        (Some(name), Some(value)) => Ok(Some(ServiceVolume {
            name: name.to_string(),
            ebs: parse_managed_ebs(volume_input, value, warnings)?,
        })),
    }
}

/// The most `keep-task-definition-revisions` may be: ECS keeps at most 1,000,000 revisions a
/// family, but a run deregisters a bounded number anyway.
pub const MAX_KEEP_REVISIONS: u32 = 1000;

pub(super) fn keep_revisions(inputs: Inputs<'_>) -> Result<Option<u32>> {
    let name = "keep-task-definition-revisions";
    let Some(value) = inputs.get(name).map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    match value.parse::<u32>() {
        Ok(n) if (1..=MAX_KEEP_REVISIONS).contains(&n) => Ok(Some(n)),
        _ => Err(Error::input(
            name,
            format!("`{value}` is not a whole number from 1 to {MAX_KEEP_REVISIONS}"),
            "give how many of the family's newest revisions stay ACTIVE, e.g. `10`, or leave it out to keep all",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_of_every_partition_pass_and_names_do_not() {
        assert_eq!(role_arn_problem("arn:aws:iam::123456789012:role/app"), None);
        assert_eq!(
            role_arn_problem("arn:aws-us-gov:iam::123456789012:role/path/app"),
            None
        );
        for bad in [
            "app",
            "arn:aws:iam::123456789012:user/app",
            "arn:aws:iam::12345:role/app",
            "arn:aws:iam:us-east-1:123456789012:role/app",
            "arn:aws:sts::123456789012:role/app",
            "arn:aws:iam::123456789012:role/",
            "arn:other:iam::123456789012:role/app",
        ] {
            assert!(role_arn_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn env_files_are_s3_object_arns_ending_in_env() {
        assert_eq!(env_file_problem("arn:aws:s3:::bucket/web/prod.env"), None);
        assert_eq!(env_file_problem("arn:aws-cn:s3:::b/k.env"), None);
        assert!(
            env_file_problem("arn:aws:s3:::bucket/prod.txt").is_some_and(|p| p.contains("`.env`"))
        );
        assert!(env_file_problem("arn:aws:s3:::bucket").is_some());
        assert!(env_file_problem("s3://bucket/prod.env").is_some());
        assert!(env_file_problem("arn:aws:s3:::/prod.env").is_some());
    }

    #[test]
    fn env_files_one_per_line_without_duplicates() {
        let raw = [(
            "env-files".to_string(),
            "arn:aws:s3:::b/a.env\n\n  arn:aws:s3:::b/c.env \narn:aws:s3:::b/a.env".to_string(),
        )]
        .into_iter()
        .collect();
        assert_eq!(
            env_files(Inputs::new(&raw)).unwrap(),
            vec!["arn:aws:s3:::b/a.env", "arn:aws:s3:::b/c.env"]
        );
        let raw = [(
            "env-files".to_string(),
            "arn:aws:s3:::b/a.env\nhttps://x/b.env".to_string(),
        )]
        .into_iter()
        .collect();
        let e = env_files(Inputs::new(&raw)).unwrap_err().to_string();
        assert!(e.contains("env-files") && e.contains("line 2"), "{e}");
    }

    #[test]
    fn commands_split_on_whitespace_or_come_as_a_json_array() {
        assert_eq!(
            parse_command("npm  run start").unwrap(),
            vec!["npm", "run", "start"]
        );
        assert_eq!(
            parse_command(r#"["sh", "-c", "echo a b"]"#).unwrap(),
            vec!["sh", "-c", "echo a b"]
        );
        assert!(
            parse_command(r#"["sh", 1]"#)
                .unwrap_err()
                .contains("JSON array of strings")
        );
        assert!(parse_command("[").is_err());
        assert!(parse_command("[]").is_err());
    }

    #[test]
    fn a_managed_ebs_volume_needs_a_role_and_known_keys() {
        let mut w = Vec::new();
        let ebs = parse_managed_ebs(
            "v",
            r#"{"roleArn": "arn:aws:iam::123456789012:role/infra", "sizeInGiB": 20, "volumeType": "gp3", "throughput": 250,
                "tagSpecifications": [{"resourceType": "volume", "tags": [{"key": "team", "value": "web"}], "propagateTags": "SERVICE"}]}"#,
            &mut w,
        )
        .unwrap();
        assert_eq!(ebs.size_in_gib, Some(20));
        assert_eq!(ebs.throughput, Some(250));
        assert!(w.is_empty());

        let e = parse_managed_ebs("v", r#"{"sizeInGiB": 20}"#, &mut w)
            .unwrap_err()
            .to_string();
        assert!(e.contains("roleArn"), "{e}");
        let e = parse_managed_ebs(
            "v",
            r#"{"roleArn": "arn:aws:iam::123456789012:role/infra", "sizeInGib": 20}"#,
            &mut w,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("sizeInGib"), "{e}");
        let e = parse_managed_ebs("v", r#"{"roleArn": "#, &mut w)
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 1"), "{e}");

        let e = parse_managed_ebs(
            "v",
            r#"{"roleArn": "arn:aws:iam::123456789012:role/infra", "volumeType": "GP3"}"#,
            &mut w,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("volumeType `GP3`"), "{e}");
        let e = parse_managed_ebs(
            "v",
            r#"{"roleArn": "arn:aws:iam::123456789012:role/infra", "tagSpecifications": [{"resourceType": "volume", "propagateTags": "TASK"}]}"#,
            &mut w,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("propagateTags `TASK`"), "{e}");

        let ebs = parse_managed_ebs(
            "v",
            r#"{"roleArn": "arn:aws:iam::123456789012:role/infra", "volumeType": "io2", "throughput": 250}"#,
            &mut w,
        )
        .unwrap();
        assert_eq!(ebs.throughput, None);
        assert_eq!(w.len(), 1, "{w:?}");
    }

    fn raw(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_volume_name_alone_warns_and_a_volume_alone_is_refused() {
        let mut w = Vec::new();
        let r = raw(&[("service-managed-ebs-volume-name", "data")]);
        assert_eq!(service_volume(Inputs::new(&r), &mut w).unwrap(), None);
        assert_eq!(w.len(), 1);
        let r = raw(&[(
            "service-managed-ebs-volume",
            r#"{"roleArn": "arn:aws:iam::123456789012:role/infra"}"#,
        )]);
        assert!(service_volume(Inputs::new(&r), &mut w).is_err());
        let r = raw(&[
            ("service-managed-ebs-volume-name", "data"),
            ("service-managed-ebs-volume", "{}"),
        ]);
        assert_eq!(service_volume(Inputs::new(&r), &mut w).unwrap(), None);
    }

    #[test]
    fn keep_revisions_is_1_to_1000() {
        for (value, ok) in [
            ("1", true),
            ("1000", true),
            ("0", false),
            ("1001", false),
            ("-1", false),
            ("ten", false),
        ] {
            let r = raw(&[("keep-task-definition-revisions", value)]);
            assert_eq!(keep_revisions(Inputs::new(&r)).is_ok(), ok, "{value}");
        }
        assert_eq!(keep_revisions(Inputs::new(&raw(&[]))).unwrap(), None);
    }
}
