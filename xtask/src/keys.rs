//! `cargo xtask key-usage`, `rotate-keys` and `remove-key`: the operator's side of encryption key
//! rotation (docs/runbooks/key-rotation.md). They walk every column of
//! `navi_tenancy::encrypted_columns::ENCRYPTED_COLUMNS` with the privileged capability.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use navi_crypto::Keyring;
use navi_tenancy::encrypted_columns::{
    key_usage, rotate_column, ColumnKeyUsage, EncryptedColumn, ENCRYPTED_COLUMNS,
};
use navi_tenancy::{
    ConnectionOptions, DatabaseUrl, DbConnection, Privileged, DEFAULT_DATABASE_URL,
};

/// Where the database and the keys are: the server's own settings.
#[derive(Debug, clap::Args)]
pub struct KeyArgs {
    /// The database (postgres://…, sqlite://PATH or a .db path).
    #[arg(long, env = "NAVI_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true)]
    database_url: String,
    /// The keyring, `id:base64key,...`, primary first.
    #[arg(
        long,
        env = "NAVI_ENCRYPTION_KEYS",
        hide_env_values = true,
        conflicts_with = "encryption_key_file"
    )]
    encryption_keys: Option<String>,
    /// A key file in the same format. Without either, SQLite uses the `encryption_keys` file
    /// next to the database (the one the server generated).
    #[arg(long, env = "NAVI_ENCRYPTION_KEY_FILE")]
    encryption_key_file: Option<PathBuf>,
    /// Rows read and written per batch (one transaction each).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(i64).range(1..=10_000))]
    batch_size: i64,
}

/// Where the keyring comes from.
enum KeySource {
    Inline(String),
    File(PathBuf),
}

impl KeyArgs {
    fn url(&self) -> anyhow::Result<DatabaseUrl> {
        Ok(DatabaseUrl::parse(&self.database_url)?)
    }

    fn connect(&self) -> anyhow::Result<DbConnection> {
        let url = self.url()?;
        url.connect(&ConnectionOptions::default())
            .with_context(|| format!("cannot connect to {url}"))
    }

    fn key_source(&self) -> anyhow::Result<KeySource> {
        if let Some(keys) = &self.encryption_keys {
            return Ok(KeySource::Inline(keys.clone()));
        }
        if let Some(path) = &self.encryption_key_file {
            return Ok(KeySource::File(path.clone()));
        }
        match self.url()?.data_file("encryption_keys") {
            Some(path) => Ok(KeySource::File(path)),
            None => {
                bail!("set NAVI_ENCRYPTION_KEYS or NAVI_ENCRYPTION_KEY_FILE (as for the server)")
            }
        }
    }

    fn keyring(&self) -> anyhow::Result<Keyring> {
        match self.key_source()? {
            KeySource::Inline(keys) => Ok(Keyring::parse(&keys)?),
            KeySource::File(path) => Keyring::from_file(&path)
                .with_context(|| format!("cannot load encryption keys from {}", path.display())),
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct RotateArgs {
    #[command(flatten)]
    keys: KeyArgs,
    /// Also seal values that are not ciphertext (plaintext imported from older systems), as
    /// they are, under the primary key.
    #[arg(long)]
    seal_plaintext: bool,
}

#[derive(Debug, clap::Args)]
pub struct RemoveKeyArgs {
    #[command(flatten)]
    keys: KeyArgs,
    /// The id of the key to remove.
    key_id: String,
}

fn name(column: &EncryptedColumn) -> String {
    format!("{}.{}", column.table, column.column)
}

fn usage_of_every_column(
    privileged: &Privileged,
    conn: &mut DbConnection,
    batch_size: i64,
) -> anyhow::Result<Vec<(&'static EncryptedColumn, ColumnKeyUsage)>> {
    ENCRYPTED_COLUMNS
        .iter()
        .map(|column| {
            key_usage(privileged, conn, column, batch_size)
                .map(|usage| (column, usage))
                .with_context(|| format!("cannot count the keys of {}", name(column)))
        })
        .collect()
}

fn print_usage(usage: &[(&EncryptedColumn, ColumnKeyUsage)], keyring: Option<&Keyring>) {
    for (column, counts) in usage {
        println!("{}: {} row(s) with a value", name(column), counts.total());
        for (key_id, rows) in &counts.rows_per_key {
            let note = match keyring {
                Some(keyring) if keyring.primary_key_id().as_str() == key_id => "  (primary)",
                Some(keyring) if !keyring.contains(key_id) => "  (NOT IN THE KEYRING: unreadable)",
                _ => "",
            };
            println!("  {key_id:<16} {rows:>10}{note}");
        }
        if !counts.not_ciphertext.is_empty() {
            println!(
                "  not ciphertext   {:>10}  rows: {}",
                counts.not_ciphertext.len(),
                counts.not_ciphertext.join(", ")
            );
        }
    }
}

/// `cargo xtask key-usage`: rows per key id per column, and the rows that are not ciphertext.
/// Exit 1 when some rows are not ciphertext or use a key missing from the keyring.
pub fn usage(args: KeyArgs) -> anyhow::Result<ExitCode> {
    let privileged = Privileged::acquire("cargo xtask key-usage");
    let mut conn = args.connect()?;
    let keyring = args.keyring().ok();
    let usage = usage_of_every_column(&privileged, &mut conn, args.batch_size)?;
    print_usage(&usage, keyring.as_ref());
    let unhealthy = usage.iter().any(|(_, counts)| {
        !counts.not_ciphertext.is_empty()
            || keyring
                .as_ref()
                .is_some_and(|keyring| counts.rows_per_key.keys().any(|id| !keyring.contains(id)))
    });
    Ok(if unhealthy {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `cargo xtask rotate-keys`: re-seals every encrypted value under the primary key.
pub fn rotate(args: RotateArgs) -> anyhow::Result<ExitCode> {
    let privileged = Privileged::acquire("cargo xtask rotate-keys");
    let keyring = args.keys.keyring()?;
    let mut conn = args.keys.connect()?;
    let batch_size = args.keys.batch_size;
    println!("primary key: {}", keyring.primary_key_id());
    println!("before:");
    let before = usage_of_every_column(&privileged, &mut conn, batch_size)?;
    print_usage(&before, Some(&keyring));

    let mut problems = false;
    let started = std::time::Instant::now();
    for (column, counts) in &before {
        let bar = ProgressBar::new(counts.total());
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:40}] {pos}/{len} rows ({per_sec}, eta {eta})",
            )
            .context("progress bar template")?
            .progress_chars("=> "),
        );
        bar.set_message(name(column));
        let total = rotate_column(
            &privileged,
            &mut conn,
            &keyring,
            column,
            batch_size,
            args.seal_plaintext,
            |running| bar.set_position(running.read.min(counts.total())),
        )
        .with_context(|| format!("rotation of {} stopped; rerun to resume", name(column)))?;
        bar.finish_and_clear();
        println!(
            "{}: {} re-sealed, {} plaintext sealed, {} already on the primary, {} changed by the \
             server meanwhile (revisited)",
            name(column),
            total.resealed,
            total.sealed_plaintext,
            total.already_primary,
            total.changed_meanwhile
        );
        for (row_id, reason) in &total.unopenable {
            problems = true;
            println!("  {row_id}: cannot re-seal: {reason}");
        }
        if !total.not_ciphertext.is_empty() {
            problems = true;
            println!(
                "  {} row(s) are not ciphertext (rerun with --seal-plaintext to seal them): {}",
                total.not_ciphertext.len(),
                total.not_ciphertext.join(", ")
            );
        }
    }
    println!("after ({:.1}s):", started.elapsed().as_secs_f64());
    let after = usage_of_every_column(&privileged, &mut conn, batch_size)?;
    print_usage(&after, Some(&keyring));
    Ok(if problems {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `cargo xtask remove-key ID`: refuses while any row is sealed under the key (printing the
/// count); otherwise removes it from the key file, or says to remove it from
/// NAVI_ENCRYPTION_KEYS.
pub fn remove(args: RemoveKeyArgs) -> anyhow::Result<ExitCode> {
    let privileged = Privileged::acquire("cargo xtask remove-key");
    let keyring = args.keys.keyring()?;
    let remaining = keyring.without_key(&args.key_id)?;
    let mut conn = args.keys.connect()?;
    let usage = usage_of_every_column(&privileged, &mut conn, args.keys.batch_size)?;
    let per_column: BTreeMap<String, u64> = usage
        .iter()
        .filter_map(|(column, counts)| {
            counts
                .rows_per_key
                .get(&args.key_id)
                .map(|rows| (name(column), *rows))
        })
        .collect();
    let rows: u64 = per_column.values().sum();
    if rows > 0 {
        let detail: Vec<String> = per_column
            .iter()
            .map(|(column, rows)| format!("{column}: {rows}"))
            .collect();
        eprintln!(
            "refusing to remove key `{}`: {rows} row(s) are still sealed under it ({}). Run \
             `cargo xtask rotate-keys` first.",
            args.key_id,
            detail.join(", ")
        );
        return Ok(ExitCode::from(1));
    }
    match args.keys.key_source()? {
        KeySource::Inline(_) => println!(
            "no row is sealed under `{}`: remove its entry from NAVI_ENCRYPTION_KEYS (and \
             restart the servers); {} key(s) remain, primary `{}`",
            args.key_id,
            remaining.key_ids().len(),
            remaining.primary_key_id()
        ),
        KeySource::File(path) => {
            remove_from_key_file(&path, &args.key_id)?;
            println!(
                "removed `{}` from {}; restart the servers to drop it from memory",
                args.key_id,
                path.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Rewrites a key file without the entry of `key_id`, keeping everything else (comments, order),
/// through a temporary file renamed over the original so a crash leaves one or the other.
fn remove_from_key_file(path: &Path, key_id: &str) -> anyhow::Result<()> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?,
    );
    let kept = zeroize::Zeroizing::new(
        text.lines()
            .map(|line| {
                line.split(',')
                    .filter(|entry| {
                        entry
                            .split('#')
                            .next()
                            .unwrap_or("")
                            .trim()
                            .split_once(':')
                            .map(|(id, _)| id.trim())
                            != Some(key_id)
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n",
    );
    Keyring::parse(&kept).context("the key file would have no valid keys left")?;
    let temporary = path.with_extension("removing");
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(&temporary)
            .with_context(|| format!("cannot create {}", temporary.display()))?;
        file.write_all(kept.as_bytes())?;
        file.sync_all()?;
    }
    std::fs::rename(&temporary, path)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}
