//! Saved plans: applied as made, refused once state or configuration moved.

use crate::support::Project;

#[test]
fn a_saved_plan_applies_when_nothing_moved() {
    let p = Project::new("three-stacks");
    let plan = p.root.join("base.plan");
    p.ok(&["plan", "base", "--out", plan.to_str().unwrap()]);
    let r = p.ok(&["apply", plan.to_str().unwrap()]);
    assert!(
        r.stdout.contains("Apply complete! Resources: 1 added"),
        "{r:?}"
    );
    let shown = p.ok(&["show", plan.to_str().unwrap()]);
    assert!(
        shown
            .stdout
            .contains("base/testing_cluster.main will be created"),
        "{shown:?}"
    );
}

#[test]
fn a_saved_plan_is_refused_after_the_state_changed() {
    let p = Project::new("three-stacks");
    p.ok(&["apply", "base", "--auto-approve"]);
    p.edit(
        "base/main.hcl",
        "max_nodes = var.max_nodes",
        "max_nodes = 7",
    );
    let plan = p.root.join("change.plan");
    p.ok(&["plan", "base", "--out", plan.to_str().unwrap()]);
    // Someone else changes the state in between.
    p.ok(&["state", "rm", "base/testing_cluster.main"]);
    let r = p.run(&["apply", plan.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("changed since the plan was made"),
        "{r:?}"
    );
    assert!(r.stderr.contains("hint: run strata plan again"), "{r:?}");
}

#[test]
fn a_saved_plan_is_refused_after_the_config_changed() {
    let p = Project::new("three-stacks");
    let plan = p.root.join("base.plan");
    p.ok(&["plan", "base", "--out", plan.to_str().unwrap()]);
    p.edit("base/main.hcl", "version = \"1.31\"", "version = \"1.32\"");
    let r = p.run(&["apply", plan.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("configuration of stack \"base\" changed"),
        "{r:?}"
    );
    assert!(p.inventory().is_empty());
}

#[test]
fn a_file_that_is_not_a_plan_is_refused_clearly() {
    let p = Project::new("three-stacks");
    let bogus = p.root.join("bogus.plan");
    std::fs::write(&bogus, "{ not json").unwrap();
    let r = p.run(&["apply", bogus.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("bogus.plan"), "{r:?}");
}
