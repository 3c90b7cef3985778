mod common;

use common::{change, cluster_prior, plan, stack};
use strata_core::{Path, Value};
use strata_plan::{Action, OutputChange, Plan, PlanFileError};

const SECRET: &str = "s3cr3t-value-that-must-never-be-written";

fn sample() -> Plan {
    let before = cluster_prior();
    let mut after = before.clone();
    after.set_path(&Path::parse("size").unwrap(), Value::from(5i64));
    after.set_path(
        &Path::parse("password").unwrap(),
        Value::from(SECRET).sensitive(),
    );
    let mut update = change(
        "base",
        "testing_cluster",
        "main",
        Action::Update,
        Some(before),
        Some(after),
    );
    update.reason = Some("tainted".into());
    let create = change(
        "base",
        "testing_thing",
        "a",
        Action::Create,
        None,
        Some(Value::map([
            ("id", Value::Unknown),
            ("name", Value::from("a")),
        ])),
    );
    let mut replace = change(
        "deploy",
        "testing_thing",
        "x",
        Action::Replace,
        Some(Value::map([
            ("id", Value::from("x1")),
            ("zone", Value::from("a")),
        ])),
        Some(Value::map([
            ("id", Value::Unknown),
            ("zone", Value::from("b")),
        ])),
    );
    replace.replace_because = vec![Path::parse("zone").unwrap()];
    replace.create_before_destroy = true;
    let outputs = vec![
        OutputChange {
            name: "kubeconfig".into(),
            before: None,
            // Marked only by the output's `sensitive = true`, not by the value.
            after: Some(Value::from(format!("token: {SECRET}"))),
            sensitive: true,
        },
        OutputChange {
            name: "endpoint".into(),
            before: Some(Value::from("https://old")),
            after: Some(Value::Unknown),
            sensitive: false,
        },
    ];
    plan(vec![
        stack("base", vec![update, create], outputs),
        stack("deploy", vec![replace], vec![]),
    ])
}

/// The plan as it comes back from a file: sensitive values redacted to a marked null.
fn redacted(mut plan: Plan) -> Plan {
    for s in &mut plan.stacks {
        for c in &mut s.changes {
            for v in [&mut c.before, &mut c.after].into_iter().flatten() {
                *v = Value::from_marked_json(&v.to_marked_json(true));
            }
        }
        for o in s.outputs.iter_mut().filter(|o| o.sensitive) {
            for v in [&mut o.before, &mut o.after].into_iter().flatten() {
                *v = Value::Null.sensitive();
            }
        }
    }
    plan
}

#[test]
fn round_trip_keeps_everything_but_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.strata");
    let plan = sample();
    plan.write_file(&file, None).unwrap();
    let back = Plan::read_file(&file, None).unwrap();
    assert_eq!(back, redacted(plan.clone()));
    // Unknowns and sensitive marks survive; the secret itself does not.
    let c = &back.stacks[0].changes[0];
    let password = c.after.as_ref().unwrap().get("password").unwrap();
    assert!(password.is_sensitive());
    assert_eq!(password.unwrap_sensitive(), &Value::Null);
    assert!(back.stacks[0].changes[1]
        .after
        .as_ref()
        .unwrap()
        .get("id")
        .unwrap()
        .is_unknown());
    assert_eq!(
        back.stacks[1].changes[0].replace_because,
        vec![Path::parse("zone").unwrap()]
    );
    assert!(back.stacks[1].changes[0].create_before_destroy);
    // The fingerprint is computed on redacted values, so it survives the round trip.
    assert_eq!(back.fingerprint(), plan.fingerprint());
}

#[test]
fn an_encrypted_plan_file_needs_its_passphrase() {
    use strata_encryption::Sealer;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.strata");
    let plan = sample();
    let sealer = Sealer::new("plan passphrase").unwrap();
    plan.write_file(&file, Some(&sealer)).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    assert!(strata_encryption::is_sealed(&bytes));
    assert!(!String::from_utf8_lossy(&bytes).contains("zone"));
    let back = Plan::read_file(&file, Some(&Sealer::new("plan passphrase").unwrap())).unwrap();
    assert_eq!(back.fingerprint(), plan.fingerprint());
    for (what, sealer) in [
        ("none", None),
        ("wrong", Some(Sealer::new("another").unwrap())),
    ] {
        match Plan::read_file(&file, sealer.as_ref()) {
            Err(e @ PlanFileError::Encrypted { .. }) => {
                assert!(e.to_string().contains("plan.strata"), "{what}: {e}")
            }
            other => panic!("{what} passphrase must be refused clearly, got {other:?}"),
        }
    }
}

#[test]
fn a_plan_file_never_contains_a_sensitive_value() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.strata");
    sample().write_file(&file, None).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        !text.contains(SECRET),
        "secret leaked into the plan file:\n{text}"
    );
    assert!(
        !text.contains("secret-kubeconfig"),
        "schema-sensitive value leaked:\n{text}"
    );
    assert!(text.contains("\"kind\": \"strata-plan\""));
}

#[test]
fn fingerprint_changes_with_actions_and_values() {
    let plan = sample();
    let mut other = plan.clone();
    other.stacks[0].changes[1].action = Action::NoOp;
    assert_ne!(plan.fingerprint(), other.fingerprint());
    let mut other = plan.clone();
    other.stacks[0].changes[1].after = Some(Value::map([
        ("id", Value::Unknown),
        ("name", Value::from("b")),
    ]));
    assert_ne!(plan.fingerprint(), other.fingerprint());
    // Creation time and versions are not what the plan does.
    let mut other = plan.clone();
    other.created_at = "2030-01-01T00:00:00Z".into();
    assert_eq!(plan.fingerprint(), other.fingerprint());
}

fn read_bytes(bytes: &[u8]) -> (std::path::PathBuf, PlanFileError) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.plan");
    std::fs::write(&file, bytes).unwrap();
    let err = Plan::read_file(&file, None).expect_err("bad plan file must be refused");
    (file, err)
}

fn assert_names_file(file: &std::path::Path, err: &PlanFileError) {
    let msg = err.to_string();
    assert!(msg.contains(&file.display().to_string()), "{msg}");
}

#[test]
fn a_file_that_is_not_json_is_refused() {
    let (file, err) = read_bytes(b"resource \"x\" \"y\" {}\n");
    assert!(matches!(err, PlanFileError::NotAPlan { .. }), "{err:?}");
    assert!(err.to_string().contains("not JSON"), "{err}");
    assert_names_file(&file, &err);

    let (_, err) = read_bytes(b"");
    assert!(err.to_string().contains("empty"), "{err}");
    let (_, err) = read_bytes(&[0xff, 0xfe, 0x00]);
    assert!(matches!(err, PlanFileError::NotAPlan { .. }), "{err:?}");
}

#[test]
fn a_json_file_that_is_not_a_plan_is_refused() {
    let (file, err) = read_bytes(br#"{"serial": 3, "lineage": "x"}"#);
    assert!(matches!(err, PlanFileError::NotAPlan { .. }), "{err:?}");
    assert!(err.to_string().contains("\"kind\""), "{err}");
    assert_names_file(&file, &err);

    let (_, err) = read_bytes(br#"{"kind": "strata-state"}"#);
    assert!(err.to_string().contains("strata-state"), "{err}");
    let (_, err) = read_bytes(b"[1, 2]");
    assert!(matches!(err, PlanFileError::NotAPlan { .. }), "{err:?}");
}

#[test]
fn a_truncated_file_is_refused() {
    let bytes = sample().to_file_bytes();
    let (file, err) = read_bytes(&bytes[..bytes.len() / 2]);
    assert!(matches!(err, PlanFileError::Truncated { .. }), "{err:?}");
    assert!(err.to_string().contains("truncated"), "{err}");
    assert_names_file(&file, &err);
}

#[test]
fn a_newer_format_version_is_refused() {
    let mut json: serde_json::Value = serde_json::from_slice(&sample().to_file_bytes()).unwrap();
    json["format_version"] = serde_json::json!(99);
    let (file, err) = read_bytes(&serde_json::to_vec(&json).unwrap());
    assert!(
        matches!(err, PlanFileError::NewerVersion { found: 99, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("newer"), "{err}");
    assert_names_file(&file, &err);
}

#[test]
fn a_damaged_plan_is_refused_with_what_is_wrong() {
    let mut json: serde_json::Value = serde_json::from_slice(&sample().to_file_bytes()).unwrap();
    json["stacks"][0]["changes"][0]["action"] = serde_json::json!("explode");
    let (file, err) = read_bytes(&serde_json::to_vec(&json).unwrap());
    assert!(matches!(err, PlanFileError::Damaged { .. }), "{err:?}");
    assert!(err.to_string().contains("explode"), "{err}");
    assert_names_file(&file, &err);

    let mut json: serde_json::Value = serde_json::from_slice(&sample().to_file_bytes()).unwrap();
    json.as_object_mut().unwrap().remove("project");
    let (_, err) = read_bytes(&serde_json::to_vec(&json).unwrap());
    assert!(err.to_string().contains("project"), "{err}");
}

#[test]
fn a_missing_file_is_a_read_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nope.plan");
    let err = Plan::read_file(&file, None).unwrap_err();
    assert!(matches!(err, PlanFileError::Read { .. }), "{err:?}");
    assert_names_file(&file, &err);
}

#[test]
fn summary_counts_replace_as_add_and_destroy() {
    let s = sample().summary();
    assert_eq!((s.add, s.change, s.destroy), (2, 1, 1));
    assert!(sample().has_changes());
    let mut only_outputs = sample();
    for st in &mut only_outputs.stacks {
        st.changes.clear();
    }
    assert!(only_outputs.has_changes(), "output changes are changes");
    for st in &mut only_outputs.stacks {
        st.outputs.retain(|o| o.name == "endpoint");
        for o in &mut st.outputs {
            o.after = Some(Value::from("https://old").sensitive());
        }
    }
    assert!(
        !only_outputs.has_changes(),
        "same output value is no change"
    );
}
