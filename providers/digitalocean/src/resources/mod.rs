//! One module per resource type: the API's shapes for it, the request bodies built from
//! planned attributes, and the attributes read back from the API's answers.

pub(crate) mod cluster;
pub(crate) mod database;
pub(crate) mod node_pool;
pub(crate) mod vpc;

use crate::schema;
use std::collections::BTreeMap;
use strata_core::provider::{ErrorKind, ProviderError, ProviderResult, ResourceObject};
use strata_core::Value;

/// The object to hand back to the engine, with the schema's sensitive attributes marked and,
/// as the provider protocol requires, no unknown left (one could only come from a planned
/// value carried over, and stands for "not reported by the cloud").
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

/// The name a `find` looks objects up by; the rest of the planned value may still be unknown.
pub(crate) fn planned_name(planned: &Value, type_name: &str) -> ProviderResult<String> {
    planned
        .get("name")
        .and_then(|n| n.as_str().map(str::to_string))
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            ProviderError::new(
                ErrorKind::InvalidConfig,
                format!("finding a {type_name} needs its name, which is not known"),
            )
        })
}

/// Picks the one object of a name out of a listing; two or more is a conflict the user must
/// settle, since adopting either could be wrong.
pub(crate) fn the_one<T>(
    mut found: Vec<T>,
    type_name: &str,
    name: &str,
) -> ProviderResult<Option<T>> {
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        n => Err(ProviderError::new(
            ErrorKind::Conflict,
            format!("{n} objects of type {type_name} are named {name:?}"),
        )
        .with_hint("delete the extra ones or import the right one with `strata import`")),
    }
}
