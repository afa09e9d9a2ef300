//! The gate's ECR edge against mocked ECR, with paused time: waiting for scans, statuses that
//! must fail closed, paging, enhanced findings, throttling.

mod common;

use std::time::Duration;

use aws_sdk_ecr::Client;
use aws_sdk_ecr::operation::describe_image_scan_findings::{
    DescribeImageScanFindingsError, DescribeImageScanFindingsOutput,
};
use aws_sdk_ecr::operation::start_image_scan::StartImageScanOutput;
use aws_sdk_ecr::types::error::ScanNotFoundException;
use aws_sdk_ecr::types::{
    Attribute, EnhancedImageScanFinding, FindingSeverity, ImageScanFinding, ImageScanFindings,
    ImageScanStatus, PackageVulnerabilityDetails, ScanStatus, VulnerablePackage,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use greenlight::config::GateConfig;
use greenlight::error::Error;
use greenlight::stages::scan_gate::Severity;
use greenlight::stages::scan_gate::ecr::findings;

const DIGEST: &str = "sha256:3f1e5c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d9b2c";

fn gate(extra: &[(&str, &str)]) -> GateConfig {
    common::deploy_config(extra).gate
}

fn status(s: ScanStatus) -> DescribeImageScanFindingsOutput {
    DescribeImageScanFindingsOutput::builder()
        .image_scan_status(
            ImageScanStatus::builder()
                .status(s)
                .description("scripted")
                .build(),
        )
        .build()
}

fn basic(i: usize, sev: FindingSeverity) -> ImageScanFinding {
    ImageScanFinding::builder()
        .name(format!("CVE-2026-{i:05}"))
        .severity(sev)
        .uri(format!("https://nvd.nist.gov/vuln/detail/CVE-2026-{i:05}"))
        .attributes(
            Attribute::builder()
                .key("package_name")
                .value("openssl")
                .build()
                .unwrap(),
        )
        .attributes(
            Attribute::builder()
                .key("package_version")
                .value("3.0.13")
                .build()
                .unwrap(),
        )
        .attributes(
            Attribute::builder()
                .key("CVSS3_SCORE")
                .value("9.8")
                .build()
                .unwrap(),
        )
        .build()
}

fn page(from: usize, to: usize, next: Option<&str>) -> DescribeImageScanFindingsOutput {
    let mut f = ImageScanFindings::builder();
    for i in from..to {
        f = f.findings(basic(i, FindingSeverity::Medium));
    }
    let mut b = DescribeImageScanFindingsOutput::builder()
        .image_scan_status(
            ImageScanStatus::builder()
                .status(ScanStatus::Complete)
                .build(),
        )
        .image_scan_findings(f.build());
    if let Some(n) = next {
        b = b.next_token(n);
    }
    b.build()
}

fn ecr_with(rules: &[&aws_smithy_mocks::Rule]) -> Client {
    mock_client!(aws_sdk_ecr, RuleMode::MatchAny, rules)
}

async fn run(
    ecr: &Client,
    g: &GateConfig,
) -> Result<Vec<greenlight::stages::scan_gate::Finding>, Error> {
    let (progress, _rx) = greenlight::event::channel();
    findings(ecr, "web", "123456789012", DIGEST, g, &progress).await
}

#[tokio::test(start_paused = true)]
async fn a_scan_that_never_completes_fails_closed_at_scan_wait_minutes() {
    let get =
        mock!(Client::describe_image_scan_findings).then_output(|| status(ScanStatus::InProgress));
    let ecr = ecr_with(&[&get]);
    let start = tokio::time::Instant::now();
    let err = run(&ecr, &gate(&[("scan-wait-minutes", "3")]))
        .await
        .unwrap_err();
    let waited = start.elapsed();
    assert_eq!(err.exit_code(), 3);
    assert!(
        err.to_string()
            .contains("did not complete within 3 minutes"),
        "{err}"
    );
    assert!(
        waited >= Duration::from_secs(180) && waited < Duration::from_secs(181),
        "{waited:?}"
    );
    assert!(
        get.num_calls() < 20,
        "adaptive poll, not a hot loop: {}",
        get.num_calls()
    );
}

#[tokio::test(start_paused = true)]
async fn in_progress_then_complete() {
    let get = mock!(Client::describe_image_scan_findings)
        .sequence()
        .output(|| status(ScanStatus::InProgress))
        .times(3)
        .output(|| page(0, 2, None))
        .build();
    let ecr = ecr_with(&[&get]);
    let found = run(&ecr, &gate(&[])).await.unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].package.as_deref(), Some("openssl"));
    assert_eq!(found[0].score, Some(9.8));
}

#[tokio::test(start_paused = true)]
async fn statuses_without_a_verdict_fail_closed() {
    for s in [
        ScanStatus::Failed,
        ScanStatus::UnsupportedImage,
        ScanStatus::ScanEligibilityExpired,
        ScanStatus::FindingsUnavailable,
        ScanStatus::LimitExceeded,
    ] {
        let expected = s.as_str().to_string();
        let get =
            mock!(Client::describe_image_scan_findings).then_output(move || status(s.clone()));
        let err = run(&ecr_with(&[&get]), &gate(&[])).await.unwrap_err();
        assert_eq!(err.exit_code(), 3, "{expected}");
        assert!(
            err.to_string()
                .contains(&format!("ended {expected} (scripted)")),
            "{err}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_missing_scan_is_started_or_refused() {
    let missing = || {
        DescribeImageScanFindingsError::ScanNotFoundException(
            // What the SDK's deserializer sets on a real response: the error code.
            ScanNotFoundException::builder()
                .message("no scan")
                .meta(
                    aws_sdk_ecr::error::ErrorMetadata::builder()
                        .code("ScanNotFoundException")
                        .build(),
                )
                .build(),
        )
    };
    let get = mock!(Client::describe_image_scan_findings)
        .sequence()
        .error(missing)
        .output(|| status(ScanStatus::InProgress))
        .output(|| page(0, 1, None))
        .build();
    let start = mock!(Client::start_image_scan)
        .match_requests(|r| r.image_id().and_then(|i| i.image_digest()) == Some(DIGEST))
        .then_output(|| StartImageScanOutput::builder().build());
    let found = run(&ecr_with(&[&get, &start]), &gate(&[])).await.unwrap();
    assert_eq!((found.len(), start.num_calls()), (1, 1));

    let get = mock!(Client::describe_image_scan_findings).then_error(missing);
    let start =
        mock!(Client::start_image_scan).then_output(|| StartImageScanOutput::builder().build());
    let err = run(
        &ecr_with(&[&get, &start]),
        &gate(&[("scan-on-missing", "fail")]),
    )
    .await
    .unwrap_err();
    assert_eq!(err.exit_code(), 3);
    assert!(err.to_string().contains("has no scan"), "{err}");
    assert_eq!(start.num_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn every_page_is_read_with_max_results_1000() {
    let get = mock!(Client::describe_image_scan_findings)
        .match_requests(|r| r.max_results() == Some(1000))
        .sequence()
        .output(|| page(0, 1000, Some("t1")))
        .output(|| page(1000, 2000, Some("t2")))
        .output(|| page(2000, 2500, None))
        .build();
    let found = run(&ecr_with(&[&get]), &gate(&[])).await.unwrap();
    assert_eq!(found.len(), 2500);
    assert_eq!(get.num_calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn enhanced_findings_keep_fix_exploit_score_and_arn() {
    let out = || {
        DescribeImageScanFindingsOutput::builder()
            .image_scan_status(
                ImageScanStatus::builder()
                    .status(ScanStatus::Active)
                    .build(),
            )
            .image_scan_findings(
                ImageScanFindings::builder()
                    .enhanced_findings(
                        EnhancedImageScanFinding::builder()
                            .finding_arn("arn:aws:inspector2:us-east-1:123456789012:finding/abc")
                            .severity("CRITICAL")
                            .score(9.1)
                            .fix_available("NO")
                            .exploit_available("YES")
                            .package_vulnerability_details(
                                PackageVulnerabilityDetails::builder()
                                    .vulnerability_id("CVE-2026-4242")
                                    .source_url("https://nvd.nist.gov/vuln/detail/CVE-2026-4242")
                                    .vulnerable_packages(
                                        VulnerablePackage::builder()
                                            .name("glibc")
                                            .version("2.36")
                                            .fixed_in_version("NotAvailable")
                                            .build(),
                                    )
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .build()
    };
    let get = mock!(Client::describe_image_scan_findings).then_output(out);
    let found = run(&ecr_with(&[&get]), &gate(&[])).await.unwrap();
    let f = &found[0];
    assert_eq!(f.id, "CVE-2026-4242");
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(
        (f.fix_available, f.exploit_available),
        (Some(false), Some(true))
    );
    assert_eq!(f.score, Some(9.1));
    assert_eq!(f.fixed_in, None, "NotAvailable is not a version");
    assert_eq!(f.package.as_deref(), Some("glibc"));
    assert_eq!(
        f.arn.as_deref(),
        Some("arn:aws:inspector2:us-east-1:123456789012:finding/abc")
    );
}

#[tokio::test(start_paused = true)]
async fn throttling_is_retried() {
    let throttled = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
    let get = mock!(Client::describe_image_scan_findings)
        .sequence()
        .http_status(400, Some(throttled.into()))
        .times(2)
        .output(|| page(0, 3, None))
        .build();
    let ecr = mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&get], |c| c.retry_config(
        aws_sdk_ecr::config::retry::RetryConfig::standard().with_max_attempts(4)
    ));
    let found = run(&ecr, &gate(&[])).await.unwrap();
    assert_eq!((found.len(), get.num_calls()), (3, 3));
}
