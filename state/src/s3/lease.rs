//! Locks of the s3 backend: one lock object per state, held under a lease.
//!
//! A run takes a state's lock by creating `lock.json` with `If-None-Match: *`, so of two runs
//! racing exactly one succeeds. The object names the holder and when its lease ends; while the
//! [`LockGuard`] lives, a background task renews the lease every third of its length with
//! `If-Match` on the lock's ETag. A holder that dies stops renewing; once its lease has ended
//! another run may replace the object (again with `If-Match`, so only one taker wins) and
//! records whom it took the lock from.
//!
//! The lease alone cannot stop a holder that was paused (a suspended laptop, a stalled network)
//! from writing after it lost the lock: before every write the store re-reads the lock object
//! and refuses to write if it is no longer its own, and the snapshot write is a
//! compare-and-swap on the ETag read, so newer state is never overwritten.
//!
//! Lease ends are compared with this machine's clock: machines sharing a bucket need clocks
//! within a fraction of the lease of each other (any NTP-synchronised machine is).

use super::objects::{Bucket, Condition};
use super::Shared;
use crate::error::StateError;
use crate::lock::LockInfo;
use crate::model::{now_rfc3339, StateKey, FORMAT_VERSION};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The content of a lock object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockRecord {
    pub format_version: u32,
    /// A UUID, new for every acquisition (a take-over gets a new one), which
    /// `state unlock LOCK_ID` must repeat.
    pub id: String,
    /// Who holds it and for what; `since` is when it was taken.
    pub holder: LockInfo,
    pub lease_ms: u64,
    /// RFC 3339: when the lease was last renewed, and when it ends without renewal.
    pub renewed_at: String,
    pub expires_at: String,
    /// The expired lock this one replaced, if any.
    #[serde(default)]
    pub took_over: Option<TakenOver>,
}

/// The lock a take-over replaced: whose it was and when its lease had ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TakenOver {
    pub id: String,
    pub holder: LockInfo,
    pub expired_at: String,
}

impl LockRecord {
    fn new(holder: LockInfo, lease: Duration, took_over: Option<TakenOver>) -> LockRecord {
        let now = OffsetDateTime::now_utc();
        LockRecord {
            format_version: FORMAT_VERSION,
            id: uuid::Uuid::new_v4().to_string(),
            holder,
            lease_ms: u64::try_from(lease.as_millis()).unwrap_or(u64::MAX),
            renewed_at: rfc3339(now),
            expires_at: rfc3339(now + lease),
            took_over,
        }
    }

    fn renewed(&self) -> LockRecord {
        let now = OffsetDateTime::now_utc();
        LockRecord {
            renewed_at: rfc3339(now),
            expires_at: rfc3339(now + Duration::from_millis(self.lease_ms)),
            ..self.clone()
        }
    }

    /// True once the lease has ended without renewal. An unreadable end counts as not expired:
    /// only `state unlock` removes such a lock.
    pub fn expired(&self) -> bool {
        OffsetDateTime::parse(&self.expires_at, &Rfc3339)
            .is_ok_and(|end| OffsetDateTime::now_utc() > end)
    }

    fn held_error(&self, key: &StateKey) -> StateError {
        StateError::LockHeld {
            key: key.clone(),
            lock_id: self.id.clone(),
            holder: Box::new(self.holder.clone()),
            expires_at: self.expires_at.clone(),
        }
    }
}

/// Millisecond precision: tests run with leases of a few seconds.
fn rfc3339(t: OffsetDateTime) -> String {
    let t = t
        .replace_nanosecond(t.millisecond() as u32 * 1_000_000)
        .unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_else(|_| now_rfc3339())
}

/// A lock this process holds: its id, and the ETag of the lock object as last written, which
/// the renewal task updates.
#[derive(Debug)]
pub(crate) struct Held {
    pub id: String,
    state: Mutex<(String, LockRecord)>,
}

impl Held {
    fn current(&self) -> (String, LockRecord) {
        match self.state.lock() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set(&self, etag: String, record: LockRecord) {
        match self.state.lock() {
            Ok(mut s) => *s = (etag, record),
            Err(poisoned) => *poisoned.into_inner() = (etag, record),
        }
    }
}

/// The lock of one state, held while this value lives.
///
/// Dropping it stops the renewal and removes the lock object in the background if a Tokio
/// runtime is still running; [`release`](LockGuard::release) does the same and waits for it,
/// which a run should do before it exits. A lock never released expires after its lease.
/// For a backend whose lock covers the whole store for as long as it is open (the local one),
/// the guard holds nothing.
#[derive(Debug)]
pub struct LockGuard {
    key: StateKey,
    lease: Option<Lease>,
}

struct Lease {
    key: StateKey,
    shared: Arc<Shared>,
    held: Arc<Held>,
    renewal: tokio::task::JoinHandle<()>,
    taken_over: Option<TakenOver>,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("id", &self.held.id)
            .field("taken_over", &self.taken_over)
            .finish_non_exhaustive()
    }
}

impl LockGuard {
    /// The guard of a backend whose lock is taken when the store is opened.
    pub fn whole_store(key: &StateKey) -> LockGuard {
        LockGuard {
            key: key.clone(),
            lease: None,
        }
    }

    pub fn key(&self) -> &StateKey {
        &self.key
    }

    /// The lock's id, as `state unlock` takes it; `None` for a whole-store lock.
    pub fn id(&self) -> Option<&str> {
        self.lease.as_ref().map(|l| l.held.id.as_str())
    }

    /// The lock as last written by this holder.
    pub fn record(&self) -> Option<LockRecord> {
        self.lease.as_ref().map(|l| l.held.current().1)
    }

    /// Set when this lock replaced one whose lease had expired: the run holding it had died
    /// or stalled, and the caller should say so.
    pub fn taken_over(&self) -> Option<&TakenOver> {
        self.lease.as_ref().and_then(|l| l.taken_over.as_ref())
    }

    /// Stops renewing and removes the lock object, if it is still this holder's.
    pub async fn release(mut self) -> Result<(), StateError> {
        match self.lease.take() {
            Some(lease) => lease.end().await,
            None => Ok(()),
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if let Some(lease) = self.lease.take() {
            lease.renewal.abort();
            lease.shared.forget(&self.key, &lease.held.id);
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    // Best effort: if it fails, the lease expires on its own.
                    let _ = lease.end().await;
                });
            }
        }
    }
}

impl Lease {
    async fn end(self) -> Result<(), StateError> {
        self.renewal.abort();
        let key = self.key.clone();
        self.shared.forget(&key, &self.held.id);
        let object = self.shared.layout.lock(&key);
        let (mut etag, _) = self.held.current();
        // A renewal cut off by the abort may have changed the ETag: re-read once.
        for _ in 0..3 {
            if self.shared.bucket.delete(&object, Some(&etag)).await? {
                return Ok(());
            }
            match read(&self.shared.bucket, &key, &object).await? {
                Some((current, record)) if record.id == self.held.id => etag = current,
                _ => return Ok(()),
            }
        }
        Ok(())
    }
}

/// Reads and decodes the lock object of `key`.
pub(crate) async fn read(
    bucket: &Bucket,
    key: &StateKey,
    object: &str,
) -> Result<Option<(String, LockRecord)>, StateError> {
    let Some(found) = bucket.get(object).await? else {
        return Ok(None);
    };
    let record: LockRecord =
        serde_json::from_slice(&found.body).map_err(|e| StateError::Corrupt {
            key: key.to_string(),
            detail: format!(
                "lock object {}: {e}; remove it by hand once its holder is gone",
                bucket.url(object)
            ),
        })?;
    if record.format_version > FORMAT_VERSION {
        return Err(StateError::UnsupportedVersion {
            key: key.to_string(),
            what: "lock object".into(),
            found: record.format_version,
            supported: FORMAT_VERSION,
        });
    }
    Ok(Some((found.etag, record)))
}

/// Takes the lock of `key` for `holder`, or says who has it.
pub(crate) async fn acquire(
    shared: &Arc<Shared>,
    key: &StateKey,
    holder: LockInfo,
) -> Result<LockGuard, StateError> {
    let object = shared.layout.lock(key);
    let bucket = &shared.bucket;
    // Each round either takes the lock or observes a live holder; a round can only be lost to a
    // lock that was removed or replaced meanwhile, so a few suffice.
    for _ in 0..5 {
        let record = LockRecord::new(holder.clone(), shared.lease, None);
        if let Some(etag) = bucket
            .put(&object, encode(&record)?, Condition::Absent, &[])
            .await?
        {
            return Ok(start(shared, key, etag, record, None));
        }
        let Some((etag, current)) = read(bucket, key, &object).await? else {
            continue;
        };
        if !current.expired() {
            return Err(current.held_error(key));
        }
        let previous = TakenOver {
            id: current.id.clone(),
            holder: current.holder.clone(),
            expired_at: current.expires_at.clone(),
        };
        let record = LockRecord::new(holder.clone(), shared.lease, Some(previous.clone()));
        if let Some(etag) = bucket
            .put(&object, encode(&record)?, Condition::Matches(&etag), &[])
            .await?
        {
            return Ok(start(shared, key, etag, record, Some(previous)));
        }
    }
    match read(bucket, key, &object).await? {
        Some((_, current)) => Err(current.held_error(key)),
        None => Err(StateError::storage(
            format!("locking {key}"),
            std::io::Error::other("the lock object kept changing; try again"),
        )),
    }
}

fn encode(record: &LockRecord) -> Result<Vec<u8>, StateError> {
    serde_json::to_vec(record).map_err(|e| StateError::storage("encoding a lock", e))
}

fn start(
    shared: &Arc<Shared>,
    key: &StateKey,
    etag: String,
    record: LockRecord,
    taken_over: Option<TakenOver>,
) -> LockGuard {
    let held = Arc::new(Held {
        id: record.id.clone(),
        state: Mutex::new((etag, record)),
    });
    shared.remember(key, held.clone());
    let renewal = tokio::spawn(renew(shared.clone(), key.clone(), held.clone()));
    LockGuard {
        key: key.clone(),
        lease: Some(Lease {
            key: key.clone(),
            shared: shared.clone(),
            held,
            renewal,
            taken_over,
        }),
    }
}

/// Renews the lease every third of its length until the lock is lost or the guard goes. A
/// failed renewal is retried at the next tick; a refused one means the lock was taken over or
/// removed, which the next write finds out when it re-reads the lock object.
async fn renew(shared: Arc<Shared>, key: StateKey, held: Arc<Held>) {
    let object = shared.layout.lock(&key);
    loop {
        tokio::time::sleep(shared.lease / 3).await;
        let (etag, record) = held.current();
        let next = record.renewed();
        let Ok(body) = encode(&next) else { return };
        match shared
            .bucket
            .put(&object, body, Condition::Matches(&etag), &[])
            .await
        {
            Ok(Some(etag)) => held.set(etag, next),
            Ok(None) => return,
            Err(_) => {}
        }
    }
}

/// Checks, just before a write to `key`, that this process may write: the lock object is the
/// one it holds, or, when it holds none, that nobody else holds a live one.
pub(crate) async fn check_before_write(shared: &Shared, key: &StateKey) -> Result<(), StateError> {
    let ours = shared.held(key);
    let current = read(&shared.bucket, key, &shared.layout.lock(key)).await?;
    match (ours, current) {
        (Some(ours), Some((_, current))) if current.id == ours.id => Ok(()),
        (Some(ours), Some((_, current))) => Err(StateError::LeaseTakenOver {
            key: key.clone(),
            lock_id: ours.id.clone(),
            by: Box::new(current.holder),
            by_lock_id: current.id,
        }),
        (Some(ours), None) => Err(StateError::LockLost {
            key: key.clone(),
            lock_id: ours.id.clone(),
        }),
        (None, Some((_, current))) if !current.expired() => Err(current.held_error(key)),
        (None, _) => Ok(()),
    }
}

/// Removes the lock of `key` by hand, if its id is `lock_id`; returns who held it.
pub(crate) async fn unlock(
    shared: &Shared,
    key: &StateKey,
    lock_id: &str,
) -> Result<LockInfo, StateError> {
    let object = shared.layout.lock(key);
    for _ in 0..5 {
        let Some((etag, current)) = read(&shared.bucket, key, &object).await? else {
            return Err(StateError::NotLocked { key: key.clone() });
        };
        if current.id != lock_id {
            return Err(StateError::WrongLockId {
                key: key.clone(),
                given: lock_id.to_string(),
                actual: current.id,
                holder: Box::new(current.holder),
            });
        }
        // Conditional, so that a lock taken (or renewed) after the read is not removed blindly;
        // a renewal of the same lock only changes the ETag, so read again.
        if shared.bucket.delete(&object, Some(&etag)).await? {
            return Ok(current.holder);
        }
    }
    Err(StateError::storage(
        format!("unlocking {key}"),
        std::io::Error::other("the lock object kept changing; try again"),
    ))
}
