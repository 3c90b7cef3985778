//! The client's behaviour on failures the emulator does not produce on purpose: a create that
//! fails after the object was made, throttling with headers, errors that retrying cannot fix,
//! a deadline, and a read that does not see a new object at once. Each test serves a tiny
//! scripted stand-in for the API on a loopback port.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value as Json_};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use strata_core::provider::{CreateRequest, ErrorKind, OperationContext, Provider, ReadRequest};
use strata_core::Value;
use strata_provider_digitalocean::{
    DigitalOceanProvider, RetryPolicy, Settings, Token, KUBERNETES_CLUSTER, VPC,
};

const TOKEN: &str = "dop_v1_stub_token";

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

fn provider(endpoint: &str, deadline: Duration) -> DigitalOceanProvider {
    let mut settings = Settings::new(Token::new(TOKEN), endpoint).unwrap();
    settings.retry = RetryPolicy {
        initial_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(20),
        deadline,
    };
    settings.poll_interval = Duration::from_millis(5);
    DigitalOceanProvider::with_settings(settings).unwrap()
}

fn vpc_config(name: &str) -> Value {
    Value::map([
        ("name", Value::from(name)),
        ("region", Value::from("nyc1")),
        ("ip_range", Value::from("10.10.0.0/16")),
        ("id", Value::Unknown),
    ])
}

fn error(status: StatusCode, id: &str, message: &str) -> Response {
    (status, Json(json!({"id": id, "message": message}))).into_response()
}

#[derive(Default)]
struct Cloud {
    vpcs: Mutex<Vec<Json_>>,
    posts: AtomicUsize,
    gets: AtomicUsize,
    auth: Mutex<Vec<String>>,
}

fn record_auth(cloud: &Cloud, headers: &HeaderMap) {
    let value = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    cloud.auth.lock().unwrap().push(value);
}

async fn list_vpcs(State(cloud): State<Arc<Cloud>>, headers: HeaderMap) -> Response {
    record_auth(&cloud, &headers);
    let vpcs = cloud.vpcs.lock().unwrap().clone();
    Json(json!({"vpcs": vpcs, "links": {}, "meta": {"total": vpcs.len()}})).into_response()
}

/// Makes the VPC, then answers 500 the first time, as a gateway that timed out would.
async fn create_vpc_then_fail_once(
    State(cloud): State<Arc<Cloud>>,
    Json(body): Json<Json_>,
) -> Response {
    let n = cloud.posts.fetch_add(1, Ordering::SeqCst);
    let id = format!("vpc-{n}");
    let vpc = json!({"id": id, "name": body["name"], "region": body["region"],
                     "ip_range": body["ip_range"], "urn": format!("do:vpc:{id}"),
                     "default": false, "created_at": "2026-01-01T00:00:00Z"});
    cloud.vpcs.lock().unwrap().push(vpc.clone());
    if n == 0 {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "Unexpected server-side error",
        );
    }
    (StatusCode::CREATED, Json(json!({ "vpc": vpc }))).into_response()
}

#[tokio::test]
async fn a_create_that_failed_after_making_the_object_adopts_it_instead_of_making_another() {
    let cloud = Arc::new(Cloud::default());
    // An object of the same name that existed before must not be mistaken for ours.
    cloud
        .vpcs
        .lock()
        .unwrap()
        .push(json!({"id": "old", "name": "shop", "region": "nyc1"}));
    let router = Router::new()
        .route("/v2/vpcs", get(list_vpcs).post(create_vpc_then_fail_once))
        .with_state(cloud.clone());
    let p = provider(&serve(router).await, Duration::from_secs(5));

    let created = p
        .create(
            CreateRequest {
                type_name: VPC.into(),
                planned: vpc_config("shop"),
            },
            &OperationContext::silent(),
        )
        .await
        .unwrap();

    assert_eq!(created.id, "vpc-0");
    assert_eq!(
        cloud.posts.load(Ordering::SeqCst),
        1,
        "the create was sent again"
    );
    let ids: Vec<Json_> = cloud
        .vpcs
        .lock()
        .unwrap()
        .iter()
        .map(|v| v["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!("old"), json!("vpc-0")]);
    assert!(cloud
        .auth
        .lock()
        .unwrap()
        .iter()
        .all(|a| a == &format!("Bearer {TOKEN}")));
}

#[tokio::test]
async fn throttled_reads_are_retried_until_they_succeed() {
    let cloud = Arc::new(Cloud::default());
    let router = Router::new()
        .route(
            "/v2/vpcs/{id}",
            get(
                |State(cloud): State<Arc<Cloud>>, Path(id): Path<String>| async move {
                    if cloud.gets.fetch_add(1, Ordering::SeqCst) < 2 {
                        let mut r = error(
                            StatusCode::TOO_MANY_REQUESTS,
                            "too_many_requests",
                            "API rate limit exceeded.",
                        );
                        let h = r.headers_mut();
                        h.insert("retry-after", "0".parse().unwrap());
                        h.insert("ratelimit-remaining", "0".parse().unwrap());
                        h.insert("ratelimit-reset", "0".parse().unwrap());
                        return r;
                    }
                    Json(json!({"vpc": {"id": id, "name": "shop", "region": "nyc1",
                                    "ip_range": "10.10.0.0/16", "description": ""}}))
                    .into_response()
                },
            ),
        )
        .with_state(cloud.clone());
    let p = provider(&serve(router).await, Duration::from_secs(5));

    let read = p
        .read(ReadRequest {
            type_name: VPC.into(),
            id: "v1".into(),
            prior: Value::Null,
        })
        .await
        .unwrap()
        .expect("the VPC exists");
    assert_eq!(read.attributes.get("name"), Some(Value::from("shop")));
    assert_eq!(cloud.gets.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn an_invalid_request_is_not_retried_and_says_why() {
    let cloud = Arc::new(Cloud::default());
    let router = Router::new()
        .route(
            "/v2/vpcs",
            get(list_vpcs).post(|State(cloud): State<Arc<Cloud>>| async move {
                cloud.posts.fetch_add(1, Ordering::SeqCst);
                error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "unprocessable_entity",
                    "ip_range 10.10.0.0/16 overlaps with vpc shop-prod",
                )
            }),
        )
        .with_state(cloud.clone());
    let p = provider(&serve(router).await, Duration::from_secs(5));

    let e = p
        .create(
            CreateRequest {
                type_name: VPC.into(),
                planned: vpc_config("shop"),
            },
            &OperationContext::silent(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidConfig);
    assert!(e.message.contains("overlaps with vpc shop-prod"), "{e}");
    assert!(!e.message.contains(TOKEN) && !format!("{e:?}").contains(TOKEN));
    assert_eq!(cloud.posts.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn retries_stop_at_the_deadline() {
    let cloud = Arc::new(Cloud::default());
    let router = Router::new()
        .route(
            "/v2/vpcs/{id}",
            get(|State(cloud): State<Arc<Cloud>>| async move {
                cloud.gets.fetch_add(1, Ordering::SeqCst);
                error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "service_unavailable",
                    "try later",
                )
            }),
        )
        .with_state(cloud.clone());
    let p = provider(&serve(router).await, Duration::from_millis(200));

    let e = p
        .read(ReadRequest {
            type_name: VPC.into(),
            id: "v1".into(),
            prior: Value::Null,
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unavailable);
    assert!(e.message.contains("gave up after"), "{e}");
    assert!(cloud.gets.load(Ordering::SeqCst) > 1, "it was not retried");
}

#[tokio::test]
async fn a_new_cluster_that_reads_as_missing_at_first_is_waited_for() {
    let cloud = Arc::new(Cloud::default());
    let cluster = |state: &str| {
        json!({"id": "c1", "name": "shop", "region": "nyc1", "version": "1.31.1-do.4",
               "endpoint": "https://c1.example", "status": {"state": state},
               "node_pools": [{"id": "p1", "name": "default", "size": "s-1vcpu-2gb", "count": 1}]})
    };
    let router = Router::new()
        .route(
            "/v2/kubernetes/clusters",
            get(|| async { Json(json!({"kubernetes_clusters": [], "links": {}})) }).post(
                move || async move {
                    (StatusCode::CREATED, Json(json!({"kubernetes_cluster": cluster("provisioning")})))
                },
            ),
        )
        .route(
            "/v2/kubernetes/clusters/{id}",
            get(move |State(cloud): State<Arc<Cloud>>| async move {
                match cloud.gets.fetch_add(1, Ordering::SeqCst) {
                    0 => error(StatusCode::NOT_FOUND, "not_found", "The resource you were accessing could not be found."),
                    1 => Json(json!({"kubernetes_cluster": cluster("provisioning")})).into_response(),
                    _ => Json(json!({"kubernetes_cluster": cluster("running")})).into_response(),
                }
            }),
        )
        .route(
            "/v2/kubernetes/clusters/{id}/kubeconfig",
            get(|| async { "apiVersion: v1\nkind: Config\nclusters:\n- name: c1\n  cluster:\n    server: https://c1.example\n    certificate-authority-data: Q0E=\n" }),
        )
        .with_state(cloud.clone());
    let p = provider(&serve(router).await, Duration::from_secs(5));

    let statuses = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = statuses.clone();
    let ctx = OperationContext::new(move |s| seen.lock().unwrap().push(s.to_string()));
    let planned = Value::map([
        ("name", Value::from("shop")),
        ("region", Value::from("nyc1")),
        ("version", Value::from("1.31.1-do.4")),
        (
            "node_pool",
            Value::List(vec![Value::map([
                ("name", Value::from("default")),
                ("size", Value::from("s-1vcpu-2gb")),
                ("node_count", Value::from(1i64)),
            ])]),
        ),
    ]);
    let created = p
        .create(
            CreateRequest {
                type_name: KUBERNETES_CLUSTER.into(),
                planned,
            },
            &ctx,
        )
        .await
        .unwrap();
    assert_eq!(created.id, "c1");
    assert_eq!(
        created.attributes.get("status"),
        Some(Value::from("running"))
    );
    assert!(created.attributes.get("kubeconfig").unwrap().is_sensitive());
    assert_eq!(
        created.attributes.get("cluster_ca_certificate"),
        Some(Value::from("Q0E="))
    );
    let statuses = statuses.lock().unwrap().clone();
    assert_eq!(statuses.last().map(String::as_str), Some("running"));
    assert!(statuses.iter().any(|s| s == "provisioning"), "{statuses:?}");
}

#[tokio::test]
async fn configuring_without_any_token_is_a_credentials_error() {
    // This is the only test in this binary that looks at the process environment.
    std::env::remove_var("DIGITALOCEAN_TOKEN");
    std::env::remove_var("DIGITALOCEAN_ACCESS_TOKEN");
    let e = DigitalOceanProvider::new()
        .configure(Value::map([(
            "endpoint",
            Value::from("http://127.0.0.1:9"),
        )]))
        .await
        .err()
        .expect("configure must fail");
    assert_eq!(e.kind, ErrorKind::Credentials);
    assert!(
        e.message.contains("DIGITALOCEAN_TOKEN") && e.message.contains("DIGITALOCEAN_ACCESS_TOKEN"),
        "{e}"
    );
}
