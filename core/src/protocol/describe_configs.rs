//! DescribeConfigs (key 32): the configs of topics, brokers and broker loggers.
//!
//! Versions 1-4: 1-3 non-flexible (Kafka 4.x's minimum is v1, so every broker from 2.1
//! through 4.x accepts 1-3), 4 flexible. v1+ can list each config's synonyms; v3+ its type
//! and documentation.

use super::{ApiKey, Request, VersionRange};
use crate::wire::{Array, Decode, Encode, Reader, Writer};
use crate::{KafkaCode, Result};

/// Kafka's config resource types (`ConfigResource.Type`), as DescribeConfigs and
/// IncrementalAlterConfigs name them.
pub mod resource_type {
    /// A topic; the resource name is the topic name.
    pub const TOPIC: i8 = 2;
    /// A broker; the resource name is its id, or empty for the cluster-wide default.
    pub const BROKER: i8 = 4;
    /// A broker's loggers; the resource name is the broker id.
    pub const BROKER_LOGGER: i8 = 8;
}

/// Where a config value comes from (Kafka's `ConfigSource` ids).
pub mod config_source {
    /// Not known (e.g. a newer source).
    pub const UNKNOWN: i8 = 0;
    /// Set on the topic.
    pub const DYNAMIC_TOPIC_CONFIG: i8 = 1;
    /// Set dynamically on this broker.
    pub const DYNAMIC_BROKER_CONFIG: i8 = 2;
    /// Set dynamically as the default of every broker.
    pub const DYNAMIC_DEFAULT_BROKER_CONFIG: i8 = 3;
    /// From the broker's properties file.
    pub const STATIC_BROKER_CONFIG: i8 = 4;
    /// Kafka's built-in default.
    pub const DEFAULT_CONFIG: i8 = 5;
}

/// DescribeConfigs request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DescribeConfigsRequest<'a> {
    /// The resources to describe.
    pub resources: &'a [DescribeConfigsResource<'a>],
    /// Also list each config's synonyms (the broker settings it falls back to).
    pub include_synonyms: bool,
    /// Also return each config's documentation (v3+; ignored before).
    pub include_documentation: bool,
}

/// A resource to describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DescribeConfigsResource<'a> {
    /// Its type (a [`resource_type`]).
    pub resource_type: i8,
    /// Its name (the topic name for a topic).
    pub resource_name: &'a str,
    /// The configs wanted, or `None` for all.
    pub configuration_keys: Option<&'a [&'a str]>,
}

impl Encode for DescribeConfigsRequest<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        let flexible = Self::is_flexible(version);
        writer.array(self.resources, version, flexible)?;
        writer.bool(self.include_synonyms)?;
        if version >= 3 {
            writer.bool(self.include_documentation)?;
        }
        writer.tagged_fields_if(flexible)
    }
}

impl Encode for DescribeConfigsResource<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        let flexible = DescribeConfigsRequest::is_flexible(version);
        writer.i8(self.resource_type)?;
        writer.string(self.resource_name, flexible)?;
        match self.configuration_keys {
            Some(keys) => writer.string_array(keys, flexible)?,
            None => writer.array_len(None, flexible)?,
        }
        writer.tagged_fields_if(flexible)
    }
}

impl Request for DescribeConfigsRequest<'_> {
    const API_KEY: ApiKey = ApiKey::DescribeConfigs;
    const VERSIONS: VersionRange = VersionRange::new(1, 4);
    const FLEXIBLE_FROM: i16 = 4;
    type Response<'a> = DescribeConfigsResponse<'a>;
}

/// DescribeConfigs response.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DescribeConfigsResponse<'a> {
    /// Time the request was throttled, in ms.
    pub throttle_time_ms: i32,
    /// Results per resource.
    pub results: Array<'a, DescribeConfigsResult<'a>>,
}

/// One resource's configs.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DescribeConfigsResult<'a> {
    /// The error (e.g. `UNKNOWN_TOPIC_OR_PARTITION`), or `NONE`.
    pub error_code: KafkaCode,
    /// The error message.
    pub error_message: Option<&'a str>,
    /// The resource type (a [`resource_type`]).
    pub resource_type: i8,
    /// The resource name.
    pub resource_name: &'a str,
    /// Its configs.
    pub configs: Array<'a, DescribeConfigsEntry<'a>>,
}

/// One config of a resource.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DescribeConfigsEntry<'a> {
    /// The config name.
    pub name: &'a str,
    /// The value (`None` for sensitive configs).
    pub value: Option<&'a str>,
    /// Whether it is read-only.
    pub read_only: bool,
    /// Where the value comes from (a [`config_source`]).
    pub config_source: i8,
    /// Whether the value is sensitive.
    pub is_sensitive: bool,
    /// The settings the value falls back to, most specific first (when asked for).
    pub synonyms: Array<'a, ConfigSynonym<'a>>,
    /// The value's type (v3+: Kafka's `ConfigType` id, 0 when unknown).
    pub config_type: i8,
    /// The documentation (v3+, when asked for).
    pub documentation: Option<&'a str>,
}

/// A synonym of a [`DescribeConfigsEntry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ConfigSynonym<'a> {
    /// The synonym's name (e.g. `log.retention.ms` for `retention.ms`).
    pub name: &'a str,
    /// Its value.
    pub value: Option<&'a str>,
    /// Where it comes from (a [`config_source`]).
    pub source: i8,
}

impl<'a> Decode<'a> for DescribeConfigsResponse<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = DescribeConfigsRequest::is_flexible(version);
        let throttle_time_ms = reader.i32()?;
        let results = Array::decode(reader, version, flexible)?;
        reader.tagged_fields_if(flexible)?;
        Ok(DescribeConfigsResponse {
            throttle_time_ms,
            results,
        })
    }
}

impl<'a> Decode<'a> for DescribeConfigsResult<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = DescribeConfigsRequest::is_flexible(version);
        let result = DescribeConfigsResult {
            error_code: KafkaCode(reader.i16()?),
            error_message: reader.nullable_string(flexible)?,
            resource_type: reader.i8()?,
            resource_name: reader.string(flexible)?,
            configs: Array::decode(reader, version, flexible)?,
        };
        reader.tagged_fields_if(flexible)?;
        Ok(result)
    }
}

impl<'a> Decode<'a> for DescribeConfigsEntry<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = DescribeConfigsRequest::is_flexible(version);
        let name = reader.string(flexible)?;
        let value = reader.nullable_string(flexible)?;
        let read_only = reader.bool()?;
        let config_source = reader.i8()?;
        let is_sensitive = reader.bool()?;
        let synonyms = Array::decode(reader, version, flexible)?;
        let (config_type, documentation) = if version >= 3 {
            (reader.i8()?, reader.nullable_string(flexible)?)
        } else {
            (0, None)
        };
        reader.tagged_fields_if(flexible)?;
        Ok(DescribeConfigsEntry {
            name,
            value,
            read_only,
            config_source,
            is_sensitive,
            synonyms,
            config_type,
            documentation,
        })
    }
}

impl<'a> Decode<'a> for ConfigSynonym<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = DescribeConfigsRequest::is_flexible(version);
        let synonym = ConfigSynonym {
            name: reader.string(flexible)?,
            value: reader.nullable_string(flexible)?,
            source: reader.i8()?,
        };
        reader.tagged_fields_if(flexible)?;
        Ok(synonym)
    }
}
