//! The provider end to end against the emulated EKS and RDS, over real HTTP with the real SDK:
//! every resource type through create, read, update in place and delete; the kubeconfig's token
//! against the cluster's emulated Kubernetes API; creates that survive injected throttling and
//! server errors.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use strata_core::provider::{
    CreateRequest, DeleteRequest, FindRequest, OperationContext, Provider, ReadRequest,
    ResourceObject, UpdateRequest,
};
use strata_core::retry::{Pressure, Signal};
use strata_core::{Path, Value};
use strata_emulator::{Emulator, EmulatorConfig, Faults};
use strata_provider_aws::{AwsProvider, Settings, DB_INSTANCE, EKS_CLUSTER, EKS_NODE_GROUP};

async fn emulator(faults: Faults) -> Emulator {
    let config = EmulatorConfig {
        provision_time: Duration::from_millis(200),
        faults,
        ..EmulatorConfig::default()
    };
    Emulator::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap()
}

async fn provider(emulator: &Emulator) -> AwsProvider {
    // The same variables `--emulate` sets; every test sets the same values.
    for (k, v) in strata_provider_aws::emulator_env(&emulator.base_url(), std::path::Path::new("."))
    {
        if !k.starts_with("AWS_ENDPOINT_URL") {
            std::env::set_var(k, v);
        }
    }
    let base = emulator.base_url();
    let settings = Settings {
        region: Some("us-east-1".into()),
        eks_endpoint: Some(format!("{base}/aws/eks")),
        rds_endpoint: Some(format!("{base}/aws/rds")),
        poll_interval: Duration::from_millis(25),
        ..Settings::default()
    };
    AwsProvider::with_settings(settings).await.unwrap()
}

fn progress() -> (OperationContext, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let ctx = OperationContext::new(move |s| sink.lock().unwrap().push(s.to_string()));
    (ctx, seen)
}

async fn create(
    p: &AwsProvider,
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

async fn read(p: &AwsProvider, type_name: &str, prior: &ResourceObject) -> Option<ResourceObject> {
    p.read(ReadRequest {
        type_name: type_name.into(),
        id: prior.id.clone(),
        prior: prior.attributes.clone(),
    })
    .await
    .unwrap()
}

async fn update(
    p: &AwsProvider,
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

async fn delete(p: &AwsProvider, type_name: &str, prior: &ResourceObject) {
    p.delete(
        DeleteRequest {
            type_name: type_name.into(),
            id: prior.id.clone(),
            prior: prior.attributes.clone(),
        },
        &OperationContext::silent(),
    )
    .await
    .unwrap_or_else(|e| panic!("delete {type_name}: {e} ({:?})", e.hint))
}

fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
    v.get_path(&Path::parse(path).unwrap())
        .unwrap_or_else(|| panic!("no {path} in {}", v.redacted().render()))
        .unwrap_sensitive()
}

fn cluster(name: &str, version: &str) -> Value {
    Value::map([
        ("name", Value::from(name)),
        (
            "role_arn",
            Value::from("arn:aws:iam::123456789012:role/eks"),
        ),
        ("version", Value::from(version)),
        (
            "vpc_config",
            Value::map([(
                "subnet_ids",
                Value::List(vec![Value::from("subnet-1"), Value::from("subnet-2")]),
            )]),
        ),
        ("tags", Value::map([("team", Value::from("platform"))])),
    ])
}

fn node_group(cluster: &str, version: &str, desired: i64) -> Value {
    Value::map([
        ("cluster_name", Value::from(cluster)),
        ("node_group_name", Value::from("workers")),
        (
            "node_role_arn",
            Value::from("arn:aws:iam::123456789012:role/nodes"),
        ),
        ("subnet_ids", Value::List(vec![Value::from("subnet-1")])),
        ("version", Value::from(version)),
        ("labels", Value::map([("pool", Value::from("workers"))])),
        (
            "scaling_config",
            Value::map([
                ("desired_size", Value::from(desired)),
                ("min_size", Value::from(1i64)),
                ("max_size", Value::from(5i64)),
            ]),
        ),
    ])
}

/// What the cluster's emulated Kubernetes API answers a request with this kubeconfig's token.
async fn kube_status(kubeconfig: &str, token_override: Option<&str>) -> u16 {
    let doc: serde_yaml::Value = serde_yaml::from_str(kubeconfig).unwrap();
    let server = doc["clusters"][0]["cluster"]["server"]
        .as_str()
        .unwrap()
        .to_string();
    let token = token_override.map(str::to_string).unwrap_or_else(|| {
        doc["users"][0]["user"]["token"]
            .as_str()
            .unwrap()
            .to_string()
    });
    reqwest::Client::new()
        .get(format!("{server}/api/v1/namespaces"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn clusters_and_node_groups_live_upgrade_scale_and_die_in_place() {
    let emulator = emulator(Faults::default()).await;
    let p = provider(&emulator).await;
    let (ctx, seen) = progress();
    let c = create(&p, EKS_CLUSTER, cluster("shop", "1.31"), &ctx).await;
    assert_eq!(c.id, "shop");
    assert!(
        seen.lock().unwrap().contains(&"CREATING".to_string()),
        "{seen:?}"
    );
    assert_eq!(at(&c.attributes, "status"), &Value::from("ACTIVE"));
    assert!(at(&c.attributes, "endpoint")
        .as_str()
        .unwrap()
        .contains("/k8s/"));
    assert!(at(&c.attributes, "certificate_authority[0].data")
        .as_str()
        .is_some());
    let kubeconfig = c.attributes.get("kubeconfig").unwrap();
    assert!(kubeconfig.is_sensitive());
    let kubeconfig = kubeconfig.as_str().unwrap().to_string();
    assert_eq!(kube_status(&kubeconfig, None).await, 200);
    assert_eq!(
        kube_status(&kubeconfig, Some("k8s-aws-v1.bm9wZQ")).await,
        401
    );
    // A read soon after keeps the same kubeconfig: no change for a plan to show.
    let again = read(&p, EKS_CLUSTER, &c).await.unwrap();
    assert_eq!(again.attributes, c.attributes);

    let ng = create(
        &p,
        EKS_NODE_GROUP,
        node_group("shop", "1.31", 2),
        &OperationContext::silent(),
    )
    .await;
    assert_eq!(ng.id, "shop:workers");
    assert_eq!(
        at(&ng.attributes, "scaling_config.desired_size"),
        &Value::from(2i64)
    );

    let (ctx, seen) = progress();
    let mut planned = cluster("shop", "1.32");
    let tags = Value::map([("team", Value::from("core")), ("tier", Value::from("1"))]);
    planned.set_path(&Path::parse("tags").unwrap(), tags.clone());
    let c2 = update(&p, EKS_CLUSTER, &c, planned, &ctx).await;
    assert_eq!(at(&c2.attributes, "version"), &Value::from("1.32"));
    assert_eq!(at(&c2.attributes, "tags"), &tags);
    assert!(
        seen.lock().unwrap().iter().any(|s| s.contains("UPDATING")),
        "{seen:?}"
    );
    let ng2 = update(
        &p,
        EKS_NODE_GROUP,
        &ng,
        node_group("shop", "1.32", 4),
        &OperationContext::silent(),
    )
    .await;
    assert_eq!(at(&ng2.attributes, "version"), &Value::from("1.32"));
    assert_eq!(
        at(&ng2.attributes, "scaling_config.desired_size"),
        &Value::from(4i64)
    );

    let found = p
        .find(FindRequest {
            type_name: EKS_NODE_GROUP.into(),
            planned: node_group("shop", "1.32", 4),
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, "shop:workers");

    delete(&p, EKS_NODE_GROUP, &ng2).await;
    assert!(read(&p, EKS_NODE_GROUP, &ng2).await.is_none());
    delete(&p, EKS_CLUSTER, &c2).await;
    assert!(read(&p, EKS_CLUSTER, &c2).await.is_none());
    // Deleting what is gone succeeds.
    delete(&p, EKS_CLUSTER, &c2).await;
    emulator.shutdown().await;
}

fn database(class: &str) -> Value {
    Value::map([
        ("identifier", Value::from("shop-db")),
        ("engine", Value::from("postgres")),
        ("engine_version", Value::from("16")),
        ("instance_class", Value::from(class)),
        ("allocated_storage", Value::from(20i64)),
        ("username", Value::from("shop")),
        ("password", Value::from("s3cret-password").sensitive()),
        ("apply_immediately", Value::Bool(true)),
        ("skip_final_snapshot", Value::Bool(true)),
        ("tags", Value::map([("team", Value::from("data"))])),
    ])
}

#[tokio::test]
async fn db_instances_are_created_modified_and_deleted() {
    let emulator = emulator(Faults::default()).await;
    let p = provider(&emulator).await;
    let (ctx, seen) = progress();
    let db = create(&p, DB_INSTANCE, database("db.t4g.micro"), &ctx).await;
    assert!(
        seen.lock().unwrap().contains(&"creating".to_string()),
        "{seen:?}"
    );
    assert_eq!(db.id, "shop-db");
    assert_eq!(at(&db.attributes, "engine_version"), &Value::from("16"));
    assert_eq!(at(&db.attributes, "port"), &Value::from(5432i64));
    assert!(db.attributes.get("password").unwrap().is_sensitive());
    let (ctx, seen) = progress();
    let db2 = update(&p, DB_INSTANCE, &db, database("db.t4g.small"), &ctx).await;
    assert_eq!(
        at(&db2.attributes, "instance_class"),
        &Value::from("db.t4g.small")
    );
    assert!(
        seen.lock().unwrap().contains(&"modifying".to_string()),
        "{seen:?}"
    );
    delete(&p, DB_INSTANCE, &db2).await;
    assert!(read(&p, DB_INSTANCE, &db2).await.is_none());
    emulator.shutdown().await;
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried_and_reported() {
    let emulator = emulator(Faults {
        error_rate: 0.25,
        throttle_rate: 0.25,
        seed: Some(7),
        ..Faults::default()
    })
    .await;
    let p = provider(&emulator).await;
    let throttled = Arc::new(Mutex::new(0usize));
    let counter = throttled.clone();
    let _subscription = Pressure::of("aws").subscribe(move |s| {
        if s == Signal::Throttled {
            *counter.lock().unwrap() += 1;
        }
    });
    let c = create(
        &p,
        EKS_CLUSTER,
        cluster("busy", "1.31"),
        &OperationContext::silent(),
    )
    .await;
    let db = create(
        &p,
        DB_INSTANCE,
        database("db.t4g.micro"),
        &OperationContext::silent(),
    )
    .await;
    assert!(*throttled.lock().unwrap() > 0);
    delete(&p, DB_INSTANCE, &db).await;
    delete(&p, EKS_CLUSTER, &c).await;
    emulator.shutdown().await;
}
