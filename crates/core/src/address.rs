//! Resource addresses: `STACK/TYPE.NAME[KEY]`, `STACK/data.TYPE.NAME`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Managed resources are created and destroyed; data sources are only read.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Managed,
    Data,
}

/// The key of one instance of a resource with `count` (an index) or `for_each` (a string).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum InstanceKey {
    Int(i64),
    Str(String),
}

impl fmt::Display for InstanceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstanceKey::Int(i) => write!(f, "[{i}]"),
            InstanceKey::Str(s) => write!(f, "[{s:?}]"),
        }
    }
}

/// The address of one resource instance.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Address {
    pub stack: String,
    #[serde(default, skip_serializing_if = "is_managed")]
    pub mode: Mode,
    #[serde(rename = "type")]
    pub type_name: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<InstanceKey>,
}

fn is_managed(m: &Mode) -> bool {
    *m == Mode::Managed
}

impl Address {
    pub fn new(
        stack: impl Into<String>,
        type_name: impl Into<String>,
        name: impl Into<String>,
    ) -> Address {
        Address {
            stack: stack.into(),
            mode: Mode::Managed,
            type_name: type_name.into(),
            name: name.into(),
            key: None,
        }
    }

    pub fn with_key(mut self, key: Option<InstanceKey>) -> Address {
        self.key = key;
        self
    }

    /// The address without the stack: `TYPE.NAME[KEY]`.
    pub fn local(&self) -> String {
        let mut s = String::new();
        if self.mode == Mode::Data {
            s.push_str("data.");
        }
        s.push_str(&self.type_name);
        s.push('.');
        s.push_str(&self.name);
        if let Some(k) = &self.key {
            s.push_str(&k.to_string());
        }
        s
    }

    /// Parses `STACK/TYPE.NAME[KEY]` (the stack is required).
    pub fn parse(s: &str) -> Result<Address, String> {
        let p = AddressPattern::parse(s)?;
        match (p.stack, p.type_name, p.name) {
            (Some(stack), Some(type_name), Some(name)) => {
                Ok(Address { stack, mode: p.mode, type_name, name, key: p.key })
            }
            _ => Err(format!("{s:?} is not a full resource address; expected STACK/TYPE.NAME or STACK/TYPE.NAME[\"key\"]")),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.stack, self.local())
    }
}

/// A pattern that selects resources, as given to `--target` and `--exclude`:
/// `STACK`, `STACK/TYPE.NAME`, `STACK/TYPE.NAME["key"]`, or the same without `STACK/`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AddressPattern {
    pub stack: Option<String>,
    pub mode: Mode,
    pub type_name: Option<String>,
    pub name: Option<String>,
    pub key: Option<InstanceKey>,
}

impl AddressPattern {
    pub fn parse(s: &str) -> Result<AddressPattern, String> {
        let bad = |why: &str| format!("invalid address {s:?}: {why}");
        // Stacks in nested folders have '/' in their names and keys may hold anything, so the
        // stack ends at the last '/' before the key; without a '.', the whole text is a stack.
        let head_len = s.find('[').unwrap_or(s.len());
        let head = &s[..head_len];
        if !head.contains('.') {
            return Ok(AddressPattern {
                stack: Some(s.trim_end_matches('/').to_string()),
                ..Default::default()
            });
        }
        let (stack, rest) = match head.rfind('/') {
            Some(i) => (Some(s[..i].to_string()), &s[i + 1..]),
            None => (None, s),
        };
        if rest.is_empty() {
            return Ok(AddressPattern {
                stack,
                ..Default::default()
            });
        }
        let (mode, rest) = match rest.strip_prefix("data.") {
            Some(r) => (Mode::Data, r),
            None => (Mode::Managed, rest),
        };
        let (head, key) = match rest.find('[') {
            Some(i) => {
                let inner = rest[i..]
                    .strip_prefix('[')
                    .and_then(|x| x.strip_suffix(']'))
                    .ok_or_else(|| bad("unclosed '['"))?;
                let key = if let Some(q) = inner.strip_prefix('"').and_then(|x| x.strip_suffix('"'))
                {
                    InstanceKey::Str(q.to_string())
                } else {
                    InstanceKey::Int(
                        inner
                            .parse()
                            .map_err(|_| bad("a key is a number or a quoted string"))?,
                    )
                };
                (&rest[..i], Some(key))
            }
            None => (rest, None),
        };
        let (type_name, name) = head
            .split_once('.')
            .ok_or_else(|| bad("expected TYPE.NAME"))?;
        if type_name.is_empty() || name.is_empty() || name.contains('.') {
            return Err(bad("expected TYPE.NAME"));
        }
        Ok(AddressPattern {
            stack,
            mode,
            type_name: Some(type_name.into()),
            name: Some(name.into()),
            key,
        })
    }

    pub fn matches(&self, a: &Address) -> bool {
        self.stack.as_ref().is_none_or(|s| *s == a.stack)
            && (self.type_name.is_none() || self.mode == a.mode)
            && self.type_name.as_ref().is_none_or(|t| *t == a.type_name)
            && self.name.as_ref().is_none_or(|n| *n == a.name)
            && (self.key.is_none() || self.key == a.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse_round_trip() {
        let a = Address::new("base", "digitalocean_vpc", "main")
            .with_key(Some(InstanceKey::Str("a/b".into())));
        assert_eq!(a.to_string(), "base/digitalocean_vpc.main[\"a/b\"]");
        // A '/' inside a key is fine because the stack is split at the first '/'.
        assert_eq!(Address::parse(&a.to_string()).unwrap(), a);
    }

    #[test]
    fn patterns_select() {
        let a = Address::new("base", "t", "n").with_key(Some(InstanceKey::Int(2)));
        assert!(AddressPattern::parse("base").unwrap().matches(&a));
        assert!(AddressPattern::parse("t.n").unwrap().matches(&a));
        assert!(AddressPattern::parse("base/t.n[2]").unwrap().matches(&a));
        assert!(!AddressPattern::parse("base/t.n[1]").unwrap().matches(&a));
        assert!(!AddressPattern::parse("deploy").unwrap().matches(&a));
        assert!(AddressPattern::parse("base/t")
            .unwrap()
            .matches(&Address::new("base/t", "x", "y")));
        assert!(AddressPattern::parse("base/t.").is_err());
    }

    #[test]
    fn nested_stacks_parse() {
        let a = Address::new("platform/apps", "t", "n")
            .with_key(Some(InstanceKey::Str("a/b.c".into())));
        assert_eq!(Address::parse(&a.to_string()).unwrap(), a);
        let p = AddressPattern::parse("platform/apps").unwrap();
        assert_eq!(p.stack.as_deref(), Some("platform/apps"));
        assert!(p.matches(&a));
    }
}
