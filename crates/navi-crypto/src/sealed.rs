//! `Sealed<T>`: a typed encrypted column value.

use std::fmt;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::plaintext::to_json_zeroizing;
use crate::{Ciphertext, CryptoError, Decrypted, Keyring, SealContext};

/// A [`Ciphertext`] known to hold a `T` serialised as JSON: what a repository row field holds for
/// an encrypted column (SQL type [`Encrypted`](crate::sql_types::Encrypted)). Like `Ciphertext`, it can only be made by
/// sealing or by reading a valid stored ciphertext.
#[cfg_attr(
    feature = "diesel",
    derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow),
    diesel(sql_type = crate::sql_types::Encrypted)
)]
pub struct Sealed<T> {
    ciphertext: Ciphertext,
    value_type: PhantomData<fn() -> T>,
}

impl<T: Serialize + DeserializeOwned> Sealed<T> {
    /// Serialises `value` as JSON (in a buffer zeroed afterwards) and seals it under the
    /// keyring's primary key, bound to `context`.
    pub fn seal(
        keyring: &Keyring,
        context: &SealContext<'_>,
        value: &T,
    ) -> Result<Sealed<T>, CryptoError> {
        let json = to_json_zeroizing(value)?;
        Ok(Sealed::from_ciphertext(Ciphertext::seal(
            keyring,
            context,
            json.expose(),
        )?))
    }

    /// Opens the value (see [`Ciphertext::open`]); decode it with [`Decrypted::decode`].
    pub fn open(
        &self,
        keyring: &Keyring,
        context: &SealContext<'_>,
    ) -> Result<Decrypted<T>, CryptoError> {
        Ok(Decrypted::new(self.ciphertext.open(keyring, context)?))
    }
}

impl<T> Sealed<T> {
    /// Views an untyped ciphertext as holding a `T`; whether it does is checked when decoding.
    pub fn from_ciphertext(ciphertext: Ciphertext) -> Sealed<T> {
        Sealed {
            ciphertext,
            value_type: PhantomData,
        }
    }

    /// The untyped ciphertext.
    pub fn ciphertext(&self) -> &Ciphertext {
        &self.ciphertext
    }

    /// The untyped ciphertext, by value.
    pub fn into_ciphertext(self) -> Ciphertext {
        self.ciphertext
    }

    /// Re-seals under the keyring's primary key (see [`Ciphertext::reseal`]).
    pub fn reseal(
        &self,
        keyring: &Keyring,
        context: &SealContext<'_>,
    ) -> Result<Sealed<T>, CryptoError> {
        Ok(Sealed::from_ciphertext(
            self.ciphertext.reseal(keyring, context)?,
        ))
    }

    /// The id of the key this value was sealed under.
    pub fn key_id(&self) -> &str {
        self.ciphertext.key_id()
    }
}

impl<T> Clone for Sealed<T> {
    fn clone(&self) -> Self {
        Sealed::from_ciphertext(self.ciphertext.clone())
    }
}

impl<T> PartialEq for Sealed<T> {
    fn eq(&self, other: &Self) -> bool {
        self.ciphertext == other.ciphertext
    }
}

impl<T> Eq for Sealed<T> {}

impl<T> fmt::Debug for Sealed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Sealed").field(&self.ciphertext).finish()
    }
}
