//! The inventory of emulated objects, finding one by id or name, and changing or deleting it.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{kube, Object};
use crate::clock;
use crate::digitalocean::model::{is_automatic_tag, Account, Transition};
use crate::services::Services;
use crate::EmulatorError;

/// Where an inventory entry lives, so that a change can be routed to it.
#[derive(Debug, Clone)]
pub(super) enum Target {
    Vpc(String),
    Cluster(String),
    NodePool {
        cluster: String,
        pool: String,
    },
    Database(String),
    Kubernetes {
        cluster: String,
        object: Value,
    },
    /// An object of one of the clouds of [`crate::clouds`].
    Cloud {
        cloud: &'static str,
        id: String,
    },
}

struct Entry {
    object: Object,
    target: Target,
    /// Other names the object answers to (`CLUSTER/POOL`, `NAMESPACE/NAME`…).
    aliases: Vec<String>,
}

pub(super) fn list(services: &Services) -> Result<Vec<Object>, EmulatorError> {
    Ok(entries(services)?.into_iter().map(|e| e.object).collect())
}

fn entries(services: &Services) -> Result<Vec<Entry>, EmulatorError> {
    let now = clock::now();
    let mut out = services.read(|cloud| {
        let mut out = digitalocean_entries(&cloud.digitalocean, now);
        for (which, e) in crate::clouds::admin_entries(cloud, now) {
            out.push(Entry {
                target: Target::Cloud {
                    cloud: which,
                    id: e.object.id.clone(),
                },
                object: e.object,
                aliases: e.aliases,
            });
        }
        out
    })?;
    let cluster_names: BTreeMap<String, String> = services.read(|cloud| {
        cloud
            .digitalocean
            .kubernetes_clusters
            .iter()
            .map(|c| (c.id.clone(), c.name.clone()))
            .collect()
    })?;
    for object in services.kube.inventory() {
        out.push(kubernetes_entry(object, &cluster_names));
    }
    Ok(out)
}

fn fields(pairs: Vec<(&str, Value)>) -> BTreeMap<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn digitalocean_entries(account: &Account, now: time::OffsetDateTime) -> Vec<Entry> {
    let mut out = Vec::new();
    let entry = |kind: &str, id: &str, name: &str, f, target| Entry {
        object: Object {
            cloud: "digitalocean".into(),
            kind: kind.into(),
            id: id.into(),
            name: name.into(),
            fields: fields(f),
        },
        target,
        aliases: Vec::new(),
    };
    for v in &account.vpcs {
        out.push(entry(
            "vpc",
            &v.id,
            &v.name,
            vec![
                ("region", json!(v.region)),
                ("ip_range", json!(v.ip_range)),
                ("default", json!(v.default)),
                ("description", json!(v.description)),
            ],
            Target::Vpc(v.id.clone()),
        ));
    }
    for c in &account.kubernetes_clusters {
        out.push(entry(
            "kubernetes_cluster",
            &c.id,
            &c.name,
            vec![
                ("region", json!(c.region)),
                ("version", json!(c.version)),
                ("status", json!(c.status(now))),
                ("vpc_uuid", json!(c.vpc_uuid)),
                ("tags", json!(c.tags)),
                ("auto_upgrade", json!(c.auto_upgrade)),
                (
                    "node_pools",
                    json!(c.node_pools.iter().map(|p| &p.name).collect::<Vec<_>>()),
                ),
            ],
            Target::Cluster(c.id.clone()),
        ));
        for p in &c.node_pools {
            let mut e = entry(
                "node_pool",
                &p.id,
                &p.name,
                vec![
                    ("cluster", json!(c.name)),
                    ("cluster_id", json!(c.id)),
                    ("size", json!(p.size)),
                    ("count", json!(p.count)),
                    ("auto_scale", json!(p.auto_scale)),
                    ("min_nodes", json!(p.min_nodes)),
                    ("max_nodes", json!(p.max_nodes)),
                    ("tags", json!(p.tags)),
                    ("labels", json!(p.labels)),
                ],
                Target::NodePool {
                    cluster: c.id.clone(),
                    pool: p.id.clone(),
                },
            );
            e.aliases.push(format!("{}/{}", c.name, p.name));
            e.aliases.push(format!("{}/{}", c.id, p.name));
            out.push(e);
        }
    }
    for d in &account.databases {
        out.push(entry(
            "database",
            &d.id,
            &d.name,
            vec![
                ("engine", json!(d.engine)),
                ("version", json!(d.version)),
                ("region", json!(d.region)),
                ("size", json!(d.size)),
                ("num_nodes", json!(d.num_nodes)),
                ("status", json!(d.status(now))),
                ("storage_size_mib", json!(d.storage_size_mib)),
                ("tags", json!(d.tags)),
            ],
            Target::Database(d.id.clone()),
        ));
    }
    out
}

fn kubernetes_entry(object: Value, cluster_names: &BTreeMap<String, String>) -> Entry {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_string();
    let cluster = text(object.get("cluster"));
    let kind = text(object.get("kind"));
    let api_version = text(object.get("apiVersion"));
    let metadata = object.get("metadata");
    let name = text(metadata.and_then(|m| m.get("name")));
    let namespace = text(metadata.and_then(|m| m.get("namespace")));
    let uid = text(metadata.and_then(|m| m.get("uid")));
    let id = if uid.is_empty() {
        format!("{cluster}/{namespace}/{kind}/{name}")
    } else {
        uid
    };
    let mut f = vec![
        ("cluster", json!(cluster)),
        ("apiVersion", json!(api_version)),
    ];
    if let Some(cluster_name) = cluster_names.get(&cluster) {
        f.push(("cluster_name", json!(cluster_name)));
    }
    if !namespace.is_empty() {
        f.push(("namespace", json!(namespace)));
    }
    if let Some(replicas) = object.pointer("/spec/replicas") {
        f.push(("spec.replicas", replicas.clone()));
    }
    let mut aliases = vec![format!("{kind}/{name}")];
    if !namespace.is_empty() {
        aliases.push(format!("{namespace}/{name}"));
        aliases.push(format!("{kind}/{namespace}/{name}"));
    }
    Entry {
        object: Object {
            cloud: "kubernetes".into(),
            kind,
            id,
            name,
            fields: fields(f),
        },
        target: Target::Kubernetes {
            cluster,
            object: object.clone(),
        },
        aliases,
    }
}

/// Finds the one object `query` names: an id wins outright; otherwise names and qualified
/// names must match exactly one object.
fn find(services: &Services, query: &str) -> Result<(Object, Target), EmulatorError> {
    let all = entries(services)?;
    if let Some(e) = all.iter().find(|e| e.object.id == query) {
        return Ok((e.object.clone(), e.target.clone()));
    }
    let matches: Vec<&Entry> = all
        .iter()
        .filter(|e| {
            e.object.name == query
                || e.aliases
                    .iter()
                    .any(|alias| alias.eq_ignore_ascii_case(query))
        })
        .collect();
    match matches.as_slice() {
        [] => Err(EmulatorError::NotFound(query.to_string())),
        [one] => Ok((one.object.clone(), one.target.clone())),
        many => Err(EmulatorError::Ambiguous {
            query: query.to_string(),
            candidates: many
                .iter()
                .map(|e| format!("{} {} ({})", e.object.kind, e.object.name, e.object.id))
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

pub(super) fn set(
    services: &Services,
    query: &str,
    field: &str,
    value: Value,
) -> Result<(), EmulatorError> {
    let (object, target) = find(services, query)?;
    let invalid = |message: String| EmulatorError::InvalidField {
        kind: object.kind.clone(),
        name: object.name.clone(),
        field: field.to_string(),
        message,
    };
    if field.is_empty() || field.split('.').any(str::is_empty) {
        return Err(invalid(
            "the field must be a dotted path such as `spec.replicas`".into(),
        ));
    }
    if let Target::Kubernetes { cluster, object } = &target {
        return kube::set(services, cluster, object, field, value);
    }
    let now = clock::now();
    let ready_at = clock::after(now, services.provision_time);
    if let Target::Cloud { cloud: which, id } = &target {
        let ctx = crate::clouds::AdminContext { now, ready_at };
        return services.update(|cloud| {
            crate::clouds::admin_set(cloud, which, id, field, value, &ctx).map_err(invalid)
        });
    }
    services.update(|cloud| {
        let account = &mut cloud.digitalocean;
        match &target {
            Target::Vpc(id) => {
                let vpc = account
                    .vpcs
                    .iter_mut()
                    .find(|v| &v.id == id)
                    .ok_or_else(|| EmulatorError::NotFound(query.into()))?;
                set_field(vpc, field, value, &["id", "created_at"]).map_err(invalid)
            }
            Target::Cluster(id) => {
                let cluster = account
                    .kubernetes_clusters
                    .iter_mut()
                    .find(|c| &c.id == id)
                    .ok_or_else(|| EmulatorError::NotFound(query.into()))?;
                if field == "status" {
                    cluster.transition = pinned_status(value, "running").map_err(invalid)?;
                } else {
                    set_field(
                        cluster,
                        field,
                        value,
                        &["id", "created_at", "transition", "kube_token", "node_pools"],
                    )
                    .map_err(invalid)?;
                    cluster.tags.retain(|t| !is_automatic_tag(t));
                }
                cluster.updated_at = now;
                Ok(())
            }
            Target::NodePool { cluster, pool } => {
                let mut last_droplet_id = account.last_droplet_id;
                let cluster = account
                    .kubernetes_clusters
                    .iter_mut()
                    .find(|c| &c.id == cluster)
                    .ok_or_else(|| EmulatorError::NotFound(query.into()))?;
                let pool = cluster
                    .pool_mut(pool)
                    .ok_or_else(|| EmulatorError::NotFound(query.into()))?;
                set_field(pool, field, value, &["id", "nodes"]).map_err(invalid)?;
                pool.tags.retain(|t| !is_automatic_tag(t));
                pool.reconcile_nodes(now, ready_at, &mut last_droplet_id);
                cluster.updated_at = now;
                account.last_droplet_id = last_droplet_id;
                Ok(())
            }
            Target::Database(id) => {
                let database = account
                    .databases
                    .iter_mut()
                    .find(|d| &d.id == id)
                    .ok_or_else(|| EmulatorError::NotFound(query.into()))?;
                if field == "status" {
                    database.transition = pinned_status(value, "online").map_err(invalid)?;
                    Ok(())
                } else {
                    set_field(
                        database,
                        field,
                        value,
                        &["id", "created_at", "transition", "password"],
                    )
                    .map_err(invalid)
                }
            }
            Target::Kubernetes { .. } | Target::Cloud { .. } => Ok(()),
        }
    })
}

pub(super) fn delete(services: &Services, query: &str) -> Result<(), EmulatorError> {
    let (_, target) = find(services, query)?;
    if let Target::Kubernetes { cluster, object } = &target {
        return kube::delete(services, cluster, object);
    }
    if let Target::Cloud { cloud: which, id } = &target {
        return services.update(|cloud| {
            if crate::clouds::admin_delete(cloud, which, id) {
                Ok(())
            } else {
                Err(EmulatorError::NotFound(query.into()))
            }
        });
    }
    services.update(|cloud| {
        let account = &mut cloud.digitalocean;
        match &target {
            Target::Vpc(id) => account.vpcs.retain(|v| &v.id != id),
            Target::Cluster(id) => account.kubernetes_clusters.retain(|c| &c.id != id),
            Target::NodePool { cluster, pool } => {
                if let Some(c) = account
                    .kubernetes_clusters
                    .iter_mut()
                    .find(|c| &c.id == cluster)
                {
                    c.node_pools.retain(|p| &p.id != pool);
                    c.updated_at = clock::now();
                }
            }
            Target::Database(id) => account.databases.retain(|d| &d.id != id),
            Target::Kubernetes { .. } | Target::Cloud { .. } => {}
        }
        Ok::<_, EmulatorError>(())
    })
}

/// A `status` set out of band: the settled state clears any transition, anything else pins the
/// object in that state until it is set back.
fn pinned_status(value: Value, settled: &str) -> Result<Option<Transition>, String> {
    let state = value
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| "status must be a non-empty string".to_string())?;
    if state == settled {
        return Ok(None);
    }
    Ok(Some(Transition {
        state: state.to_string(),
        until: time::OffsetDateTime::new_utc(time::Date::MAX, time::Time::MIDNIGHT),
    }))
}

/// Sets a dotted field of a stored record by going through its JSON form, so that the record's
/// own types validate the new value (a count must be a number, tags a list of strings).
pub(crate) fn set_field<T>(
    record: &mut T,
    field: &str,
    value: Value,
    protected: &[&str],
) -> Result<(), String>
where
    T: Serialize + DeserializeOwned,
{
    let mut json = serde_json::to_value(&*record).map_err(|e| e.to_string())?;
    let segments: Vec<&str> = field.split('.').collect();
    let top = segments[0];
    let Some(map) = json.as_object_mut() else {
        return Err("this object has no settable fields".into());
    };
    if protected.contains(&top) {
        return Err(format!(
            "`{top}` is managed by the emulator and cannot be set"
        ));
    }
    if !map.contains_key(top) {
        let mut settable: Vec<&str> = map
            .keys()
            .map(String::as_str)
            .filter(|k| !protected.contains(k))
            .collect();
        settable.sort_unstable();
        return Err(format!(
            "unknown field; settable fields are {}",
            settable.join(", ")
        ));
    }
    set_path(&mut json, &segments, value);
    *record = serde_json::from_value(json).map_err(|e| format!("invalid value: {e}"))?;
    Ok(())
}

/// Sets `segments` inside `target`, creating objects along the way where there were none.
fn set_path(target: &mut Value, segments: &[&str], value: Value) {
    let Some((first, rest)) = segments.split_first() else {
        *target = value;
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(map) = target {
        let slot = map.entry(first.to_string()).or_insert(Value::Null);
        set_path(slot, rest, value);
    }
}
