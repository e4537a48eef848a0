//! CreatePartitions (key 37): grows topics to a new partition count.
//!
//! Versions 0-3: 0-1 non-flexible (every broker from 2.1 through 4.x accepts them), 2-3
//! flexible (Kafka 2.4+). The versions differ only in the encoding.

use super::{ApiKey, Request, VersionRange};
use crate::wire::{Array, Decode, Encode, Reader, Writer};
use crate::{KafkaCode, Result};

/// CreatePartitions request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CreatePartitionsRequest<'a> {
    /// The topics to grow.
    pub topics: &'a [CreatePartitionsTopic<'a>],
    /// How long to wait for the partitions to be created, in ms.
    pub timeout_ms: i32,
    /// Only check that the request would succeed.
    pub validate_only: bool,
}

/// A topic to grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CreatePartitionsTopic<'a> {
    /// The topic name.
    pub name: &'a str,
    /// The new total partition count (not the number to add).
    pub count: i32,
    /// The replicas of each new partition, or `None` to let the broker place them.
    pub assignments: Option<&'a [PartitionAssignment<'a>]>,
}

/// The replicas of one new partition of a [`CreatePartitionsTopic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PartitionAssignment<'a> {
    /// Its replicas' broker ids, preferred leader first.
    pub broker_ids: &'a [i32],
}

impl Encode for CreatePartitionsRequest<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        let flexible = Self::is_flexible(version);
        writer.array(self.topics, version, flexible)?;
        writer.i32(self.timeout_ms)?;
        writer.bool(self.validate_only)?;
        writer.tagged_fields_if(flexible)
    }
}

impl Encode for CreatePartitionsTopic<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        let flexible = CreatePartitionsRequest::is_flexible(version);
        writer.string(self.name, flexible)?;
        writer.i32(self.count)?;
        match self.assignments {
            Some(assignments) => writer.array(assignments, version, flexible)?,
            None => writer.array_len(None, flexible)?,
        }
        writer.tagged_fields_if(flexible)
    }
}

impl Encode for PartitionAssignment<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        let flexible = CreatePartitionsRequest::is_flexible(version);
        writer.i32_array(self.broker_ids, flexible)?;
        writer.tagged_fields_if(flexible)
    }
}

impl Request for CreatePartitionsRequest<'_> {
    const API_KEY: ApiKey = ApiKey::CreatePartitions;
    const VERSIONS: VersionRange = VersionRange::new(0, 3);
    const FLEXIBLE_FROM: i16 = 2;
    type Response<'a> = CreatePartitionsResponse<'a>;
}

/// CreatePartitions response.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CreatePartitionsResponse<'a> {
    /// Time the request was throttled, in ms.
    pub throttle_time_ms: i32,
    /// Results per topic.
    pub results: Array<'a, CreatePartitionsTopicResult<'a>>,
}

/// One topic's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CreatePartitionsTopicResult<'a> {
    /// The topic name.
    pub name: &'a str,
    /// The error (e.g. `INVALID_PARTITIONS` for a count not above the current one), or `NONE`.
    pub error_code: KafkaCode,
    /// The error message.
    pub error_message: Option<&'a str>,
}

impl<'a> Decode<'a> for CreatePartitionsResponse<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = CreatePartitionsRequest::is_flexible(version);
        let throttle_time_ms = reader.i32()?;
        let results = Array::decode(reader, version, flexible)?;
        reader.tagged_fields_if(flexible)?;
        Ok(CreatePartitionsResponse {
            throttle_time_ms,
            results,
        })
    }
}

impl<'a> Decode<'a> for CreatePartitionsTopicResult<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = CreatePartitionsRequest::is_flexible(version);
        let result = CreatePartitionsTopicResult {
            name: reader.string(flexible)?,
            error_code: KafkaCode(reader.i16()?),
            error_message: reader.nullable_string(flexible)?,
        };
        reader.tagged_fields_if(flexible)?;
        Ok(result)
    }
}
