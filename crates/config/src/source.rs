//! Source files and the mapping from byte offsets to `line:col` spans.
//!
//! Every parsed expression keeps a handle to the file it came from, so that a diagnostic made
//! long after loading (during a plan, say) can still name the line and show its text without
//! reading the file again.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use strata_core::Span;

/// One source file: its display path (relative to the project root) and its text.
#[derive(Debug)]
pub struct SourceFile {
    path: PathBuf,
    text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> SourceFile {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile {
            path: path.into(),
            text,
            line_starts,
        }
    }

    /// The path shown in diagnostics.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// 1-based line and character column of a byte offset.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts[line - 1];
        let col = self
            .text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(offset - start);
        (line, col + 1)
    }

    /// The span of a byte range.
    pub fn span(&self, range: Range<usize>) -> Span {
        let (line, col) = self.position(range.start);
        let (end_line, end_col) = self.position(range.end.max(range.start));
        Span {
            file: self.path.clone(),
            line,
            col,
            end_line,
            end_col,
        }
    }

    /// The text of a 1-based line, without its line break.
    pub fn line_text(&self, line: usize) -> Option<String> {
        let start = *self.line_starts.get(line.checked_sub(1)?)?;
        let end = self
            .line_starts
            .get(line)
            .map(|e| e - 1)
            .unwrap_or(self.text.len());
        self.text
            .get(start..end.max(start))
            .map(|s| s.trim_end_matches('\r').to_string())
    }
}

/// Every file read while loading a project, by display path.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    files: BTreeMap<PathBuf, Arc<SourceFile>>,
}

impl Sources {
    pub fn insert(&mut self, file: Arc<SourceFile>) {
        self.files.insert(file.path.clone(), file);
    }

    pub fn get(&self, path: &Path) -> Option<&Arc<SourceFile>> {
        self.files.get(path)
    }

    /// The text of the line a span starts on, for [`strata_core::Diagnostic::with_span`].
    pub fn line(&self, span: &Span) -> Option<String> {
        self.files.get(&span.file)?.line_text(span.line)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<SourceFile>> {
        self.files.values()
    }
}

/// The project root of a stack folder: `dir` without the stack name's components.
pub(crate) fn stack_root(stack: &crate::model::Stack) -> std::path::PathBuf {
    let depth = stack.name.split('/').count();
    stack
        .dir
        .ancestors()
        .nth(depth)
        .unwrap_or(&stack.dir)
        .to_path_buf()
}

/// The line a span starts on, read from disk; for diagnostics made where no [`Sources`] is at
/// hand (spans are relative to the project root).
pub(crate) fn source_line(stack: &crate::model::Stack, span: &Span) -> Option<String> {
    let text = std::fs::read_to_string(stack_root(stack).join(&span.file)).ok()?;
    SourceFile::new(&span.file, text).line_text(span.line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters_and_lines() {
        let f = SourceFile::new("a.hcl", "x = 1\ny = \"é\" + z\n");
        assert_eq!(f.position(0), (1, 1));
        assert_eq!(f.position(6), (2, 1));
        // "é" is two bytes but one column.
        let z = f.text().find('z').unwrap();
        assert_eq!(f.position(z), (2, 11));
        assert_eq!(f.line_text(2).as_deref(), Some("y = \"é\" + z"));
        assert_eq!(f.line_text(9), None);
    }
}
