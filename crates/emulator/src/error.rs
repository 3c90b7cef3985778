//! Errors of the emulator library (starting a server, reading a persisted cloud, admin
//! operations). Errors *inside* an emulated API are answered over HTTP in the cloud's own error
//! shape instead and never surface here.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything that can go wrong when starting an emulator or changing a persisted cloud.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// A file of the persisted cloud or the request log could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The persisted cloud exists but is not a cloud this emulator can read.
    #[error("{path} is not a valid emulated cloud: {message}")]
    Corrupt { path: PathBuf, message: String },
    /// No emulated object has the given id or name.
    #[error(
        "no emulated object has the id or name `{0}` (hint: `strata emulator list` shows them all)"
    )]
    NotFound(String),
    /// More than one emulated object matches; the caller must use an id or a qualified name.
    #[error("`{query}` matches several objects ({candidates}); use an id or a qualified name such as CLUSTER/POOL or NAMESPACE/NAME")]
    Ambiguous { query: String, candidates: String },
    /// The field cannot be changed, or the value does not fit it.
    #[error("cannot set `{field}` on {kind} `{name}`: {message}")]
    InvalidField {
        kind: String,
        name: String,
        field: String,
        message: String,
    },
    /// The emulated Kubernetes API refused an out-of-band change.
    #[error("the emulated Kubernetes API of cluster {cluster} refused the change: {message}")]
    Kubernetes { cluster: String, message: String },
}

impl EmulatorError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        EmulatorError::Io {
            path: path.into(),
            source,
        }
    }
}
