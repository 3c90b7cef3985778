//! The resource types an emulated cluster serves: the built-in kinds a platform's manifests use,
//! plus the kinds that registered CustomResourceDefinitions add.

use serde_json::Value;

/// One served resource type: what discovery lists and what a URL's `{plural}` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResourceType {
    /// Empty for the core group (`/api/v1`).
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
}

impl ResourceType {
    /// `v1` for the core group, `group/version` otherwise.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The name used in error messages: `deployments.apps`, or `configmaps`.
    pub fn qualified_plural(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// True if `name` designates this type: its kind, plural, singular or a short name, in any
    /// case, optionally qualified by the group (`deployments.apps`).
    pub fn answers_to(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        let (base, group) = match name.split_once('.') {
            Some((b, g)) => (b.to_string(), Some(g.to_string())),
            None => (name.clone(), None),
        };
        if group.is_some_and(|g| g != self.group) {
            return false;
        }
        base == self.kind.to_ascii_lowercase()
            || base == self.plural
            || base == self.singular
            || self.short_names.contains(&base)
    }

    /// Kinds whose `status` reports a rollout that converges over time.
    pub fn rolls_out(&self) -> bool {
        self.group == "apps" && matches!(self.kind.as_str(), "Deployment" | "StatefulSet")
    }
}

/// (group, version, kind, plural, namespaced, short names)
type Builtin = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    &'static [&'static str],
);

const BUILTIN: &[Builtin] = &[
    ("", "v1", "Namespace", "namespaces", false, &["ns"]),
    ("", "v1", "ConfigMap", "configmaps", true, &["cm"]),
    ("", "v1", "Secret", "secrets", true, &[]),
    ("", "v1", "ServiceAccount", "serviceaccounts", true, &["sa"]),
    ("", "v1", "Service", "services", true, &["svc"]),
    ("", "v1", "Endpoints", "endpoints", true, &["ep"]),
    (
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
        &["pvc"],
    ),
    (
        "",
        "v1",
        "PersistentVolume",
        "persistentvolumes",
        false,
        &["pv"],
    ),
    ("", "v1", "Pod", "pods", true, &["po"]),
    ("", "v1", "LimitRange", "limitranges", true, &["limits"]),
    (
        "",
        "v1",
        "ResourceQuota",
        "resourcequotas",
        true,
        &["quota"],
    ),
    ("apps", "v1", "Deployment", "deployments", true, &["deploy"]),
    ("apps", "v1", "StatefulSet", "statefulsets", true, &["sts"]),
    ("apps", "v1", "DaemonSet", "daemonsets", true, &["ds"]),
    ("apps", "v1", "ReplicaSet", "replicasets", true, &["rs"]),
    ("batch", "v1", "Job", "jobs", true, &[]),
    ("batch", "v1", "CronJob", "cronjobs", true, &["cj"]),
    (
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        true,
        &["hpa"],
    ),
    (
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
        &["pdb"],
    ),
    (
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        true,
        &["ing"],
    ),
    (
        "networking.k8s.io",
        "v1",
        "IngressClass",
        "ingressclasses",
        false,
        &[],
    ),
    (
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
        &["netpol"],
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        "roles",
        true,
        &[],
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        true,
        &[],
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        false,
        &[],
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
        &[],
    ),
    (
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
        &["crd", "crds"],
    ),
    (
        "storage.k8s.io",
        "v1",
        "StorageClass",
        "storageclasses",
        false,
        &["sc"],
    ),
    (
        "scheduling.k8s.io",
        "v1",
        "PriorityClass",
        "priorityclasses",
        false,
        &["pc"],
    ),
];

/// The types every emulated cluster serves.
pub(crate) fn builtin() -> Vec<ResourceType> {
    BUILTIN
        .iter()
        .map(
            |(group, version, kind, plural, namespaced, short)| ResourceType {
                group: group.to_string(),
                version: version.to_string(),
                kind: kind.to_string(),
                plural: plural.to_string(),
                singular: kind.to_ascii_lowercase(),
                namespaced: *namespaced,
                short_names: short.iter().map(|s| s.to_string()).collect(),
            },
        )
        .collect()
}

/// The types a CustomResourceDefinition adds: one per served version. A definition that lacks
/// the fields a real API server requires adds nothing.
pub(crate) fn from_crd(crd: &Value) -> Vec<ResourceType> {
    let spec = &crd["spec"];
    let names = &spec["names"];
    let (Some(group), Some(kind), Some(plural)) = (
        spec["group"].as_str(),
        names["kind"].as_str(),
        names["plural"].as_str(),
    ) else {
        return Vec::new();
    };
    let singular = names["singular"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| kind.to_ascii_lowercase());
    let short_names: Vec<String> = names["shortNames"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let namespaced = spec["scope"].as_str() != Some("Cluster");
    spec["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["served"].as_bool().unwrap_or(true))
        .filter_map(|v| v["name"].as_str())
        .map(|version| ResourceType {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
            plural: plural.to_string(),
            singular: singular.clone(),
            namespaced,
            short_names: short_names.clone(),
        })
        .collect()
}

/// The verbs every served type supports, as discovery lists them.
pub(crate) const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn types_answer_to_kind_plural_and_short_names() {
        let all = builtin();
        let deploy = all.iter().find(|t| t.kind == "Deployment").unwrap();
        for name in ["Deployment", "deployments", "deploy", "deployments.apps"] {
            assert!(deploy.answers_to(name), "{name}");
        }
        assert!(!deploy.answers_to("deployments.extensions"));
        assert_eq!(deploy.api_version(), "apps/v1");
        let ns = all.iter().find(|t| t.kind == "Namespace").unwrap();
        assert!(!ns.namespaced && ns.api_version() == "v1");
    }

    #[test]
    fn a_crd_adds_one_type_per_served_version() {
        let crd = json!({"spec": {
            "group": "example.com", "scope": "Cluster",
            "names": {"kind": "Widget", "plural": "widgets"},
            "versions": [{"name": "v1", "served": true}, {"name": "v0", "served": false}]
        }});
        let types = from_crd(&crd);
        assert_eq!(types.len(), 1);
        assert_eq!(types[0].api_version(), "example.com/v1");
        assert!(!types[0].namespaced);
        assert!(from_crd(&json!({"spec": {}})).is_empty());
    }
}
