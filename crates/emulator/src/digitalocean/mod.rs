//! The emulated DigitalOcean API (`/v2/...`): VPCs, Kubernetes clusters with node pools, and
//! managed databases, following the public OpenAPI description of the real API (paths, methods,
//! field names, status codes, error bodies and rate-limit headers).
//!
//! Deliberately absent: droplets, load balancers, volumes, projects and the many database
//! sub-resources (users, pools, firewall rules); the emulator covers what the DigitalOcean
//! provider manages.

mod api;
mod clusters;
mod databases;
pub(crate) mod model;
mod vpcs;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Router;
use ipnet::Ipv4Net;
use time::OffsetDateTime;

use crate::faults::{Fault, FaultInjector};
use crate::services::Shared;
pub(crate) use api::RETRY_AFTER_SECONDS;
use api::{ApiError, RateWindow};
use model::{Account, Vpc};

/// The DigitalOcean API, to be nested under `/v2`.
///
/// Layers, from the outside in: [`api::envelope`] (authentication, request id, rate-limit
/// headers, error bodies), fault injection, then the handlers. Faults run inside the envelope so
/// an injected 429 or 500 looks exactly like one from the real API.
pub(crate) fn router(services: Shared, faults: Arc<FaultInjector>) -> Router {
    Router::new()
        .route("/vpcs", get(vpcs::list).post(vpcs::create))
        .route(
            "/vpcs/{id}",
            get(vpcs::get)
                .put(vpcs::replace)
                .patch(vpcs::patch)
                .delete(vpcs::delete),
        )
        .route("/kubernetes/options", get(clusters::options))
        .route(
            "/kubernetes/clusters",
            get(clusters::list).post(clusters::create),
        )
        .route(
            "/kubernetes/clusters/{id}",
            get(clusters::get)
                .put(clusters::update)
                .delete(clusters::delete),
        )
        .route(
            "/kubernetes/clusters/{id}/kubeconfig",
            get(clusters::kubeconfig),
        )
        .route(
            "/kubernetes/clusters/{id}/credentials",
            get(clusters::credentials),
        )
        .route("/kubernetes/clusters/{id}/upgrade", post(clusters::upgrade))
        .route(
            "/kubernetes/clusters/{id}/upgrades",
            get(clusters::available_upgrades),
        )
        .route(
            "/kubernetes/clusters/{id}/node_pools",
            get(clusters::list_pools).post(clusters::create_pool),
        )
        .route(
            "/kubernetes/clusters/{id}/node_pools/{pool_id}",
            get(clusters::get_pool)
                .put(clusters::update_pool)
                .delete(clusters::delete_pool),
        )
        .route(
            "/kubernetes/clusters/{id}/node_pools/{pool_id}/nodes/{node_id}",
            delete(clusters::delete_node),
        )
        .route("/databases", get(databases::list).post(databases::create))
        .route(
            "/databases/{id}",
            get(databases::get).delete(databases::delete),
        )
        .route("/databases/{id}/resize", put(databases::resize))
        .fallback(not_found)
        .with_state(services)
        .layer(from_fn_with_state(faults, inject_fault))
        .layer(from_fn_with_state(
            Arc::new(RateWindow::default()),
            api::envelope,
        ))
}

async fn not_found() -> ApiError {
    ApiError::not_found()
}

/// Answers a decided fault in DigitalOcean's shape, before the request reaches a handler.
async fn inject_fault(
    State(faults): State<Arc<FaultInjector>>,
    request: Request,
    next: Next,
) -> Response {
    match faults.delay_and_decide().await {
        Some(Fault::Throttle) => ApiError::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "API rate limit exceeded.",
        )
        .into_response(),
        Some(Fault::ServerError) => ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "Unexpected server-side error",
        )
        .into_response(),
        None => next.run(request).await,
    }
}

/// Region slugs the emulated account can use.
pub(crate) const REGIONS: &[(&str, &str)] = &[
    ("nyc1", "New York 1"),
    ("nyc2", "New York 2"),
    ("nyc3", "New York 3"),
    ("sfo1", "San Francisco 1"),
    ("sfo2", "San Francisco 2"),
    ("sfo3", "San Francisco 3"),
    ("ams2", "Amsterdam 2"),
    ("ams3", "Amsterdam 3"),
    ("sgp1", "Singapore 1"),
    ("lon1", "London 1"),
    ("fra1", "Frankfurt 1"),
    ("tor1", "Toronto 1"),
    ("blr1", "Bangalore 1"),
    ("syd1", "Sydney 1"),
    ("atl1", "Atlanta 1"),
];

/// Checks a region slug, naming the valid ones when it is wrong.
pub(crate) fn check_region(region: &str) -> Result<(), ApiError> {
    if REGIONS.iter().any(|(slug, _)| *slug == region) {
        return Ok(());
    }
    let valid: Vec<&str> = REGIONS.iter().map(|(slug, _)| *slug).collect();
    Err(ApiError::unprocessable(format!(
        "region `{region}` is not available; valid regions are {}",
        valid.join(", ")
    )))
}

/// A required string field of a request body, present and not blank.
pub(crate) fn required<'a>(value: &'a Option<String>, field: &str) -> Result<&'a str, ApiError> {
    match value.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(ApiError::unprocessable(format!("`{field}` is required"))),
    }
}

/// The id of the region's default VPC, creating it the way every real account already has one.
///
/// The real cloud creates a default VPC per region before the user's first resource lands there,
/// so a user's own VPC is normally not the default and can be deleted. Emulating that keeps
/// `destroy` of a VPC stack working as it does on the real cloud.
pub(crate) fn default_vpc(account: &mut Account, region: &str, now: OffsetDateTime) -> String {
    if let Some(vpc) = account
        .vpcs
        .iter()
        .find(|v| v.region == region && v.default)
    {
        return vpc.id.clone();
    }
    let ip_range = free_ip_range(account);
    let vpc = Vpc {
        id: uuid::Uuid::new_v4().to_string(),
        name: format!("default-{region}"),
        description: String::new(),
        region: region.to_string(),
        ip_range,
        default: true,
        created_at: now,
    };
    let id = vpc.id.clone();
    account.vpcs.push(vpc);
    id
}

/// A `/20` inside 10.0.0.0/8 that overlaps no VPC of the account, as the cloud picks when a VPC
/// is created without `ip_range`.
pub(crate) fn free_ip_range(account: &Account) -> String {
    let taken: Vec<Ipv4Net> = account
        .vpcs
        .iter()
        .filter_map(|v| v.ip_range.parse().ok())
        .collect();
    for second in 100..=255u8 {
        for third in (0..=240u8).step_by(16) {
            let candidate = Ipv4Net::new([10, second, third, 0].into(), 20)
                .unwrap_or_else(|_| Ipv4Net::default());
            if !taken.iter().any(|t| overlaps(t, &candidate)) {
                return candidate.to_string();
            }
        }
    }
    "10.99.0.0/20".to_string()
}

pub(crate) fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}
