//! SaslAuthenticate (key 36): carries the SASL tokens after a SaslHandshake v1 (KIP-152).
//!
//! Versions 0-2: 0-1 non-flexible, 2 flexible (compact bytes, tagged fields). v0 is accepted
//! by every broker from Kafka 2.1 through 4.x (4.x minimum is v0); v1 (session lifetime in the
//! response, KIP-368 re-authentication) needs Kafka 2.2+, v2 Kafka 2.5+.

use super::{ApiKey, Request, VersionRange};
use crate::wire::{Decode, Encode, Reader, Writer};
use crate::{KafkaCode, Result};

/// SaslAuthenticate request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SaslAuthenticateRequest<'a> {
    /// The SASL authentication bytes from the client, as the mechanism defines them.
    pub auth_bytes: &'a [u8],
}

impl Encode for SaslAuthenticateRequest<'_> {
    fn encode(&self, writer: &mut Writer<'_>, version: i16) -> Result<()> {
        let flexible = Self::is_flexible(version);
        writer.bytes(self.auth_bytes, flexible)?;
        writer.tagged_fields_if(flexible)
    }
}

impl Request for SaslAuthenticateRequest<'_> {
    const API_KEY: ApiKey = ApiKey::SaslAuthenticate;
    const VERSIONS: VersionRange = VersionRange::new(0, 2);
    const FLEXIBLE_FROM: i16 = 2;
    type Response<'a> = SaslAuthenticateResponse<'a>;
}

/// SaslAuthenticate response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SaslAuthenticateResponse<'a> {
    /// `SASL_AUTHENTICATION_FAILED` when the credentials are rejected.
    pub error_code: KafkaCode,
    /// The broker's explanation, or `None` when there was no error.
    pub error_message: Option<&'a str>,
    /// The SASL authentication bytes from the server, as the mechanism defines them.
    pub auth_bytes: &'a [u8],
    /// Milliseconds after which the session must re-authenticate (v1+; 0 = no limit or v0).
    pub session_lifetime_ms: i64,
}

impl<'a> Decode<'a> for SaslAuthenticateResponse<'a> {
    fn decode(reader: &mut Reader<'a>, version: i16) -> Result<Self> {
        let flexible = SaslAuthenticateRequest::is_flexible(version);
        let response = SaslAuthenticateResponse {
            error_code: KafkaCode(reader.i16()?),
            error_message: reader.nullable_string(flexible)?,
            auth_bytes: reader.bytes(flexible)?,
            session_lifetime_ms: if version >= 1 { reader.i64()? } else { 0 },
        };
        reader.tagged_fields_if(flexible)?;
        Ok(response)
    }
}
