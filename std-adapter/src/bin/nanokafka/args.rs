//! The command line: global options and one subcommand per job.

use clap::{Args, Parser, Subcommand, ValueEnum};
use nanokafka::records::Compression;

#[derive(Parser)]
#[command(
    name = "nanokafka",
    version,
    about = "A small Kafka client: produce, consume, metadata, offsets, topics"
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
    /// Sends messages from stdin or files (kcat's -P): one per line (-D), or per file.
    /// Ctrl-C/SIGTERM stops reading, waits up to --timeout-ms for the records sent and
    /// reports how many were acknowledged; a second one ends it at once.
    Produce(ProduceArgs),
    /// Prints records up to the end of every partition (kcat's -C -e; -C follows), values
    /// one per line by default, or as -f / -J say.
    Consume(ConsumeArgs),
    /// Lists brokers, and topics with their partitions and leaders (kcat's -L).
    Metadata(MetadataArgs),
    /// Prints the earliest and latest offset of each partition of a topic.
    Offsets(OffsetsArgs),
    /// Prints the offset of the first record at or after a time (kcat's -Q).
    Query(QueryArgs),
    /// Creates a topic (the same as `topics create`).
    CreateTopic(CreateTopicArgs),
    /// Lists, creates, deletes, describes and alters topics (kafka-topics.sh and
    /// kafka-configs.sh for topics).
    Topics(TopicsArgs),
    /// Describes or changes the configs of a broker or a topic (kafka-configs.sh), e.g.
    /// `configs --entity-type brokers --entity-name 1 --alter --add-config
    /// log.cleaner.threads=2`.
    Configs(ConfigsArgs),
}

/// What `configs` describes or changes.
#[derive(Clone, Copy, ValueEnum)]
pub enum EntityType {
    /// A broker, named by its id.
    Brokers,
    /// A topic, named by its name.
    Topics,
}

// The options of `configs`.
#[derive(Args)]
#[command(group = clap::ArgGroup::new("action").required(true).args(["describe", "alter"]))]
pub struct ConfigsArgs {
    /// The kind of entity.
    #[arg(long, value_enum)]
    pub entity_type: EntityType,
    /// The broker id or topic name.
    #[arg(long)]
    pub entity_name: String,
    /// Print every config, `*` marking the ones set on this entity.
    #[arg(long)]
    pub describe: bool,
    /// Change configs (--add-config, --delete-config): the others keep their values.
    #[arg(long)]
    pub alter: bool,
    /// Set a config, NAME=VALUE (repeatable; unlike kafka-configs.sh one per flag, so the
    /// value may hold commas).
    #[arg(long, value_name = "NAME=VALUE", requires = "alter")]
    pub add_config: Vec<String>,
    /// Remove this entity's value of a config, so it falls back to the default
    /// (repeatable).
    #[arg(long, value_name = "NAME", requires = "alter")]
    pub delete_config: Vec<String>,
    /// With --describe: one JSON document,
    /// `{"entity_type","entity_name","configs":[...]}`, configs as `topics describe -J`.
    #[arg(short = 'J', long, requires = "describe")]
    pub json: bool,
}

// The options of `topics`.
#[derive(Args)]
pub struct TopicsArgs {
    #[command(subcommand)]
    pub command: TopicsCommand,
}

#[derive(Subcommand)]
pub enum TopicsCommand {
    /// Prints every topic name, one per line, sorted.
    List(ListTopicsArgs),
    /// Creates a topic.
    Create(CreateTopicArgs),
    /// Deletes topics; a missing one is an error.
    Delete(DeleteTopicsArgs),
    /// Prints topics with their partitions, leaders, replicas and configs (the ones set on
    /// the topic marked with `*`).
    Describe(DescribeTopicsArgs),
    /// Changes a topic's configs (kafka-configs.sh --alter) or grows its partitions.
    Alter(AlterTopicArgs),
}

// The options of `topics list`.
#[derive(Args)]
pub struct ListTopicsArgs {
    /// As one JSON document: `{"topics":["name",...]}`.
    #[arg(short = 'J', long)]
    pub json: bool,
}

// The options of `topics delete`.
#[derive(Args)]
pub struct DeleteTopicsArgs {
    /// A topic to delete (repeatable).
    #[arg(long, short, required = true)]
    pub topic: Vec<String>,
}

// The options of `topics describe`.
#[derive(Args)]
pub struct DescribeTopicsArgs {
    /// A topic to describe (repeatable); all when omitted.
    #[arg(long, short)]
    pub topic: Vec<String>,
    /// As one JSON document: `{"topics":[{"topic","partitions":[...],"configs":[...]}]}`,
    /// partitions with the fields of `metadata -J`, each config with `name`, `value` (null
    /// when sensitive), `source` (Kafka's config source name), `override` (set on the
    /// topic), `read_only`, `sensitive`.
    #[arg(short = 'J', long)]
    pub json: bool,
}

// The options of `topics alter`.
#[derive(Args)]
pub struct AlterTopicArgs {
    /// The topic.
    #[arg(long, short)]
    pub topic: String,
    /// Grow the topic to this many partitions in total (Kafka never shrinks a topic).
    #[arg(long)]
    pub partitions: Option<i32>,
    /// Set a config, NAME=VALUE (repeatable; the value may hold commas, e.g.
    /// cleanup.policy=compact,delete).
    #[arg(long, value_name = "NAME=VALUE")]
    pub add_config: Vec<String>,
    /// Remove the topic's value of a config, so it falls back to the default (repeatable).
    #[arg(long, value_name = "NAME")]
    pub delete_config: Vec<String>,
}

// The options of `produce`.
#[derive(Args)]
pub struct ProduceArgs {
    /// The topic.
    #[arg(long, short)]
    pub topic: String,
    /// The partition; -1 or none: by key hash (sticky for no key).
    #[arg(long, short, allow_negative_numbers = true)]
    pub partition: Option<i32>,
    /// Message delimiter of the input (escapes: \n \r \t \xNN). Only it ends a record:
    /// a CR before an LF stays in the value.
    #[arg(short = 'D', long, default_value = "\\n")]
    pub delimiter: String,
    /// Split each message at the first SEP into key and value (no SEP: the -k key, or null).
    #[arg(long, short = 'K', value_name = "SEP")]
    pub key_delimiter: Option<String>,
    /// The key of every message without its own (-K) key.
    #[arg(short = 'k', long)]
    pub key: Option<String>,
    /// Send empty values as null.
    #[arg(short = 'Z', long)]
    pub empty_as_null: bool,
    /// A header name=value, or name alone for a null value (repeatable).
    #[arg(long = "header", short = 'H')]
    pub headers: Vec<String>,
    /// With one FILE: split it into messages at the delimiter, as stdin is.
    #[arg(short = 'l', long)]
    pub lines: bool,
    /// Files to send, each whole file one message (binary safe); -l: one file, split.
    #[arg(value_name = "FILE")]
    pub files: Vec<std::path::PathBuf>,
    /// Stop after this many messages.
    #[arg(short = 'c', long)]
    pub count: Option<u64>,
    /// Acknowledgements to wait for (default all). `all` lets the producer be idempotent:
    /// a retry after a lost answer never stores a record twice.
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
    /// A partition (repeatable); none or -1: every partition.
    #[arg(long, short, allow_negative_numbers = true)]
    pub partition: Vec<i32>,
    /// Where to start: beginning (default), end, an offset N, -N (N before the end),
    /// s@TS (the first record at or after TS, ms); and e@TS to stop before the first record
    /// at or after TS (give -o twice for both).
    #[arg(long = "offset", short = 'o', allow_hyphen_values = true)]
    pub offsets: Vec<String>,
    /// Stop after this many records.
    #[arg(long, short = 'c')]
    pub count: Option<u64>,
    /// Keep waiting for new records at the end instead of exiting.
    #[arg(long)]
    pub follow: bool,
    /// Exit at the end of the partitions (the default of `consume`; kcat's -e for -C).
    #[arg(short = 'e', long = "exit", conflicts_with = "follow")]
    pub exit_at_end: bool,
    /// Output format: %t topic, %p partition, %o offset, %k key, %K key length, %s value,
    /// %S value length, %R value length as 4 bytes big-endian, %T timestamp, %h headers,
    /// %% and escapes \n \r \t \xNN (kcat's tokens). Null prints as nothing (-Z: NULL).
    #[arg(short = 'f', long)]
    pub format: Option<String>,
    /// Each record as a JSON object on one line (kcat's -J envelope).
    #[arg(short = 'J', long)]
    pub json: bool,
    /// Print the key and this delimiter before each value.
    #[arg(short = 'K', long, value_name = "SEP")]
    pub key_delimiter: Option<String>,
    /// Delimiter after each record (default \n).
    #[arg(short = 'D', long, default_value = "\\n")]
    pub delimiter: String,
    /// Print null (and, as kcat does, empty) keys and values as NULL.
    #[arg(short = 'Z', long)]
    pub null_as_text: bool,
    /// Write each record at once (by default output is written after each fetch).
    #[arg(short = 'u', long)]
    pub unbuffered: bool,
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
    /// As one JSON object, the fields of kcat's -L -J.
    #[arg(short = 'J', long)]
    pub json: bool,
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

// The options of `query`.
#[derive(Args)]
pub struct QueryArgs {
    /// TOPIC:PARTITION:TIMESTAMP (ms since the epoch), repeatable.
    #[arg(long, short, required = true, value_name = "TOPIC:PARTITION:TIMESTAMP")]
    pub topic: Vec<String>,
}

// The options of `create-topic` and `topics create`.
#[derive(Args)]
pub struct CreateTopicArgs {
    /// The topic.
    #[arg(long, short)]
    pub topic: String,
    /// Number of partitions.
    #[arg(long, default_value_t = 1)]
    pub partitions: i32,
    /// Replication factor (-1: broker default).
    #[arg(
        long = "replication-factor",
        alias = "replication",
        default_value_t = -1,
        allow_negative_numbers = true
    )]
    pub replication: i16,
    /// A topic config, NAME=VALUE (repeatable), e.g. retention.ms=60000.
    #[arg(long, value_name = "NAME=VALUE")]
    pub config: Vec<String>,
}
