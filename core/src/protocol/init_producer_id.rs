//! InitProducerId (key 22): obtains a producer id and epoch for idempotent or transactional
//! producing.
//!
//! Versions 0-5: 0-1 non-flexible, 2-5 flexible. Kafka 2.1 through 4.x accept v0 and v1 (4.x
//! minimum is v0); v2 needs Kafka 2.4+, v3 (bumping an existing producer's epoch, KIP-360)
//! Kafka 2.5+, v4 Kafka 2.7+ and v5 (KIP-890) Kafka 3.8+.

use super::{ApiKey, Request, VersionRange};
use crate::wire::{Decode, Encode, Reader, Writer};
use crate::{Error, KafkaCode, Result};

/// InitProducerId request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct InitProducerIdRequest<'a> {
    /// The transactional id, or `None` for an idempotent (non-transactional) producer.
    pub transactional_id: Option<&'a str>,
    /// Milliseconds before the coordinator aborts an idle transaction (transactional only).
    pub transaction_timeout_ms: i32,
    /// The current producer id, to bump its epoch (v3+); -1 to get a new one. Any other value
    /// is an `InvalidArgument` below v3.
    pub producer_id: i64,
    /// The current producer epoch (v3+); -1 to get a new producer id. Any other value is an
    /// `InvalidArgument` below v3.
    pub producer_epoch: i16,
}

impl InitProducerIdRequest<'_> {
    /// A request for a fresh producer id (`producer_id` and `producer_epoch` -1).
    pub const fn new(
        transactional_id: Option<&str>,
        transaction_timeout_ms: i32,
    ) -> InitProducerIdRequest<'_> {
        InitProducerIdRequest {
            transactional_id,
            transaction_timeout_ms,
            producer_id: -1,
            producer_epoch: -1,
        }
    }
}

impl Encode for InitProducerIdRequest<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        let flexible = Self::is_flexible(version);
        writer.nullable_string(self.transactional_id, flexible)?;
        writer.i32(self.transaction_timeout_ms)?;
        if version >= 3 {
            writer.i64(self.producer_id)?;
            writer.i16(self.producer_epoch)?;
        } else if self.producer_id != -1 || self.producer_epoch != -1 {
            return Err(Error::InvalidArgument(
                "InitProducerId below v3 can't carry an existing producer id/epoch",
            ));
        }
        writer.tagged_fields_if(flexible)
    }
}

impl Request for InitProducerIdRequest<'_> {
    const API_KEY: ApiKey = ApiKey::InitProducerId;
    const VERSIONS: VersionRange = VersionRange::new(0, 5);
    const FLEXIBLE_FROM: i16 = 2;
    type Response<'a> = InitProducerIdResponse;
}

/// InitProducerId response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct InitProducerIdResponse {
    /// Milliseconds the request was throttled for a quota violation (0 if not).
    pub throttle_time_ms: i32,
    /// The error, or `NONE`.
    pub error_code: KafkaCode,
    /// The producer id to stamp on record batches.
    pub producer_id: i64,
    /// The epoch that goes with `producer_id`.
    pub producer_epoch: i16,
}

impl<'a> Decode<'a> for InitProducerIdResponse {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let response = InitProducerIdResponse {
            throttle_time_ms: reader.i32()?,
            error_code: KafkaCode(reader.i16()?),
            producer_id: reader.i64()?,
            producer_epoch: reader.i16()?,
        };
        reader.tagged_fields_if(InitProducerIdRequest::is_flexible(version))?;
        Ok(response)
    }
}
