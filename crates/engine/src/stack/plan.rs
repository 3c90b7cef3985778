//! The plan walk: refresh, evaluate and diff every instance.

use super::*;

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

        let report = strata_graph::walk(&graph.dag, &walk.visits, &self.cancel, |id, node| {
            let walk = &walk;
            let changes = &changes;
            let refreshed = &refreshed;
            let outputs = &outputs;
            let errors = &errors;
            let selected = selected.contains(&id);
            let graph = &graph;
            async move {
                let result: Result<(), Vec<Diagnostic>> = match node {
                    Node::Local(name) => walk.eval_local(name),
                    Node::Provider(key) => walk
                        .configure(key, false)
                        .await
                        .map_err(|e| vec![Diagnostic::error(e)]),
                    Node::Resource(i) => {
                        let block = &self.stack.resources[*i];
                        let deps = graph.resource_deps.get(&id).cloned().unwrap_or_default();
                        self.plan_block(
                            walk, block, prior, refreshed, changes, destroy, selected, &deps,
                        )
                        .await
                        .map_err(|d| vec![d])
                    }
                    Node::Output(name) => match walk.eval_output(name) {
                        Ok(v) => {
                            outputs
                                .lock()
                                .expect("outputs lock")
                                .insert(name.clone(), v);
                            Ok(())
                        }
                        Err(d) => Err(d),
                    },
                    Node::Orphan(local) => {
                        if selected {
                            self.plan_orphan(walk, local, prior, refreshed, changes)
                                .await
                                .map_err(|e| vec![Diagnostic::error(e)])
                        } else {
                            Ok(())
                        }
                    }
                };
                if let Err(d) = &result {
                    errors
                        .lock()
                        .expect("errors lock")
                        .extend(d.iter().cloned());
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
        for c in changes
            .iter()
            .filter(|c| matches!(c.action, Action::Delete | Action::Replace))
        {
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
        let _permit = walk.call_permit(provider.as_ref()).await;
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
                &r.sensitive_paths,
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
        let block_prior: Vec<&ResourceState> =
            block_instances(prior, block.mode, &block.type_name, &block.name).collect();

        // Refresh what state holds for this block: every instance at once, bounded by the call
        // limiter inside `refresh`.
        let mut current: BTreeMap<Option<InstanceKey>, ResourceState> = BTreeMap::new();
        let mut gone: HashSet<Option<InstanceKey>> = HashSet::new();
        let reads = futures::future::join_all(block_prior.iter().map(|r| async move {
            let read = if selected {
                self.refresh(walk, r).await
            } else {
                Ok(Some((*r).clone()))
            };
            (*r, read)
        }))
        .await;
        for (r, read) in reads {
            match read.map_err(Diagnostic::error)? {
                Some(fresh) => {
                    if selected {
                        refreshed
                            .lock()
                            .expect("refreshed lock")
                            .resources
                            .insert(fresh.address.local(), fresh.clone());
                    }
                    current.insert(r.address.key.clone(), fresh);
                }
                None => {
                    refreshed
                        .lock()
                        .expect("refreshed lock")
                        .resources
                        .remove(&r.address.local());
                    gone.insert(r.address.key.clone());
                }
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
        // Instances of a block cannot refer to each other, so they are planned concurrently;
        // provider calls stay bounded by the call limiter.
        let mut keys = HashSet::new();
        let mut work = Vec::new();
        for (key, each, count) in instances {
            keys.insert(key.clone());
            let address = self.address(block, key.clone());
            if !self.instance_selected(&address) {
                if let Some(r) = current.get(&key) {
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
            work.push((key, address, each, count));
        }
        let current = &current;
        let schema = &schema;
        let planned = futures::future::join_all(work.into_iter().map(
            |(key, address, each, count)| async move {
                let prior_r = current.get(&key);
                (
                    key,
                    self.plan_instance(walk, block, schema, address, prior_r, each, count)
                        .await,
                )
            },
        ))
        .await;
        for (key, result) in planned {
            let (mut change, planned) = result?;
            if gone.contains(&key) && change.action == Action::Create {
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
        for (key, r) in current {
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
    pub(super) async fn plan_instance(
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
        let normalized = resolve_file_paths(&schema.block, normalized, &self.stack.dir);
        let provider = walk
            .providers
            .lock()
            .expect("providers lock")
            .get(&provider_key(block));

        if block.mode == Mode::Data {
            let value = match &provider {
                Some(p) if normalized.is_wholly_known() => {
                    let (plain, _) = normalized.unmark();
                    let _permit = walk.call_permit(p.as_ref()).await;
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
        let status = prior.map(|p| p.status).unwrap_or_default();
        let proposed = strata_plan::propose(
            &schema.block,
            prior_value.as_ref(),
            &normalized,
            &lc.ignore_changes,
        );
        let (planned, extra) = match (&provider, prior) {
            (Some(p), _) => {
                let _permit = walk.call_permit(p.as_ref()).await;
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
        match status {
            // An operation that made partial progress (a rollout that timed out) is resumed:
            // the provider is asked again to bring the object to the configuration.
            ResourceStatus::Partial if action == Action::NoOp => {
                action = Action::Update;
                reason =
                    Some("an earlier operation on it did not finish; it will be resumed".into());
            }
            ResourceStatus::Partial if action == Action::Update => {
                reason =
                    Some("an earlier operation on it did not finish; it will be resumed".into());
            }
            // A tainted object is not trusted: it is replaced.
            ResourceStatus::Tainted if matches!(action, Action::NoOp | Action::Update) => {
                action = Action::Replace;
                reason = Some("it is tainted".into());
                planned = schema.block.mark_sensitive(strata_plan::propose(
                    &schema.block,
                    None,
                    &normalized,
                    &lc.ignore_changes,
                ));
                replace_because.clear();
            }
            _ => {}
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

/// Joins relative values of `file_path` attributes (top level) to the stack's folder.
fn resolve_file_paths(
    schema: &strata_core::schema::BlockSchema,
    mut v: Value,
    stack_dir: &std::path::Path,
) -> Value {
    if let Value::Map(m) = &mut v {
        for (name, attr) in &schema.attributes {
            if !attr.file_path {
                continue;
            }
            if let Some(slot) = m.get_mut(name) {
                if let Some(p) = slot
                    .as_str()
                    .map(std::path::Path::new)
                    .filter(|p| p.is_relative())
                {
                    let joined = Value::from(stack_dir.join(p).to_string_lossy().into_owned());
                    *slot = if slot.is_sensitive() {
                        joined.sensitive()
                    } else {
                        joined
                    };
                }
            }
        }
    }
    v
}
