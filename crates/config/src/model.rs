//! The loaded shape of a project: stacks and their blocks, with spans for every part.
//!
//! Expressions stay unevaluated ([`Expr`]): their values depend on the environment, on other
//! stacks and on resources that may not exist yet, so the engine evaluates them as it walks.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use hcl_edit::Span as _;
use strata_core::schema::Type;
use strata_core::{Mode, Span, Value};

use crate::refs::{self, Found};
use crate::source::{SourceFile, Sources};

/// A loaded project: `strata.hcl` plus every stack below it.
#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    pub name: String,
    pub backend: Backend,
    pub environments: BTreeMap<String, Environment>,
    pub stacks: BTreeMap<String, Stack>,
    pub sources: Sources,
    /// `drift { ignore { ... } }` rules of `strata.hcl`.
    pub drift_ignores: Vec<DriftIgnore>,
    /// `encryption { passphrase_env = "..." }` of `strata.hcl`: state, journal and plan files
    /// are sealed with a key derived from the passphrase in that environment variable.
    pub encryption: Option<Encryption>,
}

/// Client-side encryption of state and plan files.
#[derive(Debug, Clone)]
pub struct Encryption {
    /// The environment variable holding the passphrase (never the passphrase itself: secrets
    /// do not live in configuration files).
    pub passphrase_env: String,
    pub span: Span,
}

impl Encryption {
    /// The variable read when the block names none.
    pub const DEFAULT_PASSPHRASE_ENV: &'static str = "STRATA_PASSPHRASE";
}

/// An attribute whose drift is not reported, optionally until a date: a value another system
/// owns (an autoscaler's node count), or a known change waiting for a fix.
#[derive(Debug, Clone)]
pub struct DriftIgnore {
    /// A resource address or pattern (`base/digitalocean_kubernetes_cluster.main`, `TYPE.NAME`).
    pub address: String,
    /// The attribute path, or a prefix of it (`node_pool[0].node_count`, `tags`); `None` for
    /// every attribute of the resource.
    pub attribute: Option<String>,
    /// The last day the rule applies (`YYYY-MM-DD`); after it, findings come back with a note.
    pub until: Option<String>,
    pub reason: Option<String>,
    pub span: Span,
}

/// Where state is kept. `kind` is `"local"` when `strata.hcl` has no backend block.
#[derive(Debug, Clone)]
pub struct Backend {
    pub kind: String,
    pub settings: BTreeMap<String, Value>,
    pub span: Option<Span>,
}

impl Default for Backend {
    fn default() -> Backend {
        Backend {
            kind: "local".into(),
            settings: BTreeMap::new(),
            span: None,
        }
    }
}

/// A named set of variable values (`stage`, `production`).
#[derive(Debug, Clone)]
pub struct Environment {
    pub name: String,
    pub variables: BTreeMap<String, Value>,
    pub span: Span,
}

/// One stack: a folder of `*.hcl` files, planned and applied as a unit.
#[derive(Debug, Clone)]
pub struct Stack {
    /// Path relative to the project root with `/` separators (`base`, `envs/shop/deploy`).
    pub name: String,
    /// Absolute folder of the stack.
    pub dir: PathBuf,
    pub variables: BTreeMap<String, Variable>,
    pub locals: BTreeMap<String, Local>,
    pub providers: Vec<ProviderBlock>,
    pub resources: Vec<ResourceBlock>,
    pub outputs: BTreeMap<String, Output>,
    pub dependencies: BTreeMap<String, Dependency>,
    /// sha256 over every file in the stack folder (not only .hcl: templates and manifests count),
    /// used to tell whether config changed since a plan was saved.
    pub digest: String,
}

impl Stack {
    /// The resource block declared as `TYPE.NAME` (or `data.TYPE.NAME`).
    pub fn resource(&self, mode: Mode, type_name: &str, name: &str) -> Option<&ResourceBlock> {
        self.resources
            .iter()
            .find(|r| r.mode == mode && r.type_name == type_name && r.name == name)
    }
}

#[derive(Debug, Clone)]
pub struct Variable {
    pub name: String,
    pub ty: Option<Type>,
    pub default: Option<Value>,
    pub description: Option<String>,
    pub sensitive: bool,
    pub validations: Vec<Validation>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Validation {
    pub condition: Expr,
    pub error_message: String,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Local {
    pub name: String,
    pub expr: Expr,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct ProviderBlock {
    pub name: String,
    pub alias: Option<String>,
    /// The configuration, without `alias`.
    pub body: Body,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct ResourceBlock {
    pub mode: Mode,
    pub type_name: String,
    pub name: String,
    /// The configuration, without the meta-arguments below.
    pub body: Body,
    pub count: Option<Expr>,
    pub for_each: Option<Expr>,
    pub depends_on: Vec<(Reference, Span)>,
    pub provider: Option<ProviderRef>,
    pub lifecycle: Lifecycle,
    pub span: Span,
}

impl ResourceBlock {
    /// The provider that serves this block: explicit `provider = NAME.ALIAS`, or the type's
    /// prefix before the first `_` (`digitalocean_vpc` → `digitalocean`).
    pub fn provider_name(&self) -> &str {
        match &self.provider {
            Some(p) => &p.name,
            None => self
                .type_name
                .split_once('_')
                .map(|(p, _)| p)
                .unwrap_or(&self.type_name),
        }
    }

    /// `TYPE.NAME` or `data.TYPE.NAME`.
    pub fn label(&self) -> String {
        match self.mode {
            Mode::Managed => format!("{}.{}", self.type_name, self.name),
            Mode::Data => format!("data.{}.{}", self.type_name, self.name),
        }
    }
}

/// `provider = aws.west` in a resource block.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderRef {
    pub name: String,
    pub alias: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lifecycle {
    pub prevent_destroy: bool,
    pub create_before_destroy: bool,
    pub ignore_changes: IgnoreChanges,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub enum IgnoreChanges {
    #[default]
    None,
    All,
    Paths(Vec<strata_core::Path>),
}

#[derive(Debug, Clone)]
pub struct Output {
    pub name: String,
    pub value: Expr,
    pub sensitive: bool,
    pub description: Option<String>,
    pub span: Span,
}

/// `dependency "NAME" { stack = "base" }`: this stack reads outputs of stack `base`.
#[derive(Debug, Clone)]
pub struct Dependency {
    pub name: String,
    pub stack: String,
    pub span: Span,
}

/// A block body kept unevaluated.
#[derive(Debug, Clone, Default)]
pub struct Body {
    pub attributes: Vec<BodyAttribute>,
    pub blocks: Vec<BodyBlock>,
}

#[derive(Debug, Clone)]
pub struct BodyAttribute {
    pub name: String,
    pub expr: Expr,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct BodyBlock {
    pub name: String,
    pub labels: Vec<String>,
    pub body: Body,
    pub span: Span,
}

impl Body {
    /// Every reference in every attribute and nested block.
    pub fn references(&self) -> Vec<Reference> {
        let mut out = Vec::new();
        for a in &self.attributes {
            out.extend(a.expr.references());
        }
        for b in &self.blocks {
            out.extend(b.body.references());
        }
        out
    }

    pub fn attribute(&self, name: &str) -> Option<&BodyAttribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// Every expression in the body, nested blocks included.
    pub fn expressions(&self) -> Vec<&Expr> {
        let mut out: Vec<&Expr> = self.attributes.iter().map(|a| &a.expr).collect();
        for b in &self.blocks {
            out.extend(b.body.expressions());
        }
        out
    }
}

/// An unevaluated HCL expression and the file it came from (for spans).
#[derive(Debug, Clone)]
pub struct Expr {
    hcl: Arc<hcl_edit::expr::Expression>,
    file: Arc<SourceFile>,
}

impl Expr {
    pub(crate) fn new(hcl: hcl_edit::expr::Expression, file: Arc<SourceFile>) -> Expr {
        Expr {
            hcl: Arc::new(hcl),
            file,
        }
    }

    /// Parses a standalone expression; `origin` names it in diagnostics (a file path or, for a
    /// value from the environment, the variable's name).
    pub fn parse(text: &str, origin: &str) -> Result<Expr, crate::Diagnostics> {
        let file = Arc::new(SourceFile::new(origin, text));
        match hcl_edit::parser::parse_expr(text) {
            Ok(e) => Ok(Expr::new(e, file)),
            Err(e) => Err(crate::load::syntax_error(&file, &e).into()),
        }
    }

    pub fn hcl(&self) -> &hcl_edit::expr::Expression {
        &self.hcl
    }

    pub fn file(&self) -> &Arc<SourceFile> {
        &self.file
    }

    /// Every reference to something outside the expression (`var.x`, `TYPE.NAME`, `each.key`…).
    pub fn references(&self) -> Vec<Reference> {
        refs::find(self)
            .into_iter()
            .filter_map(|f| match f {
                Found::Ref(r) => Some(r),
                Found::Invalid { .. } => None,
            })
            .collect()
    }

    pub fn span(&self) -> Span {
        self.file.span(self.hcl.span().unwrap_or(0..0))
    }

    /// The string if the expression is a literal string with no interpolation.
    pub fn as_static_str(&self) -> Option<String> {
        use hcl_edit::expr::Expression as E;
        use hcl_edit::template::Element;
        match self.hcl.as_ref() {
            E::String(s) => Some(s.value().clone()),
            E::StringTemplate(t) => {
                let mut out = String::new();
                for el in t.iter() {
                    match el {
                        Element::Literal(l) => out.push_str(l.value()),
                        _ => return None,
                    }
                }
                Some(out)
            }
            _ => None,
        }
    }
}

/// A reference from an expression to something declared elsewhere.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    pub kind: RefKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RefKind {
    Var(String),
    Local(String),
    Resource {
        mode: Mode,
        type_name: String,
        name: String,
    },
    /// `dependency.NAME.outputs.OUTPUT`; `output` is `None` for `dependency.NAME` as a whole.
    Dependency {
        name: String,
        output: Option<String>,
    },
    EachKey,
    EachValue,
    CountIndex,
    Env,
    /// `path.stack`, `path.root`.
    Path(String),
}

impl std::fmt::Display for RefKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RefKind::Var(n) => write!(f, "var.{n}"),
            RefKind::Local(n) => write!(f, "local.{n}"),
            RefKind::Resource {
                mode: Mode::Managed,
                type_name,
                name,
            } => write!(f, "{type_name}.{name}"),
            RefKind::Resource {
                mode: Mode::Data,
                type_name,
                name,
            } => write!(f, "data.{type_name}.{name}"),
            RefKind::Dependency { name, output: None } => write!(f, "dependency.{name}"),
            RefKind::Dependency {
                name,
                output: Some(o),
            } => write!(f, "dependency.{name}.outputs.{o}"),
            RefKind::EachKey => f.write_str("each.key"),
            RefKind::EachValue => f.write_str("each.value"),
            RefKind::CountIndex => f.write_str("count.index"),
            RefKind::Env => f.write_str("env"),
            RefKind::Path(p) => write!(f, "path.{p}"),
        }
    }
}
