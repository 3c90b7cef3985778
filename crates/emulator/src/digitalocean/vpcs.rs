//! `/v2/vpcs`: create, list, get, replace (PUT), patch (PATCH) and delete VPCs.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use ipnet::Ipv4Net;
use serde::Deserialize;
use serde_json::{json, Map};

use super::api::{empty_response, json_response, parse_body, ApiError, Paging};
use super::model::{Account, Vpc};
use super::{check_region, default_vpc, overlaps, required};
use crate::clock;
use crate::services::Shared;

#[derive(Debug, Deserialize)]
struct VpcRequest {
    name: Option<String>,
    description: Option<String>,
    region: Option<String>,
    ip_range: Option<String>,
    default: Option<bool>,
}

pub(super) async fn list(
    State(services): State<Shared>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let paging = Paging::from_query(query.as_deref())?;
    let items = services.read(|cloud| {
        cloud
            .digitalocean
            .vpcs
            .iter()
            .map(Vpc::to_api)
            .collect::<Vec<_>>()
    })?;
    let url = format!("{}/v2/vpcs", services.base_url);
    Ok(json_response(
        StatusCode::OK,
        paging.apply(items, "vpcs", &url, Map::new()),
    ))
}

pub(super) async fn create(
    State(services): State<Shared>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: VpcRequest = parse_body(&body)?;
    let name = required(&request.name, "name")?.to_string();
    let region = required(&request.region, "region")?.to_string();
    check_region(&region)?;
    check_name(&name)?;
    let description = check_description(request.description.unwrap_or_default())?;
    let vpc = services.update(|cloud| {
        let account = &mut cloud.digitalocean;
        check_unique_name(account, &name, None)?;
        let now = clock::now();
        let ip_range = match request.ip_range.as_deref() {
            Some(range) => check_ip_range(account, range, None)?,
            None => super::free_ip_range(account),
        };
        let is_default = request.default == Some(true);
        if is_default {
            make_default(account, &region);
        }
        let vpc = Vpc {
            id: uuid::Uuid::new_v4().to_string(),
            name,
            description,
            region,
            ip_range,
            default: is_default,
            created_at: now,
        };
        account.vpcs.push(vpc.clone());
        // A real account has a default VPC in every region before the user's first one.
        default_vpc(account, &vpc.region, now);
        Ok::<_, ApiError>(vpc)
    })?;
    Ok(json_response(
        StatusCode::CREATED,
        json!({ "vpc": vpc.to_api() }),
    ))
}

pub(super) async fn get(
    State(services): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let vpc = services
        .read(|cloud| cloud.digitalocean.vpcs.iter().find(|v| v.id == id).cloned())?
        .ok_or_else(ApiError::not_found)?;
    Ok(json_response(
        StatusCode::OK,
        json!({ "vpc": vpc.to_api() }),
    ))
}

/// PUT: `name` is required; fields not sent keep their values, as on the real API.
pub(super) async fn replace(
    State(services): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: VpcRequest = parse_body(&body)?;
    required(&request.name, "name")?;
    modify(services, id, request).await
}

pub(super) async fn patch(
    State(services): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: VpcRequest = parse_body(&body)?;
    modify(services, id, request).await
}

async fn modify(services: Shared, id: String, request: VpcRequest) -> Result<Response, ApiError> {
    if let Some(name) = &request.name {
        check_name(name)?;
    }
    let description = request.description.map(check_description).transpose()?;
    let vpc = services.update(|cloud| {
        let account = &mut cloud.digitalocean;
        let index = account
            .vpcs
            .iter()
            .position(|v| v.id == id)
            .ok_or_else(ApiError::not_found)?;
        if let Some(name) = &request.name {
            check_unique_name(account, name, Some(&id))?;
        }
        match request.default {
            Some(false) if account.vpcs[index].default => {
                return Err(ApiError::unprocessable(
                    "the default VPC of a region cannot be unset; make another VPC of the region the default instead",
                ));
            }
            Some(true) if !account.vpcs[index].default => {
                let region = account.vpcs[index].region.clone();
                make_default(account, &region);
                account.vpcs[index].default = true;
            }
            _ => {}
        }
        let vpc = &mut account.vpcs[index];
        if let Some(name) = request.name {
            vpc.name = name;
        }
        if let Some(description) = description {
            vpc.description = description;
        }
        Ok(vpc.clone())
    })?;
    Ok(json_response(
        StatusCode::OK,
        json!({ "vpc": vpc.to_api() }),
    ))
}

pub(super) async fn delete(
    State(services): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    services.update(|cloud| {
        let account = &mut cloud.digitalocean;
        let vpc = account
            .vpcs
            .iter()
            .find(|v| v.id == id)
            .ok_or_else(ApiError::not_found)?;
        if vpc.default {
            return Err(ApiError::forbidden(
                "Cannot delete the default VPC of a region.",
            ));
        }
        let members: Vec<String> = account
            .kubernetes_clusters
            .iter()
            .filter(|c| c.vpc_uuid == id)
            .map(|c| format!("kubernetes cluster {}", c.name))
            .chain(
                account
                    .databases
                    .iter()
                    .filter(|d| d.private_network_uuid == id)
                    .map(|d| format!("database {}", d.name)),
            )
            .collect();
        if !members.is_empty() {
            return Err(ApiError::forbidden(format!(
                "Cannot delete a VPC that still has members: {}.",
                members.join(", ")
            )));
        }
        account.vpcs.retain(|v| v.id != id);
        Ok(())
    })?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}

/// Clears the `default` flag of the region's current default VPC.
fn make_default(account: &mut Account, region: &str) {
    for vpc in account.vpcs.iter_mut().filter(|v| v.region == region) {
        vpc.default = false;
    }
}

fn check_name(name: &str) -> Result<(), ApiError> {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        Ok(())
    } else {
        Err(ApiError::unprocessable(format!(
            "VPC name `{name}` may only contain letters, digits, dashes and periods"
        )))
    }
}

fn check_description(description: String) -> Result<String, ApiError> {
    if description.chars().count() > 255 {
        return Err(ApiError::unprocessable(
            "the VPC description may be at most 255 characters",
        ));
    }
    Ok(description)
}

fn check_unique_name(account: &Account, name: &str, except: Option<&str>) -> Result<(), ApiError> {
    if account
        .vpcs
        .iter()
        .any(|v| v.name == name && Some(v.id.as_str()) != except)
    {
        return Err(ApiError::unprocessable(format!(
            "a VPC named `{name}` already exists"
        )));
    }
    Ok(())
}

/// Validates an `ip_range` as the cloud does: IPv4 CIDR, private (RFC 1918), between /16 and
/// /28, and not overlapping another VPC of the account.
fn check_ip_range(
    account: &Account,
    range: &str,
    except: Option<&str>,
) -> Result<String, ApiError> {
    let net: Ipv4Net = range.parse().map_err(|_| {
        ApiError::unprocessable(format!(
            "ip_range `{range}` is not an IPv4 range in CIDR notation"
        ))
    })?;
    if net.trunc() != net {
        return Err(ApiError::unprocessable(format!(
            "ip_range `{range}` has host bits set; did you mean `{}`?",
            net.trunc()
        )));
    }
    if !(16..=28).contains(&net.prefix_len()) {
        return Err(ApiError::unprocessable(format!(
            "ip_range `{range}` must be between /16 and /28"
        )));
    }
    let private: [Ipv4Net; 3] = [
        Ipv4Net::new([10, 0, 0, 0].into(), 8).unwrap_or_default(),
        Ipv4Net::new([172, 16, 0, 0].into(), 12).unwrap_or_default(),
        Ipv4Net::new([192, 168, 0, 0].into(), 16).unwrap_or_default(),
    ];
    if !private.iter().any(|p| p.contains(&net)) {
        return Err(ApiError::unprocessable(format!(
            "ip_range `{range}` must be a private range (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)"
        )));
    }
    for other in account
        .vpcs
        .iter()
        .filter(|v| Some(v.id.as_str()) != except)
    {
        if let Ok(theirs) = other.ip_range.parse::<Ipv4Net>() {
            if overlaps(&theirs, &net) {
                return Err(ApiError::unprocessable(format!(
                    "ip_range `{range}` overlaps VPC `{}` ({})",
                    other.name, other.ip_range
                )));
            }
        }
    }
    Ok(net.to_string())
}
