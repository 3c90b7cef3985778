//! Fault injection: throttling and server errors look like the real cloud's, never change the
//! cloud, and never touch the admin API.

mod common;

use common::{assert_do_error, instant, start, Do};
use reqwest::StatusCode;
use serde_json::{json, Value};
use strata_emulator::{EmulatorConfig, Faults};

fn faulty(data_dir: &std::path::Path, faults: Faults) -> EmulatorConfig {
    EmulatorConfig {
        data_dir: Some(data_dir.to_path_buf()),
        faults,
        ..instant()
    }
}

#[tokio::test]
async fn throttled_requests_get_429_with_rate_limit_and_retry_after_headers() {
    let dir = tempfile::tempdir().unwrap();
    // A healthy emulator creates a cluster first, so the throttled one has a Kubernetes API.
    let healthy = start(faulty(dir.path(), Faults::default())).await;
    let cluster = Do::new(&healthy).create_cluster("shop", "nyc1", 1).await;
    healthy.shutdown().await;

    let emulator = start(faulty(
        dir.path(),
        Faults {
            throttle_rate: 1.0,
            ..Faults::default()
        },
    ))
    .await;
    let api = Do::new(&emulator);
    let answer = api.get("/v2/kubernetes/clusters").await;
    assert_do_error(&answer, StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    assert_eq!(answer.header("ratelimit-remaining"), Some("0"));
    assert_eq!(answer.header("retry-after"), Some("1"));

    let kube = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/namespaces",
            cluster["endpoint"].as_str().unwrap()
        ))
        .bearer_auth("any")
        .send()
        .await
        .unwrap();
    assert_eq!(kube.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(kube.headers()["retry-after"], "1");
    let status: Value = kube.json().await.unwrap();
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["reason"], "TooManyRequests");

    let admin = reqwest::get(format!("{}/_emulator/objects", emulator.base_url()))
        .await
        .unwrap();
    assert_eq!(
        admin.status(),
        StatusCode::OK,
        "the admin API is never faulted"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_request_answered_with_a_server_error_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = start(faulty(
        dir.path(),
        Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
    ))
    .await;
    let api = Do::new(&emulator);
    let answer = api
        .post(
            "/v2/vpcs",
            json!({ "name": "shop", "region": "nyc1", "ip_range": "10.10.0.0/16" }),
        )
        .await;
    assert_do_error(&answer, StatusCode::INTERNAL_SERVER_ERROR, "server_error");

    let objects: Value = reqwest::get(format!("{}/_emulator/objects", emulator.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The emulated on-prem hosts are there from the start, like machines in a rack.
    let created: Vec<&Value> = objects
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["cloud"] != "onprem")
        .collect();
    assert!(created.is_empty(), "nothing was created: {created:?}");
    emulator.shutdown().await;

    let healthy = start(faulty(dir.path(), Faults::default())).await;
    let list = Do::new(&healthy).get("/v2/vpcs").await;
    assert_eq!(list.json["vpcs"], json!([]), "nothing was persisted either");
    healthy.shutdown().await;
}

#[tokio::test]
async fn a_seed_replays_the_same_sequence_of_faults() {
    async fn statuses(seed: u64) -> Vec<u16> {
        let emulator = start(EmulatorConfig {
            faults: Faults {
                error_rate: 0.5,
                seed: Some(seed),
                ..Faults::default()
            },
            ..instant()
        })
        .await;
        let api = Do::new(&emulator);
        let mut out = Vec::new();
        for _ in 0..24 {
            out.push(api.get("/v2/vpcs").await.status.as_u16());
        }
        emulator.shutdown().await;
        out
    }
    let first = statuses(7).await;
    assert_eq!(first, statuses(7).await);
    assert!(first.contains(&500) && first.contains(&200), "{first:?}");
}
