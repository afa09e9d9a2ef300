//! Task definition: load, clean read-only fields, substitute images, check the shape, register.
//!
//! The document is kept as JSON and sent to RegisterTaskDefinition as written (after cleaning
//! and rendering), so no field the user wrote is silently dropped by a typed model that does not
//! know it; instead unknown keys are refused up front with a suggestion.

use std::path::PathBuf;

use serde_json::{Map, Value};

mod checks;
mod ecs;
mod empty;
mod load;
pub mod prune;
pub mod refs;
#[cfg(test)]
mod tests;
pub mod verify;

pub use checks::{MAX_TASK_DEFINITION_BYTES, check_size, fargate_size_problem};
pub use ecs::{describe_live, previous_in_family, register};
pub use load::{cpu_architecture, from_value, load_image_definitions, pin_image, prepare, render};
pub use refs::{registered_reference, secret_reference_problem};

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

#[derive(Debug, Clone, PartialEq)]
pub struct TaskDef {
    pub path: PathBuf,
    pub family: String,
    /// The cleaned, rendered RegisterTaskDefinition request.
    pub doc: Map<String, Value>,
    /// What cleaning and rendering did, one line each, for the log.
    pub notes: Vec<String>,
    /// The (container, image) pairs rendering wrote, parsed once: what the deploy resolves,
    /// gates and pins.
    pub images: Vec<(String, crate::stages::image::ImageRef)>,
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

    /// The names of the volumes whose configuration is given at launch (a service's EBS
    /// volume, say).
    pub fn volumes_configured_at_launch(&self) -> Vec<&str> {
        self.doc
            .get("volumes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|v| v.get("configuredAtLaunch").and_then(Value::as_bool) == Some(true))
            .filter_map(|v| v.get("name").and_then(Value::as_str))
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

/// Where the task definition comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A file, loaded, rendered and checked.
    File(TaskDef),
    /// An ARN, `family:revision` or `family` (latest ACTIVE) already registered in ECS.
    Registered(String),
}
