//! Framing: the 4-byte size prefix, request header v1/v2 and response header v0/v1.
//!
//! A request goes out as `size:int32 | header | body`; [`encode_request`] writes all three
//! into a caller buffer and patches the size. A response comes back as
//! `size:int32 | header | body`; the transport reads the size and then exactly that many
//! bytes, and [`decode_response`] checks the correlation id and decodes the body.
//!
//! Header versions follow the request: flexible request versions use request header v2
//! (tagged fields after the client id) and response header v1 (tagged fields after the
//! correlation id) — except ApiVersions, whose response header is always v0 so that a
//! client can read it before knowing what the broker supports.

use super::{ApiKey, Request};
use crate::wire::{Decode, Reader, Writer};
use crate::{Error, Result};

/// Bytes in the frame size prefix.
pub const SIZE_PREFIX_LEN: usize = 4;

/// The fields of a request header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RequestHeader<'a> {
    /// The API.
    pub api_key: ApiKey,
    /// The API version the body is encoded in.
    pub api_version: i16,
    /// Echoed by the broker in the response.
    pub correlation_id: i32,
    /// Free-form client name for the broker's logs and quotas.
    pub client_id: Option<&'a str>,
}

impl RequestHeader<'_> {
    /// Writes header v1, or v2 when `flexible`. The client id is a non-compact nullable
    /// string in both (KIP-482 kept it so for compatibility).
    pub fn encode(&self, writer: &mut Writer<'_>, flexible: bool) -> Result<()> {
        writer.i16(self.api_key.as_i16())?;
        writer.i16(self.api_version)?;
        writer.i32(self.correlation_id)?;
        writer.nullable_string(self.client_id, false)?;
        writer.tagged_fields_if(flexible)
    }
}

/// Writes a whole request frame (size prefix, header, body) into `buf` and returns its length.
pub fn encode_request<R: Request>(
    buf: &mut [u8],
    version: i16,
    correlation_id: i32,
    client_id: Option<&str>,
    request: &R,
) -> Result<usize> {
    let kind = RequestKind::of::<R>();
    kind.check_version(version)?;
    let header = RequestHeader {
        api_key: R::API_KEY,
        api_version: version,
        correlation_id,
        client_id,
    };
    encode_frame(buf, &header, kind.is_flexible(version), request)
}

/// What framing needs to know of a request type, as a value: the type-independent code
/// (framing, version checks, a connection's bookkeeping) takes this and the body as
/// `&dyn Encode`, so it is linked once rather than once per API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RequestKind {
    /// The API.
    pub(crate) api: ApiKey,
    /// The versions this client can encode.
    pub(crate) versions: super::VersionRange,
    /// The first flexible version.
    flexible_from: i16,
}

impl RequestKind {
    /// The kind of request `R`.
    pub(crate) const fn of<R: Request>() -> Self {
        RequestKind {
            api: R::API_KEY,
            versions: R::VERSIONS,
            flexible_from: R::FLEXIBLE_FROM,
        }
    }

    /// Whether `version` uses the flexible encoding (request header v2).
    pub(crate) const fn is_flexible(&self, version: i16) -> bool {
        version >= self.flexible_from
    }

    /// Whether the response at `version` carries response header v1 (never ApiVersions').
    pub(crate) fn response_flexible(&self, version: i16) -> bool {
        self.api != ApiKey::ApiVersions && self.is_flexible(version)
    }

    /// `UnsupportedVersion` unless this client can encode `version`.
    pub(crate) fn check_version(&self, version: i16) -> Result<()> {
        if self.versions.contains(version) {
            Ok(())
        } else {
            Err(Error::UnsupportedVersion {
                api: self.api,
                client: self.versions,
                broker: None,
            })
        }
    }
}

/// Prefix, header, `body`, size patched: [`encode_request`] once the version is checked.
/// Called with `B = dyn Encode` by a connection, so that one copy serves every API.
pub(crate) fn encode_frame<B: crate::wire::Encode + ?Sized>(
    buf: &mut [u8],
    header: &RequestHeader<'_>,
    flexible: bool,
    body: &B,
) -> Result<usize> {
    let mut writer = Writer::new(buf);
    let size_at = start_frame(&mut writer, header, flexible)?;
    body.encode(&mut writer, header.api_version)?;
    finish_frame(&mut writer, size_at)
}

/// Reserves the size prefix and writes the header; returns where the prefix goes. With
/// [`finish_frame`], the part of [`encode_request`] that does not depend on the request type
/// (linked once, not once per API).
fn start_frame(
    writer: &mut Writer<'_>,
    header: &RequestHeader<'_>,
    flexible: bool,
) -> Result<usize> {
    let size_at = writer.reserve(SIZE_PREFIX_LEN)?;
    header.encode(writer, flexible)?;
    Ok(size_at)
}

/// Patches the size prefix at `size_at` (the frame's start); returns the frame length.
fn finish_frame(writer: &mut Writer<'_>, size_at: usize) -> Result<usize> {
    let len = writer.position();
    let size = len
        .checked_sub(SIZE_PREFIX_LEN)
        .and_then(|n| i32::try_from(n).ok())
        .ok_or(Error::InvalidArgument("request larger than 2 GiB"))?;
    writer.patch_i32(size_at, size)?;
    Ok(len)
}

/// Reads the size prefix of a frame: the number of bytes that follow it. Negative sizes are
/// `Malformed`; sizes above `max` are `MessageTooLarge` (read nothing more from such a
/// stream: it is out of sync or hostile).
pub fn frame_size(prefix: [u8; SIZE_PREFIX_LEN], max: usize) -> Result<usize> {
    let size = usize::try_from(i32::from_be_bytes(prefix))
        .map_err(|_| Error::Malformed("negative frame size"))?;
    if size > max {
        return Err(Error::MessageTooLarge { size, limit: max });
    }
    Ok(size)
}

/// Whether the response to `api` at `version` carries response header v1 (tagged fields).
pub fn response_header_flexible<R: Request>(version: i16) -> bool {
    RequestKind::of::<R>().response_flexible(version)
}

/// Reads a response header from a frame (without its size prefix); returns the correlation
/// id and the body.
pub fn decode_response_header(frame: &[u8], flexible: bool) -> Result<(i32, &[u8])> {
    let mut reader = Reader::new(frame);
    let correlation_id = reader.i32()?;
    reader.tagged_fields_if(flexible)?;
    Ok((correlation_id, reader.rest()))
}

/// Decodes a response frame (without its size prefix) to request `R` sent at `version` with
/// `correlation_id`. Trailing bytes after the body are `Malformed`: they mean the body was
/// not laid out as we assumed.
pub fn decode_response<'a, R: Request>(
    frame: &'a [u8],
    version: i16,
    correlation_id: i32,
) -> Result<R::Response<'a>> {
    let (received, body) = decode_response_header(frame, response_header_flexible::<R>(version))?;
    if received != correlation_id {
        return Err(Error::CorrelationMismatch {
            expected: correlation_id,
            received,
        });
    }
    decode_body::<R>(body, version)
}

/// Decodes a response body (after the header) to request `R` at `version`.
pub fn decode_body<'a, R: Request>(body: &'a [u8], version: i16) -> Result<R::Response<'a>> {
    let mut reader = Reader::new(body);
    let response = R::Response::decode(&mut reader, version)?;
    reader.expect_end("trailing bytes after response body")?;
    Ok(response)
}
