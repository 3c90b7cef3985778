//! The [`Provider`] implementation: configuration, then each operation dispatched to the
//! module of its resource type.

use crate::api::{on_big_stack, Api};
use crate::resources::{cluster, node_pool, sql_instance};
use crate::schema::{self, GKE_CLUSTER, GKE_NODE_POOL, SQL_INSTANCE};
use crate::settings::Settings;
use async_trait::async_trait;
use std::sync::Arc;
use strata_core::provider::{
    CreateRequest, DeleteRequest, ErrorKind, FindRequest, OperationContext, Provider,
    ProviderError, ProviderResult, ReadRequest, ResourceObject, UpdateRequest,
};
use strata_core::schema::ProviderSchema;
use strata_core::Value;

/// The provider's name in configurations, and in the throttling signal it reports.
pub(crate) const NAME: &str = "google";

/// The `google` provider. [`GoogleProvider::new`] is the unconfigured instance the engine
/// registers; [`Provider::configure`] returns one bound to credentials and endpoints.
#[derive(Debug, Clone, Default)]
pub struct GoogleProvider {
    api: Option<Arc<Api>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Cluster,
    NodePool,
    SqlInstance,
}

impl Kind {
    fn of(type_name: &str) -> ProviderResult<Kind> {
        match type_name {
            GKE_CLUSTER => Ok(Kind::Cluster),
            GKE_NODE_POOL => Ok(Kind::NodePool),
            SQL_INSTANCE => Ok(Kind::SqlInstance),
            other => Err(ProviderError::new(
                ErrorKind::InvalidConfig,
                format!("the google provider has no resource type {other:?}"),
            )
            .with_hint(format!(
                "it knows {GKE_CLUSTER}, {GKE_NODE_POOL} and {SQL_INSTANCE}"
            ))),
        }
    }
}

impl GoogleProvider {
    /// The unconfigured provider: it can describe its schema and be configured, nothing else.
    pub fn new() -> GoogleProvider {
        GoogleProvider { api: None }
    }

    /// A provider configured with `settings`, for callers that bypass the provider block.
    pub async fn with_settings(settings: Settings) -> ProviderResult<GoogleProvider> {
        let api = on_big_stack(async move { Api::new(settings).await }).await?;
        Ok(GoogleProvider {
            api: Some(Arc::new(api)),
        })
    }

    fn api(&self) -> ProviderResult<Arc<Api>> {
        self.api.clone().ok_or_else(|| {
            ProviderError::new(
                ErrorKind::Internal,
                "the google provider was used before being configured",
            )
        })
    }
}

#[async_trait]
impl Provider for GoogleProvider {
    fn name(&self) -> &str {
        NAME
    }

    fn schema(&self) -> ProviderSchema {
        schema::provider_schema()
    }

    async fn configure(&self, config: Value) -> ProviderResult<Arc<dyn Provider>> {
        let settings = Settings::from_config(&config, |k| std::env::var(k).ok())?;
        Ok(Arc::new(GoogleProvider::with_settings(settings).await?))
    }

    async fn read(&self, req: ReadRequest) -> ProviderResult<Option<ResourceObject>> {
        let (api, kind) = (self.api()?, Kind::of(&req.type_name)?);
        on_big_stack(async move {
            let api = &*api;
            match kind {
                Kind::Cluster => cluster::read(api, &req.id, &req.prior).await,
                Kind::NodePool => node_pool::read(api, &req.id, &req.prior).await,
                Kind::SqlInstance => sql_instance::read(api, &req.id, &req.prior).await,
            }
        })
        .await
    }

    async fn create(
        &self,
        req: CreateRequest,
        ctx: &OperationContext,
    ) -> ProviderResult<ResourceObject> {
        let (api, kind, ctx) = (self.api()?, Kind::of(&req.type_name)?, ctx.clone());
        on_big_stack(async move {
            let (api, ctx) = (&*api, &ctx);
            match kind {
                Kind::Cluster => cluster::create(api, &req.planned, ctx).await,
                Kind::NodePool => node_pool::create(api, &req.planned, ctx).await,
                Kind::SqlInstance => sql_instance::create(api, &req.planned, ctx).await,
            }
        })
        .await
    }

    async fn update(
        &self,
        req: UpdateRequest,
        ctx: &OperationContext,
    ) -> ProviderResult<ResourceObject> {
        let (api, kind, ctx) = (self.api()?, Kind::of(&req.type_name)?, ctx.clone());
        on_big_stack(async move {
            let (api, ctx) = (&*api, &ctx);
            match kind {
                Kind::Cluster => cluster::update(api, &req.id, &req.prior, &req.planned, ctx).await,
                Kind::NodePool => {
                    node_pool::update(api, &req.id, &req.prior, &req.planned, ctx).await
                }
                Kind::SqlInstance => {
                    sql_instance::update(api, &req.id, &req.prior, &req.planned, ctx).await
                }
            }
        })
        .await
    }

    async fn delete(&self, req: DeleteRequest, ctx: &OperationContext) -> ProviderResult<()> {
        let (api, kind, ctx) = (self.api()?, Kind::of(&req.type_name)?, ctx.clone());
        on_big_stack(async move {
            let (api, ctx) = (&*api, &ctx);
            match kind {
                Kind::Cluster => cluster::delete(api, &req.id, ctx).await,
                Kind::NodePool => node_pool::delete(api, &req.id, ctx).await,
                Kind::SqlInstance => sql_instance::delete(api, &req.id, &req.prior, ctx).await,
            }
        })
        .await
    }

    async fn find(&self, req: FindRequest) -> ProviderResult<Option<ResourceObject>> {
        let (api, kind) = (self.api()?, Kind::of(&req.type_name)?);
        on_big_stack(async move {
            let api = &*api;
            match kind {
                Kind::Cluster => cluster::find(api, &req.planned).await,
                Kind::NodePool => node_pool::find(api, &req.planned).await,
                Kind::SqlInstance => sql_instance::find(api, &req.planned).await,
            }
        })
        .await
    }
}
