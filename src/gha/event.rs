//! The part of `$GITHUB_EVENT_PATH` greenlight needs: which PR, which commit, is it a fork.

use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventInfo {
    pub pr_number: Option<u64>,
    pub head_sha: Option<String>,
    /// A PR from a fork gets a read-only token: comment and status calls will be refused.
    pub from_fork: bool,
}

#[derive(Deserialize)]
struct Payload {
    pull_request: Option<PullRequest>,
    after: Option<String>,
}

#[derive(Deserialize)]
struct PullRequest {
    number: u64,
    head: Side,
    base: Side,
}

#[derive(Deserialize)]
struct Side {
    sha: Option<String>,
    repo: Option<Repo>,
}

#[derive(Deserialize)]
struct Repo {
    full_name: Option<String>,
    fork: Option<bool>,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot read the event payload {path}: {message}")]
pub struct EventError {
    pub path: String,
    pub message: String,
}

pub fn parse(text: &str) -> Result<EventInfo, serde_json::Error> {
    let p: Payload = serde_json::from_str(text)?;
    Ok(match p.pull_request {
        Some(pr) => {
            let head_name = pr.head.repo.as_ref().and_then(|r| r.full_name.clone());
            let base_name = pr.base.repo.as_ref().and_then(|r| r.full_name.clone());
            let fork_flag = pr.head.repo.as_ref().and_then(|r| r.fork).unwrap_or(false);
            EventInfo {
                pr_number: Some(pr.number),
                head_sha: pr.head.sha,
                from_fork: fork_flag || (head_name.is_some() && head_name != base_name),
            }
        }
        None => EventInfo {
            pr_number: None,
            head_sha: p.after,
            from_fork: false,
        },
    })
}

pub fn read(path: &Path) -> Result<EventInfo, EventError> {
    let err = |message: String| EventError {
        path: path.display().to_string(),
        message,
    };
    let text = read_bounded(path).map_err(|e| err(e.to_string()))?;
    if text.len() as u64 > EVENT_LIMIT {
        return Err(err(format!(
            "is larger than {} MiB, more than GitHub sends in a webhook payload",
            EVENT_LIMIT / (1024 * 1024)
        )));
    }
    parse(&text).map_err(|e| err(e.to_string()))
}

/// GitHub caps webhook payloads at 25 MB; an event file larger than that is not GitHub's.
const EVENT_LIMIT: u64 = 25 * 1024 * 1024;

/// Reads at most one byte past the limit, so a huge file is refused without reading it whole.
fn read_bounded(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(EVENT_LIMIT + 1)
        .read_to_string(&mut text)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_file_beyond_githubs_payload_limit_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("event.json");
        let file = std::fs::File::create(&path).unwrap();
        // Sparse: 26 MiB of zeros without writing them.
        file.set_len(26 * 1024 * 1024).unwrap();
        let e = read(&path).unwrap_err();
        assert!(e.to_string().contains("larger than 25 MiB"), "{e}");
    }

    #[test]
    fn pull_request_from_same_repo() {
        let info = parse(
            r#"{"action":"opened","pull_request":{"number":17,
                "head":{"sha":"abc","repo":{"full_name":"o/r","fork":false}},
                "base":{"sha":"def","repo":{"full_name":"o/r","fork":false}}}}"#,
        )
        .unwrap();
        assert_eq!(
            info,
            EventInfo {
                pr_number: Some(17),
                head_sha: Some("abc".into()),
                from_fork: false
            }
        );
    }

    #[test]
    fn pull_request_from_fork() {
        let info = parse(
            r#"{"pull_request":{"number":3,
                "head":{"sha":"abc","repo":{"full_name":"someone/r","fork":true}},
                "base":{"sha":"def","repo":{"full_name":"o/r"}}}}"#,
        )
        .unwrap();
        assert!(info.from_fork);
    }

    #[test]
    fn push_event() {
        let info = parse(r#"{"ref":"refs/heads/main","after":"0123"}"#).unwrap();
        assert_eq!(info.pr_number, None);
        assert_eq!(info.head_sha.as_deref(), Some("0123"));
    }
}
