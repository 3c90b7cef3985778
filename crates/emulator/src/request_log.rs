//! The request log: one JSON line per request and its response, so that a test can check what a
//! provider really sent against the clouds' published API descriptions.
//!
//! Each line holds `time`, `method`, `path`, `query`, `request_headers` (without credentials),
//! `request_body`, `status`, `response_body` and `duration_ms`. Bodies are JSON values when they
//! parse as JSON and strings otherwise; a streamed response (a Kubernetes watch) is logged with
//! `"response_body": null` and `"streamed": true` instead of being waited for.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::{to_bytes, Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use crate::{clock, EmulatorError};

/// Largest request or response body the log buffers (and thus the emulator accepts).
const BODY_LIMIT: usize = 32 * 1024 * 1024;

/// Headers that carry credentials and never reach the log.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "x-amz-security-token",
];

pub(crate) struct RequestLog {
    path: PathBuf,
    file: Mutex<File>,
}

impl RequestLog {
    pub fn open(path: &Path) -> Result<RequestLog, EmulatorError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| EmulatorError::io(parent, e))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| EmulatorError::io(path, e))?;
        Ok(RequestLog {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    fn append(&self, entry: &Value) {
        let mut line = entry.to_string();
        line.push('\n');
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // One write per line keeps lines whole even when another process appends too.
        if let Err(e) = file.write_all(line.as_bytes()) {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot write the request log");
        }
    }
}

/// Middleware recording every request that passes through it.
pub(crate) async fn record(
    State(log): State<Arc<RequestLog>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let request_bytes = match to_bytes(body, BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return (
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large",
            )
                .into_response()
        }
    };
    let mut entry = Map::new();
    entry.insert("time".into(), clock::display_precise(clock::now()).into());
    entry.insert("method".into(), parts.method.as_str().into());
    entry.insert("path".into(), parts.uri.path().into());
    entry.insert(
        "query".into(),
        parts.uri.query().map_or(Value::Null, Value::from),
    );
    entry.insert("request_headers".into(), headers_json(&parts.headers));
    entry.insert("request_body".into(), body_json(&request_bytes));

    let request = Request::from_parts(parts, Body::from(request_bytes));
    let response = next.run(request).await;

    let (parts, body) = response.into_parts();
    let response = if body.size_hint().exact().is_some() {
        let response_bytes = to_bytes(body, BODY_LIMIT).await.unwrap_or_default();
        entry.insert("status".into(), parts.status.as_u16().into());
        entry.insert("response_body".into(), body_json(&response_bytes));
        Response::from_parts(parts, Body::from(response_bytes))
    } else {
        entry.insert("status".into(), parts.status.as_u16().into());
        entry.insert("response_body".into(), Value::Null);
        entry.insert("streamed".into(), true.into());
        Response::from_parts(parts, body)
    };
    entry.insert(
        "duration_ms".into(),
        json!(started.elapsed().as_secs_f64() * 1000.0),
    );
    log.append(&Value::Object(entry));
    response
}

fn headers_json(headers: &HeaderMap) -> Value {
    let mut out = Map::new();
    for (name, value) in headers {
        let name = name.as_str();
        if SECRET_HEADERS.contains(&name) {
            continue;
        }
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match out.get_mut(name) {
            Some(Value::String(existing)) => {
                existing.push_str(", ");
                existing.push_str(&value);
            }
            _ => {
                out.insert(name.to_string(), Value::String(value));
            }
        }
    }
    Value::Object(out)
}

/// A body as the log keeps it: JSON as JSON, anything else as text, with the values of
/// secret-looking fields (passwords, client secrets, tokens) replaced, so that the log — which
/// tests and people read — never holds a credential or a database password. Field names stay:
/// the spec checks need them.
fn body_json(bytes: &Bytes) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    match serde_json::from_slice(bytes) {
        Ok(mut json) => {
            redact_json(&mut json);
            json
        }
        Err(_) => Value::String(redact_form(&String::from_utf8_lossy(bytes))),
    }
}

const REDACTED: &str = "(redacted)";

fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["password", "secret", "token", "assertion", "privatekey", "private_key"]
        .iter()
        .any(|s| name.contains(s))
        // Token *types* and idempotency tokens are not secrets, and the specs check them.
        && !name.contains("requesttoken")
        && !name.ends_with("token_type")
}

fn redact_json(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_secret_name(k) && (v.is_string() || v.is_number()) {
                    *v = Value::String(REDACTED.into());
                } else {
                    redact_json(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        _ => {}
    }
}

/// `a=1&client_secret=x` → `a=1&client_secret=(redacted)`; text that is not a form is kept.
fn redact_form(text: &str) -> String {
    if text.contains(char::is_whitespace) || !text.contains('=') {
        return text.to_string();
    }
    text.split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if is_secret_name(k) => format!("{k}={REDACTED}"),
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod redaction_tests {
    use super::*;

    #[test]
    fn secrets_leave_the_log_and_field_names_stay() {
        let form = Bytes::from_static(
            b"Action=CreateDBInstance&MasterUserPassword=hunter2&DBInstanceIdentifier=db",
        );
        assert_eq!(
            body_json(&form),
            Value::String(
                "Action=CreateDBInstance&MasterUserPassword=(redacted)&DBInstanceIdentifier=db"
                    .into()
            )
        );
        let token = Bytes::from_static(b"grant_type=client_credentials&client_secret=s3cr3t");
        assert!(!body_json(&token).to_string().contains("s3cr3t"));
        let json = Bytes::from_static(
            br#"{"properties":{"administratorLoginPassword":"pw","version":"16"},"clientRequestToken":"abc"}"#,
        );
        assert_eq!(
            body_json(&json),
            json!({"properties":{"administratorLoginPassword":"(redacted)","version":"16"},"clientRequestToken":"abc"})
        );
    }
}
