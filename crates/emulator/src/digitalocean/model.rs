//! The emulated DigitalOcean account as it is persisted, and its rendering into the API's JSON.
//!
//! Records store what the user chose (user tags only, for instance) plus the timestamps from which
//! derived fields are computed when they are read: `status` is never stored as a settled value but
//! computed from a [`Transition`]'s deadline, so a cluster created by one process is `running` when
//! another process reads it later.

use std::collections::BTreeMap;

use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use crate::clock;

/// Every DigitalOcean object the emulator keeps.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Account {
    #[serde(default)]
    pub vpcs: Vec<Vpc>,
    #[serde(default)]
    pub kubernetes_clusters: Vec<Cluster>,
    #[serde(default)]
    pub databases: Vec<Database>,
    /// Droplet ids of worker nodes are numbers that only grow, as on the real cloud.
    #[serde(default)]
    pub last_droplet_id: u64,
}

/// A state an object stays in until a deadline, after which it has settled (provisioning,
/// upgrading, resizing…).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Transition {
    pub state: String,
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
}

impl Transition {
    /// The state an object with this (optional) transition shows at `now`.
    pub fn state_at(transition: &Option<Transition>, now: OffsetDateTime, settled: &str) -> String {
        match transition {
            Some(t) if now < t.until => t.state.clone(),
            _ => settled.to_string(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// VPCs

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Vpc {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub region: String,
    pub ip_range: String,
    #[serde(default)]
    pub default: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl Vpc {
    pub fn to_api(&self) -> Value {
        json!({
            "id": self.id,
            "urn": format!("do:vpc:{}", self.id),
            "name": self.name,
            "description": self.description,
            "region": self.region,
            "ip_range": self.ip_range,
            "default": self.default,
            "created_at": clock::display(self.created_at),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Kubernetes clusters

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MaintenancePolicy {
    pub start_time: String,
    pub day: String,
}

impl Default for MaintenancePolicy {
    fn default() -> Self {
        MaintenancePolicy {
            start_time: "00:00".into(),
            day: "any".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Cluster {
    pub id: String,
    pub name: String,
    pub region: String,
    pub version: String,
    pub cluster_subnet: String,
    pub service_subnet: String,
    pub vpc_uuid: String,
    pub ipv4: String,
    /// Tags the user chose; the automatic `k8s` and `k8s:ID` tags are added when rendering.
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub node_pools: Vec<NodePool>,
    #[serde(default)]
    pub maintenance_policy: MaintenancePolicy,
    #[serde(default)]
    pub auto_upgrade: bool,
    #[serde(default)]
    pub surge_upgrade: bool,
    #[serde(default)]
    pub ha: bool,
    #[serde(default)]
    pub isolated_workers: bool,
    /// Optional feature blocks (`control_plane_firewall`, `routing_agent`, …) kept as given and
    /// echoed back, so a client that sets them reads back what it wrote.
    #[serde(default)]
    pub options: BTreeMap<String, Value>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(default)]
    pub transition: Option<Transition>,
    /// Bearer token of the cluster's emulated Kubernetes API; unique per cluster.
    pub kube_token: String,
}

/// Feature blocks of a cluster that the emulator stores and echoes without interpreting.
pub(crate) const CLUSTER_OPTION_FIELDS: &[&str] = &[
    "worker_subnet_uuid",
    "control_plane_firewall",
    "cluster_autoscaler_configuration",
    "sso",
    "routing_agent",
    "p2p_oci_registry_plugin",
    "amd_gpu_device_plugin",
    "amd_gpu_device_metrics_exporter_plugin",
    "nvidia_gpu_device_plugin",
    "rdma_shared_dev_plugin",
    "coredns_autoscaler",
];

impl Cluster {
    pub fn status(&self, now: OffsetDateTime) -> String {
        Transition::state_at(&self.transition, now, "running")
    }

    /// The URL of the cluster's emulated Kubernetes API on the server answering.
    pub fn endpoint(&self, base_url: &str) -> String {
        format!("{base_url}/k8s/{}", self.id)
    }

    /// The context name DigitalOcean gives a cluster in kubeconfig files.
    pub fn context_name(&self) -> String {
        format!("do-{}-{}", self.region, self.name)
    }

    pub fn to_api(&self, now: OffsetDateTime, base_url: &str) -> Value {
        let status = self.status(now);
        let mut tags = self.tags.clone();
        tags.push("k8s".into());
        tags.push(format!("k8s:{}", self.id));
        let mut out = json!({
            "id": self.id,
            "name": self.name,
            "region": self.region,
            "version": self.version,
            "cluster_subnet": self.cluster_subnet,
            "service_subnet": self.service_subnet,
            "vpc_uuid": self.vpc_uuid,
            "ipv4": self.ipv4,
            "endpoint": self.endpoint(base_url),
            "tags": tags,
            "node_pools": self.node_pools.iter().map(|p| p.to_api(&self.id, now)).collect::<Vec<_>>(),
            "maintenance_policy": {
                "start_time": self.maintenance_policy.start_time,
                "duration": "4h0m0s",
                "day": self.maintenance_policy.day,
            },
            "auto_upgrade": self.auto_upgrade,
            "surge_upgrade": self.surge_upgrade,
            "ha": self.ha,
            "isolated_workers": self.isolated_workers,
            "registry_enabled": false,
            "status": { "state": status, "message": status },
            "created_at": clock::display(self.created_at),
            "updated_at": clock::display(self.updated_at),
        });
        if let Value::Object(map) = &mut out {
            for (key, value) in &self.options {
                map.insert(key.clone(), value.clone());
            }
        }
        out
    }

    pub fn pool_mut(&mut self, id: &str) -> Option<&mut NodePool> {
        self.node_pools.iter_mut().find(|p| p.id == id)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct NodePool {
    pub id: String,
    pub name: String,
    pub size: String,
    pub count: u32,
    /// Tags the user chose; `k8s`, `k8s:CLUSTER_ID` and `k8s:worker` are added when rendering.
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub labels: Option<Map<String, Value>>,
    #[serde(default)]
    pub taints: Vec<Value>,
    #[serde(default)]
    pub auto_scale: bool,
    #[serde(default)]
    pub min_nodes: u32,
    #[serde(default)]
    pub max_nodes: u32,
    #[serde(default)]
    pub nodes: Vec<Node>,
}

/// Tags the cloud adds to every cluster or node pool by itself. A client that sends them back
/// must not end up with them stored twice.
pub(crate) fn is_automatic_tag(tag: &str) -> bool {
    tag == "k8s" || tag == "k8s-worker" || tag.starts_with("k8s:")
}

impl NodePool {
    pub fn to_api(&self, cluster_id: &str, now: OffsetDateTime) -> Value {
        let mut tags = self.tags.clone();
        tags.push("k8s".into());
        tags.push(format!("k8s:{cluster_id}"));
        tags.push("k8s:worker".into());
        let (min, max) = if self.auto_scale {
            (self.min_nodes, self.max_nodes)
        } else {
            (0, 0)
        };
        json!({
            "id": self.id,
            "name": self.name,
            "size": self.size,
            "count": self.count,
            "tags": tags,
            "labels": self.labels,
            "taints": self.taints,
            "auto_scale": self.auto_scale,
            "min_nodes": min,
            "max_nodes": max,
            "nodes": self.nodes.iter().map(|n| n.to_api(now)).collect::<Vec<_>>(),
        })
    }

    /// Adds or removes worker nodes until there are `count` of them. New nodes become running at
    /// `ready_at`; the newest nodes go first when scaling down, as the autoscaler does.
    pub fn reconcile_nodes(
        &mut self,
        now: OffsetDateTime,
        ready_at: OffsetDateTime,
        last_droplet_id: &mut u64,
    ) {
        let wanted = self.count as usize;
        self.nodes.truncate(wanted);
        while self.nodes.len() < wanted {
            *last_droplet_id += 1;
            self.nodes.push(Node {
                id: uuid::Uuid::new_v4().to_string(),
                name: format!("{}-{}", self.name, random_suffix(4)),
                droplet_id: (400_000_000 + *last_droplet_id).to_string(),
                created_at: now,
                ready_at,
            });
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Node {
    pub id: String,
    pub name: String,
    pub droplet_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ready_at: OffsetDateTime,
}

impl Node {
    fn to_api(&self, now: OffsetDateTime) -> Value {
        let state = if now < self.ready_at {
            "provisioning"
        } else {
            "running"
        };
        json!({
            "id": self.id,
            "name": self.name,
            "status": { "state": state },
            "droplet_id": self.droplet_id,
            "created_at": clock::display(self.created_at),
            "updated_at": clock::display(self.created_at.max(self.ready_at.min(now))),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Databases

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MaintenanceWindow {
    pub day: String,
    pub hour: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Database {
    pub id: String,
    pub name: String,
    pub engine: String,
    pub version: String,
    pub num_nodes: u32,
    pub size: String,
    pub region: String,
    pub private_network_uuid: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub db_names: Vec<String>,
    #[serde(default)]
    pub storage_size_mib: Option<u64>,
    #[serde(default)]
    pub project_id: String,
    /// Password of the `doadmin` user, generated at creation.
    pub password: String,
    pub maintenance_window: MaintenanceWindow,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default)]
    pub transition: Option<Transition>,
}

impl Database {
    pub fn status(&self, now: OffsetDateTime) -> String {
        Transition::state_at(&self.transition, now, "online")
    }

    fn engine_defaults(&self) -> (&'static str, u16, &'static str, &'static str) {
        // (URI scheme, port, default database, admin user)
        match self.engine.as_str() {
            "mysql" | "advanced_mysql" => ("mysql", 25060, "defaultdb", "doadmin"),
            "redis" | "valkey" => ("rediss", 25061, "", "default"),
            "mongodb" => ("mongodb+srv", 27017, "admin", "doadmin"),
            "kafka" => ("", 25073, "", "doadmin"),
            "opensearch" => ("https", 25060, "", "doadmin"),
            _ => ("postgresql", 25060, "defaultdb", "doadmin"),
        }
    }

    fn host(&self, prefix: &str) -> String {
        format!(
            "{prefix}{}-do-user-{}-0.db.ondigitalocean.com",
            self.name,
            self.id.chars().take(8).collect::<String>()
        )
    }

    fn connection(&self, prefix: &str) -> Value {
        let (scheme, port, database, user) = self.engine_defaults();
        let host = self.host(prefix);
        let uri = if scheme.is_empty() {
            String::new()
        } else if database.is_empty() {
            format!("{scheme}://{user}:{}@{host}:{port}", self.password)
        } else {
            format!(
                "{scheme}://{user}:{}@{host}:{port}/{database}?sslmode=require",
                self.password
            )
        };
        json!({
            "uri": uri,
            "database": database,
            "host": host,
            "port": port,
            "user": user,
            "password": self.password,
            "ssl": true,
        })
    }

    pub fn semantic_version(&self) -> String {
        if self.version.contains('.') {
            self.version.clone()
        } else {
            format!("{}.0", self.version)
        }
    }

    pub fn to_api(&self, now: OffsetDateTime) -> Value {
        let (_, _, _, user) = self.engine_defaults();
        let mut out = json!({
            "id": self.id,
            "name": self.name,
            "engine": self.engine,
            "version": self.version,
            "semantic_version": self.semantic_version(),
            "num_nodes": self.num_nodes,
            "size": self.size,
            "region": self.region,
            "status": self.status(now),
            "created_at": clock::display(self.created_at),
            "private_network_uuid": self.private_network_uuid,
            "tags": self.tags,
            "db_names": self.db_names,
            "connection": self.connection(""),
            "private_connection": self.connection("private-"),
            "users": [{ "name": user, "role": "primary", "password": self.password }],
            "maintenance_window": {
                "day": self.maintenance_window.day,
                "hour": self.maintenance_window.hour,
                "pending": false,
                "description": [],
            },
            "project_id": self.project_id,
            "rules": [],
            "storage_size_mib": self.storage_size_mib,
        });
        if self.num_nodes > 1 {
            if let Value::Object(map) = &mut out {
                map.insert("standby_connection".into(), self.connection("replica-"));
                map.insert(
                    "standby_private_connection".into(),
                    self.connection("private-replica-"),
                );
            }
        }
        out
    }
}

/// Lower-case letters and digits, as the cloud uses in generated names and passwords.
pub(crate) fn random_suffix(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}
