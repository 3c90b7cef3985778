//! The state every emulated API shares: the persisted cloud, the emulated Kubernetes API servers,
//! and what the server announces about itself.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::kubernetes::KubeApis;
use crate::store::{Cloud, Store};
use crate::EmulatorError;

/// Shared by every handler; cheap to clone.
pub(crate) type Shared = Arc<Services>;

pub(crate) struct Services {
    pub store: Store,
    pub kube: KubeApis,
    /// `http://127.0.0.1:PORT`, from which cluster endpoints are derived. Empty when no server
    /// runs (admin operations on a data folder).
    pub base_url: String,
    pub provision_time: Duration,
    /// Clusters currently registered with [`KubeApis`] (id → token), and the store generation
    /// they were computed from.
    registered: Mutex<(u64, BTreeMap<String, String>)>,
}

impl Services {
    pub fn new(store: Store, kube: KubeApis, base_url: String, provision_time: Duration) -> Self {
        let services = Services {
            store,
            kube,
            base_url,
            provision_time,
            registered: Mutex::new((0, BTreeMap::new())),
        };
        services.sync_kubernetes();
        services
    }

    /// Reads the cloud; see [`Store::read`].
    pub fn read<R>(&self, f: impl FnOnce(&Cloud) -> R) -> Result<R, EmulatorError> {
        let result = self.store.read(f)?;
        self.sync_kubernetes();
        Ok(result)
    }

    /// Changes the cloud; see [`Store::update`].
    pub fn update<R, E>(&self, f: impl FnOnce(&mut Cloud) -> Result<R, E>) -> Result<R, E>
    where
        E: From<EmulatorError>,
    {
        let result = self.store.update(f)?;
        self.sync_kubernetes();
        Ok(result)
    }

    /// Makes the set of clusters with an emulated Kubernetes API match the clusters of the
    /// cloud, whichever process created or deleted them.
    pub fn sync_kubernetes(&self) {
        let mut registered = self
            .registered
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let generation = self.store.generation();
        if registered.0 == generation {
            return;
        }
        let Ok(clusters) = self.store.read(|cloud| {
            let mut clusters: BTreeMap<String, String> = cloud
                .digitalocean
                .kubernetes_clusters
                .iter()
                .map(|c| (c.id.clone(), c.kube_token.clone()))
                .collect();
            for c in crate::clouds::kubernetes_clusters(cloud) {
                clusters.insert(c.id, c.token);
            }
            clusters
        }) else {
            // The cloud could not be read; the next successful access retries.
            return;
        };
        for (id, token) in &clusters {
            if registered.1.get(id) != Some(token) {
                self.kube.register_cluster(id, token);
            }
        }
        let stale: std::collections::BTreeSet<String> = if registered.0 == 0 {
            // First synchronisation: the Kubernetes API servers may have loaded clusters whose
            // cloud cluster was deleted while no server ran.
            self.kube
                .inventory()
                .iter()
                .filter_map(|o| o.get("cluster")?.as_str().map(str::to_string))
                .collect()
        } else {
            registered.1.keys().cloned().collect()
        };
        for id in stale {
            if !clusters.contains_key(&id) {
                self.kube.remove_cluster(&id);
            }
        }
        *registered = (self.store.generation(), clusters);
    }
}
