//! The DOKS e-commerce example end to end under `--emulate`: the DigitalOcean and Kubernetes
//! providers against the emulator over real HTTP.

use crate::support::{Project, Run};

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
fn doks() -> Project {
    let mut p = Project::from_dir(&crate::support::example("doks-ecommerce"));
    p.env
        .insert("STRATA_EMULATOR_PROVISION_MS".into(), "300".into());
    p.env
        .insert("STRATA_DIGITALOCEAN_POLL_MS".into(), "100".into());
    p
}

fn emulator_objects(p: &Project) -> Vec<serde_json::Value> {
    let r = p.ok(&["emulator", "list", "--json"]);
    serde_json::from_str(&r.stdout).unwrap()
}

/// Objects of one kind, leaving out the default VPC DigitalOcean keeps in every region.
fn count_kind(objects: &[serde_json::Value], kind: &str) -> usize {
    objects
        .iter()
        .filter(|o| o["kind"] == kind && o["fields"]["default"] != true)
        .count()
}

#[test]
fn both_environments_apply_converge_and_destroy() {
    for env in ["stage", "production"] {
        let p = doks();
        let plan = emulated(&p, &["--env", env, "plan", "--all", "--detailed-exitcode"]);
        assert_eq!(plan.code, 2, "{plan:?}");
        // deploy's provider reads base's kubeconfig: unknown until base exists.
        assert!(
            plan.stdout
                .contains("deploy/kubernetes_manifest.namespace will be created"),
            "{plan:?}"
        );

        emulated_ok(&p, &["--env", env, "apply", "--all", "--auto-approve"]);
        let again = emulated(&p, &["--env", env, "plan", "--all", "--detailed-exitcode"]);
        assert_eq!(again.code, 0, "{env}: not converged:\n{again:?}");

        let objects = emulator_objects(&p);
        assert_eq!(
            count_kind(&objects, "kubernetes_cluster"),
            1,
            "{objects:#?}"
        );
        assert_eq!(count_kind(&objects, "vpc"), 1);
        assert_eq!(count_kind(&objects, "database"), 1);
        // The deploy stack really reached the cluster the base stack made.
        assert_eq!(count_kind(&objects, "Deployment"), 11, "{objects:#?}");
        let range = if env == "stage" {
            "10.10.0.0/16"
        } else {
            "10.20.0.0/16"
        };
        assert!(
            objects
                .iter()
                .any(|o| o["kind"] == "vpc" && o["fields"]["ip_range"] == range),
            "{objects:#?}"
        );

        emulated_ok(&p, &["--env", env, "destroy", "--all", "--auto-approve"]);
        let objects = emulator_objects(&p);
        for kind in ["kubernetes_cluster", "vpc", "database"] {
            assert_eq!(
                count_kind(&objects, kind),
                0,
                "{env}: {kind} left: {objects:#?}"
            );
        }
        assert!(p.state_list_env(env).is_empty());
    }
}

#[test]
fn node_pool_bounds_update_in_place_and_a_region_change_replaces() {
    let p = doks();
    emulated_ok(&p, &["--env", "stage", "apply", "base", "--auto-approve"]);
    p.edit("strata.hcl", "max_nodes     = 5", "max_nodes     = 6");
    let r = emulated(
        &p,
        &["--env", "stage", "plan", "base", "--detailed-exitcode"],
    );
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stdout
            .contains("base/digitalocean_kubernetes_cluster.main will be updated in-place"),
        "{r:?}"
    );
    assert!(r.stdout.contains("max_nodes"), "{r:?}");
    emulated_ok(&p, &["--env", "stage", "apply", "base", "--auto-approve"]);

    p.edit("base/main.hcl", "default = \"nyc1\"", "default = \"ams3\"");
    let r = emulated(&p, &["--env", "stage", "plan", "base"]);
    assert!(
        r.stdout
            .contains("base/digitalocean_kubernetes_cluster.main must be replaced"),
        "{r:?}"
    );
    let forces: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.contains("forces replacement"))
        .collect();
    assert!(forces.iter().any(|l| l.contains("region")), "{r:?}");
}

#[test]
fn faults_do_not_duplicate_clusters() {
    let mut p = doks();
    p.env
        .insert("STRATA_EMULATOR_ERROR_RATE".into(), "0.2".into());
    p.env
        .insert("STRATA_EMULATOR_THROTTLE_RATE".into(), "0.2".into());
    emulated_ok(&p, &["--env", "stage", "apply", "--all", "--auto-approve"]);
    let objects = emulator_objects(&p);
    assert_eq!(
        count_kind(&objects, "kubernetes_cluster"),
        1,
        "{objects:#?}"
    );
    assert_eq!(count_kind(&objects, "vpc"), 1, "{objects:#?}");
    assert_eq!(count_kind(&objects, "database"), 1, "{objects:#?}");
}

#[test]
fn an_out_of_band_scale_shows_as_the_update_that_restores_it() {
    let p = doks();
    emulated_ok(&p, &["--env", "stage", "apply", "base", "--auto-approve"]);
    p.ok(&[
        "emulator",
        "set",
        "ecommerce-stage/default",
        "max_nodes",
        "9",
    ]);
    let r = emulated(
        &p,
        &["--env", "stage", "plan", "base", "--detailed-exitcode"],
    );
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stdout.contains("max_nodes") && r.stdout.contains("9 -> 5"),
        "{r:?}"
    );
}

#[test]
fn every_request_of_a_full_run_matches_the_digitalocean_spec() {
    let p = doks();
    emulated_ok(&p, &["--env", "stage", "apply", "--all", "--auto-approve"]);
    emulated_ok(&p, &["--env", "stage", "plan", "--all"]);
    let log = p.root.join(".strata/emulator/requests.jsonl");
    let before_destroy = std::fs::read_to_string(&log).unwrap().len();
    emulated_ok(
        &p,
        &["--env", "stage", "destroy", "--all", "--auto-approve"],
    );
    // The destroy starts from what its plan read: each resource is read once, not again when
    // the approved plan is carried out.
    let destroy_log = std::fs::read_to_string(&log).unwrap()[before_destroy..].to_string();
    let requests: Vec<serde_json::Value> = destroy_log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let deleted_vpc = requests
        .iter()
        .find(|r| r["method"] == "DELETE" && r["path"].as_str().unwrap().starts_with("/v2/vpcs/"))
        .map(|r| r["path"].as_str().unwrap().to_string())
        .expect("the destroy deletes the VPC");
    let reads = requests
        .iter()
        .take_while(|r| r["method"] != "DELETE" || r["path"] != deleted_vpc.as_str())
        .filter(|r| r["method"] == "GET" && r["path"] == deleted_vpc.as_str() && r["status"] == 200)
        .count();
    assert_eq!(
        reads, 1,
        "the VPC was read {reads} times before its deletion"
    );
    let spec_file = strata_speccheck::find_spec("digitalocean/DigitalOcean-public.v2.yaml")
        .expect("the DigitalOcean spec in shared/specs (or STRATA_SPECS_DIR)");
    let spec = strata_speccheck::OpenApi::load(&spec_file).unwrap();
    let report = strata_speccheck::check_log_counts(&spec, &log, "/v2/").unwrap();
    assert!(
        report.checked > 20,
        "only {} requests were checked",
        report.checked
    );
    let problems: Vec<String> = report.violations.iter().map(|v| v.to_string()).collect();
    assert!(
        problems.is_empty(),
        "{} of {} requests break the spec:\n{}",
        problems.len(),
        report.checked,
        problems.join("\n")
    );
}

#[test]
fn manifests_removed_from_a_folder_are_pruned_and_a_stuck_rollout_names_itself() {
    let p = doks();
    emulated_ok(&p, &["--env", "stage", "apply", "--all", "--auto-approve"]);
    let namespaces = |p: &Project| -> Vec<String> {
        emulator_objects(p)
            .into_iter()
            .filter(|o| o["kind"] == "Namespace")
            .map(|o| o["name"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert!(namespaces(&p).contains(&"ingress-nginx".to_string()));

    // Drop the second document of the folder: its Namespace goes away on the next apply.
    let file = p.root.join("deploy/k8s/cluster/namespaces.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, &text[..text.find("---").unwrap()]).unwrap();
    let r = emulated_ok(&p, &["--env", "stage", "apply", "deploy", "--auto-approve"]);
    assert!(
        r.stdout
            .contains("deploy/kubernetes_manifests.cluster will be updated in-place"),
        "{r:?}"
    );
    assert!(!namespaces(&p).contains(&"ingress-nginx".to_string()));
    assert!(namespaces(&p).contains(&"monitoring".to_string()));

    // A Deployment that never becomes ready fails with its name; independent resources apply.
    let mut hcl = std::fs::read_to_string(p.root.join("deploy/main.hcl")).unwrap();
    hcl.push_str(
        r#"
resource "kubernetes_manifest" "stuck" {
  timeout_seconds = 2
  manifest = {
    apiVersion = "apps/v1"
    kind       = "Deployment"
    metadata   = { name = "stuck", namespace = local.namespace }
    spec = {
      replicas = 1
      selector = { matchLabels = { app = "stuck" } }
      template = {
        metadata = { labels = { app = "stuck" } }
        spec     = { containers = [{ name = "stuck", image = "registry.example.com/never-ready:1" }] }
      }
    }
  }
  depends_on = [kubernetes_manifest.namespace]
}

resource "kubernetes_manifest" "independent" {
  manifest = {
    apiVersion = "v1"
    kind       = "ConfigMap"
    metadata   = { name = "independent", namespace = local.namespace }
    data       = { ok = "yes" }
  }
  depends_on = [kubernetes_manifest.namespace]
}
"#,
    );
    std::fs::write(p.root.join("deploy/main.hcl"), hcl).unwrap();
    let r = emulated(&p, &["--env", "stage", "apply", "deploy", "--auto-approve"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout
            .contains("Deployment ecommerce-stage/stuck did not become ready"),
        "{r:?}"
    );
    assert!(
        r.stdout
            .contains("deploy/kubernetes_manifest.independent: Creation complete"),
        "{r:?}"
    );
}

#[test]
fn drift_reports_each_out_of_band_change_exactly_and_only_reads() {
    let p = doks();
    emulated_ok(&p, &["--env", "stage", "apply", "--all", "--auto-approve"]);
    let clean = emulated(&p, &["--env", "stage", "drift", "--all"]);
    assert_eq!(
        clean.code, 0,
        "right after apply there is no drift: {clean:?}"
    );
    // Nor anything unmanaged: the region's default VPC belongs to DigitalOcean.
    let clean = emulated(&p, &["--env", "stage", "drift", "--all", "--unmanaged"]);
    assert_eq!(clean.code, 0, "{clean:?}");

    p.ok(&[
        "emulator",
        "set",
        "ecommerce-stage/default",
        "max_nodes",
        "9",
    ]);
    let cluster_id = emulator_objects(&p)
        .into_iter()
        .find(|o| o["kind"] == "kubernetes_cluster")
        .map(|o| o["id"].as_str().unwrap().to_string())
        .unwrap();
    p.ok(&["emulator", "set", &cluster_id, "tags", r#"["edited"]"#]);
    p.ok(&["emulator", "delete", "ecommerce-stage-db"]);
    p.ok(&[
        "emulator",
        "set",
        "Deployment/ecommerce-stage/api-gateway",
        "spec.replicas",
        "7",
    ]);

    let log = p.root.join(".strata/emulator/requests.jsonl");
    let logged_before = std::fs::read_to_string(&log).unwrap().lines().count();
    let r = emulated(
        &p,
        &["--env", "stage", "drift", "--all", "--format", "json"],
    );
    assert_eq!(r.code, 2, "{r:?}");
    let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    let find = |kind: &str, address: &str, attribute: Option<&str>| {
        findings
            .iter()
            .find(|f| {
                f["kind"] == kind
                    && f["address"] == address
                    && attribute.is_none_or(|a| f["attribute"] == a)
            })
            .unwrap_or_else(|| {
                panic!("no {kind} finding for {address} {attribute:?} in {findings:#?}")
            })
    };
    let pool = find(
        "changed",
        "base/digitalocean_kubernetes_cluster.main",
        Some("node_pool[0].max_nodes"),
    );
    assert_eq!(
        (pool["state_value"].clone(), pool["cloud_value"].clone()),
        (serde_json::json!(5), serde_json::json!(9))
    );
    let tags = find(
        "changed",
        "base/digitalocean_kubernetes_cluster.main",
        Some("tags[0]"),
    );
    assert_eq!(tags["cloud_value"], "edited", "{tags}");
    find(
        "deleted",
        "database/digitalocean_database_cluster.shop",
        None,
    );
    let replicas = find(
        "changed",
        "deploy/kubernetes_manifest.deployment[\"api-gateway\"]",
        Some("manifest.spec.replicas"),
    );
    assert_eq!(
        (
            replicas["state_value"].clone(),
            replicas["cloud_value"].clone()
        ),
        (serde_json::json!(2), serde_json::json!(7))
    );
    assert!(
        findings.iter().all(|f| f["kind"] != "pending"),
        "nothing was edited in the configuration: {findings:#?}"
    );

    // Only reads reached the cloud during the check.
    let text = std::fs::read_to_string(&log).unwrap();
    let writes: Vec<&str> = text
        .lines()
        .skip(logged_before)
        .filter(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["method"] != "GET" && !v["path"].as_str().unwrap_or("").starts_with("/_emulator")
        })
        .collect();
    assert!(
        writes.is_empty(),
        "drift made write calls:\n{}",
        writes.join("\n")
    );

    // A configuration edit is pending, not drift.
    p.edit("strata.hcl", "replicas      = 1", "replicas      = 3");
    let r = emulated(
        &p,
        &["--env", "stage", "drift", "deploy", "--format", "json"],
    );
    let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let pending: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "pending")
        .collect();
    assert!(!pending.is_empty(), "{report:#}");

    // A VPC no state knows any more is unmanaged (and, still in the configuration, pending).
    p.ok(&[
        "--env",
        "stage",
        "state",
        "rm",
        "base/digitalocean_vpc.main",
    ]);
    let r = emulated(
        &p,
        &[
            "--env",
            "stage",
            "drift",
            "--all",
            "--unmanaged",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 2, "{r:?}");
    let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let unmanaged: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "unmanaged")
        .collect();
    assert_eq!(unmanaged.len(), 1, "{report:#}");
    assert_eq!(unmanaged[0]["cloud_value"]["type"], "digitalocean_vpc");
    assert_eq!(unmanaged[0]["cloud_value"]["name"], "ecommerce-stage");
    let text = emulated(&p, &["--env", "stage", "drift", "--all", "--unmanaged"]);
    assert!(text.stdout.contains("1 unmanaged"), "{text:?}");
}
