//! The s3 backend: state in any S3-compatible object store (AWS S3, DigitalOcean Spaces,
//! MinIO, Ceph, R2), through `aws-sdk-s3`.
//!
//! Objects (see [`Layout`]): per state a snapshot, one small object per journal entry, one
//! object per history version and, while a run holds it, a lock object.
//!
//! - **Append** re-reads the lock object (it must still be this run's, or nobody's) and writes
//!   one journal object with `If-None-Match: *` under the next sequence number: two requests
//!   whatever the size of the state, and two writers can never claim the same number.
//! - **Load** reads the snapshot, lists the journal entries after the one the snapshot says it
//!   includes (a `StartAfter` listing, so entries folded earlier cost nothing) and replays them.
//! - **Persist** re-reads the lock, writes the new version to history, then replaces the
//!   snapshot with `If-Match` on the ETag it read: if anything else wrote the snapshot since,
//!   nothing is replaced. The snapshot's metadata records the last journal entry folded into
//!   it, so readers skip folded entries even if the run dies before removing them, which it
//!   does last. Intents still open are copied to new journal entries *before* the snapshot
//!   write, so they survive it; a reader that sees both copies counts an intent once.
//!
//! S3 has no transactions: every step above leaves a state that loads to the same result if
//! the run dies right after it.

mod layout;
mod lease;
mod objects;
mod probe;
mod settings;

pub use layout::Layout;
pub use lease::{LockGuard, LockRecord, TakenOver};
pub use settings::{S3Settings, DEFAULT_LEASE};

use crate::codec::{Codec, CodecError};
use crate::error::StateError;
use crate::lock::LockInfo;
use crate::model::{
    now_rfc3339, HistoryEntry, Intent, JournalEntry, Loaded, StackState, StateKey, FORMAT_VERSION,
};
use crate::store::StateStore;
use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use layout::{numbered, JOURNAL_THROUGH, RESOURCES, WRITTEN_AT};
use lease::Held;
use objects::{Bucket, Condition, PARALLEL_REQUESTS};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the store, its lock guards and their renewal tasks share.
#[derive(Debug)]
pub(crate) struct Shared {
    bucket: Bucket,
    layout: Layout,
    lease: Duration,
    /// The locks this process holds, by state.
    held: Mutex<HashMap<StateKey, Arc<Held>>>,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bucket").field("name", &self.name).finish()
    }
}

impl Shared {
    fn held(&self, key: &StateKey) -> Option<Arc<Held>> {
        self.held.lock().ok().and_then(|h| h.get(key).cloned())
    }

    fn remember(&self, key: &StateKey, held: Arc<Held>) {
        if let Ok(mut h) = self.held.lock() {
            h.insert(key.clone(), held);
        }
    }

    /// Forgets the lock `id` of `key`, unless a newer lock of this process replaced it.
    fn forget(&self, key: &StateKey, id: &str) {
        if let Ok(mut h) = self.held.lock() {
            if h.get(key).is_some_and(|held| held.id == id) {
                h.remove(key);
            }
        }
    }
}

/// State in an S3 bucket. Cheap to share: the engine holds it as `Arc<dyn StateStore>`.
#[derive(Debug)]
pub struct S3Store {
    shared: Arc<Shared>,
    holder: LockInfo,
    /// The next journal sequence number of each state this handle has written to.
    next_seq: Mutex<HashMap<StateKey, u64>>,
    codec: Codec,
}

/// The current snapshot of a state, as read.
struct Snapshot {
    etag: String,
    state: StackState,
    /// The last journal entry it includes.
    through: u64,
}

/// A journal entry with its place.
struct Numbered {
    seq: u64,
    entry: JournalEntry,
}

/// What a new snapshot does with the journal: where it ends, what it removes, what it keeps.
struct Folding {
    through: u64,
    remove: Vec<String>,
    changes: u64,
    reopen: Vec<Intent>,
}

impl S3Store {
    /// Connects to the bucket of `settings` (checking that it exists and is reachable) as
    /// `holder`, whose user, host and PID every lock taken through this store will name.
    /// Takes no lock: see [`lock`](S3Store::lock).
    pub async fn connect(settings: S3Settings, holder: LockInfo) -> Result<S3Store, StateError> {
        let client = settings.client().await?;
        let bucket = Bucket::new(client, settings.bucket.clone());
        bucket.check().await?;
        Ok(S3Store {
            shared: Arc::new(Shared {
                bucket,
                layout: Layout::new(&settings.prefix),
                lease: settings.lease,
                held: Mutex::new(HashMap::new()),
            }),
            holder,
            next_seq: Mutex::new(HashMap::new()),
            codec: Codec::plain(),
        })
    }

    /// Seals every record written from now on, and opens sealed records, with `codec`.
    pub fn with_codec(mut self, codec: Codec) -> S3Store {
        self.codec = codec;
        self
    }

    pub fn layout(&self) -> &Layout {
        &self.shared.layout
    }

    /// Bytes of snapshots, journal entries, history versions and lock objects written through
    /// this handle, so that a benchmark can show what recording an operation costs.
    pub fn bytes_written(&self) -> u64 {
        self.shared.bucket.bytes_written()
    }

    /// Takes the lock of `key` for `operation`, failing at once with
    /// [`StateError::LockHeld`] (naming the holder and the lock id) if another run holds it.
    /// A lock whose lease expired is taken over; [`LockGuard::taken_over`] then says from whom.
    /// The lease is renewed in the background while the guard lives.
    pub async fn lock(&self, key: &StateKey, operation: &str) -> Result<LockGuard, StateError> {
        check_key(key)?;
        let holder = LockInfo {
            operation: operation.to_string(),
            since: now_rfc3339(),
            ..self.holder.clone()
        };
        lease::acquire(&self.shared, key, holder).await
    }

    /// Removes the lock of `key` by hand (`state unlock LOCK_ID`) if its id is `lock_id`, and
    /// returns who held it. A different id is refused: the lock changed since it was looked at.
    pub async fn unlock(&self, key: &StateKey, lock_id: &str) -> Result<LockInfo, StateError> {
        check_key(key)?;
        lease::unlock(&self.shared, key, lock_id).await
    }

    /// The lock object of `key`, if there is one.
    pub async fn lock_record(&self, key: &StateKey) -> Result<Option<LockRecord>, StateError> {
        check_key(key)?;
        let object = self.shared.layout.lock(key);
        Ok(lease::read(&self.shared.bucket, key, &object)
            .await?
            .map(|(_, record)| record))
    }

    /// Checks that the bucket refuses writes whose `If-None-Match` / `If-Match` condition fails,
    /// which locking and compare-and-swap rely on; [`StateError::ConditionalWritesIgnored`]
    /// (with a hint) if it does not. Writes and removes one scratch object.
    pub async fn probe_conditional_writes(&self) -> Result<(), StateError> {
        let object = self.shared.layout.probe(&uuid::Uuid::new_v4().to_string());
        probe::conditional_writes(&self.shared.bucket, &object).await
    }

    fn bucket(&self) -> &Bucket {
        &self.shared.bucket
    }

    fn decode_error(&self, key: &StateKey, what: &str, object: &str, e: CodecError) -> StateError {
        e.into_state_error(&key.to_string(), what, &self.bucket().url(object))
    }

    async fn read_snapshot(&self, key: &StateKey) -> Result<Option<Snapshot>, StateError> {
        let object = self.shared.layout.snapshot(key);
        let Some(found) = self.bucket().get(&object).await? else {
            return Ok(None);
        };
        let state = self
            .codec
            .decode_snapshot(&found.body)
            .map_err(|e| self.decode_error(key, "snapshot", &object, e))?;
        let through = match found.metadata.get(JOURNAL_THROUGH) {
            None => 0,
            Some(v) => v.parse().map_err(|_| StateError::Corrupt {
                key: key.to_string(),
                detail: format!(
                    "snapshot {}: metadata {JOURNAL_THROUGH} is {v:?}, not a number",
                    self.bucket().url(&object)
                ),
            })?,
        };
        Ok(Some(Snapshot {
            etag: found.etag,
            state,
            through,
        }))
    }

    /// The journal entry names of `key` after entry `after`, in order, with their numbers.
    async fn journal_names(
        &self,
        key: &StateKey,
        after: u64,
    ) -> Result<Vec<(u64, String)>, StateError> {
        let layout = &self.shared.layout;
        let dir = layout.journal_dir(key);
        let start = (after > 0).then(|| layout.journal_entry(key, after));
        Ok(self
            .bucket()
            .list(&dir, true, start)
            .await?
            .into_iter()
            .filter_map(|l| numbered(&dir, &l.key).map(|seq| (seq, l.key)))
            .filter(|(seq, _)| *seq > after)
            .collect())
    }

    /// Reads the entries `names`. `None` if one of them disappeared meanwhile: a persist
    /// folded it, and the caller must start over from the new snapshot.
    async fn read_entries(
        &self,
        key: &StateKey,
        names: &[(u64, String)],
    ) -> Result<Option<Vec<Numbered>>, StateError> {
        let objects: Vec<String> = names.iter().map(|(_, k)| k.clone()).collect();
        let found = self.bucket().get_all(objects).await?;
        let mut out = Vec::with_capacity(found.len());
        for ((seq, object), found) in names.iter().zip(found) {
            let Some(found) = found else { return Ok(None) };
            let entry = self
                .codec
                .decode_entry(&found.body)
                .map_err(|e| self.decode_error(key, &format!("journal entry {seq}"), object, e))?;
            out.push(Numbered { seq: *seq, entry });
        }
        Ok(Some(out))
    }

    /// The snapshot and the journal entries after it, read consistently: retried if a persist
    /// folded entries between the two reads.
    async fn read_state(
        &self,
        key: &StateKey,
    ) -> Result<(Option<Snapshot>, Vec<(u64, String)>, Vec<Numbered>), StateError> {
        for _ in 0..5 {
            let snapshot = self.read_snapshot(key).await?;
            let through = snapshot.as_ref().map_or(0, |s| s.through);
            // The whole journal, so that a persist also removes entries an earlier one left.
            let all = self.journal_names(key, 0).await?;
            let live: Vec<(u64, String)> = all
                .iter()
                .filter(|(seq, _)| *seq > through)
                .cloned()
                .collect();
            if let Some(entries) = self.read_entries(key, &live).await? {
                if snapshot.is_some() {
                    self.seen_up_to(key, all.last().map_or(through, |(seq, _)| *seq));
                } else {
                    // The next append must create the snapshot first.
                    self.forget_journal(key);
                }
                return Ok((snapshot, all, entries));
            }
        }
        Err(StateError::storage(
            format!("reading the state of {key}"),
            std::io::Error::other("its journal kept changing while it was read; try again"),
        ))
    }

    /// Makes sure the next entry of `key` written through this handle is numbered after `seq`.
    fn seen_up_to(&self, key: &StateKey, seq: u64) {
        if let Ok(mut next) = self.next_seq.lock() {
            let n = next.entry(key.clone()).or_insert(seq + 1);
            *n = (*n).max(seq + 1);
        }
    }

    fn forget_journal(&self, key: &StateKey) {
        if let Ok(mut next) = self.next_seq.lock() {
            next.remove(key);
        }
    }

    fn take_seq(&self, key: &StateKey) -> Option<u64> {
        let mut next = self.next_seq.lock().ok()?;
        let n = next.get_mut(key)?;
        let seq = *n;
        *n += 1;
        Some(seq)
    }

    /// Before the first entry of `key` through this handle: creates its empty snapshot (and
    /// lineage) if it has none, so that a journal never exists without a snapshot, and learns
    /// where the journal ends.
    async fn start_journal(&self, key: &StateKey) -> Result<(), StateError> {
        let object = self.shared.layout.snapshot(key);
        let through = match self.bucket().metadata(&object).await? {
            Some(meta) => meta
                .get(JOURNAL_THROUGH)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            None => {
                let mut initial = StackState::new();
                initial.lineage = uuid::Uuid::new_v4().to_string();
                let bytes = self
                    .codec
                    .encode_snapshot(&initial)
                    .map_err(|e| self.decode_error(key, "new snapshot", &object, e))?;
                // Refused only if another writer created it first, which is as good.
                self.bucket()
                    .put(
                        &object,
                        bytes,
                        Condition::Absent,
                        &[(JOURNAL_THROUGH, "0".into())],
                    )
                    .await?;
                0
            }
        };
        let newest = self.journal_names(key, 0).await?.last().map(|(s, _)| *s);
        self.seen_up_to(key, newest.unwrap_or(0).max(through));
        Ok(())
    }

    /// Writes one encoded entry under the next free number and returns that number.
    async fn write_entry(&self, key: &StateKey, bytes: Vec<u8>) -> Result<u64, StateError> {
        for _ in 0..5 {
            let seq = match self.take_seq(key) {
                Some(seq) => seq,
                None => {
                    self.start_journal(key).await?;
                    continue;
                }
            };
            let object = self.shared.layout.journal_entry(key, seq);
            if self
                .bucket()
                .put(&object, bytes.clone(), Condition::Absent, &[])
                .await?
                .is_some()
            {
                return Ok(seq);
            }
            // Another writer took this number: continue after its newest entry.
            if let Some((newest, _)) = self.journal_names(key, seq).await?.last() {
                self.seen_up_to(key, *newest);
            }
        }
        Err(StateError::storage(
            format!("appending to the journal of {key}"),
            std::io::Error::other("another writer kept taking the same entry numbers"),
        ))
    }

    /// What a new snapshot over `entries` folds: everything up to the newest entry, except
    /// intents still open, which are copied after it.
    fn folding(&self, through: u64, all: &[(u64, String)], entries: &[Numbered]) -> Folding {
        let replayed = replay(StackState::new(), entries.iter().map(|n| &n.entry));
        let through = entries.last().map_or(through, |n| n.seq.max(through));
        Folding {
            through,
            remove: all
                .iter()
                .filter(|(seq, _)| *seq <= through)
                .map(|(_, k)| k.clone())
                .collect(),
            changes: replayed.state.serial,
            reopen: replayed.open_intents,
        }
    }

    /// Writes `state` as the new snapshot of `key` if the current one is still `expected`
    /// (`None`: if there is none), with its history version, per [`Folding`].
    async fn commit(
        &self,
        key: &StateKey,
        state: &StackState,
        expected: Option<&str>,
        fold: Folding,
    ) -> Result<(), StateError> {
        let layout = &self.shared.layout;
        let snapshot_object = layout.snapshot(key);
        let bytes = self
            .codec
            .encode_snapshot(state)
            .map_err(|e| self.decode_error(key, "new snapshot", &snapshot_object, e))?;
        // After the journal was listed: a run that took the lock over since cannot have
        // entries in that listing, so none of its entries is folded into this snapshot.
        lease::check_before_write(&self.shared, key).await?;

        self.seen_up_to(key, fold.through);
        for intent in fold.reopen {
            let entry = self
                .codec
                .encode_entry(&JournalEntry::Intent(intent))
                .map_err(|e| self.decode_error(key, "new journal entry", &snapshot_object, e))?;
            self.write_entry(key, entry).await?;
        }

        let version = layout.history_version(key, state.serial);
        let version_meta = [
            (WRITTEN_AT, now_rfc3339()),
            (RESOURCES, state.resources.len().to_string()),
        ];
        // A version with this serial can exist only if another persist got as far as this
        // point: a live one (then the snapshot moved on, and this write must not replace its
        // version) or one that died before its snapshot write (then the version is an orphan).
        let bucket = self.bucket();
        if bucket
            .put(&version, bytes.clone(), Condition::Absent, &version_meta)
            .await?
            .is_none()
        {
            if bucket.etag(&snapshot_object).await?.as_deref() != expected {
                return Err(snapshot_replaced(key));
            }
            bucket
                .put(&version, bytes.clone(), Condition::Any, &version_meta)
                .await?;
        }

        let condition = match expected {
            Some(etag) => Condition::Matches(etag),
            None => Condition::Absent,
        };
        let through = [(JOURNAL_THROUGH, fold.through.to_string())];
        if self
            .bucket()
            .put(&snapshot_object, bytes, condition, &through)
            .await?
            .is_none()
        {
            return Err(snapshot_replaced(key));
        }
        // Readers already skip the folded entries; a failure here leaves them for the next
        // persist to remove.
        let _ = self.bucket().delete_all(fold.remove).await;
        Ok(())
    }

    async fn history_entry(
        &self,
        key: &StateKey,
        serial: u64,
        object: String,
        last_modified: Option<String>,
    ) -> Result<HistoryEntry, StateError> {
        let meta = self.bucket().metadata(&object).await?.unwrap_or_default();
        let written_at = meta
            .get(WRITTEN_AT)
            .cloned()
            .or(last_modified)
            .unwrap_or_default();
        let resources = match meta.get(RESOURCES).and_then(|v| v.parse().ok()) {
            Some(n) => n,
            // A version written without metadata: count from its content.
            None => match self.bucket().get(&object).await? {
                Some(found) => self
                    .codec
                    .decode_snapshot(&found.body)
                    .map_err(|e| {
                        self.decode_error(key, &format!("history version {serial}"), &object, e)
                    })?
                    .resources
                    .len(),
                None => 0,
            },
        };
        Ok(HistoryEntry {
            serial,
            written_at,
            resources,
        })
    }
}

/// Replays entries on a snapshot, counting an intent once even if a persist that died left it
/// twice in the journal (the original and its copy).
fn replay<'a>(snapshot: StackState, entries: impl IntoIterator<Item = &'a JournalEntry>) -> Loaded {
    let mut open: HashSet<&str> = HashSet::new();
    let mut kept: Vec<&JournalEntry> = Vec::new();
    for entry in entries {
        match entry {
            JournalEntry::Intent(i) => {
                if !open.insert(i.id.as_str()) {
                    continue;
                }
            }
            other => {
                if let Some(closed) = other.closes() {
                    open.remove(closed);
                }
            }
        }
        kept.push(entry);
    }
    Loaded::replay(snapshot, kept)
}

fn snapshot_replaced(key: &StateKey) -> StateError {
    StateError::Conflict {
        key: key.clone(),
        detail: "its snapshot was replaced while this write was being prepared".into(),
    }
}

fn check_key(key: &StateKey) -> Result<(), StateError> {
    key.validate().map_err(|reason| StateError::InvalidKey {
        key: key.to_string(),
        reason,
    })
}

#[async_trait]
impl StateStore for S3Store {
    async fn load(&self, key: &StateKey) -> Result<Option<Loaded>, StateError> {
        check_key(key)?;
        let (snapshot, all, entries) = self.read_state(key).await?;
        let Some(snapshot) = snapshot else {
            if all.is_empty() {
                return Ok(None);
            }
            return Err(StateError::Corrupt {
                key: key.to_string(),
                detail: format!(
                    "{} journal entries but no snapshot in {}",
                    all.len(),
                    self.bucket().url(&self.shared.layout.journal_dir(key))
                ),
            });
        };
        Ok(Some(replay(
            snapshot.state,
            entries.iter().map(|n| &n.entry),
        )))
    }

    async fn append(&self, key: &StateKey, entry: &JournalEntry) -> Result<(), StateError> {
        check_key(key)?;
        let object = self.shared.layout.journal_dir(key);
        let bytes = self
            .codec
            .encode_entry(entry)
            .map_err(|e| self.decode_error(key, "new journal entry", &object, e))?;
        lease::check_before_write(&self.shared, key).await?;
        self.write_entry(key, bytes).await.map(|_| ())
    }

    async fn persist(
        &self,
        key: &StateKey,
        state: &StackState,
        base_serial: u64,
    ) -> Result<u64, StateError> {
        check_key(key)?;
        // Checked first for a clear error, and again in `commit` after the journal was listed.
        lease::check_before_write(&self.shared, key).await?;
        let (stored, all, entries) = self.read_state(key).await?;
        let through = stored.as_ref().map_or(0, |s| s.through);
        let fold = self.folding(through, &all, &entries);
        let (expected, lineage, replayed) = match &stored {
            Some(stored) => {
                if !state.lineage.is_empty() && state.lineage != stored.state.lineage {
                    return Err(StateError::Conflict {
                        key: key.clone(),
                        detail: format!(
                            "it has lineage {}, the state being written has lineage {}",
                            stored.state.lineage, state.lineage
                        ),
                    });
                }
                if base_serial < stored.state.serial {
                    return Err(StateError::Conflict {
                        key: key.clone(),
                        detail: format!(
                            "it was written at serial {} after being read at serial {base_serial}",
                            stored.state.serial
                        ),
                    });
                }
                (
                    Some(stored.etag.as_str()),
                    stored.state.lineage.clone(),
                    stored.state.serial + fold.changes,
                )
            }
            None if state.lineage.is_empty() => {
                (None, uuid::Uuid::new_v4().to_string(), fold.changes)
            }
            None => (None, state.lineage.clone(), fold.changes),
        };
        let mut next = state.clone();
        next.format_version = FORMAT_VERSION;
        next.lineage = lineage;
        next.serial = replayed.max(state.serial).max(base_serial) + 1;
        self.commit(key, &next, expected, fold).await?;
        Ok(next.serial)
    }

    async fn keys(&self) -> Result<Vec<StateKey>, StateError> {
        let layout = &self.shared.layout;
        let mut keys: Vec<StateKey> = self
            .bucket()
            .list(&layout.root(), false, None)
            .await?
            .iter()
            .filter_map(|l| layout.parse_snapshot(&l.key))
            .collect();
        keys.sort();
        keys.dedup();
        Ok(keys)
    }

    async fn history(&self, key: &StateKey) -> Result<Vec<HistoryEntry>, StateError> {
        check_key(key)?;
        let dir = self.shared.layout.history_dir(key);
        let versions: Vec<(u64, String, Option<String>)> = self
            .bucket()
            .list(&dir, true, None)
            .await?
            .into_iter()
            .filter_map(|l| numbered(&dir, &l.key).map(|serial| (serial, l.key, l.last_modified)))
            .collect();
        let mut out: Vec<HistoryEntry> = futures::stream::iter(versions)
            .map(|(serial, object, modified)| self.history_entry(key, serial, object, modified))
            .buffered(PARALLEL_REQUESTS)
            .try_collect()
            .await?;
        out.sort_by_key(|h| h.serial);
        Ok(out)
    }

    async fn restore(&self, key: &StateKey, serial: u64) -> Result<(), StateError> {
        check_key(key)?;
        lease::check_before_write(&self.shared, key).await?;
        let (stored, all, entries) = self.read_state(key).await?;
        let Some(current) = stored else {
            return Err(StateError::NoState { key: key.clone() });
        };
        let object = self.shared.layout.history_version(key, serial);
        let Some(found) = self.bucket().get(&object).await? else {
            return Err(StateError::NoSuchVersion {
                key: key.clone(),
                serial,
            });
        };
        let mut restored = self.codec.decode_snapshot(&found.body).map_err(|e| {
            self.decode_error(key, &format!("history version {serial}"), &object, e)
        })?;
        let fold = self.folding(current.through, &all, &entries);
        restored.format_version = FORMAT_VERSION;
        restored.lineage = current.state.lineage;
        restored.serial = current.state.serial + fold.changes + 1;
        self.commit(key, &restored, Some(&current.etag), fold).await
    }

    async fn delete(&self, key: &StateKey) -> Result<(), StateError> {
        check_key(key)?;
        let Some(loaded) = self.load(key).await? else {
            return Ok(());
        };
        if !loaded.state.resources.is_empty() || !loaded.open_intents.is_empty() {
            return Err(StateError::NotEmpty {
                key: key.clone(),
                resources: loaded.state.resources.len(),
                open_intents: loaded.open_intents.len(),
            });
        }
        lease::check_before_write(&self.shared, key).await?;
        let layout = &self.shared.layout;
        let mut objects: Vec<String> = Vec::new();
        for dir in [layout.journal_dir(key), layout.history_dir(key)] {
            objects.extend(
                self.bucket()
                    .list(&dir, true, None)
                    .await?
                    .into_iter()
                    .filter(|l| numbered(&dir, &l.key).is_some())
                    .map(|l| l.key),
            );
        }
        // The snapshot last: until it goes, the state still loads (empty).
        self.bucket().delete_all(objects).await?;
        self.bucket().delete(&layout.snapshot(key), None).await?;
        self.forget_journal(key);
        Ok(())
    }

    async fn lock(&self, key: &StateKey, operation: &str) -> Result<LockGuard, StateError> {
        S3Store::lock(self, key, operation).await
    }

    async fn unlock(&self, key: &StateKey, lock_id: &str) -> Result<LockInfo, StateError> {
        S3Store::unlock(self, key, lock_id).await
    }
}
