//! DeleteTopics (key 20): deletes topics by name.
//!
//! Versions 1-6: 1-3 non-flexible (Kafka 4.x's minimum is v1, so every broker from 2.1
//! through 4.x accepts 1-3), 4-6 flexible. v5+ answer with an error message; v6 sends each
//! topic as a name-or-id entry (this client sends the name) and answers with the topic id.

use super::{ApiKey, Request, VersionRange};
use crate::wire::{Array, Decode, Encode, Reader, Writer};
use crate::{KafkaCode, Result};

/// DeleteTopics request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DeleteTopicsRequest<'a> {
    /// The names of the topics to delete.
    pub topic_names: &'a [&'a str],
    /// How long to wait for the deletions to complete, in ms.
    pub timeout_ms: i32,
}

impl Encode for DeleteTopicsRequest<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        let flexible = Self::is_flexible(version);
        if version >= 6 {
            // Name-or-id entries: the name, and the nil id that tells the broker to use it.
            writer.array_len(Some(self.topic_names.len()), flexible)?;
            for name in self.topic_names {
                writer.nullable_string(Some(name), flexible)?;
                writer.uuid(&[0; 16])?;
                writer.tagged_fields_if(flexible)?;
            }
        } else {
            writer.string_array(self.topic_names, flexible)?;
        }
        writer.i32(self.timeout_ms)?;
        writer.tagged_fields_if(flexible)
    }
}

impl Request for DeleteTopicsRequest<'_> {
    const API_KEY: ApiKey = ApiKey::DeleteTopics;
    const VERSIONS: VersionRange = VersionRange::new(1, 6);
    const FLEXIBLE_FROM: i16 = 4;
    type Response<'a> = DeleteTopicsResponse<'a>;
}

/// DeleteTopics response.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DeleteTopicsResponse<'a> {
    /// Time the request was throttled, in ms.
    pub throttle_time_ms: i32,
    /// Results per topic.
    pub responses: Array<'a, DeletableTopicResult<'a>>,
}

/// One topic's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DeletableTopicResult<'a> {
    /// The topic name (v6+: `None` when the topic was named by an unknown id).
    pub name: Option<&'a str>,
    /// The topic id (v6+), else all zeros.
    pub topic_id: [u8; 16],
    /// The error (e.g. `UNKNOWN_TOPIC_OR_PARTITION`), or `NONE`.
    pub error_code: KafkaCode,
    /// The error message (v5+).
    pub error_message: Option<&'a str>,
}

impl<'a> Decode<'a> for DeleteTopicsResponse<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = DeleteTopicsRequest::is_flexible(version);
        let throttle_time_ms = reader.i32()?;
        let responses = Array::decode(reader, version, flexible)?;
        reader.tagged_fields_if(flexible)?;
        Ok(DeleteTopicsResponse {
            throttle_time_ms,
            responses,
        })
    }
}

impl<'a> Decode<'a> for DeletableTopicResult<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = DeleteTopicsRequest::is_flexible(version);
        let (name, topic_id) = if version >= 6 {
            (reader.nullable_string(flexible)?, reader.uuid()?)
        } else {
            (Some(reader.string(flexible)?), [0; 16])
        };
        let error_code = KafkaCode(reader.i16()?);
        let error_message = if version >= 5 {
            reader.nullable_string(flexible)?
        } else {
            None
        };
        reader.tagged_fields_if(flexible)?;
        Ok(DeletableTopicResult {
            name,
            topic_id,
            error_code,
            error_message,
        })
    }
}
