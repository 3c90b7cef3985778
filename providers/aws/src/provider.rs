//! The [`Provider`] implementation: configuration, then each operation dispatched to the
//! module of its resource type.

use crate::client::Clients;
use crate::resources::{cluster, db_instance, node_group};
use crate::schema::{self, DB_INSTANCE, EKS_CLUSTER, EKS_NODE_GROUP};
use crate::settings::Settings;
use crate::NAME;
use async_trait::async_trait;
use std::sync::Arc;
use strata_core::provider::{
    CreateRequest, DeleteRequest, ErrorKind, FindRequest, OperationContext, Provider,
    ProviderError, ProviderResult, ReadRequest, ResourceObject, UpdateRequest,
};
use strata_core::schema::ProviderSchema;
use strata_core::Value;

/// The provider registered as `aws`. [`AwsProvider::new`] is the unconfigured instance the
/// engine registers; [`Provider::configure`] returns one bound to clients.
#[derive(Debug, Clone, Default)]
pub struct AwsProvider {
    aws: Option<Arc<Aws>>,
}

/// A configured provider: its settings and SDK clients.
#[derive(Debug)]
pub(crate) struct Aws {
    pub settings: Settings,
    pub clients: Clients,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Cluster,
    NodeGroup,
    DbInstance,
}

impl Kind {
    fn of(type_name: &str) -> ProviderResult<Kind> {
        match type_name {
            EKS_CLUSTER => Ok(Kind::Cluster),
            EKS_NODE_GROUP => Ok(Kind::NodeGroup),
            DB_INSTANCE => Ok(Kind::DbInstance),
            other => Err(ProviderError::new(
                ErrorKind::InvalidConfig,
                format!("the aws provider has no resource type {other:?}"),
            )
            .with_hint(format!(
                "it knows {EKS_CLUSTER}, {EKS_NODE_GROUP} and {DB_INSTANCE}"
            ))),
        }
    }
}

impl AwsProvider {
    /// The unconfigured provider: it can describe its schema and be configured, nothing else.
    pub fn new() -> AwsProvider {
        AwsProvider { aws: None }
    }

    /// A provider configured with `settings` (tests shorten the poll interval or the retry
    /// policy this way); credentials still come from the SDK's chain.
    pub async fn with_settings(settings: Settings) -> ProviderResult<AwsProvider> {
        let clients = Clients::connect(&settings).await?;
        Ok(AwsProvider {
            aws: Some(Arc::new(Aws { settings, clients })),
        })
    }

    fn aws(&self) -> ProviderResult<&Aws> {
        self.aws.as_deref().ok_or_else(|| {
            ProviderError::new(
                ErrorKind::Internal,
                "the aws provider was used before being configured",
            )
        })
    }
}

#[async_trait]
impl Provider for AwsProvider {
    fn name(&self) -> &str {
        NAME
    }

    fn schema(&self) -> ProviderSchema {
        schema::provider_schema()
    }

    async fn configure(&self, config: Value) -> ProviderResult<Arc<dyn Provider>> {
        let settings = Settings::from_config(&config, |k| std::env::var(k).ok())?;
        Ok(Arc::new(AwsProvider::with_settings(settings).await?))
    }

    async fn read(&self, req: ReadRequest) -> ProviderResult<Option<ResourceObject>> {
        let aws = self.aws()?;
        match Kind::of(&req.type_name)? {
            Kind::Cluster => cluster::read(aws, &req.id, &req.prior).await,
            Kind::NodeGroup => node_group::read(aws, &req.id, &req.prior).await,
            Kind::DbInstance => db_instance::read(aws, &req.id, &req.prior).await,
        }
    }

    async fn create(
        &self,
        req: CreateRequest,
        ctx: &OperationContext,
    ) -> ProviderResult<ResourceObject> {
        let aws = self.aws()?;
        match Kind::of(&req.type_name)? {
            Kind::Cluster => cluster::create(aws, &req.planned, ctx).await,
            Kind::NodeGroup => node_group::create(aws, &req.planned, ctx).await,
            Kind::DbInstance => db_instance::create(aws, &req.planned, ctx).await,
        }
    }

    async fn update(
        &self,
        req: UpdateRequest,
        ctx: &OperationContext,
    ) -> ProviderResult<ResourceObject> {
        let aws = self.aws()?;
        match Kind::of(&req.type_name)? {
            Kind::Cluster => cluster::update(aws, &req.id, &req.prior, &req.planned, ctx).await,
            Kind::NodeGroup => {
                node_group::update(aws, &req.id, &req.prior, &req.planned, ctx).await
            }
            Kind::DbInstance => {
                db_instance::update(aws, &req.id, &req.prior, &req.planned, ctx).await
            }
        }
    }

    async fn delete(&self, req: DeleteRequest, ctx: &OperationContext) -> ProviderResult<()> {
        let aws = self.aws()?;
        match Kind::of(&req.type_name)? {
            Kind::Cluster => cluster::delete(aws, &req.id, ctx).await,
            Kind::NodeGroup => node_group::delete(aws, &req.id, ctx).await,
            Kind::DbInstance => db_instance::delete(aws, &req.id, &req.prior, ctx).await,
        }
    }

    async fn find(&self, req: FindRequest) -> ProviderResult<Option<ResourceObject>> {
        let aws = self.aws()?;
        match Kind::of(&req.type_name)? {
            Kind::Cluster => cluster::find(aws, &req.planned).await,
            Kind::NodeGroup => node_group::find(aws, &req.planned).await,
            Kind::DbInstance => db_instance::find(aws, &req.planned).await,
        }
    }
}
