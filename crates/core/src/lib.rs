//! The vocabulary every other Strata crate speaks.
//!
//! This crate does no I/O (beyond the timer a long-running wait sleeps on). It defines:
//! - [`Address`]: where a resource lives (`stack/TYPE.NAME["key"]`);
//! - [`Value`]: a dynamic value that can be *unknown* (not yet computed) or *sensitive* (never shown);
//! - [`schema`]: what a provider's resource types look like;
//! - [`Diagnostic`]: an error or warning that points at a place in a file;
//! - [`provider::Provider`]: the one trait every provider implements — the plugin boundary;
//! - [`retry`]: the retry policy every provider follows, and the throttling signal;
//! - [`wait`] and [`attrs`]: the waiting loop and the typed attribute access providers share.

pub mod address;
pub mod attrs;
pub mod diagnostic;
pub mod endpoint;
pub mod provider;
pub mod retry;
pub mod schema;
pub mod value;
pub mod wait;

pub use address::{Address, AddressPattern, InstanceKey, Mode};
pub use diagnostic::{Diagnostic, Severity, Span};
pub use value::{Path, PathStep, Value};
