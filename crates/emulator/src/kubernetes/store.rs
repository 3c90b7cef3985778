//! The objects of one emulated cluster and the API operations on them.
//!
//! Every operation is synchronous and works on plain JSON; the HTTP layer only parses requests
//! and renders results. Operations take a [`Clock`] so that rollout progress and timestamps are
//! computed from one reading of the time.

use super::catalog::{self, ResourceType};
use super::fields::{self, FieldSet, Managed};
use super::rollout::{self, Rollout};
use super::selector::Selector;
use super::status::{ApiError, ApiResult};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// The namespaces every cluster starts with.
const INITIAL_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];

/// One reading of the time, and how long rollouts take.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    pub now_ms: u64,
    pub rollout_time: Duration,
}

impl Clock {
    /// RFC 3339 at second precision, as the API server writes timestamps.
    fn timestamp(&self) -> String {
        let secs = (self.now_ms / 1000) as i64;
        time::OffsetDateTime::from_unix_timestamp(secs)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default()
    }
}

/// How a write identifies its author and whether it only pretends.
#[derive(Debug, Clone)]
pub(crate) struct WriteOptions {
    pub manager: String,
    pub force: bool,
    pub dry_run: bool,
}

/// Where an object lives: its type (group and plural), namespace (empty if cluster-scoped)
/// and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct Key {
    pub group: String,
    pub plural: String,
    pub namespace: String,
    pub name: String,
}

impl Key {
    fn new(rt: &ResourceType, namespace: Option<&str>, name: &str) -> Key {
        Key {
            group: rt.group.clone(),
            plural: rt.plural.clone(),
            namespace: if rt.namespaced {
                namespace.unwrap_or_default().to_string()
            } else {
                String::new()
            },
            name: name.to_string(),
        }
    }
}

/// An object as stored, with the start of its latest rollout.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Stored {
    #[serde(flatten)]
    pub key: Key,
    pub object: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Rollout>,
}

/// One emulated cluster's API state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Cluster {
    pub token: String,
    #[serde(rename = "resourceVersion")]
    resource_version: u64,
    #[serde(with = "stored_list")]
    objects: BTreeMap<Key, Stored>,
    /// Objects written or removed since the cluster was last saved, so that saving costs the
    /// change rather than the whole cluster.
    #[serde(skip)]
    changes: Vec<Change>,
    /// Which journal file follows the saved snapshot, and how many changes it holds.
    #[serde(skip)]
    pub journal: (u64, usize),
}

/// One change to a cluster's objects, as its journal records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Change {
    Put(Stored),
    Remove(Key),
}

/// Objects are saved as a list (JSON maps need string keys).
mod stored_list {
    use super::{Key, Stored};
    use serde::{Deserialize, Deserializer, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer>(m: &BTreeMap<Key, Stored>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(m.values())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<Key, Stored>, D::Error> {
        let list = Vec::<Stored>::deserialize(d)?;
        Ok(list.into_iter().map(|s| (s.key.clone(), s)).collect())
    }
}

fn is_rbac(rt: &ResourceType) -> bool {
    rt.group == "rbac.authorization.k8s.io"
}

/// Names follow the DNS subdomain rules (RBAC names may also hold `:`), as the real server
/// checks them.
fn validate_name(rt: &ResourceType, name: &str) -> ApiResult<()> {
    let allowed = |c: char| {
        c.is_ascii_lowercase()
            || c.is_ascii_digit()
            || c == '-'
            || c == '.'
            || (is_rbac(rt) && (c == ':' || c.is_ascii_uppercase() || c == '_'))
    };
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.chars().all(allowed)
        && alnum(name.chars().next())
        && alnum(name.chars().last());
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "{} {name:?} is invalid: metadata.name: Invalid value: {name:?}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
            rt.kind
        ))
        .with_details(&rt.group, &rt.kind, name))
    }
}

/// The object without what the server maintains in `metadata` (for change detection).
fn content(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
        meta.remove("managedFields");
    }
    v
}

/// Everything but `metadata` and `status`: a change here bumps `metadata.generation`.
fn spec_of(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("metadata");
        m.remove("status");
    }
    v
}

impl Cluster {
    /// The changes since the last call, oldest first.
    pub fn take_changes(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.changes)
    }

    /// Replays a change read back from the journal.
    pub fn replay(&mut self, change: Change) {
        match change {
            Change::Put(stored) => {
                if let Some(rv) = stored.object["metadata"]["resourceVersion"]
                    .as_str()
                    .and_then(|v| v.parse::<u64>().ok())
                {
                    self.resource_version = self.resource_version.max(rv);
                }
                self.objects.insert(stored.key.clone(), stored);
            }
            Change::Remove(key) => {
                self.objects.remove(&key);
                self.resource_version += 1;
            }
        }
    }

    /// How many objects the cluster holds.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn new(token: &str) -> Cluster {
        let mut cluster = Cluster {
            token: token.to_string(),
            resource_version: 0,
            objects: BTreeMap::new(),
            changes: Vec::new(),
            journal: (0, 0),
        };
        let clock = Clock {
            now_ms: super::now_ms(),
            rollout_time: Duration::ZERO,
        };
        let ns_type = catalog::builtin()
            .into_iter()
            .find(|t| t.kind == "Namespace")
            .expect("Namespace is a built-in type");
        let opts = WriteOptions {
            manager: "kube-apiserver".into(),
            force: true,
            dry_run: false,
        };
        for ns in INITIAL_NAMESPACES {
            let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
            // A fresh cluster with valid names cannot refuse these.
            let _ = cluster.create(&ns_type, None, body, &opts, &clock);
        }
        cluster
    }

    /// Every type this cluster serves: the built-in ones and those its CRDs define.
    pub fn types(&self) -> Vec<ResourceType> {
        let mut all = catalog::builtin();
        for s in self.objects.values() {
            if s.key.group == "apiextensions.k8s.io" && s.key.plural == "customresourcedefinitions"
            {
                all.extend(catalog::from_crd(&s.object));
            }
        }
        all
    }

    /// The type served at `/apis/{group}/{version}/{plural}`.
    pub fn find_type(&self, group: &str, version: &str, plural: &str) -> Option<ResourceType> {
        self.types()
            .into_iter()
            .find(|t| t.group == group && t.version == version && t.plural == plural)
    }

    /// The type a user names by kind, plural or short name (admin operations).
    pub fn find_kind(&self, name: &str) -> Option<ResourceType> {
        self.types().into_iter().find(|t| t.answers_to(name))
    }

    fn namespace_exists(&self, ns: &str) -> bool {
        self.objects.contains_key(&Key {
            group: String::new(),
            plural: "namespaces".into(),
            namespace: String::new(),
            name: ns.to_string(),
        })
    }

    /// The object as clients see it: with the status the emulated controllers report.
    fn present(rt: &ResourceType, stored: &Stored, clock: &Clock) -> Value {
        let mut v = stored.object.clone();
        if rt.rolls_out() {
            v["status"] = rollout::status(
                &v,
                stored.rollout.as_ref(),
                clock.now_ms,
                clock.rollout_time,
            );
        } else if rt.kind == "Namespace" && rt.group.is_empty() {
            v["status"] = json!({"phase": "Active"});
        }
        v
    }

    fn not_found(rt: &ResourceType, name: &str) -> ApiError {
        ApiError::not_found(&rt.qualified_plural(), name).with_details(&rt.group, &rt.plural, name)
    }

    fn require_namespace(&self, rt: &ResourceType, ns: Option<&str>) -> ApiResult<()> {
        if !rt.namespaced {
            return Ok(());
        }
        match ns {
            Some(ns) if self.namespace_exists(ns) => Ok(()),
            Some(ns) => {
                Err(ApiError::not_found("namespaces", ns).with_details("", "namespaces", ns))
            }
            None => Err(ApiError::bad_request(format!(
                "{} is namespaced: the request needs a namespace",
                rt.kind
            ))),
        }
    }

    pub fn get(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        name: &str,
        clock: &Clock,
    ) -> ApiResult<Value> {
        self.objects
            .get(&Key::new(rt, ns, name))
            .map(|s| Cluster::present(rt, s, clock))
            .ok_or_else(|| Cluster::not_found(rt, name))
    }

    /// The objects of one type, in one namespace or all of them.
    pub fn list(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        selector: &Selector,
        clock: &Clock,
    ) -> Value {
        let items: Vec<Value> = self
            .objects
            .values()
            .filter(|s| s.key.group == rt.group && s.key.plural == rt.plural)
            .filter(|s| ns.is_none() || !rt.namespaced || Some(s.key.namespace.as_str()) == ns)
            .map(|s| Cluster::present(rt, s, clock))
            .filter(|o| selector.matches(o))
            .collect();
        json!({
            "kind": format!("{}List", rt.kind),
            "apiVersion": rt.api_version(),
            "metadata": {"resourceVersion": self.resource_version.to_string()},
            "items": items,
        })
    }

    /// Every object of every type (for the admin inventory).
    pub fn all(&self, clock: &Clock) -> Vec<Value> {
        let types = self.types();
        self.objects
            .values()
            .filter_map(|s| {
                let rt = types
                    .iter()
                    .find(|t| t.group == s.key.group && t.plural == s.key.plural)?;
                Some(Cluster::present(rt, s, clock))
            })
            .collect()
    }

    /// Checks a request body's identity against the URL and fills what is missing.
    fn check_body(
        rt: &ResourceType,
        ns: Option<&str>,
        name: Option<&str>,
        body: &mut Value,
        require_type: bool,
    ) -> ApiResult<()> {
        let Some(obj) = body.as_object_mut() else {
            return Err(ApiError::bad_request(
                "the request body must be a JSON object",
            ));
        };
        for (field, want) in [("apiVersion", rt.api_version()), ("kind", rt.kind.clone())] {
            match obj.get(field) {
                Some(Value::String(got)) if *got == want => {}
                None if !require_type => {
                    obj.insert(field.into(), Value::String(want));
                }
                None => {
                    return Err(ApiError::bad_request(format!(
                        "{field} must be set (expected {want:?})"
                    )))
                }
                Some(got) => {
                    return Err(ApiError::bad_request(format!(
                        "the {field} of the body ({got}) does not match the request ({want:?})"
                    )))
                }
            }
        }
        let meta = obj
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        let Some(meta) = meta.as_object_mut() else {
            return Err(ApiError::bad_request("metadata must be an object"));
        };
        if rt.namespaced {
            match (meta.get("namespace").and_then(Value::as_str), ns) {
                (Some(a), Some(b)) if a != b => {
                    return Err(ApiError::bad_request(
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ))
                }
                (None, Some(b)) => {
                    meta.insert("namespace".into(), Value::String(b.to_string()));
                }
                _ => {}
            }
        } else {
            meta.remove("namespace");
        }
        if let Some(name) = name {
            match meta.get("name").and_then(Value::as_str) {
                Some(n) if n != name => {
                    return Err(ApiError::bad_request(format!(
                        "the name of the object ({n}) does not match the name on the URL ({name})"
                    )))
                }
                None => {
                    meta.insert("name".into(), Value::String(name.to_string()));
                }
                _ => {}
            }
        }
        // What clients send in these fields is the server's to decide.
        for field in [
            "uid",
            "creationTimestamp",
            "generation",
            "managedFields",
            "selfLink",
        ] {
            meta.remove(field);
        }
        obj.remove("status");
        Ok(())
    }

    /// Conversions and defaults the real server applies on write.
    fn normalize(rt: &ResourceType, object: &mut Value, old: Option<&Value>, ip_seed: u64) {
        if rt.group.is_empty() && rt.kind == "Secret" {
            if let Some(Value::Object(string_data)) =
                object.as_object_mut().and_then(|o| o.remove("stringData"))
            {
                let data = object
                    .as_object_mut()
                    .expect("checked to be an object")
                    .entry("data")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Some(data) = data.as_object_mut() {
                    for (k, v) in string_data {
                        let text = v
                            .as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string());
                        let encoded = base64::engine::general_purpose::STANDARD.encode(text);
                        data.insert(k, Value::String(encoded));
                    }
                }
            }
        }
        if rt.group.is_empty() && rt.kind == "Service" {
            let is_external = object["spec"]["type"] == "ExternalName";
            if !is_external && object["spec"]["clusterIP"].is_null() {
                let ip = match old.map(|o| &o["spec"]["clusterIP"]) {
                    Some(Value::String(ip)) => ip.clone(),
                    _ => format!("10.96.{}.{}", (ip_seed / 250) % 250, ip_seed % 250 + 2),
                };
                if !object["spec"].is_object() {
                    object["spec"] = json!({});
                }
                object["spec"]["clusterIP"] = json!(ip);
                object["spec"]["clusterIPs"] = json!([ip]);
            }
        }
    }

    /// Stores `object` under `key` (or only renders it, for a dry run): server metadata,
    /// generation and rollout bookkeeping, resource version.
    #[allow(clippy::too_many_arguments)]
    fn commit(
        &mut self,
        rt: &ResourceType,
        key: Key,
        mut object: Value,
        mut managed: Vec<Managed>,
        acting: &str,
        opts: &WriteOptions,
        clock: &Clock,
    ) -> ApiResult<Value> {
        let old = self.objects.get(&key).cloned();
        Cluster::normalize(
            rt,
            &mut object,
            old.as_ref().map(|s| &s.object),
            self.resource_version,
        );
        let now = clock.timestamp();
        let old_meta = old.as_ref().map(|s| s.object["metadata"].clone());
        let meta = object["metadata"]
            .as_object_mut()
            .ok_or_else(|| ApiError::bad_request("metadata must be an object"))?;
        match &old_meta {
            Some(m) => {
                for field in ["uid", "creationTimestamp", "generation", "resourceVersion"] {
                    if let Some(v) = m.get(field) {
                        meta.insert(field.into(), v.clone());
                    }
                }
            }
            None => {
                meta.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
                meta.insert("creationTimestamp".into(), json!(now));
                meta.insert("generation".into(), json!(1));
                meta.remove("resourceVersion");
            }
        }
        let spec_changed = match &old {
            Some(s) => spec_of(&s.object) != spec_of(&object),
            None => true,
        };
        if old.is_some() && spec_changed {
            let generation = object["metadata"]["generation"].as_i64().unwrap_or(1) + 1;
            object["metadata"]["generation"] = json!(generation);
        }

        // The acting manager's entry keeps its time unless something it did changed.
        let before_managed = old
            .as_ref()
            .map(|s| fields::read_managed(&s.object))
            .unwrap_or_default();
        let content_changed = old
            .as_ref()
            .is_none_or(|s| content(&s.object) != content(&object));
        for m in managed.iter_mut() {
            let previous = before_managed
                .iter()
                .find(|b| b.manager == m.manager && b.operation == m.operation);
            let same = previous.is_some_and(|b| b.fields == m.fields);
            if m.time.is_empty() || (m.manager == acting && (content_changed || !same)) {
                m.time = now.clone();
            }
        }
        fields::write_managed(&mut object, &managed);

        if let Some(s) = &old {
            if s.object == object {
                return Ok(Cluster::present(rt, s, clock));
            }
        }
        let rollout = if rt.rolls_out() && spec_changed {
            let baseline_ready = old.as_ref().map_or(0, |s| {
                rollout::ready_replicas(
                    &s.object,
                    s.rollout.as_ref(),
                    clock.now_ms,
                    clock.rollout_time,
                )
            });
            Some(Rollout {
                started_ms: clock.now_ms,
                baseline_ready,
            })
        } else {
            old.as_ref().and_then(|s| s.rollout)
        };
        if !opts.dry_run {
            self.resource_version += 1;
            object["metadata"]["resourceVersion"] = json!(self.resource_version.to_string());
        }
        let stored = Stored {
            key: key.clone(),
            object,
            rollout,
        };
        let shown = Cluster::present(rt, &stored, clock);
        if !opts.dry_run {
            self.changes.push(Change::Put(stored.clone()));
            self.objects.insert(key, stored);
        }
        Ok(shown)
    }

    /// POST: creates an object; 409 AlreadyExists if the name is taken.
    pub fn create(
        &mut self,
        rt: &ResourceType,
        ns: Option<&str>,
        mut body: Value,
        opts: &WriteOptions,
        clock: &Clock,
    ) -> ApiResult<Value> {
        Cluster::check_body(rt, ns, None, &mut body, false)?;
        let meta = &mut body["metadata"];
        if meta["name"].as_str().is_none_or(str::is_empty) {
            match meta["generateName"].as_str() {
                Some(prefix) => {
                    let suffix = uuid::Uuid::new_v4().simple().to_string();
                    meta["name"] = json!(format!("{prefix}{}", &suffix[..5]));
                }
                None => {
                    return Err(ApiError::invalid(format!(
                        "{} is invalid: metadata.name: Required value: name or generateName is required",
                        rt.kind
                    )))
                }
            }
        }
        let name = body["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        validate_name(rt, &name)?;
        self.require_namespace(rt, ns)?;
        let key = Key::new(rt, ns, &name);
        if self.objects.contains_key(&key) {
            return Err(ApiError::already_exists(&rt.qualified_plural(), &name)
                .with_details(&rt.group, &rt.plural, &name));
        }
        let managed = vec![Managed {
            manager: opts.manager.clone(),
            operation: "Update".into(),
            api_version: rt.api_version(),
            time: String::new(),
            fields: fields::field_set(&body),
        }];
        self.commit(rt, key, body, managed, &opts.manager, opts, clock)
    }

    /// Ownership after an update (PUT or merge patch): the updater takes the fields whose value
    /// changed; fields that are gone are owned by nobody.
    fn managed_after_update(
        rt: &ResourceType,
        old: &Value,
        new: &Value,
        manager: &str,
    ) -> Vec<Managed> {
        let present = fields::field_set(new);
        let changed: FieldSet = present
            .iter()
            .filter(|p| fields::get(old, p) != fields::get(new, p))
            .cloned()
            .collect();
        let mut managed = fields::read_managed(old);
        for m in managed.iter_mut() {
            m.fields.retain(|p| {
                fields::get(new, p).is_some() && !changed.iter().any(|c| fields::overlaps(c, p))
            });
        }
        match managed
            .iter_mut()
            .find(|m| m.manager == manager && m.operation == "Update")
        {
            Some(m) => m.fields.extend(changed),
            None if !changed.is_empty() => managed.push(Managed {
                manager: manager.to_string(),
                operation: "Update".into(),
                api_version: rt.api_version(),
                time: String::new(),
                fields: changed,
            }),
            None => {}
        }
        managed
    }

    /// PUT: replaces an object. A `metadata.resourceVersion` in the body must be current.
    pub fn replace(
        &mut self,
        rt: &ResourceType,
        ns: Option<&str>,
        name: &str,
        mut body: Value,
        opts: &WriteOptions,
        clock: &Clock,
    ) -> ApiResult<Value> {
        Cluster::check_body(rt, ns, Some(name), &mut body, false)?;
        let key = Key::new(rt, ns, name);
        let old = self
            .objects
            .get(&key)
            .ok_or_else(|| Cluster::not_found(rt, name))?
            .object
            .clone();
        if let Some(rv) = body["metadata"]["resourceVersion"].as_str() {
            if Some(rv) != old["metadata"]["resourceVersion"].as_str() {
                return Err(ApiError::conflict(format!(
                    "Operation cannot be fulfilled on {} {name:?}: the object has been modified; please apply your changes to the latest version and try again",
                    rt.qualified_plural()
                )));
            }
        }
        let managed = Cluster::managed_after_update(rt, &old, &body, &opts.manager);
        self.commit(rt, key, body, managed, &opts.manager, opts, clock)
    }

    /// PATCH with a JSON merge patch (also used for strategic merge patches, whose list
    /// merging the emulator does not reproduce).
    pub fn merge_patch(
        &mut self,
        rt: &ResourceType,
        ns: Option<&str>,
        name: &str,
        patch: &Value,
        opts: &WriteOptions,
        clock: &Clock,
    ) -> ApiResult<Value> {
        let key = Key::new(rt, ns, name);
        let old = self
            .objects
            .get(&key)
            .ok_or_else(|| Cluster::not_found(rt, name))?
            .object
            .clone();
        let mut new = old.clone();
        fields::merge_patch(&mut new, patch);
        Cluster::check_body(rt, ns, Some(name), &mut new, true)?;
        let managed = Cluster::managed_after_update(rt, &old, &new, &opts.manager);
        self.commit(rt, key, new, managed, &opts.manager, opts, clock)
    }

    /// Server-side apply: creates the object if absent, else merges the applied
    /// configuration, removes fields the manager applied before and no longer does, and
    /// refuses to take fields another manager owns with a different value unless forced.
    /// Returns the object and whether it was created.
    pub fn apply(
        &mut self,
        rt: &ResourceType,
        ns: Option<&str>,
        name: &str,
        mut applied: Value,
        opts: &WriteOptions,
        clock: &Clock,
    ) -> ApiResult<(Value, bool)> {
        Cluster::check_body(rt, ns, Some(name), &mut applied, true)?;
        validate_name(rt, name)?;
        let manager = opts.manager.as_str();
        let wanted = fields::field_set(&applied);
        let key = Key::new(rt, ns, name);
        let Some(old) = self.objects.get(&key).map(|s| s.object.clone()) else {
            self.require_namespace(rt, ns)?;
            let managed = vec![Managed {
                manager: manager.to_string(),
                operation: "Apply".into(),
                api_version: rt.api_version(),
                time: String::new(),
                fields: wanted,
            }];
            let shown = self.commit(rt, key, applied, managed, manager, opts, clock)?;
            return Ok((shown, true));
        };

        let mut managed = fields::read_managed(&old);
        let is_me = |m: &Managed| m.manager == manager && m.operation == "Apply";
        let mut conflicts = Vec::new();
        for m in managed.iter().filter(|m| !is_me(m)) {
            for p in &m.fields {
                let clash = wanted.iter().any(|w| {
                    fields::overlaps(w, p) && fields::get(&old, w) != fields::get(&applied, w)
                });
                if clash {
                    conflicts.push(format!("conflict with {:?}: .{}", m.manager, p.join(".")));
                }
            }
        }
        if !conflicts.is_empty() && !opts.force {
            return Err(ApiError::conflict(format!(
                "Apply failed with {} conflict{}: {}",
                conflicts.len(),
                if conflicts.len() == 1 { "" } else { "s" },
                conflicts.join("; ")
            )));
        }
        // Forced (or agreeing) applies take the fields over.
        for m in managed.iter_mut().filter(|m| !is_me(m)) {
            m.fields
                .retain(|p| !wanted.iter().any(|w| fields::overlaps(w, p)));
        }
        let previous: FieldSet = managed
            .iter()
            .find(|m| is_me(m))
            .map(|m| m.fields.clone())
            .unwrap_or_default();
        let others: Vec<FieldSet> = managed
            .iter()
            .filter(|m| !is_me(m))
            .map(|m| m.fields.clone())
            .collect();
        let owned_elsewhere = |p: &[String]| {
            wanted.iter().any(|w| fields::overlaps(w, p))
                || others.iter().flatten().any(|o| fields::overlaps(o, p))
        };

        let mut object = old.clone();
        for dropped in previous.iter().filter(|p| !owned_elsewhere(p)) {
            fields::remove(&mut object, dropped, &owned_elsewhere);
        }
        if let Some(m) = object.as_object_mut() {
            m.remove("status");
        }
        fields::merge(&mut object, &applied);
        match managed.iter_mut().find(|m| is_me(m)) {
            Some(m) => m.fields = wanted,
            None => managed.push(Managed {
                manager: manager.to_string(),
                operation: "Apply".into(),
                api_version: rt.api_version(),
                time: String::new(),
                fields: wanted,
            }),
        }
        let shown = self.commit(rt, key, object, managed, manager, opts, clock)?;
        Ok((shown, false))
    }

    /// DELETE: removes the object at once (no finalizers run here). Deleting a namespace
    /// deletes what it holds; deleting a CRD deletes its custom objects.
    pub fn delete(
        &mut self,
        rt: &ResourceType,
        ns: Option<&str>,
        name: &str,
        dry_run: bool,
        clock: &Clock,
    ) -> ApiResult<Value> {
        let key = Key::new(rt, ns, name);
        let stored = self
            .objects
            .get(&key)
            .cloned()
            .ok_or_else(|| Cluster::not_found(rt, name))?;
        let shown = Cluster::present(rt, &stored, clock);
        if dry_run {
            return Ok(shown);
        }
        let mut removed = vec![key];
        if rt.group.is_empty() && rt.plural == "namespaces" {
            removed.extend(self.objects.keys().filter(|k| k.namespace == name).cloned());
        }
        if rt.kind == "CustomResourceDefinition" {
            for gone in catalog::from_crd(&stored.object) {
                removed.extend(
                    self.objects
                        .keys()
                        .filter(|k| k.group == gone.group && k.plural == gone.plural)
                        .cloned(),
                );
            }
        }
        for key in removed {
            self.objects.remove(&key);
            self.changes.push(Change::Remove(key));
        }
        self.resource_version += 1;
        Ok(shown)
    }

    /// An out-of-band change of one field (`spec.replicas`, `spec.template.spec.containers.0.image`),
    /// recorded as an update by `manager`, as `kubectl edit` would be.
    #[allow(clippy::too_many_arguments)]
    pub fn set_field(
        &mut self,
        rt: &ResourceType,
        ns: Option<&str>,
        name: &str,
        field: &str,
        value: Value,
        manager: &str,
        clock: &Clock,
    ) -> ApiResult<()> {
        let key = Key::new(rt, ns, name);
        let old = self
            .objects
            .get(&key)
            .ok_or_else(|| Cluster::not_found(rt, name))?
            .object
            .clone();
        let steps: Vec<&str> = field.split('.').filter(|s| !s.is_empty()).collect();
        if steps.is_empty() || steps[0] == "status" || steps == ["metadata", "name"] {
            return Err(ApiError::bad_request(format!("{field:?} cannot be set")));
        }
        let mut new = old.clone();
        let mut cur = &mut new;
        for (i, step) in steps.iter().enumerate() {
            let last = i + 1 == steps.len();
            cur = match cur {
                Value::Array(items) => {
                    let index: usize = step.parse().map_err(|_| {
                        ApiError::bad_request(format!("{field:?}: {step:?} is not a list index"))
                    })?;
                    items.get_mut(index).ok_or_else(|| {
                        ApiError::bad_request(format!("{field:?}: index {index} is out of range"))
                    })?
                }
                Value::Object(m) => m.entry(step.to_string()).or_insert_with(|| {
                    if last {
                        Value::Null
                    } else {
                        Value::Object(Map::new())
                    }
                }),
                other => {
                    return Err(ApiError::bad_request(format!(
                        "{field:?}: {step:?} is inside a {}",
                        match other {
                            Value::String(_) => "string",
                            Value::Number(_) => "number",
                            Value::Bool(_) => "bool",
                            _ => "null",
                        }
                    )))
                }
            };
        }
        *cur = value;
        let managed = Cluster::managed_after_update(rt, &old, &new, manager);
        let opts = WriteOptions {
            manager: manager.to_string(),
            force: true,
            dry_run: false,
        };
        self.commit(rt, key, new, managed, manager, &opts, clock)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock() -> Clock {
        Clock {
            now_ms: 1_700_000_000_000,
            rollout_time: Duration::from_secs(1),
        }
    }

    fn kind(c: &Cluster, k: &str) -> ResourceType {
        c.find_kind(k).unwrap()
    }

    fn apply_opts(manager: &str, force: bool) -> WriteOptions {
        WriteOptions {
            manager: manager.into(),
            force,
            dry_run: false,
        }
    }

    fn deployment(replicas: i64, labels: Value) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "labels": labels},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "web", "image": "nginx"}]}}}
        })
    }

    #[test]
    fn apply_creates_then_merges_and_removes_dropped_fields() {
        let mut c = Cluster::new("t");
        let rt = kind(&c, "Deployment");
        let opts = apply_opts("strata", true);
        let body = deployment(2, json!({"app": "web", "tier": "front"}));
        let (created, was_created) = c
            .apply(&rt, Some("default"), "web", body, &opts, &clock())
            .unwrap();
        assert!(was_created);
        assert_eq!(created["metadata"]["generation"], 1);
        let uid = created["metadata"]["uid"].clone();

        let (updated, was_created) = c
            .apply(
                &rt,
                Some("default"),
                "web",
                deployment(3, json!({"app": "web"})),
                &opts,
                &clock(),
            )
            .unwrap();
        assert!(!was_created);
        assert_eq!(updated["spec"]["replicas"], 3);
        assert_eq!(updated["metadata"]["labels"], json!({"app": "web"}));
        assert_eq!(updated["metadata"]["uid"], uid);
        assert_eq!(updated["metadata"]["generation"], 2);
        assert_ne!(
            updated["metadata"]["resourceVersion"],
            created["metadata"]["resourceVersion"]
        );

        // The same configuration again changes nothing, not even the resource version.
        let (again, _) = c
            .apply(
                &rt,
                Some("default"),
                "web",
                deployment(3, json!({"app": "web"})),
                &opts,
                &clock(),
            )
            .unwrap();
        assert_eq!(
            again["metadata"]["resourceVersion"],
            updated["metadata"]["resourceVersion"]
        );
    }

    #[test]
    fn fields_of_other_managers_survive_and_conflict_without_force() {
        let mut c = Cluster::new("t");
        let rt = kind(&c, "Deployment");
        c.apply(
            &rt,
            Some("default"),
            "web",
            deployment(2, json!({"app": "web"})),
            &apply_opts("strata", true),
            &clock(),
        )
        .unwrap();
        c.set_field(
            &rt,
            Some("default"),
            "web",
            "spec.replicas",
            json!(5),
            "kubectl",
            &clock(),
        )
        .unwrap();
        c.set_field(
            &rt,
            Some("default"),
            "web",
            "metadata.annotations.note",
            json!("x"),
            "kubectl",
            &clock(),
        )
        .unwrap();
        let e = c
            .apply(
                &rt,
                Some("default"),
                "web",
                deployment(2, json!({"app": "web"})),
                &apply_opts("strata", false),
                &clock(),
            )
            .unwrap_err();
        assert_eq!(e.code, 409);
        assert!(e.message.contains(".spec.replicas"), "{e}");
        let (forced, _) = c
            .apply(
                &rt,
                Some("default"),
                "web",
                deployment(2, json!({"app": "web"})),
                &apply_opts("strata", true),
                &clock(),
            )
            .unwrap();
        assert_eq!(forced["spec"]["replicas"], 2);
        assert_eq!(forced["metadata"]["annotations"]["note"], "x");
    }

    #[test]
    fn dry_run_changes_nothing() {
        let mut c = Cluster::new("t");
        let rt = kind(&c, "ConfigMap");
        let opts = WriteOptions {
            dry_run: true,
            ..apply_opts("strata", true)
        };
        let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1"}});
        let (shown, created) = c
            .apply(&rt, Some("default"), "cfg", body, &opts, &clock())
            .unwrap();
        assert!(created);
        assert_eq!(shown["data"]["a"], "1");
        assert_eq!(
            c.get(&rt, Some("default"), "cfg", &clock())
                .unwrap_err()
                .code,
            404
        );
    }

    #[test]
    fn create_conflicts_and_missing_namespaces_are_refused() {
        let mut c = Cluster::new("t");
        let rt = kind(&c, "cm");
        let opts = apply_opts("test", false);
        let body = json!({"metadata": {"name": "cfg"}});
        c.create(&rt, Some("default"), body.clone(), &opts, &clock())
            .unwrap();
        let e = c
            .create(&rt, Some("default"), body.clone(), &opts, &clock())
            .unwrap_err();
        assert_eq!((e.code, e.reason), (409, "AlreadyExists"));
        let e = c
            .create(&rt, Some("nope"), body, &opts, &clock())
            .unwrap_err();
        assert_eq!(e.code, 404);
        assert!(e.message.contains("namespaces \"nope\" not found"), "{e}");
        let bad = json!({"metadata": {"name": "Bad_Name"}});
        assert_eq!(
            c.create(&rt, Some("default"), bad, &opts, &clock())
                .unwrap_err()
                .code,
            422
        );
    }

    #[test]
    fn deleting_a_namespace_deletes_its_objects() {
        let mut c = Cluster::new("t");
        let ns = kind(&c, "Namespace");
        let cm = kind(&c, "ConfigMap");
        let opts = apply_opts("test", false);
        c.create(
            &ns,
            None,
            json!({"metadata": {"name": "shop"}}),
            &opts,
            &clock(),
        )
        .unwrap();
        c.create(
            &cm,
            Some("shop"),
            json!({"metadata": {"name": "cfg"}}),
            &opts,
            &clock(),
        )
        .unwrap();
        c.delete(&ns, None, "shop", false, &clock()).unwrap();
        assert_eq!(
            c.get(&cm, Some("shop"), "cfg", &clock()).unwrap_err().code,
            404
        );
        assert_eq!(
            c.delete(&ns, None, "shop", false, &clock())
                .unwrap_err()
                .code,
            404
        );
    }

    #[test]
    fn secrets_store_string_data_encoded() {
        let mut c = Cluster::new("t");
        let rt = kind(&c, "Secret");
        let body = json!({"metadata": {"name": "s"}, "stringData": {"password": "hunter2"}});
        let s = c
            .create(
                &rt,
                Some("default"),
                body,
                &apply_opts("t", false),
                &clock(),
            )
            .unwrap();
        assert_eq!(s["data"]["password"], "aHVudGVyMg==");
        assert!(s.get("stringData").is_none());
    }

    #[test]
    fn crds_add_types() {
        let mut c = Cluster::new("t");
        let crd = kind(&c, "crd");
        let body = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                     "names": {"kind": "Widget", "plural": "widgets"},
                     "versions": [{"name": "v1", "served": true, "storage": true}]}});
        c.create(&crd, None, body, &apply_opts("t", false), &clock())
            .unwrap();
        let widget = c.find_type("example.com", "v1", "widgets").unwrap();
        assert!(widget.namespaced);
        c.create(
            &widget,
            Some("default"),
            json!({"metadata": {"name": "w"}}),
            &apply_opts("t", false),
            &clock(),
        )
        .unwrap();
        c.delete(&crd, None, "widgets.example.com", false, &clock())
            .unwrap();
        assert!(c.find_type("example.com", "v1", "widgets").is_none());
        assert!(c.all(&clock()).iter().all(|o| o["kind"] != "Widget"));
    }
}
