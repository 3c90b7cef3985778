//! Out-of-band changes, on a data folder and over the admin HTTP API, seen through the cloud's
//! own API as drift.

mod common;

use common::{instant, start, Do};
use reqwest::StatusCode;
use serde_json::{json, Value};
use strata_emulator::{admin, EmulatorConfig, EmulatorError};

fn on(dir: &std::path::Path) -> EmulatorConfig {
    EmulatorConfig {
        data_dir: Some(dir.to_path_buf()),
        ..instant()
    }
}

#[tokio::test]
async fn scaling_a_node_pool_out_of_band_shows_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = start(on(dir.path())).await;
    let api = Do::new(&emulator);
    let cluster = api.create_cluster("shop", "nyc1", 2).await;
    let id = cluster["id"].as_str().unwrap();
    let pool_id = cluster["node_pools"][0]["id"].as_str().unwrap();

    // While the server runs, another process changes the persisted cloud.
    admin::set(dir.path(), "shop/default", "count", json!(5)).unwrap();
    admin::set(dir.path(), pool_id, "tags", json!(["changed-by-hand"])).unwrap();

    let pool = api
        .get(&format!(
            "/v2/kubernetes/clusters/{id}/node_pools/{pool_id}"
        ))
        .await
        .json["node_pool"]
        .clone();
    assert_eq!(pool["count"], 5);
    assert_eq!(pool["nodes"].as_array().unwrap().len(), 5);
    assert_eq!(pool["tags"][0], "changed-by-hand");

    let listed = admin::list(dir.path()).unwrap();
    let entry = listed.iter().find(|o| o.kind == "node_pool").unwrap();
    assert_eq!(entry.cloud, "digitalocean");
    assert_eq!(entry.name, "default");
    assert_eq!(entry.fields["count"], json!(5));
    assert!(listed
        .iter()
        .any(|o| o.kind == "kubernetes_cluster" && o.id == id));
    emulator.shutdown().await;
}

#[tokio::test]
async fn deleting_a_cluster_out_of_band_makes_the_api_answer_404() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = start(on(dir.path())).await;
    let api = Do::new(&emulator);
    let cluster = api.create_cluster("shop", "nyc1", 1).await;
    let id = cluster["id"].as_str().unwrap();

    admin::delete(dir.path(), "shop").unwrap();
    let answer = api.get(&format!("/v2/kubernetes/clusters/{id}")).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    let kube = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/namespaces",
            cluster["endpoint"].as_str().unwrap()
        ))
        .bearer_auth("whatever")
        .send()
        .await
        .unwrap();
    assert_eq!(
        kube.status(),
        StatusCode::NOT_FOUND,
        "its Kubernetes API is gone too"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_admin_http_api_sets_and_deletes_like_the_library() {
    let emulator = start(instant()).await;
    let api = Do::new(&emulator);
    let created = api
        .post(
            "/v2/databases",
            json!({ "name": "backend", "engine": "pg", "region": "nyc3",
                    "size": "db-s-1vcpu-1gb", "num_nodes": 1 }),
        )
        .await;
    let id = created.json["database"]["id"].as_str().unwrap().to_string();
    let client = reqwest::Client::new();
    let admin_url = |p: &str| format!("{}/_emulator/{p}", emulator.base_url());

    let set = client
        .post(admin_url("set"))
        .json(&json!({ "object": "backend", "field": "size", "value": "db-s-4vcpu-8gb" }))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), StatusCode::NO_CONTENT);
    let status = client
        .post(admin_url("set"))
        .json(&json!({ "object": id, "field": "status", "value": "migrating" }))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), StatusCode::NO_CONTENT);
    let database = api.get(&format!("/v2/databases/{id}")).await.json["database"].clone();
    assert_eq!(database["size"], "db-s-4vcpu-8gb");
    assert_eq!(database["status"], "migrating");

    let bad = client
        .post(admin_url("set"))
        .json(&json!({ "object": "backend", "field": "num_nodes", "value": "many" }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let message: Value = bad.json().await.unwrap();
    assert!(
        message["error"].as_str().unwrap().contains("num_nodes"),
        "{message}"
    );

    let unknown = client
        .post(admin_url("delete"))
        .json(&json!({ "object": "no-such-thing" }))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    let deleted = client
        .post(admin_url("delete"))
        .json(&json!({ "object": "backend" }))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        api.get(&format!("/v2/databases/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn kubernetes_objects_are_listed_and_changed_out_of_band() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = start(on(dir.path())).await;
    let api = Do::new(&emulator);
    let cluster = api.create_cluster("shop", "nyc1", 1).await;
    let id = cluster["id"].as_str().unwrap();
    let endpoint = cluster["endpoint"].as_str().unwrap();
    let kubeconfig = api
        .get(&format!("/v2/kubernetes/clusters/{id}/kubeconfig"))
        .await
        .text;
    let config: serde_yaml::Value = serde_yaml::from_str(&kubeconfig).unwrap();
    let token = config["users"][0]["user"]["token"]
        .as_str()
        .unwrap()
        .to_string();

    let client = reqwest::Client::new();
    let namespace = client
        .post(format!("{endpoint}/api/v1/namespaces"))
        .bearer_auth(&token)
        .json(&json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": "shop" } }))
        .send()
        .await
        .unwrap();
    assert!(
        namespace.status().is_success(),
        "{}",
        namespace.text().await.unwrap()
    );
    let deployment = client
        .post(format!(
            "{endpoint}/apis/apps/v1/namespaces/shop/deployments"
        ))
        .bearer_auth(&token)
        .json(&json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": { "name": "backend", "namespace": "shop" },
            "spec": {
                "replicas": 2,
                "selector": { "matchLabels": { "app": "backend" } },
                "template": {
                    "metadata": { "labels": { "app": "backend" } },
                    "spec": { "containers": [{ "name": "app", "image": "shop/backend:1" }] }
                }
            }
        }))
        .send()
        .await
        .unwrap();
    assert!(
        deployment.status().is_success(),
        "{}",
        deployment.text().await.unwrap()
    );
    emulator.shutdown().await;

    let objects = admin::list(dir.path()).unwrap();
    let entry = objects
        .iter()
        .find(|o| o.cloud == "kubernetes" && o.kind == "Deployment")
        .expect("the Deployment is in the inventory");
    assert_eq!(entry.name, "backend");
    assert_eq!(entry.fields["namespace"], json!("shop"));
    assert_eq!(entry.fields["spec.replicas"], json!(2));

    admin::set(dir.path(), "shop/backend", "spec.replicas", json!(7)).unwrap();

    let emulator = start(on(dir.path())).await;
    let scaled: Value = client
        .get(format!(
            "{}/k8s/{id}/apis/apps/v1/namespaces/shop/deployments/backend",
            emulator.base_url()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(scaled["spec"]["replicas"], 7);

    // The running server's admin API changes its live Kubernetes objects too.
    let set = client
        .post(format!("{}/_emulator/set", emulator.base_url()))
        .json(&json!({ "object": "Deployment/backend", "field": "spec.replicas", "value": 3 }))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), StatusCode::NO_CONTENT);
    let live: Value = client
        .get(format!(
            "{}/k8s/{id}/apis/apps/v1/namespaces/shop/deployments/backend",
            emulator.base_url()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(live["spec"]["replicas"], 3);
    emulator.shutdown().await;

    admin::delete(dir.path(), "Deployment/shop/backend").unwrap();
    let remaining = admin::list(dir.path()).unwrap();
    assert!(!remaining.iter().any(|o| o.kind == "Deployment"));
}

#[test]
fn unknown_and_ambiguous_names_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let emulator = start(on(dir.path())).await;
        let api = Do::new(&emulator);
        api.create_cluster("shop", "nyc1", 1).await;
        api.create_cluster("shop", "fra1", 1).await;
        emulator.shutdown().await;
    });

    match admin::set(dir.path(), "nothing-called-this", "count", json!(1)) {
        Err(EmulatorError::NotFound(name)) => assert_eq!(name, "nothing-called-this"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    match admin::delete(dir.path(), "shop") {
        Err(EmulatorError::Ambiguous { candidates, .. }) => {
            assert!(candidates.contains("kubernetes_cluster"), "{candidates}")
        }
        other => panic!("expected Ambiguous, got {other:?}"),
    }
    let pool = admin::list(dir.path())
        .unwrap()
        .into_iter()
        .find(|o| o.kind == "node_pool")
        .unwrap();
    match admin::set(dir.path(), &pool.id, "flavour", json!("x")) {
        Err(EmulatorError::InvalidField { message, .. }) => {
            assert!(
                message.contains("count"),
                "lists the settable fields: {message}"
            )
        }
        other => panic!("expected InvalidField, got {other:?}"),
    }
    match admin::set(dir.path(), &pool.id, "id", json!("x")) {
        Err(EmulatorError::InvalidField { .. }) => {}
        other => panic!("expected InvalidField, got {other:?}"),
    }
}

#[test]
fn a_missing_data_folder_is_an_error_not_an_empty_cloud() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("typo");
    assert!(matches!(
        admin::list(&missing),
        Err(EmulatorError::Io { .. })
    ));
    assert!(!missing.exists(), "the folder is not created");
}
