//! Schemas: what a provider's configuration, resource types and data sources look like.
//!
//! A resource's configuration is a block: attributes (`name = "x"`) and nested blocks
//! (`node_pool { ... }`). In a [`Value`], a nested block with [`Nesting::Single`] is a map and one
//! with [`Nesting::List`] is a list of maps, as in Terraform's state.

use crate::value::{Path, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything a provider declares about itself.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProviderSchema {
    /// The `provider "NAME" { ... }` block.
    pub provider: BlockSchema,
    pub resources: BTreeMap<String, ResourceSchema>,
    pub data_sources: BTreeMap<String, ResourceSchema>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ResourceSchema {
    /// Bumped when the stored shape of the resource changes.
    pub version: u32,
    pub description: String,
    pub block: BlockSchema,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BlockSchema {
    pub attributes: BTreeMap<String, Attribute>,
    pub blocks: BTreeMap<String, NestedBlock>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// Must be set in configuration.
    Required,
    /// May be set in configuration; absent means null.
    Optional,
    /// Set only by the provider.
    Computed,
    /// May be set; when absent the provider chooses and reports it.
    OptionalComputed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attribute {
    #[serde(rename = "type")]
    pub ty: Type,
    pub presence: Presence,
    /// Changing it cannot be done in place: the resource is replaced.
    #[serde(default)]
    pub force_new: bool,
    /// Never shown in output.
    #[serde(default)]
    pub sensitive: bool,
    #[serde(default)]
    pub description: String,
    /// A file or folder path: the engine resolves a relative value against the stack's folder
    /// before the provider sees it, so `path = "k8s/backend"` means the same from any directory.
    #[serde(default)]
    pub file_path: bool,
}

impl Attribute {
    pub fn new(ty: Type, presence: Presence) -> Attribute {
        Attribute {
            ty,
            presence,
            force_new: false,
            sensitive: false,
            description: String::new(),
            file_path: false,
        }
    }
    pub fn required(ty: Type) -> Attribute {
        Attribute::new(ty, Presence::Required)
    }
    pub fn optional(ty: Type) -> Attribute {
        Attribute::new(ty, Presence::Optional)
    }
    pub fn computed(ty: Type) -> Attribute {
        Attribute::new(ty, Presence::Computed)
    }
    pub fn optional_computed(ty: Type) -> Attribute {
        Attribute::new(ty, Presence::OptionalComputed)
    }
    pub fn force_new(mut self) -> Attribute {
        self.force_new = true;
        self
    }
    pub fn sensitive(mut self) -> Attribute {
        self.sensitive = true;
        self
    }
    pub fn file_path(mut self) -> Attribute {
        self.file_path = true;
        self
    }
    pub fn describe(mut self, d: impl Into<String>) -> Attribute {
        self.description = d.into();
        self
    }
    pub fn is_computed(&self) -> bool {
        matches!(
            self.presence,
            Presence::Computed | Presence::OptionalComputed
        )
    }
    pub fn settable(&self) -> bool {
        self.presence != Presence::Computed
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Nesting {
    /// At most one block; a map in values.
    Single,
    /// Any number of blocks; a list of maps in values.
    List,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NestedBlock {
    pub nesting: Nesting,
    #[serde(default)]
    pub min_items: usize,
    #[serde(default)]
    pub max_items: Option<usize>,
    /// Adding or removing the block itself forces replacement.
    #[serde(default)]
    pub force_new: bool,
    pub block: BlockSchema,
}

/// Attribute types. `Any` accepts every value (used for free-form documents such as manifests).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Type {
    String,
    Number,
    Bool,
    List(Box<Type>),
    Map(Box<Type>),
    Any,
}

impl Type {
    pub fn list(of: Type) -> Type {
        Type::List(Box::new(of))
    }
    pub fn map(of: Type) -> Type {
        Type::Map(Box::new(of))
    }

    /// Converts `v` to this type the way HCL does (numbers and bools to strings and back;
    /// sets and tuples to lists), keeping unknown and sensitive marks. Errors say what was found.
    pub fn convert(&self, v: &Value) -> Result<Value, String> {
        match v {
            Value::Unknown | Value::Null => return Ok(v.clone()),
            Value::Sensitive(inner) => return self.convert(inner).map(Value::sensitive),
            _ => {}
        }
        let mismatch = || format!("expected {}, found {}", self.describe(), v.type_name());
        match (self, v) {
            (Type::Any, _) => Ok(v.clone()),
            (Type::String, Value::String(_)) => Ok(v.clone()),
            (Type::String, Value::Number(n)) => Ok(Value::String(crate::value::format_number(*n))),
            (Type::String, Value::Bool(b)) => Ok(Value::String(b.to_string())),
            (Type::Number, Value::Number(_)) => Ok(v.clone()),
            (Type::Number, Value::String(s)) => s
                .trim()
                .parse::<f64>()
                .map(Value::Number)
                .map_err(|_| mismatch()),
            (Type::Bool, Value::Bool(_)) => Ok(v.clone()),
            (Type::Bool, Value::String(s)) if s == "true" || s == "false" => {
                Ok(Value::Bool(s == "true"))
            }
            (Type::List(of), Value::List(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    out.push(of.convert(item).map_err(|e| format!("element {i}: {e}"))?);
                }
                Ok(Value::List(out))
            }
            (Type::Map(of), Value::Map(m)) => {
                let mut out = BTreeMap::new();
                for (k, item) in m {
                    out.insert(
                        k.clone(),
                        of.convert(item).map_err(|e| format!("key {k:?}: {e}"))?,
                    );
                }
                Ok(Value::Map(out))
            }
            _ => Err(mismatch()),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Type::String => "string".into(),
            Type::Number => "number".into(),
            Type::Bool => "bool".into(),
            Type::List(of) => format!("list of {}", of.describe()),
            Type::Map(of) => format!("map of {}", of.describe()),
            Type::Any => "any value".into(),
        }
    }
}

impl BlockSchema {
    pub fn attr(mut self, name: &str, a: Attribute) -> BlockSchema {
        self.attributes.insert(name.to_string(), a);
        self
    }

    pub fn block(mut self, name: &str, b: NestedBlock) -> BlockSchema {
        self.blocks.insert(name.to_string(), b);
        self
    }

    /// Looks up the attribute schema at `path` (list indexes are skipped through nested blocks).
    pub fn attribute_at(&self, path: &Path) -> Option<&Attribute> {
        use crate::value::PathStep;
        let mut block = self;
        let mut steps = path.0.iter().peekable();
        while let Some(step) = steps.next() {
            let PathStep::Key(k) = step else { return None };
            if let Some(a) = block.attributes.get(k) {
                return Some(a);
            }
            let nb = block.blocks.get(k)?;
            if nb.nesting == Nesting::List {
                if let Some(PathStep::Index(_)) = steps.peek() {
                    steps.next();
                }
            }
            block = &nb.block;
        }
        None
    }

    /// Paths of every sensitive attribute present in `v`.
    pub fn sensitive_paths(&self, v: &Value) -> Vec<Path> {
        let mut out = Vec::new();
        self.collect_sensitive(v, &Path::root(), &mut out);
        out
    }

    fn collect_sensitive(&self, v: &Value, at: &Path, out: &mut Vec<Path>) {
        let Some(m) = v.as_map() else { return };
        for (name, a) in &self.attributes {
            if a.sensitive && m.contains_key(name) {
                out.push(at.key(name));
            }
        }
        for (name, nb) in &self.blocks {
            match (nb.nesting, m.get(name)) {
                (Nesting::Single, Some(inner)) => {
                    nb.block.collect_sensitive(inner, &at.key(name), out)
                }
                (Nesting::List, Some(Value::List(items))) => {
                    for (i, item) in items.iter().enumerate() {
                        nb.block
                            .collect_sensitive(item, &at.key(name).index(i), out)
                    }
                }
                _ => {}
            }
        }
    }

    /// Marks every attribute the schema declares sensitive.
    pub fn mark_sensitive(&self, v: Value) -> Value {
        let paths = self.sensitive_paths(&v);
        v.mark(&paths)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster() -> BlockSchema {
        BlockSchema::default()
            .attr("name", Attribute::required(Type::String))
            .attr("kubeconfig", Attribute::computed(Type::String).sensitive())
            .block(
                "node_pool",
                NestedBlock {
                    nesting: Nesting::List,
                    min_items: 1,
                    max_items: None,
                    force_new: false,
                    block: BlockSchema::default()
                        .attr("size", Attribute::required(Type::String).force_new()),
                },
            )
    }

    #[test]
    fn attribute_lookup_goes_through_list_blocks() {
        let s = cluster();
        let p = Path::root().key("node_pool").index(0).key("size");
        assert!(s.attribute_at(&p).unwrap().force_new);
        assert!(s.attribute_at(&Path::root().key("nope")).is_none());
    }

    #[test]
    fn conversion_follows_hcl_rules() {
        assert_eq!(
            Type::String.convert(&Value::Number(3.0)).unwrap(),
            Value::from("3")
        );
        assert_eq!(
            Type::Number.convert(&Value::from("2.5")).unwrap(),
            Value::Number(2.5)
        );
        assert!(Type::Number
            .convert(&Value::from("abc"))
            .unwrap_err()
            .contains("expected number"));
        assert!(Type::Bool.convert(&Value::from("x").sensitive()).is_err());
        assert!(Type::String
            .convert(&Value::Number(1.0).sensitive())
            .unwrap()
            .is_sensitive());
    }

    #[test]
    fn schema_marks_sensitive_attributes() {
        let v = Value::map([
            ("name", Value::from("a")),
            ("kubeconfig", Value::from("secret")),
        ]);
        let marked = cluster().mark_sensitive(v);
        assert!(marked.get("kubeconfig").unwrap().is_sensitive());
        assert!(!marked.get("name").unwrap().is_sensitive());
    }
}
