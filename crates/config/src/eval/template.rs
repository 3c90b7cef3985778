//! String templates: interpolation, `%{if}` and `%{for}` directives, and `~` strip markers.

use hcl_edit::template::{Directive, Element, StringTemplate, Template};
use hcl_edit::Span as _;
use strata_core::Value;

use super::BoxedDiagnostic as _;

use super::marks::{mark, split};
use super::Evaluator;

/// The string built so far and the marks it picked up.
#[derive(Default)]
struct Rendered {
    text: String,
    unknown: bool,
    sensitive: bool,
}

impl Evaluator<'_> {
    /// A quoted template. `"${x}"` alone yields `x` itself, unconverted, as in HCL.
    pub(super) fn string_template(&mut self, t: &StringTemplate) -> super::Result<Value> {
        if let Some(Element::Interpolation(i)) = t.as_single_element() {
            return self.expr(&i.expr);
        }
        self.render_template(t)
    }

    pub(super) fn render_template(&mut self, t: &Template) -> super::Result<Value> {
        let mut out = Rendered::default();
        self.render(t, false, false, &mut out)?;
        let v = if out.unknown {
            Value::Unknown
        } else {
            Value::String(out.text)
        };
        Ok(mark(v, out.sensitive))
    }

    /// Renders `t`; `lead`/`trail` strip the whitespace at its edges (set by `~` on the
    /// directive tags around a nested template).
    fn render(
        &mut self,
        t: &Template,
        lead: bool,
        trail: bool,
        out: &mut Rendered,
    ) -> super::Result<()> {
        let els: Vec<&Element> = t.iter().collect();
        for (i, el) in els.iter().enumerate() {
            match el {
                Element::Literal(s) => {
                    let mut s: &str = s.value();
                    if (i == 0 && lead) || (i > 0 && strips_after(els[i - 1])) {
                        s = s.trim_start();
                    }
                    if (i + 1 == els.len() && trail)
                        || (i + 1 < els.len() && strips_before(els[i + 1]))
                    {
                        s = s.trim_end();
                    }
                    out.text.push_str(s);
                }
                Element::Interpolation(x) => {
                    let v = self.expr(&x.expr)?;
                    self.push_value(v, x.expr.span(), out)?;
                }
                Element::Directive(d) => match d.as_ref() {
                    Directive::If(d) => {
                        let (c, s) = split(self.expr(&d.if_expr.cond_expr)?);
                        out.sensitive |= s;
                        if c.is_unknown() {
                            out.unknown = true;
                            continue;
                        }
                        let cond = match c {
                            Value::Bool(b) => b,
                            other => {
                                return Err(self
                                    .error(d.if_expr.cond_expr.span(), "Incorrect condition type")
                                    .with_detail(format!(
                                        "The %{{if}} condition must be a bool, found {}.",
                                        other.type_name()
                                    )))
                            }
                        };
                        let close_strip = d.endif_expr.strip.strip_start();
                        if cond {
                            let trail = d
                                .else_expr
                                .as_ref()
                                .map(|e| e.strip.strip_start())
                                .unwrap_or(close_strip);
                            self.render(
                                &d.if_expr.template,
                                d.if_expr.strip.strip_end(),
                                trail,
                                out,
                            )?;
                        } else if let Some(e) = &d.else_expr {
                            self.render(&e.template, e.strip.strip_end(), close_strip, out)?;
                        }
                    }
                    Directive::For(d) => {
                        let f = &d.for_expr;
                        let (coll, s) = split(self.expr(&f.collection_expr)?);
                        out.sensitive |= s;
                        let Some(pairs) = self.iterable(coll, f.collection_expr.span())? else {
                            out.unknown = true;
                            continue;
                        };
                        for (k, v) in pairs {
                            let n = self.bound.len();
                            if let Some(kv) = &f.key_var {
                                self.bound.push((kv.as_str().to_string(), k));
                            }
                            self.bound.push((f.value_var.as_str().to_string(), v));
                            let r = self.render(
                                &f.template,
                                f.strip.strip_end(),
                                d.endfor_expr.strip.strip_start(),
                                out,
                            );
                            self.bound.truncate(n);
                            r?;
                        }
                    }
                },
            }
        }
        Ok(())
    }

    fn push_value(
        &self,
        v: Value,
        range: Option<std::ops::Range<usize>>,
        out: &mut Rendered,
    ) -> super::Result<()> {
        let (v, s) = split(v);
        out.sensitive |= s;
        match v {
            Value::Unknown => out.unknown = true,
            Value::String(s) => out.text.push_str(&s),
            Value::Number(n) => out.text.push_str(&strata_core::value::format_number(n)),
            Value::Bool(b) => out.text.push_str(if b { "true" } else { "false" }),
            Value::Null => {
                return Err(self
                    .error(range, "Invalid template interpolation value")
                    .with_detail("The expression result is null: a template can only include a string, number or bool."))
            }
            other => {
                return Err(self
                    .error(range, "Invalid template interpolation value")
                    .with_detail(format!("Cannot include a {} in a string template; use jsonencode or join to make a string of it.", other.type_name())))
            }
        }
        Ok(())
    }
}

fn strips_after(el: &Element) -> bool {
    match el {
        Element::Literal(_) => false,
        Element::Interpolation(i) => i.strip.strip_end(),
        Element::Directive(d) => match d.as_ref() {
            Directive::If(d) => d.endif_expr.strip.strip_end(),
            Directive::For(d) => d.endfor_expr.strip.strip_end(),
        },
    }
}

fn strips_before(el: &Element) -> bool {
    match el {
        Element::Literal(_) => false,
        Element::Interpolation(i) => i.strip.strip_start(),
        Element::Directive(d) => match d.as_ref() {
            Directive::If(d) => d.if_expr.strip.strip_start(),
            Directive::For(d) => d.for_expr.strip.strip_start(),
        },
    }
}
