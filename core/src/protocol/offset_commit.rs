//! OffsetCommit (key 8): stores consumed offsets for a consumer group at its coordinator.
//!
//! Versions 2-9: 2-7 non-flexible, 8-9 flexible. Kafka 2.1 accepts up to v6 and 4.x from v2
//! (its minimum), so v2-v6 are the non-flexible versions every broker from 2.1 through 4.x
//! accepts; v7 (group instance id, KIP-345) needs Kafka 2.3+, v8 Kafka 2.4+, v9 (KIP-848
//! consumer protocol) Kafka 3.6+.
//!
//! Fields by version: `retention_time_ms` is sent only at v2-4 (later brokers use their own
//! `offsets.retention.minutes`) and `committed_leader_epoch` only from v6; both are silently
//! dropped elsewhere, as Kafka does. `group_instance_id` exists from v7: a non-null value at
//! an older version is an `InvalidArgument`, since dropping it would change the meaning.

use super::{ApiKey, Request, VersionRange};
use crate::wire::{Array, Decode, Encode, Reader, Writer};
use crate::{Error, KafkaCode, Result};

/// OffsetCommit request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OffsetCommitRequest<'a> {
    /// The consumer group.
    pub group_id: &'a str,
    /// The group generation (classic protocol) or member epoch (KIP-848 protocol); -1 for a
    /// standalone consumer that is not a group member.
    pub generation_id_or_member_epoch: i32,
    /// The member id the coordinator assigned; empty for a standalone consumer.
    pub member_id: &'a str,
    /// The static member id (KIP-345), v7+.
    pub group_instance_id: Option<&'a str>,
    /// How long to keep the offsets, in ms (v2-4 only); -1 for the broker default.
    pub retention_time_ms: i64,
    /// The offsets to commit, per topic.
    pub topics: &'a [OffsetCommitTopic<'a>],
}

/// One topic of an [`OffsetCommitRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OffsetCommitTopic<'a> {
    /// The topic name.
    pub name: &'a str,
    /// The partitions' offsets.
    pub partitions: &'a [OffsetCommitPartition<'a>],
}

/// One partition's offset in an [`OffsetCommitTopic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OffsetCommitPartition<'a> {
    /// The partition index.
    pub partition_index: i32,
    /// The offset to commit: the offset of the next record to consume.
    pub committed_offset: i64,
    /// The leader epoch of the last consumed record (v6+), or -1.
    pub committed_leader_epoch: i32,
    /// Free-form metadata stored with the offset.
    pub committed_metadata: Option<&'a str>,
}

impl Encode for OffsetCommitRequest<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        let flexible = Self::is_flexible(version);
        writer.string(self.group_id, flexible)?;
        writer.i32(self.generation_id_or_member_epoch)?;
        writer.string(self.member_id, flexible)?;
        if version >= 7 {
            writer.nullable_string(self.group_instance_id, flexible)?;
        } else if self.group_instance_id.is_some() {
            return Err(Error::InvalidArgument(
                "OffsetCommit group_instance_id needs v7+",
            ));
        }
        if (2..=4).contains(&version) {
            writer.i64(self.retention_time_ms)?;
        }
        writer.array(self.topics, version, flexible)?;
        writer.tagged_fields_if(flexible)
    }
}

impl Encode for OffsetCommitTopic<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        let flexible = OffsetCommitRequest::is_flexible(version);
        writer.string(self.name, flexible)?;
        writer.array(self.partitions, version, flexible)?;
        writer.tagged_fields_if(flexible)
    }
}

impl Encode for OffsetCommitPartition<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        let flexible = OffsetCommitRequest::is_flexible(version);
        writer.i32(self.partition_index)?;
        writer.i64(self.committed_offset)?;
        if version >= 6 {
            writer.i32(self.committed_leader_epoch)?;
        }
        writer.nullable_string(self.committed_metadata, flexible)?;
        writer.tagged_fields_if(flexible)
    }
}

impl Request for OffsetCommitRequest<'_> {
    const API_KEY: ApiKey = ApiKey::OffsetCommit;
    const VERSIONS: VersionRange = VersionRange::new(2, 9);
    const FLEXIBLE_FROM: i16 = 8;
    type Response<'a> = OffsetCommitResponse<'a>;
}

/// OffsetCommit response.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OffsetCommitResponse<'a> {
    /// Milliseconds the request was throttled for a quota violation (v3+; 0 otherwise).
    pub throttle_time_ms: i32,
    /// The result per topic.
    pub topics: Array<'a, OffsetCommitTopicResult<'a>>,
}

/// One topic of an [`OffsetCommitResponse`].
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OffsetCommitTopicResult<'a> {
    /// The topic name.
    pub name: &'a str,
    /// The result per partition.
    pub partitions: Array<'a, OffsetCommitPartitionResult>,
}

/// One partition's result in an [`OffsetCommitTopicResult`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OffsetCommitPartitionResult {
    /// The partition index.
    pub partition_index: i32,
    /// The error, or `NONE` when the offset was stored.
    pub error_code: KafkaCode,
}

impl<'a> Decode<'a> for OffsetCommitResponse<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = OffsetCommitRequest::is_flexible(version);
        let response = OffsetCommitResponse {
            throttle_time_ms: if version >= 3 { reader.i32()? } else { 0 },
            topics: Array::decode(reader, version, flexible)?,
        };
        reader.tagged_fields_if(flexible)?;
        Ok(response)
    }
}

impl<'a> Decode<'a> for OffsetCommitTopicResult<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = OffsetCommitRequest::is_flexible(version);
        let topic = OffsetCommitTopicResult {
            name: reader.string(flexible)?,
            partitions: Array::decode(reader, version, flexible)?,
        };
        reader.tagged_fields_if(flexible)?;
        Ok(topic)
    }
}

impl<'a> Decode<'a> for OffsetCommitPartitionResult {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let partition = OffsetCommitPartitionResult {
            partition_index: reader.i32()?,
            error_code: KafkaCode(reader.i16()?),
        };
        reader.tagged_fields_if(OffsetCommitRequest::is_flexible(version))?;
        Ok(partition)
    }
}

impl<'a> OffsetCommitResponse<'a> {
    /// Every partition's result as `(topic, partition, error)`, across all topics.
    pub fn results(&self) -> impl Iterator<Item = (&'a str, i32, KafkaCode)> + 'a {
        self.topics.iter().flat_map(|t| {
            t.partitions
                .iter()
                .map(move |p| (t.name, p.partition_index, p.error_code))
        })
    }

    /// The first partition error, if any partition failed.
    pub fn first_error(&self) -> Option<(&'a str, i32, KafkaCode)> {
        self.results().find(|(_, _, code)| !code.is_ok())
    }
}
