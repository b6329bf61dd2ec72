//! The `reflow` binary: parse arguments, build library configs, call the libraries, print,
//! choose the exit code. Anything a test would want to call belongs in a library crate.

mod args;
mod build;
mod call;
mod cluster;
mod convert;
mod replay;
mod run;
mod state;
mod serve;
mod trace;
mod watch;

use clap::Parser;
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    // The server keeps running whatever happens to one reader; the other commands print.
    if !matches!(cli.command, args::Command::Serve(_)) {
        restore_default_sigpipe();
    }
    init_tracing();
    let result = match cli.command {
        args::Command::Inspect(a) => call::inspect(&a),
        args::Command::Call(a) => call::call(&a),
        args::Command::Run(a) => run::run(&a),
        args::Command::Validate(a) => run::validate(&a),
        args::Command::State(a) => state::state(&a),
        args::Command::New(a) => build::new(&a),
        args::Command::Build(a) => build::build(&a),
        args::Command::Convert(a) => convert::convert(&a),
        args::Command::Serve(a) => serve::serve(&a),
        args::Command::Trace(a) => trace::trace(&a),
        args::Command::Replay(a) => replay::replay(&a),
        args::Command::Worker(a) => cluster::worker(&a),
        args::Command::Cluster(a) => cluster::cluster(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line per problem (a broken graph reports all of them), each with the whole
            // cause chain, outermost first.
            // (stderr may be full: the exit code still says it failed.)
            let mut err = std::io::stderr().lock();
            for line in format!("{e:#}").lines() {
                let _ = writeln!(err, "error: {line}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr, filtered by `RUST_LOG` (`RUST_LOG=reflow_script=debug` shows plugin
/// logs). Without it: warnings only, and none of Extism's own error lines, because every
/// failure it logs is reported by us with the actor's name.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,extism=off"));
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}

/// Rust ignores SIGPIPE, so `println!` into a closed pipe (`reflow inspect X | head -1`)
/// panics. A command-line tool should end quietly instead, as Unix tools do.
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: resetting a signal disposition to its default at start-up, before any thread.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
