//! Checking Google Cloud requests against the APIs' discovery documents
//! (`container.v1.json`, `sqladmin.v1.json`).
//!
//! [`Discovery::load`] reads one discovery document and collects every method of its nested
//! `resources`. [`Discovery::check_log`] then checks each request of the emulator's request log
//! whose path starts with a given prefix (the emulator serves GKE under `/google/container`):
//!
//! - the method and the path, without the prefix, must match a method's `flatPath` (or its
//!   `path` when it has none), relative to the document's `servicePath`. In a template, `{name}` stands for one or more
//!   characters other than `/` and `:` (so `{clustersId}:setSize` separates the custom method),
//!   and `{+name}` for one or more of any characters, `/` included;
//! - every query parameter must be one the method declares, or one of the document's own
//!   `parameters` (`alt`, `fields`, `$.xgafv`...); system parameters written with a leading `$`
//!   (`$alt`) are looked up without it;
//! - every property of a JSON request body, at every depth, must be declared by the method's
//!   `request` schema, followed through `$ref` into `schemas`, `properties`, `items` of arrays and
//!   `additionalProperties` of maps; a method without a `request` takes no body;
//! - the response must be a success (2xx) whose JSON body declares only properties of the
//!   method's `response` schema, at every depth, or an error (400 or more) in Google's shape,
//!   `{"error": {"code": ..., "message": ..., "status": ...}}`.
//!
//! Values are not checked against their types or formats, and enums may be names or numbers
//! (the client libraries ask for `enum-encoding=int`).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde_json::{Map, Value};

use crate::check::{CheckReport, Violation};
use crate::SpecError;

/// A guard against schemas that refer to themselves (`Status.details` → `Any` ...).
const MAX_DEPTH: usize = 64;

/// One method of a discovery document.
#[derive(Debug, Clone)]
struct Method {
    id: String,
    http_method: String,
    /// The template the path must match: `flatPath`, else `path`, relative to the service path.
    templates: Vec<Vec<Token>>,
    query: Vec<String>,
    request: Option<String>,
    response: Option<String>,
}

/// A piece of a path template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(String),
    /// `{name}`: one or more characters other than `/` and `:`.
    Segment,
    /// `{+name}`: one or more characters of any kind.
    Rest,
}

fn parse_template(template: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            tokens.push(Token::Literal(rest[..open].to_string()));
        }
        let Some(close) = rest[open..].find('}') else {
            tokens.push(Token::Literal(rest[open..].to_string()));
            return tokens;
        };
        let inner = &rest[open + 1..open + close];
        tokens.push(if inner.starts_with('+') {
            Token::Rest
        } else {
            Token::Segment
        });
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        tokens.push(Token::Literal(rest.to_string()));
    }
    tokens
}

/// Whether `path` matches the template `tokens` (backtracking over variable lengths).
fn matches(tokens: &[Token], path: &str) -> bool {
    match tokens.split_first() {
        None => path.is_empty(),
        Some((Token::Literal(l), rest)) => path
            .strip_prefix(l.as_str())
            .is_some_and(|p| matches(rest, p)),
        Some((variable, rest)) => {
            let allowed = |c: char| *variable == Token::Rest || (c != '/' && c != ':');
            for (i, c) in path.char_indices() {
                if !allowed(c) {
                    break;
                }
                if matches(rest, &path[i + c.len_utf8()..]) {
                    return true;
                }
            }
            false
        }
    }
}

/// A loaded discovery document.
#[derive(Debug)]
pub struct Discovery {
    name: String,
    service_path: String,
    schemas: Map<String, Value>,
    /// The document's own parameters (`alt`, `fields`, `key`, `$.xgafv`...).
    global_query: Vec<String>,
    methods: Vec<Method>,
}

impl Discovery {
    /// Reads the discovery document at `path`.
    pub fn load(path: &Path) -> Result<Discovery, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let doc: Value = serde_json::from_str(&text).map_err(|e| SpecError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Discovery::from_value(&doc).map_err(|message| SpecError::Invalid {
            file: path.to_path_buf(),
            message,
        })
    }

    /// Reads a discovery document already parsed; `Err` says what it lacks.
    pub fn from_value(doc: &Value) -> Result<Discovery, String> {
        let resources = doc
            .get("resources")
            .and_then(Value::as_object)
            .ok_or("no `resources` object: not a discovery document")?;
        let mut methods = Vec::new();
        collect_methods(resources, &mut methods);
        if methods.is_empty() {
            return Err("the document declares no methods".into());
        }
        Ok(Discovery {
            name: doc
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("api")
                .to_string(),
            service_path: doc
                .get("servicePath")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            schemas: doc
                .get("schemas")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
            global_query: doc
                .get("parameters")
                .and_then(Value::as_object)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default(),
            methods,
        })
    }

    /// The methods whose templates match `path` (which starts with `/`), any HTTP method.
    fn matching(&self, path: &str) -> Vec<&Method> {
        let relative = path.trim_start_matches('/');
        let relative = relative
            .strip_prefix(self.service_path.as_str())
            .unwrap_or(relative);
        self.methods
            .iter()
            .filter(|m| m.templates.iter().any(|t| matches(t, relative)))
            .collect()
    }

    /// Checks every request of `log` whose path starts with `path_prefix`; see the module
    /// documentation for what is checked.
    pub fn check_log(&self, log: &Path, path_prefix: &str) -> Result<CheckReport, SpecError> {
        let io_error = |source| SpecError::Io {
            path: log.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(log).map_err(io_error)?;
        let mut report = CheckReport::default();
        for (index, line) in BufReader::new(file).lines().enumerate() {
            let line_number = index + 1;
            let line = line.map_err(io_error)?;
            if line.trim().is_empty() {
                continue;
            }
            let log_error = |message: String| SpecError::Log {
                path: log.to_path_buf(),
                line: line_number,
                message,
            };
            let entry: Value =
                serde_json::from_str(&line).map_err(|e| log_error(format!("not JSON: {e}")))?;
            let text = |name: &str| {
                entry
                    .get(name)
                    .and_then(Value::as_str)
                    .ok_or_else(|| log_error(format!("no string `{name}`")))
            };
            let method = text("method")?;
            let full_path = text("path")?;
            let (path, inline_query) = full_path.split_once('?').unwrap_or((full_path, ""));
            let Some(api_path) = path.strip_prefix(path_prefix) else {
                continue;
            };
            if !api_path.starts_with('/') {
                continue;
            }
            let status = entry
                .get("status")
                .and_then(Value::as_u64)
                .ok_or_else(|| log_error("no numeric `status`".into()))?;
            report.checked += 1;
            let query = entry
                .get("query")
                .and_then(Value::as_str)
                .filter(|q| !q.is_empty())
                .unwrap_or(inline_query);
            let exchange = Exchange {
                method,
                path: api_path,
                query,
                request: entry.get("request_body"),
                status,
                response: entry.get("response_body"),
            };
            report
                .violations
                .extend(self.check(&exchange).into_iter().map(|problem| Violation {
                    line: line_number,
                    method: method.to_string(),
                    path: path.to_string(),
                    problem,
                }));
        }
        Ok(report)
    }

    fn check(&self, x: &Exchange) -> Vec<String> {
        let candidates = self.matching(x.path);
        if candidates.is_empty() {
            return vec![format!(
                "no method of the {} API matches this path",
                self.name
            )];
        }
        let Some(m) = candidates
            .iter()
            .find(|m| m.http_method.eq_ignore_ascii_case(x.method))
        else {
            let ids: Vec<&str> = candidates.iter().map(|m| m.id.as_str()).collect();
            return vec![format!(
                "no {} method for this path (it has {})",
                x.method,
                ids.join(", ")
            )];
        };
        let mut problems = Vec::new();
        for (key, _) in form_urlencoded::parse(x.query.as_bytes()) {
            let bare = key.strip_prefix('$').unwrap_or(&key);
            let known = m.query.iter().any(|q| q == &*key)
                || self.global_query.iter().any(|q| q == &*key || q == bare);
            if !known {
                problems.push(format!(
                    "query parameter `{key}` is not declared by {}",
                    m.id
                ));
            }
        }
        match (x.request.filter(|b| !b.is_null()), &m.request) {
            (Some(Value::String(s)), _) if s.trim().is_empty() => {}
            (Some(body), Some(schema)) => self.check_value(
                &ref_schema(schema),
                body,
                "",
                0,
                "request body",
                &mut problems,
            ),
            (Some(_), None) => problems.push(format!("request body sent, but {} takes none", m.id)),
            (None, _) => {}
        }
        match x.status {
            200..=299 => {
                if let (Some(body), Some(schema)) =
                    (x.response.filter(|b| !b.is_null()), &m.response)
                {
                    self.check_value(
                        &ref_schema(schema),
                        body,
                        "",
                        0,
                        "response body",
                        &mut problems,
                    );
                }
            }
            400.. => {
                let shaped = x.response.and_then(|b| b.get("error")).is_some_and(|e| {
                    e.get("code").is_some_and(Value::is_u64)
                        && e.get("message").is_some_and(Value::is_string)
                });
                if !shaped {
                    problems.push(format!(
                        "error response {} is not in Google's shape {{\"error\": {{\"code\", \"message\", \"status\"}}}}",
                        x.status
                    ));
                }
            }
            other => problems.push(format!(
                "response status {other} is neither a success nor an error"
            )),
        }
        problems
    }

    /// Follows `$ref`s to a schema that is not a reference.
    fn resolve<'a>(&'a self, mut schema: &'a Value) -> Option<&'a Value> {
        for _ in 0..MAX_DEPTH {
            match schema.get("$ref").and_then(Value::as_str) {
                Some(name) => schema = self.schemas.get(name)?,
                None => return Some(schema),
            }
        }
        None
    }

    /// Reports every property of `value` that `schema` does not declare, at any depth.
    fn check_value(
        &self,
        schema: &Value,
        value: &Value,
        at: &str,
        depth: usize,
        what: &str,
        out: &mut Vec<String>,
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        let Some(schema) = self.resolve(schema) else {
            out.push(format!(
                "{what}: the schema of `{at}` refers to an unknown schema"
            ));
            return;
        };
        match value {
            Value::Object(fields) => {
                let props = schema.get("properties").and_then(Value::as_object);
                let open = schema.get("additionalProperties");
                if props.is_none() && open.is_none() {
                    // An object of any shape (`type: any`, `google.protobuf.Any`...).
                    return;
                }
                for (k, v) in fields {
                    let here = if at.is_empty() {
                        k.clone()
                    } else {
                        format!("{at}.{k}")
                    };
                    match (props.and_then(|p| p.get(k)), open) {
                        (Some(s), _) | (None, Some(s @ Value::Object(_))) => {
                            self.check_value(s, v, &here, depth + 1, what, out)
                        }
                        (None, Some(Value::Bool(true))) => {}
                        _ => out.push(format!(
                            "{what}: property `{here}` is not declared by the schema"
                        )),
                    }
                }
            }
            Value::Array(items) => {
                if let Some(item) = schema.get("items") {
                    for (i, v) in items.iter().enumerate() {
                        self.check_value(item, v, &format!("{at}[{i}]"), depth + 1, what, out);
                    }
                }
            }
            _ => {}
        }
    }
}

/// One logged request and its answer.
struct Exchange<'a> {
    method: &'a str,
    path: &'a str,
    query: &'a str,
    request: Option<&'a Value>,
    status: u64,
    response: Option<&'a Value>,
}

fn ref_schema(name: &str) -> Value {
    serde_json::json!({ "$ref": name })
}

fn collect_methods(resources: &Map<String, Value>, out: &mut Vec<Method>) {
    for resource in resources.values() {
        if let Some(methods) = resource.get("methods").and_then(Value::as_object) {
            for (name, m) in methods {
                let str_of = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
                // `flatPath` spells every segment out; `path` (`v1/{+name}`) only constrains
                // its variables through patterns, so it is used only when there is no flatPath.
                let templates: Vec<Vec<Token>> = str_of("flatPath")
                    .or_else(|| str_of("path"))
                    .map(|t| vec![parse_template(&t)])
                    .unwrap_or_default();
                let query = m
                    .get("parameters")
                    .and_then(Value::as_object)
                    .map(|p| {
                        p.iter()
                            .filter(|(_, d)| {
                                d.get("location").and_then(Value::as_str) == Some("query")
                            })
                            .map(|(k, _)| k.clone())
                            .collect()
                    })
                    .unwrap_or_default();
                let reference = |k: &str| {
                    m.get(k)
                        .and_then(|r| r.get("$ref"))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                };
                out.push(Method {
                    id: str_of("id").unwrap_or_else(|| name.clone()),
                    http_method: str_of("httpMethod").unwrap_or_else(|| "GET".into()),
                    templates,
                    query,
                    request: reference("request"),
                    response: reference("response"),
                });
            }
        }
        if let Some(nested) = resource.get("resources").and_then(Value::as_object) {
            collect_methods(nested, out);
        }
    }
}

/// How many methods of each HTTP method the document has, for diagnostics.
pub fn method_counts(d: &Discovery) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for m in &d.methods {
        *out.entry(m.http_method.clone()).or_insert(0) += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "name": "container",
            "servicePath": "",
            "parameters": { "alt": {"location": "query"}, "$.xgafv": {"location": "query"} },
            "resources": { "projects": { "resources": { "locations": { "resources": { "clusters": {
                "methods": {
                    "get": {
                        "id": "container.projects.locations.clusters.get",
                        "httpMethod": "GET",
                        "flatPath": "v1/projects/{projectsId}/locations/{locationsId}/clusters/{clustersId}",
                        "path": "v1/{+name}",
                        "parameters": { "projectId": {"location": "query"}, "name": {"location": "path"} },
                        "response": {"$ref": "Cluster"}
                    },
                    "create": {
                        "id": "container.projects.locations.clusters.create",
                        "httpMethod": "POST",
                        "flatPath": "v1/projects/{projectsId}/locations/{locationsId}/clusters",
                        "path": "v1/{+parent}/clusters",
                        "request": {"$ref": "CreateClusterRequest"},
                        "response": {"$ref": "Operation"}
                    },
                    "setResourceLabels": {
                        "id": "container.projects.locations.clusters.setResourceLabels",
                        "httpMethod": "POST",
                        "flatPath": "v1/projects/{projectsId}/locations/{locationsId}/clusters/{clustersId}:setResourceLabels",
                        "path": "v1/{+name}:setResourceLabels",
                        "request": {"$ref": "SetLabelsRequest"},
                        "response": {"$ref": "Operation"}
                    }
                }
            }}}}}},
            "schemas": {
                "CreateClusterRequest": {"properties": {"cluster": {"$ref": "Cluster"}, "parent": {"type": "string"}}},
                "SetLabelsRequest": {"properties": {"resourceLabels": {"type": "object", "additionalProperties": {"type": "string"}}}},
                "Cluster": {"properties": {
                    "name": {"type": "string"},
                    "nodePools": {"type": "array", "items": {"$ref": "NodePool"}},
                    "resourceLabels": {"type": "object", "additionalProperties": {"type": "string"}}
                }},
                "NodePool": {"properties": {"name": {"type": "string"}, "config": {"$ref": "NodeConfig"}}},
                "NodeConfig": {"properties": {"machineType": {"type": "string"}}},
                "Operation": {"properties": {"name": {"type": "string"}, "status": {"type": "string"}}}
            }
        })
    }

    fn log(dir: &Path, lines: &[Value]) -> std::path::PathBuf {
        let text: Vec<String> = lines.iter().map(Value::to_string).collect();
        let path = dir.join("requests.jsonl");
        std::fs::write(&path, text.join("\n")).unwrap();
        path
    }

    const BASE: &str = "/google/container/v1/projects/p/locations/europe-west1/clusters";

    #[test]
    fn templates_match_flat_paths_custom_methods_and_plus_variables() {
        let flat = parse_template("v1/projects/{p}/clusters/{c}:setSize");
        assert!(matches(&flat, "v1/projects/a/clusters/b:setSize"));
        assert!(!matches(&flat, "v1/projects/a/clusters/b"));
        assert!(!matches(&flat, "v1/projects/a/b/clusters/c:setSize"));
        let plain = parse_template("v1/projects/{p}/clusters/{c}");
        assert!(!matches(&plain, "v1/projects/a/clusters/b:setSize"));
        let plus = parse_template("v1/{+name}:setSize");
        assert!(matches(&plus, "v1/projects/a/clusters/b:setSize"));
        assert!(!matches(&plus, "v1/:setSize"));
    }

    #[test]
    fn declared_requests_pass_and_each_departure_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let spec = Discovery::from_value(&doc()).unwrap();
        assert_eq!(method_counts(&spec)["POST"], 2);
        let good_create = json!({"parent": "projects/p/locations/l", "cluster": {
            "name": "c", "nodePools": [{"name": "np", "config": {"machineType": "e2-medium"}}],
            "resourceLabels": {"team": "data"}}});
        let bad_create =
            json!({"cluster": {"nmae": "c", "nodePools": [{"config": {"machinetype": "x"}}]}});
        let error = json!({"error": {"code": 404, "message": "Not found", "status": "NOT_FOUND"}});
        let lines = [
            json!({"method": "POST", "path": BASE, "query": "%24alt=json%3Benum-encoding%3Dint", "request_body": good_create, "status": 200, "response_body": {"name": "op", "status": 1}}),
            json!({"method": "GET", "path": format!("{BASE}/c"), "query": "projectId=&%24.xgafv=2", "request_body": null, "status": 404, "response_body": error}),
            json!({"method": "POST", "path": format!("{BASE}/c:setResourceLabels"), "query": "", "request_body": {"resourceLabels": {"a": "b"}}, "status": 200, "response_body": {"name": "op"}}),
            json!({"method": "POST", "path": "/google/token", "query": "", "status": 200}),
            // Line 5: undeclared properties at depth, an undeclared query parameter, an odd response.
            json!({"method": "POST", "path": BASE, "query": "pageSize=3", "request_body": bad_create, "status": 200, "response_body": {"name": "op", "progress": 5}}),
            json!({"method": "DELETE", "path": format!("{BASE}/c:setResourceLabels"), "query": "", "status": 200}),
            json!({"method": "GET", "path": "/google/container/v1/projects/p/zones", "query": "", "status": 200}),
            json!({"method": "GET", "path": format!("{BASE}/c"), "query": "", "request_body": {"x": 1}, "status": 500, "response_body": "oops"}),
        ];
        let report = spec
            .check_log(&log(dir.path(), &lines), "/google/container")
            .unwrap();
        assert_eq!(report.checked, 7);
        let problems: Vec<String> = report
            .violations
            .iter()
            .map(|v| format!("{}: {}", v.line, v.problem))
            .collect();
        let expect = [
            "5: query parameter `pageSize` is not declared",
            "5: request body: property `cluster.nmae` is not declared",
            "5: request body: property `cluster.nodePools[0].config.machinetype` is not declared",
            "5: response body: property `progress` is not declared",
            "6: no DELETE method for this path",
            "7: no method of the container API matches this path",
            "8: request body sent, but container.projects.locations.clusters.get takes none",
            "8: error response 500 is not in Google's shape",
        ];
        for e in expect {
            assert!(
                problems.iter().any(|p| p.starts_with(e)),
                "missing {e:?} in {problems:#?}"
            );
        }
        assert_eq!(problems.len(), expect.len(), "{problems:#?}");
    }

    #[test]
    fn a_document_without_methods_is_refused() {
        assert!(Discovery::from_value(&json!({"schemas": {}})).is_err());
        assert!(Discovery::from_value(&json!({"resources": {}})).is_err());
    }

    #[test]
    fn the_published_documents_load() {
        for name in ["google/container.v1.json", "google/sqladmin.v1.json"] {
            let Some(path) = crate::find_spec(name) else {
                continue;
            };
            let spec = Discovery::load(&path).unwrap();
            assert!(spec.methods.len() > 20, "{name}: {}", spec.methods.len());
            assert!(
                !spec
                    .matching("/v1/projects/p/locations/l/clusters/c/nodePools/np:setSize")
                    .is_empty()
                    || name.contains("sqladmin")
            );
        }
    }
}
