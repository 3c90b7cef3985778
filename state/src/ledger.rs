//! A record, outside the sled database, of every local state and the serial it was last
//! written at.
//!
//! sled repairs a damaged database on open by dropping what follows the damage, and a database
//! truncated or partly overwritten while no process had it open can open as if it held fewer
//! states, or older ones. Without a second witness, a lost state looks like a state never
//! written, and the next plan would create every resource again. The ledger is that witness:
//! `.strata/state.ledger` (small JSON, replaced atomically) names each state with its lineage
//! and the serial of its last snapshot, and a load that finds less in the database than the
//! ledger remembers fails instead of starting over.
//!
//! The ledger is written after the database, so after a crash it may lag behind (which is
//! harmless), never run ahead.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::error::StateError;
use crate::model::StateKey;

/// What the ledger remembers of one state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub lineage: String,
    pub serial: u64,
}

#[derive(Default, Serialize, Deserialize)]
struct File {
    format_version: u32,
    /// `env/stack` → entry.
    states: BTreeMap<String, Entry>,
}

pub(crate) struct Ledger {
    path: PathBuf,
    states: Mutex<BTreeMap<String, Entry>>,
}

fn name(key: &StateKey) -> String {
    key.to_string()
}

impl Ledger {
    /// Reads `dir/state.ledger` (none yet: an empty ledger).
    pub fn open(dir: &Path) -> Result<Ledger, StateError> {
        let path = dir.join("state.ledger");
        let states = match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice::<File>(&bytes)
                    .map_err(|e| StateError::Corrupt {
                        key: "(all states)".into(),
                        detail: format!("{} is damaged: {e}", path.display()),
                    })?
                    .states
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(source) => {
                return Err(StateError::Io {
                    context: "reading the state ledger".into(),
                    path,
                    source,
                })
            }
        };
        Ok(Ledger {
            path,
            states: Mutex::new(states),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Entry>> {
        self.states.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, key: &StateKey) -> Option<Entry> {
        self.lock().get(&name(key)).cloned()
    }

    /// Every state the ledger names, as `env/stack`.
    pub fn names(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// Records that `key` was written at `entry`, or (`None`) that it was deleted.
    pub fn record(&self, key: &StateKey, entry: Option<Entry>) -> Result<(), StateError> {
        let mut states = self.lock();
        let changed = match entry {
            Some(e) => states.insert(name(key), e.clone()) != Some(e),
            None => states.remove(&name(key)).is_some(),
        };
        if !changed {
            return Ok(());
        }
        let file = File {
            format_version: 1,
            states: states.clone(),
        };
        let bytes = serde_json::to_vec_pretty(&file).unwrap_or_default();
        let tmp = self.path.with_extension("ledger.tmp");
        let io = |source| StateError::Io {
            context: "writing the state ledger".into(),
            path: self.path.clone(),
            source,
        };
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)
    }

    /// The error for a state the database holds less of than the ledger remembers.
    pub fn lost(&self, key: &StateKey, db: &Path, found: Option<(&str, u64)>) -> StateError {
        let expected = self.get(key);
        let what = match (found, &expected) {
            (None, Some(e)) => format!(
                "{} holds no state for it, but {} records serial {} (lineage {})",
                db.display(),
                self.path.display(),
                e.serial,
                e.lineage
            ),
            (Some((lineage, serial)), Some(e)) => format!(
                "{} holds serial {serial} (lineage {lineage}), older than serial {} (lineage {}) that {} records",
                db.display(),
                e.serial,
                e.lineage,
                self.path.display()
            ),
            _ => format!("{} lost data", db.display()),
        };
        StateError::Lost {
            key: key.to_string(),
            detail: what,
        }
    }
}
