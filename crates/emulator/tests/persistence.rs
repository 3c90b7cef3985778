//! One emulated cloud across emulator instances (and processes) sharing a data folder.

mod common;

use std::time::Duration;

use common::{start, Do};
use reqwest::StatusCode;
use strata_emulator::EmulatorConfig;

fn on(dir: &std::path::Path, provision_time: Duration) -> EmulatorConfig {
    EmulatorConfig {
        data_dir: Some(dir.to_path_buf()),
        provision_time,
        ..EmulatorConfig::default()
    }
}

#[tokio::test]
async fn a_second_emulator_on_the_same_folder_sees_the_first_ones_cloud() {
    let dir = tempfile::tempdir().unwrap();
    let first = start(on(dir.path(), Duration::ZERO)).await;
    let api = Do::new(&first);
    let vpc = api.create_vpc("shop", "nyc1", "10.10.0.0/16").await;
    let cluster = api.create_cluster("shop", "nyc1", 2).await;
    let id = cluster["id"].as_str().unwrap().to_string();
    let kubeconfig = api
        .get(&format!("/v2/kubernetes/clusters/{id}/kubeconfig"))
        .await
        .text;
    first.shutdown().await;
    assert!(dir.path().join("cloud.json").is_file());

    let second = start(on(dir.path(), Duration::ZERO)).await;
    let api = Do::new(&second);
    assert_eq!(
        api.get(&format!("/v2/vpcs/{vpc}")).await.status,
        StatusCode::OK
    );
    let again = api.get(&format!("/v2/kubernetes/clusters/{id}")).await;
    assert_eq!(again.json["kubernetes_cluster"]["name"], "shop");
    assert_eq!(
        again.json["kubernetes_cluster"]["node_pools"][0]["count"],
        2
    );
    let same_kubeconfig = api
        .get(&format!("/v2/kubernetes/clusters/{id}/kubeconfig"))
        .await
        .text;
    let token = |yaml: &str| {
        let v: serde_yaml::Value = serde_yaml::from_str(yaml).unwrap();
        v["users"][0]["user"]["token"].as_str().unwrap().to_string()
    };
    assert_eq!(
        token(&kubeconfig),
        token(&same_kubeconfig),
        "the cluster keeps its token"
    );

    // The reloaded cluster's Kubernetes API is served again.
    let endpoint = again.json["kubernetes_cluster"]["endpoint"]
        .as_str()
        .unwrap()
        .to_string();
    let kube = reqwest::Client::new()
        .get(format!("{endpoint}/api/v1/namespaces"))
        .bearer_auth(token(&kubeconfig))
        .send()
        .await
        .unwrap();
    assert_eq!(kube.status(), StatusCode::OK);
    second.shutdown().await;
}

#[tokio::test]
async fn the_stored_deadline_not_the_readers_config_decides_when_provisioning_ends() {
    let dir = tempfile::tempdir().unwrap();
    // The first emulator takes an hour to provision; its deadline is stored with the cluster.
    let first = start(on(dir.path(), Duration::from_secs(3600))).await;
    let cluster = Do::new(&first).create_cluster("slow", "nyc1", 1).await;
    first.shutdown().await;

    let second = start(on(dir.path(), Duration::ZERO)).await;
    let id = cluster["id"].as_str().unwrap();
    let state = Do::new(&second)
        .get(&format!("/v2/kubernetes/clusters/{id}"))
        .await
        .json["kubernetes_cluster"]["status"]["state"]
        .clone();
    assert_eq!(
        state, "provisioning",
        "the stored deadline, not the reader's config, decides"
    );
    second.shutdown().await;
}

#[tokio::test]
async fn two_emulators_running_at_once_on_one_folder_share_every_change() {
    let dir = tempfile::tempdir().unwrap();
    let a = start(on(dir.path(), Duration::ZERO)).await;
    let b = start(on(dir.path(), Duration::ZERO)).await;
    assert_ne!(a.addr(), b.addr());
    let api_a = Do::new(&a);
    let api_b = Do::new(&b);

    let vpc = api_a.create_vpc("from-a", "nyc1", "10.10.0.0/16").await;
    assert_eq!(
        api_b.get(&format!("/v2/vpcs/{vpc}")).await.status,
        StatusCode::OK
    );
    let other = api_b.create_vpc("from-b", "nyc1", "10.20.0.0/16").await;
    let names: Vec<String> = api_a.get("/v2/vpcs").await.json["vpcs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.contains(&"from-a".to_string()) && names.contains(&"from-b".to_string()));
    assert_eq!(
        api_a.delete(&format!("/v2/vpcs/{other}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api_b.get(&format!("/v2/vpcs/{other}")).await.status,
        StatusCode::NOT_FOUND
    );
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn a_corrupt_cloud_file_is_a_clear_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cloud.json"), "{ not json").unwrap();
    let error = strata_emulator::Emulator::start(
        "127.0.0.1:0".parse().unwrap(),
        on(dir.path(), Duration::ZERO),
    )
    .await
    .err()
    .expect("a corrupt cloud is refused");
    assert!(error.to_string().contains("cloud.json"), "{error}");
}
