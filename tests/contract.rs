//! action.yml, the config parser and README.md describe one contract; these tests keep them
//! from drifting apart. Run with GREENLIGHT_BLESS=1 to rewrite README's generated tables.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Deserialize)]
struct Action {
    inputs: BTreeMap<String, Input>,
    outputs: BTreeMap<String, Output>,
    runs: Runs,
}

#[derive(Deserialize)]
struct Input {
    description: String,
    default: Option<String>,
}

#[derive(Deserialize)]
struct Output {
    description: String,
}

#[derive(Deserialize)]
struct Runs {
    using: String,
    image: String,
}

fn action() -> Action {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/action.yml")).unwrap();
    serde_norway::from_str(&text).unwrap()
}

#[test]
fn action_inputs_are_exactly_the_ones_the_binary_reads() {
    let action = action();
    let declared: BTreeMap<&str, Option<&str>> = action
        .inputs
        .iter()
        .map(|(k, v)| (k.as_str(), v.default.as_deref()))
        .collect();
    let known: BTreeMap<&str, Option<&str>> = greenlight::config::INPUTS
        .iter()
        .map(|i| (i.name, i.default))
        .collect();
    assert_eq!(declared, known);
    assert_eq!(
        (action.runs.using.as_str(), action.runs.image.as_str()),
        ("docker", "Dockerfile")
    );
}

#[test]
fn action_outputs_are_exactly_the_ones_the_binary_sets() {
    let action = action();
    let declared: Vec<&str> = action.outputs.keys().map(String::as_str).collect();
    let mut set: Vec<&str> = greenlight::outputs::OUTPUT_NAMES.to_vec();
    set.sort_unstable();
    assert_eq!(declared, set);
}

fn cell(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn tables(action: &Action) -> (String, String) {
    let mut inputs = String::from("| input | default | description |\n|---|---|---|\n");
    for (name, i) in &action.inputs {
        let default = i
            .default
            .as_deref()
            .map(|d| format!("`{d}`"))
            .unwrap_or_default();
        inputs.push_str(&format!(
            "| `{name}` | {default} | {} |\n",
            cell(&i.description)
        ));
    }
    let mut outputs = String::from("| output | description |\n|---|---|\n");
    for (name, o) in &action.outputs {
        outputs.push_str(&format!("| `{name}` | {} |\n", cell(&o.description)));
    }
    (inputs, outputs)
}

fn replace_between(doc: &str, start: &str, end: &str, body: &str) -> Option<String> {
    let a = doc.find(start)? + start.len();
    let b = doc[a..].find(end)? + a;
    Some(format!("{}\n{}{}", &doc[..a], body, &doc[b..]))
}

#[test]
fn readme_tables_match_action_yml() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let (inputs, outputs) = tables(&action());
    let expected = replace_between(
        &readme,
        "<!-- inputs:start -->",
        "<!-- inputs:end -->",
        &inputs,
    )
    .and_then(|r| {
        replace_between(
            &r,
            "<!-- outputs:start -->",
            "<!-- outputs:end -->",
            &outputs,
        )
    })
    .expect("README.md has the inputs/outputs markers");
    if std::env::var_os("GREENLIGHT_BLESS").is_some() {
        std::fs::write(path, &expected).unwrap();
        return;
    }
    assert!(
        readme == expected,
        "README.md's inputs/outputs tables differ from action.yml; run `GREENLIGHT_BLESS=1 cargo test --test contract` to regenerate them"
    );
}

/// What the AWS deploy action accepts, from its own action.yml (vendored with its version).
fn aws_action_names(kind: &str) -> Vec<String> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/peers/amazon-ecs-deploy-task-definition-v2.6.3.txt"
    ))
    .unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .filter(|(k, _)| *k == kind)
        .map(|(_, name)| name.to_string())
        .collect()
}

/// The AWS deploy action's inputs and outputs greenlight does not take yet. A workflow using
/// one still fails (exit 2, naming it); the list may only shrink, and an input that lands here
/// must leave it.
const NOT_YET: &[&str] = &[];

#[test]
fn every_input_and_output_of_the_aws_deploy_action_is_ours_or_named_as_not_yet() {
    let action = action();
    // GitHub matches input names without regard to case (`INPUT_` variables are upper case).
    let ours_in: Vec<String> = action.inputs.keys().map(|k| k.to_lowercase()).collect();
    let ours_out: Vec<&str> = action.outputs.keys().map(String::as_str).collect();
    let theirs_in = aws_action_names("input");
    let theirs_out = aws_action_names("output");
    assert_eq!(
        theirs_in.len(),
        31,
        "the vendored list is the whole of v2.6.3"
    );
    let mut missing: Vec<&str> = theirs_in
        .iter()
        .filter(|name| !ours_in.contains(&name.to_lowercase()))
        .chain(
            theirs_out
                .iter()
                .filter(|name| !ours_out.contains(&name.as_str())),
        )
        .map(String::as_str)
        .collect();
    missing.sort_unstable();
    let mut expected = NOT_YET.to_vec();
    expected.sort_unstable();
    assert_eq!(
        missing, expected,
        "the AWS action's names greenlight lacks differ from NOT_YET: add the input, or take it off the list once it lands"
    );
}

#[test]
fn the_readme_migration_table_lists_every_input_and_output_of_the_aws_deploy_action() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("## Migrating from aws-actions/amazon-ecs-deploy-task-definition")
        .expect("README.md has the migration section");
    let section = &readme[start..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    let rows: Vec<&str> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| "))
        .filter_map(|l| l.split(" | ").next())
        .collect();
    let expected: Vec<String> = aws_action_names("input")
        .into_iter()
        .map(|n| format!("`{n}`"))
        .chain(
            aws_action_names("output")
                .into_iter()
                .map(|n| format!("output `{n}`")),
        )
        .collect();
    let listed: Vec<&str> = rows
        .iter()
        .copied()
        .filter(|r| r.starts_with('`') || r.starts_with("output `"))
        .collect();
    assert_eq!(
        listed, expected,
        "the migration table must list the AWS action's inputs and outputs, in its action.yml order"
    );
}
