//! Client-side encryption of everything Strata stores: state snapshots, journal entries,
//! history records and plan files.
//!
//! A sealed record is
//!
//! ```text
//! "STRATAE1" | salt (16 bytes) | nonce (12 bytes) | AES-256-GCM ciphertext and tag
//! ```
//!
//! The key is derived from the user's passphrase with Argon2id (19 MiB, 2 passes, the OWASP
//! baseline) and the record's salt. One [`Sealer`] draws one salt and derives its key once, so
//! sealing costs one AES-GCM pass per record; keys for salts met while opening are cached, so a
//! store written by many runs costs one derivation per run that wrote it, not per record.
//!
//! The magic and the record's purpose (`snapshot`, `journal`, `plan`…) are authenticated as
//! associated data: a record cannot be passed off as another kind of record, and any changed
//! byte — or a wrong passphrase — fails authentication instead of decoding into garbage.
//!
//! Plain JSON never starts with the magic, so [`is_sealed`] tells sealed records from plain
//! ones; that is what lets a store adopt encryption: plain records still read, and every record
//! written afterwards is sealed.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};

/// The first bytes of every sealed record.
pub const MAGIC: &[u8; 8] = b"STRATAE1";
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = MAGIC.len() + SALT_LEN + NONCE_LEN;

/// The environment variable that holds the passphrase unless the configuration names another.
pub const DEFAULT_PASSPHRASE_ENV: &str = "STRATA_PASSPHRASE";

/// Why a record could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the passphrase is empty")]
    EmptyPassphrase,
    /// Authentication failed: the passphrase is not the one the record was sealed with, or the
    /// record was altered. AES-GCM cannot tell the two apart, and neither can anyone else.
    #[error(
        "the passphrase does not open this {purpose} (a wrong passphrase, or the data was altered)"
    )]
    WrongKey { purpose: String },
    /// Shorter than a sealed record can be.
    #[error("the sealed {purpose} is truncated ({len} bytes)")]
    Truncated { purpose: String, len: usize },
    #[error("the {purpose} is not sealed")]
    NotSealed { purpose: String },
    #[error("deriving the key failed: {0}")]
    Derivation(String),
}

/// True when `bytes` are a sealed record (rather than plain JSON).
pub fn is_sealed(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

type Key = [u8; 32];

/// Seals and opens records with one passphrase. Cheap to share behind an `Arc`.
pub struct Sealer {
    passphrase: String,
    salt: [u8; SALT_LEN],
    cipher: Aes256Gcm,
    /// Keys derived for the salts of records opened so far.
    opened: Mutex<HashMap<[u8; SALT_LEN], Aes256Gcm>>,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer(<passphrase redacted>)")
    }
}

fn derive(passphrase: &str, salt: &[u8]) -> Result<Key, SealError> {
    let params = argon2::Params::new(19 * 1024, 2, 1, Some(32))
        .map_err(|e| SealError::Derivation(e.to_string()))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut key = [0u8; 32];
    argon
        .hash_password_into(passphrase.as_bytes(), salt, &mut key)
        .map_err(|e| SealError::Derivation(e.to_string()))?;
    Ok(key)
}

fn cipher(key: &Key) -> Aes256Gcm {
    Aes256Gcm::new(key.into())
}

fn associated(purpose: &str) -> Vec<u8> {
    let mut aad = MAGIC.to_vec();
    aad.extend_from_slice(purpose.as_bytes());
    aad
}

impl Sealer {
    /// A sealer for `passphrase`, with a fresh salt for what it seals.
    pub fn new(passphrase: &str) -> Result<Sealer, SealError> {
        if passphrase.is_empty() {
            return Err(SealError::EmptyPassphrase);
        }
        let salt: [u8; SALT_LEN] = rand::random();
        let key = derive(passphrase, &salt)?;
        let cipher = cipher(&key);
        Ok(Sealer {
            passphrase: passphrase.to_string(),
            salt,
            opened: Mutex::new(HashMap::from([(salt, cipher.clone())])),
            cipher,
        })
    }

    /// Seals `plain` as a record of kind `purpose`.
    pub fn seal(&self, purpose: &str, plain: &[u8]) -> Vec<u8> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: &associated(purpose),
                },
            )
            // AES-GCM only fails for messages beyond 64 GiB, far beyond any record.
            .unwrap_or_default();
        let mut out = Vec::with_capacity(HEADER_LEN + sealed.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.salt);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens a record sealed as `purpose`.
    pub fn open(&self, purpose: &str, bytes: &[u8]) -> Result<Vec<u8>, SealError> {
        if !is_sealed(bytes) {
            return Err(SealError::NotSealed {
                purpose: purpose.into(),
            });
        }
        if bytes.len() < HEADER_LEN + TAG_LEN {
            return Err(SealError::Truncated {
                purpose: purpose.into(),
                len: bytes.len(),
            });
        }
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(&bytes[MAGIC.len()..MAGIC.len() + SALT_LEN]);
        let nonce = &bytes[MAGIC.len() + SALT_LEN..HEADER_LEN];
        let cipher = self.cipher_for(&salt)?;
        cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: &bytes[HEADER_LEN..],
                    aad: &associated(purpose),
                },
            )
            .map_err(|_| SealError::WrongKey {
                purpose: purpose.into(),
            })
    }

    fn cipher_for(&self, salt: &[u8; SALT_LEN]) -> Result<Aes256Gcm, SealError> {
        let mut opened = self.opened.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = opened.get(salt) {
            return Ok(c.clone());
        }
        let c = cipher(&derive(&self.passphrase, salt)?);
        opened.insert(*salt, c.clone());
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_records_open_with_the_passphrase_only() {
        let a = Sealer::new("correct horse").unwrap();
        let sealed = a.seal("snapshot", br#"{"format_version":1}"#);
        assert!(is_sealed(&sealed));
        assert!(!sealed
            .windows(b"format_version".len())
            .any(|w| w == b"format_version"));
        assert_eq!(
            a.open("snapshot", &sealed).unwrap(),
            br#"{"format_version":1}"#
        );
        // Another run with the same passphrase (another salt) opens it too.
        let b = Sealer::new("correct horse").unwrap();
        assert_eq!(
            b.open("snapshot", &sealed).unwrap(),
            br#"{"format_version":1}"#
        );
        let wrong = Sealer::new("battery staple").unwrap();
        assert_eq!(
            wrong.open("snapshot", &sealed),
            Err(SealError::WrongKey {
                purpose: "snapshot".into()
            })
        );
    }

    #[test]
    fn altered_truncated_or_repurposed_records_are_refused() {
        let s = Sealer::new("pw").unwrap();
        let sealed = s.seal("journal", b"entry");
        let mut flipped = sealed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(matches!(
            s.open("journal", &flipped),
            Err(SealError::WrongKey { .. })
        ));
        assert!(matches!(
            s.open("journal", &sealed[..20]),
            Err(SealError::Truncated { len: 20, .. })
        ));
        assert!(matches!(
            s.open("plan", &sealed),
            Err(SealError::WrongKey { .. })
        ));
        assert!(matches!(
            s.open("journal", b"{}"),
            Err(SealError::NotSealed { .. })
        ));
        assert_eq!(Sealer::new("").err(), Some(SealError::EmptyPassphrase));
    }

    #[test]
    fn the_passphrase_never_shows_in_debug_output() {
        let s = Sealer::new("hunter2").unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
