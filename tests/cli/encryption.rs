//! Client-side encryption of state and plan files, and moving state in and out of a backend:
//! `state pull`, `state push`, `state restore`.

use crate::support::Project;

const PASSPHRASE: &str = "a long and private passphrase";

/// The three-stack fixture with an encryption block and its passphrase set.
fn encrypted() -> Project {
    let mut p = Project::new("three-stacks");
    let hcl = std::fs::read_to_string(p.root.join("strata.hcl")).unwrap();
    p.write(
        "strata.hcl",
        &format!("{hcl}\nencryption {{\n  passphrase_env = \"DEMO_PASSPHRASE\"\n}}\n"),
    );
    p.env.insert("DEMO_PASSPHRASE".into(), PASSPHRASE.into());
    p
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn encrypted_state_and_plans_are_unreadable_without_the_passphrase() {
    let mut p = encrypted();
    p.ok(&["apply", "--all", "--auto-approve"]);
    assert_eq!(p.state_list().len(), 6);
    // Nothing the cloud or the config said is readable in the stored bytes.
    for file in files_under(&p.root.join(".strata")) {
        let bytes = std::fs::read(&file).unwrap();
        for plain in ["demo-stage", "testing_cluster", "s-2vcpu-4gb"] {
            assert!(
                !contains(&bytes, plain),
                "{} shows {plain:?} in clear",
                file.display()
            );
        }
    }
    let plan_file = p.root.join("change.plan");
    p.edit("base/main.hcl", "version = \"1.31\"", "version = \"1.32\"");
    p.ok(&["plan", "--all", "--out", plan_file.to_str().unwrap()]);
    assert!(!contains(&std::fs::read(&plan_file).unwrap(), "1.32"));
    let shown = p.ok(&["show", plan_file.to_str().unwrap()]);
    assert!(shown.stdout.contains("1.32"), "{shown:?}");

    p.env.remove("DEMO_PASSPHRASE");
    let r = p.run(&["plan", "--all"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("$DEMO_PASSPHRASE is not set"), "{r:?}");
    assert!(r.stderr.contains("hint: export DEMO_PASSPHRASE"), "{r:?}");

    p.env
        .insert("DEMO_PASSPHRASE".into(), "not the passphrase".into());
    let r = p.run(&["state", "list"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("does not open") && r.stderr.contains("stage/base"),
        "the error names the state and the cause: {r:?}"
    );
    let r = p.run(&["apply", plan_file.to_str().unwrap(), "--auto-approve"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("change.plan"), "{r:?}");
    assert!(!r.stderr.contains("panicked"), "{r:?}");

    // With the right passphrase again, nothing was lost.
    p.env.insert("DEMO_PASSPHRASE".into(), PASSPHRASE.into());
    p.ok(&["apply", plan_file.to_str().unwrap(), "--auto-approve"]);
    assert_eq!(p.run(&["plan", "--all", "--detailed-exitcode"]).code, 0);
}

#[test]
fn a_plain_state_adopts_encryption_on_its_next_write() {
    let mut p = Project::new("three-stacks");
    p.ok(&["apply", "--all", "--auto-approve"]);
    let hcl = std::fs::read_to_string(p.root.join("strata.hcl")).unwrap();
    p.write("strata.hcl", &format!("{hcl}\nencryption {{}}\n"));
    p.env.insert("STRATA_PASSPHRASE".into(), PASSPHRASE.into());
    assert_eq!(p.state_list().len(), 6, "plain state still reads");
    p.edit("base/main.hcl", "version = \"1.31\"", "version = \"1.32\"");
    p.ok(&["apply", "--all", "--auto-approve"]);
    p.env.remove("STRATA_PASSPHRASE");
    let r = p.run(&["state", "list"]);
    assert_eq!(r.code, 1, "{r:?}");
}

#[test]
fn pull_push_and_restore_move_state_without_loss() {
    let p = Project::new("three-stacks");
    p.ok(&["apply", "--all", "--auto-approve"]);
    let saved = p.root.join("base.state.json");
    let r = p.ok(&["state", "pull", "base", saved.to_str().unwrap()]);
    assert!(r.stdout.contains("1 resources"), "{r:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&saved).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "a pulled state is private to its owner");
    }
    assert!(!r.stdout.contains("kubeconfig"), "{r:?}");

    p.edit("base/main.hcl", "version = \"1.31\"", "version = \"1.32\"");
    p.ok(&["apply", "base", "--auto-approve"]);
    // The pulled file is older now: pushing it back is refused unless forced.
    let r = p.run(&["state", "push", "base", saved.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("older than the stored state"), "{r:?}");
    p.ok(&["state", "push", "base", saved.to_str().unwrap(), "--force"]);
    let shown = p.ok(&["state", "show", "base/testing_cluster.main"]);
    assert!(shown.stdout.contains("1.31"), "{shown:?}");

    // A file of another stack is another lineage.
    let other = p.root.join("deploy.state.json");
    p.ok(&["state", "pull", "deploy", other.to_str().unwrap()]);
    let r = p.run(&["state", "push", "base", other.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("another state"), "{r:?}");
    std::fs::write(&other, b"{\"format_version\":1,").unwrap();
    let r = p.run(&["state", "push", "base", other.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("not a usable state file"), "{r:?}");

    // History lists every version, and restoring one makes it current as a new version.
    let history = p.ok(&["state", "history", "base"]).stdout;
    let serials: Vec<u64> = history
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1)?.parse().ok())
        .collect();
    assert!(serials.len() >= 3, "{history}");
    let with_132 = serials[serials.len() - 2];
    let r = p.ok(&["state", "restore", "base", &with_132.to_string()]);
    assert!(
        r.stdout.contains(&format!("Restored version {with_132}")),
        "{r:?}"
    );
    let shown = p.ok(&["state", "show", "base/testing_cluster.main"]);
    assert!(shown.stdout.contains("1.32"), "{shown:?}");
    assert_eq!(p.run(&["plan", "--all", "--detailed-exitcode"]).code, 0);
    let r = p.run(&["state", "restore", "base", "999999"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("hint: "), "{r:?}");
}
