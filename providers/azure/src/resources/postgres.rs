//! `azure_postgres_flexible_server` over
//! `/subscriptions/{id}/resourceGroups/{rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{name}`.

use super::{
    int, object, path_segment, planned_string, string_map, tags_json, text, POSTGRESQL_API_VERSION,
};
use crate::api::{Api, Json};
use crate::attrs::{self, Attrs};
use crate::schema::POSTGRES_FLEXIBLE_SERVER;
use serde_json::{json, Map};
use std::collections::BTreeMap;
use strata_core::provider::{
    ErrorKind, OperationContext, ProviderError, ProviderResult, ResourceObject,
};
use strata_core::Value;

const TIERS: &[(&str, &str)] = &[
    ("B", "Burstable"),
    ("GP", "GeneralPurpose"),
    ("MO", "MemoryOptimized"),
];

/// `B_Standard_B1ms` → (`Standard_B1ms`, `Burstable`), as azurerm spells a SKU.
pub(crate) fn split_sku(sku_name: &str) -> ProviderResult<(String, &'static str)> {
    let (prefix, name) = sku_name.split_once('_').unwrap_or(("", ""));
    TIERS
        .iter()
        .find(|(p, _)| *p == prefix)
        .filter(|_| !name.is_empty())
        .map(|(_, tier)| (name.to_string(), *tier))
        .ok_or_else(|| {
            ProviderError::new(
                ErrorKind::InvalidConfig,
                format!("sku_name {sku_name:?} must be TIER_SIZE with TIER one of B, GP or MO"),
            )
            .with_hint(
                "for example B_Standard_B1ms (Burstable) or GP_Standard_D2s_v3 (GeneralPurpose)",
            )
        })
}

/// The reverse of [`split_sku`]; an unknown tier keeps ARM's name for it.
fn join_sku(name: &str, tier: &str) -> String {
    let prefix = TIERS
        .iter()
        .find(|(_, t)| t.eq_ignore_ascii_case(tier))
        .map(|(p, _)| p.to_string())
        .unwrap_or_else(|| tier.to_string());
    format!("{prefix}_{name}")
}

fn path(api: &Api, group: &str, name: &str) -> ProviderResult<String> {
    Ok(format!(
        "{}/resourceGroups/{}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{}",
        api.subscription(),
        path_segment(group, "resource_group_name")?,
        path_segment(name, "server name")?
    ))
}

/// The body of the server's `PUT`; the password goes only on a create or when it changed.
pub(crate) fn body(planned: &Value, prior: &Value) -> ProviderResult<Json> {
    let a = Attrs::new(planned, POSTGRES_FLEXIBLE_SERVER);
    let (sku, tier) = split_sku(&a.required_string("sku_name")?)?;
    let mut props = Map::new();
    props.insert(
        "administratorLogin".into(),
        json!(a.required_string("administrator_login")?),
    );
    let password = a.required_string("administrator_password")?;
    let old_password = Attrs::new(prior, POSTGRES_FLEXIBLE_SERVER)
        .string("administrator_password")
        .ok()
        .flatten();
    if old_password.as_deref() != Some(password.as_str()) {
        props.insert("administratorLoginPassword".into(), json!(password));
    }
    props.insert("version".into(), json!(a.required_string("version")?));
    if let Some(mb) = a.count("storage_mb")? {
        if mb % 1024 != 0 {
            return Err(ProviderError::new(
                ErrorKind::InvalidConfig,
                format!("{POSTGRES_FLEXIBLE_SERVER}.storage_mb ({mb}) must be a whole number of GiB (a multiple of 1024), such as 32768"),
            ));
        }
        props.insert("storage".into(), json!({ "storageSizeGB": mb / 1024 }));
    }
    let mut backup = Map::new();
    if let Some(days) = a.count("backup_retention_days")? {
        backup.insert("backupRetentionDays".into(), json!(days));
    }
    if let Some(geo) = a.bool("geo_redundant_backup_enabled")? {
        backup.insert(
            "geoRedundantBackup".into(),
            json!(if geo { "Enabled" } else { "Disabled" }),
        );
    }
    if !backup.is_empty() {
        props.insert("backup".into(), Json::Object(backup));
    }
    Ok(json!({
        "location": a.required_string("location")?,
        "tags": tags_json(a.string_map("tags")?),
        "sku": { "name": sku, "tier": tier },
        "properties": props,
    }))
}

fn to_object(json: &Json, prior: &Value) -> ResourceObject {
    let id = text(json, "/id");
    let p = Attrs::new(prior, POSTGRES_FLEXIBLE_SERVER);
    let mut m = BTreeMap::new();
    m.insert("id".into(), attrs::string(id));
    m.insert("name".into(), attrs::string(text(json, "/name")));
    let group = id.split('/').nth(4).unwrap_or("");
    let group = match p.raw("resource_group_name").as_str() {
        Some(g) if g.eq_ignore_ascii_case(group) => g.to_string(),
        _ => group.to_string(),
    };
    m.insert("resource_group_name".into(), attrs::string(&group));
    m.insert("location".into(), attrs::string(text(json, "/location")));
    m.insert(
        "version".into(),
        attrs::string(text(json, "/properties/version")),
    );
    m.insert(
        "sku_name".into(),
        attrs::string(&join_sku(text(json, "/sku/name"), text(json, "/sku/tier"))),
    );
    m.insert(
        "storage_mb".into(),
        int(json, "/properties/storage/storageSizeGB")
            .map(|gb| attrs::number(gb * 1024))
            .unwrap_or(Value::Null),
    );
    m.insert(
        "administrator_login".into(),
        attrs::string(text(json, "/properties/administratorLogin")),
    );
    // Azure never answers the password: what was set is what state keeps.
    m.insert(
        "administrator_password".into(),
        attrs::known(p.raw("administrator_password")).unwrap_or(Value::Null),
    );
    m.insert(
        "backup_retention_days".into(),
        int(json, "/properties/backup/backupRetentionDays")
            .map(attrs::number)
            .unwrap_or(Value::Null),
    );
    let geo = text(json, "/properties/backup/geoRedundantBackup") == "Enabled";
    m.insert(
        "geo_redundant_backup_enabled".into(),
        attrs::unless_unset(Value::Bool(geo), p.raw("geo_redundant_backup_enabled")),
    );
    m.insert(
        "tags".into(),
        attrs::unless_unset(attrs::string_map(&string_map(json, "/tags")), p.raw("tags")),
    );
    m.insert(
        "fqdn".into(),
        attrs::string(text(json, "/properties/fullyQualifiedDomainName")),
    );
    object(POSTGRES_FLEXIBLE_SERVER, id, m)
}

pub(crate) async fn put(
    api: &Api,
    planned: &Value,
    prior: &Value,
    ctx: &OperationContext,
) -> ProviderResult<ResourceObject> {
    let a = Attrs::new(planned, POSTGRES_FLEXIBLE_SERVER);
    let path = path(
        api,
        &a.required_string("resource_group_name")?,
        &a.required_string("name")?,
    )?;
    let json = api
        .put(&path, POSTGRESQL_API_VERSION, &body(planned, prior)?, ctx)
        .await?;
    Ok(to_object(&json, planned))
}

pub(crate) async fn read(
    api: &Api,
    id: &str,
    prior: &Value,
) -> ProviderResult<Option<ResourceObject>> {
    Ok(api
        .get_optional(id, POSTGRESQL_API_VERSION)
        .await?
        .map(|json| to_object(&json, prior)))
}

pub(crate) async fn delete(api: &Api, id: &str, ctx: &OperationContext) -> ProviderResult<()> {
    api.delete(id, POSTGRESQL_API_VERSION, ctx).await
}

pub(crate) async fn find(api: &Api, planned: &Value) -> ProviderResult<Option<ResourceObject>> {
    let name = planned_string(planned, "name", POSTGRES_FLEXIBLE_SERVER)?;
    let group = planned_string(planned, "resource_group_name", POSTGRES_FLEXIBLE_SERVER)?;
    Ok(api
        .get_optional(&path(api, &group, &name)?, POSTGRESQL_API_VERSION)
        .await?
        .map(|json| to_object(&json, planned)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sku_names_map_to_name_and_tier_and_back() {
        assert_eq!(
            split_sku("B_Standard_B1ms").unwrap(),
            ("Standard_B1ms".into(), "Burstable")
        );
        assert_eq!(split_sku("GP_Standard_D2s_v3").unwrap().1, "GeneralPurpose");
        assert!(split_sku("Standard_B1ms").is_err());
        assert_eq!(join_sku("Standard_B1ms", "Burstable"), "B_Standard_B1ms");
    }

    #[test]
    fn the_password_goes_only_when_it_changes() {
        let planned = Value::map([
            ("location", Value::from("westeurope")),
            ("sku_name", Value::from("B_Standard_B1ms")),
            ("version", Value::from("16")),
            ("storage_mb", Value::from(32768i64)),
            ("administrator_login", Value::from("psqladmin")),
            ("administrator_password", Value::from("pw-1").sensitive()),
        ]);
        let b = body(&planned, &Value::Null).unwrap();
        assert_eq!(b["properties"]["administratorLoginPassword"], json!("pw-1"));
        assert_eq!(b["properties"]["storage"]["storageSizeGB"], json!(32));
        assert_eq!(
            b["sku"],
            json!({"name": "Standard_B1ms", "tier": "Burstable"})
        );
        let b = body(&planned, &planned).unwrap();
        assert!(b["properties"].get("administratorLoginPassword").is_none());
    }
}
