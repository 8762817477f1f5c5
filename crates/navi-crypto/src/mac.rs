//! HMAC-SHA256 keys with short ids, one primary for signing: what a tamper-evident chain (the
//! audit log's) is keyed with. The keys live outside the database, so someone with only database
//! access cannot compute a valid tag.

use std::fmt;
use std::sync::Arc;

use ring::{hkdf, hmac};

use crate::keyring::{parse_entries, KeyId};
use crate::{CryptoError, KEY_LEN};

/// Length of a tag in bytes.
pub const MAC_LEN: usize = 32;

struct MacKey {
    id: KeyId,
    key: hmac::Key,
}

/// A set of HMAC-SHA256 keys: the primary signs, every key verifies what was signed under its id.
///
/// The spec format is the [`crate::Keyring`]'s (`id:base64key` entries, the first primary, each
/// exactly 32 bytes). Cloning is cheap; `Debug` prints the ids only.
#[derive(Clone)]
pub struct MacKeyring {
    /// Non-empty, ids distinct, `keys[0]` is the primary.
    keys: Vec<Arc<MacKey>>,
}

impl fmt::Debug for MacKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MacKeyring")
            .field("key_ids", &self.key_ids().collect::<Vec<_>>())
            .field("key_material", &format_args!("[redacted]"))
            .finish()
    }
}

/// The HKDF length marker for a 32-byte HMAC key.
struct HmacKeyLen;

impl hkdf::KeyType for HmacKeyLen {
    fn len(&self) -> usize {
        KEY_LEN
    }
}

impl MacKeyring {
    /// Parses a spec: `id:base64key` entries separated by commas and/or newlines, the first the
    /// primary. Errors never include key material.
    pub fn parse(spec: &str) -> Result<MacKeyring, CryptoError> {
        let keys = parse_entries(spec)?
            .into_iter()
            .map(|(id, bytes)| {
                if bytes.len() != KEY_LEN {
                    return Err(CryptoError::InvalidKey(format!(
                        "key `{id}` decodes to {} bytes; keys are exactly {KEY_LEN} bytes",
                        bytes.len()
                    )));
                }
                Ok(Arc::new(MacKey {
                    id,
                    key: hmac::Key::new(hmac::HMAC_SHA256, &bytes),
                }))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(MacKeyring { keys })
    }

    /// A one-key ring whose key `id` is derived (HKDF-SHA256) from another secret, for a
    /// purpose named by `info`: different purposes give unrelated keys.
    pub fn derive(id: &str, secret: &[u8], info: &str) -> Result<MacKeyring, CryptoError> {
        let id = KeyId::parse(id)?;
        let mut bytes = zeroize::Zeroizing::new([0u8; KEY_LEN]);
        hkdf::Salt::new(hkdf::HKDF_SHA256, b"navi-mac-keyring")
            .extract(secret)
            .expand(&[info.as_bytes()], HmacKeyLen)
            .and_then(|okm| okm.fill(bytes.as_mut()))
            .map_err(|_| CryptoError::InvalidKey("key derivation failed".to_owned()))?;
        Ok(MacKeyring {
            keys: vec![Arc::new(MacKey {
                id,
                key: hmac::Key::new(hmac::HMAC_SHA256, bytes.as_ref()),
            })],
        })
    }

    /// This ring followed by `older`'s keys whose ids it does not have: signs with this
    /// primary, still verifies under the older keys.
    pub fn followed_by(&self, older: &MacKeyring) -> MacKeyring {
        let mut keys = self.keys.clone();
        for key in &older.keys {
            if !keys.iter().any(|known| known.id == key.id) {
                keys.push(key.clone());
            }
        }
        MacKeyring { keys }
    }

    /// The id of the key that signs.
    pub fn primary_key_id(&self) -> &KeyId {
        &self.keys[0].id
    }

    /// Every key id, primary first.
    pub fn key_ids(&self) -> impl ExactSizeIterator<Item = &KeyId> + '_ {
        self.keys.iter().map(|key| &key.id)
    }

    /// The tag of `message` under key `id`; `None` when the ring has no such key.
    pub fn sign(&self, id: &str, message: &[u8]) -> Option<[u8; MAC_LEN]> {
        let key = self.keys.iter().find(|key| key.id.as_str() == id)?;
        let tag = hmac::sign(&key.key, message);
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(tag.as_ref());
        Some(out)
    }

    /// Whether `tag` is the tag of `message` under key `id`, compared in constant time; `None`
    /// when the ring has no such key.
    pub fn verify(&self, id: &str, message: &[u8], tag: &[u8]) -> Option<bool> {
        let key = self.keys.iter().find(|key| key.id.as_str() == id)?;
        Some(hmac::verify(&key.key, message, tag).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate_key_line;

    #[test]
    fn a_tag_verifies_only_under_its_key_and_message() {
        let ring = MacKeyring::parse(&generate_key_line().unwrap()).unwrap();
        let id = ring.primary_key_id().as_str().to_owned();
        let tag = ring.sign(&id, b"hello").unwrap();
        assert_eq!(ring.verify(&id, b"hello", &tag), Some(true));
        assert_eq!(ring.verify(&id, b"hellp", &tag), Some(false));
        assert_eq!(ring.verify("other", b"hello", &tag), None);
        let another = MacKeyring::parse(&generate_key_line().unwrap()).unwrap();
        let another_id = another.primary_key_id().as_str().to_owned();
        assert_ne!(another.sign(&another_id, b"hello").unwrap(), tag);
    }

    #[test]
    fn derived_keys_depend_on_secret_and_purpose() {
        let a = MacKeyring::derive("d", b"secret", "audit").unwrap();
        let b = MacKeyring::derive("d", b"secret", "other").unwrap();
        let c = MacKeyring::derive("d", b"secreT", "audit").unwrap();
        let again = MacKeyring::derive("d", b"secret", "audit").unwrap();
        let tag = a.sign("d", b"m").unwrap();
        assert_eq!(again.sign("d", b"m").unwrap(), tag);
        assert_ne!(b.sign("d", b"m").unwrap(), tag);
        assert_ne!(c.sign("d", b"m").unwrap(), tag);
    }

    #[test]
    fn followed_by_keeps_the_primary_and_verifies_older_tags() {
        let old = MacKeyring::derive("old", b"s", "audit").unwrap();
        let new = MacKeyring::parse(&generate_key_line().unwrap()).unwrap();
        let both = new.followed_by(&old);
        assert_eq!(both.primary_key_id(), new.primary_key_id());
        let tag = old.sign("old", b"m").unwrap();
        assert_eq!(both.verify("old", b"m", &tag), Some(true));
        assert!(MacKeyring::parse("a:AAAA").is_err());
        assert!(!format!("{both:?}").contains('='));
    }
}
