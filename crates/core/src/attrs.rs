//! For providers: reading planned attribute values into typed fields, and writing what a cloud
//! API answers back into attribute values. Errors name the resource type or block and the
//! attribute, and never quote a sensitive value.

use crate::provider::{ErrorKind, ProviderError, ProviderResult};
use crate::Value;
use std::collections::BTreeMap;

/// Typed access to the attributes of a planned (wholly known) value. Sensitive marks are
/// looked through: the value goes to the API, never to output.
#[derive(Clone, Copy)]
pub struct Attrs<'a> {
    value: &'a Value,
    /// Where the attributes are, for error messages: `digitalocean_vpc`, `node_pool[0]`.
    at: &'a str,
}

impl<'a> Attrs<'a> {
    pub fn new(value: &'a Value, at: &'a str) -> Attrs<'a> {
        Attrs { value, at }
    }

    /// The attribute's value, `Null` when absent.
    pub fn raw(&self, name: &str) -> &'a Value {
        static NULL: Value = Value::Null;
        self.value
            .as_map()
            .and_then(|m| m.get(name))
            .unwrap_or(&NULL)
    }

    fn present(&self, name: &str) -> ProviderResult<Option<&'a Value>> {
        let v = self.raw(name);
        if v.is_null() {
            return Ok(None);
        }
        if !v.is_wholly_known() {
            return Err(ProviderError::new(
                ErrorKind::Internal,
                format!("{}.{name} is not yet known", self.at),
            ));
        }
        Ok(Some(v))
    }

    fn wrong_type(&self, name: &str, expected: &str, found: &Value) -> ProviderError {
        ProviderError::new(
            ErrorKind::InvalidConfig,
            format!(
                "{}.{name} must be {expected}, found {}",
                self.at,
                found.type_name()
            ),
        )
    }

    pub fn string(&self, name: &str) -> ProviderResult<Option<String>> {
        match self.present(name)? {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .map(|s| Some(s.to_string()))
                .ok_or_else(|| self.wrong_type(name, "a string", v)),
        }
    }

    pub fn required_string(&self, name: &str) -> ProviderResult<String> {
        self.string(name)?.filter(|s| !s.is_empty()).ok_or_else(|| {
            ProviderError::new(
                ErrorKind::InvalidConfig,
                format!("{}.{name} is required and must not be empty", self.at),
            )
        })
    }

    pub fn bool(&self, name: &str) -> ProviderResult<Option<bool>> {
        match self.present(name)? {
            None => Ok(None),
            Some(v) => v
                .as_bool()
                .map(Some)
                .ok_or_else(|| self.wrong_type(name, "true or false", v)),
        }
    }

    /// A whole number, 0 or more (node counts).
    pub fn count(&self, name: &str) -> ProviderResult<Option<u32>> {
        match self.present(name)? {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| {
                    ProviderError::new(
                        ErrorKind::InvalidConfig,
                        format!(
                            "{}.{name} must be a whole number, 0 or more; found {}",
                            self.at,
                            v.unwrap_sensitive().render()
                        ),
                    )
                }),
        }
    }

    pub fn strings(&self, name: &str) -> ProviderResult<Option<Vec<String>>> {
        match self.present(name)? {
            None => Ok(None),
            Some(v) => {
                let items = v
                    .as_list()
                    .ok_or_else(|| self.wrong_type(name, "a list of strings", v))?;
                items
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .map(str::to_string)
                            .ok_or_else(|| self.wrong_type(name, "a list of strings", v))
                    })
                    .collect::<ProviderResult<Vec<_>>>()
                    .map(Some)
            }
        }
    }

    pub fn string_map(&self, name: &str) -> ProviderResult<Option<BTreeMap<String, String>>> {
        match self.present(name)? {
            None => Ok(None),
            Some(v) => {
                let m = v
                    .as_map()
                    .ok_or_else(|| self.wrong_type(name, "a map of strings", v))?;
                m.iter()
                    .map(|(k, i)| {
                        i.as_str()
                            .map(|s| (k.clone(), s.to_string()))
                            .ok_or_else(|| self.wrong_type(name, "a map of strings", v))
                    })
                    .collect::<ProviderResult<BTreeMap<_, _>>>()
                    .map(Some)
            }
        }
    }

    /// The items of a nested list block.
    pub fn blocks(&self, name: &str) -> Vec<&'a Value> {
        self.raw(name)
            .as_list()
            .map(|l| l.iter().collect())
            .unwrap_or_default()
    }
}

/// A string attribute: `Null` for a missing or empty answer.
pub fn string(s: &str) -> Value {
    if s.is_empty() {
        Value::Null
    } else {
        Value::from(s)
    }
}

pub fn strings(items: &[String]) -> Value {
    Value::List(items.iter().map(|s| Value::from(s.as_str())).collect())
}

pub fn string_map(m: &BTreeMap<String, String>) -> Value {
    Value::Map(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect(),
    )
}

pub fn number(n: i64) -> Value {
    Value::Number(n as f64)
}

/// A prior value to carry over, without its sensitive mark (the schema marks it again), or
/// `None` when it is not known: a planned value may still hold unknowns, and what goes back
/// to the engine must not.
pub fn known(v: &Value) -> Option<Value> {
    let v = v.unwrap_sensitive();
    v.is_wholly_known().then(|| v.clone())
}

/// Replaces whatever is still unknown with `null`.
pub fn without_unknowns(v: Value) -> Value {
    match v {
        Value::Unknown => Value::Null,
        Value::List(items) => Value::List(items.into_iter().map(without_unknowns).collect()),
        Value::Map(m) => Value::Map(
            m.into_iter()
                .map(|(k, v)| (k, without_unknowns(v)))
                .collect(),
        ),
        Value::Sensitive(inner) => without_unknowns(*inner).sensitive(),
        v => v,
    }
}

/// An optional attribute as read from the cloud. The API answers `false`, `0`, `""`, `[]` or
/// `{}` for what was never set; while the configuration (`prior`) leaves the attribute unset,
/// such a zero value reads back as `null`, so that an unset attribute does not show a change
/// on every plan. A value that is really set out of band still shows.
pub fn unless_unset(cloud: Value, prior: &Value) -> Value {
    let zero = match &cloud {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => *n == 0.0,
        Value::String(s) => s.is_empty(),
        Value::List(l) => l.is_empty(),
        Value::Map(m) => m.is_empty(),
        _ => false,
    };
    if zero && prior.is_null() {
        Value::Null
    } else {
        cloud
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_reads_explain_what_is_wrong() {
        let v = Value::map([
            ("name", Value::from("shop").sensitive()),
            ("count", Value::from(-1i64)),
            (
                "tags",
                Value::List(vec![Value::from("a"), Value::from(1i64)]),
            ),
            ("labels", Value::map([("team", Value::from("core"))])),
            ("ha", Value::from("yes")),
            ("version", Value::Unknown),
        ]);
        let a = Attrs::new(&v, "digitalocean_kubernetes_cluster");
        assert_eq!(a.required_string("name").unwrap(), "shop");
        assert_eq!(a.string("missing").unwrap(), None);
        let e = a.required_string("missing").unwrap_err();
        assert!(e.message.contains("missing is required"), "{e}");
        assert!(a.count("count").unwrap_err().message.contains("0 or more"));
        assert!(a
            .strings("tags")
            .unwrap_err()
            .message
            .contains("list of strings"));
        assert_eq!(
            a.string_map("labels").unwrap().unwrap()["team"],
            "core".to_string()
        );
        assert!(a.bool("ha").unwrap_err().message.contains("true or false"));
        assert_eq!(a.string("version").unwrap_err().kind, ErrorKind::Internal);
    }

    #[test]
    fn carried_over_values_are_never_unknown() {
        assert_eq!(known(&Value::Unknown), None);
        assert_eq!(known(&Value::from("x").sensitive()), Some(Value::from("x")));
        let v = Value::map([
            ("a", Value::Unknown),
            ("b", Value::List(vec![Value::Unknown])),
        ]);
        assert!(without_unknowns(v).is_wholly_known());
    }

    #[test]
    fn unset_attributes_stay_null_while_the_cloud_holds_zero_values() {
        assert_eq!(unless_unset(Value::from(false), &Value::Null), Value::Null);
        assert_eq!(unless_unset(number(0), &Value::Null), Value::Null);
        assert_eq!(unless_unset(Value::List(vec![]), &Value::Null), Value::Null);
        assert_eq!(
            unless_unset(Value::from(false), &Value::from(false)),
            Value::from(false)
        );
        assert_eq!(unless_unset(number(3), &Value::Null), number(3));
        assert_eq!(
            unless_unset(Value::List(vec![]), &Value::List(vec![])),
            Value::List(vec![])
        );
    }
}
