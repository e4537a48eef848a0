//! SaslHandshake (key 17): picks the SASL mechanism before SaslAuthenticate.
//!
//! Versions 0-1, never flexible; both are valid on Kafka 2.1 through 4.x. Version 1 means the
//! SASL tokens then travel inside SaslAuthenticate requests (KIP-152).

use super::{ApiKey, Request, VersionRange};
use crate::wire::{Array, Decode, Encode, Reader, Writer};
use crate::{KafkaCode, Result};

/// SaslHandshake request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SaslHandshakeRequest<'a> {
    /// The SASL mechanism, e.g. `PLAIN` or `SCRAM-SHA-256`.
    pub mechanism: &'a str,
}

impl Encode for SaslHandshakeRequest<'_> {
    fn encode(&self, writer: &mut Writer<'_>, _version: i16) -> Result<()> {
        writer.string(self.mechanism, false)
    }
}

impl Request for SaslHandshakeRequest<'_> {
    const API_KEY: ApiKey = ApiKey::SaslHandshake;
    const VERSIONS: VersionRange = VersionRange::new(0, 1);
    const FLEXIBLE_FROM: i16 = i16::MAX;
    type Response<'a> = SaslHandshakeResponse<'a>;
}

/// SaslHandshake response.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SaslHandshakeResponse<'a> {
    /// `UNSUPPORTED_SASL_MECHANISM` when the broker does not enable the requested mechanism.
    pub error_code: KafkaCode,
    /// The mechanisms the broker enables.
    pub mechanisms: Array<'a, Mechanism<'a>>,
}

/// One mechanism name in a [`SaslHandshakeResponse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Mechanism<'a>(pub &'a str);

impl<'a> Decode<'a> for Mechanism<'a> {
    fn decode(reader: &mut Reader<'a>, _version: i16) -> Result<Self> {
        reader.string(false).map(Mechanism)
    }
}

impl<'a> Decode<'a> for SaslHandshakeResponse<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        Ok(SaslHandshakeResponse {
            error_code: KafkaCode(reader.i16()?),
            mechanisms: Array::decode(reader, version, false)?,
        })
    }
}
