//! The `onprem` provider: k3s clusters installed over SSH on hosts the user owns.
//!
//! ```hcl
//! provider "onprem" {
//!   ssh_config  = "~/.ssh/config"       # optional; or $STRATA_ONPREM_SSH_CONFIG
//!   known_hosts = "~/.ssh/known_hosts"  # the default; or $STRATA_ONPREM_KNOWN_HOSTS
//! }
//!
//! resource "onprem_k3s_cluster" "lab" {
//!   name        = "lab"
//!   k3s_version = "v1.30.4+k3s1"
//!   host { address = "10.0.0.10", user = "ubuntu", private_key_file = "~/.ssh/lab", role = "server" }
//!   host { address = "10.0.0.11", user = "ubuntu", private_key_file = "~/.ssh/lab", role = "agent" }
//! }
//! ```
//!
//! Design, in short:
//! - SSH is spoken with `russh`; every host key is verified (known_hosts or a pinned key) and
//!   a mismatch is refused naming the host and both fingerprints;
//! - one host at a time: the first server initialises the cluster, the other servers and the
//!   agents join it through the first server's address; upgrades roll servers first, then agents;
//! - what is installed where is recorded per host (`installed`), so a failure returns the
//!   object as far as it got and the next apply resumes from there;
//! - the token goes to hosts on standard input into a root-only file, never on a command line,
//!   and is redacted from any error built from a host's output.

mod cluster;
mod commands;
mod schema;
mod secret;
mod settings;
mod spec;
mod ssh;
mod ssh_config;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use strata_core::provider::{
    CreateRequest, DeleteRequest, ErrorKind, FindRequest, OperationContext, Provider,
    ProviderError, ProviderResult, ReadRequest, ResourceObject, UpdateRequest,
};
use strata_core::schema::ProviderSchema;
use strata_core::Value;

use crate::cluster::Hosts;
use crate::spec::ClusterSpec;

pub use schema::{provider_schema, K3S_CLUSTER};
pub use settings::{Settings, CONNECT_TIMEOUT_ENV, KNOWN_HOSTS_ENV, POLL_ENV, SSH_CONFIG_ENV};

/// The `onprem` provider. [`OnpremProvider::new`] is the unconfigured instance the engine
/// registers; [`Provider::configure`] returns one bound to its settings.
#[derive(Debug, Default)]
pub struct OnpremProvider {
    settings: Option<Settings>,
}

impl OnpremProvider {
    pub fn new() -> OnpremProvider {
        OnpremProvider { settings: None }
    }

    /// A provider configured with `settings`, for callers that bypass the provider block.
    pub fn with_settings(settings: Settings) -> OnpremProvider {
        OnpremProvider {
            settings: Some(settings),
        }
    }

    fn settings(&self) -> ProviderResult<&Settings> {
        self.settings.as_ref().ok_or_else(|| {
            ProviderError::new(
                ErrorKind::Internal,
                "the onprem provider was used before being configured",
            )
        })
    }
}

/// Environment variables that point this provider at the cloud emulator serving on
/// `base_url`, whose data folder is `data_dir`; set by `--emulate` before any provider is
/// configured. The emulated hosts are reached through the `ssh_config` and `known_hosts` the
/// emulator writes into `DATA_DIR/onprem/`.
pub fn emulator_env(base_url: &str, data_dir: &Path) -> Vec<(String, String)> {
    let _ = base_url;
    let dir = data_dir.join("onprem");
    vec![
        (
            SSH_CONFIG_ENV.to_string(),
            dir.join("ssh_config").display().to_string(),
        ),
        (
            KNOWN_HOSTS_ENV.to_string(),
            dir.join("known_hosts").display().to_string(),
        ),
    ]
}

fn check_type(type_name: &str) -> ProviderResult<()> {
    if type_name == K3S_CLUSTER {
        Ok(())
    } else {
        Err(ProviderError::new(
            ErrorKind::InvalidConfig,
            format!("the onprem provider has no resource type {type_name:?}"),
        )
        .with_hint(format!("it knows {K3S_CLUSTER}")))
    }
}

#[async_trait]
impl Provider for OnpremProvider {
    fn name(&self) -> &str {
        "onprem"
    }

    fn schema(&self) -> ProviderSchema {
        provider_schema()
    }

    async fn configure(&self, config: Value) -> ProviderResult<Arc<dyn Provider>> {
        let settings = Settings::from_config(&config, |k| std::env::var(k).ok())?;
        Ok(Arc::new(OnpremProvider::with_settings(settings)))
    }

    async fn read(&self, req: ReadRequest) -> ProviderResult<Option<ResourceObject>> {
        check_type(&req.type_name)?;
        let settings = self.settings()?;
        let prior = &req.prior;
        let spec = ClusterSpec::parse_recorded(prior)?;
        let token = cluster::token_of(prior).unwrap_or_else(|| secret::Secret::new(""));
        let installed = spec::installed_of(prior);
        if installed.is_empty() {
            return Ok(None);
        }
        let ctx = OperationContext::silent();
        let hosts = Hosts::new(settings, &spec, token.clone(), &ctx)?;
        let seen = hosts.observe(&installed, &spec.hosts).await?;
        if seen.is_empty() {
            return Ok(None);
        }
        let first_seen = spec
            .first_server()
            .is_some_and(|f| seen.contains_key(&f.address));
        let (kubeconfig, nodes) = match first_seen {
            true => (
                Some(hosts.kubeconfig().await?),
                Some(hosts.node_names().await?),
            ),
            false => (cluster::kubeconfig_of(prior), None),
        };
        let mut attributes = cluster::hosts_present(prior, &seen);
        if let Value::Map(m) = &mut attributes {
            // A host at another version shows as the change that brings it back.
            if let Some(other) = seen.values().find(|h| h.version != spec.version) {
                m.insert("k3s_version".into(), Value::from(other.version.as_str()));
            }
        }
        let mut object = cluster::object(&attributes, &spec, &token, &seen, kubeconfig.as_ref());
        if let (Some(nodes), Value::Map(m)) = (nodes, &mut object.attributes) {
            m.insert(
                "nodes".into(),
                Value::List(nodes.into_iter().map(Value::from).collect()),
            );
        }
        Ok(Some(object))
    }

    async fn create(
        &self,
        req: CreateRequest,
        ctx: &OperationContext,
    ) -> ProviderResult<ResourceObject> {
        check_type(&req.type_name)?;
        let settings = self.settings()?;
        let spec = ClusterSpec::parse(&req.planned)?;
        let token = spec.token.clone().unwrap_or_else(cluster::new_token);
        let hosts = Hosts::new(settings, &spec, token.clone(), ctx)?;
        let mut installed = spec::Installed::new();
        let result = hosts.converge(&mut installed, &spec.hosts).await;
        let kubeconfig = match result {
            Ok(_) => hosts.kubeconfig().await,
            Err(e) => Err(e),
        };
        match kubeconfig {
            Ok(k) => Ok(cluster::object(
                &req.planned,
                &spec,
                &token,
                &installed,
                Some(&k),
            )),
            Err(e) if installed.is_empty() => Err(e),
            Err(e) => Err(e.with_partial(cluster::object(
                &req.planned,
                &spec,
                &token,
                &installed,
                None,
            ))),
        }
    }

    async fn update(
        &self,
        req: UpdateRequest,
        ctx: &OperationContext,
    ) -> ProviderResult<ResourceObject> {
        check_type(&req.type_name)?;
        let settings = self.settings()?;
        let spec = ClusterSpec::parse(&req.planned)?;
        let prior_spec = ClusterSpec::parse_recorded(&req.prior).ok();
        let token = spec
            .token
            .clone()
            .or_else(|| cluster::token_of(&req.prior))
            .ok_or_else(|| {
                ProviderError::new(
                    ErrorKind::Internal,
                    format!("the state of {} holds no token", spec.name),
                )
                .with_hint("set token to the cluster's join token (cat /var/lib/rancher/k3s/server/node-token on a server)")
            })?;
        let hosts = Hosts::new(settings, &spec, token.clone(), ctx)?;
        let mut installed = spec::installed_of(&req.prior);
        let mut known = spec.hosts.clone();
        if let Some(p) = &prior_spec {
            known.extend(
                p.hosts
                    .iter()
                    .filter(|h| spec.host(&h.address).is_none())
                    .cloned(),
            );
        }
        let prior_kubeconfig = cluster::kubeconfig_of(&req.prior);
        let result = match hosts.converge(&mut installed, &known).await {
            // The kubeconfig is read again only when the first server changed.
            Ok(first_touched) => match (first_touched, prior_kubeconfig) {
                (false, Some(k)) => Ok(k),
                _ => hosts.kubeconfig().await,
            },
            Err(e) => Err(e),
        };
        match result {
            Ok(k) => Ok(cluster::object(
                &req.planned,
                &spec,
                &token,
                &installed,
                Some(&k),
            )),
            Err(e) => {
                // The object as far as it got: each host done since is recorded.
                let kubeconfig = cluster::kubeconfig_of(&req.prior);
                let partial =
                    cluster::object(&req.planned, &spec, &token, &installed, kubeconfig.as_ref());
                Err(e.with_partial(partial))
            }
        }
    }

    /// After an interrupted create: the planned hosts on which k3s runs, when the first
    /// server is one of them, with the token read back from it.
    async fn find(&self, req: FindRequest) -> ProviderResult<Option<ResourceObject>> {
        check_type(&req.type_name)?;
        let settings = self.settings()?;
        let spec = ClusterSpec::parse(&req.planned)?;
        let ctx = OperationContext::silent();
        let probe = Hosts::new(settings, &spec, secret::Secret::new(""), &ctx)?;
        let candidates: spec::Installed = spec
            .hosts
            .iter()
            .map(|h| {
                let guess = spec::InstalledHost {
                    role: h.role,
                    version: spec.version.clone(),
                    node: h.address.clone(),
                };
                (h.address.clone(), guess)
            })
            .collect();
        let seen = probe.observe(&candidates, &spec.hosts).await?;
        let first_runs = spec
            .first_server()
            .is_some_and(|f| seen.contains_key(&f.address));
        if !first_runs {
            return Ok(None);
        }
        let Some(token) = probe.recorded_token().await?.or(spec.token.clone()) else {
            return Ok(None);
        };
        let hosts = Hosts::new(settings, &spec, token.clone(), &ctx)?;
        let kubeconfig = hosts.kubeconfig().await?;
        let attributes = cluster::hosts_present(&req.planned, &seen);
        Ok(Some(cluster::object(
            &attributes,
            &spec,
            &token,
            &seen,
            Some(&kubeconfig),
        )))
    }

    async fn delete(&self, req: DeleteRequest, ctx: &OperationContext) -> ProviderResult<()> {
        check_type(&req.type_name)?;
        let settings = self.settings()?;
        let spec = ClusterSpec::parse_recorded(&req.prior)?;
        let token = cluster::token_of(&req.prior).unwrap_or_else(|| secret::Secret::new(""));
        let hosts = Hosts::new(settings, &spec, token, ctx)?;
        hosts.uninstall_all(&spec::installed_of(&req.prior)).await
    }
}
