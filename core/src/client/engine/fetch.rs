//! Fetch: the request for one or more partitions, and the checks of its answer that every
//! consumer needs (the blocking [`Consumer`](crate::client::Consumer), the std pipelined
//! one).
//!
//! - The broker is asked for no more per partition than the caller's buffer holds
//!   ([`FetchLimits::partition_max_bytes`]).
//! - Each partition's answer is checked once ([`answer`], [`answers`]): the response's and
//!   the partition's error codes, `OFFSET_OUT_OF_RANGE` among them (a broker error naming
//!   the partition: the caller chooses where to restart, e.g. the earliest offset), and a
//!   first batch larger than the limit (it would never come whole, so the partition could
//!   never advance: [`Error::MessageTooLarge`] with its size). A trailing batch cut short is
//!   normal (the broker fills up to the limit) and is fetched again from its start next time.
//! - A checked answer can be kept as positions in the receive buffer ([`PartitionAnswer`]),
//!   so a driver that lets go of the buffer in between decodes the response once.
//! - The aborted-transactions list stays in the answer
//!   ([`FetchPartitionResponse::aborted_transactions`]) for a read-committed reader.

use crate::protocol::fetch::{FetchPartitionResponse, FetchRequest, FetchResponse, FetchTopic};
use crate::protocol::{ApiKey, TopicRef};
use crate::records::LOG_OVERHEAD;
use crate::wire::Reader;
use crate::{Error, Result};

/// Bytes a Fetch response needs around the records of one partition (headers, fields).
pub const PARTITION_OVERHEAD: usize = 256;

/// What a fetch asks the broker for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FetchLimits {
    /// How long the broker may wait for `min_bytes`, in ms.
    pub max_wait_ms: i32,
    /// The least data the broker answers with before `max_wait_ms` passes.
    pub min_bytes: i32,
    /// The most record bytes per partition and per response.
    pub max_bytes: i32,
    /// 0 read uncommitted, 1 read committed.
    pub isolation_level: i8,
}

impl FetchLimits {
    /// The most record bytes to ask for per partition when the response of one partition
    /// of a topic named in `topic_len` bytes must fit `buf_len` bytes: at most `max_bytes`.
    /// A buffer that cannot hold one batch header is [`Error::BufferTooSmall`].
    pub fn partition_max_bytes(&self, buf_len: usize, topic_len: usize) -> Result<i32> {
        let overhead = PARTITION_OVERHEAD.saturating_add(topic_len);
        let room = buf_len.saturating_sub(overhead);
        let max_bytes = i32::try_from(room)
            .unwrap_or(i32::MAX)
            .min(self.max_bytes)
            .max(0);
        if usize::try_from(max_bytes).unwrap_or(0) < LOG_OVERHEAD {
            return Err(Error::BufferTooSmall {
                needed: overhead.saturating_add(1024),
            });
        }
        Ok(max_bytes)
    }

    /// The request for `topics` (each partition with its own offset and limit), answered
    /// with at most `max_bytes` in all.
    pub const fn request<'r>(
        &self,
        topics: &'r [FetchTopic<'r>],
        max_bytes: i32,
    ) -> FetchRequest<'r> {
        let mut request = FetchRequest::new(topics, self.max_wait_ms, self.min_bytes, max_bytes);
        request.isolation_level = self.isolation_level;
        request
    }

    /// The broker-side wait a request deadline must allow for on top of the request timeout.
    pub fn wait_ms(&self) -> u32 {
        u32::try_from(self.max_wait_ms).unwrap_or(0)
    }
}

/// A response frame larger than the receive buffer, reported against the fetch's limit.
pub fn frame_error(error: Error, max_bytes: i32) -> Error {
    match error {
        Error::MessageTooLarge { size, .. } => Error::MessageTooLarge {
            size,
            limit: usize::try_from(max_bytes).unwrap_or(0),
        },
        other => other,
    }
}

/// The answer for `partition` of `topic` in `response`, checked (see the
/// [module docs](self)); `partition_max_bytes` is the limit the partition was asked with.
pub fn answer<'b>(
    response: &FetchResponse<'b>,
    topic: TopicRef<'_>,
    partition: i32,
    partition_max_bytes: i32,
) -> Result<FetchPartitionResponse<'b>> {
    response.error_code.check(ApiKey::Fetch)?;
    let answer = response
        .responses
        .iter()
        .filter(|t| same_topic(t.topic, topic))
        .find_map(|t| t.partitions.find(|p| p.partition_index == partition))
        .ok_or(Error::PartitionMismatch { partition })?;
    check(&answer, partition_max_bytes)?;
    Ok(answer)
}

/// Every partition's answer in `response` with its topic, each checked as [`answer`] does
/// (the response's own error first), for a fetch of several partitions.
pub fn answers<'b>(
    response: &FetchResponse<'b>,
    partition_max_bytes: i32,
) -> Result<impl Iterator<Item = Result<(TopicRef<'b>, FetchPartitionResponse<'b>)>> + 'b> {
    response.error_code.check(ApiKey::Fetch)?;
    Ok(response.responses.iter().flat_map(move |t| {
        t.partitions
            .iter()
            .map(move |p| check(&p, partition_max_bytes).map(|()| (t.topic, p)))
    }))
}

/// A checked partition answer with its records as a range of the receive buffer rather
/// than a borrow of it: kept by a driver that must let go of the buffer between checking
/// the answer and reading its records (a retry loop, a fetcher thread handing the buffer to
/// the application), so that the response is decoded once.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PartitionAnswer {
    /// The partition.
    pub partition: i32,
    /// The offset after the last record every in-sync replica has.
    pub high_watermark: i64,
    /// The partition's first offset (-1 when the broker's version has none).
    pub log_start_offset: i64,
    /// The last offset of committed transactions (-1 when unknown).
    pub last_stable_offset: i64,
    /// Where its records lie in the buffer the response was decoded from.
    pub records: core::ops::Range<usize>,
}

impl PartitionAnswer {
    /// `answer`, decoded in place from `buf`, as positions in `buf`.
    pub fn new(answer: &FetchPartitionResponse<'_>, buf: &[u8]) -> Self {
        let records = answer.records.unwrap_or_default();
        // The records lie in `buf`: where, from the addresses (no unsafe needed; a slice
        // from elsewhere, such as no records, gives a range `records` reads as empty).
        let start = (records.as_ptr() as usize).wrapping_sub(buf.as_ptr() as usize);
        PartitionAnswer {
            partition: answer.partition_index,
            high_watermark: answer.high_watermark,
            log_start_offset: answer.log_start_offset,
            last_stable_offset: answer.last_stable_offset,
            records: start..start.saturating_add(records.len()),
        }
    }

    /// The record bytes in `buf`, the buffer [`PartitionAnswer::new`] was given.
    pub fn records<'b>(&self, buf: &'b [u8]) -> &'b [u8] {
        buf.get(self.records.clone()).unwrap_or_default()
    }
}

fn same_topic(a: TopicRef<'_>, b: TopicRef<'_>) -> bool {
    match (a, b) {
        (TopicRef::Name(a), TopicRef::Name(b)) => a == b,
        (TopicRef::Id(a), TopicRef::Id(b)) => a == b,
        _ => false,
    }
}

/// A partition's error code, and a first batch cut short by the limit.
fn check(answer: &FetchPartitionResponse<'_>, partition_max_bytes: i32) -> Result<()> {
    answer
        .error_code
        .check_partition(ApiKey::Fetch, Some(answer.partition_index))?;
    let records = answer.records.unwrap_or_default();
    let mut header = Reader::new(records);
    if let (Ok(_), Ok(length)) = (header.i64(), header.i32()) {
        let size = usize::try_from(length)
            .unwrap_or(0)
            .saturating_add(LOG_OVERHEAD);
        if size > records.len() {
            return Err(Error::MessageTooLarge {
                size,
                limit: usize::try_from(partition_max_bytes).unwrap_or(0),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::header::decode_body;
    use crate::KafkaCode;

    /// A Fetch v7 response for topic "t": partition 0 with one aborted transaction
    /// (producer 9 from offset 3), a whole (empty) entry at offset 5 and an entry at 6 cut
    /// short; partition 1 OFFSET_OUT_OF_RANGE.
    const RESPONSE: [u8; 137] = [
        0, 0, 0, 0, // throttle
        0, 0, 0, 0, 0, 0, // error, session
        0, 0, 0, 1, 0, 1, b't', // topics: "t"
        0, 0, 0, 2, // partitions
        0, 0, 0, 0, 0, 0, // p0, no error
        0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0,
        0, // hw, lso, start
        0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 3, // aborted: (9, 3)
        0, 0, 0, 24, // records
        0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, // entry at 5, whole
        0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 100, // entry at 6, cut short
        0, 0, 0, 1, 0, 1, // p1, OFFSET_OUT_OF_RANGE
        0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0,
        0, // hw, lso, start
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // no aborted list, no records
    ];

    const T: TopicRef<'static> = TopicRef::Name("t");

    fn out_of_range(partition: i32) -> Error {
        Error::Broker {
            api: ApiKey::Fetch,
            code: KafkaCode::OFFSET_OUT_OF_RANGE,
            partition: Some(partition),
        }
    }

    #[test]
    fn a_kept_answer_finds_its_records_in_the_buffer_again() {
        let response = decode_body::<FetchRequest>(&RESPONSE, 7).unwrap();
        let p0 = answer(&response, T, 0, 1000).unwrap();
        let kept = PartitionAnswer::new(&p0, &RESPONSE);
        assert_eq!(kept.records(&RESPONSE), p0.records.unwrap());
        assert_eq!((kept.partition, kept.high_watermark), (0, 10));
        // No records (null): an empty range wherever it points.
        let p1 = response
            .responses
            .iter()
            .next()
            .unwrap()
            .partitions
            .iter()
            .nth(1);
        let kept = PartitionAnswer::new(&p1.unwrap(), &RESPONSE);
        assert!(kept.records(&RESPONSE).is_empty());
    }

    #[test]
    fn an_answer_keeps_its_aborted_transactions_and_a_cut_trailing_entry() {
        let response = decode_body::<FetchRequest>(&RESPONSE, 7).unwrap();
        let p0 = answer(&response, T, 0, 1000).unwrap();
        let aborted: heapless::Vec<(i64, i64), 2> = p0
            .aborted_transactions
            .iter()
            .map(|a| (a.producer_id, a.first_offset))
            .collect();
        assert_eq!(aborted, [(9, 3)]);
        assert_eq!(p0.records.map(<[u8]>::len), Some(24));
        assert_eq!(
            answer(&response, T, 1, 1000).map(|_| ()),
            Err(out_of_range(1))
        );
        for (topic, partition) in [(T, 2), (TopicRef::Name("u"), 0), (TopicRef::Id([1; 16]), 0)] {
            assert_eq!(
                answer(&response, topic, partition, 1000).map(|_| ()),
                Err(Error::PartitionMismatch { partition })
            );
        }
        let mut all = answers(&response, 1000).unwrap();
        assert_eq!(
            all.next().map(|a| a.map(|(t, p)| (t, p.partition_index))),
            Some(Ok((T, 0)))
        );
        assert_eq!(
            all.next().map(|a| a.map(|_| ())),
            Some(Err(out_of_range(1)))
        );
        assert!(all.next().is_none());
    }

    #[test]
    fn a_first_entry_cut_short_is_too_large_for_the_limit() {
        let mut bytes = RESPONSE;
        bytes[86] = 100; // the entry at 5 now claims 100 bytes
        let response = decode_body::<FetchRequest>(&bytes, 7).unwrap();
        let too_large = Error::MessageTooLarge {
            size: 112,
            limit: 50,
        };
        assert_eq!(answer(&response, T, 0, 50).map(|_| ()), Err(too_large));
        assert_eq!(
            answers(&response, 50)
                .unwrap()
                .next()
                .map(|a| a.map(|_| ())),
            Some(Err(too_large))
        );
        assert_eq!(
            frame_error(
                Error::MessageTooLarge {
                    size: 112,
                    limit: 9
                },
                50
            ),
            too_large
        );
        assert_eq!(frame_error(Error::Timeout, 50), Error::Timeout);
    }

    #[test]
    fn a_response_error_fails_every_partition() {
        let mut bytes = RESPONSE;
        bytes[5] = 70; // FETCH_SESSION_ID_NOT_FOUND
        let response = decode_body::<FetchRequest>(&bytes, 7).unwrap();
        let error = Error::Broker {
            api: ApiKey::Fetch,
            code: KafkaCode(70),
            partition: None,
        };
        assert_eq!(answer(&response, T, 0, 1000).map(|_| ()), Err(error));
        assert_eq!(answers(&response, 1000).map(|_| ()).err(), Some(error));
    }

    #[test]
    fn the_partition_limit_follows_the_buffer_and_the_configured_maximum() {
        let limits = FetchLimits {
            max_wait_ms: 100,
            min_bytes: 1,
            max_bytes: 1000,
            isolation_level: 1,
        };
        assert_eq!(limits.partition_max_bytes(10_000, 1), Ok(1000));
        assert_eq!(limits.partition_max_bytes(757, 1), Ok(500));
        assert_eq!(
            limits.partition_max_bytes(200, 1),
            Err(Error::BufferTooSmall { needed: 1281 })
        );
        let request = limits.request(&[], 500);
        assert_eq!(
            (
                request.max_bytes,
                request.isolation_level,
                request.max_wait_ms
            ),
            (500, 1, 100)
        );
        assert_eq!(limits.wait_ms(), 100);
    }
}
