//! `nanokafka`: produce, consume, metadata, offsets, topic administration and broker
//! configs from the command line.
//!
//! With `--brokers host:port,...` (or `NANOKAFKA_BROKERS`) it talks to those brokers; with
//! `--mock` it starts the built-in mock broker in the process (an empty cluster that is gone
//! when the command ends). Without either it refuses: data written to a mock nobody asked
//! for would be lost without a word. Reading (consume, offsets, metadata) never creates a
//! topic; a missing one is an error and a non-zero exit.
//! Diagnostics: `NANOKAFKA_LOG=cluster=debug` (see `nanokafka_std::logging`).

mod admin;
mod args;
mod config;
mod consume;
mod format;
mod produce;
mod progress;
mod signals;

use args::{Cli, Command};
use clap::Parser;
use config::Settings;
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    nanokafka_std::logging::init();
    let cli = Cli::parse_from(kcat_modes(std::env::args_os().collect()));
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nanokafka: {e}");
            ExitCode::FAILURE
        }
    }
}

type Failure = Box<dyn std::error::Error>;

/// kcat's mode flags as subcommands: `-P` → `produce`, `-C` → `consume --kcat` (follows
/// unless `-e`, as kcat does), `-L` → `metadata`, `-Q` → `query`; the other arguments stay as they are (the
/// global ones are accepted after the subcommand too).
fn kcat_modes(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mode = args
        .iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .position(|a| ["-P", "-C", "-L", "-Q"].iter().any(|mode| a == mode));
    if let Some(at) = mode {
        let flag = args.remove(at + 1);
        let command: &[&str] = match flag.to_str() {
            Some("-P") => &["produce"],
            Some("-C") => &["consume", "--kcat"],
            Some("-Q") => &["query"],
            _ => &["metadata"],
        };
        for (i, word) in command.iter().enumerate() {
            args.insert(1 + i, word.into());
        }
    }
    args
}

fn run(cli: Cli) -> Result<(), Failure> {
    let _mock;
    let brokers = match (cli.brokers, cli.mock) {
        (Some(brokers), _) => brokers,
        (None, true) => {
            let (server, bootstrap) = start_mock()?;
            _mock = server;
            eprintln!("nanokafka: using the built-in mock broker at {bootstrap}");
            bootstrap
        }
        (None, false) => {
            return Err(
                "no brokers given: pass -b host:port[,host:port...] (or set \
                        NANOKAFKA_BROKERS), or --mock for the built-in mock broker"
                    .into(),
            )
        }
    };
    let mut settings = Settings::new(brokers, &cli.properties)?;
    settings.client.client_id = cli.client_id;
    settings.client.request_timeout = Duration::from_millis(cli.timeout_ms);
    let give_up = Duration::try_from_secs_f64(cli.metadata_timeout)
        .map_err(|_| format!("-m {}: not a number of seconds", cli.metadata_timeout))?;
    if !matches!(cli.command, Command::Produce(_)) {
        config::fit_attempts(&mut settings.client, give_up);
    }
    let config = settings.client.clone();
    match cli.command {
        Command::Produce(args) => produce::run(settings, args, cli.quiet),
        Command::Consume(args) => consume::run(config, args, give_up, cli.quiet),
        Command::Metadata(args) => admin::metadata(config, args),
        Command::Offsets(args) => admin::offsets(config, args),
        Command::Query(args) => admin::query(config, args),
        Command::CreateTopic(args) => admin::create_topic(config, args),
        Command::Topics(args) => admin::topics(config, args.command),
        Command::Configs(args) => admin::configs(config, args),
    }
}

/// Starts the built-in mock broker; returns what keeps it running and its address.
#[cfg(feature = "mock")]
fn start_mock() -> Result<(Box<dyn std::any::Any>, String), Failure> {
    let server = nanokafka_std::mock::MockCluster::default().serve_tcp()?;
    let bootstrap = server.bootstrap();
    Ok((Box::new(server), bootstrap))
}

#[cfg(not(feature = "mock"))]
fn start_mock() -> Result<(Box<dyn std::any::Any>, String), Failure> {
    Err("no --brokers given, and this build has no built-in mock broker (feature mock)".into())
}
