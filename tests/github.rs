//! The GitHub reporter against wiremock: the exact requests for the sticky comment, the commit
//! status and GitHub Deployments, and how refusals, 5xx and rate limits are handled. Time is
//! paused, so waits (the 5-second edit spacing, retry-after) cost nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use greenlight::report::github::{Client, Doc, Published, Target, publish};
use greenlight::report::markdown::Outcome;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "ghs_test_token";
const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

fn target(server: &MockServer, pr: Option<u64>) -> Target {
    Target {
        api_url: server.uri(),
        token: TOKEN.into(),
        repository: "acme/shop".into(),
        sha: SHA.into(),
        pr,
        run_url: Some("https://github.com/acme/shop/actions/runs/42".into()),
        pr_comment: true,
        commit_status: false,
        environment: None,
        environment_url: None,
    }
}

fn doc(body: &str, outcome: Outcome) -> Doc {
    Doc {
        key: "prod/web".into(),
        markdown: format!("<!-- greenlight:prod/web -->\n{body}"),
        outcome,
        description: format!("{body} (description)"),
        deploying: false,
    }
}

/// Runs the publisher over a sequence of documents, `gap` apart; returns what it published and
/// the warnings it gave.
async fn run(target: Target, docs: Vec<Doc>, gap: Duration) -> (Published, Vec<String>) {
    let warnings = Arc::new(Mutex::new(Vec::new()));
    let sink = warnings.clone();
    let client = Client::new(
        target,
        None,
        Box::new(move |m| sink.lock().unwrap().push(m.to_string())),
    )
    .expect("a client");
    let (tx, rx) = tokio::sync::watch::channel(Vec::new());
    let task = tokio::spawn(publish(client, rx));
    for d in docs {
        tx.send_replace(vec![d]);
        tokio::time::sleep(gap).await;
    }
    drop(tx);
    let published = task.await.unwrap();
    let w = warnings.lock().unwrap().clone();
    (published, w)
}

/// Lets the publisher work until the server has seen `n` requests: with the clock paused, a
/// plain sleep would let later documents overtake the ones still being published.
async fn until_requests(server: &MockServer, n: usize) {
    for _ in 0..100_000 {
        if server.received_requests().await.unwrap_or_default().len() >= n {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("the server never saw {n} requests");
}

/// Every request the server saw: method, path with query, JSON body.
async fn requests(server: &MockServer) -> Vec<(String, String, Value)> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let pq = match r.url.query() {
                Some(q) => format!("{}?{q}", r.url.path()),
                None => r.url.path().to_string(),
            };
            (
                r.method.to_string(),
                pq,
                serde_json::from_slice(&r.body).unwrap_or(Value::Null),
            )
        })
        .collect()
}

fn created(id: u64) -> ResponseTemplate {
    ResponseTemplate::new(201).set_body_json(json!({
        "id": id,
        "html_url": format!("https://github.com/acme/shop/pull/5#issuecomment-{id}")
    }))
}

async fn no_comments_yet(server: &MockServer, pr: u64) {
    Mock::given(method("GET"))
        .and(path(format!("/repos/acme/shop/issues/{pr}/comments")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(server)
        .await;
}

#[tokio::test(start_paused = true)]
async fn the_first_comment_is_created_then_patched_and_never_repeated_unchanged() {
    let server = MockServer::start().await;
    no_comments_yet(&server, 5).await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/shop/issues/5/comments"))
        .respond_with(created(11))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/shop/issues/comments/11"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 11})))
        .mount(&server)
        .await;
    let warnings = Arc::new(Mutex::new(Vec::new()));
    let sink = warnings.clone();
    let client = Client::new(
        target(&server, Some(5)),
        None,
        Box::new(move |m| sink.lock().unwrap().push(m.to_string())),
    )
    .unwrap();
    let (tx, rx) = tokio::sync::watch::channel(Vec::new());
    let task = tokio::spawn(publish(client, rx));
    // Each document is sent once the previous one is on GitHub (or was judged unchanged).
    for (d, seen) in [
        (doc("starting", Outcome::Pending), 2),
        (doc("starting", Outcome::Pending), 2),
        (doc("canary 10%", Outcome::Pending), 3),
        (doc("canary 10%", Outcome::Pending), 3),
        (doc("deployed", Outcome::Success), 0),
    ] {
        tx.send_replace(vec![d]);
        if seen > 0 {
            until_requests(&server, seen).await;
        }
        tokio::time::sleep(Duration::from_secs(6)).await;
    }
    drop(tx);
    let published = task.await.unwrap();
    let warnings = warnings.lock().unwrap().clone();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        published.comment_url.as_deref(),
        Some("https://github.com/acme/shop/pull/5#issuecomment-11")
    );
    let body = |b: &str| json!({ "body": format!("<!-- greenlight:prod/web -->\n{b}") });
    assert_eq!(
        requests(&server).await,
        vec![
            (
                "GET".into(),
                "/repos/acme/shop/issues/5/comments?per_page=100&page=1".into(),
                Value::Null
            ),
            (
                "POST".into(),
                "/repos/acme/shop/issues/5/comments".into(),
                body("starting")
            ),
            (
                "PATCH".into(),
                "/repos/acme/shop/issues/comments/11".into(),
                body("canary 10%")
            ),
            (
                "PATCH".into(),
                "/repos/acme/shop/issues/comments/11".into(),
                body("deployed")
            ),
        ]
    );
    let auth = server.received_requests().await.unwrap()[0]
        .headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_string());
    assert_eq!(auth.as_deref(), Some(format!("Bearer {TOKEN}").as_str()));
}

#[tokio::test(start_paused = true)]
async fn edits_are_spaced_five_seconds_apart_and_the_last_state_always_lands() {
    let server = MockServer::start().await;
    no_comments_yet(&server, 5).await;
    Mock::given(method("POST"))
        .respond_with(created(11))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 11})))
        .mount(&server)
        .await;
    // Ten changes in one second: the first is posted, the last lands at the end.
    let docs = (0..10)
        .map(|i| doc(&format!("step {i}"), Outcome::Pending))
        .collect();
    let t0 = tokio::time::Instant::now();
    run(target(&server, Some(5)), docs, Duration::from_millis(100)).await;
    let writes: Vec<Value> = requests(&server)
        .await
        .into_iter()
        .filter(|(m, ..)| m != "GET")
        .map(|(_, _, b)| b["body"].clone())
        .collect();
    assert_eq!(
        writes,
        vec![
            json!("<!-- greenlight:prod/web -->\nstep 0"),
            json!("<!-- greenlight:prod/web -->\nstep 9")
        ]
    );
    // The run ended after a second: its final state did not wait out the spacing.
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
}

#[tokio::test(start_paused = true)]
async fn intermediate_edits_are_spaced_and_the_final_state_is_written_when_the_run_ends() {
    let server = MockServer::start().await;
    no_comments_yet(&server, 5).await;
    Mock::given(method("POST"))
        .respond_with(created(11))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 11})))
        .mount(&server)
        .await;
    // A change every second for twelve seconds, then the run ends.
    let docs = (0..12)
        .map(|i| doc(&format!("step {i}"), Outcome::Pending))
        .collect();
    let t0 = tokio::time::Instant::now();
    run(target(&server, Some(5)), docs, Duration::from_secs(1)).await;
    let edits: Vec<Value> = requests(&server)
        .await
        .into_iter()
        .filter(|(m, ..)| m == "PATCH")
        .map(|(_, _, b)| b["body"].clone())
        .collect();
    // Spaced: after the POST at 0 s, at most edits near 5 s and 10 s, and the final state
    // (fewer when a slow answer carries paused time past a mark; never one per change).
    assert!((1..=3).contains(&edits.len()), "{edits:?}");
    assert_eq!(
        edits.last(),
        Some(&json!("<!-- greenlight:prod/web -->\nstep 11"))
    );
    // The run ended at 12 s; its final state did not wait for the 15-second mark.
    assert!(
        t0.elapsed() < Duration::from_millis(12_500),
        "{:?}",
        t0.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn our_comment_is_found_by_its_marker_on_page_three() {
    let server = MockServer::start().await;
    let others: Vec<Value> = (0..100)
        .map(|i| json!({"id": 1000 + i, "body": "LGTM", "html_url": "x"}))
        .collect();
    for page in ["1", "2"] {
        Mock::given(method("GET"))
            .and(path("/repos/acme/shop/issues/5/comments"))
            .and(query_param("page", page))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!(others)))
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/issues/5/comments"))
        .and(query_param("page", "3"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": 77, "body": "<!-- greenlight:prod/other -->\nnot ours", "html_url": "y"},
            {"id": 78, "body": "<!-- greenlight:prod/web -->\nold run",
             "html_url": "https://github.com/acme/shop/pull/5#issuecomment-78"}
        ])))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/shop/issues/comments/78"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 78})))
        .expect(1)
        .mount(&server)
        .await;
    let (published, _) = run(
        target(&server, Some(5)),
        vec![doc("deployed", Outcome::Success)],
        Duration::from_secs(1),
    )
    .await;
    assert_eq!(
        published.comment_url.as_deref(),
        Some("https://github.com/acme/shop/pull/5#issuecomment-78")
    );
    let methods: Vec<(String, String)> = requests(&server)
        .await
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    assert_eq!(
        methods,
        vec![
            (
                "GET".into(),
                "/repos/acme/shop/issues/5/comments?per_page=100&page=1".into()
            ),
            (
                "GET".into(),
                "/repos/acme/shop/issues/5/comments?per_page=100&page=2".into()
            ),
            (
                "GET".into(),
                "/repos/acme/shop/issues/5/comments?per_page=100&page=3".into()
            ),
            ("PATCH".into(), "/repos/acme/shop/issues/comments/78".into()),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_push_event_finds_its_pull_request_through_the_commit() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/acme/shop/commits/{SHA}/pulls")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"number": 3, "state": "closed"},
            {"number": 9, "state": "open"}
        ])))
        .mount(&server)
        .await;
    no_comments_yet(&server, 9).await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/shop/issues/9/comments"))
        .respond_with(created(90))
        .expect(1)
        .mount(&server)
        .await;
    let (published, _) = run(
        target(&server, None),
        vec![doc("deployed", Outcome::Success)],
        Duration::from_secs(1),
    )
    .await;
    assert!(published.comment_url.is_some());
}

#[tokio::test(start_paused = true)]
async fn a_fork_token_refused_with_403_gives_one_warning_and_no_more_calls() {
    let server = MockServer::start().await;
    no_comments_yet(&server, 5).await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"message": "Resource not accessible by integration"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let docs = vec![
        doc("starting", Outcome::Pending),
        doc("canary", Outcome::Pending),
        doc("deployed", Outcome::Success),
    ];
    let (published, warnings) = run(target(&server, Some(5)), docs, Duration::from_secs(6)).await;
    assert_eq!(published.comment_url, None);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("403 Resource not accessible by integration")
            && warnings[0].contains("fork")
            && warnings[0].contains("step summary"),
        "{warnings:?}"
    );
    assert_eq!(
        requests(&server).await.len(),
        2,
        "GET, then the one refused POST"
    );
}

#[tokio::test(start_paused = true)]
async fn a_502_is_retried_and_then_succeeds() {
    let server = MockServer::start().await;
    no_comments_yet(&server, 5).await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502).set_body_string("Bad Gateway"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(created(11))
        .mount(&server)
        .await;
    let (published, warnings) = run(
        target(&server, Some(5)),
        vec![doc("deployed", Outcome::Success)],
        Duration::from_secs(1),
    )
    .await;
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(published.comment_url.is_some());
    let posts = requests(&server)
        .await
        .into_iter()
        .filter(|(m, ..)| m == "POST")
        .count();
    assert_eq!(posts, 2);
}

#[tokio::test(start_paused = true)]
async fn a_secondary_rate_limit_is_waited_out_as_retry_after_says() {
    let server = MockServer::start().await;
    no_comments_yet(&server, 5).await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("retry-after", "30")
                .set_body_json(json!({"message": "You have exceeded a secondary rate limit"})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(created(11))
        .mount(&server)
        .await;
    let t0 = tokio::time::Instant::now();
    let (published, warnings) = run(
        target(&server, Some(5)),
        vec![doc("deployed", Outcome::Success)],
        Duration::from_secs(1),
    )
    .await;
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(published.comment_url.is_some());
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_secs(30) && waited < Duration::from_secs(35),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn commit_status_goes_pending_then_final_and_the_deployment_reports_each_stage() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/repos/acme/shop/statuses/{SHA}")))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 1})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/shop/deployments"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 555})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/shop/deployments/555/statuses"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 1})))
        .mount(&server)
        .await;
    let mut t = target(&server, Some(5));
    t.pr_comment = false;
    t.commit_status = true;
    t.environment = Some("production".into());
    t.environment_url = Some("https://shop.example.com".into());
    let mut deploying = doc("canary 10%", Outcome::Pending);
    deploying.deploying = true;
    let client = Client::new(t, None, Box::new(|m| panic!("warned: {m}"))).unwrap();
    let (tx, rx) = tokio::sync::watch::channel(Vec::new());
    let task = tokio::spawn(publish(client, rx));
    tx.send_replace(vec![doc("checking", Outcome::Pending)]);
    until_requests(&server, 3).await;
    tx.send_replace(vec![deploying]);
    until_requests(&server, 4).await;
    tx.send_replace(vec![doc("deployed", Outcome::Success)]);
    drop(tx);
    task.await.unwrap();
    let got = requests(&server).await;
    let statuses: Vec<&Value> = got
        .iter()
        .filter(|(_, p, _)| p.contains("/statuses/0123"))
        .map(|(_, _, b)| b)
        .collect();
    assert_eq!(
        statuses,
        vec![
            &json!({"state": "pending", "context": "greenlight/prod/web",
                    "description": "checking (description)",
                    "target_url": "https://github.com/acme/shop/actions/runs/42"}),
            &json!({"state": "success", "context": "greenlight/prod/web",
                    "description": "deployed (description)",
                    "target_url": "https://github.com/acme/shop/actions/runs/42"}),
        ]
    );
    let created = got
        .iter()
        .find(|(_, p, _)| p == "/repos/acme/shop/deployments")
        .map(|(_, _, b)| b.clone())
        .unwrap();
    assert_eq!(
        created,
        json!({"ref": SHA, "environment": "production", "description": "greenlight: prod/web",
               "auto_merge": false, "required_contexts": [], "payload": {"service": "prod/web"}})
    );
    let states: Vec<(String, String)> = got
        .iter()
        .filter(|(_, p, _)| p == "/repos/acme/shop/deployments/555/statuses")
        .map(|(_, _, b)| {
            assert_eq!(b["environment_url"], "https://shop.example.com");
            assert_eq!(b["log_url"], "https://github.com/acme/shop/actions/runs/42");
            (
                b["state"].as_str().unwrap().to_string(),
                b["description"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        states,
        vec![
            ("queued".into(), "checking (description)".into()),
            ("in_progress".into(), "canary 10% (description)".into()),
            ("success".into(), "deployed (description)".into()),
        ]
    );
}
