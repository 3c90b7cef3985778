//! The emulated Cloud SQL Admin API v1 (`sqladmin.googleapis.com`): instances
//! (insert/get/list/patch/update/delete), the `users.update` call that sets a password, and
//! operations. Field names, enum names and operation shapes follow `sqladmin.v1.json`; the
//! REST API sends enums as names.
//!
//! Deliberately absent: databases, backups, replicas, imports and exports, SSL certificates.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, put};
use axum::Router;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use super::api::{int, json_response, parse_body, GoogleError};
use super::model::{status_at, Account, Phase, SqlInstance, SqlOperation};
use crate::clock;
use crate::services::Shared;

const DATABASE_VERSIONS: &[&str] = &[
    "POSTGRES_9_6",
    "POSTGRES_10",
    "POSTGRES_11",
    "POSTGRES_12",
    "POSTGRES_13",
    "POSTGRES_14",
    "POSTGRES_15",
    "POSTGRES_16",
    "POSTGRES_17",
    "MYSQL_8_0",
    "MYSQL_8_4",
];

pub(crate) fn router(services: Shared) -> Router {
    Router::new()
        .route("/v1/projects/{project}/instances", get(list).post(insert))
        .route(
            "/v1/projects/{project}/instances/{instance}",
            get(get_instance).patch(patch).put(replace).delete(delete),
        )
        .route(
            "/v1/projects/{project}/instances/{instance}/users",
            put(update_user),
        )
        .route(
            "/v1/projects/{project}/operations/{operation}",
            get(get_operation),
        )
        .fallback(not_found)
        .with_state(services)
}

async fn not_found() -> GoogleError {
    GoogleError::not_found("The requested URL was not found on this server.")
}

fn no_instance(name: &str) -> GoogleError {
    GoogleError::not_found(format!("The Cloud SQL instance {name} does not exist."))
}

fn link(services: &Shared, path: &str) -> String {
    format!("{}/google/sql/v1/{path}", services.base_url)
}

fn render(i: &SqlInstance, services: &Shared, now: OffsetDateTime) -> Value {
    let state = status_at(&i.phase, now, "RUNNABLE");
    json!({
        "kind": "sql#instance",
        "name": i.name,
        "project": i.project,
        "region": i.region,
        "databaseVersion": i.database_version,
        "databaseInstalledVersion": format!("{}_0", i.database_version),
        "state": state,
        "settings": i.settings,
        "connectionName": format!("{}:{}:{}", i.project, i.region, i.name),
        "ipAddresses": [{ "type": "PRIMARY", "ipAddress": i.ip_address }],
        "selfLink": link(services, &i.path()),
        "backendType": "SECOND_GEN",
        "instanceType": "CLOUD_SQL_INSTANCE",
        "gceZone": format!("{}-b", i.region),
        "createTime": clock::display(i.created_at),
        "serviceAccountEmailAddress": format!("p-{}@gcp-sa-cloud-sql.iam.gserviceaccount.com", i.project),
    })
}

fn render_operation(o: &SqlOperation, services: &Shared, now: OffsetDateTime) -> Value {
    let running = now < o.done_at;
    let mut out = json!({
        "kind": "sql#operation",
        "name": o.name,
        "status": super::model::operation_status(o.started, o.done_at, now),
        "user": "emulated-user@strata.invalid",
        "insertTime": clock::display(o.started),
        "startTime": clock::display(o.started),
        "operationType": o.operation_type,
        "targetId": o.target,
        "targetLink": link(services, &format!("projects/{}/instances/{}", o.project, o.target)),
        "targetProject": o.project,
        "selfLink": link(services, &format!("projects/{}/operations/{}", o.project, o.name)),
    });
    if !running {
        out["endTime"] = json!(clock::display(o.done_at));
    }
    out
}

fn start(
    account: &mut Account,
    project: &str,
    kind: &str,
    target: &str,
    now: OffsetDateTime,
    done_at: OffsetDateTime,
) -> SqlOperation {
    let op = SqlOperation {
        name: uuid::Uuid::new_v4().to_string(),
        project: project.into(),
        operation_type: kind.into(),
        target: target.into(),
        started: now,
        done_at,
    };
    account.sql_operations.push(op.clone());
    op
}

fn check_name(name: &str) -> Result<(), GoogleError> {
    let ok = !name.is_empty()
        && name.len() <= 98
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(GoogleError::invalid(format!(
            "Invalid request: instance name ({name}) is not valid: use lower-case letters, digits and hyphens, starting with a letter."
        )))
    }
}

/// Checks a `settings` object of a request and merges it into `current`, filling in what the
/// server sets itself.
fn merge_settings(current: &Value, given: &Value, version: i64) -> Result<Value, GoogleError> {
    let mut out: Map<String, Value> = current.as_object().cloned().unwrap_or_default();
    if let Some(given) = given.as_object() {
        for (k, v) in given {
            out.insert(k.clone(), v.clone());
        }
    }
    let tier = out.get("tier").and_then(Value::as_str).unwrap_or_default();
    if !(tier.starts_with("db-custom-")
        || tier.starts_with("db-f1-")
        || tier.starts_with("db-g1-")
        || tier.starts_with("db-perf-optimized-")
        || tier.starts_with("db-n1-"))
    {
        return Err(GoogleError::invalid(format!(
            "Invalid request: Invalid Tier ({tier}) for (ENTERPRISE) Edition."
        )));
    }
    if let Some(a) = out.get("availabilityType").and_then(Value::as_str) {
        if a != "ZONAL" && a != "REGIONAL" {
            return Err(GoogleError::invalid(format!(
                "Invalid value at 'settings.availability_type' ({a})"
            )));
        }
    }
    let old_size = current.get("dataDiskSizeGb").and_then(int).unwrap_or(0);
    let size = out.get("dataDiskSizeGb").and_then(int).unwrap_or(10);
    if size < 10 || size < old_size {
        return Err(GoogleError::invalid(format!(
            "Invalid request: disk size {size} GB is not allowed (at least 10 GB, and it may not shrink from {old_size} GB)."
        )));
    }
    out.insert("dataDiskSizeGb".into(), json!(size.to_string()));
    out.entry("availabilityType").or_insert(json!("ZONAL"));
    out.entry("dataDiskType").or_insert(json!("PD_SSD"));
    out.entry("pricingPlan").or_insert(json!("PER_USE"));
    out.entry("activationPolicy").or_insert(json!("ALWAYS"));
    out.entry("deletionProtectionEnabled")
        .or_insert(json!(false));
    out.insert("kind".into(), json!("sql#settings"));
    out.insert("settingsVersion".into(), json!(version.to_string()));
    Ok(Value::Object(out))
}

async fn list(
    State(services): State<Shared>,
    Path(p): Path<String>,
) -> Result<Response, GoogleError> {
    let now = clock::now();
    let items = services.read(|cloud| {
        cloud
            .google
            .sql_instances
            .iter()
            .filter(|i| i.project == p && !super::model::gone(&i.phase, now, "PENDING_DELETE"))
            .map(|i| render(i, &services, now))
            .collect::<Vec<_>>()
    })?;
    Ok(json_response(
        StatusCode::OK,
        json!({ "kind": "sql#instancesList", "items": items }),
    ))
}

async fn insert(
    State(services): State<Shared>,
    Path(p): Path<String>,
    body: Bytes,
) -> Result<Response, GoogleError> {
    let request = parse_body(&body)?;
    let name = request
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    check_name(&name)?;
    let version = request
        .get("databaseVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if !DATABASE_VERSIONS.contains(&version.as_str()) {
        return Err(GoogleError::invalid(format!(
            "Invalid request: Invalid database version ({version})."
        )));
    }
    let region = request
        .get("region")
        .and_then(Value::as_str)
        .unwrap_or("us-central1")
        .to_string();
    let settings = merge_settings(
        &json!({}),
        request.get("settings").unwrap_or(&Value::Null),
        1,
    )?;
    let now = clock::now();
    let ready_at = clock::after(now, services.provision_time);
    let op = services.update(|cloud| -> Result<SqlOperation, GoogleError> {
        let account = &mut cloud.google;
        account.settle(now);
        if account.sql_instances.iter().any(|i| i.project == p && i.name == name) {
            return Err(GoogleError::exists(
                "The Cloud SQL instance already exists. When you delete an instance, you can't reuse the name of the deleted instance until one week from the deletion date.",
            ));
        }
        let n = account.sql_instances.len() + 10;
        account.sql_instances.push(SqlInstance {
            project: p.clone(),
            name: name.clone(),
            region,
            database_version: version,
            settings,
            ip_address: format!("34.118.{}.{}", n / 250, n % 250 + 2),
            phase: Some(Phase { status: "PENDING_CREATE".into(), until: ready_at }),
            created_at: now,
        });
        Ok(start(account, &p, "CREATE", &name, now, ready_at))
    })?;
    Ok(json_response(
        StatusCode::OK,
        render_operation(&op, &services, now),
    ))
}

async fn get_instance(
    State(services): State<Shared>,
    Path((p, i)): Path<(String, String)>,
) -> Result<Response, GoogleError> {
    let now = clock::now();
    let body = services.read(|cloud| {
        cloud
            .google
            .sql_instances
            .iter()
            .find(|x| {
                x.project == p
                    && x.name == i
                    && !super::model::gone(&x.phase, now, "PENDING_DELETE")
            })
            .map(|x| render(x, &services, now))
    })?;
    body.map(|b| json_response(StatusCode::OK, b))
        .ok_or_else(|| no_instance(&i))
}

/// Changes the settings of an instance that is not busy; `replace` drops settings not given.
fn change(
    services: &Shared,
    p: &str,
    i: &str,
    body: &Bytes,
    replace: bool,
) -> Result<Response, GoogleError> {
    let request = parse_body(body)?;
    let given = request.get("settings").cloned().unwrap_or(Value::Null);
    let now = clock::now();
    let done_at = clock::after(now, services.provision_time / 2);
    let op = services.update(|cloud| -> Result<SqlOperation, GoogleError> {
        let account = &mut cloud.google;
        account.settle(now);
        let instance = account
            .sql_instances
            .iter_mut()
            .find(|x| x.project == p && x.name == i)
            .ok_or_else(|| no_instance(i))?;
        let state = status_at(&instance.phase, now, "RUNNABLE");
        if state != "RUNNABLE" {
            return Err(GoogleError::new(
                StatusCode::CONFLICT,
                "ABORTED",
                format!("Operation failed because another operation was already in progress (instance is {state})."),
            ));
        }
        let version = instance.settings.get("settingsVersion").and_then(int).unwrap_or(1) + 1;
        let base = if replace {
            json!({ "dataDiskSizeGb": instance.settings.get("dataDiskSizeGb").cloned().unwrap_or(json!("10")) })
        } else {
            instance.settings.clone()
        };
        instance.settings = merge_settings(&base, &given, version)?;
        instance.phase = Some(Phase { status: "MAINTENANCE".into(), until: done_at });
        Ok(start(account, p, "UPDATE", i, now, done_at))
    })?;
    Ok(json_response(
        StatusCode::OK,
        render_operation(&op, services, now),
    ))
}

async fn patch(
    State(services): State<Shared>,
    Path((p, i)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, GoogleError> {
    change(&services, &p, &i, &body, false)
}

async fn replace(
    State(services): State<Shared>,
    Path((p, i)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, GoogleError> {
    change(&services, &p, &i, &body, true)
}

async fn update_user(
    State(services): State<Shared>,
    Path((p, i)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, GoogleError> {
    let request = parse_body(&body)?;
    let name = form_urlencoded::parse(q.as_deref().unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v.into_owned())
        .or_else(|| {
            request
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_default();
    if name.is_empty() {
        return Err(GoogleError::invalid(
            "Invalid request: the user name is required.",
        ));
    }
    let now = clock::now();
    // The password itself is not kept: nothing in the emulator checks it.
    let op = services.update(|cloud| -> Result<SqlOperation, GoogleError> {
        let account = &mut cloud.google;
        account.settle(now);
        if !account
            .sql_instances
            .iter()
            .any(|x| x.project == p && x.name == i)
        {
            return Err(no_instance(&i));
        }
        Ok(start(account, &p, "UPDATE_USER", &i, now, now))
    })?;
    Ok(json_response(
        StatusCode::OK,
        render_operation(&op, &services, now),
    ))
}

async fn delete(
    State(services): State<Shared>,
    Path((p, i)): Path<(String, String)>,
) -> Result<Response, GoogleError> {
    let now = clock::now();
    let done_at = clock::after(now, services.provision_time / 2);
    let op = services.update(|cloud| -> Result<SqlOperation, GoogleError> {
        let account = &mut cloud.google;
        account.settle(now);
        let instance = account
            .sql_instances
            .iter_mut()
            .find(|x| x.project == p && x.name == i)
            .ok_or_else(|| no_instance(&i))?;
        if instance
            .settings
            .get("deletionProtectionEnabled")
            .and_then(Value::as_bool)
            == Some(true)
        {
            return Err(GoogleError::precondition(format!(
                "The instance {i} is protected from deletion: disable deletion protection first."
            )));
        }
        if status_at(&instance.phase, now, "RUNNABLE") == "PENDING_DELETE" {
            return Err(GoogleError::new(
                StatusCode::CONFLICT,
                "ABORTED",
                "The instance is already being deleted.",
            ));
        }
        instance.phase = Some(Phase {
            status: "PENDING_DELETE".into(),
            until: done_at,
        });
        Ok(start(account, &p, "DELETE", &i, now, done_at))
    })?;
    Ok(json_response(
        StatusCode::OK,
        render_operation(&op, &services, now),
    ))
}

async fn get_operation(
    State(services): State<Shared>,
    Path((p, op)): Path<(String, String)>,
) -> Result<Response, GoogleError> {
    let now = clock::now();
    let body = services.read(|cloud| {
        cloud
            .google
            .sql_operations
            .iter()
            .find(|o| o.project == p && o.name == op)
            .map(|o| render_operation(o, &services, now))
    })?;
    body.map(|b| json_response(StatusCode::OK, b))
        .ok_or_else(|| {
            GoogleError::not_found(format!("The Cloud SQL operation {op} does not exist."))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_and_completed() {
        let s = merge_settings(
            &json!({}),
            &json!({ "tier": "db-custom-2-7680", "dataDiskSizeGb": "20" }),
            1,
        )
        .unwrap();
        assert_eq!(s["dataDiskSizeGb"], "20");
        assert_eq!(s["availabilityType"], "ZONAL");
        assert!(merge_settings(&json!({}), &json!({ "tier": "large" }), 1).is_err());
        assert!(merge_settings(&s, &json!({ "dataDiskSizeGb": 10 }), 2).is_err());
        assert!(merge_settings(&s, &json!({ "availabilityType": "GLOBAL" }), 2).is_err());
    }
}
