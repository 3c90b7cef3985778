//! The emulated Azure cloud, under `/azure`: the Microsoft Entra token endpoint
//! (`/{tenant}/oauth2/v2.0/token`, client credentials) and Azure Resource Manager for resource
//! groups, AKS managed clusters with their agent pools, and PostgreSQL flexible servers, at the
//! api-versions of the published swagger (see [`arm`]).
//!
//! What is emulated, and what deliberately is not:
//! - every ARM request needs a bearer token and the served `api-version`;
//! - `PUT` answers `201`/`200` (`202` for flexible servers) with an `Azure-AsyncOperation`
//!   status monitor that goes `InProgress` → `Succeeded` over `provision_time`, computed from
//!   stored deadlines; `DELETE` answers `202` with `Location` (and, like the real services,
//!   `Azure-AsyncOperation` where the swagger declares it);
//! - errors use ARM's `{"error": {"code", "message"}}`; injected throttling answers `429` with
//!   `Retry-After` and `x-ms-ratelimit-remaining-subscription-*` headers;
//! - every managed cluster serves an emulated Kubernetes API at `{base_url}/k8s/{uid}`, named
//!   by the kubeconfig `listClusterUserCredential` returns;
//! - absent: role assignments and RBAC (every token may do everything), virtual networks,
//!   list operations, `PATCH`, and the many sub-resources of both services.

mod arm;
mod clusters;
mod groups;
mod handlers;
mod model;
mod servers;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::clouds::{AdminContext, AdminEntry, KubeCluster};
use crate::faults::{Fault, FaultInjector};
use crate::services::Shared;
use arm::ArmError;
use model::{Cluster, Operation, Resource};

/// This cloud's part of `cloud.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Account {
    #[serde(default)]
    pub resource_groups: Vec<Resource>,
    #[serde(default)]
    pub clusters: Vec<Cluster>,
    #[serde(default)]
    pub servers: Vec<Resource>,
    #[serde(default)]
    pub operations: Vec<Operation>,
}

/// The routes, nested under `/azure`.
pub(crate) fn router(services: Shared, faults: Arc<FaultInjector>) -> Router {
    let arm = Router::new()
        .fallback(handlers::arm)
        .with_state(services)
        .layer(from_fn_with_state(faults, inject_fault));
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .merge(arm)
}

/// Answers a decided fault in ARM's shape, before the request reaches a handler.
async fn inject_fault(
    State(faults): State<Arc<FaultInjector>>,
    request: Request,
    next: Next,
) -> Response {
    match faults.delay_and_decide().await {
        Some(Fault::Throttle) => ArmError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "The request is being throttled as the limit has been reached for operation type.",
        )
        .into_response(),
        Some(Fault::ServerError) => ArmError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "An internal server error occurred. Please retry the request.",
        )
        .into_response(),
        None => next.run(request).await,
    }
}

/// `POST /{tenant}/oauth2/v2.0/token` with the client-credentials grant: any non-empty client
/// id and secret get a token, as the emulator checks that clients authenticate, not who they are.
async fn token(Path(tenant): Path<String>, body: Bytes) -> Response {
    let form = arm::form_pairs(&String::from_utf8_lossy(&body));
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.trim().is_empty())
    };
    let refuse = |code: i32, error: &str, description: String| {
        let body = json!({
            "error": error,
            "error_description": description,
            "error_codes": [code],
            "timestamp": crate::clock::display(crate::clock::now()),
            "trace_id": uuid::Uuid::new_v4().to_string(),
            "correlation_id": uuid::Uuid::new_v4().to_string(),
        });
        (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
    };
    if field("grant_type") != Some("client_credentials") {
        return refuse(
            70003,
            "unsupported_grant_type",
            "AADSTS70003: The app requested an unsupported grant type; use client_credentials."
                .into(),
        );
    }
    for (name, code) in [
        ("client_id", 900144),
        ("client_secret", 7000216),
        ("scope", 900144),
    ] {
        if field(name).is_none() {
            return refuse(
                code,
                "invalid_request",
                format!("AADSTS{code}: The request body must contain the following parameter: '{name}'."),
            );
        }
    }
    if tenant.trim().is_empty() {
        return refuse(
            90002,
            "invalid_tenant",
            "AADSTS90002: Tenant not found.".into(),
        );
    }
    let body = json!({
        "token_type": "Bearer",
        "expires_in": 3599,
        "ext_expires_in": 3599,
        "access_token": format!("emulated.{}", uuid::Uuid::new_v4().simple()),
    });
    (StatusCode::OK, axum::Json(body)).into_response()
}

pub(crate) fn kubernetes_clusters(account: &Account) -> Vec<KubeCluster> {
    let now = crate::clock::now();
    account
        .clusters
        .iter()
        .filter(|c| !c.resource.is_gone(now))
        .map(|c| KubeCluster {
            id: c.uid.clone(),
            token: c.kube_token.clone(),
        })
        .collect()
}

/// Cluster tokens are registered as they are, so no token needs this cloud's judgement.
pub(crate) fn kube_token_accepted(registered: &str, given: &str) -> bool {
    let _ = (registered, given);
    false
}

fn entry(kind: &str, r: &Resource, fields: Vec<(&str, Value)>, aliases: Vec<String>) -> AdminEntry {
    AdminEntry {
        object: crate::admin::Object {
            cloud: "azure".into(),
            kind: kind.into(),
            id: r.id.clone(),
            name: r.name.clone(),
            fields: fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        },
        aliases,
    }
}

pub(crate) fn admin_entries(account: &Account, now: OffsetDateTime) -> Vec<AdminEntry> {
    let mut out = Vec::new();
    for g in account.resource_groups.iter().filter(|g| !g.is_gone(now)) {
        out.push(entry(
            "resource_group",
            g,
            vec![("location", json!(g.location)), ("tags", json!(g.tags))],
            Vec::new(),
        ));
    }
    for c in account.clusters.iter().filter(|c| !c.resource.is_gone(now)) {
        let r = &c.resource;
        let p = |k: &str| r.properties.get(k).cloned().unwrap_or(Value::Null);
        out.push(entry(
            "aks_cluster",
            r,
            vec![
                ("location", json!(r.location)),
                ("resource_group", json!(r.resource_group())),
                ("kubernetesVersion", p("kubernetesVersion")),
                ("provisioningState", json!(r.provisioning_state(now))),
                ("tags", json!(r.tags)),
            ],
            Vec::new(),
        ));
        for pool in c.pools.iter().filter(|p| !p.is_gone(now)) {
            let q = |k: &str| pool.properties.get(k).cloned().unwrap_or(Value::Null);
            out.push(entry(
                "aks_node_pool",
                pool,
                vec![
                    ("cluster", json!(r.name)),
                    ("vmSize", q("vmSize")),
                    ("mode", q("mode")),
                    ("count", q("count")),
                    ("enableAutoScaling", q("enableAutoScaling")),
                    ("minCount", q("minCount")),
                    ("maxCount", q("maxCount")),
                    // A pool without a version of its own runs the control plane's.
                    (
                        "orchestratorVersion",
                        pool.properties
                            .get("orchestratorVersion")
                            .cloned()
                            .unwrap_or_else(|| p("kubernetesVersion")),
                    ),
                    ("provisioningState", json!(pool.provisioning_state(now))),
                    ("tags", q("tags")),
                ],
                vec![format!("{}/{}", r.name, pool.name)],
            ));
        }
    }
    for s in account.servers.iter().filter(|s| !s.is_gone(now)) {
        let p = |k: &str| s.properties.get(k).cloned().unwrap_or(Value::Null);
        out.push(entry(
            "postgres_flexible_server",
            s,
            vec![
                ("location", json!(s.location)),
                ("resource_group", json!(s.resource_group())),
                ("sku", s.sku.clone().unwrap_or(Value::Null)),
                ("version", p("version")),
                ("storage", p("storage")),
                ("tags", json!(s.tags)),
            ],
            Vec::new(),
        ));
    }
    out
}

/// Sets `field` of a resource: `tags` (or `tags.KEY`) on the resource, anything else as a
/// dotted path inside its `properties` (`count`, `maxCount`, `storage.storageSizeGB`).
fn set_on(
    resource: &mut Resource,
    field: &str,
    value: Value,
    ctx: &AdminContext,
) -> Result<(), String> {
    if field == "tags" || field.starts_with("tags.") {
        let mut wrapper = TagsOnly {
            tags: resource.tags.clone(),
        };
        crate::admin::objects::set_field(&mut wrapper, field, value, &[])?;
        resource.tags = wrapper.tags;
        return Ok(());
    }
    if ["id", "name", "location", "provisioningState"].contains(&field) {
        return Err(format!(
            "`{field}` is managed by the emulator and cannot be set"
        ));
    }
    let counts = ["count", "minCount", "maxCount"];
    if counts.contains(&field) && value.as_u64().is_none() {
        return Err(format!("`{field}` must be a whole number, 0 or more"));
    }
    let mut props = Value::Object(resource.properties.clone());
    let mut slot = &mut props;
    for segment in field.split('.') {
        if !slot.is_object() {
            *slot = json!({});
        }
        let Some(map) = slot.as_object_mut() else {
            return Err("this object has no settable fields".into());
        };
        slot = map.entry(segment.to_string()).or_insert(Value::Null);
    }
    *slot = value;
    if let Value::Object(m) = props {
        resource.properties = m;
    }
    // An out-of-band change settles at once, like a scale done in the portal that has finished.
    let _ = ctx;
    resource.transition = None;
    Ok(())
}

#[derive(Serialize, Deserialize)]
struct TagsOnly {
    tags: std::collections::BTreeMap<String, String>,
}

pub(crate) fn admin_set(
    account: &mut Account,
    id: &str,
    field: &str,
    value: Value,
    ctx: &AdminContext,
) -> Result<(), String> {
    if let Some(g) = account.resource_groups.iter_mut().find(|g| g.is(id)) {
        if field == "tags" || field.starts_with("tags.") {
            return set_on(g, field, value, ctx);
        }
        return Err("a resource group has only `tags` to set".into());
    }
    for c in &mut account.clusters {
        if c.resource.is(id) {
            return set_on(&mut c.resource, field, value, ctx);
        }
        if let Some(p) = c.pools.iter_mut().find(|p| p.is(id)) {
            return set_on(p, field, value, ctx);
        }
    }
    if let Some(s) = account.servers.iter_mut().find(|s| s.is(id)) {
        return set_on(s, field, value, ctx);
    }
    Err("no such object".into())
}

/// Deletes one resource at once; a resource group takes everything in it along.
pub(crate) fn admin_delete(account: &mut Account, id: &str) -> bool {
    if let Some(g) = account.resource_groups.iter().find(|g| g.is(id)) {
        let group = g.name.clone();
        let in_group = |r: &Resource| r.resource_group().eq_ignore_ascii_case(&group);
        account.resource_groups.retain(|g| !g.is(id));
        account.clusters.retain(|c| !in_group(&c.resource));
        account.servers.retain(|s| !in_group(s));
        return true;
    }
    let before = account.clusters.len() + account.servers.len();
    account.clusters.retain(|c| !c.resource.is(id));
    account.servers.retain(|s| !s.is(id));
    if account.clusters.len() + account.servers.len() != before {
        return true;
    }
    for c in &mut account.clusters {
        let pools = c.pools.len();
        c.pools.retain(|p| !p.is(id));
        if c.pools.len() != pools {
            return true;
        }
    }
    false
}
