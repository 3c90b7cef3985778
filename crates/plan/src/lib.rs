//! Diffs prior state against desired configuration per resource, and the versioned plan format.
//!
//! The engine plans one resource instance at a time:
//!
//! 1. [`normalize`] checks the evaluated configuration against the resource's schema and gives
//!    it a stable shape (single blocks as maps, absent attributes as `null`);
//! 2. [`propose`] merges it with the prior state: settable attributes come from configuration,
//!    computed ones from the prior object or, on create, become unknown;
//! 3. the provider may refine the proposal ([`strata_core::provider::Provider::plan`]);
//! 4. [`classify`] compares the planned value with the prior one and decides the [`Action`].
//!
//! The resulting [`ResourceChange`]s are gathered per stack into a [`Plan`], which can be saved
//! ([`Plan::write_file`]), shown as text ([`render_text`]) or as documented JSON ([`to_json`]).
//!
//! Deliberately absent: no network, no terminal, no state store. The only I/O is reading and
//! writing a plan file, and sensitive values never reach that file.

mod classify;
mod compare;
mod file;
mod json;
mod model;
mod normalize;
mod propose;
mod render;

pub use classify::{check_prevent_destroy, classify, Classified, Lifecycle};
pub use compare::{changed_paths, values_equal};
pub use file::PlanFileError;
pub use json::{to_json, JSON_FORMAT_VERSION};
pub use model::{Action, OutputChange, Plan, ResourceChange, StackPlan, Summary, FORMAT_VERSION};
pub use normalize::{normalize, SchemaError};
pub use propose::{propose, IgnoreChanges};
pub use render::{render_summary, render_text, render_text_with_schemas};
