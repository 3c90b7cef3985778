//! Checking a JSON value's property names against a schema.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::spec::{Node, OpenApi};
use crate::SpecError;

/// How deep `allOf`/`oneOf`/`anyOf` may nest before the schema is taken to loop.
const MAX_COMPOSITION_DEPTH: usize = 64;

/// Which side of an exchange a value travels on; it decides whether `readOnly` or `writeOnly`
/// properties may be left out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Request,
    Response,
}

/// The properties an object schema declares once `$ref`, `allOf`, `oneOf` and `anyOf` are
/// followed.
#[derive(Default)]
struct Shape {
    /// Every declared property with each schema given for it.
    properties: BTreeMap<String, Vec<Node>>,
    /// `additionalProperties` is `true` or a schema somewhere it applies.
    open: bool,
    /// Some part declares `properties` or `additionalProperties: false`.
    declares: bool,
    /// The schema says `type: object`.
    object_typed: bool,
}

impl Shape {
    /// Whether the schema accepts property names it does not declare.
    fn accepts_any(&self) -> bool {
        self.open || !self.declares
    }

    fn absorb(&mut self, other: Shape) {
        for (name, schemas) in other.properties {
            self.properties.entry(name).or_default().extend(schemas);
        }
        self.declares |= other.declares;
    }
}

impl OpenApi {
    fn shape(&self, node: &Node, depth: usize) -> Result<Shape, SpecError> {
        let node = self.resolve(node)?;
        if depth > MAX_COMPOSITION_DEPTH {
            return Err(too_deep(&node));
        }
        let mut shape = Shape {
            object_typed: node.value.get("type").and_then(Value::as_str) == Some("object"),
            ..Shape::default()
        };
        if let Some(properties) = node.value.get("properties").and_then(Value::as_object) {
            shape.declares = true;
            for (name, schema) in properties {
                shape
                    .properties
                    .entry(name.clone())
                    .or_default()
                    .push(Node {
                        file: node.file.clone(),
                        value: schema.clone(),
                    });
            }
        }
        match node.value.get("additionalProperties") {
            Some(Value::Bool(false)) => shape.declares = true,
            Some(Value::Bool(true)) | Some(Value::Object(_)) => shape.open = true,
            _ => {}
        }
        for branch in branches(&node, "allOf") {
            let branch = self.shape(&branch, depth + 1)?;
            shape.open |= branch.open;
            shape.absorb(branch);
        }
        for key in ["oneOf", "anyOf"] {
            for branch in branches(&node, key) {
                let branch = self.shape(&branch, depth + 1)?;
                // A free-form object among the alternatives admits any property.
                shape.open |= branch.open || (branch.object_typed && !branch.declares);
                shape.absorb(branch);
            }
        }
        Ok(shape)
    }

    /// The `required` properties of `node` that `object` lacks. `allOf` branches all apply;
    /// `oneOf`/`anyOf` are satisfied by their least-lacking branch.
    fn missing_required(
        &self,
        node: &Node,
        object: &Map<String, Value>,
        depth: usize,
    ) -> Result<BTreeSet<String>, SpecError> {
        let node = self.resolve(node)?;
        if depth > MAX_COMPOSITION_DEPTH {
            return Err(too_deep(&node));
        }
        let mut missing: BTreeSet<String> = node
            .value
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|name| !object.contains_key(*name))
            .map(str::to_string)
            .collect();
        for branch in branches(&node, "allOf") {
            missing.extend(self.missing_required(&branch, object, depth + 1)?);
        }
        for key in ["oneOf", "anyOf"] {
            let mut best: Option<BTreeSet<String>> = None;
            for branch in branches(&node, key) {
                let lacking = self.missing_required(&branch, object, depth + 1)?;
                if best.as_ref().is_none_or(|b| lacking.len() < b.len()) {
                    best = Some(lacking);
                }
            }
            missing.extend(best.unwrap_or_default());
        }
        Ok(missing)
    }

    /// Whether any of a property's schemas carries `flag: true` (`readOnly` or `writeOnly`).
    fn flagged(&self, schemas: &[Node], flag: &str) -> Result<bool, SpecError> {
        for schema in schemas {
            let schema = self.resolve(schema)?;
            if schema.value.get(flag).and_then(Value::as_bool) == Some(true) {
                return Ok(true);
            }
            for key in ["allOf", "oneOf", "anyOf"] {
                if self.flagged(&branches(&schema, key), flag)? {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// The `items` schemas of the given array schemas, looking through compositions.
    fn items(&self, schemas: &[Node], depth: usize) -> Result<Vec<Node>, SpecError> {
        let mut out = Vec::new();
        for schema in schemas {
            let schema = self.resolve(schema)?;
            if depth > MAX_COMPOSITION_DEPTH {
                return Err(too_deep(&schema));
            }
            out.extend(schema.get("items"));
            for key in ["allOf", "oneOf", "anyOf"] {
                out.extend(self.items(&branches(&schema, key), depth + 1)?);
            }
        }
        Ok(out)
    }

    /// Checks the property names of `value` against `schemas`, taken as alternatives (the value
    /// must fit one of them). Problems are pushed to `problems`, each naming the property by its
    /// location below the checked value (`node_pools[0].size`).
    ///
    /// `levels` limits how many levels of nested objects are checked; `None` checks all of them.
    /// Arrays do not count as a level: the objects in a top-level array are checked as top-level
    /// objects.
    pub(crate) fn check_value(
        &self,
        schemas: &[Node],
        value: &Value,
        location: &str,
        direction: Direction,
        levels: Option<usize>,
        problems: &mut Vec<String>,
    ) -> Result<(), SpecError> {
        if schemas.is_empty() || levels == Some(0) {
            return Ok(());
        }
        match value {
            Value::Object(object) => {
                let mut shape = Shape::default();
                let mut accepts_any = false;
                for schema in schemas {
                    let one = self.shape(schema, 0)?;
                    accepts_any |= one.accepts_any();
                    shape.absorb(one);
                }
                if !accepts_any {
                    for name in object.keys() {
                        if !shape.properties.contains_key(name) {
                            problems.push(format!(
                                "property `{}` is not declared by the schema",
                                join(location, name)
                            ));
                        }
                    }
                }

                let mut missing: Option<BTreeSet<String>> = None;
                for schema in schemas {
                    let lacking = self.missing_required(schema, object, 0)?;
                    if missing.as_ref().is_none_or(|m| lacking.len() < m.len()) {
                        missing = Some(lacking);
                    }
                }
                let exempt = match direction {
                    Direction::Request => "readOnly",
                    Direction::Response => "writeOnly",
                };
                for name in missing.unwrap_or_default() {
                    let schemas = shape.properties.get(&name).map_or(&[][..], Vec::as_slice);
                    if !self.flagged(schemas, exempt)? {
                        problems.push(format!(
                            "required property `{}` is missing",
                            join(location, &name)
                        ));
                    }
                }

                let deeper = levels.map(|l| l - 1);
                if deeper != Some(0) {
                    for (name, value) in object {
                        if let Some(schemas) = shape.properties.get(name) {
                            let location = join(location, name);
                            self.check_value(
                                schemas, value, &location, direction, deeper, problems,
                            )?;
                        }
                    }
                }
            }
            Value::Array(items) => {
                let item_schemas = self.items(schemas, 0)?;
                for (index, item) in items.iter().enumerate() {
                    let location = format!("{location}[{index}]");
                    self.check_value(&item_schemas, item, &location, direction, levels, problems)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// The branches listed under `key` (`allOf`, `oneOf` or `anyOf`) of a resolved schema.
fn branches(node: &Node, key: &str) -> Vec<Node> {
    node.value
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|value| Node {
            file: node.file.clone(),
            value: value.clone(),
        })
        .collect()
}

fn join(location: &str, name: &str) -> String {
    if location.is_empty() {
        name.to_string()
    } else {
        format!("{location}.{name}")
    }
}

fn too_deep(node: &Node) -> SpecError {
    SpecError::Invalid {
        file: node.file.to_path_buf(),
        message: format!(
            "schema compositions nest more than {MAX_COMPOSITION_DEPTH} levels; they probably loop"
        ),
    }
}
