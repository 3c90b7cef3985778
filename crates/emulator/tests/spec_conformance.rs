//! Every request the DigitalOcean provider can make, answered by the emulator, checked against
//! DigitalOcean's published OpenAPI description through the request log.

mod common;

use common::{instant, start, Do};
use reqwest::StatusCode;
use serde_json::json;
use strata_emulator::EmulatorConfig;
use strata_speccheck::{check_log_counts, find_spec, OpenApi};

#[tokio::test]
async fn the_digitalocean_api_answers_as_its_openapi_description_says() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests.jsonl");
    let emulator = start(EmulatorConfig {
        request_log: Some(log.clone()),
        ..instant()
    })
    .await;
    let api = Do::new(&emulator);

    // VPCs
    let vpc = api.create_vpc("shop-stage", "nyc1", "10.10.0.0/16").await;
    api.get("/v2/vpcs").await;
    api.get(&format!("/v2/vpcs/{vpc}")).await;
    api.patch(
        &format!("/v2/vpcs/{vpc}"),
        json!({ "description": "stage" }),
    )
    .await;
    api.put(
        &format!("/v2/vpcs/{vpc}"),
        json!({ "name": "shop-stage", "description": "x" }),
    )
    .await;

    // Kubernetes
    let created = api
        .post(
            "/v2/kubernetes/clusters",
            json!({
                "name": "shop-stage", "region": "nyc1", "version": "1.31.1-do.4",
                "vpc_uuid": vpc, "tags": ["shop"], "auto_upgrade": false,
                "maintenance_policy": { "start_time": "12:00", "day": "any" },
                "node_pools": [{ "name": "default", "size": "s-2vcpu-2gb", "count": 2,
                                 "auto_scale": true, "min_nodes": 2, "max_nodes": 5,
                                 "labels": { "tier": "web" }, "tags": ["web"] }],
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.json["kubernetes_cluster"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let cluster = format!("/v2/kubernetes/clusters/{id}");
    api.get("/v2/kubernetes/clusters").await;
    api.get(&cluster).await;
    api.put(
        &cluster,
        json!({ "name": "shop-stage", "tags": ["shop", "stage"] }),
    )
    .await;
    api.get(&format!("{cluster}/kubeconfig")).await;
    api.get(&format!("{cluster}/credentials")).await;
    api.get(&format!("{cluster}/upgrades")).await;
    api.get("/v2/kubernetes/options").await;
    let pool = api
        .post(
            &format!("{cluster}/node_pools"),
            json!({ "name": "backend", "size": "s-4vcpu-8gb", "count": 1 }),
        )
        .await;
    let pool_id = pool.json["node_pool"]["id"].as_str().unwrap().to_string();
    api.get(&format!("{cluster}/node_pools")).await;
    api.get(&format!("{cluster}/node_pools/{pool_id}")).await;
    api.put(
        &format!("{cluster}/node_pools/{pool_id}"),
        json!({ "name": "backend", "count": 2 }),
    )
    .await;
    api.delete(&format!("{cluster}/node_pools/{pool_id}")).await;
    api.post(
        &format!("{cluster}/upgrade"),
        json!({ "version": "1.32.5-do.1" }),
    )
    .await;
    api.get("/v2/kubernetes/clusters/00000000-0000-0000-0000-000000000000")
        .await;

    // Databases
    let database = api
        .post(
            "/v2/databases",
            json!({ "name": "backend", "engine": "pg", "version": "16", "region": "nyc1",
                    "size": "db-s-1vcpu-1gb", "num_nodes": 1, "private_network_uuid": vpc,
                    "tags": ["production"], "storage_size_mib": 10240 }),
        )
        .await;
    let db = database.json["database"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    api.get("/v2/databases").await;
    api.get(&format!("/v2/databases/{db}")).await;
    api.put(
        &format!("/v2/databases/{db}/resize"),
        json!({ "size": "db-s-2vcpu-4gb", "num_nodes": 2 }),
    )
    .await;
    api.delete(&format!("/v2/databases/{db}")).await;

    api.delete(&cluster).await;
    api.delete(&format!("/v2/vpcs/{vpc}")).await;
    Do::without_token(&emulator).get("/v2/vpcs").await;
    emulator.shutdown().await;

    let spec_file = find_spec("digitalocean/DigitalOcean-public.v2.yaml")
        .expect("the DigitalOcean description is in shared/specs/");
    let spec = OpenApi::load(&spec_file).unwrap();
    let report = check_log_counts(&spec, &log, "/v2/").unwrap();
    let problems: Vec<String> = report.violations.iter().map(ToString::to_string).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(report.checked, 28, "every request above was checked");
}
