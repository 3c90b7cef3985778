//! The provider end to end against the emulated DigitalOcean API, over real HTTP: every
//! resource type through create, read, update in place and delete, a cluster create that
//! survives injected throttling and server errors, and a missing token.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use strata_core::provider::{
    CreateRequest, DeleteRequest, ErrorKind, FindRequest, OperationContext, Provider, ReadRequest,
    ResourceObject, UpdateRequest,
};
use strata_core::{Path, Value};
use strata_emulator::{Emulator, EmulatorConfig, Faults};
use strata_provider_digitalocean::{
    DigitalOceanProvider, Settings, Token, DATABASE_CLUSTER, KUBERNETES_CLUSTER,
    KUBERNETES_NODE_POOL, VPC,
};

const TOKEN: &str = "emulated-token";

async fn emulator(faults: Faults) -> Emulator {
    let config = EmulatorConfig {
        provision_time: Duration::from_millis(300),
        faults,
        ..EmulatorConfig::default()
    };
    Emulator::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap()
}

fn provider(emulator: &Emulator) -> DigitalOceanProvider {
    let mut settings = Settings::new(Token::new(TOKEN), &emulator.base_url()).unwrap();
    settings.poll_interval = Duration::from_millis(25);
    DigitalOceanProvider::with_settings(settings).unwrap()
}

/// Records the statuses an operation reports.
fn progress() -> (OperationContext, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let ctx = OperationContext::new(move |s| sink.lock().unwrap().push(s.to_string()));
    (ctx, seen)
}

async fn create(p: &DigitalOceanProvider, type_name: &str, planned: Value) -> ResourceObject {
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
    p: &DigitalOceanProvider,
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
    p: &DigitalOceanProvider,
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

async fn delete(p: &DigitalOceanProvider, type_name: &str, prior: &ResourceObject) {
    p.delete(
        DeleteRequest {
            type_name: type_name.into(),
            id: prior.id.clone(),
            prior: prior.attributes.clone(),
        },
        &OperationContext::silent(),
    )
    .await
    .unwrap_or_else(|e| panic!("delete {type_name}: {e}"))
}

/// `value` with the attribute at `path` (dotted, as `node_pool[0].max_nodes`) set to `new`.
fn with(value: &Value, path: &str, new: Value) -> Value {
    let mut v = value.clone();
    assert!(v.set_path(&Path::parse(path).unwrap(), new), "{path}");
    v
}

fn get(o: &ResourceObject, path: &str) -> Value {
    o.attributes
        .get_path(&Path::parse(path).unwrap())
        .cloned()
        .unwrap_or_else(|| panic!("{path} missing in {}", o.attributes))
}

fn vpc_config(name: &str) -> Value {
    Value::map([
        ("name", Value::from(name)),
        ("region", Value::from("nyc1")),
        ("ip_range", Value::from("10.10.0.0/16")),
        ("description", Value::from("stage network")),
    ])
}

fn cluster_config(name: &str) -> Value {
    Value::map([
        ("name", Value::from(name)),
        ("region", Value::from("nyc1")),
        ("version", Value::from("1.31.1-do.4")),
        ("tags", Value::List(vec![Value::from("stage")])),
        (
            "node_pool",
            Value::List(vec![Value::map([
                ("name", Value::from("default")),
                ("size", Value::from("s-2vcpu-2gb")),
                ("auto_scale", Value::from(true)),
                ("min_nodes", Value::from(2i64)),
                ("max_nodes", Value::from(5i64)),
            ])]),
        ),
    ])
}

#[tokio::test]
async fn vpc_create_read_update_find_delete() {
    let emulator = emulator(Faults::default()).await;
    let p = provider(&emulator);

    let vpc = create(&p, VPC, vpc_config("shop-stage")).await;
    assert_eq!(get(&vpc, "ip_range"), Value::from("10.10.0.0/16"));
    assert_eq!(get(&vpc, "default"), Value::from(false));
    assert!(get(&vpc, "urn")
        .as_str()
        .is_some_and(|u| u.contains(&vpc.id)));
    assert_eq!(read(&p, VPC, &vpc).await.as_ref(), Some(&vpc));

    let planned = with(
        &vpc.attributes,
        "description",
        Value::from("stage, renamed"),
    );
    let planned = with(&planned, "name", Value::from("shop-stage-2"));
    let updated = update(&p, VPC, &vpc, planned, &OperationContext::silent()).await;
    assert_eq!(updated.id, vpc.id);
    assert_eq!(get(&updated, "name"), Value::from("shop-stage-2"));
    let again = read(&p, VPC, &updated).await.unwrap();
    assert_eq!(get(&again, "description"), Value::from("stage, renamed"));

    // After a crash between create and recording it, the object is found by name.
    let found = p
        .find(FindRequest {
            type_name: VPC.into(),
            planned: with(&vpc_config("shop-stage-2"), "ip_range", Value::Unknown),
        })
        .await
        .unwrap()
        .expect("found by name");
    assert_eq!(found.id, vpc.id);

    delete(&p, VPC, &updated).await;
    assert_eq!(read(&p, VPC, &updated).await, None);
    // Deleting what is already gone succeeds.
    delete(&p, VPC, &updated).await;
    emulator.shutdown().await;
}

#[tokio::test]
async fn cluster_create_scales_its_pool_and_upgrades_in_place() {
    let emulator = emulator(Faults::default()).await;
    let p = provider(&emulator);
    let vpc = create(&p, VPC, vpc_config("shop-stage")).await;

    let config = with(
        &cluster_config("shop-stage"),
        "vpc_uuid",
        Value::from(vpc.id.clone()),
    );
    let (ctx, statuses) = progress();
    let cluster = p
        .create(
            CreateRequest {
                type_name: KUBERNETES_CLUSTER.into(),
                planned: config.clone(),
            },
            &ctx,
        )
        .await
        .unwrap();
    assert_eq!(
        statuses.lock().unwrap().clone(),
        vec!["provisioning".to_string(), "running".to_string()]
    );
    assert_eq!(get(&cluster, "status"), Value::from("running"));
    assert_eq!(get(&cluster, "vpc_uuid"), Value::from(vpc.id.clone()));
    assert_eq!(
        get(&cluster, "tags"),
        Value::List(vec![Value::from("stage")])
    );
    assert_eq!(get(&cluster, "node_pool[0].max_nodes"), Value::from(5i64));
    assert_eq!(
        get(&cluster, "node_pool[0].actual_node_count"),
        Value::from(2i64)
    );
    let kubeconfig = get(&cluster, "kubeconfig");
    assert!(kubeconfig.is_sensitive());
    let endpoint = get(&cluster, "endpoint");
    assert!(kubeconfig
        .as_str()
        .unwrap()
        .contains(endpoint.as_str().unwrap()));
    let pool_id = get(&cluster, "node_pool[0].id");

    // A refresh sees what was created, with nothing to change.
    let refreshed = read(&p, KUBERNETES_CLUSTER, &cluster).await.unwrap();
    for attr in ["name", "region", "version", "vpc_uuid", "tags", "node_pool"] {
        assert_eq!(
            refreshed.attributes.get(attr),
            cluster.attributes.get(attr),
            "{attr}"
        );
    }

    // Autoscaler bounds change in place, through the node pool API.
    let planned = with(
        &cluster.attributes,
        "node_pool[0].max_nodes",
        Value::from(7i64),
    );
    let scaled = update(
        &p,
        KUBERNETES_CLUSTER,
        &cluster,
        planned,
        &OperationContext::silent(),
    )
    .await;
    assert_eq!(scaled.id, cluster.id);
    assert_eq!(get(&scaled, "node_pool[0].id"), pool_id);
    assert_eq!(get(&scaled, "node_pool[0].max_nodes"), Value::from(7i64));
    let refreshed = read(&p, KUBERNETES_CLUSTER, &scaled).await.unwrap();
    assert_eq!(get(&refreshed, "node_pool[0].max_nodes"), Value::from(7i64));

    // A version change is an upgrade, waited for until the cluster runs again.
    let planned = with(&scaled.attributes, "version", Value::from("1.32.5-do.1"));
    let (ctx, statuses) = progress();
    let upgraded = update(&p, KUBERNETES_CLUSTER, &scaled, planned, &ctx).await;
    assert_eq!(upgraded.id, cluster.id);
    assert_eq!(get(&upgraded, "version"), Value::from("1.32.5-do.1"));
    assert_eq!(get(&upgraded, "status"), Value::from("running"));
    let statuses = statuses.lock().unwrap().clone();
    assert_eq!(
        statuses.first().map(String::as_str),
        Some("upgrading"),
        "{statuses:?}"
    );
    assert_eq!(
        statuses.last().map(String::as_str),
        Some("running"),
        "{statuses:?}"
    );

    delete(&p, KUBERNETES_CLUSTER, &upgraded).await;
    assert_eq!(read(&p, KUBERNETES_CLUSTER, &upgraded).await, None);
    // With the cluster gone, its VPC can go too.
    delete(&p, VPC, &vpc).await;
    emulator.shutdown().await;
}

#[tokio::test]
async fn node_pool_create_resize_delete() {
    let emulator = emulator(Faults::default()).await;
    let p = provider(&emulator);
    let cluster = create(&p, KUBERNETES_CLUSTER, cluster_config("shop-pools")).await;

    let config = Value::map([
        ("cluster_id", Value::from(cluster.id.clone())),
        ("name", Value::from("backend")),
        ("size", Value::from("s-4vcpu-8gb")),
        ("node_count", Value::from(1i64)),
        ("labels", Value::map([("tier", Value::from("backend"))])),
    ]);
    let pool = create(&p, KUBERNETES_NODE_POOL, config).await;
    assert_eq!(get(&pool, "actual_node_count"), Value::from(1i64));
    assert_eq!(get(&pool, "labels.tier"), Value::from("backend"));
    assert_eq!(get(&pool, "nodes").as_list().map(Vec::len), Some(1));
    assert_eq!(
        read(&p, KUBERNETES_NODE_POOL, &pool).await.as_ref(),
        Some(&pool)
    );

    let planned = with(&pool.attributes, "node_count", Value::from(2i64));
    let resized = update(
        &p,
        KUBERNETES_NODE_POOL,
        &pool,
        planned,
        &OperationContext::silent(),
    )
    .await;
    assert_eq!(resized.id, pool.id);
    assert_eq!(get(&resized, "node_count"), Value::from(2i64));
    assert_eq!(get(&resized, "actual_node_count"), Value::from(2i64));

    // An import knows only the pool's id; the cluster is looked up.
    let imported = p
        .read(ReadRequest {
            type_name: KUBERNETES_NODE_POOL.into(),
            id: pool.id.clone(),
            prior: Value::Null,
        })
        .await
        .unwrap()
        .expect("imported");
    assert_eq!(
        get(&imported, "cluster_id"),
        Value::from(cluster.id.clone())
    );

    delete(&p, KUBERNETES_NODE_POOL, &resized).await;
    assert_eq!(read(&p, KUBERNETES_NODE_POOL, &resized).await, None);
    delete(&p, KUBERNETES_CLUSTER, &cluster).await;
    emulator.shutdown().await;
}

#[tokio::test]
async fn database_create_resize_delete() {
    let emulator = emulator(Faults::default()).await;
    let p = provider(&emulator);
    let config = Value::map([
        ("name", Value::from("shop-db")),
        ("engine", Value::from("pg")),
        ("version", Value::from("16")),
        ("size", Value::from("db-s-1vcpu-2gb")),
        ("region", Value::from("nyc1")),
        ("node_count", Value::from(1i64)),
    ]);
    let db = create(&p, DATABASE_CLUSTER, config).await;
    assert_eq!(get(&db, "status"), Value::from("online"));
    for secret in ["password", "uri", "private_uri"] {
        let v = get(&db, secret);
        assert!(
            v.is_sensitive() && v.as_str().is_some_and(|s| !s.is_empty()),
            "{secret}"
        );
    }
    assert!(get(&db, "host").as_str().is_some());
    assert!(get(&db, "port").as_i64().is_some_and(|p| p > 0));
    assert!(get(&db, "private_network_uuid").as_str().is_some());

    let planned = with(&db.attributes, "size", Value::from("db-s-2vcpu-4gb"));
    let planned = with(&planned, "node_count", Value::from(2i64));
    let (ctx, statuses) = progress();
    let resized = update(&p, DATABASE_CLUSTER, &db, planned, &ctx).await;
    assert_eq!(resized.id, db.id);
    assert_eq!(get(&resized, "size"), Value::from("db-s-2vcpu-4gb"));
    assert_eq!(get(&resized, "node_count"), Value::from(2i64));
    assert_eq!(get(&resized, "password"), get(&db, "password"));
    let statuses = statuses.lock().unwrap().clone();
    assert_eq!(
        statuses.first().map(String::as_str),
        Some("resizing"),
        "{statuses:?}"
    );
    assert_eq!(
        statuses.last().map(String::as_str),
        Some("online"),
        "{statuses:?}"
    );

    delete(&p, DATABASE_CLUSTER, &resized).await;
    assert_eq!(read(&p, DATABASE_CLUSTER, &resized).await, None);
    emulator.shutdown().await;
}

/// Counts the clusters of a name straight from the API, retrying the faults injected into
/// this check too.
async fn clusters_named(base_url: &str, name: &str) -> usize {
    let http = reqwest::Client::new();
    for _ in 0..200 {
        let answer = http
            .get(format!("{base_url}/v2/kubernetes/clusters?per_page=200"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        if answer.status().is_success() {
            let body: serde_json::Value = answer.json().await.unwrap();
            return body["kubernetes_clusters"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["name"] == name)
                .count();
        }
    }
    panic!("the emulator kept failing the check");
}

#[tokio::test]
async fn a_cluster_create_succeeds_once_through_throttling_and_server_errors() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests.jsonl");
    let config = EmulatorConfig {
        provision_time: Duration::from_millis(300),
        request_log: Some(log.clone()),
        faults: Faults {
            error_rate: 0.2,
            throttle_rate: 0.2,
            seed: Some(20),
            ..Faults::default()
        },
        ..EmulatorConfig::default()
    };
    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();
    let p = provider(&emulator);

    let cluster = create(&p, KUBERNETES_CLUSTER, cluster_config("shop-flaky")).await;
    assert_eq!(get(&cluster, "status"), Value::from("running"));
    assert_eq!(clusters_named(&emulator.base_url(), "shop-flaky").await, 1);
    emulator.shutdown().await;

    // The faults really happened, and only one create went through.
    let entries: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let statuses: Vec<u64> = entries
        .iter()
        .filter_map(|e| e["status"].as_u64())
        .collect();
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(statuses.iter().any(|s| *s >= 500), "{statuses:?}");
    let created = entries
        .iter()
        .filter(|e| e["method"] == "POST" && e["status"] == 201)
        .count();
    assert_eq!(created, 1);
}

#[tokio::test]
async fn a_missing_token_is_reported_before_any_call() {
    // The only test in this binary that reads the process environment.
    std::env::remove_var("DIGITALOCEAN_TOKEN");
    std::env::remove_var("DIGITALOCEAN_ACCESS_TOKEN");
    let emulator = emulator(Faults::default()).await;
    let e = DigitalOceanProvider::new()
        .configure(Value::map([("endpoint", Value::from(emulator.base_url()))]))
        .await
        .err()
        .expect("no token, no provider");
    assert_eq!(e.kind, ErrorKind::Credentials);
    assert!(e.message.contains("DIGITALOCEAN_TOKEN"), "{e}");
    emulator.shutdown().await;
}
