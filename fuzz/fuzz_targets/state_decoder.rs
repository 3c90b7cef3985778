//! State records as they come back from a backend: any bytes, plain or sealed, must decode or
//! give a `CodecError`, never panic.
//!
//! Properties checked besides "no panic":
//! - a record that decodes encodes again and decodes to the same value (nothing is lost or
//!   invented on the way through `state push`/`state pull`);
//! - sealing bytes and opening them through a sealed codec decides exactly as the plain codec
//!   does on the bytes themselves;
//! - a stored state is replayed the way a backend loads it: the input's first line as the
//!   snapshot and every further line as a journal entry (records are one-line JSON).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use strata_encryption::{Sealer, MAGIC};
use strata_state::codec::Codec;
use strata_state::Loaded;

/// Salt bytes follow the magic in a sealed record; this many.
const SALT_LEN: usize = 16;

/// Deriving a key (Argon2id) takes tens of milliseconds: do it once per process.
fn sealer() -> &'static Arc<Sealer> {
    static SEALER: OnceLock<Arc<Sealer>> = OnceLock::new();
    SEALER.get_or_init(|| Arc::new(Sealer::new("fuzzing passphrase").expect("a passphrase")))
}

/// The sealer's own salt, read from a record it sealed.
fn own_salt() -> &'static [u8] {
    static SALT: OnceLock<Vec<u8>> = OnceLock::new();
    SALT.get_or_init(|| sealer().seal("probe", b"")[MAGIC.len()..MAGIC.len() + SALT_LEN].to_vec())
}

/// `data` with the sealer's salt in place of its own when it looks sealed: an unknown salt
/// costs a fresh key derivation per input, which would slow fuzzing to a crawl without
/// reaching any new code.
fn with_own_salt(data: &[u8]) -> Vec<u8> {
    let mut bytes = data.to_vec();
    if bytes.starts_with(MAGIC) && bytes.len() >= MAGIC.len() + SALT_LEN {
        bytes[MAGIC.len()..MAGIC.len() + SALT_LEN].copy_from_slice(own_salt());
    }
    bytes
}

fuzz_target!(|data: &[u8]| {
    let plain = Codec::plain();
    let sealed = Codec::sealed(sealer().clone());
    let data = with_own_salt(data);

    let snapshot = plain.decode_snapshot(&data);
    if let Ok(state) = &snapshot {
        let bytes = plain
            .encode_snapshot(state)
            .expect("a decoded snapshot encodes");
        let again = plain
            .decode_snapshot(&bytes)
            .expect("an encoded snapshot decodes");
        assert_eq!(&again, state, "snapshot changed through encode/decode");
        let _ = sealed.decode_snapshot(&sealed.encode_snapshot(state).expect("encodes"));
    }
    let entry = plain.decode_entry(&data);
    if let Ok(e) = &entry {
        let bytes = plain.encode_entry(e).expect("a decoded entry encodes");
        let again = plain
            .decode_entry(&bytes)
            .expect("an encoded entry decodes");
        assert_eq!(&again, e, "journal entry changed through encode/decode");
    }
    let history = plain.decode_history(&data);
    if let Ok(h) = &history {
        let bytes = plain
            .encode_history(h)
            .expect("a decoded history record encodes");
        let again = plain
            .decode_history(&bytes)
            .expect("an encoded history record decodes");
        assert_eq!(&again, h, "history record changed through encode/decode");
    }
    for e in [
        snapshot.as_ref().err(),
        entry.as_ref().err(),
        history.as_ref().err(),
    ]
    .into_iter()
    .flatten()
    {
        let _ = e.describe();
    }

    replay(&plain, &data);

    // The same bytes through a sealed codec: as they are (sealed or not), then sealed by us.
    let _ = sealed.decode_snapshot(&data);
    let _ = sealed.decode_entry(&data);
    let _ = sealed.decode_history(&data);
    if !strata_encryption::is_sealed(&data) {
        let s = sealed.decode_snapshot(&sealer().seal("snapshot", &data));
        assert_eq!(
            s.is_ok(),
            snapshot.is_ok(),
            "sealed snapshot decided differently"
        );
        let e = sealed.decode_entry(&sealer().seal("journal", &data));
        assert_eq!(e.is_ok(), entry.is_ok(), "sealed entry decided differently");
        let h = sealed.decode_history(&sealer().seal("history", &data));
        assert_eq!(
            h.is_ok(),
            history.is_ok(),
            "sealed history decided differently"
        );
    }
});

/// Loads a state as backends do: a snapshot, then the journal entries written after it.
fn replay(codec: &Codec, data: &[u8]) {
    let mut lines = data.split(|&b| b == b'\n');
    let Some(Ok(snapshot)) = lines.next().map(|l| codec.decode_snapshot(l)) else {
        return;
    };
    let entries: Vec<_> = lines.filter_map(|l| codec.decode_entry(l).ok()).collect();
    let loaded = Loaded::replay(snapshot, &entries);
    let _ = codec.encode_snapshot(&loaded.state);
}
