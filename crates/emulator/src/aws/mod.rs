//! The emulated AWS cloud: EKS (REST and JSON, `/aws/eks/...`) and RDS (the AWS query protocol,
//! `/aws/rds/`), following the botocore models `eks-2017-11-01` and `rds-2014-10-31` for paths,
//! shapes, error codes and status codes.
//!
//! What is emulated, and what deliberately is not:
//! - every request must carry a SigV4 `Authorization` header of the right shape, naming the right
//!   service; the signature itself is not verified (the emulator has no secret to check it with);
//! - clusters, node groups, updates and DB instances move through their real states (CREATING →
//!   ACTIVE, InProgress → Successful, creating → available, DELETING → gone) over
//!   `provision_time`, computed from stored deadlines;
//! - `clientRequestToken` makes a repeated EKS create or update return what the first one did;
//! - every EKS cluster serves an emulated Kubernetes API at `{base_url}/k8s/{id}` that accepts
//!   the bearer token `aws eks get-token` would give (see [`token`]);
//! - absent: IAM (role ARNs are taken as given), VPCs and subnets (ids are taken as given),
//!   add-ons, Fargate profiles, access entries, RDS clusters, snapshots and parameter groups.

mod auth;
mod eks;
mod rds;
mod token;
mod xml;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::clouds::{AdminContext, AdminEntry, KubeCluster};
use crate::faults::FaultInjector;
use crate::services::Shared;

pub(crate) use eks::EksCluster;
pub(crate) use rds::DbInstance;

/// This cloud's part of `cloud.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Account {
    #[serde(default)]
    pub eks_clusters: Vec<EksCluster>,
    #[serde(default)]
    pub db_instances: Vec<DbInstance>,
}

/// A state an object is in until a deadline; the settled state is implied after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Phase {
    pub state: String,
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
}

impl Phase {
    pub fn new(state: &str, until: OffsetDateTime) -> Phase {
        Phase {
            state: state.to_string(),
            until,
        }
    }

    /// The state at `now`: the phase's own while it lasts, `settled` after it.
    pub fn state_at(phase: &Option<Phase>, now: OffsetDateTime, settled: &str) -> String {
        match phase {
            Some(p) if now < p.until => p.state.clone(),
            _ => settled.to_string(),
        }
    }

    /// Whether a deletion in this phase has finished at `now`.
    pub fn deleted_by(phase: &Option<Phase>, now: OffsetDateTime, deleting: &str) -> bool {
        matches!(phase, Some(p) if p.state == deleting && now >= p.until)
    }
}

/// The account every emulated ARN names.
pub(crate) const ACCOUNT_ID: &str = "123456789012";

/// The routes, nested under `/aws`: EKS under `/eks`, RDS at `/rds/`.
pub(crate) fn router(services: Shared, faults: Arc<FaultInjector>) -> Router {
    let eks = Router::new()
        .route(
            "/clusters",
            get(eks::list_clusters).post(eks::create_cluster),
        )
        .route(
            "/clusters/{name}",
            get(eks::describe_cluster).delete(eks::delete_cluster),
        )
        .route(
            "/clusters/{name}/updates",
            post(eks::update_cluster_version),
        )
        .route(
            "/clusters/{name}/update-config",
            post(eks::update_cluster_config),
        )
        .route(
            "/clusters/{name}/updates/{update_id}",
            get(eks::describe_update),
        )
        .route(
            "/clusters/{name}/node-groups",
            get(eks::list_nodegroups).post(eks::create_nodegroup),
        )
        .route(
            "/clusters/{name}/node-groups/{nodegroup}",
            get(eks::describe_nodegroup).delete(eks::delete_nodegroup),
        )
        .route(
            "/clusters/{name}/node-groups/{nodegroup}/update-config",
            post(eks::update_nodegroup_config),
        )
        .route(
            "/clusters/{name}/node-groups/{nodegroup}/update-version",
            post(eks::update_nodegroup_version),
        )
        .route(
            "/tags/{arn}",
            get(eks::list_tags)
                .post(eks::tag_resource)
                .delete(eks::untag_resource),
        )
        .fallback(eks::unknown_operation)
        .with_state(services.clone())
        .layer(axum::middleware::from_fn_with_state(
            (faults.clone(), auth::Protocol::RestJson),
            auth::envelope,
        ));
    // The query protocol names the action in the form; SDKs append `/` to an endpoint's path,
    // or not: `/rds` and `/rds/` are the same service.
    let action = || post(rds::action).fallback(rds::wrong_method);
    let rds = Router::new()
        .route("/rds", action())
        .route("/rds/", action())
        .with_state(services)
        .layer(axum::middleware::from_fn_with_state(
            (faults, auth::Protocol::Query),
            auth::envelope,
        ));
    Router::new().nest("/eks", eks).merge(rds)
}

/// Every cluster that exists (until its deletion finishes) has a Kubernetes API; this module
/// decides which bearer tokens it accepts.
pub(crate) fn kubernetes_clusters(account: &Account) -> Vec<KubeCluster> {
    let now = crate::clock::now();
    account
        .eks_clusters
        .iter()
        .filter(|c| !Phase::deleted_by(&c.phase, now, "DELETING"))
        .map(|c| KubeCluster {
            id: c.id.clone(),
            token: format!("aws:{}", c.name),
        })
        .collect()
}

/// Accepts a `k8s-aws-v1.` token minted for the cluster named `cluster_name`.
pub(crate) fn kube_token_accepted(cluster_name: &str, given: &str) -> bool {
    token::verify(given, cluster_name, crate::clock::now()).is_ok()
}

pub(crate) fn admin_entries(account: &Account, now: OffsetDateTime) -> Vec<AdminEntry> {
    let mut out = eks::admin_entries(&account.eks_clusters, now);
    out.extend(rds::admin_entries(&account.db_instances, now));
    out
}

pub(crate) fn admin_set(
    account: &mut Account,
    id: &str,
    field: &str,
    value: Value,
    ctx: &AdminContext,
) -> Result<(), String> {
    if let Some(result) = eks::admin_set(&mut account.eks_clusters, id, field, value.clone(), ctx) {
        return result;
    }
    if let Some(result) = rds::admin_set(&mut account.db_instances, id, field, value, ctx) {
        return result;
    }
    Err("no such object".into())
}

pub(crate) fn admin_delete(account: &mut Account, id: &str) -> bool {
    eks::admin_delete(&mut account.eks_clusters, id)
        || rds::admin_delete(&mut account.db_instances, id)
}

#[cfg(test)]
mod tests;
