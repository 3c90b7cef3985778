//! The expression evaluator.
//!
//! It walks hcl-edit's expression tree directly because values here carry two marks that a
//! plain HCL evaluator has no room for:
//! - **unknown**: anything computed from an unknown is unknown, except where the structure of a
//!   known collection is all that matters (`length`, `keys` of a map whose values are unknown);
//! - **sensitive**: anything computed from a sensitive operand is wrapped [`Value::Sensitive`].
//!
//! Evaluation stops at the first error in an expression; [`eval_body`] evaluates every attribute
//! so that one run reports each broken one.

mod functions;
mod marks;
mod template;

use std::collections::btree_map::Entry;
use std::ops::Range;
use std::path::Path;

use hcl_edit::expr::{BinaryOperator, Expression, TraversalOperator, UnaryOperator};
use hcl_edit::{Decorated, Span as _};
use strata_core::diagnostic::nearest;
use strata_core::schema::Type;
use strata_core::{Diagnostic, Mode, Value};

use crate::diagnostics::{error_at, Diagnostics};
use crate::model::{Body, Expr};
use crate::source::SourceFile;
use marks::{mark, split};

/// What an expression can see. The engine implements it; values it returns may be Unknown or
/// Sensitive.
pub trait Scope {
    fn variable(&self, name: &str) -> Option<Value>;
    fn local(&self, name: &str) -> Option<Value>;
    /// Whole resource value: an object for a single resource, a List for `count`, a Map for
    /// `for_each`; Value::Unknown when not known yet (e.g. for_each over unknown keys).
    fn resource(&self, mode: Mode, type_name: &str, name: &str) -> Option<Value>;
    /// Map of the dependency's outputs, or Value::Unknown when the upstream stack has not been
    /// applied.
    fn dependency_outputs(&self, name: &str) -> Option<Value>;
    fn each(&self) -> Option<(Value, Value)> {
        None
    }
    fn count_index(&self) -> Option<i64> {
        None
    }
    fn env(&self) -> &str;
    fn stack_dir(&self) -> &Path;
    fn project_root(&self) -> &Path;
}

/// Evaluates one expression.
pub fn eval(expr: &Expr, scope: &dyn Scope) -> Result<Value, Diagnostics> {
    Evaluator::new(scope, expr.file())
        .expr(expr.hcl())
        .map_err(|d| Diagnostics::from(*d))
}

/// Evaluates a body: attributes become map entries; nested blocks become a list of maps per
/// block name (the engine normalises single blocks using the schema). Every attribute is
/// evaluated, so the error holds one diagnostic per broken attribute.
pub fn eval_body(body: &Body, scope: &dyn Scope) -> Result<Value, Diagnostics> {
    let mut out = std::collections::BTreeMap::new();
    let mut diags = Diagnostics::new();
    for a in &body.attributes {
        match eval(&a.expr, scope) {
            Ok(v) => {
                out.insert(a.name.clone(), v);
            }
            Err(d) => diags.extend(d),
        }
    }
    for b in &body.blocks {
        match eval_body(&b.body, scope) {
            Ok(v) => {
                let entry = out
                    .entry(b.name.clone())
                    .or_insert_with(|| Value::List(Vec::new()));
                if let Value::List(items) = entry {
                    items.push(v);
                }
            }
            Err(d) => diags.extend(d),
        }
    }
    if diags.is_empty() {
        Ok(Value::Map(out))
    } else {
        Err(diags)
    }
}

/// Errors are boxed: they are rare, and a small `Result` keeps the recursive walk cheap.
type Result<T, E = Box<Diagnostic>> = std::result::Result<T, E>;

/// The builder methods of [`Diagnostic`] on a boxed one.
trait BoxedDiagnostic {
    fn with_detail(self, detail: impl Into<String>) -> Self;
    fn with_hint(self, hint: impl Into<String>) -> Self;
}

impl BoxedDiagnostic for Box<Diagnostic> {
    fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
    fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

pub(crate) struct Evaluator<'a> {
    scope: &'a dyn Scope,
    file: &'a SourceFile,
    /// Names bound by `for` expressions and directives, innermost last.
    bound: Vec<(String, Value)>,
}

impl<'a> Evaluator<'a> {
    pub(crate) fn new(scope: &'a dyn Scope, file: &'a SourceFile) -> Evaluator<'a> {
        Evaluator {
            scope,
            file,
            bound: Vec::new(),
        }
    }

    fn error(&self, range: Option<Range<usize>>, summary: impl Into<String>) -> Box<Diagnostic> {
        Box::new(error_at(self.file, range.unwrap_or(0..0), summary))
    }

    pub(crate) fn expr(&mut self, e: &Expression) -> Result<Value> {
        match e {
            Expression::Null(_) => Ok(Value::Null),
            Expression::Bool(b) => Ok(Value::Bool(*b.value())),
            Expression::Number(n) => Ok(Value::Number(n.as_f64().unwrap_or(f64::NAN))),
            Expression::String(s) => Ok(Value::String(s.value().clone())),
            Expression::Array(a) => Ok(Value::List(
                a.iter().map(|x| self.expr(x)).collect::<Result<_>>()?,
            )),
            Expression::Object(o) => self.object(o),
            Expression::StringTemplate(t) => self.string_template(t),
            Expression::HeredocTemplate(h) => self.render_template(&h.template),
            Expression::Parenthesis(p) => self.expr(p.inner()),
            Expression::Variable(v) => {
                let (value, _) = self.root(v, &[])?;
                Ok(value)
            }
            Expression::Conditional(c) => {
                let (cond, sensitive) = split(self.expr(&c.cond_expr)?);
                if cond.is_unknown() {
                    return Ok(mark(Value::Unknown, sensitive));
                }
                let cond = match Type::Bool.convert(&cond) {
                    Ok(Value::Bool(b)) => b,
                    _ => {
                        return Err(self
                            .error(c.cond_expr.span(), "Incorrect condition type")
                            .with_detail(format!(
                                "The condition expression must be a bool, found {}.",
                                cond.type_name()
                            )))
                    }
                };
                let v = self.expr(if cond { &c.true_expr } else { &c.false_expr })?;
                Ok(mark(v, sensitive))
            }
            Expression::FuncCall(f) => self.call(f),
            Expression::Traversal(t) => {
                let (value, used) = match &t.expr {
                    Expression::Variable(v) => self.root(v, &t.operators)?,
                    other => (self.expr(other)?, 0),
                };
                self.traverse(value, &t.operators[used..])
            }
            Expression::UnaryOp(u) => {
                let (v, sensitive) = split(self.expr(&u.expr)?);
                if v.is_unknown() {
                    return Ok(mark(Value::Unknown, sensitive));
                }
                let out = match u.operator.value() {
                    UnaryOperator::Neg => {
                        Value::Number(-self.number(&v, sensitive, u.expr.span())?)
                    }
                    UnaryOperator::Not => {
                        Value::Bool(!self.boolean(&v, sensitive, u.expr.span())?)
                    }
                };
                Ok(mark(out, sensitive))
            }
            Expression::BinaryOp(b) => self.binary(b),
            Expression::ForExpr(f) => self.for_expr(f),
        }
    }

    fn object(&mut self, o: &hcl_edit::expr::Object) -> Result<Value> {
        let mut out = std::collections::BTreeMap::new();
        let mut unknown = false;
        let mut sensitive = false;
        for (k, v) in o.iter() {
            let key = match k {
                hcl_edit::expr::ObjectKey::Ident(i) => i.as_str().to_string(),
                hcl_edit::expr::ObjectKey::Expression(e) => {
                    let (kv, s) = split(self.expr(e)?);
                    sensitive |= s;
                    if kv.is_unknown() {
                        unknown = true;
                        continue;
                    }
                    match Type::String.convert(&kv) {
                        Ok(Value::String(s)) => s,
                        _ => {
                            return Err(self.error(e.span(), "Invalid object key").with_detail(
                                format!(
                                    "An object key must be a string, found {}.",
                                    kv.type_name()
                                ),
                            ))
                        }
                    }
                }
            };
            let value = self.expr(v.expr())?;
            out.insert(key, value);
        }
        let v = if unknown {
            Value::Unknown
        } else {
            Value::Map(out)
        };
        Ok(mark(v, sensitive))
    }

    /// Resolves the name a traversal starts at, consuming the attributes that belong to it
    /// (`var.NAME`, `TYPE.NAME`, `data.TYPE.NAME`…). Returns the value and how many operators
    /// were used.
    fn root(
        &mut self,
        var: &Decorated<hcl_edit::Ident>,
        ops: &[Decorated<TraversalOperator>],
    ) -> Result<(Value, usize)> {
        let name = var.as_str();
        if let Some((_, v)) = self.bound.iter().rev().find(|(n, _)| n == name) {
            return Ok((v.clone(), 0));
        }
        let start = var.span().map(|r| r.start).unwrap_or(0);
        let attr = |i: usize| match ops.get(i).map(|o| o.value()) {
            Some(TraversalOperator::GetAttr(a)) => Some(a.as_str()),
            _ => None,
        };
        let through = |i: usize| {
            let end = ops
                .get(i)
                .and_then(|o| o.span())
                .or_else(|| var.span())
                .map(|r| r.end)
                .unwrap_or(start);
            Some(start..end)
        };
        let scope = self.scope;
        match name {
            "var" | "local" => {
                let Some(n) = attr(0) else {
                    return Err(self.error(var.span(), format!("Invalid reference: \"{name}\" needs an attribute name, as in {name}.NAME")));
                };
                let found = if name == "var" {
                    scope.variable(n)
                } else {
                    scope.local(n)
                };
                match found {
                    Some(v) => Ok((v, 1)),
                    None if name == "var" => Err(self
                        .error(through(0), "Reference to undeclared input variable")
                        .with_detail(format!(
                            "No variable named \"{n}\" is declared in this stack."
                        ))),
                    None => Err(self
                        .error(through(0), "Reference to undeclared local value")
                        .with_detail(format!(
                            "No local value named \"{n}\" is declared in this stack."
                        ))),
                }
            }
            "each" => {
                let Some((k, v)) = scope.each() else {
                    return Err(self
                        .error(through(0), "Reference to \"each\" in context without for_each")
                        .with_detail("\"each.key\" and \"each.value\" can only be used in a block that sets for_each."));
                };
                match attr(0) {
                    Some("key") => Ok((k, 1)),
                    Some("value") => Ok((v, 1)),
                    _ => Err(self
                        .error(through(0), "Invalid \"each\" attribute")
                        .with_detail("\"each\" has only the attributes \"key\" and \"value\".")),
                }
            }
            "count" => match (scope.count_index(), attr(0)) {
                (None, _) => Err(self
                    .error(
                        through(0),
                        "Reference to \"count\" in context without count",
                    )
                    .with_detail("\"count.index\" can only be used in a block that sets count.")),
                (Some(i), Some("index")) => Ok((Value::Number(i as f64), 1)),
                _ => Err(self
                    .error(through(0), "Invalid \"count\" attribute")
                    .with_detail("\"count\" has only the attribute \"index\".")),
            },
            "env" => Ok((Value::String(scope.env().to_string()), 0)),
            "path" => {
                let dir = match attr(0) {
                    Some("stack" | "module") => scope.stack_dir(),
                    Some("root") => scope.project_root(),
                    _ => {
                        return Err(self
                            .error(through(0), "Invalid \"path\" attribute")
                            .with_detail("\"path\" has the attributes \"stack\" and \"root\"."))
                    }
                };
                Ok((Value::String(dir.display().to_string()), 1))
            }
            "data" => {
                let (Some(t), Some(n)) = (attr(0), attr(1)) else {
                    return Err(self
                        .error(through(1), "Invalid data source reference")
                        .with_detail("A data source is referenced as data.TYPE.NAME."));
                };
                match scope.resource(Mode::Data, t, n) {
                    Some(v) => Ok((v, 2)),
                    None => Err(self
                        .error(through(1), "Reference to undeclared resource")
                        .with_detail(format!(
                            "A data source \"{t}\" \"{n}\" has not been declared in this stack."
                        ))),
                }
            }
            "dependency" => {
                let Some(n) = attr(0) else {
                    return Err(self
                        .error(var.span(), "Invalid dependency reference")
                        .with_detail(
                            "A dependency is referenced as dependency.NAME.outputs.OUTPUT.",
                        ));
                };
                let Some(outputs) = scope.dependency_outputs(n) else {
                    return Err(self
                        .error(through(0), "Reference to undeclared dependency")
                        .with_detail(format!(
                            "No dependency named \"{n}\" is declared in this stack."
                        )));
                };
                if attr(1) == Some("outputs") {
                    Ok((outputs, 2))
                } else {
                    Ok((Value::map([("outputs", outputs)]), 1))
                }
            }
            type_name => {
                let Some(n) = attr(0) else {
                    return Err(self.error(var.span(), format!("Unknown variable \"{type_name}\"")).with_detail(
                        "A bare name must be var.NAME, local.NAME, a resource TYPE.NAME, env, or a for variable.",
                    ));
                };
                match scope.resource(Mode::Managed, type_name, n) {
                    Some(v) => Ok((v, 1)),
                    None => Err(self
                        .error(through(0), "Reference to undeclared resource")
                        .with_detail(format!("A managed resource \"{type_name}\" \"{n}\" has not been declared in this stack."))),
                }
            }
        }
    }

    /// Applies attribute access, indexes and splats.
    fn traverse(
        &mut self,
        mut value: Value,
        ops: &[Decorated<TraversalOperator>],
    ) -> Result<Value> {
        let mut i = 0;
        while i < ops.len() {
            let op = &ops[i];
            match op.value() {
                TraversalOperator::GetAttr(name) => {
                    value = self.get_attr(value, name.as_str(), op.span())?;
                }
                TraversalOperator::Index(key) => {
                    let k = self.expr(key)?;
                    value = self.index(value, k, op.span())?;
                }
                TraversalOperator::LegacyIndex(n) => {
                    value = self.index(value, Value::Number(*n.value() as f64), op.span())?;
                }
                TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_) => {
                    let full = matches!(op.value(), TraversalOperator::FullSplat(_));
                    let rest = &ops[i + 1..];
                    let n = if full {
                        rest.len()
                    } else {
                        rest.iter()
                            .take_while(|o| {
                                matches!(
                                    o.value(),
                                    TraversalOperator::GetAttr(_)
                                        | TraversalOperator::LegacyIndex(_)
                                )
                            })
                            .count()
                    };
                    value = self.splat(value, &rest[..n])?;
                    i += n;
                }
            }
            i += 1;
        }
        Ok(value)
    }

    fn splat(&mut self, value: Value, ops: &[Decorated<TraversalOperator>]) -> Result<Value> {
        let (value, sensitive) = split(value);
        let items = match value {
            Value::Unknown => return Ok(mark(Value::Unknown, sensitive)),
            Value::Null => Vec::new(),
            Value::List(items) => items,
            other => vec![other],
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(self.traverse(item, ops)?);
        }
        Ok(mark(Value::List(out), sensitive))
    }

    fn get_attr(&self, value: Value, name: &str, range: Option<Range<usize>>) -> Result<Value> {
        let (value, sensitive) = split(value);
        match value {
            Value::Unknown => Ok(mark(Value::Unknown, sensitive)),
            Value::Map(mut m) => match m.remove(name) {
                Some(v) => Ok(mark(v, sensitive)),
                None => {
                    let mut d = self
                        .error(range, "Unsupported attribute")
                        .with_detail(format!(
                            "This object does not have an attribute named \"{name}\"."
                        ));
                    if let Some(n) = nearest(name, m.keys().map(String::as_str)) {
                        d = d.with_hint(format!("did you mean \"{n}\"?"));
                    }
                    Err(d)
                }
            },
            Value::Null => Err(self
                .error(range, "Attempt to get attribute from null value")
                .with_detail(format!(
                    "This value is null, so it does not have an attribute named \"{name}\"."
                ))),
            Value::List(_) => Err(self
                .error(range, "Unsupported attribute")
                .with_detail(format!(
                    "This value is a list, so it does not have an attribute named \"{name}\"."
                ))
                .with_hint(
                    "use an index ([0]) or a splat ([*]) to reach the attributes of its elements",
                )),
            other => Err(self
                .error(range, "Unsupported attribute")
                .with_detail(format!(
                    "Can't access attributes on a value of type {}.",
                    other.type_name()
                ))),
        }
    }

    fn index(&self, value: Value, key: Value, range: Option<Range<usize>>) -> Result<Value> {
        let (value, s1) = split(value);
        let (key, s2) = split(key);
        let sensitive = s1 || s2;
        if value.is_unknown() || key.is_unknown() {
            return Ok(mark(Value::Unknown, sensitive));
        }
        let invalid = |detail: String| {
            self.error(range.clone(), "Invalid index")
                .with_detail(detail)
        };
        match value {
            Value::List(mut items) => {
                let len = items.len();
                let i = match Type::Number.convert(&key) {
                    Ok(Value::Number(n)) if n.fract() == 0.0 && n >= 0.0 => n as usize,
                    _ => {
                        return Err(invalid(format!(
                            "A list is indexed by a whole number of zero or more, found {}.",
                            describe(&key, s2)
                        )))
                    }
                };
                if i >= len {
                    return Err(invalid(format!(
                        "The given key does not identify an element in this collection value: index {i} is out of range for a list of {len} element{}.",
                        if len == 1 { "" } else { "s" }
                    )));
                }
                Ok(mark(items.swap_remove(i), sensitive))
            }
            Value::Map(mut m) => {
                let k = match Type::String.convert(&key) {
                    Ok(Value::String(s)) => s,
                    _ => {
                        return Err(invalid(format!(
                            "A map is indexed by a string, found {}.",
                            key.type_name()
                        )))
                    }
                };
                match m.remove(&k) {
                    Some(v) => Ok(mark(v, sensitive)),
                    None => {
                        let shown = if s2 {
                            "(sensitive)".to_string()
                        } else {
                            format!("{k:?}")
                        };
                        let mut d = invalid(format!(
                            "The given key does not identify an element in this collection value: there is no key {shown}."
                        ));
                        if let Some(n) = nearest(&k, m.keys().map(String::as_str)).filter(|_| !s2) {
                            d = d.with_hint(format!("did you mean {n:?}?"));
                        }
                        Err(d)
                    }
                }
            }
            Value::Null => Err(self
                .error(range, "Attempt to index null value")
                .with_detail("This value is null, so it has no elements.")),
            other => Err(invalid(format!(
                "A value of type {} has no elements to index.",
                other.type_name()
            ))),
        }
    }

    /// `v` as a number; `hidden` keeps a sensitive operand out of the error message.
    fn number(&self, v: &Value, hidden: bool, range: Option<Range<usize>>) -> Result<f64> {
        match Type::Number.convert(v) {
            Ok(Value::Number(n)) => Ok(n),
            _ => Err(self.error(range, "Invalid operand").with_detail(format!(
                "A number is required here, found {}.",
                describe(v, hidden)
            ))),
        }
    }

    fn boolean(&self, v: &Value, hidden: bool, range: Option<Range<usize>>) -> Result<bool> {
        match Type::Bool.convert(v) {
            Ok(Value::Bool(b)) => Ok(b),
            _ => Err(self.error(range, "Invalid operand").with_detail(format!(
                "A bool is required here, found {}.",
                describe(v, hidden)
            ))),
        }
    }

    fn binary(&mut self, b: &hcl_edit::expr::BinaryOp) -> Result<Value> {
        use BinaryOperator as Op;
        let op = *b.operator.value();
        let (lhs, ls) = split(self.expr(&b.lhs_expr)?);
        // `false && x` and `true || x` do not look at x, so that guards such as
        // `var.x != null && var.x.y` work.
        if matches!(op, Op::And | Op::Or) && !lhs.is_unknown() {
            let l = self.boolean(&lhs, ls, b.lhs_expr.span())?;
            if (op == Op::And && !l) || (op == Op::Or && l) {
                return Ok(mark(Value::Bool(l), ls));
            }
        }
        let rhs_full = self.expr(&b.rhs_expr)?;
        if matches!(op, Op::Eq | Op::NotEq) {
            let lhs_full = mark(lhs, ls);
            let sensitive = lhs_full.contains_sensitive() || rhs_full.contains_sensitive();
            if !lhs_full.is_wholly_known() || !rhs_full.is_wholly_known() {
                return Ok(mark(Value::Unknown, sensitive));
            }
            let eq = values_equal(&lhs_full.unmark().0, &rhs_full.unmark().0);
            return Ok(mark(Value::Bool(eq == (op == Op::Eq)), sensitive));
        }
        let (rhs, rs) = split(rhs_full);
        let sensitive = ls || rs;
        if lhs.is_unknown() || rhs.is_unknown() {
            return Ok(mark(Value::Unknown, sensitive));
        }
        let (lr, rr) = (b.lhs_expr.span(), b.rhs_expr.span());
        let out = match op {
            Op::And | Op::Or => Value::Bool(self.boolean(&rhs, rs, rr)?),
            Op::Eq | Op::NotEq => unreachable!("handled above"),
            Op::Less | Op::LessEq | Op::Greater | Op::GreaterEq => {
                let (l, r) = (self.number(&lhs, ls, lr)?, self.number(&rhs, rs, rr)?);
                Value::Bool(match op {
                    Op::Less => l < r,
                    Op::LessEq => l <= r,
                    Op::Greater => l > r,
                    _ => l >= r,
                })
            }
            Op::Plus | Op::Minus | Op::Mul | Op::Div | Op::Mod => {
                let (l, r) = (self.number(&lhs, ls, lr)?, self.number(&rhs, rs, rr)?);
                if matches!(op, Op::Div | Op::Mod) && r == 0.0 {
                    return Err(self
                        .error(b.span(), "Division by zero")
                        .with_detail("The right-hand side of a division or modulo is zero."));
                }
                Value::Number(match op {
                    Op::Plus => l + r,
                    Op::Minus => l - r,
                    Op::Mul => l * r,
                    Op::Div => l / r,
                    _ => l % r,
                })
            }
        };
        Ok(mark(out, sensitive))
    }

    fn for_expr(&mut self, f: &hcl_edit::expr::ForExpr) -> Result<Value> {
        let coll = self.expr(&f.intro.collection_expr)?;
        let (coll, sensitive) = split(coll);
        let pairs = match self.iterable(coll, f.intro.collection_expr.span())? {
            Some(p) => p,
            None => return Ok(mark(Value::Unknown, sensitive)),
        };
        let key_var = f.intro.key_var.as_ref().map(|k| k.as_str().to_string());
        let value_var = f.intro.value_var.as_str().to_string();
        let mut list = Vec::new();
        let mut map: std::collections::BTreeMap<String, Value> = Default::default();
        let mut unknown = false;
        for (k, v) in pairs {
            let n = self.bound.len();
            if let Some(kv) = &key_var {
                self.bound.push((kv.clone(), k));
            }
            self.bound.push((value_var.clone(), v));
            let step = self.for_step(f);
            self.bound.truncate(n);
            match step? {
                Step::Skip => {}
                Step::Unknown => unknown = true,
                Step::Item(v) => list.push(v),
                Step::Entry(k, v) => {
                    if f.grouping {
                        let e = map.entry(k).or_insert_with(|| Value::List(Vec::new()));
                        if let Value::List(items) = e {
                            items.push(v);
                        }
                    } else {
                        match map.entry(k) {
                            Entry::Vacant(e) => {
                                e.insert(v);
                            }
                            Entry::Occupied(e) => return Err(self
                                .error(
                                    f.key_expr.as_ref().and_then(|e| e.span()),
                                    "Duplicate object key",
                                )
                                .with_detail(format!("Two elements produce the key {:?}.", e.key()))
                                .with_hint(
                                    "add \"...\" after the value expression to group values by key",
                                )),
                        }
                    }
                }
            }
        }
        let out = if unknown {
            Value::Unknown
        } else if f.key_expr.is_some() {
            Value::Map(map)
        } else {
            Value::List(list)
        };
        Ok(mark(out, sensitive))
    }

    fn for_step(&mut self, f: &hcl_edit::expr::ForExpr) -> Result<Step> {
        if let Some(c) = &f.cond {
            let (cv, s) = split(self.expr(&c.expr)?);
            if cv.is_unknown() {
                return Ok(Step::Unknown);
            }
            if !self.boolean(&cv, s, c.expr.span())? {
                return Ok(Step::Skip);
            }
        }
        let value = self.expr(&f.value_expr)?;
        match &f.key_expr {
            None => Ok(Step::Item(value)),
            Some(ke) => {
                let (k, _) = split(self.expr(ke)?);
                if k.is_unknown() {
                    return Ok(Step::Unknown);
                }
                match Type::String.convert(&k) {
                    Ok(Value::String(s)) => Ok(Step::Entry(s, value)),
                    _ => Err(self
                        .error(ke.span(), "Invalid object key")
                        .with_detail(format!(
                            "An object key must be a string, found {}.",
                            k.type_name()
                        ))),
                }
            }
        }
    }

    /// The (key, value) pairs of a list or map; `None` when the collection is unknown.
    fn iterable(
        &self,
        coll: Value,
        range: Option<Range<usize>>,
    ) -> Result<Option<Vec<(Value, Value)>>> {
        match coll {
            Value::Unknown => Ok(None),
            Value::List(items) => Ok(Some(
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| (Value::Number(i as f64), v))
                    .collect(),
            )),
            Value::Map(m) => Ok(Some(
                m.into_iter().map(|(k, v)| (Value::String(k), v)).collect(),
            )),
            Value::Null => Err(self
                .error(range, "Iteration over null value")
                .with_detail("A null value cannot be used as the collection in a for expression.")),
            other => Err(self
                .error(range, "Iteration over non-iterable value")
                .with_detail(format!(
                    "A value of type {} cannot be used as the collection in a for expression.",
                    other.type_name()
                ))),
        }
    }

    fn call(&mut self, f: &hcl_edit::expr::FuncCall) -> Result<Value> {
        let name = f.name.name.as_str();
        let range = f.name.name.span().or_else(|| f.span());
        if !f.name.namespace.is_empty() {
            return Err(self
                .error(range, "Call to unknown function")
                .with_detail("Namespaced functions are not supported."));
        }
        match name {
            "try" => return self.call_try(f),
            "can" => {
                if f.args.len() != 1 {
                    return Err(self.error(
                        range,
                        "Call to function \"can\" failed: expects exactly one argument",
                    ));
                }
                let arg = f.args.get(0).expect("one argument");
                return Ok(match self.expr(arg) {
                    Ok(v) if v.is_unknown() => Value::Unknown,
                    Ok(_) => Value::Bool(true),
                    Err(_) => Value::Bool(false),
                });
            }
            _ => {}
        }
        let Some(func) = functions::lookup(name) else {
            let mut d = self
                .error(range, "Call to unknown function")
                .with_detail(format!("There is no function named \"{name}\"."));
            if let Some(n) = nearest(name, functions::names()) {
                d = d.with_hint(format!("did you mean \"{n}\"?"));
            }
            return Err(d);
        };
        let mut args = f
            .args
            .iter()
            .map(|a| self.expr(a))
            .collect::<Result<Vec<_>>>()?;
        if f.args.expand_final() {
            let (last, s) = split(args.pop().unwrap_or(Value::Null));
            match last {
                Value::Unknown => return Ok(mark(Value::Unknown, s)),
                Value::List(items) => args.extend(items.into_iter().map(|v| mark(v, s))),
                other => {
                    return Err(self
                        .error(
                            f.args.iter().last().and_then(|a| a.span()),
                            format!("Call to function \"{name}\" failed"),
                        )
                        .with_detail(format!(
                            "\"...\" expands a list, found {}.",
                            other.type_name()
                        )))
                }
            }
        }
        let ctx = functions::Ctx {
            stack_dir: self.scope.stack_dir(),
            scope: self.scope,
        };
        func.call(&ctx, args).map_err(|msg| {
            self.error(
                f.span(),
                format!("Call to function \"{name}\" failed: {msg}"),
            )
        })
    }

    fn call_try(&mut self, f: &hcl_edit::expr::FuncCall) -> Result<Value> {
        let mut last = None;
        for a in f.args.iter() {
            match self.expr(a) {
                Ok(v) => return Ok(v),
                Err(d) => last = Some(d),
            }
        }
        let mut d = self.error(
            f.span(),
            "Call to function \"try\" failed: no expression succeeded",
        );
        if let Some(last) = last {
            d = d.with_detail(format!("The last expression failed with: {}", last.summary));
        }
        Err(d)
    }
}

enum Step {
    Skip,
    Unknown,
    Item(Value),
    Entry(String, Value),
}

/// `"abc"`, `a list`: how a value is named in an error (sensitive values are not shown).
fn describe(v: &Value, hidden: bool) -> String {
    match v {
        _ if hidden => format!("a sensitive {}", v.type_name()),
        Value::Sensitive(_) => "a sensitive value".into(),
        Value::String(s) => format!("{s:?}"),
        Value::Number(_) | Value::Bool(_) => v.render(),
        other => other.type_name().into(),
    }
}

/// HCL equality: numbers by value, collections element by element.
fn values_equal(a: &Value, b: &Value) -> bool {
    a == b
}
