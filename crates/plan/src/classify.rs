//! Deciding what to do with one resource: create, nothing, update in place, or replace.

use crate::compare::changed_paths;
use crate::model::{Action, ResourceChange};
use crate::propose::{as_created, IgnoreChanges};
use std::collections::BTreeMap;
use strata_core::schema::{BlockSchema, Nesting};
use strata_core::{Path, PathStep, Value};

/// The `lifecycle { ... }` meta-block of a resource.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lifecycle {
    /// Refuse any plan that would delete or replace the resource.
    pub prevent_destroy: bool,
    /// On replace, create the new object before deleting the old one.
    pub create_before_destroy: bool,
    pub ignore_changes: IgnoreChanges,
}

/// The outcome of [`classify`].
#[derive(Debug, Clone, PartialEq)]
pub struct Classified {
    pub action: Action,
    /// Leaf paths whose values differ between prior and planned (unknown counts as differing).
    pub changed: Vec<Path>,
    /// The force-new attributes (or blocks) that changed, which is why the action is `Replace`.
    pub replace_because: Vec<Path>,
    /// The planned value; for `Replace`, recomputed as for a create (computed attributes
    /// unknown), since the new object will get new ones.
    pub planned: Value,
}

/// Compares the planned value of a resource with its prior value and decides the action.
///
/// - no prior: `Create`;
/// - nothing differs: `NoOp` (sensitive marks are ignored, `3` equals `3.0`);
/// - a changed path lies under a force-new attribute, a force-new nested block was added or
///   removed, or the provider listed the path in `extra_replace`: `Replace`;
/// - otherwise `Update`.
///
/// Attribute values are converted to their schema types before comparison, so a prior `"3"`
/// stored for a number attribute equals a configured `3`. The lifecycle's `ignore_changes` is
/// enforced once more here, after the provider's plan, so that a provider cannot reintroduce a
/// difference the user asked to ignore.
pub fn classify(
    schema: &BlockSchema,
    prior: Option<&Value>,
    planned: &Value,
    extra_replace: &[Path],
    lifecycle: &Lifecycle,
) -> Classified {
    let Some(prior) = prior else {
        let changed = changed_paths(&Value::Null, planned);
        return Classified {
            action: Action::Create,
            changed,
            replace_because: Vec::new(),
            planned: planned.clone(),
        };
    };
    let planned = lifecycle
        .ignore_changes
        .apply(schema, prior, planned.clone());
    let (plain_prior, _) = conform(schema, prior).unmark();
    let (plain_planned, _) = conform(schema, &planned).unmark();
    let changed = changed_paths(&plain_prior, &plain_planned);
    if changed.is_empty() {
        return Classified {
            action: Action::NoOp,
            changed,
            replace_because: Vec::new(),
            planned,
        };
    }

    let mut replace_because: Vec<Path> = Vec::new();
    for p in &changed {
        if let Some(reason) = forces_replacement(schema, p, &plain_prior, &plain_planned) {
            replace_because.push(reason);
        }
    }
    for extra in extra_replace {
        if changed
            .iter()
            .any(|c| c.starts_with(extra) || extra.starts_with(c))
        {
            replace_because.push(extra.clone());
        }
    }
    replace_because.sort();
    replace_because.dedup();

    if replace_because.is_empty() {
        Classified {
            action: Action::Update,
            changed,
            replace_because,
            planned,
        }
    } else {
        Classified {
            action: Action::Replace,
            changed,
            replace_because,
            planned: as_created(schema, &planned),
        }
    }
}

/// If the change at leaf `path` forces replacement, the path to name as the reason: the
/// force-new attribute it lies under, or the force-new block that was added or removed.
fn forces_replacement(
    schema: &BlockSchema,
    path: &Path,
    prior: &Value,
    planned: &Value,
) -> Option<Path> {
    let mut block = schema;
    let mut at = Path::root();
    let mut steps = path.0.iter().peekable();
    while let Some(step) = steps.next() {
        let PathStep::Key(name) = step else {
            return None;
        };
        at = at.key(name.as_str());
        if let Some(attr) = block.attributes.get(name) {
            return attr.force_new.then_some(at);
        }
        let nested = block.blocks.get(name)?;
        let mut element = at.clone();
        if nested.nesting == Nesting::List {
            if let Some(PathStep::Index(i)) = steps.peek() {
                element = at.index(*i);
                steps.next();
            }
        }
        // The block (or this element of it) exists on one side only: it is added or removed.
        let before = prior.get_path(&element).is_some_and(|v| !v.is_null());
        let after = planned.get_path(&element).is_some_and(|v| !v.is_null());
        if nested.force_new && before != after {
            return Some(element);
        }
        at = element;
        block = &nested.block;
    }
    None
}

/// A copy of `v` with attribute values converted to their schema types where possible.
fn conform(schema: &BlockSchema, v: &Value) -> Value {
    match v {
        Value::Sensitive(inner) => conform(schema, inner).sensitive(),
        Value::Map(m) => {
            let mut out: BTreeMap<String, Value> = m.clone();
            for (name, attr) in &schema.attributes {
                if let Some(x) = m.get(name) {
                    if let Ok(c) = attr.ty.convert(x) {
                        out.insert(name.clone(), c);
                    }
                }
            }
            for (name, nested) in &schema.blocks {
                if let Some(x) = m.get(name) {
                    let c = match (nested.nesting, x) {
                        (Nesting::List, Value::List(items)) => {
                            Value::List(items.iter().map(|i| conform(&nested.block, i)).collect())
                        }
                        (_, x) => conform(&nested.block, x),
                    };
                    out.insert(name.clone(), c);
                }
            }
            Value::Map(out)
        }
        other => other.clone(),
    }
}

/// Refuses a change that would delete or replace a resource with `prevent_destroy` set.
/// The message names the resource and, for a replace, the attributes that force it.
pub fn check_prevent_destroy(change: &ResourceChange, lifecycle: &Lifecycle) -> Result<(), String> {
    if !lifecycle.prevent_destroy {
        return Ok(());
    }
    match change.action {
        Action::Delete => Err(format!(
            "{} has lifecycle.prevent_destroy set, but the plan would destroy it",
            change.address
        )),
        Action::Replace => {
            let because = if change.replace_because.is_empty() {
                String::new()
            } else {
                let names: Vec<String> =
                    change.replace_because.iter().map(Path::to_string).collect();
                format!(" (a change to {} forces replacement)", names.join(", "))
            };
            Err(format!(
                "{} has lifecycle.prevent_destroy set, but the plan would replace it{because}",
                change.address
            ))
        }
        _ => Ok(()),
    }
}
