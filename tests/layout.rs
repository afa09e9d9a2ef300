//! The layout ARCHITECTURE.md describes, checked: dependencies among `src/` modules run one way.
//! A module may use its ancestors' items (a child using its parent's) and its parent may
//! re-export its children's, but no two modules may depend on each other, however indirectly.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// `a::b` for `src/a/b.rs` and `src/a/b/mod.rs`; `None` for the crate root and the binary.
fn module_of(rel: &Path) -> Option<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let file = parts.pop()?;
    let stem = file.strip_suffix(".rs")?;
    if parts.is_empty() && (stem == "lib" || stem == "main") {
        return None;
    }
    if stem != "mod" {
        parts.push(stem.to_string());
    }
    Some(parts.join("::"))
}

/// Every `crate::…` path a source text names, outside comments: `crate::a::b::C` gives
/// `a::b::C`, and `crate::{a, b::c}` gives `a` and `b::c`.
fn crate_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + "crate::".len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                let inside = group.split('}').next().unwrap_or_default();
                out.extend(
                    inside
                        .split(',')
                        .map(|p| path_prefix(p.trim()))
                        .filter(|p| !p.is_empty()),
                );
            } else {
                out.push(path_prefix(rest));
            }
        }
    }
    out
}

fn path_prefix(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
        .collect::<String>()
        .trim_end_matches(':')
        .to_string()
}

fn related(a: &str, b: &str) -> bool {
    let under = |x: &str, y: &str| x == y || x.starts_with(&format!("{y}::"));
    under(a, b) || under(b, a)
}

/// The module-to-module dependencies of `files` ((module, source text)), family edges left out.
fn graph(files: &[(String, String)]) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeSet<&str> = files.iter().map(|(m, _)| m.as_str()).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, text) in files {
        let to_set = edges.entry(from.clone()).or_default();
        for path in crate_paths(text) {
            // The longest prefix of the path that is a module: `a::b::Item` depends on `a::b`.
            let segments: Vec<&str> = path.split("::").collect();
            let target = (1..=segments.len())
                .rev()
                .map(|n| segments[..n].join("::"))
                .find(|m| modules.contains(m.as_str()));
            if let Some(to) = target
                && !related(from, &to)
            {
                to_set.insert(to);
            }
        }
        // A parent that re-exports a child's items stands for the child: who uses the parent's
        // re-export depends on the child.
        for child in reexported_children(text) {
            let to = if from.is_empty() {
                child
            } else {
                format!("{from}::{child}")
            };
            if modules.contains(to.as_str()) {
                to_set.insert(to);
            }
        }
    }
    edges
}

/// The children a module re-exports from: `pub use child::…` and `pub use self::child::…`.
fn reexported_children(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim_start().strip_prefix("pub use "))
        .map(|rest| rest.strip_prefix("self::").unwrap_or(rest))
        .filter(|rest| !rest.starts_with("crate::") && !rest.starts_with("super::"))
        .filter_map(|rest| rest.split_once("::").map(|(child, _)| child.to_string()))
        .collect()
}

/// Groups of modules that depend on each other (strongly connected components of two or more).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let reach = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_string()];
        while let Some(m) = todo.pop() {
            for next in edges.get(&m).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&String, BTreeSet<String>> =
        edges.keys().map(|m| (m, reach(m))).collect();
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for m in edges.keys() {
        if done.contains(m) {
            continue;
        }
        let group: Vec<String> = edges
            .keys()
            .filter(|o| *o == m || (reachable[m].contains(*o) && reachable[*o].contains(m)))
            .cloned()
            .collect();
        done.extend(group.iter().cloned());
        if group.len() > 1 {
            out.push(group);
        }
    }
    out
}

fn sources() -> Vec<(String, String)> {
    let src = common::repo_root().join("src");
    let mut files = Vec::new();
    let mut todo = vec![src.clone()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else if let Some(m) = module_of(path.strip_prefix(&src).unwrap()) {
                files.push((m, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    files
}

#[test]
fn the_check_sees_a_cycle_and_ignores_family() {
    let files = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(m, t)| (m.to_string(), t.to_string()))
            .collect()
    };
    let cyclic = files(&[
        ("config", "use crate::stages::scan_gate::Severity;"),
        ("stages", ""),
        ("stages::scan_gate", "use crate::{report::Event, aws};"),
        ("report", "fn f(c: &crate::config::ReportConfig) {}"),
        ("aws", ""),
    ]);
    assert_eq!(
        cycles(&graph(&cyclic)),
        vec![vec![
            "config".to_string(),
            "report".to_string(),
            "stages::scan_gate".to_string()
        ]]
    );
    // A parent's re-export stands for the child it re-exports from.
    let through_reexport = files(&[
        (
            "config",
            "use crate::stages::task_def::secret_reference_problem;",
        ),
        ("stages", ""),
        (
            "stages::task_def",
            "pub use checks::secret_reference_problem;",
        ),
        (
            "stages::task_def::checks",
            "use crate::config::DeployConfig;",
        ),
    ]);
    assert_eq!(
        cycles(&graph(&through_reexport)),
        vec![vec![
            "config".to_string(),
            "stages::task_def".to_string(),
            "stages::task_def::checks".to_string()
        ]]
    );
    let family = files(&[
        ("controllers", "pub use crate::controllers::ecs::Strategy;"),
        (
            "controllers::ecs",
            "use crate::controllers::ServiceInfo; // crate::config",
        ),
        ("config", ""),
    ]);
    assert!(cycles(&graph(&family)).is_empty());
}

#[test]
fn dependencies_among_modules_run_one_way() {
    let files = sources();
    assert!(files.len() > 20, "found only {} modules", files.len());
    let found = cycles(&graph(&files));
    assert!(
        found.is_empty(),
        "modules that depend on each other: {found:#?}"
    );
}
