//! Secrets (the cluster token, private keys, the kubeconfig) in a type whose `Debug` is
//! redacted, and the redaction of any text that leaves the provider.

use std::fmt;

/// A secret value; only [`Secret::expose`] reveals it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

/// `text` with every occurrence of a secret replaced, for errors built from what a host printed.
pub(crate) fn redact(text: &str, secrets: &[&Secret]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        // Very short values would blank out ordinary words; tokens are never that short.
        if s.0.len() >= 6 {
            out = out.replace(&s.0, "(redacted)");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show() {
        let s = Secret::new("K10abcdef");
        assert_eq!(format!("{s:?}"), "Secret(redacted)");
        assert_eq!(
            redact("bad token K10abcdef here", &[&s]),
            "bad token (redacted) here"
        );
    }
}
