//! Turning Google's error answers into errors a user can act on.
//!
//! Both APIs answer errors as `{"error": {"code": 404, "message": "...", "status": "NOT_FOUND"}}`.
//! The HTTP status (or, failing that, the RPC status) decides the [`ErrorKind`] and so whether
//! the call is retried; the message names the call and repeats Google's own words.

use serde::Deserialize;
use strata_core::provider::{ErrorKind, ProviderError};

/// The classification of one failed attempt.
#[derive(Debug)]
pub(crate) struct Failure {
    pub error: ProviderError,
    /// The request may have been carried out although it failed: a create must look before
    /// it tries again.
    pub ambiguous: bool,
    pub throttled: bool,
    /// The delay the server asked for (`Retry-After`).
    pub retry_after: Option<std::time::Duration>,
}

impl Failure {
    /// The object is busy with another operation (GKE runs one per cluster at a time, Cloud
    /// SQL one per instance): worth waiting for, not an error.
    pub fn busy(&self) -> bool {
        self.error.kind == ErrorKind::Conflict
            && (self.error.message.contains("incompatible operation")
                || self.error.message.contains("already in progress"))
    }
}

/// The kind and hint for an HTTP status and Google status name.
pub(crate) fn classify(code: u16, status: &str) -> (ErrorKind, Option<&'static str>) {
    match (code, status) {
        (429, _) | (_, "RESOURCE_EXHAUSTED") => (
            ErrorKind::Throttled,
            Some("Google throttled the calls; a later apply continues where this one stopped"),
        ),
        (401, _) | (_, "UNAUTHENTICATED") => (
            ErrorKind::Credentials,
            Some("the credentials were refused: check GOOGLE_APPLICATION_CREDENTIALS (or credentials in provider \"google\")"),
        ),
        (403, _) | (_, "PERMISSION_DENIED") => (
            ErrorKind::Credentials,
            Some("the account lacks a role: it needs roles/container.admin, roles/cloudsql.admin and roles/iam.serviceAccountUser on the project, and the API must be enabled"),
        ),
        (404, _) | (_, "NOT_FOUND") => (ErrorKind::NotFound, None),
        (409, _) | (_, "ALREADY_EXISTS") | (_, "ABORTED") => (
            ErrorKind::Conflict,
            Some("the object exists already or is busy with another operation; wait for it and apply again"),
        ),
        (400, "FAILED_PRECONDITION") | (412, _) => (
            ErrorKind::Conflict,
            Some("the object is in a state that forbids this change (an operation may be running); apply again once it is done"),
        ),
        (400, _) | (_, "INVALID_ARGUMENT") | (_, "OUT_OF_RANGE") => (
            ErrorKind::InvalidConfig,
            Some("the request was refused as invalid: check names, locations, machine types, tiers and versions in the configuration"),
        ),
        (500..=599, _) | (_, "UNAVAILABLE") | (_, "INTERNAL") | (_, "DEADLINE_EXCEEDED") => (
            ErrorKind::Unavailable,
            Some("Google answered with a server error; applying again retries"),
        ),
        _ => (ErrorKind::Api, None),
    }
}

#[derive(Debug, Default, Deserialize)]
struct Envelope {
    #[serde(default)]
    error: Option<Body>,
}

#[derive(Debug, Default, Deserialize)]
struct Body {
    #[serde(default)]
    code: Option<u16>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

/// The error for an HTTP answer with status `code` and body `body` to `method path`.
pub(crate) fn http_error(method: &str, path: &str, code: u16, body: &str) -> ProviderError {
    let parsed = serde_json::from_str::<Envelope>(body)
        .ok()
        .and_then(|e| e.error)
        .unwrap_or_default();
    let status = parsed.status.unwrap_or_default();
    let detail = match parsed.message.filter(|m| !m.is_empty()) {
        Some(m) if !status.is_empty() => format!("{m} ({status})"),
        Some(m) => m,
        None => short(body),
    };
    let (kind, hint) = classify(parsed.code.unwrap_or(code).max(code), &status);
    let error = ProviderError::new(
        kind,
        format!("Google answered {code} to {method} {path}: {detail}"),
    );
    match hint {
        Some(h) => error.with_hint(h),
        None => error,
    }
}

/// The first line of a body that is not Google's JSON (a proxy's page), shortened.
fn short(body: &str) -> String {
    let line = body.lines().next().unwrap_or_default().trim();
    if line.is_empty() {
        return "no details".into();
    }
    line.chars().take(200).collect()
}

/// The error for a failed call of the GKE client library.
pub(crate) fn gax_failure(what: &str, e: &google_cloud_gax::error::Error) -> Failure {
    let status_name = e
        .status()
        .map(|s| format!("{:?}", s.code))
        .map(|c| to_screaming(&c))
        .unwrap_or_default();
    // An answer of the service: an HTTP status, a Google status, or both.
    if e.http_status_code().is_some() || e.status().is_some() {
        let code = e.http_status_code().unwrap_or_default();
        let message = e
            .status()
            .map(|s| s.message.clone())
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| e.to_string());
        let answered = match (code, status_name.as_str()) {
            (0, name) => name.to_string(),
            (code, "") => code.to_string(),
            (code, name) => format!("{code} {name}"),
        };
        let (kind, hint) = classify(code, &status_name);
        let mut error = ProviderError::new(
            kind,
            format!("GKE answered {answered} to {what}: {message}"),
        );
        if let Some(h) = hint {
            error = error.with_hint(h);
        }
        let retry_after = e.http_headers().and_then(|h| {
            strata_core::retry::server_delay(
                |name| h.get(name).and_then(|v| v.to_str().ok()),
                kind == ErrorKind::Throttled,
                std::time::SystemTime::now(),
            )
        });
        return Failure {
            ambiguous: kind == ErrorKind::Unavailable,
            throttled: kind == ErrorKind::Throttled,
            retry_after,
            error,
        };
    }
    if e.is_authentication() {
        return Failure {
            error: ProviderError::new(
                ErrorKind::Credentials,
                format!("{what}: no access token could be had: {e}"),
            )
            .with_hint("check the Google credentials (GOOGLE_APPLICATION_CREDENTIALS or credentials in provider \"google\")"),
            ambiguous: false,
            throttled: false,
            retry_after: None,
        };
    }
    let transient = e.is_timeout() || e.is_io() || e.is_connect() || e.is_transport();
    Failure {
        error: ProviderError::new(
            if transient {
                ErrorKind::Unavailable
            } else {
                ErrorKind::Internal
            },
            format!("{what} failed: {e}"),
        )
        .with_hint("check the network and the provider's endpoint"),
        // A connection that was never made carried nothing out.
        ambiguous: transient && !e.is_connect(),
        throttled: false,
        retry_after: None,
    }
}

/// `ResourceExhausted` → `RESOURCE_EXHAUSTED`.
fn to_screaming(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_error_bodies_become_actionable_errors() {
        let body =
            r#"{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}}"#;
        let e = http_error("GET", "/v1/projects/p/instances/db", 429, body);
        assert_eq!(e.kind, ErrorKind::Throttled);
        assert!(
            e.message.contains("Quota exceeded (RESOURCE_EXHAUSTED)"),
            "{e}"
        );
        let e = http_error("GET", "/x", 404, "");
        assert_eq!(e.kind, ErrorKind::NotFound);
        let e = http_error(
            "POST",
            "/x",
            400,
            r#"{"error":{"code":400,"message":"op running","status":"FAILED_PRECONDITION"}}"#,
        );
        assert_eq!(e.kind, ErrorKind::Conflict);
        let e = http_error("POST", "/x", 503, "<html>bad gateway</html>");
        assert!(e.is_retryable());
        assert_eq!(to_screaming("ResourceExhausted"), "RESOURCE_EXHAUSTED");
    }
}
