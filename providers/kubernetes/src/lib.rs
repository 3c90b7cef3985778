//! The `kubernetes` provider: what runs inside a cluster, applied with server-side apply over
//! kube-rs.
//!
//! ```hcl
//! provider "kubernetes" {
//!   kubeconfig = dependency.base.outputs.kubeconfig   # YAML text; sensitive
//!   context    = "admin@shop"                         # optional
//! }
//!
//! resource "kubernetes_manifests" "backend" { path = "k8s/backend" }
//! resource "kubernetes_manifest" "config" {
//!   manifest = yamldecode(file("config.yaml"))
//! }
//! ```
//!
//! - `kubernetes_manifest` applies one object; `object` is what the cluster holds (without
//!   status and bookkeeping metadata), so a plan shows the server's view, obtained with a
//!   dry-run apply.
//! - `kubernetes_manifests` applies every document of a folder in dependency order
//!   (namespaces, CRDs, RBAC, configuration, storage, workloads, services, ingresses,
//!   autoscalers and policies, the rest) and deletes, in reverse order, objects that were
//!   applied before and left the folder. Its `digest` covers the documents, so any edit of the
//!   folder is an in-place update.
//!
//! Both wait for Deployments and StatefulSets to roll out (`wait_for_rollout`,
//! `timeout_seconds`), reporting `2/3 ready` as they go. Every apply uses the field manager
//! `strata` and forces ownership. Drift is read back by projecting the live object onto the
//! applied manifest: fields the server adds are not drift, changed or removed ones are.
//! Quantities the server normalizes (`0.5` CPU read back as `500m`) show as drift.
//!
//! Transient failures (429, 5xx, dropped connections) are retried with backoff. `Retry-After`
//! is not honoured yet: the client drops the header (and the Status `retryAfterSeconds`)
//! before an error reaches the provider. The kubeconfig and Secret data are never printed:
//! Secret `data` is marked sensitive in every value the provider returns.

mod cluster;
pub mod manifest;
mod provider;
mod schema;

pub use cluster::FIELD_MANAGER;
pub use manifest::ObjectId;
pub use provider::KubernetesProvider;
pub use schema::{DEFAULT_TIMEOUT_SECONDS, MANIFEST, MANIFESTS};
