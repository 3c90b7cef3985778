//! The provider end to end against the emulated ARM, over real HTTP: tokens from the emulated
//! Microsoft Entra endpoint through `azure_identity`, every resource type through create
//! (followed through its long-running operation), read, update in place and delete, and a
//! create that survives injected throttling and server errors.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use strata_core::provider::{
    CreateRequest, DeleteRequest, ErrorKind, FindRequest, OperationContext, Provider, ReadRequest,
    ResourceObject, UpdateRequest,
};
use strata_core::{Path, Value};
use strata_emulator::{Emulator, EmulatorConfig, Faults};
use strata_provider_azure::{
    emulator_env, AzureProvider, Settings, AKS_CLUSTER, AKS_NODE_POOL, POSTGRES_FLEXIBLE_SERVER,
    RESOURCE_GROUP,
};

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

fn provider(emulator: &Emulator) -> AzureProvider {
    let env = emulator_env(&emulator.base_url(), std::path::Path::new("."));
    let mut settings = Settings::from_config(&Value::Null, |k| {
        env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    })
    .unwrap();
    settings.poll_interval = Duration::from_millis(25);
    settings.retry.initial_delay = Duration::from_millis(20);
    AzureProvider::with_settings(settings).unwrap()
}

fn progress() -> (OperationContext, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let ctx = OperationContext::new(move |s| sink.lock().unwrap().push(s.to_string()));
    (ctx, seen)
}

async fn create(
    p: &AzureProvider,
    type_name: &str,
    planned: Value,
    ctx: &OperationContext,
) -> ResourceObject {
    p.create(
        CreateRequest {
            type_name: type_name.into(),
            planned,
        },
        ctx,
    )
    .await
    .unwrap_or_else(|e| panic!("create {type_name}: {e} ({:?})", e.hint))
}

async fn read(
    p: &AzureProvider,
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
    p: &AzureProvider,
    type_name: &str,
    prior: &ResourceObject,
    planned: Value,
) -> ResourceObject {
    p.update(
        UpdateRequest {
            type_name: type_name.into(),
            id: prior.id.clone(),
            prior: prior.attributes.clone(),
            planned,
            changed: Vec::new(),
        },
        &OperationContext::silent(),
    )
    .await
    .unwrap_or_else(|e| panic!("update {type_name}: {e} ({:?})", e.hint))
}

async fn delete(p: &AzureProvider, type_name: &str, object: &ResourceObject) {
    p.delete(
        DeleteRequest {
            type_name: type_name.into(),
            id: object.id.clone(),
            prior: object.attributes.clone(),
        },
        &OperationContext::silent(),
    )
    .await
    .unwrap_or_else(|e| panic!("delete {type_name}: {e}"))
}

fn group() -> Value {
    Value::map([
        ("name", Value::from("rg-test")),
        ("location", Value::from("westeurope")),
        ("tags", Value::map([("env", Value::from("test"))])),
    ])
}

fn cluster(version: &str, system_nodes: i64) -> Value {
    Value::map([
        ("name", Value::from("aks-test")),
        ("resource_group_name", Value::from("rg-test")),
        ("location", Value::from("westeurope")),
        ("dns_prefix", Value::from("aks-test")),
        ("kubernetes_version", Value::from(version)),
        (
            "default_node_pool",
            Value::List(vec![Value::map([
                ("name", Value::from("system")),
                ("vm_size", Value::from("Standard_B2s")),
                ("node_count", Value::from(system_nodes)),
            ])]),
        ),
    ])
}

fn pool(cluster_id: &str, max: i64) -> Value {
    Value::map([
        ("name", Value::from("backend")),
        ("kubernetes_cluster_id", Value::from(cluster_id)),
        ("vm_size", Value::from("Standard_B2s")),
        ("mode", Value::from("User")),
        ("enable_auto_scaling", Value::from(true)),
        ("min_count", Value::from(1i64)),
        ("max_count", Value::from(max)),
        (
            "node_labels",
            Value::map([("workload", Value::from("backend"))]),
        ),
    ])
}

fn server(sku: &str) -> Value {
    Value::map([
        ("name", Value::from("pg-test")),
        ("resource_group_name", Value::from("rg-test")),
        ("location", Value::from("westeurope")),
        ("version", Value::from("16")),
        ("sku_name", Value::from(sku)),
        ("storage_mb", Value::from(32768i64)),
        ("administrator_login", Value::from("psqladmin")),
        (
            "administrator_password",
            Value::from("Pa55-word-1").sensitive(),
        ),
    ])
}

fn at(v: &Value, path: &str) -> Value {
    v.get_path(&Path::parse(path).unwrap())
        .cloned()
        .unwrap_or(Value::Null)
        .unwrap_sensitive()
        .clone()
}

#[tokio::test]
async fn every_resource_type_lives_through_create_read_update_and_delete() {
    let emulator = emulator(Faults::default()).await;
    let p = provider(&emulator);

    let rg = create(&p, RESOURCE_GROUP, group(), &OperationContext::silent()).await;
    assert!(rg.id.ends_with("/resourceGroups/rg-test"), "{}", rg.id);

    let (ctx, seen) = progress();
    let aks = create(&p, AKS_CLUSTER, cluster("1.32", 1), &ctx).await;
    assert_eq!(*seen.lock().unwrap(), vec!["Creating", "Succeeded"]);
    let kubeconfig = at(&aks.attributes, "kube_config_raw");
    assert!(aks
        .attributes
        .get("kube_config_raw")
        .unwrap()
        .is_sensitive());
    let host = at(&aks.attributes, "host");
    assert!(
        host.as_str()
            .unwrap()
            .starts_with(&format!("{}/k8s/", emulator.base_url())),
        "{host:?}"
    );
    assert!(kubeconfig.as_str().unwrap().contains("token:"));
    assert_eq!(
        at(&aks.attributes, "default_node_pool[0].orchestrator_version"),
        Value::from("1.32")
    );
    assert!(at(&aks.attributes, "fqdn")
        .as_str()
        .unwrap()
        .ends_with(".azmk8s.io"));

    let backend = create(
        &p,
        AKS_NODE_POOL,
        pool(&aks.id, 5),
        &OperationContext::silent(),
    )
    .await;
    assert_eq!(at(&backend.attributes, "node_count"), Value::from(1i64));
    assert_eq!(at(&backend.attributes, "mode"), Value::from("User"));
    let found = p
        .find(FindRequest {
            type_name: AKS_NODE_POOL.into(),
            planned: pool(&aks.id, 5),
        })
        .await
        .unwrap()
        .expect("the pool is found by its name");
    assert_eq!(found.id, backend.id);

    let pg = create(
        &p,
        POSTGRES_FLEXIBLE_SERVER,
        server("B_Standard_B1ms"),
        &OperationContext::silent(),
    )
    .await;
    assert_eq!(
        at(&pg.attributes, "sku_name"),
        Value::from("B_Standard_B1ms")
    );
    assert_eq!(at(&pg.attributes, "storage_mb"), Value::from(32768i64));
    assert!(at(&pg.attributes, "fqdn")
        .as_str()
        .unwrap()
        .ends_with(".postgres.database.azure.com"));

    // In place: the autoscaler's bounds, the control plane's version (the system pool follows),
    // the server's size.
    let backend = update(&p, AKS_NODE_POOL, &backend, pool(&aks.id, 7)).await;
    assert_eq!(at(&backend.attributes, "max_count"), Value::from(7i64));
    let mut upgraded = cluster("1.33", 1);
    upgraded.set_path(
        &Path::parse("default_node_pool[0].orchestrator_version").unwrap(),
        Value::from("1.32"),
    );
    let aks2 = update(&p, AKS_CLUSTER, &aks, upgraded).await;
    assert_eq!(
        at(&aks2.attributes, "kubernetes_version"),
        Value::from("1.33")
    );
    assert_eq!(
        at(
            &aks2.attributes,
            "default_node_pool[0].orchestrator_version"
        ),
        Value::from("1.33")
    );
    let pg = update(
        &p,
        POSTGRES_FLEXIBLE_SERVER,
        &pg,
        server("GP_Standard_D2s_v3"),
    )
    .await;
    assert_eq!(
        at(&pg.attributes, "sku_name"),
        Value::from("GP_Standard_D2s_v3")
    );
    // The password is never read back, and stays what was set.
    let again = read(&p, POSTGRES_FLEXIBLE_SERVER, &pg).await.unwrap();
    assert_eq!(
        at(&again.attributes, "administrator_password"),
        Value::from("Pa55-word-1")
    );

    delete(&p, AKS_NODE_POOL, &backend).await;
    assert!(read(&p, AKS_NODE_POOL, &backend).await.is_none());
    delete(&p, POSTGRES_FLEXIBLE_SERVER, &pg).await;
    delete(&p, AKS_CLUSTER, &aks2).await;
    assert!(read(&p, AKS_CLUSTER, &aks2).await.is_none());
    delete(&p, RESOURCE_GROUP, &rg).await;
    assert!(read(&p, RESOURCE_GROUP, &rg).await.is_none());
    // Deleting what is gone succeeds.
    delete(&p, AKS_CLUSTER, &aks2).await;
    emulator.shutdown().await;
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried_without_duplicates() {
    let emulator = emulator(Faults {
        error_rate: 0.3,
        throttle_rate: 0.3,
        seed: Some(7),
        ..Faults::default()
    })
    .await;
    let p = provider(&emulator);
    let rg = create(&p, RESOURCE_GROUP, group(), &OperationContext::silent()).await;
    let aks = create(
        &p,
        AKS_CLUSTER,
        cluster("1.32", 2),
        &OperationContext::silent(),
    )
    .await;
    let again = create(
        &p,
        AKS_CLUSTER,
        cluster("1.32", 2),
        &OperationContext::silent(),
    )
    .await;
    assert_eq!(aks.id, again.id, "a repeated PUT is the same cluster");
    assert_eq!(
        at(&aks.attributes, "default_node_pool[0].node_count"),
        Value::from(2i64)
    );
    delete(&p, AKS_CLUSTER, &aks).await;
    delete(&p, RESOURCE_GROUP, &rg).await;
    emulator.shutdown().await;
}

#[tokio::test]
async fn arm_errors_name_the_call_and_what_to_do() {
    let emulator = emulator(Faults::default()).await;
    let p = provider(&emulator);
    // No resource group yet.
    let e = p
        .create(
            CreateRequest {
                type_name: AKS_CLUSTER.into(),
                planned: cluster("1.32", 1),
            },
            &OperationContext::silent(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(e.message.contains("ResourceGroupNotFound"), "{e}");
    assert!(e.hint.unwrap().contains("azure_resource_group"));

    create(&p, RESOURCE_GROUP, group(), &OperationContext::silent()).await;
    let mut bad = server("B_Standard_B1ms");
    bad.set_path(&Path::parse("version").unwrap(), Value::from("9"));
    let e = p
        .create(
            CreateRequest {
                type_name: POSTGRES_FLEXIBLE_SERVER.into(),
                planned: bad,
            },
            &OperationContext::silent(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidConfig);
    assert!(
        e.message.contains("InvalidParameter") && e.message.contains("'9'"),
        "{e}"
    );
    emulator.shutdown().await;
}
