//! What the engine tells its caller while it works. The CLI renders these; tests may record them.

use std::time::Duration;
use strata_core::{Address, Diagnostic};
use strata_plan::Action;

/// Callbacks for progress. Every method has an empty default so a caller implements only what
/// it shows. Implementations must not block: they are called from the walk.
pub trait Events: Send + Sync {
    /// A stack's walk begins (`what` is "plan", "apply" or "destroy").
    fn stack_started(&self, _stack: &str, _what: &str) {}
    fn operation_started(&self, _address: &Address, _action: Action) {}
    /// The cloud reported a status for an operation in flight (`CREATING`, `provisioning`).
    fn operation_progress(&self, _address: &Address, _status: &str, _elapsed: Duration) {}
    /// `id` is the cloud id on success.
    fn operation_succeeded(
        &self,
        _address: &Address,
        _action: Action,
        _id: Option<&str>,
        _elapsed: Duration,
    ) {
    }
    fn operation_failed(
        &self,
        _address: &Address,
        _action: Action,
        _error: &str,
        _elapsed: Duration,
    ) {
    }
    /// A problem worth telling the user that does not stop the run.
    fn warning(&self, _diagnostic: &Diagnostic) {}
    /// A note about recovery or housekeeping ("adopted base/x created by an interrupted run").
    fn note(&self, _message: &str) {}
}

/// Discards every event.
pub struct NoEvents;

impl Events for NoEvents {}
