//! The `owncast-sentry` binary: command-line parsing and the error edge.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::dispatch(args) {
        Ok(code) => code,
        Err(error) => {
            // One line, with the chain of causes.
            eprintln!("owncast-sentry: {error:#}");
            ExitCode::FAILURE
        }
    }
}
