//! Typed reading of planned attributes, and the values written back from AWS's answers.

use std::collections::BTreeMap;
use strata_core::provider::{ErrorKind, ProviderError, ProviderResult, ResourceObject};
use strata_core::Value;

/// Typed access to a (wholly known) attribute map. Sensitive marks are looked through: the
/// value goes to the API, never to output.
#[derive(Clone, Copy)]
pub(crate) struct Attrs<'a> {
    value: &'a Value,
    /// Where the attributes are, for error messages: `aws_eks_cluster`, `scaling_config`.
    at: &'a str,
}

impl<'a> Attrs<'a> {
    pub fn new(value: &'a Value, at: &'a str) -> Attrs<'a> {
        Attrs { value, at }
    }

    fn present(&self, name: &str) -> ProviderResult<Option<&'a Value>> {
        let Some(v) = self.value.as_map().and_then(|m| m.get(name)) else {
            return Ok(None);
        };
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

    fn wrong(&self, name: &str, expected: &str, found: &Value) -> ProviderError {
        ProviderError::new(
            ErrorKind::InvalidConfig,
            format!(
                "{}.{name} must be {expected}, found {}",
                self.at,
                found.type_name()
            ),
        )
    }

    /// A nested single block (a map, or a one-element list of maps).
    pub fn block(&self, name: &str) -> Option<Attrs<'a>> {
        let v = self.value.as_map()?.get(name)?;
        let inner = match v.unwrap_sensitive() {
            Value::List(items) => items.first()?,
            _ => v,
        };
        inner.as_map().map(|_| Attrs {
            value: inner,
            at: self.at,
        })
    }

    pub fn string(&self, name: &str) -> ProviderResult<Option<String>> {
        match self.present(name)? {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .map(|s| Some(s.to_string()))
                .ok_or_else(|| self.wrong(name, "a string", v)),
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
                .ok_or_else(|| self.wrong(name, "true or false", v)),
        }
    }

    pub fn int(&self, name: &str) -> ProviderResult<Option<i32>> {
        match self.present(name)? {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| self.wrong(name, "a whole number", v)),
        }
    }

    pub fn required_int(&self, name: &str) -> ProviderResult<i32> {
        self.int(name)?.ok_or_else(|| {
            ProviderError::new(
                ErrorKind::InvalidConfig,
                format!("{}.{name} is required", self.at),
            )
        })
    }

    pub fn strings(&self, name: &str) -> ProviderResult<Option<Vec<String>>> {
        match self.present(name)? {
            None => Ok(None),
            Some(v) => {
                let items = v
                    .as_list()
                    .ok_or_else(|| self.wrong(name, "a list of strings", v))?;
                items
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .map(str::to_string)
                            .ok_or_else(|| self.wrong(name, "a list of strings", v))
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
                    .ok_or_else(|| self.wrong(name, "a map of strings", v))?;
                m.iter()
                    .map(|(k, i)| {
                        i.as_str()
                            .map(|s| (k.clone(), s.to_string()))
                            .ok_or_else(|| self.wrong(name, "a map of strings", v))
                    })
                    .collect::<ProviderResult<BTreeMap<_, _>>>()
                    .map(Some)
            }
        }
    }
}

pub(crate) fn string_list(items: &[String]) -> Value {
    Value::List(items.iter().map(|s| Value::from(s.as_str())).collect())
}

pub(crate) fn string_map(items: &BTreeMap<String, String>) -> Value {
    Value::Map(
        items
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect(),
    )
}

/// A map of tags as configured: an empty map from the cloud stands for "no tags" when the
/// configuration has none, so that an absent `tags` does not show as a change.
pub(crate) fn tags_value(cloud: &BTreeMap<String, String>, configured: &Value) -> Value {
    if cloud.is_empty() && configured.is_null() {
        Value::Null
    } else {
        string_map(cloud)
    }
}

/// The object to hand back, with the schema's sensitive attributes marked.
pub(crate) fn object(
    type_name: &str,
    id: &str,
    attributes: BTreeMap<String, Value>,
) -> ResourceObject {
    let value = Value::Map(attributes);
    let attributes = match crate::schema::resource(type_name) {
        Some(s) => s.block.mark_sensitive(value),
        None => value,
    };
    ResourceObject {
        id: id.to_string(),
        attributes,
    }
}

/// A short, stable idempotency token for a change: the same resource and intended change give
/// the same token, so that a retry, even after a crash, is recognised by the service.
pub(crate) fn request_token(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0u8]);
    }
    let hex: String = hash
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "strata-{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_tokens_are_stable_and_tell_changes_apart() {
        let a = request_token(&["create", "shop", "1.31"]);
        assert_eq!(a, request_token(&["create", "shop", "1.31"]));
        assert_ne!(a, request_token(&["create", "shop", "1.32"]));
        assert_ne!(
            request_token(&["ab", "c"]),
            request_token(&["a", "bc"]),
            "parts are delimited"
        );
        assert!(a.len() <= 64);
    }

    #[test]
    fn nested_blocks_read_as_maps_or_single_element_lists() {
        let v = Value::map([(
            "scaling_config",
            Value::List(vec![Value::map([("min_size", Value::from(1i64))])]),
        )]);
        let a = Attrs::new(&v, "x");
        assert_eq!(
            a.block("scaling_config").unwrap().int("min_size").unwrap(),
            Some(1)
        );
        let e = Attrs::new(&Value::map([("n", Value::from("x"))]), "t")
            .int("n")
            .unwrap_err();
        assert!(e.message.contains("t.n"), "{e}");
    }
}
