//! Properties of task definition checking and diffing over generated documents: nothing panics
//! on any JSON, whatever is accepted is a usable definition, and the diff is consistent and
//! never prints a secret-looking environment value.

use std::path::Path;
use std::sync::LazyLock;

use greenlight::stages::diff;
use greenlight::stages::shape;
use greenlight::stages::task_def::{self, READ_ONLY_KEYS};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value, json};

const CASES: u32 = 256;

fn config() -> Config {
    Config {
        cases: CASES,
        // Failures are reported with their shrunk input; no regression files are written.
        failure_persistence: None,
        ..Config::default()
    }
}

/// The RegisterTaskDefinition shape greenlight validates against: its member names (at every
/// level) and enum values make generated documents reach deep into the checks.
struct Vocabulary {
    members: Vec<String>,
    enums: Vec<String>,
}

static VOCABULARY: LazyLock<Vocabulary> = LazyLock::new(|| {
    let doc: Value = serde_json::from_str(include_str!(
        "../src/stages/register_task_definition.shape.json"
    ))
    .expect("the shape file is JSON");
    let shapes = doc["shapes"].as_object().expect("shapes");
    let mut members: Vec<String> = shapes
        .values()
        .filter_map(|s| s["members"].as_object())
        .flat_map(|m| m.keys().cloned())
        .collect();
    let mut enums: Vec<String> = shapes
        .values()
        .filter_map(|s| s["enum"].as_array())
        .flatten()
        .filter_map(|e| e.as_str().map(str::to_string))
        .collect();
    members.sort();
    members.dedup();
    enums.sort();
    enums.dedup();
    Vocabulary { members, enums }
});

fn member_name() -> impl Strategy<Value = String> {
    let n = VOCABULARY.members.len();
    prop_oneof![
        6 => (0..n).prop_map(|i| VOCABULARY.members[i].clone()),
        // Typos, other casings and read-only or wrapper keys.
        1 => prop::sample::select(vec![
            "familly", "ContainerDefinitions", "portMapping", "Essential", "taskDefinition",
            "revision", "status", "compatibilities", "taskDefinitionArn", "tags", "",
        ])
        .prop_map(str::to_string),
        1 => "\\PC{0,12}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    let n = VOCABULARY.enums.len();
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-70_000i64..70_000).prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        (0..n).prop_map(|i| Value::String(VOCABULARY.enums[i].clone())),
        prop::sample::select(vec![
            "256",
            "512",
            "1024",
            "2048",
            "1 vCPU",
            "2 GB",
            "0.25 vcpu",
            "NaN vcpu",
            "1e40 GB",
            "-1",
            "web",
            "arn:aws:ssm:us-east-1:123456789012:parameter/x",
            "arn:aws:s3:::b",
            "FARGATE",
            "awsvpc",
            "true",
            "",
        ])
        .prop_map(|s| Value::String(s.to_string())),
        "\\PC{0,16}".prop_map(Value::String),
    ]
}

/// Any JSON, with object keys mostly drawn from the API's member names.
fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 96, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(member_name(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An object whose top level always has some of the members that matter most, each with any
/// value, so generated documents get past the first checks often.
fn json_object() -> impl Strategy<Value = Map<String, Value>> {
    let key = prop::sample::select(vec![
        "family",
        "containerDefinitions",
        "networkMode",
        "requiresCompatibilities",
        "cpu",
        "memory",
        "volumes",
        "tags",
    ]);
    (
        prop::collection::btree_map(key.prop_map(str::to_string), json_value(), 0..6),
        prop::collection::btree_map(member_name(), json_value(), 0..3),
    )
        .prop_map(|(a, b)| b.into_iter().chain(a).collect())
}

fn check(value: Value, src: &str) -> Result<task_def::TaskDef, greenlight::error::Error> {
    task_def::from_value(Path::new("taskdef.json"), src, value)
}

/// What any accepted document must be: something that can be registered and deployed.
fn assert_usable(td: &task_def::TaskDef, input: &Value) {
    assert!(
        !td.family.is_empty(),
        "accepted with an empty family: {input}"
    );
    assert_eq!(
        td.doc.get("family"),
        Some(&Value::String(td.family.clone()))
    );
    assert!(
        !td.container_names().is_empty(),
        "accepted without a named container: {input}"
    );
    for key in READ_ONLY_KEYS {
        assert!(
            !td.doc.contains_key(*key),
            "kept read-only `{key}`: {input}"
        );
    }
    // Checking is idempotent: the cleaned document passes again, unchanged and with no notes.
    let src = serde_json::to_string_pretty(&td.doc).expect("serialise");
    let again = check(Value::Object(td.doc.clone()), &src)
        .unwrap_or_else(|e| panic!("accepted once, refused the second time: {e}\n{input}"));
    assert_eq!(again.doc, td.doc);
    assert!(again.notes.is_empty(), "{:?}", again.notes);
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn from_value_never_panics_on_any_json(value in json_value(), other_src in "\\PC{0,64}") {
        let src = serde_json::to_string_pretty(&value).expect("serialise");
        if let Ok(td) = check(value.clone(), &src) {
            assert_usable(&td, &value);
        }
        // The source text only places line numbers; any text, even unrelated, is fine.
        let _ = check(value, &other_src);
    }

    #[test]
    fn from_value_never_panics_on_objects_with_real_members(doc in json_object()) {
        let value = Value::Object(doc);
        let src = serde_json::to_string_pretty(&value).expect("serialise");
        if let Ok(td) = check(value.clone(), &src) {
            assert_usable(&td, &value);
        }
        // Also as `describe-task-definition` output.
        let wrapped = json!({"taskDefinition": value, "tags": [{"key": "k", "value": "v"}]});
        if let Ok(td) = check(wrapped.clone(), &src) {
            assert_usable(&td, &wrapped);
        }
    }

    #[test]
    fn validate_register_never_panics_and_places_every_problem(value in json_value()) {
        let src = serde_json::to_string_pretty(&value).expect("serialise");
        for p in shape::validate_register(&value, &src) {
            prop_assert!(!p.message.is_empty(), "{p:?}");
            if let Some(line) = p.line {
                prop_assert!(line >= 1 && line <= src.lines().count(), "{p:?}");
            }
        }
    }

    #[test]
    fn diff_never_panics_and_is_consistent(a in json_object(), b in json_object()) {
        let lines = diff::diff(&a, &b);
        let _ = diff::render(&lines);
        prop_assert!(diff::diff(&a, &a).is_empty());
        prop_assert!(diff::same(&a, &a));
        prop_assert_eq!(diff::same(&a, &b), diff::same(&b, &a));
        if diff::same(&a, &b) {
            prop_assert!(lines.is_empty(), "same, yet a diff: {:?}", lines);
        }
        for l in &lines {
            prop_assert!(matches!(l.sign, ' ' | '-' | '+' | '~'), "{:?}", l);
        }
    }

    #[test]
    fn secret_looking_environment_values_never_reach_the_diff(
        name in prop::sample::select(vec![
            "DB_PASSWORD", "db_passwd", "SESSION_SECRET", "GITHUB_TOKEN", "STRIPE_API_KEY",
            "ApiKey", "PRIVATE_KEY_PEM", "AWS_CREDENTIALS",
        ]),
        old_value in prop::option::of("sv[A-Za-z0-9]{12}"),
        new_value in prop::option::of("sv[A-Za-z0-9]{12}"),
        image_changes in any::<bool>(),
    ) {
        let container = |value: &Option<String>, image: &str| {
            let env: Vec<Value> = value
                .iter()
                .map(|v| json!({"name": name, "value": v}))
                .chain([json!({"name": "LOG_LEVEL", "value": "info"})])
                .collect();
            json!({"family": "web", "containerDefinitions": [
                {"name": "web", "image": image, "environment": env}]})
            .as_object()
            .cloned()
            .expect("an object")
        };
        let old = container(&old_value, "repo/web:1");
        let new = container(&new_value, if image_changes { "repo/web:2" } else { "repo/web:1" });
        let text = diff::render(&diff::diff(&old, &new));
        for v in old_value.iter().chain(&new_value) {
            prop_assert!(!text.contains(v.as_str()), "`{}` leaked:\n{}", v, text);
        }
        if old_value != new_value {
            prop_assert!(text.contains(name), "the change is not mentioned:\n{}", text);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Near-valid documents, where acceptance is common enough for the property to mean something.

fn family() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        24 => "[A-Za-z0-9_-]{1,24}".prop_map(|s| Some(Value::String(s))),
        1 => prop::sample::select(vec!["", "web app", "web/1", "wéb"])
            .prop_map(|s| Some(Value::String(s.to_string()))),
        1 => Just(Some(Value::Null)),
        1 => Just(Some(json!(7))),
        1 => Just(None),
    ]
}

fn container() -> impl Strategy<Value = Value> {
    let name = prop_oneof![
        30 => "[a-z][a-z0-9_-]{0,10}".prop_map(|s| Some(Value::String(s))),
        1 => Just(Some(Value::Null)),
        1 => Just(None),
    ];
    let image = prop_oneof![
        30 => "[a-z]{1,8}(:[0-9]{1,3})?".prop_map(|s| Some(Value::String(s))),
        1 => Just(Some(Value::String(String::new()))),
        1 => Just(Some(Value::Null)),
        1 => Just(None),
    ];
    let essential = prop_oneof![
        8 => Just(None),
        8 => any::<bool>().prop_map(|b| Some(Value::Bool(b))),
        1 => Just(Some(Value::Null)),
        1 => Just(Some(json!("true"))),
    ];
    let port = prop_oneof![
        8 => Just(None),
        8 => (1i64..65536).prop_map(|p| Some(json!([{"containerPort": p}]))),
        1 => (0i64..70000, 0i64..70000)
            .prop_map(|(c, h)| Some(json!([{"containerPort": c, "hostPort": h}]))),
    ];
    (name, image, essential, port).prop_map(|(name, image, essential, port)| {
        let mut c = Map::new();
        for (k, v) in [
            ("name", name),
            ("image", image),
            ("essential", essential),
            ("portMappings", port),
        ] {
            if let Some(v) = v {
                c.insert(k.into(), v);
            }
        }
        Value::Object(c)
    })
}

fn near_valid() -> impl Strategy<Value = Value> {
    let containers = prop_oneof![
        24 => prop::collection::vec(container(), 1..4).prop_map(|c| Some(Value::Array(c))),
        1 => Just(Some(json!([]))),
        1 => Just(Some(Value::Null)),
        1 => Just(Some(json!({}))),
        1 => Just(None),
    ];
    let launch = prop_oneof![
        4 => Just(json!({})),
        2 => prop::sample::select(vec![("256", "512"), ("1024", "2048"), ("512", "512"), ("1 vCPU", "2 GB")])
            .prop_map(|(cpu, memory)| json!({"requiresCompatibilities": ["FARGATE"],
                "networkMode": "awsvpc", "cpu": cpu, "memory": memory})),
        1 => Just(json!({"requiresCompatibilities": ["EC2"], "networkMode": "bridge"})),
    ];
    let extra = prop_oneof![
        12 => Just(None),
        2 => Just(Some(("revision", json!(3)))),
        1 => Just(Some(("familly", json!("x")))),
    ];
    (family(), containers, launch, extra, any::<bool>()).prop_map(
        |(family, containers, launch, extra, wrap)| {
            let mut doc = launch.as_object().cloned().unwrap_or_default();
            if let Some(f) = family {
                doc.insert("family".into(), f);
            }
            if let Some(c) = containers {
                doc.insert("containerDefinitions".into(), c);
            }
            if let Some((k, v)) = extra {
                doc.insert(k.into(), v);
            }
            if wrap {
                json!({"taskDefinition": doc})
            } else {
                Value::Object(doc)
            }
        },
    )
}

#[test]
fn whatever_from_value_accepts_has_a_family_and_a_named_container() {
    let mut runner = TestRunner::new(config());
    let (accepted, refused) = (
        std::sync::atomic::AtomicU32::new(0),
        std::sync::atomic::AtomicU32::new(0),
    );
    let result = runner.run(&near_valid(), |value| {
        let src = serde_json::to_string_pretty(&value).expect("serialise");
        match check(value.clone(), &src) {
            Ok(td) => {
                accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let family_ok = !td.family.is_empty();
                let containers_ok = !td.container_names().is_empty();
                prop_assert!(
                    family_ok && containers_ok,
                    "accepted with family {:?} and containers {:?}: {}",
                    td.family,
                    td.container_names(),
                    value
                );
                assert_usable(&td, &value);
            }
            Err(e) => {
                refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                prop_assert_eq!(e.exit_code(), 2, "{}", e);
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // The generator must exercise both sides, or the property says nothing.
    let (accepted, refused) = (accepted.into_inner(), refused.into_inner());
    assert!(
        accepted >= CASES / 10 && refused >= CASES / 10,
        "accepted {accepted}, refused {refused}"
    );
}

/// The shrunk counterexamples of the property above, kept as plain cases: JSON null for a
/// required member is "not given", so it must be reported as missing.
#[test]
fn null_for_a_required_member_is_refused() {
    let mut accepted = Vec::new();
    for doc in [
        json!({"family": null, "containerDefinitions": [{"name": "web", "image": "nginx"}]}),
        json!({"family": "web", "containerDefinitions": null}),
        json!({"taskDefinition": {"family": "web", "containerDefinitions": null}}),
    ] {
        let src = serde_json::to_string_pretty(&doc).expect("serialise");
        match check(doc.clone(), &src) {
            Ok(td) => accepted.push(format!(
                "family {:?}, containers {:?}: {doc}",
                td.family,
                td.container_names()
            )),
            Err(e) => assert_eq!(e.exit_code(), 2, "{e}"),
        }
    }
    assert!(accepted.is_empty(), "accepted:\n{}", accepted.join("\n"));
}
