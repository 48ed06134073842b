//! The `relaydesk` binary: parse the command line, set up logging, hand off to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "relaydesk=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = relaydesk::cli::Cli::parse();
    match relaydesk::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("relaydesk: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
