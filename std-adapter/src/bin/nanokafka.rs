//! `nanokafka`: produce, consume, metadata and offsets from the command line.
//!
//! With `--brokers host:port,...` (or `NANOKAFKA_BROKERS`) it talks to those brokers; with
//! `--mock` it starts the built-in mock broker in the process (an empty cluster that is gone
//! when the command ends). Without either it refuses: data written to a mock nobody asked
//! for would be lost without a word. Reading (consume, offsets, metadata) never creates a
//! topic; a missing one is an error and a non-zero exit.
//! Diagnostics: `NANOKAFKA_LOG=cluster=debug` (see `nanokafka_std::logging`).

use clap::{Parser, Subcommand, ValueEnum};
use nanokafka::client::{Acks, OffsetQuery};
use nanokafka::records::{Compression, Header, Record};
use nanokafka_std::consumer::{Consumer, ConsumerConfig};
use nanokafka_std::producer::{Producer, ProducerConfig};
use nanokafka_std::{now_ms, Client, ClientConfig};
use std::io::{BufRead, BufWriter, IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// A progress line on stderr, redrawn at most once a second (nothing when quiet).
struct Progress {
    verb: &'static str,
    quiet: bool,
    started: Instant,
    shown: Instant,
}

impl Progress {
    fn new(verb: &'static str, quiet: bool) -> Self {
        let now = Instant::now();
        Progress {
            verb,
            // A progress line redrawn with CR is for a person watching, not for a log file.
            quiet: quiet || !std::io::stderr().is_terminal(),
            started: now,
            shown: now,
        }
    }

    fn tick(&mut self, records: u64, bytes: u64) {
        if !self.quiet && self.shown.elapsed() >= Duration::from_secs(1) {
            self.shown = Instant::now();
            self.show(records, bytes, "\r");
        }
    }

    fn show(&self, records: u64, bytes: u64, end: &str) {
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        eprint!(
            "nanokafka: {} {records} records, {:.1} MB in {secs:.1} s ({:.0} records/s, {:.1} MB/s){end}",
            self.verb,
            bytes as f64 / 1e6,
            records as f64 / secs,
            bytes as f64 / 1e6 / secs
        );
    }

    /// The final figures, when the run was long enough to show progress.
    fn done(&self, records: u64, bytes: u64) {
        if !self.quiet && self.shown > self.started {
            self.show(records, bytes, "\n");
        }
    }
}

#[derive(Parser)]
#[command(
    name = "nanokafka",
    version,
    about = "A small Kafka client: produce, consume, metadata, offsets"
)]
struct Cli {
    /// Bootstrap brokers, host:port[,host:port...] (or NANOKAFKA_BROKERS).
    #[arg(long, short = 'b', env = "NANOKAFKA_BROKERS", global = true)]
    brokers: Option<String>,
    /// Run against the built-in mock broker, started in this process (its topics are gone
    /// when the command ends).
    #[arg(long, global = true, conflicts_with = "brokers")]
    mock: bool,
    /// Client id sent with every request.
    #[arg(long, default_value = "nanokafka-cli", global = true)]
    client_id: String,
    /// Request timeout in ms.
    #[arg(long, default_value_t = 5000, global = true)]
    timeout_ms: u64,
    /// No progress line on stderr.
    #[arg(long, short = 'q', global = true)]
    quiet: bool,
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
        /// `all` (the default) lets the producer be idempotent: a retry after a lost answer
        /// never stores a record twice.
        #[arg(long, value_enum, default_value = "all")]
        acks: AcksArg,
        /// Most records per batch (one batch per partition and request).
        #[arg(long, default_value_t = 10_000)]
        batch: usize,
        /// Compression codec of the batches.
        #[arg(long, short = 'z', value_enum, default_value = "none")]
        compression: CodecArg,
        /// How long a batch waits for more records, in ms.
        #[arg(long, default_value_t = 5)]
        linger_ms: u64,
    },
    /// Prints records as `offset<TAB>key<TAB>value` (`--value-only`: values only).
    Consume {
        /// The topic.
        #[arg(long, short)]
        topic: String,
        /// The partition (repeatable); `--all-partitions` reads every one.
        #[arg(long, short, default_values_t = [0])]
        partition: Vec<i32>,
        /// Read every partition of the topic.
        #[arg(long)]
        all_partitions: bool,
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
            linger_ms,
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
                        .ok_or_else(|| format!("--header {h:?} is not key=value"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let headers: Vec<Header<'_>> = headers
                .iter()
                .map(|(key, value)| Header {
                    key,
                    value: Some(value.as_bytes()),
                })
                .collect();
            let mut input: Box<dyn BufRead> = match file {
                Some(path) => Box::new(std::io::BufReader::with_capacity(
                    1 << 20,
                    std::fs::File::open(&path)
                        .map_err(|e| format!("cannot open {}: {e}", path.display()))?,
                )),
                None => Box::new(std::io::BufReader::with_capacity(1 << 20, std::io::stdin())),
            };
            let mut producer_config = ProducerConfig::new(config);
            producer_config.batch_records = batch.max(1);
            producer_config.linger = Duration::from_millis(linger_ms);
            let producer = Producer::new(producer_config)?;
            let mut progress = Progress::new("produced", cli.quiet);
            let (mut total, mut bytes) = (0u64, 0u64);
            let mut line = Vec::with_capacity(4096);
            let separator = key_separator.as_deref().map(str::as_bytes);
            loop {
                line.clear();
                if input.read_until(b'\n', &mut line)? == 0 {
                    break;
                }
                // Only the delimiter ends a record: a CR before it is the value's.
                if line.last() == Some(&b'\n') {
                    line.pop();
                }
                let split = separator.and_then(|sep| {
                    let at = line.windows(sep.len()).position(|w| w == sep)?;
                    Some((&line[..at], &line[at + sep.len()..]))
                });
                let (key, value) = match split {
                    Some((k, v)) => (Some(k), v),
                    None => (None, &line[..]),
                };
                let record = Record {
                    key,
                    value: Some(value),
                    headers: &headers,
                    timestamp: now_ms(),
                };
                producer.send(&topic, partition, &record)?;
                total += 1;
                bytes += line.len() as u64;
                if total % 4096 == 0 {
                    progress.tick(total, bytes);
                }
            }
            producer.flush()?;
            progress.done(total, bytes);
            if !cli.quiet {
                eprintln!("nanokafka: produced {total} records to {topic}");
            }
        }
        Command::Consume {
            topic,
            partition,
            all_partitions,
            from,
            count,
            follow,
            value_only,
        } => {
            config.allow_auto_topic_creation = false;
            let mut client = Client::connect(config.clone())?;
            let partitions: Vec<i32> = if all_partitions {
                (0..client.partition_count(&topic)? as i32).collect()
            } else {
                partition
            };
            let mut starts = Vec::with_capacity(partitions.len());
            let mut ends = Vec::with_capacity(partitions.len());
            for &p in &partitions {
                let start = match from.as_str() {
                    "earliest" | "beginning" => client
                        .offset(&topic, p, OffsetQuery::Earliest)?
                        .unwrap_or(0),
                    "latest" | "end" => client.offset(&topic, p, OffsetQuery::Latest)?.unwrap_or(0),
                    n => n
                        .parse::<i64>()
                        .map_err(|_| format!("--from {n:?}: not earliest, latest or an offset"))?,
                };
                let end = client.offset(&topic, p, OffsetQuery::Latest)?.unwrap_or(0);
                starts.push((p, start));
                ends.push((p, end));
            }
            drop(client);
            // Partitions still to read up to the end they had at start (unless following).
            let mut open: Vec<(i32, i64)> = starts
                .iter()
                .zip(&ends)
                .filter(|(s, e)| follow || s.1 < e.1)
                .map(|(_, e)| *e)
                .collect();
            let out = std::io::stdout();
            let mut out = BufWriter::with_capacity(1 << 20, out.lock());
            let mut progress = Progress::new("consumed", cli.quiet);
            let (mut printed, mut bytes) = (0u64, 0u64);
            let done = |printed: u64| count.is_some_and(|c| printed >= c);
            if !open.is_empty() && !done(0) {
                let mut consumer =
                    Consumer::start_at(ConsumerConfig::new(config), &topic, &starts)?;
                while (follow || !open.is_empty()) && !done(printed) {
                    let Some(mut fetch) = consumer.poll(Duration::from_secs(1))? else {
                        continue;
                    };
                    let mut failed_write = None;
                    fetch
                        .for_each_record(|partition, record| {
                            let end = ends.iter().find(|e| e.0 == partition).map_or(0, |e| e.1);
                            if (!follow && record.offset >= end) || done(printed) {
                                return Ok(());
                            }
                            let written = if value_only {
                                out.write_all(record.value.unwrap_or_default())
                            } else {
                                write!(out, "{}\t", record.offset)
                                    .and_then(|()| out.write_all(record.key.unwrap_or(b"(null)")))
                                    .and_then(|()| out.write_all(b"\t"))
                                    .and_then(|()| out.write_all(record.value.unwrap_or(b"(null)")))
                            }
                            .and_then(|()| out.write_all(b"\n"));
                            if let Err(e) = written {
                                // Stops the walk; the I/O error itself is reported below.
                                failed_write = Some(e);
                                return Err(nanokafka::Error::Send(embedded_io::ErrorKind::Other));
                            }
                            printed += 1;
                            bytes += record.value.map_or(0, <[u8]>::len) as u64;
                            if record.next_offset() >= end {
                                open.retain(|e| e.0 != partition);
                            }
                            Ok(())
                        })
                        .map_err(|e| match failed_write.take() {
                            Some(io) => Failure::from(io),
                            None => Failure::from(e),
                        })?;
                    progress.tick(printed, bytes);
                }
            }
            out.flush()?;
            progress.done(printed, bytes);
        }
        Command::Metadata { topic } => {
            config.allow_auto_topic_creation = false;
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
            let mut missing = Vec::new();
            for t in &metadata.topics {
                match &t.error {
                    Some(e) => {
                        println!("topic {:?}: {e}", t.name);
                        missing.push(format!("topic {:?}: {e}", t.name));
                    }
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
            if !missing.is_empty() {
                return Err(missing.join("; ").into());
            }
        }
        Command::Offsets { topic, partition } => {
            config.allow_auto_topic_creation = false;
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
