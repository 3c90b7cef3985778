//! The resource reference in `docs/providers/google.md` says exactly what the schema says:
//! every attribute and nested block, whether it is required, optional or computed, its type,
//! and whether it forces replacement or is sensitive.

use std::collections::BTreeMap;
use strata_core::schema::{BlockSchema, Presence, Type};
use strata_provider_google::provider_schema;

/// One row of a reference table: presence letter, type text and notes.
#[derive(Debug, Clone)]
struct Row {
    presence: String,
    ty: String,
    notes: String,
}

/// The attribute tables of the doc, by resource type, keyed by dotted attribute path.
fn documented() -> BTreeMap<String, BTreeMap<String, Row>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/providers/google.md"
    );
    let text = std::fs::read_to_string(path).expect("docs/providers/google.md");
    let mut out: BTreeMap<String, BTreeMap<String, Row>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix("### `") {
            current = heading.strip_suffix('`').map(str::to_string);
            continue;
        }
        if line.starts_with("## ") {
            current = None;
        }
        let Some(resource) = &current else { continue };
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | `name` | R | string | notes |
        if cells.len() < 6 || !cells[1].starts_with('`') {
            continue;
        }
        out.entry(resource.clone()).or_default().insert(
            cells[1].trim_matches('`').to_string(),
            Row {
                presence: cells[2].to_string(),
                ty: cells[3].to_string(),
                notes: cells[4].to_string(),
            },
        );
    }
    out
}

fn letter(p: Presence) -> &'static str {
    match p {
        Presence::Required => "R",
        Presence::Optional => "O",
        Presence::OptionalComputed => "O+C",
        Presence::Computed => "C",
    }
}

fn type_text(t: &Type) -> String {
    match t {
        Type::String => "string".into(),
        Type::Number => "number".into(),
        Type::Bool => "bool".into(),
        Type::List(of) => format!("list of {}", type_text(of)),
        Type::Map(of) => format!("map of {}", type_text(of)),
        Type::Any => "any".into(),
    }
}

/// Every attribute and block of `block`, with its expected row.
fn expected(
    block: &BlockSchema,
    prefix: &str,
    out: &mut BTreeMap<String, (String, String, bool, bool)>,
) {
    for (name, a) in &block.attributes {
        let mut ty = type_text(&a.ty);
        if a.sensitive {
            ty.push_str(", **sensitive**");
        }
        out.insert(
            format!("{prefix}{name}"),
            (letter(a.presence).to_string(), ty, a.force_new, a.sensitive),
        );
    }
    for (name, b) in &block.blocks {
        let presence = if b.min_items > 0 { "R" } else { "O" };
        out.insert(
            format!("{prefix}{name}"),
            (presence.to_string(), "block".into(), b.force_new, false),
        );
        expected(&b.block, &format!("{prefix}{name}."), out);
    }
}

#[test]
fn the_reference_matches_the_schema() {
    let docs = documented();
    let schema = provider_schema();
    assert_eq!(
        docs.keys().collect::<Vec<_>>(),
        schema.resources.keys().collect::<Vec<_>>(),
        "documented resource types"
    );
    for (type_name, resource) in &schema.resources {
        let rows = &docs[type_name];
        let mut want = BTreeMap::new();
        expected(&resource.block, "", &mut want);
        assert_eq!(
            rows.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "{type_name}: documented attributes"
        );
        for (name, (presence, ty, force_new, sensitive)) in &want {
            let row = &rows[name];
            let at = format!("{type_name}.{name}");
            assert_eq!(&row.presence, presence, "{at}: presence");
            assert_eq!(&row.ty, ty, "{at}: type");
            assert_eq!(
                row.notes.contains("force new"),
                *force_new,
                "{at}: force new"
            );
            assert_eq!(row.ty.contains("sensitive"), *sensitive, "{at}: sensitive");
        }
    }
}
