//! The ECR edge of the gate: resolve a reference to its digest (and platform manifests),
//! wait for the scan, read every page of findings.

use std::time::Duration;

use aws_sdk_ecr::Client;
use aws_sdk_ecr::types::{ImageIdentifier, ScanStatus, TagStatus};
use serde_json::Value;
use tokio::time::Instant;

use super::policy::{Finding, Severity};
use crate::config::{GateConfig, OnMissingScan};
use crate::error::{Error, Result, sdk_error_code};
use crate::event::{Event, Progress};
use crate::stages::image::ImageRef;

const INDEX_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

/// What a reference resolved to in ECR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub repository: String,
    pub registry_id: String,
    /// The digest the reference names (an index for multi-arch images).
    pub digest: String,
    pub tag: Option<String>,
    /// The manifests that will run and must be gated: `(platform, digest)`. For a single-arch
    /// image this is the image itself with platform "".
    pub gated: Vec<(String, String)>,
}

/// Refuses tags that can move, then finds the digest. `arch` is the task definition's
/// `runtimePlatform.cpuArchitecture` (None when it does not say).
pub async fn resolve(
    ecr: &Client,
    image: &ImageRef,
    registry_id: &str,
    mutable_tags: &[String],
    arch: Option<&str>,
) -> Result<Resolved> {
    let repo = image.repository.as_str();
    if let Some(tag) = &image.tag
        && (tag == "latest" || mutable_tags.iter().any(|m| m == tag))
    {
        return Err(Error::input(
            "image",
            format!(
                "`{image}` uses the mutable tag `{tag}`: what is gated could differ from what runs"
            ),
            "deploy a unique tag (see `greenlight tag`, e.g. `{date}-{sha7}`) or a digest",
        ));
    }
    let id = match (&image.digest, &image.tag) {
        (Some(d), _) => ImageIdentifier::builder().image_digest(d).build(),
        (None, Some(t)) => ImageIdentifier::builder().image_tag(t).build(),
        (None, None) => {
            return Err(Error::input(
                "image",
                format!("`{image}` has neither a tag nor a digest"),
                "give the exact image built, e.g. the `image` output of `greenlight tag`",
            ));
        }
    };
    let out = ecr
        .describe_images()
        .repository_name(repo)
        .registry_id(registry_id)
        .image_ids(id)
        .send()
        .await;
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            return Err(match sdk_error_code(&e) {
                Some("RepositoryNotFoundException") => Error::input(
                    "image",
                    format!("ECR repository `{repo}` does not exist in registry {registry_id}"),
                    "check the repository name and the registry's account and region",
                ),
                Some("ImageNotFoundException") => not_found(ecr, image, registry_id).await,
                _ => Error::aws("DescribeImages", &e),
            });
        }
    };
    let Some(detail) = out.image_details().first() else {
        return Err(not_found(ecr, image, registry_id).await);
    };
    let digest = detail.image_digest().unwrap_or_default().to_string();
    if let (Some(want), Some(tag)) = (&image.digest, &image.tag)
        && !detail.image_tags().contains(tag)
        && want == &digest
    {
        return Err(Error::input(
            "image",
            format!("`{image}`: tag `{tag}` no longer points at {want}"),
            "deploy by digest alone, or the tag as it is now",
        ));
    }
    let media = detail.image_manifest_media_type().unwrap_or_default();
    let gated = if INDEX_TYPES.contains(&media) {
        platform_manifests(ecr, repo, registry_id, &digest, arch).await?
    } else {
        vec![(String::new(), digest.clone())]
    };
    Ok(Resolved {
        repository: repo.to_string(),
        registry_id: registry_id.to_string(),
        digest,
        tag: image.tag.clone(),
        gated,
    })
}

/// "tag does not exist" with the closest and the newest existing tags.
async fn not_found(ecr: &Client, image: &ImageRef, registry_id: &str) -> Error {
    let wanted = image
        .tag
        .clone()
        .or_else(|| image.digest.clone())
        .unwrap_or_default();
    let mut tags: Vec<(String, i64)> = Vec::new();
    let mut pages = ecr
        .describe_images()
        .repository_name(&image.repository)
        .registry_id(registry_id)
        .filter(
            aws_sdk_ecr::types::DescribeImagesFilter::builder()
                .tag_status(TagStatus::Tagged)
                .build(),
        )
        .into_paginator()
        .send();
    while let Some(Ok(page)) = pages.next().await {
        for d in page.image_details() {
            let pushed = d.image_pushed_at().map(|t| t.secs()).unwrap_or_default();
            tags.extend(d.image_tags().iter().map(|t| (t.clone(), pushed)));
        }
        if tags.len() > 5_000 {
            break;
        }
    }
    let mut closest: Vec<&(String, i64)> = tags.iter().collect();
    closest.sort_by(|a, b| {
        strsim::jaro_winkler(&wanted, &b.0).total_cmp(&strsim::jaro_winkler(&wanted, &a.0))
    });
    let closest: Vec<String> = closest
        .iter()
        .take(3)
        .map(|t| format!("`{}`", t.0))
        .collect();
    let mut newest: Vec<&(String, i64)> = tags.iter().collect();
    newest.sort_by_key(|t| std::cmp::Reverse(t.1));
    let newest: Vec<String> = newest
        .iter()
        .take(3)
        .map(|t| format!("`{}`", t.0))
        .collect();
    let fix = if tags.is_empty() {
        "the repository has no tagged images yet: push the image before deploying it".to_string()
    } else {
        format!(
            "closest existing tags: {}; newest: {}",
            closest.join(", "),
            newest.join(", ")
        )
    };
    Error::input(
        "image",
        format!(
            "`{wanted}` does not exist in ECR repository `{}`",
            image.repository
        ),
        fix,
    )
}

/// The platform manifests of an image index that the task will run.
async fn platform_manifests(
    ecr: &Client,
    repo: &str,
    registry_id: &str,
    digest: &str,
    arch: Option<&str>,
) -> Result<Vec<(String, String)>> {
    let mut req = ecr
        .batch_get_image()
        .repository_name(repo)
        .registry_id(registry_id)
        .image_ids(ImageIdentifier::builder().image_digest(digest).build());
    for t in INDEX_TYPES {
        req = req.accepted_media_types(*t);
    }
    let out = req
        .send()
        .await
        .map_err(|e| Error::aws("BatchGetImage", &e))?;
    let manifest = out
        .images()
        .first()
        .and_then(|i| i.image_manifest())
        .ok_or_else(|| Error::Gate {
            message: format!(
                "ECR returned no manifest for {digest}; cannot tell which images will run"
            ),
        })?;
    choose_platforms(manifest, arch).map_err(|message| Error::Gate { message })
}

/// Picks the manifests for `arch` (ECS `X86_64` / `ARM64`), or linux/amd64 and linux/arm64
/// when the task definition does not pin one.
pub fn choose_platforms(
    index: &str,
    arch: Option<&str>,
) -> std::result::Result<Vec<(String, String)>, String> {
    let doc: Value =
        serde_json::from_str(index).map_err(|e| format!("the image index is not JSON: {e}"))?;
    let wanted: &[&str] = match arch {
        Some("ARM64") => &["arm64"],
        Some(_) => &["amd64"],
        None => &["amd64", "arm64"],
    };
    let mut out = Vec::new();
    for m in doc
        .get("manifests")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let os = m
            .pointer("/platform/os")
            .and_then(Value::as_str)
            .unwrap_or("");
        let a = m
            .pointer("/platform/architecture")
            .and_then(Value::as_str)
            .unwrap_or("");
        if os == "linux"
            && wanted.contains(&a)
            && let Some(d) = m.get("digest").and_then(Value::as_str)
        {
            out.push((format!("{os}/{a}"), d.to_string()));
        }
    }
    if out.is_empty() {
        return Err(format!(
            "the image index has no manifest for linux/{}; the task could not run it",
            wanted.join(" or linux/")
        ));
    }
    Ok(out)
}

/// Waits for the scan of `digest` and returns all its findings, basic and enhanced. Anything
/// but a clean verdict (failed, unsupported, expired, never finished) is an `Error::Gate`.
pub async fn findings(
    ecr: &Client,
    repo: &str,
    registry_id: &str,
    digest: &str,
    gate: &GateConfig,
    progress: &Progress,
) -> Result<Vec<Finding>> {
    findings_unless_starting(ecr, repo, registry_id, digest, gate, progress, true)
        .await
        .map(Option::unwrap_or_default)
}

/// Like `findings`, but when a scan would have to be started (a write) and `may_start` is
/// false, answers `None` instead of starting it.
pub async fn findings_unless_starting(
    ecr: &Client,
    repo: &str,
    registry_id: &str,
    digest: &str,
    gate: &GateConfig,
    progress: &Progress,
    may_start: bool,
) -> Result<Option<Vec<Finding>>> {
    let deadline = Instant::now() + Duration::from_secs(u64::from(gate.wait_minutes) * 60);
    let mut wait = Duration::from_secs(3);
    let mut started = false;
    let mut said_waiting = false;
    let id = || ImageIdentifier::builder().image_digest(digest).build();
    loop {
        let first = ecr
            .describe_image_scan_findings()
            .repository_name(repo)
            .registry_id(registry_id)
            .image_id(id())
            .max_results(1000)
            .send()
            .await;
        let first = match first {
            Ok(page) => Some(page),
            Err(e) if sdk_error_code(&e) == Some("ScanNotFoundException") && !started => {
                if gate.read_only {
                    return Err(Error::Gate {
                        message: format!(
                            "{repo}@{digest} has no scan yet, and plan does not start one (it writes nothing); deploy starts it when scan-on-missing is start"
                        ),
                    });
                }
                match gate.on_missing {
                    OnMissingScan::Fail => {
                        return Err(Error::Gate {
                            message: format!("{repo}@{digest} has no scan (scan-on-missing: fail)"),
                        });
                    }
                    OnMissingScan::Start if !may_start => return Ok(None),
                    OnMissingScan::Start => {
                        progress.emit(Event::Info(format!(
                            "no scan for {repo}@{digest}; starting a basic scan"
                        )));
                        ecr.start_image_scan()
                            .repository_name(repo)
                            .registry_id(registry_id)
                            .image_id(id())
                            .send()
                            .await
                            .map_err(|e| Error::aws("StartImageScan", &e))?;
                        started = true;
                        continue;
                    }
                }
            }
            // Just after StartImageScan ECR may not know the scan yet: keep waiting.
            Err(e) if sdk_error_code(&e) == Some("ScanNotFoundException") => None,
            Err(e) => return Err(Error::aws("DescribeImageScanFindings", &e)),
        };
        let status = first
            .as_ref()
            .and_then(|p| p.image_scan_status())
            .and_then(|s| s.status())
            .cloned();
        let description = first
            .as_ref()
            .and_then(|p| p.image_scan_status())
            .and_then(|s| s.description())
            .unwrap_or("")
            .to_string();
        match (status, first) {
            (Some(ScanStatus::Complete | ScanStatus::Active), Some(first)) => {
                return read_all(ecr, repo, registry_id, digest, first)
                    .await
                    .map(Some);
            }
            (Some(ScanStatus::InProgress | ScanStatus::Pending) | None, _) => {
                if !said_waiting {
                    said_waiting = true;
                    progress.emit(Event::Info(format!(
                        "waiting for the scan of {repo}@{digest} to complete (up to {} minutes)",
                        gate.wait_minutes
                    )));
                }
                let now = Instant::now();
                if now >= deadline {
                    return Err(Error::Gate {
                        message: format!(
                            "the scan of {repo}@{digest} did not complete within {} minutes (scan-wait-minutes); failing closed",
                            gate.wait_minutes
                        ),
                    });
                }
                tokio::time::sleep(wait.min(deadline - now)).await;
                wait = (wait.mul_f64(1.5)).min(Duration::from_secs(30));
            }
            (Some(other), _) => {
                return Err(Error::Gate {
                    message: format!(
                        "the scan of {repo}@{digest} ended {}{}: no verdict, failing closed",
                        other.as_str(),
                        if description.is_empty() {
                            String::new()
                        } else {
                            format!(" ({description})")
                        }
                    ),
                });
            }
        }
    }
}

async fn read_all(
    ecr: &Client,
    repo: &str,
    registry_id: &str,
    digest: &str,
    first: aws_sdk_ecr::operation::describe_image_scan_findings::DescribeImageScanFindingsOutput,
) -> Result<Vec<Finding>> {
    let mut out = Vec::new();
    let mut page = first;
    loop {
        if let Some(f) = page.image_scan_findings() {
            out.extend(f.findings().iter().map(basic));
            out.extend(f.enhanced_findings().iter().map(enhanced));
        }
        let Some(token) = page.next_token().map(str::to_string) else {
            return Ok(out);
        };
        page = ecr
            .describe_image_scan_findings()
            .repository_name(repo)
            .registry_id(registry_id)
            .image_id(ImageIdentifier::builder().image_digest(digest).build())
            .max_results(1000)
            .next_token(token)
            .send()
            .await
            .map_err(|e| Error::aws("DescribeImageScanFindings", &e))?;
    }
}

fn basic(f: &aws_sdk_ecr::types::ImageScanFinding) -> Finding {
    let attr = |k: &str| {
        f.attributes()
            .iter()
            .find(|a| a.key() == k)
            .and_then(|a| a.value())
            .map(str::to_string)
    };
    let severity = f
        .severity()
        .map(|s| s.as_str())
        .and_then(Severity::parse)
        .unwrap_or(Severity::Undefined);
    let mut out = Finding::new(f.name().unwrap_or("unnamed"), severity);
    out.package = attr("package_name");
    out.version = attr("package_version");
    out.score = attr("CVSS3_SCORE")
        .or_else(|| attr("CVSS2_SCORE"))
        .and_then(|s| s.parse().ok());
    out.uri = f.uri().map(str::to_string);
    out.description = f.description().map(str::to_string);
    out
}

fn enhanced(f: &aws_sdk_ecr::types::EnhancedImageScanFinding) -> Finding {
    let details = f.package_vulnerability_details();
    let id = details
        .and_then(|d| d.vulnerability_id())
        .or(f.title())
        .unwrap_or("unnamed");
    let severity = f
        .severity()
        .and_then(Severity::parse)
        .unwrap_or(Severity::Undefined);
    let mut out = Finding::new(id, severity);
    let pkg = details.and_then(|d| d.vulnerable_packages().first());
    out.package = pkg.and_then(|p| p.name()).map(str::to_string);
    out.version = pkg.and_then(|p| p.version()).map(str::to_string);
    out.fixed_in = pkg
        .and_then(|p| p.fixed_in_version())
        .filter(|v| !v.is_empty() && *v != "NotAvailable")
        .map(str::to_string);
    out.fix_available = f.fix_available().map(|v| v != "NO");
    out.exploit_available = f.exploit_available().map(|v| v == "YES");
    out.score = Some(f.score()).filter(|s| *s > 0.0);
    out.uri = details.and_then(|d| d.source_url()).map(str::to_string);
    out.description = f.description().map(str::to_string);
    out.arn = f.finding_arn().map(str::to_string);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
        {"digest":"sha256:aaa","platform":{"os":"linux","architecture":"amd64"}},
        {"digest":"sha256:bbb","platform":{"os":"linux","architecture":"arm64"}},
        {"digest":"sha256:ccc","platform":{"os":"unknown","architecture":"unknown"}}]}"#;

    #[test]
    fn platforms_follow_the_runtime_platform() {
        assert_eq!(
            choose_platforms(INDEX, Some("ARM64")).unwrap(),
            vec![("linux/arm64".into(), "sha256:bbb".into())]
        );
        assert_eq!(
            choose_platforms(INDEX, Some("X86_64")).unwrap(),
            vec![("linux/amd64".into(), "sha256:aaa".into())]
        );
        assert_eq!(
            choose_platforms(INDEX, None).unwrap().len(),
            2,
            "both when the task does not say"
        );
        let amd_only = r#"{"manifests":[{"digest":"sha256:aaa","platform":{"os":"linux","architecture":"amd64"}}]}"#;
        assert!(
            choose_platforms(amd_only, Some("ARM64"))
                .unwrap_err()
                .contains("no manifest for linux/arm64")
        );
    }
}
