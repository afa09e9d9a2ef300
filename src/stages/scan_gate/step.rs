//! The gate as a step of a run: resolve an image through ECR, then judge its findings, emitting
//! the events and writing the reports. It returns what it found; the command decides which
//! action outputs that becomes.

use super::ecr;
use super::policy::{Finding, Severity, Verdict, evaluate};
use super::reports::{markdown_table, write_sarif};
use crate::error::{Error, Result};

/// The gate's result for one image, with what the reports need.
#[derive(Debug, Clone, PartialEq)]
pub struct Gated {
    /// `repo@sha256:…`, the reference to deploy.
    pub pinned: String,
    pub digest: String,
    /// Absent when the gate did not judge the image (it is off).
    pub verdict: Option<Verdict>,
    /// Where the findings were written as SARIF.
    pub sarif_file: Option<std::path::PathBuf>,
}

impl Gated {
    /// The counts per severity (and the SARIF file) as the action outputs name them.
    pub fn outputs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(verdict) = &self.verdict {
            for (sev, name) in [
                (Severity::Critical, "scan-critical"),
                (Severity::High, "scan-high"),
                (Severity::Medium, "scan-medium"),
                (Severity::Low, "scan-low"),
            ] {
                out.push((name, verdict.count(sev).to_string()));
            }
        }
        if let Some(path) = &self.sarif_file {
            out.push(("sarif-file", path.display().to_string()));
        }
        out
    }

    /// The image, unless its findings block it (`Error::Gate`, exit 3).
    pub fn passed(self) -> Result<Gated> {
        match &self.verdict {
            Some(verdict) if !verdict.passed => Err(Error::Gate {
                message: format!(
                    "blocked by {} findings above threshold ({})",
                    verdict.blocking.len(),
                    verdict.counts_text()
                ),
            }),
            _ => Ok(self),
        }
    }
}

/// An image resolved to its digest, before its findings are judged.
#[derive(Debug, Clone)]
pub struct Resolution {
    /// The reference as given.
    pub image: String,
    /// `repo@sha256:…`, the reference to deploy.
    pub pinned: String,
    /// Empty when the image is outside ECR (and the gate off): deployed as given.
    pub digest: String,
    /// The ECR side, when the image is in ECR and the gate is on: what to judge.
    scan: Option<(aws_sdk_ecr::Client, ecr::Resolved)>,
}

impl Resolution {
    /// Says in the log what the resolution found. Kept apart from `resolve_image`, so a deploy
    /// can resolve while it checks the service and still report in the order of its checks.
    pub fn announce(&self, gate: &crate::config::GateConfig, progress: &crate::event::Progress) {
        use crate::event::Event;
        let image = &self.image;
        if self.digest.is_empty() {
            progress.emit(Event::Warning(format!(
                "scan gate is off and `{image}` is not in ECR: deploying it as given, not pinned to a digest"
            )));
            return;
        }
        progress.emit(Event::ImageResolved {
            image: image.clone(),
            digest: self.digest.clone(),
        });
        if !gate.enabled {
            progress.emit(Event::Warning(format!(
                "SCAN GATE IS OFF (scan-gate: false): {image} is deployed without checking its vulnerabilities"
            )));
        }
    }
}

/// Resolves `image` to its digest: reads only, and says nothing (see `Resolution::announce`).
/// A gate that is off, or an image outside ECR with the gate off, needs nothing more (see
/// `judge`).
pub async fn resolve_image(
    clients: &crate::aws::Clients,
    image: &crate::stages::image::ImageRef,
    gate: &crate::config::GateConfig,
    arch: Option<&str>,
) -> Result<Resolution> {
    let Some(registry) = image.ecr() else {
        if gate.enabled {
            return Err(Error::input(
                "image",
                format!(
                    "`{image}` is not in Amazon ECR, so there are no ECR scan findings to gate on"
                ),
                "push the image to ECR, or set `scan-gate: false` to deploy it unscanned",
            ));
        }
        return Ok(Resolution {
            image: image.to_string(),
            pinned: image.to_string(),
            digest: String::new(),
            scan: None,
        });
    };
    let ecr = clients.ecr_in(&registry.region);
    let resolved =
        match ecr::resolve(&ecr, image, &registry.account, &gate.mutable_tags, arch).await {
            // Not found in another region than the run's is most often the wrong region.
            Err(Error::Input {
                input,
                problem,
                fix,
            }) if registry.region != clients.region => Err(Error::Input {
                input,
                problem: format!(
                    "{problem} (the image's registry is in {}, this run deploys in {})",
                    registry.region, clients.region
                ),
                fix: format!(
                    "{fix}; push the image to {} or correct the region in the reference",
                    clients.region
                ),
            }),
            r => r,
        }?;
    let pinned = image.pinned(&resolved.digest).to_string();
    Ok(Resolution {
        image: image.to_string(),
        pinned,
        digest: resolved.digest.clone(),
        scan: gate.enabled.then_some((ecr, resolved)),
    })
}

/// The findings of each platform the gate covers, as ECR reports them (reads only, unless
/// `may_start`). `None` when a scan would have to be started and `may_start` is false.
pub struct Scanned(Vec<(String, String, Vec<Finding>)>);

/// Reads the findings of a resolved image: the ECR half of `judge`, which a deploy starts with
/// its first reads.
pub async fn scan_findings(
    res: &Resolution,
    gate: &crate::config::GateConfig,
    may_start: bool,
    progress: &crate::event::Progress,
) -> Result<Option<Scanned>> {
    let Some((ecr, resolved)) = &res.scan else {
        return Ok(Some(Scanned(Vec::new())));
    };
    let mut out = Vec::new();
    for (platform, digest) in &resolved.gated {
        let Some(found) = ecr::findings_unless_starting(
            ecr,
            &resolved.repository,
            &resolved.registry_id,
            digest,
            gate,
            progress,
            may_start,
        )
        .await?
        else {
            return Ok(None);
        };
        out.push((platform.clone(), digest.clone(), found));
    }
    Ok(Some(Scanned(out)))
}

/// Judges the findings of a resolved image, emitting the reports; whether they block is the
/// verdict's (`Gated::passed`). Starting a missing scan is a write, so with `may_start` false a
/// scan that would have to be started answers `None` (judge again once every other check has
/// passed).
pub async fn judge(
    res: &Resolution,
    gate: &crate::config::GateConfig,
    may_start: bool,
    progress: &crate::event::Progress,
) -> Result<Option<Gated>> {
    match scan_findings(res, gate, may_start, progress).await? {
        Some(scanned) => verdict(res, scanned, gate, progress).map(Some),
        None => Ok(None),
    }
}

/// The verdict on findings already read, with its reports (log, SARIF, summary table).
pub fn verdict(
    res: &Resolution,
    scanned: Scanned,
    gate: &crate::config::GateConfig,
    progress: &crate::event::Progress,
) -> Result<Gated> {
    use crate::event::Event;
    if res.scan.is_none() {
        return Ok(Gated {
            pinned: res.pinned.clone(),
            digest: res.digest.clone(),
            verdict: None,
            sarif_file: None,
        });
    }
    let pinned = res.pinned.clone();
    let mut all: Vec<Finding> = Vec::new();
    for (platform, digest, found) in scanned.0 {
        if !platform.is_empty() {
            progress.emit(Event::Info(format!(
                "{platform} ({digest}): {} findings",
                found.len()
            )));
        }
        for f in found {
            // The same CVE in the same package on two platforms is one problem to fix.
            if !all
                .iter()
                .any(|g| g.id == f.id && g.package == f.package && g.version == f.version)
            {
                all.push(f);
            }
        }
    }
    let today = time::OffsetDateTime::now_utc().date();
    let verdict = evaluate(&all, &gate.policy, today);
    for e in &verdict.expired {
        progress.emit(Event::FileWarning {
            file: gate
                .policy
                .ignore_file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            line: e.line,
            message: format!(
                "ignore entry `{}` expired on {}; the finding counts again",
                e.id,
                e.until.map(|d| d.to_string()).unwrap_or_default()
            ),
        });
    }
    if let Some(path) = &gate.sarif_file {
        write_sarif(path, &verdict, &pinned)?;
    }
    progress.emit(Event::GateVerdict {
        passed: verdict.passed,
        summary: verdict.summary(),
        table: markdown_table(&verdict, 25),
    });
    for f in verdict.blocking.iter().take(10) {
        progress.emit(Event::Info(format!(
            "  {} {} {} {}{}",
            f.severity,
            f.id,
            f.package.as_deref().unwrap_or(""),
            f.version.as_deref().unwrap_or(""),
            f.fixed_in
                .as_ref()
                .map(|v| format!(" (fixed in {v})"))
                .unwrap_or_default()
        )));
    }
    Ok(Gated {
        pinned,
        digest: res.digest.clone(),
        verdict: Some(verdict),
        sarif_file: gate.sarif_file.clone(),
    })
}
