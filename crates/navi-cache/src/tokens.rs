//! Single-use tokens: random secrets handed to a client, stored only as a hash, consumed once.

use std::fmt;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::digest::{digest, SHA256};
use ring::rand::SecureRandom;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::cache::Cache;
use crate::error::CacheError;

/// Random bytes in a token: 256 bits, well above the 128 needed against guessing.
const TOKEN_BYTES: usize = 32;

/// The longest purpose name accepted.
const MAX_PURPOSE_LEN: usize = 64;

/// What a token is for (`sso_state`, `oauth_nonce`, `invite`, ...): part of its storage key, so a
/// token issued for one purpose cannot be consumed for another.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenPurpose(String);

impl TokenPurpose {
    /// Accepts 1 to 64 characters of `a-z`, `0-9`, `_` and `-`.
    pub fn parse(name: &str) -> Result<Self, CacheError> {
        let valid = !name.is_empty()
            && name.len() <= MAX_PURPOSE_LEN
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if valid {
            Ok(Self(name.to_owned()))
        } else {
            Err(CacheError::invalid(format!(
                "token purpose must be 1-{MAX_PURPOSE_LEN} characters of a-z, 0-9, _ or -, got {name:?}"
            )))
        }
    }

    /// The purpose's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A single-use token as handed to a client: 43 characters of URL-safe base64 (no padding).
/// Its `Debug` prints `[redacted]`; there is deliberately no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// The token text, to put in a URL or a cookie. Never log it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The token text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([redacted])")
    }
}

/// The storage key (without the cache prefix): `token:<purpose>:<hex sha256 of the token>`.
/// Only the hash is stored, so reading Redis (or its backups) does not reveal live tokens.
pub fn token_key(purpose: &TokenPurpose, token: &str) -> String {
    let hash = digest(&SHA256, token.as_bytes());
    let mut key = String::with_capacity(7 + purpose.0.len() + 1 + 64);
    key.push_str("token:");
    key.push_str(&purpose.0);
    key.push(':');
    for byte in hash.as_ref() {
        key.push(char::from(HEX[usize::from(byte >> 4)]));
        key.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    key
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl Cache {
    /// Issue a fresh token for `purpose`, storing `payload` for `ttl`. Hand the token to the client;
    /// [`Cache::consume_token`] returns the payload once.
    pub async fn issue_token<T: Serialize + ?Sized>(
        &self,
        purpose: &TokenPurpose,
        payload: &T,
        ttl: Duration,
    ) -> Result<Token, CacheError> {
        let mut bytes = [0u8; TOKEN_BYTES];
        self.random().fill(&mut bytes).map_err(|_| {
            CacheError::Unavailable("the system random number generator failed".to_owned())
        })?;
        let token = Token(URL_SAFE_NO_PAD.encode(bytes));
        self.set_json(&token_key(purpose, token.as_str()), payload, ttl)
            .await?;
        Ok(token)
    }

    /// Consume `token` for `purpose`: its payload the first time, `None` ever after (and for unknown,
    /// expired, or other-purpose tokens). Any error means "do not accept this token": the consume
    /// may have happened, and it is not retried.
    pub async fn consume_token<T: DeserializeOwned>(
        &self,
        purpose: &TokenPurpose,
        token: &str,
    ) -> Result<Option<T>, CacheError> {
        self.getdel_json(&token_key(purpose, token)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purpose_names_are_restricted() {
        assert!(TokenPurpose::parse("sso_state").is_ok());
        assert!(TokenPurpose::parse("").is_err());
        assert!(TokenPurpose::parse("a:b").is_err());
        assert!(TokenPurpose::parse("Upper").is_err());
        assert!(TokenPurpose::parse(&"x".repeat(65)).is_err());
    }

    #[test]
    fn token_key_holds_the_hash_not_the_token() {
        let purpose = TokenPurpose::parse("sso_state").unwrap();
        let key = token_key(&purpose, "abc");
        assert_eq!(
            key,
            "token:sso_state:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn token_debug_is_redacted() {
        let token = Token("secret-token-text".to_owned());
        assert_eq!(format!("{token:?}"), "Token([redacted])");
    }
}
