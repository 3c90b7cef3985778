//! Inputs found by, or seeded from, the `config_loader` fuzz target (see docs/fuzzing.md): the
//! loader must turn each into diagnostics that name the file, never panic.

use std::path::Path;

use strata_config::{load_project, load_project_partial, validate, Diagnostics};

const PROJECT: &str =
    "project \"fuzz\" {}\n\nenvironment \"stage\" {\n  variables = { region = \"nyc1\" }\n}\n";

/// A project whose stack `app` holds `main.hcl` with `stack` as its bytes.
fn project_with_stack(stack: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary project folder");
    std::fs::write(dir.path().join("strata.hcl"), PROJECT).unwrap();
    std::fs::create_dir_all(dir.path().join("app")).unwrap();
    std::fs::write(dir.path().join("app/main.hcl"), stack).unwrap();
    dir
}

/// Loads and validates the project at `root`; the errors it reports, rendered.
fn errors(root: &Path) -> Vec<String> {
    let (project, mut diags) = load_project_partial(root);
    if let Some(project) = project {
        diags.extend(validate(&project, &|_, _| None));
    }
    let rendered: Vec<String> = diags
        .0
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.render())
        .collect();
    assert_eq!(
        load_project(root).is_err(),
        load_project_partial(root).1.has_errors(),
        "the strict and the partial loader disagree"
    );
    rendered
}

/// Asserts that loading `stack` as `app/main.hcl` fails with an error naming that file.
fn refused(stack: &[u8]) -> Vec<String> {
    let dir = project_with_stack(stack);
    let errors = errors(dir.path());
    assert!(
        errors.iter().any(|e| e.contains("main.hcl")),
        "expected an error naming main.hcl, got {errors:#?}"
    );
    errors
}

#[test]
fn a_stack_file_that_is_not_utf8_is_an_error_naming_it() {
    refused(b"resource \"testing_thing\" \"a\" {\n  name = \"\xff\xfe\"\n}\n");
}

#[test]
fn a_project_file_that_is_not_utf8_is_an_error_naming_it() {
    let dir = project_with_stack(b"");
    std::fs::write(dir.path().join("strata.hcl"), b"project \"\xc3\x28\" {}\n").unwrap();
    let errors = errors(dir.path());
    assert!(
        errors.iter().any(|e| e.contains("strata.hcl")),
        "expected an error naming strata.hcl, got {errors:#?}"
    );
}

#[test]
fn truncated_blocks_are_syntax_errors() {
    for text in [
        "resource \"testing_thing\" \"a\" {",
        "resource \"testing_thing\" \"a\" {\n  name = \"",
        "resource \"testing_thing\" \"a\" {\n  name = [1, 2,",
        "resource \"testing_thing\" \"a\" {\n  name = <<EOT\nnever ends",
        "locals {\n  x = \"${",
        "output \"o\" {\n  value = {a = 1, b",
    ] {
        refused(text.as_bytes());
    }
}

#[test]
fn deeply_nested_expressions_give_a_diagnostic_not_a_crash() {
    // The nesting a real configuration never reaches; the parser must not exhaust the stack.
    let depth = 5_000;
    let lists = format!(
        "locals {{\n  x = {}1{}\n}}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let parens = format!(
        "locals {{\n  x = {}1{}\n}}\n",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    let objects = format!(
        "locals {{\n  x = {}1{}\n}}\n",
        "{a = ".repeat(depth),
        "}".repeat(depth)
    );
    for text in [lists, parens, objects] {
        refused(text.as_bytes());
    }
}

#[test]
fn numbers_beyond_any_range_are_errors_or_values_never_panics() {
    for number in [
        "1e999999",
        "-1e999999",
        "99999999999999999999999999999999999999",
        "0.0000000000000000000000000000000000001e-400",
    ] {
        let dir = project_with_stack(
            format!("locals {{\n  x = {number}\n  y = local.x + 1\n}}\n\noutput \"o\" {{\n  value = local.y\n}}\n")
                .as_bytes(),
        );
        // Whatever the verdict, it comes as diagnostics.
        let _ = errors(dir.path());
    }
}

#[test]
fn positions_inside_multibyte_characters_render() {
    // Errors whose spans start or end next to multi-byte characters, on a last line without
    // a line break.
    refused("locals {\n  é = \"ü\" + ✓".as_bytes());
    refused("résource \"testing_thing\" \"ä\" {}\n\u{feff}".as_bytes());
}

#[test]
fn an_empty_and_a_whitespace_project_are_clean_errors() {
    for text in ["", "\n\n   \t", "\u{0}"] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("strata.hcl"), text).unwrap();
        let result = load_project(dir.path());
        let Err(Diagnostics(diags)) = result else {
            panic!("a project file without a project block loaded");
        };
        assert!(diags.iter().any(|d| d.is_error()));
    }
}
