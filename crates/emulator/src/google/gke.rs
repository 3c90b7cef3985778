//! The emulated GKE API (`container.googleapis.com/v1`, location-based paths): clusters, node
//! pools, their custom methods (`:setSize`, `:setAutoscaling`, `:updateMaster`,
//! `:setResourceLabels`) and operations. Paths and field names follow `container.v1.json`.
//!
//! Like GKE, a cluster runs one operation at a time: a change asked for while another runs is
//! refused with `FAILED_PRECONDITION`. Deliberately absent: the zonal (`/zones/`) paths, IP
//! rotation, maintenance and network policies, and autopilot.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::api::{decode, int, json_response, parse_body, Enums, GoogleError};
use super::model::{status_at, Account, Autoscaling, Cluster, NodePool, Operation, Taint};
use crate::clock;
use crate::services::Shared;

pub(crate) const CLUSTER_STATUS: &[(&str, i64)] = &[
    ("STATUS_UNSPECIFIED", 0),
    ("PROVISIONING", 1),
    ("RUNNING", 2),
    ("RECONCILING", 3),
    ("STOPPING", 4),
    ("ERROR", 5),
    ("DEGRADED", 6),
];
pub(crate) const POOL_STATUS: &[(&str, i64)] = &[
    ("STATUS_UNSPECIFIED", 0),
    ("PROVISIONING", 1),
    ("RUNNING", 2),
    ("RUNNING_WITH_ERROR", 3),
    ("RECONCILING", 4),
    ("STOPPING", 5),
    ("ERROR", 6),
];
const OPERATION_STATUS: &[(&str, i64)] = &[
    ("STATUS_UNSPECIFIED", 0),
    ("PENDING", 1),
    ("RUNNING", 2),
    ("DONE", 3),
    ("ABORTING", 4),
];
const OPERATION_TYPE: &[(&str, i64)] = &[
    ("TYPE_UNSPECIFIED", 0),
    ("CREATE_CLUSTER", 1),
    ("DELETE_CLUSTER", 2),
    ("UPGRADE_MASTER", 3),
    ("UPGRADE_NODES", 4),
    ("UPDATE_CLUSTER", 6),
    ("CREATE_NODE_POOL", 7),
    ("DELETE_NODE_POOL", 8),
    ("SET_LABELS", 12),
    ("SET_NODE_POOL_SIZE", 14),
];
const CHANNEL: &[(&str, i64)] = &[
    ("UNSPECIFIED", 0),
    ("RAPID", 1),
    ("REGULAR", 2),
    ("STABLE", 3),
    ("EXTENDED", 4),
];
const EFFECT: &[(&str, i64)] = &[
    ("EFFECT_UNSPECIFIED", 0),
    ("NO_SCHEDULE", 1),
    ("PREFER_NO_SCHEDULE", 2),
    ("NO_EXECUTE", 3),
];

/// The version a new cluster gets when none is asked for (the REGULAR channel's default).
const DEFAULT_VERSION: &str = "1.31.5-gke.1023000";

/// A version as GKE resolves it: `1.31` or `1.31.5` become a full GKE version, `latest` and
/// `-` the default; a full version is kept.
fn resolve_version(asked: &str) -> Result<String, GoogleError> {
    let asked = asked.trim();
    if asked.is_empty() || asked == "latest" || asked == "-" {
        return Ok(DEFAULT_VERSION.into());
    }
    if asked.contains("-gke.") {
        return Ok(asked.into());
    }
    let parts: Vec<&str> = asked.split('.').collect();
    if parts.len() < 2 || parts.len() > 3 || parts.iter().any(|p| p.parse::<u32>().is_err()) {
        return Err(GoogleError::invalid(format!(
            "Version \"{asked}\" is invalid or not supported."
        )));
    }
    let patch = parts.get(2).copied().unwrap_or("5");
    Ok(format!("{}.{}.{patch}-gke.1000000", parts[0], parts[1]))
}

pub(crate) fn router(services: Shared) -> Router {
    let base = "/v1/projects/{project}/locations/{location}";
    Router::new()
        .route(
            &format!("{base}/clusters"),
            get(list_clusters).post(create_cluster),
        )
        .route(
            &format!("{base}/clusters/{{cluster}}"),
            get(get_cluster)
                .put(update_cluster)
                .delete(delete_cluster)
                .post(cluster_method),
        )
        .route(
            &format!("{base}/clusters/{{cluster}}/nodePools"),
            get(list_pools).post(create_pool),
        )
        .route(
            &format!("{base}/clusters/{{cluster}}/nodePools/{{pool}}"),
            get(get_pool)
                .put(update_pool)
                .delete(delete_pool)
                .post(pool_method),
        )
        .route(&format!("{base}/operations"), get(list_operations))
        .route(
            &format!("{base}/operations/{{operation}}"),
            get(get_operation),
        )
        .fallback(not_found)
        .with_state(services)
}

async fn not_found() -> GoogleError {
    GoogleError::not_found("Method not found.")
}

fn cluster_path(p: &str, l: &str, c: &str) -> String {
    format!("projects/{p}/locations/{l}/clusters/{c}")
}

fn self_link(services: &Shared, path: &str) -> String {
    format!("{}/google/container/v1/{path}", services.base_url)
}

fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// A cluster or pool name as GKE accepts it: lower-case letters, digits and dashes, starting
/// with a letter, at most 40 characters.
fn check_name(name: &str, what: &str) -> Result<(), GoogleError> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(GoogleError::invalid(format!(
            "Invalid value for field '{what}': {name:?}. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{{0,38}}[a-z0-9])?)'"
        )))
    }
}

fn render_pool(
    pool: &NodePool,
    cluster: &Cluster,
    services: &Shared,
    now: OffsetDateTime,
    enums: Enums,
) -> Value {
    let status = status_at(&pool.phase, now, "RUNNING");
    let path = format!("{}/nodePools/{}", cluster.path(), pool.name);
    let mut out = json!({
        "name": pool.name,
        "config": {
            "machineType": pool.machine_type,
            "diskSizeGb": pool.disk_size_gb,
            "diskType": "pd-balanced",
            "imageType": "COS_CONTAINERD",
            "labels": pool.labels,
            "taints": pool.taints.iter().map(|t| json!({
                "key": t.key, "value": t.value, "effect": enums.encode(EFFECT, &t.effect),
            })).collect::<Vec<_>>(),
            "oauthScopes": ["https://www.googleapis.com/auth/cloud-platform"],
            "serviceAccount": "default",
        },
        "initialNodeCount": pool.initial_node_count,
        "locations": [format!("{}-b", cluster.location)],
        "selfLink": self_link(services, &path),
        "version": pool.version,
        "instanceGroupUrls": [format!(
            "https://www.googleapis.com/compute/v1/projects/{}/zones/{}-b/instanceGroupManagers/gke-{}-{}-grp",
            cluster.project, cluster.location, cluster.name, pool.name
        )],
        "status": enums.encode(POOL_STATUS, &status),
        "management": { "autoUpgrade": true, "autoRepair": true },
        "podIpv4CidrSize": 24,
        "etag": format!("{:x}", pool.created_at.unix_timestamp()),
    });
    if let Some(a) = &pool.autoscaling {
        out["autoscaling"] = json!({
            "enabled": true,
            "minNodeCount": a.min_node_count,
            "maxNodeCount": a.max_node_count,
            "locationPolicy": enums.encode(&[("LOCATION_POLICY_UNSPECIFIED", 0), ("BALANCED", 1), ("ANY", 2)], "BALANCED"),
        });
    }
    out
}

fn render_cluster(c: &Cluster, services: &Shared, now: OffsetDateTime, enums: Enums) -> Value {
    let status = status_at(&c.phase, now, "RUNNING");
    let pools: Vec<Value> = c
        .node_pools
        .iter()
        .map(|p| render_pool(p, c, services, now, enums))
        .collect();
    let node_count: i64 = c.node_pools.iter().map(|p| p.initial_node_count).sum();
    json!({
        "name": c.name,
        "nodePools": pools,
        "network": c.network,
        "subnetwork": c.subnetwork,
        "resourceLabels": c.resource_labels,
        "labelFingerprint": c.label_fingerprint,
        "releaseChannel": { "channel": enums.encode(CHANNEL, &c.release_channel) },
        "selfLink": self_link(services, &c.path()),
        "zone": c.location,
        "location": c.location,
        "locations": [format!("{}-b", c.location)],
        // The emulated Kubernetes API is plain HTTP on loopback: its full URL stands where GKE
        // puts an IP address, and there is no certificate authority.
        "endpoint": format!("{}/k8s/{}", services.base_url, c.kube_id()),
        "masterAuth": { "clusterCaCertificate": "" },
        "initialClusterVersion": c.initial_cluster_version,
        "currentMasterVersion": c.master_version,
        "currentNodeVersion": c.node_pools.first().map(|p| p.version.clone()).unwrap_or_else(|| c.master_version.clone()),
        "createTime": clock::display(c.created_at),
        "status": enums.encode(CLUSTER_STATUS, &status),
        "currentNodeCount": node_count,
        "id": c.id,
        "clusterIpv4Cidr": "10.44.0.0/14",
        "servicesIpv4Cidr": "10.48.0.0/20",
        "etag": c.label_fingerprint,
    })
}

fn render_operation(o: &Operation, services: &Shared, now: OffsetDateTime, enums: Enums) -> Value {
    let status = o.status(now);
    let mut out = json!({
        "name": o.name,
        "zone": o.location,
        "location": o.location,
        "operationType": enums.encode(OPERATION_TYPE, &o.operation_type),
        "status": enums.encode(OPERATION_STATUS, status),
        "selfLink": self_link(services, &format!("projects/{}/locations/{}/operations/{}", o.project, o.location, o.name)),
        "targetLink": self_link(services, &o.target),
        "startTime": clock::display(o.started),
    });
    if !o.running(now) {
        out["endTime"] = json!(clock::display(o.done_at));
    }
    out
}

/// Records a new operation on `target`, finishing at `done_at`.
fn start_operation(
    account: &mut Account,
    project: &str,
    location: &str,
    kind: &str,
    target: String,
    now: OffsetDateTime,
    done_at: OffsetDateTime,
) -> Operation {
    let op = Operation {
        name: format!(
            "operation-{}-{}",
            now.unix_timestamp() * 1000,
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        ),
        project: project.into(),
        location: location.into(),
        operation_type: kind.into(),
        target,
        started: now,
        done_at,
    };
    account.operations.push(op.clone());
    op
}

fn refuse_if_busy(
    account: &Account,
    cluster: &str,
    now: OffsetDateTime,
) -> Result<(), GoogleError> {
    match account.busy(cluster, now) {
        Some(op) => Err(GoogleError::precondition(format!(
            "Cluster is running incompatible operation {}.",
            op.name
        ))),
        None => Ok(()),
    }
}

fn no_cluster(path: &str) -> GoogleError {
    GoogleError::not_found(format!("Not found: {path}."))
}

fn labels(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn fingerprint(labels: &BTreeMap<String, String>) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (k, v) in labels {
        for b in k.bytes().chain([b'=']).chain(v.bytes()).chain([b';']) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{:08x}", hash & 0xffff_ffff)
}

fn taints(v: &Value) -> Result<Vec<Taint>, GoogleError> {
    v.as_array()
        .map(|items| {
            items
                .iter()
                .map(|t| {
                    Ok(Taint {
                        key: str_field(t, "key").to_string(),
                        value: str_field(t, "value").to_string(),
                        effect: decode(
                            EFFECT,
                            t.get("effect").unwrap_or(&Value::Null),
                            "taints.effect",
                        )?
                        .unwrap_or_else(|| "NO_SCHEDULE".into()),
                    })
                })
                .collect()
        })
        .unwrap_or(Ok(Vec::new()))
}

/// A node pool from a request's `nodePool` (or a cluster's `nodePools[]`).
fn pool_from(
    v: &Value,
    master_version: &str,
    now: OffsetDateTime,
    ready_at: OffsetDateTime,
) -> Result<NodePool, GoogleError> {
    let name = str_field(v, "name").to_string();
    check_name(&name, "node_pool.name")?;
    let config = v.get("config").cloned().unwrap_or(json!({}));
    let autoscaling = v
        .get("autoscaling")
        .filter(|a| a.get("enabled").and_then(Value::as_bool).unwrap_or(false))
        .map(|a| Autoscaling {
            min_node_count: a.get("minNodeCount").and_then(int).unwrap_or(0),
            max_node_count: a.get("maxNodeCount").and_then(int).unwrap_or(0),
        });
    if let Some(a) = &autoscaling {
        if a.max_node_count < a.min_node_count || a.max_node_count < 1 {
            return Err(GoogleError::invalid(
                "Autoscaling needs 0 <= minNodeCount <= maxNodeCount and maxNodeCount >= 1.",
            ));
        }
    }
    let count = v.get("initialNodeCount").and_then(int).unwrap_or(0);
    if count < 0 || (count == 0 && autoscaling.is_none()) {
        return Err(GoogleError::invalid(format!(
            "Node pool \"{name}\" must have an initialNodeCount of at least 1."
        )));
    }
    let machine = str_field(&config, "machineType");
    let disk = config
        .get("diskSizeGb")
        .and_then(int)
        .filter(|d| *d > 0)
        .unwrap_or(100);
    if disk < 10 {
        return Err(GoogleError::invalid("Disk size must be at least 10 GB."));
    }
    let version = match str_field(v, "version") {
        "" => master_version.to_string(),
        asked => resolve_version(asked)?,
    };
    Ok(NodePool {
        name,
        initial_node_count: count,
        machine_type: if machine.is_empty() {
            "e2-medium".into()
        } else {
            machine.into()
        },
        disk_size_gb: disk,
        labels: labels(config.get("labels").unwrap_or(&Value::Null)),
        taints: taints(config.get("taints").unwrap_or(&Value::Null))?,
        version,
        autoscaling,
        phase: Some(super::model::Phase {
            status: "PROVISIONING".into(),
            until: ready_at,
        }),
        created_at: now,
    })
}

async fn list_clusters(
    State(services): State<Shared>,
    Path((p, l)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, GoogleError> {
    let now = clock::now();
    let enums = Enums::from_query(q.as_deref());
    let clusters = services.read(|cloud| {
        cloud
            .google
            .clusters
            .iter()
            .filter(|c| c.project == p && (l == "-" || c.location == l))
            .filter(|c| cloud.google.cluster(&c.path(), now).is_some())
            .map(|c| render_cluster(c, &services, now, enums))
            .collect::<Vec<_>>()
    })?;
    Ok(json_response(
        StatusCode::OK,
        json!({ "clusters": clusters }),
    ))
}

async fn create_cluster(
    State(services): State<Shared>,
    Path((p, l)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, GoogleError> {
    let enums = Enums::from_query(q.as_deref());
    let request = parse_body(&body)?;
    let spec = request
        .get("cluster")
        .cloned()
        .ok_or_else(|| GoogleError::invalid("Cluster is required."))?;
    let name = str_field(&spec, "name").to_string();
    check_name(&name, "cluster.name")?;
    let now = clock::now();
    let ready_at = clock::after(now, services.provision_time);
    let master_version = resolve_version(str_field(&spec, "initialClusterVersion"))?;
    let channel = decode(
        CHANNEL,
        spec.pointer("/releaseChannel/channel")
            .unwrap_or(&Value::Null),
        "cluster.release_channel.channel",
    )?
    .filter(|c| c != "UNSPECIFIED")
    .unwrap_or_else(|| "REGULAR".into());
    let mut pools = Vec::new();
    if let Some(items) = spec.get("nodePools").and_then(Value::as_array) {
        for item in items {
            pools.push(pool_from(item, &master_version, now, ready_at)?);
        }
    }
    if pools.is_empty() {
        let count = spec.get("initialNodeCount").and_then(int).unwrap_or(0);
        if count < 1 {
            return Err(GoogleError::invalid(
                "Cluster.initial_node_count must be greater than zero, or nodePools must be given.",
            ));
        }
        let mut default = json!({ "name": "default-pool", "initialNodeCount": count });
        if let Some(config) = spec.get("nodeConfig") {
            default["config"] = config.clone();
        }
        pools.push(pool_from(&default, &master_version, now, ready_at)?);
    }
    let resource_labels = labels(spec.get("resourceLabels").unwrap_or(&Value::Null));
    let network = match str_field(&spec, "network") {
        "" => "default",
        n => n,
    }
    .to_string();
    let subnetwork = match str_field(&spec, "subnetwork") {
        "" => "default",
        n => n,
    }
    .to_string();
    let op = services.update(|cloud| -> Result<Operation, GoogleError> {
        let account = &mut cloud.google;
        account.settle(now);
        let path = cluster_path(&p, &l, &name);
        if account.cluster(&path, now).is_some() {
            return Err(GoogleError::exists(format!("Already exists: {path}.")));
        }
        account.clusters.push(Cluster {
            id: uuid::Uuid::new_v4().simple().to_string(),
            project: p.clone(),
            location: l.clone(),
            name: name.clone(),
            network,
            subnetwork,
            initial_cluster_version: master_version.clone(),
            master_version,
            release_channel: channel,
            label_fingerprint: fingerprint(&resource_labels),
            resource_labels,
            node_pools: pools,
            phase: Some(super::model::Phase {
                status: "PROVISIONING".into(),
                until: ready_at,
            }),
            created_at: now,
        });
        Ok(start_operation(
            account,
            &p,
            &l,
            "CREATE_CLUSTER",
            path,
            now,
            ready_at,
        ))
    })?;
    Ok(json_response(
        StatusCode::OK,
        render_operation(&op, &services, now, enums),
    ))
}

async fn get_cluster(
    State(services): State<Shared>,
    Path((p, l, c)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, GoogleError> {
    let now = clock::now();
    let enums = Enums::from_query(q.as_deref());
    let path = cluster_path(&p, &l, &c);
    let body = services.read(|cloud| {
        cloud
            .google
            .cluster(&path, now)
            .map(|c| render_cluster(c, &services, now, enums))
    })?;
    body.map(|b| json_response(StatusCode::OK, b))
        .ok_or_else(|| no_cluster(&path))
}

/// Runs `change` on the cluster (refusing if it is busy), and answers the operation it starts:
/// `change` returns the operation type and how long the cluster reconciles.
fn change_cluster(
    services: &Shared,
    path: &str,
    enums: Enums,
    change: impl FnOnce(&mut Cluster, OffsetDateTime) -> Result<(&'static str, String), GoogleError>,
) -> Result<Response, GoogleError> {
    let now = clock::now();
    let ready_at = clock::after(now, services.provision_time / 2);
    let op = services.update(|cloud| -> Result<Operation, GoogleError> {
        let account = &mut cloud.google;
        account.settle(now);
        if account.cluster(path, now).is_none() {
            return Err(no_cluster(path));
        }
        refuse_if_busy(account, path, now)?;
        let cluster = account.cluster_mut(path).ok_or_else(|| no_cluster(path))?;
        let (kind, target) = change(cluster, ready_at)?;
        let (project, location) = (cluster.project.clone(), cluster.location.clone());
        Ok(start_operation(
            account, &project, &location, kind, target, now, ready_at,
        ))
    })?;
    Ok(json_response(
        StatusCode::OK,
        render_operation(&op, services, now, enums),
    ))
}

async fn update_cluster(
    State(services): State<Shared>,
    Path((p, l, c)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, GoogleError> {
    let enums = Enums::from_query(q.as_deref());
    let request = parse_body(&body)?;
    let update = request.get("update").cloned().unwrap_or(json!({}));
    let path = cluster_path(&p, &l, &c);
    let channel = decode(
        CHANNEL,
        update
            .pointer("/desiredReleaseChannel/channel")
            .unwrap_or(&Value::Null),
        "update.desired_release_channel.channel",
    )?;
    let master = match str_field(&update, "desiredMasterVersion") {
        "" => None,
        v => Some(resolve_version(v)?),
    };
    change_cluster(&services, &path, enums, |cluster, until| {
        let mut kind = "UPDATE_CLUSTER";
        if let Some(ch) = channel {
            cluster.release_channel = ch;
        }
        if let Some(v) = master {
            cluster.master_version = v;
            kind = "UPGRADE_MASTER";
        }
        cluster.phase = Some(super::model::Phase {
            status: "RECONCILING".into(),
            until,
        });
        Ok((kind, cluster.path()))
    })
}

/// `POST .../clusters/NAME:method`.
async fn cluster_method(
    State(services): State<Shared>,
    Path((p, l, c)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, GoogleError> {
    let enums = Enums::from_query(q.as_deref());
    let Some((name, method)) = c.split_once(':') else {
        return Err(GoogleError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "INVALID_ARGUMENT",
            "POST needs a custom method.",
        ));
    };
    let request = parse_body(&body)?;
    let path = cluster_path(&p, &l, name);
    match method {
        "updateMaster" => {
            let version = resolve_version(str_field(&request, "masterVersion"))?;
            change_cluster(&services, &path, enums, |cluster, until| {
                cluster.master_version = version;
                cluster.phase = Some(super::model::Phase {
                    status: "RECONCILING".into(),
                    until,
                });
                Ok(("UPGRADE_MASTER", cluster.path()))
            })
        }
        "setResourceLabels" => {
            let wanted = labels(request.get("resourceLabels").unwrap_or(&Value::Null));
            let given = str_field(&request, "labelFingerprint").to_string();
            change_cluster(&services, &path, enums, |cluster, _| {
                if !given.is_empty() && given != cluster.label_fingerprint {
                    return Err(GoogleError::precondition(
                        "Labels could not be set due to fingerprint mismatch.",
                    ));
                }
                cluster.label_fingerprint = fingerprint(&wanted);
                cluster.resource_labels = wanted;
                Ok(("SET_LABELS", cluster.path()))
            })
        }
        other => Err(GoogleError::not_found(format!(
            "Method {other} is not emulated."
        ))),
    }
}

async fn delete_cluster(
    State(services): State<Shared>,
    Path((p, l, c)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, GoogleError> {
    let enums = Enums::from_query(q.as_deref());
    let now = clock::now();
    let done_at = clock::after(now, services.provision_time / 2);
    let path = cluster_path(&p, &l, &c);
    let op = services.update(|cloud| -> Result<Operation, GoogleError> {
        let account = &mut cloud.google;
        account.settle(now);
        let cluster = account
            .clusters
            .iter_mut()
            .find(|x| x.path() == path)
            .ok_or_else(|| no_cluster(&path))?;
        if status_at(&cluster.phase, now, "RUNNING") == "STOPPING" {
            return Err(GoogleError::precondition(format!(
                "Cluster {c} is already being deleted."
            )));
        }
        cluster.phase = Some(super::model::Phase {
            status: "STOPPING".into(),
            until: done_at,
        });
        Ok(start_operation(
            account,
            &p,
            &l,
            "DELETE_CLUSTER",
            path.clone(),
            now,
            done_at,
        ))
    })?;
    Ok(json_response(
        StatusCode::OK,
        render_operation(&op, &services, now, enums),
    ))
}

async fn list_pools(
    State(services): State<Shared>,
    Path((p, l, c)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, GoogleError> {
    let now = clock::now();
    let enums = Enums::from_query(q.as_deref());
    let path = cluster_path(&p, &l, &c);
    let pools = services.read(|cloud| {
        cloud.google.cluster(&path, now).map(|cluster| {
            cluster
                .node_pools
                .iter()
                .filter(|x| !super::model::gone(&x.phase, now, "STOPPING"))
                .map(|x| render_pool(x, cluster, &services, now, enums))
                .collect::<Vec<_>>()
        })
    })?;
    let pools = pools.ok_or_else(|| no_cluster(&path))?;
    Ok(json_response(StatusCode::OK, json!({ "nodePools": pools })))
}

async fn create_pool(
    State(services): State<Shared>,
    Path((p, l, c)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, GoogleError> {
    let enums = Enums::from_query(q.as_deref());
    let request = parse_body(&body)?;
    let spec = request
        .get("nodePool")
        .cloned()
        .ok_or_else(|| GoogleError::invalid("Node_pool is required."))?;
    let now = clock::now();
    let ready_at = clock::after(now, services.provision_time);
    let path = cluster_path(&p, &l, &c);
    let op = services.update(|cloud| -> Result<Operation, GoogleError> {
        let account = &mut cloud.google;
        account.settle(now);
        let master = account
            .cluster(&path, now)
            .ok_or_else(|| no_cluster(&path))?
            .master_version
            .clone();
        refuse_if_busy(account, &path, now)?;
        let pool = pool_from(&spec, &master, now, ready_at)?;
        let cluster = account
            .cluster_mut(&path)
            .ok_or_else(|| no_cluster(&path))?;
        if cluster.node_pools.iter().any(|x| x.name == pool.name) {
            return Err(GoogleError::exists(format!(
                "Already exists: {path}/nodePools/{}.",
                pool.name
            )));
        }
        let target = format!("{path}/nodePools/{}", pool.name);
        cluster.node_pools.push(pool);
        Ok(start_operation(
            account,
            &p,
            &l,
            "CREATE_NODE_POOL",
            target,
            now,
            ready_at,
        ))
    })?;
    Ok(json_response(
        StatusCode::OK,
        render_operation(&op, &services, now, enums),
    ))
}

async fn get_pool(
    State(services): State<Shared>,
    Path((p, l, c, np)): Path<(String, String, String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, GoogleError> {
    let now = clock::now();
    let enums = Enums::from_query(q.as_deref());
    let path = cluster_path(&p, &l, &c);
    let body = services.read(|cloud| {
        let cluster = cloud.google.cluster(&path, now)?;
        cluster
            .node_pools
            .iter()
            .find(|x| x.name == np && !super::model::gone(&x.phase, now, "STOPPING"))
            .map(|x| render_pool(x, cluster, &services, now, enums))
    })?;
    body.map(|b| json_response(StatusCode::OK, b))
        .ok_or_else(|| GoogleError::not_found(format!("Not found: {path}/nodePools/{np}.")))
}

/// Runs `change` on one pool of a cluster that is not busy and answers the operation started.
fn change_pool(
    services: &Shared,
    cluster_path: &str,
    pool: &str,
    enums: Enums,
    change: impl FnOnce(&mut NodePool, OffsetDateTime) -> Result<&'static str, GoogleError>,
) -> Result<Response, GoogleError> {
    let now = clock::now();
    let ready_at = clock::after(now, services.provision_time / 2);
    let target = format!("{cluster_path}/nodePools/{pool}");
    let op = services.update(|cloud| -> Result<Operation, GoogleError> {
        let account = &mut cloud.google;
        account.settle(now);
        if account.cluster(cluster_path, now).is_none() {
            return Err(no_cluster(cluster_path));
        }
        refuse_if_busy(account, cluster_path, now)?;
        let cluster = account
            .cluster_mut(cluster_path)
            .ok_or_else(|| no_cluster(cluster_path))?;
        let (project, location) = (cluster.project.clone(), cluster.location.clone());
        let found = cluster
            .node_pools
            .iter_mut()
            .find(|x| x.name == pool)
            .ok_or_else(|| GoogleError::not_found(format!("Not found: {target}.")))?;
        let kind = change(found, ready_at)?;
        Ok(start_operation(
            account,
            &project,
            &location,
            kind,
            target.clone(),
            now,
            ready_at,
        ))
    })?;
    Ok(json_response(
        StatusCode::OK,
        render_operation(&op, services, now, enums),
    ))
}

fn reconciling(until: OffsetDateTime) -> Option<super::model::Phase> {
    Some(super::model::Phase {
        status: "RECONCILING".into(),
        until,
    })
}

async fn update_pool(
    State(services): State<Shared>,
    Path((p, l, c, np)): Path<(String, String, String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, GoogleError> {
    let enums = Enums::from_query(q.as_deref());
    let request = parse_body(&body)?;
    let version = match str_field(&request, "nodeVersion") {
        "" => None,
        v => Some(resolve_version(v)?),
    };
    let new_taints = match request.pointer("/taints") {
        Some(t) => Some(taints(t.get("taints").unwrap_or(&Value::Null))?),
        None => None,
    };
    change_pool(
        &services,
        &cluster_path(&p, &l, &c),
        &np,
        enums,
        |pool, until| {
            let mut kind = "UPDATE_CLUSTER";
            if let Some(v) = version {
                pool.version = v;
                kind = "UPGRADE_NODES";
            }
            if let Some(m) = request
                .get("machineType")
                .and_then(Value::as_str)
                .filter(|m| !m.is_empty())
            {
                pool.machine_type = m.to_string();
            }
            if let Some(d) = request.get("diskSizeGb").and_then(int).filter(|d| *d > 0) {
                pool.disk_size_gb = d;
            }
            if let Some(l) = request.get("labels") {
                pool.labels = labels(l.get("labels").unwrap_or(&Value::Null));
            }
            if let Some(t) = new_taints {
                pool.taints = t;
            }
            pool.phase = reconciling(until);
            Ok(kind)
        },
    )
}

/// `POST .../nodePools/NAME:method`.
async fn pool_method(
    State(services): State<Shared>,
    Path((p, l, c, np)): Path<(String, String, String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, GoogleError> {
    let enums = Enums::from_query(q.as_deref());
    let Some((pool, method)) = np.split_once(':') else {
        return Err(GoogleError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "INVALID_ARGUMENT",
            "POST needs a custom method.",
        ));
    };
    let request = parse_body(&body)?;
    let cluster = cluster_path(&p, &l, &c);
    match method {
        "setSize" => {
            let count = request.get("nodeCount").and_then(int).unwrap_or(-1);
            if count < 0 {
                return Err(GoogleError::invalid("nodeCount must be 0 or more."));
            }
            change_pool(&services, &cluster, pool, enums, |x, until| {
                x.initial_node_count = count;
                x.phase = reconciling(until);
                Ok("SET_NODE_POOL_SIZE")
            })
        }
        "setAutoscaling" => {
            let a = request.get("autoscaling").cloned().unwrap_or(json!({}));
            let enabled = a.get("enabled").and_then(Value::as_bool).unwrap_or(false);
            let scaling = enabled.then(|| Autoscaling {
                min_node_count: a.get("minNodeCount").and_then(int).unwrap_or(0),
                max_node_count: a.get("maxNodeCount").and_then(int).unwrap_or(0),
            });
            if let Some(s) = &scaling {
                if s.max_node_count < s.min_node_count || s.max_node_count < 1 {
                    return Err(GoogleError::invalid(
                        "Autoscaling needs 0 <= minNodeCount <= maxNodeCount and maxNodeCount >= 1.",
                    ));
                }
            }
            change_pool(&services, &cluster, pool, enums, |x, until| {
                // The autoscaler brings the size into the new bounds.
                if let Some(s) = &scaling {
                    x.initial_node_count = x
                        .initial_node_count
                        .clamp(s.min_node_count.max(1), s.max_node_count);
                }
                x.autoscaling = scaling;
                x.phase = reconciling(until);
                Ok("UPDATE_CLUSTER")
            })
        }
        other => Err(GoogleError::not_found(format!(
            "Method {other} is not emulated."
        ))),
    }
}

async fn delete_pool(
    State(services): State<Shared>,
    Path((p, l, c, np)): Path<(String, String, String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, GoogleError> {
    let enums = Enums::from_query(q.as_deref());
    change_pool(
        &services,
        &cluster_path(&p, &l, &c),
        &np,
        enums,
        |pool, until| {
            if status_at(&pool.phase, clock::now(), "RUNNING") == "STOPPING" {
                return Err(GoogleError::precondition(
                    "The node pool is already being deleted.",
                ));
            }
            pool.phase = Some(super::model::Phase {
                status: "STOPPING".into(),
                until,
            });
            Ok("DELETE_NODE_POOL")
        },
    )
}

async fn get_operation(
    State(services): State<Shared>,
    Path((p, l, op)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, GoogleError> {
    let now = clock::now();
    let enums = Enums::from_query(q.as_deref());
    let body = services.read(|cloud| {
        cloud
            .google
            .operations
            .iter()
            .find(|o| o.name == op && o.project == p && o.location == l)
            .map(|o| render_operation(o, &services, now, enums))
    })?;
    body.map(|b| json_response(StatusCode::OK, b))
        .ok_or_else(|| {
            GoogleError::not_found(format!(
                "Not found: projects/{p}/locations/{l}/operations/{op}."
            ))
        })
}

async fn list_operations(
    State(services): State<Shared>,
    Path((p, l)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, GoogleError> {
    let now = clock::now();
    let enums = Enums::from_query(q.as_deref());
    let ops = services.read(|cloud| {
        cloud
            .google
            .operations
            .iter()
            .filter(|o| o.project == p && (l == "-" || o.location == l))
            .map(|o| render_operation(o, &services, now, enums))
            .collect::<Vec<_>>()
    })?;
    Ok(json_response(StatusCode::OK, json!({ "operations": ops })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_resolve_like_gke() {
        assert_eq!(resolve_version("").unwrap(), DEFAULT_VERSION);
        assert_eq!(resolve_version("1.30").unwrap(), "1.30.5-gke.1000000");
        assert_eq!(resolve_version("1.30.2-gke.7").unwrap(), "1.30.2-gke.7");
        assert!(resolve_version("one").is_err());
    }

    #[test]
    fn names_follow_gke_rules() {
        assert!(check_name("shop-1", "n").is_ok());
        for bad in ["", "Shop", "1shop", "shop-", "a_b"] {
            assert!(check_name(bad, "n").is_err(), "{bad}");
        }
    }
}
