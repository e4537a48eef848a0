//! The owned, `Vec`-based client for desktops and servers: the core's `Cluster`, `Producer`
//! and `Consumer` over TCP with their buffers managed, errors that name topic, partition and
//! broker address, and owned messages.
//!
//! ```no_run
//! use nanokafka_std::{Client, ClientConfig, OwnedRecord};
//! use nanokafka::client::OffsetQuery;
//!
//! let mut client = Client::connect(ClientConfig::new("127.0.0.1:9092"))?;
//! let offset = client.send("telemetry", Some(0), &[OwnedRecord::new(Some("sensor-1"), "21.5")])?;
//! let start = client.offset("telemetry", 0, OffsetQuery::Earliest)?.unwrap_or(0);
//! for message in client.fetch("telemetry", 0, start)? {
//!     println!("{} {:?} {:?}", message.offset, message.key, message.value);
//! }
//! # Ok::<(), nanokafka_std::Error>(())
//! ```

use crate::compression::Codecs;
use crate::connector::IpVersion;
use crate::crc::HardwareCrc32c;
use crate::security::{SecureConnector, SecurityConfig};
use crate::transport::SystemClock;
use crate::DEFAULT_PORT;
use nanokafka::client::{
    defaults, Acks, Cluster, ClusterConfig, ConnectionConfig, Consumer, ConsumerConfig, Delivery,
    OffsetQuery, ProduceBatch, Producer, ProducerConfig,
};
use nanokafka::protocol::metadata::{MetadataRequest, MetadataTopic};
use nanokafka::records::{Compression, Header, Record, RecordView};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The core cluster as the std client sizes it: 16 connections (TCP, TLS and SASL as
/// configured), 64 topics, metadata in a `Vec` (1 MiB), and its own copy of the bootstrap
/// list and client id (`Arc<str>`, shared by its connections).
pub type StdCluster = Cluster<SecureConnector, SystemClock, 16, 64, Vec<u8>, Arc<str>>;

/// How a [`Client`] connects and behaves. Defaults follow the Perl `Kafka` package.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `host[:port]` entries separated by commas; the port defaults to [`DEFAULT_PORT`].
    pub bootstrap: String,
    /// Sent with every request.
    pub client_id: String,
    /// One request, send to last response byte (Perl: 1.5 s).
    pub request_timeout: Duration,
    /// One TCP connect.
    pub connect_timeout: Duration,
    /// IPv4 / IPv6 choice for host names with both.
    pub ip_version: IpVersion,
    /// Attempts per produce (Perl: 4).
    pub send_attempts: u8,
    /// Attempts per fetch, offset lookup and metadata request (Perl: 4).
    pub receive_attempts: u8,
    /// Wait between attempts (Perl: 200 ms).
    pub retry_backoff: Duration,
    /// Whether metadata requests may auto-create topics (the broker decides too).
    pub allow_auto_topic_creation: bool,
    /// Acknowledgements a produce waits for.
    pub acks: Acks,
    /// Idempotent producing: no duplicates from retries (needs `acks = All`). On by default,
    /// as in the Java client 3.x; with acks 0 or 1 the pipelined producer produces without it.
    pub idempotent: bool,
    /// How long the pipelined producer keeps retrying a batch, from its first record (Java's
    /// `delivery.timeout.ms`, 120 s); each request has its own `request_timeout`. A batch
    /// given up after a request carrying it went unanswered fails with `MaybeStored`.
    pub delivery_timeout: Duration,
    /// How long a fetch may wait at the broker for data (Perl: 100 ms).
    pub max_wait: Duration,
    /// The least data a fetch waits for (1 byte: anything).
    pub min_bytes: i32,
    /// The most record bytes per fetch (Perl: 1 MiB); the buffer is sized from it.
    pub max_bytes: i32,
    /// The codec produced batches are compressed with, at Kafka's default levels (`None`
    /// by default; zstd needs a broker with Produce v7, Kafka 2.1+). Fetched batches are
    /// decompressed whatever their codec.
    pub compression: Compression,
    /// TLS and SASL (`security.protocol`, `sasl.*`, `ssl.*`; PLAINTEXT by default), for
    /// every connection of the client and of the pipelined producer and consumer. Set by
    /// Kafka's names with [`SecurityConfig::set`] (what `-X key=value` hands over) or
    /// [`SecurityConfig::from_pairs`].
    pub security: SecurityConfig,
}

impl From<&str> for ClientConfig {
    /// The defaults with `bootstrap` (`host[:port]` entries separated by commas).
    fn from(bootstrap: &str) -> Self {
        ClientConfig::new(bootstrap)
    }
}

impl From<String> for ClientConfig {
    /// The defaults with `bootstrap` (`host[:port]` entries separated by commas).
    fn from(bootstrap: String) -> Self {
        ClientConfig::new(bootstrap)
    }
}

impl ClientConfig {
    /// The defaults, starting from `bootstrap`.
    pub fn new(bootstrap: impl Into<String>) -> Self {
        ClientConfig {
            bootstrap: bootstrap.into(),
            client_id: defaults::DEFAULT_CLIENT_ID.into(),
            request_timeout: Duration::from_millis(defaults::DEFAULT_REQUEST_TIMEOUT_MS.into()),
            connect_timeout: Duration::from_secs(5),
            ip_version: IpVersion::Any,
            send_attempts: defaults::DEFAULT_SEND_ATTEMPTS,
            receive_attempts: defaults::DEFAULT_RECEIVE_ATTEMPTS,
            retry_backoff: Duration::from_millis(defaults::DEFAULT_RETRY_BACKOFF_MS.into()),
            allow_auto_topic_creation: true,
            acks: Acks::All,
            idempotent: true,
            delivery_timeout: Duration::from_secs(120),
            max_wait: Duration::from_millis(defaults::DEFAULT_MAX_WAIT_MS.unsigned_abs().into()),
            min_bytes: 1,
            max_bytes: defaults::DEFAULT_MAX_BYTES,
            compression: Compression::None,
            security: SecurityConfig::default(),
        }
    }
}

/// A failure with its context: what was being done, to which topic/partition, and the
/// broker's address and I/O error when a connection failed. `kind()` is the core error with
/// its stable numeric code.
#[derive(Debug, Clone)]
pub struct Error {
    kind: nanokafka::Error,
    context: String,
}

impl Error {
    pub(crate) fn new(kind: nanokafka::Error, context: impl Into<String>) -> Self {
        Error {
            kind,
            context: context.into(),
        }
    }

    /// The core error (numeric code via `kind().code()`).
    pub fn kind(&self) -> nanokafka::Error {
        self.kind
    }

    /// The core error's stable numeric code (the Perl package's where it had one).
    pub fn code(&self) -> i32 {
        self.kind.code()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.context, self.kind)
    }
}

impl std::error::Error for Error {}

/// Result with the std client's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A record to send, owned.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OwnedRecord {
    /// The key (`None` is a null key, distinct from an empty one).
    pub key: Option<Vec<u8>>,
    /// The value (`None` is a null value, a tombstone).
    pub value: Option<Vec<u8>>,
    /// Headers, in order; a `None` value is a null header value.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// Create time in ms since the Unix epoch; `None`: now.
    pub timestamp: Option<i64>,
}

/// Borrowed views of owned headers, as the core's [`Record`] takes them.
pub fn header_views(headers: &[(String, Option<Vec<u8>>)]) -> Vec<Header<'_>> {
    headers
        .iter()
        .map(|(key, value)| Header {
            key,
            value: value.as_deref(),
        })
        .collect()
}

impl OwnedRecord {
    /// A record with `key` and `value` (both non-null), no headers, timestamp now.
    pub fn new(key: Option<impl Into<Vec<u8>>>, value: impl Into<Vec<u8>>) -> Self {
        OwnedRecord {
            key: key.map(Into::into),
            value: Some(value.into()),
            ..OwnedRecord::default()
        }
    }

    /// The same record with one more header.
    pub fn header(mut self, key: impl Into<String>, value: Option<impl Into<Vec<u8>>>) -> Self {
        self.headers.push((key.into(), value.map(Into::into)));
        self
    }
}

/// A record read from Kafka, owned (the Perl package's `Kafka::Message`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The partition it came from.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// The offset to fetch after it.
    pub next_offset: i64,
    /// Create (or log append) time in ms since the Unix epoch.
    pub timestamp: i64,
    /// The key; `None` is null, distinct from empty.
    pub key: Option<Vec<u8>>,
    /// The value; `None` is null, distinct from empty.
    pub value: Option<Vec<u8>>,
    /// Headers, in order.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl Message {
    /// An owned copy of a record read in place.
    pub fn from_view(partition: i32, record: &RecordView<'_>) -> Self {
        let headers = record
            .headers
            .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
            .collect();
        Message {
            partition,
            offset: record.offset,
            next_offset: record.next_offset(),
            timestamp: record.timestamp,
            key: record.key.map(<[u8]>::to_vec),
            value: record.value.map(<[u8]>::to_vec),
            headers,
        }
    }
}

/// A cluster's brokers and topics ([`Client::metadata`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterMetadata {
    /// Live brokers.
    pub brokers: Vec<BrokerInfo>,
    /// The controller's broker id (-1 when the broker did not say).
    pub controller_id: i32,
    /// The topics asked for (all, when none were named).
    pub topics: Vec<TopicInfo>,
}

/// A broker in [`ClusterMetadata`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerInfo {
    /// Its id.
    pub node_id: i32,
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: i32,
}

/// A topic in [`ClusterMetadata`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    /// Its name.
    pub name: String,
    /// Why it could not be described (e.g. `UNKNOWN_TOPIC_OR_PARTITION`).
    pub error: Option<nanokafka::Error>,
    /// Its partitions.
    pub partitions: Vec<PartitionInfo>,
}

/// A partition in [`TopicInfo`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    /// Its index.
    pub partition: i32,
    /// The leader's broker id, or -1.
    pub leader: i32,
    /// All replicas.
    pub replicas: Vec<i32>,
    /// In-sync replicas.
    pub isr: Vec<i32>,
}

/// What a produce to one partition achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// The partition written to.
    pub partition: i32,
    /// How many records went there.
    pub records: i32,
    /// Offset of the first; `None` with `acks = None`.
    pub base_offset: Option<i64>,
}

/// The codecs every client compresses and decompresses with.
static CODECS: Codecs = Codecs::new();

/// Current time in ms since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Milliseconds of `d`, saturating.
pub(crate) fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

/// `list` with [`DEFAULT_PORT`] added to every entry that names no port (`localhost`,
/// `[::1]`), as the Perl package and the Java client do.
fn with_default_ports(list: &str) -> String {
    let entries = list.split(',').map(str::trim).filter(|e| !e.is_empty());
    let with_port = entries.map(|entry| {
        let bracketed = entry.starts_with('[') && entry.ends_with(']');
        if bracketed || !entry.contains(':') {
            format!("{entry}:{DEFAULT_PORT}")
        } else {
            entry.to_owned()
        }
    });
    with_port.collect::<Vec<_>>().join(",")
}

/// A core cluster over TCP with `config`'s addresses, timeouts and retry policy; nothing is
/// opened until the first request.
pub(crate) fn new_cluster(config: &ClientConfig) -> Box<StdCluster> {
    let mut connector = SecureConnector::new(config.security.clone(), config.connect_timeout);
    connector.tcp.ip_version = config.ip_version;
    let cluster_config = ClusterConfig {
        bootstrap: with_default_ports(&config.bootstrap).into(),
        connection: ConnectionConfig {
            client_id: Some(config.client_id.as_str().into()),
            request_timeout_ms: millis(config.request_timeout),
        },
        send_attempts: config.send_attempts,
        receive_attempts: config.receive_attempts,
        retry_backoff_ms: millis(config.retry_backoff),
        allow_auto_topic_creation: config.allow_auto_topic_creation,
    };
    Box::new(Cluster::with_metadata_buffer(
        connector,
        SystemClock::new(),
        cluster_config,
        vec![0; 1 << 20],
    ))
}

/// `kind` in `context`, with the cluster's last connect failure when that explains it: the
/// broker address and I/O error, the TLS check that failed, or the SASL mechanism and the
/// broker's message.
pub(crate) fn cluster_error(
    cluster: &StdCluster,
    kind: nanokafka::Error,
    context: String,
) -> Error {
    let explains = matches!(
        kind,
        nanokafka::Error::Connect(_) | nanokafka::Error::NoKnownBrokers
    ) || kind.is_security()
        || cluster.connector().sasl_interrupted();
    match cluster.connector().describe_last_error() {
        Some(detail) if explains => Error::new(kind, format!("{context} ({detail})")),
        _ => Error::new(kind, context),
    }
}

/// A Kafka client over TCP: produce, fetch, offsets, metadata, topic creation; see the
/// [module docs](self).
pub struct Client {
    cluster: Box<StdCluster>,
    producer: Producer<'static, 1024>,
    consumer: Consumer<'static>,
    buf: Vec<u8>,
    scratch: Vec<u8>,
    bootstrap: String,
}

impl Client {
    /// Connects to the first reachable bootstrap broker and negotiates versions, so a wrong
    /// address fails here, not at the first send.
    /// Takes a [`ClientConfig`] or just the bootstrap list (`Client::connect("localhost")`,
    /// port [`DEFAULT_PORT`] where an entry names none).
    pub fn connect(config: impl Into<ClientConfig>) -> Result<Client> {
        let config = config.into();
        let checksum: &'static HardwareCrc32c = &HardwareCrc32c;
        let max_bytes = usize::try_from(config.max_bytes.max(1024)).unwrap_or(1 << 20);
        let mut client = Client {
            cluster: new_cluster(&config),
            producer: Producer::new(ProducerConfig {
                acks: config.acks,
                ack_timeout_ms: i32::try_from(millis(config.request_timeout)).unwrap_or(i32::MAX),
                idempotent: config.idempotent && config.acks == Acks::All,
                checksum,
                partitioner_seed: u32::try_from(now_ms() & 0xffff_ffff).unwrap_or(1),
                compression: config.compression,
                compressor: &CODECS,
            }),
            consumer: Consumer::new(ConsumerConfig {
                max_wait_ms: i32::try_from(millis(config.max_wait)).unwrap_or(i32::MAX),
                min_bytes: config.min_bytes,
                max_bytes: config.max_bytes,
                isolation_level: 0,
                checksum,
            }),
            buf: vec![0; max_bytes.saturating_add(64 << 10)],
            scratch: Vec::new(),
            bootstrap: config.bootstrap,
        };
        client
            .cluster
            .refresh_metadata(None, &mut client.buf)
            .map_err(|e| {
                client.error(e, format!("bootstrap metadata from {}", client.bootstrap))
            })?;
        Ok(client)
    }

    /// The core cluster, for requests this client has no method for.
    pub fn cluster(&mut self) -> &mut StdCluster {
        &mut self.cluster
    }

    /// Adds the broker address and I/O error of a failed connect to the context.
    pub(crate) fn error(&self, kind: nanokafka::Error, context: String) -> Error {
        cluster_error(&self.cluster, kind, context)
    }

    /// Sends `records` to `topic` (to `partition`, or spread by key when `None`); returns
    /// one [`Sent`] per partition written. The first partition that failed fails the call.
    pub fn send(
        &mut self,
        topic: &str,
        partition: Option<i32>,
        records: &[OwnedRecord],
    ) -> Result<Vec<Sent>> {
        let sent = self.send_batches(&[(topic, partition, records)])?;
        Ok(sent.into_iter().map(|(_, s)| s).collect())
    }

    /// Sends several topics' and partitions' records in as few requests as the leaders allow;
    /// returns (batch index, [`Sent`]) per partition written. The first partition that failed
    /// fails the call, naming its topic and partition.
    pub fn send_batches(
        &mut self,
        batches: &[(&str, Option<i32>, &[OwnedRecord])],
    ) -> Result<Vec<(usize, Sent)>> {
        let now = now_ms();
        let headers: Vec<Vec<Header<'_>>> = batches
            .iter()
            .flat_map(|(_, _, records)| records.iter())
            .map(|r| header_views(&r.headers))
            .collect();
        let mut headers = headers.iter();
        let records: Vec<Vec<Record<'_>>> = batches
            .iter()
            .map(|(_, _, records)| {
                records
                    .iter()
                    .map(|r| Record {
                        key: r.key.as_deref(),
                        value: r.value.as_deref(),
                        headers: headers.next().map(Vec::as_slice).unwrap_or_default(),
                        timestamp: r.timestamp.unwrap_or(now),
                    })
                    .collect()
            })
            .collect();
        let core_batches: Vec<ProduceBatch<'_>> = batches
            .iter()
            .zip(&records)
            .map(|((topic, partition, _), records)| ProduceBatch {
                topic,
                partition: *partition,
                records,
            })
            .collect();
        let size: usize = core_batches
            .iter()
            .flat_map(|b| b.records.iter())
            .map(|r| {
                r.key.map_or(0, <[u8]>::len)
                    + r.value.map_or(0, <[u8]>::len)
                    + r.headers
                        .iter()
                        .map(|h| h.key.len() + h.value.map_or(0, <[u8]>::len) + 10)
                        .sum::<usize>()
                    + 32
            })
            .sum();
        let needed = 2 * size + 64 * core_batches.len() + (64 << 10);
        if self.buf.len() < needed {
            self.buf.resize(needed, 0);
        }
        let max_deliveries: usize = core_batches.iter().map(|b| b.records.len().max(1)).sum();
        let mut deliveries = vec![Delivery::default(); max_deliveries];
        let what = || {
            let names: Vec<String> = batches
                .iter()
                .map(|(t, p, _)| match p {
                    Some(p) => format!("{t}/{p}"),
                    None => (*t).to_owned(),
                })
                .collect();
            format!("producing to {}", names.join(", "))
        };
        let n = self
            .producer
            .send_batches(
                &mut self.cluster,
                &core_batches,
                &mut deliveries,
                &mut self.buf,
            )
            .map_err(|e| self.error(e, what()))?;
        let mut sent = Vec::with_capacity(n);
        for d in deliveries.iter().take(n) {
            let topic = batches.get(d.batch).map(|b| b.0).unwrap_or_default();
            if let Some(e) = d.error {
                return Err(self.error(
                    e,
                    format!("producing to topic {topic:?} partition {}", d.partition),
                ));
            }
            sent.push((
                d.batch,
                Sent {
                    partition: d.partition,
                    records: d.record_count,
                    base_offset: d.base_offset,
                },
            ));
        }
        Ok(sent)
    }

    /// The offset `query` names in `topic`/`partition`; `None` when no record has a
    /// timestamp at or after the one asked for.
    pub fn offset(
        &mut self,
        topic: &str,
        partition: i32,
        query: OffsetQuery,
    ) -> Result<Option<i64>> {
        self.consumer
            .offset(&mut self.cluster, topic, partition, query, &mut self.buf)
            .map_err(|e| {
                self.error(
                    e,
                    format!("looking up {query:?} offset of topic {topic:?} partition {partition}"),
                )
            })
    }

    /// Fetches the records of `topic`/`partition` from `offset` (at most `max_bytes`, at
    /// least one whole batch), as owned messages, decompressing compressed batches.
    pub fn fetch(&mut self, topic: &str, partition: i32, offset: i64) -> Result<Vec<Message>> {
        let mut messages = Vec::new();
        self.fetch_with(topic, partition, offset, |record| {
            messages.push(Message::from_view(partition, &record));
            Ok(())
        })?;
        Ok(messages)
    }

    /// Like [`Client::fetch`], calling `f` with each record read in place (no copies).
    /// Returns the offset to fetch next.
    pub fn fetch_with(
        &mut self,
        topic: &str,
        partition: i32,
        offset: i64,
        f: impl FnMut(RecordView<'_>) -> Result<(), nanokafka::Error>,
    ) -> Result<i64> {
        let context =
            || format!("fetching topic {topic:?} partition {partition} from offset {offset}");
        if self.scratch.is_empty() {
            // Room for one batch's records uncompressed.
            self.scratch = vec![0; self.buf.len().saturating_mul(4)];
        }
        let result = (|| {
            let fetched =
                self.consumer
                    .fetch(&mut self.cluster, topic, partition, offset, &mut self.buf)?;
            fetched.for_each_record(&CODECS, &mut self.scratch, f)?;
            fetched.next_offset()
        })();
        result.map_err(|e| self.error(e, context()))
    }

    /// Stores `offset` (the next record to consume) for consumer group `group` in
    /// `topic`/`partition`.
    pub fn commit(&mut self, group: &str, topic: &str, partition: i32, offset: i64) -> Result<()> {
        self.consumer
            .commit(&mut self.cluster, group, topic, partition, offset, &mut self.buf)
            .map_err(|e| {
                self.error(
                    e,
                    format!("committing offset {offset} of group {group:?} for topic {topic:?} partition {partition}"),
                )
            })
    }

    /// The offset `group` committed for `topic`/`partition`, if any.
    pub fn committed(&mut self, group: &str, topic: &str, partition: i32) -> Result<Option<i64>> {
        self.consumer
            .committed(&mut self.cluster, group, topic, partition, &mut self.buf)
            .map_err(|e| {
                self.error(
                    e,
                    format!("reading the offset of group {group:?} for topic {topic:?} partition {partition}"),
                )
            })
    }

    /// Brokers and topics (`None`: all topics), as the cluster describes them now.
    pub fn metadata(&mut self, topics: Option<&[&str]>) -> Result<ClusterMetadata> {
        let names: Option<Vec<MetadataTopic<'_>>> =
            topics.map(|t| t.iter().map(|name| MetadataTopic::named(name)).collect());
        let mut request = MetadataRequest::new(names.as_deref());
        request.allow_auto_topic_creation = false;
        let context = || match topics {
            Some(t) => format!("describing topics {t:?}"),
            None => "describing the cluster".to_owned(),
        };
        let received = self
            .cluster
            .send_any(&request, &mut self.buf)
            .map_err(|e| self.error(e, context()))?;
        let response = received
            .decode::<MetadataRequest>(&self.buf)
            .map_err(|e| Error::new(e, context()))?;
        let ids = |a: nanokafka::wire::Array<'_, i32>| a.iter().collect::<Vec<_>>();
        Ok(ClusterMetadata {
            brokers: response
                .brokers
                .iter()
                .map(|b| BrokerInfo {
                    node_id: b.node_id,
                    host: b.host.to_owned(),
                    port: b.port,
                })
                .collect(),
            controller_id: response.controller_id,
            topics: response
                .topics
                .iter()
                .map(|t| TopicInfo {
                    name: t.name.unwrap_or_default().to_owned(),
                    error: t.error_code.check(nanokafka::ApiKey::Metadata).err(),
                    partitions: t
                        .partitions
                        .iter()
                        .map(|p| PartitionInfo {
                            partition: p.partition_index,
                            leader: p.leader_id,
                            replicas: ids(p.replica_nodes),
                            isr: ids(p.isr_nodes),
                        })
                        .collect(),
                })
                .collect(),
        })
    }

    /// The number of partitions of `topic`.
    pub fn partition_count(&mut self, topic: &str) -> Result<u32> {
        self.cluster
            .partition_count(topic, &mut self.buf)
            .map_err(|e| self.error(e, format!("looking up topic {topic:?}")))
    }
}

/// What [`crate::admin`]'s methods of [`Client`] reach into.
impl Client {
    /// The cluster and the receive buffer.
    pub(crate) fn admin_parts(&mut self) -> (&mut StdCluster, &mut Vec<u8>) {
        (&mut self.cluster, &mut self.buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_entries_without_a_port_get_the_default_port() {
        assert_eq!(with_default_ports("localhost"), "localhost:9092");
        assert_eq!(
            with_default_ports(" a:1, b ,[::1],[::1]:7,,"),
            "a:1,b:9092,[::1]:9092,[::1]:7"
        );
        let config: ClientConfig = "localhost".into();
        assert_eq!(with_default_ports(&config.bootstrap), "localhost:9092");
    }
}
