//! Out-of-band changes to an emulated cloud: list every object, change one field of one object,
//! delete one object — what an operator clicking in a cloud console does behind Strata's back,
//! and thus the raw material of drift tests.
//!
//! The functions here work on a persisted cloud without any server running (`strata emulator
//! list|set|delete --data DIR`); a running server offers the same operations over HTTP under
//! `/_emulator/` (see [`http`]). Both go through the same code, so they behave alike, and neither
//! is ever subject to fault injection.
//!
//! Objects are named by id or by name. Names that are not unique can be qualified:
//! `CLUSTER/POOL` for a node pool, `NAMESPACE/NAME`, `KIND/NAME` or `KIND/NAMESPACE/NAME` for a
//! Kubernetes object.

pub(crate) mod http;
mod kube;
pub(crate) mod objects;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::kubernetes::KubeApis;
use crate::services::Services;
use crate::store::Store;
use crate::EmulatorError;

/// One emulated object, as `strata emulator list` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Object {
    /// `digitalocean` or `kubernetes`.
    pub cloud: String,
    /// `vpc`, `kubernetes_cluster`, `node_pool`, `database`, or a Kubernetes kind (`Deployment`).
    pub kind: String,
    pub id: String,
    pub name: String,
    /// The fields worth showing at a glance (region, size, count, tags, replicas…).
    pub fields: BTreeMap<String, serde_json::Value>,
}

/// Every object of the cloud persisted in `data_dir`, Kubernetes objects included.
pub fn list(data_dir: &Path) -> Result<Vec<Object>, EmulatorError> {
    let services = open(data_dir)?;
    objects::list(&services)
}

/// Sets one field of one object: `field` is a dotted path (`count`, `tags`,
/// `maintenance_policy.day`, `spec.replicas`) and `value` its new JSON value. Setting `status`
/// of a cluster or database pins it in that state (`degraded`, `error`…) until it is set back
/// to `running` / `online`.
pub fn set(
    data_dir: &Path,
    id_or_name: &str,
    field: &str,
    value: serde_json::Value,
) -> Result<(), EmulatorError> {
    let services = open(data_dir)?;
    objects::set(&services, id_or_name, field, value)
}

/// Deletes one object (a cluster with everything in it, a node pool, a VPC even if it still has
/// members, a database, a Kubernetes object).
pub fn delete(data_dir: &Path, id_or_name: &str) -> Result<(), EmulatorError> {
    let services = open(data_dir)?;
    objects::delete(&services, id_or_name)
}

fn open(data_dir: &Path) -> Result<Services, EmulatorError> {
    // A mistyped folder must not pass for an empty cloud (nor be created as one).
    if !data_dir.is_dir() {
        return Err(EmulatorError::io(
            data_dir,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no emulated cloud here (the folder does not exist)",
            ),
        ));
    }
    let store = Store::open(Some(data_dir))?;
    let kube = KubeApis::new(Some(data_dir.to_path_buf()));
    // Nodes added out of band are running at once: there is no provisioning to watch.
    Ok(Services::new(store, kube, String::new(), Duration::ZERO))
}
