use std::process::ExitCode;

use clap::Parser;
use possync::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    possync::logging::init(&cli.log, cli.log_format);
    match possync::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("possync: {err}");
            ExitCode::FAILURE
        }
    }
}
