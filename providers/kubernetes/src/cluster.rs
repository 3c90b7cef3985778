//! The cluster as the provider talks to it, over kube-rs: discovery (cached), server-side
//! apply, get, delete, and waiting for rollouts. Every failure becomes a [`ProviderError`]
//! a user can act on; transient ones are retried first.

use crate::manifest::{self, ObjectId};
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{self, Scope};
use kube::{Client, Config};
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use strata_core::provider::{ErrorKind, ProviderError, ProviderResult};
use strata_core::retry::{jitter_unit, Pressure, RetryPolicy};
use tokio::time::Instant;

/// The field manager every apply uses: what Strata applied, Strata owns.
pub const FIELD_MANAGER: &str = "strata";

/// Transient failures (429, 5xx, dropped connections) are tried again under the retry policy
/// every provider shares, for at most two minutes per call — enough to ride out a minute-long
/// wave of failures. kube-rs's own retry layer is turned off so that every throttled answer is
/// seen here and reported to the engine's adaptive limiter.
fn retry_policy() -> RetryPolicy {
    RetryPolicy {
        deadline: Duration::from_secs(120),
        ..RetryPolicy::default()
    }
}

/// Polling of rollouts starts fast (an emulated or small rollout is quick) and slows down to
/// spare a busy API server.
const FIRST_POLL: Duration = Duration::from_millis(100);
const MAX_POLL: Duration = Duration::from_secs(2);

/// A kind the cluster serves.
#[derive(Clone)]
struct Served {
    resource: ApiResource,
    namespaced: bool,
}

/// A connection to one cluster's API.
pub struct ClusterApi {
    client: Client,
    learned: Arc<Learned>,
}

/// Held by the one lookup of a kind in progress.
type Gate = Arc<tokio::sync::Mutex<()>>;

/// What this process learned about one cluster, shared by every connection to it: each plan
/// and apply walk configures its own provider, and asking the cluster the same questions again
/// would only cost round trips (and, on a failing cloud, retries).
#[derive(Default)]
struct Learned {
    /// Discovery answers by (apiVersion, kind). Only kinds found are kept: a kind missing now
    /// may be defined by a CRD applied a moment later.
    served: Mutex<HashMap<(String, String), Served>>,
    /// One gate per kind being looked up, so that concurrent lookups of a kind make one request.
    looking_up: Mutex<HashMap<(String, String), Gate>>,
    /// Server-side dry-run answers by (object, the exact document planned). `apply` plans the
    /// same documents up to three times (the plan shown, the stack's fresh plan, the resource's
    /// plan with its dependencies' final values); an unchanged document gets the answer it got.
    /// Any write to an object forgets its answers; failed dry-runs are never kept.
    planned: Mutex<HashMap<(String, String), Value>>,
}

impl Learned {
    /// The shared knowledge of the cluster at `url`.
    fn of(url: &str) -> Arc<Learned> {
        static ALL: OnceLock<Mutex<HashMap<String, Arc<Learned>>>> = OnceLock::new();
        let mut all = ALL
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        all.entry(url.to_string()).or_default().clone()
    }

    fn planned(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Value>> {
        self.planned.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn forget_plans_of(&self, id: &ObjectId) {
        let object = id.to_string();
        self.planned().retain(|(o, _), _| *o != object);
    }
}

/// What the provider block says about the cluster.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    /// Kubeconfig YAML; `None` reads `$KUBECONFIG` or `~/.kube/config`.
    pub kubeconfig: Option<String>,
    pub context: Option<String>,
    /// Overrides the server URL of the kubeconfig's cluster.
    pub endpoint: Option<String>,
}

fn config_error(message: impl Into<String>) -> ProviderError {
    ProviderError::new(ErrorKind::InvalidConfig, message)
}

/// Maps a kube-rs failure to what the engine needs; `what` says what was being done. Messages
/// carry the API server's own words, never request bodies (a Secret's data stays unprinted).
pub fn api_error(what: &str, e: kube::Error) -> ProviderError {
    match e {
        kube::Error::Api(status) => {
            let kind = match status.code {
                401 | 403 => ErrorKind::Credentials,
                404 => ErrorKind::NotFound,
                409 => ErrorKind::Conflict,
                400 | 415 | 422 => ErrorKind::InvalidConfig,
                429 => ErrorKind::Throttled,
                500..=599 => ErrorKind::Unavailable,
                _ => ErrorKind::Api,
            };
            let message = if status.message.is_empty() {
                format!("{what}: the API answered {} {}", status.code, status.reason)
            } else {
                format!("{what}: {}", status.message)
            };
            let err = ProviderError::new(kind, message);
            match kind {
                ErrorKind::Credentials => err.with_hint(
                    "check the kubeconfig's user credentials and their RBAC permissions",
                ),
                _ => err,
            }
        }
        kube::Error::HyperError(_) | kube::Error::Service(_) => ProviderError::new(
            ErrorKind::Unavailable,
            format!("{what}: cannot reach the Kubernetes API: {e}"),
        ),
        kube::Error::Auth(_) => ProviderError::new(
            ErrorKind::Credentials,
            format!("{what}: cannot authenticate to the Kubernetes API: {e}"),
        ),
        other => ProviderError::new(ErrorKind::Api, format!("{what}: {other}")),
    }
}

fn transient(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(s) => s.code == 429 || s.code >= 500,
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

fn not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

/// Runs `call` until it succeeds, fails for good, or runs out of time.
async fn retrying<T, F, Fut>(mut call: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let policy = retry_policy();
    let pressure = Pressure::of(crate::provider::NAME);
    let started = Instant::now();
    let mut attempt = 1;
    loop {
        let result = call().await;
        match &result {
            Ok(_) => pressure.succeeded(),
            Err(kube::Error::Api(s)) if s.code == 429 => pressure.throttled(),
            Err(_) => {}
        }
        match result {
            Err(e) if transient(&e) => {
                let Some(delay) =
                    policy.next_delay(attempt, None, started.elapsed(), jitter_unit())
                else {
                    return Err(e);
                };
                tracing::debug!(attempt, error = %e, "retrying a Kubernetes API call");
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Readiness of a workload: `(ready, desired, done)`, the rules `kubectl rollout status` uses.
pub fn rollout_progress(object: &Value) -> Option<(i64, i64, bool)> {
    let kind = object["kind"].as_str()?;
    if !matches!(kind, "Deployment" | "StatefulSet") {
        return None;
    }
    let desired = object["spec"]["replicas"].as_i64().unwrap_or(1);
    let status = &object["status"];
    let count = |k: &str| status[k].as_i64().unwrap_or(0);
    let generation = object["metadata"]["generation"].as_i64().unwrap_or(0);
    let observed = count("observedGeneration") >= generation;
    let ready = count("readyReplicas");
    let updated = count("updatedReplicas");
    let done = observed
        && updated >= desired
        && ready >= desired
        && match kind {
            "Deployment" => count("availableReplicas") >= desired && count("replicas") <= desired,
            _ => true,
        };
    Some((ready.min(desired), desired, done))
}

/// True for kinds whose rollout the provider waits for.
pub fn rolls_out(kind: &str) -> bool {
    matches!(kind, "Deployment" | "StatefulSet")
}

impl ClusterApi {
    /// Connects as the kubeconfig says. Errors never quote the kubeconfig: it holds credentials.
    pub async fn connect(conn: &Connection) -> ProviderResult<ClusterApi> {
        let options = KubeConfigOptions {
            context: conn.context.clone(),
            cluster: None,
            user: None,
        };
        let mut config = match &conn.kubeconfig {
            Some(text) => {
                let kubeconfig = Kubeconfig::from_yaml(text).map_err(|_| {
                    config_error("the provider's kubeconfig is not a valid kubeconfig document")
                        .with_hint(
                        "pass the kubeconfig's YAML text, e.g. dependency.base.outputs.kubeconfig",
                    )
                })?;
                Config::from_custom_kubeconfig(kubeconfig, &options)
                    .await
                    .map_err(|e| {
                        config_error(format!(
                            "the provider's kubeconfig cannot be used: {}",
                            describe_kubeconfig_error(&e)
                        ))
                    })?
            }
            None => Config::from_kubeconfig(&options).await.map_err(|e| {
                config_error(format!(
                    "no kubeconfig given and none found in $KUBECONFIG or ~/.kube/config: {}",
                    describe_kubeconfig_error(&e)
                ))
                .with_hint("set kubeconfig in the provider \"kubernetes\" block")
            })?,
        };
        if let Some(endpoint) = &conn.endpoint {
            config.cluster_url = endpoint
                .parse()
                .map_err(|_| config_error(format!("endpoint {endpoint:?} is not a URL")))?;
        }
        let url = &config.cluster_url;
        if url.scheme_str() == Some("http")
            && !url
                .host()
                .is_some_and(strata_core::endpoint::is_loopback_host)
        {
            return Err(config_error(format!(
                "the Kubernetes API at {url} is plain http: only loopback addresses may be reached without TLS"
            )));
        }
        config.default_retry = false;
        let config_url = config.cluster_url.to_string();
        let client = Client::try_from(config)
            .map_err(|e| config_error(format!("cannot build a Kubernetes client: {e}")))?;
        let learned = Learned::of(&config_url);
        Ok(ClusterApi { client, learned })
    }

    /// The namespace of the kubeconfig's context, for manifests that name none.
    pub fn default_namespace(&self) -> &str {
        self.client.default_namespace()
    }

    /// Looks a kind up in discovery; `None` if the cluster does not serve it (yet).
    async fn served(&self, api_version: &str, kind: &str) -> ProviderResult<Option<Served>> {
        let key = (api_version.to_string(), kind.to_string());
        let cached = || {
            self.learned
                .served
                .lock()
                .expect("discovery cache")
                .get(&key)
                .cloned()
        };
        if let Some(s) = cached() {
            return Ok(Some(s));
        }
        // One lookup per kind at a time: the eleven Deployments of a stack planned at once wait
        // for one answer instead of each asking (and, on a failing server, each retrying).
        let gate = self
            .learned
            .looking_up
            .lock()
            .expect("discovery gates")
            .entry(key.clone())
            .or_default()
            .clone();
        let _turn = gate.lock().await;
        if let Some(s) = cached() {
            return Ok(Some(s));
        }
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let found = retrying(|| discovery::pinned_kind(&self.client, &gvk)).await;
        match found {
            Ok((resource, caps)) => {
                let served = Served {
                    resource,
                    namespaced: caps.scope == Scope::Namespaced,
                };
                self.learned
                    .served
                    .lock()
                    .expect("discovery cache")
                    .insert(key, served.clone());
                Ok(Some(served))
            }
            Err(e) if not_found(&e) => Ok(None),
            Err(kube::Error::Discovery(_)) => Ok(None),
            Err(e) => Err(api_error(&format!("discovering {kind} ({api_version})"), e)),
        }
    }

    /// The identity of a manifest, asking discovery whether its kind is namespaced (for a kind
    /// the cluster does not serve yet, the well-known scopes decide).
    pub async fn identity(&self, doc: &Value, origin: &str) -> ProviderResult<ObjectId> {
        let invalid = |e: manifest::ManifestError| config_error(e.to_string());
        let api_version = doc["apiVersion"].as_str().unwrap_or_default();
        let kind = doc["kind"].as_str().unwrap_or_default();
        // Validates the shape before any network call.
        manifest::identity(doc, true, "", origin).map_err(invalid)?;
        let namespaced = match self.served(api_version, kind).await? {
            Some(s) => s.namespaced,
            None => !manifest::known_cluster_scoped(kind),
        };
        manifest::identity(doc, namespaced, self.default_namespace(), origin).map_err(invalid)
    }

    async fn api(&self, id: &ObjectId) -> ProviderResult<Option<Api<DynamicObject>>> {
        Ok(self.served(&id.api_version, &id.kind).await?.map(|s| {
            match (&id.namespace, s.namespaced) {
                (Some(ns), true) => Api::namespaced_with(self.client.clone(), ns, &s.resource),
                _ => Api::all_with(self.client.clone(), &s.resource),
            }
        }))
    }

    async fn api_or_err(&self, id: &ObjectId) -> ProviderResult<Api<DynamicObject>> {
        self.api(id).await?.ok_or_else(|| {
            ProviderError::new(
                ErrorKind::NotFound,
                format!(
                    "the cluster does not serve {} in {}",
                    id.kind, id.api_version
                ),
            )
            .with_hint("check apiVersion and kind; a custom kind needs its CustomResourceDefinition applied first")
        })
    }

    /// Server-side apply of `doc` as [`FIELD_MANAGER`], forcing ownership; with `dry_run`,
    /// the server answers as if it applied and changes nothing.
    pub async fn apply(&self, id: &ObjectId, doc: &Value, dry_run: bool) -> ProviderResult<Value> {
        let api = self.api_or_err(id).await?;
        let mut body = doc.clone();
        if let (Some(ns), Some(meta)) = (&id.namespace, body.get_mut("metadata")) {
            meta["namespace"] = Value::String(ns.clone());
        }
        let key = (id.to_string(), body.to_string());
        if dry_run {
            if let Some(answer) = self.learned.planned().get(&key) {
                return Ok(answer.clone());
            }
        } else {
            self.learned.forget_plans_of(id);
        }
        let mut params = PatchParams::apply(FIELD_MANAGER).force();
        params.dry_run = dry_run;
        let what = format!(
            "{} {}",
            if dry_run { "planning" } else { "applying" },
            id.describe()
        );
        let patch = Patch::Apply(&body);
        let applied = retrying(|| api.patch(&id.name, &params, &patch))
            .await
            .map_err(|e| api_error(&what, e))?;
        let applied = serde_json::to_value(applied)
            .map_err(|e| ProviderError::new(ErrorKind::Internal, format!("{what}: {e}")))?;
        if dry_run {
            self.learned.planned().insert(key, applied.clone());
        }
        Ok(applied)
    }

    /// The object as the cluster holds it; `None` if it (or its kind) is gone.
    pub async fn get(&self, id: &ObjectId) -> ProviderResult<Option<Value>> {
        let Some(api) = self.api(id).await? else {
            return Ok(None);
        };
        let what = format!("reading {}", id.describe());
        let found = retrying(|| api.get_opt(&id.name))
            .await
            .map_err(|e| api_error(&what, e))?;
        found
            .map(serde_json::to_value)
            .transpose()
            .map_err(|e| ProviderError::new(ErrorKind::Internal, format!("{what}: {e}")))
    }

    /// Deletes the object; one already gone (or whose kind is gone) is fine.
    pub async fn delete(&self, id: &ObjectId) -> ProviderResult<()> {
        let Some(api) = self.api(id).await? else {
            return Ok(());
        };
        self.learned.forget_plans_of(id);
        let params = DeleteParams::background();
        match retrying(|| api.delete(&id.name, &params)).await {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(api_error(&format!("deleting {}", id.describe()), e)),
        }
    }

    /// Waits until a Deployment or StatefulSet has all its replicas ready and updated,
    /// reporting `"2/3 ready"` (prefixed by `label`) whenever the count changes.
    pub async fn wait_for_rollout(
        &self,
        id: &ObjectId,
        timeout: Duration,
        label: &str,
        report: &(dyn Fn(&str) + Send + Sync),
    ) -> ProviderResult<()> {
        let deadline = Instant::now() + timeout;
        let mut poll = FIRST_POLL;
        let mut last = None;
        loop {
            let object = self.get(id).await?.ok_or_else(|| {
                ProviderError::new(
                    ErrorKind::NotFound,
                    format!("{} disappeared during its rollout", id.describe()),
                )
            })?;
            let Some((ready, desired, done)) = rollout_progress(&object) else {
                return Ok(());
            };
            let progress = format!("{label}{ready}/{desired} ready");
            if last.as_ref() != Some(&progress) {
                report(&progress);
                last = Some(progress);
            }
            if done {
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(ProviderError::new(
                    ErrorKind::Timeout,
                    format!(
                        "{} did not become ready within {}s ({ready}/{desired} ready)",
                        id.describe(),
                        timeout.as_secs()
                    ),
                )
                .with_hint("check the pods' events and logs; raise timeout_seconds if the rollout is only slow"));
            }
            tokio::time::sleep(poll.min(deadline - now)).await;
            poll = (poll * 3 / 2).min(MAX_POLL);
        }
    }
}

/// A kubeconfig error's kind, without quoting the document.
fn describe_kubeconfig_error(e: &kube::config::KubeconfigError) -> String {
    use kube::config::KubeconfigError as K;
    match e {
        K::LoadContext(name) => format!("context {name:?} not found"),
        K::LoadClusterOfContext(name) => format!("cluster {name:?} of the context not found"),
        K::MissingClusterUrl => "the cluster has no server URL".into(),
        K::FindPath | K::ReadConfig(..) => "no kubeconfig file could be read".into(),
        K::LoadCertificateAuthority(_) => {
            "the cluster's certificate authority cannot be loaded".into()
        }
        K::LoadClientCertificate(_) | K::LoadClientKey(_) => {
            "the user's client certificate or key cannot be loaded".into()
        }
        K::CurrentContextNotSet => {
            "current-context is not set; set context in the provider block".into()
        }
        K::ParseClusterUrl(_) => "the cluster's server is not a valid URL".into(),
        _ => "it is incomplete or malformed".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rollout_is_done_when_every_replica_is_updated_and_ready() {
        let d = |status: Value| json!({"kind": "Deployment", "metadata": {"generation": 2}, "spec": {"replicas": 3}, "status": status});
        let full = json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3});
        assert_eq!(rollout_progress(&d(full.clone())), Some((3, 3, true)));
        let mut stale = full.clone();
        stale["observedGeneration"] = json!(1);
        assert_eq!(rollout_progress(&d(stale)), Some((3, 3, false)));
        let partial = json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1});
        assert_eq!(rollout_progress(&d(partial)), Some((1, 3, false)));
        assert_eq!(rollout_progress(&json!({"kind": "Service"})), None);
    }
}
