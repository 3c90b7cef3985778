//! Checks requests and responses recorded by the cloud emulator against the clouds' official API
//! specifications.
//!
//! [`OpenApi::load`] reads an OpenAPI 3 description that may be split over many files joined by
//! relative `$ref`s; each file is parsed the first time a reference reaches it and kept for later
//! look-ups. [`check_log`] and [`check_log_counts`] read the emulator's JSON-lines request log and
//! report every request and response that the description does not allow:
//!
//! - the method and path must name an operation (templated paths such as
//!   `/v2/kubernetes/clusters/{cluster_id}` match any value in a parameter's place);
//! - every property of a JSON request body, at every depth, must be declared by the operation's
//!   request schema, and every required property must be present;
//! - the response status must be declared by the operation, and the top-level properties of a JSON
//!   response body must be declared by that response's schema, with the required ones present.
//!
//! Properties are looked up through `$ref`, `allOf`, `oneOf` and `anyOf`: a property is declared
//! when any branch declares it, `allOf` requires the union of its branches' `required` lists, and
//! `oneOf`/`anyOf` are satisfied when one branch's `required` list is. An object schema with
//! `additionalProperties: true` (or a schema there), or one that declares no properties at all,
//! accepts any property. `readOnly` properties are never required in requests, nor `writeOnly`
//! ones in responses. Values are not checked against their types or formats.

pub mod arm;
pub mod botocore;
mod check;
pub mod discovery;
mod schema;
mod spec;

use std::path::{Path, PathBuf};

pub use check::{check_log, check_log_counts, CheckReport, Violation};
pub use spec::OpenApi;

/// Why a description or a log could not be read. Problems with the requests themselves are
/// [`Violation`]s, not errors.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A description file is not valid YAML or JSON.
    #[error("cannot parse {}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    /// A `$ref` points to a file or location that does not exist, or references loop.
    #[error("{}: cannot resolve $ref {reference:?}: {reason}", file.display())]
    Ref {
        /// The file holding the reference.
        file: PathBuf,
        reference: String,
        reason: String,
    },
    /// The description is readable but not shaped as OpenAPI 3 expects.
    #[error("{}: {message}", file.display())]
    Invalid { file: PathBuf, message: String },
    /// A line of the request log is not a JSON object with the expected fields.
    #[error("{}:{line}: {message}", path.display())]
    Log {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// Finds a file of the official API specifications by its path inside the specifications folder,
/// e.g. `digitalocean/DigitalOcean-public.v2.yaml`.
///
/// The folder named by the environment variable `STRATA_SPECS_DIR` is searched first; otherwise
/// `shared/specs/` in this crate's directory or in any directory above it. Returns `None` when the
/// file exists in none of them.
pub fn find_spec(relative: &str) -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("STRATA_SPECS_DIR") {
        let candidate = Path::new(&dir).join(relative);
        return candidate.is_file().then_some(candidate);
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("shared").join("specs").join(relative))
        .find(|candidate| candidate.is_file())
}
