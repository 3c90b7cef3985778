//! A set of directed edges for O(1) duplicate detection.
//!
//! petgraph's own `find_edge` scans a node's adjacency list, which is quadratic for a hub that
//! thousands of nodes depend on (a VPC, a shared cluster). Edges are packed into one `u64` and
//! hashed with a cheap multiplicative hash: the keys are graph indices, not attacker-controlled
//! input, so a DoS-resistant hasher would only cost time.

use petgraph::graph::NodeIndex;
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

#[derive(Clone, Default)]
pub(crate) struct EdgeSet(HashSet<u64, BuildHasherDefault<PackedEdgeHasher>>);

fn pack(from: NodeIndex, to: NodeIndex) -> u64 {
    ((from.index() as u64) << 32) | to.index() as u64
}

impl EdgeSet {
    pub(crate) fn with_capacity(n: usize) -> EdgeSet {
        EdgeSet(HashSet::with_capacity_and_hasher(n, Default::default()))
    }

    /// Adds the edge; false if it was already present.
    pub(crate) fn insert(&mut self, from: NodeIndex, to: NodeIndex) -> bool {
        self.0.insert(pack(from, to))
    }

    pub(crate) fn contains(&self, from: NodeIndex, to: NodeIndex) -> bool {
        self.0.contains(&pack(from, to))
    }

    pub(crate) fn reversed(&self) -> EdgeSet {
        let mut out = EdgeSet::with_capacity(self.0.len());
        out.0.extend(self.0.iter().map(|&e| e.rotate_left(32)));
        out
    }
}

/// Fibonacci hashing of a single `u64`; the set never hashes anything else.
#[derive(Default)]
pub(crate) struct PackedEdgeHasher(u64);

impl Hasher for PackedEdgeHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        let x = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = x ^ (x >> 29);
    }
}
