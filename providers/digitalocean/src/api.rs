//! The HTTP client: one retry policy for every call, and creates that never run twice.
//!
//! Reads, updates and deletes are idempotent, so [`Api::call`] simply retries them. A `POST`
//! that creates an object is not: if it times out or answers 5xx, the object may exist anyway.
//! [`Api::create`] therefore retries a create only after listing the objects of that name and
//! finding none that was not there before the first attempt; if one appeared, it is adopted.
//!
//! Answers are distrusted: a body is read only up to [`Settings::max_answer_bytes`], a body that
//! is not the JSON the API documents is an error naming the call and where the JSON broke, an
//! HTML page (a proxy's or load balancer's) is summed up rather than repeated, and every request
//! has a timeout, so that a hung connection becomes a retried failure instead of a hung apply.

use crate::errors::{api_error, unexpected_answer};
use crate::settings::Settings;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeSet;
use std::future::Future;
use std::time::{Duration, Instant, SystemTime};
use strata_core::provider::{ErrorKind, ProviderError, ProviderResult};
use strata_core::retry::{jitter_unit, server_delay, Pressure};

pub(crate) type Json = serde_json::Value;

/// A successful answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub body: String,
    method: Method,
    path: String,
}

impl Answer {
    /// The body as JSON, or an error saying where it stopped being JSON. The body itself is not
    /// repeated: it may be anything, secrets included.
    fn json(&self) -> ProviderResult<Json> {
        serde_json::from_str(&self.body).map_err(|e| {
            ProviderError::new(
                ErrorKind::Api,
                format!(
                    "the answer to {} {} is not valid JSON ({e})",
                    self.method, self.path
                ),
            )
            .with_hint(
                "the answer was cut off or did not come from the DigitalOcean API (a proxy?); \
                 nothing was changed in state, so running the command again is safe",
            )
        })
    }

    /// The value under `key` of the JSON body (`{"vpc": {...}}` → the VPC).
    pub fn field<T: DeserializeOwned>(&self, key: &str) -> ProviderResult<T> {
        let json = self.json()?;
        let inner = json.get(key).cloned().ok_or_else(|| {
            unexpected_answer(
                self.method.as_str(),
                &self.path,
                &format!("no {key:?} in it"),
            )
        })?;
        serde_json::from_value(inner).map_err(|e| {
            unexpected_answer(self.method.as_str(), &self.path, &format!("{key}: {e}"))
        })
    }

    /// Like [`Answer::field`], with a missing or `null` key read as the default (an empty
    /// list answered as `{"node_pools": null}` or without the key at all).
    pub fn field_or_default<T: DeserializeOwned + Default>(&self, key: &str) -> ProviderResult<T> {
        let json = self.json()?;
        match json.get(key) {
            None | Some(Json::Null) => Ok(T::default()),
            Some(inner) => serde_json::from_value(inner.clone()).map_err(|e| {
                unexpected_answer(self.method.as_str(), &self.path, &format!("{key}: {e}"))
            }),
        }
    }

    fn next_page(&self) -> bool {
        serde_json::from_str::<Json>(&self.body)
            .ok()
            .and_then(|j| j.pointer("/links/pages/next").cloned())
            .is_some_and(|next| next.is_string())
    }
}

/// A failed attempt, with what the retry loop needs to know about it.
#[derive(Debug)]
struct Failure {
    error: ProviderError,
    /// The delay the server asked for.
    retry_after: Option<Duration>,
    /// The request may have been carried out although it failed (timeout, 5xx, a connection
    /// lost after sending): a create must look before it tries again.
    ambiguous: bool,
}

/// An object the API identifies by id, so that creates can tell new objects from old ones.
pub(crate) trait Identified {
    fn id(&self) -> &str;
}

/// The configured client. Cheap to share behind an `Arc`; safe to use concurrently.
#[derive(Debug)]
pub(crate) struct Api {
    http: reqwest::Client,
    settings: Settings,
}

const PAGE_SIZE: usize = 200;
/// A guard against an API that keeps announcing a next page.
const MAX_PAGES: usize = 500;

impl Api {
    pub fn new(settings: Settings) -> ProviderResult<Api> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("strata/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(settings.http_timeout.min(Duration::from_secs(10)))
            .timeout(settings.http_timeout)
            .build()
            .map_err(|e| {
                ProviderError::new(
                    ErrorKind::Internal,
                    format!("cannot build the HTTP client: {e}"),
                )
            })?;
        Ok(Api { http, settings })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// One request, no retry.
    async fn send_once(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Json>,
    ) -> Result<Answer, Failure> {
        let url = format!("{}{}", self.settings.endpoint, path);
        let mut request = self
            .http
            .request(method.clone(), &url)
            .bearer_auth(self.settings.token.expose());
        if let Some(body) = body {
            request = request.json(body);
        }
        let mut response = match request.send().await {
            Ok(r) => r,
            Err(e) => return Err(self.transport_failure(method, path, e)),
        };
        let status = response.status().as_u16();
        let retry_after = server_delay(
            |name| response.headers().get(name).and_then(|v| v.to_str().ok()),
            status == 429,
            SystemTime::now(),
        );
        let html = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.to_ascii_lowercase().starts_with("text/html"));
        let text = match read_capped(&mut response, self.settings.max_answer_bytes).await {
            Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            Err(BodyError::TooLarge) => {
                return Err(Failure {
                    error: ProviderError::new(
                        ErrorKind::Api,
                        format!(
                            "the answer to {method} {path} is larger than {}; refusing to read it",
                            human_bytes(self.settings.max_answer_bytes)
                        ),
                    )
                    .with_hint(
                        "DigitalOcean's answers are far smaller: check that the endpoint is the \
                         DigitalOcean API and not a proxy or a download",
                    ),
                    retry_after: None,
                    // A create may have gone through although its answer was unreadable.
                    ambiguous: true,
                });
            }
            Err(BodyError::Read(e)) => Err(e),
        };
        tracing::debug!(%method, path, status, "digitalocean api call");
        let pressure = Pressure::of(crate::provider::NAME);
        match status {
            429 => pressure.throttled(),
            200..=299 => pressure.succeeded(),
            _ => {}
        }
        match text {
            Ok(body) if (200..300).contains(&status) => Ok(Answer {
                body,
                method: method.clone(),
                path: path.to_string(),
            }),
            Ok(body) => {
                // A proxy's error page says nothing the status does not, and may be long.
                let body = if html || looks_like_html(&body) {
                    html_summary(&body)
                } else {
                    body
                };
                Err(Failure {
                    error: api_error(method.as_str(), path, status, &body),
                    retry_after,
                    ambiguous: status >= 500,
                })
            }
            Err(e) if e.is_timeout() => Err(self.transport_failure(method, path, e)),
            Err(e) => Err(Failure {
                error: ProviderError::new(
                    ErrorKind::Unavailable,
                    format!(
                        "{method} {path}: the answer was cut off ({})",
                        causes(&e.without_url())
                    ),
                ),
                retry_after: None,
                ambiguous: true,
            }),
        }
    }

    /// A request that got no (complete) answer: it timed out, could not connect, or the
    /// connection was reset. All are retried; all but a refused connection are ambiguous.
    fn transport_failure(&self, method: &Method, path: &str, e: reqwest::Error) -> Failure {
        // Without the URL, which the message names, and never with headers.
        let what = e.without_url();
        let url = format!("{}{}", self.settings.endpoint, path);
        let (message, ambiguous) = if what.is_timeout() {
            (
                format!(
                    "{method} {path} timed out: no answer within {}",
                    human_duration(self.settings.http_timeout)
                ),
                true,
            )
        } else if what.is_connect() {
            (
                format!("{method} {url}: could not connect ({})", causes(&what)),
                false,
            )
        } else if was_reset(&what) {
            (
                format!(
                    "{method} {path}: connection reset: the server closed the connection \
                     without answering"
                ),
                true,
            )
        } else {
            (
                format!("{method} {url}: the connection failed ({})", causes(&what)),
                true,
            )
        };
        Failure {
            error: ProviderError::new(ErrorKind::Unavailable, message)
                .with_hint("check the network and the provider's endpoint; nothing was changed in state, so running the command again is safe"),
            retry_after: None,
            ambiguous,
        }
    }

    /// Sleeps before retry `attempt` of a call started at `started`, or returns the error if
    /// the policy says to stop.
    async fn back_off(
        &self,
        failure: Failure,
        attempt: u32,
        started: Instant,
    ) -> ProviderResult<()> {
        if !failure.error.is_retryable() {
            return Err(failure.error);
        }
        let policy = &self.settings.retry;
        match policy.next_delay(
            attempt,
            failure.retry_after,
            started.elapsed(),
            jitter_unit(),
        ) {
            Some(delay) => {
                tracing::debug!(attempt, ?delay, error = %failure.error, "retrying");
                tokio::time::sleep(delay).await;
                Ok(())
            }
            None => {
                let mut error = failure.error;
                error.message = format!(
                    "{} (gave up after {attempt} attempts in {}s)",
                    error.message,
                    started.elapsed().as_secs()
                );
                Err(error)
            }
        }
    }

    /// An idempotent call (`GET`, `PUT`, `PATCH`, `DELETE`, or a `POST` that sets a target
    /// such as an upgrade's version), retried on throttling and transient failures.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> ProviderResult<Answer> {
        let body = body.map(to_json).transpose()?;
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.send_once(&method, path, body.as_ref()).await {
                Ok(answer) => return Ok(answer),
                Err(failure) => self.back_off(failure, attempt, started).await?,
            }
        }
    }

    pub async fn get(&self, path: &str) -> ProviderResult<Answer> {
        self.call(Method::GET, path, None::<&Json>).await
    }

    /// `GET` that answers `None` for 404.
    pub async fn get_optional<T: DeserializeOwned>(
        &self,
        path: &str,
        key: &str,
    ) -> ProviderResult<Option<T>> {
        match self.get(path).await {
            Ok(answer) => answer.field(key).map(Some),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `DELETE` that treats 404 as done: a retried delete whose first attempt went through
    /// finds nothing left.
    pub async fn delete(&self, path: &str) -> ProviderResult<()> {
        match self.call(Method::DELETE, path, None::<&Json>).await {
            Ok(_) => Ok(()),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Every item of a paginated list.
    pub async fn list<T: DeserializeOwned>(&self, path: &str, key: &str) -> ProviderResult<Vec<T>> {
        let mut out = Vec::new();
        let separator = if path.contains('?') { '&' } else { '?' };
        for page in 1..=MAX_PAGES {
            let answer = self
                .get(&format!(
                    "{path}{separator}page={page}&per_page={PAGE_SIZE}"
                ))
                .await?;
            let items: Vec<T> = answer.field_or_default(key)?;
            let done = items.is_empty() || !answer.next_page();
            out.extend(items);
            if done {
                break;
            }
        }
        Ok(out)
    }

    /// Creates an object with `POST path`, answered as `{key: object}`, so that at most one
    /// object comes of it. `named` lists the existing objects with the new object's name.
    pub async fn create<T, F, Fut>(
        &self,
        path: &str,
        body: &impl Serialize,
        key: &str,
        named: F,
    ) -> ProviderResult<T>
    where
        T: DeserializeOwned + Identified,
        F: Fn() -> Fut,
        Fut: Future<Output = ProviderResult<Vec<T>>>,
    {
        let body = to_json(body)?;
        let before: BTreeSet<String> = named().await?.iter().map(|o| o.id().to_string()).collect();
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let failure = match self.send_once(&Method::POST, path, Some(&body)).await {
                Ok(answer) => match answer.field(key) {
                    Ok(object) => return Ok(object),
                    // Created, but the answer is unreadable: find what was made rather than
                    // lose track of it.
                    Err(error) => Failure {
                        error,
                        retry_after: None,
                        ambiguous: true,
                    },
                },
                Err(failure) => failure,
            };
            if failure.ambiguous {
                let appeared = named()
                    .await?
                    .into_iter()
                    .find(|o| !before.contains(o.id()));
                if let Some(object) = appeared {
                    tracing::debug!(
                        path,
                        id = object.id(),
                        "adopting the object a failed create made"
                    );
                    return Ok(object);
                }
            }
            self.back_off(failure, attempt, started)
                .await
                .map_err(|e| {
                    if e.is_retryable() {
                        e.with_hint("nothing was created; applying again retries the create")
                    } else {
                        e
                    }
                })?;
        }
    }
}

enum BodyError {
    TooLarge,
    Read(reqwest::Error),
}

/// The answer's body, read chunk by chunk and abandoned as soon as it passes `cap` bytes, so
/// that a runaway answer costs at most `cap` bytes of memory.
async fn read_capped(response: &mut reqwest::Response, cap: usize) -> Result<Vec<u8>, BodyError> {
    if response
        .content_length()
        .is_some_and(|announced| announced > cap as u64)
    {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Read)? {
        if body.len() + chunk.len() > cap {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn looks_like_html(body: &str) -> bool {
    let start: String = body.trim_start().chars().take(15).collect();
    let start = start.to_ascii_lowercase();
    start.starts_with("<!doctype html") || start.starts_with("<html")
}

/// What an HTML error page amounts to: its title, at most, and where it came from.
fn html_summary(body: &str) -> String {
    let lower = body.to_ascii_lowercase();
    let title = lower
        .find("<title>")
        .map(|start| start + "<title>".len())
        .and_then(|start| {
            let end = lower[start..].find("</title>")? + start;
            body.get(start..end)
        })
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|t| !t.is_empty())
        .map(|t| t.chars().take(80).collect::<String>());
    let page = match title {
        Some(title) => format!("an HTML page titled {title:?}"),
        None => "an HTML page".to_string(),
    };
    format!("{page} instead of the API's JSON (a proxy or load balancer answered, not the API)")
}

/// The error and its causes on one line (`error sending request: connection closed before
/// message completed`), each said once.
fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

/// True when the connection was closed or reset before a complete answer came.
fn was_reset(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
            ) {
                return true;
            }
        }
        let text = cause.to_string();
        if text.contains("closed before message completed") || text.contains("connection reset") {
            return true;
        }
        source = cause.source();
    }
    false
}

fn human_bytes(n: usize) -> String {
    const MIB: usize = 1024 * 1024;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else {
        format!("{n} bytes")
    }
}

fn human_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

fn to_json(body: &impl Serialize) -> ProviderResult<Json> {
    serde_json::to_value(body).map_err(|e| {
        ProviderError::new(
            ErrorKind::Internal,
            format!("cannot encode a request body: {e}"),
        )
    })
}

/// For `#[serde(deserialize_with = "nullable")]`: reads `null` as the default, as the API
/// answers `null` for many empty strings, lists and maps.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + serde::Deserialize<'de>,
{
    use serde::Deserialize;
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Token;
    use strata_emulator::{BadAnswer, BadAnswers, Emulator, EmulatorConfig};

    const TOKEN: &str = "dop_v1_never_shown";

    async fn emulator(kind: BadAnswer, path: &str) -> Emulator {
        let config = EmulatorConfig {
            bad_answers: BadAnswers {
                kind: Some(kind),
                path_contains: Some(path.to_string()),
                ..BadAnswers::default()
            },
            ..EmulatorConfig::default()
        };
        Emulator::start("127.0.0.1:0".parse().unwrap(), config)
            .await
            .unwrap()
    }

    /// A client with short timings, so that retries run out within a second or two.
    fn api(emulator: &Emulator) -> Api {
        let mut settings = Settings::new(Token::new(TOKEN), &emulator.base_url()).unwrap();
        settings.http_timeout = Duration::from_millis(400);
        settings.retry.initial_delay = Duration::from_millis(20);
        settings.retry.deadline = Duration::from_millis(1200);
        Api::new(settings).unwrap()
    }

    fn assert_clean(e: &ProviderError) {
        let text = format!("{e} {:?}", e.hint);
        assert!(!text.contains(TOKEN), "{text}");
        assert!(
            !text.contains("<html") && !text.contains("Ray ID"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn cut_off_json_is_an_error_naming_the_call_and_where_the_json_broke() {
        let emulator = emulator(BadAnswer::Garbage, "GET /v2/vpcs").await;
        let e = api(&emulator)
            .get_optional::<Json>("/v2/vpcs/abc", "vpc")
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Api);
        assert!(
            e.message
                .starts_with("the answer to GET /v2/vpcs/abc is not valid JSON ("),
            "{e}"
        );
        assert!(e.message.contains("line 1 column"), "{e}");
        assert_clean(&e);
    }

    #[tokio::test]
    async fn an_html_502_is_retried_then_named_without_the_page() {
        let emulator = emulator(BadAnswer::Html502, "GET /v2/vpcs").await;
        let e = api(&emulator).get("/v2/vpcs/abc").await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unavailable);
        assert!(
            e.message
                .contains("DigitalOcean answered 502 to GET /v2/vpcs/abc"),
            "{e}"
        );
        assert!(
            e.message
                .contains("an HTML page titled \"502 Bad Gateway\""),
            "{e}"
        );
        assert!(e.message.contains("gave up after"), "{e}");
        assert_clean(&e);
    }

    #[tokio::test]
    async fn a_huge_answer_is_refused_once_past_the_cap() {
        let emulator = emulator(BadAnswer::Huge, "GET /v2/vpcs").await;
        let mut api = api(&emulator);
        api.settings.max_answer_bytes = 1024 * 1024;
        api.settings.http_timeout = Duration::from_secs(30);
        let e = api.get("/v2/vpcs").await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Api);
        assert_eq!(
            e.message,
            "the answer to GET /v2/vpcs is larger than 1 MiB; refusing to read it"
        );
        assert_clean(&e);
    }

    #[tokio::test]
    async fn a_reset_connection_is_retried_then_said() {
        let emulator = emulator(BadAnswer::Reset, "GET /v2/vpcs").await;
        let e = api(&emulator).get("/v2/vpcs/abc").await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unavailable);
        assert!(
            e.message.starts_with("GET /v2/vpcs/abc: connection reset"),
            "{e}"
        );
        assert!(e.message.contains("gave up after"), "{e}");
        assert_clean(&e);
    }

    #[tokio::test]
    async fn a_hung_connection_times_out_and_says_so() {
        let emulator = emulator(BadAnswer::Hang, "GET /v2/vpcs").await;
        let e = api(&emulator).get("/v2/vpcs/abc").await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unavailable);
        assert!(
            e.message
                .starts_with("GET /v2/vpcs/abc timed out: no answer within 0.4s"),
            "{e}"
        );
        assert_clean(&e);
    }

    #[tokio::test]
    async fn a_create_whose_answer_is_unreadable_looks_before_giving_up() {
        let emulator = emulator(BadAnswer::Garbage, "POST /v2/vpcs").await;
        let api = api(&emulator);
        #[derive(serde::Deserialize)]
        struct Vpc {
            id: String,
            name: String,
        }
        impl Identified for Vpc {
            fn id(&self) -> &str {
                &self.id
            }
        }
        let named = || async {
            let all: Vec<Vpc> = api.list("/v2/vpcs", "vpcs").await?;
            Ok(all.into_iter().filter(|v| v.name == "shop").collect())
        };
        let body =
            serde_json::json!({"name": "shop", "region": "nyc1", "ip_range": "10.10.0.0/16"});
        let e = api
            .create::<Vpc, _, _>("/v2/vpcs", &body, "vpc", named)
            .await
            .err()
            .expect("an unreadable answer is an error");
        assert!(
            e.message
                .starts_with("the answer to POST /v2/vpcs is not valid JSON ("),
            "{e}"
        );
        // The emulator answered before creating anything, and nothing was adopted or made twice.
        assert!(named().await.unwrap().is_empty());
    }
}
