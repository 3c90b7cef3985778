//! Node pools: `digitalocean_kubernetes_node_pool`, and the default pool that a
//! `digitalocean_kubernetes_cluster` declares in its `node_pool` block. Both go through the
//! node pool API (`/v2/kubernetes/clusters/{id}/node_pools`) and share the shapes here.

use crate::api::{nullable, Api, Identified};
use crate::attrs::{self, Attrs};
use crate::resources::{object, planned_name, the_one};
use crate::schema::KUBERNETES_NODE_POOL;
use crate::wait::Waiter;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use strata_core::provider::{
    ErrorKind, OperationContext, ProviderError, ProviderResult, ResourceObject,
};
use strata_core::Value;

/// A node pool as the API answers it (`kubernetes/models/node_pool.yml`).
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct NodePool {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub size: String,
    #[serde(default, deserialize_with = "nullable")]
    pub count: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub tags: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "nullable")]
    pub auto_scale: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub min_nodes: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub max_nodes: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub nodes: Vec<Node>,
}

impl Identified for NodePool {
    fn id(&self) -> &str {
        &self.id
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct Node {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub status: NodeStatus,
    /// A string in the API; some answers carry a number.
    #[serde(default, deserialize_with = "nullable")]
    pub droplet_id: serde_json::Value,
    #[serde(default, deserialize_with = "nullable")]
    pub created_at: String,
    #[serde(default, deserialize_with = "nullable")]
    pub updated_at: String,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct NodeStatus {
    #[serde(default, deserialize_with = "nullable")]
    pub state: String,
}

/// A node pool in a request: the pool of a cluster create, a node pool create (both with
/// `size`) or a node pool update (without).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct PoolBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    pub name: String,
    pub count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_scale: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_nodes: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_nodes: Option<u32>,
}

/// The attributes of a node pool that the user sets, as they go to the API.
pub(crate) fn pool_body(pool: &Value, at: &str, for_update: bool) -> ProviderResult<PoolBody> {
    let a = Attrs::new(pool, at);
    let auto_scale = a.bool("auto_scale")?;
    let min_nodes = a.count("min_nodes")?;
    let max_nodes = a.count("max_nodes")?;
    if let (Some(min), Some(max)) = (min_nodes, max_nodes) {
        if min > max {
            return Err(ProviderError::new(
                ErrorKind::InvalidConfig,
                format!("{at}: min_nodes ({min}) is larger than max_nodes ({max})"),
            ));
        }
    }
    let count = match (a.count("node_count")?, auto_scale) {
        (Some(n), _) => n,
        (None, Some(true)) => min_nodes.unwrap_or(1).max(1),
        (None, _) => {
            return Err(ProviderError::new(
                ErrorKind::InvalidConfig,
                format!("{at}: node_count is required unless auto_scale is true"),
            ))
        }
    };
    let tags = a.strings("tags")?;
    let labels = a.string_map("labels")?;
    Ok(PoolBody {
        size: if for_update {
            None
        } else {
            Some(a.required_string("size")?)
        },
        name: a.required_string("name")?,
        count,
        // An update replaces the pool's tags and labels: unset means none.
        tags: if for_update {
            Some(tags.unwrap_or_default())
        } else {
            tags
        },
        labels: if for_update {
            Some(labels.unwrap_or_default())
        } else {
            labels
        },
        auto_scale: if for_update {
            Some(auto_scale.unwrap_or(false))
        } else {
            auto_scale
        },
        min_nodes,
        max_nodes,
    })
}

/// Tags DigitalOcean adds to every pool by itself; they are not the user's.
fn is_automatic_tag(tag: &str, cluster_id: &str) -> bool {
    matches!(tag, "k8s" | "k8s-worker" | "k8s:worker")
        || tag.strip_prefix("k8s:") == Some(cluster_id)
}

pub(crate) fn user_tags(tags: &[String], cluster_id: &str) -> Vec<String> {
    tags.iter()
        .filter(|t| !is_automatic_tag(t, cluster_id))
        .cloned()
        .collect()
}

/// The attributes of `pool` shared by the cluster's `node_pool` block and the node pool
/// resource; `prior` is the pool's planned or stored attributes.
pub(crate) fn pool_attributes(
    pool: &NodePool,
    cluster_id: &str,
    prior: &Value,
) -> BTreeMap<String, Value> {
    let prior = Attrs::new(prior, "node_pool");
    let mut m = BTreeMap::new();
    m.insert("id".into(), attrs::string(&pool.id));
    m.insert("name".into(), attrs::string(&pool.name));
    m.insert("size".into(), attrs::string(&pool.size));
    // While the autoscaler moves the count, the count the user asked for is what they asked
    // for; what the pool has now is actual_node_count.
    let node_count = match attrs::known(prior.raw("node_count")) {
        Some(v) if pool.auto_scale && !v.is_null() => v,
        _ => attrs::number(pool.count),
    };
    m.insert("node_count".into(), node_count);
    m.insert("actual_node_count".into(), attrs::number(pool.count));
    m.insert(
        "auto_scale".into(),
        attrs::unless_unset(Value::Bool(pool.auto_scale), prior.raw("auto_scale")),
    );
    m.insert(
        "min_nodes".into(),
        attrs::unless_unset(attrs::number(pool.min_nodes), prior.raw("min_nodes")),
    );
    m.insert(
        "max_nodes".into(),
        attrs::unless_unset(attrs::number(pool.max_nodes), prior.raw("max_nodes")),
    );
    m.insert(
        "tags".into(),
        attrs::unless_unset(
            attrs::strings(&user_tags(&pool.tags, cluster_id)),
            prior.raw("tags"),
        ),
    );
    m.insert(
        "labels".into(),
        attrs::unless_unset(attrs::string_map(&pool.labels), prior.raw("labels")),
    );
    m.insert(
        "nodes".into(),
        Value::List(pool.nodes.iter().map(node_value).collect()),
    );
    m
}

fn node_value(node: &Node) -> Value {
    let droplet_id = match &node.droplet_id {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    Value::map([
        ("id", Value::from(node.id.as_str())),
        ("name", Value::from(node.name.as_str())),
        ("status", Value::from(node.status.state.as_str())),
        ("droplet_id", Value::from(droplet_id)),
        ("created_at", Value::from(node.created_at.as_str())),
        ("updated_at", Value::from(node.updated_at.as_str())),
    ])
}

/// The first state of a node that is not running, if any: what a wait reports.
pub(crate) fn pending_node_state(pool: &NodePool) -> Option<&str> {
    pool.nodes
        .iter()
        .map(|n| n.status.state.as_str())
        .find(|s| *s != "running")
}

fn pools_path(cluster_id: &str) -> String {
    format!("/v2/kubernetes/clusters/{cluster_id}/node_pools")
}

pub(crate) fn pool_path(cluster_id: &str, pool_id: &str) -> String {
    format!("/v2/kubernetes/clusters/{cluster_id}/node_pools/{pool_id}")
}

/// Sends a pool update (`PUT`), answered with the pool.
pub(crate) async fn put_pool(
    api: &Api,
    cluster_id: &str,
    pool_id: &str,
    body: &PoolBody,
) -> ProviderResult<NodePool> {
    api.call(Method::PUT, &pool_path(cluster_id, pool_id), Some(body))
        .await?
        .field("node_pool")
}

// The node pool resource.

fn resource_object(pool: &NodePool, cluster_id: &str, prior: &Value) -> ResourceObject {
    let mut m = pool_attributes(pool, cluster_id, prior);
    m.insert("cluster_id".into(), Value::from(cluster_id));
    object(KUBERNETES_NODE_POOL, &pool.id, m)
}

async fn named(api: &Api, cluster_id: &str, name: &str) -> ProviderResult<Vec<NodePool>> {
    let pools: Vec<NodePool> = api
        .get(&pools_path(cluster_id))
        .await?
        .field_or_default("node_pools")?;
    Ok(pools.into_iter().filter(|p| p.name == name).collect())
}

/// Polls the pool until every node runs.
async fn wait_ready(
    api: &Api,
    ctx: &OperationContext,
    cluster_id: &str,
    created: NodePool,
) -> ProviderResult<NodePool> {
    let what = format!("node pool {:?} (id {})", created.name, created.id);
    let mut waiter = Waiter::new(api.settings(), ctx, what);
    let path = pool_path(cluster_id, &created.id);
    loop {
        let pool: NodePool = match api.get(&path).await {
            Ok(answer) => answer.field("node_pool")?,
            Err(e) => {
                waiter.not_found_grace(e).await?;
                continue;
            }
        };
        match pending_node_state(&pool) {
            None => {
                waiter.report("running");
                return Ok(pool);
            }
            Some(state) => waiter.pending(state).await?,
        }
    }
}

pub(crate) async fn create(
    api: &Api,
    planned: &Value,
    ctx: &OperationContext,
) -> ProviderResult<ResourceObject> {
    let cluster_id = Attrs::new(planned, KUBERNETES_NODE_POOL).required_string("cluster_id")?;
    let body = pool_body(planned, KUBERNETES_NODE_POOL, false)?;
    let created: NodePool = api
        .create(&pools_path(&cluster_id), &body, "node_pool", || {
            named(api, &cluster_id, &body.name)
        })
        .await?;
    ctx.report("provisioning");
    let partial = resource_object(&created, &cluster_id, planned);
    let pool = wait_ready(api, ctx, &cluster_id, created)
        .await
        .map_err(|e| e.with_partial(partial))?;
    Ok(resource_object(&pool, &cluster_id, planned))
}

/// The cluster a pool belongs to: from state, from an import id `CLUSTER_ID:POOL_ID`, or by
/// searching every cluster (an import by pool id alone, as Terraform allows).
async fn cluster_of(
    api: &Api,
    id: &str,
    prior: &Value,
) -> ProviderResult<Option<(String, String)>> {
    if let Some(cluster_id) = Attrs::new(prior, KUBERNETES_NODE_POOL).string("cluster_id")? {
        return Ok(Some((cluster_id, id.to_string())));
    }
    if let Some((cluster_id, pool_id)) = id.split_once(':') {
        return Ok(Some((cluster_id.to_string(), pool_id.to_string())));
    }
    let clusters: Vec<super::cluster::Cluster> = api
        .list("/v2/kubernetes/clusters", "kubernetes_clusters")
        .await?;
    Ok(clusters
        .into_iter()
        .find(|c| c.node_pools.iter().any(|p| p.id == id))
        .map(|c| (c.id, id.to_string())))
}

pub(crate) async fn read(
    api: &Api,
    id: &str,
    prior: &Value,
) -> ProviderResult<Option<ResourceObject>> {
    let Some((cluster_id, pool_id)) = cluster_of(api, id, prior).await? else {
        return Ok(None);
    };
    let pool: Option<NodePool> = api
        .get_optional(&pool_path(&cluster_id, &pool_id), "node_pool")
        .await?;
    Ok(pool.map(|p| resource_object(&p, &cluster_id, prior)))
}

pub(crate) async fn update(
    api: &Api,
    id: &str,
    planned: &Value,
    ctx: &OperationContext,
) -> ProviderResult<ResourceObject> {
    let cluster_id = Attrs::new(planned, KUBERNETES_NODE_POOL).required_string("cluster_id")?;
    let body = pool_body(planned, KUBERNETES_NODE_POOL, true)?;
    ctx.report("updating");
    let updated = put_pool(api, &cluster_id, id, &body).await?;
    let pool = wait_ready(api, ctx, &cluster_id, updated).await?;
    Ok(resource_object(&pool, &cluster_id, planned))
}

pub(crate) async fn delete(
    api: &Api,
    id: &str,
    prior: &Value,
    ctx: &OperationContext,
) -> ProviderResult<()> {
    let Some((cluster_id, pool_id)) = cluster_of(api, id, prior).await? else {
        return Ok(());
    };
    let path = pool_path(&cluster_id, &pool_id);
    api.delete(&path).await?;
    // Draining takes a while; the pool is gone when the API no longer knows it.
    let mut waiter = Waiter::new(api.settings(), ctx, format!("node pool {pool_id}"));
    loop {
        match api.get_optional::<NodePool>(&path, "node_pool").await? {
            None => return Ok(()),
            Some(_) => waiter.pending("deleting").await?,
        }
    }
}

pub(crate) async fn find(api: &Api, planned: &Value) -> ProviderResult<Option<ResourceObject>> {
    let name = planned_name(planned, KUBERNETES_NODE_POOL)?;
    let cluster_id = planned
        .get("cluster_id")
        .and_then(|c| c.as_str().map(str::to_string))
        .ok_or_else(|| {
            ProviderError::new(
                ErrorKind::InvalidConfig,
                "finding a node pool needs its cluster_id, which is not known",
            )
        })?;
    let found = the_one(
        named(api, &cluster_id, &name).await?,
        KUBERNETES_NODE_POOL,
        &name,
    )?;
    Ok(found.map(|p| resource_object(&p, &cluster_id, planned)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pool(extra: &[(&str, Value)]) -> Value {
        let mut m = vec![
            ("name", Value::from("default")),
            ("size", Value::from("s-2vcpu-2gb")),
            ("auto_scale", Value::from(true)),
            ("min_nodes", Value::from(2i64)),
            ("max_nodes", Value::from(5i64)),
            ("node_count", Value::Null),
            ("id", Value::Unknown),
        ];
        m.extend(extra.iter().cloned());
        Value::map(m)
    }

    #[test]
    fn create_and_update_bodies_follow_the_api() {
        let body =
            serde_json::to_value(pool_body(&pool(&[]), "node_pool[0]", false).unwrap()).unwrap();
        assert_eq!(
            body,
            json!({"size": "s-2vcpu-2gb", "name": "default", "count": 2,
                   "auto_scale": true, "min_nodes": 2, "max_nodes": 5})
        );
        let planned = pool(&[
            ("node_count", Value::from(3i64)),
            ("tags", Value::List(vec![Value::from("web")])),
        ]);
        let body = serde_json::to_value(pool_body(&planned, "p", true).unwrap()).unwrap();
        assert_eq!(
            body,
            json!({"name": "default", "count": 3, "tags": ["web"], "labels": {},
                   "auto_scale": true, "min_nodes": 2, "max_nodes": 5})
        );
    }

    #[test]
    fn bad_pools_are_refused_before_any_call() {
        let e = pool_body(
            &pool(&[("min_nodes", Value::from(6i64))]),
            "node_pool[0]",
            false,
        )
        .unwrap_err();
        assert!(
            e.message
                .contains("min_nodes (6) is larger than max_nodes (5)"),
            "{e}"
        );
        let e =
            pool_body(&pool(&[("auto_scale", Value::Null)]), "node_pool[0]", false).unwrap_err();
        assert!(e.message.contains("node_count is required"), "{e}");
    }

    #[test]
    fn answers_become_attributes_without_automatic_tags() {
        let answer: NodePool = serde_json::from_value(json!({
            "id": "p1", "name": "default", "size": "s-2vcpu-2gb", "count": 4,
            "tags": ["k8s", "k8s:c1", "k8s-worker", "web"], "labels": null, "taints": [],
            "auto_scale": true, "min_nodes": 2, "max_nodes": 5,
            "nodes": [{"id": "n1", "name": "a", "status": {"state": "running"},
                       "droplet_id": 205545370, "created_at": "t", "updated_at": "t",
                       "future": true}]
        }))
        .unwrap();
        let prior = Value::map([("node_count", Value::from(3i64))]);
        let m = pool_attributes(&answer, "c1", &prior);
        assert_eq!(m["tags"], Value::List(vec![Value::from("web")]));
        assert_eq!(m["labels"], Value::Null);
        // The autoscaler moved the pool to 4 nodes; the configured 3 stays what was asked.
        assert_eq!(m["node_count"], Value::from(3i64));
        assert_eq!(m["actual_node_count"], Value::from(4i64));
        let nodes = m["nodes"].as_list().unwrap();
        assert_eq!(nodes[0].get("droplet_id"), Some(Value::from("205545370")));
        assert_eq!(nodes[0].get("status"), Some(Value::from("running")));
        assert_eq!(pending_node_state(&answer), None);
    }
}
