//! Task definition: load, clean read-only fields, substitute images, check the shape, register.
//!
//! The document is kept as JSON and sent to RegisterTaskDefinition as written (after cleaning
//! and rendering), so no field the user wrote is silently dropped by a typed model that does not
//! know it; instead unknown keys are refused up front with a suggestion.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::aws::Clients;
use crate::config::DeployConfig;
use crate::error::{Error, Problem, Result};
use crate::stages::{did_you_mean, line_of_key, read_document, shape};

/// The newest ACTIVE revision of `live`'s family older than it: the last resort for finding
/// what ran before, when no deployment history says.
pub async fn previous_in_family(clients: &Clients, live: &str) -> Result<Option<String>> {
    let name = live.rsplit('/').next().unwrap_or(live);
    let Some((family, revision)) = name.rsplit_once(':') else {
        return Ok(None);
    };
    let Ok(revision) = revision.parse::<u32>() else {
        return Ok(None);
    };
    let out = clients
        .ecs
        .list_task_definitions()
        .family_prefix(family)
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .sort(aws_sdk_ecs::types::SortOrder::Desc)
        .send()
        .await
        .map_err(|e| Error::aws("ListTaskDefinitions", &e))?;
    Ok(out
        .task_definition_arns()
        .iter()
        .filter_map(|arn| {
            let (f, r) = arn.rsplit('/').next()?.rsplit_once(':')?;
            (f == family).then_some((r.parse::<u32>().ok()?, arn))
        })
        .filter(|(r, _)| *r < revision)
        .max_by_key(|(r, _)| *r)
        .map(|(_, arn)| arn.clone()))
}

/// Fields DescribeTaskDefinition returns that RegisterTaskDefinition refuses.
pub const READ_ONLY_KEYS: &[&str] = &[
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
];

/// ECS allows at most this many containers in one task definition.
const MAX_CONTAINERS: usize = 10;

#[derive(Debug, Clone, PartialEq)]
pub struct TaskDef {
    pub path: PathBuf,
    pub family: String,
    /// The cleaned, rendered RegisterTaskDefinition request.
    pub doc: Map<String, Value>,
    /// What cleaning and rendering did, one line each, for the log.
    pub notes: Vec<String>,
}

impl TaskDef {
    pub fn container_names(&self) -> Vec<&str> {
        containers(&self.doc)
            .iter()
            .filter_map(|c| c.get("name").and_then(Value::as_str))
            .collect()
    }

    /// The container's `portMappings[].containerPort` values.
    pub fn container_ports(&self, name: &str) -> Vec<i64> {
        containers(&self.doc)
            .iter()
            .filter(|c| c.get("name").and_then(Value::as_str) == Some(name))
            .flat_map(|c| {
                c.get("portMappings")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|p| p.get("containerPort").and_then(Value::as_i64))
            .collect()
    }

    pub fn image_of(&self, name: &str) -> Option<&str> {
        containers(&self.doc)
            .iter()
            .find(|c| c.get("name").and_then(Value::as_str) == Some(name))
            .and_then(|c| c.get("image").and_then(Value::as_str))
    }

    pub fn to_json(&self) -> Vec<u8> {
        // Serialising a map of JSON values cannot fail.
        serde_json::to_vec(&self.doc).unwrap_or_default()
    }
}

fn containers(doc: &Map<String, Value>) -> &[Value] {
    doc.get("containerDefinitions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// Loads, cleans, renders and checks the task definition file; no AWS involved.
pub fn prepare(cfg: &DeployConfig) -> Result<Source> {
    if let Some(reference) = registered_reference(&cfg.task_definition) {
        return Ok(Source::Registered(reference));
    }
    let (src, value) = read_document(&cfg.task_definition, "task definition")?;
    let mut td = from_value(&cfg.task_definition, &src, value)?;
    render(&mut td, &src, cfg)?;
    Ok(Source::File(td))
}

/// Where the task definition comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A file, loaded, rendered and checked.
    File(TaskDef),
    /// An ARN, `family:revision` or `family` (latest ACTIVE) already registered in ECS.
    Registered(String),
}

/// A `task-definition` value that names a registered task definition rather than a file: an
/// ARN, or `family[:revision]` when no such file exists.
pub fn registered_reference(value: &Path) -> Option<String> {
    let s = value.to_str()?;
    if s.starts_with("arn:") && s.contains(":task-definition/") {
        return Some(s.to_string());
    }
    let (family, revision) = s.split_once(':').unwrap_or((s, ""));
    let revision_ok = revision.is_empty() || revision.bytes().all(|b| b.is_ascii_digit());
    (!value.exists() && is_valid_family(family) && revision_ok).then(|| s.to_string())
}

/// Renders a loaded document: images (from `image` or `image-definitions`) and the overrides.
pub fn render(td: &mut TaskDef, src: &str, cfg: &DeployConfig) -> Result<()> {
    let images = effective_images(td, cfg)?;
    render_images(td, src, &images)?;
    apply_overrides(td, cfg)?;
    apply_tags(td, &cfg.tags);
    check_images(td, src, cfg)?;
    check_size(td)
}

/// Every container image, after rendering, must be a real, immutable reference: a leftover
/// placeholder or `latest` means the running image is not the one anyone reviewed.
fn check_images(td: &TaskDef, src: &str, cfg: &DeployConfig) -> Result<()> {
    let mut problems = Vec::new();
    for (i, c) in containers(&td.doc).iter().enumerate() {
        let Some(image) = c.get("image").and_then(Value::as_str) else {
            continue;
        };
        let name = c.get("name").and_then(Value::as_str).unwrap_or("?");
        let field = format!("containerDefinitions[{i}].image");
        let line = src.lines().position(|l| l.contains(image)).map(|n| n + 1);
        if image.contains(['<', '>', '$', '{', '}']) {
            problems.push(Problem {
                field,
                line,
                message: format!("`{image}` of container `{name}` looks like a placeholder nobody replaced; give `image` (and `container-name`) or `image-definitions`"),
            });
            continue;
        }
        let Ok(parsed) = crate::stages::image::ImageRef::parse(image) else {
            problems.push(Problem {
                field,
                line,
                message: format!("`{image}` of container `{name}` is not a valid image reference"),
            });
            continue;
        };
        let mutable = parsed.digest.is_none()
            && parsed
                .tag
                .as_deref()
                .is_none_or(|t| t == "latest" || cfg.gate.mutable_tags.iter().any(|m| m == t));
        if mutable && !cfg.allow_mutable_images {
            problems.push(Problem {
                field,
                line,
                message: format!(
                    "`{image}` of container `{name}` is {}: the image that runs could change under the same task definition; pin a tag or digest, or set `allow-mutable-images: true`",
                    parsed.tag.as_ref().map(|t| format!("the mutable tag `{t}`")).unwrap_or_else(|| "untagged (that means `latest`)".into())
                ),
            });
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::FileProblems {
            path: td.path.clone(),
            problems,
        })
    }
}

/// The (container, image) pairs to write: `image` per named container, the sole container's
/// image, or `imagedefinitions.json` entries.
pub fn effective_images(td: &TaskDef, cfg: &DeployConfig) -> Result<Vec<(String, String)>> {
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
    if r.is_empty() {
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
        td.notes.push(format!(
            "container `{target}`: {} environment, {} secrets, {} labels{}",
            r.environment.len(),
            r.secrets.len(),
            r.docker_labels.len(),
            r.log_driver
                .as_ref()
                .map(|d| format!(", log driver {d}"))
                .unwrap_or_default()
        ));
    }
    Ok(())
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
    })
}

fn is_valid_family(f: &str) -> bool {
    !f.is_empty()
        && f.len() <= 255
        && f.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// What the shape cannot say: limits and rules across fields.
fn check_containers(
    top: &Map<String, Value>,
    defs: &[Value],
    src: &str,
    problems: &mut Vec<Problem>,
) {
    let mut push = |field: String, key: &str, message: String| {
        problems.push(Problem {
            field,
            line: line_of_key(src, key),
            message,
        });
    };
    if defs.is_empty() {
        push(
            "containerDefinitions".into(),
            "containerDefinitions",
            "is empty; at least one container is needed".into(),
        );
        return;
    }
    if defs.len() > MAX_CONTAINERS {
        push(
            "containerDefinitions".into(),
            "containerDefinitions",
            format!(
                "has {} containers; ECS allows at most {MAX_CONTAINERS}",
                defs.len()
            ),
        );
    }
    let awsvpc = top.get("networkMode").and_then(Value::as_str) == Some("awsvpc");
    let fargate = top
        .get("requiresCompatibilities")
        .and_then(Value::as_array)
        .is_some_and(|c| c.iter().any(|x| x == "FARGATE"));
    let mut seen: Vec<&str> = Vec::new();
    let mut any_essential = false;
    for (i, def) in defs.iter().enumerate() {
        let at = |field: &str| format!("containerDefinitions[{i}].{field}");
        let Some(obj) = def.as_object() else {
            push(
                format!("containerDefinitions[{i}]"),
                "containerDefinitions",
                "must be a container definition object".into(),
            );
            continue;
        };
        match obj.get("name").and_then(Value::as_str) {
            Some(name) if !is_valid_family(name) => {
                push(
                    at("name"),
                    "name",
                    format!(
                        "`{name}` is not a valid container name: use 1-255 letters, digits, hyphens and underscores"
                    ),
                );
            }
            Some(name) if seen.contains(&name) => {
                push(
                    at("name"),
                    "name",
                    format!("`{name}` is used by two containers; names must be unique"),
                );
            }
            Some(name) => seen.push(name),
            None => push(
                at("name"),
                "name",
                "is missing; every container needs a name".into(),
            ),
        }
        if obj
            .get("image")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            push(
                at("image"),
                "image",
                "is missing; every container needs an image".into(),
            );
        }
        // ECS treats a container without `essential` as essential.
        any_essential |= obj
            .get("essential")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        for (j, pm) in obj
            .get("portMappings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let field = |f: &str| format!("containerDefinitions[{i}].portMappings[{j}].{f}");
            let container = pm.get("containerPort").and_then(Value::as_i64);
            let host = pm.get("hostPort").and_then(Value::as_i64);
            if let Some(p) = container.filter(|p| !(1..=65535).contains(p)) {
                push(
                    field("containerPort"),
                    "containerPort",
                    format!("{p} is not a port (1-65535)"),
                );
            }
            if awsvpc
                && let (Some(c), Some(h)) = (container, host)
                && h != c
                && h != 0
            {
                push(
                    field("hostPort"),
                    "hostPort",
                    format!(
                        "{h} differs from containerPort {c}; with networkMode awsvpc they must be equal (or leave hostPort out)"
                    ),
                );
            }
        }
        for (j, secret) in obj
            .get("secrets")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(from) = secret.get("valueFrom").and_then(Value::as_str)
                && let Some(problem) = secret_reference_problem(from)
            {
                push(
                    format!("containerDefinitions[{i}].secrets[{j}].valueFrom"),
                    "valueFrom",
                    problem,
                );
            }
        }
        check_container_size(obj, i, &mut push);
    }
    let all_names: Vec<&str> = defs
        .iter()
        .filter_map(|d| d.get("name").and_then(Value::as_str))
        .collect();
    for (i, def) in defs.iter().enumerate() {
        for (j, dep) in def
            .get("dependsOn")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(target) = dep.get("containerName").and_then(Value::as_str)
                && !all_names.contains(&target)
            {
                push(
                    format!("containerDefinitions[{i}].dependsOn[{j}].containerName"),
                    "containerName",
                    format!(
                        "`{target}` is not a container of this task definition ({})",
                        all_names.join(", ")
                    ),
                );
            }
        }
    }
    if !any_essential {
        push(
            "containerDefinitions".into(),
            "essential",
            "has no essential container; mark at least one `\"essential\": true`".into(),
        );
    }
    let task_cpu = top.get("cpu").and_then(Value::as_str);
    let task_memory = top.get("memory").and_then(Value::as_str);
    if let Some(c) = task_cpu {
        match cpu_units(c) {
            Some(u) if (MIN_TASK_CPU..=MAX_CPU).contains(&u) => {}
            _ => push(
                "cpu".into(),
                "cpu",
                format!(
                    "`{c}` is not a task size ECS accepts: use CPU units from {MIN_TASK_CPU} to {MAX_CPU} (192 vCPUs), e.g. \"1024\" or \"1 vCPU\""
                ),
            ),
        }
    }
    if let Some(m) = task_memory {
        match memory_mib(m) {
            Some(v) if (MIN_CONTAINER_MEMORY..=MAX_MEMORY).contains(&v) => {}
            _ => push(
                "memory".into(),
                "memory",
                format!(
                    "`{m}` is not a task memory ECS accepts: use MiB from {MIN_CONTAINER_MEMORY} to {MAX_MEMORY} (32 TiB, the largest EC2 instance), e.g. \"2048\" or \"2 GB\""
                ),
            ),
        }
    }
    // What the containers reserve together must fit in the task: ECS refuses the registration
    // otherwise.
    let sum = |key: &str, fallback: Option<&str>| -> i64 {
        defs.iter()
            .filter_map(|d| {
                d.get(key)
                    .or_else(|| fallback.and_then(|f| d.get(f)))
                    .and_then(Value::as_i64)
            })
            .filter(|v| *v > 0)
            .sum()
    };
    if let Some(task) = task_cpu.and_then(cpu_units) {
        let reserved = sum("cpu", None);
        if reserved > task as i64 {
            push(
                "cpu".into(),
                "cpu",
                format!(
                    "the containers reserve {reserved} CPU units together, more than the task's {task}; lower the containers' `cpu` or raise the task's"
                ),
            );
        }
    }
    if let Some(task) = task_memory.and_then(memory_mib) {
        let reserved = sum("memoryReservation", Some("memory"));
        if reserved > task as i64 {
            push(
                "memory".into(),
                "memory",
                format!(
                    "the containers reserve {reserved} MiB together (memoryReservation, else memory), more than the task's {task} MiB; lower theirs or raise the task's"
                ),
            );
        }
    }
    if fargate {
        if !awsvpc {
            push(
                "networkMode".into(),
                "networkMode",
                "must be `awsvpc` for FARGATE (requiresCompatibilities includes FARGATE)".into(),
            );
        }
        match (task_cpu, task_memory) {
            (Some(c), Some(m)) => {
                if let Some(msg) = fargate_size_problem(c, m) {
                    push("cpu".into(), "cpu", msg);
                }
            }
            _ => push(
                "cpu".into(),
                "cpu",
                "FARGATE needs task-level `cpu` and `memory`, e.g. \"256\" and \"512\"".into(),
            ),
        }
    }
}

/// The fewest CPU units a task may have on EC2 or external instances (RegisterTaskDefinition's
/// `cpu`: 128 to 196608 units).
const MIN_TASK_CPU: u64 = 128;
/// 192 vCPUs: the most a task (and so any of its containers) may reserve.
const MAX_CPU: u64 = 196_608;
/// Docker 20.10 and later reserve 6 MiB per container; ECS refuses a container below it.
const MIN_CONTAINER_MEMORY: u64 = 6;
/// 32 TiB in MiB, the memory of the largest EC2 instances (u7in-32tb): more is a unit mistake
/// (bytes or KiB written as MiB), and no instance could ever place the task.
const MAX_MEMORY: u64 = 32 * 1024 * 1024;
/// RegisterTaskDefinition refuses a request larger than this.
pub const MAX_TASK_DEFINITION_BYTES: usize = 64 * 1024;

/// CPU units from `1024`, `1 vCPU` or `0.5 vcpu`; `None` for anything else (negative too).
fn cpu_units(s: &str) -> Option<u64> {
    let t = s.trim().to_ascii_lowercase();
    let units = match t.strip_suffix("vcpu") {
        Some(v) => v.trim().parse::<f64>().ok().map(|x| x * 1024.0)?,
        None => t.parse::<u64>().ok()? as f64,
    };
    (units.is_finite() && units >= 0.0).then_some(units as u64)
}

/// MiB from `2048` or `2 GB`; `None` for anything else (negative too).
fn memory_mib(s: &str) -> Option<u64> {
    let t = s.trim().to_ascii_lowercase();
    let mib = match t.strip_suffix("gb") {
        Some(v) => v.trim().parse::<f64>().ok().map(|x| x * 1024.0)?,
        None => t.parse::<u64>().ok()? as f64,
    };
    (mib.is_finite() && mib >= 0.0).then_some(mib as u64)
}

/// A container's `cpu`, `memory` and `memoryReservation` within what any instance can give.
fn check_container_size(
    obj: &Map<String, Value>,
    i: usize,
    push: &mut impl FnMut(String, &str, String),
) {
    let number = |key: &str| obj.get(key).and_then(Value::as_i64);
    if let Some(c) = number("cpu")
        && !(0..=MAX_CPU as i64).contains(&c)
    {
        push(
            format!("containerDefinitions[{i}].cpu"),
            "cpu",
            format!(
                "{c} is not a number of CPU units a container can reserve: use 0 to {MAX_CPU} (192 vCPUs; 1024 is one vCPU)"
            ),
        );
    }
    for key in ["memory", "memoryReservation"] {
        if let Some(m) = number(key)
            && !(MIN_CONTAINER_MEMORY as i64..=MAX_MEMORY as i64).contains(&m)
        {
            push(
                format!("containerDefinitions[{i}].{key}"),
                key,
                format!(
                    "{m} MiB is not a container memory ECS accepts: use {MIN_CONTAINER_MEMORY} MiB (Docker's minimum) to {MAX_MEMORY} MiB (32 TiB, the largest EC2 instance)"
                ),
            );
        }
    }
    if let (Some(hard), Some(soft)) = (number("memory"), number("memoryReservation"))
        && soft > hard
        && hard >= MIN_CONTAINER_MEMORY as i64
    {
        push(
            format!("containerDefinitions[{i}].memoryReservation"),
            "memoryReservation",
            format!(
                "{soft} MiB is above the container's hard limit `memory` {hard} MiB; the reservation must not exceed the limit"
            ),
        );
    }
}

/// Why a secret's `valueFrom` cannot name a secret, if it cannot: it is an SSM parameter or
/// Secrets Manager ARN, or an SSM parameter name in the same region. The value is never
/// repeated: a mistyped entry may be the secret itself.
pub fn secret_reference_problem(from: &str) -> Option<String> {
    if from.starts_with("arn:") {
        return (!is_secret_arn(from)).then(|| {
            "is an ARN but not of an SSM parameter or Secrets Manager secret; use arn:aws:ssm:REGION:ACCOUNT:parameter/NAME or arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME".to_string()
        });
    }
    let fix = "give the parameter's name (letters, digits and _ . - /, e.g. `/web/db-password`) or the full ARN";
    if from.is_empty() {
        return Some(format!("is empty; {fix}"));
    }
    if from.len() > 2048 {
        return Some(format!(
            "is {} characters long; a parameter name has at most 2048. {fix}",
            from.len()
        ));
    }
    if let Some(bad) = from
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/')))
    {
        let what = if bad.is_whitespace() {
            "whitespace".to_string()
        } else {
            format!("the character `{}`", bad.escape_default())
        };
        return Some(format!(
            "is neither an ARN nor an SSM parameter name: it contains {what}. {fix}"
        ));
    }
    if from.contains('/') {
        if !from.starts_with('/') {
            return Some(format!(
                "is a parameter path without its leading `/`; hierarchical names start with `/`. {fix}"
            ));
        }
        if from.ends_with('/') || from.contains("//") {
            return Some(format!(
                "has an empty level (`//` or a trailing `/`); every level of a parameter path needs a name. {fix}"
            ));
        }
        if from.matches('/').count() > 15 {
            return Some(format!(
                "is nested more than 15 levels; SSM allows at most 15. {fix}"
            ));
        }
    }
    None
}

/// RegisterTaskDefinition's size limit, on the request exactly as it will be sent.
pub fn check_size(td: &TaskDef) -> Result<()> {
    let size = td.to_json().len();
    if size > MAX_TASK_DEFINITION_BYTES {
        return Err(Error::File {
            path: td.path.clone(),
            line: None,
            field: None,
            problem: format!(
                "renders to {size} bytes; ECS refuses a task definition larger than 64 KiB ({MAX_TASK_DEFINITION_BYTES} bytes)"
            ),
            fix: "move large values out of it (environment into an env file in S3 or SSM parameters, long commands into the image)".into(),
        });
    }
    Ok(())
}

fn is_secret_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && matches!(parts[2], "ssm" | "secretsmanager")
        && !parts[3].is_empty()
        && parts[4].len() == 12
        && (parts[5].starts_with("parameter/") || parts[5].starts_with("secret:"))
}

/// Fargate's supported CPU/memory pairs (ECS developer guide, task size table); values in
/// CPU units and MiB, also accepting "1 vCPU" / "2 GB" spellings the API allows.
pub fn fargate_size_problem(cpu: &str, memory: &str) -> Option<String> {
    let (Some(c), Some(m)) = (cpu_units(cpu), memory_mib(memory)) else {
        return Some(format!(
            "cpu `{cpu}` / memory `{memory}` are not numbers FARGATE understands"
        ));
    };
    let gb = |g: u64| g * 1024;
    let ok = match c {
        256 => [512, 1024, 2048].contains(&m),
        512 => (1..=4).any(|g| m == gb(g)),
        1024 => (2..=8).any(|g| m == gb(g)),
        2048 => (4..=16).any(|g| m == gb(g)),
        4096 => (8..=30).any(|g| m == gb(g)),
        8192 => (16..=60).step_by(4).any(|g| m == gb(g)),
        16384 => (32..=120).step_by(8).any(|g| m == gb(g)),
        _ => {
            return Some(format!(
                "cpu {c} is not a FARGATE size; use 256, 512, 1024, 2048, 4096, 8192 or 16384"
            ));
        }
    };
    (!ok).then(|| format!("FARGATE does not offer cpu {c} with memory {m} MiB; see the task size table in the ECS developer guide"))
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

/// Registers the task definition and returns its ARN.
///
/// The SDK's typed request cannot carry fields it does not model, and has no serde support, so
/// the request body is replaced with the checked document just before signing. The SDK still
/// signs, retries, and parses the response.
pub async fn register(clients: &Clients, td: &TaskDef) -> Result<String> {
    use aws_sdk_ecs::types::ContainerDefinition;
    let body = td.to_json();
    let placeholder = ContainerDefinition::builder().name("placeholder").build();
    let out = clients
        .ecs
        .register_task_definition()
        .family(&td.family)
        .container_definitions(placeholder)
        .customize()
        .mutate_request(move |req| {
            *req.body_mut() = aws_smithy_types::body::SdkBody::from(body.clone());
            req.headers_mut()
                .insert("content-length", body.len().to_string());
        })
        .send()
        .await
        .map_err(|e| Error::aws("RegisterTaskDefinition", &e))?;
    out.task_definition()
        .and_then(|t| t.task_definition_arn())
        .map(str::to_string)
        .ok_or_else(|| {
            Error::aws_reply(
                "ECS",
                "RegisterTaskDefinition",
                "the response has no taskDefinitionArn",
            )
        })
}

/// Keeps the raw body of the response it sees. The SDK's typed output has no serde support,
/// and the live task definition is compared as the JSON ECS returned.
#[derive(Debug, Clone, Default)]
struct RawResponse(std::sync::Arc<std::sync::Mutex<Option<Vec<u8>>>>);

impl aws_smithy_runtime_api::client::interceptors::Intercept for RawResponse {
    fn name(&self) -> &'static str {
        "greenlight-raw-response"
    }

    fn read_after_deserialization(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef<'_>,
        _: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> std::result::Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        if let (Some(bytes), Ok(mut slot)) = (context.response().body().bytes(), self.0.lock()) {
            *slot = Some(bytes.to_vec());
        }
        Ok(())
    }
}

/// DescribeTaskDefinition: the full ARN, and the JSON document ECS returned (read-only fields
/// removed).
pub async fn describe_live(
    clients: &Clients,
    task_definition: &str,
) -> Result<(String, Map<String, Value>)> {
    let raw = RawResponse::default();
    clients
        .ecs
        .describe_task_definition()
        .task_definition(task_definition)
        // Tags come back only when asked, and beside the definition rather than in it.
        .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
        .customize()
        .interceptor(raw.clone())
        .send()
        .await
        .map_err(|e| Error::aws("DescribeTaskDefinition", &e))?;
    let bytes = raw
        .0
        .lock()
        .ok()
        .and_then(|mut b| b.take())
        .unwrap_or_default();
    let doc: Value = serde_json::from_slice(&bytes).map_err(|e| {
        Error::aws_reply(
            "ECS",
            "DescribeTaskDefinition",
            format!("the response is not the expected JSON: {e}"),
        )
    })?;
    let mut td = doc
        .get("taskDefinition")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if let Some(tags) = doc
        .get("tags")
        .filter(|t| t.as_array().is_some_and(|a| !a.is_empty()))
    {
        td.insert("tags".into(), tags.clone());
    }
    let arn = td
        .get("taskDefinitionArn")
        .and_then(Value::as_str)
        .unwrap_or(task_definition)
        .to_string();
    for key in READ_ONLY_KEYS {
        td.remove(*key);
    }
    Ok((arn, td))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::collections::BTreeMap;

    const SEED_LIKE: &str = r#"{
 "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
 "containerDefinitions": [{
  "name": "web",
  "image": "<IMAGE>",
  "essential": true,
  "environment": [{"name": "EMPTY", "value": ""}],
  "portMappings": [{"protocol": "tcp", "containerPort": 80}]
 }],
 "requiresCompatibilities": ["FARGATE"],
 "networkMode": "awsvpc",
 "cpu": "256",
 "memory": "512",
 "family": "web"
}"#;

    fn parse(src: &str) -> Result<TaskDef> {
        from_value(
            Path::new("taskdef.json"),
            src,
            serde_json::from_str(src).unwrap(),
        )
    }

    fn cfg(pairs: &[(&str, &str)]) -> DeployConfig {
        let mut m: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        m.insert("task-definition".into(), "taskdef.json".into());
        m.insert("service".into(), "web".into());
        Config::from_inputs(&m)
            .unwrap()
            .job
            .deploy()
            .cloned()
            .unwrap()
    }

    #[test]
    fn accepts_a_plain_definition_and_keeps_empty_values() {
        let td = parse(SEED_LIKE).unwrap();
        assert_eq!(td.family, "web");
        assert_eq!(td.container_names(), vec!["web"]);
        assert_eq!(td.container_ports("web"), vec![80]);
        let json: Value = serde_json::from_slice(&td.to_json()).unwrap();
        assert_eq!(
            json["containerDefinitions"][0]["environment"][0]["value"],
            ""
        );
    }

    #[test]
    fn unwraps_describe_output_and_cleans_read_only_fields() {
        let src = r#"{"taskDefinition": {"family": "web", "revision": 7, "status": "ACTIVE",
            "taskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/web:7",
            "compatibilities": ["EC2"], "registeredAt": 1.7e9,
            "containerDefinitions": [{"name": "web", "image": "x"}]},
            "tags": [{"key": "team", "value": "shop"}]}"#;
        let td = parse(src).unwrap();
        for key in [
            "revision",
            "status",
            "taskDefinitionArn",
            "compatibilities",
            "registeredAt",
        ] {
            assert!(!td.doc.contains_key(key), "{key} kept");
            assert!(
                td.notes.iter().any(|n| n.contains(key)),
                "no note for {key}"
            );
        }
        assert_eq!(td.doc["tags"][0]["key"], "team");
    }

    #[test]
    fn reports_every_problem_at_once_with_lines() {
        // The seeds' own taskdef.json: a doubled "s" and a quoted boolean.
        let src = r#"{
 "containerDefinitions": [{
  "name": "task-td-ctn",
  "image": "<IMAGE>",
  "essential": "true"
 }],
 "requiresCompatibilitiess": ["EC2"],
 "cpu": 512,
 "family": "skills-td"
}"#;
        let Err(Error::FileProblems { problems, .. }) = parse(src) else {
            panic!("expected problems");
        };
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            vec![
                "line 5, `containerDefinitions[0].essential`: must be true or false (without quotes), not the string \"true\"",
                "line 7, `requiresCompatibilitiess`: unknown key; did you mean `requiresCompatibilities`?",
                "line 8, `cpu`: must be a string, not the number 512",
            ]
        );
    }

    #[test]
    fn missing_and_duplicate_containers() {
        let Err(Error::FileProblems { problems, .. }) = parse(r#"{"family": "web"}"#) else {
            panic!()
        };
        assert_eq!(problems[0].field, "containerDefinitions");
        let src = r#"{"family": "web", "containerDefinitions": [{"name": "a", "image": "x"}, {"name": "a", "image": "y"}]}"#;
        let Err(Error::FileProblems { problems, .. }) = parse(src) else {
            panic!()
        };
        assert!(problems[0].message.contains("unique"));
    }

    #[test]
    fn renders_the_sole_container() {
        let mut td = parse(SEED_LIKE).unwrap();
        render(&mut td, SEED_LIKE, &cfg(&[("image", "repo/web:2")])).unwrap();
        assert_eq!(td.image_of("web"), Some("repo/web:2"));
        assert!(
            td.notes
                .iter()
                .any(|n| n == "container `web`: image <IMAGE> → repo/web:2")
        );
    }

    #[test]
    fn unknown_container_suggests_names() {
        let mut td = parse(SEED_LIKE).unwrap();
        let err = render(
            &mut td,
            SEED_LIKE,
            &cfg(&[("container-name", "wbe"), ("image", "r:1")]),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("no container named `wbe`"), "{msg}");
        assert!(msg.contains("did you mean `web`?"), "{msg}");
    }

    #[test]
    fn ambiguous_image_target() {
        let src = r#"{"family": "web", "containerDefinitions": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}"#;
        let mut td = parse(src).unwrap();
        let err = render(&mut td, src, &cfg(&[("image", "r:1")])).unwrap_err();
        assert!(err.to_string().contains("2 containers (a, b)"), "{err}");
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn fargate_and_cross_field_rules() {
        let src = r#"{"family": "web", "requiresCompatibilities": ["FARGATE"], "networkMode": "bridge",
            "cpu": "256", "memory": "4096",
            "containerDefinitions": [{"name": "web", "image": "x", "essential": false,
              "portMappings": [{"containerPort": 70000}],
              "secrets": [{"name": "DB", "valueFrom": "arn:aws:s3:::bucket/key"},
                          {"name": "OK", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/web/db"},
                          {"name": "SM", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:web-db-AbCdEf"}]}]}"#;
        let Err(Error::FileProblems { problems, .. }) = parse(src) else {
            panic!()
        };
        let text: Vec<String> = problems
            .iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect();
        let mut text = text;
        text.sort();
        assert_eq!(
            text,
            vec![
                "containerDefinitions: has no essential container; mark at least one `\"essential\": true`",
                "containerDefinitions[0].portMappings[0].containerPort: 70000 is not a port (1-65535)",
                "containerDefinitions[0].secrets[0].valueFrom: is an ARN but not of an SSM parameter or Secrets Manager secret; use arn:aws:ssm:REGION:ACCOUNT:parameter/NAME or arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME",
                "cpu: FARGATE does not offer cpu 256 with memory 4096 MiB; see the task size table in the ECS developer guide",
                "networkMode: must be `awsvpc` for FARGATE (requiresCompatibilities includes FARGATE)",
            ]
        );
    }

    #[test]
    fn containers_must_fit_in_the_task() {
        let src = r#"{"family": "web", "cpu": "1024", "memory": "2048",
            "containerDefinitions": [
              {"name": "a", "image": "x", "cpu": 768, "memory": 1024},
              {"name": "b", "image": "x", "cpu": 512, "memory": 4096, "memoryReservation": 1536}]}"#;
        let Err(Error::FileProblems { problems, .. }) = parse(src) else {
            panic!()
        };
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(
            text.iter()
                .any(|t| t.contains("reserve 1280 CPU units together, more than the task's 1024")),
            "{text:#?}"
        );
        assert!(
            text.iter().any(|t| t.contains("reserve 2560 MiB together")),
            "{text:#?}"
        );
        let fits = r#"{"family": "web", "cpu": "1 vCPU", "memory": "2 GB",
            "containerDefinitions": [{"name": "a", "image": "x", "cpu": 1024, "memoryReservation": 2048, "memory": 4096}]}"#;
        parse(fits).unwrap();
    }

    #[test]
    fn fargate_sizes() {
        assert_eq!(fargate_size_problem("256", "512"), None);
        assert_eq!(fargate_size_problem("1 vCPU", "2 GB"), None);
        assert_eq!(fargate_size_problem("4096", "30720"), None);
        assert!(fargate_size_problem("512", "512").is_some());
        assert!(fargate_size_problem("300", "512").is_some());
    }

    #[test]
    fn awsvpc_host_port_must_match() {
        let src = r#"{"family": "web", "networkMode": "awsvpc",
            "containerDefinitions": [{"name": "web", "image": "x", "portMappings": [{"containerPort": 80, "hostPort": 8080}]}]}"#;
        let Err(Error::FileProblems { problems, .. }) = parse(src) else {
            panic!()
        };
        assert!(
            problems[0]
                .message
                .contains("with networkMode awsvpc they must be equal"),
            "{problems:?}"
        );
    }

    #[test]
    fn overrides_are_rendered_into_the_container() {
        let mut td = parse(SEED_LIKE).unwrap();
        let c = cfg(&[
            ("image", "repo/web:7"),
            (
                "environment-variables",
                "APP_VERSION=1.42.0\n# comment\nEMPTY=\n",
            ),
            (
                "secrets",
                "DB_PASSWORD=arn:aws:ssm:us-east-1:123456789012:parameter/web/db",
            ),
            ("log-configuration-log-driver", "awslogs"),
            (
                "log-configuration-options",
                "awslogs-group=/ecs/web\nawslogs-region=us-east-1",
            ),
            ("docker-labels", "team=shop"),
        ]);
        render(&mut td, SEED_LIKE, &c).unwrap();
        let web = &td.doc["containerDefinitions"][0];
        assert_eq!(
            web["environment"],
            serde_json::json!([{"name": "EMPTY", "value": ""}, {"name": "APP_VERSION", "value": "1.42.0"}])
        );
        assert_eq!(
            web["secrets"][0]["valueFrom"],
            "arn:aws:ssm:us-east-1:123456789012:parameter/web/db"
        );
        assert_eq!(
            web["logConfiguration"]["options"]["awslogs-group"],
            "/ecs/web"
        );
        assert_eq!(web["dockerLabels"]["team"], "shop");
        for (secret, needle) in [
            ("X=arn:aws:s3:::bucket", "not of an SSM parameter"),
            ("X=hunter2 is my password", "contains whitespace"),
            ("X=web/db", "without its leading `/`"),
        ] {
            let m: BTreeMap<String, String> = [
                ("task-definition", "taskdef.json"),
                ("service", "web"),
                ("image", "repo/web:7"),
                ("secrets", secret),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
            let e = Config::from_inputs(&m).unwrap_err().to_string();
            assert!(
                e.starts_with("input `secrets`") && e.contains(needle),
                "{e}"
            );
            assert!(!e.contains("hunter2") && !e.contains("bucket"), "{e}");
        }
    }

    #[test]
    fn image_definitions_are_an_image_source() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("imagedefinitions.json");
        std::fs::write(&path, r#"[{"name": "web", "imageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:7"}]"#).unwrap();
        let mut td = parse(SEED_LIKE).unwrap();
        render(
            &mut td,
            SEED_LIKE,
            &cfg(&[("image-definitions", path.to_str().unwrap())]),
        )
        .unwrap();
        assert_eq!(
            td.image_of("web"),
            Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/web:7")
        );
        std::fs::write(&path, r#"{"name": "web"}"#).unwrap();
        let e = render(
            &mut td,
            SEED_LIKE,
            &cfg(&[("image-definitions", path.to_str().unwrap())]),
        )
        .unwrap_err();
        assert!(e.to_string().contains("must be a list"), "{e}");
    }

    #[test]
    fn mutable_and_placeholder_images_are_refused_unless_allowed() {
        let src = r#"{"family": "web", "containerDefinitions": [
            {"name": "web", "image": "<IMAGE>"},
            {"name": "proxy", "image": "envoyproxy/envoy"},
            {"name": "xray", "image": "amazon/aws-xray-daemon:latest"},
            {"name": "ok", "image": "public.ecr.aws/nginx/nginx:1.27"}]}"#;
        let mut td = parse(src).unwrap();
        let Err(Error::FileProblems { problems, .. }) = render(&mut td, src, &cfg(&[])) else {
            panic!()
        };
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "containerDefinitions[0].image",
                "containerDefinitions[1].image",
                "containerDefinitions[2].image"
            ]
        );
        assert!(problems[0].message.contains("placeholder"));
        assert!(problems[1].message.contains("untagged"));
        assert!(problems[2].message.contains("mutable tag `latest`"));
        let mut td = parse(src).unwrap();
        let allowed = cfg(&[
            ("allow-mutable-images", "true"),
            ("container-name", "web"),
            ("image", "repo/web:7"),
        ]);
        render(&mut td, src, &allowed).unwrap();
    }

    #[test]
    fn tags_input_adds_and_replaces() {
        let src = r#"{"family": "web", "tags": [{"key": "team", "value": "old"}],
            "containerDefinitions": [{"name": "web", "image": "repo/web:1"}]}"#;
        let mut td = parse(src).unwrap();
        render(&mut td, src, &cfg(&[("tags", "team=shop\ncost-center=42")])).unwrap();
        assert_eq!(
            td.doc["tags"],
            serde_json::json!([{"key": "team", "value": "shop"}, {"key": "cost-center", "value": "42"}])
        );
    }

    #[test]
    fn registered_references() {
        assert_eq!(
            registered_reference(Path::new(
                "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7"
            ))
            .as_deref(),
            Some("arn:aws:ecs:us-east-1:123456789012:task-definition/web:7")
        );
        assert_eq!(
            registered_reference(Path::new("web:7")).as_deref(),
            Some("web:7")
        );
        assert_eq!(
            registered_reference(Path::new("web")).as_deref(),
            Some("web")
        );
        assert_eq!(registered_reference(Path::new("taskdef.json")), None);
        assert_eq!(registered_reference(Path::new("web:latest")), None);
    }

    #[test]
    fn container_names_and_dependencies_are_checked() {
        let src = r#"{"family": "web", "containerDefinitions": [
            {"name": "my app", "image": "repo/web:1"},
            null,
            {"name": "web", "image": "repo/web:1", "dependsOn": [{"containerName": "envoy", "condition": "HEALTHY"}]}]}"#;
        let Err(Error::FileProblems { problems, .. }) = parse(src) else {
            panic!()
        };
        let text: Vec<String> = problems
            .iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect();
        assert!(
            text.iter().any(|t| t.starts_with(
                "containerDefinitions[0].name: `my app` is not a valid container name"
            )),
            "{text:#?}"
        );
        assert!(
            text.iter()
                .any(|t| t
                    .starts_with("containerDefinitions[1]: must be a container definition object")),
            "{text:#?}"
        );
        assert!(
            text.iter().any(|t| t.starts_with(
                "containerDefinitions[2].dependsOn[0].containerName: `envoy` is not a container"
            )),
            "{text:#?}"
        );
    }
}
