//! Secrets never leave greenlight: the corpus through `redact()`, and the binary end to end
//! (log, annotations, step summary, PR comment) with a task definition full of secrets.

mod common;

use greenlight::redact::{MASK, redact};

/// Corpus lines, without comments and blank lines.
fn corpus(name: &str) -> Vec<String> {
    std::fs::read_to_string(common::fixture(name))
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("# "))
        .map(str::to_string)
        .collect()
}

/// The line as it is given to `redact()` (markers dropped), and as it must come out (each
/// marked secret replaced by the mask), and the secrets themselves.
fn unmark(line: &str) -> (String, String, Vec<String>) {
    let mut plain = String::new();
    let mut want = String::new();
    let mut secrets = Vec::new();
    let mut rest = line;
    while let Some((before, after)) = rest.split_once('«') {
        let (secret, tail) = after.split_once('»').expect("every « has its »");
        plain.push_str(before);
        plain.push_str(secret);
        want.push_str(before);
        want.push_str(MASK);
        secrets.push(secret.to_string());
        rest = tail;
    }
    plain.push_str(rest);
    want.push_str(rest);
    (plain, want, secrets)
}

#[test]
fn every_secret_in_the_corpus_is_replaced_and_the_rest_kept() {
    let lines = corpus("secrets.txt");
    assert!(lines.len() >= 50, "{} lines", lines.len());
    let mut failures = Vec::new();
    for line in &lines {
        let (plain, want, secrets) = unmark(line);
        assert!(!secrets.is_empty(), "no secret marked in: {line}");
        let got = redact(&plain);
        if got != want || secrets.iter().any(|s| got.contains(s.as_str())) {
            failures.push(format!("  in:   {plain}\n  want: {want}\n  got:  {got}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn innocent_lines_pass_through_unchanged() {
    let lines = corpus("not-secrets.txt");
    assert!(lines.len() >= 40, "{} lines", lines.len());
    let failures: Vec<String> = lines
        .iter()
        .filter_map(|l| {
            let got = redact(l);
            (got != *l).then(|| format!("  in:  {l}\n  got: {got}"))
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn the_whole_corpus_at_once_is_redacted_like_each_line() {
    // Spans must not run from one line into the next.
    let lines = corpus("secrets.txt");
    let plain: Vec<String> = lines.iter().map(|l| unmark(l).0).collect();
    let want: Vec<String> = lines.iter().map(|l| unmark(l).1).collect();
    assert_eq!(redact(&plain.join("\n")), want.join("\n"));
}

#[test]
fn redacting_twice_changes_nothing_more() {
    for line in corpus("secrets.txt") {
        let once = redact(&unmark(&line).0);
        assert_eq!(redact(&once), once, "{line}");
    }
}

// ---- end to end ------------------------------------------------------------------------

use std::path::Path;
use std::process::Output;

use common::{Seeded, fixture, seeded};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MYSQL_PWD: &str = "e2e-mysql-pwd-7f3a";
const JDBC_PW: &str = "e2e-jdbc-pw-91c2";
const SPLUNK_TOKEN: &str = "e2e-splunk-token-5d8e";
const GITHUB_TOKEN: &str = "ghs_e2e_redaction_token_value";
const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

/// The fixture task definition with three secrets in plain text, one of them repeated under an
/// innocent name (only registration can catch that one).
fn secret_task_definition(dir: &Path) -> std::path::PathBuf {
    let mut td: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("taskdef.json")).unwrap()).unwrap();
    let web = &mut td["containerDefinitions"][0];
    web["environment"] = json!([
        {"name": "APP_VERSION", "value": "1.42.0"},
        {"name": "MYSQL_PWD", "value": MYSQL_PWD},
        {"name": "JDBC_URL", "value": format!("jdbc:postgresql://db.internal:5432/shop?user=app&password={JDBC_PW}")}
    ]);
    web["dockerLabels"] = json!({"note": format!("copied from {MYSQL_PWD}")});
    web["logConfiguration"] = json!({"logDriver": "splunk", "options": {
        "splunk-url": "https://splunk.example.com:8088", "splunk-token": SPLUNK_TOKEN}});
    let file = dir.join("taskdef-secrets.json");
    std::fs::write(&file, serde_json::to_string_pretty(&td).unwrap()).unwrap();
    file
}

/// The binary in Actions mode (annotations, masks, summary) with `inputs` on top of a deploy
/// of `demo/web`.
fn action(s: &Seeded, github: &str, inputs: &[(&str, &str)]) -> Output {
    let event = s.dir.path().join("event.json");
    std::fs::write(
        &event,
        json!({"pull_request": {"number": 5,
            "head": {"sha": SHA, "repo": {"full_name": "acme/shop", "fork": false}},
            "base": {"sha": "base", "repo": {"full_name": "acme/shop"}}}})
        .to_string(),
    )
    .unwrap();
    // In a workflow every file must be in the workspace: the test's own folder here.
    let appspec = s.dir.path().join("appspec.yml");
    std::fs::copy(fixture("appspec.yml"), &appspec).unwrap();
    let mut cmd = s.emu.greenlight(&s.out_file());
    cmd.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_WORKSPACE", s.dir.path())
        .env("GITHUB_STEP_SUMMARY", s.dir.path().join("summary.md"))
        .env("GITHUB_EVENT_PATH", &event)
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_SHA", "merge-commit-sha")
        .env("GITHUB_API_URL", github)
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_RUN_ID", "42")
        .env("INPUT_CLUSTER", "demo")
        .env("INPUT_SERVICE", "web")
        .env("INPUT_CODEDEPLOY-APPSPEC", &appspec)
        .env("INPUT_CONTAINER-NAME", "web")
        .env("INPUT_IMAGE", &s.image)
        .env(
            "INPUT_CODEDEPLOY-DEPLOYMENT-CONFIG",
            "CodeDeployDefault.ECSAllAtOnce",
        )
        .env("INPUT_GITHUB-TOKEN", GITHUB_TOKEN);
    for (k, v) in inputs {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

async fn github_accepting_everything() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
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
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 9001})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 1})))
        .mount(&server)
        .await;
    server
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Output without the `::add-mask::` commands, which carry the secrets on purpose (that is how
/// the runner learns them).
fn without_masks(s: &str) -> String {
    s.lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_clean(what: &str, body: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !body.contains(secret),
            "{what} shows the secret `{secret}`:\n{body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deploy_with_secrets_in_the_task_definition_never_shows_them() {
    let server = github_accepting_everything().await;
    let uri = server.uri();
    let (s, out) = tokio::task::spawn_blocking(move || {
        let s = seeded(&[]);
        let td = secret_task_definition(s.dir.path());
        let out = action(&s, &uri, &[("INPUT_TASK-DEFINITION", td.to_str().unwrap())]);
        (s, out)
    })
    .await
    .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let secrets = [MYSQL_PWD, JDBC_PW, SPLUNK_TOKEN, GITHUB_TOKEN];
    assert_clean("stdout", &without_masks(&stdout), &secrets);
    assert_clean("stderr", &stderr, &secrets);
    for secret in secrets {
        assert!(
            stdout.contains(&format!("::add-mask::{secret}")),
            "the runner is asked to mask `{secret}`:\n{stdout}"
        );
    }
    // The diff is there, with the names and the shape of what changed.
    assert!(stdout.contains("+  env MYSQL_PWD = ***"), "{stdout}");
    assert!(
        stdout.contains(
            "+  env JDBC_URL = jdbc:postgresql://db.internal:5432/shop?user=app&password=***"
        ),
        "{stdout}"
    );
    assert!(stdout.contains(r#""splunk-token":"***""#), "{stdout}");
    assert!(stdout.contains(r#""note":"copied from ***""#), "{stdout}");

    let summary = std::fs::read_to_string(s.dir.path().join("summary.md")).unwrap();
    assert_clean("the step summary", &summary, &secrets);
    assert!(summary.contains("env MYSQL_PWD = ***"), "{summary}");

    let requests = server.received_requests().await.unwrap();
    let sent: Vec<&wiremock::Request> = requests
        .iter()
        .filter(|r| r.method.as_str() != "GET")
        .collect();
    assert!(
        sent.iter().any(|r| r.url.path().ends_with("/comments")),
        "a comment was posted"
    );
    for r in sent {
        assert_clean(r.url.path(), &text(&r.body), &secrets);
    }
    let last_comment = requests
        .iter()
        .rev()
        .find(|r| r.url.path().contains("comments") && r.method.as_str() != "GET")
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
        .unwrap();
    assert!(
        last_comment["body"]
            .as_str()
            .unwrap()
            .contains("env MYSQL_PWD = ***"),
        "{last_comment}"
    );
}

/// The binary in Actions mode with only these inputs: for errors found before any AWS call.
fn bare_action(dir: &Path, inputs: &[(&str, &str)]) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_greenlight"));
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") || k.starts_with("INPUT_") || k.starts_with("GITHUB_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_WORKSPACE", dir)
        .env("GITHUB_OUTPUT", dir.join("outputs"))
        .env("GITHUB_STEP_SUMMARY", dir.join("summary.md"))
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("INPUT_CLUSTER", "demo")
        .env("INPUT_SERVICE", "web");
    for (k, v) in inputs {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn all_output(dir: &Path, out: &Output) -> String {
    format!(
        "{}\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr),
        std::fs::read_to_string(dir.join("summary.md")).unwrap_or_default()
    )
}

#[test]
fn a_malformed_environment_variables_line_exits_2_without_its_value() {
    let dir = tempfile::tempdir().unwrap();
    let td = dir.path().join("taskdef.json");
    std::fs::copy(fixture("taskdef.json"), &td).unwrap();
    let out = bare_action(
        dir.path(),
        &[
            ("INPUT_TASK-DEFINITION", td.to_str().unwrap()),
            ("INPUT_CONTAINER-NAME", "web"),
            (
                "INPUT_IMAGE",
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1",
            ),
            (
                "INPUT_ENVIRONMENT-VARIABLES",
                "APP_VERSION=1.43.0\nDB_PASSWORD: e2e-colon-pw-4411",
            ),
        ],
    );
    let all = all_output(dir.path(), &out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains("environment-variables") && all.contains("line 2"),
        "{all}"
    );
    assert_clean("the output", &all, &["e2e-colon-pw-4411", "DB_PASSWORD: "]);
}

#[test]
fn a_number_for_a_secret_variable_exits_2_without_the_number() {
    let dir = tempfile::tempdir().unwrap();
    let mut td: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("taskdef.json")).unwrap()).unwrap();
    td["containerDefinitions"][0]["environment"] =
        json!([{"name": "MYSQL_PWD", "value": 918273645}]);
    td["containerDefinitions"][0]["image"] =
        json!("123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1");
    let file = dir.path().join("taskdef.json");
    std::fs::write(&file, serde_json::to_string_pretty(&td).unwrap()).unwrap();
    let out = bare_action(
        dir.path(),
        &[("INPUT_TASK-DEFINITION", file.to_str().unwrap())],
    );
    let all = all_output(dir.path(), &out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains("containerDefinitions[0].environment[0].value")
            && all.contains("must be a string, not a number"),
        "{all}"
    );
    assert_clean("the output", &all, &["918273645"]);
}

proptest::proptest! {
    /// Any text, however its separators, quotes, URLs and multi-byte characters fall, is
    /// redacted without a panic, and whatever is left is never longer than mask-per-byte.
    #[test]
    fn any_text_redacts_without_panicking(text in "[a-zA-Z0-9_=:;&@/?\"'{}$() \n\t\\\\.éß«»-]{0,120}") {
        let out = redact(&text);
        proptest::prop_assert!(out.len() <= text.len() * MASK.len() + MASK.len());
    }
}
