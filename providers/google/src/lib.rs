//! The `google` provider: GKE clusters and node pools, and Cloud SQL for PostgreSQL instances.
//!
//! ```hcl
//! provider "google" {
//!   project = "acme-prod"
//!   region  = "europe-west1"
//!   # credentials: $GOOGLE_APPLICATION_CREDENTIALS or gcloud's application default credentials
//! }
//! ```
//!
//! Design, in short:
//! - GKE goes through the official `google-cloud-container-v1` client (HTTP/JSON, enums as
//!   integers); Cloud SQL Admin is REST over `reqwest`. Both share one retry loop that follows
//!   [`strata_core::retry`] and reports throttling to the engine;
//! - a create is never sent twice blindly: after an ambiguous failure the object is looked up
//!   by name first, and adopted if it appeared;
//! - every long-running call answers an operation, which is polled to DONE while its status is
//!   reported through the operation context;
//! - credentials come from the Google auth library and never reach state: a cluster's
//!   kubeconfig carries a short-lived access token fetched at read time.

mod api;
pub(crate) use strata_core::attrs;
mod auth;
mod errors;
mod kubeconfig;
mod provider;
mod resources;
mod schema;
mod settings;
mod wait;

use std::path::Path;

pub use provider::GoogleProvider;
pub use schema::{provider_schema, GKE_CLUSTER, GKE_NODE_POOL, SQL_INSTANCE};
pub use settings::{
    Settings, CONTAINER_ENDPOINT_ENV, CREDENTIALS_ENV, POLL_ENV, PROJECT_ENVS, REGION_ENV,
    SQL_ENDPOINT_ENV,
};

/// The file, in the emulator's data folder, holding the emulated account's credentials.
const EMULATOR_CREDENTIALS_FILE: &str = "google-credentials.json";

/// Environment variables that point this provider at the cloud emulator serving on
/// `base_url`, whose data folder is `data_dir`; set by `--emulate` before any provider is
/// configured.
///
/// The emulated account is an `authorized_user` credential whose `token_uri` is the emulator's
/// own OAuth token endpoint, so the real auth library exchanges its refresh token there, exactly
/// as it would with Google's. The file holds no secret worth the name.
pub fn emulator_env(base_url: &str, data_dir: &Path) -> Vec<(String, String)> {
    let credentials = serde_json::json!({
        "type": "authorized_user",
        "client_id": "strata-emulator.apps.googleusercontent.com",
        "client_secret": "emulated",
        "refresh_token": "emulated-refresh-token",
        "token_uri": format!("{base_url}/google/token"),
    });
    let path = data_dir.join(EMULATOR_CREDENTIALS_FILE);
    let mut env = vec![
        (
            CONTAINER_ENDPOINT_ENV.to_string(),
            format!("{base_url}/google/container"),
        ),
        (
            SQL_ENDPOINT_ENV.to_string(),
            format!("{base_url}/google/sql"),
        ),
    ];
    // Without the file the provider reports missing credentials, naming where it looked.
    if std::fs::create_dir_all(data_dir).is_ok()
        && std::fs::write(&path, credentials.to_string()).is_ok()
    {
        env.push((CREDENTIALS_ENV.to_string(), path.display().to_string()));
    }
    env
}
