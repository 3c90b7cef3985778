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
