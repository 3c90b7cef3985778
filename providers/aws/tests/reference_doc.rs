//! `docs/providers/aws.md` documents every attribute exactly as the schema declares it: whether
//! it is required, optional or computed, its type, whether it forces replacement and whether it
//! is sensitive. A schema change without a doc change fails here.

use std::collections::BTreeMap;
use strata_core::schema::{BlockSchema, Presence, Type};

/// One documented row: presence, type, notes.
type Row = (String, String, String);

fn documented() -> BTreeMap<String, BTreeMap<String, Row>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/providers/aws.md");
    let text = std::fs::read_to_string(&path).expect("docs/providers/aws.md");
    let mut out: BTreeMap<String, BTreeMap<String, Row>> = BTreeMap::new();
    let mut section: Option<String> = None;
    for line in text.lines() {
        if let Some(title) = line.strip_prefix("### ") {
            section = title
                .trim()
                .strip_prefix('`')
                .and_then(|t| t.strip_suffix('`'))
                .filter(|t| t.starts_with("aws_"))
                .map(str::to_string);
            continue;
        }
        let (Some(section), Some(row)) = (&section, line.strip_prefix("| `")) else {
            continue;
        };
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let name = cells[0].trim_end_matches('`').to_string();
        let rows = out.entry(section.clone()).or_default();
        let previous = rows.insert(
            name.clone(),
            (
                cells[1].to_string(),
                cells[2].to_string(),
                cells[3].to_string(),
            ),
        );
        assert!(previous.is_none(), "{section}.{name} is documented twice");
    }
    out
}

fn describe(ty: &Type) -> String {
    match ty {
        Type::String => "string".into(),
        Type::Number => "number".into(),
        Type::Bool => "bool".into(),
        Type::List(of) => format!("list of {}", describe(of)),
        Type::Map(of) => format!("map of {}", describe(of)),
        Type::Any => "any".into(),
    }
}

fn expected(block: &BlockSchema, prefix: &str, out: &mut BTreeMap<String, Row>) {
    for (name, a) in &block.attributes {
        let presence = match a.presence {
            Presence::Required => "R",
            Presence::Optional => "O",
            Presence::OptionalComputed => "O+C",
            Presence::Computed => "C",
        };
        let mut ty = describe(&a.ty);
        if a.sensitive {
            ty.push_str(", **sensitive**");
        }
        let notes = if a.force_new { "force new" } else { "" };
        out.insert(
            format!("{prefix}{name}"),
            (presence.into(), ty, notes.into()),
        );
    }
    for (name, nested) in &block.blocks {
        let presence = if nested.min_items > 0 { "R" } else { "O" };
        out.insert(
            format!("{prefix}{name}"),
            (presence.into(), "block".into(), String::new()),
        );
        expected(&nested.block, &format!("{prefix}{name}."), out);
    }
}

#[test]
fn every_attribute_is_documented_as_the_schema_declares_it() {
    let docs = documented();
    let schema = strata_provider_aws::provider_schema();
    assert_eq!(
        docs.keys().collect::<Vec<_>>(),
        schema.resources.keys().collect::<Vec<_>>(),
        "documented resource types"
    );
    for (type_name, resource) in &schema.resources {
        let mut want = BTreeMap::new();
        expected(&resource.block, "", &mut want);
        let got = &docs[type_name];
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "{type_name}: documented attributes"
        );
        for (name, (presence, ty, force)) in &want {
            let (doc_presence, doc_ty, doc_notes) = &got[name];
            assert_eq!(doc_presence, presence, "{type_name}.{name}: presence");
            assert_eq!(doc_ty, ty, "{type_name}.{name}: type");
            assert_eq!(
                doc_notes.contains("force new"),
                !force.is_empty(),
                "{type_name}.{name}: force new in {doc_notes:?}"
            );
        }
    }
}
