//! The mock cluster's state: brokers, topics, partition logs, committed offsets, faults.

use super::{Fault, FaultKind, MockConfig};
use crate::HardwareCrc32c;
use bytes::{Bytes, BytesMut};
use nanokafka::records::{Compression, RecordBatch, LOG_OVERHEAD};
use nanokafka::{ApiKey, KafkaCode};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// Byte ranges of the RecordBatch v2 header fields the broker reads or patches (docs/architecture.md, "Record layout").
mod field {
    use std::ops::Range;
    pub const BASE_OFFSET: Range<usize> = 0..8;
    pub const BATCH_LENGTH: Range<usize> = 8..12;
    pub const PARTITION_LEADER_EPOCH: Range<usize> = 12..16;
}

/// One broker of the cluster.
#[derive(Debug, Clone)]
pub(super) struct Broker {
    pub node_id: i32,
    /// Advertised in Metadata and FindCoordinator.
    pub host: String,
    pub port: i32,
    /// A broker that is down refuses connections and drops the ones it had.
    pub up: bool,
    /// Its dynamic configs (IncrementalAlterConfigs on the broker), name → value.
    pub configs: BTreeMap<String, String>,
}

/// A stored batch: its bytes with the broker-assigned base offset patched in.
#[derive(Debug, Clone)]
pub(super) struct StoredBatch {
    pub base_offset: i64,
    pub last_offset: i64,
    pub max_timestamp: i64,
    pub data: Bytes,
}

/// A partition's log. Batches are stored opaquely (a compressed batch is served as it came);
/// only the header fields are read.
#[derive(Debug, Default)]
pub(super) struct Log {
    pub batches: Vec<StoredBatch>,
    pub log_start: i64,
    pub high_watermark: i64,
}

/// A partition: its leader and log.
#[derive(Debug)]
pub(super) struct Partition {
    pub leader: i32,
    /// Bumped whenever the leader moves; stamped into appended batches.
    pub leader_epoch: i32,
    pub log: Log,
}

/// A topic: its id, partitions and the configs set on it (the others have their defaults).
#[derive(Debug)]
pub(super) struct Topic {
    pub id: Uuid,
    pub partitions: Vec<Partition>,
    /// Topic-level configs (CreateTopics, IncrementalAlterConfigs), checked against
    /// `apis::admin::TOPIC_CONFIGS`.
    pub configs: BTreeMap<String, String>,
}

impl Topic {
    /// `max.message.bytes`, when set on the topic (else the cluster's `message_max_bytes`
    /// applies): the one topic config the mock enforces.
    pub fn max_message_bytes(&self) -> Option<usize> {
        self.configs.get("max.message.bytes")?.parse().ok()
    }
}

/// A committed offset of a group.
#[derive(Debug, Clone)]
pub(super) struct Committed {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: Option<String>,
}

/// Everything the cluster holds, behind the cluster's mutex.
#[derive(Debug)]
pub(super) struct State {
    pub config: MockConfig,
    pub brokers: Vec<Broker>,
    pub topics: BTreeMap<String, Topic>,
    /// Keyed by (group, topic, partition).
    pub committed: HashMap<(String, String, i32), Committed>,
    pub faults: Vec<Fault>,
    /// Requests handled, by (API key, version).
    pub seen: BTreeMap<(i16, i16), u64>,
    pub next_producer_id: i64,
    /// Idempotent producers' state per (topic, partition, producer id): epoch and the next
    /// sequence expected, so that a resent batch is not stored twice (as Kafka).
    pub producers: HashMap<(String, i32, i64), (i16, i32)>,
    topics_created: u64,
}

/// An injected error that applies to the request being handled.
#[derive(Debug, Clone)]
pub(super) struct InjectedError {
    index: usize,
    code: KafkaCode,
    topic: Option<String>,
    partition: Option<i32>,
    hit: bool,
}

impl InjectedError {
    /// The code to answer for `topic`/`partition` (`None`: a top-level or per-topic field), if
    /// the fault covers it.
    pub fn code(&mut self, topic: Option<&str>, partition: Option<i32>) -> Option<i16> {
        let topic_matches = self.topic.is_none() || self.topic.as_deref() == topic;
        let partition_matches = self.partition.is_none() || self.partition == partition;
        (topic_matches && partition_matches).then(|| {
            self.hit = true;
            self.code.0
        })
    }
}

/// Whether a name is a valid Kafka topic name (1-249 of `[a-zA-Z0-9._-]`, not `.` or `..`).
pub(super) fn valid_topic_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl State {
    pub fn new(config: MockConfig) -> State {
        let brokers = (1..=config.brokers.max(1))
            .map(|node_id| Broker {
                node_id,
                host: format!("broker-{node_id}.mock"),
                port: 9092,
                up: true,
                configs: BTreeMap::new(),
            })
            .collect();
        State {
            config,
            brokers,
            topics: BTreeMap::new(),
            committed: HashMap::new(),
            faults: Vec::new(),
            seen: BTreeMap::new(),
            next_producer_id: 1000,
            producers: HashMap::new(),
            topics_created: 0,
        }
    }

    pub fn broker(&self, node_id: i32) -> Option<&Broker> {
        self.brokers.iter().find(|b| b.node_id == node_id)
    }

    pub fn broker_mut(&mut self, node_id: i32) -> Option<&mut Broker> {
        self.brokers.iter_mut().find(|b| b.node_id == node_id)
    }

    pub fn live_brokers(&self) -> impl Iterator<Item = &Broker> {
        self.brokers.iter().filter(|b| b.up)
    }

    pub fn is_up(&self, node_id: i32) -> bool {
        self.broker(node_id).is_some_and(|b| b.up)
    }

    /// Creates a topic whose partition leaders are spread over the brokers (or taken from
    /// `leaders`, one per partition, when given).
    pub fn create_topic(
        &mut self,
        name: &str,
        partitions: i32,
        leaders: Option<Vec<i32>>,
    ) -> Result<&Topic, KafkaCode> {
        if !valid_topic_name(name) {
            return Err(KafkaCode::INVALID_TOPIC_EXCEPTION);
        }
        if self.topics.contains_key(name) {
            return Err(KafkaCode::TOPIC_ALREADY_EXISTS);
        }
        let count = usize::try_from(partitions)
            .ok()
            .filter(|&n| n > 0)
            .ok_or(KafkaCode::INVALID_PARTITIONS)?;
        let brokers: Vec<i32> = self.brokers.iter().map(|b| b.node_id).collect();
        if let Some(leaders) = &leaders {
            if leaders.len() != count || leaders.iter().any(|l| !brokers.contains(l)) {
                return Err(KafkaCode::INVALID_REPLICA_ASSIGNMENT);
            }
        }
        let seq = self.topics_created;
        self.topics_created = seq.wrapping_add(1);
        let first = usize::try_from(seq % brokers.len().max(1) as u64).unwrap_or(0);
        let partitions = (0..count)
            .map(|p| Partition {
                leader: match &leaders {
                    Some(leaders) => leaders.get(p).copied().unwrap_or(1),
                    None => brokers
                        .get((first + p) % brokers.len().max(1))
                        .copied()
                        .unwrap_or(1),
                },
                leader_epoch: 0,
                log: Log::default(),
            })
            .collect();
        // "nanokafk" + a sequence number: unique, never the nil id.
        let id = Uuid::from_u64_pair(0x6e61_6e6f_6b61_666b, seq.wrapping_add(1));
        log::info!("mock: created topic {name} ({count} partitions, id {id})");
        Ok(self.topics.entry(name.to_owned()).or_insert(Topic {
            id,
            partitions,
            configs: BTreeMap::new(),
        }))
    }

    /// Grows `name` to `count` partitions, the new ones led by `leaders` (one per new
    /// partition) or spread over the brokers. Refused with UNKNOWN_TOPIC_OR_PARTITION,
    /// INVALID_PARTITIONS (a count not above the current one) or INVALID_REPLICA_ASSIGNMENT.
    pub fn grow_topic(
        &mut self,
        name: &str,
        count: i32,
        leaders: Option<Vec<i32>>,
    ) -> Result<(), KafkaCode> {
        let brokers: Vec<i32> = self.brokers.iter().map(|b| b.node_id).collect();
        let topic = self
            .topics
            .get_mut(name)
            .ok_or(KafkaCode::UNKNOWN_TOPIC_OR_PARTITION)?;
        let current = topic.partitions.len();
        let added = usize::try_from(count)
            .ok()
            .and_then(|n| n.checked_sub(current))
            .filter(|&n| n > 0)
            .ok_or(KafkaCode::INVALID_PARTITIONS)?;
        if let Some(leaders) = &leaders {
            if leaders.len() != added || leaders.iter().any(|l| !brokers.contains(l)) {
                return Err(KafkaCode::INVALID_REPLICA_ASSIGNMENT);
            }
        }
        let leader = |i: usize| match &leaders {
            Some(leaders) => leaders.get(i).copied().unwrap_or(1),
            None => brokers
                .get((current + i) % brokers.len().max(1))
                .copied()
                .unwrap_or(1),
        };
        topic.partitions.extend((0..added).map(|i| Partition {
            leader: leader(i),
            leader_epoch: 0,
            log: Log::default(),
        }));
        log::info!("mock: grew topic {name} from {current} to {count} partitions");
        Ok(())
    }

    /// Deletes `name` with its logs and producer state.
    pub fn delete_topic(&mut self, name: &str) -> Result<(), KafkaCode> {
        self.topics
            .remove(name)
            .ok_or(KafkaCode::UNKNOWN_TOPIC_OR_PARTITION)?;
        self.producers.retain(|(topic, _, _), _| topic != name);
        log::info!("mock: deleted topic {name}");
        Ok(())
    }

    /// The topic called `name`, created with the default partition count when auto-creation
    /// is on (and `allowed` by the request).
    pub fn topic_or_create(&mut self, name: &str, allowed: bool) -> Result<&Topic, KafkaCode> {
        if !self.topics.contains_key(name) {
            if !(allowed && self.config.auto_create_topics) {
                return Err(KafkaCode::UNKNOWN_TOPIC_OR_PARTITION);
            }
            let partitions = self.config.default_partitions;
            return self.create_topic(name, partitions, None);
        }
        self.topics
            .get(name)
            .ok_or(KafkaCode::UNKNOWN_TOPIC_OR_PARTITION)
    }

    pub fn topic_by_id(&self, id: Uuid) -> Option<(&String, &Topic)> {
        self.topics.iter().find(|(_, t)| t.id == id)
    }

    /// The topic a request names: by `id` when `by_id` (Produce/Fetch v13+; `None` if no
    /// topic has it), else by `name`.
    pub fn topic_named(&self, by_id: bool, name: &str, id: Uuid) -> Option<String> {
        if by_id {
            self.topic_by_id(id).map(|(name, _)| name.clone())
        } else {
            Some(name.to_owned())
        }
    }

    /// Partition `index` of `topic`, if both exist.
    pub fn partition(&self, topic: &str, index: i32) -> Option<&Partition> {
        self.topics
            .get(topic)?
            .partitions
            .get(usize::try_from(index).ok()?)
    }

    /// Partition `index` of `topic`, if both exist, for changing.
    pub fn partition_mut(&mut self, topic: &str, index: i32) -> Option<&mut Partition> {
        self.topics
            .get_mut(topic)?
            .partitions
            .get_mut(usize::try_from(index).ok()?)
    }

    /// The partition, if `node` leads it: else UNKNOWN_TOPIC_OR_PARTITION or
    /// NOT_LEADER_OR_FOLLOWER.
    pub fn led_partition(
        &mut self,
        topic: &str,
        partition: i32,
        node: i32,
    ) -> Result<&mut Partition, KafkaCode> {
        let p = self
            .partition_mut(topic, partition)
            .ok_or(KafkaCode::UNKNOWN_TOPIC_OR_PARTITION)?;
        if p.leader != node {
            return Err(KafkaCode::NOT_LEADER_OR_FOLLOWER);
        }
        Ok(p)
    }

    /// Takes the connection-level fault (drop or delay) for a request, if one is armed.
    pub fn take_connection_fault(&mut self, node: i32, api: i16) -> Option<FaultKind> {
        let index = self
            .faults
            .iter()
            .position(|f| f.matches(node, api) && !matches!(f.kind, FaultKind::Error { .. }))?;
        let kind = self.faults.get(index)?.kind.clone();
        self.count_down(index);
        Some(kind)
    }

    /// The armed error fault for a request, if any; hand it back with [`State::settle`].
    pub fn error_fault(&self, node: i32, api: i16) -> Option<InjectedError> {
        self.faults
            .iter()
            .enumerate()
            .find_map(|(index, f)| match &f.kind {
                FaultKind::Error {
                    code,
                    topic,
                    partition,
                } if f.matches(node, api) => Some(InjectedError {
                    index,
                    code: *code,
                    topic: topic.clone(),
                    partition: *partition,
                    hit: false,
                }),
                _ => None,
            })
    }

    /// Counts an error fault down if the request it was offered to used it.
    pub fn settle(&mut self, injected: Option<InjectedError>) {
        if let Some(injected) = injected.filter(|i| i.hit) {
            self.count_down(injected.index);
        }
    }

    fn count_down(&mut self, index: usize) {
        if let Some(fault) = self.faults.get_mut(index) {
            fault.times = fault.times.saturating_sub(1);
            if fault.times == 0 {
                self.faults.remove(index);
            }
        }
    }
}

impl Fault {
    fn matches(&self, node: i32, api: i16) -> bool {
        self.times > 0
            && self.broker.is_none_or(|b| b == node)
            && self.api.is_none_or(|a: ApiKey| a.as_i16() == api)
    }
}

/// The batches in `records` (a Produce partition's bytes), each checked: magic 2, length,
/// CRC-32C. Anything else is CORRUPT_MESSAGE; a batch over `max_bytes` is MESSAGE_TOO_LARGE.
pub(super) fn split_batches(
    records: &[u8],
    max_bytes: usize,
) -> Result<Vec<RecordBatch<'_>>, KafkaCode> {
    let mut batches = Vec::new();
    let mut rest = records;
    while !rest.is_empty() {
        let length = rest
            .get(field::BATCH_LENGTH)
            .and_then(|b| b.try_into().ok())
            .map(i32::from_be_bytes)
            .and_then(|n| usize::try_from(n).ok())
            .and_then(|n| n.checked_add(LOG_OVERHEAD))
            .ok_or(KafkaCode::CORRUPT_MESSAGE)?;
        if length > max_bytes {
            return Err(KafkaCode::MESSAGE_TOO_LARGE);
        }
        let (batch, tail) = rest
            .split_at_checked(length)
            .ok_or(KafkaCode::CORRUPT_MESSAGE)?;
        let batch = RecordBatch::new_checked(batch, &HardwareCrc32c).map_err(|e| {
            log::warn!("mock: rejecting a produced batch: {e}");
            KafkaCode::CORRUPT_MESSAGE
        })?;
        if batch.last_offset_delta() < 0 {
            log::warn!("mock: rejecting a produced batch with a negative last offset delta");
            return Err(KafkaCode::CORRUPT_MESSAGE);
        }
        batches.push(batch);
        rest = tail;
    }
    if batches.is_empty() {
        return Err(KafkaCode::CORRUPT_MESSAGE);
    }
    Ok(batches)
}

impl Log {
    /// Appends checked batches, assigning offsets from the high watermark (the base offset
    /// and partition leader epoch are outside the CRC, so patching them keeps it valid).
    /// Returns the first batch's base offset.
    pub fn append(&mut self, batches: &[RecordBatch<'_>], leader_epoch: i32) -> i64 {
        let first = self.high_watermark;
        for batch in batches {
            let count = i64::from(batch.last_offset_delta()).saturating_add(1);
            let base_offset = self.high_watermark;
            let mut bytes = BytesMut::from(batch.as_bytes());
            if let Some(b) = bytes.get_mut(field::BASE_OFFSET) {
                b.copy_from_slice(&base_offset.to_be_bytes());
            }
            if let Some(b) = bytes.get_mut(field::PARTITION_LEADER_EPOCH) {
                b.copy_from_slice(&leader_epoch.to_be_bytes());
            }
            self.high_watermark = base_offset.saturating_add(count);
            self.batches.push(StoredBatch {
                base_offset,
                last_offset: self.high_watermark.saturating_sub(1),
                max_timestamp: batch.max_timestamp(),
                data: bytes.freeze(),
            });
        }
        first
    }

    /// The index of the batch holding `offset`, or `Err` when `offset` is outside
    /// `log_start..=high_watermark` (at the high watermark: `Ok(None)`, nothing yet).
    pub fn find(&self, offset: i64) -> Result<Option<usize>, KafkaCode> {
        if offset < self.log_start || offset > self.high_watermark {
            return Err(KafkaCode::OFFSET_OUT_OF_RANGE);
        }
        Ok(self.batches.iter().position(|b| b.last_offset >= offset))
    }

    /// Whole batches from the one holding `offset`, at most `max_bytes` of them, but at least
    /// one when `at_least_one` (KIP-74: a batch larger than the limit still gets through).
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        at_least_one: bool,
    ) -> Result<Bytes, KafkaCode> {
        let Some(start) = self.find(offset)? else {
            return Ok(Bytes::new());
        };
        let mut out = BytesMut::new();
        for batch in self.batches.iter().skip(start) {
            let fits = out.len().saturating_add(batch.data.len()) <= max_bytes;
            if !(fits || (out.is_empty() && at_least_one)) {
                break;
            }
            out.extend_from_slice(&batch.data);
        }
        Ok(out.freeze())
    }

    /// The first offset whose record timestamp is at least `timestamp`, with that timestamp.
    /// Uncompressed batches are searched record by record; a compressed one answers with its
    /// base offset and max timestamp (the mock does not decompress).
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Option<(i64, i64)> {
        let batch = self.batches.iter().find(|b| b.max_timestamp >= timestamp)?;
        Some(
            exact_record(batch, |t| t >= timestamp)
                .unwrap_or((batch.base_offset, batch.max_timestamp)),
        )
    }

    /// The offset and timestamp of the record with the largest timestamp (ListOffsets -3).
    pub fn max_timestamp(&self) -> Option<(i64, i64)> {
        let batch = self.batches.iter().rev().max_by_key(|b| b.max_timestamp)?;
        let max = batch.max_timestamp;
        Some(exact_record(batch, |t| t == max).unwrap_or((batch.base_offset, max)))
    }
}

/// The first record of an uncompressed `batch` whose timestamp satisfies `wanted`.
fn exact_record(batch: &StoredBatch, wanted: impl Fn(i64) -> bool) -> Option<(i64, i64)> {
    let view = RecordBatch::new_checked(&batch.data, &HardwareCrc32c).ok()?;
    if view.compression().ok()? != Compression::None {
        return None;
    }
    view.records()
        .ok()?
        .filter_map(Result::ok)
        .find(|r| wanted(r.timestamp))
        .map(|r| (r.offset, r.timestamp))
}
