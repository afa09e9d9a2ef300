//! Validates a JSON document against an AWS API input shape (generated from the service model
//! by scripts/gen-ecs-shape), so a typo'd key or a quoted boolean is reported with its path
//! instead of being dropped or rejected later by the API.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

use crate::error::Problem;
use crate::stages::{did_you_mean, line_of_key};

#[derive(Debug, Deserialize)]
struct ShapeDoc {
    root: String,
    shapes: HashMap<String, Shape>,
}

#[derive(Debug, Deserialize)]
struct Shape {
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    members: BTreeMap<String, String>,
    #[serde(default)]
    required: Vec<String>,
    member: Option<String>,
    value: Option<String>,
    #[serde(rename = "enum")]
    allowed: Option<Vec<String>>,
    min: Option<f64>,
    max: Option<f64>,
}

fn register_shapes() -> Option<&'static ShapeDoc> {
    static DOC: OnceLock<Option<ShapeDoc>> = OnceLock::new();
    DOC.get_or_init(|| {
        serde_json::from_str(include_str!("register_task_definition.shape.json")).ok()
    })
    .as_ref()
}

/// Every member name of the RegisterTaskDefinition request's top level.
pub fn register_members() -> Vec<&'static str> {
    register_shapes()
        .and_then(|d| d.shapes.get(&d.root))
        .map(|s| s.members.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

/// Problems of `doc` against the RegisterTaskDefinition request shape. `src` is the file text,
/// used to point at lines.
pub fn validate_register(doc: &Value, src: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    if let Some(shapes) = register_shapes() {
        walk(shapes, &shapes.root, doc, "", false, src, &mut problems);
    }
    problems
}

fn walk(
    doc: &ShapeDoc,
    shape_name: &str,
    value: &Value,
    path: &str,
    secret: bool,
    src: &str,
    out: &mut Vec<Problem>,
) {
    let Some(shape) = doc.shapes.get(shape_name) else {
        return;
    };
    let last_key = path
        .rsplit('.')
        .next()
        .unwrap_or(path)
        .split('[')
        .next()
        .unwrap_or("");
    let here = |message: String| Problem {
        field: if path.is_empty() {
            "(document)".into()
        } else {
            path.to_string()
        },
        line: line_of_key(src, last_key),
        message,
    };
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match (shape.ty.as_str(), value) {
        // JSON null reads as "not given" for optional members, as the AWS SDKs treat it.
        (_, Value::Null) => {}
        ("structure", Value::Object(obj)) => {
            // A value under a secret-sounding name (`{"name": "MYSQL_PWD", "value": 1234}`,
            // an option `splunk-token`) is described by its type only, never echoed.
            let name = obj.get("name").and_then(Value::as_str);
            for (key, v) in obj {
                let secret = crate::redact::is_secret_name(key)
                    || (key == "value" && name.is_some_and(crate::redact::is_secret_name));
                match shape.members.get(key) {
                    Some(member_shape) => walk(doc, member_shape, v, &join(key), secret, src, out),
                    None => {
                        let hint = did_you_mean(key, shape.members.keys().map(String::as_str))
                            .map(|s| format!("; did you mean `{s}`?"))
                            .unwrap_or_else(|| {
                                format!(
                                    "; allowed here: {}",
                                    shape.members.keys().cloned().collect::<Vec<_>>().join(", ")
                                )
                            });
                        out.push(Problem {
                            field: join(key),
                            line: line_of_key(src, key),
                            message: format!("unknown key{hint}"),
                        });
                    }
                }
            }
            for req in &shape.required {
                // A null required member is as missing as an absent one.
                if obj.get(req).is_none_or(Value::is_null) {
                    out.push(Problem {
                        field: join(req),
                        line: None,
                        message: "is required but missing".into(),
                    });
                }
            }
        }
        ("list", Value::Array(items)) => {
            if let Some(member) = &shape.member {
                for (i, item) in items.iter().enumerate() {
                    walk(doc, member, item, &format!("{path}[{i}]"), secret, src, out);
                }
            }
        }
        ("map", Value::Object(obj)) => {
            if let Some(vs) = &shape.value {
                for (k, v) in obj {
                    let secret = secret || crate::redact::is_secret_name(k);
                    walk(doc, vs, v, &format!("{path}.{k}"), secret, src, out);
                }
            }
        }
        ("string", Value::String(s)) => {
            if let Some(allowed) = &shape.allowed
                && !allowed.contains(s)
            {
                let hint = allowed
                    .iter()
                    .find(|a| a.eq_ignore_ascii_case(s))
                    .map(|a| format!("; did you mean `{a}`? (values are case-sensitive)"))
                    .unwrap_or_default();
                out.push(here(format!(
                    "`{s}` is not one of {}{hint}",
                    allowed.join(", ")
                )));
            }
            let len = s.chars().count() as f64;
            if shape.min.is_some_and(|m| len < m) || shape.max.is_some_and(|m| len > m) {
                out.push(here(format!(
                    "length {len} is outside {}..{}",
                    shape.min.unwrap_or(0.0),
                    shape.max.unwrap_or(f64::INFINITY)
                )));
            }
        }
        ("integer" | "long", Value::Number(n)) if n.is_i64() || n.is_u64() => {
            let x = n.as_f64().unwrap_or_default();
            if shape.min.is_some_and(|m| x < m) || shape.max.is_some_and(|m| x > m) {
                out.push(here(format!(
                    "{x} is outside {}..{}",
                    shape.min.unwrap_or(f64::MIN),
                    shape.max.unwrap_or(f64::MAX)
                )));
            }
        }
        ("double" | "float", Value::Number(_))
        | ("boolean", Value::Bool(_))
        | ("timestamp" | "blob", _) => {}
        (ty, v) => out.push(here(format!(
            "must be {}, not {}",
            expected(ty),
            if secret { kind(v) } else { describe(v) }
        ))),
    }
}

fn expected(ty: &str) -> &'static str {
    match ty {
        "structure" | "map" => "an object",
        "list" => "a list",
        "string" => "a string",
        "integer" | "long" => "a whole number (without quotes)",
        "boolean" => "true or false (without quotes)",
        "double" | "float" => "a number",
        _ => "another type",
    }
}

/// What a value is, without the value.
fn kind(v: &Value) -> String {
    match v {
        Value::String(_) => "a string".into(),
        Value::Number(_) => "a number".into(),
        Value::Bool(_) => "a boolean".into(),
        other => describe(other),
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("the string \"{s}\""),
        Value::Number(n) => format!("the number {n}"),
        Value::Bool(b) => format!("{b}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
        Value::Null => "null".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problems(doc: Value) -> Vec<String> {
        validate_register(&doc, "")
            .iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect()
    }

    #[test]
    fn the_embedded_shape_loads() {
        let members = register_members();
        assert!(
            members.contains(&"containerDefinitions") && members.contains(&"runtimePlatform"),
            "{members:?}"
        );
    }

    #[test]
    fn a_valid_definition_has_no_problems() {
        let doc = json!({"family": "web", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
            "requiresCompatibilities": ["FARGATE"],
            "containerDefinitions": [{"name": "web", "image": "x", "essential": true, "memory": 256,
                "portMappings": [{"containerPort": 80, "protocol": "tcp"}],
                "environment": [{"name": "A", "value": ""}], "dockerLabels": {"a": "b"},
                "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web"}}}]});
        assert_eq!(problems(doc), Vec::<String>::new());
    }

    #[test]
    fn a_secret_of_the_wrong_type_is_not_echoed() {
        let doc = json!({"family": "web",
            "containerDefinitions": [{"name": "web", "image": "x",
                "environment": [{"name": "MYSQL_PWD", "value": 918273}, {"name": "WORKERS", "value": 4}],
                "logConfiguration": {"logDriver": "splunk", "options": {"splunk-token": 5551234}}}]});
        let mut got = problems(doc);
        got.sort();
        assert_eq!(
            got,
            vec![
                "containerDefinitions[0].environment[0].value: must be a string, not a number",
                "containerDefinitions[0].environment[1].value: must be a string, not the number 4",
                "containerDefinitions[0].logConfiguration.options.splunk-token: must be a string, not a number",
            ]
        );
    }

    #[test]
    fn nested_typos_types_and_enums_are_all_reported() {
        let doc = json!({"family": "web", "networkMode": "AWSVPC",
            "containerDefinitions": [{"name": "web", "image": "x", "essential": "true", "cpu": "256",
                "portMapping": [], "healthCheck": {"comand": ["CMD"]},
                "logConfiguration": {"logDriver": "cloudwatch"}}]});
        let mut got = problems(doc);
        got.sort();
        assert_eq!(
            got,
            vec![
                "containerDefinitions[0].cpu: must be a whole number (without quotes), not the string \"256\"",
                "containerDefinitions[0].essential: must be true or false (without quotes), not the string \"true\"",
                "containerDefinitions[0].healthCheck.comand: unknown key; did you mean `command`?",
                "containerDefinitions[0].healthCheck.command: is required but missing",
                "containerDefinitions[0].logConfiguration.logDriver: `cloudwatch` is not one of json-file, syslog, journald, gelf, fluentd, awslogs, splunk, awsfirelens",
                "containerDefinitions[0].portMapping: unknown key; did you mean `portMappings`?",
                "networkMode: `AWSVPC` is not one of bridge, host, awsvpc, none; did you mean `awsvpc`? (values are case-sensitive)",
            ]
        );
    }
}
