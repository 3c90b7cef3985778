//! State: what Strata last saw of every resource it manages, per environment and stack.
//!
//! - [`model`]: the stored shapes ([`StackState`], [`ResourceState`], the [`JournalEntry`]s
//!   that record operations between snapshots), versioned by [`FORMAT_VERSION`];
//! - [`StateStore`]: the trait every backend implements (async, snapshot + journal);
//! - [`LocalStore`]: the default backend, sled under the project's `.strata/`, with a
//!   process-wide project lock;
//! - [`S3Store`]: any S3-compatible object store, with a lock object per state held under a
//!   renewed lease, and compare-and-swap on every snapshot write;
//! - [`codec`]: the single place where state turns into bytes, so encryption can wrap it;
//! - [`conformance`]: the behaviour suite every backend must pass.
//!
//! Data is sacred: a completed operation is on disk before the next one depends on it, and
//! recording it costs in proportion to the change, never a rewrite of the whole state. A run
//! killed at any instant leaves a snapshot plus a journal that [`StateStore::load`] replays.

pub mod codec;
pub mod conformance;
pub mod error;
mod ledger;
pub mod local;
pub mod lock;
pub mod model;
pub mod s3;
pub mod store;

pub use error::StateError;
pub use local::LocalStore;
pub use lock::LockInfo;
pub use model::{
    HistoryEntry, Intent, IntentAction, JournalEntry, Loaded, OutputState, ResourceState,
    ResourceStatus, StackState, StateKey, FORMAT_VERSION,
};
pub use s3::{LockGuard, S3Settings, S3Store};
pub use store::StateStore;
