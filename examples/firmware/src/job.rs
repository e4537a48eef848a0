//! The telemetry job, independent of the board: connect, negotiate, produce readings, fetch
//! them back and check every key, value, header and timestamp.
//!
//! The transport is whatever reaches the broker (a UART bridged to TCP, a smoltcp socket):
//! the job never opens another connection, so it expects the broker at the other end to lead
//! the partition (a single-broker setup); if it does not, Produce fails with
//! NOT_LEADER_OR_FOLLOWER and the job reports it.
//!
//! All memory is the caller's ([`Buffers`]); the job itself keeps only the uptime of each
//! reading and the base offset of each batch on the stack.

use crate::reading::{Reading, FW_HEADER, FW_VERSION};
use embedded_io::{Read, Write};
use nanokafka::client::{Clock, Connection, ConnectionConfig};
use nanokafka::protocol::fetch::{FetchPartition, FetchRequest, FetchTopic};
use nanokafka::protocol::metadata::{MetadataRequest, MetadataTopic};
use nanokafka::protocol::produce::{ProducePartition, ProduceRequest, ProduceTopic};
use nanokafka::protocol::TopicRef;
use nanokafka::records::{BatchOptions, Batches, Header, Record, RecordBatchBuilder};
use nanokafka::records::{RecordView, SoftwareCrc32c};
use nanokafka::{ApiKey, Error, KafkaCode};

/// Most readings one run produces (the job keeps one uptime per reading).
pub const MAX_RECORDS: usize = 64;
/// Most readings per Produce request.
pub const MAX_BATCH: usize = 16;
/// First Produce and Fetch version that names topics by id.
const TOPIC_ID_FROM: i16 = 13;
/// How often a retriable broker error (a leader not elected yet) is retried, and the pause.
const RETRIES: u32 = 50;
const RETRY_BACKOFF_MS: u64 = 200;
/// Fetches that bring no new record before the job gives up.
const EMPTY_FETCHES: u32 = 20;

/// What to produce and where.
#[derive(Debug, Clone, Copy)]
pub struct Job<'a> {
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
    /// The client id in request headers.
    pub client_id: &'a str,
}

/// The caller's memory.
pub struct Buffers<'a> {
    /// Requests and responses (the ApiVersions answer needs about 600 bytes; the Fetch
    /// answer holds every record of one fetch).
    pub io: &'a mut [u8],
    /// One record batch.
    pub batch: &'a mut [u8],
}

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
    /// Fetch requests it took to read everything back.
    pub fetches: u32,
}

/// Why a run failed. The job's topic and partition apply to all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The job's parameters are out of range.
    Config(&'static str),
    /// A request (or the connection setup, [`ApiKey::ApiVersions`]) failed.
    Kafka {
        /// The API that failed.
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

/// Runs the job over `transport` and returns what it did, or the first failure.
pub fn run<T: Read + Write, C: Clock>(
    transport: T,
    clock: &C,
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
    let config = ConnectionConfig {
        client_id: Some(job.client_id),
        request_timeout_ms: 5_000,
    };
    let mut broker = Connection::connect(transport, clock, config, buffers.io)
        .map_err(Failure::kafka(ApiKey::ApiVersions))?;
    let topic_id = leader_ready(&mut broker, clock, job, buffers.io)?;

    // Produce: `batch` readings per request, one sample period apart.
    let produce_version = broker
        .version::<ProduceRequest>()
        .map_err(Failure::kafka(ApiKey::Produce))?;
    let produce_topic = topic_ref(job, topic_id, produce_version);
    let mut expected = Expected {
        uptimes: [0; MAX_RECORDS],
        base_offsets: [0; MAX_RECORDS],
        count,
        batch,
        epoch_ms: job.epoch_ms,
    };
    let mut next_sample = clock.now_ms();
    for (k, uptimes) in expected
        .uptimes
        .get_mut(..count)
        .unwrap_or_default()
        .chunks_mut(batch)
        .enumerate()
    {
        let mut builder = RecordBatchBuilder::new(buffers.batch, BatchOptions::default())
            .map_err(Failure::kafka(ApiKey::Produce))?;
        for (j, uptime) in uptimes.iter_mut().enumerate() {
            *uptime = wait_until(clock, next_sample)?;
            next_sample = uptime.saturating_add(job.sample_period_ms);
            let reading = Reading {
                seq: index_u32(k.saturating_mul(batch).saturating_add(j)),
                uptime_ms: *uptime,
            };
            builder
                .push(&Record {
                    key: Some(reading.key().as_bytes()),
                    value: Some(reading.value().as_bytes()),
                    headers: &FW_HEADERS,
                    timestamp: reading.timestamp(job.epoch_ms),
                })
                .map_err(Failure::kafka(ApiKey::Produce))?;
        }
        let records = builder
            .finish(&SoftwareCrc32c)
            .map_err(Failure::kafka(ApiKey::Produce))?;
        let base_offset = produce(&mut broker, clock, job, produce_topic, records, buffers.io)?;
        if let Some(slot) = expected.base_offsets.get_mut(k) {
            *slot = base_offset;
        }
    }

    let fetch_version = broker
        .version::<FetchRequest>()
        .map_err(Failure::kafka(ApiKey::Fetch))?;
    let fetch_topic = topic_ref(job, topic_id, fetch_version);
    let fetches = fetch_back(&mut broker, job, fetch_topic, &expected, buffers.io)?;
    let last = count.saturating_sub(1);
    Ok(Summary {
        records: job.records,
        produce_version,
        fetch_version,
        first_offset: expected.offset(0),
        last_offset: expected.offset(last),
        uptime_ms: (expected.uptime(0), expected.uptime(last)),
        fetches,
    })
}

/// The `fw` header every record carries.
const FW_HEADERS: [Header<'static>; 1] = [Header {
    key: FW_HEADER,
    value: Some(FW_VERSION.as_bytes()),
}];

/// What was produced: enough to recompute every record and find its offset.
struct Expected {
    uptimes: [u64; MAX_RECORDS],
    /// The offset of each batch's first record, as the Produce response gave it.
    base_offsets: [i64; MAX_RECORDS],
    count: usize,
    batch: usize,
    epoch_ms: i64,
}

impl Expected {
    fn uptime(&self, index: usize) -> u64 {
        self.uptimes.get(index).copied().unwrap_or_default()
    }

    /// The offset reading `index` was written at.
    fn offset(&self, index: usize) -> i64 {
        let base = index
            .checked_div(self.batch)
            .and_then(|k| self.base_offsets.get(k))
            .copied()
            .unwrap_or_default();
        let within = index.checked_rem(self.batch).unwrap_or_default();
        base.saturating_add(i64::try_from(within).unwrap_or(i64::MAX))
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

/// The topic as `version` of Produce or Fetch names it.
fn topic_ref<'a>(job: &Job<'a>, topic_id: [u8; 16], version: i16) -> TopicRef<'a> {
    if version >= TOPIC_ID_FROM {
        TopicRef::Id(topic_id)
    } else {
        TopicRef::Name(job.topic)
    }
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

fn pause<C: Clock>(clock: &C, ms: u64) -> Outcome<()> {
    wait_until(clock, clock.now_ms().saturating_add(ms)).map(|_| ())
}

/// Asks Metadata until the partition has a leader (a topic created a moment ago has none
/// yet) and returns the topic id (for Produce/Fetch v13+).
fn leader_ready<T: Read + Write, C: Clock>(
    broker: &mut Connection<'_, T, &C>,
    clock: &C,
    job: &Job<'_>,
    io: &mut [u8],
) -> Outcome<[u8; 16]> {
    let names = [MetadataTopic::named(job.topic)];
    let request = MetadataRequest {
        allow_auto_topic_creation: true,
        ..MetadataRequest::new(Some(&names))
    };
    for _ in 0..RETRIES {
        let metadata = broker
            .send(&request, io)
            .map_err(Failure::kafka(ApiKey::Metadata))?;
        match metadata.leader(job.topic, job.partition) {
            Ok(Some(_)) => {
                return Ok(metadata
                    .topic(job.topic)
                    .map(|t| t.topic_id)
                    .unwrap_or_default())
            }
            Ok(None) => {}
            Err(Error::Broker { code, .. }) if code.is_retriable() => {}
            Err(error) => {
                return Err(Failure::Kafka {
                    api: ApiKey::Metadata,
                    error,
                })
            }
        }
        pause(clock, RETRY_BACKOFF_MS)?;
    }
    Err(Failure::Kafka {
        api: ApiKey::Metadata,
        error: Error::LeaderNotFound {
            partition: job.partition,
        },
    })
}

/// Sends one batch (acks = all) and returns the offset the broker gave its first record.
/// Retriable refusals (leadership still moving right after creation) are retried: a refused
/// batch was not appended, so a retry cannot duplicate it.
fn produce<T: Read + Write, C: Clock>(
    broker: &mut Connection<'_, T, &C>,
    clock: &C,
    job: &Job<'_>,
    topic: TopicRef<'_>,
    records: &[u8],
    io: &mut [u8],
) -> Outcome<i64> {
    let partitions = [ProducePartition {
        index: job.partition,
        records: Some(records),
    }];
    let topics = [ProduceTopic {
        topic,
        partition_data: &partitions,
    }];
    let request = ProduceRequest {
        transactional_id: None,
        acks: -1,
        timeout_ms: 5_000,
        topic_data: &topics,
    };
    let failed = Failure::kafka(ApiKey::Produce);
    let mut code = KafkaCode::NONE;
    for _ in 0..RETRIES {
        let response = broker.send(&request, io).map_err(&failed)?;
        let partition = response
            .responses
            .iter()
            .flat_map(|t| t.partition_responses.iter())
            .find(|p| p.index == job.partition)
            .ok_or(failed(Error::PartitionMismatch {
                partition: job.partition,
            }))?;
        code = partition.error_code;
        if code.is_ok() {
            return Ok(partition.base_offset);
        }
        if !code.is_retriable() {
            break;
        }
        pause(clock, RETRY_BACKOFF_MS)?;
    }
    Err(failed(Error::Broker {
        api: ApiKey::Produce,
        code,
        partition: Some(job.partition),
    }))
}

/// Fetches from the first reading's offset until every reading was read back and checked;
/// returns the number of Fetch requests.
fn fetch_back<T: Read + Write, C: Clock>(
    broker: &mut Connection<'_, T, &C>,
    job: &Job<'_>,
    topic: TopicRef<'_>,
    expected: &Expected,
    io: &mut [u8],
) -> Outcome<u32> {
    const MAX_WAIT_MS: i32 = 500;
    // The answer must fit in `io` with its headers; a first batch larger than the limit
    // still comes whole, so keep well below.
    let limit = i32::try_from(io.len() / 2).unwrap_or(i32::MAX);
    let failed = Failure::kafka(ApiKey::Fetch);
    let mut index = 0usize; // next reading to check
    let mut fetch_offset = expected.offset(0);
    let mut fetches = 0u32;
    let mut idle = 0u32;
    while index < expected.count {
        let partitions = [FetchPartition::new(job.partition, fetch_offset, limit)];
        let topics = [FetchTopic {
            topic,
            partitions: &partitions,
        }];
        let request = FetchRequest::new(&topics, MAX_WAIT_MS, 1, limit);
        let response = broker
            .send_raw(&request, None, MAX_WAIT_MS.unsigned_abs(), io)
            .and_then(|received| received.decode::<FetchRequest>(io))
            .map_err(&failed)?;
        fetches = fetches.saturating_add(1);
        response.error_code.check(ApiKey::Fetch).map_err(&failed)?;
        let partition = response
            .responses
            .iter()
            .flat_map(|t| t.partitions.iter())
            .find(|p| p.partition_index == job.partition)
            .ok_or(failed(Error::PartitionMismatch {
                partition: job.partition,
            }))?;
        partition.error_code.check(ApiKey::Fetch).map_err(&failed)?;
        let before = index;
        // A batch cut short at the end is normal: the next fetch starts at its offset.
        for batch in Batches::new(partition.records.unwrap_or_default(), SoftwareCrc32c) {
            let records = batch.and_then(|b| b.records()).map_err(&failed)?;
            for record in records {
                let record = record.map_err(&failed)?;
                fetch_offset = fetch_offset.max(record.next_offset());
                if index >= expected.count || record.offset < expected.offset(index) {
                    continue; // before our batch, or another producer's record between ours
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
