//! GitHub: the sticky pull-request comment, the commit status and GitHub Deployments. The only
//! octocrab user. Nothing here can fail a deployment: a request GitHub refuses for good turns
//! into one warning and that channel goes quiet; the step summary still has the whole report.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use octocrab::Octocrab;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::time::Instant;

use super::markdown::Outcome;

/// Where to report, read from the runner's environment and the report inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub api_url: String,
    pub token: String,
    /// `owner/name`.
    pub repository: String,
    pub sha: String,
    /// The pull request of a `pull_request` event; found through the commit otherwise.
    pub pr: Option<u64>,
    pub run_url: Option<String>,
    pub pr_comment: bool,
    pub commit_status: bool,
    /// GitHub Deployments: only for `deploy`, and only when an environment is named.
    pub environment: Option<String>,
    pub environment_url: Option<String>,
}

/// Which channels to report on, and the token to do it with. Plain data, read from the inputs
/// by `config` (which uses this type as its own), so the reporter needs nothing of the
/// configuration.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ReportTo {
    pub github_token: Option<String>,
    pub pr_comment: bool,
    pub commit_status: bool,
    /// A GitHub Deployment in this environment (deploy only).
    pub environment: Option<String>,
    pub environment_url: Option<String>,
}

// The token never reaches a log, not even a debug print.
impl std::fmt::Debug for ReportTo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportTo")
            .field("github_token", &self.github_token.as_ref().map(|_| "***"))
            .field("pr_comment", &self.pr_comment)
            .field("commit_status", &self.commit_status)
            .field("environment", &self.environment)
            .field("environment_url", &self.environment_url)
            .finish()
    }
}

impl Target {
    /// The target inside a workflow run: `None` when there is no token or no repository, or
    /// every channel is turned off. `env` reads the runner's variables.
    pub fn from_env(
        report: &ReportTo,
        event: Option<&crate::gha::event::EventInfo>,
        deploys: bool,
        env: impl Fn(&str) -> Option<String>,
    ) -> Option<Target> {
        let token = report.github_token.clone()?;
        let repository = env("GITHUB_REPOSITORY").filter(|r| r.contains('/'))?;
        let sha = event
            .and_then(|e| e.head_sha.clone())
            .or_else(|| env("GITHUB_SHA"))?;
        let environment = report.environment.clone().filter(|_| deploys);
        if !report.pr_comment && !report.commit_status && environment.is_none() {
            return None;
        }
        let server = env("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into());
        let run_url = env("GITHUB_RUN_ID").map(|id| {
            let attempt = env("GITHUB_RUN_ATTEMPT")
                .map(|a| format!("/attempts/{a}"))
                .unwrap_or_default();
            format!("{server}/{repository}/actions/runs/{id}{attempt}")
        });
        Some(Target {
            api_url: env("GITHUB_API_URL").unwrap_or_else(|| "https://api.github.com".into()),
            token,
            repository,
            sha,
            pr: event.and_then(|e| e.pr_number),
            run_url,
            pr_comment: report.pr_comment,
            commit_status: report.commit_status,
            environment,
            environment_url: report.environment_url.clone(),
        })
    }
}

/// One service's report as the reporter last rendered it.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    /// `cluster/service`: the comment marker and the status context.
    pub key: String,
    pub markdown: String,
    pub outcome: Outcome,
    /// One line for the commit status (at most 140 characters).
    pub description: String,
    /// A deployment has been started (GitHub Deployment status `in_progress`).
    pub deploying: bool,
}

/// What the reporter hands over at the end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Published {
    pub comment_url: Option<String>,
}

/// The least time between two edits of a comment: GitHub's content-creation limits, and a
/// reviewer's notifications, ask for restraint.
pub const MIN_EDIT_INTERVAL: Duration = Duration::from_secs(5);
/// Attempts per request when GitHub answers 5xx or asks to slow down.
const ATTEMPTS: u32 = 4;
/// A rate-limit wait longer than this is not worth holding the run for.
const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Failure {
    /// GitHub answered and will answer the same again (403, 404, 422 …).
    Refused { status: u16, message: String },
    /// Unreachable, or 5xx / rate limited through every attempt.
    GaveUp(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Refused { status, message } => write!(f, "{status} {message}"),
            Failure::GaveUp(m) => f.write_str(m),
        }
    }
}

/// A client that retries what is worth retrying and nothing else.
pub struct Client {
    crab: Octocrab,
    target: Target,
    /// Warnings go to the runner's log as annotations; they are never errors.
    warn: Box<dyn Fn(&str) + Send + Sync>,
}

impl Client {
    /// `timeouts` (connect, read) bound each request; tests that pause tokio's clock pass
    /// `None`, since a paused clock jumps past any timer while a request is in flight.
    pub fn new(
        target: Target,
        timeouts: Option<(Duration, Duration)>,
        warn: Box<dyn Fn(&str) + Send + Sync>,
    ) -> Option<Client> {
        let crab = Octocrab::builder()
            .base_uri(target.api_url.as_str())
            .ok()?
            .personal_token(target.token.clone())
            .set_connect_timeout(timeouts.map(|t| t.0))
            .set_read_timeout(timeouts.map(|t| t.1))
            .build();
        match crab {
            Ok(crab) => Some(Client { crab, target, warn }),
            Err(e) => {
                warn(&format!("GitHub reporting is off: {e}"));
                None
            }
        }
    }

    /// The workflow run the report links to.
    pub fn run_url(&self) -> Option<String> {
        self.target.run_url.clone()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.target.api_url.trim_end_matches('/'))
    }

    async fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, Failure> {
        let url = self.url(path);
        let mut backoff = Duration::from_secs(1);
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
            let sent = match method {
                "POST" => self.crab._post(url.as_str(), body).await,
                "PATCH" => self.crab._patch(url.as_str(), body).await,
                _ => self.crab._get(url.as_str()).await,
            };
            let response = match sent {
                Ok(r) => r,
                Err(e) => {
                    last = format!("GitHub is unreachable: {e}");
                    if attempt < ATTEMPTS {
                        tokio::time::sleep(backoff).await;
                        backoff *= 2;
                    }
                    continue;
                }
            };
            let status = response.status().as_u16();
            let wait = rate_limit_wait(response.headers());
            let text = self.crab.body_to_string(response).await.unwrap_or_default();
            if (200..300).contains(&status) {
                return Ok(serde_json::from_str(&text).unwrap_or(Value::Null));
            }
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_else(|| text.chars().take(200).collect());
            last = format!("{status} {message}");
            let retry_after = match (status, wait) {
                (403 | 429, Some(w)) if w <= MAX_RATE_LIMIT_WAIT => Some(w),
                (403 | 429, Some(_)) => {
                    return Err(Failure::GaveUp(format!(
                        "{last} (rate limited for more than {} s)",
                        MAX_RATE_LIMIT_WAIT.as_secs()
                    )));
                }
                (500..=599, _) => Some(backoff),
                _ => return Err(Failure::Refused { status, message }),
            };
            if attempt < ATTEMPTS
                && let Some(w) = retry_after
            {
                tokio::time::sleep(w).await;
                backoff *= 2;
            }
        }
        Err(Failure::GaveUp(last))
    }

    fn repo_path(&self, rest: &str) -> String {
        format!("/repos/{}{rest}", self.target.repository)
    }
}

/// How long GitHub asks us to wait: `retry-after` (seconds), or the reset time of an
/// exhausted rate limit.
fn rate_limit_wait(headers: &http::HeaderMap) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(secs) = header("retry-after").and_then(|v| v.trim().parse::<u64>().ok()) {
        return Some(Duration::from_secs(secs));
    }
    if header("x-ratelimit-remaining") == Some("0") {
        let reset = header("x-ratelimit-reset")?.trim().parse::<u64>().ok()?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
        return Some(Duration::from_secs(reset.saturating_sub(now).max(1)));
    }
    None
}

/// The comment of one service on the pull request.
#[derive(Debug, Clone, Default)]
struct Comment {
    id: Option<u64>,
    url: Option<String>,
    posted: Option<String>,
    at: Option<Instant>,
}

/// Each channel goes quiet after its first refusal.
#[derive(Debug, Default)]
struct Channels {
    pr: Option<Option<u64>>,
    comments: BTreeMap<String, Comment>,
    comment_off: bool,
    statuses: BTreeMap<String, (Outcome, String)>,
    status_off: bool,
    deployments: BTreeMap<String, (u64, &'static str)>,
    deployment_off: bool,
}

/// Follows the reporter's documents and mirrors them to GitHub until the reporter is done,
/// then posts the final state once more.
pub async fn publish(client: Client, mut docs: watch::Receiver<Vec<Doc>>) -> Published {
    let mut ch = Channels::default();
    'follow: while docs.changed().await.is_ok() {
        let current = docs.borrow_and_update().clone();
        for doc in &current {
            client.sync(&mut ch, doc, false).await;
        }
        // Intermediate edits are spaced out: the latest document wins, the ones in between are
        // skipped. The end of the run cuts the wait short: the final state goes out at once.
        let next_edit = ch
            .comments
            .values()
            .filter_map(|c| c.at)
            .max()
            .map(|at| at + MIN_EDIT_INTERVAL);
        if let Some(at) = next_edit
            && at > Instant::now()
        {
            let mut changed = false;
            loop {
                tokio::select! {
                    () = tokio::time::sleep_until(at) => break,
                    r = docs.changed() => {
                        if r.is_err() {
                            break 'follow;
                        }
                        // Seen, so the next `changed` waits for another change or the end.
                        docs.borrow_and_update();
                        changed = true;
                    }
                }
            }
            if changed {
                docs.mark_changed();
            }
        }
    }
    let last = docs.borrow().clone();
    for doc in &last {
        client.sync(&mut ch, doc, true).await;
    }
    Published {
        comment_url: ch.comments.values().find_map(|c| c.url.clone()),
    }
}

impl Client {
    async fn sync(&self, ch: &mut Channels, doc: &Doc, last: bool) {
        if self.target.commit_status && !ch.status_off {
            self.status(ch, doc, last).await;
        }
        if self.target.environment.is_some() && !ch.deployment_off {
            self.deployment(ch, doc, last).await;
        }
        if self.target.pr_comment && !ch.comment_off {
            self.comment(ch, doc, last).await;
        }
    }

    fn refused(&self, what: &str, f: &Failure) {
        let hint = match f {
            Failure::Refused { status: 403, .. } => {
                " (the token may not write here: a pull request from a fork gets a read-only token; give the job `pull-requests: write`, `statuses: write`, `deployments: write`)"
            }
            Failure::Refused { status: 404, .. } => {
                " (not found: check the repository and that the token can see it)"
            }
            _ => "",
        };
        (self.warn)(&format!(
            "GitHub {what}: {f}{hint}; the step summary has the report"
        ));
    }

    async fn comment(&self, ch: &mut Channels, doc: &Doc, last: bool) {
        let entry = ch.comments.entry(doc.key.clone()).or_default();
        if entry.posted.as_deref() == Some(doc.markdown.as_str()) {
            return;
        }
        if !last && entry.at.is_some_and(|at| at.elapsed() < MIN_EDIT_INTERVAL) {
            return;
        }
        let pr = match ch.pr {
            Some(pr) => pr,
            None => {
                let found = self.find_pr().await;
                ch.pr = Some(found);
                found
            }
        };
        let Some(pr) = pr else {
            ch.comment_off = true;
            return;
        };
        let entry = ch.comments.entry(doc.key.clone()).or_default();
        if entry.id.is_none() {
            match self.find_comment(pr, &doc.key).await {
                Ok(Some((id, url))) => {
                    entry.id = Some(id);
                    entry.url = Some(url);
                }
                Ok(None) => {}
                Err(f) => {
                    self.refused("comment", &f);
                    ch.comment_off = true;
                    return;
                }
            }
        }
        let body = json!({ "body": doc.markdown });
        let result = match entry.id {
            Some(id) => {
                self.send(
                    "PATCH",
                    &self.repo_path(&format!("/issues/comments/{id}")),
                    Some(&body),
                )
                .await
            }
            None => {
                self.send(
                    "POST",
                    &self.repo_path(&format!("/issues/{pr}/comments")),
                    Some(&body),
                )
                .await
            }
        };
        match result {
            Ok(v) => {
                if entry.id.is_none() {
                    entry.id = v.get("id").and_then(Value::as_u64);
                }
                if let Some(url) = v.get("html_url").and_then(Value::as_str) {
                    entry.url = Some(url.to_string());
                }
                entry.posted = Some(doc.markdown.clone());
                entry.at = Some(Instant::now());
            }
            Err(f) => {
                self.refused("comment", &f);
                ch.comment_off = true;
            }
        }
    }

    /// The pull request: from the event, or the open one whose head is this commit.
    async fn find_pr(&self) -> Option<u64> {
        if self.target.pr.is_some() {
            return self.target.pr;
        }
        match self
            .send(
                "GET",
                &self.repo_path(&format!("/commits/{}/pulls", self.target.sha)),
                None,
            )
            .await
        {
            Ok(Value::Array(pulls)) => pulls
                .iter()
                .find(|p| p.get("state").and_then(Value::as_str) == Some("open"))
                .and_then(|p| p.get("number").and_then(Value::as_u64)),
            Ok(_) => None,
            Err(f) => {
                self.refused("pull request lookup", &f);
                None
            }
        }
    }

    /// Our comment, by its hidden marker, on any page.
    async fn find_comment(&self, pr: u64, key: &str) -> Result<Option<(u64, String)>, Failure> {
        let marker = super::markdown::marker(key);
        for page in 1.. {
            let path = self.repo_path(&format!("/issues/{pr}/comments?per_page=100&page={page}"));
            let Value::Array(items) = self.send("GET", &path, None).await? else {
                return Ok(None);
            };
            if let Some(c) = items.iter().find(|c| {
                c.get("body")
                    .and_then(Value::as_str)
                    .is_some_and(|b| b.starts_with(&marker))
            }) {
                return Ok(c.get("id").and_then(Value::as_u64).map(|id| {
                    (
                        id,
                        c.get("html_url")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                    )
                }));
            }
            if items.len() < 100 {
                break;
            }
        }
        Ok(None)
    }

    async fn status(&self, ch: &mut Channels, doc: &Doc, last: bool) {
        let outcome = if last { doc.outcome } else { Outcome::Pending };
        let description: String = doc.description.chars().take(140).collect();
        if ch.statuses.get(&doc.key) == Some(&(outcome, description.clone())) {
            return;
        }
        // Pending is said once; its description does not need to follow every step.
        if !last && ch.statuses.contains_key(&doc.key) {
            return;
        }
        let mut body = json!({
            "state": outcome.commit_state(),
            "context": format!("greenlight/{}", doc.key),
            "description": description,
        });
        if let Some(url) = ch
            .comments
            .get(&doc.key)
            .and_then(|c| c.url.clone())
            .or_else(|| self.target.run_url.clone())
        {
            body["target_url"] = Value::String(url);
        }
        let path = self.repo_path(&format!("/statuses/{}", self.target.sha));
        match self.send("POST", &path, Some(&body)).await {
            Ok(_) => {
                ch.statuses.insert(doc.key.clone(), (outcome, description));
            }
            Err(f) => {
                self.refused("commit status", &f);
                ch.status_off = true;
            }
        }
    }

    async fn deployment(&self, ch: &mut Channels, doc: &Doc, last: bool) {
        let Some(environment) = self.target.environment.clone() else {
            return;
        };
        let id = match ch.deployments.get(&doc.key) {
            Some((id, _)) => *id,
            None => {
                let body = json!({
                    "ref": self.target.sha,
                    "environment": environment,
                    "description": format!("greenlight: {}", doc.key),
                    "auto_merge": false,
                    "required_contexts": [],
                    "payload": { "service": doc.key },
                });
                match self
                    .send("POST", &self.repo_path("/deployments"), Some(&body))
                    .await
                {
                    Ok(v) => match v.get("id").and_then(Value::as_u64) {
                        Some(id) => {
                            ch.deployments.insert(doc.key.clone(), (id, ""));
                            id
                        }
                        None => {
                            ch.deployment_off = true;
                            return;
                        }
                    },
                    Err(f) => {
                        self.refused("deployment", &f);
                        ch.deployment_off = true;
                        return;
                    }
                }
            }
        };
        let state: &'static str = match (last, doc.outcome) {
            (false, _) if doc.deploying => "in_progress",
            (false, _) => "queued",
            (true, Outcome::Success) => "success",
            (true, Outcome::Error) => "error",
            (true, _) => "failure",
        };
        let now = ch.deployments.get(&doc.key).map(|(_, s)| *s);
        // A deployment's statuses only move forward.
        if now == Some(state) || (state == "queued" && now == Some("in_progress")) {
            return;
        }
        let mut body = json!({
            "state": state,
            "description": doc.description.chars().take(140).collect::<String>(),
            "auto_inactive": true,
        });
        if let Some(url) = &self.target.run_url {
            body["log_url"] = Value::String(url.clone());
        }
        if let Some(url) = &self.target.environment_url {
            body["environment_url"] = Value::String(url.clone());
        }
        let path = self.repo_path(&format!("/deployments/{id}/statuses"));
        match self.send("POST", &path, Some(&body)).await {
            Ok(_) => {
                ch.deployments.insert(doc.key.clone(), (id, state));
            }
            Err(f) => {
                self.refused("deployment status", &f);
                ch.deployment_off = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gha::event::EventInfo;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    fn report(token: Option<&str>) -> ReportTo {
        ReportTo {
            github_token: token.map(str::to_string),
            pr_comment: true,
            commit_status: true,
            environment: Some("production".into()),
            environment_url: None,
        }
    }

    #[test]
    fn the_target_comes_from_the_runner_and_the_pull_request_head() {
        let runner = env(&[
            ("GITHUB_REPOSITORY", "acme/shop"),
            ("GITHUB_SHA", "merge"),
            ("GITHUB_API_URL", "https://ghe.example.com/api/v3"),
            ("GITHUB_SERVER_URL", "https://ghe.example.com"),
            ("GITHUB_RUN_ID", "42"),
            ("GITHUB_RUN_ATTEMPT", "2"),
        ]);
        let pr = EventInfo {
            pr_number: Some(5),
            head_sha: Some("head".into()),
            from_fork: false,
        };
        let t = Target::from_env(&report(Some("t")), Some(&pr), false, &runner).unwrap();
        assert_eq!(t.api_url, "https://ghe.example.com/api/v3");
        assert_eq!(
            (t.sha.as_str(), t.pr),
            ("head", Some(5)),
            "the PR head, not the merge commit"
        );
        assert_eq!(
            t.run_url.as_deref(),
            Some("https://ghe.example.com/acme/shop/actions/runs/42/attempts/2")
        );
        assert_eq!(t.environment, None, "GitHub Deployments only for deploy");
        let push = Target::from_env(&report(Some("t")), None, true, &runner).unwrap();
        assert_eq!((push.sha.as_str(), push.pr), ("merge", None));
        assert_eq!(push.environment.as_deref(), Some("production"));

        assert_eq!(
            Target::from_env(&report(None), None, true, &runner),
            None,
            "no token"
        );
        assert_eq!(
            Target::from_env(&report(Some("t")), None, true, env(&[])),
            None,
            "no repo"
        );
        let mut quiet = report(Some("t"));
        (quiet.pr_comment, quiet.commit_status, quiet.environment) = (false, false, None);
        assert_eq!(
            Target::from_env(&quiet, None, true, &runner),
            None,
            "all off"
        );
    }

    #[test]
    fn retry_after_and_rate_limit_reset_are_read() {
        let mut h = http::HeaderMap::new();
        h.insert("retry-after", "7".parse().unwrap());
        assert_eq!(rate_limit_wait(&h), Some(Duration::from_secs(7)));
        let mut h = http::HeaderMap::new();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        h.insert("x-ratelimit-remaining", "0".parse().unwrap());
        h.insert("x-ratelimit-reset", (now + 30).to_string().parse().unwrap());
        let w = rate_limit_wait(&h).unwrap();
        assert!(
            w >= Duration::from_secs(29) && w <= Duration::from_secs(30),
            "{w:?}"
        );
        h.insert("x-ratelimit-remaining", "12".parse().unwrap());
        assert_eq!(rate_limit_wait(&h), None);
    }
}
