//! The stack graph: one node per stack, an edge per `dependency` block.

use crate::EngineError;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use strata_config::Project;
use strata_core::Diagnostic;
use strata_graph::{Dag, NodeId};

/// The project's stacks in dependency order.
pub struct StackGraph {
    pub dag: Dag<String>,
    ids: HashMap<String, NodeId>,
}

impl StackGraph {
    /// Builds the graph; a cycle is reported edge by edge with the `dependency` block making each.
    pub fn build(project: &Project) -> Result<StackGraph, EngineError> {
        let mut dag = Dag::new();
        let mut ids = HashMap::new();
        for name in project.stacks.keys() {
            ids.insert(name.clone(), dag.add_node(name.clone()));
        }
        let mut diags = Vec::new();
        for (name, stack) in &project.stacks {
            for dep in stack.dependencies.values() {
                match ids.get(&dep.stack) {
                    Some(upstream) => dag.add_dependency(ids[name], *upstream),
                    None => diags.push(
                        Diagnostic::error(format!(
                            "dependency {:?} names stack {:?}, which does not exist",
                            dep.name, dep.stack
                        ))
                        .with_span(dep.span.clone(), project.sources.line(&dep.span)),
                    ),
                }
            }
        }
        if !diags.is_empty() {
            return Err(EngineError::Config(diags));
        }
        if let Some(cycle) = dag.find_cycle() {
            let names: Vec<&String> = cycle.nodes.iter().map(|n| dag.node(*n)).collect();
            let mut chain: Vec<String> = names.iter().map(|s| s.to_string()).collect();
            chain.push(names[0].to_string());
            let first = &project.stacks[names[0]];
            let next = names.get(1).copied().unwrap_or(names[0]);
            let first_edge = first.dependencies.values().find(|d| &d.stack == next);
            let mut diag = Diagnostic::error(format!(
                "dependency cycle between stacks: {}",
                chain.join(" -> ")
            ));
            if let Some(edge) = first_edge {
                diag = diag.with_span(edge.span.clone(), project.sources.line(&edge.span));
            }
            for (i, from) in names.iter().enumerate() {
                let to = names[(i + 1) % names.len()];
                if let Some(edge) = project.stacks[*from]
                    .dependencies
                    .values()
                    .find(|d| &d.stack == to)
                {
                    diag = diag.with_note(
                        format!("stack {from:?} depends on {to:?} here"),
                        Some(edge.span.clone()),
                    );
                }
            }
            diag = diag.with_hint("a stack cannot consume outputs of a stack that consumes its own; move the shared resources into a stack of their own");
            return Err(EngineError::Config(vec![diag]));
        }
        Ok(StackGraph { dag, ids })
    }

    pub fn id(&self, stack: &str) -> Option<NodeId> {
        self.ids.get(stack).copied()
    }

    /// Every stack in dependency order.
    pub fn order(&self) -> Vec<String> {
        self.dag
            .topological_order()
            .map(|o| o.into_iter().map(|id| self.dag.node(id).clone()).collect())
            .unwrap_or_default()
    }

    /// The given stacks in dependency order (upstream first).
    pub fn ordered(&self, selected: &BTreeSet<String>) -> Vec<String> {
        self.order()
            .into_iter()
            .filter(|s| selected.contains(s))
            .collect()
    }

    /// The given stacks in waves: no stack depends on another of its wave, so a wave's stacks
    /// can run at once, each wave after the ones before it. With `reverse` (destroy), a stack
    /// comes after every selected stack that consumes it. Within a wave, stacks keep their
    /// dependency order (reversed with `reverse`), so output and reports stay in a stable order.
    pub fn waves(&self, selected: &BTreeSet<String>, reverse: bool) -> Vec<Vec<String>> {
        let mut order = self.ordered(selected);
        if reverse {
            order.reverse();
        }
        // The stacks that must be done before each one: its upstream, or for destroy its
        // consumers, among the selected.
        let before = |stack: &str| -> Vec<String> {
            if reverse {
                order
                    .iter()
                    .filter(|other| self.upstream(other).iter().any(|u| u == stack))
                    .cloned()
                    .collect()
            } else {
                self.upstream(stack)
                    .into_iter()
                    .filter(|u| selected.contains(u))
                    .collect()
            }
        };
        let mut level: HashMap<String, usize> = HashMap::new();
        let mut waves: Vec<Vec<String>> = Vec::new();
        for stack in &order {
            let wave = before(stack)
                .iter()
                .filter_map(|b| level.get(b))
                .map(|l| l + 1)
                .max()
                .unwrap_or(0);
            level.insert(stack.clone(), wave);
            if waves.len() <= wave {
                waves.resize_with(wave + 1, Vec::new);
            }
            waves[wave].push(stack.clone());
        }
        waves
    }

    /// Stacks that depend (directly or not) on any of `stacks`.
    pub fn downstream_of(&self, stacks: &BTreeSet<String>) -> BTreeSet<String> {
        let ids: Vec<NodeId> = stacks.iter().filter_map(|s| self.id(s)).collect();
        self.dag
            .descendants(&ids)
            .into_iter()
            .map(|id| self.dag.node(id).clone())
            .collect()
    }

    /// Direct upstream stacks of `stack`.
    pub fn upstream(&self, stack: &str) -> Vec<String> {
        match self.id(stack) {
            Some(id) => self
                .dag
                .dependencies(id)
                .map(|d| self.dag.node(d).clone())
                .collect(),
            None => Vec::new(),
        }
    }
}

/// Checks that every named stack exists, suggesting the nearest name otherwise.
pub fn select(
    project: &Project,
    names: &[String],
    all: bool,
) -> Result<BTreeSet<String>, EngineError> {
    if all || names.is_empty() {
        return Ok(project.stacks.keys().cloned().collect());
    }
    let mut out = BTreeSet::new();
    let mut diags = Vec::new();
    for n in names {
        let n = n.trim_end_matches('/');
        if project.stacks.contains_key(n) {
            out.insert(n.to_string());
        } else {
            let mut d = Diagnostic::error(format!(
                "no stack named {n:?} in project {:?}",
                project.name
            ));
            let known: Vec<&str> = project.stacks.keys().map(String::as_str).collect();
            d = match strata_core::diagnostic::nearest(n, known.iter().copied()) {
                Some(near) => d.with_hint(format!("did you mean {near:?}?")),
                None => d.with_hint(format!("the stacks are: {}", known.join(", "))),
            };
            diags.push(d);
        }
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(EngineError::Config(diags))
    }
}

/// Which stacks consume which others' outputs, for `destroy`'s refusal message.
pub fn consumers(project: &Project) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, stack) in &project.stacks {
        for dep in stack.dependencies.values() {
            out.entry(dep.stack.clone()).or_default().push(name.clone());
        }
    }
    out
}

/// The graph `strata graph` draws: a node per stack and per resource block, edges for references
/// inside a stack, for `dependency` blocks, and from resources to the stacks whose outputs they read.
pub fn project_graph(
    project: &Project,
    selected: &BTreeSet<String>,
) -> Result<Dag<String>, EngineError> {
    use strata_config::RefKind;
    use strata_core::Mode;
    StackGraph::build(project)?;
    let mut dag = Dag::new();
    let mut ids: HashMap<String, NodeId> = HashMap::new();
    let mut node = |dag: &mut Dag<String>, label: String| {
        *ids.entry(label.clone())
            .or_insert_with(|| dag.add_node(label))
    };
    for name in selected {
        let stack = &project.stacks[name];
        let stack_id = node(&mut dag, format!("stack {name}"));
        for dep in stack.dependencies.values() {
            let up = node(&mut dag, format!("stack {}", dep.stack));
            dag.add_dependency(stack_id, up);
        }
        let label = |mode: Mode, t: &str, n: &str| match mode {
            Mode::Managed => format!("{name}/{t}.{n}"),
            Mode::Data => format!("{name}/data.{t}.{n}"),
        };
        for r in &stack.resources {
            let id = node(&mut dag, label(r.mode, &r.type_name, &r.name));
            let mut refs = r.body.references();
            refs.extend(r.count.iter().flat_map(|e| e.references()));
            refs.extend(r.for_each.iter().flat_map(|e| e.references()));
            refs.extend(r.depends_on.iter().map(|(r, _)| r.clone()));
            // References through locals count as references to what the local reads.
            let mut seen = BTreeSet::new();
            while let Some(reference) = refs.pop() {
                match &reference.kind {
                    RefKind::Resource {
                        mode,
                        type_name,
                        name: n,
                    } => {
                        let to = node(&mut dag, label(*mode, type_name, n));
                        if to != id {
                            dag.add_dependency(id, to);
                        }
                    }
                    RefKind::Dependency { name: dep, .. } => {
                        if let Some(d) = stack.dependencies.get(dep) {
                            let to = node(&mut dag, format!("stack {}", d.stack));
                            dag.add_dependency(id, to);
                        }
                    }
                    RefKind::Local(l) if seen.insert(l.clone()) => {
                        if let Some(local) = stack.locals.get(l) {
                            refs.extend(local.expr.references());
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(dag)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A project whose stacks depend on each other as `deps` says: (stack, its upstream stacks).
    fn project(deps: &[(&str, &[&str])]) -> (tempfile::TempDir, Project) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("strata.hcl"), "project \"waves\" {}\n").unwrap();
        for (stack, upstream) in deps {
            let folder = dir.path().join(stack);
            std::fs::create_dir(&folder).unwrap();
            let blocks: String = upstream
                .iter()
                .map(|u| format!("dependency \"{u}\" {{\n  stack = \"{u}\"\n}}\n"))
                .collect();
            std::fs::write(folder.join("main.hcl"), blocks).unwrap();
        }
        let project = strata_config::load_project(dir.path()).unwrap();
        (dir, project)
    }

    fn all(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn independent_stacks_share_a_wave_and_destroy_reverses_the_waves() {
        let (_dir, p) = project(&[
            ("base", &[]),
            ("database", &[]),
            ("deploy", &["base", "database"]),
            ("monitoring", &["base"]),
        ]);
        let g = StackGraph::build(&p).unwrap();
        let selected = all(&["base", "database", "deploy", "monitoring"]);
        let waves = g.waves(&selected, false);
        assert_eq!(waves.len(), 2, "{waves:?}");
        assert_eq!(
            all(&waves[0].iter().map(String::as_str).collect::<Vec<_>>()),
            all(&["base", "database"])
        );
        assert_eq!(
            all(&waves[1].iter().map(String::as_str).collect::<Vec<_>>()),
            all(&["deploy", "monitoring"])
        );
        let reverse = g.waves(&selected, true);
        assert_eq!(
            all(&reverse[0].iter().map(String::as_str).collect::<Vec<_>>()),
            all(&["deploy", "monitoring"])
        );
        assert_eq!(
            all(&reverse[1].iter().map(String::as_str).collect::<Vec<_>>()),
            all(&["base", "database"])
        );
    }

    #[test]
    fn a_chain_runs_one_stack_per_wave_and_unselected_stacks_do_not_hold_anything_back() {
        let (_dir, p) = project(&[
            ("base", &[]),
            ("database", &["base"]),
            ("deploy", &["database"]),
        ]);
        let g = StackGraph::build(&p).unwrap();
        let chain = g.waves(&all(&["base", "database", "deploy"]), false);
        assert_eq!(
            chain,
            vec![
                vec!["base".to_string()],
                vec!["database".into()],
                vec!["deploy".into()]
            ]
        );
        // Without database selected, deploy does not wait for base.
        let two = g.waves(&all(&["base", "deploy"]), false);
        assert_eq!(two.len(), 1, "{two:?}");
    }
}
