//! The values an expression can see while a stack is walked.
//!
//! One [`StackValues`] per stack walk holds variables, dependency outputs, and the values of locals
//! and resources as the walk produces them: planned values (possibly unknown) while planning, real
//! values while applying. [`InstanceScope`] adds `each` and `count` for one resource instance.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use strata_config::Scope;
use strata_core::{InstanceKey, Mode, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Expansion {
    Single,
    Count,
    ForEach,
}

/// A resource block: `(mode, type, name)`.
pub type BlockKey = (Mode, String, String);

/// How a block expands and the value of each of its instances.
pub type BlockValues = (Expansion, BTreeMap<Option<InstanceKey>, Value>);

#[derive(Default)]
pub struct StackValues {
    pub env: String,
    pub stack_dir: PathBuf,
    pub root: PathBuf,
    pub variables: BTreeMap<String, Value>,
    pub dependencies: BTreeMap<String, Value>,
    pub locals: HashMap<String, Value>,
    /// Per resource block: how it expands and the value of each instance.
    pub resources: HashMap<BlockKey, BlockValues>,
    /// Blocks whose expansion is not known yet (count or for_each over an unknown value).
    pub unknown_expansion: HashMap<BlockKey, ()>,
}

impl StackValues {
    pub fn set_instance(
        &mut self,
        mode: Mode,
        type_name: &str,
        name: &str,
        expansion: Expansion,
        key: Option<InstanceKey>,
        v: Value,
    ) {
        let entry = self
            .resources
            .entry((mode, type_name.to_string(), name.to_string()))
            .or_insert_with(|| (expansion, BTreeMap::new()));
        entry.0 = expansion;
        entry.1.insert(key, v);
    }

    pub fn clear_block(&mut self, mode: Mode, type_name: &str, name: &str, expansion: Expansion) {
        self.resources.insert(
            (mode, type_name.to_string(), name.to_string()),
            (expansion, BTreeMap::new()),
        );
    }

    fn resource_value(&self, mode: Mode, type_name: &str, name: &str) -> Option<Value> {
        let key = (mode, type_name.to_string(), name.to_string());
        if self.unknown_expansion.contains_key(&key) {
            return Some(Value::Unknown);
        }
        let (expansion, instances) = self.resources.get(&key)?;
        Some(match expansion {
            Expansion::Single => instances.get(&None).cloned().unwrap_or(Value::Null),
            Expansion::Count => Value::List(instances.values().cloned().collect()),
            Expansion::ForEach => Value::Map(
                instances
                    .iter()
                    .filter_map(|(k, v)| match k {
                        Some(InstanceKey::Str(s)) => Some((s.clone(), v.clone())),
                        Some(InstanceKey::Int(i)) => Some((i.to_string(), v.clone())),
                        None => None,
                    })
                    .collect(),
            ),
        })
    }
}

/// The scope of one expression: the stack's values plus `each`/`count` of an instance.
pub struct InstanceScope<'a> {
    pub values: &'a StackValues,
    pub each: Option<(Value, Value)>,
    pub count_index: Option<i64>,
}

impl<'a> InstanceScope<'a> {
    pub fn new(values: &'a StackValues) -> InstanceScope<'a> {
        InstanceScope {
            values,
            each: None,
            count_index: None,
        }
    }
}

impl Scope for InstanceScope<'_> {
    fn variable(&self, name: &str) -> Option<Value> {
        self.values.variables.get(name).cloned()
    }

    fn local(&self, name: &str) -> Option<Value> {
        self.values.locals.get(name).cloned()
    }

    fn resource(&self, mode: Mode, type_name: &str, name: &str) -> Option<Value> {
        self.values.resource_value(mode, type_name, name)
    }

    fn dependency_outputs(&self, name: &str) -> Option<Value> {
        self.values.dependencies.get(name).cloned()
    }

    fn each(&self) -> Option<(Value, Value)> {
        self.each.clone()
    }

    fn count_index(&self) -> Option<i64> {
        self.count_index
    }

    fn env(&self) -> &str {
        &self.values.env
    }

    fn stack_dir(&self) -> &Path {
        &self.values.stack_dir
    }

    fn project_root(&self) -> &Path {
        &self.values.root
    }
}
