//! The two clients and the one retry policy every call goes through.
//!
//! GKE is called through the official `google-cloud-container-v1` client (HTTP/JSON with
//! `$alt=json;enum-encoding=int`); its own retry policy is turned off so that every attempt
//! passes through [`Api::retry`], which follows [`strata_core::retry`] and reports each
//! throttled or successful answer to [`Pressure`]. Cloud SQL Admin is plain REST over
//! `reqwest`, with the same loop.
//!
//! Only idempotent calls are retried blindly: reads, deletes, and calls that set a target
//! (`setSize`, `setAutoscaling`, `updateMaster`...). A create is retried only after looking up
//! the object by name and finding it absent, so retries never make two.

use crate::auth::Identity;
use crate::errors::{gax_failure, http_error, Failure};
use crate::settings::Settings;
use google_cloud_container_v1::client::ClusterManager;
use google_cloud_gax::retry_policy::NeverRetry;
use reqwest::Method;
use std::future::Future;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};
use strata_core::provider::{ErrorKind, ProviderError, ProviderResult};
use strata_core::retry::{jitter_unit, server_delay, Pressure};

pub(crate) type Json = serde_json::Value;

/// The configured clients. Cheap to share behind an `Arc`; safe to use concurrently.
#[derive(Debug)]
pub(crate) struct Api {
    pub settings: Settings,
    pub identity: Identity,
    pub gke: ClusterManager,
    http: reqwest::Client,
}

/// Where one call stands in the retry policy.
struct Tries {
    /// Retries made since `started`.
    attempt: u32,
    started: Instant,
    /// When the object was first found busy with another operation.
    busy_since: Option<Instant>,
}

impl Tries {
    fn new() -> Tries {
        Tries {
            attempt: 0,
            started: Instant::now(),
            busy_since: None,
        }
    }
}

fn pressure() -> std::sync::Arc<Pressure> {
    Pressure::of(crate::provider::NAME)
}

impl Api {
    pub async fn new(settings: Settings) -> ProviderResult<Api> {
        let identity = Identity::new(&settings.credentials)?;
        let gke = ClusterManager::builder()
            .with_endpoint(settings.container_endpoint.clone())
            .with_credentials(identity.credentials())
            .with_retry_policy(NeverRetry)
            .build()
            .await
            .map_err(|e| {
                ProviderError::new(
                    ErrorKind::InvalidConfig,
                    format!("cannot set up the GKE client: {e}"),
                )
            })?;
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
        Ok(Api {
            settings,
            identity,
            gke,
            http,
        })
    }

    /// Runs `attempt` until it succeeds, fails for good, or the policy's deadline passes.
    pub async fn retry<T, F, Fut>(&self, mut attempt: F) -> ProviderResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let mut tries = Tries::new();
        loop {
            match attempt().await {
                Ok(v) => return Ok(v),
                Err(failure) => self.back_off(failure, &mut tries).await?,
            }
        }
    }

    /// Sleeps before the next try, or returns the error when there is to be none.
    ///
    /// Waiting for another operation to finish is not a failure: it has its own limit (the
    /// operation timeout), and the retry policy's count and deadline start again afterwards,
    /// so that a transient error after a long wait is still retried.
    async fn back_off(&self, failure: Failure, tries: &mut Tries) -> ProviderResult<()> {
        if failure.busy() {
            let since = *tries.busy_since.get_or_insert_with(Instant::now);
            if since.elapsed() < self.settings.operation_timeout {
                tracing::debug!(error = %failure.error, "waiting for the running operation");
                tokio::time::sleep(self.settings.poll_interval).await;
                tries.attempt = 0;
                tries.started = Instant::now();
                return Ok(());
            }
        }
        if !failure.error.is_retryable() {
            return Err(failure.error);
        }
        tries.attempt += 1;
        let (attempt, started) = (tries.attempt, tries.started);
        match self.settings.retry.next_delay(
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

    /// One idempotent GKE call, retried. `what` names it in errors (`GET cluster "x"`).
    pub async fn gke<T, F, Fut>(&self, what: &str, call: F) -> ProviderResult<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = google_cloud_gax::Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        self.retry(|| async { gke_once(what, Ok(call().await)) })
            .await
    }

    /// A GKE create: tried once per round, and after an ambiguous failure `exists` is asked
    /// before trying again, so that a create that went through is not sent twice.
    pub async fn gke_create<T, F, Fut, E, EFut>(
        &self,
        what: &str,
        call: F,
        exists: E,
    ) -> ProviderResult<Option<T>>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = google_cloud_gax::Result<T>> + Send + 'static,
        T: Send + 'static,
        E: Fn() -> EFut,
        EFut: Future<Output = ProviderResult<bool>>,
    {
        let mut tries = Tries::new();
        let mut n = 0;
        loop {
            n += 1;
            let failure = match gke_once(what, Ok(call().await)) {
                Ok(v) => return Ok(Some(v)),
                Err(f) => f,
            };
            // The object appearing means an earlier attempt made it: adopt it (None).
            let conflict = failure.error.kind == ErrorKind::Conflict && n > 1;
            if (failure.ambiguous || conflict) && exists().await? {
                return Ok(None);
            }
            self.back_off(failure, &mut tries).await?;
        }
    }

    /// One idempotent Cloud SQL Admin call (anything but an insert, see [`Api::sql_create`]),
    /// retried; answers the JSON body.
    pub async fn sql(
        &self,
        method: Method,
        path: &str,
        body: Option<&Json>,
    ) -> ProviderResult<Json> {
        self.retry(|| self.sql_once(&method, path, body)).await
    }

    /// `GET` that answers `None` for 404.
    pub async fn sql_get_optional(&self, path: &str) -> ProviderResult<Option<Json>> {
        match self.sql(Method::GET, path, None).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A Cloud SQL insert, protected the same way as [`Api::gke_create`].
    pub async fn sql_create<E, EFut>(
        &self,
        path: &str,
        body: &Json,
        exists: E,
    ) -> ProviderResult<Option<Json>>
    where
        E: Fn() -> EFut,
        EFut: Future<Output = ProviderResult<bool>>,
    {
        let mut tries = Tries::new();
        let mut n = 0;
        loop {
            n += 1;
            let failure = match self.sql_once(&Method::POST, path, Some(body)).await {
                Ok(v) => return Ok(Some(v)),
                Err(f) => f,
            };
            let conflict = failure.error.kind == ErrorKind::Conflict && n > 1;
            if (failure.ambiguous || conflict) && exists().await? {
                return Ok(None);
            }
            self.back_off(failure, &mut tries).await?;
        }
    }

    async fn sql_once(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Json>,
    ) -> Result<Json, Failure> {
        let token = self
            .identity
            .access_token()
            .await
            .map_err(|error| Failure {
                ambiguous: false,
                throttled: false,
                retry_after: None,
                error,
            })?;
        let url = format!("{}{}", self.settings.sql_endpoint, path);
        let mut request = self.http.request(method.clone(), &url).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                let what = e.without_url();
                let connect = what.is_connect();
                return Err(Failure {
                    error: ProviderError::new(
                        ErrorKind::Unavailable,
                        format!("{method} {url}: the call failed ({what})"),
                    )
                    .with_hint("check the network and the provider's sql_endpoint"),
                    ambiguous: !connect,
                    throttled: false,
                    retry_after: None,
                });
            }
        };
        let status = response.status().as_u16();
        let retry_after = server_delay(
            |name| response.headers().get(name).and_then(|v| v.to_str().ok()),
            status == 429,
            SystemTime::now(),
        );
        let text = response.text().await.unwrap_or_default();
        tracing::debug!(%method, path, status, "cloud sql admin call");
        if (200..300).contains(&status) {
            pressure().succeeded();
            return Ok(if text.trim().is_empty() {
                Json::Null
            } else {
                serde_json::from_str(&text).map_err(|e| Failure {
                    error: ProviderError::new(
                        ErrorKind::Api,
                        format!("{method} {path}: the answer is not JSON ({e})"),
                    ),
                    ambiguous: false,
                    throttled: false,
                    retry_after: None,
                })?
            });
        }
        let error = http_error(method.as_str(), path, status, &text);
        let throttled = error.kind == ErrorKind::Throttled;
        if throttled {
            pressure().throttled();
        }
        Err(Failure {
            ambiguous: error.kind == ErrorKind::Unavailable,
            throttled,
            retry_after,
            error,
        })
    }
}

/// Threads with room for the GKE client's deepest calls: handling a `Cluster` (hundreds of
/// nested message types) takes more stack than a default 2 MiB runtime thread has in
/// unoptimised builds, so every operation of this provider runs on this runtime's larger
/// stacks.
fn big_stack_runtime() -> Option<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<Option<tokio::runtime::Runtime>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("strata-google")
                .thread_stack_size(32 << 20)
                .enable_all()
                .build()
                .ok()
        })
        .as_ref()
}

/// Runs `work` on [`big_stack_runtime`] (inline if that runtime could not start).
pub(crate) async fn on_big_stack<T: Send + 'static>(
    work: impl Future<Output = ProviderResult<T>> + Send + 'static,
) -> ProviderResult<T> {
    match big_stack_runtime() {
        Some(rt) => rt.spawn(work).await.unwrap_or_else(|e| {
            Err(ProviderError::new(
                ErrorKind::Internal,
                format!("a google provider operation stopped unexpectedly: {e}"),
            ))
        }),
        None => work.await,
    }
}

/// Classifies one GKE answer and reports it to [`Pressure`].
fn gke_once<T>(
    what: &str,
    answer: Result<google_cloud_gax::Result<T>, String>,
) -> Result<T, Failure> {
    let answer = answer.map_err(|e| Failure {
        error: ProviderError::new(
            ErrorKind::Internal,
            format!("{what}: the call was lost ({e})"),
        ),
        ambiguous: true,
        throttled: false,
        retry_after: None,
    })?;
    match answer {
        Ok(v) => {
            pressure().succeeded();
            Ok(v)
        }
        Err(e) => {
            let failure = gax_failure(what, &e);
            if failure.throttled {
                pressure().throttled();
            }
            Err(failure)
        }
    }
}
