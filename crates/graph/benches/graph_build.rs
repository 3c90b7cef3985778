//! Graph building and ordering at the scale of a large estate: 100,000 nodes with about a million
//! edges (each node depends on up to ten random earlier ones) and with about 300,000 edges.
//! The seed is fixed so runs compare like with like.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::hint::black_box;
use strata_graph::Dag;

const NODES: usize = 100_000;

/// `(dependent, dependency)` index pairs; dependencies always come earlier, so the graph is
/// acyclic. Duplicates are kept: `add_dependency` has to cope with them.
fn random_edges(draws_per_node: usize, seed: u64) -> Vec<(usize, usize)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut edges = Vec::with_capacity(NODES * draws_per_node);
    for node in 1..NODES {
        for _ in 0..draws_per_node.min(node) {
            edges.push((node, rng.random_range(0..node)));
        }
    }
    edges
}

fn build(edges: &[(usize, usize)]) -> Dag<u32> {
    let mut dag = Dag::with_capacity(NODES, edges.len());
    let ids: Vec<_> = (0..NODES as u32).map(|i| dag.add_node(i)).collect();
    for &(dependent, dependency) in edges {
        dag.add_dependency(ids[dependent], ids[dependency]);
    }
    dag
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("graph_build");
    group.sample_size(10);
    // Ten draws per node give up to ten distinct dependencies (about a million edges in all);
    // three draws give about 300,000.
    for (name, draws) in [("1M_edges", 10), ("300k_edges", 3)] {
        let edges = random_edges(draws, 42);
        let dag = build(&edges);
        eprintln!(
            "{name}: {} nodes, {} distinct edges",
            dag.len(),
            dag.edge_count()
        );
        group.bench_with_input(BenchmarkId::new("build", name), &edges, |b, edges| {
            b.iter(|| black_box(build(edges)))
        });
        group.bench_with_input(
            BenchmarkId::new("topological_order", name),
            &dag,
            |b, dag| b.iter(|| black_box(dag.topological_order().map(|o| o.len()))),
        );
        group.bench_with_input(
            BenchmarkId::new("build_and_order", name),
            &edges,
            |b, edges| b.iter(|| black_box(build(edges).topological_order().map(|o| o.len()))),
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
