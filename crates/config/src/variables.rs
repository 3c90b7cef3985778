//! Giving a stack's variables their values for one environment.

use std::collections::BTreeMap;
use strata_core::{Diagnostic, Mode, Value};

use crate::diagnostics::Diagnostics;
use crate::eval::{eval, Scope};
use crate::load::ConstScope;
use crate::model::{Environment, Expr, Stack};

/// A variable `x` can be set from the process environment as `STRATA_VAR_x`.
pub const ENV_VAR_PREFIX: &str = "STRATA_VAR_";

/// Values for a stack's variables: from the environment's `variables`, then env vars
/// `STRATA_VAR_<name>` (parsed as an HCL expression if possible, else taken as a string), then
/// defaults. Each value is converted to the declared type, checked against the validation
/// blocks, and marked if the variable is sensitive. Every problem is reported.
pub fn resolve_variables(
    stack: &Stack,
    env: Option<&Environment>,
    env_vars: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, Value>, Diagnostics> {
    let mut diags = Diagnostics::new();
    let mut values = BTreeMap::new();
    let root = crate::source::stack_root(stack);
    let env_name = env.map(|e| e.name.as_str()).unwrap_or("");
    for (name, var) in &stack.variables {
        let line = |span: &strata_core::Span| crate::source::source_line(stack, span);
        let raw = if let Some(v) = env.and_then(|e| e.variables.get(name)) {
            Some(v.clone())
        } else if let Some(text) = env_vars.get(&format!("{ENV_VAR_PREFIX}{name}")) {
            Some(from_env_var(text, env_name, &stack.dir, &root))
        } else {
            var.default.clone()
        };
        let Some(raw) = raw else {
            let detail = match env {
                Some(e) => format!("The environment \"{}\" does not set the variable \"{name}\" and it has no default.", e.name),
                None => format!("No environment is selected and the variable \"{name}\" has no default."),
            };
            let hint = match env {
                Some(e) => format!("add {name} = … to variables in environment \"{}\" in strata.hcl, or set {ENV_VAR_PREFIX}{name}", e.name),
                None => format!("select an environment with --env, set {ENV_VAR_PREFIX}{name}, or give the variable a default"),
            };
            diags.push(
                Diagnostic::error(format!("No value for required variable \"{name}\""))
                    .with_span(var.span.clone(), line(&var.span))
                    .with_detail(detail)
                    .with_hint(hint),
            );
            continue;
        };
        let value = match &var.ty {
            Some(ty) => match ty.convert(&raw) {
                Ok(v) => v,
                Err(msg) => {
                    diags.push(
                        Diagnostic::error(format!("Invalid value for variable \"{name}\""))
                            .with_span(var.span.clone(), line(&var.span))
                            .with_detail(format!(
                                "The value {}does not match the variable's type: {msg}.",
                                source_of(env, name, env_vars)
                            )),
                    );
                    continue;
                }
            },
            None => raw,
        };
        let value = if var.sensitive {
            value.sensitive()
        } else {
            value
        };
        let mut failed = false;
        for v in &var.validations {
            let scope = OneVariable {
                name,
                value: &value,
                env: env_name,
                stack_dir: &stack.dir,
            };
            match eval(&v.condition, &scope) {
                Ok(c) if c.as_bool() == Some(false) => {
                    failed = true;
                    diags.push(
                        Diagnostic::error(format!("Invalid value for variable \"{name}\""))
                            .with_span(v.span.clone(), line(&v.span))
                            .with_detail(v.error_message.clone()),
                    );
                }
                Ok(c) if c.is_unknown() || c.as_bool().is_some() => {}
                Ok(c) => {
                    failed = true;
                    let span = v.condition.span();
                    diags.push(
                        Diagnostic::error("Invalid validation condition")
                            .with_span(span.clone(), line(&span))
                            .with_detail(format!(
                                "The condition must be a bool, found {}.",
                                c.type_name()
                            )),
                    );
                }
                Err(d) => {
                    failed = true;
                    diags.extend(d);
                }
            }
        }
        if !failed {
            values.insert(name.clone(), value);
        }
    }
    if diags.is_empty() {
        Ok(values)
    } else {
        Err(diags)
    }
}

/// Where a value came from, for the type-mismatch message.
fn source_of(env: Option<&Environment>, name: &str, env_vars: &BTreeMap<String, String>) -> String {
    if let Some(e) = env.filter(|e| e.variables.contains_key(name)) {
        format!("set in environment \"{}\" ", e.name)
    } else if env_vars.contains_key(&format!("{ENV_VAR_PREFIX}{name}")) {
        format!("from {ENV_VAR_PREFIX}{name} ")
    } else {
        "of the default ".into()
    }
}

/// `STRATA_VAR_x=3` is the number 3, `STRATA_VAR_x='["a"]'` a list, and anything that is not a
/// constant HCL expression (`nyc1`) the string itself.
fn from_env_var(text: &str, env: &str, dir: &std::path::Path, root: &std::path::Path) -> Value {
    let Ok(expr) = Expr::parse(text, "env") else {
        return Value::String(text.to_string());
    };
    if !expr.references().is_empty() {
        return Value::String(text.to_string());
    }
    match eval(
        &expr,
        &ConstScope {
            env,
            stack_dir: dir,
            root,
        },
    ) {
        Ok(v) if v.is_wholly_known() => v,
        _ => Value::String(text.to_string()),
    }
}

/// A validation condition sees the variable it validates.
struct OneVariable<'a> {
    name: &'a str,
    value: &'a Value,
    env: &'a str,
    stack_dir: &'a std::path::Path,
}

impl Scope for OneVariable<'_> {
    fn variable(&self, name: &str) -> Option<Value> {
        (name == self.name).then(|| self.value.clone())
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
    fn stack_dir(&self) -> &std::path::Path {
        self.stack_dir
    }
    fn project_root(&self) -> &std::path::Path {
        self.stack_dir
    }
}
