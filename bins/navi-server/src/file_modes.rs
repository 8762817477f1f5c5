//! The modes of the files a SQLite deployment keeps: the data directory, the database with its
//! `-wal` and `-shm`, and the key files. What Navi creates it creates private (navi-tenancy makes
//! the directory 0700 and the database 0600, which SQLite passes on to `-wal` and `-shm`;
//! [`crate::secrets`] writes key files 0600). What the operator made with looser modes is left as
//! it is, and the log says so once at start.

use std::path::{Path, PathBuf};

use crate::config::{Config, KeySource};

/// One path whose mode lets users other than its owner in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LooseMode {
    /// The directory or file.
    pub path: PathBuf,
    /// Its permission bits.
    pub mode: u32,
    /// The mode Navi gives it when Navi creates it.
    pub private_mode: u32,
}

/// The paths of a SQLite deployment that exist with group or other permission bits set (none on
/// PostgreSQL, or on platforms without Unix modes).
pub fn loose_modes(config: &Config) -> Vec<LooseMode> {
    let Some(database) = config.database_url.sqlite_path() else {
        return Vec::new();
    };
    let dir = database
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut paths = vec![(dir.to_path_buf(), 0o700)];
    for suffix in ["", "-wal", "-shm"] {
        let mut file = database.as_os_str().to_owned();
        file.push(suffix);
        paths.push((PathBuf::from(file), 0o600));
    }
    for name in [crate::secrets::PEPPER_FILE, crate::secrets::KEYS_FILE] {
        paths.push((dir.join(name), 0o600));
    }
    if let Some(KeySource::File(file)) = &config.encryption_keys {
        paths.push((file.clone(), 0o600));
    }
    paths
        .into_iter()
        .filter_map(|(path, private_mode)| {
            let mode = permission_bits(&path)?;
            (mode & 0o077 != 0).then_some(LooseMode {
                path,
                mode,
                private_mode,
            })
        })
        .collect()
}

#[cfg(unix)]
fn permission_bits(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    Some(std::fs::metadata(path).ok()?.permissions().mode() & 0o777)
}

#[cfg(not(unix))]
fn permission_bits(_: &Path) -> Option<u32> {
    None
}

/// Logs one warning per path of [`loose_modes`]; changes nothing.
pub fn warn_about_loose_modes(config: &Config) {
    for loose in loose_modes(config) {
        tracing::warn!(
            path = %loose.path.display(),
            mode = format!("{:04o}", loose.mode),
            "{} has mode {:04o}: users other than its owner may read the database or its keys. \
             Navi left it as it was; what Navi creates it creates {:04o} (chmod {:o} {})",
            loose.path.display(),
            loose.mode,
            loose.private_mode,
            loose.private_mode,
            loose.path.display()
        );
    }
}
