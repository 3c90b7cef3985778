//! The `azure` provider: resource groups, AKS clusters and node pools, and PostgreSQL flexible
//! servers, over Azure Resource Manager's REST API (JSON with `reqwest`), with tokens from
//! `azure_identity`'s client-secret credential.
//!
//! ```hcl
//! provider "azure" {
//!   subscription_id = "..."   # or $AZURE_SUBSCRIPTION_ID; tenant_id, client_id, client_secret likewise
//!   endpoint        = "http://127.0.0.1:4566/azure"  # or $AZURE_RESOURCE_MANAGER_ENDPOINT
//! }
//! ```
//!
//! Design, in short:
//! - every call goes through one retry policy ([`RetryPolicy`]): backoff with jitter on 429,
//!   5xx and connection failures, honouring `Retry-After` and `x-ms-ratelimit-remaining-*`;
//!   every throttled answer and every success reaches the engine's throttling signal;
//! - ARM's `PUT` of a whole resource is idempotent, so creates and updates are retried as
//!   they are and can never make a second resource; `find` is a `GET` of the id the name gives;
//! - long-running operations are followed through `Azure-AsyncOperation` (else `Location`)
//!   until `Succeeded`, `Failed` or `Canceled`, reporting the resource's state as progress;
//! - answers are read leniently (unknown fields and enum values pass, absent optional fields
//!   are null, a `GET` that briefly 404s after a write is retried);
//! - the client secret lives in [`ClientSecret`], whose `Debug` is redacted, and goes nowhere
//!   but the token request; tokens go nowhere but the `Authorization` header.

mod api;
pub(crate) use strata_core::attrs;
mod auth;
mod errors;
mod provider;
mod resources;
mod schema;
mod settings;

use std::path::Path;

pub use provider::AzureProvider;
pub use resources::{CONTAINER_SERVICE_API_VERSION, POSTGRESQL_API_VERSION, RESOURCES_API_VERSION};
pub use schema::{
    provider_schema, AKS_CLUSTER, AKS_NODE_POOL, POSTGRES_FLEXIBLE_SERVER, RESOURCE_GROUP,
};
pub use settings::{
    ClientSecret, Settings, AUTHORITY_HOST_ENV, CLIENT_ID_ENV, CLIENT_SECRET_ENV,
    DEFAULT_AUTHORITY_HOST, DEFAULT_ENDPOINT, ENDPOINT_ENV, POLL_ENV, SUBSCRIPTION_ENV, TENANT_ENV,
};
pub use strata_core::retry::RetryPolicy;

/// Environment variables that point this provider at the cloud emulator serving on
/// `base_url`, whose data folder is `data_dir`; set by `--emulate` before any provider is
/// configured. The identifiers are fixed so that ids in state stay valid from one command to
/// the next. Operations are polled every half second unless [`POLL_ENV`] says otherwise: the
/// emulator's operations last seconds, not minutes.
pub fn emulator_env(base_url: &str, data_dir: &Path) -> Vec<(String, String)> {
    let _ = data_dir;
    let base = base_url.trim_end_matches('/');
    let ids = [
        (SUBSCRIPTION_ENV, "00000000-0000-0000-0000-0000000000e1"),
        (TENANT_ENV, "00000000-0000-0000-0000-0000000000e2"),
        (CLIENT_ID_ENV, "00000000-0000-0000-0000-0000000000e3"),
        (CLIENT_SECRET_ENV, "emulator-client-secret"),
    ];
    let mut env: Vec<(String, String)> = ids
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    env.push((ENDPOINT_ENV.to_string(), format!("{base}/azure")));
    env.push((AUTHORITY_HOST_ENV.to_string(), format!("{base}/azure")));
    if std::env::var_os(POLL_ENV).is_none() {
        env.push((POLL_ENV.to_string(), "500".to_string()));
    }
    env
}
