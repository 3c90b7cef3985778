//! The documented JSON form of a plan (`strata plan --json`, `strata show --json FILE`).
//!
//! Modelled on Terraform's plan JSON so that existing tooling (policy checks, PR bots) adapts
//! with little change. The form is described field by field in `docs/plan-json.md`; a change
//! that removes or renames a field bumps [`JSON_FORMAT_VERSION`]'s major number.

use crate::model::{Action, OutputChange, Plan, ResourceChange};
use serde_json::{json, Map, Value as Json};
use strata_core::{InstanceKey, Mode, Path, PathStep, Value};

/// The `format_version` of the JSON form.
pub const JSON_FORMAT_VERSION: &str = "1.0";

/// The plan as JSON. Sensitive values are never included: they appear as `null`, with `true`
/// at their place in `before_sensitive` / `after_sensitive`.
pub fn to_json(plan: &Plan) -> Json {
    let mut resource_changes = Vec::new();
    let mut output_changes = Vec::new();
    for s in &plan.stacks {
        for c in &s.changes {
            resource_changes.push(resource_change(&s.stack, c));
        }
        for o in s.outputs.iter().filter(|o| o.is_change()) {
            output_changes.push(output_change(&s.stack, o));
        }
    }
    let summary = plan.summary();
    json!({
        "format_version": JSON_FORMAT_VERSION,
        "strata_version": plan.strata_version,
        "project": plan.project,
        "environment": plan.env,
        "destroy": plan.destroy,
        "created_at": plan.created_at,
        "stacks": plan.stacks.iter().map(|s| json!({
            "name": s.stack,
            "state_lineage": s.state_lineage,
            "state_serial": s.state_serial,
            "config_digest": s.config_digest,
        })).collect::<Vec<_>>(),
        "resource_changes": resource_changes,
        "output_changes": output_changes,
        "summary": {
            "add": summary.add,
            "change": summary.change,
            "destroy": summary.destroy,
        },
        "fingerprint": plan.fingerprint(),
    })
}

/// Terraform's action lists: a replace is two actions, in the order they will run.
fn actions(action: Action, create_before_destroy: bool) -> Vec<&'static str> {
    match action {
        Action::NoOp => vec!["no-op"],
        Action::Create => vec!["create"],
        Action::Update => vec!["update"],
        Action::Replace if create_before_destroy => vec!["create", "delete"],
        Action::Replace => vec!["delete", "create"],
        Action::Delete => vec!["delete"],
        Action::Read => vec!["read"],
    }
}

fn resource_change(stack: &str, c: &ResourceChange) -> Json {
    let a = &c.address;
    let index = match &a.key {
        None => Json::Null,
        Some(InstanceKey::Int(i)) => json!(i),
        Some(InstanceKey::Str(s)) => json!(s),
    };
    let mut change = Map::new();
    change.insert(
        "actions".into(),
        json!(actions(c.action, c.create_before_destroy)),
    );
    let (before, _, before_sensitive) = marked(c.before.as_ref(), false);
    let (after, after_unknown, after_sensitive) = marked(c.after.as_ref(), false);
    change.insert("before".into(), before);
    change.insert("after".into(), after);
    change.insert("after_unknown".into(), after_unknown);
    change.insert("before_sensitive".into(), before_sensitive);
    change.insert("after_sensitive".into(), after_sensitive);
    change.insert(
        "replace_paths".into(),
        Json::Array(c.replace_because.iter().map(path_json).collect()),
    );
    json!({
        "address": a.to_string(),
        "stack": stack,
        "mode": match a.mode { Mode::Managed => "managed", Mode::Data => "data" },
        "type": a.type_name,
        "name": a.name,
        "index": index,
        "provider_name": c.provider,
        "change": change,
        "action_reason": c.reason,
    })
}

fn output_change(stack: &str, o: &OutputChange) -> Json {
    let action = match (&o.before, &o.after) {
        (None, _) => Action::Create,
        (_, None) => Action::Delete,
        _ => Action::Update,
    };
    let (before, _, before_sensitive) = marked(o.before.as_ref(), o.sensitive);
    let (after, after_unknown, after_sensitive) = marked(o.after.as_ref(), o.sensitive);
    json!({
        "stack": stack,
        "name": o.name,
        "sensitive": o.sensitive,
        "change": {
            "actions": actions(action, false),
            "before": before,
            "after": after,
            "after_unknown": after_unknown,
            "before_sensitive": before_sensitive,
            "after_sensitive": after_sensitive,
        },
    })
}

/// A path as a JSON array of steps: `node_pool[0].size` → `["node_pool", 0, "size"]`.
fn path_json(p: &Path) -> Json {
    Json::Array(
        p.0.iter()
            .map(|s| match s {
                PathStep::Key(k) => json!(k),
                PathStep::Index(i) => json!(i),
            })
            .collect(),
    )
}

/// The redacted value, its unknown-marks tree and its sensitive-marks tree.
fn marked(v: Option<&Value>, all_sensitive: bool) -> (Json, Json, Json) {
    let Some(v) = v else {
        return (Json::Null, Json::Bool(false), Json::Bool(false));
    };
    let v = if all_sensitive {
        v.clone().sensitive()
    } else {
        v.clone()
    };
    let m = v.to_marked_json(true);
    let (plain, _) = v.unmark();
    let unknown = mark_tree(&plain, &Path::root(), &m.unknown);
    let sensitive = mark_tree(&plain, &Path::root(), &m.sensitive);
    (m.value, unknown, sensitive)
}

/// Terraform's marks shape: `true` where a marked value is, mirrored objects and arrays
/// around it, `false` for unmarked scalars and list elements, `{}` for an unmarked object.
fn mark_tree(v: &Value, at: &Path, marks: &[Path]) -> Json {
    if marks.iter().any(|m| m == at) {
        return Json::Bool(true);
    }
    let below = |p: &Path| marks.iter().any(|m| m.starts_with(p));
    match v {
        Value::Map(m) => Json::Object(
            m.iter()
                .filter_map(|(k, x)| {
                    let p = at.key(k.as_str());
                    below(&p).then(|| (k.clone(), mark_tree(x, &p, marks)))
                })
                .collect(),
        ),
        Value::List(items) => Json::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| mark_tree(x, &at.index(i), marks))
                .collect(),
        ),
        _ => Json::Bool(false),
    }
}
