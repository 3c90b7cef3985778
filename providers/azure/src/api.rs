//! The ARM client: one retry policy for every call, and long-running operations followed to
//! their end.
//!
//! Every call this provider makes is idempotent (`GET`, `PUT` of a whole resource, `DELETE`,
//! and the credential listing `POST`), so [`Api::call`] simply retries throttling, 5xx and
//! connection failures. A `PUT` or `DELETE` that ARM accepts as a long-running operation is
//! followed through its `Azure-AsyncOperation` status monitor, else its `Location`, honouring
//! `Retry-After`, until it is `Succeeded`, `Failed` or `Canceled` (see [`OperationStatus`]).

use crate::auth::Tokens;
use crate::errors::{arm_error, unexpected_answer};
use crate::settings::Settings;
use reqwest::header::HeaderMap;
use reqwest::Method;
use std::time::{Duration, Instant, SystemTime};
use strata_core::provider::{ErrorKind, OperationContext, ProviderError, ProviderResult};
use strata_core::retry::{jitter_unit, server_delay, Pressure};

pub(crate) type Json = serde_json::Value;

/// A read right after a create may not see the resource yet; it is retried for this long.
const NOT_FOUND_GRACE: Duration = Duration::from_secs(15);
/// The wait after a throttled answer that names no delay but shows an exhausted quota.
const QUOTA_PAUSE: Duration = Duration::from_secs(1);

/// A successful answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self, method: &Method, path: &str) -> ProviderResult<Json> {
        if self.body.trim().is_empty() {
            return Ok(Json::Null);
        }
        serde_json::from_str(&self.body)
            .map_err(|e| unexpected_answer(method.as_str(), path, &format!("not JSON ({e})")))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

struct Failure {
    error: ProviderError,
    retry_after: Option<Duration>,
}

/// The configured client. Cheap to share behind an `Arc`; safe to use concurrently.
#[derive(Debug)]
pub(crate) struct Api {
    http: reqwest::Client,
    tokens: Tokens,
    settings: Settings,
}

/// The delay a throttled answer asks for: `Retry-After`, else a short pause when an
/// `x-ms-ratelimit-remaining-*` header shows the quota spent.
pub(crate) fn throttle_delay(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(d) = server_delay(header, true, now) {
        return Some(d);
    }
    let spent = headers.iter().any(|(name, value)| {
        name.as_str().starts_with("x-ms-ratelimit-remaining-")
            && value.to_str().is_ok_and(|v| v.trim() == "0")
    });
    spent.then_some(QUOTA_PAUSE)
}

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
        let tokens = Tokens::new(&settings, http.clone())?;
        Ok(Api {
            http,
            tokens,
            settings,
        })
    }

    /// `/subscriptions/{id}`, the prefix of every resource path.
    pub fn subscription(&self) -> String {
        format!("/subscriptions/{}", self.settings.subscription_id)
    }

    /// The URL of `path` (an ARM path, or an absolute URL ARM handed out) at `api_version`.
    fn url(&self, path: &str, api_version: Option<&str>) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            return path.to_string();
        }
        let mut url = format!("{}{}", self.settings.endpoint, path);
        if let Some(v) = api_version {
            url.push(if path.contains('?') { '&' } else { '?' });
            url.push_str("api-version=");
            url.push_str(v);
        }
        url
    }

    /// One request, no retry.
    async fn send_once(
        &self,
        method: &Method,
        url: &str,
        shown: &str,
        body: Option<&Json>,
    ) -> Result<Answer, Failure> {
        let token = self.tokens.token().await.map_err(|error| Failure {
            error,
            retry_after: None,
        })?;
        let mut request = self.http.request(method.clone(), url).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                let what = e.without_url();
                let reason = if what.is_timeout() {
                    "timed out"
                } else if what.is_connect() {
                    "could not connect"
                } else {
                    "the connection failed"
                };
                return Err(Failure {
                    error: ProviderError::new(
                        ErrorKind::Unavailable,
                        format!("{method} {shown}: {reason} ({what})"),
                    )
                    .with_hint("check the network and the provider's endpoint"),
                    retry_after: None,
                });
            }
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let retry_after = if status == 429 {
            throttle_delay(&headers, SystemTime::now())
        } else {
            server_delay(
                |name| headers.get(name).and_then(|v| v.to_str().ok()),
                false,
                SystemTime::now(),
            )
        };
        let text = response.text().await;
        tracing::debug!(%method, path = shown, status, "azure arm call");
        let pressure = Pressure::of(crate::provider::NAME);
        match status {
            429 => pressure.throttled(),
            200..=299 => pressure.succeeded(),
            _ => {}
        }
        match text {
            Ok(body) if (200..300).contains(&status) => Ok(Answer {
                status,
                headers,
                body,
            }),
            Ok(body) => Err(Failure {
                error: arm_error(method.as_str(), shown, status, &body),
                retry_after,
            }),
            Err(e) => Err(Failure {
                error: ProviderError::new(
                    ErrorKind::Unavailable,
                    format!(
                        "{method} {shown}: the answer was cut off ({})",
                        e.without_url()
                    ),
                ),
                retry_after: None,
            }),
        }
    }

    /// An idempotent call, retried on throttling and transient failures within the policy's
    /// deadline. `path` is an ARM path (the api-version is added) or a URL ARM handed out.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        api_version: Option<&str>,
        body: Option<&Json>,
    ) -> ProviderResult<Answer> {
        let url = self.url(path, api_version);
        let shown = path.split('?').next().unwrap_or(path);
        let shown = shown
            .strip_prefix(&self.settings.endpoint)
            .unwrap_or(shown)
            .to_string();
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let failure = match self.send_once(&method, &url, &shown, body).await {
                Ok(answer) => return Ok(answer),
                Err(f) => f,
            };
            if !failure.error.is_retryable() {
                return Err(failure.error);
            }
            match self.settings.retry.next_delay(
                attempt,
                failure.retry_after,
                started.elapsed(),
                jitter_unit(),
            ) {
                Some(delay) => {
                    tracing::debug!(attempt, ?delay, error = %failure.error, "retrying");
                    tokio::time::sleep(delay).await;
                }
                None => {
                    let mut error = failure.error;
                    error.message = format!(
                        "{} (gave up after {attempt} attempts in {}s)",
                        error.message,
                        started.elapsed().as_secs()
                    );
                    return Err(error);
                }
            }
        }
    }

    /// `GET` that answers `None` for 404.
    pub async fn get_optional(
        &self,
        path: &str,
        api_version: &str,
    ) -> ProviderResult<Option<Json>> {
        match self.call(Method::GET, path, Some(api_version), None).await {
            Ok(answer) => answer.json(&Method::GET, path).map(Some),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET` right after a write: a 404 during the first seconds is the resource not being
    /// visible yet, not gone.
    pub async fn get_after_write(&self, path: &str, api_version: &str) -> ProviderResult<Json> {
        let started = Instant::now();
        loop {
            match self.get_optional(path, api_version).await? {
                Some(json) => return Ok(json),
                None if started.elapsed() < NOT_FOUND_GRACE => {
                    tokio::time::sleep(self.settings.poll_interval.min(Duration::from_secs(1)))
                        .await
                }
                None => {
                    return Err(ProviderError::new(
                        ErrorKind::NotFound,
                        format!("{path} was written but cannot be read back"),
                    )
                    .with_hint("it may have been deleted meanwhile; apply again"))
                }
            }
        }
    }

    /// `PUT` of a whole resource, followed to the end of its operation; answers the resource
    /// as read back afterwards.
    pub async fn put(
        &self,
        path: &str,
        api_version: &str,
        body: &Json,
        ctx: &OperationContext,
    ) -> ProviderResult<Json> {
        let answer = self
            .call(Method::PUT, path, Some(api_version), Some(body))
            .await?;
        let initial = answer
            .json(&Method::PUT, path)
            .ok()
            .and_then(|j| provisioning_state(&j))
            .unwrap_or_else(|| "Accepted".to_string());
        self.follow(&answer, path, &initial, ctx).await?;
        self.get_after_write(path, api_version).await
    }

    /// `DELETE`, followed to the end of its operation; a resource already gone is deleted.
    pub async fn delete(
        &self,
        path: &str,
        api_version: &str,
        ctx: &OperationContext,
    ) -> ProviderResult<()> {
        let answer = match self
            .call(Method::DELETE, path, Some(api_version), None)
            .await
        {
            Ok(a) => a,
            Err(e) if e.kind == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        self.follow(&answer, path, "Deleting", ctx).await
    }

    /// A monitor URL gets the bearer token: it must be on the endpoint's own scheme, host and
    /// port, never somewhere an answer could redirect the token to.
    fn check_origin(&self, url: &str, path: &str) -> ProviderResult<()> {
        let origin = |u: &str| {
            reqwest::Url::parse(u).ok().map(|u| {
                (
                    u.scheme().to_string(),
                    u.host_str().map(str::to_string),
                    u.port_or_known_default(),
                )
            })
        };
        let expected = origin(&self.settings.endpoint);
        if expected.is_some() && origin(url) == expected {
            return Ok(());
        }
        Err(unexpected_answer(
            "PUT/DELETE",
            path,
            "the operation's status monitor is not on the ARM endpoint's host",
        )
        .with_hint("check the provider's endpoint (AZURE_RESOURCE_MANAGER_ENDPOINT)"))
    }

    /// Follows the operation an answer started, if any.
    async fn follow(
        &self,
        answer: &Answer,
        path: &str,
        initial: &str,
        ctx: &OperationContext,
    ) -> ProviderResult<()> {
        let monitor = Monitor::of(answer);
        match &monitor {
            Monitor::None => return Ok(()),
            Monitor::AsyncOperation(url) | Monitor::Location(url) => {
                self.check_origin(url, path)?
            }
        }
        let mut waiter = Waiter::new(&self.settings, ctx, path.to_string());
        waiter.report(initial);
        let mut delay = server_delay(|n| answer.header(n), false, SystemTime::now());
        loop {
            waiter.sleep(delay).await?;
            let (status, next_delay) = match &monitor {
                Monitor::AsyncOperation(url) => {
                    let a = self.call(Method::GET, url, None, None).await?;
                    let json = a.json(&Method::GET, path)?;
                    (
                        OperationStatus::of(&json),
                        server_delay(|n| a.header(n), false, SystemTime::now()),
                    )
                }
                Monitor::Location(url) => {
                    let a = self.call(Method::GET, url, None, None).await?;
                    let status = if a.status == 202 {
                        OperationStatus::InProgress(initial.to_string())
                    } else {
                        OperationStatus::Succeeded
                    };
                    (
                        status,
                        server_delay(|n| a.header(n), false, SystemTime::now()),
                    )
                }
                Monitor::None => (OperationStatus::Succeeded, None),
            };
            match status {
                OperationStatus::Succeeded => {
                    waiter.report("Succeeded");
                    return Ok(());
                }
                OperationStatus::InProgress(state) => {
                    let shown = if state.eq_ignore_ascii_case("InProgress") {
                        initial.to_string()
                    } else {
                        state
                    };
                    waiter.report(&shown);
                    delay = next_delay;
                }
                OperationStatus::Failed(message) => {
                    return Err(ProviderError::new(
                        ErrorKind::Api,
                        format!("the operation on {path} failed: {message}"),
                    )
                    .with_hint("the Azure activity log of the resource group has the details"))
                }
                OperationStatus::Canceled => {
                    return Err(ProviderError::new(
                        ErrorKind::Conflict,
                        format!("the operation on {path} was canceled"),
                    )
                    .with_hint("another operation may have superseded it; apply again"))
                }
            }
        }
    }
}

/// `properties.provisioningState` of a resource, if it reports one.
pub(crate) fn provisioning_state(json: &Json) -> Option<String> {
    json.pointer("/properties/provisioningState")
        .and_then(Json::as_str)
        .map(str::to_string)
}

/// Where the outcome of a long-running operation is to be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Monitor {
    AsyncOperation(String),
    Location(String),
    None,
}

impl Monitor {
    /// `Azure-AsyncOperation` when ARM gives one, else `Location` on a `201`/`202`.
    pub fn of(answer: &Answer) -> Monitor {
        if let Some(url) = answer.header("azure-asyncoperation") {
            return Monitor::AsyncOperation(url.to_string());
        }
        match answer.header("location") {
            Some(url) if matches!(answer.status, 201 | 202) => Monitor::Location(url.to_string()),
            _ => Monitor::None,
        }
    }
}

/// The status an `Azure-AsyncOperation` monitor reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OperationStatus {
    /// Not finished; the status as ARM names it (`InProgress`, or a value this code does not
    /// know, which is waited through).
    InProgress(String),
    Succeeded,
    Failed(String),
    Canceled,
}

impl OperationStatus {
    pub fn of(json: &Json) -> OperationStatus {
        let status = json
            .get("status")
            .and_then(Json::as_str)
            .unwrap_or("InProgress");
        match status.to_ascii_lowercase().as_str() {
            "succeeded" => OperationStatus::Succeeded,
            "failed" => {
                let error = json.get("error");
                let code = error.and_then(|e| e.get("code")).and_then(Json::as_str);
                let message = error.and_then(|e| e.get("message")).and_then(Json::as_str);
                OperationStatus::Failed(match (code, message) {
                    (Some(c), Some(m)) => format!("{c}: {m}"),
                    (Some(c), None) => c.to_string(),
                    (None, Some(m)) => m.to_string(),
                    (None, None) => "no details given".to_string(),
                })
            }
            "canceled" | "cancelled" => OperationStatus::Canceled,
            _ => OperationStatus::InProgress(status.to_string()),
        }
    }
}

/// One wait: reports status changes and enforces the operation timeout.
struct Waiter<'a> {
    ctx: &'a OperationContext,
    what: String,
    poll: Duration,
    timeout: Duration,
    started: Instant,
    last: Option<String>,
}

impl<'a> Waiter<'a> {
    fn new(settings: &Settings, ctx: &'a OperationContext, what: String) -> Waiter<'a> {
        Waiter {
            ctx,
            what,
            poll: settings.poll_interval,
            timeout: settings.operation_timeout,
            started: Instant::now(),
            last: None,
        }
    }

    fn report(&mut self, status: &str) {
        if self.last.as_deref() != Some(status) {
            self.ctx.report(status);
            self.last = Some(status.to_string());
        }
    }

    /// Sleeps until the next poll: what ARM asked for, else the poll interval.
    async fn sleep(&self, asked: Option<Duration>) -> ProviderResult<()> {
        let delay = asked.unwrap_or(self.poll).min(Duration::from_secs(60));
        if self.started.elapsed() + delay > self.timeout {
            return Err(ProviderError::new(
                ErrorKind::Timeout,
                format!(
                    "{} was still {:?} after {}s",
                    self.what,
                    self.last.as_deref().unwrap_or("in progress"),
                    self.started.elapsed().as_secs()
                ),
            )
            .with_hint(
                "the operation may still finish; a later apply or refresh picks up where it stands",
            ));
        }
        tokio::time::sleep(delay).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use serde_json::json;

    fn answer(status: u16, headers: &[(&'static str, &str)]) -> Answer {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        Answer {
            status,
            headers: map,
            body: String::new(),
        }
    }

    #[test]
    fn the_async_operation_header_wins_over_location() {
        let a = answer(
            202,
            &[
                ("azure-asyncoperation", "https://a"),
                ("location", "https://l"),
            ],
        );
        assert_eq!(Monitor::of(&a), Monitor::AsyncOperation("https://a".into()));
        let a = answer(202, &[("location", "https://l")]);
        assert_eq!(Monitor::of(&a), Monitor::Location("https://l".into()));
        // A synchronous answer has nothing to follow.
        assert_eq!(
            Monitor::of(&answer(200, &[("location", "https://l")])),
            Monitor::None
        );
        assert_eq!(Monitor::of(&answer(204, &[])), Monitor::None);
    }

    #[test]
    fn operation_statuses_are_read_leniently() {
        assert_eq!(
            OperationStatus::of(&json!({"status": "Succeeded"})),
            OperationStatus::Succeeded
        );
        assert_eq!(
            OperationStatus::of(&json!({"status": "succeeded", "extra": 1})),
            OperationStatus::Succeeded
        );
        assert_eq!(
            OperationStatus::of(
                &json!({"status": "Failed", "error": {"code": "QuotaExceeded", "message": "no cores"}})
            ),
            OperationStatus::Failed("QuotaExceeded: no cores".into())
        );
        assert_eq!(
            OperationStatus::of(&json!({"status": "Canceled"})),
            OperationStatus::Canceled
        );
        // An unknown status is waited through, as is a missing one.
        assert_eq!(
            OperationStatus::of(&json!({"status": "Reconciling"})),
            OperationStatus::InProgress("Reconciling".into())
        );
        assert_eq!(
            OperationStatus::of(&json!({})),
            OperationStatus::InProgress("InProgress".into())
        );
    }

    #[test]
    fn throttled_answers_wait_as_long_as_asked() {
        let now = SystemTime::now();
        let a = answer(429, &[("retry-after", "7")]);
        assert_eq!(
            throttle_delay(&a.headers, now),
            Some(Duration::from_secs(7))
        );
        let a = answer(
            429,
            &[("x-ms-ratelimit-remaining-subscription-writes", "0")],
        );
        assert_eq!(throttle_delay(&a.headers, now), Some(QUOTA_PAUSE));
        let a = answer(
            429,
            &[("x-ms-ratelimit-remaining-subscription-reads", "250")],
        );
        assert_eq!(throttle_delay(&a.headers, now), None);
    }
}
