//! The s3 backend through the `strata` command, against moto's S3 server: locks between two
//! runs, a killed run picked up from another copy of the project, and init's probe.

use crate::support::Project;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A moto S3 server on a free loopback port with one bucket; killed on drop.
struct S3Server {
    child: Child,
    url: String,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn s3_server() -> S3Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server is needed for the s3 tests: pip install 'moto[server]==5.2.1'");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(mut c) = TcpStream::connect(("127.0.0.1", port)) {
            // Create the bucket (moto accepts unsigned requests).
            write!(c, "PUT /strata-state HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").unwrap();
            let mut answer = String::new();
            let _ = c.read_to_string(&mut answer);
            if answer.starts_with("HTTP/1.1 200") {
                break;
            }
        }
        assert!(Instant::now() < deadline, "moto_server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    S3Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

/// The three-stack fixture with its state in the bucket.
fn project_on(server: &S3Server, lease_seconds: u32) -> Project {
    let mut p = Project::new("three-stacks");
    let hcl = std::fs::read_to_string(p.root.join("strata.hcl")).unwrap();
    let backend = format!(
        "backend \"s3\" {{\n  bucket        = \"strata-state\"\n  prefix        = \"demo\"\n  region        = \"us-east-1\"\n  endpoint      = \"{}\"\n  lease_seconds = {lease_seconds}\n}}\n\n",
        server.url
    );
    p.write("strata.hcl", &format!("{backend}{hcl}"));
    p.env.insert("AWS_ACCESS_KEY_ID".into(), "testing".into());
    p.env
        .insert("AWS_SECRET_ACCESS_KEY".into(), "testing".into());
    p
}

#[test]
fn init_probes_the_bucket_and_state_lives_in_it() {
    let server = s3_server();
    let p = project_on(&server, 60);
    let r = p.ok(&["init"]);
    assert!(r.stdout.contains("honours conditional writes"), "{r:?}");
    p.ok(&["apply", "--all", "--auto-approve"]);
    assert!(
        !p.root.join(".strata/state.db").exists(),
        "no local state with the s3 backend"
    );
    assert_eq!(p.state_list().len(), 6);
    assert_eq!(p.run(&["plan", "--all", "--detailed-exitcode"]).code, 0);
}

#[test]
fn of_two_applies_on_one_stack_exactly_one_proceeds() {
    let server = s3_server();
    let mut p = project_on(&server, 60);
    p.env
        .insert("STRATA_TESTING_LATENCY_MS".into(), "1500".into());
    let mut first = p
        .command(&["apply", "base", "--auto-approve"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the first run has started creating: it holds the lock by then.
    let mut out = std::io::BufReader::new(first.stdout.take().unwrap());
    let mut line = String::new();
    while std::io::BufRead::read_line(&mut out, &mut line).unwrap() > 0
        && !line.contains("Creating...")
    {
        line.clear();
    }
    p.env.remove("STRATA_TESTING_LATENCY_MS");
    let started = Instant::now();
    let second = p.run(&["apply", "base", "--auto-approve"]);
    assert_eq!(second.code, 1, "{second:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the second run must fail at once"
    );
    assert!(
        second.stderr.contains("locked") || second.stderr.contains("lock"),
        "{second:?}"
    );
    assert!(
        second.stderr.contains("strata state unlock"),
        "the error names the lock id: {second:?}"
    );
    let mut rest = String::new();
    let _ = out.read_to_string(&mut rest);
    assert!(
        rest.contains("Apply complete!"),
        "the first run finishes: {rest}"
    );
    assert!(first.wait().unwrap().success());
}

#[test]
fn a_killed_run_is_finished_from_another_copy_of_the_project_after_its_lease() {
    let server = s3_server();
    let mut p = project_on(&server, 2);
    p.env
        .insert("STRATA_TESTING_LATENCY_MS".into(), "400".into());
    let mut child = p
        .command(&["apply", "--all", "--auto-approve"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while std::io::BufRead::read_line(&mut out, &mut line).unwrap() > 0
        && !line.contains("database/testing_thing.db: Creating")
    {
        line.clear();
    }
    std::thread::sleep(Duration::from_millis(100));
    child.kill().unwrap(); // SIGKILL while the database is being created
    child.wait().unwrap();

    // A fresh copy of the project: nothing local, only the bucket and the cloud.
    let mut fresh = project_on(&server, 2);
    fresh.cloud = p.cloud.clone();
    let r = fresh.run(&["apply", "--all", "--auto-approve"]);
    if r.code != 0 {
        // Before the lease ends, the lock holds; after it, the next run takes over.
        assert!(r.stderr.contains("lock"), "{r:?}");
        std::thread::sleep(Duration::from_secs(3));
    }
    let r = fresh.ok(&["apply", "--all", "--auto-approve"]);
    assert!(
        r.stdout.contains("Apply complete!") || r.stdout.contains("No changes."),
        "{r:?}"
    );
    assert_eq!(fresh.run(&["plan", "--all", "--detailed-exitcode"]).code, 0);
    let names: Vec<String> = fresh.inventory().into_iter().map(|(_, n, _)| n).collect();
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(names.len(), unique.len(), "no duplicates: {names:?}");
    assert_eq!(names.len(), 6, "{names:?}");
    assert_eq!(fresh.state_list().len(), 6);
}

#[test]
fn init_migrates_state_to_the_bucket_and_back_without_loss() {
    let server = s3_server();
    let mut p = Project::new("three-stacks");
    let local_hcl = std::fs::read_to_string(p.root.join("strata.hcl")).unwrap();
    p.ok(&["init"]);
    p.ok(&["apply", "--all", "--auto-approve"]);
    let before = p.state_ids();

    // Switch strata.hcl to the bucket: init refuses to go on without the states.
    let s3 = project_on(&server, 60);
    let s3_hcl = std::fs::read_to_string(s3.root.join("strata.hcl")).unwrap();
    p.env = s3.env.clone();
    p.write("strata.hcl", &s3_hcl);
    let r = p.run(&["init"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("hint: run strata init -migrate-state"),
        "{r:?}"
    );
    let r = p.ok(&["init", "-migrate-state"]);
    assert!(
        r.stdout.contains("Migrating 3 state(s) from local to s3"),
        "{r:?}"
    );
    assert_eq!(
        p.state_ids(),
        before,
        "every resource made it to the bucket"
    );
    assert_eq!(p.run(&["plan", "--all", "--detailed-exitcode"]).code, 0);
    // Running it again is harmless.
    let again = p.ok(&["init", "-migrate-state"]);
    assert!(again.stdout.contains("nothing to migrate"), "{again:?}");

    // A change applied with the bucket, then back to local state: nothing is lost.
    p.edit("base/main.hcl", "version = \"1.31\"", "version = \"1.32\"");
    p.ok(&["apply", "--all", "--auto-approve"]);
    p.write("strata.hcl", &local_hcl);
    p.ok(&["init", "--migrate-state"]);
    assert_eq!(p.state_ids(), before);
    let shown = p.ok(&["state", "show", "base/testing_cluster.main"]);
    assert!(shown.stdout.contains("1.32"), "{shown:?}");
    assert_eq!(p.run(&["plan", "--all", "--detailed-exitcode"]).code, 0);
}
