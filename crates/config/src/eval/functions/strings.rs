//! String functions.

use strata_core::Value;

use super::{between, exactly, integer, list, string, Ctx};

type R = Result<Value, String>;

pub(super) fn lower(_: &Ctx, args: Vec<Value>) -> R {
    let [s] = exactly::<1>(args)?;
    Ok(Value::String(string(&s, "the argument")?.to_lowercase()))
}

pub(super) fn upper(_: &Ctx, args: Vec<Value>) -> R {
    let [s] = exactly::<1>(args)?;
    Ok(Value::String(string(&s, "the argument")?.to_uppercase()))
}

pub(super) fn trimspace(_: &Ctx, args: Vec<Value>) -> R {
    let [s] = exactly::<1>(args)?;
    Ok(Value::String(
        string(&s, "the argument")?.trim().to_string(),
    ))
}

pub(super) fn trimprefix(_: &Ctx, args: Vec<Value>) -> R {
    let [s, p] = exactly::<2>(args)?;
    let (s, p) = (string(&s, "the string")?, string(&p, "the prefix")?);
    Ok(Value::String(s.strip_prefix(&p).unwrap_or(&s).to_string()))
}

pub(super) fn trimsuffix(_: &Ctx, args: Vec<Value>) -> R {
    let [s, p] = exactly::<2>(args)?;
    let (s, p) = (string(&s, "the string")?, string(&p, "the suffix")?);
    Ok(Value::String(s.strip_suffix(&p).unwrap_or(&s).to_string()))
}

pub(super) fn startswith(_: &Ctx, args: Vec<Value>) -> R {
    let [s, p] = exactly::<2>(args)?;
    Ok(Value::Bool(
        string(&s, "the string")?.starts_with(&string(&p, "the prefix")?),
    ))
}

pub(super) fn endswith(_: &Ctx, args: Vec<Value>) -> R {
    let [s, p] = exactly::<2>(args)?;
    Ok(Value::Bool(
        string(&s, "the string")?.ends_with(&string(&p, "the suffix")?),
    ))
}

pub(super) fn tostring(_: &Ctx, args: Vec<Value>) -> R {
    let [v] = exactly::<1>(args)?;
    match v {
        Value::Null => Ok(Value::Null),
        Value::List(_) | Value::Map(_) => {
            Err(format!("cannot convert a {} to a string", v.type_name()))
        }
        v => Ok(Value::String(string(&v, "the argument")?)),
    }
}

pub(super) fn join(_: &Ctx, args: Vec<Value>) -> R {
    let mut args = args.into_iter();
    let sep = string(
        &args
            .next()
            .ok_or("expects a separator and at least one list")?,
        "the separator",
    )?;
    let mut parts = Vec::new();
    for (i, l) in args.enumerate() {
        for item in list(l, &format!("argument {}", i + 2))? {
            if item.is_null() {
                return Err("a list element is null".into());
            }
            parts.push(string(&item, "each element")?);
        }
    }
    Ok(Value::String(parts.join(&sep)))
}

pub(super) fn split(_: &Ctx, args: Vec<Value>) -> R {
    let [sep, s] = exactly::<2>(args)?;
    let (sep, s) = (string(&sep, "the separator")?, string(&s, "the string")?);
    if s.is_empty() {
        return Ok(Value::List(Vec::new()));
    }
    Ok(Value::List(
        s.split(sep.as_str()).map(Value::from).collect(),
    ))
}

pub(super) fn replace(_: &Ctx, args: Vec<Value>) -> R {
    let [s, from, to] = exactly::<3>(args)?;
    let (s, from, to) = (
        string(&s, "the string")?,
        string(&from, "the substring")?,
        string(&to, "the replacement")?,
    );
    if from.len() > 1 && from.starts_with('/') && from.ends_with('/') {
        return Err("regular expression patterns are not supported; give a plain substring".into());
    }
    if from.is_empty() {
        return Ok(Value::String(s));
    }
    Ok(Value::String(s.replace(&from, &to)))
}

pub(super) fn substr(_: &Ctx, args: Vec<Value>) -> R {
    let [s, offset, length] = exactly::<3>(args)?;
    let chars: Vec<char> = string(&s, "the string")?.chars().collect();
    let len = chars.len() as i64;
    let mut offset = integer(&offset, "the offset")?;
    let length = integer(&length, "the length")?;
    if offset < 0 {
        offset += len;
    }
    if offset < 0 || offset > len {
        return Err(format!(
            "the offset is outside a string of {len} characters"
        ));
    }
    let end = if length < 0 {
        len
    } else {
        (offset + length).min(len)
    };
    Ok(Value::String(
        chars[offset as usize..end as usize].iter().collect(),
    ))
}

/// `format` with the verbs `%s %d %f %v %q %t %%`, flags `-` and `0`, width and precision.
pub(super) fn format(_: &Ctx, args: Vec<Value>) -> R {
    between(&args, 1, usize::MAX)?;
    let spec = string(&args[0], "the format")?;
    let mut next = 1;
    let mut out = String::new();
    let mut chars = spec.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let (mut left, mut zero) = (false, false);
        while let Some(&f) = chars.peek() {
            match f {
                '-' => left = true,
                '0' => zero = true,
                _ => break,
            }
            chars.next();
        }
        let mut width = String::new();
        while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            width.push(d);
            chars.next();
        }
        let mut precision = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                p.push(d);
                chars.next();
            }
            precision = Some(p.parse::<usize>().unwrap_or(0));
        }
        let verb = chars
            .next()
            .ok_or("the format ends in the middle of a verb")?;
        if verb == '%' {
            out.push('%');
            continue;
        }
        let arg = args
            .get(next)
            .ok_or_else(|| format!("not enough arguments for the verb %{verb}"))?;
        next += 1;
        let text = match verb {
            's' => string(arg, "a %s argument")?,
            'd' => integer(arg, "a %d argument")?.to_string(),
            'f' => format!(
                "{:.*}",
                precision.unwrap_or(6),
                super::number(arg, "a %f argument")?
            ),
            't' => match arg {
                Value::Bool(b) => b.to_string(),
                other => {
                    return Err(format!(
                        "a %t argument must be a bool, found {}",
                        other.type_name()
                    ))
                }
            },
            'q' => {
                serde_json::to_string(&string(arg, "a %q argument")?).map_err(|e| e.to_string())?
            }
            'v' => match arg {
                Value::List(_) | Value::Map(_) => arg.to_json().to_string(),
                Value::Null => "null".into(),
                other => string(other, "a %v argument")?,
            },
            other => return Err(format!("unsupported verb %{other}")),
        };
        let text = match (verb, precision) {
            ('s', Some(p)) => text.chars().take(p).collect(),
            _ => text,
        };
        let width: usize = width.parse().unwrap_or(0);
        let pad = width.saturating_sub(text.chars().count());
        if left {
            out.push_str(&text);
            out.push_str(&" ".repeat(pad));
        } else if zero && matches!(verb, 'd' | 'f') {
            let (sign, digits) = text
                .strip_prefix('-')
                .map(|d| ("-", d))
                .unwrap_or(("", &text));
            out.push_str(sign);
            out.push_str(&"0".repeat(pad));
            out.push_str(digits);
        } else {
            out.push_str(&" ".repeat(pad));
            out.push_str(&text);
        }
    }
    if next < args.len() {
        return Err(format!(
            "too many arguments: the format uses {}, got {}",
            next - 1,
            args.len() - 1
        ));
    }
    Ok(Value::String(out))
}
