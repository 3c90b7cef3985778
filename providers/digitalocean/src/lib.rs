//! The `digitalocean` provider: VPCs, Kubernetes (DOKS) clusters and node pools, and managed
//! database clusters, over the DigitalOcean API v2 (REST and JSON, with `reqwest`).
//!
//! ```hcl
//! provider "digitalocean" {
//!   token    = var.do_token   # or $DIGITALOCEAN_TOKEN, then $DIGITALOCEAN_ACCESS_TOKEN
//!   endpoint = "http://127.0.0.1:4566"  # or $DIGITALOCEAN_API_URL; https:// unless loopback
//! }
//! ```
//!
//! Design, in short:
//! - every call goes through one retry policy ([`RetryPolicy`]): backoff with jitter on 429,
//!   5xx and connection failures, honouring `Retry-After` and `ratelimit-reset`, within a
//!   total deadline;
//! - a create is never sent twice blindly: after an ambiguous failure the objects of that name
//!   are listed first, and one that appeared is adopted, so a flaky network cannot leave two
//!   clusters;
//! - long operations (cluster create and upgrade, database create and resize) are polled
//!   every [`POLL_ENV`] milliseconds and their status reported through the operation context;
//! - answers are read leniently (unknown fields ignored, unknown states waited through), and
//!   API errors become [`strata_core::provider::ProviderError`]s that say what to do;
//! - the token lives in [`Token`], whose `Debug` is redacted, and goes nowhere but the
//!   `Authorization` header.

mod api;
pub(crate) use strata_core::attrs;
mod errors;
mod provider;
mod resources;
mod schema;
mod settings;
mod wait;

pub use provider::DigitalOceanProvider;
pub use schema::{
    provider_schema, DATABASE_CLUSTER, KUBERNETES_CLUSTER, KUBERNETES_NODE_POOL, VPC,
};
pub use settings::{
    Settings, Token, ACCESS_TOKEN_ENV, API_URL_ENV, DEFAULT_ENDPOINT, POLL_ENV, TOKEN_ENV,
};
pub use strata_core::retry::RetryPolicy;
