//! Lifecycle rules and resource selection: prevent_destroy, ignore_changes,
//! create_before_destroy, --target, --exclude, --refresh=false.

use crate::support::Project;

#[test]
fn prevent_destroy_refuses_a_destroy_and_a_replacement() {
    let p = Project::new("three-stacks");
    p.edit(
        "deploy/main.hcl",
        "  name = \"standalone\"\n",
        "  name = \"standalone\"\n  lifecycle {\n    prevent_destroy = true\n  }\n",
    );
    p.ok(&["apply", "--all", "--auto-approve"]);
    let r = p.run(&["destroy", "--all", "--auto-approve"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("standalone"), "{r:?}");
    assert!(r.stderr.contains("prevent_destroy"), "{r:?}");
    assert_eq!(p.inventory().len(), 6, "nothing was destroyed");
    p.edit(
        "deploy/main.hcl",
        "name = \"standalone\"",
        "name = \"renamed\"",
    );
    let r = p.run(&["plan", "deploy"]);
    assert_eq!(r.code, 1, "a replacement destroys too: {r:?}");
}

#[test]
fn ignore_changes_keeps_the_cloud_value() {
    let p = Project::new("three-stacks");
    p.edit(
        "deploy/main.hcl",
        "  size = 1\n}\n",
        "  size = 1\n  lifecycle {\n    ignore_changes = [size]\n  }\n}\n",
    );
    p.ok(&["apply", "--all", "--auto-approve"]);
    p.edit(
        "deploy/main.hcl",
        "name = \"standalone\"\n  size = 1",
        "name = \"standalone\"\n  size = 9",
    );
    let r = p.run(&["plan", "deploy", "--detailed-exitcode"]);
    assert_eq!(r.code, 0, "size is ignored: {r:?}");
}

#[test]
fn create_before_destroy_creates_the_new_object_first() {
    let p = Project::new("three-stacks");
    p.edit(
        "deploy/main.hcl",
        "  name = \"standalone\"\n",
        "  name = \"standalone\"\n  lifecycle {\n    create_before_destroy = true\n  }\n",
    );
    p.ok(&["apply", "--all", "--auto-approve"]);
    p.edit(
        "deploy/main.hcl",
        "name = \"standalone\"",
        "name = \"standalone-v2\"",
    );
    let r = p.ok(&["apply", "deploy", "--auto-approve"]);
    assert!(
        r.stdout.contains("create_before_destroy") || r.stdout.contains("+/-"),
        "the plan says the order: {r:?}"
    );
    let names: Vec<String> = p.inventory().into_iter().map(|(_, n, _)| n).collect();
    assert!(
        names.contains(&"standalone-v2".into()) && !names.contains(&"standalone".into()),
        "{names:?}"
    );
    assert_eq!(p.run(&["plan", "--all", "--detailed-exitcode"]).code, 0);
}

#[test]
fn target_and_exclude_limit_what_is_applied() {
    let p = Project::new("three-stacks");
    // A target in a downstream stack: the stacks it depends on are applied first, in full.
    let r = p.ok(&["apply", "base", "database", "--auto-approve"]);
    assert!(r.stdout.contains("2 added"), "{r:?}");
    let r = p.ok(&[
        "apply",
        "deploy",
        "--target",
        "deploy/testing_thing.worker[\"a\"]",
        "--auto-approve",
    ]);
    // worker["a"] depends on app (depends_on), so app comes too; worker["b"] and standalone do not.
    assert!(
        r.stdout.contains("Apply complete! Resources: 2 added"),
        "{r:?}"
    );
    let names: Vec<String> = p.inventory().into_iter().map(|(_, n, _)| n).collect();
    assert!(
        names.contains(&"worker-a".into()) && names.contains(&"app".into()),
        "{names:?}"
    );
    assert!(
        !names.contains(&"worker-b".into()) && !names.contains(&"standalone".into()),
        "{names:?}"
    );

    // --exclude leaves out a resource and what depends on it.
    let r = p.ok(&[
        "apply",
        "deploy",
        "--exclude",
        "deploy/testing_thing.app",
        "--auto-approve",
    ]);
    assert!(
        r.stdout.contains("Apply complete! Resources: 1 added"),
        "only standalone: {r:?}"
    );
    let r = p.ok(&["apply", "--all", "--auto-approve"]);
    assert!(
        r.stdout.contains("Apply complete! Resources: 1 added"),
        "worker b is left: {r:?}"
    );
}

#[test]
fn refresh_false_does_not_see_changes_made_outside() {
    let p = Project::new("three-stacks");
    p.ok(&["apply", "--all", "--auto-approve"]);
    // Delete an object behind Strata's back.
    let (_, _, id) = p
        .inventory()
        .into_iter()
        .find(|(_, n, _)| n == "standalone")
        .unwrap();
    std::fs::remove_file(p.cloud.join("testing_thing").join(format!("{id}.json"))).unwrap();
    let r = p.run(&["plan", "deploy", "--refresh=false", "--detailed-exitcode"]);
    assert_eq!(r.code, 0, "without refresh, state is believed: {r:?}");
    let r = p.run(&["plan", "deploy", "--detailed-exitcode"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stdout
            .contains("deploy/testing_thing.standalone will be created"),
        "{r:?}"
    );
    p.ok(&["apply", "deploy", "--auto-approve"]);
    assert_eq!(p.inventory().len(), 6);
}
