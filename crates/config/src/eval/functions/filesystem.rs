//! Functions that read files in the stack folder.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use strata_core::{Mode, Value};

use super::{exactly, map, string, Ctx};
use crate::eval::{Evaluator, Scope};
use crate::source::SourceFile;

type R = Result<Value, String>;

fn resolve(ctx: &Ctx, path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        ctx.stack_dir.join(p)
    }
}

fn read(ctx: &Ctx, path: &str) -> Result<String, String> {
    let full = resolve(ctx, path);
    std::fs::read(&full)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("no file exists at {path:?}"),
            _ => format!("cannot read {path:?}: {e}"),
        })
        .and_then(|b| String::from_utf8(b).map_err(|_| format!("{path:?} is not valid UTF-8 text")))
}

pub(super) fn file(ctx: &Ctx, args: Vec<Value>) -> R {
    let [p] = exactly::<1>(args)?;
    read(ctx, &string(&p, "the path")?).map(Value::String)
}

/// The files under `path` matching `pattern`, relative to `path`, sorted.
pub(super) fn fileset(ctx: &Ctx, args: Vec<Value>) -> R {
    let [p, pattern] = exactly::<2>(args)?;
    let base = resolve(ctx, &string(&p, "the path")?);
    let pattern = string(&pattern, "the pattern")?;
    let full = base.join(&pattern);
    let full = full.to_str().ok_or("the path is not valid UTF-8")?;
    let paths = glob::glob(full).map_err(|e| format!("invalid pattern {pattern:?}: {e}"))?;
    let mut out = Vec::new();
    for entry in paths {
        let path = entry.map_err(|e| e.to_string())?;
        if !path.is_file() {
            continue;
        }
        if let Ok(rel) = path.strip_prefix(&base) {
            let parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(parts.join("/"));
        }
    }
    out.sort();
    Ok(Value::List(out.into_iter().map(Value::String).collect()))
}

/// Renders a template file with the given variables; the template sees only those variables
/// (plus `env` and `path`), not the stack's.
pub(super) fn templatefile(ctx: &Ctx, args: Vec<Value>) -> R {
    let [p, vars] = exactly::<2>(args)?;
    let path = string(&p, "the path")?;
    let vars = map(vars, "the variables")?;
    let text = read(ctx, &path)?;
    let file = Arc::new(SourceFile::new(&path, text));
    let template = hcl_edit::parser::parse_template(file.text()).map_err(|e| {
        let loc = e.location();
        format!("{path}:{}:{}: {}", loc.line(), loc.column(), e.message())
    })?;
    let scope = TemplateScope(ctx.scope);
    let mut ev = Evaluator::new(&scope, &file);
    ev.bound = vars.into_iter().collect();
    ev.render_template(&template).map_err(|d| {
        let at = d
            .span
            .as_ref()
            .map(|s| format!("{s}: "))
            .unwrap_or_default();
        match d.detail {
            Some(detail) => format!("{at}{}: {detail}", d.summary),
            None => format!("{at}{}", d.summary),
        }
    })
}

/// What a template file sees: no variables, locals or resources of its own.
struct TemplateScope<'a>(&'a dyn Scope);

impl Scope for TemplateScope<'_> {
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
        self.0.env()
    }
    fn stack_dir(&self) -> &Path {
        self.0.stack_dir()
    }
    fn project_root(&self) -> &Path {
        self.0.project_root()
    }
}
