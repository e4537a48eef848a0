//! CreateTopics (key 19): creates topics with a partition count and replication factor (or
//! explicit assignments) and configs.
//!
//! Versions 2-7: 2-4 non-flexible (Kafka 4.x's minimum is v2, so every broker from 2.1
//! through 4.x accepts 2-3; v4 needs 2.4+), 5-7 flexible. v5+ answer with the partition
//! count, replication factor and configs the topic got; v7 with its topic id.

use super::{ApiKey, Request, VersionRange};
use crate::wire::{Array, Decode, Encode, Reader, Writer};
use crate::{KafkaCode, Result};

/// CreateTopics request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CreateTopicsRequest<'a> {
    /// The topics to create.
    pub topics: &'a [CreatableTopic<'a>],
    /// How long to wait for the topics to be created, in ms.
    pub timeout_ms: i32,
    /// Only check that the request would succeed.
    pub validate_only: bool,
}

/// A topic to create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CreatableTopic<'a> {
    /// The topic name.
    pub name: &'a str,
    /// Partitions, or -1 for the broker default (or when `assignments` are given).
    pub num_partitions: i32,
    /// Replicas per partition, or -1 for the broker default (or with `assignments`).
    pub replication_factor: i16,
    /// Explicit replica assignments, or empty.
    pub assignments: &'a [ReplicaAssignment<'a>],
    /// Topic configs (e.g. `retention.ms`).
    pub configs: &'a [TopicConfig<'a>],
}

/// The replicas of one partition of a [`CreatableTopic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReplicaAssignment<'a> {
    /// The partition index.
    pub partition_index: i32,
    /// Its replicas' broker ids, preferred leader first.
    pub broker_ids: &'a [i32],
}

/// A config entry of a [`CreatableTopic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TopicConfig<'a> {
    /// The config name.
    pub name: &'a str,
    /// The value (`None` for the default).
    pub value: Option<&'a str>,
}

impl Encode for CreateTopicsRequest<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        let flexible = Self::is_flexible(version);
        writer.array(self.topics, version, flexible)?;
        writer.i32(self.timeout_ms)?;
        writer.bool(self.validate_only)?;
        writer.tagged_fields_if(flexible)
    }
}

impl Encode for CreatableTopic<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        let flexible = CreateTopicsRequest::is_flexible(version);
        writer.string(self.name, flexible)?;
        writer.i32(self.num_partitions)?;
        writer.i16(self.replication_factor)?;
        writer.array(self.assignments, version, flexible)?;
        writer.array(self.configs, version, flexible)?;
        writer.tagged_fields_if(flexible)
    }
}

impl Encode for ReplicaAssignment<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        let flexible = CreateTopicsRequest::is_flexible(version);
        writer.i32(self.partition_index)?;
        writer.i32_array(self.broker_ids, flexible)?;
        writer.tagged_fields_if(flexible)
    }
}

impl Encode for TopicConfig<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        let flexible = CreateTopicsRequest::is_flexible(version);
        writer.string(self.name, flexible)?;
        writer.nullable_string(self.value, flexible)?;
        writer.tagged_fields_if(flexible)
    }
}

impl Request for CreateTopicsRequest<'_> {
    const API_KEY: ApiKey = ApiKey::CreateTopics;
    const VERSIONS: VersionRange = VersionRange::new(2, 7);
    const FLEXIBLE_FROM: i16 = 5;
    type Response<'a> = CreateTopicsResponse<'a>;
}

/// CreateTopics response.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CreateTopicsResponse<'a> {
    /// Time the request was throttled, in ms.
    pub throttle_time_ms: i32,
    /// Results per topic.
    pub topics: Array<'a, CreatableTopicResult<'a>>,
}

/// One topic's result.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CreatableTopicResult<'a> {
    /// The topic name.
    pub name: &'a str,
    /// The topic id (v7+), else all zeros.
    pub topic_id: [u8; 16],
    /// The error (e.g. `TOPIC_ALREADY_EXISTS`), or `NONE`.
    pub error_code: KafkaCode,
    /// The error message.
    pub error_message: Option<&'a str>,
    /// Why the configs could not be returned (v5+, tagged), or `NONE`.
    pub topic_config_error_code: KafkaCode,
    /// Partitions created (v5+), else -1.
    pub num_partitions: i32,
    /// Replication factor (v5+), else -1.
    pub replication_factor: i16,
    /// The topic's configs (v5+; null when they could not be returned).
    pub configs: Array<'a, CreatedTopicConfig<'a>>,
}

/// A config of a created topic (v5+).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CreatedTopicConfig<'a> {
    /// The config name.
    pub name: &'a str,
    /// The value (`None` for sensitive configs).
    pub value: Option<&'a str>,
    /// Whether it is read-only.
    pub read_only: bool,
    /// Where the value comes from (Kafka's `ConfigSource` id).
    pub config_source: i8,
    /// Whether the value is sensitive.
    pub is_sensitive: bool,
}

impl<'a> Decode<'a> for CreateTopicsResponse<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = CreateTopicsRequest::is_flexible(version);
        let throttle_time_ms = reader.i32()?;
        let topics = Array::decode(reader, version, flexible)?;
        reader.tagged_fields_if(flexible)?;
        Ok(CreateTopicsResponse {
            throttle_time_ms,
            topics,
        })
    }
}

impl<'a> Decode<'a> for CreatableTopicResult<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = CreateTopicsRequest::is_flexible(version);
        let name = reader.string(flexible)?;
        let topic_id = if version >= 7 {
            reader.uuid()?
        } else {
            [0; 16]
        };
        let error_code = KafkaCode(reader.i16()?);
        let error_message = reader.nullable_string(flexible)?;
        let (num_partitions, replication_factor, configs) = if version >= 5 {
            (
                reader.i32()?,
                reader.i16()?,
                Array::decode(reader, version, flexible)?,
            )
        } else {
            (-1, -1, Array::empty())
        };
        let mut topic_config_error_code = KafkaCode::NONE;
        if flexible {
            reader.tagged_fields_with(|tag, data| {
                if tag == 0 {
                    let mut field = Reader::new(data);
                    topic_config_error_code = KafkaCode(field.i16()?);
                    field.expect_end("trailing bytes in CreateTopics topic_config_error_code")?;
                }
                Ok(())
            })?;
        }
        Ok(CreatableTopicResult {
            name,
            topic_id,
            error_code,
            error_message,
            topic_config_error_code,
            num_partitions,
            replication_factor,
            configs,
        })
    }
}

impl<'a> Decode<'a> for CreatedTopicConfig<'a> {
    fn decode(reader: &mut Reader<'a>, _version: i16) -> Result<Self> {
        let config = CreatedTopicConfig {
            name: reader.string(true)?,
            value: reader.nullable_string(true)?,
            read_only: reader.bool()?,
            config_source: reader.i8()?,
            is_sensitive: reader.bool()?,
        };
        reader.skip_tagged_fields()?;
        Ok(config)
    }
}
