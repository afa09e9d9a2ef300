//! On a runner, file inputs are confined to the workspace.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The inputs that name a file greenlight reads or writes.
pub(super) const PATH_INPUTS: &[&str] = &[
    "task-definition",
    "codedeploy-appspec",
    "config",
    "scan-ignore-file",
    "image-definitions",
    "sarif-file",
];

/// On a runner, every file input must stay inside the workspace: not absolute elsewhere, not
/// escaping with `..`, not through a symlink pointing out.
pub(super) fn check_paths_in(raw: &BTreeMap<String, String>, workspace: &Path) -> Result<()> {
    let root = normalize(&std::fs::canonicalize(workspace).unwrap_or_else(|_| workspace.into()));
    let cwd = std::env::current_dir()
        .and_then(std::fs::canonicalize)
        .unwrap_or_else(|_| root.clone());
    for name in PATH_INPUTS {
        let Some(value) = raw.get(*name) else {
            continue;
        };
        // A registered task definition (ARN or family:revision) is not a file.
        if *name == "task-definition"
            && crate::stages::task_def::refs::registered_reference(Path::new(value)).is_some()
        {
            continue;
        }
        let joined = normalize(&cwd.join(value));
        let real = std::fs::canonicalize(&joined).map_or(joined, |p| normalize(&p));
        if !real.starts_with(&root) {
            return Err(Error::input(
                name,
                format!(
                    "`{value}` is outside the workspace {}; in a workflow greenlight reads and writes only files of the checked-out repository",
                    root.display()
                ),
                "give a path inside the workspace, relative to it (e.g. `deploy/taskdef.json`)",
            ));
        }
    }
    Ok(())
}

/// `a/./b/../c` as `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}
