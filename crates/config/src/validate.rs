//! Static checks: everything that can be found wrong without knowing any value.

use strata_core::diagnostic::{nearest, Note};
use strata_core::schema::{BlockSchema, Nesting, Presence, ResourceSchema};
use strata_core::{Diagnostic, Mode, Span};

use crate::diagnostics::Diagnostics;
use crate::eval::eval;
use crate::load::ConstScope;
use crate::model::{Body, Expr, Project, RefKind, Reference, ResourceBlock, Stack};
use crate::refs::{self, Found};

/// Checks every stack of `project`: references resolve to declarations (with the nearest valid
/// name as a hint), `dependency` blocks name existing stacks and declared outputs, `each` and
/// `count` appear only where they are defined, resource types, arguments, nested blocks and
/// constant values match the provider schemas that `schemas` returns.
pub fn validate(
    project: &Project,
    schemas: &dyn Fn(Mode, &str) -> Option<ResourceSchema>,
) -> Diagnostics {
    validate_with_types(project, schemas, &|_| Vec::new())
}

/// [`validate`], with the list of known resource and data source types so that an unknown type
/// gets a "did you mean" hint.
pub fn validate_with_types(
    project: &Project,
    schemas: &dyn Fn(Mode, &str) -> Option<ResourceSchema>,
    known_types: &dyn Fn(Mode) -> Vec<String>,
) -> Diagnostics {
    let mut v = Validator {
        project,
        diags: Diagnostics::new(),
        declared: Default::default(),
    };
    for stack in project.stacks.values() {
        v.stack(stack, schemas, known_types);
    }
    // In file order, as a reader goes through the configuration.
    v.diags.0.sort_by(|a, b| {
        let key = |d: &Diagnostic| d.span.as_ref().map(|s| (s.file.clone(), s.line, s.col));
        key(a).cmp(&key(b))
    });
    v.diags
}

/// Where an expression sits, which decides whether `each` and `count` exist there.
#[derive(Clone, Copy, PartialEq)]
enum Place {
    Plain,
    ForEach,
    Count,
    /// Both set: that is reported once, not again for every use of `each` or `count`.
    Both,
}

struct Validator<'a> {
    project: &'a Project,
    diags: Diagnostics,
    /// The resource blocks of the stack being checked, for reference look-ups in constant time.
    declared: std::collections::HashSet<(Mode, &'a str, &'a str)>,
}

impl<'a> Validator<'a> {
    fn error(&mut self, span: &Span, summary: impl Into<String>) -> &mut Diagnostic {
        let line = self.project.sources.line(span);
        self.diags
            .push(Diagnostic::error(summary).with_span(span.clone(), line));
        self.diags.0.last_mut().expect("just pushed")
    }

    fn stack(
        &mut self,
        stack: &'a Stack,
        schemas: &dyn Fn(Mode, &str) -> Option<ResourceSchema>,
        known_types: &dyn Fn(Mode) -> Vec<String>,
    ) {
        self.declared = stack
            .resources
            .iter()
            .map(|r| (r.mode, r.type_name.as_str(), r.name.as_str()))
            .collect();
        for dep in stack.dependencies.values() {
            if dep.stack == stack.name {
                self.error(&dep.span, "A stack cannot depend on itself")
                    .detail = Some(format!(
                    "dependency \"{}\" names this stack, \"{}\".",
                    dep.name, stack.name
                ));
            } else if !self.project.stacks.contains_key(&dep.stack) {
                let hint = nearest(&dep.stack, self.project.stacks.keys().map(String::as_str))
                    .map(|n| format!("did you mean \"{n}\"?"));
                let known = self
                    .project
                    .stacks
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ");
                let d = self.error(&dep.span, format!("Unknown stack \"{}\"", dep.stack));
                d.detail = Some(format!(
                    "dependency \"{}\" names a stack that does not exist. The stacks are: {known}.",
                    dep.name
                ));
                d.hint = hint;
            }
        }
        for local in stack.locals.values() {
            self.expr(stack, &local.expr, Place::Plain);
        }
        for p in &stack.providers {
            for e in p.body.expressions() {
                self.expr(stack, e, Place::Plain);
            }
        }
        for o in stack.outputs.values() {
            self.expr(stack, &o.value, Place::Plain);
        }
        for var in stack.variables.values() {
            for val in &var.validations {
                self.expr(stack, &val.condition, Place::Plain);
            }
        }
        for r in &stack.resources {
            self.resource(stack, r, schemas, known_types);
        }
    }

    fn resource(
        &mut self,
        stack: &Stack,
        r: &ResourceBlock,
        schemas: &dyn Fn(Mode, &str) -> Option<ResourceSchema>,
        known_types: &dyn Fn(Mode) -> Vec<String>,
    ) {
        let place = match (&r.count, &r.for_each) {
            (Some(_), Some(_)) => {
                self.error(&r.span, "Invalid combination of \"count\" and \"for_each\"")
                    .detail = Some(format!(
                    "{} sets both count and for_each; a resource can use only one of them.",
                    r.label()
                ));
                Place::Both
            }
            (Some(_), None) => Place::Count,
            (None, Some(_)) => Place::ForEach,
            (None, None) => Place::Plain,
        };
        for e in r.count.iter().chain(&r.for_each) {
            self.expr(stack, e, Place::Plain);
        }
        for e in r.body.expressions() {
            self.expr(stack, e, place);
        }
        for (reference, _) in &r.depends_on {
            self.reference(stack, reference, Place::Plain);
        }
        if let Some(p) = &r.provider {
            let declared = stack
                .providers
                .iter()
                .any(|b| b.name == p.name && b.alias == p.alias);
            if p.alias.is_some() && !declared {
                let d = self.error(&p.span, "Reference to undeclared provider configuration");
                d.detail = Some(format!(
                    "No provider \"{}\" block with alias \"{}\" is declared in stack \"{}\".",
                    p.name,
                    p.alias.as_deref().unwrap_or_default(),
                    stack.name
                ));
            }
        }
        let what = match r.mode {
            Mode::Managed => "resource",
            Mode::Data => "data source",
        };
        match schemas(r.mode, &r.type_name) {
            None => {
                let known = known_types(r.mode);
                let hint = nearest(&r.type_name, known.iter().map(String::as_str))
                    .map(|n| format!("did you mean \"{n}\"?"))
                    .unwrap_or_else(|| "run `strata providers` to list the known types".into());
                let d = self.error(&r.span, format!("Unknown {what} type \"{}\"", r.type_name));
                d.detail = Some(format!(
                    "No provider offers a {what} of type \"{}\".",
                    r.type_name
                ));
                d.hint = Some(hint);
            }
            Some(schema) => self.body(stack, &r.body, &schema.block, &r.span, &r.label()),
        }
    }

    /// Checks a body against a block schema; `at` is where "missing" errors point.
    fn body(&mut self, stack: &Stack, body: &Body, schema: &BlockSchema, at: &Span, what: &str) {
        for a in &body.attributes {
            let Some(attr) = schema.attributes.get(&a.name) else {
                if schema.blocks.contains_key(&a.name) {
                    let d = self.error(&a.span, format!("Unsupported argument \"{}\"", a.name));
                    d.detail = Some(format!(
                        "\"{}\" is a block in {what}, not an argument.",
                        a.name
                    ));
                    d.hint = Some(format!("write it as a block: {} {{ … }}", a.name));
                    continue;
                }
                let hint = nearest(
                    &a.name,
                    schema
                        .attributes
                        .iter()
                        .filter(|(_, s)| s.settable())
                        .map(|(n, _)| n.as_str()),
                )
                .map(|n| format!("did you mean \"{n}\"?"));
                let d = self.error(&a.span, format!("Unsupported argument \"{}\"", a.name));
                d.detail = Some(format!(
                    "An argument named \"{}\" is not expected in {what}.",
                    a.name
                ));
                d.hint = hint;
                continue;
            };
            if attr.presence == Presence::Computed {
                self.error(
                    &a.span,
                    format!("Cannot set computed attribute \"{}\"", a.name),
                )
                .detail = Some(format!(
                    "\"{}\" of {what} is set by the provider, not in configuration.",
                    a.name
                ));
                continue;
            }
            if let Some(value) = self.constant(stack, &a.expr) {
                if let Err(msg) = attr.ty.convert(&value) {
                    let span = a.expr.span();
                    self.error(&span, "Incorrect attribute value type").detail = Some(format!(
                        "Inappropriate value for attribute \"{}\": {msg}.",
                        a.name
                    ));
                }
            }
        }
        for (name, attr) in &schema.attributes {
            if attr.presence == Presence::Required && body.attribute(name).is_none() {
                self.error(at, format!("Missing required argument \"{name}\""))
                    .detail = Some(format!(
                    "The argument \"{name}\" is required in {what}, but no definition was found."
                ));
            }
        }
        for b in &body.blocks {
            let Some(nested) = schema.blocks.get(&b.name) else {
                if schema.attributes.contains_key(&b.name) {
                    let d = self.error(&b.span, format!("Unsupported block type \"{}\"", b.name));
                    d.detail = Some(format!(
                        "\"{}\" is an argument in {what}, not a block.",
                        b.name
                    ));
                    d.hint = Some(format!("write it as an argument: {} = …", b.name));
                    continue;
                }
                let hint = nearest(&b.name, schema.blocks.keys().map(String::as_str))
                    .map(|n| format!("did you mean \"{n}\"?"));
                let d = self.error(&b.span, format!("Unsupported block type \"{}\"", b.name));
                d.detail = Some(format!(
                    "Blocks of type \"{}\" are not expected in {what}.",
                    b.name
                ));
                d.hint = hint;
                continue;
            };
            self.body(
                stack,
                &b.body,
                &nested.block,
                &b.span,
                &format!("a {} block", b.name),
            );
        }
        for (name, nested) in &schema.blocks {
            let found: Vec<&Span> = body
                .blocks
                .iter()
                .filter(|b| &b.name == name)
                .map(|b| &b.span)
                .collect();
            let max = match nested.nesting {
                Nesting::Single => Some(1),
                Nesting::List => nested.max_items,
            };
            if found.len() < nested.min_items {
                self.error(at, format!("Insufficient \"{name}\" blocks"))
                    .detail = Some(format!(
                    "{what} needs at least {} \"{name}\" block{}, found {}.",
                    nested.min_items,
                    if nested.min_items == 1 { "" } else { "s" },
                    found.len()
                ));
            }
            if let Some(max) = max.filter(|m| found.len() > *m) {
                let span = found[max].clone();
                let d = self.error(&span, format!("Too many \"{name}\" blocks"));
                d.detail = Some(format!(
                    "{what} allows at most {max} \"{name}\" block{}.",
                    if max == 1 { "" } else { "s" }
                ));
                d.notes.push(Note {
                    message: "first declared here".into(),
                    span: Some(found[0].clone()),
                });
            }
        }
    }

    /// The value of an expression that refers to nothing, if it can be computed now.
    fn constant(&mut self, stack: &Stack, e: &Expr) -> Option<strata_core::Value> {
        if !refs::find(e).is_empty() {
            return None;
        }
        let root = self.project.root.clone();
        match eval(
            e,
            &ConstScope {
                env: "",
                stack_dir: &stack.dir,
                root: &root,
            },
        ) {
            Ok(v) if v.is_wholly_known() => Some(v),
            Ok(_) => None,
            Err(d) => {
                self.diags.extend(d);
                None
            }
        }
    }

    fn expr(&mut self, stack: &Stack, e: &Expr, place: Place) {
        for found in refs::find(e) {
            match found {
                Found::Ref(r) => self.reference(stack, &r, place),
                Found::Invalid { message, range } => {
                    let span = e.file().span(range);
                    self.error(&span, message);
                }
            }
        }
    }

    fn reference(&mut self, stack: &Stack, r: &Reference, place: Place) {
        let s = &stack.name;
        let (summary, detail, hint) = match &r.kind {
            RefKind::Var(n) if !stack.variables.contains_key(n) => (
                "Reference to undeclared input variable",
                format!("No variable named \"{n}\" is declared in stack \"{s}\"."),
                nearest(n, stack.variables.keys().map(String::as_str))
                    .map(|c| format!("did you mean \"var.{c}\"?"))
                    .unwrap_or_else(|| format!("declare it: variable \"{n}\" {{}}")),
            ),
            RefKind::Local(n) if !stack.locals.contains_key(n) => (
                "Reference to undeclared local value",
                format!("No local value named \"{n}\" is declared in stack \"{s}\"."),
                nearest(n, stack.locals.keys().map(String::as_str))
                    .map(|c| format!("did you mean \"local.{c}\"?"))
                    .unwrap_or_else(|| format!("declare it: locals {{ {n} = … }}")),
            ),
            RefKind::Resource {
                mode,
                type_name,
                name,
            } if !self
                .declared
                .contains(&(*mode, type_name.as_str(), name.as_str())) =>
            {
                let labels: Vec<String> =
                    stack.resources.iter().map(ResourceBlock::label).collect();
                let wanted = r.kind.to_string();
                let what = if *mode == Mode::Data {
                    "data source"
                } else {
                    "resource"
                };
                (
                    "Reference to undeclared resource",
                    format!("A {what} \"{type_name}\" \"{name}\" has not been declared in stack \"{s}\"."),
                    nearest(&wanted, labels.iter().map(String::as_str))
                        .map(|c| format!("did you mean \"{c}\"?"))
                        .unwrap_or_else(|| "declare it, or check the spelling of the type and the name".into()),
                )
            }
            RefKind::Dependency { name, output } => {
                let Some(dep) = stack.dependencies.get(name) else {
                    let hint = nearest(name, stack.dependencies.keys().map(String::as_str))
                        .map(|c| format!("did you mean \"dependency.{c}\"?"))
                        .unwrap_or_else(|| {
                            format!("declare it: dependency \"{name}\" {{ stack = \"STACK\" }}")
                        });
                    let d = self.error(&r.span, "Reference to undeclared dependency");
                    d.detail = Some(format!(
                        "No dependency named \"{name}\" is declared in stack \"{s}\"."
                    ));
                    d.hint = Some(hint);
                    return;
                };
                let (Some(o), Some(upstream)) = (output, self.project.stacks.get(&dep.stack))
                else {
                    return;
                };
                if upstream.outputs.contains_key(o) {
                    return;
                }
                (
                    "Reference to undeclared output",
                    format!(
                        "Stack \"{}\" (dependency \"{name}\") has no output named \"{o}\".",
                        dep.stack
                    ),
                    nearest(o, upstream.outputs.keys().map(String::as_str))
                        .map(|c| format!("did you mean \"dependency.{name}.outputs.{c}\"?"))
                        .unwrap_or_else(|| {
                            format!(
                                "declare it in stack \"{}\": output \"{o}\" {{ value = … }}",
                                dep.stack
                            )
                        }),
                )
            }
            RefKind::EachKey | RefKind::EachValue
                if !matches!(place, Place::ForEach | Place::Both) =>
            {
                (
                    "Reference to \"each\" in context without for_each",
                    format!(
                        "{} can only be used in a resource block that sets for_each.",
                        r.kind
                    ),
                    "set for_each on the resource, or use a for expression".into(),
                )
            }
            RefKind::CountIndex if !matches!(place, Place::Count | Place::Both) => (
                "Reference to \"count\" in context without count",
                "count.index can only be used in a resource block that sets count.".into(),
                "set count on the resource".into(),
            ),
            RefKind::Path(p) if !matches!(p.as_str(), "stack" | "root" | "module") => (
                "Invalid \"path\" attribute",
                format!("\"path\" has the attributes \"stack\" and \"root\", not \"{p}\"."),
                "use path.stack for this stack's folder or path.root for the project's".into(),
            ),
            _ => return,
        };
        let d = self.error(&r.span, summary);
        d.detail = Some(detail);
        d.hint = Some(hint);
    }
}
