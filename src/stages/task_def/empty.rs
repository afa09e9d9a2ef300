//! Empty values in a task definition file, treated as the AWS deploy action treats them: a
//! `null`, an empty string, or an array or object holding nothing but those, is dropped before
//! registering, unless its key is in `keep-null-value-keys`. Then, as that action does, an
//! environment variable or App Mesh proxy property left without its `value` (or `name`) gets
//! an empty string back, since ECS takes those as set-to-empty. Pure: no I/O.

use serde_json::{Map, Value};

/// The file's document without its empty values, and the paths of what was dropped.
pub fn drop_empty(value: Value, keep: &[String]) -> (Value, Vec<String>) {
    let mut dropped = Vec::new();
    let cleaned = clean(value, "", keep, &mut dropped).unwrap_or(Value::Object(Map::new()));
    let mut restored = Vec::new();
    let doc = restore_empty_strings(cleaned, &mut restored);
    // An empty environment value comes back: it was not dropped, as far as the user can tell.
    dropped.retain(|p| !restored.contains(p));
    (doc, dropped)
}

/// Empty as the AWS action's check reads it: a kept key is never empty, and the members of an
/// object are judged without the keep list (its own quirk, kept so files behave the same).
fn is_empty(value: &Value, key: Option<&str>, keep: Option<&[String]>) -> bool {
    if let (Some(key), Some(keep)) = (key, keep)
        && keep.iter().any(|k| k == key)
    {
        return false;
    }
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.iter().all(|v| is_empty(v, None, keep)),
        Value::Object(map) => map.values().all(|v| is_empty(v, None, None)),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

fn clean(value: Value, at: &str, keep: &[String], dropped: &mut Vec<String>) -> Option<Value> {
    let key = at
        .rsplit(['.', '['])
        .next()
        .map(|k| k.trim_end_matches(']'));
    if !at.is_empty() && is_empty(&value, key.filter(|k| !k.is_empty()), Some(keep)) {
        dropped.push(at.to_string());
        return None;
    }
    Some(match value {
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    let path = format!("{at}[{i}]");
                    if is_empty(&item, None, Some(keep)) {
                        dropped.push(path);
                        return None;
                    }
                    clean(item, &path, keep, dropped)
                })
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter_map(|(k, v)| {
                    let path = if at.is_empty() {
                        k.clone()
                    } else {
                        format!("{at}.{k}")
                    };
                    clean(v, &path, keep, dropped).map(|v| (k, v))
                })
                .collect(),
        ),
        other => other,
    })
}

/// Puts back the empty strings the AWS action puts back, noting their paths in `restored`.
fn restore_empty_strings(mut doc: Value, restored: &mut Vec<String>) -> Value {
    let mut fill = |entries: Option<&mut Value>, at: &str, fields: &[&str]| {
        for (i, entry) in entries
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let Some(entry) = entry.as_object_mut() else {
                continue;
            };
            for field in fields {
                if !entry.contains_key(*field) {
                    entry.insert(field.to_string(), Value::String(String::new()));
                    restored.push(format!("{at}[{i}].{field}"));
                }
            }
        }
    };
    if let Some(containers) = doc
        .get_mut("containerDefinitions")
        .and_then(Value::as_array_mut)
    {
        for (i, c) in containers.iter_mut().enumerate() {
            let at = format!("containerDefinitions[{i}].environment");
            fill(c.get_mut("environment"), &at, &["value"]);
        }
    }
    if let Some(proxy) = doc.get_mut("proxyConfiguration")
        && proxy.get("type").and_then(Value::as_str) == Some("APPMESH")
    {
        fill(
            proxy.get_mut("properties"),
            "proxyConfiguration.properties",
            &["name", "value"],
        );
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keep(keys: &[&str]) -> Vec<String> {
        keys.iter().map(|k| k.to_string()).collect()
    }

    #[test]
    fn empty_values_are_dropped_and_named() {
        let (doc, dropped) = drop_empty(
            json!({
                "family": "web",
                "taskRoleArn": "",
                "cpu": null,
                "volumes": [],
                "placementConstraints": [{}, {"type": "memberOf", "expression": ""}],
                "containerDefinitions": [{
                    "name": "web",
                    "entryPoint": [""],
                    "memory": 0,
                    "essential": false,
                    "portMappings": [{"containerPort": 80, "hostPort": null}],
                }],
            }),
            &[],
        );
        assert_eq!(
            doc,
            json!({
                "family": "web",
                "placementConstraints": [{"type": "memberOf"}],
                "containerDefinitions": [{
                    "name": "web",
                    "memory": 0,
                    "essential": false,
                    "portMappings": [{"containerPort": 80}],
                }],
            })
        );
        assert_eq!(
            dropped,
            // In file order (the document keeps its keys' order).
            vec![
                "taskRoleArn",
                "cpu",
                "volumes",
                "placementConstraints[0]",
                "placementConstraints[1].expression",
                "containerDefinitions[0].entryPoint",
                "containerDefinitions[0].portMappings[0].hostPort",
            ]
        );
    }

    #[test]
    fn kept_keys_stay_even_when_empty() {
        let (doc, dropped) = drop_empty(
            json!({"family": "web", "containerDefinitions": [{"name": "web", "command": [], "user": ""}]}),
            &keep(&["command"]),
        );
        assert_eq!(
            doc,
            json!({"family": "web", "containerDefinitions": [{"name": "web", "command": []}]})
        );
        assert_eq!(dropped, vec!["containerDefinitions[0].user"]);
    }

    #[test]
    fn an_environment_variable_set_to_empty_stays_set() {
        let (doc, dropped) = drop_empty(
            json!({"containerDefinitions": [{"name": "web", "environment": [
                {"name": "EMPTY", "value": ""}, {"name": "SET", "value": "1"}
            ]}], "proxyConfiguration": {"type": "APPMESH", "containerName": "envoy",
                "properties": [{"name": "IgnoredUID", "value": ""}]}}),
            &[],
        );
        assert_eq!(
            doc["containerDefinitions"][0]["environment"],
            json!([{"name": "EMPTY", "value": ""}, {"name": "SET", "value": "1"}])
        );
        assert_eq!(
            doc["proxyConfiguration"]["properties"],
            json!([{"name": "IgnoredUID", "value": ""}])
        );
        assert!(dropped.is_empty(), "{dropped:?}");
    }
}
