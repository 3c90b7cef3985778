//! Failures in the shape the Kubernetes API returns them: a `Status` object whose `reason` and
//! `code` clients (kube-rs, kubectl) act on.

use serde_json::{json, Value};

/// An API failure, rendered as a `Status` object.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{reason} ({code}): {message}")]
pub(crate) struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    /// `details` of the Status: which object the failure is about.
    pub details: Option<Value>,
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    pub fn with_details(mut self, group: &str, kind: &str, name: &str) -> ApiError {
        self.details = Some(json!({"name": name, "group": group, "kind": kind}));
        self
    }

    /// `deployments.apps "web" not found`
    pub fn not_found(what: &str, name: &str) -> ApiError {
        ApiError::new(404, "NotFound", format!("{what} {name:?} not found"))
    }

    pub fn already_exists(what: &str, name: &str) -> ApiError {
        ApiError::new(
            409,
            "AlreadyExists",
            format!("{what} {name:?} already exists"),
        )
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(409, "Conflict", message)
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "BadRequest", message)
    }

    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(422, "Invalid", message)
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(401, "Unauthorized", "Unauthorized")
    }

    pub fn method_not_allowed(message: impl Into<String>) -> ApiError {
        ApiError::new(405, "MethodNotAllowed", message)
    }

    pub fn unsupported_media_type(content_type: &str) -> ApiError {
        ApiError::new(
            415,
            "UnsupportedMediaType",
            format!("the body of the request was in an unknown format: {content_type}"),
        )
    }

    /// The `Status` object sent to the client.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            status["details"] = d.clone();
        }
        status
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;
