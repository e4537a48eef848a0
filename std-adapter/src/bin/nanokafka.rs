//! `nanokafka`: produce, consume, metadata and offsets from the command line.
//!
//! With `--brokers host:port,...` it talks to those brokers; without, it starts the built-in
//! mock broker in the process (so every command works out of the box, on an empty cluster).
//! Diagnostics: `NANOKAFKA_LOG=cluster=debug` (see `nanokafka_std::logging`).

use clap::{Parser, Subcommand, ValueEnum};
use nanokafka::client::{Acks, OffsetQuery};
use nanokafka::records::Compression;
use nanokafka_std::{Client, ClientConfig, OwnedRecord};
use std::io::{BufRead, BufWriter, Write};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "nanokafka",
    version,
    about = "A small Kafka client: produce, consume, metadata, offsets"
)]
struct Cli {
    /// Bootstrap brokers, host:port[,host:port...]; without it the built-in mock broker runs.
    #[arg(long, short = 'b', env = "NANOKAFKA_BROKERS", global = true)]
    brokers: Option<String>,
    /// Client id sent with every request.
    #[arg(long, default_value = "nanokafka-cli", global = true)]
    client_id: String,
    /// Request timeout in ms.
    #[arg(long, default_value_t = 5000, global = true)]
    timeout_ms: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum AcksArg {
    #[value(name = "0")]
    None,
    #[value(name = "1")]
    Leader,
    #[value(name = "all", alias = "-1")]
    All,
}

#[derive(Clone, Copy, ValueEnum)]
enum CodecArg {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl From<CodecArg> for Compression {
    fn from(codec: CodecArg) -> Compression {
        match codec {
            CodecArg::None => Compression::None,
            CodecArg::Gzip => Compression::Gzip,
            CodecArg::Snappy => Compression::Snappy,
            CodecArg::Lz4 => Compression::Lz4,
            CodecArg::Zstd => Compression::Zstd,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Sends lines from stdin (or --file) as records, one per line.
    Produce {
        /// The topic.
        #[arg(long, short)]
        topic: String,
        /// The partition; by key hash (sticky for no key) when omitted.
        #[arg(long, short)]
        partition: Option<i32>,
        /// Split each line at the first SEP into key and value (no SEP in the line: null key).
        #[arg(long, short = 'K')]
        key_separator: Option<String>,
        /// Read lines from this file instead of stdin.
        #[arg(long, short)]
        file: Option<std::path::PathBuf>,
        /// A header key=value added to every record (repeatable).
        #[arg(long = "header", short = 'H')]
        headers: Vec<String>,
        /// Acknowledgements to wait for.
        #[arg(long, value_enum, default_value = "1")]
        acks: AcksArg,
        /// Records per request.
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        /// Compression codec of the batches.
        #[arg(long, short = 'z', value_enum, default_value = "none")]
        compression: CodecArg,
    },
    /// Prints records as `offset<TAB>key<TAB>value` (`--value-only`: values only).
    Consume {
        /// The topic.
        #[arg(long, short)]
        topic: String,
        /// The partition.
        #[arg(long, short, default_value_t = 0)]
        partition: i32,
        /// Where to start: earliest, latest, or an offset.
        #[arg(long, short = 'o', default_value = "earliest")]
        from: String,
        /// Stop after this many records (default: at the end of the partition).
        #[arg(long, short = 'c')]
        count: Option<u64>,
        /// Keep waiting for new records at the end instead of exiting.
        #[arg(long)]
        follow: bool,
        /// Print only the values.
        #[arg(long)]
        value_only: bool,
    },
    /// Lists brokers, and topics with their partitions and leaders.
    Metadata {
        /// Only these topics (repeatable); all when omitted.
        #[arg(long, short)]
        topic: Vec<String>,
    },
    /// Prints the earliest and latest offset of each partition of a topic.
    Offsets {
        /// The topic.
        #[arg(long, short)]
        topic: String,
        /// Only this partition.
        #[arg(long, short)]
        partition: Option<i32>,
    },
    /// Creates a topic.
    CreateTopic {
        /// The topic.
        #[arg(long, short)]
        topic: String,
        /// Number of partitions.
        #[arg(long, default_value_t = 1)]
        partitions: i32,
        /// Replication factor (-1: broker default).
        #[arg(long, default_value_t = -1)]
        replication: i16,
    },
}

fn main() -> ExitCode {
    nanokafka_std::logging::init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nanokafka: {e}");
            ExitCode::FAILURE
        }
    }
}

type Failure = Box<dyn std::error::Error>;

fn run(cli: Cli) -> Result<(), Failure> {
    let _mock;
    let brokers = match cli.brokers {
        Some(brokers) => brokers,
        None => {
            let (server, bootstrap) = start_mock()?;
            _mock = server;
            eprintln!(
                "nanokafka: no --brokers given: using the built-in mock broker at {bootstrap}"
            );
            bootstrap
        }
    };
    let mut config = ClientConfig::new(brokers);
    config.client_id = cli.client_id;
    config.request_timeout = Duration::from_millis(cli.timeout_ms);
    match cli.command {
        Command::Produce {
            topic,
            partition,
            key_separator,
            file,
            headers,
            acks,
            batch,
            compression,
        } => {
            config.compression = compression.into();
            config.acks = match acks {
                AcksArg::None => Acks::None,
                AcksArg::Leader => Acks::Leader,
                AcksArg::All => Acks::All,
            };
            let headers = headers
                .iter()
                .map(|h| {
                    h.split_once('=')
                        .map(|(k, v)| (k.to_owned(), Some(v.as_bytes().to_vec())))
                        .ok_or_else(|| format!("--header {h:?} is not key=value"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let input: Box<dyn BufRead> = match file {
                Some(path) => Box::new(std::io::BufReader::new(
                    std::fs::File::open(&path)
                        .map_err(|e| format!("cannot open {}: {e}", path.display()))?,
                )),
                None => Box::new(std::io::stdin().lock()),
            };
            let mut client = Client::connect(config)?;
            let mut pending = Vec::with_capacity(batch.max(1));
            let mut total = 0u64;
            for line in input.lines() {
                let line = line?;
                let (key, value) = match key_separator.as_deref().and_then(|s| line.split_once(s)) {
                    Some((k, v)) => (Some(k.as_bytes().to_vec()), v.as_bytes().to_vec()),
                    None => (None, line.into_bytes()),
                };
                pending.push(OwnedRecord {
                    key,
                    value: Some(value),
                    headers: headers.clone(),
                    timestamp: None,
                });
                if pending.len() >= batch.max(1) {
                    client.send(&topic, partition, &pending)?;
                    total += pending.len() as u64;
                    pending.clear();
                }
            }
            if !pending.is_empty() {
                client.send(&topic, partition, &pending)?;
                total += pending.len() as u64;
            }
            eprintln!("nanokafka: produced {total} records to {topic}");
        }
        Command::Consume {
            topic,
            partition,
            from,
            count,
            follow,
            value_only,
        } => {
            let mut client = Client::connect(config)?;
            let mut offset = match from.as_str() {
                "earliest" | "beginning" => client
                    .offset(&topic, partition, OffsetQuery::Earliest)?
                    .unwrap_or(0),
                "latest" | "end" => client
                    .offset(&topic, partition, OffsetQuery::Latest)?
                    .unwrap_or(0),
                n => n
                    .parse::<i64>()
                    .map_err(|_| format!("--from {n:?}: not earliest, latest or an offset"))?,
            };
            let out = std::io::stdout();
            let mut out = BufWriter::new(out.lock());
            let mut printed = 0u64;
            'fetching: loop {
                let end = client
                    .offset(&topic, partition, OffsetQuery::Latest)?
                    .unwrap_or(0);
                if offset >= end && !follow {
                    break;
                }
                let messages = client.fetch(&topic, partition, offset)?;
                for message in messages {
                    if count.is_some_and(|c| printed >= c) {
                        break 'fetching;
                    }
                    let value = message.value.as_deref().map(String::from_utf8_lossy);
                    if value_only {
                        writeln!(out, "{}", value.as_deref().unwrap_or(""))?;
                    } else {
                        let key = message.key.as_deref().map(String::from_utf8_lossy);
                        writeln!(
                            out,
                            "{}\t{}\t{}",
                            message.offset,
                            key.as_deref().unwrap_or("(null)"),
                            value.as_deref().unwrap_or("(null)")
                        )?;
                    }
                    printed += 1;
                    offset = message.next_offset;
                }
                if count.is_some_and(|c| printed >= c) {
                    break;
                }
            }
            out.flush()?;
        }
        Command::Metadata { topic } => {
            let mut client = Client::connect(config)?;
            let topics: Vec<&str> = topic.iter().map(String::as_str).collect();
            let metadata = client.metadata(if topics.is_empty() {
                None
            } else {
                Some(&topics)
            })?;
            for b in &metadata.brokers {
                println!("broker {} at {}:{}", b.node_id, b.host, b.port);
            }
            for t in &metadata.topics {
                match &t.error {
                    Some(e) => println!("topic {:?}: {e}", t.name),
                    None => {
                        println!("topic {:?}: {} partitions", t.name, t.partitions.len());
                        for p in &t.partitions {
                            println!(
                                "  partition {} leader {} replicas {:?} isr {:?}",
                                p.partition, p.leader, p.replicas, p.isr
                            );
                        }
                    }
                }
            }
        }
        Command::Offsets { topic, partition } => {
            let mut client = Client::connect(config)?;
            let partitions: Vec<i32> = match partition {
                Some(p) => vec![p],
                None => (0..client.partition_count(&topic)? as i32).collect(),
            };
            for p in partitions {
                let earliest = client.offset(&topic, p, OffsetQuery::Earliest)?;
                let latest = client.offset(&topic, p, OffsetQuery::Latest)?;
                println!(
                    "{topic}\t{p}\tearliest {}\tlatest {}",
                    earliest.unwrap_or(-1),
                    latest.unwrap_or(-1)
                );
            }
        }
        Command::CreateTopic {
            topic,
            partitions,
            replication,
        } => {
            let mut client = Client::connect(config)?;
            client.create_topic(&topic, partitions, replication, &[])?;
            eprintln!("nanokafka: created topic {topic} ({partitions} partitions)");
        }
    }
    Ok(())
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
