//! The [`Provider`] implementation: configuration, then each operation dispatched to the
//! module of its resource type.

use crate::api::Api;
use crate::resources::{cluster, database, node_pool, vpc};
use crate::schema::{self, DATABASE_CLUSTER, KUBERNETES_CLUSTER, KUBERNETES_NODE_POOL, VPC};
use crate::settings::Settings;
use async_trait::async_trait;
use std::sync::Arc;
use strata_core::provider::{
    CreateRequest, DeleteRequest, ErrorKind, FindRequest, ListRequest, ListedObject,
    OperationContext, Provider, ProviderError, ProviderResult, ReadRequest, ResourceObject,
    UpdateRequest,
};
use strata_core::schema::ProviderSchema;
use strata_core::Value;

/// The provider registered as `digitalocean`. [`DigitalOceanProvider::new`] is the
/// unconfigured instance the engine registers; [`Provider::configure`] returns one bound to
/// a token and an endpoint.
#[derive(Debug, Clone, Default)]
pub struct DigitalOceanProvider {
    api: Option<Arc<Api>>,
}

/// The resource types, so that a misspelt type is caught once, in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Vpc,
    Cluster,
    NodePool,
    Database,
}

impl Kind {
    fn of(type_name: &str) -> ProviderResult<Kind> {
        match type_name {
            VPC => Ok(Kind::Vpc),
            KUBERNETES_CLUSTER => Ok(Kind::Cluster),
            KUBERNETES_NODE_POOL => Ok(Kind::NodePool),
            DATABASE_CLUSTER => Ok(Kind::Database),
            other => Err(ProviderError::new(
                ErrorKind::InvalidConfig,
                format!("the digitalocean provider has no resource type {other:?}"),
            )
            .with_hint(format!(
                "it knows {VPC}, {KUBERNETES_CLUSTER}, {KUBERNETES_NODE_POOL} and {DATABASE_CLUSTER}"
            ))),
        }
    }
}

impl DigitalOceanProvider {
    /// The unconfigured provider: it can describe its schema and be configured, nothing else.
    pub fn new() -> DigitalOceanProvider {
        DigitalOceanProvider { api: None }
    }

    /// A provider already configured with `settings`, for callers that bypass the provider
    /// block (tests that shorten the retry policy or the poll interval).
    pub fn with_settings(settings: Settings) -> ProviderResult<DigitalOceanProvider> {
        Ok(DigitalOceanProvider {
            api: Some(Arc::new(Api::new(settings)?)),
        })
    }

    fn api(&self) -> ProviderResult<&Api> {
        self.api.as_deref().ok_or_else(|| {
            ProviderError::new(
                ErrorKind::Internal,
                "the digitalocean provider was used before being configured",
            )
        })
    }
}

/// The provider's name in configurations, and in the throttling signal it reports.
pub(crate) const NAME: &str = "digitalocean";

#[async_trait]
impl Provider for DigitalOceanProvider {
    fn name(&self) -> &str {
        NAME
    }

    fn schema(&self) -> ProviderSchema {
        schema::provider_schema()
    }

    async fn configure(&self, config: Value) -> ProviderResult<Arc<dyn Provider>> {
        let settings = Settings::from_config(&config, |k| std::env::var(k).ok())?;
        Ok(Arc::new(DigitalOceanProvider::with_settings(settings)?))
    }

    async fn read(&self, req: ReadRequest) -> ProviderResult<Option<ResourceObject>> {
        let api = self.api()?;
        match Kind::of(&req.type_name)? {
            Kind::Vpc => vpc::read(api, &req.id, &req.prior).await,
            Kind::Cluster => cluster::read(api, &req.id, &req.prior).await,
            Kind::NodePool => node_pool::read(api, &req.id, &req.prior).await,
            Kind::Database => database::read(api, &req.id, &req.prior).await,
        }
    }

    async fn create(
        &self,
        req: CreateRequest,
        ctx: &OperationContext,
    ) -> ProviderResult<ResourceObject> {
        let api = self.api()?;
        match Kind::of(&req.type_name)? {
            Kind::Vpc => vpc::create(api, &req.planned).await,
            Kind::Cluster => cluster::create(api, &req.planned, ctx).await,
            Kind::NodePool => node_pool::create(api, &req.planned, ctx).await,
            Kind::Database => database::create(api, &req.planned, ctx).await,
        }
    }

    async fn update(
        &self,
        req: UpdateRequest,
        ctx: &OperationContext,
    ) -> ProviderResult<ResourceObject> {
        let api = self.api()?;
        match Kind::of(&req.type_name)? {
            Kind::Vpc => vpc::update(api, &req.id, &req.planned).await,
            Kind::Cluster => cluster::update(api, &req.id, &req.prior, &req.planned, ctx).await,
            Kind::NodePool => node_pool::update(api, &req.id, &req.planned, ctx).await,
            Kind::Database => database::update(api, &req.id, &req.prior, &req.planned, ctx).await,
        }
    }

    async fn delete(&self, req: DeleteRequest, ctx: &OperationContext) -> ProviderResult<()> {
        let api = self.api()?;
        match Kind::of(&req.type_name)? {
            Kind::Vpc => vpc::delete(api, &req.id).await,
            Kind::Cluster => cluster::delete(api, &req.id, ctx).await,
            Kind::NodePool => node_pool::delete(api, &req.id, &req.prior, ctx).await,
            Kind::Database => database::delete(api, &req.id, ctx).await,
        }
    }

    async fn list(&self, req: ListRequest) -> ProviderResult<Vec<ListedObject>> {
        let api = self.api()?;
        match Kind::of(&req.type_name)? {
            Kind::Vpc => vpc::list(api).await,
            Kind::Cluster => cluster::list(api).await,
            Kind::Database => database::list(api).await,
            // Node pools live inside clusters: an unmanaged pool of a managed cluster is
            // reported when the cluster's own read shows it.
            Kind::NodePool => Err(ProviderError::unsupported("listing node pools")),
        }
    }

    async fn find(&self, req: FindRequest) -> ProviderResult<Option<ResourceObject>> {
        let api = self.api()?;
        match Kind::of(&req.type_name)? {
            Kind::Vpc => vpc::find(api, &req.planned).await,
            Kind::Cluster => cluster::find(api, &req.planned).await,
            Kind::NodePool => node_pool::find(api, &req.planned).await,
            Kind::Database => database::find(api, &req.planned).await,
        }
    }
}
