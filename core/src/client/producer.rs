//! Producing: records → one RecordBatch v2 per partition → Produce requests to the leaders.
//!
//! [`Producer::send`] is the Perl package's `send(topic, partition, messages)`: one call, one
//! acknowledged append or an error. [`Producer::send_batches`] is the general form: several
//! topics and partitions in one call, one Produce request per leader, a [`Delivery`] per
//! partition with its base offset or its own error.
//!
//! Records without a partition are spread as the Java client spreads them: by the murmur2
//! hash of the key, sticky for null keys (one partition per call, another for the next call).
//! Batches are built once, at the front of the caller's buffer, and stay there across
//! retries: a retry resends the same bytes and, when idempotent, the same sequence numbers,
//! so the broker drops the duplicate of an append whose acknowledgement was lost.

use super::cluster::{Cluster, Connector, MetadataBuffer};
use super::engine::produce::{
    answer_for, producer_id_in, stamp_batch, with_request, BatchState, Outcome, PartitionState,
    Prepared, ProduceEngine, ReadyBatch, Stamp, INIT_PRODUCER_ID,
};
use super::{Clock, ConfigStr};
use crate::partitioner::{partition_for_key, StickyPartitioner};
use crate::protocol::init_producer_id::InitProducerIdRequest;
use crate::protocol::produce::{ProduceRequest, TOPIC_ID_FROM};
use crate::records::{
    BatchOptions, Checksum, Compress, Compression, NoCompression, Record, RecordBatchBuilder,
    SoftwareCrc32c,
};
use crate::{Error, Result};

/// Acknowledgements a produce waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Acks {
    /// Don't wait: the broker sends no response and offsets stay unknown (Perl
    /// `$NOT_SEND_ANY_RESPONSE`).
    None,
    /// The leader has the records in its log (Perl `$WAIT_WRITTEN_TO_LOCAL_LOG`, its default).
    Leader,
    /// Every in-sync replica has them (Perl `$BLOCK_UNTIL_IS_COMMITTED`).
    All,
}

impl Acks {
    /// The value on the wire: 0, 1, -1.
    pub const fn as_i16(self) -> i16 {
        match self {
            Acks::None => 0,
            Acks::Leader => 1,
            Acks::All => -1,
        }
    }
}

/// How a [`Producer`] behaves.
#[derive(Clone, Copy)]
pub struct ProducerConfig<'a> {
    /// Acknowledgements to wait for (`All` by default, as in the Java client 3.x).
    pub acks: Acks,
    /// How long the broker may wait for the acknowledgements, in ms (Perl: 1.5 s).
    pub ack_timeout_ms: i32,
    /// Idempotent producing (KIP-98): a producer id from the broker and sequence numbers per
    /// partition, so that retries never duplicate records. On by default, as in the Java
    /// client 3.x; it applies with `acks = All` only (with fewer acks a retry may duplicate
    /// anyway, so it is off, as Java's default is) and with a broker that offers
    /// InitProducerId (every Kafka from 0.11; one without it is produced to without).
    pub idempotent: bool,
    /// CRC-32C of the batches: software by default, hardware where the host has it.
    pub checksum: &'a dyn Checksum,
    /// Seed of the sticky partitioner's random choice (a timer or ADC noise on firmware).
    pub partitioner_seed: u32,
    /// The codec batches are compressed with (`None` by default). zstd is refused, batch by
    /// batch, with a broker whose Produce version is older than v7.
    pub compression: Compression,
    /// What compresses them: the core's `records::Lz4` (feature `lz4`) on firmware,
    /// `nanokafka_std::compression::Codecs` on a host. The batch buffer must then hold each
    /// batch's records plus its compressed form for a moment.
    pub compressor: &'a dyn Compress,
}

impl Default for ProducerConfig<'_> {
    fn default() -> Self {
        ProducerConfig {
            acks: Acks::All,
            // The broker's wait for acks: as long as the request may take.
            ack_timeout_ms: super::defaults::DEFAULT_REQUEST_TIMEOUT_MS as i32,
            idempotent: true,
            checksum: &SoftwareCrc32c,
            partitioner_seed: 0x6e61_6e6f,
            compression: Compression::None,
            compressor: &NoCompression,
        }
    }
}

impl core::fmt::Debug for ProducerConfig<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ProducerConfig")
            .field("acks", &self.acks)
            .field("ack_timeout_ms", &self.ack_timeout_ms)
            .field("idempotent", &self.idempotent)
            .field("compression", &self.compression)
            .finish_non_exhaustive()
    }
}

/// Records for one topic and, optionally, one partition.
#[derive(Debug, Clone, Copy)]
pub struct ProduceBatch<'r> {
    /// The topic.
    pub topic: &'r str,
    /// The partition, or `None` to partition each record by key (sticky for null keys).
    pub partition: Option<i32>,
    /// The records, in order (kept in order within each partition).
    pub records: &'r [Record<'r>],
}

/// What became of the records of one [`ProduceBatch`] in one partition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Index of the [`ProduceBatch`] in the call.
    pub batch: usize,
    /// The partition written to.
    pub partition: i32,
    /// How many records went to this partition.
    pub record_count: i32,
    /// Offset of the first record; `None` with `acks = None` or on error.
    pub base_offset: Option<i64>,
    /// Why these records were not written (the last error, after all attempts).
    pub error: Option<Error>,
    /// Partitions of the topic, when the records were spread by key (else 0).
    partitions: u32,
    /// Whether the batch's null-key records (sticky) go here.
    null_keys: bool,
    /// The encoded batch: `buf[start..end]`.
    start: usize,
    end: usize,
    /// Its progress through the engine (attempts, idempotent stamp).
    state: BatchState,
    /// Its partition's sequence state in the producer's table (idempotent), else none.
    slot: Option<usize>,
    /// Acknowledged, sent without acks, or failed for good.
    done: bool,
    /// Already handled in the current round of requests.
    tried: bool,
}

/// One partition's idempotent sequence state (the engine's), keyed by a hash of the topic
/// name (names are not kept: no allocation, and 64 bits make a collision between live topics
/// implausible).
#[derive(Debug, Clone, Copy)]
struct Sequence {
    topic: u64,
    partition: i32,
    state: PartitionState,
}

/// FNV-1a of a topic name.
fn topic_hash(topic: &str) -> u64 {
    topic.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Sends records to Kafka; see the [module docs](self).
///
/// - `PARTITIONS` bounds the partitions an idempotent producer keeps sequence numbers for.
/// - `REQUEST` bounds the partitions one Produce request carries (more go in further
///   requests) and those one [`Producer::send`] may spread its records over. Its working
///   lists live on the stack, about 150 bytes per partition: firmware sending to one
///   partition sets 1.
pub struct Producer<'a, const PARTITIONS: usize = 8, const REQUEST: usize = 16> {
    config: ProducerConfig<'a>,
    partitioner: StickyPartitioner,
    engine: ProduceEngine,
    sequences: heapless::Vec<Sequence, PARTITIONS>,
}

impl<'a, const PARTITIONS: usize, const REQUEST: usize> Producer<'a, PARTITIONS, REQUEST> {
    /// A producer with `config`; no I/O until the first send.
    pub fn new(config: ProducerConfig<'a>) -> Self {
        Producer {
            partitioner: StickyPartitioner::new(config.partitioner_seed),
            engine: ProduceEngine::new(config.idempotent && config.acks == Acks::All),
            config,
            sequences: heapless::Vec::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ProducerConfig<'a> {
        &self.config
    }

    /// Whether batches carry a producer id and sequence numbers: `idempotent` with
    /// `acks = All`, until a broker turns out not to offer InitProducerId.
    pub fn is_idempotent(&self) -> bool {
        self.engine.idempotent()
    }

    /// The idempotent producer id and epoch, once the broker has given them.
    pub fn producer_id(&self) -> Option<(i64, i16)> {
        self.engine.producer()
    }

    /// Sends `records` to `topic` (to `partition`, or spread by key when `None` over at most
    /// `REQUEST` partitions) and waits for the acknowledgement. Returns the base offset of the
    /// first partition written (`None` with `acks = None`); when the records went to several
    /// partitions, all were acknowledged or the first partition's error is returned.
    ///
    /// `buf` holds the encoded batches, then the request (which copies them) and the
    /// response: give it twice the records' size plus a few hundred bytes.
    pub fn send<
        K: Connector,
        C: Clock + Clone,
        const L: usize,
        const T: usize,
        M: MetadataBuffer,
        S: ConfigStr,
    >(
        &mut self,
        cluster: &mut Cluster<K, C, L, T, M, S>,
        topic: &str,
        partition: Option<i32>,
        records: &[Record<'_>],
        buf: &mut [u8],
    ) -> Result<Option<i64>> {
        let batch = [ProduceBatch {
            topic,
            partition,
            records,
        }];
        let mut deliveries = [Delivery::default(); REQUEST];
        let n = self.send_batches(cluster, &batch, &mut deliveries, buf)?;
        let deliveries = deliveries.get(..n).unwrap_or_default();
        if let Some(error) = deliveries.iter().find_map(|d| d.error) {
            return Err(error);
        }
        Ok(deliveries.first().and_then(|d| d.base_offset))
    }

    /// Sends every batch, one Produce request per leader, retrying retriable failures (up to
    /// the cluster's `send_attempts`), and fills `deliveries` with one entry per (batch,
    /// partition); returns how many. A partition's own error is in its [`Delivery`]
    /// ([`Error::MaybeStored`] when a request carrying it was written and never answered);
    /// `Err` means nothing was sent (bad argument, buffer too small, no broker reachable).
    pub fn send_batches<
        K: Connector,
        C: Clock + Clone,
        const L: usize,
        const T: usize,
        M: MetadataBuffer,
        S: ConfigStr,
    >(
        &mut self,
        cluster: &mut Cluster<K, C, L, T, M, S>,
        batches: &[ProduceBatch<'_>],
        deliveries: &mut [Delivery],
        buf: &mut [u8],
    ) -> Result<usize> {
        if REQUEST == 0 {
            return Err(Error::InvalidArgument("Producer REQUEST is 0"));
        }
        let count = self.plan(cluster, batches, deliveries, buf)?;
        let deliveries = deliveries.get_mut(..count).unwrap_or_default();
        if self.engine.needs_producer_id() {
            // Failing here is failing before anything was sent.
            self.init_producer_id(cluster, buf)?;
        }
        let used = self.build(batches, deliveries, buf)?;
        self.partitioner.next_batch();
        let (batch_area, frame) = buf
            .split_at_mut_checked(used)
            .ok_or(Error::BufferTooSmall { needed: used })?;
        self.deliver(cluster, batches, deliveries, batch_area, frame);
        Ok(count)
    }

    /// Fills `deliveries` with the (batch, partition) pairs the records go to.
    fn plan<
        K: Connector,
        C: Clock + Clone,
        const L: usize,
        const T: usize,
        M: MetadataBuffer,
        S: ConfigStr,
    >(
        &mut self,
        cluster: &mut Cluster<K, C, L, T, M, S>,
        batches: &[ProduceBatch<'_>],
        deliveries: &mut [Delivery],
        buf: &mut [u8],
    ) -> Result<usize> {
        let mut count = 0usize;
        for (index, batch) in batches.iter().enumerate() {
            if batch.records.is_empty() {
                continue;
            }
            let (partitions, fixed) = match batch.partition {
                Some(p) if p < 0 => {
                    return Err(Error::InvalidArgument("partition must not be negative"))
                }
                Some(p) => (0, Some(p)),
                None => (cluster.partition_count(batch.topic, buf)?, None),
            };
            for record in batch.records {
                let partition = match fixed {
                    Some(p) => p,
                    None => self.partitioner.partition_for(record.key, partitions)?,
                };
                let null_keys = fixed.is_none() && record.key.is_none();
                let planned = deliveries.get_mut(..count).unwrap_or_default();
                if let Some(d) = planned
                    .iter_mut()
                    .find(|d| d.batch == index && d.partition == partition)
                {
                    d.record_count = d.record_count.saturating_add(1);
                    d.null_keys |= null_keys;
                    continue;
                }
                let slot = deliveries.get_mut(count).ok_or(Error::InvalidArgument(
                    "more partitions in one send than deliveries to report them in",
                ))?;
                *slot = Delivery {
                    batch: index,
                    partition,
                    record_count: 1,
                    partitions,
                    null_keys,
                    ..Delivery::default()
                };
                count = count.saturating_add(1);
            }
        }
        Ok(count)
    }

    /// Encodes one batch per delivery into the front of `buf`, stamped by the engine when
    /// idempotent; returns the bytes used.
    fn build(
        &mut self,
        batches: &[ProduceBatch<'_>],
        deliveries: &mut [Delivery],
        buf: &mut [u8],
    ) -> Result<usize> {
        let mut used = 0usize;
        for d in deliveries.iter_mut() {
            let batch = batches
                .get(d.batch)
                .ok_or(Error::InvalidArgument("delivery names no batch"))?;
            d.state = BatchState::new(d.record_count, u64::MAX);
            d.slot = if self.engine.idempotent() {
                Some(slot_of(&mut self.sequences, batch.topic, d.partition)?)
            } else {
                None
            };
            let mut scratch = PartitionState::default();
            let partition = state_at(&mut self.sequences, d.slot, &mut scratch);
            let stamp = match self.engine.prepare(partition, &mut d.state, 1) {
                Prepared::Send(stamp) => stamp,
                Prepared::Wait => None, // stamped when it goes
            };
            let options = BatchOptions {
                producer_id: stamp.map_or(-1, |s| s.producer_id),
                producer_epoch: stamp.map_or(-1, |s| s.producer_epoch),
                base_sequence: stamp.map_or(-1, |s| s.base_sequence),
                ..BatchOptions::default()
            };
            let area = buf.get_mut(used..).unwrap_or_default();
            let mut builder = RecordBatchBuilder::new(area, options).map_err(|e| grow(e, used))?;
            for record in batch.records {
                if goes_to(batch.partition, record, d)? {
                    builder.push(record).map_err(|e| grow(e, used))?;
                }
            }
            let len = builder
                .finish_compressed(
                    self.config.compression,
                    self.config.compressor,
                    &self.config.checksum,
                )
                .map_err(|e| grow(e, used))?
                .len();
            d.start = used;
            d.end = used.saturating_add(len);
            used = d.end;
        }
        Ok(used)
    }

    /// Sends the built batches in rounds (one per attempt) until each is acknowledged,
    /// failed for good, or out of attempts; between rounds, metadata is refreshed, the
    /// backoff waited and, when the engine asks for one, a new producer id fetched.
    fn deliver<
        K: Connector,
        C: Clock + Clone,
        const L: usize,
        const T: usize,
        M: MetadataBuffer,
        S: ConfigStr,
    >(
        &mut self,
        cluster: &mut Cluster<K, C, L, T, M, S>,
        batches: &[ProduceBatch<'_>],
        deliveries: &mut [Delivery],
        batch_area: &mut [u8],
        frame: &mut [u8],
    ) {
        let attempts = cluster.config().send_attempts.max(1);
        for attempt in 1..=attempts {
            let attempts_left = attempt < attempts;
            if attempt > 1 {
                if deliveries.iter().all(|d| d.done) {
                    return;
                }
                cluster.invalidate_metadata();
                cluster.backoff();
            }
            // A batch with a sequence given up, or the broker lost our producer id: a new
            // producer id first (the batches are stamped again when they go); without one,
            // this round fails every batch with its error.
            let blocked = if self.engine.needs_producer_id() {
                self.init_producer_id(cluster, frame).err()
            } else {
                None
            };
            for d in deliveries.iter_mut() {
                d.tried = d.done;
            }
            while let Some(first) = deliveries.iter().position(|d| !d.tried) {
                let topic_of = |d: &Delivery| batches.get(d.batch).map(|b| b.topic);
                // Everything untried that this leader leads goes in one request, one batch
                // per partition: a broker keeps only one of two for the same partition.
                let mut leader = None;
                let mut members: heapless::Vec<usize, REQUEST> = heapless::Vec::new();
                for i in first..deliveries.len() {
                    let same_partition = |j: &usize| {
                        let (a, b) = (deliveries.get(*j), deliveries.get(i));
                        a.zip(b).is_some_and(|(a, b)| {
                            a.partition == b.partition && topic_of(a) == topic_of(b)
                        })
                    };
                    if members.iter().any(same_partition) {
                        continue; // in the next request
                    }
                    let Some(d) = deliveries.get_mut(i) else {
                        break;
                    };
                    if d.tried {
                        continue;
                    }
                    let topic = topic_of(d).unwrap_or_default();
                    let leader_of = match blocked {
                        Some(e) => Err(e),
                        None => cluster.leader_once(topic, d.partition, frame),
                    };
                    match leader_of {
                        Ok(node) if leader.is_none() || leader == Some(node) => {
                            if members.push(i).is_ok() {
                                leader = Some(node);
                                d.tried = true;
                            }
                        }
                        Ok(_) => {}
                        Err(e) => self.settle(d, Err(e), attempts_left, 0),
                    }
                }
                let Some(node) = leader else {
                    continue;
                };
                let sent = self.exchange(
                    cluster,
                    node,
                    batches,
                    deliveries,
                    &members,
                    batch_area,
                    frame,
                    attempts_left,
                );
                if let Err(e) = sent {
                    let now = cluster.clock().now_ms();
                    for &i in &members {
                        if let Some(d) = deliveries.get_mut(i).filter(|d| !d.done) {
                            self.settle(d, Err(e), attempts_left, now);
                        }
                    }
                }
            }
        }
    }

    /// One Produce request with the `members` deliveries to broker `node`; records each
    /// member's outcome (an `Err` is the request's own failure, for the caller to record).
    #[allow(clippy::too_many_arguments)]
    fn exchange<
        K: Connector,
        C: Clock + Clone,
        const L: usize,
        const T: usize,
        M: MetadataBuffer,
        S: ConfigStr,
    >(
        &mut self,
        cluster: &mut Cluster<K, C, L, T, M, S>,
        node: i32,
        batches: &[ProduceBatch<'_>],
        deliveries: &mut [Delivery],
        members: &[usize],
        batch_area: &mut [u8],
        frame: &mut [u8],
        attempts_left: bool,
    ) -> Result<()> {
        let version = cluster
            .connection(node, frame)?
            .version::<ProduceRequest>()?;
        // The engine's word on each batch: its stamp is (re)written when it changed.
        for &i in members {
            let d = deliveries.get_mut(i).ok_or(Error::NoAcknowledgement)?;
            let mut scratch = PartitionState::default();
            let partition = state_at(&mut self.sequences, d.slot, &mut scratch);
            match self.engine.prepare(partition, &mut d.state, 1) {
                Prepared::Send(Some(stamp)) => restamp(batch_area, d, &stamp, &self.config)?,
                Prepared::Send(None) => {}
                // Only while a producer id is due, which `deliver` gets first.
                Prepared::Wait => return Err(Error::NoAcknowledgement),
            }
        }
        let batch_area: &[u8] = batch_area;
        let mut ready: heapless::Vec<ReadyBatch<'_>, REQUEST> = heapless::Vec::new();
        for &i in members {
            let d = deliveries.get(i).ok_or(Error::NoAcknowledgement)?;
            let topic = topic_of_batch(batches, d.batch);
            let topic_id = if version >= TOPIC_ID_FROM {
                Some(cluster.topic_id(topic, frame)?).filter(|id| *id != [0; 16])
            } else {
                None
            };
            let batch = ReadyBatch {
                topic,
                topic_id,
                partition: d.partition,
                records: batch_area.get(d.start..d.end).unwrap_or_default(),
            };
            ready.push(batch).map_err(|_| Error::NoAcknowledgement)?;
        }
        let acks = self.config.acks;
        let wait = u32::try_from(self.config.ack_timeout_ms).unwrap_or(0);
        let (answers, version) = with_request::<REQUEST, _>(
            &ready,
            acks,
            self.config.ack_timeout_ms,
            version,
            self.config.compression,
            |request, version| {
                let sent = if acks == Acks::None {
                    let connection = cluster.connection(node, frame)?;
                    let sent = connection.send_without_response(request, Some(version), frame);
                    if connection.is_broken() {
                        cluster.disconnect(node);
                    }
                    sent.map(|()| None)
                } else {
                    cluster
                        .send_to(node, request, Some(version), wait, frame)
                        .map(Some)
                };
                Ok((sent, version))
            },
        )?;
        if answers.as_ref().err().is_none_or(written) {
            // From here on, a batch given up may have been stored.
            for &i in members {
                let d = deliveries.get_mut(i).ok_or(Error::NoAcknowledgement)?;
                let mut scratch = PartitionState::default();
                let partition = state_at(&mut self.sequences, d.slot, &mut scratch);
                self.engine.sent(partition, &mut d.state);
            }
        }
        let answers = answers?;
        let now = cluster.clock().now_ms();
        let response = match answers {
            Some(received) => Some(received.decode::<ProduceRequest>(frame)?),
            None => None,
        };
        for (&i, batch) in members.iter().zip(&ready) {
            let Some(d) = deliveries.get_mut(i) else {
                continue;
            };
            let answer = match &response {
                Some(response) => answer_for(response, batch, version),
                None => Ok(None),
            };
            self.settle(d, answer, attempts_left, now);
        }
        Ok(())
    }

    /// Hands `answer` for `d` to the engine and records its outcome.
    fn settle(
        &mut self,
        d: &mut Delivery,
        answer: Result<Option<i64>>,
        attempts_left: bool,
        now_ms: u64,
    ) {
        let mut scratch = PartitionState::default();
        let partition = state_at(&mut self.sequences, d.slot, &mut scratch);
        let outcome = self
            .engine
            .settle(partition, &mut d.state, answer, now_ms, attempts_left);
        d.tried = true;
        match outcome {
            Outcome::Acknowledged(base_offset) => {
                d.base_offset = base_offset;
                d.error = None;
                d.done = true;
            }
            Outcome::Retry(error) | Outcome::Failed(error) => {
                debug!(target: "producer", "partition {}: {error}", d.partition);
                d.error = Some(error);
                d.done = matches!(outcome, Outcome::Failed(_));
            }
        }
    }

    /// Gets a producer id for the engine. A broker without InitProducerId (older than
    /// Kafka 0.11) is produced to without idempotence.
    fn init_producer_id<
        K: Connector,
        C: Clock + Clone,
        const L: usize,
        const T: usize,
        M: MetadataBuffer,
        S: ConfigStr,
    >(
        &mut self,
        cluster: &mut Cluster<K, C, L, T, M, S>,
        buf: &mut [u8],
    ) -> Result<()> {
        // A fresh cluster answers COORDINATOR_LOAD_IN_PROGRESS until its transaction log is up.
        let attempts = cluster.config().send_attempts;
        let answer = cluster.retrying(attempts, |cluster| {
            let received = cluster.send_any_once(&INIT_PRODUCER_ID, buf)?;
            producer_id_in(&received.decode::<InitProducerIdRequest>(buf)?)
        });
        self.engine.producer_id_answered(answer)
    }
}

/// Whether a request that failed with `error` was written to the broker (it failed
/// waiting for or reading the answer), so that it may have been stored.
fn written(error: &Error) -> bool {
    matches!(
        error,
        Error::Timeout
            | Error::Recv(_)
            | Error::ResponseNotReceived
            | Error::CorrelationMismatch { .. }
            | Error::MessageTooLarge { .. }
    )
}

/// Where the sequence state of `topic`/`partition` is in `sequences` (added when new).
fn slot_of<const N: usize>(
    sequences: &mut heapless::Vec<Sequence, N>,
    topic: &str,
    partition: i32,
) -> Result<usize> {
    let hash = topic_hash(topic);
    if let Some(at) = sequences
        .iter()
        .position(|s| s.topic == hash && s.partition == partition)
    {
        return Ok(at);
    }
    sequences
        .push(Sequence {
            topic: hash,
            partition,
            state: PartitionState::default(),
        })
        .map_err(|_| {
            Error::InvalidArgument("idempotent producer: more partitions than PARTITIONS")
        })?;
    Ok(sequences.len().saturating_sub(1))
}

/// The sequence state at `slot`, or `scratch` (not idempotent: nothing to keep).
fn state_at<'s, const N: usize>(
    sequences: &'s mut heapless::Vec<Sequence, N>,
    slot: Option<usize>,
    scratch: &'s mut PartitionState,
) -> &'s mut PartitionState {
    match slot.and_then(|at| sequences.get_mut(at)) {
        Some(sequence) => &mut sequence.state,
        None => scratch,
    }
}

/// Writes a new `stamp` into `d`'s sealed batch (after a new producer id).
fn restamp(
    batch_area: &mut [u8],
    d: &Delivery,
    stamp: &Stamp,
    config: &ProducerConfig<'_>,
) -> Result<()> {
    let batch = batch_area
        .get_mut(d.start..d.end)
        .ok_or(Error::NoAcknowledgement)?;
    stamp_batch(batch, stamp, config.checksum)
}

fn topic_of_batch<'r>(batches: &[ProduceBatch<'r>], batch: usize) -> &'r str {
    batches.get(batch).map(|b| b.topic).unwrap_or_default()
}

/// A batch that does not fit is reported with the whole buffer size needed so far.
fn grow(error: Error, used: usize) -> Error {
    match error {
        Error::BufferTooSmall { needed } => Error::BufferTooSmall {
            needed: needed.saturating_add(used),
        },
        other => other,
    }
}

/// Whether `record` of a batch goes to `d`'s partition: [`Producer::plan`]'s choice again.
fn goes_to(fixed: Option<i32>, record: &Record<'_>, d: &Delivery) -> Result<bool> {
    Ok(match (fixed, record.key) {
        (Some(_), _) => true,
        (None, Some(key)) => partition_for_key(key, d.partitions)? == d.partition,
        (None, None) => d.null_keys,
    })
}
