//! Managed clusters (`Microsoft.ContainerService/managedClusters`) and their agent pools, and
//! the kubeconfig `listClusterUserCredential` hands out.

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use super::arm::{cluster_id, ArmError, CONTAINER_SERVICE};
use super::handlers::{async_response, parse_json, properties_of, tags_of, update, ArmResult, Ctx};
use super::model::{Cluster, Resource, Transition};
use crate::services::Shared;

/// The Kubernetes version a cluster gets when none is asked for.
const DEFAULT_KUBERNETES_VERSION: &str = "1.33.2";

/// Read-only properties the emulator computes; what a client sends for them is ignored.
const CLUSTER_READ_ONLY: &[&str] = &[
    "provisioningState",
    "powerState",
    "currentKubernetesVersion",
    "fqdn",
    "azurePortalFQDN",
    "privateFQDN",
    "maxAgentPools",
    "agentPoolProfiles",
];
const POOL_READ_ONLY: &[&str] = &[
    "provisioningState",
    "powerState",
    "currentOrchestratorVersion",
    "nodeImageVersion",
    "name",
];

fn is_version(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    (2..=3).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

fn version_key(v: &str) -> Vec<u64> {
    v.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

fn cluster_fqdn(c: &Cluster) -> String {
    let prefix = c
        .resource
        .properties
        .get("dnsPrefix")
        .and_then(Value::as_str)
        .unwrap_or(&c.resource.name);
    format!(
        "{prefix}-{}.hcp.{}.azmk8s.io",
        &c.uid[..8.min(c.uid.len())],
        c.resource.location
    )
}

pub(super) fn json(c: &Cluster, now: OffsetDateTime) -> Value {
    let r = &c.resource;
    let mut props = r.properties.clone();
    let state = r.provisioning_state(now).to_string();
    let version = props
        .get("kubernetesVersion")
        .cloned()
        .unwrap_or(json!(DEFAULT_KUBERNETES_VERSION));
    props.insert("provisioningState".into(), json!(state));
    props.insert("powerState".into(), json!({ "code": "Running" }));
    props.insert("kubernetesVersion".into(), version.clone());
    props.insert("currentKubernetesVersion".into(), version);
    props.insert("fqdn".into(), json!(cluster_fqdn(c)));
    props.insert(
        "azurePortalFQDN".into(),
        json!(cluster_fqdn(c).replace(".hcp.", ".portal.hcp.")),
    );
    props.insert("maxAgentPools".into(), json!(100));
    props.insert(
        "agentPoolProfiles".into(),
        Value::Array(
            c.pools
                .iter()
                .filter(|p| !p.is_gone(now))
                .map(|p| {
                    let mut m = pool_properties(c, p, now);
                    m.insert("name".into(), json!(p.name));
                    Value::Object(m)
                })
                .collect(),
        ),
    );
    let mut identity = r
        .identity
        .clone()
        .unwrap_or(json!({ "type": "SystemAssigned" }));
    if identity.get("type").and_then(Value::as_str) == Some("SystemAssigned") {
        identity["principalId"] = json!(format!(
            "00000000-0000-0000-0000-{}",
            &c.uid[..12.min(c.uid.len())]
        ));
        identity["tenantId"] = json!("00000000-0000-0000-0000-000000000000");
    }
    json!({
        "id": r.id,
        "name": r.name,
        "type": "Microsoft.ContainerService/ManagedClusters",
        "location": r.location,
        "tags": r.tags,
        "sku": r.sku.clone().unwrap_or(json!({ "name": "Base", "tier": "Free" })),
        "identity": identity,
        "properties": props,
    })
}

fn pool_properties(c: &Cluster, p: &Resource, now: OffsetDateTime) -> Map<String, Value> {
    let mut m = p.properties.clone();
    let cluster_version = c
        .resource
        .properties
        .get("kubernetesVersion")
        .cloned()
        .unwrap_or(json!(DEFAULT_KUBERNETES_VERSION));
    let version = m
        .get("orchestratorVersion")
        .cloned()
        .unwrap_or(cluster_version);
    m.insert("orchestratorVersion".into(), version.clone());
    m.insert("currentOrchestratorVersion".into(), version);
    m.insert("provisioningState".into(), json!(p.provisioning_state(now)));
    m.insert("powerState".into(), json!({ "code": "Running" }));
    m.entry("type").or_insert(json!("VirtualMachineScaleSets"));
    m.entry("osType").or_insert(json!("Linux"));
    m.entry("mode").or_insert(json!("User"));
    m
}

pub(super) fn pool_json(c: &Cluster, p: &Resource, now: OffsetDateTime) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "type": "Microsoft.ContainerService/managedClusters/agentPools",
        "properties": pool_properties(c, p, now),
    })
}

/// Checks an agent pool's properties, merged over what the pool has (`prior`).
fn check_pool(
    name: &str,
    props: &Map<String, Value>,
    prior: Option<&Map<String, Value>>,
) -> Result<(), ArmError> {
    if name.is_empty()
        || name.len() > 12
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        || !name.as_bytes()[0].is_ascii_lowercase()
    {
        return Err(ArmError::invalid(format!(
            "Agent pool name '{name}' is invalid: it must start with a lowercase letter, hold only lowercase letters and digits, and be at most 12 characters long."
        )));
    }
    let vm_size = props.get("vmSize").and_then(Value::as_str);
    match (
        vm_size,
        prior.and_then(|p| p.get("vmSize")).and_then(Value::as_str),
    ) {
        (None, None) => {
            return Err(ArmError::invalid(format!(
                "Agent pool '{name}': vmSize is required."
            )))
        }
        (Some(new), Some(old)) if !new.eq_ignore_ascii_case(old) => {
            return Err(ArmError::invalid(format!(
                "Agent pool '{name}': changing property 'vmSize' is not allowed."
            )))
        }
        _ => {}
    }
    let int = |k: &str| props.get(k).and_then(Value::as_i64);
    let auto = props
        .get("enableAutoScaling")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if let Some(n) = int("count") {
        if !(0..=1000).contains(&n) {
            return Err(ArmError::invalid(format!(
                "Agent pool '{name}': count {n} is out of range 0..1000."
            )));
        }
    }
    if auto {
        match (int("minCount"), int("maxCount")) {
            (Some(min), Some(max)) if min <= max => {
                if let Some(n) = int("count") {
                    if n < min || n > max {
                        return Err(ArmError::invalid(format!(
                            "Agent pool '{name}': count {n} must be between minCount {min} and maxCount {max}."
                        )));
                    }
                }
            }
            (Some(min), Some(max)) => {
                return Err(ArmError::invalid(format!(
                    "Agent pool '{name}': minCount {min} is greater than maxCount {max}."
                )))
            }
            _ => {
                return Err(ArmError::invalid(format!(
                    "Agent pool '{name}': minCount and maxCount are required when enableAutoScaling is true."
                )))
            }
        }
    }
    Ok(())
}

fn without(mut m: Map<String, Value>, keys: &[&str]) -> Map<String, Value> {
    for k in keys {
        m.remove(*k);
    }
    m
}

pub(super) fn put(
    services: &Shared,
    ctx: &Ctx,
    sub: &str,
    group: &str,
    name: &str,
    body: &Bytes,
) -> ArmResult {
    let body = parse_json(body)?;
    let location = body
        .get("location")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if location.is_empty() {
        return Err(ArmError::invalid("The 'location' property is required."));
    }
    let tags = tags_of(&body)?.unwrap_or_default();
    let props = properties_of(&body);
    let profiles: Vec<Map<String, Value>> = match props.get("agentPoolProfiles") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_object().cloned())
            .collect(),
        _ => Vec::new(),
    };
    if let Some(v) = props.get("kubernetesVersion").and_then(Value::as_str) {
        if !is_version(v) {
            return Err(ArmError::invalid(format!(
                "Version '{v}' is not a valid Kubernetes version."
            )));
        }
    }
    update(services, |a| {
        a.live_group(sub, group, ctx.now)?;
        let id = cluster_id(sub, group, name);
        let existing = a.clusters.iter().position(|c| c.resource.is(&id));
        let created = existing.is_none();
        if let Some(i) = existing {
            let c = &a.clusters[i];
            if c.resource.is_deleting() {
                return Err(ArmError::conflict(format!(
                    "Managed cluster '{name}' is being deleted."
                )));
            }
            if !c.resource.location.eq_ignore_ascii_case(&location) {
                return Err(ArmError::invalid(
                    "The location of an existing managed cluster cannot be changed.",
                ));
            }
            let old_prefix = c.resource.properties.get("dnsPrefix");
            if props.get("dnsPrefix").is_some() && props.get("dnsPrefix") != old_prefix {
                return Err(ArmError::invalid(
                    "Changing property 'dnsPrefix' is not allowed.",
                ));
            }
            if let (Some(new), Some(old)) = (
                props.get("kubernetesVersion").and_then(Value::as_str),
                c.resource
                    .properties
                    .get("kubernetesVersion")
                    .and_then(Value::as_str),
            ) {
                if version_key(new) < version_key(old) {
                    return Err(ArmError::new(
                        StatusCode::BAD_REQUEST,
                        "NotAllowedDowngrade",
                        format!("Downgrading the Kubernetes version from {old} to {new} is not allowed."),
                    ));
                }
            }
        } else {
            if props
                .get("dnsPrefix")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return Err(ArmError::invalid("The 'dnsPrefix' property is required."));
            }
            let system = profiles
                .iter()
                .any(|p| p.get("mode").and_then(Value::as_str) == Some("System"));
            if !system {
                return Err(ArmError::invalid(
                    "A managed cluster needs at least one agent pool of mode 'System' in agentPoolProfiles.",
                ));
            }
        }
        for p in &profiles {
            let pool_name = p.get("name").and_then(Value::as_str).unwrap_or("");
            let prior = existing
                .and_then(|i| a.clusters[i].pool(pool_name))
                .map(|p| &p.properties);
            check_pool(pool_name, p, prior)?;
        }
        if created {
            let uid = uuid::Uuid::new_v4().simple().to_string();
            a.clusters.push(Cluster {
                resource: Resource::new(id.clone(), name, &location, ctx.now),
                uid,
                kube_token: format!(
                    "{}{}",
                    uuid::Uuid::new_v4().simple(),
                    uuid::Uuid::new_v4().simple()
                ),
                pools: Vec::new(),
            });
        }
        let op = a.start_operation(ctx);
        let c = a
            .clusters
            .iter_mut()
            .find(|c| c.resource.is(&id))
            .ok_or_else(|| {
                ArmError::not_found("Microsoft.ContainerService/managedClusters", name)
            })?;
        let state = if created { "Creating" } else { "Updating" };
        let mut stored = without(props.clone(), CLUSTER_READ_ONLY);
        stored
            .entry("nodeResourceGroup")
            .or_insert(json!(format!("MC_{group}_{name}_{location}")));
        stored.entry("enableRBAC").or_insert(json!(true));
        if !created {
            // A PUT replaces the resource; what ARM fills in itself stays.
            for k in ["nodeResourceGroup", "kubernetesVersion"] {
                if let (None, Some(v)) = (props.get(k), c.resource.properties.get(k)) {
                    stored.insert(k.into(), v.clone());
                }
            }
        }
        c.resource.properties = stored;
        c.resource.tags = tags.clone();
        c.resource.identity = body.get("identity").cloned().filter(|v| !v.is_null());
        c.resource.sku = body.get("sku").cloned().filter(|v| !v.is_null());
        c.resource.transition = Some(Transition {
            state: state.into(),
            until: ctx.ready_at,
        });
        for p in &profiles {
            let pool_name = p
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let props = without(p.clone(), POOL_READ_ONLY);
            match c
                .pools
                .iter_mut()
                .find(|x| x.name.eq_ignore_ascii_case(&pool_name))
            {
                Some(existing) => {
                    if existing.properties != props {
                        existing.properties = props;
                        existing.transition = Some(Transition {
                            state: "Updating".into(),
                            until: ctx.ready_at,
                        });
                    }
                }
                None => {
                    let mut pool = Resource::new(
                        format!("{id}/agentPools/{pool_name}"),
                        &pool_name,
                        &location,
                        ctx.now,
                    );
                    pool.properties = props;
                    pool.transition = Some(Transition {
                        state: "Creating".into(),
                        until: ctx.ready_at,
                    });
                    c.pools.push(pool);
                }
            }
        }
        let out = json(c, ctx.now);
        let url = ctx.operation_url(sub, CONTAINER_SERVICE, &location, &op, false);
        Ok(async_response(
            if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            },
            Some(out),
            &url,
            None,
        ))
    })
}

pub(super) fn delete(
    services: &Shared,
    ctx: &Ctx,
    sub: &str,
    group: &str,
    name: &str,
) -> ArmResult {
    update(services, |a| {
        let id = cluster_id(sub, group, name);
        let Some(c) = a.clusters.iter_mut().find(|c| c.resource.is(&id)) else {
            return Ok(StatusCode::NO_CONTENT.into_response());
        };
        let location = c.resource.location.clone();
        c.resource.transition = Some(Transition {
            state: "Deleting".into(),
            until: ctx.ready_at,
        });
        let op = a.start_operation(ctx);
        Ok(async_response(
            StatusCode::ACCEPTED,
            None,
            &ctx.operation_url(sub, CONTAINER_SERVICE, &location, &op, false),
            Some(&ctx.operation_url(sub, CONTAINER_SERVICE, &location, &op, true)),
        ))
    })
}

pub(super) fn put_pool(
    services: &Shared,
    ctx: &Ctx,
    sub: &str,
    group: &str,
    cluster: &str,
    name: &str,
    body: &Bytes,
) -> ArmResult {
    let body = parse_json(body)?;
    let props = without(properties_of(&body), POOL_READ_ONLY);
    update(services, |a| {
        a.live_group(sub, group, ctx.now)?;
        let id = cluster_id(sub, group, cluster);
        let now = ctx.now;
        let c = a
            .clusters
            .iter()
            .find(|c| c.resource.is(&id) && !c.resource.is_gone(now))
            .ok_or_else(|| {
                ArmError::not_found("Microsoft.ContainerService/managedClusters", cluster)
            })?;
        if c.resource.is_deleting() {
            return Err(ArmError::conflict(format!(
                "Managed cluster '{cluster}' is being deleted."
            )));
        }
        let location = c.resource.location.clone();
        let prior = c
            .pool(name)
            .filter(|p| !p.is_gone(now))
            .map(|p| p.properties.clone());
        check_pool(name, &props, prior.as_ref())?;
        if let Some(v) = props.get("orchestratorVersion").and_then(Value::as_str) {
            if !is_version(v) {
                return Err(ArmError::invalid(format!(
                    "Version '{v}' is not a valid Kubernetes version."
                )));
            }
        }
        let op = a.start_operation(ctx);
        let c = a
            .clusters
            .iter_mut()
            .find(|c| c.resource.is(&id))
            .ok_or_else(|| {
                ArmError::not_found("Microsoft.ContainerService/managedClusters", cluster)
            })?;
        let created = prior.is_none();
        c.pools
            .retain(|p| !(p.name.eq_ignore_ascii_case(name) && p.is_gone(now)));
        match c
            .pools
            .iter_mut()
            .find(|p| p.name.eq_ignore_ascii_case(name))
        {
            Some(p) => {
                p.properties = props;
                p.transition = Some(Transition {
                    state: "Updating".into(),
                    until: ctx.ready_at,
                });
            }
            None => {
                let mut p = Resource::new(format!("{id}/agentPools/{name}"), name, &location, now);
                p.properties = props;
                p.transition = Some(Transition {
                    state: "Creating".into(),
                    until: ctx.ready_at,
                });
                c.pools.push(p);
            }
        }
        let p = c
            .pool(name)
            .ok_or_else(|| ArmError::not_found("agentPools", name))?;
        let out = pool_json(c, p, now);
        Ok(async_response(
            if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            },
            Some(out),
            &ctx.operation_url(sub, CONTAINER_SERVICE, &location, &op, false),
            None,
        ))
    })
}

pub(super) fn delete_pool(
    services: &Shared,
    ctx: &Ctx,
    sub: &str,
    group: &str,
    cluster: &str,
    name: &str,
) -> ArmResult {
    update(services, |a| {
        let id = cluster_id(sub, group, cluster);
        let Some(c) = a.clusters.iter_mut().find(|c| c.resource.is(&id)) else {
            return Ok(StatusCode::NO_CONTENT.into_response());
        };
        let location = c.resource.location.clone();
        let Some(p) = c
            .pools
            .iter_mut()
            .find(|p| p.name.eq_ignore_ascii_case(name))
        else {
            return Ok(StatusCode::NO_CONTENT.into_response());
        };
        p.transition = Some(Transition {
            state: "Deleting".into(),
            until: ctx.ready_at,
        });
        let op = a.start_operation(ctx);
        Ok(async_response(
            StatusCode::ACCEPTED,
            None,
            &ctx.operation_url(sub, CONTAINER_SERVICE, &location, &op, false),
            Some(&ctx.operation_url(sub, CONTAINER_SERVICE, &location, &op, true)),
        ))
    })
}

/// The kubeconfig `listClusterUserCredential` hands out: the cluster's emulated Kubernetes API.
pub(crate) fn kubeconfig_yaml(c: &Cluster, base_url: &str) -> String {
    let name = &c.resource.name;
    let user = format!("clusterUser_{}_{name}", c.resource.resource_group());
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{ "name": name, "cluster": { "server": format!("{base_url}/k8s/{}", c.uid) } }],
        "contexts": [{ "name": name, "context": { "cluster": name, "user": user } }],
        "current-context": name,
        "preferences": {},
        "users": [{ "name": user, "user": { "token": c.kube_token } }],
    });
    serde_yaml::to_string(&config).unwrap_or_default()
}
