//! A resource failing mid-apply: its dependents are skipped, independent resources are applied,
//! state holds exactly what exists, and the next apply finishes the job.

use crate::support::Project;

#[test]
fn a_failure_skips_dependents_only_and_the_next_apply_finishes() {
    let mut p = Project::new("three-stacks");
    p.env.insert("STRATA_TESTING_FAIL_ON".into(), "app".into());
    let r = p.run(&["apply", "--all", "--auto-approve"]);
    assert_eq!(r.code, 1, "{r:?}");
    let out = &r.stdout;
    assert!(
        out.contains("failed:      deploy/testing_thing.app: injected failure"),
        "{out}"
    );
    // The workers depend on the app: skipped, never attempted.
    assert!(
        out.contains("skipped:     deploy/testing_thing.worker[\"a\"]"),
        "{out}"
    );
    assert!(
        out.contains("skipped:     deploy/testing_thing.worker[\"b\"]"),
        "{out}"
    );
    assert!(
        !out.contains("testing_thing.worker[\"a\"]: Creating"),
        "{out}"
    );
    // An independent branch of the same stack went on.
    assert!(
        out.contains("deploy/testing_thing.standalone: Creation complete"),
        "{out}"
    );

    // State holds exactly what exists.
    let names: Vec<String> = p.inventory().into_iter().map(|(_, n, _)| n).collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(!names.contains(&"app".to_string()));
    assert_eq!(p.state_ids(), {
        let mut ids: Vec<String> = p.inventory().into_iter().map(|(_, _, id)| id).collect();
        ids.sort();
        ids
    });

    // Without the fault, the next apply creates only what is missing.
    p.env.remove("STRATA_TESTING_FAIL_ON");
    let r = p.ok(&["apply", "--all", "--auto-approve"]);
    assert!(
        r.stdout
            .contains("Apply complete! Resources: 3 added, 0 changed, 0 destroyed."),
        "{r:?}"
    );
    assert_eq!(p.inventory().len(), 6);
    assert_eq!(p.run(&["plan", "--all", "--detailed-exitcode"]).code, 0);
}
