//! Loads a Strata project: parses HCL with source spans, evaluates expressions with unknown and
//! sensitive marks, and reports diagnostics.
//!
//! The flow is: [`load_project`] reads `strata.hcl` and every stack folder into a [`Project`]
//! whose expressions stay unevaluated ([`Expr`]); [`validate`] checks what can be checked
//! without values (references, schemas, duplicates); [`resolve_variables`] gives a stack's
//! variables their values for one environment; the engine then calls [`eval`] and
//! [`eval_body`] with a [`Scope`] that knows the values of variables, locals and resources.
//!
//! Every error is a [`strata_core::Diagnostic`] naming `file:line:col` and carrying the source
//! line; loading and validation go on after an error so that one run reports them all.
//!
//! This crate reads local files only (the project and the files `file()`/`templatefile()` name);
//! it does no network I/O.

mod diagnostics;
mod eval;
mod load;
mod model;
mod refs;
mod source;
mod types;
mod validate;
mod variables;

pub use diagnostics::Diagnostics;
pub use eval::{eval, eval_body, Scope};
pub use load::{load_project, load_project_partial, PROJECT_FILE};
pub use model::{
    Backend, Body, BodyAttribute, BodyBlock, Dependency, DriftIgnore, Encryption, Environment,
    Expr, IgnoreChanges, Lifecycle, Local, Output, Project, ProviderBlock, ProviderRef, RefKind,
    Reference, ResourceBlock, Stack, Validation, Variable,
};
pub use source::{SourceFile, Sources};
pub use validate::{validate, validate_with_types};
pub use variables::{resolve_variables, ENV_VAR_PREFIX};
