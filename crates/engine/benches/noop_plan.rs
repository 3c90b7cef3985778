//! No-op plan without refresh: a stack of N resources whose state already matches the
//! configuration. Measures loading state, evaluating every instance and diffing it.
//!
//! Run: `cargo bench -p strata-engine --bench noop_plan` (sizes: 1,000, 10,000, 100,000).
//! After the timings it prints the peak resident memory of the process (VmHWM), which the
//! largest size dominates.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use strata_core::{Address, InstanceKey};
use strata_engine::{NoEvents, Options, Registry, Session};
use strata_state::{
    LocalStore, LockInfo, ResourceState, ResourceStatus, StackState, StateKey, StateStore,
};
use tokio_util::sync::CancellationToken;

const PER_BLOCK: usize = 100;

/// Writes a project with `n` resources in blocks of 100 (`count`), and state that matches it.
fn setup(dir: &Path, n: usize, rt: &tokio::runtime::Runtime) -> Session {
    let blocks = n / PER_BLOCK;
    std::fs::write(dir.join("strata.hcl"), "project \"bench\" {}\n").unwrap();
    std::fs::create_dir_all(dir.join("fleet")).unwrap();
    let mut hcl = String::from("provider \"testing\" {}\n\nlocals {\n  owner = \"platform\"\n}\n");
    for b in 0..blocks {
        hcl.push_str(&format!(
            "\nresource \"testing_thing\" \"r{b}\" {{\n  count = {PER_BLOCK}\n  name  = \"r{b}-${{count.index}}\"\n  size  = count.index\n  tags  = {{ owner = local.owner, block = \"{b}\" }}\n}}\n"
        ));
    }
    std::fs::write(dir.join("fleet/main.hcl"), hcl).unwrap();

    let store = LocalStore::open(dir, LockInfo::current("bench")).unwrap();
    let mut state = StackState::new();
    for b in 0..blocks {
        for i in 0..PER_BLOCK {
            let id = format!("id-{b}-{i}");
            let attributes = serde_json::json!({
                "id": id, "name": format!("r{b}-{i}"), "size": i, "password": null,
                "tags": { "owner": "platform", "block": b.to_string() },
                "secret": "s3cr3t", "created_at": "2026-01-01T00:00:00Z",
            });
            let address = Address::new("fleet", "testing_thing", format!("r{b}"))
                .with_key(Some(InstanceKey::Int(i as i64)));
            state.resources.insert(
                address.local(),
                ResourceState {
                    address,
                    provider: "testing".into(),
                    id,
                    attributes,
                    sensitive_paths: vec![strata_core::Path::root().key("secret")],
                    dependencies: Vec::new(),
                    schema_version: 0,
                    status: ResourceStatus::Ready,
                },
            );
        }
    }
    let key = StateKey {
        env: "default".into(),
        stack: "fleet".into(),
    };
    rt.block_on(store.persist(&key, &state, 0)).unwrap();

    let mut registry = Registry::new();
    registry.register(Arc::new(strata_provider_testing::TestingProvider::new()));
    std::env::set_var("STRATA_TESTING_DIR", dir.join("cloud"));
    Session::new(
        strata_config::load_project(dir).unwrap(),
        "default".into(),
        Arc::new(store),
        registry,
        Arc::new(NoEvents),
        Options {
            refresh: false,
            ..Options::default()
        },
        CancellationToken::new(),
    )
}

fn noop_plan(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut group = c.benchmark_group("noop_plan_without_refresh");
    group.sample_size(10);
    for n in [1_000usize, 10_000, 100_000] {
        let dir = tempfile::tempdir().unwrap();
        let session = setup(dir.path(), n, &rt);
        let all: BTreeSet<String> = session.project.stacks.keys().cloned().collect();
        // Sanity: the plan really is a no-op, or the numbers mean nothing.
        let plan = rt.block_on(session.plan(&all, false)).unwrap();
        assert!(
            !plan.has_changes(),
            "the benchmark state must match its configuration"
        );
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| rt.block_on(session.plan(&all, false)).unwrap())
        });
    }
    group.finish();
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        if let Some(line) = status.lines().find(|l| l.starts_with("VmHWM")) {
            eprintln!(
                "peak resident memory of the benchmark process: {}",
                line.trim_start_matches("VmHWM:").trim()
            );
        }
    }
}

criterion_group!(benches, noop_plan);
criterion_main!(benches);
