//! Decrypted values: redacted in `Debug`, zeroed on drop.

use std::fmt;
use std::io;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;
use zeroize::Zeroize;

use crate::CryptoError;

/// Zeroes `bytes` with volatile writes that the compiler cannot remove, eight bytes at a time
/// where alignment allows: byte-by-byte volatile zeroing of a 1 KiB value costs about as much as
/// sealing and opening it.
pub(crate) fn zeroize_words(bytes: &mut [u8]) {
    let (head, words, tail) = bytemuck::pod_align_to_mut::<u8, u64>(bytes);
    head.zeroize();
    words.zeroize();
    tail.zeroize();
}

/// Decrypted bytes. `Debug` prints `[redacted]`; the bytes are zeroed on drop.
pub struct Plaintext {
    /// The opened buffer: the plaintext, then what followed it in the buffer it was opened in
    /// (the tag). All of it is zeroed on drop.
    buffer: Vec<u8>,
    len: usize,
}

impl Plaintext {
    /// Takes ownership of an opened buffer whose first `len` bytes are the plaintext.
    pub(crate) fn new(buffer: Vec<u8>, len: usize) -> Plaintext {
        debug_assert!(len <= buffer.len());
        Plaintext { buffer, len }
    }

    /// The decrypted bytes. Copies the caller makes are not zeroed by this type.
    pub fn expose(&self) -> &[u8] {
        &self.buffer[..self.len]
    }

    /// Number of decrypted bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the decrypted value is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Decodes the bytes as JSON. The decoded value is the caller's to protect; errors never
    /// quote the payload.
    pub fn decode_json<T: DeserializeOwned>(&self) -> Result<T, CryptoError> {
        serde_json::from_slice(self.expose())
            .map_err(|error| CryptoError::Decode(CryptoError::json_description(&error)))
    }
}

impl Clone for Plaintext {
    fn clone(&self) -> Self {
        Plaintext::new(self.expose().to_vec(), self.len)
    }
}

impl Drop for Plaintext {
    fn drop(&mut self) {
        zeroize_words(&mut self.buffer);
    }
}

impl fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Plaintext([redacted])")
    }
}

/// A decrypted typed value, held as its serialised JSON bytes (zeroed on drop) and decoded on
/// access, so the secret's only long-lived copy is one that is wiped. `Debug` prints
/// `[redacted]`.
pub struct Decrypted<T> {
    json: Plaintext,
    value_type: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Decrypted<T> {
    pub(crate) fn new(json: Plaintext) -> Decrypted<T> {
        Decrypted {
            json,
            value_type: PhantomData,
        }
    }

    /// Decodes the value. Fails with [`CryptoError::Decode`] if the sealed JSON is not a `T`
    /// (for instance after the type changed); the error never quotes the payload.
    pub fn decode(&self) -> Result<T, CryptoError> {
        self.json.decode_json()
    }

    /// The serialised JSON bytes.
    pub fn expose_json(&self) -> &[u8] {
        self.json.expose()
    }
}

impl<T> Clone for Decrypted<T> {
    fn clone(&self) -> Self {
        Decrypted {
            json: self.json.clone(),
            value_type: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Decrypted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Decrypted([redacted])")
    }
}

/// Serialises `value` to JSON into a buffer that is zeroed on drop, sized exactly up front so
/// no partial copy is left behind by a reallocation.
pub(crate) fn to_json_zeroizing<T: Serialize + ?Sized>(
    value: &T,
) -> Result<Plaintext, CryptoError> {
    struct Counter(usize);
    impl io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let encode_error = |error: serde_json::Error| CryptoError::Encode(error.to_string());
    let mut counter = Counter(0);
    serde_json::to_writer(&mut counter, value).map_err(encode_error)?;
    let mut buffer = Vec::with_capacity(counter.0);
    let written = serde_json::to_writer(&mut buffer, value).map_err(encode_error);
    // Wrapped before the error check so a partial serialisation is zeroed too.
    let len = buffer.len();
    let json = Plaintext::new(buffer, len);
    written.map(|()| json)
}
