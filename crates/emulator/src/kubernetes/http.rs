//! The HTTP face of the emulated API servers: `/k8s/{cluster_id}/...` routed to the cluster's
//! store, with discovery documents built from the types it serves.

use super::catalog::{ResourceType, VERBS};
use super::selector::Selector;
use super::status::{ApiError, ApiResult};
use super::store::{Cluster, WriteOptions};
use super::KubeApis;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub(crate) fn router(apis: KubeApis) -> Router {
    Router::new()
        .route("/k8s/{cluster}", any(root))
        .route("/k8s/{cluster}/", any(root))
        .route("/k8s/{cluster}/{*rest}", any(handle))
        .with_state(apis)
}

/// The parts of a request an operation needs.
struct Request {
    method: Method,
    query: BTreeMap<String, String>,
    content_type: String,
    body: Bytes,
}

async fn root(
    State(apis): State<KubeApis>,
    Path(cluster): Path<String>,
    method: Method,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(&apis, &cluster, "", method, query, &headers, body)
}

async fn handle(
    State(apis): State<KubeApis>,
    Path((cluster, rest)): Path<(String, String)>,
    method: Method,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(&apis, &cluster, &rest, method, query, &headers, body)
}

fn respond(
    apis: &KubeApis,
    cluster: &str,
    rest: &str,
    method: Method,
    query: Vec<(String, String)>,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let req = Request {
        method,
        query: query.into_iter().collect(),
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/json")
            .to_string(),
        body,
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let result = apis.with_cluster(cluster, token, |c, clock| {
        let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        route(c, &segments, &req, clock)
    });
    match result {
        Ok((code, v)) => json_response(code, &v),
        Err(e) => json_response(
            StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            &e.to_status(),
        ),
    }
}

fn json_response(code: StatusCode, v: &Value) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

/// What a write does to the store, and whether it changed anything worth saving.
pub(crate) type Outcome = (StatusCode, Value);

fn route(
    c: &mut Cluster,
    segments: &[&str],
    req: &Request,
    clock: &super::store::Clock,
) -> ApiResult<(Outcome, bool)> {
    let read = |v: Value| Ok(((StatusCode::OK, v), false));
    match segments {
        [] => read(json!({"paths": ["/api", "/api/v1", "/apis", "/version", "/healthz"]})),
        ["version"] => read(version()),
        ["healthz" | "readyz" | "livez"] => read(json!("ok")),
        ["api"] => read(json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
        })),
        ["apis"] => read(group_list(c)),
        ["apis", group] => group_doc(c, group)
            .map(|g| ((StatusCode::OK, g), false))
            .ok_or_else(|| ApiError::not_found("groups", group)),
        ["api", version] => resource_list(c, "", version),
        ["apis", group, version] => resource_list(c, group, version),
        ["api", version, rest @ ..] => resource_request(c, "", version, rest, req, clock),
        ["apis", group, version, rest @ ..] => {
            resource_request(c, group, version, rest, req, clock)
        }
        _ => Err(ApiError::not_found("paths", &segments.join("/"))),
    }
}

fn version() -> Value {
    json!({
        "major": "1", "minor": "31",
        "gitVersion": "v1.31.1", "gitCommit": "strata-emulator", "gitTreeState": "clean",
        "buildDate": "2024-09-11T00:00:00Z", "goVersion": "go1.22.6",
        "compiler": "gc", "platform": "linux/amd64",
    })
}

fn group_doc_of(group: &str, types: &[ResourceType]) -> Value {
    let mut versions: Vec<&str> = types
        .iter()
        .filter(|t| t.group == group)
        .map(|t| t.version.as_str())
        .collect();
    versions.dedup();
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    json!({
        "kind": "APIGroup", "apiVersion": "v1", "name": group,
        "versions": versions, "preferredVersion": versions.first().cloned().unwrap_or(Value::Null),
    })
}

fn group_list(c: &Cluster) -> Value {
    let types = c.types();
    let mut groups: Vec<&str> = Vec::new();
    for t in types.iter().filter(|t| !t.group.is_empty()) {
        if !groups.contains(&t.group.as_str()) {
            groups.push(&t.group);
        }
    }
    let docs: Vec<Value> = groups.iter().map(|g| group_doc_of(g, &types)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": docs})
}

fn group_doc(c: &Cluster, group: &str) -> Option<Value> {
    let types = c.types();
    types
        .iter()
        .any(|t| t.group == group)
        .then(|| group_doc_of(group, &types))
}

fn resource_list(c: &Cluster, group: &str, version: &str) -> ApiResult<(Outcome, bool)> {
    let types: Vec<ResourceType> = c
        .types()
        .into_iter()
        .filter(|t| t.group == group && t.version == version)
        .collect();
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    if types.is_empty() {
        return Err(ApiError::not_found("groupversions", &gv));
    }
    let mut resources = Vec::new();
    for t in &types {
        resources.push(json!({
            "name": t.plural, "singularName": t.singular, "namespaced": t.namespaced,
            "kind": t.kind, "verbs": VERBS, "shortNames": t.short_names,
        }));
        if t.rolls_out() {
            resources.push(json!({
                "name": format!("{}/status", t.plural), "singularName": "", "namespaced": t.namespaced,
                "kind": t.kind, "verbs": ["get", "patch", "update"],
            }));
        }
    }
    let doc = json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources});
    Ok(((StatusCode::OK, doc), false))
}

/// Splits what follows `/{group}/{version}/` into type, namespace, name and subresource.
fn resource_request(
    c: &mut Cluster,
    group: &str,
    version: &str,
    rest: &[&str],
    req: &Request,
    clock: &super::store::Clock,
) -> ApiResult<(Outcome, bool)> {
    let find = |plural: &str| {
        c.find_type(group, version, plural).ok_or_else(|| {
            ApiError::not_found(
                "resources",
                &if group.is_empty() {
                    plural.to_string()
                } else {
                    format!("{plural}.{group}")
                },
            )
        })
    };
    let namespaced_collection = |ns: &str, plural: &str| {
        let rt = find(plural)?;
        if !rt.namespaced {
            return Err(ApiError::not_found("resources", plural));
        }
        Ok((rt, Some(ns.to_string())))
    };
    let (rt, ns, name, sub) = match rest {
        [plural] => (find(plural)?, None, None, None),
        [plural, name] => (find(plural)?, None, Some(*name), None),
        ["namespaces", ns, plural] if find(plural).is_ok() => {
            let (rt, ns) = namespaced_collection(ns, plural)?;
            (rt, ns, None, None)
        }
        [plural, name, sub] => (find(plural)?, None, Some(*name), Some(*sub)),
        ["namespaces", ns, plural, name] => {
            let (rt, ns) = namespaced_collection(ns, plural)?;
            (rt, ns, Some(*name), None)
        }
        ["namespaces", ns, plural, name, sub] => {
            let (rt, ns) = namespaced_collection(ns, plural)?;
            (rt, ns, Some(*name), Some(*sub))
        }
        _ => return Err(ApiError::not_found("paths", &rest.join("/"))),
    };
    if rt.namespaced && name.is_some() && ns.is_none() {
        return Err(ApiError::not_found("resources", &rt.plural));
    }
    let ns = ns.as_deref();
    match (sub, name) {
        (Some("status"), Some(name)) if req.method == Method::GET => {
            let v = c.get(&rt, ns, name, clock)?;
            Ok(((StatusCode::OK, v), false))
        }
        (Some(sub), _) => Err(ApiError::method_not_allowed(format!(
            "the emulator does not serve {} on the {sub} subresource of {}",
            req.method,
            rt.qualified_plural()
        ))),
        (None, None) => collection(c, &rt, ns, req, clock),
        (None, Some(name)) => item(c, &rt, ns, name, req, clock),
    }
}

fn write_options(req: &Request) -> ApiResult<WriteOptions> {
    let dry_run = match req.query.get("dryRun").map(String::as_str) {
        None | Some("") => false,
        Some("All") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "dryRun: unsupported value {other:?}: supported values: \"All\""
            )))
        }
    };
    Ok(WriteOptions {
        manager: req
            .query
            .get("fieldManager")
            .cloned()
            .unwrap_or_else(|| "unknown".into()),
        force: req.query.get("force").is_some_and(|f| f == "true"),
        dry_run,
    })
}

/// Reads a body as JSON, or as YAML (apply patches may be either).
fn parse_body(req: &Request) -> ApiResult<Value> {
    if let Ok(v) = serde_json::from_slice::<Value>(&req.body) {
        return Ok(v);
    }
    let is_yaml = req.content_type.contains("yaml");
    if is_yaml {
        if let Ok(v) = serde_yaml::from_slice::<Value>(&req.body) {
            return Ok(v);
        }
    }
    Err(ApiError::bad_request(format!(
        "the request body is not valid {}",
        if is_yaml { "YAML" } else { "JSON" }
    )))
}

fn collection(
    c: &mut Cluster,
    rt: &ResourceType,
    ns: Option<&str>,
    req: &Request,
    clock: &super::store::Clock,
) -> ApiResult<(Outcome, bool)> {
    match req.method {
        Method::GET => {
            if req
                .query
                .get("watch")
                .is_some_and(|w| w == "true" || w == "1")
            {
                return Err(ApiError::method_not_allowed(
                    "the emulator does not serve watches",
                ));
            }
            let selector = Selector::parse(
                req.query
                    .get("labelSelector")
                    .map(String::as_str)
                    .unwrap_or(""),
            )?;
            Ok(((StatusCode::OK, c.list(rt, ns, &selector, clock)), false))
        }
        Method::POST => {
            let opts = write_options(req)?;
            let v = c.create(rt, ns, parse_body(req)?, &opts, clock)?;
            Ok(((StatusCode::CREATED, v), !opts.dry_run))
        }
        _ => Err(ApiError::method_not_allowed(format!(
            "{} is not allowed on a collection",
            req.method
        ))),
    }
}

fn item(
    c: &mut Cluster,
    rt: &ResourceType,
    ns: Option<&str>,
    name: &str,
    req: &Request,
    clock: &super::store::Clock,
) -> ApiResult<(Outcome, bool)> {
    match req.method {
        Method::GET => Ok(((StatusCode::OK, c.get(rt, ns, name, clock)?), false)),
        Method::PUT => {
            let opts = write_options(req)?;
            let v = c.replace(rt, ns, name, parse_body(req)?, &opts, clock)?;
            Ok(((StatusCode::OK, v), !opts.dry_run))
        }
        Method::DELETE => {
            let opts = write_options(req)?;
            let v = c.delete(rt, ns, name, opts.dry_run, clock)?;
            Ok(((StatusCode::OK, v), !opts.dry_run))
        }
        Method::PATCH => {
            let opts = write_options(req)?;
            let ct = req.content_type.split(';').next().unwrap_or("").trim();
            match ct {
                "application/apply-patch+yaml" | "application/apply-patch+json" => {
                    if req.query.get("fieldManager").is_none_or(String::is_empty) {
                        return Err(ApiError::bad_request(
                            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
                        ));
                    }
                    let (v, created) = c.apply(rt, ns, name, parse_body(req)?, &opts, clock)?;
                    let code = if created {
                        StatusCode::CREATED
                    } else {
                        StatusCode::OK
                    };
                    Ok(((code, v), !opts.dry_run))
                }
                "application/merge-patch+json" | "application/strategic-merge-patch+json" => {
                    let v = c.merge_patch(rt, ns, name, &parse_body(req)?, &opts, clock)?;
                    Ok(((StatusCode::OK, v), !opts.dry_run))
                }
                other => Err(ApiError::unsupported_media_type(other)),
            }
        }
        _ => Err(ApiError::method_not_allowed(format!(
            "{} is not allowed on an object",
            req.method
        ))),
    }
}
