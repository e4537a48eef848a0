//! IncrementalAlterConfigs (key 44): sets, deletes, appends to or subtracts from single
//! configs of topics and brokers, leaving the others as they are.
//!
//! Versions 0-1: 0 non-flexible, 1 flexible; both on every broker from 2.3 through 4.x
//! (older brokers only have the whole-set AlterConfigs).

use super::{ApiKey, Request, VersionRange};
use crate::wire::{Array, Decode, Encode, Reader, Writer};
use crate::{KafkaCode, Result};

/// IncrementalAlterConfigs request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct IncrementalAlterConfigsRequest<'a> {
    /// The resources to change.
    pub resources: &'a [AlterConfigsResource<'a>],
    /// Only check that the request would succeed.
    pub validate_only: bool,
}

/// A resource to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AlterConfigsResource<'a> {
    /// Its type (a [`resource_type`](super::describe_configs::resource_type)).
    pub resource_type: i8,
    /// Its name (the topic name for a topic).
    pub resource_name: &'a str,
    /// The changes.
    pub configs: &'a [AlterableConfig<'a>],
}

/// One change to one config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AlterableConfig<'a> {
    /// The config name.
    pub name: &'a str,
    /// What to do with it.
    pub operation: ConfigOperation,
    /// The value (`None` for [`ConfigOperation::Delete`]).
    pub value: Option<&'a str>,
}

/// What an [`AlterableConfig`] does (Kafka's `AlterConfigOp.OpType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(i8)]
pub enum ConfigOperation {
    /// Sets the value.
    Set = 0,
    /// Removes the value: the config falls back to its default.
    Delete = 1,
    /// Adds to a list config.
    Append = 2,
    /// Removes from a list config.
    Subtract = 3,
}

impl Encode for IncrementalAlterConfigsRequest<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        let flexible = Self::is_flexible(version);
        writer.array(self.resources, version, flexible)?;
        writer.bool(self.validate_only)?;
        writer.tagged_fields_if(flexible)
    }
}

impl Encode for AlterConfigsResource<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        let flexible = IncrementalAlterConfigsRequest::is_flexible(version);
        writer.i8(self.resource_type)?;
        writer.string(self.resource_name, flexible)?;
        writer.array(self.configs, version, flexible)?;
        writer.tagged_fields_if(flexible)
    }
}

impl Encode for AlterableConfig<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        let flexible = IncrementalAlterConfigsRequest::is_flexible(version);
        writer.string(self.name, flexible)?;
        writer.i8(self.operation as i8)?;
        writer.nullable_string(self.value, flexible)?;
        writer.tagged_fields_if(flexible)
    }
}

impl Request for IncrementalAlterConfigsRequest<'_> {
    const API_KEY: ApiKey = ApiKey::IncrementalAlterConfigs;
    const VERSIONS: VersionRange = VersionRange::new(0, 1);
    const FLEXIBLE_FROM: i16 = 1;
    type Response<'a> = IncrementalAlterConfigsResponse<'a>;
}

/// IncrementalAlterConfigs response.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct IncrementalAlterConfigsResponse<'a> {
    /// Time the request was throttled, in ms.
    pub throttle_time_ms: i32,
    /// Results per resource.
    pub responses: Array<'a, AlterConfigsResourceResult<'a>>,
}

/// One resource's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AlterConfigsResourceResult<'a> {
    /// The error (e.g. `INVALID_CONFIG`), or `NONE`.
    pub error_code: KafkaCode,
    /// The error message.
    pub error_message: Option<&'a str>,
    /// The resource type.
    pub resource_type: i8,
    /// The resource name.
    pub resource_name: &'a str,
}

impl<'a> Decode<'a> for IncrementalAlterConfigsResponse<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = IncrementalAlterConfigsRequest::is_flexible(version);
        let throttle_time_ms = reader.i32()?;
        let responses = Array::decode(reader, version, flexible)?;
        reader.tagged_fields_if(flexible)?;
        Ok(IncrementalAlterConfigsResponse {
            throttle_time_ms,
            responses,
        })
    }
}

impl<'a> Decode<'a> for AlterConfigsResourceResult<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = IncrementalAlterConfigsRequest::is_flexible(version);
        let result = AlterConfigsResourceResult {
            error_code: KafkaCode(reader.i16()?),
            error_message: reader.nullable_string(flexible)?,
            resource_type: reader.i8()?,
            resource_name: reader.string(flexible)?,
        };
        reader.tagged_fields_if(flexible)?;
        Ok(result)
    }
}
