//! End-to-end tests of the onprem provider against the emulator: the on-prem k3s example under
//! `--emulate`, where the provider reaches the emulated hosts over real SSH.

use crate::support::{Project, Run};

fn emulated(p: &Project, args: &[&str]) -> Run {
    let mut full = vec!["--emulate", "--env", "stage"];
    full.extend_from_slice(args);
    p.run(&full)
}

fn emulated_ok(p: &Project, args: &[&str]) -> Run {
    let r = emulated(p, args);
    assert_eq!(r.code, 0, "strata --emulate {args:?} failed:\n{r:?}");
    r
}

/// The example project, with fast lifecycles.
fn onprem() -> Project {
    let mut p = Project::from_dir(&crate::support::example("onprem-k3s"));
    p.env
        .insert("STRATA_EMULATOR_PROVISION_MS".into(), "200".into());
    p.env.insert("STRATA_ONPREM_POLL_MS".into(), "50".into());
    p.env
        .insert("STRATA_ONPREM_CONNECT_TIMEOUT_MS".into(), "300".into());
    p
}

fn emulator_objects(p: &Project) -> Vec<serde_json::Value> {
    let r = p.ok(&["emulator", "list", "--json"]);
    serde_json::from_str(&r.stdout).unwrap()
}

/// `(host, role)` of every emulated host with k3s installed.
fn k3s_hosts(p: &Project) -> Vec<(String, String)> {
    emulator_objects(p)
        .into_iter()
        .filter(|o| o["kind"] == "host")
        .filter_map(|o| {
            let role = o["fields"]["k3s_role"].as_str()?.to_string();
            Some((o["name"].as_str()?.to_string(), role))
        })
        .collect()
}

/// `(host, command)` of every command the emulated hosts ran so far.
fn host_commands(p: &Project) -> Vec<(String, String)> {
    let log = p.root.join(".strata/emulator/onprem/commands.jsonl");
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["host"].as_str().unwrap().to_string(),
                v["command"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Commands that only look (what a refresh runs).
fn is_read_only(command: &str) -> bool {
    [
        "systemctl is-active",
        "k3s --version",
        "hostname",
        "cat /etc/rancher/k3s/k3s.yaml",
    ]
    .iter()
    .any(|r| command.contains(r))
}

fn count_kind(objects: &[serde_json::Value], kind: &str, namespace: &str) -> usize {
    objects
        .iter()
        .filter(|o| o["kind"] == kind && o["fields"]["namespace"] == namespace)
        .count()
}

#[test]
fn stage_applies_converges_and_destroys_leaving_no_k3s() {
    let p = onprem();
    emulated_ok(&p, &["apply", "--all", "--auto-approve"]);
    let again = emulated(&p, &["plan", "--all", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "not converged:\n{again:?}");
    let drift = emulated(&p, &["drift", "--all"]);
    assert_eq!(
        drift.code, 0,
        "right after apply nothing has drifted:\n{drift:?}"
    );

    assert_eq!(
        k3s_hosts(&p),
        [
            ("node-1", "server"),
            ("node-2", "agent"),
            ("node-3", "agent")
        ]
        .map(|(h, r)| (h.to_string(), r.to_string()))
    );
    let objects = emulator_objects(&p);
    // Both deploy stacks reached the cluster the base stack installed.
    assert_eq!(
        count_kind(&objects, "Deployment", "flores-victoria"),
        13,
        "{objects:#?}"
    );
    assert_eq!(
        count_kind(&objects, "PersistentVolumeClaim", "flores-victoria"),
        3
    );
    assert_eq!(count_kind(&objects, "Ingress", "flores-victoria"), 1);
    for kind in [
        "StatefulSet",
        "Deployment",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
    ] {
        assert_eq!(
            count_kind(&objects, kind, "ironclad-demo"),
            1,
            "{kind}: {objects:#?}"
        );
    }

    emulated_ok(&p, &["destroy", "--all", "--auto-approve"]);
    assert!(k3s_hosts(&p).is_empty(), "{:#?}", emulator_objects(&p));
    assert!(p.state_list_env("stage").is_empty());
}

#[test]
fn adding_an_agent_touches_only_it_and_an_upgrade_rolls_servers_first() {
    let p = onprem();
    emulated_ok(&p, &["apply", "base", "--auto-approve"]);

    p.edit(
        "strata.hcl",
        r#"agents       = ["node-2", "node-3"]"#,
        r#"agents       = ["node-2", "node-3", "node-4"]"#,
    );
    let plan = emulated(&p, &["plan", "base", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{plan:?}");
    assert!(
        plan.stdout
            .contains("base/onprem_k3s_cluster.main will be updated in-place"),
        "{plan:?}"
    );
    let logged = host_commands(&p).len();
    emulated_ok(&p, &["apply", "base", "--auto-approve"]);
    let changes: Vec<(String, String)> = host_commands(&p)[logged..]
        .iter()
        .filter(|(_, c)| !is_read_only(c) && !c.contains("kubectl get nodes"))
        .cloned()
        .collect();
    assert!(!changes.is_empty());
    assert!(changes.iter().all(|(h, _)| h == "node-4"), "{changes:#?}");

    p.edit(
        "strata.hcl",
        r#"servers      = ["node-1"]"#,
        r#"servers      = ["node-1", "node-5"]"#,
    );
    emulated_ok(&p, &["apply", "base", "--auto-approve"]);
    p.edit("strata.hcl", "v1.30.4+k3s1", "v1.31.1+k3s1");
    let logged = host_commands(&p).len();
    emulated_ok(&p, &["apply", "base", "--auto-approve"]);
    let upgraded: Vec<String> = host_commands(&p)[logged..]
        .iter()
        .filter(|(_, c)| c.contains("INSTALL_K3S_VERSION=v1.31.1+k3s1"))
        .map(|(h, _)| h.clone())
        .collect();
    assert_eq!(upgraded, ["node-1", "node-5", "node-2", "node-3", "node-4"]);
    let again = emulated(&p, &["plan", "base", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{again:?}");
}

#[test]
fn a_failing_install_names_host_and_step_and_the_next_apply_resumes() {
    let p = onprem();
    // A first run creates the emulated hosts; node-3 then fails its install, after node-1 and
    // node-2 are done.
    emulated_ok(&p, &["plan", "base"]);
    p.ok(&[
        "emulator",
        "set",
        "node-3",
        "fail_command",
        r#""get.k3s.io""#,
    ]);
    let r = emulated(&p, &["apply", "base", "--auto-approve"]);
    assert_eq!(r.code, 1, "{r:?}");
    let all = r.all();
    assert!(all.contains("host node-3"), "{r:?}");
    assert!(
        all.contains("installing k3s v1.30.4+k3s1 as agent"),
        "{r:?}"
    );
    assert_eq!(
        k3s_hosts(&p),
        [("node-1", "server"), ("node-2", "agent")].map(|(h, r)| (h.to_string(), r.to_string()))
    );
    let plan = emulated(&p, &["plan", "base"]);
    assert!(plan.stdout.contains("it will be resumed"), "{plan:?}");

    p.ok(&["emulator", "set", "node-3", "fail_command", "null"]);
    let logged = host_commands(&p).len();
    emulated_ok(&p, &["apply", "base", "--auto-approve"]);
    let installs: Vec<String> = host_commands(&p)[logged..]
        .iter()
        .filter(|(_, c)| c.contains("get.k3s.io"))
        .map(|(h, _)| h.clone())
        .collect();
    assert_eq!(installs, ["node-3"]);
    assert_eq!(k3s_hosts(&p).len(), 3);

    // An unreachable host is named with the step that needed it.
    p.ok(&["emulator", "set", "node-2", "reachable", "false"]);
    let r = emulated(&p, &["plan", "base"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.all().contains("host node-2"), "{r:?}");
}

#[test]
fn a_changed_host_key_is_refused_naming_the_host_and_both_fingerprints() {
    let p = onprem();
    emulated_ok(&p, &["apply", "base", "--auto-approve"]);
    let fingerprint = |p: &Project| -> String {
        emulator_objects(p)
            .into_iter()
            .find(|o| o["kind"] == "host" && o["name"] == "node-2")
            .unwrap()["fields"]["host_key_fingerprint"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let old = fingerprint(&p);
    p.ok(&["emulator", "set", "node-2", "host_key", r#""rotate""#]);
    let new = fingerprint(&p);
    let logged = host_commands(&p).len();
    let r = emulated(&p, &["plan", "base"]);
    assert_eq!(r.code, 1, "{r:?}");
    let all = r.all();
    assert!(all.contains("node-2"), "{r:?}");
    assert!(all.contains(&old) && all.contains(&new), "{r:?}");
    assert!(
        host_commands(&p)[logged..]
            .iter()
            .all(|(h, _)| h != "node-2"),
        "nothing may run on a host whose key does not match"
    );
}

#[test]
fn the_token_and_kubeconfig_never_show_in_output_logs_or_plan_files() {
    let p = onprem();
    let apply = emulated_ok(&p, &["-v", "apply", "--all", "--auto-approve"]);
    let plan_file = p.root.join("stage.plan");
    let plan = emulated_ok(
        &p,
        &["-vv", "plan", "--all", "--out", plan_file.to_str().unwrap()],
    );
    let cloud: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(p.root.join(".strata/emulator/cloud.json")).unwrap(),
    )
    .unwrap();
    let cluster = cloud["onprem"]["clusters"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone();
    let secrets = [
        cluster["token"].as_str().unwrap().to_string(),
        cluster["kube_token"].as_str().unwrap().to_string(),
    ];
    let plan_bytes = std::fs::read(&plan_file).unwrap();
    let plan_text = String::from_utf8_lossy(&plan_bytes);
    let commands =
        std::fs::read_to_string(p.root.join(".strata/emulator/onprem/commands.jsonl")).unwrap();
    for secret in &secrets {
        assert!(secret.len() > 20);
        for (what, text) in [
            ("apply output", apply.all()),
            ("plan output", plan.all()),
            ("plan file", plan_text.to_string()),
            ("host command lines", commands.clone()),
        ] {
            assert!(
                !text.contains(secret.as_str()),
                "a secret shows in the {what}"
            );
        }
    }
}
