//! The [`StateStore`] trait every backend implements.

use crate::error::StateError;
use crate::lock::LockInfo;
use crate::model::{HistoryEntry, JournalEntry, Loaded, StackState, StateKey};
use crate::s3::LockGuard;
use async_trait::async_trait;

/// A place where state lives: the local sled database, or an S3 bucket.
///
/// State is a snapshot plus a journal. During an apply, every completed operation is
/// [`append`](StateStore::append)ed as it happens, at a cost proportional to that one entry; a
/// [`persist`](StateStore::persist) at the end folds the journal into a new snapshot. A run that
/// dies in between loses nothing: [`load`](StateStore::load) replays the journal on the snapshot.
///
/// Serial rule: every appended entry that changes resources or outputs (`Applied`, `Deleted`,
/// `Outputs`) bumps the replayed serial by one, and every persist or restore writes a serial
/// above the replayed one, so a plan made at serial N can be refused after any change.
///
/// Methods take `&self` and the trait is object safe: the engine shares one `Arc<dyn StateStore>`
/// between concurrently applied resources.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// The snapshot with every journal entry replayed on it; `Ok(None)` if nothing was ever
    /// written for the key.
    async fn load(&self, key: &StateKey) -> Result<Option<Loaded>, StateError>;

    /// Durably appends one entry: it is on stable storage when this returns. A fresh key gets
    /// its lineage here.
    async fn append(&self, key: &StateKey, entry: &JournalEntry) -> Result<(), StateError>;

    /// Writes `state` as the new snapshot and returns its serial, which is above both the stored
    /// serial and `state.serial`.
    ///
    /// `base_serial` is the serial of the state the caller loaded. The write is refused with
    /// [`StateError::Conflict`] if another snapshot was written since (`base_serial` is older
    /// than the stored snapshot's serial) or if `state.lineage` is set and differs from the
    /// stored lineage; an empty lineage (a state that started as [`StackState::new`]) takes the
    /// stored one. `state` must include the effect of the entries appended since the load: they
    /// are removed together with the write, atomically, except for intents still open, which
    /// are kept for the next run to reconcile. The previous version stays in history.
    async fn persist(
        &self,
        key: &StateKey,
        state: &StackState,
        base_serial: u64,
    ) -> Result<u64, StateError>;

    /// Every key with stored state, sorted.
    async fn keys(&self) -> Result<Vec<StateKey>, StateError>;

    /// The stored versions of a state, oldest first; the last one is the current snapshot unless
    /// entries were appended since.
    async fn history(&self, key: &StateKey) -> Result<Vec<HistoryEntry>, StateError>;

    /// Makes the version with `serial` current again, as a new version with a new serial (the
    /// versions in between stay in history). Open intents are kept.
    async fn restore(&self, key: &StateKey, serial: u64) -> Result<(), StateError>;

    /// Removes a state with its journal and history, once it holds no resources and no open
    /// intents (after a full destroy); refused with [`StateError::NotEmpty`] otherwise.
    /// Deleting a key with no state is not an error.
    async fn delete(&self, key: &StateKey) -> Result<(), StateError>;

    /// Takes the lock of one state for `operation` (`apply`, `state`) for as long as the guard
    /// lives, failing at once if another run holds it. Writes to a state locked by another run
    /// are refused whether or not the writer took a lock itself.
    ///
    /// The default is for backends whose lock covers the whole store from the moment it is
    /// opened (the local one): there is nothing more to take.
    async fn lock(&self, key: &StateKey, operation: &str) -> Result<LockGuard, StateError> {
        let _ = operation;
        key.validate().map_err(|reason| StateError::InvalidKey {
            key: key.to_string(),
            reason,
        })?;
        Ok(LockGuard::whole_store(key))
    }

    /// Removes the lock of `key` by hand if its id is `lock_id` (`state unlock LOCK_ID`), and
    /// returns who held it.
    ///
    /// The default is for backends whose lock goes away with the process holding it: there is
    /// never a lock object to remove.
    async fn unlock(&self, key: &StateKey, lock_id: &str) -> Result<LockInfo, StateError> {
        let _ = lock_id;
        Err(StateError::NotLocked { key: key.clone() })
    }
}
