//! `google_sql_instance`: a Cloud SQL for PostgreSQL instance over the Cloud SQL Admin REST
//! API v1 (`instances.insert/get/patch/delete`, `users.update` for the root password), each
//! change followed to its operation's DONE.

use crate::api::{Api, Json};
use crate::attrs::{self, Attrs};
use crate::schema::SQL_INSTANCE;
use crate::wait::sql_operation;
use reqwest::Method;
use serde_json::json;
use strata_core::provider::{
    ErrorKind, OperationContext, ProviderError, ProviderResult, ResourceObject,
};
use strata_core::Value;

struct Desired {
    project: String,
    name: String,
    region: String,
    database_version: String,
    deletion_protection: Option<bool>,
    root_password: Option<String>,
    tier: String,
    disk_size: Option<u32>,
    availability_type: Option<String>,
    user_labels: Option<std::collections::BTreeMap<String, String>>,
}

fn desired(api: &Api, planned: &Value) -> ProviderResult<Desired> {
    let a = Attrs::new(planned, SQL_INSTANCE);
    let name = a.required_string("name")?;
    let what = format!("{SQL_INSTANCE} {name:?}");
    let settings = planned
        .get("settings")
        .filter(|v| !v.is_null())
        .ok_or_else(|| {
            ProviderError::new(
                ErrorKind::InvalidConfig,
                format!("{what} needs a settings block with a tier"),
            )
        })?;
    let s = Attrs::new(&settings, "settings");
    let database_version = a.required_string("database_version")?.to_ascii_uppercase();
    if !database_version.starts_with("POSTGRES_") {
        return Err(ProviderError::new(
            ErrorKind::InvalidConfig,
            format!("{what}: database_version {database_version:?} is not PostgreSQL"),
        )
        .with_hint("this resource manages PostgreSQL instances: use POSTGRES_16, POSTGRES_15..."));
    }
    Ok(Desired {
        project: api.settings.project_for(a.string("project")?, &what)?,
        region: api.settings.region_for(a.string("region")?, &what)?,
        database_version,
        deletion_protection: a.bool("deletion_protection")?,
        root_password: a.string("root_password")?,
        tier: s.required_string("tier")?,
        disk_size: s.count("disk_size")?,
        availability_type: s
            .string("availability_type")?
            .map(|t| t.to_ascii_uppercase()),
        user_labels: s.string_map("user_labels")?,
        name,
    })
}

fn id_of(project: &str, name: &str) -> String {
    format!("projects/{project}/instances/{name}")
}

fn parts(id: &str) -> ProviderResult<(String, String)> {
    match id.split('/').collect::<Vec<_>>().as_slice() {
        ["projects", p, "instances", n] => Ok((p.to_string(), n.to_string())),
        _ => Err(ProviderError::new(
            ErrorKind::InvalidConfig,
            format!("{id:?} is not a Cloud SQL instance id (projects/P/instances/NAME)"),
        )),
    }
}

fn path(id: &str) -> String {
    format!("/v1/{id}")
}

/// The `settings` body: what is configured, nothing more, so a PATCH changes only that.
fn settings_body(d: &Desired) -> Json {
    let mut s = json!({ "tier": d.tier });
    if let Some(size) = d.disk_size {
        // int64 fields travel as strings in Google's JSON.
        s["dataDiskSizeGb"] = json!(size.to_string());
    }
    if let Some(t) = &d.availability_type {
        s["availabilityType"] = json!(t);
    }
    if let Some(p) = d.deletion_protection {
        s["deletionProtectionEnabled"] = json!(p);
    }
    if let Some(l) = &d.user_labels {
        s["userLabels"] = json!(l);
    }
    s
}

fn operation_of(answer: &Json, what: &str) -> ProviderResult<String> {
    answer["name"].as_str().map(str::to_string).ok_or_else(|| {
        ProviderError::new(
            ErrorKind::Api,
            format!("{what}: Cloud SQL answered no operation name"),
        )
    })
}

pub(crate) async fn create(
    api: &Api,
    planned: &Value,
    ctx: &OperationContext,
) -> ProviderResult<ResourceObject> {
    let d = desired(api, planned)?;
    let id = id_of(&d.project, &d.name);
    if api.sql_get_optional(&path(&id)).await?.is_some() {
        return Err(ProviderError::new(
            ErrorKind::Conflict,
            format!(
                "a Cloud SQL instance {:?} already exists in project {}",
                d.name, d.project
            ),
        )
        .with_hint(
            "choose another name (names stay reserved for a week after deletion), or import it",
        ));
    }
    let mut body = json!({
        "name": d.name,
        "databaseVersion": d.database_version,
        "region": d.region,
        "settings": settings_body(&d),
    });
    if let Some(p) = &d.root_password {
        body["rootPassword"] = json!(p);
    }
    let what = format!("creating Cloud SQL instance {:?}", d.name);
    let op = api
        .sql_create(
            &format!("/v1/projects/{}/instances", d.project),
            &body,
            || async { Ok(api.sql_get_optional(&path(&id)).await?.is_some()) },
        )
        .await?;
    let partial = |e: ProviderError| {
        e.with_partial(ResourceObject {
            id: id.clone(),
            attributes: attrs::without_unknowns(planned.clone()),
        })
    };
    match op {
        Some(op) => {
            let name = operation_of(&op, &what)?;
            sql_operation(api, &d.project, &name, ctx, &what)
                .await
                .map_err(partial)?;
        }
        None => wait_runnable(api, &id, ctx, &what).await.map_err(partial)?,
    }
    crate::wait::appeared(api, ctx, &what, || read(api, &id, planned)).await
}

async fn wait_runnable(
    api: &Api,
    id: &str,
    ctx: &OperationContext,
    what: &str,
) -> ProviderResult<()> {
    let mut waiter = crate::wait::Waiter::new(api, ctx, what.to_string());
    loop {
        match api.sql_get_optional(&path(id)).await? {
            Some(i) if i["state"] == "RUNNABLE" => return Ok(()),
            Some(i) => {
                waiter
                    .pending(i["state"].as_str().unwrap_or("PENDING_CREATE"))
                    .await?
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
    let (project, _) = parts(id)?;
    let Some(instance) = api.sql_get_optional(&path(id)).await? else {
        return Ok(None);
    };
    Ok(Some(ResourceObject {
        attributes: attributes(&instance, id, &project, prior),
        id: id.to_string(),
    }))
}

pub(crate) async fn find(api: &Api, planned: &Value) -> ProviderResult<Option<ResourceObject>> {
    let d = desired(api, planned)?;
    read(api, &id_of(&d.project, &d.name), planned).await
}

pub(crate) async fn update(
    api: &Api,
    id: &str,
    prior: &Value,
    planned: &Value,
    ctx: &OperationContext,
) -> ProviderResult<ResourceObject> {
    let (project, name) = parts(id)?;
    let d = desired(api, planned)?;
    let before = desired(api, prior)?;
    if settings_body(&d) != settings_body(&before) {
        let what = format!("changing the settings of Cloud SQL instance {name:?}");
        let body = json!({ "settings": settings_body(&d) });
        let op = api.sql(Method::PATCH, &path(id), Some(&body)).await?;
        sql_operation(api, &project, &operation_of(&op, &what)?, ctx, &what).await?;
    }
    if d.root_password.is_some() && d.root_password != before.root_password {
        let what = format!("setting the postgres password of Cloud SQL instance {name:?}");
        let body = json!({ "name": "postgres", "password": d.root_password });
        let op = api
            .sql(
                Method::PUT,
                &format!("{}/users?name=postgres", path(id)),
                Some(&body),
            )
            .await?;
        sql_operation(api, &project, &operation_of(&op, &what)?, ctx, &what).await?;
    }
    read(api, id, planned).await?.ok_or_else(|| {
        ProviderError::new(
            ErrorKind::NotFound,
            format!("Cloud SQL instance {id} disappeared during the update"),
        )
    })
}

pub(crate) async fn delete(
    api: &Api,
    id: &str,
    prior: &Value,
    ctx: &OperationContext,
) -> ProviderResult<()> {
    let (project, name) = parts(id)?;
    if prior.get("deletion_protection").and_then(|v| v.as_bool()) == Some(true) {
        return Err(ProviderError::new(
            ErrorKind::InvalidConfig,
            format!("Cloud SQL instance {name:?} has deletion_protection = true"),
        )
        .with_hint("set deletion_protection = false and apply, then destroy"));
    }
    let what = format!("deleting Cloud SQL instance {name:?}");
    let op = match api.sql(Method::DELETE, &path(id), None).await {
        Ok(op) => op,
        Err(e) if e.kind == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    sql_operation(api, &project, &operation_of(&op, &what)?, ctx, &what).await
}

fn attributes(i: &Json, id: &str, project: &str, prior: &Value) -> Value {
    let p = Attrs::new(prior, SQL_INSTANCE);
    let str_at =
        |ptr: &str| attrs::string(i.pointer(ptr).and_then(|v| v.as_str()).unwrap_or_default());
    let ip = |kind: &str| {
        i["ipAddresses"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["type"] == kind))
            .and_then(|x| x["ipAddress"].as_str())
            .map(attrs::string)
            .unwrap_or(Value::Null)
    };
    let s = &i["settings"];
    // int64 as a string, or a number from a lenient server.
    let disk = s["dataDiskSizeGb"]
        .as_str()
        .and_then(|t| t.parse::<i64>().ok())
        .or_else(|| s["dataDiskSizeGb"].as_i64())
        .map(attrs::number)
        .unwrap_or(Value::Null);
    let prior_settings = prior.get("settings").unwrap_or(Value::Null);
    let labels: std::collections::BTreeMap<String, String> = s["userLabels"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let protection = s["deletionProtectionEnabled"].as_bool().unwrap_or(false);
    Value::map([
        ("id", Value::from(id)),
        ("name", str_at("/name")),
        ("project", Value::from(project)),
        ("region", str_at("/region")),
        ("database_version", str_at("/databaseVersion")),
        (
            "deletion_protection",
            attrs::unless_unset(Value::from(protection), p.raw("deletion_protection")),
        ),
        // Never answered by the API: what the configuration set is what the instance has.
        (
            "root_password",
            attrs::known(p.raw("root_password")).unwrap_or(Value::Null),
        ),
        (
            "settings",
            Value::map([
                ("tier", str_at("/settings/tier")),
                ("disk_size", disk),
                ("availability_type", str_at("/settings/availabilityType")),
                (
                    "user_labels",
                    attrs::unless_unset(
                        attrs::string_map(&labels),
                        &prior_settings.get("user_labels").unwrap_or(Value::Null),
                    ),
                ),
            ]),
        ),
        ("connection_name", str_at("/connectionName")),
        ("public_ip_address", ip("PRIMARY")),
        ("private_ip_address", ip("PRIVATE")),
        ("self_link", str_at("/selfLink")),
        ("state", str_at("/state")),
    ])
}
