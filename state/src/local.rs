//! The local backend: a sled database under the project's `.strata/` folder.
//!
//! Layout (`.strata/state.db`), with `K` = `env 0x00 stack 0x00`:
//! - tree `snapshots`: `env 0x00 stack` → the current snapshot;
//! - tree `journal`: `K seq` → one entry, `seq` a big-endian id from sled's monotonic generator,
//!   so a prefix scan yields a state's entries in the order they were appended;
//! - tree `history`: `K 'h' serial` → a small version record, `K 's' serial` → that version's
//!   snapshot. Serials are big-endian so versions sort oldest first.
//!
//! An append writes one journal record and flushes (fsync) before returning: the cost of
//! recording an operation is the size of its entry, whatever the size of the state. A persist
//! writes the snapshot, its history version and removes the folded entries in one sled
//! transaction, so a crash leaves either the old snapshot with its journal or the new one.

use crate::codec::{Codec, CodecError};
use crate::error::StateError;
use crate::ledger::{self, Ledger};
use crate::lock::{LockInfo, ProjectLock};
use crate::model::{
    now_rfc3339, HistoryEntry, JournalEntry, Loaded, StackState, StateKey, FORMAT_VERSION,
};
use crate::store::StateStore;
use async_trait::async_trait;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::{IVec, Transactional};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// How many versions of each state `history` keeps; older ones are dropped on the next write.
pub const HISTORY_KEPT: usize = 100;

pub(crate) const SNAPSHOTS: &str = "snapshots";
pub(crate) const JOURNAL: &str = "journal";
pub(crate) const HISTORY: &str = "history";

/// The folder under the project root that holds the local state and its lock.
pub fn state_dir(project_root: &Path) -> PathBuf {
    project_root.join(".strata")
}

/// State in `.strata/state.db`, guarded by an exclusive lock on `.strata/state.lock` for as long
/// as this value lives.
pub struct LocalStore {
    db: sled::Db,
    snapshots: sled::Tree,
    journal: sled::Tree,
    history: sled::Tree,
    db_path: PathBuf,
    /// Keys known to have a snapshot, so that appends after the first skip the existence check.
    known: Mutex<HashSet<StateKey>>,
    bytes_written: AtomicU64,
    codec: Codec,
    /// The second witness of what was written (see [`crate::ledger`]).
    ledger: Ledger,
    /// Declared last: fields drop in order, so the database is closed before the lock goes.
    _lock: ProjectLock,
}

impl std::fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalStore")
            .field("db_path", &self.db_path)
            .finish_non_exhaustive()
    }
}

impl LocalStore {
    /// Takes the project's state lock for `holder` (failing at once with
    /// [`StateError::Locked`] if another process has it) and opens the database.
    pub fn open(project_root: &Path, holder: LockInfo) -> Result<LocalStore, StateError> {
        let dir = state_dir(project_root);
        std::fs::create_dir_all(&dir).map_err(|source| StateError::Io {
            context: "creating the state folder".into(),
            path: dir.clone(),
            source,
        })?;
        let lock = ProjectLock::acquire(&dir.join("state.lock"), &holder)?;
        let ledger = Ledger::open(&dir)?;
        let db_path = dir.join("state.db");
        let db = sled::Config::new()
            .path(&db_path)
            .open()
            .map_err(|e| StateError::storage(format!("opening {}", db_path.display()), e))?;
        let tree = |name: &str| {
            db.open_tree(name)
                .map_err(|e| StateError::storage(format!("opening the {name} tree"), e))
        };
        Ok(LocalStore {
            snapshots: tree(SNAPSHOTS)?,
            journal: tree(JOURNAL)?,
            history: tree(HISTORY)?,
            db,
            db_path,
            known: Mutex::new(HashSet::new()),
            bytes_written: AtomicU64::new(0),
            codec: Codec::plain(),
            ledger,
            _lock: lock,
        })
    }

    /// Seals every record written from now on, and opens sealed records, with `codec`.
    pub fn with_codec(mut self, codec: Codec) -> LocalStore {
        self.codec = codec;
        self
    }

    /// Approximate bytes of serialized entries and snapshots written through this handle, so a
    /// benchmark can show that recording an operation costs the same whatever the state's size.
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written.load(Ordering::Relaxed)
    }

    fn count(&self, bytes: usize) {
        self.bytes_written
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Makes every write so far durable (fsync). On a blocking thread: sled's own
    /// `flush_async` can wait forever when several flushes overlap, which concurrent appends do.
    async fn flush(&self) -> Result<(), StateError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.flush())
            .await
            .map_err(|e| StateError::storage("flushing state to disk", e))?
            .map_err(|e| StateError::storage("flushing state to disk", e))?;
        Ok(())
    }

    fn is_known(&self, key: &StateKey) -> bool {
        self.known.lock().is_ok_and(|k| k.contains(key))
    }

    fn set_known(&self, key: &StateKey, known: bool) {
        if let Ok(mut k) = self.known.lock() {
            if known {
                k.insert(key.clone());
            } else {
                k.remove(key);
            }
        }
    }

    fn corrupt(&self, key: &StateKey, what: &str, e: CodecError) -> StateError {
        decode_error(&key.to_string(), what, &self.db_path, e)
    }

    fn read_snapshot(&self, key: &StateKey) -> Result<Option<(IVec, StackState)>, StateError> {
        let Some(bytes) = self
            .snapshots
            .get(snapshot_key(key))
            .map_err(|e| StateError::storage(format!("reading the snapshot of {key}"), e))?
        else {
            return Ok(None);
        };
        let state = self
            .codec
            .decode_snapshot(&bytes)
            .map_err(|e| self.corrupt(key, "snapshot", e))?;
        Ok(Some((bytes, state)))
    }

    fn read_journal(&self, key: &StateKey) -> Result<Vec<(IVec, JournalEntry)>, StateError> {
        let prefix = journal_prefix(key);
        let mut out = Vec::new();
        for item in self.journal.scan_prefix(&prefix) {
            let (k, v) =
                item.map_err(|e| StateError::storage(format!("reading the journal of {key}"), e))?;
            let what = match k
                .get(prefix.len()..)
                .and_then(|s| <[u8; 8]>::try_from(s).ok())
            {
                Some(seq) => format!("journal entry {}", u64::from_be_bytes(seq)),
                None => "a journal entry with a malformed key".to_string(),
            };
            let entry = self
                .codec
                .decode_entry(&v)
                .map_err(|e| self.corrupt(key, &what, e))?;
            out.push((k, entry));
        }
        Ok(out)
    }

    fn history_keys(&self, key: &StateKey) -> Result<Vec<(IVec, HistoryEntry)>, StateError> {
        let prefix = history_prefix(key, b'h');
        let mut out = Vec::new();
        for item in self.history.scan_prefix(&prefix) {
            let (k, v) =
                item.map_err(|e| StateError::storage(format!("reading the history of {key}"), e))?;
            let entry = self
                .codec
                .decode_history(&v)
                .map_err(|e| self.corrupt(key, "a history record", e))?;
            out.push((k, entry));
        }
        Ok(out)
    }

    /// Writes `state` as the snapshot of `key` (and as a new history version), removing the
    /// journal records `fold`, in one transaction. `expected` is the snapshot the caller's
    /// checks were made against; if it changed meanwhile, nothing is written.
    async fn commit(
        &self,
        key: &StateKey,
        state: &StackState,
        expected: Option<IVec>,
        fold: Vec<IVec>,
    ) -> Result<(), StateError> {
        let snapshot = self
            .codec
            .encode_snapshot(state)
            .map_err(|e| self.corrupt(key, "new snapshot", e))?;
        let version = self
            .codec
            .encode_history(&HistoryEntry {
                serial: state.serial,
                written_at: now_rfc3339(),
                resources: state.resources.len(),
            })
            .map_err(|e| self.corrupt(key, "new history record", e))?;
        let versions = self.history_keys(key)?;
        let drop_count = (versions.len() + 1).saturating_sub(HISTORY_KEPT);
        let dropped: Vec<u64> = versions
            .iter()
            .take(drop_count)
            .map(|(_, h)| h.serial)
            .collect();

        let skey = snapshot_key(key);
        let result = (&self.snapshots, &self.journal, &self.history).transaction(
            |(snapshots, journal, history)| {
                if snapshots.get(&skey)? != expected {
                    return Err(ConflictableTransactionError::Abort(()));
                }
                snapshots.insert(skey.as_slice(), snapshot.as_slice())?;
                history.insert(history_key(key, b'h', state.serial), version.as_slice())?;
                history.insert(history_key(key, b's', state.serial), snapshot.as_slice())?;
                for serial in &dropped {
                    history.remove(history_key(key, b'h', *serial))?;
                    history.remove(history_key(key, b's', *serial))?;
                }
                for k in &fold {
                    journal.remove(k)?;
                }
                Ok(())
            },
        );
        match result {
            Ok(()) => {}
            Err(TransactionError::Abort(())) => {
                return Err(StateError::Conflict {
                    key: key.clone(),
                    detail: "its snapshot was replaced while this write was being prepared".into(),
                })
            }
            Err(TransactionError::Storage(e)) => {
                return Err(StateError::storage(
                    format!("writing the state of {key}"),
                    e,
                ))
            }
        }
        self.count(2 * snapshot.len() + version.len());
        self.flush().await?;
        self.set_known(key, true);
        self.ledger.record(
            key,
            Some(ledger::Entry {
                lineage: state.lineage.clone(),
                serial: state.serial,
            }),
        )
    }
}

/// What persisting over a journal does with it: the records to remove and the number of
/// changes they made.
struct Folding {
    remove: Vec<IVec>,
    changes: u64,
}

/// Every record goes except intents nobody closed: those must survive the snapshot so the next
/// run can still reconcile them.
fn folding(journal: Vec<(IVec, JournalEntry)>) -> Folding {
    let entries: Vec<&JournalEntry> = journal.iter().map(|(_, e)| e).collect();
    let replayed = Loaded::replay(StackState::new(), entries);
    let open: HashSet<&str> = replayed
        .open_intents
        .iter()
        .map(|i| i.id.as_str())
        .collect();
    let remove = journal
        .iter()
        .filter(|(_, e)| !matches!(e, JournalEntry::Intent(i) if open.contains(i.id.as_str())))
        .map(|(k, _)| k.clone())
        .collect();
    Folding {
        remove,
        changes: replayed.state.serial,
    }
}

pub(crate) fn decode_error(key: &str, what: &str, db_path: &Path, e: CodecError) -> StateError {
    e.into_state_error(key, what, &db_path.display().to_string())
}

/// A transaction that never aborts on purpose can still fail in storage.
fn tx_failed(context: String, e: TransactionError<()>) -> StateError {
    match e {
        TransactionError::Storage(e) => StateError::storage(context, e),
        TransactionError::Abort(()) => StateError::storage(
            context,
            std::io::Error::other("the transaction was aborted"),
        ),
    }
}

fn check_key(key: &StateKey) -> Result<(), StateError> {
    key.validate().map_err(|reason| StateError::InvalidKey {
        key: key.to_string(),
        reason,
    })
}

pub(crate) fn snapshot_key(key: &StateKey) -> Vec<u8> {
    let mut k = Vec::with_capacity(key.env.len() + key.stack.len() + 1);
    k.extend_from_slice(key.env.as_bytes());
    k.push(0);
    k.extend_from_slice(key.stack.as_bytes());
    k
}

/// Ends with a separator so that no other key's records share the prefix.
pub(crate) fn journal_prefix(key: &StateKey) -> Vec<u8> {
    let mut k = snapshot_key(key);
    k.push(0);
    k
}

fn journal_key(key: &StateKey, seq: u64) -> Vec<u8> {
    let mut k = journal_prefix(key);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

fn history_prefix(key: &StateKey, kind: u8) -> Vec<u8> {
    let mut k = journal_prefix(key);
    k.push(kind);
    k
}

fn history_key(key: &StateKey, kind: u8, serial: u64) -> Vec<u8> {
    let mut k = history_prefix(key, kind);
    k.extend_from_slice(&serial.to_be_bytes());
    k
}

fn parse_snapshot_key(bytes: &[u8]) -> Option<StateKey> {
    let text = std::str::from_utf8(bytes).ok()?;
    let (env, stack) = text.split_once('\0')?;
    let key = StateKey::new(env, stack);
    key.validate().ok().map(|()| key)
}

fn new_lineage() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[async_trait]
impl StateStore for LocalStore {
    async fn load(&self, key: &StateKey) -> Result<Option<Loaded>, StateError> {
        check_key(key)?;
        let snapshot = self.read_snapshot(key)?;
        let journal = self.read_journal(key)?;
        let remembered = self.ledger.get(key);
        let Some((_, state)) = snapshot else {
            if remembered.is_some() {
                return Err(self.ledger.lost(key, &self.db_path, None));
            }
            if journal.is_empty() {
                return Ok(None);
            }
            return Err(StateError::Corrupt {
                key: key.to_string(),
                detail: format!(
                    "{} journal entries but no snapshot in {}",
                    journal.len(),
                    self.db_path.display()
                ),
            });
        };
        if let Some(r) = remembered {
            if r.lineage != state.lineage || r.serial > state.serial {
                return Err(self.ledger.lost(
                    key,
                    &self.db_path,
                    Some((&state.lineage, state.serial)),
                ));
            }
        }
        self.set_known(key, true);
        Ok(Some(Loaded::replay(state, journal.iter().map(|(_, e)| e))))
    }

    async fn append(&self, key: &StateKey, entry: &JournalEntry) -> Result<(), StateError> {
        check_key(key)?;
        let bytes = self
            .codec
            .encode_entry(entry)
            .map_err(|e| self.corrupt(key, "new journal entry", e))?;
        let seq = self
            .db
            .generate_id()
            .map_err(|e| StateError::storage("numbering a journal entry", e))?;
        let jkey = journal_key(key, seq);
        if self.is_known(key) {
            self.journal.insert(jkey, bytes.as_slice()).map_err(|e| {
                StateError::storage(format!("appending to the journal of {key}"), e)
            })?;
            self.count(bytes.len());
        } else {
            // The first write of a key creates its (empty) snapshot and lineage together with the
            // entry, so a journal never exists without the snapshot it applies to.
            let mut initial = StackState::new();
            initial.lineage = new_lineage();
            let initial_lineage = initial.lineage.clone();
            let initial = self
                .codec
                .encode_snapshot(&initial)
                .map_err(|e| self.corrupt(key, "new snapshot", e))?;
            let skey = snapshot_key(key);
            let created = (&self.snapshots, &self.journal)
                .transaction(|(snapshots, journal)| {
                    let created = if snapshots.get(&skey)?.is_none() {
                        snapshots.insert(skey.as_slice(), initial.as_slice())?;
                        true
                    } else {
                        false
                    };
                    journal.insert(jkey.as_slice(), bytes.as_slice())?;
                    Ok(created)
                })
                .map_err(|e| tx_failed(format!("appending to the journal of {key}"), e))?;
            self.count(bytes.len() + if created { initial.len() } else { 0 });
            if created {
                self.flush().await?;
                self.ledger.record(
                    key,
                    Some(ledger::Entry {
                        lineage: initial_lineage,
                        serial: 0,
                    }),
                )?;
            }
        }
        self.flush().await?;
        self.set_known(key, true);
        Ok(())
    }

    async fn persist(
        &self,
        key: &StateKey,
        state: &StackState,
        base_serial: u64,
    ) -> Result<u64, StateError> {
        check_key(key)?;
        let stored = self.read_snapshot(key)?;
        let fold = folding(self.read_journal(key)?);
        let (expected, lineage, replayed) = match stored {
            Some((bytes, stored)) => {
                if !state.lineage.is_empty() && state.lineage != stored.lineage {
                    return Err(StateError::Conflict {
                        key: key.clone(),
                        detail: format!(
                            "it has lineage {}, the state being written has lineage {}",
                            stored.lineage, state.lineage
                        ),
                    });
                }
                if base_serial < stored.serial {
                    return Err(StateError::Conflict {
                        key: key.clone(),
                        detail: format!(
                            "it was written at serial {} after being read at serial {base_serial}",
                            stored.serial
                        ),
                    });
                }
                (Some(bytes), stored.lineage, stored.serial + fold.changes)
            }
            None if state.lineage.is_empty() => (None, new_lineage(), fold.changes),
            None => (None, state.lineage.clone(), fold.changes),
        };
        let mut next = state.clone();
        next.format_version = FORMAT_VERSION;
        next.lineage = lineage;
        next.serial = replayed.max(state.serial).max(base_serial) + 1;
        self.commit(key, &next, expected, fold.remove).await?;
        Ok(next.serial)
    }

    async fn keys(&self) -> Result<Vec<StateKey>, StateError> {
        let mut keys = Vec::new();
        for item in self.snapshots.iter().keys() {
            let k = item.map_err(|e| StateError::storage("listing stored states", e))?;
            keys.push(parse_snapshot_key(&k).ok_or_else(|| StateError::Corrupt {
                key: String::from_utf8_lossy(&k).replace('\0', "/"),
                detail: format!("malformed state key in {}", self.db_path.display()),
            })?);
        }
        // A state the database lost is still listed, so that loading it reports the loss.
        for name in self.ledger.names() {
            if let Some((env, stack)) = name.split_once('/') {
                let key = StateKey::new(env, stack);
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
        }
        keys.sort();
        Ok(keys)
    }

    async fn history(&self, key: &StateKey) -> Result<Vec<HistoryEntry>, StateError> {
        check_key(key)?;
        Ok(self
            .history_keys(key)?
            .into_iter()
            .map(|(_, h)| h)
            .collect())
    }

    async fn restore(&self, key: &StateKey, serial: u64) -> Result<(), StateError> {
        check_key(key)?;
        let Some((expected, current)) = self.read_snapshot(key)? else {
            return Err(StateError::NoState { key: key.clone() });
        };
        let bytes = self
            .history
            .get(history_key(key, b's', serial))
            .map_err(|e| StateError::storage(format!("reading the history of {key}"), e))?
            .ok_or_else(|| StateError::NoSuchVersion {
                key: key.clone(),
                serial,
            })?;
        let mut restored = self
            .codec
            .decode_snapshot(&bytes)
            .map_err(|e| self.corrupt(key, &format!("history version {serial}"), e))?;
        let fold = folding(self.read_journal(key)?);
        restored.format_version = FORMAT_VERSION;
        restored.lineage = current.lineage;
        restored.serial = current.serial + fold.changes + 1;
        self.commit(key, &restored, Some(expected), fold.remove)
            .await
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
        let entries: Vec<IVec> = self
            .journal
            .scan_prefix(journal_prefix(key))
            .keys()
            .collect::<Result<_, _>>()
            .map_err(|e| StateError::storage(format!("reading the journal of {key}"), e))?;
        let versions: Vec<IVec> = [b'h', b's']
            .iter()
            .flat_map(|kind| self.history.scan_prefix(history_prefix(key, *kind)).keys())
            .collect::<Result<_, _>>()
            .map_err(|e| StateError::storage(format!("reading the history of {key}"), e))?;
        let skey = snapshot_key(key);
        (&self.snapshots, &self.journal, &self.history)
            .transaction(|(snapshots, journal, history)| {
                snapshots.remove(skey.as_slice())?;
                for k in &entries {
                    journal.remove(k.clone())?;
                }
                for k in &versions {
                    history.remove(k.clone())?;
                }
                Ok(())
            })
            .map_err(|e| tx_failed(format!("deleting the state of {key}"), e))?;
        self.set_known(key, false);
        self.flush().await?;
        self.ledger.record(key, None)
    }
}
