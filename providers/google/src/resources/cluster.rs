//! `google_gke_cluster`: create (then, if asked, drop the default node pool), read with a
//! kubeconfig computed from the provider's own credentials, in-place control plane upgrades,
//! release channel and label changes, delete.

use super::{cluster_parts, operation_name};
use crate::api::Api;
use crate::attrs::{self, Attrs};
use crate::kubeconfig;
use crate::schema::GKE_CLUSTER;
use crate::wait::gke_operation;
use google_cloud_container_v1::model::{
    release_channel::Channel, Cluster, ClusterUpdate, NodePool, Operation, ReleaseChannel,
};

/// The node pool GKE creates with a cluster, removed when `remove_default_node_pool` is set.
const DEFAULT_POOL: &str = "default-pool";
use std::collections::BTreeMap;
use strata_core::provider::{
    ErrorKind, OperationContext, ProviderError, ProviderResult, ResourceObject,
};
use strata_core::Value;

/// What the configuration asks for.
struct Desired {
    project: String,
    location: String,
    name: String,
    network: Option<String>,
    subnetwork: Option<String>,
    min_master_version: Option<String>,
    initial_node_count: u32,
    remove_default_node_pool: bool,
    resource_labels: BTreeMap<String, String>,
    channel: Option<String>,
}

fn desired(api: &Api, planned: &Value) -> ProviderResult<Desired> {
    let a = Attrs::new(planned, GKE_CLUSTER);
    let name = a.required_string("name")?;
    let channel = match planned.get("release_channel") {
        Some(block) if !block.is_null() => {
            Attrs::new(&block, "release_channel").string("channel")?
        }
        _ => None,
    };
    Ok(Desired {
        project: api
            .settings
            .project_for(a.string("project")?, &format!("{GKE_CLUSTER} {name:?}"))?,
        location: a.required_string("location")?,
        network: a.string("network")?,
        subnetwork: a.string("subnetwork")?,
        min_master_version: a.string("min_master_version")?,
        initial_node_count: a.count("initial_node_count")?.unwrap_or(1).max(1),
        remove_default_node_pool: a.bool("remove_default_node_pool")?.unwrap_or(false),
        resource_labels: a.string_map("resource_labels")?.unwrap_or_default(),
        channel: channel.map(|c| c.to_ascii_uppercase()),
        name,
    })
}

fn id_of(project: &str, location: &str, name: &str) -> String {
    format!("projects/{project}/locations/{location}/clusters/{name}")
}

/// The cluster, or `None` when the API says it does not exist.
pub(crate) async fn get(api: &Api, id: &str) -> ProviderResult<Option<Cluster>> {
    match api
        .gke(&format!("GET cluster {id}"), || {
            api.gke.get_cluster().set_name(id).send()
        })
        .await
    {
        Ok(c) => Ok(Some(c)),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

pub(crate) async fn create(
    api: &Api,
    planned: &Value,
    ctx: &OperationContext,
) -> ProviderResult<ResourceObject> {
    let d = desired(api, planned)?;
    let id = id_of(&d.project, &d.location, &d.name);
    if get(api, &id).await?.is_some() {
        return Err(ProviderError::new(
            ErrorKind::Conflict,
            format!(
                "a GKE cluster {:?} already exists in {}/{}",
                d.name, d.project, d.location
            ),
        )
        .with_hint("choose another name, or import the existing cluster into state"));
    }
    // The default pool is declared explicitly (the cluster-level initialNodeCount is deprecated).
    let mut cluster = Cluster::new()
        .set_name(&d.name)
        .set_node_pools([NodePool::new()
            .set_name(DEFAULT_POOL)
            .set_initial_node_count(d.initial_node_count as i32)])
        .set_resource_labels(d.resource_labels.clone());
    if let Some(n) = &d.network {
        cluster = cluster.set_network(n);
    }
    if let Some(s) = &d.subnetwork {
        cluster = cluster.set_subnetwork(s);
    }
    if let Some(v) = &d.min_master_version {
        cluster = cluster.set_initial_cluster_version(v);
    }
    if let Some(c) = &d.channel {
        cluster = cluster
            .set_release_channel(ReleaseChannel::new().set_channel(Channel::from(c.as_str())));
    }
    let parent = format!("projects/{}/locations/{}", d.project, d.location);
    let what = format!("creating GKE cluster {:?}", d.name);
    let op = api
        .gke_create(
            &what,
            || {
                api.gke
                    .create_cluster()
                    .set_parent(&parent)
                    .set_cluster(cluster.clone())
                    .send()
            },
            || async { Ok(get(api, &id).await?.is_some()) },
        )
        .await?;
    let partial = |api_err: ProviderError| {
        api_err.with_partial(ResourceObject {
            id: id.clone(),
            attributes: attrs::without_unknowns(planned.clone()),
        })
    };
    match op {
        Some(op) => wait(api, &d.project, &d.location, &op, ctx, &what)
            .await
            .map_err(partial)?,
        // Adopted after an ambiguous failure: wait for the cluster itself.
        None => wait_running(api, &id, ctx, &what).await.map_err(partial)?,
    }
    if d.remove_default_node_pool {
        remove_default_pool(api, &d, ctx).await.map_err(partial)?;
    }
    let cluster = crate::wait::appeared(api, ctx, &what, || get(api, &id)).await?;
    Ok(ResourceObject {
        attributes: attributes(api, &cluster, &id, planned).await?,
        id,
    })
}

async fn remove_default_pool(api: &Api, d: &Desired, ctx: &OperationContext) -> ProviderResult<()> {
    let pool = format!(
        "{}/nodePools/{DEFAULT_POOL}",
        id_of(&d.project, &d.location, &d.name)
    );
    let what = format!("removing the default node pool of GKE cluster {:?}", d.name);
    let op = match api
        .gke(&what, || api.gke.delete_node_pool().set_name(&pool).send())
        .await
    {
        Ok(op) => op,
        Err(e) if e.kind == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    wait(api, &d.project, &d.location, &op, ctx, &what).await
}

pub(crate) async fn wait(
    api: &Api,
    project: &str,
    location: &str,
    op: &Operation,
    ctx: &OperationContext,
    what: &str,
) -> ProviderResult<()> {
    gke_operation(api, &operation_name(project, location, &op.name), ctx, what).await
}

/// Polls the cluster until it is RUNNING (used when a create was adopted, so there is no
/// operation to follow).
async fn wait_running(
    api: &Api,
    id: &str,
    ctx: &OperationContext,
    what: &str,
) -> ProviderResult<()> {
    let mut waiter = crate::wait::Waiter::new(api, ctx, what.to_string());
    loop {
        match get(api, id).await? {
            Some(c) if c.status.name() == Some("RUNNING") => return Ok(()),
            Some(c) => {
                let status = c.status.name().unwrap_or("UNKNOWN").to_string();
                waiter.pending(&status).await?
            }
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
    cluster_parts(id)?;
    let Some(cluster) = get(api, id).await? else {
        return Ok(None);
    };
    Ok(Some(ResourceObject {
        attributes: attributes(api, &cluster, id, prior).await?,
        id: id.to_string(),
    }))
}

pub(crate) async fn find(api: &Api, planned: &Value) -> ProviderResult<Option<ResourceObject>> {
    let d = desired(api, planned)?;
    let id = id_of(&d.project, &d.location, &d.name);
    read(api, &id, planned).await
}

pub(crate) async fn update(
    api: &Api,
    id: &str,
    prior: &Value,
    planned: &Value,
    ctx: &OperationContext,
) -> ProviderResult<ResourceObject> {
    let (project, location, _) = cluster_parts(id)?;
    let d = desired(api, planned)?;
    let before = Attrs::new(prior, GKE_CLUSTER);
    if d.min_master_version.is_some()
        && d.min_master_version != before.string("min_master_version")?
    {
        let version = d.min_master_version.clone().unwrap_or_default();
        let what = format!(
            "upgrading the control plane of GKE cluster {:?} to {version}",
            d.name
        );
        let op = api
            .gke(&what, || {
                api.gke
                    .update_master()
                    .set_name(id)
                    .set_master_version(&version)
                    .send()
            })
            .await?;
        wait(api, &project, &location, &op, ctx, &what).await?;
    }
    let prior_channel = prior
        .get("release_channel")
        .filter(|b| !b.is_null())
        .and_then(|b| b.get("channel"))
        .and_then(|c| c.as_str().map(str::to_ascii_uppercase));
    if d.channel.is_some() && d.channel != prior_channel {
        let channel = d.channel.clone().unwrap_or_default();
        let what = format!("moving GKE cluster {:?} to the {channel} channel", d.name);
        let update = ClusterUpdate::new().set_desired_release_channel(
            ReleaseChannel::new().set_channel(Channel::from(channel.as_str())),
        );
        let op = api
            .gke(&what, || {
                api.gke
                    .update_cluster()
                    .set_name(id)
                    .set_update(update.clone())
                    .send()
            })
            .await?;
        wait(api, &project, &location, &op, ctx, &what).await?;
    }
    if d.resource_labels != before.string_map("resource_labels")?.unwrap_or_default() {
        let what = format!("labelling GKE cluster {:?}", d.name);
        let fingerprint = get(api, id)
            .await?
            .map(|c| c.label_fingerprint)
            .unwrap_or_default();
        let op = api
            .gke(&what, || {
                api.gke
                    .set_labels()
                    .set_name(id)
                    .set_resource_labels(d.resource_labels.clone())
                    .set_label_fingerprint(&fingerprint)
                    .send()
            })
            .await?;
        wait(api, &project, &location, &op, ctx, &what).await?;
    }
    read(api, id, planned).await?.ok_or_else(|| {
        ProviderError::new(
            ErrorKind::NotFound,
            format!("GKE cluster {id} disappeared during the update"),
        )
    })
}

pub(crate) async fn delete(api: &Api, id: &str, ctx: &OperationContext) -> ProviderResult<()> {
    let (project, location, name) = cluster_parts(id)?;
    let what = format!("deleting GKE cluster {name:?}");
    let op = match api
        .gke(&what, || api.gke.delete_cluster().set_name(id).send())
        .await
    {
        Ok(op) => op,
        Err(e) if e.kind == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    wait(api, &project, &location, &op, ctx, &what).await
}

/// What the cloud says, in the schema's terms. Attributes the API does not echo (versions
/// asked for, creation-only settings) are carried over from `prior`.
async fn attributes(api: &Api, c: &Cluster, id: &str, prior: &Value) -> ProviderResult<Value> {
    let (project, location, _) = cluster_parts(id)?;
    let p = Attrs::new(prior, GKE_CLUSTER);
    let carried = |name: &str| attrs::known(p.raw(name)).unwrap_or(Value::Null);
    let labels: BTreeMap<String, String> = c
        .resource_labels
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let channel = c
        .release_channel
        .as_ref()
        .and_then(|r| r.channel.name().map(str::to_string))
        .filter(|n| n != "UNSPECIFIED");
    // Shown only when configured: GKE enrols clusters in REGULAR by default.
    let release_channel = match (
        prior.get("release_channel").filter(|v| !v.is_null()),
        channel,
    ) {
        (Some(_), Some(ch)) => Value::map([("channel", Value::from(ch))]),
        (Some(b), None) => attrs::known(&b).unwrap_or(Value::Null),
        (None, _) => Value::Null,
    };
    let ca = c
        .master_auth
        .as_ref()
        .map(|m| m.cluster_ca_certificate.clone())
        .unwrap_or_default();
    let kubeconfig = if c.endpoint.is_empty() {
        Value::Null
    } else {
        let token = api.identity.access_token().await?;
        Value::from(kubeconfig::render(
            &project,
            &location,
            &c.name,
            &c.endpoint,
            &ca,
            &token,
        ))
        .sensitive()
    };
    Ok(Value::map([
        ("id", Value::from(id)),
        ("name", Value::from(c.name.as_str())),
        (
            "location",
            Value::from(if c.location.is_empty() {
                location.as_str()
            } else {
                c.location.as_str()
            }),
        ),
        ("project", Value::from(project.as_str())),
        ("network", attrs::string(&c.network)),
        ("subnetwork", attrs::string(&c.subnetwork)),
        ("min_master_version", carried("min_master_version")),
        ("initial_node_count", carried("initial_node_count")),
        (
            "remove_default_node_pool",
            carried("remove_default_node_pool"),
        ),
        (
            "resource_labels",
            attrs::unless_unset(attrs::string_map(&labels), p.raw("resource_labels")),
        ),
        ("release_channel", release_channel),
        ("endpoint", attrs::string(&c.endpoint)),
        ("master_version", attrs::string(&c.current_master_version)),
        ("cluster_ca_certificate", attrs::string(&ca)),
        ("self_link", attrs::string(&c.self_link)),
        ("status", Value::from(c.status.name().unwrap_or("UNKNOWN"))),
        ("kubeconfig", kubeconfig),
    ]))
}
