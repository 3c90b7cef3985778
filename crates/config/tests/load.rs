//! Loading projects and resolving variables, through the public API.

use std::collections::BTreeMap;
use std::path::Path;

use strata_config::{load_project, resolve_variables, IgnoreChanges, RefKind};
use strata_core::{Mode, Value};

fn write(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

fn valid_case() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases/valid"))
}

#[test]
fn loads_the_project_layout() {
    let p = load_project(valid_case()).unwrap();
    assert_eq!(p.name, "shop");
    assert_eq!(p.backend.kind, "local");
    assert_eq!(
        p.environments.keys().collect::<Vec<_>>(),
        ["production", "stage"]
    );
    assert_eq!(
        p.environments["stage"].variables["min_nodes"],
        Value::Number(2.0)
    );
    assert_eq!(
        p.stacks.keys().collect::<Vec<_>>(),
        ["apps/shop/deploy", "base"]
    );
    let deploy = &p.stacks["apps/shop/deploy"];
    assert!(deploy.dir.is_absolute() && deploy.dir.ends_with("apps/shop/deploy"));
    assert_eq!(deploy.dependencies["base"].stack, "base");
    assert_eq!(deploy.digest.len(), 64);
}

#[test]
fn decodes_meta_arguments() {
    let p = load_project(valid_case()).unwrap();
    let base = &p.stacks["base"];
    let cluster = base
        .resource(Mode::Managed, "testing_cluster", "main")
        .unwrap();
    assert!(cluster.lifecycle.prevent_destroy);
    assert_eq!(
        cluster.lifecycle.ignore_changes,
        IgnoreChanges::Paths(vec![
            strata_core::Path::parse("node_pool[0].min_nodes").unwrap()
        ])
    );
    assert!(
        cluster.body.attribute("lifecycle").is_none()
            && cluster.body.blocks.iter().all(|b| b.name != "lifecycle")
    );
    let team = base
        .resource(Mode::Managed, "testing_thing", "team")
        .unwrap();
    assert!(team.for_each.is_some() && team.count.is_none());
    assert!(team.body.attribute("for_each").is_none());
    let replica = base
        .resource(Mode::Managed, "testing_thing", "replica")
        .unwrap();
    assert!(replica.count.is_some());
    let provider = replica.provider.as_ref().unwrap();
    assert_eq!(
        (provider.name.as_str(), provider.alias.as_deref()),
        ("testing", Some("west"))
    );
    assert_eq!(replica.provider_name(), "testing");
    assert_eq!(team.provider_name(), "testing");
    assert_eq!(
        replica
            .depends_on
            .iter()
            .map(|(r, _)| r.kind.clone())
            .collect::<Vec<_>>(),
        [RefKind::Resource {
            mode: Mode::Managed,
            type_name: "testing_cluster".into(),
            name: "main".into()
        }]
    );
    assert_eq!(
        base.providers
            .iter()
            .map(|p| p.alias.clone())
            .collect::<Vec<_>>(),
        [None, Some("west".into())]
    );
    assert!(base.outputs["kubeconfig"].sensitive);
    let refs: Vec<String> = team
        .body
        .references()
        .iter()
        .map(|r| r.kind.to_string())
        .collect();
    assert_eq!(
        refs,
        [
            "local.prefix",
            "each.key",
            "data.testing_image.ubuntu",
            "var.node_size"
        ]
    );
    let span = &team.span;
    assert_eq!(
        (span.file.to_str().unwrap(), span.line, span.col),
        ("base/main.hcl", 30, 1)
    );
    assert_eq!(
        p.sources.line(span).as_deref(),
        Some("resource \"testing_thing\" \"team\" {")
    );
}

#[test]
fn digest_covers_every_file_of_the_stack() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            ("strata.hcl", "project \"p\" {}\n"),
            ("app/main.hcl", "locals { a = 1 }\n"),
            ("app/k8s/deploy.yaml", "kind: Deployment\n"),
            ("app/nested/main.hcl", "locals { b = 1 }\n"),
        ],
    );
    let before = load_project(dir.path()).unwrap();
    assert_eq!(
        before.stacks.keys().collect::<Vec<_>>(),
        ["app", "app/nested"]
    );
    std::fs::write(dir.path().join("app/k8s/deploy.yaml"), "kind: Service\n").unwrap();
    let after = load_project(dir.path()).unwrap();
    assert_ne!(before.stacks["app"].digest, after.stacks["app"].digest);
    // A nested stack has its own digest; changing it does not touch its parent's.
    std::fs::write(dir.path().join("app/nested/main.hcl"), "locals { b = 2 }\n").unwrap();
    let again = load_project(dir.path()).unwrap();
    assert_eq!(after.stacks["app"].digest, again.stacks["app"].digest);
    assert_ne!(
        after.stacks["app/nested"].digest,
        again.stacks["app/nested"].digest
    );
}

#[test]
fn hidden_folders_are_not_stacks() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            ("strata.hcl", "project \"p\" {}\n"),
            (".strata/x/main.hcl", "this is not hcl"),
            ("base/main.hcl", ""),
        ],
    );
    let p = load_project(dir.path()).unwrap();
    assert_eq!(p.stacks.keys().collect::<Vec<_>>(), ["base"]);
}

#[test]
fn a_folder_without_strata_hcl_is_not_a_project() {
    let dir = tempfile::tempdir().unwrap();
    let e = load_project(dir.path()).unwrap_err().to_string();
    assert!(e.contains("no strata.hcl"), "{e}");
}

#[test]
fn project_file_errors_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            (
                "strata.hcl",
                "projct \"p\" {}\nenvironment \"stage\" { variables = { a = var.x } }\n",
            ),
            ("stray.hcl", ""),
        ],
    );
    let e = load_project(dir.path()).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("Unsupported block type \"projct\"")
            && text.contains("did you mean \"project\""),
        "{text}"
    );
    assert!(text.contains("Variables not allowed"), "{text}");
    assert!(
        text.contains("stray.hcl is not part of any stack"),
        "{text}"
    );
}

fn resolve(
    env_name: Option<&str>,
    env_vars: &[(&str, &str)],
) -> Result<BTreeMap<String, Value>, String> {
    let p = load_project(valid_case()).unwrap();
    let env = env_name.map(|n| &p.environments[n]);
    let vars = env_vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    resolve_variables(&p.stacks["base"], env, &vars).map_err(|d| d.to_string())
}

#[test]
fn variables_come_from_environment_then_env_vars_then_defaults() {
    let v = resolve(Some("stage"), &[("STRATA_VAR_region", "ams3")]).unwrap();
    assert_eq!(v["node_size"], Value::from("s-2vcpu-2gb"));
    assert_eq!(v["region"], Value::from("ams3"));
    let v = resolve(
        None,
        &[
            ("STRATA_VAR_node_size", "big"),
            ("STRATA_VAR_min_nodes", "4"),
            ("STRATA_VAR_max_nodes", "9"),
        ],
    )
    .unwrap();
    assert_eq!(v["region"], Value::from("nyc1"));
    assert_eq!(v["min_nodes"], Value::Number(4.0));
}

#[test]
fn variable_problems_are_all_reported() {
    let e = resolve(
        None,
        &[
            ("STRATA_VAR_min_nodes", "0"),
            ("STRATA_VAR_max_nodes", "many"),
        ],
    )
    .unwrap_err();
    assert!(
        e.contains("No value for required variable \"node_size\""),
        "{e}"
    );
    assert!(e.contains("hint: select an environment with --env"), "{e}");
    assert!(e.contains("min_nodes must be at least 1."), "{e}");
    assert!(
        e.contains("Invalid value for variable \"max_nodes\"")
            && e.contains("from STRATA_VAR_max_nodes"),
        "{e}"
    );
}

#[test]
fn sensitive_variables_are_marked() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            ("strata.hcl", "project \"p\" {}\n"),
            (
                "db/main.hcl",
                "variable \"password\" {\n  sensitive = true\n  default = \"hunter2\"\n}\n",
            ),
        ],
    );
    let p = load_project(dir.path()).unwrap();
    let v = resolve_variables(&p.stacks["db"], None, &BTreeMap::new()).unwrap();
    assert!(v["password"].is_sensitive());
}
