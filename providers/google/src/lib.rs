//! The google provider: GKE clusters and node pools, and Cloud SQL PostgreSQL instances.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use strata_core::provider::{
    CreateRequest, DeleteRequest, OperationContext, Provider, ProviderError, ProviderResult,
    ReadRequest, ResourceObject, UpdateRequest,
};
use strata_core::schema::ProviderSchema;
use strata_core::Value;

/// The `google` provider.
#[derive(Debug, Default)]
pub struct GoogleProvider;

impl GoogleProvider {
    pub fn new() -> GoogleProvider {
        GoogleProvider
    }
}

/// Environment variables that point this provider at the cloud emulator serving on
/// `base_url`, whose data folder is `data_dir`; set by `--emulate` before any provider is
/// configured.
pub fn emulator_env(base_url: &str, data_dir: &Path) -> Vec<(String, String)> {
    let _ = (base_url, data_dir);
    Vec::new()
}

#[async_trait]
impl Provider for GoogleProvider {
    fn name(&self) -> &str {
        "google"
    }

    fn schema(&self) -> ProviderSchema {
        ProviderSchema::default()
    }

    async fn configure(&self, _config: Value) -> ProviderResult<Arc<dyn Provider>> {
        Err(ProviderError::unsupported("the google provider"))
    }

    async fn read(&self, _req: ReadRequest) -> ProviderResult<Option<ResourceObject>> {
        Err(ProviderError::unsupported("the google provider"))
    }

    async fn create(
        &self,
        _req: CreateRequest,
        _ctx: &OperationContext,
    ) -> ProviderResult<ResourceObject> {
        Err(ProviderError::unsupported("the google provider"))
    }

    async fn update(
        &self,
        _req: UpdateRequest,
        _ctx: &OperationContext,
    ) -> ProviderResult<ResourceObject> {
        Err(ProviderError::unsupported("the google provider"))
    }

    async fn delete(&self, _req: DeleteRequest, _ctx: &OperationContext) -> ProviderResult<()> {
        Err(ProviderError::unsupported("the google provider"))
    }
}
