//! `/v2/kubernetes/...`: clusters, their node pools and nodes, kubeconfig and credentials,
//! upgrades and the options listing.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::api::{empty_response, json_response, parse_body, query_pairs, ApiError, Paging};
use super::model::{
    is_automatic_tag, Account, Cluster, MaintenancePolicy, NodePool, Transition,
    CLUSTER_OPTION_FIELDS,
};
use super::{check_region, default_vpc, required, REGIONS};
use crate::clock;
use crate::services::Shared;

/// Kubernetes versions the emulated cloud offers, newest first.
const VERSIONS: &[&str] = &[
    "1.33.1-do.3",
    "1.32.5-do.1",
    "1.31.9-do.1",
    "1.31.1-do.4",
    "1.30.13-do.0",
    "1.29.15-do.0",
];

/// Worker sizes listed by `/v2/kubernetes/options`. Other slugs are accepted too: the emulator
/// does not try to know every size the real cloud sells.
const SIZES: &[(&str, &str)] = &[
    ("s-1vcpu-2gb", "s-1vcpu-2gb"),
    ("s-2vcpu-2gb", "s-2vcpu-2gb"),
    ("s-2vcpu-4gb", "s-2vcpu-4gb"),
    ("s-4vcpu-8gb", "s-4vcpu-8gb"),
    ("s-8vcpu-16gb", "s-8vcpu-16gb"),
    ("g-4vcpu-16gb", "g-4vcpu-16gb"),
];

#[derive(Debug, Deserialize)]
struct MaintenancePolicyRequest {
    start_time: Option<String>,
    day: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CreateCluster {
    name: Option<String>,
    region: Option<String>,
    version: Option<String>,
    vpc_uuid: Option<String>,
    cluster_subnet: Option<String>,
    service_subnet: Option<String>,
    tags: Option<Vec<String>>,
    node_pools: Option<Vec<PoolRequest>>,
    maintenance_policy: Option<MaintenancePolicyRequest>,
    auto_upgrade: Option<bool>,
    surge_upgrade: Option<bool>,
    ha: Option<bool>,
    isolated_workers: Option<bool>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
struct UpdateCluster {
    name: Option<String>,
    tags: Option<Vec<String>>,
    maintenance_policy: Option<MaintenancePolicyRequest>,
    auto_upgrade: Option<bool>,
    surge_upgrade: Option<bool>,
    ha: Option<bool>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

#[derive(Debug, Default, Deserialize)]
struct PoolRequest {
    name: Option<String>,
    size: Option<String>,
    count: Option<i64>,
    tags: Option<Vec<String>>,
    labels: Option<Map<String, Value>>,
    taints: Option<Vec<Value>>,
    auto_scale: Option<bool>,
    min_nodes: Option<i64>,
    max_nodes: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct UpgradeRequest {
    version: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Clusters

pub(super) async fn list(
    State(services): State<Shared>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let paging = Paging::from_query(query.as_deref())?;
    let now = clock::now();
    let items = services.read(|cloud| {
        cloud
            .digitalocean
            .kubernetes_clusters
            .iter()
            .map(|c| c.to_api(now, &services.base_url))
            .collect::<Vec<_>>()
    })?;
    let url = format!("{}/v2/kubernetes/clusters", services.base_url);
    Ok(json_response(
        StatusCode::OK,
        paging.apply(items, "kubernetes_clusters", &url, Map::new()),
    ))
}

pub(super) async fn create(
    State(services): State<Shared>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: CreateCluster = parse_body(&body)?;
    let name = required(&request.name, "name")?.to_string();
    let region = required(&request.region, "region")?.to_string();
    check_region(&region)?;
    let version = resolve_version(required(&request.version, "version")?)?;
    let pool_requests = request.node_pools.unwrap_or_default();
    if pool_requests.is_empty() {
        return Err(ApiError::unprocessable(
            "a cluster needs at least one node pool (`node_pools`)",
        ));
    }
    let maintenance_policy = maintenance_policy(request.maintenance_policy, None)?;
    let options = cluster_options(&request.rest);
    let now = clock::now();
    let ready_at = clock::after(now, services.provision_time);
    let id = uuid::Uuid::new_v4().to_string();

    let mut pools = Vec::new();
    for pool_request in pool_requests {
        let mut pool = new_pool();
        apply_pool_request(&mut pool, pool_request, true)?;
        if pools.iter().any(|p: &NodePool| p.name == pool.name) {
            return Err(ApiError::unprocessable(format!(
                "node pool names must be unique within a cluster; `{}` appears twice",
                pool.name
            )));
        }
        pools.push(pool);
    }
    if pools.iter().all(|p| p.count == 0) {
        return Err(ApiError::unprocessable(
            "a cluster needs at least one node pool with at least one worker node",
        ));
    }

    let cluster = services.update(|cloud| {
        let account = &mut cloud.digitalocean;
        if account
            .kubernetes_clusters
            .iter()
            .any(|c| c.name == name && c.region == region)
        {
            return Err(ApiError::unprocessable(format!(
                "a cluster named `{name}` already exists in region {region}"
            )));
        }
        let vpc_uuid = match request.vpc_uuid.as_deref().filter(|v| !v.is_empty()) {
            Some(vpc_id) => {
                let vpc = account
                    .vpcs
                    .iter()
                    .find(|v| v.id == vpc_id)
                    .ok_or_else(|| {
                        ApiError::unprocessable(format!("VPC `{vpc_id}` does not exist"))
                    })?;
                if vpc.region != region {
                    return Err(ApiError::unprocessable(format!(
                        "VPC `{}` is in region {}, not in the cluster's region {region}",
                        vpc.name, vpc.region
                    )));
                }
                vpc_id.to_string()
            }
            None => default_vpc(account, &region, now),
        };
        for pool in &mut pools {
            pool.reconcile_nodes(now, ready_at, &mut account.last_droplet_id);
        }
        let cluster = Cluster {
            id: id.clone(),
            name,
            region,
            version,
            cluster_subnet: request
                .cluster_subnet
                .unwrap_or_else(|| "10.244.0.0/16".into()),
            service_subnet: request
                .service_subnet
                .unwrap_or_else(|| "10.245.0.0/16".into()),
            vpc_uuid,
            ipv4: "127.0.0.1".into(),
            tags: user_tags(request.tags.unwrap_or_default()),
            node_pools: pools,
            maintenance_policy,
            auto_upgrade: request.auto_upgrade.unwrap_or(false),
            surge_upgrade: request.surge_upgrade.unwrap_or(false),
            ha: request.ha.unwrap_or(false),
            isolated_workers: request.isolated_workers.unwrap_or(false),
            options,
            created_at: now,
            updated_at: now,
            transition: Some(Transition {
                state: "provisioning".into(),
                until: ready_at,
            }),
            kube_token: format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            ),
        };
        account.kubernetes_clusters.push(cluster.clone());
        Ok(cluster)
    })?;
    Ok(json_response(
        StatusCode::CREATED,
        json!({ "kubernetes_cluster": cluster.to_api(now, &services.base_url) }),
    ))
}

pub(super) async fn get(
    State(services): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let cluster = read_cluster(&services, &id)?;
    Ok(json_response(
        StatusCode::OK,
        json!({ "kubernetes_cluster": cluster.to_api(clock::now(), &services.base_url) }),
    ))
}

pub(super) async fn update(
    State(services): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: UpdateCluster = parse_body(&body)?;
    let name = required(&request.name, "name")?.to_string();
    let options = cluster_options(&request.rest);
    let now = clock::now();
    let cluster = services.update(|cloud| {
        let account = &mut cloud.digitalocean;
        let index = cluster_index(account, &id)?;
        let region = account.kubernetes_clusters[index].region.clone();
        if account
            .kubernetes_clusters
            .iter()
            .any(|c| c.name == name && c.region == region && c.id != id)
        {
            return Err(ApiError::unprocessable(format!(
                "a cluster named `{name}` already exists in region {region}"
            )));
        }
        let cluster = &mut account.kubernetes_clusters[index];
        if request.ha == Some(false) && cluster.ha {
            return Err(ApiError::unprocessable(
                "high availability cannot be disabled once enabled",
            ));
        }
        cluster.name = name;
        if let Some(tags) = request.tags {
            cluster.tags = user_tags(tags);
        }
        if request.maintenance_policy.is_some() {
            cluster.maintenance_policy = maintenance_policy(
                request.maintenance_policy,
                Some(&cluster.maintenance_policy),
            )?;
        }
        if let Some(v) = request.auto_upgrade {
            cluster.auto_upgrade = v;
        }
        if let Some(v) = request.surge_upgrade {
            cluster.surge_upgrade = v;
        }
        if let Some(v) = request.ha {
            cluster.ha = v;
        }
        cluster.options.extend(options);
        cluster.updated_at = now;
        Ok(cluster.clone())
    })?;
    Ok(json_response(
        StatusCode::ACCEPTED,
        json!({ "kubernetes_cluster": cluster.to_api(now, &services.base_url) }),
    ))
}

pub(super) async fn delete(
    State(services): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    services.update(|cloud| {
        let account = &mut cloud.digitalocean;
        let index = cluster_index(account, &id)?;
        account.kubernetes_clusters.remove(index);
        Ok::<_, ApiError>(())
    })?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}

/// The kubeconfig (YAML) of a cluster: its server is the cluster's emulated Kubernetes API on
/// this server, authenticated by the cluster's own bearer token.
pub(super) async fn kubeconfig(
    State(services): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let cluster = read_cluster(&services, &id)?;
    let yaml = kubeconfig_yaml(&cluster, &services.base_url);
    let mut response = (StatusCode::OK, yaml).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/yaml"),
    );
    Ok(response)
}

pub(crate) fn kubeconfig_yaml(cluster: &Cluster, base_url: &str) -> String {
    let context = cluster.context_name();
    let user = format!("{context}-admin");
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{ "name": context, "cluster": { "server": cluster.endpoint(base_url) } }],
        "contexts": [{ "name": context, "context": { "cluster": context, "user": user } }],
        "current-context": context,
        "preferences": {},
        "users": [{ "name": user, "user": { "token": cluster.kube_token } }],
    });
    serde_yaml::to_string(&config).unwrap_or_default()
}

pub(super) async fn credentials(
    State(services): State<Shared>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let cluster = read_cluster(&services, &id)?;
    let expiry_seconds = query_pairs(query.as_deref())
        .into_iter()
        .find(|(k, _)| k == "expiry_seconds")
        .and_then(|(_, v)| v.parse::<u64>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(7 * 24 * 3600);
    let expires_at = clock::after(clock::now(), std::time::Duration::from_secs(expiry_seconds));
    Ok(json_response(
        StatusCode::OK,
        json!({
            "server": cluster.endpoint(&services.base_url),
            // The emulated API is plain HTTP on loopback, so there is no certificate authority.
            "certificate_authority_data": "",
            "client_certificate_data": null,
            "client_key_data": null,
            "token": cluster.kube_token,
            "expires_at": clock::display(expires_at),
        }),
    ))
}

pub(super) async fn upgrade(
    State(services): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: UpgradeRequest = parse_body(&body)?;
    let version = resolve_version(required(&request.version, "version")?)?;
    let now = clock::now();
    services.update(|cloud| {
        let account = &mut cloud.digitalocean;
        let index = cluster_index(account, &id)?;
        let cluster = &mut account.kubernetes_clusters[index];
        if version_key(&version) <= version_key(&cluster.version) {
            return Err(ApiError::unprocessable(format!(
                "cannot upgrade from {} to {version}: the new version must be newer",
                cluster.version
            )));
        }
        cluster.version = version;
        cluster.updated_at = now;
        cluster.transition = Some(Transition {
            state: "upgrading".into(),
            until: clock::after(now, services.provision_time),
        });
        Ok(())
    })?;
    Ok(empty_response(StatusCode::ACCEPTED))
}

pub(super) async fn available_upgrades(
    State(services): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let cluster = read_cluster(&services, &id)?;
    let current = version_key(&cluster.version);
    let upgrades: Vec<Value> = VERSIONS
        .iter()
        .filter(|v| version_key(v) > current)
        .map(|v| version_json(v))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        json!({ "available_upgrade_versions": upgrades }),
    ))
}

pub(super) async fn options() -> Response {
    json_response(
        StatusCode::OK,
        json!({
            "options": {
                "regions": REGIONS.iter().map(|(slug, name)| json!({ "name": name, "slug": slug })).collect::<Vec<_>>(),
                "versions": VERSIONS.iter().map(|v| version_json(v)).collect::<Vec<_>>(),
                "sizes": SIZES.iter().map(|(slug, name)| json!({ "name": name, "slug": slug })).collect::<Vec<_>>(),
            }
        }),
    )
}

// ---------------------------------------------------------------------------------------------
// Node pools

pub(super) async fn list_pools(
    State(services): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let cluster = read_cluster(&services, &id)?;
    let now = clock::now();
    let pools: Vec<Value> = cluster
        .node_pools
        .iter()
        .map(|p| p.to_api(&cluster.id, now))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        json!({ "node_pools": pools }),
    ))
}

pub(super) async fn create_pool(
    State(services): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: PoolRequest = parse_body(&body)?;
    let mut pool = new_pool();
    apply_pool_request(&mut pool, request, true)?;
    let now = clock::now();
    let ready_at = clock::after(now, services.provision_time);
    let pool = services.update(|cloud| {
        let account = &mut cloud.digitalocean;
        let index = cluster_index(account, &id)?;
        if account.kubernetes_clusters[index]
            .node_pools
            .iter()
            .any(|p| p.name == pool.name)
        {
            return Err(ApiError::unprocessable(format!(
                "the cluster already has a node pool named `{}`",
                pool.name
            )));
        }
        pool.reconcile_nodes(now, ready_at, &mut account.last_droplet_id);
        let cluster = &mut account.kubernetes_clusters[index];
        cluster.node_pools.push(pool.clone());
        cluster.updated_at = now;
        Ok(pool)
    })?;
    Ok(json_response(
        StatusCode::CREATED,
        json!({ "node_pool": pool.to_api(&id, now) }),
    ))
}

pub(super) async fn get_pool(
    State(services): State<Shared>,
    Path((id, pool_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let cluster = read_cluster(&services, &id)?;
    let pool = cluster
        .node_pools
        .iter()
        .find(|p| p.id == pool_id)
        .ok_or_else(ApiError::not_found)?;
    Ok(json_response(
        StatusCode::OK,
        json!({ "node_pool": pool.to_api(&id, clock::now()) }),
    ))
}

pub(super) async fn update_pool(
    State(services): State<Shared>,
    Path((id, pool_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: PoolRequest = parse_body(&body)?;
    let now = clock::now();
    let ready_at = clock::after(now, services.provision_time);
    let pool = services.update(|cloud| {
        let account = &mut cloud.digitalocean;
        let index = cluster_index(account, &id)?;
        if let Some(name) = &request.name {
            if account.kubernetes_clusters[index]
                .node_pools
                .iter()
                .any(|p| &p.name == name && p.id != pool_id)
            {
                return Err(ApiError::unprocessable(format!(
                    "the cluster already has a node pool named `{name}`"
                )));
            }
        }
        let mut last_droplet_id = account.last_droplet_id;
        let cluster = &mut account.kubernetes_clusters[index];
        let pool = cluster.pool_mut(&pool_id).ok_or_else(ApiError::not_found)?;
        apply_pool_request(pool, request, false)?;
        pool.reconcile_nodes(now, ready_at, &mut last_droplet_id);
        let pool = pool.clone();
        cluster.updated_at = now;
        account.last_droplet_id = last_droplet_id;
        Ok(pool)
    })?;
    Ok(json_response(
        StatusCode::ACCEPTED,
        json!({ "node_pool": pool.to_api(&id, now) }),
    ))
}

pub(super) async fn delete_pool(
    State(services): State<Shared>,
    Path((id, pool_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    services.update(|cloud| {
        let account = &mut cloud.digitalocean;
        let index = cluster_index(account, &id)?;
        let cluster = &mut account.kubernetes_clusters[index];
        let before = cluster.node_pools.len();
        cluster.node_pools.retain(|p| p.id != pool_id);
        if cluster.node_pools.len() == before {
            return Err(ApiError::not_found());
        }
        cluster.updated_at = clock::now();
        Ok(())
    })?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}

/// Deletes one worker node; with `replace=1` a new node takes its place, otherwise the pool
/// shrinks by one.
pub(super) async fn delete_node(
    State(services): State<Shared>,
    Path((id, pool_id, node_id)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let replace = query_pairs(query.as_deref())
        .iter()
        .any(|(k, v)| k == "replace" && v == "1");
    let now = clock::now();
    let ready_at = clock::after(now, services.provision_time);
    services.update(|cloud| {
        let account = &mut cloud.digitalocean;
        let index = cluster_index(account, &id)?;
        let mut last_droplet_id = account.last_droplet_id;
        let pool = account.kubernetes_clusters[index]
            .pool_mut(&pool_id)
            .ok_or_else(ApiError::not_found)?;
        let before = pool.nodes.len();
        pool.nodes.retain(|n| n.id != node_id);
        if pool.nodes.len() == before {
            return Err(ApiError::not_found());
        }
        if !replace {
            pool.count = pool.count.saturating_sub(1);
        }
        pool.reconcile_nodes(now, ready_at, &mut last_droplet_id);
        account.last_droplet_id = last_droplet_id;
        Ok(())
    })?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn read_cluster(services: &Shared, id: &str) -> Result<Cluster, ApiError> {
    services
        .read(|cloud| {
            cloud
                .digitalocean
                .kubernetes_clusters
                .iter()
                .find(|c| c.id == id)
                .cloned()
        })?
        .ok_or_else(ApiError::not_found)
}

fn cluster_index(account: &Account, id: &str) -> Result<usize, ApiError> {
    account
        .kubernetes_clusters
        .iter()
        .position(|c| c.id == id)
        .ok_or_else(ApiError::not_found)
}

fn new_pool() -> NodePool {
    NodePool {
        id: uuid::Uuid::new_v4().to_string(),
        name: String::new(),
        size: String::new(),
        count: 0,
        tags: Vec::new(),
        labels: None,
        taints: Vec::new(),
        auto_scale: false,
        min_nodes: 0,
        max_nodes: 0,
        nodes: Vec::new(),
    }
}

/// Drops the tags the cloud adds by itself and duplicates, keeping the user's order.
fn user_tags(tags: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for tag in tags {
        if !is_automatic_tag(&tag) && !out.contains(&tag) {
            out.push(tag);
        }
    }
    out
}

fn cluster_options(rest: &Map<String, Value>) -> BTreeMap<String, Value> {
    rest.iter()
        .filter(|(k, v)| CLUSTER_OPTION_FIELDS.contains(&k.as_str()) && !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn maintenance_policy(
    request: Option<MaintenancePolicyRequest>,
    current: Option<&MaintenancePolicy>,
) -> Result<MaintenancePolicy, ApiError> {
    let mut policy = current.cloned().unwrap_or_default();
    let Some(request) = request else {
        return Ok(policy);
    };
    if let Some(day) = request.day {
        const DAYS: &[&str] = &[
            "any",
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
            "sunday",
        ];
        if !DAYS.contains(&day.as_str()) {
            return Err(ApiError::unprocessable(format!(
                "maintenance_policy.day `{day}` must be one of {}",
                DAYS.join(", ")
            )));
        }
        policy.day = day;
    }
    if let Some(start) = request.start_time {
        let valid = start
            .split_once(':')
            .and_then(|(h, m)| Some((h.parse::<u8>().ok()?, m.parse::<u8>().ok()?)))
            .is_some_and(|(h, m)| h < 24 && m < 60);
        if !valid {
            return Err(ApiError::unprocessable(format!(
                "maintenance_policy.start_time `{start}` must be HH:MM in UTC"
            )));
        }
        policy.start_time = start;
    }
    Ok(policy)
}

/// Applies a node pool request to `pool`, validating it as the cloud does. On creation `name`,
/// `size` and `count` are required; on update, fields not sent keep their values and `size`
/// cannot change (the cloud has no in-place resize of workers).
fn apply_pool_request(
    pool: &mut NodePool,
    request: PoolRequest,
    creating: bool,
) -> Result<(), ApiError> {
    if creating {
        pool.name = required(&request.name, "node_pools[].name")?.to_string();
        pool.size = required(&request.size, "node_pools[].size")?.to_string();
    } else {
        if let Some(name) = request.name.as_deref().map(str::trim) {
            if name.is_empty() {
                return Err(ApiError::unprocessable("`name` must not be empty"));
            }
            pool.name = name.to_string();
        }
        if let Some(size) = &request.size {
            if size != &pool.size {
                return Err(ApiError::unprocessable(format!(
                    "the size of a node pool cannot be changed ({} → {size}); create a new node pool instead",
                    pool.size
                )));
            }
        }
    }
    if let Some(tags) = request.tags {
        pool.tags = user_tags(tags);
    }
    if let Some(labels) = request.labels {
        if let Some((key, _)) = labels.iter().find(|(_, v)| !v.is_string()) {
            return Err(ApiError::unprocessable(format!(
                "label `{key}` must have a string value"
            )));
        }
        pool.labels = Some(labels);
    }
    if let Some(taints) = request.taints {
        for taint in &taints {
            let key = taint.get("key").and_then(Value::as_str).unwrap_or("");
            let effect = taint.get("effect").and_then(Value::as_str).unwrap_or("");
            if key.is_empty() || !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&effect)
            {
                return Err(ApiError::unprocessable(
                    "each taint needs a `key` and an `effect` of NoSchedule, PreferNoSchedule or NoExecute",
                ));
            }
        }
        pool.taints = taints;
    }

    let non_negative = |value: Option<i64>, field: &str| -> Result<Option<u32>, ApiError> {
        value
            .map(|v| {
                u32::try_from(v).map_err(|_| {
                    ApiError::unprocessable(format!(
                        "`{field}` must be a whole number ≥ 0, not {v}"
                    ))
                })
            })
            .transpose()
    };
    let count = non_negative(request.count, "count")?;
    let min = non_negative(request.min_nodes, "min_nodes")?.unwrap_or(pool.min_nodes);
    let max = non_negative(request.max_nodes, "max_nodes")?.unwrap_or(pool.max_nodes);
    let auto_scale = request.auto_scale.unwrap_or(pool.auto_scale);
    if auto_scale {
        if max == 0 {
            return Err(ApiError::unprocessable(
                "`max_nodes` must be at least 1 when `auto_scale` is enabled",
            ));
        }
        if min > max {
            return Err(ApiError::unprocessable(format!(
                "`min_nodes` ({min}) must not be greater than `max_nodes` ({max})"
            )));
        }
        // The autoscaler keeps the pool within its bounds whatever count was asked for.
        let wanted = count.unwrap_or(if creating { min } else { pool.count });
        pool.count = wanted.clamp(min, max);
        pool.min_nodes = min;
        pool.max_nodes = max;
    } else {
        match count {
            Some(0) => {
                return Err(ApiError::unprocessable(
                    "`count` must be at least 1 for a node pool without auto-scaling",
                ))
            }
            Some(c) => pool.count = c,
            None if creating => {
                return Err(ApiError::unprocessable("`count` is required"));
            }
            None => {}
        }
        pool.min_nodes = 0;
        pool.max_nodes = 0;
    }
    pool.auto_scale = auto_scale;
    Ok(())
}

/// Resolves `latest`, a minor version (`1.31`) or a full slug (`1.31.1-do.4`) to a full slug.
fn resolve_version(requested: &str) -> Result<String, ApiError> {
    if requested == "latest" {
        return Ok(VERSIONS[0].to_string());
    }
    if parse_version(requested).is_some() {
        return Ok(requested.to_string());
    }
    let minor_prefix = format!("{requested}.");
    let is_minor =
        requested.split('.').count() == 2 && requested.split('.').all(|p| p.parse::<u32>().is_ok());
    if is_minor {
        if let Some(v) = VERSIONS.iter().find(|v| v.starts_with(&minor_prefix)) {
            return Ok(v.to_string());
        }
    }
    Err(ApiError::unprocessable(format!(
        "version `{requested}` is not available; use `latest`, a minor version such as `1.31`, or one of {}",
        VERSIONS.join(", ")
    )))
}

/// `1.31.1-do.4` → (1, 31, 1, 4).
fn parse_version(slug: &str) -> Option<(u32, u32, u32, u32)> {
    let (semver, build) = slug.split_once("-do.")?;
    let mut parts = semver.split('.').map(|p| p.parse::<u32>().ok());
    let major = parts.next()??;
    let minor = parts.next()??;
    let patch = parts.next()??;
    if parts.next().is_some() {
        return None;
    }
    Some((major, minor, patch, build.parse().ok()?))
}

fn version_key(slug: &str) -> (u32, u32, u32, u32) {
    parse_version(slug).unwrap_or_default()
}

fn version_json(slug: &str) -> Value {
    let kubernetes_version = slug.split_once("-do.").map_or(slug, |(v, _)| v);
    json!({ "slug": slug, "kubernetes_version": kubernetes_version, "supported_features": [] })
}
