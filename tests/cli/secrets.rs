//! No sensitive value appears in plan or apply output, in `-vv` logs, in saved plans or in the
//! JSON plan.

use crate::support::Project;

/// Every sensitive value the cloud holds for the project, read from the testing provider.
fn cloud_secrets(p: &Project) -> Vec<String> {
    let mut out = vec!["hunter2-in-config".to_string()];
    for (_, _, v) in strata_provider_testing::inventory(&p.cloud).unwrap() {
        for field in ["secret", "kubeconfig", "password"] {
            if let Some(s) = v[field].as_str() {
                out.push(s.to_string());
                // Multi-line values (a kubeconfig) must not leak line by line either.
                out.extend(
                    s.lines()
                        .filter(|l| l.trim().len() > 12)
                        .map(|l| l.trim().to_string()),
                );
            }
        }
    }
    out
}

fn assert_clean(what: &str, text: &str, secrets: &[String]) {
    for s in secrets {
        assert!(
            !text.contains(s.as_str()),
            "{what} leaks a sensitive value {s:?}:\n{text}"
        );
    }
}

#[test]
fn sensitive_values_never_reach_output_logs_or_plan_files() {
    let p = Project::new("three-stacks");
    let mut transcript = String::new();
    transcript += &p.ok(&["-vv", "plan", "--all"]).all();
    transcript += &p.ok(&["-vv", "apply", "--all", "--auto-approve"]).all();
    // Now that objects exist, changes show old and new values: touch a sensitive attribute too.
    p.edit(
        "database/main.hcl",
        "hunter2-in-config",
        "hunter3-in-config",
    );
    let plan_file = p.root.join("db.plan");
    transcript += &p
        .ok(&["-vv", "plan", "--all", "--out", plan_file.to_str().unwrap()])
        .all();
    transcript += &p.ok(&["-vv", "plan", "--all", "--json"]).all();
    transcript += &p
        .ok(&["-vv", "show", "--json", plan_file.to_str().unwrap()])
        .all();
    transcript += &p.ok(&["-vv", "apply", plan_file.to_str().unwrap()]).all();
    transcript += &p.ok(&["-vv", "output", "base"]).all();
    transcript += &p.ok(&["-vv", "output", "database", "--json"]).all();
    transcript += &p
        .ok(&["-vv", "state", "show", "base/testing_cluster.main"])
        .all();
    let plan_bytes = std::fs::read_to_string(&plan_file).unwrap();

    let mut secrets = cloud_secrets(&p);
    secrets.push("hunter3-in-config".into());
    assert!(
        secrets.len() > 4,
        "the fixture should hold several secrets: {secrets:?}"
    );
    assert!(
        transcript.contains("(sensitive"),
        "sensitive values are shown as masked"
    );
    assert_clean("the transcript", &transcript, &secrets);
    assert_clean("the saved plan", &plan_bytes, &secrets);

    transcript = p.ok(&["-vv", "destroy", "--all", "--auto-approve"]).all();
    assert_clean("destroy", &transcript, &secrets);
}
