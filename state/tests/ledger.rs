//! A local state database that lost data while no process had it open is refused, not taken
//! for an empty project.

use strata_state::conformance::resource;
use strata_state::{JournalEntry, LocalStore, LockInfo, StateError, StateKey, StateStore};
use tempfile::TempDir;

async fn applied_project() -> (TempDir, StateKey) {
    let project = TempDir::new().unwrap();
    let key = StateKey::new("stage", "base");
    let store = LocalStore::open(project.path(), LockInfo::current("apply")).unwrap();
    store
        .append(
            &key,
            &JournalEntry::Applied {
                intent: "i1".into(),
                resource: resource("a", "id-1"),
            },
        )
        .await
        .unwrap();
    let loaded = store.load(&key).await.unwrap().unwrap();
    store
        .persist(&key, &loaded.state, loaded.state.serial)
        .await
        .unwrap();
    (project, key)
}

#[tokio::test]
async fn a_database_that_lost_a_state_is_refused() {
    let (project, key) = applied_project().await;
    // The database is replaced by an empty one behind Strata's back.
    std::fs::remove_dir_all(project.path().join(".strata/state.db")).unwrap();
    let store = LocalStore::open(project.path(), LockInfo::current("plan")).unwrap();
    match store.load(&key).await {
        Err(e @ StateError::Lost { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains("stage/base") && text.contains("state.ledger"),
                "{text}"
            );
            assert!(e.hint().unwrap().contains("strata state push"));
        }
        other => panic!("a lost state must not load as empty: {other:?}"),
    }
    assert!(
        store.keys().await.unwrap().contains(&key),
        "the lost state is still listed"
    );
}

#[tokio::test]
async fn a_database_older_than_its_ledger_is_refused() {
    let (project, key) = applied_project().await;
    let db = project.path().join(".strata/state.db");
    let saved = TempDir::new().unwrap();
    let copy = |from: &std::path::Path, to: &std::path::Path| {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap().flatten() {
            if e.path().is_file() {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    };
    copy(&db, saved.path());
    {
        let store = LocalStore::open(project.path(), LockInfo::current("apply")).unwrap();
        let loaded = store.load(&key).await.unwrap().unwrap();
        store
            .persist(&key, &loaded.state, loaded.state.serial)
            .await
            .unwrap();
    }
    // An old copy of the database comes back.
    std::fs::remove_dir_all(&db).unwrap();
    copy(saved.path(), &db);
    let store = LocalStore::open(project.path(), LockInfo::current("plan")).unwrap();
    assert!(matches!(
        store.load(&key).await,
        Err(StateError::Lost { .. })
    ));
}

#[tokio::test]
async fn deleting_a_state_forgets_it_in_the_ledger_too() {
    let (project, key) = applied_project().await;
    let store = LocalStore::open(project.path(), LockInfo::current("destroy")).unwrap();
    let mut empty = store.load(&key).await.unwrap().unwrap().state;
    empty.resources.clear();
    store.persist(&key, &empty, empty.serial).await.unwrap();
    store.delete(&key).await.unwrap();
    assert!(store.load(&key).await.unwrap().is_none());
    assert!(store.keys().await.unwrap().is_empty());
}
