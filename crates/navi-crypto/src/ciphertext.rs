//! The sealed byte format and sealing/opening bound to a [`SealContext`].

use std::fmt;

use ring::aead::{Aad, Nonce, NONCE_LEN};
use ring::rand::SecureRandom;
use zeroize::Zeroize;

use crate::keyring::{is_valid_key_id, Key};
use crate::{CryptoError, Keyring, Plaintext};

/// The format version this build writes and reads.
pub const FORMAT_VERSION: u8 = 1;

/// Length of the AES-GCM authentication tag at the end of every ciphertext.
pub const TAG_LEN: usize = 16;

/// First bytes that are treated as a format version this build does not know (rather than as
/// "not a ciphertext at all"). Leaves room for future formats while plaintext — which almost
/// never starts with a control byte — is reported as such.
const RESERVED_VERSIONS: std::ops::RangeInclusive<u8> = 2..=0x0f;

/// Where a sealed value lives: bound into the associated data of every seal, so the ciphertext
/// opens only with the same four values.
///
/// Row ids are made before the insert, so the first seal can already bind the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SealContext<'a> {
    /// The owning organisation's id.
    pub org_id: &'a str,
    /// The table name.
    pub table: &'a str,
    /// The column name.
    pub column: &'a str,
    /// The row's primary key, as text.
    pub row_id: &'a str,
}

impl SealContext<'_> {
    fn fields(&self) -> [&[u8]; 4] {
        [
            self.org_id.as_bytes(),
            self.table.as_bytes(),
            self.column.as_bytes(),
            self.row_id.as_bytes(),
        ]
    }
}

/// Calls `f` with the associated data for `header` and `context`: the header bytes, then each of
/// org id, table, column and row id as an 8-byte big-endian length followed by its UTF-8 bytes.
/// Small AADs are built on the stack: this runs on every seal and open.
fn with_associated_data<R>(
    header: &[u8],
    context: &SealContext<'_>,
    f: impl FnOnce(&[u8]) -> R,
) -> R {
    let fields = context.fields();
    let length = header.len() + fields.iter().map(|field| 8 + field.len()).sum::<usize>();
    let mut on_stack = [0u8; 320];
    let mut on_heap = Vec::new();
    let buffer: &mut [u8] = if length <= on_stack.len() {
        &mut on_stack[..length]
    } else {
        on_heap.resize(length, 0);
        &mut on_heap
    };
    buffer[..header.len()].copy_from_slice(header);
    let mut at = header.len();
    for field in fields {
        // usize -> u64 is lossless on every platform Rust supports.
        buffer[at..at + 8].copy_from_slice(&(field.len() as u64).to_be_bytes());
        at += 8;
        buffer[at..at + field.len()].copy_from_slice(field);
        at += field.len();
    }
    f(buffer)
}

/// A sealed value in the stored format (see the crate docs for the byte layout).
///
/// It can only be made by sealing ([`Ciphertext::seal`], [`Ciphertext::reseal`]) or by reading a
/// stored value that passes the format check ([`Ciphertext::from_stored_bytes`], used by the
/// diesel `FromSql` impls). There is no `From<Vec<u8>>`, no public field and no `Default`.
///
/// As a diesel column value it has SQL type [`Encrypted`](crate::sql_types::Encrypted) (preferred: nothing else can be
/// written to such a column) or [`Binary`](diesel::sql_types::Binary).
#[derive(Clone, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "diesel",
    derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow),
    diesel(sql_type = crate::sql_types::Encrypted),
    diesel(sql_type = diesel::sql_types::Binary)
)]
pub struct Ciphertext {
    /// Always passes [`check_format`].
    bytes: Vec<u8>,
}

impl fmt::Debug for Ciphertext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ciphertext")
            .field("version", &self.version())
            .field("key_id", &self.key_id())
            .field("len", &self.bytes.len())
            .finish()
    }
}

impl Ciphertext {
    /// Seals `plaintext` under the keyring's primary key, bound to `context`, with a fresh random
    /// nonce (two seals of the same value differ).
    pub fn seal(
        keyring: &Keyring,
        context: &SealContext<'_>,
        plaintext: &[u8],
    ) -> Result<Ciphertext, CryptoError> {
        let key = keyring.primary();
        let id = key.id.as_str().as_bytes();
        let header_len = 2 + id.len() + NONCE_LEN;
        let mut nonce = [0u8; NONCE_LEN];
        keyring
            .random()
            .fill(&mut nonce)
            .map_err(|_| CryptoError::Random)?;

        let mut bytes = Vec::with_capacity(header_len + plaintext.len() + TAG_LEN);
        bytes.push(FORMAT_VERSION);
        bytes.push(u8::try_from(id.len()).expect("key ids are validated to at most 16 bytes"));
        bytes.extend_from_slice(id);
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(plaintext);
        let (header, body) = bytes.split_at_mut(header_len);
        let tag = with_associated_data(header, context, |aad| {
            key.aead.seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                body,
            )
        });
        match tag {
            Ok(tag) => {
                bytes.extend_from_slice(tag.as_ref());
                Ok(Ciphertext { bytes })
            }
            Err(_) => {
                // Only a plaintext beyond AES-GCM's limit (~64 GiB) gets here; do not leave it
                // lying in freed memory.
                bytes.zeroize();
                Err(CryptoError::Encode(
                    "value is too long for AES-256-GCM".to_owned(),
                ))
            }
        }
    }

    /// Opens the value with the key named in its header, checking it was sealed for `context`.
    ///
    /// Errors: [`CryptoError::UnknownKeyId`] when the keyring lacks that key (no other key is
    /// tried), [`CryptoError::OpenFailed`] when the context differs or the bytes were altered.
    pub fn open(
        &self,
        keyring: &Keyring,
        context: &SealContext<'_>,
    ) -> Result<Plaintext, CryptoError> {
        let key = self.key_in(keyring)?;
        let header_len = self.header_len();
        let (header, body) = self.bytes.split_at(header_len);
        let nonce: [u8; NONCE_LEN] = header[header_len - NONCE_LEN..]
            .try_into()
            .expect("the header ends with a nonce of NONCE_LEN bytes");
        let mut buffer = body.to_vec();
        let plaintext_len = with_associated_data(header, context, |aad| {
            key.aead
                .open_in_place(
                    Nonce::assume_unique_for_key(nonce),
                    Aad::from(aad),
                    &mut buffer,
                )
                .map(|plaintext| plaintext.len())
        });
        match plaintext_len {
            Ok(len) => Ok(Plaintext::new(buffer, len)),
            Err(_) => {
                // ring leaves a failed buffer in an unspecified state: it may hold plaintext.
                crate::plaintext::zeroize_words(&mut buffer);
                Err(CryptoError::OpenFailed)
            }
        }
    }

    /// Opens with the key named in the header and seals again under the keyring's primary key,
    /// bound to the same context: the rotation step. The plaintext never leaves this function
    /// and is zeroed.
    pub fn reseal(
        &self,
        keyring: &Keyring,
        context: &SealContext<'_>,
    ) -> Result<Ciphertext, CryptoError> {
        let plaintext = self.open(keyring, context)?;
        Ciphertext::seal(keyring, context, plaintext.expose())
    }

    /// Whether this value is sealed under the keyring's primary key (so rotation can skip it).
    pub fn is_sealed_under_primary(&self, keyring: &Keyring) -> bool {
        self.key_id() == keyring.primary_key_id().as_str()
    }

    /// The id of the key this value was sealed under (for per-key usage counts).
    pub fn key_id(&self) -> &str {
        std::str::from_utf8(self.key_id_bytes())
            .expect("key ids are checked to be ASCII when a ciphertext is made")
    }

    /// The format version byte.
    pub fn version(&self) -> u8 {
        self.bytes[0]
    }

    /// The stored bytes (what is written to the database).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// For database drivers and tools that read stored values: checks `bytes` has the ciphertext
    /// layout (version, well-formed key id, room for nonce and tag) and wraps it.
    ///
    /// This is a format check only. It cannot make a ciphertext that opens: that needs the key
    /// and the context, and any change to the bytes makes [`Ciphertext::open`] fail. Plaintext,
    /// garbage and unknown versions are refused with [`CryptoError::NotCiphertext`] or
    /// [`CryptoError::UnsupportedVersion`]; refused bytes are zeroed, since they may be a secret
    /// stored in plaintext.
    pub fn from_stored_bytes(mut bytes: Vec<u8>) -> Result<Ciphertext, CryptoError> {
        match check_format(&bytes) {
            Ok(()) => Ok(Ciphertext { bytes }),
            Err(error) => {
                bytes.zeroize();
                Err(error)
            }
        }
    }

    fn key_id_bytes(&self) -> &[u8] {
        &self.bytes[2..2 + usize::from(self.bytes[1])]
    }

    fn header_len(&self) -> usize {
        2 + usize::from(self.bytes[1]) + NONCE_LEN
    }

    fn key_in<'k>(&self, keyring: &'k Keyring) -> Result<&'k Key, CryptoError> {
        keyring
            .find(self.key_id_bytes())
            .ok_or_else(|| CryptoError::UnknownKeyId(self.key_id().to_owned()))
    }
}

/// Checks the layout of a stored value, never reading past its end. Errors describe the
/// structure only, never the content.
pub(crate) fn check_format(bytes: &[u8]) -> Result<(), CryptoError> {
    let Some(&version) = bytes.first() else {
        return Err(CryptoError::NotCiphertext("the value is empty"));
    };
    if version != FORMAT_VERSION {
        return Err(if RESERVED_VERSIONS.contains(&version) {
            CryptoError::UnsupportedVersion(version)
        } else {
            CryptoError::NotCiphertext(
                "it does not start with a format version byte (plaintext or foreign data?)",
            )
        });
    }
    let Some(&id_len) = bytes.get(1) else {
        return Err(CryptoError::NotCiphertext("it ends before the key id"));
    };
    let id_len = usize::from(id_len);
    let Some(id) = bytes.get(2..2 + id_len) else {
        return Err(CryptoError::NotCiphertext("it ends inside the key id"));
    };
    if !is_valid_key_id(id) {
        return Err(CryptoError::NotCiphertext("the key id is malformed"));
    }
    if bytes.len() < 2 + id_len + NONCE_LEN + TAG_LEN {
        return Err(CryptoError::NotCiphertext(
            "it is too short to hold a nonce and a tag",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> SealContext<'static> {
        SealContext {
            org_id: "org",
            table: "t",
            column: "c",
            row_id: "r",
        }
    }

    #[test]
    fn sealed_layout_is_version_id_nonce_body_tag() {
        let keyring = Keyring::parse("abc:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").unwrap();
        let sealed = Ciphertext::seal(&keyring, &context(), b"hello").unwrap();
        let bytes = sealed.as_bytes();
        assert_eq!(bytes[0], FORMAT_VERSION);
        assert_eq!(bytes[1], 3);
        assert_eq!(&bytes[2..5], b"abc");
        assert_eq!(bytes.len(), 2 + 3 + NONCE_LEN + 5 + TAG_LEN);
        assert_ne!(&bytes[5 + NONCE_LEN..5 + NONCE_LEN + 5], b"hello");
    }

    #[test]
    fn context_fields_cannot_be_shifted_into_each_other() {
        let keyring = Keyring::generate().unwrap();
        let a = SealContext {
            org_id: "o",
            table: "ab",
            column: "c",
            row_id: "r",
        };
        let b = SealContext {
            table: "a",
            column: "bc",
            ..a
        };
        let sealed = Ciphertext::seal(&keyring, &a, b"x").unwrap();
        assert!(matches!(
            sealed.open(&keyring, &b),
            Err(CryptoError::OpenFailed)
        ));
    }

    #[test]
    fn long_contexts_use_the_heap_path_and_still_round_trip() {
        let keyring = Keyring::generate().unwrap();
        let row = "r".repeat(1000);
        let long = SealContext {
            row_id: &row,
            ..context()
        };
        let sealed = Ciphertext::seal(&keyring, &long, b"payload").unwrap();
        assert_eq!(sealed.open(&keyring, &long).unwrap().expose(), b"payload");
        assert!(sealed.open(&keyring, &context()).is_err());
    }

    #[test]
    fn format_check_classifies_plaintext_versions_and_truncation() {
        assert!(matches!(
            check_format(b""),
            Err(CryptoError::NotCiphertext(_))
        ));
        assert!(matches!(
            check_format(b"{\"token\":\"abc\"}"),
            Err(CryptoError::NotCiphertext(_))
        ));
        assert!(matches!(
            check_format(&[2, 1, b'a']),
            Err(CryptoError::UnsupportedVersion(2))
        ));
        assert!(matches!(
            check_format(&[1]),
            Err(CryptoError::NotCiphertext(_))
        ));
        assert!(matches!(
            check_format(&[1, 0, 0]),
            Err(CryptoError::NotCiphertext(_))
        ));
        assert!(matches!(
            check_format(&[1, 1, b' ']),
            Err(CryptoError::NotCiphertext(_))
        ));
        let mut minimal = vec![1, 1, b'a'];
        minimal.extend_from_slice(&[0; NONCE_LEN + TAG_LEN]);
        assert!(check_format(&minimal).is_ok());
        minimal.pop();
        assert!(check_format(&minimal).is_err());
    }
}
