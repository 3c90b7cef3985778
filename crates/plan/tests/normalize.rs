mod common;

use common::{cluster_config, cluster_schema};
use strata_core::{Path, Value};
use strata_plan::{normalize, SchemaError};

fn errors_of(config: &Value) -> Vec<SchemaError> {
    normalize(&cluster_schema(), config).expect_err("configuration should be refused")
}

fn set(mut v: Value, path: &str, new: Value) -> Value {
    assert!(v.set_path(&Path::parse(path).unwrap(), new));
    v
}

#[test]
fn single_block_becomes_a_map_and_absent_attributes_are_null() {
    let config = set(
        cluster_config(),
        "maintenance",
        Value::List(vec![Value::map([("day", Value::from("sunday"))])]),
    );
    let v = normalize(&cluster_schema(), &config).unwrap();
    assert_eq!(
        v.get("maintenance").unwrap(),
        Value::map([("day", Value::from("sunday"))])
    );
    // Every schema attribute is present, unset ones as null.
    for name in ["version", "password", "tags", "endpoint"] {
        assert_eq!(v.get(name), Some(Value::Null), "{name}");
    }
    assert_eq!(
        v.get_path(&Path::parse("node_pool[0].size").unwrap()),
        Some(&Value::from("s-2vcpu-2gb"))
    );
}

#[test]
fn absent_single_block_is_null_and_absent_list_block_is_empty() {
    let schema = cluster_schema();
    let mut config = cluster_config();
    let v = normalize(&schema, &config).unwrap();
    assert_eq!(v.get("maintenance"), Some(Value::Null));
    // Normalizing is idempotent: a normalized value is accepted as configuration.
    assert_eq!(normalize(&schema, &v).unwrap(), v);
    if let Value::Map(m) = &mut config {
        m.remove("node_pool");
    }
    let errs = errors_of(&config);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].path.to_string(), "node_pool");
    assert!(
        errs[0]
            .message
            .contains("a \"node_pool\" block is required"),
        "{}",
        errs[0]
    );
}

#[test]
fn too_many_blocks_are_refused() {
    let one = Value::map([("day", Value::from("sunday"))]);
    let config = set(
        cluster_config(),
        "maintenance",
        Value::List(vec![one.clone(), one]),
    );
    let errs = errors_of(&config);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].path.to_string(), "maintenance");
    assert!(errs[0]
        .message
        .contains("only one \"maintenance\" block is allowed, found 2"));

    let pool = cluster_config()
        .get("node_pool")
        .unwrap()
        .as_list()
        .unwrap()[0]
        .clone();
    let config = set(cluster_config(), "node_pool", Value::List(vec![pool; 4]));
    let errs = errors_of(&config);
    assert!(
        errs[0]
            .message
            .contains("at most 3 \"node_pool\" blocks are allowed, found 4"),
        "{}",
        errs[0]
    );
}

#[test]
fn values_are_converted_and_wrong_types_refused() {
    let config = set(cluster_config(), "size", Value::from("5"));
    let v = normalize(&cluster_schema(), &config).unwrap();
    assert_eq!(v.get("size"), Some(Value::Number(5.0)));

    let config = set(cluster_config(), "size", Value::from("large"));
    let config = set(config, "node_pool[0].min_nodes", Value::List(vec![]));
    let errs = errors_of(&config);
    let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert_eq!(errs.len(), 2, "{shown:?}");
    assert!(
        shown.contains(
            &"size: invalid value for \"size\": expected number, found string".to_string()
        ),
        "{shown:?}"
    );
    assert!(
        shown
            .iter()
            .any(|s| s.starts_with("node_pool[0].min_nodes: invalid value")),
        "{shown:?}"
    );
}

#[test]
fn missing_required_attributes_are_all_reported() {
    let mut config = cluster_config();
    if let Value::Map(m) = &mut config {
        m.remove("name");
        m.remove("region");
    }
    let config = set(config, "node_pool[0].name", Value::Null);
    let errs = errors_of(&config);
    let paths: Vec<String> = errs.iter().map(|e| e.path.to_string()).collect();
    assert_eq!(paths, vec!["name", "region", "node_pool[0].name"]);
    assert!(errs[0]
        .message
        .contains("required attribute \"name\" is not set"));
}

#[test]
fn unknown_attribute_names_are_refused_with_a_suggestion() {
    let config = set(cluster_config(), "regoin", Value::from("ams3"));
    let errs = errors_of(&config);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].path.to_string(), "regoin");
    assert!(
        errs[0].message.contains("did you mean \"region\""),
        "{}",
        errs[0]
    );

    let config = set(cluster_config(), "colour", Value::from("blue"));
    assert!(errors_of(&config)[0].message.contains("expected one of: "));
}

#[test]
fn computed_attributes_cannot_be_configured() {
    let config = set(cluster_config(), "endpoint", Value::from("https://x"));
    let errs = errors_of(&config);
    assert_eq!(errs[0].path.to_string(), "endpoint");
    assert!(errs[0].message.contains("set by the provider"));
}

#[test]
fn unknown_and_sensitive_values_pass_through() {
    let config = set(cluster_config(), "name", Value::Unknown);
    let config = set(config, "password", Value::from(42i64).sensitive());
    let v = normalize(&cluster_schema(), &config).unwrap();
    assert!(v.get("name").unwrap().is_unknown());
    let password = v.get("password").unwrap();
    assert!(password.is_sensitive());
    assert_eq!(password.unwrap_sensitive(), &Value::from("42"));
}
