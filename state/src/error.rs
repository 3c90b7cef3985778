//! Errors of every state backend. Each names the state it concerns, so a message is useful
//! without the call site's context.

use crate::lock::LockInfo;
use crate::model::StateKey;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Another process holds the project's state lock.
    #[error(
        "state is locked by PID {} ({} by {}@{}) since {}",
        holder.pid, holder.operation, holder.user, holder.host, holder.since
    )]
    Locked { holder: LockInfo },

    /// A write that would overwrite a newer state or a state of another lineage.
    #[error("refusing to write the state of {key}: {detail}")]
    Conflict { key: StateKey, detail: String },

    /// Stored bytes that cannot be read back: `key` names the state (or the storage key when
    /// it cannot be decoded), `detail` says which record and what is wrong with it.
    #[error("the stored state of {key} is corrupt: {detail}")]
    Corrupt { key: String, detail: String },

    /// Written by a newer Strata; reading it could silently drop what this build does not know.
    #[error(
        "the {what} of {key} has format version {found}, but this build of strata reads up to {supported}"
    )]
    UnsupportedVersion {
        key: String,
        what: String,
        found: u32,
        supported: u32,
    },

    #[error("{key} has no stored state")]
    NoState { key: StateKey },

    #[error("{key} has no version with serial {serial} in its history")]
    NoSuchVersion { key: StateKey, serial: u64 },

    /// `delete` of a state that still tracks something.
    #[error("refusing to delete the state of {key}: it still holds {resources} resource(s) and {open_intents} interrupted operation(s)")]
    NotEmpty {
        key: StateKey,
        resources: usize,
        open_intents: usize,
    },

    #[error("invalid state key {key:?}: {reason}")]
    InvalidKey { key: String, reason: String },

    #[error("{context} ({}): {source}", path.display())]
    Io {
        context: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The storage engine or service failed.
    #[error("state storage failed while {context}: {source}")]
    Storage {
        context: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StateError {
    /// What the user can do about it, as a sentence for a `hint:` line.
    pub fn hint(&self) -> Option<String> {
        match self {
            StateError::Locked { holder } => Some(format!(
                "wait for that run to finish, or check that process {} on {} is still working; \
                 the lock is released as soon as it exits",
                holder.pid, holder.host
            )),
            StateError::Conflict { .. } => {
                Some("the state changed since it was read; plan again and retry".into())
            }
            StateError::Corrupt { .. } => Some(
                "`strata state history` lists earlier versions of this state, which can be restored"
                    .into(),
            ),
            StateError::UnsupportedVersion { .. } => {
                Some("upgrade strata to the version that wrote this state".into())
            }
            StateError::NoSuchVersion { .. } => {
                Some("`strata state history` lists the stored versions".into())
            }
            StateError::NotEmpty { .. } => Some(
                "destroy the stack first, or remove what it holds with `strata state rm`".into(),
            ),
            _ => None,
        }
    }

    pub(crate) fn storage(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> StateError {
        StateError::Storage {
            context: context.into(),
            source: Box::new(source),
        }
    }
}
