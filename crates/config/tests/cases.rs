//! Data-driven configuration tests.
//!
//! Each folder under `tests/cases/` is a small project; `expected.txt` holds the diagnostics
//! that loading, validating and resolving its variables (for every environment) produce, as
//! `strata validate` would show them. Run with `UPDATE_EXPECT=1` to rewrite the expectations
//! after an intended change, then review the diff.

use std::collections::BTreeMap;
use std::path::Path;

use strata_config::{load_project, resolve_variables, validate_with_types, Diagnostics};
use strata_core::schema::{Attribute, BlockSchema, NestedBlock, Nesting, ResourceSchema, Type};
use strata_core::Mode;

fn schema(mode: Mode, type_name: &str) -> Option<ResourceSchema> {
    let block = match (mode, type_name) {
        (Mode::Managed, "testing_thing") => BlockSchema::default()
            .attr("name", Attribute::required(Type::String))
            .attr("size", Attribute::optional(Type::Number))
            .attr("tags", Attribute::optional(Type::map(Type::String)))
            .attr("id", Attribute::computed(Type::String)),
        (Mode::Managed, "testing_cluster") => BlockSchema::default()
            .attr("name", Attribute::required(Type::String))
            .attr("kubeconfig", Attribute::computed(Type::String).sensitive())
            .block(
                "node_pool",
                NestedBlock {
                    nesting: Nesting::List,
                    min_items: 1,
                    max_items: None,
                    force_new: false,
                    block: BlockSchema::default()
                        .attr("name", Attribute::required(Type::String))
                        .attr("min_nodes", Attribute::optional(Type::Number))
                        .attr("max_nodes", Attribute::optional(Type::Number)),
                },
            ),
        (Mode::Data, "testing_image") => BlockSchema::default()
            .attr("name", Attribute::required(Type::String))
            .attr("id", Attribute::computed(Type::String)),
        _ => return None,
    };
    Some(ResourceSchema {
        version: 0,
        description: String::new(),
        block,
    })
}

fn known_types(mode: Mode) -> Vec<String> {
    match mode {
        Mode::Managed => vec!["testing_thing".into(), "testing_cluster".into()],
        Mode::Data => vec!["testing_image".into()],
    }
}

/// Everything `strata validate` would report for the project at `dir`.
fn diagnostics(dir: &Path) -> Diagnostics {
    let project = match load_project(dir) {
        Ok(p) => p,
        Err(d) => return d,
    };
    let mut all = validate_with_types(&project, &schema, &known_types);
    let no_env_vars = BTreeMap::new();
    for stack in project.stacks.values() {
        let envs: Vec<_> = project.environments.values().map(Some).collect();
        for env in if envs.is_empty() { vec![None] } else { envs } {
            if let Err(d) = resolve_variables(stack, env, &no_env_vars) {
                all.extend(d);
            }
        }
    }
    all
}

#[test]
fn cases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let update = std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .expect("tests/cases exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 10,
        "expected the case folders in {}",
        root.display()
    );
    let mut failures = Vec::new();
    for dir in dirs {
        let actual = diagnostics(&dir).render();
        let expected_file = dir.join("expected.txt");
        if update {
            std::fs::write(&expected_file, &actual).expect("write expected.txt");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_file).unwrap_or_else(|_| {
            panic!(
                "{} is missing; run with UPDATE_EXPECT=1",
                expected_file.display()
            )
        });
        if actual != expected {
            failures.push(format!(
                "=== {}\n--- expected\n{expected}--- actual\n{actual}",
                dir.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
