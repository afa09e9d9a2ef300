//! The gate's reports for a realistic mix of findings: the markdown table (insta snapshot) and
//! the SARIF document (kept in tests/fixtures/findings.sarif.json, which scripts/lint validates
//! against the official SARIF 2.1.0 schema). GREENLIGHT_BLESS=1 rewrites the SARIF fixture.

use greenlight::stages::scan_gate::{
    Finding, IgnoreEntry, Policy, Severity, Thresholds, evaluate, markdown_table, sarif,
};
use time::macros::date;

fn finding(id: &str, sev: Severity, pkg: &str, ver: &str, fixed: Option<&str>) -> Finding {
    let mut f = Finding::new(id, sev);
    f.package = Some(pkg.into());
    f.version = Some(ver.into());
    f.fixed_in = fixed.map(Into::into);
    f.fix_available = Some(fixed.is_some());
    f.uri = Some(format!("https://nvd.nist.gov/vuln/detail/{id}"));
    f.description = Some(format!("{id} in {pkg}"));
    f
}

fn verdict() -> greenlight::stages::scan_gate::Verdict {
    let mut exploited = finding(
        "CVE-2026-10001",
        Severity::Critical,
        "openssl",
        "3.0.13-1",
        Some("3.0.15-1"),
    );
    exploited.exploit_available = Some(true);
    exploited.score = Some(9.8);
    let mut high = finding(
        "CVE-2026-10002",
        Severity::High,
        "libxml2",
        "2.9.14",
        Some("2.9.14+dfsg-1.3"),
    );
    high.score = Some(7.5);
    let findings = vec![
        finding("CVE-2026-10005", Severity::Low, "tar", "1.34", None),
        high,
        finding(
            "CVE-2026-10003",
            Severity::Medium,
            "zlib",
            "1.2.13",
            Some("1.3.1"),
        ),
        exploited,
        finding(
            "GHSA-abcd-1234-wxyz",
            Severity::High,
            "lodash",
            "4.17.20",
            Some("4.17.21"),
        ),
        finding("CVE-2026-10004", Severity::Medium, "curl", "7.88.1", None),
    ];
    let policy = Policy {
        thresholds: Thresholds::parse("CRITICAL=0,HIGH=0").unwrap(),
        ignore: vec![IgnoreEntry {
            id: "GHSA-abcd-1234-wxyz".into(),
            until: Some(date!(2026 - 12 - 31)),
            reason: "lodash is a build-time dependency only".into(),
            line: Some(1),
        }],
        ..Default::default()
    };
    evaluate(&findings, &policy, date!(2026 - 11 - 23))
}

#[test]
fn findings_table_snapshot() {
    let v = verdict();
    assert!(!v.passed);
    insta::assert_snapshot!(format!("{}\n\n{}", v.summary(), markdown_table(&v, 3)));
}

#[test]
fn sarif_matches_the_committed_sample() {
    let image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:3f1e5c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d9b2c";
    let doc = sarif(&verdict(), image, "0.0.0-test");
    let text = serde_json::to_string_pretty(&doc).unwrap() + "\n";
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/findings.sarif.json"
    );
    if std::env::var_os("GREENLIGHT_BLESS").is_some() {
        std::fs::write(path, &text).unwrap();
    }
    insta::assert_snapshot!(text);
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == text,
        "SARIF output changed; rerun with GREENLIGHT_BLESS=1 and review the diff:\n{text}"
    );
    // One result per (non-ignored) finding, one rule per id, each rule with its help URI.
    assert_eq!(doc["runs"][0]["results"].as_array().unwrap().len(), 5);
    let rules = doc["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert_eq!(rules.len(), 5);
    assert!(rules.iter().all(|r| {
        r["helpUri"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://"))
    }));
}
