//! Text renderings of a graph for `strata graph`: Graphviz DOT and Mermaid.
//!
//! Arrows point from a dependent to what it depends on, as in `terraform graph`, so that reading
//! along an arrow reads "needs". Node names are `n<index>`, which both formats accept whatever
//! the label contains; labels are escaped for each format.

use crate::dag::Dag;
use std::fmt::Write;

impl<N> Dag<N> {
    /// Graphviz DOT, e.g. `digraph strata { n1 [label="vpc"]; n0 -> n1; }` (one item a line).
    pub fn to_dot(&self, label: impl Fn(&N) -> String) -> String {
        let mut out = String::from("digraph strata {\n  rankdir = \"RL\";\n");
        for id in self.node_ids() {
            let _ = writeln!(
                out,
                "  {id} [label=\"{}\"];",
                escape_dot(&label(self.node(id)))
            );
        }
        for (dependent, dependency) in self.dependency_edges() {
            let _ = writeln!(out, "  {dependent} -> {dependency};");
        }
        out.push_str("}\n");
        out
    }

    /// A Mermaid flowchart, e.g. `flowchart RL` / `n1["vpc"]` / `n0 --> n1`.
    pub fn to_mermaid(&self, label: impl Fn(&N) -> String) -> String {
        let mut out = String::from("flowchart RL\n");
        for id in self.node_ids() {
            let _ = writeln!(out, "  {id}[\"{}\"]", escape_mermaid(&label(self.node(id))));
        }
        for (dependent, dependency) in self.dependency_edges() {
            let _ = writeln!(out, "  {dependent} --> {dependency}");
        }
        out
    }
}

fn escape_dot(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Mermaid has no backslash escapes inside quoted labels; it uses HTML entity codes instead.
fn escape_mermaid(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '\n' => out.push_str("<br/>"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::Dag;

    fn sample() -> Dag<&'static str> {
        let mut dag = Dag::new();
        let cluster = dag.add_node("base/cluster.main");
        let vpc = dag.add_node("base/vpc[\"a\"]");
        dag.add_dependency(cluster, vpc);
        dag
    }

    #[test]
    fn dot_lists_nodes_and_points_at_dependencies() {
        let dot = sample().to_dot(|n| n.to_string());
        assert!(dot.starts_with("digraph strata {\n"), "{dot}");
        assert!(
            dot.contains("  n0 [label=\"base/cluster.main\"];\n"),
            "{dot}"
        );
        assert!(
            dot.contains("  n1 [label=\"base/vpc[\\\"a\\\"]\"];\n"),
            "{dot}"
        );
        assert!(dot.contains("  n0 -> n1;\n"), "{dot}");
        assert!(dot.ends_with("}\n"));
    }

    #[test]
    fn mermaid_escapes_quotes() {
        let m = sample().to_mermaid(|n| n.to_string());
        assert!(m.starts_with("flowchart RL\n"), "{m}");
        assert!(m.contains("  n1[\"base/vpc[#quot;a#quot;]\"]\n"), "{m}");
        assert!(m.contains("  n0 --> n1\n"), "{m}");
    }
}
