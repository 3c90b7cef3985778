//! Checks requests recorded by the emulator against an AWS service model in botocore's
//! `service-2.json` form (the models the AWS SDKs are generated from).
//!
//! Two protocols are understood, as the model's `metadata.protocol` says:
//!
//! - `rest-json` (EKS): the operation is found by method and `requestUri` template (`{name}`
//!   matches one path segment, `{name+}` the rest); every member of a JSON body, at every depth,
//!   must be declared by the input shape (members bound to the URI, query string or headers do
//!   not count), required members must be given (in the body, the path or the query string),
//!   every query parameter must be a declared `querystring` member, and the response status must
//!   be the operation's (`http.responseCode`, 200 by default) or that of one of its declared
//!   errors; the top-level members of a successful JSON answer must be declared by the output
//!   shape.
//! - `query` (RDS): the operation is the form's `Action`, `Version` must be the model's
//!   `apiVersion`, and every other form parameter must name a member of the input shape,
//!   following the protocol's flattening (`Tags.Tag.1.Key` for a list whose members are named
//!   `Tag`, `Ids.member.1` for one whose members are not, `Map.entry.1.key`/`.value`); required
//!   members must be given. A success must answer `200` with an `<{Action}Response>` document; an
//!   error's `<Code>` must be one the operation declares, or one of AWS's common errors
//!   (throttling, internal failures) that every operation may answer.
//!
//! Values are not checked against their types or constraints.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::{CheckReport, SpecError, Violation};

/// Errors every AWS operation may answer although models do not list them.
const COMMON_ERRORS: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "InternalFailure",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "ServerException",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    RestJson,
    Query,
}

/// A loaded service model.
#[derive(Debug, Clone)]
pub struct ServiceModel {
    path: PathBuf,
    protocol: Protocol,
    api_version: String,
    operations: Map<String, Value>,
    shapes: Map<String, Value>,
}

impl ServiceModel {
    /// Reads a botocore `service-2.json`.
    pub fn load(path: &Path) -> Result<ServiceModel, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let doc: Value = serde_json::from_str(&text).map_err(|e| SpecError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let invalid = |message: &str| SpecError::Invalid {
            file: path.to_path_buf(),
            message: message.to_string(),
        };
        let metadata = doc
            .get("metadata")
            .ok_or_else(|| invalid("no `metadata`"))?;
        let protocol = match metadata.get("protocol").and_then(Value::as_str) {
            Some("rest-json") => Protocol::RestJson,
            Some("query") => Protocol::Query,
            Some(other) => return Err(invalid(&format!("protocol `{other}` is not supported"))),
            None => return Err(invalid("no `metadata.protocol`")),
        };
        let object = |name: &str| {
            doc.get(name)
                .and_then(Value::as_object)
                .cloned()
                .ok_or_else(|| invalid(&format!("no `{name}` object")))
        };
        Ok(ServiceModel {
            path: path.to_path_buf(),
            protocol,
            api_version: metadata
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            operations: object("operations")?,
            shapes: object("shapes")?,
        })
    }

    fn shape(&self, name: &str) -> Option<&Map<String, Value>> {
        self.shapes.get(name).and_then(Value::as_object)
    }

    fn members<'a>(&'a self, shape: &'a Map<String, Value>) -> Option<&'a Map<String, Value>> {
        shape.get("members").and_then(Value::as_object)
    }

    fn target<'a>(&'a self, member: &'a Value) -> Option<&'a Map<String, Value>> {
        self.shape(member.get("shape")?.as_str()?)
    }

    fn error_statuses_and_codes(&self, op: &Value) -> (Vec<u16>, Vec<String>) {
        let mut statuses = Vec::new();
        let mut codes = Vec::new();
        for e in op
            .get("errors")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(name) = e.get("shape").and_then(Value::as_str) else {
                continue;
            };
            let error = self.shape(name).and_then(|s| s.get("error"));
            statuses.push(
                error
                    .and_then(|e| e.get("httpStatusCode"))
                    .and_then(Value::as_u64)
                    .and_then(|s| u16::try_from(s).ok())
                    .unwrap_or(400),
            );
            codes.push(name.to_string());
            if let Some(code) = error.and_then(|e| e.get("code")).and_then(Value::as_str) {
                codes.push(code.to_string());
            }
        }
        (statuses, codes)
    }

    /// Checks every request of the log whose path starts with `path_prefix` (e.g.
    /// `/aws/eks`), matching operations against the path with the prefix removed.
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
            let path = full_path.split_once('?').map_or(full_path, |(p, _)| p);
            let Some(rest) = path.strip_prefix(path_prefix) else {
                continue;
            };
            let rest = if rest.is_empty() { "/" } else { rest };
            if !rest.starts_with('/') {
                continue;
            }
            let status = entry
                .get("status")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok())
                .ok_or_else(|| log_error("no numeric `status`".into()))?;
            let query = entry
                .get("query")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let exchange = Exchange {
                method,
                path: rest,
                query,
                request_body: entry.get("request_body").unwrap_or(&Value::Null),
                status,
                response_body: entry.get("response_body").unwrap_or(&Value::Null),
            };
            report.checked += 1;
            let problems = match self.protocol {
                Protocol::RestJson => self.check_rest_json(&exchange),
                Protocol::Query => self.check_query(&exchange),
            };
            report
                .violations
                .extend(problems.into_iter().map(|problem| Violation {
                    line: line_number,
                    method: method.to_string(),
                    path: path.to_string(),
                    problem,
                }));
        }
        Ok(report)
    }

    fn check_rest_json(&self, x: &Exchange) -> Vec<String> {
        let mut problems = Vec::new();
        let Some((op_name, op, bound)) = self.rest_operation(x.method, x.path) else {
            return vec![format!(
                "no operation of {} matches {} {}",
                self.path.display(),
                x.method,
                x.path
            )];
        };
        let input = op
            .pointer("/input/shape")
            .and_then(Value::as_str)
            .and_then(|s| self.shape(s));
        let query: BTreeMap<String, String> = form_urlencoded::parse(x.query.as_bytes())
            .into_owned()
            .collect();
        let mut given: Vec<String> = bound;
        if let Some(input) = input {
            let members = self.members(input).cloned().unwrap_or_default();
            for key in query.keys() {
                let declared = members.values().any(|m| {
                    m.get("location").and_then(Value::as_str) == Some("querystring")
                        && m.get("locationName").and_then(Value::as_str) == Some(key)
                });
                if !declared {
                    problems.push(format!(
                        "{op_name}: query parameter `{key}` is not declared"
                    ));
                }
            }
            for (name, m) in &members {
                match m.get("location").and_then(Value::as_str) {
                    Some("querystring") => {
                        let wire = m
                            .get("locationName")
                            .and_then(Value::as_str)
                            .unwrap_or(name);
                        if query.contains_key(wire) {
                            given.push(name.clone());
                        }
                    }
                    Some("uri") => {
                        let wire = m
                            .get("locationName")
                            .and_then(Value::as_str)
                            .unwrap_or(name);
                        if given.iter().any(|g| g == wire) {
                            given.push(name.clone());
                        }
                    }
                    _ => {}
                }
            }
            match x.request_body {
                Value::Null => {}
                Value::String(s) if s.is_empty() => {}
                Value::Object(body) => {
                    for key in body.keys() {
                        given.push(key.clone());
                    }
                    self.check_json_structure(
                        input,
                        &Value::Object(body.clone()),
                        &format!("{op_name} request body"),
                        true,
                        &mut problems,
                    );
                }
                _ => problems.push(format!("{op_name}: the request body is not a JSON object")),
            }
            for required in input
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !given.iter().any(|g| g == required) {
                    problems.push(format!(
                        "{op_name}: required member `{required}` is missing"
                    ));
                }
            }
        } else if matches!(x.request_body, Value::Object(b) if !b.is_empty()) {
            problems.push(format!("{op_name} takes no request body"));
        }
        let success = op
            .pointer("/http/responseCode")
            .and_then(Value::as_u64)
            .unwrap_or(200) as u16;
        if x.status == success {
            if let (Some(output), Value::Object(body)) = (
                op.pointer("/output/shape")
                    .and_then(Value::as_str)
                    .and_then(|s| self.shape(s)),
                x.response_body,
            ) {
                let members = self.members(output).cloned().unwrap_or_default();
                for key in body.keys() {
                    if !members.contains_key(key) {
                        problems.push(format!(
                            "{op_name} response: member `{key}` is not declared by the output shape"
                        ));
                    }
                }
            }
        } else {
            let (statuses, _) = self.error_statuses_and_codes(op);
            let common = x.status == 429 || x.status >= 500;
            if !statuses.contains(&x.status) && !common {
                problems.push(format!(
                    "{op_name}: status {} is neither its success ({success}) nor that of a declared error",
                    x.status
                ));
            }
        }
        problems
    }

    /// The operation whose method and URI template match, with the names of the members
    /// its path binds.
    fn rest_operation(&self, method: &str, path: &str) -> Option<(&str, &Value, Vec<String>)> {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        self.operations.iter().find_map(|(name, op)| {
            let http = op.get("http")?;
            if !http.get("method")?.as_str()?.eq_ignore_ascii_case(method) {
                return None;
            }
            let uri = http.get("requestUri")?.as_str()?;
            let template = uri.split('?').next().unwrap_or(uri);
            let parts: Vec<&str> = template.trim_matches('/').split('/').collect();
            let mut bound = Vec::new();
            let mut i = 0;
            for (pi, part) in parts.iter().enumerate() {
                if let Some(label) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    if let Some(greedy) = label.strip_suffix('+') {
                        if i >= segments.len() || pi != parts.len() - 1 {
                            return None;
                        }
                        bound.push(greedy.to_string());
                        i = segments.len();
                        continue;
                    }
                    if segments.get(i).is_none_or(|s| s.is_empty()) {
                        return None;
                    }
                    bound.push(label.to_string());
                } else if segments.get(i) != Some(part) {
                    return None;
                }
                i += 1;
            }
            (i == segments.len()).then_some((name.as_str(), op, bound))
        })
    }

    /// Checks the members of a JSON value against a structure shape, at every depth.
    fn check_json_structure(
        &self,
        shape: &Map<String, Value>,
        value: &Value,
        at: &str,
        top: bool,
        problems: &mut Vec<String>,
    ) {
        match shape.get("type").and_then(Value::as_str) {
            Some("structure") => {
                let Some(object) = value.as_object() else {
                    problems.push(format!("{at}: expected an object"));
                    return;
                };
                let members = self.members(shape).cloned().unwrap_or_default();
                for (key, v) in object {
                    match members.get(key) {
                        Some(m) if top && m.get("location").is_some() => problems.push(format!(
                            "{at}: `{key}` belongs in the {}, not the body",
                            m["location"].as_str().unwrap_or("request line")
                        )),
                        Some(m) => {
                            if let Some(target) = self.target(m) {
                                self.check_json_structure(
                                    target,
                                    v,
                                    &format!("{at}.{key}"),
                                    false,
                                    problems,
                                );
                            }
                        }
                        None => problems.push(format!("{at}: member `{key}` is not declared")),
                    }
                }
                if !top {
                    for required in shape
                        .get("required")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                    {
                        if !object.contains_key(required) {
                            problems.push(format!("{at}: required member `{required}` is missing"));
                        }
                    }
                }
            }
            Some("list") => {
                if let (Some(items), Some(member)) = (
                    value.as_array(),
                    shape.get("member").and_then(|m| self.target(m)),
                ) {
                    for (i, item) in items.iter().enumerate() {
                        self.check_json_structure(
                            member,
                            item,
                            &format!("{at}[{i}]"),
                            false,
                            problems,
                        );
                    }
                }
            }
            Some("map") => {
                if let (Some(entries), Some(v)) = (
                    value.as_object(),
                    shape.get("value").and_then(|m| self.target(m)),
                ) {
                    for (k, item) in entries {
                        self.check_json_structure(v, item, &format!("{at}.{k}"), false, problems);
                    }
                }
            }
            _ => {}
        }
    }

    fn check_query(&self, x: &Exchange) -> Vec<String> {
        let body = match x.request_body {
            Value::String(s) => s.as_str(),
            Value::Null => "",
            _ => return vec!["the request body is not a form".into()],
        };
        let mut params: BTreeMap<String, String> = form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        params.extend(form_urlencoded::parse(x.query.as_bytes()).into_owned());
        let Some(action) = params.remove("Action") else {
            return vec!["the form has no Action".into()];
        };
        let mut problems = Vec::new();
        match params.remove("Version") {
            Some(v) if v == self.api_version => {}
            other => problems.push(format!(
                "{action}: Version is {other:?}, not {:?}",
                self.api_version
            )),
        }
        let Some(op) = self.operations.get(&action) else {
            problems.push(format!("no operation named {action}"));
            return problems;
        };
        let input = op
            .pointer("/input/shape")
            .and_then(Value::as_str)
            .and_then(|s| self.shape(s));
        match input {
            None if !params.is_empty() => {
                problems.push(format!("{action} takes no parameters"));
            }
            None => {}
            Some(input) => {
                for name in params.keys() {
                    let segments: Vec<&str> = name.split('.').collect();
                    if let Err(why) = self.resolve_query(input, &segments) {
                        problems.push(format!("{action}: parameter `{name}` {why}"));
                    }
                }
                for required in input
                    .get("required")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    let prefix = format!("{required}.");
                    if !params
                        .keys()
                        .any(|k| k == required || k.starts_with(&prefix))
                    {
                        problems.push(format!(
                            "{action}: required parameter `{required}` is missing"
                        ));
                    }
                }
            }
        }
        let response = match x.response_body {
            Value::String(s) => s.as_str(),
            _ => "",
        };
        if x.status == 200 {
            if !response.contains(&format!("<{action}Response")) {
                problems.push(format!(
                    "{action}: a success must answer <{action}Response>"
                ));
            }
        } else {
            let (_, codes) = self.error_statuses_and_codes(op);
            let code = response
                .split_once("<Code>")
                .and_then(|(_, rest)| rest.split_once("</Code>"))
                .map(|(code, _)| code.trim().to_string());
            match code {
                Some(code) if codes.contains(&code) || COMMON_ERRORS.contains(&code.as_str()) => {}
                Some(code) => problems.push(format!(
                    "{action}: error code {code} is not declared by the operation"
                )),
                None => problems.push(format!(
                    "{action}: status {} without an <ErrorResponse> code",
                    x.status
                )),
            }
        }
        problems
    }

    /// Follows a flattened query parameter name through the input shape.
    fn resolve_query(&self, shape: &Map<String, Value>, segments: &[&str]) -> Result<(), String> {
        let Some((first, rest)) = segments.split_first() else {
            return match shape.get("type").and_then(Value::as_str) {
                Some("structure" | "list" | "map") => Err("stops at a compound member".into()),
                _ => Ok(()),
            };
        };
        match shape.get("type").and_then(Value::as_str) {
            Some("structure") => {
                let members = self.members(shape).ok_or("names an empty structure")?;
                let member = members
                    .iter()
                    .find(|(name, m)| {
                        m.get("locationName")
                            .and_then(Value::as_str)
                            .unwrap_or(name)
                            == *first
                    })
                    .map(|(_, m)| m)
                    .ok_or_else(|| format!("names `{first}`, which the shape does not declare"))?;
                let target = self
                    .target(member)
                    .ok_or("names a member of an unknown shape")?;
                self.resolve_query(target, rest)
            }
            Some("list") => {
                let member = shape.get("member").ok_or("names a list without members")?;
                let flattened = shape
                    .get("flattened")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                let item_name = member
                    .get("locationName")
                    .and_then(Value::as_str)
                    .unwrap_or("member");
                let index_and_rest = if flattened {
                    segments
                } else if *first == item_name {
                    rest
                } else {
                    return Err(format!(
                        "uses `{first}` where the list's members are named `{item_name}`"
                    ));
                };
                let (index, rest) = index_and_rest
                    .split_first()
                    .ok_or("names a list without an index")?;
                if index.parse::<u32>().map_or(true, |i| i == 0) {
                    return Err(format!(
                        "has `{index}` where a list index (1, 2, ...) belongs"
                    ));
                }
                let target = self
                    .target(member)
                    .ok_or("names a list of an unknown shape")?;
                self.resolve_query(target, rest)
            }
            Some("map") => {
                let (index, rest) = match *first {
                    "entry" => rest
                        .split_first()
                        .ok_or("names a map entry without an index")?,
                    _ => (first, rest),
                };
                if index.parse::<u32>().is_err() {
                    return Err(format!("has `{index}` where a map entry index belongs"));
                }
                let (part, rest) = rest
                    .split_first()
                    .ok_or("names a map entry without key or value")?;
                let which = match *part {
                    "key" => "key",
                    "value" => "value",
                    other => return Err(format!("names `{other}` in a map entry (key or value)")),
                };
                let target = shape
                    .get(which)
                    .and_then(|m| self.target(m))
                    .ok_or("names a map of unknown shapes")?;
                self.resolve_query(target, rest)
            }
            _ => Err(format!("goes on (`{first}`) past a scalar member")),
        }
    }
}

/// One logged exchange, as far as the checks need it.
struct Exchange<'a> {
    method: &'a str,
    path: &'a str,
    query: &'a str,
    request_body: &'a Value,
    status: u16,
    response_body: &'a Value,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::io::Write;

    fn model(doc: Value) -> (tempfile::TempDir, ServiceModel) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("service-2.json");
        std::fs::write(&path, doc.to_string()).unwrap();
        let model = ServiceModel::load(&path).unwrap();
        (dir, model)
    }

    fn rest_json() -> Value {
        json!({
            "metadata": {"protocol": "rest-json", "apiVersion": "2017-11-01"},
            "operations": {
                "CreateThing": {
                    "http": {"method": "POST", "requestUri": "/things/{name}/parts"},
                    "input": {"shape": "CreateThingRequest"},
                    "output": {"shape": "CreateThingResponse"},
                    "errors": [{"shape": "InUse"}]
                },
                "DescribeThing": {
                    "http": {"method": "GET", "requestUri": "/things/{name}"},
                    "input": {"shape": "DescribeThingRequest"},
                    "output": {"shape": "CreateThingResponse"}
                }
            },
            "shapes": {
                "CreateThingRequest": {"type": "structure", "required": ["name", "size"], "members": {
                    "name": {"shape": "String", "location": "uri", "locationName": "name"},
                    "size": {"shape": "Size"},
                    "tags": {"shape": "Tags"}
                }},
                "DescribeThingRequest": {"type": "structure", "required": ["name"], "members": {
                    "name": {"shape": "String", "location": "uri", "locationName": "name"},
                    "verbose": {"shape": "String", "location": "querystring", "locationName": "verbose"}
                }},
                "Size": {"type": "structure", "required": ["min"], "members": {"min": {"shape": "Integer"}, "max": {"shape": "Integer"}}},
                "Tags": {"type": "map", "key": {"shape": "String"}, "value": {"shape": "String"}},
                "CreateThingResponse": {"type": "structure", "members": {"thing": {"shape": "String"}}},
                "InUse": {"type": "structure", "members": {}, "error": {"httpStatusCode": 409}, "exception": true},
                "String": {"type": "string"},
                "Integer": {"type": "integer"}
            }
        })
    }

    fn log(lines: &[Value]) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        for l in lines {
            writeln!(file, "{l}").unwrap();
        }
        file
    }

    #[test]
    fn rest_json_requests_are_checked_member_by_member() {
        let (_dir, m) = model(rest_json());
        let file = log(&[
            json!({"method": "POST", "path": "/svc/things/a/parts", "status": 200,
                   "request_body": {"size": {"min": 1}, "tags": {"k": "v"}}, "response_body": {"thing": "a"}}),
            json!({"method": "POST", "path": "/svc/things/a/parts", "status": 409,
                   "request_body": {"size": {"max": 1}, "colour": "red"}, "response_body": {"message": "x"}}),
            json!({"method": "GET", "path": "/svc/things/a", "query": "verbose=1&page=2", "status": 418,
                   "request_body": null, "response_body": {"thing": "a", "extra": 1}}),
            json!({"method": "DELETE", "path": "/svc/things/a", "status": 200}),
            json!({"method": "GET", "path": "/other/x", "status": 200}),
        ]);
        let report = m.check_log(file.path(), "/svc").unwrap();
        assert_eq!(report.checked, 4);
        let problems: Vec<String> = report.violations.iter().map(|v| v.to_string()).collect();
        let text = problems.join("\n");
        assert!(
            text.contains("line 2") && text.contains("member `colour` is not declared"),
            "{text}"
        );
        assert!(text.contains("required member `min` is missing"), "{text}");
        assert!(text.contains("query parameter `page`"), "{text}");
        assert!(text.contains("status 418"), "{text}");
        assert!(
            text.contains("line 4") && text.contains("no operation"),
            "{text}"
        );
        assert!(!text.contains("line 1:"), "{text}");
        assert!(
            !text.contains("extra"),
            "error answers are not checked against the output: {text}"
        );
    }

    fn query_model() -> Value {
        json!({
            "metadata": {"protocol": "query", "apiVersion": "2014-10-31"},
            "operations": {
                "CreateDB": {
                    "http": {"method": "POST", "requestUri": "/"},
                    "input": {"shape": "CreateDBMessage"},
                    "errors": [{"shape": "AlreadyExistsFault"}]
                }
            },
            "shapes": {
                "CreateDBMessage": {"type": "structure", "required": ["Id"], "members": {
                    "Id": {"shape": "String"},
                    "Tags": {"shape": "TagList"},
                    "Groups": {"shape": "IdList"},
                    "Plain": {"shape": "PlainList"}
                }},
                "TagList": {"type": "list", "member": {"shape": "Tag", "locationName": "Tag"}},
                "Tag": {"type": "structure", "members": {"Key": {"shape": "String"}, "Value": {"shape": "String"}}},
                "IdList": {"type": "list", "member": {"shape": "String", "locationName": "GroupId"}},
                "PlainList": {"type": "list", "member": {"shape": "String"}},
                "AlreadyExistsFault": {"type": "structure", "members": {}, "error": {"code": "AlreadyExists", "httpStatusCode": 400}, "exception": true},
                "String": {"type": "string"}
            }
        })
    }

    #[test]
    fn query_parameters_follow_the_flattening_rules() {
        let (_dir, m) = model(query_model());
        let ok_body = "Action=CreateDB&Version=2014-10-31&Id=a&Tags.Tag.1.Key=k&Tags.Tag.1.Value=v&Groups.GroupId.1=g&Plain.member.2=p";
        let file = log(&[
            json!({"method": "POST", "path": "/rds/", "status": 200, "request_body": ok_body,
                   "response_body": "<CreateDBResponse xmlns=\"x\"></CreateDBResponse>"}),
            json!({"method": "POST", "path": "/rds/", "status": 400,
                   "request_body": "Action=CreateDB&Version=2013-01-01&Tags.member.1.Key=k&Groups.GroupId.0=g&Nope=1&Id.Sub=1",
                   "response_body": "<ErrorResponse><Error><Code>AlreadyExists</Code></Error></ErrorResponse>"}),
            json!({"method": "POST", "path": "/rds/", "status": 400, "request_body": "Action=CreateDB&Version=2014-10-31&Id=a",
                   "response_body": "<ErrorResponse><Error><Code>Bogus</Code></Error></ErrorResponse>"}),
            json!({"method": "POST", "path": "/rds/", "status": 400, "request_body": "Action=CreateDB&Version=2014-10-31&Id=a",
                   "response_body": "<ErrorResponse><Error><Code>Throttling</Code></Error></ErrorResponse>"}),
            json!({"method": "POST", "path": "/rds", "status": 400, "request_body": "Action=DropDB&Version=2014-10-31",
                   "response_body": ""}),
        ]);
        let report = m.check_log(file.path(), "/rds").unwrap();
        assert_eq!(report.checked, 5);
        let text: String = report.violations.iter().map(|v| format!("{v}\n")).collect();
        assert!(!text.contains("line 1:"), "{text}");
        assert!(
            !text.contains("line 4:"),
            "throttling is a common error: {text}"
        );
        for expected in [
            "Version is Some(\"2013-01-01\")",
            "`Tags.member.1.Key` uses `member` where the list's members are named `Tag`",
            "`Groups.GroupId.0` has `0`",
            "`Nope` names `Nope`",
            "`Id.Sub` goes on",
            "line 3: POST /rds/: CreateDB: error code Bogus",
            "no operation named DropDB",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
        assert!(
            !text.contains("required parameter `Id` is missing\nline 3"),
            "{text}"
        );
    }

    #[test]
    fn unsupported_or_broken_models_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        std::fs::write(
            &path,
            r#"{"metadata": {"protocol": "ec2"}, "operations": {}, "shapes": {}}"#,
        )
        .unwrap();
        assert!(matches!(
            ServiceModel::load(&path),
            Err(SpecError::Invalid { .. })
        ));
        std::fs::write(&path, "not json").unwrap();
        assert!(matches!(
            ServiceModel::load(&path),
            Err(SpecError::Parse { .. })
        ));
    }
}
