//! Number functions.

use strata_core::Value;

use super::{between, exactly, number, Ctx};

type R = Result<Value, String>;

/// `range` refuses to build more elements than this, so a typo cannot exhaust memory.
const MAX_RANGE: usize = 1024;

pub(super) fn abs(_: &Ctx, args: Vec<Value>) -> R {
    let [n] = exactly::<1>(args)?;
    Ok(Value::Number(number(&n, "the argument")?.abs()))
}

pub(super) fn ceil(_: &Ctx, args: Vec<Value>) -> R {
    let [n] = exactly::<1>(args)?;
    Ok(Value::Number(number(&n, "the argument")?.ceil()))
}

pub(super) fn floor(_: &Ctx, args: Vec<Value>) -> R {
    let [n] = exactly::<1>(args)?;
    Ok(Value::Number(number(&n, "the argument")?.floor()))
}

fn numbers(args: &[Value]) -> Result<Vec<f64>, String> {
    if args.is_empty() {
        return Err("expects at least one argument".into());
    }
    args.iter()
        .enumerate()
        .map(|(i, a)| number(a, &format!("argument {}", i + 1)))
        .collect()
}

pub(super) fn min(_: &Ctx, args: Vec<Value>) -> R {
    Ok(Value::Number(
        numbers(&args)?.into_iter().fold(f64::INFINITY, f64::min),
    ))
}

pub(super) fn max(_: &Ctx, args: Vec<Value>) -> R {
    Ok(Value::Number(
        numbers(&args)?
            .into_iter()
            .fold(f64::NEG_INFINITY, f64::max),
    ))
}

pub(super) fn tonumber(_: &Ctx, args: Vec<Value>) -> R {
    let [v] = exactly::<1>(args)?;
    match &v {
        Value::Null => Ok(Value::Null),
        Value::Number(_) => Ok(v),
        Value::String(s) => s
            .trim()
            .parse()
            .map(Value::Number)
            .map_err(|_| format!("cannot convert {s:?} to a number")),
        other => Err(format!(
            "cannot convert a {} to a number",
            other.type_name()
        )),
    }
}

pub(super) fn range(_: &Ctx, args: Vec<Value>) -> R {
    between(&args, 1, 3)?;
    let n = numbers(&args)?;
    let (start, limit, step) = match n.as_slice() {
        [limit] => (0.0, *limit, 1.0),
        [start, limit] => (*start, *limit, if limit >= start { 1.0 } else { -1.0 }),
        [start, limit, step] => (*start, *limit, *step),
        _ => unreachable!("arity checked"),
    };
    if step == 0.0 {
        return Err("the step must not be zero".into());
    }
    if (limit > start && step < 0.0) || (limit < start && step > 0.0) {
        return Err("the step goes away from the limit".into());
    }
    let mut out = Vec::new();
    let mut x = start;
    while (step > 0.0 && x < limit) || (step < 0.0 && x > limit) {
        if out.len() == MAX_RANGE {
            return Err(format!("more than {MAX_RANGE} values were generated"));
        }
        out.push(Value::Number(x));
        x += step;
    }
    Ok(Value::List(out))
}
