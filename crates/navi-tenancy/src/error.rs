//! The crate's one error type.

/// What went wrong in a store operation, in terms a caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist (or belongs to another tenant: the two are indistinguishable).
    #[error("not found")]
    NotFound,
    /// The write conflicts with existing data (a taken slug, the last owner, a used invite).
    #[error("conflict: {0}")]
    Conflict(String),
    /// No valid credentials: unknown, malformed, revoked or expired key.
    #[error("unauthenticated")]
    Unauthenticated,
    /// The invite token is unknown, expired, revoked or already used (one answer for all four).
    #[error("invalid invite")]
    InvalidInvite,
    /// The request names no org (no `X-Navi-Org` header and an unpinned key).
    #[error("org context required")]
    OrgContextRequired,
    /// The caller may not do this.
    #[error("forbidden")]
    Forbidden,
    /// Single sign-on refused this identity (an email outside the provider's approved domains,
    /// an email it does not call verified, an identity linked to someone else). The message
    /// names the reason and is written for the person signing in.
    #[error("sign-in refused: {0}")]
    SignInRefused(String),
    /// The org requires sign-in through its enforced SSO connection, and this session was not
    /// made through it.
    #[error("sso required")]
    SsoRequired,
    /// A browser session may do this only within
    /// [`crate::api_keys::RECENT_SIGN_IN`] of signing in (making a key): sign in again.
    #[error("recent sign-in required")]
    RecentSignInRequired,
    /// The caller's input is not acceptable; the message names the field and is written for
    /// the caller. Only for the caller's input: a broken invariant is [`StoreError::Internal`].
    #[error("invalid: {0}")]
    Invalid(String),
    /// A sum the caller asked for does not fit in a 64-bit integer: too much asked at once
    /// (a dashboard's range, say). The message names the sum, for the logs; a caller that
    /// knows what was asked names it to its own caller.
    #[error("too large: {0}")]
    TooLarge(String),
    /// An internal invariant does not hold (the rollups disagree, the database answered rows
    /// that were not asked for, ...): a bug or damaged data, never the caller's fault. The
    /// message is for the logs only.
    #[error("internal error: {0}")]
    Internal(String),
    /// A stored secret cannot be opened: not a ciphertext (e.g. plaintext written around the
    /// repository), sealed under a key that is not in the keyring, tampered with, or not the
    /// expected JSON. The message names the problem, never the content.
    #[error("the stored secret cannot be read: {0}")]
    SecretUnreadable(String),
    /// The database cannot be reached (connection refused, pool exhausted, timeout).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Migrations could not be listed, applied or reverted.
    #[error("migration failed: {0}")]
    Migration(String),
    /// Any other database error: a bug or a broken invariant, never the caller's fault.
    #[error("database error: {0}")]
    Database(#[source] diesel::result::Error),
}

impl From<diesel::result::Error> for StoreError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match error {
            Error::NotFound => StoreError::NotFound,
            ref refused @ Error::DeserializationError(_) => {
                match navi_crypto::CryptoError::in_diesel_error(refused) {
                    Some(crypto) => StoreError::SecretUnreadable(crypto.to_string()),
                    None => StoreError::Database(error),
                }
            }
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                StoreError::Unavailable(info.message().to_owned())
            }
            other => StoreError::Database(other),
        }
    }
}
