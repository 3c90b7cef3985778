//! `azure_resource_group` over `/subscriptions/{id}/resourcegroups/{name}`.

use super::{
    object, path_segment, planned_string, string_map, tags_json, text, RESOURCES_API_VERSION,
};
use crate::api::{Api, Json};
use crate::attrs::{self, Attrs};
use crate::schema::RESOURCE_GROUP;
use std::collections::BTreeMap;
use strata_core::provider::{OperationContext, ProviderResult, ResourceObject};
use strata_core::Value;

fn path(api: &Api, name: &str) -> ProviderResult<String> {
    Ok(format!(
        "{}/resourcegroups/{}",
        api.subscription(),
        path_segment(name, "resource group name")?
    ))
}

fn to_object(json: &Json, prior: &Value) -> ResourceObject {
    let prior = Attrs::new(prior, RESOURCE_GROUP);
    let mut m = BTreeMap::new();
    m.insert("id".into(), attrs::string(text(json, "/id")));
    m.insert("name".into(), attrs::string(text(json, "/name")));
    m.insert("location".into(), attrs::string(text(json, "/location")));
    m.insert(
        "tags".into(),
        attrs::unless_unset(
            attrs::string_map(&string_map(json, "/tags")),
            prior.raw("tags"),
        ),
    );
    object(RESOURCE_GROUP, text(json, "/id"), m)
}

pub(crate) async fn put(
    api: &Api,
    planned: &Value,
    ctx: &OperationContext,
) -> ProviderResult<ResourceObject> {
    let a = Attrs::new(planned, RESOURCE_GROUP);
    let path = path(api, &a.required_string("name")?)?;
    let body = serde_json::json!({
        "location": a.required_string("location")?,
        "tags": tags_json(a.string_map("tags")?),
    });
    let json = api.put(&path, RESOURCES_API_VERSION, &body, ctx).await?;
    Ok(to_object(&json, planned))
}

pub(crate) async fn read(
    api: &Api,
    id: &str,
    prior: &Value,
) -> ProviderResult<Option<ResourceObject>> {
    Ok(api
        .get_optional(id, RESOURCES_API_VERSION)
        .await?
        .map(|json| to_object(&json, prior)))
}

pub(crate) async fn delete(api: &Api, id: &str, ctx: &OperationContext) -> ProviderResult<()> {
    api.delete(id, RESOURCES_API_VERSION, ctx).await
}

pub(crate) async fn find(api: &Api, planned: &Value) -> ProviderResult<Option<ResourceObject>> {
    let name = planned_string(planned, "name", RESOURCE_GROUP)?;
    let path = path(api, &name)?;
    Ok(api
        .get_optional(&path, RESOURCES_API_VERSION)
        .await?
        .map(|json| to_object(&json, planned)))
}
