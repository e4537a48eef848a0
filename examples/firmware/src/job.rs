//! The telemetry job, independent of the board: connect, negotiate, produce readings, fetch
//! them back and check every key, value, header and timestamp.
//!
//! It runs on the core's client: a [`Cluster`] reached through whatever [`Connector`] the
//! board has (a UART that is the link to every broker, a TCP/IP stack that opens one socket
//! per broker), an idempotent [`Producer`] with `acks = all` and a [`Consumer`]. Retries —
//! a leader not elected yet, a connection that broke, a timeout — are the cluster's, as its
//! [`ClusterConfig`] says (attempts, backoff); the job retries nothing itself.
//!
//! All memory is the caller's ([`Buffers`]); the job keeps only the uptime of each reading
//! and the base offset of each batch on the stack (0.25 KiB).

use crate::reading::{Reading, EPOCH_MS, FW_HEADER, FW_VERSION, KEY_MAX, VALUE_MAX};
use heapless::Vec;
use nanokafka::client::{
    Acks, Clock, Cluster, ClusterConfig, Connector, Consumer, ConsumerConfig, Producer,
    ProducerConfig,
};
use nanokafka::protocol::fetch::FetchRequest;
use nanokafka::protocol::produce::ProduceRequest;
use nanokafka::protocol::Request;
use nanokafka::records::{Header, Record, RecordView};
use nanokafka::{ApiKey, Error};

/// Most readings one run produces (the job keeps one uptime per reading).
pub const MAX_RECORDS: usize = 32;
/// Most readings per Produce request.
pub const MAX_BATCH: usize = 8;
/// Fetches that bring no new record before the job gives up.
const EMPTY_FETCHES: u32 = 20;
/// How long a fetch may wait at the broker for records.
const FETCH_WAIT_MS: i32 = 500;

/// What to produce and where.
#[derive(Debug, Clone, Copy)]
pub struct Job<'a> {
    /// Brokers, client id, request timeout and the retry policy.
    pub cluster: ClusterConfig<&'a str>,
    /// The topic (created by the operator, or auto-created by the broker).
    pub topic: &'a str,
    /// The partition.
    pub partition: i32,
    /// Readings to produce (at most [`MAX_RECORDS`]).
    pub records: u32,
    /// Readings per Produce request (1 to [`MAX_BATCH`]).
    pub batch: u32,
    /// Time between two readings, in ms (at least 1: every timestamp differs).
    pub sample_period_ms: u64,
    /// Unix time in ms at uptime 0, for the record timestamps.
    pub epoch_ms: i64,
}

impl<'a> Job<'a> {
    /// The telemetry job of this crate's firmwares, through `cluster`: 32 readings into
    /// `telemetry`/0, 8 per request, 2 ms apart, time-stamped from the build's epoch
    /// ([`EPOCH_MS`]). The host tests expect exactly these (tests/src/firmware.rs).
    pub const fn telemetry(cluster: ClusterConfig<&'a str>) -> Self {
        Job {
            cluster,
            topic: "telemetry",
            partition: 0,
            records: 32,
            batch: 8,
            sample_period_ms: 2,
            epoch_ms: EPOCH_MS,
        }
    }
}

/// The caller's memory.
pub struct Buffers<'a> {
    /// Requests and responses: one batch twice (built, then framed) plus the Produce
    /// answer; the ApiVersions answer (about 600 bytes); the Fetch answer, which holds every
    /// record of one fetch.
    pub io: &'a mut [u8],
    /// The cluster's copy of the last Metadata response (a few hundred bytes for one topic).
    pub metadata: &'a mut [u8],
    /// One batch's keys and values while it is sent: [`TEXT_SLOT`] bytes per reading.
    pub texts: &'a mut [u8],
}

/// Bytes of [`Buffers::texts`] per reading: its key and its value at their longest.
pub const TEXT_SLOT: usize = KEY_MAX + VALUE_MAX;

/// What a successful run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Readings produced and read back intact.
    pub records: u32,
    /// The Produce version negotiated.
    pub produce_version: i16,
    /// The Fetch version negotiated.
    pub fetch_version: i16,
    /// Offset of the first reading.
    pub first_offset: i64,
    /// Offset of the last reading.
    pub last_offset: i64,
    /// Uptime of the first and of the last reading.
    pub uptime_ms: (u64, u64),
    /// Uptime when the first batch was acknowledged.
    pub first_ack_ms: u64,
    /// Fetch requests it took to read everything back.
    pub fetches: u32,
}

/// Why a run failed. The job's topic and partition apply to all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The job's parameters are out of range.
    Config(&'static str),
    /// A step failed after the cluster's retries: [`ApiKey::Metadata`] (finding the leader,
    /// which includes connecting), [`ApiKey::Produce`] or [`ApiKey::Fetch`].
    Kafka {
        /// The step.
        api: ApiKey,
        /// Why.
        error: Error,
    },
    /// A fetched record differs from the reading produced at its offset.
    Mismatch {
        /// The record's offset.
        offset: i64,
        /// The field that differs: "key", "value", "headers", "timestamp", "offset".
        field: &'static str,
    },
    /// Fetches stopped bringing records before all were read back.
    Missing {
        /// Readings read back intact.
        verified: u32,
        /// Readings produced.
        produced: u32,
    },
    /// The clock did not advance: timestamps and timeouts would be wrong.
    ClockStopped,
}

impl Failure {
    fn kafka(api: ApiKey) -> impl Fn(Error) -> Failure {
        move |error| Failure::Kafka { api, error }
    }
}

type Outcome<T> = core::result::Result<T, Failure>;

/// The cluster the job runs on: one topic's metadata, kept in the caller's buffer.
type JobCluster<'a, K, C, const LINKS: usize> = Cluster<K, C, LINKS, 1, &'a mut [u8], &'a str>;

/// Runs the job through `connector` (at most `LINKS` broker connections open at once: 1 for
/// a UART) and returns what it did, or the first failure.
pub fn run<K: Connector, C: Clock + Clone, const LINKS: usize>(
    connector: K,
    clock: C,
    job: &Job<'_>,
    buffers: Buffers<'_>,
) -> Outcome<Summary> {
    let count = usize::try_from(job.records).unwrap_or(usize::MAX);
    let batch = usize::try_from(job.batch).unwrap_or(usize::MAX);
    if !(1..=MAX_RECORDS).contains(&count) || !(1..=MAX_BATCH).contains(&batch) {
        return Err(Failure::Config(
            "records must be 1..=MAX_RECORDS, batch 1..=MAX_BATCH",
        ));
    }
    if job.sample_period_ms == 0 {
        return Err(Failure::Config("sample_period_ms must be at least 1"));
    }
    let io = buffers.io;
    let mut cluster: JobCluster<'_, K, C, LINKS> =
        Cluster::with_metadata_buffer(connector, clock.clone(), job.cluster, buffers.metadata);
    let leader = cluster
        .leader(job.topic, job.partition, io)
        .map_err(Failure::kafka(ApiKey::Metadata))?;

    let mut producer: Producer<'_, 1, 1> = Producer::new(ProducerConfig {
        acks: Acks::All,
        ack_timeout_ms: 5_000,
        idempotent: true,
        ..ProducerConfig::default()
    });
    let mut next_sample = clock.now_ms();
    let mut expected = Expected {
        start_ms: next_sample,
        uptimes: [0; MAX_RECORDS],
        first_offset: 0,
        batch_offsets: [0; MAX_RECORDS],
        count,
        batch,
        epoch_ms: job.epoch_ms,
    };
    let mut first_ack_ms = 0;
    let batches = expected
        .uptimes
        .get_mut(..count)
        .unwrap_or_default()
        .chunks_mut(batch);
    for ((k, deltas), batch_offset) in batches.enumerate().zip(expected.batch_offsets.iter_mut()) {
        // Sample one batch, one period apart, then send it.
        let mut uptimes = [0u64; MAX_BATCH];
        let uptimes = uptimes.get_mut(..deltas.len()).unwrap_or_default();
        for (uptime, delta) in uptimes.iter_mut().zip(deltas.iter_mut()) {
            *uptime = wait_until(&clock, next_sample)?;
            next_sample = uptime.saturating_add(job.sample_period_ms);
            *delta = u32::try_from(uptime.saturating_sub(expected.start_ms))
                .map_err(|_| Failure::Config("a run lasts at most 49 days"))?;
        }
        let first_seq = index_u32(k.saturating_mul(batch));
        let base_offset = send_batch(
            &mut producer,
            &mut cluster,
            job,
            first_seq,
            uptimes,
            buffers.texts,
            io,
        )?;
        if k == 0 {
            first_ack_ms = clock.now_ms();
            expected.first_offset = base_offset;
        }
        // Later batches land after the first (4 billion records apart at most).
        *batch_offset =
            u32::try_from(base_offset.saturating_sub(expected.first_offset)).map_err(|_| {
                Failure::Mismatch {
                    offset: base_offset,
                    field: "offset",
                }
            })?;
    }

    let fetches = fetch_back(&mut cluster, job, &expected, io)?;
    let last = count.saturating_sub(1);
    Ok(Summary {
        records: job.records,
        produce_version: version::<ProduceRequest, _, _, LINKS>(&mut cluster, leader, io)?,
        fetch_version: version::<FetchRequest, _, _, LINKS>(&mut cluster, leader, io)?,
        first_offset: expected.offset(0),
        last_offset: expected.offset(last),
        uptime_ms: (expected.uptime(0), expected.uptime(last)),
        first_ack_ms,
        fetches,
    })
}

/// Sends the readings `first_seq..` taken at `uptimes` as one batch; returns the offset the
/// broker gave the first. Not inlined, like [`fetch_back`]: the producer's and the
/// consumer's stack frames then take turns instead of adding up in [`run`]'s.
#[inline(never)]
fn send_batch<K: Connector, C: Clock + Clone, const LINKS: usize>(
    producer: &mut Producer<'_, 1, 1>,
    cluster: &mut JobCluster<'_, K, C, LINKS>,
    job: &Job<'_>,
    first_seq: u32,
    uptimes: &[u64],
    texts: &mut [u8],
    io: &mut [u8],
) -> Outcome<i64> {
    if texts.len() < uptimes.len().saturating_mul(TEXT_SLOT) {
        return Err(Failure::Config("Buffers::texts holds less than one batch"));
    }
    // Keys and values in the caller's text buffer, a slot per reading: key, then value.
    let mut lengths = [(0usize, 0usize); MAX_BATCH];
    let slots = texts.chunks_mut(TEXT_SLOT).zip(lengths.iter_mut());
    for ((seq, &uptime_ms), (slot, length)) in (first_seq..).zip(uptimes).zip(slots) {
        let reading = Reading { seq, uptime_ms };
        let (key_area, value_area) = slot.split_at_mut_checked(KEY_MAX).unwrap_or_default();
        *length = (
            put(key_area, reading.key().as_bytes()),
            put(value_area, reading.value().as_bytes()),
        );
    }
    // Pushed one by one: heapless's `collect` panics when full (it cannot be here).
    let mut records: Vec<Record<'_>, MAX_BATCH> = Vec::new();
    let slots = texts.chunks(TEXT_SLOT).zip(lengths);
    for ((seq, &uptime_ms), (slot, (key_len, value_len))) in (first_seq..).zip(uptimes).zip(slots) {
        let (key, value) = slot.split_at_checked(KEY_MAX).unwrap_or_default();
        let _ = records.push(Record {
            key: key.get(..key_len),
            value: value.get(..value_len),
            headers: &FW_HEADERS,
            timestamp: Reading { seq, uptime_ms }.timestamp(job.epoch_ms),
        });
    }
    producer
        .send(cluster, job.topic, Some(job.partition), &records, io)
        .and_then(|offset| offset.ok_or(Error::NoAcknowledgement))
        .map_err(Failure::kafka(ApiKey::Produce))
}

/// Copies `text` to the front of `area`; the bytes copied (all of them: areas are sized for
/// the longest key and value).
fn put(area: &mut [u8], text: &[u8]) -> usize {
    let mut n = 0usize;
    for (to, &from) in area.iter_mut().zip(text) {
        *to = from;
        n = n.saturating_add(1);
    }
    n
}

/// The version of `R` negotiated with broker `node` (whose connection the job used).
fn version<R: Request, K: Connector, C: Clock + Clone, const LINKS: usize>(
    cluster: &mut JobCluster<'_, K, C, LINKS>,
    node: i32,
    io: &mut [u8],
) -> Outcome<i16> {
    cluster
        .connection(node, io)
        .and_then(|connection| connection.version::<R>())
        .map_err(Failure::kafka(R::API_KEY))
}

/// The `fw` header every record carries.
const FW_HEADERS: [Header<'static>; 1] = [Header {
    key: FW_HEADER,
    value: Some(FW_VERSION.as_bytes()),
}];

/// What was produced: enough to recompute every record and find its offset. Times and
/// offsets are kept as 32-bit distances from the first (it lives on the stack).
struct Expected {
    /// The clock when sampling started.
    start_ms: u64,
    /// Each reading's uptime, in ms after `start_ms`.
    uptimes: [u32; MAX_RECORDS],
    /// The offset the Produce response gave the first batch's first record.
    first_offset: i64,
    /// Each batch's first offset, after `first_offset`.
    batch_offsets: [u32; MAX_RECORDS],
    count: usize,
    batch: usize,
    epoch_ms: i64,
}

impl Expected {
    fn uptime(&self, index: usize) -> u64 {
        let delta = self.uptimes.get(index).copied().unwrap_or_default();
        self.start_ms.saturating_add(u64::from(delta))
    }

    /// The offset reading `index` was written at.
    fn offset(&self, index: usize) -> i64 {
        let base = index
            .checked_div(self.batch)
            .and_then(|k| self.batch_offsets.get(k))
            .copied()
            .unwrap_or_default();
        let within = index.checked_rem(self.batch).unwrap_or_default();
        self.first_offset
            .saturating_add(i64::from(base))
            .saturating_add(i64::try_from(within).unwrap_or(i64::MAX))
    }

    /// Checks `record` against reading `index`; names the first field that differs.
    fn check(&self, index: usize, record: &RecordView<'_>) -> Outcome<()> {
        let reading = Reading {
            seq: index_u32(index),
            uptime_ms: self.uptime(index),
        };
        let mismatch = |field| Failure::Mismatch {
            offset: record.offset,
            field,
        };
        if record.key != Some(reading.key().as_bytes()) {
            return Err(mismatch("key"));
        }
        if record.value != Some(reading.value().as_bytes()) {
            return Err(mismatch("value"));
        }
        if !record.headers.eq(FW_HEADERS.iter().copied()) {
            return Err(mismatch("headers"));
        }
        if record.timestamp != reading.timestamp(self.epoch_ms) {
            return Err(mismatch("timestamp"));
        }
        Ok(())
    }
}

fn index_u32(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX)
}

/// Waits until the clock reaches `at` and returns the time then. A clock that does not move
/// within a generous number of polls is a failure, not a hang.
fn wait_until<C: Clock>(clock: &C, at: u64) -> Outcome<u64> {
    let mut last = clock.now_ms();
    let mut still = 0u32;
    while last < at {
        let now = clock.now_ms();
        if now == last {
            still = still.saturating_add(1);
            if still > 10_000_000 {
                return Err(Failure::ClockStopped);
            }
        } else {
            still = 0;
        }
        last = now;
    }
    Ok(last)
}

/// Fetches from the first reading's offset until every reading was read back and checked;
/// returns the number of Fetch requests.
#[inline(never)]
fn fetch_back<K: Connector, C: Clock + Clone, const LINKS: usize>(
    cluster: &mut JobCluster<'_, K, C, LINKS>,
    job: &Job<'_>,
    expected: &Expected,
    io: &mut [u8],
) -> Outcome<u32> {
    let consumer = Consumer::new(ConsumerConfig {
        max_wait_ms: FETCH_WAIT_MS,
        ..ConsumerConfig::default()
    });
    let failed = Failure::kafka(ApiKey::Fetch);
    let mut index = 0usize; // next reading to check
    let mut fetch_offset = expected.offset(0);
    let mut fetches = 0u32;
    let mut idle = 0u32;
    while index < expected.count {
        let fetched = consumer
            .fetch(cluster, job.topic, job.partition, fetch_offset, io)
            .map_err(&failed)?;
        fetches = fetches.saturating_add(1);
        let before = index;
        for record in fetched.records() {
            let record = record.map_err(&failed)?;
            fetch_offset = fetch_offset.max(record.next_offset());
            if index >= expected.count || record.offset < expected.offset(index) {
                continue; // another producer's record between ours
            }
            if record.offset > expected.offset(index) {
                return Err(Failure::Mismatch {
                    offset: expected.offset(index),
                    field: "offset",
                });
            }
            expected.check(index, &record)?;
            index = index.saturating_add(1);
        }
        if index == before {
            idle = idle.saturating_add(1);
            if idle > EMPTY_FETCHES {
                return Err(Failure::Missing {
                    verified: index_u32(index),
                    produced: index_u32(expected.count),
                });
            }
        }
    }
    Ok(fetches)
}
