//! `docs/providers/azure.md` says what the schema says: every attribute of every resource type
//! is documented once, with its presence, type, force-new and sensitive marks.

use std::collections::BTreeSet;
use strata_core::schema::{Attribute, BlockSchema, Presence, Type};
use strata_provider_azure::provider_schema;

fn doc() -> String {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/providers/azure.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The names between backticks in a table cell: "`min_count`, `max_count`".
fn names(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn presence(code: &str) -> Option<Presence> {
    match code {
        "R" => Some(Presence::Required),
        "O" => Some(Presence::Optional),
        "O+C" => Some(Presence::OptionalComputed),
        "C" => Some(Presence::Computed),
        _ => None,
    }
}

fn type_text(ty: &Type) -> String {
    match ty {
        Type::String => "string".into(),
        Type::Number => "number".into(),
        Type::Bool => "bool".into(),
        Type::List(of) => format!("list of {}", type_text(of)),
        Type::Map(of) => format!("map of {}", type_text(of)),
        Type::Any => "any".into(),
    }
}

fn check_attribute(at: &str, a: &Attribute, cells: &[&str], problems: &mut Vec<String>) {
    let (code, ty, notes) = (cells[1], cells[2], cells[3]);
    if presence(code) != Some(a.presence) {
        problems.push(format!(
            "{at}: documented {code}, schema says {:?}",
            a.presence
        ));
    }
    let documented_type = ty.split(',').next().unwrap_or("").trim();
    if documented_type != type_text(&a.ty) {
        problems.push(format!(
            "{at}: documented {documented_type:?}, schema says {:?}",
            type_text(&a.ty)
        ));
    }
    if ty.contains("sensitive") != a.sensitive {
        problems.push(format!("{at}: sensitive is {} in the schema", a.sensitive));
    }
    if notes.contains("force new") != a.force_new {
        problems.push(format!("{at}: force new is {} in the schema", a.force_new));
    }
}

#[test]
fn every_attribute_is_documented_as_the_schema_declares_it() {
    let schema = provider_schema();
    let text = doc();
    let mut problems = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut resource: Option<String> = None;
    let mut block: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("### `") {
            resource = rest.split('`').next().map(str::to_string);
            block = None;
            continue;
        }
        if line.starts_with("## ") {
            resource = None;
            continue;
        }
        if line.starts_with("The `") && line.contains("` block") {
            block = names(line).into_iter().next();
            continue;
        }
        let Some(type_name) = &resource else { continue };
        if !line.starts_with("| `") {
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        assert_eq!(cells.len(), 4, "malformed row: {line}");
        let Some(r) = schema.resources.get(type_name) else {
            problems.push(format!("{type_name} is documented but not in the schema"));
            continue;
        };
        let scope: &BlockSchema = match &block {
            Some(b) => match r.block.blocks.get(b) {
                Some(nb) => &nb.block,
                None => {
                    problems.push(format!("{type_name}: no block {b}"));
                    continue;
                }
            },
            None => &r.block,
        };
        for name in names(cells[0]) {
            let at = match &block {
                Some(b) => format!("{type_name}.{b}.{name}"),
                None => format!("{type_name}.{name}"),
            };
            if !seen.insert(at.clone()) {
                problems.push(format!("{at} is documented twice"));
            }
            if cells[2].starts_with("block") {
                match scope.blocks.get(&name) {
                    Some(nb) => {
                        if (cells[1] == "R") != (nb.min_items > 0) {
                            problems.push(format!(
                                "{at}: documented {}, min_items is {}",
                                cells[1], nb.min_items
                            ));
                        }
                        if cells[3].contains("force new") != nb.force_new {
                            problems
                                .push(format!("{at}: force new is {} in the schema", nb.force_new));
                        }
                    }
                    None => problems.push(format!("{at} is documented but not in the schema")),
                }
                continue;
            }
            match scope.attributes.get(&name) {
                Some(a) => check_attribute(&at, a, &cells, &mut problems),
                None => problems.push(format!("{at} is documented but not in the schema")),
            }
        }
    }
    for (type_name, r) in &schema.resources {
        let mut expected: Vec<String> = r
            .block
            .attributes
            .keys()
            .chain(r.block.blocks.keys())
            .map(|n| format!("{type_name}.{n}"))
            .collect();
        for (b, nb) in &r.block.blocks {
            expected.extend(
                nb.block
                    .attributes
                    .keys()
                    .map(|n| format!("{type_name}.{b}.{n}")),
            );
        }
        for at in expected {
            if !seen.contains(&at) {
                problems.push(format!("{at} is not documented"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "docs/providers/azure.md departs from the schema:\n{}",
        problems.join("\n")
    );
}
