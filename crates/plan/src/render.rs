//! The plain-text rendering of a plan, Terraform-style and readable without colour.
//!
//! ```text
//!   # base/testing_cluster.main must be replaced
//! -/+ resource "testing_cluster" "main" {
//!       ~ id     = "abc" -> (known after apply)
//!       ~ region = "nyc1" -> "ams3" # forces replacement
//!         # (2 unchanged attributes hidden)
//!     }
//! ```
//!
//! Layout: the action symbol of each line sits in a fixed column and nesting adds four spaces,
//! so a diff reads the same with or without colour. Sensitive values are shown only as
//! `(sensitive value)`, whatever their shape; unknown ones as `(known after apply)`.
//!
//! A plan does not carry schemas, so [`render_text`] recognises nested blocks by their shape
//! (a non-empty list of maps). [`render_text_with_schemas`] uses the schemas instead, which
//! also shows single nested blocks as blocks.

use crate::compare::values_equal;
use crate::model::{Action, OutputChange, Plan, ResourceChange, Summary};
use std::collections::{BTreeMap, BTreeSet};
use strata_core::schema::BlockSchema;
use strata_core::value::format_number;
use strata_core::{Mode, Path, Value};

/// `Plan: 3 to add, 1 to change, 1 to destroy.`
pub fn render_summary(s: &Summary) -> String {
    format!(
        "Plan: {} to add, {} to change, {} to destroy.",
        s.add, s.change, s.destroy
    )
}

/// The plan as text, ending with a newline. No-op resources are not listed.
pub fn render_text(plan: &Plan) -> String {
    render_text_with_schemas(plan, &BTreeMap::new())
}

/// Like [`render_text`], with resource schemas by type name, so that nested blocks are
/// recognised exactly rather than by their shape.
pub fn render_text_with_schemas(plan: &Plan, schemas: &BTreeMap<String, BlockSchema>) -> String {
    let shown: Vec<&ResourceChange> = plan
        .changes()
        .filter(|c| c.action != Action::NoOp)
        .collect();
    let outputs: Vec<(&str, &OutputChange)> = plan
        .stacks
        .iter()
        .flat_map(|s| s.outputs.iter().map(move |o| (s.stack.as_str(), o)))
        .filter(|(_, o)| o.is_change())
        .collect();
    if shown.is_empty() && outputs.is_empty() {
        return "No changes. Your infrastructure matches the configuration.\n".into();
    }

    let mut out = String::new();
    if !shown.is_empty() {
        out.push_str(&format!(
            "Strata will perform the following actions in environment {:?}:\n\n",
            plan.env
        ));
        for c in &shown {
            let schema = schemas.get(&c.address.type_name);
            resource(&mut out, c, schema);
            out.push('\n');
        }
    }
    if !outputs.is_empty() {
        out.push_str("Changes to Outputs:\n");
        output_lines(&mut out, &outputs);
        out.push('\n');
    }
    if plan.has_resource_changes() {
        out.push_str(&render_summary(&plan.summary()));
        out.push('\n');
    } else if shown.is_empty() {
        out.push_str(
            "You can apply this plan to save these new output values without changing any real infrastructure.\n",
        );
    } else {
        // Only deferred data source reads: nothing is added, changed or destroyed.
        out.push_str(&render_summary(&plan.summary()));
        out.push('\n');
    }
    out
}

fn header_verb(c: &ResourceChange) -> &'static str {
    match c.action {
        Action::Create => "will be created",
        Action::Update => "will be updated in-place",
        Action::Replace => "must be replaced",
        Action::Delete => "will be destroyed",
        Action::Read => "will be read during apply",
        Action::NoOp => "is unchanged",
    }
}

fn symbol(c: &ResourceChange) -> &'static str {
    match c.action {
        Action::Create => "+",
        Action::Update => "~",
        Action::Replace if c.create_before_destroy => "+/-",
        Action::Replace => "-/+",
        Action::Delete => "-",
        Action::Read => "<=",
        Action::NoOp => " ",
    }
}

/// The second comment line, saying why, for reasons the diff does not show.
fn reason_text(c: &ResourceChange) -> Option<String> {
    let r = c.reason.as_deref()?;
    let local = c.address.local();
    Some(match r {
        "removed from configuration" | "it is no longer in the configuration" => {
            format!("{local} is not in configuration")
        }
        "tainted" => format!("{local} is tainted"),
        "deleted outside Strata" => format!("{local} was deleted outside Strata"),
        "dependency of a replaced resource" => "it depends on a resource that is replaced".into(),
        other => other.to_string(),
    })
}

fn resource(out: &mut String, c: &ResourceChange, schema: Option<&BlockSchema>) {
    out.push_str(&format!("  # {} {}\n", c.address, header_verb(c)));
    if c.action == Action::Replace && c.create_before_destroy {
        out.push_str("  # (the new object is created before the old one is destroyed)\n");
    }
    if let Some(why) = reason_text(c) {
        out.push_str(&format!("  # (because {why})\n"));
    }
    let keyword = match c.address.mode {
        Mode::Managed => "resource",
        Mode::Data => "data",
    };
    let open = format!(
        "{:>3} {keyword} {:?} {:?} {{",
        symbol(c),
        c.address.type_name,
        c.address.name
    );
    if c.action == Action::Delete {
        out.push_str(&open);
        out.push_str(" ... }\n");
        return;
    }
    out.push_str(&open);
    out.push('\n');
    let (before, after) = match c.action {
        Action::Create | Action::Read => (None, c.after.as_ref()),
        _ => (c.before.as_ref(), c.after.as_ref()),
    };
    let ctx = Ctx {
        replace: &c.replace_because,
    };
    match (
        before.map(Value::unwrap_sensitive),
        after.map(Value::unwrap_sensitive),
    ) {
        (_, Some(Value::Unknown)) => {
            out.push_str(&format!("{}# (all attributes known after apply)\n", pad(8)));
        }
        _ => ctx.block_body(out, schema, before, after, 6, &Path::root()),
    }
    out.push_str("    }\n");
}

fn output_lines(out: &mut String, outputs: &[(&str, &OutputChange)]) {
    let mut seen = BTreeSet::new();
    let clash: BTreeSet<&str> = outputs
        .iter()
        .filter(|(_, o)| !seen.insert(o.name.as_str()))
        .map(|(_, o)| o.name.as_str())
        .collect();
    let labels: Vec<String> = outputs
        .iter()
        .map(|(stack, o)| {
            if clash.contains(o.name.as_str()) {
                format!("{stack}/{}", o.name)
            } else {
                o.name.clone()
            }
        })
        .collect();
    let width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    for ((_, o), label) in outputs.iter().zip(&labels) {
        let mark = |v: &Option<Value>| {
            v.clone()
                .map(|v| if o.sensitive { v.sensitive() } else { v })
        };
        let (before, after) = (mark(&o.before), mark(&o.after));
        if let Some((sign, rhs)) = attr_rhs(before.as_ref(), after.as_ref(), 2) {
            out.push_str(&format!("  {sign} {label:<width$} = {rhs}\n"));
        }
    }
}

/// Per-resource rendering context.
struct Ctx<'a> {
    replace: &'a [Path],
}

impl Ctx<'_> {
    fn forces_attr(&self, at: &Path) -> bool {
        self.replace.iter().any(|p| p.starts_with(at))
    }

    fn forces_block(&self, block: &Path, element: &Path) -> bool {
        self.replace.iter().any(|p| p == block || p == element)
    }

    /// Renders the attributes and nested blocks of one block. `indent` is the column of the
    /// action symbols; `before`/`after` are `None` when the block is created/removed.
    fn block_body(
        &self,
        out: &mut String,
        schema: Option<&BlockSchema>,
        before: Option<&Value>,
        after: Option<&Value>,
        indent: usize,
        at: &Path,
    ) {
        let empty = BTreeMap::new();
        let bm = before.and_then(Value::as_map).unwrap_or(&empty);
        let am = after.and_then(Value::as_map).unwrap_or(&empty);
        let keys: BTreeSet<&String> = bm.keys().chain(am.keys()).collect();
        let (mut attrs, mut blocks) = (Vec::new(), Vec::new());
        for k in keys {
            let (b, a) = (bm.get(k), am.get(k));
            if is_block(schema, k, b, a) {
                blocks.push((k, b, a));
            } else {
                attrs.push((k, b, a));
            }
        }

        let mut lines = Vec::new();
        let mut unchanged_attrs = 0;
        for (k, b, a) in attrs {
            let (b, a) = (
                b.filter(|_| before.is_some()),
                a.filter(|_| after.is_some()),
            );
            let path = at.key(k.as_str());
            match attr_rhs(b, a, indent) {
                Some((sign, rhs)) => {
                    let suffix = if self.forces_attr(&path) && before.is_some() && after.is_some() {
                        " # forces replacement"
                    } else {
                        ""
                    };
                    lines.push((sign, key_label(k), rhs, suffix));
                }
                None if a.is_some_and(|v| !v.is_null()) => unchanged_attrs += 1,
                None => {}
            }
        }
        let width = lines.iter().map(|l| l.1.chars().count()).max().unwrap_or(0);
        for (sign, label, rhs, suffix) in lines {
            out.push_str(&format!(
                "{}{sign} {label:<width$} = {}\n",
                pad(indent),
                with_suffix(&rhs, suffix)
            ));
        }

        let mut unchanged_blocks = 0;
        for (k, b, a) in blocks {
            let b = b.filter(|_| before.is_some());
            let a = a.filter(|_| after.is_some());
            let nested = schema.and_then(|s| s.blocks.get(k.as_str()));
            let inner = nested.map(|n| &n.block);
            let block_path = at.key(k.as_str());
            let elements = |v: Option<&Value>| -> Vec<Option<Value>> {
                match v.map(Value::unwrap_sensitive) {
                    Some(Value::List(items)) => items.iter().cloned().map(Some).collect(),
                    Some(Value::Map(_)) => vec![v.cloned()],
                    _ => Vec::new(),
                }
            };
            let is_list = matches!(a.or(b).map(Value::unwrap_sensitive), Some(Value::List(_)));
            let (be, ae) = (elements(b), elements(a));
            for i in 0..be.len().max(ae.len()) {
                let eb = be.get(i).cloned().flatten();
                let ea = ae.get(i).cloned().flatten();
                let element = if is_list {
                    block_path.index(i)
                } else {
                    block_path.clone()
                };
                let sign = match (&eb, &ea) {
                    (Some(x), Some(y)) if values_equal(x, y) => {
                        unchanged_blocks += 1;
                        continue;
                    }
                    (Some(_), Some(_)) => '~',
                    (None, Some(_)) => '+',
                    (Some(_), None) => '-',
                    (None, None) => continue,
                };
                let suffix = if self.forces_block(&block_path, &element) {
                    " # forces replacement"
                } else {
                    ""
                };
                out.push_str(&format!(
                    "{}{sign} {} {{{suffix}\n",
                    pad(indent),
                    key_label(k)
                ));
                // A whole block marked sensitive shows nothing of its contents.
                if eb.as_ref().is_some_and(Value::is_sensitive)
                    || ea.as_ref().is_some_and(Value::is_sensitive)
                {
                    out.push_str(&format!("{}# (sensitive block)\n", pad(indent + 6)));
                } else {
                    self.block_body(out, inner, eb.as_ref(), ea.as_ref(), indent + 4, &element);
                }
                out.push_str(&format!("{}}}\n", pad(indent + 2)));
            }
        }

        if unchanged_attrs > 0 {
            out.push_str(&format!(
                "{}# ({unchanged_attrs} unchanged {} hidden)\n",
                pad(indent + 2),
                plural(unchanged_attrs, "attribute")
            ));
        }
        if unchanged_blocks > 0 {
            out.push_str(&format!(
                "{}# ({unchanged_blocks} unchanged {} hidden)\n",
                pad(indent + 2),
                plural(unchanged_blocks, "block")
            ));
        }
    }
}

/// Whether the entry `k` of a block is a nested block (rendered `k { ... }`) rather than an
/// attribute (rendered `k = ...`).
fn is_block(schema: Option<&BlockSchema>, k: &str, b: Option<&Value>, a: Option<&Value>) -> bool {
    let block_shaped = |v: Option<&Value>| match v {
        None | Some(Value::Null) => true,
        Some(Value::List(items)) => items.iter().all(|i| matches!(i, Value::Map(_))),
        Some(Value::Map(_)) => schema.is_some(),
        Some(_) => false,
    };
    let shaped = block_shaped(b) && block_shaped(a);
    match schema {
        Some(s) => s.blocks.contains_key(k) && shaped,
        None => {
            let non_empty =
                |v: Option<&Value>| v.and_then(Value::as_list).is_some_and(|l| !l.is_empty());
            shaped
                && (non_empty(b) || non_empty(a))
                && !b.is_some_and(Value::is_sensitive)
                && !a.is_some_and(Value::is_sensitive)
        }
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_string()
    } else {
        format!("{word}s")
    }
}

fn pad(n: usize) -> String {
    " ".repeat(n)
}

/// Appends a trailing comment to the first line of a possibly multi-line value.
fn with_suffix(rhs: &str, suffix: &str) -> String {
    if suffix.is_empty() {
        return rhs.to_string();
    }
    match rhs.split_once('\n') {
        Some((first, rest)) => format!("{first}{suffix}\n{rest}"),
        None => format!("{rhs}{suffix}"),
    }
}

fn key_label(k: &str) -> String {
    let mut chars = k.chars();
    let ident = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ident {
        k.to_string()
    } else {
        format!("{k:?}")
    }
}

const SENSITIVE: &str = "(sensitive value)";

/// The symbol and right-hand side of an attribute line, or `None` when it did not change.
/// `indent` is the column of the line's symbol; nested lines are indented from it.
fn attr_rhs(
    before: Option<&Value>,
    after: Option<&Value>,
    indent: usize,
) -> Option<(char, String)> {
    let before = before.filter(|v| !v.is_null());
    let after = after.filter(|v| !v.is_null());
    match (before, after) {
        (None, None) => None,
        (Some(b), Some(a)) if values_equal(b, a) => None,
        (b, a)
            if b.is_some_and(Value::contains_sensitive)
                || a.is_some_and(Value::contains_sensitive) =>
        {
            Some(match (b, a) {
                (None, _) => ('+', SENSITIVE.into()),
                (_, None) => ('-', format!("{SENSITIVE} -> null")),
                _ => ('~', SENSITIVE.into()),
            })
        }
        (None, Some(a)) => Some(('+', value_text(a, Some('+'), indent))),
        (Some(b), None) => Some(('-', format!("{} -> null", value_text(b, Some('-'), indent)))),
        (Some(b), Some(a)) => Some(('~', changed_text(b, a, indent))),
    }
}

/// The text of a value that changed from `b` to `a`, both present and not sensitive.
fn changed_text(b: &Value, a: &Value, indent: usize) -> String {
    match (b, a) {
        (Value::Map(bm), Value::Map(am)) => {
            let keys: BTreeSet<&String> = bm.keys().chain(am.keys()).collect();
            let mut lines = Vec::new();
            let mut unchanged = 0;
            for k in keys {
                match attr_rhs(bm.get(k), am.get(k), indent + 4) {
                    Some((sign, rhs)) => lines.push((sign, key_label(k), rhs)),
                    None if am.get(k).is_some_and(|v| !v.is_null()) => unchanged += 1,
                    None => {}
                }
            }
            let width = lines.iter().map(|l| l.1.chars().count()).max().unwrap_or(0);
            let mut s = String::from("{\n");
            for (sign, label, rhs) in lines {
                s.push_str(&format!(
                    "{}{sign} {label:<width$} = {rhs}\n",
                    pad(indent + 4)
                ));
            }
            if unchanged > 0 {
                s.push_str(&format!(
                    "{}# ({unchanged} unchanged {} hidden)\n",
                    pad(indent + 6),
                    plural(unchanged, "element")
                ));
            }
            s.push_str(&pad(indent + 2));
            s.push('}');
            s
        }
        (Value::List(bl), Value::List(al)) => {
            let mut s = String::from("[\n");
            let mut unchanged = 0;
            for edit in sequence_diff(bl, al, values_equal) {
                match edit {
                    Edit::Keep(_) => unchanged += 1,
                    Edit::Remove(i) => s.push_str(&format!(
                        "{}- {},\n",
                        pad(indent + 4),
                        value_text(&bl[i], Some('-'), indent + 4)
                    )),
                    Edit::Add(j) => s.push_str(&format!(
                        "{}+ {},\n",
                        pad(indent + 4),
                        value_text(&al[j], Some('+'), indent + 4)
                    )),
                }
            }
            if unchanged > 0 {
                s.push_str(&format!(
                    "{}# ({unchanged} unchanged {} hidden)\n",
                    pad(indent + 6),
                    plural(unchanged, "element")
                ));
            }
            s.push_str(&pad(indent + 2));
            s.push(']');
            s
        }
        (Value::String(x), Value::String(y)) if x.contains('\n') || y.contains('\n') => {
            let xl: Vec<&str> = x.lines().collect();
            let yl: Vec<&str> = y.lines().collect();
            let mut s = String::from("<<-EOT\n");
            for edit in sequence_diff(&xl, &yl, |p, q| p == q) {
                match edit {
                    // Unchanged lines are shown for context.
                    Edit::Keep(i) => s.push_str(&format!("{}{}\n", pad(indent + 6), xl[i])),
                    Edit::Remove(i) => s.push_str(&format!("{}- {}\n", pad(indent + 4), xl[i])),
                    Edit::Add(j) => s.push_str(&format!("{}+ {}\n", pad(indent + 4), yl[j])),
                }
            }
            s.push_str(&pad(indent + 2));
            s.push_str("EOT");
            s
        }
        _ => format!(
            "{} -> {}",
            value_text(b, None, indent),
            value_text(a, None, indent)
        ),
    }
}

/// A value as text. With a sign, the entries of maps and lists get that sign (a created or
/// destroyed collection); without, they are indented plainly. `indent` is the column of the
/// symbol of the line the value starts on.
fn value_text(v: &Value, sign: Option<char>, indent: usize) -> String {
    let mark = match sign {
        Some(c) => format!("{c} "),
        None => "  ".into(),
    };
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format_number(*n),
        Value::String(s) if s.contains('\n') => {
            let mut out = String::from("<<-EOT\n");
            for line in s.lines() {
                out.push_str(&pad(indent + 6));
                out.push_str(line);
                out.push('\n');
            }
            out.push_str(&pad(indent + 2));
            out.push_str("EOT");
            out
        }
        Value::String(s) => format!("{s:?}"),
        Value::Unknown => "(known after apply)".into(),
        Value::Sensitive(_) => SENSITIVE.into(),
        Value::List(items) if items.is_empty() => "[]".into(),
        Value::List(items) => {
            let mut out = String::from("[\n");
            for item in items {
                out.push_str(&format!(
                    "{}{mark}{},\n",
                    pad(indent + 4),
                    value_text(item, sign, indent + 4)
                ));
            }
            out.push_str(&pad(indent + 2));
            out.push(']');
            out
        }
        Value::Map(m) if m.is_empty() => "{}".into(),
        Value::Map(m) => {
            let width = m
                .keys()
                .map(|k| key_label(k).chars().count())
                .max()
                .unwrap_or(0);
            let mut out = String::from("{\n");
            for (k, item) in m {
                if sign.is_some() && item.is_null() {
                    continue;
                }
                out.push_str(&format!(
                    "{}{mark}{:<width$} = {}\n",
                    pad(indent + 4),
                    key_label(k),
                    value_text(item, sign, indent + 4)
                ));
            }
            out.push_str(&pad(indent + 2));
            out.push('}');
            out
        }
    }
}

enum Edit {
    /// The element at this index of the first sequence is in both.
    Keep(usize),
    Remove(usize),
    Add(usize),
}

/// A longest-common-subsequence diff. Beyond a size where the table would be costly, every
/// element is shown removed and added instead, which is still correct, only less concise.
fn sequence_diff<T>(a: &[T], b: &[T], eq: impl Fn(&T, &T) -> bool) -> Vec<Edit> {
    const MAX_CELLS: usize = 4_000_000;
    let (n, m) = (a.len(), b.len());
    if n.saturating_mul(m) > MAX_CELLS {
        return (0..n)
            .map(Edit::Remove)
            .chain((0..m).map(Edit::Add))
            .collect();
    }
    // lcs[i][j] = length of the LCS of a[i..] and b[j..].
    let mut lcs = vec![0u32; (n + 1) * (m + 1)];
    let idx = |i: usize, j: usize| i * (m + 1) + j;
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[idx(i, j)] = if eq(&a[i], &b[j]) {
                lcs[idx(i + 1, j + 1)] + 1
            } else {
                lcs[idx(i + 1, j)].max(lcs[idx(i, j + 1)])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(n + m);
    while i < n && j < m {
        if eq(&a[i], &b[j]) {
            out.push(Edit::Keep(i));
            i += 1;
            j += 1;
        } else if lcs[idx(i + 1, j)] >= lcs[idx(i, j + 1)] {
            out.push(Edit::Remove(i));
            i += 1;
        } else {
            out.push(Edit::Add(j));
            j += 1;
        }
    }
    out.extend((i..n).map(Edit::Remove));
    out.extend((j..m).map(Edit::Add));
    out
}
