//! The emulated Google APIs over HTTP, as a client without the Google libraries sees them.

use std::time::Duration;

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

use crate::{Emulator, EmulatorConfig, Faults};

async fn start(config: EmulatorConfig) -> Emulator {
    Emulator::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap()
}

fn config(dir: &std::path::Path) -> EmulatorConfig {
    EmulatorConfig {
        data_dir: Some(dir.to_path_buf()),
        provision_time: Duration::from_millis(300),
        ..EmulatorConfig::default()
    }
}

async fn token(base: &str) -> String {
    let answer: Value = Client::new()
        .post(format!("{base}/google/token"))
        .json(&json!({"grant_type": "refresh_token", "refresh_token": "r", "client_id": "c", "client_secret": "s"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["access_token"].as_str().unwrap().to_string()
}

async fn call(
    method: Method,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Client::new().request(method, url);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    if let Some(b) = body {
        request = request.json(&b);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

const CLUSTERS: &str = "/google/container/v1/projects/p/locations/europe-west1/clusters";

async fn wait_done(base: &str, token: &str, op: &Value) {
    let url = format!(
        "{base}/google/container/v1/projects/p/locations/europe-west1/operations/{}",
        op["name"].as_str().unwrap()
    );
    for _ in 0..100 {
        let (_, op) = call(Method::GET, &url, Some(token), None).await;
        if op["status"] == "DONE" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    panic!("operation never finished");
}

#[tokio::test]
async fn only_tokens_of_the_emulated_oauth_endpoint_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let e = start(config(dir.path())).await;
    let base = e.base_url();
    let url = format!("{base}{CLUSTERS}");
    let (status, body) = call(Method::GET, &url, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["status"], "UNAUTHENTICATED");
    let (status, _) = call(Method::GET, &url, Some("ya29.some-real-token"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let t = token(&base).await;
    assert!(t.starts_with("ya29.emulated."), "{t}");
    assert_eq!(
        t,
        token(&base).await,
        "the same refresh token gets the same access token"
    );
    let (status, body) = call(Method::GET, &url, Some(&t), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"clusters": []}));
    // A form-encoded exchange works too, and other grants are refused.
    let form = Client::new()
        .post(format!("{base}/google/token"))
        .form(&[("grant_type", "password"), ("username", "u")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_cluster_provisions_through_an_operation_and_refuses_concurrent_changes() {
    let dir = tempfile::tempdir().unwrap();
    let e = start(config(dir.path())).await;
    let base = e.base_url();
    let t = token(&base).await;
    let create = json!({"cluster": {"name": "c1", "nodePools": [{"name": "np", "initialNodeCount": 2}],
                                    "releaseChannel": {"channel": 3}}});
    let (status, op) = call(
        Method::POST,
        &format!("{base}{CLUSTERS}"),
        Some(&t),
        Some(create.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{op}");
    assert_eq!(op["operationType"], "CREATE_CLUSTER");
    assert!(
        op["status"] == "PENDING" || op["status"] == "RUNNING",
        "{op}"
    );
    let (_, cluster) = call(Method::GET, &format!("{base}{CLUSTERS}/c1"), Some(&t), None).await;
    assert_eq!(cluster["status"], "PROVISIONING");
    assert_eq!(
        cluster["releaseChannel"]["channel"], "STABLE",
        "an enum sent as a number reads back by name"
    );
    let (status, again) = call(
        Method::POST,
        &format!("{base}{CLUSTERS}"),
        Some(&t),
        Some(create),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(again["error"]["status"], "ALREADY_EXISTS");
    let (status, busy) = call(
        Method::POST,
        &format!("{base}{CLUSTERS}/c1/nodePools/np:setSize"),
        Some(&t),
        Some(json!({"nodeCount": 3})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(busy["error"]["status"], "FAILED_PRECONDITION");
    assert!(busy["error"]["message"]
        .as_str()
        .unwrap()
        .contains("incompatible operation"));

    wait_done(&base, &t, &op).await;
    let ints = format!("{base}{CLUSTERS}/c1?%24alt=json%3Benum-encoding%3Dint");
    let (_, cluster) = call(Method::GET, &ints, Some(&t), None).await;
    assert_eq!(
        cluster["status"], 2,
        "RUNNING as a number when the client asks for numbers"
    );
    assert_eq!(cluster["nodePools"][0]["initialNodeCount"], 2);
    let (status, op) = call(
        Method::POST,
        &format!("{base}{CLUSTERS}/c1/nodePools/np:setSize"),
        Some(&t),
        Some(json!({"nodeCount": 3})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{op}");
    assert_eq!(op["operationType"], "SET_NODE_POOL_SIZE");
    let (status, missing) = call(
        Method::GET,
        &format!("{base}{CLUSTERS}/nope"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(missing["error"]["code"], 404);
}

#[tokio::test]
async fn out_of_band_changes_reach_the_api_and_deletes_remove_everything() {
    let dir = tempfile::tempdir().unwrap();
    let e = start(config(dir.path())).await;
    let base = e.base_url();
    let t = token(&base).await;
    let create =
        json!({"cluster": {"name": "c1", "nodePools": [{"name": "np", "initialNodeCount": 1}]}});
    let (_, op) = call(
        Method::POST,
        &format!("{base}{CLUSTERS}"),
        Some(&t),
        Some(create),
    )
    .await;
    wait_done(&base, &t, &op).await;
    let sql = json!({"name": "db1", "databaseVersion": "POSTGRES_16", "region": "europe-west1",
                     "settings": {"tier": "db-custom-2-7680", "dataDiskSizeGb": "20"}});
    let (status, sql_op) = call(
        Method::POST,
        &format!("{base}/google/sql/v1/projects/p/instances"),
        Some(&t),
        Some(sql),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{sql_op}");
    assert_eq!(sql_op["operationType"], "CREATE");

    let objects = crate::admin::list(dir.path()).unwrap();
    let kinds: Vec<&str> = objects
        .iter()
        .filter(|o| o.cloud == "google")
        .map(|o| o.kind.as_str())
        .collect();
    assert_eq!(kinds, ["gke_cluster", "gke_node_pool", "sql_instance"]);
    crate::admin::set(dir.path(), "c1/np", "node_count", json!(5)).unwrap();
    let (_, pool) = call(
        Method::GET,
        &format!("{base}{CLUSTERS}/c1/nodePools/np"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(pool["initialNodeCount"], 5);
    let e2 = crate::admin::set(dir.path(), "c1/np", "name", json!("x")).unwrap_err();
    assert!(e2.to_string().contains("managed by the emulator"), "{e2}");

    crate::admin::delete(dir.path(), "c1").unwrap();
    crate::admin::delete(dir.path(), "db1").unwrap();
    let (status, _) = call(Method::GET, &format!("{base}{CLUSTERS}/c1"), Some(&t), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let left: Vec<_> = crate::admin::list(dir.path())
        .unwrap()
        .into_iter()
        .filter(|o| o.cloud == "google")
        .collect();
    assert!(left.is_empty());
}

#[tokio::test]
async fn injected_faults_have_googles_shape_and_spare_the_token_endpoint() {
    let e = start(EmulatorConfig {
        faults: Faults {
            throttle_rate: 1.0,
            ..Faults::default()
        },
        ..EmulatorConfig::default()
    })
    .await;
    let base = e.base_url();
    let t = token(&base).await;
    let (status, body) = call(Method::GET, &format!("{base}{CLUSTERS}"), Some(&t), None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"]["status"], "RESOURCE_EXHAUSTED");
    assert_eq!(body["error"]["code"], 429);
}
