//! The emulated DigitalOcean API, driven over HTTP as the DigitalOcean provider drives it.

mod common;

use std::time::{Duration, Instant};

use common::{assert_do_error, instant, start, Do};
use reqwest::StatusCode;
use serde_json::json;
use strata_emulator::EmulatorConfig;

#[tokio::test]
async fn a_cluster_is_provisioning_at_first_and_running_after_the_provision_time() {
    let emulator = start(EmulatorConfig {
        provision_time: Duration::from_millis(300),
        ..EmulatorConfig::default()
    })
    .await;
    let api = Do::new(&emulator);

    let cluster = api.create_cluster("shop-stage", "nyc1", 2).await;
    assert_eq!(cluster["status"]["state"], "provisioning");
    let pool = &cluster["node_pools"][0];
    assert_eq!(pool["nodes"].as_array().unwrap().len(), 2);
    assert_eq!(pool["nodes"][0]["status"]["state"], "provisioning");

    let id = cluster["id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let running = loop {
        let answer = api.get(&format!("/v2/kubernetes/clusters/{id}")).await;
        assert_eq!(answer.status, StatusCode::OK);
        let cluster = answer.json["kubernetes_cluster"].clone();
        if cluster["status"]["state"] == "running" {
            break cluster;
        }
        assert_eq!(cluster["status"]["state"], "provisioning");
        assert!(
            Instant::now() < deadline,
            "the cluster never became running"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for node in running["node_pools"][0]["nodes"].as_array().unwrap() {
        assert_eq!(node["status"]["state"], "running");
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_cluster_reports_its_emulated_kubernetes_endpoint_and_tags_like_the_cloud() {
    let emulator = start(instant()).await;
    let api = Do::new(&emulator);
    let vpc = api.create_vpc("shop-stage", "nyc1", "10.10.0.0/16").await;
    let answer = api
        .post(
            "/v2/kubernetes/clusters",
            json!({
                "name": "shop-stage",
                "region": "nyc1",
                "version": "1.31",
                "vpc_uuid": vpc,
                "tags": ["shop", "k8s"],
                "node_pools": [{
                    "name": "default", "size": "s-2vcpu-2gb", "count": 3,
                    "auto_scale": true, "min_nodes": 2, "max_nodes": 5,
                    "labels": { "tier": "web" }, "tags": ["frontend"]
                }],
            }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let cluster = &answer.json["kubernetes_cluster"];
    let id = cluster["id"].as_str().unwrap();
    assert_eq!(
        cluster["endpoint"],
        format!("{}/k8s/{id}", emulator.base_url())
    );
    assert_eq!(cluster["vpc_uuid"], vpc.as_str());
    assert_eq!(
        cluster["version"], "1.31.9-do.1",
        "a minor version resolves to its newest patch"
    );
    assert_eq!(cluster["tags"], json!(["shop", "k8s", format!("k8s:{id}")]));
    let pool = &cluster["node_pools"][0];
    assert_eq!(
        pool["tags"],
        json!(["frontend", "k8s", format!("k8s:{id}"), "k8s:worker"])
    );
    assert_eq!(pool["labels"], json!({ "tier": "web" }));
    assert_eq!(
        (pool["min_nodes"].clone(), pool["max_nodes"].clone()),
        (json!(2), json!(5))
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn each_cluster_gets_a_kubeconfig_with_its_own_token_for_its_kubernetes_api() {
    let emulator = start(instant()).await;
    let api = Do::new(&emulator);
    let first = api.create_cluster("first", "nyc1", 1).await;
    let second = api.create_cluster("second", "nyc1", 1).await;

    let mut tokens = Vec::new();
    for cluster in [&first, &second] {
        let id = cluster["id"].as_str().unwrap();
        let answer = api
            .get(&format!("/v2/kubernetes/clusters/{id}/kubeconfig"))
            .await;
        assert_eq!(answer.status, StatusCode::OK);
        assert!(answer
            .header("content-type")
            .unwrap()
            .starts_with("application/yaml"));
        let config: serde_yaml::Value = serde_yaml::from_str(&answer.text).unwrap();
        assert_eq!(config["kind"].as_str(), Some("Config"));
        let server = config["clusters"][0]["cluster"]["server"].as_str().unwrap();
        assert_eq!(server, cluster["endpoint"].as_str().unwrap());
        let token = config["users"][0]["user"]["token"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            config["current-context"].as_str(),
            config["contexts"][0]["name"].as_str()
        );

        let client = reqwest::Client::new();
        let ok = client
            .get(format!("{server}/api/v1/namespaces"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            ok.status(),
            StatusCode::OK,
            "the kubeconfig's token opens the cluster's API"
        );
        tokens.push(token);
    }
    assert_ne!(tokens[0], tokens[1]);

    let first_endpoint = first["endpoint"].as_str().unwrap();
    let refused = reqwest::Client::new()
        .get(format!("{first_endpoint}/api/v1/namespaces"))
        .bearer_auth(&tokens[1])
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.status(),
        StatusCode::UNAUTHORIZED,
        "another cluster's token is refused"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn errors_use_digitalocean_shapes_and_statuses() {
    let emulator = start(instant()).await;
    let api = Do::new(&emulator);

    let missing = api
        .get("/v2/kubernetes/clusters/5a4981aa-9653-4bd1-bef5-d6bff52042e4")
        .await;
    assert_do_error(&missing, StatusCode::NOT_FOUND, "not_found");

    let unknown_route = api.get("/v2/no-such-collection").await;
    assert_do_error(&unknown_route, StatusCode::NOT_FOUND, "not_found");

    let anonymous = Do::without_token(&emulator).get("/v2/vpcs").await;
    assert_do_error(&anonymous, StatusCode::UNAUTHORIZED, "unauthorized");

    api.create_cluster("shop", "nyc1", 1).await;
    let duplicate = api
        .post(
            "/v2/kubernetes/clusters",
            json!({ "name": "shop", "region": "nyc1", "version": "latest",
                    "node_pools": [{ "name": "p", "size": "s-1vcpu-2gb", "count": 1 }] }),
        )
        .await;
    assert_do_error(
        &duplicate,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable_entity",
    );
    api.create_cluster("shop", "fra1", 1).await; // the same name in another region is fine

    let no_pools = api
        .post(
            "/v2/kubernetes/clusters",
            json!({ "name": "empty", "region": "nyc1", "version": "latest", "node_pools": [] }),
        )
        .await;
    assert_do_error(
        &no_pools,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable_entity",
    );

    let bad_region = api
        .post("/v2/vpcs", json!({ "name": "x", "region": "mars1" }))
        .await;
    assert_do_error(
        &bad_region,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable_entity",
    );
    assert!(bad_region.json["message"]
        .as_str()
        .unwrap()
        .contains("nyc1"));

    let empty = api.call(reqwest::Method::POST, "/v2/vpcs", None).await;
    assert_do_error(
        &empty,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable_entity",
    );
    let malformed = reqwest::Client::new()
        .post(format!("{}/v2/vpcs", emulator.base_url()))
        .bearer_auth(common::TOKEN)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = malformed.json().await.unwrap();
    assert_eq!(body["id"], "bad_request");
    let wrong_type = api
        .post(
            "/v2/vpcs",
            json!({ "name": ["not", "a", "string"], "region": "nyc1" }),
        )
        .await;
    assert_do_error(
        &wrong_type,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable_entity",
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn every_answer_carries_rate_limit_headers_that_count_down() {
    let emulator = start(instant()).await;
    let api = Do::new(&emulator);
    let first = api.get("/v2/vpcs").await;
    let second = api.get("/v2/vpcs").await;
    assert_eq!(first.header("ratelimit-limit"), Some("5000"));
    let remaining =
        |a: &common::Answer| -> u64 { a.header("ratelimit-remaining").unwrap().parse().unwrap() };
    assert!(remaining(&second) < remaining(&first));
    assert!(
        first
            .header("ratelimit-reset")
            .unwrap()
            .parse::<i64>()
            .unwrap()
            > 1_600_000_000
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn vpcs_are_created_listed_changed_and_deleted() {
    let emulator = start(instant()).await;
    let api = Do::new(&emulator);
    let id = api.create_vpc("shop-stage", "nyc1", "10.10.0.0/16").await;

    let overlapping = api
        .post(
            "/v2/vpcs",
            json!({ "name": "other", "region": "nyc1", "ip_range": "10.10.8.0/24" }),
        )
        .await;
    assert_do_error(
        &overlapping,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable_entity",
    );

    // The region's default VPC exists besides the user's, as on a real account.
    let list = api.get("/v2/vpcs").await;
    assert_eq!(list.json["meta"]["total"], 2);
    let vpcs = list.json["vpcs"].as_array().unwrap();
    let mine = vpcs.iter().find(|v| v["id"] == id.as_str()).unwrap();
    assert_eq!(mine["default"], false);
    assert_eq!(mine["urn"], format!("do:vpc:{id}"));
    assert!(vpcs
        .iter()
        .any(|v| v["name"] == "default-nyc1" && v["default"] == true));

    let paged = api.get("/v2/vpcs?per_page=1&page=1").await;
    assert_eq!(paged.json["vpcs"].as_array().unwrap().len(), 1);
    assert!(paged.json["links"]["pages"]["next"]
        .as_str()
        .unwrap()
        .contains("page=2"));

    let patched = api
        .patch(
            &format!("/v2/vpcs/{id}"),
            json!({ "description": "stage network" }),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK);
    assert_eq!(patched.json["vpc"]["description"], "stage network");
    assert_eq!(patched.json["vpc"]["name"], "shop-stage");

    let put_without_name = api
        .put(&format!("/v2/vpcs/{id}"), json!({ "description": "x" }))
        .await;
    assert_do_error(
        &put_without_name,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable_entity",
    );
    let renamed = api
        .put(&format!("/v2/vpcs/{id}"), json!({ "name": "shop-stage-2" }))
        .await;
    assert_eq!(renamed.json["vpc"]["name"], "shop-stage-2");

    // A VPC with members cannot be deleted; once they are gone it can.
    let cluster = api
        .post(
            "/v2/kubernetes/clusters",
            json!({ "name": "c", "region": "nyc1", "version": "latest", "vpc_uuid": id,
                    "node_pools": [{ "name": "p", "size": "s-1vcpu-2gb", "count": 1 }] }),
        )
        .await;
    let cluster_id = cluster.json["kubernetes_cluster"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let refused = api.delete(&format!("/v2/vpcs/{id}")).await;
    assert_do_error(&refused, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(
        api.delete(&format!("/v2/kubernetes/clusters/{cluster_id}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let deleted = api.delete(&format!("/v2/vpcs/{id}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(deleted.text.is_empty());
    assert_eq!(
        api.get(&format!("/v2/vpcs/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn node_pools_scale_in_place_within_their_autoscaling_bounds() {
    let emulator = start(instant()).await;
    let api = Do::new(&emulator);
    let cluster = api.create_cluster("shop", "nyc1", 1).await;
    let id = cluster["id"].as_str().unwrap();
    let pools = format!("/v2/kubernetes/clusters/{id}/node_pools");

    let created = api
        .post(
            &pools,
            json!({ "name": "backend", "size": "s-4vcpu-8gb", "count": 2,
                    "auto_scale": true, "min_nodes": 1, "max_nodes": 5 }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let pool_id = created.json["node_pool"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let pool_path = format!("{pools}/{pool_id}");

    let scaled = api
        .put(
            &pool_path,
            json!({ "name": "backend", "count": 4, "tags": ["api"] }),
        )
        .await;
    assert_eq!(scaled.status, StatusCode::ACCEPTED, "{}", scaled.text);
    assert_eq!(scaled.json["node_pool"]["count"], 4);
    assert_eq!(
        scaled.json["node_pool"]["nodes"].as_array().unwrap().len(),
        4
    );

    let beyond = api
        .put(&pool_path, json!({ "name": "backend", "count": 9 }))
        .await;
    assert_eq!(
        beyond.json["node_pool"]["count"], 5,
        "the autoscaler caps the pool at max_nodes"
    );

    let bounds = api
        .put(
            &pool_path,
            json!({ "name": "backend", "count": 3, "min_nodes": 6, "max_nodes": 4 }),
        )
        .await;
    assert_do_error(
        &bounds,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable_entity",
    );

    let resize = api
        .put(
            &pool_path,
            json!({ "name": "backend", "count": 3, "size": "s-8vcpu-16gb" }),
        )
        .await;
    assert_do_error(
        &resize,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable_entity",
    );

    let listed = api.get(&pools).await;
    assert_eq!(listed.json["node_pools"].as_array().unwrap().len(), 2);
    let fetched = api.get(&pool_path).await;
    assert_eq!(fetched.json["node_pool"]["tags"][0], "api");

    assert_eq!(api.delete(&pool_path).await.status, StatusCode::NO_CONTENT);
    assert_eq!(api.get(&pool_path).await.status, StatusCode::NOT_FOUND);
    emulator.shutdown().await;
}

#[tokio::test]
async fn clusters_update_in_place_and_upgrade() {
    let emulator = start(EmulatorConfig {
        provision_time: Duration::from_secs(3600),
        ..EmulatorConfig::default()
    })
    .await;
    let api = Do::new(&emulator);
    let cluster = api.create_cluster("shop", "nyc1", 1).await;
    let path = format!(
        "/v2/kubernetes/clusters/{}",
        cluster["id"].as_str().unwrap()
    );

    let updated = api
        .put(
            &path,
            json!({ "name": "shop", "tags": ["shop", "prod"], "auto_upgrade": true }),
        )
        .await;
    assert_eq!(updated.status, StatusCode::ACCEPTED, "{}", updated.text);
    assert_eq!(updated.json["kubernetes_cluster"]["auto_upgrade"], true);
    assert_eq!(updated.json["kubernetes_cluster"]["tags"][1], "prod");

    let upgraded = api
        .post(
            &format!("{path}/upgrade"),
            json!({ "version": "1.32.5-do.1" }),
        )
        .await;
    assert_eq!(upgraded.status, StatusCode::ACCEPTED, "{}", upgraded.text);
    let after = api.get(&path).await.json["kubernetes_cluster"].clone();
    assert_eq!(after["version"], "1.32.5-do.1");
    assert_eq!(after["status"]["state"], "upgrading");

    let downgrade = api
        .post(
            &format!("{path}/upgrade"),
            json!({ "version": "1.31.1-do.4" }),
        )
        .await;
    assert_do_error(
        &downgrade,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable_entity",
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn databases_are_created_with_credentials_resized_and_deleted() {
    let emulator = start(EmulatorConfig {
        provision_time: Duration::from_secs(3600),
        ..EmulatorConfig::default()
    })
    .await;
    let api = Do::new(&emulator);
    let created = api
        .post(
            "/v2/databases",
            json!({ "name": "backend", "engine": "pg", "version": "16", "region": "nyc3",
                    "size": "db-s-1vcpu-1gb", "num_nodes": 1, "tags": ["production"] }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let database = &created.json["database"];
    assert_eq!(database["status"], "creating");
    let connection = &database["connection"];
    let password = connection["password"].as_str().unwrap();
    assert!(password.len() >= 16);
    assert_eq!(connection["user"], "doadmin");
    assert_eq!(connection["port"], 25060);
    assert!(connection["uri"]
        .as_str()
        .unwrap()
        .starts_with("postgresql://doadmin:"));
    let id = database["id"].as_str().unwrap();

    let duplicate = api
        .post(
            "/v2/databases",
            json!({ "name": "backend", "engine": "pg", "region": "nyc3",
                    "size": "db-s-1vcpu-1gb", "num_nodes": 1 }),
        )
        .await;
    assert_do_error(
        &duplicate,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable_entity",
    );

    let resized = api
        .put(
            &format!("/v2/databases/{id}/resize"),
            json!({ "size": "db-s-2vcpu-4gb", "num_nodes": 2 }),
        )
        .await;
    assert_eq!(resized.status, StatusCode::ACCEPTED, "{}", resized.text);
    let after = api.get(&format!("/v2/databases/{id}")).await.json["database"].clone();
    assert_eq!(after["status"], "resizing");
    assert_eq!(after["size"], "db-s-2vcpu-4gb");
    assert!(after["standby_connection"].is_object());

    let too_many = api
        .put(
            &format!("/v2/databases/{id}/resize"),
            json!({ "size": "db-s-2vcpu-4gb", "num_nodes": 7 }),
        )
        .await;
    assert_do_error(
        &too_many,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable_entity",
    );

    let tagged = api.get("/v2/databases?tag_name=production").await;
    assert_eq!(tagged.json["databases"].as_array().unwrap().len(), 1);
    let untagged = api.get("/v2/databases?tag_name=staging").await;
    assert_eq!(untagged.json["databases"].as_array().unwrap().len(), 0);

    assert_eq!(
        api.delete(&format!("/v2/databases/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api.get(&format!("/v2/databases/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    emulator.shutdown().await;
}
