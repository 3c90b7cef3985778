//! The emulated Google Cloud (see [`crate::clouds`] for what this module provides), under
//! `/google`:
//!
//! - `/google/token`: an OAuth 2.0 token endpoint for the refresh-token grant, named as
//!   `token_uri` by the `authorized_user` credential that `--emulate` writes, so the real Google
//!   auth library obtains access tokens from it;
//! - `/google/container/v1/...`: GKE (see [`gke`]);
//! - `/google/sql/v1/...`: Cloud SQL Admin (see [`sql`]).
//!
//! Both APIs want a bearer token the token endpoint issued, answer errors in Google's shape,
//! and take injected faults (429 `RESOURCE_EXHAUSTED`, 503 `UNAVAILABLE`, 500 `INTERNAL`); the
//! token endpoint takes none, as it is a separate service whose failures the auth library
//! handles on its own. Every GKE cluster serves an emulated Kubernetes API that accepts the
//! same access tokens.

mod api;
mod gke;
mod model;
mod sql;

use std::sync::Arc;

use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::admin::objects::set_field;
use crate::admin::Object;
use crate::clouds::{AdminContext, AdminEntry, KubeCluster};
use crate::faults::FaultInjector;
use crate::services::Shared;
pub(crate) use model::Account;
use model::{gone, status_at, Phase};

/// The routes, nested under `/google`.
pub(crate) fn router(services: Shared, faults: Arc<FaultInjector>) -> Router {
    let guarded = |r: Router| {
        r.layer(from_fn_with_state(faults.clone(), api::inject_fault))
            .layer(from_fn(api::authenticate))
    };
    Router::new()
        .route("/token", post(api::token))
        .nest("/container", guarded(gke::router(services.clone())))
        .nest("/sql", guarded(sql::router(services)))
}

/// The token every GKE cluster's Kubernetes API is registered with: `google:gke` lets
/// [`kube_token_accepted`] decide.
const KUBE_TOKEN: &str = "google:gke";

pub(crate) fn kubernetes_clusters(account: &Account) -> Vec<KubeCluster> {
    let now = crate::clock::now();
    account
        .clusters
        .iter()
        .filter(|c| !gone(&c.phase, now, "STOPPING"))
        .map(|c| KubeCluster {
            id: c.kube_id(),
            token: KUBE_TOKEN.into(),
        })
        .collect()
}

/// A GKE cluster's API accepts the access tokens of the emulated OAuth endpoint, as GKE
/// accepts a Google access token of an account with a Kubernetes role.
pub(crate) fn kube_token_accepted(registered: &str, given: &str) -> bool {
    registered == "gke" && api::is_issued_token(given)
}

fn object(kind: &str, id: String, name: &str, fields: Vec<(&str, Value)>) -> Object {
    Object {
        cloud: "google".into(),
        kind: kind.into(),
        id,
        name: name.into(),
        fields: fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    }
}

pub(crate) fn admin_entries(account: &Account, now: OffsetDateTime) -> Vec<AdminEntry> {
    let mut out = Vec::new();
    for c in account
        .clusters
        .iter()
        .filter(|c| !gone(&c.phase, now, "STOPPING"))
    {
        out.push(AdminEntry {
            object: object(
                "gke_cluster",
                c.path(),
                &c.name,
                vec![
                    ("project", json!(c.project)),
                    ("location", json!(c.location)),
                    ("status", json!(status_at(&c.phase, now, "RUNNING"))),
                    ("masterVersion", json!(c.master_version)),
                    ("releaseChannel", json!(c.release_channel)),
                    ("resourceLabels", json!(c.resource_labels)),
                ],
            ),
            aliases: Vec::new(),
        });
        for p in c
            .node_pools
            .iter()
            .filter(|p| !gone(&p.phase, now, "STOPPING"))
        {
            out.push(AdminEntry {
                object: object(
                    "gke_node_pool",
                    format!("{}/nodePools/{}", c.path(), p.name),
                    &p.name,
                    vec![
                        ("cluster", json!(c.name)),
                        ("status", json!(status_at(&p.phase, now, "RUNNING"))),
                        ("initialNodeCount", json!(p.initial_node_count)),
                        ("autoscaling", json!(p.autoscaling)),
                        ("machineType", json!(p.machine_type)),
                        ("version", json!(p.version)),
                        ("labels", json!(p.labels)),
                    ],
                ),
                aliases: vec![format!("{}/{}", c.name, p.name)],
            });
        }
    }
    for i in account
        .sql_instances
        .iter()
        .filter(|i| !gone(&i.phase, now, "PENDING_DELETE"))
    {
        out.push(AdminEntry {
            object: object(
                "sql_instance",
                i.path(),
                &i.name,
                vec![
                    ("project", json!(i.project)),
                    ("region", json!(i.region)),
                    ("databaseVersion", json!(i.database_version)),
                    ("state", json!(status_at(&i.phase, now, "RUNNABLE"))),
                    (
                        "tier",
                        i.settings.get("tier").cloned().unwrap_or(Value::Null),
                    ),
                    (
                        "dataDiskSizeGb",
                        i.settings
                            .get("dataDiskSizeGb")
                            .cloned()
                            .unwrap_or(Value::Null),
                    ),
                    (
                        "availabilityType",
                        i.settings
                            .get("availabilityType")
                            .cloned()
                            .unwrap_or(Value::Null),
                    ),
                ],
            ),
            aliases: Vec::new(),
        });
    }
    out
}

/// Fields the emulator manages itself.
const PROTECTED: &[&str] = &[
    "id",
    "name",
    "project",
    "location",
    "phase",
    "createdAt",
    "nodePools",
];

pub(crate) fn admin_set(
    account: &mut Account,
    id: &str,
    field: &str,
    value: Value,
    ctx: &AdminContext,
) -> Result<(), String> {
    // The names `strata emulator list` shows for a pool's size.
    let field = match field {
        "node_count" | "nodeCount" | "size" => "initialNodeCount",
        other => other,
    };
    if let Some(i) = account.sql_instances.iter_mut().find(|i| i.path() == id) {
        // Settings are set one by one (`tier`, `dataDiskSizeGb`…), as the console changes them.
        let value = if field == "dataDiskSizeGb" {
            json!(crate::google::api::int(&value)
                .ok_or("dataDiskSizeGb must be a number")?
                .to_string())
        } else {
            value
        };
        return set_field(&mut i.settings, field, value, &[]);
    }
    for c in &mut account.clusters {
        if c.path() == id {
            set_field(c, field, value, PROTECTED)?;
            c.phase = Some(Phase {
                status: "RECONCILING".into(),
                until: ctx.ready_at,
            });
            return Ok(());
        }
        let prefix = format!("{}/nodePools/", c.path());
        if let Some(name) = id.strip_prefix(&prefix) {
            let pool = c
                .node_pools
                .iter_mut()
                .find(|p| p.name == name)
                .ok_or("no such node pool")?;
            set_field(pool, field, value, PROTECTED)?;
            return Ok(());
        }
    }
    Err("no such object".into())
}

pub(crate) fn admin_delete(account: &mut Account, id: &str) -> bool {
    let before = (account.clusters.len(), account.sql_instances.len());
    account.clusters.retain(|c| c.path() != id);
    account.sql_instances.retain(|i| i.path() != id);
    if (account.clusters.len(), account.sql_instances.len()) != before {
        return true;
    }
    for c in &mut account.clusters {
        let prefix = format!("{}/nodePools/", c.path());
        if let Some(name) = id.strip_prefix(&prefix) {
            let n = c.node_pools.len();
            c.node_pools.retain(|p| p.name != name);
            return c.node_pools.len() != n;
        }
    }
    false
}

#[cfg(test)]
mod tests;
