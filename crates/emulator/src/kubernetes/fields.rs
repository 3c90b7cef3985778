//! Field ownership for server-side apply, in a reduced form of the API server's `managedFields`.
//!
//! A manager owns a set of *leaf paths*: map keys down to a scalar, a list or an empty map.
//! Lists are owned whole (the real server merges some lists by key; atomic lists are enough for
//! manifests applied by one tool). Ownership is what lets an apply that drops a field remove it
//! from the object, while fields set by other managers stay.
//!
//! The sets are kept in the object's `metadata.managedFields` in the real `FieldsV1` encoding
//! (`{"f:spec": {"f:replicas": {}}}`), so clients see the usual shape and persistence needs
//! nothing extra.

use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

/// One path of map keys from the object's root.
pub(crate) type FieldPath = Vec<String>;

/// The fields one manager owns.
pub(crate) type FieldSet = BTreeSet<FieldPath>;

/// Fields nobody owns: identity and what the server maintains.
fn untracked(path: &[String]) -> bool {
    match path {
        [top] => matches!(top.as_str(), "apiVersion" | "kind" | "status" | "metadata"),
        [m, field] if m == "metadata" => matches!(
            field.as_str(),
            "name"
                | "namespace"
                | "uid"
                | "resourceVersion"
                | "generation"
                | "creationTimestamp"
                | "managedFields"
                | "selfLink"
                | "deletionTimestamp"
        ),
        _ => false,
    }
}

/// The leaf paths of `object` that a manager sending it would own.
pub(crate) fn field_set(object: &Value) -> FieldSet {
    let mut out = FieldSet::new();
    collect(object, &mut Vec::new(), &mut out);
    out
}

fn collect(v: &Value, at: &mut FieldPath, out: &mut FieldSet) {
    match v {
        Value::Object(m) if !m.is_empty() || at.is_empty() => {
            for (k, child) in m {
                at.push(k.clone());
                let is_top_container = at.len() == 1 && k == "metadata";
                if is_top_container || !untracked(at) {
                    collect(child, at, out);
                }
                at.pop();
            }
        }
        _ => {
            if !untracked(at) {
                out.insert(at.clone());
            }
        }
    }
}

/// True if one path is the other or lies below it: owning one touches the other.
pub(crate) fn overlaps(a: &[String], b: &[String]) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// The value at `path`, if every step exists.
pub(crate) fn get<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, k| cur.as_object()?.get(k))
}

/// Removes the value at `path`, then every map on the way up that the removal left empty and
/// that `keep` does not name (an empty map someone applied on purpose stays).
pub(crate) fn remove(v: &mut Value, path: &[String], keep: &dyn Fn(&[String]) -> bool) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let Some(parent) = get_mut(v, parents).and_then(Value::as_object_mut) else {
        return;
    };
    parent.remove(last);
    for depth in (0..parents.len()).rev() {
        let here = &parents[..=depth];
        let empty = get(v, here)
            .and_then(Value::as_object)
            .is_some_and(Map::is_empty);
        if !empty || keep(here) || here == ["metadata"] {
            break;
        }
        if let Some(m) = get_mut(v, &parents[..depth]).and_then(Value::as_object_mut) {
            m.remove(&parents[depth]);
        }
    }
}

fn get_mut<'a>(v: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    path.iter()
        .try_fold(v, |cur, k| cur.as_object_mut()?.get_mut(k))
}

/// Merges `applied` into `live`: maps key by key, anything else replaced.
pub(crate) fn merge(live: &mut Value, applied: &Value) {
    match (live, applied) {
        (Value::Object(l), Value::Object(a)) => {
            for (k, av) in a {
                match l.get_mut(k) {
                    Some(lv) if lv.is_object() && av.is_object() => merge(lv, av),
                    _ => {
                        l.insert(k.clone(), av.clone());
                    }
                }
            }
        }
        (l, a) => *l = a.clone(),
    }
}

/// RFC 7386 JSON merge patch: `null` removes a key.
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let t = target.as_object_mut().expect("made an object above");
    for (k, pv) in p {
        if pv.is_null() {
            t.remove(k);
        } else {
            merge_patch(t.entry(k.clone()).or_insert(Value::Null), pv);
        }
    }
}

/// One entry of `metadata.managedFields`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Managed {
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    pub api_version: String,
    pub time: String,
    pub fields: FieldSet,
}

impl Managed {
    pub fn to_json(&self) -> Value {
        json!({
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": encode(&self.fields),
        })
    }

    pub fn from_json(v: &Value) -> Option<Managed> {
        Some(Managed {
            manager: v["manager"].as_str()?.to_string(),
            operation: v["operation"].as_str().unwrap_or("Update").to_string(),
            api_version: v["apiVersion"].as_str().unwrap_or_default().to_string(),
            time: v["time"].as_str().unwrap_or_default().to_string(),
            fields: decode(&v["fieldsV1"]),
        })
    }
}

/// Reads `metadata.managedFields` of an object (entries it cannot read are dropped).
pub(crate) fn read_managed(object: &Value) -> Vec<Managed> {
    object["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Managed::from_json)
        .collect()
}

/// Writes `metadata.managedFields`, leaving out managers that own nothing.
pub(crate) fn write_managed(object: &mut Value, managed: &[Managed]) {
    let entries: Vec<Value> = managed
        .iter()
        .filter(|m| !m.fields.is_empty())
        .map(Managed::to_json)
        .collect();
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        if entries.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), Value::Array(entries));
        }
    }
}

fn encode(fields: &FieldSet) -> Value {
    let mut root = Value::Object(Map::new());
    for path in fields {
        let mut cur = &mut root;
        for k in path {
            cur = cur
                .as_object_mut()
                .expect("encoded nodes are objects")
                .entry(format!("f:{k}"))
                .or_insert_with(|| Value::Object(Map::new()));
        }
        // A leaf owned whole is marked with ".", as the real encoding does for maps.
        if let Some(m) = cur.as_object_mut() {
            m.insert(".".into(), Value::Object(Map::new()));
        }
    }
    root
}

fn decode(v: &Value) -> FieldSet {
    let mut out = FieldSet::new();
    decode_into(v, &mut Vec::new(), &mut out);
    out
}

fn decode_into(v: &Value, at: &mut FieldPath, out: &mut FieldSet) {
    let Some(m) = v.as_object() else { return };
    let has_children = m.keys().any(|k| k.starts_with("f:"));
    if !at.is_empty() && (m.contains_key(".") || !has_children) {
        out.insert(at.clone());
    }
    for (k, child) in m {
        if let Some(name) = k.strip_prefix("f:") {
            at.push(name.to_string());
            decode_into(child, at, out);
            at.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> FieldPath {
        s.split('.').map(str::to_string).collect()
    }

    #[test]
    fn leaf_paths_skip_identity_and_server_fields() {
        let obj = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}, "annotations": {}},
            "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "c"}]}}},
            "status": {"replicas": 1}
        });
        let set = field_set(&obj);
        let expected: FieldSet = [
            "metadata.labels.app",
            "metadata.annotations",
            "spec.replicas",
            "spec.template.spec.containers",
        ]
        .into_iter()
        .map(p)
        .collect();
        assert_eq!(set, expected);
    }

    #[test]
    fn managed_fields_round_trip_through_the_fields_v1_encoding() {
        let fields: FieldSet = ["spec.replicas", "spec.selector", "metadata.labels.app"]
            .into_iter()
            .map(p)
            .collect();
        let m = Managed {
            manager: "strata".into(),
            operation: "Apply".into(),
            api_version: "apps/v1".into(),
            time: "2024-01-01T00:00:00Z".into(),
            fields,
        };
        assert_eq!(Managed::from_json(&m.to_json()), Some(m));
    }

    #[test]
    fn removing_a_field_prunes_maps_it_emptied() {
        let mut obj =
            json!({"metadata": {"name": "x"}, "data": {"a": "1"}, "spec": {"x": {"y": 1}, "z": 2}});
        remove(&mut obj, &p("data.a"), &|_| false);
        remove(&mut obj, &p("spec.x.y"), &|_| false);
        assert_eq!(obj, json!({"metadata": {"name": "x"}, "spec": {"z": 2}}));
    }

    #[test]
    fn merge_patch_removes_nulls_and_merges_maps() {
        let mut obj = json!({"a": {"b": 1, "c": 2}, "d": [1]});
        merge_patch(&mut obj, &json!({"a": {"b": null, "e": 3}, "d": [2]}));
        assert_eq!(obj, json!({"a": {"c": 2, "e": 3}, "d": [2]}));
    }
}
