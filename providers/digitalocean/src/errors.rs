//! Turning DigitalOcean's error answers into errors a user can act on.
//!
//! Every endpoint answers errors as `{"id": "not_found", "message": "...", "request_id": "..."}`.
//! The HTTP status decides the [`ErrorKind`] (and so whether the engine retries); the message
//! names the call and repeats the API's own words, and a hint says what to do about it.

use serde::Deserialize;
use strata_core::provider::{ErrorKind, ProviderError};

/// The shared error shape (`shared/models/error.yml`). Every field is optional here so that an
/// answer from a proxy or a load balancer still yields a useful message.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    request_id: Option<String>,
}

/// The error for an answer with status `status` to `method path`.
pub(crate) fn api_error(method: &str, path: &str, status: u16, body: &str) -> ProviderError {
    let parsed: ErrorBody = serde_json::from_str(body).unwrap_or_default();
    let detail = match (parsed.message.as_deref(), parsed.id.as_deref()) {
        (Some(m), Some(id)) if !m.is_empty() => format!("{m} ({id})"),
        (Some(m), _) if !m.is_empty() => m.to_string(),
        (_, Some(id)) => id.to_string(),
        _ => short(body),
    };
    let mut message = format!("DigitalOcean answered {status} to {method} {path}: {detail}");
    if let Some(request_id) = parsed.request_id.filter(|r| !r.is_empty()) {
        message.push_str(&format!(" [request id {request_id}]"));
    }
    let (kind, hint) = classify(status);
    let error = ProviderError::new(kind, message);
    match hint {
        Some(h) => error.with_hint(h),
        None => error,
    }
}

fn classify(status: u16) -> (ErrorKind, Option<&'static str>) {
    match status {
        401 => (
            ErrorKind::Credentials,
            Some("the API token was refused: check DIGITALOCEAN_TOKEN (or token in provider \"digitalocean\"); it may be mistyped, expired or revoked"),
        ),
        403 => (
            ErrorKind::Credentials,
            Some("the token may lack a scope this operation needs (a read-only token cannot create or delete), or the object is protected: a region's default VPC, or a VPC that still has members, cannot be deleted"),
        ),
        404 => (ErrorKind::NotFound, None),
        409 | 412 => (
            ErrorKind::Conflict,
            Some("the object is busy or in a state that forbids this change; wait for its current operation to finish and apply again"),
        ),
        400 | 422 => (
            ErrorKind::InvalidConfig,
            Some("the request was refused as invalid: check names, regions, sizes and versions in the configuration (`doctl kubernetes options` and `doctl databases options` list the valid ones)"),
        ),
        429 => (
            ErrorKind::Throttled,
            Some("the account's API rate limit was reached; lower --parallelism or try again in a minute"),
        ),
        500..=599 => (
            ErrorKind::Unavailable,
            Some("DigitalOcean could not serve the request; trying again later may succeed"),
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

/// An answer that could not be read as the API documents it.
pub(crate) fn unexpected_answer(method: &str, path: &str, what: &str) -> ProviderError {
    ProviderError::new(
        ErrorKind::Api,
        format!("DigitalOcean's answer to {method} {path} could not be read: {what}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_decides_the_kind_and_the_message_keeps_the_api_words() {
        let e = api_error(
            "POST",
            "/v2/kubernetes/clusters",
            422,
            r#"{"id":"unprocessable_entity","message":"invalid version slug","request_id":"r-1","extra":1}"#,
        );
        assert_eq!(e.kind, ErrorKind::InvalidConfig);
        assert!(e.message.contains("422"), "{e}");
        assert!(e.message.contains("POST /v2/kubernetes/clusters"), "{e}");
        assert!(e.message.contains("invalid version slug"), "{e}");
        assert!(e.message.contains("r-1"), "{e}");
        assert!(e.hint.is_some());

        for (status, kind) in [
            (401, ErrorKind::Credentials),
            (403, ErrorKind::Credentials),
            (404, ErrorKind::NotFound),
            (409, ErrorKind::Conflict),
            (400, ErrorKind::InvalidConfig),
            (429, ErrorKind::Throttled),
            (500, ErrorKind::Unavailable),
            (503, ErrorKind::Unavailable),
            (418, ErrorKind::Api),
        ] {
            let e = api_error("GET", "/v2/vpcs/x", status, r#"{"id":"x","message":"m"}"#);
            assert_eq!(e.kind, kind, "{status}");
        }
        assert!(api_error("GET", "/", 429, "{}").is_retryable());
        assert!(!api_error("GET", "/", 422, "{}").is_retryable());
    }

    #[test]
    fn a_body_that_is_not_json_still_gives_a_readable_message() {
        let e = api_error("GET", "/v2/vpcs", 502, "<html>\nBad gateway\n</html>");
        assert!(e.message.contains("<html> Bad gateway </html>"), "{e}");
        let e = api_error("GET", "/v2/vpcs", 500, "");
        assert!(e.message.contains("no details given"), "{e}");
        let long = "x".repeat(5000);
        assert!(api_error("GET", "/", 500, &long).message.len() < 400);
    }
}
