//! One stack's graph and its two walks.
//!
//! The graph has a node per local, provider configuration, resource block, output, and resource
//! instance that state holds but configuration no longer declares (an *orphan*, to be deleted).
//! Edges come from references and `depends_on`.
//!
//! - The **plan walk** evaluates every node in dependency order with planned values: refreshes what
//!   state holds through the provider, diffs it against the configuration, and records a
//!   [`ResourceChange`] per instance. Values not known before apply flow on as unknowns.
//! - The **apply walk** goes over the same graph with real values: it re-evaluates each changed
//!   instance (unknowns are known by then), records an intent in the journal, calls the provider,
//!   and records the result before any dependent starts. A failure skips only the dependents.

use crate::events::Events;
use crate::registry::Registry;
use crate::scope::{Expansion, InstanceScope, StackValues};
use crate::EngineError;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use strata_config::{Project, RefKind, ResourceBlock, Stack};
use strata_core::provider::{
    CreateRequest, DataRequest, DeleteRequest, OperationContext, PlanRequest, Provider,
    ReadRequest, ResourceObject, UpdateRequest,
};
use strata_core::schema::ResourceSchema;
use strata_core::{Address, AddressPattern, Diagnostic, InstanceKey, Mode, Path, Value};
use strata_graph::{Dag, Limiter, NodeId, Outcome};
use strata_plan::{Action, ResourceChange};
use strata_state::{
    Intent, IntentAction, JournalEntry, OutputState, ResourceState, ResourceStatus, StackState,
    StateKey, StateStore,
};
use tokio_util::sync::CancellationToken;

mod apply;
mod plan;
mod walk;

pub use apply::Journal;
use walk::Walk;

/// One instance of a block: its key, and the `each` or `count.index` it sees.
type Instance = (Option<InstanceKey>, Option<(Value, Value)>, Option<i64>);

/// A node of a stack's graph.
#[derive(Debug, Clone)]
pub enum Node {
    Local(String),
    /// A provider configuration, by its key (`aws` or `aws.west`).
    Provider(String),
    /// Index into `Stack::resources`.
    Resource(usize),
    Output(String),
    /// An instance in state that configuration no longer declares (key: local address).
    Orphan(String),
}

/// Inputs of one stack's walks.
pub struct StackRun<'a> {
    pub project: &'a Project,
    pub stack: &'a Stack,
    pub key: StateKey,
    pub registry: &'a Registry,
    pub events: Arc<dyn Events>,
    pub variables: BTreeMap<String, Value>,
    /// Dependency name → that stack's outputs (a map), or Unknown.
    pub dependencies: BTreeMap<String, Value>,
    /// Bounds on provider calls (`--parallelism`, adaptive per provider).
    pub limits: Arc<crate::limits::CallLimits>,
    pub refresh: bool,
    pub targets: Vec<AddressPattern>,
    pub excludes: Vec<AddressPattern>,
    pub cancel: CancellationToken,
}

/// The result of planning a stack.
pub struct PlannedStack {
    pub changes: Vec<ResourceChange>,
    pub outputs: BTreeMap<String, (Value, bool)>,
    /// State as refreshed (what apply starts from).
    pub refreshed: StackState,
    pub warnings: Vec<Diagnostic>,
}

/// The result of applying a stack.
#[derive(Debug, Default)]
pub struct AppliedStack {
    pub succeeded: Vec<(Address, Action)>,
    pub failed: Vec<(Address, String)>,
    pub skipped: Vec<(Address, String)>,
    pub not_started: Vec<Address>,
}

impl AppliedStack {
    pub fn ok(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty() && self.not_started.is_empty()
    }
}

struct Graph {
    dag: Dag<Node>,
    /// Resource-block node → resource blocks it depends on (through locals), as `TYPE.NAME`.
    resource_deps: HashMap<NodeId, Vec<String>>,
}

fn block_key(mode: Mode, type_name: &str, name: &str) -> String {
    match mode {
        Mode::Managed => format!("{type_name}.{name}"),
        Mode::Data => format!("data.{type_name}.{name}"),
    }
}

pub(crate) fn provider_key(block: &ResourceBlock) -> String {
    match &block.provider {
        Some(p) => match &p.alias {
            Some(a) => format!("{}.{a}", p.name),
            None => p.name.clone(),
        },
        None => block.provider_name().to_string(),
    }
}

impl StackRun<'_> {
    fn address(&self, block: &ResourceBlock, key: Option<InstanceKey>) -> Address {
        Address {
            stack: self.stack.name.clone(),
            mode: block.mode,
            type_name: block.type_name.clone(),
            name: block.name.clone(),
            key,
        }
    }

    fn line(&self, span: &strata_core::Span) -> Option<String> {
        self.project.sources.line(span)
    }

    fn diag_at(&self, summary: String, span: &strata_core::Span) -> Diagnostic {
        Diagnostic::error(summary).with_span(span.clone(), self.line(span))
    }

    fn schema(&self, block: &ResourceBlock) -> Result<ResourceSchema, Diagnostic> {
        self.registry
            .schema_of(block.mode, &block.type_name)
            .ok_or_else(|| {
                self.diag_at(
                    format!("unknown resource type {:?}", block.type_name),
                    &block.span,
                )
            })
    }

    /// Builds the graph of this stack, with orphans for `prior` instances not in configuration.
    fn graph(&self, prior: &StackState, include_orphans: bool) -> Result<Graph, EngineError> {
        let stack = self.stack;
        let mut dag = Dag::new();
        let mut locals = HashMap::new();
        let mut resources = HashMap::new();
        let mut providers: HashMap<String, NodeId> = HashMap::new();
        for name in stack.locals.keys() {
            locals.insert(name.clone(), dag.add_node(Node::Local(name.clone())));
        }
        for (i, r) in stack.resources.iter().enumerate() {
            resources.insert(
                block_key(r.mode, &r.type_name, &r.name),
                dag.add_node(Node::Resource(i)),
            );
        }
        let mut provider_keys: Vec<String> = stack
            .providers
            .iter()
            .map(|p| match &p.alias {
                Some(a) => format!("{}.{a}", p.name),
                None => p.name.clone(),
            })
            .collect();
        provider_keys.extend(stack.resources.iter().map(provider_key));
        provider_keys.extend(prior.resources.values().map(|r| r.provider.clone()));
        for k in provider_keys {
            if let std::collections::hash_map::Entry::Vacant(e) = providers.entry(k.clone()) {
                e.insert(dag.add_node(Node::Provider(k)));
            }
        }
        let outputs: Vec<(String, NodeId)> = stack
            .outputs
            .keys()
            .map(|n| (n.clone(), dag.add_node(Node::Output(n.clone()))))
            .collect();

        let link = |dag: &mut Dag<Node>, from: NodeId, refs: Vec<strata_config::Reference>| {
            for r in refs {
                let to = match &r.kind {
                    RefKind::Local(n) => locals.get(n).copied(),
                    RefKind::Resource {
                        mode,
                        type_name,
                        name,
                    } => resources.get(&block_key(*mode, type_name, name)).copied(),
                    _ => None,
                };
                if let Some(to) = to {
                    if to != from {
                        dag.add_dependency(from, to);
                    }
                }
            }
        };
        for (name, local) in &stack.locals {
            link(&mut dag, locals[name], local.expr.references());
        }
        for p in &stack.providers {
            let k = match &p.alias {
                Some(a) => format!("{}.{a}", p.name),
                None => p.name.clone(),
            };
            link(&mut dag, providers[&k], p.body.references());
        }
        for r in &stack.resources {
            let id = resources[&block_key(r.mode, &r.type_name, &r.name)];
            let mut refs = r.body.references();
            refs.extend(r.count.iter().flat_map(|e| e.references()));
            refs.extend(r.for_each.iter().flat_map(|e| e.references()));
            refs.extend(r.depends_on.iter().map(|(r, _)| r.clone()));
            link(&mut dag, id, refs);
            dag.add_dependency(id, providers[&provider_key(r)]);
        }
        for (name, id) in &outputs {
            link(&mut dag, *id, stack.outputs[name].value.references());
        }
        if let Some(cycle) = dag.find_cycle() {
            let names: Vec<String> = cycle
                .nodes
                .iter()
                .map(|n| self.node_label(dag.node(*n)))
                .collect();
            let mut chain = names.clone();
            chain.push(names[0].clone());
            let span = self.node_span(dag.node(cycle.nodes[0]));
            let mut d = Diagnostic::error(format!(
                "dependency cycle in stack {:?}: {}",
                stack.name,
                chain.join(" -> ")
            ));
            if let Some(span) = &span {
                d = d.with_span(span.clone(), self.line(span));
            }
            for n in &cycle.nodes {
                if let Some(s) = self.node_span(dag.node(*n)) {
                    d = d.with_note(
                        format!("{} is declared here", self.node_label(dag.node(*n))),
                        Some(s),
                    );
                }
            }
            return Err(EngineError::Config(vec![d]));
        }

        // The resource blocks each resource depends on, looking through locals and providers:
        // recorded in state so that a later destroy deletes dependents first.
        let mut resource_deps = HashMap::new();
        for id in resources.values() {
            let mut found = Vec::new();
            let mut seen = HashSet::new();
            let mut stack_ids: Vec<NodeId> = dag.dependencies(*id).collect();
            while let Some(n) = stack_ids.pop() {
                if !seen.insert(n) {
                    continue;
                }
                match dag.node(n) {
                    Node::Resource(i) => {
                        let r = &stack.resources[*i];
                        found.push(block_key(r.mode, &r.type_name, &r.name));
                    }
                    _ => stack_ids.extend(dag.dependencies(n)),
                }
            }
            resource_deps.insert(*id, found);
        }

        if include_orphans {
            let declared: HashSet<String> = resources.keys().cloned().collect();
            let mut orphan_ids = HashMap::new();
            for (local, r) in &prior.resources {
                if !declared.contains(&block_key(
                    r.address.mode,
                    &r.address.type_name,
                    &r.address.name,
                )) {
                    let id = dag.add_node(Node::Orphan(local.clone()));
                    dag.add_dependency(id, providers[&r.provider]);
                    orphan_ids.insert(local.clone(), id);
                }
            }
            add_delete_order(&mut dag, prior, &orphan_ids);
        }
        Ok(Graph { dag, resource_deps })
    }

    fn node_label(&self, n: &Node) -> String {
        match n {
            Node::Local(name) => format!("local.{name}"),
            Node::Provider(k) => format!("provider.{k}"),
            Node::Resource(i) => {
                let r = &self.stack.resources[*i];
                block_key(r.mode, &r.type_name, &r.name)
            }
            Node::Output(name) => format!("output.{name}"),
            Node::Orphan(a) => a.clone(),
        }
    }

    fn node_span(&self, n: &Node) -> Option<strata_core::Span> {
        match n {
            Node::Local(name) => Some(self.stack.locals[name].span.clone()),
            Node::Resource(i) => Some(self.stack.resources[*i].span.clone()),
            Node::Output(name) => Some(self.stack.outputs[name].span.clone()),
            _ => None,
        }
    }

    /// Whether `--target`/`--exclude` let this block be planned.
    fn selected_blocks(&self, g: &Graph) -> HashSet<NodeId> {
        let all: HashSet<NodeId> = g.dag.node_ids().collect();
        let matches_block = |p: &AddressPattern, r: &ResourceBlock| {
            let a = self.address(r, None);
            let mut p = p.clone();
            p.key = None;
            p.matches(&a)
        };
        let resource_ids = |pats: &[AddressPattern]| -> Vec<NodeId> {
            g.dag
                .node_ids()
                .filter(|id| match g.dag.node(*id) {
                    Node::Resource(i) => pats
                        .iter()
                        .any(|p| matches_block(p, &self.stack.resources[*i])),
                    Node::Orphan(local) => pats.iter().any(|p| {
                        Address::parse(&format!("{}/{local}", self.stack.name))
                            .is_ok_and(|a| p.matches(&a))
                    }),
                    _ => false,
                })
                .collect()
        };
        let mut selected = if self.targets.is_empty() {
            all
        } else {
            let t = resource_ids(&self.targets);
            let mut s: HashSet<NodeId> = g.dag.ancestors(&t);
            s.extend(t);
            // Outputs are re-evaluated only when everything they read is selected.
            for id in g.dag.node_ids() {
                if matches!(g.dag.node(id), Node::Output(_))
                    && g.dag.dependencies(id).all(|d| s.contains(&d))
                {
                    s.insert(id);
                }
            }
            s
        };
        if !self.excludes.is_empty() {
            let x = resource_ids(&self.excludes);
            let mut out: HashSet<NodeId> = g.dag.descendants(&x);
            out.extend(x);
            selected.retain(|id| {
                !out.contains(id) || matches!(g.dag.node(*id), Node::Provider(_) | Node::Local(_))
            });
        }
        selected
    }

    /// Whether `--target`/`--exclude` select one instance. A target naming another key of the
    /// same block leaves this one out; a block no target names is in (it is a dependency).
    fn instance_selected(&self, a: &Address) -> bool {
        let names_block = |p: &&AddressPattern| {
            let mut q = (*p).clone();
            q.key = None;
            q.matches(a)
        };
        let mut targeting = self.targets.iter().filter(names_block).peekable();
        let targeted = targeting.peek().is_none() || targeting.any(|p| p.matches(a));
        let excluded = self
            .excludes
            .iter()
            .any(|p| p.key.is_some() && p.matches(a));
        targeted && !excluded
    }

    /// Evaluates `count`/`for_each` of a block: the instance keys with their `each` values, or
    /// `None` when the expansion is not known yet.
    fn expand(
        &self,
        block: &ResourceBlock,
        values: &StackValues,
    ) -> Result<Option<(Expansion, Vec<Instance>)>, Diagnostic> {
        let scope = InstanceScope::new(values);
        if let Some(expr) = &block.count {
            let v = strata_config::eval(expr, &scope).map_err(first_diag)?;
            if !v.is_wholly_known() {
                return Ok(None);
            }
            let n = v.as_i64().filter(|n| *n >= 0).ok_or_else(|| {
                self.diag_at(
                    format!(
                        "count must be a whole number of zero or more, found {}",
                        v.type_name()
                    ),
                    &expr.span(),
                )
            })?;
            return Ok(Some((
                Expansion::Count,
                (0..n)
                    .map(|i| (Some(InstanceKey::Int(i)), None, Some(i)))
                    .collect(),
            )));
        }
        if let Some(expr) = &block.for_each {
            let v = strata_config::eval(expr, &scope).map_err(first_diag)?;
            if v.is_unknown() {
                return Ok(None);
            }
            if v.is_sensitive() {
                return Err(self.diag_at(
                    "for_each cannot use a sensitive value: its keys appear in addresses".into(),
                    &expr.span(),
                ));
            }
            let items: Vec<(String, Value)> = match v.unwrap_sensitive() {
                Value::Map(m) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                Value::List(l) => {
                    // A list is taken as a set: each key once.
                    let mut out: Vec<(String, Value)> = Vec::new();
                    let mut seen = HashSet::new();
                    for item in l {
                        match item.as_str() {
                            Some(s) if !seen.insert(s.to_string()) => {}
                            Some(s) => out.push((s.to_string(), Value::from(s))),
                            None if item.is_unknown() => return Ok(None),
                            None => {
                                return Err(self.diag_at(
                                    format!(
                                        "for_each over a set needs strings, found {}",
                                        item.type_name()
                                    ),
                                    &expr.span(),
                                ))
                            }
                        }
                    }
                    out
                }
                other => {
                    return Err(self.diag_at(
                        format!(
                            "for_each needs a map or a set of strings, found {}",
                            other.type_name()
                        ),
                        &expr.span(),
                    ))
                }
            };
            return Ok(Some((
                Expansion::ForEach,
                items
                    .into_iter()
                    .map(|(k, v)| {
                        (
                            Some(InstanceKey::Str(k.clone())),
                            Some((Value::from(k), v)),
                            None,
                        )
                    })
                    .collect(),
            )));
        }
        Ok(Some((Expansion::Single, vec![(None, None, None)])))
    }
}

/// Adds edges so that an instance is deleted only after every instance that depended on it.
fn add_delete_order(dag: &mut Dag<Node>, state: &StackState, ids: &HashMap<String, NodeId>) {
    // Index deleted instances by their block so a recorded block dependency finds its instances.
    let mut by_block: HashMap<String, Vec<NodeId>> = HashMap::new();
    for (local, id) in ids {
        if let Some(r) = state.resources.get(local) {
            by_block
                .entry(block_key(
                    r.address.mode,
                    &r.address.type_name,
                    &r.address.name,
                ))
                .or_default()
                .push(*id);
        }
    }
    for (local, id) in ids {
        let Some(r) = state.resources.get(local) else {
            continue;
        };
        for dep in &r.dependencies {
            // `dependencies` holds full addresses (`stack/TYPE.NAME`); only same-stack ones order here.
            let block = dep.split_once('/').map(|(_, b)| b).unwrap_or(dep);
            for dep_id in by_block.get(block).into_iter().flatten() {
                if dep_id != id {
                    // The dependency's delete waits for the dependent's delete.
                    dag.add_dependency(*dep_id, *id);
                }
            }
        }
    }
}

fn first_diag(d: strata_config::Diagnostics) -> Diagnostic {
    d.0.into_iter()
        .next()
        .unwrap_or_else(|| Diagnostic::error("evaluation failed"))
}

fn config_errors(d: strata_config::Diagnostics) -> String {
    d.0.iter()
        .map(|d| d.render())
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------------------------------------
// Recovery support

impl StackRun<'_> {
    /// Configures the providers named by `keys` outside a walk, with what state holds standing in
    /// for resource values (used to reconcile intents before planning). A provider whose
    /// configuration cannot be evaluated yet comes back as an error message.
    pub(crate) async fn providers_from_state(
        &self,
        prior: &StackState,
        keys: &[String],
    ) -> HashMap<String, Result<Arc<dyn Provider>, String>> {
        let walk = Walk::new(self);
        {
            let mut values = walk.values.lock().expect("values lock");
            for r in prior.resources.values() {
                let exp = match &r.address.key {
                    None => Expansion::Single,
                    Some(InstanceKey::Int(_)) => Expansion::Count,
                    Some(InstanceKey::Str(_)) => Expansion::ForEach,
                };
                values.set_instance(
                    r.address.mode,
                    &r.address.type_name,
                    &r.address.name,
                    exp,
                    r.address.key.clone(),
                    r.value(),
                );
            }
        }
        // Locals in dependency order, as far as they evaluate.
        if let Ok(graph) = self.graph(prior, false) {
            if let Ok(order) = graph.dag.topological_order() {
                for id in order {
                    if let Node::Local(name) = graph.dag.node(id) {
                        let _ = walk.eval_local(name);
                    }
                }
            }
        }
        let mut out = HashMap::new();
        for k in keys {
            let r = match walk.configure(k, true).await {
                Ok(()) => walk
                    .providers
                    .lock()
                    .expect("providers lock")
                    .get(k)
                    .ok_or_else(|| format!("provider {k:?} is not configured")),
                Err(e) => Err(e),
            };
            out.insert(k.clone(), r);
        }
        out
    }
}

// Helpers shared by the walks.

/// The instances state holds for one block. State is keyed by local address, so they are the
/// entry `TYPE.NAME` and the range `TYPE.NAME[…`: a lookup, not a scan of the whole state.
fn block_instances<'s>(
    state: &'s StackState,
    mode: Mode,
    type_name: &str,
    name: &str,
) -> impl Iterator<Item = &'s ResourceState> + 's {
    let single = block_key(mode, type_name, name);
    // A backslash is the character right after '[': the range holds exactly the keyed instances.
    let keyed = state
        .resources
        .range(format!("{single}[")..format!("{single}\\"))
        .map(|(_, r)| r);
    state.resources.get(&single).into_iter().chain(keyed)
}

fn object_of(r: &ResourceState) -> ResourceObject {
    ResourceObject {
        id: r.id.clone(),
        attributes: r.value(),
    }
}

fn intent_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn describe(e: &strata_core::provider::ProviderError) -> String {
    match &e.hint {
        Some(h) => format!("{}\nhint: {h}", e.message),
        None => e.message.clone(),
    }
}

fn delete_change(r: &ResourceState, reason: Option<&str>) -> ResourceChange {
    ResourceChange {
        address: r.address.clone(),
        provider: r.provider.clone(),
        action: Action::Delete,
        before: Some(r.value()),
        after: None,
        replace_because: Vec::new(),
        create_before_destroy: false,
        reason: reason.map(str::to_string),
    }
}

fn lifecycle(block: &ResourceBlock) -> strata_plan::Lifecycle {
    strata_plan::Lifecycle {
        prevent_destroy: block.lifecycle.prevent_destroy,
        create_before_destroy: block.lifecycle.create_before_destroy,
        ignore_changes: match &block.lifecycle.ignore_changes {
            strata_config::IgnoreChanges::None => strata_plan::IgnoreChanges::None,
            strata_config::IgnoreChanges::All => strata_plan::IgnoreChanges::All,
            strata_config::IgnoreChanges::Paths(p) => strata_plan::IgnoreChanges::Paths(p.clone()),
        },
    }
}

fn with_id(mut attributes: Value, id: &str) -> Value {
    if let Value::Map(m) = &mut attributes {
        m.insert("id".into(), Value::from(id));
    } else {
        attributes = Value::map([("id", Value::from(id))]);
    }
    attributes
}

/// The paths of a planned value that carry a sensitive mark.
fn sensitive_paths_of(change: &ResourceChange) -> Vec<Path> {
    change
        .after
        .as_ref()
        .map(|v| v.unmark().1)
        .unwrap_or_default()
}

/// Stores a provider's answer in a state entry: plain JSON plus the paths that are sensitive.
///
/// Sensitive are the attributes the schema marks and `also_sensitive`: the paths the
/// configuration made sensitive (a sensitive variable in a tag), which no schema knows of.
fn set_attributes(
    r: &mut ResourceState,
    attributes: Value,
    schema: Option<&ResourceSchema>,
    also_sensitive: &[Path],
) {
    let marked = match schema {
        Some(s) => s.block.mark_sensitive(attributes),
        None => attributes,
    }
    .mark(also_sensitive);
    let (plain, sensitive) = marked.unmark();
    r.attributes = plain.to_json();
    r.sensitive_paths = sensitive;
    if let Some(s) = schema {
        r.schema_version = s.version;
    }
}

/// The dependency cycles among a stack's locals, resources and outputs, each as a diagnostic that
/// names every node of the cycle (for `strata validate`, which has no state to walk).
pub fn check_cycles(project: &Project, stack: &Stack, registry: &Registry) -> Vec<Diagnostic> {
    let run = StackRun {
        project,
        stack,
        key: StateKey {
            env: "validate".into(),
            stack: stack.name.clone(),
        },
        registry,
        events: Arc::new(crate::events::NoEvents),
        variables: BTreeMap::new(),
        dependencies: BTreeMap::new(),
        limits: crate::limits::CallLimits::new(1, false),
        refresh: false,
        targets: Vec::new(),
        excludes: Vec::new(),
        cancel: CancellationToken::new(),
    };
    match run.graph(&StackState::new(), false) {
        Err(EngineError::Config(d)) => d,
        _ => Vec::new(),
    }
}
