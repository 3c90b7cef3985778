//! The smaller commands: init, graph, providers, state mv and history, output --json, show.

use crate::support::Project;

#[test]
fn init_reports_the_project_and_graph_draws_it() {
    let p = Project::new("three-stacks");
    let r = p.ok(&["init"]);
    assert!(
        r.stdout.contains("stacks:      base, database, deploy"),
        "{r:?}"
    );
    assert!(r.stdout.contains("environment: stage"), "{r:?}");

    let dot = p.ok(&["graph", "--all"]).stdout;
    assert!(dot.starts_with("digraph"), "{dot}");
    for edge in [
        "stack deploy",
        "stack database",
        "deploy/testing_thing.worker",
        "deploy/testing_thing.app",
    ] {
        assert!(dot.contains(edge), "{edge} missing from:\n{dot}");
    }
    let mermaid = p.ok(&["graph", "deploy", "--format", "mermaid"]).stdout;
    assert!(
        mermaid.starts_with("flowchart") || mermaid.starts_with("graph"),
        "{mermaid}"
    );
    assert!(mermaid.contains("testing_thing.worker"), "{mermaid}");
}

#[test]
fn providers_lists_schemas() {
    let p = Project::new("three-stacks");
    let r = p.ok(&["providers"]);
    assert!(r.stdout.contains("resource testing_cluster"), "{r:?}");
    assert!(
        r.stdout
            .contains("kubeconfig (string, computed, sensitive)"),
        "{r:?}"
    );
    assert!(
        r.stdout
            .contains("name (string, required, forces replacement)"),
        "{r:?}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&p.ok(&["providers", "--json"]).stdout).unwrap();
    assert!(
        json["testing"]["resources"]["testing_thing"].is_object(),
        "{json}"
    );
}

#[test]
fn state_mv_renames_without_touching_the_cloud() {
    let p = Project::new("three-stacks");
    p.ok(&["apply", "--all", "--auto-approve"]);
    let before = p.inventory();
    p.ok(&[
        "state",
        "mv",
        "deploy/testing_thing.standalone",
        "deploy/testing_thing.solo",
    ]);
    p.edit(
        "deploy/main.hcl",
        "resource \"testing_thing\" \"standalone\"",
        "resource \"testing_thing\" \"solo\"",
    );
    let r = p.run(&["plan", "deploy", "--detailed-exitcode"]);
    assert_eq!(
        r.code, 0,
        "the renamed block matches the moved state: {r:?}"
    );
    assert_eq!(p.inventory(), before);
    let history = p.ok(&["state", "history", "deploy"]).stdout;
    assert!(history.lines().count() >= 2, "{history}");
}

#[test]
fn output_json_masks_sensitive_values() {
    let p = Project::new("three-stacks");
    p.ok(&["apply", "--all", "--auto-approve"]);
    let v: serde_json::Value =
        serde_json::from_str(&p.ok(&["output", "base", "--json"]).stdout).unwrap();
    assert_eq!(v["kubeconfig"]["sensitive"], true);
    assert!(v["kubeconfig"]["value"].is_null(), "{v}");
    assert!(
        v["endpoint"]["value"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "{v}"
    );
}

#[test]
fn unknown_stack_and_environment_get_hints() {
    let p = Project::new("three-stacks");
    let r = p.run(&["plan", "deplyo"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("did you mean \"deploy\"?"), "{r:?}");
    let r = p.run(&["--env", "prod", "plan"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("declared environments: stage"), "{r:?}");
}
