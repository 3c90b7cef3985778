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

    /// The database holds less than was written to it (damaged while no process had it open).
    #[error("the local state of {key} is damaged: {detail}")]
    Lost { key: String, detail: String },

    /// A sealed record without a passphrase, or one the passphrase does not open.
    #[error("cannot read the {what} of {key}: {reason}")]
    Encrypted {
        key: String,
        what: String,
        reason: String,
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

    /// Another run holds the lock object of this state (s3 backend), or held it less than a
    /// lease ago.
    #[error(
        "the state of {key} is locked by {}@{} (PID {}, {}) since {}; lock id {lock_id}, lease until {expires_at}",
        holder.user, holder.host, holder.pid, holder.operation, holder.since
    )]
    LockHeld {
        key: StateKey,
        lock_id: String,
        holder: Box<LockInfo>,
        /// RFC 3339.
        expires_at: String,
    },

    /// This run's lock lease ran out and another run took the lock over: this run must stop
    /// writing, whatever it was doing.
    #[error(
        "the lock {lock_id} of {key} expired and was taken over by {}@{} (PID {}, lock {by_lock_id}); this run wrote nothing more",
        by.user, by.host, by.pid
    )]
    LeaseTakenOver {
        key: StateKey,
        lock_id: String,
        by: Box<LockInfo>,
        by_lock_id: String,
    },

    /// This run's lock object disappeared (removed with `state unlock`).
    #[error("the lock {lock_id} of {key} was removed while this run held it; this run wrote nothing more")]
    LockLost { key: StateKey, lock_id: String },

    /// `state unlock` of a state that has no lock object.
    #[error("{key} is not locked")]
    NotLocked { key: StateKey },

    /// `state unlock` naming another lock than the one in place: it would remove a lock taken
    /// after the user looked.
    #[error(
        "the lock of {key} has id {actual} (held by {}@{}, PID {}), not {given}",
        holder.user, holder.host, holder.pid
    )]
    WrongLockId {
        key: StateKey,
        given: String,
        actual: String,
        holder: Box<LockInfo>,
    },

    /// The object store accepted a write it should have refused, so neither locking nor
    /// compare-and-swap can protect state there.
    #[error("the bucket {bucket} does not honour conditional writes: {detail}")]
    ConditionalWritesIgnored { bucket: String, detail: String },

    /// Backend settings that cannot work (an empty bucket name, a malformed endpoint).
    #[error("invalid state backend settings: {0}")]
    InvalidSettings(String),

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
            StateError::Lost { .. } => Some(
                "nothing was changed; restore .strata/state.db from a backup, or `strata state push` \
                 a copy made with `strata state pull`, before running plan or apply"
                    .into(),
            ),
            StateError::Encrypted { .. } => Some(
                "set the passphrase variable named by the encryption block of strata.hcl \
                 (STRATA_PASSPHRASE by default) to the passphrase this state was written with"
                    .into(),
            ),
            StateError::UnsupportedVersion { .. } => {
                Some("upgrade strata to the version that wrote this state".into())
            }
            StateError::NoSuchVersion { .. } => {
                Some("`strata state history` lists the stored versions".into())
            }
            StateError::LockHeld {
                key,
                lock_id,
                holder,
                expires_at,
            } => Some(format!(
                "wait for that run to finish; if process {} on {} is gone, its lock can be taken \
                 once the lease expires at {expires_at}, or removed now with \
                 `strata state unlock {} {lock_id}`",
                holder.pid, holder.host, key.stack
            )),
            StateError::LeaseTakenOver { .. } | StateError::LockLost { .. } => Some(
                "this run was paused or cut off for longer than its lock lease; plan again: \
                 interrupted operations are reconciled by the next run"
                    .into(),
            ),
            StateError::WrongLockId { actual, .. } => Some(format!(
                "the lock changed since its id was read; check that its holder is gone, then \
                 `strata state unlock {actual}`"
            )),
            StateError::NotLocked { .. } => Some(
                "there is nothing to remove: a lock goes away when its run ends, and a local \
                 state's lock with the process that holds it"
                    .into(),
            ),
            StateError::ConditionalWritesIgnored { .. } => Some(
                "state needs a store that refuses a PutObject whose If-None-Match or If-Match \
                 condition fails (AWS S3 does); upgrade this server or pick another store"
                    .into(),
            ),
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
