//! The apply walk: carry out each change between an intent and its result in the journal.

use super::*;

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

        let report = strata_graph::walk(&graph.dag, &walk.visits, &self.cancel, |id, node| {
            let walk = &walk;
            let outcome = &outcome;
            let outputs = &outputs;
            let by_address = &by_address;
            let prior = &prior;
            let selected = selected.contains(&id);
            let deps = resource_deps.get(&id).cloned().unwrap_or_default();
            async move {
                match node {
                    Node::Local(name) => walk.eval_local(name).map_err(|d| render(&d)),
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
                        let v = walk.eval_output(name).map_err(|d| render(&d))?;
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
            block_instances(&state, block.mode, &block.type_name, &block.name)
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
            // Data sources are read again on every apply: they are not kept in state.
            let must_plan = approved.is_some_and(|c| c.action != Action::NoOp)
                || placeholder && prior_r.is_none()
                || block.mode == Mode::Data;
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
        let ctx = self.progress_context(&address, start);
        let ctx_events = &self.events;
        let _permit = walk.call_permit(provider.as_ref()).await;
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
                            set_attributes(
                                &mut r,
                                with_id(obj.attributes, &obj.id),
                                Some(schema),
                                &sensitive_paths_of(&change),
                            );
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
                set_attributes(
                    &mut r,
                    with_id(obj.attributes, &obj.id),
                    Some(schema),
                    &sensitive_paths_of(change),
                );
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
                            &sensitive_paths_of(change),
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
        let ctx = self.progress_context(&address, start);
        let _permit = walk.call_permit(provider.as_ref()).await;
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

fn render(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .map(|d| d.render())
        .collect::<Vec<_>>()
        .join("\n")
}

impl StackRun<'_> {
    /// The context of one provider operation: the cloud's status reports reach the events with
    /// the time since the operation started.
    fn progress_context(&self, address: &Address, start: Instant) -> OperationContext {
        let events = self.events.clone();
        let address = address.clone();
        OperationContext::new(move |status: &str| {
            events.operation_progress(&address, status, start.elapsed())
        })
    }
}
