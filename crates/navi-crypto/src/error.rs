//! The crate's one error type.

use std::io;

/// Everything that can go wrong in `navi-crypto`.
///
/// No variant ever carries key material, plaintext or stored bytes: messages are safe to log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The ciphertext names a key that is not in the keyring. The id comes from the stored value
    /// and has been checked to be a well-formed key id, so it is safe to show.
    #[error(
        "no key with id `{0}` in the keyring; add that key (as a secondary) to \
         NAVI_ENCRYPTION_KEYS or the key file to open values sealed under it"
    )]
    UnknownKeyId(String),

    /// The stored value is not a navi-crypto ciphertext at all: plaintext, garbage or truncated
    /// data. The reason names what is wrong with the structure, never the content.
    #[error("stored value is not a navi-crypto ciphertext: {0}")]
    NotCiphertext(&'static str),

    /// The stored value looks like a ciphertext of a format version this build cannot read.
    #[error("unsupported ciphertext format version {0} (this build reads version 1)")]
    UnsupportedVersion(u8),

    /// Authentication failed: the ciphertext was sealed for another org, table, column or row,
    /// or it has been tampered with (or the key under its id is not the key that sealed it).
    #[error(
        "ciphertext did not open: it was sealed for another org, table, column or row, \
         was tampered with, or the key under its id differs from the one that sealed it"
    )]
    OpenFailed,

    /// A key, key id or key configuration is unusable. The message never contains key material.
    #[error("invalid encryption key configuration: {0}")]
    InvalidKey(String),

    /// A typed value could not be serialised before sealing.
    #[error("could not serialise the value to seal: {0}")]
    Encode(String),

    /// A decrypted payload is not the expected type. The message names the kind of error and its
    /// position, never the payload.
    #[error("decrypted value does not decode as the expected type: {0}")]
    Decode(String),

    /// The system random number generator failed.
    #[error("the system random number generator failed")]
    Random,

    /// Reading or writing a key file failed.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing, including the path.
        context: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

impl CryptoError {
    /// The `CryptoError` inside a diesel error, if a read failed because a stored value was
    /// refused (not a ciphertext, unknown version). diesel wraps the error of a column's
    /// `FromSql` in `DeserializationError`, possibly inside a `DeserializeFieldError`; this looks
    /// through both so repositories can map it (e.g. "this server's secret is unreadable").
    #[cfg(feature = "diesel")]
    pub fn in_diesel_error(error: &diesel::result::Error) -> Option<&CryptoError> {
        let diesel::result::Error::DeserializationError(inner) = error else {
            return None;
        };
        if let Some(crypto) = inner.downcast_ref::<CryptoError>() {
            return Some(crypto);
        }
        inner
            .downcast_ref::<diesel::result::DeserializeFieldError>()
            .and_then(|field| field.error.downcast_ref::<CryptoError>())
    }

    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        CryptoError::Io {
            context: context.into(),
            source,
        }
    }

    /// A serde_json error described without the offending input (serde_json messages may quote
    /// it, and here the input is a secret).
    pub(crate) fn json_description(error: &serde_json::Error) -> String {
        let kind = match error.classify() {
            serde_json::error::Category::Io => "I/O error",
            serde_json::error::Category::Syntax => "invalid JSON",
            serde_json::error::Category::Data => "JSON does not match the expected type",
            serde_json::error::Category::Eof => "JSON ends early",
        };
        if error.line() == 0 {
            kind.to_owned()
        } else {
            format!("{kind} at line {} column {}", error.line(), error.column())
        }
    }
}
