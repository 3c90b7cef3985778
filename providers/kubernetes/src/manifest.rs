//! Manifests as documents: identity, apply order, folder reading, digests, and the views of
//! a live object that state keeps.
//!
//! Nothing here talks to a cluster, so every rule is testable on plain JSON.

use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::{Path, PathBuf};

/// Why a manifest or a folder of them cannot be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ManifestError {
    #[error("cannot read {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{path}: document {index} is not valid YAML: {message}")]
    Yaml {
        path: PathBuf,
        index: usize,
        message: String,
    },
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
}

/// Where a Kubernetes object lives: `apiVersion/kind/namespace/name`, the namespace empty for
/// cluster-scoped kinds (`v1/Namespace//shop`, `apps/v1/Deployment/shop/backend`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.api_version,
            self.kind,
            self.namespace.as_deref().unwrap_or(""),
            self.name
        )
    }
}

impl ObjectId {
    /// Parses the form [`Display`](fmt::Display) writes (the api version may hold a `/`).
    pub fn parse(s: &str) -> Option<ObjectId> {
        let mut parts = s.rsplitn(4, '/');
        let name = parts.next().filter(|n| !n.is_empty())?;
        let namespace = parts.next()?;
        let kind = parts.next().filter(|k| !k.is_empty())?;
        let api_version = parts.next().filter(|a| !a.is_empty())?;
        Some(ObjectId {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            namespace: (!namespace.is_empty()).then(|| namespace.to_string()),
            name: name.to_string(),
        })
    }

    /// `Deployment shop/backend`, or `Namespace shop`: how messages name an object.
    pub fn describe(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }

    /// `(group, version)` of the api version; the core group is empty.
    pub fn group_version(&self) -> (&str, &str) {
        match self.api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", self.api_version.as_str()),
        }
    }
}

/// Kinds that are cluster-scoped in every Kubernetes version, so that a manifest's identity is
/// known without asking the cluster.
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "Node",
    "PersistentVolume",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "StorageClass",
    "PriorityClass",
    "IngressClass",
    "RuntimeClass",
    "CSIDriver",
    "APIService",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
];

/// True if `kind` is one of the well-known cluster-scoped kinds.
pub fn known_cluster_scoped(kind: &str) -> bool {
    CLUSTER_SCOPED.contains(&kind)
}

/// A manifest's string field, or an error naming it.
fn required_str<'a>(doc: &'a Value, path: &[&str], origin: &str) -> Result<&'a str, ManifestError> {
    let mut cur = doc;
    for k in path {
        cur = &cur[*k];
    }
    cur.as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ManifestError::Invalid {
            origin: origin.to_string(),
            message: format!("{} must be a non-empty string", path.join(".")),
        })
}

/// The identity of a manifest. `namespaced` says whether its kind is namespaced; a namespaced
/// object without `metadata.namespace` goes to `default_namespace`.
pub fn identity(
    doc: &Value,
    namespaced: bool,
    default_namespace: &str,
    origin: &str,
) -> Result<ObjectId, ManifestError> {
    if !doc.is_object() {
        return Err(ManifestError::Invalid {
            origin: origin.to_string(),
            message: "a manifest must be a map with apiVersion, kind and metadata".into(),
        });
    }
    let api_version = required_str(doc, &["apiVersion"], origin)?;
    let kind = required_str(doc, &["kind"], origin)?;
    let name = required_str(doc, &["metadata", "name"], origin)?;
    let namespace = namespaced.then(|| {
        doc["metadata"]["namespace"]
            .as_str()
            .filter(|s| !s.is_empty())
            .unwrap_or(default_namespace)
            .to_string()
    });
    Ok(ObjectId {
        api_version: api_version.to_string(),
        kind: kind.to_string(),
        namespace,
        name: name.to_string(),
    })
}

/// Where a kind goes in the apply order: what others depend on first (namespaces, CRDs,
/// identities and RBAC, configuration, storage), then workloads, then what points at them.
/// Deletion runs in the reverse order.
pub fn apply_rank(kind: &str) -> u8 {
    match kind {
        "Namespace" => 0,
        "CustomResourceDefinition" => 1,
        "ServiceAccount" | "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding" => 2,
        "ConfigMap" | "Secret" => 3,
        "PersistentVolume" | "PersistentVolumeClaim" | "StorageClass" => 4,
        "Deployment" | "StatefulSet" | "DaemonSet" | "Job" | "CronJob" | "ReplicaSet" | "Pod" => 5,
        "Service" => 6,
        "Ingress" | "IngressClass" => 7,
        "HorizontalPodAutoscaler" | "PodDisruptionBudget" | "NetworkPolicy" => 8,
        _ => 9,
    }
}

/// A document of a folder, with where it came from for error messages.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub origin: String,
    pub body: Value,
}

/// Every document of every `*.yaml`/`*.yml` file directly in `dir`, files in name order,
/// documents in file order. Empty documents are skipped; a `kind: List` contributes its items.
pub fn read_folder(dir: &Path) -> Result<Vec<Document>, ManifestError> {
    let read_err = |path: &Path, e: std::io::Error| ManifestError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| read_err(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
        })
        .collect();
    files.sort();
    let mut docs = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|e| read_err(&file, e))?;
        docs.extend(parse_documents(&file, &text)?);
    }
    Ok(docs)
}

/// The YAML documents of one file.
pub fn parse_documents(file: &Path, text: &str) -> Result<Vec<Document>, ManifestError> {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.display().to_string());
    let mut out = Vec::new();
    for (i, de) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let index = i + 1;
        let yaml_err = |message: String| ManifestError::Yaml {
            path: file.to_path_buf(),
            index,
            message,
        };
        let yaml = serde_yaml::Value::deserialize(de).map_err(|e| yaml_err(e.to_string()))?;
        if yaml.is_null() {
            continue;
        }
        let body: Value = serde_json::to_value(&yaml).map_err(|e| yaml_err(e.to_string()))?;
        let origin = format!("{name} (document {index})");
        if body["kind"] == "List" && body["items"].is_array() {
            for (j, item) in body["items"].as_array().into_iter().flatten().enumerate() {
                out.push(Document {
                    origin: format!("{origin}, item {}", j + 1),
                    body: item.clone(),
                });
            }
        } else {
            out.push(Document { origin, body });
        }
    }
    Ok(out)
}

/// `v` with every map's keys in sorted order, so that equal documents hash equally whatever
/// order their keys were written in.
fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), canonical(&m[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// `sha256:<hex>` of the documents' canonical JSON, in order.
pub fn digest<'a>(docs: impl IntoIterator<Item = &'a Value>) -> String {
    let mut hasher = Sha256::new();
    for doc in docs {
        hasher.update(canonical(doc).to_string().as_bytes());
        hasher.update(b"\n");
    }
    let hash = hasher.finalize();
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The live object seen through the shape of `shape` (a manifest): for every field the
/// manifest sets, the live value; fields the server added are left out, fields the manifest
/// sets and the live object lacks are absent. Lists are matched by position.
///
/// `stringData` of a Secret is write-only (the server stores it in `data`), so the
/// manifest's own value is kept.
pub fn project(live: &Value, shape: &Value) -> Value {
    project_at(live, shape, 0)
}

fn project_at(live: &Value, shape: &Value, depth: usize) -> Value {
    match (live, shape) {
        (Value::Object(l), Value::Object(s)) => {
            let mut out = Map::new();
            for (k, sv) in s {
                if depth == 0 && k == "stringData" {
                    out.insert(k.clone(), sv.clone());
                    continue;
                }
                if let Some(lv) = l.get(k) {
                    out.insert(k.clone(), project_at(lv, sv, depth + 1));
                }
            }
            Value::Object(out)
        }
        (Value::Array(l), Value::Array(s)) => Value::Array(
            l.iter()
                .enumerate()
                .map(|(i, lv)| match s.get(i) {
                    Some(sv) => project_at(lv, sv, depth + 1),
                    None => lv.clone(),
                })
                .collect(),
        ),
        (l, _) => l.clone(),
    }
}

/// The live object without what changes on every write or belongs to controllers (status,
/// resource version, managed fields), so that it only differs when its content does.
pub fn clean(live: &Value) -> Value {
    let mut v = live.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("status");
    }
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in [
            "managedFields",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "uid",
            "selfLink",
        ] {
            meta.remove(k);
        }
        if let Some(Value::Object(a)) = meta.get_mut("annotations") {
            a.remove("kubectl.kubernetes.io/last-applied-configuration");
            if a.is_empty() {
                meta.remove("annotations");
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_round_trip_with_and_without_namespace_and_group() {
        for s in [
            "apps/v1/Deployment/shop/backend",
            "v1/Namespace//shop",
            "v1/ConfigMap/default/cfg",
        ] {
            assert_eq!(ObjectId::parse(s).unwrap().to_string(), s);
        }
        let id = ObjectId::parse("apps/v1/Deployment/shop/backend").unwrap();
        assert_eq!(id.group_version(), ("apps", "v1"));
        assert_eq!(id.describe(), "Deployment shop/backend");
        assert!(ObjectId::parse("v1/Namespace//").is_none());
        assert!(ObjectId::parse("nonsense").is_none());
    }

    #[test]
    fn identity_defaults_the_namespace_and_names_missing_fields() {
        let doc = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}});
        let id = identity(&doc, true, "default", "x.yaml").unwrap();
        assert_eq!(id.to_string(), "v1/ConfigMap/default/cfg");
        let e = identity(
            &json!({"apiVersion": "v1", "kind": "ConfigMap"}),
            true,
            "default",
            "x.yaml (document 2)",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "x.yaml (document 2): metadata.name must be a non-empty string"
        );
    }

    #[test]
    fn folders_are_read_in_file_order_and_lists_are_expanded() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("b.yml"), "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: b1}}\n").unwrap();
        std::fs::write(tmp.path().join("a.yaml"), "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a2}\n").unwrap();
        std::fs::write(tmp.path().join("notes.txt"), "ignored").unwrap();
        let docs = read_folder(tmp.path()).unwrap();
        let names: Vec<&str> = docs
            .iter()
            .map(|d| d.body["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["a", "a2", "b1"]);
        assert_eq!(docs[1].origin, "a.yaml (document 3)");

        std::fs::write(tmp.path().join("c.yaml"), "kind: [unclosed").unwrap();
        let e = read_folder(tmp.path()).unwrap_err();
        assert!(
            e.to_string()
                .contains("c.yaml: document 1 is not valid YAML"),
            "{e}"
        );
        assert!(read_folder(&tmp.path().join("missing")).is_err());
    }

    #[test]
    fn digests_ignore_key_order_but_not_values() {
        let a = json!({"kind": "ConfigMap", "data": {"x": "1", "y": "2"}});
        let b = json!({"data": {"y": "2", "x": "1"}, "kind": "ConfigMap"});
        let c = json!({"kind": "ConfigMap", "data": {"x": "1", "y": "3"}});
        assert_eq!(digest([&a]), digest([&b]));
        assert_ne!(digest([&a]), digest([&c]));
        assert!(digest([&a]).starts_with("sha256:"));
    }

    #[test]
    fn projection_keeps_only_the_manifest_fields() {
        let live = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "uid": "u", "labels": {"app": "web"}},
            "spec": {"replicas": 5, "template": {"spec": {"containers": [{"name": "c", "image": "x", "imagePullPolicy": "Always"}]}}},
            "status": {"readyReplicas": 5}
        });
        let manifest = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web", "tier": "front"}},
            "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}}
        });
        let seen = project(&live, &manifest);
        assert_eq!(
            seen,
            json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "labels": {"app": "web"}},
                "spec": {"replicas": 5, "template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}}
            })
        );
        let cleaned = clean(&live);
        assert!(cleaned.get("status").is_none() && cleaned["metadata"].get("uid").is_none());
    }

    #[test]
    fn namespaces_come_first_and_policies_last() {
        let mut kinds = [
            "HorizontalPodAutoscaler",
            "Service",
            "Deployment",
            "Namespace",
            "Widget",
            "ConfigMap",
        ];
        kinds.sort_by_key(|k| apply_rank(k));
        assert_eq!(
            kinds,
            [
                "Namespace",
                "ConfigMap",
                "Deployment",
                "Service",
                "HorizontalPodAutoscaler",
                "Widget"
            ]
        );
    }
}
