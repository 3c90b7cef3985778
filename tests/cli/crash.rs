//! SIGKILL at random instants during apply and destroy: state always loads, holds exactly what the
//! cloud holds or names the interrupted operation, and the next run converges with no orphan and
//! no duplicate.

use crate::support::Project;
use rand::{Rng, SeedableRng};
use std::collections::BTreeSet;
use std::time::Duration;

/// Checks the invariant after a kill: every object in the cloud is in state or explained by an
/// open create intent, and every id in state exists or is explained by an open delete intent.
fn check_consistent(p: &Project, seed: u64, trial: usize) {
    let listed = p.state_list();
    let open: Vec<&String> = listed
        .iter()
        .filter(|l| l.contains("(interrupted"))
        .collect();
    let state_ids: BTreeSet<String> = p.state_ids().into_iter().collect();
    let cloud_ids: BTreeSet<String> = p.inventory().into_iter().map(|(_, _, id)| id).collect();
    let unknown_to_state = cloud_ids.difference(&state_ids).count();
    let missing_from_cloud = state_ids.difference(&cloud_ids).count();
    let open_creates = open.iter().filter(|l| l.contains("Create")).count();
    let open_deletes = open.iter().filter(|l| l.contains("Delete")).count();
    assert!(
        unknown_to_state <= open_creates && missing_from_cloud <= open_deletes,
        "seed {seed} trial {trial}: cloud has {unknown_to_state} objects state does not know \
         ({open_creates} open creates), state has {missing_from_cloud} ids the cloud lacks ({open_deletes} open deletes)\n{listed:#?}"
    );
}

#[test]
fn sigkill_at_random_points_never_loses_or_duplicates_anything() {
    let mut p = Project::new("fleet");
    p.env
        .insert("STRATA_TESTING_LATENCY_MS".into(), "25".into());
    let seed: u64 = std::env::var("STRATA_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    let trials: usize = std::env::var("STRATA_CRASH_TRIALS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    for trial in 0..trials {
        // Alternate: apply, apply, destroy, ... so that kills land in creates and in deletes.
        let verb = if trial % 3 == 2 { "destroy" } else { "apply" };
        let mut child = p
            .command(&[verb, "--all", "--auto-approve", "--parallelism", "4"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Kill while an operation is in flight: after the k-th operation has started, at a random
        // instant within the cloud's latency — the window where the cloud has done something the
        // journal does not record yet.
        let k = rng.random_range(1..=15usize);
        let delay = Duration::from_millis(rng.random_range(0..160));
        let stdout = child.stdout.take().unwrap();
        let started = std::thread::spawn(move || {
            use std::io::BufRead;
            let mut n = 0;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if line.ends_with(": Creating...")
                    || line.ends_with(": Destroying...")
                    || line.ends_with(": Replacing...")
                {
                    n += 1;
                    if n == k {
                        return true;
                    }
                }
            }
            false
        });
        if started.join().unwrap() {
            std::thread::sleep(delay);
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        check_consistent(&p, seed, trial);
    }
    // The next run converges by itself.
    p.env.remove("STRATA_TESTING_LATENCY_MS");
    let r = p.run(&["apply", "--all", "--auto-approve"]);
    assert_eq!(r.code, 0, "seed {seed}: {r:?}");
    let again = p.run(&["plan", "--all", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "seed {seed}: not converged: {again:?}");
    let inventory = p.inventory();
    let names: Vec<&String> = inventory.iter().map(|(_, n, _)| n).collect();
    let unique: BTreeSet<&String> = names.iter().copied().collect();
    assert_eq!(
        names.len(),
        unique.len(),
        "seed {seed}: duplicates in the cloud: {names:?}"
    );
    assert_eq!(names.len(), 15, "seed {seed}: {names:?}");
    let cloud_ids: Vec<String> = inventory
        .into_iter()
        .map(|(_, _, id)| id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        p.state_ids(),
        cloud_ids,
        "seed {seed}: state and cloud differ"
    );
}

/// The cloud objects of the DOKS or AKS example as the emulator holds them, in the form state
/// records their ids: DigitalOcean and ARM ids, and `apiVersion/kind/namespace/name` for
/// Kubernetes objects.
fn emulated_inventory(p: &Project) -> BTreeSet<String> {
    let r = p.ok(&["emulator", "list", "--json"]);
    let objects: Vec<serde_json::Value> = serde_json::from_str(&r.stdout).unwrap();
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
    objects
        .iter()
        .filter_map(|o| match o["cloud"].as_str() {
            // Node pools are part of their cluster's state; default VPCs belong to the cloud.
            Some("digitalocean") if o["kind"] != "node_pool" && o["fields"]["default"] != true => {
                Some(text(&o["id"]))
            }
            // The system pool is part of its cluster's state (its default_node_pool).
            Some("azure") if o["fields"]["mode"] != "System" => Some(text(&o["id"])),
            Some("kubernetes") => {
                let namespace = text(&o["fields"]["namespace"]);
                let kind = text(&o["kind"]);
                let builtin = kind == "Namespace"
                    && ["default", "kube-system", "kube-public", "kube-node-lease"]
                        .contains(&text(&o["name"]).as_str());
                (!builtin).then(|| {
                    format!(
                        "{}/{kind}/{namespace}/{}",
                        text(&o["fields"]["apiVersion"]),
                        text(&o["name"])
                    )
                })
            }
            _ => None,
        })
        .collect()
}

/// What state says the cloud holds: resource ids, with the objects of `kubernetes_manifests`
/// folders in place of the folder's own id (read from `state pull`).
fn state_inventory(p: &Project, env: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for stack in ["base", "database", "deploy"] {
        let file = p.root.join(format!("{stack}.pulled.json"));
        let r = p.run(&["--env", env, "state", "pull", stack, file.to_str().unwrap()]);
        if r.code != 0 {
            continue; // a destroyed stack has no state
        }
        let pulled: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        for r in pulled["resources"].as_object().unwrap().values() {
            match r["attributes"]["objects"].as_array() {
                Some(objects) => out.extend(
                    objects
                        .iter()
                        .filter_map(|o| o.as_str().map(str::to_string)),
                ),
                None => {
                    out.insert(r["id"].as_str().unwrap_or("").to_string());
                }
            }
        }
    }
    out
}

/// Kills `strata --emulate apply|destroy --all` of `p` at random instants with faults on, and
/// checks after every kill that the next apply converges and that the emulated cloud holds
/// exactly what state says.
fn kill_and_converge(mut p: Project, env: &str, default_trials: usize) {
    for (k, v) in [
        ("STRATA_EMULATOR_PROVISION_MS", "300"),
        ("STRATA_DIGITALOCEAN_POLL_MS", "100"),
        ("STRATA_AZURE_POLL_MS", "100"),
        ("STRATA_EMULATOR_LATENCY_MS", "20"),
        ("STRATA_EMULATOR_ERROR_RATE", "0.1"),
        ("STRATA_EMULATOR_THROTTLE_RATE", "0.1"),
    ] {
        p.env.insert(k.into(), v.into());
    }
    let seed: u64 = std::env::var("STRATA_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    let trials: usize = std::env::var("STRATA_EMULATED_CRASH_TRIALS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_trials);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    for trial in 0..trials {
        // Kill after the k-th operation started, somewhere within the next 400 ms; a destroy
        // now and then so that kills also land in deletes.
        let verb = if trial % 3 == 2 { "destroy" } else { "apply" };
        let mut child = p
            .command(&["--emulate", "--env", env, verb, "--all", "--auto-approve"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let k = rng.random_range(1..=25usize);
        let delay = Duration::from_millis(rng.random_range(0..400));
        let stdout = child.stdout.take().unwrap();
        let started = std::thread::spawn(move || {
            use std::io::BufRead;
            let mut n = 0;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if line.ends_with("Creating...") || line.ends_with("Destroying...") {
                    n += 1;
                    if n == k {
                        return true;
                    }
                }
            }
            false
        });
        if started.join().unwrap() {
            std::thread::sleep(delay);
        }
        let _ = child.kill(); // SIGKILL, emulator included: it runs in the process
        let _ = child.wait();

        // The next apply converges by itself, faults still on.
        let r = p.run(&[
            "--emulate",
            "--env",
            env,
            "apply",
            "--all",
            "--auto-approve",
        ]);
        assert_eq!(
            r.code, 0,
            "seed {seed} trial {trial} (kill after {k}): {r:?}"
        );
        let again = p.run(&[
            "--emulate",
            "--env",
            env,
            "plan",
            "--all",
            "--detailed-exitcode",
        ]);
        assert_eq!(
            again.code, 0,
            "seed {seed} trial {trial}: not converged: {again:?}"
        );
        let cloud = emulated_inventory(&p);
        let state = state_inventory(&p, env);
        assert_eq!(
            cloud.difference(&state).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "seed {seed} trial {trial}: orphans in the cloud"
        );
        assert_eq!(
            state.difference(&cloud).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "seed {seed} trial {trial}: state names objects the cloud lacks; the cloud holds {cloud:#?}"
        );
    }
}

#[test]
fn sigkill_during_a_doks_apply_with_faults_leaves_nothing_orphaned() {
    let p = Project::from_dir(&crate::support::example("doks-ecommerce"));
    kill_and_converge(p, "stage", 3);
}

#[test]
fn sigkill_during_an_aks_apply_with_faults_leaves_nothing_orphaned() {
    let mut p = Project::from_dir(&crate::support::example("aks-autoscaling"));
    p.env.insert(
        "STRATA_VAR_db_admin_password".into(),
        "a-long-emulated-password-42".into(),
    );
    kill_and_converge(p, "production", 2);
}
