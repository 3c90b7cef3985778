//! Shared fixtures: a cluster-like schema and plan builders.
#![allow(dead_code)]

use std::path::PathBuf;
use strata_core::schema::{Attribute, BlockSchema, NestedBlock, Nesting, Type};
use strata_core::{Address, Value};
use strata_plan::{Action, OutputChange, Plan, ResourceChange, StackPlan};

/// A schema shaped like a managed Kubernetes cluster resource.
pub fn cluster_schema() -> BlockSchema {
    BlockSchema::default()
        .attr("id", Attribute::computed(Type::String))
        .attr("name", Attribute::required(Type::String))
        .attr("region", Attribute::required(Type::String).force_new())
        .attr("size", Attribute::optional(Type::Number))
        .attr("version", Attribute::optional_computed(Type::String))
        .attr("endpoint", Attribute::computed(Type::String))
        .attr("kubeconfig", Attribute::computed(Type::String).sensitive())
        .attr("password", Attribute::optional(Type::String).sensitive())
        .attr("tags", Attribute::optional(Type::map(Type::String)))
        .block(
            "node_pool",
            NestedBlock {
                nesting: Nesting::List,
                min_items: 1,
                max_items: Some(3),
                force_new: false,
                block: BlockSchema::default()
                    .attr("name", Attribute::required(Type::String))
                    .attr("size", Attribute::required(Type::String).force_new())
                    .attr("min_nodes", Attribute::optional(Type::Number))
                    .attr("max_nodes", Attribute::optional(Type::Number)),
            },
        )
        .block(
            "maintenance",
            NestedBlock {
                nesting: Nesting::Single,
                min_items: 0,
                max_items: None,
                force_new: false,
                block: BlockSchema::default().attr("day", Attribute::optional(Type::String)),
            },
        )
}

/// An evaluated configuration body, nested blocks as lists of maps.
pub fn cluster_config() -> Value {
    Value::map([
        ("name", Value::from("shop")),
        ("region", Value::from("nyc1")),
        ("size", Value::from(3i64)),
        (
            "node_pool",
            Value::List(vec![Value::map([
                ("name", Value::from("default")),
                ("size", Value::from("s-2vcpu-2gb")),
                ("min_nodes", Value::from(2i64)),
                ("max_nodes", Value::from(5i64)),
            ])]),
        ),
    ])
}

/// What state would hold after creating `cluster_config()`.
pub fn cluster_prior() -> Value {
    Value::map([
        ("id", Value::from("abc")),
        ("name", Value::from("shop")),
        ("region", Value::from("nyc1")),
        ("size", Value::from(3i64)),
        ("version", Value::from("1.31.1")),
        ("endpoint", Value::from("https://abc.k8s.example")),
        (
            "kubeconfig",
            Value::from("apiVersion: v1 # secret-kubeconfig").sensitive(),
        ),
        ("password", Value::Null),
        ("tags", Value::Null),
        (
            "node_pool",
            Value::List(vec![Value::map([
                ("name", Value::from("default")),
                ("size", Value::from("s-2vcpu-2gb")),
                ("min_nodes", Value::from(2i64)),
                ("max_nodes", Value::from(5i64)),
            ])]),
        ),
        ("maintenance", Value::Null),
    ])
}

pub fn change(
    stack: &str,
    type_name: &str,
    name: &str,
    action: Action,
    before: Option<Value>,
    after: Option<Value>,
) -> ResourceChange {
    ResourceChange {
        address: Address::new(stack, type_name, name),
        provider: "testing".into(),
        action,
        before,
        after,
        replace_because: Vec::new(),
        create_before_destroy: false,
        reason: None,
    }
}

pub fn stack(name: &str, changes: Vec<ResourceChange>, outputs: Vec<OutputChange>) -> StackPlan {
    StackPlan {
        stack: name.into(),
        state_lineage: Some(format!("lineage-{name}")),
        state_serial: 7,
        config_digest: format!("digest-{name}"),
        changes,
        outputs,
    }
}

pub fn plan(stacks: Vec<StackPlan>) -> Plan {
    Plan {
        format_version: strata_plan::FORMAT_VERSION,
        project: "shop".into(),
        env: "stage".into(),
        destroy: false,
        created_at: "2025-01-02T03:04:05Z".into(),
        strata_version: "0.1.0".into(),
        stacks,
    }
}

/// Compares `actual` with `tests/snapshots/NAME.txt`; `UPDATE_EXPECT=1` rewrites the file.
pub fn assert_snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1") {
        std::fs::write(&path, actual).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing snapshot {}; run with UPDATE_EXPECT=1 to create it.\nactual:\n{actual}",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "snapshot {} differs (UPDATE_EXPECT=1 rewrites it)\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}
