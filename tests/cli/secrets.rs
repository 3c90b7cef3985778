//! No sensitive value appears in plan or apply output, in `-vv` logs, in saved plans or in the
//! JSON plan.

use crate::support::Project;

/// Every sensitive value the cloud holds for the project, read from the testing provider.
fn cloud_secrets(p: &Project) -> Vec<String> {
    let mut out = vec!["hunter2-in-config".to_string()];
    for (_, _, v) in strata_provider_testing::inventory(&p.cloud).unwrap() {
        for field in ["secret", "kubeconfig", "password"] {
            if let Some(s) = v[field].as_str() {
                out.push(s.to_string());
                // Multi-line values (a kubeconfig) must not leak line by line either.
                out.extend(
                    s.lines()
                        .filter(|l| l.trim().len() > 12)
                        .map(|l| l.trim().to_string()),
                );
            }
        }
    }
    out
}

fn assert_clean(what: &str, text: &str, secrets: &[String]) {
    for s in secrets {
        assert!(
            !text.contains(s.as_str()),
            "{what} leaks a sensitive value {s:?}:\n{text}"
        );
    }
}

#[test]
fn sensitive_values_never_reach_output_logs_or_plan_files() {
    let p = Project::new("three-stacks");
    let mut transcript = String::new();
    transcript += &p.ok(&["-vv", "plan", "--all"]).all();
    transcript += &p.ok(&["-vv", "apply", "--all", "--auto-approve"]).all();
    // Now that objects exist, changes show old and new values: touch a sensitive attribute too.
    p.edit(
        "database/main.hcl",
        "hunter2-in-config",
        "hunter3-in-config",
    );
    let plan_file = p.root.join("db.plan");
    transcript += &p
        .ok(&["-vv", "plan", "--all", "--out", plan_file.to_str().unwrap()])
        .all();
    transcript += &p.ok(&["-vv", "plan", "--all", "--json"]).all();
    transcript += &p
        .ok(&["-vv", "show", "--json", plan_file.to_str().unwrap()])
        .all();
    transcript += &p.ok(&["-vv", "apply", plan_file.to_str().unwrap()]).all();
    transcript += &p.ok(&["-vv", "output", "base"]).all();
    transcript += &p.ok(&["-vv", "output", "database", "--json"]).all();
    transcript += &p
        .ok(&["-vv", "state", "show", "base/testing_cluster.main"])
        .all();
    let plan_bytes = std::fs::read_to_string(&plan_file).unwrap();

    let mut secrets = cloud_secrets(&p);
    secrets.push("hunter3-in-config".into());
    assert!(
        secrets.len() > 4,
        "the fixture should hold several secrets: {secrets:?}"
    );
    assert!(
        transcript.contains("(sensitive"),
        "sensitive values are shown as masked"
    );
    assert_clean("the transcript", &transcript, &secrets);
    assert_clean("the saved plan", &plan_bytes, &secrets);

    transcript = p.ok(&["-vv", "destroy", "--all", "--auto-approve"]).all();
    assert_clean("destroy", &transcript, &secrets);
}

/// The value at a state path (`[{"Key":"node_pool"},{"Index":0}]`) inside `attributes`.
fn at_path<'a>(
    mut v: &'a serde_json::Value,
    path: &serde_json::Value,
) -> Option<&'a serde_json::Value> {
    for step in path.as_array()? {
        v = match (step.get("Key"), step.get("Index")) {
            (Some(k), _) => v.get(k.as_str()?)?,
            (_, Some(i)) => v.get(i.as_u64()? as usize)?,
            _ => return None,
        };
    }
    Some(v)
}

/// A sensitive string, and the credentials inside it: a kubeconfig must not leak its token (or
/// key) on a line of its own either. Names and URLs in it are not secrets.
fn secret_pieces(s: &str, out: &mut Vec<String>) {
    if s.len() < 8 {
        return;
    }
    out.push(s.to_string());
    for line in s.lines() {
        let lower = line.to_ascii_lowercase();
        if !["token", "password", "secret", "key-data"]
            .iter()
            .any(|k| lower.contains(k))
        {
            continue;
        }
        if let Some((_, value)) = line.split_once(':') {
            let value = value.trim().trim_matches('"').trim_matches('\'');
            if value.len() >= 8 {
                out.push(value.to_string());
            }
        }
    }
}

/// Every sensitive value the project's state holds (resource attributes at their sensitive
/// paths, sensitive outputs), read with `state pull`.
fn state_secrets(p: &Project, env: &str, stacks: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for stack in stacks {
        let file = p.root.join(format!("{stack}.secrets-pull.json"));
        p.ok(&["--env", env, "state", "pull", stack, file.to_str().unwrap()]);
        let pulled: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        std::fs::remove_file(&file).unwrap();
        for r in pulled["resources"].as_object().unwrap().values() {
            for path in r["sensitive_paths"].as_array().into_iter().flatten() {
                let mut strings = Vec::new();
                collect_strings(at_path(&r["attributes"], path), &mut strings);
                for s in strings {
                    secret_pieces(&s, &mut out);
                }
            }
        }
        for o in pulled["outputs"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(_, o)| o)
        {
            if o["sensitive"] == true {
                let mut strings = Vec::new();
                collect_strings(Some(&o["value"]), &mut strings);
                for s in strings {
                    secret_pieces(&s, &mut out);
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn collect_strings(v: Option<&serde_json::Value>, out: &mut Vec<String>) {
    match v {
        Some(serde_json::Value::String(s)) => out.push(s.clone()),
        Some(serde_json::Value::Array(items)) => {
            items.iter().for_each(|i| collect_strings(Some(i), out))
        }
        Some(serde_json::Value::Object(m)) => {
            m.values().for_each(|i| collect_strings(Some(i), out))
        }
        _ => {}
    }
}

/// Every example, run with `-vv` under `--emulate`: no kubeconfig, token, password or cluster
/// token it holds shows in stdout, stderr (the `-vv` log), a saved plan or a drift report.
#[test]
fn every_example_keeps_its_secrets_under_vv() {
    let examples: [(&str, &str, &[(&str, &str)]); 5] = [
        ("doks-ecommerce", "stage", &[]),
        (
            "aks-autoscaling",
            "production",
            &[("STRATA_VAR_db_admin_password", "aks-example-admin-secret-1")],
        ),
        ("eks-platform", "stage", &[]),
        (
            "gke-platform",
            "stage",
            &[
                ("STRATA_VAR_db_password", "gke-example-db-secret-2"),
                ("STRATA_VAR_minio_secret_key", "gke-example-minio-secret-3"),
                ("STRATA_VAR_oidc_client_secret", "gke-example-oidc-secret-4"),
            ],
        ),
        ("onprem-k3s", "stage", &[]),
    ];
    for (name, env, vars) in examples {
        let mut p = Project::from_dir(&crate::support::example(name));
        for (k, v) in [
            ("STRATA_EMULATOR_PROVISION_MS", "200"),
            ("STRATA_DIGITALOCEAN_POLL_MS", "100"),
            ("STRATA_AZURE_POLL_MS", "100"),
            ("STRATA_AWS_POLL_MS", "100"),
            ("STRATA_GOOGLE_POLL_MS", "100"),
            ("STRATA_ONPREM_POLL_MS", "100"),
        ] {
            p.env.insert(k.into(), v.into());
        }
        for (k, v) in vars {
            p.env.insert(k.to_string(), v.to_string());
        }
        let run = |args: &[&str]| {
            let mut full = vec!["-vv", "--emulate", "--env", env];
            full.extend_from_slice(args);
            p.ok(&full).all()
        };
        let mut transcript = run(&["apply", "--all", "--auto-approve"]);
        let plan_file = p.root.join("example.plan");
        transcript += &run(&["plan", "--all", "--out", plan_file.to_str().unwrap()]);
        transcript += &run(&["plan", "--all", "--json"]);
        let mut reports = String::new();
        for format in ["json", "markdown", "junit", "sarif", "text"] {
            let report = p.root.join(format!("drift.{format}"));
            transcript += &run(&[
                "drift",
                "--all",
                "--format",
                format,
                "--report",
                report.to_str().unwrap(),
            ]);
            reports += &std::fs::read_to_string(&report).unwrap();
        }
        let stacks: Vec<String> = std::fs::read_dir(&p.root)
            .unwrap()
            .flatten()
            .filter(|e| e.path().join("main.hcl").is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        let stacks: Vec<&str> = stacks.iter().map(String::as_str).collect();
        let mut secrets = state_secrets(&p, env, &stacks);
        secrets.extend(vars.iter().map(|(_, v)| v.to_string()));
        assert!(
            secrets.len() > vars.len(),
            "{name}: state holds sensitive values to look for"
        );
        let plan_bytes = String::from_utf8_lossy(&std::fs::read(&plan_file).unwrap()).into_owned();
        transcript += &run(&["destroy", "--all", "--auto-approve"]);
        assert_clean(
            &format!("{name}: output and -vv log"),
            &transcript,
            &secrets,
        );
        assert_clean(&format!("{name}: the saved plan"), &plan_bytes, &secrets);
        assert_clean(&format!("{name}: drift reports"), &reports, &secrets);
    }
}
