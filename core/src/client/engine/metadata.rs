//! Cluster metadata decoded once into a compact index, looked up without parsing again.
//!
//! A Metadata response carries, per partition, replica and in-sync lists, epochs and tagged
//! fields a client rarely needs, and its topics and partitions can only be found by decoding
//! them in order. [`MetadataIndex::build`] reads a response once and writes into a caller
//! buffer what lookups need, as fixed-size records:
//!
//! ```text
//! header      controller id, broker count, topic count
//! brokers     node id, host (offset, length), port                        12 bytes each
//! topics      name (offset, length), error, topic id, partitions, count   32 bytes each
//! partitions  leader id, error, at the slot of their partition index       6 bytes each
//! ...free...
//! strings     host names and topic names, written down from the end
//! ```
//!
//! so a leader lookup is a scan of the topic records plus one indexed read, and a broker's
//! address is a scan of 12-byte records. The index is about a tenth of the response it
//! replaces (6 bytes per partition instead of ~60). No allocation, no I/O, no clock: the
//! [`Cluster`](crate::client::Cluster) driver keeps the buffer and asks.

use crate::protocol::metadata::MetadataResponse;
use crate::{ApiKey, Error, KafkaCode, Result};
use core::ops::Range;

/// Where each field sits in its record (native byte order: the index never leaves memory).
mod field {
    use core::ops::Range;

    pub const CONTROLLER: Range<usize> = 0..4;
    pub const BROKER_COUNT: Range<usize> = 4..8;
    pub const TOPIC_COUNT: Range<usize> = 8..12;
    pub const HEADER_LEN: usize = 12;

    pub const NODE_ID: Range<usize> = 0..4;
    pub const HOST_AT: Range<usize> = 4..8;
    pub const HOST_LEN: Range<usize> = 8..10;
    pub const PORT: Range<usize> = 10..12;
    pub const BROKER_LEN: usize = 12;

    pub const NAME_AT: Range<usize> = 0..4;
    pub const NAME_LEN: Range<usize> = 4..6;
    pub const TOPIC_ERROR: Range<usize> = 6..8;
    pub const TOPIC_ID: Range<usize> = 8..24;
    pub const PARTITIONS_AT: Range<usize> = 24..28;
    pub const PARTITION_COUNT: Range<usize> = 28..32;
    pub const TOPIC_LEN: usize = 32;

    pub const LEADER: Range<usize> = 0..4;
    pub const PARTITION_ERROR: Range<usize> = 4..6;
    pub const PARTITION_LEN: usize = 6;
}

/// The index does not fit the buffer given to [`MetadataIndex::build`].
const TOO_LARGE: Error =
    Error::InvalidArgument("Metadata response larger than the Cluster's metadata buffer");

/// A broker in a [`MetadataIndex`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Broker<'m> {
    /// Its id.
    pub node_id: i32,
    /// Its advertised host.
    pub host: &'m str,
    /// Its advertised port.
    pub port: u16,
}

/// A topic in a [`MetadataIndex`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Topic<'m> {
    /// Its name (empty when the broker answered by id without one).
    pub name: &'m str,
    /// Its id (all zeros before Metadata v10).
    pub topic_id: [u8; 16],
    /// Why the broker could not describe it, or `NONE`.
    pub error_code: KafkaCode,
    partitions: &'m [u8],
}

/// A partition of a [`Topic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Partition {
    /// The leader's broker id, or -1.
    pub leader_id: i32,
    /// The partition's error (`LEADER_NOT_AVAILABLE`, ...), or `NONE`; a partition missing
    /// from the response reads as `UNKNOWN_TOPIC_OR_PARTITION`.
    pub error_code: KafkaCode,
}

impl<'m> Topic<'m> {
    /// How many partitions the topic has.
    pub fn partition_count(&self) -> usize {
        self.partitions.chunks_exact(field::PARTITION_LEN).len()
    }

    /// Partition `index`, if the topic has it.
    pub fn partition(&self, index: i32) -> Option<Partition> {
        let index = usize::try_from(index).ok()?;
        let record = self
            .partitions
            .chunks_exact(field::PARTITION_LEN)
            .nth(index)?;
        Some(Partition {
            leader_id: i32::from_ne_bytes(read(record, field::LEADER)),
            error_code: KafkaCode(i16::from_ne_bytes(read(record, field::PARTITION_ERROR))),
        })
    }
}

/// A view of an index written by [`MetadataIndex::build`]; see the [module docs](self).
#[derive(Debug, Clone, Copy)]
pub struct MetadataIndex<'m> {
    index: &'m [u8],
    brokers: &'m [u8],
    topics: &'m [u8],
}

impl<'m> MetadataIndex<'m> {
    /// Indexes `response` into `out`, replacing what was there. An index larger than `out`
    /// is an `InvalidArgument` error naming the Cluster's metadata buffer (what `out` is);
    /// a partition index outside its topic's partition count is `Malformed`.
    pub fn build(response: &MetadataResponse<'_>, out: &mut [u8]) -> Result<()> {
        let broker_count = response.brokers.len();
        let topic_count = response.topics.len();
        let mut tables = broker_count
            .checked_mul(field::BROKER_LEN)
            .and_then(|b| b.checked_add(topic_count.checked_mul(field::TOPIC_LEN)?))
            .and_then(|t| t.checked_add(field::HEADER_LEN))
            .ok_or(TOO_LARGE)?;
        let mut strings = Strings {
            start: out.len(),
            floor: tables,
        };
        if tables > out.len() {
            return Err(TOO_LARGE);
        }
        let header = out.get_mut(..field::HEADER_LEN).ok_or(TOO_LARGE)?;
        write(
            header,
            field::CONTROLLER,
            &response.controller_id.to_ne_bytes(),
        );
        write(header, field::BROKER_COUNT, &count(broker_count)?);
        write(header, field::TOPIC_COUNT, &count(topic_count)?);
        let mut at = field::HEADER_LEN;
        for broker in response.brokers.iter() {
            let port = u16::try_from(broker.port)
                .map_err(|_| Error::Malformed("broker port out of range"))?;
            let host = strings.push(out, broker.host.as_bytes())?;
            let record = record_mut(out, at, field::BROKER_LEN)?;
            write(record, field::NODE_ID, &broker.node_id.to_ne_bytes());
            write(record, field::HOST_AT, &host.0);
            write(record, field::HOST_LEN, &host.1);
            write(record, field::PORT, &port.to_ne_bytes());
            at = at.saturating_add(field::BROKER_LEN);
        }
        for topic in response.topics.iter() {
            let name = strings.push(out, topic.name.unwrap_or_default().as_bytes())?;
            let partitions = topic.partitions.len();
            let first = tables;
            tables = partitions
                .checked_mul(field::PARTITION_LEN)
                .and_then(|n| n.checked_add(first))
                .filter(|&end| end <= strings.start)
                .ok_or(TOO_LARGE)?;
            strings.floor = tables;
            let slots = out.get_mut(first..tables).ok_or(TOO_LARGE)?;
            for slot in slots.chunks_exact_mut(field::PARTITION_LEN) {
                write(slot, field::LEADER, &(-1i32).to_ne_bytes());
                let missing = KafkaCode::UNKNOWN_TOPIC_OR_PARTITION;
                write(slot, field::PARTITION_ERROR, &missing.0.to_ne_bytes());
            }
            for partition in topic.partitions.iter() {
                let slot = usize::try_from(partition.partition_index)
                    .ok()
                    .and_then(|i| slots.chunks_exact_mut(field::PARTITION_LEN).nth(i))
                    .ok_or(Error::Malformed(
                        "Metadata partition index beyond the topic's partition count",
                    ))?;
                write(slot, field::LEADER, &partition.leader_id.to_ne_bytes());
                write(
                    slot,
                    field::PARTITION_ERROR,
                    &partition.error_code.0.to_ne_bytes(),
                );
            }
            let record = record_mut(out, at, field::TOPIC_LEN)?;
            write(record, field::NAME_AT, &name.0);
            write(record, field::NAME_LEN, &name.1);
            write(
                record,
                field::TOPIC_ERROR,
                &topic.error_code.0.to_ne_bytes(),
            );
            write(record, field::TOPIC_ID, &topic.topic_id);
            write(record, field::PARTITIONS_AT, &count(first)?);
            write(record, field::PARTITION_COUNT, &count(partitions)?);
            at = at.saturating_add(field::TOPIC_LEN);
        }
        Ok(())
    }

    /// The index [`MetadataIndex::build`] wrote into `index`; `None` if its header does not
    /// fit (e.g. nothing was built).
    pub fn new(index: &'m [u8]) -> Option<Self> {
        let header = index.get(..field::HEADER_LEN)?;
        let table = |count: Range<usize>, len: usize| {
            usize::try_from(u32::from_ne_bytes(read(header, count)))
                .ok()?
                .checked_mul(len)
        };
        let brokers_len = table(field::BROKER_COUNT, field::BROKER_LEN)?;
        let topics_len = table(field::TOPIC_COUNT, field::TOPIC_LEN)?;
        let (brokers, rest) = index
            .get(field::HEADER_LEN..)?
            .split_at_checked(brokers_len)?;
        Some(MetadataIndex {
            index,
            brokers,
            topics: rest.get(..topics_len)?,
        })
    }

    /// The controller's broker id, or -1 (Metadata v0 names none).
    pub fn controller_id(&self) -> i32 {
        i32::from_ne_bytes(read(self.index, field::CONTROLLER))
    }

    /// The brokers, in the response's order.
    pub fn brokers(&self) -> impl Iterator<Item = Broker<'m>> + 'm {
        let index = self.index;
        self.brokers
            .chunks_exact(field::BROKER_LEN)
            .map(move |record| Broker {
                node_id: i32::from_ne_bytes(read(record, field::NODE_ID)),
                host: string(index, record, field::HOST_AT, field::HOST_LEN),
                port: u16::from_ne_bytes(read(record, field::PORT)),
            })
    }

    /// The broker with id `node_id`.
    pub fn broker(&self, node_id: i32) -> Option<Broker<'m>> {
        self.brokers().find(|b| b.node_id == node_id)
    }

    /// The topics, in the response's order.
    pub fn topics(&self) -> impl Iterator<Item = Topic<'m>> + 'm {
        let index = self.index;
        self.topics
            .chunks_exact(field::TOPIC_LEN)
            .map(move |record| topic(index, record))
    }

    /// The topic named `name` (names compared as bytes, records read only for the match).
    pub fn topic(&self, name: &str) -> Option<Topic<'m>> {
        let index = self.index;
        self.topics
            .chunks_exact(field::TOPIC_LEN)
            .find(|record| bytes(index, record, field::NAME_AT, field::NAME_LEN) == name.as_bytes())
            .map(|record| topic(index, record))
    }

    /// The number of partitions of `topic`: the topic's error if the broker sent one, and
    /// `LEADER_NOT_AVAILABLE` (retriable) while it has none yet (being created).
    pub fn partition_count(&self, topic: &str) -> Result<u32> {
        let t = self.topic(topic).ok_or(Error::TopicMismatch)?;
        t.error_code.check(ApiKey::Metadata)?;
        match u32::try_from(t.partition_count()) {
            Ok(0) | Err(_) => Err(Error::Broker {
                api: ApiKey::Metadata,
                code: KafkaCode::LEADER_NOT_AVAILABLE,
                partition: None,
            }),
            Ok(n) => Ok(n),
        }
    }

    /// The broker id leading `topic`/`partition`. No leader right now (an election, a new
    /// topic), or a leader missing from the brokers, is [`Error::LeaderNotFound`]
    /// (retriable); the topic's or partition's error otherwise.
    pub fn leader(&self, topic: &str, partition: i32) -> Result<i32> {
        let t = self.topic(topic).ok_or(Error::TopicMismatch)?;
        t.error_code
            .check_partition(ApiKey::Metadata, Some(partition))?;
        let p = t.partition(partition).ok_or(Error::Broker {
            api: ApiKey::Metadata,
            code: KafkaCode::UNKNOWN_TOPIC_OR_PARTITION,
            partition: Some(partition),
        })?;
        if p.leader_id < 0 || p.error_code == KafkaCode::LEADER_NOT_AVAILABLE {
            return Err(Error::LeaderNotFound { partition });
        }
        p.error_code
            .check_partition(ApiKey::Metadata, Some(partition))?;
        if self.broker(p.leader_id).is_none() {
            return Err(Error::LeaderNotFound { partition });
        }
        Ok(p.leader_id)
    }
}

/// Strings written down from the end of the index buffer, never below the tables.
struct Strings {
    start: usize,
    floor: usize,
}

impl Strings {
    /// Copies `text` in; returns its (offset, length) fields.
    fn push(&mut self, out: &mut [u8], text: &[u8]) -> Result<([u8; 4], [u8; 2])> {
        let len = u16::try_from(text.len()).map_err(|_| TOO_LARGE)?;
        let start = self
            .start
            .checked_sub(text.len())
            .filter(|&s| s >= self.floor)
            .ok_or(TOO_LARGE)?;
        crate::wire::copy(out.get_mut(start..).ok_or(TOO_LARGE)?, text);
        self.start = start;
        Ok((count(start)?, len.to_ne_bytes()))
    }
}

/// A count or offset as its 4-byte field.
fn count(n: usize) -> Result<[u8; 4]> {
    Ok(u32::try_from(n).map_err(|_| TOO_LARGE)?.to_ne_bytes())
}

/// The `len`-byte record at `at` in `out`.
fn record_mut(out: &mut [u8], at: usize, len: usize) -> Result<&mut [u8]> {
    out.get_mut(at..)
        .and_then(|r| r.get_mut(..len))
        .ok_or(TOO_LARGE)
}

fn write(record: &mut [u8], field: Range<usize>, bytes: &[u8]) {
    if let Some(dst) = record.get_mut(field) {
        crate::wire::copy(dst, bytes);
    }
}

/// A field of a record this module wrote (zeros if it were ever short).
fn read<const N: usize>(record: &[u8], field: Range<usize>) -> [u8; N] {
    record
        .get(field)
        .and_then(|b| b.try_into().ok())
        .unwrap_or([0; N])
}

/// `len` bytes at `at` in the index (empty if they were ever out of it).
fn slice(index: &[u8], at: u32, len: usize) -> &[u8] {
    let at = usize::try_from(at).unwrap_or(usize::MAX);
    index
        .get(at..)
        .and_then(|s| s.get(..len))
        .unwrap_or_default()
}

/// The bytes of a string field (offset, length) of a record.
fn bytes<'m>(index: &'m [u8], record: &[u8], at: Range<usize>, len: Range<usize>) -> &'m [u8] {
    let at = u32::from_ne_bytes(read(record, at));
    let len = u16::from_ne_bytes(read(record, len));
    slice(index, at, len.into())
}

/// A string field of a record (copied from a `str`, so always UTF-8).
fn string<'m>(index: &'m [u8], record: &[u8], at: Range<usize>, len: Range<usize>) -> &'m str {
    core::str::from_utf8(bytes(index, record, at, len)).unwrap_or_default()
}

/// The topic a topic record describes.
fn topic<'m>(index: &'m [u8], record: &[u8]) -> Topic<'m> {
    let at = u32::from_ne_bytes(read(record, field::PARTITIONS_AT));
    let count = u32::from_ne_bytes(read(record, field::PARTITION_COUNT));
    let len = usize::try_from(count)
        .unwrap_or(usize::MAX)
        .saturating_mul(field::PARTITION_LEN);
    Topic {
        name: string(index, record, field::NAME_AT, field::NAME_LEN),
        topic_id: read(record, field::TOPIC_ID),
        error_code: KafkaCode(i16::from_ne_bytes(read(record, field::TOPIC_ERROR))),
        partitions: slice(index, at, len),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::header::decode_body;
    use crate::protocol::metadata::MetadataRequest;

    /// A Metadata v1 response: brokers 1 "a":9092 and 2 "bb":9093, controller 2, topic "t"
    /// with partition 1 (leader 2) listed before partition 0 (no leader), and topic "gone"
    /// answered UNKNOWN_TOPIC_OR_PARTITION.
    const RESPONSE: &[u8] = &[
        0, 0, 0, 2, // brokers
        0, 0, 0, 1, 0, 1, b'a', 0, 0, 0x23, 0x84, 0xff, 0xff, // 1 a:9092, no rack
        0, 0, 0, 2, 0, 2, b'b', b'b', 0, 0, 0x23, 0x85, 0xff, 0xff, // 2 bb:9093
        0, 0, 0, 2, // controller
        0, 0, 0, 2, // topics
        0, 0, 0, 1, b't', 0, // "t", not internal
        0, 0, 0, 2, // partitions
        0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, // p1 leader 2, no replicas
        0, 5, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0,
        0, // p0 LEADER_NOT_AVAILABLE
        0, 3, 0, 4, b'g', b'o', b'n', b'e', 0, 0, 0, 0,
        0, // "gone": UNKNOWN_TOPIC_OR_PARTITION
    ];

    /// Header, 2 brokers, 2 topics, 2 partitions and the strings "a", "bb", "t", "gone".
    const INDEX_LEN: usize = 12 + 2 * 12 + 2 * 32 + 2 * 6 + 8;

    fn build(response: &[u8], out: &mut [u8]) -> Result<()> {
        let response = decode_body::<MetadataRequest>(response, 1)?;
        MetadataIndex::build(&response, out)
    }

    fn broker_error(code: KafkaCode, partition: Option<i32>) -> Error {
        Error::Broker {
            api: ApiKey::Metadata,
            code,
            partition,
        }
    }

    #[test]
    fn lookups_read_the_index() {
        let mut out = [0u8; INDEX_LEN];
        build(RESPONSE, &mut out).unwrap();
        let index = MetadataIndex::new(&out).unwrap();
        assert_eq!(index.controller_id(), 2);
        let hosts: heapless::Vec<(i32, &str, u16), 2> = index
            .brokers()
            .map(|b| (b.node_id, b.host, b.port))
            .collect();
        assert_eq!(hosts, [(1, "a", 9092), (2, "bb", 9093)]);
        assert_eq!(index.broker(2).map(|b| b.host), Some("bb"));
        assert_eq!(index.broker(3), None);
        let names: heapless::Vec<&str, 2> = index.topics().map(|t| t.name).collect();
        assert_eq!(names, ["t", "gone"]);
        let t = index.topic("t").unwrap();
        assert_eq!((t.topic_id, t.error_code), ([0; 16], KafkaCode::NONE));
        assert_eq!(t.partition_count(), 2);
        assert_eq!(
            t.partition(0),
            Some(Partition {
                leader_id: -1,
                error_code: KafkaCode::LEADER_NOT_AVAILABLE
            })
        );
        assert_eq!(t.partition(2), None);
        assert_eq!(t.partition(-1), None);
        assert_eq!(index.partition_count("t"), Ok(2));
        assert_eq!(index.leader("t", 1), Ok(2));
        assert_eq!(
            index.leader("t", 0),
            Err(Error::LeaderNotFound { partition: 0 })
        );
        assert_eq!(
            index.leader("t", 2),
            Err(broker_error(KafkaCode::UNKNOWN_TOPIC_OR_PARTITION, Some(2)))
        );
        assert_eq!(index.leader("x", 0), Err(Error::TopicMismatch));
        assert_eq!(
            index.partition_count("gone"),
            Err(broker_error(KafkaCode::UNKNOWN_TOPIC_OR_PARTITION, None))
        );
    }

    #[test]
    fn an_index_larger_than_the_buffer_is_refused_naming_the_limit() {
        let mut out = [0u8; INDEX_LEN];
        for len in 0..INDEX_LEN {
            assert_eq!(
                build(RESPONSE, out.get_mut(..len).unwrap()),
                Err(TOO_LARGE),
                "{len} bytes"
            );
        }
        assert_eq!(
            TOO_LARGE,
            Error::InvalidArgument("Metadata response larger than the Cluster's metadata buffer")
        );
        assert_eq!(
            MetadataIndex::new(&[0; 11]).map(|i| i.controller_id()),
            None
        );
    }

    #[test]
    fn a_rebuilt_index_replaces_the_old_one() {
        let mut out = [0xaau8; 512];
        build(RESPONSE, &mut out).unwrap();
        // The same brokers, no controller (-1), no topics.
        let mut response = [0u8; 39];
        response[..31].copy_from_slice(&RESPONSE[..31]);
        response[31..35].copy_from_slice(&[0xff; 4]);
        build(&response, &mut out).unwrap();
        let index = MetadataIndex::new(&out).unwrap();
        assert_eq!(index.controller_id(), -1);
        assert_eq!(index.topics().count(), 0);
        assert_eq!(index.topic("t"), None);
        assert_eq!(index.brokers().count(), 2);
    }

    #[test]
    fn a_leader_missing_from_the_brokers_is_not_found_yet() {
        let mut response = [0u8; RESPONSE.len()];
        response.copy_from_slice(RESPONSE);
        response[58] = 7; // p1's leader: broker 7, not in the list
        let mut out = [0u8; INDEX_LEN];
        build(&response, &mut out).unwrap();
        let index = MetadataIndex::new(&out).unwrap();
        assert_eq!(
            index.leader("t", 1),
            Err(Error::LeaderNotFound { partition: 1 })
        );
    }

    #[test]
    fn impossible_partitions_and_ports_are_malformed() {
        let mut response = [0u8; RESPONSE.len()];
        response.copy_from_slice(RESPONSE);
        response[54] = 2; // p1 becomes p2 of a 2-partition topic
        let mut out = [0u8; INDEX_LEN];
        assert_eq!(
            build(&response, &mut out),
            Err(Error::Malformed(
                "Metadata partition index beyond the topic's partition count"
            ))
        );
        response.copy_from_slice(RESPONSE);
        response[12] = 1; // broker 1's port: 0x00012384
        assert_eq!(
            build(&response, &mut out),
            Err(Error::Malformed("broker port out of range"))
        );
    }
}
