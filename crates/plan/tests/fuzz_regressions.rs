//! Inputs found by, or seeded from, the `plan_file` fuzz target (see docs/fuzzing.md): a
//! damaged plan file is a `PlanFileError` naming the file, never a panic; a plan file that
//! reads writes back to one with the same fingerprint.

use std::path::Path;
use strata_plan::{Plan, PlanFileError};

/// A plan file as `strata plan --destroy --out` writes it (from a run of the DigitalOcean
/// example), on one line.
const PLAN: &str = r#"{"kind":"strata-plan","format_version":1,"project":"doks-ecommerce","env":"stage","destroy":true,"created_at":"2026-11-23T16:36:16.276370809Z","strata_version":"0.1.0","stacks":[{"stack":"base","state_lineage":"0e2c22e1-4506-4155-b76c-a061421526db","state_serial":4,"config_digest":"5f76fc85bd45f35502735ebbb95d4dfa1fd5112a958a7cc80a70c6bdd47bfa80","changes":[{"address":{"stack":"base","type":"digitalocean_vpc","name":"main"},"provider":"digitalocean","action":"delete","before":{"value":{"default":false,"description":null,"id":"dcffa2d2","ip_range":"10.10.0.0/16","name":"ecommerce-stage","region":"nyc1"}},"after":null,"replace_because":[],"create_before_destroy":false,"reason":null}],"outputs":[{"name":"kubeconfig","before":{"value":null,"sensitive":[[]]},"after":{"value":null,"sensitive":[[]]},"sensitive":true}]}]}"#;

fn read(bytes: &[u8]) -> Result<Plan, PlanFileError> {
    Plan::from_file_bytes(Path::new("fuzz.plan"), bytes)
}

/// Reads `bytes`, expecting an error that names the file.
fn refused(bytes: &[u8]) -> PlanFileError {
    match read(bytes) {
        Ok(_) => panic!("{:?} read as a plan", String::from_utf8_lossy(bytes)),
        Err(e) => {
            assert!(e.to_string().contains("fuzz.plan"), "{e}");
            e
        }
    }
}

#[test]
fn the_seed_plan_reads_and_writes_back_the_same() {
    let plan = read(PLAN.as_bytes()).expect("the seed plan");
    let again = read(&plan.to_file_bytes()).expect("the written plan");
    assert_eq!(again.fingerprint(), plan.fingerprint());
}

#[test]
fn every_truncation_of_a_plan_file_is_refused() {
    for cut in 0..PLAN.len() {
        let e = refused(&PLAN.as_bytes()[..cut]);
        assert!(
            matches!(
                e,
                PlanFileError::Truncated { .. } | PlanFileError::NotAPlan { .. }
            ),
            "cut at {cut}: {e}"
        );
    }
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    let depth = 100_000;
    for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
        let nested = format!("{}1{}", open.repeat(depth), close.repeat(depth));
        refused(nested.as_bytes());
        let inside = PLAN.replace(r#""region":"nyc1""#, &format!(r#""region":{nested}"#));
        refused(inside.as_bytes());
    }
}

#[test]
fn format_versions_out_of_range_are_refused() {
    for version in [
        "1e400",
        "-1",
        "1.5",
        "0",
        "null",
        "\"1\"",
        "18446744073709551616",
    ] {
        let text = PLAN.replace(
            "\"format_version\":1",
            &format!("\"format_version\":{version}"),
        );
        let e = refused(text.as_bytes());
        assert!(
            matches!(
                e,
                PlanFileError::Damaged { .. } | PlanFileError::NotAPlan { .. }
            ),
            "format_version {version}: {e}"
        );
    }
    let newest = PLAN.replace(
        "\"format_version\":1",
        "\"format_version\":18446744073709551615",
    );
    assert!(matches!(
        refused(newest.as_bytes()),
        PlanFileError::NewerVersion {
            found: u64::MAX,
            ..
        }
    ));
}

#[test]
fn numbers_beyond_their_field_are_damaged() {
    for (from, to) in [
        (
            "\"state_serial\":4",
            "\"state_serial\":18446744073709551616",
        ),
        ("\"state_serial\":4", "\"state_serial\":-4"),
        ("\"state_serial\":4", "\"state_serial\":1e400"),
    ] {
        let e = refused(PLAN.replace(from, to).as_bytes());
        assert!(
            matches!(
                e,
                PlanFileError::Damaged { .. } | PlanFileError::NotAPlan { .. }
            ),
            "{to}: {e}"
        );
    }
    // A huge number in a value is a value: the plan reads and writes back the same.
    let big = PLAN.replace("\"region\":\"nyc1\"", "\"region\":1.7976931348623157e308");
    let plan = read(big.as_bytes()).expect("a large number in a value");
    assert_eq!(
        read(&plan.to_file_bytes()).unwrap().fingerprint(),
        plan.fingerprint()
    );
}

#[test]
fn invalid_utf8_is_refused() {
    let mut bytes = PLAN.as_bytes().to_vec();
    let at = PLAN.find("ecommerce-stage").unwrap();
    bytes[at] = 0xff;
    refused(&bytes);
    refused(b"\xef\xbb\xbf{\"kind\":\"strata-plan\"}");
    refused(b"\xff\xfe\x00{");
}

#[test]
fn damaged_marks_and_addresses_are_refused() {
    for (from, to) in [
        (
            r#""sensitive":[[]]"#,
            r#""sensitive":[["no_such_key", 99]]"#,
        ),
        (r#""sensitive":[[]]"#, r#""sensitive":[[-1]]"#),
        (r#""sensitive":[[]]"#, r#""sensitive":"all""#),
        (r#""action":"delete""#, r#""action":"explode""#),
        (r#""type":"digitalocean_vpc""#, r#""type":"""#),
        (r#""type":"digitalocean_vpc""#, r#""type":null"#),
        (r#""stacks":["#, r#""stacks":[null,"#),
        (
            r#""after":null"#,
            r#""after":{"value":{},"unknown":[[1e400]]}"#,
        ),
    ] {
        // A verdict either way, and never a panic; when refused, it says which file.
        if let Err(e) = read(PLAN.replace(from, to).as_bytes()) {
            assert!(e.to_string().contains("fuzz.plan"), "{e}");
        }
    }
}

/// Found: numbers that serde_json's fast float parser does not read back exactly (a plan
/// holding one wrote a file whose plan had another fingerprint, so `apply PLANFILE` would see
/// a changed plan). Plan files parse floats exactly.
#[test]
fn every_number_reads_back_exactly_so_the_fingerprint_holds() {
    for number in [
        "9555555555555555555552",
        "9555555555555555555551",
        "9.555555555555554e21",
        "123456789012345678901",
        "0.30000000000000004",
        "2.2250738585072011e-308",
        "1.7976931348623157e308",
    ] {
        let text = PLAN.replace("\"region\":\"nyc1\"", &format!("\"region\":{number}"));
        let plan = read(text.as_bytes()).expect("a plan with a number");
        let again = read(&plan.to_file_bytes()).expect("the written plan");
        assert_eq!(again.fingerprint(), plan.fingerprint(), "{number}");
        assert_eq!(again.to_file_bytes(), plan.to_file_bytes(), "{number}");
    }
}
