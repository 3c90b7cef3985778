//! The ARM handlers: one entry point that parses the path (ARM routes without regard to case),
//! authenticates, checks `api-version`, and dispatches to the resource's handler.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use super::arm::{
    authenticated, check_api_version, cluster_id, group_id, json_response, server_id, ArmError,
    Route, CONTAINER_SERVICE, POSTGRESQL,
};
use super::model::{Cluster, Operation, Resource};
use super::{clusters, groups, servers, Account};
use crate::clock;
use crate::services::Shared;

pub(super) type ArmResult = Result<Response, ArmError>;

/// What a handler needs besides the request.
pub(super) struct Ctx {
    pub now: OffsetDateTime,
    pub ready_at: OffsetDateTime,
    pub base_url: String,
}

impl Ctx {
    /// The URL of an operation's status monitor (or, with `result`, of its result).
    pub fn operation_url(
        &self,
        sub: &str,
        namespace: &str,
        location: &str,
        id: &str,
        result: bool,
    ) -> String {
        let kind = if result {
            "operationResults"
        } else {
            "operationStatuses"
        };
        let version = match namespace {
            CONTAINER_SERVICE => super::arm::CONTAINER_SERVICE_API_VERSION,
            POSTGRESQL => super::arm::POSTGRESQL_API_VERSION,
            _ => super::arm::RESOURCES_API_VERSION,
        };
        format!(
            "{}/azure/subscriptions/{sub}/providers/{namespace}/locations/{location}/{kind}/{id}?api-version={version}",
            self.base_url
        )
    }
}

/// Every ARM request goes through here.
pub(super) async fn arm(
    State(services): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    let path = path.strip_prefix("/azure").unwrap_or(path);
    let query = uri.query().unwrap_or("");
    let reads = method == Method::GET || method == Method::HEAD;
    let mut response = match handle(&services, &method, path, query, &headers, &body) {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    let h = response.headers_mut();
    h.insert(
        "x-ms-request-id",
        HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
            .unwrap_or(HeaderValue::from_static("0")),
    );
    if !h.contains_key("x-ms-ratelimit-remaining-subscription-reads") {
        let name = if reads {
            "x-ms-ratelimit-remaining-subscription-reads"
        } else {
            "x-ms-ratelimit-remaining-subscription-writes"
        };
        h.insert(name, HeaderValue::from(11999));
    }
    response
}

fn handle(
    services: &Shared,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> ArmResult {
    if !authenticated(headers) {
        return Err(ArmError::new(
            StatusCode::UNAUTHORIZED,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        ));
    }
    let route = Route::parse(path).ok_or_else(|| {
        ArmError::new(
            StatusCode::NOT_FOUND,
            "InvalidResourceType",
            format!("The resource path '{path}' is not served by this emulated ARM."),
        )
    })?;
    check_api_version(query, route.api_version())?;
    let now = clock::now();
    let ctx = Ctx {
        now,
        ready_at: clock::after(now, services.provision_time),
        base_url: services.base_url.clone(),
    };
    let not_allowed = || {
        ArmError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!("The method {method} is not allowed on this resource."),
        )
    };
    match (&route, method.as_str()) {
        (Route::Group { sub, group }, "PUT") => groups::put(services, &ctx, sub, group, body),
        (Route::Group { sub, group }, "GET") => read(services, |a| {
            a.group(&group_id(sub, group), now)
                .map(|g| json_response(StatusCode::OK, groups::json(g, now)))
                .ok_or_else(|| ArmError::group_not_found(group))
        }),
        (Route::Group { sub, group }, "HEAD") => read(services, |a| {
            Ok(if a.group(&group_id(sub, group), now).is_some() {
                StatusCode::NO_CONTENT.into_response()
            } else {
                StatusCode::NOT_FOUND.into_response()
            })
        }),
        (Route::Group { sub, group }, "DELETE") => groups::delete(services, &ctx, sub, group),
        (Route::Cluster { sub, group, name }, "PUT") => {
            clusters::put(services, &ctx, sub, group, name, body)
        }
        (Route::Cluster { sub, group, name }, "GET") => read(services, |a| {
            let c = a.cluster(&cluster_id(sub, group, name), now)?;
            Ok(json_response(StatusCode::OK, clusters::json(c, now)))
        }),
        (Route::Cluster { sub, group, name }, "DELETE") => {
            clusters::delete(services, &ctx, sub, group, name)
        }
        (
            Route::UserCredential {
                sub,
                group,
                cluster,
            },
            "POST",
        ) => read(services, |a| {
            let c = a.cluster(&cluster_id(sub, group, cluster), now)?;
            let yaml = clusters::kubeconfig_yaml(c, &ctx.base_url);
            let value = base64::engine::general_purpose::STANDARD.encode(yaml);
            Ok(json_response(
                StatusCode::OK,
                json!({ "kubeconfigs": [{ "name": "clusterUser", "value": value }] }),
            ))
        }),
        (
            Route::Pool {
                sub,
                group,
                cluster,
                name,
            },
            "PUT",
        ) => clusters::put_pool(services, &ctx, sub, group, cluster, name, body),
        (
            Route::Pool {
                sub,
                group,
                cluster,
                name,
            },
            "GET",
        ) => read(services, |a| {
            let c = a.cluster(&cluster_id(sub, group, cluster), now)?;
            let p = c.pool(name).filter(|p| !p.is_gone(now)).ok_or_else(|| {
                ArmError::not_found(
                    "Microsoft.ContainerService/managedClusters/agentPools",
                    name,
                )
            })?;
            Ok(json_response(
                StatusCode::OK,
                clusters::pool_json(c, p, now),
            ))
        }),
        (
            Route::Pool {
                sub,
                group,
                cluster,
                name,
            },
            "DELETE",
        ) => clusters::delete_pool(services, &ctx, sub, group, cluster, name),
        (Route::Server { sub, group, name }, "PUT") => {
            servers::put(services, &ctx, sub, group, name, body)
        }
        (Route::Server { sub, group, name }, "GET") => read(services, |a| {
            let s = a.server(&server_id(sub, group, name), now)?;
            Ok(json_response(StatusCode::OK, servers::json(s, now)))
        }),
        (Route::Server { sub, group, name }, "DELETE") => {
            servers::delete(services, &ctx, sub, group, name)
        }
        (
            Route::Operation {
                sub,
                namespace,
                location,
                id,
                result,
            },
            "GET",
        ) => read(services, |a| {
            let op = a
                .operations
                .iter()
                .find(|o| &o.id == id)
                .ok_or_else(|| ArmError::not_found("operations", id))?;
            let done = now >= op.until;
            if *result {
                if done {
                    return Ok(StatusCode::NO_CONTENT.into_response());
                }
                let mut r = StatusCode::ACCEPTED.into_response();
                set_header(
                    &mut r,
                    header::LOCATION.as_str(),
                    &ctx.operation_url(sub, namespace, location, id, true),
                );
                return Ok(r);
            }
            let mut body = json!({
                "id": format!("/subscriptions/{sub}/providers/{namespace}/locations/{location}/operationStatuses/{id}"),
                "name": id,
                "status": if done { "Succeeded" } else { "InProgress" },
                "startTime": clock::display(op.started),
            });
            if done {
                body["endTime"] = json!(clock::display(op.until));
            }
            Ok(json_response(StatusCode::OK, body))
        }),
        _ => Err(not_allowed()),
    }
}

pub(super) fn read(services: &Shared, f: impl FnOnce(&Account) -> ArmResult) -> ArmResult {
    services.read(|cloud| f(&cloud.azure))?
}

pub(super) fn update<R>(
    services: &Shared,
    f: impl FnOnce(&mut Account) -> Result<R, ArmError>,
) -> Result<R, ArmError> {
    services.update(|cloud| {
        cloud.azure.purge(clock::now());
        f(&mut cloud.azure)
    })
}

pub(super) fn set_header(response: &mut Response, name: &str, value: &str) {
    if let (Ok(name), Ok(value)) = (
        axum::http::HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        response.headers_mut().insert(name, value);
    }
}

impl Account {
    pub(super) fn group(&self, id: &str, now: OffsetDateTime) -> Option<&Resource> {
        self.resource_groups
            .iter()
            .find(|g| g.is(id) && !g.is_gone(now))
    }

    pub(super) fn cluster(&self, id: &str, now: OffsetDateTime) -> Result<&Cluster, ArmError> {
        self.clusters
            .iter()
            .find(|c| c.resource.is(id) && !c.resource.is_gone(now))
            .ok_or_else(|| {
                ArmError::not_found("Microsoft.ContainerService/managedClusters", last(id))
            })
    }

    pub(super) fn server(&self, id: &str, now: OffsetDateTime) -> Result<&Resource, ArmError> {
        self.servers
            .iter()
            .find(|s| s.is(id) && !s.is_gone(now))
            .ok_or_else(|| {
                ArmError::not_found("Microsoft.DBforPostgreSQL/flexibleServers", last(id))
            })
    }

    /// The resource group a new resource goes into, which must exist and not be going away.
    pub(super) fn live_group(
        &self,
        sub: &str,
        group: &str,
        now: OffsetDateTime,
    ) -> Result<&Resource, ArmError> {
        match self.group(&group_id(sub, group), now) {
            Some(g) if g.is_deleting() => Err(ArmError::conflict(format!(
                "The resource group '{group}' is being deleted."
            ))),
            Some(g) => Ok(g),
            None => Err(ArmError::group_not_found(group)),
        }
    }

    /// Forgets what has finished being deleted, and old operation monitors.
    pub(super) fn purge(&mut self, now: OffsetDateTime) {
        self.resource_groups.retain(|g| !g.is_gone(now));
        self.clusters.retain(|c| !c.resource.is_gone(now));
        for c in &mut self.clusters {
            c.pools.retain(|p| !p.is_gone(now));
        }
        self.servers.retain(|s| !s.is_gone(now));
        let horizon = now - time::Duration::HOUR;
        self.operations.retain(|o| o.until > horizon);
    }

    pub(super) fn start_operation(&mut self, ctx: &Ctx) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        self.operations.push(Operation {
            id: id.clone(),
            started: ctx.now,
            until: ctx.ready_at,
        });
        id
    }
}

pub(super) fn last(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

pub(super) fn parse_json(body: &Bytes) -> Result<Map<String, Value>, ArmError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ArmError::invalid(
            "The request content must be a JSON object.",
        )),
        Err(e) => Err(ArmError::new(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContent",
            format!("The request content was invalid and could not be deserialized: {e}"),
        )),
    }
}

pub(super) fn tags_of(
    body: &Map<String, Value>,
) -> Result<Option<std::collections::BTreeMap<String, String>>, ArmError> {
    match body.get("tags") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v.clone())
            .map(Some)
            .map_err(|_| ArmError::invalid("tags must be an object of strings")),
    }
}

pub(super) fn properties_of(body: &Map<String, Value>) -> Map<String, Value> {
    match body.get("properties") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    }
}

pub(super) fn async_response(
    status: StatusCode,
    body: Option<Value>,
    status_url: &str,
    result_url: Option<&str>,
) -> Response {
    let mut r = match body {
        Some(b) => json_response(status, b),
        None => status.into_response(),
    };
    set_header(&mut r, "azure-asyncoperation", status_url);
    if let Some(url) = result_url {
        set_header(&mut r, header::LOCATION.as_str(), url);
    }
    r
}
