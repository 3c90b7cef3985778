//! `plan`, `apply` and `destroy` over one or more stacks.
//!
//! Stacks are walked in dependency order (reverse order for destroy). A stack's `dependency`
//! blocks see the upstream stack's outputs: the planned ones (possibly unknown) when the upstream
//! stack changes in the same run, else those state holds. When applying, every stack is planned
//! again just before it is applied, so a downstream stack sees its upstream's real outputs.

use crate::events::Events;
use crate::registry::Registry;
use crate::stack::{AppliedStack, Journal, PlannedStack, StackRun};
use crate::stacks::{self, StackGraph};
use crate::EngineError;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use strata_config::Project;
use strata_core::{Address, AddressPattern, Diagnostic, Value};
use strata_plan::{Action, OutputChange, Plan, StackPlan};
use strata_state::{Loaded, StackState, StateKey, StateStore};
use tokio_util::sync::CancellationToken;

/// How a run behaves; the CLI fills it from flags.
#[derive(Debug, Clone)]
pub struct Options {
    /// At most this many provider calls at once.
    pub parallelism: usize,
    /// Fewer calls at once to a provider whose cloud throttles (see [`crate::limits`]).
    pub adaptive_parallelism: bool,
    /// `drift --unmanaged`: also list cloud objects no state manages.
    pub unmanaged: bool,
    /// Read every resource through its provider before planning.
    pub refresh: bool,
    pub targets: Vec<AddressPattern>,
    pub excludes: Vec<AddressPattern>,
    /// `STRATA_VAR_<name>` values from the environment.
    pub env_vars: BTreeMap<String, String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            parallelism: 10,
            adaptive_parallelism: true,
            unmanaged: false,
            refresh: true,
            targets: Vec::new(),
            excludes: Vec::new(),
            env_vars: BTreeMap::new(),
        }
    }
}

/// Everything one command works with.
pub struct Session {
    pub project: Project,
    pub env: String,
    pub store: Arc<dyn StateStore>,
    pub registry: Registry,
    pub events: Arc<dyn Events>,
    pub options: Options,
    pub cancel: CancellationToken,
    /// Bounds on provider calls, shared by every stack of the run.
    pub limits: Arc<crate::limits::CallLimits>,
    /// Each stack's state as this session's plan refreshed it, with the serial it was read at:
    /// an apply of that plan starts from it rather than reading every resource again, as long
    /// as nothing it depends on changed since.
    refreshed: std::sync::Mutex<BTreeMap<String, (u64, StackState)>>,
}

/// What `apply` or `destroy` did, per stack in the order they ran.
#[derive(Debug, Default)]
pub struct ApplyReport {
    pub stacks: Vec<(String, AppliedStack)>,
    /// Stacks not applied because a stack they depend on failed.
    pub skipped_stacks: Vec<(String, String)>,
    pub notes: Vec<String>,
    pub interrupted: bool,
}

impl ApplyReport {
    pub fn ok(&self) -> bool {
        !self.interrupted
            && self.skipped_stacks.is_empty()
            && self.stacks.iter().all(|(_, s)| s.ok())
    }

    pub fn count(&self, pred: impl Fn(Action) -> bool) -> usize {
        self.stacks
            .iter()
            .flat_map(|(_, s)| &s.succeeded)
            .filter(|(_, a)| pred(*a))
            .count()
    }
}

/// Every problem the configuration has that can be found without touching state or the
/// cloud: syntax and references (at load), schemas, variables, stack and resource cycles.
pub fn validate(
    project: &Project,
    env: &str,
    registry: &Registry,
    env_vars: &BTreeMap<String, String>,
) -> Vec<Diagnostic> {
    let mut diags = strata_config::validate_with_types(
        project,
        &|mode, t| registry.schema_of(mode, t),
        &|mode| registry.type_names(mode),
    )
    .0;
    if let Err(EngineError::Config(d)) = StackGraph::build(project) {
        diags.extend(d);
    }
    for stack in project.stacks.values() {
        diags.extend(check_providers(project, stack, registry));
        diags.extend(crate::stack::check_cycles(project, stack, registry));
    }
    let environment = project.environments.get(env);
    for stack in project.stacks.values() {
        if let Err(d) = strata_config::resolve_variables(stack, environment, env_vars) {
            diags.extend(d.0);
        }
    }
    diags
}

/// Provider blocks name a provider this build has and set only arguments it declares.
fn check_providers(
    project: &Project,
    stack: &strata_config::Stack,
    registry: &Registry,
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let available: Vec<&str> = registry.names().collect();
    for block in &stack.providers {
        let Some(provider) = registry.get(&block.name) else {
            let hint =
                match strata_core::diagnostic::nearest(&block.name, available.iter().copied()) {
                    Some(n) => format!("did you mean {n:?}?"),
                    None => format!("this build has: {}", available.join(", ")),
                };
            diags.push(
                Diagnostic::error(format!("Unknown provider {:?}", block.name))
                    .with_span(block.span.clone(), project.sources.line(&block.span))
                    .with_hint(hint),
            );
            continue;
        };
        let schema = provider.schema().provider;
        for attr in &block.body.attributes {
            if !schema.attributes.contains_key(&attr.name) {
                let known: Vec<&str> = schema.attributes.keys().map(String::as_str).collect();
                let hint = match strata_core::diagnostic::nearest(&attr.name, known.iter().copied())
                {
                    Some(n) => format!("did you mean {n:?}?"),
                    None => format!("provider {:?} takes: {}", block.name, known.join(", ")),
                };
                diags.push(
                    Diagnostic::error(format!(
                        "Unsupported argument {:?} in provider {:?}",
                        attr.name, block.name
                    ))
                    .with_span(attr.span.clone(), project.sources.line(&attr.span))
                    .with_hint(hint),
                );
            }
        }
    }
    diags
}

fn empty_state() -> StackState {
    StackState::new()
}

impl Session {
    /// A session; provider calls are bounded as `options` says.
    pub fn new(
        project: Project,
        env: String,
        store: Arc<dyn StateStore>,
        registry: Registry,
        events: Arc<dyn Events>,
        options: Options,
        cancel: CancellationToken,
    ) -> Session {
        let limits =
            crate::limits::CallLimits::new(options.parallelism, options.adaptive_parallelism);
        Session {
            project,
            env,
            store,
            registry,
            events,
            options,
            cancel,
            limits,
            refreshed: Default::default(),
        }
    }

    pub fn key(&self, stack: &str) -> StateKey {
        StateKey {
            env: self.env.clone(),
            stack: stack.to_string(),
        }
    }

    pub fn validate(&self) -> Vec<Diagnostic> {
        validate(
            &self.project,
            &self.env,
            &self.registry,
            &self.options.env_vars,
        )
    }

    async fn load(&self, stack: &str) -> Result<Loaded, EngineError> {
        Ok(self
            .store
            .load(&self.key(stack))
            .await?
            .unwrap_or_else(|| Loaded {
                state: empty_state(),
                open_intents: Vec::new(),
            }))
    }

    pub(crate) fn variables(&self, stack: &str) -> Result<BTreeMap<String, Value>, EngineError> {
        let s = &self.project.stacks[stack];
        Ok(strata_config::resolve_variables(
            s,
            self.project.environments.get(&self.env),
            &self.options.env_vars,
        )?)
    }

    pub(crate) fn run<'a>(
        &'a self,
        stack: &str,
        variables: BTreeMap<String, Value>,
        dependencies: BTreeMap<String, Value>,
    ) -> StackRun<'a> {
        StackRun {
            project: &self.project,
            stack: &self.project.stacks[stack],
            key: self.key(stack),
            registry: &self.registry,
            events: self.events.clone(),
            variables,
            dependencies,
            limits: self.limits.clone(),
            refresh: self.options.refresh,
            targets: self.options.targets.clone(),
            excludes: self.options.excludes.clone(),
            cancel: self.cancel.clone(),
        }
    }

    /// The outputs a stack's `dependency` blocks see: planned outputs of upstream stacks that
    /// change in this run, else what their state holds, else unknown (never applied).
    async fn dependency_values(
        &self,
        stack: &str,
        planned_outputs: &BTreeMap<String, Value>,
    ) -> Result<BTreeMap<String, Value>, EngineError> {
        let mut out = BTreeMap::new();
        for dep in self.project.stacks[stack].dependencies.values() {
            let v = match planned_outputs.get(&dep.stack) {
                Some(v) => v.clone(),
                None => state_outputs(&self.load(&dep.stack).await?.state),
            };
            out.insert(dep.name.clone(), v);
        }
        Ok(out)
    }

    /// Plans the selected stacks. With `destroy`, plans deleting everything they hold.
    pub async fn plan(
        &self,
        selected: &BTreeSet<String>,
        destroy: bool,
    ) -> Result<Plan, EngineError> {
        let diags: Vec<Diagnostic> = self
            .validate()
            .into_iter()
            .filter(Diagnostic::is_error)
            .collect();
        if !diags.is_empty() {
            return Err(EngineError::Config(diags));
        }
        if destroy {
            self.check_consumers(selected).await?;
        }
        let mut planned_outputs: BTreeMap<String, Value> = BTreeMap::new();
        let mut stacks = Vec::new();
        // Stacks that do not depend on each other are planned at once: on a slow or failing
        // cloud, a stack's plan lasts as long as its slowest read, and those waits overlap.
        let graph = StackGraph::build(&self.project)?;
        for wave in graph.waves(selected, destroy) {
            let upstream_outputs = &planned_outputs;
            let plans = futures::future::join_all(wave.iter().map(|stack| async move {
                self.events
                    .stack_started(stack, if destroy { "destroy plan" } else { "plan" });
                // Operations a killed run left open are settled against the cloud first, so
                // that the plan starts from what really exists.
                self.settle(stack).await?;
                let loaded = self.load(stack).await?;
                let variables = self.variables(stack)?;
                let deps = self.dependency_values(stack, upstream_outputs).await?;
                let run = self.run(stack, variables, deps);
                let planned = run.plan(&loaded.state, destroy).await?;
                Ok::<_, EngineError>((stack.clone(), loaded, planned))
            }))
            .await;
            for result in plans {
                let (stack, loaded, planned) = result?;
                self.planned_stack(
                    stack,
                    loaded,
                    planned,
                    destroy,
                    &mut planned_outputs,
                    &mut stacks,
                );
            }
        }
        Ok(Plan {
            format_version: strata_plan::FORMAT_VERSION,
            project: self.project.name.clone(),
            env: self.env.clone(),
            destroy,
            created_at: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            strata_version: env!("CARGO_PKG_VERSION").to_string(),
            stacks,
        })
    }

    /// Records one stack's plan: its warnings, the state it refreshed, its planned outputs for
    /// the stacks downstream, and its part of the plan.
    fn planned_stack(
        &self,
        stack: String,
        loaded: Loaded,
        planned: PlannedStack,
        destroy: bool,
        planned_outputs: &mut BTreeMap<String, Value>,
        stacks: &mut Vec<StackPlan>,
    ) {
        for w in &planned.warnings {
            self.events.warning(w);
        }
        if self.options.refresh {
            self.refreshed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(
                    stack.clone(),
                    (loaded.state.serial, planned.refreshed.clone()),
                );
        }
        let sp = stack_plan(&stack, &self.project, &loaded.state, &planned, destroy);
        if !destroy
            && (sp.changes.iter().any(|c| c.action != Action::NoOp)
                || sp.outputs.iter().any(|o| o.before != o.after))
        {
            planned_outputs.insert(stack.clone(), outputs_value(&planned));
        }
        stacks.push(sp);
    }

    /// Settles the intents a killed run left open in one stack (see [`crate::recover`]).
    /// This is the only state write a plan makes, and only when such intents exist.
    pub async fn settle(&self, stack: &str) -> Result<Vec<String>, EngineError> {
        let loaded = self.load(stack).await?;
        if loaded.open_intents.is_empty() {
            return Ok(Vec::new());
        }
        let variables = self.variables(stack)?;
        let deps = self.dependency_values(stack, &BTreeMap::new()).await?;
        let run = self.run(stack, variables, deps);
        let notes =
            crate::recover::reconcile(&run, &*self.store, &self.key(stack), &loaded).await?;
        for n in &notes {
            self.events.note(n);
        }
        Ok(notes)
    }

    /// Refuses a saved plan whose stacks' state or configuration moved since it was made.
    pub async fn check_saved_plan(&self, plan: &Plan) -> Result<(), EngineError> {
        if plan.project != self.project.name {
            return Err(EngineError::StalePlan {
                message: format!(
                    "the plan file belongs to project {:?}, not {:?}",
                    plan.project, self.project.name
                ),
            });
        }
        if plan.env != self.env {
            return Err(EngineError::StalePlan {
                message: format!(
                    "the plan file was made for environment {:?}, not {:?}",
                    plan.env, self.env
                ),
            });
        }
        for sp in &plan.stacks {
            let Some(stack) = self.project.stacks.get(&sp.stack) else {
                return Err(EngineError::StalePlan {
                    message: format!("stack {:?} of the plan no longer exists", sp.stack),
                });
            };
            let loaded = self.load(&sp.stack).await?;
            let lineage = (!loaded.state.lineage.is_empty()).then(|| loaded.state.lineage.clone());
            if lineage.is_some() && sp.state_lineage.is_some() && lineage != sp.state_lineage {
                return Err(EngineError::StalePlan {
                    message: format!(
                        "the state of {} was replaced since the plan was made (another lineage)",
                        self.key(&sp.stack)
                    ),
                });
            }
            if loaded.state.serial != sp.state_serial {
                return Err(EngineError::StalePlan {
                    message: format!(
                        "the state of {} changed since the plan was made (serial {} then, {} now)",
                        self.key(&sp.stack),
                        sp.state_serial,
                        loaded.state.serial
                    ),
                });
            }
            if stack.digest != sp.config_digest {
                return Err(EngineError::StalePlan {
                    message: format!(
                        "the configuration of stack {:?} changed since the plan was made",
                        sp.stack
                    ),
                });
            }
        }
        Ok(())
    }

    /// Destroying a stack is refused while an applied stack outside the selection consumes its outputs.
    async fn check_consumers(&self, selected: &BTreeSet<String>) -> Result<(), EngineError> {
        for (upstream, consumers) in stacks::consumers(&self.project) {
            if !selected.contains(&upstream) {
                continue;
            }
            for c in consumers {
                if selected.contains(&c) {
                    continue;
                }
                let state = self.load(&c).await?.state;
                if !state.resources.is_empty() {
                    return Err(EngineError::refused(
                        format!("stack {upstream:?} cannot be destroyed: stack {c:?} is applied and consumes its outputs"),
                        Some(format!("destroy both together: strata destroy {c} {upstream} (or --all)")),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Applies the selected stacks, following `approved` (the plan the user saw or saved).
    pub async fn apply(&self, approved: &Plan) -> Result<ApplyReport, EngineError> {
        let destroy = approved.destroy;
        let selected: BTreeSet<String> = approved.stacks.iter().map(|s| s.stack.clone()).collect();
        let graph = StackGraph::build(&self.project)?;
        let mut report = ApplyReport::default();
        let mut changed_upstream: BTreeSet<String> = BTreeSet::new();
        let mut failed: BTreeSet<String> = BTreeSet::new();
        // Stacks that do not depend on each other are applied at once, wave after wave.
        for wave in graph.waves(&selected, destroy) {
            let mut runnable = Vec::new();
            for stack in wave {
                if self.cancel.is_cancelled() {
                    report.interrupted = true;
                    report
                        .skipped_stacks
                        .push((stack.clone(), "interrupted".into()));
                    continue;
                }
                let blocked = if destroy {
                    stacks::consumers(&self.project)
                        .get(&stack)
                        .into_iter()
                        .flatten()
                        .find(|c| failed.contains(*c))
                        .cloned()
                } else {
                    graph
                        .upstream(&stack)
                        .into_iter()
                        .find(|u| failed.contains(u))
                };
                if let Some(b) = blocked {
                    report
                        .skipped_stacks
                        .push((stack.clone(), format!("stack {b:?} did not finish")));
                    failed.insert(stack);
                    continue;
                }
                runnable.push(stack);
            }
            let changed_before = &changed_upstream;
            let graph = &graph;
            let results = futures::future::join_all(runnable.into_iter().map(|stack| async move {
                let approved_stack = approved.stacks.iter().find(|s| s.stack == stack);
                let applied = self
                    .apply_stack(&stack, approved_stack, destroy, graph, changed_before)
                    .await;
                (stack, applied)
            }))
            .await;
            // Every stack of the wave has finished (or failed) by now: its work is in state
            // whatever happened to the others.
            let mut first_error = None;
            for (stack, result) in results {
                match result {
                    Ok((notes, applied)) => {
                        report.notes.extend(notes);
                        if !applied.succeeded.is_empty() {
                            changed_upstream.insert(stack.clone());
                        }
                        if !applied.ok() {
                            failed.insert(stack.clone());
                        }
                        report.stacks.push((stack, applied));
                    }
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            if let Some(e) = first_error {
                return Err(e);
            }
        }
        if self.cancel.is_cancelled() {
            report.interrupted = true;
        }
        Ok(report)
    }

    async fn apply_stack(
        &self,
        stack: &str,
        approved: Option<&StackPlan>,
        destroy: bool,
        graph: &StackGraph,
        changed_upstream: &BTreeSet<String>,
    ) -> Result<(Vec<String>, AppliedStack), EngineError> {
        self.events
            .stack_started(stack, if destroy { "destroy" } else { "apply" });
        let key = self.key(stack);
        let variables = self.variables(stack)?;
        let deps = self.dependency_values(stack, &BTreeMap::new()).await?;
        let mut run = self.run(stack, variables, deps);

        let notes = self.settle(stack).await?;
        let loaded = self.load(stack).await?;

        // Upstream stacks applied in this run may have turned unknowns into values; for the rest
        // the fresh plan must do what the user approved.
        let upstream_changed = graph
            .upstream(stack)
            .iter()
            .any(|u| changed_upstream.contains(u));
        // What this session's plan read is still the truth when neither the stack's state nor
        // anything upstream changed since: plan from it instead of reading every resource again
        // (as `terraform apply` applies the plan it just showed).
        let refreshed = if approved.is_some() && !upstream_changed {
            self.refreshed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(stack)
                .filter(|(serial, _)| *serial == loaded.state.serial)
                .map(|(_, state)| state)
        } else {
            None
        };
        let planned: PlannedStack = match &refreshed {
            Some(state) => {
                run.refresh = false;
                run.plan(state, destroy).await?
            }
            None => run.plan(&loaded.state, destroy).await?,
        };
        if let Some(approved) = approved {
            if !upstream_changed {
                let want: BTreeSet<(String, String)> = approved
                    .changes
                    .iter()
                    .filter(|c| c.action != Action::NoOp)
                    .map(|c| (c.address.to_string(), format!("{:?}", c.action)))
                    .collect();
                let have: BTreeSet<(String, String)> = planned
                    .changes
                    .iter()
                    .filter(|c| c.action != Action::NoOp)
                    .map(|c| (c.address.to_string(), format!("{:?}", c.action)))
                    .collect();
                if want != have {
                    let diff: Vec<String> = have
                        .symmetric_difference(&want)
                        .map(|(a, act)| format!("{a} ({act})"))
                        .collect();
                    return Err(EngineError::StalePlan {
                        message: format!(
                            "the changes for stack {stack:?} are no longer the ones approved: {}",
                            diff.join(", ")
                        ),
                    });
                }
            }
        }

        let base_serial = loaded.state.serial;
        let mut working = planned.refreshed.clone();
        working.serial = loaded.state.serial;
        let journal = Journal {
            store: &*self.store,
            key: &key,
            state: Mutex::new(working),
        };
        let applied = run.apply(&planned, &journal, destroy).await?;
        let state = journal.state.into_inner().expect("state lock");
        self.store.persist(&key, &state, base_serial).await?;
        Ok((notes, applied))
    }
}

pub(crate) fn state_outputs(state: &StackState) -> Value {
    if state.lineage.is_empty() && state.resources.is_empty() && state.outputs.is_empty() {
        return Value::Unknown;
    }
    Value::Map(
        state
            .outputs
            .iter()
            .map(|(k, o)| {
                let v = Value::from_json(&o.value);
                (k.clone(), if o.sensitive { v.sensitive() } else { v })
            })
            .collect(),
    )
}

fn outputs_value(planned: &PlannedStack) -> Value {
    Value::Map(
        planned
            .outputs
            .iter()
            .map(|(k, (v, _))| (k.clone(), v.clone()))
            .collect(),
    )
}

fn stack_plan(
    stack: &str,
    project: &Project,
    prior: &StackState,
    planned: &PlannedStack,
    destroy: bool,
) -> StackPlan {
    let mut outputs = Vec::new();
    if !destroy {
        let names: BTreeSet<&String> = planned.outputs.keys().chain(prior.outputs.keys()).collect();
        for name in names {
            let before = prior.outputs.get(name).map(|o| {
                let v = Value::from_json(&o.value);
                if o.sensitive {
                    v.sensitive()
                } else {
                    v
                }
            });
            let after = planned.outputs.get(name).map(|(v, _)| v.clone());
            let sensitive = planned.outputs.get(name).is_some_and(|(_, s)| *s)
                || prior.outputs.get(name).is_some_and(|o| o.sensitive);
            outputs.push(OutputChange {
                name: name.clone(),
                before,
                after,
                sensitive,
            });
        }
    }
    StackPlan {
        stack: stack.to_string(),
        state_lineage: (!prior.lineage.is_empty()).then(|| prior.lineage.clone()),
        state_serial: prior.serial,
        config_digest: project.stacks[stack].digest.clone(),
        changes: planned.changes.clone(),
        outputs,
    }
}

/// Addresses in a plan's changes, for messages.
pub fn addresses(plan: &Plan) -> Vec<Address> {
    plan.stacks
        .iter()
        .flat_map(|s| s.changes.iter().map(|c| c.address.clone()))
        .collect()
}
