//! Loading an OpenAPI 3 description split over several files, resolving `$ref`s and matching
//! request paths to operations.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::SpecError;

/// How many `$ref`s in a row are followed before giving up on a loop.
const MAX_REF_CHAIN: usize = 64;

/// The HTTP methods an OpenAPI path item may hold operations for.
const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// A part of a description: a JSON value and the file it was read from, against which the
/// relative `$ref`s inside it resolve.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub file: Arc<PathBuf>,
    pub value: Value,
}

impl Node {
    /// The member `key` of this node, if it is an object holding one.
    pub fn get(&self, key: &str) -> Option<Node> {
        self.value.get(key).map(|value| Node {
            file: self.file.clone(),
            value: value.clone(),
        })
    }
}

/// A loaded OpenAPI 3 description.
///
/// Only the root file is read by [`OpenApi::load`]; the files its `$ref`s name are read and parsed
/// when a check first needs them and are then kept, so a description whose unused parts are
/// missing still serves the parts that are present. The value is `Sync` and can be shared by
/// tests running in parallel.
pub struct OpenApi {
    root: PathBuf,
    paths: Vec<PathTemplate>,
    files: Mutex<HashMap<PathBuf, Arc<Value>>>,
}

/// One entry of the description's `paths`.
struct PathTemplate {
    template: String,
    segments: Vec<Vec<Part>>,
    item: Node,
}

/// A piece of one path segment of a template: literal text or a `{parameter}`.
#[derive(Debug, PartialEq)]
enum Part {
    Literal(String),
    Parameter,
}

/// The result of looking an operation up by method and path.
pub(crate) enum Lookup {
    /// The operation, already resolved.
    Found { operation: Node },
    /// Some template matches the path, but none declares the method; `methods` are those the most
    /// specific matching template declares, upper-case.
    NoMethod {
        template: String,
        methods: Vec<String>,
    },
    /// No template matches the path.
    NoPath,
}

impl OpenApi {
    /// Reads the root file of a description (YAML or JSON) and indexes its `paths`.
    ///
    /// Path items and operations given as `$ref`s are resolved relative to the root file when a
    /// request reaches them, so a reference to a missing file is reported only by the check that
    /// needs it.
    pub fn load(root_file: &Path) -> Result<OpenApi, SpecError> {
        let root = if root_file.is_absolute() {
            normalize(root_file)
        } else {
            let cwd = std::env::current_dir().map_err(|source| SpecError::Io {
                path: root_file.to_path_buf(),
                source,
            })?;
            normalize(&cwd.join(root_file))
        };
        let spec = OpenApi {
            root: root.clone(),
            paths: Vec::new(),
            files: Mutex::new(HashMap::new()),
        };
        let document = spec.file(&root)?;
        let paths = document
            .get("paths")
            .and_then(Value::as_object)
            .ok_or_else(|| SpecError::Invalid {
                file: root.clone(),
                message: "the description has no `paths` object".into(),
            })?;
        let file = Arc::new(root.clone());
        let paths = paths
            .iter()
            .map(|(template, item)| PathTemplate {
                template: template.clone(),
                segments: parse_template(template),
                item: Node {
                    file: file.clone(),
                    value: item.clone(),
                },
            })
            .collect();
        Ok(OpenApi { paths, ..spec })
    }

    /// The root file the description was loaded from.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path templates the description declares, in file order.
    pub fn path_templates(&self) -> impl Iterator<Item = &str> {
        self.paths.iter().map(|p| p.template.as_str())
    }

    /// Finds the operation serving `method` (any case) on a concrete request `path`.
    ///
    /// When several templates match, the one with a literal segment where the others have a
    /// parameter wins, comparing segments from the left, as a router would choose; among the
    /// templates that declare the method, the most specific is taken.
    pub(crate) fn lookup(&self, method: &str, path: &str) -> Result<Lookup, SpecError> {
        let method = method.to_ascii_lowercase();
        let segments: Vec<&str> = path.split('/').collect();
        let mut matching: Vec<(Vec<bool>, &PathTemplate)> = self
            .paths
            .iter()
            .filter_map(|t| template_matches(&t.segments, &segments).map(|rank| (rank, t)))
            .collect();
        if matching.is_empty() {
            return Ok(Lookup::NoPath);
        }
        // Most specific first.
        matching.sort_by(|a, b| b.0.cmp(&a.0));
        for (_, template) in &matching {
            let item = self.resolve(&template.item)?;
            if let Some(operation) = item.get(&method) {
                return Ok(Lookup::Found {
                    operation: self.resolve(&operation)?,
                });
            }
        }
        let best = matching[0].1;
        let item = self.resolve(&best.item)?;
        let methods = METHODS
            .iter()
            .filter(|m| item.value.get(**m).is_some())
            .map(|m| m.to_ascii_uppercase())
            .collect();
        Ok(Lookup::NoMethod {
            template: best.template.clone(),
            methods,
        })
    }

    /// Follows `$ref`s until reaching a node that is not one. Keys beside a `$ref` are ignored,
    /// as OpenAPI 3.0 specifies.
    pub(crate) fn resolve(&self, node: &Node) -> Result<Node, SpecError> {
        let mut current = node.clone();
        for _ in 0..MAX_REF_CHAIN {
            let reference = match current.value.get("$ref").and_then(Value::as_str) {
                Some(reference) => reference.to_string(),
                None => return Ok(current),
            };
            current = self.follow(&current.file, &reference)?;
        }
        Err(SpecError::Ref {
            file: node.file.to_path_buf(),
            reference: node
                .value
                .get("$ref")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            reason: format!("more than {MAX_REF_CHAIN} references in a row; they probably loop"),
        })
    }

    /// The node one `$ref` found in `from` points to.
    fn follow(&self, from: &Path, reference: &str) -> Result<Node, SpecError> {
        let error = |reason: String| SpecError::Ref {
            file: from.to_path_buf(),
            reference: reference.to_string(),
            reason,
        };
        let (file_part, fragment) = match reference.split_once('#') {
            Some((file, fragment)) => (file, fragment),
            None => (reference, ""),
        };
        if file_part.contains("://") {
            return Err(error(
                "references to remote documents are not supported".into(),
            ));
        }
        let target = if file_part.is_empty() {
            from.to_path_buf()
        } else {
            let dir = from.parent().unwrap_or(Path::new(""));
            normalize(&dir.join(percent_decode(file_part)))
        };
        let document = self.file(&target).map_err(|e| error(e.to_string()))?;
        let pointer = percent_decode(fragment);
        let value = if pointer.is_empty() {
            Some(&*document)
        } else if pointer.starts_with('/') {
            document.pointer(&pointer)
        } else {
            return Err(error("the fragment is not a JSON pointer".into()));
        };
        let value = value
            .ok_or_else(|| error(format!("{} has nothing at {pointer:?}", target.display())))?;
        Ok(Node {
            file: Arc::new(target),
            value: value.clone(),
        })
    }

    /// The parsed content of a description file, read on first use.
    fn file(&self, path: &Path) -> Result<Arc<Value>, SpecError> {
        if let Some(document) = self.cache().get(path) {
            return Ok(document.clone());
        }
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let document = Arc::new(parse_document(path, &text)?);
        self.cache().insert(path.to_path_buf(), document.clone());
        Ok(document)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, Arc<Value>>> {
        self.files
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl std::fmt::Debug for OpenApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenApi")
            .field("root", &self.root)
            .field("paths", &self.paths.len())
            .finish_non_exhaustive()
    }
}

/// Parses YAML (which includes JSON) into a JSON value. Mapping keys that YAML reads as numbers
/// or booleans (`201:`) become strings, integers beyond 64 bits become floating-point numbers,
/// and tags are dropped. Merge keys (`<<`) are not expanded.
fn parse_document(path: &Path, text: &str) -> Result<Value, SpecError> {
    serde_yaml::from_str::<yaml::Json>(text)
        .map(|json| json.0)
        .map_err(|e| SpecError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}

/// Deserializing YAML straight into JSON values, more leniently than `serde_yaml::Value` allows.
mod yaml {
    use std::fmt;

    use serde::de::{
        Deserialize, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
    };
    use serde_json::{Map, Number, Value};

    pub(super) struct Json(pub Value);

    impl<'de> Deserialize<'de> for Json {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(JsonVisitor).map(Json)
        }
    }

    struct JsonVisitor;

    fn float(f: f64) -> Value {
        Number::from_f64(f).map_or(Value::Null, Value::Number)
    }

    impl<'de> Visitor<'de> for JsonVisitor {
        type Value = Value;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any YAML value")
        }
        fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
            Ok(Value::Bool(v))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
            Ok(Value::from(v))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
            Ok(Value::from(v))
        }
        fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
            Ok(i64::try_from(v).map_or_else(|_| float(v as f64), Value::from))
        }
        fn visit_u128<E>(self, v: u128) -> Result<Value, E> {
            Ok(u64::try_from(v).map_or_else(|_| float(v as f64), Value::from))
        }
        fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
            Ok(float(v))
        }
        fn visit_str<E>(self, v: &str) -> Result<Value, E> {
            Ok(Value::String(v.to_string()))
        }
        fn visit_string<E>(self, v: String) -> Result<Value, E> {
            Ok(Value::String(v))
        }
        fn visit_unit<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }
        fn visit_none<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
            let mut items = Vec::new();
            while let Some(Json(item)) = seq.next_element()? {
                items.push(item);
            }
            Ok(Value::Array(items))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
            let mut out = Map::new();
            while let Some((Key(key), Json(value))) = map.next_entry()? {
                out.insert(key, value);
            }
            Ok(Value::Object(out))
        }
        /// A tagged value (`!Tag value`): the tag is dropped.
        fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
            let (Key(_tag), variant) = data.variant::<Key>()?;
            variant.newtype_variant::<Json>().map(|json| json.0)
        }
    }

    /// A mapping key as text, whatever scalar YAML read it as.
    struct Key(String);

    impl<'de> Deserialize<'de> for Key {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(KeyVisitor).map(Key)
        }
    }

    struct KeyVisitor;

    impl Visitor<'_> for KeyVisitor {
        type Value = String;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a scalar mapping key")
        }
        fn visit_bool<E>(self, v: bool) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_u64<E>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i128<E>(self, v: i128) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_u128<E>(self, v: u128) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_f64<E>(self, v: f64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_str<E>(self, v: &str) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_string<E>(self, v: String) -> Result<String, E> {
            Ok(v)
        }
        fn visit_unit<E>(self) -> Result<String, E> {
            Ok("null".into())
        }
        fn visit_none<E>(self) -> Result<String, E> {
            Ok("null".into())
        }
    }
}

/// Removes `.` and resolves `..` components without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Decodes `%XX` escapes; malformed escapes are kept as they are.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits a path template into segments of literal text and `{parameter}`s.
fn parse_template(template: &str) -> Vec<Vec<Part>> {
    template
        .split('/')
        .map(|segment| {
            let mut parts = Vec::new();
            let mut rest = segment;
            while let Some(open) = rest.find('{') {
                let Some(close) = rest[open..].find('}').map(|c| open + c) else {
                    break;
                };
                if open > 0 {
                    parts.push(Part::Literal(rest[..open].to_string()));
                }
                parts.push(Part::Parameter);
                rest = &rest[close + 1..];
            }
            if !rest.is_empty() || parts.is_empty() {
                parts.push(Part::Literal(rest.to_string()));
            }
            parts
        })
        .collect()
}

/// Whether a template matches the request path's segments; if so, for each segment whether it
/// was matched by literal text alone, so that more specific templates rank higher.
fn template_matches(template: &[Vec<Part>], path: &[&str]) -> Option<Vec<bool>> {
    if template.len() != path.len() {
        return None;
    }
    template
        .iter()
        .zip(path)
        .map(|(parts, segment)| {
            segment_matches(parts, segment)
                .then(|| parts.iter().all(|p| matches!(p, Part::Literal(_))))
        })
        .collect()
}

/// Matches one segment; a parameter stands for one or more characters.
fn segment_matches(parts: &[Part], segment: &str) -> bool {
    match parts.split_first() {
        None => segment.is_empty(),
        Some((Part::Literal(text), rest)) => segment
            .strip_prefix(text.as_str())
            .is_some_and(|remainder| segment_matches(rest, remainder)),
        Some((Part::Parameter, rest)) => (1..=segment.len())
            .filter(|end| segment.is_char_boundary(*end))
            .any(|end| segment_matches(rest, &segment[end..])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_by_segment() {
        let t = parse_template("/v2/kubernetes/clusters/{cluster_id}");
        let path: Vec<&str> = "/v2/kubernetes/clusters/abc".split('/').collect();
        assert_eq!(
            template_matches(&t, &path),
            Some(vec![true, true, true, true, false])
        );
        let short: Vec<&str> = "/v2/kubernetes/clusters/".split('/').collect();
        assert_eq!(template_matches(&t, &short), None);
        let mixed = parse_template("/files/{name}.json");
        let path: Vec<&str> = "/files/a.b.json".split('/').collect();
        assert!(template_matches(&mixed, &path).is_some());
        let path: Vec<&str> = "/files/.json".split('/').collect();
        assert!(template_matches(&mixed, &path).is_none());
    }

    #[test]
    fn paths_normalize_lexically() {
        assert_eq!(
            normalize(Path::new("/a/b/models/../../shared/x.yml")),
            PathBuf::from("/a/shared/x.yml")
        );
        assert_eq!(percent_decode("a%20b%2"), "a b%2");
        assert_eq!(percent_decode("%7B%7d"), "{}");
    }

    #[test]
    fn yaml_number_keys_become_strings() {
        let text =
            "responses:\n  201: {a: 1}\n  true: x\nmaximum: 18446744073709552000\ntagged: !T 3\n";
        let value = parse_document(Path::new("x.yml"), text).unwrap();
        assert!(value.pointer("/responses/201/a").is_some());
        assert!(value.pointer("/responses/true").is_some());
        assert_eq!(value["maximum"].as_f64(), Some(18446744073709552000.0));
        assert_eq!(value["tagged"], 3);
    }
}
