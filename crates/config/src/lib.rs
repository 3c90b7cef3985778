//! Loads a Strata project: parses HCL with source spans, evaluates expressions with unknown and sensitive marks, and reports diagnostics.
