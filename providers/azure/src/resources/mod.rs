//! One module per resource type: the ARM bodies built from planned attributes, and the
//! attributes read back from ARM's answers.

pub(crate) mod cluster;
pub(crate) mod group;
pub(crate) mod pool;
pub(crate) mod postgres;

use crate::api::Json;
use crate::schema;
use std::collections::BTreeMap;
use strata_core::provider::{ErrorKind, ProviderError, ProviderResult, ResourceObject};
use strata_core::Value;

/// The api-versions used: the newest stable version of each service's published swagger.
pub const RESOURCES_API_VERSION: &str = "2025-04-01";
pub const CONTAINER_SERVICE_API_VERSION: &str = "2026-06-01";
pub const POSTGRESQL_API_VERSION: &str = "2025-08-01";

/// The object to hand back to the engine, with the schema's sensitive attributes marked and no
/// unknown left.
pub(crate) fn object(
    type_name: &str,
    id: &str,
    attributes: BTreeMap<String, Value>,
) -> ResourceObject {
    let value = crate::attrs::without_unknowns(Value::Map(attributes));
    let attributes = match schema::resource(type_name) {
        Some(s) => s.block.mark_sensitive(value),
        None => value,
    };
    ResourceObject {
        id: id.to_string(),
        attributes,
    }
}

/// A string field of an ARM answer (`""` when absent).
pub(crate) fn text<'a>(json: &'a Json, pointer: &str) -> &'a str {
    json.pointer(pointer).and_then(Json::as_str).unwrap_or("")
}

/// A whole-number field of an ARM answer.
pub(crate) fn int(json: &Json, pointer: &str) -> Option<i64> {
    json.pointer(pointer).and_then(Json::as_i64)
}

/// A map of strings in an ARM answer (`tags`, `nodeLabels`), empty when absent.
pub(crate) fn string_map(json: &Json, pointer: &str) -> BTreeMap<String, String> {
    json.pointer(pointer)
        .and_then(Json::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// A list of strings in an ARM answer, empty when absent.
pub(crate) fn string_list(json: &Json, pointer: &str) -> Vec<String> {
    json.pointer(pointer)
        .and_then(Json::as_array)
        .map(|l| {
            l.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Checks a name that goes into an ARM path, so that no configuration can reach another path.
pub(crate) fn path_segment(value: &str, what: &str) -> ProviderResult<String> {
    let ok = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '(' | ')'));
    if ok {
        Ok(value.to_string())
    } else {
        Err(ProviderError::new(
            ErrorKind::InvalidConfig,
            format!("{what} {value:?} may only hold letters, digits, '-', '_', '.', '(' and ')'"),
        ))
    }
}

/// The name a `find` looks a resource up by; the rest of the planned value may still be unknown.
pub(crate) fn planned_string(
    planned: &Value,
    key: &str,
    type_name: &str,
) -> ProviderResult<String> {
    planned
        .get(key)
        .and_then(|n| n.as_str().map(str::to_string))
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            ProviderError::new(
                ErrorKind::InvalidConfig,
                format!("finding a {type_name} needs its {key}, which is not known"),
            )
        })
}

/// Tags for a request body: always an object, so that a PUT clears tags removed from the
/// configuration.
pub(crate) fn tags_json(tags: Option<BTreeMap<String, String>>) -> Json {
    serde_json::to_value(tags.unwrap_or_default()).unwrap_or(Json::Null)
}
