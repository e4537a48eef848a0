//! Produce (key 0): appends record batches to partition logs.
//!
//! Versions 3-13: 3-8 non-flexible, 9-13 flexible. Kafka 4.x advertises 0-2 but rejects
//! them; v3 is the floor every broker from 2.1 to 4.x accepts and 3-7 are accepted by all of
//! them (zstd batches need v7+). v13 (Kafka 4.1+) names topics by id ([`TopicRef::Id`]).
//!
//! `records` is an already-encoded record batch (see [`crate::records`]). A request with
//! `acks = 0` gets no response at all: the caller must not wait for one.

use super::{ApiKey, Request, TopicRef, VersionRange};
use crate::wire::{Array, Decode, Encode, Reader, Writer};
use crate::{KafkaCode, Result};

/// First version that names topics by id.
pub const TOPIC_ID_FROM: i16 = 13;

/// Produce request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ProduceRequest<'a> {
    /// The transactional id, or `None` outside transactions.
    pub transactional_id: Option<&'a str>,
    /// Acknowledgements required: 0 none (no response), 1 the leader, -1 all in-sync replicas.
    pub acks: i16,
    /// How long the broker may wait for the acknowledgements, in ms.
    pub timeout_ms: i32,
    /// The data, per topic.
    pub topic_data: &'a [ProduceTopic<'a>],
}

/// One topic of a [`ProduceRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ProduceTopic<'a> {
    /// The topic (by name before v13, by id from v13).
    pub topic: TopicRef<'a>,
    /// The data, per partition.
    pub partition_data: &'a [ProducePartition<'a>],
}

/// One partition's record batch in a [`ProduceTopic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ProducePartition<'a> {
    /// The partition index.
    pub index: i32,
    /// An encoded record batch (or several back to back).
    pub records: Option<&'a [u8]>,
}

impl Encode for ProduceRequest<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        let flexible = Self::is_flexible(version);
        writer.nullable_string(self.transactional_id, flexible)?;
        writer.i16(self.acks)?;
        writer.i32(self.timeout_ms)?;
        writer.array(self.topic_data, version, flexible)?;
        writer.tagged_fields_if(flexible)
    }
}

impl Encode for ProduceTopic<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        let flexible = ProduceRequest::is_flexible(version);
        self.topic
            .encode(writer, version, TOPIC_ID_FROM, flexible)?;
        writer.array(self.partition_data, version, flexible)?;
        writer.tagged_fields_if(flexible)
    }
}

impl Encode for ProducePartition<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        let flexible = ProduceRequest::is_flexible(version);
        writer.i32(self.index)?;
        writer.nullable_bytes(self.records, flexible)?;
        writer.tagged_fields_if(flexible)
    }
}

impl Request for ProduceRequest<'_> {
    const API_KEY: ApiKey = ApiKey::Produce;
    const VERSIONS: VersionRange = VersionRange::new(3, 13);
    const FLEXIBLE_FROM: i16 = 9;
    type Response<'a> = ProduceResponse<'a>;
}

/// Produce response.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ProduceResponse<'a> {
    /// Results per topic.
    pub responses: Array<'a, ProduceTopicResponse<'a>>,
    /// Time the request was throttled, in ms.
    pub throttle_time_ms: i32,
    /// Endpoints of the leaders named in `current_leader` fields (v10+, tagged).
    pub node_endpoints: Array<'a, NodeEndpoint<'a>>,
}

/// One topic's results in a [`ProduceResponse`].
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ProduceTopicResponse<'a> {
    /// The topic.
    pub topic: TopicRef<'a>,
    /// Results per partition.
    pub partition_responses: Array<'a, ProducePartitionResponse<'a>>,
}

/// One partition's result in a [`ProduceTopicResponse`].
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ProducePartitionResponse<'a> {
    /// The partition index.
    pub index: i32,
    /// The error, or `NONE`.
    pub error_code: KafkaCode,
    /// Offset of the first record appended.
    pub base_offset: i64,
    /// The append time when the topic uses LogAppendTime, else -1.
    pub log_append_time_ms: i64,
    /// The partition's log start offset (v5+, else -1).
    pub log_start_offset: i64,
    /// Batches rejected and why (v8+).
    pub record_errors: Array<'a, RecordError<'a>>,
    /// The error message (v8+).
    pub error_message: Option<&'a str>,
    /// The new leader when the error is NOT_LEADER_OR_FOLLOWER (v10+, tagged).
    pub current_leader: Option<LeaderIdAndEpoch>,
}

/// A rejected batch in a [`ProducePartitionResponse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RecordError<'a> {
    /// Index of the record within the batch.
    pub batch_index: i32,
    /// Why it was rejected.
    pub batch_index_error_message: Option<&'a str>,
}

/// A partition leader and its epoch, sent with leadership errors (KIP-951).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LeaderIdAndEpoch {
    /// The leader's broker id, or -1.
    pub leader_id: i32,
    /// The leader epoch, or -1.
    pub leader_epoch: i32,
}

/// A broker endpoint in a response's `node_endpoints` (KIP-951).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NodeEndpoint<'a> {
    /// The broker id.
    pub node_id: i32,
    /// The host name.
    pub host: &'a str,
    /// The port.
    pub port: i32,
    /// The rack, if any.
    pub rack: Option<&'a str>,
}

impl<'a> Decode<'a> for ProduceResponse<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = ProduceRequest::is_flexible(version);
        let responses = Array::decode(reader, version, flexible)?;
        let throttle_time_ms = reader.i32()?;
        let mut node_endpoints = Array::empty();
        if flexible {
            reader.tagged_fields_with(|tag, data| {
                if tag == 0 && version >= 10 {
                    let mut field = Reader::new(data);
                    node_endpoints = Array::decode(&mut field, version, true)?;
                    field.expect_end("trailing bytes in Produce node_endpoints")?;
                }
                Ok(())
            })?;
        }
        Ok(ProduceResponse {
            responses,
            throttle_time_ms,
            node_endpoints,
        })
    }
}

impl<'a> Decode<'a> for ProduceTopicResponse<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = ProduceRequest::is_flexible(version);
        let topic = TopicRef::decode(reader, version, TOPIC_ID_FROM, flexible)?;
        let partition_responses = Array::decode(reader, version, flexible)?;
        reader.tagged_fields_if(flexible)?;
        Ok(ProduceTopicResponse {
            topic,
            partition_responses,
        })
    }
}

impl<'a> Decode<'a> for ProducePartitionResponse<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = ProduceRequest::is_flexible(version);
        let index = reader.i32()?;
        let error_code = KafkaCode(reader.i16()?);
        let base_offset = reader.i64()?;
        let log_append_time_ms = reader.i64()?;
        let log_start_offset = if version >= 5 { reader.i64()? } else { -1 };
        let (record_errors, error_message) = if version >= 8 {
            (
                Array::decode(reader, version, flexible)?,
                reader.nullable_string(flexible)?,
            )
        } else {
            (Array::empty(), None)
        };
        let mut current_leader = None;
        if flexible {
            reader.tagged_fields_with(|tag, data| {
                if tag == 0 && version >= 10 {
                    let mut field = Reader::new(data);
                    current_leader = Some(LeaderIdAndEpoch::decode(&mut field, version)?);
                    field.expect_end("trailing bytes in Produce current_leader")?;
                }
                Ok(())
            })?;
        }
        Ok(ProducePartitionResponse {
            index,
            error_code,
            base_offset,
            log_append_time_ms,
            log_start_offset,
            record_errors,
            error_message,
            current_leader,
        })
    }
}

impl<'a> Decode<'a> for RecordError<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = ProduceRequest::is_flexible(version);
        let error = RecordError {
            batch_index: reader.i32()?,
            batch_index_error_message: reader.nullable_string(flexible)?,
        };
        reader.tagged_fields_if(flexible)?;
        Ok(error)
    }
}

impl<'a> Decode<'a> for LeaderIdAndEpoch {
    /// Always flexible: it only appears inside tagged fields.
    fn decode(reader: &mut Reader<'a>, _version: i16) -> Result<Self> {
        let leader = LeaderIdAndEpoch {
            leader_id: reader.i32()?,
            leader_epoch: reader.i32()?,
        };
        reader.skip_tagged_fields()?;
        Ok(leader)
    }
}

impl<'a> Decode<'a> for NodeEndpoint<'a> {
    /// Always flexible: it only appears inside tagged fields.
    fn decode(reader: &mut Reader<'a>, _version: i16) -> Result<Self> {
        let endpoint = NodeEndpoint {
            node_id: reader.i32()?,
            host: reader.string(true)?,
            port: reader.i32()?,
            rack: reader.nullable_string(true)?,
        };
        reader.skip_tagged_fields()?;
        Ok(endpoint)
    }
}
