//! The life of a three-stack project: plan on empty state, apply in order, no-op, update in
//! place, replace, delete, destroy in reverse order.

use crate::support::Project;

fn line_of(haystack: &str, needle: &str) -> usize {
    haystack
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in:\n{haystack}"))
}

#[test]
fn plan_on_empty_state_shows_downstream_inputs_as_unknown() {
    let p = Project::new("three-stacks");
    let r = p.run(&["plan", "--all", "--detailed-exitcode"]);
    assert_eq!(r.code, 2, "{r:?}");
    let out = &r.stdout;
    // deploy reads base's endpoint and database's id: neither exists yet.
    let app = line_of(out, "deploy/testing_thing.app will be created");
    let after_app = &out
        .lines()
        .skip(app)
        .take(15)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(after_app.contains("(known after apply)"), "{out}");
    assert!(
        out.contains("Plan: 6 to add, 0 to change, 0 to destroy."),
        "{out}"
    );
    // Nothing was created by planning.
    assert!(p.inventory().is_empty());
}

#[test]
fn apply_all_then_noop_then_update_replace_delete_then_destroy() {
    let p = Project::new("three-stacks");
    let r = p.ok(&["apply", "--all", "--auto-approve"]);
    let out = &r.stdout;
    // Dependency order: base before database before deploy.
    let base = line_of(out, "base/testing_cluster.main: Creation complete");
    let db = line_of(out, "database/testing_thing.db: Creation complete");
    let app = line_of(out, "deploy/testing_thing.app: Creation complete");
    assert!(base < db && db < app, "{out}");
    // depends_on holds inside the stack too.
    assert!(
        app < line_of(out, "deploy/testing_thing.worker[\"a\"]: Creation complete"),
        "{out}"
    );
    assert!(
        out.contains("Apply complete! Resources: 6 added, 0 changed, 0 destroyed."),
        "{out}"
    );
    assert_eq!(p.inventory().len(), 6);
    assert_eq!(p.state_list().len(), 6);

    // The real upstream values reached the downstream stack.
    let show = p.ok(&["state", "show", "deploy/testing_thing.app"]);
    assert!(!show.stdout.contains("known after apply"), "{show:?}");
    let db_id = p.ok(&["output", "database", "db_id", "--raw"]).stdout;
    assert!(show.stdout.contains(&db_id), "{show:?} should hold {db_id}");

    // A second plan has nothing to do.
    let r = p.run(&["plan", "--all", "--detailed-exitcode"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("No changes."), "{r:?}");

    // An in-place change.
    p.edit("deploy/main.hcl", "size = 2", "size = 5");
    let r = p.run(&["plan", "deploy", "--detailed-exitcode"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stdout
            .contains("deploy/testing_thing.app will be updated in-place"),
        "{r:?}"
    );
    assert!(
        r.stdout
            .contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{r:?}"
    );
    let id_before = p.ok(&["state", "show", "deploy/testing_thing.app"]).stdout;
    p.ok(&["apply", "deploy", "--auto-approve"]);
    let id_after = p.ok(&["state", "show", "deploy/testing_thing.app"]).stdout;
    let id = |s: &str| s.lines().find(|l| l.contains("id = ")).map(str::to_string);
    assert_eq!(
        id(&id_before),
        id(&id_after),
        "an in-place update keeps the object"
    );

    // A force-new change replaces and names the attribute.
    p.edit(
        "deploy/main.hcl",
        "name = \"standalone\"",
        "name = \"standalone-2\"",
    );
    let r = p.run(&["plan", "deploy", "--detailed-exitcode"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stdout
            .contains("deploy/testing_thing.standalone must be replaced"),
        "{r:?}"
    );
    let forces = r
        .stdout
        .lines()
        .find(|l| l.contains("forces replacement"))
        .unwrap_or_default();
    assert!(forces.contains("name"), "{r:?}");
    p.ok(&["apply", "deploy", "--auto-approve"]);
    let names: Vec<String> = p.inventory().into_iter().map(|(_, n, _)| n).collect();
    assert!(
        names.contains(&"standalone-2".to_string()) && !names.contains(&"standalone".to_string()),
        "{names:?}"
    );

    // A removed resource is deleted.
    let text = std::fs::read_to_string(p.root.join("deploy/main.hcl")).unwrap();
    let cut = text
        .find("resource \"testing_thing\" \"standalone\"")
        .unwrap();
    p.write("deploy/main.hcl", &text[..cut]);
    let r = p.ok(&["apply", "deploy", "--auto-approve"]);
    assert!(
        r.stdout
            .contains("deploy/testing_thing.standalone will be destroyed"),
        "{r:?}"
    );
    assert_eq!(p.inventory().len(), 5);

    // Destroying base alone is refused while the others consume it.
    let r = p.run(&["destroy", "base", "--auto-approve"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("consumes its outputs"), "{r:?}");

    // destroy --all goes in reverse order and leaves nothing.
    let r = p.ok(&["destroy", "--all", "--auto-approve"]);
    let out = &r.stdout;
    let app = line_of(out, "deploy/testing_thing.app: Destruction complete");
    let db = line_of(out, "database/testing_thing.db: Destruction complete");
    let base = line_of(out, "base/testing_cluster.main: Destruction complete");
    assert!(app < db && db < base, "{out}");
    // Inside a stack, dependents go first: the workers depend on the app.
    assert!(
        line_of(
            out,
            "deploy/testing_thing.worker[\"b\"]: Destruction complete"
        ) < app,
        "{out}"
    );
    assert!(p.inventory().is_empty());
    assert!(p.state_list().is_empty());
    let r = p.run(&["plan", "--all", "--detailed-exitcode"]);
    assert_eq!(
        r.code, 2,
        "after destroy everything is to be created again: {r:?}"
    );
}

#[test]
fn outputs_hide_sensitive_values_unless_raw() {
    let p = Project::new("three-stacks");
    p.ok(&["apply", "--all", "--auto-approve"]);
    let r = p.ok(&["output", "base"]);
    assert!(r.stdout.contains("kubeconfig = (sensitive)"), "{r:?}");
    assert!(r.stdout.contains("endpoint = \""), "{r:?}");
    let raw = p.ok(&["output", "base", "kubeconfig", "--raw"]);
    assert!(raw.stdout.contains("apiVersion"), "{raw:?}");
    let r = p.run(&["output", "base", "kubeconfg"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("did you mean \"kubeconfig\""), "{r:?}");
}

#[test]
fn a_second_process_is_told_who_holds_the_lock() {
    let p = Project::new("three-stacks");
    let mut slow = p.command(&["apply", "--all", "--auto-approve"]);
    slow.env("STRATA_TESTING_LATENCY_MS", "400")
        .stdout(std::process::Stdio::null());
    let mut child = slow.spawn().unwrap();
    // Wait until the first process has written itself into the lock file.
    let lock_file = p.root.join(".strata/state.lock");
    let pid = child.id().to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !std::fs::read_to_string(&lock_file)
        .unwrap_or_default()
        .contains(&pid)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the first apply never took the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let r = p.run(&["plan", "--all"]);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("state is locked by PID"), "{r:?}");
    assert!(r.stderr.contains(&pid), "{r:?}");
}

#[test]
fn more_ready_operations_than_parallelism_never_stall() {
    // Twelve independent creates and deletes through one or two call slots: the walk must keep
    // going however many nodes are ready at once.
    let p = Project::new("fleet");
    for n in ["1", "2"] {
        let r = p.ok(&["apply", "--all", "--auto-approve", "--parallelism", n]);
        assert!(
            r.stdout.contains("Apply complete! Resources: 15 added"),
            "{r:?}"
        );
        let r = p.ok(&["destroy", "--all", "--auto-approve", "--parallelism", n]);
        assert!(
            r.stdout
                .contains("Destroy complete! Resources: 15 destroyed."),
            "{r:?}"
        );
    }
}
