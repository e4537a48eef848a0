//! Produce, once for every driver: request assembly, response matching and the idempotent
//! sequence rules (KIP-98, with the Java client's ordering and epoch-bump rules).
//!
//! A driver keeps one [`PartitionState`] per partition and one [`BatchState`] per sealed
//! batch, wherever it likes (a heapless table on firmware, its queues on std), and asks the
//! [`ProduceEngine`]:
//! - [`ProduceEngine::prepare`] before each send: may the batch go now, and with which
//!   [`Stamp`] (written into the sealed bytes with [`stamp_batch`]);
//! - [`ProduceEngine::sent`] once the request carrying it is written;
//! - [`ProduceEngine::settle`] with the batch's answer ([`answer_for`]) or the request's own
//!   failure: acknowledged, retry, or failed. A batch given up after a request carrying it
//!   was written and never answered fails with [`Error::MaybeStored`], never a plain error
//!   (with idempotence stored at most once; without, possibly once per such attempt).
//! - When [`ProduceEngine::needs_producer_id`] says so (first use, or after a batch with a
//!   sequence was given up), the driver waits for its requests in flight, sends
//!   [`INIT_PRODUCER_ID`] and hands the outcome to [`ProduceEngine::producer_id_answered`]
//!   ([`producer_id_in`] of the answer); every partition's sequences then start again at 0,
//!   so later batches are not refused as out of order.

use crate::client::Acks;
use crate::protocol::init_producer_id::{InitProducerIdRequest, InitProducerIdResponse};
use crate::protocol::produce::ProduceTopic;
use crate::protocol::produce::{ProducePartition, ProduceRequest, ProduceResponse, TOPIC_ID_FROM};
use crate::protocol::{ApiKey, TopicRef};
use crate::records::batch::field;
use crate::records::{Checksum, Compression};
use crate::wire::copy;
use crate::{Error, KafkaCode, Result};

/// Batches of one partition in flight at once with idempotence (Java's
/// `max.in.flight.requests.per.connection` limit for it; the broker keeps 5 per producer).
pub const MAX_IN_FLIGHT_IDEMPOTENT: u8 = 5;

/// One sealed batch ready to go in a Produce request.
#[derive(Debug, Clone, Copy)]
pub struct ReadyBatch<'a> {
    /// Its topic.
    pub topic: &'a str,
    /// The topic's id, when known (topics go by id from Produce v13).
    pub topic_id: Option<[u8; 16]>,
    /// Its partition.
    pub partition: i32,
    /// The sealed RecordBatch bytes.
    pub records: &'a [u8],
}

/// Builds one Produce request for `batches` at `version` (lowered to v12 when a topic has no
/// id) and hands it to `send` with the version to send it at. `N` bounds the partitions.
/// zstd below v7 is refused (`Compression::check_version`).
pub fn with_request<const N: usize, T>(
    batches: &[ReadyBatch<'_>],
    acks: Acks,
    timeout_ms: i32,
    version: i16,
    compression: Compression,
    send: impl FnOnce(&ProduceRequest<'_>, i16) -> Result<T>,
) -> Result<T> {
    let full = Error::InvalidArgument("more partitions in one Produce request than it holds");
    let by_id = version >= TOPIC_ID_FROM && batches.iter().all(|b| b.topic_id.is_some());
    let version = if by_id {
        version
    } else {
        version.min(TOPIC_ID_FROM.saturating_sub(1))
    };
    compression.check_version(ApiKey::Produce, version)?;
    // Partitions grouped by topic, topics in first-seen order.
    let mut parts: heapless::Vec<ProducePartition<'_>, N> = heapless::Vec::new();
    // Per topic: its first batch and where its partitions end in `parts`.
    let mut spans: heapless::Vec<(usize, usize), N> = heapless::Vec::new();
    for (k, b) in batches.iter().enumerate() {
        let earlier = batches.get(..k).unwrap_or_default();
        if earlier.iter().any(|e| e.topic == b.topic) {
            continue;
        }
        for m in batches.get(k..).unwrap_or_default() {
            if m.topic == b.topic {
                let part = ProducePartition {
                    index: m.partition,
                    records: Some(m.records),
                };
                parts.push(part).map_err(|_| full)?;
            }
        }
        spans.push((k, parts.len())).map_err(|_| full)?;
    }
    let mut topics: heapless::Vec<ProduceTopic<'_>, N> = heapless::Vec::new();
    let mut start = 0;
    for &(k, end) in &spans {
        let b = batches.get(k).ok_or(full)?;
        let topic = match b.topic_id {
            Some(id) if by_id => TopicRef::Id(id),
            _ => TopicRef::Name(b.topic),
        };
        let partition_data = parts.get(start..end).unwrap_or_default();
        start = end;
        topics
            .push(ProduceTopic {
                topic,
                partition_data,
            })
            .map_err(|_| full)?;
    }
    let request = ProduceRequest {
        transactional_id: None,
        acks: acks.as_i16(),
        timeout_ms,
        topic_data: &topics,
    };
    send(&request, version)
}

/// `batch`'s answer in `response` (sent at `version`): its base offset when the broker
/// appended it (`None` when the broker gave none), or the partition's error. A duplicate
/// sequence is an acknowledgement (the broker holds the records already); a partition the
/// broker left out is `NoAcknowledgement`.
pub fn answer_for(
    response: &ProduceResponse<'_>,
    batch: &ReadyBatch<'_>,
    version: i16,
) -> Result<Option<i64>> {
    let by_id = version >= TOPIC_ID_FROM;
    let answer = response
        .responses
        .iter()
        .filter(|t| match t.topic {
            TopicRef::Name(name) => !by_id && name == batch.topic,
            TopicRef::Id(id) => by_id && Some(id) == batch.topic_id,
        })
        .find_map(|t| t.partition_responses.find(|p| p.index == batch.partition));
    match answer {
        None => Err(Error::NoAcknowledgement),
        Some(p) if p.error_code.is_ok() || p.error_code == KafkaCode::DUPLICATE_SEQUENCE_NUMBER => {
            Ok(Some(p.base_offset).filter(|&o| o >= 0))
        }
        Some(p) => Err(Error::Broker {
            api: ApiKey::Produce,
            code: p.error_code,
            partition: Some(batch.partition),
        }),
    }
}

/// The InitProducerId request for a new producer id of an idempotent (not transactional)
/// producer.
pub const INIT_PRODUCER_ID: InitProducerIdRequest<'static> = InitProducerIdRequest {
    transactional_id: None,
    transaction_timeout_ms: -1,
    producer_id: -1,
    producer_epoch: -1,
};

/// The producer id and epoch an InitProducerId answer gives, or its error (a retriable
/// COORDINATOR_LOAD_IN_PROGRESS while a fresh cluster starts its transaction log).
pub fn producer_id_in(response: &InitProducerIdResponse) -> Result<(i64, i16)> {
    response.error_code.check(ApiKey::InitProducerId)?;
    Ok((response.producer_id, response.producer_epoch))
}

/// The idempotent fields of a batch: producer id and epoch, first sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Stamp {
    /// The producer id (InitProducerId).
    pub producer_id: i64,
    /// Its epoch.
    pub producer_epoch: i16,
    /// The sequence number of the batch's first record.
    pub base_sequence: i32,
}

/// Writes `stamp` into a sealed RecordBatch v2 and computes its CRC-32C again (the producer
/// fields are inside the CRC). Resent batches keep their stamp: this runs once per producer id.
pub fn stamp_batch(
    batch: &mut [u8],
    stamp: &Stamp,
    checksum: &(impl Checksum + ?Sized),
) -> Result<()> {
    let short = Error::Malformed("record batch shorter than its header");
    copy(
        batch.get_mut(field::PRODUCER_ID).ok_or(short)?,
        &stamp.producer_id.to_be_bytes(),
    );
    copy(
        batch.get_mut(field::PRODUCER_EPOCH).ok_or(short)?,
        &stamp.producer_epoch.to_be_bytes(),
    );
    copy(
        batch.get_mut(field::BASE_SEQUENCE).ok_or(short)?,
        &stamp.base_sequence.to_be_bytes(),
    );
    let crc = checksum.crc32c(batch.get(field::ATTRIBUTES.start..).unwrap_or_default());
    copy(batch.get_mut(field::CRC).ok_or(short)?, &crc.to_be_bytes());
    Ok(())
}

/// One partition's sequence state, kept by the driver.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PartitionState {
    /// The producer id generation these sequences belong to.
    generation: u32,
    /// The next sequence to give.
    next: i32,
    /// The first sequence not acknowledged yet.
    unacknowledged: i32,
    /// Batches of this partition in requests written and not answered.
    in_flight: u8,
}

impl PartitionState {
    /// Batches of this partition in flight.
    pub const fn in_flight(&self) -> u8 {
        self.in_flight
    }
}

/// One batch's progress, kept by the driver beside the sealed bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BatchState {
    records: i32,
    /// Give up retrying after this time (ms, the driver's clock).
    deadline_ms: u64,
    /// Its stamp and the producer generation it was given under.
    stamp: Option<(Stamp, u32)>,
    attempts: u16,
    /// In a request written and not answered yet.
    in_flight: bool,
    /// Some request carrying it was written and never answered: it may be stored.
    maybe_stored: bool,
}

impl BatchState {
    /// A sealed batch of `records` records, to be delivered by `deadline_ms`.
    pub const fn new(records: i32, deadline_ms: u64) -> Self {
        BatchState {
            records,
            deadline_ms,
            stamp: None,
            attempts: 0,
            in_flight: false,
            maybe_stored: false,
        }
    }

    /// Requests written with it so far.
    pub const fn attempts(&self) -> u16 {
        self.attempts
    }
}

/// What [`ProduceEngine::prepare`] says about a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Prepared {
    /// Send it; write this stamp into its bytes first (`None`: they are right already).
    Send(Option<Stamp>),
    /// Not now: its partition's earlier batches, or a new producer id, come first.
    Wait,
}

/// What became of a batch after an answer or a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Outcome {
    /// Stored; its base offset when the broker gave one.
    Acknowledged(Option<i64>),
    /// Send it again (after a metadata refresh and the backoff).
    Retry(Error),
    /// Given up.
    Failed(Error),
}

/// The produce state machine: idempotence on or off, the producer id and its generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ProduceEngine {
    idempotent: bool,
    producer_id: i64,
    producer_epoch: i16,
    /// Bumped with each producer id: sequences and stamps of older ones are stale.
    generation: u32,
    /// A batch with a sequence was given up: a new producer id before anything else.
    reset: bool,
}

impl ProduceEngine {
    /// An engine; `idempotent` needs `acks = All` (the driver checks).
    pub const fn new(idempotent: bool) -> Self {
        ProduceEngine {
            idempotent,
            producer_id: -1,
            producer_epoch: -1,
            generation: 0,
            reset: false,
        }
    }

    /// Whether batches get producer ids and sequences.
    pub const fn idempotent(&self) -> bool {
        self.idempotent
    }

    /// Turns idempotence off (a broker without InitProducerId).
    pub fn disable_idempotence(&mut self) {
        self.idempotent = false;
        self.reset = false;
    }

    /// The producer id and epoch, once set.
    pub fn producer(&self) -> Option<(i64, i16)> {
        (self.producer_id >= 0).then_some((self.producer_id, self.producer_epoch))
    }

    /// Whether the driver must get a producer id (once its requests in flight are answered)
    /// before sending more.
    pub const fn needs_producer_id(&self) -> bool {
        self.idempotent && (self.producer_id < 0 || self.reset)
    }

    /// A new producer id (or epoch): every partition's sequences start again at 0, and
    /// batches not acknowledged get new stamps when next sent.
    pub fn set_producer(&mut self, producer_id: i64, producer_epoch: i16) {
        self.producer_id = producer_id;
        self.producer_epoch = producer_epoch;
        self.generation = self.generation.wrapping_add(1);
        self.reset = false;
    }

    /// What getting a producer id for [`INIT_PRODUCER_ID`] came to, after the driver's
    /// retries ([`producer_id_in`] of the answer, or the failure): the producer id is set; a
    /// broker that does not offer InitProducerId turns idempotence off (produced to without
    /// it); any other failure is returned.
    pub fn producer_id_answered(&mut self, answer: Result<(i64, i16)>) -> Result<()> {
        match answer {
            Ok((producer_id, producer_epoch)) => self.set_producer(producer_id, producer_epoch),
            Err(Error::UnsupportedVersion {
                api: ApiKey::InitProducerId,
                broker: None,
                ..
            }) => self.disable_idempotence(),
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// May `batch` of `partition` be sent now, with at most `max_in_flight` batches of the
    /// partition in flight? A retried batch goes only when none of its partition is in
    /// flight, so batches reach the log in sequence order (Java's rule).
    pub fn prepare(
        &self,
        partition: &mut PartitionState,
        batch: &mut BatchState,
        max_in_flight: u8,
    ) -> Prepared {
        if self.needs_producer_id()
            || partition.in_flight >= max_in_flight.max(1)
            || (batch.attempts > 0 && partition.in_flight > 0)
        {
            return Prepared::Wait;
        }
        if !self.idempotent {
            return Prepared::Send(None);
        }
        // A batch that may be stored keeps the stamp it was written with, even under a newer
        // producer id: the broker still knows the old id's sequences, so it either stores it
        // once or answers DUPLICATE_SEQUENCE_NUMBER; a new stamp would store it twice.
        if batch.maybe_stored || matches!(batch.stamp, Some((_, g)) if g == self.generation) {
            return Prepared::Send(None);
        }
        if partition.generation != self.generation {
            partition.generation = self.generation;
            partition.next = 0;
            partition.unacknowledged = 0;
        }
        let stamp = Stamp {
            producer_id: self.producer_id,
            producer_epoch: self.producer_epoch,
            base_sequence: partition.next,
        };
        partition.next = partition.next.wrapping_add(batch.records) & i32::MAX;
        batch.stamp = Some((stamp, self.generation));
        Prepared::Send(Some(stamp))
    }

    /// The request carrying `batch` was written.
    pub fn sent(&self, partition: &mut PartitionState, batch: &mut BatchState) {
        partition.in_flight = partition.in_flight.saturating_add(1);
        batch.attempts = batch.attempts.saturating_add(1);
        batch.in_flight = true;
    }

    /// `batch`'s answer (or the failure of the request or connection that carried it, or of
    /// finding its leader) at `now_ms`; `attempts_left`: the driver's attempt bound allows
    /// another. Retries run until the batch's deadline.
    pub fn settle(
        &mut self,
        partition: &mut PartitionState,
        batch: &mut BatchState,
        answer: Result<Option<i64>>,
        now_ms: u64,
        attempts_left: bool,
    ) -> Outcome {
        let was_in_flight = core::mem::replace(&mut batch.in_flight, false);
        if was_in_flight {
            partition.in_flight = partition.in_flight.saturating_sub(1);
        }
        let current = batch.stamp.filter(|&(_, g)| g == self.generation);
        let error = match answer {
            Ok(offset) => {
                if let Some((stamp, _)) = current {
                    partition.unacknowledged =
                        stamp.base_sequence.wrapping_add(batch.records) & i32::MAX;
                }
                return Outcome::Acknowledged(offset);
            }
            Err(e) => e,
        };
        // NONE: not the broker's answer.
        let code = match error {
            Error::Broker { code, .. } => code,
            _ => KafkaCode::NONE,
        };
        // Written and not answered, or appended by the leader and not replicated in time.
        let unanswered = matches!(
            code,
            KafkaCode::NONE
                | KafkaCode::REQUEST_TIMED_OUT
                | KafkaCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND
        );
        batch.maybe_stored |= was_in_flight && unanswered;
        // An earlier batch of the partition is not acknowledged (or sequences were reset).
        let behind = current.is_none_or(|(s, _)| s.base_sequence != partition.unacknowledged);
        let lost_producer = code == KafkaCode::UNKNOWN_PRODUCER_ID;
        // The broker lost our state: a new producer id.
        self.reset |= lost_producer;
        let retriable = error.is_retriable()
            || (self.idempotent
                && (lost_producer || (code == KafkaCode::OUT_OF_ORDER_SEQUENCE_NUMBER && behind)));
        if retriable && attempts_left && now_ms < batch.deadline_ms {
            return Outcome::Retry(error);
        }
        // A current stamp given up: its sequence is used up (or maybe stored), later ones
        // would be refused.
        self.reset |= self.idempotent && current.is_some();
        // Written and never answered: a plain failure would say "not stored" while it may
        // be (without idempotence possibly more than once).
        if batch.maybe_stored {
            return Outcome::Failed(Error::MaybeStored);
        }
        Outcome::Failed(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Decode, Reader, Writer};

    /// A Produce v3 response: one topic, `(partition, code, base offset)` per partition.
    fn response<'b>(buf: &'b mut [u8], topic: &str, parts: &[(i32, i16, i64)]) -> &'b [u8] {
        let mut w = Writer::new(buf);
        let count = i32::try_from(parts.len()).unwrap_or(0);
        let mut write = || -> Result<()> {
            w.i32(1)?;
            w.string(topic, false)?;
            w.i32(count)?;
            for &(index, code, offset) in parts {
                w.i32(index)?;
                w.i16(code)?;
                w.i64(offset)?;
                w.i64(-1)?;
            }
            w.i32(0)
        };
        assert!(write().is_ok());
        let n = w.written().len();
        buf.get(..n).unwrap_or_default()
    }

    fn answers(parts: &[(i32, i16, i64)], batch: &ReadyBatch<'_>) -> Result<Option<i64>> {
        let mut buf = [0u8; 256];
        let bytes = response(&mut buf, "t", parts);
        let decoded = ProduceResponse::decode(&mut Reader::new(bytes), 3)?;
        answer_for(&decoded, batch, 3)
    }

    const BATCH: ReadyBatch<'static> = ReadyBatch {
        topic: "t",
        topic_id: None,
        partition: 1,
        records: &[],
    };

    #[test]
    fn answers_match_partitions_and_keep_only_real_offsets() {
        assert_eq!(answers(&[(0, 0, 5), (1, 0, 9)], &BATCH), Ok(Some(9)));
        assert_eq!(
            answers(&[(1, 46, 9)], &BATCH),
            Ok(Some(9)),
            "duplicate sequence"
        );
        assert_eq!(answers(&[(1, 46, -1)], &BATCH), Ok(None));
        assert_eq!(answers(&[(0, 0, 5)], &BATCH), Err(Error::NoAcknowledgement));
        let refused = answers(&[(1, 6, -1)], &BATCH);
        assert!(matches!(
            refused,
            Err(Error::Broker {
                code: KafkaCode::NOT_LEADER_OR_FOLLOWER,
                partition: Some(1),
                ..
            })
        ));
    }

    #[test]
    fn requests_group_topics_and_fall_back_to_names() {
        let id = Some([7u8; 16]);
        let batches = [
            ReadyBatch {
                topic: "a",
                topic_id: id,
                partition: 0,
                records: &[1],
            },
            ReadyBatch {
                topic: "b",
                topic_id: None,
                partition: 0,
                records: &[2],
            },
            ReadyBatch {
                topic: "a",
                topic_id: id,
                partition: 1,
                records: &[3],
            },
        ];
        let shape =
            with_request::<4, _>(&batches, Acks::All, 100, 13, Compression::None, |r, v| {
                let first = r
                    .topic_data
                    .first()
                    .map(|t| (t.topic == TopicRef::Name("a"), t.partition_data.len()));
                Ok((v, r.topic_data.len(), first, r.acks))
            });
        assert_eq!(shape, Ok((12, 2, Some((true, 2)), -1)));
        let by_id = [batches[0], batches[2]];
        let shape =
            with_request::<4, _>(&by_id, Acks::Leader, 100, 13, Compression::None, |r, v| {
                Ok((
                    v,
                    r.topic_data
                        .first()
                        .map(|t| t.topic == TopicRef::Id([7; 16])),
                ))
            });
        assert_eq!(shape, Ok((13, Some(true))));
        let too_many = with_request::<1, _>(
            &batches,
            Acks::All,
            100,
            7,
            Compression::None,
            |_, _| Ok(()),
        );
        assert!(too_many.is_err());
        let zstd =
            with_request::<4, _>(&by_id, Acks::All, 100, 6, Compression::Zstd, |_, _| Ok(()));
        assert!(matches!(zstd, Err(Error::Compression(_))));
    }

    fn broker(code: KafkaCode) -> Result<Option<i64>> {
        Err(Error::Broker {
            api: ApiKey::Produce,
            code,
            partition: Some(0),
        })
    }

    fn sent(engine: &ProduceEngine, p: &mut PartitionState, b: &mut BatchState) -> Option<Stamp> {
        match engine.prepare(p, b, MAX_IN_FLIGHT_IDEMPOTENT) {
            Prepared::Send(stamp) => {
                engine.sent(p, b);
                stamp
            }
            Prepared::Wait => None,
        }
    }

    #[test]
    fn sequences_are_given_once_and_kept_across_retries() {
        let mut engine = ProduceEngine::new(true);
        let mut p = PartitionState::default();
        let mut a = BatchState::new(3, 1000);
        assert_eq!(
            engine.prepare(&mut p, &mut a, 5),
            Prepared::Wait,
            "no producer id yet"
        );
        engine.set_producer(42, 0);
        let first = sent(&engine, &mut p, &mut a).map(|s| s.base_sequence);
        let mut b = BatchState::new(2, 1000);
        let second = sent(&engine, &mut p, &mut b).map(|s| s.base_sequence);
        assert_eq!((first, second, p.in_flight()), (Some(0), Some(3), 2));
        // The connection drops: both come back, in order, with their sequences.
        let cut = Err(Error::ResponseNotReceived);
        assert_eq!(
            engine.settle(&mut p, &mut a, cut, 10, true),
            Outcome::Retry(Error::ResponseNotReceived)
        );
        assert_eq!(
            engine.settle(&mut p, &mut b, cut, 10, true),
            Outcome::Retry(Error::ResponseNotReceived)
        );
        assert_eq!(
            engine.prepare(&mut p, &mut a, 5),
            Prepared::Send(None),
            "same bytes again"
        );
        engine.sent(&mut p, &mut a);
        assert_eq!(
            engine.prepare(&mut p, &mut b, 5),
            Prepared::Wait,
            "a retry waits for the first"
        );
        assert_eq!(
            engine.settle(&mut p, &mut a, Ok(Some(0)), 20, true),
            Outcome::Acknowledged(Some(0))
        );
        assert_eq!(engine.prepare(&mut p, &mut b, 5), Prepared::Send(None));
        engine.sent(&mut p, &mut b);
        let dup = engine.settle(&mut p, &mut b, Ok(None), 30, true);
        assert_eq!(dup, Outcome::Acknowledged(None));
        assert!(!engine.needs_producer_id());
    }

    /// Seen on the mock (CLI, every answer lost, 5 in flight): a batch written without an
    /// answer was stamped again under the producer id got after another batch was given up,
    /// and stored twice.
    #[test]
    fn a_batch_that_may_be_stored_keeps_its_stamp_under_a_new_producer_id() {
        let mut engine = ProduceEngine::new(true);
        engine.set_producer(7, 0);
        let mut p = PartitionState::default();
        let mut a = BatchState::new(3, 100);
        let mut b = BatchState::new(2, 1000);
        sent(&engine, &mut p, &mut a);
        let b_stamp = sent(&engine, &mut p, &mut b);
        let cut = Err(Error::ResponseNotReceived);
        // `a` runs out of time: given up, a new producer id is due.
        assert_eq!(
            engine.settle(&mut p, &mut a, cut, 200, true),
            Outcome::Failed(Error::MaybeStored)
        );
        assert_eq!(
            engine.settle(&mut p, &mut b, cut, 200, true),
            Outcome::Retry(Error::ResponseNotReceived)
        );
        assert!(engine.needs_producer_id());
        engine.set_producer(8, 0);
        // `b` may be stored under producer 7: it goes again with its old stamp.
        assert_eq!(engine.prepare(&mut p, &mut b, 5), Prepared::Send(None));
        assert_eq!(b_stamp.map(|s| s.producer_id), Some(7));
        // A batch never written gets the new producer id's sequences.
        let mut c = BatchState::new(1, 1000);
        let c_stamp = sent(&engine, &mut p, &mut c);
        assert_eq!(
            c_stamp.map(|s| (s.producer_id, s.base_sequence)),
            Some((8, 0))
        );
    }

    #[test]
    fn out_of_order_after_an_earlier_failure_is_retried() {
        let mut engine = ProduceEngine::new(true);
        engine.set_producer(1, 0);
        let mut p = PartitionState::default();
        let (mut a, mut b) = (BatchState::new(1, 1000), BatchState::new(1, 1000));
        sent(&engine, &mut p, &mut a);
        sent(&engine, &mut p, &mut b);
        let leader = broker(KafkaCode::NOT_LEADER_OR_FOLLOWER);
        assert!(matches!(
            engine.settle(&mut p, &mut a, leader, 1, true),
            Outcome::Retry(_)
        ));
        let ooo = broker(KafkaCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
        assert!(matches!(
            engine.settle(&mut p, &mut b, ooo, 1, true),
            Outcome::Retry(_)
        ));
        // The first unacknowledged batch refused as out of order is fatal, and resets.
        let mut c = BatchState::new(1, 1000);
        let mut q = PartitionState::default();
        sent(&engine, &mut q, &mut c);
        assert!(matches!(
            engine.settle(&mut q, &mut c, ooo, 1, true),
            Outcome::Failed(Error::Broker { .. })
        ));
        assert!(engine.needs_producer_id());
    }

    #[test]
    fn a_broker_without_init_producer_id_is_produced_to_without_idempotence() {
        let mut engine = ProduceEngine::new(true);
        assert!(engine.needs_producer_id());
        let refused = Err(Error::UnsupportedVersion {
            api: ApiKey::InitProducerId,
            client: <InitProducerIdRequest as crate::protocol::Request>::VERSIONS,
            broker: None,
        });
        assert_eq!(engine.producer_id_answered(refused), Ok(()));
        assert!(!engine.idempotent() && !engine.needs_producer_id());
        let mut engine = ProduceEngine::new(true);
        let busy = Error::Broker {
            api: ApiKey::InitProducerId,
            code: KafkaCode::COORDINATOR_LOAD_IN_PROGRESS,
            partition: None,
        };
        assert_eq!(engine.producer_id_answered(Err(busy)), Err(busy));
        assert_eq!(engine.producer_id_answered(Ok((7, 1))), Ok(()));
        assert_eq!(engine.producer(), Some((7, 1)));
    }

    /// Without idempotence a batch written and never answered may be stored too (once per
    /// such attempt): given up, it is "may have been stored", even when a later attempt
    /// failed before it was written; one never written fails plainly.
    #[test]
    fn without_idempotence_an_unanswered_batch_given_up_may_be_stored() {
        let mut engine = ProduceEngine::new(false);
        let mut p = PartitionState::default();
        let mut a = BatchState::new(1, 100);
        sent(&engine, &mut p, &mut a);
        assert_eq!(
            engine.settle(&mut p, &mut a, Err(Error::ResponseNotReceived), 0, false),
            Outcome::Failed(Error::MaybeStored)
        );
        let mut b = BatchState::new(1, 100);
        sent(&engine, &mut p, &mut b);
        assert_eq!(
            engine.settle(&mut p, &mut b, Err(Error::Timeout), 10, true),
            Outcome::Retry(Error::Timeout)
        );
        // The retry finds no leader, past the deadline.
        let gone = Err(Error::LeaderNotFound { partition: 0 });
        assert_eq!(
            engine.settle(&mut p, &mut b, gone, 100, true),
            Outcome::Failed(Error::MaybeStored)
        );
        let mut c = BatchState::new(1, 100);
        let refused = engine.settle(&mut p, &mut c, Err(Error::Timeout), 0, false);
        assert_eq!(refused, Outcome::Failed(Error::Timeout));
        assert!(!engine.needs_producer_id());
    }

    #[test]
    fn an_unanswered_batch_given_up_may_be_stored_and_resets_sequences() {
        let mut engine = ProduceEngine::new(true);
        engine.set_producer(1, 0);
        let mut p = PartitionState::default();
        let mut a = BatchState::new(5, 100);
        sent(&engine, &mut p, &mut a);
        let cut = Err(Error::Timeout);
        assert_eq!(
            engine.settle(&mut p, &mut a, cut, 50, true),
            Outcome::Retry(Error::Timeout)
        );
        sent(&engine, &mut p, &mut a);
        // The next attempt finds no leader, past the deadline: still maybe stored.
        let gone = Err(Error::LeaderNotFound { partition: 0 });
        assert_eq!(
            engine.settle(&mut p, &mut a, gone, 100, true),
            Outcome::Failed(Error::MaybeStored)
        );
        assert!(engine.needs_producer_id());
        engine.set_producer(2, 0);
        let mut b = BatchState::new(1, 1000);
        let stamp = sent(&engine, &mut p, &mut b);
        assert_eq!(
            stamp.map(|s| (s.producer_id, s.base_sequence)),
            Some((2, 0))
        );
        // A batch never written fails plainly.
        let mut c = BatchState::new(1, 0);
        let refused = engine.settle(&mut p, &mut c, Err(Error::Timeout), 5, true);
        assert_eq!(refused, Outcome::Failed(Error::Timeout));
    }

    #[test]
    fn stamps_rewrite_the_header_and_crc() {
        use crate::records::{
            BatchOptions, Record, RecordBatch, RecordBatchBuilder, SoftwareCrc32c,
        };
        let mut buf = [0u8; 128];
        let record = Record {
            key: None,
            value: Some(b"v"),
            headers: &[],
            timestamp: 1,
        };
        let len = RecordBatchBuilder::new(&mut buf, BatchOptions::default())
            .and_then(|mut b| {
                b.push(&record)?;
                b.finish(&SoftwareCrc32c).map(|f| f.len())
            })
            .unwrap_or(0);
        let batch = buf.get_mut(..len).unwrap_or_default();
        let stamp = Stamp {
            producer_id: 9,
            producer_epoch: 2,
            base_sequence: 17,
        };
        assert_eq!(stamp_batch(batch, &stamp, &SoftwareCrc32c), Ok(()));
        let view = RecordBatch::new_checked(batch, &SoftwareCrc32c);
        let fields = view.map(|v| (v.producer_id(), v.producer_epoch(), v.base_sequence()));
        assert_eq!(fields, Ok((9, 2, 17)));
    }
}
