//! The EKS platform example end to end under `--emulate`: the aws provider (the official AWS
//! SDK for Rust) and the Kubernetes provider against the emulator over real HTTP.

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
fn eks() -> Project {
    let mut p = Project::from_dir(&crate::support::example("eks-platform"));
    p.env
        .insert("STRATA_EMULATOR_PROVISION_MS".into(), "300".into());
    p.env.insert("STRATA_AWS_POLL_MS".into(), "50".into());
    p
}

fn emulator_objects(p: &Project) -> Vec<serde_json::Value> {
    let r = p.ok(&["emulator", "list", "--json"]);
    serde_json::from_str(&r.stdout).unwrap()
}

fn named(objects: &[serde_json::Value], kind: &str) -> Vec<String> {
    let mut names: Vec<String> = objects
        .iter()
        .filter(|o| o["kind"] == kind)
        .map(|o| o["name"].as_str().unwrap_or_default().to_string())
        .collect();
    names.sort();
    names
}

fn the_one<'a>(objects: &'a [serde_json::Value], kind: &str, name: &str) -> &'a serde_json::Value {
    let found: Vec<&serde_json::Value> = objects
        .iter()
        .filter(|o| o["kind"] == kind && o["name"] == name)
        .collect();
    assert_eq!(found.len(), 1, "{kind} {name}: {objects:#?}");
    found[0]
}

/// The AWS objects of a converged stage platform: one of each, nothing twice.
fn assert_one_platform(objects: &[serde_json::Value]) {
    assert_eq!(
        named(objects, "eks_cluster"),
        ["dtwin-stage"],
        "{objects:#?}"
    );
    assert_eq!(
        named(objects, "eks_node_group"),
        ["system", "workflows"],
        "{objects:#?}"
    );
    assert_eq!(
        named(objects, "db_instance"),
        ["dtwin-stage-metadata"],
        "{objects:#?}"
    );
}

#[test]
fn a_full_run_converges_destroys_cleanly_and_every_request_matches_the_botocore_models() {
    let p = eks();
    let plan = emulated(
        &p,
        &["--env", "stage", "plan", "--all", "--detailed-exitcode"],
    );
    assert_eq!(plan.code, 2, "{plan:?}");
    assert!(
        plan.stdout
            .contains("base/aws_eks_cluster.main will be created"),
        "{plan:?}"
    );

    emulated_ok(&p, &["--env", "stage", "apply", "--all", "--auto-approve"]);
    let again = emulated(
        &p,
        &["--env", "stage", "plan", "--all", "--detailed-exitcode"],
    );
    assert_eq!(again.code, 0, "not converged:\n{again:?}");

    let objects = emulator_objects(&p);
    assert_one_platform(&objects);
    let cluster = the_one(&objects, "eks_cluster", "dtwin-stage");
    assert_eq!(cluster["fields"]["status"], "ACTIVE");
    assert_eq!(cluster["fields"]["version"], "1.31");
    let workflows = the_one(&objects, "eks_node_group", "workflows");
    assert_eq!(workflows["fields"]["scaling_config"]["desired_size"], 1);
    assert_eq!(
        the_one(&objects, "db_instance", "dtwin-stage-metadata")["fields"]["status"],
        "available"
    );
    // The deploy stack reached the cluster the base stack made, with an EKS token.
    let namespaces = named(&objects, "Namespace");
    for ns in [
        "dtwin-platform",
        "dtwin-workflows",
        "dtwin-storage",
        "dtwin-data",
        "dtwin-infra",
    ] {
        assert!(namespaces.contains(&ns.to_string()), "{namespaces:?}");
    }
    assert_eq!(named(&objects, "StatefulSet"), ["minio"]);
    assert_eq!(named(&objects, "Ingress"), ["dtwin", "dtwin"]);
    let secrets = named(&objects, "Secret");
    for s in ["db-credentials", "minio-credentials", "oidc-client"] {
        assert!(secrets.contains(&s.to_string()), "{secrets:?}");
    }

    emulated_ok(
        &p,
        &["--env", "stage", "destroy", "--all", "--auto-approve"],
    );
    let objects = emulator_objects(&p);
    for kind in ["eks_cluster", "eks_node_group", "db_instance"] {
        assert!(
            named(&objects, kind).is_empty(),
            "{kind} left: {objects:#?}"
        );
    }
    assert!(p.state_list_env("stage").is_empty());

    // Every request of the run, checked against the official models.
    let log = p.root.join(".strata/emulator/requests.jsonl");
    for (model, prefix, at_least) in [
        ("aws/eks-2017-11-01.service-2.json", "/aws/eks", 10),
        ("aws/rds-2014-10-31.service-2.json", "/aws/rds", 4),
    ] {
        let file = strata_speccheck::find_spec(model)
            .expect("the botocore models in shared/specs (or STRATA_SPECS_DIR)");
        let model = strata_speccheck::botocore::ServiceModel::load(&file).unwrap();
        let report = model.check_log(&log, prefix).unwrap();
        assert!(
            report.checked >= at_least,
            "only {} requests under {prefix} were checked",
            report.checked
        );
        let problems: Vec<String> = report.violations.iter().map(|v| v.to_string()).collect();
        assert!(
            problems.is_empty(),
            "{} of {} requests break {}:\n{}",
            problems.len(),
            report.checked,
            file.display(),
            problems.join("\n")
        );
    }
}

#[test]
fn versions_upgrade_and_node_groups_scale_in_place_while_new_subnets_replace() {
    let p = eks();
    emulated_ok(&p, &["--env", "stage", "apply", "base", "--auto-approve"]);
    p.edit(
        "strata.hcl",
        "kubernetes_version  = \"1.31\"",
        "kubernetes_version  = \"1.32\"",
    );
    p.edit(
        "strata.hcl",
        "workflow_nodes      = 1",
        "workflow_nodes      = 3",
    );
    let r = emulated(
        &p,
        &["--env", "stage", "plan", "base", "--detailed-exitcode"],
    );
    assert_eq!(r.code, 2, "{r:?}");
    for updated in [
        "base/aws_eks_cluster.main will be updated in-place",
        "base/aws_eks_node_group.workflows will be updated in-place",
        "base/aws_eks_node_group.system will be updated in-place",
    ] {
        assert!(r.stdout.contains(updated), "{updated}: {r:?}");
    }
    assert!(!r.stdout.contains("must be replaced"), "{r:?}");
    emulated_ok(&p, &["--env", "stage", "apply", "base", "--auto-approve"]);

    let objects = emulator_objects(&p);
    assert_one_platform_base(&objects);
    assert_eq!(
        the_one(&objects, "eks_cluster", "dtwin-stage")["fields"]["version"],
        "1.32"
    );
    let workflows = the_one(&objects, "eks_node_group", "workflows");
    assert_eq!(workflows["fields"]["scaling_config"]["desired_size"], 3);
    assert_eq!(workflows["fields"]["version"], "1.32");
    let r = emulated(
        &p,
        &["--env", "stage", "plan", "base", "--detailed-exitcode"],
    );
    assert_eq!(r.code, 0, "not converged after the upgrade:\n{r:?}");

    p.edit(
        "base/main.hcl",
        "\"subnet-0a1b2c3d4e5f60003\"]",
        "\"subnet-0a1b2c3d4e5f60004\"]",
    );
    let r = emulated(&p, &["--env", "stage", "plan", "base"]);
    assert!(
        r.stdout
            .contains("base/aws_eks_cluster.main must be replaced"),
        "{r:?}"
    );
    let forces: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.contains("forces replacement"))
        .collect();
    assert!(forces.iter().any(|l| l.contains("subnet")), "{r:?}");
}

fn assert_one_platform_base(objects: &[serde_json::Value]) {
    assert_eq!(
        named(objects, "eks_cluster"),
        ["dtwin-stage"],
        "{objects:#?}"
    );
    assert_eq!(
        named(objects, "eks_node_group"),
        ["system", "workflows"],
        "{objects:#?}"
    );
}

#[test]
fn server_errors_and_throttling_neither_fail_nor_duplicate_anything() {
    let mut p = eks();
    p.env
        .insert("STRATA_EMULATOR_ERROR_RATE".into(), "0.2".into());
    p.env
        .insert("STRATA_EMULATOR_THROTTLE_RATE".into(), "0.2".into());
    // The stacks on AWS; the Kubernetes provider's own retries are tested with its example.
    emulated_ok(
        &p,
        &[
            "--env",
            "stage",
            "apply",
            "base",
            "database",
            "--auto-approve",
        ],
    );
    assert_one_platform(&emulator_objects(&p));
    let again = emulated(
        &p,
        &[
            "--env",
            "stage",
            "plan",
            "base",
            "database",
            "--detailed-exitcode",
        ],
    );
    assert_eq!(again.code, 0, "not converged:\n{again:?}");
    emulated_ok(
        &p,
        &[
            "--env",
            "stage",
            "destroy",
            "base",
            "database",
            "--auto-approve",
        ],
    );
    let objects = emulator_objects(&p);
    for kind in ["eks_cluster", "eks_node_group", "db_instance"] {
        assert!(
            named(&objects, kind).is_empty(),
            "{kind} left: {objects:#?}"
        );
    }
}

/// Every file under `dir`, recursively, except the emulated cloud.
fn state_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.file_name().is_some_and(|n| n == "emulator") {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            state_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn credentials_and_tokens_stay_out_of_output_and_state_and_a_missing_credential_says_where_it_looked(
) {
    // Without credentials, the error names the chain's sources.
    let p = eks();
    let mut c = p.command(&["--env", "stage", "plan", "base"]);
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ] {
        c.env_remove(var);
    }
    let nowhere = p.root.join("no-such-aws-folder");
    c.env("AWS_SHARED_CREDENTIALS_FILE", nowhere.join("credentials"))
        .env("AWS_CONFIG_FILE", nowhere.join("config"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1");
    let out = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for place in [
        "AWS_ACCESS_KEY_ID",
        "~/.aws/credentials",
        "AWS_PROFILE",
        "metadata",
    ] {
        assert!(stderr.contains(place), "{place} not named:\n{stderr}");
    }

    // With credentials (the emulator's) and state encryption on, nothing secret leaks.
    let mut p = eks();
    let mut hcl = std::fs::read_to_string(p.root.join("strata.hcl")).unwrap();
    hcl.push_str("\nencryption {\n  passphrase_env = \"STRATA_PASSPHRASE\"\n}\n");
    p.write("strata.hcl", &hcl);
    p.env.insert(
        "STRATA_PASSPHRASE".into(),
        "correct horse battery staple".into(),
    );
    let mut transcript = String::new();
    transcript += &emulated_ok(
        &p,
        &["-vv", "--env", "stage", "apply", "--all", "--auto-approve"],
    )
    .all();
    transcript += &emulated_ok(&p, &["-vv", "--env", "stage", "plan", "--all"]).all();
    transcript += &emulated_ok(&p, &["--env", "stage", "output", "base"]).all();
    transcript += &emulated_ok(&p, &["--env", "stage", "output", "database", "--json"]).all();
    let kubeconfig = emulated_ok(
        &p,
        &["--env", "stage", "output", "base", "kubeconfig", "--raw"],
    )
    .stdout;
    let token = kubeconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix("token: "))
        .expect("the kubeconfig has a token")
        .trim_matches(|c| c == '\'' || c == '"')
        .to_string();
    assert!(token.starts_with("k8s-aws-v1."), "{token}");
    let secrets = [
        token.as_str(),
        strata_provider_aws::EMULATOR_SECRET_ACCESS_KEY,
        "emulated-only-password",
        "emulated-only-minio-secret",
    ];
    for s in secrets {
        assert!(!transcript.contains(s), "output leaks {s:?}:\n{transcript}");
    }
    let mut files = Vec::new();
    state_files(&p.root.join(".strata"), &mut files);
    assert!(!files.is_empty());
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for s in secrets
            .iter()
            .chain([&strata_provider_aws::EMULATOR_ACCESS_KEY_ID])
        {
            assert!(!text.contains(s), "{} holds {s:?}", file.display());
        }
    }
}

#[test]
fn an_out_of_band_scale_is_drift_and_a_fresh_apply_is_none() {
    let p = eks();
    emulated_ok(&p, &["--env", "stage", "apply", "--all", "--auto-approve"]);
    let r = emulated(&p, &["--env", "stage", "drift", "--all"]);
    assert_eq!(r.code, 0, "drift right after apply:\n{r:?}");

    p.ok(&[
        "emulator",
        "set",
        "dtwin-stage/workflows",
        "scaling_config.desired_size",
        "3",
    ]);
    let r = emulated(&p, &["--env", "stage", "drift", "--all"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stdout.contains("aws_eks_node_group.workflows") && r.stdout.contains("desired_size"),
        "{r:?}"
    );
}
