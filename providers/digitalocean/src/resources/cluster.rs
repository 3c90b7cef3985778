//! `digitalocean_kubernetes_cluster` over `/v2/kubernetes/clusters`, with its default node
//! pool (the `node_pool` block) managed through the node pool API.

use crate::api::{nullable, Api, Identified};
use crate::attrs::{self, Attrs};
use crate::resources::node_pool::{self, pool_attributes, pool_body, NodePool, PoolBody};
use crate::resources::{object, planned_name, the_one};
use crate::schema::KUBERNETES_CLUSTER;
use crate::wait::Waiter;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use strata_core::provider::{
    ErrorKind, OperationContext, ProviderError, ProviderResult, ResourceObject,
};
use strata_core::Value;

/// A cluster as the API answers it (`kubernetes/models/cluster.yml`).
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct Cluster {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub region: String,
    #[serde(default, deserialize_with = "nullable")]
    pub version: String,
    #[serde(default, deserialize_with = "nullable")]
    pub cluster_subnet: String,
    #[serde(default, deserialize_with = "nullable")]
    pub service_subnet: String,
    #[serde(default, deserialize_with = "nullable")]
    pub vpc_uuid: String,
    #[serde(default, deserialize_with = "nullable")]
    pub ipv4: String,
    #[serde(default, deserialize_with = "nullable")]
    pub endpoint: String,
    #[serde(default, deserialize_with = "nullable")]
    pub tags: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub node_pools: Vec<NodePool>,
    #[serde(default, deserialize_with = "nullable")]
    pub auto_upgrade: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub surge_upgrade: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub ha: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub status: ClusterStatus,
    #[serde(default, deserialize_with = "nullable")]
    pub created_at: String,
    #[serde(default, deserialize_with = "nullable")]
    pub updated_at: String,
}

impl Identified for Cluster {
    fn id(&self) -> &str {
        &self.id
    }
}

/// `status.state` is kept as a string: a state this code does not know is waited through,
/// not a parse error.
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct ClusterStatus {
    #[serde(default, deserialize_with = "nullable")]
    pub state: String,
    #[serde(default, deserialize_with = "nullable")]
    pub message: String,
}

/// The body of `POST /v2/kubernetes/clusters`.
#[derive(Debug, Serialize)]
pub(crate) struct CreateCluster {
    pub name: String,
    pub region: String,
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_uuid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_upgrade: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub surge_upgrade: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ha: Option<bool>,
    pub node_pools: Vec<PoolBody>,
}

/// The body of `PUT /v2/kubernetes/clusters/{id}` (`cluster_update.yml`).
#[derive(Debug, PartialEq, Serialize)]
pub(crate) struct UpdateCluster {
    pub name: String,
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_upgrade: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub surge_upgrade: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ha: Option<bool>,
}

/// The body of `POST /v2/kubernetes/clusters/{id}/upgrade`.
#[derive(Debug, Serialize)]
pub(crate) struct Upgrade<'a> {
    pub version: &'a str,
}

fn the_pool(planned: &Value) -> ProviderResult<&Value> {
    let pools = Attrs::new(planned, KUBERNETES_CLUSTER).blocks("node_pool");
    match pools.as_slice() {
        [one] => Ok(one),
        other => Err(ProviderError::new(
            ErrorKind::InvalidConfig,
            format!(
                "{KUBERNETES_CLUSTER} needs exactly one node_pool block (its default pool), found {}",
                other.len()
            ),
        )
        .with_hint("declare further pools as digitalocean_kubernetes_node_pool resources")),
    }
}

pub(crate) fn create_body(planned: &Value) -> ProviderResult<CreateCluster> {
    let a = Attrs::new(planned, KUBERNETES_CLUSTER);
    Ok(CreateCluster {
        name: a.required_string("name")?,
        region: a.required_string("region")?,
        version: a.required_string("version")?,
        vpc_uuid: a.string("vpc_uuid")?.filter(|v| !v.is_empty()),
        tags: a.strings("tags")?,
        auto_upgrade: a.bool("auto_upgrade")?,
        surge_upgrade: a.bool("surge_upgrade")?,
        ha: a.bool("ha")?,
        node_pools: vec![pool_body(the_pool(planned)?, "node_pool[0]", false)?],
    })
}

pub(crate) fn update_body(planned: &Value) -> ProviderResult<UpdateCluster> {
    let a = Attrs::new(planned, KUBERNETES_CLUSTER);
    Ok(UpdateCluster {
        name: a.required_string("name")?,
        tags: a.strings("tags")?.unwrap_or_default(),
        auto_upgrade: a.bool("auto_upgrade")?,
        surge_upgrade: a.bool("surge_upgrade")?,
        ha: a.bool("ha")?,
    })
}

/// The version to report. The API accepts a minor version (`1.31`) or `latest` and answers
/// the full slug it chose; while the cloud's version is what the configured one means, the
/// configured one is reported, so that the plan does not show a change that is none.
pub(crate) fn reported_version(cloud: &str, configured: Option<&str>) -> String {
    match configured {
        Some(c) if version_matches(cloud, c) => c.to_string(),
        _ => cloud.to_string(),
    }
}

fn version_matches(cloud: &str, configured: &str) -> bool {
    cloud == configured
        || configured == "latest"
        || cloud
            .strip_prefix(configured)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('-'))
}

/// The pool among the cluster's that the `node_pool` block stands for: by the id in state,
/// else by name, else the first.
fn default_pool<'c>(cluster: &'c Cluster, prior_pool: &Value) -> Option<&'c NodePool> {
    let prior = Attrs::new(prior_pool, "node_pool");
    let id = prior.string("id").ok().flatten();
    let name = prior.string("name").ok().flatten();
    cluster
        .node_pools
        .iter()
        .find(|p| Some(&p.id) == id.as_ref())
        .or_else(|| {
            cluster
                .node_pools
                .iter()
                .find(|p| Some(&p.name) == name.as_ref())
        })
        .or_else(|| cluster.node_pools.first())
}

/// Credentials of a cluster, fetched once it serves its API.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Access {
    pub kubeconfig: Option<String>,
    pub ca_certificate: Option<String>,
}

/// The CA certificate (base64) in a kubeconfig, as `clusters[0].cluster.certificate-authority-data`.
pub(crate) fn ca_from_kubeconfig(kubeconfig: &str) -> Option<String> {
    let doc: serde_yaml::Value = serde_yaml::from_str(kubeconfig).ok()?;
    doc.get("clusters")?
        .get(0)?
        .get("cluster")?
        .get("certificate-authority-data")?
        .as_str()
        .map(str::to_string)
}

pub(crate) fn to_object(cluster: &Cluster, access: &Access, prior: &Value) -> ResourceObject {
    let a = Attrs::new(prior, KUBERNETES_CLUSTER);
    let prior_pool = a
        .blocks("node_pool")
        .first()
        .copied()
        .cloned()
        .unwrap_or_default();
    let mut m = BTreeMap::new();
    m.insert("id".into(), attrs::string(&cluster.id));
    m.insert("name".into(), attrs::string(&cluster.name));
    m.insert("region".into(), attrs::string(&cluster.region));
    let configured = a.string("version").ok().flatten();
    m.insert(
        "version".into(),
        attrs::string(&reported_version(&cluster.version, configured.as_deref())),
    );
    m.insert("vpc_uuid".into(), attrs::string(&cluster.vpc_uuid));
    m.insert(
        "tags".into(),
        attrs::unless_unset(
            attrs::strings(&node_pool::user_tags(&cluster.tags, &cluster.id)),
            a.raw("tags"),
        ),
    );
    m.insert("auto_upgrade".into(), Value::Bool(cluster.auto_upgrade));
    m.insert("surge_upgrade".into(), Value::Bool(cluster.surge_upgrade));
    m.insert("ha".into(), Value::Bool(cluster.ha));
    m.insert("endpoint".into(), attrs::string(&cluster.endpoint));
    m.insert("status".into(), attrs::string(&cluster.status.state));
    m.insert(
        "urn".into(),
        attrs::string(&format!("do:kubernetes:{}", cluster.id)),
    );
    m.insert(
        "cluster_subnet".into(),
        attrs::string(&cluster.cluster_subnet),
    );
    m.insert(
        "service_subnet".into(),
        attrs::string(&cluster.service_subnet),
    );
    m.insert("ipv4_address".into(), attrs::string(&cluster.ipv4));
    m.insert("created_at".into(), attrs::string(&cluster.created_at));
    m.insert("updated_at".into(), attrs::string(&cluster.updated_at));
    m.insert(
        "kubeconfig".into(),
        access
            .kubeconfig
            .clone()
            .map(Value::from)
            .unwrap_or_default(),
    );
    m.insert(
        "cluster_ca_certificate".into(),
        access
            .ca_certificate
            .clone()
            .map(Value::from)
            .unwrap_or_default(),
    );
    let pools = match default_pool(cluster, &prior_pool) {
        Some(pool) => vec![Value::Map(pool_attributes(pool, &cluster.id, &prior_pool))],
        None => Vec::new(),
    };
    m.insert("node_pool".into(), Value::List(pools));
    object(KUBERNETES_CLUSTER, &cluster.id, m)
}

fn path(id: &str) -> String {
    format!("/v2/kubernetes/clusters/{id}")
}

/// Every cluster of the account.
pub(crate) async fn list(api: &Api) -> ProviderResult<Vec<strata_core::provider::ListedObject>> {
    let all: Vec<Cluster> = api
        .list("/v2/kubernetes/clusters", "kubernetes_clusters")
        .await?;
    Ok(all
        .into_iter()
        .map(|c| strata_core::provider::ListedObject {
            id: c.id,
            name: c.name,
        })
        .collect())
}

async fn named(api: &Api, name: &str) -> ProviderResult<Vec<Cluster>> {
    let all: Vec<Cluster> = api
        .list("/v2/kubernetes/clusters", "kubernetes_clusters")
        .await?;
    Ok(all.into_iter().filter(|c| c.name == name).collect())
}

/// The kubeconfig, once the cluster serves its API; before that, what state held.
async fn access(api: &Api, cluster: &Cluster, prior: &Value) -> ProviderResult<Access> {
    if !matches!(
        cluster.status.state.as_str(),
        "running" | "degraded" | "upgrading"
    ) {
        let a = Attrs::new(prior, KUBERNETES_CLUSTER);
        return Ok(Access {
            kubeconfig: a.string("kubeconfig").ok().flatten(),
            ca_certificate: a.string("cluster_ca_certificate").ok().flatten(),
        });
    }
    let answer = api
        .get(&format!("{}/kubeconfig", path(&cluster.id)))
        .await?;
    let ca_certificate = ca_from_kubeconfig(&answer.body);
    Ok(Access {
        kubeconfig: Some(answer.body),
        ca_certificate,
    })
}

/// Polls until the cluster runs `version` (or any version when `None`), reporting its state
/// from `initial` (the state the operation's answer gave) on.
async fn wait_running(
    api: &Api,
    ctx: &OperationContext,
    (id, name): (&str, &str),
    version: Option<&str>,
    initial: &str,
) -> ProviderResult<Cluster> {
    let mut waiter = Waiter::new(
        api.settings(),
        ctx,
        format!("Kubernetes cluster {name:?} (id {id})"),
    );
    if !initial.is_empty() {
        waiter.report(initial);
    }
    loop {
        let cluster: Cluster = match api.get(&path(id)).await {
            Ok(answer) => answer.field("kubernetes_cluster")?,
            Err(e) => {
                waiter.not_found_grace(e).await?;
                continue;
            }
        };
        let state = cluster.status.state.as_str();
        let on_version = version.is_none_or(|v| version_matches(&cluster.version, v));
        match state {
            "running" if on_version => {
                waiter.report(state);
                return Ok(cluster);
            }
            "error" | "deleted" | "deleting" => {
                let detail = if cluster.status.message.is_empty() {
                    String::new()
                } else {
                    format!(": {}", cluster.status.message)
                };
                return Err(ProviderError::new(
                    ErrorKind::Api,
                    format!("Kubernetes cluster {name:?} (id {id}) is {state}{detail}"),
                ));
            }
            // Still on the old version: the upgrade has not started yet.
            "running" => waiter.pending("upgrading").await?,
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
    let created: Cluster = api
        .create(
            "/v2/kubernetes/clusters",
            &body,
            "kubernetes_cluster",
            || named(api, &body.name),
        )
        .await?;
    let partial = to_object(&created, &Access::default(), planned);
    let initial = created.status.state.as_str();
    let cluster = wait_running(api, ctx, (&created.id, &body.name), None, initial)
        .await
        .map_err(|e| e.with_partial(partial.clone()))?;
    let access = access(api, &cluster, planned)
        .await
        .map_err(|e| e.with_partial(partial))?;
    Ok(to_object(&cluster, &access, planned))
}

pub(crate) async fn read(
    api: &Api,
    id: &str,
    prior: &Value,
) -> ProviderResult<Option<ResourceObject>> {
    let Some(cluster) = api
        .get_optional::<Cluster>(&path(id), "kubernetes_cluster")
        .await?
    else {
        return Ok(None);
    };
    let access = access(api, &cluster, prior).await?;
    Ok(Some(to_object(&cluster, &access, prior)))
}

/// The user-settable attributes of a value, for telling what an update must send.
fn settable(v: &Value, names: &[&str]) -> Vec<Value> {
    let a = Attrs::new(v, KUBERNETES_CLUSTER);
    names
        .iter()
        .map(|n| a.raw(n).unwrap_sensitive().clone())
        .collect()
}

const CLUSTER_FIELDS: &[&str] = &["name", "tags", "auto_upgrade", "surge_upgrade", "ha"];
const POOL_FIELDS: &[&str] = &[
    "name",
    "node_count",
    "auto_scale",
    "min_nodes",
    "max_nodes",
    "tags",
    "labels",
];

pub(crate) async fn update(
    api: &Api,
    id: &str,
    prior: &Value,
    planned: &Value,
    ctx: &OperationContext,
) -> ProviderResult<ResourceObject> {
    let name = Attrs::new(planned, KUBERNETES_CLUSTER).required_string("name")?;

    if settable(prior, CLUSTER_FIELDS) != settable(planned, CLUSTER_FIELDS) {
        ctx.report("updating");
        api.call(Method::PUT, &path(id), Some(&update_body(planned)?))
            .await?;
    }

    let planned_pool = the_pool(planned)?;
    let prior_pool = Attrs::new(prior, KUBERNETES_CLUSTER)
        .blocks("node_pool")
        .first()
        .copied()
        .cloned()
        .unwrap_or_default();
    if settable(&prior_pool, POOL_FIELDS) != settable(planned_pool, POOL_FIELDS) {
        ctx.report("updating node pool");
        let current: Cluster = api.get(&path(id)).await?.field("kubernetes_cluster")?;
        let pool = default_pool(&current, &prior_pool).ok_or_else(|| {
            ProviderError::new(
                ErrorKind::NotFound,
                format!("Kubernetes cluster {name:?} (id {id}) has no node pool left to update"),
            )
        })?;
        let body = pool_body(planned_pool, "node_pool[0]", true)?;
        node_pool::put_pool(api, id, &pool.id, &body).await?;
    }

    let prior_version = Attrs::new(prior, KUBERNETES_CLUSTER).string("version")?;
    let version = Attrs::new(planned, KUBERNETES_CLUSTER).required_string("version")?;
    let upgrading = prior_version.as_deref() != Some(version.as_str());
    if upgrading {
        api.call(
            Method::POST,
            &format!("{}/upgrade", path(id)),
            Some(&Upgrade { version: &version }),
        )
        .await?;
    }
    let target = upgrading.then_some(version.as_str());
    let initial = if upgrading { "upgrading" } else { "" };
    let cluster = wait_running(api, ctx, (id, &name), target, initial).await?;
    let access = access(api, &cluster, planned).await?;
    Ok(to_object(&cluster, &access, planned))
}

pub(crate) async fn delete(api: &Api, id: &str, ctx: &OperationContext) -> ProviderResult<()> {
    api.delete(&path(id)).await?;
    // The cluster's droplets and load balancers go away in the background; its VPC can only
    // be deleted once they have, so the delete is done when the API no longer knows it.
    let mut waiter = Waiter::new(api.settings(), ctx, format!("Kubernetes cluster {id}"));
    loop {
        match api
            .get_optional::<Cluster>(&path(id), "kubernetes_cluster")
            .await?
        {
            None => return Ok(()),
            Some(c) if c.status.state == "deleted" => return Ok(()),
            Some(_) => waiter.pending("deleting").await?,
        }
    }
}

pub(crate) async fn find(api: &Api, planned: &Value) -> ProviderResult<Option<ResourceObject>> {
    let name = planned_name(planned, KUBERNETES_CLUSTER)?;
    let Some(cluster) = the_one(named(api, &name).await?, KUBERNETES_CLUSTER, &name)? else {
        return Ok(None);
    };
    let access = access(api, &cluster, planned).await?;
    Ok(Some(to_object(&cluster, &access, planned)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn planned() -> Value {
        Value::map([
            ("name", Value::from("shop-stage")),
            ("region", Value::from("nyc1")),
            ("version", Value::from("1.31.1-do.4")),
            ("vpc_uuid", Value::from("c33931f2")),
            ("tags", Value::Null),
            ("auto_upgrade", Value::Null),
            ("ha", Value::from(true)),
            ("kubeconfig", Value::Unknown),
            (
                "node_pool",
                Value::List(vec![Value::map([
                    ("name", Value::from("default")),
                    ("size", Value::from("s-2vcpu-2gb")),
                    ("auto_scale", Value::from(true)),
                    ("min_nodes", Value::from(2i64)),
                    ("max_nodes", Value::from(5i64)),
                ])]),
            ),
        ])
    }

    #[test]
    fn the_create_body_matches_the_api() {
        let body = serde_json::to_value(create_body(&planned()).unwrap()).unwrap();
        assert_eq!(
            body,
            json!({
                "name": "shop-stage", "region": "nyc1", "version": "1.31.1-do.4",
                "vpc_uuid": "c33931f2", "ha": true,
                "node_pools": [{"size": "s-2vcpu-2gb", "name": "default", "count": 2,
                                "auto_scale": true, "min_nodes": 2, "max_nodes": 5}]
            })
        );
        let update = serde_json::to_value(update_body(&planned()).unwrap()).unwrap();
        assert_eq!(
            update,
            json!({"name": "shop-stage", "tags": [], "ha": true})
        );
    }

    #[test]
    fn a_cluster_without_its_pool_is_a_configuration_error() {
        let mut v = planned();
        v.set_path(
            &strata_core::Path::root().key("node_pool"),
            Value::List(vec![]),
        );
        let e = create_body(&v).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidConfig);
        assert!(e.message.contains("exactly one node_pool"), "{e}");
    }

    #[test]
    fn a_minor_version_or_latest_matches_the_slug_the_api_chose() {
        assert_eq!(reported_version("1.31.1-do.4", Some("1.31")), "1.31");
        assert_eq!(reported_version("1.31.1-do.4", Some("latest")), "latest");
        assert_eq!(reported_version("1.31.1-do.4", Some("1.3")), "1.31.1-do.4");
        assert_eq!(
            reported_version("1.32.0-do.1", Some("1.31.1-do.4")),
            "1.32.0-do.1"
        );
        assert_eq!(reported_version("1.31.1-do.4", None), "1.31.1-do.4");
    }

    #[test]
    fn answers_become_attributes_with_the_kubeconfig_sensitive() {
        let cluster: Cluster = serde_json::from_value(json!({
            "id": "c1", "name": "shop-stage", "region": "nyc1", "version": "1.31.1-do.4",
            "vpc_uuid": "c33931f2", "ipv4": "", "endpoint": "https://c1.k8s.example",
            "tags": ["k8s", "k8s:c1", "team:web"], "auto_upgrade": false, "ha": true,
            "status": {"state": "running", "message": "ok"}, "maintenance_policy": {"day": "any"},
            "node_pools": [{"id": "p1", "name": "default", "size": "s-2vcpu-2gb", "count": 2,
                            "tags": ["k8s", "k8s:c1", "k8s-worker"], "auto_scale": true,
                            "min_nodes": 2, "max_nodes": 5, "nodes": []}],
            "surge_upgrade": null, "registry_enabled": false
        }))
        .unwrap();
        let kubeconfig = "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: Q0E=\n    server: https://c1.k8s.example\n  name: c\nkind: Config\n";
        let access = Access {
            kubeconfig: Some(kubeconfig.into()),
            ca_certificate: ca_from_kubeconfig(kubeconfig),
        };
        let o = to_object(&cluster, &access, &planned());
        let a = &o.attributes;
        assert!(a.get("kubeconfig").unwrap().is_sensitive());
        assert_eq!(a.get("cluster_ca_certificate"), Some(Value::from("Q0E=")));
        assert_eq!(
            a.get("tags"),
            Some(Value::List(vec![Value::from("team:web")]))
        );
        assert_eq!(a.get("ipv4_address"), Some(Value::Null));
        assert_eq!(a.get("urn"), Some(Value::from("do:kubernetes:c1")));
        assert_eq!(a.get("status"), Some(Value::from("running")));
        let pools = a.get("node_pool").unwrap();
        let pool = &pools.as_list().unwrap()[0];
        assert_eq!(pool.get("id"), Some(Value::from("p1")));
        assert_eq!(pool.get("tags"), Some(Value::Null));
        assert_eq!(pool.get("max_nodes"), Some(Value::from(5i64)));
    }

    #[test]
    fn a_kubeconfig_without_a_ca_gives_none() {
        assert_eq!(ca_from_kubeconfig("kind: Config\n"), None);
        assert_eq!(ca_from_kubeconfig(": not yaml ["), None);
    }
}
