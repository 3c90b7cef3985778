//! One process at a time per project: the second gets a clear "locked" error naming the holder,
//! and the lock goes away with the process that held it, however it ended.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use strata_state::{LocalStore, LockInfo, StateError};

/// Set in the child process: the project folder whose lock it must take and hold.
const HOLD: &str = "STRATA_STATE_TEST_HOLD_LOCK";
const READY: &str = "lock-held";

fn holder(pid: u32) -> LockInfo {
    LockInfo {
        operation: "apply".into(),
        pid,
        user: "alice".into(),
        host: "build-7".into(),
        since: "2026-11-23T10:00:00Z".into(),
    }
}

/// Runs as the holder when the parent re-executes this test binary.
fn hold_until_stdin_closes(project: &str) {
    let store = LocalStore::open(std::path::Path::new(project), holder(std::process::id()))
        .expect("the child takes the lock");
    let mut out = std::io::stdout();
    writeln!(out, "{READY}")
        .and_then(|()| out.flush())
        .expect("signal the parent");
    // Hold the lock until the parent kills us or closes our stdin.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    drop(store);
}

#[test]
fn a_second_process_is_refused_until_the_holder_dies() {
    if let Ok(project) = std::env::var(HOLD) {
        hold_until_stdin_closes(&project);
        return;
    }
    let project = tempfile::TempDir::new().expect("temporary project folder");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "a_second_process_is_refused_until_the_holder_dies",
            "--nocapture",
        ])
        .env(HOLD, project.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the holder process");
    let stdout = child.stdout.take().expect("child stdout");
    let ready = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|line| line.trim() == READY);
    assert!(ready, "the holder process never took the lock");

    let err = LocalStore::open(project.path(), LockInfo::current("plan"))
        .expect_err("a second process must not get the lock");
    match &err {
        StateError::Locked { holder: h } => assert_eq!(*h, holder(child.id())),
        other => panic!("expected Locked, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        format!(
            "state is locked by PID {} (apply by alice@build-7) since 2026-11-23T10:00:00Z",
            child.id()
        )
    );
    let hint = err.hint().expect("a locked error comes with a hint");
    assert!(
        hint.contains("wait") && hint.contains(&child.id().to_string()),
        "{hint}"
    );

    // SIGKILL: no chance to clean up; the OS lock must go with the process.
    child.kill().expect("kill the holder");
    child.wait().expect("reap the holder");
    LocalStore::open(project.path(), LockInfo::current("plan"))
        .expect("the lock of a dead process is free");
}

#[test]
fn a_second_open_in_the_same_process_is_refused_until_the_first_is_dropped() {
    // flock(2) locks belong to an open file description, so a second open conflicts even
    // inside one process.
    let project = tempfile::TempDir::new().expect("temporary project folder");
    let me = std::process::id();
    let first = LocalStore::open(project.path(), holder(me)).expect("first open");
    match LocalStore::open(project.path(), LockInfo::current("plan")) {
        Err(StateError::Locked { holder: h }) => assert_eq!(h.pid, me),
        other => panic!("expected Locked, got {other:?}"),
    }
    drop(first);
    LocalStore::open(project.path(), LockInfo::current("plan")).expect("released on drop");
}
