//! The [`Provider`] implementation: configuration, then each operation dispatched to the
//! module of its resource type.

use crate::api::Api;
use crate::resources::{cluster, group, pool, postgres};
use crate::schema::{self, AKS_CLUSTER, AKS_NODE_POOL, POSTGRES_FLEXIBLE_SERVER, RESOURCE_GROUP};
use crate::settings::Settings;
use async_trait::async_trait;
use std::sync::Arc;
use strata_core::provider::{
    CreateRequest, DeleteRequest, ErrorKind, FindRequest, OperationContext, PlanRequest,
    PlanResponse, Provider, ProviderError, ProviderResult, ReadRequest, ResourceObject,
    UpdateRequest,
};
use strata_core::schema::ProviderSchema;
use strata_core::{Path, Value};

/// The provider's name in configurations, and in the throttling signal it reports.
pub(crate) const NAME: &str = "azure";

/// The provider registered as `azure`. [`AzureProvider::new`] is the unconfigured instance the
/// engine registers; [`Provider::configure`] returns one bound to a service principal.
#[derive(Debug, Clone, Default)]
pub struct AzureProvider {
    api: Option<Arc<Api>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Group,
    Cluster,
    Pool,
    Postgres,
}

impl Kind {
    fn of(type_name: &str) -> ProviderResult<Kind> {
        match type_name {
            RESOURCE_GROUP => Ok(Kind::Group),
            AKS_CLUSTER => Ok(Kind::Cluster),
            AKS_NODE_POOL => Ok(Kind::Pool),
            POSTGRES_FLEXIBLE_SERVER => Ok(Kind::Postgres),
            other => Err(ProviderError::new(
                ErrorKind::InvalidConfig,
                format!("the azure provider has no resource type {other:?}"),
            )
            .with_hint(format!(
                "it knows {RESOURCE_GROUP}, {AKS_CLUSTER}, {AKS_NODE_POOL} and {POSTGRES_FLEXIBLE_SERVER}"
            ))),
        }
    }
}

impl AzureProvider {
    /// The unconfigured provider: it can describe its schema and be configured, nothing else.
    pub fn new() -> AzureProvider {
        AzureProvider { api: None }
    }

    /// A provider already configured with `settings`, for callers that bypass the provider
    /// block (tests that shorten the retry policy or the poll interval).
    pub fn with_settings(settings: Settings) -> ProviderResult<AzureProvider> {
        Ok(AzureProvider {
            api: Some(Arc::new(Api::new(settings)?)),
        })
    }

    fn api(&self) -> ProviderResult<&Api> {
        self.api.as_deref().ok_or_else(|| {
            ProviderError::new(
                ErrorKind::Internal,
                "the azure provider was used before being configured",
            )
        })
    }
}

#[async_trait]
impl Provider for AzureProvider {
    fn name(&self) -> &str {
        NAME
    }

    fn schema(&self) -> ProviderSchema {
        schema::provider_schema()
    }

    async fn configure(&self, config: Value) -> ProviderResult<Arc<dyn Provider>> {
        let settings = Settings::from_config(&config, |k| std::env::var(k).ok())?;
        Ok(Arc::new(AzureProvider::with_settings(settings)?))
    }

    /// A flexible server's storage can grow in place but never shrink: a smaller `storage_mb`
    /// replaces the server.
    async fn plan(&self, req: PlanRequest) -> ProviderResult<PlanResponse> {
        let mut requires_replace = Vec::new();
        if req.type_name == POSTGRES_FLEXIBLE_SERVER {
            if let Some(prior) = &req.prior {
                let old = prior.attributes.get("storage_mb").and_then(|v| v.as_f64());
                let new = req.proposed.get("storage_mb").and_then(|v| v.as_f64());
                if let (Some(old), Some(new)) = (old, new) {
                    if new < old {
                        requires_replace.push(Path::root().key("storage_mb"));
                    }
                }
            }
        }
        Ok(PlanResponse {
            planned: req.proposed,
            requires_replace,
        })
    }

    async fn read(&self, req: ReadRequest) -> ProviderResult<Option<ResourceObject>> {
        let api = self.api()?;
        match Kind::of(&req.type_name)? {
            Kind::Group => group::read(api, &req.id, &req.prior).await,
            Kind::Cluster => cluster::read(api, &req.id, &req.prior).await,
            Kind::Pool => pool::read(api, &req.id, &req.prior).await,
            Kind::Postgres => postgres::read(api, &req.id, &req.prior).await,
        }
    }

    async fn create(
        &self,
        req: CreateRequest,
        ctx: &OperationContext,
    ) -> ProviderResult<ResourceObject> {
        let api = self.api()?;
        // ARM's PUT is idempotent: a create that is retried, or that follows a crash, makes
        // the same resource, never a second one.
        match Kind::of(&req.type_name)? {
            Kind::Group => group::put(api, &req.planned, ctx).await,
            Kind::Cluster => cluster::put(api, &req.planned, &Value::Null, ctx).await,
            Kind::Pool => pool::put(api, &req.planned, ctx).await,
            Kind::Postgres => postgres::put(api, &req.planned, &Value::Null, ctx).await,
        }
    }

    async fn update(
        &self,
        req: UpdateRequest,
        ctx: &OperationContext,
    ) -> ProviderResult<ResourceObject> {
        let api = self.api()?;
        match Kind::of(&req.type_name)? {
            Kind::Group => group::put(api, &req.planned, ctx).await,
            Kind::Cluster => cluster::put(api, &req.planned, &req.prior, ctx).await,
            Kind::Pool => pool::put(api, &req.planned, ctx).await,
            Kind::Postgres => postgres::put(api, &req.planned, &req.prior, ctx).await,
        }
    }

    async fn delete(&self, req: DeleteRequest, ctx: &OperationContext) -> ProviderResult<()> {
        let api = self.api()?;
        match Kind::of(&req.type_name)? {
            Kind::Group => group::delete(api, &req.id, ctx).await,
            Kind::Cluster => cluster::delete(api, &req.id, ctx).await,
            Kind::Pool => pool::delete(api, &req.id, ctx).await,
            Kind::Postgres => postgres::delete(api, &req.id, ctx).await,
        }
    }

    async fn find(&self, req: FindRequest) -> ProviderResult<Option<ResourceObject>> {
        let api = self.api()?;
        match Kind::of(&req.type_name)? {
            Kind::Group => group::find(api, &req.planned).await,
            Kind::Cluster => cluster::find(api, &req.planned).await,
            Kind::Pool => pool::find(api, &req.planned).await,
            Kind::Postgres => postgres::find(api, &req.planned).await,
        }
    }
}
