//! ListOffsets (key 2): the offset for a timestamp, or the earliest/latest offset.
//!
//! Versions 1-10: 1-5 non-flexible, 6-10 flexible. Kafka 4.x accepts v1 and up, so 1-5 are
//! the non-flexible versions every broker from 2.1 to 4.x accepts (v5 needs 2.2+; 1-4 all).
//! v1 replaced v0's list of offsets with a single (timestamp, offset) answer.

use super::{ApiKey, Request, VersionRange};
use crate::wire::{Array, Decode, Encode, Reader, Writer};
use crate::{KafkaCode, Result};

/// Ask for the offset of the next record to be written (the end of the log).
pub const LATEST_TIMESTAMP: i64 = -1;
/// Ask for the first offset still in the log.
pub const EARLIEST_TIMESTAMP: i64 = -2;
/// Ask for the offset of the record with the largest timestamp (v7+, KIP-734).
pub const MAX_TIMESTAMP: i64 = -3;

/// ListOffsets request (as a consumer sends it: replica id -1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ListOffsetsRequest<'a> {
    /// 0 read uncommitted, 1 read committed (v2+).
    pub isolation_level: i8,
    /// What to look up, per topic.
    pub topics: &'a [ListOffsetsTopic<'a>],
    /// How long a remote-storage lookup may take, in ms (v10+).
    pub timeout_ms: i32,
}

/// One topic of a [`ListOffsetsRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ListOffsetsTopic<'a> {
    /// The topic name.
    pub name: &'a str,
    /// The partitions to look up.
    pub partitions: &'a [ListOffsetsPartition],
}

/// One partition lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ListOffsetsPartition {
    /// The partition index.
    pub partition_index: i32,
    /// The leader epoch the client knows (v4+), or -1.
    pub current_leader_epoch: i32,
    /// A timestamp in ms, or [`LATEST_TIMESTAMP`] / [`EARLIEST_TIMESTAMP`] / [`MAX_TIMESTAMP`].
    pub timestamp: i64,
}

impl ListOffsetsPartition {
    /// A lookup of `timestamp` in `partition_index`.
    pub const fn new(partition_index: i32, timestamp: i64) -> Self {
        ListOffsetsPartition {
            partition_index,
            current_leader_epoch: -1,
            timestamp,
        }
    }
}

impl Encode for ListOffsetsRequest<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        let flexible = Self::is_flexible(version);
        writer.i32(-1)?; // replica_id: a consumer
        if version >= 2 {
            writer.i8(self.isolation_level)?;
        }
        writer.array(self.topics, version, flexible)?;
        if version >= 10 {
            writer.i32(self.timeout_ms)?;
        }
        writer.tagged_fields_if(flexible)
    }
}

impl Encode for ListOffsetsTopic<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        let flexible = ListOffsetsRequest::is_flexible(version);
        writer.string(self.name, flexible)?;
        writer.array(self.partitions, version, flexible)?;
        writer.tagged_fields_if(flexible)
    }
}

impl Encode for ListOffsetsPartition {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        writer.i32(self.partition_index)?;
        if version >= 4 {
            writer.i32(self.current_leader_epoch)?;
        }
        writer.i64(self.timestamp)?;
        writer.tagged_fields_if(ListOffsetsRequest::is_flexible(version))
    }
}

impl Request for ListOffsetsRequest<'_> {
    const API_KEY: ApiKey = ApiKey::ListOffsets;
    const VERSIONS: VersionRange = VersionRange::new(1, 10);
    const FLEXIBLE_FROM: i16 = 6;
    type Response<'a> = ListOffsetsResponse<'a>;
}

/// ListOffsets response.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ListOffsetsResponse<'a> {
    /// Time the request was throttled, in ms (v2+; 0 before).
    pub throttle_time_ms: i32,
    /// Answers per topic.
    pub topics: Array<'a, ListOffsetsTopicResponse<'a>>,
}

/// One topic's answers in a [`ListOffsetsResponse`].
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ListOffsetsTopicResponse<'a> {
    /// The topic name.
    pub name: &'a str,
    /// Answers per partition.
    pub partitions: Array<'a, ListOffsetsPartitionResponse>,
}

/// One partition's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ListOffsetsPartitionResponse {
    /// The partition index.
    pub partition_index: i32,
    /// The error, or `NONE`.
    pub error_code: KafkaCode,
    /// The timestamp of the record found, or -1.
    pub timestamp: i64,
    /// The offset found (-1 when no record has a timestamp at or after the one asked for).
    pub offset: i64,
    /// The leader epoch of the record found (v4+), or -1.
    pub leader_epoch: i32,
}

impl<'a> Decode<'a> for ListOffsetsResponse<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = ListOffsetsRequest::is_flexible(version);
        let throttle_time_ms = if version >= 2 { reader.i32()? } else { 0 };
        let topics = Array::decode(reader, version, flexible)?;
        reader.tagged_fields_if(flexible)?;
        Ok(ListOffsetsResponse {
            throttle_time_ms,
            topics,
        })
    }
}

impl<'a> Decode<'a> for ListOffsetsTopicResponse<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = ListOffsetsRequest::is_flexible(version);
        let name = reader.string(flexible)?;
        let partitions = Array::decode(reader, version, flexible)?;
        reader.tagged_fields_if(flexible)?;
        Ok(ListOffsetsTopicResponse { name, partitions })
    }
}

impl<'a> Decode<'a> for ListOffsetsPartitionResponse {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let partition = ListOffsetsPartitionResponse {
            partition_index: reader.i32()?,
            error_code: KafkaCode(reader.i16()?),
            timestamp: reader.i64()?,
            offset: reader.i64()?,
            leader_epoch: if version >= 4 { reader.i32()? } else { -1 },
        };
        reader.tagged_fields_if(ListOffsetsRequest::is_flexible(version))?;
        Ok(partition)
    }
}
