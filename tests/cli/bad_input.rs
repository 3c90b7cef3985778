//! The bad-input catalogue (docs/reliability.md, "Bad input"): for each kind of bad input, the
//! error says what is wrong and where, and nothing in state or in the cloud is lost or changed.
//!
//! Configuration and state cases run on the `three-stacks` fixture with the testing provider;
//! cloud answers run on the DOKS example's base stack under `--emulate`, with the emulator
//! breaking only the cluster reads (`STRATA_EMULATOR_BAD_ANSWER_PATH`).

use crate::support::{Project, Run};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What state holds, as a user sees it: every address and what `state show` prints for it.
fn state_view(p: &Project, env: &[&str]) -> BTreeMap<String, String> {
    let mut list = env.to_vec();
    list.extend(["state", "list"]);
    let listed = p.ok(&list).stdout;
    let mut view = BTreeMap::new();
    for address in listed.lines().filter(|l| !l.trim().is_empty()) {
        let mut show = env.to_vec();
        show.extend(["state", "show", address]);
        view.insert(address.to_string(), p.ok(&show).stdout);
    }
    assert!(!view.is_empty(), "nothing in state to protect");
    view
}

fn state_db(p: &Project) -> PathBuf {
    p.root.join(".strata").join("state.db")
}

/// Runs a command that must fail, and returns what it said.
fn fails(p: &Project, args: &[&str]) -> Run {
    let r = p.run(args);
    assert_eq!(r.code, 1, "strata {args:?} should have failed:\n{r:?}");
    assert!(!r.all().contains("panicked"), "{r:?}");
    r
}

fn assert_says(r: &Run, parts: &[&str]) {
    let text = r.all();
    for part in parts {
        assert!(text.contains(part), "expected {part:?} in:\n{r:?}");
    }
}

/// The `three-stacks` fixture, applied.
fn applied() -> Project {
    let p = Project::new("three-stacks");
    p.ok(&["apply", "--all", "--auto-approve"]);
    p
}

/// The 1-based number of the first line of the project file `rel` holding `text`.
fn line_of(p: &Project, rel: &str, text: &str) -> usize {
    let source = std::fs::read_to_string(p.root.join(rel)).unwrap();
    source
        .lines()
        .position(|l| l.contains(text))
        .unwrap_or_else(|| panic!("{rel} has no line with {text:?}"))
        + 1
}

fn line_count(p: &Project, rel: &str) -> usize {
    std::fs::read_to_string(p.root.join(rel))
        .unwrap()
        .lines()
        .count()
}

/// Applies an applied project with `rel` replaced by `broken`: refused with `parts` in the
/// message, the cloud untouched, and, once the file is put back (`state show` needs a readable
/// configuration too), state exactly as before.
fn refused_without_loss(p: &Project, rel: &str, broken: &str, parts: &[&str]) {
    let original = std::fs::read_to_string(p.root.join(rel)).unwrap();
    let (state, cloud) = (state_view(p, &[]), p.inventory());
    p.write(rel, broken);
    let r = fails(p, &["apply", "--all", "--auto-approve"]);
    assert_says(&r, parts);
    assert_eq!(p.inventory(), cloud);
    p.write(rel, &original);
    assert_eq!(state_view(p, &[]), state);
}

#[test]
fn malformed_hcl_names_the_file_and_line_and_changes_nothing() {
    let p = applied();
    let after = line_count(&p, "base/main.hcl");
    let mut source = std::fs::read_to_string(p.root.join("base/main.hcl")).unwrap();
    source.push_str("\nresource \"testing_thing\" \"half\" {\n  name =\n}\n");
    // After the blank line and the block's opening: the end of `name =`, where a value was due.
    let place = format!("base/main.hcl:{}:9", after + 3);
    refused_without_loss(
        &p,
        "base/main.hcl",
        &source,
        &["Invalid HCL syntax", &place],
    );
}

#[test]
fn an_unknown_provider_or_resource_type_is_named_with_its_place_and_changes_nothing() {
    let p = applied();
    let original = std::fs::read_to_string(p.root.join("base/main.hcl")).unwrap();
    let next = line_count(&p, "base/main.hcl") + 1;

    let place = format!("base/main.hcl:{next}:1");
    refused_without_loss(
        &p,
        "base/main.hcl",
        &format!("{original}resource \"testing_thingy\" \"x\" {{\n  name = \"x\"\n}}\n"),
        &[
            "Unknown resource type \"testing_thingy\"",
            &place,
            "did you mean \"testing_thing\"?",
        ],
    );

    refused_without_loss(
        &p,
        "base/main.hcl",
        &format!("{original}provider \"testng\" {{}}\n"),
        &[
            "Unknown provider \"testng\"",
            &place,
            "did you mean \"testing\"?",
        ],
    );
}

#[test]
fn a_wrong_attribute_type_names_the_attribute_and_its_place_and_changes_nothing() {
    let p = applied();
    let original = std::fs::read_to_string(p.root.join("database/main.hcl")).unwrap();
    let place = format!(
        "database/main.hcl:{}:",
        line_of(&p, "database/main.hcl", "size     = 32")
    );
    refused_without_loss(
        &p,
        "database/main.hcl",
        &original.replacen("size     = 32", "size     = \"big\"", 1),
        &[
            "Incorrect attribute value type",
            &place,
            "Inappropriate value for attribute \"size\": expected number, found string",
        ],
    );
}

/// A state database damaged by `damage` is reported, naming it, by reads and writes alike, and
/// never mistaken for an empty state: no command goes on as if nothing existed, so nothing is
/// created twice or destroyed, and the last command still reports the damage as the first did.
///
/// The project has been opened once more after the apply, as any project in use has: the
/// storage engine's own snapshot is what lets it tell damage from a write cut short (see "Bad
/// input" in docs/reliability.md for what it cannot tell).
fn damaged_state_is_reported_and_never_read_as_empty(damage: impl Fn(&Path)) {
    let p = applied();
    p.ok(&["state", "list"]);
    damage(&state_db(&p).join("db"));
    let cloud = p.inventory();
    let db = state_db(&p);
    let db = db.to_str().unwrap();
    for args in [
        &["state", "list"][..],
        &["plan", "--all"][..],
        &["apply", "--all", "--auto-approve"][..],
        &["destroy", "--all", "--auto-approve"][..],
        &["state", "list"][..],
    ] {
        let r = fails(&p, args);
        assert_says(&r, &["state storage failed while opening", db]);
        assert_eq!(p.inventory(), cloud, "strata {args:?} changed the cloud");
    }
}

#[test]
fn a_truncated_state_file_is_reported_by_path_and_nothing_is_recreated() {
    damaged_state_is_reported_and_never_read_as_empty(|db| {
        let file = std::fs::OpenOptions::new().write(true).open(db).unwrap();
        file.set_len(300).unwrap();
    });
}

#[test]
fn a_corrupted_state_file_is_reported_by_path_and_nothing_is_recreated() {
    damaged_state_is_reported_and_never_read_as_empty(|db| {
        let mut bytes = std::fs::read(db).unwrap();
        let record = bytes
            .windows(b"testing_cluster".len())
            .position(|w| w == b"testing_cluster")
            .expect("the cluster's record is in the database file");
        for b in &mut bytes[record..record + 40] {
            *b = b'{';
        }
        std::fs::write(db, bytes).unwrap();
    });
}

#[test]
fn a_plan_file_from_another_project_or_cut_short_is_refused_and_changes_nothing() {
    let other = Project::new("three-stacks");
    let plan = other.root.join("other.plan");
    other.ok(&["plan", "base", "--out", plan.to_str().unwrap()]);

    let p = applied();
    p.edit("strata.hcl", "project \"demo\"", "project \"shop\"");
    let (state, cloud) = (state_view(&p, &[]), p.inventory());
    let r = fails(&p, &["apply", plan.to_str().unwrap()]);
    assert_says(
        &r,
        &[
            "the plan file belongs to project \"demo\", not \"shop\"",
            "hint: run strata plan again",
        ],
    );
    assert_eq!(state_view(&p, &[]), state);
    assert_eq!(p.inventory(), cloud);

    // A plan file cut off in the middle, as by a full disk or an interrupted copy.
    let own = p.root.join("own.plan");
    p.ok(&["plan", "base", "--out", own.to_str().unwrap()]);
    let bytes = std::fs::read(&own).unwrap();
    std::fs::write(&own, &bytes[..bytes.len() / 2]).unwrap();
    let r = fails(&p, &["apply", own.to_str().unwrap()]);
    assert_says(&r, &[own.to_str().unwrap()]);
    assert_eq!(state_view(&p, &[]), state);
    assert_eq!(p.inventory(), cloud);
}

// ---- Cloud answers -------------------------------------------------------------------------

const STAGE: &[&str] = &["--emulate", "--env", "stage"];

/// The DOKS example with its base stack applied in stage, with fast lifecycles and short HTTP
/// timings so that retries run out in seconds.
fn doks_applied() -> Project {
    let mut p = Project::from_dir(&crate::support::example("doks-ecommerce"));
    for (k, v) in [
        ("STRATA_EMULATOR_PROVISION_MS", "100"),
        ("STRATA_DIGITALOCEAN_POLL_MS", "100"),
        ("DIGITALOCEAN_HTTP_TIMEOUT_MS", "1000"),
        ("DIGITALOCEAN_RETRY_DEADLINE_MS", "3000"),
    ] {
        p.env.insert(k.into(), v.into());
    }
    p.ok(&[STAGE, &["apply", "base", "--auto-approve"]].concat());
    p
}

fn emulated_cloud(p: &Project) -> serde_json::Value {
    serde_json::from_str(&p.ok(&["emulator", "list", "--json"]).stdout).unwrap()
}

/// The emulator gives `kind` to every read of the cluster while a change to the cluster is
/// applied: refused with `parts` in the message, state and cloud unchanged, and once the cloud
/// answers properly again the same apply goes through.
fn cloud_answer_changes_nothing(kind: &str, parts: &[&str]) {
    let mut p = doks_applied();
    let (state, cloud) = (state_view(&p, &["--env", "stage"]), emulated_cloud(&p));
    p.edit("strata.hcl", "max_nodes     = 5", "max_nodes     = 6");

    p.env
        .insert("STRATA_EMULATOR_BAD_ANSWER".into(), kind.into());
    p.env.insert(
        "STRATA_EMULATOR_BAD_ANSWER_PATH".into(),
        "GET /v2/kubernetes/clusters/".into(),
    );
    let r = fails(&p, &[STAGE, &["apply", "base", "--auto-approve"]].concat());
    assert_says(
        &r,
        &[
            "base/digitalocean_kubernetes_cluster.main",
            "GET /v2/kubernetes/clusters/",
        ],
    );
    assert_says(&r, parts);
    // Neither the token nor a proxy's page ends up in the message.
    for leak in ["emulator-token", "<html", "Ray ID"] {
        assert!(!r.all().contains(leak), "{leak:?} in:\n{r:?}");
    }
    assert_eq!(state_view(&p, &["--env", "stage"]), state);
    assert_eq!(emulated_cloud(&p), cloud);

    p.env.remove("STRATA_EMULATOR_BAD_ANSWER");
    let r = p.ok(&[STAGE, &["apply", "base", "--auto-approve"]].concat());
    assert_says(&r, &["0 added, 1 changed, 0 destroyed"]);
}

#[test]
fn garbage_json_from_the_cloud_names_the_call_and_where_the_json_broke() {
    cloud_answer_changes_nothing("garbage", &["is not valid JSON (", "at line 1 column"]);
}

#[test]
fn an_html_502_is_retried_then_named_without_dumping_the_page() {
    cloud_answer_changes_nothing(
        "html502",
        &[
            "DigitalOcean answered 502 to GET",
            "an HTML page titled \"502 Bad Gateway\"",
            "gave up after",
        ],
    );
}

#[test]
fn a_100_mb_answer_is_refused_unread() {
    cloud_answer_changes_nothing("huge", &["is larger than 16 MiB; refusing to read it"]);
}

#[test]
fn a_reset_connection_is_retried_then_named() {
    cloud_answer_changes_nothing(
        "reset",
        &[
            "connection reset: the server closed the connection without answering",
            "gave up after",
        ],
    );
}

#[test]
fn a_hung_connection_times_out_within_the_deadline_and_says_so() {
    cloud_answer_changes_nothing("hang", &["timed out: no answer within 1s", "gave up after"]);
}
