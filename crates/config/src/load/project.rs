//! Decoding `strata.hcl`: the project name, the backend and the environments.

use super::*;

impl Loader {
    pub(super) fn project_file(
        &mut self,
    ) -> (Option<String>, Backend, BTreeMap<String, Environment>) {
        let mut name: Option<(String, strata_core::Span)> = None;
        let mut backend = Backend::default();
        let mut environments: BTreeMap<String, Environment> = BTreeMap::new();
        let path = self.root.join(PROJECT_FILE);
        let Some((file, body)) = self.parse(&path) else {
            return (None, backend, environments);
        };
        let root = self.root.clone();
        for s in body.iter() {
            let block = match s {
                Structure::Block(b) => b,
                Structure::Attribute(a) => {
                    self.unsupported_attr(&file, a, &[], "at the top level of strata.hcl (it holds project, backend and environment blocks)");
                    continue;
                }
            };
            let span = span_of(&file, header_range(block));
            match block.ident.as_str() {
                "project" => {
                    let Some(l) = self.labels(&file, block, &["NAME"]) else {
                        continue;
                    };
                    if let Some((_, first)) = &name {
                        let first = first.clone();
                        self.err(&file, header_range(block), "Duplicate project block")
                            .notes
                            .push(strata_core::diagnostic::Note {
                                message: "first declared here".into(),
                                span: Some(first),
                            });
                        continue;
                    }
                    name = Some((l[0].clone(), span));
                }
                "backend" => {
                    let Some(l) = self.labels(&file, block, &["KIND"]) else {
                        continue;
                    };
                    if let Some(first) = &backend.span {
                        let first = first.clone();
                        self.err(&file, header_range(block), "Duplicate backend block")
                            .notes
                            .push(strata_core::diagnostic::Note {
                                message: "first declared here".into(),
                                span: Some(first),
                            });
                        continue;
                    }
                    let mut settings = BTreeMap::new();
                    for a in block.body.attributes() {
                        if let Some(v) = self.const_value(&file, &a.value, "", &root) {
                            settings.insert(a.key.as_str().to_string(), v);
                        }
                    }
                    for b in block.body.blocks() {
                        self.unsupported_block(&file, b, &[], "in a backend block");
                    }
                    backend = Backend {
                        kind: l[0].clone(),
                        settings,
                        span: Some(span),
                    };
                }
                "environment" => {
                    let Some(l) = self.labels(&file, block, &["NAME"]) else {
                        continue;
                    };
                    let env_name = l[0].clone();
                    if let Some(first) = environments.get(&env_name) {
                        let first = first.span.clone();
                        self.err(
                            &file,
                            header_range(block),
                            format!("Duplicate environment \"{env_name}\""),
                        )
                        .notes
                        .push(strata_core::diagnostic::Note {
                            message: "first declared here".into(),
                            span: Some(first),
                        });
                        continue;
                    }
                    let mut variables = BTreeMap::new();
                    for a in block.body.attributes() {
                        if a.key.as_str() != "variables" {
                            self.unsupported_attr(
                                &file,
                                a,
                                &["variables"],
                                "in an environment block",
                            );
                            continue;
                        }
                        match self.const_value(&file, &a.value, &env_name, &root) {
                            Some(Value::Map(m)) => variables = m,
                            Some(other) => {
                                self.err(&file, a.value.span(), "Incorrect variables type")
                                    .detail = Some(format!(
                                    "variables is a map of variable names to values, found {}.",
                                    other.type_name()
                                ));
                            }
                            None => {}
                        }
                    }
                    for b in block.body.blocks() {
                        self.unsupported_block(&file, b, &[], "in an environment block");
                    }
                    environments.insert(
                        env_name.clone(),
                        Environment {
                            name: env_name,
                            variables,
                            span,
                        },
                    );
                }
                "drift" => {
                    for a in block.body.attributes() {
                        self.unsupported_attr(
                            &file,
                            a,
                            &[],
                            "in a drift block (it holds ignore blocks)",
                        );
                    }
                    for b in block.body.blocks() {
                        if b.ident.as_str() != "ignore" {
                            self.unsupported_block(&file, b, &["ignore"], "in a drift block");
                            continue;
                        }
                        let rule_span = span_of(&file, header_range(b));
                        let mut fields: BTreeMap<String, String> = BTreeMap::new();
                        for a in b.body.attributes() {
                            let key = a.key.as_str();
                            if !["address", "attribute", "until", "reason"].contains(&key) {
                                self.unsupported_attr(
                                    &file,
                                    a,
                                    &["address", "attribute", "until", "reason"],
                                    "in an ignore block",
                                );
                                continue;
                            }
                            match self.const_value(&file, &a.value, "", &root) {
                                Some(Value::String(v)) => {
                                    fields.insert(key.to_string(), v);
                                }
                                Some(other) => {
                                    self.err(
                                        &file,
                                        a.value.span(),
                                        format!("Incorrect {key} type"),
                                    )
                                    .detail = Some(format!(
                                        "{key} is a string, found {}.",
                                        other.type_name()
                                    ));
                                }
                                None => {}
                            }
                        }
                        let Some(address) = fields.remove("address") else {
                            let d = self.err(
                                &file,
                                header_range(b),
                                "Missing address in an ignore block",
                            );
                            d.hint =
                                Some("name the resource: address = \"STACK/TYPE.NAME\"".into());
                            continue;
                        };
                        if let Some(until) = fields.get("until") {
                            let valid = time::Date::parse(
                                until,
                                time::macros::format_description!("[year]-[month]-[day]"),
                            )
                            .is_ok();
                            if !valid {
                                let d = self.err(
                                    &file,
                                    header_range(b),
                                    format!("Invalid date {until:?} in an ignore block"),
                                );
                                d.hint = Some(
                                    "write the last day the rule applies as YYYY-MM-DD".into(),
                                );
                                continue;
                            }
                        }
                        self.drift_ignores.push(crate::model::DriftIgnore {
                            address,
                            attribute: fields.remove("attribute"),
                            until: fields.remove("until"),
                            reason: fields.remove("reason"),
                            span: rule_span,
                        });
                    }
                }
                "encryption" => {
                    if let Some(first) = &self.encryption {
                        let first = first.span.clone();
                        self.err(&file, header_range(block), "Duplicate encryption block")
                            .notes
                            .push(strata_core::diagnostic::Note {
                                message: "first declared here".into(),
                                span: Some(first),
                            });
                        continue;
                    }
                    let mut passphrase_env =
                        crate::model::Encryption::DEFAULT_PASSPHRASE_ENV.to_string();
                    for a in block.body.attributes() {
                        if a.key.as_str() != "passphrase_env" {
                            self.unsupported_attr(
                                &file,
                                a,
                                &["passphrase_env"],
                                "in an encryption block",
                            );
                            continue;
                        }
                        match self.const_value(&file, &a.value, "", &root) {
                            Some(Value::String(v)) if !v.is_empty() => passphrase_env = v,
                            Some(other) => {
                                let d = self.err(&file, a.value.span(), "Incorrect passphrase_env");
                                d.detail = Some(format!(
                                    "passphrase_env names an environment variable, found {}.",
                                    other.type_name()
                                ));
                                d.hint = Some(
                                    "write passphrase_env = \"STRATA_PASSPHRASE\" and put the passphrase in that variable".into(),
                                );
                            }
                            None => {}
                        }
                    }
                    for b in block.body.blocks() {
                        self.unsupported_block(&file, b, &[], "in an encryption block");
                    }
                    self.encryption = Some(crate::model::Encryption {
                        passphrase_env,
                        span,
                    });
                }
                _ => self.unsupported_block(&file, block, PROJECT_BLOCKS, "in strata.hcl"),
            }
        }
        if name.is_none() && !self.diags.has_errors() {
            let d = self.err(&file, Some(0..0), "Missing project block");
            d.detail = Some("strata.hcl must name the project.".into());
            d.hint = Some("add: project \"NAME\" {}".into());
        }
        (name.map(|(n, _)| n), backend, environments)
    }
}
