//! The proposed new value of a resource: configuration merged with prior computed values.

use std::collections::BTreeMap;
use strata_core::schema::{BlockSchema, Nesting, Presence};
use strata_core::{Path, PathStep, Value};

/// `lifecycle { ignore_changes = ... }`: attributes whose differences from state are not acted on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum IgnoreChanges {
    #[default]
    None,
    /// `ignore_changes = all`: every configurable attribute keeps its prior value.
    All,
    Paths(Vec<Path>),
}

impl IgnoreChanges {
    /// Returns `value` with the ignored parts put back to what `prior` holds. Computed-only
    /// attributes are left alone even for `All`: they belong to the provider, not the user.
    pub(crate) fn apply(&self, schema: &BlockSchema, prior: &Value, mut value: Value) -> Value {
        match self {
            IgnoreChanges::None => value,
            IgnoreChanges::All => {
                let Value::Map(out) = &mut value else {
                    return value;
                };
                let names = schema
                    .attributes
                    .iter()
                    .filter(|(_, a)| a.settable())
                    .map(|(n, _)| n)
                    .chain(schema.blocks.keys());
                for name in names {
                    out.insert(name.clone(), prior.get(name).unwrap_or(Value::Null));
                }
                value
            }
            IgnoreChanges::Paths(paths) => {
                for p in paths {
                    match prior.get_path(p) {
                        Some(v) => {
                            value.set_path(p, v.clone());
                        }
                        None => remove_path(&mut value, p),
                    }
                }
                value
            }
        }
    }
}

/// Removes a map entry at `path` (a key the prior value does not have stays absent).
fn remove_path(value: &mut Value, path: &Path) {
    let Some((PathStep::Key(last), parents)) = path.0.split_last() else {
        return;
    };
    let mut cur = value;
    for step in parents {
        if let Value::Sensitive(inner) = cur {
            cur = inner.as_mut();
        }
        cur = match (cur, step) {
            (Value::Map(m), PathStep::Key(k)) => match m.get_mut(k) {
                Some(v) => v,
                None => return,
            },
            (Value::List(l), PathStep::Index(i)) => match l.get_mut(*i) {
                Some(v) => v,
                None => return,
            },
            _ => return,
        };
    }
    if let Value::Sensitive(inner) = cur {
        cur = inner.as_mut();
    }
    if let Value::Map(m) = cur {
        m.remove(last);
    }
}

/// The proposed new value of a resource, from its normalized configuration and its prior value:
///
/// - settable attributes (required, optional) come from `config`;
/// - computed attributes (and optional-computed ones left `null` in configuration) keep the
///   prior value when there is one, and are unknown on create;
/// - `id` is always computed, whether or not the schema declares it;
/// - paths in `ignore` keep their prior value (no effect on create).
///
/// Nested list blocks are matched to prior blocks by position, as in Terraform.
pub fn propose(
    schema: &BlockSchema,
    prior: Option<&Value>,
    config: &Value,
    ignore: &IgnoreChanges,
) -> Value {
    let mut v = propose_block(schema, prior, config);
    if let Value::Map(m) = &mut v {
        if !schema.attributes.contains_key("id") {
            let id = match prior {
                Some(p) => p.get("id").unwrap_or(Value::Null),
                None => Value::Unknown,
            };
            m.insert("id".into(), id);
        }
    }
    match prior {
        Some(p) => ignore.apply(schema, p, v),
        None => v,
    }
}

fn propose_block(schema: &BlockSchema, prior: Option<&Value>, config: &Value) -> Value {
    match config {
        Value::Unknown => return Value::Unknown,
        Value::Sensitive(inner) => return propose_block(schema, prior, inner).sensitive(),
        _ => {}
    }
    // A prior that is not a block (null, or a shape from another schema version) is no prior.
    let prior = prior.filter(|p| p.as_map().is_some());
    let mut out = BTreeMap::new();
    for (name, attr) in &schema.attributes {
        let configured = config.get(name).unwrap_or(Value::Null);
        let from_prior = || match prior {
            Some(p) => p.get(name).unwrap_or(Value::Null),
            None => Value::Unknown,
        };
        let v = match attr.presence {
            Presence::Required | Presence::Optional => configured,
            Presence::Computed => from_prior(),
            Presence::OptionalComputed if configured.is_null() => from_prior(),
            Presence::OptionalComputed => configured,
        };
        out.insert(name.clone(), v);
    }
    for (name, nested) in &schema.blocks {
        let configured = config.get(name).unwrap_or(Value::Null);
        let prior_nested = prior.and_then(|p| p.get(name));
        let v = match (nested.nesting, configured.unwrap_sensitive()) {
            (_, Value::Unknown) => Value::Unknown,
            (Nesting::Single, Value::Null) => Value::Null,
            (Nesting::Single, _) => {
                propose_block(&nested.block, prior_nested.as_ref(), &configured)
            }
            (Nesting::List, Value::List(items)) => {
                let list = Value::List(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| {
                            let p = prior_nested
                                .as_ref()
                                .and_then(|p| p.as_list()?.get(i).cloned());
                            propose_block(&nested.block, p.as_ref(), item)
                        })
                        .collect(),
                );
                if configured.is_sensitive() {
                    list.sensitive()
                } else {
                    list
                }
            }
            (Nesting::List, _) => Value::List(Vec::new()),
        };
        out.insert(name.clone(), v);
    }
    Value::Map(out)
}

/// The value of a resource as it would be planned for a create: `id` and computed attributes
/// unknown, everything else as planned. Used when a change forces a replacement.
pub(crate) fn as_created(schema: &BlockSchema, planned: &Value) -> Value {
    let mut v = as_created_block(schema, planned);
    if let Value::Map(m) = &mut v {
        if !schema.attributes.contains_key("id") {
            m.insert("id".into(), Value::Unknown);
        }
    }
    v
}

fn as_created_block(schema: &BlockSchema, planned: &Value) -> Value {
    match planned {
        Value::Sensitive(inner) => as_created_block(schema, inner).sensitive(),
        Value::Map(m) => {
            let mut out = m.clone();
            for (name, attr) in &schema.attributes {
                if attr.presence == Presence::Computed {
                    out.insert(name.clone(), Value::Unknown);
                }
            }
            for (name, nested) in &schema.blocks {
                if let Some(v) = m.get(name) {
                    let v = match (nested.nesting, v) {
                        (Nesting::List, Value::List(items)) => Value::List(
                            items
                                .iter()
                                .map(|i| as_created_block(&nested.block, i))
                                .collect(),
                        ),
                        (_, v) => as_created_block(&nested.block, v),
                    };
                    out.insert(name.clone(), v);
                }
            }
            Value::Map(out)
        }
        other => other.clone(),
    }
}
