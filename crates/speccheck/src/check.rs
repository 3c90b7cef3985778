//! Reading the emulator's request log and checking each exchange against a description.

use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde_json::{Map, Value};

use crate::schema::Direction;
use crate::spec::{Lookup, Node, OpenApi};
use crate::SpecError;

/// The names of the request log's fields (see the emulator's `request_log` module).
mod field {
    pub const METHOD: &str = "method";
    pub const PATH: &str = "path";
    pub const REQUEST_BODY: &str = "request_body";
    pub const STATUS: &str = "status";
    pub const RESPONSE_BODY: &str = "response_body";
    /// `true` when the response was streamed and its body not recorded.
    pub const STREAMED: &str = "streamed";
}

/// One way a recorded request or response departs from the description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The 1-based line of the request log holding the exchange.
    pub line: usize,
    /// The request's method, as logged.
    pub method: String,
    /// The request's path, as logged.
    pub path: String,
    /// What is wrong, e.g. ``request body: property `nmae` is not declared by the schema``.
    pub problem: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}: {} {}: {}",
            self.line, self.method, self.path, self.problem
        )
    }
}

/// The outcome of checking a request log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// How many logged requests had a path under the checked prefix and so were checked.
    pub checked: usize,
    /// Every problem found, in log order.
    pub violations: Vec<Violation>,
}

/// Checks every request of the log whose path starts with `path_prefix` (e.g. `"/v2/"`) and
/// returns the violations found; see [`check_log_counts`] for what is checked.
pub fn check_log(
    spec: &OpenApi,
    log: &Path,
    path_prefix: &str,
) -> Result<Vec<Violation>, SpecError> {
    Ok(check_log_counts(spec, log, path_prefix)?.violations)
}

/// Checks every request of the log whose path starts with `path_prefix` and reports how many
/// were checked along with the violations found. For each such request:
///
/// - an operation must exist for the method and path;
/// - a request body must be JSON when the operation takes JSON, must be present when the
///   operation requires one and absent when it declares none, and its properties at every depth
///   must be declared by the request schema, with the required ones present;
/// - the response status must be declared by the operation explicitly (or by a `4XX`-style
///   range); a status only covered by `default` is reported, and when it is an error status
///   (400 or above) its body is still checked against the `default` response;
/// - a response body must be present exactly when the response declares content, must be JSON
///   when the content is JSON, and its top-level properties must be declared by the response
///   schema, with the required ones present. Streamed responses (logged without a body) are not
///   checked.
///
/// Lines that are blank are skipped; a line that is not a JSON object with a string `method` and
/// `path` and a numeric `status` is an error, as is a `$ref` the check needs that cannot be
/// resolved.
pub fn check_log_counts(
    spec: &OpenApi,
    log: &Path,
    path_prefix: &str,
) -> Result<CheckReport, SpecError> {
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
        let entry = entry
            .as_object()
            .ok_or_else(|| log_error("not a JSON object".into()))?;
        let text = |name: &str| {
            entry
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| log_error(format!("no string `{name}`")))
        };
        let method = text(field::METHOD)?;
        let full_path = text(field::PATH)?;
        // The emulator logs the query apart; drop one left in the path all the same.
        let path = full_path.split_once('?').map_or(full_path, |(p, _)| p);
        if !path.starts_with(path_prefix) {
            continue;
        }
        let status = entry
            .get(field::STATUS)
            .and_then(Value::as_u64)
            .ok_or_else(|| log_error(format!("no numeric `{}`", field::STATUS)))?;
        report.checked += 1;

        let problems = check_exchange(spec, method, path, entry, status)?;
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

/// The problems of one logged exchange.
fn check_exchange(
    spec: &OpenApi,
    method: &str,
    path: &str,
    entry: &Map<String, Value>,
    status: u64,
) -> Result<Vec<String>, SpecError> {
    let mut problems = Vec::new();
    let operation = match spec.lookup(method, path)? {
        Lookup::Found { operation } => operation,
        Lookup::NoMethod { template, methods } => {
            problems.push(format!(
                "the spec has no {} operation on {template} (it declares {})",
                method.to_ascii_uppercase(),
                list_or_none(&methods)
            ));
            return Ok(problems);
        }
        Lookup::NoPath => {
            problems.push("no path of the spec matches this path".into());
            return Ok(problems);
        }
    };

    let request_body = entry.get(field::REQUEST_BODY).unwrap_or(&Value::Null);
    check_request_body(spec, &operation, request_body, &mut problems)?;

    let streamed = entry.get(field::STREAMED).and_then(Value::as_bool) == Some(true);
    let response_body = entry.get(field::RESPONSE_BODY).unwrap_or(&Value::Null);
    check_response(
        spec,
        &operation,
        method,
        status,
        (!streamed).then_some(response_body),
        &mut problems,
    )?;
    Ok(problems)
}

fn check_request_body(
    spec: &OpenApi,
    operation: &Node,
    body: &Value,
    problems: &mut Vec<String>,
) -> Result<(), SpecError> {
    let Some(declared) = operation.get("requestBody") else {
        if !body.is_null() {
            problems.push("request body: sent, but the operation declares none".into());
        }
        return Ok(());
    };
    let declared = spec.resolve(&declared)?;
    if body.is_null() {
        if declared.value.get("required").and_then(Value::as_bool) == Some(true) {
            problems.push("request body: missing, but the operation requires one".into());
        }
        return Ok(());
    }
    let Some(media) = json_media(spec, &declared)? else {
        // Only non-JSON content (e.g. multipart) is declared; nothing to compare.
        return Ok(());
    };
    if body.is_string() {
        problems.push("request body: not JSON, but the operation takes JSON".into());
        return Ok(());
    }
    if let Some(schema) = media.get("schema") {
        let mut found = Vec::new();
        spec.check_value(&[schema], body, "", Direction::Request, None, &mut found)?;
        problems.extend(found.into_iter().map(|p| format!("request body: {p}")));
    }
    Ok(())
}

fn check_response(
    spec: &OpenApi,
    operation: &Node,
    method: &str,
    status: u64,
    body: Option<&Value>,
    problems: &mut Vec<String>,
) -> Result<(), SpecError> {
    let responses = spec.resolve(&operation.get("responses").unwrap_or(Node {
        file: operation.file.clone(),
        value: Value::Null,
    }))?;
    let Some(declared) = responses.value.as_object() else {
        return Err(SpecError::Invalid {
            file: operation.file.to_path_buf(),
            message: format!(
                "operation {} has no `responses` object",
                operation
                    .value
                    .get("operationId")
                    .and_then(Value::as_str)
                    .unwrap_or("(without operationId)")
            ),
        });
    };
    let code = status.to_string();
    let range = format!("{}XX", status / 100);
    let key = if declared.contains_key(&code) {
        Some(code.clone())
    } else if let Some(k) = declared.keys().find(|k| k.eq_ignore_ascii_case(&range)) {
        Some(k.clone())
    } else {
        let names: Vec<String> = declared.keys().cloned().collect();
        problems.push(format!(
            "status {status} is not declared by the operation (it declares {})",
            list_or_none(&names)
        ));
        // `default` describes the error body; a success status it happens to cover would only
        // add noise to the report above.
        (status >= 400 && declared.contains_key("default")).then(|| "default".to_string())
    };
    let Some(key) = key else {
        return Ok(());
    };
    let Some(body) = body else {
        return Ok(());
    };
    let response = spec.resolve(&responses.get(&key).expect("the key was found above"))?;
    let label = format!("response body ({status})");
    let has_content = response
        .value
        .get("content")
        .and_then(Value::as_object)
        .is_some_and(|c| !c.is_empty());
    if !has_content {
        if !body.is_null() {
            problems.push(format!(
                "{label}: present, but the spec declares no body for this status"
            ));
        }
        return Ok(());
    }
    let Some(media) = json_media(spec, &response)? else {
        return Ok(());
    };
    if body.is_null() {
        if !method.eq_ignore_ascii_case("head") {
            problems.push(format!(
                "{label}: empty, but the spec declares a JSON body for this status"
            ));
        }
        return Ok(());
    }
    if body.is_string() {
        problems.push(format!("{label}: not JSON, but the spec declares JSON"));
        return Ok(());
    }
    if let Some(schema) = media.get("schema") {
        let mut found = Vec::new();
        spec.check_value(
            &[schema],
            body,
            "",
            Direction::Response,
            Some(1),
            &mut found,
        )?;
        problems.extend(found.into_iter().map(|p| format!("{label}: {p}")));
    }
    Ok(())
}

/// The JSON media type entry (`application/json`, or else any `…json…` type) of a resolved
/// request body or response.
fn json_media(spec: &OpenApi, declared: &Node) -> Result<Option<Node>, SpecError> {
    let Some(content) = declared.get("content") else {
        return Ok(None);
    };
    let Some(types) = content.value.as_object() else {
        return Ok(None);
    };
    let key = if types.contains_key("application/json") {
        Some("application/json")
    } else {
        types
            .keys()
            .find(|k| k.to_ascii_lowercase().contains("json"))
            .map(String::as_str)
    };
    match key.and_then(|k| content.get(k)) {
        Some(media) => Ok(Some(spec.resolve(&media)?)),
        None => Ok(None),
    }
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}
