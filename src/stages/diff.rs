//! A readable, stable, semantic diff of two task definitions: containers matched by name,
//! environment variables and secrets by name, secret values never shown (a secret's `valueFrom`
//! is a reference, so it is), and environment values that look like credentials hidden.

use serde_json::{Map, Value};

use crate::redact;

/// One line of the diff: ' ' context, '-' removed, '+' added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub sign: char,
    pub text: String,
}

/// Fields ECS fills in with defaults on registration; dropped on both sides so that a file and
/// what DescribeTaskDefinition returns for it compare equal.
fn normalize(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let v = normalize(v);
                let empty = matches!(&v, Value::Null)
                    || v.as_array().is_some_and(Vec::is_empty)
                    || v.as_object().is_some_and(Map::is_empty);
                if !empty {
                    out.insert(k.clone(), v);
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        other => other.clone(),
    }
}

fn normalize_container(c: &Value) -> Map<String, Value> {
    let mut m = normalize(c).as_object().cloned().unwrap_or_default();
    if m.get("cpu") == Some(&Value::from(0)) {
        m.remove("cpu");
    }
    if m.get("essential") == Some(&Value::Bool(true)) {
        m.remove("essential");
    }
    if let Some(pms) = m.get_mut("portMappings").and_then(Value::as_array_mut) {
        for pm in pms.iter_mut().filter_map(Value::as_object_mut) {
            if pm.get("hostPort") == pm.get("containerPort") {
                pm.remove("hostPort");
            }
            if pm.get("protocol").and_then(Value::as_str) == Some("tcp") {
                pm.remove("protocol");
            }
        }
    }
    m
}

fn containers(td: &Map<String, Value>) -> Vec<(String, Map<String, Value>)> {
    td.get("containerDefinitions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            let name = c
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string();
            (name, normalize_container(c))
        })
        .collect()
}

fn top_level(td: &Map<String, Value>) -> Map<String, Value> {
    let mut m = normalize(&Value::Object(td.clone()))
        .as_object()
        .cloned()
        .unwrap_or_default();
    m.remove("containerDefinitions");
    m
}

/// True when registering `new` would create a revision identical to `live`.
pub fn same(live: &Map<String, Value>, new: &Map<String, Value>) -> bool {
    top_level(live) == top_level(new) && containers(live) == containers(new)
}

/// A field's value as the diff shows it: secrets under secret-sounding keys (log driver
/// options such as `splunk-token`) and inside strings (a URL's password) redacted.
fn show(v: &Value) -> String {
    match redact::redact_json(v) {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// Name → value pairs of a container's `environment` or `secrets` list.
fn named(c: &Map<String, Value>, key: &str, value_key: &str) -> Vec<(String, String)> {
    c.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            Some((
                e.get("name")?.as_str()?.to_string(),
                e.get(value_key).map(show).unwrap_or_default(),
            ))
        })
        .collect()
}

fn diff_pairs(
    out: &mut Vec<Line>,
    label: &str,
    old: &[(String, String)],
    new: &[(String, String)],
    secret: bool,
) {
    let mut names: Vec<&String> = old.iter().chain(new).map(|(n, _)| n).collect();
    names.sort();
    names.dedup();
    for name in names {
        let a = old.iter().find(|(n, _)| n == name).map(|(_, v)| v);
        let b = new.iter().find(|(n, _)| n == name).map(|(_, v)| v);
        // A secret-named value is hidden whole; any other shows with the secrets in it (a
        // URL's password) redacted, so a change that only touches those reads as hidden.
        let hide = !secret
            && a.into_iter()
                .chain(b)
                .any(|v| redact::is_secret_pair(name, v));
        let shown = |v: &String| {
            if hide {
                redact::MASK.to_string()
            } else if secret {
                v.clone()
            } else {
                redact::redact(v)
            }
        };
        let fmt = |v: &String| {
            if secret {
                format!("  {label} {name} = (from {})", shown(v))
            } else {
                format!("  {label} {name} = {}", shown(v))
            }
        };
        match (a, b) {
            (Some(x), Some(y)) if x == y => {}
            (Some(x), Some(y)) if shown(x) == shown(y) => {
                out.push(Line {
                    sign: '~',
                    text: format!("  {label} {name} changed (value hidden)"),
                });
            }
            (Some(x), Some(y)) => {
                out.push(Line {
                    sign: '-',
                    text: fmt(x),
                });
                out.push(Line {
                    sign: '+',
                    text: fmt(y),
                });
            }
            (Some(x), None) => out.push(Line {
                sign: '-',
                text: fmt(x),
            }),
            (None, Some(y)) => out.push(Line {
                sign: '+',
                text: fmt(y),
            }),
            (None, None) => {}
        }
    }
}

fn diff_fields(
    out: &mut Vec<Line>,
    indent: &str,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    skip: &[&str],
) {
    let mut keys: Vec<&String> = old
        .keys()
        .chain(new.keys())
        .filter(|k| !skip.contains(&k.as_str()))
        .collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        match (old.get(k), new.get(k)) {
            (Some(a), Some(b)) if a == b => {}
            (Some(a), Some(b)) if show(a) == show(b) => out.push(Line {
                sign: '~',
                text: format!("{indent}{k} changed (value hidden)"),
            }),
            (a, b) => {
                if let Some(a) = a {
                    out.push(Line {
                        sign: '-',
                        text: format!("{indent}{k}: {}", show(a)),
                    });
                }
                if let Some(b) = b {
                    out.push(Line {
                        sign: '+',
                        text: format!("{indent}{k}: {}", show(b)),
                    });
                }
            }
        }
    }
}

/// The diff from `live` to `new`. Empty when they are the same revision in substance.
pub fn diff(live: &Map<String, Value>, new: &Map<String, Value>) -> Vec<Line> {
    let mut out = Vec::new();
    diff_fields(&mut out, "", &top_level(live), &top_level(new), &[]);
    let old_c = containers(live);
    let new_c = containers(new);
    let mut names: Vec<&String> = old_c.iter().chain(&new_c).map(|(n, _)| n).collect();
    names.dedup();
    let mut seen = Vec::new();
    for name in names {
        if seen.contains(&name) {
            continue;
        }
        seen.push(name);
        let a = old_c.iter().find(|(n, _)| n == name).map(|(_, c)| c);
        let b = new_c.iter().find(|(n, _)| n == name).map(|(_, c)| c);
        match (a, b) {
            (Some(a), Some(b)) => {
                let mut body = Vec::new();
                diff_fields(&mut body, "  ", a, b, &["environment", "secrets", "name"]);
                diff_pairs(
                    &mut body,
                    "env",
                    &named(a, "environment", "value"),
                    &named(b, "environment", "value"),
                    false,
                );
                diff_pairs(
                    &mut body,
                    "secret",
                    &named(a, "secrets", "valueFrom"),
                    &named(b, "secrets", "valueFrom"),
                    true,
                );
                if !body.is_empty() {
                    out.push(Line {
                        sign: ' ',
                        text: format!("container {name}"),
                    });
                    out.extend(body);
                }
            }
            (None, Some(_)) => out.push(Line {
                sign: '+',
                text: format!("container {name} (new)"),
            }),
            (Some(_), None) => out.push(Line {
                sign: '-',
                text: format!("container {name} (removed)"),
            }),
            (None, None) => {}
        }
    }
    out
}

/// As a ```diff block body; `~` lines (changed, value hidden) render as context.
pub fn render(lines: &[Line]) -> String {
    lines
        .iter()
        .map(|l| {
            let sign = if l.sign == '~' { ' ' } else { l.sign };
            format!("{sign}{}\n", l.text)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn live() -> Map<String, Value> {
        obj(
            json!({"family": "web", "cpu": "256", "memory": "512", "networkMode": "awsvpc",
            "volumes": [], "placementConstraints": [],
            "containerDefinitions": [{"name": "web", "image": "repo/web@sha256:81aa", "cpu": 0, "essential": true,
                "portMappings": [{"containerPort": 80, "hostPort": 80, "protocol": "tcp"}],
                "environment": [{"name": "APP_VERSION", "value": "1.41.0"}, {"name": "DB_PASSWORD", "value": "hunter2"}],
                "secrets": [{"name": "API_TOKEN", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/web/token"}],
                "mountPoints": [], "volumesFrom": []}]}),
        )
    }

    #[test]
    fn registration_defaults_do_not_count_as_changes() {
        let file = obj(
            json!({"family": "web", "cpu": "256", "memory": "512", "networkMode": "awsvpc",
            "containerDefinitions": [{"name": "web", "image": "repo/web@sha256:81aa",
                "portMappings": [{"containerPort": 80}],
                "environment": [{"name": "APP_VERSION", "value": "1.41.0"}, {"name": "DB_PASSWORD", "value": "hunter2"}],
                "secrets": [{"name": "API_TOKEN", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/web/token"}]}]}),
        );
        assert!(same(&live(), &file));
        assert!(diff(&live(), &file).is_empty());
    }

    #[test]
    fn changes_read_like_a_review() {
        let mut new = live();
        let c = &mut new["containerDefinitions"][0];
        c["image"] = json!("repo/web@sha256:3f1e");
        c["environment"] = json!([{"name": "APP_VERSION", "value": "1.42.0"}, {"name": "DB_PASSWORD", "value": "correct horse"}, {"name": "NEW", "value": ""}]);
        c["secrets"] = json!([{"name": "API_TOKEN", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/web/token2"}]);
        new["memory"] = json!("1024");
        let text = render(&diff(&live(), &new));
        assert_eq!(
            text,
            "-memory: 512\n+memory: 1024\n container web\n-  image: repo/web@sha256:81aa\n+  image: repo/web@sha256:3f1e\n\
             -  env APP_VERSION = 1.41.0\n+  env APP_VERSION = 1.42.0\n   env DB_PASSWORD changed (value hidden)\n+  env NEW = \n\
             -  secret API_TOKEN = (from arn:aws:ssm:us-east-1:123456789012:parameter/web/token)\n\
             +  secret API_TOKEN = (from arn:aws:ssm:us-east-1:123456789012:parameter/web/token2)\n"
        );
        assert!(!text.contains("hunter2") && !text.contains("correct horse"));
        assert!(!same(&live(), &new));
    }

    #[test]
    fn added_and_removed_containers() {
        let mut new = live();
        new["containerDefinitions"] = json!([{"name": "sidecar", "image": "envoy"}]);
        assert_eq!(
            render(&diff(&live(), &new)),
            "-container web (removed)\n+container sidecar (new)\n"
        );
    }

    #[test]
    fn credentials_are_hidden_by_name_or_by_value() {
        let mut old = live();
        old["containerDefinitions"][0]["logConfiguration"] = json!({"logDriver": "splunk", "options": {"splunk-token": "tok-1", "splunk-url": "https://splunk"}});
        let mut new = old.clone();
        let c = &mut new["containerDefinitions"][0];
        c["environment"] = json!([{"name": "APP_VERSION", "value": "1.41.0"}, {"name": "DB_PASSWORD", "value": "hunter2"},
            {"name": "DATABASE_URL", "value": "postgres://app:s3cret@db.internal:5432/shop"}, {"name": "STRIPE_SECRET", "value": "sk"}]);
        c["logConfiguration"]["options"]["splunk-token"] = json!("tok-2");
        let text = render(&diff(&old, &new));
        assert_eq!(
            text,
            " container web\n   logConfiguration changed (value hidden)\n\
             +  env DATABASE_URL = postgres://app:***@db.internal:5432/shop\n\
             +  env STRIPE_SECRET = ***\n"
        );
    }
}
