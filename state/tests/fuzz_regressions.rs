//! Inputs found by, or seeded from, the `state_decoder` fuzz target (see docs/fuzzing.md):
//! damaged records decode to a `CodecError`, never a panic and never a wrong state.

use std::sync::Arc;
use strata_encryption::{Sealer, MAGIC};
use strata_state::codec::{Codec, CodecError};

/// Records as a local backend stores them (from a run of the DigitalOcean example).
const SNAPSHOT: &str = r#"{"format_version":1,"lineage":"0e2c22e1-4506-4155-b76c-a061421526db","serial":2,"resources":{"digitalocean_vpc.main":{"address":{"stack":"base","type":"digitalocean_vpc","name":"main"},"provider":"digitalocean","id":"dcffa2d2","attributes":{"name":"ecommerce-stage","region":"nyc1","ip_range":"10.10.0.0/16"},"sensitive_paths":[],"dependencies":[],"schema_version":0,"status":"ready"}},"outputs":{"vpc_id":{"value":"dcffa2d2","sensitive":false}}}"#;
const ENTRY: &str = r#"{"format_version":1,"entry":{"intent":{"id":"cd328cd7-1426-4a95-9117-c8153ff76a09","action":"create","address":{"stack":"base","type":"digitalocean_vpc","name":"main"},"provider":"digitalocean","cloud_id":null,"planned":{"created_at":null,"default":null,"description":null,"id":null,"ip_range":"10.10.0.0/16","name":"ecommerce-stage","region":"nyc1","urn":null},"started_at":"2026-11-23T16:36:11.350066428Z"}}}"#;
const HISTORY: &str =
    r#"{"format_version":1,"serial":4,"written_at":"2026-11-23T16:36:13Z","resources":2}"#;

fn decodes(codec: &Codec, bytes: &[u8]) -> [Result<(), CodecError>; 3] {
    [
        codec.decode_snapshot(bytes).map(drop),
        codec.decode_entry(bytes).map(drop),
        codec.decode_history(bytes).map(drop),
    ]
}

#[test]
fn the_seed_records_decode() {
    let codec = Codec::plain();
    codec
        .decode_snapshot(SNAPSHOT.as_bytes())
        .expect("snapshot");
    codec.decode_entry(ENTRY.as_bytes()).expect("journal entry");
    codec
        .decode_history(HISTORY.as_bytes())
        .expect("history record");
}

#[test]
fn every_truncation_of_a_record_is_malformed() {
    let codec = Codec::plain();
    for (what, record) in [
        ("snapshot", SNAPSHOT),
        ("entry", ENTRY),
        ("history", HISTORY),
    ] {
        for cut in 0..record.len() {
            let bytes = &record.as_bytes()[..cut];
            let result = match what {
                "snapshot" => codec.decode_snapshot(bytes).map(drop),
                "entry" => codec.decode_entry(bytes).map(drop),
                _ => codec.decode_history(bytes).map(drop),
            };
            assert!(
                matches!(result, Err(CodecError::Malformed(_))),
                "{what} cut at {cut} bytes gave {result:?}"
            );
        }
    }
}

#[test]
fn deep_nesting_is_malformed_not_a_stack_overflow() {
    let depth = 100_000;
    let codec = Codec::plain();
    for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
        let attributes = format!("{}1{}", open.repeat(depth), close.repeat(depth));
        let snapshot = SNAPSHOT.replace(
            r#""attributes":{"name":"ecommerce-stage","region":"nyc1","ip_range":"10.10.0.0/16"}"#,
            &format!(r#""attributes":{attributes}"#),
        );
        for result in decodes(&codec, snapshot.as_bytes()) {
            assert!(
                matches!(result, Err(CodecError::Malformed(_))),
                "{result:?}"
            );
        }
        for result in decodes(&codec, attributes.as_bytes()) {
            assert!(
                matches!(result, Err(CodecError::Malformed(_))),
                "{result:?}"
            );
        }
    }
}

#[test]
fn format_versions_out_of_range_are_refused() {
    let codec = Codec::plain();
    for version in [
        "1e400",
        "-1",
        "4294967296",
        "18446744073709551616",
        "1.5",
        "null",
        "\"1\"",
    ] {
        let record = HISTORY.replace(
            "\"format_version\":1",
            &format!("\"format_version\":{version}"),
        );
        for result in decodes(&codec, record.as_bytes()) {
            assert!(
                matches!(result, Err(CodecError::Malformed(_))),
                "format_version {version}: {result:?}"
            );
        }
    }
    let newer = HISTORY.replace("\"format_version\":1", "\"format_version\":4294967295");
    assert_eq!(
        codec.decode_history(newer.as_bytes()),
        Err(CodecError::Unsupported { found: u32::MAX })
    );
}

#[test]
fn numbers_beyond_their_field_are_malformed() {
    let codec = Codec::plain();
    for (from, to) in [
        ("\"serial\":4", "\"serial\":18446744073709551616"),
        ("\"serial\":4", "\"serial\":-4"),
        ("\"serial\":4", "\"serial\":1e400"),
        ("\"resources\":2", "\"resources\":1e20"),
    ] {
        let record = HISTORY.replace(from, to);
        let result = codec.decode_history(record.as_bytes());
        assert!(
            matches!(result, Err(CodecError::Malformed(_))),
            "{to}: {result:?}"
        );
    }
    // A huge number inside attributes is just a value: it decodes, as a float.
    let big = SNAPSHOT.replace("\"region\":\"nyc1\"", "\"region\":1e308");
    codec
        .decode_snapshot(big.as_bytes())
        .expect("a large attribute number");
}

#[test]
fn invalid_utf8_in_a_record_is_malformed() {
    let codec = Codec::plain();
    let mut bytes = SNAPSHOT.as_bytes().to_vec();
    let at = SNAPSHOT.find("ecommerce-stage").unwrap();
    bytes[at] = 0xff;
    bytes[at + 1] = 0xfe;
    for result in decodes(&codec, &bytes) {
        assert!(
            matches!(result, Err(CodecError::Malformed(_))),
            "{result:?}"
        );
    }
    for result in decodes(&codec, b"\xef\xbb\xbf\xff") {
        assert!(
            matches!(result, Err(CodecError::Malformed(_))),
            "{result:?}"
        );
    }
}

#[test]
fn damaged_sealed_records_say_why_without_a_panic() {
    let sealer = Arc::new(Sealer::new("fuzzing passphrase").unwrap());
    let sealed = Codec::sealed(sealer.clone());
    let good = sealer.seal("snapshot", SNAPSHOT.as_bytes());
    sealed
        .decode_snapshot(&good)
        .expect("the sealed snapshot opens");

    // Without a passphrase: says so.
    assert_eq!(
        Codec::plain().decode_snapshot(&good),
        Err(CodecError::NeedsPassphrase)
    );
    // Every truncation, down to the bare magic.
    for cut in [
        good.len() - 1,
        good.len() / 2,
        MAGIC.len() + 30,
        MAGIC.len() + 1,
        MAGIC.len(),
    ] {
        let result = sealed.decode_snapshot(&good[..cut]);
        assert!(
            matches!(result, Err(CodecError::Sealed(_))),
            "cut at {cut}: {result:?}"
        );
    }
    // A flipped bit in the ciphertext, and a record sealed for another purpose.
    let mut altered = good.clone();
    *altered.last_mut().unwrap() ^= 1;
    assert!(matches!(
        sealed.decode_snapshot(&altered),
        Err(CodecError::Sealed(_))
    ));
    let journal = sealer.seal("journal", SNAPSHOT.as_bytes());
    assert!(matches!(
        sealed.decode_snapshot(&journal),
        Err(CodecError::Sealed(_))
    ));
    // Sealed garbage opens, then is malformed as plain garbage would be.
    let garbage = sealer.seal("history", b"{\"format_version\":1,");
    assert!(matches!(
        sealed.decode_history(&garbage),
        Err(CodecError::Malformed(_))
    ));
}

/// Found (the `state_decoder` replay): a snapshot with serial u64::MAX followed by a journal
/// entry overflowed the serial while loading.
#[test]
fn replaying_onto_the_largest_serial_does_not_overflow() {
    use strata_state::Loaded;
    let codec = Codec::plain();
    let snapshot = codec
        .decode_snapshot(
            br#"{"format_version":1,"lineage":"x","serial":18446744073709551615,"resources":{},"outputs":{}}"#,
        )
        .expect("the snapshot decodes");
    let outputs = codec
        .decode_entry(
            br#"{"format_version":1,"entry":{"outputs":{"o":{"value":"v","sensitive":false}}}}"#,
        )
        .expect("the entry decodes");
    let loaded = Loaded::replay(snapshot, [&outputs, &outputs]);
    assert_eq!(loaded.state.serial, u64::MAX, "the serial never wraps back");
    assert_eq!(loaded.state.outputs.len(), 1);
}
