//! The throughput producer: records accumulate per partition into record batches, a
//! background sender thread ships them with several Produce requests in flight per
//! connection, and every record's outcome is reported to a callback.
//!
//! ```no_run
//! use nanokafka::records::Record;
//! use nanokafka_std::producer::{Producer, ProducerConfig};
//! use nanokafka_std::{now_ms, ClientConfig};
//!
//! let mut config = ProducerConfig::new(ClientConfig::new("127.0.0.1:9092"));
//! config.on_delivery = Some(Box::new(|d| {
//!     if let Some(e) = d.error {
//!         eprintln!("record {} to {}/{} failed: {e}", d.id, d.topic, d.partition);
//!     }
//! }));
//! let producer = Producer::new(config)?;
//! for i in 0..1_000_000u32 {
//!     let value = i.to_be_bytes();
//!     let record = Record { key: None, value: Some(&value), headers: &[], timestamp: now_ms() };
//!     producer.send("telemetry", None, &record)?; // blocks while the buffer is full
//! }
//! producer.flush()?; // every record acknowledged, or the first failure
//! # Ok::<(), nanokafka_std::Error>(())
//! ```
//!
//! How it works (the Java producer's design, on the core's codec):
//! - [`Producer::send`] encodes the record at once into its partition's open batch (a
//!   [`RecordBatchBuilder`] resumed on a buffer from a pool): no copy of the record is kept
//!   and nothing is allocated per record once the pool is warm.
//! - A batch is ready when it is full (`batch_size` bytes), `linger` has passed since its
//!   first record, or [`Producer::flush`] asks. The sender thread takes ready batches, one
//!   Produce request per leader holding every ready partition (up to `max_request_size`),
//!   and writes it without waiting for the answer ([`Connection::send_request`]); up to
//!   `max_in_flight` requests are outstanding per connection, answered in order.
//! - Ordering per partition: idempotent, a partition has up to 5 batches in flight (and at
//!   most `max_in_flight`), as the Java client allows: their sequence numbers let the broker
//!   refuse any that would land out of order (OUT_OF_ORDER_SEQUENCE_NUMBER behind an earlier
//!   failure), and a batch to retry goes back in front of the later ones of its partition,
//!   which are resent after it in sequence order. Without idempotence a partition has one
//!   batch in flight, so a retried batch is always resent before the next one (Java's
//!   guarantee without idempotence). Other partitions' batches fill the pipeline meanwhile.
//! - Retriable failures (leader moved, broker restarting, timeouts) are retried with a
//!   metadata refresh and the backoff, up to the client's `send_attempts` requests and its
//!   `delivery_timeout` from the batch's first record, whichever ends first; other failures,
//!   and the last attempt's, are reported per record.
//! - Idempotent by default (`client.idempotent` with `acks = All`): batches carry a
//!   producer id and sequence numbers given once and kept across retries, so a retry of an
//!   append whose answer was lost is dropped by the broker. A batch given up after a request
//!   carrying it went unanswered is reported as `MaybeStored`, and the producer takes a new
//!   producer id so that later batches are not refused. The produce logic (request
//!   assembly, answers, sequences) is the core's `client::engine::produce`.
//! - Batches are compressed with the client's `compression` (the std [`Codecs`]) when they
//!   are finished, on the sender thread; their buffers then hold the codec's output too.
//! - Memory is bounded: batches in use (open, waiting, in flight) may hold at most
//!   `buffer_memory` bytes. A send that needs more waits up to `max_block` for deliveries to
//!   free some, then fails with [`nanokafka::Error::QueueFull`] (`max_block` zero: at once).
//!
//! [`Connection::send_request`]: nanokafka::client::Connection::send_request

use crate::client::{cluster_error, millis, new_cluster, Client, ClientConfig, Error, StdCluster};
use crate::compression::Codecs;
use crate::crc::HardwareCrc32c;
use nanokafka::client::engine::produce::{
    answer_for, producer_id_in, stamp_batch, with_request, BatchState, Outcome, PartitionState,
    Prepared, ProduceEngine, ReadyBatch, INIT_PRODUCER_ID, MAX_IN_FLIGHT_IDEMPOTENT,
};
use nanokafka::client::{Acks, Pending};
use nanokafka::partitioner::{partition_for_key, StickyPartitioner};
use nanokafka::protocol::init_producer_id::InitProducerIdRequest;
use nanokafka::protocol::produce::{ProduceRequest, TOPIC_ID_FROM};
use nanokafka::protocol::TopicRef;
use nanokafka::records::{
    BatchOptions, BuilderState, Compression, Record, RecordBatchBuilder, BATCH_HEADER_LEN,
};
use nanokafka::{ApiKey, KafkaCode};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The outcome of one record, given to [`ProducerConfig::on_delivery`].
#[derive(Debug)]
pub struct Delivery<'a> {
    /// The id [`Producer::send`] returned for the record.
    pub id: u64,
    /// Its topic.
    pub topic: &'a str,
    /// Its partition.
    pub partition: i32,
    /// Its offset in the partition; `None` with `acks = None` or on error.
    pub offset: Option<i64>,
    /// Why it was not written (after all attempts).
    pub error: Option<&'a Error>,
}

/// Called on the sender thread with every record's outcome, in order within a partition.
pub type DeliveryCallback = Box<dyn FnMut(&Delivery<'_>) + Send>;

/// How a [`Producer`] batches, pipelines and bounds its memory.
pub struct ProducerConfig {
    /// Brokers, client id, timeouts, acks, attempts and backoff.
    pub client: ClientConfig,
    /// How long a batch waits for more records after its first (Java and librdkafka: 5 ms).
    pub linger: Duration,
    /// Bytes per partition batch; a batch this full is sent at once. A larger record gets a
    /// batch of its own.
    pub batch_size: usize,
    /// Most records per batch (librdkafka's `batch.num.messages`).
    pub batch_records: usize,
    /// Bytes of batches in use at once (open, waiting and in flight).
    pub buffer_memory: usize,
    /// How long [`Producer::send`] waits for buffer memory before `QueueFull`.
    pub max_block: Duration,
    /// Produce requests in flight per broker connection; also the batches of one partition
    /// in flight when idempotent (at most 5, the broker's limit), else one per partition.
    pub max_in_flight: usize,
    /// Bytes of record batches per Produce request.
    pub max_request_size: usize,
    /// Every record's outcome; `None`: only [`Producer::flush`] reports failures.
    pub on_delivery: Option<DeliveryCallback>,
}

impl ProducerConfig {
    /// Defaults for throughput: linger 5 ms, batches of 1,000,000 bytes (librdkafka's
    /// `batch.size`; a batch must stay within the topic's `max.message.bytes`, 1 MiB by
    /// default) and at most 10,000 records, 32 MiB of buffers (Java's `buffer.memory`),
    /// back-pressure up to 60 s, 5 requests in flight of at most 4 MiB.
    pub fn new(client: ClientConfig) -> Self {
        ProducerConfig {
            client,
            linger: Duration::from_millis(5),
            batch_size: 1_000_000,
            batch_records: 10_000,
            buffer_memory: 32 << 20,
            max_block: Duration::from_secs(60),
            max_in_flight: 5,
            max_request_size: 4 << 20,
            on_delivery: None,
        }
    }
}

impl std::fmt::Debug for ProducerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProducerConfig")
            .field("client", &self.client)
            .field("linger", &self.linger)
            .field("batch_size", &self.batch_size)
            .field("batch_records", &self.batch_records)
            .field("buffer_memory", &self.buffer_memory)
            .field("max_block", &self.max_block)
            .field("max_in_flight", &self.max_in_flight)
            .field("max_request_size", &self.max_request_size)
            .finish_non_exhaustive()
    }
}

/// A batch buffer and the ids of the records in it, pooled together.
struct Batch {
    topic: Arc<str>,
    /// Its topic's place in [`State::topics`].
    topic_index: usize,
    partition: i32,
    /// The topic's id when the request named topics by id.
    topic_id: Option<[u8; 16]>,
    /// The records' bytes in front; behind them (`room..`), when compressing, space for the
    /// codec's output while the batch is finished.
    bytes: Vec<u8>,
    /// How many bytes the records may fill.
    room: usize,
    state: BuilderState,
    ids: Vec<u64>,
    /// When its first record arrived (linger runs from here).
    opened: Instant,
    /// Its delivery progress (sequence stamp, attempts, deadline), once finished.
    progress: BatchState,
    /// Finished (length and CRC written): `bytes[..len]` is the batch.
    len: usize,
}

#[derive(Default)]
struct PartitionQueue {
    open: Option<Batch>,
    /// Full batches waiting for the sender, oldest first (retried ones back in their place).
    waiting: VecDeque<Batch>,
    /// Its batches with the sender (taken, in flight or being settled), at most
    /// [`Sender::partition_limit`].
    with_sender: usize,
    /// After a failed attempt: not before this.
    retry_at: Option<Instant>,
}

struct TopicState {
    name: Arc<str>,
    partitions: Vec<PartitionQueue>,
    sticky: StickyPartitioner,
}

struct State {
    /// Every topic sent to, never removed (batches name theirs by index here).
    topics: Vec<TopicState>,
    /// Index of each topic in `topics`.
    topic_index: HashMap<Arc<str>, usize>,
    /// The topic of the last send: consecutive sends to one topic skip the hash lookup.
    last_topic: usize,
    /// Free buffers of `batch_size` bytes.
    pool: Vec<(Vec<u8>, Vec<u64>)>,
    /// Bytes of batches in use (not in the pool).
    in_use: usize,
    next_id: u64,
    /// Records completed (acknowledged or failed).
    completed: u64,
    /// Flushes waiting (every batch is ready at once while there is one).
    flushes: Vec<FlushWait>,
    /// Tells flushes apart.
    next_flush: u64,
    closing: bool,
    /// The first failure since the last flush.
    failure: Option<Error>,
    /// The sender thread died: every send fails with this.
    dead: Option<nanokafka::Error>,
}

/// A [`Producer::flush`] waiting for the records queued before it.
struct FlushWait {
    token: u64,
    /// Records with lower ids are waited for.
    target: u64,
    /// How many of them are not completed yet.
    remaining: u64,
}

impl State {
    /// The index of `topic` in `topics`, if it was sent to before.
    fn find(&self, topic: &str) -> Option<usize> {
        match self.topics.get(self.last_topic) {
            Some(t) if &*t.name == topic => Some(self.last_topic),
            _ => self.topic_index.get(topic).copied(),
        }
    }

    /// Starts keeping batches for `topic`, which has `partitions` partitions.
    fn add_topic(&mut self, topic: &str, partitions: u32) -> usize {
        let name: Arc<str> = Arc::from(topic);
        let index = self.topics.len();
        self.topics.push(TopicState {
            name: name.clone(),
            partitions: (0..partitions).map(|_| PartitionQueue::default()).collect(),
            sticky: StickyPartitioner::new(crate::client::now_ms() as u32 | 1),
        });
        self.topic_index.insert(name, index);
        index
    }
}

struct Shared {
    state: Mutex<State>,
    /// The sender has work: a new or full batch, a flush, closing.
    work: Condvar,
    /// Memory was freed or records completed.
    progress: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The pipelined, batching producer; see the [module docs](self). `send` takes `&self`:
/// share it between threads with an `Arc`.
pub struct Producer {
    shared: Arc<Shared>,
    /// For partition counts of topics not seen yet (the sender has its own cluster).
    metadata: Mutex<Client>,
    batch_size: usize,
    batch_records: usize,
    buffer_memory: usize,
    max_block: Duration,
    /// Batches are compressed: their buffers hold the codec's output too.
    compressing: bool,
    sender: Option<JoinHandle<()>>,
}

impl Producer {
    /// Connects (a wrong address fails here) and starts the sender thread. With
    /// `client.idempotent` and `acks = All` (the defaults) the producer is idempotent: it gets
    /// a producer id and numbers its batches, so that no retry stores a record twice; with
    /// other acks, or a broker without InitProducerId, it is not.
    pub fn new(config: ProducerConfig) -> Result<Producer, Error> {
        let compressing = config.client.compression != Compression::None;
        if buffer_size(config.batch_size, compressing) > config.buffer_memory
            || config.max_in_flight == 0
        {
            return Err(Error::new(
                nanokafka::Error::InvalidArgument(
                    "a batch (twice batch_size when compressing) must fit buffer_memory, and max_in_flight be at least 1",
                ),
                "starting the producer",
            ));
        }
        let metadata = Client::connect(config.client.clone())?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                topics: Vec::new(),
                topic_index: HashMap::new(),
                last_topic: 0,
                pool: Vec::new(),
                in_use: 0,
                next_id: 0,
                completed: 0,
                flushes: Vec::new(),
                next_flush: 0,
                closing: false,
                failure: None,
                dead: None,
            }),
            work: Condvar::new(),
            progress: Condvar::new(),
        });
        let (batch_size, batch_records) = (config.batch_size, config.batch_records.max(1));
        let (buffer_memory, max_block) = (config.buffer_memory, config.max_block);
        let cluster = new_cluster(&config.client);
        let sender = Sender::new(config, cluster, shared.clone());
        let sender = std::thread::Builder::new()
            .name("nanokafka-sender".into())
            .spawn(move || sender.run())
            .map_err(|_| {
                Error::new(
                    nanokafka::Error::InvalidArgument("cannot start a thread"),
                    "starting the producer",
                )
            })?;
        Ok(Producer {
            shared,
            metadata: Mutex::new(metadata),
            batch_size,
            batch_records,
            buffer_memory,
            max_block,
            compressing,
            sender: Some(sender),
        })
    }

    /// Queues `record` for `topic` (to `partition`, or by key hash, sticky for null keys) and
    /// returns its id for [`Delivery::id`]. Waits up to `max_block` while the buffer memory
    /// is in use, then fails with `QueueFull`. A record larger than `buffer_memory` is
    /// `MessageTooLarge`.
    pub fn send(
        &self,
        topic: &str,
        partition: Option<i32>,
        record: &Record<'_>,
    ) -> Result<u64, Error> {
        self.enqueue(topic, partition, record, self.max_block)
    }

    /// [`Producer::send`] that fails with `QueueFull` at once instead of waiting.
    pub fn try_send(
        &self,
        topic: &str,
        partition: Option<i32>,
        record: &Record<'_>,
    ) -> Result<u64, Error> {
        self.enqueue(topic, partition, record, Duration::ZERO)
    }

    /// Sends everything queued now and waits until each of those records is acknowledged
    /// or failed; returns the first failure since the last flush (each one also went to
    /// the callback).
    pub fn flush(&self) -> Result<(), Error> {
        let mut state = self.shared.lock();
        // Every record queued so far has an id below `target`, and the ones not completed
        // yet are exactly `target - completed` (records sent meanwhile by other threads
        // have higher ids and are not waited for).
        let (token, target) = (state.next_flush, state.next_id);
        let remaining = target - state.completed;
        state.next_flush += 1;
        state.flushes.push(FlushWait {
            token,
            target,
            remaining,
        });
        self.shared.work.notify_one();
        let waiting = |s: &State| {
            s.flushes
                .iter()
                .any(|f| f.token == token && f.remaining > 0)
        };
        while waiting(&state) && state.dead.is_none() {
            state = self
                .shared
                .progress
                .wait(state)
                .unwrap_or_else(|p| p.into_inner());
        }
        state.flushes.retain(|f| f.token != token);
        if let Some(dead) = state.dead {
            return Err(Error::new(dead, "producer sender thread stopped"));
        }
        match state.failure.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Records queued and not yet acknowledged or failed.
    pub fn pending(&self) -> u64 {
        let state = self.shared.lock();
        state.next_id - state.completed
    }

    fn enqueue(
        &self,
        topic: &str,
        partition: Option<i32>,
        record: &Record<'_>,
        max_block: Duration,
    ) -> Result<u64, Error> {
        let context = || match partition {
            Some(p) => format!("producing to topic {topic:?} partition {p}"),
            None => format!("producing to topic {topic:?}"),
        };
        let mut state = self.shared.lock();
        let index = match state.find(topic) {
            Some(index) => index,
            None => {
                drop(state);
                let count = self
                    .metadata
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .partition_count(topic)?;
                state = self.shared.lock();
                match state.find(topic) {
                    Some(index) => index,
                    None => state.add_topic(topic, count),
                }
            }
        };
        state.last_topic = index;
        if let Some(dead) = state.dead {
            return Err(Error::new(dead, context()));
        }
        // Only a send that has to wait reads the clock.
        let mut deadline = None;
        let mut switched = false;
        loop {
            let state_ref = &mut *state;
            let t = &mut state_ref.topics[index];
            let count = t.partitions.len() as u32;
            let sticky = partition.is_none() && record.key.is_none();
            let partition_index = match (partition, record.key) {
                (Some(p), _) if p >= 0 && (p as u32) < count => Ok(p),
                (Some(p), _) => {
                    return Err(Error::new(
                        nanokafka::Error::Broker {
                            api: ApiKey::Produce,
                            code: KafkaCode::UNKNOWN_TOPIC_OR_PARTITION,
                            partition: Some(p),
                        },
                        context(),
                    ))
                }
                (None, Some(key)) => partition_for_key(key, count),
                (None, None) => t.sticky.partition(count),
            }
            .map_err(|e| Error::new(e, context()))?;
            let queue = &mut t.partitions[partition_index as usize];
            let Some(open) = &mut queue.open else {
                if sticky && !switched {
                    // KIP-480: null keys move to another partition with each new batch.
                    switched = true;
                    t.sticky.next_batch();
                    continue;
                }
                // A new batch, with room for this record at least.
                let needed = record_size(record).map_err(|e| Error::new(e, context()))?;
                let room = needed.max(self.batch_size);
                let size = buffer_size(room, self.compressing);
                if size > self.buffer_memory {
                    let limit = self.buffer_memory;
                    let e = nanokafka::Error::MessageTooLarge { size, limit };
                    return Err(Error::new(e, context()));
                }
                if state_ref.in_use + size > self.buffer_memory {
                    let now = Instant::now();
                    let deadline = *deadline.get_or_insert(now + max_block);
                    if now >= deadline {
                        return Err(Error::new(nanokafka::Error::QueueFull, context()));
                    }
                    self.shared.work.notify_one();
                    state = self
                        .shared
                        .progress
                        .wait_timeout(state, deadline - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                    if let Some(dead) = state.dead {
                        return Err(Error::new(dead, context()));
                    }
                    continue;
                }
                let pooled = if room == self.batch_size {
                    state_ref.pool.pop()
                } else {
                    None
                };
                let (mut bytes, mut ids) = pooled.unwrap_or_else(|| {
                    let ids = self.batch_records.min(size / 16);
                    (vec![0; size], Vec::with_capacity(ids))
                });
                ids.clear();
                let opened = RecordBatchBuilder::new(&mut bytes, BatchOptions::default())
                    .map_err(|e| Error::new(e, context()))?
                    .state();
                state_ref.in_use += size;
                queue.open = Some(Batch {
                    topic: t.name.clone(),
                    topic_index: index,
                    partition: partition_index,
                    topic_id: None,
                    bytes,
                    room,
                    state: opened,
                    ids,
                    opened: Instant::now(),
                    progress: BatchState::new(0, u64::MAX),
                    len: 0,
                });
                self.shared.work.notify_one();
                continue;
            };
            if open.ids.len() < self.batch_records {
                let mut builder =
                    RecordBatchBuilder::resume(&mut open.bytes[..open.room], open.state)
                        .map_err(|e| Error::new(e, context()))?;
                match builder.push(record) {
                    Ok(()) => {
                        open.state = builder.state();
                        let id = state_ref.next_id;
                        state_ref.next_id += 1;
                        open.ids.push(id);
                        return Ok(id);
                    }
                    // Full: the record opens the next batch.
                    Err(nanokafka::Error::BufferTooSmall { .. }) if !open.ids.is_empty() => {}
                    Err(e) => return Err(Error::new(e, context())),
                }
            }
            if let Some(full) = queue.open.take() {
                queue.waiting.push_back(full);
            }
            self.shared.work.notify_one();
        }
    }
}

/// The buffer for a batch whose records may fill `room` bytes: with room behind them for a
/// codec's output when compressing (every codec's worst case on a batch stays below the
/// records' size again plus a little).
fn buffer_size(room: usize, compressing: bool) -> usize {
    if compressing {
        room * 2 + 1024
    } else {
        room
    }
}

/// Bytes a batch of just `record` takes.
fn record_size(record: &Record<'_>) -> nanokafka::Result<usize> {
    let mut header = [0u8; BATCH_HEADER_LEN];
    RecordBatchBuilder::new(&mut header, BatchOptions::default())?
        .encoded_len(record)
        .map(|n| n + BATCH_HEADER_LEN)
        .ok_or(nanokafka::Error::InvalidArgument(
            "record cannot be encoded",
        ))
}

impl Drop for Producer {
    /// Sends what is queued (waiting for its deliveries), then stops the sender thread.
    fn drop(&mut self) {
        let _ = self.flush();
        self.shared.lock().closing = true;
        self.shared.work.notify_one();
        if let Some(sender) = self.sender.take() {
            let _ = sender.join();
        }
    }
}

/// A Produce request written and not answered yet.
struct InFlight {
    node: i32,
    /// The answer due and the request's version (`None`: acks = 0).
    pending: Option<(Pending, i16)>,
    batches: Vec<Batch>,
}

/// Partitions per Produce request: the request's parts live on the stack (no allocation);
/// more ready partitions for one leader go in the next request.
const REQUEST_PARTITIONS: usize = 64;

/// A batch's outcome: its base offset (`None` with acks = 0) or why it failed.
type Answer = nanokafka::Result<Option<i64>>;

/// The sender thread's state: its own cluster (metadata, leaders, connections) and buffers,
/// all reused from one request to the next.
struct Sender {
    shared: Arc<Shared>,
    cluster: Box<StdCluster>,
    acks: Acks,
    ack_timeout_ms: i32,
    /// Requests written per batch at most (`send_attempts`).
    attempts: u8,
    backoff: Duration,
    /// Produce logic shared with the core: sequences, retries, outcomes.
    engine: ProduceEngine,
    /// Sequence state per (topic index, partition).
    sequences: HashMap<(usize, i32), PartitionState>,
    /// Retry until this long after a batch opened (Java's `delivery.timeout.ms`).
    delivery_timeout: Duration,
    /// The sender's zero for the engine's millisecond times.
    start: Instant,
    linger: Duration,
    batch_size: usize,
    max_in_flight: usize,
    max_request_size: usize,
    compression: Compression,
    on_delivery: Option<DeliveryCallback>,
    in_flight: VecDeque<InFlight>,
    /// Taken from the queues and not sent yet, each partition's in order.
    ready: Vec<Batch>,
    /// Partitions whose ready batches wait, in one [`Sender::send_ready`].
    held: Vec<(usize, i32)>,
    /// Partitions with a batch to retry, in one [`Sender::complete`].
    retried: Vec<(usize, i32)>,
    /// Partitions passed over while filling one request.
    passed: Vec<(usize, i32)>,
    /// Emptied batch lists, for the next requests.
    lists: Vec<Vec<Batch>>,
    /// Batches done (answered or failed), for [`Sender::complete`].
    done: Vec<(Batch, Answer)>,
    /// Outcomes being reported.
    reports: Vec<(Batch, Option<i64>, Option<Error>)>,
    frame: Vec<u8>,
    response: Vec<u8>,
}

impl Sender {
    fn new(config: ProducerConfig, cluster: Box<StdCluster>, shared: Arc<Shared>) -> Self {
        let max_request_size = config.max_request_size.max(config.batch_size);
        Sender {
            shared,
            cluster,
            acks: config.client.acks,
            ack_timeout_ms: i32::try_from(millis(config.client.request_timeout))
                .unwrap_or(i32::MAX),
            engine: ProduceEngine::new(config.client.idempotent && config.client.acks == Acks::All),
            sequences: HashMap::new(),
            delivery_timeout: config.client.delivery_timeout,
            attempts: config.client.send_attempts.max(1),
            start: Instant::now(),
            backoff: config.client.retry_backoff,
            linger: config.linger,
            batch_size: config.batch_size,
            max_in_flight: config.max_in_flight,
            max_request_size,
            compression: config.client.compression,
            on_delivery: config.on_delivery,
            in_flight: VecDeque::new(),
            ready: Vec::new(),
            held: Vec::new(),
            retried: Vec::new(),
            passed: Vec::new(),
            lists: Vec::new(),
            done: Vec::new(),
            reports: Vec::new(),
            frame: vec![0; max_request_size + (64 << 10)],
            response: vec![0; 1 << 20],
        }
    }

    fn run(mut self) {
        let _notice = DeathNotice(self.shared.clone());
        while self.collect() {
            let blocked = self.send_ready();
            // Answers are awaited when nothing more can be sent now; meanwhile the open
            // batches fill up.
            if blocked || self.ready.is_empty() {
                self.receive_oldest();
            }
            self.complete();
        }
    }

    /// Gets a producer id for the engine (the core producer's request and rule, see
    /// [`ProduceEngine::producer_id_answered`]): a broker without InitProducerId turns
    /// idempotence off, other failures leave it to the next round.
    fn init_producer_id(&mut self) {
        let answer = self
            .cluster
            .send_any(&INIT_PRODUCER_ID, &mut self.response)
            .and_then(|r| producer_id_in(&r.decode::<InitProducerIdRequest>(&self.response)?));
        let idempotent = self.engine.idempotent();
        match self.engine.producer_id_answered(answer) {
            Ok(()) if idempotent && !self.engine.idempotent() => {
                log::warn!(target: "nanokafka::producer", "the broker offers no InitProducerId: producing without idempotence");
            }
            Ok(()) => {}
            Err(e) => {
                log::debug!(target: "nanokafka::producer", "InitProducerId failed, retrying: {e}");
                std::thread::sleep(self.backoff);
            }
        }
    }

    /// Requests in flight to `node`.
    fn in_flight_to(&self, node: i32) -> usize {
        self.in_flight.iter().filter(|f| f.node == node).count()
    }

    /// Moves ready batches from the queues into `self.ready`, waiting while there is nothing
    /// to do. Returns false when the producer is closed and everything is done.
    fn collect(&mut self) -> bool {
        let mut state = self.shared.lock();
        loop {
            let now = Instant::now();
            let all = !state.flushes.is_empty() || state.closing;
            let mut wake = now + Duration::from_secs(1);
            let limit = self.partition_limit();
            for t in &mut state.topics {
                for q in &mut t.partitions {
                    if q.with_sender >= limit {
                        continue;
                    }
                    match q.retry_at {
                        Some(at) if at > now => {
                            wake = wake.min(at);
                            continue;
                        }
                        _ => q.retry_at = None,
                    }
                    // Oldest first, so that `ready` holds each partition's batches in order.
                    while q.with_sender < limit {
                        let batch = match (q.waiting.pop_front(), &q.open) {
                            (Some(b), _) => b,
                            (None, Some(open)) if all || now >= open.opened + self.linger => {
                                match q.open.take() {
                                    Some(b) => b,
                                    None => break,
                                }
                            }
                            (None, Some(open)) => {
                                wake = wake.min(open.opened + self.linger);
                                break;
                            }
                            (None, None) => break,
                        };
                        q.with_sender += 1;
                        self.ready.push(batch);
                    }
                }
            }
            if !self.ready.is_empty() || !self.in_flight.is_empty() {
                return true;
            }
            if state.closing && state.completed == state.next_id {
                return false;
            }
            state = self
                .shared
                .work
                .wait_timeout(state, wake.saturating_duration_since(now))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Sends the ready batches, one request per leader, while connections have room; returns
    /// whether a full connection held some back.
    fn send_ready(&mut self) -> bool {
        // Finish (length, CRC) the batches just taken from the queues.
        let mut i = 0;
        while i < self.ready.len() {
            let batch = &mut self.ready[i];
            if batch.len == 0 {
                let compressed = RecordBatchBuilder::resume(&mut batch.bytes, batch.state)
                    .and_then(|b| {
                        b.finish_compressed(self.compression, &Codecs::new(), &HardwareCrc32c)
                            .map(|f| f.len())
                    });
                // A batch the codec would grow past its buffer goes uncompressed.
                let finished = match compressed {
                    Err(nanokafka::Error::BufferTooSmall { .. }) => {
                        RecordBatchBuilder::resume(&mut batch.bytes, batch.state)
                            .and_then(|b| b.finish(&HardwareCrc32c).map(|f| f.len()))
                    }
                    other => other,
                };
                let deadline =
                    batch.opened.saturating_duration_since(self.start) + self.delivery_timeout;
                batch.progress =
                    BatchState::new(batch.ids.len() as i32, deadline.as_millis() as u64);
                match finished {
                    Ok(len) => batch.len = len,
                    Err(e) => {
                        let batch = self.ready.remove(i);
                        self.done.push((batch, Err(e)));
                        continue;
                    }
                }
            }
            i += 1;
        }
        if self.engine.needs_producer_id() {
            if !self.in_flight.is_empty() {
                return true; // its answers first
            }
            self.init_producer_id();
            if self.engine.needs_producer_id() {
                return false; // try again after the next wait
            }
        }
        // Each partition's ready batches are in order; one that cannot go now holds back
        // the rest of its partition (`held`), so that none overtakes it. Every batch before
        // `i` belongs to a held partition.
        self.held.clear();
        let mut i = 0;
        while i < self.ready.len() {
            let key = (self.ready[i].topic_index, self.ready[i].partition);
            if self.held.contains(&key) {
                i += 1;
                continue;
            }
            let first = &self.ready[i];
            let node =
                match self
                    .cluster
                    .leader_once(&first.topic, first.partition, &mut self.response)
                {
                    Ok(node) => node,
                    Err(e) => {
                        let batch = self.ready.remove(i);
                        self.done.push((batch, Err(e)));
                        self.held.push(key);
                        continue;
                    }
                };
            // A session due for re-authentication takes no more requests until its answers
            // are in: the connection then re-authenticates before the next one (KIP-368).
            let in_flight = self.in_flight_to(node);
            if in_flight >= self.max_in_flight
                || (in_flight > 0 && self.cluster.reauthentication_due(node))
                || !self.prepare(i)
            {
                self.held.push(key);
                i += 1;
                continue;
            }
            // This batch opens a request to `node`; later ready batches it leads join it, one
            // per partition, unless an earlier batch of theirs was passed over.
            let mut members = self.lists.pop().unwrap_or_default();
            let mut size = self.ready[i].len;
            members.push(self.ready.remove(i));
            self.passed.clear();
            let mut j = i;
            while j < self.ready.len() && members.len() < REQUEST_PARTITIONS {
                let b = &self.ready[j];
                let key = (b.topic_index, b.partition);
                let free = !self.held.contains(&key)
                    && !self.passed.contains(&key)
                    && !members.iter().any(|m| (m.topic_index, m.partition) == key);
                let joins = free
                    && size + b.len <= self.max_request_size
                    && self
                        .cluster
                        .leader_once(&b.topic, b.partition, &mut self.response)
                        .ok()
                        == Some(node);
                if joins && self.prepare(j) {
                    size += self.ready[j].len;
                    members.push(self.ready.remove(j));
                } else {
                    if joins {
                        self.held.push(key); // waits for its partition's batches in flight
                    } else {
                        self.passed.push(key);
                    }
                    j += 1;
                }
            }
            match self.write_request(node, &mut members) {
                Ok(pending) => {
                    for b in &mut members {
                        let sequence = self
                            .sequences
                            .entry((b.topic_index, b.partition))
                            .or_default();
                        self.engine.sent(sequence, &mut b.progress);
                    }
                    self.in_flight.push_back(InFlight {
                        node,
                        pending,
                        batches: members,
                    })
                }
                Err(e) => {
                    let broken = self
                        .cluster
                        .connection(node, &mut self.response)
                        .map_or(true, |c| c.is_broken());
                    if broken {
                        // The answers due on the broken connection are lost with it.
                        self.cluster.disconnect(node);
                        self.fail_in_flight_to(node, e);
                    }
                    self.held
                        .extend(members.iter().map(|b| (b.topic_index, b.partition)));
                    self.done.extend(members.drain(..).map(|b| (b, Err(e))));
                    self.lists.push(members);
                }
            }
        }
        !self.ready.is_empty()
    }

    /// Asks the engine whether ready batch `i` may go now, stamping it when it gets its
    /// sequence.
    fn prepare(&mut self, i: usize) -> bool {
        let limit = u8::try_from(self.partition_limit()).unwrap_or(u8::MAX);
        let batch = &mut self.ready[i];
        let sequence = self
            .sequences
            .entry((batch.topic_index, batch.partition))
            .or_default();
        match self.engine.prepare(sequence, &mut batch.progress, limit) {
            Prepared::Send(Some(stamp)) => {
                // Sealed batches are well formed: this cannot fail.
                let _ = stamp_batch(&mut batch.bytes[..batch.len], &stamp, &HardwareCrc32c);
                true
            }
            Prepared::Send(None) => true,
            Prepared::Wait => false,
        }
    }

    /// Batches of one partition in flight at once: up to [`MAX_IN_FLIGHT_IDEMPOTENT`] (and
    /// `max_in_flight`) when idempotent, since sequence numbers keep them in order across
    /// retries; one without idempotence, so that a retried batch is never overtaken.
    fn partition_limit(&self) -> usize {
        if self.engine.idempotent() {
            self.max_in_flight
                .min(usize::from(MAX_IN_FLIGHT_IDEMPOTENT))
        } else {
            1
        }
    }

    /// Encodes one Produce request with `members` and writes it to `node` without waiting
    /// (`None`: `acks = 0`, no answer will come; else the answer to wait for and the version
    /// sent).
    fn write_request(
        &mut self,
        node: i32,
        members: &mut [Batch],
    ) -> nanokafka::Result<Option<(Pending, i16)>> {
        members.sort_unstable_by(|a, b| a.topic.cmp(&b.topic));
        // One entry per topic: its members' range and its id (zeros: named by name).
        let mut topics: heapless::Vec<(usize, usize, [u8; 16]), REQUEST_PARTITIONS> =
            heapless::Vec::new();
        let mut version = i16::MAX;
        for (k, b) in members.iter().enumerate() {
            match topics.last_mut() {
                Some((start, end, _)) if members[*start].topic == b.topic => *end = k + 1,
                _ => {
                    let (v, r) = self.cluster.topic_ref::<ProduceRequest>(
                        node,
                        &b.topic,
                        TOPIC_ID_FROM,
                        &mut self.response,
                    )?;
                    version = version.min(v);
                    let id = match r {
                        TopicRef::Id(id) => id,
                        TopicRef::Name(_) => [0; 16],
                    };
                    let _ = topics.push((k, k + 1, id));
                }
            }
        }
        let by_id = version >= TOPIC_ID_FROM;
        for &(start, end, id) in &topics {
            for b in &mut members[start..end] {
                b.topic_id = by_id.then_some(id);
            }
        }
        let ready: heapless::Vec<ReadyBatch<'_>, REQUEST_PARTITIONS> = members
            .iter()
            .map(|b| ReadyBatch {
                topic: &b.topic,
                topic_id: b.topic_id,
                partition: b.partition,
                records: &b.bytes[..b.len],
            })
            .collect();
        let (acks, timeout_ms) = (self.acks, self.ack_timeout_ms);
        let (cluster, response, frame) = (&mut self.cluster, &mut self.response, &mut self.frame);
        with_request::<REQUEST_PARTITIONS, _>(
            &ready,
            acks,
            timeout_ms,
            version,
            self.compression,
            |request, version| {
                let connection = cluster.connection(node, response)?;
                if acks == Acks::None {
                    connection.send_without_response(request, Some(version), frame)?;
                    return Ok(None);
                }
                let wait = u32::try_from(timeout_ms).unwrap_or(0);
                connection
                    .send_request(request, Some(version), wait, frame)
                    .map(|pending| Some((pending, version)))
            },
        )
    }
    /// Reads the answer to the oldest request in flight; its batches are then done.
    fn receive_oldest(&mut self) {
        let Some(InFlight {
            node,
            pending,
            mut batches,
        }) = self.in_flight.pop_front()
        else {
            return;
        };
        let Some((pending, version)) = pending else {
            self.done.extend(batches.drain(..).map(|b| (b, Ok(None))));
            return self.lists.push(batches);
        };
        let received = self
            .cluster
            .connection(node, &mut self.response)
            .and_then(|c| {
                // A connection with nothing due is a new one: the one the request went on
                // was closed (by a failed write or a metadata request on it), its answer lost.
                if c.in_flight() == 0 {
                    return Err(nanokafka::Error::ResponseNotReceived);
                }
                c.receive(pending, &mut self.response)
            });
        match received.and_then(|r| r.decode::<ProduceRequest>(&self.response)) {
            Ok(response) => {
                for b in batches.drain(..) {
                    let ready = ReadyBatch {
                        topic: &b.topic,
                        topic_id: b.topic_id,
                        partition: b.partition,
                        records: &[],
                    };
                    let outcome = answer_for(&response, &ready, version);
                    self.done.push((b, outcome));
                }
                self.lists.push(batches);
            }
            Err(e) => {
                // The stream is out of step or gone: every answer still due on it is lost.
                self.cluster.disconnect(node);
                self.done.extend(batches.drain(..).map(|b| (b, Err(e))));
                self.lists.push(batches);
                self.fail_in_flight_to(node, e);
            }
        }
    }

    /// Fails every request in flight to `node` with `e` (its connection is gone: their
    /// answers will never come, and a new connection would wait for them in vain).
    fn fail_in_flight_to(&mut self, node: i32, e: nanokafka::Error) {
        let mut i = 0;
        while i < self.in_flight.len() {
            if self.in_flight[i].node == node {
                if let Some(mut lost) = self.in_flight.remove(i) {
                    self.done
                        .extend(lost.batches.drain(..).map(|b| (b, Err(e))));
                    self.lists.push(lost.batches);
                }
            } else {
                i += 1;
            }
        }
    }

    /// Reports or requeues each batch done: retriable failures with attempts left go back to
    /// the front of their partition's queue after the backoff.
    fn complete(&mut self) {
        if self.done.is_empty() {
            return;
        }
        self.retried.clear();
        {
            let mut state = self.shared.lock();
            let state = &mut *state;
            for (mut batch, result) in self.done.drain(..) {
                let sequence = self
                    .sequences
                    .entry((batch.topic_index, batch.partition))
                    .or_default();
                let now = self.start.elapsed().as_millis() as u64;
                let attempts_left = batch.progress.attempts() < u16::from(self.attempts);
                let outcome =
                    self.engine
                        .settle(sequence, &mut batch.progress, result, now, attempts_left);
                let (retry, result) = match outcome {
                    Outcome::Acknowledged(offset) => (false, Ok(offset)),
                    Outcome::Retry(e) => (true, Err(e)),
                    Outcome::Failed(e) => (false, Err(e)),
                };
                let Some(q) = state
                    .topics
                    .get_mut(batch.topic_index)
                    .and_then(|t| t.partitions.get_mut(batch.partition as usize))
                else {
                    continue;
                };
                q.with_sender = q.with_sender.saturating_sub(1);
                if retry {
                    log::debug!(target: "nanokafka::producer", "{}/{} attempt {} failed, retrying: {:?}", batch.topic, batch.partition, batch.progress.attempts(), result);
                    self.cluster.invalidate_metadata();
                    q.retry_at = Some(Instant::now() + self.backoff);
                    let key = (batch.topic_index, batch.partition);
                    if !self.retried.contains(&key) {
                        self.retried.push(key);
                    }
                    requeue(q, batch);
                    continue;
                }
                state.completed += batch.ids.len() as u64;
                for f in &mut state.flushes {
                    // Ids grow within a batch: count those the flush waits for.
                    let below = batch.ids.partition_point(|&id| id < f.target);
                    f.remaining = f.remaining.saturating_sub(below as u64);
                }
                let error = result.err().map(|e| {
                    cluster_error(
                        &self.cluster,
                        e,
                        format!(
                            "producing to topic {:?} partition {}",
                            &*batch.topic, batch.partition
                        ),
                    )
                });
                if state.failure.is_none() {
                    state.failure.clone_from(&error);
                }
                self.reports.push((batch, result.ok().flatten(), error));
            }
            // The batches not sent yet of a partition with a retry go back behind it.
            let mut i = 0;
            while i < self.ready.len() {
                let b = &self.ready[i];
                if !self.retried.contains(&(b.topic_index, b.partition)) {
                    i += 1;
                    continue;
                }
                let batch = self.ready.remove(i);
                if let Some(q) = state
                    .topics
                    .get_mut(batch.topic_index)
                    .and_then(|t| t.partitions.get_mut(batch.partition as usize))
                {
                    q.with_sender = q.with_sender.saturating_sub(1);
                    requeue(q, batch);
                }
            }
        }
        if let Some(callback) = &mut self.on_delivery {
            for (batch, base, error) in &self.reports {
                for (i, &id) in batch.ids.iter().enumerate() {
                    callback(&Delivery {
                        id,
                        topic: &batch.topic,
                        partition: batch.partition,
                        offset: base.map(|o| o + i as i64),
                        error: error.as_ref(),
                    });
                }
            }
        }
        let mut state = self.shared.lock();
        for (batch, _, _) in self.reports.drain(..) {
            state.in_use -= batch.bytes.len();
            if batch.room == self.batch_size {
                state.pool.push((batch.bytes, batch.ids));
            }
        }
        self.shared.progress.notify_all();
    }
}

/// Puts `batch` back in `q`'s waiting queue in send order (by its first record's id, as ids
/// grow within a partition), so that a retried batch goes again before the later ones.
fn requeue(q: &mut PartitionQueue, batch: Batch) {
    let first = |b: &Batch| b.ids.first().copied().unwrap_or(u64::MAX);
    let at = q.waiting.partition_point(|w| first(w) < first(&batch));
    q.waiting.insert(at, batch);
}

/// Tells waiting senders and flushes when the sender thread ends other than by closing
/// (a panic), so that nobody waits forever.
struct DeathNotice(Arc<Shared>);

impl Drop for DeathNotice {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        if !state.closing {
            state.dead = Some(nanokafka::Error::NoAcknowledgement);
        }
        self.0.progress.notify_all();
    }
}
