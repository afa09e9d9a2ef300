//! The stages of a run. Each is a pure core on plain data plus a thin edge calling AWS.

pub mod appspec;
pub mod diff;
pub mod image;
pub mod scan_gate;
pub mod shape;
pub mod task_def;

use std::path::Path;

use crate::error::Result;

/// Reads a JSON or YAML file into a JSON value, bounded and checked (see `crate::files`).
pub(crate) fn read_document(path: &Path, what: &str) -> Result<(String, serde_json::Value)> {
    crate::files::read_document(path, what)
}

/// The 1-based line where `key` first appears as a key in JSON or YAML source, for annotations.
pub(crate) fn line_of_key(src: &str, key: &str) -> Option<usize> {
    let quoted = format!("\"{key}\"");
    let yaml = format!("{key}:");
    src.lines()
        .position(|l| {
            let t = l.trim_start().trim_start_matches("- ");
            t.starts_with(&quoted) || t.starts_with(&yaml)
        })
        .map(|i| i + 1)
}

/// The closest candidate to a misspelt name, when it is close enough to be a likely typo:
/// a transposition or two for short names, a high Jaro-Winkler score for long ones.
pub(crate) fn did_you_mean<'a>(
    wrong: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let wrong = wrong.to_ascii_lowercase();
    candidates
        .into_iter()
        .filter_map(|c| {
            let lower = c.to_ascii_lowercase();
            let edits = strsim::osa_distance(&wrong, &lower);
            let similar = strsim::jaro_winkler(&wrong, &lower);
            let close = (edits <= 2 && edits * 2 <= lower.len()) || similar >= 0.85;
            close.then_some((edits, c))
        })
        .min_by_key(|(edits, _)| *edits)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_key_lines() {
        let src = "{\n  \"family\": \"web\",\n  \"containerDefinitions\": []\n}";
        assert_eq!(line_of_key(src, "containerDefinitions"), Some(3));
        assert_eq!(line_of_key("a: 1\nb:\n  - c: 2\n", "c"), Some(3));
        assert_eq!(line_of_key(src, "nope"), None);
    }

    #[test]
    fn suggests_close_names_only() {
        let keys = ["requiresCompatibilities", "containerDefinitions", "family"];
        assert_eq!(
            did_you_mean("requiresCompatibilitiess", keys),
            Some("requiresCompatibilities")
        );
        assert_eq!(
            did_you_mean("ContainerDefinitions", keys),
            Some("containerDefinitions")
        );
        assert_eq!(did_you_mean("zzz", keys), None);
        assert_eq!(did_you_mean("wbe", ["web", "worker"]), Some("web"));
        assert_eq!(did_you_mean("db", ["web"]), None);
    }
}
