//! The one place where state becomes bytes and back, for every backend.
//!
//! Every record is JSON, so that `state pull` and a curious operator can read it; every record
//! carries a `format_version` that is checked *before* the record is decoded, so a record from a
//! newer Strata is refused rather than misread. With a passphrase configured, a [`Codec`] seals
//! every record it encodes (AES-256-GCM, see `strata_encryption`) and opens sealed records it
//! decodes; plain records still decode, which is how an existing state adopts encryption (every
//! record written afterwards is sealed). A sealed record without a passphrase, or with the wrong
//! one, is an error that says so — never garbage.
//!
//! Records:
//! - snapshot: a [`StackState`] (its own `format_version` field);
//! - journal entry: `{"format_version":1,"entry":{...}}`;
//! - history record: serial, time and resource count of one stored version, kept apart from
//!   that version's snapshot so that listing history does not read whole states.

use crate::model::{HistoryEntry, JournalEntry, StackState, FORMAT_VERSION};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use strata_encryption::{is_sealed, SealError, Sealer};

/// Why bytes could not be decoded. The caller adds which state and which record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodecError {
    /// Not a record of the expected shape: truncated, garbled, wrong type.
    Malformed(String),
    /// A well-formed record of a format newer than [`FORMAT_VERSION`].
    Unsupported { found: u32 },
    /// A sealed record, and no passphrase to open it.
    NeedsPassphrase,
    /// A sealed record the passphrase does not open (wrong passphrase, altered or truncated).
    Sealed(SealError),
}

impl CodecError {
    /// What is wrong, in words.
    pub fn describe(&self) -> String {
        match self {
            CodecError::Malformed(detail) => format!("it is damaged ({detail})"),
            CodecError::Unsupported { found } => format!(
                "it has format version {found}, newer than this build reads ({FORMAT_VERSION})"
            ),
            CodecError::NeedsPassphrase => "it is encrypted and no passphrase is configured".into(),
            CodecError::Sealed(e) => e.to_string(),
        }
    }

    /// The state error for a record `what` of state `key` stored at `location` (a file or an
    /// object URL) that could not be decoded.
    pub(crate) fn into_state_error(
        self,
        key: &str,
        what: &str,
        location: &str,
    ) -> crate::StateError {
        use crate::StateError;
        match self {
            CodecError::Malformed(detail) => StateError::Corrupt {
                key: key.to_string(),
                detail: format!("{what} in {location}: {detail}"),
            },
            CodecError::Unsupported { found } => StateError::UnsupportedVersion {
                key: key.to_string(),
                what: what.to_string(),
                found,
                supported: FORMAT_VERSION,
            },
            CodecError::NeedsPassphrase => StateError::Encrypted {
                key: key.to_string(),
                what: what.to_string(),
                reason: "it is encrypted and no passphrase is configured".into(),
            },
            CodecError::Sealed(e) => StateError::Encrypted {
                key: key.to_string(),
                what: what.to_string(),
                reason: e.to_string(),
            },
        }
    }
}

/// Encodes and decodes records, sealing them when a passphrase is configured.
#[derive(Clone, Debug, Default)]
pub struct Codec {
    sealer: Option<Arc<Sealer>>,
}

impl Codec {
    /// Plain JSON records.
    pub fn plain() -> Codec {
        Codec::default()
    }

    /// Records sealed with `sealer`.
    pub fn sealed(sealer: Arc<Sealer>) -> Codec {
        Codec {
            sealer: Some(sealer),
        }
    }

    /// True when records are written sealed.
    pub fn is_sealed(&self) -> bool {
        self.sealer.is_some()
    }

    fn seal(&self, purpose: &str, bytes: Vec<u8>) -> Vec<u8> {
        match &self.sealer {
            Some(s) => s.seal(purpose, &bytes),
            None => bytes,
        }
    }

    fn open<'b>(
        &self,
        purpose: &str,
        bytes: &'b [u8],
    ) -> Result<std::borrow::Cow<'b, [u8]>, CodecError> {
        if !is_sealed(bytes) {
            return Ok(std::borrow::Cow::Borrowed(bytes));
        }
        let sealer = self.sealer.as_ref().ok_or(CodecError::NeedsPassphrase)?;
        sealer
            .open(purpose, bytes)
            .map(std::borrow::Cow::Owned)
            .map_err(CodecError::Sealed)
    }

    pub fn encode_snapshot(&self, state: &StackState) -> Result<Vec<u8>, CodecError> {
        Ok(self.seal("snapshot", encode_snapshot(state)?))
    }

    pub fn decode_snapshot(&self, bytes: &[u8]) -> Result<StackState, CodecError> {
        decode_snapshot(&self.open("snapshot", bytes)?)
    }

    pub fn encode_entry(&self, entry: &JournalEntry) -> Result<Vec<u8>, CodecError> {
        Ok(self.seal("journal", encode_entry(entry)?))
    }

    pub fn decode_entry(&self, bytes: &[u8]) -> Result<JournalEntry, CodecError> {
        decode_entry(&self.open("journal", bytes)?)
    }

    pub fn encode_history(&self, entry: &HistoryEntry) -> Result<Vec<u8>, CodecError> {
        Ok(self.seal("history", encode_history(entry)?))
    }

    pub fn decode_history(&self, bytes: &[u8]) -> Result<HistoryEntry, CodecError> {
        decode_history(&self.open("history", bytes)?)
    }
}

#[derive(Deserialize)]
struct VersionProbe {
    format_version: u32,
}

fn check_version(bytes: &[u8]) -> Result<(), CodecError> {
    let probe: VersionProbe = serde_json::from_slice(bytes).map_err(malformed)?;
    if probe.format_version > FORMAT_VERSION {
        return Err(CodecError::Unsupported {
            found: probe.format_version,
        });
    }
    Ok(())
}

fn malformed(e: serde_json::Error) -> CodecError {
    CodecError::Malformed(e.to_string())
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    serde_json::to_vec(value).map_err(malformed)
}

fn encode_snapshot(state: &StackState) -> Result<Vec<u8>, CodecError> {
    to_json(state)
}

fn decode_snapshot(bytes: &[u8]) -> Result<StackState, CodecError> {
    check_version(bytes)?;
    serde_json::from_slice(bytes).map_err(malformed)
}

#[derive(Serialize)]
struct EntryOut<'a> {
    format_version: u32,
    entry: &'a JournalEntry,
}

#[derive(Deserialize)]
struct EntryIn {
    entry: JournalEntry,
}

fn encode_entry(entry: &JournalEntry) -> Result<Vec<u8>, CodecError> {
    to_json(&EntryOut {
        format_version: FORMAT_VERSION,
        entry,
    })
}

fn decode_entry(bytes: &[u8]) -> Result<JournalEntry, CodecError> {
    check_version(bytes)?;
    let e: EntryIn = serde_json::from_slice(bytes).map_err(malformed)?;
    Ok(e.entry)
}

#[derive(Serialize, Deserialize)]
struct HistoryHeader {
    format_version: u32,
    serial: u64,
    written_at: String,
    resources: usize,
}

/// The small record that lists one version in history; its snapshot is stored beside it.
fn encode_history(entry: &HistoryEntry) -> Result<Vec<u8>, CodecError> {
    to_json(&HistoryHeader {
        format_version: FORMAT_VERSION,
        serial: entry.serial,
        written_at: entry.written_at.clone(),
        resources: entry.resources,
    })
}

fn decode_history(bytes: &[u8]) -> Result<HistoryEntry, CodecError> {
    check_version(bytes)?;
    let h: HistoryHeader = serde_json::from_slice(bytes).map_err(malformed)?;
    Ok(HistoryEntry {
        serial: h.serial,
        written_at: h.written_at,
        resources: h.resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn newer_versions_are_refused_before_decoding() {
        let newer = br#"{"format_version":99,"something":"new"}"#;
        assert_eq!(
            decode_snapshot(newer),
            Err(CodecError::Unsupported { found: 99 })
        );
        assert_eq!(
            decode_entry(newer).err(),
            Some(CodecError::Unsupported { found: 99 })
        );
    }

    #[test]
    fn truncated_records_are_malformed() {
        let entry = encode_entry(&JournalEntry::Outputs(BTreeMap::new())).unwrap();
        assert!(matches!(
            decode_entry(&entry[..entry.len() - 3]),
            Err(CodecError::Malformed(_))
        ));
        assert!(matches!(
            decode_history(b"{\"format_version\":1"),
            Err(CodecError::Malformed(_))
        ));
    }

    #[test]
    fn records_round_trip() {
        let mut state = StackState::new();
        state.serial = 7;
        let snap = encode_snapshot(&state).unwrap();
        assert_eq!(decode_snapshot(&snap).unwrap(), state);
        let h = HistoryEntry {
            serial: 7,
            written_at: "2026-01-01T00:00:00Z".into(),
            resources: 0,
        };
        assert_eq!(decode_history(&encode_history(&h).unwrap()).unwrap(), h);
    }

    #[test]
    fn sealed_records_need_the_passphrase_and_plain_ones_still_read() {
        let sealed = Codec::sealed(Arc::new(Sealer::new("s3cret").unwrap()));
        let mut state = StackState::new();
        state.serial = 3;
        let bytes = sealed.encode_snapshot(&state).unwrap();
        assert!(is_sealed(&bytes));
        assert_eq!(sealed.decode_snapshot(&bytes).unwrap(), state);
        assert_eq!(
            Codec::plain().decode_snapshot(&bytes),
            Err(CodecError::NeedsPassphrase)
        );
        let wrong = Codec::sealed(Arc::new(Sealer::new("other").unwrap()));
        assert!(matches!(
            wrong.decode_snapshot(&bytes),
            Err(CodecError::Sealed(SealError::WrongKey { .. }))
        ));
        // A state written before encryption was turned on still reads.
        let plain = Codec::plain().encode_snapshot(&state).unwrap();
        assert_eq!(sealed.decode_snapshot(&plain).unwrap(), state);
        // A sealed journal entry is not a snapshot.
        let entry = sealed
            .encode_entry(&JournalEntry::Outputs(BTreeMap::new()))
            .unwrap();
        assert!(matches!(
            sealed.decode_snapshot(&entry),
            Err(CodecError::Sealed(SealError::WrongKey { .. }))
        ));
    }
}
