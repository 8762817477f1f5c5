//! The keyring: AES-256-GCM keys with short ids, one primary for sealing.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ring::aead::{LessSafeKey, UnboundKey, AES_256_GCM};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::CryptoError;

/// Length of an AES-256 key in bytes.
pub const KEY_LEN: usize = 32;

/// Longest key id accepted.
pub const MAX_KEY_ID_LEN: usize = 16;

/// A validated key id: 1 to 16 characters from `[A-Za-z0-9_-]`.
///
/// It is written into every ciphertext, so it is short and never secret.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(String);

impl KeyId {
    /// Checks `id` is 1–16 characters from `[A-Za-z0-9_-]`.
    pub fn parse(id: &str) -> Result<KeyId, CryptoError> {
        if is_valid_key_id(id.as_bytes()) {
            Ok(KeyId(id.to_owned()))
        } else {
            Err(CryptoError::InvalidKey(format!(
                "key id must be 1 to {MAX_KEY_ID_LEN} characters from [A-Za-z0-9_-]"
            )))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub(crate) fn is_valid_key_id(id: &[u8]) -> bool {
    (1..=MAX_KEY_ID_LEN).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl AsRef<str> for KeyId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// One key: its id and ring's expanded AES-256-GCM key. The raw key bytes are zeroed as soon as
/// ring has expanded them; they are never kept.
pub(crate) struct Key {
    pub(crate) id: KeyId,
    pub(crate) aead: LessSafeKey,
}

impl Key {
    fn from_bytes(id: KeyId, bytes: &[u8]) -> Result<Key, CryptoError> {
        if bytes.len() != KEY_LEN {
            return Err(CryptoError::InvalidKey(format!(
                "key `{id}` decodes to {} bytes; AES-256 keys are exactly {KEY_LEN} bytes",
                bytes.len()
            )));
        }
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| {
            CryptoError::InvalidKey(format!(
                "key `{id}` was refused by the AES-256-GCM implementation"
            ))
        })?;
        Ok(Key {
            id,
            aead: LessSafeKey::new(unbound),
        })
    }
}

/// A set of AES-256-GCM keys: the primary seals, every key opens what was sealed under its id.
///
/// Cloning is cheap (keys are shared). `Debug` lists the key ids and prints the key material as
/// `[redacted]`.
///
/// Spec format (for [`Keyring::parse`], `NAVI_ENCRYPTION_KEYS` and key files):
/// `id:base64key` entries separated by commas and/or newlines; the first entry is the primary.
/// `base64key` is standard base64 (with padding) of exactly 32 bytes. Blank entries, surrounding
/// whitespace and `#` comments (to the end of the line) are ignored.
#[derive(Clone)]
pub struct Keyring {
    /// Non-empty, ids distinct, `keys[0]` is the primary.
    keys: Vec<Arc<Key>>,
    random: SystemRandom,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("primary", &self.primary_key_id())
            .field("key_ids", &self.key_ids().collect::<Vec<_>>())
            .field("key_material", &format_args!("[redacted]"))
            .finish()
    }
}

/// Whether [`Keyring::load_or_generate`] found a key file or had to create one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFileOrigin {
    /// The key file existed and was loaded.
    Loaded,
    /// There was no key file: a new key was generated and written (mode 0600 on unix). Losing
    /// this file makes every value sealed under it unreadable; the caller should warn loudly.
    Generated,
}

impl Keyring {
    /// Parses a keyring spec: `id:base64key` entries separated by commas and/or newlines, the
    /// first being the primary. See the type docs for the full format.
    ///
    /// Errors name the entry by position and key id, never the key material.
    pub fn parse(spec: &str) -> Result<Keyring, CryptoError> {
        let keys = parse_entries(spec)?
            .into_iter()
            .map(|(id, bytes)| Key::from_bytes(id, &bytes).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Keyring {
            keys,
            random: SystemRandom::new(),
        })
    }

    /// Reads a key file (the [`Keyring::parse`] format: one entry per line or comma-separated,
    /// `#` comments allowed).
    pub fn from_file(path: &Path) -> Result<Keyring, CryptoError> {
        let text = Zeroizing::new(fs::read_to_string(path).map_err(|error| {
            CryptoError::io(format!("reading key file {}", path.display()), error)
        })?);
        Keyring::parse(&text).map_err(|error| match error {
            CryptoError::InvalidKey(message) => {
                CryptoError::InvalidKey(format!("key file {}: {message}", path.display()))
            }
            other => other,
        })
    }

    /// Makes a keyring of one new random key, without writing it anywhere (tests, tools).
    pub fn generate() -> Result<Keyring, CryptoError> {
        let line = generate_key_line()?;
        Keyring::parse(&line)
    }

    /// Creates a key file at `path` holding one new random key, with mode 0600 on unix, and
    /// returns its keyring. Refuses (with an [`CryptoError::Io`] of kind `AlreadyExists`) to
    /// replace an existing file. The file appears atomically: a concurrent reader sees either no
    /// file or the complete one.
    pub fn generate_into_file(path: &Path) -> Result<Keyring, CryptoError> {
        let line = generate_key_line()?;
        let mut contents = Zeroizing::new(String::from(
            "# Navi encryption keys: id:base64key, one per line, the first is the primary.\n\
             # Losing this file makes every value sealed under these keys unreadable: back it up.\n",
        ));
        contents.push_str(&line);
        contents.push('\n');
        let keyring = Keyring::parse(&contents)?;
        write_new_file_atomically(path, contents.as_bytes())?;
        Ok(keyring)
    }

    /// Loads the key file at `path`, or, when there is none, creates it with one new key (see
    /// [`Keyring::generate_into_file`]; missing parent directories are created). The origin tells
    /// the caller whether to warn that a new key was made. If another process creates the file
    /// at the same moment, its key is loaded and used.
    pub fn load_or_generate(path: &Path) -> Result<(Keyring, KeyFileOrigin), CryptoError> {
        match fs::metadata(path) {
            Ok(_) => return Ok((Keyring::from_file(path)?, KeyFileOrigin::Loaded)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(CryptoError::io(
                    format!("checking key file {}", path.display()),
                    error,
                ))
            }
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(|error| {
                CryptoError::io(format!("creating directory {}", parent.display()), error)
            })?;
        }
        match Keyring::generate_into_file(path) {
            Ok(keyring) => Ok((keyring, KeyFileOrigin::Generated)),
            Err(CryptoError::Io { source, .. })
                if source.kind() == io::ErrorKind::AlreadyExists =>
            {
                Ok((Keyring::from_file(path)?, KeyFileOrigin::Loaded))
            }
            Err(error) => Err(error),
        }
    }

    /// The id of the key that seals.
    pub fn primary_key_id(&self) -> &KeyId {
        &self.primary().id
    }

    /// Every key id, primary first.
    pub fn key_ids(&self) -> impl ExactSizeIterator<Item = &KeyId> + '_ {
        self.keys.iter().map(|key| &key.id)
    }

    /// Whether the keyring holds a key with this id.
    pub fn contains(&self, id: &str) -> bool {
        self.find(id.as_bytes()).is_some()
    }

    /// A keyring whose keys are `new`'s (its primary becomes the primary) followed by this one's,
    /// for rotation: values sealed under the old keys still open, new seals use the new primary.
    /// Refuses ids present in both.
    pub fn with_new_primary(&self, new: &Keyring) -> Result<Keyring, CryptoError> {
        if let Some(clash) = new.key_ids().find(|id| self.contains(id.as_str())) {
            return Err(CryptoError::InvalidKey(format!(
                "key id `{clash}` is already in the keyring"
            )));
        }
        Ok(Keyring {
            keys: new.keys.iter().chain(self.keys.iter()).cloned().collect(),
            random: SystemRandom::new(),
        })
    }

    /// This keyring without the key `id`. Refuses to remove the primary or an id it does not
    /// hold. Whether values are still sealed under `id` is for the caller to check first.
    pub fn without_key(&self, id: &str) -> Result<Keyring, CryptoError> {
        if self.primary_key_id().as_str() == id {
            return Err(CryptoError::InvalidKey(format!(
                "key `{id}` is the primary and cannot be removed; make another key primary first"
            )));
        }
        if !self.contains(id) {
            return Err(CryptoError::UnknownKeyId(id.to_owned()));
        }
        Ok(Keyring {
            keys: self
                .keys
                .iter()
                .filter(|key| key.id.as_str() != id)
                .cloned()
                .collect(),
            random: SystemRandom::new(),
        })
    }

    pub(crate) fn primary(&self) -> &Key {
        &self.keys[0]
    }

    pub(crate) fn find(&self, id: &[u8]) -> Option<&Key> {
        self.keys
            .iter()
            .find(|key| key.id.as_str().as_bytes() == id)
            .map(|key| &**key)
    }

    pub(crate) fn random(&self) -> &SystemRandom {
        &self.random
    }
}

/// A key id and its raw bytes (zeroed on drop).
pub(crate) type KeyEntry = (KeyId, Zeroizing<Vec<u8>>);

/// The entries of a key spec (`id:base64key`, separated by commas and/or newlines, `#` comments),
/// in order, ids distinct, at least one. Errors name the entry by position and key id, never the
/// key material. Shared by [`Keyring`] and [`crate::MacKeyring`].
pub(crate) fn parse_entries(spec: &str) -> Result<Vec<KeyEntry>, CryptoError> {
    let mut keys: Vec<KeyEntry> = Vec::new();
    let entries = spec
        .lines()
        .map(|line| line.split('#').next().unwrap_or(""))
        .flat_map(|line| line.split(','))
        .map(str::trim)
        .filter(|entry| !entry.is_empty());
    for (index, entry) in entries.enumerate() {
        let position = index + 1;
        let Some((id, material)) = entry.split_once(':') else {
            return Err(CryptoError::InvalidKey(format!(
                "entry {position} is not of the form id:base64key"
            )));
        };
        let id = KeyId::parse(id.trim()).map_err(|_| {
            CryptoError::InvalidKey(format!(
                "entry {position}: key id must be 1 to {MAX_KEY_ID_LEN} characters from \
                 [A-Za-z0-9_-]"
            ))
        })?;
        if keys.iter().any(|(known, _)| *known == id) {
            return Err(CryptoError::InvalidKey(format!(
                "key id `{id}` appears more than once"
            )));
        }
        let bytes = Zeroizing::new(STANDARD.decode(material.trim()).map_err(|_| {
            CryptoError::InvalidKey(format!(
                "entry {position} (key `{id}`): key is not valid standard base64"
            ))
        })?);
        keys.push((id, bytes));
    }
    if keys.is_empty() {
        return Err(CryptoError::InvalidKey(
            "no keys given; expected id:base64key[,id:base64key...]".to_owned(),
        ));
    }
    Ok(keys)
}

/// A new random key as a keyring entry, `id:base64key` (what `cargo xtask gen-key` prints). The
/// id is `k` followed by 8 random hex digits. The returned string is zeroed on drop.
pub fn generate_key_line() -> Result<Zeroizing<String>, CryptoError> {
    let random = SystemRandom::new();
    let mut id_bytes = [0u8; 4];
    random
        .fill(&mut id_bytes)
        .map_err(|_| CryptoError::Random)?;
    let id = format!("k{:08x}", u32::from_be_bytes(id_bytes));
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    random.fill(key.as_mut()).map_err(|_| CryptoError::Random)?;
    let mut line = Zeroizing::new(String::with_capacity(id.len() + 1 + 44));
    line.push_str(&id);
    line.push(':');
    STANDARD.encode_string(key.as_ref(), &mut line);
    Ok(line)
}

/// Writes a new file with mode 0600 (unix) via a temporary file and a hard link, so the final
/// path never exists half-written and an existing file is never replaced.
fn write_new_file_atomically(path: &Path, contents: &[u8]) -> Result<(), CryptoError> {
    let mut suffix = [0u8; 8];
    SystemRandom::new()
        .fill(&mut suffix)
        .map_err(|_| CryptoError::Random)?;
    let mut temporary_name = path.as_os_str().to_owned();
    temporary_name.push(format!(".tmp-{:016x}", u64::from_be_bytes(suffix)));
    let temporary = PathBuf::from(temporary_name);

    let result = (|| {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&temporary).map_err(|error| {
            CryptoError::io(format!("creating key file {}", temporary.display()), error)
        })?;
        file.write_all(contents)
            .and_then(|()| file.sync_all())
            .map_err(|error| {
                CryptoError::io(format!("writing key file {}", temporary.display()), error)
            })?;
        fs::hard_link(&temporary, path).map_err(|error| {
            CryptoError::io(format!("creating key file {}", path.display()), error)
        })
    })();
    // The temporary name is ours alone; failing to remove it leaves a stray copy of the key that
    // is still mode 0600, so it is reported only through the primary result.
    let _ = fs::remove_file(&temporary);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_id_accepts_only_the_documented_alphabet() {
        assert!(KeyId::parse("a").is_ok());
        assert!(KeyId::parse("Key_2026-11").is_ok());
        assert!(KeyId::parse("0123456789abcdef").is_ok());
        assert!(KeyId::parse("").is_err());
        assert!(KeyId::parse("0123456789abcdefg").is_err());
        assert!(KeyId::parse("a b").is_err());
        assert!(KeyId::parse("é").is_err());
        assert!(KeyId::parse("a:b").is_err());
    }

    #[test]
    fn generated_key_line_parses_as_a_one_key_keyring() {
        let line = generate_key_line().unwrap();
        let keyring = Keyring::parse(&line).unwrap();
        assert_eq!(keyring.key_ids().len(), 1);
        assert!(line.starts_with(keyring.primary_key_id().as_str()));
        assert_eq!(keyring.primary_key_id().as_str().len(), 9);
    }

    #[test]
    fn without_key_refuses_the_primary_and_unknown_ids() {
        let a = Keyring::parse(&generate_key_line().unwrap()).unwrap();
        let b = Keyring::parse(&generate_key_line().unwrap()).unwrap();
        let both = a.with_new_primary(&b).unwrap();
        assert_eq!(both.primary_key_id(), b.primary_key_id());
        assert!(both.without_key(b.primary_key_id().as_str()).is_err());
        assert!(matches!(
            both.without_key("nope"),
            Err(CryptoError::UnknownKeyId(id)) if id == "nope"
        ));
        let only_b = both.without_key(a.primary_key_id().as_str()).unwrap();
        assert_eq!(
            only_b.key_ids().collect::<Vec<_>>(),
            vec![b.primary_key_id()]
        );
    }
}
