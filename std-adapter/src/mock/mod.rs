//! An in-process Kafka-compatible broker for tests, examples and the CLI's no-broker mode.
//!
//! [`MockCluster`] holds one or more brokers (node ids `1..=n`), topics and partitions with
//! logs of record batches, committed offsets and fault injections, all behind one mutex, and
//! speaks the real wire protocol: over TCP ([`MockCluster::serve_tcp`], a thread per
//! connection) and over the core's in-memory transport ([`MockCluster::memory_handler`]).
//! Both go through the same sans-IO [`MockCluster::handle_frame`].
//!
//! Requests are decoded and responses encoded with the independent `kafka-protocol` crate,
//! so the mock does not repeat nanokafka's own codec mistakes; produced batches are checked
//! (magic 2, CRC-32C) with nanokafka's record reader and stored opaquely, so compressed
//! batches are kept and served as they came.
//!
//! Served: ApiVersions 0-4, Metadata 0-13, Produce 3-13 (acks 0, 1, -1), Fetch 4-18,
//! ListOffsets 1-10, CreateTopics 2-7, FindCoordinator 0-6, OffsetCommit 2-9, OffsetFetch 1-9,
//! InitProducerId 0-5, and SaslHandshake 1 + SaslAuthenticate 0-2 when SASL is required
//! ([`MockConfig::sasl_user`]: PLAIN, SCRAM-SHA-256/512, refusals with Kafka's codes and
//! messages, no other request before authentication, sessions that expire). Any other API, a version outside these ranges (except ApiVersions,
//! which answers UNSUPPORTED_VERSION as Kafka does) or a request that does not decode closes
//! the connection, as Kafka does, with a `log` warning; every request gets a `log` debug line.
//!
//! ```
//! use nanokafka::client::{Connection, ConnectionConfig};
//! use nanokafka::protocol::metadata::MetadataRequest;
//! use nanokafka_std::mock::MockCluster;
//! use nanokafka_std::{StdTransport, SystemClock};
//! use std::time::Duration;
//!
//! let cluster = MockCluster::default();
//! cluster.create_topic("telemetry", 2)?;
//! let server = cluster.serve_tcp()?;
//! let transport = StdTransport::connect(&server.bootstrap(), Duration::from_secs(1))?;
//! let mut buf = vec![0u8; 64 * 1024];
//! let mut broker = Connection::connect(transport, SystemClock::new(), ConnectionConfig::default(), &mut buf)?;
//! let metadata = broker.send(&MetadataRequest::new(None), &mut buf)?;
//! assert_eq!(metadata.topic("telemetry").map(|t| t.partitions.len()), Some(2));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod apis;
mod guard;
mod handler;
mod memory;
mod sasl;
mod state;
mod tcp;
#[cfg(test)]
mod tests;

pub use memory::{MockConnector, MockHandler};
pub use sasl::MockSasl;
pub use tcp::{read_frame, MockServer};

use nanokafka::{ApiKey, KafkaCode};
use state::State;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// How a [`MockCluster`] is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockConfig {
    /// Number of brokers, node ids `1..=brokers`.
    pub brokers: i32,
    /// Whether Metadata and Produce create unknown topics (Kafka's `auto.create.topics.enable`).
    pub auto_create_topics: bool,
    /// Partitions of an auto-created topic (Kafka's `num.partitions`).
    pub default_partitions: i32,
    /// Largest record batch a Produce may carry (Kafka's `message.max.bytes`): larger ones are
    /// refused with MESSAGE_TOO_LARGE.
    pub message_max_bytes: usize,
    /// Reported in Metadata v2+.
    pub cluster_id: String,
    /// SASL every connection must pass first (a Kafka `SASL_PLAINTEXT` listener); `None`:
    /// none (PLAINTEXT). Set with [`MockConfig::sasl_user`].
    pub sasl: Option<MockSasl>,
}

impl MockConfig {
    /// Requires SASL of every connection and adds user `name` with `password`, for every
    /// enabled mechanism (by default PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512).
    ///
    /// ```
    /// # use nanokafka_std::mock::{MockCluster, MockConfig};
    /// let cluster = MockCluster::new(MockConfig::default().sasl_user("alice", "alice-secret"));
    /// ```
    pub fn sasl_user(mut self, name: &str, password: &str) -> Self {
        self.sasl
            .get_or_insert_with(MockSasl::default)
            .add_user(name, password);
        self
    }

    /// Requires SASL and enables only `mechanisms` (Kafka's `sasl.enabled.mechanisms`).
    pub fn sasl_mechanisms(mut self, mechanisms: &[nanokafka::sasl::Mechanism]) -> Self {
        self.sasl.get_or_insert_with(MockSasl::default).mechanisms = mechanisms.to_vec();
        self
    }

    /// Requires SASL with sessions that last `lifetime` (Kafka's
    /// `connections.max.reauth.ms`): a connection used after it without authenticating again
    /// is closed.
    pub fn session_lifetime(mut self, lifetime: Duration) -> Self {
        self.sasl
            .get_or_insert_with(MockSasl::default)
            .session_lifetime = Some(lifetime);
        self
    }
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            brokers: 1,
            auto_create_topics: true,
            default_partitions: 3,
            message_max_bytes: 1_048_588,
            cluster_id: "nanokafka-mock".into(),
            sasl: None,
        }
    }
}

/// A refused [`MockCluster`] set-up call: the broker's code and what was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockError {
    /// Why, as the broker would say it.
    pub code: KafkaCode,
    /// The call and its topic/partition/broker, e.g. `create topic orders`.
    pub what: String,
}

impl std::fmt::Display for MockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "mock cluster: {}: {}", self.what, self.code)
    }
}

impl std::error::Error for MockError {}

/// What a fault does to the requests it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FaultKind {
    /// Answer with this code where the fault's topic/partition filter matches.
    Error {
        code: KafkaCode,
        topic: Option<String>,
        partition: Option<i32>,
    },
    /// Close the connection instead of answering.
    Drop,
    /// Handle the request, then close the connection instead of answering.
    DropAfter,
    /// Hold the request this long before handling it.
    Delay(Duration),
}

/// A fault for the next requests that match it (by default: the next one, of any API, on
/// any broker), for tests of retries and timeouts.
///
/// ```
/// # use nanokafka_std::mock::{Fault, MockCluster};
/// # use nanokafka::{ApiKey, KafkaCode};
/// # let cluster = MockCluster::default();
/// // The next two Produce requests to broker 1 get NOT_LEADER_OR_FOLLOWER for orders/0.
/// cluster.inject(
///     Fault::error(KafkaCode::NOT_LEADER_OR_FOLLOWER)
///         .api(ApiKey::Produce)
///         .broker(1)
///         .partition("orders", 0)
///         .times(2),
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    api: Option<ApiKey>,
    broker: Option<i32>,
    times: usize,
    kind: FaultKind,
}

impl Fault {
    fn new(kind: FaultKind) -> Fault {
        Fault {
            api: None,
            broker: None,
            times: 1,
            kind,
        }
    }

    /// Answer with `code` instead of handling: for every topic and partition of the request
    /// (narrow it with [`Fault::topic`] / [`Fault::partition`]), or in the top-level error of
    /// APIs that have no partitions. A refused Produce is not appended.
    pub fn error(code: KafkaCode) -> Fault {
        Fault::new(FaultKind::Error {
            code,
            topic: None,
            partition: None,
        })
    }

    /// Close the connection instead of answering (the request is not handled).
    pub fn drop_connection() -> Fault {
        Fault::new(FaultKind::Drop)
    }

    /// Handle the request (a Produce is stored), then close the connection without the
    /// answer: the client cannot tell whether it was stored.
    pub fn drop_after_handling() -> Fault {
        Fault::new(FaultKind::DropAfter)
    }

    /// Hold the request for `delay` before handling it.
    pub fn delay(delay: Duration) -> Fault {
        Fault::new(FaultKind::Delay(delay))
    }

    /// Only requests of `api`.
    pub fn api(mut self, api: ApiKey) -> Fault {
        self.api = Some(api);
        self
    }

    /// Only requests to broker `node_id`.
    pub fn broker(mut self, node_id: i32) -> Fault {
        self.broker = Some(node_id);
        self
    }

    /// An error fault only for `topic` (all its partitions).
    pub fn topic(mut self, name: &str) -> Fault {
        if let FaultKind::Error { topic, .. } = &mut self.kind {
            *topic = Some(name.to_owned());
        }
        self
    }

    /// An error fault only for partition `index` of `topic`.
    pub fn partition(mut self, name: &str, index: i32) -> Fault {
        if let FaultKind::Error {
            topic, partition, ..
        } = &mut self.kind
        {
            *topic = Some(name.to_owned());
            *partition = Some(index);
        }
        self
    }

    /// For the next `n` matching requests instead of one. An error fault counts only the
    /// requests it changed.
    pub fn times(mut self, n: usize) -> Fault {
        self.times = n;
        self
    }
}

/// What the broker does with one request frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Send this response frame (size prefix included).
    Frame(Vec<u8>),
    /// Send nothing (Produce with acks=0).
    Nothing,
    /// Close the connection: an unsupported or malformed request, an injected drop, or the
    /// broker is down.
    Close,
}

/// The state shared by every handle, listener and connection.
#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// Signalled when records are appended (for Fetch's long poll) or a broker stops.
    changed: Condvar,
}

/// An in-process Kafka cluster; clones share the same cluster.
#[derive(Debug, Clone)]
pub struct MockCluster {
    shared: Arc<Shared>,
}

impl Default for MockCluster {
    /// One broker, auto-created topics with 3 partitions.
    fn default() -> Self {
        MockCluster::new(MockConfig::default())
    }
}

impl MockCluster {
    /// A cluster as `config` says, with no topics.
    pub fn new(config: MockConfig) -> Self {
        MockCluster {
            shared: Arc::new(Shared {
                state: Mutex::new(State::new(config)),
                changed: Condvar::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves consistent data: keep serving.
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Appends `entries`, stored as they are and served to Fetch as they are, ending at
    /// `last_offset`: for old-format data (legacy MessageSet v0/v1 messages, which a 3.x
    /// broker keeps and serves unconverted) that no client can produce any more.
    /// An unknown `topic`/`partition` is `UNKNOWN_TOPIC_OR_PARTITION`.
    pub fn append_stored(
        &self,
        topic: &str,
        partition: i32,
        entries: &[u8],
        last_offset: i64,
    ) -> Result<(), MockError> {
        let mut state = self.lock();
        let log = state
            .partition_mut(topic, partition)
            .map(|p| &mut p.log)
            .ok_or_else(|| MockError {
                code: KafkaCode::UNKNOWN_TOPIC_OR_PARTITION,
                what: format!("append stored entries to {topic}/{partition}"),
            })?;
        log.batches.push(state::StoredBatch {
            base_offset: log.high_watermark,
            last_offset,
            max_timestamp: -1,
            data: bytes::Bytes::copy_from_slice(entries),
        });
        log.high_watermark = last_offset.saturating_add(1);
        Ok(())
    }

    /// Creates `name` with `partitions` partitions, leaders spread over the brokers.
    /// Refused with TOPIC_ALREADY_EXISTS, INVALID_TOPIC_EXCEPTION or INVALID_PARTITIONS.
    pub fn create_topic(&self, name: &str, partitions: i32) -> Result<(), MockError> {
        self.lock()
            .create_topic(name, partitions, None)
            .map(|_| ())
            .map_err(|code| MockError {
                code,
                what: format!("create topic {name} with {partitions} partitions"),
            })
    }

    /// Moves the leadership of `topic`/`partition` to broker `node_id` (and bumps its leader
    /// epoch): the old leader answers NOT_LEADER_OR_FOLLOWER from now on and Metadata names
    /// the new one.
    pub fn move_leader(&self, topic: &str, partition: i32, node_id: i32) -> Result<(), MockError> {
        let error = |code| MockError {
            code,
            what: format!("move the leader of {topic}/{partition} to broker {node_id}"),
        };
        let mut state = self.lock();
        if state.broker(node_id).is_none() {
            return Err(error(KafkaCode::BROKER_NOT_AVAILABLE));
        }
        let p = state
            .partition_mut(topic, partition)
            .ok_or_else(|| error(KafkaCode::UNKNOWN_TOPIC_OR_PARTITION))?;
        p.leader = node_id;
        p.leader_epoch = p.leader_epoch.saturating_add(1);
        log::info!("mock: {topic}/{partition} now led by broker {node_id}");
        Ok(())
    }

    /// Takes broker `node_id` down: its listener refuses connections, its connections close
    /// and the other brokers leave it out of Metadata (its partitions have no leader). False
    /// if there is no such broker.
    pub fn stop_broker(&self, node_id: i32) -> bool {
        self.set_up(node_id, false)
    }

    /// Brings broker `node_id` back up.
    pub fn start_broker(&self, node_id: i32) -> bool {
        self.set_up(node_id, true)
    }

    fn set_up(&self, node_id: i32, up: bool) -> bool {
        let found = self.lock().broker_mut(node_id).map(|b| b.up = up).is_some();
        self.shared.changed.notify_all();
        found
    }

    /// Makes broker `node_id` advertise `host`:`port` in Metadata and FindCoordinator from
    /// now on (its listener stays where it is): for a client that reaches the broker under
    /// another address, such as a VM behind QEMU's user networking (10.0.2.2 is the host).
    /// One address at a time: switch back before clients of the real address ask again.
    /// False if there is no such broker.
    pub fn advertise(&self, node_id: i32, host: &str, port: u16) -> bool {
        let mut state = self.lock();
        let broker = state.broker_mut(node_id);
        broker
            .map(|b| {
                b.host = host.to_owned();
                b.port = i32::from(port);
            })
            .is_some()
    }

    /// Arms `fault`; faults are tried in the order they were armed.
    pub fn inject(&self, fault: Fault) {
        self.lock().faults.push(fault);
    }

    /// Disarms every fault.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// Faults still armed (a fault disarms itself when its count is used up).
    pub fn armed_faults(&self) -> usize {
        self.lock().faults.len()
    }

    /// Each broker's node id and advertised `host:port` (`broker-N.mock:9092` until
    /// [`MockCluster::serve_tcp`] binds real ports).
    pub fn brokers(&self) -> Vec<(i32, String)> {
        self.lock()
            .brokers
            .iter()
            .map(|b| (b.node_id, format!("{}:{}", b.host, b.port)))
            .collect()
    }

    /// Every broker's advertised address, comma-separated: a bootstrap list for a
    /// [`MockConnector`] (or, once served, for TCP clients).
    pub fn bootstrap(&self) -> String {
        self.brokers()
            .into_iter()
            .map(|(_, address)| address)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The broker advertising `host:port`, if it is up.
    fn live_node_at(&self, host: &str, port: u16) -> Option<i32> {
        self.lock()
            .live_brokers()
            .find(|b| b.host == host && b.port == i32::from(port))
            .map(|b| b.node_id)
    }

    /// The leader of `topic`/`partition`, if the partition exists.
    pub fn leader(&self, topic: &str, partition: i32) -> Option<i32> {
        self.lock().partition(topic, partition).map(|p| p.leader)
    }

    /// The high watermark (next offset) of `topic`/`partition`, if the partition exists.
    pub fn high_watermark(&self, topic: &str, partition: i32) -> Option<i64> {
        self.lock()
            .partition(topic, partition)
            .map(|p| p.log.high_watermark)
    }

    /// The stored batches of `topic`/`partition`, as a Fetch serves them.
    pub fn batches(&self, topic: &str, partition: i32) -> Vec<Vec<u8>> {
        self.lock()
            .partition(topic, partition)
            .map(|p| p.log.batches.iter().map(|b| b.data.to_vec()).collect())
            .unwrap_or_default()
    }

    /// The offset `group` committed for `topic`/`partition`, if any.
    pub fn committed(&self, group: &str, topic: &str, partition: i32) -> Option<i64> {
        self.lock()
            .committed
            .get(&(group.to_owned(), topic.to_owned(), partition))
            .map(|c| c.offset)
    }

    /// How many requests of each (API key, version) the brokers have decoded and handled,
    /// e.g. to see which versions a client chose.
    pub fn requests_seen(&self) -> Vec<((i16, i16), u64)> {
        self.lock().seen.iter().map(|(&k, &n)| (k, n)).collect()
    }

    /// Handles one request frame (size prefix included) as broker `node_id` would, without
    /// waiting: a Fetch answers at once with what there is. Never panics, whatever the bytes.
    /// Each frame is its own connection: with SASL required, only ApiVersions and SASL
    /// requests are answered.
    pub fn handle_frame(&self, node_id: i32, frame: &[u8]) -> Reply {
        handler::handle_frame(
            self,
            node_id,
            frame,
            &mut sasl::Session::default(),
            None,
            None,
        )
    }

    /// The far end of a [`nanokafka::client::memory::MemoryTransport`] to broker `node_id`
    /// (for the core's `Cluster`, [`MockConnector`] opens these by address).
    pub fn memory_handler(&self, node_id: i32) -> MockHandler {
        MockHandler::new(self.clone(), node_id)
    }

    /// Serves every broker over TCP on `127.0.0.1`, each on a free port; the brokers then
    /// advertise those addresses. Listeners stop when the returned server is dropped.
    pub fn serve_tcp(&self) -> std::io::Result<MockServer> {
        let count = self.lock().brokers.len();
        let any = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        self.serve_tcp_on(&vec![any; count])
    }

    /// Serves broker `i + 1` on `addresses[i]` (port 0: a free one).
    pub fn serve_tcp_on(&self, addresses: &[std::net::SocketAddr]) -> std::io::Result<MockServer> {
        MockServer::start(self.clone(), addresses)
    }
}
