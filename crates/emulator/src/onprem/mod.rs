//! The emulated onprem cloud (see [`crate::clouds`] for what this module provides).

use std::sync::Arc;

use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::clouds::{AdminContext, AdminEntry, KubeCluster};
use crate::faults::FaultInjector;
use crate::services::Shared;

/// This cloud's part of `cloud.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Account {}

/// The routes, nested under `/onprem`.
pub(crate) fn router(services: Shared, faults: Arc<FaultInjector>) -> Router {
    let _ = (services, faults);
    Router::new()
}

pub(crate) fn kubernetes_clusters(account: &Account) -> Vec<KubeCluster> {
    let _ = account;
    Vec::new()
}

pub(crate) fn kube_token_accepted(registered: &str, given: &str) -> bool {
    let _ = (registered, given);
    false
}

pub(crate) fn admin_entries(account: &Account, now: OffsetDateTime) -> Vec<AdminEntry> {
    let _ = (account, now);
    Vec::new()
}

pub(crate) fn admin_set(
    account: &mut Account,
    id: &str,
    field: &str,
    value: Value,
    ctx: &AdminContext,
) -> Result<(), String> {
    let _ = (account, id, field, value, ctx);
    Err("no such object".into())
}

pub(crate) fn admin_delete(account: &mut Account, id: &str) -> bool {
    let _ = (account, id);
    false
}

/// The SSH servers of the emulated hosts, started with the emulator and stopped with it.
pub(crate) struct SshHosts {}

impl SshHosts {
    /// Starts one SSH server per emulated host.
    pub(crate) async fn start(
        services: Shared,
        faults: Arc<FaultInjector>,
        config: &crate::EmulatorConfig,
    ) -> Result<SshHosts, crate::EmulatorError> {
        let _ = (services, faults, config);
        Ok(SshHosts {})
    }

    /// Stops every SSH server.
    pub(crate) async fn shutdown(self) {}
}
