//! `aws_eks_cluster`: CreateCluster, DescribeCluster, UpdateClusterVersion,
//! UpdateClusterConfig, TagResource/UntagResource and DeleteCluster, with the waits between.

use crate::attrs::{object, request_token, string_list, tags_value, Attrs};
use crate::call::{call, Failure, Safety};
use crate::provider::Aws;
use crate::resources::{planned_string, timestamp};
use crate::schema::EKS_CLUSTER;
use crate::token;
use crate::wait::Waiter;
use aws_sdk_eks::types::{Cluster, VpcConfigRequest};
use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;
use strata_core::provider::{
    ErrorKind, OperationContext, ProviderError, ProviderResult, ResourceObject,
};
use strata_core::Value;

fn what(name: &str) -> String {
    format!("EKS cluster {name:?}")
}

/// The cluster as EKS describes it; `None` once it is gone.
pub(crate) async fn describe(aws: &Aws, name: &str) -> Result<Option<Cluster>, Failure> {
    let eks = &aws.clients.eks;
    match call(&aws.settings.retry, Safety::Idempotent, || {
        eks.describe_cluster().name(name).send()
    })
    .await
    {
        Ok(out) => Ok(out.cluster),
        Err(f) if f.is_not_found() => Ok(None),
        Err(f) => Err(f),
    }
}

fn status(c: &Cluster) -> String {
    c.status()
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|| "UNKNOWN".into())
}

pub(crate) async fn create(
    aws: &Aws,
    planned: &Value,
    ctx: &OperationContext,
) -> ProviderResult<ResourceObject> {
    let a = Attrs::new(planned, EKS_CLUSTER);
    let name = a.required_string("name")?;
    let role_arn = a.required_string("role_arn")?;
    let version = a.string("version")?;
    let vpc = a.block("vpc_config").ok_or_else(|| {
        ProviderError::new(
            ErrorKind::InvalidConfig,
            format!("{EKS_CLUSTER}.vpc_config is required (subnet_ids at least)"),
        )
    })?;
    let subnets = vpc.strings("subnet_ids")?.unwrap_or_default();
    let vpc_request = VpcConfigRequest::builder()
        .set_subnet_ids(Some(subnets.clone()))
        .set_security_group_ids(vpc.strings("security_group_ids")?)
        .set_endpoint_public_access(vpc.bool("endpoint_public_access")?)
        .set_endpoint_private_access(vpc.bool("endpoint_private_access")?)
        .build();
    let tags: Option<HashMap<String, String>> =
        a.string_map("tags")?.map(|t| t.into_iter().collect());
    let token = request_token(&[
        EKS_CLUSTER,
        "create",
        &name,
        &role_arn,
        version.as_deref().unwrap_or_default(),
        &subnets.join(","),
    ]);
    let eks = &aws.clients.eks;
    call(&aws.settings.retry, Safety::Idempotent, || {
        eks.create_cluster()
            .name(&name)
            .role_arn(&role_arn)
            .set_version(version.clone())
            .resources_vpc_config(vpc_request.clone())
            .set_tags(tags.clone())
            .client_request_token(&token)
            .send()
    })
    .await
    .map_err(|f| f.into_error(&format!("creating {}", what(&name))))?;
    let waited = wait_active(aws, &name, ctx).await;
    let read = read(aws, &name, planned).await;
    match (waited, read) {
        (Ok(()), Ok(Some(obj))) => Ok(obj),
        (Ok(()), Ok(None)) => Err(ProviderError::new(
            ErrorKind::NotFound,
            format!("{} disappeared right after it became ACTIVE", what(&name)),
        )),
        (Err(e), Ok(Some(obj))) => Err(e.with_partial(obj)),
        (Err(e), _) | (Ok(()), Err(e)) => Err(e),
    }
}

/// Waits until the cluster is ACTIVE, reporting its status; a cluster that failed is an error.
pub(crate) async fn wait_active(
    aws: &Aws,
    name: &str,
    ctx: &OperationContext,
) -> ProviderResult<()> {
    let mut waiter = Waiter::new(&aws.settings, ctx, what(name));
    loop {
        match describe(aws, name).await {
            Ok(Some(c)) => match status(&c).as_str() {
                "ACTIVE" => {
                    waiter.report("ACTIVE");
                    return Ok(());
                }
                "FAILED" => return Err(ProviderError::new(
                    ErrorKind::Api,
                    format!("{} FAILED to create", what(name)),
                )
                .with_hint(
                    "see the cluster's health issues in the EKS console; delete it and apply again",
                )),
                "DELETING" => {
                    return Err(ProviderError::new(
                        ErrorKind::Conflict,
                        format!("{} is being deleted", what(name)),
                    ))
                }
                // CREATING, UPDATING, PENDING and any state this code does not know yet.
                other => waiter.pending(other).await?,
            },
            Ok(None) => {
                waiter
                    .not_found_grace(ProviderError::new(
                        ErrorKind::NotFound,
                        format!("{} does not exist", what(name)),
                    ))
                    .await?
            }
            Err(f) => return Err(f.into_error(&format!("reading {}", what(name)))),
        }
    }
}

pub(crate) async fn read(
    aws: &Aws,
    name: &str,
    prior: &Value,
) -> ProviderResult<Option<ResourceObject>> {
    let Some(c) = describe(aws, name)
        .await
        .map_err(|f| f.into_error(&format!("reading {}", what(name))))?
    else {
        return Ok(None);
    };
    let prior_attrs = Attrs::new(prior, EKS_CLUSTER);
    let prior_vpc = prior_attrs.block("vpc_config");
    let mut vpc = BTreeMap::new();
    if let Some(v) = c.resources_vpc_config() {
        vpc.insert("subnet_ids".into(), string_list(v.subnet_ids()));
        let groups = v.security_group_ids();
        let configured = prior_vpc
            .and_then(|p| p.strings("security_group_ids").ok().flatten())
            .is_some();
        vpc.insert(
            "security_group_ids".into(),
            if groups.is_empty() && !configured {
                Value::Null
            } else {
                string_list(groups)
            },
        );
        vpc.insert(
            "endpoint_public_access".into(),
            Value::Bool(v.endpoint_public_access()),
        );
        vpc.insert(
            "endpoint_private_access".into(),
            Value::Bool(v.endpoint_private_access()),
        );
        vpc.insert(
            "cluster_security_group_id".into(),
            v.cluster_security_group_id()
                .map(Value::from)
                .unwrap_or(Value::Null),
        );
        vpc.insert(
            "vpc_id".into(),
            v.vpc_id().map(Value::from).unwrap_or(Value::Null),
        );
    }
    let cloud_tags: BTreeMap<String, String> = c
        .tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let configured_tags = prior.get("tags").unwrap_or(Value::Null);
    let ca = c.certificate_authority().and_then(|ca| ca.data());
    let endpoint = c.endpoint();
    let mut attrs = BTreeMap::new();
    attrs.insert("id".into(), Value::from(name));
    attrs.insert("name".into(), Value::from(c.name().unwrap_or(name)));
    attrs.insert(
        "role_arn".into(),
        c.role_arn().map(Value::from).unwrap_or(Value::Null),
    );
    attrs.insert(
        "version".into(),
        c.version().map(Value::from).unwrap_or(Value::Null),
    );
    attrs.insert("tags".into(), tags_value(&cloud_tags, &configured_tags));
    attrs.insert("vpc_config".into(), Value::Map(vpc));
    attrs.insert(
        "arn".into(),
        c.arn().map(Value::from).unwrap_or(Value::Null),
    );
    attrs.insert(
        "endpoint".into(),
        endpoint.map(Value::from).unwrap_or(Value::Null),
    );
    attrs.insert("status".into(), Value::from(status(&c)));
    attrs.insert(
        "platform_version".into(),
        c.platform_version().map(Value::from).unwrap_or(Value::Null),
    );
    attrs.insert("created_at".into(), timestamp(c.created_at()));
    attrs.insert(
        "certificate_authority".into(),
        match ca {
            Some(data) => Value::List(vec![Value::map([("data", Value::from(data))])]),
            None => Value::Null,
        },
    );
    let kubeconfig = match endpoint {
        Some(endpoint) => Value::from(kubeconfig(aws, name, endpoint, ca, prior).await?),
        None => Value::Null,
    };
    attrs.insert("kubeconfig".into(), kubeconfig);
    Ok(Some(object(EKS_CLUSTER, name, attrs)))
}

/// The kubeconfig to report: the one in state while its token has more than
/// [`token::TOKEN_RENEWAL`] left and it still points at this endpoint, else a fresh one.
async fn kubeconfig(
    aws: &Aws,
    name: &str,
    endpoint: &str,
    ca: Option<&str>,
    prior: &Value,
) -> ProviderResult<String> {
    let now = SystemTime::now();
    if let Some(previous) = prior
        .get("kubeconfig")
        .and_then(|k| k.as_str().map(str::to_string))
    {
        if let Some(old_token) = token::token_of(&previous) {
            let fresh =
                token::expiry(&old_token).is_some_and(|end| end > now + token::TOKEN_RENEWAL);
            if fresh && token::kubeconfig(name, endpoint, ca, &old_token) == previous {
                return Ok(previous);
            }
        }
    }
    let credentials = aws.clients.credentials().await?;
    let token = token::token(credentials, &aws.clients.region, name, now)?;
    Ok(token::kubeconfig(name, endpoint, ca, &token))
}

/// Follows an update until it succeeds; a failed or cancelled one is an error naming why.
pub(crate) async fn wait_update(
    aws: &Aws,
    cluster: &str,
    nodegroup: Option<&str>,
    update_id: &str,
    subject: &str,
    ctx: &OperationContext,
) -> ProviderResult<()> {
    let mut waiter = Waiter::new(
        &aws.settings,
        ctx,
        format!("the update {update_id} of {subject}"),
    );
    let eks = &aws.clients.eks;
    loop {
        let answer = call(&aws.settings.retry, Safety::Idempotent, || {
            eks.describe_update()
                .name(cluster)
                .update_id(update_id)
                .set_nodegroup_name(nodegroup.map(str::to_string))
                .send()
        })
        .await;
        match answer {
            Ok(out) => {
                let Some(update) = out.update else {
                    waiter.pending("pending").await?;
                    continue;
                };
                let status = update
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_else(|| "InProgress".into());
                match status.as_str() {
                    "Successful" => {
                        waiter.report("Successful");
                        return Ok(());
                    }
                    "Failed" | "Cancelled" => {
                        let reasons: Vec<String> = update
                            .errors()
                            .iter()
                            .filter_map(|e| e.error_message().map(str::to_string))
                            .collect();
                        return Err(ProviderError::new(
                            ErrorKind::Api,
                            format!(
                                "the update of {subject} {}: {}",
                                status.to_lowercase(),
                                if reasons.is_empty() {
                                    "no reason given".into()
                                } else {
                                    reasons.join("; ")
                                }
                            ),
                        ));
                    }
                    other => waiter.pending(&format!("UPDATING ({other})")).await?,
                }
            }
            Err(f) if f.is_not_found() => {
                waiter
                    .not_found_grace(f.into_error(&format!("following the update of {subject}")))
                    .await?
            }
            Err(f) => return Err(f.into_error(&format!("following the update of {subject}"))),
        }
    }
}

pub(crate) async fn update(
    aws: &Aws,
    name: &str,
    prior: &Value,
    planned: &Value,
    ctx: &OperationContext,
) -> ProviderResult<ResourceObject> {
    let a = Attrs::new(planned, EKS_CLUSTER);
    let eks = &aws.clients.eks;
    // An update made while another runs is refused: start from a settled cluster.
    wait_active(aws, name, ctx).await?;
    let current = describe(aws, name)
        .await
        .map_err(|f| f.into_error(&format!("reading {}", what(name))))?
        .ok_or_else(|| {
            ProviderError::new(
                ErrorKind::NotFound,
                format!("{} no longer exists", what(name)),
            )
        })?;

    if let Some(version) = a.string("version")? {
        let from = current.version().unwrap_or_default().to_string();
        if version != from {
            let token = request_token(&[EKS_CLUSTER, "version", name, &from, &version]);
            ctx.report(&format!("upgrading to {version}"));
            let out = call(&aws.settings.retry, Safety::Idempotent, || {
                eks.update_cluster_version()
                    .name(name)
                    .version(&version)
                    .client_request_token(&token)
                    .send()
            })
            .await
            .map_err(|f| f.into_error(&format!("upgrading {} to {version}", what(name))))?;
            if let Some(id) = out.update.as_ref().and_then(|u| u.id()) {
                wait_update(aws, name, None, id, &what(name), ctx).await?;
            }
            wait_active(aws, name, ctx).await?;
        }
    }

    if let (Some(vpc), Some(now)) = (a.block("vpc_config"), current.resources_vpc_config()) {
        let public = vpc
            .bool("endpoint_public_access")?
            .filter(|p| *p != now.endpoint_public_access());
        let private = vpc
            .bool("endpoint_private_access")?
            .filter(|p| *p != now.endpoint_private_access());
        let groups = vpc
            .strings("security_group_ids")?
            .filter(|g| g.as_slice() != now.security_group_ids());
        if public.is_some() || private.is_some() || groups.is_some() {
            let request = VpcConfigRequest::builder()
                .set_endpoint_public_access(public)
                .set_endpoint_private_access(private)
                .set_security_group_ids(groups.clone())
                .build();
            let token = request_token(&[
                EKS_CLUSTER,
                "config",
                name,
                &format!("{public:?}/{private:?}/{groups:?}"),
                &format!(
                    "{}/{}",
                    now.endpoint_public_access(),
                    now.endpoint_private_access()
                ),
            ]);
            let out = call(&aws.settings.retry, Safety::Idempotent, || {
                eks.update_cluster_config()
                    .name(name)
                    .resources_vpc_config(request.clone())
                    .client_request_token(&token)
                    .send()
            })
            .await
            .map_err(|f| {
                f.into_error(&format!("changing the endpoint access of {}", what(name)))
            })?;
            if let Some(id) = out.update.as_ref().and_then(|u| u.id()) {
                wait_update(aws, name, None, id, &what(name), ctx).await?;
            }
        }
    }

    if let Some(arn) = current.arn() {
        let cloud: BTreeMap<String, String> = current
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let wanted = a.string_map("tags")?.unwrap_or_default();
        retag(aws, arn, &cloud, &wanted, &what(name)).await?;
    }
    // Configured-ness (tags, security groups) follows the plan; the kubeconfig, state's.
    let mut basis = planned.clone();
    if let (Some(k), Value::Map(m)) = (prior.get("kubeconfig"), &mut basis) {
        m.insert("kubeconfig".into(), k);
    }
    read(aws, name, &basis).await?.ok_or_else(|| {
        ProviderError::new(
            ErrorKind::NotFound,
            format!("{} no longer exists", what(name)),
        )
    })
}

/// Makes the tags of `arn` equal `wanted` with TagResource and UntagResource (both idempotent).
pub(crate) async fn retag(
    aws: &Aws,
    arn: &str,
    cloud: &BTreeMap<String, String>,
    wanted: &BTreeMap<String, String>,
    subject: &str,
) -> ProviderResult<()> {
    let eks = &aws.clients.eks;
    let add: HashMap<String, String> = wanted
        .iter()
        .filter(|(k, v)| cloud.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let remove: Vec<String> = cloud
        .keys()
        .filter(|k| !wanted.contains_key(*k))
        .cloned()
        .collect();
    if !add.is_empty() {
        call(&aws.settings.retry, Safety::Idempotent, || {
            eks.tag_resource()
                .resource_arn(arn)
                .set_tags(Some(add.clone()))
                .send()
        })
        .await
        .map_err(|f| f.into_error(&format!("tagging {subject}")))?;
    }
    if !remove.is_empty() {
        call(&aws.settings.retry, Safety::Idempotent, || {
            eks.untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(remove.clone()))
                .send()
        })
        .await
        .map_err(|f| f.into_error(&format!("untagging {subject}")))?;
    }
    Ok(())
}

pub(crate) async fn delete(aws: &Aws, name: &str, ctx: &OperationContext) -> ProviderResult<()> {
    let eks = &aws.clients.eks;
    match call(&aws.settings.retry, Safety::Idempotent, || {
        eks.delete_cluster().name(name).send()
    })
    .await
    {
        Ok(_) => {}
        Err(f) if f.is_not_found() => return Ok(()),
        Err(f) => {
            // A retry of a delete that went through finds the cluster already DELETING.
            let deleting =
                matches!(describe(aws, name).await, Ok(Some(c)) if status(&c) == "DELETING");
            if !deleting {
                return Err(f.into_error(&format!("deleting {}", what(name))));
            }
        }
    }
    let mut waiter = Waiter::new(&aws.settings, ctx, what(name));
    loop {
        match describe(aws, name).await {
            Ok(None) => return Ok(()),
            Ok(Some(c)) => waiter.pending(&status(&c)).await?,
            Err(f) => return Err(f.into_error(&format!("reading {}", what(name)))),
        }
    }
}

pub(crate) async fn find(aws: &Aws, planned: &Value) -> ProviderResult<Option<ResourceObject>> {
    let name = planned_string(planned, "name", EKS_CLUSTER)?;
    read(aws, &name, planned).await
}
