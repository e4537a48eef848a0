//! Cluster metadata decoded once into a compact index, looked up without decoding the
//! response again.
//!
//! A Metadata response carries, per partition, replica and in-sync lists, epochs and tagged
//! fields a client rarely needs, at offsets that depend on the API version.
//! [`MetadataIndex::build`] reads a response once and writes into a caller buffer only what
//! lookups need, in one fixed format (big-endian, strings with a 2-byte length):
//!
//! ```text
//! header     controller id i32, broker count u32, topic count u32
//! brokers    node id i32, port u16, host                                  8 + host bytes
//! topics     error i16, topic id [16], name, partition count u32         24 + name bytes
//!            then per partition: index i32, leader id i32, error i16     10 bytes each
//! ```
//!
//! A leader lookup walks the topic headers (skipping each topic's partitions in one step)
//! and then that topic's 10-byte partition records; a broker's address is a walk of the
//! broker records. The index is a fraction of the response it replaces (10 bytes per
//! partition instead of ~60). No allocation, no I/O, no clock: the
//! [`Cluster`](crate::client::Cluster) driver keeps the buffer and asks.

use crate::protocol::metadata::MetadataResponse;
use crate::wire::Writer;
use crate::{ApiKey, Error, KafkaCode, Result};

/// One partition record: index, leader, error.
const PARTITION_LEN: usize = 10;

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
    partition_count: u32,
    partitions: &'m [u8],
}

/// A partition of a [`Topic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Partition {
    /// Its index.
    pub index: i32,
    /// The leader's broker id, or -1.
    pub leader_id: i32,
    /// The partition's error (`LEADER_NOT_AVAILABLE`, ...), or `NONE`.
    pub error_code: KafkaCode,
}

impl Topic<'_> {
    /// How many partitions the topic has.
    pub const fn partition_count(&self) -> u32 {
        self.partition_count
    }

    /// The partitions, in the response's order.
    pub fn partitions(&self) -> impl Iterator<Item = Partition> + '_ {
        self.partitions
            .chunks_exact(PARTITION_LEN)
            .filter_map(|record| {
                let (index, rest) = record.split_first_chunk()?;
                let (leader_id, error_code) = rest.split_first_chunk()?;
                Some(Partition {
                    index: i32::from_be_bytes(*index),
                    leader_id: i32::from_be_bytes(*leader_id),
                    error_code: KafkaCode(i16::from_be_bytes(*error_code.first_chunk()?)),
                })
            })
    }

    /// Partition `index`, if the topic has it.
    pub fn partition(&self, index: i32) -> Option<Partition> {
        self.partitions().find(|p| p.index == index)
    }
}

/// A view of an index written by [`MetadataIndex::build`]; see the [module docs](self).
#[derive(Debug, Clone, Copy)]
pub struct MetadataIndex<'m> {
    controller_id: i32,
    broker_count: u32,
    topic_count: u32,
    brokers: &'m [u8],
    topics: &'m [u8],
}

impl<'m> MetadataIndex<'m> {
    /// Indexes `response` into `out`, replacing what was there. An index larger than `out`
    /// is an `InvalidArgument` error naming the Cluster's metadata buffer (what `out` is).
    pub fn build(response: &MetadataResponse<'_>, out: &mut [u8]) -> Result<()> {
        let mut w = Writer::new(out);
        write(&mut w, response).map_err(|e| match e {
            Error::BufferTooSmall { .. } => TOO_LARGE,
            other => other,
        })
    }

    /// The index [`MetadataIndex::build`] wrote into `index`; `None` if its header does not
    /// fit (e.g. nothing was built).
    pub fn new(index: &'m [u8]) -> Option<Self> {
        let mut rest = index;
        let controller_id = i32::from_be_bytes(field(&mut rest)?);
        let broker_count = u32::from_be_bytes(field(&mut rest)?);
        let topic_count = u32::from_be_bytes(field(&mut rest)?);
        let brokers = rest;
        for _ in 0..broker_count {
            next_broker(&mut rest)?;
        }
        let topics = rest;
        Some(MetadataIndex {
            controller_id,
            broker_count,
            topic_count,
            brokers: brokers.get(..brokers.len().checked_sub(topics.len())?)?,
            topics,
        })
    }

    /// The controller's broker id, or -1 (Metadata v0 names none).
    pub const fn controller_id(&self) -> i32 {
        self.controller_id
    }

    /// The brokers, in the response's order.
    pub fn brokers(&self) -> impl Iterator<Item = Broker<'m>> + 'm {
        let mut rest = self.brokers;
        (0..self.broker_count).map_while(move |_| next_broker(&mut rest))
    }

    /// The broker with id `node_id`.
    pub fn broker(&self, node_id: i32) -> Option<Broker<'m>> {
        self.brokers().find(|b| b.node_id == node_id)
    }

    /// The topics, in the response's order.
    pub fn topics(&self) -> impl Iterator<Item = Topic<'m>> + 'm {
        let mut rest = self.topics;
        (0..self.topic_count).map_while(move |_| next_topic(&mut rest))
    }

    /// The topic named `name`.
    pub fn topic(&self, name: &str) -> Option<Topic<'m>> {
        self.topics().find(|t| t.name == name)
    }

    /// The number of partitions of `topic`: the topic's error if the broker sent one, and
    /// `LEADER_NOT_AVAILABLE` (retriable) while it has none yet (being created).
    pub fn partition_count(&self, topic: &str) -> Result<u32> {
        let t = self.topic(topic).ok_or(Error::TopicMismatch)?;
        t.error_code.check(ApiKey::Metadata)?;
        match t.partition_count {
            0 => Err(Error::Broker {
                api: ApiKey::Metadata,
                code: KafkaCode::LEADER_NOT_AVAILABLE,
                partition: None,
            }),
            n => Ok(n),
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

/// The next `N` bytes of `rest`, and `rest` past them.
fn field<const N: usize>(rest: &mut &[u8]) -> Option<[u8; N]> {
    let (head, tail) = rest.split_first_chunk::<N>()?;
    *rest = tail;
    Some(*head)
}

/// A string with a 2-byte length (the index's own, so never negative), and `rest` past it.
fn text<'m>(rest: &mut &'m [u8]) -> Option<&'m str> {
    let len = usize::from(u16::from_be_bytes(field(rest)?));
    let (head, tail) = rest.split_at_checked(len)?;
    *rest = tail;
    core::str::from_utf8(head).ok()
}

/// The broker record at the front of `rest`, and `rest` past it.
#[inline(never)]
fn next_broker<'m>(rest: &mut &'m [u8]) -> Option<Broker<'m>> {
    Some(Broker {
        node_id: i32::from_be_bytes(field(rest)?),
        port: u16::from_be_bytes(field(rest)?),
        host: text(rest)?,
    })
}

/// The topic record at the front of `rest`, and `rest` past its partitions.
#[inline(never)]
fn next_topic<'m>(rest: &mut &'m [u8]) -> Option<Topic<'m>> {
    let error_code = KafkaCode(i16::from_be_bytes(field(rest)?));
    let topic_id = field(rest)?;
    let name = text(rest)?;
    let partition_count = u32::from_be_bytes(field(rest)?);
    let len = usize::try_from(partition_count)
        .ok()?
        .checked_mul(PARTITION_LEN)?;
    let (partitions, tail) = rest.split_at_checked(len)?;
    *rest = tail;
    Some(Topic {
        name,
        topic_id,
        error_code,
        partition_count,
        partitions,
    })
}

/// Writes the index of `response`; a full buffer is `BufferTooSmall`.
fn write(w: &mut Writer<'_>, response: &MetadataResponse<'_>) -> Result<()> {
    let count = |n: usize| u32::try_from(n).map_err(|_| TOO_LARGE);
    w.i32(response.controller_id)?;
    w.u32(count(response.brokers.len())?)?;
    w.u32(count(response.topics.len())?)?;
    for broker in response.brokers.iter() {
        w.i32(broker.node_id)?;
        w.u16(
            u16::try_from(broker.port).map_err(|_| Error::Malformed("broker port out of range"))?,
        )?;
        w.string(broker.host, false)?;
    }
    for topic in response.topics.iter() {
        w.i16(topic.error_code.0)?;
        w.uuid(&topic.topic_id)?;
        w.string(topic.name.unwrap_or_default(), false)?;
        w.u32(count(topic.partitions.len())?)?;
        for partition in topic.partitions.iter() {
            w.i32(partition.partition_index)?;
            w.i32(partition.leader_id)?;
            w.i16(partition.error_code.0)?;
        }
    }
    Ok(())
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

    /// Header, brokers "a" and "bb", topic "t" with 2 partitions, topic "gone".
    const INDEX_LEN: usize = 12 + (8 + 1) + (8 + 2) + (24 + 1 + 2 * 10) + (24 + 4);

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
                index: 0,
                leader_id: -1,
                error_code: KafkaCode::LEADER_NOT_AVAILABLE
            })
        );
        let order: heapless::Vec<i32, 2> = t.partitions().map(|p| p.index).collect();
        assert_eq!(order, [1, 0]);
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
    fn an_impossible_port_is_malformed() {
        let mut response = [0u8; RESPONSE.len()];
        response.copy_from_slice(RESPONSE);
        let mut out = [0u8; INDEX_LEN];
        response[12] = 1; // broker 1's port: 0x00012384
        assert_eq!(
            build(&response, &mut out),
            Err(Error::Malformed("broker port out of range"))
        );
    }
}
