//! The command line: global options and one subcommand per job.

use clap::{Args, Parser, Subcommand, ValueEnum};
use nanokafka::records::Compression;

#[derive(Parser)]
#[command(
    name = "nanokafka",
    version,
    about = "A small Kafka client: produce, consume, metadata, offsets"
)]
pub struct Cli {
    /// Bootstrap brokers, host:port[,host:port...] (or NANOKAFKA_BROKERS).
    #[arg(long, short = 'b', env = "NANOKAFKA_BROKERS", global = true)]
    pub brokers: Option<String>,
    /// Run against the built-in mock broker, started in this process (its topics are gone
    /// when the command ends).
    #[arg(long, global = true, conflicts_with = "brokers")]
    pub mock: bool,
    /// Client id sent with every request.
    #[arg(long, default_value = "nanokafka-cli", global = true)]
    pub client_id: String,
    /// One request's timeout in ms.
    #[arg(long, default_value_t = 5000, global = true)]
    pub timeout_ms: u64,
    /// How long metadata, offsets and consume wait for a silent broker before giving up, in
    /// seconds (kcat's -m); their attempts and retries are fitted into it.
    #[arg(
        long = "metadata-timeout",
        short = 'm',
        default_value_t = 5.0,
        global = true
    )]
    pub metadata_timeout: f64,
    /// A client property, key=value (repeatable; librdkafka/Java names as kcat takes them:
    /// client.id, request.timeout.ms, delivery.timeout.ms, acks, compression.codec,
    /// linger.ms, batch.num.messages, fetch.wait.max.ms, ...). Produce gives up on a record
    /// after delivery.timeout.ms (default 120000).
    #[arg(short = 'X', value_name = "KEY=VALUE", global = true)]
    pub properties: Vec<String>,
    /// No progress line on stderr.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum AcksArg {
    #[value(name = "0")]
    None,
    #[value(name = "1")]
    Leader,
    #[value(name = "all", alias = "-1")]
    All,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum CodecArg {
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
pub enum Command {
    /// Sends lines from stdin (or --file) as records, one per line.
    Produce(ProduceArgs),
    /// Prints records as `offset<TAB>key<TAB>value` (`--value-only`: values only).
    Consume(ConsumeArgs),
    /// Lists brokers, and topics with their partitions and leaders.
    Metadata(MetadataArgs),
    /// Prints the earliest and latest offset of each partition of a topic.
    Offsets(OffsetsArgs),
    /// Creates a topic.
    CreateTopic(CreateTopicArgs),
}

// The options of `produce`.
#[derive(Args)]
pub struct ProduceArgs {
    /// The topic.
    #[arg(long, short)]
    pub topic: String,
    /// The partition; by key hash (sticky for no key) when omitted.
    #[arg(long, short)]
    pub partition: Option<i32>,
    /// Split each line at the first SEP into key and value (no SEP in the line: null key).
    #[arg(long, short = 'K')]
    pub key_separator: Option<String>,
    /// Read lines from this file instead of stdin.
    #[arg(long, short)]
    pub file: Option<std::path::PathBuf>,
    /// A header key=value added to every record (repeatable).
    #[arg(long = "header", short = 'H')]
    pub headers: Vec<String>,
    /// Acknowledgements to wait for.
    /// `all` (the default) lets the producer be idempotent: a retry after a lost answer
    /// never stores a record twice.
    #[arg(long, value_enum)]
    pub acks: Option<AcksArg>,
    /// Most records per batch (one batch per partition and request; default 10000).
    #[arg(long)]
    pub batch: Option<usize>,
    /// Compression codec of the batches (default none).
    #[arg(long, short = 'z', value_enum)]
    pub compression: Option<CodecArg>,
    /// How long a batch waits for more records, in ms (default 5).
    #[arg(long)]
    pub linger_ms: Option<u64>,
}

// The options of `consume`.
#[derive(Args)]
pub struct ConsumeArgs {
    /// The topic.
    #[arg(long, short)]
    pub topic: String,
    /// The partition (repeatable); `--all-partitions` reads every one.
    #[arg(long, short, default_values_t = [0])]
    pub partition: Vec<i32>,
    /// Read every partition of the topic.
    #[arg(long)]
    pub all_partitions: bool,
    /// Where to start: earliest, latest, or an offset.
    #[arg(long, short = 'o', default_value = "earliest")]
    pub from: String,
    /// Stop after this many records (default: at the end of the partition).
    #[arg(long, short = 'c')]
    pub count: Option<u64>,
    /// Keep waiting for new records at the end instead of exiting.
    #[arg(long)]
    pub follow: bool,
    /// Print only the values.
    #[arg(long)]
    pub value_only: bool,
    /// Exit at the end of the partitions (the default of `consume`; kcat's -e for -C).
    #[arg(short = 'e', long = "exit", conflicts_with = "follow")]
    pub exit_at_end: bool,
    /// kcat's -C: follow unless -e.
    #[arg(long, hide = true)]
    pub kcat: bool,
}

// The options of `metadata`.
#[derive(Args)]
pub struct MetadataArgs {
    /// Only these topics (repeatable); all when omitted.
    #[arg(long, short)]
    pub topic: Vec<String>,
}

// The options of `offsets`.
#[derive(Args)]
pub struct OffsetsArgs {
    /// The topic.
    #[arg(long, short)]
    pub topic: String,
    /// Only this partition.
    #[arg(long, short)]
    pub partition: Option<i32>,
}

// The options of `create-topic`.
#[derive(Args)]
pub struct CreateTopicArgs {
    /// The topic.
    #[arg(long, short)]
    pub topic: String,
    /// Number of partitions.
    #[arg(long, default_value_t = 1)]
    pub partitions: i32,
    /// Replication factor (-1: broker default).
    #[arg(long, default_value_t = -1)]
    pub replication: i16,
}
