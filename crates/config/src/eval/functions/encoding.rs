//! Encoding functions: JSON, YAML, base64.

use base64::Engine as _;
use strata_core::Value;

use super::{exactly, string, Ctx};

type R = Result<Value, String>;

pub(super) fn jsonencode(_: &Ctx, args: Vec<Value>) -> R {
    let [v] = exactly::<1>(args)?;
    serde_json::to_string(&v.to_json())
        .map(Value::String)
        .map_err(|e| e.to_string())
}

pub(super) fn jsondecode(_: &Ctx, args: Vec<Value>) -> R {
    let [s] = exactly::<1>(args)?;
    let s = string(&s, "the argument")?;
    serde_json::from_str::<serde_json::Value>(&s)
        .map(|j| Value::from_json(&j))
        .map_err(|e| format!("invalid JSON: {e}"))
}

pub(super) fn yamlencode(_: &Ctx, args: Vec<Value>) -> R {
    let [v] = exactly::<1>(args)?;
    serde_yaml::to_string(&v.to_json())
        .map(Value::String)
        .map_err(|e| e.to_string())
}

pub(super) fn yamldecode(_: &Ctx, args: Vec<Value>) -> R {
    let [s] = exactly::<1>(args)?;
    let s = string(&s, "the argument")?;
    if s.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_yaml::from_str::<serde_json::Value>(&s)
        .map(|j| Value::from_json(&j))
        .map_err(|e| format!("invalid YAML: {e}"))
}

pub(super) fn base64encode(_: &Ctx, args: Vec<Value>) -> R {
    let [s] = exactly::<1>(args)?;
    let s = string(&s, "the argument")?;
    Ok(Value::String(
        base64::engine::general_purpose::STANDARD.encode(s),
    ))
}

pub(super) fn base64decode(_: &Ctx, args: Vec<Value>) -> R {
    let [s] = exactly::<1>(args)?;
    let s = string(&s, "the argument")?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|e| format!("invalid base64: {e}"))?;
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| "the decoded bytes are not valid UTF-8".into())
}
