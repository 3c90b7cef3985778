//! `digitalocean_vpc` over `/v2/vpcs`.

use crate::api::{nullable, Api, Identified};
use crate::attrs::{self, Attrs};
use crate::resources::{object, planned_name, the_one};
use crate::schema::VPC;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use strata_core::provider::{ListedObject, ProviderResult, ResourceObject};
use strata_core::Value;

/// A VPC as the API answers it (`resources/vpcs/models/vpc.yml`).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Vpc {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub urn: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub description: String,
    #[serde(default, deserialize_with = "nullable")]
    pub region: String,
    #[serde(default, deserialize_with = "nullable")]
    pub ip_range: String,
    #[serde(default, deserialize_with = "nullable")]
    pub default: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub created_at: String,
}

impl Identified for Vpc {
    fn id(&self) -> &str {
        &self.id
    }
}

/// The body of `POST /v2/vpcs`.
#[derive(Debug, Serialize)]
pub(crate) struct CreateVpc {
    pub name: String,
    pub region: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The body of `PATCH /v2/vpcs/{id}`: what can change in place.
#[derive(Debug, Serialize)]
pub(crate) struct PatchVpc {
    pub name: String,
    /// An empty description clears it.
    pub description: String,
}

pub(crate) fn create_body(planned: &Value) -> ProviderResult<CreateVpc> {
    let a = Attrs::new(planned, VPC);
    Ok(CreateVpc {
        name: a.required_string("name")?,
        region: a.required_string("region")?,
        ip_range: a.string("ip_range")?,
        description: a.string("description")?,
    })
}

pub(crate) fn patch_body(planned: &Value) -> ProviderResult<PatchVpc> {
    let a = Attrs::new(planned, VPC);
    Ok(PatchVpc {
        name: a.required_string("name")?,
        description: a.string("description")?.unwrap_or_default(),
    })
}

/// The attributes of `vpc`; `prior` (planned or state) decides how unset optionals read back.
pub(crate) fn to_object(vpc: &Vpc, prior: &Value) -> ResourceObject {
    let prior = Attrs::new(prior, VPC);
    let mut m = BTreeMap::new();
    m.insert("id".into(), attrs::string(&vpc.id));
    m.insert("urn".into(), attrs::string(&vpc.urn));
    m.insert("name".into(), attrs::string(&vpc.name));
    m.insert("region".into(), attrs::string(&vpc.region));
    m.insert("ip_range".into(), attrs::string(&vpc.ip_range));
    m.insert(
        "description".into(),
        attrs::unless_unset(
            Value::from(vpc.description.as_str()),
            prior.raw("description"),
        ),
    );
    m.insert("default".into(), Value::Bool(vpc.default));
    m.insert("created_at".into(), attrs::string(&vpc.created_at));
    object(VPC, &vpc.id, m)
}

fn path(id: &str) -> String {
    format!("/v2/vpcs/{id}")
}

async fn named(api: &Api, name: &str) -> ProviderResult<Vec<Vpc>> {
    let all: Vec<Vpc> = api.list("/v2/vpcs", "vpcs").await?;
    Ok(all.into_iter().filter(|v| v.name == name).collect())
}

/// Every VPC but the regions' default ones, which DigitalOcean makes and owns.
pub(crate) async fn list(api: &Api) -> ProviderResult<Vec<ListedObject>> {
    let all: Vec<Vpc> = api.list("/v2/vpcs", "vpcs").await?;
    Ok(all
        .into_iter()
        .filter(|v| !v.default)
        .map(|v| ListedObject {
            id: v.id,
            name: v.name,
        })
        .collect())
}

pub(crate) async fn create(api: &Api, planned: &Value) -> ProviderResult<ResourceObject> {
    let body = create_body(planned)?;
    let vpc: Vpc = api
        .create("/v2/vpcs", &body, "vpc", || named(api, &body.name))
        .await?;
    Ok(to_object(&vpc, planned))
}

pub(crate) async fn read(
    api: &Api,
    id: &str,
    prior: &Value,
) -> ProviderResult<Option<ResourceObject>> {
    let vpc: Option<Vpc> = api.get_optional(&path(id), "vpc").await?;
    Ok(vpc.map(|v| to_object(&v, prior)))
}

pub(crate) async fn update(api: &Api, id: &str, planned: &Value) -> ProviderResult<ResourceObject> {
    let body = patch_body(planned)?;
    let vpc: Vpc = api
        .call(Method::PATCH, &path(id), Some(&body))
        .await?
        .field("vpc")?;
    Ok(to_object(&vpc, planned))
}

pub(crate) async fn delete(api: &Api, id: &str) -> ProviderResult<()> {
    api.delete(&path(id)).await
}

pub(crate) async fn find(api: &Api, planned: &Value) -> ProviderResult<Option<ResourceObject>> {
    let name = planned_name(planned, VPC)?;
    let found = the_one(named(api, &name).await?, VPC, &name)?;
    Ok(found.map(|v| to_object(&v, planned)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_create_body_has_only_what_is_set() {
        let planned = Value::map([
            ("name", Value::from("shop-stage")),
            ("region", Value::from("nyc1")),
            ("ip_range", Value::from("10.10.0.0/16")),
            ("description", Value::Null),
            ("id", Value::Unknown),
        ]);
        let body = serde_json::to_value(create_body(&planned).unwrap()).unwrap();
        assert_eq!(
            body,
            json!({"name": "shop-stage", "region": "nyc1", "ip_range": "10.10.0.0/16"})
        );
        let patch = serde_json::to_value(patch_body(&planned).unwrap()).unwrap();
        assert_eq!(patch, json!({"name": "shop-stage", "description": ""}));
    }

    #[test]
    fn answers_with_unknown_fields_and_nulls_are_read() {
        let vpc: Vpc = serde_json::from_value(json!({
            "id": "5a4981aa", "urn": "do:vpc:5a4981aa", "name": "shop", "description": null,
            "region": "nyc1", "ip_range": "10.10.0.0/16", "default": false,
            "created_at": "2020-03-13T19:20:47Z", "brand_new_field": {"x": 1}
        }))
        .unwrap();
        let o = to_object(&vpc, &Value::Null);
        assert_eq!(o.id, "5a4981aa");
        assert_eq!(
            o.attributes.get("ip_range"),
            Some(Value::from("10.10.0.0/16"))
        );
        assert_eq!(o.attributes.get("description"), Some(Value::Null));
        assert_eq!(o.attributes.get("default"), Some(Value::Bool(false)));
    }
}
