//! The emulated API over real HTTP, as clients reach it.

use super::*;
use serde_json::{json, Value};

struct Server {
    base: String,
    client: reqwest::Client,
}

async fn serve(apis: &KubeApis) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = apis.router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    Server {
        base: format!("http://{addr}/k8s"),
        client: reqwest::Client::new(),
    }
}

impl Server {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, Value)>,
    ) -> (u16, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some((content_type, body)) = body {
            req = req
                .header("content-type", content_type)
                .body(body.to_string());
        }
        let resp = req.send().await.unwrap();
        let code = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            code,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, Some("tok"), None)
            .await
    }

    async fn apply(&self, path: &str, query: &str, body: Value) -> (u16, Value) {
        let path = format!("{path}?fieldManager=strata&force=true{query}");
        let body = Some(("application/apply-patch+yaml", body));
        self.call(reqwest::Method::PATCH, &path, Some("tok"), body)
            .await
    }
}

fn deployment(replicas: i64, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": replicas,
                 "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": image}]}}}
    })
}

const WEB: &str = "/c1/apis/apps/v1/namespaces/default/deployments/web";

#[tokio::test]
async fn tokens_and_clusters_are_checked() {
    let apis = KubeApis::new(None);
    apis.register_cluster("c1", "tok");
    let s = serve(&apis).await;
    let (code, status) = s
        .call(reqwest::Method::GET, "/c1/api/v1/namespaces", None, None)
        .await;
    assert_eq!(code, 401);
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["reason"], "Unauthorized");
    let (code, _) = s
        .call(
            reqwest::Method::GET,
            "/c1/api/v1/namespaces",
            Some("bad"),
            None,
        )
        .await;
    assert_eq!(code, 401);
    let (code, _) = s
        .call(reqwest::Method::GET, "/c2/version", Some("tok"), None)
        .await;
    assert_eq!(code, 404);
    let (code, list) = s.get("/c1/api/v1/namespaces").await;
    assert_eq!(code, 200);
    assert_eq!(list["kind"], "NamespaceList");
    assert!(list["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["metadata"]["name"] == "default"));
    apis.remove_cluster("c1");
    assert_eq!(s.get("/c1/version").await.0, 404);
}

#[tokio::test]
async fn discovery_lists_groups_and_resources_with_scope_and_verbs() {
    let apis = KubeApis::new(None);
    apis.register_cluster("c1", "tok");
    let s = serve(&apis).await;
    assert_eq!(s.get("/c1/version").await.1["major"], "1");
    assert_eq!(s.get("/c1/api").await.1["versions"], json!(["v1"]));
    let (_, groups) = s.get("/c1/apis").await;
    let names: Vec<&str> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    for g in [
        "apps",
        "autoscaling",
        "policy",
        "networking.k8s.io",
        "rbac.authorization.k8s.io",
    ] {
        assert!(names.contains(&g), "{g} in {names:?}");
    }
    let (_, apps) = s.get("/c1/apis/apps/v1").await;
    let deploy = apps["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "deployments")
        .unwrap();
    assert_eq!(deploy["namespaced"], true);
    assert_eq!(deploy["kind"], "Deployment");
    assert!(deploy["verbs"]
        .as_array()
        .unwrap()
        .contains(&json!("patch")));
    let (_, core) = s.get("/c1/api/v1").await;
    let ns = core["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "namespaces")
        .unwrap();
    assert_eq!(ns["namespaced"], false);
    assert_eq!(s.get("/c1/apis/autoscaling/v2").await.0, 200);
    assert_eq!(s.get("/c1/apis/nothing.example.com/v1").await.0, 404);
}

#[tokio::test]
async fn server_side_apply_creates_updates_and_reports_rollout() {
    let apis = KubeApis::new(None);
    apis.register_cluster("c1", "tok");
    apis.set_rollout_time(Duration::from_secs(3600));
    let s = serve(&apis).await;

    let (code, created) = s.apply(WEB, "", deployment(3, "nginx:1.27")).await;
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["status"]["readyReplicas"], 0);
    assert_eq!(created["metadata"]["managedFields"][0]["manager"], "strata");

    // A dry run answers as if applied and changes nothing.
    let (code, dry) = s
        .apply(WEB, "&dryRun=All", deployment(5, "nginx:1.27"))
        .await;
    assert_eq!(code, 200);
    assert_eq!(dry["spec"]["replicas"], 5);
    assert_eq!(s.get(WEB).await.1["spec"]["replicas"], 3);

    apis.set_rollout_time(Duration::ZERO);
    let (_, ready) = s.get(WEB).await;
    assert_eq!(ready["status"]["readyReplicas"], 3);
    assert_eq!(ready["status"]["observedGeneration"], 1);

    let (code, updated) = s.apply(WEB, "", deployment(4, "nginx:1.27")).await;
    assert_eq!(code, 200);
    assert_eq!(updated["metadata"]["generation"], 2);
    assert_eq!(updated["status"]["readyReplicas"], 4);

    let (_, stuck) = s
        .apply(WEB, "", deployment(4, "example/never-ready:1"))
        .await;
    assert_eq!(stuck["status"]["readyReplicas"], 0);

    let (code, list) = s
        .get("/c1/apis/apps/v1/namespaces/default/deployments?labelSelector=app%3Dother")
        .await;
    assert_eq!((code, list["items"].as_array().unwrap().len()), (200, 0));

    let (code, _) = s
        .call(reqwest::Method::DELETE, WEB, Some("tok"), None)
        .await;
    assert_eq!(code, 200);
    let (code, status) = s.get(WEB).await;
    assert_eq!(code, 404);
    assert_eq!(status["reason"], "NotFound");
    assert_eq!(status["message"], "deployments.apps \"web\" not found");
}

#[tokio::test]
async fn apply_needs_a_field_manager_and_post_conflicts() {
    let apis = KubeApis::new(None);
    apis.register_cluster("c1", "tok");
    let s = serve(&apis).await;
    let body = Some(("application/apply-patch+yaml", deployment(1, "nginx")));
    let (code, _) = s.call(reqwest::Method::PATCH, WEB, Some("tok"), body).await;
    assert_eq!(code, 400);

    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1"}});
    let path = "/c1/api/v1/namespaces/default/configmaps";
    let post = |b: Value| {
        s.call(
            reqwest::Method::POST,
            path,
            Some("tok"),
            Some(("application/json", b)),
        )
    };
    assert_eq!(post(cm.clone()).await.0, 201);
    let (code, status) = post(cm).await;
    assert_eq!(
        (code, status["reason"].as_str()),
        (409, Some("AlreadyExists"))
    );
}

#[tokio::test]
async fn objects_survive_a_restart_and_admin_changes_are_seen() {
    let tmp = tempfile::tempdir().unwrap();
    let apis = KubeApis::new(Some(tmp.path().to_path_buf()));
    apis.register_cluster("c1", "tok");
    let s = serve(&apis).await;
    assert_eq!(s.apply(WEB, "", deployment(2, "nginx")).await.0, 201);

    let reloaded = KubeApis::new(Some(tmp.path().to_path_buf()));
    let inventory = reloaded.inventory();
    let web = inventory
        .iter()
        .find(|o| o["kind"] == "Deployment")
        .expect("the deployment was saved");
    assert_eq!(web["cluster"], "c1");
    assert_eq!(web["spec"]["replicas"], 2);

    reloaded
        .set_field(
            "c1",
            "deployment",
            Some("default"),
            "web",
            "spec.replicas",
            json!(7),
        )
        .unwrap();
    let s2 = serve(&reloaded).await;
    assert_eq!(s2.get(WEB).await.1["spec"]["replicas"], 7);
    // The next forced apply takes the field back.
    assert_eq!(
        s2.apply(WEB, "", deployment(2, "nginx")).await.1["spec"]["replicas"],
        2
    );

    let e = reloaded
        .set_field(
            "c1",
            "widget",
            Some("default"),
            "web",
            "spec.replicas",
            json!(1),
        )
        .unwrap_err();
    assert!(e.contains("widget"), "{e}");
    reloaded
        .delete_object("c1", "Deployment", Some("default"), "web")
        .unwrap();
    assert_eq!(s2.get(WEB).await.0, 404);
    assert!(reloaded
        .delete_object("c1", "Deployment", Some("default"), "web")
        .unwrap_err()
        .contains("not found"));
}

#[tokio::test]
async fn a_journal_of_changes_survives_restarts_compaction_and_a_torn_last_line() {
    let tmp = tempfile::tempdir().unwrap();
    let apis = KubeApis::new(Some(tmp.path().to_path_buf()));
    apis.register_cluster("c1", "tok");
    let s = serve(&apis).await;
    let cm = |i: usize, v: &str| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": format!("cm-{i}"), "namespace": "default"},
               "data": {"v": v}})
    };
    let path = |i: usize| format!("/c1/api/v1/namespaces/default/configmaps/cm-{i}");
    // More changes than the journal holds before the snapshot is rewritten.
    for i in 0..1100 {
        assert_eq!(s.apply(&path(i), "", cm(i, "one")).await.0, 201);
    }
    assert_eq!(s.apply(&path(7), "", cm(7, "two")).await.0, 200);
    let (code, _) = s
        .call(reqwest::Method::DELETE, &path(8), Some("tok"), None)
        .await;
    assert_eq!(code, 200);

    // A crash in the middle of appending leaves half a line: it is ignored.
    let dir = tmp.path().join("kubernetes");
    let journal = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".journal"))
        .expect("changes since the last snapshot are journaled");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap();
    std::io::Write::write_all(&mut f, b"{\"put\":{\"group\":\"\",\"plu").unwrap();

    let reloaded = KubeApis::new(Some(tmp.path().to_path_buf()));
    let configmaps: Vec<Value> = reloaded
        .inventory()
        .into_iter()
        .filter(|o| o["kind"] == "ConfigMap")
        .collect();
    assert_eq!(configmaps.len(), 1099);
    let seven = configmaps
        .iter()
        .find(|o| o["metadata"]["name"] == "cm-7")
        .unwrap();
    assert_eq!(seven["data"]["v"], "two");
    assert!(!configmaps.iter().any(|o| o["metadata"]["name"] == "cm-8"));
    // Resource versions keep growing across the restart.
    let s2 = serve(&reloaded).await;
    let (_, created) = s2.apply(&path(2000), "", cm(2000, "new")).await;
    let rv = |o: &Value| {
        o["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    assert!(rv(&created) > rv(seven), "{created}");
}
