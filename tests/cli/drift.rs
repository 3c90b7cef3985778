//! `strata drift`: read-only, exact findings, every report format, shards.

use crate::support::Project;
use std::collections::BTreeSet;

fn set_cloud_field(p: &Project, name: &str, field: &str, value: serde_json::Value) {
    let (t, _, id) = p
        .inventory()
        .into_iter()
        .find(|(_, n, _)| n == name)
        .unwrap();
    let file = p.cloud.join(t).join(format!("{id}.json"));
    let mut obj: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    obj[field] = value;
    std::fs::write(file, obj.to_string()).unwrap();
}

/// Everything `state show` prints for every resource, and the history: a change to state shows.
fn state_dump(p: &Project) -> String {
    let mut out = String::new();
    for a in p.state_list() {
        out += &p.ok(&["state", "show", &a]).stdout;
    }
    for s in ["base", "database", "deploy"] {
        out += &p.ok(&["state", "history", s]).stdout;
    }
    out
}

#[test]
fn right_after_apply_there_is_no_drift() {
    let p = Project::new("three-stacks");
    p.ok(&["apply", "--all", "--auto-approve"]);
    let r = p.ok(&["drift", "--all"]);
    assert!(
        r.stdout
            .contains("Drift: 0 changed, 0 deleted, 0 pending, 0 stale dependents in 3 stacks."),
        "{r:?}"
    );
}

#[test]
fn out_of_band_changes_are_reported_exactly_and_pending_apart() {
    let p = Project::new("three-stacks");
    p.ok(&["apply", "--all", "--auto-approve"]);
    set_cloud_field(&p, "standalone", "size", serde_json::json!(7));
    set_cloud_field(
        &p,
        "app",
        "tags",
        serde_json::json!({"cluster": "elsewhere", "db": "x"}),
    );
    let (_, _, gone) = p
        .inventory()
        .into_iter()
        .find(|(_, n, _)| n == "worker-a")
        .unwrap();
    std::fs::remove_file(p.cloud.join("testing_thing").join(format!("{gone}.json"))).unwrap();
    p.edit("database/main.hcl", "size     = 32", "size     = 64");

    let before = state_dump(&p);
    let r = p.run(&["drift", "--all", "--format", "json"]);
    assert_eq!(r.code, 2, "{r:?}");
    let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(report["format_version"], "1.0");
    let findings = report["findings"].as_array().unwrap();
    let find = |kind: &str, address: &str, attr: Option<&str>| {
        findings.iter().find(|f| {
            f["kind"] == kind && f["address"] == address && attr.is_none_or(|a| f["attribute"] == a)
        })
    };
    let size =
        find("changed", "deploy/testing_thing.standalone", Some("size")).expect("size drift");
    assert_eq!(
        (size["state_value"].clone(), size["cloud_value"].clone()),
        (serde_json::json!(1), serde_json::json!(7))
    );
    let tag = find("changed", "deploy/testing_thing.app", Some("tags.cluster")).expect("tag drift");
    assert_eq!(tag["cloud_value"], "elsewhere");
    assert!(
        find("deleted", "deploy/testing_thing.worker[\"a\"]", None).is_some(),
        "{findings:#?}"
    );
    let pending = find("pending", "database/testing_thing.db", Some("size")).expect("pending");
    assert_eq!(
        (
            pending["state_value"].clone(),
            pending["config_value"].clone()
        ),
        (serde_json::json!(32), serde_json::json!(64))
    );
    // The config edit is pending, never reported as a cloud change.
    assert!(
        find("changed", "database/testing_thing.db", None).is_none(),
        "{findings:#?}"
    );
    assert!(find("changed", "deploy/testing_thing.app", Some("tags.db")).is_some());
    assert_eq!(findings.len(), 5, "{findings:#?}");

    // Read-only: state is exactly as it was.
    assert_eq!(state_dump(&p), before);
}

#[test]
fn a_drift_check_does_not_block_an_apply() {
    let mut p = Project::new("three-stacks");
    p.ok(&["apply", "--all", "--auto-approve"]);
    // Slow reads: the drift check spends seconds reading the cloud.
    p.env
        .insert("STRATA_TESTING_LATENCY_MS".into(), "700".into());
    let mut child = p
        .command(&["drift", "--all", "--parallelism", "1"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    p.env.remove("STRATA_TESTING_LATENCY_MS");
    let r = p.run(&["apply", "--all", "--auto-approve"]);
    assert_eq!(r.code, 0, "apply was blocked by a drift check: {r:?}");
    assert!(
        child.try_wait().unwrap().is_none(),
        "the drift check should still be reading"
    );
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn every_report_format_is_well_formed_and_masks_secrets() {
    let p = Project::new("three-stacks");
    p.ok(&["apply", "--all", "--auto-approve"]);
    // Drift a sensitive attribute: its values must not appear in any format.
    set_cloud_field(
        &p,
        "db-stage",
        "password",
        serde_json::json!("leaked-in-cloud"),
    );
    for format in ["text", "json", "markdown", "junit", "sarif"] {
        let file = p.root.join(format!("report.{format}"));
        let r = p.run(&[
            "drift",
            "--all",
            "--format",
            format,
            "--report",
            file.to_str().unwrap(),
        ]);
        assert_eq!(r.code, 2, "{format}: {r:?}");
        let body = std::fs::read_to_string(&file).unwrap();
        for secret in ["leaked-in-cloud", "hunter2-in-config"] {
            assert!(
                !body.contains(secret) && !r.stdout.contains(secret),
                "{format} leaks {secret}:\n{body}"
            );
        }
        assert!(
            body.contains("(sensitive)")
                || format == "junit"
                || format == "sarif"
                || format == "text",
            "{format}:\n{body}"
        );
        match format {
            "json" => {
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                assert_eq!(v["findings"][0]["attribute"], "password");
            }
            "sarif" => {
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                assert_eq!(v["version"], "2.1.0");
                assert_eq!(v["runs"][0]["results"][0]["ruleId"], "changed");
                let loc = &v["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
                assert_eq!(loc["artifactLocation"]["uri"], "database/main.hcl", "{v}");
            }
            "junit" => {
                assert!(body.starts_with("<?xml"), "{body}");
                assert!(
                    body.contains("<testsuite name=\"database\" tests=\"1\" failures=\"1\""),
                    "{body}"
                );
                assert!(
                    body.contains("<testcase classname=\"base\" name=\"no drift\"/>"),
                    "{body}"
                );
                assert_eq!(
                    body.matches("<testsuite ").count(),
                    body.matches("</testsuite>").count()
                );
            }
            _ => {}
        }
    }
}

#[test]
fn shards_cover_every_stack_exactly_once() {
    let p = Project::new("three-stacks");
    for n in 1..=4 {
        let mut seen: Vec<String> = Vec::new();
        for i in 1..=n {
            // Nothing is applied yet: every resource is pending, so each shard exits 2 or 0.
            let r = p.run(&["drift", "--shard", &format!("{i}/{n}"), "--format", "json"]);
            assert!(r.code == 2 || r.code == 0, "{r:?}");
            let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
            seen.extend(
                v["stacks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap().to_string()),
            );
        }
        let unique: BTreeSet<&String> = seen.iter().collect();
        assert_eq!(seen.len(), 3, "N={n}: {seen:?}");
        assert_eq!(unique.len(), 3, "N={n}: {seen:?}");
    }
    let r = p.run(&["drift", "--shard", "5/4"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("I/N"), "{r:?}");
}

#[test]
fn an_ignore_rule_silences_its_attribute_until_it_expires() {
    let p = Project::new("three-stacks");
    p.ok(&["apply", "--all", "--auto-approve"]);
    set_cloud_field(&p, "standalone", "size", serde_json::json!(7));
    let with_rule = |until: &str| {
        let hcl =
            std::fs::read_to_string(crate::support::fixture("three-stacks").join("strata.hcl"))
                .unwrap();
        p.write(
            "strata.hcl",
            &format!(
                "{hcl}\ndrift {{\n  ignore {{\n    address   = \"deploy/testing_thing.standalone\"\n    attribute = \"size\"\n    until     = \"{until}\"\n    reason    = \"scaled by hand during the sale\"\n  }}\n}}\n"
            ),
        );
    };
    with_rule("2999-12-31");
    let r = p.ok(&["drift", "--all"]);
    assert!(r.stdout.contains("silenced by ignore rules"), "{r:?}");
    assert!(
        r.stdout
            .contains("ignored until 2999-12-31: scaled by hand during the sale"),
        "{r:?}"
    );

    with_rule("2020-01-31");
    let r = p.run(&["drift", "--all", "--format", "json"]);
    assert_eq!(r.code, 2, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let f = &v["findings"][0];
    assert_eq!(f["attribute"], "size");
    assert!(
        f["note"]
            .as_str()
            .unwrap()
            .contains("expired on 2020-01-31"),
        "{f}"
    );

    // A bad date is a configuration error naming the place.
    with_rule("next week");
    let r = p.run(&["validate"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("Invalid date \"next week\"") && r.stderr.contains("strata.hcl:"),
        "{r:?}"
    );
}

#[test]
fn the_json_report_validates_against_its_documented_schema() {
    let schema_file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/drift-report.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_file).unwrap()).unwrap();
    let validator =
        jsonschema::validator_for(&schema).expect("the documented schema is a valid JSON Schema");

    let p = Project::new("three-stacks");
    p.ok(&["apply", "--all", "--auto-approve"]);
    set_cloud_field(&p, "standalone", "size", serde_json::json!(7));
    set_cloud_field(&p, "db-stage", "password", serde_json::json!("changed"));
    p.edit("deploy/main.hcl", "size = 2", "size = 3");
    let r = p.run(&["drift", "--all", "--format", "json"]);
    assert_eq!(r.code, 2, "{r:?}");
    let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "the report breaks its schema:\n{}\n{report:#}",
        errors.join("\n")
    );
    assert!(
        report["findings"].as_array().unwrap().len() >= 3,
        "{report:#}"
    );

    // The schema is strict enough to catch a report that drifts from it.
    let mut broken = report.clone();
    broken["findings"][0]["kind"] = serde_json::json!("modified");
    assert!(!validator.is_valid(&broken));
}

/// The official SARIF 2.1.0 JSON Schema, as the `serde-sarif` crate (a dev-dependency) ships it.
fn sarif_schema() -> serde_json::Value {
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cargo")))
        .expect("CARGO_HOME or HOME");
    let registry = home.join("registry").join("src");
    let file = std::fs::read_dir(&registry)
        .unwrap_or_else(|e| panic!("reading {}: {e}", registry.display()))
        .flatten()
        .map(|index| index.path().join("serde-sarif-0.8.0/src/schema.json"))
        .find(|f| f.is_file())
        .expect("the serde-sarif 0.8.0 sources, fetched by cargo as a dev-dependency");
    serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
}

/// The JUnit XML schema most CI servers read (Jenkins' junit-10.xsd), placed by
/// `scripts/test-deps.sh` (or named by `STRATA_JUNIT_XSD`).
fn junit_xsd() -> std::path::PathBuf {
    let path = std::env::var_os("STRATA_JUNIT_XSD")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/test-schemas/junit-10.xsd")
        });
    assert!(
        path.is_file(),
        "{} is missing: run scripts/test-deps.sh once (it fetches the JUnit schema)",
        path.display()
    );
    path
}

#[test]
fn junit_and_sarif_reports_validate_against_their_official_schemas() {
    let p = Project::new("three-stacks");
    p.ok(&["apply", "--all", "--auto-approve"]);
    set_cloud_field(&p, "standalone", "size", serde_json::json!(7));
    set_cloud_field(&p, "db-stage", "password", serde_json::json!("changed"));
    p.edit("deploy/main.hcl", "size = 2", "size = 3");

    let sarif_file = p.root.join("drift.sarif");
    let r = p.run(&[
        "drift",
        "--all",
        "--format",
        "sarif",
        "--report",
        sarif_file.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{r:?}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif_file).unwrap()).unwrap();
    // The published schema's `language` patterns (of `run` and `toolComponent`) have a stray `]`
    // that strict validators refuse as a regex; the intended pattern (a language tag like `en`
    // or `en-US`) replaces it. Reports never set `language`, so this changes nothing checked.
    let mut schema = sarif_schema();
    for owner in ["run", "toolComponent"] {
        let language = &mut schema["definitions"][owner]["properties"]["language"]["pattern"];
        assert_eq!(language, "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$");
        *language = serde_json::json!("^[a-zA-Z]{2}(-[a-zA-Z]{2})?$");
    }
    let validator = jsonschema::validator_for(&schema).expect("the SARIF schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF 2.1.0 violations:\n{}\n{report:#}",
        errors.join("\n")
    );
    assert!(report["runs"][0]["results"].as_array().unwrap().len() >= 3);
    let mut broken = report.clone();
    broken["runs"][0]["results"][0]["level"] = serde_json::json!("fatal");
    assert!(
        !validator.is_valid(&broken),
        "the check catches a bad level"
    );

    let junit_file = p.root.join("drift.xml");
    let r = p.run(&[
        "drift",
        "--all",
        "--format",
        "junit",
        "--report",
        junit_file.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{r:?}");
    let validate = |xml: &std::path::Path| {
        std::process::Command::new("python3")
            .args([
                "-c",
                "import sys, xmlschema; xmlschema.XMLSchema(sys.argv[1]).validate(sys.argv[2])",
            ])
            .arg(junit_xsd())
            .arg(xml)
            .output()
            .expect("python3 runs")
    };
    let out = validate(&junit_file);
    assert!(
        out.status.success(),
        "the JUnit report breaks junit-10.xsd (needs: pip install xmlschema):\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(&junit_file).unwrap()
    );
    let bad = p.root.join("bad.xml");
    std::fs::write(
        &bad,
        std::fs::read_to_string(&junit_file).unwrap().replacen(
            "<testcase ",
            "<testcase bogus=\"1\" ",
            1,
        ),
    )
    .unwrap();
    assert!(
        !validate(&bad).status.success(),
        "the check catches a bad report"
    );
}
