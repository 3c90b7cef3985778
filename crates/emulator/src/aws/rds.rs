//! The emulated RDS API (the AWS query protocol): DB instances, with the actions, parameter
//! names, XML shapes and error codes of `rds-2014-10-31.service-2.json`.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::xml::{list_members, parse_form, Xml};
use super::{Account, Phase, ACCOUNT_ID};
use crate::admin::objects::set_field;
use crate::admin::Object;
use crate::clock;
use crate::clouds::{AdminContext, AdminEntry};
use crate::services::Shared;
use crate::EmulatorError;

const NAMESPACE: &str = "http://rds.amazonaws.com/doc/2014-10-31/";
const API_VERSION: &str = "2014-10-31";
const REGION: &str = "us-east-1";
const ENGINES: &[&str] = &["postgres"];
const POSTGRES_VERSIONS: &[&str] = &["14.17", "15.12", "16.8", "16.9", "17.4", "17.5"];

/// An RDS error, answered as an XML `<ErrorResponse>`.
#[derive(Debug)]
pub(crate) struct RdsError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl RdsError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> RdsError {
        RdsError {
            status,
            code,
            message: message.into(),
        }
    }
    fn not_found(identifier: &str) -> RdsError {
        RdsError::new(
            StatusCode::NOT_FOUND,
            "DBInstanceNotFound",
            format!("DBInstance {identifier} not found."),
        )
    }
    fn invalid_value(message: impl Into<String>) -> RdsError {
        RdsError::new(StatusCode::BAD_REQUEST, "InvalidParameterValue", message)
    }
    fn invalid_state(message: impl Into<String>) -> RdsError {
        RdsError::new(StatusCode::BAD_REQUEST, "InvalidDBInstanceState", message)
    }
}

impl From<EmulatorError> for RdsError {
    fn from(e: EmulatorError) -> RdsError {
        tracing::error!(error = %e, "emulated RDS failed");
        RdsError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalFailure",
            "The request processing has failed because of an unknown error.",
        )
    }
}

fn xml_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    response
}

impl IntoResponse for RdsError {
    fn into_response(self) -> Response {
        let kind = if self.status.is_server_error() {
            "Receiver"
        } else {
            "Sender"
        };
        let mut x = Xml::new();
        x.open_ns("ErrorResponse", NAMESPACE)
            .open("Error")
            .text("Type", kind)
            .text("Code", self.code)
            .text("Message", &self.message)
            .close("Error")
            .text("RequestId", uuid::Uuid::new_v4())
            .close("ErrorResponse");
        xml_response(self.status, x.finish())
    }
}

/// A DB instance as stored. The master password is not kept: nothing the API answers shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DbInstance {
    pub id: String,
    pub identifier: String,
    pub arn: String,
    pub instance_class: String,
    pub engine: String,
    pub engine_version: String,
    pub allocated_storage: i64,
    pub master_username: String,
    #[serde(default)]
    pub db_name: Option<String>,
    #[serde(default)]
    pub vpc_security_group_ids: Vec<String>,
    #[serde(default)]
    pub db_subnet_group_name: Option<String>,
    #[serde(default)]
    pub multi_az: bool,
    #[serde(default)]
    pub publicly_accessible: bool,
    pub storage_type: String,
    pub backup_retention_period: i64,
    pub port: i64,
    #[serde(default)]
    pub storage_encrypted: bool,
    #[serde(default)]
    pub deletion_protection: bool,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default)]
    pub phase: Option<Phase>,
    /// Modifications waiting for the maintenance window (`ApplyImmediately=false`).
    #[serde(default)]
    pub pending: BTreeMap<String, String>,
}

impl DbInstance {
    pub fn status(&self, now: OffsetDateTime) -> String {
        Phase::state_at(&self.phase, now, "available")
    }

    fn write(&self, x: &mut Xml, now: OffsetDateTime) {
        let status = self.status(now);
        x.open("DBInstance")
            .text("DBInstanceIdentifier", &self.identifier)
            .text("DBInstanceClass", &self.instance_class)
            .text("Engine", &self.engine)
            .text("DBInstanceStatus", &status)
            .text("MasterUsername", &self.master_username);
        if let Some(name) = &self.db_name {
            x.text("DBName", name);
        }
        if status != "creating" {
            x.open("Endpoint")
                .text(
                    "Address",
                    format!("{}.c0emulated.{REGION}.rds.amazonaws.com", self.identifier),
                )
                .text("Port", self.port)
                .text("HostedZoneId", "Z2R2ITUGPM61AM")
                .close("Endpoint");
        }
        x.text("AllocatedStorage", self.allocated_storage)
            .text("InstanceCreateTime", clock::display(self.created_at))
            .text("PreferredBackupWindow", "03:00-03:30")
            .text("BackupRetentionPeriod", self.backup_retention_period)
            .open("VpcSecurityGroups");
        for group in &self.vpc_security_group_ids {
            x.open("VpcSecurityGroupMembership")
                .text("VpcSecurityGroupId", group)
                .text("Status", "active")
                .close("VpcSecurityGroupMembership");
        }
        x.close("VpcSecurityGroups");
        if let Some(group) = &self.db_subnet_group_name {
            x.open("DBSubnetGroup")
                .text("DBSubnetGroupName", group)
                .text("SubnetGroupStatus", "Complete")
                .close("DBSubnetGroup");
        }
        x.text("PreferredMaintenanceWindow", "sun:05:00-sun:05:30")
            .open("PendingModifiedValues");
        for (key, value) in &self.pending {
            x.text(key, value);
        }
        x.close("PendingModifiedValues")
            .text("MultiAZ", self.multi_az)
            .text("EngineVersion", &self.engine_version)
            .text("AutoMinorVersionUpgrade", true)
            .text("LicenseModel", "postgresql-license")
            .text("PubliclyAccessible", self.publicly_accessible)
            .text("StorageType", &self.storage_type)
            .text("DbInstancePort", 0)
            .text("StorageEncrypted", self.storage_encrypted)
            .text("DbiResourceId", &self.id)
            .text("DeletionProtection", self.deletion_protection)
            .text("DBInstanceArn", &self.arn)
            .open("TagList");
        for (key, value) in &self.tags {
            x.open("Tag")
                .text("Key", key)
                .text("Value", value)
                .close("Tag");
        }
        x.close("TagList").close("DBInstance");
    }
}

/// `<{Action}Response><{Action}Result>…</{Action}Result><ResponseMetadata>…`.
fn answer(action: &str, body: impl FnOnce(&mut Xml)) -> Response {
    let mut x = Xml::new();
    x.open_ns(&format!("{action}Response"), NAMESPACE)
        .open(&format!("{action}Result"));
    body(&mut x);
    x.close(&format!("{action}Result"))
        .open("ResponseMetadata")
        .text("RequestId", uuid::Uuid::new_v4())
        .close("ResponseMetadata")
        .close(&format!("{action}Response"));
    xml_response(StatusCode::OK, x.finish())
}

/// The request's parameters, with the helpers every action needs.
struct Params(BTreeMap<String, String>);

impl Params {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn required(&self, name: &str) -> Result<&str, RdsError> {
        self.get(name).filter(|v| !v.is_empty()).ok_or_else(|| {
            RdsError::new(
                StatusCode::BAD_REQUEST,
                "MissingParameter",
                format!("The request must contain the parameter {name}"),
            )
        })
    }

    fn int(&self, name: &str) -> Result<Option<i64>, RdsError> {
        self.get(name)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    RdsError::invalid_value(format!(
                        "Invalid value {v:?} for {name}: expected an integer"
                    ))
                })
            })
            .transpose()
    }

    fn bool(&self, name: &str) -> Result<Option<bool>, RdsError> {
        self.get(name)
            .map(|v| match v {
                "true" => Ok(true),
                "false" => Ok(false),
                other => Err(RdsError::invalid_value(format!(
                    "Invalid value {other:?} for {name}: expected true or false"
                ))),
            })
            .transpose()
    }

    fn strings(&self, prefix: &str) -> Vec<String> {
        list_members(&self.0, prefix)
            .into_iter()
            .filter_map(|m| m.get("").cloned())
            .collect()
    }

    fn tags(&self) -> BTreeMap<String, String> {
        list_members(&self.0, "Tags.Tag")
            .into_iter()
            .filter_map(|m| {
                Some((
                    m.get("Key")?.clone(),
                    m.get("Value").cloned().unwrap_or_default(),
                ))
            })
            .collect()
    }
}

/// Every RDS action arrives as a form POST to `/`.
pub(crate) async fn action(State(services): State<Shared>, bytes: Bytes) -> Response {
    let params = Params(parse_form(&bytes));
    let result = match params.get("Version") {
        Some(API_VERSION) => match params.get("Action").unwrap_or_default() {
            "CreateDBInstance" => create(&services, &params),
            "DescribeDBInstances" => describe(&services, &params),
            "ModifyDBInstance" => modify(&services, &params),
            "DeleteDBInstance" => delete(&services, &params),
            "" => Err(RdsError::new(
                StatusCode::BAD_REQUEST,
                "MissingAction",
                "The request must contain the parameter Action",
            )),
            other => Err(RdsError::new(
                StatusCode::BAD_REQUEST,
                "InvalidAction",
                format!("The action {other} is not valid for this web service (or not emulated)."),
            )),
        },
        other => Err(RdsError::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValue",
            format!("Version must be {API_VERSION}, not {other:?}"),
        )),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

/// Anything but a POST to the service.
pub(crate) async fn wrong_method() -> RdsError {
    RdsError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "InvalidAction",
        "RDS actions are POSTed to the service's endpoint",
    )
}

fn exists(d: &DbInstance, now: OffsetDateTime) -> bool {
    !Phase::deleted_by(&d.phase, now, "deleting")
}

fn prune(account: &mut Account, now: OffsetDateTime) {
    account.db_instances.retain(|d| exists(d, now));
}

fn check_identifier(identifier: &str) -> Result<(), RdsError> {
    let ok = (1..=63).contains(&identifier.len())
        && identifier.starts_with(|c: char| c.is_ascii_alphabetic())
        && identifier
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !identifier.ends_with('-')
        && !identifier.contains("--");
    if ok {
        Ok(())
    } else {
        Err(RdsError::invalid_value(format!(
            "The parameter DBInstanceIdentifier is not a valid identifier: {identifier:?}. Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive hyphens."
        )))
    }
}

/// The full version a requested one means: a major version alone (`16`) picks its latest
/// minor version, as RDS does.
fn resolve_engine_version(version: &str) -> Result<String, RdsError> {
    if !version.contains('.') {
        if let Some(latest) = POSTGRES_VERSIONS.iter().rev().find(|v| major(v) == version) {
            return Ok(latest.to_string());
        }
    }
    check_engine_version(version)?;
    Ok(version.to_string())
}

fn check_engine_version(version: &str) -> Result<(), RdsError> {
    if POSTGRES_VERSIONS.contains(&version) {
        Ok(())
    } else {
        Err(RdsError::invalid_value(format!(
            "Cannot find version {version} for postgres; available versions: {}",
            POSTGRES_VERSIONS.join(", ")
        )))
    }
}

fn major(version: &str) -> &str {
    version.split('.').next().unwrap_or(version)
}

fn create(services: &Shared, p: &Params) -> Result<Response, RdsError> {
    let identifier = p.required("DBInstanceIdentifier")?.to_lowercase();
    check_identifier(&identifier)?;
    let instance_class = p.required("DBInstanceClass")?.to_string();
    if !instance_class.starts_with("db.") {
        return Err(RdsError::invalid_value(format!(
            "Invalid DB instance class: {instance_class}"
        )));
    }
    let engine = p.required("Engine")?.to_string();
    if !ENGINES.contains(&engine.as_str()) {
        return Err(RdsError::invalid_value(format!(
            "Invalid DB engine: {engine}; the emulator offers {}",
            ENGINES.join(", ")
        )));
    }
    let engine_version = resolve_engine_version(p.get("EngineVersion").unwrap_or("17"))?;
    let allocated_storage = p
        .int("AllocatedStorage")?
        .ok_or_else(|| RdsError::invalid_value("AllocatedStorage is required for postgres"))?;
    if !(20..=65536).contains(&allocated_storage) {
        return Err(RdsError::invalid_value(
            "Invalid storage size for engine name postgres and storage type gp2: must be 20 to 65536 GiB",
        ));
    }
    let master_username = p.required("MasterUsername")?.to_string();
    let manage_password = p.bool("ManageMasterUserPassword")?.unwrap_or(false);
    match p.get("MasterUserPassword") {
        Some(password) if password.len() >= 8 && !manage_password => {}
        None if manage_password => {}
        Some(_) if manage_password => {
            return Err(RdsError::new(
                StatusCode::BAD_REQUEST,
                "InvalidParameterCombination",
                "MasterUserPassword cannot be given with ManageMasterUserPassword",
            ))
        }
        Some(_) => {
            return Err(RdsError::invalid_value(
                "The parameter MasterUserPassword is not a valid password because it is shorter than 8 characters.",
            ))
        }
        None => {
            return Err(RdsError::invalid_value(
                "The parameter MasterUserPassword must be provided and must not be blank.",
            ))
        }
    }
    let now = clock::now();
    let ready = clock::after(now, services.provision_time);
    let instance = DbInstance {
        id: format!(
            "db-{}",
            uuid::Uuid::new_v4().simple().to_string()[..26].to_uppercase()
        ),
        arn: format!("arn:aws:rds:{REGION}:{ACCOUNT_ID}:db:{identifier}"),
        identifier: identifier.clone(),
        instance_class,
        engine,
        engine_version,
        allocated_storage,
        master_username,
        db_name: p.get("DBName").map(str::to_string),
        vpc_security_group_ids: p.strings("VpcSecurityGroupIds.VpcSecurityGroupId"),
        db_subnet_group_name: p.get("DBSubnetGroupName").map(str::to_string),
        multi_az: p.bool("MultiAZ")?.unwrap_or(false),
        publicly_accessible: p.bool("PubliclyAccessible")?.unwrap_or(false),
        storage_type: p.get("StorageType").unwrap_or("gp2").to_string(),
        backup_retention_period: p.int("BackupRetentionPeriod")?.unwrap_or(1),
        port: p.int("Port")?.unwrap_or(5432),
        storage_encrypted: p.bool("StorageEncrypted")?.unwrap_or(false),
        deletion_protection: p.bool("DeletionProtection")?.unwrap_or(false),
        tags: p.tags(),
        created_at: now,
        phase: Some(Phase::new("creating", ready)),
        pending: BTreeMap::new(),
    };
    services.update(|cloud| {
        prune(&mut cloud.aws, now);
        if cloud
            .aws
            .db_instances
            .iter()
            .any(|d| d.identifier == identifier)
        {
            return Err(RdsError::new(
                StatusCode::BAD_REQUEST,
                "DBInstanceAlreadyExists",
                "DB instance already exists",
            ));
        }
        cloud.aws.db_instances.push(instance.clone());
        Ok::<_, RdsError>(())
    })?;
    Ok(answer("CreateDBInstance", |x| instance.write(x, now)))
}

fn describe(services: &Shared, p: &Params) -> Result<Response, RdsError> {
    let now = clock::now();
    let wanted = p.get("DBInstanceIdentifier").map(str::to_lowercase);
    let mut filter_ids: Option<Vec<String>> = None;
    for filter in list_members(&p.0, "Filters.Filter") {
        let name = filter.get("Name").cloned().unwrap_or_default();
        let prefix = "Values.Value.";
        let values: Vec<String> = filter
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v.to_lowercase())
            .collect();
        match name.as_str() {
            "db-instance-id" => filter_ids = Some(values),
            other => {
                return Err(RdsError::invalid_value(format!(
                    "Unrecognized filter name: {other}"
                )))
            }
        }
    }
    let instances = services.read(|cloud| {
        cloud
            .aws
            .db_instances
            .iter()
            .filter(|d| exists(d, now))
            .filter(|d| wanted.as_ref().is_none_or(|w| &d.identifier == w))
            .filter(|d| {
                filter_ids
                    .as_ref()
                    .is_none_or(|ids| ids.iter().any(|i| i == &d.identifier || i == &d.arn))
            })
            .cloned()
            .collect::<Vec<_>>()
    })?;
    if let (Some(w), true) = (&wanted, instances.is_empty()) {
        return Err(RdsError::not_found(w));
    }
    Ok(answer("DescribeDBInstances", |x| {
        x.open("DBInstances");
        for d in &instances {
            d.write(x, now);
        }
        x.close("DBInstances");
    }))
}

fn modify(services: &Shared, p: &Params) -> Result<Response, RdsError> {
    let identifier = p.required("DBInstanceIdentifier")?.to_lowercase();
    let immediately = p.bool("ApplyImmediately")?.unwrap_or(false);
    let allow_major = p.bool("AllowMajorVersionUpgrade")?.unwrap_or(false);
    let class = p.get("DBInstanceClass").map(str::to_string);
    let storage = p.int("AllocatedStorage")?;
    let version = p
        .get("EngineVersion")
        .map(resolve_engine_version)
        .transpose()?;
    let deletion_protection = p.bool("DeletionProtection")?;
    let password = p.get("MasterUserPassword").map(str::len);
    let now = clock::now();
    let done = clock::after(now, services.provision_time);
    let instance = services.update(|cloud| {
        prune(&mut cloud.aws, now);
        let d = cloud
            .aws
            .db_instances
            .iter_mut()
            .find(|d| d.identifier == identifier)
            .ok_or_else(|| RdsError::not_found(&identifier))?;
        let status = d.status(now);
        if status != "available" {
            return Err(RdsError::invalid_state(format!(
                "Database instance is not in available state (it is {status})."
            )));
        }
        if let Some(v) = &version {
            if major(v) != major(&d.engine_version) && !allow_major {
                return Err(RdsError::new(
                    StatusCode::BAD_REQUEST,
                    "InvalidParameterCombination",
                    "The AllowMajorVersionUpgrade flag must be present when upgrading to a new major version.",
                ));
            }
            if major(v).parse::<u32>().ok() < major(&d.engine_version).parse::<u32>().ok() {
                return Err(RdsError::invalid_value(format!(
                    "Cannot upgrade postgres from {} to {v}",
                    d.engine_version
                )));
            }
        }
        if let Some(s) = storage {
            if s < d.allocated_storage {
                return Err(RdsError::invalid_value(
                    "Invalid storage size: the allocated storage cannot be reduced",
                ));
            }
        }
        if let Some(n) = password {
            if n < 8 {
                return Err(RdsError::invalid_value(
                    "The parameter MasterUserPassword is not a valid password because it is shorter than 8 characters.",
                ));
            }
        }
        let mut changed = false;
        let mut change = |d: &mut DbInstance, key: &str, value: String| {
            changed = true;
            if immediately {
                match key {
                    "DBInstanceClass" => d.instance_class = value,
                    "AllocatedStorage" => d.allocated_storage = value.parse().unwrap_or(d.allocated_storage),
                    "EngineVersion" => d.engine_version = value,
                    _ => {}
                }
            } else {
                d.pending.insert(key.to_string(), value);
            }
        };
        if let Some(c) = class.filter(|c| c != &d.instance_class) {
            change(d, "DBInstanceClass", c);
        }
        if let Some(s) = storage.filter(|s| *s != d.allocated_storage) {
            change(d, "AllocatedStorage", s.to_string());
        }
        if let Some(v) = version.filter(|v| v != &d.engine_version) {
            change(d, "EngineVersion", v);
        }
        if password.is_some() {
            changed = true;
        }
        if let Some(protect) = deletion_protection {
            d.deletion_protection = protect;
        }
        if changed && immediately {
            d.phase = Some(Phase::new("modifying", done));
        }
        Ok::<_, RdsError>(d.clone())
    })?;
    Ok(answer("ModifyDBInstance", |x| instance.write(x, now)))
}

fn delete(services: &Shared, p: &Params) -> Result<Response, RdsError> {
    let identifier = p.required("DBInstanceIdentifier")?.to_lowercase();
    let skip_final = p.bool("SkipFinalSnapshot")?.unwrap_or(false);
    let final_snapshot = p.get("FinalDBSnapshotIdentifier");
    if !skip_final && final_snapshot.is_none() {
        return Err(RdsError::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameterCombination",
            "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.",
        ));
    }
    if skip_final && final_snapshot.is_some() {
        return Err(RdsError::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameterCombination",
            "Cannot specify both SkipFinalSnapshot and FinalDBSnapshotIdentifier.",
        ));
    }
    let now = clock::now();
    let gone = clock::after(now, services.provision_time);
    let instance = services.update(|cloud| {
        prune(&mut cloud.aws, now);
        let d = cloud
            .aws
            .db_instances
            .iter_mut()
            .find(|d| d.identifier == identifier)
            .ok_or_else(|| RdsError::not_found(&identifier))?;
        if d.deletion_protection {
            return Err(RdsError::invalid_value(
                "Cannot delete protected DB Instance, please disable deletion protection and try again.",
            ));
        }
        let status = d.status(now);
        match status.as_str() {
            "deleting" => {
                return Err(RdsError::invalid_state(format!(
                    "Instance {identifier} is already being deleted."
                )))
            }
            "available" | "creating" | "modifying" | "failed" | "storage-full" => {}
            other => {
                return Err(RdsError::invalid_state(format!(
                    "Instance {identifier} cannot be deleted while it is {other}."
                )))
            }
        }
        d.phase = Some(Phase::new("deleting", gone));
        Ok::<_, RdsError>(d.clone())
    })?;
    Ok(answer("DeleteDBInstance", |x| instance.write(x, now)))
}

pub(crate) fn admin_entries(instances: &[DbInstance], now: OffsetDateTime) -> Vec<AdminEntry> {
    instances
        .iter()
        .filter(|d| exists(d, now))
        .map(|d| AdminEntry {
            object: Object {
                cloud: "aws".into(),
                kind: "db_instance".into(),
                id: d.id.clone(),
                name: d.identifier.clone(),
                fields: [
                    ("engine", json!(d.engine)),
                    ("engine_version", json!(d.engine_version)),
                    ("instance_class", json!(d.instance_class)),
                    ("allocated_storage", json!(d.allocated_storage)),
                    ("status", json!(d.status(now))),
                    ("multi_az", json!(d.multi_az)),
                    ("tags", json!(d.tags)),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            },
            aliases: vec![d.arn.clone()],
        })
        .collect()
}

/// `None` when no DB instance has this id.
pub(crate) fn admin_set(
    instances: &mut [DbInstance],
    id: &str,
    field: &str,
    value: Value,
    _ctx: &AdminContext,
) -> Option<Result<(), String>> {
    let d = instances.iter_mut().find(|d| d.id == id)?;
    if field == "status" {
        let Some(state) = value.as_str().filter(|s| !s.is_empty()) else {
            return Some(Err("status must be a non-empty string".into()));
        };
        d.phase = (state != "available").then(|| {
            Phase::new(
                state,
                OffsetDateTime::new_utc(time::Date::MAX, time::Time::MIDNIGHT),
            )
        });
        return Some(Ok(()));
    }
    Some(set_field(
        d,
        field,
        value,
        &["id", "identifier", "arn", "created_at", "phase", "pending"],
    ))
}

pub(crate) fn admin_delete(instances: &mut Vec<DbInstance>, id: &str) -> bool {
    let before = instances.len();
    instances.retain(|d| d.id != id);
    instances.len() != before
}
