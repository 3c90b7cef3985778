//! Where each record of a state lives in the bucket.
//!
//! For a state key `env`/`stack` under `prefix` (`{base}` = `{prefix}/{env}/{stack}`):
//! - `{base}/snapshot.json`: the current snapshot; its metadata says up to which journal entry
//!   it includes ([`JOURNAL_THROUGH`]);
//! - `{base}/journal/{seq:020}.json`: one journal entry each, numbered from 1 so that the
//!   lexical order of the names is the order of the entries;
//! - `{base}/history/{serial:020}.json`: every snapshot version ever current;
//! - `{base}/lock.json`: the lock object, while a run holds the state.
//!
//! A stack in a nested folder (`platform/base`) gets nested folders; listings of a state's
//! journal and history use `/` as delimiter, so they never reach into another stack's folder.

use crate::model::StateKey;

/// Snapshot metadata: the sequence number of the last journal entry folded into it. Entries up
/// to it are ignored by readers (a persist that died before removing them leaves them behind).
pub(crate) const JOURNAL_THROUGH: &str = "strata-journal-through";
/// History version metadata: when the version was written and how many resources it holds,
/// so that listing history reads no state.
pub(crate) const WRITTEN_AT: &str = "strata-written-at";
pub(crate) const RESOURCES: &str = "strata-resources";

const SNAPSHOT: &str = "snapshot.json";

/// Object names of the states under one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Without leading or trailing `/`; may be empty.
    prefix: String,
}

impl Layout {
    pub fn new(prefix: &str) -> Layout {
        Layout {
            prefix: prefix.trim_matches('/').to_string(),
        }
    }

    /// The folder every object of this backend lives under, with a trailing `/` (or empty).
    pub fn root(&self) -> String {
        if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        }
    }

    fn base(&self, key: &StateKey) -> String {
        format!("{}{}/{}", self.root(), key.env, key.stack)
    }

    pub fn snapshot(&self, key: &StateKey) -> String {
        format!("{}/{SNAPSHOT}", self.base(key))
    }

    pub fn lock(&self, key: &StateKey) -> String {
        format!("{}/lock.json", self.base(key))
    }

    /// The journal folder, with its trailing `/`.
    pub fn journal_dir(&self, key: &StateKey) -> String {
        format!("{}/journal/", self.base(key))
    }

    pub fn journal_entry(&self, key: &StateKey, seq: u64) -> String {
        format!("{}{seq:020}.json", self.journal_dir(key))
    }

    /// The history folder, with its trailing `/`.
    pub fn history_dir(&self, key: &StateKey) -> String {
        format!("{}/history/", self.base(key))
    }

    pub fn history_version(&self, key: &StateKey, serial: u64) -> String {
        format!("{}{serial:020}.json", self.history_dir(key))
    }

    /// Where [`probe_conditional_writes`](super::S3Store::probe_conditional_writes) writes.
    pub(crate) fn probe(&self, id: &str) -> String {
        format!("{}.strata-probe/{id}.json", self.root())
    }

    /// The state whose snapshot is stored at `object`, if it is one.
    pub fn parse_snapshot(&self, object: &str) -> Option<StateKey> {
        let rest = object.strip_prefix(&self.root())?;
        let rest = rest.strip_suffix(SNAPSHOT)?.strip_suffix('/')?;
        let (env, stack) = rest.split_once('/')?;
        let key = StateKey::new(env, stack);
        key.validate().ok().map(|()| key)
    }
}

/// The number in a journal entry or history version name (`{n:020}.json`) directly inside
/// `dir`; `None` for anything else found there.
pub(crate) fn numbered(dir: &str, object: &str) -> Option<u64> {
    let name = object.strip_prefix(dir)?.strip_suffix(".json")?;
    if name.len() != 20 || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_in_sequence_order_and_parse_back() {
        let l = Layout::new("/team/state/");
        let k = StateKey::new("stage", "platform/base");
        assert_eq!(
            l.snapshot(&k),
            "team/state/stage/platform/base/snapshot.json"
        );
        let (a, b) = (l.journal_entry(&k, 9), l.journal_entry(&k, 10));
        assert!(a < b, "{a} sorts before {b}");
        assert_eq!(numbered(&l.journal_dir(&k), &b), Some(10));
        assert_eq!(numbered(&l.journal_dir(&k), "elsewhere/x.json"), None);
        assert_eq!(l.parse_snapshot(&l.snapshot(&k)), Some(k.clone()));
        assert_eq!(l.parse_snapshot(&l.journal_entry(&k, 1)), None);
        assert_eq!(
            Layout::new("").snapshot(&k),
            "stage/platform/base/snapshot.json"
        );
        assert_eq!(Layout::new("").parse_snapshot("snapshot.json"), None);
    }
}
