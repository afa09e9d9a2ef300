//! The AWS edge: registering, describing and listing task definitions in ECS.

use serde_json::{Map, Value};

use super::{READ_ONLY_KEYS, TaskDef};
use crate::aws::Clients;
use crate::error::{Error, Result};

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
