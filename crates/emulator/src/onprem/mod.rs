//! The emulated onprem cloud: a fleet of Linux hosts reachable over real SSH, on which k3s can
//! be installed (see [`crate::clouds`] for what this module provides to the rest of the
//! emulator).
//!
//! - Hosts are named `node-1` … `node-N` (N from `STRATA_EMULATOR_ONPREM_HOSTS`, default 8) and
//!   created on first start. Each has its own persistent ed25519 host key and its own loopback
//!   port, remembered and reused like the HTTP port.
//! - On start the emulator writes, into `DATA_DIR/onprem/`: `ssh_config` (one `Host` entry per
//!   host with its `HostName`, `Port` and the `IdentityFile` the hosts accept), `known_hosts`
//!   (every host key, as OpenSSH records them; entries already there are kept, so a host
//!   whose key was rotated is refused) and `id_ed25519` (the client key).
//! - Every command executed on a host is appended to `DATA_DIR/onprem/commands.jsonl`, one JSON
//!   line each: `{"host","user","command","exit_status","stdin_bytes"}`. Standard input is
//!   counted, never recorded, since it carries the cluster token.
//! - Commands are interpreted by [`shell`], which knows exactly the commands the onprem
//!   provider runs; a cluster initialised on a server gets an emulated Kubernetes API at
//!   `/k8s/{cluster_id}`, to which the kubeconfig the server reports points.
//! - Faults, set with `strata emulator set node-2 FIELD VALUE`: `reachable false` (connections
//!   are refused, or dropped when the host turns unreachable while the emulator runs),
//!   `fail_command "<substring>"` (a command containing it exits 1 with an error),
//!   `service_active false` (k3s is stopped), `host_key rotate` (a new host key). A slow
//!   install takes `STRATA_EMULATOR_ONPREM_INSTALL_MS` milliseconds.

mod shell;
mod ssh;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::admin::Object;
use crate::clouds::{AdminContext, AdminEntry, KubeCluster};
use crate::faults::FaultInjector;
use crate::services::Shared;

pub(crate) use ssh::SshHosts;

/// This cloud's part of `cloud.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Account {
    /// The fleet, by host name.
    #[serde(default)]
    pub hosts: BTreeMap<String, Host>,
    /// k3s clusters, by id.
    #[serde(default)]
    pub clusters: BTreeMap<String, Cluster>,
    /// The client key every host accepts (OpenSSH private key format).
    #[serde(default)]
    pub client_key: String,
}

/// One emulated Linux host.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Host {
    /// The loopback port its SSH server listens on (0 before the first start).
    pub port: u16,
    /// Its ed25519 host key (OpenSSH private key format).
    pub host_key: String,
    /// False: connections are refused (or dropped).
    #[serde(default = "yes")]
    pub reachable: bool,
    /// A command containing this text exits 1 with an error.
    #[serde(default)]
    pub fail_command: Option<String>,
    /// k3s as installed on it, if it is.
    #[serde(default)]
    pub k3s: Option<K3s>,
    /// Files written on it (path → what was written), beyond those k3s manages.
    #[serde(default)]
    pub files: BTreeMap<String, FileInfo>,
}

fn yes() -> bool {
    true
}

/// k3s installed on a host.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct K3s {
    /// `server` or `agent`.
    pub role: String,
    pub version: String,
    /// The cluster it belongs to.
    pub cluster: String,
    /// Whether the `k3s` / `k3s-agent` service runs.
    #[serde(default = "yes")]
    pub service_active: bool,
}

/// A file written on a host: its size and digest, not its bytes (binaries can be large).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct FileInfo {
    pub size: usize,
    pub sha256: String,
    /// Executable bit.
    #[serde(default)]
    pub executable: bool,
    /// The text of a small text file (a token, a script), for `cat`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// A k3s cluster formed by the hosts that joined it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Cluster {
    /// The join token its servers were initialised with.
    pub token: String,
    /// The bearer token of its emulated Kubernetes API.
    pub kube_token: String,
    /// The host that initialised it.
    pub init_host: String,
}

impl Account {
    /// The hosts of a cluster with their k3s, in name order.
    pub fn members<'a>(&'a self, cluster: &'a str) -> impl Iterator<Item = (&'a str, &'a K3s)> {
        self.hosts.iter().filter_map(move |(name, h)| {
            h.k3s
                .as_ref()
                .filter(|k| k.cluster == cluster)
                .map(|k| (name.as_str(), k))
        })
    }
}

/// The routes, nested under `/onprem`: none, the hosts speak SSH.
pub(crate) fn router(services: Shared, faults: Arc<FaultInjector>) -> Router {
    let _ = (services, faults);
    Router::new()
}

pub(crate) fn kubernetes_clusters(account: &Account) -> Vec<KubeCluster> {
    account
        .clusters
        .iter()
        .map(|(id, c)| KubeCluster {
            id: id.clone(),
            token: c.kube_token.clone(),
        })
        .collect()
}

pub(crate) fn kube_token_accepted(registered: &str, given: &str) -> bool {
    // Clusters register their bearer token as it is, so only an exact match gets here.
    registered == given
}

pub(crate) fn admin_entries(account: &Account, now: OffsetDateTime) -> Vec<AdminEntry> {
    let _ = now;
    let mut out = Vec::new();
    for (name, host) in &account.hosts {
        let mut fields = BTreeMap::new();
        // The port is left out: it may change from one start to the next (when another
        // program took it), and `ssh_config` always names the current one.
        fields.insert("reachable".to_string(), json!(host.reachable));
        fields.insert("fail_command".to_string(), json!(host.fail_command));
        fields.insert(
            "host_key_fingerprint".to_string(),
            json!(ssh::fingerprint_of(&host.host_key).unwrap_or_default()),
        );
        if let Some(k) = &host.k3s {
            fields.insert("k3s_role".to_string(), json!(k.role));
            fields.insert("k3s_version".to_string(), json!(k.version));
            fields.insert("cluster".to_string(), json!(k.cluster));
            fields.insert("service_active".to_string(), json!(k.service_active));
        }
        out.push(AdminEntry {
            object: Object {
                cloud: "onprem".into(),
                kind: "host".into(),
                id: name.clone(),
                name: name.clone(),
                fields,
            },
            aliases: Vec::new(),
        });
    }
    for (id, cluster) in &account.clusters {
        let mut fields = BTreeMap::new();
        let members: Vec<Value> = account
            .members(id)
            .map(|(n, k)| json!({ "host": n, "role": k.role, "version": k.version }))
            .collect();
        fields.insert("members".to_string(), Value::Array(members));
        fields.insert("init_host".to_string(), json!(cluster.init_host));
        out.push(AdminEntry {
            object: Object {
                cloud: "onprem".into(),
                kind: "k3s_cluster".into(),
                id: id.clone(),
                name: id.clone(),
                fields,
            },
            aliases: Vec::new(),
        });
    }
    out
}

pub(crate) fn admin_set(
    account: &mut Account,
    id: &str,
    field: &str,
    value: Value,
    ctx: &AdminContext,
) -> Result<(), String> {
    let _ = ctx;
    let Some(host) = account.hosts.get_mut(id) else {
        return Err("no such object".into());
    };
    match field {
        "reachable" => {
            host.reachable = value.as_bool().ok_or("reachable must be true or false")?;
        }
        "fail_command" => {
            host.fail_command = match value {
                Value::Null => None,
                Value::String(s) if s.is_empty() => None,
                Value::String(s) => Some(s),
                _ => return Err("fail_command must be a string (or null to clear it)".into()),
            };
        }
        "service_active" => {
            let active = value
                .as_bool()
                .ok_or("service_active must be true or false")?;
            let k3s = host
                .k3s
                .as_mut()
                .ok_or("k3s is not installed on this host")?;
            k3s.service_active = active;
        }
        "host_key" => {
            if value.as_str() != Some("rotate") {
                return Err("host_key can only be set to \"rotate\" (a new random key)".into());
            }
            host.host_key = ssh::new_key_text()?;
        }
        _ => return Err(
            "unknown field; settable fields are fail_command, host_key, reachable, service_active"
                .into(),
        ),
    }
    Ok(())
}

pub(crate) fn admin_delete(account: &mut Account, id: &str) -> bool {
    if account.clusters.remove(id).is_some() {
        for host in account.hosts.values_mut() {
            if host.k3s.as_ref().is_some_and(|k| k.cluster == id) {
                shell::wipe_k3s(host);
            }
        }
        return true;
    }
    match account.hosts.get_mut(id) {
        // A host of the fleet cannot disappear; deleting it wipes it clean instead.
        Some(host) => {
            shell::wipe_k3s(host);
            host.files.clear();
            account.forget_empty_clusters();
            true
        }
        None => false,
    }
}

impl Account {
    /// Drops the clusters no host belongs to any more.
    pub fn forget_empty_clusters(&mut self) {
        let alive: Vec<String> = self
            .clusters
            .keys()
            .filter(|id| self.members(id).next().is_some())
            .cloned()
            .collect();
        self.clusters.retain(|id, _| alive.contains(id));
    }
}
