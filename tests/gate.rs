//! The scan gate end to end: the real binary against the emulator's scripted ECR scans.

mod common;

use assert_cmd::Command as AssertCommand;
use common::{Seeded, fixture, outputs, seeded};
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;
use serde_json::{Value, json};

impl Seeded {
    fn deploy_image(&self, image: &str, extra: &[&str]) -> AssertCommand {
        let mut cmd = self.emu.greenlight(&self.out_file());
        cmd.args([
            "deploy",
            "--cluster",
            "demo",
            "--service",
            "web",
            "--container-name",
            "web",
            "--image",
            image,
        ])
        .arg("--task-definition")
        .arg(fixture("taskdef.json"))
        .args(extra);
        AssertCommand::from_std(cmd)
    }

    fn deploy(&self, extra: &[&str]) -> AssertCommand {
        self.deploy_image(&self.image.clone(), extra)
    }

    /// Scripts the scan result of the seeded image.
    fn scan(&self, mut body: Value) {
        body["repository"] = json!("web");
        body["digest"] = json!(self.digest.clone());
        self.emu.control_post("/_greenlight/ecr/scan", body);
    }

    /// ECS and CodeDeploy writes: what the gate must never cause when it blocks.
    fn deploy_writes(&self) -> Vec<String> {
        self.emu
            .write_calls()
            .into_iter()
            .filter(|c| c.starts_with("ecs:") || c.starts_with("codedeploy:"))
            .collect()
    }
}

fn critical(id: &str) -> Value {
    json!({
        "name": id,
        "severity": "CRITICAL",
        "uri": format!("https://nvd.nist.gov/vuln/detail/{id}"),
        "attributes": [{"key": "package_name", "value": "openssl"}, {"key": "package_version", "value": "3.0.13"}]
    })
}

#[test]
fn a_clean_image_passes_and_is_deployed_pinned_to_its_digest() {
    let s = seeded(&[]);
    let sarif = s.dir.path().join("findings.sarif");
    s.deploy(&["--sarif-file", sarif.to_str().unwrap()])
        .assert()
        .code(0)
        .stdout(contains("scan gate: passed"));
    let o = outputs(&s.out_file());
    assert_eq!(o.get("image-digest"), Some(&s.digest.clone()));
    assert_eq!(o.get("scan-critical").map(String::as_str), Some("0"));
    assert_eq!(o.get("scan-high").map(String::as_str), Some("0"));
    let pinned = format!(
        "{}@{}",
        s.seed["repositoryUri"].as_str().unwrap(),
        s.digest.clone()
    );
    assert_eq!(o.get("image"), Some(&pinned));
    let td = s.emu.aws(
        "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition",
        json!({"taskDefinition": o["task-definition-arn"]}),
    );
    let c = &td["taskDefinition"]["containerDefinitions"][0];
    assert_eq!(c["image"], pinned.as_str());
    assert_eq!(c["dockerLabels"]["greenlight.image"], s.image.as_str());
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(doc["version"], "2.1.0");
}

#[test]
fn critical_findings_block_with_exit_3_and_nothing_deployed() {
    let s = seeded(&[]);
    s.scan(json!({"status": "COMPLETE", "findings": [critical("CVE-2026-0001"), critical("CVE-2026-0002")]}));
    s.deploy(&[])
        .assert()
        .code(3)
        .stderr(contains("blocked by 2 findings above threshold"))
        .stdout(contains("CRITICAL CVE-2026-0001 openssl 3.0.13"));
    assert!(s.deploy_writes().is_empty(), "{:?}", s.deploy_writes());
    assert_eq!(
        outputs(&s.out_file())
            .get("scan-critical")
            .map(String::as_str),
        Some("2")
    );
}

#[test]
fn a_scan_in_progress_is_waited_for() {
    let s = seeded(&[]);
    s.scan(json!({"status": "COMPLETE", "complete_after_seconds": 60, "findings": [critical("CVE-2026-0003")]}));
    s.deploy(&[])
        .assert()
        .code(3)
        .stderr(contains("blocked by 1 findings"));
}

#[test]
fn failed_and_unsupported_scans_fail_closed() {
    for status in ["FAILED", "UNSUPPORTED_IMAGE"] {
        let s = seeded(&[]);
        s.scan(json!({"status": status, "findings": []}));
        s.deploy(&[])
            .assert()
            .code(3)
            .stderr(contains(format!("ended {status}")));
        assert!(s.deploy_writes().is_empty());
    }
}

#[test]
fn an_ignore_entry_ignores_until_it_expires() {
    let s = seeded(&[]);
    s.scan(json!({"status": "COMPLETE", "findings": [critical("CVE-2026-0001")]}));
    let file = s.dir.path().join("ignore.yml");
    std::fs::write(
        &file,
        "- id: CVE-2026-0001\n  until: 2099-12-31\n  reason: openssl is not linked\n",
    )
    .unwrap();
    s.deploy(&["--scan-ignore-file", file.to_str().unwrap()])
        .assert()
        .code(0)
        .stdout(contains("1 ignored"));

    let s = seeded(&[]);
    s.scan(json!({"status": "COMPLETE", "findings": [critical("CVE-2026-0001")]}));
    let file = s.dir.path().join("ignore.yml");
    std::fs::write(&file, "# reviewed 2025\n- id: CVE-2026-0001\n  until: 2025-01-31\n  reason: openssl is not linked\n").unwrap();
    s.deploy(&["--scan-ignore-file", file.to_str().unwrap()])
        .assert()
        .code(3)
        .stderr(contains(format!(
            "{}:2: ignore entry `CVE-2026-0001` expired on 2025-01-31",
            file.display()
        )));
}

#[test]
fn fixable_only_lets_unfixable_findings_through() {
    let enhanced = json!({
        "findingArn": "arn:aws:inspector2:us-east-1:123456789012:finding/0001",
        "severity": "CRITICAL", "score": 9.8, "fixAvailable": "NO", "exploitAvailable": "NO",
        "status": "ACTIVE", "type": "PACKAGE_VULNERABILITY", "title": "CVE-2026-0009 - glibc",
        "packageVulnerabilityDetails": {"vulnerabilityId": "CVE-2026-0009", "source": "NVD",
            "sourceUrl": "https://nvd.nist.gov/vuln/detail/CVE-2026-0009",
            "vulnerablePackages": [{"name": "glibc", "version": "2.36"}]}
    });
    let s = seeded(&[]);
    s.scan(json!({"status": "ACTIVE", "enhancedFindings": [enhanced.clone()]}));
    s.deploy(&[]).assert().code(3);
    let s = seeded(&[]);
    s.scan(json!({"status": "ACTIVE", "enhancedFindings": [enhanced]}));
    s.deploy(&["--scan-fixable-only"]).assert().code(0);
}

#[test]
fn findings_beyond_1000_are_all_read() {
    let s = seeded(&[]);
    s.scan(json!({"status": "COMPLETE", "generate": {"MEDIUM": 2100, "LOW": 400}}));
    s.deploy(&["--wait-until", "none"]).assert().code(0);
    let o = outputs(&s.out_file());
    assert_eq!(o.get("scan-medium").map(String::as_str), Some("2100"));
    assert_eq!(o.get("scan-low").map(String::as_str), Some("400"));
    let pages = s
        .emu
        .calls()
        .iter()
        .filter(|c| *c == "ecr:DescribeImageScanFindings")
        .count();
    assert!(pages >= 3, "{pages} pages");
}

#[test]
fn latest_and_mutable_tags_are_refused_before_any_write() {
    let s = seeded(&[]);
    let repo = s.seed["repositoryUri"].as_str().unwrap().to_string();
    s.deploy_image(&format!("{repo}:latest"), &[])
        .assert()
        .code(2)
        .stderr(contains("mutable tag `latest`"));
    s.deploy_image(&format!("{repo}:main"), &["--mutable-tags", "main,stable"])
        .assert()
        .code(2)
        .stderr(contains("mutable tag `main`"));
    assert!(s.emu.write_calls().is_empty());
}

#[test]
fn a_tag_that_does_not_exist_is_refused_with_the_closest_tags() {
    let s = seeded(&[]);
    let repo = s.seed["repositoryUri"].as_str().unwrap().to_string();
    s.deploy_image(&format!("{repo}:20261123120000-abc1235"), &[])
        .assert()
        .code(2)
        .stderr(contains(
            "`20261123120000-abc1235` does not exist in ECR repository `web`",
        ))
        .stderr(contains("closest existing tags: `20261123120000-abc1234`"));
    assert!(s.emu.write_calls().is_empty());
}

#[test]
fn scan_gate_off_deploys_with_a_loud_warning() {
    let s = seeded(&[]);
    s.scan(json!({"status": "COMPLETE", "findings": [critical("CVE-2026-0001")]}));
    s.deploy(&["--scan-gate", "false", "--wait-until", "none"])
        .assert()
        .code(0)
        .stderr(contains("SCAN GATE IS OFF"));
}

#[test]
fn tag_computes_the_unique_reference_in_this_accounts_registry() {
    let s = seeded(&[]);
    let mut cmd = s.emu.greenlight(&s.out_file());
    cmd.args(["tag", "--image", "web"])
        .env("GITHUB_SHA", "abc1234def5678abc1234def5678abc1234def56")
        .env("GITHUB_RUN_NUMBER", "17");
    AssertCommand::from_std(cmd).assert().code(0);
    let o = outputs(&s.out_file());
    let tag = o.get("image-tag").unwrap();
    assert!(tag.len() == 22 && tag.ends_with("-abc1234"), "{tag}");
    assert_eq!(
        o.get("image").unwrap(),
        &format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/web:{tag}")
    );
}

/// The fixture task definition with `runtimePlatform.cpuArchitecture` set.
fn taskdef_for(dir: &std::path::Path, arch: &str) -> std::path::PathBuf {
    let mut td: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("taskdef.json")).unwrap()).unwrap();
    td["runtimePlatform"] = json!({"cpuArchitecture": arch, "operatingSystemFamily": "LINUX"});
    let path = dir.join(format!("taskdef-{arch}.json"));
    std::fs::write(&path, td.to_string()).unwrap();
    path
}

#[test]
fn multi_arch_images_are_gated_per_platform_the_task_runs() {
    let s = seeded(&["--multi-arch"]);
    let arm = s.seed["platformDigests"]["linux/arm64"]
        .as_str()
        .unwrap()
        .to_string();
    let amd = s.seed["platformDigests"]["linux/amd64"]
        .as_str()
        .unwrap()
        .to_string();
    // Only the arm64 build carries the critical finding.
    s.emu.control_post(
        "/_greenlight/ecr/scan",
        json!({"repository": "web", "digest": arm, "status": "COMPLETE", "findings": [critical("CVE-2026-0042")]}),
    );
    let run = |arch: &str| {
        let mut cmd = s.emu.greenlight(&s.out_file());
        cmd.args([
            "deploy",
            "--cluster",
            "demo",
            "--service",
            "web",
            "--image",
            &s.image,
        ])
        .arg("--task-definition")
        .arg(taskdef_for(s.dir.path(), arch));
        AssertCommand::from_std(cmd)
    };
    run("X86_64")
        .assert()
        .code(0)
        .stdout(contains(format!("linux/amd64 ({amd})")))
        .stdout(contains("linux/arm64").not());
    run("ARM64")
        .assert()
        .code(3)
        .stdout(contains(format!("linux/arm64 ({arm})")))
        .stderr(contains("blocked by 1 findings above threshold"));
}
