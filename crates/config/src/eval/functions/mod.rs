//! Built-in functions.
//!
//! Each function declares how marks pass through it:
//! - *opaque* functions (string and encoding functions) see plain values: any unknown anywhere
//!   in the arguments makes the result unknown, any sensitive part makes it sensitive;
//! - *structural* functions (`length`, `keys`, `merge`…) work on the shape of a known
//!   collection, so unknown or sensitive elements inside it pass through untouched and only
//!   top-level marks on an argument are carried to the result;
//! - `sensitive` and `nonsensitive` set and remove the mark themselves.

mod collections;
mod encoding;
mod filesystem;
mod network;
mod numbers;
mod strings;

use std::path::Path;
use strata_core::Value;

use super::marks::{mark, split};
use super::Scope;

/// What a function may need besides its arguments.
pub(crate) struct Ctx<'a> {
    /// Relative paths given to `file`, `templatefile` and `fileset` resolve against it.
    pub stack_dir: &'a Path,
    pub scope: &'a dyn Scope,
}

type Impl = fn(&Ctx, Vec<Value>) -> Result<Value, String>;

#[derive(Clone, Copy)]
enum Marks {
    Opaque,
    Structural,
    Raw,
}

pub(crate) struct Func {
    name: &'static str,
    marks: Marks,
    f: Impl,
}

impl Func {
    pub(crate) fn call(&self, ctx: &Ctx, args: Vec<Value>) -> Result<Value, String> {
        match self.marks {
            Marks::Raw => (self.f)(ctx, args),
            Marks::Opaque => {
                let sensitive = args.iter().any(Value::contains_sensitive);
                if !args.iter().all(Value::is_wholly_known) {
                    return Ok(mark(Value::Unknown, sensitive));
                }
                let plain = args.iter().map(|a| a.unmark().0).collect();
                (self.f)(ctx, plain).map(|v| mark(v, sensitive))
            }
            Marks::Structural => {
                let mut sensitive = false;
                let mut unknown = false;
                let plain = args
                    .into_iter()
                    .map(|a| {
                        let (a, s) = split(a);
                        sensitive |= s;
                        unknown |= a.is_unknown();
                        a
                    })
                    .collect();
                if unknown {
                    return Ok(mark(Value::Unknown, sensitive));
                }
                (self.f)(ctx, plain).map(|v| mark(v, sensitive))
            }
        }
    }
}

macro_rules! funcs {
    ($($name:literal => $marks:ident $f:path,)*) => {
        const FUNCS: &[Func] = &[$(Func { name: $name, marks: Marks::$marks, f: $f },)*];
    };
}

funcs! {
    "abs" => Opaque numbers::abs,
    "base64decode" => Opaque encoding::base64decode,
    "base64encode" => Opaque encoding::base64encode,
    "ceil" => Opaque numbers::ceil,
    "cidrsubnet" => Opaque network::cidrsubnet,
    "coalesce" => Structural collections::coalesce,
    "compact" => Opaque collections::compact,
    "concat" => Structural collections::concat,
    "contains" => Opaque collections::contains,
    "distinct" => Opaque collections::distinct,
    "element" => Structural collections::element,
    "endswith" => Opaque strings::endswith,
    "file" => Opaque filesystem::file,
    "fileset" => Opaque filesystem::fileset,
    "flatten" => Structural collections::flatten,
    "floor" => Opaque numbers::floor,
    "format" => Opaque strings::format,
    "join" => Opaque strings::join,
    "jsondecode" => Opaque encoding::jsondecode,
    "jsonencode" => Opaque encoding::jsonencode,
    "keys" => Structural collections::keys,
    "length" => Structural collections::length,
    "lookup" => Structural collections::lookup,
    "lower" => Opaque strings::lower,
    "max" => Opaque numbers::max,
    "merge" => Structural collections::merge,
    "min" => Opaque numbers::min,
    "nonsensitive" => Raw nonsensitive,
    "range" => Opaque numbers::range,
    "replace" => Opaque strings::replace,
    "reverse" => Structural collections::reverse,
    "sensitive" => Raw sensitive,
    "split" => Opaque strings::split,
    "startswith" => Opaque strings::startswith,
    "substr" => Opaque strings::substr,
    "templatefile" => Opaque filesystem::templatefile,
    "tolist" => Structural collections::tolist,
    "tomap" => Structural collections::tomap,
    "tonumber" => Opaque numbers::tonumber,
    "toset" => Opaque collections::toset,
    "tostring" => Opaque strings::tostring,
    "trimprefix" => Opaque strings::trimprefix,
    "trimspace" => Opaque strings::trimspace,
    "trimsuffix" => Opaque strings::trimsuffix,
    "upper" => Opaque strings::upper,
    "values" => Structural collections::values,
    "yamldecode" => Opaque encoding::yamldecode,
    "yamlencode" => Opaque encoding::yamlencode,
    "zipmap" => Structural collections::zipmap,
}

pub(crate) fn lookup(name: &str) -> Option<&'static Func> {
    FUNCS.iter().find(|f| f.name == name)
}

/// Every function name, for "did you mean" hints.
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    FUNCS.iter().map(|f| f.name).chain(["try", "can"])
}

fn sensitive(_: &Ctx, args: Vec<Value>) -> Result<Value, String> {
    let [v] = exactly::<1>(args)?;
    Ok(v.sensitive())
}

fn nonsensitive(_: &Ctx, args: Vec<Value>) -> Result<Value, String> {
    let [v] = exactly::<1>(args)?;
    Ok(v.unmark().0)
}

/// The arguments as an array of exactly `N`.
fn exactly<const N: usize>(args: Vec<Value>) -> Result<[Value; N], String> {
    let n = args.len();
    args.try_into().map_err(|_| {
        format!(
            "expects {N} argument{}, got {n}",
            if N == 1 { "" } else { "s" }
        )
    })
}

/// Checks the argument count is within `min..=max`.
fn between(args: &[Value], min: usize, max: usize) -> Result<(), String> {
    if args.len() < min || args.len() > max {
        return Err(if min == max {
            format!("expects {min} arguments, got {}", args.len())
        } else {
            format!("expects {min} to {max} arguments, got {}", args.len())
        });
    }
    Ok(())
}

/// A string argument; numbers and bools convert as in HCL.
fn string(v: &Value, what: &str) -> Result<String, String> {
    match v.unwrap_sensitive() {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(strata_core::value::format_number(*n)),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!(
            "{what} must be a string, found {}",
            other.type_name()
        )),
    }
}

fn number(v: &Value, what: &str) -> Result<f64, String> {
    match v.unwrap_sensitive() {
        Value::Number(n) => Ok(*n),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("{what} must be a number, found {s:?}")),
        other => Err(format!(
            "{what} must be a number, found {}",
            other.type_name()
        )),
    }
}

fn integer(v: &Value, what: &str) -> Result<i64, String> {
    let n = number(v, what)?;
    if n.fract() != 0.0 {
        return Err(format!("{what} must be a whole number, found {n}"));
    }
    Ok(n as i64)
}

fn list(v: Value, what: &str) -> Result<Vec<Value>, String> {
    match v {
        Value::List(items) => Ok(items),
        Value::Sensitive(inner) => {
            list(*inner, what).map(|l| l.into_iter().map(Value::sensitive).collect())
        }
        other => Err(format!(
            "{what} must be a list, found {}",
            other.type_name()
        )),
    }
}

fn map(v: Value, what: &str) -> Result<std::collections::BTreeMap<String, Value>, String> {
    match v {
        Value::Map(m) => Ok(m),
        Value::Sensitive(inner) => {
            map(*inner, what).map(|m| m.into_iter().map(|(k, v)| (k, v.sensitive())).collect())
        }
        other => Err(format!("{what} must be a map, found {}", other.type_name())),
    }
}
