//! Out-of-band changes to Kubernetes objects, handed to the emulated Kubernetes API servers,
//! which own those objects and record such edits under their admin field manager.

use serde_json::Value;

use crate::services::Services;
use crate::EmulatorError;

/// Kind, namespace and name of an inventory entry.
fn identity(object: &Value) -> (String, Option<String>, String) {
    let text = |pointer: &str| {
        object
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let namespace = text("/metadata/namespace");
    (
        text("/kind"),
        (!namespace.is_empty()).then_some(namespace),
        text("/metadata/name"),
    )
}

fn refused(cluster: &str, message: String) -> EmulatorError {
    EmulatorError::Kubernetes {
        cluster: cluster.to_string(),
        message,
    }
}

pub(super) fn set(
    services: &Services,
    cluster: &str,
    object: &Value,
    field: &str,
    value: Value,
) -> Result<(), EmulatorError> {
    let (kind, namespace, name) = identity(object);
    services
        .kube
        .set_field(cluster, &kind, namespace.as_deref(), &name, field, value)
        .map_err(|message| refused(cluster, message))
}

pub(super) fn delete(
    services: &Services,
    cluster: &str,
    object: &Value,
) -> Result<(), EmulatorError> {
    let (kind, namespace, name) = identity(object);
    services
        .kube
        .delete_object(cluster, &kind, namespace.as_deref(), &name)
        .map_err(|message| refused(cluster, message))
}
