//! Checking an evaluated resource configuration against its schema.

use std::collections::BTreeMap;
use std::fmt;
use strata_core::schema::{BlockSchema, NestedBlock, Nesting, Presence};
use strata_core::{Path, Value};

/// Names the configuration language gives meaning to on every resource. They are skipped when
/// the schema does not declare them, so a caller that passes the whole evaluated body does not
/// trip over its own meta-arguments.
const META_ARGUMENTS: &[&str] = &["count", "for_each", "depends_on", "provider", "lifecycle"];

/// One problem with a resource's configuration, at an attribute path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    pub path: Path,
    pub message: String,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_root() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for SchemaError {}

/// Checks `config` (an evaluated body, where every nested block arrives as a list of maps)
/// against `schema` and returns it in its stable shape:
///
/// - attribute values converted to their declared types (`"3"` → `3` for a number);
/// - [`Nesting::Single`] blocks as a map (or `null` when absent), list blocks as a list;
/// - every schema attribute present, `null` when not configured.
///
/// Every problem found is returned, not just the first, so that one run reports them all.
/// Unknown values pass through: they are checked again once known.
pub fn normalize(schema: &BlockSchema, config: &Value) -> Result<Value, Vec<SchemaError>> {
    let mut errors = Vec::new();
    let v = normalize_block(schema, config, &Path::root(), &mut errors);
    if errors.is_empty() {
        Ok(v)
    } else {
        Err(errors)
    }
}

fn normalize_block(
    schema: &BlockSchema,
    config: &Value,
    at: &Path,
    errors: &mut Vec<SchemaError>,
) -> Value {
    if let Value::Sensitive(inner) = config {
        return normalize_block(schema, inner, at, errors).sensitive();
    }
    let empty = BTreeMap::new();
    let given = match config {
        Value::Map(m) => m,
        Value::Null => &empty,
        Value::Unknown => return Value::Unknown,
        other => {
            errors.push(SchemaError {
                path: at.clone(),
                message: format!("expected a block, found {}", other.type_name()),
            });
            return Value::Null;
        }
    };

    let mut out = BTreeMap::new();
    for (name, value) in given {
        if schema.attributes.contains_key(name) || schema.blocks.contains_key(name) {
            continue;
        }
        if at.is_root() && META_ARGUMENTS.contains(&name.as_str()) {
            continue;
        }
        errors.push(SchemaError {
            path: at.key(name.as_str()),
            message: unsupported(schema, name, value),
        });
    }

    for (name, attr) in &schema.attributes {
        let path = at.key(name.as_str());
        let value = given.get(name).unwrap_or(&Value::Null);
        if attr.presence == Presence::Computed && !value.is_null() {
            errors.push(SchemaError {
                path,
                message: format!("{name:?} is set by the provider and cannot be configured"),
            });
            out.insert(name.clone(), Value::Null);
            continue;
        }
        if attr.presence == Presence::Required && value.is_null() {
            errors.push(SchemaError {
                path,
                message: format!("the required attribute {name:?} is not set"),
            });
            out.insert(name.clone(), Value::Null);
            continue;
        }
        match attr.ty.convert(value) {
            Ok(v) => {
                out.insert(name.clone(), v);
            }
            Err(e) => {
                errors.push(SchemaError {
                    path,
                    message: format!("invalid value for {name:?}: {e}"),
                });
                out.insert(name.clone(), Value::Null);
            }
        }
    }

    for (name, nested) in &schema.blocks {
        let value = given.get(name).unwrap_or(&Value::Null);
        let v = normalize_nested(name, nested, value, &at.key(name.as_str()), errors);
        out.insert(name.clone(), v);
    }
    Value::Map(out)
}

fn normalize_nested(
    name: &str,
    nested: &NestedBlock,
    value: &Value,
    at: &Path,
    errors: &mut Vec<SchemaError>,
) -> Value {
    // A dynamic block over a collection that is not known yet.
    if value.is_unknown() {
        return value.clone();
    }
    let items: Vec<&Value> = match value.unwrap_sensitive() {
        Value::Null => Vec::new(),
        Value::List(items) => items.iter().collect(),
        // Already normalized (a single block as a map): accept it as one block.
        Value::Map(_) => vec![value],
        other => {
            errors.push(SchemaError {
                path: at.clone(),
                message: format!(
                    "{name:?} must be a block, not an attribute of type {}",
                    other.type_name()
                ),
            });
            return Value::Null;
        }
    };
    let count = items.len();
    if count < nested.min_items {
        let message = if nested.min_items == 1 {
            format!("a {name:?} block is required")
        } else {
            format!(
                "at least {} {name:?} blocks are required, found {count}",
                nested.min_items
            )
        };
        errors.push(SchemaError {
            path: at.clone(),
            message,
        });
    }
    let max = match nested.nesting {
        Nesting::Single => Some(nested.max_items.unwrap_or(1).min(1)),
        Nesting::List => nested.max_items,
    };
    if let Some(max) = max.filter(|m| count > *m) {
        let message = if max == 1 {
            format!("only one {name:?} block is allowed, found {count}")
        } else {
            format!("at most {max} {name:?} blocks are allowed, found {count}")
        };
        errors.push(SchemaError {
            path: at.clone(),
            message,
        });
    }
    match nested.nesting {
        Nesting::Single => match items.first() {
            Some(item) => normalize_block(&nested.block, item, at, errors),
            None => Value::Null,
        },
        Nesting::List => Value::List(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| normalize_block(&nested.block, item, &at.index(i), errors))
                .collect(),
        ),
    }
}

/// The message for a name the schema does not know, with the nearest valid name if one is close.
fn unsupported(schema: &BlockSchema, name: &str, value: &Value) -> String {
    let what = if value
        .as_list()
        .is_some_and(|l| l.iter().all(|v| v.as_map().is_some()))
        && !value.as_list().is_some_and(Vec::is_empty)
    {
        "block type"
    } else {
        "attribute"
    };
    let nearest = schema
        .attributes
        .keys()
        .chain(schema.blocks.keys())
        .map(|k| (edit_distance(name, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min();
    match nearest {
        Some((_, k)) => format!("unsupported {what} {name:?}; did you mean {k:?}?"),
        None if schema.attributes.is_empty() && schema.blocks.is_empty() => {
            format!("unsupported {what} {name:?}; this block takes no arguments")
        }
        None => {
            let valid: Vec<&str> = schema
                .attributes
                .keys()
                .chain(schema.blocks.keys())
                .map(String::as_str)
                .collect();
            format!(
                "unsupported {what} {name:?}; expected one of: {}",
                valid.join(", ")
            )
        }
    }
}

/// Levenshtein distance, for "did you mean" hints on short identifiers.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
