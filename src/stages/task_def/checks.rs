//! What the request shape cannot say: limits and rules across fields, the images after
//! rendering, and the request size.

use serde_json::{Map, Value};

use super::refs::{is_valid_family, secret_reference_problem};
use super::{TaskDef, containers};
use crate::config::DeployConfig;
use crate::error::{Error, Problem, Result};
use crate::stages::line_of_key;

/// ECS allows at most this many containers in one task definition.
const MAX_CONTAINERS: usize = 10;

/// Every container image, after rendering, must be a real, immutable reference: a leftover
/// placeholder or `latest` means the running image is not the one anyone reviewed.
pub(super) fn check_images(td: &TaskDef, src: &str, cfg: &DeployConfig) -> Result<()> {
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

/// What the shape cannot say: limits and rules across fields. The families run in this order,
/// which is the order their problems are listed in for the same line.
pub(super) fn check_containers(
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
    let any_essential = check_each_container(defs, awsvpc, &mut push);
    check_depends_on(defs, &mut push);
    if !any_essential {
        push(
            "containerDefinitions".into(),
            "essential",
            "has no essential container; mark at least one `\"essential\": true`".into(),
        );
    }
    check_task_size(top, defs, &mut push);
    check_fargate(top, awsvpc, &mut push);
}

/// Each container on its own: object, name, image, ports, secrets, size. Whether any is
/// essential, which only the whole list can answer.
fn check_each_container(
    defs: &[Value],
    awsvpc: bool,
    push: &mut impl FnMut(String, &str, String),
) -> bool {
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
        check_container_size(obj, i, push);
    }
    any_essential
}

/// `dependsOn` names a container of this task definition.
fn check_depends_on(defs: &[Value], push: &mut impl FnMut(String, &str, String)) {
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
}

/// The task's `cpu` and `memory` in range, and what the containers reserve within them.
fn check_task_size(
    top: &Map<String, Value>,
    defs: &[Value],
    push: &mut impl FnMut(String, &str, String),
) {
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
}

/// FARGATE's network mode and task sizes.
fn check_fargate(
    top: &Map<String, Value>,
    awsvpc: bool,
    push: &mut impl FnMut(String, &str, String),
) {
    let fargate = top
        .get("requiresCompatibilities")
        .and_then(Value::as_array)
        .is_some_and(|c| c.iter().any(|x| x == "FARGATE"));
    let task_cpu = top.get("cpu").and_then(Value::as_str);
    let task_memory = top.get("memory").and_then(Value::as_str);
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
