//! `strata`: the command-line front end. The only part of Strata that prints, reads the terminal
//! and decides exit codes; everything else is in the library crates.

/// `println!` that ends quietly when stdout is closed (`strata providers | head`) instead of
/// panicking on the broken pipe.
macro_rules! outln {
    () => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout());
    }};
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `print!` with the same behaviour as [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

mod args;
mod commands;
mod emulate;
mod migrate;
mod progress;
mod report;
mod session;

use clap::Parser;
use std::process::ExitCode;

/// Exit codes of PRODUCT.md §3.
pub mod exit {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
    /// Changes present (`plan --detailed-exitcode`).
    pub const CHANGES: u8 = 2;
    pub const INTERRUPTED: u8 = 130;
}

fn main() -> ExitCode {
    // Terraform spells init's flag with one dash; accept that habit.
    let cli = args::Cli::parse_from(std::env::args_os().map(|a| {
        if a == "-migrate-state" {
            "--migrate-state".into()
        } else {
            a
        }
    }));
    init_tracing(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::ERROR);
        }
    };
    let code = runtime.block_on(commands::run(cli));
    // In-flight provider calls were awaited by the engine; anything left is a timer.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    ExitCode::from(code)
}

fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        // kube-rs logs every failed request at error level; the providers retry those and
        // report what finally failed, so its own lines are only shown with -v.
        0 => "warn,kube_client=off",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}
