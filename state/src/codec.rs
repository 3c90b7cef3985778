//! The one place where state becomes bytes and back, for every backend.
//!
//! Keeping it here means a later layer (client-side encryption) wraps these functions and no
//! backend changes. Everything is JSON so that `state pull` and a curious operator can read it;
//! every record carries a `format_version` that is checked *before* the record is decoded, so a
//! record from a newer Strata is refused rather than misread.
//!
//! Records:
//! - snapshot: a [`StackState`] (its own `format_version` field);
//! - journal entry: `{"format_version":1,"entry":{...}}`;
//! - history record: serial, time and resource count of one stored version, kept apart from
//!   that version's snapshot so that listing history does not read whole states.

use crate::model::{HistoryEntry, JournalEntry, StackState, FORMAT_VERSION};
use serde::{Deserialize, Serialize};

/// Why bytes could not be decoded. The caller adds which state and which record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodecError {
    /// Not a record of the expected shape: truncated, garbled, wrong type.
    Malformed(String),
    /// A well-formed record of a format newer than [`FORMAT_VERSION`].
    Unsupported { found: u32 },
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

pub fn encode_snapshot(state: &StackState) -> Result<Vec<u8>, CodecError> {
    to_json(state)
}

pub fn decode_snapshot(bytes: &[u8]) -> Result<StackState, CodecError> {
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

pub fn encode_entry(entry: &JournalEntry) -> Result<Vec<u8>, CodecError> {
    to_json(&EntryOut {
        format_version: FORMAT_VERSION,
        entry,
    })
}

pub fn decode_entry(bytes: &[u8]) -> Result<JournalEntry, CodecError> {
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
pub fn encode_history(entry: &HistoryEntry) -> Result<Vec<u8>, CodecError> {
    to_json(&HistoryHeader {
        format_version: FORMAT_VERSION,
        serial: entry.serial,
        written_at: entry.written_at.clone(),
        resources: entry.resources,
    })
}

pub fn decode_history(bytes: &[u8]) -> Result<HistoryEntry, CodecError> {
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
}
