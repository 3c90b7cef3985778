//! `digitalocean_database_cluster` over `/v2/databases`: created, resized
//! (`PUT .../resize`), upgraded (`PUT .../upgrade`) and deleted, waiting for `online`.

use crate::api::{nullable, Api, Identified};
use crate::attrs::{self, Attrs};
use crate::resources::{object, planned_name, the_one};
use crate::schema::DATABASE_CLUSTER;
use crate::wait::Waiter;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use strata_core::provider::{
    ErrorKind, OperationContext, ProviderError, ProviderResult, ResourceObject,
};
use strata_core::Value;

/// A database cluster as the API answers it (`databases/models/database_cluster.yml`).
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct Database {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub engine: String,
    #[serde(default, deserialize_with = "nullable")]
    pub version: String,
    #[serde(default, deserialize_with = "nullable")]
    pub num_nodes: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub size: String,
    #[serde(default, deserialize_with = "nullable")]
    pub region: String,
    /// `creating`, `online`, `resizing`, `migrating`, `forking`, or one this code does not know.
    #[serde(default, deserialize_with = "nullable")]
    pub status: String,
    #[serde(default, deserialize_with = "nullable")]
    pub created_at: String,
    #[serde(default, deserialize_with = "nullable")]
    pub private_network_uuid: String,
    #[serde(default, deserialize_with = "nullable")]
    pub tags: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub connection: Connection,
    #[serde(default, deserialize_with = "nullable")]
    pub private_connection: Connection,
}

impl Identified for Database {
    fn id(&self) -> &str {
        &self.id
    }
}

/// `database_connection.yml`.
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct Connection {
    #[serde(default, deserialize_with = "nullable")]
    pub uri: String,
    #[serde(default, deserialize_with = "nullable")]
    pub database: String,
    #[serde(default, deserialize_with = "nullable")]
    pub host: String,
    #[serde(default, deserialize_with = "nullable")]
    pub port: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub user: String,
    #[serde(default, deserialize_with = "nullable")]
    pub password: String,
}

/// The body of `POST /v2/databases`.
#[derive(Debug, Serialize)]
pub(crate) struct CreateDatabase {
    pub name: String,
    pub engine: String,
    pub version: String,
    pub size: String,
    pub region: String,
    pub num_nodes: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_network_uuid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

/// The body of `PUT /v2/databases/{id}/resize`.
#[derive(Debug, PartialEq, Serialize)]
pub(crate) struct Resize {
    pub size: String,
    pub num_nodes: u32,
}

/// The body of `PUT /v2/databases/{id}/upgrade`.
#[derive(Debug, Serialize)]
pub(crate) struct UpgradeVersion {
    pub version: String,
}

fn node_count(a: &Attrs) -> ProviderResult<u32> {
    a.count("node_count")?.filter(|n| *n >= 1).ok_or_else(|| {
        ProviderError::new(
            ErrorKind::InvalidConfig,
            format!("{DATABASE_CLUSTER}.node_count is required: 1 to 3 nodes"),
        )
    })
}

pub(crate) fn create_body(planned: &Value) -> ProviderResult<CreateDatabase> {
    let a = Attrs::new(planned, DATABASE_CLUSTER);
    Ok(CreateDatabase {
        name: a.required_string("name")?,
        engine: a.required_string("engine")?,
        version: a.required_string("version")?,
        size: a.required_string("size")?,
        region: a.required_string("region")?,
        num_nodes: node_count(&a)?,
        private_network_uuid: a.string("private_network_uuid")?.filter(|v| !v.is_empty()),
        tags: a.strings("tags")?,
    })
}

pub(crate) fn resize_body(planned: &Value) -> ProviderResult<Resize> {
    let a = Attrs::new(planned, DATABASE_CLUSTER);
    Ok(Resize {
        size: a.required_string("size")?,
        num_nodes: node_count(&a)?,
    })
}

pub(crate) fn to_object(db: &Database, prior: &Value) -> ResourceObject {
    let a = Attrs::new(prior, DATABASE_CLUSTER);
    let kept = |name: &str| attrs::known(a.raw(name)).unwrap_or_default();
    let mut m = BTreeMap::new();
    m.insert("id".into(), attrs::string(&db.id));
    m.insert("name".into(), attrs::string(&db.name));
    m.insert("engine".into(), attrs::string(&db.engine));
    m.insert("version".into(), attrs::string(&db.version));
    m.insert("size".into(), attrs::string(&db.size));
    m.insert("region".into(), attrs::string(&db.region));
    m.insert("node_count".into(), attrs::number(db.num_nodes));
    m.insert(
        "private_network_uuid".into(),
        attrs::string(&db.private_network_uuid),
    );
    m.insert(
        "tags".into(),
        attrs::unless_unset(attrs::strings(&db.tags), a.raw("tags")),
    );
    m.insert("urn".into(), attrs::string(&format!("do:dbaas:{}", db.id)));
    m.insert("status".into(), attrs::string(&db.status));
    m.insert("created_at".into(), attrs::string(&db.created_at));
    let c = &db.connection;
    m.insert("host".into(), attrs::string(&c.host));
    m.insert(
        "port".into(),
        attrs::unless_unset(attrs::number(c.port), &Value::Null),
    );
    m.insert("user".into(), attrs::string(&c.user));
    m.insert("database".into(), attrs::string(&c.database));
    // A token without database:view_credentials gets answers without the password; the one
    // state holds stays valid until someone resets it.
    if c.password.is_empty() {
        for secret in ["password", "uri", "private_uri"] {
            m.insert(secret.into(), kept(secret));
        }
    } else {
        m.insert("password".into(), attrs::string(&c.password));
        m.insert("uri".into(), attrs::string(&c.uri));
        m.insert(
            "private_uri".into(),
            attrs::string(&db.private_connection.uri),
        );
    }
    m.insert(
        "private_host".into(),
        attrs::string(&db.private_connection.host),
    );
    object(DATABASE_CLUSTER, &db.id, m)
}

fn path(id: &str) -> String {
    format!("/v2/databases/{id}")
}

/// Every database cluster of the account.
pub(crate) async fn list(api: &Api) -> ProviderResult<Vec<strata_core::provider::ListedObject>> {
    let all: Vec<Database> = api
        .get("/v2/databases")
        .await?
        .field_or_default("databases")?;
    Ok(all
        .into_iter()
        .map(|d| strata_core::provider::ListedObject {
            id: d.id,
            name: d.name,
        })
        .collect())
}

async fn named(api: &Api, name: &str) -> ProviderResult<Vec<Database>> {
    // The database list is not paginated; an empty account answers `{"databases": null}`.
    let all: Vec<Database> = api
        .get("/v2/databases")
        .await?
        .field_or_default("databases")?;
    Ok(all.into_iter().filter(|d| d.name == name).collect())
}

/// Polls until the cluster is `online` and `settled` holds for it.
async fn wait_online(
    api: &Api,
    ctx: &OperationContext,
    id: &str,
    name: &str,
    settled: impl Fn(&Database) -> bool,
) -> ProviderResult<Database> {
    let mut waiter = Waiter::new(
        api.settings(),
        ctx,
        format!("database cluster {name:?} (id {id})"),
    );
    loop {
        let db: Database = match api.get(&path(id)).await {
            Ok(answer) => answer.field("database")?,
            Err(e) => {
                waiter.not_found_grace(e).await?;
                continue;
            }
        };
        match db.status.as_str() {
            "online" if settled(&db) => {
                waiter.report("online");
                return Ok(db);
            }
            // The change was accepted but has not started yet.
            "online" => waiter.pending("updating").await?,
            "" => waiter.pending("pending").await?,
            other => waiter.pending(other).await?,
        }
    }
}

pub(crate) async fn create(
    api: &Api,
    planned: &Value,
    ctx: &OperationContext,
) -> ProviderResult<ResourceObject> {
    let body = create_body(planned)?;
    let created: Database = api
        .create("/v2/databases", &body, "database", || {
            named(api, &body.name)
        })
        .await?;
    let partial = to_object(&created, planned);
    let db = wait_online(api, ctx, &created.id, &body.name, |_| true)
        .await
        .map_err(|e| e.with_partial(partial))?;
    // The password is in the create answer; later reads may not carry it.
    let prior = to_object(&created, planned).attributes;
    Ok(to_object(&db, &prior))
}

pub(crate) async fn read(
    api: &Api,
    id: &str,
    prior: &Value,
) -> ProviderResult<Option<ResourceObject>> {
    let db: Option<Database> = api.get_optional(&path(id), "database").await?;
    Ok(db.map(|d| to_object(&d, prior)))
}

pub(crate) async fn update(
    api: &Api,
    id: &str,
    prior: &Value,
    planned: &Value,
    ctx: &OperationContext,
) -> ProviderResult<ResourceObject> {
    let name = Attrs::new(planned, DATABASE_CLUSTER).required_string("name")?;
    let resize = resize_body(planned)?;
    let was = (
        Attrs::new(prior, DATABASE_CLUSTER).string("size")?,
        Attrs::new(prior, DATABASE_CLUSTER).count("node_count")?,
    );
    if was != (Some(resize.size.clone()), Some(resize.num_nodes)) {
        ctx.report("resizing");
        api.call(Method::PUT, &format!("{}/resize", path(id)), Some(&resize))
            .await?;
    }
    let version = Attrs::new(planned, DATABASE_CLUSTER).required_string("version")?;
    let prior_version = Attrs::new(prior, DATABASE_CLUSTER).string("version")?;
    if prior_version.as_deref() != Some(version.as_str()) {
        ctx.report("upgrading");
        api.call(
            Method::PUT,
            &format!("{}/upgrade", path(id)),
            Some(&UpgradeVersion {
                version: version.clone(),
            }),
        )
        .await?;
    }
    let db = wait_online(api, ctx, id, &name, |db| {
        db.size == resize.size
            && db.num_nodes == i64::from(resize.num_nodes)
            && db.version == version
    })
    .await?;
    Ok(to_object(&db, prior))
}

pub(crate) async fn delete(api: &Api, id: &str, ctx: &OperationContext) -> ProviderResult<()> {
    api.delete(&path(id)).await?;
    let mut waiter = Waiter::new(api.settings(), ctx, format!("database cluster {id}"));
    loop {
        match api.get_optional::<Database>(&path(id), "database").await? {
            None => return Ok(()),
            Some(_) => waiter.pending("deleting").await?,
        }
    }
}

pub(crate) async fn find(api: &Api, planned: &Value) -> ProviderResult<Option<ResourceObject>> {
    let name = planned_name(planned, DATABASE_CLUSTER)?;
    let found = the_one(named(api, &name).await?, DATABASE_CLUSTER, &name)?;
    Ok(found.map(|d| to_object(&d, planned)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn planned() -> Value {
        Value::map([
            ("name", Value::from("shop-db")),
            ("engine", Value::from("pg")),
            ("version", Value::from("16")),
            ("size", Value::from("db-s-1vcpu-2gb")),
            ("region", Value::from("nyc1")),
            ("node_count", Value::from(1i64)),
            ("private_network_uuid", Value::Unknown),
            ("password", Value::Unknown),
        ])
    }

    #[test]
    fn bodies_match_the_api() {
        let mut p = planned();
        p.set_path(
            &strata_core::Path::root().key("private_network_uuid"),
            Value::Null,
        );
        let body = serde_json::to_value(create_body(&p).unwrap()).unwrap();
        assert_eq!(
            body,
            json!({"name": "shop-db", "engine": "pg", "version": "16", "size": "db-s-1vcpu-2gb",
                   "region": "nyc1", "num_nodes": 1})
        );
        let resize = serde_json::to_value(resize_body(&p).unwrap()).unwrap();
        assert_eq!(resize, json!({"size": "db-s-1vcpu-2gb", "num_nodes": 1}));
        p.set_path(
            &strata_core::Path::root().key("node_count"),
            Value::from(0i64),
        );
        assert!(create_body(&p).unwrap_err().message.contains("1 to 3"));
    }

    #[test]
    fn secrets_are_sensitive_and_kept_when_an_answer_lacks_them() {
        let db: Database = serde_json::from_value(json!({
            "id": "d1", "name": "shop-db", "engine": "pg", "version": "16", "num_nodes": 1,
            "size": "db-s-1vcpu-2gb", "region": "nyc1", "status": "online", "tags": null,
            "connection": {"uri": "postgres://doadmin:pw@h:25060/defaultdb", "host": "h",
                           "port": 25060, "user": "doadmin", "password": "pw",
                           "database": "defaultdb", "ssl": true},
            "private_connection": {"uri": "postgres://doadmin:pw@ph:25060/defaultdb", "host": "ph"},
            "maintenance_window": null, "semantic_version": "16.4"
        }))
        .unwrap();
        let o = to_object(&db, &Value::Null);
        let a = &o.attributes;
        for secret in ["password", "uri", "private_uri"] {
            assert!(a.get(secret).unwrap().is_sensitive(), "{secret}");
        }
        assert_eq!(a.get("port"), Some(Value::from(25060i64)));
        assert_eq!(a.get("private_host"), Some(Value::from("ph")));
        assert_eq!(a.get("tags"), Some(Value::Null));

        let mut without = db.clone();
        without.connection.password.clear();
        without.connection.uri.clear();
        let again = to_object(&without, a);
        assert_eq!(again.attributes.get("password"), a.get("password"));
        assert_eq!(again.attributes.get("uri"), a.get("uri"));
    }
}
