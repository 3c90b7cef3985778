//! The s3 backend against a real S3-compatible server: the conformance suite every backend
//! passes, then what only a shared bucket has to get right: lock races, dead and paused lock
//! holders, unlocking by hand, stores that ignore conditional writes, and what a write costs.
//!
//! The server is `moto_server` (`pip install 'moto[server]'`), started on a free loopback port
//! for each test and killed when the test ends. `STRATA_S3_TEST_SERVER` may name another
//! command that takes `-H HOST -p PORT`, or the `http://` URL of a server already running.

mod s3_support;

use s3_support::{fresh_prefix, ignoring_server, S3Backend, TestServer};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;
use strata_state::conformance::{resource, run_all};
use strata_state::{
    JournalEntry, LockInfo, S3Settings, S3Store, StackState, StateError, StateKey, StateStore,
};

fn key() -> StateKey {
    StateKey::new("stage", "base")
}

fn holder(user: &str) -> LockInfo {
    LockInfo {
        user: user.into(),
        host: format!("{user}-laptop"),
        ..LockInfo::current("apply")
    }
}

fn applied(n: usize) -> JournalEntry {
    JournalEntry::Applied {
        intent: format!("i{n:05}"),
        resource: resource(&format!("r{n:05}"), &format!("id-{n:05}")),
    }
}

async fn connect(settings: &S3Settings, user: &str) -> S3Store {
    S3Store::connect(settings.clone(), holder(user))
        .await
        .expect("connect to the test bucket")
}

#[tokio::test]
async fn s3_store_passes_the_conformance_suite() {
    let server = TestServer::start().await;
    let settings = server.settings("");
    run_all(|| S3Backend::new(settings.clone(), fresh_prefix())).await;
}

#[tokio::test]
async fn of_two_runs_racing_for_a_lock_exactly_one_wins() {
    let server = TestServer::start().await;
    let settings = server.settings(&fresh_prefix());
    let alice = connect(&settings, "alice").await;
    let bob = connect(&settings, "bob").await;
    let k = key();
    let (a, b) = tokio::join!(alice.lock(&k, "apply"), bob.lock(&k, "apply"));
    let (winner, loser, winner_user) = match (a, b) {
        (Ok(g), Err(e)) => (g, e, "alice"),
        (Err(e), Ok(g)) => (g, e, "bob"),
        (a, b) => panic!("exactly one run must get the lock, got {a:?} and {b:?}"),
    };
    let winner_id = winner.id().expect("an s3 lock has an id").to_string();
    match &loser {
        StateError::LockHeld {
            lock_id, holder, ..
        } => {
            assert_eq!(*lock_id, winner_id);
            assert_eq!(holder.user, winner_user);
            assert_eq!(holder.operation, "apply");
        }
        other => panic!("the loser must be told who holds the lock, got {other:?}"),
    }
    let message = loser.to_string();
    assert!(
        message.contains(&winner_id) && message.contains(winner_user),
        "{message}"
    );
    let hint = loser.hint().expect("a held lock comes with a hint");
    assert!(
        hint.contains(&format!("strata state unlock {} {winner_id}", k.stack)),
        "{hint}"
    );

    winner.release().await.expect("release");
    // Through the trait, as the engine holds a store.
    let store: &dyn StateStore = &bob;
    let again = store
        .lock(&key(), "apply")
        .await
        .expect("free after release");
    assert!(
        again.taken_over().is_none(),
        "a released lock is not taken over"
    );
    again.release().await.expect("release");
}

/// Set in a child process: `endpoint bucket prefix lease_ms`; it takes the lock of `key()`,
/// prints `locked ID`, then follows its parent's orders on stdin.
const CHILD: &str = "STRATA_S3_TEST_CHILD";

/// Runs as a lock holder in its own process, so that the parent can kill or pause it the way a
/// crash or a suspended machine would.
async fn run_child(spec: &str) {
    let parts: Vec<&str> = spec.split(' ').collect();
    let [endpoint, bucket, prefix, lease_ms] = parts[..] else {
        panic!("bad child spec {spec:?}");
    };
    let mut settings = s3_support::settings(endpoint, bucket, prefix);
    settings.lease = Duration::from_millis(lease_ms.parse().expect("lease"));
    let store = S3Store::connect(settings, LockInfo::current("apply"))
        .await
        .expect("child connects");
    let guard = store.lock(&key(), "apply").await.expect("child locks");
    let loaded = store.load(&key()).await.expect("child loads");
    let mut out = std::io::stdout();
    writeln!(out, "locked {}", guard.id().expect("id")).expect("stdout");
    out.flush().expect("stdout");

    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(order)) = lines.next_line().await {
        let result = match order.as_str() {
            "append" => store.append(&key(), &applied(900)).await.map(|_| 0),
            "persist" => {
                let mut state = loaded
                    .as_ref()
                    .map(|l| l.state.clone())
                    .unwrap_or_else(StackState::new);
                let r = resource("stale", "id-stale");
                state.resources.insert(r.address.local(), r);
                store.persist(&key(), &state, state.serial).await
            }
            _ => continue,
        };
        writeln!(out, "{order}: {result:?}").expect("stdout");
        out.flush().expect("stdout");
    }
}

struct Child {
    process: std::process::Child,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl Child {
    fn start(test: &str, server: &TestServer, prefix: &str, lease_ms: u64) -> Child {
        let mut process = Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", test, "--nocapture"])
            .env(
                CHILD,
                format!("{} {} {prefix} {lease_ms}", server.endpoint, server.bucket),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the lock holder");
        let lines = BufReader::new(process.stdout.take().expect("stdout")).lines();
        Child { process, lines }
    }

    /// The next line of the child that starts with `prefix`, without it.
    fn expect(&mut self, prefix: &str) -> String {
        for line in self.lines.by_ref() {
            let line = line.expect("child output");
            if let Some(rest) = line.strip_prefix(prefix) {
                return rest.trim().to_string();
            }
        }
        panic!("the child ended without printing {prefix:?}");
    }

    fn order(&mut self, order: &str) {
        let stdin = self.process.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{order}").expect("write to child");
        stdin.flush().expect("flush");
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.process.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} failed");
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Waits until the lock object of `key()` says its lease has ended.
async fn wait_for_expiry(store: &S3Store) {
    for _ in 0..300 {
        match store.lock_record(&key()).await.expect("read the lock") {
            Some(record) if !record.expired() => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            _ => return,
        }
    }
    panic!("the lease never expired");
}

#[tokio::test]
async fn a_dead_holder_blocks_others_until_its_lease_expires_then_is_taken_over() {
    const TEST: &str = "a_dead_holder_blocks_others_until_its_lease_expires_then_is_taken_over";
    if let Ok(spec) = std::env::var(CHILD) {
        return run_child(&spec).await;
    }
    let server = TestServer::start().await;
    let prefix = fresh_prefix();
    let mut child = Child::start(TEST, &server, &prefix, 5_000);
    let child_lock = child.expect("locked ");
    child.signal("-KILL");
    let child_pid = child.process.id();

    let store = connect(&server.settings(&prefix), "bob").await;
    match store.lock(&key(), "apply").await {
        Err(StateError::LockHeld {
            lock_id, holder, ..
        }) => {
            assert_eq!(lock_id, child_lock, "the error names the lock id");
            assert_eq!(holder.pid, child_pid, "the error names the holder");
        }
        other => panic!("a live lease must not be taken, got {other:?}"),
    }
    match store.append(&key(), &applied(1)).await {
        Err(StateError::LockHeld { lock_id, .. }) => assert_eq!(lock_id, child_lock),
        other => panic!("writes under another run's live lock must be refused, got {other:?}"),
    }

    wait_for_expiry(&store).await;
    let guard = store
        .lock(&key(), "apply")
        .await
        .expect("an expired lease can be taken over");
    let previous = guard
        .taken_over()
        .expect("the taker says whom it took over");
    assert_eq!(previous.id, child_lock);
    assert_eq!(previous.holder.pid, child_pid);
    let record = store
        .lock_record(&key())
        .await
        .expect("read")
        .expect("locked");
    assert_eq!(
        record.took_over.as_ref().map(|t| t.id.as_str()),
        Some(child_lock.as_str()),
        "the lock object records the take-over too"
    );
    store
        .append(&key(), &applied(1))
        .await
        .expect("the new holder writes");
    guard.release().await.expect("release");
}

#[tokio::test]
async fn a_run_whose_lock_was_taken_over_cannot_overwrite_newer_state() {
    const TEST: &str = "a_run_whose_lock_was_taken_over_cannot_overwrite_newer_state";
    if let Ok(spec) = std::env::var(CHILD) {
        return run_child(&spec).await;
    }
    let server = TestServer::start().await;
    let prefix = fresh_prefix();
    let store = connect(&server.settings(&prefix), "bob").await;
    store.append(&key(), &applied(1)).await.expect("append");

    // The child locks and reads the state, then is frozen (a suspended laptop) past its lease.
    let mut child = Child::start(TEST, &server, &prefix, 3_000);
    child.expect("locked ");
    child.signal("-STOP");
    wait_for_expiry(&store).await;
    let guard = store.lock(&key(), "apply").await.expect("take over");
    let l = store.load(&key()).await.expect("load").expect("exists");
    let mut newer = l.state.clone();
    let r = resource("newer", "id-newer");
    newer.resources.insert(r.address.local(), r);
    let serial = store
        .persist(&key(), &newer, l.state.serial)
        .await
        .expect("the new holder persists");

    // Thawed, the old holder goes on as if nothing happened.
    child.signal("-CONT");
    child.order("persist");
    let persisted = child.expect("persist:");
    assert!(
        persisted.starts_with("Err(LeaseTakenOver"),
        "the old holder's persist must fail: {persisted}"
    );
    child.order("append");
    let appended = child.expect("append:");
    assert!(
        appended.starts_with("Err(LeaseTakenOver"),
        "the old holder's append must fail: {appended}"
    );

    let after = store.load(&key()).await.expect("load").expect("exists");
    assert_eq!(after.state.serial, serial, "nothing was written after it");
    assert_eq!(after.state.resources, newer.resources);
    guard.release().await.expect("release");
}

/// Set in a child process: `endpoint bucket prefix`; it records operations until killed,
/// printing `recorded N` after each append returned.
const RECORDER: &str = "STRATA_S3_TEST_RECORDER";

#[tokio::test]
async fn completed_appends_survive_sigkill() {
    if let Ok(spec) = std::env::var(RECORDER) {
        let parts: Vec<&str> = spec.split(' ').collect();
        let [endpoint, bucket, prefix] = parts[..] else {
            panic!("bad recorder spec {spec:?}");
        };
        let settings = s3_support::settings(endpoint, bucket, prefix);
        let store = connect(&settings, "recorder").await;
        let _guard = store.lock(&key(), "apply").await.expect("lock");
        let mut out = std::io::stdout();
        for n in 0..100_000 {
            store.append(&key(), &applied(n)).await.expect("append");
            if writeln!(out, "recorded {n}")
                .and_then(|()| out.flush())
                .is_err()
            {
                return;
            }
        }
        return;
    }
    let server = TestServer::start().await;
    let prefix = fresh_prefix();
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "completed_appends_survive_sigkill",
            "--nocapture",
        ])
        .env(
            RECORDER,
            format!("{} {} {prefix}", server.endpoint, server.bucket),
        )
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the recording process");
    let mut last = None;
    for line in BufReader::new(child.stdout.take().expect("stdout")).lines() {
        let line = line.expect("child output");
        if let Some(n) = line
            .strip_prefix("recorded ")
            .and_then(|n| n.parse::<usize>().ok())
        {
            last = Some(n);
            if n >= 20 {
                break;
            }
        }
    }
    child.kill().expect("SIGKILL the recording process");
    child.wait().expect("reap it");
    let last = last.expect("the child recorded something");

    let store = connect(&server.settings(&prefix), "bob").await;
    let loaded = store
        .load(&key())
        .await
        .expect("state loads after a crash")
        .expect("state exists");
    for n in 0..=last {
        let r = resource(&format!("r{n:05}"), &format!("id-{n:05}"));
        assert_eq!(
            loaded
                .state
                .resources
                .get(&r.address.local())
                .map(|r| r.id.as_str()),
            Some(format!("id-{n:05}").as_str()),
            "operation {n} was reported recorded before the kill"
        );
    }
}

#[tokio::test]
async fn unlock_by_hand_needs_the_lock_id_and_stops_the_holder() {
    let server = TestServer::start().await;
    let settings = server.settings(&fresh_prefix());
    let alice = connect(&settings, "alice").await;
    let bob = connect(&settings, "bob").await;
    let guard = alice.lock(&key(), "apply").await.expect("lock");
    let id = guard.id().expect("id").to_string();

    match bob.unlock(&key(), "not-the-id").await {
        Err(StateError::WrongLockId { actual, given, .. }) => {
            assert_eq!(actual, id);
            assert_eq!(given, "not-the-id");
        }
        other => panic!("a wrong id must be refused, got {other:?}"),
    }
    assert!(alice.lock_record(&key()).await.expect("read").is_some());
    let was = bob
        .unlock(&key(), &id)
        .await
        .expect("unlock with the right id");
    assert_eq!(was.user, "alice");
    match alice.append(&key(), &applied(1)).await {
        Err(StateError::LockLost { lock_id, .. }) => assert_eq!(lock_id, id),
        other => panic!("a holder whose lock was removed must stop writing, got {other:?}"),
    }
    match bob.unlock(&key(), &id).await {
        Err(StateError::NotLocked { .. }) => {}
        other => panic!("unlocking twice must say it is not locked, got {other:?}"),
    }
    let mine = bob.lock(&key(), "apply").await.expect("free again");
    bob.append(&key(), &applied(1)).await.expect("bob writes");
    mine.release().await.expect("release");
    drop(guard);
}

#[tokio::test]
async fn a_persist_cut_off_before_cleaning_the_journal_loses_nothing() {
    let server = TestServer::start().await;
    let prefix = fresh_prefix();
    let settings = server.settings(&prefix);
    let store = connect(&settings, "alice").await;
    for n in 0..3 {
        store.append(&key(), &applied(n)).await.expect("append");
    }
    // Keep copies of the entries the persist will fold, and put them back afterwards, as if
    // the run had died between writing the snapshot and removing them.
    let client = settings.client().await.expect("client");
    let dir = store.layout().journal_dir(&key());
    let entries = s3_support::read_all(&client, &server.bucket, &dir).await;
    assert_eq!(entries.len(), 3);
    let l = store.load(&key()).await.expect("load").expect("exists");
    let mut refreshed = l.state.clone();
    for r in refreshed.resources.values_mut() {
        r.attributes["size"] = serde_json::json!(4);
    }
    let serial = store
        .persist(&key(), &refreshed, l.state.serial)
        .await
        .expect("persist");
    s3_support::write_all(&client, &server.bucket, &entries).await;

    let reader = connect(&settings, "bob").await;
    let after = reader.load(&key()).await.expect("load").expect("exists");
    assert_eq!(
        after.state.serial, serial,
        "folded entries are not replayed"
    );
    assert_eq!(after.state.resources, refreshed.resources);
    reader
        .persist(&key(), &after.state, after.state.serial)
        .await
        .expect("persist");
    assert!(
        s3_support::read_all(&client, &server.bucket, &dir)
            .await
            .is_empty(),
        "the next persist removes what was left"
    );
}

#[tokio::test]
async fn a_history_version_left_by_a_persist_that_died_is_replaced() {
    let server = TestServer::start().await;
    let settings = server.settings(&fresh_prefix());
    let store = connect(&settings, "alice").await;
    store.append(&key(), &applied(1)).await.expect("append");
    let l = store.load(&key()).await.expect("load").expect("exists");
    // A run died after writing the history version of serial N+1, before its snapshot.
    let orphan = store.layout().history_version(&key(), l.state.serial + 1);
    let client = settings.client().await.expect("client");
    let empty = serde_json::to_vec(&StackState::new()).expect("encode");
    s3_support::write_all(&client, &server.bucket, &[(orphan, empty, None)]).await;

    let serial = store
        .persist(&key(), &l.state, l.state.serial)
        .await
        .expect("persist over an orphaned version");
    assert_eq!(serial, l.state.serial + 1);
    let history = store.history(&key()).await.expect("history");
    assert_eq!(
        history
            .iter()
            .map(|h| (h.serial, h.resources))
            .collect::<Vec<_>>(),
        [(serial, 1)],
        "the version holds what was persisted"
    );
}

#[tokio::test]
async fn the_probe_accepts_a_store_that_honours_conditional_writes() {
    let server = TestServer::start().await;
    let store = connect(&server.settings(&fresh_prefix()), "alice").await;
    store
        .probe_conditional_writes()
        .await
        .expect("moto honours If-None-Match and If-Match");
    let client = server.settings("").client().await.expect("client");
    assert!(
        s3_support::read_all(&client, &server.bucket, "")
            .await
            .is_empty(),
        "the probe cleans up after itself"
    );
}

#[tokio::test]
async fn the_probe_refuses_a_store_that_ignores_conditional_writes() {
    let endpoint = ignoring_server().await;
    let settings = s3_support::settings(&endpoint, "state", "");
    let store = connect(&settings, "alice").await;
    let err = store
        .probe_conditional_writes()
        .await
        .expect_err("a store that ignores If-None-Match must be refused");
    match &err {
        StateError::ConditionalWritesIgnored { bucket, detail } => {
            assert_eq!(bucket, "state");
            assert!(detail.contains("If-None-Match"), "{detail}");
        }
        other => panic!("expected ConditionalWritesIgnored, got {other:?}"),
    }
    assert!(err.hint().is_some_and(|h| h.contains("If-Match")));
}

/// Recording an operation writes that operation, not the state around it. Prints the bytes
/// each step wrote to the bucket for journals of 100, 1,000 and 3,000 entries.
#[tokio::test]
async fn an_append_costs_the_same_whatever_the_size_of_the_journal() {
    let server = TestServer::start().await;
    let mut costs = Vec::new();
    println!("entries  journal bytes  bytes/entry  one more append  persist");
    for n in [100usize, 1_000, 3_000] {
        let store = std::sync::Arc::new(connect(&server.settings(&fresh_prefix()), "alice").await);
        store
            .append(&key(), &applied(0))
            .await
            .expect("first append");
        let start = store.bytes_written();
        // Concurrently, a few at a time, as the engine records parallel operations.
        let mut tasks = tokio::task::JoinSet::new();
        for chunk in (1..n).collect::<Vec<_>>().chunks(n.div_ceil(8)) {
            let (store, chunk) = (store.clone(), chunk.to_vec());
            tasks.spawn(async move {
                for i in chunk {
                    store.append(&key(), &applied(i)).await.expect("append");
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.expect("append task");
        }
        let journal = store.bytes_written() - start;
        let before = store.bytes_written();
        store
            .append(&key(), &applied(99_999))
            .await
            .expect("append");
        let one = store.bytes_written() - before;
        let l = store.load(&key()).await.expect("load").expect("exists");
        assert_eq!(
            l.state.resources.len(),
            n + 1,
            "every append is in the state"
        );
        let before = store.bytes_written();
        store
            .persist(&key(), &l.state, l.state.serial)
            .await
            .expect("persist");
        let persist = store.bytes_written() - before;
        println!(
            "{n:>7}  {journal:>13}  {:>11}  {one:>15}  {persist:>7}",
            journal / (n as u64 - 1)
        );
        costs.push(one);
    }
    assert!(
        costs.windows(2).all(|w| w[0] == w[1]),
        "bytes per append: {costs:?}"
    );
    assert!(costs[0] < 1024, "one entry is small: {costs:?}");
}

/// With a passphrase, nothing in the bucket shows an attribute value or an output: not the
/// snapshot, not a journal object, not a history version, not an object's metadata.
#[tokio::test]
async fn with_encryption_no_value_is_readable_in_any_object_of_the_bucket() {
    use std::sync::Arc;
    use strata_encryption::Sealer;
    use strata_state::codec::Codec;
    use strata_state::OutputState;

    let server = TestServer::start().await;
    let prefix = fresh_prefix();
    let settings = server.settings(&prefix);
    let codec = Codec::sealed(Arc::new(Sealer::new("bucket passphrase").unwrap()));
    let store = connect(&settings, "alice").await.with_codec(codec);
    let k = key();
    let guard = store.lock(&k, "apply").await.unwrap();
    store.append(&k, &applied(1)).await.unwrap();
    let mut state = store.load(&k).await.unwrap().unwrap().state;
    state.outputs.insert(
        "endpoint".into(),
        OutputState {
            value: serde_json::json!("https://cluster.internal.example"),
            sensitive: false,
        },
    );
    store.persist(&k, &state, state.serial).await.unwrap();
    store.append(&k, &applied(2)).await.unwrap();
    let client = settings.client().await.unwrap();
    let objects = s3_support::read_all(&client, &server.bucket, &prefix).await;
    assert!(
        objects.iter().any(|(name, _, _)| name.contains("journal")),
        "{:?}",
        objects.iter().map(|o| &o.0).collect::<Vec<_>>()
    );
    for (name, bytes, metadata) in &objects {
        let text = format!("{}{metadata:?}", String::from_utf8_lossy(bytes));
        for plain in [
            "hunter2",
            "id-00001",
            "id-00002",
            "r00001",
            "cluster.internal.example",
        ] {
            assert!(!text.contains(plain), "{name} shows {plain:?} in clear");
        }
    }
    drop(guard);
}
