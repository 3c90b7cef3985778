//! The AKS autoscaling example end to end under `--emulate`: the azure and kubernetes providers
//! against the emulated ARM and the emulated cluster over real HTTP.

use crate::support::{Project, Run};

/// The database administrator's password the tests set; it must never show anywhere.
const DB_PASSWORD: &str = "Db-pa55word-never-shown";
/// The client secret `--emulate` hands the provider.
const CLIENT_SECRET: &str = "emulator-client-secret";

fn emulated(p: &Project, args: &[&str]) -> Run {
    let mut full = vec!["--emulate"];
    full.extend_from_slice(args);
    p.run(&full)
}

fn emulated_ok(p: &Project, args: &[&str]) -> Run {
    let r = emulated(p, args);
    assert_eq!(r.code, 0, "strata --emulate {args:?} failed:\n{r:?}");
    r
}

/// The example project, with fast lifecycles.
fn aks() -> Project {
    let mut p = Project::from_dir(&crate::support::example("aks-autoscaling"));
    p.env
        .insert("STRATA_EMULATOR_PROVISION_MS".into(), "300".into());
    p.env.insert("STRATA_AZURE_POLL_MS".into(), "50".into());
    p.env
        .insert("STRATA_VAR_db_admin_password".into(), DB_PASSWORD.into());
    p
}

fn emulator_objects(p: &Project) -> Vec<serde_json::Value> {
    let r = p.ok(&["emulator", "list", "--json"]);
    serde_json::from_str(&r.stdout).unwrap()
}

fn count_kind(objects: &[serde_json::Value], kind: &str) -> usize {
    objects.iter().filter(|o| o["kind"] == kind).count()
}

fn azure_objects(objects: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    objects.iter().filter(|o| o["cloud"] == "azure").collect()
}

/// The objects one full apply of the example makes in the emulated Azure.
fn assert_one_platform(objects: &[serde_json::Value]) {
    assert_eq!(count_kind(objects, "resource_group"), 2, "{objects:#?}");
    assert_eq!(count_kind(objects, "aks_cluster"), 1, "{objects:#?}");
    assert_eq!(count_kind(objects, "aks_node_pool"), 3, "{objects:#?}");
    assert_eq!(
        count_kind(objects, "postgres_flexible_server"),
        1,
        "{objects:#?}"
    );
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in [DB_PASSWORD, CLIENT_SECRET] {
        assert!(!text.contains(secret), "{what} shows a secret:\n{text}");
    }
}

#[test]
fn the_platform_applies_converges_destroys_and_every_arm_request_matches_the_swagger() {
    let p = aks();
    let plan = emulated(&p, &["plan", "--all", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{plan:?}");
    let apply = emulated_ok(&p, &["apply", "--all", "--auto-approve"]);
    assert!(apply.stdout.contains("Creating"), "{apply:?}");
    let again = emulated(&p, &["plan", "--all", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "not converged:\n{again:?}");

    let objects = emulator_objects(&p);
    assert_one_platform(&objects);
    let pools: Vec<(String, serde_json::Value, serde_json::Value)> = objects
        .iter()
        .filter(|o| o["kind"] == "aks_node_pool")
        .map(|o| {
            (
                o["name"].as_str().unwrap().to_string(),
                o["fields"]["minCount"].clone(),
                o["fields"]["maxCount"].clone(),
            )
        })
        .collect();
    for (name, min, max) in [("frontend", 1, 3), ("backend", 1, 5)] {
        assert!(
            pools.contains(&(name.to_string(), min.into(), max.into())),
            "{pools:?}"
        );
    }
    // The deploy stack reached the cluster the base stack made.
    for name in ["backend", "frontend", "prometheus", "grafana"] {
        assert!(
            objects
                .iter()
                .any(|o| o["kind"] == "Deployment" && o["name"] == name),
            "{objects:#?}"
        );
    }
    assert_eq!(count_kind(&objects, "HorizontalPodAutoscaler"), 2);
    assert_eq!(count_kind(&objects, "Ingress"), 1);

    // Sensitive outputs stay hidden, and no credential reached state or output.
    let shown = p.ok(&["state", "show", "base/azure_aks_cluster.main"]);
    assert!(shown.stdout.contains("kube_config_raw"), "{shown:?}");
    assert!(!shown.stdout.contains("token:"), "{shown:?}");
    let outputs = p.ok(&["output", "database"]);
    for text in [
        &plan.all(),
        &apply.all(),
        &again.all(),
        &shown.all(),
        &outputs.all(),
    ] {
        assert_no_secret("a command", text);
    }
    for entry in walk(&p.root.join(".strata")) {
        if entry.starts_with(p.root.join(".strata/emulator")) {
            continue;
        }
        let bytes = std::fs::read(&entry).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(CLIENT_SECRET),
            "{} holds the client secret",
            entry.display()
        );
    }

    let destroy = emulated_ok(&p, &["destroy", "--all", "--auto-approve"]);
    assert_no_secret("destroy", &destroy.all());
    let left = emulator_objects(&p);
    assert!(azure_objects(&left).is_empty(), "{left:#?}");
    assert!(p.state_list().is_empty());

    let files: Vec<std::path::PathBuf> = [
        "containerservice/resource-manager/Microsoft.ContainerService/aks/stable/2026-06-01/managedClusters.json",
        "resources/resource-manager/Microsoft.Resources/resources/stable/2025-04-01/resources.json",
        "postgresql/resource-manager/Microsoft.DBforPostgreSQL/PostgreSQL/stable/2025-08-01/openapi.json",
    ]
    .iter()
    .map(|f| {
        strata_speccheck::find_spec(&format!("azure/specification/{f}"))
            .unwrap_or_else(|| panic!("{f} in shared/specs (or STRATA_SPECS_DIR)"))
    })
    .collect();
    let spec = strata_speccheck::arm::ArmSpec::load(&files).unwrap();
    let log = p.root.join(".strata/emulator/requests.jsonl");
    let report = spec.check_log(&log, "/azure").unwrap();
    assert!(
        report.report.checked > 20,
        "only {} requests were checked",
        report.report.checked
    );
    assert!(report.skipped > 0, "no operation was followed");
    let problems: Vec<String> = report
        .report
        .violations
        .iter()
        .map(|v| v.to_string())
        .collect();
    assert!(
        problems.is_empty(),
        "{} of {} requests break the swagger:\n{}",
        problems.len(),
        report.report.checked,
        problems.join("\n")
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

#[test]
fn upgrades_and_scaling_are_in_place_and_a_dns_prefix_change_replaces() {
    let p = aks();
    emulated_ok(&p, &["apply", "base", "--auto-approve"]);
    p.edit(
        "strata.hcl",
        "kubernetes_version = \"1.32\"",
        "kubernetes_version = \"1.33\"",
    );
    p.edit(
        "strata.hcl",
        "backend_max        = 5",
        "backend_max        = 6",
    );
    let r = emulated(&p, &["plan", "base", "--detailed-exitcode"]);
    assert_eq!(r.code, 2, "{r:?}");
    for address in [
        "base/azure_aks_cluster.main will be updated in-place",
        "base/azure_aks_node_pool.backend will be updated in-place",
    ] {
        assert!(r.stdout.contains(address), "{r:?}");
    }
    assert!(
        r.stdout.contains("\"1.32\" -> \"1.33\"") && r.stdout.contains("5 -> 6"),
        "{r:?}"
    );
    assert!(!r.stdout.contains("must be replaced"), "{r:?}");
    emulated_ok(&p, &["apply", "base", "--auto-approve"]);
    let again = emulated(&p, &["plan", "base", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{again:?}");
    let objects = emulator_objects(&p);
    let cluster = objects.iter().find(|o| o["kind"] == "aks_cluster").unwrap();
    assert_eq!(cluster["fields"]["kubernetesVersion"], "1.33");
    let backend = objects
        .iter()
        .find(|o| o["kind"] == "aks_node_pool" && o["name"] == "backend")
        .unwrap();
    assert_eq!(backend["fields"]["maxCount"], 6);

    p.edit(
        "base/main.hcl",
        "dns_prefix          = local.name",
        "dns_prefix          = \"${local.name}-v2\"",
    );
    let r = emulated(&p, &["plan", "base"]);
    assert!(
        r.stdout
            .contains("base/azure_aks_cluster.main must be replaced"),
        "{r:?}"
    );
    assert!(
        r.stdout
            .lines()
            .any(|l| l.contains("forces replacement") && l.contains("dns_prefix")),
        "{r:?}"
    );
}

#[test]
fn faults_neither_stop_apply_and_destroy_nor_duplicate_anything() {
    let mut p = aks();
    p.env
        .insert("STRATA_EMULATOR_ERROR_RATE".into(), "0.2".into());
    p.env
        .insert("STRATA_EMULATOR_THROTTLE_RATE".into(), "0.2".into());
    // Fewer polls of each operation, so fewer faults to wait through.
    p.env.insert("STRATA_AZURE_POLL_MS".into(), "200".into());
    emulated_ok(&p, &["apply", "--all", "--auto-approve"]);
    assert_one_platform(&emulator_objects(&p));
    emulated_ok(&p, &["destroy", "--all", "--auto-approve"]);
    let left = emulator_objects(&p);
    assert!(azure_objects(&left).is_empty(), "{left:#?}");
}

#[test]
fn a_missing_credential_names_the_settings_and_variables_looked_at() {
    let p = aks();
    let mut c = p.command(&["plan", "base"]);
    for name in [
        "AZURE_SUBSCRIPTION_ID",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "ARM_SUBSCRIPTION_ID",
        "ARM_TENANT_ID",
        "ARM_CLIENT_ID",
        "ARM_CLIENT_SECRET",
    ] {
        c.env_remove(name);
    }
    let out = c.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{text}");
    for name in [
        "subscription_id",
        "AZURE_SUBSCRIPTION_ID",
        "ARM_SUBSCRIPTION_ID",
    ] {
        assert!(text.contains(name), "{name} not named in:\n{text}");
    }
}

#[test]
fn a_pool_scaled_out_of_band_is_drift_and_nothing_else_is() {
    let p = aks();
    emulated_ok(&p, &["apply", "--all", "--auto-approve"]);
    let clean = emulated(&p, &["drift", "--all"]);
    assert_eq!(
        clean.code, 0,
        "right after apply there is no drift: {clean:?}"
    );

    p.ok(&[
        "emulator",
        "set",
        "aks-autoscaling-production/backend",
        "count",
        "3",
    ]);
    let log = p.root.join(".strata/emulator/requests.jsonl");
    let logged_before = std::fs::read_to_string(&log).unwrap().lines().count();
    let r = emulated(&p, &["drift", "--all", "--format", "json"]);
    assert_eq!(r.code, 2, "{r:?}");
    let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    let found = findings
        .iter()
        .find(|f| {
            f["kind"] == "changed"
                && f["address"] == "base/azure_aks_node_pool.backend"
                && f["attribute"] == "node_count"
        })
        .unwrap_or_else(|| panic!("no node_count finding in {findings:#?}"));
    assert_eq!(
        (found["state_value"].clone(), found["cloud_value"].clone()),
        (serde_json::json!(1), serde_json::json!(3))
    );
    assert_eq!(findings.len(), 1, "{findings:#?}");

    // The check only read.
    let text = std::fs::read_to_string(&log).unwrap();
    let writes: Vec<&str> = text
        .lines()
        .skip(logged_before)
        .filter(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let path = v["path"].as_str().unwrap_or("");
            v["method"] != "GET" && !path.contains("/oauth2/") && !path.starts_with("/_emulator")
        })
        .collect();
    assert!(
        writes.is_empty(),
        "drift made write calls:\n{}",
        writes.join("\n")
    );
}
