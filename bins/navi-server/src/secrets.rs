//! Server secrets for the embedded default: on SQLite, a secret that is not configured is
//! generated once into a file next to the database (mode 0600) with a loud warning. On PostgreSQL
//! configuration validation has already required it.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use navi_tenancy::api_keys::Pepper;

use crate::config::{Config, KeySource};

/// The file next to the SQLite database that holds a generated API key pepper.
pub(crate) const PEPPER_FILE: &str = "api_key_pepper";
/// The file next to the SQLite database that holds generated encryption keys.
pub(crate) const KEYS_FILE: &str = "encryption_keys";

/// The API key pepper: configured, else read from (or generated into) the data directory.
pub fn api_key_pepper(config: &Config) -> anyhow::Result<Pepper> {
    Ok(Pepper::from_base64(&api_key_pepper_base64(config)?)?)
}

fn api_key_pepper_base64(config: &Config) -> anyhow::Result<String> {
    match &config.api_key_pepper {
        Some(encoded) => Ok(encoded.clone()),
        None => {
            let path = data_file(config, PEPPER_FILE)?;
            load_or_generate(&path, "NAVI_API_KEY_PEPPER", Pepper::generate_base64)
        }
    }
}

/// The keys of the audit log: `keyring` seals payloads; links are signed by the first key of
/// `NAVI_AUDIT_CHAIN_KEYS`, else by a key derived from the API key pepper, which stays in the ring
/// so events it signed still verify after chain keys are configured. Its id is `pepper-` and a
/// fingerprint of the key, so after a change of pepper old events report an unknown chain key
/// rather than looking tampered with.
pub fn audit_keys(
    config: &Config,
    keyring: navi_crypto::Keyring,
) -> anyhow::Result<navi_tenancy::audit::AuditKeys> {
    use base64::Engine as _;
    let pepper = zeroize::Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(api_key_pepper_base64(config)?.trim())
            .context("NAVI_API_KEY_PEPPER is not base64")?,
    );
    const PURPOSE: &str = "navi audit chain v1";
    let probe = navi_crypto::MacKeyring::derive("probe", &pepper, PURPOSE)?;
    let fingerprint = probe
        .sign("probe", b"navi audit chain key id")
        .context("the probe key is in its ring")?;
    let id = format!(
        "{}{}",
        crate::config::PEPPER_CHAIN_KEY_PREFIX,
        fingerprint[..4]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect::<String>()
    );
    let derived = navi_crypto::MacKeyring::derive(&id, &pepper, PURPOSE)?;
    let chain = match &config.audit_chain_keys {
        Some(keys) => navi_crypto::MacKeyring::parse(keys)?.followed_by(&derived),
        None => derived,
    };
    Ok(navi_tenancy::audit::AuditKeys::new(keyring, chain))
}

/// The encryption keyring: configured inline or as a file, else (SQLite) read from or generated
/// into `encryption_keys` next to the database, with a warning when generated.
pub fn encryption_keys(config: &Config) -> anyhow::Result<navi_crypto::Keyring> {
    match &config.encryption_keys {
        Some(KeySource::Inline(keys)) => Ok(navi_crypto::Keyring::parse(keys)?),
        Some(KeySource::File(path)) => navi_crypto::Keyring::from_file(path)
            .with_context(|| format!("cannot load encryption keys from {}", path.display())),
        None => {
            let path = data_file(config, KEYS_FILE)?;
            let (keyring, origin) = navi_crypto::Keyring::load_or_generate(&path)
                .with_context(|| format!("cannot load or create {}", path.display()))?;
            if origin == navi_crypto::KeyFileOrigin::Generated {
                tracing::warn!(
                    path = %path.display(),
                    "NAVI_ENCRYPTION_KEYS is not set: generated an encryption key into {}. Back \
                     this file up with the database: without it encrypted values cannot be read",
                    path.display()
                );
            }
            Ok(keyring)
        }
    }
}

fn data_file(config: &Config, name: &str) -> anyhow::Result<PathBuf> {
    config
        .database_url
        .data_file(name)
        .context("generated secrets exist only for SQLite; configure them for PostgreSQL")
}

/// Reads the secret at `path`, or creates the file with a new one (mode 0600, never replacing a
/// file another process created first).
fn load_or_generate(
    path: &Path,
    variable: &str,
    generate: impl FnOnce() -> String,
) -> anyhow::Result<String> {
    let created = navi_tenancy::create_private_file(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    match created {
        Some(mut file) => {
            let secret = generate();
            file.write_all(format!("{secret}\n").as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("cannot write {}", path.display()))?;
            tracing::warn!(
                path = %path.display(),
                "{variable} is not set: generated one into {}. Back this file up with the \
                 database; set {variable} in production",
                path.display()
            );
            Ok(secret)
        }
        None => {
            let secret = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Ok(secret.trim().to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_secret_is_private_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/secret");
        let first = load_or_generate(&path, "X", || "one".into()).unwrap();
        let second = load_or_generate(&path, "X", || "two".into()).unwrap();
        assert_eq!((first.as_str(), second.as_str()), ("one", "one"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let mode = std::fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700, "a directory it creates is private too");
        }
    }
}
