//! Diagnostics: errors and warnings that point at a place in a file.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

/// A range in a source file. Lines and columns are 1-based; columns count characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Span {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    pub end_line: usize,
    pub end_col: usize,
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.col)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// An error or warning about the user's input.
///
/// `source_line` is the text of the line `span` starts on, captured when the diagnostic is made,
/// so that rendering needs no file access.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_line: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Further places that explain the error (for a cycle: each edge of it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Note>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
}

impl Diagnostic {
    pub fn error(summary: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            summary: summary.into(),
            detail: None,
            span: None,
            source_line: None,
            hint: None,
            notes: Vec::new(),
        }
    }

    pub fn warning(summary: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(summary)
        }
    }

    pub fn with_span(mut self, span: Span, source_line: Option<String>) -> Diagnostic {
        self.span = Some(span);
        self.source_line = source_line;
        self
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Diagnostic {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_note(mut self, message: impl Into<String>, span: Option<Span>) -> Diagnostic {
        self.notes.push(Note {
            message: message.into(),
            span,
        });
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Plain-text rendering, readable without colour:
    ///
    /// ```text
    /// error: unknown variable "regoin"
    ///   --> base/main.hcl:12:14
    ///    |
    /// 12 |   region = var.regoin
    ///    |            ^^^^^^^^^^
    ///    = did you mean "var.region"?
    /// hint: ...
    /// ```
    pub fn render(&self) -> String {
        let mut out = String::new();
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        out.push_str(&format!("{label}: {}\n", self.summary));
        if let Some(span) = &self.span {
            let gutter = span.line.to_string().len();
            out.push_str(&format!("{:gutter$}--> {span}\n", ""));
            if let Some(line) = &self.source_line {
                let line = line.trim_end();
                out.push_str(&format!("{:gutter$} |\n", ""));
                out.push_str(&format!("{} | {line}\n", span.line));
                let start = span.col.saturating_sub(1);
                let width = if span.end_line == span.line && span.end_col > span.col {
                    span.end_col - span.col
                } else {
                    line.chars().count().saturating_sub(start).max(1)
                };
                out.push_str(&format!(
                    "{:gutter$} | {}{}\n",
                    "",
                    " ".repeat(start),
                    "^".repeat(width)
                ));
            }
        }
        if let Some(detail) = &self.detail {
            for line in detail.lines() {
                out.push_str(&format!("  {line}\n"));
            }
        }
        for note in &self.notes {
            match &note.span {
                Some(s) => out.push_str(&format!("  note: {} ({s})\n", note.message)),
                None => out.push_str(&format!("  note: {}\n", note.message)),
            }
        }
        if let Some(hint) = &self.hint {
            out.push_str(&format!("hint: {hint}\n"));
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.render().trim_end())
    }
}

/// Returns the candidate closest to `name` if it is close enough to be a likely typo.
pub fn nearest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_points_at_the_column() {
        let d = Diagnostic::error("unknown variable \"regoin\"")
            .with_span(
                Span {
                    file: "base/main.hcl".into(),
                    line: 3,
                    col: 12,
                    end_line: 3,
                    end_col: 22,
                },
                Some("  region = var.regoin".into()),
            )
            .with_hint("did you mean \"var.region\"?");
        let r = d.render();
        assert!(r.contains("--> base/main.hcl:3:12"), "{r}");
        assert!(r.contains("3 |   region = var.regoin"), "{r}");
        assert!(r.contains("  |            ^^^^^^^^^^\n"), "{r}");
        assert!(r.contains("hint: did you mean"), "{r}");
    }

    #[test]
    fn nearest_finds_typos_only() {
        assert_eq!(nearest("regoin", ["region", "node_size"]), Some("region"));
        assert_eq!(nearest("zzz", ["region", "node_size"]), None);
    }
}
