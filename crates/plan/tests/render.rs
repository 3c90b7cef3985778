//! Text rendering, checked against `tests/snapshots/*.txt` (`UPDATE_EXPECT=1` rewrites them).
mod common;

use common::{assert_snapshot, change, cluster_prior, cluster_schema, plan, stack};
use std::collections::BTreeMap;
use strata_core::{Address, InstanceKey, Path, Value};
use strata_plan::{
    render_summary, render_text, render_text_with_schemas, Action, OutputChange, Plan, Summary,
};

const SECRET: &str = "hunter2-never-shown";

fn with(mut v: Value, path: &str, new: Value) -> Value {
    assert!(v.set_path(&Path::parse(path).unwrap(), new), "{path}");
    v
}

/// The plan of the product documentation: create, replace, update, destroy, a sensitive output.
fn mixed_plan() -> Plan {
    let create = change(
        "base",
        "testing_thing",
        "a",
        Action::Create,
        None,
        Some(Value::map([
            ("id", Value::Unknown),
            ("name", Value::from("a")),
            ("size", Value::from(3i64)),
            ("note", Value::Null),
        ])),
    );
    let mut replace = change(
        "base",
        "testing_cluster",
        "main",
        Action::Replace,
        Some(Value::map([
            ("id", Value::from("abc")),
            ("name", Value::from("main")),
            ("region", Value::from("nyc1")),
            ("version", Value::from("1.31")),
        ])),
        Some(Value::map([
            ("id", Value::Unknown),
            ("name", Value::from("main")),
            ("region", Value::from("ams3")),
            ("version", Value::from("1.31")),
        ])),
    );
    replace.replace_because = vec![Path::parse("region").unwrap()];
    let update = change(
        "deploy",
        "testing_thing",
        "x",
        Action::Update,
        Some(Value::map([
            ("id", Value::from("x1")),
            ("size", Value::from(1i64)),
            ("password", Value::from("old-password").sensitive()),
        ])),
        Some(Value::map([
            ("id", Value::from("x1")),
            ("size", Value::from(2i64)),
            ("password", Value::from(SECRET).sensitive()),
        ])),
    );
    let mut delete = change(
        "base",
        "testing_thing",
        "old",
        Action::Delete,
        Some(Value::map([("id", Value::from("o1"))])),
        None,
    );
    delete.reason = Some("removed from configuration".into());
    let outputs = vec![OutputChange {
        name: "kubeconfig".into(),
        before: None,
        after: Some(Value::from(format!("token: {SECRET}"))),
        sensitive: true,
    }];
    plan(vec![
        stack("base", vec![create, replace, delete], outputs),
        stack("deploy", vec![update], vec![]),
    ])
}

#[test]
fn mixed_plan_renders_like_terraform() {
    let text = render_text(&mixed_plan());
    assert!(
        !text.contains(SECRET) && !text.contains("old-password"),
        "{text}"
    );
    assert!(text.contains("Plan: 2 to add, 1 to change, 2 to destroy."));
    assert_snapshot("mixed", &text);
}

#[test]
fn nested_blocks_maps_lists_and_heredocs_are_diffed() {
    let before = with(
        cluster_prior(),
        "tags",
        Value::map([("env", Value::from("stage")), ("team", Value::from("web"))]),
    );
    let before = with(
        before,
        "version",
        Value::from("line one\nline two\nline three"),
    );
    let mut after = with(before.clone(), "node_pool[0].max_nodes", Value::from(10i64));
    after = with(
        after,
        "tags",
        Value::map([
            ("env", Value::from("production")),
            ("team", Value::from("web")),
            ("cost-center", Value::from("42")),
        ]),
    );
    after = with(
        after,
        "version",
        Value::from("line one\nline 2\nline three"),
    );
    after = with(after, "endpoint", Value::Unknown);
    let mut pools = after.get("node_pool").unwrap().as_list().unwrap().clone();
    after = with(after, "node_pool", {
        pools.push(Value::map([
            ("name", Value::from("batch")),
            ("size", Value::from("s-4vcpu-8gb")),
            ("min_nodes", Value::from(1i64)),
            ("max_nodes", Value::Unknown),
        ]));
        Value::List(pools)
    });
    let update = change(
        "base",
        "testing_cluster",
        "main",
        Action::Update,
        Some(before),
        Some(after),
    );
    let text = render_text(&plan(vec![stack("base", vec![update], vec![])]));
    assert!(!text.contains("secret-kubeconfig"), "{text}");
    assert_snapshot("nested_update", &text);
}

#[test]
fn create_shows_nested_blocks_unknowns_sensitive_and_heredocs() {
    let after = with(cluster_prior(), "id", Value::Unknown);
    let after = with(after, "endpoint", Value::Unknown);
    let after = with(after, "kubeconfig", Value::Unknown.sensitive());
    let after = with(after, "password", Value::from(SECRET).sensitive());
    let after = with(after, "version", Value::from("#!/bin/sh\necho hello\n"));
    let after = with(
        after,
        "maintenance",
        Value::map([("day", Value::from("sunday"))]),
    );
    let after = with(
        after,
        "tags",
        Value::map([
            ("env", Value::from("stage")),
            ("app.kubernetes.io/name", Value::from("shop")),
        ]),
    );
    let mut c = change(
        "base",
        "testing_cluster",
        "main",
        Action::Create,
        None,
        Some(after),
    );
    c.address = Address::new("base", "testing_cluster", "main")
        .with_key(Some(InstanceKey::Str("eu".into())));
    let p = plan(vec![stack("base", vec![c], vec![])]);
    let text = render_text(&p);
    assert!(!text.contains(SECRET), "{text}");
    assert_snapshot("create_nested", &text);
    // With the schema, the single `maintenance` block is shown as a block, not a map.
    let schemas = BTreeMap::from([("testing_cluster".to_string(), cluster_schema())]);
    let with_schema = render_text_with_schemas(&p, &schemas);
    assert!(with_schema.contains("+ maintenance {"), "{with_schema}");
    assert!(text.contains("+ maintenance = {"), "{text}");
}

#[test]
fn replace_of_a_nested_block_attribute_is_marked() {
    let before = cluster_prior();
    let after = with(
        before.clone(),
        "node_pool[0].size",
        Value::from("s-4vcpu-8gb"),
    );
    let after = with(after, "id", Value::Unknown);
    let mut c = change(
        "base",
        "testing_cluster",
        "main",
        Action::Replace,
        Some(before),
        Some(after),
    );
    c.replace_because = vec![Path::parse("node_pool[0].size").unwrap()];
    c.create_before_destroy = true;
    let text = render_text(&plan(vec![stack("base", vec![c], vec![])]));
    assert!(
        text.contains("+/- resource \"testing_cluster\" \"main\" {"),
        "{text}"
    );
    assert_snapshot("replace_nested", &text);
}

#[test]
fn empty_plan_says_no_changes() {
    let mut noop = change(
        "base",
        "testing_thing",
        "a",
        Action::NoOp,
        Some(Value::map([("id", Value::from("1"))])),
        Some(Value::map([("id", Value::from("1"))])),
    );
    noop.reason = None;
    let text = render_text(&plan(vec![stack("base", vec![noop], vec![])]));
    assert_eq!(
        text,
        "No changes. Your infrastructure matches the configuration.\n"
    );
    assert_eq!(render_text(&plan(vec![])), text);
}

#[test]
fn output_only_changes_are_shown() {
    let outputs = vec![
        OutputChange {
            name: "endpoint".into(),
            before: Some(Value::from("https://a")),
            after: Some(Value::from("https://b")),
            sensitive: false,
        },
        OutputChange {
            name: "ca".into(),
            before: Some(Value::from("x")),
            after: Some(Value::Unknown),
            sensitive: false,
        },
        OutputChange {
            name: "unchanged".into(),
            before: Some(Value::from(1i64)),
            after: Some(Value::Number(1.0)),
            sensitive: false,
        },
        OutputChange {
            name: "old".into(),
            before: Some(Value::from("gone")),
            after: None,
            sensitive: false,
        },
        OutputChange {
            name: "password".into(),
            before: Some(Value::from("a")),
            after: Some(Value::from(SECRET)),
            sensitive: true,
        },
    ];
    let text = render_text(&plan(vec![stack("base", vec![], outputs)]));
    assert!(!text.contains(SECRET), "{text}");
    assert!(!text.contains("unchanged"), "{text}");
    assert_snapshot("outputs_only", &text);
}

#[test]
fn summary_line() {
    let s = Summary {
        add: 3,
        change: 1,
        destroy: 0,
        no_op: 4,
    };
    assert_eq!(
        render_summary(&s),
        "Plan: 3 to add, 1 to change, 0 to destroy."
    );
}

#[test]
fn data_reads_and_removed_blocks_are_shown() {
    let mut read = change(
        "base",
        "testing_lookup",
        "zone",
        Action::Read,
        None,
        Some(Value::map([
            ("id", Value::Unknown),
            ("region", Value::from("nyc1")),
        ])),
    );
    read.address.mode = strata_core::Mode::Data;
    let before = cluster_prior();
    let after = with(before.clone(), "node_pool", Value::List(vec![]));
    let update = change(
        "base",
        "testing_cluster",
        "main",
        Action::Update,
        Some(before),
        Some(after),
    );
    let text = render_text(&plan(vec![stack("base", vec![read, update], vec![])]));
    assert!(text.contains("  # base/data.testing_lookup.zone will be read during apply\n <= data \"testing_lookup\" \"zone\" {\n"), "{text}");
    assert!(
        text.contains("      - node_pool {\n          - max_nodes = 5 -> null\n"),
        "{text}"
    );
    assert!(
        text.ends_with("Plan: 0 to add, 1 to change, 0 to destroy.\n"),
        "{text}"
    );
}
