//! One module per resource type: requests built from planned attributes, attributes read back
//! from the SDK's answers, and the waits in between.

pub(crate) mod cluster;
pub(crate) mod db_instance;
pub(crate) mod node_group;

use strata_core::provider::{ErrorKind, ProviderError, ProviderResult};
use strata_core::Value;

/// A name `find` looks an object up by; the rest of the planned value may still be unknown.
pub(crate) fn planned_string(
    planned: &Value,
    name: &str,
    type_name: &str,
) -> ProviderResult<String> {
    planned
        .get(name)
        .and_then(|n| n.as_str().map(str::to_string))
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            ProviderError::new(
                ErrorKind::InvalidConfig,
                format!("finding a {type_name} needs its {name}, which is not known"),
            )
        })
}

/// An SDK timestamp as RFC 3339.
pub(crate) fn timestamp(at: Option<&aws_sdk_eks::primitives::DateTime>) -> Value {
    at.and_then(|t| {
        t.fmt(aws_sdk_eks::primitives::DateTimeFormat::DateTime)
            .ok()
    })
    .map(Value::from)
    .unwrap_or(Value::Null)
}
