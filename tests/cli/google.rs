//! The GKE digital-twin platform example end to end under `--emulate`: the google provider (the
//! official GKE client, Cloud SQL Admin over REST, the real Google auth library) and the
//! kubernetes provider against the emulator over real HTTP.

use crate::support::{Project, Run};
use serde_json::Value;

const DB_PASSWORD: &str = "pg-Quokka-7731";
const MINIO_SECRET: &str = "minio-Quokka-7731";
const OIDC_SECRET: &str = "oidc-Quokka-7731";

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

/// The example project, with fast lifecycles and its secrets given as variables.
fn gke() -> Project {
    let mut p = Project::from_dir(&crate::support::example("gke-platform"));
    for (k, v) in [
        ("STRATA_EMULATOR_PROVISION_MS", "300"),
        ("STRATA_GOOGLE_POLL_MS", "50"),
        ("STRATA_VAR_db_password", DB_PASSWORD),
        ("STRATA_VAR_minio_secret_key", MINIO_SECRET),
        ("STRATA_VAR_oidc_client_secret", OIDC_SECRET),
    ] {
        p.env.insert(k.into(), v.into());
    }
    p
}

fn objects(p: &Project) -> Vec<Value> {
    let r = p.ok(&["emulator", "list", "--json"]);
    serde_json::from_str(&r.stdout).unwrap()
}

fn count(objects: &[Value], kind: &str) -> usize {
    objects.iter().filter(|o| o["kind"] == kind).count()
}

fn named<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}: {objects:#?}"))
}

/// Every file under `.strata`, but the emulated cloud, as text.
fn state_bytes(p: &Project) -> String {
    fn walk(dir: &std::path::Path, out: &mut String) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.file_name().is_some_and(|n| n == "emulator") {
                continue;
            }
            if path.is_dir() {
                walk(&path, out);
            } else if let Ok(bytes) = std::fs::read(&path) {
                out.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }
    let mut out = String::new();
    walk(&p.root.join(".strata"), &mut out);
    out
}

/// The whole platform is applied, converges, and is destroyed to nothing; every request of the
/// run follows Google's discovery documents; no secret reaches the output, and the Google
/// credentials never reach state.
#[test]
fn the_platform_applies_converges_follows_the_spec_and_destroys_without_leaking() {
    let p = gke();
    let mut transcript = String::new();
    transcript += &emulated_ok(&p, &["apply", "--all", "--auto-approve"]).all();
    let again = emulated(&p, &["plan", "--all", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "not converged:\n{again:?}");
    transcript += &again.all();

    let all = objects(&p);
    assert_eq!(count(&all, "gke_cluster"), 1, "{all:#?}");
    assert_eq!(
        count(&all, "gke_node_pool"),
        2,
        "the default pool is removed: {all:#?}"
    );
    assert_eq!(count(&all, "sql_instance"), 1, "{all:#?}");
    let workflows = named(&all, "gke_node_pool", "workflows");
    assert_eq!(workflows["fields"]["autoscaling"]["maxNodeCount"], 4);
    let db = named(&all, "sql_instance", "dtwin-stage-metadata");
    assert_eq!(db["fields"]["databaseVersion"], "POSTGRES_16");
    // The deploy stack reached the cluster the base stack made.
    for ns in [
        "dtwin-platform",
        "dtwin-workflows",
        "dtwin-storage",
        "dtwin-data",
        "dtwin-infra",
    ] {
        named(&all, "Namespace", ns);
    }
    assert_eq!(count(&all, "StatefulSet"), 1, "{all:#?}");
    assert_eq!(count(&all, "Ingress"), 2, "{all:#?}");
    assert_eq!(count(&all, "Secret"), 4, "{all:#?}");

    for args in [
        vec!["output", "base"],
        vec!["output", "database", "--json"],
        vec!["state", "show", "base/google_gke_cluster.main"],
        vec!["state", "show", "database/google_sql_instance.metadata"],
    ] {
        transcript += &emulated_ok(&p, &args).all();
    }
    transcript += &emulated_ok(&p, &["destroy", "--all", "--auto-approve"]).all();
    let left = objects(&p);
    for kind in ["gke_cluster", "gke_node_pool", "sql_instance", "Namespace"] {
        let of_kind: Vec<&Value> = left
            .iter()
            .filter(|o| {
                o["kind"] == kind && o["name"].as_str().is_some_and(|n| n.starts_with("dtwin"))
            })
            .collect();
        assert!(of_kind.is_empty(), "{kind} left: {of_kind:#?}");
    }
    assert_eq!(
        count(&left, "gke_cluster") + count(&left, "sql_instance"),
        0,
        "{left:#?}"
    );
    assert!(p.state_list_env("stage").is_empty());

    assert!(transcript.contains("(sensitive"), "{transcript}");
    for secret in [
        DB_PASSWORD,
        MINIO_SECRET,
        OIDC_SECRET,
        "ya29.emulated.",
        "emulated-refresh-token",
    ] {
        assert!(
            !transcript.contains(secret),
            "the output leaks {secret:?}:\n{transcript}"
        );
    }
    let state = state_bytes(&p);
    assert!(!state.is_empty());
    for credential in ["emulated-refresh-token", "client_secret"] {
        assert!(
            !state.contains(credential),
            "state holds the Google credentials ({credential})"
        );
    }

    let log = p.root.join(".strata/emulator/requests.jsonl");
    for (doc, prefix, at_least) in [
        ("google/container.v1.json", "/google/container", 20),
        ("google/sqladmin.v1.json", "/google/sql", 5),
    ] {
        let file = strata_speccheck::find_spec(doc)
            .expect("the Google discovery documents in shared/specs");
        let spec = strata_speccheck::discovery::Discovery::load(&file).unwrap();
        let report = spec.check_log(&log, prefix).unwrap();
        assert!(
            report.checked >= at_least,
            "{doc}: only {} requests checked",
            report.checked
        );
        let problems: Vec<String> = report.violations.iter().map(|v| v.to_string()).collect();
        assert!(
            problems.is_empty(),
            "{} of {} requests break {doc}:\n{}",
            problems.len(),
            report.checked,
            problems.join("\n")
        );
    }
}

/// Version upgrades and node pool scaling are made in place; a region change replaces the
/// database, and the plan names the attribute that forces it.
#[test]
fn upgrades_and_scaling_are_in_place_and_a_region_change_replaces() {
    let p = gke();
    emulated_ok(&p, &["apply", "base", "database", "--auto-approve"]);
    p.edit("base/main.hcl", "default = \"1.31\"", "default = \"1.32\"");
    p.edit("base/main.hcl", "node_count = 1", "node_count = 2");
    p.edit("strata.hcl", "max_nodes        = 4", "max_nodes        = 6");
    let plan = emulated(&p, &["plan", "base", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{plan:?}");
    for address in [
        "base/google_gke_cluster.main will be updated in-place",
        "base/google_gke_node_pool.system will be updated in-place",
        "base/google_gke_node_pool.workflows will be updated in-place",
    ] {
        assert!(plan.stdout.contains(address), "{address}:\n{plan:?}");
    }
    assert!(!plan.stdout.contains("must be replaced"), "{plan:?}");
    emulated_ok(&p, &["apply", "base", "--auto-approve"]);

    let all = objects(&p);
    let cluster = named(&all, "gke_cluster", "dtwin-stage");
    assert!(
        cluster["fields"]["masterVersion"]
            .as_str()
            .unwrap()
            .starts_with("1.32."),
        "{cluster:#}"
    );
    assert_eq!(
        named(&all, "gke_node_pool", "system")["fields"]["initialNodeCount"],
        2
    );
    assert_eq!(
        named(&all, "gke_node_pool", "workflows")["fields"]["autoscaling"]["maxNodeCount"],
        6
    );
    let again = emulated(&p, &["plan", "base", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{again:?}");

    p.edit(
        "database/main.hcl",
        "region              = var.region",
        "region              = \"europe-west4\"",
    );
    let r = emulated(&p, &["plan", "database"]);
    assert!(
        r.stdout
            .contains("database/google_sql_instance.metadata must be replaced"),
        "{r:?}"
    );
    assert!(
        r.stdout
            .lines()
            .any(|l| l.contains("forces replacement") && l.contains("region")),
        "{r:?}"
    );
}

/// With a fifth of the calls throttled and a fifth failing, apply and destroy still make
/// exactly one of each object.
#[test]
fn throttling_and_server_errors_make_no_duplicates() {
    let mut p = gke();
    p.env
        .insert("STRATA_EMULATOR_ERROR_RATE".into(), "0.2".into());
    p.env
        .insert("STRATA_EMULATOR_THROTTLE_RATE".into(), "0.2".into());
    emulated_ok(&p, &["apply", "--all", "--auto-approve"]);
    let all = objects(&p);
    assert_eq!(count(&all, "gke_cluster"), 1, "{all:#?}");
    assert_eq!(count(&all, "gke_node_pool"), 2, "{all:#?}");
    assert_eq!(count(&all, "sql_instance"), 1, "{all:#?}");
    emulated_ok(&p, &["destroy", "--all", "--auto-approve"]);
    let left = objects(&p);
    assert_eq!(
        count(&left, "gke_cluster") + count(&left, "gke_node_pool") + count(&left, "sql_instance"),
        0,
        "{left:#?}"
    );
}

/// A pool resized behind Strata's back is drift; right after apply there is none.
#[test]
fn an_out_of_band_resize_is_reported_as_drift() {
    let p = gke();
    emulated_ok(&p, &["apply", "--all", "--auto-approve"]);
    let clean = emulated(&p, &["drift", "--all"]);
    assert_eq!(
        clean.code, 0,
        "right after apply there is no drift: {clean:?}"
    );
    p.ok(&[
        "emulator",
        "set",
        "dtwin-stage/system",
        "initialNodeCount",
        "5",
    ]);
    let r = emulated(&p, &["drift", "--all"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stdout.contains("base/google_gke_node_pool.system") && r.stdout.contains("node_count"),
        "{r:?}"
    );
}

/// Without any credential, the error names every place that was looked at.
#[test]
fn a_missing_credential_names_where_it_looked() {
    let p = gke();
    let home = p.root.join("empty-home");
    std::fs::create_dir_all(&home).unwrap();
    let out = p
        .command(&["--env", "stage", "apply", "base", "--auto-approve"])
        .env_remove("GOOGLE_APPLICATION_CREDENTIALS")
        .env_remove("GOOGLE_CONTAINER_CUSTOM_ENDPOINT")
        .env("HOME", &home)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(out.status.code(), Some(0), "{text}");
    for place in [
        "credentials in provider \"google\"",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "application_default_credentials.json",
    ] {
        assert!(text.contains(place), "{place} not named:\n{text}");
    }
}
