//! Waiting for long-running operations, for every provider: poll, report the cloud's status
//! when it changes, and give up with a timeout after the configured time. The only thing here
//! that touches the outside world is the timer a wait sleeps on.

use crate::provider::{ErrorKind, OperationContext, ProviderError, ProviderResult};
use std::time::{Duration, Instant};

/// How often a provider polls a long-running operation, and for how long at most.
pub trait WaitTiming {
    fn poll_interval(&self) -> Duration;
    fn operation_timeout(&self) -> Duration;
}

/// A read right after a create may not see the object yet; it is retried for this long.
const NOT_FOUND_GRACE: Duration = Duration::from_secs(15);

/// One wait: call [`Waiter::pending`] after every poll whose answer is not final.
pub struct Waiter<'a> {
    ctx: &'a OperationContext,
    what: String,
    poll: Duration,
    timeout: Duration,
    started: Instant,
    last_status: Option<String>,
}

impl<'a> Waiter<'a> {
    /// `what` names the object in a timeout message (`Kubernetes cluster "shop" (id ...)`).
    pub fn new(timing: &impl WaitTiming, ctx: &'a OperationContext, what: String) -> Waiter<'a> {
        Waiter {
            ctx,
            what,
            poll: timing.poll_interval(),
            timeout: timing.operation_timeout(),
            started: Instant::now(),
            last_status: None,
        }
    }

    /// Reports `status` if it changed since the last poll, then sleeps until the next poll, or
    /// fails when the operation has taken too long.
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

    /// Reports `status` if it changed since the last report.
    pub fn report(&mut self, status: &str) {
        if self.last_status.as_deref() != Some(status) {
            self.ctx.report(status);
            self.last_status = Some(status.to_string());
        }
    }

    /// For a poll that answered `error`: keeps waiting on a 404 early in the wait (the API may
    /// not list a new object at once), and fails otherwise.
    pub async fn not_found_grace(&mut self, error: ProviderError) -> ProviderResult<()> {
        if error.kind == ErrorKind::NotFound && self.started.elapsed() < NOT_FOUND_GRACE {
            let status = self.last_status.clone().unwrap_or_else(|| "pending".into());
            return self.pending(&status).await;
        }
        Err(error)
    }
}
