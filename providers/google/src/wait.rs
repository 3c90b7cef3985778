//! Waiting for long-running operations: poll, report the cloud's status when it changes, and
//! give up with a timeout after the configured time.

use crate::api::Api;
use google_cloud_container_v1::model::operation::Status as OpStatus;
use std::time::{Duration, Instant};
use strata_core::provider::{ErrorKind, OperationContext, ProviderError, ProviderResult};

/// A read right after a create may not see the object yet; it is retried for this long.
const NOT_FOUND_GRACE: Duration = Duration::from_secs(15);

/// One wait: call [`Waiter::pending`] after every poll whose answer is not final.
pub(crate) struct Waiter<'a> {
    ctx: &'a OperationContext,
    what: String,
    poll: Duration,
    timeout: Duration,
    started: Instant,
    last_status: Option<String>,
}

impl<'a> Waiter<'a> {
    pub fn new(api: &Api, ctx: &'a OperationContext, what: String) -> Waiter<'a> {
        Waiter {
            ctx,
            what,
            poll: api.settings.poll_interval,
            timeout: api.settings.operation_timeout,
            started: Instant::now(),
            last_status: None,
        }
    }

    /// Reports `status` if it changed, then sleeps until the next poll, or fails when the
    /// operation has taken too long.
    pub async fn pending(&mut self, status: &str) -> ProviderResult<()> {
        self.report(status);
        if self.started.elapsed() + self.poll > self.timeout {
            return Err(ProviderError::new(
                ErrorKind::Timeout,
                format!(
                    "{} was still {status:?} after {}s",
                    self.what,
                    self.started.elapsed().as_secs()
                ),
            )
            .with_hint(
                "the operation may still finish; a later apply or refresh picks up where it stands",
            ));
        }
        tokio::time::sleep(self.poll).await;
        Ok(())
    }

    pub fn report(&mut self, status: &str) {
        if self.last_status.as_deref() != Some(status) {
            self.ctx.report(status);
            self.last_status = Some(status.to_string());
        }
    }

    /// For a poll that answered `error`: keeps waiting on a 404 early in the wait (a new
    /// object or operation may not be visible at once), and fails otherwise.
    pub async fn not_found_grace(&mut self, error: ProviderError) -> ProviderResult<()> {
        if error.kind == ErrorKind::NotFound && self.started.elapsed() < NOT_FOUND_GRACE {
            let status = self.last_status.clone().unwrap_or_else(|| "PENDING".into());
            return self.pending(&status).await;
        }
        Err(error)
    }
}

/// Waits for the GKE operation `name` (`projects/P/locations/L/operations/OP`) to be DONE.
pub(crate) async fn gke_operation(
    api: &Api,
    name: &str,
    ctx: &OperationContext,
    what: &str,
) -> ProviderResult<()> {
    let mut waiter = Waiter::new(api, ctx, what.to_string());
    loop {
        let answer = api
            .gke(&format!("GET operation {name}"), || {
                api.gke.get_operation().set_name(name).send()
            })
            .await;
        let op = match answer {
            Ok(op) => op,
            Err(e) => {
                waiter.not_found_grace(e).await?;
                continue;
            }
        };
        if op.status == OpStatus::Done {
            if let Some(error) = op.error.as_ref().filter(|e| !e.message.is_empty()) {
                return Err(ProviderError::new(
                    ErrorKind::Api,
                    format!("{what} failed: {}", error.message),
                ));
            }
            waiter.report("DONE");
            return Ok(());
        }
        // Unknown statuses are waited through, shown as the number the API sent.
        let status = op
            .status
            .name()
            .map(str::to_string)
            .unwrap_or_else(|| format!("{:?}", op.status.value()));
        waiter.pending(&status).await?;
    }
}

/// Waits for the Cloud SQL operation `name` of `project` to be DONE.
pub(crate) async fn sql_operation(
    api: &Api,
    project: &str,
    name: &str,
    ctx: &OperationContext,
    what: &str,
) -> ProviderResult<()> {
    let mut waiter = Waiter::new(api, ctx, what.to_string());
    let path = format!("/v1/projects/{project}/operations/{name}");
    loop {
        let op = match api.sql(reqwest::Method::GET, &path, None).await {
            Ok(op) => op,
            Err(e) => {
                waiter.not_found_grace(e).await?;
                continue;
            }
        };
        let status = op["status"].as_str().unwrap_or("PENDING").to_string();
        if status == "DONE" {
            let errors: Vec<String> = op
                .pointer("/error/errors")
                .and_then(|e| e.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|e| e["message"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            if !errors.is_empty() {
                return Err(ProviderError::new(
                    ErrorKind::Api,
                    format!("{what} failed: {}", errors.join("; ")),
                ));
            }
            waiter.report("DONE");
            return Ok(());
        }
        waiter.pending(&status).await?;
    }
}

/// Reads an object right after its creation finished: the API may briefly answer 404 before
/// it lists the new object, so a missing object is looked for again for a short while.
pub(crate) async fn appeared<T, F, Fut>(
    api: &Api,
    ctx: &OperationContext,
    what: &str,
    read: F,
) -> ProviderResult<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ProviderResult<Option<T>>>,
{
    let mut waiter = Waiter::new(api, ctx, what.to_string());
    loop {
        match read().await? {
            Some(v) => return Ok(v),
            None => {
                waiter
                    .not_found_grace(ProviderError::new(
                        ErrorKind::NotFound,
                        format!("{what}: the new object is not found"),
                    ))
                    .await?
            }
        }
    }
}
