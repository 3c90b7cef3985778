//! The provider protocol: the one trait every provider implements.
//!
//! A provider is compiled into the binary and registered by name. The engine first asks the
//! unconfigured instance for its [`ProviderSchema`], then calls [`Provider::configure`] with the
//! evaluated `provider "NAME" { ... }` block (only once that block is wholly known) and uses the
//! configured instance for every resource operation.
//!
//! The operations are explicit request/response pairs, in the spirit of Terraform's provider
//! protocol, so a new provider is one new crate that depends on this one and nothing else.
//!
//! Values passed to and returned by providers carry no unknowns except in
//! [`PlanRequest::proposed`]; sensitive marks may be present and must be preserved or dropped,
//! never printed. The engine re-applies the schema's sensitive marks to every value it receives.

use crate::schema::ProviderSchema;
use crate::value::{Path, Value};
use async_trait::async_trait;
use std::fmt;
use std::sync::Arc;

/// An object as the cloud holds it: its cloud id and its attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceObject {
    pub id: String,
    /// A map of every attribute in the resource's schema that has a value.
    pub attributes: Value,
}

#[derive(Debug, Clone)]
pub struct PlanRequest {
    pub type_name: String,
    /// What state holds; `None` when the resource will be created.
    pub prior: Option<ResourceObject>,
    /// The engine's proposal: configuration merged with prior computed values, unknowns where
    /// the value cannot be known before apply.
    pub proposed: Value,
}

#[derive(Debug, Clone)]
pub struct PlanResponse {
    pub planned: Value,
    /// Attributes whose change cannot be made in place, beyond those the schema marks force-new.
    pub requires_replace: Vec<Path>,
}

#[derive(Debug, Clone)]
pub struct ReadRequest {
    pub type_name: String,
    pub id: String,
    /// The attributes state holds (the configuration of an import is `Null`).
    pub prior: Value,
}

#[derive(Debug, Clone)]
pub struct CreateRequest {
    pub type_name: String,
    /// Wholly known desired attributes (computed ones absent or null).
    pub planned: Value,
}

#[derive(Debug, Clone)]
pub struct UpdateRequest {
    pub type_name: String,
    pub id: String,
    pub prior: Value,
    pub planned: Value,
    /// The attribute paths whose values differ between prior and planned.
    pub changed: Vec<Path>,
}

#[derive(Debug, Clone)]
pub struct DeleteRequest {
    pub type_name: String,
    pub id: String,
    pub prior: Value,
}

/// Looks up an object the engine may have created before a crash, from the attributes it meant
/// to create it with (typically by name, tags or an idempotency token).
#[derive(Debug, Clone)]
pub struct FindRequest {
    pub type_name: String,
    pub planned: Value,
}

/// Asks for every object of one resource type the provider's credentials can see.
#[derive(Debug, Clone)]
pub struct ListRequest {
    pub type_name: String,
}

/// One object found by [`Provider::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    /// The cloud id, as [`ResourceObject::id`] would hold it.
    pub id: String,
    /// A name a person recognises it by.
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct DataRequest {
    pub type_name: String,
    pub config: Value,
}

/// Context for one long-running operation.
#[derive(Clone)]
pub struct OperationContext {
    progress: Arc<dyn Fn(&str) + Send + Sync>,
}

impl OperationContext {
    pub fn new(progress: impl Fn(&str) + Send + Sync + 'static) -> OperationContext {
        OperationContext {
            progress: Arc::new(progress),
        }
    }

    /// A context that discards progress reports.
    pub fn silent() -> OperationContext {
        OperationContext::new(|_| {})
    }

    /// Reports the cloud's status for the object, e.g. `CREATING` or `provisioning`.
    pub fn report(&self, status: &str) {
        (self.progress)(status)
    }
}

impl fmt::Debug for OperationContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OperationContext")
    }
}

/// What went wrong, as far as the engine needs to know to decide what to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The configuration is wrong; retrying will not help.
    InvalidConfig,
    /// Credentials are missing or rejected.
    Credentials,
    NotFound,
    /// The object exists already, or is in a state that forbids the operation.
    Conflict,
    /// The cloud asked us to slow down.
    Throttled,
    /// 5xx, connection reset: may succeed later.
    Unavailable,
    /// An operation did not finish in time.
    Timeout,
    /// Any other error the cloud returned.
    Api,
    /// The provider does not implement this operation.
    Unsupported,
    Internal,
}

#[derive(Debug, Clone)]
pub struct ProviderError {
    pub kind: ErrorKind,
    pub message: String,
    pub hint: Option<String>,
    /// What exists after a failed operation that made partial progress; the engine records it
    /// so that the next run resumes instead of starting over.
    pub partial: Option<Box<ResourceObject>>,
}

impl ProviderError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ProviderError {
        ProviderError {
            kind,
            message: message.into(),
            hint: None,
            partial: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> ProviderError {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_partial(mut self, object: ResourceObject) -> ProviderError {
        self.partial = Some(Box::new(object));
        self
    }

    pub fn unsupported(what: &str) -> ProviderError {
        ProviderError::new(
            ErrorKind::Unsupported,
            format!("{what} is not supported by this provider"),
        )
    }

    /// True for errors worth retrying with backoff.
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind, ErrorKind::Throttled | ErrorKind::Unavailable)
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ProviderError {}

pub type ProviderResult<T> = Result<T, ProviderError>;

/// A provider plugin.
///
/// Implementations must be cheap to share (`Arc`) and safe to call concurrently: the engine runs
/// independent operations in parallel.
#[async_trait]
pub trait Provider: Send + Sync {
    /// The name used in configuration: `provider "NAME" {}` and the `NAME_` prefix of types.
    fn name(&self) -> &str;

    fn schema(&self) -> ProviderSchema;

    /// Returns an instance configured from the evaluated provider block (wholly known).
    async fn configure(&self, config: Value) -> ProviderResult<Arc<dyn Provider>>;

    /// Lets the provider refine the engine's proposal (mark more attributes unknown, ask for a
    /// replacement). The default accepts the proposal as it is.
    async fn plan(&self, req: PlanRequest) -> ProviderResult<PlanResponse> {
        Ok(PlanResponse {
            planned: req.proposed,
            requires_replace: Vec::new(),
        })
    }

    /// Reads the object as it is now; `Ok(None)` if it no longer exists.
    async fn read(&self, req: ReadRequest) -> ProviderResult<Option<ResourceObject>>;

    async fn create(
        &self,
        req: CreateRequest,
        ctx: &OperationContext,
    ) -> ProviderResult<ResourceObject>;

    async fn update(
        &self,
        req: UpdateRequest,
        ctx: &OperationContext,
    ) -> ProviderResult<ResourceObject>;

    /// Deletes the object; deleting one that is already gone succeeds.
    async fn delete(&self, req: DeleteRequest, ctx: &OperationContext) -> ProviderResult<()>;

    /// Finds an object created by an operation whose outcome is unknown (a crash, a timeout).
    async fn find(&self, req: FindRequest) -> ProviderResult<Option<ResourceObject>> {
        let _ = req;
        Err(ProviderError::unsupported("finding objects after a crash"))
    }

    /// Lists every object of a resource type (for `strata drift --unmanaged`), leaving out
    /// objects the cloud itself owns (a region's default network). Read-only.
    async fn list(&self, req: ListRequest) -> ProviderResult<Vec<ListedObject>> {
        Err(ProviderError::unsupported(&format!(
            "listing {} objects",
            req.type_name
        )))
    }

    /// Reads a data source.
    async fn read_data(&self, req: DataRequest) -> ProviderResult<Value> {
        Err(ProviderError::unsupported(&format!(
            "data source {}",
            req.type_name
        )))
    }
}
