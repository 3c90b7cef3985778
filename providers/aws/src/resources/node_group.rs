//! `aws_eks_node_group`: CreateNodegroup, DescribeNodegroup, UpdateNodegroupVersion,
//! UpdateNodegroupConfig, TagResource/UntagResource and DeleteNodegroup. Its id is
//! `CLUSTER:NODE_GROUP`, as in Terraform.

use crate::attrs::{object, request_token, string_list, string_map, tags_value, Attrs};
use crate::call::{call, Failure, Safety};
use crate::provider::Aws;
use crate::resources::cluster::{retag, wait_update};
use crate::resources::planned_string;
use crate::schema::EKS_NODE_GROUP;
use crate::wait::Waiter;
use aws_sdk_eks::types::{
    AmiTypes, CapacityTypes, Nodegroup, NodegroupScalingConfig, UpdateLabelsPayload,
};
use std::collections::{BTreeMap, HashMap};
use strata_core::provider::{
    ErrorKind, OperationContext, ProviderError, ProviderResult, ResourceObject,
};
use strata_core::Value;

fn what(cluster: &str, name: &str) -> String {
    format!("EKS node group {name:?} of cluster {cluster:?}")
}

fn split_id(id: &str) -> ProviderResult<(&str, &str)> {
    id.split_once(':').ok_or_else(|| {
        ProviderError::new(
            ErrorKind::InvalidConfig,
            format!("{id:?} is not a node group id; expected CLUSTER:NODE_GROUP"),
        )
    })
}

async fn describe(aws: &Aws, cluster: &str, name: &str) -> Result<Option<Nodegroup>, Failure> {
    let eks = &aws.clients.eks;
    match call(&aws.settings.retry, Safety::Idempotent, || {
        eks.describe_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .send()
    })
    .await
    {
        Ok(out) => Ok(out.nodegroup),
        Err(f) if f.is_not_found() => Ok(None),
        Err(f) => Err(f),
    }
}

fn status(n: &Nodegroup) -> String {
    n.status()
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|| "UNKNOWN".into())
}

/// Reads the `scaling_config` block.
fn scaling(a: &Attrs) -> ProviderResult<NodegroupScalingConfig> {
    let s = a.block("scaling_config").ok_or_else(|| {
        ProviderError::new(
            ErrorKind::InvalidConfig,
            format!(
                "{EKS_NODE_GROUP}.scaling_config is required (desired_size, min_size, max_size)"
            ),
        )
    })?;
    let (desired, min, max) = (
        s.required_int("desired_size")?,
        s.required_int("min_size")?,
        s.required_int("max_size")?,
    );
    if min < 0 || max < 1 || min > max || desired < min || desired > max {
        return Err(ProviderError::new(
            ErrorKind::InvalidConfig,
            format!(
                "{EKS_NODE_GROUP}.scaling_config needs 0 <= min_size <= desired_size <= max_size and max_size >= 1; found min {min}, desired {desired}, max {max}"
            ),
        ));
    }
    Ok(NodegroupScalingConfig::builder()
        .desired_size(desired)
        .min_size(min)
        .max_size(max)
        .build())
}

pub(crate) async fn create(
    aws: &Aws,
    planned: &Value,
    ctx: &OperationContext,
) -> ProviderResult<ResourceObject> {
    let a = Attrs::new(planned, EKS_NODE_GROUP);
    let cluster = a.required_string("cluster_name")?;
    let name = a.required_string("node_group_name")?;
    let role = a.required_string("node_role_arn")?;
    let subnets = a.strings("subnet_ids")?.unwrap_or_default();
    let scaling = scaling(&a)?;
    let labels: Option<HashMap<String, String>> =
        a.string_map("labels")?.map(|m| m.into_iter().collect());
    let tags: Option<HashMap<String, String>> =
        a.string_map("tags")?.map(|m| m.into_iter().collect());
    let token = request_token(&[
        EKS_NODE_GROUP,
        "create",
        &cluster,
        &name,
        &role,
        &subnets.join(","),
    ]);
    let eks = &aws.clients.eks;
    let (instance_types, disk_size, ami_type, capacity_type, version, release) = (
        a.strings("instance_types")?,
        a.int("disk_size")?,
        a.string("ami_type")?,
        a.string("capacity_type")?,
        a.string("version")?,
        a.string("release_version")?,
    );
    // EKS refuses a node group while its cluster is being created or updated.
    crate::resources::cluster::wait_active(aws, &cluster, ctx).await?;
    call(&aws.settings.retry, Safety::Idempotent, || {
        eks.create_nodegroup()
            .cluster_name(&cluster)
            .nodegroup_name(&name)
            .node_role(&role)
            .set_subnets(Some(subnets.clone()))
            .scaling_config(scaling.clone())
            .set_instance_types(instance_types.clone())
            .set_disk_size(disk_size)
            .set_ami_type(ami_type.as_deref().map(AmiTypes::from))
            .set_capacity_type(capacity_type.as_deref().map(CapacityTypes::from))
            .set_version(version.clone())
            .set_release_version(release.clone())
            .set_labels(labels.clone())
            .set_tags(tags.clone())
            .client_request_token(&token)
            .send()
    })
    .await
    .map_err(|f| f.into_error(&format!("creating {}", what(&cluster, &name))))?;
    let waited = wait_active(aws, &cluster, &name, ctx).await;
    let id = format!("{cluster}:{name}");
    match (waited, read(aws, &id, planned).await) {
        (Ok(()), Ok(Some(obj))) => Ok(obj),
        (Ok(()), Ok(None)) => Err(ProviderError::new(
            ErrorKind::NotFound,
            format!(
                "{} disappeared right after it became ACTIVE",
                what(&cluster, &name)
            ),
        )),
        (Err(e), Ok(Some(obj))) => Err(e.with_partial(obj)),
        (Err(e), _) | (Ok(()), Err(e)) => Err(e),
    }
}

async fn wait_active(
    aws: &Aws,
    cluster: &str,
    name: &str,
    ctx: &OperationContext,
) -> ProviderResult<()> {
    let mut waiter = Waiter::new(&aws.settings, ctx, what(cluster, name));
    loop {
        match describe(aws, cluster, name).await {
            Ok(Some(n)) => match status(&n).as_str() {
                "ACTIVE" => {
                    waiter.report("ACTIVE");
                    return Ok(());
                }
                failed @ ("CREATE_FAILED" | "DELETE_FAILED" | "DEGRADED") => {
                    let issues: Vec<String> = n
                        .health()
                        .map(|h| {
                            h.issues()
                                .iter()
                                .filter_map(|i| i.message().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default();
                    return Err(ProviderError::new(
                        ErrorKind::Api,
                        format!(
                            "{} is {failed}: {}",
                            what(cluster, name),
                            if issues.is_empty() {
                                "no issue reported".into()
                            } else {
                                issues.join("; ")
                            }
                        ),
                    ));
                }
                other => waiter.pending(other).await?,
            },
            Ok(None) => {
                waiter
                    .not_found_grace(ProviderError::new(
                        ErrorKind::NotFound,
                        format!("{} does not exist", what(cluster, name)),
                    ))
                    .await?
            }
            Err(f) => return Err(f.into_error(&format!("reading {}", what(cluster, name)))),
        }
    }
}

pub(crate) async fn read(
    aws: &Aws,
    id: &str,
    prior: &Value,
) -> ProviderResult<Option<ResourceObject>> {
    let (cluster, name) = split_id(id)?;
    let Some(n) = describe(aws, cluster, name)
        .await
        .map_err(|f| f.into_error(&format!("reading {}", what(cluster, name))))?
    else {
        return Ok(None);
    };
    let opt = |v: Option<&str>| v.map(Value::from).unwrap_or(Value::Null);
    let map = |m: Option<&HashMap<String, String>>| -> BTreeMap<String, String> {
        m.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    };
    let mut attrs = BTreeMap::new();
    attrs.insert("id".into(), Value::from(id));
    attrs.insert(
        "cluster_name".into(),
        Value::from(n.cluster_name().unwrap_or(cluster)),
    );
    attrs.insert(
        "node_group_name".into(),
        Value::from(n.nodegroup_name().unwrap_or(name)),
    );
    attrs.insert("node_role_arn".into(), opt(n.node_role()));
    attrs.insert("subnet_ids".into(), string_list(n.subnets()));
    attrs.insert("instance_types".into(), string_list(n.instance_types()));
    attrs.insert(
        "disk_size".into(),
        n.disk_size()
            .map(|d| Value::from(i64::from(d)))
            .unwrap_or(Value::Null),
    );
    attrs.insert("ami_type".into(), opt(n.ami_type().map(|t| t.as_str())));
    attrs.insert(
        "capacity_type".into(),
        opt(n.capacity_type().map(|t| t.as_str())),
    );
    attrs.insert("version".into(), opt(n.version()));
    attrs.insert("release_version".into(), opt(n.release_version()));
    attrs.insert(
        "labels".into(),
        tags_value(
            &map(n.labels()),
            &prior.get("labels").unwrap_or(Value::Null),
        ),
    );
    attrs.insert(
        "tags".into(),
        tags_value(&map(n.tags()), &prior.get("tags").unwrap_or(Value::Null)),
    );
    if let Some(s) = n.scaling_config() {
        let num = |v: Option<i32>| v.map(|n| Value::from(i64::from(n))).unwrap_or(Value::Null);
        attrs.insert(
            "scaling_config".into(),
            Value::map([
                ("desired_size", num(s.desired_size())),
                ("min_size", num(s.min_size())),
                ("max_size", num(s.max_size())),
            ]),
        );
    }
    attrs.insert("arn".into(), opt(n.nodegroup_arn()));
    attrs.insert("status".into(), Value::from(status(&n)));
    Ok(Some(object(EKS_NODE_GROUP, id, attrs)))
}

pub(crate) async fn update(
    aws: &Aws,
    id: &str,
    _prior: &Value,
    planned: &Value,
    ctx: &OperationContext,
) -> ProviderResult<ResourceObject> {
    let (cluster, name) = split_id(id)?;
    let subject = what(cluster, name);
    let a = Attrs::new(planned, EKS_NODE_GROUP);
    let eks = &aws.clients.eks;
    wait_active(aws, cluster, name, ctx).await?;
    let current = || async {
        describe(aws, cluster, name)
            .await
            .map_err(|f| f.into_error(&format!("reading {subject}")))?
            .ok_or_else(|| {
                ProviderError::new(ErrorKind::NotFound, format!("{subject} no longer exists"))
            })
    };
    let now = current().await?;
    // The node group's modification time tells one change apart from a later identical one.
    let stamp = format!("{:?}", now.modified_at());

    let version = a
        .string("version")?
        .filter(|v| Some(v.as_str()) != now.version());
    let release = a
        .string("release_version")?
        .filter(|r| Some(r.as_str()) != now.release_version());
    if version.is_some() || release.is_some() {
        let token = request_token(&[
            EKS_NODE_GROUP,
            "version",
            cluster,
            name,
            &stamp,
            version.as_deref().unwrap_or_default(),
            release.as_deref().unwrap_or_default(),
        ]);
        ctx.report("upgrading nodes");
        let out = call(&aws.settings.retry, Safety::Idempotent, || {
            eks.update_nodegroup_version()
                .cluster_name(cluster)
                .nodegroup_name(name)
                .set_version(version.clone())
                .set_release_version(release.clone())
                .client_request_token(&token)
                .send()
        })
        .await
        .map_err(|f| f.into_error(&format!("upgrading {subject}")))?;
        if let Some(update_id) = out.update.as_ref().and_then(|u| u.id()) {
            wait_update(aws, cluster, Some(name), update_id, &subject, ctx).await?;
        }
        wait_active(aws, cluster, name, ctx).await?;
    }

    let now = current().await?;
    let wanted = scaling(&a)?;
    let scaling_changed = now.scaling_config().is_none_or(|s| {
        s.desired_size() != wanted.desired_size()
            || s.min_size() != wanted.min_size()
            || s.max_size() != wanted.max_size()
    });
    let cloud_labels: BTreeMap<String, String> = now
        .labels()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let wanted_labels = a.string_map("labels")?.unwrap_or_default();
    let add: HashMap<String, String> = wanted_labels
        .iter()
        .filter(|(k, v)| cloud_labels.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let remove: Vec<String> = cloud_labels
        .keys()
        .filter(|k| !wanted_labels.contains_key(*k))
        .cloned()
        .collect();
    if scaling_changed || !add.is_empty() || !remove.is_empty() {
        let labels = (!add.is_empty() || !remove.is_empty()).then(|| {
            UpdateLabelsPayload::builder()
                .set_add_or_update_labels((!add.is_empty()).then(|| add.clone()))
                .set_remove_labels((!remove.is_empty()).then(|| remove.clone()))
                .build()
        });
        let token = request_token(&[
            EKS_NODE_GROUP,
            "config",
            cluster,
            name,
            &format!("{:?}", now.modified_at()),
            &format!(
                "{:?}/{:?}/{:?}",
                wanted.min_size(),
                wanted.desired_size(),
                wanted.max_size()
            ),
            &format!("{:?}", string_map(&wanted_labels)),
        ]);
        ctx.report("scaling");
        let out = call(&aws.settings.retry, Safety::Idempotent, || {
            eks.update_nodegroup_config()
                .cluster_name(cluster)
                .nodegroup_name(name)
                .set_scaling_config(scaling_changed.then(|| wanted.clone()))
                .set_labels(labels.clone())
                .client_request_token(&token)
                .send()
        })
        .await
        .map_err(|f| f.into_error(&format!("changing the size or labels of {subject}")))?;
        if let Some(update_id) = out.update.as_ref().and_then(|u| u.id()) {
            wait_update(aws, cluster, Some(name), update_id, &subject, ctx).await?;
        }
    }

    if let Some(arn) = now.nodegroup_arn() {
        let cloud: BTreeMap<String, String> = now
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        retag(
            aws,
            arn,
            &cloud,
            &a.string_map("tags")?.unwrap_or_default(),
            &subject,
        )
        .await?;
    }
    read(aws, id, planned).await?.ok_or_else(|| {
        ProviderError::new(ErrorKind::NotFound, format!("{subject} no longer exists"))
    })
}

pub(crate) async fn delete(aws: &Aws, id: &str, ctx: &OperationContext) -> ProviderResult<()> {
    let (cluster, name) = split_id(id)?;
    let subject = what(cluster, name);
    let eks = &aws.clients.eks;
    match call(&aws.settings.retry, Safety::Idempotent, || {
        eks.delete_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .send()
    })
    .await
    {
        Ok(_) => {}
        Err(f) if f.is_not_found() => return Ok(()),
        Err(f) => {
            let deleting = matches!(describe(aws, cluster, name).await, Ok(Some(n)) if status(&n) == "DELETING");
            if !deleting {
                return Err(f.into_error(&format!("deleting {subject}")));
            }
        }
    }
    let mut waiter = Waiter::new(&aws.settings, ctx, subject.clone());
    loop {
        match describe(aws, cluster, name).await {
            Ok(None) => return Ok(()),
            Ok(Some(n)) => waiter.pending(&status(&n)).await?,
            Err(f) => return Err(f.into_error(&format!("reading {subject}"))),
        }
    }
}

pub(crate) async fn find(aws: &Aws, planned: &Value) -> ProviderResult<Option<ResourceObject>> {
    let cluster = planned_string(planned, "cluster_name", EKS_NODE_GROUP)?;
    let name = planned_string(planned, "node_group_name", EKS_NODE_GROUP)?;
    read(aws, &format!("{cluster}:{name}"), planned).await
}
