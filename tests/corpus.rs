//! A corpus of realistic task definitions (sidecars, EFS, FireLens, secrets, EC2 bridge,
//! Graviton Fargate): each passes greenlight's checks, registers in the emulator and reads back
//! as the same revision; one deliberate mistake per rule class is refused before any AWS call;
//! and realistic edits diff readably, with secret-looking values hidden.

mod common;

use std::path::{Path, PathBuf};

use greenlight::error::Error;
use greenlight::stages::diff;
use greenlight::stages::task_def::{self, TaskDef};
use serde_json::{Map, Value, json};

use common::{Emulator, fixture};

/// Every file in the corpus, with the feature each one is there to exercise (checked below, so
/// an edit cannot quietly drop it).
const CORPUS: &[(&str, &[&str])] = &[
    (
        "sidecar.json",
        &[
            "/containerDefinitions/0/dependsOn",
            "/containerDefinitions/1/healthCheck",
        ],
    ),
    (
        "efs.json",
        &[
            "/volumes/0/efsVolumeConfiguration/transitEncryption",
            "/volumes/0/efsVolumeConfiguration/authorizationConfig/accessPointId",
            "/containerDefinitions/0/mountPoints",
        ],
    ),
    (
        "firelens.json",
        &[
            "/containerDefinitions/0/firelensConfiguration/type",
            "/containerDefinitions/1/logConfiguration/options/Name",
        ],
    ),
    (
        "secrets.json",
        &[
            "/containerDefinitions/0/secrets/0/valueFrom",
            "/containerDefinitions/0/secrets/3/valueFrom",
            "/containerDefinitions/0/environment/2/value",
        ],
    ),
    (
        "ec2-bridge.json",
        &[
            "/containerDefinitions/0/portMappings/0/hostPort",
            "/containerDefinitions/0/links",
            "/containerDefinitions/1/memoryReservation",
            "/containerDefinitions/1/ulimits",
        ],
    ),
    (
        "fargate-arm64.json",
        &[
            "/runtimePlatform/cpuArchitecture",
            "/ephemeralStorage/sizeInGiB",
        ],
    ),
];

fn corpus_path(name: &str) -> PathBuf {
    fixture("corpus").join(name)
}

fn read(name: &str) -> (PathBuf, String, Value) {
    let path = corpus_path(name);
    let src = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    let value = serde_json::from_str(&src).unwrap_or_else(|e| panic!("{name}: {e}"));
    (path, src, value)
}

fn load(name: &str) -> TaskDef {
    let (path, src, value) = read(name);
    task_def::from_value(&path, &src, value)
        .unwrap_or_else(|e| panic!("{name} does not pass greenlight's checks: {e}"))
}

fn problems_of(path: &Path, src: &str, value: Value) -> Vec<String> {
    match task_def::from_value(path, src, value) {
        Ok(_) => Vec::new(),
        Err(Error::FileProblems { problems, .. }) => {
            problems.iter().map(ToString::to_string).collect()
        }
        Err(other) => vec![other.to_string()],
    }
}

#[test]
fn the_corpus_is_complete_and_every_file_passes_validation() {
    let on_disk: Vec<String> = std::fs::read_dir(fixture("corpus"))
        .expect("corpus folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    let mut listed: Vec<&str> = CORPUS.iter().map(|(n, _)| *n).collect();
    let mut found: Vec<&str> = on_disk.iter().map(String::as_str).collect();
    listed.sort_unstable();
    found.sort_unstable();
    assert_eq!(found, listed, "every corpus file is listed in CORPUS");

    for (name, features) in CORPUS {
        let (_, _, value) = read(name);
        for pointer in *features {
            let v = value.pointer(pointer);
            assert!(
                v.is_some_and(|v| !v.is_null()),
                "{name} lost the feature it is there for: {pointer}"
            );
        }
        let td = load(name);
        assert_eq!(Some(td.family.as_str()), value["family"].as_str());
        assert!(td.notes.is_empty(), "{name}: {:?}", td.notes);
        assert_eq!(
            &Value::Object(td.doc.clone()),
            &value,
            "{name}: a clean file is kept as written"
        );
    }
}

#[test]
fn the_corpus_exercises_what_it_claims() {
    let secrets = load("secrets.json");
    let worker = &secrets.doc["containerDefinitions"][0];
    let from: Vec<&str> = worker["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["valueFrom"].as_str())
        .collect();
    assert!(from.iter().any(|f| f.starts_with("arn:aws:ssm:")));
    assert!(
        from.iter()
            .any(|f| f.starts_with("arn:aws:secretsmanager:"))
    );
    assert!(
        from.iter().any(|f| f.ends_with(":password::")),
        "a Secrets Manager JSON key suffix: {from:?}"
    );
    assert!(
        worker["environment"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["value"] == ""),
        "an empty environment value"
    );

    let bridge = load("ec2-bridge.json");
    assert_eq!(bridge.doc["networkMode"], "bridge");
    assert_eq!(bridge.doc["requiresCompatibilities"], json!(["EC2"]));
    assert_eq!(
        bridge.doc["containerDefinitions"][0]["portMappings"][0]["hostPort"],
        0
    );

    let arm = load("fargate-arm64.json");
    assert_eq!(task_def::cpu_architecture(&arm), Some("ARM64"));
    assert_eq!(arm.doc["runtimePlatform"]["operatingSystemFamily"], "LINUX");
    assert_eq!(
        (arm.doc["cpu"].as_str(), arm.doc["memory"].as_str()),
        (Some("1024"), Some("2048"))
    );

    let firelens = load("firelens.json");
    assert_eq!(
        firelens.doc["containerDefinitions"][1]["logConfiguration"]["logDriver"],
        "awsfirelens"
    );

    let sidecar = load("sidecar.json");
    assert_eq!(
        sidecar.container_names(),
        vec!["app", "envoy", "xray-daemon"]
    );
    assert_eq!(sidecar.container_ports("app"), vec![8080]);
}

fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ecs::config::SharedCredentialsProvider::new(
            aws_sdk_ecs::config::Credentials::new("testing", "testing", None, None, "tests"),
        ))
        .endpoint_url(endpoint)
        .build()
}

/// Fields that differ between `a` and `b`, as JSON pointers, for failure messages that say
/// which field the emulator dropped or changed.
fn differing_pointers(a: &Value, b: &Value, at: String, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let (l, r) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                differing_pointers(l, r, format!("{at}/{k}"), out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (l, r)) in x.iter().zip(y).enumerate() {
                differing_pointers(l, r, format!("{at}/{i}"), out);
            }
        }
        (l, r) if l != r => out.push(format!("{at}: file {r} / live {l}")),
        _ => {}
    }
}

#[test]
fn every_corpus_file_registers_and_describes_back_as_the_same_revision() {
    let emu = Emulator::start(1.0);
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let clients = greenlight::aws::Clients::from_sdk_config(sdk_config(&emu.endpoint));
    let mut failures = Vec::new();
    for (name, _) in CORPUS {
        let td = load(name);
        emu.clear_calls();
        let arn = rt
            .block_on(task_def::register(&clients, &td))
            .unwrap_or_else(|e| panic!("{name}: register: {e}"));
        assert!(
            arn.ends_with(&format!(":task-definition/{}:1", td.family)),
            "{name}: {arn}"
        );
        assert_eq!(
            emu.write_calls(),
            vec!["ecs:RegisterTaskDefinition".to_string()],
            "{name}"
        );
        let (live_arn, live) = rt
            .block_on(task_def::describe_live(&clients, &arn))
            .unwrap_or_else(|e| panic!("{name}: describe: {e}"));
        assert_eq!(live_arn, arn);
        assert_eq!(live.get("family"), td.doc.get("family"), "{name}");

        let lines = diff::diff(&live, &td.doc);
        if !diff::same(&live, &td.doc) || !lines.is_empty() {
            let mut fields = Vec::new();
            differing_pointers(
                &Value::Object(live.clone()),
                &Value::Object(td.doc.clone()),
                String::new(),
                &mut fields,
            );
            failures.push(format!(
                "{name}: the registered revision reads back different\n{}raw differences:\n  {}",
                diff::render(&lines),
                fields.join("\n  ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// One deliberate mistake, applied to a valid corpus file.
struct Mistake {
    class: &'static str,
    file: &'static str,
    pointer: &'static str,
    value: Option<Value>,
    /// Renames the key at `pointer` instead of setting it.
    rename_to: Option<&'static str>,
    expect: &'static str,
}

fn mistakes() -> Vec<Mistake> {
    vec![
        Mistake {
            class: "unknown nested key",
            file: "sidecar.json",
            pointer: "/containerDefinitions/1/healthCheck/startPeriod",
            value: None,
            rename_to: Some("startPeriods"),
            expect: "`containerDefinitions[1].healthCheck.startPeriods`: unknown key; did you mean `startPeriod`?",
        },
        Mistake {
            class: "wrong type",
            file: "efs.json",
            pointer: "/volumes/0/efsVolumeConfiguration/transitEncryptionPort",
            value: Some(json!("2049")),
            rename_to: None,
            expect: "`volumes[0].efsVolumeConfiguration.transitEncryptionPort`: must be a whole number (without quotes), not the string \"2049\"",
        },
        Mistake {
            class: "bad enum",
            file: "fargate-arm64.json",
            pointer: "/runtimePlatform/cpuArchitecture",
            value: Some(json!("arm64")),
            rename_to: None,
            expect: "`runtimePlatform.cpuArchitecture`: `arm64` is not one of X86_64, ARM64; did you mean `ARM64`? (values are case-sensitive)",
        },
        Mistake {
            class: "FARGATE cpu/memory mismatch",
            file: "fargate-arm64.json",
            pointer: "/memory",
            value: Some(json!("512")),
            rename_to: None,
            expect: "`cpu`: FARGATE does not offer cpu 1024 with memory 512 MiB",
        },
    ]
}

fn apply(m: &Mistake) -> Value {
    let (_, _, mut doc) = read(m.file);
    let (parent, key) = m.pointer.rsplit_once('/').expect("a pointer with a key");
    let obj = doc
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("{}: no object at {parent}", m.file));
    assert!(
        obj.contains_key(key),
        "{}: {} is not in the file",
        m.file,
        m.pointer
    );
    match (m.rename_to, &m.value) {
        (Some(new_key), _) => {
            let v = obj.remove(key).expect("checked above");
            obj.insert(new_key.to_string(), v);
        }
        (None, Some(v)) => {
            obj.insert(key.to_string(), v.clone());
        }
        (None, None) => panic!("a mistake changes something"),
    }
    doc
}

#[test]
fn one_mistake_per_rule_class_exits_2_naming_it_with_no_aws_write() {
    let emu = Emulator::start(1.0);
    emu.seed(&[
        "--cluster",
        "demo",
        "--service",
        "web",
        "--family",
        "web",
        "--repository",
        "web",
    ]);
    let initial_td = emu.service_task_definition("demo", "web");
    let dir = tempfile::tempdir().expect("tempdir");
    for m in mistakes() {
        let doc = apply(&m);
        let src = serde_json::to_string_pretty(&doc).expect("serialise");
        let path = dir.path().join(m.file);
        std::fs::write(&path, &src).expect("write the broken file");

        // Exactly the one mistake: greenlight finds it and nothing else.
        let found = problems_of(&path, &src, doc);
        assert_eq!(found.len(), 1, "{}: {found:#?}", m.class);
        assert!(
            found[0].contains(m.expect),
            "{}: expected {:?}, got {:?}",
            m.class,
            m.expect,
            found[0]
        );

        emu.clear_calls();
        let out = emu
            .greenlight(&dir.path().join("outputs"))
            .args(["deploy", "--cluster", "demo", "--service", "web"])
            .arg("--task-definition")
            .arg(&path)
            .output()
            .expect("run greenlight");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", m.class);
        assert!(stderr.contains(m.file), "{}: {stderr}", m.class);
        assert!(stderr.contains(m.expect), "{}: {stderr}", m.class);
        assert!(
            emu.write_calls().is_empty(),
            "{}: writes {:?}",
            m.class,
            emu.write_calls()
        );
        assert!(
            emu.calls().is_empty(),
            "{}: a bad file needs no AWS call: {:?}",
            m.class,
            emu.calls()
        );
    }
    assert_eq!(emu.service_task_definition("demo", "web"), initial_td);
}

// ---------------------------------------------------------------------------------------------
// Diffs between realistic revisions of the same definition.

fn doc(name: &str) -> Map<String, Value> {
    load(name).doc
}

fn container<'a>(doc: &'a mut Map<String, Value>, name: &str) -> &'a mut Map<String, Value> {
    doc["containerDefinitions"]
        .as_array_mut()
        .and_then(|cs| cs.iter_mut().find(|c| c["name"] == name))
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("no container {name}"))
}

fn set_named(c: &mut Map<String, Value>, list: &str, name: &str, key: &str, value: &str) {
    let entry = c[list]
        .as_array_mut()
        .and_then(|l| l.iter_mut().find(|e| e["name"] == name))
        .unwrap_or_else(|| panic!("no {list} entry {name}"));
    entry[key] = json!(value);
}

/// Environment values under secret-looking names, from both sides: none may be printed.
fn secret_looking_values(docs: &[&Map<String, Value>]) -> Vec<String> {
    const WORDS: &[&str] = &["PASSWORD", "SECRET", "TOKEN", "API_KEY", "CREDENTIAL"];
    docs.iter()
        .flat_map(|d| {
            d["containerDefinitions"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .flat_map(|c| c["environment"].as_array().cloned().unwrap_or_default())
        .filter(|e| {
            let n = e["name"].as_str().unwrap_or("").to_ascii_uppercase();
            WORDS.iter().any(|w| n.contains(w))
        })
        .filter_map(|e| e["value"].as_str().map(str::to_string))
        .filter(|v| !v.is_empty())
        .collect()
}

fn rendered(old: &Map<String, Value>, new: &Map<String, Value>) -> String {
    // The edited revision must itself be valid, or the snapshot shows a plan greenlight would
    // never get to.
    let src = serde_json::to_string_pretty(new).expect("serialise");
    assert_eq!(
        problems_of(Path::new("edited.json"), &src, Value::Object(new.clone())),
        Vec::<String>::new()
    );
    let text = diff::render(&diff::diff(old, new));
    assert!(!text.is_empty(), "the edit shows up in the diff");
    assert!(!diff::same(old, new));
    let leaked = secret_looking_values(&[old, new]);
    assert!(!leaked.is_empty(), "the pair carries secret-looking values");
    for v in leaked {
        assert!(!text.contains(&v), "`{v}` leaked into the diff:\n{text}");
    }
    text
}

#[test]
fn diff_new_image() {
    let old = doc("sidecar.json");
    let mut new = old.clone();
    container(&mut new, "app")["image"] =
        json!("123456789012.dkr.ecr.us-east-1.amazonaws.com/orders-api:20260305160000-9e8d7c6");
    insta::assert_snapshot!(rendered(&old, &new));
}

#[test]
fn diff_changed_environment_hides_secret_looking_values() {
    let old = doc("sidecar.json");
    let mut new = old.clone();
    let app = container(&mut new, "app");
    set_named(app, "environment", "LOG_LEVEL", "value", "debug");
    set_named(
        app,
        "environment",
        "DB_PASSWORD",
        "value",
        "rotated-but-still-plain",
    );
    app["environment"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "FEATURE_CHECKOUT_V2", "value": "true"}));
    insta::assert_snapshot!(rendered(&old, &new));
}

#[test]
fn diff_changed_secret_reference() {
    let old = doc("sidecar.json");
    let mut new = old.clone();
    set_named(
        container(&mut new, "app"),
        "secrets",
        "STRIPE_API_KEY",
        "valueFrom",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:orders/stripe-v2-Xy34Zw",
    );
    insta::assert_snapshot!(rendered(&old, &new));
}

#[test]
fn diff_removed_sidecar() {
    let old = doc("sidecar.json");
    let mut new = old.clone();
    new["containerDefinitions"]
        .as_array_mut()
        .unwrap()
        .retain(|c| c["name"] != "xray-daemon");
    let app = container(&mut new, "app");
    app["dependsOn"]
        .as_array_mut()
        .unwrap()
        .retain(|d| d["containerName"] != "xray-daemon");
    app["environment"]
        .as_array_mut()
        .unwrap()
        .retain(|e| e["name"] != "AWS_XRAY_DAEMON_ADDRESS");
    insta::assert_snapshot!(rendered(&old, &new));
}

#[test]
fn diff_secrets_file_rotation() {
    let old = doc("secrets.json");
    let mut new = old.clone();
    new["memory"] = json!("4096");
    let worker = container(&mut new, "worker");
    set_named(
        worker,
        "environment",
        "SESSION_SECRET",
        "value",
        "next-session-secret-value",
    );
    set_named(worker, "environment", "SIDEKIQ_CONCURRENCY", "value", "20");
    set_named(
        worker,
        "secrets",
        "DB_PASSWORD",
        "valueFrom",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:billing/prod/rds-Zx9Yw8:password:AWSPREVIOUS:",
    );
    worker["secrets"]
        .as_array_mut()
        .unwrap()
        .retain(|s| s["name"] != "REDIS_URL");
    insta::assert_snapshot!(rendered(&old, &new));
}
