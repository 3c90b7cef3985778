//! The behaviour every [`StateStore`] backend must show, as one suite.
//!
//! A backend's test calls [`run_all`] with a factory of [`Backend`]s, each over fresh, empty
//! storage. The suite fails by panicking with a message that names the broken rule, like any
//! test assertion. It uses no test-only dependency and needs no particular async runtime.

use crate::codec::Codec;
use crate::error::StateError;
use crate::local::{journal_prefix, snapshot_key, state_dir, LocalStore, JOURNAL, SNAPSHOTS};
use crate::lock::LockInfo;
use crate::model::{
    Intent, IntentAction, JournalEntry, OutputState, ResourceState, ResourceStatus, StackState,
    StateKey,
};
use crate::store::StateStore;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use strata_core::{Address, InstanceKey, Value};
use strata_encryption::Sealer;

/// A stored record that [`Backend::rewrite`] edits in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    Snapshot,
    NewestJournalEntry,
}

/// One backend's storage as the suite drives it.
#[async_trait]
pub trait Backend: Send {
    type Store: StateStore;

    /// A handle on this storage; every call reaches the same data. The suite drops the previous
    /// handle first, the way a killed process lets go of it.
    async fn open(&mut self) -> Result<Self::Store, StateError>;

    /// Replaces the stored bytes of `record` of `key` with `edit(bytes)`, behind the store's back
    /// (no handle is open), as a disk fault or a hand edit would.
    async fn rewrite(
        &mut self,
        key: &StateKey,
        record: Record,
        edit: fn(Vec<u8>) -> Vec<u8>,
    ) -> Result<(), String>;

    /// Makes the handles opened from now on encode records with `codec`.
    fn use_codec(&mut self, codec: Codec);
}

/// Runs every case, each on a fresh backend from `make`.
pub async fn run_all<F, B>(mut make: F)
where
    F: FnMut() -> B,
    B: Backend,
{
    round_trip(make()).await;
    journal_survives_a_crash(make()).await;
    serial_grows_with_every_change(make()).await;
    persist_folds_the_journal(make()).await;
    stale_base_serial_is_refused(make()).await;
    other_lineage_is_refused(make()).await;
    history_and_restore(make()).await;
    corrupt_snapshot_is_reported(make()).await;
    corrupt_journal_entry_is_reported(make()).await;
    newer_format_is_refused(make()).await;
    open_intents_until_resolved(make()).await;
    keys_and_delete(make()).await;
    invalid_keys_are_refused(make()).await;
    encryption_seals_every_record(make()).await;
}

fn key() -> StateKey {
    StateKey::new("stage", "base")
}

/// A resource with a sensitive attribute and a `for_each` key, the shapes most easily lost.
pub fn resource(name: &str, id: &str) -> ResourceState {
    let address =
        Address::new("base", "testing_thing", name).with_key(Some(InstanceKey::Str("k".into())));
    let value = Value::map([
        ("name", Value::from(name)),
        ("size", Value::from(3i64)),
        ("password", Value::from("hunter2").sensitive()),
    ]);
    let (plain, sensitive_paths) = value.unmark();
    ResourceState {
        address,
        provider: "testing".into(),
        id: id.into(),
        attributes: plain.to_json(),
        sensitive_paths,
        dependencies: vec!["base/testing_thing.net".into()],
        schema_version: 2,
        status: ResourceStatus::Ready,
    }
}

fn intent(id: &str, action: IntentAction, name: &str) -> Intent {
    Intent {
        id: id.into(),
        action,
        address: Address::new("base", "testing_thing", name),
        provider: "testing".into(),
        cloud_id: None,
        planned: serde_json::json!({ "name": name }),
        started_at: "2026-01-01T00:00:00Z".into(),
    }
}

fn applied(intent: &str, r: ResourceState) -> JournalEntry {
    JournalEntry::Applied {
        intent: intent.into(),
        resource: r,
    }
}

fn outputs(v: &str) -> JournalEntry {
    JournalEntry::Outputs(BTreeMap::from([(
        "endpoint".to_string(),
        OutputState {
            value: serde_json::json!(v),
            sensitive: false,
        },
    )]))
}

async fn open<B: Backend>(b: &mut B) -> B::Store {
    match b.open().await {
        Ok(s) => s,
        Err(e) => panic!("opening the store failed: {e}"),
    }
}

async fn load<S: StateStore>(s: &S) -> crate::model::Loaded {
    match s.load(&key()).await {
        Ok(Some(l)) => l,
        Ok(None) => panic!("state of {} should exist", key()),
        Err(e) => panic!("loading {} failed: {e}", key()),
    }
}

async fn append<S: StateStore>(s: &S, e: JournalEntry) {
    if let Err(err) = s.append(&key(), &e).await {
        panic!("appending {e:?} failed: {err}");
    }
}

async fn persist<S: StateStore>(s: &S, state: &StackState, base: u64) -> u64 {
    match s.persist(&key(), state, base).await {
        Ok(serial) => serial,
        Err(e) => panic!("persisting at base serial {base} failed: {e}"),
    }
}

async fn round_trip<B: Backend>(mut b: B) {
    let s = open(&mut b).await;
    assert!(
        s.load(&key()).await.expect("load of a fresh key").is_none(),
        "a key never written must load as None"
    );
    let r = resource("a", "id-1");
    append(
        &s,
        JournalEntry::Intent(intent("i1", IntentAction::Create, "a")),
    )
    .await;
    append(&s, applied("i1", r.clone())).await;
    append(&s, outputs("https://a")).await;
    let l = load(&s).await;
    assert!(
        !l.state.lineage.is_empty(),
        "the first append must fix a lineage"
    );
    assert_eq!(l.state.resources.get(&r.address.local()), Some(&r));
    assert_eq!(
        l.state.outputs.get("endpoint").map(|o| &o.value),
        Some(&serde_json::json!("https://a"))
    );
    let value = l.state.resources[&r.address.local()].value();
    assert!(
        value.get("password").is_some_and(|p| p.is_sensitive()),
        "sensitive marks must survive storage"
    );

    let serial = persist(&s, &l.state, l.state.serial).await;
    let again = load(&s).await;
    assert_eq!(
        again.state.resources, l.state.resources,
        "persist must keep resources"
    );
    assert_eq!(
        again.state.outputs, l.state.outputs,
        "persist must keep outputs"
    );
    assert_eq!(
        again.state.lineage, l.state.lineage,
        "persist must keep the lineage"
    );
    assert_eq!(
        again.state.serial, serial,
        "load must report the persisted serial"
    );
}

async fn journal_survives_a_crash<B: Backend>(mut b: B) {
    let s = open(&mut b).await;
    append(
        &s,
        JournalEntry::Intent(intent("i1", IntentAction::Create, "a")),
    )
    .await;
    append(&s, applied("i1", resource("a", "id-1"))).await;
    append(
        &s,
        JournalEntry::Intent(intent("i2", IntentAction::Create, "b")),
    )
    .await;
    drop(s); // no persist: the process is gone
    let s = open(&mut b).await;
    let l = load(&s).await;
    assert_eq!(
        l.state.resources.len(),
        1,
        "an applied entry must survive a crash"
    );
    assert_eq!(
        l.state.resources.values().next().map(|r| r.id.as_str()),
        Some("id-1")
    );
    let open: Vec<&str> = l.open_intents.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(
        open,
        ["i2"],
        "an interrupted operation must be reported after a crash"
    );
}

async fn serial_grows_with_every_change<B: Backend>(mut b: B) {
    let s = open(&mut b).await;
    append(
        &s,
        JournalEntry::Intent(intent("i1", IntentAction::Create, "a")),
    )
    .await;
    let s0 = load(&s).await.state.serial;
    append(&s, applied("i1", resource("a", "id-1"))).await;
    assert_eq!(
        load(&s).await.state.serial,
        s0 + 1,
        "Applied must bump the serial"
    );
    append(&s, outputs("x")).await;
    assert_eq!(
        load(&s).await.state.serial,
        s0 + 2,
        "Outputs must bump the serial"
    );
    append(
        &s,
        JournalEntry::Intent(intent("i2", IntentAction::Delete, "a")),
    )
    .await;
    assert_eq!(
        load(&s).await.state.serial,
        s0 + 2,
        "an intent changes nothing yet"
    );
    append(
        &s,
        JournalEntry::Deleted {
            intent: "i2".into(),
            address: resource("a", "id-1").address.local(),
        },
    )
    .await;
    let l = load(&s).await;
    assert_eq!(l.state.serial, s0 + 3, "Deleted must bump the serial");
    assert!(l.state.resources.is_empty());
    let persisted = persist(&s, &l.state, l.state.serial).await;
    assert!(
        persisted > l.state.serial,
        "persist must write a new serial"
    );
}

async fn persist_folds_the_journal<B: Backend>(mut b: B) {
    let s = open(&mut b).await;
    append(&s, applied("i1", resource("a", "id-1"))).await;
    let before = load(&s).await;
    // A caller's state may differ from the replayed one (refreshed attributes): it wins.
    let mut state = before.state.clone();
    state
        .resources
        .insert(resource("b", "id-2").address.local(), resource("b", "id-2"));
    let serial = persist(&s, &state, before.state.serial).await;
    drop(s);
    let s = open(&mut b).await;
    let after = load(&s).await;
    assert_eq!(
        after.state.serial, serial,
        "folded entries must not be replayed again"
    );
    assert_eq!(after.state.resources, state.resources);
}

async fn stale_base_serial_is_refused<B: Backend>(mut b: B) {
    let s = open(&mut b).await;
    append(&s, applied("i1", resource("a", "id-1"))).await;
    let read = load(&s).await;
    let first = persist(&s, &read.state, read.state.serial).await;
    let mut stale = read.state.clone();
    stale.resources.clear();
    match s.persist(&key(), &stale, read.state.serial).await {
        Err(StateError::Conflict { .. }) => {}
        other => panic!("a write based on serial {} after serial {first} was written must be refused, got {other:?}", read.state.serial),
    }
    let l = load(&s).await;
    assert_eq!(l.state.serial, first, "a refused write must change nothing");
    assert_eq!(
        l.state.resources.len(),
        1,
        "a refused write must change nothing"
    );
}

async fn other_lineage_is_refused<B: Backend>(mut b: B) {
    let s = open(&mut b).await;
    append(&s, applied("i1", resource("a", "id-1"))).await;
    let read = load(&s).await;
    let mut foreign = read.state.clone();
    foreign.lineage = "00000000-0000-4000-8000-000000000000".into();
    match s.persist(&key(), &foreign, read.state.serial).await {
        Err(StateError::Conflict { .. }) => {}
        other => panic!("a write of another lineage must be refused, got {other:?}"),
    }
    // A state that started empty (never loaded a lineage) takes the stored one.
    let mut fresh = StackState::new();
    fresh.resources = read.state.resources.clone();
    persist(&s, &fresh, read.state.serial).await;
    assert_eq!(
        load(&s).await.state.lineage,
        read.state.lineage,
        "the lineage is fixed at creation"
    );
}

async fn history_and_restore<B: Backend>(mut b: B) {
    let s = open(&mut b).await;
    append(&s, applied("i1", resource("a", "id-1"))).await;
    let l = load(&s).await;
    let v1 = persist(&s, &l.state, l.state.serial).await;
    append(&s, applied("i2", resource("b", "id-2"))).await;
    let l = load(&s).await;
    let v2 = persist(&s, &l.state, l.state.serial).await;
    let h = s.history(&key()).await.expect("history");
    let listed: Vec<(u64, usize)> = h.iter().map(|e| (e.serial, e.resources)).collect();
    assert_eq!(
        listed,
        [(v1, 1), (v2, 2)],
        "history lists versions oldest first with resource counts"
    );
    assert!(h.iter().all(|e| !e.written_at.is_empty()));

    s.restore(&key(), v1)
        .await
        .expect("restore of a listed version");
    let r = load(&s).await;
    assert_eq!(
        r.state.resources.len(),
        1,
        "restore brings the old resources back"
    );
    assert!(
        r.state.serial > v2,
        "a restore is a new version with a new serial"
    );
    let h = s.history(&key()).await.expect("history");
    assert_eq!(h.len(), 3, "restore keeps the versions in between");
    match s.restore(&key(), v2 + 1000).await {
        Err(StateError::NoSuchVersion { serial, .. }) => assert_eq!(serial, v2 + 1000),
        other => panic!("restoring a version that does not exist must fail, got {other:?}"),
    }
}

/// Used as a [`Backend::rewrite`] edit: checks that a stored record is sealed, with no trace of
/// what it holds, and leaves it as it was.
fn must_be_sealed(bytes: Vec<u8>) -> Vec<u8> {
    assert!(
        strata_encryption::is_sealed(&bytes),
        "with a passphrase, every stored record must be sealed"
    );
    for plain in [&b"hunter2"[..], b"id-1", b"testing_thing"] {
        assert!(
            !bytes.windows(plain.len()).any(|w| w == plain),
            "a sealed record must not show {:?}",
            String::from_utf8_lossy(plain)
        );
    }
    bytes
}

async fn encryption_seals_every_record<B: Backend>(mut b: B) {
    let sealer = |p: &str| Codec::sealed(Arc::new(Sealer::new(p).expect("a passphrase")));
    let right = sealer("the right passphrase");
    b.use_codec(right.clone());
    let s = open(&mut b).await;
    append(&s, applied("i1", resource("a", "id-1"))).await;
    let l = load(&s).await;
    let v1 = persist(&s, &l.state, l.state.serial).await;
    append(&s, applied("i2", resource("b", "id-2"))).await;
    drop(s);
    for record in [Record::Snapshot, Record::NewestJournalEntry] {
        b.rewrite(&key(), record, must_be_sealed)
            .await
            .expect("reading the stored record");
    }

    for (what, codec) in [
        ("no passphrase", Codec::plain()),
        ("a wrong passphrase", sealer("a wrong passphrase")),
    ] {
        b.use_codec(codec);
        let s = open(&mut b).await;
        match s.load(&key()).await {
            Err(StateError::Encrypted { key: k, .. }) => assert_eq!(k, key().to_string()),
            other => panic!("loading sealed state with {what} must fail clearly, got {other:?}"),
        }
    }

    b.use_codec(right);
    let s = open(&mut b).await;
    assert_eq!(load(&s).await.state.resources.len(), 2);
    let h = s.history(&key()).await.expect("history of sealed state");
    assert_eq!(h.first().map(|e| e.serial), Some(v1));
    s.restore(&key(), v1)
        .await
        .expect("restoring a sealed version");
    assert_eq!(load(&s).await.state.resources.len(), 1);
}

fn truncate(mut bytes: Vec<u8>) -> Vec<u8> {
    bytes.truncate(bytes.len() / 2);
    bytes
}

fn from_the_future(bytes: Vec<u8>) -> Vec<u8> {
    let mut json: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    json["format_version"] = serde_json::json!(crate::model::FORMAT_VERSION + 1);
    serde_json::to_vec(&json).unwrap_or_default()
}

async fn damaged<B: Backend>(
    b: &mut B,
    record: Record,
    edit: fn(Vec<u8>) -> Vec<u8>,
) -> StateError {
    let s = open(b).await;
    append(&s, applied("i1", resource("a", "id-1"))).await;
    let l = load(&s).await;
    persist(&s, &l.state, l.state.serial).await;
    append(&s, applied("i2", resource("b", "id-2"))).await;
    drop(s);
    if let Err(e) = b.rewrite(&key(), record, edit).await {
        panic!("damaging {record:?} failed: {e}");
    }
    let s = open(b).await;
    match s.load(&key()).await {
        Err(e) => e,
        Ok(l) => panic!("loading a damaged {record:?} must fail, got {l:?}"),
    }
}

async fn corrupt_snapshot_is_reported<B: Backend>(mut b: B) {
    match damaged(&mut b, Record::Snapshot, truncate).await {
        StateError::Corrupt { key: k, detail } => {
            assert_eq!(k, key().to_string(), "the error names the state");
            assert!(
                detail.contains("snapshot"),
                "the error names the record: {detail}"
            );
        }
        other => panic!("a truncated snapshot must give Corrupt, got {other:?}"),
    }
}

async fn corrupt_journal_entry_is_reported<B: Backend>(mut b: B) {
    match damaged(&mut b, Record::NewestJournalEntry, truncate).await {
        StateError::Corrupt { key: k, detail } => {
            assert_eq!(k, key().to_string(), "the error names the state");
            assert!(
                detail.contains("journal entry"),
                "the error names the record: {detail}"
            );
        }
        other => panic!("a truncated journal entry must give Corrupt, got {other:?}"),
    }
}

async fn newer_format_is_refused<B: Backend>(mut b: B) {
    match damaged(&mut b, Record::Snapshot, from_the_future).await {
        StateError::UnsupportedVersion {
            found, supported, ..
        } => {
            assert!(found > supported, "found {found}, supported {supported}")
        }
        other => panic!("a snapshot of a newer format must be refused, got {other:?}"),
    }
}

async fn open_intents_until_resolved<B: Backend>(mut b: B) {
    let s = open(&mut b).await;
    for (id, action) in [
        ("create", IntentAction::Create),
        ("delete", IntentAction::Delete),
        ("fail", IntentAction::Update),
        ("pending", IntentAction::Update),
    ] {
        append(&s, JournalEntry::Intent(intent(id, action, id))).await;
    }
    let ids = |l: &crate::model::Loaded| -> Vec<String> {
        l.open_intents.iter().map(|i| i.id.clone()).collect()
    };
    assert_eq!(
        ids(&load(&s).await),
        ["create", "delete", "fail", "pending"]
    );
    append(&s, applied("create", resource("a", "id-1"))).await;
    append(
        &s,
        JournalEntry::Deleted {
            intent: "delete".into(),
            address: "testing_thing.delete".into(),
        },
    )
    .await;
    append(
        &s,
        JournalEntry::Abandoned {
            intent: "fail".into(),
        },
    )
    .await;
    let l = load(&s).await;
    assert_eq!(
        ids(&l),
        ["pending"],
        "Applied, Deleted and Abandoned close intents"
    );
    assert_eq!(
        l.open_intents[0],
        intent("pending", IntentAction::Update, "pending")
    );

    persist(&s, &l.state, l.state.serial).await;
    drop(s);
    let s = open(&mut b).await;
    assert_eq!(
        ids(&load(&s).await),
        ["pending"],
        "an open intent must outlive a persist"
    );
    append(
        &s,
        JournalEntry::Abandoned {
            intent: "pending".into(),
        },
    )
    .await;
    assert!(load(&s).await.open_intents.is_empty());
}

async fn keys_and_delete<B: Backend>(mut b: B) {
    let s = open(&mut b).await;
    let other = StateKey::new("production", "base");
    s.append(&other, &outputs("p"))
        .await
        .expect("append to another key");
    append(&s, applied("i1", resource("a", "id-1"))).await;
    assert_eq!(
        s.keys().await.expect("keys"),
        [other.clone(), key()],
        "keys are listed sorted"
    );
    assert_eq!(
        s.load(&other)
            .await
            .expect("load")
            .map(|l| l.state.resources.len()),
        Some(0),
        "keys are independent"
    );

    match s.delete(&key()).await {
        Err(StateError::NotEmpty { resources: 1, .. }) => {}
        other => panic!("deleting a state that holds resources must be refused, got {other:?}"),
    }
    append(
        &s,
        JournalEntry::Deleted {
            intent: "i2".into(),
            address: resource("a", "id-1").address.local(),
        },
    )
    .await;
    s.delete(&key()).await.expect("deleting an emptied state");
    assert!(
        s.load(&key()).await.expect("load").is_none(),
        "a deleted state is gone"
    );
    assert!(
        s.history(&key()).await.expect("history").is_empty(),
        "and so is its history"
    );
    assert_eq!(s.keys().await.expect("keys"), [other]);
    s.delete(&key())
        .await
        .expect("deleting twice is not an error");
    // The key can start again, with a new lineage.
    append(&s, outputs("again")).await;
    assert_eq!(load(&s).await.open_intents.len(), 0);
}

async fn invalid_keys_are_refused<B: Backend>(mut b: B) {
    let s = open(&mut b).await;
    for bad in [
        StateKey::new("", "base"),
        StateKey::new("st/age", "b"),
        StateKey::new("stage", "a//b"),
        StateKey::new("stage", "../b"),
        StateKey::new("st\0age", "b"),
    ] {
        match s.append(&bad, &outputs("x")).await {
            Err(StateError::InvalidKey { .. }) => {}
            other => panic!("key {bad:?} must be refused, got {other:?}"),
        }
    }
    // A stack in a nested folder is a valid key, kept apart from its neighbours.
    let nested = StateKey::new("stage", "platform/base");
    s.append(&nested, &outputs("nested"))
        .await
        .expect("a nested stack name is a valid key");
    assert!(s
        .load(&StateKey::new("stage", "platform"))
        .await
        .expect("load")
        .is_none());
    assert!(s.keys().await.expect("keys").contains(&nested));
}

/// The local backend under the suite, in the project folder `root`.
pub struct LocalBackend {
    root: PathBuf,
    codec: Codec,
}

impl LocalBackend {
    pub fn new(root: impl Into<PathBuf>) -> LocalBackend {
        LocalBackend {
            root: root.into(),
            codec: Codec::plain(),
        }
    }
}

#[async_trait]
impl Backend for LocalBackend {
    type Store = LocalStore;

    async fn open(&mut self) -> Result<LocalStore, StateError> {
        Ok(
            LocalStore::open(&self.root, LockInfo::current("conformance"))?
                .with_codec(self.codec.clone()),
        )
    }

    fn use_codec(&mut self, codec: Codec) {
        self.codec = codec;
    }

    async fn rewrite(
        &mut self,
        key: &StateKey,
        record: Record,
        edit: fn(Vec<u8>) -> Vec<u8>,
    ) -> Result<(), String> {
        let path = state_dir(&self.root).join("state.db");
        let db = sled::open(&path).map_err(|e| format!("opening {}: {e}", path.display()))?;
        let tree = |name: &str| db.open_tree(name).map_err(|e| e.to_string());
        let (tree, k) = match record {
            Record::Snapshot => (tree(SNAPSHOTS)?, snapshot_key(key)),
            Record::NewestJournalEntry => {
                let journal = tree(JOURNAL)?;
                let last = journal
                    .scan_prefix(journal_prefix(key))
                    .keys()
                    .next_back()
                    .ok_or("no journal entry")?
                    .map_err(|e| e.to_string())?;
                (journal, last.to_vec())
            }
        };
        let old = tree
            .get(&k)
            .map_err(|e| e.to_string())?
            .ok_or("no such record")?;
        tree.insert(k, edit(old.to_vec()))
            .map_err(|e| e.to_string())?;
        db.flush().map_err(|e| e.to_string())?;
        Ok(())
    }
}
