//! The gate's reports: the markdown findings table and the SARIF 2.1.0 document.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use super::policy::{Severity, Verdict};
use crate::error::{Error, Result};

// Presentation only, so it lives with the reports rather than the policy.
impl Severity {
    fn sarif_level(self) -> &'static str {
        match self {
            Severity::Critical | Severity::High => "error",
            Severity::Medium => "warning",
            _ => "note",
        }
    }

    fn icon(self) -> &'static str {
        match self {
            Severity::Critical => "🟥",
            Severity::High => "🟧",
            Severity::Medium => "🟨",
            Severity::Low => "🟦",
            _ => "⬜",
        }
    }
}

/// The findings table for the step summary and the PR comment, worst first, capped.
pub fn markdown_table(v: &Verdict, cap: usize) -> String {
    if v.findings.is_empty() {
        return "No findings.\n".to_string();
    }
    let mut out = String::from(
        "| | severity | id | package | installed | fixed in | |\n|---|---|---|---|---|---|---|\n",
    );
    for f in v.findings.iter().take(cap) {
        let id = match &f.uri {
            Some(u) => format!("[{}]({u})", f.id),
            None => format!("`{}`", f.id),
        };
        let mut notes = Vec::new();
        if v.blocking.contains(f) {
            notes.push("**blocking**");
        }
        if f.exploit_available == Some(true) {
            notes.push("exploit known");
        }
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            f.severity.icon(),
            f.severity,
            id,
            f.package.as_deref().unwrap_or(""),
            f.version.as_deref().unwrap_or(""),
            f.fixed_in.as_deref().unwrap_or(match f.fix_available {
                Some(false) => "no fix",
                _ => "",
            }),
            notes.join(", ")
        ));
    }
    if v.findings.len() > cap {
        out.push_str(&format!("\n…and {} more.\n", v.findings.len() - cap));
    }
    out
}

/// SARIF 2.1.0: one rule per vulnerability id (with its help URI), one result per finding.
pub fn sarif(v: &Verdict, image: &str, tool_version: &str) -> Value {
    let mut rules: Vec<Value> = Vec::new();
    let mut rule_index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut results = Vec::new();
    for f in &v.findings {
        let idx = *rule_index.entry(f.id.as_str()).or_insert_with(|| {
            let mut rule = json!({
                "id": f.id,
                "name": f.id.replace('-', ""),
                "shortDescription": {"text": format!("{} ({})", f.id, f.severity)},
                "fullDescription": {"text": f.description.clone().unwrap_or_else(|| f.id.clone())},
                "defaultConfiguration": {"level": f.severity.sarif_level()},
                "properties": {"tags": ["security", "vulnerability", f.severity.as_str()]},
            });
            if let Some(u) = &f.uri {
                rule["helpUri"] = json!(u);
                rule["help"] =
                    json!({"text": format!("See {u}"), "markdown": format!("See [{}]({u})", f.id)});
            }
            if let Some(score) = f.score {
                rule["properties"]["security-severity"] = json!(format!("{score:.1}"));
            }
            rules.push(rule);
            rules.len() - 1
        });
        let package = match (&f.package, &f.version) {
            (Some(p), Some(ver)) => format!("{p} {ver}"),
            (Some(p), None) => p.clone(),
            _ => "the image".to_string(),
        };
        let fix = f
            .fixed_in
            .as_ref()
            .map(|x| format!("; fixed in {x}"))
            .unwrap_or_default();
        results.push(json!({
            "ruleId": f.id,
            "ruleIndex": idx,
            "level": f.severity.sarif_level(),
            "message": {"text": format!("{} {} in {package}{fix}", f.severity, f.id)},
            "locations": [{
                "physicalLocation": {"artifactLocation": {"uri": format!("image/{}", sanitize_uri(image))}},
                "message": {"text": image},
            }],
            "properties": {
                "blocking": v.blocking.contains(f),
                "package": f.package,
                "installedVersion": f.version,
                "fixedInVersion": f.fixed_in,
            },
        }));
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "greenlight",
                "version": tool_version,
                "informationUri": "https://github.com/greenlight-deploy/greenlight",
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

/// Writes the SARIF document for `image` to `path`, the `sarif-file` input.
pub fn write_sarif(path: &Path, v: &Verdict, image: &str) -> Result<()> {
    let doc = sarif(v, image, env!("CARGO_PKG_VERSION"));
    let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    std::fs::write(path, text).map_err(|e| {
        Error::file(
            path,
            format!("cannot write the SARIF file: {e}"),
            "check `sarif-file` points at a writable path",
        )
    })
}

fn sanitize_uri(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-._~/".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}
