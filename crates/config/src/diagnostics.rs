//! A list of diagnostics that travels as one error, so that a run reports every problem it found.

use std::fmt;
use strata_core::Diagnostic;

use crate::source::SourceFile;

/// Every diagnostic from one operation. As an error it means "at least one of these is an error".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn new() -> Diagnostics {
        Diagnostics(Vec::new())
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    /// Every diagnostic rendered, one after the other (the form tests and the CLI show).
    pub fn render(&self) -> String {
        self.0.iter().map(Diagnostic::render).collect()
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Diagnostics {
        Diagnostics(vec![d])
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.render().trim_end())
    }
}

impl std::error::Error for Diagnostics {}

/// An error diagnostic pointing at a byte range of a file, with the line's text.
pub(crate) fn error_at(
    file: &SourceFile,
    range: std::ops::Range<usize>,
    summary: impl Into<String>,
) -> Diagnostic {
    let span = file.span(range);
    let line = file.line_text(span.line);
    Diagnostic::error(summary).with_span(span, line)
}
