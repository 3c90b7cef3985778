//! propose → classify, as the engine runs them per resource instance.
mod common;

use common::{change, cluster_config, cluster_prior, cluster_schema};
use strata_core::{Address, Path, Value};
use strata_plan::{
    check_prevent_destroy, classify, normalize, propose, Action, Classified, IgnoreChanges,
    Lifecycle,
};

fn p(s: &str) -> Path {
    Path::parse(s).unwrap()
}

fn with(mut v: Value, path: &str, new: Value) -> Value {
    assert!(v.set_path(&p(path), new), "{path}");
    v
}

/// Normalizes `config`, proposes against `prior` and classifies, with no provider refinement.
fn plan_of(prior: Option<&Value>, config: &Value, lifecycle: &Lifecycle) -> Classified {
    let schema = cluster_schema();
    let normalized = normalize(&schema, config).expect("valid configuration");
    let proposed = propose(&schema, prior, &normalized, &lifecycle.ignore_changes);
    classify(&schema, prior, &proposed, &[], lifecycle)
}

fn paths(ps: &[Path]) -> Vec<String> {
    ps.iter().map(Path::to_string).collect()
}

#[test]
fn create_has_computed_attributes_unknown() {
    let c = plan_of(None, &cluster_config(), &Lifecycle::default());
    assert_eq!(c.action, Action::Create);
    for name in ["id", "endpoint", "kubeconfig", "version"] {
        assert!(
            c.planned.get(name).unwrap().is_unknown(),
            "{name} should be unknown"
        );
    }
    assert_eq!(c.planned.get("name"), Some(Value::from("shop")));
    assert!(c.replace_because.is_empty());
    assert!(paths(&c.changed).contains(&"node_pool[0].size".to_string()));
}

#[test]
fn id_is_computed_even_when_the_schema_does_not_declare_it() {
    let schema = strata_core::schema::BlockSchema::default().attr(
        "name",
        strata_core::schema::Attribute::required(strata_core::schema::Type::String),
    );
    let config = Value::map([("name", Value::from("a"))]);
    assert!(propose(&schema, None, &config, &IgnoreChanges::None)
        .get("id")
        .unwrap()
        .is_unknown());
    let prior = Value::map([("id", Value::from("i-1")), ("name", Value::from("a"))]);
    let proposed = propose(&schema, Some(&prior), &config, &IgnoreChanges::None);
    assert_eq!(proposed.get("id"), Some(Value::from("i-1")));
    let c = classify(&schema, Some(&prior), &proposed, &[], &Lifecycle::default());
    assert_eq!(c.action, Action::NoOp);
}

#[test]
fn update_keeps_prior_computed_values() {
    let prior = cluster_prior();
    let config = with(cluster_config(), "size", Value::from(5i64));
    let c = plan_of(Some(&prior), &config, &Lifecycle::default());
    assert_eq!(c.action, Action::Update);
    assert_eq!(paths(&c.changed), vec!["size"]);
    assert_eq!(c.planned.get("id"), Some(Value::from("abc")));
    assert_eq!(
        c.planned.get("endpoint"),
        Some(Value::from("https://abc.k8s.example"))
    );
    // Optional-computed left unset keeps what the provider chose.
    assert_eq!(c.planned.get("version"), Some(Value::from("1.31.1")));
    assert!(c.planned.get("kubeconfig").unwrap().is_sensitive());
}

#[test]
fn unchanged_configuration_is_a_no_op_despite_number_forms_and_sensitive_marks() {
    // State came back through JSON: 3.0 for 3, and without the sensitive mark.
    let mut prior = with(cluster_prior(), "size", Value::Number(3.0));
    prior = with(
        prior,
        "kubeconfig",
        Value::from("apiVersion: v1 # secret-kubeconfig"),
    );
    prior = with(prior, "password", Value::from("hunter2"));
    let config = with(
        cluster_config(),
        "password",
        Value::from("hunter2").sensitive(),
    );
    let c = plan_of(Some(&prior), &config, &Lifecycle::default());
    assert_eq!(c.action, Action::NoOp, "changed: {:?}", paths(&c.changed));
    assert!(c.changed.is_empty());
}

#[test]
fn prior_values_are_compared_after_type_conversion() {
    // A number attribute stored as a string by an older provider is not a change.
    let prior = with(cluster_prior(), "size", Value::from("3"));
    let c = plan_of(Some(&prior), &cluster_config(), &Lifecycle::default());
    assert_eq!(c.action, Action::NoOp, "changed: {:?}", paths(&c.changed));
}

#[test]
fn changing_a_sensitive_value_is_an_update() {
    let prior = with(cluster_prior(), "password", Value::from("old").sensitive());
    let config = with(cluster_config(), "password", Value::from("new"));
    let c = plan_of(Some(&prior), &config, &Lifecycle::default());
    assert_eq!(c.action, Action::Update);
    assert_eq!(paths(&c.changed), vec!["password"]);
}

#[test]
fn force_new_attribute_replaces_and_is_named() {
    let prior = cluster_prior();
    let config = with(cluster_config(), "region", Value::from("ams3"));
    let c = plan_of(Some(&prior), &config, &Lifecycle::default());
    assert_eq!(c.action, Action::Replace);
    assert_eq!(paths(&c.replace_because), vec!["region"]);
    // The new object gets new computed values.
    for name in ["id", "endpoint", "kubeconfig"] {
        assert!(c.planned.get(name).unwrap().is_unknown(), "{name}");
    }
    assert_eq!(c.planned.get("region"), Some(Value::from("ams3")));
}

#[test]
fn force_new_attribute_of_a_nested_block_replaces() {
    let prior = cluster_prior();
    let config = with(
        cluster_config(),
        "node_pool[0].size",
        Value::from("s-4vcpu-8gb"),
    );
    let c = plan_of(Some(&prior), &config, &Lifecycle::default());
    assert_eq!(c.action, Action::Replace);
    assert_eq!(paths(&c.replace_because), vec!["node_pool[0].size"]);

    // Scaling bounds are not force-new: an update in place.
    let config = with(
        cluster_config(),
        "node_pool[0].max_nodes",
        Value::from(10i64),
    );
    let c = plan_of(Some(&prior), &config, &Lifecycle::default());
    assert_eq!(c.action, Action::Update);
    assert_eq!(paths(&c.changed), vec!["node_pool[0].max_nodes"]);
}

#[test]
fn adding_a_force_new_block_replaces() {
    let mut schema = cluster_schema();
    schema.blocks.get_mut("maintenance").unwrap().force_new = true;
    let prior = cluster_prior();
    let config = with(
        cluster_config(),
        "maintenance",
        Value::List(vec![Value::map([("day", Value::from("sunday"))])]),
    );
    let normalized = normalize(&schema, &config).unwrap();
    let proposed = propose(&schema, Some(&prior), &normalized, &IgnoreChanges::None);
    let c = classify(&schema, Some(&prior), &proposed, &[], &Lifecycle::default());
    assert_eq!(c.action, Action::Replace);
    assert_eq!(paths(&c.replace_because), vec!["maintenance"]);
}

#[test]
fn provider_requested_replacement_counts_only_when_the_path_changed() {
    let schema = cluster_schema();
    let prior = cluster_prior();
    let config = with(
        cluster_config(),
        "tags",
        Value::map([("env", Value::from("stage"))]),
    );
    let normalized = normalize(&schema, &config).unwrap();
    let proposed = propose(&schema, Some(&prior), &normalized, &IgnoreChanges::None);

    let c = classify(
        &schema,
        Some(&prior),
        &proposed,
        &[p("tags")],
        &Lifecycle::default(),
    );
    assert_eq!(c.action, Action::Replace);
    assert_eq!(paths(&c.replace_because), vec!["tags"]);

    let c = classify(
        &schema,
        Some(&prior),
        &proposed,
        &[p("name")],
        &Lifecycle::default(),
    );
    assert_eq!(c.action, Action::Update, "name did not change");
}

#[test]
fn provider_unknowns_count_as_changes() {
    let schema = cluster_schema();
    let prior = cluster_prior();
    let normalized = normalize(&schema, &cluster_config()).unwrap();
    let proposed = propose(&schema, Some(&prior), &normalized, &IgnoreChanges::None);
    let planned = with(proposed, "endpoint", Value::Unknown);
    let c = classify(&schema, Some(&prior), &planned, &[], &Lifecycle::default());
    assert_eq!(c.action, Action::Update);
    assert_eq!(paths(&c.changed), vec!["endpoint"]);
}

#[test]
fn ignore_changes_keeps_prior_values() {
    let prior = cluster_prior();
    let config = with(cluster_config(), "size", Value::from(9i64));
    let config = with(config, "region", Value::from("ams3"));

    let ignore = Lifecycle {
        ignore_changes: IgnoreChanges::Paths(vec![p("size"), p("region")]),
        ..Lifecycle::default()
    };
    let c = plan_of(Some(&prior), &config, &ignore);
    assert_eq!(c.action, Action::NoOp);
    assert_eq!(c.planned.get("size"), Some(Value::from(3i64)));

    let ignore_size = Lifecycle {
        ignore_changes: IgnoreChanges::Paths(vec![p("size")]),
        ..Lifecycle::default()
    };
    let c = plan_of(Some(&prior), &config, &ignore_size);
    assert_eq!(c.action, Action::Replace);
    assert_eq!(paths(&c.changed), vec!["region"]);

    let all = Lifecycle {
        ignore_changes: IgnoreChanges::All,
        ..Lifecycle::default()
    };
    assert_eq!(plan_of(Some(&prior), &config, &all).action, Action::NoOp);

    // A nested path: ignore the autoscaler bound that an operator changes by hand.
    let config = with(
        cluster_config(),
        "node_pool[0].max_nodes",
        Value::from(10i64),
    );
    let nested = Lifecycle {
        ignore_changes: IgnoreChanges::Paths(vec![p("node_pool[0].max_nodes")]),
        ..Lifecycle::default()
    };
    assert_eq!(plan_of(Some(&prior), &config, &nested).action, Action::NoOp);

    // On create there is nothing to keep: ignore_changes has no effect.
    let c = plan_of(None, &config, &all);
    assert_eq!(c.action, Action::Create);
    assert_eq!(c.planned.get("size"), Some(Value::from(3i64)));
}

#[test]
fn ignore_changes_is_enforced_after_the_provider_plan() {
    let schema = cluster_schema();
    let prior = cluster_prior();
    let lifecycle = Lifecycle {
        ignore_changes: IgnoreChanges::Paths(vec![p("tags")]),
        ..Lifecycle::default()
    };
    let normalized = normalize(&schema, &cluster_config()).unwrap();
    let proposed = propose(
        &schema,
        Some(&prior),
        &normalized,
        &lifecycle.ignore_changes,
    );
    // The provider adds a default tag; the user ignores tags.
    let planned = with(
        proposed,
        "tags",
        Value::map([("managed-by", Value::from("strata"))]),
    );
    let c = classify(&schema, Some(&prior), &planned, &[], &lifecycle);
    assert_eq!(c.action, Action::NoOp);
}

#[test]
fn prevent_destroy_refuses_delete_and_replace() {
    let guarded = Lifecycle {
        prevent_destroy: true,
        ..Lifecycle::default()
    };
    let mut c = change(
        "base",
        "testing_cluster",
        "main",
        Action::Delete,
        Some(cluster_prior()),
        None,
    );
    let err = check_prevent_destroy(&c, &guarded).unwrap_err();
    assert!(err.contains("base/testing_cluster.main"), "{err}");
    assert!(err.contains("prevent_destroy"), "{err}");
    assert!(check_prevent_destroy(&c, &Lifecycle::default()).is_ok());

    c.action = Action::Replace;
    c.replace_because = vec![p("region")];
    let err = check_prevent_destroy(&c, &guarded).unwrap_err();
    assert!(err.contains("replace") && err.contains("region"), "{err}");

    for action in [Action::Update, Action::Create, Action::NoOp] {
        c.action = action;
        assert!(check_prevent_destroy(&c, &guarded).is_ok());
    }
    assert_eq!(c.address, Address::new("base", "testing_cluster", "main"));
}
