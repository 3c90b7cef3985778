//! Collection functions: most of them look only at the shape of a collection, so unknown or
//! sensitive elements pass through them.

use std::collections::BTreeMap;
use strata_core::Value;

use super::{between, exactly, integer, list, map, string, Ctx};

type R = Result<Value, String>;

pub(super) fn length(_: &Ctx, args: Vec<Value>) -> R {
    let [v] = exactly::<1>(args)?;
    let n = match &v {
        Value::List(l) => l.len(),
        Value::Map(m) => m.len(),
        Value::String(s) => s.chars().count(),
        other => return Err(format!("cannot take the length of a {}", other.type_name())),
    };
    Ok(Value::Number(n as f64))
}

pub(super) fn keys(_: &Ctx, args: Vec<Value>) -> R {
    let [m] = exactly::<1>(args)?;
    let m = map(m, "the argument")?;
    Ok(Value::List(m.into_keys().map(Value::String).collect()))
}

pub(super) fn values(_: &Ctx, args: Vec<Value>) -> R {
    let [m] = exactly::<1>(args)?;
    let m = map(m, "the argument")?;
    Ok(Value::List(m.into_values().collect()))
}

pub(super) fn merge(_: &Ctx, args: Vec<Value>) -> R {
    let mut out = BTreeMap::new();
    for (i, a) in args.into_iter().enumerate() {
        if a.is_null() {
            continue;
        }
        out.extend(map(a, &format!("argument {}", i + 1))?);
    }
    Ok(Value::Map(out))
}

pub(super) fn concat(_: &Ctx, args: Vec<Value>) -> R {
    let mut out = Vec::new();
    for (i, a) in args.into_iter().enumerate() {
        if a.is_unknown() {
            return Ok(Value::Unknown);
        }
        out.extend(list(a, &format!("argument {}", i + 1))?);
    }
    Ok(Value::List(out))
}

pub(super) fn lookup(_: &Ctx, args: Vec<Value>) -> R {
    between(&args, 2, 3)?;
    let mut args = args.into_iter();
    let m = map(args.next().unwrap_or_default(), "the first argument")?;
    let key = string(&args.next().unwrap_or_default(), "the key")?;
    match (m.get(&key), args.next()) {
        (Some(v), _) => Ok(v.clone()),
        (None, Some(default)) => Ok(default),
        (None, None) => Err(format!(
            "the key {key:?} is not in the map and no default was given"
        )),
    }
}

pub(super) fn element(_: &Ctx, args: Vec<Value>) -> R {
    let [l, i] = exactly::<2>(args)?;
    let l = list(l, "the first argument")?;
    let i = integer(&i, "the index")?;
    if l.is_empty() {
        return Err("cannot use element on an empty list".into());
    }
    if i < 0 {
        return Err("the index must not be negative".into());
    }
    Ok(l[(i as usize) % l.len()].clone())
}

pub(super) fn coalesce(_: &Ctx, args: Vec<Value>) -> R {
    for a in args {
        match a.unwrap_sensitive() {
            Value::Unknown => return Ok(Value::Unknown),
            Value::Null => {}
            Value::String(s) if s.is_empty() => {}
            _ => return Ok(a),
        }
    }
    Err("no non-null, non-empty-string arguments".into())
}

pub(super) fn flatten(_: &Ctx, args: Vec<Value>) -> R {
    let [l] = exactly::<1>(args)?;
    let mut out = Vec::new();
    if !flatten_into(list(l, "the argument")?, false, &mut out) {
        return Ok(Value::Unknown);
    }
    Ok(Value::List(out))
}

/// Returns false when a nested list is unknown (its length, and so the result, is unknown).
fn flatten_into(items: Vec<Value>, sensitive: bool, out: &mut Vec<Value>) -> bool {
    for item in items {
        match item {
            Value::Unknown => return false,
            Value::List(inner) => {
                if !flatten_into(inner, sensitive, out) {
                    return false;
                }
            }
            Value::Sensitive(inner) if matches!(*inner, Value::List(_) | Value::Unknown) => {
                if let Value::List(l) = *inner {
                    if !flatten_into(l, true, out) {
                        return false;
                    }
                } else {
                    return false;
                }
            }
            v if sensitive => out.push(v.sensitive()),
            v => out.push(v),
        }
    }
    true
}

pub(super) fn contains(_: &Ctx, args: Vec<Value>) -> R {
    let [l, v] = exactly::<2>(args)?;
    Ok(Value::Bool(list(l, "the first argument")?.contains(&v)))
}

pub(super) fn distinct(_: &Ctx, args: Vec<Value>) -> R {
    let [l] = exactly::<1>(args)?;
    let mut out: Vec<Value> = Vec::new();
    for v in list(l, "the argument")? {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Ok(Value::List(out))
}

pub(super) fn compact(_: &Ctx, args: Vec<Value>) -> R {
    let [l] = exactly::<1>(args)?;
    Ok(Value::List(
        list(l, "the argument")?
            .into_iter()
            .filter(|v| !v.is_null() && v.as_str() != Some(""))
            .collect(),
    ))
}

pub(super) fn reverse(_: &Ctx, args: Vec<Value>) -> R {
    let [l] = exactly::<1>(args)?;
    let mut l = list(l, "the argument")?;
    l.reverse();
    Ok(Value::List(l))
}

pub(super) fn tolist(_: &Ctx, args: Vec<Value>) -> R {
    let [l] = exactly::<1>(args)?;
    match l {
        Value::Null => Ok(Value::Null),
        l => Ok(Value::List(list(l, "the argument")?)),
    }
}

/// A set is kept as a list without duplicates; strings are sorted, as HCL orders sets.
pub(super) fn toset(_: &Ctx, args: Vec<Value>) -> R {
    let [l] = exactly::<1>(args)?;
    let mut out: Vec<Value> = Vec::new();
    for v in list(l, "the argument")? {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    if out.iter().all(|v| matches!(v, Value::String(_))) {
        out.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    }
    Ok(Value::List(out))
}

pub(super) fn tomap(_: &Ctx, args: Vec<Value>) -> R {
    let [m] = exactly::<1>(args)?;
    match m {
        Value::Null => Ok(Value::Null),
        m => Ok(Value::Map(map(m, "the argument")?)),
    }
}

pub(super) fn zipmap(_: &Ctx, args: Vec<Value>) -> R {
    let [k, v] = exactly::<2>(args)?;
    let (k, v) = (list(k, "the keys")?, list(v, "the values")?);
    if k.len() != v.len() {
        return Err(format!("there are {} keys but {} values", k.len(), v.len()));
    }
    let mut out = BTreeMap::new();
    let mut sensitive = false;
    for (key, value) in k.into_iter().zip(v) {
        if key.is_unknown() {
            return Ok(Value::Unknown);
        }
        sensitive |= key.is_sensitive();
        out.insert(string(&key, "a key")?, value);
    }
    let out = Value::Map(out);
    Ok(if sensitive { out.sensitive() } else { out })
}
