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
    pub parallelism: usize,
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

fn provider_key(block: &ResourceBlock) -> String {
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
            if !providers.contains_key(&k) {
                let id = dag.add_node(Node::Provider(k.clone()));
                providers.insert(k, id);
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
    ) -> Result<
        Option<(
            Expansion,
            Vec<(Option<InstanceKey>, Option<(Value, Value)>, Option<i64>)>,
        )>,
        Diagnostic,
    > {
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
                    let mut out = Vec::new();
                    for item in l {
                        match item.as_str() {
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

/// Configured provider instances of one stack walk, by key.
#[derive(Default)]
struct Providers {
    configured: HashMap<String, Option<Arc<dyn Provider>>>,
}

impl Providers {
    fn get(&self, key: &str) -> Option<Arc<dyn Provider>> {
        self.configured.get(key).cloned().flatten()
    }
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

/// The shared, mutable part of a walk.
struct Walk<'a> {
    run: &'a StackRun<'a>,
    values: Mutex<StackValues>,
    providers: Mutex<Providers>,
    limiter: Limiter,
}

impl<'a> Walk<'a> {
    fn new(run: &'a StackRun<'a>) -> Walk<'a> {
        let values = StackValues {
            env: run.key.env.clone(),
            stack_dir: run.stack.dir.clone(),
            root: run.project.root.clone(),
            variables: run.variables.clone(),
            dependencies: run.dependencies.clone(),
            ..Default::default()
        };
        Walk {
            run,
            values: Mutex::new(values),
            providers: Mutex::new(Providers::default()),
            limiter: Limiter::new(run.parallelism.max(1)),
        }
    }

    fn eval_local(&self, name: &str) -> Result<(), String> {
        let local = &self.run.stack.locals[name];
        let mut values = self.values.lock().expect("values lock");
        let v = strata_config::eval(&local.expr, &InstanceScope::new(&values))
            .map_err(config_errors)?;
        values.locals.insert(name.to_string(), v);
        Ok(())
    }

    /// Evaluates a provider block and configures the provider when the block is wholly known.
    /// `require_known` (apply) turns an unknown configuration into an error.
    async fn configure(&self, key: &str, require_known: bool) -> Result<(), String> {
        let name = key.split('.').next().unwrap_or(key);
        let alias = key.split_once('.').map(|(_, a)| a);
        let Some(provider) = self.run.registry.get(name) else {
            let known: Vec<&str> = self.run.registry.names().collect();
            let hint = strata_core::diagnostic::nearest(name, known.iter().copied())
                .map(|n| format!(" (did you mean {n:?}?)"))
                .unwrap_or_default();
            return Err(format!(
                "unknown provider {name:?}{hint}; available providers: {}",
                known.join(", ")
            ));
        };
        let block = self
            .run
            .stack
            .providers
            .iter()
            .find(|p| p.name == name && p.alias.as_deref() == alias);
        if alias.is_some() && block.is_none() {
            return Err(format!(
                "no provider block declares provider {key:?} in stack {:?}",
                self.run.stack.name
            ));
        }
        let config = match block {
            Some(b) => {
                let values = self.values.lock().expect("values lock");
                strata_config::eval_body(&b.body, &InstanceScope::new(&values))
                    .map_err(config_errors)?
            }
            None => Value::Map(BTreeMap::new()),
        };
        let configured = if config.is_wholly_known() {
            let (plain, _) = config.unmark();
            Some(
                provider
                    .configure(plain)
                    .await
                    .map_err(|e| format!("configuring provider {key:?}: {}", describe(&e)))?,
            )
        } else if require_known {
            return Err(format!(
                "the configuration of provider {key:?} depends on values that are still unknown; apply the stacks it depends on first"
            ));
        } else {
            None
        };
        self.providers
            .lock()
            .expect("providers lock")
            .configured
            .insert(key.to_string(), configured);
        Ok(())
    }

    fn eval_output(&self, name: &str) -> Result<(Value, bool), String> {
        let out = &self.run.stack.outputs[name];
        let values = self.values.lock().expect("values lock");
        let v =
            strata_config::eval(&out.value, &InstanceScope::new(&values)).map_err(config_errors)?;
        let sensitive = out.sensitive || v.contains_sensitive();
        Ok((if sensitive { v.sensitive() } else { v }, sensitive))
    }
}

fn describe(e: &strata_core::provider::ProviderError) -> String {
    match &e.hint {
        Some(h) => format!("{}\nhint: {h}", e.message),
        None => e.message.clone(),
    }
}

// ---------------------------------------------------------------------------------------------
// Planning

impl StackRun<'_> {
    /// Plans the stack against `prior`. With `destroy`, every instance in state is deleted.
    pub async fn plan(
        &self,
        prior: &StackState,
        destroy: bool,
    ) -> Result<PlannedStack, EngineError> {
        let graph = self.graph(prior, true)?;
        let selected = self.selected_blocks(&graph);
        let walk = Walk::new(self);
        let changes = Mutex::new(Vec::<ResourceChange>::new());
        let refreshed = Mutex::new(prior.clone());
        let outputs = Mutex::new(BTreeMap::new());
        let errors = Mutex::new(Vec::<Diagnostic>::new());
        let warnings = Mutex::new(Vec::<Diagnostic>::new());

        let report = strata_graph::walk(&graph.dag, &walk.limiter, &self.cancel, |id, node| {
            let walk = &walk;
            let changes = &changes;
            let refreshed = &refreshed;
            let outputs = &outputs;
            let errors = &errors;
            let selected = selected.contains(&id);
            let graph = &graph;
            async move {
                let result: Result<(), Diagnostic> = match node {
                    Node::Local(name) => walk.eval_local(name).map_err(Diagnostic::error),
                    Node::Provider(key) => {
                        walk.configure(key, false).await.map_err(Diagnostic::error)
                    }
                    Node::Resource(i) => {
                        let block = &self.stack.resources[*i];
                        let deps = graph.resource_deps.get(&id).cloned().unwrap_or_default();
                        self.plan_block(
                            walk, block, prior, refreshed, changes, destroy, selected, &deps,
                        )
                        .await
                    }
                    Node::Output(name) => match walk.eval_output(name) {
                        Ok(v) => {
                            outputs
                                .lock()
                                .expect("outputs lock")
                                .insert(name.clone(), v);
                            Ok(())
                        }
                        Err(e) => Err(Diagnostic::error(e)),
                    },
                    Node::Orphan(local) => {
                        if selected {
                            self.plan_orphan(walk, local, prior, refreshed, changes)
                                .await
                                .map_err(Diagnostic::error)
                        } else {
                            Ok(())
                        }
                    }
                };
                if let Err(d) = &result {
                    errors.lock().expect("errors lock").push(d.clone());
                }
                result
            }
        })
        .await;
        let mut errors = errors.into_inner().expect("errors lock");
        if !report.failed().is_empty() && errors.is_empty() {
            errors.push(Diagnostic::error(format!(
                "planning stack {:?} failed",
                self.stack.name
            )));
        }
        if !errors.is_empty() {
            return Err(EngineError::Config(errors));
        }
        if self.cancel.is_cancelled() {
            return Err(EngineError::Other("interrupted".into()));
        }
        let mut changes = changes.into_inner().expect("changes lock");
        changes.sort_by(|a, b| a.address.cmp(&b.address));
        for c in &changes {
            if let Err(msg) = strata_plan::check_prevent_destroy(c, &self.lifecycle_of(&c.address))
            {
                return Err(EngineError::refused(msg, Some("remove lifecycle { prevent_destroy = true } from the resource first if you really mean it".into())));
            }
        }
        Ok(PlannedStack {
            changes,
            outputs: outputs.into_inner().expect("outputs lock"),
            refreshed: refreshed.into_inner().expect("refreshed lock"),
            warnings: warnings.into_inner().expect("warnings lock"),
        })
    }

    fn block_of(&self, a: &Address) -> Option<&ResourceBlock> {
        self.stack
            .resources
            .iter()
            .find(|r| r.mode == a.mode && r.type_name == a.type_name && r.name == a.name)
    }

    fn lifecycle_of(&self, a: &Address) -> strata_plan::Lifecycle {
        match self.block_of(a) {
            Some(b) => lifecycle(b),
            None => strata_plan::Lifecycle::default(),
        }
    }

    /// Refreshes one state instance through its provider; `None` when it no longer exists.
    async fn refresh(
        &self,
        walk: &Walk<'_>,
        r: &ResourceState,
    ) -> Result<Option<ResourceState>, String> {
        if !self.refresh || r.address.mode == Mode::Data {
            return Ok(Some(r.clone()));
        }
        let Some(provider) = walk
            .providers
            .lock()
            .expect("providers lock")
            .get(&r.provider)
        else {
            return Ok(Some(r.clone()));
        };
        let _permit = walk.limiter.acquire().await;
        let read = provider
            .read(ReadRequest {
                type_name: r.address.type_name.clone(),
                id: r.id.clone(),
                prior: r.value(),
            })
            .await
            .map_err(|e| format!("refreshing {}: {}", r.address, describe(&e)))?;
        Ok(read.map(|obj| {
            let schema = self
                .registry
                .schema_of(r.address.mode, &r.address.type_name);
            let mut fresh = r.clone();
            fresh.id = obj.id.clone();
            set_attributes(
                &mut fresh,
                with_id(obj.attributes, &obj.id),
                schema.as_ref(),
            );
            fresh
        }))
    }

    #[allow(clippy::too_many_arguments)]
    async fn plan_block(
        &self,
        walk: &Walk<'_>,
        block: &ResourceBlock,
        prior: &StackState,
        refreshed: &Mutex<StackState>,
        changes: &Mutex<Vec<ResourceChange>>,
        destroy: bool,
        selected: bool,
        _deps: &[String],
    ) -> Result<(), Diagnostic> {
        let schema = self.schema(block)?;
        let block_prior: Vec<&ResourceState> = prior
            .resources
            .values()
            .filter(|r| {
                r.address.mode == block.mode
                    && r.address.type_name == block.type_name
                    && r.address.name == block.name
            })
            .collect();

        // Refresh what state holds for this block.
        let mut current: BTreeMap<Option<InstanceKey>, ResourceState> = BTreeMap::new();
        let mut gone: Vec<ResourceState> = Vec::new();
        for r in &block_prior {
            if selected {
                match self.refresh(walk, r).await.map_err(Diagnostic::error)? {
                    Some(fresh) => {
                        refreshed
                            .lock()
                            .expect("refreshed lock")
                            .resources
                            .insert(fresh.address.local(), fresh.clone());
                        current.insert(r.address.key.clone(), fresh);
                    }
                    None => {
                        refreshed
                            .lock()
                            .expect("refreshed lock")
                            .resources
                            .remove(&r.address.local());
                        gone.push((*r).clone());
                    }
                }
            } else {
                current.insert(r.address.key.clone(), (*r).clone());
            }
        }

        let expansion = if destroy || !selected {
            None
        } else {
            let values = walk.values.lock().expect("values lock");
            self.expand(block, &values)?
        };

        if destroy || !selected {
            // Keep what state holds visible to dependents.
            let mut values = walk.values.lock().expect("values lock");
            let exp = if block.count.is_some() {
                Expansion::Count
            } else if block.for_each.is_some() {
                Expansion::ForEach
            } else {
                Expansion::Single
            };
            values.clear_block(block.mode, &block.type_name, &block.name, exp);
            for (k, r) in &current {
                values.set_instance(
                    block.mode,
                    &block.type_name,
                    &block.name,
                    exp,
                    k.clone(),
                    r.value(),
                );
            }
            drop(values);
            if destroy && selected {
                let mut ch = changes.lock().expect("changes lock");
                for r in current.values() {
                    if self.instance_selected(&r.address) {
                        ch.push(delete_change(r, None));
                    }
                }
            }
            return Ok(());
        }

        let Some((exp, instances)) = expansion else {
            // count/for_each not known yet: every instance is unknown; plan one placeholder change.
            walk.values
                .lock()
                .expect("values lock")
                .unknown_expansion
                .insert(
                    (block.mode, block.type_name.clone(), block.name.clone()),
                    (),
                );
            let a = self.address(block, None);
            changes.lock().expect("changes lock").push(ResourceChange {
                address: a,
                provider: provider_key(block),
                action: Action::Create,
                before: None,
                after: Some(Value::Unknown),
                replace_because: Vec::new(),
                create_before_destroy: false,
                reason: Some("the set of instances is known only after apply".into()),
            });
            return Ok(());
        };

        walk.values.lock().expect("values lock").clear_block(
            block.mode,
            &block.type_name,
            &block.name,
            exp,
        );
        let mut keys = HashSet::new();
        for (key, each, count) in instances {
            keys.insert(key.clone());
            let address = self.address(block, key.clone());
            let prior_r = current.get(&key);
            if !self.instance_selected(&address) {
                if let Some(r) = prior_r {
                    walk.values.lock().expect("values lock").set_instance(
                        block.mode,
                        &block.type_name,
                        &block.name,
                        exp,
                        key,
                        r.value(),
                    );
                }
                continue;
            }
            let was_gone = prior_r.is_none() && gone.iter().any(|g| g.address.key == key);
            let (change, planned) = self
                .plan_instance(walk, block, &schema, address, prior_r, each, count)
                .await?;
            let mut change = change;
            if was_gone && change.action == Action::Create {
                change.reason = Some("deleted outside Strata".into());
            }
            walk.values.lock().expect("values lock").set_instance(
                block.mode,
                &block.type_name,
                &block.name,
                exp,
                key,
                planned,
            );
            if change.action != Action::NoOp {
                changes.lock().expect("changes lock").push(change);
            }
        }
        // Instances whose key disappeared from count/for_each.
        for (key, r) in &current {
            if !keys.contains(key) && self.instance_selected(&r.address) {
                changes.lock().expect("changes lock").push(delete_change(
                    r,
                    Some("its key is no longer in count/for_each"),
                ));
            }
        }
        Ok(())
    }

    /// Plans one instance: evaluates its configuration and diffs it against what state holds.
    #[allow(clippy::too_many_arguments)]
    async fn plan_instance(
        &self,
        walk: &Walk<'_>,
        block: &ResourceBlock,
        schema: &ResourceSchema,
        address: Address,
        prior: Option<&ResourceState>,
        each: Option<(Value, Value)>,
        count: Option<i64>,
    ) -> Result<(ResourceChange, Value), Diagnostic> {
        let config = {
            let values = walk.values.lock().expect("values lock");
            let scope = InstanceScope {
                values: &values,
                each,
                count_index: count,
            };
            strata_config::eval_body(&block.body, &scope).map_err(first_diag)?
        };
        let normalized = strata_plan::normalize(&schema.block, &config).map_err(|errs| {
            let mut d = self.diag_at(
                format!(
                    "invalid configuration for {address}: {}",
                    errs.iter()
                        .map(|e| format!("{}: {}", e.path, e.message))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                &block.span,
            );
            if errs.len() > 1 {
                d = d.with_detail(
                    errs.iter()
                        .map(|e| format!("{}: {}", e.path, e.message))
                        .collect::<Vec<_>>()
                        .join("\n"),
                );
            }
            d
        })?;
        let provider = walk
            .providers
            .lock()
            .expect("providers lock")
            .get(&provider_key(block));

        if block.mode == Mode::Data {
            let value = match &provider {
                Some(p) if normalized.is_wholly_known() => {
                    let (plain, _) = normalized.unmark();
                    let v = p
                        .read_data(DataRequest {
                            type_name: block.type_name.clone(),
                            config: plain,
                        })
                        .await
                        .map_err(|e| {
                            self.diag_at(
                                format!("reading {address}: {}", describe(&e)),
                                &block.span,
                            )
                        })?;
                    schema.block.mark_sensitive(v)
                }
                _ => Value::Unknown,
            };
            let action = if value.is_wholly_known() {
                Action::NoOp
            } else {
                Action::Read
            };
            let change = ResourceChange {
                address,
                provider: provider_key(block),
                action,
                before: None,
                after: Some(value.clone()),
                replace_because: Vec::new(),
                create_before_destroy: false,
                reason: None,
            };
            return Ok((change, value));
        }

        let lc = lifecycle(block);
        let prior_value = prior.map(ResourceState::value);
        let tainted = prior.is_some_and(|p| p.status != ResourceStatus::Ready);
        let proposed = strata_plan::propose(
            &schema.block,
            prior_value.as_ref(),
            &normalized,
            &lc.ignore_changes,
        );
        let (planned, extra) = match (&provider, prior) {
            (Some(p), _) => {
                let resp = p
                    .plan(PlanRequest {
                        type_name: block.type_name.clone(),
                        prior: prior.map(object_of),
                        proposed: proposed.clone(),
                    })
                    .await
                    .map_err(|e| {
                        self.diag_at(format!("planning {address}: {}", describe(&e)), &block.span)
                    })?;
                (resp.planned, resp.requires_replace)
            }
            (None, _) => (proposed, Vec::new()),
        };
        let classified =
            strata_plan::classify(&schema.block, prior_value.as_ref(), &planned, &extra, &lc);
        let mut action = classified.action;
        let mut planned = schema.block.mark_sensitive(classified.planned);
        let mut reason = None;
        let mut replace_because = classified.replace_because;
        if tainted && matches!(action, Action::NoOp | Action::Update) {
            // A partial create is resumed as an update where the provider can, else replaced.
            action = Action::Replace;
            reason = Some("an earlier operation on it did not finish".into());
            planned = schema.block.mark_sensitive(strata_plan::propose(
                &schema.block,
                None,
                &normalized,
                &lc.ignore_changes,
            ));
            replace_because.clear();
        }
        let change = ResourceChange {
            address,
            provider: provider_key(block),
            action,
            before: prior_value,
            after: Some(planned.clone()),
            replace_because,
            create_before_destroy: lc.create_before_destroy,
            reason,
        };
        Ok((change, planned))
    }

    async fn plan_orphan(
        &self,
        walk: &Walk<'_>,
        local: &str,
        prior: &StackState,
        refreshed: &Mutex<StackState>,
        changes: &Mutex<Vec<ResourceChange>>,
    ) -> Result<(), String> {
        let Some(r) = prior.resources.get(local) else {
            return Ok(());
        };
        if !self.instance_selected(&r.address) {
            return Ok(());
        }
        match self.refresh(walk, r).await? {
            Some(fresh) => {
                refreshed
                    .lock()
                    .expect("refreshed lock")
                    .resources
                    .insert(local.to_string(), fresh.clone());
                if fresh.address.mode == Mode::Managed {
                    changes.lock().expect("changes lock").push(delete_change(
                        &fresh,
                        Some("it is no longer in the configuration"),
                    ));
                }
            }
            None => {
                refreshed
                    .lock()
                    .expect("refreshed lock")
                    .resources
                    .remove(local);
            }
        }
        Ok(())
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

/// Stores a provider's answer in a state entry: plain JSON plus the paths that are sensitive.
fn set_attributes(r: &mut ResourceState, attributes: Value, schema: Option<&ResourceSchema>) {
    let marked = match schema {
        Some(s) => s.block.mark_sensitive(attributes),
        None => attributes,
    };
    let (plain, sensitive) = marked.unmark();
    r.attributes = plain.to_json();
    r.sensitive_paths = sensitive;
    if let Some(s) = schema {
        r.schema_version = s.version;
    }
}

// ---------------------------------------------------------------------------------------------
// Applying

/// Where the apply walk records what it does.
pub struct Journal<'a> {
    pub store: &'a dyn StateStore,
    pub key: &'a StateKey,
    /// The state as the walk changes it; persisted as a snapshot when the stack is done.
    pub state: Mutex<StackState>,
}

impl Journal<'_> {
    async fn append(&self, entry: JournalEntry) -> Result<(), String> {
        self.store
            .append(self.key, &entry)
            .await
            .map_err(|e| format!("recording in state: {e}"))
    }

    async fn intent(
        &self,
        action: IntentAction,
        r: &ResourceChange,
        cloud_id: Option<String>,
    ) -> Result<String, String> {
        let id = intent_id();
        let planned = r
            .after
            .as_ref()
            .map(|v| v.redacted().to_json())
            .unwrap_or(serde_json::Value::Null);
        self.append(JournalEntry::Intent(Intent {
            id: id.clone(),
            action,
            address: r.address.clone(),
            provider: r.provider.clone(),
            cloud_id,
            planned,
            started_at: now(),
        }))
        .await?;
        Ok(id)
    }

    async fn applied(&self, intent: String, resource: ResourceState) -> Result<(), String> {
        self.append(JournalEntry::Applied {
            intent,
            resource: resource.clone(),
        })
        .await?;
        self.state
            .lock()
            .expect("state lock")
            .resources
            .insert(resource.address.local(), resource);
        Ok(())
    }

    async fn deleted(&self, intent: String, address: &Address) -> Result<(), String> {
        self.append(JournalEntry::Deleted {
            intent,
            address: address.local(),
        })
        .await?;
        self.state
            .lock()
            .expect("state lock")
            .resources
            .remove(&address.local());
        Ok(())
    }

    async fn abandoned(&self, intent: String) -> Result<(), String> {
        self.append(JournalEntry::Abandoned { intent }).await
    }
}

impl StackRun<'_> {
    /// Applies a plan made by [`StackRun::plan`] for this stack. Returns the outcome of every
    /// change; the journal holds every completed operation by the time this returns.
    pub async fn apply(
        &self,
        planned: &PlannedStack,
        journal: &Journal<'_>,
        destroy: bool,
    ) -> Result<AppliedStack, EngineError> {
        let prior = journal.state.lock().expect("state lock").clone();
        let mut graph = if destroy {
            self.destroy_graph(&prior, planned)
        } else {
            self.graph(&prior, true)?
        };
        let by_address: HashMap<Address, &ResourceChange> = planned
            .changes
            .iter()
            .map(|c| (c.address.clone(), c))
            .collect();
        let walk = Walk::new(self);
        let outcome = Mutex::new(AppliedStack::default());
        let outputs = Mutex::new(BTreeMap::new());
        let selected = self.selected_blocks(&graph);
        let resource_deps = std::mem::take(&mut graph.resource_deps);

        let report = strata_graph::walk(&graph.dag, &walk.limiter, &self.cancel, |id, node| {
            let walk = &walk;
            let outcome = &outcome;
            let outputs = &outputs;
            let by_address = &by_address;
            let prior = &prior;
            let selected = selected.contains(&id);
            let deps = resource_deps.get(&id).cloned().unwrap_or_default();
            async move {
                match node {
                    Node::Local(name) => walk.eval_local(name),
                    Node::Provider(key) => walk.configure(key, !destroy).await,
                    Node::Resource(i) => {
                        let block = &self.stack.resources[*i];
                        self.apply_block(walk, block, by_address, journal, outcome, selected, &deps)
                            .await
                    }
                    Node::Output(name) => {
                        if destroy {
                            return Ok(());
                        }
                        let v = walk.eval_output(name)?;
                        outputs
                            .lock()
                            .expect("outputs lock")
                            .insert(name.clone(), v);
                        Ok(())
                    }
                    Node::Orphan(local) => {
                        let Some(r) = prior.resources.get(local) else {
                            return Ok(());
                        };
                        match by_address.get(&r.address) {
                            Some(change) if change.action == Action::Delete => {
                                let provider = walk
                                    .providers
                                    .lock()
                                    .expect("providers lock")
                                    .get(&r.provider);
                                let Some(provider) = provider else {
                                    let msg =
                                        format!("provider {:?} is not configured", r.provider);
                                    outcome
                                        .lock()
                                        .expect("outcome lock")
                                        .failed
                                        .push((r.address.clone(), msg.clone()));
                                    return Err(msg);
                                };
                                self.delete_instance(walk, &provider, r, change, journal, outcome)
                                    .await
                            }
                            _ => Ok(()),
                        }
                    }
                }
            }
        })
        .await;

        let mut result = outcome.into_inner().expect("outcome lock");
        // Failed nodes that are not resources (a local, a provider) still need reporting.
        for (id, o) in &report.outcomes {
            match o {
                Outcome::Failed(e) => {
                    let label = self.node_label(graph.dag.node(*id));
                    if !matches!(graph.dag.node(*id), Node::Resource(_) | Node::Orphan(_)) {
                        result
                            .failed
                            .push((Address::new(&self.stack.name, "(config)", label), e.clone()));
                    }
                }
                Outcome::Skipped { because } => {
                    let cause = self.node_label(graph.dag.node(*because));
                    for a in self.planned_addresses(graph.dag.node(*id), planned, &prior) {
                        result
                            .skipped
                            .push((a, format!("depends on {cause}, which failed")));
                    }
                }
                Outcome::NotStarted => {
                    result.not_started.extend(self.planned_addresses(
                        graph.dag.node(*id),
                        planned,
                        &prior,
                    ));
                }
                Outcome::Done => {}
            }
        }

        if !destroy
            && result.failed.is_empty()
            && result.skipped.is_empty()
            && result.not_started.is_empty()
        {
            let outs: BTreeMap<String, OutputState> = outputs
                .into_inner()
                .expect("outputs lock")
                .into_iter()
                .map(|(k, (v, sensitive))| {
                    (
                        k,
                        OutputState {
                            value: v.to_json(),
                            sensitive,
                        },
                    )
                })
                .collect();
            journal
                .append(JournalEntry::Outputs(outs.clone()))
                .await
                .map_err(EngineError::Other)?;
            journal.state.lock().expect("state lock").outputs = outs;
        } else if destroy
            && journal
                .state
                .lock()
                .expect("state lock")
                .resources
                .is_empty()
        {
            journal
                .append(JournalEntry::Outputs(BTreeMap::new()))
                .await
                .map_err(EngineError::Other)?;
            journal.state.lock().expect("state lock").outputs.clear();
        }
        Ok(result)
    }

    fn planned_addresses(
        &self,
        node: &Node,
        planned: &PlannedStack,
        prior: &StackState,
    ) -> Vec<Address> {
        match node {
            Node::Resource(i) => {
                let b = &self.stack.resources[*i];
                planned
                    .changes
                    .iter()
                    .filter(|c| {
                        c.address.mode == b.mode
                            && c.address.type_name == b.type_name
                            && c.address.name == b.name
                    })
                    .filter(|c| c.action != Action::NoOp && c.action != Action::Read)
                    .map(|c| c.address.clone())
                    .collect()
            }
            Node::Orphan(local) => prior
                .resources
                .get(local)
                .filter(|r| planned.changes.iter().any(|c| c.address == r.address))
                .map(|r| vec![r.address.clone()])
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// The graph of a destroy: every planned delete, dependents first.
    fn destroy_graph(&self, prior: &StackState, planned: &PlannedStack) -> Graph {
        let mut dag = Dag::new();
        let mut providers = HashMap::new();
        let mut ids = HashMap::new();
        for c in planned
            .changes
            .iter()
            .filter(|c| c.action == Action::Delete)
        {
            let local = c.address.local();
            let Some(r) = prior.resources.get(&local) else {
                continue;
            };
            let p = *providers
                .entry(r.provider.clone())
                .or_insert_with(|| dag.add_node(Node::Provider(r.provider.clone())));
            let id = dag.add_node(Node::Orphan(local.clone()));
            dag.add_dependency(id, p);
            ids.insert(local, id);
        }
        // Provider blocks may read locals and resources; destroy evaluates them with state values.
        for name in self.stack.locals.keys() {
            let l = dag.add_node(Node::Local(name.clone()));
            for p in providers.values() {
                dag.add_dependency(*p, l);
            }
        }
        add_delete_order(&mut dag, prior, &ids);
        Graph {
            dag,
            resource_deps: HashMap::new(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn apply_block(
        &self,
        walk: &Walk<'_>,
        block: &ResourceBlock,
        by_address: &HashMap<Address, &ResourceChange>,
        journal: &Journal<'_>,
        outcome: &Mutex<AppliedStack>,
        selected: bool,
        deps: &[String],
    ) -> Result<(), String> {
        let schema = self.schema(block).map_err(|d| d.summary)?;
        let current: BTreeMap<Option<InstanceKey>, ResourceState> = {
            let state = journal.state.lock().expect("state lock");
            state
                .resources
                .values()
                .filter(|r| {
                    r.address.mode == block.mode
                        && r.address.type_name == block.type_name
                        && r.address.name == block.name
                })
                .map(|r| (r.address.key.clone(), r.clone()))
                .collect()
        };
        let exp_kind = if block.count.is_some() {
            Expansion::Count
        } else if block.for_each.is_some() {
            Expansion::ForEach
        } else {
            Expansion::Single
        };
        if !selected {
            let mut values = walk.values.lock().expect("values lock");
            values.clear_block(block.mode, &block.type_name, &block.name, exp_kind);
            for (k, r) in &current {
                values.set_instance(
                    block.mode,
                    &block.type_name,
                    &block.name,
                    exp_kind,
                    k.clone(),
                    r.value(),
                );
            }
            return Ok(());
        }
        let expansion = {
            let values = walk.values.lock().expect("values lock");
            self.expand(block, &values).map_err(|d| d.render())?
        };
        let Some((exp, instances)) = expansion else {
            return Err(format!(
                "the count or for_each of {} is still unknown after its dependencies were applied",
                block_key(block.mode, &block.type_name, &block.name)
            ));
        };
        walk.values.lock().expect("values lock").clear_block(
            block.mode,
            &block.type_name,
            &block.name,
            exp,
        );
        let provider = walk
            .providers
            .lock()
            .expect("providers lock")
            .get(&provider_key(block));
        let placeholder = by_address
            .get(&self.address(block, None))
            .filter(|c| c.after == Some(Value::Unknown))
            .is_some();

        let mut work = Vec::new();
        let mut keys = HashSet::new();
        for (key, each, count) in instances {
            keys.insert(key.clone());
            let address = self.address(block, key.clone());
            let approved = by_address.get(&address).copied();
            let prior_r = current.get(&key).cloned();
            // Only instances the plan changes are touched; the rest keep their state value.
            let must_plan = approved.is_some_and(|c| c.action != Action::NoOp)
                || placeholder && prior_r.is_none();
            if !must_plan {
                if let Some(r) = &prior_r {
                    walk.values.lock().expect("values lock").set_instance(
                        block.mode,
                        &block.type_name,
                        &block.name,
                        exp,
                        key,
                        r.value(),
                    );
                }
                continue;
            }
            work.push((key, each, count, address, approved, prior_r));
        }

        // Instances of one block run concurrently; the limiter bounds the whole walk.
        let results = futures::future::join_all(work.into_iter().map(
            |(key, each, count, address, approved, prior_r)| {
                let schema = &schema;
                let provider = provider.clone();
                async move {
                    let r = self
                        .apply_instance(
                            walk,
                            block,
                            schema,
                            provider,
                            address.clone(),
                            approved,
                            prior_r.as_ref(),
                            each,
                            count,
                            journal,
                            outcome,
                            deps,
                        )
                        .await;
                    (key, address, r)
                }
            },
        ))
        .await;
        let mut failure = None;
        for (key, _address, r) in results {
            match r {
                Ok(Some(v)) => walk.values.lock().expect("values lock").set_instance(
                    block.mode,
                    &block.type_name,
                    &block.name,
                    exp,
                    key,
                    v,
                ),
                Ok(None) => {}
                Err(e) => failure = Some(e),
            }
        }
        // Instances whose key left count/for_each.
        for (key, r) in &current {
            if keys.contains(key) {
                continue;
            }
            if let Some(change) = by_address
                .get(&r.address)
                .filter(|c| c.action == Action::Delete)
            {
                match &provider {
                    Some(p) => {
                        if let Err(e) = self
                            .delete_instance(walk, p, r, change, journal, outcome)
                            .await
                        {
                            failure = Some(e);
                        }
                    }
                    None => failure = Some(format!("provider {:?} is not configured", r.provider)),
                }
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Re-plans one instance with real values and carries out the change. Returns the value
    /// dependents see.
    #[allow(clippy::too_many_arguments)]
    async fn apply_instance(
        &self,
        walk: &Walk<'_>,
        block: &ResourceBlock,
        schema: &ResourceSchema,
        provider: Option<Arc<dyn Provider>>,
        address: Address,
        approved: Option<&ResourceChange>,
        prior: Option<&ResourceState>,
        each: Option<(Value, Value)>,
        count: Option<i64>,
        journal: &Journal<'_>,
        outcome: &Mutex<AppliedStack>,
        deps: &[String],
    ) -> Result<Option<Value>, String> {
        let fail = |msg: String| {
            outcome
                .lock()
                .expect("outcome lock")
                .failed
                .push((address.clone(), msg.clone()));
            Err(msg)
        };
        let Some(provider) = provider else {
            return fail(format!(
                "provider {:?} is not configured",
                provider_key(block)
            ));
        };
        let (change, planned) = match self
            .plan_instance(walk, block, schema, address.clone(), prior, each, count)
            .await
        {
            Ok(x) => x,
            Err(d) => return fail(d.render()),
        };
        if block.mode == Mode::Data {
            return Ok(Some(planned));
        }
        if let Some(a) = approved {
            if a.action == Action::Update && change.action == Action::Replace {
                return fail(format!(
                    "{address} was planned as an in-place update but now needs replacement ({}); run plan again",
                    change.replace_because.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", ")
                ));
            }
        }
        if !planned.is_wholly_known() && change.action != Action::NoOp {
            let unknown: Vec<String> = planned
                .unknown_paths()
                .iter()
                .map(|p| p.to_string())
                .collect();
            let settable: Vec<&String> = unknown
                .iter()
                .filter(|p| {
                    schema
                        .block
                        .attribute_at(&Path::parse(p).unwrap_or_default())
                        .is_some_and(|a| a.settable() && !a.is_computed())
                })
                .collect();
            if !settable.is_empty() {
                return fail(format!(
                    "{address}: values still unknown at apply time: {}",
                    settable
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        let dependencies: Vec<String> = deps
            .iter()
            .map(|d| format!("{}/{d}", self.stack.name))
            .collect();
        let start = Instant::now();
        let ctx = {
            let events = self.events.clone();
            let address = address.clone();
            // Progress reports are forwarded with the time since the operation started.
            OperationContext::new(move |status: &str| {
                events.operation_progress(&address, status, start.elapsed())
            })
        };
        let ctx_events = &self.events;
        let _permit = walk.limiter.acquire().await;
        if self.cancel.is_cancelled() {
            outcome
                .lock()
                .expect("outcome lock")
                .not_started
                .push(address.clone());
            return Err("interrupted".into());
        }
        let action = change.action;
        if action == Action::NoOp {
            return Ok(Some(planned));
        }
        ctx_events.operation_started(&address, action);
        let result: Result<Option<ResourceState>, String> = async {
            let (plain_planned, _) = planned.unmark();
            match action {
                Action::Create => self
                    .create(
                        &*provider,
                        &change,
                        plain_planned,
                        schema,
                        &dependencies,
                        journal,
                        &ctx,
                    )
                    .await
                    .map(Some),
                Action::Update => {
                    let prior = prior.expect("update has a prior");
                    let intent = journal
                        .intent(IntentAction::Update, &change, Some(prior.id.clone()))
                        .await?;
                    let (prior_plain, _) = prior.value().unmark();
                    let changed = strata_plan::changed_paths(&prior_plain, &plain_planned);
                    let res = provider
                        .update(
                            UpdateRequest {
                                type_name: block.type_name.clone(),
                                id: prior.id.clone(),
                                prior: prior_plain,
                                planned: plain_planned,
                                changed,
                            },
                            &ctx,
                        )
                        .await;
                    match res {
                        Ok(obj) => {
                            let mut r = prior.clone();
                            r.id = obj.id.clone();
                            r.status = ResourceStatus::Ready;
                            r.dependencies = dependencies.clone();
                            set_attributes(&mut r, with_id(obj.attributes, &obj.id), Some(schema));
                            journal.applied(intent, r.clone()).await?;
                            Ok(Some(r))
                        }
                        Err(e) => {
                            journal.abandoned(intent).await?;
                            Err(describe(&e))
                        }
                    }
                }
                Action::Replace => {
                    let prior = prior.expect("replace has a prior");
                    if change.create_before_destroy {
                        let created = self
                            .create(
                                &*provider,
                                &change,
                                plain_planned,
                                schema,
                                &dependencies,
                                journal,
                                &ctx,
                            )
                            .await?;
                        self.delete_object(&*provider, prior, &change, journal, &ctx, false)
                            .await?;
                        // The delete of the old object removed nothing from state: the new object holds the address.
                        Ok(Some(created))
                    } else {
                        self.delete_object(&*provider, prior, &change, journal, &ctx, true)
                            .await?;
                        self.create(
                            &*provider,
                            &change,
                            plain_planned,
                            schema,
                            &dependencies,
                            journal,
                            &ctx,
                        )
                        .await
                        .map(Some)
                    }
                }
                Action::Delete => {
                    let prior = prior.expect("delete has a prior");
                    self.delete_object(&*provider, prior, &change, journal, &ctx, true)
                        .await
                        .map(|_| None)
                }
                Action::NoOp | Action::Read => Ok(None),
            }
        }
        .await;
        match result {
            Ok(r) => {
                ctx_events.operation_succeeded(
                    &address,
                    action,
                    r.as_ref().map(|r| r.id.as_str()),
                    start.elapsed(),
                );
                outcome
                    .lock()
                    .expect("outcome lock")
                    .succeeded
                    .push((address.clone(), action));
                Ok(r.map(|r| r.value()))
            }
            Err(e) => {
                ctx_events.operation_failed(&address, action, &e, start.elapsed());
                fail(e)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn create(
        &self,
        provider: &dyn Provider,
        change: &ResourceChange,
        planned: Value,
        schema: &ResourceSchema,
        dependencies: &[String],
        journal: &Journal<'_>,
        ctx: &OperationContext,
    ) -> Result<ResourceState, String> {
        let intent = journal.intent(IntentAction::Create, change, None).await?;
        let planned = strip_unknown(planned);
        let res = provider
            .create(
                CreateRequest {
                    type_name: change.address.type_name.clone(),
                    planned,
                },
                ctx,
            )
            .await;
        let mut r = ResourceState {
            address: change.address.clone(),
            provider: change.provider.clone(),
            id: String::new(),
            attributes: serde_json::Value::Null,
            sensitive_paths: Vec::new(),
            dependencies: dependencies.to_vec(),
            schema_version: schema.version,
            status: ResourceStatus::Ready,
        };
        match res {
            Ok(obj) => {
                r.id = obj.id.clone();
                set_attributes(&mut r, with_id(obj.attributes, &obj.id), Some(schema));
                journal.applied(intent, r.clone()).await?;
                Ok(r)
            }
            Err(e) => {
                match e.partial.as_deref() {
                    // Partial progress is kept so the next run resumes instead of orphaning it.
                    Some(obj) => {
                        r.id = obj.id.clone();
                        r.status = ResourceStatus::Partial;
                        set_attributes(
                            &mut r,
                            with_id(obj.attributes.clone(), &obj.id),
                            Some(schema),
                        );
                        journal.applied(intent, r).await?;
                    }
                    None => journal.abandoned(intent).await?,
                }
                Err(describe(&e))
            }
        }
    }

    async fn delete_object(
        &self,
        provider: &dyn Provider,
        prior: &ResourceState,
        change: &ResourceChange,
        journal: &Journal<'_>,
        ctx: &OperationContext,
        forget: bool,
    ) -> Result<(), String> {
        let intent = journal
            .intent(IntentAction::Delete, change, Some(prior.id.clone()))
            .await?;
        let (prior_plain, _) = prior.value().unmark();
        match provider
            .delete(
                DeleteRequest {
                    type_name: prior.address.type_name.clone(),
                    id: prior.id.clone(),
                    prior: prior_plain,
                },
                ctx,
            )
            .await
        {
            Ok(()) if forget => journal.deleted(intent, &prior.address).await,
            Ok(()) => journal.abandoned(intent).await,
            Err(e) => {
                journal.abandoned(intent).await?;
                Err(describe(&e))
            }
        }
    }

    async fn delete_instance(
        &self,
        walk: &Walk<'_>,
        provider: &Arc<dyn Provider>,
        r: &ResourceState,
        change: &ResourceChange,
        journal: &Journal<'_>,
        outcome: &Mutex<AppliedStack>,
    ) -> Result<(), String> {
        let start = Instant::now();
        let events = &self.events;
        let address = r.address.clone();
        let ctx = {
            let events = events.clone();
            let address = address.clone();
            OperationContext::new(move |status: &str| {
                events.operation_progress(&address, status, start.elapsed())
            })
        };
        let _permit = walk.limiter.acquire().await;
        if self.cancel.is_cancelled() {
            outcome
                .lock()
                .expect("outcome lock")
                .not_started
                .push(address);
            return Err("interrupted".into());
        }
        events.operation_started(&address, Action::Delete);
        match self
            .delete_object(&**provider, r, change, journal, &ctx, true)
            .await
        {
            Ok(()) => {
                events.operation_succeeded(&address, Action::Delete, None, start.elapsed());
                outcome
                    .lock()
                    .expect("outcome lock")
                    .succeeded
                    .push((address, Action::Delete));
                Ok(())
            }
            Err(e) => {
                events.operation_failed(&address, Action::Delete, &e, start.elapsed());
                outcome
                    .lock()
                    .expect("outcome lock")
                    .failed
                    .push((address, e.clone()));
                Err(e)
            }
        }
    }
}

/// Computed attributes still unknown in a create request are sent as absent.
fn strip_unknown(v: Value) -> Value {
    match v {
        Value::Unknown => Value::Null,
        Value::Map(m) => Value::Map(m.into_iter().map(|(k, v)| (k, strip_unknown(v))).collect()),
        Value::List(l) => Value::List(l.into_iter().map(strip_unknown).collect()),
        other => other,
    }
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
