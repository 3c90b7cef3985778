//! The `aws` provider: EKS clusters and managed node groups, and RDS PostgreSQL instances, on
//! the official AWS SDK for Rust (`aws-sdk-eks`, `aws-sdk-rds`).
//!
//! ```hcl
//! provider "aws" {
//!   region = "eu-west-1"   # or the SDK's chain: $AWS_REGION, $AWS_DEFAULT_REGION, the profile
//! }
//! ```
//!
//! Design, in short:
//! - credentials come from the SDK's default chain only (environment, shared files, web
//!   identity, SSO, container and instance metadata) and never enter a configuration, state or
//!   plan; a missing one is reported up front naming every place looked at;
//! - the SDK's own retries are off: every call goes through [`strata_core::retry`] (see
//!   `call`), which reports each throttled answer and each success to the engine's limiter and
//!   repeats only reads, idempotent calls and calls carrying a `clientRequestToken`;
//! - EKS creates and updates carry a `clientRequestToken` derived from the object and the
//!   change, so a retry, even after a crash, is recognised by EKS instead of done twice; an RDS
//!   create, which has no token, is never repeated blindly: after an ambiguous failure the
//!   instance is looked up first;
//! - long operations are polled every [`POLL_ENV`] milliseconds, reporting the cloud's status;
//! - unknown enum values are waited through, absent optional fields read as absent, and a read
//!   right after a create that briefly answers "not found" is retried;
//! - a cluster's `kubeconfig` authenticates as `aws eks get-token` does, with a token presigned
//!   here (see `token`), valid for 15 minutes.

mod attrs;
mod call;
mod client;
mod provider;
mod resources;
mod schema;
mod settings;
mod token;
mod wait;

use std::path::Path;

pub use client::CREDENTIAL_SOURCES;
pub use provider::AwsProvider;
pub use schema::{provider_schema, DB_INSTANCE, EKS_CLUSTER, EKS_NODE_GROUP};
pub use settings::{
    Settings, EKS_ENDPOINT_ENV, ENDPOINT_ENV, HTTP_TIMEOUT_ENV, POLL_ENV, RDS_ENDPOINT_ENV,
    RETRY_DEADLINE_ENV,
};
pub use token::{TOKEN_LIFETIME, TOKEN_PREFIX};

/// The provider's name in configurations, and in the throttling signal it reports.
pub(crate) const NAME: &str = "aws";

/// The fake credentials the emulated AWS knows (its STS checks kubeconfig tokens signed with
/// them). They open nothing anywhere else.
pub const EMULATOR_ACCESS_KEY_ID: &str = "AKIAEMULATOR00000001";
pub const EMULATOR_SECRET_ACCESS_KEY: &str = "emulator/secret/access/key/not-a-real-one";

/// Environment variables that point this provider at the cloud emulator serving on
/// `base_url`, whose data folder is `data_dir`; set by `--emulate` before any provider is
/// configured. They are the AWS SDKs' own variables, so any AWS tool run with them talks to
/// the emulator too.
pub fn emulator_env(base_url: &str, data_dir: &Path) -> Vec<(String, String)> {
    let _ = data_dir;
    let base = base_url.trim_end_matches('/');
    vec![
        (EKS_ENDPOINT_ENV.into(), format!("{base}/aws/eks")),
        (RDS_ENDPOINT_ENV.into(), format!("{base}/aws/rds")),
        ("AWS_ACCESS_KEY_ID".into(), EMULATOR_ACCESS_KEY_ID.into()),
        (
            "AWS_SECRET_ACCESS_KEY".into(),
            EMULATOR_SECRET_ACCESS_KEY.into(),
        ),
        ("AWS_REGION".into(), "us-east-1".into()),
    ]
}
