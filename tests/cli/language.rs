//! Language features end to end: nested stacks, variables from the environment, data sources
//! during apply, sensitive values that come from configuration, for_each over a list with repeats.

use crate::support::Project;

#[test]
fn a_nested_project_applies_with_data_sources_and_env_variables() {
    let mut p = Project::new("nested");
    // Without the variable, validation names it and how to set it.
    let r = p.run(&["validate"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("STRATA_VAR_region"), "{r:?}");
    p.env.insert("STRATA_VAR_region".into(), "ams3".into());
    p.ok(&["validate"]);

    let r = p.ok(&["apply", "--all", "--auto-approve"]);
    assert!(
        r.stdout
            .contains("platform/base/testing_thing.node[\"a\"]: Creation complete"),
        "{r:?}"
    );
    // The list ["x", "x", "y"] is a set: two instances, not three.
    assert!(
        r.stdout.contains("Apply complete! Resources: 4 added"),
        "{r:?}"
    );
    let r = p.ok(&["output", "platform/base", "image", "--raw"]);
    assert_eq!(r.stdout, "value-of-ubuntu-ams3");
    let app = p.ok(&["state", "show", "platform/apps/testing_thing.app[\"x\"]"]);
    assert!(app.stdout.contains("value-of-ubuntu-ams3"), "{app:?}");

    // A sensitive variable in a tag stays masked after apply, in state and in plans.
    let node = p.ok(&["state", "show", "platform/base/testing_thing.node[\"a\"]"]);
    assert!(!node.stdout.contains("correct-horse-battery"), "{node:?}");
    assert!(node.stdout.contains("(sensitive)"), "{node:?}");
    let again = p.run(&["plan", "--all", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(!again.all().contains("correct-horse-battery"));
}
