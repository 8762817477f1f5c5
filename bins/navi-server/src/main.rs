//! `navi-server`: serves the Navi HTTP API (see docs/api.md).

use std::process::ExitCode;

use clap::Parser;
use navi_server::config::Config;
use navi_server::startup;

/// Navi's HTTP server. Configuration comes from NAVI_* environment variables (see README.md).
#[derive(Debug, Parser)]
#[command(name = "navi-server", version, about)]
struct Cli {
    /// Apply pending database migrations before serving (needed on PostgreSQL; SQLite always
    /// applies them).
    #[arg(long)]
    migrate: bool,
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
    match actix_web::rt::System::new().block_on(startup::serve(config, cli.migrate)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("navi-server: {error:#}");
            ExitCode::FAILURE
        }
    }
}
