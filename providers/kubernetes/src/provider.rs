//! The [`Provider`] implementation: `kubernetes_manifest` and `kubernetes_manifests`.

use crate::cluster::{rolls_out, ClusterApi, Connection};
use crate::manifest::{self, Document, ObjectId};
use crate::schema::{self, DEFAULT_TIMEOUT_SECONDS, MANIFEST, MANIFESTS};
use async_trait::async_trait;
use serde_json::Value as Json;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use strata_core::provider::{
    CreateRequest, DeleteRequest, ErrorKind, FindRequest, OperationContext, PlanRequest,
    PlanResponse, Provider, ProviderError, ProviderResult, ReadRequest, ResourceObject,
    UpdateRequest,
};
use strata_core::schema::ProviderSchema;
use strata_core::{Path, Value};

/// The provider registered as `kubernetes`. [`KubernetesProvider::new`] is the unconfigured
/// instance; [`Provider::configure`] returns one connected to a cluster.
#[derive(Default, Clone)]
pub struct KubernetesProvider {
    api: Option<Arc<ClusterApi>>,
}

impl std::fmt::Debug for KubernetesProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The connection holds credentials: never shown.
        f.debug_struct("KubernetesProvider")
            .field("configured", &self.api.is_some())
            .finish()
    }
}

fn invalid(message: impl Into<String>) -> ProviderError {
    ProviderError::new(ErrorKind::InvalidConfig, message)
}

fn unknown_type(type_name: &str) -> ProviderError {
    invalid(format!(
        "the kubernetes provider has no resource type {type_name:?}"
    ))
    .with_hint(format!("it knows {MANIFEST} and {MANIFESTS}"))
}

/// An optional string setting of the provider block.
fn setting(config: &Value, name: &str) -> ProviderResult<Option<String>> {
    match config.get(name) {
        None => Ok(None),
        Some(v) if v.is_null() => Ok(None),
        Some(v) => v
            .as_str()
            .map(|s| Some(s.to_string()))
            .ok_or_else(|| invalid(format!("provider \"kubernetes\": {name} must be a string"))),
    }
}

/// How an apply waits for workloads.
#[derive(Debug, Clone, Copy)]
struct Waiting {
    enabled: bool,
    timeout: Duration,
}

impl Waiting {
    fn of(attrs: &Value) -> ProviderResult<Waiting> {
        let enabled = match attrs.get("wait_for_rollout") {
            Some(v) if !v.is_null() => v
                .as_bool()
                .ok_or_else(|| invalid("wait_for_rollout must be true or false"))?,
            _ => true,
        };
        let seconds = match attrs.get("timeout_seconds") {
            Some(v) if !v.is_null() => match v.as_f64() {
                Some(n) if n > 0.0 && n.is_finite() => n,
                _ => return Err(invalid("timeout_seconds must be a positive number")),
            },
            _ => DEFAULT_TIMEOUT_SECONDS as f64,
        };
        Ok(Waiting {
            enabled,
            timeout: Duration::from_secs_f64(seconds),
        })
    }
}

/// Converts a wholly known attribute to JSON.
fn known_json(v: &Value, what: &str) -> ProviderResult<Json> {
    if !v.is_wholly_known() {
        return Err(ProviderError::new(
            ErrorKind::Internal,
            format!("{what} is not known yet"),
        ));
    }
    Ok(v.to_json())
}

/// A Secret's `data` and `stringData` are marked sensitive wherever the provider returns them.
fn mark_secret(v: Value) -> Value {
    if v.get("kind")
        .and_then(|k| k.as_str().map(str::to_string))
        .as_deref()
        != Some("Secret")
    {
        return v;
    }
    let paths = [Path::root().key("data"), Path::root().key("stringData")];
    v.mark(&paths)
}

fn json_value(j: &Json) -> Value {
    mark_secret(Value::from_json(j))
}

fn set(attrs: &mut Value, key: &str, v: Value) {
    attrs.set_path(&Path::root().key(key), v);
}

/// Keeps what the configuration said about waiting.
fn copy_waiting(from: &Value, to: &mut Value) {
    for k in ["wait_for_rollout", "timeout_seconds"] {
        set(to, k, from.get(k).unwrap_or(Value::Null));
    }
}

/// How many calls one folder makes at once: the documents of a folder that do not depend on
/// each other (the same apply rank) go together, so a folder of twenty objects does not take
/// twenty round trips — or, on a failing API server, twenty runs of retries — one after another.
const FOLDER_CALLS: usize = 8;

/// Runs `call` for every item, at most [`FOLDER_CALLS`] at once, and gives the results in the
/// items' order, each call having finished.
async fn each<'a, T: 'a, R, F, Fut>(items: impl IntoIterator<Item = &'a T>, call: F) -> Vec<R>
where
    F: Fn(&'a T) -> Fut,
    Fut: std::future::Future<Output = R>,
{
    let gate = tokio::sync::Semaphore::new(FOLDER_CALLS);
    let gate = &gate;
    let calls: Vec<_> = items
        .into_iter()
        .map(|item| {
            let call = call(item);
            async move {
                // Never closed, so acquiring cannot fail; a failure would only lift the bound.
                let _permit = gate.acquire().await;
                call.await
            }
        })
        .collect();
    futures::future::join_all(calls).await
}

impl KubernetesProvider {
    /// The unconfigured provider: it can describe its schema and be configured, nothing else.
    pub fn new() -> KubernetesProvider {
        KubernetesProvider { api: None }
    }

    fn api(&self) -> ProviderResult<&ClusterApi> {
        self.api.as_deref().ok_or_else(|| {
            ProviderError::new(
                ErrorKind::Internal,
                "the kubernetes provider was used before being configured",
            )
        })
    }

    // ---- kubernetes_manifest -------------------------------------------------------------

    fn manifest_attributes(id: &ObjectId, manifest: Value, live: &Json, settings: &Value) -> Value {
        let mut attrs = Value::map([
            ("id", Value::from(id.to_string())),
            ("manifest", mark_secret(manifest)),
            ("object", json_value(&manifest::clean(live))),
            (
                "uid",
                live["metadata"]["uid"]
                    .as_str()
                    .map(Value::from)
                    .unwrap_or(Value::Null),
            ),
        ]);
        copy_waiting(settings, &mut attrs);
        attrs
    }

    async fn plan_manifest(&self, req: PlanRequest) -> ProviderResult<PlanResponse> {
        let api = self.api()?;
        let mut planned = req.proposed.clone();
        Waiting::of(&planned)?;
        let manifest_value = planned.get("manifest").unwrap_or(Value::Null);
        let prior_manifest = req
            .prior
            .as_ref()
            .and_then(|p| p.attributes.get("manifest"))
            .map(|m| m.to_json());
        if !manifest_value.is_wholly_known() {
            set(&mut planned, "object", Value::Unknown);
            if req.prior.is_none() {
                set(&mut planned, "uid", Value::Unknown);
                set(&mut planned, "id", Value::Unknown);
            }
            return Ok(PlanResponse {
                planned,
                requires_replace: Vec::new(),
            });
        }
        let doc = manifest_value.to_json();
        let id = api.identity(&doc, "manifest").await?;
        let mut requires_replace = Vec::new();
        if let Some(prior_id) = req.prior.as_ref().and_then(|p| ObjectId::parse(&p.id)) {
            let m = Path::root().key("manifest");
            if prior_id.api_version != id.api_version {
                requires_replace.push(m.key("apiVersion"));
            }
            if prior_id.kind != id.kind {
                requires_replace.push(m.key("kind"));
            }
            if prior_id.name != id.name {
                requires_replace.push(m.key("metadata").key("name"));
            }
            if prior_id.namespace != id.namespace {
                requires_replace.push(m.key("metadata").key("namespace"));
            }
        }
        if prior_manifest.as_ref() != Some(&doc) {
            // What the server would make of it: defaults, conversions, other managers' fields.
            let object = match api.apply(&id, &doc, true).await {
                Ok(result) => json_value(&manifest::clean(&result)),
                // Its namespace or CRD is created by the same apply.
                Err(e) if e.kind == ErrorKind::NotFound => Value::Unknown,
                Err(e) => return Err(e),
            };
            set(&mut planned, "object", object);
            if req.prior.is_none() || !requires_replace.is_empty() {
                set(&mut planned, "uid", Value::Unknown);
            }
            set(&mut planned, "id", Value::from(id.to_string()));
        }
        set(&mut planned, "manifest", mark_secret(manifest_value));
        Ok(PlanResponse {
            planned,
            requires_replace,
        })
    }

    async fn apply_manifest(
        &self,
        planned: &Value,
        ctx: &OperationContext,
    ) -> ProviderResult<ResourceObject> {
        let api = self.api()?;
        let waiting = Waiting::of(planned)?;
        let manifest_value = planned.get("manifest").unwrap_or(Value::Null);
        let doc = known_json(&manifest_value, "manifest")?;
        let id = api.identity(&doc, "manifest").await?;
        let applied = api.apply(&id, &doc, false).await?;
        let object = ResourceObject {
            id: id.to_string(),
            attributes: KubernetesProvider::manifest_attributes(
                &id,
                manifest_value,
                &applied,
                planned,
            ),
        };
        if waiting.enabled && rolls_out(&id.kind) {
            let report = |s: &str| ctx.report(s);
            if let Err(e) = api
                .wait_for_rollout(&id, waiting.timeout, "", &report)
                .await
            {
                return Err(e.with_partial(object));
            }
        }
        Ok(object)
    }

    async fn read_manifest(&self, req: ReadRequest) -> ProviderResult<Option<ResourceObject>> {
        let api = self.api()?;
        let id = ObjectId::parse(&req.id).ok_or_else(|| {
            invalid(format!("{:?} is not a Kubernetes object id", req.id))
                .with_hint("ids look like apps/v1/Deployment/NAMESPACE/NAME, or v1/Namespace//NAME for cluster-scoped kinds")
        })?;
        let Some(live) = api.get(&id).await? else {
            return Ok(None);
        };
        let manifest = match req.prior.get("manifest") {
            Some(m) if m.as_map().is_some() => json_value(&manifest::project(&live, &m.to_json())),
            _ => json_value(&manifest::clean(&live)),
        };
        let mut settings = req.prior.clone();
        if settings.as_map().is_none() {
            settings = Value::map::<&str>([]);
        }
        Ok(Some(ResourceObject {
            id: req.id,
            attributes: KubernetesProvider::manifest_attributes(&id, manifest, &live, &settings),
        }))
    }

    async fn find_manifest(&self, req: FindRequest) -> ProviderResult<Option<ResourceObject>> {
        let api = self.api()?;
        let manifest_value = req.planned.get("manifest").unwrap_or(Value::Null);
        let doc = known_json(&manifest_value, "manifest")?;
        let id = api.identity(&doc, "manifest").await?;
        Ok(api.get(&id).await?.map(|live| ResourceObject {
            id: id.to_string(),
            attributes: KubernetesProvider::manifest_attributes(
                &id,
                manifest_value,
                &live,
                &req.planned,
            ),
        }))
    }

    // ---- kubernetes_manifests ------------------------------------------------------------

    fn folder_of(attrs: &Value) -> ProviderResult<PathBuf> {
        attrs
            .get("path")
            .and_then(|p| p.as_str().map(PathBuf::from))
            .ok_or_else(|| invalid("path must be a string naming a folder of YAML files"))
    }

    fn read_folder(path: &std::path::Path) -> ProviderResult<Vec<Document>> {
        manifest::read_folder(path).map_err(|e| invalid(e.to_string()))
    }

    /// Each document with its identity, refusing two documents for one object.
    async fn identify(&self, docs: Vec<Document>) -> ProviderResult<Vec<(ObjectId, Document)>> {
        let api = self.api()?;
        let mut seen = HashSet::new();
        let mut out = Vec::with_capacity(docs.len());
        for doc in docs {
            let id = api.identity(&doc.body, &doc.origin).await?;
            if !seen.insert(id.clone()) {
                return Err(invalid(format!(
                    "{}: {} is defined twice in the folder",
                    doc.origin,
                    id.describe()
                )));
            }
            out.push((id, doc));
        }
        Ok(out)
    }

    fn ids_of(attrs: &Value) -> Option<Vec<ObjectId>> {
        let list = attrs.get("objects")?;
        let list = list.as_list()?;
        Some(
            list.iter()
                .filter_map(|v| v.as_str().and_then(ObjectId::parse))
                .collect(),
        )
    }

    fn manifests_attributes(
        path: &std::path::Path,
        ids: &[ObjectId],
        digest: &str,
        settings: &Value,
    ) -> Value {
        let mut attrs = Value::map([
            ("id", Value::from(path.display().to_string())),
            ("path", Value::from(path.display().to_string())),
            (
                "objects",
                Value::List(ids.iter().map(|id| Value::from(id.to_string())).collect()),
            ),
            ("digest", Value::from(digest)),
        ]);
        copy_waiting(settings, &mut attrs);
        attrs
    }

    async fn plan_manifests(&self, req: PlanRequest) -> ProviderResult<PlanResponse> {
        let api = self.api()?;
        let mut planned = req.proposed.clone();
        Waiting::of(&planned)?;
        let unchanged = |planned: Value| {
            Ok(PlanResponse {
                planned,
                requires_replace: Vec::new(),
            })
        };
        if planned.get("path").is_none_or(|p| p.is_unknown()) {
            set(&mut planned, "objects", Value::Unknown);
            set(&mut planned, "digest", Value::Unknown);
            return unchanged(planned);
        }
        let path = KubernetesProvider::folder_of(&planned)?;
        let docs = KubernetesProvider::read_folder(&path)?;
        let digest = manifest::digest(docs.iter().map(|d| &d.body));
        let prior_digest = req
            .prior
            .as_ref()
            .and_then(|p| p.attributes.get("digest"))
            .and_then(|d| d.as_str().map(str::to_string));
        if prior_digest.as_deref() == Some(digest.as_str()) {
            return unchanged(planned);
        }
        let identified = self.identify(docs).await?;
        // Lets the server check every document now rather than halfway through the apply; the
        // first document refused (in folder order) is the one reported.
        let checked = each(&identified, |(id, doc)| api.apply(id, &doc.body, true)).await;
        for ((_, doc), result) in identified.iter().zip(checked) {
            match result {
                Ok(_) => {}
                Err(e) if e.kind == ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(ProviderError {
                        message: format!("{}: {}", doc.origin, e.message),
                        ..e
                    })
                }
            }
        }
        let ids: Vec<ObjectId> = identified.into_iter().map(|(id, _)| id).collect();
        set(
            &mut planned,
            "objects",
            Value::List(ids.iter().map(|id| Value::from(id.to_string())).collect()),
        );
        set(&mut planned, "digest", Value::from(digest));
        if req.prior.is_none() {
            set(&mut planned, "id", Value::from(path.display().to_string()));
        }
        unchanged(planned)
    }

    /// Applies the folder in dependency order, prunes what left it, and waits for workloads.
    async fn apply_manifests(
        &self,
        planned: &Value,
        prior: Option<&Value>,
        ctx: &OperationContext,
    ) -> ProviderResult<ResourceObject> {
        let api = self.api()?;
        let waiting = Waiting::of(planned)?;
        let path = KubernetesProvider::folder_of(planned)?;
        let docs = KubernetesProvider::read_folder(&path)?;
        let digest = manifest::digest(docs.iter().map(|d| &d.body));
        let mut identified = self.identify(docs).await?;
        identified.sort_by_key(|(id, _)| manifest::apply_rank(&id.kind));
        let previous: Vec<ObjectId> = prior
            .and_then(KubernetesProvider::ids_of)
            .unwrap_or_default();
        let prior_digest = prior
            .and_then(|p| p.get("digest"))
            .and_then(|d| d.as_str().map(str::to_string))
            .unwrap_or_default();
        let resource_id = path.display().to_string();

        // Rank by rank (namespaces first, then what lives in them...), the documents of one
        // rank at once.
        let mut applied: Vec<ObjectId> = Vec::new();
        for rank in identified.chunk_by(|(a, _), (b, _)| {
            manifest::apply_rank(&a.kind) == manifest::apply_rank(&b.kind)
        }) {
            let results = each(rank, |(id, doc)| async move {
                ctx.report(&format!("applying {}", id.describe()));
                api.apply(id, &doc.body, false).await
            })
            .await;
            let mut failure = None;
            for ((id, doc), result) in rank.iter().zip(results) {
                match result {
                    Ok(_) => applied.push(id.clone()),
                    Err(e) => {
                        failure.get_or_insert((doc, e));
                    }
                }
            }
            if let Some((doc, e)) = failure {
                // State must know every object that may exist now, so that it is pruned later.
                let mut known = previous.clone();
                known.extend(applied.iter().filter(|a| !previous.contains(a)).cloned());
                let partial = ResourceObject {
                    id: resource_id.clone(),
                    attributes: KubernetesProvider::manifests_attributes(
                        &path,
                        &known,
                        &prior_digest,
                        planned,
                    ),
                };
                let message = format!("{}: {}", doc.origin, e.message);
                return Err(ProviderError { message, ..e }.with_partial(partial));
            }
        }

        let mut gone: Vec<&ObjectId> = previous.iter().filter(|p| !applied.contains(p)).collect();
        gone.sort_by_key(|id| std::cmp::Reverse(manifest::apply_rank(&id.kind)));
        for id in gone {
            ctx.report(&format!("deleting {}", id.describe()));
            api.delete(id).await?;
        }

        let object = ResourceObject {
            id: resource_id,
            attributes: KubernetesProvider::manifests_attributes(&path, &applied, &digest, planned),
        };
        if waiting.enabled {
            // Every workload rolls out at the same time; each gets the whole budget.
            let report = |s: &str| ctx.report(s);
            let workloads: Vec<&ObjectId> =
                applied.iter().filter(|id| rolls_out(&id.kind)).collect();
            let waited = each(&workloads, |id| {
                let report = &report;
                async move {
                    let label = format!("{} ", id.describe());
                    api.wait_for_rollout(id, waiting.timeout, &label, report)
                        .await
                }
            })
            .await;
            if let Some(e) = waited.into_iter().find_map(Result::err) {
                return Err(e.with_partial(object));
            }
        }
        Ok(object)
    }

    /// Reads the objects state lists. The digest reports drift: when the folder still holds
    /// what was applied, it is recomputed from the live objects seen through the documents, so
    /// an out-of-band change (or a deleted object) changes it and the next plan re-applies.
    async fn read_manifests(&self, req: ReadRequest) -> ProviderResult<Option<ResourceObject>> {
        let api = self.api()?;
        let imported = req.prior.as_map().is_none();
        let settings = if imported {
            Value::map([("path", Value::from(req.id.as_str()))])
        } else {
            req.prior.clone()
        };
        let path = KubernetesProvider::folder_of(&settings)?;
        let prior_digest = settings
            .get("digest")
            .and_then(|d| d.as_str().map(str::to_string));
        let folder = KubernetesProvider::read_folder(&path);
        let ids = match KubernetesProvider::ids_of(&settings) {
            Some(ids) => ids,
            None => self
                .identify(folder.clone()?)
                .await?
                .into_iter()
                .map(|(id, _)| id)
                .collect(),
        };
        let mut live: std::collections::HashMap<ObjectId, Option<Json>> = Default::default();
        for (id, found) in ids.iter().zip(each(&ids, |id| api.get(id)).await) {
            live.insert(id.clone(), found?);
        }
        let present: Vec<ObjectId> = ids
            .iter()
            .filter(|id| live.get(*id).is_some_and(Option::is_some))
            .cloned()
            .collect();
        if present.is_empty() && !ids.is_empty() {
            return Ok(None);
        }
        let mut digest = prior_digest.clone().unwrap_or_default();
        if let Ok(docs) = folder {
            let folder_digest = manifest::digest(docs.iter().map(|d| &d.body));
            if imported || prior_digest.as_deref() == Some(folder_digest.as_str()) {
                let identified = self.identify(docs).await?;
                // Objects the folder holds but state does not list are read now.
                let unread: Vec<ObjectId> = identified
                    .iter()
                    .map(|(id, _)| id.clone())
                    .filter(|id| !live.contains_key(id))
                    .collect();
                for (id, found) in unread.iter().zip(each(&unread, |id| api.get(id)).await) {
                    live.insert(id.clone(), found?);
                }
                let seen: Vec<Json> = identified
                    .iter()
                    .map(|(id, doc)| match live.get(id) {
                        Some(Some(l)) => manifest::project(l, &doc.body),
                        _ => Json::Null,
                    })
                    .collect();
                digest = manifest::digest(seen.iter());
            }
        }
        Ok(Some(ResourceObject {
            id: req.id,
            attributes: KubernetesProvider::manifests_attributes(
                &path, &present, &digest, &settings,
            ),
        }))
    }

    async fn delete_manifests(
        &self,
        req: &DeleteRequest,
        ctx: &OperationContext,
    ) -> ProviderResult<()> {
        let api = self.api()?;
        let mut ids = match KubernetesProvider::ids_of(&req.prior) {
            Some(ids) => ids,
            None => {
                let path = KubernetesProvider::folder_of(&req.prior)
                    .unwrap_or_else(|_| PathBuf::from(&req.id));
                let docs = KubernetesProvider::read_folder(&path)?;
                self.identify(docs)
                    .await?
                    .into_iter()
                    .map(|(id, _)| id)
                    .collect()
            }
        };
        ids.sort_by_key(|id| std::cmp::Reverse(manifest::apply_rank(&id.kind)));
        for rank in
            ids.chunk_by(|a, b| manifest::apply_rank(&a.kind) == manifest::apply_rank(&b.kind))
        {
            let results = each(rank, |id| async move {
                ctx.report(&format!("deleting {}", id.describe()));
                api.delete(id).await
            })
            .await;
            results.into_iter().collect::<ProviderResult<Vec<()>>>()?;
        }
        Ok(())
    }

    async fn find_manifests(&self, req: FindRequest) -> ProviderResult<Option<ResourceObject>> {
        let api = self.api()?;
        let path = KubernetesProvider::folder_of(&req.planned)?;
        let docs = KubernetesProvider::read_folder(&path)?;
        let ids: Vec<ObjectId> = self
            .identify(docs)
            .await?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let mut present = Vec::new();
        for (id, found) in ids.iter().zip(each(&ids, |id| api.get(id)).await) {
            if found?.is_some() {
                present.push(id.clone());
            }
        }
        if present.is_empty() {
            return Ok(None);
        }
        // No digest: whatever the interrupted apply left is applied again by the next one.
        Ok(Some(ResourceObject {
            id: path.display().to_string(),
            attributes: KubernetesProvider::manifests_attributes(&path, &present, "", &req.planned),
        }))
    }
}

/// The provider's name in configurations, and in the throttling signal it reports.
pub(crate) const NAME: &str = "kubernetes";

#[async_trait]
impl Provider for KubernetesProvider {
    fn name(&self) -> &str {
        NAME
    }

    fn schema(&self) -> ProviderSchema {
        schema::provider_schema()
    }

    async fn configure(&self, config: Value) -> ProviderResult<Arc<dyn Provider>> {
        let conn = Connection {
            kubeconfig: setting(&config, "kubeconfig")?,
            context: setting(&config, "context")?,
            endpoint: setting(&config, "endpoint")?,
        };
        let api = ClusterApi::connect(&conn).await?;
        Ok(Arc::new(KubernetesProvider {
            api: Some(Arc::new(api)),
        }))
    }

    async fn plan(&self, req: PlanRequest) -> ProviderResult<PlanResponse> {
        match req.type_name.as_str() {
            MANIFEST => self.plan_manifest(req).await,
            MANIFESTS => self.plan_manifests(req).await,
            other => Err(unknown_type(other)),
        }
    }

    async fn read(&self, req: ReadRequest) -> ProviderResult<Option<ResourceObject>> {
        match req.type_name.as_str() {
            MANIFEST => self.read_manifest(req).await,
            MANIFESTS => self.read_manifests(req).await,
            other => Err(unknown_type(other)),
        }
    }

    async fn create(
        &self,
        req: CreateRequest,
        ctx: &OperationContext,
    ) -> ProviderResult<ResourceObject> {
        match req.type_name.as_str() {
            MANIFEST => self.apply_manifest(&req.planned, ctx).await,
            MANIFESTS => self.apply_manifests(&req.planned, None, ctx).await,
            other => Err(unknown_type(other)),
        }
    }

    async fn update(
        &self,
        req: UpdateRequest,
        ctx: &OperationContext,
    ) -> ProviderResult<ResourceObject> {
        match req.type_name.as_str() {
            MANIFEST => self.apply_manifest(&req.planned, ctx).await,
            MANIFESTS => {
                self.apply_manifests(&req.planned, Some(&req.prior), ctx)
                    .await
            }
            other => Err(unknown_type(other)),
        }
    }

    async fn delete(&self, req: DeleteRequest, ctx: &OperationContext) -> ProviderResult<()> {
        match req.type_name.as_str() {
            MANIFEST => {
                let id = ObjectId::parse(&req.id).ok_or_else(|| {
                    invalid(format!("{:?} is not a Kubernetes object id", req.id))
                })?;
                ctx.report(&format!("deleting {}", id.describe()));
                self.api()?.delete(&id).await
            }
            MANIFESTS => self.delete_manifests(&req, ctx).await,
            other => Err(unknown_type(other)),
        }
    }

    async fn find(&self, req: FindRequest) -> ProviderResult<Option<ResourceObject>> {
        match req.type_name.as_str() {
            MANIFEST => self.find_manifest(req).await,
            MANIFESTS => self.find_manifests(req).await,
            other => Err(unknown_type(other)),
        }
    }
}
