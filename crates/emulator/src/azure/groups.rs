//! Resource groups (`Microsoft.Resources`): created and updated synchronously, deleted as an
//! operation that takes everything in the group along.

use axum::body::Bytes;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::arm::{group_id, json_response, ArmError};
use super::handlers::{parse_json, set_header, tags_of, update, ArmResult, Ctx};
use super::model::{Resource, Transition};
use crate::services::Shared;

pub(super) fn json(g: &Resource, now: OffsetDateTime) -> Value {
    json!({
        "id": g.id,
        "name": g.name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": g.location,
        "tags": g.tags,
        "properties": { "provisioningState": if g.is_deleting() { "Deleting" } else { g.provisioning_state(now) } },
    })
}

pub(super) fn put(services: &Shared, ctx: &Ctx, sub: &str, group: &str, body: &Bytes) -> ArmResult {
    let body = parse_json(body)?;
    let location = body
        .get("location")
        .and_then(Value::as_str)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| ArmError::invalid("The 'location' property is required."))?
        .to_string();
    let tags = tags_of(&body)?;
    update(services, |a| {
        let id = group_id(sub, group);
        if let Some(g) = a.resource_groups.iter_mut().find(|g| g.is(&id)) {
            if g.is_deleting() {
                return Err(ArmError::conflict(format!(
                    "The resource group '{group}' is being deleted."
                )));
            }
            if !g.location.eq_ignore_ascii_case(&location) {
                return Err(ArmError::new(
                    StatusCode::CONFLICT,
                    "InvalidResourceGroupLocation",
                    format!("Invalid resource group location '{location}'. The Resource group already exists in location '{}'.", g.location),
                ));
            }
            g.tags = tags.unwrap_or_default();
            return Ok(json_response(StatusCode::OK, json(g, ctx.now)));
        }
        let mut g = Resource::new(id, group, &location, ctx.now);
        g.tags = tags.unwrap_or_default();
        let out = json(&g, ctx.now);
        a.resource_groups.push(g);
        Ok(json_response(StatusCode::CREATED, out))
    })
}

pub(super) fn delete(services: &Shared, ctx: &Ctx, sub: &str, group: &str) -> ArmResult {
    update(services, |a| {
        let id = group_id(sub, group);
        let location = match a.group(&id, ctx.now) {
            Some(g) => g.location.clone(),
            None => return Err(ArmError::group_not_found(group)),
        };
        let deleting = Transition {
            state: "Deleting".into(),
            until: ctx.ready_at,
        };
        let in_group = |r: &Resource| {
            r.resource_group().eq_ignore_ascii_case(group)
                && r.id.starts_with(&format!("/subscriptions/{sub}/"))
        };
        for g in a.resource_groups.iter_mut().filter(|g| g.is(&id)) {
            g.transition = Some(deleting.clone());
        }
        for c in a.clusters.iter_mut().filter(|c| in_group(&c.resource)) {
            c.resource.transition = Some(deleting.clone());
        }
        for s in a.servers.iter_mut().filter(|s| in_group(s)) {
            s.transition = Some(deleting.clone());
        }
        let op = a.start_operation(ctx);
        let mut r = StatusCode::ACCEPTED.into_response();
        set_header(
            &mut r,
            header::LOCATION.as_str(),
            &ctx.operation_url(sub, "Microsoft.Resources", &location, &op, true),
        );
        Ok(r)
    })
}
