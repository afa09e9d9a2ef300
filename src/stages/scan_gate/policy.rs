//! The gate's pure policy: severities, findings, thresholds, the ignore list with expiry, and
//! the verdict. Plain data in, plain data out: nothing here reaches AWS or the reports, so the
//! configuration can depend on it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use time::Date;

use crate::error::{Error, Problem, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    Informational,
    Undefined,
}

impl Severity {
    pub const ALL: [Severity; 6] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Informational,
        Severity::Undefined,
    ];

    /// ECR's names; enhanced scanning adds UNTRIAGED, which has no rating yet.
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s.to_ascii_uppercase().as_str() {
            "CRITICAL" => Severity::Critical,
            "HIGH" => Severity::High,
            "MEDIUM" => Severity::Medium,
            "LOW" => Severity::Low,
            "INFORMATIONAL" => Severity::Informational,
            "UNDEFINED" | "UNTRIAGED" => Severity::Undefined,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "CRITICAL",
            Severity::High => "HIGH",
            Severity::Medium => "MEDIUM",
            Severity::Low => "LOW",
            Severity::Informational => "INFORMATIONAL",
            Severity::Undefined => "UNDEFINED",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One vulnerability in the image, from basic or enhanced scanning.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// CVE / GHSA id (basic: the finding name; enhanced: the vulnerability id).
    pub id: String,
    pub severity: Severity,
    pub package: Option<String>,
    pub version: Option<String>,
    pub fixed_in: Option<String>,
    /// `None` when the scanner does not say (basic scanning).
    pub fix_available: Option<bool>,
    pub exploit_available: Option<bool>,
    pub score: Option<f64>,
    pub uri: Option<String>,
    pub description: Option<String>,
    /// Enhanced findings' ARN, which an ignore entry may name.
    pub arn: Option<String>,
}

impl Finding {
    pub fn new(id: &str, severity: Severity) -> Finding {
        Finding {
            id: id.to_string(),
            severity,
            package: None,
            version: None,
            fixed_in: None,
            fix_available: None,
            exploit_available: None,
            score: None,
            uri: None,
            description: None,
            arn: None,
        }
    }

    /// Worst first: severity, then exploit known, then score, then id for a stable order.
    fn rank(&self) -> (Severity, bool, i64, &str) {
        (
            self.severity,
            self.exploit_available != Some(true),
            -(self.score.unwrap_or(0.0) * 10.0) as i64,
            &self.id,
        )
    }
}

/// `severity-thresholds`: the most findings of a severity that may pass. Absent = unlimited.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Thresholds(pub BTreeMap<Severity, u32>);

impl Thresholds {
    pub fn parse(s: &str) -> Result<Thresholds> {
        let input = "severity-thresholds";
        let mut map = BTreeMap::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((name, n)) = part.split_once('=') else {
                return Err(Error::input(
                    input,
                    format!("`{part}` is not SEVERITY=COUNT"),
                    "write e.g. `CRITICAL=0,HIGH=0,MEDIUM=10`",
                ));
            };
            let sev = Severity::parse(name.trim()).ok_or_else(|| {
                Error::input(
                    input,
                    format!("`{}` is not a severity", name.trim()),
                    "use CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL or UNDEFINED",
                )
            })?;
            let n: u32 = n.trim().parse().map_err(|_| {
                Error::input(
                    input,
                    format!("`{}` in `{part}` is not a count", n.trim()),
                    "give a whole number, e.g. `HIGH=0`",
                )
            })?;
            if map.insert(sev, n).is_some() {
                return Err(Error::input(
                    input,
                    format!("{sev} is given twice"),
                    "give each severity once",
                ));
            }
        }
        Ok(Thresholds(map))
    }
}

/// One entry of the ignore file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreEntry {
    pub id: String,
    pub until: Option<Date>,
    pub reason: String,
    pub line: Option<usize>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum IgnoreDoc {
    List(Vec<RawEntry>),
    Wrapped { ignore: Vec<RawEntry> },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    id: Option<String>,
    until: Option<serde_norway::Value>,
    reason: Option<String>,
}

/// Reads the ignore file: a YAML list (or `ignore:` list) of `id`, `until` (YYYY-MM-DD), `reason`.
pub fn load_ignore_file(path: &Path) -> Result<Vec<IgnoreEntry>> {
    use crate::files::Format;
    let text = crate::files::read_text(path, "scan ignore file", Format::Yaml)?;
    // The typed parse below would report a doubled key only as "did not match any variant";
    // the checking parse names it.
    if !text.trim().is_empty() {
        crate::files::parse(path, &text, Format::Yaml)?;
    }
    parse_ignore(path, &text)
}

pub fn parse_ignore(path: &Path, text: &str) -> Result<Vec<IgnoreEntry>> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let doc: IgnoreDoc = serde_norway::from_str(text).map_err(|e| Error::File {
        path: path.to_path_buf(),
        line: e.location().map(|l| l.line()),
        field: None,
        problem: format!("is not a list of `id`/`until`/`reason` entries: {e}"),
        fix: "write entries like `- id: CVE-2024-1234\\n  until: 2026-12-31\\n  reason: not reachable`".into(),
    })?;
    let raw = match doc {
        IgnoreDoc::List(l) | IgnoreDoc::Wrapped { ignore: l } => l,
    };
    // Lines of each entry's `id:` in order, for annotations and warnings.
    let id_lines: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| {
            let t = l.trim_start().trim_start_matches("- ");
            t.starts_with("id:")
        })
        .map(|(i, _)| i + 1)
        .collect();
    let mut problems = Vec::new();
    let mut out = Vec::new();
    for (i, e) in raw.into_iter().enumerate() {
        let line = id_lines.get(i).copied();
        let field = |f: &str| format!("[{i}].{f}");
        let Some(id) = e.id.filter(|s| !s.trim().is_empty()) else {
            problems.push(Problem {
                field: field("id"),
                line,
                message: "is required: a CVE/GHSA id or a finding ARN".into(),
            });
            continue;
        };
        let reason = match e.reason.filter(|s| !s.trim().is_empty()) {
            Some(r) => r,
            None => {
                problems.push(Problem {
                    field: field("reason"),
                    line,
                    message: format!("is required for `{id}`: say why it is safe to ship"),
                });
                continue;
            }
        };
        let until = match e.until {
            None => None,
            Some(v) => {
                let s = match &v {
                    serde_norway::Value::String(s) => s.clone(),
                    other => serde_norway::to_string(other)
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                };
                match Date::parse(
                    &s,
                    &time::macros::format_description!("[year]-[month]-[day]"),
                ) {
                    Ok(d) => Some(d),
                    Err(_) => {
                        problems.push(Problem {
                            field: field("until"),
                            line,
                            message: format!("`{s}` is not a date; write YYYY-MM-DD"),
                        });
                        continue;
                    }
                }
            }
        };
        out.push(IgnoreEntry {
            id,
            until,
            reason,
            line,
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(Error::FileProblems {
            path: path.to_path_buf(),
            problems,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {
    pub thresholds: Thresholds,
    pub fixable_only: bool,
    pub ignore: Vec<IgnoreEntry>,
    pub ignore_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub passed: bool,
    /// Findings counted against the thresholds, per severity (ignored ones excluded).
    pub counts: BTreeMap<Severity, u32>,
    /// Findings that break a threshold, worst first.
    pub blocking: Vec<Finding>,
    /// Every finding not ignored, worst first (blocking ones first).
    pub findings: Vec<Finding>,
    /// Findings an active ignore entry covers, with the entry's `until`.
    pub ignored: Vec<(Finding, Option<Date>)>,
    /// Expired entries that no longer ignore anything: warnings with their line.
    pub expired: Vec<IgnoreEntry>,
}

impl Verdict {
    pub fn count(&self, s: Severity) -> u32 {
        self.counts.get(&s).copied().unwrap_or(0)
    }

    pub fn summary(&self) -> String {
        if self.passed {
            format!("passed · {}", self.counts_text())
        } else {
            format!(
                "blocked by {} findings above threshold · {}",
                self.blocking.len(),
                self.counts_text()
            )
        }
    }

    pub fn counts_text(&self) -> String {
        let mut parts: Vec<String> = [
            Severity::Critical,
            Severity::High,
            Severity::Medium,
            Severity::Low,
        ]
        .iter()
        .map(|s| format!("{} {}", self.count(*s), s.as_str().to_ascii_lowercase()))
        .collect();
        if !self.ignored.is_empty() {
            parts.push(format!("{} ignored", self.ignored.len()));
        }
        parts.join(" · ")
    }
}

fn matches(entry: &IgnoreEntry, f: &Finding) -> bool {
    entry.id.eq_ignore_ascii_case(&f.id) || f.arn.as_deref() == Some(entry.id.as_str())
}

/// Applies the policy. `today` decides which ignore entries have expired (an entry is active
/// through its `until` day).
pub fn evaluate(findings: &[Finding], policy: &Policy, today: Date) -> Verdict {
    let mut kept = Vec::new();
    let mut ignored = Vec::new();
    let mut expired_used: Vec<&IgnoreEntry> = Vec::new();
    for f in findings {
        let entry = policy.ignore.iter().find(|e| matches(e, f));
        match entry {
            Some(e) if e.until.is_none_or(|u| today <= u) => ignored.push((f.clone(), e.until)),
            Some(e) => {
                if !expired_used.contains(&e) {
                    expired_used.push(e);
                }
                kept.push(f.clone());
            }
            None => kept.push(f.clone()),
        }
    }
    kept.sort_by(|a, b| a.rank().cmp(&b.rank()));
    let mut counts = BTreeMap::new();
    for f in &kept {
        *counts.entry(f.severity).or_insert(0u32) += 1;
    }
    // Only fixable findings count against thresholds when asked; unknown fixability counts
    // (fail closed: basic scanning does not say).
    let counted = |f: &&Finding| !policy.fixable_only || f.fix_available != Some(false);
    let mut blocking = Vec::new();
    for (sev, limit) in &policy.thresholds.0 {
        let of_sev: Vec<&Finding> = kept
            .iter()
            .filter(|f| f.severity == *sev)
            .filter(counted)
            .collect();
        if of_sev.len() as u64 > u64::from(*limit) {
            blocking.extend(of_sev.into_iter().cloned());
        }
    }
    blocking.sort_by(|a, b| a.rank().cmp(&b.rank()));
    // Blocking findings first, then the rest, each group worst first.
    let mut ordered = blocking.clone();
    ordered.extend(kept.into_iter().filter(|f| !blocking.contains(f)));
    Verdict {
        passed: blocking.is_empty(),
        counts,
        blocking,
        findings: ordered,
        ignored,
        expired: expired_used.into_iter().cloned().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn f(id: &str, sev: Severity) -> Finding {
        Finding::new(id, sev)
    }

    fn policy(thresholds: &str) -> Policy {
        Policy {
            thresholds: Thresholds::parse(thresholds).unwrap(),
            ..Default::default()
        }
    }

    #[test]
    fn thresholds_parse_and_errors() {
        let t = Thresholds::parse("CRITICAL=0, high=2").unwrap();
        assert_eq!(t.0.get(&Severity::Critical), Some(&0));
        assert_eq!(t.0.get(&Severity::High), Some(&2));
        assert_eq!(t.0.get(&Severity::Medium), None);
        for (bad, needle) in [
            ("CRIT=0", "not a severity"),
            ("HIGH", "not SEVERITY=COUNT"),
            ("HIGH=-1", "not a count"),
            ("HIGH=1,HIGH=2", "twice"),
        ] {
            let e = Thresholds::parse(bad).unwrap_err().to_string();
            assert!(e.contains(needle), "{bad}: {e}");
        }
    }

    #[test]
    fn clean_pass_and_block() {
        let findings = vec![f("CVE-1", Severity::Medium), f("CVE-2", Severity::Low)];
        let v = evaluate(
            &findings,
            &policy("CRITICAL=0,HIGH=0"),
            date!(2026 - 11 - 23),
        );
        assert!(v.passed);
        assert_eq!(v.count(Severity::Medium), 1);
        let findings = vec![
            f("CVE-9", Severity::Low),
            f("CVE-1", Severity::Critical),
            f("CVE-2", Severity::Critical),
        ];
        let v = evaluate(
            &findings,
            &policy("CRITICAL=0,HIGH=0"),
            date!(2026 - 11 - 23),
        );
        assert!(!v.passed);
        assert_eq!(v.blocking.len(), 2);
        assert!(
            v.summary()
                .starts_with("blocked by 2 findings above threshold"),
            "{}",
            v.summary()
        );
        assert_eq!(v.findings[0].id, "CVE-1");
        assert_eq!(v.findings[2].id, "CVE-9");
    }

    #[test]
    fn threshold_allows_up_to_the_limit() {
        let findings: Vec<Finding> = (0..3)
            .map(|i| f(&format!("CVE-{i}"), Severity::Medium))
            .collect();
        assert!(evaluate(&findings, &policy("MEDIUM=3"), date!(2026 - 1 - 1)).passed);
        assert!(!evaluate(&findings, &policy("MEDIUM=2"), date!(2026 - 1 - 1)).passed);
        assert!(
            evaluate(&findings, &policy(""), date!(2026 - 1 - 1)).passed,
            "absent = unlimited"
        );
    }

    #[test]
    fn ignore_until_and_expiry() {
        let path = Path::new(".greenlight-ignore.yml");
        let entries = parse_ignore(
            path,
            "- id: CVE-2024-0001\n  until: 2026-12-31\n  reason: not reachable\n- id: CVE-2024-0002\n  until: 2026-11-01\n  reason: waiting for upstream\n",
        )
        .unwrap();
        assert_eq!(entries[1].line, Some(4));
        let p = Policy {
            ignore: entries,
            ..policy("CRITICAL=0")
        };
        let findings = vec![
            f("CVE-2024-0001", Severity::Critical),
            f("CVE-2024-0002", Severity::Critical),
        ];
        let v = evaluate(&findings, &p, date!(2026 - 11 - 23));
        assert_eq!(v.ignored.len(), 1);
        assert_eq!(
            v.blocking.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
            vec!["CVE-2024-0002"]
        );
        assert_eq!(v.expired.len(), 1);
        assert_eq!(v.expired[0].line, Some(4));
        // The last day still ignores.
        let v = evaluate(&findings[..1], &p, date!(2026 - 12 - 31));
        assert!(v.passed);
        let v = evaluate(&findings[..1], &p, date!(2027 - 1 - 1));
        assert!(!v.passed);
    }

    #[test]
    fn ignore_file_problems() {
        let path = Path::new("ignore.yml");
        let e = parse_ignore(path, "- id: CVE-1\n- until: 2026-01-01\n  reason: x\n- id: CVE-3\n  reason: y\n  until: soon\n").unwrap_err();
        let Error::FileProblems { problems, .. } = e else {
            panic!()
        };
        let msgs: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(msgs.len(), 3, "{msgs:?}");
        assert!(
            msgs[0].contains("reason") && msgs[0].contains("required"),
            "{msgs:?}"
        );
        assert!(msgs[1].contains("[1].id"), "{msgs:?}");
        assert!(msgs[2].contains("`soon` is not a date"), "{msgs:?}");
        assert!(parse_ignore(path, "ignore:\n  - id: CVE-1\n    reason: ok\n").is_ok());
        assert!(
            parse_ignore(path, "- id: CVE-1\n  reason: ok\n  untill: 2026-01-01\n").is_err(),
            "typo'd key refused"
        );
    }

    #[test]
    fn ignore_by_finding_arn() {
        let mut finding = f("CVE-7", Severity::High);
        finding.arn = Some("arn:aws:inspector2:us-east-1:123456789012:finding/abc".into());
        let p = Policy {
            ignore: vec![IgnoreEntry {
                id: "arn:aws:inspector2:us-east-1:123456789012:finding/abc".into(),
                until: None,
                reason: "r".into(),
                line: None,
            }],
            ..policy("HIGH=0")
        };
        assert!(evaluate(&[finding], &p, date!(2026 - 1 - 1)).passed);
    }

    #[test]
    fn fixable_only_skips_unfixable_but_not_unknown() {
        let mut no_fix = f("CVE-1", Severity::Critical);
        no_fix.fix_available = Some(false);
        let unknown = f("CVE-2", Severity::Critical);
        let p = Policy {
            fixable_only: true,
            ..policy("CRITICAL=0")
        };
        let v = evaluate(&[no_fix.clone()], &p, date!(2026 - 1 - 1));
        assert!(v.passed);
        assert_eq!(
            v.count(Severity::Critical),
            1,
            "still counted in the report"
        );
        assert!(!evaluate(&[no_fix, unknown], &p, date!(2026 - 1 - 1)).passed);
    }
}
