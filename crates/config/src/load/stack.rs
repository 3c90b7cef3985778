//! Decoding a stack's blocks: variables, locals, providers, resources, outputs, dependencies.

use super::discover::digest;
use super::*;
use crate::types::parse_type;

impl Loader {
    pub(super) fn stack(&mut self, name: &str, dir: &Path) -> Stack {
        self.resource_index.clear();
        let mut stack = Stack {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            variables: BTreeMap::new(),
            locals: BTreeMap::new(),
            providers: Vec::new(),
            resources: Vec::new(),
            outputs: BTreeMap::new(),
            dependencies: BTreeMap::new(),
            digest: digest(dir),
        };
        for path in hcl_files(dir) {
            let Some((file, body)) = self.parse(&path) else {
                continue;
            };
            for s in body.iter() {
                match s {
                    Structure::Attribute(a) => {
                        let d = self.err(
                            &file,
                            a.key.span(),
                            format!("Unexpected argument \"{}\"", a.key.as_str()),
                        );
                        d.detail = Some("A stack file holds blocks (variable, locals, provider, resource, data, output, dependency), not arguments.".into());
                        d.hint = Some(format!(
                            "to name a value, put it in a locals block: locals {{ {} = … }}",
                            a.key.as_str()
                        ));
                    }
                    Structure::Block(b) => self.stack_block(&file, b, &mut stack),
                }
            }
        }
        stack
    }

    fn duplicate(
        &mut self,
        file: &SourceFile,
        block: &Block,
        what: String,
        first: &strata_core::Span,
    ) {
        let d = self.err(file, header_range(block), format!("Duplicate {what}"));
        d.notes.push(strata_core::diagnostic::Note {
            message: "first declared here".into(),
            span: Some(first.clone()),
        });
    }

    fn stack_block(&mut self, file: &Arc<SourceFile>, block: &Block, stack: &mut Stack) {
        let span = span_of(file, header_range(block));
        let dir = stack.dir.clone();
        match block.ident.as_str() {
            "variable" => {
                let Some(l) = self.labels(file, block, &["NAME"]) else {
                    return;
                };
                if let Some(first) = stack.variables.get(&l[0]) {
                    let first = first.span.clone();
                    return self.duplicate(file, block, format!("variable \"{}\"", l[0]), &first);
                }
                let v = self.variable(file, block, l[0].clone(), span, &dir);
                stack.variables.insert(l[0].clone(), v);
            }
            "locals" => {
                if self.labels(file, block, &[]).is_none() {
                    return;
                }
                for a in block.body.attributes() {
                    let name = a.key.as_str().to_string();
                    let aspan = span_of(file, a.key.span());
                    if let Some(first) = stack.locals.get(&name) {
                        let first = first.span.clone();
                        let d = self.err(
                            file,
                            a.key.span(),
                            format!("Duplicate local value \"{name}\""),
                        );
                        d.notes.push(strata_core::diagnostic::Note {
                            message: "first declared here".into(),
                            span: Some(first),
                        });
                        continue;
                    }
                    stack.locals.insert(
                        name.clone(),
                        Local {
                            name,
                            expr: Expr::new(a.value.clone(), file.clone()),
                            span: aspan,
                        },
                    );
                }
                for b in block.body.blocks() {
                    self.unsupported_block(file, b, &[], "in a locals block");
                }
            }
            "provider" => {
                let Some(l) = self.labels(file, block, &["NAME"]) else {
                    return;
                };
                let mut body = self.body(file, &block.body);
                let mut alias = None;
                if let Some(i) = body.attributes.iter().position(|a| a.name == "alias") {
                    let a = body.attributes.remove(i);
                    alias = self.const_string(file, a.expr.hcl(), "alias", &dir);
                }
                let key = (l[0].clone(), alias.clone());
                if let Some(first) = stack
                    .providers
                    .iter()
                    .find(|p| (p.name.clone(), p.alias.clone()) == key)
                {
                    let first = first.span.clone();
                    let what = match &alias {
                        Some(a) => format!("provider \"{}\" with alias \"{a}\"", l[0]),
                        None => format!("provider \"{}\"", l[0]),
                    };
                    return self.duplicate(file, block, what, &first);
                }
                stack.providers.push(ProviderBlock {
                    name: l[0].clone(),
                    alias,
                    body,
                    span,
                });
            }
            kind @ ("resource" | "data") => {
                let Some(l) = self.labels(file, block, &["TYPE", "NAME"]) else {
                    return;
                };
                let mode = if kind == "data" {
                    Mode::Data
                } else {
                    Mode::Managed
                };
                let key = (mode, l[0].clone(), l[1].clone());
                if let Some(&i) = self.resource_index.get(&key) {
                    let first = stack.resources[i].span.clone();
                    let label = if kind == "data" {
                        format!("data.{}.{}", l[0], l[1])
                    } else {
                        format!("{}.{}", l[0], l[1])
                    };
                    return self.duplicate(file, block, format!("{kind} \"{label}\""), &first);
                }
                let r = self.resource(file, block, mode, l[0].clone(), l[1].clone(), span, &dir);
                self.resource_index.insert(key, stack.resources.len());
                stack.resources.push(r);
            }
            "output" => {
                let Some(l) = self.labels(file, block, &["NAME"]) else {
                    return;
                };
                if let Some(first) = stack.outputs.get(&l[0]) {
                    let first = first.span.clone();
                    return self.duplicate(file, block, format!("output \"{}\"", l[0]), &first);
                }
                let mut value = None;
                let mut sensitive = false;
                let mut description = None;
                for a in block.body.attributes() {
                    match a.key.as_str() {
                        "value" => value = Some(Expr::new(a.value.clone(), file.clone())),
                        "sensitive" => {
                            sensitive = self.const_bool(file, &a.value, "sensitive", &dir)
                        }
                        "description" => {
                            description = self.const_string(file, &a.value, "description", &dir)
                        }
                        "depends_on" => {}
                        _ => self.unsupported_attr(
                            file,
                            a,
                            &["value", "sensitive", "description", "depends_on"],
                            "in an output block",
                        ),
                    }
                }
                for b in block.body.blocks() {
                    self.unsupported_block(file, b, &[], "in an output block");
                }
                let Some(value) = value else {
                    let d = self.err(
                        file,
                        header_range(block),
                        "Missing required argument \"value\"",
                    );
                    d.detail = Some(format!("The output \"{}\" needs a value.", l[0]));
                    return;
                };
                stack.outputs.insert(
                    l[0].clone(),
                    Output {
                        name: l[0].clone(),
                        value,
                        sensitive,
                        description,
                        span,
                    },
                );
            }
            "dependency" => {
                let Some(l) = self.labels(file, block, &["NAME"]) else {
                    return;
                };
                if let Some(first) = stack.dependencies.get(&l[0]) {
                    let first = first.span.clone();
                    return self.duplicate(file, block, format!("dependency \"{}\"", l[0]), &first);
                }
                let mut upstream = None;
                for a in block.body.attributes() {
                    match a.key.as_str() {
                        "stack" => upstream = self.const_string(file, &a.value, "stack", &dir),
                        _ => self.unsupported_attr(file, a, &["stack"], "in a dependency block"),
                    }
                }
                for b in block.body.blocks() {
                    self.unsupported_block(file, b, &[], "in a dependency block");
                }
                let Some(upstream) = upstream else {
                    if block.body.get_attribute("stack").is_none() {
                        let d = self.err(
                            file,
                            header_range(block),
                            "Missing required argument \"stack\"",
                        );
                        d.hint = Some(format!("dependency \"{}\" {{ stack = \"STACK\" }} names the stack whose outputs this one reads", l[0]));
                    }
                    return;
                };
                stack.dependencies.insert(
                    l[0].clone(),
                    Dependency {
                        name: l[0].clone(),
                        stack: upstream,
                        span,
                    },
                );
            }
            _ => self.unsupported_block(file, block, STACK_BLOCKS, "in a stack"),
        }
    }

    fn variable(
        &mut self,
        file: &Arc<SourceFile>,
        block: &Block,
        name: String,
        span: strata_core::Span,
        dir: &Path,
    ) -> Variable {
        let mut v = Variable {
            name,
            ty: None,
            default: None,
            description: None,
            sensitive: false,
            validations: Vec::new(),
            span,
        };
        for a in block.body.attributes() {
            match a.key.as_str() {
                "type" => match parse_type(&a.value) {
                    Ok(t) => v.ty = Some(t),
                    Err(msg) => {
                        self.err(file, a.value.span(), "Invalid type specification")
                            .detail = Some(msg);
                    }
                },
                "default" => v.default = self.const_value(file, &a.value, "", dir),
                "description" => {
                    v.description = self.const_string(file, &a.value, "description", dir)
                }
                "sensitive" => v.sensitive = self.const_bool(file, &a.value, "sensitive", dir),
                "nullable" => {}
                _ => self.unsupported_attr(
                    file,
                    a,
                    &["type", "default", "description", "sensitive", "nullable"],
                    "in a variable block",
                ),
            }
        }
        for b in block.body.blocks() {
            if b.ident.as_str() != "validation" {
                self.unsupported_block(file, b, &["validation"], "in a variable block");
                continue;
            }
            let (mut condition, mut message) = (None, None);
            for a in b.body.attributes() {
                match a.key.as_str() {
                    "condition" => condition = Some(Expr::new(a.value.clone(), file.clone())),
                    "error_message" => {
                        message = self.const_string(file, &a.value, "error_message", dir)
                    }
                    _ => self.unsupported_attr(
                        file,
                        a,
                        &["condition", "error_message"],
                        "in a validation block",
                    ),
                }
            }
            match (condition, message) {
                (Some(condition), Some(error_message)) => v.validations.push(Validation {
                    condition,
                    error_message,
                    span: span_of(file, b.ident.span()),
                }),
                _ => {
                    let d = self.err(file, b.ident.span(), "Incomplete validation block");
                    d.detail =
                        Some("A validation block needs a condition and an error_message.".into());
                }
            }
        }
        if let (Some(ty), Some(default)) = (&v.ty, &v.default) {
            match ty.convert(default) {
                Ok(converted) => v.default = Some(converted),
                Err(msg) => {
                    let range = block
                        .body
                        .get_attribute("default")
                        .and_then(|a| a.value.span());
                    self.err(file, range, "Invalid default value for variable")
                        .detail = Some(format!(
                        "The default does not match the variable's type: {msg}."
                    ));
                }
            }
        }
        v
    }

    #[allow(clippy::too_many_arguments)]
    fn resource(
        &mut self,
        file: &Arc<SourceFile>,
        block: &Block,
        mode: Mode,
        type_name: String,
        name: String,
        span: strata_core::Span,
        dir: &Path,
    ) -> ResourceBlock {
        let mut r = ResourceBlock {
            mode,
            type_name,
            name,
            body: Body::default(),
            count: None,
            for_each: None,
            depends_on: Vec::new(),
            provider: None,
            lifecycle: Lifecycle::default(),
            span,
        };
        let mut body = self.body(file, &block.body);
        let mut keep = Vec::new();
        for a in std::mem::take(&mut body.attributes) {
            match a.name.as_str() {
                "count" => r.count = Some(a.expr),
                "for_each" => r.for_each = Some(a.expr),
                "depends_on" => r.depends_on = self.depends_on(file, &a.expr),
                "provider" => r.provider = self.provider_ref(file, &a.expr),
                _ => keep.push(a),
            }
        }
        body.attributes = keep;
        let mut keep = Vec::new();
        for b in std::mem::take(&mut body.blocks) {
            if b.name == "lifecycle" {
                r.lifecycle = self.lifecycle(file, &b, dir);
            } else {
                keep.push(b);
            }
        }
        body.blocks = keep;
        r.body = body;
        r
    }

    fn depends_on(
        &mut self,
        file: &Arc<SourceFile>,
        e: &Expr,
    ) -> Vec<(Reference, strata_core::Span)> {
        let Expression::Array(items) = e.hcl() else {
            self.err(file, e.hcl().span(), "Invalid depends_on").detail = Some(
                "depends_on is a list of references, as in [aws_vpc.main, data.aws_ami.ubuntu]."
                    .into(),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items.iter() {
            let refs = Expr::new(item.clone(), file.clone()).references();
            match refs.as_slice() {
                [r] if matches!(
                    r.kind,
                    RefKind::Resource { .. } | RefKind::Dependency { .. }
                ) =>
                {
                    out.push((r.clone(), span_of(file, item.span())))
                }
                _ => {
                    self.err(file, item.span(), "Invalid depends_on reference").detail =
                        Some("Each element of depends_on is a resource (TYPE.NAME), a data source (data.TYPE.NAME) or a dependency (dependency.NAME).".into());
                }
            }
        }
        out
    }

    fn provider_ref(&mut self, file: &SourceFile, e: &Expr) -> Option<ProviderRef> {
        let span = e.span();
        let parsed = match e.hcl() {
            Expression::Variable(v) => Some((v.as_str().to_string(), None)),
            Expression::Traversal(t) => match (&t.expr, t.operators.as_slice()) {
                (Expression::Variable(v), [op]) => match op.value() {
                    TraversalOperator::GetAttr(a) => {
                        Some((v.as_str().to_string(), Some(a.as_str().to_string())))
                    }
                    _ => None,
                },
                _ => None,
            },
            _ => e.as_static_str().map(|s| match s.split_once('.') {
                Some((n, a)) => (n.to_string(), Some(a.to_string())),
                None => (s, None),
            }),
        };
        match parsed {
            Some((name, alias)) => Some(ProviderRef { name, alias, span }),
            None => {
                self.err(file, e.hcl().span(), "Invalid provider reference")
                    .detail =
                    Some("provider is NAME or NAME.ALIAS, as in provider = aws.west.".into());
                None
            }
        }
    }

    fn lifecycle(&mut self, file: &Arc<SourceFile>, b: &BodyBlock, dir: &Path) -> Lifecycle {
        let mut lc = Lifecycle::default();
        for a in &b.body.attributes {
            match a.name.as_str() {
                "prevent_destroy" => {
                    lc.prevent_destroy = self.const_bool(file, a.expr.hcl(), "prevent_destroy", dir)
                }
                "create_before_destroy" => {
                    lc.create_before_destroy =
                        self.const_bool(file, a.expr.hcl(), "create_before_destroy", dir)
                }
                "ignore_changes" => lc.ignore_changes = self.ignore_changes(file, &a.expr),
                other => {
                    let d = self.err(
                        file,
                        Some(0..0),
                        format!("Unsupported argument \"{other}\""),
                    );
                    d.span = Some(a.span.clone());
                    d.source_line = file.line_text(a.span.line);
                    d.detail = Some("lifecycle accepts prevent_destroy, create_before_destroy and ignore_changes.".into());
                    if let Some(n) = nearest(
                        other,
                        ["prevent_destroy", "create_before_destroy", "ignore_changes"],
                    ) {
                        d.hint = Some(format!("did you mean \"{n}\"?"));
                    }
                }
            }
        }
        lc
    }

    fn ignore_changes(&mut self, file: &SourceFile, e: &Expr) -> IgnoreChanges {
        if e.as_static_str().as_deref() == Some("all")
            || matches!(e.hcl(), Expression::Variable(v) if v.as_str() == "all")
        {
            return IgnoreChanges::All;
        }
        let Expression::Array(items) = e.hcl() else {
            self.err(file, e.hcl().span(), "Invalid ignore_changes").detail =
                Some("ignore_changes is all, or a list of attribute paths such as [tags, node_pool[0].node_count].".into());
            return IgnoreChanges::None;
        };
        let mut paths = Vec::new();
        for item in items.iter() {
            match attribute_path(item) {
                Some(p) => paths.push(p),
                None => {
                    self.err(file, item.span(), "Invalid ignore_changes path").detail =
                        Some("Each element is an attribute path such as tags or node_pool[0].node_count.".into());
                }
            }
        }
        IgnoreChanges::Paths(paths)
    }

    fn body(&mut self, file: &Arc<SourceFile>, body: &HclBody) -> Body {
        let mut out = Body::default();
        for s in body.iter() {
            match s {
                Structure::Attribute(a) => out.attributes.push(BodyAttribute {
                    name: a.key.as_str().to_string(),
                    expr: Expr::new(a.value.clone(), file.clone()),
                    span: span_of(file, a.key.span()),
                }),
                Structure::Block(b) => {
                    let nested = self.body(file, &b.body);
                    out.blocks.push(BodyBlock {
                        name: b.ident.as_str().to_string(),
                        labels: b.labels.iter().map(|l| l.as_str().to_string()).collect(),
                        body: nested,
                        span: span_of(file, header_range(b)),
                    });
                }
            }
        }
        out
    }
}

/// Reads `tags`, `tags["k"]`, `node_pool[0].size` (or the quoted form) as a value path.
fn attribute_path(e: &Expression) -> Option<strata_core::Path> {
    match e {
        Expression::Variable(v) => Some(strata_core::Path(vec![PathStep::Key(
            v.as_str().to_string(),
        )])),
        Expression::String(s) => strata_core::Path::parse(s.value()),
        Expression::Traversal(t) => {
            let Expression::Variable(v) = &t.expr else {
                return None;
            };
            let mut steps = vec![PathStep::Key(v.as_str().to_string())];
            for op in &t.operators {
                steps.push(match op.value() {
                    TraversalOperator::GetAttr(a) => PathStep::Key(a.as_str().to_string()),
                    TraversalOperator::LegacyIndex(i) => PathStep::Index(*i.value() as usize),
                    TraversalOperator::Index(Expression::Number(n)) => {
                        PathStep::Index(n.as_u64()? as usize)
                    }
                    TraversalOperator::Index(Expression::String(s)) => {
                        PathStep::Key(s.value().clone())
                    }
                    _ => return None,
                });
            }
            Some(strata_core::Path(steps))
        }
        _ => None,
    }
}
