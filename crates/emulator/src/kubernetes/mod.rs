//! Emulated Kubernetes API servers, one per emulated cluster.
//!
//! Each cluster's API lives under `/k8s/{cluster_id}` of the emulator's address, and answers
//! what kube-rs and kubectl need to apply manifests: `/version`, discovery (`/api`, `/apis`,
//! resource lists with scope and verbs), CRUD of every built-in kind a platform uses and of the
//! kinds registered CRDs add, label-selected lists, server-side apply with field ownership,
//! `dryRun=All`, and failures as `Status` objects. No controllers run: Deployments and
//! StatefulSets report rollout progress computed from the time since their last change (see
//! [`KubeApis::set_rollout_time`]).
//!
//! Requests must carry the cluster's token (`Authorization: Bearer ...`); a wrong or missing
//! token gets 401, an unknown cluster 404.
//!
//! With a data folder, each cluster is saved as `kubernetes/{cluster_id}.json` below it after
//! every change (written to a temporary file and renamed, so a crash never leaves half a file),
//! and loaded again by [`KubeApis::new`].

mod catalog;
mod fields;
mod http;
mod rollout;
mod selector;
mod status;
mod store;

use status::{ApiError, ApiResult};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use store::{Clock, Cluster};

/// How long a rollout takes unless [`KubeApis::set_rollout_time`] says otherwise.
pub const DEFAULT_ROLLOUT_TIME: Duration = Duration::from_secs(1);

/// The manager recorded for out-of-band changes made through [`KubeApis::set_field`].
pub const ADMIN_FIELD_MANAGER: &str = "emulator-admin";

/// The emulated API servers of every emulated cluster. Cheap to clone: clones share state.
#[derive(Clone)]
pub struct KubeApis {
    inner: Arc<Inner>,
}

struct Inner {
    data_dir: Option<PathBuf>,
    state: Mutex<State>,
}

struct State {
    clusters: BTreeMap<String, Cluster>,
    rollout_time: Duration,
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// A file name for a cluster id: safe characters kept, others escaped, so no id can name a
/// path outside the folder.
fn file_name(cluster_id: &str) -> String {
    let mut out = String::new();
    for c in cluster_id.chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
            out.push(c);
        } else {
            for b in c.to_string().bytes() {
                out.push_str(&format!("_{b:02x}"));
            }
        }
    }
    if out.starts_with('.') {
        out.replace_range(0..1, "_2e");
    }
    format!("{out}.json")
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// What a saved cluster file holds: its id and the generation of its journal next to its state.
#[derive(serde::Serialize)]
struct SavedCluster<'a> {
    id: String,
    journal: u64,
    #[serde(flatten)]
    cluster: &'a Cluster,
}

/// [`SavedCluster`] as read back.
#[derive(serde::Deserialize)]
struct LoadedCluster {
    id: String,
    #[serde(default)]
    journal: u64,
    #[serde(flatten)]
    cluster: Cluster,
}

impl KubeApis {
    /// API servers for the clusters saved under `data_dir/kubernetes/` (none without a folder).
    /// Files that cannot be read are skipped with a warning, never deleted.
    pub fn new(data_dir: Option<PathBuf>) -> KubeApis {
        let mut clusters = BTreeMap::new();
        if let Some(dir) = &data_dir {
            for (id, cluster) in load_all(&dir.join("kubernetes")) {
                clusters.insert(id, cluster);
            }
        }
        KubeApis {
            inner: Arc::new(Inner {
                data_dir,
                state: Mutex::new(State {
                    clusters,
                    rollout_time: DEFAULT_ROLLOUT_TIME,
                }),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a cluster half-written: every operation
        // builds its result before storing it. So a poisoned lock is still usable.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn clock(state: &State) -> Clock {
        Clock {
            now_ms: now_ms(),
            rollout_time: state.rollout_time,
        }
    }

    /// How long Deployments and StatefulSets take to become ready after a change.
    pub fn set_rollout_time(&self, rollout_time: Duration) {
        self.lock().rollout_time = rollout_time;
    }

    /// Starts serving a cluster's API. Registering an existing cluster again only changes its
    /// token, and keeps its objects.
    pub fn register_cluster(&self, cluster_id: &str, token: &str) {
        let mut state = self.lock();
        match state.clusters.get_mut(cluster_id) {
            Some(c) => c.token = token.to_string(),
            None => {
                state
                    .clusters
                    .insert(cluster_id.to_string(), Cluster::new(token));
            }
        }
        self.save(cluster_id, state.clusters.get_mut(cluster_id));
    }

    /// Stops serving a cluster's API and forgets its objects.
    pub fn remove_cluster(&self, cluster_id: &str) {
        let mut state = self.lock();
        state.clusters.remove(cluster_id);
        self.save(cluster_id, None);
    }

    /// The routes of every cluster's API: `/k8s/{cluster_id}/...`.
    pub fn router(&self) -> axum::Router {
        http::router(self.clone())
    }

    /// Every object of every cluster, as a GET returns it, with a `"cluster"` field added.
    pub fn inventory(&self) -> Vec<serde_json::Value> {
        let state = self.lock();
        let clock = KubeApis::clock(&state);
        let mut out = Vec::new();
        for (id, cluster) in &state.clusters {
            for mut object in cluster.all(&clock) {
                if let Some(m) = object.as_object_mut() {
                    m.insert("cluster".into(), serde_json::Value::String(id.clone()));
                }
                out.push(object);
            }
        }
        out
    }

    /// Out-of-band change for drift drills: sets a dotted field (e.g. `spec.replicas`, or
    /// `spec.template.spec.containers.0.image`) of one object, as an edit by
    /// [`ADMIN_FIELD_MANAGER`] would. `kind` may be a kind, plural or short name.
    pub fn set_field(
        &self,
        cluster_id: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
        field: &str,
        value: serde_json::Value,
    ) -> Result<(), String> {
        self.admin(cluster_id, kind, |c, rt, clock| {
            c.set_field(
                rt,
                namespace,
                name,
                field,
                value,
                ADMIN_FIELD_MANAGER,
                clock,
            )
        })
    }

    /// Out-of-band deletion of one object (a namespace takes its objects with it).
    pub fn delete_object(
        &self,
        cluster_id: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<(), String> {
        self.admin(cluster_id, kind, |c, rt, clock| {
            c.delete(rt, namespace, name, false, clock).map(|_| ())
        })
    }

    fn admin(
        &self,
        cluster_id: &str,
        kind: &str,
        op: impl FnOnce(&mut Cluster, &catalog::ResourceType, &Clock) -> ApiResult<()>,
    ) -> Result<(), String> {
        let mut state = self.lock();
        let clock = KubeApis::clock(&state);
        let cluster = state
            .clusters
            .get_mut(cluster_id)
            .ok_or_else(|| format!("no emulated Kubernetes cluster {cluster_id:?}"))?;
        let rt = cluster
            .find_kind(kind)
            .ok_or_else(|| format!("cluster {cluster_id:?} serves no kind {kind:?}"))?;
        op(cluster, &rt, &clock).map_err(|e| e.message)?;
        self.save(cluster_id, state.clusters.get_mut(cluster_id));
        Ok(())
    }

    /// Runs one API request against a cluster after checking its token; saves the cluster if
    /// the request changed it.
    pub(crate) fn with_cluster<T>(
        &self,
        cluster_id: &str,
        token: Option<&str>,
        op: impl FnOnce(&mut Cluster, &Clock) -> ApiResult<(T, bool)>,
    ) -> ApiResult<T> {
        let mut state = self.lock();
        let clock = KubeApis::clock(&state);
        let cluster = state
            .clusters
            .get_mut(cluster_id)
            .ok_or_else(|| ApiError::not_found("clusters", cluster_id))?;
        if !crate::clouds::kube_token_accepted(&cluster.token, token) {
            return Err(ApiError::unauthorized());
        }
        let (out, changed) = op(cluster, &clock)?;
        if changed {
            self.save(cluster_id, state.clusters.get_mut(cluster_id));
        }
        Ok(out)
    }

    /// Writes (or, for `None`, removes) a cluster's file. The emulator keeps serving from
    /// memory if the disk fails; the failure is logged.
    /// Saves what changed in a cluster (or, for `None`, removes its files).
    ///
    /// A cluster is a snapshot (`ID.json`) plus a journal of the changes made since
    /// (`ID.N.journal`, one JSON line per object written or removed), so that a change costs
    /// its own size, not the whole cluster's. Once the journal holds as many changes as the
    /// cluster has objects (and at least [`COMPACT_AFTER`]), the snapshot is rewritten and the
    /// next journal started; the snapshot names its journal, so a crash between the two steps
    /// never replays an old journal over a newer snapshot.
    fn save(&self, cluster_id: &str, cluster: Option<&mut Cluster>) {
        let Some(dir) = &self.inner.data_dir else {
            if let Some(c) = cluster {
                c.take_changes();
            }
            return;
        };
        let dir = dir.join("kubernetes");
        let snapshot = dir.join(file_name(cluster_id));
        let result = match cluster {
            Some(c) => {
                let changes = c.take_changes();
                let (generation, journaled) = c.journal;
                // Generation 0: no snapshot was ever written.
                let compact = generation == 0
                    || changes.is_empty()
                    || journaled + changes.len() > COMPACT_AFTER.max(c.len());
                if compact {
                    let next = generation + 1;
                    let saved = SavedCluster {
                        id: cluster_id.to_string(),
                        journal: next,
                        cluster: c,
                    };
                    serde_json::to_vec(&saved)
                        .map_err(std::io::Error::other)
                        .and_then(|bytes| {
                            std::fs::create_dir_all(&dir)?;
                            write_atomically(&snapshot, &bytes)?;
                            let _ = std::fs::remove_file(journal_path(&snapshot, generation));
                            c.journal = (next, 0);
                            Ok(())
                        })
                } else {
                    let mut lines = Vec::new();
                    for change in &changes {
                        // A change is plain JSON values: serialising it cannot fail.
                        if serde_json::to_writer(&mut lines, change).is_ok() {
                            lines.push(b'\n');
                        }
                    }
                    append(&journal_path(&snapshot, generation), &lines).map(|()| {
                        c.journal = (generation, journaled + changes.len());
                    })
                }
            }
            None => {
                for file in related_files(&snapshot) {
                    let _ = std::fs::remove_file(file);
                }
                match std::fs::remove_file(&snapshot) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    other => other,
                }
            }
        };
        if let Err(e) = result {
            tracing::warn!(path = %snapshot.display(), error = %e, "cannot save an emulated Kubernetes cluster");
        }
    }
}

/// Changes a journal may gather before the snapshot is rewritten (at least; more in a cluster
/// with more objects than this).
const COMPACT_AFTER: usize = 1000;

/// `ID.N.journal` beside `ID.json`.
fn journal_path(snapshot: &Path, generation: u64) -> PathBuf {
    snapshot.with_extension(format!("{generation}.journal"))
}

/// The journal files of a cluster, whatever their generation.
fn related_files(snapshot: &Path) -> Vec<PathBuf> {
    let Some(stem) = snapshot.file_stem().and_then(|s| s.to_str()) else {
        return Vec::new();
    };
    let prefix = format!("{stem}.");
    let Some(dir) = snapshot.parent() else {
        return Vec::new();
    };
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".journal"))
        })
        .collect()
}

fn append(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(bytes)
}

fn load_all(dir: &Path) -> Vec<(String, Cluster)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let parsed = std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<LoadedCluster>(&b).map_err(|e| e.to_string()));
        match parsed {
            Ok(saved) => {
                let mut cluster = saved.cluster;
                let journal = journal_path(&path, saved.journal);
                let mut replayed = 0;
                if let Ok(text) = std::fs::read_to_string(&journal) {
                    // A line cut off by a crash is the end of the journal.
                    for line in text.lines() {
                        match serde_json::from_str::<store::Change>(line) {
                            Ok(change) => {
                                cluster.replay(change);
                                replayed += 1;
                            }
                            Err(_) => break,
                        }
                    }
                }
                cluster.journal = (saved.journal, replayed);
                out.push((saved.id, cluster));
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "skipping an unreadable emulated Kubernetes cluster")
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
