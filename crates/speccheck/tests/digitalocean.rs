//! Checks synthetic request logs against the DigitalOcean API description.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{json, Value};
use strata_speccheck::{check_log, check_log_counts, find_spec, CheckReport, OpenApi, Violation};

const ROOT: &str = "digitalocean/DigitalOcean-public.v2.yaml";
const CLUSTER_ID: &str = "bd5f5959-5e1e-4205-a714-a914373942af";

fn spec() -> &'static OpenApi {
    static SPEC: OnceLock<OpenApi> = OnceLock::new();
    SPEC.get_or_init(|| {
        let root = find_spec(ROOT).expect("the DigitalOcean description is in shared/specs/");
        OpenApi::load(&root).expect("the description loads")
    })
}

fn spec_dir() -> PathBuf {
    spec().root().parent().unwrap().to_path_buf()
}

/// A named example's `value` from one of the description's example files.
fn example(file: &str, name: &str) -> Value {
    let text = std::fs::read_to_string(spec_dir().join(file)).unwrap();
    let examples: Value = serde_yaml::from_str(&text).unwrap();
    examples[name]["value"].clone()
}

/// The request body of the description's basic "create cluster" example.
fn create_request() -> Value {
    example(
        "resources/kubernetes/examples.yml",
        "kubernetes_clusters_basic_request",
    )
}

/// The response body of the description's basic "create cluster" example.
fn create_response() -> Value {
    example(
        "resources/kubernetes/responses/examples.yml",
        "kubernetes_clusters_create_basic_response",
    )
}

fn entry(method: &str, path: &str, request: Value, status: u16, response: Value) -> Value {
    json!({
        "time": "2025-01-01T00:00:00.000Z",
        "method": method,
        "path": path,
        "query": null,
        "request_headers": {"content-type": "application/json"},
        "request_body": request,
        "status": status,
        "response_body": response,
        "duration_ms": 1.5,
    })
}

fn error(id: &str, message: &str) -> Value {
    json!({"id": id, "message": message, "request_id": "4d9d8375-3c56-4925-a3e7-eb137fed17e9"})
}

/// Writes `entries` as a request log and checks it under `/v2/`.
fn check(entries: &[Value]) -> CheckReport {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests.jsonl");
    let text: String = entries.iter().map(|e| format!("{e}\n")).collect();
    std::fs::write(&log, text).unwrap();
    check_log_counts(spec(), &log, "/v2/").unwrap()
}

/// The single violation of a report, or a panic listing them all.
fn only(report: &CheckReport) -> &Violation {
    match report.violations.as_slice() {
        [one] => one,
        all => panic!("expected one violation, got {all:#?}"),
    }
}

#[test]
fn a_valid_create_cluster_exchange_passes() {
    let report = check(&[entry(
        "POST",
        "/v2/kubernetes/clusters",
        create_request(),
        201,
        create_response(),
    )]);
    assert_eq!(report.checked, 1);
    assert!(report.violations.is_empty(), "{:#?}", report.violations);
}

#[test]
fn error_responses_match_the_shared_error_schema() {
    let cluster = format!("/v2/kubernetes/clusters/{CLUSTER_ID}");
    let report = check(&[
        entry(
            "GET",
            &cluster,
            Value::Null,
            404,
            error(
                "not_found",
                "The resource you requested could not be found.",
            ),
        ),
        entry(
            "GET",
            &cluster,
            Value::Null,
            401,
            error("unauthorized", "Unable to authenticate you."),
        ),
        entry(
            "DELETE",
            &cluster,
            Value::Null,
            429,
            error("too_many_requests", "API Rate limit exceeded."),
        ),
        entry(
            "POST",
            "/v2/kubernetes/clusters",
            create_request(),
            500,
            error("server_error", "Unexpected server-side error"),
        ),
        entry("DELETE", &cluster, Value::Null, 204, Value::Null),
    ]);
    assert_eq!(report.checked, 5);
    assert!(report.violations.is_empty(), "{:#?}", report.violations);
}

#[test]
fn requests_outside_the_prefix_are_not_checked() {
    let report = check(&[
        entry(
            "GET",
            "/api/v1/namespaces",
            Value::Null,
            200,
            json!({"items": []}),
        ),
        entry("GET", "/healthz", Value::Null, 200, Value::Null),
    ]);
    assert_eq!(report, CheckReport::default());
}

#[test]
fn an_unknown_path_is_reported() {
    let report = check(&[entry(
        "GET",
        "/v2/kubernetes/clusterz",
        Value::Null,
        404,
        error("not_found", "nope"),
    )]);
    assert_eq!(report.checked, 1);
    let violation = only(&report);
    assert_eq!(violation.line, 1);
    assert_eq!(violation.method, "GET");
    assert_eq!(violation.path, "/v2/kubernetes/clusterz");
    assert_eq!(violation.problem, "no path of the spec matches this path");
}

#[test]
fn an_unknown_method_is_reported() {
    let path = format!("/v2/kubernetes/clusters/{CLUSTER_ID}");
    let report = check(&[entry(
        "PATCH",
        &path,
        json!({"name": "x"}),
        200,
        Value::Null,
    )]);
    assert_eq!(
        only(&report).problem,
        "the spec has no PATCH operation on /v2/kubernetes/clusters/{cluster_id} \
         (it declares GET, PUT, DELETE)"
    );
}

#[test]
fn an_unknown_request_property_is_reported() {
    let mut body = create_request();
    body["nmae"] = json!("typo");
    let report = check(&[entry(
        "POST",
        "/v2/kubernetes/clusters",
        body,
        201,
        create_response(),
    )]);
    assert_eq!(
        only(&report).problem,
        "request body: property `nmae` is not declared by the schema"
    );
}

#[test]
fn an_unknown_nested_request_property_is_reported() {
    let mut body = create_request();
    body["node_pools"][0]["sizee"] = json!("s-1vcpu-2gb");
    let report = check(&[entry(
        "POST",
        "/v2/kubernetes/clusters",
        body,
        201,
        create_response(),
    )]);
    assert_eq!(
        only(&report).problem,
        "request body: property `node_pools[0].sizee` is not declared by the schema"
    );
}

#[test]
fn a_missing_required_request_property_is_reported() {
    let mut body = create_request();
    body.as_object_mut().unwrap().remove("region");
    body["node_pools"][0]
        .as_object_mut()
        .unwrap()
        .remove("count");
    let report = check(&[entry(
        "POST",
        "/v2/kubernetes/clusters",
        body,
        201,
        create_response(),
    )]);
    let problems: Vec<&str> = report
        .violations
        .iter()
        .map(|v| v.problem.as_str())
        .collect();
    assert_eq!(
        problems,
        [
            "request body: required property `region` is missing",
            "request body: required property `node_pools[0].count` is missing",
        ]
    );
}

#[test]
fn a_missing_required_request_body_is_reported() {
    let report = check(&[entry(
        "POST",
        "/v2/kubernetes/clusters",
        Value::Null,
        201,
        create_response(),
    )]);
    assert_eq!(
        only(&report).problem,
        "request body: missing, but the operation requires one"
    );
}

#[test]
fn an_undeclared_status_is_reported() {
    let report = check(&[entry(
        "POST",
        "/v2/kubernetes/clusters",
        create_request(),
        200,
        create_response(),
    )]);
    let violation = only(&report);
    assert!(
        violation
            .problem
            .starts_with("status 200 is not declared by the operation (it declares 201, 401"),
        "{violation}"
    );
}

#[test]
fn a_status_covered_only_by_default_is_reported_and_its_body_checked() {
    let report = check(&[entry(
        "POST",
        "/v2/kubernetes/clusters",
        create_request(),
        422,
        json!({"id": "unprocessable_entity", "msg": "bad"}),
    )]);
    let problems: Vec<&str> = report
        .violations
        .iter()
        .map(|v| v.problem.as_str())
        .collect();
    assert_eq!(
        problems,
        [
            "status 422 is not declared by the operation (it declares 201, 401, 429, 500, default)",
            "response body (422): property `msg` is not declared by the schema",
            "response body (422): required property `message` is missing",
        ]
    );
}

#[test]
fn an_unknown_response_property_is_reported() {
    let mut response = create_response();
    response["links"] = json!({});
    let report = check(&[entry(
        "POST",
        "/v2/kubernetes/clusters",
        create_request(),
        201,
        response,
    )]);
    assert_eq!(
        only(&report).problem,
        "response body (201): property `links` is not declared by the schema"
    );
}

#[test]
fn a_body_on_a_no_content_response_is_reported() {
    let path = format!("/v2/kubernetes/clusters/{CLUSTER_ID}");
    let report = check(&[entry("DELETE", &path, Value::Null, 204, json!({}))]);
    assert_eq!(
        only(&report).problem,
        "response body (204): present, but the spec declares no body for this status"
    );
}

#[test]
fn violations_name_their_log_line() {
    let report = check(&[
        entry(
            "POST",
            "/v2/kubernetes/clusters",
            create_request(),
            201,
            create_response(),
        ),
        entry(
            "GET",
            "/v2/nowhere",
            Value::Null,
            404,
            error("not_found", "nope"),
        ),
    ]);
    assert_eq!(report.checked, 2);
    assert_eq!(
        only(&report).to_string(),
        "line 2: GET /v2/nowhere: no path of the spec matches this path"
    );
}

#[test]
fn check_log_returns_the_violations() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests.jsonl");
    let line = entry(
        "GET",
        "/v2/nowhere",
        Value::Null,
        404,
        error("not_found", "nope"),
    );
    std::fs::write(&log, format!("{line}\n\n")).unwrap();
    let violations = check_log(spec(), &log, "/v2/").unwrap();
    assert_eq!(violations.len(), 1);
}

#[test]
fn a_malformed_log_line_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests.jsonl");
    std::fs::write(&log, "{\"method\": \"GET\"\n").unwrap();
    let error = check_log(spec(), &log, "/v2/").unwrap_err();
    assert!(error.to_string().contains(":1: not JSON"), "{error}");
}

#[test]
fn a_missing_description_file_is_an_error() {
    let error = OpenApi::load(Path::new("/nonexistent/spec.yaml")).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("cannot read /nonexistent/spec.yaml"),
        "{error}"
    );
}
