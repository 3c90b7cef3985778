//! Value comparison for diffs.
//!
//! Plans compare what state holds with what configuration asks for. Those two values travel
//! different roads (JSON in state, HCL evaluation in configuration), so comparison is semantic:
//! sensitive marks are ignored (a secret that did not change is not a change), numbers compare
//! by value (`3` and `3.0` are equal), a missing map key equals `null`, and `null` equals an
//! empty list or map (providers commonly report "no tags" as either). An unknown value never
//! equals anything: it may turn out to be different.

use strata_core::{Path, Value};

/// True if `a` and `b` mean the same thing to a cloud API (see the module docs).
pub fn values_equal(a: &Value, b: &Value) -> bool {
    match (a.unwrap_sensitive(), b.unwrap_sensitive()) {
        (Value::Unknown, _) | (_, Value::Unknown) => false,
        (Value::Null, other) | (other, Value::Null) => is_empty(other),
        (Value::Number(x), Value::Number(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_equal(p, q))
        }
        (Value::Map(x), Value::Map(y)) => x.keys().chain(y.keys()).all(|k| {
            values_equal(
                x.get(k).unwrap_or(&Value::Null),
                y.get(k).unwrap_or(&Value::Null),
            )
        }),
        (x, y) => x == y,
    }
}

/// True for `null` and for an empty list or map.
fn is_empty(v: &Value) -> bool {
    match v.unwrap_sensitive() {
        Value::Null => true,
        Value::List(l) => l.is_empty(),
        Value::Map(m) => m.is_empty(),
        _ => false,
    }
}

/// The leaf paths at which `before` and `after` differ, in order.
///
/// Maps and lists are descended into, so a changed tag is reported as `tags["env"]` and a
/// changed nested block attribute as `node_pool[0].size`. A value that becomes unknown is a
/// leaf and always counts as changed.
pub fn changed_paths(before: &Value, after: &Value) -> Vec<Path> {
    let mut out = Vec::new();
    diff_into(before, after, &Path::root(), &mut out);
    out
}

fn diff_into(a: &Value, b: &Value, at: &Path, out: &mut Vec<Path>) {
    if values_equal(a, b) {
        return;
    }
    let (a, b) = (a.unwrap_sensitive(), b.unwrap_sensitive());
    match (a, b) {
        (Value::Map(_), Value::Map(_) | Value::Null) | (Value::Null, Value::Map(_)) => {
            let (x, y) = (a.as_map(), b.as_map());
            let mut keys: Vec<&String> = x.into_iter().chain(y).flat_map(|m| m.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = x.and_then(|m| m.get(k)).unwrap_or(&Value::Null);
                let q = y.and_then(|m| m.get(k)).unwrap_or(&Value::Null);
                diff_into(p, q, &at.key(k.as_str()), out);
            }
        }
        (Value::List(_), Value::List(_) | Value::Null) | (Value::Null, Value::List(_)) => {
            let empty = Vec::new();
            let x = a.as_list().unwrap_or(&empty);
            let y = b.as_list().unwrap_or(&empty);
            for i in 0..x.len().max(y.len()) {
                let p = x.get(i).unwrap_or(&Value::Null);
                let q = y.get(i).unwrap_or(&Value::Null);
                diff_into(p, q, &at.index(i), out);
            }
        }
        _ => out.push(at.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality_is_semantic() {
        assert!(values_equal(&Value::Number(3.0), &Value::from(3i64)));
        assert!(values_equal(
            &Value::from("s").sensitive(),
            &Value::from("s")
        ));
        assert!(values_equal(&Value::Null, &Value::List(vec![])));
        assert!(values_equal(
            &Value::map([("a", Value::Null)]),
            &Value::map::<&str>([])
        ));
        assert!(!values_equal(&Value::Unknown, &Value::Unknown));
        assert!(!values_equal(&Value::from("3"), &Value::Number(3.0)));
    }

    #[test]
    fn changed_paths_reach_leaves() {
        let before = Value::map([
            (
                "tags",
                Value::map([("env", Value::from("a")), ("team", Value::from("x"))]),
            ),
            (
                "pool",
                Value::List(vec![Value::map([("size", Value::from(1i64))])]),
            ),
        ]);
        let after = Value::map([
            (
                "tags",
                Value::map([("env", Value::from("b")), ("team", Value::from("x"))]),
            ),
            (
                "pool",
                Value::List(vec![
                    Value::map([("size", Value::from(1i64))]),
                    Value::map([("size", Value::Unknown)]),
                ]),
            ),
        ]);
        let paths: Vec<String> = changed_paths(&before, &after)
            .iter()
            .map(Path::to_string)
            .collect();
        assert_eq!(paths, vec!["pool[1].size", "tags.env"]);
    }
}
