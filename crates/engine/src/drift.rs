//! Drift: what differs between the cloud, state and configuration — read-only.
//!
//! For each selected stack:
//! - every resource in state is read through its provider, concurrently; an attribute the
//!   configuration sets that the cloud now holds differently is **changed**, an object the cloud
//!   no longer has is **deleted**;
//! - the stack is planned against state without refresh: a resource whose configuration differs
//!   from state is **pending** (code merged, not applied) — reported apart from drift, because
//!   the fix is an apply, not an investigation;
//! - a stack whose state was written before the state of a stack it depends on is a **stale
//!   dependent**: it consumed outputs that may have changed since.
//!
//! Nothing is written: no state, no journal, no cloud call but reads. Only the time it takes to
//! load state is spent holding the backend's lock (the CLI releases it before refreshing).

use crate::run::Session;
use crate::EngineError;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use strata_core::provider::ReadRequest;
use strata_core::{Path, Value};
use strata_plan::Action;
use strata_state::{Loaded, StackState};

/// The version of the JSON report; bumped on any incompatible change (docs/drift.md).
pub const REPORT_VERSION: &str = "1.0";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// The cloud's value differs from state's.
    Changed,
    /// The object is gone from the cloud.
    Deleted,
    /// Configuration differs from state: a change was merged and not applied.
    Pending,
    /// The stack consumed outputs of an upstream stack that changed after it was applied.
    StaleDependent,
    /// An object in the cloud that no state of the environment manages (`--unmanaged`).
    Unmanaged,
}

impl FindingKind {
    /// Pending changes and stale dependents are not drift of the cloud, but both need an apply.
    pub fn is_cloud_drift(self) -> bool {
        matches!(
            self,
            FindingKind::Changed | FindingKind::Deleted | FindingKind::Unmanaged
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub stack: String,
    pub kind: FindingKind,
    /// The resource (`STACK/TYPE.NAME[KEY]`), absent for stack-level findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    /// What state holds (redacted when sensitive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_value: Option<serde_json::Value>,
    /// What the cloud holds (redacted when sensitive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud_value: Option<serde_json::Value>,
    /// What the configuration asks for, for pending changes (redacted when sensitive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_value: Option<serde_json::Value>,
    /// Set when an ignore rule matched: why it was silenced, or that the rule has expired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StackError {
    pub stack: String,
    pub message: String,
}

/// The outcome of a drift check.
#[derive(Debug, Clone, Serialize)]
pub struct DriftReport {
    pub format_version: &'static str,
    pub project: String,
    pub environment: String,
    pub generated_at: String,
    pub stacks: Vec<String>,
    pub findings: Vec<Finding>,
    /// Findings silenced by an ignore rule that is still in force.
    pub ignored: Vec<Finding>,
    pub errors: Vec<StackError>,
}

impl DriftReport {
    pub fn has_findings(&self) -> bool {
        !self.findings.is_empty()
    }
}

/// The stacks of shard `index` (1-based) of `count`: every stack belongs to exactly one shard,
/// the same one on every machine (sorted names, dealt round-robin).
pub fn shard(stacks: &BTreeSet<String>, index: usize, count: usize) -> BTreeSet<String> {
    stacks
        .iter()
        .enumerate()
        .filter(|(i, _)| count > 0 && i % count == index.saturating_sub(1))
        .map(|(_, s)| s.clone())
        .collect()
}

/// The state of every stack the selection needs (selected stacks and their upstreams), loaded
/// once so that the backend's lock can be released before anything is read from the cloud.
pub struct DriftInputs {
    pub states: BTreeMap<String, Loaded>,
    /// Every cloud id in the environment's states (with `--unmanaged`: of every stack of the
    /// project, not only the selected ones), to tell unmanaged objects from managed ones.
    pub known_ids: BTreeSet<String>,
    pub histories: BTreeMap<String, String>,
}

impl Session {
    /// Loads what a drift check needs from state; the only step that touches the backend.
    pub async fn drift_inputs(
        &self,
        selected: &BTreeSet<String>,
    ) -> Result<DriftInputs, EngineError> {
        let mut needed: BTreeSet<String> = selected.clone();
        for s in selected {
            for dep in self.project.stacks[s].dependencies.values() {
                needed.insert(dep.stack.clone());
            }
        }
        if self.options.unmanaged {
            // An object is managed if any stack manages it.
            needed.extend(self.project.stacks.keys().cloned());
        }
        let mut states = BTreeMap::new();
        let mut histories = BTreeMap::new();
        for s in needed {
            let key = self.key(&s);
            if let Some(loaded) = self.store.load(&key).await? {
                if let Some(last) = self.store.history(&key).await?.last() {
                    histories.insert(s.clone(), last.written_at.clone());
                }
                states.insert(s, loaded);
            }
        }
        let known_ids = states
            .values()
            .flat_map(|l: &Loaded| l.state.resources.values().map(|r| r.id.clone()))
            .collect();
        Ok(DriftInputs {
            states,
            histories,
            known_ids,
        })
    }

    /// Runs the drift check over `selected` from inputs loaded by [`Session::drift_inputs`].
    pub async fn drift(&self, selected: &BTreeSet<String>, inputs: &DriftInputs) -> DriftReport {
        let mut findings = Vec::new();
        let mut errors = Vec::new();
        // Stacks are checked at once: drift only reads, and the run's call limits bound the
        // reads of all stacks together.
        let checked = futures::future::join_all(
            selected
                .iter()
                .map(|stack| async move { (stack, self.drift_stack(stack, inputs).await) }),
        )
        .await;
        let mut listed = BTreeSet::new();
        for (stack, result) in checked {
            match result {
                // Two stacks using one provider list the same objects: report each once.
                Ok(f) => findings.extend(f.into_iter().filter(|f| {
                    f.kind != FindingKind::Unmanaged || listed.insert(f.message.clone())
                })),
                Err(e) => errors.push(StackError {
                    stack: stack.clone(),
                    message: e.to_string(),
                }),
            }
        }
        findings.sort_by(|a, b| {
            (&a.stack, &a.address, a.kind, &a.attribute).cmp(&(
                &b.stack,
                &b.address,
                b.kind,
                &b.attribute,
            ))
        });
        let today = time::OffsetDateTime::now_utc().date();
        let (findings, ignored) = apply_ignore_rules(findings, &self.project.drift_ignores, today);
        DriftReport {
            format_version: REPORT_VERSION,
            project: self.project.name.clone(),
            environment: self.env.clone(),
            generated_at: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            stacks: selected.iter().cloned().collect(),
            findings,
            ignored,
            errors,
        }
    }

    async fn drift_stack(
        &self,
        stack: &str,
        inputs: &DriftInputs,
    ) -> Result<Vec<Finding>, EngineError> {
        let empty = Loaded {
            state: StackState::new(),
            open_intents: Vec::new(),
        };
        let loaded = inputs.states.get(stack).unwrap_or(&empty);
        let mut findings = Vec::new();

        // Dependencies see upstream outputs as state holds them.
        let mut deps = BTreeMap::new();
        for dep in self.project.stacks[stack].dependencies.values() {
            let v = match inputs.states.get(&dep.stack) {
                Some(l) => crate::run::state_outputs(&l.state),
                None => Value::Unknown,
            };
            deps.insert(dep.name.clone(), v);
            // Stale dependent: the upstream's state was written after this stack's.
            if let (Some(up), Some(me)) = (
                inputs.histories.get(&dep.stack),
                inputs.histories.get(stack),
            ) {
                if up > me && !loaded.state.resources.is_empty() {
                    findings.push(Finding {
                        stack: stack.to_string(),
                        kind: FindingKind::StaleDependent,
                        address: None,
                        attribute: None,
                        state_value: None,
                        cloud_value: None,
                        config_value: None,
                        note: None,
                        message: format!(
                            "stack {stack:?} was applied at {me}, before stack {:?} changed at {up}; apply {stack} to pick up its outputs",
                            dep.stack
                        ),
                    });
                }
            }
        }
        let variables = self.variables(stack)?;
        let mut run = self.run(stack, variables, deps);
        run.refresh = false;

        // Changed and deleted: read every managed resource.
        let mut keys: Vec<String> = loaded
            .state
            .resources
            .values()
            .map(|r| r.provider.clone())
            .collect();
        keys.sort();
        keys.dedup();
        let providers = run.providers_from_state(&loaded.state, &keys).await;
        let reads = loaded
            .state
            .resources
            .values()
            .filter(|r| r.address.mode == strata_core::Mode::Managed)
            .map(|r| {
                let provider = providers.get(&r.provider).cloned();
                let limits = self.limits.clone();
                async move {
                    let provider = match provider {
                        Some(Ok(p)) => p,
                        Some(Err(e)) => return (r, Err(e)),
                        None => {
                            return (
                                r,
                                Err(format!("provider {:?} is not configured", r.provider)),
                            )
                        }
                    };
                    let _permit = limits.acquire(provider.name()).await;
                    let read = provider
                        .read(ReadRequest {
                            type_name: r.address.type_name.clone(),
                            id: r.id.clone(),
                            prior: r.value(),
                        })
                        .await
                        .map_err(|e| format!("reading {}: {}", r.address, e.message));
                    (r, read)
                }
            });
        for (r, read) in futures::future::join_all(reads).await {
            let address = r.address.to_string();
            match read {
                Err(e) => return Err(EngineError::Other(e)),
                Ok(None) => findings.push(Finding {
                    stack: stack.to_string(),
                    kind: FindingKind::Deleted,
                    address: Some(address.clone()),
                    attribute: None,
                    state_value: None,
                    cloud_value: None,
                    config_value: None,
                    note: None,
                    message: format!("{address} (id {}) no longer exists in the cloud", r.id),
                }),
                Ok(Some(obj)) => {
                    let schema = self
                        .registry
                        .schema_of(r.address.mode, &r.address.type_name);
                    let prior = r.value();
                    let cloud = match &schema {
                        Some(s) => s
                            .block
                            .mark_sensitive(obj.attributes)
                            .mark(&r.sensitive_paths),
                        None => obj.attributes,
                    };
                    for path in strata_plan::changed_paths(&prior, &cloud) {
                        // Only what configuration manages: computed values change on their own.
                        let managed = schema
                            .as_ref()
                            .and_then(|s| s.block.attribute_at(&path))
                            .is_some_and(|a| a.settable());
                        if !managed {
                            continue;
                        }
                        let sensitive = is_sensitive(&prior, &path) || is_sensitive(&cloud, &path);
                        let show = |v: &Value| -> serde_json::Value {
                            match v.get_path(&path) {
                                _ if sensitive => serde_json::Value::String("(sensitive)".into()),
                                Some(x) => x.redacted().to_json(),
                                None => serde_json::Value::Null,
                            }
                        };
                        let (sv, cv) = (show(&prior), show(&cloud));
                        findings.push(Finding {
                            stack: stack.to_string(),
                            kind: FindingKind::Changed,
                            address: Some(address.clone()),
                            attribute: Some(path.to_string()),
                            message: format!(
                                "{address}: {path} is {cv} in the cloud, {sv} in state"
                            ),
                            state_value: Some(sv),
                            cloud_value: Some(cv),
                            config_value: None,
                            note: None,
                        });
                    }
                }
            }
        }

        // Pending: configuration against state, without refresh.
        let planned = run.plan(&loaded.state, false).await?;
        for c in planned
            .changes
            .iter()
            .filter(|c| !matches!(c.action, Action::NoOp | Action::Read))
        {
            let attrs: Vec<String> = match (&c.before, &c.after) {
                (Some(b), Some(a)) => strata_plan::changed_paths(b, a)
                    .into_iter()
                    .filter(|p| a.get_path(p).is_none_or(|v| !v.is_unknown()))
                    .map(|p| p.to_string())
                    .collect(),
                _ => Vec::new(),
            };
            let what = match c.action {
                Action::Create => "is in the configuration but not applied".to_string(),
                Action::Delete => "was removed from the configuration but still exists".to_string(),
                Action::Replace if attrs.is_empty() => {
                    "will be replaced by the next apply".to_string()
                }
                _ if attrs.is_empty() => "will be updated by the next apply".to_string(),
                _ => format!("configuration differs from state in {}", attrs.join(", ")),
            };
            // With one attribute changed, show both sides (sensitive ones masked).
            let side = |v: &Option<Value>| -> Option<serde_json::Value> {
                let path = Path::parse(attrs.first()?)?;
                let v = v.as_ref()?;
                if attrs.len() != 1 {
                    return None;
                }
                Some(if is_sensitive(v, &path) {
                    serde_json::Value::String("(sensitive)".into())
                } else {
                    v.get_path(&path)
                        .map(|x| x.redacted().to_json())
                        .unwrap_or(serde_json::Value::Null)
                })
            };
            findings.push(Finding {
                stack: stack.to_string(),
                kind: FindingKind::Pending,
                address: Some(c.address.to_string()),
                attribute: (attrs.len() == 1).then(|| attrs[0].clone()),
                state_value: side(&c.before),
                cloud_value: None,
                config_value: side(&c.after),
                note: None,
                message: format!("{} {what}", c.address),
            });
        }

        // Unmanaged: objects of the types this stack manages that no state knows.
        if self.options.unmanaged {
            // The types the stack manages now, and those its configuration declares (a block
            // whose objects were all forgotten still says what to look for).
            let mut kinds: BTreeSet<(String, String)> = BTreeSet::new();
            for r in loaded.state.resources.values() {
                if r.address.mode == strata_core::Mode::Managed {
                    kinds.insert((r.provider.clone(), r.address.type_name.clone()));
                }
            }
            for block in &self.project.stacks[stack].resources {
                if block.mode == strata_core::Mode::Managed {
                    kinds.insert((crate::stack::provider_key(block), block.type_name.clone()));
                }
            }
            for (key, type_name) in kinds {
                let Some(Ok(provider)) = providers.get(&key) else {
                    continue;
                };
                let _permit = self.limits.acquire(provider.name()).await;
                let listed = match provider
                    .list(strata_core::provider::ListRequest {
                        type_name: type_name.clone(),
                    })
                    .await
                {
                    Ok(listed) => listed,
                    // A provider that cannot list a type has nothing to say about it.
                    Err(e) if e.kind == strata_core::provider::ErrorKind::Unsupported => continue,
                    Err(e) => {
                        return Err(EngineError::Other(format!(
                            "listing {type_name} objects: {}",
                            e.message
                        )))
                    }
                };
                for o in listed {
                    if inputs.known_ids.contains(&o.id) {
                        continue;
                    }
                    findings.push(Finding {
                        stack: stack.to_string(),
                        kind: FindingKind::Unmanaged,
                        address: None,
                        attribute: None,
                        state_value: None,
                        cloud_value: Some(serde_json::json!({
                            "type": type_name,
                            "id": o.id,
                            "name": o.name,
                        })),
                        config_value: None,
                        note: None,
                        message: format!(
                            "{type_name} {:?} (id {}) exists in the cloud, but no state of this environment manages it",
                            o.name, o.id
                        ),
                    });
                }
            }
        }
        Ok(findings)
    }
}

fn is_sensitive(v: &Value, path: &Path) -> bool {
    let mut cur = v;
    if cur.is_sensitive() {
        return true;
    }
    for step in &path.0 {
        let next = match (cur.unwrap_sensitive(), step) {
            (Value::Map(m), strata_core::PathStep::Key(k)) => m.get(k),
            (Value::List(l), strata_core::PathStep::Index(i)) => l.get(*i),
            _ => None,
        };
        match next {
            Some(n) if n.is_sensitive() => return true,
            Some(n) => cur = n,
            None => return false,
        }
    }
    false
}

/// State as loaded for a drift check, served from memory once the backend (and its lock) is
/// released. Every write is refused: a drift check that tried to write would be a bug.
pub struct FrozenState {
    states: BTreeMap<strata_state::StateKey, Loaded>,
}

impl FrozenState {
    pub fn new(env: &str, inputs: &DriftInputs) -> FrozenState {
        FrozenState {
            states: inputs
                .states
                .iter()
                .map(|(s, l)| {
                    (
                        strata_state::StateKey {
                            env: env.to_string(),
                            stack: s.clone(),
                        },
                        l.clone(),
                    )
                })
                .collect(),
        }
    }

    fn refuse(key: &strata_state::StateKey) -> strata_state::StateError {
        strata_state::StateError::Conflict {
            key: key.clone(),
            detail: "a drift check never writes state".into(),
        }
    }
}

#[async_trait::async_trait]
impl strata_state::StateStore for FrozenState {
    async fn load(
        &self,
        key: &strata_state::StateKey,
    ) -> Result<Option<Loaded>, strata_state::StateError> {
        Ok(self.states.get(key).cloned())
    }

    async fn append(
        &self,
        key: &strata_state::StateKey,
        _: &strata_state::JournalEntry,
    ) -> Result<(), strata_state::StateError> {
        Err(Self::refuse(key))
    }

    async fn persist(
        &self,
        key: &strata_state::StateKey,
        _: &StackState,
        _: u64,
    ) -> Result<u64, strata_state::StateError> {
        Err(Self::refuse(key))
    }

    async fn keys(&self) -> Result<Vec<strata_state::StateKey>, strata_state::StateError> {
        Ok(self.states.keys().cloned().collect())
    }

    async fn history(
        &self,
        _: &strata_state::StateKey,
    ) -> Result<Vec<strata_state::HistoryEntry>, strata_state::StateError> {
        Ok(Vec::new())
    }

    async fn restore(
        &self,
        key: &strata_state::StateKey,
        _: u64,
    ) -> Result<(), strata_state::StateError> {
        Err(Self::refuse(key))
    }

    async fn delete(&self, key: &strata_state::StateKey) -> Result<(), strata_state::StateError> {
        Err(Self::refuse(key))
    }
}

/// Splits findings into those reported and those an ignore rule still silences. A rule applies
/// to cloud drift (changed, deleted) of the resources its address selects and the attributes
/// under its attribute path; after its `until` day the finding comes back with a note saying so.
pub fn apply_ignore_rules(
    findings: Vec<Finding>,
    rules: &[strata_config::DriftIgnore],
    today: time::Date,
) -> (Vec<Finding>, Vec<Finding>) {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let mut reported = Vec::new();
    let mut ignored = Vec::new();
    for mut f in findings {
        let rule = rules
            .iter()
            .find(|r| f.kind.is_cloud_drift() && rule_matches(r, &f));
        match rule {
            None => reported.push(f),
            Some(r) => {
                let expired = r
                    .until
                    .as_deref()
                    .and_then(|u| time::Date::parse(u, format).ok())
                    .is_some_and(|until| until < today);
                let why = r
                    .reason
                    .as_deref()
                    .map(|x| format!(": {x}"))
                    .unwrap_or_default();
                if expired {
                    f.note = Some(format!(
                        "the ignore rule for this attribute expired on {}{why}",
                        r.until.as_deref().unwrap_or_default()
                    ));
                    reported.push(f);
                } else {
                    let until = r
                        .until
                        .as_deref()
                        .map(|u| format!(" until {u}"))
                        .unwrap_or_default();
                    f.note = Some(format!("ignored{until}{why}"));
                    ignored.push(f);
                }
            }
        }
    }
    (reported, ignored)
}

fn rule_matches(rule: &strata_config::DriftIgnore, f: &Finding) -> bool {
    let (Some(address), Ok(pattern)) = (
        &f.address,
        strata_core::AddressPattern::parse(&rule.address),
    ) else {
        return false;
    };
    let Ok(a) = strata_core::Address::parse(address) else {
        return false;
    };
    if !pattern.matches(&a) {
        return false;
    }
    match (&rule.attribute, &f.attribute) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(prefix), Some(attr)) => {
            attr == prefix
                || attr
                    .strip_prefix(prefix.as_str())
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        }
    }
}
