//! Label selectors as LIST takes them: `app=web,tier!=db,env in (stage,prod),!legacy,canary`.

use super::status::{ApiError, ApiResult};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

/// A parsed selector: every requirement must hold.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Selector(Vec<Requirement>);

/// Splits on commas that are not inside parentheses.
fn split_terms(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn set_of(values: &str, term: &str) -> ApiResult<Vec<String>> {
    let inner = values
        .trim()
        .strip_prefix('(')
        .and_then(|v| v.strip_suffix(')'))
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "unable to parse requirement: {term:?}: expected (values)"
            ))
        })?;
    Ok(inner.split(',').map(|v| v.trim().to_string()).collect())
}

impl Selector {
    pub fn parse(s: &str) -> ApiResult<Selector> {
        let mut reqs = Vec::new();
        for term in split_terms(s).into_iter().map(str::trim) {
            if term.is_empty() {
                continue;
            }
            let req = if let Some(key) = term.strip_prefix('!') {
                Requirement::DoesNotExist(key.trim().to_string())
            } else if let Some((k, v)) = term.split_once("!=") {
                Requirement::NotEquals(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = term.split_once("==") {
                Requirement::Equals(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = term.split_once('=') {
                Requirement::Equals(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = term.split_once(" notin ") {
                Requirement::NotIn(k.trim().into(), set_of(v, term)?)
            } else if let Some((k, v)) = term.split_once(" in ") {
                Requirement::In(k.trim().into(), set_of(v, term)?)
            } else if term.contains(' ') || term.contains('(') {
                return Err(ApiError::bad_request(format!(
                    "unable to parse requirement: {term:?}"
                )));
            } else {
                Requirement::Exists(term.to_string())
            };
            reqs.push(req);
        }
        Ok(Selector(reqs))
    }

    /// True if the object's `metadata.labels` satisfy every requirement.
    pub fn matches(&self, object: &Value) -> bool {
        let labels = &object["metadata"]["labels"];
        let label = |k: &str| labels.get(k).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            Requirement::Equals(k, v) => label(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => label(k) != Some(v.as_str()),
            Requirement::In(k, vs) => label(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            Requirement::NotIn(k, vs) => !label(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            Requirement::Exists(k) => label(k).is_some(),
            Requirement::DoesNotExist(k) => label(k).is_none(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selectors_match_labels() {
        let obj = json!({"metadata": {"labels": {"app": "web", "env": "stage"}}});
        let yes = [
            "",
            "app=web",
            "app==web,env!=prod",
            "env in (stage, prod)",
            "env notin (prod)",
            "app,!legacy",
        ];
        for s in yes {
            assert!(Selector::parse(s).unwrap().matches(&obj), "{s}");
        }
        for s in ["app=db", "env in (prod)", "!app", "legacy"] {
            assert!(!Selector::parse(s).unwrap().matches(&obj), "{s}");
        }
        assert_eq!(Selector::parse("env in stage").unwrap_err().code, 400);
    }
}
