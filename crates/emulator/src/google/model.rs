//! The emulated Google objects as `cloud.json` keeps them, and how they look at a moment in
//! time: states are computed from stored deadlines, never from timers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A state an object stays in until a deadline (PROVISIONING, RECONCILING, STOPPING...).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Phase {
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
}

/// The status an object with this (optional) phase shows at `now`.
pub(crate) fn status_at(phase: &Option<Phase>, now: OffsetDateTime, settled: &str) -> String {
    match phase {
        Some(p) if now < p.until => p.status.clone(),
        _ => settled.to_string(),
    }
}

/// True once a phase of the deleting `status` has run out: the object is gone.
pub(crate) fn gone(phase: &Option<Phase>, now: OffsetDateTime, deleting: &str) -> bool {
    matches!(phase, Some(p) if p.status == deleting && now >= p.until)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Taint {
    pub key: String,
    #[serde(default)]
    pub value: String,
    pub effect: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Autoscaling {
    pub min_node_count: i64,
    pub max_node_count: i64,
}

/// A GKE node pool.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NodePool {
    pub name: String,
    /// Nodes per zone; `setSize` changes it.
    pub initial_node_count: i64,
    pub machine_type: String,
    pub disk_size_gb: i64,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub taints: Vec<Taint>,
    pub version: String,
    #[serde(default)]
    pub autoscaling: Option<Autoscaling>,
    #[serde(default)]
    pub phase: Option<Phase>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A GKE cluster.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Cluster {
    /// GKE's own id of the cluster (hex), also the id of its emulated Kubernetes API.
    pub id: String,
    pub project: String,
    pub location: String,
    pub name: String,
    pub network: String,
    pub subnetwork: String,
    pub initial_cluster_version: String,
    pub master_version: String,
    pub release_channel: String,
    #[serde(default)]
    pub resource_labels: BTreeMap<String, String>,
    pub label_fingerprint: String,
    #[serde(default)]
    pub node_pools: Vec<NodePool>,
    #[serde(default)]
    pub phase: Option<Phase>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl Cluster {
    pub fn path(&self) -> String {
        format!(
            "projects/{}/locations/{}/clusters/{}",
            self.project, self.location, self.name
        )
    }

    /// The id its emulated Kubernetes API is registered under, unique across clouds.
    pub fn kube_id(&self) -> String {
        format!("gke-{}", self.id)
    }
}

/// A GKE long-running operation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Operation {
    pub name: String,
    pub project: String,
    pub location: String,
    pub operation_type: String,
    /// `projects/P/locations/L/clusters/C[/nodePools/N]`.
    pub target: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub done_at: OffsetDateTime,
}

impl Operation {
    pub fn running(&self, now: OffsetDateTime) -> bool {
        now < self.done_at
    }

    /// `PENDING` for the first tenth of its time (queued), then `RUNNING`, then `DONE`.
    pub fn status(&self, now: OffsetDateTime) -> &'static str {
        operation_status(self.started, self.done_at, now)
    }
}

pub(crate) fn operation_status(
    started: OffsetDateTime,
    done_at: OffsetDateTime,
    now: OffsetDateTime,
) -> &'static str {
    if now >= done_at {
        "DONE"
    } else if now < started + (done_at - started) / 10 {
        "PENDING"
    } else {
        "RUNNING"
    }
}

/// A Cloud SQL instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SqlInstance {
    pub project: String,
    pub name: String,
    pub region: String,
    pub database_version: String,
    /// The `settings` object as last written, with the fields the server fills in.
    pub settings: serde_json::Value,
    pub ip_address: String,
    #[serde(default)]
    pub phase: Option<Phase>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl SqlInstance {
    pub fn path(&self) -> String {
        format!("projects/{}/instances/{}", self.project, self.name)
    }
}

/// A Cloud SQL operation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SqlOperation {
    pub name: String,
    pub project: String,
    pub operation_type: String,
    pub target: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub done_at: OffsetDateTime,
}

/// This cloud's part of `cloud.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Account {
    #[serde(default)]
    pub clusters: Vec<Cluster>,
    #[serde(default)]
    pub operations: Vec<Operation>,
    #[serde(default)]
    pub sql_instances: Vec<SqlInstance>,
    #[serde(default)]
    pub sql_operations: Vec<SqlOperation>,
}

/// Operations are kept this long after they finish, as GKE keeps them for a while.
const OPERATION_RETENTION: time::Duration = time::Duration::hours(1);

impl Account {
    /// Drops what finished deleting, and old operations.
    pub fn settle(&mut self, now: OffsetDateTime) {
        self.clusters.retain(|c| !gone(&c.phase, now, "STOPPING"));
        for c in &mut self.clusters {
            c.node_pools.retain(|p| !gone(&p.phase, now, "STOPPING"));
        }
        self.sql_instances
            .retain(|i| !gone(&i.phase, now, "PENDING_DELETE"));
        self.operations
            .retain(|o| now < o.done_at + OPERATION_RETENTION);
        self.sql_operations
            .retain(|o| now < o.done_at + OPERATION_RETENTION);
    }

    pub fn cluster(&self, path: &str, now: OffsetDateTime) -> Option<&Cluster> {
        self.clusters
            .iter()
            .find(|c| c.path() == path && !gone(&c.phase, now, "STOPPING"))
    }

    pub fn cluster_mut(&mut self, path: &str) -> Option<&mut Cluster> {
        self.clusters.iter_mut().find(|c| c.path() == path)
    }

    /// The operation still running on a cluster, if any: GKE runs one at a time.
    pub fn busy(&self, cluster_path: &str, now: OffsetDateTime) -> Option<&Operation> {
        self.operations.iter().find(|o| {
            o.running(now)
                && (o.target == cluster_path || o.target.starts_with(&format!("{cluster_path}/")))
        })
    }
}
