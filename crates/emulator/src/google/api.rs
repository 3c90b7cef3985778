//! What both emulated Google APIs share: Google's error body, bearer authentication with the
//! tokens the emulated OAuth endpoint issues, fault injection in Google's shape, enum encoding
//! (integers when the client asks `$alt=json;enum-encoding=int`, names otherwise), and the
//! token endpoint itself.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::faults::{Fault, FaultInjector};
use crate::EmulatorError;

/// An error in Google's shape: `{"error": {"code", "message", "status", "errors"}}`.
#[derive(Debug, Clone)]
pub(crate) struct GoogleError {
    pub code: StatusCode,
    pub status: &'static str,
    pub message: String,
}

impl GoogleError {
    pub fn new(code: StatusCode, status: &'static str, message: impl Into<String>) -> Self {
        GoogleError {
            code,
            status,
            message: message.into(),
        }
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message)
    }
    pub fn precondition(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "FAILED_PRECONDITION", message)
    }
    pub fn exists(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "ALREADY_EXISTS", message)
    }
}

impl From<EmulatorError> for GoogleError {
    fn from(e: EmulatorError) -> Self {
        tracing::error!(error = %e, "emulated Google API failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "Internal error encountered.",
        )
    }
}

impl IntoResponse for GoogleError {
    fn into_response(self) -> Response {
        let reason = match self.status {
            "NOT_FOUND" => "notFound",
            "ALREADY_EXISTS" => "alreadyExists",
            "RESOURCE_EXHAUSTED" => "rateLimitExceeded",
            "UNAUTHENTICATED" => "authError",
            "UNAVAILABLE" => "backendError",
            _ => "badRequest",
        };
        let body = json!({
            "error": {
                "code": self.code.as_u16(),
                "message": self.message,
                "status": self.status,
                "errors": [{ "message": self.message, "domain": "global", "reason": reason }],
            }
        });
        json_response(self.code, body)
    }
}

pub(crate) fn json_response(status: StatusCode, body: Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    response
}

/// The prefix of every access token the emulated OAuth endpoint issues.
pub(crate) const TOKEN_PREFIX: &str = "ya29.emulated.";

/// Whether `token` is one the emulated token endpoint could have issued.
pub(crate) fn is_issued_token(token: &str) -> bool {
    token
        .strip_prefix(TOKEN_PREFIX)
        .is_some_and(|rest| rest.len() == 16 && rest.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The access token issued for a refresh token: always the same one, so that kubeconfigs
/// written by separate commands agree (FNV-1a, a stable hash, not a secret).
fn token_for(refresh_token: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in refresh_token.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{TOKEN_PREFIX}{hash:016x}")
}

/// `POST /google/token`: the OAuth 2.0 token endpoint an `authorized_user` credential names in
/// its `token_uri`. Only the refresh-token grant is served, sent as a form or, as Google's
/// endpoint also accepts and the Rust auth library sends, as JSON.
pub(crate) async fn token(body: Bytes) -> Response {
    let form: std::collections::BTreeMap<String, String> =
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(m)) => m
                .into_iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
                .collect(),
            _ => form_urlencoded::parse(&body).into_owned().collect(),
        };
    let grant = form
        .get("grant_type")
        .map(String::as_str)
        .unwrap_or_default();
    let refresh = form
        .get("refresh_token")
        .map(String::as_str)
        .unwrap_or_default();
    if grant != "refresh_token" || refresh.is_empty() {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({
                "error": "unsupported_grant_type",
                "error_description": "the emulated token endpoint serves grant_type=refresh_token with a refresh_token",
            }),
        );
    }
    json_response(
        StatusCode::OK,
        json!({
            "access_token": token_for(refresh),
            "expires_in": 3599,
            "scope": "https://www.googleapis.com/auth/cloud-platform",
            "token_type": "Bearer",
        }),
    )
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// Refuses requests without a token the emulated OAuth endpoint issued, as Google refuses
/// requests without a valid access token.
pub(crate) async fn authenticate(request: Request, next: Next) -> Response {
    match bearer(request.headers()) {
        Some(t) if is_issued_token(t) => next.run(request).await,
        _ => GoogleError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token.",
        )
        .into_response(),
    }
}

/// Counts injected server errors, to alternate 503 UNAVAILABLE and 500 INTERNAL.
static SERVER_ERRORS: AtomicU64 = AtomicU64::new(0);

/// Answers a decided fault in Google's shape, before the request reaches a handler.
pub(crate) async fn inject_fault(
    State(faults): State<Arc<FaultInjector>>,
    request: Request,
    next: Next,
) -> Response {
    match faults.delay_and_decide().await {
        // Google's quota errors carry no Retry-After: clients back off on their own.
        Some(Fault::Throttle) => GoogleError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RESOURCE_EXHAUSTED",
            "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute'.",
        )
        .into_response(),
        Some(Fault::ServerError) => {
            if SERVER_ERRORS
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(2)
            {
                GoogleError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "UNAVAILABLE",
                    "The service is currently unavailable.",
                )
                .into_response()
            } else {
                GoogleError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "INTERNAL",
                    "Internal error encountered.",
                )
                .into_response()
            }
        }
        None => next.run(request).await,
    }
}

/// How enums travel: `$alt=json;enum-encoding=int` asks for integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Enums {
    Names,
    Ints,
}

impl Enums {
    pub fn from_query(query: Option<&str>) -> Enums {
        let asks_ints = query
            .map(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .any(|(k, v)| k == "$alt" && v.contains("enum-encoding=int"))
            })
            .unwrap_or(false);
        if asks_ints {
            Enums::Ints
        } else {
            Enums::Names
        }
    }

    /// `name` of the enum described by `table` ((name, number) pairs), encoded as asked.
    pub fn encode(self, table: &[(&str, i64)], name: &str) -> Value {
        match self {
            Enums::Names => json!(name),
            Enums::Ints => json!(table
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| *v)
                .unwrap_or(0)),
        }
    }
}

/// An enum from a request body, sent as a name or a number; unknown values are refused.
pub(crate) fn decode(
    table: &[(&str, i64)],
    v: &Value,
    field: &str,
) -> Result<Option<String>, GoogleError> {
    let found = match v {
        Value::Null => return Ok(None),
        Value::String(s) => table.iter().find(|(n, _)| n == s),
        Value::Number(n) => table.iter().find(|(_, x)| Some(*x) == n.as_i64()),
        _ => None,
    };
    found
        .map(|(n, _)| Some(n.to_string()))
        .ok_or_else(|| GoogleError::invalid(format!("Invalid value at '{field}' ({v})")))
}

/// A JSON request body (`{}` when empty).
pub(crate) fn parse_body(body: &Bytes) -> Result<Value, GoogleError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(body)
        .map_err(|e| GoogleError::invalid(format!("Invalid JSON payload received. {e}")))
}

/// An integer sent as a number or, for int64 fields, as a string.
pub(crate) fn int(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_are_stable_and_recognised() {
        let t = token_for("r");
        assert_eq!(t, token_for("r"));
        assert!(is_issued_token(&t));
        assert!(!is_issued_token("ya29.real-token"));
        assert!(!is_issued_token(&format!("{TOKEN_PREFIX}xyz")));
    }

    #[test]
    fn enums_follow_the_encoding_the_client_asks_for() {
        let table = [("PROVISIONING", 1), ("RUNNING", 2)];
        let ints = Enums::from_query(Some("%24alt=json%3Benum-encoding%3Dint"));
        assert_eq!(ints, Enums::Ints);
        assert_eq!(ints.encode(&table, "RUNNING"), json!(2));
        assert_eq!(
            Enums::from_query(None).encode(&table, "RUNNING"),
            json!("RUNNING")
        );
        assert_eq!(
            decode(&table, &json!(1), "s").unwrap().as_deref(),
            Some("PROVISIONING")
        );
        assert_eq!(
            decode(&table, &json!("RUNNING"), "s").unwrap().as_deref(),
            Some("RUNNING")
        );
        assert!(decode(&table, &json!(9), "s").is_err());
    }
}
