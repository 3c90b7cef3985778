//! The dependency graph itself: nodes, "depends on" edges, orders and cycles.
//!
//! Edges are stored in petgraph pointing from a dependency to its dependent ("must happen
//! before"), so that a plain topological order of the petgraph graph is already "dependencies
//! first". The public API only ever speaks of dependencies and dependents, never of edge
//! directions, so callers cannot get the direction wrong.
//!
//! Every algorithm here is iterative: graphs with a million nodes in one long chain are legal and
//! must not overflow the stack.

use crate::edge_set::EdgeSet;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction::{Incoming, Outgoing};
use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;

/// The identity of a node in one [`Dag`]. Ids are dense, assigned in insertion order, and only
/// meaningful for the graph that issued them (see [`Dag::subgraph`] for the mapping between
/// graphs).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(NodeIndex);

impl NodeId {
    /// The position of the node in insertion order; handy as an index into side tables.
    pub fn index(self) -> usize {
        self.0.index()
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0.index())
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0.index())
    }
}

/// A dependency cycle: `nodes[0]` depends on `nodes[1]`, which depends on `nodes[2]`, …, and
/// the last node depends on `nodes[0]`. A node that depends on itself is a cycle of one.
///
/// The cycle starts at its node with the smallest id (the one declared first), so the same
/// configuration always reports the same cycle in the same words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dependency cycle through {} node(s)", nodes.len())]
pub struct Cycle {
    pub nodes: Vec<NodeId>,
}

impl Cycle {
    /// The edges of the cycle as `(dependent, dependency)` pairs, in order, closing back on the
    /// first node, so that each one can be reported with the place it was declared.
    pub fn edges(&self) -> impl Iterator<Item = (NodeId, NodeId)> + '_ {
        let n = self.nodes.len();
        (0..n).map(move |i| (self.nodes[i], self.nodes[(i + 1) % n]))
    }

    /// Renders the cycle as `a -> b -> c -> a` with the given labels.
    pub fn describe(&self, label: impl Fn(NodeId) -> String) -> String {
        let mut parts: Vec<String> = self.nodes.iter().map(|&id| label(id)).collect();
        if let Some(&first) = self.nodes.first() {
            parts.push(label(first));
        }
        parts.join(" -> ")
    }
}

/// A directed acyclic graph of "depends on" relations between nodes of type `N`.
///
/// Acyclicity is not enforced while building (a configuration may well contain a cycle, and the
/// user needs to see it); [`Dag::topological_order`] and [`Dag::find_cycle`] report it.
#[derive(Clone)]
pub struct Dag<N> {
    /// Edges point from dependency to dependent.
    graph: DiGraph<N, ()>,
    /// Lets `add_dependency` ignore duplicates in O(1) regardless of node degree.
    edges: EdgeSet,
}

impl<N> Default for Dag<N> {
    fn default() -> Self {
        Dag::new()
    }
}

impl<N: fmt::Debug> fmt::Debug for Dag<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_map();
        for id in self.node_ids() {
            let deps: Vec<NodeId> = self.dependencies(id).collect();
            list.entry(&(id, self.node(id)), &deps);
        }
        list.finish()
    }
}

impl<N> Dag<N> {
    pub fn new() -> Self {
        Dag {
            graph: DiGraph::new(),
            edges: EdgeSet::default(),
        }
    }

    pub fn with_capacity(nodes: usize, edges: usize) -> Self {
        Dag {
            graph: DiGraph::with_capacity(nodes, edges),
            edges: EdgeSet::with_capacity(edges),
        }
    }

    pub fn add_node(&mut self, n: N) -> NodeId {
        NodeId(self.graph.add_node(n))
    }

    /// Records that `dependent` needs `dependency` to be done first. Duplicate edges are
    /// ignored; an edge from a node to itself is kept and reported as a cycle.
    ///
    /// # Panics
    /// If either id was not issued by this graph, like indexing a slice out of bounds.
    pub fn add_dependency(&mut self, dependent: NodeId, dependency: NodeId) {
        assert!(
            dependent.index() < self.len() && dependency.index() < self.len(),
            "node id not issued by this graph"
        );
        if self.edges.insert(dependency.0, dependent.0) {
            self.graph.add_edge(dependency.0, dependent.0, ());
        }
    }

    /// True if `dependent` directly depends on `dependency`.
    pub fn has_dependency(&self, dependent: NodeId, dependency: NodeId) -> bool {
        self.edges.contains(dependency.0, dependent.0)
    }

    pub fn node(&self, id: NodeId) -> &N {
        &self.graph[id.0]
    }

    pub fn node_mut(&mut self, id: NodeId) -> &mut N {
        &mut self.graph[id.0]
    }

    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    pub fn is_empty(&self) -> bool {
        self.graph.node_count() == 0
    }

    /// The number of distinct dependency edges.
    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// Every node, in insertion order.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.graph.node_indices().map(NodeId)
    }

    /// The nodes `id` directly depends on.
    pub fn dependencies(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.graph.neighbors_directed(id.0, Incoming).map(NodeId)
    }

    /// The nodes that directly depend on `id`.
    pub fn dependents(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.graph.neighbors_directed(id.0, Outgoing).map(NodeId)
    }

    /// Every node reachable from `ids` through dependencies, transitively. The nodes in `ids`
    /// are included only if another node of `ids` (or a cycle) leads back to them.
    pub fn ancestors(&self, ids: &[NodeId]) -> HashSet<NodeId> {
        self.reachable(ids, Incoming)
    }

    /// Every node that depends on one of `ids`, transitively. The nodes in `ids` are included
    /// only if another node of `ids` (or a cycle) leads back to them.
    pub fn descendants(&self, ids: &[NodeId]) -> HashSet<NodeId> {
        self.reachable(ids, Outgoing)
    }

    fn reachable(&self, ids: &[NodeId], dir: petgraph::Direction) -> HashSet<NodeId> {
        let mut seen = HashSet::new();
        let mut stack: Vec<NodeIndex> = Vec::new();
        for id in ids {
            stack.extend(self.graph.neighbors_directed(id.0, dir));
        }
        while let Some(n) = stack.pop() {
            if seen.insert(NodeId(n)) {
                stack.extend(self.graph.neighbors_directed(n, dir));
            }
        }
        seen
    }

    /// Every node, dependencies before their dependents, or the first cycle found.
    ///
    /// The order is deterministic (Kahn's algorithm seeded in insertion order) and the cost is
    /// linear in nodes plus edges.
    pub fn topological_order(&self) -> Result<Vec<NodeId>, Cycle> {
        let mut waiting = self.pending_dependency_counts();
        let mut ready: VecDeque<NodeIndex> = self
            .graph
            .node_indices()
            .filter(|n| waiting[n.index()] == 0)
            .collect();
        let mut order = Vec::with_capacity(self.len());
        while let Some(n) = ready.pop_front() {
            order.push(NodeId(n));
            for dependent in self.graph.neighbors_directed(n, Outgoing) {
                let w = &mut waiting[dependent.index()];
                *w -= 1;
                if *w == 0 {
                    ready.push_back(dependent);
                }
            }
        }
        if order.len() == self.len() {
            Ok(order)
        } else {
            Err(self.cycle_among_blocked(&waiting))
        }
    }

    /// One dependency cycle, if the graph has any.
    pub fn find_cycle(&self) -> Option<Cycle> {
        self.topological_order().err()
    }

    /// For each node (by index), how many distinct dependencies it has.
    fn pending_dependency_counts(&self) -> Vec<u32> {
        let mut counts = vec![0u32; self.len()];
        for e in self.graph.edge_references() {
            counts[e.target().index()] += 1;
        }
        counts
    }

    /// After Kahn's algorithm stalls, every node still waiting has a dependency that is also
    /// still waiting (otherwise its count would have reached zero). Following such dependencies
    /// from any waiting node must therefore revisit a node, and the part of the path from that
    /// node on is a cycle. Each node is visited at most once, so this is linear too.
    fn cycle_among_blocked(&self, waiting: &[u32]) -> Cycle {
        let start = waiting
            .iter()
            .position(|&w| w > 0)
            .expect("a stalled topological sort leaves a waiting node");
        const NOT_ON_PATH: usize = usize::MAX;
        let mut position_in_path = vec![NOT_ON_PATH; self.len()];
        let mut path: Vec<NodeIndex> = Vec::new();
        let mut cur = NodeIndex::new(start);
        loop {
            let at = position_in_path[cur.index()];
            if at != NOT_ON_PATH {
                let mut nodes: Vec<NodeId> = path[at..].iter().copied().map(NodeId).collect();
                let first = (0..nodes.len()).min_by_key(|&i| nodes[i]).unwrap_or(0);
                nodes.rotate_left(first);
                return Cycle { nodes };
            }
            position_in_path[cur.index()] = path.len();
            path.push(cur);
            cur = self
                .graph
                .neighbors_directed(cur, Incoming)
                .filter(|d| waiting[d.index()] > 0)
                .min()
                .expect("a waiting node has a waiting dependency");
        }
    }

    /// The same nodes with every edge reversed: what was a dependent becomes a dependency.
    /// Destroying walks this graph, so that dependents are deleted before what they use.
    pub fn reversed(&self) -> Dag<N>
    where
        N: Clone,
    {
        let mut graph = self.graph.clone();
        graph.reverse();
        Dag {
            graph,
            edges: self.edges.reversed(),
        }
    }

    /// Keeps only the nodes in `keep` and the edges among them. Returns the new graph and the
    /// mapping from old ids to new ones. New ids follow the old insertion order.
    pub fn subgraph(&self, keep: &HashSet<NodeId>) -> (Dag<N>, HashMap<NodeId, NodeId>)
    where
        N: Clone,
    {
        let mut kept: Vec<NodeId> = keep
            .iter()
            .copied()
            .filter(|id| id.index() < self.len())
            .collect();
        kept.sort_unstable();
        let mut sub = Dag::with_capacity(kept.len(), 0);
        let mut mapping = HashMap::with_capacity(kept.len());
        for &old in &kept {
            mapping.insert(old, sub.add_node(self.node(old).clone()));
        }
        for &old in &kept {
            for dep in self.dependencies(old) {
                if let Some(&new_dep) = mapping.get(&dep) {
                    sub.add_dependency(mapping[&old], new_dep);
                }
            }
        }
        (sub, mapping)
    }

    /// All `(dependent, dependency)` pairs, in edge insertion order.
    pub fn dependency_edges(&self) -> impl Iterator<Item = (NodeId, NodeId)> + '_ {
        self.graph
            .edge_references()
            .map(|e| (NodeId(e.target()), NodeId(e.source())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: usize) -> (Dag<usize>, Vec<NodeId>) {
        let mut dag = Dag::with_capacity(n, n);
        let ids: Vec<NodeId> = (0..n).map(|i| dag.add_node(i)).collect();
        for w in ids.windows(2) {
            dag.add_dependency(w[1], w[0]);
        }
        (dag, ids)
    }

    #[test]
    fn topological_order_puts_dependencies_first() {
        let mut dag = Dag::new();
        let vpc = dag.add_node("vpc");
        let cluster = dag.add_node("cluster");
        let subnet = dag.add_node("subnet");
        let app = dag.add_node("app");
        dag.add_dependency(cluster, subnet);
        dag.add_dependency(subnet, vpc);
        dag.add_dependency(app, cluster);
        dag.add_dependency(app, vpc);
        let order = dag.topological_order().unwrap();
        assert_eq!(order.len(), 4);
        let pos = |id| order.iter().position(|&x| x == id).unwrap();
        for (dependent, dependency) in dag.dependency_edges() {
            assert!(
                pos(dependency) < pos(dependent),
                "{dependency:?} before {dependent:?}"
            );
        }
        assert_eq!(order, vec![vpc, subnet, cluster, app]);
    }

    #[test]
    fn duplicate_edges_are_ignored() {
        let mut dag = Dag::new();
        let a = dag.add_node('a');
        let b = dag.add_node('b');
        dag.add_dependency(a, b);
        dag.add_dependency(a, b);
        assert_eq!(dag.edge_count(), 1);
        assert_eq!(dag.dependencies(a).collect::<Vec<_>>(), vec![b]);
        assert_eq!(dag.dependents(b).collect::<Vec<_>>(), vec![a]);
        assert!(dag.has_dependency(a, b) && !dag.has_dependency(b, a));
    }

    #[test]
    fn cycle_is_named_node_by_node_in_edge_order() {
        let mut dag = Dag::new();
        let names = ["a", "b", "c", "d"];
        let ids: Vec<NodeId> = names.iter().map(|n| dag.add_node(*n)).collect();
        let (a, b, c, d) = (ids[0], ids[1], ids[2], ids[3]);
        // d hangs off the cycle and must not be part of the report.
        dag.add_dependency(d, a);
        dag.add_dependency(b, c);
        dag.add_dependency(c, a);
        dag.add_dependency(a, b);
        let cycle = dag.topological_order().unwrap_err();
        assert_eq!(cycle.nodes, vec![a, b, c]);
        assert_eq!(
            cycle.describe(|id| dag.node(id).to_string()),
            "a -> b -> c -> a"
        );
        let edges: Vec<_> = cycle.edges().collect();
        assert_eq!(edges, vec![(a, b), (b, c), (c, a)]);
        for (dependent, dependency) in edges {
            assert!(dag.has_dependency(dependent, dependency));
        }
        assert_eq!(dag.find_cycle(), Some(cycle));
    }

    #[test]
    fn self_dependency_is_a_cycle_of_one() {
        let mut dag = Dag::new();
        let a = dag.add_node(());
        dag.add_dependency(a, a);
        assert_eq!(dag.find_cycle().unwrap().nodes, vec![a]);
    }

    #[test]
    fn acyclic_graph_has_no_cycle() {
        let (dag, _) = chain(10);
        assert!(dag.find_cycle().is_none());
    }

    #[test]
    fn million_node_chain_neither_overflows_nor_misorders() {
        let (mut dag, ids) = chain(1_000_000);
        let order = dag.topological_order().unwrap();
        assert_eq!(order, ids);
        assert_eq!(dag.ancestors(&[ids[999_999]]).len(), 999_999);
        assert_eq!(dag.descendants(&[ids[0]]).len(), 999_999);
        // Closing the chain makes one huge cycle, which must be found without recursion too.
        dag.add_dependency(ids[0], ids[999_999]);
        let cycle = dag.find_cycle().unwrap();
        assert_eq!(cycle.nodes.len(), 1_000_000);
        assert_eq!(cycle.nodes[0], ids[0]);
        assert_eq!(cycle.nodes[1], ids[999_999]);
    }

    #[test]
    fn ancestors_and_descendants_are_transitive() {
        let (dag, ids) = chain(5);
        let up = dag.ancestors(&[ids[3]]);
        assert_eq!(up, HashSet::from([ids[0], ids[1], ids[2]]));
        let down = dag.descendants(&[ids[1]]);
        assert_eq!(down, HashSet::from([ids[2], ids[3], ids[4]]));
        // A start node is included only when reached from another start node.
        let both = dag.descendants(&[ids[1], ids[3]]);
        assert_eq!(both, HashSet::from([ids[2], ids[3], ids[4]]));
    }

    #[test]
    fn reversed_puts_dependents_first() {
        let (dag, ids) = chain(4);
        let rev = dag.reversed();
        let order = rev.topological_order().unwrap();
        assert_eq!(order, ids.iter().rev().copied().collect::<Vec<_>>());
        assert!(rev.has_dependency(ids[0], ids[1]));
        assert_eq!(*rev.node(ids[2]), 2);
    }

    #[test]
    fn subgraph_keeps_edges_among_kept_nodes() {
        let (dag, ids) = chain(5);
        let keep = HashSet::from([ids[1], ids[2], ids[4]]);
        let (sub, map) = dag.subgraph(&keep);
        assert_eq!(sub.len(), 3);
        assert_eq!(*sub.node(map[&ids[4]]), 4);
        assert!(sub.has_dependency(map[&ids[2]], map[&ids[1]]));
        // The edge 4 -> 3 leaves the subgraph, so 4 has no dependency left.
        assert_eq!(sub.dependencies(map[&ids[4]]).count(), 0);
        assert_eq!(sub.edge_count(), 1);
    }
}
