//! Ctrl-C during an apply: no new operation starts, those in flight finish and are recorded, the
//! lock is released, exit 130 — and the next apply finishes the job.

use crate::support::Project;
use std::io::BufRead;
use std::time::Duration;

#[test]
fn sigint_stops_new_operations_and_exits_130_with_state_consistent() {
    let mut p = Project::new("fleet");
    p.env
        .insert("STRATA_TESTING_LATENCY_MS".into(), "300".into());
    let mut child = p
        .command(&["apply", "--all", "--auto-approve", "--parallelism", "2"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt once the fleet stack's first operations are in flight.
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut seen = Vec::new();
    for line in (&mut stdout).lines().map_while(Result::ok) {
        let started = line.starts_with("fleet/") && line.ends_with("Creating...");
        seen.push(line);
        if started {
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(50));
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}\n{rest}\n{stderr}",
        seen.join("\n")
    );
    assert!(stderr.contains("Interrupt received"), "{stderr}");
    assert!(
        rest.contains("not started"),
        "the summary lists what did not start:\n{rest}"
    );

    // What was in flight finished and is in state; nothing else was created; nothing is open.
    let listed = p.state_list();
    assert!(
        !listed.iter().any(|l| l.contains("interrupted")),
        "{listed:?}"
    );
    let cloud: Vec<String> = p.inventory().into_iter().map(|(_, _, id)| id).collect();
    assert_eq!(
        p.state_ids().len(),
        cloud.len(),
        "state {listed:?} vs cloud {cloud:?}"
    );
    assert!(
        cloud.len() < 15,
        "the interrupt stopped the run early: {cloud:?}"
    );

    // The lock was released, and the next apply completes the rest.
    p.env.remove("STRATA_TESTING_LATENCY_MS");
    let r = p.ok(&["apply", "--all", "--auto-approve"]);
    assert!(r.stdout.contains("Apply complete!"), "{r:?}");
    assert_eq!(p.inventory().len(), 15);
}
