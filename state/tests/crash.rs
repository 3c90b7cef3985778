//! A process killed with SIGKILL in the middle of recording operations loses none that it had
//! reported as recorded, and leaves state that loads.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use strata_state::conformance::resource;
use strata_state::{JournalEntry, LocalStore, LockInfo, StateKey, StateStore};

/// Set in the child process: the project folder it records operations in.
const RECORD: &str = "STRATA_STATE_TEST_RECORD";

fn key() -> StateKey {
    StateKey::new("stage", "base")
}

/// Runs as the recording process: appends entries as fast as it can and reports each one
/// after `append` returned, until it is killed.
async fn record_until_killed(project: &str) {
    let store = LocalStore::open(std::path::Path::new(project), LockInfo::current("apply"))
        .expect("the child opens the store");
    let mut out = std::io::stdout();
    for n in 0..100_000 {
        let entry = JournalEntry::Applied {
            intent: format!("i{n}"),
            resource: resource(&format!("r{n}"), &format!("id-{n}")),
        };
        store.append(&key(), &entry).await.expect("append");
        if writeln!(out, "recorded {n}")
            .and_then(|()| out.flush())
            .is_err()
        {
            return;
        }
    }
}

#[tokio::test]
async fn completed_appends_survive_sigkill() {
    if let Ok(project) = std::env::var(RECORD) {
        record_until_killed(&project).await;
        return;
    }
    let project = tempfile::TempDir::new().expect("temporary project folder");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "completed_appends_survive_sigkill",
            "--nocapture",
        ])
        .env(RECORD, project.path())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the recording process");
    let mut last = None;
    for line in BufReader::new(child.stdout.take().expect("child stdout")).lines() {
        let line = line.expect("child output");
        if let Some(n) = line
            .strip_prefix("recorded ")
            .and_then(|n| n.parse::<u64>().ok())
        {
            last = Some(n);
            if n >= 30 {
                break;
            }
        }
    }
    child.kill().expect("SIGKILL the recording process");
    child.wait().expect("reap it");
    let last = last.expect("the child recorded something");

    let store = LocalStore::open(project.path(), LockInfo::current("plan")).expect("reopen");
    let loaded = store
        .load(&key())
        .await
        .expect("state loads after a crash")
        .expect("state exists");
    for n in 0..=last {
        let r = resource(&format!("r{n}"), &format!("id-{n}"));
        assert_eq!(
            loaded
                .state
                .resources
                .get(&r.address.local())
                .map(|r| r.id.as_str()),
            Some(format!("id-{n}").as_str()),
            "operation {n} was reported recorded before the kill"
        );
    }
    assert!(
        loaded.state.serial > last,
        "every recorded change bumped the serial"
    );
}
