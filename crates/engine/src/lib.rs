//! The engine: plan, apply and destroy as walks over one dependency graph.
//!
//! The work is split the way the data flows:
//! - [`stacks`] orders the project's stacks by their `dependency` blocks (a cycle is a diagnostic
//!   naming every edge);
//! - [`stack`] builds one stack's graph of locals, providers, resources and outputs, and walks it —
//!   once to plan (evaluate, diff) and once to apply (re-evaluate with real values, call the
//!   provider, journal the result);
//! - [`recover`] reconciles the intents a crashed run left open;
//! - [`run`] ties them together for `plan`, `apply` and `destroy` over one stack or `--all`.
//!
//! Only the CLI prints: progress reaches it through [`Events`].

// Diagnostics are large by design (span, source line, notes) and travel only on error paths.
#![allow(clippy::result_large_err)]

pub mod drift;
pub mod error;
pub mod events;
pub mod limits;
pub mod recover;
pub mod registry;
pub mod run;
pub mod scope;
pub mod stack;
pub mod stacks;

pub use error::EngineError;
pub use events::{Events, NoEvents};
pub use registry::Registry;
pub use run::{ApplyReport, Options, Session};
