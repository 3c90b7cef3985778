//! Agent pools: `azure_aks_node_pool` over `{cluster id}/agentPools/{name}`, and the shapes it
//! shares with the `default_node_pool` block of `azure_aks_cluster`.

use super::{
    int, object, path_segment, planned_string, string_list, string_map, text,
    CONTAINER_SERVICE_API_VERSION,
};
use crate::api::{Api, Json};
use crate::attrs::{self, Attrs};
use crate::schema::AKS_NODE_POOL;
use serde_json::{json, Map};
use std::collections::BTreeMap;
use strata_core::provider::{
    ErrorKind, OperationContext, ProviderError, ProviderResult, ResourceObject,
};
use strata_core::Value;

/// The properties of a pool as they go to ARM (`ManagedClusterAgentPoolProfileProperties`).
pub(crate) fn pool_properties(
    pool: &Value,
    at: &str,
    mode: &str,
) -> ProviderResult<Map<String, Json>> {
    let a = Attrs::new(pool, at);
    let auto = a.bool("enable_auto_scaling")?.unwrap_or(false);
    let min = a.count("min_count")?;
    let max = a.count("max_count")?;
    if let (Some(min), Some(max)) = (min, max) {
        if min > max {
            return Err(ProviderError::new(
                ErrorKind::InvalidConfig,
                format!("{at}: min_count ({min}) is larger than max_count ({max})"),
            ));
        }
    }
    if auto && (min.is_none() || max.is_none()) {
        return Err(ProviderError::new(
            ErrorKind::InvalidConfig,
            format!("{at}: min_count and max_count are required when enable_auto_scaling is true"),
        ));
    }
    let count = match (a.count("node_count")?, auto) {
        // An autoscaled pool starts at its minimum and stays within its bounds.
        (Some(n), true) => n.clamp(min.unwrap_or(n), max.unwrap_or(n)),
        (Some(n), false) => n,
        (None, true) => min.unwrap_or(1).max(1),
        (None, false) => {
            return Err(ProviderError::new(
                ErrorKind::InvalidConfig,
                format!("{at}: node_count is required unless enable_auto_scaling is true"),
            ))
        }
    };
    let mut m = Map::new();
    m.insert("count".into(), json!(count));
    m.insert("vmSize".into(), json!(a.required_string("vm_size")?));
    m.insert("osType".into(), json!("Linux"));
    m.insert("type".into(), json!("VirtualMachineScaleSets"));
    m.insert("mode".into(), json!(mode));
    m.insert("enableAutoScaling".into(), json!(auto));
    if auto {
        m.insert("minCount".into(), json!(min));
        m.insert("maxCount".into(), json!(max));
    }
    if let Some(labels) = a.string_map("node_labels")? {
        m.insert("nodeLabels".into(), json!(labels));
    }
    if let Some(version) = a.string("orchestrator_version")?.filter(|v| !v.is_empty()) {
        m.insert("orchestratorVersion".into(), json!(version));
    }
    if let Some(tags) = a.string_map("tags")? {
        m.insert("tags".into(), json!(tags));
    }
    Ok(m)
}

/// The attributes shared by `default_node_pool` and the node pool resource, from ARM's
/// properties of the pool; `prior` is the pool's planned or stored attributes.
pub(crate) fn pool_attributes(name: &str, props: &Json, prior: &Value) -> BTreeMap<String, Value> {
    let prior = Attrs::new(prior, "pool");
    let mut m = BTreeMap::new();
    m.insert("name".into(), attrs::string(name));
    m.insert("vm_size".into(), attrs::string(text(props, "/vmSize")));
    m.insert(
        "node_count".into(),
        int(props, "/count")
            .map(attrs::number)
            .unwrap_or(Value::Null),
    );
    let auto = props
        .get("enableAutoScaling")
        .and_then(Json::as_bool)
        .unwrap_or(false);
    m.insert(
        "enable_auto_scaling".into(),
        attrs::unless_unset(Value::Bool(auto), prior.raw("enable_auto_scaling")),
    );
    for (key, field) in [("min_count", "/minCount"), ("max_count", "/maxCount")] {
        let v = int(props, field).map(attrs::number).unwrap_or(Value::Null);
        m.insert(key.into(), attrs::unless_unset(v, prior.raw(key)));
    }
    m.insert(
        "node_labels".into(),
        attrs::unless_unset(
            attrs::string_map(&string_map(props, "/nodeLabels")),
            prior.raw("node_labels"),
        ),
    );
    m.insert(
        "orchestrator_version".into(),
        attrs::string(text(props, "/orchestratorVersion")),
    );
    m.insert(
        "tags".into(),
        attrs::unless_unset(
            attrs::string_map(&string_map(props, "/tags")),
            prior.raw("tags"),
        ),
    );
    m
}

/// The parts of a managed cluster id: (path of the cluster, cluster name).
fn cluster_path(cluster_id: &str) -> ProviderResult<String> {
    let parts: Vec<&str> = cluster_id.trim_matches('/').split('/').collect();
    let ok = parts.len() == 8
        && parts[0].eq_ignore_ascii_case("subscriptions")
        && parts[2].eq_ignore_ascii_case("resourceGroups")
        && parts[4].eq_ignore_ascii_case("providers")
        && parts[5].eq_ignore_ascii_case("Microsoft.ContainerService")
        && parts[6].eq_ignore_ascii_case("managedClusters")
        && parts.iter().all(|p| path_segment(p, "id segment").is_ok());
    if !ok {
        return Err(ProviderError::new(
            ErrorKind::InvalidConfig,
            format!("kubernetes_cluster_id {cluster_id:?} is not the id of an AKS cluster"),
        )
        .with_hint("use azure_aks_cluster.NAME.id"));
    }
    Ok(format!("/{}", parts.join("/")))
}

fn pool_path(planned: &Value) -> ProviderResult<String> {
    let a = Attrs::new(planned, AKS_NODE_POOL);
    let cluster = cluster_path(&a.required_string("kubernetes_cluster_id")?)?;
    let name = a.required_string("name")?;
    Ok(format!(
        "{cluster}/agentPools/{}",
        path_segment(&name, "node pool name")?
    ))
}

fn to_object(json: &Json, prior: &Value) -> ResourceObject {
    let id = text(json, "/id");
    let props = json.get("properties").cloned().unwrap_or(Json::Null);
    let mut m = pool_attributes(text(json, "/name"), &props, prior);
    let cluster_id = id.split("/agentPools/").next().unwrap_or("");
    let prior_cluster = Attrs::new(prior, AKS_NODE_POOL).raw("kubernetes_cluster_id");
    // The configured spelling of the cluster id wins while it names the same cluster.
    let cluster_id = match prior_cluster.as_str() {
        Some(p) if p.eq_ignore_ascii_case(cluster_id) => p.to_string(),
        _ => cluster_id.to_string(),
    };
    m.insert("kubernetes_cluster_id".into(), Value::from(cluster_id));
    m.insert("mode".into(), attrs::string(text(&props, "/mode")));
    m.insert(
        "node_taints".into(),
        attrs::unless_unset(
            attrs::strings(&string_list(&props, "/nodeTaints")),
            Attrs::new(prior, AKS_NODE_POOL).raw("node_taints"),
        ),
    );
    m.insert("id".into(), attrs::string(id));
    object(AKS_NODE_POOL, id, m)
}

fn body(planned: &Value) -> ProviderResult<Json> {
    let a = Attrs::new(planned, AKS_NODE_POOL);
    let mode = a.string("mode")?.unwrap_or_else(|| "User".to_string());
    let mut props = pool_properties(planned, AKS_NODE_POOL, &mode)?;
    if let Some(taints) = a.strings("node_taints")? {
        props.insert("nodeTaints".into(), json!(taints));
    }
    Ok(json!({ "properties": props }))
}

pub(crate) async fn put(
    api: &Api,
    planned: &Value,
    ctx: &OperationContext,
) -> ProviderResult<ResourceObject> {
    let path = pool_path(planned)?;
    let json = api
        .put(&path, CONTAINER_SERVICE_API_VERSION, &body(planned)?, ctx)
        .await?;
    Ok(to_object(&json, planned))
}

pub(crate) async fn read(
    api: &Api,
    id: &str,
    prior: &Value,
) -> ProviderResult<Option<ResourceObject>> {
    Ok(api
        .get_optional(id, CONTAINER_SERVICE_API_VERSION)
        .await?
        .map(|json| to_object(&json, prior)))
}

pub(crate) async fn delete(api: &Api, id: &str, ctx: &OperationContext) -> ProviderResult<()> {
    api.delete(id, CONTAINER_SERVICE_API_VERSION, ctx).await
}

pub(crate) async fn find(api: &Api, planned: &Value) -> ProviderResult<Option<ResourceObject>> {
    planned_string(planned, "name", AKS_NODE_POOL)?;
    planned_string(planned, "kubernetes_cluster_id", AKS_NODE_POOL)?;
    let path = pool_path(planned)?;
    Ok(api
        .get_optional(&path, CONTAINER_SERVICE_API_VERSION)
        .await?
        .map(|json| to_object(&json, planned)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_bodies_follow_the_swagger_and_refuse_bad_bounds() {
        let pool = Value::map([
            ("name", Value::from("backend")),
            ("vm_size", Value::from("Standard_B2s")),
            ("enable_auto_scaling", Value::from(true)),
            ("min_count", Value::from(1i64)),
            ("max_count", Value::from(5i64)),
            (
                "node_labels",
                Value::map([("workload", Value::from("backend"))]),
            ),
        ]);
        let props = pool_properties(&pool, "p", "User").unwrap();
        assert_eq!(props["count"], json!(1));
        assert_eq!(props["minCount"], json!(1));
        assert_eq!(props["nodeLabels"], json!({"workload": "backend"}));
        assert!(!props.contains_key("orchestratorVersion"));

        let bad = Value::map([
            ("vm_size", Value::from("Standard_B2s")),
            ("enable_auto_scaling", Value::from(true)),
            ("min_count", Value::from(4i64)),
            ("max_count", Value::from(2i64)),
        ]);
        let e = pool_properties(&bad, "p", "User").unwrap_err();
        assert!(
            e.message
                .contains("min_count (4) is larger than max_count (2)"),
            "{e}"
        );
        assert!(
            cluster_path("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/x")
                .is_err()
        );
    }
}
