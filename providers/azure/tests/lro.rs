//! Following long-running operations against a scripted ARM: a status monitor that passes
//! through a state this provider does not know, then succeeds, fails or is canceled, and a
//! resource that is not visible at once after its operation.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use strata_core::provider::{CreateRequest, ErrorKind, OperationContext, Provider, ProviderResult};
use strata_core::Value;
use strata_provider_azure::{AzureProvider, Settings, RESOURCE_GROUP};

/// How many times each URL was called, and the server's own address.
#[derive(Default)]
struct Script {
    calls: Mutex<BTreeMap<String, u32>>,
    base: Mutex<String>,
}

impl Script {
    fn count(&self, key: &str) -> u32 {
        let mut calls = self.calls.lock().unwrap();
        let n = calls.entry(key.to_string()).or_default();
        *n += 1;
        *n
    }
}

type Shared = Arc<Script>;

async fn token() -> Json<serde_json::Value> {
    Json(
        json!({"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600, "access_token": "t"}),
    )
}

async fn put_group(State(s): State<Shared>, Path(name): Path<String>) -> Response {
    let mut base = s.base.lock().unwrap().clone();
    if name == "elsewhere" {
        base = "http://127.0.0.9:9".to_string();
    }
    let mut headers = HeaderMap::new();
    headers.insert(
        "azure-asyncoperation",
        format!("{base}/operations/{name}").parse().unwrap(),
    );
    let body = json!({"name": name, "properties": {"provisioningState": "Creating"}});
    (StatusCode::CREATED, headers, Json(body)).into_response()
}

async fn operation(State(s): State<Shared>, Path(name): Path<String>) -> Json<serde_json::Value> {
    let n = s.count(&format!("op/{name}"));
    Json(match (n, name.as_str()) {
        (1, _) => json!({"status": "InProgress"}),
        (2, _) => json!({"status": "Reconciling", "percentComplete": 50}),
        (_, "fails") => {
            json!({"status": "Failed", "error": {"code": "QuotaExceeded", "message": "no cores left"}})
        }
        (_, "cancels") => json!({"status": "Canceled"}),
        _ => json!({"status": "Succeeded"}),
    })
}

async fn get_group(State(s): State<Shared>, Path(name): Path<String>) -> Response {
    // The first read after the operation does not see the group yet.
    if s.count(&format!("get/{name}")) == 1 {
        let body = json!({"error": {"code": "ResourceGroupNotFound", "message": "not yet"}});
        return (StatusCode::NOT_FOUND, Json(body)).into_response();
    }
    let body = json!({
        "id": format!("/subscriptions/s/resourceGroups/{name}"),
        "name": name, "location": "westeurope", "unknownField": {"x": 1},
        "properties": {"provisioningState": "Succeeded"}
    });
    Json(body).into_response()
}

async fn scripted_arm() -> (String, Shared) {
    let script: Shared = Arc::default();
    let app = Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route(
            "/subscriptions/s/resourcegroups/{name}",
            put(put_group).get(get_group),
        )
        .route("/operations/{name}", get(operation))
        .with_state(script.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    *script.base.lock().unwrap() = base.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, script)
}

fn provider(base: &str) -> AzureProvider {
    let config = Value::map([
        ("subscription_id", Value::from("s")),
        ("tenant_id", Value::from("t")),
        ("client_id", Value::from("c")),
        ("client_secret", Value::from("secret").sensitive()),
        ("endpoint", Value::from(base)),
        ("authority_host", Value::from(base)),
    ]);
    let mut settings = Settings::from_config(&config, |_| None).unwrap();
    settings.poll_interval = Duration::from_millis(10);
    AzureProvider::with_settings(settings).unwrap()
}

async fn create_group(
    p: &AzureProvider,
    name: &str,
    ctx: &OperationContext,
) -> ProviderResult<strata_core::provider::ResourceObject> {
    p.create(
        CreateRequest {
            type_name: RESOURCE_GROUP.into(),
            planned: Value::map([
                ("name", Value::from(name)),
                ("location", Value::from("westeurope")),
            ]),
        },
        ctx,
    )
    .await
}

#[tokio::test]
async fn an_operation_is_followed_through_unknown_states_to_its_end() {
    let (base, _script) = scripted_arm().await;
    let p = provider(&base);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let ctx = OperationContext::new(move |s| sink.lock().unwrap().push(s.to_string()));
    let group = create_group(&p, "works", &ctx).await.unwrap();
    assert_eq!(group.id, "/subscriptions/s/resourceGroups/works");
    assert_eq!(
        *seen.lock().unwrap(),
        vec!["Creating", "Reconciling", "Succeeded"]
    );

    let e = create_group(&p, "fails", &OperationContext::silent())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Api);
    assert!(e.message.contains("QuotaExceeded: no cores left"), "{e}");
    let e = create_group(&p, "cancels", &OperationContext::silent())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict);
    assert!(e.message.contains("canceled"), "{e}");
    // The token never goes to a monitor on another host.
    let e = create_group(&p, "elsewhere", &OperationContext::silent())
        .await
        .unwrap_err();
    assert!(e.message.contains("status monitor"), "{e}");
}
