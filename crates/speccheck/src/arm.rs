//! Checking Azure Resource Manager requests against the services' swagger 2.0 descriptions.
//!
//! [`ArmSpec::load`] reads swagger files (`managedClusters.json`, `resources.json`, …) and every
//! file their relative `$ref`s reach (the shared `common-types`). [`ArmSpec::check_log`] then
//! checks each ARM request of the emulator's request log:
//!
//! - a path template of some swagger must match the path, with the method declared for it;
//!   fixed segments compare without regard to case, as ARM routes them, and of several
//!   templates the one with the most fixed segments wins (the generic
//!   `…/providers/{namespace}/{parentResourcePath}/…` of `resources.json` loses to the service's
//!   own);
//! - the `api-version` query parameter must equal the `info.version` of that template's file;
//! - every property of the JSON request body, at every depth, must be declared by the body
//!   parameter's schema, looked up through `$ref` (also into other files) and `allOf`, with
//!   ARM's `properties` nesting as the swagger has it; an object schema with
//!   `additionalProperties`, or one declaring no properties at all, accepts any property;
//! - the response status must be declared by the operation, or be an error (400 or more)
//!   covered by its `default` response.
//!
//! The status monitors of long-running operations (`…/operationStatuses/{id}`,
//! `…/operationResults/{id}`) are defined by the ARM resource provider contract, not by the
//! services' swagger; they are counted as skipped, not checked.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use crate::check::{CheckReport, Violation};
use crate::SpecError;

/// Swagger files loaded for checking, with the files their references reach.
#[derive(Debug, Default)]
pub struct ArmSpec {
    docs: BTreeMap<PathBuf, Value>,
    operations: Vec<Operation>,
}

#[derive(Debug)]
struct Operation {
    file: PathBuf,
    template: Vec<String>,
    method: String,
    api_version: String,
    /// The schema of the body parameter, if the operation takes one.
    body: Option<Value>,
    statuses: Vec<String>,
}

impl Operation {
    /// How many fixed segments match `segments`, or `None` when the template does not match.
    fn matches(&self, segments: &[&str]) -> Option<usize> {
        if self.template.len() != segments.len() {
            return None;
        }
        let mut fixed = 0;
        for (t, s) in self.template.iter().zip(segments) {
            if t.starts_with('{') && t.ends_with('}') {
                if s.is_empty() {
                    return None;
                }
            } else if t.eq_ignore_ascii_case(s) {
                fixed += 1;
            } else {
                return None;
            }
        }
        Some(fixed)
    }
}

/// What checking a log found: [`CheckReport`] plus the monitors skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArmReport {
    pub report: CheckReport,
    /// Requests to long-running operation monitors, which no service swagger describes.
    pub skipped: usize,
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The file a relative `$ref` of `from` names. Published swagger trees do not always keep the
/// depth their references assume (`../../../../../common-types/…` written for a folder one level
/// deeper or shallower), so when the file is not where the reference points, the same path
/// without its leading `../` is looked for beside every folder above `from`.
fn resolve_file(from: &Path, target: &str) -> PathBuf {
    let dir = from.parent().unwrap_or(Path::new(""));
    let direct = normalize(&dir.join(target));
    if direct.is_file() {
        return direct;
    }
    let rest: PathBuf = Path::new(target)
        .components()
        .skip_while(|c| matches!(c, Component::ParentDir | Component::CurDir))
        .collect();
    dir.ancestors()
        .map(|a| a.join(&rest))
        .find(|candidate| candidate.is_file())
        .map(|found| normalize(&found))
        .unwrap_or(direct)
}

fn read_json(path: &Path) -> Result<Value, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|source| SpecError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| SpecError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Every `$ref` string inside `value`, leaving out those of `x-ms-examples` (example files,
/// which no check needs).
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("$ref", Value::String(s)) => out.push(s.clone()),
                    ("x-ms-examples", _) => {}
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| refs(i, out)),
        _ => {}
    }
}

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "head"];
const MAX_DEPTH: usize = 64;

impl ArmSpec {
    /// Loads the swagger `files` and every file their `$ref`s reach.
    pub fn load(files: &[PathBuf]) -> Result<ArmSpec, SpecError> {
        let mut spec = ArmSpec::default();
        let mut pending: Vec<PathBuf> = files.iter().map(|f| normalize(f)).collect();
        while let Some(file) = pending.pop() {
            if spec.docs.contains_key(&file) {
                continue;
            }
            let doc = read_json(&file)?;
            let mut found = Vec::new();
            refs(&doc, &mut found);
            for r in found {
                let target = r.split('#').next().unwrap_or("");
                if !target.is_empty() {
                    pending.push(resolve_file(&file, target));
                }
            }
            spec.docs.insert(file, doc);
        }
        for file in files.iter().map(|f| normalize(f)) {
            spec.add_operations(&file)?;
        }
        Ok(spec)
    }

    fn add_operations(&mut self, file: &Path) -> Result<(), SpecError> {
        let doc = &self.docs[file];
        let invalid = |message: String| SpecError::Invalid {
            file: file.to_path_buf(),
            message,
        };
        let api_version = doc
            .pointer("/info/version")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("no info.version".into()))?
            .to_string();
        let paths = doc
            .get("paths")
            .and_then(Value::as_object)
            .ok_or_else(|| invalid("no paths".into()))?;
        let mut ops = Vec::new();
        for (template, item) in paths {
            let template: Vec<String> = template
                .trim_matches('/')
                .split('/')
                .map(str::to_string)
                .collect();
            for method in METHODS {
                let Some(op) = item.get(*method) else {
                    continue;
                };
                let body = op
                    .get("parameters")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|p| {
                        self.deref(file, p)
                            .map(|(_, v)| v.clone())
                            .unwrap_or(Value::Null)
                    })
                    .find(|p| p.get("in").and_then(Value::as_str) == Some("body"))
                    .and_then(|p| p.get("schema").cloned());
                let statuses = op
                    .get("responses")
                    .and_then(Value::as_object)
                    .map(|r| r.keys().cloned().collect())
                    .unwrap_or_default();
                ops.push(Operation {
                    file: file.to_path_buf(),
                    template: template.clone(),
                    method: method.to_uppercase(),
                    api_version: api_version.clone(),
                    body,
                    statuses,
                });
            }
        }
        self.operations.extend(ops);
        Ok(())
    }

    /// Follows `$ref`s from `schema` (found in `file`) to a schema that is not a reference.
    fn deref<'a>(&'a self, file: &Path, schema: &'a Value) -> Option<(PathBuf, &'a Value)> {
        let mut file = file.to_path_buf();
        let mut schema = schema;
        for _ in 0..MAX_DEPTH {
            let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
                return Some((file, schema));
            };
            let (target, pointer) = reference.split_once('#').unwrap_or((reference, ""));
            if !target.is_empty() {
                file = resolve_file(&file, target);
            }
            schema = self.docs.get(&file)?.pointer(pointer)?;
        }
        None
    }

    /// The properties a schema declares (through `$ref` and `allOf`), and the schema of
    /// further properties when it accepts any.
    fn properties(
        &self,
        file: &Path,
        schema: &Value,
        depth: usize,
        props: &mut BTreeMap<String, (PathBuf, Value)>,
        open: &mut Option<(PathBuf, Value)>,
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        let Some((file, schema)) = self.deref(file, schema) else {
            *open = Some((file.to_path_buf(), Value::Null));
            return;
        };
        if let Some(m) = schema.get("properties").and_then(Value::as_object) {
            for (k, v) in m {
                props.insert(k.clone(), (file.clone(), v.clone()));
            }
        }
        for branch in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.properties(&file, branch, depth + 1, props, open);
        }
        match schema.get("additionalProperties") {
            Some(Value::Bool(true)) => *open = Some((file.clone(), Value::Null)),
            Some(s @ Value::Object(_)) => *open = Some((file.clone(), s.clone())),
            _ => {}
        }
    }

    /// Reports every property of `value` that `schema` does not declare, at any depth.
    fn check_value(
        &self,
        file: &Path,
        schema: &Value,
        value: &Value,
        at: &str,
        depth: usize,
        out: &mut Vec<String>,
    ) {
        if depth > MAX_DEPTH || schema.is_null() {
            return;
        }
        match value {
            Value::Object(m) => {
                let mut props = BTreeMap::new();
                let mut open = None;
                self.properties(file, schema, 0, &mut props, &mut open);
                let declares_nothing = props.is_empty();
                for (k, v) in m {
                    let here = if at.is_empty() {
                        k.clone()
                    } else {
                        format!("{at}.{k}")
                    };
                    match (props.get(k), &open) {
                        (Some((f, s)), _) => self.check_value(f, s, v, &here, depth + 1, out),
                        (None, Some((f, s))) => self.check_value(f, s, v, &here, depth + 1, out),
                        (None, None) if declares_nothing => {}
                        (None, None) => out.push(format!(
                            "request body: property `{here}` is not declared by the schema"
                        )),
                    }
                }
            }
            Value::Array(items) => {
                if let Some((f, s)) = self.deref(file, schema) {
                    if let Some(item) = s.get("items") {
                        for (i, v) in items.iter().enumerate() {
                            self.check_value(&f, item, v, &format!("{at}[{i}]"), depth + 1, out);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// Checks every request of `log` whose path starts with `path_prefix` followed by
    /// `/subscriptions/` (the emulator serves ARM under `/azure`).
    pub fn check_log(&self, log: &Path, path_prefix: &str) -> Result<ArmReport, SpecError> {
        let io_error = |source| SpecError::Io {
            path: log.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(log).map_err(io_error)?;
        let mut out = ArmReport::default();
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
            let method = entry
                .get("method")
                .and_then(Value::as_str)
                .ok_or_else(|| log_error("no string `method`".into()))?;
            let full_path = entry
                .get("path")
                .and_then(Value::as_str)
                .ok_or_else(|| log_error("no string `path`".into()))?;
            let status = entry
                .get("status")
                .and_then(Value::as_u64)
                .ok_or_else(|| log_error("no numeric `status`".into()))?;
            let (path, inline_query) = full_path.split_once('?').unwrap_or((full_path, ""));
            let Some(arm_path) = path.strip_prefix(path_prefix) else {
                continue;
            };
            if !arm_path.to_ascii_lowercase().starts_with("/subscriptions/") {
                continue;
            }
            let lower = arm_path.to_ascii_lowercase();
            if lower.contains("/operationstatuses/") || lower.contains("/operationresults/") {
                out.skipped += 1;
                continue;
            }
            out.report.checked += 1;
            let query = entry
                .get("query")
                .and_then(Value::as_str)
                .filter(|q| !q.is_empty())
                .unwrap_or(inline_query);
            let problems =
                self.check_one(method, arm_path, query, entry.get("request_body"), status);
            out.report
                .violations
                .extend(problems.into_iter().map(|problem| Violation {
                    line: line_number,
                    method: method.to_string(),
                    path: path.to_string(),
                    problem,
                }));
        }
        Ok(out)
    }

    fn check_one(
        &self,
        method: &str,
        path: &str,
        query: &str,
        body: Option<&Value>,
        status: u64,
    ) -> Vec<String> {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let candidates: Vec<(usize, &Operation)> = self
            .operations
            .iter()
            .filter_map(|op| op.matches(&segments).map(|fixed| (fixed, op)))
            .collect();
        if candidates.is_empty() {
            return vec!["no swagger path template matches this path".into()];
        }
        let best = candidates.iter().map(|(f, _)| *f).max().unwrap_or(0);
        let Some(op) = candidates
            .iter()
            .filter(|(f, _)| *f == best)
            .map(|(_, op)| *op)
            .find(|op| op.method.eq_ignore_ascii_case(method))
        else {
            return vec![format!("the swagger declares no {method} for this path")];
        };
        let mut problems = Vec::new();
        let api_version = query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.eq_ignore_ascii_case("api-version"))
            .map(|(_, v)| v);
        match api_version {
            None => problems.push("no api-version query parameter".into()),
            Some(v) if v != op.api_version => problems.push(format!(
                "api-version {v} is not the swagger's {} ({})",
                op.api_version,
                op.file.display()
            )),
            _ => {}
        }
        match (body.filter(|b| !b.is_null()), &op.body) {
            (Some(Value::String(s)), _) if s.trim().is_empty() => {}
            (Some(value), Some(schema)) => {
                self.check_value(&op.file, schema, value, "", 0, &mut problems);
            }
            (Some(_), None) => {
                problems.push("request body sent, but the operation takes none".into())
            }
            (None, _) => {}
        }
        let declared = op.statuses.iter().any(|s| s == &status.to_string());
        let by_default = status >= 400 && op.statuses.iter().any(|s| s == "default");
        if !declared && !by_default {
            problems.push(format!(
                "response status {status} is not declared (declared: {})",
                op.statuses.join(", ")
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn write(dir: &Path, rel: &str, value: &Value) -> PathBuf {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, value.to_string()).unwrap();
        path
    }

    fn fixture(dir: &Path) -> PathBuf {
        write(
            dir,
            "common/types.json",
            &json!({"definitions": {
                "TrackedResource": {"properties": {
                    "id": {"type": "string", "readOnly": true},
                    "location": {"type": "string"},
                    "tags": {"type": "object", "additionalProperties": {"type": "string"}}
                }},
                "ErrorResponse": {"properties": {"error": {"type": "object"}}}
            }}),
        );
        write(
            dir,
            "svc/stable/2026-06-01/widgets.json",
            &json!({
                "swagger": "2.0",
                "info": {"version": "2026-06-01"},
                "paths": {
                    "/subscriptions/{subscriptionId}/resourceGroups/{rg}/providers/Example.Svc/widgets/{name}": {
                        "put": {
                            "parameters": [{"name": "parameters", "in": "body", "schema": {"$ref": "#/definitions/Widget"}}],
                            "responses": {"200": {}, "201": {}, "default": {"schema": {"$ref": "../../../common/types.json#/definitions/ErrorResponse"}}}
                        },
                        "get": {"responses": {"200": {}, "default": {}}}
                    }
                },
                "definitions": {
                    "Widget": {
                        "allOf": [{"$ref": "../../../common/types.json#/definitions/TrackedResource"}],
                        "properties": {"properties": {"$ref": "#/definitions/WidgetProperties"}}
                    },
                    "WidgetProperties": {"properties": {
                        "size": {"type": "integer"},
                        "parts": {"type": "array", "items": {"$ref": "#/definitions/Part"}}
                    }},
                    "Part": {"properties": {"name": {"type": "string"}}}
                }
            }),
        )
    }

    fn log(dir: &Path, lines: &[Value]) -> PathBuf {
        let text: Vec<String> = lines.iter().map(Value::to_string).collect();
        let path = dir.join("requests.jsonl");
        std::fs::write(&path, text.join("\n")).unwrap();
        path
    }

    const PATH: &str = "/azure/subscriptions/s/resourcegroups/rg/providers/example.svc/widgets/w";

    #[test]
    fn declared_requests_pass_and_each_departure_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let spec = ArmSpec::load(&[fixture(dir.path())]).unwrap();
        let good = json!({"location": "westeurope", "tags": {"a": "b"},
                          "properties": {"size": 3, "parts": [{"name": "x"}]}});
        let log = log(
            dir.path(),
            &[
                json!({"method": "PUT", "path": PATH, "query": "api-version=2026-06-01", "request_body": good, "status": 201}),
                json!({"method": "GET", "path": PATH, "query": "api-version=2026-06-01", "request_body": null, "status": 404}),
                json!({"method": "GET", "path": "/azure/subscriptions/s/providers/Example.Svc/locations/w/operationStatuses/1", "query": "api-version=2026-06-01", "status": 200}),
                json!({"method": "POST", "path": "/azure/tenant/oauth2/v2.0/token", "query": "", "status": 200}),
                json!({"method": "PUT", "path": PATH, "query": "api-version=2023-01-01",
                       "request_body": {"location": "w", "properties": {"sise": 3, "parts": [{"nmae": "x"}]}}, "status": 202}),
                json!({"method": "DELETE", "path": PATH, "query": "api-version=2026-06-01", "status": 202}),
                json!({"method": "GET", "path": "/azure/subscriptions/s/resourcegroups/rg/providers/example.svc/gadgets/g", "query": "api-version=2026-06-01", "status": 200}),
            ],
        );
        let report = spec.check_log(&log, "/azure").unwrap();
        assert_eq!(report.report.checked, 5);
        assert_eq!(report.skipped, 1);
        let problems: Vec<String> = report
            .report
            .violations
            .iter()
            .map(|v| format!("{}: {}", v.line, v.problem))
            .collect();
        let expect = [
            "5: api-version 2023-01-01 is not the swagger's 2026-06-01",
            "5: request body: property `properties.sise` is not declared",
            "5: request body: property `properties.parts[0].nmae` is not declared",
            "5: response status 202 is not declared",
            "6: the swagger declares no DELETE for this path",
            "7: no swagger path template matches this path",
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
    fn a_reference_written_for_another_depth_is_found_in_a_folder_above() {
        let dir = tempfile::tempdir().unwrap();
        let common = write(
            dir.path(),
            "common-types/v6/types.json",
            &json!({"definitions": {}}),
        );
        let from = dir
            .path()
            .join("svc/resource-manager/Svc/stable/2025-01-01/openapi.json");
        // One `../` too few: the path points inside `svc/`, where there is no common-types.
        let found = resolve_file(&from, "../../../../common-types/v6/types.json");
        assert_eq!(found, normalize(&common));
    }

    /// The real AKS swagger, when the specifications are present: nested properties are found
    /// through its `$ref`s into `common-types`, and an undeclared one is named.
    #[test]
    fn the_published_aks_swagger_is_followed_to_every_depth() {
        let file = crate::find_spec(
            "azure/specification/containerservice/resource-manager/Microsoft.ContainerService/aks/stable/2026-06-01/managedClusters.json",
        )
        .expect("the AKS swagger in shared/specs (or STRATA_SPECS_DIR)");
        let dir = tempfile::tempdir().unwrap();
        let spec = ArmSpec::load(&[file]).unwrap();
        let path = "/azure/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c";
        let body = json!({
            "location": "westeurope", "tags": {"a": "b"}, "identity": {"type": "SystemAssigned"},
            "properties": {
                "dnsPrefix": "c", "kubernetesVersion": "1.33",
                "agentPoolProfiles": [{"name": "system", "count": 1, "vmSize": "Standard_B2s",
                                       "mode": "System", "nodeLabels": {"a": "b"}, "bogus": 1}],
                "networkProfile": {"networkPlugin": "azure", "dnsServiceIp": "10.0.0.10"}
            }
        });
        let log = log(
            dir.path(),
            &[
                json!({"method": "PUT", "path": path, "query": "api-version=2026-06-01", "request_body": body, "status": 201}),
            ],
        );
        let report = spec.check_log(&log, "/azure").unwrap();
        let problems: Vec<&str> = report
            .report
            .violations
            .iter()
            .map(|v| v.problem.as_str())
            .collect();
        assert_eq!(
            problems,
            vec![
                "request body: property `properties.agentPoolProfiles[0].bogus` is not declared by the schema",
                "request body: property `properties.networkProfile.dnsServiceIp` is not declared by the schema",
            ]
        );
    }
}
