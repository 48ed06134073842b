//! The `relaydesk` binary: parse the command line, set up logging, hand off to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "relaydesk=info".into()),
        )
        .with_writer(std::io::stderr)
        // Colours only for a terminal: journald and log files get plain, greppable lines.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = relaydesk::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("relaydesk: cannot start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(relaydesk::cli::run(cli));
    // Work that did not stop with its part (a task that never yields) must not keep the
    // process alive past its grace period.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("relaydesk: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
