//! Loading a project from disk: find the stacks, parse every file, and decode the blocks.
//!
//! Loading goes on after an error so that one run reports every problem it can find: a file
//! that does not parse is skipped, a block that does not decode is left out, and the errors are
//! returned together.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hcl_edit::expr::{Expression, TraversalOperator};
use hcl_edit::structure::{Block, Body as HclBody, Structure};
use hcl_edit::Span as _;
use sha2::{Digest, Sha256};
use strata_core::diagnostic::nearest;
use strata_core::{Diagnostic, Mode, PathStep, Value};

use crate::diagnostics::{error_at, Diagnostics};
use crate::eval::{eval, Scope};
use crate::model::*;
use crate::source::{SourceFile, Sources};

mod discover;
mod project;
mod stack;

use discover::hcl_files;

/// The name of the file that marks a project root.
pub const PROJECT_FILE: &str = "strata.hcl";

const STACK_BLOCKS: &[&str] = &[
    "variable",
    "locals",
    "provider",
    "resource",
    "data",
    "output",
    "dependency",
];
const PROJECT_BLOCKS: &[&str] = &["project", "backend", "environment", "drift", "encryption"];

/// Loads the project at `root`, reporting every error it can find.
pub fn load_project(root: &Path) -> Result<Project, Diagnostics> {
    match load_project_partial(root) {
        (Some(project), diags) if !diags.has_errors() => Ok(project),
        (_, diags) => Err(diags),
    }
}

/// Loads as much of a project as can be loaded, with every diagnostic found on the way: a file
/// that does not parse or a block that is broken is left out, the rest is kept, so that
/// `strata validate` can go on checking it and report every error in one run. `None` only when
/// there is no project file at all.
pub fn load_project_partial(root: &Path) -> (Option<Project>, Diagnostics) {
    let root = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
    let mut loader = Loader {
        root: root.clone(),
        sources: Sources::default(),
        diags: Diagnostics::new(),
        resource_index: Default::default(),
        drift_ignores: Vec::new(),
        encryption: None,
    };
    let project_file = root.join(PROJECT_FILE);
    if !project_file.is_file() {
        let d = Diagnostic::error(format!("no {PROJECT_FILE} in {}", root.display()))
            .with_hint(format!("a project is a folder with {PROJECT_FILE} at its root, holding at least: project \"NAME\" {{}}"));
        return (None, d.into());
    }
    let (name, backend, environments) = loader.project_file();
    let mut stacks = BTreeMap::new();
    for (name, dir) in loader.find_stacks() {
        let stack = loader.stack(&name, &dir);
        stacks.insert(name, stack);
    }
    let project = Project {
        root,
        name: name.unwrap_or_default(),
        backend,
        environments,
        stacks,
        sources: loader.sources,
        drift_ignores: loader.drift_ignores,
        encryption: loader.encryption,
    };
    (Some(project), loader.diags)
}

/// The diagnostic for a parse error.
pub(crate) fn syntax_error(file: &SourceFile, e: &hcl_edit::parser::Error) -> Diagnostic {
    let offset = e.location().offset();
    error_at(file, offset..offset + 1, "Invalid HCL syntax").with_detail(e.message())
}

/// The scope of expressions that must be constant: defaults, environment values, backend settings.
pub(crate) struct ConstScope<'a> {
    pub env: &'a str,
    pub stack_dir: &'a Path,
    pub root: &'a Path,
}

impl Scope for ConstScope<'_> {
    fn variable(&self, _: &str) -> Option<Value> {
        None
    }
    fn local(&self, _: &str) -> Option<Value> {
        None
    }
    fn resource(&self, _: Mode, _: &str, _: &str) -> Option<Value> {
        None
    }
    fn dependency_outputs(&self, _: &str) -> Option<Value> {
        None
    }
    fn env(&self) -> &str {
        self.env
    }
    fn stack_dir(&self) -> &Path {
        self.stack_dir
    }
    fn project_root(&self) -> &Path {
        self.root
    }
}

struct Loader {
    root: PathBuf,
    sources: Sources,
    diags: Diagnostics,
    /// Position of each resource block of the stack being loaded in `Stack::resources`, so that
    /// duplicate detection stays linear in the number of blocks.
    resource_index: std::collections::HashMap<(Mode, String, String), usize>,
    /// `drift { ignore { ... } }` rules found in `strata.hcl`.
    drift_ignores: Vec<crate::model::DriftIgnore>,
    encryption: Option<crate::model::Encryption>,
}

/// A place in a file: the file and a byte range.
fn span_of(file: &SourceFile, range: Option<std::ops::Range<usize>>) -> strata_core::Span {
    file.span(range.unwrap_or(0..0))
}

/// The header of a block (`resource "t" "n"`), where block-level diagnostics point.
fn header_range(block: &Block) -> Option<std::ops::Range<usize>> {
    let start = block.ident.span()?.start;
    let end = block
        .labels
        .last()
        .and_then(|l| l.span())
        .or_else(|| block.ident.span())?
        .end;
    Some(start..end)
}

impl Loader {
    fn err(
        &mut self,
        file: &SourceFile,
        range: Option<std::ops::Range<usize>>,
        summary: impl Into<String>,
    ) -> &mut Diagnostic {
        self.diags
            .push(error_at(file, range.unwrap_or(0..0), summary));
        self.diags.0.last_mut().expect("just pushed")
    }

    fn rel(&self, path: &Path) -> PathBuf {
        path.strip_prefix(&self.root).unwrap_or(path).to_path_buf()
    }

    fn parse(&mut self, path: &Path) -> Option<(Arc<SourceFile>, HclBody)> {
        let rel = self.rel(path);
        let text = match std::fs::read(path) {
            Ok(b) => match String::from_utf8(b) {
                Ok(t) => t,
                Err(_) => {
                    self.diags.push(Diagnostic::error(format!(
                        "{} is not valid UTF-8 text",
                        rel.display()
                    )));
                    return None;
                }
            },
            Err(e) => {
                self.diags.push(Diagnostic::error(format!(
                    "cannot read {}: {e}",
                    rel.display()
                )));
                return None;
            }
        };
        let file = Arc::new(SourceFile::new(rel, text));
        self.sources.insert(file.clone());
        match hcl_edit::parser::parse_body(file.text()) {
            Ok(body) => Some((file, body)),
            Err(e) => {
                self.diags.push(syntax_error(&file, &e));
                None
            }
        }
    }

    fn const_value(
        &mut self,
        file: &Arc<SourceFile>,
        e: &Expression,
        env: &str,
        dir: &Path,
    ) -> Option<Value> {
        let expr = Expr::new(e.clone(), file.clone());
        if let Some(r) = expr
            .references()
            .into_iter()
            .find(|r| r.kind != RefKind::Env && !matches!(r.kind, RefKind::Path(_)))
        {
            let line = file.line_text(r.span.line);
            self.diags.push(
                Diagnostic::error("Variables not allowed")
                    .with_span(r.span.clone(), line)
                    .with_detail(format!("This value must be known when the configuration is loaded; it cannot refer to {}.", r.kind)),
            );
            return None;
        }
        let root = self.root.clone();
        match eval(
            &expr,
            &ConstScope {
                env,
                stack_dir: dir,
                root: &root,
            },
        ) {
            Ok(v) => Some(v),
            Err(d) => {
                self.diags.extend(d);
                None
            }
        }
    }

    fn const_string(
        &mut self,
        file: &Arc<SourceFile>,
        e: &Expression,
        what: &str,
        dir: &Path,
    ) -> Option<String> {
        match self.const_value(file, e, "", dir)? {
            Value::String(s) => Some(s),
            other => {
                self.err(file, e.span(), format!("Incorrect {what} type"))
                    .detail = Some(format!(
                    "A string is required, found {}.",
                    other.type_name()
                ));
                None
            }
        }
    }

    fn const_bool(
        &mut self,
        file: &Arc<SourceFile>,
        e: &Expression,
        what: &str,
        dir: &Path,
    ) -> bool {
        match self.const_value(file, e, "", dir) {
            Some(Value::Bool(b)) => b,
            Some(other) => {
                self.err(file, e.span(), format!("Incorrect {what} type"))
                    .detail = Some(format!("A bool is required, found {}.", other.type_name()));
                false
            }
            None => false,
        }
    }

    /// Checks a block has exactly the labels `names` and returns them.
    fn labels(&mut self, file: &SourceFile, block: &Block, names: &[&str]) -> Option<Vec<String>> {
        if block.labels.len() == names.len() {
            return Some(
                block
                    .labels
                    .iter()
                    .map(|l| l.as_str().to_string())
                    .collect(),
            );
        }
        let kind = block.ident.as_str();
        let want = if names.is_empty() {
            format!("A {kind} block has no labels.")
        } else {
            format!(
                "A {kind} block needs {} label{}: {}.",
                names.len(),
                if names.len() == 1 { "" } else { "s" },
                names.join(" and ")
            )
        };
        let example = format!(
            "{kind}{} {{ … }}",
            names
                .iter()
                .map(|n| format!(" \"{n}\""))
                .collect::<String>()
        );
        let d = self.err(
            file,
            header_range(block),
            format!("Wrong number of labels on the {kind} block"),
        );
        d.detail = Some(want);
        d.hint = Some(format!("write it as {example}"));
        None
    }

    fn unsupported_block(
        &mut self,
        file: &SourceFile,
        block: &Block,
        allowed: &[&str],
        place: &str,
    ) {
        let name = block.ident.as_str().to_string();
        let d = self.err(
            file,
            block.ident.span(),
            format!("Unsupported block type \"{name}\""),
        );
        d.detail = Some(format!(
            "Blocks of type \"{name}\" are not expected {place}."
        ));
        if let Some(n) = nearest(&name, allowed.iter().copied()) {
            d.hint = Some(format!("did you mean \"{n}\"?"));
        }
    }

    fn unsupported_attr(
        &mut self,
        file: &SourceFile,
        attr: &hcl_edit::structure::Attribute,
        allowed: &[&str],
        place: &str,
    ) {
        let name = attr.key.as_str().to_string();
        let d = self.err(
            file,
            attr.key.span(),
            format!("Unsupported argument \"{name}\""),
        );
        d.detail = Some(format!(
            "An argument named \"{name}\" is not expected {place}."
        ));
        if let Some(n) = nearest(&name, allowed.iter().copied()) {
            d.hint = Some(format!("did you mean \"{n}\"?"));
        }
    }
}
