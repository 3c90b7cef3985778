//! Bytes written to state storage while applying N resources, for both backends: what the
//! engine records for each created resource (an intent, then its result) and the snapshot that
//! folds the journal at the end of the run.
//!
//!     cargo bench -p strata-state --bench state_bytes
//!
//! The s3 rows need `moto_server` (scripts/test-deps.sh installs it), or `STRATA_S3_TEST_SERVER`
//! naming another S3-compatible server, as the s3 tests do.

#[allow(dead_code)]
#[path = "../tests/s3_support/mod.rs"]
mod s3_support;

use strata_core::Address;
use strata_state::conformance::resource;
use strata_state::{
    Intent, IntentAction, JournalEntry, LocalStore, LockInfo, S3Store, StateKey, StateStore,
};

/// Records what an apply creating `n` resources records, and returns (journal bytes, snapshot
/// bytes) as `bytes_written` reports them.
async fn apply<S: StateStore>(store: &S, written: impl Fn() -> u64, n: usize) -> (u64, u64) {
    let key = StateKey::new("bench", "fleet");
    let before = written();
    for i in 0..n {
        let name = format!("item-{i:05}");
        let intent = Intent {
            id: format!("intent-{i}"),
            action: IntentAction::Create,
            address: Address::new("fleet", "testing_thing", &name),
            provider: "testing".into(),
            cloud_id: None,
            planned: serde_json::json!({ "name": name, "size": i }),
            started_at: "2026-11-23T12:00:00Z".into(),
        };
        store
            .append(&key, &JournalEntry::Intent(intent))
            .await
            .expect("record the intent");
        store
            .append(
                &key,
                &JournalEntry::Applied {
                    intent: format!("intent-{i}"),
                    resource: resource(&name, &format!("id-{i:05}")),
                },
            )
            .await
            .expect("record the result");
    }
    let journal = written() - before;
    let loaded = store.load(&key).await.expect("load").expect("state");
    store
        .persist(&key, &loaded.state, loaded.state.serial)
        .await
        .expect("persist");
    (journal, written() - before - journal)
}

fn row(backend: &str, n: usize, (journal, snapshot): (u64, u64)) {
    println!(
        "{backend:<8} {n:>6} {:>14} {:>12} {:>14} {:>18}",
        journal + snapshot,
        journal / n as u64,
        snapshot,
        (journal + snapshot) / n as u64
    );
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes flags such as --bench; this benchmark takes none.
    println!(
        "{:<8} {:>6} {:>14} {:>12} {:>14} {:>18}",
        "backend", "N", "bytes total", "journal/res", "snapshot", "total/resource"
    );
    for n in [100, 1000, 3222] {
        let dir = tempfile::tempdir().expect("temporary folder");
        let store = LocalStore::open(dir.path(), LockInfo::current("bench")).expect("open");
        row("local", n, apply(&store, || store.bytes_written(), n).await);
    }
    let server = s3_support::TestServer::start().await;
    for n in [100, 1000, 3222] {
        let settings = server.settings(&s3_support::fresh_prefix());
        let store = S3Store::connect(settings, LockInfo::current("bench"))
            .await
            .expect("connect to the bucket");
        row("s3", n, apply(&store, || store.bytes_written(), n).await);
    }
}
