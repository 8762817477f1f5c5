//! Ids made by the server: a type prefix and lowercase letters and digits (`org_…`, `usr_…`), so
//! they never start with a character a spreadsheet would read as a formula.

use ring::rand::{SecureRandom, SystemRandom};

const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// The kinds of id, each with its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// `org_…`
    Org,
    /// `usr_…`
    User,
    /// `key_…`
    ApiKey,
    /// `inv_…`
    Invite,
    /// `mcp_…`
    McpServer,
    /// `aud_…`
    Audit,
    /// `fbk_…`
    Feedback,
    /// `sso_…`
    SsoConnection,
}

impl IdKind {
    /// The prefix, without the underscore.
    pub fn prefix(self) -> &'static str {
        match self {
            IdKind::Org => "org",
            IdKind::User => "usr",
            IdKind::ApiKey => "key",
            IdKind::Invite => "inv",
            IdKind::McpServer => "mcp",
            IdKind::Audit => "aud",
            IdKind::Feedback => "fbk",
            IdKind::SsoConnection => "sso",
        }
    }
}

/// A new random id of `kind`: the prefix, `_` and 20 base32 characters (100 random bits).
pub fn new_id(kind: IdKind) -> String {
    format!("{}_{}", kind.prefix(), random_base32(20))
}

/// `len` random characters from `[a-z2-7]`.
pub(crate) fn random_base32(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    fill_random(&mut bytes);
    bytes
        .iter()
        .map(|byte| char::from(ALPHABET[usize::from(byte % 32)]))
        .collect()
}

/// Fills `out` from the operating system's CSPRNG.
pub(crate) fn fill_random(out: &mut [u8]) {
    // The system RNG only fails when the OS cannot provide randomness at all; nothing secure
    // can continue then.
    SystemRandom::new()
        .fill(out)
        .expect("the operating system's random number generator failed");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_prefix_and_only_lowercase_letters_and_digits() {
        let id = new_id(IdKind::Org);
        assert!(id.starts_with("org_"), "{id}");
        assert_eq!(id.len(), 24);
        assert!(id[4..]
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        assert_ne!(new_id(IdKind::Org), new_id(IdKind::Org));
    }
}
