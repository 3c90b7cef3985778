//! `azure_aks_cluster` over
//! `/subscriptions/{id}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{name}`,
//! with its system pool (`default_node_pool`) sent in `agentPoolProfiles`.

use super::pool::{pool_attributes, pool_properties};
use super::{
    object, path_segment, planned_string, string_map, tags_json, text,
    CONTAINER_SERVICE_API_VERSION,
};
use crate::api::{Api, Json};
use crate::attrs::{self, Attrs};
use crate::schema::AKS_CLUSTER;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Map};
use std::collections::BTreeMap;
use strata_core::provider::{
    ErrorKind, OperationContext, ProviderError, ProviderResult, ResourceObject,
};
use strata_core::Value;

fn path(api: &Api, group: &str, name: &str) -> ProviderResult<String> {
    Ok(format!(
        "{}/resourceGroups/{}/providers/Microsoft.ContainerService/managedClusters/{}",
        api.subscription(),
        path_segment(group, "resource_group_name")?,
        path_segment(name, "cluster name")?
    ))
}

fn planned_path(api: &Api, planned: &Value) -> ProviderResult<String> {
    let a = Attrs::new(planned, AKS_CLUSTER);
    path(
        api,
        &a.required_string("resource_group_name")?,
        &a.required_string("name")?,
    )
}

fn the_pool(planned: &Value) -> ProviderResult<&Value> {
    match Attrs::new(planned, AKS_CLUSTER).blocks("default_node_pool").as_slice() {
        [one] => Ok(one),
        other => Err(ProviderError::new(
            ErrorKind::InvalidConfig,
            format!(
                "{AKS_CLUSTER} needs exactly one default_node_pool block (its system pool), found {}",
                other.len()
            ),
        )
        .with_hint("declare further pools as azure_aks_node_pool resources")),
    }
}

/// The body of the cluster's `PUT`; `prior` is state on an update (`Null` on a create).
pub(crate) fn body(planned: &Value, prior: &Value) -> ProviderResult<Json> {
    let a = Attrs::new(planned, AKS_CLUSTER);
    let mut props = Map::new();
    props.insert("dnsPrefix".into(), json!(a.required_string("dns_prefix")?));
    let version = a.string("kubernetes_version")?.filter(|v| !v.is_empty());
    if let Some(v) = &version {
        props.insert("kubernetesVersion".into(), json!(v));
    }
    let pool = the_pool(planned)?;
    let mut profile = pool_properties(pool, "default_node_pool[0]", "System")?;
    // A system pool that followed the control plane's version follows its upgrade too.
    let prior_version = Attrs::new(prior, AKS_CLUSTER)
        .string("kubernetes_version")
        .ok()
        .flatten();
    let prior_pool = Attrs::new(prior, AKS_CLUSTER)
        .blocks("default_node_pool")
        .first()
        .copied();
    let prior_pool_version = prior_pool.and_then(|p| {
        Attrs::new(p, "default_node_pool[0]")
            .string("orchestrator_version")
            .ok()
            .flatten()
    });
    if let (Some(new), Some(old), Some(old_pool)) = (&version, &prior_version, &prior_pool_version)
    {
        let pool_unchanged =
            profile.get("orchestratorVersion").and_then(Json::as_str) == Some(old_pool.as_str());
        if new != old && old_pool == old && pool_unchanged {
            profile.insert("orchestratorVersion".into(), json!(new));
        }
    }
    profile.insert(
        "name".into(),
        json!(Attrs::new(pool, "default_node_pool[0]").required_string("name")?),
    );
    props.insert("agentPoolProfiles".into(), json!([profile]));
    if let Some(network) = a.blocks("network_profile").first() {
        let n = Attrs::new(network, "network_profile[0]");
        let mut m = Map::new();
        for (key, field) in [
            ("network_plugin", "networkPlugin"),
            ("network_policy", "networkPolicy"),
            ("service_cidr", "serviceCidr"),
            ("dns_service_ip", "dnsServiceIP"),
            ("pod_cidr", "podCidr"),
            ("load_balancer_sku", "loadBalancerSku"),
        ] {
            if let Some(v) = n.string(key)?.filter(|v| !v.is_empty()) {
                m.insert(field.into(), json!(v));
            }
        }
        props.insert("networkProfile".into(), Json::Object(m));
    }
    if let Some(identity) = a.blocks("identity").first() {
        let kind = Attrs::new(identity, "identity[0]").required_string("type")?;
        if kind != "SystemAssigned" {
            return Err(ProviderError::new(
                ErrorKind::InvalidConfig,
                format!("identity[0].type {kind:?} is not supported; use SystemAssigned"),
            ));
        }
    }
    Ok(json!({
        "location": a.required_string("location")?,
        "tags": tags_json(a.string_map("tags")?),
        "identity": { "type": "SystemAssigned" },
        "properties": props,
    }))
}

/// What the cluster's user credential gives: the kubeconfig, its server and CA.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Access {
    pub kubeconfig: Option<String>,
    pub host: Option<String>,
    pub ca_certificate: Option<String>,
}

impl Access {
    /// Reads the server and CA out of a kubeconfig.
    pub fn from_kubeconfig(kubeconfig: String) -> Access {
        let doc: Option<serde_yaml::Value> = serde_yaml::from_str(&kubeconfig).ok();
        let cluster = doc
            .as_ref()
            .and_then(|d| d.get("clusters")?.get(0)?.get("cluster").cloned());
        let field = |k: &str| {
            cluster
                .as_ref()
                .and_then(|c| c.get(k)?.as_str().map(str::to_string))
                .filter(|s| !s.is_empty())
        };
        Access {
            host: field("server"),
            ca_certificate: field("certificate-authority-data"),
            kubeconfig: Some(kubeconfig),
        }
    }

    fn from_prior(prior: &Value) -> Access {
        let a = Attrs::new(prior, AKS_CLUSTER);
        Access {
            kubeconfig: a.string("kube_config_raw").ok().flatten(),
            host: a.string("host").ok().flatten(),
            ca_certificate: a.string("cluster_ca_certificate").ok().flatten(),
        }
    }
}

/// `POST …/listClusterUserCredential`: the kubeconfig, base64-encoded in `kubeconfigs[0].value`.
async fn user_credential(api: &Api, path: &str) -> ProviderResult<Access> {
    let url = format!("{path}/listClusterUserCredential");
    let answer = api
        .call(
            Method::POST,
            &url,
            Some(CONTAINER_SERVICE_API_VERSION),
            None,
        )
        .await?;
    let json = answer.json(&Method::POST, &url)?;
    let value = text(&json, "/kubeconfigs/0/value");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            crate::errors::unexpected_answer(
                "POST",
                &url,
                "no base64 kubeconfig in kubeconfigs[0].value",
            )
        })?;
    Ok(Access::from_kubeconfig(decoded))
}

fn to_object(json: &Json, prior: &Value, access: &Access) -> ResourceObject {
    let id = text(json, "/id");
    let p = Attrs::new(prior, AKS_CLUSTER);
    let props = json.get("properties").cloned().unwrap_or(Json::Null);
    let mut m = BTreeMap::new();
    m.insert("id".into(), attrs::string(id));
    m.insert("name".into(), attrs::string(text(json, "/name")));
    let group = id.split('/').nth(4).unwrap_or("");
    let group = match p.raw("resource_group_name").as_str() {
        Some(g) if g.eq_ignore_ascii_case(group) => g.to_string(),
        _ => group.to_string(),
    };
    m.insert("resource_group_name".into(), attrs::string(&group));
    m.insert("location".into(), attrs::string(text(json, "/location")));
    m.insert(
        "dns_prefix".into(),
        attrs::string(text(&props, "/dnsPrefix")),
    );
    m.insert(
        "kubernetes_version".into(),
        attrs::string(text(&props, "/kubernetesVersion")),
    );
    m.insert(
        "current_kubernetes_version".into(),
        attrs::string(text(&props, "/currentKubernetesVersion")),
    );
    m.insert("fqdn".into(), attrs::string(text(&props, "/fqdn")));
    m.insert(
        "node_resource_group".into(),
        attrs::string(text(&props, "/nodeResourceGroup")),
    );
    m.insert(
        "tags".into(),
        attrs::unless_unset(attrs::string_map(&string_map(json, "/tags")), p.raw("tags")),
    );
    // The block stands for the system pool of the configured name, else the first System pool.
    let prior_pool = p
        .blocks("default_node_pool")
        .first()
        .copied()
        .cloned()
        .unwrap_or(Value::Null);
    let wanted = prior_pool
        .get("name")
        .and_then(|n| n.as_str().map(str::to_string));
    let pools: Vec<&Json> = props
        .get("agentPoolProfiles")
        .and_then(Json::as_array)
        .map(|l| l.iter().collect())
        .unwrap_or_default();
    let pool = pools
        .iter()
        .find(|x| Some(text(x, "/name")) == wanted.as_deref())
        .or_else(|| pools.iter().find(|x| text(x, "/mode") == "System"));
    let pool_value = match pool {
        Some(x) => Value::List(vec![Value::Map(pool_attributes(
            text(x, "/name"),
            x,
            &prior_pool,
        ))]),
        None => Value::List(Vec::new()),
    };
    m.insert("default_node_pool".into(), pool_value);
    let identity = match p.raw("identity") {
        Value::List(l) if !l.is_empty() => Value::List(vec![Value::map([(
            "type",
            attrs::string(text(json, "/identity/type")),
        )])]),
        other => attrs::known(other).unwrap_or(Value::Null),
    };
    m.insert("identity".into(), identity);
    let network = match p.raw("network_profile") {
        Value::List(l) if !l.is_empty() => {
            let n = props.get("networkProfile").cloned().unwrap_or(Json::Null);
            let prior_n = &l[0];
            let mut block = BTreeMap::new();
            for (key, field) in [
                ("network_plugin", "/networkPlugin"),
                ("network_policy", "/networkPolicy"),
                ("service_cidr", "/serviceCidr"),
                ("dns_service_ip", "/dnsServiceIP"),
                ("pod_cidr", "/podCidr"),
                ("load_balancer_sku", "/loadBalancerSku"),
            ] {
                let v = attrs::string(text(&n, field));
                let prior_v = prior_n.get(key).unwrap_or(Value::Null);
                block.insert(key.to_string(), attrs::unless_unset(v, &prior_v));
            }
            Value::List(vec![Value::Map(block)])
        }
        other => attrs::known(other).unwrap_or(Value::Null),
    };
    m.insert("network_profile".into(), network);
    let or_null = |v: &Option<String>| v.as_deref().map(Value::from).unwrap_or(Value::Null);
    m.insert("kube_config_raw".into(), or_null(&access.kubeconfig));
    m.insert("host".into(), or_null(&access.host));
    m.insert(
        "cluster_ca_certificate".into(),
        or_null(&access.ca_certificate),
    );
    object(AKS_CLUSTER, id, m)
}

pub(crate) async fn put(
    api: &Api,
    planned: &Value,
    prior: &Value,
    ctx: &OperationContext,
) -> ProviderResult<ResourceObject> {
    let path = planned_path(api, planned)?;
    let json = api
        .put(
            &path,
            CONTAINER_SERVICE_API_VERSION,
            &body(planned, prior)?,
            ctx,
        )
        .await?;
    let access = user_credential(api, &path).await?;
    Ok(to_object(&json, planned, &access))
}

pub(crate) async fn read(
    api: &Api,
    id: &str,
    prior: &Value,
) -> ProviderResult<Option<ResourceObject>> {
    let Some(json) = api.get_optional(id, CONTAINER_SERVICE_API_VERSION).await? else {
        return Ok(None);
    };
    // A refresh only reads: the credential of state is kept, and fetched (a POST) only for a
    // cluster state does not know yet, such as an import.
    let mut access = Access::from_prior(prior);
    if access.kubeconfig.is_none() {
        access = user_credential(api, id).await?;
    }
    Ok(Some(to_object(&json, prior, &access)))
}

pub(crate) async fn delete(api: &Api, id: &str, ctx: &OperationContext) -> ProviderResult<()> {
    api.delete(id, CONTAINER_SERVICE_API_VERSION, ctx).await
}

pub(crate) async fn find(api: &Api, planned: &Value) -> ProviderResult<Option<ResourceObject>> {
    let name = planned_string(planned, "name", AKS_CLUSTER)?;
    let group = planned_string(planned, "resource_group_name", AKS_CLUSTER)?;
    let path = path(api, &group, &name)?;
    let Some(json) = api
        .get_optional(&path, CONTAINER_SERVICE_API_VERSION)
        .await?
    else {
        return Ok(None);
    };
    let access = user_credential(api, &path).await?;
    Ok(Some(to_object(&json, planned, &access)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(version: &str, pool_version: &str) -> Value {
        Value::map([
            ("name", Value::from("aks")),
            ("resource_group_name", Value::from("rg")),
            ("location", Value::from("westeurope")),
            ("dns_prefix", Value::from("aks")),
            ("kubernetes_version", Value::from(version)),
            (
                "default_node_pool",
                Value::List(vec![Value::map([
                    ("name", Value::from("system")),
                    ("vm_size", Value::from("Standard_B2s")),
                    ("node_count", Value::from(1i64)),
                    ("orchestrator_version", Value::from(pool_version)),
                ])]),
            ),
        ])
    }

    #[test]
    fn the_system_pool_follows_a_control_plane_upgrade() {
        let prior = planned("1.32", "1.32");
        let b = body(&planned("1.33", "1.32"), &prior).unwrap();
        assert_eq!(b["properties"]["kubernetesVersion"], json!("1.33"));
        let pool = &b["properties"]["agentPoolProfiles"][0];
        assert_eq!(pool["orchestratorVersion"], json!("1.33"));
        assert_eq!(pool["mode"], json!("System"));
        assert_eq!(pool["name"], json!("system"));
        // A pool pinned to its own version keeps it.
        let prior = planned("1.32", "1.31");
        let b = body(&planned("1.33", "1.31"), &prior).unwrap();
        assert_eq!(
            b["properties"]["agentPoolProfiles"][0]["orchestratorVersion"],
            json!("1.31")
        );
    }

    #[test]
    fn server_and_ca_come_from_the_kubeconfig() {
        let access = Access::from_kubeconfig(
            "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: Q0E=\n    server: https://aks.example:443\n  name: c\n".into(),
        );
        assert_eq!(access.host.as_deref(), Some("https://aks.example:443"));
        assert_eq!(access.ca_certificate.as_deref(), Some("Q0E="));
    }
}
