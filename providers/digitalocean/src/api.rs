//! The HTTP client: one retry policy for every call, and creates that never run twice.
//!
//! Reads, updates and deletes are idempotent, so [`Api::call`] simply retries them. A `POST`
//! that creates an object is not: if it times out or answers 5xx, the object may exist anyway.
//! [`Api::create`] therefore retries a create only after listing the objects of that name and
//! finding none that was not there before the first attempt; if one appeared, it is adopted.

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
    /// The value under `key` of the JSON body (`{"vpc": {...}}` → the VPC).
    pub fn field<T: DeserializeOwned>(&self, key: &str) -> ProviderResult<T> {
        let json: Json = serde_json::from_str(&self.body).map_err(|e| {
            unexpected_answer(self.method.as_str(), &self.path, &format!("not JSON ({e})"))
        })?;
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
        let json: Json = serde_json::from_str(&self.body).map_err(|e| {
            unexpected_answer(self.method.as_str(), &self.path, &format!("not JSON ({e})"))
        })?;
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
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
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
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                // Without the URL, which is already in the message, and never with headers.
                let what = e.without_url();
                let (kind, ambiguous, reason) = if what.is_timeout() {
                    (ErrorKind::Unavailable, true, "timed out")
                } else if what.is_connect() {
                    (ErrorKind::Unavailable, false, "could not connect")
                } else {
                    (ErrorKind::Unavailable, true, "the connection failed")
                };
                return Err(Failure {
                    error: ProviderError::new(kind, format!("{method} {url}: {reason} ({what})"))
                        .with_hint("check the network and the provider's endpoint"),
                    retry_after: None,
                    ambiguous,
                });
            }
        };
        let status = response.status().as_u16();
        let retry_after = server_delay(
            |name| response.headers().get(name).and_then(|v| v.to_str().ok()),
            status == 429,
            SystemTime::now(),
        );
        let text = response.text().await;
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
            Ok(body) => Err(Failure {
                error: api_error(method.as_str(), path, status, &body),
                retry_after,
                ambiguous: status >= 500,
            }),
            Err(e) => Err(Failure {
                error: ProviderError::new(
                    ErrorKind::Unavailable,
                    format!(
                        "{method} {path}: the answer was cut off ({})",
                        e.without_url()
                    ),
                ),
                retry_after: None,
                ambiguous: true,
            }),
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
                Ok(answer) => return answer.field(key),
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
