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
/// global ones are accepted after the subcommand too). After a subcommand already named, a
/// mode flag naming the same one is taken as said (`consume -C` is `consume --kcat`); one
/// naming another is left for clap to refuse.
fn kcat_modes(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let subcommands: Vec<String> = <Cli as clap::CommandFactory>::command()
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    let words = || args.iter().skip(1).take_while(|a| *a != "--");
    let mode = words().position(|a| ["-P", "-C", "-L", "-Q"].iter().any(|mode| a == mode));
    let named = words().position(|a| subcommands.iter().any(|name| a == name.as_str()));
    let Some(at) = mode else { return args };
    let command: &[&str] = match args[at + 1].to_str() {
        Some("-P") => &["produce"],
        Some("-C") => &["consume", "--kcat"],
        Some("-Q") => &["query"],
        _ => &["metadata"],
    };
    match named {
        Some(before) if before < at => {
            if args[before + 1] == command[0] {
                args.splice(at + 1..at + 2, command[1..].iter().map(Into::into));
            }
        }
        _ => {
            args.splice(at + 1..at + 2, []);
            args.splice(1..1, command.iter().map(Into::into));
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

#[cfg(test)]
mod tests {
    use super::kcat_modes;

    fn rewritten(args: &[&str]) -> Vec<String> {
        let args = std::iter::once("nanokafka").chain(args.iter().copied());
        kcat_modes(args.map(Into::into).collect())
            .into_iter()
            .skip(1)
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn kcat_mode_flags_become_subcommands() {
        assert_eq!(
            rewritten(&["-C", "-t", "x"]),
            ["consume", "--kcat", "-t", "x"]
        );
        assert_eq!(
            rewritten(&["-b", "h:1", "-P", "-t", "x"]),
            ["produce", "-b", "h:1", "-t", "x"]
        );
        assert_eq!(rewritten(&["-L"]), ["metadata"]);
        assert_eq!(rewritten(&["-Q", "-t", "x:0:1"]), ["query", "-t", "x:0:1"]);
        // A topic named like a subcommand is not one.
        assert_eq!(
            rewritten(&["-C", "-t", "produce"]),
            ["consume", "--kcat", "-t", "produce"]
        );
    }

    /// `nanokafka consume -C` was turned into `consume consume --kcat -C`-like arguments,
    /// and clap said "unexpected argument 'consume'".
    #[test]
    fn a_mode_flag_after_its_own_subcommand_is_taken_as_said() {
        assert_eq!(
            rewritten(&["consume", "-C", "-t", "x"]),
            ["consume", "--kcat", "-t", "x"]
        );
        assert_eq!(
            rewritten(&["produce", "-P", "-t", "x"]),
            ["produce", "-t", "x"]
        );
        // Another subcommand's mode flag stays, for clap to refuse.
        assert_eq!(
            rewritten(&["produce", "-C", "-t", "x"]),
            ["produce", "-C", "-t", "x"]
        );
        assert_eq!(rewritten(&["consume", "-t", "x"]), ["consume", "-t", "x"]);
    }
}
