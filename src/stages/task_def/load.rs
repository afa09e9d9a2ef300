//! Loading and rendering: the file (or a registered reference), cleaned of read-only fields,
//! images substituted and the overrides applied.

use std::path::Path;

use serde_json::{Map, Value};

use super::checks::{check_containers, check_images, check_size};
use super::refs::{is_valid_family, registered_reference};
use super::{READ_ONLY_KEYS, Source, TaskDef};
use crate::config::DeployConfig;
use crate::error::{Error, Problem, Result};
use crate::stages::{did_you_mean, line_of_key, read_document, shape};

/// Loads, cleans, renders and checks the task definition file; no AWS involved.
pub fn prepare(cfg: &DeployConfig) -> Result<Source> {
    if let Some(reference) = registered_reference(&cfg.task_definition) {
        return Ok(Source::Registered(reference));
    }
    let (src, value) = read_document(&cfg.task_definition, "task definition")?;
    let (value, dropped) = super::empty::drop_empty(value, &cfg.keep_empty);
    let mut td = from_value(&cfg.task_definition, &src, value)?;
    if !dropped.is_empty() {
        const SHOWN: usize = 10;
        let more = dropped.len().saturating_sub(SHOWN);
        td.notes.push(format!(
            "dropped empty values, as the AWS deploy action does (keep-null-value-keys keeps a key): {}{}",
            dropped
                .iter()
                .take(SHOWN)
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", "),
            if more > 0 { format!(" and {more} more") } else { String::new() }
        ));
    }
    render(&mut td, &src, cfg)?;
    Ok(Source::File(td))
}

/// Renders a loaded document: images (from `image` or `image-definitions`) and the overrides.
/// The images written are kept, parsed, in `td.images`.
pub fn render(td: &mut TaskDef, src: &str, cfg: &DeployConfig) -> Result<()> {
    let images = effective_images(td, cfg)?;
    render_images(td, src, &images)?;
    apply_overrides(td, cfg)?;
    apply_tags(td, &cfg.tags);
    check_images(td, src, cfg)?;
    check_size(td)?;
    td.images = images
        .into_iter()
        .map(|(container, image)| {
            let parsed = crate::stages::image::ImageRef::parse(&image).map_err(|e| {
                Error::input(
                    "image",
                    e.to_string(),
                    "give a reference like `123456789012.dkr.ecr.us-east-1.amazonaws.com/web:20261123120000-abc1234`",
                )
            })?;
            Ok((container, parsed))
        })
        .collect::<Result<_>>()?;
    Ok(())
}

/// The (container, image) pairs to write: `image` per named container, the sole container's
/// image, or `imagedefinitions.json` entries.
fn effective_images(td: &TaskDef, cfg: &DeployConfig) -> Result<Vec<(String, String)>> {
    let names: Vec<String> = td
        .container_names()
        .into_iter()
        .map(str::to_string)
        .collect();
    let mut wanted = cfg.images.clone();
    if let Some(image) = &cfg.sole_image {
        match names.as_slice() {
            [only] => wanted.push((only.clone(), image.clone())),
            _ => {
                return Err(Error::input(
                    "container-name",
                    format!(
                        "{} has {} containers ({}) and it is not clear which gets the image",
                        td.path.display(),
                        names.len(),
                        names.join(", ")
                    ),
                    "set `container-name` to the container to update",
                ));
            }
        }
    }
    if let Some(path) = &cfg.image_definitions {
        wanted.extend(load_image_definitions(path)?);
    }
    Ok(wanted)
}

/// CodePipeline's `imagedefinitions.json`: `[{"name": container, "imageUri": image}]`.
pub fn load_image_definitions(path: &Path) -> Result<Vec<(String, String)>> {
    let (_, value) = read_document(path, "image definitions")?;
    let bad = || {
        Error::file(
            path,
            "must be a list of {\"name\": container, \"imageUri\": image} objects",
            "write it as CodePipeline does, e.g. [{\"name\": \"web\", \"imageUri\": \"…/web:tag\"}]",
        )
    };
    let list = value.as_array().ok_or_else(bad)?;
    let mut out: Vec<(String, String)> = Vec::new();
    for (i, e) in list.iter().enumerate() {
        let name = e.get("name").and_then(Value::as_str).ok_or_else(bad)?;
        let uri = e.get("imageUri").and_then(Value::as_str).ok_or_else(bad)?;
        if let Some(first) = out.iter().position(|(n, _)| n == name) {
            return Err(Error::File {
                path: path.to_path_buf(),
                line: None,
                field: Some(format!("[{i}].name")),
                problem: format!(
                    "container `{name}` appears twice (entries {first} and {i}); only one image can run in it"
                ),
                fix: "keep one entry per container".into(),
            });
        }
        if let Err(e) = crate::stages::image::ImageRef::parse(uri) {
            return Err(Error::File {
                path: path.to_path_buf(),
                line: None,
                field: Some(format!("[{i}].imageUri")),
                problem: e.to_string(),
                fix: "write the image reference CodePipeline pushed, e.g. `123456789012.dkr.ecr.us-east-1.amazonaws.com/web:tag`".into(),
            });
        }
        out.push((name.to_string(), uri.to_string()));
    }
    Ok(out)
}

/// Environment, secrets, log configuration and docker labels into the named containers (or
/// the only one).
fn apply_overrides(td: &mut TaskDef, cfg: &DeployConfig) -> Result<()> {
    let r = &cfg.render;
    apply_roles(td, r);
    if r.containers_untouched() {
        return Ok(());
    }
    let names: Vec<String> = td
        .container_names()
        .into_iter()
        .map(str::to_string)
        .collect();
    let targets: Vec<String> = match (cfg.containers.as_slice(), names.as_slice()) {
        ([], [only]) => vec![only.clone()],
        ([], _) => {
            return Err(Error::input(
                "container-name",
                format!(
                    "{} containers and it is not clear which gets the overrides",
                    names.len()
                ),
                "name the containers in `container-name`",
            ));
        }
        (named, _) => named.to_vec(),
    };
    for target in targets {
        let Some(def) = container_mut(td, &target) else {
            return Err(Error::input(
                "container-name",
                format!("{} has no container named `{target}`", td.path.display()),
                format!("containers: {}", names.join(", ")),
            ));
        };
        upsert_named(def, "environment", "value", &r.environment);
        upsert_named(def, "secrets", "valueFrom", &r.secrets);
        if let Some(driver) = &r.log_driver {
            let log = def
                .entry("logConfiguration")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(log) = log.as_object_mut() {
                if log.get("logDriver").and_then(Value::as_str) != Some(driver.as_str()) {
                    // Another driver's options mean nothing to this one.
                    log.remove("options");
                }
                log.insert("logDriver".into(), Value::String(driver.clone()));
                merge_strings(log, "options", &r.log_options);
            }
        }
        merge_strings(def, "dockerLabels", &r.docker_labels);
        merge_env_files(def, &r.env_files);
        if let Some(command) = &r.command {
            def.insert(
                "command".into(),
                Value::Array(command.iter().cloned().map(Value::String).collect()),
            );
        }
        td.notes.push(format!(
            "container `{target}`: {} environment, {} secrets, {} labels{}{}{}",
            r.environment.len(),
            r.secrets.len(),
            r.docker_labels.len(),
            r.log_driver
                .as_ref()
                .map(|d| format!(", log driver {d}"))
                .unwrap_or_default(),
            if r.env_files.is_empty() {
                String::new()
            } else {
                format!(", {} env files", r.env_files.len())
            },
            r.command
                .as_ref()
                .map(|c| format!(", command {}", serde_json::json!(c)))
                .unwrap_or_default()
        ));
    }
    Ok(())
}

/// `task-role-arn` and `execution-role-arn` into the task definition, replacing the file's.
fn apply_roles(td: &mut TaskDef, r: &crate::config::Render) {
    for (key, arn) in [
        ("taskRoleArn", &r.task_role_arn),
        ("executionRoleArn", &r.execution_role_arn),
    ] {
        if let Some(arn) = arn {
            let old = td.doc.insert(key.into(), Value::String(arn.clone()));
            td.notes.push(format!(
                "{key}: {} → {arn}",
                old.as_ref().and_then(Value::as_str).unwrap_or("(none)")
            ));
        }
    }
}

/// Adds S3 `environmentFiles` the container does not list yet; the file's own stay, in order.
fn merge_env_files(def: &mut Map<String, Value>, files: &[String]) {
    if files.is_empty() {
        return;
    }
    let entry = def
        .entry("environmentFiles")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Some(items) = entry.as_array_mut() else {
        return;
    };
    for file in files {
        let listed = items
            .iter()
            .any(|e| e.get("value").and_then(Value::as_str) == Some(file.as_str()));
        if !listed {
            items.push(serde_json::json!({"value": file, "type": "s3"}));
        }
    }
}

/// `tags` input into the request's `[{key, value}]` list, replacing same keys.
fn apply_tags(td: &mut TaskDef, tags: &[(String, String)]) {
    if !tags.is_empty() {
        let entry = td
            .doc
            .entry("tags")
            .or_insert_with(|| Value::Array(Vec::new()));
        upsert_pairs(entry, "key", "value", tags);
    }
}

/// Sets string entries of the object at `key` (created when missing).
fn merge_strings(parent: &mut Map<String, Value>, key: &str, pairs: &[(String, String)]) {
    if pairs.is_empty() {
        return;
    }
    let entry = parent
        .entry(key)
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(map) = entry.as_object_mut() {
        for (k, v) in pairs {
            map.insert(k.clone(), Value::String(v.clone()));
        }
    }
}

fn container_mut<'a>(td: &'a mut TaskDef, name: &str) -> Option<&'a mut Map<String, Value>> {
    td.doc
        .get_mut("containerDefinitions")?
        .as_array_mut()?
        .iter_mut()
        .find(|d| d.get("name").and_then(Value::as_str) == Some(name))?
        .as_object_mut()
}

/// Sets `name` entries of a `[{name, <value_key>}]` list, replacing same-named ones in place.
fn upsert_named(
    def: &mut Map<String, Value>,
    list: &str,
    value_key: &str,
    pairs: &[(String, String)],
) {
    if !pairs.is_empty() {
        let entry = def.entry(list).or_insert_with(|| Value::Array(Vec::new()));
        upsert_pairs(entry, "name", value_key, pairs);
    }
}

/// Sets entries of a `[{<key_field>, <value_field>}]` list, replacing same-keyed ones in place.
fn upsert_pairs(list: &mut Value, key_field: &str, value_field: &str, pairs: &[(String, String)]) {
    let Some(items) = list.as_array_mut() else {
        return;
    };
    for (k, v) in pairs {
        let new = serde_json::json!({key_field: k, value_field: v});
        match items
            .iter_mut()
            .find(|e| e.get(key_field).and_then(Value::as_str) == Some(k.as_str()))
        {
            Some(existing) => *existing = new,
            None => items.push(new),
        }
    }
}

/// Cleans and checks a parsed document. `src` is the file text, used for line numbers.
pub fn from_value(path: &Path, src: &str, value: Value) -> Result<TaskDef> {
    let Value::Object(mut top) = value else {
        return Err(Error::file(
            path,
            "must be a JSON/YAML object with `family` and `containerDefinitions`",
            "see the output of `aws ecs describe-task-definition` for the expected shape",
        ));
    };
    let mut notes = Vec::new();
    // `aws ecs describe-task-definition` output wraps the definition; its tags sit beside it.
    if let Some(Value::Object(inner)) = top.get("taskDefinition").cloned() {
        let tags = top.get("tags").cloned();
        top = inner;
        if let Some(tags @ Value::Array(_)) = tags
            && !tags.as_array().is_some_and(Vec::is_empty)
        {
            top.entry("tags").or_insert(tags);
        }
        notes
            .push("unwrapped the `taskDefinition` object (describe-task-definition output)".into());
    }
    for key in READ_ONLY_KEYS {
        if top.remove(*key).is_some() {
            notes.push(format!("removed read-only field `{key}`"));
        }
    }

    // The whole document against the API's own request shape: unknown keys anywhere (with a
    // suggestion), wrong types, case-sensitive enum values, required members.
    let mut problems = shape::validate_register(&Value::Object(top.clone()), src);
    let family = match top.get("family").and_then(Value::as_str) {
        Some(f) if is_valid_family(f) => f.to_string(),
        Some(f) => {
            problems.push(Problem {
                field: "family".into(),
                line: line_of_key(src, "family"),
                message: format!("`{f}` is not a valid family: use 1-255 letters, digits, hyphens and underscores"),
            });
            String::new()
        }
        None => String::new(),
    };
    if let Some(defs) = top.get("containerDefinitions").and_then(Value::as_array) {
        check_containers(&top, defs, src, &mut problems);
    }
    // In file order, so the list reads top to bottom; unlocated ones last.
    problems.sort_by_key(|p| (p.line.is_none(), p.line));
    if !problems.is_empty() {
        return Err(Error::FileProblems {
            path: path.to_path_buf(),
            problems,
        });
    }
    Ok(TaskDef {
        path: path.to_path_buf(),
        family,
        doc: top,
        notes,
        images: Vec::new(),
    })
}

/// Replaces a container's image with the digest-pinned reference that was gated, keeping the
/// human-readable reference in a docker label.
pub fn pin_image(td: &mut TaskDef, container: &str, pinned: &str, human: &str) {
    let Some(def) = container_mut(td, container) else {
        return;
    };
    def.insert("image".into(), Value::String(pinned.to_string()));
    merge_strings(
        def,
        "dockerLabels",
        &[("greenlight.image".into(), human.to_string())],
    );
}

/// `runtimePlatform.cpuArchitecture`, which decides the image platform that runs.
pub fn cpu_architecture(td: &TaskDef) -> Option<&str> {
    td.doc
        .get("runtimePlatform")?
        .get("cpuArchitecture")?
        .as_str()
}

/// Writes the configured images into their containers.
fn render_images(td: &mut TaskDef, src: &str, wanted: &[(String, String)]) -> Result<()> {
    let names: Vec<String> = td
        .container_names()
        .into_iter()
        .map(str::to_string)
        .collect();
    for (container, image) in wanted {
        let (container, image) = (container.clone(), image.clone());
        let path = td.path.clone();
        let Some(def) = container_mut(td, &container) else {
            let hint = did_you_mean(&container, names.iter().map(String::as_str))
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            return Err(Error::File {
                path,
                line: line_of_key(src, "containerDefinitions"),
                field: Some("containerDefinitions".into()),
                problem: format!("has no container named `{container}` (input `container-name`)"),
                fix: format!("{hint}containers in this file: {}", names.join(", ")),
            });
        };
        let old = def.insert("image".into(), Value::String(image.clone()));
        td.notes.push(format!(
            "container `{container}`: image {} → {image}",
            old.as_ref().and_then(Value::as_str).unwrap_or("(none)")
        ));
    }
    Ok(())
}
