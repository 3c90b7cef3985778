//! The request log: one JSON line per request, without credentials.

mod common;

use common::{instant, start, Do, TOKEN};
use serde_json::{json, Value};
use strata_emulator::EmulatorConfig;

#[tokio::test]
async fn every_request_is_logged_as_one_json_line_without_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("logs/requests.jsonl");
    let emulator = start(EmulatorConfig {
        request_log: Some(log.clone()),
        ..instant()
    })
    .await;
    let api = Do::new(&emulator);
    let vpc = api.create_vpc("shop", "nyc1", "10.10.0.0/16").await;
    api.get("/v2/vpcs?per_page=5").await;
    api.get("/v2/vpcs/00000000-0000-0000-0000-000000000000")
        .await;
    emulator.shutdown().await;

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains(TOKEN),
        "the bearer token never reaches the log"
    );
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 3);

    let create = &lines[0];
    assert_eq!(create["method"], "POST");
    assert_eq!(create["path"], "/v2/vpcs");
    assert_eq!(create["status"], 201);
    assert_eq!(
        create["request_body"],
        json!({ "name": "shop", "region": "nyc1", "ip_range": "10.10.0.0/16" })
    );
    assert_eq!(create["response_body"]["vpc"]["id"], vpc.as_str());
    assert_eq!(
        create["request_headers"]["content-type"],
        "application/json"
    );
    assert!(create["request_headers"].get("authorization").is_none());
    assert!(create["time"].as_str().unwrap().contains('T'));

    assert_eq!(lines[1]["query"], "per_page=5");
    assert_eq!(lines[1]["request_body"], Value::Null);
    assert_eq!(lines[2]["status"], 404);
    assert_eq!(lines[2]["response_body"]["id"], "not_found");
}
