//! The emulated Azure over real HTTP: tokens, ARM's error shapes and api-version, operations
//! that finish over the provisioning time, and out-of-band changes through the admin functions.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::{admin, Emulator, EmulatorConfig, Faults};

const SUB: &str = "/azure/subscriptions/sub-1";
const CS: &str = "api-version=2026-06-01";
const RG: &str = "api-version=2025-04-01";

async fn start(dir: &std::path::Path, faults: Faults) -> Emulator {
    let config = EmulatorConfig {
        data_dir: Some(dir.to_path_buf()),
        provision_time: Duration::from_millis(200),
        faults,
        ..EmulatorConfig::default()
    };
    Emulator::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap()
}

struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    json: Value,
}

async fn call(e: &Emulator, method: reqwest::Method, path: &str, body: Option<Value>) -> Answer {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", e.base_url()))
        .bearer_auth("t");
    if let Some(b) = body {
        request = request.json(&b);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    Answer {
        status,
        headers,
        json: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

fn cluster_path() -> String {
    format!("{SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks")
}

fn cluster_body(count: u32) -> Value {
    json!({
        "location": "westeurope",
        "properties": {
            "dnsPrefix": "aks",
            "kubernetesVersion": "1.32",
            "agentPoolProfiles": [{"name": "system", "mode": "System", "vmSize": "Standard_B2s", "count": count}]
        }
    })
}

#[tokio::test]
async fn tokens_need_a_client_and_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let e = start(dir.path(), Faults::default()).await;
    let client = reqwest::Client::new();
    let url = format!("{}/azure/tenant-1/oauth2/v2.0/token", e.base_url());
    let form = "grant_type=client_credentials&client_id=c&scope=https%3A%2F%2Fmanagement.azure.com%2F.default";
    let refused = client.post(&url).body(form).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("client_secret"));

    let ok = client
        .post(&url)
        .body(format!("{form}&client_secret=s"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["access_token"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(body["expires_in"].as_i64().unwrap() > 0);
    e.shutdown().await;
}

#[tokio::test]
async fn arm_answers_errors_in_its_own_shape() {
    let dir = tempfile::tempdir().unwrap();
    let e = start(dir.path(), Faults::default()).await;
    let unauthenticated = reqwest::get(format!("{}{SUB}/resourcegroups/rg?{RG}", e.base_url()))
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    let body: Value = unauthenticated.json().await.unwrap();
    assert_eq!(body["error"]["code"], "AuthenticationFailed");

    let a = call(
        &e,
        reqwest::Method::GET,
        &format!("{SUB}/resourcegroups/rg"),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.json["error"]["code"], "MissingApiVersionParameter");
    let a = call(
        &e,
        reqwest::Method::GET,
        &format!("{SUB}/resourcegroups/rg?api-version=2019-01-01"),
        None,
    )
    .await;
    assert_eq!(a.json["error"]["code"], "InvalidApiVersionParameter");
    let a = call(
        &e,
        reqwest::Method::GET,
        &format!("{SUB}/resourcegroups/rg?{RG}"),
        None,
    )
    .await;
    assert_eq!(
        (a.status, a.json["error"]["code"].clone()),
        (StatusCode::NOT_FOUND, json!("ResourceGroupNotFound"))
    );
    let a = call(
        &e,
        reqwest::Method::PUT,
        &format!("{}?{CS}", cluster_path()),
        Some(cluster_body(1)),
    )
    .await;
    assert_eq!(a.json["error"]["code"], "ResourceGroupNotFound");

    call(
        &e,
        reqwest::Method::PUT,
        &format!("{SUB}/resourcegroups/rg?{RG}"),
        Some(json!({"location": "westeurope"})),
    )
    .await;
    let mut bad = cluster_body(1);
    bad["properties"]["agentPoolProfiles"][0]["mode"] = json!("User");
    let a = call(
        &e,
        reqwest::Method::PUT,
        &format!("{}?{CS}", cluster_path()),
        Some(bad),
    )
    .await;
    assert_eq!(
        (a.status, a.json["error"]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("InvalidParameter"))
    );
    e.shutdown().await;
}

#[tokio::test]
async fn operations_finish_over_the_provisioning_time_and_groups_take_their_content_along() {
    let dir = tempfile::tempdir().unwrap();
    let e = start(dir.path(), Faults::default()).await;
    let a = call(
        &e,
        reqwest::Method::PUT,
        &format!("{SUB}/resourcegroups/rg?{RG}"),
        Some(json!({"location": "westeurope"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let a = call(
        &e,
        reqwest::Method::PUT,
        &format!("{SUB}/resourcegroups/rg?{RG}"),
        Some(json!({"location": "westeurope", "tags": {"a": "b"}})),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);

    let a = call(
        &e,
        reqwest::Method::PUT,
        &format!("{}?{CS}", cluster_path()),
        Some(cluster_body(1)),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(a.json["properties"]["provisioningState"], "Creating");
    let monitor = a.headers["azure-asyncoperation"]
        .to_str()
        .unwrap()
        .to_string();
    let monitor = monitor.strip_prefix(&e.base_url()).unwrap().to_string();
    let status = call(&e, reqwest::Method::GET, &monitor, None).await;
    assert_eq!(status.json["status"], "InProgress");
    tokio::time::sleep(Duration::from_millis(250)).await;
    let status = call(&e, reqwest::Method::GET, &monitor, None).await;
    assert_eq!(status.json["status"], "Succeeded");
    let cluster = call(
        &e,
        reqwest::Method::GET,
        &format!("{}?{CS}", cluster_path()),
        None,
    )
    .await;
    assert_eq!(cluster.json["properties"]["provisioningState"], "Succeeded");
    assert_eq!(
        cluster.json["properties"]["agentPoolProfiles"][0]["count"],
        1
    );

    // The kubeconfig names the cluster's emulated Kubernetes API, which answers its token.
    let creds = call(
        &e,
        reqwest::Method::POST,
        &format!("{}/listClusterUserCredential?{CS}", cluster_path()),
        None,
    )
    .await;
    use base64::Engine;
    let yaml = base64::engine::general_purpose::STANDARD
        .decode(creds.json["kubeconfigs"][0]["value"].as_str().unwrap())
        .unwrap();
    let config: serde_yaml::Value = serde_yaml::from_slice(&yaml).unwrap();
    let server = config["clusters"][0]["cluster"]["server"].as_str().unwrap();
    let token = config["users"][0]["user"]["token"].as_str().unwrap();
    let namespaces = reqwest::Client::new()
        .get(format!("{server}/api/v1/namespaces"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(namespaces.status(), StatusCode::OK);

    // Out of band, by CLUSTER/POOL, while the server runs.
    admin::set(dir.path(), "aks/system", "count", json!(3)).unwrap();
    let e2 = admin::set(dir.path(), "aks/system", "count", json!("many")).unwrap_err();
    assert!(e2.to_string().contains("whole number"), "{e2}");
    let pool = call(
        &e,
        reqwest::Method::GET,
        &format!("{}/agentPools/system?{CS}", cluster_path()),
        None,
    )
    .await;
    assert_eq!(pool.json["properties"]["count"], 3);

    let a = call(
        &e,
        reqwest::Method::DELETE,
        &format!("{SUB}/resourcegroups/rg?{RG}"),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    let result = a.headers["location"].to_str().unwrap().to_string();
    let result = result.strip_prefix(&e.base_url()).unwrap().to_string();
    assert_eq!(
        call(&e, reqwest::Method::GET, &result, None).await.status,
        StatusCode::ACCEPTED
    );
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(
        call(&e, reqwest::Method::GET, &result, None).await.status,
        StatusCode::NO_CONTENT
    );
    let gone = call(
        &e,
        reqwest::Method::GET,
        &format!("{}?{CS}", cluster_path()),
        None,
    )
    .await;
    assert_eq!(
        (gone.status, gone.json["error"]["code"].clone()),
        (StatusCode::NOT_FOUND, json!("ResourceNotFound"))
    );
    let left: Vec<_> = admin::list(dir.path())
        .unwrap()
        .into_iter()
        .filter(|o| o.cloud == "azure")
        .collect();
    assert!(left.is_empty(), "{left:?}");
    e.shutdown().await;
}

#[tokio::test]
async fn injected_throttling_carries_arms_headers() {
    let dir = tempfile::tempdir().unwrap();
    let e = start(
        dir.path(),
        Faults {
            throttle_rate: 1.0,
            ..Faults::default()
        },
    )
    .await;
    let a = call(
        &e,
        reqwest::Method::GET,
        &format!("{SUB}/resourcegroups/rg?{RG}"),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(a.json["error"]["code"], "TooManyRequests");
    assert!(a.headers.contains_key("retry-after"));
    assert_eq!(
        a.headers["x-ms-ratelimit-remaining-subscription-reads"],
        "0"
    );
    e.shutdown().await;
}
