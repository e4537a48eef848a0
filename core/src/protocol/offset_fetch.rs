//! OffsetFetch (key 9): reads a consumer group's committed offsets from its coordinator.
//!
//! Versions 1-9: 1-5 non-flexible, 6-9 flexible. Kafka 2.1 accepts up to v5 and 4.x from v1
//! (its minimum), so v1-v5 are the non-flexible versions every broker from 2.1 through 4.x
//! accepts; v6 needs Kafka 2.4+, v7 (`require_stable`, KIP-447) Kafka 2.5+, v8 (several groups
//! per request, KIP-709) Kafka 3.0+, v9 (KIP-848 member id and epoch) Kafka 3.7+.
//!
//! One request layout serves every version: a list of groups. Below v8 the wire carries a
//! single group id and its topics, so the list must hold exactly one group; member id and
//! epoch are sent from v9 only and silently dropped before, as Kafka does. A null topic list
//! (all topics the group has offsets for) needs v2+, `require_stable` v7+; asking for either
//! at an older version is an `InvalidArgument`.
//!
//! The response has two layouts (topics at v1-7, groups at v8+);
//! [`OffsetFetchResponse::offsets`] walks either as uniform [`CommittedOffset`] entries.

use super::{ApiKey, Request, VersionRange};
use crate::wire::{Array, Decode, Encode, Reader, Writer};
use crate::{Error, KafkaCode, Result};

/// OffsetFetch request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OffsetFetchRequest<'a> {
    /// The groups to fetch offsets for: exactly one below v8, any number from v8.
    pub groups: &'a [OffsetFetchGroup<'a>],
    /// Whether the broker should hold back offsets of pending transactions and answer
    /// `UNSTABLE_OFFSET_COMMIT` for them instead (v7+).
    pub require_stable: bool,
}

/// One group of an [`OffsetFetchRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OffsetFetchGroup<'a> {
    /// The group id.
    pub group_id: &'a str,
    /// The member id under the KIP-848 consumer protocol (v9+), or `None`.
    pub member_id: Option<&'a str>,
    /// The member epoch under the KIP-848 consumer protocol (v9+), or -1.
    pub member_epoch: i32,
    /// The topics to fetch offsets for, or `None` for all of them (v2+).
    pub topics: Option<&'a [OffsetFetchTopic<'a>]>,
}

impl<'a> OffsetFetchGroup<'a> {
    /// A group outside the KIP-848 protocol (no member id, epoch -1).
    pub const fn new(group_id: &'a str, topics: Option<&'a [OffsetFetchTopic<'a>]>) -> Self {
        OffsetFetchGroup {
            group_id,
            member_id: None,
            member_epoch: -1,
            topics,
        }
    }
}

/// One topic of an [`OffsetFetchGroup`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OffsetFetchTopic<'a> {
    /// The topic name.
    pub name: &'a str,
    /// The partitions to fetch offsets for.
    pub partition_indexes: &'a [i32],
}

impl OffsetFetchTopic<'_> {
    fn encode_topics(
        topics: Option<&[OffsetFetchTopic<'_>]>,
        writer: &mut Writer<'_>,
        version: i16,
    ) -> Result<()> {
        let flexible = OffsetFetchRequest::is_flexible(version);
        match topics {
            Some(topics) => writer.array(topics, version, flexible),
            None if version >= 2 => writer.array_len(None, flexible),
            None => Err(Error::InvalidArgument(
                "OffsetFetch for all topics (null topics) needs v2+",
            )),
        }
    }
}

impl Encode for OffsetFetchRequest<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        let flexible = Self::is_flexible(version);
        if version >= 8 {
            writer.array(self.groups, version, flexible)?;
        } else {
            let group = match self.groups {
                [group] => group,
                _ => {
                    return Err(Error::InvalidArgument(
                        "OffsetFetch below v8 takes exactly one group",
                    ))
                }
            };
            writer.string(group.group_id, flexible)?;
            OffsetFetchTopic::encode_topics(group.topics, writer, version)?;
        }
        if version >= 7 {
            writer.bool(self.require_stable)?;
        } else if self.require_stable {
            return Err(Error::InvalidArgument(
                "OffsetFetch require_stable needs v7+",
            ));
        }
        writer.tagged_fields_if(flexible)
    }
}

/// Encodes the v8+ group element; below v8 the request writes the group's fields itself.
impl Encode for OffsetFetchGroup<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        let flexible = OffsetFetchRequest::is_flexible(version);
        writer.string(self.group_id, flexible)?;
        if version >= 9 {
            writer.nullable_string(self.member_id, flexible)?;
            writer.i32(self.member_epoch)?;
        }
        OffsetFetchTopic::encode_topics(self.topics, writer, version)?;
        writer.tagged_fields_if(flexible)
    }
}

impl Encode for OffsetFetchTopic<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        let flexible = OffsetFetchRequest::is_flexible(version);
        writer.string(self.name, flexible)?;
        writer.i32_array(self.partition_indexes, flexible)?;
        writer.tagged_fields_if(flexible)
    }
}

impl Request for OffsetFetchRequest<'_> {
    const API_KEY: ApiKey = ApiKey::OffsetFetch;
    const VERSIONS: VersionRange = VersionRange::new(1, 9);
    const FLEXIBLE_FROM: i16 = 6;
    type Response<'a> = OffsetFetchResponse<'a>;
}

/// OffsetFetch response.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OffsetFetchResponse<'a> {
    /// Milliseconds the request was throttled for a quota violation (v3+; 0 otherwise).
    pub throttle_time_ms: i32,
    /// The single group's offsets per topic (v1-7; empty from v8).
    pub topics: Array<'a, OffsetFetchTopicResult<'a>>,
    /// The single group's error, e.g. `COORDINATOR_NOT_AVAILABLE` (v2-7; `NONE` otherwise).
    pub error_code: KafkaCode,
    /// The result per group (v8+; empty before).
    pub groups: Array<'a, OffsetFetchGroupResult<'a>>,
}

/// One group of an [`OffsetFetchResponse`] (v8+).
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OffsetFetchGroupResult<'a> {
    /// The group id.
    pub group_id: &'a str,
    /// The group's offsets per topic.
    pub topics: Array<'a, OffsetFetchTopicResult<'a>>,
    /// The group-level error, or `NONE`.
    pub error_code: KafkaCode,
}

/// One topic of an [`OffsetFetchResponse`] or [`OffsetFetchGroupResult`].
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OffsetFetchTopicResult<'a> {
    /// The topic name.
    pub name: &'a str,
    /// The offsets per partition.
    pub partitions: Array<'a, OffsetFetchPartitionResult<'a>>,
}

/// One partition's committed offset in an [`OffsetFetchTopicResult`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OffsetFetchPartitionResult<'a> {
    /// The partition index.
    pub partition_index: i32,
    /// The committed offset, or -1 if the group has none for this partition.
    pub committed_offset: i64,
    /// The leader epoch stored with the offset (v5+), or -1.
    pub committed_leader_epoch: i32,
    /// The metadata stored with the offset.
    pub metadata: Option<&'a str>,
    /// The partition-level error, or `NONE`.
    pub error_code: KafkaCode,
}

/// One committed offset, the same for both response layouts
/// (see [`OffsetFetchResponse::offsets`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CommittedOffset<'a> {
    /// The group id (v8+); `None` below v8, where the response holds the requested group only.
    pub group_id: Option<&'a str>,
    /// The topic name.
    pub topic: &'a str,
    /// The partition index.
    pub partition_index: i32,
    /// The committed offset, or -1 if the group has none for this partition.
    pub committed_offset: i64,
    /// The leader epoch stored with the offset (v5+), or -1.
    pub committed_leader_epoch: i32,
    /// The metadata stored with the offset.
    pub metadata: Option<&'a str>,
    /// The partition-level error, or `NONE`.
    pub error_code: KafkaCode,
}

impl<'a> OffsetFetchResponse<'a> {
    /// Every partition of every group, whichever layout the version uses.
    pub fn offsets(&self) -> impl Iterator<Item = CommittedOffset<'a>> + 'a {
        let single = self.topics.iter().map(|t| (None, t));
        let multi = self
            .groups
            .iter()
            .flat_map(|g| g.topics.iter().map(move |t| (Some(g.group_id), t)));
        single.chain(multi).flat_map(|(group_id, t)| {
            t.partitions.iter().map(move |p| CommittedOffset {
                group_id,
                topic: t.name,
                partition_index: p.partition_index,
                committed_offset: p.committed_offset,
                committed_leader_epoch: p.committed_leader_epoch,
                metadata: p.metadata,
                error_code: p.error_code,
            })
        })
    }

    /// The first group-level error: the top-level code below v8 (group `None`), otherwise
    /// the first failing group. Partition errors are in [`OffsetFetchResponse::offsets`].
    pub fn group_error(&self) -> Option<(Option<&'a str>, KafkaCode)> {
        if !self.error_code.is_ok() {
            return Some((None, self.error_code));
        }
        self.groups
            .iter()
            .find(|g| !g.error_code.is_ok())
            .map(|g| (Some(g.group_id), g.error_code))
    }
}

impl<'a> Decode<'a> for OffsetFetchResponse<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = OffsetFetchRequest::is_flexible(version);
        let throttle_time_ms = if version >= 3 { reader.i32()? } else { 0 };
        let mut response = OffsetFetchResponse {
            throttle_time_ms,
            topics: Array::empty(),
            error_code: KafkaCode::NONE,
            groups: Array::empty(),
        };
        if version >= 8 {
            response.groups = Array::decode(reader, version, flexible)?;
        } else {
            response.topics = Array::decode(reader, version, flexible)?;
            if version >= 2 {
                response.error_code = KafkaCode(reader.i16()?);
            }
        }
        reader.tagged_fields_if(flexible)?;
        Ok(response)
    }
}

impl<'a> Decode<'a> for OffsetFetchGroupResult<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = OffsetFetchRequest::is_flexible(version);
        let group = OffsetFetchGroupResult {
            group_id: reader.string(flexible)?,
            topics: Array::decode(reader, version, flexible)?,
            error_code: KafkaCode(reader.i16()?),
        };
        reader.tagged_fields_if(flexible)?;
        Ok(group)
    }
}

impl<'a> Decode<'a> for OffsetFetchTopicResult<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = OffsetFetchRequest::is_flexible(version);
        let topic = OffsetFetchTopicResult {
            name: reader.string(flexible)?,
            partitions: Array::decode(reader, version, flexible)?,
        };
        reader.tagged_fields_if(flexible)?;
        Ok(topic)
    }
}

impl<'a> Decode<'a> for OffsetFetchPartitionResult<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = OffsetFetchRequest::is_flexible(version);
        let partition = OffsetFetchPartitionResult {
            partition_index: reader.i32()?,
            committed_offset: reader.i64()?,
            committed_leader_epoch: if version >= 5 { reader.i32()? } else { -1 },
            metadata: reader.nullable_string(flexible)?,
            error_code: KafkaCode(reader.i16()?),
        };
        reader.tagged_fields_if(flexible)?;
        Ok(partition)
    }
}
