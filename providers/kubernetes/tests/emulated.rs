//! The provider driven through the `Provider` trait against the emulated Kubernetes API, over
//! real HTTP, with the cluster URL under a path prefix (`/k8s/{cluster}`).

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::path::Path as FsPath;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use strata_core::provider::{
    CreateRequest, DeleteRequest, ErrorKind, OperationContext, PlanRequest, Provider, ReadRequest,
    ResourceObject, UpdateRequest,
};
use strata_core::{Path, Value};
use strata_emulator::kubernetes::KubeApis;
use strata_provider_kubernetes::{KubernetesProvider, MANIFEST, MANIFESTS};

const TOKEN: &str = "emulated-token-1234";

struct Emulated {
    apis: KubeApis,
    kubeconfig: String,
    /// Answers 500 to this many requests before serving normally.
    failures: Arc<AtomicUsize>,
    /// Server-side dry-runs asked for so far.
    dry_runs: Arc<AtomicUsize>,
    /// The most writes (applies, not dry-runs) the server was handling at once; each write
    /// takes at least 30 ms, so writes sent together overlap.
    peak_writes: Arc<AtomicUsize>,
    /// Requests for the `apps/v1` resource list (discovery of Deployments and their kin).
    apps_discovery: Arc<AtomicUsize>,
}

async fn emulated() -> Emulated {
    let apis = KubeApis::new(None);
    apis.register_cluster("c1", TOKEN);
    apis.set_rollout_time(Duration::from_millis(200));
    let failures = Arc::new(AtomicUsize::new(0));
    let remaining = Arc::clone(&failures);
    let dry_runs = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&dry_runs);
    let peak_writes = Arc::new(AtomicUsize::new(0));
    let peak = Arc::clone(&peak_writes);
    let writing = Arc::new(AtomicUsize::new(0));
    let apps_discovery = Arc::new(AtomicUsize::new(0));
    let discoveries = Arc::clone(&apps_discovery);
    let router = apis
        .router()
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            let remaining = Arc::clone(&remaining);
            if req.method() == axum::http::Method::GET
                && req.uri().path().ends_with("/apis/apps/v1")
            {
                discoveries.fetch_add(1, Ordering::SeqCst);
            }
            let dry_run = req.uri().query().is_some_and(|q| q.contains("dryRun"));
            let write = req.method() == axum::http::Method::PATCH && !dry_run;
            if req.method() == axum::http::Method::PATCH && dry_run {
                counted.fetch_add(1, Ordering::SeqCst);
            }
            let (peak, writing) = (Arc::clone(&peak), Arc::clone(&writing));
            async move {
                if write {
                    let now = writing.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    let resp: Response = next.run(req).await;
                    writing.fetch_sub(1, Ordering::SeqCst);
                    return resp;
                }
                let fail = remaining
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                if fail {
                    let status = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                    "reason": "InternalError", "code": 500, "message": "injected"});
                    return (
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                        status.to_string(),
                    )
                        .into_response();
                }
                let resp: Response = next.run(req).await;
                resp
            }
        }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    Emulated {
        apis,
        kubeconfig: kubeconfig(&format!("http://{addr}/k8s/c1"), TOKEN),
        failures,
        dry_runs,
        peak_writes,
        apps_discovery,
    }
}

fn kubeconfig(server: &str, token: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: emulated\nclusters:\n- name: emulated\n  cluster:\n    server: {server}\ncontexts:\n- name: emulated\n  context:\n    cluster: emulated\n    user: admin\nusers:\n- name: admin\n  user:\n    token: {token}\n"
    )
}

async fn provider(kubeconfig: &str) -> Arc<dyn Provider> {
    let config = Value::map([("kubeconfig", Value::from(kubeconfig))]);
    KubernetesProvider::new().configure(config).await.unwrap()
}

/// Progress reports, collected.
fn recorder() -> (OperationContext, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let ctx = OperationContext::new(move |s| sink.lock().unwrap().push(s.to_string()));
    (ctx, seen)
}

fn inventory_names(apis: &KubeApis, kind: &str) -> Vec<String> {
    apis.inventory()
        .iter()
        .filter(|o| o["kind"] == kind)
        .map(|o| o["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

fn live(apis: &KubeApis, kind: &str, name: &str) -> serde_json::Value {
    apis.inventory()
        .into_iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind} {name} is not in the cluster"))
}

fn write_backend(dir: &FsPath, replicas: i64, image: &str) {
    std::fs::write(
        dir.join("00-namespace.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n",
    )
    .unwrap();
    // Workload and service in one file, in the "wrong" order: the provider sorts.
    std::fs::write(
        dir.join("backend.yaml"),
        format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: backend\n  namespace: shop\nspec:\n  selector: {{app: backend}}\n  ports:\n  - port: 80\n    targetPort: 8080\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: backend\n  namespace: shop\n  labels: {{app: backend}}\nspec:\n  replicas: {replicas}\n  selector:\n    matchLabels: {{app: backend}}\n  template:\n    metadata:\n      labels: {{app: backend}}\n    spec:\n      containers:\n      - name: backend\n        image: {image}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("hpa.yml"),
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: backend\n  namespace: shop\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: backend}\n  minReplicas: 2\n  maxReplicas: 5\n",
    )
    .unwrap();
}

fn folder_config(dir: &FsPath, timeout: i64) -> Value {
    Value::map([
        ("path", Value::from(dir.to_str().unwrap())),
        ("objects", Value::Unknown),
        ("digest", Value::Unknown),
        ("id", Value::Unknown),
        ("wait_for_rollout", Value::Null),
        ("timeout_seconds", Value::from(timeout)),
    ])
}

async fn plan(
    p: &Arc<dyn Provider>,
    type_name: &str,
    prior: Option<&ResourceObject>,
    proposed: Value,
) -> (Value, Vec<Path>) {
    let resp = p
        .plan(PlanRequest {
            type_name: type_name.into(),
            prior: prior.cloned(),
            proposed,
        })
        .await
        .unwrap();
    (resp.planned, resp.requires_replace)
}

async fn read(
    p: &Arc<dyn Provider>,
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

fn strings(v: &Value) -> Vec<String> {
    v.as_list()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// The proposal the engine would make for `prior` with the folder config: prior computed values.
fn proposed_from(prior: &ResourceObject, dir: &FsPath, timeout: i64) -> Value {
    let mut v = folder_config(dir, timeout);
    for k in ["objects", "digest", "id"] {
        v.set_path(&Path::root().key(k), prior.attributes.get(k).unwrap());
    }
    v
}

#[tokio::test]
async fn a_folder_is_applied_in_order_updated_pruned_and_destroyed() {
    let e = emulated().await;
    let p = provider(&e.kubeconfig).await;
    let tmp = tempfile::tempdir().unwrap();
    write_backend(tmp.path(), 2, "nginx:1.27");

    let (planned, _) = plan(&p, MANIFESTS, None, folder_config(tmp.path(), 30)).await;
    let ids = strings(&planned.get("objects").unwrap());
    assert_eq!(
        ids,
        [
            "v1/Namespace//shop",
            "v1/Service/shop/backend",
            "apps/v1/Deployment/shop/backend",
            "autoscaling/v2/HorizontalPodAutoscaler/shop/backend",
        ]
    );
    let digest = planned.get("digest").unwrap();
    assert!(digest.as_str().unwrap().starts_with("sha256:"));
    // A plan changes nothing in the cluster.
    assert!(inventory_names(&e.apis, "Deployment").is_empty());

    let (ctx, progress) = recorder();
    let created = p
        .create(
            CreateRequest {
                type_name: MANIFESTS.into(),
                planned: planned.clone(),
            },
            &ctx,
        )
        .await
        .unwrap();
    assert_eq!(created.attributes.get("digest"), Some(digest.clone()));
    assert_eq!(
        strings(&created.attributes.get("objects").unwrap()).len(),
        4
    );
    let deployment = live(&e.apis, "Deployment", "backend");
    assert_eq!(deployment["status"]["readyReplicas"], 2);
    assert_eq!(
        deployment["metadata"]["managedFields"][0]["manager"],
        "strata"
    );
    assert!(inventory_names(&e.apis, "HorizontalPodAutoscaler").contains(&"backend".to_string()));
    let progress = progress.lock().unwrap().clone();
    assert!(
        progress
            .iter()
            .any(|s| s == "Deployment shop/backend 2/2 ready"),
        "{progress:?}"
    );

    // Nothing changed: reading gives what state holds, planning again proposes no change.
    let again = read(&p, MANIFESTS, &created).await.unwrap();
    assert_eq!(again, created);
    let (replanned, _) = plan(
        &p,
        MANIFESTS,
        Some(&created),
        proposed_from(&created, tmp.path(), 30),
    )
    .await;
    assert_eq!(replanned.get("digest"), Some(digest.clone()));

    // Out-of-band change: the read digest moves, so the next plan re-applies.
    e.apis
        .set_field(
            "c1",
            "Deployment",
            Some("shop"),
            "backend",
            "spec.replicas",
            json!(7),
        )
        .unwrap();
    let drifted = read(&p, MANIFESTS, &created).await.unwrap();
    assert_ne!(drifted.attributes.get("digest"), Some(digest.clone()));

    // One document removed and a replica count changed: an in-place update that prunes.
    std::fs::remove_file(tmp.path().join("hpa.yml")).unwrap();
    write_backend(tmp.path(), 3, "nginx:1.27");
    std::fs::remove_file(tmp.path().join("hpa.yml")).unwrap();
    let (planned, replace) = plan(
        &p,
        MANIFESTS,
        Some(&drifted),
        proposed_from(&drifted, tmp.path(), 30),
    )
    .await;
    assert!(replace.is_empty());
    assert_ne!(planned.get("digest"), drifted.attributes.get("digest"));
    assert_eq!(strings(&planned.get("objects").unwrap()).len(), 3);
    let (ctx, _) = recorder();
    let updated = p
        .update(
            UpdateRequest {
                type_name: MANIFESTS.into(),
                id: drifted.id.clone(),
                prior: drifted.attributes.clone(),
                planned: planned.clone(),
                changed: vec![Path::root().key("digest")],
            },
            &ctx,
        )
        .await
        .unwrap();
    assert_eq!(updated.attributes.get("digest"), planned.get("digest"));
    assert!(inventory_names(&e.apis, "HorizontalPodAutoscaler").is_empty());
    let deployment = live(&e.apis, "Deployment", "backend");
    assert_eq!(deployment["spec"]["replicas"], 3);
    assert_eq!(deployment["status"]["readyReplicas"], 3);
    assert_eq!(read(&p, MANIFESTS, &updated).await.unwrap(), updated);

    let (ctx, _) = recorder();
    p.delete(
        DeleteRequest {
            type_name: MANIFESTS.into(),
            id: updated.id.clone(),
            prior: updated.attributes.clone(),
        },
        &ctx,
    )
    .await
    .unwrap();
    assert!(inventory_names(&e.apis, "Namespace")
        .iter()
        .all(|n| n != "shop"));
    assert!(e
        .apis
        .inventory()
        .iter()
        .all(|o| o["metadata"]["namespace"] != "shop"));
    assert_eq!(read(&p, MANIFESTS, &updated).await, None);
}

#[tokio::test]
async fn a_workload_that_never_gets_ready_times_out_naming_it() {
    let e = emulated().await;
    let p = provider(&e.kubeconfig).await;
    let tmp = tempfile::tempdir().unwrap();
    write_backend(tmp.path(), 2, "example/never-ready:1");
    let (planned, _) = plan(&p, MANIFESTS, None, folder_config(tmp.path(), 1)).await;
    let (ctx, progress) = recorder();
    let err = p
        .create(
            CreateRequest {
                type_name: MANIFESTS.into(),
                planned,
            },
            &ctx,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout);
    assert_eq!(
        err.message,
        "Deployment shop/backend did not become ready within 1s (0/2 ready)"
    );
    // Everything else was applied, and state learns about all of it.
    assert_eq!(inventory_names(&e.apis, "Service"), ["backend"]);
    assert!(!inventory_names(&e.apis, "HorizontalPodAutoscaler").is_empty());
    let partial = err.partial.expect("the applied objects are reported");
    assert_eq!(
        strings(&partial.attributes.get("objects").unwrap()).len(),
        4
    );
    assert!(progress
        .lock()
        .unwrap()
        .iter()
        .any(|s| s.ends_with("0/2 ready")));
}

fn deployment_manifest(name: &str, replicas: i64) -> Value {
    Value::from_json(&json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
        "spec": {"replicas": replicas,
                 "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}
    }))
}

fn manifest_config(manifest: Value) -> Value {
    Value::map([
        ("manifest", manifest),
        ("object", Value::Unknown),
        ("uid", Value::Unknown),
        ("id", Value::Unknown),
        ("wait_for_rollout", Value::Null),
        ("timeout_seconds", Value::Null),
    ])
}

#[tokio::test]
async fn one_manifest_is_planned_by_dry_run_applied_read_and_deleted() {
    let e = emulated().await;
    let p = provider(&e.kubeconfig).await;
    let (planned, _) = plan(
        &p,
        MANIFEST,
        None,
        manifest_config(deployment_manifest("web", 2)),
    )
    .await;
    let object = planned.get("object").unwrap();
    assert_eq!(
        object.get_path(&Path::parse("spec.replicas").unwrap()),
        Some(&Value::from(2i64))
    );
    assert!(object.get("status").is_none());
    assert!(planned.get("uid").unwrap().is_unknown());
    assert!(
        inventory_names(&e.apis, "Deployment").is_empty(),
        "a dry run creates nothing"
    );

    let (ctx, progress) = recorder();
    let created = p
        .create(
            CreateRequest {
                type_name: MANIFEST.into(),
                planned,
            },
            &ctx,
        )
        .await
        .unwrap();
    assert_eq!(created.id, "apps/v1/Deployment/default/web");
    assert_eq!(
        created.attributes.get("uid").unwrap().as_str(),
        live(&e.apis, "Deployment", "web")["metadata"]["uid"].as_str()
    );
    assert_eq!(
        progress.lock().unwrap().last().map(String::as_str),
        Some("2/2 ready")
    );
    assert_eq!(read(&p, MANIFEST, &created).await.unwrap(), created);

    // Drift shows in the manifest as read back.
    e.apis
        .set_field(
            "c1",
            "deploy",
            Some("default"),
            "web",
            "spec.replicas",
            json!(4),
        )
        .unwrap();
    let drifted = read(&p, MANIFEST, &created).await.unwrap();
    let replicas = Path::parse("manifest.spec.replicas").unwrap();
    assert_eq!(
        drifted.attributes.get_path(&replicas),
        Some(&Value::from(4i64))
    );

    // A new name cannot be applied in place.
    let mut proposed = manifest_config(deployment_manifest("web2", 2));
    proposed.set_path(
        &Path::root().key("object"),
        drifted.attributes.get("object").unwrap(),
    );
    let (_, replace) = plan(&p, MANIFEST, Some(&drifted), proposed).await;
    assert_eq!(replace, [Path::parse("manifest.metadata.name").unwrap()]);

    let (ctx, _) = recorder();
    p.delete(
        DeleteRequest {
            type_name: MANIFEST.into(),
            id: created.id.clone(),
            prior: created.attributes.clone(),
        },
        &ctx,
    )
    .await
    .unwrap();
    assert_eq!(read(&p, MANIFEST, &created).await, None);
    // Deleting what is gone succeeds.
    p.delete(
        DeleteRequest {
            type_name: MANIFEST.into(),
            id: created.id.clone(),
            prior: Value::Null,
        },
        &ctx,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_document_planned_again_is_asked_once_until_its_object_is_written() {
    let e = emulated().await;
    let dry_runs = || e.dry_runs.load(Ordering::SeqCst);
    let config = || manifest_config(deployment_manifest("cached", 2));
    let first = provider(&e.kubeconfig).await;
    let (planned, _) = plan(&first, MANIFEST, None, config()).await;
    assert_eq!(dry_runs(), 1);
    // The next walk of the same run configures its own provider: it gets the same answer
    // without asking the cluster again.
    let second = provider(&e.kubeconfig).await;
    let (again, _) = plan(&second, MANIFEST, None, config()).await;
    assert_eq!(dry_runs(), 1);
    assert_eq!(again, planned);
    // Another document is another question.
    plan(
        &second,
        MANIFEST,
        None,
        manifest_config(deployment_manifest("cached", 3)),
    )
    .await;
    assert_eq!(dry_runs(), 2);
    // Once the object is written, what the server makes of the document may differ.
    let (ctx, _) = recorder();
    second
        .create(
            CreateRequest {
                type_name: MANIFEST.into(),
                planned,
            },
            &ctx,
        )
        .await
        .unwrap();
    plan(&first, MANIFEST, None, config()).await;
    assert_eq!(dry_runs(), 3);
}

#[tokio::test]
async fn a_folder_applies_the_documents_of_one_rank_together_and_ranks_in_order() {
    let e = emulated().await;
    let p = provider(&e.kubeconfig).await;
    let tmp = tempfile::tempdir().unwrap();
    let mut yaml = String::from("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: many\n");
    for i in 0..12 {
        yaml.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings-{i}\n  namespace: many\ndata:\n  n: \"{i}\"\n"
        ));
    }
    std::fs::write(tmp.path().join("all.yaml"), yaml).unwrap();
    let (planned, _) = plan(&p, MANIFESTS, None, folder_config(tmp.path(), 30)).await;
    let (ctx, _) = recorder();
    p.create(
        CreateRequest {
            type_name: MANIFESTS.into(),
            planned,
        },
        &ctx,
    )
    .await
    .unwrap();
    // The namespace went alone (its ConfigMaps need it); the ConfigMaps went together, at most
    // eight at once.
    let peak = e.peak_writes.load(Ordering::SeqCst);
    assert!((2..=8).contains(&peak), "{peak} writes at once");
    assert_eq!(inventory_names(&e.apis, "ConfigMap").len(), 12);
}

#[tokio::test]
async fn kinds_planned_at_once_are_looked_up_once() {
    let e = emulated().await;
    let p = provider(&e.kubeconfig).await;
    let plans = (0..6).map(|i| {
        let p = &p;
        async move {
            plan(
                p,
                MANIFEST,
                None,
                manifest_config(deployment_manifest(&format!("web-{i}"), 1)),
            )
            .await
        }
    });
    futures::future::join_all(plans).await;
    assert_eq!(e.apps_discovery.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn secret_data_comes_back_marked_sensitive() {
    let e = emulated().await;
    let p = provider(&e.kubeconfig).await;
    let secret = Value::from_json(&json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "db", "namespace": "default"},
        "stringData": {"password": "hunter2"}
    }));
    let (planned, _) = plan(&p, MANIFEST, None, manifest_config(secret)).await;
    assert!(planned
        .get_path(&Path::parse("manifest.stringData").unwrap())
        .unwrap()
        .is_sensitive());
    let (ctx, _) = recorder();
    let created = p
        .create(
            CreateRequest {
                type_name: MANIFEST.into(),
                planned,
            },
            &ctx,
        )
        .await
        .unwrap();
    let data = created
        .attributes
        .get_path(&Path::parse("object.data").unwrap())
        .unwrap();
    assert!(data.is_sensitive());
    assert!(!created
        .attributes
        .redacted()
        .to_json()
        .to_string()
        .contains("aHVudGVyMg"));
}

#[tokio::test]
async fn transient_server_errors_are_retried() {
    let e = emulated().await;
    let p = provider(&e.kubeconfig).await;
    e.failures.store(3, Ordering::SeqCst);
    let (planned, _) = plan(
        &p,
        MANIFEST,
        None,
        manifest_config(deployment_manifest("web", 1)),
    )
    .await;
    assert_eq!(
        e.failures.load(Ordering::SeqCst),
        0,
        "the injected failures were met"
    );
    assert!(!planned.get("object").unwrap().is_unknown());
}

#[tokio::test]
async fn bad_credentials_and_bad_kubeconfigs_are_clear_errors_that_hide_the_secret() {
    let e = emulated().await;
    let server = e
        .kubeconfig
        .lines()
        .find(|l| l.contains("server:"))
        .unwrap()
        .trim()
        .trim_start_matches("server: ")
        .to_string();
    let p = provider(&kubeconfig(&server, "wrong-token")).await;
    let err = p
        .plan(PlanRequest {
            type_name: MANIFEST.into(),
            prior: None,
            proposed: manifest_config(deployment_manifest("web", 1)),
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Credentials, "{err}");

    let broken = format!("{}\n  - : : [", e.kubeconfig);
    let config = Value::map([("kubeconfig", Value::from(broken.as_str()))]);
    let err = KubernetesProvider::new()
        .configure(config)
        .await
        .err()
        .expect("configuration is refused");
    assert_eq!(err.kind, ErrorKind::InvalidConfig);
    assert!(!err.message.contains(TOKEN) && !err.hint.unwrap_or_default().contains(TOKEN));

    let remote = kubeconfig("http://203.0.113.7/k8s/c1", TOKEN);
    let config = Value::map([("kubeconfig", Value::from(remote.as_str()))]);
    let err = KubernetesProvider::new()
        .configure(config)
        .await
        .err()
        .expect("configuration is refused");
    assert!(err.message.contains("plain http"), "{err}");
}

#[tokio::test]
async fn unknown_kinds_and_invalid_documents_fail_the_plan() {
    let e = emulated().await;
    let p = provider(&e.kubeconfig).await;
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("a.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Not_Valid\n",
    )
    .unwrap();
    let err = p
        .plan(PlanRequest {
            type_name: MANIFESTS.into(),
            prior: None,
            proposed: folder_config(tmp.path(), 5),
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidConfig);
    assert!(err.message.starts_with("a.yaml (document 1): "), "{err}");

    std::fs::write(
        tmp.path().join("a.yaml"),
        "apiVersion: v1\nkind: ConfigMap\n",
    )
    .unwrap();
    let err = p
        .plan(PlanRequest {
            type_name: MANIFESTS.into(),
            prior: None,
            proposed: folder_config(tmp.path(), 5),
        })
        .await
        .unwrap_err();
    assert!(err.message.contains("metadata.name"), "{err}");

    let (ctx, _) = recorder();
    let mut known = manifest_config(Value::from_json(
        &json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "default"}}),
    ));
    for k in ["object", "uid", "id"] {
        known.set_path(&Path::root().key(k), Value::Null);
    }
    let err = p
        .create(
            CreateRequest {
                type_name: MANIFEST.into(),
                planned: known,
            },
            &ctx,
        )
        .await
        .unwrap_err();
    assert!(err.message.contains("does not serve Widget"), "{err}");
}
