//! PostgreSQL flexible servers (`Microsoft.DBforPostgreSQL/flexibleServers`): every write is an
//! operation answered `202`; the administrator's password is checked, never kept.

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use super::arm::{server_id, ArmError, POSTGRESQL};
use super::handlers::{async_response, parse_json, properties_of, tags_of, update, ArmResult, Ctx};
use super::model::{Resource, Transition};
use crate::services::Shared;

/// Server versions of PostgreSQL flexible servers the emulated region offers.
const POSTGRES_VERSIONS: &[&str] = &["12", "13", "14", "15", "16", "17"];
/// Storage sizes (GiB) a flexible server may have.
const STORAGE_SIZES: &[i64] = &[32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767];

pub(super) fn json(s: &Resource, now: OffsetDateTime) -> Value {
    let mut props = s.properties.clone();
    let state = match s.provisioning_state(now) {
        "Creating" => "Provisioning",
        "Updating" => "Updating",
        "Deleting" => "Dropping",
        _ => "Ready",
    };
    props.insert("state".into(), json!(state));
    props.insert(
        "fullyQualifiedDomainName".into(),
        json!(format!("{}.postgres.database.azure.com", s.name)),
    );
    json!({
        "id": s.id,
        "name": s.name,
        "type": "Microsoft.DBforPostgreSQL/flexibleServers",
        "location": s.location,
        "tags": s.tags,
        "sku": s.sku,
        "properties": props,
    })
}

fn storage_gb(props: &Map<String, Value>) -> Option<i64> {
    props.get("storage")?.get("storageSizeGB")?.as_i64()
}

pub(super) fn put(
    services: &Shared,
    ctx: &Ctx,
    sub: &str,
    group: &str,
    name: &str,
    body: &Bytes,
) -> ArmResult {
    let body = parse_json(body)?;
    let location = body
        .get("location")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if location.is_empty() {
        return Err(ArmError::invalid("The 'location' property is required."));
    }
    let tags = tags_of(&body)?.unwrap_or_default();
    let mut props = properties_of(&body);
    let sku = body.get("sku").cloned().filter(|v| !v.is_null());
    if let Some(sku) = &sku {
        let tier = sku.get("tier").and_then(Value::as_str).unwrap_or("");
        let sku_name = sku.get("name").and_then(Value::as_str).unwrap_or("");
        if !["Burstable", "GeneralPurpose", "MemoryOptimized"].contains(&tier)
            || !sku_name.starts_with("Standard_")
        {
            return Err(ArmError::invalid(format!(
                "The sku '{sku_name}' of tier '{tier}' is not offered; tiers are Burstable, GeneralPurpose and MemoryOptimized, names such as Standard_B1ms."
            )));
        }
    }
    if let Some(v) = props.get("version").and_then(Value::as_str) {
        if !POSTGRES_VERSIONS.contains(&v) {
            return Err(ArmError::invalid(format!(
                "PostgreSQL version '{v}' is not offered; versions are {}.",
                POSTGRES_VERSIONS.join(", ")
            )));
        }
    }
    if let Some(gb) = storage_gb(&props) {
        if !STORAGE_SIZES.contains(&gb) {
            return Err(ArmError::invalid(format!(
                "Storage size {gb} GiB is not offered."
            )));
        }
    }
    // The password is write-only: it is checked, never kept or answered.
    let password = props.remove("administratorLoginPassword");
    for k in ["state", "fullyQualifiedDomainName", "minorVersion"] {
        props.remove(k);
    }
    update(services, |a| {
        a.live_group(sub, group, ctx.now)?;
        let id = server_id(sub, group, name);
        let existing = a.servers.iter().position(|s| s.is(&id));
        match existing {
            Some(i) => {
                let s = &a.servers[i];
                if s.is_deleting() {
                    return Err(ArmError::conflict(format!(
                        "Server '{name}' is being deleted."
                    )));
                }
                if let (Some(new), Some(old)) = (
                    props.get("administratorLogin"),
                    s.properties.get("administratorLogin"),
                ) {
                    if new != old {
                        return Err(ArmError::invalid(
                            "Changing property 'administratorLogin' is not allowed.",
                        ));
                    }
                }
                if let (Some(new), Some(old)) = (storage_gb(&props), storage_gb(&s.properties)) {
                    if new < old {
                        return Err(ArmError::invalid(
                            "The storage size of a server cannot be decreased.",
                        ));
                    }
                }
            }
            None => {
                if sku.is_none() {
                    return Err(ArmError::invalid("The 'sku' property is required."));
                }
                if props
                    .get("administratorLogin")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                    || password
                        .as_ref()
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty)
                {
                    return Err(ArmError::invalid(
                        "administratorLogin and administratorLoginPassword are required to create a server.",
                    ));
                }
            }
        }
        let op = a.start_operation(ctx);
        let state = if existing.is_some() {
            "Updating"
        } else {
            "Creating"
        };
        let server = match existing {
            Some(i) => &mut a.servers[i],
            None => {
                a.servers
                    .push(Resource::new(id.clone(), name, &location, ctx.now));
                let last = a.servers.len() - 1;
                &mut a.servers[last]
            }
        };
        let mut merged = server.properties.clone();
        for (k, v) in props {
            merged.insert(k, v);
        }
        server.properties = merged;
        server.tags = tags;
        if sku.is_some() {
            server.sku = sku;
        }
        server.transition = Some(Transition {
            state: state.into(),
            until: ctx.ready_at,
        });
        Ok(async_response(
            StatusCode::ACCEPTED,
            None,
            &ctx.operation_url(sub, POSTGRESQL, &location, &op, false),
            Some(&ctx.operation_url(sub, POSTGRESQL, &location, &op, true)),
        ))
    })
}

pub(super) fn delete(
    services: &Shared,
    ctx: &Ctx,
    sub: &str,
    group: &str,
    name: &str,
) -> ArmResult {
    update(services, |a| {
        let id = server_id(sub, group, name);
        let Some(s) = a.servers.iter_mut().find(|s| s.is(&id)) else {
            return Ok(StatusCode::NO_CONTENT.into_response());
        };
        let location = s.location.clone();
        s.transition = Some(Transition {
            state: "Deleting".into(),
            until: ctx.ready_at,
        });
        let op = a.start_operation(ctx);
        Ok(async_response(
            StatusCode::ACCEPTED,
            None,
            &ctx.operation_url(sub, POSTGRESQL, &location, &op, false),
            Some(&ctx.operation_url(sub, POSTGRESQL, &location, &op, true)),
        ))
    })
}
