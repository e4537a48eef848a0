//! Fetch (key 1): reads record batches from partition logs.
//!
//! Versions 4-18: 4-11 non-flexible, 12-18 flexible. Kafka 4.x accepts v4 and up, so 4-10
//! are the non-flexible versions every broker from 2.1 to 4.x accepts (zstd batches need
//! v10+). v13+ name topics by id ([`TopicRef::Id`]). Consumer-only fields are encoded;
//! the follower-only ones (replica state, replica directory id, high watermark) stay absent.
//!
//! The response is the consumer's hot path: each partition's `records` is a borrowed slice of
//! the received frame, iterated in place by [`crate::records`]. Its last batch may be cut
//! short by the broker's size limits; that is normal and not an error.

use super::produce::{LeaderIdAndEpoch, NodeEndpoint};
use super::{ApiKey, Request, TopicRef, VersionRange};
use crate::wire::{Array, Decode, Encode, Reader, Writer};
use crate::{KafkaCode, Result};

/// First version that names topics by id.
pub const TOPIC_ID_FROM: i16 = 13;

/// Fetch request (as a consumer sends it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FetchRequest<'a> {
    /// How long the broker may wait for `min_bytes` to accumulate, in ms.
    pub max_wait_ms: i32,
    /// The least data to answer with (unless `max_wait_ms` passes).
    pub min_bytes: i32,
    /// The most data to answer with (a first batch larger than this still comes whole).
    pub max_bytes: i32,
    /// 0 read uncommitted, 1 read committed.
    pub isolation_level: i8,
    /// Fetch session id (v7+, KIP-227); 0 for none.
    pub session_id: i32,
    /// Fetch session epoch (v7+); -1 for no session.
    pub session_epoch: i32,
    /// What to fetch, per topic.
    pub topics: &'a [FetchTopic<'a>],
    /// Partitions to drop from an incremental fetch session (v7+).
    pub forgotten_topics_data: &'a [ForgottenTopic<'a>],
    /// The consumer's rack, for fetching from the closest replica (v11+).
    pub rack_id: &'a str,
}

impl<'a> FetchRequest<'a> {
    /// A consumer's fetch of `topics`: wait up to `max_wait_ms` for at least `min_bytes`,
    /// answer with at most `max_bytes`; read uncommitted, no fetch session, no rack.
    pub const fn new(
        topics: &'a [FetchTopic<'a>],
        max_wait_ms: i32,
        min_bytes: i32,
        max_bytes: i32,
    ) -> Self {
        FetchRequest {
            max_wait_ms,
            min_bytes,
            max_bytes,
            isolation_level: 0,
            session_id: 0,
            session_epoch: -1,
            topics,
            forgotten_topics_data: &[],
            rack_id: "",
        }
    }
}

/// One topic of a [`FetchRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FetchTopic<'a> {
    /// The topic (by name before v13, by id from v13).
    pub topic: TopicRef<'a>,
    /// The partitions to fetch.
    pub partitions: &'a [FetchPartition],
}

/// One partition to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FetchPartition {
    /// The partition index.
    pub partition: i32,
    /// The leader epoch the consumer knows (v9+), or -1.
    pub current_leader_epoch: i32,
    /// The offset to read from.
    pub fetch_offset: i64,
    /// The epoch of the last fetched record (v12+), or -1.
    pub last_fetched_epoch: i32,
    /// Only followers send this (v5+); consumers send -1.
    pub log_start_offset: i64,
    /// The most data to return for this partition.
    pub partition_max_bytes: i32,
}

impl FetchPartition {
    /// A consumer's fetch of `partition` from `fetch_offset`, up to `partition_max_bytes`.
    pub const fn new(partition: i32, fetch_offset: i64, partition_max_bytes: i32) -> Self {
        FetchPartition {
            partition,
            current_leader_epoch: -1,
            fetch_offset,
            last_fetched_epoch: -1,
            log_start_offset: -1,
            partition_max_bytes,
        }
    }
}

/// Partitions to remove from a fetch session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ForgottenTopic<'a> {
    /// The topic.
    pub topic: TopicRef<'a>,
    /// The partitions to forget.
    pub partitions: &'a [i32],
}

impl Encode for FetchRequest<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        let flexible = Self::is_flexible(version);
        if version <= 14 {
            writer.i32(-1)?; // replica_id: -1 = a consumer
        }
        writer.i32(self.max_wait_ms)?;
        writer.i32(self.min_bytes)?;
        writer.i32(self.max_bytes)?;
        writer.i8(self.isolation_level)?;
        if version >= 7 {
            writer.i32(self.session_id)?;
            writer.i32(self.session_epoch)?;
        }
        writer.array(self.topics, version, flexible)?;
        if version >= 7 {
            writer.array(self.forgotten_topics_data, version, flexible)?;
        }
        if version >= 11 {
            writer.string(self.rack_id, flexible)?;
        }
        writer.tagged_fields_if(flexible)
    }
}

impl Encode for FetchTopic<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        let flexible = FetchRequest::is_flexible(version);
        self.topic
            .encode(writer, version, TOPIC_ID_FROM, flexible)?;
        writer.array(self.partitions, version, flexible)?;
        writer.tagged_fields_if(flexible)
    }
}

impl Encode for FetchPartition {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        writer.i32(self.partition)?;
        if version >= 9 {
            writer.i32(self.current_leader_epoch)?;
        }
        writer.i64(self.fetch_offset)?;
        if version >= 12 {
            writer.i32(self.last_fetched_epoch)?;
        }
        if version >= 5 {
            writer.i64(self.log_start_offset)?;
        }
        writer.i32(self.partition_max_bytes)?;
        writer.tagged_fields_if(FetchRequest::is_flexible(version))
    }
}

impl Encode for ForgottenTopic<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        let flexible = FetchRequest::is_flexible(version);
        self.topic
            .encode(writer, version, TOPIC_ID_FROM, flexible)?;
        writer.i32_array(self.partitions, flexible)?;
        writer.tagged_fields_if(flexible)
    }
}

impl Request for FetchRequest<'_> {
    const API_KEY: ApiKey = ApiKey::Fetch;
    const VERSIONS: VersionRange = VersionRange::new(4, 18);
    const FLEXIBLE_FROM: i16 = 12;
    type Response<'a> = FetchResponse<'a>;
}

/// Fetch response.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FetchResponse<'a> {
    /// Time the request was throttled, in ms.
    pub throttle_time_ms: i32,
    /// Top-level error (v7+; fetch-session errors).
    pub error_code: KafkaCode,
    /// The fetch session id (v7+).
    pub session_id: i32,
    /// Data per topic.
    pub responses: Array<'a, FetchTopicResponse<'a>>,
    /// Endpoints of the leaders named in `current_leader` fields (v16+, tagged).
    pub node_endpoints: Array<'a, NodeEndpoint<'a>>,
}

/// One topic's data in a [`FetchResponse`].
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FetchTopicResponse<'a> {
    /// The topic.
    pub topic: TopicRef<'a>,
    /// Data per partition.
    pub partitions: Array<'a, FetchPartitionResponse<'a>>,
}

/// One partition's data in a [`FetchTopicResponse`].
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FetchPartitionResponse<'a> {
    /// The partition index.
    pub partition_index: i32,
    /// The error, or `NONE` (e.g. `OFFSET_OUT_OF_RANGE`).
    pub error_code: KafkaCode,
    /// The offset after the last committed (replicated) record.
    pub high_watermark: i64,
    /// The last stable offset (transactions).
    pub last_stable_offset: i64,
    /// The log start offset (v5+, else -1).
    pub log_start_offset: i64,
    /// Aborted transactions in the returned data (read committed).
    pub aborted_transactions: Array<'a, AbortedTransaction>,
    /// The replica to fetch from instead (v11+), or -1.
    pub preferred_read_replica: i32,
    /// The new leader on leadership errors (v12+, tagged).
    pub current_leader: Option<LeaderIdAndEpoch>,
    /// The record batches, borrowed from the frame; the last may be incomplete.
    pub records: Option<&'a [u8]>,
}

/// An aborted transaction in a [`FetchPartitionResponse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AbortedTransaction {
    /// The producer of the aborted transaction.
    pub producer_id: i64,
    /// The first offset of the aborted transaction.
    pub first_offset: i64,
}

impl<'a> Decode<'a> for FetchResponse<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = FetchRequest::is_flexible(version);
        let throttle_time_ms = reader.i32()?;
        let (error_code, session_id) = if version >= 7 {
            (KafkaCode(reader.i16()?), reader.i32()?)
        } else {
            (KafkaCode::NONE, 0)
        };
        let responses = Array::decode(reader, version, flexible)?;
        let mut node_endpoints = Array::empty();
        if flexible {
            reader.tagged_fields_with(|tag, data| {
                if tag == 0 && version >= 16 {
                    let mut field = Reader::new(data);
                    node_endpoints = Array::decode(&mut field, version, true)?;
                    field.expect_end("trailing bytes in Fetch node_endpoints")?;
                }
                Ok(())
            })?;
        }
        Ok(FetchResponse {
            throttle_time_ms,
            error_code,
            session_id,
            responses,
            node_endpoints,
        })
    }
}

impl<'a> Decode<'a> for FetchTopicResponse<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = FetchRequest::is_flexible(version);
        let topic = TopicRef::decode(reader, version, TOPIC_ID_FROM, flexible)?;
        let partitions = Array::decode(reader, version, flexible)?;
        reader.tagged_fields_if(flexible)?;
        Ok(FetchTopicResponse { topic, partitions })
    }
}

impl<'a> Decode<'a> for FetchPartitionResponse<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = FetchRequest::is_flexible(version);
        let partition_index = reader.i32()?;
        let error_code = KafkaCode(reader.i16()?);
        let high_watermark = reader.i64()?;
        let last_stable_offset = reader.i64()?;
        let log_start_offset = if version >= 5 { reader.i64()? } else { -1 };
        let aborted_transactions = Array::decode(reader, version, flexible)?;
        let preferred_read_replica = if version >= 11 { reader.i32()? } else { -1 };
        let records = reader.nullable_bytes(flexible)?;
        let mut current_leader = None;
        if flexible {
            // Tags: 0 diverging epoch, 1 current leader, 2 snapshot id (KIP-595/951).
            reader.tagged_fields_with(|tag, data| {
                if tag == 1 {
                    let mut field = Reader::new(data);
                    current_leader = Some(LeaderIdAndEpoch::decode(&mut field, version)?);
                    field.expect_end("trailing bytes in Fetch current_leader")?;
                }
                Ok(())
            })?;
        }
        Ok(FetchPartitionResponse {
            partition_index,
            error_code,
            high_watermark,
            last_stable_offset,
            log_start_offset,
            aborted_transactions,
            preferred_read_replica,
            current_leader,
            records,
        })
    }
}

impl<'a> Decode<'a> for AbortedTransaction {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let aborted = AbortedTransaction {
            producer_id: reader.i64()?,
            first_offset: reader.i64()?,
        };
        reader.tagged_fields_if(FetchRequest::is_flexible(version))?;
        Ok(aborted)
    }
}
