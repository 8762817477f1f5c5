//! `cargo xtask migrate` and `cargo xtask new-migration`.

use std::fs;
use std::process::ExitCode;

use anyhow::{bail, Context};
use navi_tenancy::{migrations, ConnectionOptions, DatabaseUrl, DEFAULT_DATABASE_URL};

#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// The database (postgres://…, sqlite://PATH or a .db path).
    #[arg(long, env = "NAVI_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true)]
    database_url: String,
    /// Apply nothing: list pending migrations and exit 1 if there are any, 0 if none (2 when the
    /// check itself fails).
    #[arg(long, conflicts_with = "revert")]
    check: bool,
    /// Revert the most recently applied migration.
    #[arg(long)]
    revert: bool,
}

pub fn run(args: MigrateArgs) -> anyhow::Result<ExitCode> {
    let url = DatabaseUrl::parse(&args.database_url)?;
    let mut conn = url
        .connect(&ConnectionOptions::default())
        .with_context(|| format!("cannot connect to {url}"))?;

    if args.check {
        let pending = migrations::pending(&mut conn)?;
        if pending.is_empty() {
            println!("{url}: up to date");
            return Ok(ExitCode::SUCCESS);
        }
        println!("{url}: {} pending migration(s):", pending.len());
        for name in pending {
            println!("  {name}");
        }
        return Ok(ExitCode::from(1));
    }

    if args.revert {
        match migrations::revert_last(&mut conn)? {
            Some(name) => println!("reverted {name}"),
            None => println!("{url}: no migration is applied"),
        }
        return Ok(ExitCode::SUCCESS);
    }

    let applied = migrations::run_pending(&mut conn, |name| println!("applied {name}"))?;
    if applied.is_empty() {
        println!("{url}: up to date, nothing to apply");
    } else {
        println!("{url}: applied {} migration(s)", applied.len());
    }
    Ok(ExitCode::SUCCESS)
}

pub fn new_migration(name: &str) -> anyhow::Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 80
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        bail!(
            "a migration name is 1-80 lowercase letters, digits and underscores, e.g. add_api_keys"
        );
    }
    let version = chrono::Utc::now().format("%Y%m%d%H%M%S");
    let directory = format!("{version}_{name}");
    let root = crate::workspace_root().join("migrations");
    for (tree, dialect) in [("postgres", "PostgreSQL"), ("sqlite", "SQLite")] {
        let path = root.join(tree).join(&directory);
        fs::create_dir_all(&path).with_context(|| format!("cannot create {}", path.display()))?;
        fs::write(
            path.join("up.sql"),
            format!(
                "-- {name} ({dialect}). Its twin in migrations/{twin}/{directory} must leave the same \
                 tables and columns.\n",
                twin = if tree == "postgres" { "sqlite" } else { "postgres" }
            ),
        )?;
        fs::write(
            path.join("down.sql"),
            format!("-- Undo {name} ({dialect}): exactly the reverse of up.sql.\n"),
        )?;
        println!("created {}", path.display());
    }
    Ok(())
}
