//! The emulated EKS API (REST and JSON): clusters, managed node groups, their updates and tags,
//! with the paths, member names and errors of `eks-2017-11-01.service-2.json`.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::{Account, Phase, ACCOUNT_ID};
use crate::admin::objects::set_field;
use crate::admin::Object;
use crate::clock;
use crate::clouds::{AdminContext, AdminEntry};
use crate::services::Shared;
use crate::EmulatorError;

/// The region every emulated ARN names.
const REGION: &str = "us-east-1";
/// Kubernetes versions the emulated EKS offers, oldest first.
const VERSIONS: &[&str] = &["1.28", "1.29", "1.30", "1.31", "1.32", "1.33"];
const DEFAULT_VERSION: &str = "1.33";

/// An EKS error: the `x-amzn-ErrorType` header names it, the body carries the message.
#[derive(Debug)]
pub(crate) struct EksError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl EksError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> EksError {
        EksError {
            status,
            code,
            message: message.into(),
        }
    }
    fn not_found(message: impl Into<String>) -> EksError {
        EksError::new(StatusCode::NOT_FOUND, "ResourceNotFoundException", message)
    }
    fn in_use(message: impl Into<String>) -> EksError {
        EksError::new(StatusCode::CONFLICT, "ResourceInUseException", message)
    }
    fn invalid(message: impl Into<String>) -> EksError {
        EksError::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameterException",
            message,
        )
    }
    fn invalid_request(message: impl Into<String>) -> EksError {
        EksError::new(StatusCode::BAD_REQUEST, "InvalidRequestException", message)
    }
}

impl From<EmulatorError> for EksError {
    fn from(e: EmulatorError) -> EksError {
        tracing::error!(error = %e, "emulated EKS failed");
        EksError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServerException",
            "An internal error occurred.",
        )
    }
}

impl IntoResponse for EksError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(json!({ "message": self.message }))).into_response();
        if let Ok(v) = HeaderValue::from_str(self.code) {
            response.headers_mut().insert("x-amzn-ErrorType", v);
        }
        if let Ok(v) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
            response.headers_mut().insert("x-amzn-RequestId", v);
        }
        response
    }
}

type Answer = Result<Json<Value>, EksError>;

/// A cluster as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct EksCluster {
    pub id: String,
    pub name: String,
    pub arn: String,
    pub version: String,
    pub role_arn: String,
    #[serde(default)]
    pub subnet_ids: Vec<String>,
    #[serde(default)]
    pub security_group_ids: Vec<String>,
    #[serde(default)]
    pub endpoint_public_access: bool,
    #[serde(default)]
    pub endpoint_private_access: bool,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default)]
    pub phase: Option<Phase>,
    #[serde(default)]
    pub client_request_token: Option<String>,
    pub certificate_authority: String,
    #[serde(default)]
    pub nodegroups: Vec<Nodegroup>,
    #[serde(default)]
    pub updates: Vec<Update>,
}

/// A managed node group's size.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Scaling {
    pub min_size: i64,
    pub max_size: i64,
    pub desired_size: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Nodegroup {
    pub id: String,
    pub name: String,
    pub arn: String,
    pub version: String,
    pub release_version: String,
    pub node_role: String,
    #[serde(default)]
    pub subnets: Vec<String>,
    #[serde(default)]
    pub instance_types: Vec<String>,
    pub scaling_config: Scaling,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    pub disk_size: i64,
    pub ami_type: String,
    pub capacity_type: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub modified_at: OffsetDateTime,
    #[serde(default)]
    pub phase: Option<Phase>,
    #[serde(default)]
    pub client_request_token: Option<String>,
}

/// An update of a cluster or of one of its node groups.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Update {
    pub id: String,
    #[serde(default)]
    pub nodegroup: Option<String>,
    pub kind: String,
    pub params: Vec<(String, String)>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub done_at: OffsetDateTime,
    #[serde(default)]
    pub client_request_token: Option<String>,
}

impl Update {
    fn status(&self, now: OffsetDateTime) -> &'static str {
        if now < self.done_at {
            "InProgress"
        } else {
            "Successful"
        }
    }

    fn to_json(&self, now: OffsetDateTime) -> Value {
        json!({
            "id": self.id,
            "status": self.status(now),
            "type": self.kind,
            "params": self.params.iter().map(|(t, v)| json!({"type": t, "value": v})).collect::<Vec<_>>(),
            "createdAt": epoch(self.created_at),
            "errors": [],
        })
    }
}

fn epoch(at: OffsetDateTime) -> f64 {
    at.unix_timestamp() as f64
}

impl EksCluster {
    pub fn status(&self, now: OffsetDateTime) -> String {
        let settled = if self
            .updates
            .iter()
            .any(|u| u.nodegroup.is_none() && now < u.done_at)
        {
            "UPDATING"
        } else {
            "ACTIVE"
        };
        Phase::state_at(&self.phase, now, settled)
    }

    fn endpoint(&self, base_url: &str) -> String {
        format!("{base_url}/k8s/{}", self.id)
    }

    fn to_json(&self, now: OffsetDateTime, base_url: &str) -> Value {
        let status = self.status(now);
        let mut cluster = json!({
            "name": self.name,
            "arn": self.arn,
            "createdAt": epoch(self.created_at),
            "version": self.version,
            "roleArn": self.role_arn,
            "resourcesVpcConfig": {
                "subnetIds": self.subnet_ids,
                "securityGroupIds": self.security_group_ids,
                "clusterSecurityGroupId": format!("sg-{}", &self.id.replace('-', "")[..17]),
                "vpcId": format!("vpc-{}", &self.id.replace('-', "")[..17]),
                "endpointPublicAccess": self.endpoint_public_access,
                "endpointPrivateAccess": self.endpoint_private_access,
                "publicAccessCidrs": ["0.0.0.0/0"],
            },
            "kubernetesNetworkConfig": { "serviceIpv4Cidr": "10.100.0.0/16", "ipFamily": "ipv4" },
            "status": status,
            "platformVersion": "eks.1",
            "tags": self.tags,
            "accessConfig": { "authenticationMode": "API_AND_CONFIG_MAP" },
        });
        if status != "CREATING" {
            cluster["endpoint"] = json!(self.endpoint(base_url));
            cluster["certificateAuthority"] = json!({ "data": self.certificate_authority });
            cluster["identity"] = json!({ "oidc": { "issuer": format!("https://oidc.eks.{REGION}.amazonaws.com/id/{}", self.id.replace('-', "").to_uppercase()) } });
        }
        if let Some(token) = &self.client_request_token {
            cluster["clientRequestToken"] = json!(token);
        }
        cluster
    }

    fn nodegroup(&self, name: &str) -> Result<&Nodegroup, EksError> {
        self.nodegroups
            .iter()
            .find(|n| n.name == name)
            .ok_or_else(|| EksError::not_found(format!("No node group found for name: {name}.")))
    }

    fn nodegroup_mut(&mut self, name: &str) -> Result<&mut Nodegroup, EksError> {
        self.nodegroups
            .iter_mut()
            .find(|n| n.name == name)
            .ok_or_else(|| EksError::not_found(format!("No node group found for name: {name}.")))
    }

    /// Drops node groups whose deletion has finished by `now`.
    fn prune(&mut self, now: OffsetDateTime) {
        self.nodegroups
            .retain(|n| !Phase::deleted_by(&n.phase, now, "DELETING"));
    }

    fn nodegroup_busy(&self, name: &str, now: OffsetDateTime) -> bool {
        self.updates
            .iter()
            .any(|u| u.nodegroup.as_deref() == Some(name) && now < u.done_at)
    }
}

impl Nodegroup {
    fn status(&self, now: OffsetDateTime, updating: bool) -> String {
        Phase::state_at(
            &self.phase,
            now,
            if updating { "UPDATING" } else { "ACTIVE" },
        )
    }

    fn to_json(&self, cluster: &EksCluster, now: OffsetDateTime) -> Value {
        let mut ng = json!({
            "nodegroupName": self.name,
            "nodegroupArn": self.arn,
            "clusterName": cluster.name,
            "version": self.version,
            "releaseVersion": self.release_version,
            "createdAt": epoch(self.created_at),
            "modifiedAt": epoch(self.modified_at),
            "status": self.status(now, cluster.nodegroup_busy(&self.name, now)),
            "capacityType": self.capacity_type,
            "scalingConfig": {
                "minSize": self.scaling_config.min_size,
                "maxSize": self.scaling_config.max_size,
                "desiredSize": self.scaling_config.desired_size,
            },
            "instanceTypes": self.instance_types,
            "subnets": self.subnets,
            "amiType": self.ami_type,
            "nodeRole": self.node_role,
            "labels": self.labels,
            "diskSize": self.disk_size,
            "health": { "issues": [] },
            "updateConfig": { "maxUnavailable": 1 },
            "tags": self.tags,
        });
        if let Some(token) = &self.client_request_token {
            ng["clientRequestToken"] = json!(token);
        }
        ng
    }
}

/// Whether the cluster still exists at `now` (a finished deletion is not yet pruned on reads).
fn exists(c: &EksCluster, now: OffsetDateTime) -> bool {
    !Phase::deleted_by(&c.phase, now, "DELETING")
}

fn prune(account: &mut Account, now: OffsetDateTime) {
    account.eks_clusters.retain(|c| exists(c, now));
    for c in &mut account.eks_clusters {
        c.prune(now);
    }
}

fn find<'a>(
    account: &'a Account,
    name: &str,
    now: OffsetDateTime,
) -> Result<&'a EksCluster, EksError> {
    account
        .eks_clusters
        .iter()
        .find(|c| c.name == name && exists(c, now))
        .ok_or_else(|| EksError::not_found(format!("No cluster found for name: {name}.")))
}

fn find_mut<'a>(account: &'a mut Account, name: &str) -> Result<&'a mut EksCluster, EksError> {
    account
        .eks_clusters
        .iter_mut()
        .find(|c| c.name == name)
        .ok_or_else(|| EksError::not_found(format!("No cluster found for name: {name}.")))
}

fn body<T: for<'de> Deserialize<'de> + Default>(bytes: &Bytes) -> Result<T, EksError> {
    if bytes.is_empty() {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes).map_err(|e| {
        EksError::new(
            StatusCode::BAD_REQUEST,
            "BadRequestException",
            format!("Could not parse the request body: {e}"),
        )
    })
}

fn check_name(name: &str, what: &str) -> Result<(), EksError> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(EksError::invalid(format!(
            "The {what} name {name:?} must be 1-100 letters, digits, hyphens and underscores, starting with a letter or digit."
        )))
    }
}

fn check_version(version: &str) -> Result<(), EksError> {
    if VERSIONS.contains(&version) {
        Ok(())
    } else {
        Err(EksError::invalid(format!(
            "unsupported Kubernetes version {version}; supported versions are {}",
            VERSIONS.join(", ")
        )))
    }
}

fn minor(version: &str) -> Option<u32> {
    version.strip_prefix("1.")?.parse().ok()
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VpcConfigRequest {
    subnet_ids: Option<Vec<String>>,
    security_group_ids: Option<Vec<String>>,
    endpoint_public_access: Option<bool>,
    endpoint_private_access: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateClusterBody {
    name: Option<String>,
    version: Option<String>,
    role_arn: Option<String>,
    resources_vpc_config: Option<VpcConfigRequest>,
    client_request_token: Option<String>,
    tags: Option<BTreeMap<String, String>>,
}

pub(crate) async fn create_cluster(State(services): State<Shared>, bytes: Bytes) -> Answer {
    let req: CreateClusterBody = body(&bytes)?;
    let name = req.name.clone().unwrap_or_default();
    check_name(&name, "cluster")?;
    let role_arn = req
        .role_arn
        .clone()
        .filter(|r| r.starts_with("arn:"))
        .ok_or_else(|| EksError::invalid("roleArn must be the ARN of an IAM role"))?;
    let vpc = req
        .resources_vpc_config
        .ok_or_else(|| EksError::invalid("resourcesVpcConfig is required"))?;
    let subnet_ids = vpc.subnet_ids.unwrap_or_default();
    if subnet_ids.len() < 2 {
        return Err(EksError::invalid(
            "Subnets specified must be in at least two different AZs",
        ));
    }
    let version = req
        .version
        .clone()
        .unwrap_or_else(|| DEFAULT_VERSION.into());
    check_version(&version)?;
    let now = clock::now();
    let base_url = services.base_url.clone();
    let ready = clock::after(now, services.provision_time);
    let cluster = services.update(|cloud| {
        let account = &mut cloud.aws;
        prune(account, now);
        if let Some(existing) = account.eks_clusters.iter().find(|c| c.name == name) {
            // A retry of the same create answers what the first one did.
            if req.client_request_token.is_some()
                && existing.client_request_token == req.client_request_token
            {
                return Ok(existing.to_json(now, &base_url));
            }
            return Err(EksError::in_use(format!(
                "Cluster already exists with name: {name}"
            )));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\nEMULATED-EKS-CA-{id}\n-----END CERTIFICATE-----\n"
        );
        let cluster = EksCluster {
            arn: format!("arn:aws:eks:{REGION}:{ACCOUNT_ID}:cluster/{name}"),
            id,
            name: name.clone(),
            version,
            role_arn,
            subnet_ids,
            security_group_ids: vpc.security_group_ids.unwrap_or_default(),
            endpoint_public_access: vpc.endpoint_public_access.unwrap_or(true),
            endpoint_private_access: vpc.endpoint_private_access.unwrap_or(false),
            tags: req.tags.unwrap_or_default(),
            created_at: now,
            phase: Some(Phase::new("CREATING", ready)),
            client_request_token: req.client_request_token,
            certificate_authority: base64::engine::general_purpose::STANDARD.encode(pem),
            nodegroups: Vec::new(),
            updates: Vec::new(),
        };
        let answer = cluster.to_json(now, &base_url);
        account.eks_clusters.push(cluster);
        Ok::<_, EksError>(answer)
    })?;
    Ok(Json(json!({ "cluster": cluster })))
}

pub(crate) async fn describe_cluster(
    State(services): State<Shared>,
    Path(name): Path<String>,
) -> Answer {
    let now = clock::now();
    let base_url = services.base_url.clone();
    let cluster = services
        .read(|cloud| find(&cloud.aws, &name, now).map(|c| c.to_json(now, &base_url)))??;
    Ok(Json(json!({ "cluster": cluster })))
}

pub(crate) async fn list_clusters(State(services): State<Shared>) -> Answer {
    let now = clock::now();
    let names = services.read(|cloud| {
        cloud
            .aws
            .eks_clusters
            .iter()
            .filter(|c| exists(c, now))
            .map(|c| c.name.clone())
            .collect::<Vec<_>>()
    })?;
    Ok(Json(json!({ "clusters": names })))
}

pub(crate) async fn delete_cluster(
    State(services): State<Shared>,
    Path(name): Path<String>,
) -> Answer {
    let now = clock::now();
    let base_url = services.base_url.clone();
    let gone = clock::after(now, services.provision_time);
    let cluster = services.update(|cloud| {
        prune(&mut cloud.aws, now);
        let cluster = find_mut(&mut cloud.aws, &name)?;
        if !cluster.nodegroups.is_empty() {
            return Err(EksError::in_use(format!(
                "Cluster has nodegroups attached: {}",
                cluster
                    .nodegroups
                    .iter()
                    .map(|n| n.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let status = cluster.status(now);
        if status == "CREATING" || status == "UPDATING" {
            return Err(EksError::in_use(format!(
                "Cannot delete because cluster {name} currently has an update in progress"
            )));
        }
        if status != "DELETING" {
            cluster.phase = Some(Phase::new("DELETING", gone));
        }
        Ok::<_, EksError>(cluster.to_json(now, &base_url))
    })?;
    Ok(Json(json!({ "cluster": cluster })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateVersionBody {
    version: Option<String>,
    release_version: Option<String>,
    client_request_token: Option<String>,
}

/// Records an update unless one with the same token exists; answers the update.
fn start_update(
    cluster: &mut EksCluster,
    nodegroup: Option<&str>,
    kind: &str,
    params: Vec<(String, String)>,
    token: Option<String>,
    now: OffsetDateTime,
    done_at: OffsetDateTime,
) -> Value {
    let update = Update {
        id: uuid::Uuid::new_v4().to_string(),
        nodegroup: nodegroup.map(str::to_string),
        kind: kind.to_string(),
        params,
        created_at: now,
        done_at,
        client_request_token: token,
    };
    let answer = update.to_json(now);
    cluster.updates.push(update);
    answer
}

fn repeated_update(
    cluster: &EksCluster,
    nodegroup: Option<&str>,
    token: &Option<String>,
    now: OffsetDateTime,
) -> Option<Value> {
    let token = token.as_ref()?;
    cluster
        .updates
        .iter()
        .find(|u| {
            u.client_request_token.as_ref() == Some(token) && u.nodegroup.as_deref() == nodegroup
        })
        .map(|u| u.to_json(now))
}

pub(crate) async fn update_cluster_version(
    State(services): State<Shared>,
    Path(name): Path<String>,
    bytes: Bytes,
) -> Answer {
    let req: UpdateVersionBody = body(&bytes)?;
    let version = req
        .version
        .clone()
        .ok_or_else(|| EksError::invalid("version is required"))?;
    check_version(&version)?;
    let now = clock::now();
    let done = clock::after(now, services.provision_time);
    let update = services.update(|cloud| {
        prune(&mut cloud.aws, now);
        let cluster = find_mut(&mut cloud.aws, &name)?;
        if let Some(answer) = repeated_update(cluster, None, &req.client_request_token, now) {
            return Ok(answer);
        }
        if cluster.status(now) != "ACTIVE" {
            return Err(EksError::in_use(format!(
                "Cluster {name} is {}; only an ACTIVE cluster can be updated",
                cluster.status(now)
            )));
        }
        if version == cluster.version {
            return Err(EksError::invalid(format!(
                "Cluster is already at the desired configuration with version {version}"
            )));
        }
        if minor(&version) != minor(&cluster.version).map(|m| m + 1) {
            return Err(EksError::invalid(format!(
                "Unsupported Kubernetes minor version update from {} to {version}",
                cluster.version
            )));
        }
        cluster.version = version.clone();
        let params = vec![
            ("Version".into(), version.clone()),
            ("PlatformVersion".into(), "eks.1".into()),
        ];
        Ok::<_, EksError>(start_update(
            cluster,
            None,
            "VersionUpdate",
            params,
            req.client_request_token.clone(),
            now,
            done,
        ))
    })?;
    Ok(Json(json!({ "update": update })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateConfigBody {
    resources_vpc_config: Option<VpcConfigRequest>,
    client_request_token: Option<String>,
}

pub(crate) async fn update_cluster_config(
    State(services): State<Shared>,
    Path(name): Path<String>,
    bytes: Bytes,
) -> Answer {
    let req: UpdateConfigBody = body(&bytes)?;
    let vpc = req.resources_vpc_config.ok_or_else(|| {
        EksError::invalid_request("No changes needed for the logging config provided")
    })?;
    let now = clock::now();
    let done = clock::after(now, services.provision_time);
    let update = services.update(|cloud| {
        prune(&mut cloud.aws, now);
        let cluster = find_mut(&mut cloud.aws, &name)?;
        if let Some(answer) = repeated_update(cluster, None, &req.client_request_token, now) {
            return Ok(answer);
        }
        if cluster.status(now) != "ACTIVE" {
            return Err(EksError::in_use(format!(
                "Cluster {name} is {}; only an ACTIVE cluster can be updated",
                cluster.status(now)
            )));
        }
        let mut params = Vec::new();
        if let Some(public) = vpc.endpoint_public_access {
            cluster.endpoint_public_access = public;
            params.push(("EndpointPublicAccess".into(), public.to_string()));
        }
        if let Some(private) = vpc.endpoint_private_access {
            cluster.endpoint_private_access = private;
            params.push(("EndpointPrivateAccess".into(), private.to_string()));
        }
        if let Some(groups) = vpc.security_group_ids {
            cluster.security_group_ids = groups.clone();
            params.push(("SecurityGroups".into(), json!(groups).to_string()));
        }
        if vpc.subnet_ids.is_some() {
            return Err(EksError::invalid(
                "subnetIds cannot be changed on an existing cluster",
            ));
        }
        if params.is_empty() {
            return Err(EksError::invalid_request(
                "No changes needed for the endpoint access config provided",
            ));
        }
        Ok::<_, EksError>(start_update(
            cluster,
            None,
            "EndpointAccessUpdate",
            params,
            req.client_request_token.clone(),
            now,
            done,
        ))
    })?;
    Ok(Json(json!({ "update": update })))
}

pub(crate) async fn describe_update(
    State(services): State<Shared>,
    Path((name, update_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Answer {
    let now = clock::now();
    let nodegroup = query_values(query.as_deref(), "nodegroupName")
        .into_iter()
        .next();
    let update = services.read(|cloud| {
        let cluster = find(&cloud.aws, &name, now)?;
        cluster
            .updates
            .iter()
            .find(|u| u.id == update_id && u.nodegroup == nodegroup)
            .map(|u| u.to_json(now))
            .ok_or_else(|| EksError::not_found(format!("No update found for ID: {update_id}")))
    })??;
    Ok(Json(json!({ "update": update })))
}

/// The values of a query parameter (`tagKeys=a&tagKeys=b`).
fn query_values(query: Option<&str>, key: &str) -> Vec<String> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .collect()
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScalingRequest {
    min_size: Option<i64>,
    max_size: Option<i64>,
    desired_size: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateNodegroupBody {
    nodegroup_name: Option<String>,
    scaling_config: Option<ScalingRequest>,
    disk_size: Option<i64>,
    subnets: Option<Vec<String>>,
    instance_types: Option<Vec<String>>,
    ami_type: Option<String>,
    node_role: Option<String>,
    labels: Option<BTreeMap<String, String>>,
    tags: Option<BTreeMap<String, String>>,
    client_request_token: Option<String>,
    capacity_type: Option<String>,
    version: Option<String>,
    release_version: Option<String>,
}

fn check_scaling(s: &Scaling) -> Result<(), EksError> {
    if s.min_size < 0 || s.max_size < 1 || s.min_size > s.max_size {
        return Err(EksError::invalid(format!(
            "Invalid scaling config: minSize {} must be at least 0 and at most maxSize {} (at least 1)",
            s.min_size, s.max_size
        )));
    }
    if s.desired_size < s.min_size || s.desired_size > s.max_size {
        return Err(EksError::invalid(format!(
            "desiredSize {} must be between minSize {} and maxSize {}",
            s.desired_size, s.min_size, s.max_size
        )));
    }
    Ok(())
}

fn release_version(version: &str) -> String {
    format!("{version}.0-20250101")
}

pub(crate) async fn create_nodegroup(
    State(services): State<Shared>,
    Path(cluster_name): Path<String>,
    bytes: Bytes,
) -> Answer {
    let req: CreateNodegroupBody = body(&bytes)?;
    let name = req.nodegroup_name.clone().unwrap_or_default();
    check_name(&name, "node group")?;
    let node_role = req
        .node_role
        .clone()
        .filter(|r| r.starts_with("arn:"))
        .ok_or_else(|| EksError::invalid("nodeRole must be the ARN of an IAM role"))?;
    let subnets = req.subnets.clone().unwrap_or_default();
    if subnets.is_empty() {
        return Err(EksError::invalid("subnets must name at least one subnet"));
    }
    let requested = req.scaling_config.unwrap_or_default();
    let scaling = Scaling {
        min_size: requested.min_size.unwrap_or(1),
        max_size: requested.max_size.unwrap_or(2),
        desired_size: requested.desired_size.or(requested.min_size).unwrap_or(2),
    };
    check_scaling(&scaling)?;
    let now = clock::now();
    let ready = clock::after(now, services.provision_time);
    let answer = services.update(|cloud| {
        prune(&mut cloud.aws, now);
        let cluster = find_mut(&mut cloud.aws, &cluster_name)?;
        if let Some(existing) = cluster.nodegroups.iter().find(|n| n.name == name) {
            if req.client_request_token.is_some()
                && existing.client_request_token == req.client_request_token
            {
                return Ok(existing.to_json(cluster, now));
            }
            return Err(EksError::in_use(format!(
                "NodeGroup already exists with name {name} and cluster name {cluster_name}"
            )));
        }
        if cluster.status(now) != "ACTIVE" {
            return Err(EksError::invalid_request(format!(
                "Cluster '{cluster_name}' is not in ACTIVE status"
            )));
        }
        let version = req
            .version
            .clone()
            .unwrap_or_else(|| cluster.version.clone());
        check_version(&version)?;
        if minor(&version) > minor(&cluster.version) {
            return Err(EksError::invalid(format!(
                "Requested Nodegroup version {version} is newer than the cluster version {}",
                cluster.version
            )));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let nodegroup = Nodegroup {
            arn: format!("arn:aws:eks:{REGION}:{ACCOUNT_ID}:nodegroup/{cluster_name}/{name}/{id}"),
            id,
            name: name.clone(),
            release_version: req
                .release_version
                .clone()
                .unwrap_or_else(|| release_version(&version)),
            version,
            node_role,
            subnets,
            instance_types: req
                .instance_types
                .clone()
                .unwrap_or_else(|| vec!["t3.medium".into()]),
            scaling_config: scaling,
            labels: req.labels.clone().unwrap_or_default(),
            tags: req.tags.clone().unwrap_or_default(),
            disk_size: req.disk_size.unwrap_or(20),
            ami_type: req
                .ami_type
                .clone()
                .unwrap_or_else(|| "AL2023_x86_64_STANDARD".into()),
            capacity_type: req
                .capacity_type
                .clone()
                .unwrap_or_else(|| "ON_DEMAND".into()),
            created_at: now,
            modified_at: now,
            phase: Some(Phase::new("CREATING", ready)),
            client_request_token: req.client_request_token.clone(),
        };
        cluster.nodegroups.push(nodegroup);
        let created = cluster.nodegroup(&name)?;
        Ok::<_, EksError>(created.to_json(cluster, now))
    })?;
    Ok(Json(json!({ "nodegroup": answer })))
}

pub(crate) async fn describe_nodegroup(
    State(services): State<Shared>,
    Path((cluster_name, name)): Path<(String, String)>,
) -> Answer {
    let now = clock::now();
    let answer = services.read(|cloud| {
        let cluster = find(&cloud.aws, &cluster_name, now)?;
        let ng = cluster.nodegroup(&name)?;
        if Phase::deleted_by(&ng.phase, now, "DELETING") {
            return Err(EksError::not_found(format!(
                "No node group found for name: {name}."
            )));
        }
        Ok(ng.to_json(cluster, now))
    })??;
    Ok(Json(json!({ "nodegroup": answer })))
}

pub(crate) async fn list_nodegroups(
    State(services): State<Shared>,
    Path(cluster_name): Path<String>,
) -> Answer {
    let now = clock::now();
    let names = services.read(|cloud| {
        find(&cloud.aws, &cluster_name, now).map(|c| {
            c.nodegroups
                .iter()
                .filter(|n| !Phase::deleted_by(&n.phase, now, "DELETING"))
                .map(|n| n.name.clone())
                .collect::<Vec<_>>()
        })
    })??;
    Ok(Json(json!({ "nodegroups": names })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LabelsPayload {
    add_or_update_labels: Option<BTreeMap<String, String>>,
    remove_labels: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateNodegroupConfigBody {
    labels: Option<LabelsPayload>,
    scaling_config: Option<ScalingRequest>,
    client_request_token: Option<String>,
}

/// Checks that a node group can take an update now.
fn nodegroup_ready(cluster: &EksCluster, name: &str, now: OffsetDateTime) -> Result<(), EksError> {
    let ng = cluster.nodegroup(name)?;
    let status = ng.status(now, cluster.nodegroup_busy(name, now));
    if status != "ACTIVE" {
        return Err(EksError::in_use(format!(
            "Nodegroup {name} is {status}; only an ACTIVE node group can be updated"
        )));
    }
    Ok(())
}

pub(crate) async fn update_nodegroup_config(
    State(services): State<Shared>,
    Path((cluster_name, name)): Path<(String, String)>,
    bytes: Bytes,
) -> Answer {
    let req: UpdateNodegroupConfigBody = body(&bytes)?;
    let now = clock::now();
    let done = clock::after(now, services.provision_time);
    let update = services.update(|cloud| {
        prune(&mut cloud.aws, now);
        let cluster = find_mut(&mut cloud.aws, &cluster_name)?;
        if let Some(answer) = repeated_update(cluster, Some(&name), &req.client_request_token, now)
        {
            return Ok(answer);
        }
        nodegroup_ready(cluster, &name, now)?;
        let ng = cluster.nodegroup_mut(&name)?;
        let mut params = Vec::new();
        if let Some(s) = &req.scaling_config {
            let scaling = Scaling {
                min_size: s.min_size.unwrap_or(ng.scaling_config.min_size),
                max_size: s.max_size.unwrap_or(ng.scaling_config.max_size),
                desired_size: s.desired_size.unwrap_or(ng.scaling_config.desired_size),
            };
            check_scaling(&scaling)?;
            for (key, value) in [
                ("MinSize", s.min_size),
                ("MaxSize", s.max_size),
                ("DesiredSize", s.desired_size),
            ] {
                if let Some(v) = value {
                    params.push((key.to_string(), v.to_string()));
                }
            }
            ng.scaling_config = scaling;
        }
        if let Some(labels) = &req.labels {
            if let Some(add) = &labels.add_or_update_labels {
                ng.labels.extend(add.clone());
                params.push(("LabelsToAdd".into(), json!(add).to_string()));
            }
            if let Some(remove) = &labels.remove_labels {
                for key in remove {
                    ng.labels.remove(key);
                }
                params.push(("LabelsToRemove".into(), json!(remove).to_string()));
            }
        }
        if params.is_empty() {
            return Err(EksError::invalid_request(
                "No changes needed for the nodegroup config provided",
            ));
        }
        ng.modified_at = now;
        Ok::<_, EksError>(start_update(
            cluster,
            Some(&name),
            "ConfigUpdate",
            params,
            req.client_request_token.clone(),
            now,
            done,
        ))
    })?;
    Ok(Json(json!({ "update": update })))
}

pub(crate) async fn update_nodegroup_version(
    State(services): State<Shared>,
    Path((cluster_name, name)): Path<(String, String)>,
    bytes: Bytes,
) -> Answer {
    let req: UpdateVersionBody = body(&bytes)?;
    let now = clock::now();
    let done = clock::after(now, services.provision_time);
    let update = services.update(|cloud| {
        prune(&mut cloud.aws, now);
        let cluster = find_mut(&mut cloud.aws, &cluster_name)?;
        if let Some(answer) =
            repeated_update(cluster, Some(&name), &req.client_request_token, now)
        {
            return Ok(answer);
        }
        nodegroup_ready(cluster, &name, now)?;
        let cluster_version = cluster.version.clone();
        let version = req.version.clone().unwrap_or_else(|| cluster_version.clone());
        check_version(&version)?;
        if minor(&version) > minor(&cluster_version) {
            return Err(EksError::invalid(format!(
                "Requested Nodegroup version {version} is newer than the cluster version {cluster_version}"
            )));
        }
        let ng = cluster.nodegroup_mut(&name)?;
        let release = req
            .release_version
            .clone()
            .unwrap_or_else(|| release_version(&version));
        ng.version = version.clone();
        ng.release_version = release.clone();
        ng.modified_at = now;
        Ok::<_, EksError>(start_update(
            cluster,
            Some(&name),
            "VersionUpdate",
            vec![
                ("Version".into(), version),
                ("ReleaseVersion".into(), release),
            ],
            req.client_request_token.clone(),
            now,
            done,
        ))
    })?;
    Ok(Json(json!({ "update": update })))
}

pub(crate) async fn delete_nodegroup(
    State(services): State<Shared>,
    Path((cluster_name, name)): Path<(String, String)>,
) -> Answer {
    let now = clock::now();
    let gone = clock::after(now, services.provision_time);
    let answer = services.update(|cloud| {
        prune(&mut cloud.aws, now);
        let cluster = find_mut(&mut cloud.aws, &cluster_name)?;
        let busy = cluster.nodegroup_busy(&name, now);
        let ng = cluster.nodegroup_mut(&name)?;
        let status = ng.status(now, busy);
        if status == "CREATING" || status == "UPDATING" {
            return Err(EksError::in_use(format!(
                "Nodegroup {name} cannot be deleted because it is currently {status}"
            )));
        }
        if status != "DELETING" {
            ng.phase = Some(Phase::new("DELETING", gone));
            ng.modified_at = now;
        }
        let ng = cluster.nodegroup(&name)?;
        Ok::<_, EksError>(ng.to_json(cluster, now))
    })?;
    Ok(Json(json!({ "nodegroup": answer })))
}

/// Tags of the cluster or node group an ARN names.
fn tags_of<'a>(
    account: &'a mut Account,
    arn: &str,
) -> Result<&'a mut BTreeMap<String, String>, EksError> {
    for cluster in &mut account.eks_clusters {
        if cluster.arn == arn {
            return Ok(&mut cluster.tags);
        }
        if let Some(ng) = cluster.nodegroups.iter_mut().find(|n| n.arn == arn) {
            return Ok(&mut ng.tags);
        }
    }
    Err(EksError::new(
        StatusCode::NOT_FOUND,
        "NotFoundException",
        format!("Resource not found: {arn}"),
    ))
}

#[derive(Debug, Default, Deserialize)]
struct TagBody {
    tags: Option<BTreeMap<String, String>>,
}

pub(crate) async fn tag_resource(
    State(services): State<Shared>,
    Path(arn): Path<String>,
    bytes: Bytes,
) -> Answer {
    let req: TagBody = body(&bytes)?;
    let tags = req.tags.unwrap_or_default();
    services.update(|cloud| {
        tags_of(&mut cloud.aws, &arn)?.extend(tags);
        Ok::<_, EksError>(())
    })?;
    Ok(Json(json!({})))
}

pub(crate) async fn untag_resource(
    State(services): State<Shared>,
    Path(arn): Path<String>,
    RawQuery(query): RawQuery,
) -> Answer {
    let keys = query_values(query.as_deref(), "tagKeys");
    services.update(|cloud| {
        let tags = tags_of(&mut cloud.aws, &arn)?;
        for key in &keys {
            tags.remove(key);
        }
        Ok::<_, EksError>(())
    })?;
    Ok(Json(json!({})))
}

pub(crate) async fn list_tags(State(services): State<Shared>, Path(arn): Path<String>) -> Answer {
    let tags = services.read(|cloud| {
        let account = &cloud.aws;
        account
            .eks_clusters
            .iter()
            .find_map(|c| {
                if c.arn == arn {
                    return Some(c.tags.clone());
                }
                c.nodegroups
                    .iter()
                    .find(|n| n.arn == arn)
                    .map(|n| n.tags.clone())
            })
            .ok_or_else(|| {
                EksError::new(
                    StatusCode::NOT_FOUND,
                    "NotFoundException",
                    format!("Resource not found: {arn}"),
                )
            })
    })??;
    Ok(Json(json!({ "tags": tags })))
}

pub(crate) async fn unknown_operation() -> EksError {
    EksError::new(
        StatusCode::NOT_FOUND,
        "UnknownOperationException",
        "The requested operation is not supported by this emulator",
    )
}

pub(crate) fn admin_entries(clusters: &[EksCluster], now: OffsetDateTime) -> Vec<AdminEntry> {
    let mut out = Vec::new();
    let fields = |pairs: Vec<(&str, Value)>| {
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect::<BTreeMap<_, _>>()
    };
    for c in clusters.iter().filter(|c| exists(c, now)) {
        out.push(AdminEntry {
            object: Object {
                cloud: "aws".into(),
                kind: "eks_cluster".into(),
                id: c.id.clone(),
                name: c.name.clone(),
                fields: fields(vec![
                    ("arn", json!(c.arn)),
                    ("version", json!(c.version)),
                    ("status", json!(c.status(now))),
                    ("endpoint_public_access", json!(c.endpoint_public_access)),
                    ("tags", json!(c.tags)),
                    (
                        "node_groups",
                        json!(c.nodegroups.iter().map(|n| &n.name).collect::<Vec<_>>()),
                    ),
                ]),
            },
            aliases: vec![c.arn.clone()],
        });
        for n in c
            .nodegroups
            .iter()
            .filter(|n| !Phase::deleted_by(&n.phase, now, "DELETING"))
        {
            out.push(AdminEntry {
                object: Object {
                    cloud: "aws".into(),
                    kind: "eks_node_group".into(),
                    id: n.id.clone(),
                    name: n.name.clone(),
                    fields: fields(vec![
                        ("cluster", json!(c.name)),
                        ("version", json!(n.version)),
                        (
                            "status",
                            json!(n.status(now, c.nodegroup_busy(&n.name, now))),
                        ),
                        ("instance_types", json!(n.instance_types)),
                        ("scaling_config", json!(n.scaling_config)),
                        ("labels", json!(n.labels)),
                        ("tags", json!(n.tags)),
                    ]),
                },
                aliases: vec![format!("{}/{}", c.name, n.name), n.arn.clone()],
            });
        }
    }
    out
}

/// `None` when no EKS object has this id.
pub(crate) fn admin_set(
    clusters: &mut [EksCluster],
    id: &str,
    field: &str,
    value: Value,
    ctx: &AdminContext,
) -> Option<Result<(), String>> {
    for cluster in clusters.iter_mut() {
        if cluster.id == id {
            if field == "status" {
                return Some(pin_status(&mut cluster.phase, value, "ACTIVE"));
            }
            return Some(set_field(
                cluster,
                field,
                value,
                &[
                    "id",
                    "name",
                    "arn",
                    "created_at",
                    "phase",
                    "client_request_token",
                    "certificate_authority",
                    "nodegroups",
                    "updates",
                ],
            ));
        }
        if let Some(ng) = cluster.nodegroups.iter_mut().find(|n| n.id == id) {
            if field == "status" {
                return Some(pin_status(&mut ng.phase, value, "ACTIVE"));
            }
            let result = set_field(
                ng,
                field,
                value,
                &[
                    "id",
                    "name",
                    "arn",
                    "created_at",
                    "phase",
                    "client_request_token",
                ],
            )
            .and_then(|()| {
                let s = &ng.scaling_config;
                if s.min_size > s.desired_size || s.desired_size > s.max_size {
                    Err(format!(
                        "desired_size {} must lie between min_size {} and max_size {}",
                        s.desired_size, s.min_size, s.max_size
                    ))
                } else {
                    Ok(())
                }
            });
            ng.modified_at = ctx.now;
            return Some(result);
        }
    }
    None
}

/// A status set out of band pins the object in it until set back to the settled one.
fn pin_status(phase: &mut Option<Phase>, value: Value, settled: &str) -> Result<(), String> {
    let state = value
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or("status must be a non-empty string")?;
    *phase = (state != settled).then(|| {
        Phase::new(
            state,
            OffsetDateTime::new_utc(time::Date::MAX, time::Time::MIDNIGHT),
        )
    });
    Ok(())
}

pub(crate) fn admin_delete(clusters: &mut Vec<EksCluster>, id: &str) -> bool {
    let before = clusters.len();
    clusters.retain(|c| c.id != id);
    if clusters.len() != before {
        return true;
    }
    for cluster in clusters.iter_mut() {
        let before = cluster.nodegroups.len();
        cluster.nodegroups.retain(|n| n.id != id);
        if cluster.nodegroups.len() != before {
            return true;
        }
    }
    false
}
