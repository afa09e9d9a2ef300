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
