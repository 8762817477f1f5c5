//! `navi-server`: serves the Navi HTTP API (see docs/api.md).

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use navi_server::config::Config;
use navi_server::{bootstrap, startup};

/// Navi's HTTP server. Configuration comes from NAVI_* environment variables (see README.md).
#[derive(Debug, Parser)]
#[command(name = "navi-server", version, about)]
struct Cli {
    /// Apply pending database migrations before serving (needed on PostgreSQL; SQLite always
    /// applies them).
    #[arg(long, global = true)]
    migrate: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a user (if new), an org owned by them and an API key; print
    /// {"org_id","user_id","api_key"} on stdout.
    Bootstrap {
        /// The org's name (1-80 characters).
        #[arg(long)]
        org_name: String,
        /// The owner's email.
        #[arg(long)]
        email: String,
        /// Make a user key that works in every org of the user, instead of one pinned to the
        /// new org.
        #[arg(long)]
        unpinned: bool,
    },
    /// Approve, revoke or list the email domains an org's SSO connections are trusted for (a
    /// domain belongs to at most one org). Audited in the org.
    Domains {
        #[command(subcommand)]
        action: DomainsAction,
    },
}

#[derive(Debug, Subcommand)]
enum DomainsAction {
    /// Trust the org's connections for emails of DOMAIN.
    Approve {
        /// The org's slug.
        #[arg(long)]
        org: String,
        /// The domain, such as corp.example.
        domain: String,
    },
    /// Stop trusting the org's connections for emails of DOMAIN.
    Revoke {
        /// The org's slug.
        #[arg(long)]
        org: String,
        /// The domain.
        domain: String,
    },
    /// Print the org's approved domains, one per line.
    List {
        /// The org's slug.
        #[arg(long)]
        org: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(problems) => {
            for problem in &problems.0 {
                eprintln!("navi-server: configuration: {problem}");
            }
            return ExitCode::from(2);
        }
    };
    startup::init_tracing(&config);
    let result = match cli.command {
        None => actix_web::rt::System::new().block_on(startup::serve(config, cli.migrate)),
        Some(Command::Bootstrap {
            org_name,
            email,
            unpinned,
        }) => bootstrap::bootstrap(&config, cli.migrate, &org_name, &email, unpinned).and_then(
            |bootstrapped| {
                println!("{}", serde_json::to_string(&bootstrapped)?);
                Ok(())
            },
        ),
        Some(Command::Domains { action }) => {
            let action = match &action {
                DomainsAction::Approve { org, domain } => {
                    bootstrap::Domains::Approve { org, domain }
                }
                DomainsAction::Revoke { org, domain } => bootstrap::Domains::Revoke { org, domain },
                DomainsAction::List { org } => bootstrap::Domains::List { org },
            };
            bootstrap::domains(&config, cli.migrate, action).map(|lines| {
                for line in lines {
                    println!("{line}");
                }
            })
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("navi-server: {error:#}");
            ExitCode::FAILURE
        }
    }
}
