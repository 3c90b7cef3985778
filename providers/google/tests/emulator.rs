//! The provider end to end against the emulated GKE and Cloud SQL Admin APIs, over real HTTP,
//! with the real Google auth library exchanging the emulated account's refresh token: every
//! resource type through create, read, update in place and delete, creates that survive
//! injected throttling and server errors, and the kubeconfig a cluster hands to a deploy stack.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use strata_core::provider::{
    CreateRequest, DeleteRequest, FindRequest, OperationContext, Provider, ReadRequest,
    ResourceObject, UpdateRequest,
};
use strata_core::retry::{Pressure, Signal};
use strata_core::{Path, Value};
use strata_emulator::{Emulator, EmulatorConfig, Faults};
use strata_provider_google::{
    emulator_env, GoogleProvider, Settings, GKE_CLUSTER, GKE_NODE_POOL, SQL_INSTANCE,
};

struct Cloud {
    emulator: Emulator,
    _dir: tempfile::TempDir,
    provider: GoogleProvider,
}

async fn cloud(faults: Faults) -> Cloud {
    let dir = tempfile::tempdir().unwrap();
    let config = EmulatorConfig {
        provision_time: Duration::from_millis(200),
        faults,
        data_dir: Some(dir.path().to_path_buf()),
        ..EmulatorConfig::default()
    };
    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();
    let env: Vec<(String, String)> = emulator_env(&emulator.base_url(), dir.path());
    let lookup = move |k: &str| {
        env.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .or_else(|| (k == "STRATA_GOOGLE_POLL_MS").then(|| "20".to_string()))
    };
    let config = Value::map([
        ("project", Value::from("dtwin-test")),
        ("region", Value::from("europe-west1")),
    ]);
    let settings = Settings::from_config(&config, lookup).unwrap();
    let provider = GoogleProvider::with_settings(settings).await.unwrap();
    Cloud {
        emulator,
        _dir: dir,
        provider,
    }
}

fn progress() -> (OperationContext, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let ctx = OperationContext::new(move |s| sink.lock().unwrap().push(s.to_string()));
    (ctx, seen)
}

async fn create(p: &GoogleProvider, type_name: &str, planned: Value) -> ResourceObject {
    p.create(
        CreateRequest {
            type_name: type_name.into(),
            planned,
        },
        &OperationContext::silent(),
    )
    .await
    .unwrap_or_else(|e| panic!("create {type_name}: {e} ({:?})", e.hint))
}

async fn read(
    p: &GoogleProvider,
    type_name: &str,
    prior: &ResourceObject,
) -> Option<ResourceObject> {
    p.read(ReadRequest {
        type_name: type_name.into(),
        id: prior.id.clone(),
        prior: prior.attributes.clone(),
    })
    .await
    .unwrap()
}

async fn update(
    p: &GoogleProvider,
    type_name: &str,
    prior: &ResourceObject,
    planned: Value,
    ctx: &OperationContext,
) -> ResourceObject {
    p.update(
        UpdateRequest {
            type_name: type_name.into(),
            id: prior.id.clone(),
            prior: prior.attributes.clone(),
            planned,
            changed: Vec::new(),
        },
        ctx,
    )
    .await
    .unwrap_or_else(|e| panic!("update {type_name}: {e} ({:?})", e.hint))
}

async fn delete(p: &GoogleProvider, type_name: &str, object: &ResourceObject) {
    p.delete(
        DeleteRequest {
            type_name: type_name.into(),
            id: object.id.clone(),
            prior: object.attributes.clone(),
        },
        &OperationContext::silent(),
    )
    .await
    .unwrap_or_else(|e| panic!("delete {type_name}: {e}"));
}

fn with(mut v: Value, path: &str, new: Value) -> Value {
    v.set_path(&Path::parse(path).unwrap(), new);
    v
}

fn cluster_config() -> Value {
    Value::map([
        ("name", Value::from("dtwin")),
        ("location", Value::from("europe-west1")),
        ("min_master_version", Value::from("1.30")),
        ("remove_default_node_pool", Value::from(true)),
        ("initial_node_count", Value::from(1i64)),
        (
            "release_channel",
            Value::map([("channel", Value::from("REGULAR"))]),
        ),
        (
            "resource_labels",
            Value::map([("team", Value::from("data"))]),
        ),
    ])
}

fn pool_config(cluster: &ResourceObject) -> Value {
    Value::map([
        ("name", Value::from("workflows")),
        ("cluster", Value::from(cluster.id.as_str())),
        ("node_count", Value::from(2i64)),
        (
            "node_config",
            Value::map([
                ("machine_type", Value::from("e2-standard-4")),
                ("labels", Value::map([("role", Value::from("workflows"))])),
                (
                    "taint",
                    Value::List(vec![Value::map([
                        ("key", Value::from("dtwin.io/workflows")),
                        ("value", Value::from("true")),
                        ("effect", Value::from("NO_SCHEDULE")),
                    ])]),
                ),
            ]),
        ),
    ])
}

#[tokio::test]
async fn clusters_and_pools_are_created_changed_in_place_and_deleted() {
    let c = cloud(Faults::default()).await;
    let p = &c.provider;
    let (ctx, seen) = progress();
    let cluster = p
        .create(
            CreateRequest {
                type_name: GKE_CLUSTER.into(),
                planned: cluster_config(),
            },
            &ctx,
        )
        .await
        .unwrap();
    assert!(seen.lock().unwrap().iter().any(|s| s == "DONE"), "{seen:?}");
    assert_eq!(
        cluster.id,
        "projects/dtwin-test/locations/europe-west1/clusters/dtwin"
    );
    let a = &cluster.attributes;
    assert_eq!(a.get("status"), Some(Value::from("RUNNING")));
    assert!(a
        .get("master_version")
        .unwrap()
        .as_str()
        .unwrap()
        .starts_with("1.30."));
    assert_eq!(
        a.get("release_channel").unwrap().get("channel"),
        Some(Value::from("REGULAR"))
    );
    let kubeconfig = a.get("kubeconfig").unwrap();
    assert!(kubeconfig.is_sensitive());
    let text = kubeconfig.unwrap_sensitive().as_str().unwrap().to_string();
    assert!(
        text.contains(&format!("{}/k8s/gke-", c.emulator.base_url())),
        "{text}"
    );
    assert!(text.contains("token: ya29.emulated."), "{text}");

    // The default pool was removed; a pool of our own is created and changed in place.
    let pool = create(p, GKE_NODE_POOL, pool_config(&cluster)).await;
    assert_eq!(pool.attributes.get("node_count"), Some(Value::Number(2.0)));
    assert_eq!(
        pool.attributes
            .get("node_config")
            .unwrap()
            .get("taint")
            .unwrap()
            .as_list()
            .unwrap()
            .len(),
        1
    );
    let resized = update(
        p,
        GKE_NODE_POOL,
        &pool,
        with(pool_config(&cluster), "node_count", Value::from(4i64)),
        &OperationContext::silent(),
    )
    .await;
    assert_eq!(
        resized.attributes.get("node_count"),
        Some(Value::Number(4.0))
    );
    let scaled = with(
        with(pool_config(&cluster), "node_count", Value::Null),
        "autoscaling",
        Value::map([
            ("min_node_count", Value::from(1i64)),
            ("max_node_count", Value::from(3i64)),
        ]),
    );
    let scaled = update(
        p,
        GKE_NODE_POOL,
        &resized,
        scaled,
        &OperationContext::silent(),
    )
    .await;
    assert_eq!(
        scaled
            .attributes
            .get("autoscaling")
            .unwrap()
            .get("max_node_count"),
        Some(Value::Number(3.0))
    );
    let upgraded = update(
        p,
        GKE_NODE_POOL,
        &scaled,
        with(pool_config(&cluster), "version", Value::from("1.31")),
        &OperationContext::silent(),
    )
    .await;
    assert!(upgraded
        .attributes
        .get("version")
        .unwrap()
        .as_str()
        .unwrap()
        .starts_with("1.31."));

    // The control plane is upgraded and relabelled in place.
    let desired = with(
        with(cluster_config(), "min_master_version", Value::from("1.31")),
        "resource_labels",
        Value::map([("team", Value::from("platform"))]),
    );
    let after = update(
        p,
        GKE_CLUSTER,
        &cluster,
        desired,
        &OperationContext::silent(),
    )
    .await;
    assert!(after
        .attributes
        .get("master_version")
        .unwrap()
        .as_str()
        .unwrap()
        .starts_with("1.31."));
    assert_eq!(
        after.attributes.get("resource_labels").unwrap().get("team"),
        Some(Value::from("platform"))
    );

    // find locates both by name, for crash recovery.
    let found = p
        .find(FindRequest {
            type_name: GKE_NODE_POOL.into(),
            planned: pool_config(&cluster),
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, pool.id);

    delete(p, GKE_NODE_POOL, &pool).await;
    assert!(read(p, GKE_NODE_POOL, &pool).await.is_none());
    delete(p, GKE_CLUSTER, &cluster).await;
    assert!(read(p, GKE_CLUSTER, &cluster).await.is_none());
    // Deleting what is gone succeeds.
    delete(p, GKE_CLUSTER, &cluster).await;
}

fn sql_config() -> Value {
    Value::map([
        ("name", Value::from("dtwin-metadata")),
        ("database_version", Value::from("POSTGRES_16")),
        ("root_password", Value::from("s3cret-pw").sensitive()),
        (
            "settings",
            Value::map([
                ("tier", Value::from("db-custom-2-7680")),
                ("disk_size", Value::from(20i64)),
            ]),
        ),
    ])
}

#[tokio::test]
async fn sql_instances_are_created_resized_and_deleted() {
    let c = cloud(Faults::default()).await;
    let p = &c.provider;
    let db = create(p, SQL_INSTANCE, sql_config()).await;
    let a = &db.attributes;
    assert_eq!(a.get("state"), Some(Value::from("RUNNABLE")));
    assert_eq!(a.get("region"), Some(Value::from("europe-west1")));
    assert_eq!(
        a.get("connection_name"),
        Some(Value::from("dtwin-test:europe-west1:dtwin-metadata"))
    );
    assert!(a.get("public_ip_address").unwrap().as_str().is_some());
    let bigger = with(
        with(sql_config(), "settings.disk_size", Value::from(50i64)),
        "settings.availability_type",
        Value::from("REGIONAL"),
    );
    let after = update(p, SQL_INSTANCE, &db, bigger, &OperationContext::silent()).await;
    let s = after.attributes.get("settings").unwrap();
    assert_eq!(s.get("disk_size"), Some(Value::Number(50.0)));
    assert_eq!(s.get("availability_type"), Some(Value::from("REGIONAL")));
    // A disk never shrinks: Cloud SQL refuses, and the error says so.
    let e = p
        .update(
            UpdateRequest {
                type_name: SQL_INSTANCE.into(),
                id: after.id.clone(),
                prior: after.attributes.clone(),
                planned: sql_config(),
                changed: Vec::new(),
            },
            &OperationContext::silent(),
        )
        .await
        .unwrap_err();
    assert!(e.message.contains("shrink"), "{e}");
    delete(p, SQL_INSTANCE, &after).await;
    assert!(read(p, SQL_INSTANCE, &after).await.is_none());
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried_and_reported_without_duplicates() {
    let c = cloud(Faults {
        error_rate: 0.2,
        throttle_rate: 0.2,
        seed: Some(7),
        ..Faults::default()
    })
    .await;
    let signals = Arc::new(Mutex::new(Vec::new()));
    let sink = signals.clone();
    let _sub = Pressure::of("google").subscribe(move |s| sink.lock().unwrap().push(s));
    let p = &c.provider;
    let cluster = create(p, GKE_CLUSTER, cluster_config()).await;
    let pool = create(p, GKE_NODE_POOL, pool_config(&cluster)).await;
    let db = create(p, SQL_INSTANCE, sql_config()).await;
    let seen = signals.lock().unwrap().clone();
    assert!(seen.contains(&Signal::Throttled), "{seen:?}");
    assert!(seen.contains(&Signal::Succeeded), "{seen:?}");
    assert!(read(p, GKE_NODE_POOL, &pool).await.is_some());
    delete(p, GKE_NODE_POOL, &pool).await;
    delete(p, GKE_CLUSTER, &cluster).await;
    delete(p, SQL_INSTANCE, &db).await;
}
