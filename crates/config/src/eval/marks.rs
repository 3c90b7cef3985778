//! Helpers for carrying the sensitive mark through an operation.

use strata_core::Value;

/// Takes off a top-level sensitive mark, saying whether there was one.
pub(crate) fn split(v: Value) -> (Value, bool) {
    match v {
        Value::Sensitive(inner) => (*inner, true),
        v => (v, false),
    }
}

/// Puts the mark back on a result computed from a sensitive operand.
pub(crate) fn mark(v: Value, sensitive: bool) -> Value {
    if sensitive {
        v.sensitive()
    } else {
        v
    }
}
