//! The local backend against the suite every state backend must pass.

use strata_state::conformance::{run_all, LocalBackend};
use tempfile::TempDir;

#[tokio::test]
async fn local_store_passes_the_conformance_suite() {
    let mut projects: Vec<TempDir> = Vec::new();
    run_all(|| {
        let dir = TempDir::new().expect("temporary project folder");
        let backend = LocalBackend::new(dir.path());
        projects.push(dir);
        backend
    })
    .await;
}

/// Recording one operation writes that operation, not the state around it: the bytes an
/// append costs are the same next to 2,000 resources as next to none.
#[tokio::test]
async fn an_append_costs_the_same_whatever_the_size_of_the_state() {
    use strata_state::conformance::resource;
    use strata_state::{JournalEntry, LocalStore, LockInfo, StateKey, StateStore};

    let project = TempDir::new().expect("temporary project folder");
    let store = LocalStore::open(project.path(), LockInfo::current("apply")).expect("open");
    let small = StateKey::new("stage", "small");
    let large = StateKey::new("stage", "large");
    let entry = |n: usize| JournalEntry::Applied {
        intent: format!("i{n}"),
        resource: resource(&format!("r{n:05}"), &format!("id-{n:05}")),
    };
    for key in [&small, &large] {
        store.append(key, &entry(0)).await.expect("first append");
    }
    let mut big = store
        .load(&large)
        .await
        .expect("load")
        .expect("exists")
        .state;
    for n in 1..2000 {
        let r = resource(&format!("r{n:05}"), &format!("id-{n:05}"));
        big.resources.insert(r.address.local(), r);
    }
    store
        .persist(&large, &big, big.serial)
        .await
        .expect("persist");

    let mut cost = Vec::new();
    for key in [&small, &large] {
        let before = store.bytes_written();
        store.append(key, &entry(99_999)).await.expect("append");
        cost.push(store.bytes_written() - before);
    }
    assert_eq!(cost[0], cost[1], "bytes per append: {cost:?}");
    assert!(cost[0] < 1024, "one entry is small: {cost:?}");
}
