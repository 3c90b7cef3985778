//! Dynamic values with two marks: *unknown* and *sensitive*.
//!
//! During a plan, an attribute that depends on something not yet created has no value yet; it is
//! [`Value::Unknown`], shown as `(known after apply)`. Anything computed from an unknown is unknown.
//!
//! A value that must never be printed is wrapped in [`Value::Sensitive`]. The mark survives
//! expressions: the evaluator wraps the result of any operation that touched a sensitive operand.
//! Renderers call [`Value::redacted`] or check [`Value::contains_sensitive`] before showing anything.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A dynamic value.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
    /// Not known until apply.
    Unknown,
    /// A value that must never be shown. Never nested directly in another `Sensitive`.
    Sensitive(Box<Value>),
}

/// One step of a [`Path`] into a value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PathStep {
    Index(usize),
    Key(String),
}

/// A path into a nested value, such as `node_pool[0].size`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Path(pub Vec<PathStep>);

impl Path {
    pub fn root() -> Path {
        Path(Vec::new())
    }

    pub fn key(&self, k: impl Into<String>) -> Path {
        let mut p = self.clone();
        p.0.push(PathStep::Key(k.into()));
        p
    }

    pub fn index(&self, i: usize) -> Path {
        let mut p = self.clone();
        p.0.push(PathStep::Index(i));
        p
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// True if `self` is `other` or lies below it.
    pub fn starts_with(&self, other: &Path) -> bool {
        self.0.len() >= other.0.len() && self.0[..other.0.len()] == other.0[..]
    }

    /// Parses the dotted form produced by `Display`: `a.b[0].c`, `tags["x.y"]`.
    pub fn parse(s: &str) -> Option<Path> {
        let mut steps = Vec::new();
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'.' => i += 1,
                b'[' => {
                    let end = s[i..].find(']')? + i;
                    let inner = &s[i + 1..end];
                    if let Some(q) = inner.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
                        steps.push(PathStep::Key(q.to_string()));
                    } else {
                        steps.push(PathStep::Index(inner.parse().ok()?));
                    }
                    i = end + 1;
                }
                _ => {
                    let end = s[i..].find(['.', '[']).map(|e| e + i).unwrap_or(s.len());
                    steps.push(PathStep::Key(s[i..end].to_string()));
                    i = end;
                }
            }
        }
        Some(Path(steps))
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, step) in self.0.iter().enumerate() {
            match step {
                PathStep::Index(i) => write!(f, "[{i}]")?,
                PathStep::Key(k) if is_identifier(k) => {
                    if n > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                PathStep::Key(k) => write!(f, "[{k:?}]")?,
            }
        }
        Ok(())
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl Value {
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// Wraps `self` in a sensitive mark (idempotent).
    pub fn sensitive(self) -> Value {
        match self {
            Value::Sensitive(_) => self,
            v => Value::Sensitive(Box::new(v)),
        }
    }

    /// The name of this value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::Unknown => "unknown",
            Value::Sensitive(inner) => inner.type_name(),
        }
    }

    /// The value without a top-level sensitive mark.
    pub fn unwrap_sensitive(&self) -> &Value {
        match self {
            Value::Sensitive(inner) => inner,
            v => v,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.unwrap_sensitive(), Value::Null)
    }

    /// True if this value (at the top level) is unknown.
    pub fn is_unknown(&self) -> bool {
        matches!(self.unwrap_sensitive(), Value::Unknown)
    }

    /// True if no part of this value is unknown.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::Sensitive(inner) => inner.is_wholly_known(),
            Value::List(items) => items.iter().all(Value::is_wholly_known),
            Value::Map(m) => m.values().all(Value::is_wholly_known),
            _ => true,
        }
    }

    pub fn is_sensitive(&self) -> bool {
        matches!(self, Value::Sensitive(_))
    }

    /// True if any part of this value is marked sensitive.
    pub fn contains_sensitive(&self) -> bool {
        match self {
            Value::Sensitive(_) => true,
            Value::List(items) => items.iter().any(Value::contains_sensitive),
            Value::Map(m) => m.values().any(Value::contains_sensitive),
            _ => false,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self.unwrap_sensitive() {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self.unwrap_sensitive() {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        self.as_f64().filter(|n| n.fract() == 0.0).map(|n| n as i64)
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.unwrap_sensitive() {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&Vec<Value>> {
        match self.unwrap_sensitive() {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self.unwrap_sensitive() {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// Looks up a map key (through a sensitive mark; the result keeps the mark).
    pub fn get(&self, key: &str) -> Option<Value> {
        match self {
            Value::Map(m) => m.get(key).cloned(),
            Value::Sensitive(inner) => inner.get(key).map(Value::sensitive),
            Value::Unknown => Some(Value::Unknown),
            _ => None,
        }
    }

    /// Follows a path; `None` if some step does not exist.
    pub fn get_path(&self, path: &Path) -> Option<&Value> {
        let mut cur = self;
        for step in &path.0 {
            cur = match (cur.unwrap_sensitive(), step) {
                (Value::Map(m), PathStep::Key(k)) => m.get(k)?,
                (Value::List(l), PathStep::Index(i)) => l.get(*i)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// Sets the value at `path`, creating maps on the way. Returns false if the path crosses a
    /// value that is neither a map nor a long-enough list.
    pub fn set_path(&mut self, path: &Path, new: Value) -> bool {
        let Some((last, parents)) = path.0.split_last() else {
            *self = new;
            return true;
        };
        let mut cur = self;
        for step in parents {
            if let Value::Sensitive(inner) = cur {
                cur = inner.as_mut();
            }
            cur = match (cur, step) {
                (Value::Map(m), PathStep::Key(k)) => {
                    m.entry(k.clone()).or_insert(Value::Map(BTreeMap::new()))
                }
                (Value::List(l), PathStep::Index(i)) => match l.get_mut(*i) {
                    Some(v) => v,
                    None => return false,
                },
                (v @ Value::Null, PathStep::Key(k)) => {
                    *v = Value::Map(BTreeMap::new());
                    let Value::Map(m) = v else { unreachable!() };
                    m.entry(k.clone()).or_insert(Value::Map(BTreeMap::new()))
                }
                _ => return false,
            };
        }
        if let Value::Sensitive(inner) = cur {
            cur = inner.as_mut();
        }
        match (cur, last) {
            (Value::Map(m), PathStep::Key(k)) => {
                m.insert(k.clone(), new);
                true
            }
            (Value::List(l), PathStep::Index(i)) if *i < l.len() => {
                l[*i] = new;
                true
            }
            (v @ Value::Null, PathStep::Key(k)) => {
                *v = Value::map([(k.clone(), new)]);
                true
            }
            _ => false,
        }
    }

    /// Removes every sensitive mark and returns the paths where they were.
    pub fn unmark(&self) -> (Value, Vec<Path>) {
        let mut paths = Vec::new();
        let v = self.unmark_into(&Path::root(), &mut paths);
        (v, paths)
    }

    fn unmark_into(&self, at: &Path, paths: &mut Vec<Path>) -> Value {
        match self {
            Value::Sensitive(inner) => {
                paths.push(at.clone());
                inner.unmark_into(at, &mut Vec::new())
            }
            Value::List(items) => Value::List(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| v.unmark_into(&at.index(i), paths))
                    .collect(),
            ),
            Value::Map(m) => Value::Map(
                m.iter()
                    .map(|(k, v)| (k.clone(), v.unmark_into(&at.key(k), paths)))
                    .collect(),
            ),
            v => v.clone(),
        }
    }

    /// Marks the values at `paths` sensitive. Paths that do not exist are ignored.
    pub fn mark(mut self, paths: &[Path]) -> Value {
        for p in paths {
            if let Some(v) = self.get_path(p) {
                let marked = v.clone().sensitive();
                self.set_path(p, marked);
            }
        }
        self
    }

    /// Paths of every unknown value inside `self`.
    pub fn unknown_paths(&self) -> Vec<Path> {
        let mut out = Vec::new();
        self.walk(&Path::root(), &mut |p, v| {
            if matches!(v, Value::Unknown) {
                out.push(p.clone());
            }
        });
        out
    }

    /// Visits every node (pre-order), looking through sensitive marks.
    pub fn walk(&self, at: &Path, f: &mut impl FnMut(&Path, &Value)) {
        f(at, self);
        match self {
            Value::Sensitive(inner) => inner.walk(at, f),
            Value::List(items) => items
                .iter()
                .enumerate()
                .for_each(|(i, v)| v.walk(&at.index(i), f)),
            Value::Map(m) => m.iter().for_each(|(k, v)| v.walk(&at.key(k), f)),
            _ => {}
        }
    }

    /// A copy in which every sensitive part is replaced by the string `(sensitive)`.
    pub fn redacted(&self) -> Value {
        match self {
            Value::Sensitive(_) => Value::String("(sensitive)".into()),
            Value::List(items) => Value::List(items.iter().map(Value::redacted).collect()),
            Value::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), v.redacted())).collect()),
            v => v.clone(),
        }
    }

    /// Converts a wholly known value to JSON. Sensitive marks are dropped (the caller decides
    /// whether that is allowed); unknowns become `null` — use [`Value::is_wholly_known`] first
    /// where that matters.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null | Value::Unknown => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => number_to_json(*n),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::List(items) => {
                serde_json::Value::Array(items.iter().map(Value::to_json).collect())
            }
            Value::Map(m) => {
                serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
            Value::Sensitive(inner) => inner.to_json(),
        }
    }

    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(0.0)),
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(items) => {
                Value::List(items.iter().map(Value::from_json).collect())
            }
            serde_json::Value::Object(m) => Value::Map(
                m.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// Encodes a value with its marks, in the form used by plan files and `plan --json`:
    /// the JSON value (unknowns as `null`, sensitive parts redacted when `redact` is set), and
    /// the paths of unknown and sensitive parts.
    pub fn to_marked_json(&self, redact: bool) -> MarkedJson {
        let (plain, sensitive) = self.unmark();
        let unknown = plain.unknown_paths();
        let mut value = plain.to_json();
        if redact {
            for p in &sensitive {
                set_json_path(&mut value, p, serde_json::Value::Null);
            }
        }
        MarkedJson {
            value,
            unknown,
            sensitive,
        }
    }

    /// The inverse of [`Value::to_marked_json`] (redacted parts come back as `null`).
    pub fn from_marked_json(m: &MarkedJson) -> Value {
        let mut v = Value::from_json(&m.value);
        for p in &m.unknown {
            v.set_path(p, Value::Unknown);
        }
        v.mark(&m.sensitive)
    }

    /// Human-readable rendering in HCL-like syntax, used in plans and outputs. Sensitive parts
    /// render as `(sensitive)`, unknown ones as `(known after apply)`.
    pub fn render(&self) -> String {
        let mut s = String::new();
        self.render_into(&mut s, 0);
        s
    }

    fn render_into(&self, out: &mut String, indent: usize) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => out.push_str(&format_number(*n)),
            Value::String(s) if s.contains('\n') => {
                out.push_str("<<-EOT\n");
                for line in s.lines() {
                    out.push_str(&" ".repeat(indent + 4));
                    out.push_str(line);
                    out.push('\n');
                }
                out.push_str(&" ".repeat(indent + 2));
                out.push_str("EOT");
            }
            Value::String(s) => out.push_str(&format!("{s:?}")),
            Value::Unknown => out.push_str("(known after apply)"),
            Value::Sensitive(_) => out.push_str("(sensitive)"),
            Value::List(items) if items.is_empty() => out.push_str("[]"),
            Value::List(items) => {
                out.push_str("[\n");
                for v in items {
                    out.push_str(&" ".repeat(indent + 4));
                    v.render_into(out, indent + 4);
                    out.push_str(",\n");
                }
                out.push_str(&" ".repeat(indent + 2));
                out.push(']');
            }
            Value::Map(m) if m.is_empty() => out.push_str("{}"),
            Value::Map(m) => {
                out.push_str("{\n");
                for (k, v) in m {
                    out.push_str(&" ".repeat(indent + 4));
                    if is_identifier(k) {
                        out.push_str(k);
                    } else {
                        out.push_str(&format!("{k:?}"));
                    }
                    out.push_str(" = ");
                    v.render_into(out, indent + 4);
                    out.push('\n');
                }
                out.push_str(&" ".repeat(indent + 2));
                out.push('}');
            }
        }
    }
}

fn number_to_json(n: f64) -> serde_json::Value {
    if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
        serde_json::Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null)
    }
}

/// Formats a number the way HCL prints it: integers without a fraction.
pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

fn set_json_path(json: &mut serde_json::Value, path: &Path, new: serde_json::Value) {
    let mut cur = json;
    for step in &path.0 {
        cur = match (cur, step) {
            (serde_json::Value::Object(m), PathStep::Key(k)) => match m.get_mut(k) {
                Some(v) => v,
                None => return,
            },
            (serde_json::Value::Array(a), PathStep::Index(i)) => match a.get_mut(*i) {
                Some(v) => v,
                None => return,
            },
            _ => return,
        };
    }
    *cur = new;
}

/// A value encoded for storage with its marks beside it (the shape Terraform's plan JSON uses).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarkedJson {
    pub value: serde_json::Value,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<Path>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensitive: Vec<Path>,
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Value {
        Value::Number(n as f64)
    }
}

impl From<f64> for Value {
    fn from(n: f64) -> Value {
        Value::Number(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmark_and_mark_round_trip() {
        let v = Value::map([
            ("name", Value::from("db")),
            ("password", Value::from("hunter2").sensitive()),
            (
                "nested",
                Value::map([("token", Value::from("t").sensitive())]),
            ),
        ]);
        let (plain, paths) = v.unmark();
        assert!(!plain.contains_sensitive());
        assert_eq!(paths.len(), 2);
        assert_eq!(plain.mark(&paths), v);
    }

    #[test]
    fn redacted_marked_json_hides_secrets_and_keeps_unknowns() {
        let v = Value::map([
            ("password", Value::from("hunter2").sensitive()),
            ("id", Value::Unknown),
        ]);
        let m = v.to_marked_json(true);
        let text = serde_json::to_string(&m).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        let back = Value::from_marked_json(&m);
        assert!(back.get("id").unwrap().is_unknown());
        assert!(back.get("password").unwrap().is_sensitive());
    }

    #[test]
    fn path_display_and_parse() {
        let p = Path::root().key("node_pool").index(0).key("size");
        assert_eq!(p.to_string(), "node_pool[0].size");
        assert_eq!(Path::parse("node_pool[0].size"), Some(p));
        let q = Path::root().key("labels").key("app.kubernetes.io/name");
        assert_eq!(Path::parse(&q.to_string()), Some(q));
    }

    #[test]
    fn render_hides_sensitive_and_shows_unknown() {
        let v = Value::map([("a", Value::from("x").sensitive()), ("b", Value::Unknown)]);
        let r = v.render();
        assert!(
            r.contains("(sensitive)") && r.contains("(known after apply)") && !r.contains("\"x\"")
        );
    }
}
