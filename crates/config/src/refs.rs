//! Finding references in an expression without evaluating it.
//!
//! The engine builds its graph from these, and validation checks each one against what the
//! stack declares. Names bound by `for` expressions and template `%{for}` directives are local
//! to the expression and are not references.

use hcl_edit::expr::{Expression, TraversalOperator};
use hcl_edit::template::{Directive, Element, Template};
use hcl_edit::{Decorated, Span as _};
use std::ops::Range;
use strata_core::Mode;

use crate::model::{Expr, RefKind, Reference};

/// What the walk found: a reference, or a root name that cannot be one.
pub(crate) enum Found {
    Ref(Reference),
    Invalid {
        message: String,
        range: Range<usize>,
    },
}

pub(crate) fn find(expr: &Expr) -> Vec<Found> {
    let mut w = Walker {
        expr,
        bound: Vec::new(),
        out: Vec::new(),
    };
    w.expr(expr.hcl());
    w.out
}

struct Walker<'a> {
    expr: &'a Expr,
    bound: Vec<String>,
    out: Vec<Found>,
}

impl Walker<'_> {
    fn expr(&mut self, e: &Expression) {
        match e {
            Expression::Null(_)
            | Expression::Bool(_)
            | Expression::Number(_)
            | Expression::String(_) => {}
            Expression::Array(a) => a.iter().for_each(|x| self.expr(x)),
            Expression::Object(o) => {
                for (k, v) in o.iter() {
                    if let Some(k) = k.as_expr() {
                        self.expr(k);
                    }
                    self.expr(v.expr());
                }
            }
            Expression::StringTemplate(t) => self.template(t),
            Expression::HeredocTemplate(h) => self.template(&h.template),
            Expression::Parenthesis(p) => self.expr(p.inner()),
            Expression::Variable(v) => self.root(v, &[]),
            Expression::Conditional(c) => {
                self.expr(&c.cond_expr);
                self.expr(&c.true_expr);
                self.expr(&c.false_expr);
            }
            Expression::FuncCall(f) => f.args.iter().for_each(|a| self.expr(a)),
            Expression::Traversal(t) => {
                match &t.expr {
                    Expression::Variable(v) => self.root(v, &t.operators),
                    other => self.expr(other),
                }
                for op in &t.operators {
                    if let TraversalOperator::Index(i) = op.value() {
                        self.expr(i);
                    }
                }
            }
            Expression::UnaryOp(u) => self.expr(&u.expr),
            Expression::BinaryOp(b) => {
                self.expr(&b.lhs_expr);
                self.expr(&b.rhs_expr);
            }
            Expression::ForExpr(f) => {
                self.expr(&f.intro.collection_expr);
                let n = self.bound.len();
                if let Some(k) = &f.intro.key_var {
                    self.bound.push(k.as_str().to_string());
                }
                self.bound.push(f.intro.value_var.as_str().to_string());
                if let Some(k) = &f.key_expr {
                    self.expr(k);
                }
                self.expr(&f.value_expr);
                if let Some(c) = &f.cond {
                    self.expr(&c.expr);
                }
                self.bound.truncate(n);
            }
        }
    }

    fn template(&mut self, t: &Template) {
        for el in t.iter() {
            match el {
                Element::Literal(_) => {}
                Element::Interpolation(i) => self.expr(&i.expr),
                Element::Directive(d) => match d.as_ref() {
                    Directive::If(i) => {
                        self.expr(&i.if_expr.cond_expr);
                        self.template(&i.if_expr.template);
                        if let Some(e) = &i.else_expr {
                            self.template(&e.template);
                        }
                    }
                    Directive::For(f) => {
                        let f = &f.for_expr;
                        self.expr(&f.collection_expr);
                        let n = self.bound.len();
                        if let Some(k) = &f.key_var {
                            self.bound.push(k.as_str().to_string());
                        }
                        self.bound.push(f.value_var.as_str().to_string());
                        self.template(&f.template);
                        self.bound.truncate(n);
                    }
                },
            }
        }
    }

    /// Classifies a traversal that starts at a bare name.
    fn root(&mut self, var: &Decorated<hcl_edit::Ident>, ops: &[Decorated<TraversalOperator>]) {
        let name = var.as_str();
        if self.bound.iter().any(|b| b == name) {
            return;
        }
        let start = var.span().map(|r| r.start).unwrap_or(0);
        let root_end = var.span().map(|r| r.end).unwrap_or(start);
        let attrs: Vec<(&str, usize)> = ops
            .iter()
            .map_while(|op| match op.value() {
                TraversalOperator::GetAttr(a) => {
                    Some((a.as_str(), op.span().map(|r| r.end).unwrap_or(root_end)))
                }
                _ => None,
            })
            .collect();
        let attr = |i: usize| attrs.get(i).map(|(a, _)| a.to_string());
        let end = |i: usize| attrs.get(i).map(|(_, e)| *e).unwrap_or(root_end);
        let (kind, used) = match name {
            "var" | "local" => match attr(0) {
                Some(a) if name == "var" => (RefKind::Var(a), 1),
                Some(a) => (RefKind::Local(a), 1),
                None => {
                    return self.invalid(
                        format!(
                            "A reference to \"{name}\" needs an attribute name, as in {name}.NAME"
                        ),
                        start..end(0),
                    )
                }
            },
            "each" => match attr(0).as_deref() {
                Some("key") => (RefKind::EachKey, 1),
                Some("value") => (RefKind::EachValue, 1),
                _ => {
                    return self.invalid(
                        "\"each\" has only the attributes \"key\" and \"value\"".into(),
                        start..end(0),
                    )
                }
            },
            "count" => match attr(0).as_deref() {
                Some("index") => (RefKind::CountIndex, 1),
                _ => {
                    return self.invalid(
                        "\"count\" has only the attribute \"index\"".into(),
                        start..end(0),
                    )
                }
            },
            "env" => (RefKind::Env, 0),
            "path" => match attr(0) {
                Some(a) => (RefKind::Path(a), 1),
                None => {
                    return self.invalid(
                        "\"path\" needs an attribute: path.stack or path.root".into(),
                        start..root_end,
                    )
                }
            },
            "data" => match (attr(0), attr(1)) {
                (Some(t), Some(n)) => (
                    RefKind::Resource {
                        mode: Mode::Data,
                        type_name: t,
                        name: n,
                    },
                    2,
                ),
                _ => {
                    return self.invalid(
                        "A data source is referenced as data.TYPE.NAME".into(),
                        start..end(1),
                    )
                }
            },
            "dependency" => match attr(0) {
                Some(n) => match (attr(1).as_deref(), attr(2)) {
                    (Some("outputs"), Some(o)) => (
                        RefKind::Dependency {
                            name: n,
                            output: Some(o),
                        },
                        3,
                    ),
                    (None | Some("outputs"), None) => (
                        RefKind::Dependency {
                            name: n,
                            output: None,
                        },
                        attrs.len(),
                    ),
                    _ => {
                        return self.invalid(
                            format!(
                            "A dependency's outputs are referenced as dependency.{n}.outputs.NAME"
                        ),
                            start..end(1),
                        )
                    }
                },
                None => {
                    return self.invalid(
                        "A dependency is referenced as dependency.NAME.outputs.OUTPUT".into(),
                        start..root_end,
                    )
                }
            },
            type_name => match attr(0) {
                Some(n) => (
                    RefKind::Resource {
                        mode: Mode::Managed,
                        type_name: type_name.to_string(),
                        name: n,
                    },
                    1,
                ),
                None => {
                    return self
                        .invalid(format!("Unknown variable \"{type_name}\""), start..root_end)
                }
            },
        };
        let end = if used == 0 { root_end } else { end(used - 1) };
        let span = self.expr.file().span(start..end);
        self.out.push(Found::Ref(Reference { kind, span }));
    }

    fn invalid(&mut self, message: String, range: Range<usize>) {
        self.out.push(Found::Invalid { message, range });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<String> {
        Expr::parse(src, "t.hcl")
            .unwrap()
            .references()
            .into_iter()
            .map(|r| r.kind.to_string())
            .collect()
    }

    #[test]
    fn finds_every_kind_of_reference() {
        assert_eq!(kinds("\"${var.a}-${local.b}\""), vec!["var.a", "local.b"]);
        assert_eq!(kinds("aws_vpc.main[\"k\"].id"), vec!["aws_vpc.main"]);
        assert_eq!(kinds("data.aws_ami.x.id"), vec!["data.aws_ami.x"]);
        assert_eq!(
            kinds("dependency.base.outputs.kubeconfig"),
            vec!["dependency.base.outputs.kubeconfig"]
        );
        assert_eq!(
            kinds("[each.key, each.value, count.index, env, path.stack]"),
            vec!["each.key", "each.value", "count.index", "env", "path.stack"]
        );
    }

    #[test]
    fn for_variables_are_not_references() {
        assert_eq!(kinds("[for s in var.list : upper(s)]"), vec!["var.list"]);
        assert_eq!(
            kinds("\"%{for k, v in local.m}${k}=${v}%{endfor}\""),
            vec!["local.m"]
        );
    }

    #[test]
    fn reference_span_covers_the_reference() {
        let r = Expr::parse("1 + var.region", "t.hcl").unwrap().references();
        assert_eq!((r[0].span.col, r[0].span.end_col), (5, 15));
    }

    #[test]
    fn index_expressions_are_searched() {
        assert_eq!(kinds("local.m[var.k]"), vec!["local.m", "var.k"]);
    }
}
