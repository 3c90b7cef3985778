//! The azure provider: resource groups, AKS clusters and node pools, and PostgreSQL flexible servers, over ARM REST.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use strata_core::provider::{
    CreateRequest, DeleteRequest, OperationContext, Provider, ProviderError, ProviderResult,
    ReadRequest, ResourceObject, UpdateRequest,
};
use strata_core::schema::ProviderSchema;
use strata_core::Value;

/// The `azure` provider.
#[derive(Debug, Default)]
pub struct AzureProvider;

impl AzureProvider {
    pub fn new() -> AzureProvider {
        AzureProvider
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
impl Provider for AzureProvider {
    fn name(&self) -> &str {
        "azure"
    }

    fn schema(&self) -> ProviderSchema {
        ProviderSchema::default()
    }

    async fn configure(&self, _config: Value) -> ProviderResult<Arc<dyn Provider>> {
        Err(ProviderError::unsupported("the azure provider"))
    }

    async fn read(&self, _req: ReadRequest) -> ProviderResult<Option<ResourceObject>> {
        Err(ProviderError::unsupported("the azure provider"))
    }

    async fn create(
        &self,
        _req: CreateRequest,
        _ctx: &OperationContext,
    ) -> ProviderResult<ResourceObject> {
        Err(ProviderError::unsupported("the azure provider"))
    }

    async fn update(
        &self,
        _req: UpdateRequest,
        _ctx: &OperationContext,
    ) -> ProviderResult<ResourceObject> {
        Err(ProviderError::unsupported("the azure provider"))
    }

    async fn delete(&self, _req: DeleteRequest, _ctx: &OperationContext) -> ProviderResult<()> {
        Err(ProviderError::unsupported("the azure provider"))
    }
}
