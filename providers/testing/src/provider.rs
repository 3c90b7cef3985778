//! The [`Provider`] implementation over the folder store.

use crate::schema::{self, CLUSTER, LOOKUP, THING};
use crate::settings::Settings;
use crate::store::Store;
use async_trait::async_trait;
use std::io;
use std::sync::Arc;
use strata_core::provider::{
    CreateRequest, DataRequest, DeleteRequest, ErrorKind, FindRequest, OperationContext, Provider,
    ProviderError, ProviderResult, ReadRequest, ResourceObject, UpdateRequest,
};
use strata_core::schema::{BlockSchema, Nesting, ProviderSchema, ResourceSchema};
use strata_core::{Path, Value};

/// The provider registered as `testing`. [`TestingProvider::new`] is the unconfigured instance
/// the engine registers; [`Provider::configure`] returns one bound to a folder.
#[derive(Debug, Clone, Default)]
pub struct TestingProvider {
    settings: Option<Arc<Settings>>,
}

type JsonMap = serde_json::Map<String, serde_json::Value>;

impl TestingProvider {
    /// The unconfigured provider: it can describe its schema and be configured, nothing else.
    pub fn new() -> TestingProvider {
        TestingProvider { settings: None }
    }

    /// A provider already configured with `settings`, for tests that bypass configuration.
    pub fn with_settings(settings: Settings) -> TestingProvider {
        TestingProvider {
            settings: Some(Arc::new(settings)),
        }
    }

    fn settings(&self) -> ProviderResult<&Settings> {
        self.settings.as_deref().ok_or_else(|| {
            ProviderError::new(
                ErrorKind::Internal,
                "the testing provider was used before being configured",
            )
        })
    }

    fn store(&self) -> ProviderResult<Store> {
        Ok(Store::new(&self.settings()?.dir))
    }

    /// Waits for the configured latency, as a real cloud call would take time.
    async fn pause(&self) -> ProviderResult<()> {
        let latency = self.settings()?.latency;
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        Ok(())
    }

    fn check_injected_failure(&self, name: &str) -> ProviderResult<()> {
        if self.settings()?.fail_on.contains(name) {
            return Err(
                ProviderError::new(ErrorKind::Api, "injected failure").with_hint(format!(
                    "{name:?} is listed in the testing provider's fail_on or in {}",
                    crate::settings::FAIL_ON_ENV
                )),
            );
        }
        Ok(())
    }
}

fn resource_schema(type_name: &str) -> ProviderResult<ResourceSchema> {
    schema::provider_schema()
        .resources
        .remove(type_name)
        .ok_or_else(|| {
            ProviderError::new(
                ErrorKind::InvalidConfig,
                format!("the testing provider has no resource type {type_name:?}"),
            )
            .with_hint(format!("it knows {THING} and {CLUSTER}"))
        })
}

/// Runs blocking file I/O off the async executor.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> ProviderResult<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) if e.kind() == io::ErrorKind::InvalidInput => {
            Err(ProviderError::new(ErrorKind::InvalidConfig, e.to_string()))
        }
        Ok(Err(e)) => Err(ProviderError::new(
            ErrorKind::Internal,
            format!("testing cloud folder: {e}"),
        )),
        Err(e) => Err(ProviderError::new(
            ErrorKind::Internal,
            format!("testing cloud I/O did not finish: {e}"),
        )),
    }
}

/// The attributes to store: wholly known, without sensitive marks (the cloud holds secrets in
/// clear, as a real one does), as a JSON object.
fn stored_attributes(planned: &Value) -> ProviderResult<JsonMap> {
    if !planned.is_wholly_known() {
        return Err(ProviderError::new(
            ErrorKind::Internal,
            "the testing provider was given attributes that are not yet known",
        ));
    }
    match planned.to_json() {
        serde_json::Value::Object(m) => Ok(m),
        _ => Err(ProviderError::new(
            ErrorKind::InvalidConfig,
            format!(
                "resource attributes must be a map, found {}",
                planned.type_name()
            ),
        )),
    }
}

fn name_of(attributes: &JsonMap) -> ProviderResult<String> {
    match attributes.get("name") {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(ProviderError::new(
            ErrorKind::InvalidConfig,
            "the \"name\" attribute is required and must be a non-empty string",
        )),
    }
}

fn to_object(schema: &ResourceSchema, id: String, attributes: JsonMap) -> ResourceObject {
    let value = Value::from_json(&serde_json::Value::Object(attributes));
    ResourceObject {
        id,
        attributes: schema.block.mark_sensitive(value),
    }
}

fn random_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Fills in what the cloud computes when an object is created.
fn add_computed_on_create(type_name: &str, id: &str, attributes: &mut JsonMap) {
    let mut set = |k: &str, v: String| {
        attributes.insert(k.to_string(), serde_json::Value::String(v));
    };
    set("id", id.to_string());
    match type_name {
        THING => {
            set("created_at", now_rfc3339());
            set("secret", format!("secret-{}", random_token()));
        }
        CLUSTER => {
            let endpoint = format!("https://{id}.k8s.testing.invalid");
            set(
                "kubeconfig",
                format!(
                    "apiVersion: v1\nkind: Config\nclusters:\n- name: {id}\n  cluster:\n    server: {endpoint}\nusers:\n- name: admin\n  user:\n    token: token-{}\n",
                    random_token()
                ),
            );
            set("endpoint", endpoint);
        }
        _ => {}
    }
}

/// The force-new attributes whose value differs between `prior` and `planned` (nested list
/// blocks are compared item by item). A real cloud refuses such changes in place; so does this
/// one, so that an engine that forgets to replace is caught.
fn force_new_changes(block: &BlockSchema, prior: &Value, planned: &Value, at: &Path) -> Vec<Path> {
    let mut out = Vec::new();
    let field = |v: &Value, k: &str| v.get(k).unwrap_or(Value::Null);
    for (name, attr) in &block.attributes {
        if attr.force_new && field(prior, name) != field(planned, name) {
            out.push(at.key(name));
        }
    }
    for (name, nested) in &block.blocks {
        let (before, after) = (field(prior, name), field(planned, name));
        match nested.nesting {
            Nesting::Single => out.extend(force_new_changes(
                &nested.block,
                &before,
                &after,
                &at.key(name),
            )),
            Nesting::List => {
                let empty = Vec::new();
                let before = before.as_list().unwrap_or(&empty);
                let after = after.as_list().unwrap_or(&empty);
                for (i, (b, a)) in before.iter().zip(after).enumerate() {
                    out.extend(force_new_changes(
                        &nested.block,
                        b,
                        a,
                        &at.key(name).index(i),
                    ));
                }
            }
        }
    }
    out
}

#[async_trait]
impl Provider for TestingProvider {
    fn name(&self) -> &str {
        "testing"
    }

    fn schema(&self) -> ProviderSchema {
        schema::provider_schema()
    }

    async fn configure(&self, config: Value) -> ProviderResult<Arc<dyn Provider>> {
        let settings = Settings::from_config(&config, |k| std::env::var(k).ok())?;
        let dir = settings.dir.clone();
        blocking(move || std::fs::create_dir_all(&dir))
            .await
            .map_err(|e| {
                ProviderError::new(
                    ErrorKind::InvalidConfig,
                    format!(
                        "cannot use {} as the testing cloud: {}",
                        settings.dir.display(),
                        e.message
                    ),
                )
            })?;
        Ok(Arc::new(TestingProvider::with_settings(settings)))
    }

    async fn read(&self, req: ReadRequest) -> ProviderResult<Option<ResourceObject>> {
        let schema = resource_schema(&req.type_name)?;
        let store = self.store()?;
        // Reads take time too: a refresh or a drift check of many objects is bounded by them.
        self.pause().await?;
        let (type_name, id) = (req.type_name.clone(), req.id.clone());
        let found = blocking(move || store.read(&type_name, &id)).await?;
        Ok(found.and_then(|json| match json {
            serde_json::Value::Object(m) => Some(to_object(&schema, req.id, m)),
            _ => None,
        }))
    }

    async fn create(
        &self,
        req: CreateRequest,
        ctx: &OperationContext,
    ) -> ProviderResult<ResourceObject> {
        let schema = resource_schema(&req.type_name)?;
        let store = self.store()?;
        let mut attributes = stored_attributes(&req.planned)?;
        let name = name_of(&attributes)?;
        self.check_injected_failure(&name)?;
        let id = uuid::Uuid::new_v4().to_string();
        add_computed_on_create(&req.type_name, &id, &mut attributes);
        let json = serde_json::Value::Object(attributes.clone());
        let (type_name, file_id) = (req.type_name.clone(), id.clone());
        // Like a real cloud, the object exists as soon as the request is accepted and becomes
        // ready later: a caller that dies while waiting leaves an object it never heard of.
        blocking(move || store.write(&type_name, &file_id, &json)).await?;
        ctx.report("CREATING");
        self.pause().await?;
        ctx.report("ACTIVE");
        Ok(to_object(&schema, id, attributes))
    }

    async fn update(
        &self,
        req: UpdateRequest,
        ctx: &OperationContext,
    ) -> ProviderResult<ResourceObject> {
        let schema = resource_schema(&req.type_name)?;
        let store = self.store()?;
        let mut attributes = stored_attributes(&req.planned)?;
        let name = name_of(&attributes)?;
        ctx.report("UPDATING");
        self.pause().await?;
        self.check_injected_failure(&name)?;

        let (type_name, id) = (req.type_name.clone(), req.id.clone());
        let reader = store.clone();
        let current = blocking(move || reader.read(&type_name, &id))
            .await?
            .and_then(|json| match json {
                serde_json::Value::Object(m) => Some(m),
                _ => None,
            })
            .ok_or_else(|| {
                ProviderError::new(
                    ErrorKind::NotFound,
                    format!("{} {} no longer exists", req.type_name, req.id),
                )
            })?;

        let current_value = Value::from_json(&serde_json::Value::Object(current.clone()));
        let planned_value = Value::from_json(&serde_json::Value::Object(attributes.clone()));
        let refused =
            force_new_changes(&schema.block, &current_value, &planned_value, &Path::root());
        if !refused.is_empty() {
            let list: Vec<String> = refused.iter().map(Path::to_string).collect();
            return Err(ProviderError::new(
                ErrorKind::InvalidConfig,
                format!("cannot change {} in place", list.join(", ")),
            )
            .with_hint("the object must be replaced (destroyed and created again)"));
        }

        // What the cloud computed stays as it was.
        for (attr_name, attr) in &schema.block.attributes {
            if attr.is_computed() && !attr.settable() {
                match current.get(attr_name) {
                    Some(v) => attributes.insert(attr_name.clone(), v.clone()),
                    None => attributes.remove(attr_name),
                };
            }
        }
        let json = serde_json::Value::Object(attributes.clone());
        let (type_name, id) = (req.type_name.clone(), req.id.clone());
        blocking(move || store.write(&type_name, &id, &json)).await?;
        ctx.report("ACTIVE");
        Ok(to_object(&schema, req.id, attributes))
    }

    async fn delete(&self, req: DeleteRequest, ctx: &OperationContext) -> ProviderResult<()> {
        resource_schema(&req.type_name)?;
        let store = self.store()?;
        // The object is gone at once; the call returns after the latency, as a cloud's
        // delete-and-wait does.
        blocking(move || store.remove(&req.type_name, &req.id)).await?;
        ctx.report("DELETING");
        self.pause().await?;
        ctx.report("DELETED");
        Ok(())
    }

    async fn find(&self, req: FindRequest) -> ProviderResult<Option<ResourceObject>> {
        let schema = resource_schema(&req.type_name)?;
        let store = self.store()?;
        // The planned attributes may still hold unknowns (computed ones); only the name matters.
        let name = req
            .planned
            .get("name")
            .and_then(|n| n.as_str().map(str::to_string))
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                ProviderError::new(
                    ErrorKind::InvalidConfig,
                    "finding a testing object needs its \"name\"",
                )
            })?;
        let type_name = req.type_name.clone();
        let all = blocking(move || store.list(&type_name)).await?;
        let mut matching: Vec<(String, JsonMap)> = all
            .into_iter()
            .filter_map(|(id, json)| match json {
                serde_json::Value::Object(m)
                    if m.get("name").and_then(|n| n.as_str()) == Some(&name) =>
                {
                    Some((id, m))
                }
                _ => None,
            })
            .collect();
        match matching.len() {
            0 => Ok(None),
            1 => {
                let (id, m) = matching.remove(0);
                Ok(Some(to_object(&schema, id, m)))
            }
            n => Err(ProviderError::new(
                ErrorKind::Conflict,
                format!("{n} {} objects are named {name:?}", req.type_name),
            )),
        }
    }

    async fn read_data(&self, req: DataRequest) -> ProviderResult<Value> {
        if req.type_name != LOOKUP {
            return Err(ProviderError::new(
                ErrorKind::InvalidConfig,
                format!(
                    "the testing provider has no data source {:?}",
                    req.type_name
                ),
            )
            .with_hint(format!("it knows {LOOKUP}")));
        }
        let name = req
            .config
            .get("name")
            .and_then(|n| n.as_str().map(str::to_string))
            .ok_or_else(|| {
                ProviderError::new(
                    ErrorKind::InvalidConfig,
                    "testing_lookup needs a string \"name\"",
                )
            })?;
        Ok(Value::map([
            ("value", Value::from(format!("value-of-{name}"))),
            ("name", Value::from(name)),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    fn provider(dir: &std::path::Path) -> TestingProvider {
        TestingProvider::with_settings(Settings::new(dir))
    }

    fn thing(name: &str, size: i64) -> Value {
        Value::map([
            ("name", Value::from(name)),
            ("size", Value::from(size)),
            ("tags", Value::map([("team", Value::from("core"))])),
            ("password", Value::from("hunter2").sensitive()),
        ])
    }

    async fn create(
        p: &TestingProvider,
        type_name: &str,
        planned: Value,
    ) -> ProviderResult<ResourceObject> {
        let req = CreateRequest {
            type_name: type_name.into(),
            planned,
        };
        p.create(req, &OperationContext::silent()).await
    }

    async fn update(
        p: &TestingProvider,
        prior: &ResourceObject,
        planned: Value,
    ) -> ProviderResult<ResourceObject> {
        let req = UpdateRequest {
            type_name: THING.into(),
            id: prior.id.clone(),
            prior: prior.attributes.clone(),
            planned,
            changed: Vec::new(),
        };
        p.update(req, &OperationContext::silent()).await
    }

    async fn read(p: &TestingProvider, type_name: &str, id: &str) -> Option<ResourceObject> {
        let req = ReadRequest {
            type_name: type_name.into(),
            id: id.into(),
            prior: Value::Null,
        };
        p.read(req).await.unwrap()
    }

    async fn delete(p: &TestingProvider, id: &str) -> ProviderResult<()> {
        let req = DeleteRequest {
            type_name: THING.into(),
            id: id.into(),
            prior: Value::Null,
        };
        p.delete(req, &OperationContext::silent()).await
    }

    #[tokio::test]
    async fn create_read_update_delete_round_trip() {
        let tmp = tempfile::tempdir().unwrap();
        let p = provider(tmp.path());
        let created = create(&p, THING, thing("db", 32)).await.unwrap();
        assert!(!created.id.is_empty());
        let attrs = &created.attributes;
        assert_eq!(attrs.get("id").unwrap().as_str(), Some(created.id.as_str()));
        assert!(attrs.get("secret").unwrap().is_sensitive());
        assert!(attrs.get("password").unwrap().is_sensitive());
        assert!(attrs.get("created_at").unwrap().as_str().is_some());
        assert_eq!(attrs.get("size").unwrap().as_i64(), Some(32));

        // The object is in the folder, where another process would find it.
        let cloud = crate::inventory(tmp.path()).unwrap();
        assert_eq!(cloud.len(), 1);
        assert_eq!(cloud[0].0, THING);
        assert_eq!(cloud[0].1, created.id);
        assert_eq!(cloud[0].2["name"], "db");
        assert_eq!(cloud[0].2["password"], "hunter2");
        let again = read(&provider(tmp.path()), THING, &created.id)
            .await
            .unwrap();
        assert_eq!(again, created);

        let updated = update(&p, &created, thing("db", 64)).await.unwrap();
        assert_eq!(updated.id, created.id);
        assert_eq!(updated.attributes.get("size").unwrap().as_i64(), Some(64));
        for kept in ["secret", "created_at", "id"] {
            assert_eq!(
                updated.attributes.get(kept),
                created.attributes.get(kept),
                "{kept}"
            );
        }
        assert_eq!(read(&p, THING, &created.id).await.unwrap(), updated);

        delete(&p, &created.id).await.unwrap();
        assert_eq!(read(&p, THING, &created.id).await, None);
        delete(&p, &created.id).await.unwrap();
        assert!(crate::inventory(tmp.path()).unwrap().is_empty());
    }

    #[tokio::test]
    async fn force_new_attributes_cannot_change_in_place() {
        let tmp = tempfile::tempdir().unwrap();
        let p = provider(tmp.path());
        let created = create(&p, THING, thing("a", 1)).await.unwrap();
        let e = update(&p, &created, thing("b", 1)).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidConfig);
        assert!(e.message.contains("name"), "{e}");
        assert_eq!(crate::inventory(tmp.path()).unwrap()[0].2["name"], "a");
    }

    #[tokio::test]
    async fn updating_a_vanished_object_is_not_found() {
        let tmp = tempfile::tempdir().unwrap();
        let p = provider(tmp.path());
        let created = create(&p, THING, thing("a", 1)).await.unwrap();
        delete(&p, &created.id).await.unwrap();
        let e = update(&p, &created, thing("a", 2)).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound);
    }

    fn cluster(size: &str, nodes: i64) -> Value {
        Value::map([
            ("name", Value::from("main")),
            ("region", Value::from("nyc1")),
            ("version", Value::from("1.31")),
            (
                "node_pool",
                Value::List(vec![Value::map([
                    ("name", Value::from("default")),
                    ("size", Value::from(size)),
                    ("node_count", Value::from(nodes)),
                ])]),
            ),
        ])
    }

    #[tokio::test]
    async fn clusters_get_an_endpoint_and_refuse_a_new_node_size_in_place() {
        let tmp = tempfile::tempdir().unwrap();
        let p = provider(tmp.path());
        let created = create(&p, CLUSTER, cluster("s-2vcpu", 3)).await.unwrap();
        let endpoint = created.attributes.get("endpoint").unwrap();
        assert!(endpoint.as_str().unwrap().starts_with("https://"));
        let kubeconfig = created.attributes.get("kubeconfig").unwrap();
        assert!(kubeconfig.is_sensitive());
        assert!(kubeconfig
            .as_str()
            .unwrap()
            .contains(endpoint.as_str().unwrap()));

        let mut req = UpdateRequest {
            type_name: CLUSTER.into(),
            id: created.id.clone(),
            prior: created.attributes.clone(),
            planned: cluster("s-2vcpu", 5),
            changed: Vec::new(),
        };
        let ctx = OperationContext::silent();
        let grown = p.update(req.clone(), &ctx).await.unwrap();
        let count = Path::parse("node_pool[0].node_count").unwrap();
        assert_eq!(grown.attributes.get_path(&count), Some(&Value::from(5i64)));
        assert_eq!(
            grown.attributes.get("endpoint"),
            created.attributes.get("endpoint")
        );

        req.planned = cluster("s-4vcpu", 5);
        let e = p.update(req, &ctx).await.unwrap_err();
        assert!(e.message.contains("node_pool[0].size"), "{e}");
    }

    #[tokio::test]
    async fn names_in_fail_on_fail_create_and_update_and_leave_no_object() {
        let tmp = tempfile::tempdir().unwrap();
        let mut settings = Settings::new(tmp.path());
        settings.fail_on.insert("app".into());
        let p = TestingProvider::with_settings(settings);
        let e = create(&p, THING, thing("app", 1)).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Api);
        assert_eq!(e.message, "injected failure");
        assert!(crate::inventory(tmp.path()).unwrap().is_empty());

        // Objects created before the name was listed fail to update too.
        let existing = create(&provider(tmp.path()), THING, thing("app", 1))
            .await
            .unwrap();
        let e = update(&p, &existing, thing("app", 2)).await.unwrap_err();
        assert_eq!(e.message, "injected failure");
        assert!(create(&p, THING, thing("other", 1)).await.is_ok());
    }

    #[tokio::test]
    async fn find_adopts_an_object_by_name() {
        let tmp = tempfile::tempdir().unwrap();
        let p = provider(tmp.path());
        let created = create(&p, THING, thing("orphan", 1)).await.unwrap();
        create(&p, THING, thing("other", 1)).await.unwrap();
        // What the engine meant to create: computed attributes are still unknown.
        let find = |name: &str| {
            let mut planned = thing(name, 1);
            planned.set_path(&Path::root().key("id"), Value::Unknown);
            FindRequest {
                type_name: THING.into(),
                planned,
            }
        };
        assert_eq!(p.find(find("orphan")).await.unwrap(), Some(created));
        assert_eq!(p.find(find("nobody")).await.unwrap(), None);
        // Two objects with one name cannot be adopted safely.
        create(&p, THING, thing("other", 2)).await.unwrap();
        assert_eq!(
            p.find(find("other")).await.unwrap_err().kind,
            ErrorKind::Conflict
        );
    }

    #[test]
    fn sensitive_and_force_new_attributes_are_declared() {
        let s = TestingProvider::new().schema();
        let thing = &s.resources[THING].block;
        assert!(thing.attributes["password"].sensitive);
        assert!(thing.attributes["secret"].sensitive && thing.attributes["secret"].is_computed());
        assert!(thing.attributes["name"].force_new);
        assert!(!thing.attributes["size"].force_new && !thing.attributes["size"].sensitive);
        let cluster = &s.resources[CLUSTER].block;
        assert!(cluster.attributes["kubeconfig"].sensitive);
        assert!(cluster.attributes["region"].force_new);
        let pool = &cluster.blocks["node_pool"];
        assert_eq!((pool.nesting, pool.min_items), (Nesting::List, 1));
        assert!(pool.block.attributes["size"].force_new);
        assert!(!pool.block.attributes["node_count"].force_new);
        assert!(s.data_sources[LOOKUP].block.attributes["value"].is_computed());
    }

    #[tokio::test]
    async fn configure_binds_the_folder_and_unconfigured_use_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cloud");
        let unconfigured = TestingProvider::new();
        assert_eq!(unconfigured.name(), "testing");
        let e = create(&unconfigured, THING, thing("a", 1))
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Internal);

        let config = Value::map([("dir", Value::from(dir.to_str().unwrap()))]);
        let p = unconfigured.configure(config).await.unwrap();
        assert!(dir.is_dir());
        let req = CreateRequest {
            type_name: THING.into(),
            planned: thing("a", 1),
        };
        p.create(req, &OperationContext::silent()).await.unwrap();
        assert_eq!(crate::inventory(&dir).unwrap().len(), 1);
    }

    #[tokio::test]
    async fn unknown_types_and_bad_ids_are_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let p = provider(tmp.path());
        let e = create(&p, "testing_thingy", thing("a", 1))
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidConfig);
        assert!(e.message.contains("testing_thingy"), "{e}");
        let req = ReadRequest {
            type_name: THING.into(),
            id: "../../etc/passwd".into(),
            prior: Value::Null,
        };
        assert_eq!(
            p.read(req).await.unwrap_err().kind,
            ErrorKind::InvalidConfig
        );
        let no_name = Value::map([("size", Value::from(1i64))]);
        assert_eq!(
            create(&p, THING, no_name).await.unwrap_err().kind,
            ErrorKind::InvalidConfig
        );
    }

    #[tokio::test(start_paused = true)]
    async fn operations_take_the_configured_latency_and_report_progress() {
        let tmp = tempfile::tempdir().unwrap();
        let mut settings = Settings::new(tmp.path());
        settings.latency = Duration::from_millis(250);
        let p = TestingProvider::with_settings(settings);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let ctx = OperationContext::new(move |s| sink.lock().unwrap().push(s.to_string()));
        let start = tokio::time::Instant::now();
        let req = CreateRequest {
            type_name: THING.into(),
            planned: thing("slow", 1),
        };
        let created = p.create(req, &ctx).await.unwrap();
        assert!(start.elapsed() >= Duration::from_millis(250));
        let req = DeleteRequest {
            type_name: THING.into(),
            id: created.id,
            prior: Value::Null,
        };
        p.delete(req, &ctx).await.unwrap();
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen, ["CREATING", "ACTIVE", "DELETING", "DELETED"]);
    }

    #[tokio::test]
    async fn lookup_returns_a_value_derived_from_the_name() {
        let p = provider(std::path::Path::new("/nonexistent"));
        let req = DataRequest {
            type_name: LOOKUP.into(),
            config: Value::map([("name", Value::from("x"))]),
        };
        let v = p.read_data(req).await.unwrap();
        assert_eq!(v.get("value"), Some(Value::from("value-of-x")));
        let req = DataRequest {
            type_name: LOOKUP.into(),
            config: Value::map::<&str>([]),
        };
        assert_eq!(
            p.read_data(req).await.unwrap_err().kind,
            ErrorKind::InvalidConfig
        );
    }
}
