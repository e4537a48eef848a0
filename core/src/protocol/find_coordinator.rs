//! FindCoordinator (key 10): which broker coordinates a consumer group or a transaction.
//!
//! Versions 0-6: 0-2 non-flexible (every broker from Kafka 2.1 through 4.x accepts them),
//! 3-6 flexible. v4+ (KIP-699) ask for several keys at once and answer with a
//! `coordinators` array; v0-3 ask for one key and answer with one coordinator.
//! [`FindCoordinatorResponse::coordinators`] yields the answer the same way for all versions.

use super::{ApiKey, Request, VersionRange};
use crate::wire::{Array, ArrayIter, Decode, Encode, Reader, Writer};
use crate::{Error, KafkaCode, Result};

/// Key type: a consumer group id.
pub const KEY_TYPE_GROUP: i8 = 0;
/// Key type: a transactional id.
pub const KEY_TYPE_TRANSACTION: i8 = 1;
/// Key type: a share group (v6+, KIP-932; the key is `group:topic_id:partition`).
pub const KEY_TYPE_SHARE: i8 = 2;

/// FindCoordinator request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FindCoordinatorRequest<'a> {
    /// [`KEY_TYPE_GROUP`], [`KEY_TYPE_TRANSACTION`] (v1+; v0 knows only groups) or
    /// [`KEY_TYPE_SHARE`] (brokers accept it at v6).
    pub key_type: i8,
    /// The group or transactional ids; exactly one below v4.
    pub keys: &'a [&'a str],
}

impl Encode for FindCoordinatorRequest<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        let flexible = Self::is_flexible(version);
        if version <= 3 {
            let [key] = self.keys else {
                return Err(Error::InvalidArgument(
                    "FindCoordinator below v4 takes exactly one key",
                ));
            };
            writer.string(key, flexible)?;
        }
        if version >= 1 {
            writer.i8(self.key_type)?;
        } else if self.key_type != KEY_TYPE_GROUP {
            return Err(Error::InvalidArgument(
                "FindCoordinator v0 only finds group coordinators",
            ));
        }
        if version >= 4 {
            writer.string_array(self.keys, true)?;
        }
        writer.tagged_fields_if(flexible)
    }
}

impl Request for FindCoordinatorRequest<'_> {
    const API_KEY: ApiKey = ApiKey::FindCoordinator;
    const VERSIONS: VersionRange = VersionRange::new(0, 6);
    const FLEXIBLE_FROM: i16 = 3;
    type Response<'a> = FindCoordinatorResponse<'a>;
}

/// FindCoordinator response.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FindCoordinatorResponse<'a> {
    /// Time the request was throttled, in ms (v1+; 0 before).
    pub throttle_time_ms: i32,
    /// The answer of a v0-3 response.
    pub single: Option<Coordinator<'a>>,
    /// The answers of a v4+ response, one per key.
    pub batched: Array<'a, Coordinator<'a>>,
}

/// A coordinator (or the error finding it) for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Coordinator<'a> {
    /// The key it answers (v4+; `None` for a v0-3 response, which answers the one key asked).
    pub key: Option<&'a str>,
    /// The coordinator's broker id.
    pub node_id: i32,
    /// Its host.
    pub host: &'a str,
    /// Its port.
    pub port: i32,
    /// The error (e.g. `COORDINATOR_NOT_AVAILABLE`, retriable), or `NONE`.
    pub error_code: KafkaCode,
    /// The error message (v1+).
    pub error_message: Option<&'a str>,
}

impl<'a> FindCoordinatorResponse<'a> {
    /// The coordinators, whatever the version.
    pub fn coordinators(
        &self,
    ) -> core::iter::Chain<core::option::IntoIter<Coordinator<'a>>, ArrayIter<'a, Coordinator<'a>>>
    {
        self.single.into_iter().chain(self.batched.iter())
    }
}

impl<'a> Decode<'a> for FindCoordinatorResponse<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = FindCoordinatorRequest::is_flexible(version);
        let throttle_time_ms = if version >= 1 { reader.i32()? } else { 0 };
        let (single, batched) = if version <= 3 {
            let error_code = KafkaCode(reader.i16()?);
            let error_message = if version >= 1 {
                reader.nullable_string(flexible)?
            } else {
                None
            };
            let coordinator = Coordinator {
                key: None,
                node_id: reader.i32()?,
                host: reader.string(flexible)?,
                port: reader.i32()?,
                error_code,
                error_message,
            };
            (Some(coordinator), Array::empty())
        } else {
            (None, Array::decode(reader, version, true)?)
        };
        reader.tagged_fields_if(flexible)?;
        Ok(FindCoordinatorResponse {
            throttle_time_ms,
            single,
            batched,
        })
    }
}

impl<'a> Decode<'a> for Coordinator<'a> {
    /// An element of the v4+ `coordinators` array.
    fn decode(reader: &mut Reader<'a>, _version: i16) -> Result<Self> {
        let coordinator = Coordinator {
            key: Some(reader.string(true)?),
            node_id: reader.i32()?,
            host: reader.string(true)?,
            port: reader.i32()?,
            error_code: KafkaCode(reader.i16()?),
            error_message: reader.nullable_string(true)?,
        };
        reader.skip_tagged_fields()?;
        Ok(coordinator)
    }
}
