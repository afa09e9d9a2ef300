//! The action end to end with GitHub in the loop: the real binary in Actions mode, the emulator
//! as AWS and wiremock as GitHub. A canary deployment is reported on the pull request (final
//! comment snapshot, commit status); a fork's read-only token changes nothing but the warning.

mod common;

use std::process::Output;

use common::{Seeded, fixture, outputs, seeded};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "ghs_e2e_secret_token_value";
const SHA: &str = "fedcba9876543210fedcba9876543210fedcba98";

fn run_action(s: &Seeded, github: &str, extra: &[(&str, &str)]) -> Output {
    let event = s.dir.path().join("event.json");
    std::fs::write(
        &event,
        json!({
            "pull_request": {
                "number": 5,
                "head": {"sha": SHA, "repo": {"full_name": "acme/shop", "fork": false}},
                "base": {"sha": "base", "repo": {"full_name": "acme/shop"}}
            }
        })
        .to_string(),
    )
    .unwrap();
    let mut cmd = s.emu.greenlight(&s.out_file());
    cmd.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", s.dir.path().join("summary.md"))
        .env("GITHUB_EVENT_PATH", &event)
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_SHA", "merge-commit-sha")
        .env("GITHUB_API_URL", github)
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_RUN_ID", "42")
        .env("INPUT_CLUSTER", "demo")
        .env("INPUT_SERVICE", "web")
        .env("INPUT_TASK-DEFINITION", fixture("taskdef.json"))
        .env("INPUT_CODEDEPLOY-APPSPEC", fixture("appspec.yml"))
        .env("INPUT_CONTAINER-NAME", "web")
        .env("INPUT_IMAGE", &s.image)
        .env(
            "INPUT_CODEDEPLOY-DEPLOYMENT-CONFIG",
            "CodeDeployDefault.ECSCanary10Percent5Minutes",
        )
        .env("INPUT_GITHUB-TOKEN", TOKEN);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Times and the random deployment id vary between runs; the rest of the comment must not.
fn normalise(md: &str) -> String {
    md.lines()
        .map(|line| {
            let line = if let Some(rest) = line.strip_prefix("<sub>")
                && let Some((_, tail)) = rest.split_once(" elapsed")
            {
                format!("<sub><t> elapsed{tail}")
            } else if line.starts_with("| ")
                && !line.contains("lifecycle event")
                && line.matches(" | ").count() == 2
                && line.ends_with(" |")
            {
                // A lifecycle row: name, icon, time. Whether a short event's start was seen
                // depends on where the poll fell, so every time cell is masked.
                let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
                format!("| {} | {} | <t> |", cells[0].trim(), cells[1].trim())
            } else {
                line.to_string()
            };
            match line.find("d-") {
                Some(i)
                    if line[i + 2..].len() >= 9
                        && line[i + 2..i + 11]
                            .chars()
                            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) =>
                {
                    line.replace(&line[i..i + 11], "d-<id>")
                }
                _ => line,
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn github_accepting_everything() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/issues/5/comments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/shop/issues/5/comments"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": 9001, "html_url": "https://github.com/acme/shop/pull/5#issuecomment-9001"
        })))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/shop/issues/comments/9001"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 9001})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/repos/acme/shop/statuses/{SHA}")))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 1})))
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn a_canary_deployment_is_reported_on_the_pull_request() {
    let server = github_accepting_everything().await;
    let uri = server.uri();
    let (s, out) = tokio::task::spawn_blocking(move || {
        let s = seeded(&[]);
        let out = run_action(&s, &uri, &[]);
        (s, out)
    })
    .await
    .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert_eq!(
        stdout.matches(TOKEN).count(),
        1,
        "the token appears once, in the mask command: {stdout}"
    );
    assert!(stdout.contains(&format!("::add-mask::{TOKEN}")), "{stdout}");
    assert_eq!(
        outputs(&s.out_file())
            .get("comment-url")
            .map(String::as_str),
        Some("https://github.com/acme/shop/pull/5#issuecomment-9001")
    );

    let requests = server.received_requests().await.unwrap();
    let bodies = |p: &str| -> Vec<Value> {
        requests
            .iter()
            .filter(|r| r.url.path() == p && r.method.as_str() != "GET")
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect()
    };
    let comments: Vec<Value> = bodies("/repos/acme/shop/issues/5/comments")
        .into_iter()
        .chain(bodies("/repos/acme/shop/issues/comments/9001"))
        .collect();
    assert_eq!(
        bodies("/repos/acme/shop/issues/5/comments").len(),
        1,
        "created once"
    );
    let last = comments.last().unwrap()["body"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(last.starts_with("<!-- greenlight:demo/web -->"), "{last}");
    insta::assert_snapshot!("final_comment_canary", normalise(&last));

    let statuses = bodies(&format!("/repos/acme/shop/statuses/{SHA}"));
    assert_eq!(statuses.first().unwrap()["state"], "pending");
    let done = statuses.last().unwrap();
    assert_eq!(done["state"], "success");
    assert_eq!(done["context"], "greenlight/demo/web");
    assert_eq!(
        done["target_url"],
        "https://github.com/acme/shop/pull/5#issuecomment-9001"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_only_fork_token_leaves_the_deployment_and_its_exit_code_alone() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"message": "Resource not accessible by integration"})),
        )
        .mount(&server)
        .await;
    let uri = server.uri();
    let (s, out) = tokio::task::spawn_blocking(move || {
        let s = seeded(&[]);
        let out = run_action(&s, &uri, &[]);
        (s, out)
    })
    .await
    .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let warnings: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("::warning") && l.contains("403"))
        .collect();
    assert_eq!(
        warnings.len(),
        2,
        "one per channel (status, comment): {stdout}"
    );
    assert!(
        warnings.iter().all(|w| w.contains("step summary")),
        "{stdout}"
    );
    let o = outputs(&s.out_file());
    assert_eq!(o["deployment-status"], "Succeeded");
    assert_eq!(o.get("comment-url"), None);
    let summary = std::fs::read_to_string(s.dir.path().join("summary.md")).unwrap();
    assert!(
        summary.contains("<!-- greenlight:demo/web -->"),
        "{summary}"
    );
    assert!(summary.contains("deployed"), "{summary}");
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_reports_what_merging_will_deploy_as_a_comment_and_a_check() {
    let server = github_accepting_everything().await;
    let uri = server.uri();
    let (s, out) = tokio::task::spawn_blocking(move || {
        let s = seeded(&[]);
        s.emu.clear_calls();
        let out = run_action(&s, &uri, &[("INPUT_COMMAND", "plan")]);
        (s, out)
    })
    .await
    .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let writes = s.emu.write_calls();
    assert!(writes.is_empty(), "plan writes nothing to AWS: {writes:?}");
    let requests = server.received_requests().await.unwrap();
    let comment: Value = requests
        .iter()
        .rev()
        .find(|r| r.url.path().contains("comments") && r.method.as_str() != "GET")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .expect("a comment");
    let body = comment["body"].as_str().unwrap();
    assert!(
        body.contains("greenlight plan · `demo/web` · ready to deploy"),
        "{body}"
    );
    assert!(
        body.contains("merging this will register a new `web` revision"),
        "{body}"
    );
    assert!(
        body.contains("```diff") && body.contains("+  env APP_VERSION = 1.42.0"),
        "{body}"
    );
    let last_status: Value = requests
        .iter()
        .rev()
        .find(|r| r.url.path().contains("/statuses/"))
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .expect("a status");
    assert_eq!(last_status["state"], "success");
    assert_eq!(last_status["context"], "greenlight/demo/web");
}
