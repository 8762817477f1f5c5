//! `cargo xtask`: Navi's developer and operator tasks.
//!
//! - `cargo xtask migrate [--database-url URL] [--check] [--revert]`
//! - `cargo xtask new-migration NAME`
//! - `cargo xtask test [-- ARGS FOR cargo test]`
//! - `cargo xtask bench <auth|cache|crypto|rotate|analytics|export>`
//! - `cargo xtask gen-key`
//! - `cargo xtask key-usage`, `cargo xtask rotate-keys [--seal-plaintext]`, `cargo xtask remove-key ID`

mod bench;
mod keys;
mod migrate;
mod services;
mod test;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "Navi's developer and operator tasks")]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Apply pending migrations (URL from --database-url, else NAVI_DATABASE_URL, else the
    /// embedded default), printing each one.
    Migrate(migrate::MigrateArgs),
    /// Create the matching pair of migration directories in both trees.
    NewMigration {
        /// Lowercase letters, digits and underscores, e.g. `add_api_keys`.
        name: String,
    },
    /// Run every test of the workspace against PostgreSQL, SQLite and Redis, starting throwaway
    /// servers for the services that are not reachable.
    Test {
        /// Extra arguments passed to `cargo test`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        cargo_args: Vec<String>,
    },
    /// Print a new encryption key as `id:base64`, for NAVI_ENCRYPTION_KEYS (put the new key first
    /// to make it the primary).
    GenKey,
    /// Count the rows of every encrypted column per key id, and list the rows that are not
    /// ciphertext. Exit 1 when there are any, or rows under a key missing from the keyring.
    KeyUsage(keys::KeyArgs),
    /// Re-seal every encrypted value under the primary key, in batches, while the servers keep
    /// serving. Safe to stop and rerun.
    RotateKeys(keys::RotateArgs),
    /// Remove a key from the key file, refusing (with the count) while rows are sealed under it.
    RemoveKey(keys::RemoveKeyArgs),
    /// Run a benchmark against the test services; it prints its ratio against a baseline.
    Bench {
        /// Which benchmark.
        #[arg(value_enum)]
        suite: bench::Suite,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Task::Migrate(args) => migrate::run(args),
        Task::NewMigration { name } => migrate::new_migration(&name).map(|()| ExitCode::SUCCESS),
        Task::Test { cargo_args } => test::run(&cargo_args),
        Task::Bench { suite } => bench::run(suite),
        Task::KeyUsage(args) => keys::usage(args),
        Task::RotateKeys(args) => keys::rotate(args),
        Task::RemoveKey(args) => keys::remove(args),
        Task::GenKey => navi_crypto::generate_key_line()
            .map(|line| {
                println!("{}", line.as_str());
                ExitCode::SUCCESS
            })
            .map_err(anyhow::Error::from),
    };
    result.unwrap_or_else(|error| {
        eprintln!("xtask: error: {error:#}");
        ExitCode::from(2)
    })
}

/// The workspace root (xtask lives one level below it).
fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}
