//! `google_gke_node_pool`: create, read, and in-place changes through the calls GKE offers for
//! each (`setSize`, `setAutoscaling`, `update` for version, machine type, disk, labels and
//! taints), delete.

use super::{cluster_parts, operation_name};
use crate::api::Api;
use crate::attrs::{self, Attrs};
use crate::schema::GKE_NODE_POOL;
use crate::wait::gke_operation;
use google_cloud_container_v1::model::{
    node_taint::Effect, NodeConfig, NodeLabels, NodePool, NodePoolAutoscaling, NodeTaint,
    NodeTaints, Operation,
};
use std::collections::BTreeMap;
use strata_core::provider::{
    ErrorKind, OperationContext, ProviderError, ProviderResult, ResourceObject,
};
use strata_core::Value;

#[derive(Debug, Clone, PartialEq)]
struct Taint {
    key: String,
    value: String,
    effect: String,
}

#[derive(Debug, Clone, PartialEq)]
struct Desired {
    cluster_id: String,
    name: String,
    node_count: Option<u32>,
    initial_node_count: Option<u32>,
    version: Option<String>,
    autoscaling: Option<(u32, u32)>,
    machine_type: Option<String>,
    disk_size_gb: Option<u32>,
    labels: Option<BTreeMap<String, String>>,
    taints: Vec<Taint>,
}

impl Desired {
    fn id(&self) -> String {
        format!("{}/nodePools/{}", self.cluster_id, self.name)
    }
}

fn desired(api: &Api, planned: &Value) -> ProviderResult<Desired> {
    let a = Attrs::new(planned, GKE_NODE_POOL);
    let name = a.required_string("name")?;
    let cluster = a.required_string("cluster")?;
    let cluster_id = if cluster.starts_with("projects/") {
        let (p, l, n) = cluster_parts(&cluster)?;
        format!("projects/{p}/locations/{l}/clusters/{n}")
    } else {
        let what = format!("{GKE_NODE_POOL} {name:?}");
        let project = api.settings.project_for(a.string("project")?, &what)?;
        let location = a.string("location")?.ok_or_else(|| {
            ProviderError::new(
                ErrorKind::InvalidConfig,
                format!("{what} names its cluster {cluster:?} without a location"),
            )
            .with_hint("set location, or pass the cluster's id (google_gke_cluster.NAME.id)")
        })?;
        format!("projects/{project}/locations/{location}/clusters/{cluster}")
    };
    let autoscaling = match planned.get("autoscaling").filter(|v| !v.is_null()) {
        Some(block) => {
            let s = Attrs::new(&block, "autoscaling");
            let min = s.count("min_node_count")?.unwrap_or(0);
            let max = s.count("max_node_count")?.unwrap_or(min);
            if max < min || max == 0 {
                return Err(ProviderError::new(
                    ErrorKind::InvalidConfig,
                    format!("{GKE_NODE_POOL} {name:?}: autoscaling needs 0 <= min_node_count <= max_node_count and max_node_count >= 1, found {min}..{max}"),
                ));
            }
            Some((min, max))
        }
        None => None,
    };
    let (mut machine_type, mut disk_size_gb, mut labels, mut taints) =
        (None, None, None, Vec::new());
    if let Some(block) = planned.get("node_config").filter(|v| !v.is_null()) {
        let c = Attrs::new(&block, "node_config");
        machine_type = c.string("machine_type")?;
        disk_size_gb = c.count("disk_size_gb")?;
        labels = c.string_map("labels")?;
        for (i, t) in c.blocks("taint").into_iter().enumerate() {
            let at = format!("node_config.taint[{i}]");
            let t = Attrs::new(t, &at);
            taints.push(Taint {
                key: t.required_string("key")?,
                value: t.string("value")?.unwrap_or_default(),
                effect: t.required_string("effect")?.to_ascii_uppercase(),
            });
        }
    }
    Ok(Desired {
        cluster_id,
        node_count: a.count("node_count")?,
        initial_node_count: a.count("initial_node_count")?,
        version: a.string("version")?,
        autoscaling,
        machine_type,
        disk_size_gb,
        labels,
        taints,
        name,
    })
}

fn taints(d: &Desired) -> Vec<NodeTaint> {
    d.taints
        .iter()
        .map(|t| {
            NodeTaint::new()
                .set_key(&t.key)
                .set_value(&t.value)
                .set_effect(Effect::from(t.effect.as_str()))
        })
        .collect()
}

async fn get(api: &Api, id: &str) -> ProviderResult<Option<NodePool>> {
    match api
        .gke(&format!("GET node pool {id}"), || {
            api.gke.get_node_pool().set_name(id).send()
        })
        .await
    {
        Ok(p) => Ok(Some(p)),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

async fn wait(
    api: &Api,
    id: &str,
    op: &Operation,
    ctx: &OperationContext,
    what: &str,
) -> ProviderResult<()> {
    let (project, location, _) = cluster_parts(id)?;
    gke_operation(
        api,
        &operation_name(&project, &location, &op.name),
        ctx,
        what,
    )
    .await
}

pub(crate) async fn create(
    api: &Api,
    planned: &Value,
    ctx: &OperationContext,
) -> ProviderResult<ResourceObject> {
    let d = desired(api, planned)?;
    let id = d.id();
    if get(api, &id).await?.is_some() {
        return Err(ProviderError::new(
            ErrorKind::Conflict,
            format!("node pool {:?} already exists in {}", d.name, d.cluster_id),
        )
        .with_hint("choose another name, or import the existing pool into state"));
    }
    let count = d
        .node_count
        .or(d.initial_node_count)
        .or(d.autoscaling.map(|(min, _)| min.max(1)))
        .unwrap_or(1);
    let mut config = NodeConfig::new().set_taints(taints(&d));
    if let Some(m) = &d.machine_type {
        config = config.set_machine_type(m);
    }
    if let Some(s) = d.disk_size_gb {
        config = config.set_disk_size_gb(s as i32);
    }
    if let Some(l) = &d.labels {
        config = config.set_labels(l.clone());
    }
    let mut pool = NodePool::new()
        .set_name(&d.name)
        .set_initial_node_count(count as i32)
        .set_config(config);
    if let Some(v) = &d.version {
        pool = pool.set_version(v);
    }
    if let Some((min, max)) = d.autoscaling {
        pool = pool.set_autoscaling(
            NodePoolAutoscaling::new()
                .set_enabled(true)
                .set_min_node_count(min as i32)
                .set_max_node_count(max as i32),
        );
    }
    let what = format!("creating node pool {:?}", d.name);
    let op = api
        .gke_create(
            &what,
            || {
                api.gke
                    .create_node_pool()
                    .set_parent(&d.cluster_id)
                    .set_node_pool(pool.clone())
                    .send()
            },
            || async { Ok(get(api, &id).await?.is_some()) },
        )
        .await?;
    let partial = |e: ProviderError| {
        e.with_partial(ResourceObject {
            id: id.clone(),
            attributes: attrs::without_unknowns(planned.clone()),
        })
    };
    if let Some(op) = op {
        wait(api, &id, &op, ctx, &what).await.map_err(partial)?;
    } else {
        wait_running(api, &id, ctx, &what).await.map_err(partial)?;
    }
    crate::wait::appeared(api, ctx, &what, || read(api, &id, planned)).await
}

async fn wait_running(
    api: &Api,
    id: &str,
    ctx: &OperationContext,
    what: &str,
) -> ProviderResult<()> {
    let mut waiter = crate::wait::Waiter::new(api, ctx, what.to_string());
    loop {
        match get(api, id).await? {
            Some(p) if p.status.name() == Some("RUNNING") => return Ok(()),
            Some(p) => waiter.pending(p.status.name().unwrap_or("UNKNOWN")).await?,
            None => {
                waiter
                    .not_found_grace(ProviderError::new(
                        ErrorKind::NotFound,
                        format!("{id} not found"),
                    ))
                    .await?
            }
        }
    }
}

pub(crate) async fn read(
    api: &Api,
    id: &str,
    prior: &Value,
) -> ProviderResult<Option<ResourceObject>> {
    let Some(pool) = get(api, id).await? else {
        return Ok(None);
    };
    Ok(Some(ResourceObject {
        attributes: attributes(&pool, id, prior)?,
        id: id.to_string(),
    }))
}

pub(crate) async fn find(api: &Api, planned: &Value) -> ProviderResult<Option<ResourceObject>> {
    let d = desired(api, planned)?;
    read(api, &d.id(), planned).await
}

pub(crate) async fn update(
    api: &Api,
    id: &str,
    prior: &Value,
    planned: &Value,
    ctx: &OperationContext,
) -> ProviderResult<ResourceObject> {
    let d = desired(api, planned)?;
    let before = desired(api, prior)?;
    if d.autoscaling != before.autoscaling {
        let what = format!("changing the autoscaling of node pool {:?}", d.name);
        let scaling = match d.autoscaling {
            Some((min, max)) => NodePoolAutoscaling::new()
                .set_enabled(true)
                .set_min_node_count(min as i32)
                .set_max_node_count(max as i32),
            None => NodePoolAutoscaling::new().set_enabled(false),
        };
        let op = api
            .gke(&what, || {
                api.gke
                    .set_node_pool_autoscaling()
                    .set_name(id)
                    .set_autoscaling(scaling.clone())
                    .send()
            })
            .await?;
        wait(api, id, &op, ctx, &what).await?;
    }
    if let Some(count) = d.node_count.filter(|c| Some(*c) != before.node_count) {
        let what = format!("resizing node pool {:?} to {count} nodes", d.name);
        let op = api
            .gke(&what, || {
                api.gke
                    .set_node_pool_size()
                    .set_name(id)
                    .set_node_count(count as i32)
                    .send()
            })
            .await?;
        wait(api, id, &op, ctx, &what).await?;
    }
    let version_changed = d.version.is_some() && d.version != before.version;
    let machine_changed = d.machine_type.is_some() && d.machine_type != before.machine_type;
    let disk_changed = d.disk_size_gb.is_some() && d.disk_size_gb != before.disk_size_gb;
    let labels_changed =
        d.labels.clone().unwrap_or_default() != before.labels.clone().unwrap_or_default();
    let taints_changed = d.taints != before.taints;
    if version_changed || machine_changed || disk_changed || labels_changed || taints_changed {
        let what = format!("updating node pool {:?}", d.name);
        // GKE applies one kind of change per update call; each is sent on its own.
        let mut requests = Vec::new();
        let base = || api.gke.update_node_pool().set_name(id);
        if version_changed {
            requests.push(("version", d.version.clone().unwrap_or_default()));
        }
        if machine_changed {
            requests.push(("machine_type", d.machine_type.clone().unwrap_or_default()));
        }
        if disk_changed {
            requests.push(("disk", String::new()));
        }
        if labels_changed {
            requests.push(("labels", String::new()));
        }
        if taints_changed {
            requests.push(("taints", String::new()));
        }
        for (kind, value) in requests {
            let op = api
                .gke(&what, || {
                    let call = base();
                    match kind {
                        "version" => call.set_node_version(&value),
                        "machine_type" => call.set_machine_type(&value),
                        "disk" => call.set_disk_size_gb(d.disk_size_gb.unwrap_or_default() as i64),
                        "labels" => call.set_labels(
                            NodeLabels::new().set_labels(d.labels.clone().unwrap_or_default()),
                        ),
                        _ => call.set_taints(NodeTaints::new().set_taints(taints(&d))),
                    }
                    .send()
                })
                .await?;
            wait(api, id, &op, ctx, &what).await?;
        }
    }
    read(api, id, planned).await?.ok_or_else(|| {
        ProviderError::new(
            ErrorKind::NotFound,
            format!("node pool {id} disappeared during the update"),
        )
    })
}

pub(crate) async fn delete(api: &Api, id: &str, ctx: &OperationContext) -> ProviderResult<()> {
    let what = format!("deleting node pool {id}");
    let op = match api
        .gke(&what, || api.gke.delete_node_pool().set_name(id).send())
        .await
    {
        Ok(op) => op,
        Err(e) if e.kind == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    wait(api, id, &op, ctx, &what).await
}

fn attributes(pool: &NodePool, id: &str, prior: &Value) -> ProviderResult<Value> {
    let (project, location, cluster) = cluster_parts(id)?;
    let p = Attrs::new(prior, GKE_NODE_POOL);
    let carried = |name: &str| attrs::known(p.raw(name)).unwrap_or(Value::Null);
    let autoscaling = pool
        .autoscaling
        .as_ref()
        .filter(|a| a.enabled)
        .map(|a| {
            Value::map([
                ("min_node_count", attrs::number(a.min_node_count as i64)),
                ("max_node_count", attrs::number(a.max_node_count as i64)),
            ])
        })
        .unwrap_or(Value::Null);
    let prior_config = prior
        .get("node_config")
        .filter(|v| !v.is_null())
        .unwrap_or(Value::Null);
    // Shown only when configured, as GKE fills in defaults for every pool.
    let node_config = match pool.config.as_ref().filter(|_| !prior_config.is_null()) {
        Some(c) => {
            let labels: BTreeMap<String, String> = c
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let taints: Vec<Value> = c
                .taints
                .iter()
                .map(|t| {
                    Value::map([
                        ("key", Value::from(t.key.as_str())),
                        ("value", attrs::string(&t.value)),
                        (
                            "effect",
                            Value::from(t.effect.name().unwrap_or("EFFECT_UNSPECIFIED")),
                        ),
                    ])
                })
                .collect();
            let prior_labels = prior_config.get("labels").unwrap_or(Value::Null);
            let prior_taints = prior_config.get("taint").unwrap_or(Value::Null);
            Value::map([
                ("machine_type", attrs::string(&c.machine_type)),
                ("disk_size_gb", attrs::number(c.disk_size_gb as i64)),
                (
                    "labels",
                    attrs::unless_unset(attrs::string_map(&labels), &prior_labels),
                ),
                (
                    "taint",
                    attrs::unless_unset(Value::List(taints), &prior_taints),
                ),
            ])
        }
        None => Value::Null,
    };
    // The cluster is named the way the configuration named it (name or id).
    let cluster_attr = attrs::known(p.raw("cluster")).unwrap_or_else(|| {
        Value::from(format!(
            "projects/{project}/locations/{location}/clusters/{cluster}"
        ))
    });
    Ok(Value::map([
        ("id", Value::from(id)),
        ("name", Value::from(pool.name.as_str())),
        ("cluster", cluster_attr),
        ("location", Value::from(location.as_str())),
        ("project", Value::from(project.as_str())),
        ("initial_node_count", carried("initial_node_count")),
        // The pool's size per zone: GKE keeps it in initialNodeCount as setSize changes it.
        ("node_count", attrs::number(pool.initial_node_count as i64)),
        ("version", attrs::string(&pool.version)),
        ("autoscaling", autoscaling),
        ("node_config", node_config),
        (
            "status",
            Value::from(pool.status.name().unwrap_or("UNKNOWN")),
        ),
        (
            "instance_group_urls",
            attrs::strings(&pool.instance_group_urls),
        ),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_enum_values_and_absent_fields_read_leniently() {
        // A status a newer API added, and a pool answered with no config or autoscaling.
        let pool: NodePool = serde_json::from_value(serde_json::json!({
            "name": "np",
            "status": 42,
            "initialNodeCount": 3,
        }))
        .unwrap();
        let id = "projects/p/locations/l/clusters/c/nodePools/np";
        let prior = Value::map([
            ("name", Value::from("np")),
            ("cluster", Value::from("c")),
            ("node_config", Value::map([("labels", Value::Null)])),
        ]);
        let a = attributes(&pool, id, &prior).unwrap();
        assert_eq!(a.get("status"), Some(Value::from("UNKNOWN")));
        assert_eq!(a.get("node_count"), Some(Value::Number(3.0)));
        assert_eq!(a.get("autoscaling"), Some(Value::Null));
        assert_eq!(a.get("node_config"), Some(Value::Null));
        assert_eq!(a.get("version"), Some(Value::Null));
        assert_eq!(a.get("cluster"), Some(Value::from("c")));
    }
}
