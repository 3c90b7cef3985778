//! What every DigitalOcean endpoint shares: the error body, bearer authentication, rate-limit
//! headers, request ids, JSON bodies and pagination.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

use crate::clock;
use crate::EmulatorError;

/// An error answered in DigitalOcean's shape: `{"id", "message", "request_id"}`.
///
/// Handlers only say *what* went wrong; [`envelope`] adds the request id and the headers every
/// answer carries, so that error bodies and successful bodies are never out of step.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub id: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            id: error_id(status),
            message: message.into(),
        }
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "The resource you were accessing could not be found.",
        )
    }

    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }
}

impl From<EmulatorError> for ApiError {
    fn from(e: EmulatorError) -> Self {
        tracing::error!(error = %e, "emulated DigitalOcean API failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Unexpected server-side error",
        )
    }
}

/// Marker left on an error response for [`envelope`] to render.
#[derive(Debug, Clone)]
struct ErrorDetail {
    id: &'static str,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(ErrorDetail {
            id: self.id,
            message: self.message,
        });
        response
    }
}

/// The `id` DigitalOcean gives an error of this status.
fn error_id(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        409 => "conflict",
        413 => "request_entity_too_large",
        415 => "unsupported_media_type",
        422 => "unprocessable_entity",
        429 => "too_many_requests",
        503 => "service_unavailable",
        s if s >= 500 => "server_error",
        _ => "unexpected_error",
    }
}

/// Requests allowed per window, as the real API announces in `ratelimit-limit`.
const RATE_LIMIT: u64 = 5000;
const RATE_WINDOW_SECONDS: i64 = 3600;

/// Counts requests in the current rate-limit window so `ratelimit-remaining` goes down as a
/// client works, like the real header does.
#[derive(Debug, Default)]
pub(crate) struct RateWindow {
    start: AtomicU64,
    used: AtomicU64,
}

impl RateWindow {
    /// Records one request; returns (remaining, reset epoch seconds).
    fn take(&self, now: i64) -> (u64, i64) {
        let start = self.start.load(Ordering::Relaxed) as i64;
        if now - start >= RATE_WINDOW_SECONDS {
            self.start.store(now as u64, Ordering::Relaxed);
            self.used.store(0, Ordering::Relaxed);
        }
        let used = self.used.fetch_add(1, Ordering::Relaxed) + 1;
        let start = self.start.load(Ordering::Relaxed) as i64;
        (RATE_LIMIT.saturating_sub(used), start + RATE_WINDOW_SECONDS)
    }
}

/// Seconds a throttled client is told to wait.
pub(crate) const RETRY_AFTER_SECONDS: i64 = 1;

/// Outermost layer of the DigitalOcean API: authenticates, then stamps every answer with a
/// request id and the rate-limit headers, and renders error bodies (including the router's own
/// 404 and 405 answers) in DigitalOcean's shape.
pub(crate) async fn envelope(
    State(window): State<Arc<RateWindow>>,
    request: Request,
    next: Next,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut response = if bearer_token(request.headers()).is_some() {
        next.run(request).await
    } else {
        ApiError::new(StatusCode::UNAUTHORIZED, "Unable to authenticate you.").into_response()
    };

    let status = response.status();
    let detail = response.extensions_mut().remove::<ErrorDetail>();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let detail = match detail {
        Some(detail) => Some(detail),
        None if (status.is_client_error() || status.is_server_error()) && !is_json => {
            Some(ErrorDetail {
                id: error_id(status),
                message: default_message(status),
            })
        }
        None => None,
    };
    if let Some(detail) = detail {
        let body = json!({ "id": detail.id, "message": detail.message, "request_id": request_id });
        let mut rendered = (status, axum::Json(body)).into_response();
        std::mem::swap(rendered.headers_mut(), response.headers_mut());
        rendered.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        rendered.headers_mut().remove(header::CONTENT_LENGTH);
        response = rendered;
    }

    let now = clock::epoch_seconds(clock::now());
    let (remaining, reset) = if status == StatusCode::TOO_MANY_REQUESTS {
        (0, now + RETRY_AFTER_SECONDS)
    } else {
        window.take(now)
    };
    let headers = response.headers_mut();
    headers.insert("ratelimit-limit", HeaderValue::from(RATE_LIMIT));
    headers.insert("ratelimit-remaining", HeaderValue::from(remaining));
    headers.insert("ratelimit-reset", HeaderValue::from(reset));
    if status == StatusCode::TOO_MANY_REQUESTS {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert("x-request-id", value);
    }
    response
}

fn default_message(status: StatusCode) -> String {
    match status.as_u16() {
        404 => "The resource you were accessing could not be found.".into(),
        405 => "The request method is not supported by this resource.".into(),
        413 => "The request body is too large.".into(),
        429 => "API rate limit exceeded.".into(),
        s if s >= 500 => "Unexpected server-side error".into(),
        _ => status
            .canonical_reason()
            .unwrap_or("The request could not be processed.")
            .to_string(),
    }
}

/// The token of an `Authorization: Bearer TOKEN` header, when present and non-empty. Any token
/// is accepted: the emulator checks that clients send credentials, not which.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Parses a JSON request body: malformed JSON is a 400, JSON of the wrong shape a 422, the
/// statuses DigitalOcean uses for the two.
pub(crate) fn parse_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    let text = if body.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        &body[..]
    };
    serde_json::from_slice(text).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            ApiError::unprocessable(format!("request payload validation failed: {e}"))
        }
        _ => ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("The request body is not valid JSON: {e}"),
        ),
    })
}

/// A JSON answer with the content type DigitalOcean sends.
pub(crate) fn json_response(status: StatusCode, body: Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// An empty answer (`204 No Content`, `202 Accepted`).
pub(crate) fn empty_response(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

/// `page` and `per_page` query parameters, with DigitalOcean's defaults and bounds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Paging {
    page: usize,
    per_page: usize,
}

impl Paging {
    pub fn from_query(query: Option<&str>) -> Result<Paging, ApiError> {
        let mut paging = Paging {
            page: 1,
            per_page: 20,
        };
        for (key, value) in query_pairs(query) {
            let parse = |v: &str| {
                v.parse::<usize>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        format!("`{key}` must be a whole number of at least 1, not `{v}`"),
                    )
                })
            };
            match key.as_str() {
                "page" => paging.page = parse(&value)?,
                "per_page" => paging.per_page = parse(&value)?.min(200),
                _ => {}
            }
        }
        Ok(paging)
    }

    /// Cuts one page out of `items` and adds `links` and `meta` to `body`.
    pub fn apply(
        &self,
        items: Vec<Value>,
        key: &str,
        url: &str,
        mut body: Map<String, Value>,
    ) -> Value {
        let total = items.len();
        let last = total.div_ceil(self.per_page).max(1);
        let page: Vec<Value> = items
            .into_iter()
            .skip((self.page - 1).saturating_mul(self.per_page))
            .take(self.per_page)
            .collect();
        let link = |n: usize| format!("{url}?page={n}&per_page={}", self.per_page);
        let mut pages = Map::new();
        if self.page > 1 {
            pages.insert("first".into(), link(1).into());
            pages.insert("prev".into(), link((self.page - 1).min(last)).into());
        }
        if self.page < last {
            pages.insert("last".into(), link(last).into());
            pages.insert("next".into(), link(self.page + 1).into());
        }
        let links = if pages.is_empty() {
            json!({})
        } else {
            json!({ "pages": pages })
        };
        body.insert(key.into(), Value::Array(page));
        body.insert("links".into(), links);
        body.insert("meta".into(), json!({ "total": total }));
        Value::Object(body)
    }
}

/// Decoded `key=value` pairs of a query string.
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
