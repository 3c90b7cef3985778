//! `/v2/databases`: create, list, get, delete and resize managed database clusters.
//!
//! Status follows the real API: `creating` → `online` after the provision time, and `resizing`
//! → `online` after a resize.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};

use super::api::{empty_response, json_response, parse_body, query_pairs, ApiError};
use super::model::{random_suffix, Database, MaintenanceWindow, Transition};
use super::{check_region, default_vpc, required};
use crate::clock;
use crate::services::Shared;

/// Engines the real API accepts, with the version a cluster gets when none is asked for.
const ENGINES: &[(&str, &str)] = &[
    ("pg", "17"),
    ("mysql", "8"),
    ("redis", "7"),
    ("valkey", "8"),
    ("mongodb", "7"),
    ("kafka", "3.8"),
    ("opensearch", "2"),
    ("advanced_pg", "18"),
    ("advanced_mysql", "8.4.8"),
];

/// The project every emulated resource belongs to unless told otherwise.
const DEFAULT_PROJECT: &str = "5b2f7a8c-3d4e-4f60-8a1b-2c3d4e5f6a7b";

#[derive(Debug, Deserialize)]
struct CreateDatabase {
    name: Option<String>,
    engine: Option<String>,
    version: Option<String>,
    num_nodes: Option<i64>,
    size: Option<String>,
    region: Option<String>,
    private_network_uuid: Option<String>,
    tags: Option<Vec<String>>,
    storage_size_mib: Option<u64>,
    project_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ResizeDatabase {
    size: Option<String>,
    num_nodes: Option<i64>,
    storage_size_mib: Option<u64>,
}

/// Lists database clusters, optionally only those with the tag `tag_name`.
pub(super) async fn list(
    State(services): State<Shared>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let tag = query_pairs(query.as_deref())
        .into_iter()
        .find(|(k, _)| k == "tag_name")
        .map(|(_, v)| v);
    let now = clock::now();
    let items: Vec<Value> = services.read(|cloud| {
        cloud
            .digitalocean
            .databases
            .iter()
            .filter(|d| tag.as_ref().is_none_or(|t| d.tags.contains(t)))
            .map(|d| d.to_api(now))
            .collect()
    })?;
    Ok(json_response(StatusCode::OK, json!({ "databases": items })))
}

pub(super) async fn create(
    State(services): State<Shared>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: CreateDatabase = parse_body(&body)?;
    let name = required(&request.name, "name")?.to_string();
    let engine = required(&request.engine, "engine")?.to_string();
    let size = required(&request.size, "size")?.to_string();
    let region = required(&request.region, "region")?.to_string();
    check_region(&region)?;
    let default_version = ENGINES
        .iter()
        .find(|(e, _)| *e == engine)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let valid: Vec<&str> = ENGINES.iter().map(|(e, _)| *e).collect();
            ApiError::unprocessable(format!(
                "engine `{engine}` is not supported; use one of {}",
                valid.join(", ")
            ))
        })?;
    let num_nodes = check_num_nodes(request.num_nodes)?;
    let version = request
        .version
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default_version.to_string());
    let now = clock::now();
    let database = services.update(|cloud| {
        let account = &mut cloud.digitalocean;
        if account.databases.iter().any(|d| d.name == name) {
            return Err(ApiError::unprocessable(format!(
                "a database cluster named `{name}` already exists"
            )));
        }
        let private_network_uuid = match request
            .private_network_uuid
            .as_deref()
            .filter(|v| !v.is_empty())
        {
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
                        "VPC `{}` is in region {}, not in the database's region {region}",
                        vpc.name, vpc.region
                    )));
                }
                vpc_id.to_string()
            }
            None => default_vpc(account, &region, now),
        };
        let database = Database {
            id: uuid::Uuid::new_v4().to_string(),
            name,
            engine,
            version,
            num_nodes,
            size,
            region,
            private_network_uuid,
            tags: request.tags.unwrap_or_default(),
            db_names: vec!["defaultdb".into()],
            storage_size_mib: request.storage_size_mib,
            project_id: request
                .project_id
                .unwrap_or_else(|| DEFAULT_PROJECT.to_string()),
            password: random_suffix(16),
            maintenance_window: MaintenanceWindow {
                day: "tuesday".into(),
                hour: "14:00:00".into(),
            },
            created_at: now,
            transition: Some(Transition {
                state: "creating".into(),
                until: clock::after(now, services.provision_time),
            }),
        };
        account.databases.push(database.clone());
        Ok(database)
    })?;
    Ok(json_response(
        StatusCode::CREATED,
        json!({ "database": database.to_api(now) }),
    ))
}

pub(super) async fn get(
    State(services): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let database = services
        .read(|cloud| {
            cloud
                .digitalocean
                .databases
                .iter()
                .find(|d| d.id == id)
                .cloned()
        })?
        .ok_or_else(ApiError::not_found)?;
    Ok(json_response(
        StatusCode::OK,
        json!({ "database": database.to_api(clock::now()) }),
    ))
}

pub(super) async fn delete(
    State(services): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    services.update(|cloud| {
        let databases = &mut cloud.digitalocean.databases;
        let before = databases.len();
        databases.retain(|d| d.id != id);
        if databases.len() == before {
            return Err(ApiError::not_found());
        }
        Ok(())
    })?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}

/// `PUT /v2/databases/{id}/resize`: `size` and `num_nodes` are required; answers 202 with no
/// body and the cluster shows `resizing` until the provision time has passed.
pub(super) async fn resize(
    State(services): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: ResizeDatabase = parse_body(&body)?;
    let size = required(&request.size, "size")?.to_string();
    if request.num_nodes.is_none() {
        return Err(ApiError::unprocessable("`num_nodes` is required"));
    }
    let num_nodes = check_num_nodes(request.num_nodes)?;
    let now = clock::now();
    services.update(|cloud| {
        let database = cloud
            .digitalocean
            .databases
            .iter_mut()
            .find(|d| d.id == id)
            .ok_or_else(ApiError::not_found)?;
        if let (Some(new), Some(old)) = (request.storage_size_mib, database.storage_size_mib) {
            if new < old {
                return Err(ApiError::unprocessable(format!(
                    "storage cannot shrink ({old} MiB → {new} MiB)"
                )));
            }
        }
        database.size = size;
        database.num_nodes = num_nodes;
        if request.storage_size_mib.is_some() {
            database.storage_size_mib = request.storage_size_mib;
        }
        database.transition = Some(Transition {
            state: "resizing".into(),
            until: clock::after(now, services.provision_time),
        });
        Ok(())
    })?;
    Ok(empty_response(StatusCode::ACCEPTED))
}

fn check_num_nodes(num_nodes: Option<i64>) -> Result<u32, ApiError> {
    match num_nodes {
        Some(n @ 1..=3) => Ok(n as u32),
        Some(n) => Err(ApiError::unprocessable(format!(
            "`num_nodes` must be 1, 2 or 3, not {n}"
        ))),
        None => Err(ApiError::unprocessable("`num_nodes` is required")),
    }
}
