//! Turning ARM's error answers into errors a user can act on.
//!
//! ARM answers errors as `{"error": {"code": "ResourceGroupNotFound", "message": "...",
//! "details": [...]}}`. The HTTP status decides the [`ErrorKind`] (and so whether the call is
//! retried); the message names the call and repeats ARM's code and words; a hint says what to do.

use serde::Deserialize;
use strata_core::provider::{ErrorKind, ProviderError};

#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: Option<ErrorDetail>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ErrorDetail {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

/// The error for an answer with status `status` to `method path`.
pub(crate) fn arm_error(method: &str, path: &str, status: u16, body: &str) -> ProviderError {
    let detail = serde_json::from_str::<ErrorBody>(body)
        .ok()
        .and_then(|b| b.error)
        .unwrap_or_default();
    let text = match (detail.code.as_deref(), detail.message.as_deref()) {
        (Some(c), Some(m)) if !m.is_empty() => format!("{c}: {m}"),
        (Some(c), _) => c.to_string(),
        (None, Some(m)) if !m.is_empty() => m.to_string(),
        _ => short(body),
    };
    let message = format!("Azure answered {status} to {method} {path}: {text}");
    let (kind, hint) = classify(status, detail.code.as_deref().unwrap_or(""));
    let error = ProviderError::new(kind, message);
    match hint {
        Some(h) => error.with_hint(h),
        None => error,
    }
}

fn classify(status: u16, code: &str) -> (ErrorKind, Option<&'static str>) {
    match status {
        401 => (
            ErrorKind::Credentials,
            Some("the token was refused: check the service principal (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET)"),
        ),
        403 => (
            ErrorKind::Credentials,
            Some("the service principal lacks a role for this: assign it Contributor on the subscription or the resource group (see docs/providers/azure.md)"),
        ),
        404 if code == "ResourceGroupNotFound" => (
            ErrorKind::NotFound,
            Some("create the resource group first (an azure_resource_group resource this one depends on)"),
        ),
        404 => (ErrorKind::NotFound, None),
        409 => (
            ErrorKind::Conflict,
            Some("the resource is busy with another operation or being deleted; wait for it to finish and apply again"),
        ),
        400 | 422 => (
            ErrorKind::InvalidConfig,
            Some("ARM refused the request as invalid: check names, locations, sizes and versions (`az aks get-versions`, `az postgres flexible-server list-skus`)"),
        ),
        429 => (
            ErrorKind::Throttled,
            Some("the subscription's ARM request limit was reached; lower --parallelism or try again in a minute"),
        ),
        500..=599 => (
            ErrorKind::Unavailable,
            Some("Azure could not serve the request; trying again later may succeed"),
        ),
        _ => (ErrorKind::Api, None),
    }
}

/// A body that is not the usual JSON, cut short and on one line.
fn short(body: &str) -> String {
    let one_line: String = body
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    let trimmed = one_line.trim();
    if trimmed.is_empty() {
        "no details given".to_string()
    } else {
        trimmed.to_string()
    }
}

/// An answer that could not be read as ARM documents it.
pub(crate) fn unexpected_answer(method: &str, path: &str, what: &str) -> ProviderError {
    ProviderError::new(
        ErrorKind::Api,
        format!("Azure's answer to {method} {path} could not be read: {what}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_decides_the_kind_and_the_message_keeps_arms_words() {
        let e = arm_error(
            "PUT",
            "/subscriptions/s/resourceGroups/rg",
            404,
            r#"{"error":{"code":"ResourceGroupNotFound","message":"Resource group 'rg' could not be found."}}"#,
        );
        assert_eq!(e.kind, ErrorKind::NotFound);
        assert!(e.message.contains("ResourceGroupNotFound"), "{e}");
        assert!(e.hint.unwrap().contains("azure_resource_group"));
        for (status, kind) in [
            (400, ErrorKind::InvalidConfig),
            (401, ErrorKind::Credentials),
            (409, ErrorKind::Conflict),
            (429, ErrorKind::Throttled),
            (503, ErrorKind::Unavailable),
            (418, ErrorKind::Api),
        ] {
            assert_eq!(arm_error("GET", "/", status, "{}").kind, kind, "{status}");
        }
        let e = arm_error("GET", "/", 502, "<html>\nBad gateway</html>");
        assert!(e.message.contains("<html> Bad gateway</html>"), "{e}");
    }
}
