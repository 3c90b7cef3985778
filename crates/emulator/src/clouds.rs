//! What every emulated cloud added after DigitalOcean provides to the shared parts of the
//! emulator: its slice of the persisted cloud, its routes, the Kubernetes API servers its
//! clusters need, and its objects for the admin API.
//!
//! Each cloud module (`aws`, `azure`, `google`, `onprem`) defines, with these exact names:
//!
//! - `Account`: its part of `cloud.json` (`Default + Serialize + Deserialize + Clone`);
//! - `router(services, faults) -> Router`, nested under `/{cloud}` by the server;
//! - `kubernetes_clusters(&Account) -> Vec<KubeCluster>`: the clusters whose emulated Kubernetes
//!   API must be served at `/k8s/{id}`;
//! - `kube_token_accepted(registered, given) -> bool`: for clusters registered with a token of
//!   the form `{cloud}:{rest}`, whether a bearer token is valid (cloud-derived tokens such as an
//!   EKS `k8s-aws-v1.` token);
//! - `admin_entries(&Account, now) -> Vec<AdminEntry>`, `admin_set(...)`, `admin_delete(...)`.

use serde_json::Value;
use time::OffsetDateTime;

use crate::admin::Object;
use crate::store::Cloud;

/// An emulated cluster whose Kubernetes API is served at `/k8s/{id}`.
pub(crate) struct KubeCluster {
    /// Unique across every cloud (a UUID, or an id prefixed by the cloud).
    pub id: String,
    /// The bearer token its API accepts, or `{cloud}:{rest}` to let the cloud module decide
    /// through its `kube_token_accepted`.
    pub token: String,
}

/// One object for `strata emulator list|set|delete`.
pub(crate) struct AdminEntry {
    pub object: Object,
    /// Other names the object answers to (`CLUSTER/POOL`…).
    pub aliases: Vec<String>,
}

/// What an out-of-band change may need to know.
pub(crate) struct AdminContext {
    pub now: OffsetDateTime,
    /// When an object changed now would be ready again.
    pub ready_at: OffsetDateTime,
}

/// Every cluster of every newer cloud whose Kubernetes API must be served.
pub(crate) fn kubernetes_clusters(cloud: &Cloud) -> Vec<KubeCluster> {
    let mut out = crate::aws::kubernetes_clusters(&cloud.aws);
    out.extend(crate::azure::kubernetes_clusters(&cloud.azure));
    out.extend(crate::google::kubernetes_clusters(&cloud.google));
    out.extend(crate::onprem::kubernetes_clusters(&cloud.onprem));
    out
}

/// Whether `given` is a valid bearer token for a cluster registered with `registered`.
pub(crate) fn kube_token_accepted(registered: &str, given: Option<&str>) -> bool {
    let Some(given) = given else { return false };
    if registered == given {
        return true;
    }
    let Some((cloud, rest)) = registered.split_once(':') else {
        return false;
    };
    match cloud {
        "aws" => crate::aws::kube_token_accepted(rest, given),
        "azure" => crate::azure::kube_token_accepted(rest, given),
        "google" => crate::google::kube_token_accepted(rest, given),
        "onprem" => crate::onprem::kube_token_accepted(rest, given),
        _ => false,
    }
}

/// Admin entries of every newer cloud, each with the cloud it came from.
pub(crate) fn admin_entries(cloud: &Cloud, now: OffsetDateTime) -> Vec<(&'static str, AdminEntry)> {
    let mut out = Vec::new();
    let tag = |c: &'static str, v: Vec<AdminEntry>| v.into_iter().map(move |e| (c, e));
    out.extend(tag("aws", crate::aws::admin_entries(&cloud.aws, now)));
    out.extend(tag("azure", crate::azure::admin_entries(&cloud.azure, now)));
    out.extend(tag(
        "google",
        crate::google::admin_entries(&cloud.google, now),
    ));
    out.extend(tag(
        "onprem",
        crate::onprem::admin_entries(&cloud.onprem, now),
    ));
    out
}

/// Sets `field` of the object `id` of `cloud`; `Err` explains why the value was refused.
pub(crate) fn admin_set(
    cloud: &mut Cloud,
    which: &str,
    id: &str,
    field: &str,
    value: Value,
    ctx: &AdminContext,
) -> Result<(), String> {
    match which {
        "aws" => crate::aws::admin_set(&mut cloud.aws, id, field, value, ctx),
        "azure" => crate::azure::admin_set(&mut cloud.azure, id, field, value, ctx),
        "google" => crate::google::admin_set(&mut cloud.google, id, field, value, ctx),
        "onprem" => crate::onprem::admin_set(&mut cloud.onprem, id, field, value, ctx),
        other => Err(format!("no emulated cloud named {other}")),
    }
}

/// Deletes the object `id` of `cloud`; false when there was none.
pub(crate) fn admin_delete(cloud: &mut Cloud, which: &str, id: &str) -> bool {
    match which {
        "aws" => crate::aws::admin_delete(&mut cloud.aws, id),
        "azure" => crate::azure::admin_delete(&mut cloud.azure, id),
        "google" => crate::google::admin_delete(&mut cloud.google, id),
        "onprem" => crate::onprem::admin_delete(&mut cloud.onprem, id),
        _ => false,
    }
}
